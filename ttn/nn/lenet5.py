"""The model zoo of section 3.3: LeNet-5-3D, LeNet-5-3DTTN and a LeNet-5-(2+1)D baseline.

One LeNet-5 skeleton (the authors' own, redsphinx/relative-baseline, omg_emotion/models.py); the conv kind
is the only difference between architectures, as in torchvision's video ResNets (`CONV_MAKERS`)::

    x (B, 1, 30, 28, 28)
      -> conv 1 -> C1 (t x 5 x 5, padding (t//2, 2, 2)) -> ReLU -> max-pool 2   (B, C1, 15, 14, 14)
      -> conv C1 -> C2 (t x 5 x 5, no padding)          -> ReLU -> max-pool 2   (B, C2, 5, 5, 5)
      -> flatten (B, C2*125) -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc 10        logits (B, 10)

The forward is plain PyTorch, with one switch (`LeNet5.set_cpu_routes`, read from ``TTN_CPU_ROUTES`` by
`build_model`, as timm's layers read ``use_fused_attn()``): on CPU tensors each conv + max-pool then runs through
the routes of `ttn.cpu` (`ttn.nn.cpu_routes`) in channels-last-3d memory, pooling before the ReLU (both are
monotone, so they commute: equal outputs and gradients at an eighth of the ReLU work).
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu.memory import to_channels_last_3d
from ttn.cpu.switch import routes_enabled
from ttn.errors import TTNError
from ttn.nn.conv2plus1d import Conv2Plus1d
from ttn.nn.conv3d_tt import Conv3dTT
from ttn.nn.cpu_routes import conv_max_pool
from ttn.nn.init import initialize
from ttn.registry import (ARCHS, DEFAULT_CHANNELS, DEFAULT_INIT, DEFAULT_TEMPORAL_KERNEL, DEFAULT_THETA, NUM_CLASSES,
                          WARP_KINDS, check_arch, check_channels, check_choice, check_temporal_kernel, check_theta)

#: Spatial kernel size of both convolutions and the sizes of the fully connected layers (the authors' LeNet-5).
SPATIAL_KERNEL = 5
HIDDEN_UNITS: tuple[int, int] = (120, 84)
#: Max-pooling window (and stride) after each convolution.
POOL = 2
#: The video size `build_model` expects by default (Video-MNIST: 30 frames of 28 x 28 pixels); its other defaults
#: are the registry's (`ttn.registry.DEFAULT_CHANNELS`, ...), shared with the training config.
DEFAULT_FRAMES, DEFAULT_SIZE = 30, 28

#: The architectures: each is LeNet-5 with this convolution, made as ``conv(in_channels, out_channels, kernel_size,
#: padding=...)`` (torchvision's video ResNets pass their conv maker the same way); a 3DTT layer also takes the
#: transform options of `build_model` (theta, warp).
CONV_MAKERS: dict[str, Callable[..., nn.Module]] = {"3d": nn.Conv3d, "3dttn": Conv3dTT, "2plus1d": Conv2Plus1d}
assert tuple(CONV_MAKERS) == ARCHS, "ttn.registry.ARCHS and CONV_MAKERS must name the same architectures"


class LeNet5(nn.Module):
    """The LeNet-5 video classifier over (B, 1, frames, size, size) float input -> logits (B, num_classes).

    Attributes: ``conv1``, ``conv2`` (the conv kind), ``fc1``, ``fc2``, ``fc3`` (``nn.Linear``),
    ``feature_shape`` (D, H, W) of the features after the second pool, ``cpu_routes`` (the switch of
    `set_cpu_routes`; off for a model made directly, on for one of `build_model` unless ``TTN_CPU_ROUTES=0``).
    """

    def __init__(
        self,
        conv: Callable[..., nn.Module],
        *,
        channels: tuple[int, int],
        temporal_kernel: int,
        frames: int,
        size: int,
        num_classes: int,
    ) -> None:
        super().__init__()
        c1, c2 = channels
        kernel = (temporal_kernel, SPATIAL_KERNEL, SPATIAL_KERNEL)
        self.conv1 = conv(1, c1, kernel, padding=(temporal_kernel // 2, SPATIAL_KERNEL // 2, SPATIAL_KERNEL // 2))
        self.conv2 = conv(c1, c2, kernel, padding=(0, 0, 0))
        self.feature_shape = feature_shape(frames, size, temporal_kernel)
        d, h, w = self.feature_shape
        self.fc1 = nn.Linear(c2 * d * h * w, HIDDEN_UNITS[0])
        self.fc2 = nn.Linear(HIDDEN_UNITS[0], HIDDEN_UNITS[1])
        self.fc3 = nn.Linear(HIDDEN_UNITS[1], num_classes)
        self.cpu_routes = False

    def set_cpu_routes(self, enabled: bool) -> LeNet5:
        """Switch the CPU routes on or off; returns the model. Its 5D weights are stored channels-last-3d when on
        (oneDNN picks its format from the strides), contiguous when off: in place, values and state dict unchanged."""
        self.cpu_routes = enabled
        with torch.no_grad():
            for parameter in self.parameters():
                if parameter.dim() == 5:
                    parameter.data = (to_channels_last_3d(parameter.data) if enabled
                                      else parameter.data.clone(memory_format=torch.contiguous_format))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) float -> logits (B, num_classes)."""
        fast = self.cpu_routes and x.device.type == "cpu"
        if fast:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        x = self.conv_relu_pool(self.conv1, x, fast)  # (B, C1, T/2, H/2, W/2)
        x = self.conv_relu_pool(self.conv2, x, fast)  # (B, C2, D, H', W')
        return self.classify(x.flatten(1))  # flatten reads (C, D, H, W) order whatever the memory format

    @staticmethod
    def conv_relu_pool(conv: nn.Module, x: torch.Tensor, fast: bool) -> torch.Tensor:
        """conv -> ReLU -> max-pool: (B, C, T, H, W) -> (B, C', T'/2, H'/2, W'/2); `fast`: through the CPU routes
        (x channels-last-3d), pooling first."""
        if fast:
            return F.relu(conv_max_pool(conv, x, POOL))
        return F.max_pool3d(F.relu(conv(x)), POOL)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """The fully connected head: features (B, C2*D*H'*W') in (C, D, H, W) order -> logits (B, num_classes)."""
        x = F.relu(self.fc1(features))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def feature_shape(frames: int, size: int, temporal_kernel: int) -> tuple[int, int, int]:
    """(D, H, W) of the features after the second pool, for input (frames, size, size)."""
    depth = (frames // POOL - (temporal_kernel - 1)) // POOL
    side = (size // POOL - (SPATIAL_KERNEL - 1)) // POOL
    return depth, side, side


def check_input_fits(frames: int, size: int, temporal_kernel: int) -> None:
    """TTNError unless videos of `frames` frames of `size` x `size` leave features after LeNet-5's second pool with a
    temporal kernel of `temporal_kernel` frames."""
    if min(feature_shape(frames, size, temporal_kernel)) < 1:
        raise TTNError(f"input of {frames} frames of {size}x{size} is too small for LeNet-5 with a temporal kernel of "
                       f"{temporal_kernel}")


def build_model(
    arch: str,
    *,
    channels: tuple[int, int] | list[int] = DEFAULT_CHANNELS,
    temporal_kernel: int = DEFAULT_TEMPORAL_KERNEL,
    theta: str = DEFAULT_THETA,
    warp: str = "sequential",
    freeze_transforms: bool = False,
    init: str = DEFAULT_INIT,
    init_scale: float = 1.0,
    frames: int = DEFAULT_FRAMES,
    size: int = DEFAULT_SIZE,
    num_classes: int = NUM_CLASSES,
) -> LeNet5:
    """A LeNet-5 of `arch` in ARCHS (plain PyTorch, default memory format).

    `theta`, `warp` and `freeze_transforms` (identity transforms, never trained: K0 repeated over time)
    apply to "3dttn" only (see `ttn.nn.Conv3dTT`). `init` and `init_scale` say how every convolution starts
    (`ttn.nn.init`: "default", "he", "normal", "tied"; checked there), for every arch. Raises TTNError on bad options.
    """
    check_arch(arch)
    check_theta(theta)
    check_choice(warp, WARP_KINDS, "warp")
    channels = check_channels(channels, "channels")
    check_temporal_kernel(temporal_kernel, "temporal kernel")
    check_input_fits(frames, size, temporal_kernel)
    if freeze_transforms and arch != "3dttn":
        raise TTNError(f"--freeze-transforms applies to 3dttn only, not to {arch}")
    conv = CONV_MAKERS[arch]
    if arch == "3dttn":
        conv = functools.partial(conv, theta=theta, warp=warp)  # how its kernel is built from K0
    model = LeNet5(
        conv,
        channels=channels,  # type: ignore[arg-type]
        temporal_kernel=temporal_kernel,
        frames=frames,
        size=size,
        num_classes=num_classes,
    )
    initialize(model, init, init_scale)  # after construction: the draws of the layers as built come first
    if freeze_transforms:
        for conv in (model.conv1, model.conv2):
            conv.freeze_transforms()
    return model.set_cpu_routes(routes_enabled())


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (biases included, as in the paper's Table 2)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_layers(model: LeNet5) -> str:
    """A short description of the layers, e.g. "3DTT 1->18 | 3DTT 18->28 | FC 3500->120->84->10"."""
    parts = []
    for conv in (model.conv1, model.conv2):
        if isinstance(conv, Conv3dTT):
            parts.append(f"3DTT {conv.in_channels}->{conv.out_channels}")
        elif isinstance(conv, Conv2Plus1d):
            parts.append(f"(2+1)D {conv.spatial.in_channels}->{conv.mid_channels}->{conv.temporal.out_channels}")
        else:
            parts.append(f"3D {conv.in_channels}->{conv.out_channels}")
    fcs = (model.fc1, model.fc2, model.fc3)
    parts.append("FC " + "->".join(str(n) for n in [fcs[0].in_features] + [fc.out_features for fc in fcs]))
    return " | ".join(parts)
