"""Training options and recipes: the single source of every training default.

A run is trained from a `TrainConfig`. Recipes are named bundles of defaults ("default": ours; "authors":
the authors' full recipe). Values a user gives explicitly always win over a recipe's (or a preset's,
`ttn.experiment.presets`). `resolved_config` is what a run's record stores; `candidate_tag` names the
options that make it a candidate of its own in a sweep (its run id).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

from ttn.errors import TTNError
from ttn.paper import paper_channels
from ttn.registry import INIT_RULES, canonical_init

#: Channels of a run when neither the option nor Table 2 gives them (ttn.nn.DEFAULT_CHANNELS: checked in tests).
DEFAULT_CHANNELS: tuple[int, int] = (18, 28)

#: Input scalings: "unit" divides uint8 pixels by 255 ([0, 1]); "raw" feeds 0-255 floats (authors' code).
INPUT_SCALES = ("unit", "raw")
#: Which model a run reports: "best" = the epoch of highest validation accuracy (section 3.4), "last" = the
#: last epoch (the authors' code scores a run by its last-epoch validation accuracy).
SCORES = ("best", "last")
#: How the validation subset is drawn: "random" = a fixed seeded sample, "first" = the first val_size videos.
VAL_PICKS = ("random", "first")
#: Options that change how a run is computed, not what it computes: never part of a run's identity.
NOT_IDENTITY = ("device", "eval_batch_size")
#: Options of the 3DTT convolution: "not applicable" (None) in the resolved config of other archs.
TTN_ONLY = ("theta", "transform_lr_scale", "freeze_transforms")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of one training run (stored in full in the result record's `config`)."""

    # Learning rate for SGD on the *mean* cross-entropy with [0, 1] inputs. The paper's 1e-8..5e-9 only make
    # sense with 0-255 inputs (recipe "authors"). A sweep selects it per (arch, size) on validation
    # (`ttn sweep --lr 0.005,0.01,0.02`); 0.02 is where the 3D model learns at all in 40 epochs at 10 videos.
    lr: float = 0.02
    epochs: int = 100  # section 3.4
    # None = the paper's rule: 20, or 10 when training on 10 videos (see `batch_size_for`).
    batch_size: int | None = None
    momentum: float = 0.9  # section 3.4
    # Every `decay_every` epochs the lr is multiplied by `lr_decay` if the best validation accuracy did not
    # improve since the previous check (section 3.4: "decreases exponentially"; factor not given, 0.5 halves).
    lr_decay: float = 0.5
    decay_every: int = 10  # section 3.4: "every 10th epoch"
    # Validation subset size (the same for every run); 1000 as in the authors' code. 0 = whole split.
    val_size: int = 1000
    val_pick: str = "random"
    # Validate every `val_every` epochs (and after the last one): the plateau rule and --score last read
    # only every 10th epoch, so 10 is faithful and ~10x cheaper where validation dominates (small sizes).
    val_every: int = 1
    score: str = "best"
    recipe: str = "default"
    # None = the paper's channels for (arch, videos) when Table 2 has them, else DEFAULT_CHANNELS.
    channels: tuple[int, int] | None = None
    theta: str = "similarity"  # the paper's main experiments (eq. 2)
    # The 3DTT transform parameters (scale, rotation, tx, ty or theta) learn at lr * transform_lr_scale.
    transform_lr_scale: float = 1.0
    # Transforms fixed at the identity: the 3DTTN's kernel is K0 repeated over time (a temporally tied kernel).
    freeze_transforms: bool = False
    temporal_kernel: int = 5
    input_scale: str = "unit"
    # How every arch's conv weights start (`ttn.nn.init`): "he" gives the 3D model the rule of the 3DTTN's K0;
    # PyTorch's "default" starts nn.Conv3d weights sqrt(6) smaller, which alone favoured the 3DTTN by 14-18 points.
    conv_init: str = "he"
    # Multiplies the drawn conv weights (3DTT: K0); 1/sqrt(T) gives a tied kernel an independent kernel's scale.
    init_scale: float = 1.0
    loss_reduction: str = "mean"  # both recipes use the mean (the authors' code too)
    eval_batch_size: int = 500  # videos read per step in validation/test (memory bound, not a hyperparameter)
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("lr", "momentum", "lr_decay", "transform_lr_scale", "init_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TTNError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
        positive = {"lr": self.lr, "transform-lr-scale": self.transform_lr_scale, "init-scale": self.init_scale,
                    "epochs": self.epochs,
                    "decay-every": self.decay_every, "val-every": self.val_every, "eval-batch-size": self.eval_batch_size}
        for name, value in positive.items():
            if value <= 0:
                raise TTNError(f"--{name} must be positive, got {value}")
        if self.batch_size is not None and self.batch_size < 1:
            raise TTNError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not 0 < self.lr_decay <= 1:
            raise TTNError(f"--lr-decay must be in (0, 1], got {self.lr_decay}")
        if not 0 <= self.momentum < 1:
            raise TTNError(f"--momentum must be in [0, 1), got {self.momentum}")
        if self.val_size < 0:
            raise TTNError(f"--val-size must be >= 0 (0 = the whole val split), got {self.val_size}")
        if self.lr_decay < 1 and self.decay_every % self.val_every:
            raise TTNError(f"--val-every {self.val_every} must divide the decay interval ({self.decay_every} epochs) "
                           "so that every decay check reads a fresh validation; or pass --lr-decay 1")
        if self.channels is not None and (len(self.channels) != 2 or min(self.channels) < 1):
            raise TTNError(f"--channels must be two positive numbers C1,C2, got {self.channels}")
        choices = {"recipe": (self.recipe, tuple(RECIPES)), "input_scale": (self.input_scale, INPUT_SCALES),
                   "conv_init": (self.conv_init, INIT_RULES), "loss_reduction": (self.loss_reduction, ("mean", "sum")),
                   "score": (self.score, SCORES), "val_pick": (self.val_pick, VAL_PICKS)}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise TTNError(f"unknown --{name.replace('_', '-')} {value!r}: choose one of {', '.join(allowed)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (channels as a list)."""
        data = asdict(self)
        data["channels"] = list(self.channels) if self.channels is not None else None
        return data



#: Recipes: defaults that replace TrainConfig's own unless the user sets the option.
RECIPES: dict[str, dict[str, Any]] = {
    "default": {},
    # The authors' code (redsphinx/relative-baseline): raw 0-255 pixels, 3D conv weights and biases and 3DTT K0
    # ~ N(0, 1), mean cross-entropy, lr 5e-8; the lr never decays (their decay never reached the optimizer:
    # pass --lr-decay 0.5 for ours); validation on the first 1000 val videos; a run scores its last epoch,
    # validated every 10th epoch (all that the last-epoch score reads).
    "authors": {"input_scale": "raw", "conv_init": "normal", "loss_reduction": "mean", "lr": 5e-8, "lr_decay": 1.0,
                "val_size": 1000, "val_pick": "first", "score": "last", "val_every": 10},
}
#: Former recipe names: `--recipe original` is the authors' recipe, now complete.
RECIPE_ALIASES = {"original": "authors"}
#: The init rule each recipe's run ids leave unnamed: the rule its runs had when run ids were introduced. Fixed,
#: so that a committed record's run id keeps its meaning when a recipe's default init changes (3D runs of the
#: default recipe with PyTorch's init are "3d-v10-lr0.02-r0"; with "he", "3d-v10-lr0.005-inithe-r0").
UNNAMED_INIT = {"default": "default", "authors": "normal"}
#: Values that config fields added after schema 2 had before they existed (what an older record ran with).
ADDED_FIELDS: dict[str, Any] = {"init_scale": 1.0}


def make_config(recipe: str = "default", **options: Any) -> TrainConfig:
    """A TrainConfig from a recipe plus explicit options; options that are None keep the recipe's value."""
    recipe = RECIPE_ALIASES.get(recipe, recipe)
    if recipe not in RECIPES:
        raise TTNError(f"unknown --recipe {recipe!r}: choose one of {', '.join(RECIPES)}")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown training options: {', '.join(unknown)}")
    values: dict[str, Any] = dict(RECIPES[recipe])
    values.update({key: value for key, value in options.items() if value is not None})
    if values.get("channels") is not None:
        values["channels"] = tuple(int(c) for c in values["channels"])
    return TrainConfig(recipe=recipe, **values)


def batch_size_for(config: TrainConfig, videos: int) -> int:
    """The batch size of a run on `videos` videos: the option, or 20 (10 when videos == 10; section 3.4)."""
    if config.batch_size is not None:
        return config.batch_size
    return 10 if videos <= 10 else 20


def channels_for(config: TrainConfig, arch: str, videos: int) -> tuple[int, int]:
    """The (C1, C2) of a run: the option, else the paper's Table 2 value, else the models' default."""
    if config.channels is not None:
        return config.channels
    try:
        return paper_channels(arch, videos)
    except KeyError:
        return DEFAULT_CHANNELS


def resolved_config(config: TrainConfig, arch: str, videos: int) -> dict[str, Any]:
    """The config of the run (arch, videos) as its record stores it: channels and batch size resolved, and the
    3DTT-only options None ("not applicable") for other archs."""
    resolved = config.to_dict() | {"channels": list(channels_for(config, arch, videos)),
                                   "batch_size": batch_size_for(config, videos)}
    resolved["conv_init"] = canonical_init(arch, config.conv_init)  # one name per model drawn (ttn.registry)
    if arch != "3dttn":
        resolved.update({name: None for name in TTN_ONLY})
    return resolved


def upgrade_resolved(arch: str, resolved: Mapping[str, Any]) -> dict[str, Any]:
    """A record's resolved config as this version writes it: fields added since fill in the value the run had
    (`ADDED_FIELDS`), and the init rule takes its canonical name (a 3DTTN's "default" is "he": the same draws)."""
    upgraded = dict(ADDED_FIELDS) | dict(resolved)
    if isinstance(upgraded.get("conv_init"), str):
        upgraded["conv_init"] = canonical_init(arch, upgraded["conv_init"])
    return upgraded


def check_applies(config: TrainConfig, archs: Sequence[str]) -> None:
    """TTNError if `config` sets a 3DTT-only option (theta, transform lr scale, frozen transforms) but none of
    `archs` is a 3DTTN: the option would silently do nothing."""
    if "3dttn" in archs:
        return
    default = make_config(config.recipe)
    for name in TTN_ONLY:
        if getattr(config, name) != getattr(default, name):
            raise TTNError(f"--{name.replace('_', '-')} applies to 3dttn only, not to {', '.join(archs)}")


def identity(resolved: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What makes two runs' configs the same candidate: every resolved option except NOT_IDENTITY, hashable."""
    return tuple(sorted((key, tuple(v) if isinstance(v, list) else v) for key, v in resolved.items()
                        if key not in NOT_IDENTITY))


#: Options a sweep may grid over (each names a candidate in the run id); the others define the protocol that
#: every record of one results folder shares (what "validation accuracy" and "test accuracy" mean there).
AXES: dict[str, str] = {
    "lr": "lr", "channels": "c", "batch_size": "b", "lr_decay": "ld", "theta": "", "transform_lr_scale": "tls",
    "freeze_transforms": "frozen", "temporal_kernel": "k", "conv_init": "init", "init_scale": "is",
}
PROTOCOL = tuple(f.name for f in fields(TrainConfig) if f.name not in AXES and f.name not in NOT_IDENTITY)


def candidate_tag(config: TrainConfig, arch: str) -> str:
    """The run-id part naming `config`'s candidate: the lr always, every other axis where it differs from the
    recipe's default, e.g. "lr0.005", "lr0.02-c6x16-tls10", "lr0.01-frozen" (3DTT-only axes for 3dttn only).
    The init rule is named where it draws another model than the recipe's `UNNAMED_INIT`, e.g. "inithe" for a
    3D model and nothing for a 3DTTN (whose K0 is drawn by the He rule either way)."""
    default = make_config(config.recipe)
    parts = [f"lr{config.lr:g}"]
    for name, prefix in AXES.items():
        value = getattr(config, name)
        if name == "conv_init":
            value = canonical_init(arch, value)
            if value == canonical_init(arch, UNNAMED_INIT[config.recipe]):
                continue
        elif name == "lr" or value == getattr(default, name) or (name in TTN_ONLY and arch != "3dttn"):
            continue
        if isinstance(value, bool):
            parts.append(prefix)
        elif isinstance(value, tuple):
            parts.append(prefix + "x".join(str(v) for v in value))
        else:
            parts.append(f"{prefix}{value:g}" if isinstance(value, float) else f"{prefix}{value}")
    return "-".join(parts)


def expand_grid(recipe: str = "default", **options: Any) -> list[TrainConfig]:
    """The candidate configs of a sweep: the cartesian product of every option given as a list (axes only,
    `AXES`), in the order given; other options are single values, as for `make_config`. E.g.
    ``expand_grid(lr=[0.005, 0.01], channels=[(6, 16)], epochs=40)`` -> two configs."""
    lists = {name: list(value) for name, value in options.items() if isinstance(value, list)}
    for name, values in lists.items():
        if name not in AXES:
            raise TTNError(f"--{name.replace('_', '-')} takes one value in a sweep (a results folder holds one protocol); "
                           f"the options that take a list are {', '.join('--' + a.replace('_', '-') for a in AXES)}")
        if not values:
            raise TTNError(f"--{name.replace('_', '-')}: give at least one value")
    fixed = {name: value for name, value in options.items() if name not in lists}
    combos = itertools.product(*lists.values())
    configs = [make_config(recipe, **fixed, **dict(zip(lists, combo))) for combo in combos]
    return list(dict.fromkeys(configs))  # equal candidates once (frozen dataclasses compare by value)
