"""Write Video-MNIST files: one HDF5 file, or shard files plus a main file of virtual datasets.

Both writers take finished blocks (params and one compressed chunk per video, written with h5py's direct chunk
write, so nothing is compressed twice) in any order, into temporary files reserved through
:func:`vmnist.infra.atomic.atomic_files`: no target name is touched before the whole set is complete. The main file is
always reserved last, so it is renamed into place last, and its ``complete`` attribute is written last.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

from vmnist.file.attributes import ROOT_DESCRIPTION, describe_datasets, describe_split
from vmnist.file.format import FORMAT_NAME, FORMAT_VERSION, FRAME_SIZE, GENERATOR_VERSION, SPLIT_SOURCES
from vmnist.file.shards import SHARD_FORMAT, SHARDS_ATTRIBUTE, ShardRecord, encode_shards
from vmnist.sources.mnist import MnistDigits

Reserve = Callable[[Path], Path]


def split_digits(digits: MnistDigits, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source of a split: images uint8 (N, 28, 28), labels uint8 (N,), source_index int32 (N,)."""
    source = SPLIT_SOURCES[split]
    images = digits.train_images if source.mnist_split == "train" else digits.test_images
    labels = digits.train_labels if source.mnist_split == "train" else digits.test_labels
    rows = slice(source.start, source.stop)
    index = np.arange(source.start, source.stop, dtype=np.int32)
    return images[rows], labels[rows], index


def dataset_id(config_json: str, mnist_sha256: str) -> str:
    """Names the content of a file (config, source digits, generator): shards carry their main file's id."""
    return hashlib.sha256(f"{GENERATOR_VERSION}\n{mnist_sha256}\n{config_json}".encode()).hexdigest()[:16]


def root_attributes(config: Any, digits: MnistDigits) -> dict[str, Any]:
    """The root attributes of a main file, `complete` still False."""
    return dict(
        format=FORMAT_NAME, format_version=FORMAT_VERSION, generator_version=GENERATOR_VERSION, seed=config.seed,
        frames=config.frames, height=FRAME_SIZE, width=FRAME_SIZE, mnist_sha256=digits.sha256,
        mnist_source=digits.source, config=config.to_json(), dataset_id=dataset_id(config.to_json(), digits.sha256),
        description=ROOT_DESCRIPTION, complete=False,
    )


def create_videos(group: h5py.Group, n: int, frames: int, level: int) -> h5py.Dataset:
    """uint8 (n, T, H, W), one gzip chunk per video (filled by direct chunk writes)."""
    size = FRAME_SIZE
    return group.create_dataset("videos", shape=(n, frames, size, size), dtype=np.uint8, chunks=(1, frames, size, size),
                                compression="gzip", compression_opts=level)


def write_chunks(videos: h5py.Dataset, first_row: int, chunks: list[bytes]) -> None:
    """Store compressed videos at rows first_row, first_row + 1, ... of `videos`."""
    for offset, chunk in enumerate(chunks):
        videos.id.write_direct_chunk((first_row + offset, 0, 0, 0), chunk)


class SingleFileWriter:
    """Every split in one file at `out`."""

    def __init__(self, out: Path, reserve: Reserve, config: Any, digits: MnistDigits):
        self.config = config
        self.files = [out]
        self.file = h5py.File(reserve(out), "w")
        self.file.attrs.update(root_attributes(config, digits))
        self.videos: dict[str, h5py.Dataset] = {}
        self.params: dict[str, np.ndarray] = {}
        for split in config.splits:
            n = config.split_size(split)
            _, labels, index = split_digits(digits, split)
            group = self.file.create_group(split)
            self.videos[split] = create_videos(group, n, config.frames, config.compression_level)
            group.create_dataset("labels", data=labels[:n])
            group.create_dataset("source_index", data=index[:n])
            self.params[split] = np.zeros((n, config.frames, 4), dtype=np.float32)

    def write(self, split: str, start: int, params: np.ndarray, chunks: list[bytes]) -> None:
        """Videos start, start + 1, ... of `split`: params float32 (n, T, 4) and n compressed chunks."""
        write_chunks(self.videos[split], start, chunks)
        self.params[split][start : start + len(chunks)] = params

    def finish(self) -> None:
        for split, params in self.params.items():
            self.file[split].create_dataset("params", data=params, compression="gzip",
                                            compression_opts=self.config.compression_level)
            describe_split(self.file[split], split)
        self.file.attrs["complete"] = True  # last: a file without it is never taken as complete
        self.close()

    def close(self) -> None:
        self.file.close()


class ShardedWriter:
    """Each split in shard files of at most N videos, and a main file at `out` presenting them as one dataset."""

    def __init__(self, out: Path, reserve: Reserve, config: Any, digits: MnistDigits, shards: list[ShardRecord]):
        self.out, self.reserve, self.config, self.digits = out, reserve, config, digits
        self.shards = shards
        self.attributes = root_attributes(config, digits)
        self.starts = {split: np.array([r.start for r in shards if r.split == split]) for split in config.splits}
        self.first: dict[str, int] = {}  # split -> index of its first shard
        for i, record in enumerate(shards):
            self.first.setdefault(record.split, i)
        self.open: dict[int, tuple[h5py.File, Path, np.ndarray, int]] = {}  # shard -> (file, temp path, params, rows left)
        self.sizes: dict[int, int] = {}  # finished shard -> bytes
        self.files = [out.parent / r.file for r in shards] + [out]

    def _shard(self, split: str, row: int) -> int:
        return self.first[split] + int(np.searchsorted(self.starts[split], row, side="right") - 1)

    def write(self, split: str, start: int, params: np.ndarray, chunks: list[bytes]) -> None:
        """Videos start, start + 1, ... of `split`: params float32 (n, T, 4) and n compressed chunks."""
        row, stop = start, start + len(chunks)
        while row < stop:
            shard = self._shard(split, row)
            record = self.shards[shard]
            end = min(stop, record.stop)
            file, tmp, shard_params, left = self.open.get(shard) or self._open(shard)
            write_chunks(file["videos"], row - record.start, chunks[row - start : end - start])
            shard_params[row - record.start : end - record.start] = params[row - start : end - start]
            left -= end - row
            self.open[shard] = (file, tmp, shard_params, left)
            if left == 0:
                self._finish_shard(shard)
            row = end

    def _open(self, shard: int) -> tuple[h5py.File, Path, np.ndarray, int]:
        record = self.shards[shard]
        tmp = self.reserve(record.path(self.out))
        file = h5py.File(tmp, "w")
        file.attrs.update(format=SHARD_FORMAT, dataset_id=self.attributes["dataset_id"], split=record.split,
                          start=record.start, stop=record.stop, complete=False)
        create_videos(file, record.size, self.config.frames, self.config.compression_level)
        return file, tmp, np.zeros((record.size, self.config.frames, 4), dtype=np.float32), record.size

    def _finish_shard(self, shard: int) -> None:
        file, tmp, params, _ = self.open.pop(shard)
        file.create_dataset("params", data=params, compression="gzip", compression_opts=self.config.compression_level)
        describe_datasets(file, self.shards[shard].split)
        file.attrs["complete"] = True
        file.close()
        self.sizes[shard] = tmp.stat().st_size

    def finish(self) -> None:
        """Write the main file: attributes, the shard list, labels and source_index, virtual videos and params."""
        unfinished = [self.shards[i].file for i in range(len(self.shards)) if i not in self.sizes]
        if unfinished:
            raise RuntimeError(f"shards not fully written: {', '.join(unfinished)}")
        records = [ShardRecord(r.split, r.start, r.stop, r.file, self.sizes[i]) for i, r in enumerate(self.shards)]
        frames, size = self.config.frames, FRAME_SIZE
        with h5py.File(self.reserve(self.out), "w") as f:
            f.attrs.update(self.attributes)
            f.attrs[SHARDS_ATTRIBUTE] = encode_shards(records)
            for split in self.config.splits:
                n = self.config.split_size(split)
                _, labels, index = split_digits(self.digits, split)
                group = f.create_group(split)
                group.create_dataset("labels", data=labels[:n])
                group.create_dataset("source_index", data=index[:n])
                for name, shape, dtype in (("videos", (frames, size, size), np.uint8), ("params", (frames, 4), np.float32)):
                    layout = h5py.VirtualLayout(shape=(n, *shape), dtype=dtype)
                    for record in (r for r in records if r.split == split):
                        # A relative source name: HDF5 looks for it beside the main file, wherever that is moved.
                        layout[record.start : record.stop] = h5py.VirtualSource(record.file, name, shape=(record.size, *shape))
                    group.create_virtual_dataset(name, layout, fillvalue=0)
                describe_split(group, split)
            f.attrs["complete"] = True  # last

    def close(self) -> None:
        for file, *_ in self.open.values():
            file.close()
        self.open.clear()
