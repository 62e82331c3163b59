"""Pictures of a Video-MNIST file: one example per class, frames across (the paper's Figure 2), or a GIF.

``save_figure2(a, out, compare=b)`` draws two files side by side, row by row the same class (the same digits
when both files come from the same MNIST split), e.g. the `authors` and `smooth` trajectory families.
Needs the optional `[plot]` extra (matplotlib, Pillow); without it a UserError says how to install it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vmnist.atomic import atomic_path
from vmnist.errors import UserError
from vmnist.reader import load_labels, load_split, read_attributes, trajectories_of
from vmnist.trajectories import TRAJECTORY_TABLE

INSTALL_PLOT = "pictures need matplotlib and Pillow: pip install -e '.[plot]' (or pip install matplotlib pillow)"
#: Picture files save_figure2 writes (matplotlib's formats that need no other program) and save_gif writes.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
GIF_SUFFIXES = (".gif",)
#: Grey level of the lines between frames, so that ink leaving a frame shows where the frame ends.
GAP_GREY = 96


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


def _family(path: str | os.PathLike) -> str:
    return trajectories_of(read_attributes(path)["config"])


def save_figure2(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", every: int = 2,
                 compare: str | os.PathLike | None = None) -> Path:
    """One row per class, every `every`-th frame across, like the paper's Figure 2; `compare`: a second file beside.

    `out` ends in .png, .svg or .pdf (FIGURE_SUFFIXES).
    """
    out = check_suffix(out, FIGURE_SUFFIXES)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
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
    mosaics = [frame_mosaic(videos[:, ::every]) for _, videos, _ in panels]
    height, width = mosaics[0].shape
    separator = np.full((height, 12), 255, dtype=np.uint8)
    image = mosaics[0] if len(mosaics) == 1 else np.concatenate([mosaics[0], separator, mosaics[1]], axis=1)
    dpi, zoom = 100, 1.6  # screen pixels per frame pixel
    label_width = 2.9  # inches of class labels on the left
    fig_width = label_width + image.shape[1] * zoom / dpi
    fig_height = 0.45 + image.shape[0] * zoom / dpi
    fig = plt.figure(figsize=(fig_width, fig_height), dpi=dpi)
    ax = fig.add_axes((label_width / fig_width, 0.02, 1 - label_width / fig_width - 0.005, 1 - 0.5 / fig_height))
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    row = panels[0][1].shape[2] + 1  # frame height and its grey line
    ax.set_yticks([1 + r * row + (row - 1) / 2 for r in range(len(classes))],
                  [f"{c}: {TRAJECTORY_TABLE[int(c)][0]}" for c in classes], fontsize=6)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i, (source, _, _) in enumerate(panels):
        centre = (width / 2) + i * (width + separator.shape[1])
        ax.text(centre, -3, f"{Path(source).name}: {_family(source)} trajectories", ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"Video-MNIST: the first {split} video of each class, frames 0, {every}, {2 * every}, ...", fontsize=8, y=0.995)
    kind = out.suffix.lstrip(".").lower()
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=kind)
            if kind == "png":  # the picture is grey: one channel instead of RGBA makes the file ~3x smaller
                from PIL import Image

                Image.open(tmp).convert("L").save(tmp, format="PNG", optimize=True)
    finally:
        plt.close(fig)
    return out


def save_gif(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", zoom: int = 4, fps: int = 10) -> Path:
    """An animated GIF: the first video of each class side by side (2 rows of 5), scaled up `zoom` times; `out`: .gif."""
    out = check_suffix(out, GIF_SUFFIXES)
    try:
        from PIL import Image
    except ImportError:
        raise UserError(INSTALL_PLOT) from None
    videos, _ = first_of_each_class(path, split)
    count, frames, height, width = videos.shape
    columns = 5
    rows = -(-count // columns)
    canvas = np.zeros((frames, rows * (height + 2), columns * (width + 2)), dtype=np.uint8)  # (T, rows*H', cols*W')
    for i in range(count):
        r, c = divmod(i, columns)
        canvas[:, r * (height + 2) + 1 : r * (height + 2) + 1 + height, c * (width + 2) + 1 : c * (width + 2) + 1 + width] = videos[i]
    canvas = canvas.repeat(zoom, axis=1).repeat(zoom, axis=2)
    images = [Image.fromarray(frame) for frame in canvas]
    with atomic_path(out) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return out
