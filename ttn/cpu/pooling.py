"""Max-pooling for inference on channels-last tensors: pairwise maxima of strided views.

Without autograd, ``F.max_pool3d(x, p)`` / ``F.max_pool2d`` on CPU still run the kernel that records the
argmax indices, and in channels-last memory it vectorizes over the channels only: slow for few channels.
`max_pool3d` reduces one pooled dimension at a time with ``torch.maximum`` over its p strided slices, the
outermost dimension first (it shrinks the data for the next passes)::

    x memory (N, D1, D2, D3, C) --max of p slices of D1--> (N, D1/p, D2, D3, C) --D2--> ... --D3--> (N, D1/p, D2/p, D3/p, C)

The values equal ``F.max_pool3d``'s exactly (a maximum does not round); for few channels it is more than
twice as fast in evaluation (docs/method.md). With autograd the usual kernels run: their gradient goes to one element of
each window even on ties, which a chain of maxima would split.
"""
from __future__ import annotations

from functools import reduce

import torch
import torch.nn.functional as F

from ttn.cpu.memory import channels_last_strides


def needs_autograd(*tensors: torch.Tensor | None) -> bool:
    """Whether an op on `tensors` records a graph (grad mode on and some tensor requires grad)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def max_pool3d(x: torch.Tensor, pool: int) -> torch.Tensor:
    """``F.max_pool3d(x, pool)`` (window = stride = pool, floor); by `max_of_slices` when no autograd is
    needed and x (N, C, D, H, W) has channels-last-3d strides."""
    if needs_autograd(x) or x.stride() != channels_last_strides(x.shape):
        return F.max_pool3d(x, pool)
    return max_of_slices(x.permute(0, 2, 3, 4, 1), pool).permute(0, 4, 1, 2, 3)


def max_of_slices(memory: torch.Tensor, pool: int) -> torch.Tensor:
    """memory (N, D1, D2, D3, C) -> (N, D1//p, D2//p, D3//p, C): the maximum of each p x p x p window."""
    for dim in (1, 2, 3):
        size = memory.shape[dim] // pool * pool
        windows = memory.narrow(dim, 0, size).unflatten(dim, (size // pool, pool))
        memory = reduce(torch.maximum, windows.unbind(dim + 1))
    return memory
