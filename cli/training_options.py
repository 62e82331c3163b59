"""The training options of `ttn train`, `ttn sweep` and `ttn reproduce`, derived from `TrainConfig`'s fields.

Every `option` field of `ttn.experiment.config.TrainConfig` is one command-line option (``lr_decay`` ->
``--lr-decay``): its parser follows the field's type, its help and metavar are the field's, and the defaults its
help shows are the field's default and the recipe table's values (`RECIPES`). The parsers only read text; the
values are checked once, by TrainConfig, when `configs_from_options` (the one config builder of the three
commands) makes the configs. In a sweep the options that name a candidate (`ttn.experiment.config.AXES`) take a
comma-separated list (channel pairs separated by "/"), and the sweep trains every combination; `ttn report`
then selects among them on validation accuracy.
"""
from __future__ import annotations

import types
from dataclasses import Field, fields
from typing import Any, Callable, Sequence, Union, get_args, get_origin, get_type_hints

import click

from cli.common import OptionError
from ttn import registry
from ttn.errors import TTNError, first_line
from ttn.experiment.config import (AXES, RECIPE_ALIASES, RECIPES, TTN_ONLY, TrainConfig, check_applies, expand_grid,
                                   flag, is_option)

Parse = Callable[[str], Any]


def whole_number(text: str) -> int:
    """An int written as one, e.g. "40" (not "40.5" or "4e1")."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def number_pair(text: str) -> tuple[int, ...]:
    """"6,16" or "6x16" (as run ids and `ttn report --where` spell it) -> (6, 16) (TrainConfig checks that there
    are two)."""
    return tuple(whole_number(item) for item in text.replace("x", ",").split(","))


#: How the text of an option becomes a value, by the type of its field (`X | None` fields: by X's).
PARSERS: dict[type, Parse] = {float: float, int: whole_number, str: str.strip, tuple: number_pair}


def field_type(config_field: Field) -> type:
    """The type of a TrainConfig field without its `| None`, e.g. `tuple` for ``tuple[int, int] | None``."""
    hint = get_type_hints(TrainConfig)[config_field.name]
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    return get_origin(hint) or hint


def show(value: Any) -> str:
    """A default as the command line writes it: 5e-08, 6,16, he."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def shown_defaults(config_field: Field) -> str:
    """"[default: 0.02; recipe authors: 5e-08]": the field's default and each recipe's own value (`RECIPES`)."""
    default = config_field.metadata["default_text"] or show(config_field.default)
    recipes = [f"recipe {name}: {show(values[config_field.name])}" for name, values in RECIPES.items()
               if values.get(config_field.name, config_field.default) != config_field.default]
    return f"[default: {'; '.join([default] + recipes)}]"


def recipes_help() -> str:
    """What each recipe sets, from the recipe table."""
    tables = [f"'{name}': " + ", ".join(f"{flag(key)[2:]} {show(value)}" for key, value in values.items())
              for name, values in RECIPES.items() if values]
    aliases = [f"'{old}': the old name of '{new}'" for old, new in RECIPE_ALIASES.items()]
    return "; ".join(tables + aliases) + "."


class PerArch(dict):
    """A candidate option's values per arch, as ``--lr "3d=0.005,0.01;3dttn=0.00125,0.0025"`` gives them: arch ->
    list of values. An arch it does not name keeps its preset's (or the default) values."""


def _items(text: str, parse: Parse, separator: str) -> list[Any]:
    """Each `separator`-separated item of `text`, parsed; ValueError when there is none."""
    items = [parse(item) for item in text.split(separator) if item.strip()]
    if not items:
        raise ValueError("give at least one value")
    return items


def per_arch(text: str, parse: Parse, separator: str) -> PerArch:
    """"3d=0.005,0.01;3dttn=0.00125" -> PerArch({"3d": [0.005, 0.01], "3dttn": [0.00125]}); ValueError naming
    what is wrong (the arch names are checked against --arch by `configs_from_options`)."""
    grids = PerArch()
    for part in (part.strip() for part in text.split(";")):
        arch, equals, values = part.partition("=")
        if not part:
            continue
        if not equals or not arch.strip():
            raise ValueError(f"{part!r}: expected ARCH=VALUES, e.g. \"3d=0.005,0.01;3dttn=0.00125,0.0025\"")
        if arch.strip() in grids:
            raise ValueError(f"{arch.strip()} is given twice")
        grids[arch.strip()] = _items(values, parse, separator)
    return grids


def _parser(parse: Parse, option: str, as_list: bool, separator: str, grid: bool) -> Callable[..., Any]:
    """A click callback: `parse` the value (or each `separator`-separated item when `as_list`; per arch, `PerArch`,
    when it has "ARCH="), or None."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        if grid and not as_list and separator in value:
            raise click.BadParameter(f"{value!r}: {option} takes one value in a sweep (a results folder holds one "
                                     "protocol; the options that take a list are the candidate options)", param_hint=option)
        try:
            if not as_list:
                return parse(value)
            return per_arch(value, parse, separator) if "=" in value else _items(value, parse, separator)
        except ValueError as exc:
            raise click.BadParameter(first_line(exc), param_hint=option) from None
    return callback


def click_option(config_field: Field, grid: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The command-line option of one TrainConfig field; with `grid` an axis takes a list (a sweep's candidates)."""
    name, kind, meta = config_field.name, field_type(config_field), config_field.metadata
    if kind is bool:
        return click.option(flag(name), name, is_flag=True, default=None, help=meta["help"])
    separator, metavar = ("/" if kind is tuple else ","), meta["metavar"] or "|".join(meta["choices"])
    as_list = grid and name in AXES
    help_text = meta["help"] + (" " + recipes_help() if name == "recipe" else "")
    if as_list:
        help_text += (f" A list ({'C1,C2/C1,C2' if separator == '/' else 'A,B,...'}) trains every value as a candidate;"
                      f" per arch: \"3d={'C1,C2' if separator == '/' else 'A,B'};3dttn=...\".")
    help_text += "  " + shown_defaults(config_field)
    callback = _parser(PARSERS[kind], flag(name), as_list, separator, grid)
    return click.option(flag(name), name, callback=callback, default=None,
                        metavar=f"{metavar}{separator}..." if as_list else metavar, help=help_text)


#: The TrainConfig fields that are command-line options, in the order of their declaration.
OPTION_FIELDS: tuple[Field, ...] = tuple(f for f in fields(TrainConfig) if is_option(f))
TRAINING_KEYS = tuple(f.name for f in OPTION_FIELDS)


def training_options(*, grid: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding the training options; with `grid` the axis options take lists (a sweep's candidates)."""
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for config_field in reversed(OPTION_FIELDS):
            command = click_option(config_field, grid)(command)
        return command
    return decorate


def chosen_options(options: dict[str, Any]) -> dict[str, Any]:
    """The training options the user gave (None and an unset flag mean: the recipe's or preset's value; a 0 given
    is kept, so that it is honoured or refused, never replaced by a default)."""
    return {key: options[key] for key in TRAINING_KEYS if options.get(key) is not None and options.get(key) is not False}


def configs_from_options(options: dict[str, Any], archs: Sequence[str],
                         defaults: Callable[[str], dict[str, Any]] | None = None) -> dict[str, list[TrainConfig]]:
    """Each arch's configs from the parsed training options: `defaults(arch)` (a preset's options and grid)
    overridden by the options given, every combination of the lists (`expand_grid`). The one place where the
    values are checked (by TrainConfig, the device once, options that apply to none of `archs`): a bad one is a
    one-line error (exit 2)."""
    given = chosen_options(options)
    for name, value in given.items():
        unknown = [arch for arch in value if arch not in archs] if isinstance(value, PerArch) else []
        if unknown:
            raise OptionError(f"{flag(name)} gives values for {unknown[0]}, which is not among the archs "
                              f"({', '.join(archs)}): name those of --arch")
        not_ttn = [arch for arch in value if arch != "3dttn"] if isinstance(value, PerArch) and name in TTN_ONLY else []
        if not_ttn:
            raise OptionError(f"{flag(name)} applies to 3dttn only, not to {not_ttn[0]}")

    def given_for(arch: str) -> dict[str, Any]:
        return {name: value[arch] if isinstance(value, PerArch) else value for name, value in given.items()
                if not isinstance(value, PerArch) or arch in value}

    try:
        if given.get("device") is not None:
            registry.check_device(given["device"])
        configs = {arch: expand_grid(**((defaults(arch) if defaults else {}) | given_for(arch))) for arch in archs}
        for config in configs[archs[0]]:
            check_applies(config, archs)
    except TTNError as exc:
        raise OptionError(str(exc)) from None
    return configs
