"""Refactors of the training engine change no bit of what a run computes: tiny fixed-seed runs of every arch and
recipe (best and last score, lr decay, frozen transforms, a diverging lr) against their records as commit b1bbe4c
wrote them (tests/experiment/pinned_runs.json), field by field, floats compared exactly.

Float rounding differs between CPUs (`ttn.experiment.provenance.cpu_name`), so exact equality is asserted on the
CPU the records were written on, with the thread count they were written with (2: the sharded backward of
`ttn.cpu.backward` in two shards); elsewhere the test is skipped. To pin again after an intended change of what a
run computes: ``python tests/experiment/test_pinned_runs.py`` (and say why in the commit).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

PINNED = Path(__file__).with_name("pinned_runs.json")
THREADS = 2
#: What the default recipe's lr and validation were when the runs were pinned (given explicitly since the
#: defaults became the per-arch lrs and 300 videos every 10th epoch).
PINNED_DEFAULTS = {"lr": 0.02, "val_every": 1}
#: (arch, videos, run, recipe, options) of each pinned run.
RUNS: list[tuple[str, int, int, str, dict[str, Any]]] = [
    ("3d", 10, 0, "default", PINNED_DEFAULTS | {"epochs": 3, "channels": (2, 3), "val_size": 12}),
    ("3dttn", 20, 1, "default", PINNED_DEFAULTS | {"epochs": 5, "channels": (2, 3), "val_size": 12, "lr_decay": 0.5,
                                                   "decay_every": 1, "lr": 0.05}),
    ("2plus1d", 20, 2, "default", PINNED_DEFAULTS | {"epochs": 2, "channels": (2, 3), "val_size": 12,
                                                     "conv_init": "tied", "init_scale": 0.5}),
    ("3dttn", 10, 0, "authors", {"epochs": 4, "channels": (2, 3), "val_size": 12, "val_every": 2}),
    ("3dttn", 10, 3, "default", PINNED_DEFAULTS | {"epochs": 2, "channels": (2, 3), "val_size": 0,
                                                   "freeze_transforms": True, "theta": "shared", "batch_size": 4}),
    ("3d", 10, 1, "default", PINNED_DEFAULTS | {"epochs": 3, "channels": (2, 3), "val_size": 12, "lr": 1e4}),  # diverges
]
#: Record fields that say when, where, how fast and by which command a run was made, not what it computed.
CIRCUMSTANCES = ("wall_time_s", "test_time_s", "finished_at", "versions", "data", "command", "options")


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pinned_records(data: Path) -> list[dict[str, Any]]:
    """The records of `RUNS` on `data` without their `CIRCUMSTANCES`, as JSON reads them back."""
    from ttn.experiment.config import make_config
    from ttn.experiment.training import train_run

    records = []
    with torch_threads(THREADS):
        for arch, videos, run, recipe, options in RUNS:
            record = train_run(data, arch, videos, run, make_config(recipe, **options)).record
            records.append(json.loads(json.dumps({k: v for k, v in record.items() if k not in CIRCUMSTANCES})))
    return records


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def tiny_data(folder: Path) -> Path:
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(folder / "tiny.h5", per_split=40)


def test_fixed_seed_runs_compute_what_they_computed(tmp_path: Path) -> None:
    from ttn.experiment.provenance import cpu_name

    pinned = json.loads(PINNED.read_text())
    if cpu_name() != pinned["cpu"]:
        pytest.skip(f"records pinned on {pinned['cpu']!r}; float rounding differs on {cpu_name()!r}")
    records = pinned_records(tiny_data(tmp_path))
    assert len(records) == len(pinned["records"])
    assert any(record["diverged_at_epoch"] for record in records), "one pinned run diverges"
    for record, expected in zip(records, pinned["records"]):
        for key in expected.keys() | record.keys():  # as JSON text: exact floats, and NaN equals NaN
            assert _json(record.get(key)) == _json(expected.get(key)), f"{expected['run_id']}: {key}"


if __name__ == "__main__":
    import tempfile

    from ttn.experiment.provenance import cpu_name, git_commit

    with tempfile.TemporaryDirectory() as folder:
        records = pinned_records(tiny_data(Path(folder)))
    PINNED.write_text(json.dumps({"cpu": cpu_name(), "threads": THREADS, "git": git_commit(), "records": records},
                                 indent=1) + "\n")
    print(f"wrote {PINNED}: {len(records)} records")
