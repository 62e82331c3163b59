"""Data-parallel training steps on CPU threads (ttn.cpu.sharding, as `train_step` uses it) against a plain backward."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ttn.cpu.sharding import MIN_SHARD_SIZE, in_shards, shard_count
from ttn.experiment.step import train_step
from ttn.nn import build_model


def small_batch(size: int = 9) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return torch.rand(size, 1, 30, 28, 28, generator=generator), torch.randint(0, 10, (size,), generator=generator)


def still(model: torch.nn.Module) -> torch.optim.Optimizer:
    """An optimizer whose step leaves the weights as they are (lr 0): the step's gradients stay to be read."""
    return torch.optim.SGD(model.parameters(), lr=0.0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shards", [1, 2, 3])
def test_sharded_gradients_equal_a_plain_backward(shards: int, reduction: str) -> None:
    torch.manual_seed(0)
    model = build_model("3dttn", channels=(3, 4))
    x, y = small_batch()
    loss = F.cross_entropy(model(x), y, reduction=reduction)
    loss.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)  # zeroed by the step, not accumulated
    per_video = train_step(model, still(model), x, y, reduction, shards)
    assert per_video == pytest.approx(loss.item() / (len(y) if reduction == "sum" else 1), rel=1e-5)
    for p, grad in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, grad, rtol=1e-4, atol=1e-6)


def test_sharded_steps_are_reproducible_and_restore_threads() -> None:
    torch.manual_seed(0)
    model = build_model("3d", channels=(3, 4))
    x, y = small_batch(12)
    threads = torch.get_num_threads()
    runs = []
    for _ in range(3):
        train_step(model, still(model), x, y, "mean", shards=2)
        runs.append([p.grad.clone() for p in model.parameters()])
    assert torch.get_num_threads() == threads
    for run in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(run, runs[0]))  # bit for bit: sums in shard order


def test_in_shards_keeps_shard_order() -> None:
    x, y = torch.arange(10.0), torch.arange(10)
    assert [len(part) for part in in_shards(lambda a, b: a, x, y, 3)] == [4, 3, 3]
    assert torch.equal(torch.cat(in_shards(lambda a, b: a * 2, x, y, 3)), x * 2)


def test_shard_count() -> None:
    assert shard_count(20, "cpu", threads=2) == 2
    assert shard_count(20, "cpu", threads=8) == 20 // MIN_SHARD_SIZE
    assert shard_count(MIN_SHARD_SIZE * 2 - 1, "cpu", threads=2) == 1
    assert shard_count(3, "cpu", threads=2) == 1
    assert shard_count(20, "cuda", threads=2) == 1  # plain backward off the CPU (no device needed to decide)


def test_bad_reduction_and_shard_errors_propagate() -> None:
    model = build_model("3d", channels=(3, 4))
    x, y = small_batch(8)
    with pytest.raises(ValueError, match="reduction"):
        train_step(model, still(model), x, y, "none")
    bad_labels = y.clone()
    bad_labels[-1] = 10  # only the worker thread's shard holds the bad label
    with pytest.raises(IndexError):
        train_step(model, still(model), x, bad_labels, "mean", shards=2)
    assert torch.get_num_threads() == 1  # conftest's setting, restored despite the error


FORK_SCRIPT = """
import os, signal, torch
import torch.nn.functional as F
torch.set_num_threads(1)
from ttn.cpu.sharding import in_shards
x, w = torch.rand(8, 1, 30, 28, 28), torch.rand(3, 1, 5, 5, 5)
conv = lambda part, _: F.conv3d(part, w)  # torch kernels in this thread and in the pool's worker thread
before = torch.cat(in_shards(conv, x, torch.zeros(8), 2))  # starts the parent's worker thread
pid = os.fork()
if pid == 0:
    signal.alarm(30)  # a child waiting on the parent's thread, which it does not have, dies instead of hanging
    os._exit(0 if torch.equal(torch.cat(in_shards(conv, x, torch.zeros(8), 2)), before) else 1)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_sharding_works_in_a_forked_child() -> None:
    """A child forked after the pool's worker thread started gets a pool of its own (the parent's thread does not
    exist there: without `os.register_at_fork` the child would wait for it forever).

    Run in a fresh interpreter that never used more than one OpenMP thread: GNU OpenMP itself is not
    fork-safe once a thread team exists, which is not what this test is about. The shards run forward kernels
    only: with a whole training step in the child (an earlier version of this test) the child died of SIGSEGV
    in 1 of 190 fresh interpreters on 2 loaded cores, and in none of 300 forks from one warm interpreter; where
    it crashed was not found (no crash in 150 tries with faulthandler on). Sweeps never fork: their pools spawn.
    """
    import subprocess
    import sys

    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "child exit 0"
