"""Plain-PyTorch reference computations of our layers and LeNet-5: what the fast paths must agree with.

Used by the tests (same outputs as the optimized model) and by bench/bench_models.py (the "plain" speed
reference): ``F.conv3d`` on the built kernels, the paper's conv -> ReLU -> pool order, no memory-format tricks.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ttn.layers import Conv2Plus1d, Conv3dTT


def plain_conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A conv layer of ours computed with plain ``F.conv3d`` (no fast route); x (B, C, D, H, W)."""
    if isinstance(conv, Conv3dTT):
        return F.conv3d(x, conv.kernel(), conv.bias, conv.stride, conv.padding)
    if isinstance(conv, Conv2Plus1d):
        return plain_conv(conv.temporal, F.relu(plain_conv(conv.spatial, x)))
    return F.conv3d(x, conv.weight, conv.bias, conv.stride, conv.padding)


def plain_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A LeNet-5 of ours in the paper's order (conv -> ReLU -> pool), plain ``F.conv3d``: (B, 1, T, H, W) -> (B, 10)."""
    x = F.max_pool3d(F.relu(plain_conv(model.conv1, x)), 2)
    x = F.max_pool3d(F.relu(plain_conv(model.conv2, x)), 2).flatten(1)
    return model.fc3(F.relu(model.fc2(F.relu(model.fc1(x)))))
