"""The `authors` family: each class's motion checked as a property of the rendered frames.

What the authors' generator does (docs/dataset.md): whole-pixel back-and-forth moves that leave the frame half
and speed up at each bounce (0, 1, 7), a '2' down to 2 px and back, a '6' from a dot to twice the frame,
32.5 degrees per frame round a circle (5), 24 degrees per frame for 8, a -1/0/+1 random walk for 9.
"""
from __future__ import annotations

import numpy as np
import pytest

from vmnist.rendering.render import render_videos
from vmnist.rendering.trajectories import AuthorsConstants, bounce_path, trajectory_params, video_uniforms
from vmnist.testing import ink_centroids, ink_mass, ink_turns, shifted, synthetic_digits

FRAMES = 30
AUTHORS = AuthorsConstants()
DIGITS = synthetic_digits(n_train=40, n_test=0, seed=3)


def digit_of(label: int) -> np.ndarray:
    """A synthetic digit of class `label`: uint8 (28, 28)."""
    return DIGITS.train_images[np.flatnonzero(DIGITS.train_labels == label)[0]]


def params_of(label: int, videos: int = 1, seed: int = 0) -> np.ndarray:
    """float32 (videos, T, 4) of videos 0.. of class `label`."""
    uniforms = video_uniforms(seed, "train", np.arange(videos), FRAMES)
    return trajectory_params(np.full(videos, label), uniforms, FRAMES, AUTHORS)


def render(label: int, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Params (T, 4) and frames uint8 (T, 28, 28) of video `index` of class `label`."""
    params = params_of(label, index + 1)[index : index + 1]
    return params[0], render_videos(digit_of(label)[None], params)[0]


@pytest.mark.parametrize("label, axis, kept", [(0, 0, 0.6), (1, 1, 0.6), (7, 0, 0.9)])
def test_translating_classes_slide_half_out_of_the_frame(label, axis, kept):
    params, frames = render(label)
    assert np.abs(params[:, 2 + axis]).max() == AUTHORS.bounce_limit and not params[:, 3 - axis].any()
    assert np.ptp(ink_centroids(frames)[:, axis]) > 15.0  # the centre travels +-13 px (the visible ink a bit less)
    mass = ink_mass(frames)
    assert mass.min() < kept * mass[0]  # ink leaves the frame (7 turns, so less of it at the edge)


@pytest.mark.parametrize("label, axis", [(0, 2), (1, 3)])
def test_moves_are_whole_pixels_and_frames_are_exact_shifts(label, axis):
    params, frames = render(label)
    offsets = params[:, axis]
    np.testing.assert_array_equal(offsets, np.round(offsets))
    for t in range(FRAMES):
        dx, dy = (int(offsets[t]), 0) if axis == 2 else (0, int(offsets[t]))
        np.testing.assert_array_equal(frames[t], shifted(digit_of(label), dx, dy))


def test_speed_starts_at_1_or_2_px_and_grows_by_1_at_each_bounce():
    params = params_of(0, videos=60)
    steps = np.diff(params[..., 2], axis=1)  # (60, T-1)
    assert set(np.abs(steps[:, 0]).tolist()) == {1.0, 2.0}
    assert (steps[:, 0] > 0).any() and (steps[:, 0] < 0).any()  # both initial directions
    assert np.abs(params[..., 2]).max() == AUTHORS.bounce_limit
    for row in steps:
        turned = np.flatnonzero(np.sign(row[1:]) != np.sign(row[:-1])) + 1
        assert len(turned) >= 1
        np.testing.assert_array_equal(np.abs(row[turned]), np.abs(row[turned - 1]) + AUTHORS.speed_gain)


def test_bounce_path_turns_before_passing_the_limit():
    path = bounce_path(np.array([1.0]), np.array([2.0]), 12, limit=5.0, gain=1.0)
    np.testing.assert_array_equal(path[0], [0, 2, 4, 1, -2, -5, -1, 3, -2, 4, -3, 5])


def test_class2_shrinks_to_a_faint_dot_at_mid_video_and_returns():
    params, frames = render(2)
    mass = ink_mass(frames)
    middle = (FRAMES - 1) // 2
    assert np.argmin(mass) == middle and params[middle, 0] == pytest.approx(2 / 28)
    assert 0 < mass[middle] < 0.02 * mass[0]  # almost vanishes, but is not gone
    assert frames[middle].max() < 100  # anti-aliased: a faint blob, not a few bright pixels
    assert mass[-1] > mass[0]  # back up to 30 px: the last frame is not black (the authors' index bug)
    assert np.all(np.diff(mass[: middle + 1]) < 0) and np.all(np.diff(mass[middle:]) > 0)


def test_class3_and_4_turn_12_degrees_per_frame():
    for label, sign in ((3, -1), (4, 1)):
        turns = np.rad2deg(ink_turns(render(label)[1][:6]))
        np.testing.assert_allclose(turns, sign * 12.0, atol=4.0)


def test_class5_jumps_32_degrees_per_frame_round_a_whole_pixel_circle():
    params = params_of(5, videos=40)
    tx, ty = params[..., 2], params[..., 3]
    np.testing.assert_array_equal(tx, np.round(tx))
    radius = np.hypot(tx, ty).mean(axis=1)
    assert radius.min() >= AUTHORS.radius_min - 0.5 and radius.max() <= AUTHORS.radius_max + 0.5
    assert np.ptp(radius) > 4.0  # radius varies between videos
    steps = np.rad2deg(np.diff(np.unwrap(np.arctan2(ty, tx), axis=1), axis=1)).mean(axis=1)  # screen y down
    assert np.all(np.abs(np.abs(steps) - 32.45) < 1.5)  # 12 rad = -32.45 deg mod 360, either sense
    assert (steps > 0).any() and (steps < 0).any()
    p, frames = render(5)
    for t in range(FRAMES):  # every frame is the digit moved by whole pixels
        np.testing.assert_array_equal(frames[t], shifted(digit_of(5), int(p[t, 2]), int(p[t, 3])))


def test_class6_starts_as_a_dot_and_ends_twice_the_frame_turning_clockwise():
    params, frames = render(6)
    mass = ink_mass(frames)
    assert params[0, 0] == pytest.approx(1 / 28) and params[-1, 0] == pytest.approx(58 / 28)
    assert mass[0] < 0.01 * mass[-1] and frames[0].max() < 60  # a faint dot first
    border = np.concatenate([frames[-1, 0], frames[-1, -1], frames[-1, :, 0], frames[-1, :, -1]])
    assert border.max() > 100  # the grown digit runs off the frame
    np.testing.assert_allclose(np.rad2deg(ink_turns(frames[14:20])), -12.0, atol=4.0)


def test_class7_turns_counter_clockwise_while_sliding():
    params, frames = render(7)
    assert np.rad2deg(ink_turns(frames[:4])).mean() == pytest.approx(12.0, abs=4.0)
    np.testing.assert_array_equal(params[:, 2], bounce_path(np.array([np.sign(params[1, 2])]),
                                                            np.array([abs(params[1, 2])]), FRAMES, 13.0, 1.0)[0])


def test_class8_turns_24_degrees_per_frame_one_way_then_the_other():
    params, frames = render(8)
    turns = np.rad2deg(ink_turns(frames))  # (T-1,)
    np.testing.assert_allclose(turns[:6], -24.0, atol=5.0)  # clockwise
    np.testing.assert_allclose(turns[16:22], 24.0, atol=5.0)  # counter-clockwise
    assert np.rad2deg(params[14, 1]) == pytest.approx(-336.0) and params[15, 1] == 0.0


def test_class9_random_walk_steps():
    params = params_of(9, videos=30)
    spin = np.rad2deg(np.diff(params[..., 1], axis=1))
    moves = np.diff(params[..., 2:], axis=1)
    np.testing.assert_allclose(np.unique(np.round(spin, 3)), [-12.0, 0.0, 12.0])
    assert set(np.unique(moves).tolist()) == {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(params[:, 0], np.tile([1.0, 0.0, 0.0, 0.0], (30, 1)))
    # Rendered: where the angle holds (and no ink touches the edge), the next frame is the previous one moved by
    # its whole-pixel step.
    p, frames = render(9)
    ring = np.ones((28, 28), dtype=bool)
    ring[1:-1, 1:-1] = False
    checked = 0
    for t in range(FRAMES - 1):
        dx, dy = int(p[t + 1, 2] - p[t, 2]), int(p[t + 1, 3] - p[t, 3])
        if p[t + 1, 1] == p[t, 1] and not frames[t][ring].any() and not frames[t + 1][ring].any():
            np.testing.assert_array_equal(frames[t + 1], shifted(frames[t], dx, dy))
            checked += 1
    assert checked >= 3
