"""Atomic file writing: write under a temporary name in the target folder, then `os.replace` onto the target.

A crash, Ctrl-C or full disk leaves either the old file or the new one, never half a file; the temporary file
is removed on failure. The one implementation used by every writer of vmnist and ttn.

Temporaries are hidden and name their writer: ``.NAME.<pid>.<host>.<random>.tmp`` beside ``NAME``. A writer
killed outright (``kill -9``, the OOM killer, a power cut) cannot remove its own, so the next write of the same
target removes the temporaries of that target left by processes of this host that are no longer alive; those of
a live process, of another host (a shared folder) or of another target are never touched. An OSError that names a
temporary (a full disk, a read-only folder) is raised again naming the target, the file the user asked for.

A writer that must not replace a file (no --force) passes ``replace=False``: the target is then claimed by a hard
link, which fails if a file of that name appeared meanwhile (another writer of the same name), so the check and the
rename are one step. Folders missing for a target are created, and removed again if the write fails.
"""
from __future__ import annotations

import errno as errno_codes
import os
import re
import shutil
import socket
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Callable, Iterator

from vmnist.infra.errors import UserError


def _host() -> str:
    """This machine's short host name, reduced to letters, digits and '-' (it is a field of temporary names)."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:32]
    return name or "host"


def _temporary_pattern(path: Path) -> re.Pattern[str]:
    """Names of the temporaries of `path`: groups `pid` and `host` (the random part is tempfile's, never a dot)."""
    return re.compile(re.escape(f".{path.name}.") + r"(?P<pid>[0-9]+)\.(?P<host>[A-Za-z0-9-]+)\.[a-z0-9_]+\.tmp")


def _alive(pid: int) -> bool:
    """Whether process `pid` of this host exists (a process of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; a pid this system cannot have: keep it
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of `path` left by dead writers of this host; return them.

    Only files named like this module's temporaries of exactly `path` are considered, and only when their pid is
    of this host and no process has it. Errors (a folder that cannot be listed, a file another writer removed
    first) are ignored: cleaning is a courtesy, never a reason for a write to fail.
    """
    path = Path(path)
    pattern, host, removed = _temporary_pattern(path), _host(), []
    try:
        names = os.listdir(path.parent if str(path.parent) else ".")
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or match["host"] != host or int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        stale = path.parent / name
        try:
            stale.unlink()
            removed.append(stale)
        except OSError:
            pass
    return removed


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_folders(folders: list[Path]) -> None:
    """Remove `folders` (deepest first) that are still empty: the ones a failed write created."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def made_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Create `folder` (with its missing parents) for the block; if the block fails, remove again those of them it
    created that are still empty (a folder that existed, or holds files by then, stays)."""
    folder = Path(folder)
    missing = _missing_folders(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        _remove_folders(missing)
        raise


def _temporary_beside(path: Path, created: list[Path]) -> Path:
    """An empty temporary file in `path`'s folder, with ordinary permissions.

    The folder is created if needed (its new folders are added to `created`, so that a failed write removes them);
    stale temporaries of `path` (see :func:`remove_stale_temporaries`) are removed first.
    """
    missing = _missing_folders(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    created[:0] = missing
    remove_stale_temporaries(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.{_host()}.", suffix=".tmp")
    except OSError as exc:  # a read-only or full folder: the error names the temporary it tried
        tried = {Path(os.fsdecode(exc.filename)): path} if exc.filename is not None else {}
        raise _naming_target(exc, tried) from exc
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; the result is an ordinary file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _naming_target(exc: OSError, pending: dict[Path, Path]) -> OSError:
    """`exc` again, naming a target instead of a temporary; `exc` itself when it names none of `pending`.

    `pending` maps temporaries to their targets. An error names a temporary by its `filename` (open, os.replace)
    or in its message (h5py: "... filename = '/data/.x.h5.123.host.abcd1234.tmp' ..."). The new error has the
    same errno (so the same OSError subclass), the system's words for it, and `filename` = the target.
    """
    text = f"{exc.filename!s} {exc}"
    target = next((target for tmp, target in pending.items() if tmp.name in text), None)
    if target is None:
        return exc
    if exc.errno in errno_codes.errorcode:
        reason = os.strerror(exc.errno)
    else:  # no errno: the message itself, on one line, naming targets
        reason = " ".join(str(exc).split())
        for tmp, name in pending.items():
            reason = reason.replace(str(tmp), str(name)).replace(tmp.name, name.name)
    return OSError(exc.errno, reason, os.fspath(target))


@contextmanager
def naming_file(path: str | os.PathLike) -> Iterator[None]:
    """Give `path` as the file of the OSErrors raised in the block that name none.

    A write, close or fsync on a full disk raises ``OSError(ENOSPC)`` without a file name; `atomic_path` wraps its
    block in it, so such an error names the temporary and is then raised again naming the target.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = os.fspath(path)
        raise


def _fsync(path: Path) -> None:
    with naming_file(path), open(path, "rb") as handle:
        os.fsync(handle.fileno())


#: errnos of os.link on a file system without hard links (FAT, some network and FUSE file systems).
_NO_LINKS = {errno_codes.EPERM, errno_codes.EOPNOTSUPP, errno_codes.ENOTSUP, errno_codes.EMLINK, errno_codes.ENOSYS}


def _link_new(tmp: Path, target: Path) -> None:
    """Give `tmp`'s file the name `target` too, unless `target` exists (FileExistsError naming it): the check and
    the naming are one step (a hard link), so a file that appeared since any earlier check is never replaced."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno_codes.EEXIST, os.strerror(errno_codes.EEXIST), os.fspath(target)) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        claim = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # no hard links here: claim the name
        os.close(claim)
        os.replace(tmp, target)


def _place(pending: dict[Path, Path], replace: bool) -> None:
    """Rename each temporary onto its target, in order. Unless `replace`, no target that exists is touched: every
    target is claimed first (`_link_new`), and if one exists, the ones already claimed are given up again."""
    if replace:
        for tmp, target in pending.items():
            os.replace(tmp, target)
        return
    claimed: list[tuple[Path, int]] = []
    try:
        for tmp, target in pending.items():
            _link_new(tmp, target)
            claimed.append((target, target.stat().st_ino))
    except BaseException:
        for target, inode in claimed:  # ours (a hard link of our temporary), unless another writer replaced it
            with suppress(OSError):
                if target.stat().st_ino == inode:
                    target.unlink()
        raise
    for tmp in pending:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = True, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that takes a file name (h5py, savefig, ...).

    When the block ends normally the temporary file is (fsynced when `durable`, then) renamed onto `path`
    (never over a file that exists by then unless `replace`: FileExistsError); on any exception it is deleted,
    with the folders made for it, and the exception propagates (an OSError naming the temporary: renamed to
    name `path`).
    """
    with atomic_files(durable=durable, replace=replace) as reserve:
        tmp = reserve(path)
        with naming_file(tmp):  # a writer's nameless OSError (a full disk) is about the file: named, then renamed
            yield tmp


@contextmanager
def atomic_files(*, durable: bool = True, replace: bool = True) -> Iterator[Callable[[str | os.PathLike], Path]]:
    """Write a set of files that belong together: ``reserve(target)`` returns a temporary path beside `target`.

    When the block ends normally, every reserved file is (fsynced, then) renamed onto its target in the order
    reserved, so reserve last the file that makes the set usable (e.g. the index of shard files); unless `replace`,
    only if no target exists by then (else FileExistsError naming it, and no target is touched). On any exception,
    Ctrl-C included, every temporary file is deleted, with the folders made for them, and no target is touched; an
    OSError naming a temporary is raised again naming its target.
    """
    pending: dict[Path, Path] = {}  # temporary -> target, in the order reserved
    created: list[Path] = []  # folders made for the targets, deepest first

    def reserve(target: str | os.PathLike) -> Path:
        tmp = _temporary_beside(Path(target), created)
        pending[tmp] = Path(target)
        return tmp

    try:
        yield reserve
        if durable:
            for tmp in pending:
                _fsync(tmp)
        _place(pending, replace)
    except BaseException as exc:
        for tmp in pending:
            tmp.unlink(missing_ok=True)
        _remove_folders(created)
        if isinstance(exc, OSError) and (renamed := _naming_target(exc, pending)) is not exc:
            raise renamed from exc
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



def check_free_space(path: str | os.PathLike, needed: int, fix: str = "free some disk space") -> None:
    """UserError naming `path` if the file system it will be written to (its folder, or the nearest folder that
    exists) has less than `needed` bytes free: a write known to fail is refused before the work that makes it (a
    checkpoint is written only after the whole training). `fix` ends the message."""
    folder = Path(path).parent
    missing = _missing_folders(folder)
    existing = missing[-1].parent if missing else folder
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise UserError(f"cannot write {path}: {free:,} bytes free in {existing}, about {needed:,} needed; {fix}")
