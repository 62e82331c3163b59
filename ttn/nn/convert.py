"""3DTT for any 3D CNN: replace a model's ``nn.Conv3d`` layers by `Conv3dTT` (Ras et al., 2019, section 3.1).

The paper closes by asking where temporally factorized kernels pay off beyond LeNet-5 on Video-MNIST; this
module drops the layer into a network one already uses::

    model --copy (unless inplace=True)--named_modules--> every nn.Conv3d --include / exclude (module names)--> selected
      selected and eligible:  Conv3dTT.from_conv3d(conv, theta, init) takes its place in the parent module
      otherwise:              left alone, with the reason
    -> (converted model, ConversionSummary: per layer, kernel and parameters before / after)

Eligible: a kernel with more than one frame (T > 1) and slices larger than 1x1. A (1, k, k) conv has no
time to factorize. A (t, 1, 1) conv (the temporal half of a (2+1)D block) has 1x1 slices, on which a
transform cannot act (``align_corners=True`` maps every sample point onto the one pixel): its 3DTT version
would repeat K0 over time, a temporal box filter, so it is left alone too.

A converted layer keeps the conv's hyper-parameters and replaces its weight (O, I/g, T, H, W) by K0
(O, I/g, H, W) and the transforms: O*(T-1)*6 (affine), O*(T-1)*4 (similarity) or O*4 (shared) parameters.
Its forward is plain ``F.conv3d`` with the built kernel (the CPU routes run inside `ttn.nn.LeNet5` only).

``init="first_slice"`` (the default) starts K0 from the conv's slice t = 0 rather than, say, its slice of
largest norm: K0 is the first slice in the paper's eq. 1 and later slices are warped from it, so a trained
conv's first slice is what a 3DTT layer trained from scratch would have learned in that place. With the
identity transforms of the start every built slice equals it: exactly for 3x3 and 5x5 slices (their sampling
grid is exact in float), up to one float rounding (~1e-7 relative in float32) for others such as 7x7.
``"mean_slice"`` takes the mean of the T slices instead: the temporally constant kernel nearest to the
weight (least squares), which answers a static input as the conv did.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Sequence

import torch
from torch import nn

from ttn.errors import TTNError, first_line
from ttn.nn.conv3d_tt import Conv3dTT
from ttn.registry import CONVERT_INITS, VIDEO_MODELS, VISION_INSTALL_HINT, check_choice, check_theta


def ineligible_reason(conv: nn.Conv3d) -> str:
    """Why `conv` is not converted ("" if it is eligible): a temporal kernel of 1 or 1x1 slices."""
    frames, height, width = conv.kernel_size
    if frames == 1:
        return "temporal kernel 1"
    if height == width == 1:
        return "1x1 slices (a transform cannot act on them)"
    return ""


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of `module` (buffers such as batch-norm statistics are not parameters)."""
    return sum(p.numel() for p in module.parameters())


@dataclass(frozen=True)
class LayerConversion:
    """One ``nn.Conv3d`` of the model: what became of it."""

    name: str  # dotted module name, e.g. "layer1.0.conv1.0"
    kernel_size: tuple[int, int, int]  # (T, H, W)
    in_channels: int
    out_channels: int
    params_before: int  # weight + bias
    params_after: int  # K0 + transforms + bias if converted, else params_before
    converted: bool
    reason: str = ""  # why it was left alone: "temporal kernel 1", "excluded", ...


@dataclass(frozen=True)
class ConversionSummary:
    """What `convert_model` did: every Conv3d in module order and the model's parameters before and after."""

    theta: str
    init: str
    layers: list[LayerConversion] = field(default_factory=list)
    params_before: int = 0  # whole model
    params_after: int = 0

    @property
    def converted(self) -> list[LayerConversion]:
        """The layers that became Conv3dTT."""
        return [layer for layer in self.layers if layer.converted]


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether module `name` matches a glob pattern (``fnmatch``, case-sensitive) or lies under a matching module:
    "layer1" matches "layer1" and "layer1.0.conv1.0"; "layer*.0.*" matches "layer2.0.conv1.0"."""
    return any(fnmatchcase(name, pattern) or fnmatchcase(name, pattern + ".*") for pattern in patterns)


def _check_patterns(patterns: Sequence[str], names: list[str], what: str) -> None:
    """TTNError naming `what` if a pattern matches none of the Conv3d `names` (a typo would convert nothing)."""
    for pattern in patterns:
        if not any(matches(name, [pattern]) for name in names):
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise TTNError(f"{what} {pattern!r} matches no Conv3d of the model: its Conv3d layers are {shown or 'none'}")


def selection_reason(name: str, include: Sequence[str] | None, exclude: Sequence[str]) -> str:
    """Why module `name` is filtered out ("" if selected): not matched by `include`, or matched by `exclude`."""
    if include is not None and not matches(name, include):
        return "not included"
    if matches(name, exclude):
        return "excluded"
    return ""


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put `module` at dotted `name` in `model` (its parent's attribute; Sequential indices included)."""
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name), child, module)


def convert_model(
    model: nn.Module,
    *,
    theta: str = "similarity",
    init: str = "first_slice",
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    inplace: bool = False,
    **options: bool | float | str | None,
) -> tuple[nn.Module, ConversionSummary]:
    """A copy of `model` with every eligible, selected ``nn.Conv3d`` replaced by ``Conv3dTT.from_conv3d(conv, theta,
    init, **options)``; returns (converted model, summary). Shapes of every output stay as they were.

    Like torch's conversion functions (``torch.ao.quantization.convert``, ``fuse_modules``), `model` itself is left
    as it was unless ``inplace=True``, which converts it in place (no copy: less memory) and returns it.
    `include` / `exclude`: module-name patterns (see `matches`); a layer is selected if `include` is None or
    one of its patterns matches, and no `exclude` pattern matches. A pattern matching no Conv3d raises TTNError,
    as does a selected, eligible conv with a non-zero padding mode (in place, the layers before it are then
    converted already). Forward hooks on a replaced conv are not carried over.
    """
    check_theta(theta)
    check_choice(init, CONVERT_INITS, "init")
    exclude = list(exclude or [])
    if not inplace:
        model = copy.deepcopy(model)
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv3d)]
    names = [name for name, _ in convs]
    _check_patterns(include or [], names, "include pattern")
    _check_patterns(exclude, names, "exclude pattern")
    params_before = parameter_count(model)
    layers = []
    for name, conv in convs:
        reason = ineligible_reason(conv) or selection_reason(name, include, exclude)
        after = conv
        if not reason:
            try:
                after = Conv3dTT.from_conv3d(conv, theta=theta, init=init, **options)  # type: ignore[arg-type]
            except TTNError as exc:
                raise TTNError(f"Conv3d {name!r}: {exc}") from None
            _set_submodule(model, name, after)
        layers.append(LayerConversion(name, tuple(conv.kernel_size), conv.in_channels, conv.out_channels,  # type: ignore[arg-type]
                                      parameter_count(conv), parameter_count(after), not reason, reason))
    summary = ConversionSummary(theta, init, layers, params_before, parameter_count(model))
    return model, summary


def video_model(name: str) -> nn.Module:
    """torchvision's video ResNet `name` (one of VIDEO_MODELS), randomly initialized (no weights are downloaded).

    Input (B, 3, T, H, W) -> logits (B, 400). Raises TTNError with the install hint when torchvision is missing
    or fails to import (a torchvision built for another torch does: "operator torchvision::nms does not exist").
    """
    check_choice(name, VIDEO_MODELS, "video model")
    try:
        from torchvision.models import video
    except Exception as exc:  # noqa: BLE001 (ImportError if missing; RuntimeError, OSError if built for another torch)
        problem = "is not installed" if isinstance(exc, ModuleNotFoundError) else f"fails to import ({first_line(exc, typed=True)})"
        raise TTNError(f"{name} needs torchvision, which {problem}: {VISION_INSTALL_HINT}") from None
    return getattr(video, name)(weights=None)
