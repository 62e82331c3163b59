"""The `smooth` family: gentle, continuous motions that stay inside the frame (generator 1.0's trajectories).

Sub-pixel speeds, a bounce 6 px from the centre, a digit that shrinks to 0.15 and grows to 2.0. It shows the ten
motions of Table 1 cleanly, but is gentler than the videos the authors trained on (see `authors`).
Formulas, with the same names, in docs/dataset.md; u0 .. u4 are the video's first uniforms (stream.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class SmoothConstants:
    """The `smooth` family's motion table (pixels, frames, degrees); stored in each file's `config`."""

    family: ClassVar[str] = "smooth"

    rotation_step_deg: float = 12.0  # rotation per frame of classes 3, 4, 6, 7, 8
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


def reflect(position: np.ndarray, limit: float) -> np.ndarray:
    """Fold an unbounded 1D path into [-limit, limit] by bouncing at the edges (a triangle wave)."""
    period = 4.0 * limit
    return limit - np.abs(np.mod(position + limit, period) - 2.0 * limit)


def smooth_params(labels: np.ndarray, uniforms: np.ndarray, frames: int, constants: SmoothConstants) -> np.ndarray:
    """Per-frame affine state of each video: float32 (N, T, 4) = (scale, rotation in radians, tx, ty in pixels).

    Args:
        labels: int (N,), the digit classes 0-9.
        uniforms: float64 (N, >= 5) in [0, 1), the videos' streams (only u0 .. u4 are used).
        frames: T, frames per video (>= 2).
        constants: the motion table.
    """
    c = constants
    n = len(labels)
    t = np.arange(frames, dtype=np.float64)[None, :]  # (1, T)
    phase = t / (frames - 1)  # (1, T) from 0 to 1
    u = uniforms
    step = np.deg2rad(c.rotation_step_deg)

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

    def every(row: np.ndarray) -> np.ndarray:  # a (1, T) schedule for all N videos
        return np.broadcast_to(row, (n, frames))

    sweep = reflect(direction * speed * t, c.bounce_limit)  # (N, T): bouncing horizontal/vertical path
    m = rows(0)
    tx[m] = sweep[m]
    m = rows(1)
    ty[m] = sweep[m]
    m = rows(2)
    scale[m] = every(1.0 - (1.0 - c.vanish_scale) * np.sin(np.pi * phase))[m]
    m = rows(3)
    rotation[m] = every(-step * t)[m]
    m = rows(4)
    rotation[m] = every(step * t)[m]
    m = rows(5)
    angle = direction * 2.0 * np.pi * c.circle_turns * t / frames  # (N, T)
    tx[m] = (radius * np.cos(angle))[m]
    ty[m] = (-radius * np.sin(angle))[m]  # minus: image rows grow downwards, so direction +1 is counter-clockwise
    m = rows(6)
    scale[m] = every(1.0 + (c.grow_scale - 1.0) * phase)[m]
    rotation[m] = every(-step * t)[m]
    m = rows(7)
    tx[m] = sweep[m]
    rotation[m] = every(step * t)[m]
    m = rows(8)
    middle = (frames - 1) / 2.0
    rotation[m] = every(-step * (middle - np.abs(t - middle)))[m]
    m = rows(9)
    rotation[m] = (random_spin * t)[m]
    tx[m] = reflect(random_vx * t, c.bounce_limit)[m]
    ty[m] = reflect(random_vy * t, c.bounce_limit)[m]

    return np.stack([scale, rotation, tx, ty], axis=-1).astype(np.float32)
