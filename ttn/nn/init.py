"""How a model's convolution weights start: one rule for every arch (`ttn.registry.INIT_RULES`).

The init rule is a fairness axis, not a detail: on 10-50 training videos it alone moved the 3DTTN - 3D gap by
14-18 points (docs/results.md). A rule is applied to every convolution of a model, whatever its kind:

- ``default``: each layer as its constructor drew it. ``nn.Conv3d``: PyTorch's Kaiming-uniform with a = sqrt(5),
  i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in); `Conv3dTT`: K0 ~ N(0, 2/fan_in) and identity
  transforms (`Conv3dTT.reset_parameters`).
- ``he``: weights ~ N(0, 2/fan_in), fan_in = in_channels/groups * T * H * W, the full kernel's (a 3DTT K0 is
  drawn with exactly this rule: a 3DTTN is the same model under ``default``, ``he`` and ``tied``).
- ``normal``: weights ~ N(0, 1), and the biases of ``nn.Conv3d`` too (the authors' code,
  redsphinx/relative-baseline; 3DTT biases keep their default).
- ``tied``: each output kernel starts as one He-normal 2D slice (O, I/groups, H, W) repeated over its T steps,
  as a 3DTTN's kernel starts, so a 3D model can start exactly where a 3DTTN does (its slices then learn apart).

``scale`` multiplies the drawn conv weights (a 3DTT layer's K0), never biases. Equal slices add up coherently on
slowly changing frames (up to sqrt(T) larger first activations than independent slices), so ``scale =
1/sqrt(T)`` gives a tied kernel about the activation scale of an independent He kernel.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ttn.nn.conv3d_tt import Conv3dTT
from ttn.registry import DEFAULT_INIT, check_init, check_positive

__all__ = ["initialize", "init_conv_"]


def initialize(model: nn.Module, rule: str = DEFAULT_INIT, scale: float = 1.0) -> nn.Module:
    """Re-draw every convolution of `model` in place by `rule` and multiply its weights by `scale`; returns
    `model`. Convolutions are visited in `model.modules()` order (the draws depend on the torch RNG state);
    linear layers are left as built. The one check of a model's rule and scale (TTNError naming the option)."""
    check_init(rule)
    check_positive(scale, "--init-scale")
    for module in model.modules():
        if isinstance(module, (Conv3dTT, nn.Conv3d)):
            init_conv_(module, rule, scale)
    return model


def init_conv_(conv: Conv3dTT | nn.Conv3d, rule: str, scale: float = 1.0) -> None:
    """Re-draw one convolution's weights by `rule` (see the module docstring), then scale them by `scale`."""
    with torch.no_grad():
        if isinstance(conv, Conv3dTT):
            weight = conv.k0  # (O, I/groups, H, W); default, he and tied: K0 as built (He-normal, slices equal)
            if rule == "normal":
                weight.normal_(0.0, 1.0)
        else:
            weight = conv.weight  # (O, I/groups, T, H, W)
            if rule == "he":
                nn.init.kaiming_normal_(weight, nonlinearity="relu")
            elif rule == "tied":
                fan_in = math.prod(weight.shape[1:])
                slice_ = torch.empty_like(weight[:, :, 0]).normal_(0.0, math.sqrt(2.0 / fan_in))  # (O, I, H, W)
                weight.copy_(slice_.unsqueeze(2).expand_as(weight))
            elif rule == "normal":
                weight.normal_(0.0, 1.0)
                if conv.bias is not None:
                    conv.bias.normal_(0.0, 1.0)
        if scale != 1.0:
            weight.mul_(scale)
