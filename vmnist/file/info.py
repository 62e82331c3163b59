"""Describe a Video-MNIST file: provenance, trajectory family, shards, shapes, class balance and compression."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vmnist.file.format import SPLITS
from vmnist.file.reader import SplitVideos, open_dataset, read_attributes, split_group, trajectories_of
from vmnist.file.shards import shard_records


@dataclass(frozen=True)
class SplitInfo:
    name: str
    videos_shape: tuple[int, ...]
    class_counts: np.ndarray  # int (10,)
    raw_bytes: int
    stored_bytes: int
    shards: int  # shard files holding the split (0: stored in the main file)

    @property
    def compression_ratio(self) -> float:
        return self.raw_bytes / max(self.stored_bytes, 1)


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    file_bytes: int  # the main file and its shards
    attributes: dict[str, Any]
    splits: tuple[SplitInfo, ...]
    trajectories: str  # the family, as in the fingerprint

    @property
    def compression_ratio(self) -> float:
        return sum(s.raw_bytes for s in self.splits) / max(sum(s.stored_bytes for s in self.splits), 1)

    @property
    def shards(self) -> int:
        return sum(s.shards for s in self.splits)


def dataset_info(path: str | os.PathLike) -> DatasetInfo:
    """Gather what `vmnist info` shows."""
    path = Path(path)
    attributes = read_attributes(path)
    splits = []
    with open_dataset(path) as f:
        records = shard_records(f)
        for name in SPLITS:
            if name not in f:
                continue
            group = split_group(f, name)
            videos = group["videos"]
            counts = np.bincount(group["labels"][:], minlength=10)
            raw = int(np.prod(videos.shape)) * videos.dtype.itemsize
            with SplitVideos(f, name) as store:
                stored = sum(int(d.id.get_storage_size()) for d in store.stored_datasets())
            splits.append(SplitInfo(name, tuple(videos.shape), counts, raw, stored, len(records.get(name, []))))
    shard_bytes = sum(r.bytes for rs in records.values() for r in rs)
    return DatasetInfo(path, path.stat().st_size + shard_bytes, attributes, tuple(splits), trajectories_of(attributes["config"]))


def config_items(config: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The generator config (the file's `config` attribute) as (key, value) text pairs, nested dicts flattened
    into dotted keys ("constants.speed_max"), lists joined by ", ", other values as JSON writes them."""
    items: list[tuple[str, str]] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items += config_items(value, f"{name}.")
        elif isinstance(value, (list, tuple)):
            items.append((name, ", ".join(_config_text(item) for item in value)))
        else:
            items.append((name, _config_text(value)))
    return items


def _config_text(value: Any) -> str:
    """A config value as text: strings as they are, anything else as JSON (null, true, 0.5)."""
    return value if isinstance(value, str) else json.dumps(value)
