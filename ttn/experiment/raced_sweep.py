"""A raced sweep: rounds of `run_sweep`, each planned from the records the previous rounds wrote.

    store the plan of every size in OUT/race.json (refused if OUT raced a size another way)
    repeat:
      per (arch, videos) cell, `ttn.experiment.racing.decide` from its records -> runs to train, runs to test
      nothing left -> stop; else run them (runs of candidates not yet picked train without a test pass)

A round waits for every task it started, so each decision reads finished records only; runs that another sweep
on the same folder is training are waited for (polled), never trained twice. Works on any `Runner`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ttn.experiment.config import TrainConfig, config_order, resolved_config
from ttn.experiment.racing import CellDecision, RacePlan, decide, store_plans
from ttn.experiment.runners import Runner
from ttn.experiment.sweep import DoneCallback, SweepSummary, TaskFn, run_sweep, run_task, run_test_task
from ttn.experiment.task import Task

#: Seconds between looks at a folder while another sweep trains the runs a decision waits for.
POLL_S = 15.0


@dataclass(frozen=True)
class Cell:
    """One (arch, videos) cell of a raced sweep: its candidates in the sweep's order and its race plan."""

    arch: str
    videos: int
    candidates: tuple[TrainConfig, ...]
    plan: RacePlan


@dataclass
class RoundWork:
    """What one round does: runs to train, recorded runs to test, and where each cell stands."""

    train: list[Task] = field(default_factory=list)
    test: list[Task] = field(default_factory=list)
    decisions: dict[tuple[str, int], CellDecision] = field(default_factory=dict)


def make_cells(archs: Sequence[str], sizes: Sequence[int], configs: Mapping[str, Sequence[TrainConfig]],
               plans: Mapping[int, RacePlan]) -> list[Cell]:
    """The cells of a raced sweep, smallest sizes first (their results arrive first), each cell's candidates in
    `config_order` (the order in which `ttn report` lists them and breaks ties)."""
    def ordered(arch: str, videos: int) -> tuple[TrainConfig, ...]:
        unique = dict.fromkeys(configs[arch])
        return tuple(sorted(unique, key=lambda config: config_order(resolved_config(config, arch, videos))))

    return [Cell(arch, videos, ordered(arch, videos), plans[videos])
            for videos in sorted(set(sizes)) for arch in dict.fromkeys(archs)]


def recorded(out: str | os.PathLike[str], cell: Cell) -> tuple[dict[TrainConfig, dict[int, float]], dict[TrainConfig, set[int]]]:
    """Validation accuracy by candidate and run of the cell's complete records in `out`, and the recorded runs
    whose test is still deferred."""
    from ttn.errors import TTNError
    from ttn.experiment.records import read_record, record_path

    val: dict[TrainConfig, dict[int, float]] = {}
    untested: dict[TrainConfig, set[int]] = {}
    for config in cell.candidates:
        val[config], untested[config] = {}, set()
        for run in cell.plan.runs:
            path = record_path(out, Task(cell.arch, cell.videos, run, config).run_id)
            try:
                record = read_record(path) if path.is_file() else None
            except TTNError:  # torn or incomplete: not recorded (the sweep trains it again)
                record = None
            if record is None:
                continue
            val[config][run] = float(record["val_accuracy"])
            if record["test_accuracy"] is None:
                untested[config].add(run)
    return val, untested


def next_work(cells: Sequence[Cell], out: str | os.PathLike[str], test_all: bool = False) -> RoundWork:
    """The runs to train and to test now, from the records in `out` (`ttn.experiment.racing.decide` per cell).

    `test_all`: also test every recorded run whose test was deferred (candidates that were not picked)."""
    work = RoundWork()
    for cell in cells:
        val, untested = recorded(out, cell)
        decision = decide(cell.plan, list(cell.candidates), val, untested)
        work.decisions[(cell.arch, cell.videos)] = decision
        picked = decision.winner is not None
        for config, run in decision.train:
            # a run of the pick is tested as it trains; others keep their scored model for a later test
            work.train.append(Task(cell.arch, cell.videos, run, config, defer_test=not picked))
        tests = decision.test if not test_all else [(c, run) for c in cell.candidates for run in sorted(untested[c])]
        work.test.extend(Task(cell.arch, cell.videos, run, config) for config, run in tests)
    key = lambda task: (task.videos, task.run, task.arch)  # noqa: E731 - a sort key
    work.train.sort(key=key)
    work.test.sort(key=key)
    return work


def _merge(total: SweepSummary, part: SweepSummary) -> None:
    total.done += part.done
    total.skipped += part.skipped
    total.failed |= part.failed
    total.elsewhere += part.elsewhere


def run_raced_sweep(cells: Sequence[Cell], data: str | os.PathLike[str], out: str | os.PathLike[str], runner: Runner,
                    *, on_done: DoneCallback | None = None, on_round: Any = None, test_all: bool = False,
                    poll_s: float = POLL_S, train_fn: TaskFn = run_task, test_fn: TaskFn = run_test_task) -> SweepSummary:
    """Race every cell to its end (`ttn.experiment.racing`) on `runner`; returns what was done.

    `on_round(work)` is called before each round with its `RoundWork` (for progress). A round in which nothing
    finished (every task failed, or is trained by another sweep) stops on failure and waits otherwise.
    `train_fn` / `test_fn` run one task (`run_task` / `run_test_task`; tests pass others)."""
    started = time.perf_counter()
    store_plans(out, {cell.videos: cell.plan for cell in cells})
    total = SweepSummary()
    while True:
        work = next_work(cells, out, test_all)
        if not work.train and not work.test:
            break
        if on_round is not None:
            on_round(work)
        progress = len(total.done) + len(total.skipped)
        for tasks, task_fn, trains in ((work.train, train_fn, True), (work.test, test_fn, False)):
            if tasks:
                part = run_sweep(tasks, data, out, runner, task_fn=task_fn, on_done=on_done, skip_recorded=trains)
                total.planned += part.planned
                _merge(total, part)
        if total.failed:
            break  # a failed run blocks its cell's next decision: the user fixes it and runs the sweep again
        if len(total.done) + len(total.skipped) == progress:
            time.sleep(poll_s)  # every task is another sweep's: wait for its records
    total.wall_time_s = time.perf_counter() - started
    return total
