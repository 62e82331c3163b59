"""Draw what a 3D / 3DTT layer learned: each kernel's T slices and, for 3DTT, the transform of every step.

Needs matplotlib (the optional extra ``[plot]``); without it `plot_kernels` raises TTNError with the fix.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ttn.errors import TTNError
from vmnist.atomic import atomic_path
from ttn.nn import Conv2Plus1d, Conv3dTT


def layer_of(model: nn.Module, layer: int) -> nn.Module:
    """The `layer`-th convolution (1 or 2) of a LeNet-5."""
    if layer not in (1, 2):
        raise TTNError(f"--layer must be 1 or 2, got {layer}")
    return getattr(model, f"conv{layer}")


def step_labels(conv: nn.Module) -> list[list[str]]:
    """Per output kernel, one label per step t -> t+1 ((s, r in degrees, tx, ty), or the affine matrix)."""
    if not isinstance(conv, Conv3dTT):
        return [[] for _ in range(conv.out_channels)]  # type: ignore[arg-type]
    steps = conv.kernel_size[0] - 1
    labels: list[list[str]] = []
    for o in range(conv.out_channels):
        row = []
        for t in range(steps):
            if conv.theta_kind == "affine":
                a = conv.theta[o, t].detach().tolist()
                row.append("\n".join(" ".join(f"{v:+.2f}" for v in line) for line in a))
            else:
                u = 0 if conv.theta_kind == "shared" else t
                s, r, tx, ty = (float(p.detach()[o, u]) for p in (conv.scale, conv.rotation, conv.tx, conv.ty))
                r = math.degrees(r)
                row.append(f"s {s:.3f} r {r:+.1f}°\ntx {tx:+.3f} ty {ty:+.3f}")
        labels.append(row)
    return labels


def layer_kernel(conv: nn.Module) -> torch.Tensor:
    """The 3D kernel (O, I, T, H, W) of a 3D or 3DTT convolution."""
    if isinstance(conv, Conv3dTT):
        return conv.kernel().detach()
    if isinstance(conv, Conv2Plus1d):
        raise TTNError("show-kernels draws 3d and 3dttn models: a 2plus1d layer has no single 3D kernel "
                       "(a ReLU sits between its spatial and temporal convolutions)")
    if isinstance(conv, nn.Conv3d):
        return conv.weight.detach()
    raise TTNError(f"cannot draw kernels of a {type(conv).__name__}")


def plot_kernels(
    model: nn.Module,
    out: str | os.PathLike[str],
    *,
    layer: int = 1,
    in_channel: int = 0,
    max_kernels: int | None = None,
    title: str | None = None,
) -> Path:
    """Write a PNG (or any format matplotlib infers from `out`): one row per output kernel of `layer`, one
    column per temporal slice (input channel `in_channel`), each row on its own symmetric colour scale;
    3DTT slices t >= 1 are captioned with the transform of the step that produced them."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise TTNError("drawing kernels needs matplotlib: pip install -e .[plot]") from None
    conv = layer_of(model, layer)
    kernel = layer_kernel(conv).float().cpu()  # (O, I, T, H, W)
    if not 0 <= in_channel < kernel.shape[1]:
        raise TTNError(f"--in-channel must be in 0..{kernel.shape[1] - 1} for layer {layer}, got {in_channel}")
    rows = kernel.shape[0] if max_kernels is None else max(1, min(max_kernels, kernel.shape[0]))
    frames = kernel.shape[2]
    labels = step_labels(conv)
    captioned = isinstance(conv, Conv3dTT)
    figure = Figure(figsize=(1.5 * frames + 0.6, (1.9 if captioned else 1.4) * rows + 0.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, frames, squeeze=False)
    for o in range(rows):
        slices = kernel[o, in_channel]  # (T, H, W)
        bound = float(slices.abs().max()) or 1.0
        for t in range(frames):
            ax = axes[o][t]
            ax.imshow(slices[t].numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if o == 0:
                ax.set_title("K0" if t == 0 else f"t = {t}", fontsize=9)
            if t == 0:
                ax.set_ylabel(f"kernel {o}", fontsize=8)
            if captioned and t > 0:
                ax.set_xlabel(labels[o][t - 1], fontsize=6)
    figure.suptitle(title or describe(conv, layer, in_channel), fontsize=10)
    figure.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format=out.suffix.lstrip(".") or "png")
    return out


def describe(conv: nn.Module, layer: int, in_channel: int) -> str:
    """Figure title: which layer, kind and input channel."""
    kind: dict[str, Any] = {}
    if isinstance(conv, Conv3dTT):
        kind = {"theta": conv.theta_kind, "warp": conv.warp}
    extra = ", ".join(f"{k} {v}" for k, v in kind.items())
    name = "3DTT" if isinstance(conv, Conv3dTT) else "3D"
    return f"layer {layer} ({name}{', ' + extra if extra else ''}), input channel {in_channel}"
