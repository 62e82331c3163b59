"""Claims: each run is trained once even when several sweeps share one results folder.

Before training a run, a task takes an exclusive POSIX record lock (``fcntl.lockf``) on
``<out>/.claims/<run_id>.lock``. Another sweep that reaches the same run finds it locked and moves on; the
lock is released when the task ends or its process dies (the kernel drops a dead process's locks: a crash
never leaves a run claimed forever). POSIX locks also work across machines on NFS (lockd), so sweeps on a
shared file system split the work too.

    claim run -> (locked elsewhere? skip) -> record exists? skip -> train -> write record -> remove lock file

The lock file is removed after the record is written; a process that still locks the removed file then
finds the record and skips.
"""
from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: The hidden folder of lock files inside a results folder.
CLAIMS_DIR = ".claims"


@contextmanager
def claim(out: str | os.PathLike[str], run_id: str) -> Iterator[bool]:
    """Hold the claim of `run_id` in `out` while the block runs; yields False if another process holds it."""
    folder = Path(out) / CLAIMS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                yield False
                return
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {os.uname().nodename}\n".encode())  # who holds it, for a curious user
        yield True
        path.unlink(missing_ok=True)  # done: the record exists now
    finally:
        os.close(fd)  # releases the lock
