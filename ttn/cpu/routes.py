"""Which route a 3D convolution takes on CPU: ``F.conv3d`` in channels-last-3d, or a frame-window
formulation of `ttn.cpu.frame_conv` where it measured faster (oneDNN, AVX-512; figures in docs/method.md,
"Speed on CPU", printed by bench/bench_models.py).

- One input channel (LeNet-5's first layer): `conv3d_by_frames`, faster than ``F.conv3d``; slower for many
  input channels or for a (1, k, k) kernel.
- The same followed by max-pooling (`conv3d_max_pool`): oneDNN's kernels put 16 output channels in one
  AVX-512 register, so 18 channels cost as much as 32. Packing 2 output frames as 36 channels
  (`conv3d_max_pool_packed`) fills the registers better. `packing_pays` decides from a cost model of
  that blocking.
- Several input channels whose count leaves a small remainder in those blocks (18 = 16 + 2):
  ``F.conv3d``'s data gradient costs about twice its forward; taken by frames (`conv3d_frames_input_grad`)
  it costs less. For 16 or 12 channels it is slower, hence `frames_input_grad_pays`.
- A kernel that mixes frames only, (kT, 1, 1) (the (2+1)D temporal convolution): a 2D convolution with a
  (kT, 1) kernel over (T, H*W) (`temporal_conv3d_as_2d`), which PyTorch never sends to its slow
  single-threaded path for 1x1 kernels.

Everything equals ``F.conv3d`` and its gradients up to float rounding; CUDA always takes ``F.conv3d``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ttn.cpu.frame_conv import conv3d_by_frames, conv3d_frames_input_grad, conv3d_max_pool_packed
from ttn.cpu.memory import to_channels_last_3d
from ttn.cpu.pooling import max_pool3d, needs_autograd


def vector_lanes() -> int:
    """float32 lanes of the widest SIMD register torch's CPU kernels use here (16 with AVX-512, else 8)."""
    return 16 if torch.backends.cpu.get_cpu_capability().startswith("AVX512") else 8


def packing_pays(out_channels: int, kernel_t: int, out_frames: int, pool: int, lanes: int | None = None) -> bool:
    """Whether `conv3d_max_pool_packed` (m = `pool` frames packed as channels) beats conv then pool.

    oneDNN's direct convolutions vectorize over output channels in blocks of `lanes`; per output position
    they cost about (register blocks) x (input channels) x (spatial taps). Packing m frames gives m*O
    channels over kT + m - 1 input frames at 1/m of the positions: a cost per output frame of
    ``ceil(m*O / lanes) * (kT + m - 1) / m`` against ``ceil(O / lanes) * kT``. Also needs `out_frames`
    divisible by m, so that no pooling window straddles two packed windows.
    """
    lanes = lanes or vector_lanes()
    if pool < 2 or out_frames % pool:
        return False
    packed = math.ceil(pool * out_channels / lanes) * (kernel_t + pool - 1) / pool
    return packed < math.ceil(out_channels / lanes) * kernel_t


def frames_input_grad_pays(in_channels: int, lanes: int | None = None) -> bool:
    """Whether `conv3d_frames_input_grad` beats ``F.conv3d``'s own data gradient: when the input channels
    leave a remainder of at most half a register block (18, 6, 4 channels on AVX-512; not 16 or 12)."""
    lanes = lanes or vector_lanes()
    return 0 < in_channels % lanes <= lanes // 2


def _ungrouped_on_cpu(x: torch.Tensor, padding: tuple[int, int, int] | str, dilation: tuple[int, int, int], groups: int) -> bool:
    """What every route here needs: CPU, no groups or dilation, numeric padding."""
    return groups == 1 and not isinstance(padding, str) and tuple(dilation) == (1, 1, 1) and x.device.type == "cpu"


def _frames_apply(weight: torch.Tensor, stride: tuple[int, int, int]) -> bool:
    """Whether the frame routes apply to an `_ungrouped_on_cpu` convolution: stride 1 and kT > 1."""
    return weight.shape[2] > 1 and tuple(stride) == (1, 1, 1)


def _temporal_only(weight: torch.Tensor, stride: tuple[int, int, int], padding: tuple[int, int, int]) -> bool:
    """Whether an `_ungrouped_on_cpu` convolution mixes frames only: a (kT, 1, 1) kernel, no spatial stride
    or padding."""
    return weight.shape[3:] == (1, 1) and tuple(padding[1:]) == (0, 0) and tuple(stride[1:]) == (1, 1)


def temporal_conv3d_as_2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride_t: int, pad_t: int) -> torch.Tensor:
    """``F.conv3d`` with a (kT, 1, 1) kernel as a 2D convolution over (T, H*W), views in and out.

    x (B, C, T, H, W) channels-last-3d, weight (O, C, kT, 1, 1) -> (B, O, T', H, W) channels-last-3d.
    PyTorch sends a convolution whose kernel is 1x1 in its last two dimensions to a slow non-oneDNN
    kernel when it runs single-threaded at a batch below 16 (as `ttn.cpu.sharding` shards do): the (2+1)D
    model's temporal convolution then took twice as long for its backward. A (kT, 1) 2D kernel
    avoids that rule and computes the same thing.
    """
    height, width = x.shape[3:]
    out = F.conv2d(x.flatten(3), weight.flatten(3), bias, stride=(stride_t, 1), padding=(pad_t, 0))  # (B, O, T', H*W)
    return out.unflatten(3, (height, width))


def conv3d_max_pool(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int, int],
    padding: tuple[int, int, int] | str,
    dilation: tuple[int, int, int],
    groups: int,
    pool: int,
) -> torch.Tensor:
    """``F.max_pool3d(F.conv3d(x, weight, bias, stride, padding, dilation, groups), pool)``, through
    `conv3d_max_pool_packed` where `packing_pays`, else `conv3d` then pooling."""
    if weight.shape[1] == 1 and _ungrouped_on_cpu(x, padding, dilation, groups) and _frames_apply(weight, stride):
        out_frames = x.shape[2] + 2 * padding[0] - weight.shape[2] + 1  # type: ignore[index]
        if packing_pays(weight.shape[0], weight.shape[2], out_frames, pool):
            return conv3d_max_pool_packed(x, weight, bias, tuple(padding), pool)  # type: ignore[arg-type]
    return max_pool3d(conv3d(x, weight, bias, stride, padding, dilation, groups), pool)


def conv3d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int, int],
    padding: tuple[int, int, int] | str,
    dilation: tuple[int, int, int],
    groups: int,
) -> torch.Tensor:
    """``F.conv3d`` with the same arguments, taking a frame route where it is faster (module doc)."""
    routes = _ungrouped_on_cpu(x, padding, dilation, groups)
    frame_routes = routes and _frames_apply(weight, stride)
    if frame_routes and weight.shape[1] == 1:
        return conv3d_by_frames(x, weight, bias, tuple(padding))  # type: ignore[arg-type]
    if x.is_contiguous(memory_format=torch.channels_last_3d):
        weight = to_channels_last_3d(weight)  # oneDNN picks the format from the input's and the weight's strides
        if routes and _temporal_only(weight, stride, padding):  # type: ignore[arg-type]
            return temporal_conv3d_as_2d(x, weight, bias, stride[0], padding[0])  # type: ignore[index]
        if (
            frame_routes
            and needs_autograd(x)
            and weight.shape[3] * weight.shape[4] > 1
            and not any(padding)  # type: ignore[arg-type]
            and frames_input_grad_pays(weight.shape[1])
        ):
            return conv3d_frames_input_grad(x, weight, bias)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)

