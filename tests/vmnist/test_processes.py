"""Worker pools (vmnist.processes): a Ctrl-C while a worker is being started is not lost."""
from __future__ import annotations

import os
import signal
from multiprocessing.context import SpawnProcess

import pytest

from vmnist.processes import _DeafProcess


def test_ctrl_c_while_a_worker_starts_reaches_the_parent(monkeypatch) -> None:
    started = []

    def start_with_an_interrupt(self) -> None:  # a Ctrl-C arrives while the child is being spawned
        os.kill(os.getpid(), signal.SIGINT)
        started.append(signal.getsignal(signal.SIGINT))

    monkeypatch.setattr(SpawnProcess, "start", start_with_an_interrupt)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever an earlier test left
    try:
        with pytest.raises(KeyboardInterrupt):
            _DeafProcess().start()
    finally:
        restored = signal.signal(signal.SIGINT, before)
    assert started == [signal.SIG_IGN]  # the child is started while SIGINT is ignored: it inherits that
    assert restored is signal.default_int_handler  # and the parent's handler is back
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # nothing left blocked
