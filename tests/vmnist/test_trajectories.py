"""The trajectory registry, the per-video random streams, and the `smooth` family's ten motions (rendered frames).

The `authors` family has its own file (test_trajectories_authors.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from vmnist.rendering.render import render_videos
from vmnist.rendering.trajectories import (
    DEFAULT_TRAJECTORIES,
    FAMILIES,
    VIDEO_DRAWS,
    AuthorsConstants,
    SmoothConstants,
    constants_from_dict,
    random_draws,
    reflect,
    trajectories_id,
    trajectory_params,
    video_uniforms,
)
from vmnist.testing import ink_centroids, ink_turns

FRAMES = 30
SMOOTH = SmoothConstants()


def bar_digit() -> np.ndarray:
    """An asymmetric glyph: a vertical bar with a foot to the right (uint8 28x28), so orientation is defined."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255
    image[18:22, 16:20] = 255
    return image


def smooth_params(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    return trajectory_params(labels, video_uniforms(seed, "train", np.arange(len(labels)), FRAMES), FRAMES, SMOOTH)


def render_class(label: int) -> tuple[np.ndarray, np.ndarray]:
    """Params (T, 4) and frames float (T, 28, 28) of video 0 of `label` over the bar glyph, smooth family."""
    params = smooth_params(np.array([label]))
    return params[0], render_videos(bar_digit()[None], params)[0].astype(np.float64)


def turn(frames: np.ndarray, start: int, stop: int) -> float:
    return float(ink_turns(frames[start : stop + 1]).sum())


# ----------------------------------------------------------------------------- registry and streams
def test_registry_names_both_families_and_the_default():
    assert set(FAMILIES) == {"authors", "smooth"} and DEFAULT_TRAJECTORIES in FAMILIES
    assert FAMILIES["authors"].constants is AuthorsConstants and FAMILIES["smooth"].constants is SmoothConstants
    assert trajectories_id(SmoothConstants()) == "smooth" and trajectories_id(AuthorsConstants()) == "authors"
    custom = trajectories_id(SmoothConstants(bounce_limit=5.0))
    assert custom.startswith("smooth:") and custom != trajectories_id(SmoothConstants(bounce_limit=4.0))
    assert constants_from_dict("authors", AuthorsConstants().to_dict()) == AuthorsConstants()
    with pytest.raises(ValueError, match="choose from authors, smooth"):
        constants_from_dict("wobbly", {})


def test_uniforms_depend_on_seed_split_and_index_only():
    a = video_uniforms(7, "train", np.array([0, 1, 2]), FRAMES)
    assert a.shape == (3, random_draws(FRAMES)) == (3, VIDEO_DRAWS + 3 * (FRAMES - 1))
    np.testing.assert_array_equal(a[1], video_uniforms(7, "train", np.array([1]), FRAMES)[0])  # batch-independent
    assert not np.array_equal(a, video_uniforms(8, "train", np.array([0, 1, 2]), FRAMES))
    assert not np.array_equal(a, video_uniforms(7, "val", np.array([0, 1, 2]), FRAMES))
    assert not np.array_equal(a[0], a[1])
    # The first six are generator 1.0's draws, so the smooth family's per-video numbers did not change.
    np.testing.assert_array_equal(a[2, :VIDEO_DRAWS], np.random.default_rng([7, 0, 2]).random(VIDEO_DRAWS))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_params_shape_dtype_and_identity_start(family):
    labels = np.arange(10)
    constants = FAMILIES[family].constants()
    params = trajectory_params(labels, video_uniforms(0, "train", labels, FRAMES), FRAMES, constants)
    assert params.shape == (10, FRAMES, 4) and params.dtype == np.float32
    for label in (2, 3, 4, 8):  # classes that start at the identity in both families
        np.testing.assert_allclose(params[label, 0], [1.0, 0.0, 0.0, 0.0])


def test_reflect_is_a_triangle_wave_within_limits():
    x = np.linspace(-50, 50, 1001)
    y = reflect(x, 6.0)
    assert y.min() >= -6.0 and y.max() <= 6.0
    np.testing.assert_allclose(reflect(np.array([0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 24.0]), 6.0), [0, 3, 6, 3, 0, -6, 0])


# ----------------------------------------------------------------------------- the smooth family
def test_smooth_class0_moves_horizontally_only():
    c = ink_centroids(render_class(0)[1])
    assert np.ptp(c[:, 0]) > 5.0
    assert np.ptp(c[:, 1]) < 0.5


def test_smooth_class1_moves_vertically_only():
    c = ink_centroids(render_class(1)[1])
    assert np.ptp(c[:, 1]) > 5.0
    assert np.ptp(c[:, 0]) < 0.5


@pytest.mark.parametrize("label", [0, 1, 7])
def test_smooth_direction_and_speed_vary_between_videos(label):
    params = smooth_params(np.full(40, label))
    axis = 3 if label == 1 else 2
    first_step = params[:, 1, axis] - params[:, 0, axis]
    assert (first_step > 0).any() and (first_step < 0).any()  # both initial directions occur
    speeds = np.abs(first_step)
    assert speeds.min() >= SMOOTH.speed_min - 1e-5 and speeds.max() <= SMOOTH.speed_max + 1e-5
    assert np.ptp(speeds) > 0.5


def test_smooth_class2_ink_falls_then_rises_and_almost_vanishes():
    frames = render_class(2)[1]
    mass = frames.sum(axis=(1, 2))
    middle = FRAMES // 2
    assert mass[middle] < 0.1 * mass[0] and mass[middle] < 0.1 * mass[-1]
    assert FRAMES / 3 <= np.argmin(mass) <= 2 * FRAMES / 3
    assert (mass[FRAMES // 3 : 2 * FRAMES // 3] > 0).sum() >= FRAMES // 6  # almost vanishes, mostly still visible
    assert np.all(np.diff(mass[: middle - 1]) <= 1e-6 * mass[0] + 1.0)  # shrinking in the first half


def test_smooth_class3_turns_clockwise_and_class4_counter_clockwise():
    assert turn(render_class(3)[1], 0, 3) == pytest.approx(-np.deg2rad(36), abs=np.deg2rad(8))
    assert turn(render_class(4)[1], 0, 3) == pytest.approx(np.deg2rad(36), abs=np.deg2rad(8))


def test_smooth_class5_centroid_goes_round_a_circle_in_the_drawn_direction():
    params = smooth_params(np.full(20, 5))
    radius = np.hypot(params[..., 2], params[..., 3])
    assert np.ptp(radius, axis=1).max() < 1e-4  # constant radius per video
    assert np.ptp(radius[:, 0]) > 1.0  # radius varies between videos
    c = ink_centroids(render_class(5)[1]) - 13.5
    angles = np.unwrap(np.arctan2(-c[:, 1], c[:, 0]))
    assert abs(angles[-1] - angles[0]) > np.deg2rad(300)  # nearly a full turn
    senses = np.diff(np.unwrap(np.arctan2(-params[..., 3], params[..., 2]), axis=1), axis=1).mean(axis=1)
    assert (senses > 0).any() and (senses < 0).any()  # both directions occur


def test_smooth_class6_grows_past_the_frame_while_turning_clockwise():
    params, frames = render_class(6)
    assert params[-1, 0] == pytest.approx(SMOOTH.grow_scale)
    assert turn(frames, 0, 3) < -np.deg2rad(20)
    rows, cols = np.mgrid[0:28, 0:28]
    spread = [np.sqrt((((rows - 13.5) ** 2 + (cols - 13.5) ** 2) * (frames[t] > 64)).sum() / (frames[t] > 64).sum())
              for t in (0, FRAMES - 1)]
    assert spread[1] > 1.5 * spread[0]


def test_smooth_class7_moves_horizontally_while_turning_counter_clockwise():
    frames = render_class(7)[1]
    assert np.ptp(ink_centroids(frames)[:, 0]) > 4.0
    assert turn(frames, 0, 3) > np.deg2rad(20)


def test_smooth_class8_turns_clockwise_then_counter_clockwise():
    params, frames = render_class(8)
    assert turn(frames, 0, 3) < -np.deg2rad(20)
    assert turn(frames, FRAMES - 4, FRAMES - 1) > np.deg2rad(20)
    assert params[0, 1] == pytest.approx(params[-1, 1], abs=1e-6)  # back where it started


def test_smooth_class9_moves_and_turns_randomly():
    params = smooth_params(np.full(30, 9))
    spins = params[:, 1, 1]
    assert (spins > 0).any() and (spins < 0).any()
    assert np.ptp(params[:, 1, 2]) > 1.0 and np.ptp(params[:, 1, 3]) > 1.0
    assert np.abs(params[..., 2:]).max() <= SMOOTH.bounce_limit + 1e-5
