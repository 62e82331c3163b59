"""Model selection as in the paper (section 3.4): per (arch, training videos), the candidate config with the
highest mean *validation* accuracy over its runs is selected, and only its test accuracy is reported.

    records of one (arch, videos) --group by config (`ttn.experiment.config.identity`)--> candidates
      -> mean validation accuracy of each over the run indices they all share
      -> the highest (ties: more runs, then the first by option values) -> its runs' test accuracies

Test accuracies never take part in a choice: `select` reads `val_accuracy` only (the scored epoch's
validation accuracy, `ttn.experiment.training`). Candidates are compared on the runs they share, so a
sweep still in progress (one candidate ahead of another) compares like with like; with no shared run
they are compared on their own runs, with a warning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ttn.errors import TTNError
from ttn.registry import canonical_init
from ttn.experiment.config import NOT_IDENTITY, config_order, format_value, identity
from ttn.experiment.racing import RacePlan, decide, mean_over
from ttn.experiment.records import selection_val_accuracy

#: Values of `select`'s rule: "val" (highest mean validation accuracy) or "none" (one candidate per cell).
SELECT_RULES = ("val", "none")


@dataclass
class Candidate:
    """The runs of one config in one (arch, videos) cell."""

    config: dict[str, Any]  #: the resolved config its records share
    val: dict[int, float]  #: run index -> validation accuracy (the scored epoch's)
    records: dict[int, dict[str, Any]] = field(repr=False)  #: run index -> record
    options: dict[str, Any] = field(default_factory=dict)  #: the options that differ between the cell's candidates

    @property
    def runs(self) -> list[int]:
        return sorted(self.val)

    @property
    def val_mean(self) -> float:
        """Mean validation accuracy over all of its runs."""
        return self.mean_over(self.val)

    def mean_over(self, runs: Iterable[int]) -> float:
        """Mean validation accuracy over those of `runs` it has (NaN for none), rounded as the race compares
        (`ttn.experiment.racing.mean_over`): equal means are a tie, in a race or not."""
        present = [run for run in runs if run in self.val]
        return mean_over(self.val, present) if present else math.nan

    def label(self) -> str:
        """The varying options, e.g. "lr 0.005, channels 6x16" ("-" when the cell has one candidate)."""
        return ", ".join(f"{name} {format_value(value)}" for name, value in self.options.items()) or "-"


@dataclass
class Selection:
    """The candidates of one cell and the one selected (`candidates[selected]`)."""

    arch: str
    videos: int
    candidates: list[Candidate]
    selected: int
    compared_on: list[int]  #: the run indices the candidates were compared on
    warnings: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate:
        return self.candidates[self.selected]


def candidates_of(records: Sequence[dict[str, Any]]) -> list[Candidate]:
    """The records of one cell grouped by config, each group a Candidate with its varying `options` set."""
    groups: dict[tuple[Any, ...], Candidate] = {}
    for record in records:
        key = identity(record["config"])
        candidate = groups.setdefault(key, Candidate(config=dict(record["config"]), val={}, records={}))
        candidate.val[record["run"]] = selection_val_accuracy(record)
        candidate.records[record["run"]] = record
    candidates = sorted(groups.values(), key=lambda c: config_order(c.config))
    names = sorted({name for c in candidates for name in c.config if name not in NOT_IDENTITY})
    varying = [name for name in names if len({format_value(c.config.get(name)) for c in candidates}) > 1]
    for candidate in candidates:
        candidate.options = {name: candidate.config.get(name) for name in varying}
    return candidates


def select(arch: str, videos: int, records: Sequence[dict[str, Any]], rule: str = "val") -> Selection:
    """Select the candidate of (arch, videos) by `rule` (SELECT_RULES) from the cell's records."""
    if rule not in SELECT_RULES:
        raise TTNError(f"--select {rule}: choose one of {', '.join(SELECT_RULES)}")
    candidates = candidates_of(records)
    warnings: list[str] = []
    if rule == "none":
        if len(candidates) > 1:
            differ = ", ".join(candidates[0].options)
            raise TTNError(
                f"{arch} at {videos} videos has {len(candidates)} candidate configs (they differ in {differ}): select "
                "among them on validation (--select val, the default) or keep one (--where, e.g. --where lr=0.02)"
            )
        return Selection(arch, videos, candidates, 0, candidates[0].runs)
    shared = sorted(set.intersection(*(set(c.val) for c in candidates)))
    if len({tuple(c.runs) for c in candidates}) > 1:
        counts = ", ".join(f"{c.label()}: {len(c.runs)}" for c in candidates)
        warnings.append(f"{arch} at {videos} videos: candidates have different runs ({counts}); "
                        + (f"compared on the {len(shared)} runs they share" if shared else "no shared run: compared on their own runs"))

    def score(index: int) -> float:
        candidate = candidates[index]
        return candidate.mean_over(shared) if shared else candidate.val_mean

    best = max(score(i) for i in range(len(candidates)))
    tied = [i for i in range(len(candidates)) if score(i) == best]
    chosen = max(tied, key=lambda i: (len(candidates[i].runs), -i))  # more runs first, then the first in order
    if len(tied) > 1:
        warnings.append(f"{arch} at {videos} videos: {len(tied)} candidates tie on validation accuracy "
                        f"({best:.4f}); selected {candidates[chosen].label()} (more runs, then the first by options)")
    return Selection(arch, videos, candidates, chosen, shared or candidates[chosen].runs, warnings)


def parse_where(items: Sequence[str]) -> dict[str, list[str]]:
    """--where KEY=V1,V2 (repeatable) -> {KEY: [V1, V2]}; TTNError naming a malformed item."""
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise TTNError(f"--where {item!r}: expected KEY=VALUE[,VALUE...], e.g. --where lr=0.02 or --where channels=6x16")
        filters.setdefault(key.strip().replace("-", "_"), []).extend(v.strip() for v in values.split(","))
    return filters


def where(records: Sequence[dict[str, Any]], filters: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The records whose config option KEY is one of the VALUES for every filter (spelled as `format_value`);
    an option that does not apply to a record's arch (None, e.g. transform_lr_scale of a 3d run) passes. An init
    rule matches the records of the rule that draws the same model for their arch (`canonical_init`):
    conv_init=default keeps a 3DTTN's runs, recorded as "he", the model PyTorch's default draws for it."""
    known = {key for record in records for key in record["config"]}
    unknown = sorted(set(filters) - known)
    if records and unknown:
        raise TTNError(f"--where {', '.join(unknown)}: no such option in the records; options: {', '.join(sorted(known))}")
    return [record for record in records
            if all(record["config"].get(key) is None
                   or any(_matches(record["config"][key], _as_named(record, key, v)) for v in values)
                   for key, values in filters.items())]


def race_select(arch: str, videos: int, records: Sequence[dict[str, Any]], plan: RacePlan) -> Selection | None:
    """The pick of a raced cell by the sweep's own rule (`ttn.experiment.racing.winner`: the top half of the race
    runs goes on, the best mean over the selection runs wins, ties to the first candidate in `config_order`), or
    None while its selection runs are not all recorded."""
    candidates = candidates_of(records)
    decision = decide(plan, list(range(len(candidates))), {i: c.val for i, c in enumerate(candidates)})
    if decision.winner is None:
        return None
    pick, survivors = decision.winner, decision.survivors or []
    return Selection(arch, videos, candidates, pick, list(plan.select_runs),
                     race_tie_warnings(f"{arch} at {videos} videos", candidates, plan, pick, survivors))


def race_tie_warnings(cell: str, candidates: Sequence[Candidate], plan: RacePlan, pick: int,
                      survivors: Sequence[int]) -> list[str]:
    """Where the race's order, not validation, decided (`decide` breaks ties by the candidates' order): the
    candidates level with the pick over the selection runs, and those cut after the race level with a candidate
    that went on (a validation set at its ceiling makes both: every candidate 1.0)."""
    def mean(index: int, runs: Sequence[int]) -> float:  # as `decide` compares: equal means are its ties
        return mean_over(candidates[index].val, runs)

    warnings = []
    best = mean(pick, plan.select_runs)
    level = [i for i in survivors if i != pick and mean(i, plan.select_runs) == best]
    if level:
        warnings.append(f"{cell}: the pick, {candidates[pick].label()}, ties with "
                        f"{', '.join(candidates[i].label() for i in level)} over the selection runs "
                        f"({best:.4f}): the race's tie rule made it (the better over the race runs, then the first in order), "
                        "not validation")
    last_in = min(mean(i, plan.race_runs) for i in survivors)
    cut = [i for i in range(len(candidates)) if i not in survivors and mean(i, plan.race_runs) == last_in]
    if cut:
        warnings.append(f"{cell}: {', '.join(candidates[i].label() for i in cut)} went out after the race level with "
                        f"a candidate that went on ({last_in:.4f} over the race runs): the order of the candidates cut it")
    return warnings


def _as_named(record: Mapping[str, Any], key: str, wanted: str) -> str:
    """`wanted` as the record's arch names it: an init rule drawing the same model as the record's is its name
    (conv_init=default keeps a 3DTTN, whose PyTorch-default init is its He-drawn K0; ttn.registry.canonical_init)."""
    return canonical_init(record["arch"], wanted.lower()) if key == "conv_init" else wanted


def _matches(value: Any, wanted: str) -> bool:
    """Whether an option value is the one spelled `wanted` (numbers compared as numbers: 5e-3 == 0.005)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return math.isclose(float(value), float(wanted), rel_tol=1e-9)
        except ValueError:
            return False
    return format_value(value).lower() == wanted.lower()
