"""Throughput of the LeNet-5 models against a plain-PyTorch reference of the same model, measured in one run.

    python bench/bench_models.py                      # default (18, 28) models, ~2-3 minutes on 2 cores
    python bench/bench_models.py --channels 6,16 --archs 3d,3dttn --rounds 4 --steps 5

For each arch it prints training throughput (SGD momentum step at batch 20) and evaluation throughput
(no-grad forward at batch 500) in videos/s, for our model as ``ttn train`` and ``ttn evaluate`` run it
(``build_model(...)`` with its CPU routes on: channels-last 3D, pool before ReLU, the routes of
``ttn.cpu.routes``; ``ttn.experiment.step.train_step`` in one single-threaded shard per core,
``ttn.cpu.shard_count``, or ``--shards N``; inference in batches of ``ttn.cpu.inference_batch_size``; after
``ttn.cpu.tune_allocator()``, with ``OMP_WAIT_POLICY=PASSIVE``) and for the reference (the same ``ttn.nn``
model with its routes switched off, ``set_cpu_routes(False)``, run as plain PyTorch: NCDHW default memory format,
``F.conv3d``, conv -> ReLU -> pool, plain backward, default glibc malloc and OpenMP settings),
and the ratio ours / reference. Then the forward + backward time of the 3DTTN relative to the 3D model of
the same shapes (both ours), and the peak memory (RSS) of each side.

These settings are process-wide, so each side runs in its own child process (this script started
with ``--child ours|ref``); the parent runs `--rounds` rounds of one child per side, alternating which
goes first (ours, ref, ref, ours, ...), so that load from other processes on a shared machine hits both
alike. Each child builds the same seeded models. Each side is summarized by its fastest step over all
rounds (``--stat median`` for medians; both ratios are printed); numbers stay noisy on a shared machine.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu import inference_batch_size, shard_count
from ttn.experiment.step import train_step
from ttn.nn import build_model
from ttn.registry import ARCHS

FRAMES, SIZE, CLASSES = 30, 28, 10


def train_step_fn(model: nn.Module, batch: int, shards: int = 0) -> Callable[[], None]:
    """One SGD (momentum 0.9) step on a random batch of `batch` videos: ``ttn train``'s `train_step` in `shards`
    threads (0: as ``ttn train`` chooses, `shard_count`), or (None) the plain reference's step."""
    x = torch.rand(batch, 1, FRAMES, SIZE, SIZE)
    y = torch.randint(0, CLASSES, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    model.train()
    if shards is not None:
        count = shards or shard_count(batch, "cpu")

        def ours() -> None:
            train_step(model, optimizer, x, y, "mean", count)

        return ours

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def fwd_bwd_fn(model: nn.Module, batch: int) -> Callable[[], None]:
    """Forward + backward (no optimizer) on a random batch."""
    x = torch.rand(batch, 1, FRAMES, SIZE, SIZE)
    y = torch.randint(0, CLASSES, (batch,))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    return step


def eval_step_fn(model: nn.Module, batch: int, chunk: int) -> Callable[[], None]:
    """No-grad forward passes over `batch` videos, `chunk` videos at a time (as `ttn.experiment.evaluation.predict`)."""
    x = torch.rand(batch, 1, FRAMES, SIZE, SIZE)
    model.eval()

    def step() -> None:
        with torch.inference_mode():
            for part in x.split(chunk):
                model(part)

    return step


def timed(fn: Callable[[], None], repeats: int, warmup: int) -> list[float]:
    """Seconds of each of `repeats` calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def interleaved_times(steps: dict[str, Callable[[], None]], repeats: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of each call of each function, calls interleaved round-robin after `warmup` calls each."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def check_same_outputs(model: nn.Module, reference: nn.Module) -> float:
    """Largest absolute difference of the logits of `model` and `reference` on a random batch."""
    x = torch.rand(4, 1, FRAMES, SIZE, SIZE)
    with torch.no_grad():
        return float((model(x) - reference(x)).abs().max())


def seeded_models(archs: list[str], channels: tuple[int, int], routes: bool = True) -> dict[str, nn.Module]:
    """The ``ttn.nn`` model of each arch, the same weights in every process (seed 0), its CPU routes on or off."""
    torch.manual_seed(0)
    return {arch: build_model(arch, channels=channels).set_cpu_routes(routes) for arch in archs}


def run_child(side: str, args: argparse.Namespace) -> dict:
    """Time one side ("ours" or "ref") of every arch in this process; returns step times and resource use."""
    if side == "ours":
        from ttn.cpu import tune_allocator

        tuned = tune_allocator()
    else:
        tuned = False
    if args.threads:
        torch.set_num_threads(args.threads)
    archs, channels = parse_archs(args.archs), parse_channels(args.channels)
    models = seeded_models(archs, channels, routes=side == "ours")
    result: dict = {"side": side, "tuned_allocator": tuned, "threads": torch.get_num_threads(),
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"), "train": {},
                    "eval": {}, "minflt_per_train_step": {}}
    for arch, model in models.items():
        net = model
        chunk = inference_batch_size(args.eval_batch, "cpu") if side == "ours" else args.eval_batch
        step = train_step_fn(net, args.train_batch, shards=args.shards if side == "ours" else None)
        for _ in range(args.warmup):
            step()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        result["train"][arch] = timed(step, args.steps, 0)
        result["minflt_per_train_step"][arch] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / args.steps
        if not args.no_eval:
            result["eval"][arch] = timed(eval_step_fn(net, args.eval_batch, chunk), args.eval_steps, 1)
    if side == "ours" and "3d" in models and "3dttn" in models:
        result["fwd_bwd"] = interleaved_times(
            {arch: fwd_bwd_fn(models[arch], args.train_batch) for arch in ("3d", "3dttn")}, args.steps, args.warmup
        )
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return result


def spawn_child(side: str, argv: list[str], same_openmp: bool = False) -> dict:
    """Run this script with ``--child side`` and the same options; its result (JSON, last stdout line)."""
    env = dict(os.environ)
    if side == "ours" or same_openmp:  # as the ttn CLI runs it (ttn.cpu.passive_openmp_wait; the allocator in run_child)
        from ttn.cpu.runtime import OPENMP_ENV

        env = OPENMP_ENV | env  # a value set by the user wins, for both sides
    else:
        env["TTN_TUNE_MALLOC"] = "0"  # belt and braces: the reference never tunes malloc
    done = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--child", side], env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_archs(text: str) -> list[str]:
    return [a for a in text.split(",") if a]


def parse_channels(text: str) -> tuple[int, int]:
    c1, c2 = (int(c) for c in text.split(","))
    return c1, c2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated archs (default: all)")
    parser.add_argument("--channels", default="18,28", help="C1,C2 (default 18,28, the paper's largest)")
    parser.add_argument("--train-batch", type=int, default=20)
    parser.add_argument("--eval-batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="child processes per side (default 2)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per model and round (default 5)")
    parser.add_argument("--eval-steps", type=int, default=1, help="timed eval batches per model and round (default 1)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--shards", type=int, default=0,
                        help="shards of our training step (default: as ttn train chooses, one per thread; 1: none)")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation throughput")
    parser.add_argument("--stat", choices=("min", "median"), default="min",
                        help="per-step statistic of the main columns: min (least disturbed by other processes, "
                             "default) or median; the other one's train ratio is printed too")
    parser.add_argument("--same-openmp", action="store_true",
                        help="run the reference with our OpenMP setting too (isolates the other speed-ups)")
    parser.add_argument("--child", choices=("ours", "ref"), help=argparse.SUPPRESS)  # internal: one side
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args)), flush=True)
        return
    child_argv = [a for a in sys.argv[1:]]
    archs, channels = parse_archs(args.archs), parse_channels(args.channels)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads, channels {channels}, "
          f"train batch {args.train_batch}, eval batch {args.eval_batch}, {args.rounds} rounds of "
          f"{args.steps} steps, {args.stat} over steps, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    diffs = {arch: check_same_outputs(model, copy.deepcopy(model).set_cpu_routes(False))
             for arch, model in seeded_models(archs, channels).items()}
    runs: dict[str, list[dict]] = {"ours": [], "ref": []}
    for round_ in range(args.rounds):
        for side in ("ours", "ref") if round_ % 2 == 0 else ("ref", "ours"):
            runs[side].append(spawn_child(side, child_argv, args.same_openmp))

    def pooled(side: str, kind: str, arch: str) -> list[float]:
        return [t for run in runs[side] for t in run[kind][arch]]

    primary = min if args.stat == "min" else statistics.median
    other_name, other = ("median", statistics.median) if args.stat == "min" else ("min", min)
    print(f"{'arch':8} {'train ours':>11} {'train ref':>10} {'ratio':>6} {other_name + ' ratio':>12} "
          f"{'eval ours':>10} {'eval ref':>9} {'ratio':>6}  max|diff|  page faults/step ours, ref")
    for arch in archs:
        ours, ref = pooled("ours", "train", arch), pooled("ref", "train", arch)
        line = (f"{arch:8} {args.train_batch / primary(ours):9.1f}/s {args.train_batch / primary(ref):8.1f}/s "
                f"{primary(ref) / primary(ours):5.2f}x {other(ref) / other(ours):11.2f}x")
        if not args.no_eval:
            e_ours, e_ref = primary(pooled("ours", "eval", arch)), primary(pooled("ref", "eval", arch))
            line += f" {args.eval_batch / e_ours:8.1f}/s {args.eval_batch / e_ref:7.1f}/s {e_ref / e_ours:5.2f}x"
        else:
            line += " " * 33
        faults = [statistics.median(run["minflt_per_train_step"][arch] for run in runs[side]) for side in ("ours", "ref")]
        print(f"{line}  {diffs[arch]:.1e}    {faults[0]:.0f}, {faults[1]:.0f}")
    if "3d" in archs and "3dttn" in archs:
        tt, plain = (primary([t for run in runs["ours"] for t in run["fwd_bwd"][arch]]) for arch in ("3dttn", "3d"))
        print(f"3DTTN forward+backward at batch {args.train_batch}: {tt * 1e3:.1f} ms vs 3D {plain * 1e3:.1f} ms: "
              f"{100 * (tt / plain - 1):+.1f}% (target <= +10%)")
    rss = {side: max(run["max_rss_mb"] for run in runs[side]) for side in runs}
    settings = {side: f"allocator tuned: {runs[side][0]['tuned_allocator']}, OMP_WAIT_POLICY "
                      f"{runs[side][0]['omp_wait_policy']}" for side in runs}
    print(f"peak RSS of a child: ours {rss['ours']:.0f} MB ({settings['ours']}), "
          f"reference {rss['ref']:.0f} MB ({settings['ref']})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes share the cores: ratios are noisy)")


if __name__ == "__main__":
    main()
