"""Process-wide runtime settings for training and evaluation on CPU: the C allocator and OpenMP waiting.

`tune_allocator()` keeps glibc malloc from handing the activation tensors of a training step back to the
OS every step. By default glibc serves every allocation above a dynamic threshold (at most 32 MiB on
64-bit) with a fresh ``mmap`` and ``munmap``s it on free, so each training step of a LeNet-5 at batch 20
(conv outputs of tens of MB) touches tens of thousands of new pages: a large part of the step time went to
page faults. With ``M_MMAP_THRESHOLD = 256 MiB`` (blocks below it come from the heap, which is reused step
after step) and ``M_TRIM_THRESHOLD = 1 GiB`` (the top of the heap goes back to the OS only when more than
1 GiB of it is free) a training step page-faults no more. Blocks of 256 MiB and more still use mmap, so they
never fragment the heap (``M_MMAP_MAX = 0`` instead, i.e. no mmap at all, cost more peak memory). The page
faults per step and peak memory of both settings are printed by bench/bench_models.py.

Only the process calling it is affected (C library settings are not inherited through spawn); the `ttn`
CLI and every sweep task call it, Python users call it themselves. It never raises: it returns False where
it does not apply (not glibc, e.g. macOS, Windows, musl) or when disabled with the environment variable
``TTN_TUNE_MALLOC=0``.

`passive_openmp_wait()` sets ``OMP_WAIT_POLICY=PASSIVE`` (unless set already) before torch is imported:
torch's OpenMP threads then sleep at the end of a parallel region instead of spinning. On a shared machine
(other processes on the cores) spinning threads slow each other down severely (docs/method.md); the `ttn`
CLI calls it first thing.
"""
from __future__ import annotations

import ctypes
import os
import sys

#: glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: The settings `tune_allocator` applies: (parameter, value).
MALLOC_SETTINGS: tuple[tuple[int, int], ...] = (
    (M_MMAP_THRESHOLD, 256 << 20),  # blocks < 256 MiB from the reused heap, not a fresh mmap per tensor
    (M_TRIM_THRESHOLD, 1 << 30),  # keep up to 1 GiB of free heap top instead of returning it every step
)
#: Environment variable that disables `tune_allocator` when set to 0 / false / no / off.
ENV_SWITCH = "TTN_TUNE_MALLOC"

_tuned: bool | None = None  # result of the first call in this process


#: OpenMP setting applied by `passive_openmp_wait` (read by the OpenMP runtime when torch is imported).
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def passive_openmp_wait() -> bool:
    """Set `OPENMP_ENV` in ``os.environ`` where not set; True if it takes effect (torch not imported yet).

    Never raises; a value the user set is kept. Child processes inherit it through the environment.
    """
    for name, value in OPENMP_ENV.items():
        os.environ.setdefault(name, value)
    return "torch" not in sys.modules


#: Values that switch an on/off environment variable's setting off (case and surrounding space ignored).
OFF_VALUES = frozenset({"0", "false", "no", "off"})


def switched_off(variable: str) -> bool:
    """Whether the on/off environment variable `variable` is set to one of `OFF_VALUES` (unset or anything else:
    on). The one reading of ``TTN_TUNE_MALLOC`` and ``TTN_CPU_ROUTES``."""
    return os.environ.get(variable, "").strip().lower() in OFF_VALUES


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
    if switched_off(ENV_SWITCH):
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
