"""Input files must be regular files of a bounded size: a FIFO blocks a reader forever, /dev/zero never ends.

`not_regular` says why a path cannot be read as a file; `read_limited` reads at most a given number of bytes. The
callers turn both into their own errors (DatasetError, MnistError), naming the file and the fix.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

#: What a path that is not a regular file is, by the stat test that recognizes it.
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(path: str | os.PathLike) -> str | None:
    """Why `path` (symlinks followed) cannot be read as a file, e.g. "no such file" or "a FIFO (named pipe)";
    None for a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:  # a symlink loop, a folder we may not enter, a name too long
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


class TooLarge(ValueError):
    """A file holds more bytes than its reader accepts."""


def read_limited(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file `path`, if at most `limit` (TooLarge otherwise; a file that grows while it is
    read cannot make this read more than `limit` + 1 bytes)."""
    with open(Path(path), "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path}: larger than {limit:,} bytes")
    return data
