"""`accelerate(model)`: a LeNet-5 of `ttn.nn` run through the CPU routes, with the same parameters and outputs.

The science model stays plain PyTorch; accelerating it wraps it, so its state dict, checkpoints and
parameter objects are untouched (an optimizer built on ``model.parameters()`` trains both)::

    LeNet5.forward (ttn.nn)                          AcceleratedLeNet5.forward (here)
      x -> conv1 -> ReLU -> max-pool               x channels-last-3d -> conv1 + max-pool (`conv_max_pool`) -> ReLU
        -> conv2 -> ReLU -> max-pool                 -> conv2 + max-pool -> ReLU
        -> flatten -> classify                       -> flatten -> model.classify

Max-pooling and ReLU commute (both are monotone), so pooling first gives equal outputs and gradients
at an eighth of the ReLU work. Each convolution is computed from its parameters by `ttn.cpu.routes`
(3D weight, 3DTT built kernel, or the (2+1)D pair); anything else runs its own forward. `tests/cpu`
checks the outputs and gradients against the plain model for every architecture.

The routes are switched off, for a plain run of the same code, by ``TTN_CPU_ROUTES=0`` in the environment.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu.memory import to_channels_last_3d
from ttn.cpu.pooling import max_pool3d
from ttn.cpu.routes import conv3d, conv3d_max_pool
from ttn.cpu.runtime import switched_off
from ttn.nn import POOL, Conv2Plus1d, Conv3dTT, LeNet5

#: Environment variable that switches every CPU route off when set to 0 / false / no / off.
ROUTES_SWITCH = "TTN_CPU_ROUTES"
#: Videos per forward pass on CPU when no gradient is recorded: the first layer's output (1.7 MB a video at 18
#: channels) then stays nearer the cores (figures in docs/method.md, "Speed on CPU").
INFERENCE_BATCH = 100


def routes_enabled(device: torch.device | str = "cpu") -> bool:
    """Whether the CPU routes apply on `device`: a CPU device and not switched off by ``TTN_CPU_ROUTES=0``."""
    return torch.device(device).type == "cpu" and not switched_off(ROUTES_SWITCH)


def inference_batch_size(requested: int, device: torch.device | str) -> int:
    """Videos per forward pass in evaluation: `requested`, at most INFERENCE_BATCH where the routes apply."""
    return min(requested, INFERENCE_BATCH) if routes_enabled(device) else requested


def _params(conv: nn.Module, weight: torch.Tensor) -> tuple:
    """The ``F.conv3d`` arguments of `conv` after x: (weight, bias, stride, padding, dilation, groups)."""
    return weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups


def conv_max_pool(conv: nn.Module, x: torch.Tensor, pool: int) -> torch.Tensor:
    """``F.max_pool3d(conv(x), pool)`` through the CPU routes; x (B, C, D, H, W) channels-last-3d."""
    if isinstance(conv, Conv3dTT):
        return conv3d_max_pool(x, *_params(conv, conv.kernel()), pool)
    if isinstance(conv, nn.Conv3d) and conv.padding_mode == "zeros":
        return conv3d_max_pool(x, *_params(conv, conv.weight), pool)
    if isinstance(conv, Conv2Plus1d):
        middle = F.relu(conv3d(x, *_params(conv.spatial, conv.spatial.weight)))
        return max_pool3d(conv3d(middle, *_params(conv.temporal, conv.temporal.weight)), pool)
    return max_pool3d(conv(x), pool)


class AcceleratedLeNet5(nn.Module):
    """`model`'s forward through the CPU routes: (B, 1, T, H, W) float -> logits (B, classes), equal to
    ``model(x)`` up to float rounding. ``self.model`` is the wrapped model (its parameters, not copies)."""

    def __init__(self, model: LeNet5) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        model = self.model
        x = x.contiguous(memory_format=torch.channels_last_3d)
        x = F.relu(conv_max_pool(model.conv1, x, POOL))  # (B, C1, T/2, H/2, W/2)
        x = F.relu(conv_max_pool(model.conv2, x, POOL))  # (B, C2, D, H', W')
        return model.classify(x.flatten(1))  # flatten reads (C, D, H, W) order whatever the memory format


def accelerate(model: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
    """`model` ready to run fast on `device`: a LeNet-5 on CPU is wrapped in `AcceleratedLeNet5` and its 5D
    weights are stored channels-last (in place, values unchanged); any other model or device, or
    ``TTN_CPU_ROUTES=0``, returns `model` itself. Call it again after moving the model to another device."""
    if not routes_enabled(device) or not isinstance(model, LeNet5):
        return model
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 5:
                parameter.data = to_channels_last_3d(parameter.data)  # oneDNN picks its format from the strides
    return AcceleratedLeNet5(model)
