"""The command a run was started by: its command line and its resolved options, stored in the run's record.

A command sets them for the runs it starts with `invoked` (an environment variable, so that the worker processes
of a sweep inherit them); `record_of` reads them with `invocation`. A worker that did not start from the command's
process (a remote Dask worker) gets them with each task (`call_invoked`). A run started from Python (`ttn.train`)
has neither (None). Importable without torch.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

#: The environment variable that carries the invocation to the runs (JSON: {"command": [...], "options": {...}}).
INVOCATION_ENV = "TTN_INVOCATION"


@contextmanager
def invoked(command: Sequence[str], options: dict[str, Any]) -> Iterator[None]:
    """While inside, runs record `command` (argv strings) and `options` (the resolved options of the command)."""
    before = os.environ.get(INVOCATION_ENV)
    os.environ[INVOCATION_ENV] = json.dumps({"command": list(command), "options": options})
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(INVOCATION_ENV, None)
        else:
            os.environ[INVOCATION_ENV] = before


def invocation() -> dict[str, Any]:
    """{"command": argv list, "options": dict} of the command running, both None outside one (or unreadable)."""
    try:
        value = json.loads(os.environ.get(INVOCATION_ENV, "null"))
    except ValueError:
        value = None
    if not isinstance(value, dict):
        value = {}
    return {"command": value.get("command"), "options": value.get("options")}


def current_invocation() -> str | None:
    """The invocation set in this process (INVOCATION_ENV's JSON text), for `call_invoked` elsewhere."""
    return os.environ.get(INVOCATION_ENV)


def call_invoked(value: str | None, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with the invocation `value` (of `current_invocation` in the submitting process) set while it
    runs: what a remote worker, which did not inherit the command's environment, records."""
    if value is None:
        return fn(*args)
    before = os.environ.get(INVOCATION_ENV)
    os.environ[INVOCATION_ENV] = value
    try:
        return fn(*args)
    finally:
        if before is None:
            os.environ.pop(INVOCATION_ENV, None)
        else:
            os.environ[INVOCATION_ENV] = before
