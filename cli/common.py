"""Shared Click plumbing: lazy command groups, consoles, and turning errors into one-line messages."""
from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from vmnist.errors import UserError

_NO_COLOR = bool(os.environ.get("NO_COLOR")) or None
#: Progress and messages go to stderr so that results on stdout can be piped.
err_console = Console(stderr=True, soft_wrap=True, no_color=_NO_COLOR)
#: Results (tables, summaries) go to stdout; piped into a file they keep full width instead of rich's 80 columns.
out_console = Console(soft_wrap=True, no_color=_NO_COLOR, width=None if sys.stdout.isatty() else 160)


def progress_enabled() -> bool:
    """Draw progress bars only on an interactive terminal."""
    return err_console.is_terminal


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError, naming the file and the likely fix."""
    name = f" {exc.filename!s}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    hints = {
        errno.ENOSPC: "free some disk space and try again",
        errno.EACCES: "choose a folder you can write to",
        errno.EROFS: "choose a writable folder",
        errno.ENOENT: "check the path",
    }
    hint = hints.get(exc.errno or 0)
    return f"{reason}:{name}" + (f" ({hint})" if hint else "")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (every cleanup that runs on KeyboardInterrupt runs)."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


class OptionError(click.ClickException):
    """A bad command-line option or argument, shown as one line; exit code 2 like Click's own usage errors."""

    exit_code = 2


class LazyGroup(click.Group):
    """A Click group whose commands are imported only when used (keeps `--help` fast).

    `lazy_commands` maps a command name to "module:attribute". Known user errors raised by any
    command become one-line `ClickException`s instead of tracebacks.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)  # kill, Slurm's scancel: stop as cleanly as on Ctrl-C
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a bad option of a command: one line too (Click prints usage + hint + error)
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            raise OptionError(exc.format_message() + where) from None
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from None
        except Terminated:
            err_console.print("terminated: nothing half-written was kept")
            sys.exit(128 + signal.SIGTERM)
        except KeyboardInterrupt:
            err_console.print("interrupted: nothing half-written was kept")
            sys.exit(130)


def parse_int_list(value: str, option: str) -> list[int]:
    """Parse "10,20,30" into [10, 20, 30]; raise BadParameter naming `option` otherwise."""
    try:
        items = [int(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated whole numbers, got {value!r}", param_hint=option) from None
    if not items:
        raise click.BadParameter("expected at least one number", param_hint=option)
    return items


def require_suffix(value: Path | None, suffixes: Sequence[str], option: str | None = None, note: str = "") -> Path | None:
    """`value` if it is None or ends in one of `suffixes` (any case), else BadParameter naming them (and `option`)."""
    if value is not None and value.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{value}: the file must end in {', '.join(suffixes)}{note}", param_hint=option)
    return value


def figure_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Click callback of a picture option: the path if its suffix is one matplotlib writes here, else BadParameter."""
    from ttn.report.figures import FIGURE_SUFFIXES

    return require_suffix(value, FIGURE_SUFFIXES)


def dpi_option(command: Any) -> Any:
    """The ``--dpi`` option of a command that draws figures (decorator)."""
    from vmnist.figures import DEFAULT_DPI

    return click.option("--dpi", type=click.IntRange(20, 1200), default=DEFAULT_DPI, show_default=True,
                        help="Dots per inch of a PNG; the figure's size in inches and its fonts stay (SVG and PDF "
                             "are vector).")(command)
