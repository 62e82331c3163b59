"""The report's figures as a reviewer sees them, on the committed records of `ttn reproduce --preset quick`: text
legible and apart, value labels clear of the error bars, whole epochs, pixel size = inches x dpi, every format."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.records import write_record
from ttn.report.figures import accuracy_figure, curves_figure, plot_accuracy, plot_curves
from ttn.report.tables import make_report
from vmnist.figures import drawn_texts, pixel_size, text_problems

pytest.importorskip("matplotlib")
from matplotlib.text import Annotation  # noqa: E402
from PIL import Image  # noqa: E402 (with matplotlib, the [plot] extra)

QUICK = Path(__file__).parents[2] / "docs" / "experiments" / "quick"  # 72 runs: 3d and 3dttn, 10-100 videos


@pytest.fixture(scope="module")
def quick():
    return make_report(QUICK)


@pytest.fixture(scope="module")
def short_runs(tmp_path_factory):
    """The quick records cut to their first 5 epochs (validated at epochs 2 and 4), as a short run leaves them."""
    folder = tmp_path_factory.mktemp("short")
    for path in sorted(QUICK.glob("*.json")):
        record = json.loads(path.read_text())
        record["history"] = record["history"][:5]
        write_record(folder, record)
    return make_report(folder)


def error_bar_boxes(fig) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) in pixels of every error bar and its caps (the figure drawn)."""
    ax = fig.axes[0]
    boxes = []
    for container in ax.containers:
        _, caps, bars = container.lines
        for segment in bars[0].get_segments():  # one vertical line per point: (2, 2) data coordinates
            (x0, y0), (x1, y1) = ax.transData.transform(segment)
            boxes.append((min(x0, x1) - 1, min(y0, y1), max(x0, x1) + 1, max(y0, y1)))
        for cap in caps:  # one Line2D of '_' markers (horizontal strokes) per side: one at each bar's end
            width = cap.get_markersize() * fig.dpi / 72 / 2 + 1
            thick = cap.get_markeredgewidth() * fig.dpi / 72 / 2 + 1
            for x, y in ax.transData.transform(cap.get_xydata()):
                boxes.append((x - width, y - thick, x + width, y + thick))
    return boxes


@pytest.mark.parametrize("compare_paper", [False, True])
def test_figure3_text_is_legible_apart_and_clear_of_the_error_bars(quick, compare_paper) -> None:
    fig = accuracy_figure(quick, show_paper=compare_paper)
    assert text_problems(fig, dpi=150) == []
    values = [(text, box) for text, box in drawn_texts(fig, 150) if isinstance(text, Annotation) and text.get_text() != "*"]
    assert len(values) == sum(len(row.cells) for row in quick.rows)  # one value label per plotted point
    bars = error_bar_boxes(fig)
    assert len(bars) >= len(values)
    for text, box in values:
        for x0, y0, x1, y1 in bars:
            assert min(box.x1, x1) - max(box.x0, x0) <= 0 or min(box.y1, y1) - max(box.y0, y0) <= 0, text.get_text()


def test_curves_have_whole_epoch_ticks(short_runs) -> None:
    fig = curves_figure(short_runs)
    assert text_problems(fig, dpi=150) == []
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 4 and fig.get_size_inches()[0] <= 7.5  # 10, 20, 50, 100 videos: 2 x 2, a page wide
    for ax in panels:
        low, high = ax.get_xlim()
        ticks = [tick for tick in ax.get_xticks() if low <= tick <= high]
        assert len(ticks) >= 2 and all(float(tick).is_integer() for tick in ticks), ticks


@pytest.mark.parametrize("draw,build,dpi", [(plot_accuracy, accuracy_figure, 200), (plot_curves, curves_figure, 72)])
def test_figures_are_written_at_their_size_times_dpi(quick, tmp_path, draw, build, dpi) -> None:
    png = draw(quick, tmp_path / "figure.png", dpi=dpi)
    assert Image.open(png).size == pixel_size(build(quick), dpi)
    assert draw(quick, tmp_path / "figure.svg").read_text().lstrip().startswith("<?xml")
    assert draw(quick, tmp_path / "figure.pdf").read_bytes()[:4] == b"%PDF"


def test_report_command_takes_dpi(tmp_path) -> None:
    fig3, curves = tmp_path / "fig3.png", tmp_path / "curves.png"
    result = CliRunner().invoke(main, ["report", str(QUICK), "--plot", str(fig3), "--curves", str(curves),
                                       "--dpi", "80"])
    assert result.exit_code == 0, result.output
    assert Image.open(fig3).size == (7 * 80, round(4.5 * 80))
    assert Image.open(curves).size == pixel_size(curves_figure(make_report(QUICK)), 80)
    bad = CliRunner().invoke(main, ["report", str(QUICK), "--plot", str(tmp_path / "x.png"), "--dpi", "0"])
    assert bad.exit_code == 2 and "--dpi" in bad.output and "Traceback" not in bad.output
