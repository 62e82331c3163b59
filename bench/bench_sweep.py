"""Sweep throughput with 2 worker processes vs 1, and evaluation time of the 10,000 test videos.

    python bench/bench_sweep.py --data data.h5                 # real data (recommended), ~3-5 minutes
    python bench/bench_sweep.py                                # synthetic tiny data, eval on random videos

1. The same tasks (default: 3d and 3dttn, 2 runs, 50 videos, 3 epochs, channels 6,16, val subset 200) run
   as a sweep with `--workers 1` and with `--workers 2` (fresh result folders, pool start-up included);
   prints runs/minute of each and the ratio (target >= 1.6x on 2 cores).
2. Evaluation of 10,000 test videos (batches of 500, inference mode, channels-last; one process with all
   torch threads and the ``ttn`` CLI's runtime settings, `ttn.cpu.runtime`) per arch at the paper's largest channels (18, 28): target < 40 s per model. With --data
   the videos are read from the file's test split (decompression included).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ttn.cpu.runtime import passive_openmp_wait, tune_allocator

passive_openmp_wait()  # before torch is imported, as the ttn CLI does (evaluation below runs as `ttn evaluate`)
import torch  # noqa: E402


def sweep_rate(data: Path, workers: int, args: argparse.Namespace, root: Path) -> tuple[float, float]:
    """(wall seconds, runs per minute) of the benchmark tasks on `workers` processes."""
    from ttn.experiment.config import make_config
    from ttn.experiment.runners import PoolRunner
    from ttn.experiment.sweep import plan_tasks, run_sweep

    config = make_config(epochs=args.epochs, channels=tuple(args.channels), val_size=args.val_size)
    tasks = plan_tasks(args.archs, [args.videos], args.runs, config)
    out = root / f"workers{workers}"
    started = time.perf_counter()
    with PoolRunner(workers) as runner:
        summary = run_sweep(tasks, data, out, runner)
    wall = time.perf_counter() - started
    assert summary.ok, summary.failed
    return wall, 60.0 * len(tasks) / wall


def eval_time(data: Path | None, arch: str, channels: tuple[int, int], videos: int) -> float:
    """Seconds to classify `videos` test videos (from `data`, or random) with a fresh model of `arch`."""
    from ttn.experiment.evaluation import predict, predict_split
    from ttn.nn import build_model

    tune_allocator()  # as the ttn CLI
    model = build_model(arch, channels=channels)
    started = time.perf_counter()
    if data is not None:
        import numpy as np

        predict_split(model, data, "test", "unit", indices=np.arange(videos))
    else:
        generator = torch.Generator().manual_seed(0)
        for start in range(0, videos, 2000):  # keep memory modest: 2000 uint8 videos = 47 MB
            batch = torch.randint(0, 256, (min(2000, videos - start), 30, 28, 28), dtype=torch.uint8, generator=generator)
            predict(model, batch, "unit", 500)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="Video-MNIST file (default: a synthetic tiny one)")
    parser.add_argument("--archs", type=lambda s: s.split(","), default=["3d", "3dttn"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--channels", type=lambda s: [int(c) for c in s.split(",")], default=[6, 16])
    parser.add_argument("--val-size", type=int, default=200)
    parser.add_argument("--eval-videos", type=int, default=10_000)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = args.data
        if data is None:
            from vmnist.testing import make_tiny_dataset

            data = make_tiny_dataset(root / "tiny.h5", per_split=200)
        if not args.skip_sweep:
            print(f"sweep: {len(args.archs)} archs x {args.runs} runs at {args.videos} videos, {args.epochs} epochs, "
                  f"channels {args.channels}, val {args.val_size}, data {data}")
            wall1, rate1 = sweep_rate(data, 1, args, root)
            print(f"  --workers 1: {wall1:6.1f} s  {rate1:6.2f} runs/min")
            wall2, rate2 = sweep_rate(data, 2, args, root)
            print(f"  --workers 2: {wall2:6.1f} s  {rate2:6.2f} runs/min")
            print(f"  speed-up 2 vs 1 workers: {rate2 / rate1:.2f}x (target >= 1.6x)")
        if not args.skip_eval:
            print(f"evaluation of {args.eval_videos} test videos, channels (18, 28), {torch.get_num_threads()} threads, "
                  f"{'from ' + str(args.data) if args.data else 'random videos'}:")
            for arch in args.archs:
                seconds = eval_time(args.data, arch, (18, 28), args.eval_videos)
                print(f"  {arch:>8}: {seconds:6.1f} s  ({args.eval_videos / seconds:,.0f} videos/s; target < 40 s)")


if __name__ == "__main__":
    main()
