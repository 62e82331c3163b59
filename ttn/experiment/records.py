"""Result records: one JSON file per run, `<out>/<run_id>.json` (schema in the team contracts, "Result record").

Training writes them with `write_record` (atomic: a temporary file renamed into place, so a crash never
leaves a file that looks complete); sweeps test `record_exists`; the report reads a whole folder with
`load_records`, which skips torn or incomplete files with a warning and refuses records made on
different datasets (their accuracies are not comparable).
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ttn.errors import TTNError, first_line
from ttn.experiment.config import identity, upgrade_resolved
from ttn.registry import ARCHS, TRANSFORM_STATS, VIDEOS_MULTIPLE
from vmnist.file.format import SPLIT_SOURCES
from vmnist.infra.atomic import atomic_write_text
from vmnist.infra.files import TooLarge, read_limited

#: Version of the record layout this code writes and reads (2: candidate run ids, score, val_every, transforms).
SCHEMA_VERSION = 2

#: The `data` fields that identify the videos a run was trained and tested on (`vmnist.dataset_fingerprint`):
#: records that differ in any of them were made on different data. Fields a record lacks compare as None.
FINGERPRINT_KEYS = ("mnist_sha256", "seed", "frames", "height", "width", "generator_version", "trajectories",
                    "split_sizes")

#: Fields without which a record cannot enter the report.
REQUIRED_FIELDS = ("schema", "run_id", "arch", "videos", "run", "params", "test_accuracy", "val_accuracy", "config",
                   "data", "complete")

#: Most training videos a record can have trained on: the train split.
MAX_VIDEOS = SPLIT_SOURCES["train"].size
#: Largest record file read (a record of 100 epochs is ~20 kB).
MAX_RECORD_BYTES = 16 * 2**20

_RUN_ID = re.compile(r"^(?P<arch>[A-Za-z0-9_+.]+)-v(?P<videos>\d+)(?:-(?P<tag>[A-Za-z0-9_.+-]+))?-r(?P<run>\d+)$")
#: What an arch name in a record may look like (no control characters or escape sequences reach a terminal).
_ARCH_NAME = re.compile(r"^[A-Za-z0-9_+.]{1,40}$")

Fingerprint = tuple[tuple[str, Any], ...]


def make_run_id(arch: str, videos: int, run: int, tag: str = "") -> str:
    """The run id of (arch, training videos, candidate tag, run index), e.g. ("3dttn", 40, 0, "lr0.005") ->
    "3dttn-v40-lr0.005-r0" (the tag is `ttn.experiment.config.candidate_tag`; without one, "3dttn-v40-r0")."""
    if not _ARCH_NAME.match(arch):
        raise ValueError(f"arch must be a short name of letters, digits, '_', '+' or '.', got {arch!r}")
    if videos < 1 or run < 0:
        raise ValueError(f"videos must be >= 1 and run >= 0, got videos={videos}, run={run}")
    middle = f"-{tag}" if tag else ""
    return f"{arch}-v{int(videos)}{middle}-r{int(run)}"


def parse_run_id(run_id: str) -> tuple[str, int, str, int] | None:
    """(arch, videos, tag, run) of a run id made by `make_run_id`, or None if `run_id` is not one."""
    match = _RUN_ID.match(run_id)
    if match is None:
        return None
    return match["arch"], int(match["videos"]), match["tag"] or "", int(match["run"])


def record_path(out_dir: str | os.PathLike[str], run_id: str) -> Path:
    """Where the record of `run_id` lives in `out_dir`."""
    return Path(out_dir) / f"{run_id}.json"


def write_record(out_dir: str | os.PathLike[str], record: Mapping[str, Any]) -> Path:
    """Write `record` to `<out_dir>/<record["run_id"]>.json` atomically; return the path.

    The JSON goes to a hidden temporary file in the same folder, is flushed to disk, then renamed over the
    final name with `os.replace`: readers see either the old file, the new one, or none, never half a file.
    The caller sets `complete: true` (and everything else); this function does not change the record.
    """
    run_id = record.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise ValueError("record has no 'run_id' (make it with make_run_id(arch, videos, run))")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = record_path(out, run_id)
    text = json.dumps(record, indent=1, sort_keys=False) + "\n"
    return atomic_write_text(final, text)


def _whole(value: Any, low: int, high: int = 2**63 - 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool)) or _number(value)


def check_record(record: Any) -> str | None:
    """Why `record` (parsed JSON) cannot enter a report, or None if it can."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("complete") is not True:
        return "incomplete (no 'complete: true'; the run was interrupted or is still running)"
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        return f"missing fields {', '.join(missing)}"
    if record["schema"] != SCHEMA_VERSION:
        return f"schema {_short(record['schema'])}, this ttn reads schema {SCHEMA_VERSION} (upgrade ttn)"
    if not isinstance(record["arch"], str) or not _ARCH_NAME.match(record["arch"]):
        return "'arch' is not an architecture name (letters, digits, '_', '+', '.')"
    if record["arch"] not in ARCHS:
        return f"unknown architecture {record['arch']!r} (this ttn knows {', '.join(ARCHS)})"
    for name, low in (("run", 0), ("params", 1)):
        if not _whole(record[name], low):
            return f"'{name}' is not a whole number >= {low}"
    if not _whole(record["videos"], VIDEOS_MULTIPLE, MAX_VIDEOS) or record["videos"] % VIDEOS_MULTIPLE:
        return f"'videos' is not a multiple of {VIDEOS_MULTIPLE} from {VIDEOS_MULTIPLE} to {MAX_VIDEOS:,}"
    for name in ("test_accuracy", "val_accuracy"):
        if name == "test_accuracy" and record[name] is None and record.get("test_deferred") is True:
            continue  # a raced sweep's run, tested once its candidate is picked (`ttn.experiment.racing`)
        if not _number(record[name]) or not 0 <= record[name] <= 1:
            return f"'{name}' is not an accuracy between 0 and 1"
    if not isinstance(record["data"], dict):
        return "'data' is not an object"
    if not isinstance(record["config"], dict) or not all(
            _scalar(v) or isinstance(v, list) and all(map(_scalar, v)) for v in record["config"].values()):
        return "'config' is not an object of numbers, text, true/false, null or lists of them"
    return _optional_field_problem(record)


def _optional_field_problem(record: dict[str, Any]) -> str | None:
    """Why a field the report reads but a record may lack (history, train indices, transforms) is unusable, or
    None."""
    history = record.get("history")
    if history is not None and not (isinstance(history, list) and all(
            isinstance(e, dict) and _whole(e.get("epoch"), 0) and (e.get("val_accuracy") is None or _number(e["val_accuracy"]))
            for e in history)):
        return "'history' is not a list of epochs with a whole 'epoch' and a numeric 'val_accuracy'"
    indices = record.get("train_indices")
    if indices is not None and not (isinstance(indices, list) and all(_whole(i, 0) for i in indices)):
        return "'train_indices' is not a list of whole numbers"
    transforms = record.get("transforms")
    if transforms and not (isinstance(transforms, dict) and all(
            isinstance(stats, dict) and all(_number(stats.get(name)) for name in TRANSFORM_STATS)
            for stats in transforms.values())):
        return f"'transforms' is not an object of layers, each with the numbers {', '.join(TRANSFORM_STATS)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_json(path: Path) -> Any:
    """The JSON value in `path`; TTNError with the reason if it is not JSON this ttn can hold: torn or not UTF-8,
    nested too deep (RecursionError), a number of more than 4,300 digits (ValueError), larger than
    MAX_RECORD_BYTES."""
    try:
        return json.loads(read_limited(path, MAX_RECORD_BYTES).decode("utf-8"))
    except TooLarge:
        raise TTNError(f"larger than {MAX_RECORD_BYTES >> 20} MiB, not a record") from None
    except json.JSONDecodeError:
        raise TTNError("not valid JSON (torn write?)") from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else first_line(exc, limit=80)
        raise TTNError(f"not JSON this ttn reads ({reason})") from None


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The complete, valid record in `path`; TTNError naming the file and the reason otherwise."""
    path = Path(path)
    try:
        record = read_json(path)
    except TTNError as exc:
        raise TTNError(f"{path}: {exc}; delete it and run that run again") from None
    reason = check_record(record)
    if reason is not None:
        raise TTNError(f"{path}: {reason}; delete it and run that run again")
    return upgraded(record)


def upgraded(record: dict[str, Any]) -> dict[str, Any]:
    """A valid record with its config as this version writes it (`ttn.experiment.config.upgrade_resolved`: fields
    added since schema 2 and canonical init names), so that records of every version compare by config."""
    return record | {"config": upgrade_resolved(record["arch"], record["config"])}


def selection_val_accuracy(record: Mapping[str, Any]) -> float:
    """The validation accuracy the choice among candidates was made on: the record's own, or, for a run trained
    again for its deferred test because its model was on another machine (`retrained_for_test`), that of its first
    training. A run is trained again only once its candidate is picked, and on another CPU the same seed gives
    another run: reading the new accuracy could move a pick already made, so a restarted sweep or a report would
    decide differently from the sweep that trained the fresh runs."""
    before = record.get("retrained_for_test")
    if isinstance(before, Mapping) and _number(before.get("val_accuracy")):
        return float(before["val_accuracy"])
    return float(record["val_accuracy"])


def record_exists(out_dir: str | os.PathLike[str], run_id: str) -> bool:
    """True if `out_dir` holds a complete, valid record of `run_id` (what a resumed sweep may skip)."""
    path = record_path(out_dir, run_id)
    if not path.is_file():
        return False
    try:
        read_record(path)
    except TTNError:
        return False
    return True


def fingerprint_of(data: Mapping[str, Any]) -> Fingerprint:
    """The identity of a dataset from its `vmnist.dataset_fingerprint` (or a record's `data`): the fields named
    in FINGERPRINT_KEYS, hashable (the split sizes as sorted pairs)."""
    def plain(value: Any) -> Any:  # hashable, whatever JSON a record holds
        if isinstance(value, dict):
            return tuple(sorted((key, plain(item)) for key, item in value.items()))
        return tuple(map(plain, value)) if isinstance(value, list) else value

    return tuple((key, plain(data.get(key))) for key in FINGERPRINT_KEYS)


def data_fingerprint(record: Mapping[str, Any]) -> Fingerprint:
    """The identity of the dataset behind `record` (`fingerprint_of` its `data`)."""
    return fingerprint_of(record.get("data") or {})


def describe_fingerprint(fingerprint: Fingerprint) -> str:
    """A short readable form, e.g. "mnist_sha256=3f2a9c1b…, seed=0, frames=30, ..."."""
    parts = []
    for key, value in fingerprint:
        if isinstance(value, str) and len(value) > 12:
            value = value[:12] + "…"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def group_by_fingerprint(records: list[dict[str, Any]]) -> dict[Fingerprint, list[dict[str, Any]]]:
    """Records grouped by dataset fingerprint, in order of first appearance."""
    groups: dict[Fingerprint, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(data_fingerprint(record), []).append(record)
    return groups


def check_same_dataset(records: list[dict[str, Any]], where: str = "the results folder") -> Fingerprint | None:
    """The one fingerprint shared by all `records` (None if empty); TTNError if they mix datasets."""
    groups = group_by_fingerprint(records)
    if len(groups) <= 1:
        return next(iter(groups), None)
    (first, first_records), (second, second_records) = list(groups.items())[:2]
    raise TTNError(
        f"records in {where} come from {len(groups)} different datasets: "
        f"{first_records[0]['run_id']} has [{describe_fingerprint(first)}] but "
        f"{second_records[0]['run_id']} has [{describe_fingerprint(second)}]; "
        "accuracies on different data are not comparable: put each dataset's records in its own folder"
    )


@dataclass
class LoadedRecords:
    """What `load_records` found in a folder."""

    folder: Path
    records: list[dict[str, Any]]
    fingerprint: Fingerprint | None
    warnings: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def load_records(folder: str | os.PathLike[str]) -> LoadedRecords:
    """All complete records (`*.json`, not in sub-folders) of `folder`, from one dataset.

    Torn, incomplete or invalid record files are skipped with a warning; JSON files that are not
    records at all (no "schema" and a name that is no run id) are ignored. Two records of the same
    (arch, videos, run) keep the first by file name, with a warning. Raises TTNError if the folder is
    missing or holds records of different datasets.
    """
    folder = Path(folder)
    if not folder.exists():
        raise TTNError(f"results folder {folder} does not exist: run `ttn sweep` (or `ttn train`) first")
    if not folder.is_dir():
        raise TTNError(f"{folder} is not a folder: give the folder that holds the result records (*.json)")
    loaded = LoadedRecords(folder=folder, records=[], fingerprint=None)
    seen: dict[tuple[Any, ...], Path] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(".") or not path.is_file():
            continue
        looks_like_record = parse_run_id(path.stem) is not None
        try:
            record = read_json(path)
        except TTNError as exc:
            loaded.warnings.append(f"skipped {path.name}: {exc}; delete it and rerun that run")
            loaded.skipped.append(path)
            continue
        if not looks_like_record and not (isinstance(record, dict) and "schema" in record):
            continue  # some other JSON file (e.g. a sweep plan), not a record
        reason = check_record(record)
        if reason is not None:
            loaded.warnings.append(f"skipped {path.name}: {reason}")
            loaded.skipped.append(path)
            continue
        record = upgraded(record)
        key = (record["arch"], record["videos"], record["run"], identity(record["config"]))
        if key in seen:
            loaded.warnings.append(
                f"skipped {path.name}: same arch, videos, run and config as {seen[key].name} (duplicate record)"
            )
            loaded.skipped.append(path)
            continue
        seen[key] = path
        loaded.records.append(record)
    loaded.fingerprint = check_same_dataset(loaded.records, where=str(folder))
    return loaded
