"""Pictures of a Video-MNIST file: one example per class, frames across (the paper's Figure 2), or a GIF.

``save_figure2(a, out, compare=b)`` draws two files side by side, row by row the same class (the same digits
when both files come from the same MNIST split), e.g. the `authors` and `smooth` trajectory families.
Needs the optional `[plot]` extra (matplotlib, Pillow); without it a UserError says how to install it.
"""
from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from vmnist.file.reader import load_labels, load_split, read_attributes, trajectories_of
from vmnist.infra.atomic import atomic_path
from vmnist.infra.errors import UserError
from vmnist.pictures.figures import DEFAULT_DPI, FIGURE_SUFFIXES, save_figure, settle
from vmnist.rendering.trajectories import TRAJECTORY_TABLE

INSTALL_PLOT = "pictures need matplotlib and Pillow: pip install -e '.[plot]' (or pip install matplotlib pillow)"
#: Picture files save_gif writes (save_figure2 writes vmnist.pictures.figures.FIGURE_SUFFIXES).
GIF_SUFFIXES = (".gif",)
#: Grey level of the lines between frames, so that ink leaving a frame shows where the frame ends.
GAP_GREY = 96
#: Width of one frame in the figure (0.3 in: 45 pixels at the default 150 dpi); characters per line of the row
#: labels (every class's label fits in two lines of 8 pt beside its row).
FRAME_INCHES = 0.3
LABEL_CHARACTERS = 34
#: The GIF: screen pixels per video pixel, label font size in pixels, grey border around each video, white gap.
GIF_ZOOM = 4
GIF_FONT_PX = 13
GIF_BORDER = 2
GIF_GAP = 8


def check_suffix(out: str | os.PathLike, suffixes: tuple[str, ...]) -> Path:
    """`out` as a Path if it ends in one of `suffixes` (any case), else UserError naming them."""
    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise UserError(f"{out}: the picture file must end in {', '.join(suffixes)}")
    return out


def first_of_each_class(path: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The first video of every class present: uint8 (C, T, H, W) and their labels (C,)."""
    labels = load_labels(path, split)
    classes = np.unique(labels)
    picks = np.array([np.flatnonzero(labels == c)[0] for c in classes])
    videos, _ = load_split(path, split, picks)
    return videos.numpy(), classes


def frame_mosaic(videos: np.ndarray, gap: int = 1) -> np.ndarray:
    """Rows of frames: uint8 (C, F, H, W) -> uint8 (C (H + gap) + gap, F (W + gap) + gap), grey lines between."""
    count, frames, height, width = videos.shape
    canvas = np.full((count * (height + gap) + gap, frames * (width + gap) + gap), GAP_GREY, dtype=np.uint8)
    for r in range(count):
        for c in range(frames):
            top, left = gap + r * (height + gap), gap + c * (width + gap)
            canvas[top : top + height, left : left + width] = videos[r, c]
    return canvas


def _frame_centre(k: int, size: int) -> float:
    """Centre, in mosaic pixels, of the k-th frame of `size` pixels along a frame_mosaic axis (1-pixel lines)."""
    return 1 + k * (size + 1) + (size - 1) / 2


def _family(path: str | os.PathLike) -> str:
    return trajectories_of(read_attributes(path)["config"])


def class_label(digit: int, width: int = LABEL_CHARACTERS) -> str:
    """"digit: motion" of Table 1, wrapped to lines of at most `width` characters."""
    return "\n".join(textwrap.wrap(f"{digit}: {TRAJECTORY_TABLE[int(digit)][0]}", width))


def figure2(path: str | os.PathLike, split: str = "test", every: int = 2,
            compare: str | os.PathLike | None = None) -> Any:
    """A matplotlib Figure of one row per class and every `every`-th frame across, like the paper's Figure 2;
    `compare`: a second file drawn beside, class by class. Each frame is FRAME_INCHES wide (8 pt labels)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 (what draws it: installed?)
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(INSTALL_PLOT) from None
    if every < 1:
        raise UserError(f"--every must be at least 1, got {every}")
    panels = [(path, *first_of_each_class(path, split))]
    if compare is not None:
        panels.append((compare, *first_of_each_class(compare, split)))
        if not np.array_equal(panels[0][2], panels[1][2]):
            raise UserError(f"{path} and {compare} hold different classes in {split!r}; compare files of the same splits")
    classes = panels[0][2]
    shown = np.arange(panels[0][1].shape[1])[::every]  # frame indices drawn
    mosaics = [frame_mosaic(videos[:, ::every]) for _, videos, _ in panels]
    height, width = mosaics[0].shape
    count, _, frame_height, frame_width = panels[0][1].shape
    inches = FRAME_INCHES / (frame_width + 1)  # per mosaic pixel (a frame and its grey line)
    labels = [class_label(c) for c in classes]
    label_inches = 0.2 + max(len(line) for label in labels for line in label.splitlines()) * 8 * 0.6 / 72
    fig = Figure(figsize=(label_inches + len(panels) * (width * inches + 0.15), 0.95 + height * inches),
                 layout="constrained")
    fig.get_layout_engine().set(w_pad=0.03, h_pad=0.03, wspace=0.02)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (source, _, _), mosaic in zip(axes, panels, mosaics):
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([_frame_centre(k, frame_width) for k in range(len(shown))], [str(t) for t in shown], fontsize=7)
        ax.set_xlabel("frame", fontsize=8, labelpad=2)
        ax.set_yticks([])
        ax.tick_params(length=0, pad=2)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(f"{Path(source).name}: {_family(source)} trajectories", fontsize=9)
    axes[0].set_yticks([_frame_centre(r, frame_height) for r in range(count)], labels, fontsize=8)
    fig.suptitle(f"Video-MNIST: the first {split} video of each class", fontsize=10)
    return fig


def save_figure2(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", every: int = 2,
                 compare: str | os.PathLike | None = None, dpi: float = DEFAULT_DPI) -> Path:
    """Write `figure2` to `out` (.png, .svg or .pdf) at `dpi`; a PNG is saved grey (one channel)."""
    out = check_suffix(out, FIGURE_SUFFIXES)
    fig = figure2(path, split, every, compare)
    if out.suffix.lower() != ".png":
        return save_figure(fig, out, dpi)
    from PIL import Image

    settle(fig, dpi)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
        # the picture is grey: one channel instead of RGBA makes the file ~3x smaller
        Image.open(tmp).convert("L").save(tmp, format="PNG", optimize=True)
    return out


def gif_frames(videos: np.ndarray, classes: np.ndarray, zoom: int = GIF_ZOOM, columns: int = 5) -> list[np.ndarray]:
    """The frames of the preview GIF: uint8 (height, width) each, one per video frame.

    Tiles of `columns` videos per row, each video (C, T, H, W) scaled up `zoom` times inside a grey border, its
    class and motion written above it, and "frame t / T" below the grid. Text in DejaVu Sans (matplotlib's font).
    """
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    count, frames, height, width = videos.shape
    rows = -(-count // columns)
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), GIF_FONT_PX)
    tile_w, tile_h, border = width * zoom, height * zoom, GIF_BORDER
    chars = max(8, int(tile_w / (0.6 * GIF_FONT_PX)))  # DejaVu Sans: ~0.6 em per character
    labels = [class_label(c, chars) for c in classes]
    line = GIF_FONT_PX + 3
    band = max(label.count("\n") + 1 for label in labels) * line + 4  # label lines above each tile
    cell_w, cell_h = tile_w + 2 * border + GIF_GAP, band + tile_h + 2 * border + GIF_GAP
    footer = line + 6
    base = Image.new("L", (columns * cell_w + GIF_GAP, rows * cell_h + GIF_GAP + footer), 255)
    draw = ImageDraw.Draw(base)
    corners = []  # top-left pixel of each tile's video
    for i, label in enumerate(labels):
        r, c = divmod(i, columns)
        left, top = GIF_GAP + c * cell_w, GIF_GAP + r * cell_h
        draw.multiline_text((left, top), label, fill=0, font=font, spacing=3)
        draw.rectangle((left, top + band, left + tile_w + 2 * border - 1, top + band + tile_h + 2 * border - 1),
                       fill=GAP_GREY)
        corners.append((top + band + border, left + border))
    out = []
    for t in range(frames):
        image = base.copy()
        ImageDraw.Draw(image).text((GIF_GAP, base.height - footer + 3), f"frame {t + 1} / {frames}", fill=0, font=font)
        canvas = np.array(image)
        for i, (top, left) in enumerate(corners):
            canvas[top : top + tile_h, left : left + tile_w] = videos[i, t].repeat(zoom, axis=0).repeat(zoom, axis=1)
        out.append(canvas)
    return out


def save_gif(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", zoom: int = GIF_ZOOM,
             fps: int = 10) -> Path:
    """An animated GIF (`out`: .gif) of the first video of each class, 2 rows of 5 labelled tiles (`gif_frames`)."""
    out = check_suffix(out, GIF_SUFFIXES)
    try:
        from matplotlib import font_manager  # noqa: F401 (the labels' font)
        from PIL import Image
    except ImportError:
        raise UserError(INSTALL_PLOT) from None
    videos, classes = first_of_each_class(path, split)
    images = [Image.fromarray(frame) for frame in gif_frames(videos, classes, zoom)]
    with atomic_path(out) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return out
