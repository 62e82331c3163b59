"""A rough estimate of what a sweep costs in CPU time, printed before it starts."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ttn.experiment.config import channels_for

if TYPE_CHECKING:
    from ttn.experiment.task import Task

#: Per-process throughput (videos/s, one torch thread) of the (6, 16) models, fitted (least squares on each
#: run's wall time) on the 24 runs of `--preset quick` with 2 workers on 2 quiet cores (3d and 3dttn alike):
#: training (forward + backward) and evaluation. Bigger models scale roughly with their conv work, C1*(1+C2).
BASE_TRAIN_RATE = 555.0
BASE_EVAL_RATE = 1140.0
BASE_CHANNELS = (6, 16)


def estimate_cost(tasks: list[Task], test_videos: int = 10_000, val_split: int = 10_000) -> float:
    """Rough CPU-seconds (one thread) of `tasks`: training + validation every `val_every` epochs + one test pass."""
    total = 0.0
    for task in tasks:
        c1, c2 = channels_for(task.config, task.arch, task.videos)
        work = max(0.25, (c1 * (1 + c2)) / (BASE_CHANNELS[0] * (1 + BASE_CHANNELS[1])))
        val = val_split if task.config.val_size <= 0 else min(task.config.val_size, val_split)
        epochs = task.config.epochs
        validations = math.ceil(epochs / task.config.val_every)
        total += work * (epochs * task.videos / BASE_TRAIN_RATE + (validations * val + test_videos) / BASE_EVAL_RATE)
    return total


def format_duration(seconds: float) -> str:
    """e.g. "1 h 05 min", "12 min", "40 s"."""
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{math.ceil(minutes)} min"
    return f"{int(minutes // 60)} h {int(minutes % 60):02d} min"
