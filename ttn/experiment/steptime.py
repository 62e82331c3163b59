"""Forward + backward time of models on one batch, measured side by side in one process.

What `ttn convert` and `bench/bench_convert.py` report for a model and its 3DTT conversion (Ras et al., 2019,
section 3.1: a 3DTT layer costs an ordinary 3D convolution plus building its kernel)::

    for each model: `warmup` untimed steps
    for round in 1..repeats: every model once, the order reversed every other round (A B, B A, A B ...)
    step = zero the gradients, cross-entropy(model(x), y), backward   (no optimizer step)

Interleaving and alternating the order spreads load from other processes and warm caches over both sides.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ttn.errors import first_line

Step = Callable[[], None]


def fwd_bwd_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Step:
    """One forward + backward of `model` on x (B, ...) with class labels y (B,): gradients set, no update."""

    def step() -> None:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    return step


def clip_batch(batch: int, frames: int, size: int, device: torch.device | str = "cpu",
               channels: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random clip batch x (batch, channels, frames, size, size) ~ N(0, 1) and labels y (batch,) all 0 (label
    values do not change the cost of a step, and class 0 exists in every classifier)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, frames, size, size, generator=generator).to(device)
    return x, torch.zeros(batch, dtype=torch.long, device=device)


def synchronizer(device: torch.device | str) -> Callable[[], None]:
    """What makes a timing on `device` wait for its work: ``torch.cuda.synchronize`` on CUDA, nothing on CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def interleaved_times(
    steps: dict[str, Step], repeats: int, warmup: int = 1, sync: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds of `repeats` calls of each step, interleaved and in alternating order, after `warmup` calls each,
    read on `clock` (wall time by default; ``time.thread_time`` for this thread's CPU time)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    sync()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else reversed(names):
            start = clock()
            steps[name]()
            sync()
            times[name].append(clock() - start)
    return times


@dataclass(frozen=True)
class StepComparison:
    """Median step times (s) of a reference and a candidate model, and the candidate's relative cost."""

    reference_s: float
    candidate_s: float
    reference_all: tuple[float, ...]
    candidate_all: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """candidate / reference (1.10 = 10% slower)."""
        return self.candidate_s / self.reference_s


#: The target of `ttn convert` and bench/bench_convert.py: a 3DTT conversion's forward + backward may cost at most
#: this much over the original's.
STEP_TARGET = 0.15


def target_verdict(result: StepComparison, target: float = STEP_TARGET) -> tuple[bool, str]:
    """(met, "target <= +15%: met" or "... NOT met"): whether the candidate's extra step time is within `target`."""
    met = result.ratio - 1 <= target
    return met, f"target <= {target:+.0%}: {'met' if met else 'NOT met'}"


def compare_steps(reference: Step, candidate: Step, repeats: int, warmup: int = 1,
                  sync: Callable[[], None] = lambda: None) -> StepComparison:
    """Medians of `repeats` interleaved timings of `reference` and `candidate` (see `interleaved_times`)."""
    times = interleaved_times({"reference": reference, "candidate": candidate}, repeats, warmup, sync)
    return StepComparison(statistics.median(times["reference"]), statistics.median(times["candidate"]),
                          tuple(times["reference"]), tuple(times["candidate"]))


def compiled(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[nn.Module, str]:
    """(``torch.compile(model)``, "") if one forward + backward through it works (it compiles then), else
    (`model`, the first line of the error): compilation needs a C++ compiler on CPU and may not support a model."""
    try:
        candidate = torch.compile(model)
        fwd_bwd_step(candidate, x, y)()
    except Exception as exc:  # noqa: BLE001 (torch.compile raises many types: BackendCompilerFailed, ...)
        return model, first_line(exc, typed=True)
    return candidate, ""
