"""The report as a tidy long table that pandas, R and spreadsheets read as they are.

One row per (arch, videos, candidate), or with ``runs=True`` one row per run of each candidate; every row has
the same columns (candidate options flattened into columns of their own, lists spelled like run ids: "6x16"),
so ``pandas.read_json(path, lines=True)`` reads the JSON-lines form and ``pandas.read_csv`` the CSV form:

    arch videos candidate selected n val_mean test_mean test_sem params warnings  lr     conv_init ...
    3d   10     0         true     10 0.62    0.661     0.0092   263906 ""        0.005  he
    3d   10     1         false    10 0.58    null      null     263906 ""        0.01   he

Test accuracy is given for the selected candidate only (what the report reports): a table that listed every
candidate's test accuracy side by side would invite choosing on it.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from ttn.experiment.config import NOT_IDENTITY
from ttn.report.selection import Candidate, format_value
from ttn.report.tables import Cell, Report

#: Columns of every row, before the candidate's options (which follow in name order).
CANDIDATE_COLUMNS = ("arch", "videos", "candidate", "selected", "n", "val_mean", "val_mean_compared", "test_mean",
                     "test_sem", "params", "warnings")
RUN_COLUMNS = ("arch", "videos", "candidate", "selected", "run", "run_id", "val_accuracy", "test_accuracy",
               "scored_epoch", "params", "warnings")


def _plain(value: Any) -> Any:
    """A cell value every reader takes: numbers and strings as they are, lists as "6x16", NaN as None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (list, tuple)):
        return format_value(value)
    return value


def _cells(report: Report) -> list[Cell]:
    return [cell for row in report.rows for cell in row.cells.values() if cell.selection is not None]


def option_names(report: Report) -> list[str]:
    """The config options of every candidate in the report, in name order (the flattened option columns)."""
    names = {name for cell in _cells(report) for candidate in cell.selection.candidates for name in candidate.config}
    return sorted(names - set(NOT_IDENTITY))


def _options(candidate: Candidate, names: list[str]) -> dict[str, Any]:
    return {name: _plain(candidate.config.get(name)) for name in names}


def tidy_rows(report: Report, *, runs: bool = False) -> list[dict[str, Any]]:
    """The rows of the tidy table: per candidate of every cell, or per run of every candidate (`runs`)."""
    names = option_names(report)
    rows = []
    for cell in _cells(report):
        selection = cell.selection
        for index, candidate in enumerate(selection.candidates):
            chosen = index == selection.selected
            warnings = "; ".join(cell.warnings) if chosen else ""
            if runs:
                records = candidate.records | (cell.records if chosen else {})  # its selecting and reported runs
                rows += [_run_row(cell, index, chosen, records[run], warnings, names) for run in sorted(records)]
                continue
            rows.append({
                "arch": cell.arch, "videos": cell.videos, "candidate": index, "selected": chosen,
                "n": len(candidate.runs), "val_mean": candidate.val_mean,
                "val_mean_compared": _plain(candidate.mean_over(selection.compared_on)),
                "test_mean": _plain(cell.stats.mean) if chosen else None,
                "test_sem": _plain(cell.stats.sem) if chosen else None,
                "params": candidate.records[candidate.runs[0]].get("params"), "warnings": warnings,
            } | _options(candidate, names))
    return rows


def _run_row(cell: Cell, index: int, chosen: bool, record: dict[str, Any], warnings: str, names: list[str]) -> dict[str, Any]:
    reported = chosen and record["run"] in cell.accuracies
    return {
        "arch": cell.arch, "videos": cell.videos, "candidate": index, "selected": chosen, "run": record["run"],
        "run_id": record.get("run_id"), "val_accuracy": record["val_accuracy"],
        "test_accuracy": record["test_accuracy"] if reported else None, "scored_epoch": record.get("scored_epoch"),
        "params": record.get("params"), "warnings": warnings,
    } | {name: _plain(record["config"].get(name)) for name in names}


def to_json_lines(report: Report, *, runs: bool = False) -> str:
    """One JSON object per line (`pandas.read_json(..., lines=True)`)."""
    return "".join(json.dumps(row) + "\n" for row in tidy_rows(report, runs=runs))


def to_tidy_csv(report: Report, *, runs: bool = False) -> str:
    """The same rows as CSV with a header (`pandas.read_csv`); empty where there is no value."""
    rows = tidy_rows(report, runs=runs)
    columns = list(RUN_COLUMNS if runs else CANDIDATE_COLUMNS) + option_names(report)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: ("" if value is None else value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()
