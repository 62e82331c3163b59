"""`ttn report`: the paper's Table 2 and Figure 3 from a folder of result records (printing only; the
statistics and formats live in ttn.report)."""
from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.common import OptionError, UserPath, dpi_option, echo, err_console, figure_path, out_console
from cli.config_file import config_file_options
from cli.terminal_width import fit_columns, print_fitted
from ttn.errors import TTNError
from ttn.report.figures import PAPER_RANGES, plot_accuracy, plot_curves, require_matplotlib
from ttn.report.formats import ColumnError, check_columns, compact_table, human_columns, markdown_table, pick_columns
from ttn.report.render import TEXT_FORMATS, render
from ttn.report.selection import SELECT_RULES
from vmnist.infra.atomic import atomic_write_text
from vmnist.pictures.figures import DEFAULT_DPI
from ttn.report.tables import CORRECTIONS, DEFAULT_ALPHA, Report, ReportOptions, make_report

FORMATS = ("table", *TEXT_FORMATS)


def _two_lines(name: str) -> str:
    """A column name on two header lines at most: "3dttn\nacc", "paper 3dttn\nacc", "p\n3dttn vs 3d"."""
    if " [" in name:
        first, _, second = name.partition(" [")
        return f"{first}\n[{second}"
    first, _, second = name.partition(" ") if name.startswith("p") and " vs " in name else name.rpartition(" ")
    return f"{first}\n{second}" if first else second


def add_column(table: Table, name: str) -> None:
    """A column of a table of strings, never wrapped: names (NAME_COLUMNS) left-aligned on one line, numbers
    right-aligned under a header of two lines at most."""
    if name in NAME_COLUMNS:
        table.add_column(name, justify="left", no_wrap=True)
    else:
        table.add_column(_two_lines(name), justify="right", no_wrap=True)


def report_table_maker(report: Report, pad_edge: bool = True) -> Any:
    """The maker of the report's rich tables (`cli.terminal_width`): the title on the first block; without `pad_edge` no
    blank column at either side (the compact layout: two more columns for numbers)."""
    where = f" ({report.folder})" if report.folder else ""

    def make(header: list[str], rows: list[list[str]], first: bool, last: bool) -> Table:
        table = Table(title=escape(f"Test accuracy on Video-MNIST{where}") if first else None,
                      box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=pad_edge)
        for name in header:
            add_column(table, name)
        for row in rows:
            table.add_row(*[Text(cell, style="bold" if cell.endswith("*") else "") for cell in row])
        return table

    return make


#: Columns of the compact layout (`compact_table`) that give way on a terminal too narrow for all, first to last
#: (all are in --format markdown/json/records); the accuracy, n, the gap with its interval and mde80 always stay.
COMPACT_DROP = ("params", "selected", "paper acc", "p", "p_holm")


def _wide_drop(name: str) -> int | None:
    """The one column the wide table gives up on a narrow terminal: the test's name, which the caption gives."""
    return 0 if name == "test" else None


def print_table(console: Console, report: Report, columns: list[str] | None = None) -> None:
    """The report's table fitted to `console`, and a note of the columns left out: one row per size with every
    column (but the test's name, which the caption gives, on a narrow terminal), or where that does not fit,
    the compact layout of one row per (size, arch), which keeps n, the gap, its interval and mde80 at 80
    columns. `columns` (--columns): those columns of the wide table."""
    make = report_table_maker(report)
    header, rows = pick_columns(*human_columns(report, pm="±"), columns)
    blocks, _ = fit_columns(console, make, header, rows, keys=(0,), drop=_wide_drop)
    if columns is None and len(blocks) > 1:
        header, rows = compact_table(report)
        dropped = print_fitted(console, report_table_maker(report, pad_edge=False), header, rows, keys=(0, 1),
                               drop=lambda name: COMPACT_DROP.index(name) if name in COMPACT_DROP else None)
    else:
        dropped = print_fitted(console, make, header, rows, keys=(0,), drop=_wide_drop)
    console.print(Text(report.caption()), soft_wrap=False)  # prose wraps at the console's width
    _note_dropped(console, dropped)


def _note_dropped(console: Console, dropped: list[str]) -> None:
    """Say on stderr which columns a narrow terminal left out, and where to find them."""
    if dropped:
        err_console.print(f"not shown at {console.width} columns: {', '.join(dropped)} (widen the terminal, or use "
                          "--format markdown or json)", highlight=False, markup=False)


def _table_text(report: Report, columns: list[str] | None = None) -> str:
    buffer = io.StringIO()
    print_table(Console(file=buffer, width=100, color_system=None, force_terminal=False), report, columns)
    return buffer.getvalue()


def check_outputs(results_dir: str | Path, outputs: dict[str, str | Path | None]) -> None:
    """TTNError if two options name one file, or one names a record of `results_dir` (any *.json there, which the
    next report would read as a record, or an existing file named by a run id, such as a checkpoint): an output
    never replaces another, nor what it is made from, --force or not."""
    from ttn.experiment.records import parse_run_id

    folder, named = Path(results_dir).resolve(), {}
    for option, given in ((option, given) for option, given in outputs.items() if given is not None):
        path = Path(given).resolve()
        if path in named:
            raise TTNError(f"{named[path]} and {option} both name {given}: give each its own file")
        named[path] = option
        if path.parent == folder and (path.suffix == ".json" or path.exists() and parse_run_id(path.stem)):
            raise TTNError(f"{option} {given} is in the results folder, where it would replace or add a record: "
                           "write it outside the results folder")


def print_report(
    results_dir: str | Path,
    options: ReportOptions = ReportOptions(),
    *,
    fmt: str = "table",
    out: str | Path | None = None,
    plot: str | Path | None = None,
    curves: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
    force: bool = False,
    transforms: bool = False,
    race: bool = False,
    runs: bool = False,
    command: str = "",
    tensorboard: str | Path | None = None,
    columns: list[str] | None = None,
    paper_range: str = "ours",
) -> Report:
    """Build the report of `results_dir` by `options` and show it: the table (or `fmt`) on stdout or in `out`,
    warnings on stderr, figures to `plot` / `curves`. What `ttn reproduce` calls after a sweep. Raises TTNError
    on user errors."""
    if fmt not in FORMATS:
        raise TTNError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    check_outputs(results_dir, {"--out": out, "--plot": plot, "--curves": curves})
    for option, path in (("--out", out), ("--plot", plot), ("--curves", curves)):
        if path is not None and Path(path).exists() and not force:
            raise TTNError(f"{option} {path} already exists: pass --force to replace it, or choose another file")
    if plot is not None or curves is not None:
        require_matplotlib()  # fail before printing anything
    if tensorboard is not None:
        from ttn.report.tensorboard import require_tensorboard

        require_tensorboard()
        if Path(tensorboard).exists() and not force:
            raise TTNError(f"--tensorboard {tensorboard} already exists: pass --force to replace it, or choose another folder")
    report = make_report(results_dir, options)
    if columns is not None:
        try:
            check_columns(report, fmt, columns)
        except ColumnError as exc:  # names no column of this table: a usage error, before any output
            raise OptionError(str(exc)) from None
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True, markup=True)
    if out is not None:
        text = _table_text(report, columns) if fmt == "table" else render(report, fmt, runs=runs, command=command,
                                                                           columns=columns)
        err_console.print(f"wrote {atomic_write_text(out, text)}", markup=False, highlight=False)
    elif fmt == "table":
        print_table(out_console, report, columns)
    else:
        echo(render(report, fmt, runs=runs, command=command, columns=columns), nl=False)
    if transforms and fmt in ("table", "markdown"):
        from ttn.report.transforms import transform_table

        header, rows = transform_table(report)
        if not rows:
            err_console.print("no 3DTT transforms in these records (--transforms needs 3dttn runs)", highlight=False)
        elif fmt == "markdown":
            echo(markdown_table(header, rows))
        else:
            print_simple("How far the 3DTT transforms moved (mean over runs)", header, rows, keys=(0, 1))
    if race and fmt in ("table", "markdown"):
        show_race(report, fmt)
    if plot is not None:
        err_console.print(f"wrote {plot_accuracy(report, plot, dpi=dpi, paper_range=paper_range)}", markup=False,
                          highlight=False)
    if curves is not None:
        err_console.print(f"wrote {plot_curves(report, curves, dpi=dpi)}", markup=False, highlight=False)
    if tensorboard is not None:
        from ttn.report.tensorboard import export

        folder = export(report.records, tensorboard, force=force)
        err_console.print(f"wrote {len(report.records)} TensorBoard runs to {folder} (tensorboard --logdir {folder})",
                          highlight=False, markup=False)
    return report


def report_options(**values: Any) -> ReportOptions:
    """ReportOptions of the command line: their one check, an option error (exit 2) when it fails."""
    try:
        return ReportOptions(**values)
    except TTNError as exc:
        raise click.UsageError(str(exc)) from None


def _columns_option(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    """--columns "videos,3d_acc" -> ["videos", "3d_acc"] (checked against the table's names once it is built)."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give column names, e.g. videos,3d_acc", param_hint="--columns")
    return names


def _runs_option(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[int] | None:
    """--select-runs / --estimate-runs "0-9", "10-29" or "0-4,7" -> run indices."""
    if value is None:
        return None
    from cli.common import parse_run_ranges

    return parse_run_ranges(value, f"--{param.name.replace('_', '-')}")


def _videos_option(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    """--videos "500,1000" -> [500, 1000]."""
    from cli.common import parse_int_list

    return parse_int_list(value, "--videos") if value else None


#: --videos, shared by `ttn report` and `ttn compare`.
videos_option = click.option(
    "--videos", "sizes", callback=_videos_option, default=None, metavar="N,N,...",
    help="Only these training-set sizes: picks, warnings, tests and the Holm correction over them alone.")


def run_range_options(command: Any) -> Any:
    """--select-runs and --estimate-runs, shared by `ttn report` and `ttn compare`."""
    command = click.option("--estimate-runs", callback=_runs_option, default=None, metavar="RUNS",
                           help="Report the test accuracy of the selected candidate's runs RUNS only, e.g. 10-29: with "
                                "--select-runs 0-9 an estimate on runs that took no part in the choice.")(command)
    return click.option("--select-runs", callback=_runs_option, default=None, metavar="RUNS",
                        help="Select candidates on the validation accuracy of runs RUNS only, e.g. 0-9 "
                             "[default: all runs].")(command)


@config_file_options
@click.command("report")
@click.argument("results_dir", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: on the terminal; markdown, csv (wide), latex (booktabs), json (full precision); records / "
                   "records-csv: one tidy row per candidate (per run with --runs) for pandas; html: one "
                   "self-contained page with the figures.")
@click.option("--runs", "per_run", is_flag=True, help="records, records-csv: one row per run instead of per candidate.")
@click.option("--columns", callback=_columns_option, default=None, metavar="NAME,...",
              help="table, markdown, latex, csv: only these columns, in this order, by name: 3d_acc, 3d_n, "
                   "3dttn_vs_3d_gap, ... (markdown/latex), 3d_mean, 3dttn_vs_3d_ci95_low, ... (csv); an unknown "
                   "name lists the valid ones. [default: all; latex: all but the test, which the caption names]")
@click.option("--out", type=UserPath(path_type=Path, dir_okay=False), default=None,
              help="Write the table to FILE instead of stdout.")
@click.option("--plot", type=UserPath(path_type=Path, dir_okay=False), default=None, callback=figure_path,
              help="Figure 3: accuracy vs training videos, to FILE.png|svg|pdf (needs the [plot] extra).")
@click.option("--curves", type=UserPath(path_type=Path, dir_okay=False), default=None, callback=figure_path,
              help="Mean validation accuracy per epoch (±1 SE band), to FILE.png|svg|pdf.")
@dpi_option
@click.option("--compare-paper", is_flag=True, help="Show the paper's Table 2 beside ours (and in the plot).")
@click.option("--paper-range", type=click.Choice(PAPER_RANGES), default="ours", show_default=True,
              help="--plot --compare-paper: the paper's points within the range of our sizes (ours), or all of "
                   "them, to 5000 videos (all).")
@click.option("--correct", "correction", type=click.Choice(CORRECTIONS), default="none", show_default=True,
              help="Multiple-testing correction of the p-values over all tests of the table.")
@click.option("--baseline", default=None, metavar="ARCH",
              help="Arch every other arch is tested against  [default: 3d if present]")
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True,
              help="Significance level of the * marks (intervals are 95% and MDEs at 80% power whatever it is).")
@click.option("--select", "select_rule", type=click.Choice(SELECT_RULES), default="val", show_default=True,
              help="val: per arch and size, report the candidate config of highest mean validation accuracy; "
                   "none: every cell must hold one config (an error says so otherwise).")
@click.option("--where", "filters", multiple=True, metavar="KEY=V[,V]",
              help="Keep records whose config option KEY is one of the values, e.g. lr=0.02, channels=6x16, "
                   "freeze_transforms=true (options that do not apply to an arch pass). Repeatable.")
@click.option("--tensorboard", type=UserPath(path_type=Path, file_okay=False), default=None, metavar="DIR",
              help="Also write every run's per-epoch loss, val accuracy and lr as TensorBoard runs into DIR (needs the "
                   "[tensorboard] extra); view with `tensorboard --logdir DIR`.")
@click.option("--force", is_flag=True, help="Replace existing --out, --plot, --curves or --tensorboard outputs.")
@click.option("--transforms", is_flag=True,
              help="Also show how far the 3DTT transforms moved (|rotation| in degrees, |shift| in pixels, "
                   "|log scale|) per arch and size; always in --format json.")
@click.option("--race", "race", is_flag=True,
              help="Also show how each raced cell's race went: per candidate its runs, mean validation accuracy "
                   "over the race and the selection runs, and whether it went on or was picked.")
@videos_option
@run_range_options
def report_command(results_dir: Path, fmt: str, out: Path | None, plot: Path | None, curves: Path | None, dpi: float,
                   force: bool, transforms: bool, race: bool, per_run: bool, tensorboard: Path | None,
                   columns: list[str] | None, paper_range: str, sizes: list[int] | None, **options: Any) -> None:
    """The paper's Table 2 and Figure 3 from the result records in RESULTS_DIR.

    Per training-set size and arch: mean test accuracy, standard error (ddof=1), runs n and parameters.
    Where a sweep trained several candidate configs (e.g. --lr 0.005,0.01,0.02), the one with the highest
    mean validation accuracy is selected per arch and size and only its test accuracy is reported (the
    "selected" column); test accuracies never take part in the choice. Per other arch the gap to the baseline
    with its 95% confidence interval, the smallest gap the test could detect (mde80: 80% power, alpha 0.05)
    and a t-test: paired over runs with the same index (they share their training videos) where at least 2
    pair up, Welch's otherwise; the caption says which. Cells are marked where the reader must know more:
    [e] selection at the edge of its grid, [r] still rising at the last epoch, [c] runs that collapsed to
    chance, [u] runs that never left chance (undertrained; the warnings say which). Partial sweeps are
    reported with a warning; records of different datasets are refused.

    \b
    Examples:
      ttn report results/
      ttn report results/ --compare-paper --correct holm --plot fig3.png
      ttn report results/ --where lr=0.02            # only the lr 0.02 candidates
      ttn report results/ --videos 500,1000          # these sizes only
      ttn report results/ --format json --out results.json
      ttn report results/ --format latex --columns videos,3d_acc,3dttn_vs_3d_gap
      ttn report results/ --format html --out report.html
      # one row per run, for pandas.read_json("runs.jsonl", lines=True):
      ttn report results/ --format records --runs > runs.jsonl
      # select on runs 0-9, report runs 10-29, which the choice did not see:
      ttn report results/ --select-runs 0-9 --estimate-runs 10-29
      ttn report paper/ --race      # how a raced sweep's races went
    """
    options["sizes"] = None if sizes is None else frozenset(sizes)
    print_report(results_dir, report_options(**options), fmt=fmt, out=out, plot=plot, curves=curves, dpi=dpi, force=force,
                 transforms=transforms, race=race, runs=per_run, command=shlex.join(["ttn", *sys.argv[1:]]),
                 tensorboard=tensorboard,
                 columns=columns, paper_range=paper_range)


def show_race(report: Report, fmt: str) -> None:
    """How each raced cell's race went (`ttn.report.race_view`), as a table or markdown, or say there was none."""
    from ttn.report.race_view import HEADER, race_caption, race_rows

    rows = race_rows(report)
    if not rows:
        err_console.print("no raced cells in these records (--race shows a folder `ttn sweep --race` made)",
                          highlight=False, markup=False)
    elif fmt == "markdown":
        echo(markdown_table(HEADER, rows) + "\n\n*" + race_caption(report) + "*")
    else:
        print_simple("How each raced cell's race went", HEADER, rows, keys=(0, 1), caption=race_caption(report))


@click.command("compare")
@click.option("--row", "rows", multiple=True, required=True, metavar="NAME=FOLDER[?KEY=V&KEY=V]",
              help="One protocol variant: a name, a results folder, and optional --where filters after '?' (and "
                   "its own select-runs=RUNS, estimate-runs=RUNS). Repeatable.")
@click.option("--treatment", default="3dttn", show_default=True, metavar="ARCH[?KEY=V&KEY=V]",
              help="The arm whose gain is measured: an arch, optionally with filters of its own "
                   "(e.g. '3dttn?freeze_transforms=true').")
@click.option("--baseline", default="3d", show_default=True, metavar="ARCH[?KEY=V&KEY=V]",
              help="The arm it is measured against (e.g. 3d, or '3dttn?freeze_transforms=true').")
@videos_option
@click.option("--correct", "correction", type=click.Choice(CORRECTIONS), default="holm", show_default=True,
              help="Multiple-testing correction over every (row, size) of the table.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", show_default=True,
              help="table: on the terminal; markdown (with the caption); json: every gap with its numbers.")
@click.option("--compare-paper", is_flag=True,
              help="A column of Table 2's gap beside ours: the two archs' means at the size, averaged over a pooled "
                   "row's sizes as the paper's summary claims average them.")
@run_range_options
def compare_command(rows: tuple[str, ...], treatment: str, baseline: str, sizes: list[int] | None, correction: str,
                    fmt: str, compare_paper: bool, select_runs: frozenset[int] | None,
                    estimate_runs: frozenset[int] | None) -> None:
    """Which protocol choice moves the gap: TREATMENT minus BASELINE mean test accuracy, per size and variant.

    Each row is a results folder (optionally filtered); in each, the candidate of each arm and size is
    selected on validation as by `ttn report` (among the arm's own candidates: an arm is an arch with
    optional filters, so '3dttn?freeze_transforms=false' can be compared with '3dttn?freeze_transforms=true').
    The gap is the mean of the paired differences over the runs both selected candidates have (the same
    training videos) with its 95% confidence interval, the smallest gap the test could detect (mde80: 80%
    power, alpha 0.05) and a paired t-test; each row with several sizes gets a pooled gap (per run, the gap
    averaged over the sizes; a t-test over runs). p-values are Holm-corrected over the whole table. With
    --select-runs 0-9 --estimate-runs 10-29 the candidates are chosen on runs 0-9 and the gap is measured on
    fresh runs 10-29 only (a confirmatory estimate); a row may set its own runs after its folder:
    NAME=FOLDER?select-runs=0-9&estimate-runs=10-29. A folder a raced sweep made is picked by its race (on its selection runs) and
    estimated on its fresh runs unless runs are given.

    \b
    Examples (docs/results.md has the commands of its tables):
      ttn compare --row "shared lr=results?lr=0.02" --row "selected lr=results"
      ttn compare --row "raced=paper" --row "grid=quick?select-runs=0-1"
      ttn compare --row "3dttn: learned vs frozen=results" \\
                  --treatment "3dttn?freeze_transforms=false" \\
                  --baseline "3dttn?freeze_transforms=true"
      ttn compare --row "low=paper" --videos 10,20,30,40,50 --compare-paper
    """
    from ttn.report.compare import caption as compare_caption
    from ttn.report.compare import compare_rows, gap_table, gaps_dict, parse_arm, parse_row

    options = report_options(correction=correction, select_runs=select_runs, estimate_runs=estimate_runs)
    gaps = compare_rows([parse_row(row) for row in rows], treatment=treatment, baseline=baseline, sizes=sizes,
                        options=options)
    for warning in dict.fromkeys(warning for gap in gaps for warning in gap.warnings):
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True, markup=True)
    paper = (parse_arm(treatment), parse_arm(baseline)) if compare_paper else None
    if fmt == "json":
        echo(json.dumps(gaps_dict(gaps, paper), indent=2))
        return
    labels = [arm.partition("?")[0] for arm in (treatment, baseline)]
    header, lines = gap_table(gaps, *(labels if labels[0] != labels[1] else [treatment, baseline]), paper=paper)
    said = compare_caption(gaps, options, paper=compare_paper)
    if fmt == "markdown":
        echo(markdown_table(header, lines) + "\n\n*" + said + "*")
        return
    print_simple(f"{treatment} - {baseline}: mean test accuracy gap", header, lines, keys=(0, 1), caption=said)


NAME_COLUMNS = ("protocol", "arch", "selected", "layer")


def simple_table_maker(title: str) -> Any:
    """The maker of a table of strings (`cli.terminal_width`): name columns left-aligned, numbers right, the title first."""
    def make(header: list[str], rows: list[list[str]], first: bool, last: bool) -> Table:
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), title=escape(title) if first else None)  # text, not markup
        for name in header:
            add_column(table, name)
        for row in rows:
            table.add_row(*map(Text, row))
        return table

    return make


def print_simple(title: str, header: list[str], rows: list[list[str]], keys: tuple[int, ...], caption: str = "") -> None:
    """A table of strings fitted to stdout, its caption wrapped below it."""
    dropped = print_fitted(out_console, simple_table_maker(title), header, rows, keys=keys,
                           drop=lambda name: {"pairs": 0, "p": 1}.get(name))
    _note_dropped(out_console, dropped)
    if caption:
        out_console.print(Text(caption), soft_wrap=False)
