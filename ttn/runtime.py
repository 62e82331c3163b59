"""Process-wide runtime settings for training and evaluation on CPU: the C allocator and torch threads.

`tune_allocator()` keeps glibc malloc from handing the large activation tensors of a training step back to
the OS every step. By default glibc serves every allocation above a dynamic threshold (at most 32 MiB on
64-bit) with a fresh ``mmap`` and ``munmap``s it on free, so each step of a LeNet-5 at batch 20 (conv
outputs of 30-90 MB) touches ~20,000 new pages: ~20% of the step time went to page faults. With
``M_MMAP_MAX = 0`` (no mmap-backed chunks) and ``M_TRIM_THRESHOLD = 1 GiB`` (give the top of the heap back
only when more than 1 GiB of it is free) the same memory is reused from step to step: 0 page faults per
step, +10-40% training throughput measured (bench/bench_models.py), peak RSS unchanged within a few MB
(freed memory stays with the process, up to the trim threshold, instead of returning to the OS at once).

Only the process calling it is affected (settings of the C library, not inherited through spawn); the
`ttn` CLI and the sweep's tasks call it, Python users call it themselves. It never raises: it returns
False where it does not apply (not glibc, e.g. macOS, Windows, musl) or when disabled with the environment
variable ``TTN_TUNE_MALLOC=0``.
"""
from __future__ import annotations

import ctypes
import os
import sys

#: glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: The settings `tune_allocator` applies: (parameter, value).
MALLOC_SETTINGS: tuple[tuple[int, int], ...] = (
    (M_MMAP_MAX, 0),  # large blocks come from the heap, which is reused, not from mmap/munmap per tensor
    (M_TRIM_THRESHOLD, 1 << 30),  # return free heap top to the OS only beyond 1 GiB (eval batches are ~1 GB)
)
#: Environment variable that disables `tune_allocator` when set to 0 / false / no / off.
ENV_SWITCH = "TTN_TUNE_MALLOC"

_tuned: bool | None = None  # result of the first call in this process


def _disabled_by_env() -> bool:
    return os.environ.get(ENV_SWITCH, "").strip().lower() in {"0", "false", "no", "off"}


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (has ``gnu_get_libc_version`` and ``mallopt``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library already loaded in this process, whatever its file name
        libc.gnu_get_libc_version  # glibc only (musl has mallopt as a no-op stub but not this)
        return libc if hasattr(libc, "mallopt") else None
    except (OSError, AttributeError):
        return None


def tune_allocator() -> bool:
    """Apply `MALLOC_SETTINGS` to glibc malloc, once per process; True if they are in effect.

    Idempotent and cheap (later calls return the first result), never raises. False where it does not
    apply (not Linux/glibc) or when ``TTN_TUNE_MALLOC=0``. Affects allocations made after the call.
    """
    global _tuned
    if _tuned is None:
        _tuned = _apply()
    return _tuned


def _apply() -> bool:
    if _disabled_by_env():
        return False
    libc = _glibc()
    if libc is None:
        return False
    try:
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        return all(libc.mallopt(param, value) == 1 for param, value in MALLOC_SETTINGS)  # 1 = success
    except (OSError, AttributeError, ctypes.ArgumentError):
        return False
