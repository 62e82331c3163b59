"""The `authors` family: the motion of the authors' public generator, in our renderer.

Ras et al. rendered Video-MNIST with `omg_emotion/create_moving_mnist.py` (redsphinx/relative-baseline). Its
videos are harsher than Table 1's words suggest: translating digits slide half out of the frame and speed up at
every bounce, a '2' shrinks to 2 px, a '6' grows from a 1 px dot to twice the frame, circles are walked at
~32 degrees per frame. This module writes that motion as per-frame affine states with our own formulas (nothing
of their code is used); every frame is still one warp of the source digit (vmnist.rendering.render), and the label-leaking
bugs of their code are not reproduced (docs/dataset.md lists every difference).

u0, u1 are the video's first uniforms; the random walk of class 9 uses the per-frame uniforms (stream.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from vmnist.rendering.trajectories.stream import walk_steps


@dataclass(frozen=True)
class AuthorsConstants:
    """The `authors` family's motion table (pixels, frames, degrees), measured on the authors' generator."""

    family: ClassVar[str] = "authors"

    rotation_step_deg: float = 12.0  # classes 3, 4, 6, 7, and the rotation step of 9 (their 360 // 30)
    turn_back_step_deg: float = 24.0  # class 8: a full turn clockwise over the first half, then one back (360 // 15)
    speed_min: int = 1  # px/frame, classes 0, 1, 7: initial speed, a whole number in [speed_min, speed_max]
    speed_max: int = 2
    speed_gain: float = 1.0  # px/frame added to the speed at every bounce
    bounce_limit: float = 13.0  # px from the centre: a step that would end farther out turns back (digit half out)
    vanish_scale: float = 2.0 / 28.0  # class 2: scale at frame (T-1)//2 (the digit is 2 px tall)
    return_scale: float = 30.0 / 28.0  # class 2: scale at the last frame (30 px)
    dot_scale: float = 1.0 / 28.0  # class 6: scale at frame 0 (a 1 px dot)
    grow_scale: float = 58.0 / 28.0  # class 6: scale at the last frame (58 px: twice the frame)
    radius_min: int = 4  # px, class 5: radius of the circle, a whole number in [radius_min, radius_max]
    radius_max: int = 12
    circle_step_rad: float = 12.0  # class 5: angle step per frame; their "12 degrees" went to cos/sin as radians
    walk_step_px: float = 1.0  # class 9: each frame moves -1, 0 or +1 steps in x and in y

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def bounce_path(direction: np.ndarray, speed: np.ndarray, frames: int, limit: float, gain: float) -> np.ndarray:
    """Whole-step back-and-forth path from the centre: float64 (N, T) offsets in pixels.

    Frame 0 is at 0; each frame moves by direction * speed. A step that would end beyond +-limit turns back
    instead, and the speed grows by `gain` at each such bounce.

    Args:
        direction: (N,) of -1 or +1; speed: (N,) initial px/frame.
    """
    position = np.zeros(len(direction))
    direction, speed = direction.astype(np.float64), speed.astype(np.float64)
    path = np.empty((len(direction), frames))
    for t in range(frames):  # sequential by nature (the speed changes at each bounce); vectorized over videos
        path[:, t] = position
        ahead = position + direction * speed
        bounce = np.abs(ahead) > limit
        direction = np.where(bounce, -direction, direction)
        speed = np.where(bounce, speed + gain, speed)
        # A speed beyond the whole range would still leave it: stop at the edge (never happens within 30 frames).
        position = np.clip(np.where(bounce, position + direction * speed, ahead), -limit, limit)
    return path


def authors_params(labels: np.ndarray, uniforms: np.ndarray, frames: int, constants: AuthorsConstants) -> np.ndarray:
    """Per-frame affine state of each video: float32 (N, T, 4) = (scale, rotation in radians, tx, ty in pixels).

    Args:
        labels: int (N,), the digit classes 0-9.
        uniforms: float64 (N, random_draws(T)) in [0, 1), the videos' streams (stream.video_uniforms).
        frames: T, frames per video (>= 2).
        constants: the motion table.
    """
    c = constants
    n = len(labels)
    t = np.arange(frames, dtype=np.float64)  # (T,)
    last = frames - 1
    step = np.deg2rad(c.rotation_step_deg)
    u = uniforms

    direction = np.where(u[:, 0] < 0.5, -1.0, 1.0)  # (N,)
    speed = c.speed_min + np.floor((c.speed_max - c.speed_min + 1) * u[:, 1])  # (N,) whole px/frame
    radius = c.radius_min + np.floor((c.radius_max - c.radius_min + 1) * u[:, 1])  # (N,) whole px

    scale, rotation, tx, ty = np.ones((n, frames)), np.zeros((n, frames)), np.zeros((n, frames)), np.zeros((n, frames))
    lab = np.asarray(labels)

    m = lab == 0  # back and forth horizontally
    tx[m] = bounce_path(direction[m], speed[m], frames, c.bounce_limit, c.speed_gain)
    m = lab == 1  # back and forth vertically
    ty[m] = bounce_path(direction[m], speed[m], frames, c.bounce_limit, c.speed_gain)
    m = lab == 2  # linear down to vanish_scale at mid-video, linear up to return_scale at the end
    middle = max((frames - 1) // 2, 1)
    scale[m] = np.interp(t, [0.0, middle, last], [1.0, c.vanish_scale, c.return_scale])
    m = lab == 3
    rotation[m] = -step * t
    m = lab == 4
    rotation[m] = step * t
    m = lab == 5  # whole-pixel points of a circle; direction -1 walks the same points backwards
    k = np.where(direction[m, None] > 0, t, last - t)  # (n5, T)
    angle = c.circle_step_rad * k
    tx[m] = np.round(radius[m, None] * np.cos(angle))
    ty[m] = np.round(radius[m, None] * np.sin(angle))
    m = lab == 6  # from a dot to twice the frame, turning clockwise
    scale[m] = c.dot_scale + (c.grow_scale - c.dot_scale) * t / last
    rotation[m] = -step * t
    m = lab == 7  # class 0's path, turning counter-clockwise
    tx[m] = bounce_path(direction[m], speed[m], frames, c.bounce_limit, c.speed_gain)
    rotation[m] = step * t
    m = lab == 8  # clockwise for the first T//2 frames, then counter-clockwise from the start angle
    half = frames // 2
    back = np.deg2rad(c.turn_back_step_deg)
    rotation[m] = np.where(t < half, -back * t, back * (t - half))
    m = lab == 9  # random walk: each frame -1/0/+1 rotation step and -1/0/+1 px in x and y, unbounded
    steps = walk_steps(u[m], frames)  # (n9, T-1, 3)
    walk = np.concatenate([np.zeros((int(m.sum()), 1, 3)), np.cumsum(steps, axis=1)], axis=1)  # (n9, T, 3)
    rotation[m] = step * walk[..., 0]
    tx[m] = c.walk_step_px * walk[..., 1]
    ty[m] = c.walk_step_px * walk[..., 2]

    return np.stack([scale, rotation, tx, ty], axis=-1).astype(np.float32)
