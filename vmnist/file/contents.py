"""A Video-MNIST file's contents are input: every attribute and dataset a reader uses is checked here first.

`check_attributes` turns the root attributes into plain Python values of the contract's types (`config` and `shards`
decoded from JSON); `check_split` checks a split's datasets (kinds, dtypes, shapes, rows, shard coverage, labels
0-9). Anything else is a DatasetError naming the file, what is wrong and how to render it again, before any reader
meets it mid-way (a float video cast silently, a label 12 in a confusion matrix, a version "abc").
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

from vmnist.file.format import (FORMAT_NAME, FORMAT_VERSION, FRAME_SIZE, MAX_FRAMES, MAX_SEED, REQUIRED_ATTRIBUTES,
                                SEED_RANGE, SPLIT_DATASETS, SPLIT_SOURCES, SPLITS)
from vmnist.file.shards import SHARDS_ATTRIBUTE, ShardRecord, decode_shards, plain, regenerate_hint, shard_records
from vmnist.infra.errors import DatasetError
from vmnist.sources.digits import NUM_CLASSES

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _whole(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


#: What each required attribute must be (besides `format`, `complete` and `config`, checked on their own).
_ATTRIBUTE_TESTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "generator_version": (lambda value: isinstance(value, str), "text"),
    "seed": (_whole(0, MAX_SEED), f"a whole number {SEED_RANGE}"),
    "frames": (_whole(2, MAX_FRAMES), f"a whole number 2..{MAX_FRAMES}"),
    "height": (_whole(FRAME_SIZE, FRAME_SIZE), str(FRAME_SIZE)),
    "width": (_whole(FRAME_SIZE, FRAME_SIZE), str(FRAME_SIZE)),
    "mnist_sha256": (lambda value: isinstance(value, str) and _SHA256.fullmatch(value) is not None,
                     "64 hexadecimal digits"),
}


def how_to_render(path: str | Path) -> str:
    """How to render the (unsharded) file `path` again."""
    return f"render it again with `vmnist generate --out {path} --force`"


def regenerate(f: h5py.File) -> str:
    """How to render the open file `f` again (with its shard size, if it has a readable list of shards)."""
    try:
        records = shard_records(f)
    except DatasetError:
        records = {}
    if records:
        return regenerate_hint(Path(f.filename), records)
    return how_to_render(f.filename)


def check_attributes(f: h5py.File) -> dict[str, Any]:
    """The root attributes of an open Video-MNIST file as plain values (`config` a dict, `shards` the decoded
    table); DatasetError naming the file for a foreign, incomplete, newer or damaged one."""
    path, fix = f.filename, regenerate(f)
    attrs = _plain_attributes(f)
    if not isinstance(attrs.get("format"), str) or attrs["format"] != FORMAT_NAME:  # an array compares per item
        raise DatasetError(f"{path}: an HDF5 file but not a Video-MNIST file (no format='{FORMAT_NAME}'); {fix}")
    if attrs.get("complete") is not True:
        raise DatasetError(f"{path}: incomplete (generation was interrupted); {fix}")
    if "format_version" in attrs:
        _check_version(path, attrs["format_version"], fix)
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in attrs]
    if missing:
        raise DatasetError(f"{path}: missing attributes {', '.join(missing)}; {fix}")
    wrong = [f"{name} is {_describe(attrs[name])}, not {expected}"
             for name, (test, expected) in _ATTRIBUTE_TESTS.items() if not test(attrs[name])]
    if wrong:
        raise DatasetError(f"{path}: damaged attributes ({'; '.join(wrong)}); {fix}")
    attrs["config"] = _json_object(path, "config", attrs["config"], fix)
    if SHARDS_ATTRIBUTE in attrs:
        decode_shards(attrs[SHARDS_ATTRIBUTE], path)  # DatasetError if it is not a table of shards beside the file
        attrs[SHARDS_ATTRIBUTE] = json.loads(attrs[SHARDS_ATTRIBUTE])
    return attrs


def _plain_attributes(f: h5py.File) -> dict[str, Any]:
    try:
        return {key: plain(value) for key, value in f.attrs.items()}
    except (OSError, TypeError, ValueError) as exc:  # an attribute of a type h5py cannot read
        raise DatasetError(f"{f.filename}: unreadable attributes ({type(exc).__name__}); {regenerate(f)}") from None


def _check_version(path: str, version: Any, fix: str) -> None:
    if not _whole(1, 2**31)(version):
        raise DatasetError(f"{path}: format_version {_describe(version)} is not a version number; {fix}")
    if version > FORMAT_VERSION:
        raise DatasetError(f"{path}: format version {version} is newer than this vmnist reads ({FORMAT_VERSION}); "
                           "upgrade vmnist")


def _json_object(path: str, name: str, raw: Any, fix: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # not text, not JSON, nested too deep, a number too long
        value = None
    if not isinstance(value, dict):
        raise DatasetError(f"{path}: its '{name}' attribute is not a JSON object; {fix}")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array {value.dtype} {value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- splits --------------------------------------------------------------------------------------------------------
#: Each dataset of a split: what its dtype must be (a name and a test), and its shape after the row axis, of T frames.
_DATASETS: dict[str, tuple[str, Callable[[np.dtype], bool], Callable[[int], tuple[int, ...]]]] = {
    "videos": ("uint8", lambda dtype: dtype == np.uint8, lambda frames: (frames, FRAME_SIZE, FRAME_SIZE)),
    "labels": ("integers", lambda dtype: dtype.kind in "ui", lambda frames: ()),
    "source_index": ("integers", lambda dtype: dtype.kind in "ui", lambda frames: ()),
    "params": ("floats", lambda dtype: dtype.kind == "f", lambda frames: (frames, 4)),
}


def check_split(f: h5py.File, split: str) -> h5py.Group:
    """The group of `split` in an open file whose attributes passed `check_attributes`, with its four datasets of
    the contract's dtypes and shapes, one row per label, at most the split's videos, covered by its shards and
    labels 0-9; DatasetError otherwise."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if split not in f:
        present = ", ".join(s for s in SPLITS if s in f) or "none"
        raise DatasetError(f"{f.filename}: has no {split!r} split (has: {present}); generate it with `--splits {split}`")
    group = f[split]
    damaged = f"{f.filename}: split {split!r} is damaged"
    if not isinstance(group, h5py.Group):
        raise DatasetError(f"{damaged}: not a group; {regenerate(f)}")
    links = {name: group.get(name, getlink=True) for name in SPLIT_DATASETS}
    missing = [name for name, link in links.items() if link is None]
    if missing:
        raise DatasetError(f"{f.filename}: split {split!r} lacks {', '.join(missing)}; {regenerate(f)}")
    foreign = [name for name, link in links.items()  # a link to another file would open that file, whatever it is
               if not isinstance(link, h5py.HardLink) or not isinstance(group[name], h5py.Dataset)]
    if foreign:
        raise DatasetError(f"{damaged}: {', '.join(foreign)} not a dataset of this file; {regenerate(f)}")
    rows = {name: len(group[name].shape) and group[name].shape[0] for name in SPLIT_DATASETS}  # a scalar: 0 rows
    wrong = [f"{rows[name]} {name}" for name in SPLIT_DATASETS if rows[name] != rows["labels"]]
    if wrong:  # hand-edited or damaged: reading would fail mid-way (IndexError, unallocated chunks)
        raise DatasetError(f"{damaged}: {', '.join(wrong)} for {rows['labels']} labels; {regenerate(f)}")
    shards = shard_records(f).get(split, [])
    problem = _layout_problem(group, rows["labels"], split, int(plain(f.attrs["frames"])))
    problem = problem or _shards_problem(group, shards, rows["labels"])
    problem = problem or _labels_problem(group["labels"])
    if problem:
        raise DatasetError(f"{damaged}: {problem}; {regenerate(f)}")
    return group


def _layout_problem(group: h5py.Group, n: int, split: str, frames: int) -> str | None:
    """What is wrong with the dtypes and shapes of a split's datasets of `n` rows, or None."""
    if n > SPLIT_SOURCES[split].size:
        return f"{n:,} videos, more than the {SPLIT_SOURCES[split].size:,} digits of its MNIST source"
    for name, (kind, test, tail) in _DATASETS.items():
        dataset = group[name]
        expected = (n, *tail(frames))
        if not test(dataset.dtype) or dataset.shape != expected:
            return f"{name} are {dataset.dtype} {dataset.shape}, expected {kind} {expected}"
    return None


def _shards_problem(group: h5py.Group, records: list[ShardRecord], n: int) -> str | None:
    """What is wrong with the shards of a split of `n` rows (sorted by start), or None if they tile rows 0..n and its
    virtual datasets read from them only (HDF5 would open any file a virtual dataset names, a FIFO included)."""
    if records and [0, *(r.stop for r in records)] != [*(r.start for r in records), n]:
        return f"its shards do not hold rows 0..{n} each once ({', '.join(f'{r.start}..{r.stop}' for r in records)})"
    listed = {record.file for record in records}
    for name in SPLIT_DATASETS:
        if group[name].is_virtual:
            unlisted = sorted({source.file_name for source in group[name].virtual_sources()} - listed)
            if unlisted:
                return f"{name} read from {unlisted[0]!r}, not one of its shards"
    return None


def _labels_problem(labels: h5py.Dataset) -> str | None:
    try:
        values = labels[:]
    except (OSError, ValueError):  # a damaged chunk
        return "its labels cannot be read"
    if values.size and (values.min() < 0 or values.max() >= NUM_CLASSES):
        return f"labels {int(values.min())}..{int(values.max())}, expected the digits 0..{NUM_CLASSES - 1}"
    return None
