"""Conv3dTT (eq. 1-4 of Ras et al.) and Conv2Plus1d against independent references."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ttn.layers import THETA_KINDS, WARP_KINDS, Conv2Plus1d, Conv3d, Conv3dTT, tran_intermediate_channels
from ttn.layers.fast_conv import conv3d, conv3d_max_pool, frames_input_grad_pays, packing_pays, temporal_conv3d_as_2d
from ttn.layers.frame_conv import conv3d_by_frames, conv3d_frames_input_grad, conv3d_max_pool_packed, packed_frame_weight
from ttn.layers.pooling import max_pool3d


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


@pytest.mark.parametrize(("channels", "padding", "kernel"), [(1, (2, 2, 2), (5, 5, 5)), (3, (0, 1, 0), (3, 3, 2)), (1, (0, 2, 2), (1, 5, 5))])
def test_conv3d_by_frames_equals_conv3d(channels: int, padding: tuple[int, int, int], kernel: tuple[int, int, int]) -> None:
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(2, channels, 7, 9, 8, dtype=torch.float64, generator=generator)
    weight = torch.randn(4, channels, *kernel, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, generator=generator, requires_grad=True)
    ours = conv3d_by_frames(x, weight, bias, padding)
    assert ours.is_contiguous(memory_format=torch.channels_last_3d)
    reference = F.conv3d(x, weight, bias, padding=padding)
    torch.testing.assert_close(ours, reference)
    grad = torch.randn(reference.shape, dtype=torch.float64, generator=generator)
    ours_grads = torch.autograd.grad(ours, (weight, bias), grad)
    torch.testing.assert_close(ours_grads, torch.autograd.grad(reference, (weight, bias), grad))


def test_fast_conv3d_module_equals_nn_conv3d() -> None:
    torch.manual_seed(0)
    ours = Conv3d(1, 3, 5, padding=2)
    reference = nn.Conv3d(1, 3, 5, padding=2)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(2, 1, 6, 7, 7)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


def test_packed_frame_weight_places_each_kernel_at_its_frame_offset() -> None:
    weight = torch.arange(2 * 3 * 2 * 2, dtype=torch.float64).reshape(2, 1, 3, 2, 2)
    packed = packed_frame_weight(weight, 2)  # (2*2, 3+1, 2, 2)
    assert packed.shape == (4, 4, 2, 2)
    torch.testing.assert_close(packed[:2, :3], weight[:, 0], rtol=0, atol=0)  # tau = 0: taps 0..2
    torch.testing.assert_close(packed[2:, 1:], weight[:, 0], rtol=0, atol=0)  # tau = 1: taps 1..3
    assert not packed[:2, 3].any() and not packed[2:, 0].any()


@pytest.mark.parametrize(("out_channels", "kernel", "padding", "frames"), [(3, (5, 5, 5), (2, 2, 2), 8), (5, (3, 3, 3), (1, 0, 1), 6), (2, (5, 3, 3), (0, 1, 1), 9)])
def test_conv3d_max_pool_packed_equals_conv_then_pool(out_channels: int, kernel: tuple[int, int, int], padding: tuple[int, int, int], frames: int) -> None:
    generator = torch.Generator().manual_seed(11)
    x = torch.randn(2, 1, frames, 9, 8, dtype=torch.float64, generator=generator)
    weight = torch.randn(out_channels, 1, *kernel, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(out_channels, dtype=torch.float64, generator=generator, requires_grad=True)
    reference = F.max_pool3d(F.conv3d(x, weight, bias, padding=padding), 2)
    ours = conv3d_max_pool_packed(x, weight, bias, padding, 2)
    assert ours.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    grad = torch.randn(reference.shape, dtype=torch.float64, generator=generator)
    torch.testing.assert_close(torch.autograd.grad(ours, (weight, bias), grad), torch.autograd.grad(reference, (weight, bias), grad))


@pytest.mark.parametrize(("channels", "kernel"), [(3, (3, 3, 3)), (5, (5, 5, 5)), (2, (2, 3, 1))])
def test_conv3d_frames_input_grad_equals_conv3d_and_its_gradients(channels: int, kernel: tuple[int, int, int]) -> None:
    generator = torch.Generator().manual_seed(12)
    x = torch.randn(2, channels, 7, 8, 9, dtype=torch.float64, generator=generator).contiguous(memory_format=torch.channels_last_3d)
    x.requires_grad_()
    weight = torch.randn(4, channels, *kernel, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, generator=generator, requires_grad=True)
    ours = conv3d_frames_input_grad(x, weight, bias)
    reference = F.conv3d(x, weight, bias)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    grad = torch.randn(reference.shape, dtype=torch.float64, generator=generator)
    ours_grads = torch.autograd.grad(ours, (x, weight, bias), grad)
    assert ours_grads[0].is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(ours_grads, torch.autograd.grad(reference, (x, weight, bias), grad))
    # without a bias, and when only the input needs a gradient
    only_x = torch.autograd.grad(conv3d_frames_input_grad(x, weight.detach(), None), x, grad)[0]
    torch.testing.assert_close(only_x, ours_grads[0])


def test_frame_routes_are_chosen_by_the_register_blocking_model() -> None:
    # 16 float lanes (AVX-512): 18 channels fill 2 blocks badly, packing 2 frames (36 channels) pays
    assert packing_pays(18, 5, 30, 2, lanes=16) and packing_pays(4, 5, 30, 2, lanes=16)
    assert not packing_pays(12, 5, 30, 2, lanes=16)  # 2 blocks of 24 channels x 6 taps / 2 > 1 block x 5 taps
    assert not packing_pays(18, 5, 29, 2, lanes=16)  # a pooling window would straddle two packed windows
    assert not packing_pays(18, 5, 30, 1, lanes=16)
    assert not packing_pays(18, 5, 30, 2, lanes=8)  # 3 blocks x 5 taps = 5 blocks x 6 taps / 2: no gain
    assert [c for c in range(1, 33) if frames_input_grad_pays(c, lanes=16)] == [*range(1, 9), *range(17, 25)]


def test_conv3d_routes_all_equal_f_conv3d() -> None:
    """`conv3d` and `conv3d_max_pool` through every route (one channel, packed, input gradient by frames,
    temporal-only kernel, padded, strided) give F.conv3d's values and gradients."""
    generator = torch.Generator().manual_seed(13)
    cases = [(1, (5, 3, 3), (2, 2, 2), (1, 1, 1)), (18, (5, 3, 3), (0, 0, 0), (1, 1, 1)), (18, (5, 3, 3), (1, 1, 1), (1, 1, 1)),
             (16, (5, 3, 3), (0, 0, 0), (1, 1, 1)), (3, (5, 3, 3), (0, 0, 0), (1, 2, 2)), (19, (5, 1, 1), (2, 0, 0), (1, 1, 1)),
             (4, (3, 1, 1), (0, 0, 0), (2, 1, 1))]
    for channels, kernel, padding, stride in cases:
        x = torch.randn(2, channels, 8, 10, 10, generator=generator).contiguous(memory_format=torch.channels_last_3d)
        x.requires_grad_(channels > 1)
        weight = torch.randn(18, channels, *kernel, generator=generator, requires_grad=True)
        bias = torch.randn(18, generator=generator, requires_grad=True)
        inputs = (x, weight, bias) if channels > 1 else (weight, bias)
        for ours_fn, reference_fn in (
            (lambda: conv3d(x, weight, bias, stride, padding, (1, 1, 1), 1), lambda: F.conv3d(x, weight, bias, stride, padding)),
            (lambda: conv3d_max_pool(x, weight, bias, stride, padding, (1, 1, 1), 1, 2), lambda: F.max_pool3d(F.conv3d(x, weight, bias, stride, padding), 2)),
        ):
            ours, reference = ours_fn(), reference_fn()
            torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
            grad = torch.randn(reference.shape, generator=generator)
            for a, b in zip(torch.autograd.grad(ours, inputs, grad), torch.autograd.grad(reference, inputs, grad)):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_temporal_conv3d_as_2d_is_a_view_in_and_out() -> None:
    x = torch.randn(2, 6, 7, 4, 5).contiguous(memory_format=torch.channels_last_3d)
    weight = torch.randn(3, 6, 3, 1, 1)
    out = temporal_conv3d_as_2d(x, weight, None, 1, 1)
    assert out.shape == (2, 3, 7, 4, 5) and out.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(out, F.conv3d(x, weight, padding=(1, 0, 0)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("shape", "pool"), [((2, 3, 6, 8, 8), 2), ((1, 5, 7, 9, 10), 2), ((2, 4, 9, 6, 7), 3)])
def test_inference_max_pool_equals_f_max_pool3d_exactly(shape: tuple[int, ...], pool: int) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(14)).contiguous(memory_format=torch.channels_last_3d)
    x[0, 0, 0, 0, 0] = float("nan")  # propagated like F.max_pool3d
    with torch.no_grad():
        ours = max_pool3d(x, pool)
    assert ours.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(ours, F.max_pool3d(x, pool), rtol=0, atol=0, equal_nan=True)
    x.requires_grad_()
    assert max_pool3d(x, pool).grad_fn.name().startswith("MaxPool3D")  # with autograd: the indices kernel


def test_packed_route_pools_the_same_with_and_without_autograd() -> None:
    generator = torch.Generator().manual_seed(15)
    x = torch.rand(2, 1, 8, 12, 12, generator=generator)
    weight = torch.randn(6, 1, 5, 5, 5, generator=generator)
    with torch.no_grad():
        inference = conv3d_max_pool_packed(x, weight, None, (2, 2, 2), 2)
    training = conv3d_max_pool_packed(x, weight.requires_grad_(), None, (2, 2, 2), 2)
    assert training.requires_grad and inference.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(inference, training.detach(), rtol=0, atol=0)


def test_frames_input_grad_route_is_twice_differentiable() -> None:
    """Its backward is made of differentiable ops: gradient penalties and gradgradcheck work as with F.conv3d."""
    generator = torch.Generator().manual_seed(16)
    x = torch.randn(1, 3, 5, 5, 5, dtype=torch.float64, generator=generator).contiguous(memory_format=torch.channels_last_3d)
    weight = torch.randn(2, 3, 3, 3, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(2, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradgradcheck(conv3d_frames_input_grad, (x.requires_grad_(), weight, bias))
