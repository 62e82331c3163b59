"""`render(report, fmt)`: the report in one of the text formats of `ttn report --format`, from the module that
writes it (`ttn.report.formats`, `ttn.report.tidy`, `ttn.report.html`). Imports go one way: this module reads the
three, and the HTML page reads `ttn.report.formats`' table, never the other way round."""
from __future__ import annotations

from typing import Sequence

from ttn.errors import TTNError
from ttn.report import html, tidy
from ttn.report.formats import COLUMN_FORMATS, ColumnError, to_csv, to_json, to_latex, to_markdown
from ttn.report.tables import Report

#: Output formats of `render` (the rich "table" format is drawn by the CLI from `ttn.report.formats.human_table`):
#: "records" and "records-csv" are the tidy long table of `ttn.report.tidy`.
TEXT_FORMATS = ("markdown", "csv", "latex", "json", "records", "records-csv", "html")


def render(report: Report, fmt: str, *, runs: bool = False, command: str = "",
           columns: Sequence[str] | None = None) -> str:
    """The report as text in `fmt`, one of TEXT_FORMATS; `runs`: the tidy formats per run; `command`: what the
    HTML page says made it; `columns`: the columns of markdown, latex and csv, by name, in order (None: all)."""
    if columns is not None and fmt not in COLUMN_FORMATS:
        raise ColumnError(f"--columns applies to --format {', '.join(COLUMN_FORMATS)}, not {fmt}")
    renderers = {"markdown": lambda r: to_markdown(r, columns), "csv": lambda r: to_csv(r, columns),
                 "latex": lambda r: to_latex(r, columns), "json": to_json,
                 "records": lambda r: tidy.to_json_lines(r, runs=runs),
                 "records-csv": lambda r: tidy.to_tidy_csv(r, runs=runs),
                 "html": lambda r: html.to_html(r, command=command)}
    if fmt not in renderers:
        raise TTNError(f"--format {fmt}: choose one of {', '.join(TEXT_FORMATS)} (or table)")
    return renderers[fmt](report)
