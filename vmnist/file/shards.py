"""Shard files: a split stored in files of at most N videos, presented as one dataset by the main file.

`vmnist generate --out data.h5 --shard-size N` writes, beside ``data.h5``, the shard files
``data-train-00000.h5``, ``data-train-00001.h5``, ... (``<stem>-<split>-<index>``), each holding rows
[start, stop) of its split's ``videos`` (one gzip chunk per video, as in an unsharded file) and ``params``.
The main file keeps the root attributes, ``labels`` and ``source_index``, and presents ``videos`` and ``params``
as HDF5 virtual datasets over the shards, so any HDF5 reader sees one dataset per split.

HDF5 reads a missing shard of a virtual dataset as zeros without a word, so the main file also lists its shards
(root attribute ``shards``: JSON ``{split: [{file, start, stop, bytes}, ...]}``) and every vmnist reader checks
that each listed shard exists with its recorded size before reading anything. vmnist reads videos straight from
the shards (one open handle per shard, direct chunk reads); each shard carries ``format = "video-mnist-shard"``,
the main file's ``dataset_id``, its split and rows, which are checked when it is opened.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vmnist.file.format import FRAME_SIZE, SPLITS
from vmnist.infra.errors import DatasetError, first_line
from vmnist.infra.files import not_regular

SHARD_FORMAT = "video-mnist-shard"
#: Root attribute of a sharded main file listing its shards.
SHARDS_ATTRIBUTE = "shards"
#: Datasets of a split stored in the shards (virtual in the main file); the others stay in the main file.
SHARDED_DATASETS = ("videos", "params")
#: Digits of the shard index in file names.
INDEX_DIGITS = 5


@dataclass(frozen=True)
class ShardRecord:
    """One shard: rows [start, stop) of `split`, stored in `file` (a name beside the main file) of `bytes` bytes."""

    split: str
    start: int
    stop: int
    file: str
    bytes: int = 0

    def path(self, main: Path) -> Path:
        return Path(main).parent / self.file

    @property
    def size(self) -> int:
        return self.stop - self.start


#: The fields of an entry of the `shards` attribute.
_ENTRY_FIELDS = tuple(f.name for f in fields(ShardRecord) if f.name != "split")


def shard_file_name(out: Path, split: str, index: int) -> str:
    """``<stem>-<split>-<index>.h5`` of the main file `out`."""
    return f"{out.stem}-{split}-{index:0{INDEX_DIGITS}d}{out.suffix or '.h5'}"


def plan_shards(out: Path, sizes: dict[str, int], shard_size: int) -> list[ShardRecord]:
    """The shards of a file with `sizes` videos per split, at most `shard_size` videos each (split by split)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    return [
        ShardRecord(split, start, min(start + shard_size, size), shard_file_name(out, split, index))
        for split, size in sizes.items()
        for index, start in enumerate(range(0, size, shard_size))
    ]


def encode_shards(records: list[ShardRecord]) -> str:
    """The `shards` attribute: JSON {split: [{file, start, stop, bytes}, ...]}."""
    table: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        entry = asdict(record)
        del entry["split"]
        table.setdefault(record.split, []).append(entry)
    return json.dumps(table, sort_keys=True)


def decode_shards(raw: Any, main: str | Path = "main file") -> dict[str, list[ShardRecord]]:
    """The shards listed in a main file, per split, in row order.

    The attribute is input like any other content: anything but a JSON table {split: [{file, start, stop, bytes}]}
    of plain file names (no folder: a shard lives beside its main file) and whole numbers is a DatasetError naming
    `main`.
    """
    try:
        table = json.loads(raw)
        if not isinstance(table, dict) or not set(table) <= set(SPLITS):
            raise ValueError(f"expected an object keyed by {', '.join(SPLITS)}")
        return {split: sorted(map(partial(_shard_record, split), _listed(entries)), key=lambda r: r.start)
                for split, entries in table.items()}
    except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise DatasetError(f"{main}: its 'shards' attribute is damaged ({first_line(exc, limit=200)}); "
                           f"render it again with `vmnist generate --out {main} --force`") from None


def _listed(entries: Any) -> list[Any]:
    if not isinstance(entries, list):
        raise ValueError("a split's shards must be a list")
    return entries


def _shard_record(split: str, entry: Any) -> ShardRecord:
    """One entry of the `shards` attribute, checked (ValueError saying what is wrong)."""
    if not isinstance(entry, dict) or not {"file", "start", "stop"} <= set(entry) <= set(_ENTRY_FIELDS):
        raise ValueError(f"a shard entry must hold {', '.join(_ENTRY_FIELDS)}")
    record = ShardRecord(split=split, **entry)
    if not is_plain_name(record.file):
        raise ValueError(f"shard file {record.file!r} is not a file name beside the main file")
    numbers = (record.start, record.stop, record.bytes)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers) or not 0 <= record.start < record.stop \
            or record.bytes < 0:
        raise ValueError(f"shard {record.file} has rows {record.start!r}..{record.stop!r} and {record.bytes!r} bytes")
    return record


def is_plain_name(name: Any) -> bool:
    """Whether `name` is a file name without any folder part (so it names a file beside the main file)."""
    return isinstance(name, str) and name.isprintable() and name not in ("", ".", "..") and not any(c in name for c in "/\\")




def shard_records(f: h5py.File) -> dict[str, list[ShardRecord]]:
    """The shards of an open main file per split ({} for an unsharded file); DatasetError if the list is damaged."""
    raw = f.attrs.get(SHARDS_ATTRIBUTE)
    return {} if raw is None else decode_shards(raw, f.filename)


def regenerate_hint(main: Path, records: dict[str, list[ShardRecord]]) -> str:
    largest = max((r.size for rs in records.values() for r in rs), default=1)
    return f"render it again with `vmnist generate --out {main} --shard-size {largest} --force`"


def check_shards_present(main: Path, records: dict[str, list[ShardRecord]]) -> None:
    """Raise DatasetError naming the first shard that is missing or not of its recorded size."""
    for shards in records.values():
        for record in shards:
            path = record.path(main)
            if not path.is_file():
                raise DatasetError(f"{path}: shard of {main} is missing; {regenerate_hint(main, records)}")
            size = path.stat().st_size
            if size != record.bytes:
                raise DatasetError(
                    f"{path}: shard of {main} is truncated or was changed ({size:,} bytes, expected {record.bytes:,}); "
                    f"{regenerate_hint(main, records)}"
                )


def open_shard(main: Path, record: ShardRecord, dataset_id: str, hint: str, frames: int | None = None) -> h5py.File:
    """Open a shard read-only after checking that it is the one the main file lists, with uint8 videos of its rows
    (of `frames` frames, if given)."""
    path = record.path(main)
    why = not_regular(path)
    if why is not None:
        raise DatasetError(f"{path}: shard of {main} is {why}; {hint}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: shard of {main} is unreadable ({exc.__class__.__name__}); {hint}") from None
    expected = {"format": SHARD_FORMAT, "dataset_id": dataset_id, "split": record.split, "start": record.start,
                "stop": record.stop, "complete": True}
    try:
        actual = {key: plain(f.attrs.get(key)) for key in expected}
        wrong = [key for key, value in expected.items() if type(actual[key]) is not type(value) or actual[key] != value]
    except (OSError, TypeError):  # an attribute h5py cannot read
        wrong = ["attributes"]
    if not wrong and not _shard_videos(f.get("videos"), record.size, frames):
        wrong = ["videos"]
    if wrong:
        f.close()
        raise DatasetError(f"{path}: not the shard {main} expects (differs in {', '.join(wrong)}); {hint}")
    return f


def _shard_videos(videos: Any, rows: int, frames: int | None) -> bool:
    """Whether `videos` is a shard's videos dataset: uint8 (rows, T, 28, 28), T = `frames` if given."""
    return isinstance(videos, h5py.Dataset) and not videos.is_virtual and videos.dtype == np.uint8 and \
        videos.ndim == 4 and videos.shape == (rows, frames or videos.shape[1], FRAME_SIZE, FRAME_SIZE)


def own_shards(main: Path) -> list[Path]:
    """The shard files that `vmnist generate --force` may delete with the existing main file `main`.

    The `shards` attribute of an old file is input, not an order: a shard is only deleted if it is listed there, is
    named as `main`'s own k-th shard of its split (`shard_file_name`, so it lies in `main`'s folder) and opens as the
    shard of that file (`open_shard`: format, dataset id, split, rows). [] if `main` is not a readable sharded file.
    """
    if not_regular(main) is not None:
        return []
    try:
        with h5py.File(main, "r") as f:
            records = shard_records(f)
            dataset_id = plain(f.attrs.get("dataset_id"))
    except (OSError, DatasetError):
        return []
    named = [record for rs in records.values() for k, record in enumerate(rs)
             if record.file == shard_file_name(main, record.split, k)]
    return [record.path(main) for record in named if isinstance(dataset_id, str) and _checks_out(main, record, dataset_id)]


def _checks_out(main: Path, record: ShardRecord, dataset_id: str) -> bool:
    try:
        open_shard(main, record, dataset_id, hint="").close()
    except DatasetError:
        return False
    return True


def plain(value: Any) -> Any:
    """HDF5 attribute -> plain Python value (bytes decoded, numpy scalars as Python numbers; arrays stay arrays)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
