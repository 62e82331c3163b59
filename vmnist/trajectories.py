"""The ten class-specific motions of Video-MNIST (Table 1 of Ras et al., 2019).

Every frame t of a video is the source digit warped by its own affine state
(scale s, rotation r in radians, tx, ty in pixels) about the frame centre, never by warping the
previous frame. Rotation is counter-clockwise on screen for r > 0; tx > 0 moves right, ty > 0
moves down (image rows). The formulas below are repeated, with the same names, in docs/dataset.md.

Per-video randomness: each video draws ``RANDOM_DRAWS`` uniforms from
``numpy.random.default_rng([seed, split_id, index])`` (see :func:`video_uniforms`), so a video depends only on
(seed, split, index), never on the batch or worker that renders it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Split names and their ids in the per-video seed; the id is part of the file format, never renumber.
SPLIT_IDS: dict[str, int] = {"train": 0, "val": 1, "test": 2}

#: How many uniforms each video draws (fixed so that every class consumes the same stream).
RANDOM_DRAWS = 6


@dataclass(frozen=True)
class TrajectoryConstants:
    """The one table of motion constants (pixels, frames, degrees); stored in each file's `config`."""

    rotation_step_deg: float = 12.0  # rotation per frame of classes 3, 4, 6, 7, 8: the authors' generator used 12
    speed_min: float = 0.5  # px/frame, classes 0, 1, 7: |velocity| drawn uniformly in [speed_min, speed_max]
    speed_max: float = 1.5
    bounce_limit: float = 6.0  # px: a translating digit reflects when its centre is this far from the frame centre
    vanish_scale: float = 0.15  # class 2: smallest scale, reached mid-video (the digit almost vanishes)
    grow_scale: float = 2.0  # class 6: scale at the last frame (the digit leaves the frame partly)
    radius_min: float = 3.0  # px, class 5: radius of the circular path drawn uniformly in [radius_min, radius_max]
    radius_max: float = 7.0
    circle_turns: float = 1.0  # class 5: turns of the circle over the whole video
    random_rotation_max_deg: float = 12.0  # class 9: rotation per frame uniform in [-max, max]
    random_speed_max: float = 1.5  # class 9: vx, vy uniform in [-max, max] px/frame

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_CONSTANTS = TrajectoryConstants()

#: Table 1 of the paper: what each class does and what varies per video.
TRAJECTORY_TABLE: dict[int, tuple[str, str]] = {
    0: ("moves horizontally", "initial direction (left/right), speed"),
    1: ("moves vertically", "initial direction (up/down), speed"),
    2: ("scales down, then up; almost vanishes", "-"),
    3: ("rotates clockwise", "-"),
    4: ("rotates counter-clockwise", "-"),
    5: ("moves along a circular path", "direction of rotation, radius"),
    6: ("scales up while rotating clockwise; leaves the frame partly", "-"),
    7: ("moves horizontally while rotating counter-clockwise", "initial direction, speed"),
    8: ("rotates clockwise, then counter-clockwise", "-"),
    9: ("random rotation and horizontal + vertical movement", "rotation speed, velocity"),
}


def video_uniforms(seed: int, split: str, indices: np.ndarray) -> np.ndarray:
    """Per-video uniforms in [0, 1): float64 (N, RANDOM_DRAWS), one independent stream per (seed, split, index)."""
    split_id = SPLIT_IDS[split]
    return np.stack([np.random.default_rng([seed, split_id, int(i)]).random(RANDOM_DRAWS) for i in indices])


def reflect(position: np.ndarray, limit: float) -> np.ndarray:
    """Fold an unbounded 1D path into [-limit, limit] by bouncing at the edges (a triangle wave)."""
    period = 4.0 * limit
    return limit - np.abs(np.mod(position + limit, period) - 2.0 * limit)


def trajectory_params(
    labels: np.ndarray, uniforms: np.ndarray, frames: int, constants: TrajectoryConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """Per-frame affine state of each video.

    Args:
        labels: int (N,), the digit classes 0-9.
        uniforms: float64 (N, RANDOM_DRAWS) in [0, 1), from :func:`video_uniforms`.
        frames: T, frames per video (>= 2).
        constants: the motion table.

    Returns:
        float32 (N, T, 4): (scale, rotation in radians, tx, ty in pixels) for every frame.
    """
    c = constants
    n = len(labels)
    t = np.arange(frames, dtype=np.float64)[None, :]  # (1, T)
    phase = t / (frames - 1)  # (1, T) from 0 to 1
    u = uniforms
    step = np.deg2rad(c.rotation_step_deg)

    # Per-video random variables, all drawn for every video (cheap; keeps the streams aligned).
    direction = np.where(u[:, 0:1] < 0.5, -1.0, 1.0)  # (N, 1)
    speed = c.speed_min + (c.speed_max - c.speed_min) * u[:, 1:2]  # (N, 1)
    radius = c.radius_min + (c.radius_max - c.radius_min) * u[:, 1:2]
    random_spin = np.deg2rad(c.random_rotation_max_deg) * (2.0 * u[:, 2:3] - 1.0)
    random_vx = c.random_speed_max * (2.0 * u[:, 3:4] - 1.0)
    random_vy = c.random_speed_max * (2.0 * u[:, 4:5] - 1.0)

    zeros = np.zeros((n, frames))
    scale, rotation, tx, ty = zeros + 1.0, zeros.copy(), zeros.copy(), zeros.copy()
    lab = np.asarray(labels)

    def rows(digit: int) -> np.ndarray:
        return lab == digit

    sweep = reflect(direction * speed * t, c.bounce_limit)  # (N, T): bouncing horizontal/vertical path
    m = rows(0)
    tx[m] = sweep[m]
    m = rows(1)
    ty[m] = sweep[m]
    m = rows(2)
    scale[m] = np.broadcast_to(1.0 - (1.0 - c.vanish_scale) * np.sin(np.pi * phase), (n, frames))[m]
    m = rows(3)
    rotation[m] = np.broadcast_to(-step * t, (n, frames))[m]
    m = rows(4)
    rotation[m] = np.broadcast_to(step * t, (n, frames))[m]
    m = rows(5)
    angle = direction * 2.0 * np.pi * c.circle_turns * t / frames  # (N, T)
    tx[m] = (radius * np.cos(angle))[m]
    ty[m] = (-radius * np.sin(angle))[m]  # minus: image rows grow downwards, so direction +1 is counter-clockwise
    m = rows(6)
    scale[m] = np.broadcast_to(1.0 + (c.grow_scale - 1.0) * phase, (n, frames))[m]
    rotation[m] = np.broadcast_to(-step * t, (n, frames))[m]
    m = rows(7)
    tx[m] = sweep[m]
    rotation[m] = np.broadcast_to(step * t, (n, frames))[m]
    m = rows(8)
    middle = (frames - 1) / 2.0
    rotation[m] = np.broadcast_to(-step * (middle - np.abs(t - middle)), (n, frames))[m]
    m = rows(9)
    rotation[m] = (random_spin * t)[m]
    tx[m] = reflect(random_vx * t, c.bounce_limit)[m]
    ty[m] = reflect(random_vy * t, c.bounce_limit)[m]

    return np.stack([scale, rotation, tx, ty], axis=-1).astype(np.float32)
