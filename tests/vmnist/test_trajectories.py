"""The ten motions of Table 1, checked as properties of the rendered frames (and of the params)."""
from __future__ import annotations

import numpy as np
import pytest

from vmnist.render import render_videos
from vmnist.trajectories import (
    DEFAULT_CONSTANTS,
    RANDOM_DRAWS,
    reflect,
    trajectory_params,
    video_uniforms,
)

FRAMES = 30


def bar_digit() -> np.ndarray:
    """An asymmetric glyph: a vertical bar with a foot to the right (uint8 28x28), so orientation is defined."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255
    image[18:22, 16:20] = 255
    return image


def render_class(label: int, seed: int = 0, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Params (T, 4) and frames float (T, 28, 28) of one video of `label` over the bar glyph."""
    params = trajectory_params(np.array([label]), video_uniforms(seed, "train", np.array([index])), FRAMES)
    frames = render_videos(bar_digit()[None], params)[0].astype(np.float64)
    return params[0], frames


def centroids(frames: np.ndarray) -> np.ndarray:
    """Ink centroid (x, y) per frame: (T, 2), pixel units, y downward."""
    rows, cols = np.mgrid[0:28, 0:28]
    mass = frames.sum(axis=(1, 2))
    return np.stack([(frames * cols).sum(axis=(1, 2)) / mass, (frames * rows).sum(axis=(1, 2)) / mass], axis=1)


def orientation(frame: np.ndarray) -> float:
    """Angle (radians, counter-clockwise on screen) of the ink's principal axis."""
    rows, cols = np.mgrid[0:28, 0:28]
    mass = frame.sum()
    x = cols - (frame * cols).sum() / mass
    y = -(rows - (frame * rows).sum() / mass)  # y up, so that counter-clockwise is positive
    mu20, mu02, mu11 = (frame * x * x).sum(), (frame * y * y).sum(), (frame * x * y).sum()
    return 0.5 * np.arctan2(2 * mu11, mu20 - mu02)


def turn(frames: np.ndarray, start: int, stop: int) -> float:
    """Signed rotation of the principal axis from frame `start` to `stop` (small steps, unwrapped mod pi)."""
    total = 0.0
    for t in range(start, stop):
        delta = orientation(frames[t + 1]) - orientation(frames[t])
        total += (delta + np.pi / 2) % np.pi - np.pi / 2
    return total


def test_params_shape_dtype_and_first_frame_is_the_digit():
    labels = np.arange(10)
    params = trajectory_params(labels, video_uniforms(0, "train", labels), FRAMES)
    assert params.shape == (10, FRAMES, 4) and params.dtype == np.float32
    # Classes that do not translate from the start begin with the identity.
    for label in (2, 3, 4, 6, 8):
        np.testing.assert_allclose(params[label, 0], [1.0, 0.0, 0.0, 0.0])


def test_uniforms_depend_on_seed_split_and_index_only():
    a = video_uniforms(7, "train", np.array([0, 1, 2]))
    assert a.shape == (3, RANDOM_DRAWS)
    np.testing.assert_array_equal(a[1], video_uniforms(7, "train", np.array([1]))[0])  # batch-independent
    assert not np.array_equal(a, video_uniforms(8, "train", np.array([0, 1, 2])))
    assert not np.array_equal(a, video_uniforms(7, "val", np.array([0, 1, 2])))
    assert not np.array_equal(a[0], a[1])


def test_reflect_is_a_triangle_wave_within_limits():
    x = np.linspace(-50, 50, 1001)
    y = reflect(x, 6.0)
    assert y.min() >= -6.0 and y.max() <= 6.0
    np.testing.assert_allclose(reflect(np.array([0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 24.0]), 6.0), [0, 3, 6, 3, 0, -6, 0])


def test_class0_moves_horizontally_only():
    _, frames = render_class(0)
    c = centroids(frames)
    assert np.ptp(c[:, 0]) > 5.0
    assert np.ptp(c[:, 1]) < 0.5


def test_class1_moves_vertically_only():
    _, frames = render_class(1)
    c = centroids(frames)
    assert np.ptp(c[:, 1]) > 5.0
    assert np.ptp(c[:, 0]) < 0.5


@pytest.mark.parametrize("label", [0, 1, 7])
def test_direction_and_speed_vary_between_videos(label):
    params = trajectory_params(np.full(40, label), video_uniforms(0, "train", np.arange(40)), FRAMES)
    axis = 3 if label == 1 else 2
    first_step = params[:, 1, axis] - params[:, 0, axis]
    assert (first_step > 0).any() and (first_step < 0).any()  # both initial directions occur
    speeds = np.abs(first_step)
    assert speeds.min() >= DEFAULT_CONSTANTS.speed_min - 1e-5 and speeds.max() <= DEFAULT_CONSTANTS.speed_max + 1e-5
    assert np.ptp(speeds) > 0.5


def test_class2_ink_falls_then_rises_and_almost_vanishes():
    _, frames = render_class(2)
    mass = frames.sum(axis=(1, 2))
    middle = FRAMES // 2
    assert mass[middle] < 0.1 * mass[0] and mass[middle] < 0.1 * mass[-1]
    assert FRAMES / 3 <= np.argmin(mass) <= 2 * FRAMES / 3
    assert (mass[FRAMES // 3 : 2 * FRAMES // 3] > 0).sum() >= FRAMES // 6  # almost vanishes, mostly still visible
    assert np.all(np.diff(mass[: middle - 1]) <= 1e-6 * mass[0] + 1.0)  # shrinking in the first half


def test_class3_turns_clockwise_and_class4_counter_clockwise():
    _, clockwise = render_class(3)
    _, counter = render_class(4)
    assert turn(clockwise, 0, 3) == pytest.approx(-np.deg2rad(36), abs=np.deg2rad(8))
    assert turn(counter, 0, 3) == pytest.approx(np.deg2rad(36), abs=np.deg2rad(8))


def test_class5_centroid_goes_round_a_circle_in_the_drawn_direction():
    params = trajectory_params(np.full(20, 5), video_uniforms(0, "train", np.arange(20)), FRAMES)
    radius = np.hypot(params[..., 2], params[..., 3])
    assert np.ptp(radius, axis=1).max() < 1e-4  # constant radius per video
    assert np.ptp(radius[:, 0]) > 1.0  # radius varies between videos
    _, frames = render_class(5)
    c = centroids(frames) - 13.5
    angles = np.unwrap(np.arctan2(-c[:, 1], c[:, 0]))
    assert abs(angles[-1] - angles[0]) > np.deg2rad(300)  # nearly a full turn
    senses = np.diff(np.unwrap(np.arctan2(-params[..., 3], params[..., 2]), axis=1), axis=1).mean(axis=1)
    assert (senses > 0).any() and (senses < 0).any()  # both directions occur


def test_class6_grows_past_the_frame_while_turning_clockwise():
    params, frames = render_class(6)
    assert params[-1, 0] == pytest.approx(DEFAULT_CONSTANTS.grow_scale)
    assert turn(frames, 0, 3) < -np.deg2rad(20)
    spread = [np.sqrt(((frames[t] > 64) * ((np.mgrid[0:28, 0:28] - 13.5) ** 2).sum(0)).sum() / (frames[t] > 64).sum()) for t in (0, FRAMES - 1)]
    assert spread[1] > 1.5 * spread[0]


def test_class7_moves_horizontally_while_turning_counter_clockwise():
    _, frames = render_class(7)
    c = centroids(frames)
    assert np.ptp(c[:, 0]) > 4.0
    assert turn(frames, 0, 3) > np.deg2rad(20)


def test_class8_turns_clockwise_then_counter_clockwise():
    params, frames = render_class(8)
    assert turn(frames, 0, 3) < -np.deg2rad(20)
    assert turn(frames, FRAMES - 4, FRAMES - 1) > np.deg2rad(20)
    assert params[0, 1] == pytest.approx(params[-1, 1], abs=1e-6)  # back where it started


def test_class9_moves_and_turns_randomly():
    params = trajectory_params(np.full(30, 9), video_uniforms(0, "train", np.arange(30)), FRAMES)
    spins = params[:, 1, 1]
    assert (spins > 0).any() and (spins < 0).any()
    assert np.ptp(params[:, 1, 2]) > 1.0 and np.ptp(params[:, 1, 3]) > 1.0
    assert np.abs(params[..., 2:]).max() <= DEFAULT_CONSTANTS.bounce_limit + 1e-5
