"""Describe a Video-MNIST file: provenance, shapes, class balance and compression."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vmnist.format import SPLITS
from vmnist.reader import open_dataset, read_attributes, split_group


@dataclass(frozen=True)
class SplitInfo:
    name: str
    videos_shape: tuple[int, ...]
    class_counts: np.ndarray  # int (10,)
    raw_bytes: int
    stored_bytes: int

    @property
    def compression_ratio(self) -> float:
        return self.raw_bytes / max(self.stored_bytes, 1)


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    file_bytes: int
    attributes: dict[str, Any]
    splits: tuple[SplitInfo, ...]

    @property
    def compression_ratio(self) -> float:
        return sum(s.raw_bytes for s in self.splits) / max(sum(s.stored_bytes for s in self.splits), 1)


def dataset_info(path: str | os.PathLike) -> DatasetInfo:
    """Gather what `vmnist info` shows."""
    attributes = read_attributes(path)
    splits = []
    with open_dataset(path) as f:
        for name in SPLITS:
            if name not in f:
                continue
            group = split_group(f, name)
            videos = group["videos"]
            counts = np.bincount(group["labels"][:], minlength=10)
            raw = int(np.prod(videos.shape)) * videos.dtype.itemsize
            splits.append(SplitInfo(name, tuple(videos.shape), counts, raw, int(videos.id.get_storage_size())))
    return DatasetInfo(Path(path), Path(path).stat().st_size, attributes, tuple(splits))
