"""Worker process pools that stop cleanly: spawn context, Ctrl-C handled by the parent only, hard stop on error,
no worker outliving its parent.

With a plain ``ProcessPoolExecutor``, Ctrl-C reaches every worker (each prints a traceback), and a parent that
stops reading while workers still send results can wait forever at exit. Here workers are started with SIGINT
blocked (`children_deaf_to_sigint`: a signal mask is inherited through fork and exec, so a Ctrl-C while a worker
is still importing stays pending in it) until the worker ignores SIGINT, which discards it (`_worker_setup`), and
:func:`stop_pool` terminates them when the parent gives up (interrupt or error). A parent killed outright (``kill -9``, the OOM killer) cannot stop its
workers, so each worker ends itself when its parent dies (`die_with_parent`): on Linux by the parent-death signal
(``prctl(PR_SET_PDEATHSIG)``), elsewhere by a thread that watches the parent's pid.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, Callable, Iterator


#: Most worker processes a command starts (each imports torch: ~200 MB), whatever it is asked.
MAX_WORKERS = 256


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def children_deaf_to_sigint() -> Iterator[None]:
    """Processes started in this block, by this thread or by threads it starts (Dask's), begin with SIGINT blocked:
    a Ctrl-C stays pending in them, never a KeyboardInterrupt, until they ignore it (`_worker_setup`) or forever.
    This process's own disposition is untouched, so a Ctrl-C meanwhile is never lost: another thread takes it for
    Python's handler, or it is delivered here when the block ends."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # before: launching it unblocks SIGINT in the launching thread (SIG_UNBLOCK)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # a pending Ctrl-C is delivered here


class _DeafProcess(SpawnProcess):
    """A spawned process that starts with SIGINT blocked (`children_deaf_to_sigint`), and knows whether the main
    thread started it."""

    #: Started by the main thread: the parent-death signal, which fires when the thread that started a process ends,
    #: then means the parent process's death (this attribute travels to the child with the pickled process).
    started_by_main_thread = False

    def start(self) -> None:
        self.started_by_main_thread = threading.current_thread() is threading.main_thread()
        with children_deaf_to_sigint():
            super().start()


class _DeafSpawnContext(SpawnContext):
    Process = _DeafProcess


#: Linux's prctl option that sets the signal a process gets when its parent dies (<linux/prctl.h>).
PR_SET_PDEATHSIG = 1
#: How often a worker without the parent-death signal looks whether its parent still lives (seconds).
PARENT_POLL_S = 1.0


def _parent_death_signal(signum: int) -> bool:
    """Ask Linux to send this process `signum` when its parent dies; whether that worked (False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _exit_orphan() -> None:
    os._exit(1)  # nothing of a worker's is worth finishing without the parent that reads its results


def watch_parent(parent: int, interval: float = PARENT_POLL_S, on_orphan: Callable[[], None] = _exit_orphan) -> None:
    """Return after `on_orphan()` once this process's parent is no longer process `parent` (it died: the orphan was
    adopted by another); polls every `interval` seconds."""
    while os.getppid() == parent:
        time.sleep(interval)
    on_orphan()


def die_with_parent(parent: int, by_signal: bool = True) -> None:
    """End this process when its parent, process `parent`, dies, even by ``kill -9``: by the parent-death signal
    when `by_signal` (only right if the parent's main thread started us: the signal fires when the starting thread
    ends) and the platform has it, else by a daemon thread running `watch_parent`."""
    if not (by_signal and _parent_death_signal(signal.SIGKILL)):
        threading.Thread(target=watch_parent, args=(parent,), name="watch parent", daemon=True).start()
    if os.getppid() != parent:  # it died before the signal was asked for
        _exit_orphan()


def _worker_setup(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    die_with_parent(parent, getattr(multiprocessing.current_process(), "started_by_main_thread", False))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means; a pending one is dropped
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # inherited blocked from the parent's start
    if initializer is not None:
        initializer(*initargs)


def spawn_pool(workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """`workers` spawn-context processes (fork is unsafe with torch threads and open HDF5 files), which end with
    this process even when it is killed outright (`die_with_parent`)."""
    get_context("spawn")  # the standard spawn context exists (not on every platform), ours mirrors it
    return ProcessPoolExecutor(workers, mp_context=_DeafSpawnContext(), initializer=_worker_setup,
                               initargs=(os.getpid(), initializer, initargs))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers now, without waiting for running tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API stops running tasks
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
