"""The renderer: exact on identity, translations and quarter turns; shapes; each frame from the source."""
from __future__ import annotations

import numpy as np
import pytest

from vmnist.render import render_videos


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
