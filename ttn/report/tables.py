"""The report's table: a Cell per (arch, training videos) and the significance of each arch against a baseline.

Data flow:

    records (ttn.experiment.records.load_records)
      -> Cell per (arch, videos): test accuracies by run, mean, sem (ddof=1), n, params  (ttn.report.stats.summarize)
      -> Significance per (size, other arch): baseline vs other, paired or Welch t-test (ttn.report.stats.compare),
         optionally Holm-corrected over every test in the table (ttn.report.stats.holm)
      -> Report (rows by size): written out by ttn.report.formats, drawn by ttn.report.figures

Nothing here prints: warnings are collected in `Report.warnings` for the caller to show.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ttn.errors import TTNError
from ttn.experiment.racing import RacePlan, read_plans
from ttn.experiment.records import Fingerprint, load_records
from ttn.paper import PaperRow, paper_source, paper_table
from ttn.experiment.config import identity
from ttn.report.diagnostics import candidate_warnings, footnote
from ttn.report.selection import SELECT_RULES, Selection, parse_where, race_select, select, where
from ttn.report.stats import TEST_NAMES, CellStats, Comparison, compare, holm, summarize

#: Values of `correction`: none, or Holm-Bonferroni over all tests of the report.
CORRECTIONS = ("none", "holm")
#: The baseline when none is given and it is present (the paper's LeNet-5-3D).
DEFAULT_BASELINE = "3d"
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class ReportOptions:
    """What a report selects, tests and shows; checked once, here (`ttn report`, `ttn compare` and the Python
    API all build one).

    `select_runs` / `estimate_runs`: the run indices model selection reads, and those whose test accuracies are
    reported (None: all). Disjoint sets give an estimate on runs that took no part in the choice.
    """

    baseline: str | None = None  #: the arch every other is tested against; None: "3d" if present
    correction: str = "none"  #: "holm": p-values adjusted over every test of the table
    alpha: float = DEFAULT_ALPHA  #: significance level of the "*" marks
    compare_paper: bool = False
    select_rule: str = "val"  #: "val": highest mean validation accuracy; "none": one candidate per cell
    filters: tuple[str, ...] = ()  #: --where KEY=V[,V]
    archs: tuple[str, ...] | None = None  #: only these archs
    sizes: frozenset[int] | None = None  #: only these training-set sizes (`--videos` of report and compare)
    select_runs: frozenset[int] | None = None
    estimate_runs: frozenset[int] | None = None
    #: (videos, plan) of the sizes a raced sweep made (`ttn.experiment.racing`, read from the folder by
    #: `make_report`): without --select-runs / --estimate-runs their cells are picked by the race's rule on its
    #: selection runs and report its confirmatory runs
    race: tuple[tuple[int, RacePlan], ...] = ()

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise TTNError(f"--correct {self.correction}: choose one of {', '.join(CORRECTIONS)}")
        if not 0 < self.alpha < 1:
            raise TTNError(f"--alpha {self.alpha}: choose a level between 0 and 1, e.g. 0.05")
        if self.select_rule not in SELECT_RULES:
            raise TTNError(f"--select {self.select_rule}: choose one of {', '.join(SELECT_RULES)}")
        parse_where(self.filters)  # malformed KEY=V items fail here, before any file is read
        for name in ("select_runs", "estimate_runs"):
            runs = getattr(self, name)
            if runs is not None and (not runs or min(runs) < 0):
                raise TTNError(f"--{name.replace('_', '-')}: give run indices >= 0, e.g. 0-9")


@dataclass
class Cell:
    """The runs of one (arch, training videos): test accuracy by run index and their summary."""

    arch: str
    videos: int
    accuracies: dict[int, float]  #: run index -> test accuracy
    stats: CellStats
    params: int | None  #: parameter count; None if the runs disagree (see Report.warnings)
    train_indices: dict[int, tuple[int, ...] | None] = field(default_factory=dict, repr=False)
    selection: Selection | None = field(default=None, repr=False)  #: the candidates and the one reported
    #: what a reader must know about the reported runs, each starting with a code (`ttn.report.diagnostics`)
    warnings: list[str] = field(default_factory=list)
    records: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)  #: run index -> reported record

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
    options: ReportOptions = field(default_factory=lambda: ReportOptions())

    @property
    def compared(self) -> list[str]:
        """The archs compared against the baseline."""
        return [arch for arch in self.archs if arch != self.baseline]

    @property
    def selecting_archs(self) -> list[str]:
        """Archs with more than one candidate config in some cell (their selected candidate is shown)."""
        return [arch for arch in self.archs
                if any(len(cell.selection.candidates) > 1 for row in self.rows for a, cell in row.cells.items()
                       if a == arch and cell.selection is not None)]

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

    def shown_race(self) -> tuple[tuple[int, RacePlan], ...]:
        """The race plans ((videos, plan)) of the sizes this report has rows of: a size planned but without runs
        yet is not this table's to describe."""
        shown = {row.videos for row in self.rows}
        return tuple((videos, plan) for videos, plan in self.options.race if videos in shown)

    def caption(self) -> str:
        """One paragraph naming what the numbers are and which test produced the marks."""
        parts = ["Test accuracy: mean ± 1 standard error (ddof=1) over n runs."]
        if self.selecting_archs:
            parts.append("Per arch and size, the candidate config with the highest mean validation accuracy "
                         "(\"selected\") is reported; test accuracies take no part in the choice.")
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
                    f", Holm-corrected over the {counted(self.n_tests(), 'test')} of this table"
                    if self.correction == "holm" else ""
                )
                parts.append(
                    f"p: {', '.join(self.compared)} vs baseline {self.baseline} by {names}{rule}{correction}; "
                    f"* p < {self.alpha:g}. Gap: {', '.join(self.compared)} - {self.baseline} with the test's 95% "
                    "confidence interval; mde80: the smallest true gap this test detects with 80% power at "
                    "alpha 0.05 (two-sided) at its n and observed spread."
                )
            else:
                parts.append(f"No significance test possible against baseline {self.baseline} (too few runs).")
        parts.append(runs_caption(replace(self.options, race=self.shown_race())))
        parts.append(footnote(cell.warnings for row in self.rows for cell in row.cells.values()))
        if self.compare_paper:
            parts.append(f"Paper: {paper_source()}")
        return " ".join(part for part in parts if part)


def counted(count: int, noun: str) -> str:
    """ "1 test", "5 tests": a count and its noun, plural unless one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_runs(runs: frozenset[int]) -> str:
    """Run indices as ranges, e.g. {0, 1, 2, 5} -> "0-2, 5"."""
    ordered, spans = sorted(runs), []
    for run in ordered:
        if spans and run == spans[-1][1] + 1:
            spans[-1][1] = run
        else:
            spans.append([run, run])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def named_runs(runs: Iterable[int], kind: str = "") -> str:
    """`runs` named with their `kind`: "race runs 0-1", or "race run 0" for one run."""
    runs = frozenset(runs)
    return f"{kind}run{'s' if len(runs) > 1 else ''} {format_runs(runs)}"


def per_plan(race: Sequence[tuple[int, RacePlan]], describe: Callable[[RacePlan], str]) -> str:
    """`describe(plan)` for each distinct plan of `race` ((videos, plan) pairs), in the order of their smallest
    size, joined by "; ". Where the sizes follow different plans (the paper preset: runs 0-9 / 10-29 at 10-100
    videos, 0-4 / 5-9 at 500-1000), each names its sizes: "10, 20 videos: ..."."""
    sizes: dict[RacePlan, list[int]] = {}
    for videos, plan in sorted(race, key=lambda item: item[0]):
        sizes.setdefault(plan, []).append(videos)
    if len(sizes) == 1:
        return describe(next(iter(sizes)))
    return "; ".join(f"{', '.join(map(str, videos))} videos: {describe(plan)}" for plan, videos in sizes.items())


def runs_caption(options: ReportOptions) -> str:
    """What runs the selection read and the accuracies come from, when not all ("" otherwise)."""
    parts = []
    race = options.race
    if race and options.select_runs is None:
        parts.append("raced over runs and picked on the selection runs ("
                     + per_plan(race, lambda p: f"K {p.race}, {named_runs(p.select_runs)}") + ")")
    if race and options.estimate_runs is None:
        parts.append("accuracies of the runs outside the selection, which the choice did not see ("
                     + per_plan(race, lambda p: named_runs(p.confirm_runs or p.runs)) + ")")
    if options.select_runs is not None:
        parts.append(f"selected on runs {format_runs(options.select_runs)}")
    if options.estimate_runs is not None:
        parts.append(f"accuracies of runs {format_runs(options.estimate_runs)}")
    return ("Candidates " + "; ".join(parts) + ".") if parts else ""


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


def _cells(records: Sequence[dict[str, Any]], options: ReportOptions, warnings: list[str]) -> dict[tuple[str, int], Cell]:
    """A Cell per (arch, videos) from the runs of its selected candidate (`ttn.report.selection.select`): the
    selection reads the records of `options.select_runs`, the cell reports those of `options.estimate_runs`."""
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault((record["arch"], record["videos"]), []).append(record)
    cells = {}
    for (arch, videos), cell_records in sorted(grouped.items()):
        selecting = _in_runs(cell_records, options.select_runs)
        if not selecting:
            warnings.append(f"{arch} at {videos} videos: no run in --select-runs: left out")
            continue
        plan = dict(options.race).get(videos) if options.select_rule == "val" else None
        selection = race_select(arch, videos, selecting, plan) if plan and options.select_runs is None else None
        if plan and selection is None and options.select_runs is None:
            warnings.append(f"{arch} at {videos} videos: the race has not recorded every selection run yet: "
                            "selected on the runs the candidates share, for now")
        selection = selection or select(arch, videos, selecting, options.select_rule)
        warnings.extend(selection.warnings)
        chosen = identity(selection.chosen.config)
        estimate = options.estimate_runs
        if estimate is None and plan is not None:
            estimate = frozenset(plan.confirm_runs) or None
        group = sorted((record for record in _in_runs(cell_records, estimate)
                        if identity(record["config"]) == chosen), key=lambda record: record["run"])
        untested = [record["run"] for record in group if record["test_accuracy"] is None]
        if untested:
            warnings.append(f"{arch} at {videos} videos: runs {format_runs(untested)} of the selected candidate are not "
                            "tested yet (a raced sweep tests them once it picks; run the same `ttn sweep` again, or "
                            "add --test-all): left out")
            group = [record for record in group if record["test_accuracy"] is not None]
        if not group:
            where = ""
            if options.estimate_runs is not None:
                where = " in --estimate-runs"
            elif estimate:  # the race's fresh runs, not an option the user gave
                where = f" among the runs the race estimates on ({format_runs(sorted(estimate))}) yet"
            warnings.append(f"{arch} at {videos} videos: the selected candidate ({selection.chosen.label()}) has no "
                            f"tested run{where}: left out")
            continue
        cells[(arch, videos)] = _cell(arch, videos, group, selection, warnings)
    return cells


def _in_runs(records: Sequence[dict[str, Any]], runs: frozenset[int] | None) -> list[dict[str, Any]]:
    return list(records) if runs is None else [record for record in records if record["run"] in runs]


def _cell(arch: str, videos: int, group: list[dict[str, Any]], selection: Selection, warnings: list[str]) -> Cell:
    """The Cell of the records `group` (the selected candidate's reported runs, by run index)."""
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
    flagged = candidate_warnings(selection, group)
    label = selection.chosen.label()
    warnings.extend(f"{arch} at {videos} videos{'' if label == '-' else f' ({label})'}: {w}" for w in flagged)
    return Cell(arch=arch, videos=videos, accuracies=accuracies, stats=summarize(list(accuracies.values())),
                params=params.pop() if len(params) == 1 else None, train_indices=indices, selection=selection,
                warnings=flagged, records={record["run"]: record for record in group})


def init_asymmetry_warning(cells: Iterable[Cell]) -> str | None:
    """A warning when 3DTTN cells stand beside cells of other archs whose selected candidate kept
    conv_init "default" (PyTorch's nn.Conv3d init: weights sqrt(6)x smaller than the 3DTTN's K0), else None."""
    cells = list(cells)
    if not any(cell.arch == "3dttn" for cell in cells):
        return None
    legacy = sorted({cell.arch for cell in cells if cell.arch != "3dttn" and cell.selection is not None
                     and cell.selection.chosen.config.get("conv_init") == "default"})
    if not legacy:
        return None
    return (f"{', '.join(legacy)}: conv_init 'default' starts the conv weights sqrt(6)x smaller than the 3DTTN's K0, "
            "an init asymmetry that favours the 3DTTN; train with --conv-init he for the same rule (docs/results.md)")


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
    options: ReportOptions = ReportOptions(),
    fingerprint: Fingerprint | None = None,
) -> Report:
    """The report of `records` (valid records of one dataset, e.g. `load_records(folder).records`).

    Each (arch, videos) reports the test accuracies of one candidate config: the one `options.select_rule`
    selects ("val": highest mean validation accuracy; "none": the cell must have one candidate). Every other
    arch is tested against `options.baseline` (default: "3d" if present, else the first arch by name);
    correction "holm" adjusts the p-values over all tests of the report; a difference is marked significant
    when its (adjusted) p-value is below `options.alpha`.
    """
    if not records:
        raise TTNError("no complete result records: run `ttn sweep` (or `ttn train`) first")
    warnings: list[str] = []
    archs_found = {record["arch"] for record in records}
    base = _resolve_baseline(archs_found, options.baseline)
    archs = _arch_order(archs_found, base)
    cells = _cells(records, options, warnings)
    if not cells and (options.select_runs is not None or options.estimate_runs is not None):
        # every cell left out by the run ranges: an empty table would look like a result
        held = frozenset(record["run"] for record in records)
        raise TTNError(f"--select-runs / --estimate-runs: no selected candidate has runs in the ranges given; the "
                       f"records hold runs {format_runs(held)}: choose among those")
    sizes = sorted({videos for _, videos in cells})
    warnings.extend(_partial_warnings(cells, archs, sizes))
    asymmetry = init_asymmetry_warning(cells.values())
    if asymmetry:
        warnings.append(asymmetry)

    paper = {(row.arch, row.videos): row for row in paper_table()} if options.compare_paper else {}
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
    holm_on = options.correction == "holm"
    adjusted = holm([sig.p_value for sig in tests]) if holm_on else [sig.p_value for sig in tests]
    for sig, p in zip(tests, adjusted):
        sig.p_adjusted = p if holm_on else None
        sig.significant = p is not None and p < options.alpha
    if len(archs) == 1 and options.archs is None:  # one arch asked for (e.g. an arm of `ttn compare`) is no surprise
        warnings.append(f"only one arch ({base}) in the records: no significance test")
    return Report(
        rows=rows,
        archs=archs,
        baseline=base,
        alpha=options.alpha,
        correction=options.correction,
        compare_paper=options.compare_paper,
        fingerprint=fingerprint,
        records=list(records),
        warnings=warnings,
        options=options,
    )


def make_report(folder: str | os.PathLike[str], options: ReportOptions = ReportOptions(), *,
                warn_absent: bool = True) -> Report:
    """Load the records of `folder` (skipping torn ones, refusing mixed datasets), keep those that pass the
    --where filters and archs of `options`, and build their report. A size of `options.sizes` without records is
    a warning unless `warn_absent` is False (`ttn compare` says it once itself, with what its pooled gap covers)."""
    loaded = load_records(folder)
    if not options.race:
        options = replace(options, race=tuple(sorted(read_plans(folder).items())))
    records = where(loaded.records, parse_where(options.filters))
    if options.archs is not None:
        records = [record for record in records if record["arch"] in options.archs]
    if options.sizes is not None:
        records = [record for record in records if record["videos"] in options.sizes]
    if not records:
        skipped = f" ({len(loaded.skipped)} unusable file(s) skipped)" if loaded.skipped else ""
        kept = f" ({len(loaded.records)} before --where/--arch/--videos)" if len(loaded.records) else ""
        raise TTNError(f"no complete result records in {loaded.folder}{skipped}{kept}: run `ttn sweep` (or `ttn train`) "
                       "first, or loosen --where / --videos")
    report = build_report(records, options, fingerprint=loaded.fingerprint)
    report.warnings[:0] = loaded.warnings
    absent = sorted(set(options.sizes or ()) - {record["videos"] for record in records})
    if absent and warn_absent:
        report.warnings.append(f"--videos {','.join(map(str, absent))}: no records of that size in {loaded.folder}")
    report.folder = loaded.folder
    return report
