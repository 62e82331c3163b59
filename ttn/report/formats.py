"""The report as text: a table of strings for people, and markdown, CSV, LaTeX and JSON files (`ttn.report.render`
chooses among these, the tidy tables and the HTML page, which builds on `human_table`)."""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Sequence

from ttn.errors import TTNError
from ttn.paper import paper_source
from ttn.report.diagnostics import marks
from ttn.report.stats import CellStats, Comparison
from ttn.report.tables import Cell, Report, Significance
from ttn.report.transforms import transforms_dict

class ColumnError(TTNError):
    """A `--columns` list that names no column of the table (a usage error: exit 2 on the command line)."""


def _fmt(value: float | None, digits: int, dash: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return dash
    return f"{value:.{digits}f}"


def format_p(p: float | None, dash: str = "—") -> str:
    """A p-value for people: 3 decimals; 4 below 0.1, so that a p-value just under 0.05 never prints as
    "0.050" beside a significance mark; scientific notation below 0.001."""
    if p is None:
        return dash
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.1 else f"{p:.3f}"


def format_gap(comparison: Comparison | None, dash: str = "—") -> str:
    """A gap with its 95% interval, e.g. "+0.012 [-0.020, +0.044]" (the difference alone without an interval)."""
    if comparison is None or comparison.difference is None:
        return dash
    text = f"{comparison.difference:+.3f}"
    return text if comparison.ci95 is None else text + f" [{comparison.ci95[0]:+.3f}, {comparison.ci95[1]:+.3f}]"


def format_mde(comparison: Comparison | None, dash: str = "—") -> str:
    """The minimum detectable effect at 80% power, e.g. "0.051"."""
    return dash if comparison is None or comparison.mde80 is None else f"{comparison.mde80:.3f}"


def format_stats(stats: CellStats | None, pm: str = " ± ", dash: str = "—") -> str:
    """"mean ± sem" of accuracies, e.g. "0.491 ± 0.0350" (the mean alone when n < 2)."""
    if stats is None:
        return dash
    return _fmt(stats.mean, 3, dash) + ("" if math.isnan(stats.sem) else f"{pm}{stats.sem:.4f}")


def format_accuracy(cell: Cell | None, pm: str = " ± ", dash: str = "—") -> str:
    """A cell's "mean ± sem" and the marks of its warnings, e.g. "0.491 ± 0.0350 [c]"."""
    if cell is None:
        return dash
    text = format_stats(cell.stats, pm, dash)
    flags = marks(cell.warnings)
    return text + (f" [{flags}]" if flags else "")


def compared_key(arch: str, report: Report) -> str:
    """The prefix of the column names of `arch` against the baseline, e.g. "3dttn_vs_3d"."""
    return f"{arch}_vs_{report.baseline}"


def human_columns(report: Report, *, pm: str = " ± ", dash: str = "—") -> tuple[list[str], list[str], list[list[str]]]:
    """The columns of `human_table` with their `--columns` names (e.g. "3d_acc", "3dttn_vs_3d_gap"): keys,
    header and rows of strings."""
    p_label = "p_holm" if report.correction == "holm" else "p"
    columns: list[tuple[str, str]] = [("videos", "videos")]
    for arch in report.archs:
        columns += [(f"{arch}_acc", f"{arch} acc"), (f"{arch}_n", f"{arch} n"), (f"{arch}_params", f"{arch} params")]
        if arch in report.selecting_archs:
            columns.append((f"{arch}_selected", f"{arch} selected"))
        if arch in report.paper_archs:
            columns += [(f"paper_{arch}_acc", f"paper {arch} acc"), (f"paper_{arch}_params", f"paper {arch} params")]
    for arch in report.compared:
        key = compared_key(arch, report)
        columns += [(f"{key}_gap", f"{arch} - {report.baseline} [95% CI]"), (f"{key}_mde80", "mde80"),
                    (f"{key}_p", f"{p_label} {arch} vs {report.baseline}"), (f"{key}_test", "test")]
    table = []
    for row in report.rows:
        line = [str(row.videos)]
        for arch in report.archs:
            cell = row.cells.get(arch)
            line += [format_accuracy(cell, pm, dash), str(cell.stats.n) if cell else "0",
                     dash if cell is None or cell.params is None else str(cell.params)]
            if arch in report.selecting_archs:
                line.append(dash if cell is None or cell.selection is None else cell.selection.chosen.label())
            if arch in report.paper_archs:
                paper = row.paper.get(arch)
                if paper is None:
                    line += [dash, dash]
                else:
                    line += [f"{paper.mean_accuracy:.3f}{pm}{paper.standard_error:.4f}", str(paper.params)]
        for arch in report.compared:
            line += comparison_cells(row.significance.get(arch), report, dash)
        table.append(line)
    return [key for key, _ in columns], [name for _, name in columns], table


def comparison_cells(sig: Significance | None, report: Report, dash: str = "—") -> list[str]:
    """An arch against the baseline at one size for people: the gap [95% CI], mde80, the p-value (Holm-adjusted
    when corrected) with " *" if significant, and the test."""
    comparison = sig.comparison if sig is not None else None
    cells = [format_gap(comparison, dash), format_mde(comparison, dash)]
    if sig is None or sig.test is None:
        return cells + [dash, dash]
    p = sig.p_adjusted if report.correction == "holm" else sig.p_value
    return cells + [format_p(p, dash) + (" *" if sig.significant else ""), sig.test]


def human_table(report: Report, *, pm: str = " ± ", dash: str = "—") -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings for people (rich table, markdown, LaTeX); one row per training-set size.

    Per arch: accuracy "mean ± sem" with the marks of its warnings, runs n, params; with compare_paper the
    paper's "mean ± sem" and params; per compared arch: the gap to the baseline with its 95% interval, the
    minimum detectable effect at 80% power, the p-value (Holm-adjusted when corrected) with "*" if
    significant, and the test used.
    """
    _, header, rows = human_columns(report, pm=pm, dash=dash)
    return header, rows


def compact_table(report: Report, *, pm: str = "±", dash: str = "—") -> tuple[list[str], list[list[str]]]:
    """The report for a narrow terminal: one row per (size, arch), so that a third arch adds rows, not columns.
    Columns: videos (on a size's first row), arch, accuracy with its marks, n, params, the selected candidate,
    the paper's accuracy (with compare_paper), and for a compared arch the gap to the baseline [95% CI], mde80
    and p (the test is the caption's)."""
    selecting, paper, compared = bool(report.selecting_archs), bool(report.paper_archs), bool(report.compared)
    header = ["videos", "arch", "acc", "n", "params"] + ["selected"] * selecting + ["paper acc"] * paper
    if compared:
        header += [f"gap to {report.baseline} [95% CI]", "mde80", "p_holm" if report.correction == "holm" else "p"]
    table = []
    for row in report.rows:
        for number, arch in enumerate(arch for arch in report.archs if arch in row.cells):
            cell = row.cells[arch]
            line = [str(row.videos) if number == 0 else "", arch, format_accuracy(cell, pm, dash), str(cell.stats.n),
                    dash if cell.params is None else str(cell.params)]
            if selecting:
                line.append(dash if cell.selection is None else cell.selection.chosen.label())
            if paper:
                entry = row.paper.get(arch)
                line.append(dash if entry is None else f"{entry.mean_accuracy:.3f}{pm}{entry.standard_error:.4f}")
            if compared:
                line += ["", "", ""] if arch == report.baseline else comparison_cells(row.significance.get(arch), report, dash)[:3]
            table.append(line)
    return header, table


def pick_columns(keys: Sequence[str], header: Sequence[str], rows: Sequence[Sequence[Any]],
                 chosen: Sequence[str] | None) -> tuple[list[str], list[list[Any]]]:
    """The `chosen` columns (by key, in that order) of a table whose columns are named `keys`: header and rows;
    all of them when `chosen` is None. ColumnError listing the valid keys for an unknown one."""
    if chosen is None:
        return list(header), [list(row) for row in rows]
    unknown = [name for name in chosen if name not in keys]
    if unknown or not chosen:
        given = f"unknown column {', '.join(unknown)}" if unknown else "no column given"
        raise ColumnError(f"--columns: {given}; choose among {', '.join(keys)}")
    index = [list(keys).index(name) for name in chosen]
    return [header[i] for i in index], [[row[i] for i in index] for row in rows]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table of strings (numbers right-aligned)."""
    lines = ["| " + " | ".join(name.replace("|", "\\|") for name in header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(report: Report, columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured markdown table (the `columns` named, or all) followed by its caption."""
    return markdown_table(*pick_columns(*human_columns(report), columns)) + "\n\n*" + report.caption() + "*\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "±": r"$\pm$", "<": r"$<$", ">": r"$>$", "*": r"$^{*}$", "—": "--"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


#: The label of the LaTeX table, for \ref{...}.
LATEX_LABEL = "tab:ttn-report"


def to_latex(report: Report, columns: Sequence[str] | None = None) -> str:
    r"""A LaTeX table with booktabs rules (\usepackage{booktabs}), the caption, a \label, and thousands separators
    in parameter counts (496{,}430): the `columns` named, or all but the test's name (the caption names it)."""
    keys, header, rows = human_columns(report, dash="--")
    chosen = [key for key in keys if not key.endswith("_test")] if columns is None else columns
    header, rows = pick_columns(keys, header, rows, chosen)
    params = {index for index, name in enumerate(header) if name.endswith("params")}

    def cell(value: str, index: int) -> str:
        text = _latex_escape(value)
        return f"{int(value):,}".replace(",", "{,}") if index in params and value.isdigit() else text

    lines = [
        "% needs \\usepackage{booktabs}",
        r"\begin{table}[ht]",
        r"\centering",
        r"\caption{" + _latex_escape(report.caption()) + "}",
        r"\label{" + LATEX_LABEL + "}",
        r"\begin{tabular}{" + "r" * len(header) + "}",
        r"\toprule",
        " & ".join(_latex_escape(name) for name in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(cell(value, index) for index, value in enumerate(row)) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _number(value: float | int | None) -> float | int | None:
    """JSON-safe number at full precision (NaN -> None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def report_dict(report: Report) -> dict[str, Any]:
    """Everything in the report as plain JSON-able data (floats at full precision, NaN as null)."""
    rows = []
    for row in report.rows:
        archs: dict[str, Any] = {}
        for arch in report.archs:
            cell = row.cells.get(arch)
            sig = row.significance.get(arch)
            comparison = sig.comparison if sig is not None else None
            archs[arch] = {
                "mean": _number(cell.stats.mean) if cell else None,
                "sem": _number(cell.stats.sem) if cell else None,
                "n": cell.stats.n if cell else 0,
                "params": cell.params if cell else None,
                "runs": list(cell.runs) if cell else [],
                "test": sig.test if sig else None,
                "n_pairs": comparison.n_pairs if comparison else None,
                "statistic": _number(comparison.statistic) if comparison else None,
                "p_value": _number(sig.p_value) if sig else None,
                "p_adjusted": _number(sig.p_adjusted) if sig else None,
                "significant": sig.significant if sig else None,
                "note": comparison.note if comparison else None,
                "difference": comparison_dict(comparison) if comparison else None,
            }
            if cell is not None:
                archs[arch]["selected"] = cell.selection.chosen.options if cell.selection else {}
        out: dict[str, Any] = {"videos": row.videos, "archs": archs}
        if report.compare_paper:
            out["paper"] = {
                arch: {"mean": paper.mean_accuracy, "sem": paper.standard_error, "params": paper.params}
                for arch, paper in row.paper.items()
            }
        rows.append(out)
    return {
        "baseline": report.baseline,
        "archs": report.archs,
        "alpha": report.alpha,
        "correction": report.correction,
        "tests_used": report.tests_used(),
        "caption": report.caption(),
        "data": dict(report.fingerprint) if report.fingerprint else None,
        "n_records": len(report.records),
        "cells": [cell_dict(cell) for row in report.rows for cell in row.cells.values()],
        "transforms": transforms_dict(report),
        "rows": rows,
        "paper_source": paper_source() if report.compare_paper else None,
        "warnings": report.warnings,
    }


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """A comparison's gap (other - baseline), its 95% interval and minimum detectable effect at 80% power."""
    return {"mean": _number(comparison.difference), "ci95": list(comparison.ci95) if comparison.ci95 else None,
            "mde80": _number(comparison.mde80), "df": _number(comparison.df)}


def cell_dict(cell: Cell) -> dict[str, Any]:
    """One (arch, videos) cell: its test accuracy summary, the candidate selected (the options that vary between
    the cell's candidates) and every candidate with its mean validation accuracy (`val_mean` over its own runs,
    `val_mean_compared` over the runs the candidates were compared on)."""
    selection = cell.selection
    candidates = [] if selection is None else [
        {"options": candidate.options, "val_mean": candidate.val_mean, "n": len(candidate.runs),
         "val_mean_compared": _number(candidate.mean_over(selection.compared_on)),
         "selected": index == selection.selected}
        for index, candidate in enumerate(selection.candidates)
    ]
    return {"arch": cell.arch, "videos": cell.videos, "mean": _number(cell.stats.mean), "sem": _number(cell.stats.sem),
            "n": cell.stats.n, "params": cell.params, "runs": list(cell.runs),
            "selected": selection.chosen.options if selection else {}, "candidates": candidates,
            "warnings": list(cell.warnings)}


def to_json(report: Report) -> str:
    """`report_dict` as indented JSON."""
    return json.dumps(report_dict(report), indent=2) + "\n"


#: The CSV columns per arch, per compared arch (prefix "<arch>_vs_<baseline>_") and per paper arch.
CSV_ARCH = ("mean", "sem", "n", "params", "selected", "marks")
CSV_COMPARED = ("gap", "ci95_low", "ci95_high", "mde80", "test", "n_pairs", "statistic", "p_value", "p_adjusted",
                "significant")
CSV_PAPER = ("mean", "sem", "params")


def csv_columns(report: Report) -> tuple[list[str], list[list[Any]]]:
    """The wide CSV's header and rows of values (None where there is none): one row per size; per arch mean, sem,
    n, params, the selected candidate and the marks of its warnings; per compared arch the gap with its 95%
    interval, mde80, the test and p-values; paper columns with compare_paper."""
    header = ["videos"]
    header += [f"{arch}_{name}" for arch in report.archs for name in CSV_ARCH]
    header += [f"{compared_key(arch, report)}_{name}" for arch in report.compared for name in CSV_COMPARED]
    header += [f"paper_{arch}_{name}" for arch in report.paper_archs for name in CSV_PAPER]
    data = report_dict(report)
    lines = []
    for row, values in zip(report.rows, data["rows"]):
        line: list[Any] = [row.videos]
        for arch in report.archs:
            entry, cell = values["archs"][arch], row.cells.get(arch)
            label = cell.selection.chosen.label() if cell is not None and cell.selection is not None else None
            line += [entry["mean"], entry["sem"], entry["n"], entry["params"], label,
                     marks(cell.warnings) if cell is not None else None]
        for arch in report.compared:
            entry = values["archs"][arch]
            gap = entry.get("difference") or {}
            low, high = gap.get("ci95") or (None, None)
            line += [gap.get("mean"), low, high, gap.get("mde80")]
            line += [entry.get(name) for name in ("test", "n_pairs", "statistic", "p_value", "p_adjusted", "significant")]
        for arch in report.paper_archs:
            entry = values.get("paper", {}).get(arch, {})
            line += [entry.get(name) for name in CSV_PAPER]
        lines.append(line)
    return header, lines


def to_csv(report: Report, columns: Sequence[str] | None = None) -> str:
    """`csv_columns` (the `columns` named, or all) as CSV: full float precision, empty where there is no value."""
    header, lines = csv_columns(report)
    header, lines = pick_columns(header, header, lines, columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow(["" if x is None else repr(x) if isinstance(x, float) else x for x in line])
    return buffer.getvalue()


#: The formats whose columns `--columns` chooses (by the names `human_columns` / `csv_columns` give them).
COLUMN_FORMATS = ("table", "markdown", "latex", "csv")


def check_columns(report: Report, fmt: str, columns: Sequence[str]) -> None:
    """ColumnError unless `columns` are names of columns of `fmt`'s table of `report` (csv has its own names)."""
    if fmt not in COLUMN_FORMATS:
        raise ColumnError(f"--columns applies to --format {', '.join(COLUMN_FORMATS)}, not {fmt}")
    keys = csv_columns(report)[0] if fmt == "csv" else human_columns(report)[0]
    pick_columns(keys, keys, [], columns)
