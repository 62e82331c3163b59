"""Per-video randomness: one independent stream of uniforms per (seed, split, index).

Every video draws the same number of uniforms whatever its class and family, from
``numpy.random.default_rng([seed, split_id, index])``, so a video depends only on (seed, split, index),
never on the batch or worker process that renders it. Layout of a video's row of uniforms:

    u[0:6]                  per-video numbers (direction, speed or radius, ...; see each family)
    u[6 + 3 (t-1) + k]      random-walk step of frame t = 1 .. T-1: k = 0 rotation, 1 x, 2 y

The first six are the draws of generator 1.0, so its per-video numbers are unchanged.
"""
from __future__ import annotations

import numpy as np

#: Split names and their ids in the per-video seed; the id is part of the file format, never renumber.
SPLIT_IDS: dict[str, int] = {"train": 0, "val": 1, "test": 2}

#: Per-video uniforms at the start of each stream (u0 .. u5).
VIDEO_DRAWS = 6
#: Random-walk uniforms per frame step (rotation, x, y), after the per-video ones.
WALK_DRAWS = 3
#: Former name of VIDEO_DRAWS.
RANDOM_DRAWS = VIDEO_DRAWS


def random_draws(frames: int) -> int:
    """Uniforms drawn by every video of a T-frame file: VIDEO_DRAWS + WALK_DRAWS (T - 1)."""
    return VIDEO_DRAWS + WALK_DRAWS * (frames - 1)


def video_uniforms(seed: int, split: str, indices: np.ndarray, frames: int) -> np.ndarray:
    """Uniforms in [0, 1): float64 (N, random_draws(frames)), row i from the stream of video ``indices[i]``."""
    split_id = SPLIT_IDS[split]
    draws = random_draws(frames)
    out = np.empty((len(indices), draws), dtype=np.float64)
    for row, index in enumerate(indices):
        out[row] = np.random.default_rng([seed, split_id, int(index)]).random(draws)
    return out


def walk_steps(uniforms: np.ndarray, frames: int) -> np.ndarray:
    """Random-walk steps in {-1, 0, +1}, equally likely: float64 (N, T-1, 3) for (rotation, x, y) of frames 1 .. T-1."""
    u = uniforms[:, VIDEO_DRAWS : random_draws(frames)].reshape(len(uniforms), frames - 1, WALK_DRAWS)
    return np.floor(3.0 * u) - 1.0
