"""Benchmark: rendering Video-MNIST, ours (both trajectory families) against a plain reference measured in the
same run; reading speed of one file and of a sharded one.

    python bench/bench_generate.py                # full 70,000 videos per run (about 3 minutes in all)
    python bench/bench_generate.py --limit 5000   # a quicker look

Reference ("plain"): per split, ``F.affine_grid`` + ``F.grid_sample`` over the split's frames (in blocks of
5,000 videos: the whole 50,000-video train split at once needs ~19 GB of grids and frames), then one
``h5py`` ``create_dataset(..., compression="gzip")`` call (default level 4, one video per chunk) in one process;
no anti-aliasing, the default family's motion. Ours: ``vmnist.write_dataset`` with all cores, once per family
(anti-aliasing included), then once more sharded for the reading figures. Memory is the peak resident set of
the process plus the largest worker process.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from vmnist.file.format import SPLITS
from vmnist.file.generator import GenerateConfig, split_digits, write_dataset
from vmnist.file.reader import VideoMNIST, load_split
from vmnist.infra.processes import default_workers
from vmnist.rendering.trajectories import DEFAULT_TRAJECTORIES, FAMILIES, trajectory_params, video_uniforms
from vmnist.sources.mnist import MnistDigits, fetch_mnist

REFERENCE_BLOCK = 5000


def reference_generate(out: Path, digits: MnistDigits, config: GenerateConfig) -> float:
    """The plain generator; returns seconds."""
    torch.set_num_threads(1)  # one process, as the reference is defined
    started = time.perf_counter()
    with h5py.File(out, "w") as f:
        for split in config.splits:
            images, labels, _ = split_digits(digits, split)
            n = config.split_size(split)
            uniforms = video_uniforms(config.seed, split, np.arange(n), config.frames)
            params = trajectory_params(labels[:n], uniforms, config.frames, config.constants)
            videos = np.empty((n, config.frames, 28, 28), dtype=np.uint8)
            for start in range(0, n, REFERENCE_BLOCK):
                stop = min(start + REFERENCE_BLOCK, n)
                p = torch.from_numpy(params[start:stop]).reshape(-1, 4)
                s, r, tx, ty = p.unbind(-1)
                cos, sin = torch.cos(r) / s, torch.sin(r) / s
                theta = torch.stack(
                    [torch.stack([cos, -sin, (-cos * tx + sin * ty) * 2 / 28], -1),
                     torch.stack([sin, cos, (-sin * tx - cos * ty) * 2 / 28], -1)], 1)  # (n*T, 2, 3)
                source = torch.tensor(images[start:stop], dtype=torch.float32)[:, None]
                source = source.repeat_interleave(config.frames, 0)  # (n*T, 1, 28, 28)
                grid = F.affine_grid(theta, list(source.shape), align_corners=False)
                frames = F.grid_sample(source, grid, align_corners=False)
                videos[start:stop] = frames.round().to(torch.uint8).view(stop - start, config.frames, 28, 28).numpy()
            f.create_dataset(f"{split}/videos", data=videos, chunks=(1, config.frames, 28, 28), compression="gzip")
    torch.set_num_threads(default_workers())
    return time.perf_counter() - started


def peak_rss_gib() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest child so far (GiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return own, children


def read_figures(path: Path, reads: int) -> tuple[float, float, float]:
    """Random single-video read (ms) through the torch Dataset, whole test split load (s), plain h5py slice (s)."""
    dataset = VideoMNIST(path, "train")
    picks = np.random.default_rng(0).integers(0, len(dataset), size=reads)
    dataset[0]
    started = time.perf_counter()
    for i in picks:
        dataset[int(i)]
    single_ms = (time.perf_counter() - started) / len(picks) * 1e3
    started = time.perf_counter()
    load_split(path, "test")
    whole_s = time.perf_counter() - started
    started = time.perf_counter()
    with h5py.File(path) as f:
        f["test/videos"][:]
    return single_ms, whole_s, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="videos per split (default: all 70,000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes for ours (default: all cores)")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--shard-size", type=int, default=10_000, help="shard size of the sharded reading run (0: skip it)")
    parser.add_argument("--reads", type=int, default=2000, help="random single-video reads to time")
    args = parser.parse_args()

    digits = fetch_mnist()
    configs = {family: GenerateConfig(limit=args.limit, trajectories=family) for family in FAMILIES}
    videos = sum(configs[DEFAULT_TRAJECTORIES].split_size(s) for s in SPLITS)
    workers = args.workers or default_workers()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({default_workers()} cores)")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        ours = {}
        for family, config in configs.items():
            ours[family] = write_dataset(Path(tmp) / f"{family}.h5", digits, config, workers=workers)
            own_gib, child_gib = peak_rss_gib()
            print(f"ours {family:<8}: {videos:,} videos in {ours[family].seconds:6.1f} s  ({videos / ours[family].seconds:,.0f} "
                  f"videos/s, {workers} workers), {ours[family].file_bytes / 2**20:.0f} MiB, peak memory {own_gib:.2f} GiB "
                  f"+ {child_gib:.2f} GiB per worker")
        default = ours[DEFAULT_TRAJECTORIES]
        if not args.skip_reference:
            ref_path = Path(tmp) / "reference.h5"
            ref_seconds = reference_generate(ref_path, digits, configs[DEFAULT_TRAJECTORIES])
            print(f"reference      : {videos:,} videos in {ref_seconds:6.1f} s  ({videos / ref_seconds:,.0f} videos/s, 1 process), "
                  f"{ref_path.stat().st_size / 2**20:.0f} MiB ({DEFAULT_TRAJECTORIES} motion, no anti-aliasing)")
            for family, summary in ours.items():
                print(f"speed-up {family:<7}: {ref_seconds / summary.seconds:.2f}x  (target >= 2x; full dataset target <= 45 s, < 4 GiB)")
            with h5py.File(ref_path) as f:
                reference = f["test/videos"][:50].astype(int)
            mine = load_split(default.path, "test", range(50))[0].numpy().astype(int)
            with h5py.File(default.path) as f:
                big = f["test/params"][:50, :, 0] >= 1  # (50, T): frames the anti-aliasing leaves alone
            print(f"agreement      : max |ours - reference| over 50 test videos = {np.abs(mine - reference)[big].max()} grey "
                  f"levels on frames at scale >= 1, {np.abs(mine - reference)[~big].max()} on shrunk frames (anti-aliased)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        single_ms, whole_s, plain_s = read_figures(default.path, args.reads)
        print(f"read one file  : random single video {single_ms:.3f} ms (target < 1 ms); whole test split {whole_s:.2f} s "
              f"(target < 3 s; plain h5py slice {plain_s:.2f} s)")
        if args.shard_size:
            folder = Path(tmp) / "sharded"
            folder.mkdir()
            sharded = write_dataset(folder / "data.h5", digits, configs[DEFAULT_TRAJECTORIES], workers=workers,
                                    shard_size=args.shard_size)
            single_ms, whole_s, plain_s = read_figures(sharded.path, args.reads)
            print(f"read sharded   : {len(sharded.files) - 1} shards of <= {args.shard_size:,} (written in {sharded.seconds:.1f} s): "
                  f"random single video {single_ms:.3f} ms; whole test split {whole_s:.2f} s (plain h5py slice through the "
                  f"virtual dataset {plain_s:.2f} s)")


if __name__ == "__main__":
    main()
