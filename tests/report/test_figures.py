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
from ttn.report.tables import ReportOptions, make_report
from vmnist.pictures.figures import drawn_texts, pixel_size, text_problems

pytest.importorskip("matplotlib")
from matplotlib.text import Annotation  # noqa: E402
from PIL import Image  # noqa: E402 (with matplotlib, the [plot] extra)

QUICK = Path(__file__).parents[2] / "docs" / "experiments" / "quick"  # 96 runs: 3d and 3dttn, 10-100 videos


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


def assert_clear_of_bars(texts, bars) -> None:
    """No (text, pixel box) of `texts` overlaps an error bar box (x0, y0, x1, y1) of `bars`."""
    for text, box in texts:
        for x0, y0, x1, y1 in bars:
            assert min(box.x1, x1) - max(box.x0, x0) <= 0 or min(box.y1, y1) - max(box.y0, y0) <= 0, text.get_text()


@pytest.mark.parametrize("compare_paper", [False, True])
def test_figure3_text_is_legible_apart_and_clear_of_the_error_bars(quick, compare_paper) -> None:
    fig = accuracy_figure(quick, show_paper=compare_paper)
    assert text_problems(fig, dpi=150) == []
    values = [(text, box) for text, box in drawn_texts(fig, 150) if isinstance(text, Annotation) and text.get_text() != "*"]
    assert len(values) == sum(len(row.cells) for row in quick.rows)  # one value label per plotted point
    bars = error_bar_boxes(fig)
    assert len(bars) >= len(values)
    assert_clear_of_bars(values, bars)


def test_figure3_keeps_our_labels_and_stars_clear_of_the_papers_error_bars() -> None:
    """The authors-recipe records (section 1 of docs/results.md) land beside Table 2's points at 10, 20 and 50
    videos: a label or "*" that would touch the paper's error bar moves beside the bars, on the canvas."""
    report = make_report(QUICK.parent / "authors-recipe", ReportOptions(filters=("freeze_transforms=false",),
                                                                        compare_paper=True))
    fig = accuracy_figure(report, paper_range="all")
    assert text_problems(fig, dpi=150) == []
    marks = [(text, box) for text, box in drawn_texts(fig, 150) if isinstance(text, Annotation)]
    assert len(marks) >= sum(len(row.cells) for row in report.rows)
    moved = [text for text, _ in marks if text.get_horizontalalignment() != "center"]
    assert moved  # this data needs it: at 50 videos our 3DTTN's label sat on the paper's 3D error bar
    assert_clear_of_bars(marks, error_bar_boxes(fig))


def assert_clear_of_lines(texts, fig, samples: int = 400) -> None:
    """None of our lines (solid) on Figure 3 runs through the ink of a (text, pixel box) of `texts`: the box without
    its top and bottom fifth (the font's ascent and descent, empty for digits and "*"). Checked by points along
    each segment, `samples` per segment. (The paper's dashed lines are the one thing a label may touch where every
    place touches something: at 500 videos ours and the paper's crowd together.)"""
    import numpy as np

    ax = fig.axes[0]
    for container in ax.containers:
        line = container.lines[0]
        if line.get_linestyle() != "-":
            continue
        xy = ax.transData.transform(line.get_xydata())
        for start, end in zip(xy[:-1], xy[1:]):
            along = start + np.linspace(0, 1, samples)[:, None] * (end - start)
            for text, box in texts:
                inked_y0, inked_y1 = box.y0 + 0.2 * box.height, box.y1 - 0.2 * box.height
                inside = ((along[:, 0] > box.x0) & (along[:, 0] < box.x1) & (along[:, 1] > inked_y0)
                          & (along[:, 1] < inked_y1))
                assert not inside.any(), f"a line runs through {text.get_text()!r}"


def test_figure3_keeps_labels_of_neighbouring_sizes_apart_and_off_the_lines() -> None:
    """Table 2's models at 10-100 videos drawn over the paper's 10-5000: on that log axis 40 and 50 videos lie a
    label's width apart; the 3DTTN's value at 50 sat on its value at 40, which sat on its own line (the line from
    30 rises steeply into it). Each mark moves a step out or beside its point until it touches none of them."""
    report = make_report(QUICK.parent / "paper-protocol", ReportOptions(compare_paper=True))
    fig = accuracy_figure(report, paper_range="all")
    assert text_problems(fig, dpi=150) == []
    marks = [(text, box) for text, box in drawn_texts(fig, 150) if isinstance(text, Annotation)]
    assert [text for text, _ in marks if text.xyann != (0, 3) and text.xyann != (0, -3)]  # this data needs it
    assert_clear_of_bars(marks, error_bar_boxes(fig))
    assert_clear_of_lines(marks, fig)


def test_curves_of_one_size_keep_their_title_on_the_canvas(tmp_path) -> None:
    """One size, one narrow panel (a raced folder whose first size is done): the title fits in two lines."""
    for path in sorted(QUICK.glob("*-v10-*.json")):
        write_record(tmp_path, json.loads(path.read_text()))
    fig = curves_figure(make_report(tmp_path))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    assert text_problems(fig, dpi=150) == []


def test_curves_have_whole_epoch_ticks(short_runs) -> None:
    fig = curves_figure(short_runs)
    assert text_problems(fig, dpi=150) == []
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 4 and fig.get_size_inches()[0] <= 7.5  # 10, 20, 50, 100 videos: 2 x 2, a page wide
    for ax in panels:
        low, high = ax.get_xlim()
        ticks = [tick for tick in ax.get_xticks() if low <= tick <= high]
        assert len(ticks) >= 2 and all(float(tick).is_integer() for tick in ticks), ticks
    entries = [text.get_text() for ax in panels if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert entries and all(entry.startswith(("LeNet-5-3D (n=", "LeNet-5-3DTTN (n=")) for entry in entries), entries


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


def legend_texts(fig) -> tuple[str | None, list[str]]:
    """The legend's title (None when it has none) and its entries."""
    legend = fig.axes[0].get_legend()
    title = legend.get_title().get_text()
    return title or None, [text.get_text() for text in legend.get_texts()]


def test_figure3_says_what_it_shows_in_the_papers_words(quick) -> None:
    fig = accuracy_figure(quick)
    assert fig.axes[0].get_title() == "Test accuracy vs. training videos"  # y vs. x
    title, entries = legend_texts(fig)
    n = {arch: {cell.stats.n for row in quick.rows for a, cell in row.cells.items() if a == arch} for arch in quick.archs}
    assert n == {"3d": {3}, "3dttn": {3}}
    assert entries == ["LeNet-5-3D (mean ± 1 SE, n = 3)", "LeNet-5-3DTTN (mean ± 1 SE, n = 3)"]
    assert not any(sig.significant for row in quick.rows for sig in row.significance.values())
    assert title is None  # nothing starred: no "* p < 0.05" entry
    assert "*" not in [text.get_text() for text, _ in drawn_texts(fig, 150)]


def test_figure3_explains_the_star_when_something_is_starred() -> None:
    loose = make_report(QUICK, ReportOptions(alpha=0.5))  # p 0.206, 0.238 and 0.0590 are below 0.5
    fig = accuracy_figure(loose)
    stars = [text for text, _ in drawn_texts(fig, 150) if text.get_text() == "*"]
    assert len(stars) == sum(sig.significant for row in loose.rows for sig in row.significance.values()) == 3
    assert legend_texts(fig)[0] == "* p < 0.5 vs LeNet-5-3D, in the colour of the model ahead"
    # the 3DTTN is behind at all three starred sizes: each star has the 3D model's colour, not its own
    from matplotlib.colors import to_hex

    threed, threedttn = (container.lines[0].get_color() for container in fig.axes[0].containers)  # errorbar lines
    assert {to_hex(star.get_color()) for star in stars} == {to_hex(threed)} != {to_hex(threedttn)}


@pytest.mark.parametrize("paper_range, last", [("ours", 100), ("all", 5000)])
def test_figure3_draws_the_paper_within_our_sizes_unless_asked(quick, paper_range, last) -> None:
    fig = accuracy_figure(quick, show_paper=True, paper_range=paper_range)
    ax = fig.axes[0]
    paper = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(paper) == 2 and all(max(line.get_xdata()) == last and min(line.get_xdata()) == 10 for line in paper)
    assert ax.get_xlim()[1] < 2 * last  # our points spread over the axis, not squeezed into its left third
    _, entries = legend_texts(fig)
    assert entries[-2:] == ["LeNet-5-3D (paper, mean ± 1 SE)", "LeNet-5-3DTTN (paper, mean ± 1 SE)"]
    # each paper point carries Table 2's standard error: its error bar spans mean - SE to mean + SE
    from ttn.paper import paper_table

    for container, arch in zip(ax.containers[2:], ("3d", "3dttn")):
        rows = sorted((row for row in paper_table() if row.arch == arch and row.videos <= last), key=lambda r: r.videos)
        segments = container.lines[2][0].get_segments()
        drawn = [value for (x0, y0), (_, y1) in segments for value in (x0, y0, y1)]
        assert drawn == pytest.approx([value for row in rows for value in (
            row.videos, row.mean_accuracy - row.standard_error, row.mean_accuracy + row.standard_error)])
    assert text_problems(fig, dpi=150) == []


def test_report_command_takes_paper_range(tmp_path) -> None:
    fig3 = tmp_path / "fig3.png"
    result = CliRunner().invoke(main, ["report", str(QUICK), "--compare-paper", "--plot", str(fig3), "--paper-range",
                                       "all"])
    assert result.exit_code == 0, result.output
    assert fig3.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(main, ["report", str(QUICK), "--plot", str(tmp_path / "x.png"), "--paper-range", "some"])
    assert bad.exit_code == 2 and "--paper-range" in bad.output and "Traceback" not in bad.output
