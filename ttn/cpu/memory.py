"""Exact channels-last-3d strides: the memory layout every CPU route of `ttn.cpu` expects."""
from __future__ import annotations

import torch


def channels_last_strides(shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
    """The strides of a (N, C, D, H, W) tensor stored as (N, D, H, W, C)."""
    n, c, d, h, w = shape
    return (d * h * w * c, 1, h * w * c, w * c, c)


def to_channels_last_3d(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` (5D) with exactly channels-last-3d strides, copying only if needed.

    ``tensor.contiguous(memory_format=torch.channels_last_3d)`` is not enough when a size is 1: a
    (O, 1, kT, kH, kW) weight counts as both contiguous and channels-last, keeps NCDHW strides, and oneDNN
    then runs the convolution in NCDHW (several times slower for the (2+1)D model's first spatial conv).
    """
    if tensor.stride() == channels_last_strides(tensor.shape):
        return tensor
    return torch.empty_like(tensor, memory_format=torch.channels_last_3d).copy_(tensor)
