"""Transforms of Video-MNIST videos, for ``VideoMNIST(..., transform=...)`` and torchvision's video models.

A `VideoMNIST` item's video is float32 (1, T, H, W) in [0, 1] (channels first: C, T, H, W). torchvision's video
ResNets (``r3d_18``, ``mc3_18``, ``r2plus1d_18``) take (B, 3, T, H, W) clips normalized with the Kinetics-400 mean
and std, on 112x112 frames when pretrained weights are used. `for_video_resnet` is that chain::

    (1, T, 28, 28) --RepeatChannels(3)--> (3, T, 28, 28) --Resize(112)--> (3, T, 112, 112)
                   --Normalize(KINETICS_MEAN, KINETICS_STD)--> (3, T, 112, 112), per-channel standardized

Every transform is an ``nn.Module`` taking a video in the channels-first layout (C, T, H, W), or a batch of them
(B, C, T, H, W): channels are dimension -4. `TimeFirst` / `ChannelsFirst` swap to and from the (T, C, H, W)
layout that torchvision.transforms.v2 and PyTorchVideo's frame transforms use. `Compose` chains them (an
``nn.Sequential``); transforms pickle, so they work in DataLoader worker processes.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: The mean and std per RGB channel that torchvision's video models were trained with (Kinetics-400, values
#: in [0, 1]); the same for r3d_18, mc3_18 and r2plus1d_18.
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
#: Frame size of torchvision's pretrained video ResNets.
VIDEO_RESNET_SIZE = 112

__all__ = ["ChannelsFirst", "Compose", "KINETICS_MEAN", "KINETICS_STD", "Normalize", "RepeatChannels", "Resize",
           "TimeFirst", "ToFloat", "VIDEO_RESNET_SIZE", "for_video_resnet"]


def _check_video(video: torch.Tensor, name: str) -> None:
    """ValueError unless `video` has the (C, T, H, W) or (B, C, T, H, W) dimensions every transform expects."""
    if video.dim() not in (4, 5):
        raise ValueError(f"{name} expects a video (C, T, H, W) or a batch (B, C, T, H, W), got shape {tuple(video.shape)}")


class Compose(nn.Sequential):
    """Apply `transforms` in order, like torchvision's ``Compose`` (an ``nn.Sequential`` of them)."""

    def __init__(self, transforms: Sequence[nn.Module]):
        super().__init__(*transforms)


class ToFloat(nn.Module):
    """uint8 grey levels 0..255 -> float32 in [0, 1] (any shape); a floating-point tensor passes unchanged.

    For videos from `vmnist.load_split` (uint8 (N, T, H, W)); `VideoMNIST` items are float already.
    """

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.is_floating_point():
            return video
        return video.float().div_(255.0)


class RepeatChannels(nn.Module):
    """(1, T, H, W) -> (`channels`, T, H, W) (or batched), the grey channel copied: what RGB models take."""

    def __init__(self, channels: int = 3):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.channels = channels

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video, type(self).__name__)
        if video.shape[-4] != 1:
            raise ValueError(f"RepeatChannels expects one channel at dimension -4, got shape {tuple(video.shape)}")
        repeats = [1] * video.dim()
        repeats[-4] = self.channels
        return video.repeat(repeats)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class Resize(nn.Module):
    """Every frame resized to `size` (an int: square; or (height, width)): (..., T, H, W) -> (..., T, h, w).

    Bilinear, with anti-aliasing when shrinking (``F.interpolate(antialias=True)``, as torchvision's tensor
    ``Resize``). A uint8 video is resized in float and rounded back to uint8.
    """

    def __init__(self, size: int | tuple[int, int]):
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {size!r}")

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video, type(self).__name__)
        frames = video.reshape(-1, 1, *video.shape[-2:])  # (B*C*T, 1, H, W): each frame on its own
        resized = F.interpolate(frames if frames.is_floating_point() else frames.float(), size=self.size,
                                mode="bilinear", align_corners=False, antialias=True)
        if not video.is_floating_point():
            resized = resized.round_().clamp_(0, 255).to(video.dtype)
        return resized.reshape(*video.shape[:-2], *self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class Normalize(nn.Module):
    """(video - mean) / std per channel (dimension -4) of a float video (C, T, H, W) or batch (B, C, T, H, W).

    `mean`, `std`: one value per channel (or one value for all).
    """

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float):
        super().__init__()
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1, 1)  # (C or 1, 1, 1, 1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1, 1)
        if (std_t <= 0).any():
            raise ValueError(f"std must be positive, got {std!r}")
        self.register_buffer("mean", mean_t, persistent=False)
        self.register_buffer("std", std_t, persistent=False)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video, type(self).__name__)
        if not video.is_floating_point():
            raise ValueError("Normalize expects a float video; put ToFloat() before it")
        if self.mean.shape[0] not in (1, video.shape[-4]):
            raise ValueError(f"Normalize has {self.mean.shape[0]} channel values for a video of {video.shape[-4]} "
                             f"channels (shape {tuple(video.shape)}); put RepeatChannels before it")
        return (video - self.mean.to(video)) / self.std.to(video)

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class _SwapTimeAndChannels(nn.Module):
    """Dimensions -4 and -3 swapped, in a contiguous copy."""

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        _check_video(video, type(self).__name__)
        return video.transpose(-4, -3).contiguous()


class TimeFirst(_SwapTimeAndChannels):
    """(C, T, H, W) -> (T, C, H, W), or (B, C, T, H, W) -> (B, T, C, H, W): torchvision.transforms.v2's video layout."""


class ChannelsFirst(_SwapTimeAndChannels):
    """(T, C, H, W) -> (C, T, H, W), or batched: the layout of torchvision's video models and of `VideoMNIST`."""


def for_video_resnet(size: int = VIDEO_RESNET_SIZE) -> Compose:
    """(1, T, H, W) in [0, 1] -> float32 (3, T, size, size) as torchvision's video ResNets take it.

    Repeat the grey channel to RGB, resize the frames to `size` x `size` (112: the pretrained models' size) and
    normalize with the Kinetics-400 mean and std.
    """
    return Compose([RepeatChannels(3), Resize(size), Normalize(KINETICS_MEAN, KINETICS_STD)])
