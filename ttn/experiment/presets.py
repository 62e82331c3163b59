"""Sweep presets: whole protocols, each a set of runs and the training options that differ from the defaults.

"paper": section 3.5; "quick": a reduced protocol for a laptop. Explicit options always win over a preset's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ttn.errors import TTNError
from ttn.experiment.racing import RacePlan


@dataclass(frozen=True)
class Preset:
    """A sweep protocol: which runs to train, the training options that differ from TrainConfig's, and the
    candidate grid of each arch (model selection on validation, as in section 3.4)."""

    name: str
    description: str
    archs: tuple[str, ...]
    videos: tuple[int, ...]
    runs: int
    options: dict[str, Any] = field(default_factory=dict)
    #: arch -> {axis: [values]}: the candidates `ttn report` selects among, per (arch, videos), on validation.
    grids: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    #: videos -> racing over runs (`ttn.experiment.racing`); empty: every candidate trains every run.
    race: dict[int, RacePlan] = field(default_factory=dict)
    #: lr steps a raced cell may go beyond its grid when its pick lands on an edge (`raced_sweep.edge_step`).
    extend_edges: int = 0

    def values(self, arch: str) -> dict[str, Any]:
        """The options of `arch`'s runs: the preset's, with its grid (lists) for that arch."""
        return dict(self.options) | self.grids.get(arch, {})


#: The sizes of section 3.5.
PAPER_VIDEOS = (10, 20, 30, 40, 50, 100, 500, 1000, 2000, 5000)
#: The learning rates the presets select among, per arch: 4 values by factors of 2, the same number for both
#: archs (a larger grid flatters the arch searched over it). Measured (docs/experiments/symmetric-init, channels
#: (6, 16), 40 epochs, 10 runs): on validation the 3DTTN selected 0.0025 at 10 and 20 videos and 0.00125 at 50,
#: the He-initialized 3D model 0.005 at every size; each grid brackets those choices with a value on either side
#: (the earlier 3-value grids put 7 of the quick preset's 8 selections at a grid edge).
LRS = {"3d": [0.0025, 0.005, 0.01, 0.02], "3dttn": [0.000625, 0.00125, 0.0025, 0.005]}
#: The conv init of each arch in the presets: the 3D model's conv weights get the He-normal rule the 3DTTN's K0
#: is built with (`--conv-init he`). PyTorch's default would start them sqrt(6) smaller, which alone made the
#: 3DTTN look better at 10-50 videos (docs/results.md).
INITS = {"3d": ["he"], "3dttn": ["he"]}

PRESETS: dict[str, Preset] = {
    # Section 3.5 with the paper's models: Table 2's channels for each (arch, size) (channels None: resolved per
    # cell from Table 2), the same init rule and 4 lrs for both archs, 100 epochs, batch 20 (10 at 10 videos).
    # Racing over runs (K = 2, the top half goes on) instead of every candidate training every run. Validation:
    # the fixed 300-video subset every 10th epoch (the decay rule's interval): measured at 10 videos with Table 2's
    # models, a run with 1000 videos every epoch spends ~90% of its time validating; this, about a fifth
    # (README, "Cost"). Sizes 10-100: picked on runs 0-9, 20 fresh runs 10-29 of the pick; 500-1000: picked on
    # runs 0-4, fresh runs 5-9 (the claim comes from runs the choice did not see); 2000-5000 (a 3D run of 5000
    # videos costs ~1 CPU-hour on a 2-core Intel Xeon): picked on run 0, fresh runs 5-7 of the pick, the runs
    # 500-1000 estimate on too, so that "above 100 videos" pools per run over 500-5000 (runs 5-7).
    "paper": Preset(
        name="paper",
        description="section 3.5: 10..5000 videos, 100 epochs, Table 2's model per (arch, size), the same init rule "
                    "and 4 lrs per arch raced over runs on validation; 20-30 runs of the pick",
        archs=("3d", "3dttn"),
        videos=PAPER_VIDEOS,
        runs=30,
        options={"epochs": 100, "val_size": 300, "val_every": 10},
        grids={arch: {"lr": LRS[arch], "conv_init": INITS[arch]} for arch in ("3d", "3dttn")},
        race={videos: RacePlan(2, tuple(range(10)), tuple(range(30))) if videos <= 100
              else RacePlan(2, tuple(range(5)), tuple(range(10))) if videos <= 1000
              else RacePlan(1, (0,), (0, 5, 6, 7)) for videos in PAPER_VIDEOS},
        extend_edges=2,  # a pick at a grid edge races the next lr out (up to 2 steps), as done by hand at 10, 20
    ),
    # Finishes in < 30 min wall on 2 CPU cores including data generation (measured: see README). Small models
    # (6, 16) keep each step cheap; a 300-video val subset validated every 2nd epoch keeps validation cheap next
    # to training; 40 epochs; four learning rates per arch, selected per size on validation.
    "quick": Preset(
        name="quick",
        description="reduced: 10, 20, 50, 100 videos, 3 runs, 40 epochs, channels (6, 16), 4 lrs per arch selected on "
                    "validation, the same init rule for both archs",
        archs=("3d", "3dttn"),
        videos=(10, 20, 50, 100),
        runs=3,
        options={"epochs": 40, "val_size": 300, "val_every": 2, "channels": (6, 16)},
        grids={arch: {"lr": LRS[arch], "conv_init": INITS[arch]} for arch in ("3d", "3dttn")},
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called `name`, or TTNError listing them."""
    try:
        return PRESETS[name]
    except KeyError:
        raise TTNError(f"unknown --preset {name!r}: choose one of {', '.join(PRESETS)}") from None
