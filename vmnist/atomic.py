"""Atomic file writing: write under a temporary name in the target folder, then `os.replace` onto the target.

A crash, Ctrl-C or full disk leaves either the old file or the new one, never half a file; the temporary file
is removed on failure. The one implementation used by every writer of vmnist and ttn.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator


def _temporary_beside(path: Path) -> Path:
    """An empty temporary file in `path`'s folder (created if needed), with ordinary permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; the result is an ordinary file
    return tmp


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that takes a file name (h5py, savefig, ...).

    When the block ends normally the temporary file is (fsynced when `durable`, then) renamed onto `path`;
    on any exception it is deleted and the exception propagates.
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_files(*, durable: bool = True) -> Iterator[Callable[[str | os.PathLike], Path]]:
    """Write a set of files that belong together: ``reserve(target)`` returns a temporary path beside `target`.

    When the block ends normally, every reserved file is (fsynced, then) renamed onto its target in the order
    reserved, so reserve last the file that makes the set usable (e.g. the index of shard files). On any
    exception, Ctrl-C included, every temporary file is deleted and no target is touched.
    """
    pending: list[tuple[Path, Path]] = []

    def reserve(target: str | os.PathLike) -> Path:
        tmp = _temporary_beside(Path(target))
        pending.append((tmp, Path(target)))
        return tmp

    try:
        yield reserve
        if durable:
            for tmp, _ in pending:
                _fsync(tmp)
        for tmp, target in pending:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path` for writing (`mode` "w" or "wb"); renamed onto `path` at the end."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only ('w' or 'wb'), got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding or ("utf-8" if mode == "w" else None)) as handle:
            yield handle


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)
