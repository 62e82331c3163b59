"""LeNet-5's conv + max-pool stage through the CPU routes of `ttn.cpu.routes`, for every conv kind.

`LeNet5.forward` calls `conv_max_pool` when its CPU routes are on (`LeNet5.set_cpu_routes`, the one switch);
it computes ``F.max_pool3d(conv(x), pool)`` from the conv's parameters, equal up to float rounding
(`tests/cpu/test_cpu_routes.py`, every arch and channel counts that take every route):

- ``nn.Conv3d``: its weight; a `Conv3dTT`: its built kernel (K0 warped over time);
- a `Conv2Plus1d`: the spatial conv, ReLU, the temporal conv, then pooling;
- anything else: its own forward, then pooling.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu.pooling import max_pool3d
from ttn.cpu.routes import conv3d, conv3d_max_pool
from ttn.nn.conv2plus1d import Conv2Plus1d
from ttn.nn.conv3d_tt import Conv3dTT


def _params(conv: nn.Module, weight: torch.Tensor) -> tuple:
    """The ``F.conv3d`` arguments of `conv` after x: (weight, bias, stride, padding, dilation, groups)."""
    return weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups


def conv_max_pool(conv: nn.Module, x: torch.Tensor, pool: int) -> torch.Tensor:
    """``F.max_pool3d(conv(x), pool)`` through the CPU routes: x (B, C, D, H, W) channels-last-3d ->
    (B, O, D'/pool, H'/pool, W'/pool) channels-last-3d."""
    if isinstance(conv, Conv3dTT):
        return conv3d_max_pool(x, *_params(conv, conv.kernel()), pool)
    if isinstance(conv, nn.Conv3d) and conv.padding_mode == "zeros":
        return conv3d_max_pool(x, *_params(conv, conv.weight), pool)
    if isinstance(conv, Conv2Plus1d):
        middle = F.relu(conv3d(x, *_params(conv.spatial, conv.spatial.weight)))
        return max_pool3d(conv3d(middle, *_params(conv.temporal, conv.temporal.weight)), pool)
    return max_pool3d(conv(x), pool)
