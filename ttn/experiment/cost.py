"""What a sweep costs in CPU time on the machine it runs on, printed before it starts.

A run costs  train: epochs x videos / train rate   +   validation: checks x val videos / eval rate
           + test: test videos / eval rate (none when its test is deferred, `Task.defer_test`)
with per-process rates (videos/s, one torch thread) of its model shape. The rates come, in this order, from:

    `calibrate_from_records`: the run times of records in the results folder made on this CPU (`versions.cpu`):
                              the built-in rates scaled by the median of measured / estimated time
    `probe_rates`:            a short timing of each model shape in this process (a few steps and one eval batch,
                              on the CPU time of its one thread: a busy machine does not stretch it)
    `Rates()`:                the built-in rates (fitted on another machine; about 2x fast on the AMD EPYC one)
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ttn.experiment.config import batch_size_for, channels_for
from ttn.registry import val_count

if TYPE_CHECKING:
    from ttn.experiment.task import Task

#: Per-process throughput (videos/s, one torch thread) of the (6, 16) models, fitted (least squares on each
#: run's wall time) on the 24 runs of `--preset quick` with 2 workers on 2 quiet cores (3d and 3dttn alike):
#: training (forward + backward) and evaluation. Bigger models scale roughly with their conv work, C1*(1+C2).
BASE_TRAIN_RATE = 555.0
BASE_EVAL_RATE = 1140.0
BASE_CHANNELS = (6, 16)
#: Records needed on this CPU before they replace a probe.
MIN_CALIBRATION_RECORDS = 3
#: Videos of the probe's evaluation pass.
PROBE_EVAL_VIDEOS = 300
#: Wall seconds per CPU second of a sweep's run, one worker per core on a machine doing nothing else: reading
#: the data, writing records, the sweep's own process. Measured: the median over the first 13 runs of the paper
#: sweep of 2026-12-06's second session (2 workers on the 2-core AMD EPYC, 10 videos), 1.11 (1.005-1.36); a
#: machine busy with other work stretches it further (median 1.37 over that session's 58 runs while tests ran).
WALL_PER_CPU = 1.1

Shape = tuple[str, int, int]  # (arch, C1, C2)


@dataclass(frozen=True)
class Rates:
    """Videos/s per process of training and evaluation: per model shape where probed, else the base rates scaled
    by the shape's conv work. `source` says where they come from (printed with the estimate)."""

    train: float = BASE_TRAIN_RATE
    eval: float = BASE_EVAL_RATE
    per_shape: dict[Shape, tuple[float, float]] = field(default_factory=dict)
    source: str = "built-in rates (another machine)"

    def of(self, shape: Shape) -> tuple[float, float]:
        """(train, eval) videos/s of a model shape."""
        if shape in self.per_shape:
            return self.per_shape[shape]
        work = max(0.25, shape[1] * (1 + shape[2]) / (BASE_CHANNELS[0] * (1 + BASE_CHANNELS[1])))
        return self.train / work, self.eval / work


def shape_of(task: Task) -> Shape:
    return (task.arch, *channels_for(task.config, task.arch, task.videos))


def task_seconds(task: Task, rates: Rates = Rates(), test_videos: int = 10_000, val_split: int = 10_000) -> float:
    """Estimated CPU-seconds (one thread) of one task: training, validation, and its test pass unless deferred."""
    train_rate, eval_rate = rates.of(shape_of(task))
    config = task.config
    val = min(val_count(config.val_size, val_split), val_split)
    validations = math.ceil(config.epochs / config.val_every)
    tested = 0 if task.defer_test else test_videos
    return config.epochs * task.videos / train_rate + (validations * val + tested) / eval_rate


def deferred_test_seconds(task: Task, rates: Rates = Rates(), test_videos: int = 10_000) -> float:
    """Estimated CPU-seconds of a recorded run's deferred test pass."""
    return test_videos / rates.of(shape_of(task))[1]


def estimate_cost(tasks: Iterable[Task], rates: Rates = Rates(), test_videos: int = 10_000, val_split: int = 10_000) -> float:
    """Rough CPU-seconds (one thread) of `tasks`."""
    return sum(task_seconds(task, rates, test_videos, val_split) for task in tasks)


def calibrate_from_records(records: Iterable[dict[str, Any]], cpu: str | None) -> Rates | None:
    """The base rates scaled by the median measured / estimated time of the `records` made on `cpu`, or None
    when fewer than MIN_CALIBRATION_RECORDS were (another machine's times say little about this one).

    A run's wall time grows with whatever else shares the machine (on the AMD EPYC, 3-4x under load 5), its CPU
    time (`cpu_time_s`, recorded since db25159) hardly: so only the CPU-timed records count where there are
    enough of them, and wall times only stand in for a folder that has none."""
    from ttn.experiment.config import make_config
    from ttn.experiment.task import Task

    cpu_ratios, wall_ratios = [], []
    for record in records:
        if cpu is None or record.get("versions", {}).get("cpu") != cpu or not record.get("wall_time_s"):
            continue
        config = record["config"]
        try:
            task = Task(record["arch"], record["videos"], record["run"],
                        make_config(epochs=len(record.get("history") or []) or config["epochs"], channels=config["channels"],
                                    val_size=config["val_size"], val_every=config["val_every"], lr_decay=1.0),
                        defer_test=record.get("test_deferred") is True)  # its time holds no test pass
        except Exception:  # noqa: BLE001 - a record this version cannot cost says nothing about the machine
            continue
        if record.get("cpu_time_s"):
            cpu_ratios.append(record["cpu_time_s"] / task_seconds(task))
        wall_ratios.append(record["wall_time_s"] / task_seconds(task))
    ratios, timed = (cpu_ratios, "CPU") if len(cpu_ratios) >= MIN_CALIBRATION_RECORDS else (wall_ratios, "wall")
    if len(ratios) < MIN_CALIBRATION_RECORDS:
        return None
    scale = statistics.median(ratios)
    return Rates(BASE_TRAIN_RATE / scale, BASE_EVAL_RATE / scale,
                 source=f"calibrated on the {timed} time of {len(ratios)} records made on this CPU ({cpu})")


def probe_rates(tasks: Iterable[Task], frames: int = 30, size: int = 28, steps: int = 2) -> Rates:
    """Rates measured here: per model shape of `tasks`, `steps` training steps at the run's batch size and one
    evaluation batch, one torch thread, after one untimed step each (a few seconds per shape)."""
    import torch

    from ttn.cpu.runtime import tune_allocator
    from ttn.experiment.evaluation import predict, scale_input
    from ttn.experiment.step import train_step
    from ttn.nn import build_model

    shapes: dict[Shape, int] = {}
    for task in tasks:
        shapes.setdefault(shape_of(task), batch_size_for(task.config, task.videos))
    tune_allocator()  # as every sweep worker does (`run_task`)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    per_shape = {}
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            videos = torch.randint(0, 256, (PROBE_EVAL_VIDEOS, frames, size, size), dtype=torch.uint8)
            for (arch, c1, c2), batch in shapes.items():
                model = build_model(arch, channels=(c1, c2), frames=frames, size=size)
                optimizer = torch.optim.SGD(model.parameters(), lr=1e-9, momentum=0.9)
                x, y = scale_input(videos[:batch], "unit"), torch.randint(0, 10, (batch,))
                model.train()
                train = batch / _median_seconds(lambda: train_step(model, optimizer, x, y, "mean"), steps)
                evaluate = PROBE_EVAL_VIDEOS / _median_seconds(lambda: predict(model, videos, "unit"), 1)
                per_shape[(arch, c1, c2)] = (train, evaluate)
    finally:
        torch.set_num_threads(threads)
    return Rates(per_shape=per_shape, source=f"probed here ({len(per_shape)} model shapes)")


def _median_seconds(step: Any, repeats: int) -> float:
    """Median CPU time of this thread over `repeats` calls of `step` after one untimed call
    (`ttn.experiment.steptime`): with one torch thread all of a step's work is on it, and unlike its wall time
    its CPU time does not grow with what else runs on the machine."""
    from ttn.experiment.steptime import interleaved_times

    return statistics.median(interleaved_times({"step": step}, repeats, warmup=1, clock=time.thread_time)["step"])


def wall_seconds(cpu_seconds: float, slots: int | None, tasks: int) -> float:
    """Estimated wall seconds of `cpu_seconds` of work in `tasks` runs on `slots` workers (None: unknown, the CPU
    time itself), each worker on a core of its own (WALL_PER_CPU)."""
    if slots is None:
        return cpu_seconds
    return cpu_seconds * WALL_PER_CPU / max(1, min(slots, tasks or 1))


def format_duration(seconds: float) -> str:
    """e.g. "1 h 05 min", "12 min", "40 s"."""
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{math.ceil(minutes)} min"
    return f"{int(minutes // 60)} h {int(minutes % 60):02d} min"
