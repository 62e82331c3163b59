"""The command a run was started by: its command line and its resolved options, stored in the run's record.

A command sets them for the runs it starts with `invoked` (an environment variable, so that the worker processes
of a sweep inherit them); `record_of` reads them with `invocation`. A run started from Python (`ttn.train`) has
neither (None). Importable without torch.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

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
