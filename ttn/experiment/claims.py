"""Claims: each run is trained once even when several sweeps (or `ttn train`s) share one results folder.

Before training a run, a task takes an exclusive POSIX record lock (``fcntl.lockf``) on
``<out>/.claims/<run_id>.lock``. Another sweep that reaches the same run finds it locked and moves on (`ttn train`
refuses, naming the lock); the lock is released when the task ends or its process dies (the kernel drops a dead
process's locks: a crash never leaves a run claimed forever). POSIX locks also work across machines on NFS
(lockd), so sweeps on a shared file system split the work too.

    claim run -> (locked elsewhere? skip) -> record exists? skip -> train -> write record -> remove lock file

The holder removes the lock file when it is done, whether the run was recorded or failed (or was interrupted);
a process that opened the file before it was removed finds, once it holds the lock, that the name no longer
leads to the file it locked, and claims the name anew. A lock file left by a killed process (nobody holds its
lock) is removed by `clear_stale`, e.g. after a sweep stopped its workers.
"""
from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

#: The hidden folder of lock files inside a results folder.
CLAIMS_DIR = ".claims"


def claim_path(out: str | os.PathLike[str], run_id: str) -> Path:
    """The lock file of `run_id` in the results folder `out`."""
    return Path(out) / CLAIMS_DIR / f"{run_id}.lock"


def _lock(path: Path) -> int | None:
    """A descriptor holding the exclusive lock of the file `path` names now, or None if another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return None
            raise
        try:
            named = os.stat(path)
        except FileNotFoundError:
            named = None
        held = os.fstat(fd)
        if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)  # its holder removed it after we opened it: claim the name anew


@contextmanager
def claim(out: str | os.PathLike[str], run_id: str) -> Iterator[bool]:
    """Hold the claim of `run_id` in `out` while the block runs; yields False if another process holds it."""
    path = claim_path(out, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _lock(path)
    if fd is None:
        yield False
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {os.uname().nodename}\n".encode())  # who holds it, for a curious user
        yield True
    finally:
        path.unlink(missing_ok=True)  # done, failed or interrupted: removed while still held
        os.close(fd)  # releases the lock


def clear_stale(out: str | os.PathLike[str], run_ids: Iterable[str]) -> None:
    """Remove the lock files of `run_ids` in `out` that no process holds (left by a killed worker); a lock a live
    process holds (another sweep's) stays."""
    for run_id in run_ids:
        path = claim_path(out, run_id)
        if not path.exists():
            continue
        fd = _lock(path)
        if fd is not None:
            path.unlink(missing_ok=True)
            os.close(fd)
