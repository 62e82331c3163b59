"""Which videos a run trains and validates on, and its model's initialization seed.

Every random choice derives from a numpy seed *sequence* naming its purpose and its inputs
(`default_rng([STREAM, run, videos])`), never from `seed + i`: streams never overlap, and the training
videos of a run depend on (run, videos) alone, so every architecture sees exactly the same videos in the
same run (the paper's "replication of video selection", section 3.4).
"""
from __future__ import annotations

import hashlib

import numpy as np

from ttn.errors import TTNError
from ttn.registry import NUM_CLASSES, check_videos, val_count

# Purpose tags: the first word of every seed sequence.
TRAIN_STREAM = 1
VAL_STREAM = 2
SHUFFLE_STREAM = 3


def check_sample_size(videos: int, labels: np.ndarray, split: str = "train") -> None:
    """TTNError unless `videos` is a positive multiple of 10 that `labels` can supply videos/10 per class."""
    check_videos(videos)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=NUM_CLASSES)
    per_class = videos // NUM_CLASSES
    if counts.min() < per_class:
        raise TTNError(
            f"--videos {videos}: the {split} split has only {int(counts.min())} videos of its rarest class "
            f"({len(labels)} in all), {per_class} per class needed; choose at most {int(counts.min()) * NUM_CLASSES}"
        )


def train_indices(labels: np.ndarray, videos: int, run: int) -> np.ndarray:
    """A class-balanced sample of `videos` train-split indices (videos/10 per class), sorted: int64 (videos,).

    Depends only on (labels, videos, run): the same for every arch. Raises TTNError on an impossible size.
    """
    if run < 0:
        raise TTNError(f"--run must be >= 0, got {run}")
    labels = np.asarray(labels, dtype=np.int64)
    check_sample_size(videos, labels)
    rng = np.random.default_rng([TRAIN_STREAM, run, videos])
    per_class = videos // NUM_CLASSES
    chosen = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in range(NUM_CLASSES)]
    return np.sort(np.concatenate(chosen))


def check_val_fits(val_size: int, split_size: int, data: object = "the data file") -> None:
    """TTNError naming --val-size unless the val split (of `split_size` videos, in `data`) holds `val_size` videos
    (`ttn.registry.val_count`: 0 means all of them): a record never says it validated on more videos than it did."""
    if val_count(val_size, split_size) > split_size:
        raise TTNError(f"--val-size {val_size}: the val split of {data} has {split_size:,} videos; give --val-size "
                       f"{split_size} or less, or 0 for the whole split")


def val_indices(split_size: int, val_size: int, pick: str = "random") -> np.ndarray:
    """The fixed validation subset: `val_size` sorted indices of the val split (all of it if 0), a seeded sample
    (`pick` "random", the same for every run) or the first `val_size` ("first", the authors'). TTNError if the split
    is smaller than `val_size` (`check_val_fits`)."""
    check_val_fits(val_size, split_size)
    if val_count(val_size, split_size) == split_size:
        return np.arange(split_size, dtype=np.int64)
    if pick == "first":
        return np.arange(val_size, dtype=np.int64)
    rng = np.random.default_rng([VAL_STREAM, val_size])
    return np.sort(rng.choice(split_size, size=val_size, replace=False)).astype(np.int64)


def init_seed(arch: str, run: int) -> int:
    """The model-initialization seed of (arch, run): 63 bits of SHA-256("arch/run"), stable across machines."""
    digest = hashlib.sha256(f"ttn-init/{arch}/{run}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def shuffle_rng(seed: int, videos: int) -> np.random.Generator:
    """The generator of a run's mini-batch order (from its init seed and size)."""
    return np.random.default_rng([SHUFFLE_STREAM, seed, videos])
