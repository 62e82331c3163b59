"""The report as one self-contained HTML page: the table, its caption and marks, the warnings, Figure 3, the
validation curves, the transform table, and the command and data that made it. Figures are embedded as PNG data
URIs and the style is inline, so the page reads offline, mailed or archived as one file.
"""
from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path
from typing import Callable

from ttn.errors import TTNError
from ttn.report.figures import plot_accuracy, plot_curves
from ttn.report.formats import human_table
from ttn.report.tables import Report
from ttn.report.transforms import transform_table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.6em; text-align: right; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { border-bottom: 2px solid #444; }
td.name, th.name { text-align: left; }
.significant { font-weight: bold; }
.caption { font-size: 0.9em; color: #444; max-width: 60em; }
.warnings li { color: #8a5300; }
img { max-width: 100%; height: auto; display: block; margin: 1em 0; }
pre { background: #f4f4f4; padding: 0.6em; overflow-x: auto; }
"""
#: Once loaded, the page notes on <body data-images="shown/total"> how many of its images rendered (a broken
#: image has no natural width): a browser test, or a reader's devtools, sees at once whether a figure is missing.
SELF_CHECK = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var shown = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", shown + "/" + images.length);
});
</script>"""


def table_html(header: list[str], rows: list[list[str]], names: tuple[str, ...] = ()) -> str:
    """An HTML table of strings (cells ending in "*" bold; columns named in `names` left-aligned)."""
    def cls(name: str) -> str:
        return ' class="name"' if name in names else ""

    head = "".join(f"<th{cls(name)}>{html.escape(name)}</th>" for name in header)
    body = []
    for row in rows:
        cells = []
        for name, value in zip(header, row):
            bold = ' class="significant"' if value.endswith("*") else cls(name)
            cells.append(f"<td{bold}>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def figure_html(draw: Callable[[Report, Path], Path], report: Report, alt: str) -> str:
    """A figure drawn by `draw(report, path)` embedded as a PNG data URI, or a note why it is missing."""
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = draw(report, Path(folder) / "figure.png")
            data = base64.b64encode(path.read_bytes()).decode("ascii")
    except TTNError as exc:
        return f"<p class=\"caption\">({html.escape(alt)} not drawn: {html.escape(str(exc))})</p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def to_html(report: Report, *, command: str = "") -> str:
    """The whole page as a string."""
    title = "Test accuracy on Video-MNIST" + (f" ({report.folder})" if report.folder else "")
    parts = [f"<h1>{html.escape(title)}</h1>", table_html(*human_table(report), names=("videos", "3d selected",
                                                                                     "3dttn selected")),
             f'<p class="caption">{html.escape(report.caption())}</p>']
    if report.warnings:
        items = "".join(f"<li>{html.escape(warning)}</li>" for warning in report.warnings)
        parts.append(f'<h2>Warnings</h2><ul class="warnings">{items}</ul>')
    parts += ["<h2>Figure 3: accuracy vs training videos</h2>",
              figure_html(plot_accuracy, report, "test accuracy vs training videos"),
              "<h2>Validation accuracy per epoch</h2>",
              figure_html(plot_curves, report, "validation curves of the selected candidates")]
    header, rows = transform_table(report)
    if rows:
        parts += ["<h2>How far the 3DTT transforms moved</h2>", table_html(header, rows, names=("arch", "layer"))]
    made = [f"records: {len(report.records)}"]
    if report.fingerprint:
        made.append("data: " + ", ".join(f"{key}={value}" for key, value in report.fingerprint))
    if command:
        made.insert(0, command)
    parts.append("<h2>Made by</h2><pre>" + html.escape("\n".join(made)) + "</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n" + SELF_CHECK + "\n</body></html>\n")
