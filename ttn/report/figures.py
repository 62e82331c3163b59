"""The report's figures: the paper's Figure 3 (accuracy vs training videos) and validation learning curves.

matplotlib is an optional extra (``[plot]``): it is imported when a figure is drawn.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from ttn.errors import TTNError
from ttn.paper import paper_table
from ttn.registry import ARCH_LABELS
from ttn.report.stats import summarize
from ttn.report.tables import Report
from vmnist.pictures.figures import DEFAULT_DPI, FIGURE_SUFFIXES, save_figure
PLOT_INSTALL_HINT = "pip install -e .[plot]  (or: pip install 'video-mnist-ttn[plot]')"


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


def _colors(archs: list[str]) -> dict[str, str]:
    return {arch: f"C{index}" for index, arch in enumerate(archs)}


#: How much of the paper's Table 2 Figure 3 draws beside ours: the sizes within the range of ours, or all.
PAPER_RANGES = ("ours", "all")


def plot_accuracy(report: Report, path: str | os.PathLike[str], *, show_paper: bool | None = None,
                  dpi: float = DEFAULT_DPI, paper_range: str = "ours") -> Path:
    """Write `accuracy_figure` to `path` (PNG, SVG or PDF by its suffix) at `dpi`."""
    path = check_figure_path(path)
    return save_figure(accuracy_figure(report, show_paper=show_paper, paper_range=paper_range), path, dpi)


def model_name(arch: str) -> str:
    """The paper's name of an arch ("3dttn" -> "LeNet-5-3DTTN"); an arch it does not name as it is."""
    return ARCH_LABELS.get(arch, arch)


def _runs_text(counts: Sequence[int]) -> str:
    """"n = 10", or "n = 10-30" when the sizes have different run counts."""
    low, high = min(counts), max(counts)
    return f"n = {low}" if low == high else f"n = {low}-{high}"


def accuracy_figure(report: Report, *, show_paper: bool | None = None, paper_range: str = "ours") -> Any:
    """Figure 3 of the paper, 7 x 4.5 in: test accuracy vs training videos (log x), one line per arch named as the
    paper names it, error bars of one standard error (the legend says so, and the runs n), values annotated, "*"
    (in the colour of the arch ahead) where the difference to the baseline is significant, and a legend entry for
    the "*" only then. With `show_paper` (default: report.compare_paper) the paper's curves dashed: the sizes
    within the range of ours, or all of Table 2 with `paper_range` "all".

    At each size the best arch's value is written above the highest error bar and the others' below the lowest;
    the "*" marks sit above the top value. A label or "*" that would touch an error bar, a line, a label before it
    or the axes' edge there moves beside its point, or further out (`_place_marks`)."""
    if paper_range not in PAPER_RANGES:
        raise TTNError(f"--paper-range {paper_range}: choose one of {', '.join(PAPER_RANGES)}")
    fig = _new_figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    colors = _colors(report.archs)
    sizes = {row.videos for row in report.rows}
    low, high = min(sizes), max(sizes)
    for arch in report.archs:
        points = [(row.videos, row.cells[arch].stats) for row in report.rows if arch in row.cells]
        ax.errorbar([videos for videos, _ in points], [s.mean for _, s in points],
                    yerr=[_sem(s.sem) for _, s in points], marker="o", markersize=4, capsize=3, color=colors[arch],
                    label=f"{model_name(arch)} (mean ± 1 SE, {_runs_text([s.n for _, s in points])})")
    if report.compare_paper if show_paper is None else show_paper:
        for arch in report.archs:
            rows = sorted((row for row in paper_table() if row.arch == arch
                           and (paper_range == "all" or low <= row.videos <= high)), key=lambda row: row.videos)
            if rows:
                sizes |= {row.videos for row in rows}
                # the paper's points with their ± 1 SE (Table 2), hollow, beside our filled ones
                ax.errorbar([row.videos for row in rows], [row.mean_accuracy for row in rows],
                            yerr=[row.standard_error for row in rows], linestyle="--", marker="s", markersize=4,
                            markerfacecolor="none", capsize=2, color=colors[arch], alpha=0.5,
                            label=f"{model_name(arch)} (paper, mean ± 1 SE)")
    marks: list[tuple[Any, tuple[float, float] | None]] = []  # (value label, its point) and ("*", None), by size
    for row in report.rows:
        cells = sorted(row.cells.values(), key=lambda cell: cell.stats.mean, reverse=True)
        top = max(cell.stats.mean + _sem(cell.stats.sem) for cell in cells)  # the highest error bar's end
        bottom = min(cell.stats.mean - _sem(cell.stats.sem) for cell in cells)
        for rank, cell in enumerate(cells):
            y, offset, align = (top, 3, "bottom") if rank == 0 else (bottom, -3 - 9 * (rank - 1), "top")
            label = ax.annotate(f"{cell.stats.mean:.3f}", (row.videos, y), textcoords="offset points",
                                xytext=(0, offset), ha="center", va=align, fontsize=7, color=colors[cell.arch])
            marks.append((label, (row.videos, cell.stats.mean)))
        significant = [sig for sig in row.significance.values() if sig.significant]
        for k, sig in enumerate(significant):
            ahead = sig.arch if row.cells[sig.arch].stats.mean > row.cells[sig.baseline].stats.mean else sig.baseline
            star = ax.annotate("*", (row.videos, top), textcoords="offset points", xytext=(0, 12 + 10 * k),
                               ha="center", va="bottom", fontsize=12, fontweight="bold", color=colors[ahead])
            marks.append((star, None))
    ax.set_xscale("log")
    sizes = sorted(sizes)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(size) for size in sizes], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("Training videos")
    ax.set_ylabel("Test accuracy")
    ax.set_title("Test accuracy vs. training videos")
    ax.margins(y=0.15)
    ax.grid(True, alpha=0.3)
    starred = any(sig.significant for row in report.rows for sig in row.significance.values())
    test = (f"* p < {report.alpha:g} vs {model_name(report.baseline)}" + (" (Holm)" if report.correction == "holm" else "")
            + ", in the colour of the model ahead" if starred else None)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: "(paper" in labels[i])  # ours first, then the paper's
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower right", fontsize=8, title=test,
              title_fontsize=7)
    _place_marks(fig, ax, marks)
    return fig


#: Where a value label or "*" may go, in the order tried: ("over", k) over (or under) the bars, k label heights
#: further out than it was put; ("right" | "left", 0) beside its point, at the point's own height (a "*": at its
#: height); ("right" | "left", 1) diagonally out from its point (below and to the right, for a label put under the
#: bars: clear of a line that runs on level to the next size). Over or under its point first, where a reader
#: looks for it, then beside it, then further out.
MARK_PLACES = (("over", 0), ("over", 1), ("right", 0), ("left", 0), ("right", 1), ("left", 1), ("over", 2))
MARK_STEP_POINTS = 10  # a label's height, with a little air
BESIDE_POINTS = 6  # beside a point: clear of its marker (2 points) and error bar caps (3 points)
#: What touching costs, to choose among places that all touch something: text (another mark, the legend), leaving
#: the axes or a label nearer another point than its own (it would read as that point's value: the paper's, say)
#: is worst, then a marker, an error bar or one of our (solid) lines, then a dashed line (the paper's).
TOUCH_COSTS = {"text": 3, "edge": 3, "nearer": 3, "bar": 2, "line": 2, "dashed line": 1}
#: A label reads as another point's when that point is nearer its centre than this fraction of its own distance
#: (a label a step under its point, as near a point beside as its own, still reads as its point's).
NEARER_BY = 0.75
#: How much of a text box's height, at top and at bottom, a line may cross: the box holds the font's ascent and
#: descent, which digits and "*" leave empty (a fifth of it each; a little less here, so that the choice holds at
#: any dpi, where the text's ink and the lines round to pixels differently).
TEXT_EMPTY_MARGIN = 0.15


def _place_marks(fig: Any, ax: Any, marks: Sequence[tuple[Any, tuple[float, float] | None]]) -> None:
    """Set each value label or "*" of `marks` ((annotation, its point (videos, accuracy) or None for a "*"), in
    order) at the first of `MARK_PLACES` where it touches no error bar, marker, line (ours or the paper's), mark
    placed before it or the legend, stays inside the axes and, a value label, lies nearer its point than any other;
    where every place touches something, at the place whose touches cost least (`TOUCH_COSTS`)."""
    fig.draw_without_rendering()  # the layout settled: label boxes and the data-to-pixel transform are final
    points = fig.dpi / 72  # pixels per point
    bars, lines, centres = _obstacles(ax, points)
    texts = [ax.get_legend().get_window_extent()] if ax.get_legend() is not None else []
    for mark, point in marks:
        start = (mark.xy, mark.xyann[1], mark.get_verticalalignment())
        best: tuple[int, tuple[str, int]] | None = None
        for place in MARK_PLACES:
            _set_place(mark, place, start, point)
            box = mark.get_window_extent()
            cost = _touch_cost(box, ax, bars, lines, texts, points) + TOUCH_COSTS["nearer"] * (
                point is not None and _nearer_another(box, ax.transData.transform(point), centres))
            if best is None or cost < best[0]:
                best = (cost, place)
            if cost == 0:
                break
        assert best is not None
        _set_place(mark, best[1], start, point)
        texts.append(mark.get_window_extent())


def _set_place(mark: Any, place: tuple[str, int], start: tuple[Any, float, str],
               point: tuple[float, float] | None) -> None:
    """Put annotation `mark` at `place` (one of `MARK_PLACES`); `start`: where it was put (xy, its offset in points
    above xy, vertical alignment), `point`: the point it labels (None: a "*", which keeps its height beside)."""
    where, steps = place
    xy, offset, align = start
    away = 1 if align == "bottom" else -1  # above the bars: further up; below them: further down
    if where == "over":
        mark.xy, mark.xyann = xy, (0, offset + away * steps * MARK_STEP_POINTS)
        mark.set_horizontalalignment("center")
        mark.set_verticalalignment(align)
        return
    side = 1 if where == "right" else -1
    if point is None:  # a "*" beside: at its height, or a step further out
        mark.xy, mark.xyann = xy, (side * BESIDE_POINTS, offset + away * steps * MARK_STEP_POINTS)
        mark.set_verticalalignment(align)
    else:  # beside the point at its height, or diagonally out: the box's corner by the point
        mark.xy, mark.xyann = point, (side * BESIDE_POINTS, away * steps * BESIDE_POINTS)
        mark.set_verticalalignment("center" if steps == 0 else align)
    mark.set_horizontalalignment("left" if side > 0 else "right")


def _nearer_another(box: Any, own: Any, centres: Any) -> bool:
    """Whether the centre of `box` (pixels) lies clearly nearer one of the points `centres` ((n, 2) pixels) than to
    `own` (pixels, the point the box labels; itself among `centres`): nearer by `NEARER_BY`."""
    import numpy as np

    centre = [box.x0 + box.width / 2, box.y0 + box.height / 2]
    own_distance = float(np.hypot(*(own - centre)))
    return bool((np.hypot(*(centres - centre).T) < NEARER_BY * own_distance).any())


def _touch_cost(box: Any, ax: Any, bars: Sequence[Any], lines: Sequence[Any], texts: Sequence[Any],
                points: float) -> int:
    """What a mark whose box (pixels) is `box` touches, priced by `TOUCH_COSTS`: 0 when it touches nothing."""
    from matplotlib.path import Path as LinePath

    inked = box.expanded(1.0, 1.0 - 2 * TEXT_EMPTY_MARGIN).padded(points, 0)  # and 1 point wider each side
    outside = not (ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1 and ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1)
    return (TOUCH_COSTS["text"] * sum(box.overlaps(text) for text in texts) + TOUCH_COSTS["edge"] * outside
            + TOUCH_COSTS["bar"] * sum(box.overlaps(bar) for bar in bars)
            + sum(cost for line, cost in lines if LinePath(line).intersects_bbox(inked, filled=False)))


def _obstacles(ax: Any, points: float) -> tuple[list[Any], list[Any], Any]:
    """What a mark must not touch on `ax` (its figure drawn), in pixels: boxes of each error bar with its caps and
    of each marker, each drawn line as ((n, 2) array of its vertices, what touching it costs: `TOUCH_COSTS`), and
    every plotted point, (m, 2). `points`: pixels per point."""
    import numpy as np
    from matplotlib.transforms import Bbox

    boxes, lines, centres = [], [], []
    for container in ax.containers:  # one ErrorbarContainer per errorbar call: (line, caps, bar collections)
        line, _, bar_collections = container.lines
        xy = ax.transData.transform(line.get_xydata())
        centres.append(xy)
        style = line.get_linestyle()
        if style not in ("None", "", " "):
            lines.append((xy, TOUCH_COSTS["line"] if style == "-" else TOUCH_COSTS["dashed line"]))
        half = line.get_markersize() * points / 2
        boxes += [Bbox.from_extents(x - half, y - half, x + half, y + half) for x, y in xy]
        cap = 4 * points  # the caps (capsize 2-3 points) with a margin
        for collection in bar_collections:
            for segment in collection.get_segments():  # one vertical bar per point: (2, 2) data coordinates
                (x0, y0), (x1, y1) = ax.transData.transform(np.asarray(segment))
                boxes.append(Bbox.from_extents(min(x0, x1) - cap, min(y0, y1), max(x0, x1) + cap, max(y0, y1)))
    return boxes, lines, np.concatenate(centres) if centres else np.empty((0, 2))


def _sem(sem: float) -> float:
    """A standard error as an error bar's half-length (none for a single run)."""
    return 0.0 if math.isnan(sem) else sem


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


def reported_records(report: Report) -> list[dict[str, Any]]:
    """The records behind the report's numbers: the runs of each cell's selected candidate."""
    return [record for row in report.rows for cell in row.cells.values() if cell.selection is not None
            for record in cell.selection.chosen.records.values()]


def plot_curves(report: Report, path: str | os.PathLike[str], *, dpi: float = DEFAULT_DPI) -> Path:
    """Write `curves_figure` to `path` (PNG, SVG or PDF by its suffix) at `dpi`."""
    path = check_figure_path(path)
    return save_figure(curves_figure(report), path, dpi)


def curves_figure(report: Report) -> Any:
    """Mean validation accuracy per epoch with a band of one standard error, one panel (2.4 x 2.2 in) per
    training-set size, at most three across, one line per arch (the runs of each cell's selected candidate); epochs are
    whole numbers on the axis."""
    from matplotlib.ticker import MaxNLocator

    curves = learning_curves(reported_records(report))
    if not curves:
        raise TTNError("the records have no training history (val_accuracy per epoch): nothing to draw")
    sizes = sorted({videos for _, videos in curves})
    nrows = math.ceil(len(sizes) / 3)
    ncols = math.ceil(len(sizes) / nrows)  # at most three across, rows filled evenly (4 sizes: 2 x 2)
    fig = _new_figure(figsize=(0.4 + 2.4 * ncols, 0.35 + 2.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    colors = _colors(report.archs)
    for index, videos in enumerate(sizes):
        ax = axes[index // ncols][index % ncols]
        for arch in report.archs:
            if (arch, videos) not in curves:
                continue
            epochs, means, sems, counts = curves[(arch, videos)]
            ax.plot(epochs, means, color=colors[arch], label=f"{model_name(arch)} (n={max(counts)})", linewidth=1.2)
            low = [m - s if not math.isnan(s) else m for m, s in zip(means, sems)]
            high = [m + s if not math.isnan(s) else m for m, s in zip(means, sems)]
            ax.fill_between(epochs, low, high, color=colors[arch], alpha=0.25, linewidth=0)
        ax.set_title(f"{videos} training videos", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # epochs are whole numbers
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        if index % ncols == 0:
            ax.set_ylabel("Validation accuracy", fontsize=9)
        if index + ncols >= len(sizes):  # the lowest panel of its column
            ax.set_xlabel("Epoch", fontsize=9)
    for index in range(len(sizes), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    # one panel is narrower than the title: it takes two lines there
    fig.suptitle("Mean validation accuracy per epoch" + ("\n" if ncols == 1 else " ") + "(band: ±1 SE over runs)",
                 fontsize=10)
    return fig
