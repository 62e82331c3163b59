"""ttn.cpu.runtime: the allocator setting is a bool, applied once, and can be switched off."""
import os
import sys

import pytest

from ttn.cpu import runtime


def test_tune_allocator_is_idempotent_and_returns_a_bool():
    first = runtime.tune_allocator()
    assert isinstance(first, bool)
    assert runtime.tune_allocator() is first
    if sys.platform.startswith("linux") and runtime._glibc() is not None:
        assert first or runtime._disabled_by_env()


@pytest.mark.parametrize("value", ["0", "off", "false"])
def test_env_switch_disables_it(monkeypatch, value):
    monkeypatch.setattr(runtime, "_tuned", None)  # as in a fresh process (monkeypatch restores it)
    monkeypatch.setenv(runtime.ENV_SWITCH, value)
    assert runtime.tune_allocator() is False


def test_not_glibc_returns_false(monkeypatch):
    monkeypatch.setattr(runtime, "_tuned", None)
    monkeypatch.delenv(runtime.ENV_SWITCH, raising=False)
    monkeypatch.setattr(runtime, "_glibc", lambda: None)
    assert runtime.tune_allocator() is False


def test_passive_openmp_wait_keeps_a_user_value(monkeypatch):
    monkeypatch.setattr(os, "environ", {"OMP_WAIT_POLICY": "ACTIVE"})
    assert runtime.passive_openmp_wait() is False  # torch is imported in the test process
    assert os.environ == {"OMP_WAIT_POLICY": "ACTIVE"}
    monkeypatch.setattr(os, "environ", {})
    runtime.passive_openmp_wait()
    assert os.environ == runtime.OPENMP_ENV
