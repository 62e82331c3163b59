"""Worker pools (vmnist.infra.processes): a Ctrl-C while a worker is being started is not lost; a worker dies with its
parent."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from multiprocessing.context import SpawnProcess

import pytest

from vmnist.infra.processes import PARENT_POLL_S, _DeafProcess
from vmnist.testing import process_ended, wait_until


def test_ctrl_c_while_a_worker_starts_reaches_the_parent(monkeypatch) -> None:
    started = []

    def start_with_an_interrupt(self) -> None:  # a Ctrl-C arrives while the child is being spawned
        started.append(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()))
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(SpawnProcess, "start", start_with_an_interrupt)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever an earlier test left
    try:
        with pytest.raises(KeyboardInterrupt):  # here or in another thread: never discarded as ignored
            _DeafProcess().start()
    finally:
        restored = signal.signal(signal.SIGINT, before)
    assert started == [True]  # the child is started while SIGINT is blocked: it inherits that
    assert restored is signal.default_int_handler  # the parent's handler was never changed
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # nothing left blocked


#: A parent that starts a child calling die_with_parent, prints the child's pid once it is set up, and sleeps.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
time.sleep(600)
"""
CHILD = """
import os, time
from vmnist.infra.processes import die_with_parent
die_with_parent(os.getppid(), by_signal={by_signal})
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("by_signal", [True, False], ids=["parent-death signal", "watching thread"])
def test_a_worker_dies_with_its_parent_killed_outright(by_signal: bool) -> None:
    """kill -9 of a parent ends its child within seconds, by the parent-death signal (Linux) or by the thread that
    watches the parent's pid (the fallback elsewhere)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD.format(by_signal=by_signal)], stdout=subprocess.PIPE,
                              text=True)
    pid, ready = parent.stdout.readline().split()
    assert ready == "ready" and not process_ended(int(pid))
    parent.kill()
    parent.wait(timeout=30)
    assert wait_until(lambda: process_ended(int(pid)), 5 * PARENT_POLL_S), "the child outlived its parent"
