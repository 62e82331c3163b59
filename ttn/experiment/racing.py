"""Racing model selection over runs (never over epochs): which candidate trains which runs, decided from records.

A raced sweep (`ttn sweep --race K --select-runs A-B --runs N`) spends its runs where the choice is still open.
Per (arch, training videos) cell, with candidates c_1..c_n in the sweep's order:

    stage "race"     every candidate trains the first K selection runs (A .. A+K-1)
    stage "select"   the top half of the candidates (at least 2) by mean validation accuracy over those K runs
                     trains the rest of the selection runs (A+K .. B)
    stage "confirm"  the survivor with the best mean validation accuracy over A..B is the cell's pick: its
                     selection runs are tested (`test` tasks) and it trains the other runs of 0..N-1
                     (the confirmatory runs, which took no part in the choice)

Ties go to the earlier candidate in the sweep's order. Every decision reads the validation accuracies of
finished records only, so a restarted sweep, or two sweeps on one folder, make the same decisions; a stage
waits for every record it decides on. Truncating epochs instead would pick too-high learning rates (low lrs
are still climbing early), so every run trains its full epoch budget.

The plan is stored beside the records (`OUT/race.json`): `ttn report` / `ttn compare` read it and select on
the selection runs with the same rule (`winner`), and estimate on the confirmatory runs by default.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

from ttn.errors import TTNError

#: The file of a raced results folder that holds its plan.
PLAN_FILE = "race.json"


@dataclass(frozen=True)
class RacePlan:
    """Racing over runs: `race` runs per candidate first, the pick made on `select_runs`, then `runs` in all."""

    race: int  #: K: the runs every candidate trains (the first K of select_runs)
    select_runs: tuple[int, ...]  #: sorted run indices the pick is made on
    runs: tuple[int, ...]  #: sorted run indices of the pick in all (select_runs and the confirmatory runs)

    def __post_init__(self) -> None:
        if self.race < 1:
            raise TTNError(f"--race {self.race}: give at least 1 run per candidate, e.g. --race 2")
        if self.race > len(self.select_runs):
            raise TTNError(f"--race {self.race} is more runs than --select-runs holds ({len(self.select_runs)}); "
                           "give a smaller --race or more selection runs")
        missing = sorted(set(self.select_runs) - set(self.runs))
        if missing:
            raise TTNError(f"--select-runs names runs that --runs does not ({missing[0]}); give --runs that include "
                           "the selection runs, e.g. --runs 30 with --select-runs 0-9")

    @property
    def race_runs(self) -> tuple[int, ...]:
        return self.select_runs[: self.race]

    @property
    def later_select_runs(self) -> tuple[int, ...]:
        return self.select_runs[self.race:]

    @property
    def confirm_runs(self) -> tuple[int, ...]:
        chosen = set(self.select_runs)
        return tuple(run for run in self.runs if run not in chosen)

    def to_dict(self) -> dict[str, Any]:
        return {"race": self.race, "select_runs": list(self.select_runs), "runs": list(self.runs)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RacePlan:
        return cls(int(data["race"]), tuple(sorted(int(r) for r in data["select_runs"])),
                   tuple(sorted(int(r) for r in data["runs"])))


def survivors_count(candidates: int) -> int:
    """How many candidates go on from the race: the top half, at least 2 (all of them when there are fewer)."""
    return min(candidates, max(2, math.ceil(candidates / 2)))


#: Decimals a mean validation accuracy is compared to. Accuracies are fractions k/n of a validation set (n 300 or
#: 1,000 per run): equal counts must make one tie whatever order the floating-point sum took (at 100 videos two
#: 3DTTN lrs had 2,739 of 3,000 each, means 0.913 and 0.9129999999999999, and the 1e-16 decided the pick until
#: this rounding). Real differences are at least 1/(n x runs), far above 1e-10.
MEAN_DECIMALS = 10


def mean_over(val: Mapping[int, float], runs: Sequence[int]) -> float:
    """Mean of `val` (run -> validation accuracy) over `runs` (all present), to `MEAN_DECIMALS` decimals."""
    return round(math.fsum(val[run] for run in runs) / len(runs), MEAN_DECIMALS)


def ranked(candidates: Sequence[Hashable], val: Mapping[Hashable, Mapping[int, float]], runs: Sequence[int]) -> list[Hashable]:
    """`candidates` by mean validation accuracy over `runs`, best first; ties keep the given order."""
    order = {candidate: index for index, candidate in enumerate(candidates)}
    return sorted(candidates, key=lambda c: (-mean_over(val[c], runs), order[c]))


def has_runs(val: Mapping[int, float], runs: Sequence[int]) -> bool:
    return all(run in val for run in runs)


@dataclass
class CellDecision:
    """Where one cell stands: the (candidate, run) pairs to train now, the runs to test now, and the pick."""

    train: list[tuple[Hashable, int]] = field(default_factory=list)
    test: list[tuple[Hashable, int]] = field(default_factory=list)
    survivors: list[Hashable] | None = None  #: None until every race run is recorded
    winner: Hashable | None = None  #: None until every survivor's selection runs are recorded
    stage: str = "race"  #: "race", "select", "confirm" or "done"


def decide(plan: RacePlan, candidates: Sequence[Hashable], val: Mapping[Hashable, Mapping[int, float]],
           untested: Mapping[Hashable, set[int]] | None = None) -> CellDecision:
    """The next work of one cell from its finished records: `val[candidate][run]` is the validation accuracy of
    each recorded run, `untested[candidate]` the recorded runs without a test accuracy yet."""
    untested = untested or {}
    decision = CellDecision()
    missing_race = [(c, run) for c in candidates for run in plan.race_runs if run not in val.get(c, {})]
    if missing_race:
        decision.train = missing_race
        return decision
    decision.survivors = ranked(candidates, val, plan.race_runs)[: survivors_count(len(candidates))]
    decision.stage = "select"
    missing_select = [(c, run) for c in decision.survivors for run in plan.later_select_runs if run not in val.get(c, {})]
    if missing_select:
        decision.train = missing_select
        return decision
    decision.winner = ranked(decision.survivors, val, plan.select_runs)[0]
    decision.stage = "confirm"
    recorded = val.get(decision.winner, {})
    decision.test = [(decision.winner, run) for run in plan.runs if run in untested.get(decision.winner, set())]
    decision.train = [(decision.winner, run) for run in plan.confirm_runs if run not in recorded]
    if not decision.test and not decision.train:
        decision.stage = "done"
    return decision


def winner(plan: RacePlan, candidates: Sequence[Hashable], val: Mapping[Hashable, Mapping[int, float]]) -> Hashable | None:
    """The pick of a cell by the racing rule, or None while its selection runs are not all recorded."""
    return decide(plan, candidates, val).winner


def plan_path(out: str | os.PathLike[str]) -> Path:
    return Path(out) / PLAN_FILE


def read_plans(out: str | os.PathLike[str]) -> dict[int, RacePlan]:
    """The race plan of each training-set size raced in results folder `out` ({} if none was raced there)."""
    path = plan_path(out)
    if not path.is_file():
        return {}
    try:
        return {int(videos): RacePlan.from_dict(plan) for videos, plan in json.loads(path.read_text()).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TTNError(f"{path}: not a race plan (delete it only if no raced sweep wrote this folder)") from None


def store_plans(out: str | os.PathLike[str], plans: Mapping[int, RacePlan]) -> None:
    """Add `plans` (videos -> plan) to the plans of `out` (atomically), or TTNError if a size there was raced
    with another plan: one size, one rule, so that every sweep and report on the folder decides alike."""
    from vmnist.infra.atomic import atomic_write_text

    have = read_plans(out)
    for videos, plan in sorted(plans.items()):
        if videos in have and have[videos] != plan:
            old = have[videos]
            raise TTNError(f"--out {out}: {videos} videos were raced with --race {old.race} --select-runs "
                           f"{span(old.select_runs)} --runs {span(old.runs)}; use those options or another --out")
    merged = have | dict(plans)
    if merged != have:
        Path(out).mkdir(parents=True, exist_ok=True)
        text = json.dumps({str(videos): plan.to_dict() for videos, plan in sorted(merged.items())}, indent=1)
        atomic_write_text(plan_path(out), text + "\n")


def span(runs: Sequence[int]) -> str:
    """Run indices as options spell them: "0-9", or "0,2,5" when not one range."""
    runs = sorted(runs)
    return f"{runs[0]}-{runs[-1]}" if runs == list(range(runs[0], runs[-1] + 1)) else ",".join(map(str, runs))
