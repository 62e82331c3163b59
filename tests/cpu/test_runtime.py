"""ttn.cpu.runtime: the allocator settings reach glibc once and change what malloc does (freed blocks are reused
instead of mapped afresh), an on/off variable switches them off, and OpenMP waits passively unless told."""
import os
import subprocess
import sys
import textwrap

import pytest

from ttn.cpu import runtime

#: Run in a fresh process: the page faults of 4 malloc/fill/free cycles of a 64 MiB block (above glibc's mmap
#: threshold, below the tuned one), after one warm-up cycle; prints "<tune_allocator()> <faults>".
FAULTS_SCRIPT = textwrap.dedent("""
    import ctypes, resource
    from ttn.cpu.runtime import tune_allocator
    tuned = tune_allocator()
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    size = 64 << 20
    def cycle():
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        libc.free(block)
    cycle()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(4):
        cycle()
    print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


class FakeLibc:
    """A C library whose mallopt records its calls and answers `result` (1: success, as glibc's)."""

    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = result

        def mallopt(param: int, value: int) -> int:
            self.calls.append((param, value))
            return self.result

        self.mallopt = mallopt


@pytest.fixture
def fresh(monkeypatch):
    """tune_allocator as in a fresh process without TTN_TUNE_MALLOC (monkeypatch restores both)."""
    monkeypatch.setattr(runtime, "_tuned", None)
    monkeypatch.delenv(runtime.ENV_SWITCH, raising=False)
    return monkeypatch


def test_tune_allocator_gives_glibc_each_setting_once(fresh):
    libc = FakeLibc()
    fresh.setattr(runtime, "_glibc", lambda: libc)
    assert runtime.tune_allocator() is True
    assert runtime.tune_allocator() is True
    assert libc.calls == list(runtime.MALLOC_SETTINGS)  # the second call applied nothing again
    assert dict(libc.calls) == {runtime.M_MMAP_THRESHOLD: 256 << 20, runtime.M_TRIM_THRESHOLD: 1 << 30}


def test_a_setting_glibc_refuses_is_reported(fresh):
    fresh.setattr(runtime, "_glibc", lambda: FakeLibc(result=0))
    assert runtime.tune_allocator() is False


@pytest.mark.parametrize("value", ["0", "off", "false", " No ", "OFF"])
def test_env_switch_disables_it(fresh, value):
    libc = FakeLibc()
    fresh.setattr(runtime, "_glibc", lambda: libc)
    fresh.setenv(runtime.ENV_SWITCH, value)
    assert runtime.tune_allocator() is False
    assert libc.calls == []


@pytest.mark.parametrize("value, off", [
    (None, False), ("", False), ("1", False), ("on", False), ("yes", False), ("anything", False),
    ("0", True), ("false", True), ("no", True), ("off", True), (" Off\n", True),
])
def test_switched_off_reads_an_on_off_variable(monkeypatch, value, off):
    if value is None:
        monkeypatch.delenv("TTN_TEST_SWITCH", raising=False)
    else:
        monkeypatch.setenv("TTN_TEST_SWITCH", value)
    assert runtime.switched_off("TTN_TEST_SWITCH") is off


def test_not_glibc_returns_false(fresh):
    fresh.setattr(runtime, "_glibc", lambda: None)
    assert runtime.tune_allocator() is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or runtime._glibc() is None, reason="glibc only")
def test_a_tuned_allocator_reuses_freed_memory_instead_of_faulting_it_in_again():
    """The behaviour the settings are for: a large block freed and allocated again costs no new page faults."""
    def faults(env: dict[str, str]) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0], int(out[1])

    env = {k: v for k, v in os.environ.items() if k != runtime.ENV_SWITCH}
    tuned, tuned_faults = faults(env)
    plain, plain_faults = faults(env | {runtime.ENV_SWITCH: "0"})
    assert (tuned, plain) == ("True", "False")
    assert plain_faults > 0, "an untuned 64 MiB block is mapped afresh every cycle"
    assert tuned_faults * 10 < plain_faults, (tuned_faults, plain_faults)


def test_passive_openmp_wait_keeps_a_user_value(monkeypatch):
    monkeypatch.setattr(os, "environ", {"OMP_WAIT_POLICY": "ACTIVE"})
    assert runtime.passive_openmp_wait() is False  # torch is imported in the test process
    assert os.environ == {"OMP_WAIT_POLICY": "ACTIVE"}
    monkeypatch.setattr(os, "environ", {})
    runtime.passive_openmp_wait()
    assert os.environ == runtime.OPENMP_ENV
