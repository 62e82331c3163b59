"""The model zoo of section 3.3: LeNet-5-3D, LeNet-5-3DTTN and a LeNet-5-(2+1)D baseline.

One LeNet-5 skeleton (the authors' own, redsphinx/relative-baseline, omg_emotion/models.py); the conv kind
is the only difference between architectures, as in torchvision's video ResNets::

    x (B, 1, 30, 28, 28)
      -> conv 1 -> C1 (t x 5 x 5, padding (t//2, 2, 2)) -> max-pool 2 -> ReLU   (B, C1, 15, 14, 14)
      -> conv C1 -> C2 (t x 5 x 5, no padding)          -> max-pool 2 -> ReLU   (B, C2, 5, 5, 5)
      -> flatten (B, C2*125) -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc 10        logits (B, 10)

ReLU is applied after max-pooling: max-pool and ReLU commute (both monotone), so outputs and gradients
equal those of the paper's conv -> ReLU -> pool, at an eighth of the ReLU work.

Speed (bench/bench_models.py): convolutions run in the ``torch.channels_last_3d`` memory format and
through the CPU routes of `ttn.layers.fast_conv` (the first layer and its max-pool as a 2D convolution over
frame windows, each conv module's ``forward_max_pool``); with `ttn.sharding`'s per-core gradients, training
is 2.2x faster on CPU than the same model in plain NCDHW PyTorch. `build_model` returns a model whose 5D
weights are channels-last and whose forward converts its input, so every path (train, evaluate, sweep)
gets it; after moving a model to another device call `prepare_model(model, device)`.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.errors import TTNError
from ttn.layers import THETA_KINDS, WARP_KINDS, Conv2Plus1d, Conv3d, Conv3dTT
from ttn.layers.memory import to_channels_last_3d

#: The architectures, in display order.
ARCHS: tuple[str, ...] = ("3d", "3dttn", "2plus1d")
#: Names used in the paper and in tables.
ARCH_LABELS: dict[str, str] = {"3d": "LeNet-5-3D", "3dttn": "LeNet-5-3DTTN", "2plus1d": "LeNet-5-(2+1)D"}
#: Spatial kernel size of both convolutions and the sizes of the fully connected layers (the authors' LeNet-5).
SPATIAL_KERNEL = 5
HIDDEN_UNITS: tuple[int, int] = (120, 84)
#: Max-pooling window (and stride) after each convolution.
POOL = 2
#: Defaults of `build_model` (the paper's largest models, videos of 30 frames of 28 x 28 pixels).
DEFAULT_CHANNELS: tuple[int, int] = (18, 28)
DEFAULT_TEMPORAL_KERNEL = 5
DEFAULT_THETA = "similarity"
#: Videos per forward pass on CPU when no gradient is recorded: a larger batch is split. The first layer's output
#: (1.7 MB a video at 18 channels) then stays nearer the cores: evaluation at batch 500 ran 1.2-1.4x faster
#: in chunks of 100 (2 cores, one or two threads, channels (18, 28) and (6, 16)).
INFERENCE_CHUNK = 100
#: The memory format the models run in.
MEMORY_FORMAT = torch.channels_last_3d

#: conv maker: (in_channels, out_channels, kernel_size (t, h, w), padding (t, h, w)) -> module
ConvMaker = Callable[[int, int, tuple[int, int, int], tuple[int, int, int]], nn.Module]


def _conv_maker(arch: str, theta: str, warp: str) -> ConvMaker:
    """The convolution of `arch` as a function of its shape."""
    if arch == "3d":
        return lambda cin, cout, kernel, padding: Conv3d(cin, cout, kernel, padding=padding)
    if arch == "3dttn":
        return lambda cin, cout, kernel, padding: Conv3dTT(cin, cout, kernel, padding=padding, theta=theta, warp=warp)  # type: ignore[arg-type]
    return lambda cin, cout, kernel, padding: Conv2Plus1d(cin, cout, kernel, padding=padding)


class LeNet5(nn.Module):
    """The LeNet-5 video classifier over (B, 1, frames, size, size) float input -> logits (B, num_classes).

    Attributes: ``conv1``, ``conv2`` (the conv kind), ``fc1``, ``fc2``, ``fc3`` (``nn.Linear``),
    ``memory_format`` (the format the input is converted to; ``torch.contiguous_format`` for plain NCDHW).
    """

    def __init__(
        self,
        conv: ConvMaker,
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
        self.conv1 = conv(1, c1, kernel, (temporal_kernel // 2, SPATIAL_KERNEL // 2, SPATIAL_KERNEL // 2))
        self.conv2 = conv(c1, c2, kernel, (0, 0, 0))
        self.feature_shape = feature_shape(frames, size, temporal_kernel)  # (D, H, W) after the second pool
        d, h, w = self.feature_shape
        self.fc1 = nn.Linear(c2 * d * h * w, HIDDEN_UNITS[0])
        self.fc2 = nn.Linear(HIDDEN_UNITS[0], HIDDEN_UNITS[1])
        self.fc3 = nn.Linear(HIDDEN_UNITS[1], num_classes)
        self.memory_format = MEMORY_FORMAT

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) -> (B, C2, D, H', W') after the second pool (in ``self.memory_format``)."""
        x = x.contiguous(memory_format=self.memory_format)
        x = F.relu(self.conv1.forward_max_pool(x, POOL))  # (B, C1, T/2, H/2, W/2)
        return F.relu(self.conv2.forward_max_pool(x, POOL))  # (B, C2, D, H', W')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) float -> logits (B, num_classes); on CPU without autograd in chunks of INFERENCE_CHUNK videos."""
        if not torch.is_grad_enabled() and len(x) > INFERENCE_CHUNK and x.device.type == "cpu":
            return torch.cat([self.logits(chunk) for chunk in x.split(INFERENCE_CHUNK)])
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T, H, W) float -> logits (B, num_classes), the whole batch in one pass."""
        x = self.features(x).flatten(1)  # (B, C2*D*H'*W') in (C, D, H, W) order whatever the memory format
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def feature_shape(frames: int, size: int, temporal_kernel: int) -> tuple[int, int, int]:
    """(D, H, W) of the features after the second pool, for input (frames, size, size)."""
    depth = (frames // POOL - (temporal_kernel - 1)) // POOL
    side = (size // POOL - (SPATIAL_KERNEL - 1)) // POOL
    return depth, side, side


def build_model(
    arch: str,
    *,
    channels: tuple[int, int] | list[int] = DEFAULT_CHANNELS,
    temporal_kernel: int = DEFAULT_TEMPORAL_KERNEL,
    theta: str = DEFAULT_THETA,
    warp: str = "sequential",
    frames: int = 30,
    size: int = 28,
    num_classes: int = 10,
) -> LeNet5:
    """A LeNet-5 of `arch` in ARCHS, ready to train on CPU (channels-last weights, see `prepare_model`).

    `theta` and `warp` apply to "3dttn" only (see `ttn.layers.Conv3dTT`). Raises TTNError on bad options.
    """
    if arch not in ARCHS:
        raise TTNError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    if theta not in THETA_KINDS:
        raise TTNError(f"unknown theta {theta!r}: choose one of {', '.join(THETA_KINDS)}")
    if warp not in WARP_KINDS:
        raise TTNError(f"unknown warp {warp!r}: choose one of {', '.join(WARP_KINDS)}")
    channels = tuple(int(c) for c in channels)
    if len(channels) != 2 or min(channels) < 1:
        raise TTNError(f"channels must be two positive numbers (C1, C2), got {channels}")
    if temporal_kernel < 1 or temporal_kernel % 2 == 0:
        raise TTNError(f"temporal kernel must be a positive odd number, got {temporal_kernel}")
    if min(feature_shape(frames, size, temporal_kernel)) < 1:
        raise TTNError(f"input of {frames} frames of {size}x{size} is too small for LeNet-5 with a temporal kernel of {temporal_kernel}")
    model = LeNet5(
        _conv_maker(arch, theta, warp),
        channels=channels,  # type: ignore[arg-type]
        temporal_kernel=temporal_kernel,
        frames=frames,
        size=size,
        num_classes=num_classes,
    )
    return prepare_model(model)


def prepare_model(model: nn.Module, device: torch.device | str | None = None) -> nn.Module:
    """Move `model` to `device` and put its 5D weights in ``MEMORY_FORMAT``; returns the model (in place).

    `build_model` already calls it; call it again after moving a model by other means. (The input is
    converted in ``LeNet5.forward``.) ``model.to(memory_format=...)`` cannot be used: it rejects the 4D
    ``k0`` of ``Conv3dTT``.
    """
    if device is not None:
        model.to(device)
    channels_last = getattr(model, "memory_format", MEMORY_FORMAT) == torch.channels_last_3d
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 5:
                parameter.data = (
                    to_channels_last_3d(parameter.data) if channels_last
                    else parameter.data.clone(memory_format=torch.contiguous_format)
                )
    return model


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
