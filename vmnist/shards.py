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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import h5py

from vmnist.errors import DatasetError

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


def decode_shards(raw: str | bytes) -> dict[str, list[ShardRecord]]:
    """The shards listed in a main file, per split, in row order."""
    table = json.loads(raw)
    return {
        split: sorted((ShardRecord(split=split, **entry) for entry in entries), key=lambda r: r.start)
        for split, entries in table.items()
    }


def shard_records(f: h5py.File) -> dict[str, list[ShardRecord]]:
    """The shards of an open main file per split ({} for an unsharded file)."""
    raw = f.attrs.get(SHARDS_ATTRIBUTE)
    return {} if raw is None else decode_shards(raw)


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


def open_shard(main: Path, record: ShardRecord, dataset_id: str, hint: str) -> h5py.File:
    """Open a shard read-only after checking that it is the one the main file lists."""
    path = record.path(main)
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as exc:
        raise DatasetError(f"{path}: shard of {main} is unreadable ({exc.__class__.__name__}); {hint}") from None
    attrs = f.attrs
    expected = {"format": SHARD_FORMAT, "dataset_id": dataset_id, "split": record.split, "start": record.start,
                "stop": record.stop, "complete": True}
    wrong = [key for key, value in expected.items() if _plain(attrs.get(key)) != value]
    if not wrong and f["videos"].shape[0] != record.size:
        wrong = ["videos"]
    if wrong:
        f.close()
        raise DatasetError(f"{path}: not the shard {main} expects (differs in {', '.join(wrong)}); {hint}")
    return f


def referenced_shards(main: Path) -> list[Path]:
    """Shard files an existing main file lists ([] if it is not a readable sharded Video-MNIST file)."""
    try:
        with h5py.File(main, "r") as f:
            return [record.path(main) for records in shard_records(f).values() for record in records]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if hasattr(value, "item"):
        return value.item()
    return value
