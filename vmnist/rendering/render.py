"""Render Video-MNIST frames: every frame is the source digit warped by its own affine state.

One bilinear warp per frame straight from the source digit (zeros outside), so no blur accumulates
over time. All T frames of a video are sampled in one ``grid_sample`` call by stacking the frames'
sampling grids into one tall (T*H, W) output image over the digit's single input image: no copy of
the digit per frame, and no ``affine_grid`` (the grid is two fused multiply-adds per pixel here).

Frames that shrink the digit (scale < 1) are anti-aliased: they are sampled again, from the digit blurred
by a Gaussian prefilter for their scale (vmnist.rendering.prefilter), and replace their plain samples. Frames at
scale >= 1 are exactly the plain warp.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vmnist.rendering.prefilter import blur_digits


def sampling_grid(params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Normalized sampling grid of each frame (``grid_sample`` convention, ``align_corners=False``).

    A destination pixel p (column x, row y) samples the source at
    ``R(-r) (p - c - t) / s + c``, c = ((W-1)/2, (H-1)/2) the frame centre, t = (tx, ty),
    R(-r) = [[cos r, -sin r], [sin r, cos r]] in image axes (rows downward), which turns the digit
    counter-clockwise on screen for r > 0.

    Args:
        params: float32 (N, T, 4): scale, rotation (radians), tx, ty (pixels).
        height, width: frame size H, W.

    Returns:
        float32 (N, T*H, W, 2): (x, y) in [-1, 1] source coordinates per destination pixel.
    """
    n, frames, _ = params.shape
    scale, rotation, tx, ty = params.unbind(-1)  # each (N, T)
    cos_over_s = torch.cos(rotation) / scale
    sin_over_s = torch.sin(rotation) / scale
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    # Pixel coordinates relative to the moved centre, then to normalized units (x_n = 2 x_rel / W).
    xs = torch.arange(width, dtype=params.dtype) - cx  # (W,)
    ys = torch.arange(height, dtype=params.dtype) - cy  # (H,)
    dx0 = (-tx)[..., None, None]  # (N, T, 1, 1): offset of the column coordinate
    dy = (ys[None, None, :] - ty[..., None])[..., None]  # (N, T, H, 1)
    a = cos_over_s[..., None, None]
    b = sin_over_s[..., None, None]
    # gx = 2/W * (a dx - b dy), gy = 2/H * (b dx + a dy), with dx = xs - tx; separable into row and column terms.
    row_x = (2.0 / width) * (a * dx0 - b * dy)  # (N, T, H, 1)
    row_y = (2.0 / height) * (b * dx0 + a * dy)  # (N, T, H, 1)
    grid = torch.empty((n, frames, height, width, 2), dtype=params.dtype)
    # Writing each coordinate straight into its strided slot is ~5x faster than computing both and stacking.
    torch.addcmul(row_x, (2.0 / width) * a, xs, out=grid[..., 0])  # (N, T, H, W)
    torch.addcmul(row_y, (2.0 / height) * b, xs, out=grid[..., 1])
    return grid.view(n, frames * height, width, 2)


def render_videos(digits: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Render the videos of a batch of digits.

    Args:
        digits: uint8 (N, H, W), the source MNIST digits.
        params: float32 (N, T, 4), per-frame (scale, rotation, tx, ty); rendering uses exactly these values,
            so a video re-renders byte-identically from its stored params, whatever else is in the batch.

    Returns:
        uint8 (N, T, H, W) videos.
    """
    if digits.ndim != 3 or params.ndim != 3 or params.shape[-1] != 4 or len(digits) != len(params):
        raise ValueError(f"expected digits (N, H, W) and params (N, T, 4), got {digits.shape} and {params.shape}")
    n, height, width = digits.shape
    frames = params.shape[1]
    if n == 0:
        return np.zeros((0, frames, height, width), dtype=np.uint8)
    params = np.ascontiguousarray(params, dtype=np.float32)
    source = torch.tensor(digits, dtype=torch.float32)[:, None]  # (N, 1, H, W); a copy, digits may be read-only
    grid = sampling_grid(torch.from_numpy(params), height, width)
    with torch.inference_mode():
        tall = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (N,1,T*H,W)
        videos = tall.round_().to(torch.uint8).view(n, frames, height, width).numpy()
    render_shrunk_frames(digits, params, videos)
    return videos


def render_shrunk_frames(digits: np.ndarray, params: np.ndarray, videos: np.ndarray) -> None:
    """Re-render, anti-aliased, every frame whose scale is below 1, in place in `videos`.

    Frames are grouped by scale (the trajectories use few distinct ones), so each group shares one prefilter.
    A frame's pixels depend only on its digit and params (vmnist.rendering.prefilter's exact blur; ``grid_sample``
    is per pixel).

    Args:
        digits: uint8 (N, H, W); params: float32 (N, T, 4); videos: uint8 (N, T, H, W), overwritten where scale < 1.
    """
    height, width = digits.shape[1:]
    video_of, frame_of = np.nonzero(params[..., 0] < 1.0)  # (M,) each
    if len(video_of) == 0:
        return
    scales, group_of = np.unique(params[video_of, frame_of, 0], return_inverse=True)
    for group, scale in enumerate(scales):
        members = np.flatnonzero(group_of == group)
        vi, fi = video_of[members], frame_of[members]
        blurred, pad = blur_digits(digits[vi], float(scale))  # (m, H+2P, W+2P)
        grid = sampling_grid(torch.from_numpy(params[vi, fi][:, None]), height, width)  # (m, H, W, 2), (H, W) input
        # The same source points in the padded input's normalized units (x_n -> x_n W / (W + 2P), y likewise).
        grid.mul_(torch.tensor([width / (width + 2 * pad), height / (height + 2 * pad)]))
        with torch.inference_mode():
            frames = F.grid_sample(blurred[:, None], grid, mode="bilinear", padding_mode="zeros",
                                   align_corners=False)  # (m, 1, H, W)
            videos[vi, fi] = frames.round_().to(torch.uint8)[:, 0].numpy()
