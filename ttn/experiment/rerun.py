"""Retraining a recorded run exactly (`ttn train --from-record RUN.json`, `ttn.train(from_record=...)`).

A record stores its config resolved (lr, channels and batch size filled in per run). `config_from_record`
rebuilds the `TrainConfig` that gives the same run id and the same resolved config, and `check_same_data` checks
that the data file found for it holds the videos the run was trained on (`vmnist.dataset_fingerprint`).
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any, Mapping

from ttn.errors import TTNError
from ttn.experiment.config import TrainConfig, identity, make_config, upgrade_resolved
from ttn.experiment.task import Task

#: Options a record stores resolved that a config may have left to the run (None): a run id names them only
#: when they were given.
RESOLVED_PER_RUN = ("lr", "channels", "batch_size")


def config_from_record(record: Mapping[str, Any]) -> TrainConfig:
    """The config that trains `record`'s run again: its run id and resolved config are the record's.
    TTNError when this ttn cannot rebuild it (a record of a config it does not know)."""
    arch, videos, run = record["arch"], int(record["videos"]), int(record["run"])
    resolved = upgrade_resolved(arch, record["config"])
    options = {key: value for key, value in resolved.items() if value is not None and key != "recipe"}
    if "channels" in options:
        options["channels"] = tuple(options["channels"])
    recipe = resolved.get("recipe") or "default"
    for count in range(len(RESOLVED_PER_RUN), -1, -1):  # left to the run first: how most runs were made
        for left in itertools.combinations(RESOLVED_PER_RUN, count):
            try:
                config = make_config(recipe, **{key: value for key, value in options.items() if key not in left})
            except (TTNError, TypeError) as exc:
                raise TTNError(f"{record['run_id']}: its config cannot be rebuilt by this ttn ({exc})") from None
            task = Task(arch, videos, run, config)
            if task.run_id == record["run_id"] and identity(task.resolved_config()) == identity(resolved):
                return config
    raise TTNError(f"{record['run_id']}: its config does not give its run id with this ttn: it cannot be retrained "
                   "exactly (train it with the options of its config instead)")


def check_same_data(record: Mapping[str, Any], data: str | os.PathLike[str], fingerprint: Mapping[str, Any]) -> None:
    """TTNError naming `data` if its fingerprint differs from the one `record` was trained on."""
    from ttn.experiment.records import FINGERPRINT_KEYS

    source = record.get("data") or {}
    differ = [key for key in FINGERPRINT_KEYS if key in source and source[key] != fingerprint.get(key)]
    if differ:
        raise TTNError(f"{data} is not the data {record['run_id']} was trained on (its {', '.join(differ)} differ): "
                       f"pass --data (or set TTN_DATA to) the file named {data_name(record)!r} in the record")


def data_name(record: Mapping[str, Any]) -> str:
    """The data file a record names: its file name (older records stored an absolute path)."""
    path = (record.get("data") or {}).get("path")
    return Path(path).name if isinstance(path, str) and path else "data.h5"


def read_run_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The record in `path` to train again; TTNError naming the file otherwise."""
    from ttn.experiment.records import read_record

    if not Path(path).is_file():
        raise TTNError(f"--from-record {path}: no such file (give the RUN_ID.json of a finished run)")
    return read_record(path)


def record_data(record: Mapping[str, Any], given: str | os.PathLike[str] | None) -> Path:
    """The data file to train `record`'s run on: `given` (--data or TTN_DATA), else the file the record names,
    in the current folder (or at the absolute path older records stored). TTNError if there is none."""
    if given is not None:
        return Path(given)
    stored = (record.get("data") or {}).get("path")
    for candidate in ([Path(stored)] if isinstance(stored, str) and stored else []) + [Path(data_name(record))]:
        if candidate.is_file():
            return candidate
    raise TTNError(f"{record['run_id']} was trained on {data_name(record)!r}, which is not in this folder: pass "
                   "--data FILE (or set TTN_DATA=FILE) with the file of that name")
