"""Data parallelism on CPU threads: a mini-batch split into shards, one single-threaded shard per core.

`train_step` (ttn.experiment.training) hands `in_shards` the part of a step that reads the batch (forward, loss,
backward of one shard, returning its gradients); `in_shards` runs shard 0 in the calling thread and the others in
worker threads, each with single-threaded torch kernels, and `add_grads` sums the shards' gradients into
``p.grad`` in shard order::

    x (B, 1, T, H, W) --tensor_split--> shard 0 (B0, ...) in this thread      --> grads_0 --+
                                        shard 1 (B1, ...) in a worker thread  --> grads_1 --+--> sum --> p.grad

Why: on 2 cores a LeNet-5 training step at batch 20 spends part of its time in OpenMP barriers and per-kernel
thread start-up; two independent single-threaded halves are faster (the gain measured is stated where the shard
count is chosen, `ttn.experiment.training.fit`).

The result depends on the shard count (float sums in another order) but not on thread timing: every shard runs
single-threaded and the sum is taken in shard order, so a run is reproducible for a given ``torch.get_num_threads()``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import torch

from ttn.cpu.switch import routes_enabled

#: Smallest shard worth a thread (videos); smaller batches use fewer shards.
MIN_SHARD_SIZE = 4

Result = TypeVar("Result")

_executor_lock = threading.Lock()
_executors: dict[int, ThreadPoolExecutor] = {}
if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads: start its own pools
    os.register_at_fork(after_in_child=_executors.clear)


def shard_count(batch_size: int, device: torch.device | str, threads: int | None = None) -> int:
    """How many shards a training step uses: one per torch thread, at least MIN_SHARD_SIZE videos each,
    and 1 (one plain pass) off the CPU or with the CPU routes switched off."""
    if not routes_enabled(device):
        return 1
    threads = threads or torch.get_num_threads()
    return max(1, min(threads, batch_size // MIN_SHARD_SIZE))


def _executor(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of `workers` threads whose torch kernels run single-threaded."""
    with _executor_lock:
        if workers not in _executors:
            _executors[workers] = ThreadPoolExecutor(workers, thread_name_prefix="ttn-shard", initializer=torch.set_num_threads, initargs=(1,))
        return _executors[workers]


def in_shards(fn: Callable[[torch.Tensor, torch.Tensor], Result], x: torch.Tensor, y: torch.Tensor,
              shards: int) -> list[Result]:
    """``fn(x_part, y_part)`` for each of `shards` parts of the batch x (B, ...), y (B,), in shard order.

    One shard calls `fn` once in this thread with the torch threads as they are; several run in parallel, shard 0
    in this thread and the others in worker threads, each single-threaded (this thread's count is restored after,
    also on an error, which is raised here)."""
    parts = list(zip(x.tensor_split(shards), y.tensor_split(shards))) if shards > 1 else [(x, y)]
    if len(parts) == 1:
        return [fn(*parts[0])]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this thread runs shard 0, single-threaded like the workers
    try:
        futures = [_executor(len(parts) - 1).submit(fn, *part) for part in parts[1:]]
        first = fn(*parts[0])
        return [first] + [future.result() for future in futures]
    finally:
        torch.set_num_threads(threads)


def add_grads(params: Sequence[torch.nn.Parameter], grads: Sequence[Sequence[torch.Tensor | None]]) -> None:
    """Add each shard's gradients (`grads[shard][i]` of `params[i]`, None where unused) into ``p.grad``, in shard
    order (reproducible); a ``p.grad`` of None takes the first shard's tensor."""
    for index, param in enumerate(params):
        for shard_grads in grads:
            grad = shard_grads[index]
            if grad is None:
                continue
            if param.grad is None:
                param.grad = grad
            else:
                param.grad.add_(grad)
