"""The report: the paper's Table 2 and Figure 3 from a folder of result records, with honest statistics.

Data flow:

    records (ttn.records.load_records)
      -> Cell per (arch, videos): test accuracies by run, mean, sem (ddof=1), n, params  (ttn.stats.summarize)
      -> Significance per (size, other arch): baseline vs other, paired or Welch t-test (ttn.stats.compare),
         optionally Holm-corrected over every test in the table (ttn.stats.holm)
      -> Report (rows by size) -> to_markdown / to_csv / to_latex / to_json, human_table (for the CLI's
         rich table), plot_accuracy (Figure 3), plot_curves (validation accuracy per epoch)

Nothing here prints: warnings are collected in `Report.warnings` for the caller to show.
matplotlib is an optional extra: the plot functions import it when called.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ttn.errors import TTNError
from vmnist.atomic import atomic_path, atomic_write_text
from ttn.paper import PaperRow, paper_source, paper_table
from ttn.records import Fingerprint, load_records
from ttn.stats import TEST_NAMES, CellStats, Comparison, compare, holm, summarize

#: Values of `correction`: none, or Holm-Bonferroni over all tests of the report.
CORRECTIONS = ("none", "holm")
#: Output formats of `render` (the rich "table" format is drawn by the CLI from `human_table`).
TEXT_FORMATS = ("markdown", "csv", "latex", "json")
#: File types the figures can be saved as.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
#: The baseline when none is given and it is present (the paper's LeNet-5-3D).
DEFAULT_BASELINE = "3d"
DEFAULT_ALPHA = 0.05
PLOT_INSTALL_HINT = "pip install -e .[plot]  (or: pip install 'video-mnist-ttn[plot]')"


@dataclass
class Cell:
    """The runs of one (arch, training videos): test accuracy by run index and their summary."""

    arch: str
    videos: int
    accuracies: dict[int, float]  #: run index -> test accuracy
    stats: CellStats
    params: int | None  #: parameter count; None if the runs disagree (see Report.warnings)
    train_indices: dict[int, tuple[int, ...] | None] = field(default_factory=dict, repr=False)

    @property
    def runs(self) -> tuple[int, ...]:
        return tuple(sorted(self.accuracies))


@dataclass
class Significance:
    """`arch` against the baseline at one size: the test used, raw and (if corrected) adjusted p-value."""

    arch: str
    baseline: str
    comparison: Comparison
    p_adjusted: float | None = None
    significant: bool = False

    @property
    def p_value(self) -> float | None:
        return self.comparison.p_value

    @property
    def test(self) -> str | None:
        return self.comparison.test


@dataclass
class ReportRow:
    """One training-set size: a Cell per arch that has runs, a Significance per non-baseline arch, paper cells."""

    videos: int
    cells: dict[str, Cell]
    significance: dict[str, Significance]
    paper: dict[str, PaperRow]


@dataclass
class Report:
    """Everything the table, its formats and the figures show."""

    rows: list[ReportRow]
    archs: list[str]  #: baseline first, then the others alphabetically
    baseline: str
    alpha: float
    correction: str
    compare_paper: bool
    fingerprint: Fingerprint | None
    records: list[dict[str, Any]] = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    folder: Path | None = None

    @property
    def compared(self) -> list[str]:
        """The archs compared against the baseline."""
        return [arch for arch in self.archs if arch != self.baseline]

    @property
    def paper_archs(self) -> list[str]:
        """Archs shown with paper columns (those of ours the paper's Table 2 has)."""
        if not self.compare_paper:
            return []
        return [arch for arch in self.archs if any(arch in row.paper for row in self.rows)]

    def tests_used(self) -> list[str]:
        """The tests that produced a result somewhere in the report (PAIRED and/or WELCH)."""
        used = {sig.test for row in self.rows for sig in row.significance.values() if sig.test}
        return sorted(used)

    def n_tests(self) -> int:
        return sum(1 for row in self.rows for sig in row.significance.values() if sig.p_value is not None)

    def caption(self) -> str:
        """One paragraph naming what the numbers are and which test produced the marks."""
        parts = ["Test accuracy: mean ± 1 standard error (ddof=1) over n runs."]
        if self.compared:
            tests = self.tests_used()
            if tests:
                names = " and ".join(TEST_NAMES[test] for test in tests)
                rule = (
                    " (paired where at least 2 runs with the same index and training videos exist for both archs)"
                    if len(tests) > 1
                    else ""
                )
                correction = (
                    f", Holm-corrected over the {self.n_tests()} tests of this table" if self.correction == "holm" else ""
                )
                parts.append(
                    f"p: {', '.join(self.compared)} vs baseline {self.baseline} by {names}{rule}{correction}; "
                    f"* p < {self.alpha:g}."
                )
            else:
                parts.append(f"No significance test possible against baseline {self.baseline} (too few runs).")
        if self.compare_paper:
            parts.append(f"Paper: {paper_source()}")
        return " ".join(parts)


def _arch_order(archs: set[str], baseline: str) -> list[str]:
    return [baseline] + sorted(arch for arch in archs if arch != baseline)


def _resolve_baseline(archs: set[str], baseline: str | None) -> str:
    if baseline is not None:
        if baseline not in archs:
            raise TTNError(
                f"--baseline {baseline}: no records of that arch (found: {', '.join(sorted(archs))}); "
                "choose one of those"
            )
        return baseline
    return DEFAULT_BASELINE if DEFAULT_BASELINE in archs else sorted(archs)[0]


def _cells(records: Sequence[dict[str, Any]], warnings: list[str]) -> dict[tuple[str, int], Cell]:
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault((record["arch"], record["videos"]), []).append(record)
    cells = {}
    for (arch, videos), group in sorted(grouped.items()):
        accuracies = {record["run"]: float(record["test_accuracy"]) for record in group}
        params = {record["params"] for record in group}
        if len(params) > 1:
            warnings.append(
                f"{arch} at {videos} videos: runs have different parameter counts ({', '.join(map(str, sorted(params)))}),"
                " e.g. different channels: the params column is left empty"
            )
        indices = {
            record["run"]: tuple(record["train_indices"]) if record.get("train_indices") is not None else None
            for record in group
        }
        cells[(arch, videos)] = Cell(
            arch=arch,
            videos=videos,
            accuracies=accuracies,
            stats=summarize(list(accuracies.values())),
            params=params.pop() if len(params) == 1 else None,
            train_indices=indices,
        )
    return cells


def _pairable(base: Cell, other: Cell, warnings: list[str]) -> set[int]:
    """Runs of both cells whose training videos match (or are not recorded): the valid pairs."""
    pairable = set()
    mismatched = []
    for run in set(base.accuracies) & set(other.accuracies):
        a, b = base.train_indices.get(run), other.train_indices.get(run)
        if a is not None and b is not None and a != b:
            mismatched.append(run)
        else:
            pairable.add(run)
    if mismatched:
        warnings.append(
            f"{other.arch} vs {base.arch} at {base.videos} videos: run(s) {', '.join(map(str, sorted(mismatched)))}"
            " trained on different videos, so they are not paired"
        )
    return pairable


def _partial_warnings(cells: dict[tuple[str, int], Cell], archs: list[str], sizes: list[int]) -> list[str]:
    """Warnings for holes: archs with different run counts at one size, missing cells, single runs.

    Different run counts across sizes are not warned about (a sweep may run the small sizes more often).
    """
    warnings = []
    unequal = []
    for videos in sizes:
        counts = {arch: cells[(arch, videos)].stats.n for arch in archs if (arch, videos) in cells}
        if len(set(counts.values())) > 1:
            unequal.append(f"{videos} videos (" + ", ".join(f"{arch} {n}" for arch, n in counts.items()) + ")")
    if unequal:
        warnings.append(f"partial sweep: unequal runs per arch at {'; '.join(unequal)}")
    missing = [f"{arch}@{videos}" for videos in sizes for arch in archs if (arch, videos) not in cells]
    if missing:
        warnings.append(f"partial sweep: no runs at all for {', '.join(missing)}")
    single = [f"{cell.arch}@{cell.videos}" for cell in cells.values() if cell.stats.n == 1]
    if single:
        warnings.append(f"one run only (no standard error, no test) for {', '.join(single)}")
    return warnings


def build_report(
    records: Sequence[dict[str, Any]],
    *,
    baseline: str | None = None,
    correction: str = "none",
    alpha: float = DEFAULT_ALPHA,
    compare_paper: bool = False,
    fingerprint: Fingerprint | None = None,
) -> Report:
    """The report of `records` (valid records of one dataset, e.g. `load_records(folder).records`).

    `baseline` is the arch every other arch is tested against (default: "3d" if present, else the first
    arch by name); `correction` "holm" adjusts the p-values over all tests of the report; a difference is
    marked significant when its (adjusted) p-value is below `alpha`.
    """
    if correction not in CORRECTIONS:
        raise TTNError(f"--correct {correction}: choose one of {', '.join(CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise TTNError(f"--alpha {alpha}: choose a level between 0 and 1, e.g. 0.05")
    if not records:
        raise TTNError("no complete result records: run `ttn sweep` (or `ttn train`) first")
    warnings: list[str] = []
    archs_found = {record["arch"] for record in records}
    base = _resolve_baseline(archs_found, baseline)
    archs = _arch_order(archs_found, base)
    cells = _cells(records, warnings)
    sizes = sorted({videos for _, videos in cells})
    warnings.extend(_partial_warnings(cells, archs, sizes))

    paper = {(row.arch, row.videos): row for row in paper_table()} if compare_paper else {}
    rows = []
    for videos in sizes:
        row_cells = {arch: cells[(arch, videos)] for arch in archs if (arch, videos) in cells}
        significance = {}
        base_cell = row_cells.get(base)
        for arch in archs[1:]:
            if base_cell is None or arch not in row_cells:
                continue
            other = row_cells[arch]
            result = compare(base_cell.accuracies, other.accuracies, _pairable(base_cell, other, warnings))
            significance[arch] = Significance(arch=arch, baseline=base, comparison=result)
        row_paper = {arch: paper[(arch, videos)] for arch in archs if (arch, videos) in paper}
        rows.append(ReportRow(videos=videos, cells=row_cells, significance=significance, paper=row_paper))

    tests = [sig for row in rows for sig in row.significance.values()]
    adjusted = holm([sig.p_value for sig in tests]) if correction == "holm" else [sig.p_value for sig in tests]
    for sig, p in zip(tests, adjusted):
        sig.p_adjusted = p if correction == "holm" else None
        sig.significant = p is not None and p < alpha
    if len(archs) == 1:
        warnings.append(f"only one arch ({base}) in the records: no significance test")
    return Report(
        rows=rows,
        archs=archs,
        baseline=base,
        alpha=alpha,
        correction=correction,
        compare_paper=compare_paper,
        fingerprint=fingerprint,
        records=list(records),
        warnings=warnings,
    )


def make_report(
    folder: str | os.PathLike[str],
    *,
    baseline: str | None = None,
    correction: str = "none",
    alpha: float = DEFAULT_ALPHA,
    compare_paper: bool = False,
) -> Report:
    """Load the records of `folder` (skipping torn ones, refusing mixed datasets) and build their report."""
    loaded = load_records(folder)
    if not loaded.records:
        skipped = f" ({len(loaded.skipped)} unusable file(s) skipped)" if loaded.skipped else ""
        raise TTNError(f"no complete result records in {loaded.folder}{skipped}: run `ttn sweep` (or `ttn train`) first")
    report = build_report(
        loaded.records,
        baseline=baseline,
        correction=correction,
        alpha=alpha,
        compare_paper=compare_paper,
        fingerprint=loaded.fingerprint,
    )
    report.warnings[:0] = loaded.warnings
    report.folder = loaded.folder
    return report


# ----------------------------------------------------------------------------------------------- formatting


def _fmt(value: float | None, digits: int, dash: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return dash
    return f"{value:.{digits}f}"


def format_p(p: float | None, dash: str = "—") -> str:
    """A p-value for people: 3 decimals, or scientific notation below 0.001."""
    if p is None:
        return dash
    return f"{p:.1e}" if p < 0.001 else f"{p:.3f}"


def human_table(report: Report, *, pm: str = " ± ", dash: str = "—") -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings for people (rich table, markdown, LaTeX); one row per training-set size.

    Per arch: accuracy "mean ± sem", runs n, params; with compare_paper the paper's "mean ± sem" and params;
    per compared arch: p-value (Holm-adjusted when corrected) with "*" if significant, and the test used.
    """
    p_label = "p_holm" if report.correction == "holm" else "p"
    header = ["videos"]
    for arch in report.archs:
        header += [f"{arch} acc", f"{arch} n", f"{arch} params"]
        if arch in report.paper_archs:
            header += [f"paper {arch} acc", f"paper {arch} params"]
    for arch in report.compared:
        header += [f"{p_label} {arch} vs {report.baseline}", "test"]
    table = []
    for row in report.rows:
        line = [str(row.videos)]
        for arch in report.archs:
            cell = row.cells.get(arch)
            if cell is None:
                line += [dash, "0", dash]
            else:
                acc = _fmt(cell.stats.mean, 3, dash)
                if not math.isnan(cell.stats.sem):
                    acc += f"{pm}{cell.stats.sem:.4f}"
                line += [acc, str(cell.stats.n), dash if cell.params is None else str(cell.params)]
            if arch in report.paper_archs:
                paper = row.paper.get(arch)
                if paper is None:
                    line += [dash, dash]
                else:
                    line += [f"{paper.mean_accuracy:.3f}{pm}{paper.standard_error:.4f}", str(paper.params)]
        for arch in report.compared:
            sig = row.significance.get(arch)
            if sig is None or sig.test is None:
                line += [dash, dash]
                continue
            p = sig.p_adjusted if report.correction == "holm" else sig.p_value
            mark = " *" if sig.significant else ""
            line += [format_p(p, dash) + mark, sig.test]
        table.append(line)
    return header, table


def to_markdown(report: Report) -> str:
    """A GitHub-flavoured markdown table followed by its caption."""
    header, rows = human_table(report)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n*" + report.caption() + "*\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "±": r"$\pm$", "<": r"$<$", ">": r"$>$", "*": r"$^{*}$", "—": "--"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


def to_latex(report: Report) -> str:
    """A LaTeX table (plain tabular with \\hline, no extra packages) with the caption."""
    header, rows = human_table(report, dash="--")
    cell = _latex_escape

    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\begin{tabular}{" + "r" * len(header) + "}",
        r"\hline",
        " & ".join(cell(name) for name in header) + r" \\",
        r"\hline",
    ]
    lines += [" & ".join(cell(value) for value in row) + r" \\" for row in rows]
    lines += [r"\hline", r"\end{tabular}", r"\caption{" + cell(report.caption()) + "}", r"\end{table}"]
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
            }
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
        "rows": rows,
        "paper_source": paper_source() if report.compare_paper else None,
        "warnings": report.warnings,
    }


def to_json(report: Report) -> str:
    """`report_dict` as indented JSON."""
    return json.dumps(report_dict(report), indent=2) + "\n"


def to_csv(report: Report) -> str:
    """One row per size, wide: per arch mean, sem, n, params; per compared arch the test and p-values;
    paper columns with compare_paper. Full float precision; empty where there is no value."""
    header = ["videos"]
    for arch in report.archs:
        header += [f"{arch}_{name}" for name in ("mean", "sem", "n", "params")]
    for arch in report.compared:
        prefix = f"{arch}_vs_{report.baseline}"
        header += [f"{prefix}_{name}" for name in ("test", "n_pairs", "statistic", "p_value", "p_adjusted", "significant")]
    for arch in report.paper_archs:
        header += [f"paper_{arch}_{name}" for name in ("mean", "sem", "params")]
    data = report_dict(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)

    def value(x: Any) -> Any:
        return "" if x is None else x

    for row in data["rows"]:
        line: list[Any] = [row["videos"]]
        for arch in report.archs:
            entry = row["archs"][arch]
            line += [value(entry[name]) for name in ("mean", "sem", "n", "params")]
        for arch in report.compared:
            entry = row["archs"][arch]
            line += [value(entry.get(name)) for name in ("test", "n_pairs", "statistic", "p_value", "p_adjusted", "significant")]
        for arch in report.paper_archs:
            entry = row.get("paper", {}).get(arch, {})
            line += [value(entry.get(name)) for name in ("mean", "sem", "params")]
        writer.writerow([repr(x) if isinstance(x, float) else x for x in line])
    return buffer.getvalue()


def render(report: Report, fmt: str) -> str:
    """The report as text in `fmt`, one of TEXT_FORMATS."""
    renderers = {"markdown": to_markdown, "csv": to_csv, "latex": to_latex, "json": to_json}
    if fmt not in renderers:
        raise TTNError(f"--format {fmt}: choose one of {', '.join(TEXT_FORMATS)} (or table)")
    return renderers[fmt](report)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically (temporary file + os.replace)."""
    return atomic_write_text(path, text)


# ----------------------------------------------------------------------------------------------- figures


def require_matplotlib() -> None:
    """TTNError with the install command if matplotlib (the optional extra [plot]) is missing."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise TTNError(f"plots need matplotlib, an optional extra: {PLOT_INSTALL_HINT}") from None


def _new_figure(**kwargs: Any) -> Any:
    """A matplotlib Figure (no pyplot, no GUI backend)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def check_figure_path(path: str | os.PathLike[str]) -> Path:
    """`path` if its suffix is a supported figure type; TTNError naming the types otherwise."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise TTNError(f"{path}: choose a figure file ending in {', '.join(FIGURE_SUFFIXES)}")
    return path


def _save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    path = check_figure_path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:].lower(), bbox_inches="tight", dpi=150)
    return path


def _colors(archs: list[str]) -> dict[str, str]:
    return {arch: f"C{index}" for index, arch in enumerate(archs)}


def plot_accuracy(report: Report, path: str | os.PathLike[str], *, show_paper: bool | None = None) -> Path:
    """Figure 3 of the paper: test accuracy vs training videos (log x), one line per arch, error bars of
    one standard error, values annotated, "*" (in the compared arch's colour) where the difference to the
    baseline is significant. With `show_paper` (default: report.compare_paper) the paper's curves dashed."""
    check_figure_path(path)
    fig = _new_figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    colors = _colors(report.archs)
    sizes = {row.videos for row in report.rows}
    for arch in report.archs:
        points = [(row.videos, row.cells[arch].stats) for row in report.rows if arch in row.cells]
        ax.errorbar([videos for videos, _ in points], [s.mean for _, s in points],
                    yerr=[0.0 if math.isnan(s.sem) else s.sem for _, s in points],
                    marker="o", markersize=4, capsize=3, color=colors[arch], label=arch)
    if report.compare_paper if show_paper is None else show_paper:
        for arch in report.archs:
            rows = sorted((row for row in paper_table() if row.arch == arch), key=lambda row: row.videos)
            if rows:
                sizes |= {row.videos for row in rows}
                ax.plot([row.videos for row in rows], [row.mean_accuracy for row in rows], linestyle="--",
                        color=colors[arch], alpha=0.5, label=f"{arch} (paper)")
    for row in report.rows:
        # values: the best arch's above its point, the others below theirs (keeps labels apart)
        ranked = sorted(row.cells.values(), key=lambda cell: cell.stats.mean, reverse=True)
        for rank, cell in enumerate(ranked):
            offset = 7 if rank == 0 else -13 - 9 * (rank - 1)
            ax.annotate(f"{cell.stats.mean:.3f}", (row.videos, cell.stats.mean), textcoords="offset points",
                        xytext=(0, offset), ha="center", fontsize=7, color=colors[cell.arch])
        top = max(cell.stats.mean + (0.0 if math.isnan(cell.stats.sem) else cell.stats.sem)
                  for cell in row.cells.values())
        marks = [sig for sig in row.significance.values() if sig.significant]
        for k, sig in enumerate(marks):
            ax.annotate("*", (row.videos, top), textcoords="offset points", xytext=(0, 18 + 9 * k), ha="center",
                        fontsize=12, fontweight="bold", color=colors[sig.arch])
    ax.set_xscale("log")
    sizes = sorted(sizes)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(size) for size in sizes], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("Training videos")
    ax.set_ylabel("Test accuracy")
    ax.set_title("Training videos vs. accuracy")
    ax.margins(y=0.12)
    ax.grid(True, alpha=0.3)
    test = f"* p < {report.alpha:g} vs {report.baseline}" + (" (Holm)" if report.correction == "holm" else "")
    ax.legend(loc="lower right", fontsize=8, title=test if report.compared else None, title_fontsize=7)
    return _save_figure(fig, path)


def learning_curves(
    records: Sequence[dict[str, Any]],
) -> dict[tuple[str, int], tuple[list[int], list[float], list[float], list[int]]]:
    """Per (arch, videos): epochs, mean validation accuracy, its standard error (NaN if n < 2) and n per
    epoch, over the runs whose history has that epoch."""
    by_cell: dict[tuple[str, int], dict[int, list[float]]] = {}
    for record in records:
        epochs = by_cell.setdefault((record["arch"], record["videos"]), {})
        for entry in record.get("history") or []:
            if isinstance(entry, dict) and entry.get("val_accuracy") is not None and "epoch" in entry:
                epochs.setdefault(int(entry["epoch"]), []).append(float(entry["val_accuracy"]))
    curves = {}
    for key, epochs in sorted(by_cell.items()):
        if not epochs:
            continue
        order = sorted(epochs)
        summaries = [summarize(epochs[epoch]) for epoch in order]
        curves[key] = (order, [s.mean for s in summaries], [s.sem for s in summaries], [s.n for s in summaries])
    return curves


def plot_curves(report: Report, path: str | os.PathLike[str]) -> Path:
    """Mean validation accuracy per epoch with a band of one standard error, one panel per training-set
    size, one line per arch."""
    check_figure_path(path)
    curves = learning_curves(report.records)
    if not curves:
        raise TTNError("the records have no training history (val_accuracy per epoch): nothing to draw")
    sizes = sorted({videos for _, videos in curves})
    ncols = min(4, len(sizes))
    nrows = math.ceil(len(sizes) / ncols)
    fig = _new_figure(figsize=(3.2 * ncols, 2.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    colors = _colors(report.archs)
    for index, videos in enumerate(sizes):
        ax = axes[index // ncols][index % ncols]
        for arch in report.archs:
            if (arch, videos) not in curves:
                continue
            epochs, means, sems, counts = curves[(arch, videos)]
            ax.plot(epochs, means, color=colors[arch], label=f"{arch} (n={max(counts)})", linewidth=1.2)
            low = [m - s if not math.isnan(s) else m for m, s in zip(means, sems)]
            high = [m + s if not math.isnan(s) else m for m, s in zip(means, sems)]
            ax.fill_between(epochs, low, high, color=colors[arch], alpha=0.25, linewidth=0)
        ax.set_title(f"{videos} training videos", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        if index % ncols == 0:
            ax.set_ylabel("Validation accuracy")
        if index // ncols == nrows - 1:
            ax.set_xlabel("Epoch")
    for index in range(len(sizes), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    fig.suptitle("Mean validation accuracy per epoch (band: ±1 SE over runs)", fontsize=10)
    return _save_figure(fig, path)
