"""Training options and recipes: the single source of every training default.

A run is trained from a `TrainConfig`. Recipes are named bundles of defaults ("default": ours; "original":
the authors' exact recipe). Values a user gives explicitly always win over a recipe's (or a preset's,
`ttn.experiment.presets`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from ttn.errors import TTNError
from ttn.paper import paper_channels

#: Channels of a run when neither the option nor Table 2 gives them (ttn.nn.DEFAULT_CHANNELS: checked in tests).
DEFAULT_CHANNELS: tuple[int, int] = (18, 28)

#: Input scalings: "unit" divides uint8 pixels by 255 ([0, 1]); "raw" feeds 0-255 floats (authors' code).
INPUT_SCALES = ("unit", "raw")
#: Conv initializations: "default" = Kaiming-uniform for nn.Conv3d / linear, K0 ~ N(0, 2/fan_in) for 3DTT;
#: "normal" = K0 ~ N(0, 1) for 3DTT convs, as in the authors' code (the paper keeps Kaiming-uniform for 3D).
CONV_INITS = ("default", "normal")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of one training run (stored in full in the result record's `config`)."""

    # Learning rate for SGD on the *mean* cross-entropy with [0, 1] inputs. The paper's 1e-8..5e-9 only make
    # sense with a summed loss and 0-255 inputs. Chosen on the validation split (run 0, channels (6, 16),
    # 40 epochs, val subset 300): at 10 videos 0.003 never leaves chance, 0.01 reaches 0.24 val accuracy,
    # 0.02 reaches 0.49 (3d) / 0.47 (3dttn), 0.03-0.05 peak early then diverge; at 100 videos 0.02 gives
    # 0.87 (3d), 0.01 gives 0.85 (3dttn). 10 videos at batch 10 is one step per epoch, hence the need for speed.
    lr: float = 0.02
    epochs: int = 100  # section 3.4
    # None = the paper's rule: 20, or 10 when training on 10 videos (see `batch_size_for`).
    batch_size: int | None = None
    momentum: float = 0.9  # section 3.4
    # Every `decay_every` epochs the lr is multiplied by `lr_decay` if the best validation accuracy did not
    # improve since the previous check (section 3.4: "decreases exponentially"; factor not given, 0.5 halves).
    lr_decay: float = 0.5
    decay_every: int = 10  # section 3.4: "every 10th epoch"
    # Validation subset size (fixed, seeded; the same for every run); 1000 as in the authors' code. 0 = whole split.
    val_size: int = 1000
    recipe: str = "default"
    # None = the paper's channels for (arch, videos) when Table 2 has them, else ttn.models.DEFAULT_CHANNELS.
    channels: tuple[int, int] | None = None
    theta: str = "similarity"  # the paper's main experiments (eq. 2)
    temporal_kernel: int = 5
    input_scale: str = "unit"
    conv_init: str = "default"
    loss_reduction: str = "mean"  # both recipes use the mean (the authors' code too)
    eval_batch_size: int = 500  # videos per forward pass in validation/test (memory bound, not a hyperparameter)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise TTNError(f"--lr must be positive, got {self.lr}")
        if self.epochs < 1:
            raise TTNError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise TTNError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not 0 < self.lr_decay <= 1:
            raise TTNError(f"--lr-decay must be in (0, 1], got {self.lr_decay}")
        if self.decay_every < 1:
            raise TTNError(f"decay_every must be at least 1, got {self.decay_every}")
        if self.val_size < 0:
            raise TTNError(f"--val-size must be >= 0 (0 = the whole val split), got {self.val_size}")
        if self.recipe not in RECIPES:
            raise TTNError(f"unknown --recipe {self.recipe!r}: choose one of {', '.join(RECIPES)}")
        if self.channels is not None and (len(self.channels) != 2 or min(self.channels) < 1):
            raise TTNError(f"--channels must be two positive numbers C1,C2, got {self.channels}")
        if self.input_scale not in INPUT_SCALES:
            raise TTNError(f"input_scale must be one of {INPUT_SCALES}, got {self.input_scale!r}")
        if self.conv_init not in CONV_INITS:
            raise TTNError(f"conv_init must be one of {CONV_INITS}, got {self.conv_init!r}")
        if self.loss_reduction not in ("mean", "sum"):
            raise TTNError(f"loss_reduction must be 'mean' or 'sum', got {self.loss_reduction!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (channels as a list)."""
        data = asdict(self)
        data["channels"] = list(self.channels) if self.channels is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of `to_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if values.get("channels") is not None:
            values["channels"] = tuple(values["channels"])
        return cls(**values)


#: Recipes: defaults that replace TrainConfig's own unless the user sets the option.
RECIPES: dict[str, dict[str, Any]] = {
    "default": {},
    # The authors' code: raw 0-255 pixels, K0 ~ N(0, 1), mean cross-entropy, lr 5e-8. Their adaptive lr never
    # reached the optimizer (a bug); ours does, so "original" is their recipe with a working decay.
    "original": {"input_scale": "raw", "conv_init": "normal", "loss_reduction": "mean", "lr": 5e-8},
}


def make_config(recipe: str = "default", **options: Any) -> TrainConfig:
    """A TrainConfig from a recipe plus explicit options; options that are None keep the recipe's value."""
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


def with_channels(config: TrainConfig, channels: tuple[int, int] | None) -> TrainConfig:
    """`config` with `channels` set (a copy)."""
    return replace(config, channels=None if channels is None else tuple(channels))
