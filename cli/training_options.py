"""The training options of `ttn train`, `ttn sweep` and `ttn reproduce`, defined once.

`ttn train` takes one value per option. In a sweep the options that name a candidate (the axes of
`ttn.experiment.config.AXES`: --lr, --channels, --batch-size, --lr-decay, --theta, --transform-lr-scale,
--temporal-kernel, --conv-init, --init-scale) take a comma-separated list (channel pairs separated by "/"), and the sweep trains every
combination; `ttn report` then selects among them on validation accuracy.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import click

from ttn import registry
from ttn.errors import TTNError
from ttn.experiment.config import AXES, RECIPE_ALIASES, RECIPES, SCORES, TrainConfig

Parse = Callable[[str], Any]


def finite_float(text: str) -> float:
    """A finite float (nan and inf are refused: a record must hold strict JSON and a meaningful value)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def channel_pair(text: str) -> tuple[int, int]:
    """"6,16" -> (6, 16)."""
    items = [int(item) for item in text.split(",")]
    if len(items) != 2 or min(items) < 1:
        raise ValueError(f"expected two positive numbers C1,C2 (e.g. 6,16), got {text!r}")
    return items[0], items[1]


def theta_kind(text: str) -> str:
    return registry.check_theta(text.strip())


def conv_init_kind(text: str) -> str:
    return registry.check_init(text.strip())


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = finite_float(text)
    if value <= 0:
        raise ValueError(f"{text!r} must be positive")
    return value


def whole_number(text: str) -> int:
    """An int written as one, e.g. "40" (not "40.5" or "4e1")."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def _parser(parse: Parse, option: str, as_list: bool, separator: str = ",", grid: bool = False) -> Callable[..., Any]:
    """A click callback: `parse` the value (or each `separator`-separated item when `as_list`), or None."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        if grid and not as_list and separator in value:
            raise click.BadParameter(f"{value!r}: {option} takes one value in a sweep (a results folder holds one "
                                     "protocol; the options that take a list are the candidate options)", param_hint=option)
        try:
            if not as_list:
                return parse(value)
            items = [parse(item) for item in value.split(separator) if item.strip()]
        except (ValueError, TTNError) as exc:
            raise click.BadParameter(str(exc).splitlines()[0], param_hint=option) from None
        if not items:
            raise click.BadParameter("give at least one value", param_hint=option)
        return items
    return callback


#: (option, config field, parse one value, list separator, metavar, help) of the options with values.
VALUE_OPTIONS: tuple[tuple[str, str, Parse, str, str, str], ...] = (
    ("--lr", "lr", finite_float, ",", "LR", f"Initial learning rate [default: {TrainConfig.lr}; recipe authors: 5e-8]."),
    ("--channels", "channels", channel_pair, "/", "C1,C2", "Conv channels [default: Table 2 for arch and size, else 18,28]."),
    ("--batch-size", "batch_size", whole_number, ",", "N", "Batch size [default: 20, 10 at 10 videos]."),
    ("--lr-decay", "lr_decay", finite_float, ",", "F",
     f"Factor applied every 10th epoch when val accuracy did not improve; 1 = never [default: {TrainConfig.lr_decay}]."),
    ("--theta", "theta", theta_kind, ",", "KIND", f"3DTT transforms: {', '.join(registry.THETA_KINDS)} [default: {TrainConfig.theta}]."),
    ("--transform-lr-scale", "transform_lr_scale", finite_float, ",", "X",
     "The 3DTT transform parameters learn at lr * X [default: 1]."),
    ("--conv-init", "conv_init", conv_init_kind, ",", "INIT",
     "How every arch's conv weights start: 'he' N(0, 2/fan_in), the rule of the 3DTTN's K0; 'default' PyTorch's "
     "(3D conv weights sqrt(6)x smaller than K0); 'normal' the authors' N(0, 1); 'tied' one He slice repeated over "
     "time (a 3DTTN's start; for a 3DTTN default, he and tied are the same) "
     f"[default: {TrainConfig.conv_init}; recipe authors: normal]."),
    ("--init-scale", "init_scale", positive_float, ",", "X",
     "Multiply the drawn conv weights (3DTT: K0) by X; 0.447214 = 1/sqrt(5) gives a tied kernel the activation "
     "scale of an independent He kernel [default: 1]."),
    ("--temporal-kernel", "temporal_kernel", whole_number, ",", "T", f"Temporal kernel size [default: {TrainConfig.temporal_kernel}]."),
    ("--epochs", "epochs", whole_number, ",", "N", f"Epochs [default: {TrainConfig.epochs}]."),
    ("--val-size", "val_size", whole_number, ",", "N", f"Validation subset; 0 = whole val split [default: {TrainConfig.val_size}]."),
    ("--val-every", "val_every", whole_number, ",", "N",
     "Validate every N epochs and after the last (the plateau rule and --score last read every 10th) [default: 1]."),
    ("--device", "device", str, ",", "DEVICE", "torch device, e.g. cpu or cuda [default: cpu]."),
)


def training_options(*, grid: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding the training options; with `grid` the axis options take lists (a sweep's candidates)."""
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        recipes = list(RECIPES) + list(RECIPE_ALIASES)
        options = [
            click.option("--recipe", type=click.Choice(recipes), default="default", show_default=True,
                         help="'authors': the authors' full recipe (0-255 inputs, N(0,1) conv init, lr 5e-8, no decay, "
                              "first 1000 val videos, last-epoch score); 'original' is its old name."),
            click.option("--score", type=click.Choice(SCORES), default=None,
                         help="Report the best-validation epoch's model or the last epoch's [default: best; recipe authors: last]."),
            click.option("--freeze-transforms", is_flag=True, default=None,
                         help="3dttn: transforms fixed at the identity (K0 repeated over time, a temporally tied kernel)."),
        ]
        for option, field, parse, separator, metavar, help_text in VALUE_OPTIONS:
            as_list = grid and field in AXES
            if as_list:
                help_text += f" A list ({'C1,C2/C1,C2' if separator == '/' else 'A,B,...'}) trains every value as a candidate."
            options.append(click.option(option, field, callback=_parser(parse, option, as_list, separator, grid), default=None,
                                        metavar=f"{metavar}{separator}..." if as_list else metavar, help=help_text))
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


#: The config fields the training options set (beside --recipe).
TRAINING_KEYS = ("score", "freeze_transforms") + tuple(spec[1] for spec in VALUE_OPTIONS)


def chosen_options(options: dict[str, Any]) -> dict[str, Any]:
    """The training options the user gave (None and an unset flag mean: the recipe's or preset's value)."""
    return {key: options[key] for key in TRAINING_KEYS if options.get(key) is not None and options.get(key) is not False}
