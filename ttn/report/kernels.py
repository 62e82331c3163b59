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
from ttn.nn import Conv2Plus1d, Conv3dTT
from ttn.report.figures import check_figure_path
from vmnist.pictures.figures import DEFAULT_DPI, save_figure


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


#: Inches per kernel slice, and below a 3DTT slice for its two-line transform caption.
CELL_INCHES = 1.1
CAPTION_INCHES = 0.34


def kernel_figure(
    model: nn.Module,
    *,
    layer: int = 1,
    in_channel: int = 0,
    max_kernels: int | None = None,
    name: str | None = None,
) -> Any:
    """A matplotlib Figure: one row per output kernel of `layer` (the first `max_kernels`; None: all), one column
    per temporal slice of input channel `in_channel`, each row on its own symmetric colour scale with its colour
    bar; 3DTT slices t >= 1 are captioned with the transform (s, r, tx, ty) of the step that produced them.

    `name` (e.g. the checkpoint's file name) opens the title. Size: ~1.1 in per slice, so 5 slices make a 7 in
    wide figure and 6 kernels a page-high one.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 (what draws it: installed?)
        from matplotlib.figure import Figure
    except ImportError:
        raise TTNError("drawing kernels needs matplotlib: pip install -e .[plot]") from None
    conv = layer_of(model, layer)
    kernel = layer_kernel(conv).float().cpu()  # (O, I, T, H, W)
    if not 0 <= in_channel < kernel.shape[1]:
        raise TTNError(f"--in-channel must be in 0..{kernel.shape[1] - 1} for layer {layer}, got {in_channel}")
    total = kernel.shape[0]
    rows = total if max_kernels is None else max(1, min(max_kernels, total))
    frames = kernel.shape[2]
    labels = step_labels(conv)
    captioned = isinstance(conv, Conv3dTT)
    row_inches = CELL_INCHES + (CAPTION_INCHES if captioned else 0.12)
    figure = Figure(figsize=(0.45 + frames * CELL_INCHES + 0.75, 0.75 + rows * row_inches), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.04, hspace=0.02)
    axes = figure.subplots(rows, frames, squeeze=False)
    for o in range(rows):
        slices = kernel[o, in_channel]  # (T, H, W)
        bound = float(slices.abs().max()) or 1.0
        for t in range(frames):
            ax = axes[o][t]
            image = ax.imshow(slices[t].numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if o == 0:
                ax.set_title(("K0" if t == 0 else f"t = {t}") if captioned else f"t = {t}", fontsize=9)
            if t == 0:
                ax.set_ylabel(f"kernel {o}", fontsize=8)
            if captioned and t > 0:
                ax.set_xlabel(labels[o][t - 1], fontsize=7, linespacing=1.1)
        bar = figure.colorbar(image, ax=list(axes[o]), ticks=[-bound, 0.0, bound], fraction=0.04, aspect=12, pad=0.02)
        bar.ax.tick_params(labelsize=7, length=2, pad=1)
        bar.ax.set_yticklabels([f"{-bound:.2g}", "0", f"{bound:.2g}"])
    shown = f"kernels 0-{rows - 1} of {total}" if rows < total else f"all {total} kernels"
    heading = f"{describe(conv, layer, in_channel)}, {shown}"
    figure.suptitle(f"{name}\n{heading}" if name else heading, fontsize=9)
    return figure


def plot_kernels(
    model: nn.Module,
    out: str | os.PathLike[str],
    *,
    layer: int = 1,
    in_channel: int = 0,
    max_kernels: int | None = None,
    name: str | None = None,
    dpi: float = DEFAULT_DPI,
) -> Path:
    """Write `kernel_figure` to `out` (PNG, SVG or PDF by its suffix) at `dpi`; returns the path."""
    out = check_figure_path(out)
    return save_figure(kernel_figure(model, layer=layer, in_channel=in_channel, max_kernels=max_kernels, name=name),
                       out, dpi)


def describe(conv: nn.Module, layer: int, in_channel: int) -> str:
    """Figure heading: which layer, kind and input channel."""
    kind: dict[str, Any] = {}
    if isinstance(conv, Conv3dTT):
        kind = {"theta": conv.theta_kind, "warp": conv.warp}
    extra = ", ".join(f"{k} {v}" for k, v in kind.items())
    name = "3DTT" if isinstance(conv, Conv3dTT) else "3D"
    return f"layer {layer} ({name}{', ' + extra if extra else ''}), input channel {in_channel}"
