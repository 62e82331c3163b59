"""The renderer: exact on identity, translations and quarter turns; shapes; each frame from the source."""
from __future__ import annotations

import numpy as np
import pytest

from vmnist.rendering.render import render_videos


@pytest.fixture
def digit() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:24, 6:22] = rng.integers(1, 256, size=(20, 16))
    return image


def params_of(*frames: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([frames], dtype=np.float32)  # (1, T, 4)


def test_identity_reproduces_the_digit(digit):
    video = render_videos(digit[None], params_of((1, 0, 0, 0), (1, 0, 0, 0)))
    assert video.shape == (1, 2, 28, 28) and video.dtype == np.uint8
    np.testing.assert_array_equal(video[0, 0], digit)
    np.testing.assert_array_equal(video[0, 1], digit)


def test_integer_translation_shifts_with_zero_fill(digit):
    video = render_videos(digit[None], params_of((1, 0, 3, 0), (1, 0, 0, -2)))
    right = np.zeros_like(digit)
    right[:, 3:] = digit[:, :-3]
    up = np.zeros_like(digit)
    up[:-2] = digit[2:]
    np.testing.assert_array_equal(video[0, 0], right)  # tx > 0 moves right
    np.testing.assert_array_equal(video[0, 1], up)  # ty < 0 moves up


def test_quarter_turn_is_counter_clockwise_rot90(digit):
    video = render_videos(digit[None], params_of((1, np.pi / 2, 0, 0), (1, np.pi, 0, 0), (1, -np.pi / 2, 0, 0)))
    np.testing.assert_array_equal(video[0, 0], np.rot90(digit, 1))
    np.testing.assert_array_equal(video[0, 1], np.rot90(digit, 2))
    np.testing.assert_array_equal(video[0, 2], np.rot90(digit, -1))


def test_scaling_about_the_centre_and_zero_outside(digit):
    video = render_videos(digit[None], params_of((0.5, 0, 0, 0), (2.0, 0, 0, 0), (1, 0, 40, 0)))
    half, double, gone = video[0]
    assert (half[:7] == 0).all() and (half[21:] == 0).all()  # shrunk towards the centre
    assert double.astype(int).sum() > half.astype(int).sum()
    assert (gone == 0).all()  # moved fully out of frame


def test_batch_does_not_change_a_video(digit):
    rng = np.random.default_rng(1)
    params = np.concatenate([np.ones((5, 7, 1)), rng.normal(size=(5, 7, 3))], axis=-1).astype(np.float32)
    digits = np.stack([digit, digit.T, digit[::-1], digit[:, ::-1], digit])
    together = render_videos(digits, params)
    for i in range(5):
        np.testing.assert_array_equal(together[i], render_videos(digits[i : i + 1], params[i : i + 1])[0])


def test_bad_shapes_raise_value_error(digit):
    with pytest.raises(ValueError, match="expected digits"):
        render_videos(digit, params_of((1, 0, 0, 0)))
    assert render_videos(np.zeros((0, 28, 28), np.uint8), np.zeros((0, 4, 4), np.float32)).shape == (0, 4, 28, 28)


# ----------------------------------------------------------------------------- anti-aliasing (scale < 1)
def plain_render(digits: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Generator 1.0's renderer: one bilinear warp per frame, no prefilter. uint8 (N, T, H, W)."""
    import torch
    import torch.nn.functional as F

    from vmnist.rendering.render import sampling_grid

    n, height, width = digits.shape
    grid = sampling_grid(torch.from_numpy(params.astype(np.float32)), height, width)
    tall = F.grid_sample(torch.tensor(digits, dtype=torch.float32)[:, None], grid, align_corners=False)
    return tall.round().to(torch.uint8).view(n, params.shape[1], height, width).numpy()


@pytest.fixture(scope="module")
def two() -> np.ndarray:
    from vmnist.testing import synthetic_digits

    digits = synthetic_digits(n_train=20, n_test=0, seed=1)
    return digits.train_images[np.flatnonzero(digits.train_labels == 2)[0]]


def test_a_strongly_shrunk_digit_is_a_faint_blob_not_bright_pixels(two):
    params = params_of((0.15, 0, 0, 0), (0.1, 0, 0, 0), (2 / 28, 0.3, 0, 0))
    plain, smooth = plain_render(two[None], params)[0], render_videos(two[None], params)[0]
    assert plain[0].max() > 200  # aliasing: a few source pixels hit at full strength
    assert smooth[0].max() < 0.6 * plain[0].max() and smooth[1].max() < 100 and smooth[2].max() < 60
    for frame, scale in zip(smooth.astype(float), (0.15, 0.1, 2 / 28)):  # ink is kept: mass ~ s^2 * source mass
        assert frame.sum() == pytest.approx(scale**2 * two.sum(), rel=0.1)


def test_anti_aliasing_agrees_with_an_anti_aliased_resize(two):
    image = pytest.importorskip("PIL.Image")
    for scale, side in ((0.5, 14), (0.25, 7), (1 / 7, 4)):
        ours = render_videos(two[None], params_of((scale, 0, 0, 0)))[0, 0]
        pil = np.asarray(image.fromarray(two).resize((side, side), image.BILINEAR))
        assert int(ours.max()) == pytest.approx(int(pil.max()), rel=0.2)
        assert ours.astype(float).sum() == pytest.approx(pil.astype(float).sum(), rel=0.1)


def test_frames_at_scale_1_or_more_are_exactly_the_plain_warp(digit):
    rng = np.random.default_rng(2)
    params = np.stack([rng.uniform(0.2, 2.5, (4, 9)), rng.normal(0, 2, (4, 9)), rng.normal(0, 5, (4, 9)),
                       rng.normal(0, 5, (4, 9))], axis=-1).astype(np.float32)  # (4, 9, 4), scales on both sides of 1
    digits = np.stack([digit, digit.T, digit[::-1], digit[:, ::-1]])
    ours, plain = render_videos(digits, params), plain_render(digits, params)
    big = params[..., 0] >= 1
    assert big.any() and (~big).any()
    np.testing.assert_array_equal(ours[big], plain[big])
    assert not np.array_equal(ours[~big], plain[~big])


def test_shrunk_frames_do_not_depend_on_the_batch(digit):
    rng = np.random.default_rng(3)
    scales = rng.choice([0.05, 0.3, 0.3, 0.7, 1.4], size=(6, 5))  # shared scales: frames share a prefilter
    params = np.stack([scales, rng.normal(0, 1, (6, 5)), rng.normal(0, 3, (6, 5)), rng.normal(0, 3, (6, 5))],
                      axis=-1).astype(np.float32)
    digits = np.stack([digit, digit.T, digit[::-1], digit[:, ::-1], digit, digit.T])
    together = render_videos(digits, params)
    for i in range(6):
        np.testing.assert_array_equal(together[i], render_videos(digits[i : i + 1], params[i : i + 1])[0])


def test_prefilter_is_exact_and_keeps_the_ink():
    from vmnist.rendering.prefilter import WEIGHT_BITS, blur_digits, blur_kernel, prefilter_sigma

    assert prefilter_sigma(1.0) == 0.0 and prefilter_sigma(2.0) == 0.0 and prefilter_sigma(0.5) > 0.5
    for scale in (0.9, 0.3, 0.07):
        assert blur_kernel(scale).sum() == 2**WEIGHT_BITS
    rng = np.random.default_rng(4)
    digits = np.zeros((8, 28, 28), dtype=np.uint8)
    digits[:, 6:22, 6:22] = rng.integers(0, 256, size=(8, 16, 16))
    blurred, pad = blur_digits(digits, 0.2)
    assert blurred.shape == (8, 28 + 2 * pad, 28 + 2 * pad)
    np.testing.assert_allclose(blurred.sum(dim=(1, 2)).numpy(), digits.sum(axis=(1, 2)), rtol=1e-3)
    np.testing.assert_array_equal(blurred[3].numpy(), blur_digits(digits[3:4], 0.2)[0][0].numpy())
