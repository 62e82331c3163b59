"""What a reader of a selected candidate's accuracy must also know: warnings that it may be misleading.

Each warning is a string that starts with a code (the part before the first space), so programs can read it:

- ``grid-edge:<axis>``: the selected value of a numeric grid axis (e.g. lr) is the smallest or largest value
  tried among the candidates that differ from the selected one only in that axis: the best value may lie
  beyond the grid; the message says which way to extend it. Not when the selected value is level on
  validation with the next value in (over the runs both have): then ``level-edge:<axis>`` (no mark) says that
  the candidates' order, not validation, put the pick on the edge (a validation set at its ceiling).
- ``rising``: the mean validation accuracy of the reported runs peaks at the last validated epoch and gained at
  least half a point over the last fifth of training: the runs were still learning, a longer schedule may
  change the result; unless the training loss is already 0 in most runs (no gradient is left: the late rise is
  momentum running out), which the message then says.
- ``collapsed:<k>/<n>``: k of the n reported runs ended at chance after having left it (an earlier epoch's
  training loss below the chance band or validation accuracy at or above 0.15), or diverged: final training
  loss within 5% of ln 10 (a uniform guess over 10 classes), final validation accuracy below 0.15, or a
  diverged loss. With ``--score best`` their accuracy is a snapshot from before the collapse.
- ``chance:<k>/<n>``: k of the n reported runs ended at chance without ever leaving it: undertrained (e.g. 2
  epochs) or an lr that does not train, not a collapse.

`MARKS` gives each code the letter that marks a cell in tables; `FOOTNOTES` explains the letters.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from ttn.experiment.racing import mean_over
from ttn.registry import NUM_CLASSES
from ttn.report.selection import Candidate, Selection, format_value

#: A run "ended at chance" when its final training loss is within CHANCE_TOLERANCE of ln(10), or its final
#: validation accuracy is below CHANCE_ACCURACY (chance is 0.10), or its loss diverged.
CHANCE_LOSS = math.log(NUM_CLASSES)
CHANCE_TOLERANCE = 0.05
CHANCE_ACCURACY = 0.15

#: "Still rising": the mean validation curve peaks at its last epoch and gained at least RISING_GAIN (half a
#: point of accuracy) since the last validated epoch at or before RISING_FROM of the schedule.
RISING_GAIN = 0.005
RISING_FROM = 0.8
#: A final training loss at or below this is "zero": float32 cross-entropy of saturated logits, no gradient left.
ZERO_LOSS = 1e-7

#: The letter that marks a cell in tables, per warning code, and what it means (for the tables' footnote).
MARKS = {"grid-edge": "e", "rising": "r", "collapsed": "c", "chance": "u"}
FOOTNOTES = {
    "e": "the selected value of a grid axis is the grid's smallest or largest (extend the grid; the warnings say which way)",
    "r": "mean validation accuracy still rising at the last validated epoch (a longer schedule may change it, "
         "unless the warning says the training loss is already 0)",
    "c": "some runs ended at chance (final train loss within 5% of ln 10, val accuracy < 0.15, or diverged): "
         "their accuracy is a snapshot from before the collapse",
    "u": "some runs never left chance (undertrained: too few epochs, or an lr that does not train)",
}


def code(warning: str) -> str:
    """The code of a warning without its argument: "collapsed:7/10 ..." -> "collapsed"."""
    return warning.split(" ", 1)[0].split(":", 1)[0]


def marks(warnings: Sequence[str]) -> str:
    """The letters marking a cell with these warnings, e.g. "ce" ("" without warnings)."""
    return "".join(sorted({MARKS[code(w)] for w in warnings if code(w) in MARKS}))


def footnote(warning_lists: Iterable[Sequence[str]]) -> str:
    """What the marks of cells with these warnings mean, e.g. "[c] some runs ended at chance ..." ("" if none)."""
    used = sorted({mark for warnings in warning_lists for mark in marks(warnings)})
    return " ".join(f"[{mark}] {FOOTNOTES[mark]}." for mark in used)


def candidate_warnings(selection: Selection | None, records: Sequence[dict[str, Any]]) -> list[str]:
    """Every warning of the selected candidate of a cell, over the `records` of its reported runs."""
    found = grid_edge_warnings(selection) if selection is not None else []
    return found + rising_warnings(records) + collapsed_warnings(records) + untrained_warnings(records)


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def grid_edge_warnings(selection: Selection) -> list[str]:
    """`grid-edge:<axis>` for each numeric axis whose selected value is an end of its grid: the values of the
    candidates equal to the selected one in every other varying option (at least 2 of them)."""
    chosen = selection.chosen
    found = []
    for axis, value in chosen.options.items():
        if not _numeric(value):
            continue
        grid = sorted({float(c.options[axis]) for c in _peers(selection.candidates, chosen, axis)
                       if _numeric(c.options.get(axis))})
        if len(grid) < 2 or grid[0] < float(value) < grid[-1]:
            continue
        low = float(value) == grid[0]
        end, way = ("smallest", "smaller") if low else ("largest", "larger")
        values = ", ".join(f"{v:g}" for v in grid)
        next_in = next(c for c in _peers(selection.candidates, chosen, axis)
                       if _numeric(c.options.get(axis)) and float(c.options[axis]) == (grid[1] if low else grid[-2]))
        shared = [run for run in chosen.runs if run in next_in.val]
        if shared and mean_over(chosen.val, shared) <= mean_over(next_in.val, shared):
            found.append(f"level-edge:{axis} selected {axis} {float(value):g}, the {end} of its grid ({values}), is "
                         f"level on validation with {axis} {float(next_in.options[axis]):g} "
                         f"({mean_over(chosen.val, shared):.4f} over {len(shared)} run{'s' * (len(shared) != 1)}): the order of the candidates "
                         f"put the pick on the edge, validation does not point to a {way} value")
            continue
        found.append(f"grid-edge:{axis} selected {axis} {float(value):g} is the {end} of its grid ({values}): "
                     f"add a {way} value to the grid")
    return found


def _peers(candidates: Sequence[Candidate], chosen: Candidate, axis: str) -> list[Candidate]:
    """The candidates that differ from `chosen` in `axis` only (among the options that vary in the cell)."""
    others = [name for name in chosen.options if name != axis]
    return [c for c in candidates if all(format_value(c.options.get(n)) == format_value(chosen.options[n]) for n in others)]


def rising_warnings(records: Sequence[dict[str, Any]]) -> list[str]:
    """`rising` when the mean validation curve of `records` peaks at its last validated epoch and gained at least
    RISING_GAIN over the last fifth of training (since the last validated epoch <= 4/5 of the last one): a flat
    curve whose last point happens to be the highest by a hair is not "still learning"."""
    curve = _mean_validation_curve(records)
    if len(curve) < 2:
        return []
    epochs = sorted(curve)
    last = epochs[-1]
    since = max([epoch for epoch in epochs[:-1] if epoch <= RISING_FROM * last] or epochs[:1])
    gain = curve[last] - curve[since]
    if curve[last] < max(curve.values()) or gain < RISING_GAIN:
        return []
    head = (f"rising mean validation accuracy peaks at the last validated epoch ({last}: {curve[last]:.3f}, "
            f"+{100 * gain:.1f} points since epoch {since})")
    zero = [record for record in records if (loss := _final_train_loss(record)) is not None and loss <= ZERO_LOSS]
    if 2 * len(zero) > len(records):
        return [f"{head}, but the training loss is 0 in {len(zero)}/{len(records)} runs: no gradient is left, what "
                "still moves them is momentum running out; a longer schedule is unlikely to change much"]
    return [f"{head}: the runs were still learning; train longer to see where it ends"]


def _history(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's per-epoch entries (entries that are not dicts, in a damaged record, left out)."""
    return [entry for entry in record.get("history") or [] if isinstance(entry, dict)]


def _final_train_loss(record: dict[str, Any]) -> float | None:
    """The last epoch's training loss of a run (None if it has none; inf or NaN as recorded)."""
    history = _history(record)
    loss = history[-1].get("train_loss") if history else None
    return float(loss) if _numeric(loss) else None


def _mean_validation_curve(records: Sequence[dict[str, Any]]) -> dict[int, float]:
    """{epoch: mean validation accuracy over the runs validated at that epoch}."""
    sums: dict[int, list[float]] = {}
    for record in records:
        for entry in _history(record):
            if _numeric(entry.get("val_accuracy")) and _numeric(entry.get("epoch")):
                sums.setdefault(int(entry["epoch"]), []).append(float(entry["val_accuracy"]))
    return {epoch: sum(values) / len(values) for epoch, values in sums.items()}


def ended_at_chance(record: dict[str, Any]) -> bool:
    """Whether a run's last epoch is at chance: diverged, final train loss within 5% of ln 10, or final
    validation accuracy below CHANCE_ACCURACY (a record without a history is not judged)."""
    history = _history(record)
    if record.get("diverged_at_epoch") is not None:
        return True
    if not history:
        return False
    loss = _final_train_loss(record)
    if loss is not None and (not math.isfinite(loss) or abs(loss - CHANCE_LOSS) <= CHANCE_TOLERANCE * CHANCE_LOSS):
        return True
    validated = [entry["val_accuracy"] for entry in history if _numeric(entry.get("val_accuracy"))]
    return bool(validated) and validated[-1] < CHANCE_ACCURACY


def left_chance(record: dict[str, Any]) -> bool:
    """Whether a run was ever better than chance before its last epoch: an earlier training loss below the chance
    band (ln 10 less 5%) or an earlier validation accuracy at or above CHANCE_ACCURACY."""
    earlier = _history(record)[:-1]
    losses = [float(entry["train_loss"]) for entry in earlier if _numeric(entry.get("train_loss"))]
    validated = [float(entry["val_accuracy"]) for entry in earlier if _numeric(entry.get("val_accuracy"))]
    return (any(loss < (1 - CHANCE_TOLERANCE) * CHANCE_LOSS for loss in losses)
            or any(value >= CHANCE_ACCURACY for value in validated))


def collapsed(record: dict[str, Any]) -> bool:
    """Whether a run collapsed: it diverged, or ended at chance (`ended_at_chance`) after having left it."""
    return record.get("diverged_at_epoch") is not None or (ended_at_chance(record) and left_chance(record))


def _runs_text(records: Sequence[dict[str, Any]]) -> str:
    return ", ".join(str(record.get("run")) for record in records)


def collapsed_warnings(records: Sequence[dict[str, Any]]) -> list[str]:
    """`collapsed:<k>/<n>` when k > 0 of the n runs collapsed (`collapsed`)."""
    found = [record for record in records if collapsed(record)]
    if not found:
        return []
    return [f"collapsed:{len(found)}/{len(records)} runs ended at chance (run {_runs_text(found)}: final train loss "
            f"within {CHANCE_TOLERANCE:.0%} of ln 10 = {CHANCE_LOSS:.3f}, final val accuracy < {CHANCE_ACCURACY}, or "
            "diverged); with --score best their accuracy is a snapshot from before the collapse"]


def untrained_warnings(records: Sequence[dict[str, Any]]) -> list[str]:
    """`chance:<k>/<n>` when k > 0 of the n runs ended at chance without ever leaving it (not a collapse)."""
    found = [record for record in records if ended_at_chance(record) and not collapsed(record)]
    if not found:
        return []
    return [f"chance:{len(found)}/{len(records)} runs never left chance (run {_runs_text(found)}, "
            f"{_epochs_text(found)}): undertrained, not collapsed; train more epochs, or check the lr"]


def _epochs_text(records: Sequence[dict[str, Any]]) -> str:
    epochs = sorted({len(_history(record)) for record in records})
    return "after " + "/".join(map(str, epochs)) + (" epoch" if epochs == [1] else " epochs")
