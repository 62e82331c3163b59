"""The stages of a raced sweep as a plan: how many runs (and test passes) each stage holds, how many are done,
and what the rest costs (`ttn.experiment.cost`), from the records already in the results folder.

Before a stage's decision is made its runs are not known, only how many there are: the projection then costs
the first candidates in the sweep's order (all of a cell's candidates share its model shape unless a grid
varies the channels).
"""
from __future__ import annotations

import os  # noqa: F401 - os.PathLike in annotations
from dataclasses import dataclass, replace
from typing import Sequence

from ttn.experiment.cost import Rates, deferred_test_seconds, task_seconds, wall_seconds
from ttn.experiment.raced_sweep import Cell, CellState, decide_cell, records_by_cell, steps_beyond
from ttn.experiment.racing import CellDecision, survivors_count
from ttn.experiment.task import Task

STAGES = ("race", "select", "test", "confirm")
#: What each stage is, for the printed plan.
STAGE_TEXT = {
    "race": "every candidate, the first K selection runs (no test pass)",
    "select": "the top half (at least 2), the other selection runs (no test pass)",
    "test": "the pick's selection runs, tested once it is picked",
    "confirm": "the pick, the runs outside the selection (tested as they train)",
}


@dataclass
class StageLine:
    """One stage over every cell: runs (or test passes) planned, done, and the estimated CPU-seconds left."""

    stage: str
    planned: int = 0
    done: int = 0
    seconds_left: float = 0.0


@dataclass
class Projection:
    """A raced sweep's stages as its records stand (`project`), and the most that edge extensions not yet known
    may add (`edges`, outside the estimate)."""

    stages: list[StageLine]
    edges: StageLine

    @property
    def seconds_left(self) -> float:
        """Estimated CPU-seconds of the stages left (edges not counted)."""
        return sum(line.seconds_left for line in self.stages)

    @property
    def runs_left(self) -> int:
        """Runs and test passes of the stages left."""
        return sum(line.planned - line.done for line in self.stages)

    def wall_seconds(self, slots: int | None) -> float:
        """`seconds_left` as wall seconds on `slots` workers (None: unknown, the CPU time itself)."""
        return wall_seconds(self.seconds_left, slots, self.runs_left)


def project(cells: Sequence[Cell], out: str | os.PathLike[str] | None, rates: Rates = Rates(),
            test_videos: int = 10_000) -> Projection:
    """The stages of `cells`, with what the records in `out` (None: an empty folder) have done of each, read once.
    A pick at a grid edge that makes the next lr out race (`--extend-edges`) is counted once it is known: its runs
    join the race. An extension that may yet come (a cell still without a pick, steps left) goes to `edges`: at
    most every step left racing one more lr through all the selection runs (no test pass)."""
    lines = {stage: StageLine(stage) for stage in STAGES}
    edges = StageLine("edges")
    records = records_by_cell(out)
    for cell in cells:
        state, decision = decide_cell(cell, records.get((cell.arch, cell.videos), []))
        add_cell_stages(lines, cell, state, decision, out, rates, test_videos)
        if decision.winner is None:
            steps_left = max(0, cell.extend_edges - steps_beyond(cell, state.candidates))
            for run in cell.plan.select_runs * steps_left:
                edges.planned += 1
                edges.seconds_left += task_seconds(Task(cell.arch, cell.videos, run, cell.candidates[0],
                                                        defer_test=True), rates, test_videos)
    return Projection([lines[stage] for stage in STAGES], edges)


def add_cell_stages(lines: dict[str, StageLine], cell: Cell, state: CellState, decision: CellDecision,
                    out: str | os.PathLike[str] | None, rates: Rates, test_videos: int) -> None:
    """Add one cell's runs (planned, done, CPU-seconds left) to the stage `lines`."""
    val, untested = state.val, state.untested
    plan, candidates = cell.plan, list(state.candidates)
    survivors = decision.survivors or candidates[: survivors_count(len(candidates))]
    pick = decision.winner if decision.winner is not None else survivors[0]
    units = {
        "race": [(c, run, True) for c in candidates for run in plan.race_runs],
        "select": [(c, run, True) for c in survivors for run in plan.later_select_runs],
        "test": [(pick, run, None) for run in plan.select_runs],
        "confirm": [(pick, run, False) for run in plan.confirm_runs],
    }
    for stage, items in units.items():
        line = lines[stage]
        for config, run, defer in items:
            task = Task(cell.arch, cell.videos, run, config, defer_test=bool(defer))
            line.planned += 1
            if stage == "test":
                finished = decision.winner is not None and run in val.get(pick, {}) and run not in untested.get(pick, set())
                # a recorded run without its scored model (a folder from another machine) is trained again
                retrain = out is not None and run in val.get(pick, {}) and not model_kept(out, task)
                cost = task_seconds(replace(task, defer_test=False), rates, test_videos) if retrain else \
                    deferred_test_seconds(task, rates, test_videos)
            else:
                finished = run in val.get(config, {})
                cost = task_seconds(task, rates, test_videos)
            line.done += finished
            line.seconds_left += 0.0 if finished else cost


def model_kept(out: str | os.PathLike[str], task: Task) -> bool:
    """Whether the scored model of `task`'s recorded run is in `out`, for its deferred test."""
    from ttn.experiment.training import checkpoint_path

    return checkpoint_path(out, task.run_id).is_file()
