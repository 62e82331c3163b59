"""`ttn report`: the paper's Table 2 and Figure 3 from a folder of result records (printing only; the
statistics and formats live in ttn.report)."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from cli.common import dpi_option, err_console, figure_path, out_console
from ttn.errors import TTNError
from ttn.report.figures import plot_accuracy, plot_curves, require_matplotlib
from ttn.report.formats import TEXT_FORMATS, human_table, markdown_table, render
from ttn.report.selection import SELECT_RULES
from vmnist.atomic import atomic_write_text
from vmnist.figures import DEFAULT_DPI
from ttn.report.tables import CORRECTIONS, DEFAULT_ALPHA, Report, make_report

FORMATS = ("table", *TEXT_FORMATS)


def rich_table(report: Report) -> Table:
    """The report as a rich Table, captioned with what the numbers are and the test used."""
    header, rows = human_table(report, pm="±")
    where = f" ({report.folder})" if report.folder else ""
    table = Table(title=f"Test accuracy on Video-MNIST{where}", caption=report.caption(), caption_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True)
    for name in header:
        # two header lines at most: "3dttn\nacc", "paper 3dttn\nacc", "p\n3dttn vs 3d"; numbers never wrapped
        first, _, second = name.partition(" ") if name.startswith("p") and " vs " in name else name.rpartition(" ")
        table.add_column(f"{first}\n{second}" if first else second, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*[f"[bold]{cell}[/bold]" if cell.endswith("*") else cell for cell in row])
    return table


def _print_unshrunk(console: Console, table: Table) -> None:
    """Print `table` at its natural width even on a narrower terminal: numbers are never cut to "…"."""
    natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
    if natural > console.width:  # Console.print caps its width at the console's: print through a wider twin
        console = Console(file=console.file, width=natural, color_system=console.color_system,
                          no_color=console.no_color, force_terminal=console.is_terminal)
    console.print(table)


def _table_text(report: Report) -> str:
    buffer = io.StringIO()
    _print_unshrunk(Console(file=buffer, width=100, color_system=None, force_terminal=False), rich_table(report))
    return buffer.getvalue()


def print_report(
    results_dir: str | Path,
    *,
    fmt: str = "table",
    out: str | Path | None = None,
    plot: str | Path | None = None,
    curves: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
    force: bool = False,
    compare_paper: bool = False,
    correction: str = "none",
    baseline: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    select_rule: str = "val",
    filters: tuple[str, ...] = (),
    transforms: bool = False,
) -> Report:
    """Build the report of `results_dir` and show it: the table (or `fmt`) on stdout or in `out`, warnings on
    stderr, figures to `plot` / `curves`. What `ttn sweep` calls after a sweep. Raises TTNError on user errors.
    """
    if fmt not in FORMATS:
        raise TTNError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    for option, path in (("--out", out), ("--plot", plot), ("--curves", curves)):
        if path is not None and Path(path).exists() and not force:
            raise TTNError(f"{option} {path} already exists: pass --force to replace it, or choose another file")
    if plot is not None or curves is not None:
        require_matplotlib()  # fail before printing anything
    report = make_report(results_dir, baseline=baseline, correction=correction, alpha=alpha,
                         compare_paper=compare_paper, select_rule=select_rule, filters=filters)
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True, markup=True)
    if out is not None:
        text = _table_text(report) if fmt == "table" else render(report, fmt)
        err_console.print(f"wrote {atomic_write_text(out, text)}", highlight=False)
    elif fmt == "table":
        _print_unshrunk(out_console, rich_table(report))
    else:
        click.echo(render(report, fmt), nl=False)
    if transforms and fmt in ("table", "markdown"):
        from ttn.report.transforms import transform_table

        header, rows = transform_table(report)
        if not rows:
            err_console.print("no 3DTT transforms in these records (--transforms needs 3dttn runs)", highlight=False)
        elif fmt == "markdown":
            click.echo(markdown_table(header, rows))
        else:
            _print_unshrunk(out_console, simple_table("How far the 3DTT transforms moved (mean over runs)", header, rows))
    if plot is not None:
        err_console.print(f"wrote {plot_accuracy(report, plot, dpi=dpi)}", highlight=False)
    if curves is not None:
        err_console.print(f"wrote {plot_curves(report, curves, dpi=dpi)}", highlight=False)
    return report


def _alpha_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0 < value < 1:
        raise click.BadParameter(f"{value}: choose a level between 0 and 1, e.g. 0.05")
    return value


@click.command("report")
@click.argument("results_dir", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: rich table on the terminal; markdown, csv, latex, json (full precision) for files.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the table to FILE instead of stdout.")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), default=None, callback=figure_path,
              help="Figure 3: accuracy vs training videos, to FILE.png|svg|pdf (needs the [plot] extra).")
@click.option("--curves", type=click.Path(path_type=Path, dir_okay=False), default=None, callback=figure_path,
              help="Mean validation accuracy per epoch (±1 SE band), to FILE.png|svg|pdf.")
@dpi_option
@click.option("--compare-paper", is_flag=True, help="Show the paper's Table 2 beside ours (and in the plot).")
@click.option("--correct", "correction", type=click.Choice(CORRECTIONS), default="none", show_default=True,
              help="Multiple-testing correction of the p-values over all tests of the table.")
@click.option("--baseline", default=None, metavar="ARCH",
              help="Arch every other arch is tested against  [default: 3d if present]")
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True, callback=_alpha_option,
              help="Significance level of the * marks.")
@click.option("--select", "select_rule", type=click.Choice(SELECT_RULES), default="val", show_default=True,
              help="val: per arch and size, report the candidate config of highest mean validation accuracy; "
                   "none: every cell must hold one config (an error says so otherwise).")
@click.option("--where", "filters", multiple=True, metavar="KEY=V[,V]",
              help="Keep records whose config option KEY is one of the values, e.g. lr=0.02, channels=6x16, "
                   "freeze_transforms=true (options that do not apply to an arch pass). Repeatable.")
@click.option("--force", is_flag=True, help="Replace existing --out, --plot or --curves files.")
@click.option("--transforms", is_flag=True,
              help="Also show how far the 3DTT transforms moved (|rotation| in degrees, |shift| in pixels, "
                   "|log scale|) per arch and size; always in --format json.")
def report_command(results_dir: Path, **options: Any) -> None:
    """The paper's Table 2 and Figure 3 from the result records in RESULTS_DIR.

    Per training-set size and arch: mean test accuracy, standard error (ddof=1), runs n and parameters.
    Where a sweep trained several candidate configs (e.g. --lr 0.005,0.01,0.02), the one with the highest
    mean validation accuracy is selected per arch and size and only its test accuracy is reported (the
    "selected" column); test accuracies never take part in the choice. Per other arch a t-test against the
    baseline: paired over runs with the same index (they share their training videos) where at least 2 pair
    up, Welch's otherwise; the caption says which. Partial sweeps are reported with a warning; records of
    different datasets are refused.

    \b
    Examples:
      ttn report results/
      ttn report results/ --compare-paper --correct holm --plot fig3.png
      ttn report results/ --where lr=0.02            # only the lr 0.02 candidates
      ttn report results/ --format json --out results.json
    """
    print_report(results_dir, **options)


@click.command("compare")
@click.option("--row", "rows", multiple=True, required=True, metavar="NAME=FOLDER[?KEY=V&KEY=V]",
              help="One protocol variant: a name, a results folder, and optional --where filters after '?'. Repeatable.")
@click.option("--treatment", default="3dttn", show_default=True, metavar="ARCH[?KEY=V&KEY=V]",
              help="The arm whose gain is measured: an arch, optionally with filters of its own "
                   "(e.g. '3dttn?freeze_transforms=true').")
@click.option("--baseline", default="3d", show_default=True, metavar="ARCH[?KEY=V&KEY=V]",
              help="The arm it is measured against (e.g. 3d, or '3dttn?freeze_transforms=true').")
@click.option("--videos", "sizes", default=None, metavar="N,N,...", help="Only these training-set sizes.")
@click.option("--correct", "correction", type=click.Choice(CORRECTIONS), default="holm", show_default=True,
              help="Multiple-testing correction over every (row, size) of the table.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", show_default=True)
def compare_command(rows: tuple[str, ...], treatment: str, baseline: str, sizes: str | None, correction: str,
                    fmt: str) -> None:
    """Which protocol choice moves the gap: TREATMENT minus BASELINE mean test accuracy, per size and variant.

    Each row is a results folder (optionally filtered); in each, the candidate of each arm and size is
    selected on validation as by `ttn report` (among the arm's own candidates: an arm is an arch with
    optional filters, so '3dttn?freeze_transforms=false' can be compared with '3dttn?freeze_transforms=true'). The gap is the mean of the paired differences over the runs
    both selected candidates have (the same training videos), ± its standard error, with a paired t-test,
    Holm-corrected over the whole table.

    \b
    Examples (the tables of docs/results.md):
      ttn compare --row "shared lr 0.02=docs/experiments/selected-authors?lr=0.02" \\
                  --row "lr selected=docs/experiments/selected-authors?transform_lr_scale=1&freeze_transforms=false" \\
                  --row "authors recipe=docs/experiments/authors-recipe"
      ttn compare --row "learned vs frozen=docs/experiments/selected-authors?transform_lr_scale=1" \\
                  --treatment "3dttn?freeze_transforms=false" --baseline "3dttn?freeze_transforms=true"
    """
    from cli.common import parse_int_list
    from ttn.report.compare import compare_rows, gap_table, gaps_dict, parse_row

    wanted = parse_int_list(sizes, "--videos") if sizes else None
    gaps = compare_rows([parse_row(row) for row in rows], treatment=treatment, baseline=baseline, sizes=wanted,
                        correction=correction)
    for warning in dict.fromkeys(warning for gap in gaps for warning in gap.warnings):
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True, markup=True)
    if fmt == "json":
        click.echo(json.dumps(gaps_dict(gaps), indent=2))
        return
    labels = [arm.partition("?")[0] for arm in (treatment, baseline)]
    header, lines = gap_table(gaps, *(labels if labels[0] != labels[1] else [treatment, baseline]))
    if fmt == "markdown":
        click.echo(markdown_table(header, lines))
        return
    _print_unshrunk(out_console, simple_table(f"{treatment} - {baseline}: mean test accuracy gap", header, lines))


def simple_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    """A rich table of strings: the name columns left-aligned, the numbers right."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), title=title)
    for name in header:
        table.add_column(name, justify="left" if name in ("protocol", "arch", "selected", "layer") else "right")
    for row in rows:
        table.add_row(*row)
    return table
