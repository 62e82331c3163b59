"""The CPU routes, one by one: each equals F.conv3d / F.max_pool3d and their gradients."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ttn.cpu.frame_conv import conv3d_by_frames, conv3d_frames_input_grad, conv3d_max_pool_packed, packed_frame_weight
from ttn.cpu.pooling import max_pool3d
from ttn.cpu.routes import conv3d, conv3d_max_pool, frames_input_grad_pays, packing_pays, temporal_conv3d_as_2d


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
