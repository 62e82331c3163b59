"""Which protocol choice moves the gap: the treatment-minus-baseline difference of mean test accuracy (e.g.
3DTTN - 3D), per training-set size, under several protocol variants, each a results folder (and filters).

    row "lr selected" = folder selected/            -> report (selection on validation per arch and size)
    row "shared lr"   = folder selected/ ?lr=0.02   -> report of the lr 0.02 candidates only
      -> per size: paired differences over the runs both selected candidates have (same training videos),
         mean +- SE (ddof=1), its 95% interval and minimum detectable effect, paired t-test
      -> per row: the pooled gap over its sizes (`ttn.report.stats.pooled`: per run, the gap averaged over the
         sizes; a t-test over runs), so "ahead at every size" is one tested statement
      -> p-values Holm-corrected over every test of the table (the pooled rows included)

A row is written ``NAME=FOLDER`` or ``NAME=FOLDER?KEY=V[,V]&KEY=V`` (filters as `ttn report --where`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from ttn.errors import TTNError
from ttn.paper import paper_source, paper_table
from ttn.report.diagnostics import footnote
from ttn.report.stats import CellStats, Comparison, compare, holm, pooled, summarize
from ttn.report.tables import Cell, ReportOptions, counted, init_asymmetry_warning, make_report, runs_caption


@dataclass(frozen=True)
class RowSpec:
    """One protocol variant: a name, a results folder, --where filters, and the runs it selects and estimates on
    (None: the command's --select-runs / --estimate-runs)."""

    name: str
    folder: str
    filters: tuple[str, ...] = ()
    select_runs: frozenset[int] | None = None
    estimate_runs: frozenset[int] | None = None


#: The keys of a row's query that set its runs instead of filtering its records.
ROW_RUN_KEYS = ("select-runs", "estimate-runs")


def parse_row(text: str) -> RowSpec:
    """"NAME=FOLDER?KEY=V,V&KEY=V&select-runs=0-9&estimate-runs=10-29" -> RowSpec; TTNError with the expected
    form otherwise."""
    from ttn.registry import parse_runs

    name, sep, rest = text.partition("=")
    folder, _, query = rest.partition("?")
    if not sep or not name.strip() or not folder.strip():
        raise TTNError(f"--row {text!r}: expected NAME=FOLDER or NAME=FOLDER?KEY=V&KEY=V, e.g. 'shared lr=results?lr=0.02'")
    items = [item for item in query.split("&") if item]
    runs: dict[str, frozenset[int]] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key in ROW_RUN_KEYS:
            try:
                runs[key] = parse_runs(value)
            except TTNError as exc:
                raise TTNError(f"--row {text!r}: {key}: {exc}") from None
    filters = tuple(item for item in items if item.partition("=")[0] not in ROW_RUN_KEYS)
    return RowSpec(name.strip(), folder.strip(), filters, runs.get("select-runs"), runs.get("estimate-runs"))


def row_options(spec: RowSpec, options: ReportOptions) -> ReportOptions:
    """The command's options with the row's own runs where it sets them."""
    return replace(options, select_runs=options.select_runs if spec.select_runs is None else spec.select_runs,
                   estimate_runs=options.estimate_runs if spec.estimate_runs is None else spec.estimate_runs)


@dataclass
class Gap:
    """Treatment minus baseline at one size of one row; `videos` None: the row's pooled gap over `pooled`."""

    row: str
    videos: int | None
    treatment: Cell | None
    baseline: Cell | None
    difference: CellStats  #: of the paired differences (treatment - baseline), per run
    comparison: Comparison | None
    p_adjusted: float | None = None
    warnings: list[str] = field(default_factory=list)
    pooled: tuple[int, ...] = ()  #: the sizes a pooled gap averages over
    #: a pooled gap's accuracies (treatment, baseline): per paired run, the accuracy averaged over the sizes
    pooled_accuracy: tuple[CellStats, CellStats] | None = None
    #: (videos, plan) of this gap's sizes that a raced sweep made (`ttn.experiment.racing`, read from the row's
    #: folder): their candidates were picked by the race's rule, their accuracies are of the fresh runs
    race: tuple[tuple[int, Any], ...] = ()
    #: which runs selected and which estimated, in the caption's words ("" for all runs, `runs_caption`)
    runs: str = ""

    @property
    def label(self) -> str:
        """"10" for one size, "pooled" for the pooled row (over the sizes above it: `pooled`)."""
        return str(self.videos) if self.videos is not None else "pooled"


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


def _cells_by_size(spec: RowSpec, arm: Arm, options: ReportOptions,
                   sizes: Sequence[int] | None) -> tuple[dict[int, Cell], list[str], dict[int, Any]]:
    """The selected cell of `arm` per size in the row's folder (selection among the arm's candidates only, at
    `sizes` only, so that no other size's warnings are said), the report's warnings about them, and the race plan
    of each raced size (`ReportOptions.race`, from the folder)."""
    report = make_report(spec.folder, replace(options, filters=options.filters + spec.filters + arm.filters,
                                              archs=(arm.arch,), sizes=None if sizes is None else frozenset(sizes)),
                         warn_absent=False)  # row_gaps says a missing size once, with what the row covers
    cells = {row.videos: row.cells[arm.arch] for row in report.rows if arm.arch in row.cells}
    return cells, report.warnings, dict(report.options.race)


def row_gaps(spec: RowSpec, treatment: Arm, baseline: Arm, sizes: Sequence[int] | None,
             options: ReportOptions = ReportOptions()) -> list[Gap]:
    """The gaps of one row, per size present in its records (or in `sizes`), then its pooled gap when it has
    more than one size. The row's own runs (`RowSpec.select_runs`, `estimate_runs`) replace those of `options`."""
    options = row_options(spec, options)
    (ours_by_size, ours_said, plans), (theirs_by_size, theirs_said, _) = (_cells_by_size(spec, arm, options, sizes)
                                                                         for arm in (treatment, baseline))
    asymmetry = init_asymmetry_warning([*ours_by_size.values(), *theirs_by_size.values()])
    said = [f"{spec.name}: {w}" for w in dict.fromkeys(ours_said + theirs_said + ([asymmetry] if asymmetry else []))]
    present = set(ours_by_size) | set(theirs_by_size)
    missing = sorted(set(sizes or ()) - present)
    if missing:  # e.g. a sweep still running: its pooled gap is over fewer sizes than asked for
        covered = sorted(present & set(sizes or ()))
        said.append(f"{spec.name}: no runs to report at {', '.join(map(str, missing))} videos (none recorded, or none "
                    f"of the runs it estimates on yet); its rows and pooled gap cover "
                    f"{', '.join(map(str, covered)) or 'no size'} only")
    gaps, differences_by_size, cells_by_size = [], [], []
    for videos in sorted(set(ours_by_size) | set(theirs_by_size)):  # at `sizes` only (_cells_by_size)
        ours, theirs = ours_by_size.get(videos), theirs_by_size.get(videos)
        paired = sorted(set(ours.accuracies) & set(theirs.accuracies)) if ours and theirs else []
        paired = [run for run in paired if ours.train_indices.get(run) == theirs.train_indices.get(run)]
        differences = {run: ours.accuracies[run] - theirs.accuracies[run] for run in paired}
        comparison = compare(theirs.accuracies, ours.accuracies, set(paired)) if ours and theirs else None
        race = ((videos, plans[videos]),) if videos in plans and options.select_runs is None else ()
        gaps.append(Gap(spec.name, videos, ours, theirs, summarize(list(differences.values())), comparison, warnings=said,
                        race=race, runs=runs_caption(replace(options, race=race))))
        differences_by_size.append(differences)
        cells_by_size.append((ours, theirs))
    if len(gaps) > 1:
        comparison = pooled(differences_by_size)
        runs = sorted(set.intersection(*(set(d) for d in differences_by_size)))
        per_run = [sum(d[run] for d in differences_by_size) / len(differences_by_size) for run in runs]
        averaged = tuple(summarize([sum(cells[side].accuracies[run] for cells in cells_by_size) / len(cells_by_size)
                                    for run in runs]) for side in (0, 1))
        gaps.append(Gap(spec.name, None, None, None, summarize(per_run), comparison, warnings=said,
                        pooled=tuple(gap.videos for gap in gaps if gap.videos is not None),
                        race=tuple(plan for gap in gaps for plan in gap.race),
                        pooled_accuracy=averaged if runs else None))
        gaps[-1].runs = runs_caption(replace(options, race=gaps[-1].race))
    return gaps


def compare_rows(specs: Sequence[RowSpec], *, treatment: str | Arm = "3dttn", baseline: str | Arm = "3d",
                 sizes: Sequence[int] | None = None, options: ReportOptions = ReportOptions(correction="holm")) -> list[Gap]:
    """The gap table: every row's gaps and pooled gap, p-values Holm-adjusted over every test of the table
    (`options.correction` "holm"). `treatment` and `baseline` are arms: an arch, optionally with filters of its
    own ("3dttn?freeze_transforms=true"); `options` say which runs select and which estimate."""
    treatment = treatment if isinstance(treatment, Arm) else parse_arm(treatment)
    baseline = baseline if isinstance(baseline, Arm) else parse_arm(baseline)
    if not specs:
        raise TTNError("give at least one --row NAME=FOLDER")
    if len({spec.name for spec in specs}) < len(specs):
        raise TTNError("two --row have the same NAME: give each protocol variant its own name")
    gaps = [gap for spec in specs for gap in row_gaps(spec, treatment, baseline, sizes, options)]
    p_values = [gap.comparison.p_value if gap.comparison else None for gap in gaps]
    adjusted = holm(p_values) if options.correction == "holm" else p_values
    for gap, p in zip(gaps, adjusted):
        gap.p_adjusted = p
    return gaps


def paper_means(gap: Gap, treatment: Arm, baseline: Arm) -> tuple[float, float] | None:
    """Table 2's mean test accuracy of the treatment's and the baseline's arch at the gap's size, or averaged over a
    pooled gap's sizes (as the paper's summary claims average its rows: "0.58 vs 0.65 on average" at 10-50
    videos); None where Table 2 lacks the arch or a size."""
    table = {(row.arch, row.videos): row.mean_accuracy for row in paper_table()}
    sizes = gap.pooled or (gap.videos,)
    if any((arm.arch, videos) not in table for arm in (treatment, baseline) for videos in sizes):
        return None
    ours, theirs = (sum(table[(arm.arch, videos)] for videos in sizes) / len(sizes) for arm in (treatment, baseline))
    return ours, theirs


def caption(gaps: Sequence[Gap], options: ReportOptions, paper: bool = False) -> str:
    """What the gap table's numbers are, the runs used and the meaning of its marks (and of the paper's column,
    with `paper`)."""
    tests = sum(1 for gap in gaps if gap.comparison and gap.comparison.p_value is not None)
    correction = f"Holm-corrected over the {counted(tests, 'test')} of the table" if options.correction == "holm" else "uncorrected"
    parts = [
        "Accuracy: mean ± SE over the selected candidate's runs. Gap: mean paired difference (treatment - baseline, "
        "runs with the same training videos; Welch's difference of means where they do not pair) with its 95% "
        "confidence interval; mde80: the smallest true gap the test detects with 80% power at alpha 0.05 "
        "(two-sided) at its n and observed spread. Pooled: per run, the gap averaged over the row's sizes, then a "
        "t-test over runs (its accuracies: per run, the accuracy averaged over the sizes, then mean ± SE over runs). "
        f"p {correction}; * p < {options.alpha:g}.",
        rows_runs_caption(gaps),
        footnote(cell.warnings for gap in gaps for cell in (gap.treatment, gap.baseline) if cell is not None),
        (f"Paper: Table 2's difference of mean test accuracies (treatment vs baseline; a pooled row averages Table "
         f"2's rows of its sizes, as the paper's summary claims do). {paper_source().rstrip('.')}.") if paper else "",
    ]
    return " ".join(part for part in parts if part)


def rows_runs_caption(gaps: Sequence[Gap]) -> str:
    """Which runs each row selected and estimated on (a raced folder's plan, a row's or the command's
    --select-runs / --estimate-runs): one sentence when every row used the same, else one per row that did not use
    all its runs."""
    by_row: dict[str, str] = {}
    for gap in gaps:
        by_row[gap.row] = gap.runs  # the row's last gap: its pooled gap (every size's plan) where it has one
    if len(set(by_row.values())) == 1:
        return next(iter(by_row.values()), "")
    return " ".join(f"{row}: {text}" for row, text in by_row.items() if text)


def _selected(cell: Cell | None) -> str:
    return "—" if cell is None or cell.selection is None else cell.selection.chosen.label()


def format_paper(means: tuple[float, float] | None, dash: str = "—") -> str:
    """The paper's gap and its two means, e.g. "+0.062 (0.645 vs 0.584)"."""
    return dash if means is None else f"{means[0] - means[1]:+.3f} ({means[0]:.3f} vs {means[1]:.3f})"


def gap_table(gaps: Sequence[Gap], treatment: str, baseline: str,
              paper: tuple[Arm, Arm] | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings: one line per (row, size); with `paper` (the treatment and baseline arms), a
    column of Table 2's gap beside ours (`paper_means`)."""
    from ttn.report.formats import format_accuracy, format_gap, format_mde, format_p, format_stats

    header = ["protocol", "videos", f"{treatment} acc", "selected", f"{baseline} acc", "selected",
              f"{treatment} - {baseline} [95% CI]", "mde80", "pairs", "p", "p_holm"]
    if paper:
        header.insert(7, f"paper {treatment} - {baseline}")
    lines = []
    for gap in gaps:
        comparison = gap.comparison
        p = comparison.p_value if comparison else None
        pairs = str(comparison.n_pairs if comparison and comparison.test == "paired" else gap.difference.n)
        ours, theirs = ((format_stats(stats) for stats in gap.pooled_accuracy) if gap.pooled_accuracy
                        else (format_accuracy(gap.treatment), format_accuracy(gap.baseline)))
        line = [gap.row, gap.label, ours, _selected(gap.treatment), theirs, _selected(gap.baseline),
                format_gap(comparison), format_mde(comparison), pairs, format_p(p),
                format_p(gap.p_adjusted) + (" *" if gap.p_adjusted is not None and gap.p_adjusted < 0.05 else "")]
        if paper:
            line.insert(7, format_paper(paper_means(gap, *paper)))
        lines.append(line)
    return header, lines


def gaps_dict(gaps: Sequence[Gap], paper: tuple[Arm, Arm] | None = None) -> list[dict[str, Any]]:
    """The gap table as plain JSON-able data (NaN as null); with `paper` (the treatment and baseline arms), each
    gap's Table 2 means and their difference under "paper" (null where Table 2 has none)."""
    def number(value: float | None) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    def cell(c: Cell | None) -> dict[str, Any] | None:
        if c is None:
            return None
        return {"mean": number(c.stats.mean), "sem": number(c.stats.sem), "n": c.stats.n, "runs": list(c.runs),
                "selected": c.selection.chosen.options if c.selection else {}, "warnings": list(c.warnings)}

    def difference(gap: Gap) -> dict[str, Any]:
        comparison = gap.comparison
        return {"mean": number(gap.difference.mean), "sem": number(gap.difference.sem), "n_pairs": gap.difference.n,
                "ci95": list(comparison.ci95) if comparison and comparison.ci95 else None,
                "mde80": number(comparison.mde80) if comparison else None}

    def stats(value: CellStats) -> dict[str, Any]:
        return {"mean": number(value.mean), "sem": number(value.sem), "n": value.n}

    def paper_entry(gap: Gap) -> dict[str, Any]:
        means = paper_means(gap, *paper) if paper else None
        return {} if not paper else {"paper": None if means is None else
                                     {"treatment": means[0], "baseline": means[1], "gap": means[0] - means[1]}}

    return [{"row": gap.row, "videos": gap.videos, "pooled_sizes": list(gap.pooled) or None,
             "pooled_accuracy": None if gap.pooled_accuracy is None else dict(zip(("treatment", "baseline"),
                                                                                  map(stats, gap.pooled_accuracy))),
             "treatment": cell(gap.treatment), "baseline": cell(gap.baseline), "difference": difference(gap),
             "p_value": number(gap.comparison.p_value) if gap.comparison else None,
             "test": gap.comparison.test if gap.comparison else None,
             "p_adjusted": number(gap.p_adjusted), **paper_entry(gap)} for gap in gaps]
