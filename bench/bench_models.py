"""Throughput of the LeNet-5 models against a plain-PyTorch reference of the same model, measured in one run.

    python bench/bench_models.py                      # default (18, 28) models, ~1-2 minutes on 2 cores
    python bench/bench_models.py --channels 6,16 --archs 3d,3dttn --steps 20

For each arch it prints training throughput (SGD momentum step at batch 20) and evaluation throughput
(no-grad forward at batch 500) in videos/s, for our model (``ttn.models.build_model``: channels-last 3D,
pool before ReLU, first layer as a 2D convolution over frame windows) and for the reference (the same
weights run as plain PyTorch would: NCDHW default memory format, ``F.conv3d``, conv -> ReLU -> pool),
and the ratio ours / reference. Then the forward +
backward time of the 3DTTN relative to the 3D model of the same shapes (both ours).
Fast and reference steps are interleaved so that load from other processes on a shared machine hits both
alike, and each is summarized by its fastest step (``--stat median`` for medians); numbers stay noisy there.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.layers import Conv2Plus1d, Conv3dTT
from ttn.models import ARCHS, build_model

FRAMES, SIZE, CLASSES = 30, 28, 10


def plain_conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A conv layer of ours computed with plain ``F.conv3d`` (no fast route)."""
    if isinstance(conv, Conv3dTT):
        return F.conv3d(x, conv.kernel(), conv.bias, conv.stride, conv.padding)
    if isinstance(conv, Conv2Plus1d):
        return plain_conv(conv.temporal, F.relu(plain_conv(conv.spatial, x)))
    return F.conv3d(x, conv.weight, conv.bias, conv.stride, conv.padding)


class PlainReference(nn.Module):
    """The same LeNet-5 run as plain PyTorch would: NCDHW weights and input, ``F.conv3d``, conv -> ReLU -> pool."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model)
        with torch.no_grad():
            for parameter in self.model.parameters():
                parameter.data = parameter.data.clone(memory_format=torch.contiguous_format)  # NCDHW strides

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = F.max_pool3d(F.relu(plain_conv(m.conv1, x.contiguous())), 2)
        x = F.max_pool3d(F.relu(plain_conv(m.conv2, x)), 2).flatten(1)
        return m.fc3(F.relu(m.fc2(F.relu(m.fc1(x)))))


def train_step_fn(model: nn.Module, batch: int) -> Callable[[], None]:
    """One SGD (momentum 0.9) step on a random batch of `batch` videos."""
    x = torch.rand(batch, 1, FRAMES, SIZE, SIZE)
    y = torch.randint(0, CLASSES, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    model.train()

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


def eval_step_fn(model: nn.Module, batch: int) -> Callable[[], None]:
    """One no-grad forward pass over `batch` videos."""
    x = torch.rand(batch, 1, FRAMES, SIZE, SIZE)
    model.eval()

    def step() -> None:
        with torch.inference_mode():
            model(x)

    return step


def interleaved_times(
    steps: dict[str, Callable[[], None]], repeats: int, warmup: int, stat: str = "min"
) -> dict[str, float]:
    """Seconds per call of each function (min or median over `repeats`), calls interleaved round-robin."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    reduce = min if stat == "min" else statistics.median
    return {name: reduce(values) for name, values in times.items()}


def check_same_outputs(model: nn.Module, reference: nn.Module) -> float:
    """Largest absolute difference of the logits of `model` and `reference` on a random batch."""
    x = torch.rand(4, 1, FRAMES, SIZE, SIZE)
    with torch.no_grad():
        return float((model(x) - reference(x)).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated archs (default: all)")
    parser.add_argument("--channels", default="18,28", help="C1,C2 (default 18,28, the paper's largest)")
    parser.add_argument("--train-batch", type=int, default=20)
    parser.add_argument("--eval-batch", type=int, default=500)
    parser.add_argument("--steps", type=int, default=8, help="timed training steps per model (default 8)")
    parser.add_argument("--eval-steps", type=int, default=2, help="timed eval batches per model (default 2)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation throughput")
    parser.add_argument("--stat", choices=("min", "median"), default="min",
                        help="per-step statistic: min (least disturbed by other processes, default) or median")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    archs = [a for a in args.archs.split(",") if a]
    channels = tuple(int(c) for c in args.channels.split(","))
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, channels {channels}, "
          f"train batch {args.train_batch}, eval batch {args.eval_batch}, {args.stat} over steps, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'arch':8} {'train ours':>11} {'train ref':>10} {'ratio':>6} {'eval ours':>10} {'eval ref':>9} {'ratio':>6}  max|diff|")
    models = {}
    for arch in archs:
        model = build_model(arch, channels=channels)
        reference = PlainReference(model)
        models[arch] = model
        diff = check_same_outputs(model, reference)
        train = interleaved_times(
            {"ours": train_step_fn(model, args.train_batch), "ref": train_step_fn(reference, args.train_batch)},
            args.steps, args.warmup, args.stat,
        )
        line = (f"{arch:8} {args.train_batch / train['ours']:9.1f}/s {args.train_batch / train['ref']:8.1f}/s "
                f"{train['ref'] / train['ours']:5.2f}x")
        if not args.no_eval:
            evaluation = interleaved_times(
                {"ours": eval_step_fn(model, args.eval_batch), "ref": eval_step_fn(reference, args.eval_batch)},
                args.eval_steps, 1, args.stat,
            )
            line += (f" {args.eval_batch / evaluation['ours']:8.1f}/s {args.eval_batch / evaluation['ref']:7.1f}/s "
                     f"{evaluation['ref'] / evaluation['ours']:5.2f}x")
        else:
            line += " " * 33
        print(f"{line}  {diff:.1e}", flush=True)
    if "3d" in models and "3dttn" in models:
        times = interleaved_times(
            {arch: fwd_bwd_fn(models[arch], args.train_batch) for arch in ("3d", "3dttn")}, args.steps, args.warmup,
            args.stat,
        )
        print(f"3DTTN forward+backward at batch {args.train_batch}: {times['3dttn'] * 1e3:.1f} ms vs 3D "
              f"{times['3d'] * 1e3:.1f} ms: {100 * (times['3dttn'] / times['3d'] - 1):+.1f}% (target <= +10%)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes share the cores: ratios are noisy)")


if __name__ == "__main__":
    main()
