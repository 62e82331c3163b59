"""Refactors of the training engine change no bit of what a run computes: tiny fixed-seed runs of every arch and
recipe (best and last score, lr decay, frozen transforms, a diverging lr) against their records as commit b1bbe4c
wrote them (tests/experiment/pinned_runs.json), field by field. Every check runs on every CPU:

- the same run trained twice in one process gives bit-identical records and weights;
- on the CPU the records were written on (`ttn.experiment.provenance.cpu_name`), with the thread count they were
  written with (2: the training step in two shards, `ttn.cpu.in_shards`), the records are equal to the pinned
  ones exactly (floats as JSON text, NaN equal to NaN);
- on any other CPU, float rounding differs, so the records are equal to the pinned ones in every field that is not
  a float (run ids, seeds, indices, parameter counts, epochs chosen, divergence) and within `RELATIVE_TOLERANCE`
  in every float. The tolerance is tested where the pinned CPU is at hand too: one thread instead of two sums the
  gradient in another order, which on the pinning CPU moved floats by at most 3e-6 relative (transform statistics;
  losses ~1e-7) and no accuracy; 1e-3 leaves a margin of over 300x, while a flipped prediction moves an accuracy
  by 1/40 or more.

To pin again after an intended change of what a run computes: ``python tests/experiment/test_pinned_runs.py``
(and say why in the commit).
"""
from __future__ import annotations

import json
import math
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
CIRCUMSTANCES = ("wall_time_s", "test_time_s", "cpu_time_s", "finished_at", "versions", "data", "command", "options")
#: How far (relative) a float of a record may move on a CPU other than the pinning one (module docstring).
RELATIVE_TOLERANCE = 1e-3
#: Below this, floats count as equal whatever their ratio (a statistic of transforms that barely moved).
ABSOLUTE_TOLERANCE = 1e-12


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def trained(data: Path, arch: str, videos: int, run: int, recipe: str, options: dict[str, Any]) -> Any:
    """The TrainResult (record and model) of one of `RUNS` on `data`."""
    from ttn.experiment.config import make_config
    from ttn.experiment.training import train_run

    return train_run(data, arch, videos, run, make_config(recipe, **options))


def as_pinned(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its `CIRCUMSTANCES`, as JSON reads it back."""
    return json.loads(json.dumps({k: v for k, v in record.items() if k not in CIRCUMSTANCES}))


def pinned_records(data: Path, threads: int = THREADS) -> list[dict[str, Any]]:
    """The records of `RUNS` on `data` trained with `threads` torch threads, as `as_pinned` gives them."""
    with torch_threads(threads):
        return [as_pinned(trained(data, *spec).record) for spec in RUNS]


def differences(record: Any, expected: Any, where: str = "") -> list[str]:
    """Where `record` and `expected` differ beyond what another CPU's rounding explains: any difference of a value
    that is not a float (types, keys, lengths, ints, strings), or floats apart by more than RELATIVE_TOLERANCE
    (NaN equals NaN, an infinity itself)."""
    if isinstance(record, float) and isinstance(expected, float):
        same = (math.isnan(record) and math.isnan(expected)) or math.isclose(
            record, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
        return [] if same else [f"{where}: {record!r} != {expected!r}"]
    if isinstance(record, dict) and isinstance(expected, dict):
        if record.keys() != expected.keys():
            return [f"{where}: keys {sorted(record.keys() ^ expected.keys())} differ"]
        return [d for key in expected for d in differences(record[key], expected[key], f"{where}.{key}")]
    if isinstance(record, list) and isinstance(expected, list):
        if len(record) != len(expected):
            return [f"{where}: {len(record)} items != {len(expected)}"]
        return [d for i, (a, b) in enumerate(zip(record, expected)) for d in differences(a, b, f"{where}[{i}]")]
    return [] if _json(record) == _json(expected) else [f"{where}: {record!r} != {expected!r}"]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def tiny_data(folder: Path) -> Path:
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(folder / "tiny.h5", per_split=40)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_data(tmp_path_factory.mktemp("pinned"))


@pytest.fixture(scope="module")
def pinned() -> dict[str, Any]:
    return json.loads(PINNED.read_text())


def test_fixed_seed_runs_compute_what_they_computed(data: Path, pinned: dict[str, Any]) -> None:
    """Exactly on the pinning CPU; elsewhere, every non-float exactly and every float within the tolerance."""
    from ttn.experiment.provenance import cpu_name

    records = pinned_records(data)
    assert len(records) == len(pinned["records"]) == len(RUNS)
    assert any(record["diverged_at_epoch"] for record in records), "one pinned run diverges"
    for record, expected in zip(records, pinned["records"]):
        assert differences(record, expected, expected["run_id"]) == []
        if cpu_name() == pinned["cpu"]:
            for key in expected.keys() | record.keys():  # as JSON text: exact floats, and NaN equals NaN
                assert _json(record.get(key)) == _json(expected.get(key)), f"{expected['run_id']}: {key}"


@pytest.mark.parametrize("spec", [RUNS[1], RUNS[3]], ids=["3dttn-lr-decay", "3dttn-authors"])
def test_a_run_trained_twice_on_this_cpu_is_bit_identical(data: Path, spec: tuple) -> None:
    """On any CPU: the same run again gives the same record, and the same weights to the bit."""
    with torch_threads(THREADS):
        first, second = trained(data, *spec), trained(data, *spec)
    assert _json(as_pinned(first.record)) == _json(as_pinned(second.record))
    weights, again = first.model.state_dict(), second.model.state_dict()
    assert weights.keys() == again.keys()
    for name, tensor in weights.items():
        assert torch.equal(tensor, again[name]), name


def test_another_summation_order_stays_within_the_tolerance(data: Path, pinned: dict[str, Any]) -> None:
    """One thread (one shard: the gradient summed in another order) stands in for another CPU's rounding."""
    for record, expected in zip(pinned_records(data, threads=1), pinned["records"]):
        assert differences(record, expected, expected["run_id"]) == []


def test_differences_tell_rounding_from_a_changed_result(pinned: dict[str, Any]) -> None:
    """The cross-CPU comparison is not vacuous: it lets rounding through and nothing else."""
    expected = pinned["records"][1]
    record = json.loads(json.dumps(expected))
    assert differences(record, expected) == []
    record["history"][0]["train_loss"] *= 1 + 1e-5  # rounding
    assert differences(record, expected) == []
    record["history"][0]["train_loss"] *= 1 + 1e-2  # a change of what the run computes
    assert differences(record, expected) == [f".history[0].train_loss: {record['history'][0]['train_loss']!r} != "
                                             f"{expected['history'][0]['train_loss']!r}"]
    changes = {"best_epoch": expected["best_epoch"] + 1, "test_accuracy": expected["test_accuracy"] + 1 / 40,
               "train_indices": expected["train_indices"][:-1], "diverged_at_epoch": 2}
    for key, value in changes.items():
        changed = json.loads(json.dumps(expected)) | {key: value}
        assert differences(changed, expected), key


if __name__ == "__main__":
    import tempfile

    from ttn.experiment.provenance import cpu_name, git_commit

    with tempfile.TemporaryDirectory() as folder:
        records = pinned_records(tiny_data(Path(folder)))
    PINNED.write_text(json.dumps({"cpu": cpu_name(), "threads": THREADS, "git": git_commit(), "records": records},
                                 indent=1) + "\n")
    print(f"wrote {PINNED}: {len(records)} records")
