"""Pictures of a Video-MNIST file: one example per class, frames across (the paper's Figure 2), or a GIF.

Needs the optional `[plot]` extra (matplotlib, Pillow); without it a UserError says how to install it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vmnist.atomic import atomic_path
from vmnist.errors import UserError
from vmnist.reader import load_labels, load_split
from vmnist.trajectories import TRAJECTORY_TABLE

INSTALL_PLOT = "pictures need matplotlib and Pillow: pip install -e '.[plot]' (or pip install matplotlib pillow)"


def first_of_each_class(path: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The first video of every class present: uint8 (C, T, H, W) and their labels (C,)."""
    labels = load_labels(path, split)
    classes = np.unique(labels)
    picks = np.array([np.flatnonzero(labels == c)[0] for c in classes])
    videos, _ = load_split(path, split, picks)
    return videos.numpy(), classes


def save_figure2(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", every: int = 2) -> Path:
    """One row per class, every `every`-th frame across, like the paper's Figure 2."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError(INSTALL_PLOT) from None
    videos, classes = first_of_each_class(path, split)
    frames = videos[:, ::every]  # (C, T', H, W)
    rows, cols = frames.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 + cols * 0.55, 0.4 + rows * 0.55), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            axes[r, c].imshow(frames[r, c], cmap="gray", vmin=0, vmax=255)
            axes[r, c].set_axis_off()
        label = f"{classes[r]}: {TRAJECTORY_TABLE[int(classes[r])][0]}"
        axes[r, 0].text(-0.15, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=6)
    fig.suptitle(f"Video-MNIST: one {split} video per class, every {every}nd frame", fontsize=8)
    fig.subplots_adjust(left=3.0 / (3.2 + cols * 0.55), right=0.99, top=0.92, bottom=0.01, wspace=0.05, hspace=0.08)
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=150, format=out.suffix.lstrip(".") or "png")
    plt.close(fig)
    return out


def save_gif(path: str | os.PathLike, out: str | os.PathLike, split: str = "test", zoom: int = 4, fps: int = 10) -> Path:
    """An animated GIF: the first video of each class side by side (2 rows of 5), scaled up `zoom` times."""
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
    return Path(out)
