"""Training options and recipes: the single source of every training default, check and option.

A run is trained from a `TrainConfig`. Each of its fields is declared once: default, check (run when a config is
made) and, for the training options of the CLI, help (`option`; cli/training_options derives the Click options
from the fields); the fields that are no option say why (`setting`). Recipes are named bundles of defaults
("default": ours, the protocol docs/results.md found to work; "authors": the authors' full recipe). Values a user
gives explicitly always win over a recipe's (or a preset's, `ttn.experiment.presets`). An lr of None is the
arch's validated default for the run's size (`DEFAULT_LRS`), resolved per run like the channels.
`resolved_config` is what a run's record stores; `candidate_tag` names the options that make it a candidate of
its own in a sweep (its run id).
"""
from __future__ import annotations

import itertools
from dataclasses import Field, asdict, dataclass, field, fields, replace
from typing import Any, Callable, Mapping, Sequence

from ttn.errors import TTNError
from ttn.paper import paper_channels
from ttn.registry import (DEFAULT_CHANNELS, DEFAULT_INIT, DEFAULT_TEMPORAL_KERNEL, DEFAULT_THETA, INIT_RULES,
                          THETA_KINDS, WHOLE_VAL_SPLIT, canonical_init, check_channels, check_choice, check_finite,
                          check_positive, check_temporal_kernel, check_val_size)
#: Section 3.4's batch size: 20, or 10 when training on 10 videos (`batch_size_for`).
PAPER_BATCH_SIZE, SMALL_BATCH_SIZE, SMALL_BATCH_VIDEOS = 20, 10, 10
#: Section 3.4: the lr decays "every 10th epoch" (when validation accuracy did not improve).
DECAY_EVERY = 10
#: The default validation: a fixed 300-video subset every 10th epoch (the decay rule's interval, all that the
#: plateau rule and --score last read). 1000 videos every epoch spent most of a default run validating
#: (docs/results.md); the `paper` preset validates alike.
DEFAULT_VAL_SIZE, DEFAULT_VAL_EVERY = 300, DECAY_EVERY

#: The default lr of each arch, per training-set size: ((up to this many videos, lr), ...), the last entry for
#: every larger size (None). They are the lrs the project's validated selections chose (docs/results.md,
#: "symmetric init"; `ttn report docs/experiments/symmetric-init --where conv_init=he --where init_scale=1
#: --select-runs 0-9`: He init, 10 runs, 10-50 videos): the 3D model 0.005 at every size; the 3DTTN 0.0025 at
#: 10 and 20 videos and 0.00125 at 50. The (2+1)D model was never selected: it takes the 3D model's value (the
#: same He init rule). `--lr` given explicitly always wins; a recipe's lr (authors: 5e-8) too.
DEFAULT_LRS: dict[str, tuple[tuple[int | None, float], ...]] = {
    "3d": ((None, 0.005),),
    "3dttn": ((20, 0.0025), (None, 0.00125)),
    "2plus1d": ((None, 0.005),),
}
#: Where `DEFAULT_LRS` comes from, for --help.
DEFAULT_LRS_SOURCE = "docs/results.md, the symmetric-init selections"


def default_lr(arch: str, videos: int) -> float:
    """The default lr of `arch` trained on `videos` videos (`DEFAULT_LRS`)."""
    for up_to, lr in DEFAULT_LRS[arch]:
        if up_to is None or videos <= up_to:
            return lr
    raise AssertionError(f"DEFAULT_LRS[{arch!r}] has no entry for larger sizes")


def default_lrs_text() -> str:
    """`DEFAULT_LRS` in words, e.g. "3d 0.005; 3dttn 0.0025 up to 20 videos, 0.00125 above"."""
    def arch_text(arch: str) -> str:
        steps = DEFAULT_LRS[arch]
        return f"{arch} " + ", ".join(f"{lr:g}" + (f" up to {up_to} videos" if up_to is not None else
                                                   " above" if len(steps) > 1 else "") for up_to, lr in steps)
    return "; ".join(arch_text(arch) for arch in DEFAULT_LRS)

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

#: A field's check: (value, the option's name for the message) -> None, or TTNError saying what is wrong.
Check = Callable[[Any, str], Any]


def flag(name: str) -> str:
    """The command-line option of config field `name`, e.g. "lr_decay" -> "--lr-decay" (also in messages)."""
    return "--" + name.replace("_", "-")


def option(default: Any, help: str, *, check: Check | None = None, choices: Sequence[str] = (), metavar: str = "",
           default_text: str = "") -> Any:
    """A TrainConfig field that is a training option of `ttn train`, `ttn sweep` and `ttn reproduce`: its default,
    its check and its help (cli/training_options derives the option, its parser and its shown defaults from them
    and `RECIPES`; `default_text` says what a default of None means)."""
    return field(default=default, metadata={"help": help, "check": check, "choices": tuple(choices),
                                            "metavar": metavar, "default_text": default_text})


def setting(default: Any, why_not_an_option: str, *, check: Check | None = None, choices: Sequence[str] = ()) -> Any:
    """A TrainConfig field deliberately left out of the command line, for the reason given (a recipe sets it, or
    the paper fixes it); checked like the options."""
    return field(default=default, metadata={"why_not_an_option": why_not_an_option, "check": check,
                                            "choices": tuple(choices)})


def is_option(config_field: Field) -> bool:
    """Whether a TrainConfig field is a command-line training option (made by `option`)."""
    return "help" in config_field.metadata


def optional(check: Check) -> Check:
    """`check`, letting None (the field's "decided per run" value) through."""
    return lambda value, what: None if value is None else check(value, what)


def check_decay_factor(value: Any, what: str) -> float:
    """A decay factor in (0, 1]: 1 never decays."""
    if not 0 < check_finite(value, what) <= 1:
        raise TTNError(f"{what} must be in (0, 1], got {value}")
    return value


def check_momentum(value: Any, what: str) -> float:
    """SGD momentum in [0, 1)."""
    if not 0 <= check_finite(value, what) < 1:
        raise TTNError(f"{what} must be in [0, 1), got {value}")
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Every option of one training run (stored in full in the result record's `config`).

    Each field is declared once, here, with its default and its check (run by `__post_init__`): `option` fields are
    the training options of the CLI, `setting` fields say why they are not. Recipes (`RECIPES`) replace defaults.
    """

    # Learning rate for SGD on the *mean* cross-entropy with [0, 1] inputs. The paper's 1e-8..5e-9 only make
    # sense with 0-255 inputs (recipe "authors"). None: the arch's validated lr for the size (`DEFAULT_LRS`,
    # resolved per run by `lr_for`, like the channels); a sweep selects among several with --lr A,B,...
    lr: float | None = option(None, "Initial learning rate.", check=optional(check_positive), metavar="LR",
                              default_text=f"per arch and size, {default_lrs_text()} ({DEFAULT_LRS_SOURCE})")
    epochs: int = option(100, "Epochs.", check=check_positive, metavar="N")  # section 3.4
    batch_size: int | None = option(None, "Batch size.", check=optional(check_positive), metavar="N",
                                    default_text=f"{PAPER_BATCH_SIZE}, {SMALL_BATCH_SIZE} at {SMALL_BATCH_VIDEOS} videos")
    momentum: float = setting(0.9, "section 3.4's value, the same in every recipe", check=check_momentum)
    # Every `decay_every` epochs the lr is multiplied by `lr_decay` if the best validation accuracy did not
    # improve since the previous check (section 3.4: "decreases exponentially"; factor not given, 0.5 halves).
    lr_decay: float = option(0.5, f"Factor applied every {DECAY_EVERY}th epoch when val accuracy did not improve; "
                                  "1 = never.", check=check_decay_factor, metavar="F")
    decay_every: int = setting(DECAY_EVERY, "section 3.4 fixes it", check=check_positive)
    # The same subset for every run (the authors' code: the first 1000, recipe "authors").
    val_size: int = option(DEFAULT_VAL_SIZE, f"Validation subset; {WHOLE_VAL_SPLIT} = whole val split.", check=check_val_size,
                           metavar="N")
    val_pick: str = setting("random", "a recipe's (the authors' code validates on the first videos)", choices=VAL_PICKS)
    # The plateau rule and --score last read only every 10th epoch, so 10 is faithful and ~10x cheaper than
    # every epoch where validation dominates (small sizes).
    val_every: int = option(DEFAULT_VAL_EVERY, f"Validate every N epochs and after the last (the plateau rule and --score last read "
                               f"every {DECAY_EVERY}th).", check=check_positive, metavar="N")
    score: str = option("best", "Report the best-validation epoch's model or the last epoch's.", choices=SCORES)
    recipe: str = option("default", "The defaults of the options not given.", choices=tuple(RECIPES))
    # None = the paper's channels for (arch, videos) when Table 2 has them, else DEFAULT_CHANNELS.
    channels: tuple[int, int] | None = option(None, "Conv channels: C1,C2 or C1xC2 (as run ids spell it).",
                                              check=optional(check_channels), metavar="C1,C2",
                                              default_text="Table 2 for arch and size, else "
                                                           + ",".join(map(str, DEFAULT_CHANNELS)))
    theta: str = option(DEFAULT_THETA, "3DTT transforms.", choices=THETA_KINDS)  # the paper's main experiments (eq. 2)
    transform_lr_scale: float = option(1.0, "The 3DTT transform parameters learn at lr * X.", check=check_positive,
                                       metavar="X")
    freeze_transforms: bool = option(False, "3dttn: transforms fixed at the identity (K0 repeated over time, a "
                                            "temporally tied kernel).")
    temporal_kernel: int = option(DEFAULT_TEMPORAL_KERNEL, "Temporal kernel size.", check=check_temporal_kernel, metavar="T")
    input_scale: str = setting("unit", "a recipe's (0-255 inputs belong to the authors' lr scale)", choices=INPUT_SCALES)
    # PyTorch's "default" starts nn.Conv3d weights sqrt(6) smaller than K0, which alone favoured the 3DTTN by 14-18 points.
    conv_init: str = option(
        DEFAULT_INIT, "How every arch's conv weights start: 'he' N(0, 2/fan_in), the rule of the 3DTTN's K0; 'default' "
        "PyTorch's (3D conv weights sqrt(6)x smaller than K0); 'normal' the authors' N(0, 1); 'tied' one He slice "
        "repeated over time (a 3DTTN's start; for a 3DTTN default, he and tied are the same).", choices=INIT_RULES)
    init_scale: float = option(
        1.0, "Multiply the drawn conv weights (3DTT: K0) by X; 0.447214 = 1/sqrt(5) gives a tied kernel the "
        "activation scale of an independent He kernel.", check=check_positive, metavar="X")
    loss_reduction: str = setting("mean", "a recipe's; both use the mean (the authors' code too)", choices=("mean", "sum"))
    eval_batch_size: int = setting(500, "videos read per validation/test step: a memory bound, not a hyperparameter",
                                   check=check_positive)
    # Checked where a config is built from the command line (`ttn.registry.check_device`): whether a device
    # exists depends on the machine, not on the config.
    device: str = option("cpu", "torch device, e.g. cpu or cuda.", metavar="DEVICE")

    def __post_init__(self) -> None:
        for config_field in fields(self):
            name = config_field.name
            value, what = getattr(self, name), flag(name) if is_option(config_field) else name
            if config_field.metadata["choices"]:
                check_choice(value, config_field.metadata["choices"], what)
            if config_field.metadata.get("check"):
                config_field.metadata["check"](value, what)
        if self.lr_decay < 1 and self.decay_every % self.val_every:
            raise TTNError(f"--val-every {self.val_every} must divide the decay interval ({self.decay_every} epochs) "
                           "so that every decay check reads a fresh validation; or pass --lr-decay 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (channels as a list)."""
        data = asdict(self)
        data["channels"] = list(self.channels) if self.channels is not None else None
        return data


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
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown training options: {', '.join(unknown)}")
    values: dict[str, Any] = dict(RECIPES.get(recipe, {}))  # an unknown recipe is refused by TrainConfig
    values.update({key: value for key, value in options.items() if value is not None})
    if values.get("channels") is not None:
        values["channels"] = tuple(int(c) for c in values["channels"])
    return TrainConfig(recipe=recipe, **values)


def batch_size_for(config: TrainConfig, videos: int) -> int:
    """The batch size of a run on `videos` videos: the option, or 20 (10 when videos == 10; section 3.4)."""
    if config.batch_size is not None:
        return config.batch_size
    return SMALL_BATCH_SIZE if videos <= SMALL_BATCH_VIDEOS else PAPER_BATCH_SIZE


def channels_for(config: TrainConfig, arch: str, videos: int) -> tuple[int, int]:
    """The (C1, C2) of a run: the option, else the paper's Table 2 value, else the models' default."""
    if config.channels is not None:
        return config.channels
    try:
        return paper_channels(arch, videos)
    except KeyError:
        return DEFAULT_CHANNELS


def lr_for(config: TrainConfig, arch: str, videos: int) -> float:
    """The lr of a run: the option (or the recipe's), else the arch's default for the size (`DEFAULT_LRS`)."""
    return config.lr if config.lr is not None else default_lr(arch, videos)


def run_config(config: TrainConfig, arch: str, videos: int) -> TrainConfig:
    """`config` with the lr of the run (arch, videos) filled in (`lr_for`): what a run trains with."""
    return config if config.lr is not None else replace(config, lr=lr_for(config, arch, videos))


def resolved_config(config: TrainConfig, arch: str, videos: int) -> dict[str, Any]:
    """The config of the run (arch, videos) as its record stores it: lr, channels and batch size resolved, and
    the 3DTT-only options None ("not applicable") for other archs."""
    resolved = config.to_dict() | {"lr": lr_for(config, arch, videos),
                                   "channels": list(channels_for(config, arch, videos)),
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
            raise TTNError(f"{flag(name)} applies to 3dttn only, not to {', '.join(archs)}")


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


def candidate_tag(config: TrainConfig, arch: str, videos: int) -> str:
    """The run-id part naming `config`'s candidate for `arch` at `videos` videos: the lr always (resolved,
    `lr_for`), every other axis where it differs from the
    recipe's default, e.g. "lr0.005", "lr0.02-c6x16-tls10", "lr0.01-frozen" (3DTT-only axes for 3dttn only).
    The init rule is named where it draws another model than the recipe's `UNNAMED_INIT`, e.g. "inithe" for a
    3D model and nothing for a 3DTTN (whose K0 is drawn by the He rule either way)."""
    default = make_config(config.recipe)
    parts = [f"lr{lr_for(config, arch, videos):g}"]
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
            raise TTNError(f"{flag(name)} takes one value in a sweep (a results folder holds one protocol); "
                           f"the options that take a list are {', '.join(map(flag, AXES))}")
        if not values:
            raise TTNError(f"{flag(name)}: give at least one value")
    fixed = {name: value for name, value in options.items() if name not in lists}
    combos = itertools.product(*lists.values())
    configs = [make_config(recipe, **fixed, **dict(zip(lists, combo))) for combo in combos]
    return list(dict.fromkeys(configs))  # equal candidates once (frozen dataclasses compare by value)


def format_value(value: Any) -> str:
    """An option value as tables, run ids and --where filters spell it: 0.005, 6x16, true, none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "x".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_order(resolved: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """The sort key of a candidate's resolved config: its options by name, numbers by value (0.005 < 0.01 < 0.1),
    everything else by its spelling (`format_value`). Reports list candidates in this order and raced sweeps
    break ties by it (`ttn.experiment.racing`), so that both pick alike."""
    return [_value_order(resolved.get(name)) for name in sorted(resolved)]


def _value_order(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, format_value(value))
