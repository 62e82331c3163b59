"""Asking before a long plan: a bare `ttn sweep` (no --preset, no --videos) is the whole paper protocol."""
from __future__ import annotations

import sys

import click

#: Plans estimated longer than this (seconds, wall where known, else CPU) are confirmed on a terminal.
CONFIRM_OVER_S = 3600


def stdin_is_terminal() -> bool:
    """Whether someone can answer: stdin is a terminal (not a pipe, a file or a batch job's /dev/null)."""
    return sys.stdin is not None and sys.stdin.isatty()


def confirm_long_plan(seconds: float) -> bool:
    """Whether to start a plan estimated at `seconds`: yes when it is short or nobody can answer (never waits
    without a terminal); otherwise the user's answer (default no)."""
    from ttn.experiment.cost import format_duration

    if seconds <= CONFIRM_OVER_S or not stdin_is_terminal():
        return True
    return click.confirm(f"Start ~{format_duration(seconds)} of training? (a bare `ttn sweep` is the whole paper "
                         "protocol; --dry-run shows the plan, --preset quick or --videos a smaller one, --yes skips "
                         "this question)", default=False, err=True)
