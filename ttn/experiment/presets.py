"""Sweep presets: whole protocols, each a set of runs and the training options that differ from the defaults.

"paper": section 3.5; "quick": a reduced protocol for a laptop. Explicit options always win over a preset's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ttn.errors import TTNError
from ttn.paper import paper_channels


@dataclass(frozen=True)
class Preset:
    """A sweep protocol: which runs to train and the training options that differ from TrainConfig's."""

    name: str
    description: str
    archs: tuple[str, ...]
    videos: tuple[int, ...]
    runs: int
    options: dict[str, Any] = field(default_factory=dict)
    # (arch, videos) -> channels; None = channels_for (option, else paper Table 2)
    channels: Callable[[str, int], tuple[int, int]] | None = None


#: The sizes of section 3.5.
PAPER_VIDEOS = (10, 20, 30, 40, 50, 100, 500, 1000, 2000, 5000)

PRESETS: dict[str, Preset] = {
    "paper": Preset(
        name="paper",
        description="section 3.5: 10..5000 videos, 30 runs, 100 epochs, Table 2 channels per size",
        archs=("3d", "3dttn"),
        videos=PAPER_VIDEOS,
        runs=30,
        options={"epochs": 100, "val_size": 1000},
        channels=paper_channels,
    ),
    # Tuned to finish in < 30 min wall on 2 CPU cores including data generation (measured: see README).
    # Small models (6, 16) (the paper's 3DTTN at 1000 videos) keep each step cheap; a 300-video val subset
    # keeps per-epoch validation cheap next to training; 40 epochs of lr 0.02 (decayed every 10th if stuck).
    "quick": Preset(
        name="quick",
        description="reduced: 10, 20, 50, 100 videos, 3 runs, 40 epochs, channels (6, 16), val subset of 300",
        archs=("3d", "3dttn"),
        videos=(10, 20, 50, 100),
        runs=3,
        options={"epochs": 40, "val_size": 300, "channels": (6, 16)},
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called `name`, or TTNError listing them."""
    try:
        return PRESETS[name]
    except KeyError:
        raise TTNError(f"unknown --preset {name!r}: choose one of {', '.join(PRESETS)}") from None
