"""Conv3dTT (eq. 1-4 against a numpy reference, gradcheck, parameter counts) and Conv2Plus1d."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ttn.nn import Conv2Plus1d, Conv3dTT, tran_intermediate_channels
from ttn.registry import THETA_KINDS, WARP_KINDS


def randomize_transforms(layer: Conv3dTT, generator: torch.Generator) -> None:
    """Generic (non-identity) transforms: sample points fall between pixels, away from bilinear kinks."""
    with torch.no_grad():
        if layer.theta_kind == "affine":
            noise = 0.15 * torch.randn(layer.theta.shape, generator=generator, dtype=layer.theta.dtype)
            identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=layer.theta.dtype)
            layer.theta.copy_(identity + noise)
        else:
            shape, dtype = layer.scale.shape, layer.scale.dtype
            layer.scale.copy_(1.0 + 0.2 * (torch.rand(shape, generator=generator, dtype=dtype) - 0.5))
            layer.rotation.copy_(0.6 * (torch.rand(shape, generator=generator, dtype=dtype) - 0.5))
            layer.tx.copy_(0.4 * (torch.rand(shape, generator=generator, dtype=dtype) - 0.5))
            layer.ty.copy_(0.4 * (torch.rand(shape, generator=generator, dtype=dtype) - 0.5))


# ---------------------------------------------------------------- independent NumPy reference of eq. 2-4
def np_similarity(s: float, r: float, tx: float, ty: float) -> np.ndarray:
    """Eq. 2, written out."""
    return np.array([
        [s * math.cos(r), -s * math.sin(r), tx * s * math.cos(r) - ty * s * math.sin(r)],
        [s * math.sin(r), s * math.cos(r), tx * s * math.sin(r) + ty * s * math.cos(r)],
    ])


def np_warp(slice_: np.ndarray, theta: np.ndarray, align_corners: bool) -> np.ndarray:
    """Eq. 3-4 for one slice (I, H, W): grid from theta over normalized coordinates, bilinear, zeros outside."""
    _, height, width = slice_.shape

    def normalized(index: int, n: int) -> float:
        return -1.0 + 2.0 * index / (n - 1) if align_corners else (2.0 * index + 1.0) / n - 1.0

    def to_pixel(g: float, n: int) -> float:
        return (g + 1.0) / 2.0 * (n - 1) if align_corners else ((g + 1.0) * n - 1.0) / 2.0

    out = np.zeros_like(slice_)
    for row in range(height):
        for col in range(width):
            gx, gy = theta @ np.array([normalized(col, width), normalized(row, height), 1.0])  # eq. 3
            px, py = to_pixel(gx, width), to_pixel(gy, height)
            for j in range(height):  # eq. 4: sum over every input pixel with the bilinear kernel
                wy = max(0.0, 1.0 - abs(py - j))
                for i in range(width):
                    weight = max(0.0, 1.0 - abs(px - i)) * wy
                    if weight:
                        out[:, row, col] += slice_[:, j, i] * weight
    return out


def np_kernel(layer: Conv3dTT) -> np.ndarray:
    """The 3DTT kernel (O, I, T, H, W) built from the layer's parameters with NumPy only."""
    k0 = layer.k0.detach().double().numpy()
    frames = layer.kernel_size[0]
    out = np.zeros((k0.shape[0], k0.shape[1], frames) + k0.shape[2:])
    for o in range(k0.shape[0]):
        steps = []
        for t in range(frames - 1):
            if layer.theta_kind == "affine":
                steps.append(layer.theta[o, t].detach().double().numpy())
            else:
                u = 0 if layer.theta_kind == "shared" else t
                params = (layer.scale, layer.rotation, layer.tx, layer.ty)
                steps.append(np_similarity(*(float(p.detach()[o, u]) for p in params)))
        out[o, :, 0] = current = k0[o]
        composed = np.eye(3)
        for t, theta in enumerate(steps):
            if layer.warp == "sequential":
                current = np_warp(current, theta, layer.align_corners)
            else:
                composed = composed @ np.vstack([theta, [0.0, 0.0, 1.0]])
                current = np_warp(k0[o], composed[:2], layer.align_corners)
            out[o, :, t + 1] = current
    return out


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("theta", THETA_KINDS)
@pytest.mark.parametrize("warp", WARP_KINDS)
def test_identity_transforms_give_copies_of_k0(theta: str, warp: str) -> None:
    layer = Conv3dTT(3, 4, (5, 5, 5), theta=theta, warp=warp)  # freshly initialized: identity transforms
    kernel = layer.kernel()
    assert kernel.shape == (4, 3, 5, 5, 5)
    torch.testing.assert_close(kernel, layer.k0.unsqueeze(2).expand(-1, -1, 5, -1, -1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [5, 4])
@pytest.mark.parametrize("warp", WARP_KINDS)
def test_shared_90_degree_rotation_gives_rot90_steps(size: int, warp: str) -> None:
    layer = Conv3dTT(2, 3, (4, size, size), theta="shared", warp=warp, dtype=torch.float64)
    with torch.no_grad():
        layer.rotation.fill_(math.pi / 2)
    kernel = layer.kernel()
    for t in range(4):
        # r > 0 rotates the content counter-clockwise on screen (row 0 on top), as torch.rot90 with k > 0
        expected = torch.rot90(layer.k0, t, dims=(-2, -1))
        torch.testing.assert_close(kernel[:, :, t], expected, rtol=0, atol=1e-12)


def test_one_pixel_translation_shifts_with_zero_fill() -> None:
    layer = Conv3dTT(1, 2, (3, 5, 5), theta="similarity")
    with torch.no_grad():
        layer.tx[:, 0] = 0.5  # align_corners=True: one unit = (5 - 1) / 2 = 2 pixels, so 0.5 = one pixel
        layer.ty[:, 1] = -0.5  # then one pixel down
    k0, (k1, k2) = layer.k0, layer.kernel()[:, :, 1:].unbind(2)
    # tx > 0 samples to the right, so the content moves left; the vacated column is zero
    torch.testing.assert_close(k1[..., :-1], k0[..., 1:], rtol=0, atol=1e-6)
    assert torch.all(k1[..., -1] == 0)
    # ty < 0 samples above, so the content moves down; the vacated row is zero
    torch.testing.assert_close(k2[..., 1:, :], k1[..., :-1, :], rtol=0, atol=1e-6)
    assert torch.all(k2[..., 0, :] == 0)


def test_border_padding_mode_is_configurable() -> None:
    layer = Conv3dTT(1, 1, (2, 5, 5), padding_mode="border")
    with torch.no_grad():
        layer.tx.fill_(0.5)
    k1 = layer.kernel()[:, :, 1]
    torch.testing.assert_close(k1[..., -1], layer.k0[..., -1], rtol=0, atol=1e-6)  # edge replicated, not zero


@pytest.mark.parametrize("theta", THETA_KINDS)
@pytest.mark.parametrize("warp", WARP_KINDS)
@pytest.mark.parametrize("align_corners", [True, False])
def test_kernel_matches_numpy_eq4(theta: str, warp: str, align_corners: bool) -> None:
    generator = torch.Generator().manual_seed(7)
    layer = Conv3dTT(2, 3, (4, 5, 5), theta=theta, warp=warp, align_corners=align_corners, dtype=torch.float64)
    randomize_transforms(layer, generator)
    np.testing.assert_allclose(layer.kernel().detach().numpy(), np_kernel(layer), rtol=1e-10, atol=1e-12)


def test_sequential_and_direct_differ_only_by_resampling() -> None:
    generator = torch.Generator().manual_seed(3)
    layer = Conv3dTT(1, 2, (4, 5, 5), dtype=torch.float64)
    randomize_transforms(layer, generator)
    sequential = layer.kernel()
    layer.warp = "direct"
    direct = layer.kernel()
    torch.testing.assert_close(sequential[:, :, :2], direct[:, :, :2])  # slice 0 and 1 are the same warp
    assert not torch.allclose(sequential[:, :, 3], direct[:, :, 3])  # later slices: one vs several resamplings


@pytest.mark.parametrize("theta", THETA_KINDS)
def test_forward_equals_conv3d_with_built_kernel(theta: str) -> None:
    generator = torch.Generator().manual_seed(0)
    layer = Conv3dTT(3, 4, (3, 5, 5), stride=(1, 2, 1), padding=(1, 2, 0), theta=theta)
    randomize_transforms(layer, generator)
    reference = nn.Conv3d(3, 4, (3, 5, 5), stride=(1, 2, 1), padding=(1, 2, 0))
    with torch.no_grad():
        reference.weight.copy_(layer.kernel())
        reference.bias.copy_(layer.bias)
    x = torch.randn(2, 3, 7, 9, 9, generator=generator)
    torch.testing.assert_close(layer(x), reference(x))
    x_cl = x.contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(layer(x_cl), reference(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("theta", THETA_KINDS)
@pytest.mark.parametrize("warp", WARP_KINDS)
def test_gradcheck_float64(theta: str, warp: str) -> None:
    generator = torch.Generator().manual_seed(1)
    layer = Conv3dTT(2, 2, (3, 4, 4), padding=1, theta=theta, warp=warp, dtype=torch.float64)
    randomize_transforms(layer, generator)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    x = torch.randn(1, 2, 3, 4, 4, dtype=torch.float64, generator=generator, requires_grad=True)

    def fn(x: torch.Tensor, *values: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, dict(zip(names, values)), (x,))

    assert torch.autograd.gradcheck(fn, (x, *params), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("theta", THETA_KINDS)
def test_gradients_reach_every_parameter_at_identity_init(theta: str) -> None:
    torch.manual_seed(0)
    layer = Conv3dTT(2, 3, (5, 5, 5), padding=2, theta=theta)
    (layer(torch.randn(2, 2, 6, 8, 8)) * torch.randn(2, 3, 6, 8, 8)).sum().backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    ("theta", "per_step", "steps"), [("affine", 6, 4), ("similarity", 4, 4), ("shared", 4, 1)]
)
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_counts_match_formulas(theta: str, per_step: int, steps: int, bias: bool) -> None:
    out_channels, in_channels, height, width = 7, 3, 5, 4
    layer = Conv3dTT(in_channels, out_channels, (5, height, width), theta=theta, bias=bias)
    expected = out_channels * (in_channels * height * width + per_step * steps) + (out_channels if bias else 0)
    assert sum(p.numel() for p in layer.parameters()) == expected
    names = {name for name, _ in layer.named_parameters()}
    assert {"theta"} <= names if theta == "affine" else {"scale", "rotation", "tx", "ty"} <= names


def test_init_scale_and_bad_options() -> None:
    layer = Conv3dTT(18, 28, 5)
    assert layer.k0_std == pytest.approx(math.sqrt(2 / (18 * 125)))
    assert Conv3dTT(1, 2, 5, k0_std=1.0).k0_std == 1.0
    with pytest.raises(ValueError, match="theta"):
        Conv3dTT(1, 2, 5, theta="rigid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warp"):
        Conv3dTT(1, 2, 5, warp="parallel")  # type: ignore[arg-type]


def test_conv2plus1d_width_and_shapes() -> None:
    assert tran_intermediate_channels(1, 18, (5, 5, 5)) == (5 * 25 * 1 * 18) // (25 * 1 + 5 * 18) == 19
    assert tran_intermediate_channels(18, 28, (5, 5, 5)) == (5 * 25 * 18 * 28) // (25 * 18 + 5 * 28) == 106
    layer = Conv2Plus1d(3, 6, 5, padding=2)
    conv3d = nn.Conv3d(3, 6, 5, padding=2)
    x = torch.randn(1, 3, 6, 8, 8)
    assert layer(x).shape == conv3d(x).shape
    count = sum(p.numel() for p in layer.parameters())
    assert abs(count - sum(p.numel() for p in conv3d.parameters())) / count < 0.1


def test_direct_warp_composes_the_transforms() -> None:
    layer = Conv3dTT(1, 1, (3, 5, 5), theta="shared", warp="direct", dtype=torch.float64)
    with torch.no_grad():
        layer.rotation.fill_(math.pi / 2)
    # two 90-degree steps compose to a 180-degree warp of K0
    torch.testing.assert_close(layer.kernel()[:, :, 2], torch.rot90(layer.k0, 2, dims=(-2, -1)), rtol=0, atol=1e-12)
