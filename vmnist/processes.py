"""Worker process pools that stop cleanly: spawn context, Ctrl-C handled by the parent only, hard stop on error.

With a plain ``ProcessPoolExecutor``, Ctrl-C reaches every worker (each prints a traceback), and a parent that
stops reading while workers still send results can wait forever at exit. Here workers are started with SIGINT
ignored (a signal ignored at exec stays ignored: Python then installs no KeyboardInterrupt handler, so a
Ctrl-C while a worker is still importing prints nothing either), and :func:`stop_pool` terminates them when
the parent gives up (interrupt or error).
"""
from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, Callable


#: Most worker processes a command starts (each imports torch: ~200 MB), whatever it is asked.
MAX_WORKERS = 256


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _DeafProcess(SpawnProcess):
    """A spawned process that starts with SIGINT ignored (inherited through exec).

    The parent ignores SIGINT while it starts the child, and blocks it meanwhile: on Linux a blocked signal is
    never discarded as ignored, so a Ctrl-C in that window (long on a loaded machine) stays pending and reaches
    the parent's own handler when unblocked, instead of being lost."""

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return super().start()  # signal handlers can only be changed in the main thread
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().start()
        finally:
            signal.signal(signal.SIGINT, previous)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # a pending Ctrl-C is delivered here


class _DeafSpawnContext(SpawnContext):
    Process = _DeafProcess


def _worker_setup(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # inherited blocked from the parent's start
    if initializer is not None:
        initializer(*initargs)


def spawn_pool(workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """`workers` spawn-context processes (fork is unsafe with torch threads and open HDF5 files)."""
    get_context("spawn")  # the standard spawn context exists (not on every platform), ours mirrors it
    return ProcessPoolExecutor(workers, mp_context=_DeafSpawnContext(), initializer=_worker_setup,
                               initargs=(initializer, initargs))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers now, without waiting for running tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API stops running tasks
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
