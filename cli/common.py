"""Shared Click plumbing: lazy command groups, consoles, and turning errors into one-line messages.

What is printed is user text too: a path such as 'r[/]' is not rich markup (`TextConsole`), a terminal that
only takes ASCII gets "+/-" for "±" (`tolerant_streams`), and a full or closed stdout is named in one line.
"""
from __future__ import annotations

import codecs
import errno
import importlib
import os
import signal
import sys
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.errors import MarkupError
from rich.markup import escape  # noqa: F401  (for the commands: user text inside a print that uses markup)

from vmnist.infra.atomic import naming_file
from vmnist.infra.errors import UserError

#: Names of the streams in error messages.
STDOUT, STDERR = "stdout", "stderr"


class ClosedStream:
    """Stands for a stdout that was closed when the program started (`ttn models >&-`): writing to it is an OSError
    (EBADF), named like any other write error, instead of results silently lost. (A closed stderr only loses
    messages, as Python's own print does.)"""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


#: Control characters (C0 but tab and newline, DEL, C1), shown as escapes: text read from files never drives the
#: terminal.
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in "\n\t"}


class TextConsole(Console):
    """A rich Console for text that holds user input: markup that does not parse (a path such as 'r[/]d.h5') is
    printed as it is instead of raising MarkupError, control characters are shown as escapes, and an OSError of
    its stream (a full disk, a closed stdout) names the stream. Print user text with markup=False, or escape() it
    inside markup, so that text which does parse ('a[b]c') is not taken as markup either."""

    def __init__(self, stream_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.stream_name = stream_name

    def render_str(self, text: str, **kwargs: Any) -> RenderableType:  # type: ignore[override]
        text = text.translate(_CONTROLS)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **(kwargs | {"markup": False}))

    def __exit__(self, *exc: Any) -> None:
        with naming_file(self.stream_name):
            super().__exit__(*exc)


_NO_COLOR = bool(os.environ.get("NO_COLOR")) or None
#: Progress and messages go to stderr so that results on stdout can be piped.
err_console = TextConsole(STDERR, stderr=True, soft_wrap=True, no_color=_NO_COLOR)
#: Results (tables, summaries) go to stdout; piped into a file they keep full width instead of rich's 80 columns.
#: An explicit COLUMNS always wins (rich reads it when width is None).
COLUMNS_SET = os.environ.get("COLUMNS", "").isdigit()
out_console = TextConsole(STDOUT, soft_wrap=True, no_color=_NO_COLOR, file=ClosedStream() if sys.stdout is None else None,
                          width=None if sys.stdout is not None and (sys.stdout.isatty() or COLUMNS_SET) else 160)

#: How characters an output encoding lacks are written (`tolerant_streams`): the common ones of our tables spelt
#: in ASCII, the others without their accents (NFKD), else "?".
_ASCII = {"±": "+/-", "…": "...", "—": "-", "–": "-", "−": "-", "×": "x", "≥": ">=", "≤": "<=", "≈": "~", "°": " deg",
          "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"', "µ": "u", "\u00a0": " "}
TRANSLITERATE = "vmnist-transliterate"


def _transliterate(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    spelt = [_ASCII.get(c) or unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "?"
             for c in error.object[error.start : error.end]]
    return "".join(spelt), error.end


codecs.register_error(TRANSLITERATE, _transliterate)


def tolerant_streams() -> None:
    """Let stdout and stderr write any text: what their encoding lacks (PYTHONIOENCODING=ascii, a C locale) is
    spelt in ASCII ("±" as "+/-") instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=TRANSLITERATE)


def echo(text: str, nl: bool = True) -> None:
    """Plain text (JSON, CSV, markdown) on stdout; a failed write (a full disk, a closed stdout) names stdout."""
    with naming_file(STDOUT):
        click.echo(text, nl=nl)


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
        errno.EBADF: "it was closed: send it to a file instead, e.g. > out.txt",
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


#: What an option people expect from other tools is called here, by the parameter of the command that stands for it:
#: Click's closest match would suggest --score for --seed.
SEED_HINTS = {"run": "the seed is the run index: --run N picks the training videos and the init seed",
              "runs": "the seed is the run index: --runs chooses the runs, and each run's index picks its training "
                      "videos and init seed"}


def usage_message(exc: click.UsageError) -> str:
    """Click's message of a usage error, but for --seed on a command with runs the option that sets the seed."""
    if isinstance(exc, click.NoSuchOption) and exc.option_name == "--seed" and exc.ctx is not None:
        names = {param.name for param in exc.ctx.command.params}
        hint = next((hint for name, hint in SEED_HINTS.items() if name in names), None)
        if hint:
            return f"No such option '--seed': {hint}."
    return exc.format_message()


#: ctx.meta key of the command line of this invocation (argv strings, the program's name first; `LazyGroup`).
ARGV = "ttn.argv"


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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV] = [ctx.info_name or "ttn", *args]  # what a record stores as its "command"
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)  # kill, Slurm's scancel: stop as cleanly as on Ctrl-C
        tolerant_streams()
        try:
            result = super().invoke(ctx)
            if sys.stdout is not None:
                with naming_file(STDOUT):
                    sys.stdout.flush()  # a full stdout fails here, named, not at exit
            return result
        except click.UsageError as exc:  # a bad option of a command: one line too (Click prints usage + hint + error)
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            raise OptionError(usage_message(exc) + where) from None
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(describe_os_error(exc)) from None
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated); a command may say what was done
            done = f"; {stop.args[0]}" if stop.args else ""
            word, code = ("terminated", 128 + signal.SIGTERM) if isinstance(stop, Terminated) else ("interrupted", 130)
            err_console.print(f"{word}: nothing half-written was kept{done}", markup=False, highlight=False)
            sys.exit(code)


def parse_int_list(value: str, option: str) -> list[int]:
    """Parse "10,20,30" into [10, 20, 30]; raise BadParameter naming `option` otherwise."""
    try:
        items = [int(item) for item in value.split(",") if item.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated whole numbers, got {value!r}", param_hint=option) from None
    if not items:
        raise click.BadParameter("expected at least one number", param_hint=option)
    return items


#: Most runs per (arch, size) a sweep plans (`ttn sweep --runs`; the paper's protocol has 30).
MAX_RUNS = 10_000


def parse_run_ranges(value: str, option: str) -> frozenset[int]:
    """Parse run indices "0-9", "10-29" or "0-4,7" into a set (`ttn.registry.parse_runs`); BadParameter
    naming `option` otherwise."""
    from ttn.errors import TTNError
    from ttn.registry import parse_runs

    try:
        return parse_runs(value)
    except TTNError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


class UserPath(click.Path):
    """A click.Path that refuses a value looking like an option: in `vmnist generate --out --help` the value of --out
    was forgotten; it is not a file named "--help" (a file whose name starts with '-' is given as ./-name)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.startswith("-") and value != "-":
            self.fail(f"{value!r} looks like an option, not a file name: give the value (a file starting with '-' "
                      f"is written ./{value})", param, ctx)
        return super().convert(value, param, ctx)


def require_suffix(value: Path | None, suffixes: Sequence[str], option: str | None = None, note: str = "") -> Path | None:
    """`value` if it is None or ends in one of `suffixes` (any case), else BadParameter naming them (and `option`)."""
    if value is not None and value.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{value}: the file must end in {', '.join(suffixes)}{note}", param_hint=option)
    return value


def figure_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Click callback of a picture option: the path if its suffix is one matplotlib writes here, else BadParameter."""
    from ttn.report.figures import FIGURE_SUFFIXES

    return require_suffix(value, FIGURE_SUFFIXES)


def json_option(what: str) -> Any:
    """The ``--json`` option (decorator) of a command whose result is also machine-readable: `what` it prints."""
    return click.option("--json", "as_json", is_flag=True,
                        help=f"Print {what} as JSON on stdout instead of text (messages stay on stderr).")


def dpi_option(command: Any) -> Any:
    """The ``--dpi`` option of a command that draws figures (decorator)."""
    from vmnist.pictures.figures import DEFAULT_DPI

    return click.option("--dpi", type=click.IntRange(20, 1200), default=DEFAULT_DPI, show_default=True,
                        help="Dots per inch of a PNG; the figure's size in inches and its fonts stay (SVG and PDF "
                             "are vector).")(command)
