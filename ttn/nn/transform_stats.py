"""How far the step transforms of a 3DTT layer moved from the identity, in human units.

Each step t -> t+1 has a 2x3 sampling matrix Theta = [A | b] (`Conv3dTT.step_matrices`; for the similarity
parameterization A = s R(r), b = s R(r) (tx, ty)). Read off it, for any parameterization:

- rotation (degrees): atan2(A10 - A01, A00 + A11), the angle of the rotation closest to A (exactly r for s R(r));
- log scale: log sqrt|det A| (exactly log s for s R(r)); its absolute value, so shrinking and growing count alike;
- shift (pixels of the kernel slice): |b| with x in units of (W - 1)/2 pixels and y of (H - 1)/2
  (``align_corners=True``; W/2 and H/2 otherwise), the length of the step's sampling offset.

At the identity all three are 0. A frozen layer reports 0 (its transforms are never applied).
"""
from __future__ import annotations

import math

import torch

from ttn.nn.conv3d_tt import Conv3dTT
from ttn.registry import TRANSFORM_STATS

#: The statistics `transform_statistics` returns, in this order (mean and max over kernels and steps).
STAT_NAMES = TRANSFORM_STATS


@torch.no_grad()
def step_motion(conv: Conv3dTT) -> dict[str, torch.Tensor]:
    """Per output kernel and step: |rotation| in degrees, |shift| in pixels, |log scale|; each (O, T-1) float64."""
    matrices = conv.step_matrices().detach().double()  # (O, T-1, 2, 3)
    a = matrices[..., :2]
    rotation = torch.atan2(a[..., 1, 0] - a[..., 0, 1], a[..., 0, 0] + a[..., 1, 1])
    log_scale = 0.5 * torch.log(torch.linalg.det(a).abs().clamp_min(1e-12))
    height, width = conv.kernel_size[1:]
    units = ((width - 1) / 2, (height - 1) / 2) if conv.align_corners else (width / 2, height / 2)
    shift = torch.hypot(matrices[..., 0, 2] * units[0], matrices[..., 1, 2] * units[1])
    if conv.transforms_frozen:
        rotation, log_scale, shift = (torch.zeros_like(value) for value in (rotation, log_scale, shift))
    return {"rotation_deg": rotation.abs() * (180.0 / math.pi), "shift_px": shift, "log_scale": log_scale.abs()}


def transform_statistics(conv: Conv3dTT) -> dict[str, float]:
    """Mean and max over kernels and steps of each `step_motion` quantity, keyed by STAT_NAMES."""
    motion = step_motion(conv)
    stats: dict[str, float] = {}
    for name, values in motion.items():
        stats[f"{name}_mean"] = float(values.mean()) if values.numel() else 0.0
        stats[f"{name}_max"] = float(values.max()) if values.numel() else 0.0
    return {name: stats[name] for name in STAT_NAMES}


def model_transform_statistics(model: torch.nn.Module) -> dict[str, dict[str, float]]:
    """`transform_statistics` of every 3DTT layer of `model`, by module name (e.g. {"conv1": {...}, ...})."""
    return {name: transform_statistics(module) for name, module in model.named_modules() if isinstance(module, Conv3dTT)}
