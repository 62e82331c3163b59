"""`--config FILE.toml` and `--print-config` of `ttn train`, `sweep`, `reproduce` and `report`.

A config file holds a command's options as top-level TOML keys named like the options, with '-' or '_'
(``lr-decay = 0.5``, ``videos = [10, 20]``, ``channels = [6, 16]``, ``where = ["lr=0.005"]``, ``force = true``).
It is read before the other options (an eager option) into Click's `default_map`, so that every option given on
the command line overrides the file, and the file overrides the defaults. A value is read as the command line
would spell it: a list is comma-separated (a list of pairs: "6,16/18,28"), a number is its text.

`--print-config` prints the command's options as resolved (command line, file, defaults) in that form, as TOML
that `--config` reads back, and exits without running. Options left to the recipe or preset (no value) are left
out. The same options and the command line are stored in every record the command writes
(`ttn.experiment.invocation`).
"""
from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import click

from cli.common import ARGV, echo

#: ctx.meta keys: the values of the options before their callbacks ran, and whether to print them.
RAW, PRINT = "ttn.config.raw", "ttn.config.print"
#: The parameters that are about the config itself, never in a config file.
OWN = ("config", "print_config", "help")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def config_file_options(command: click.Command) -> click.Command:
    """Give `command` --config FILE and --print-config (see the module); returns it."""
    for param in command.params:
        param.callback = _recording(param.callback)
    command.params.insert(0, click.Option(
        ["--config"], type=click.Path(dir_okay=False, path_type=Path), is_eager=True, expose_value=False,
        callback=_read_config, metavar="FILE.toml",
        help="Read options from a TOML file (keys: the option names, e.g. lr-decay = 0.5; lists as TOML lists); "
             "options given on the command line win."))
    command.params.append(click.Option(
        ["--print-config"], is_flag=True, expose_value=False, callback=_ask_to_print,
        help="Print the resolved options as a TOML file that --config reads back, and exit."))
    command.callback = _printing_or_recorded(command.callback)
    return command


def option_names(command: click.Command) -> dict[str, str]:
    """Config-file key -> parameter name: each long option without '--' ('-' and '_' both), and arguments."""
    names: dict[str, str] = {}
    for param in command.params:
        if param.name in OWN or param.name is None:
            continue
        spellings = [opt[2:] for opt in param.opts if opt.startswith("--")] or [param.name]
        for spelling in spellings:
            names[spelling.replace("_", "-")] = names[spelling.replace("-", "_")] = param.name
    return names


def key_of(param: click.Parameter) -> str:
    """The config-file key of a parameter: its first long option without '--', or its name ('-' between words)."""
    long = [opt[2:] for opt in param.opts if opt.startswith("--")]
    return long[0] if long else str(param.name).replace("_", "-")


def load_config(path: Path, command: click.Command) -> dict[str, Any]:
    """The `default_map` of `command` from the TOML file `path`; BadParameter (--config) naming the problem."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise click.BadParameter("reading a config file needs Python 3.11, or pip install tomli",
                                     param_hint="--config") from None
    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream)
    except FileNotFoundError:
        raise click.BadParameter(f"{path}: no such file (check the path)", param_hint="--config") from None
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}", param_hint="--config") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.BadParameter(f"{path} is not valid TOML: {exc}", param_hint="--config") from None
    names, params = option_names(command), {param.name: param for param in command.params}
    values = {}
    for key, value in table.items():
        if isinstance(value, dict):
            raise click.BadParameter(f"{path}: options are top-level keys, not a [{key}] table", param_hint="--config")
        if key not in names:
            raise click.BadParameter(f"{path}: {key!r} is no option of `{command.name}`; the keys are "
                                     f"{', '.join(sorted({key_of(params[name]) for name in names.values()}))}",
                                     param_hint="--config")
        values[names[key]] = _command_line_value(params[names[key]], value, f"{path}: {key}")
    return values


def _command_line_value(param: click.Parameter, value: Any, where: str) -> Any:
    """A TOML value as the command line gives it to `param`: text, a bool for a flag, a list for a repeated option."""
    if isinstance(param, click.Option) and param.is_flag:
        if not isinstance(value, bool):
            raise click.BadParameter(f"{where} is a flag: write true or false", param_hint="--config")
        return value
    if param.multiple:
        return [_text(item) for item in (value if isinstance(value, list) else [value])]
    if isinstance(value, list):
        return "/".join(",".join(map(_text, item)) for item in value) if value and isinstance(value[0], list) \
            else ",".join(map(_text, value))
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def toml_text(options: Mapping[str, Any], comment: str = "") -> str:
    """`options` (key -> value of `resolved_options`) as TOML, after `comment` lines."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def resolved_options(ctx: click.Context) -> dict[str, Any]:
    """The command's options as given (command line, --config, TTN_DATA) or defaulted, in the form --config reads:
    key -> bool, number, text or list; options without a value (left to a recipe or preset) are left out."""
    raw = ctx.meta.get(RAW, {})
    options = {}
    for param in ctx.command.params:
        if param.name in OWN or param.name not in raw:
            continue
        value = _plain(raw[param.name])
        if value is not None and value != []:
            options[key_of(param)] = value
    return options


def _plain(value: Any) -> Any:
    """An option's value as TOML writes it: paths as text, numbers written as text as numbers."""
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(value) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def command_line(ctx: click.Context) -> list[str]:
    """The command line of this invocation as argv strings, e.g. ["ttn", "train", "--arch", "3d"]."""
    return list(ctx.meta.get(ARGV) or sys.argv)


def _recording(callback: Callable[..., Any] | None) -> Callable[..., Any]:
    """`callback` (or none), noting the value it is given: what --print-config and the records show."""
    def record(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta.setdefault(RAW, {})[param.name] = value
        return callback(ctx, param, value) if callback is not None else value
    return record


def _read_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.default_map = (ctx.default_map or {}) | load_config(value, ctx.command)


def _ask_to_print(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[PRINT] = bool(value)


def _printing_or_recorded(run: Callable[..., Any] | None) -> Callable[..., Any]:
    """The command's function: with --print-config it prints the options instead; otherwise the records it
    writes store the command line and the options (`ttn.experiment.invocation`)."""
    assert run is not None

    @functools.wraps(run)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        from ttn.experiment.invocation import invoked

        ctx = click.get_current_context()
        options = resolved_options(ctx)
        if ctx.meta.get(PRINT):
            echo(toml_text(options, f"ttn {ctx.command.name}: read back with --config FILE.toml; the options not listed "
                                    "take the recipe's or preset's value"), nl=False)
            return None
        with invoked(command_line(ctx), options):
            return run(*args, **kwargs)
    return invoke
