"""The (2+1)D convolution of Tran et al., 2018 ("A closer look at spatiotemporal convolutions", ref. [13]).

A t x d x d 3D convolution is replaced by a 1 x d x d spatial convolution into M channels, a ReLU, and a
t x 1 x 1 temporal convolution; M is chosen so that the parameter count roughly matches the 3D one::

    x (B, N_in, D, H, W) --spatial (1, d, d)--> (B, M, D, H', W') --ReLU--> --temporal (t, 1, 1)--> (B, N_out, ...)
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.utils import _triple



def tran_intermediate_channels(in_channels: int, out_channels: int, kernel_size: tuple[int, int, int]) -> int:
    """Tran et al.'s M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i)) for a (t, d, d) kernel."""
    frames, height, width = kernel_size
    spatial = height * width
    return max(1, (frames * spatial * in_channels * out_channels) // (spatial * in_channels + frames * out_channels))


class Conv2Plus1d(nn.Module):
    """Spatial (1, H, W) conv -> ReLU -> temporal (T, 1, 1) conv, a drop-in for a (T, H, W) ``nn.Conv3d``.

    Args:
        in_channels, out_channels, kernel_size (T, H, W), stride, padding, bias: as in ``nn.Conv3d``;
            the spatial part takes the (H, W) stride and padding, the temporal part the T ones.
        mid_channels: the intermediate width M; default Tran et al.'s parameter-matching formula.

    Shapes: (B, N_in, D, H', W') -> (B, N_out, D_out, H_out, W_out) as the 3D convolution it replaces.
    Both convolutions are ``nn.Conv3d`` with PyTorch's default (Kaiming-uniform) initialization.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] = 0,
        bias: bool = True,
        *,
        mid_channels: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        frames, height, width = _triple(kernel_size)
        stride_t, stride_h, stride_w = _triple(stride)
        pad_t, pad_h, pad_w = _triple(padding)
        self.mid_channels = mid_channels or tran_intermediate_channels(in_channels, out_channels, (frames, height, width))
        factory = {"device": device, "dtype": dtype}
        self.spatial = nn.Conv3d(
            in_channels, self.mid_channels, (1, height, width), (1, stride_h, stride_w), (0, pad_h, pad_w),
            bias=bias, **factory,
        )
        self.relu = nn.ReLU(inplace=True)
        self.temporal = nn.Conv3d(
            self.mid_channels, out_channels, (frames, 1, 1), (stride_t, 1, 1), (pad_t, 0, 0), bias=bias, **factory
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N_in, D, H, W) -> (B, N_out, D', H', W')."""
        return self.temporal(self.relu(self.spatial(x)))
