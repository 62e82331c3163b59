"""Writing matplotlib figures, and the check that their text is legible: shared by every picture of vmnist and ttn.

Figures are laid out in inches with fonts in points (``layout="constrained"``, never ``bbox_inches="tight"``), so a
figure's pixel size is exactly its size in inches times `dpi`, and `--dpi` changes the resolution, not the layout.
`text_problems` is the self-check the tests run on every figure: no two texts overlap, none leaves the canvas,
none is smaller than :data:`MIN_FONT_POINTS`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vmnist.infra.atomic import atomic_path

#: File types a figure is written as, chosen by the suffix of its path.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
#: Dots per inch of a PNG unless the user asks for another (SVG and PDF are vector: dpi only sets their raster parts).
DEFAULT_DPI = 150
#: The smallest font a figure may use: journals ask for 6-8 pt at print size, and figures here are drawn at it.
MIN_FONT_POINTS = 7.0


def save_figure(fig: Any, path: str | os.PathLike, dpi: float = DEFAULT_DPI) -> Path:
    """Write matplotlib Figure `fig` atomically to `path` (PNG, SVG or PDF by its suffix) at `dpi`; returns `path`.

    The caller checks the suffix (its own error type names the option). The figure keeps its size in inches.
    """
    path = Path(path)
    settle(fig, dpi)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=dpi)
    return path


def pixel_size(fig: Any, dpi: float) -> tuple[int, int]:
    """(width, height) in pixels of `fig` written as PNG at `dpi`: its size in inches times dpi, cut to whole pixels
    as matplotlib's Agg canvas does."""
    width, height = fig.get_size_inches() * dpi
    return int(width), int(height)


def settle(fig: Any, dpi: float) -> None:
    """Set `fig`'s dpi and lay it out once: constrained layout settles over two draws (an axes of fixed aspect,
    an image's, moves after the first), so a figure is drawn once before it is saved or measured."""
    fig.set_dpi(dpi)
    fig.draw_without_rendering()


def drawn_texts(fig: Any, dpi: float | None = None) -> list[tuple[Any, Any]]:
    """Every text the figure draws (tick labels of ticks in view only), with its box in pixels at `dpi`.

    Returns [(matplotlib Text, Bbox)] in drawing order, each text once. Draws the figure twice on an Agg canvas, as
    `save_figure` does: once to settle its layout and create its ticks, once to record which texts draw themselves.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    settle(fig, fig.dpi if dpi is None else dpi)  # as save_figure does: the second draw below is the saved one
    drawn: dict[int, Any] = {}

    def recording(text: Any) -> Any:
        draw = text.draw

        def draw_and_record(renderer: Any) -> None:
            if text.get_visible() and text.get_text().strip():
                drawn.setdefault(id(text), text)
            draw(renderer)

        return draw_and_record

    texts = fig.findobj(Text)
    for text in texts:
        text.draw = recording(text)
    try:
        canvas.draw()
    finally:
        for text in texts:
            del text.draw  # the class's method again
    renderer = canvas.get_renderer()
    return [(text, text.get_window_extent(renderer)) for text in drawn.values()]


def text_problems(fig: Any, dpi: float | None = None, min_points: float = MIN_FONT_POINTS,
                  tolerance: float = 0.5) -> list[str]:
    """What a reviewer would circle in the figure's text: overlapping texts, text cut off at the canvas edge,
    fonts below `min_points`; [] when there is none. Boxes are compared in pixels at `dpi` (default: the figure's),
    `tolerance` pixels of contact allowed."""
    texts = drawn_texts(fig, dpi)
    width, height = fig.bbox.width, fig.bbox.height
    problems = []
    for text, box in texts:
        name = repr(text.get_text())
        if text.get_fontsize() < min_points:
            problems.append(f"{name} is {text.get_fontsize():g} pt, below {min_points:g} pt")
        if box.x0 < -tolerance or box.y0 < -tolerance or box.x1 > width + tolerance or box.y1 > height + tolerance:
            problems.append(f"{name} leaves the {width:.0f} x {height:.0f} canvas: {box.bounds}")
    for i, (first, a) in enumerate(texts):
        for second, b in texts[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            if overlap_x > tolerance and overlap_y > tolerance:
                problems.append(f"{first.get_text()!r} overlaps {second.get_text()!r}")
    return problems
