"""Read Video-MNIST files: validation, fast whole-subset loading, and a lazy torch `Dataset`.

Every entry point validates the file first and raises :class:`DatasetError` with the remedy for a
missing, foreign, truncated or incomplete file, a missing split, or a missing or truncated shard.
Sharded files (vmnist.file.shards) read exactly like unsharded ones.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from vmnist.file.contents import check_attributes, check_split, how_to_render, regenerate
from vmnist.file.deflate import DeflateError, decompress
from vmnist.file.format import SPLITS
from vmnist.file.shards import check_shards_present, open_shard, plain, regenerate_hint, shard_records
from vmnist.infra.errors import DatasetError
from vmnist.infra.files import not_regular


def open_dataset(path: str | os.PathLike) -> h5py.File:
    """Open a Video-MNIST file read-only after checking that it is one, complete, of a known version, and that its
    attributes and splits are what the contract says (`vmnist.file.contents`)."""
    path = Path(path)
    why = not_regular(path)
    if why == "no such file":
        raise DatasetError(f"{path}: no such file; create it with `vmnist generate --out {path}`")
    if why is not None:
        raise DatasetError(f"{path} is {why}, not a Video-MNIST file; give the .h5 file made by `vmnist generate`")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file (truncated or foreign: {exc.__class__.__name__}); "
                           f"{how_to_render(path)}") from None
    try:
        check_attributes(f)
        check_shards_present(path, shard_records(f))  # HDF5 would read a missing shard as zeros
        for split in SPLITS:
            if split in f:
                split_group(f, split)  # every present split whole: no reader meets a damaged one mid-way
    except BaseException:
        f.close()
        raise
    return f


def split_group(f: h5py.File, split: str) -> h5py.Group:
    """The group of `split`, checked for its four datasets of the contract's dtypes and shapes, one row per label,
    labels 0-9 (`vmnist.file.contents.check_split`)."""
    return check_split(f, split)


def read_attributes(path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes as plain Python values (`config` and `shards` decoded from JSON)."""
    with open_dataset(path) as f:
        return check_attributes(f)


def trajectories_of(config: dict[str, Any]) -> str:
    """The trajectory family a file's decoded `config` names, as vmnist.rendering.trajectories.trajectories_id gives it.

    Files of generator 1.0 name none: they have the `smooth` trajectories.
    """
    from vmnist.rendering.trajectories import constants_from_dict, trajectories_id

    family = config.get("trajectories", "smooth")
    try:
        return trajectories_id(constants_from_dict(family, config.get("constants", {})))
    except (TypeError, ValueError):  # a table this vmnist does not know: name it by its content
        digest = hashlib.sha256(json.dumps(config.get("constants"), sort_keys=True).encode()).hexdigest()[:12]
        return f"{family}:{digest}"


def dataset_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """What identifies the data a model saw (plain JSON values).

    Keys: mnist_sha256, seed, frames, height, width, format_version, generator_version, trajectories (the
    family name, or ``name:<hash>`` for a custom constants table) and split_sizes ({split: videos}). Sharded and
    unsharded files of the same data have the same fingerprint.
    """
    attrs = read_attributes(path)
    keys = ("mnist_sha256", "seed", "frames", "height", "width", "format_version", "generator_version")
    fingerprint = {key: attrs[key] for key in keys}
    fingerprint["trajectories"] = trajectories_of(attrs["config"])
    fingerprint["split_sizes"] = split_sizes(path)
    return fingerprint


def split_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Videos per split present in the file."""
    with open_dataset(path) as f:
        return {split: int(f[split]["labels"].shape[0]) for split in SPLITS if split in f}


def load_labels(path: str | os.PathLike, split: str) -> np.ndarray:
    """All labels of a split: uint8 (N,)."""
    with open_dataset(path) as f:
        return split_group(f, split)["labels"][:]


def _check_indices(indices: Sequence[int] | np.ndarray, size: int, path: Any, split: str) -> np.ndarray:
    index = np.asarray(indices, dtype=np.int64).reshape(-1)
    if index.size and (index.min() < 0 or index.max() >= size):
        raise DatasetError(f"{path}: index out of range for split {split!r} of {size} videos")
    return index


def chunk_readable(videos: h5py.Dataset) -> bool:
    """Whether each video of `videos` is one deflate chunk that read_videos can read and inflate directly."""
    if videos.is_virtual:
        return False
    plist = videos.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    return videos.chunks == (1, *videos.shape[1:]) and filters == [h5py.h5z.FILTER_DEFLATE]


def read_videos(videos: h5py.Dataset, index: np.ndarray, direct: bool | None = None) -> np.ndarray:
    """Videos at `index` (any order, repeats allowed) of one stored dataset: uint8 (len(index), T, H, W).

    Reads each one-video chunk directly and inflates it (ISA-L when installed), ~10x faster than h5py fancy indexing;
    falls back to ordinary reads for files written with other filters or chunking, and for virtual datasets
    (use :class:`SplitVideos` to read a sharded split fast). `direct`: chunk_readable(videos), if already known.
    """
    shape = videos.shape[1:]
    out = np.empty((len(index), *shape), dtype=np.uint8)
    direct = chunk_readable(videos) if direct is None else direct
    try:
        for row, i in enumerate(index):
            if direct:
                mask, chunk = videos.id.read_direct_chunk((int(i), 0, 0, 0))
                if mask == 0:
                    out[row] = np.frombuffer(decompress(chunk), dtype=np.uint8).reshape(shape)
                    continue
            out[row] = videos[int(i)]
    except (OSError, ValueError, DeflateError) as exc:  # a damaged chunk: h5py, the inflater or the reshape says so
        raise DatasetError(f"{videos.file.filename}: a video of {videos.name} cannot be read ({type(exc).__name__}); "
                           f"the file is damaged: {regenerate(videos.file)}") from None
    return out


class SplitVideos:
    """Random access to the videos of one split, stored in the file itself or in its shards.

    For a sharded file, index i is mapped to its shard's own ``videos`` dataset (opened on first use and kept
    open, one handle per shard), so reads stay direct chunk reads. Close it, or use it as a context manager.
    """

    def __init__(self, f: h5py.File, split: str):
        group = split_group(f, split)
        self.path = Path(f.filename)
        self.size = int(group["labels"].shape[0])
        self.shape = tuple(group["videos"].shape[1:])  # (T, H, W)
        records = shard_records(f)
        self.records = records.get(split, [])
        self.dataset_id = str(plain(f.attrs.get("dataset_id", "")))
        self._hint = regenerate_hint(self.path, records)
        self._own = None if self.records else group["videos"]
        self._own_direct = None if self._own is None else chunk_readable(self._own)
        self._starts = np.array([record.start for record in self.records], dtype=np.int64)
        self._shards: dict[int, tuple[h5py.File, h5py.Dataset, bool]] = {}  # shard -> (file, videos, chunk_readable)

    def _shard(self, k: int) -> tuple[h5py.Dataset, bool]:
        """The videos of shard k and whether its chunks read directly; opened (and checked) on first use."""
        if k not in self._shards:
            file = open_shard(self.path, self.records[k], self.dataset_id, self._hint, frames=self.shape[0])
            self._shards[k] = (file, file["videos"], chunk_readable(file["videos"]))
        return self._shards[k][1:]

    def read(self, index: np.ndarray) -> np.ndarray:
        """Videos at `index` (any order, repeats allowed; checked by the caller): uint8 (len(index), T, H, W)."""
        index = np.asarray(index, dtype=np.int64)
        if self._own is not None:
            return read_videos(self._own, index, self._own_direct)
        shard_of = np.searchsorted(self._starts, index, side="right") - 1  # (len(index),)
        groups = [(int(shard_of[0]), np.arange(1))] if len(index) == 1 else [  # one video: the torch Dataset's case
            (int(k), np.flatnonzero(shard_of == k)) for k in np.unique(shard_of)]
        parts = []
        for k, rows in groups:
            videos, direct = self._shard(k)
            parts.append((rows, read_videos(videos, index[rows] - self.records[k].start, direct)))
        if len(parts) == 1:  # all from one shard: no copy
            return parts[0][1]
        out = np.empty((len(index), *self.shape), dtype=np.uint8)
        for rows, part in parts:
            out[rows] = part
        return out

    def stored_datasets(self) -> list[h5py.Dataset]:
        """Every stored dataset of the split's videos (all shards opened)."""
        if self._own is not None:
            return [self._own]
        return [self._shard(k)[0] for k in range(len(self.records))]

    def close(self) -> None:
        for file, _, _ in self._shards.values():
            file.close()
        self._shards.clear()

    def __enter__(self) -> "SplitVideos":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def load_split(
    path: str | os.PathLike, split: str, indices: Sequence[int] | np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split, or the videos at `indices` of it, into memory.

    Returns:
        videos: torch.uint8 (N, T, H, W); labels: torch.int64 (N,).
    """
    with open_dataset(path) as f, SplitVideos(f, split) as store:
        labels = split_group(f, split)["labels"][:]
        index = np.arange(len(labels)) if indices is None else _check_indices(indices, len(labels), path, split)
        videos = store.read(index)
    return torch.from_numpy(videos), torch.from_numpy(labels[index].astype(np.int64))


class VideoMNIST(Dataset):
    """A split of a Video-MNIST file as a torch Dataset, with torchvision's ``transform`` / ``target_transform``.

    Item i is ``(video, label)``: video float32 (1, T, H, W) in [0, 1] (channels, frames, height, width; by default
    T = 30, H = W = 28), label an int 0-9 (the digit, which is also its trajectory class), each passed through
    `transform` / `target_transform` when given. A DataLoader batches them to (B, 1, T, H, W) and int64 (B,).
    The HDF5 file is opened lazily in each process (h5py handles cannot be pickled or shared across a fork), so
    the dataset works with ``DataLoader(num_workers > 0)``. For small training subsets, :func:`load_split` is faster.

        >>> from vmnist import VideoMNIST, transforms
        >>> data = VideoMNIST("data.h5", "train", transform=transforms.for_video_resnet())  # (3, 30, 112, 112)

    Args:
        path: the .h5 file written by `vmnist generate`.
        split: "train", "val" or "test".
        transform: callable on the video tensor (e.g. from :mod:`vmnist.transforms`); its result is the item's video.
        target_transform: callable on the int label.
        indices: optional subset (indices into the split); item i is video ``indices[i]``.

    ``classes`` names the labels as torchvision's datasets do (label i is ``classes[i]``, the digit '0'..'9');
    ``class_to_idx`` maps a name back to its label.
    """

    #: The class names, by label: the digits (each digit is also its trajectory class).
    classes: list[str] = [str(digit) for digit in range(10)]

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> label, e.g. {'0': 0, ..., '9': 9} (torchvision's ImageFolder and MNIST have it too)."""
        return {name: label for label, name in enumerate(self.classes)}

    def __init__(self, path: str | os.PathLike, split: str, *, transform: Callable[[torch.Tensor], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, indices: Sequence[int] | None = None):
        self.path = Path(path)
        self.split = split
        self.transform = transform
        self.target_transform = target_transform
        with open_dataset(self.path) as f:
            group = split_group(f, split)
            self.labels = group["labels"][:]
            self.frames, self.height, self.width = group["videos"].shape[1:]
        size = len(self.labels)
        self.indices = np.arange(size) if indices is None else _check_indices(indices, size, self.path, split)
        self._file: h5py.File | None = None
        self._store: SplitVideos | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def targets(self) -> torch.Tensor:
        """The labels of the items, in item order, before `target_transform`: int64 (len(self),)."""
        return torch.from_numpy(self.labels[self.indices].astype(np.int64))

    def _videos(self) -> SplitVideos:
        if self._store is None or self._pid != os.getpid():
            self._file = open_dataset(self.path)
            self._store = SplitVideos(self._file, self.split)
            self._pid = os.getpid()
        return self._store

    def __getitem__(self, item: int) -> tuple[Any, Any]:
        index = int(self.indices[item])
        frames = self._videos().read(np.array([index]))[0]  # (T, H, W) uint8
        video = torch.from_numpy(frames).unsqueeze(0).float().div_(255.0)  # (1, T, H, W) in [0, 1]
        label = int(self.labels[index])
        if self.transform is not None:
            video = self.transform(video)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return video, label

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of videos: {len(self)}",
                 f"    File: {self.path}", f"    Split: {self.split}",
                 f"    Video: float32 (1, {self.frames}, {self.height}, {self.width}) in [0, 1] before transform"]
        for name in ("transform", "target_transform"):
            value = getattr(self, name)
            if value is not None:
                lines.append(f"    {name}: " + repr(value).replace("\n", "\n    "))
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"], state["_store"], state["_pid"] = None, None, None  # never pickle an open handle
        return state
