"""Anti-aliasing for shrunk frames: a Gaussian prefilter of the source digit, exact and batch-independent.

Sampling a digit shrunk by s < 1 at 28x28 points skips most of its pixels: a '2' at s = 0.15 comes out as a few
bright pixels (aliasing). An anti-aliased resize (PIL's, which the authors used) averages each output pixel over
its footprint, a triangle filter of half-width 1/s source pixels. Here the source is blurred by a Gaussian whose
variance makes up that triangle's, less what the bilinear tap already spreads (variance 1/6):

    sigma(s) = sqrt((1/s^2 - 1) / 6)      source pixels; 0 at s = 1, so frames at s >= 1 are untouched

The blur is separable, B = G_H X G_W^T, with G_H a (H + 2P, H) Gaussian matrix (G_W likewise): the output is
padded by P pixels on each side so that ink blurred past the digit's border is kept.

Exactness: G's weights are whole numbers summing to 2^12 and the digit is uint8, so the first product G X holds
whole numbers below 2^20; it is rounded to 1/16 grey level (a whole number below 2^12), and the second product
then stays below 2^24 too. Every product and partial sum of both float32 matrix multiplies is therefore an exact
integer, whatever the summation order: a frame's pixels do not depend on the other frames in its batch, the
number of threads, or the BLAS library.
"""
from __future__ import annotations

import numpy as np
import torch

#: Weights are whole numbers summing to 2^WEIGHT_BITS; 12 bits keep both products below float32's 2^24.
WEIGHT_BITS = 12
#: Fraction bits of a grey level kept between the two passes (255 * 2^4 * 2^12 < 2^24).
MIDDLE_BITS = 4
#: Most padding added on each side: ink blurred farther out than this is dropped (a few % of a 1 px dot's).
MAX_PAD = 20


def prefilter_sigma(scale: float) -> float:
    """Gaussian sigma (source pixels) for a frame at `scale`: 0 for scale >= 1."""
    return float(np.sqrt(max(1.0 / scale**2 - 1.0, 0.0) / 6.0))


def blur_kernel(scale: float) -> np.ndarray:
    """The 1D prefilter of a frame at `scale`: float32 (2R+1,) whole numbers summing to exactly 2^WEIGHT_BITS."""
    sigma = prefilter_sigma(scale)
    radius = max(1, int(np.ceil(3.0 * sigma)))
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2) if sigma > 0 else (taps == 0).astype(np.float64)
    weights = np.rint(kernel / kernel.sum() * 2**WEIGHT_BITS)
    weights[radius] += 2**WEIGHT_BITS - weights.sum()  # the centre takes the rounding remainder: mass is kept exactly
    return weights.astype(np.float32)


def blur_matrix(scale: float, size: int) -> tuple[np.ndarray, int]:
    """The separable blur of a frame at `scale` as a matrix: G float32 (size + 2P, size), and the padding P."""
    weights = blur_kernel(scale)
    radius = len(weights) // 2
    pad = min(radius, MAX_PAD)
    offset = (np.arange(size + 2 * pad)[:, None] - pad) - np.arange(size)[None, :]  # (size+2P, size): out - in
    inside = np.abs(offset) <= radius
    return np.where(inside, weights[np.clip(offset + radius, 0, 2 * radius)], np.float32(0)), pad


def blur_digits(digits: np.ndarray, scale: float) -> tuple[torch.Tensor, int]:
    """Prefilter digits for a frame at `scale`.

    Args:
        digits: uint8 (N, H, W), the source digits.

    Returns:
        float32 (N, H + 2P, W + 2P) grey levels 0-255, the blurred and padded digits, and the padding P.
    """
    n, height, width = digits.shape
    g_rows, pad = blur_matrix(scale, height)  # (H + 2P, H)
    g_cols, _ = blur_matrix(scale, width)  # (W + 2P, W)
    tall, wide = height + 2 * pad, width + 2 * pad
    x = torch.from_numpy(np.ascontiguousarray(digits)).to(torch.float32)  # (N, H, W)
    # torch, not numpy: its matmul follows torch's thread setting (one thread per worker process), while OpenBLAS
    # threads spinning between calls would fight torch's OpenMP threads for the cores.
    with torch.inference_mode():
        rows = (x.reshape(n * height, width) @ torch.from_numpy(g_cols).T).reshape(n, height, wide)  # X Gc^T
        rows.mul_(2.0 ** (MIDDLE_BITS - WEIGHT_BITS)).round_()  # exact scaling; whole 1/16 grey levels
        # Gr (X Gc^T) computed as ((X Gc^T)^T Gr^T)^T, again one 2D product over stacked rows.
        both = (rows.transpose(1, 2).reshape(n * wide, height) @ torch.from_numpy(g_rows).T).reshape(n, wide, tall)
        return both.transpose(1, 2).mul(2.0 ** -(MIDDLE_BITS + WEIGHT_BITS)).contiguous(), pad
