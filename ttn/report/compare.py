"""Which protocol choice moves the gap: the treatment-minus-baseline difference of mean test accuracy (e.g.
3DTTN - 3D), per training-set size, under several protocol variants, each a results folder (and filters).

    row "lr selected" = folder selected/            -> report (selection on validation per arch and size)
    row "shared lr"   = folder selected/ ?lr=0.02   -> report of the lr 0.02 candidates only
      -> per size: paired differences over the runs both selected candidates have (same training videos),
         mean +- SE (ddof=1), paired t-test; Holm-corrected over every (row, size) of the table

A row is written ``NAME=FOLDER`` or ``NAME=FOLDER?KEY=V[,V]&KEY=V`` (filters as `ttn report --where`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ttn.errors import TTNError
from ttn.experiment.records import load_records
from ttn.report.stats import CellStats, Comparison, compare, holm, summarize
from ttn.report.tables import Cell, init_asymmetry_warning, make_report


@dataclass(frozen=True)
class RowSpec:
    """One protocol variant: a name, a results folder and --where filters."""

    name: str
    folder: str
    filters: tuple[str, ...] = ()


def parse_row(text: str) -> RowSpec:
    """"NAME=FOLDER?KEY=V,V&KEY=V" -> RowSpec; TTNError with the expected form otherwise."""
    name, sep, rest = text.partition("=")
    folder, _, query = rest.partition("?")
    if not sep or not name.strip() or not folder.strip():
        raise TTNError(f"--row {text!r}: expected NAME=FOLDER or NAME=FOLDER?KEY=V&KEY=V, e.g. 'shared lr=results?lr=0.02'")
    return RowSpec(name.strip(), folder.strip(), tuple(item for item in query.split("&") if item))


@dataclass
class Gap:
    """Treatment minus baseline at one size of one row."""

    row: str
    videos: int
    treatment: Cell | None
    baseline: Cell | None
    difference: CellStats  #: of the paired differences (treatment - baseline), per run
    comparison: Comparison | None
    p_adjusted: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Arm:
    """One side of the comparison: an arch and --where filters of its own (e.g. 3dttn with frozen transforms)."""

    arch: str
    filters: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.arch + (f" ({', '.join(self.filters)})" if self.filters else "")


def parse_arm(text: str) -> Arm:
    """"ARCH" or "ARCH?KEY=V,V&KEY=V" -> Arm."""
    arch, _, query = text.partition("?")
    if not arch.strip():
        raise TTNError(f"{text!r}: expected ARCH or ARCH?KEY=V&KEY=V, e.g. 3dttn?freeze_transforms=true")
    return Arm(arch.strip(), tuple(item for item in query.split("&") if item))


def _cells_by_size(spec: RowSpec, arm: Arm) -> dict[int, Cell]:
    """The selected cell of `arm` per size in the row's folder (selection among the arm's candidates only)."""
    report = make_report(spec.folder, filters=spec.filters + arm.filters, archs=[arm.arch])
    return {row.videos: row.cells[arm.arch] for row in report.rows if arm.arch in row.cells}


def row_gaps(spec: RowSpec, treatment: Arm, baseline: Arm, sizes: Sequence[int] | None) -> list[Gap]:
    """The gaps of one row, per size present in its records (or in `sizes`)."""
    ours_by_size, theirs_by_size = _cells_by_size(spec, treatment), _cells_by_size(spec, baseline)
    asymmetry = init_asymmetry_warning([*ours_by_size.values(), *theirs_by_size.values()])
    skipped = [f"{spec.name}: {warning}" for warning in load_records(spec.folder).warnings]  # damaged records
    gaps = []
    for videos in sorted(set(ours_by_size) | set(theirs_by_size)):
        if sizes is not None and videos not in sizes:
            continue
        ours, theirs = ours_by_size.get(videos), theirs_by_size.get(videos)
        paired = sorted(set(ours.accuracies) & set(theirs.accuracies)) if ours and theirs else []
        paired = [run for run in paired if ours.train_indices.get(run) == theirs.train_indices.get(run)]
        differences = [ours.accuracies[run] - theirs.accuracies[run] for run in paired]
        comparison = compare(theirs.accuracies, ours.accuracies, set(paired)) if ours and theirs else None
        gaps.append(Gap(spec.name, videos, ours, theirs, summarize(differences), comparison,
                        warnings=skipped + ([f"{spec.name}: {asymmetry}"] if asymmetry else [])))
    return gaps


def compare_rows(specs: Sequence[RowSpec], *, treatment: str | Arm = "3dttn", baseline: str | Arm = "3d",
                 sizes: Sequence[int] | None = None, correction: str = "holm") -> list[Gap]:
    """The gap table: every row's gaps, p-values Holm-adjusted over the whole table (`correction` "holm").
    `treatment` and `baseline` are arms: an arch, optionally with filters of its own ("3dttn?freeze_transforms=true")."""
    treatment = treatment if isinstance(treatment, Arm) else parse_arm(treatment)
    baseline = baseline if isinstance(baseline, Arm) else parse_arm(baseline)
    if not specs:
        raise TTNError("give at least one --row NAME=FOLDER")
    if len({spec.name for spec in specs}) < len(specs):
        raise TTNError("two --row have the same NAME: give each protocol variant its own name")
    gaps = [gap for spec in specs for gap in row_gaps(spec, treatment, baseline, sizes)]
    p_values = [gap.comparison.p_value if gap.comparison else None for gap in gaps]
    adjusted = holm(p_values) if correction == "holm" else p_values
    for gap, p in zip(gaps, adjusted):
        gap.p_adjusted = p
    return gaps


def _accuracy(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    sem = "" if math.isnan(cell.stats.sem) else f" ± {cell.stats.sem:.3f}"
    return f"{cell.stats.mean:.3f}{sem}"


def _selected(cell: Cell | None) -> str:
    return "—" if cell is None or cell.selection is None else cell.selection.chosen.label()


def gap_table(gaps: Sequence[Gap], treatment: str, baseline: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings: one line per (row, size)."""
    from ttn.report.formats import format_p

    header = ["protocol", "videos", f"{treatment} acc", "selected", f"{baseline} acc", "selected",
              f"{treatment} - {baseline}", "pairs", "p", "p_holm"]
    lines = []
    for gap in gaps:
        diff = gap.difference
        text = "—" if diff.n == 0 else f"{diff.mean:+.3f}" + ("" if math.isnan(diff.sem) else f" ± {diff.sem:.3f}")
        p = gap.comparison.p_value if gap.comparison else None
        lines.append([gap.row, str(gap.videos), _accuracy(gap.treatment), _selected(gap.treatment),
                      _accuracy(gap.baseline), _selected(gap.baseline), text, str(diff.n), format_p(p),
                      format_p(gap.p_adjusted) + (" *" if gap.p_adjusted is not None and gap.p_adjusted < 0.05 else "")])
    return header, lines


def gaps_dict(gaps: Sequence[Gap]) -> list[dict[str, Any]]:
    """The gap table as plain JSON-able data (NaN as null)."""
    def number(value: float | None) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    def cell(c: Cell | None) -> dict[str, Any] | None:
        if c is None:
            return None
        return {"mean": number(c.stats.mean), "sem": number(c.stats.sem), "n": c.stats.n,
                "selected": c.selection.chosen.options if c.selection else {}}

    return [{"row": gap.row, "videos": gap.videos, "treatment": cell(gap.treatment), "baseline": cell(gap.baseline),
             "difference": {"mean": number(gap.difference.mean), "sem": number(gap.difference.sem),
                            "n_pairs": gap.difference.n},
             "p_value": number(gap.comparison.p_value) if gap.comparison else None,
             "test": gap.comparison.test if gap.comparison else None,
             "p_adjusted": number(gap.p_adjusted)} for gap in gaps]
