"""A run in progress, kept on disk: a run cut short (a session's end, a killed worker, Ctrl-C) goes on from its
last saved epoch when the same `ttn sweep` or `ttn train --out` starts it again, instead of from epoch 1.

    <out>/.partial/<run_id>.pt     written atomically (temporary file, then os.replace) at the end of an epoch,
                                   at most every SAVE_EVERY_S seconds of training; removed once the run's record
                                   is written

It holds everything the rest of the run depends on: the model, the optimizer (momentum buffers and the decayed
lr), the plateau schedule, the validation scores with the best epoch's weights, the history, the mini-batch
order's generator, torch's RNG, and the time spent so far. A run resumed on the same CPU and code is the run it
would have been (bit-identical, `tests/experiment/test_partial.py`); its record's "interrupted" list says after
which epoch it stopped and what code and CPU trained it until then. The saved state is used only by the run it
belongs to: the same run id, config, training videos and data (else it is ignored and overwritten).

A 100-video run finishes in minutes and never saves (SAVE_EVERY_S); a 5,000-video run of the paper preset takes
over an hour on one core, where a session's end would otherwise lose it whole.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

#: The hidden folder of runs in progress inside a results folder.
PARTIAL_DIR = ".partial"
#: Seconds of training between two saves of a run in progress (a save takes milliseconds; this bounds the work
#: lost to an interruption to about this much per worker); the environment variable SAVE_EVERY_ENV overrides it.
SAVE_EVERY_S = 300.0
SAVE_EVERY_ENV = "TTN_SAVE_EVERY_S"


def save_every_s() -> float:
    """Seconds between saves: SAVE_EVERY_ENV if set to a number >= 0, else SAVE_EVERY_S."""
    try:
        value = float(os.environ[SAVE_EVERY_ENV])
    except (KeyError, ValueError):
        return SAVE_EVERY_S
    return value if value >= 0 else SAVE_EVERY_S


def partial_path(out: str | os.PathLike[str], run_id: str) -> Path:
    """Where the run in progress `run_id` of the results folder `out` is kept."""
    return Path(out) / PARTIAL_DIR / f"{run_id}.pt"


@dataclass
class Progress:
    """A run's state after `epoch` epochs, as `fit` holds it (what a resumed run starts from)."""

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    schedule_best: float  # PlateauDecay.best_at_last_check
    scores: dict[str, Any]  # Scores.state()
    history: list[dict[str, Any]]
    shuffle_state: dict[str, Any]  # the mini-batch order generator's bit_generator.state
    torch_rng: torch.Tensor
    wall_time_s: float = 0.0  # spent until this save, over every segment of the run
    cpu_time_s: float = 0.0
    versions: dict[str, Any] = field(default_factory=dict)  # of the code and CPU that saved it
    interrupted: list[dict[str, Any]] = field(default_factory=list)  # the segments before the one that saved it


class RunKeeper:
    """Saves and restores one run's `Progress` at `path` (`partial_path`), guarded by `identity`: what makes it
    the same run (run id, config, training videos, data fingerprint). `every_s`: seconds between saves (default
    `save_every_s()`; 0: every epoch); `resume` False: saves, never loads (a run trained again from scratch, `--force`);
    `started`: (`time.perf_counter()`, `time.process_time()`) when this segment of the run began."""

    def __init__(self, path: Path, identity: dict[str, Any], every_s: float | None = None, resume: bool = True,
                 started: tuple[float, float] | None = None) -> None:
        self.path, self.identity, self.resume = path, identity, resume
        self.every_s = save_every_s() if every_s is None else every_s
        self.started_wall, self.started_cpu = started or (time.perf_counter(), time.process_time())
        self.last_save = self.started_wall
        self.earlier: Progress | None = None  # what this segment resumed from, if anything

    def load(self) -> Progress | None:
        """The saved progress of this run, or None (none saved, unreadable, another run's, or not `resume`)."""
        if not self.resume or not self.path.is_file():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - a torn or foreign file: start from epoch 1 and overwrite it
            return None
        if not isinstance(saved, dict) or saved.get("identity") != self.identity:
            return None
        self.earlier = Progress(**saved["progress"])
        return self.earlier

    def save_if_due(self, progress: Progress) -> bool:
        """Save `progress` if `every_s` seconds have passed since the last save (or the segment began); True if
        saved. Atomic: an interruption during the save leaves the previous file whole."""
        now = time.perf_counter()
        if now - self.last_save < self.every_s:
            return False
        from ttn.experiment.provenance import versions

        progress.wall_time_s, progress.cpu_time_s = self.spent()
        progress.versions, progress.interrupted = versions(), self.interrupted()
        from vmnist.infra.atomic import atomic_open

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.path, "wb") as stream:  # as checkpoints are written (`ttn.experiment.checkpoint`)
            torch.save({"identity": self.identity, "progress": vars(progress)}, stream)
        self.last_save = time.perf_counter()
        return True

    def spent(self) -> tuple[float, float]:
        """(wall, CPU) seconds of the run so far: this segment's and every earlier one's."""
        wall = time.perf_counter() - self.started_wall
        cpu = time.process_time() - self.started_cpu
        if self.earlier is not None:
            wall, cpu = wall + self.earlier.wall_time_s, cpu + self.earlier.cpu_time_s
        return round(wall, 3), round(cpu, 3)

    def interrupted(self) -> list[dict[str, Any]]:
        """The record's "interrupted" list: for each earlier segment, the epoch it stopped after and the
        versions (code, CPU) that trained it; empty for a run trained in one go."""
        if self.earlier is None:
            return []
        return [*self.earlier.interrupted, {"after_epoch": self.earlier.epoch, "versions": self.earlier.versions}]

    def discard(self) -> None:
        """Remove the saved progress (the run's record is written)."""
        self.path.unlink(missing_ok=True)


def capture(epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer, schedule_best: float,
            scores: dict[str, Any], history: list[dict[str, Any]], rng: np.random.Generator) -> Progress:
    """The `Progress` of a run after `epoch` epochs (tensors referenced, not copied: saved at once)."""
    return Progress(epoch, model.state_dict(), optimizer.state_dict(), schedule_best, scores, list(history),
                    rng.bit_generator.state, torch.get_rng_state())
