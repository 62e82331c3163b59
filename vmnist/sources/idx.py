"""The IDX file format of the MNIST distribution (http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number `00 00 <type code> <ndim>`, then `ndim` big-endian uint32
dimensions, then the values in C order, big-endian. The MNIST files are usually gzip-compressed;
`read_idx` and `parse_idx` accept both forms (detected by the gzip magic bytes, not the file name).
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from vmnist.infra.errors import MnistError

#: IDX type code -> numpy dtype (big-endian, as stored).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
#: Largest size a gzip stream may unpack to (a bound against gzip bombs).
MAX_UNPACKED_BYTES = 256 * 2**20


def maybe_gunzip(data: bytes, name: str, limit: int = MAX_UNPACKED_BYTES) -> bytes:
    """Return `data` decompressed if it is gzip (by magic bytes), unchanged otherwise.

    Raises MnistError naming `name` for a truncated or corrupt gzip stream, or one that unpacks to more
    than `limit` bytes (the largest MNIST file, mnist.pkl, is 210 MiB).
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = stream.decompress(data, limit + 1)
    except zlib.error as exc:
        raise MnistError(f"{name}: corrupt gzip data ({exc}); download the file again") from None
    if len(out) > limit:
        raise MnistError(f"{name}: unpacks to more than {limit:,} bytes; not an MNIST file")
    if not stream.eof:
        raise MnistError(f"{name}: truncated gzip data; download the file again")
    return out


def parse_idx(data: bytes, name: str = "<idx>") -> np.ndarray:
    """Parse the bytes of an IDX file (gzip or not) into a native-endian numpy array of its shape.

    Raises MnistError naming `name` if the magic number, type code or size is wrong.
    """
    data = maybe_gunzip(data, name)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise MnistError(f"{name}: not an IDX file (bad magic number); expected an MNIST IDX file")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise MnistError(f"{name}: unknown IDX type code 0x{code:02x}; expected an MNIST IDX file")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistError(f"{name}: truncated IDX header; download the file again")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != count * dtype.itemsize:
        raise MnistError(
            f"{name}: IDX size mismatch: header says {shape} ({count * dtype.itemsize} bytes of data), "
            f"file has {len(data) - header}; download the file again"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip or not) from disk; see `parse_idx`."""
    path = Path(path)
    return parse_idx(path.read_bytes(), str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes (uncompressed) of `array`, whose dtype must be one of `IDX_DTYPES`."""
    array = np.asarray(array)
    for code, dtype in IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            return header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    raise ValueError(f"IDX cannot store dtype {array.dtype}")


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file; gzip it if `compress` (default: if the name ends with .gz)."""
    path = Path(path)
    data = encode_idx(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
