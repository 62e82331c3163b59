"""The ten class-specific motions of Video-MNIST (Table 1 of Ras et al., 2019), in two families.

Every frame t of a video is the source digit warped by its own affine state (scale s, rotation r in radians,
tx, ty in pixels) about the frame centre, never by warping the previous frame. Rotation is counter-clockwise
on screen for r > 0; tx > 0 moves right, ty > 0 moves down (image rows).

Families (the registry :data:`FAMILIES`; numpy only, no torch, so ``--help`` stays fast):

- ``authors``: the motion the authors' public generator produced (whole-pixel moves that leave the frame
  half, a '2' shrinking to 2 px, a '6' growing from a dot to twice the frame, ...):
  vmnist.rendering.trajectories.authors.
- ``smooth``: gentler constants that keep every digit inside the frame (generator 1.0):
  vmnist.rendering.trajectories.smooth.

Each family's constants are one frozen dataclass, stored with the family name in every file's ``config``.
Per-video randomness: vmnist.rendering.trajectories.stream. Formulas with the same names: docs/dataset.md.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

from vmnist.rendering.trajectories.authors import AuthorsConstants, authors_params, bounce_path
from vmnist.rendering.trajectories.smooth import SmoothConstants, reflect, smooth_params
from vmnist.rendering.trajectories.stream import (
    RANDOM_DRAWS,
    SPLIT_IDS,
    VIDEO_DRAWS,
    WALK_DRAWS,
    random_draws,
    video_uniforms,
    walk_steps,
)

Constants = Union[AuthorsConstants, SmoothConstants]


@dataclass(frozen=True)
class TrajectoryFamily:
    """A family of trajectories: its name, its constants table and the function from random numbers to params."""

    name: str
    constants: type
    params: Callable[[np.ndarray, np.ndarray, int, Any], np.ndarray]
    summary: str


#: Every trajectory family, by the name `vmnist generate --trajectories` takes.
FAMILIES: dict[str, TrajectoryFamily] = {
    "authors": TrajectoryFamily(
        "authors", AuthorsConstants, authors_params,
        "the motion of the authors' generator: digits leave the frame half, almost vanish (2), grow from a dot (6)",
    ),
    "smooth": TrajectoryFamily(
        "smooth", SmoothConstants, smooth_params,
        "gentle sub-pixel motion that stays inside the frame (generator 1.0's trajectories)",
    ),
}

#: The family `vmnist generate` renders unless told otherwise (docs/dataset.md says why).
DEFAULT_TRAJECTORIES = "authors"

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
    9: ("random rotation and horizontal + vertical movement", "rotation, movement"),
}

def family_of(constants: Constants) -> TrajectoryFamily:
    """The family whose table `constants` is."""
    return FAMILIES[type(constants).family]


def default_constants(family: str) -> Constants:
    """The registered constants of a family (KeyError-free: unknown names raise ValueError listing the choices)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown trajectory family {family!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[family].constants()


def constants_from_dict(family: str, values: dict[str, Any]) -> Constants:
    """A family's constants from the `config` JSON of a file."""
    return type(default_constants(family))(**values)


def trajectories_id(constants: Constants) -> str:
    """The family name, or ``name:<hash>`` when the constants differ from the registered ones (custom tables)."""
    family = family_of(constants)
    if constants == family.constants():
        return family.name
    digest = hashlib.sha256(json.dumps(constants.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{family.name}:{digest}"


def trajectory_params(labels: np.ndarray, uniforms: np.ndarray, frames: int, constants: Constants | None = None) -> np.ndarray:
    """Per-frame affine state of each video under `constants`' family (default: DEFAULT_TRAJECTORIES).

    Args:
        labels: int (N,), the digit classes 0-9.
        uniforms: float64 (N, random_draws(T)) in [0, 1), from :func:`video_uniforms`.
        frames: T, frames per video (>= 2).
        constants: a family's motion table (AuthorsConstants or SmoothConstants).

    Returns:
        float32 (N, T, 4): (scale, rotation in radians, tx, ty in pixels) for every frame.
    """
    constants = default_constants(DEFAULT_TRAJECTORIES) if constants is None else constants
    return family_of(constants).params(np.asarray(labels), uniforms, frames, constants)


__all__ = [
    "AuthorsConstants", "SmoothConstants", "Constants", "TrajectoryFamily", "FAMILIES", "DEFAULT_TRAJECTORIES",
    "TRAJECTORY_TABLE", "SPLIT_IDS", "VIDEO_DRAWS", "WALK_DRAWS",
    "RANDOM_DRAWS", "random_draws", "video_uniforms", "walk_steps", "reflect", "bounce_path", "family_of",
    "default_constants", "constants_from_dict", "trajectories_id", "trajectory_params", "authors_params",
    "smooth_params",
]
