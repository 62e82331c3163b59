"""Data-parallel gradients on CPU threads: a mini-batch split into shards, one per core.

``backward(model, F.cross_entropy, x, y)`` computes the gradient of the batch's loss like
``F.cross_entropy(model(x), y).backward()`` but splits the batch (B, ...) into `shards` parts, runs
each part's forward and backward in its own thread with single-threaded torch kernels (shard 0 in the
calling thread), and sums the parts' gradients into ``p.grad`` in shard order::

    x (B, 1, T, H, W) --tensor_split--> shard 0 (B0, ...) in this thread      --> grads_0 --+
                                        shard 1 (B1, ...) in a worker thread  --> grads_1 --+--> sum --> p.grad

Why: on 2 cores a LeNet-5 training step at batch 20 spends part of its time in OpenMP barriers and
per-kernel thread start-up; two independent single-threaded halves are a few percent faster (docs/method.md).

`loss_fn(logits, y, reduction=...)` is a per-sample loss reduced over the batch, like ``F.cross_entropy``.
Each shard's loss is its share of the batch loss (sum over its videos, divided by B for the mean), so
the summed gradients are the batch gradient up to float rounding. The result depends on the shard count
(float sums in another order) but not on thread timing: every shard runs single-threaded and the sum
is taken in shard order, so a run is reproducible for a given ``torch.get_num_threads()``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from typing import Callable

import torch
from torch import nn

from ttn.cpu.accelerated import routes_enabled

#: A per-sample loss reduced over the batch: (logits (B, classes), labels (B,), reduction="sum") -> scalar.
LossFn = Callable[..., torch.Tensor]

#: Smallest shard worth a thread (videos); smaller batches use fewer shards.
MIN_SHARD_SIZE = 4

_executor_lock = threading.Lock()
_executors: dict[int, ThreadPoolExecutor] = {}
if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads: start its own pools
    os.register_at_fork(after_in_child=_executors.clear)


def shard_count(batch_size: int, device: torch.device | str, threads: int | None = None) -> int:
    """How many shards `backward` uses: one per torch thread, at least MIN_SHARD_SIZE videos each,
    and 1 (plain backward) off the CPU or with the CPU routes switched off."""
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


def _shard_grads(model: nn.Module, loss_fn: LossFn, params: list[nn.Parameter], x: torch.Tensor, y: torch.Tensor,
                 batch_size: int, reduction: str) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """(detached loss share, gradients of `params`) of one shard x (b, ...), y (b,)."""
    loss = loss_fn(model(x), y, reduction="sum")
    if reduction == "mean":
        loss = loss / batch_size
    return loss.detach(), list(torch.autograd.grad(loss, params, allow_unused=True))


def backward(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean",
             shards: int | None = None) -> torch.Tensor:
    """Set ``p.grad`` of `model`'s trainable parameters to the gradient of ``loss_fn(model(x), y)``
    (``reduction`` "mean" or "sum" over the batch), computed in `shards` threads; returns the loss (detached).

    x (B, ...) inputs, y (B,) int64 labels. ``shards=None`` takes `shard_count`; 1 is a plain backward.
    Existing gradients are replaced, not accumulated (like ``zero_grad(set_to_none=True)`` then backward).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    batch_size = len(x)
    shards = shard_count(batch_size, x.device) if shards is None else max(1, min(shards, batch_size))
    parts = list(zip(x.tensor_split(shards), y.tensor_split(shards)))
    if shards == 1:
        results = [_shard_grads(model, loss_fn, params, *parts[0], batch_size, reduction)]
    else:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # this thread runs shard 0, single-threaded like the workers
        try:
            executor = _executor(shards - 1)
            futures = [executor.submit(_shard_grads, model, loss_fn, params, *part, batch_size, reduction) for part in parts[1:]]
            results = [_shard_grads(model, loss_fn, params, *parts[0], batch_size, reduction)] + [f.result() for f in futures]
        finally:
            torch.set_num_threads(threads)
    for index, param in enumerate(params):
        grads = [grad_list[index] for _, grad_list in results if grad_list[index] is not None]
        for grad in grads[1:]:
            grads[0].add_(grad)  # in shard order: reproducible
        param.grad = grads[0] if grads else None
    loss = results[0][0]
    for shard_loss, _ in results[1:]:
        loss = loss + shard_loss
    return loss
