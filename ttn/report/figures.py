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

    At each size the best arch's value is written above the highest error bar and the others' below the lowest,
    so no value label touches an error bar; the "*" marks sit above the top value. A label or "*" that would touch
    the paper's error bar there moves beside the bars (`_clear_of_paper_bars`), and one that would overlap a label
    of the size before it (40 and 50 videos on a 10-5000 axis) beside its point (`_apart_from_the_size_before`)."""
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
    paper_bars: dict[int, list[tuple[float, float]]] = {}  # videos -> the paper's error bars drawn there (low, high)
    if report.compare_paper if show_paper is None else show_paper:
        for arch in report.archs:
            rows = sorted((row for row in paper_table() if row.arch == arch
                           and (paper_range == "all" or low <= row.videos <= high)), key=lambda row: row.videos)
            if rows:
                sizes |= {row.videos for row in rows}
                for row in rows:
                    paper_bars.setdefault(row.videos, []).append(
                        (row.mean_accuracy - row.standard_error, row.mean_accuracy + row.standard_error))
                # the paper's points with their ± 1 SE (Table 2), hollow, beside our filled ones
                ax.errorbar([row.videos for row in rows], [row.mean_accuracy for row in rows],
                            yerr=[row.standard_error for row in rows], linestyle="--", marker="s", markersize=4,
                            markerfacecolor="none", capsize=2, color=colors[arch], alpha=0.5,
                            label=f"{model_name(arch)} (paper, mean ± 1 SE)")
    values: list[tuple[int, Any]] = []  # (videos, a value label or "*")
    for row in report.rows:
        cells = sorted(row.cells.values(), key=lambda cell: cell.stats.mean, reverse=True)
        top = max(cell.stats.mean + _sem(cell.stats.sem) for cell in cells)  # the highest error bar's end
        bottom = min(cell.stats.mean - _sem(cell.stats.sem) for cell in cells)
        for rank, cell in enumerate(cells):
            y, offset, align = (top, 3, "bottom") if rank == 0 else (bottom, -3 - 9 * (rank - 1), "top")
            values.append((row.videos, ax.annotate(f"{cell.stats.mean:.3f}", (row.videos, y), textcoords="offset points",
                                                   xytext=(0, offset), ha="center", va=align, fontsize=7,
                                                   color=colors[cell.arch])))
        marks = [sig for sig in row.significance.values() if sig.significant]
        for k, sig in enumerate(marks):
            ahead = sig.arch if row.cells[sig.arch].stats.mean > row.cells[sig.baseline].stats.mean else sig.baseline
            values.append((row.videos, ax.annotate("*", (row.videos, top), textcoords="offset points",
                                                   xytext=(0, 12 + 10 * k), ha="center", va="bottom", fontsize=12,
                                                   fontweight="bold", color=colors[ahead])))
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
    if paper_bars:
        _clear_of_paper_bars(fig, ax, values, paper_bars)
    _apart_from_the_size_before(fig, values)
    return fig


def _clear_of_paper_bars(fig: Any, ax: Any, values: Sequence[tuple[int, Any]],
                         paper_bars: dict[int, list[tuple[float, float]]]) -> None:
    """Move a value label or "*" that would touch the paper's error bar at its size (low, high in accuracy) beside
    the bars (to the right; to the left at the last size), level with where it was: above or below ours, it stays
    by our point, not the paper's."""
    last = max(videos for videos, _ in values)
    fig.draw_without_rendering()  # the layout settled: label boxes and the data-to-pixel transform are final
    half_width = 4 * fig.dpi / 72  # the bar and its caps (capsize 2-3 points) with a margin, in pixels
    for videos, label in values:
        box = label.get_window_extent()
        for low, high in paper_bars.get(videos, []):
            (x, y0), (_, y1) = ax.transData.transform([(videos, low), (videos, high)])
            if min(box.x1, x + half_width) > max(box.x0, x - half_width) and min(box.y1, y1) > max(box.y0, y0):
                _move_beside(label, right=videos < last)  # at the last size the right is the figure's edge
                break


def _apart_from_the_size_before(fig: Any, values: Sequence[tuple[int, Any]]) -> None:
    """Move a value label or "*" that would overlap one of the size before it (40 and 50 videos lie close on a
    log axis of 10-5000) beside its point, to the right, level with where it was."""
    fig.draw_without_rendering()
    sizes = sorted({videos for videos, _ in values})
    before = dict(zip(sizes[1:], sizes))
    for videos, label in values:
        box = label.get_window_extent()
        if any(other.get_window_extent().overlaps(box) for size, other in values if size == before.get(videos)):
            _move_beside(label, right=True)


def _move_beside(label: Any, *, right: bool) -> None:
    """Set value label or "*" `label` beside its point (6 points to the right, or to the left), at its height."""
    label.set_horizontalalignment("left" if right else "right")
    label.xyann = (6 if right else -6, label.xyann[1])


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
