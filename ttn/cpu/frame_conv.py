"""3D convolutions of stride 1 computed as 2D convolutions over frame windows (CPU speed routes).

``conv3d(x, w)`` with stride 1 equals a 2D convolution of the frame windows: output frame t is
``sum_dt conv2d(x[:, :, t + dt], w[:, :, dt])``, i.e. one ``conv2d`` over inputs of kT*C channels
(channel dt*C + c holds x[:, c, t + dt]) with the weight reshaped to (O, kT*C, kH, kW)::

    x (B, C, T, H, W) channels-last --pad T, unfold T--> (B*T', kT*C, H, W) channels-last
        --conv2d--> (B*T', O, H', W') channels-last --view--> (B, O, T', H', W') channels-last-3d

Three uses, each chosen by `ttn.cpu.routes` where it measured faster; all equal ``F.conv3d`` (and
its gradients) up to float rounding:

- `conv3d_by_frames`: the forward above, for one input channel (LeNet-5's first layer).
- `conv3d_max_pool_packed`: the same followed by max-pooling, with m = pool consecutive output frames
  packed as m*O channels: one 2D convolution over windows of kT + m - 1 frames taken every m frames,
  weight channel tau*O + o holding w[o] at taps tau..tau+kT-1 (`packed_frame_weight`). The pooling then
  runs on a view of the packed output.
- `conv3d_frames_input_grad`: ``F.conv3d`` whose input gradient is the data gradient of the 2D
  convolution above, folded back over the kT overlapping windows (the weight gradient stays 3D).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx

from ttn.cpu.pooling import max_of_slices, needs_autograd


def frame_windows(x: torch.Tensor, pad_t: int, size: int, step: int) -> torch.Tensor:
    """Windows of `size` frames every `step` frames, as 2D channels.

    x (B, C, T, H, W) -> (B*N, size*C, H, W) in channels-last memory (channel j*C + c holds frame
    n*step + j of x padded with `pad_t` zero frames at both ends): one copy, as the windows overlap.
    """
    batch, channels, _, height, width = x.shape
    frames = x.permute(0, 2, 3, 4, 1)  # (B, T, H, W, C)
    if pad_t:
        frames = F.pad(frames, (0, 0, 0, 0, 0, 0, pad_t, pad_t))
    windows = frames.unfold(1, size, step).transpose(-1, -2)  # (B, N, H, W, size, C)
    count = windows.shape[1]
    return windows.reshape(batch * count, height, width, size * channels).permute(0, 3, 1, 2)


def frames_to_volume(out: torch.Tensor, batch: int) -> torch.Tensor:
    """(B*T', O, H', W') channels-last -> (B, O, T', H', W') channels-last-3d, a view of the same memory."""
    return out.unflatten(0, (batch, -1)).transpose(1, 2)


def conv3d_by_frames(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: tuple[int, int, int]) -> torch.Tensor:
    """``F.conv3d(x, weight, bias, padding=padding)`` (stride 1, dilation 1, groups 1) as one conv2d.

    x (B, C, T, H, W), weight (O, C, kT, kH, kW) -> (B, O, T', H', W') in channels-last-3d memory.
    """
    pad_t, pad_h, pad_w = padding
    windows = frame_windows(x, pad_t, weight.shape[2], 1)  # (B*T', kT*C, H, W)
    out = F.conv2d(windows, frames_weight(weight), bias, padding=(pad_h, pad_w))
    # no copy unless conv2d chose NCHW (kT*C = 1)
    return frames_to_volume(out, x.shape[0]).contiguous(memory_format=torch.channels_last_3d)


def frames_weight(weight: torch.Tensor) -> torch.Tensor:
    """(O, C, kT, kH, kW) -> (O, kT*C, kH, kW) channels-last, channel dt*C + c: the weight of the 2D
    convolution over frame windows (`frame_windows` with size kT)."""
    out_channels, channels, k_t, k_h, k_w = weight.shape
    weight_2d = weight.transpose(1, 2).reshape(out_channels, k_t * channels, k_h, k_w)
    return weight_2d.contiguous(memory_format=torch.channels_last)


def packed_frame_weight(weight: torch.Tensor, frames: int) -> torch.Tensor:
    """(O, 1, kT, kH, kW) -> (m*O, kT+m-1, kH, kW) for m = `frames`: channel tau*O + o holds w[o] at taps tau..tau+kT-1."""
    shifted = [F.pad(weight[:, 0], (0, 0, 0, 0, tau, frames - 1 - tau)) for tau in range(frames)]  # m x (O, kT+m-1, kH, kW)
    return torch.cat(shifted)


def conv3d_max_pool_packed(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: tuple[int, int, int], pool: int) -> torch.Tensor:
    """``F.max_pool3d(F.conv3d(x, weight, bias, padding=padding), pool)`` for one input channel, `pool`
    output frames packed as channels (module doc). The output frames T' must be a multiple of `pool`.

    x (B, 1, T, H, W), weight (O, 1, kT, kH, kW) -> (B, O, T'/pool, H'/pool, W'/pool), channels-last-3d.
    """
    pad_t, pad_h, pad_w = padding
    batch = x.shape[0]
    out_channels, _, k_t, _, _ = weight.shape
    windows = frame_windows(x, pad_t, k_t + pool - 1, pool)  # (B*N, kT+m-1, Hp, Wp): window n starts at frame n*m
    packed_weight = packed_frame_weight(weight, pool).contiguous(memory_format=torch.channels_last)
    out = F.conv2d(windows, packed_weight, None if bias is None else bias.repeat(pool), padding=(pad_h, pad_w))
    count, _, out_h, out_w = out.shape
    memory = out.permute(0, 2, 3, 1).unflatten(3, (pool, out_channels))  # (B*N, H', W', m, O): out's memory
    if needs_autograd(x, weight, bias):
        # a channels-last (B*N, O, H', W'*m) whose (pool, pool*m) windows are the (pool, pool, pool) windows of
        # the frames; a 5D view would carry a size-1 dimension whose stride makes max_pool3d's backward copy
        out = memory.flatten(2, 3).permute(0, 3, 1, 2)
        pooled = F.max_pool2d(out, (pool, pool * pool))  # (B*N, O, H'/p, W'/p) channels-last
    else:
        pooled = max_of_slices(memory, pool).flatten(3).permute(0, 3, 1, 2)  # the same, faster
    return frames_to_volume(pooled, batch)


def conv3d_frames_input_grad(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv3d(x, weight, bias)`` (stride 1, no padding) whose input gradient runs by frames (module doc).

    x (B, C, T, H, W) channels-last-3d, weight (O, C, kT, kH, kW) -> (B, O, T', H', W') channels-last-3d.
    """
    return _FramesInputGradConv3d.apply(x, weight, bias)


class _FramesInputGradConv3d(torch.autograd.Function):
    """Forward and weight/bias gradients of ``F.conv3d``; the input gradient through `input_grad_by_frames`."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None  # type: ignore[attr-defined]
        return F.conv3d(x, weight, bias)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors  # type: ignore[attr-defined]
        need_x, need_w, need_b = ctx.needs_input_grad  # type: ignore[attr-defined]
        grad = grad.contiguous(memory_format=torch.channels_last_3d)
        grad_x = input_grad_by_frames(grad, weight, x.shape) if need_x else None
        grad_w = grad_b = None
        if need_w or need_b:
            bias_sizes = [weight.shape[0]] if ctx.has_bias else None  # type: ignore[attr-defined]
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad, x, weight, bias_sizes, [1, 1, 1], [0, 0, 0], [1, 1, 1], False, [0, 0, 0], 1, [False, need_w, need_b]
            )
        return grad_x, grad_w, grad_b


def input_grad_by_frames(grad: torch.Tensor, weight: torch.Tensor, input_shape: torch.Size) -> torch.Tensor:
    """The gradient of ``F.conv3d(x, weight)`` (stride 1, no padding) with respect to x, by frames.

    grad (B, O, T', H', W') channels-last-3d, weight (O, C, kT, kH, kW) -> (B, C, T, H, W) channels-last-3d:
    the data gradient of `conv3d_by_frames`' 2D convolution, (B*T', kT*C, H, W), summed over the kT
    windows each input frame belongs to.
    """
    batch, _, out_t = grad.shape[:3]
    _, channels, k_t, _, _ = weight.shape
    _, _, frames, height, width = input_shape
    grad_2d = grad.transpose(1, 2).flatten(0, 1)  # (B*T', O, H', W') channels-last view
    windows = torch.empty(batch * out_t, height, width, k_t * channels, dtype=grad.dtype, device=grad.device)
    grad_windows, _, _ = torch.ops.aten.convolution_backward(  # only the shape and layout of `windows` are read
        grad_2d, windows.permute(0, 3, 1, 2), frames_weight(weight),
        None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, False, False],
    )
    grad_windows = grad_windows.permute(0, 2, 3, 1).reshape(batch, out_t, height, width, k_t, channels)
    grad_x = grad.new_empty(batch, frames, height, width, channels)  # (B, T, H, W, C)
    grad_x[:, :out_t] = grad_windows[..., 0, :]  # input frame t gets window t - dt's tap dt
    grad_x[:, out_t:] = 0
    for dt in range(1, k_t):
        grad_x[:, dt:dt + out_t] += grad_windows[..., dt, :]
    return grad_x.permute(0, 4, 1, 2, 3)
