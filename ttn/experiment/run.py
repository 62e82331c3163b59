"""One path for a run: `ttn train` and every task of a sweep go through these two functions.

    check_runs(tasks, data, out)     pre-flight, before any claim: the data can supply every task, the results
                                     folder agrees with them, room for checkpoints (once per plan: a sweep checks
                                     all its tasks at once, `ttn train` its one)
    train_task(task, data, out)      claim -> record check -> train_run (train, test, write) -> Outcome

`ttn.experiment.sweep.run_task` is `train_task` as a sweep's runner calls it (a small summary back).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ttn.errors import TTNError
from ttn.experiment.config import PROTOCOL
from ttn.experiment.task import Task
from ttn.experiment.training import ProgressCallback, TrainResult

#: What became of a task: trained here, already recorded (nothing done), or claimed by another process.
TRAINED, RECORDED, ELSEWHERE = "trained", "recorded", "elsewhere"


@dataclass
class Outcome:
    """What `train_task` did with a task: its `status` (TRAINED, RECORDED, ELSEWHERE), the complete record (None
    when ELSEWHERE) and, when TRAINED, the TrainResult (model, record and checkpoint paths)."""

    task: Task
    status: str
    record: dict[str, Any] | None = None
    result: TrainResult | None = None

    def summary(self) -> dict[str, Any]:
        """The sweep's report of it: run_id, test_accuracy, wall_time_s, skipped, elsewhere (and val_accuracy
        when trained)."""
        summary = {"run_id": self.task.run_id, "test_accuracy": None, "wall_time_s": 0.0, "skipped": True,
                   "elsewhere": self.status == ELSEWHERE}
        if self.record is not None:
            summary["test_accuracy"] = self.record["test_accuracy"]
        if self.status == TRAINED:
            summary |= {"val_accuracy": self.record["val_accuracy"], "wall_time_s": self.record["wall_time_s"],
                        "skipped": False}
        return summary


def check_runs(tasks: Sequence[Task], data: str | os.PathLike[str], out: str | os.PathLike[str],
               save_model: bool = False) -> dict[str, Any]:
    """Every check before a claim (TTNError / DatasetError naming the problem): the data file can supply each task
    (`check_tasks_fit`; the data file first, so that a missing or foreign one is named before the folder), `out`
    holds no records of another dataset or protocol (`check_out_dir`), and with `save_model` it has room for
    each checkpoint. Returns the data's fingerprint."""
    import vmnist

    from ttn.experiment.training import check_checkpoint_room

    tasks = list(tasks)
    check_tasks_fit(tasks, data)
    fingerprint = vmnist.dataset_fingerprint(data)
    check_out_dir(out, tasks, fingerprint)
    if save_model:
        for task in tasks:
            check_checkpoint_room(task, fingerprint, out)
    return fingerprint


def check_tasks_fit(tasks: list[Task], data: str | os.PathLike[str]) -> None:
    """TTNError if the data file cannot supply a planned run: its training videos, its validation subset
    (--val-size), or videos long and large enough for its temporal kernel. Every candidate is checked when
    planning, before any work is submitted (`ttn train` and `ttn sweep` alike)."""
    import vmnist

    from ttn.experiment.sampling import check_sample_size, check_val_fits
    from ttn.nn.lenet5 import check_input_fits

    labels = vmnist.load_labels(data, "train")
    for size in sorted({task.videos for task in tasks}):
        check_sample_size(size, labels)
    fingerprint = vmnist.dataset_fingerprint(data)
    for val_size in sorted({task.config.val_size for task in tasks}):
        check_val_fits(val_size, fingerprint["split_sizes"].get("val", 0), data)
    for kernel in sorted({task.config.temporal_kernel for task in tasks}):
        try:
            check_input_fits(int(fingerprint["frames"]), int(fingerprint["height"]), kernel)
        except TTNError as exc:
            raise TTNError(f"--temporal-kernel {kernel}: {exc}; choose a smaller kernel or longer videos") from None


def check_out_dir(out: str | os.PathLike[str], tasks: list[Task], fingerprint: Mapping[str, Any]) -> None:
    """Refuse an `out` folder holding records of another dataset or of another protocol.

    Candidates (configs that differ in an axis, `ttn.experiment.config.AXES`) may share a folder: their run ids
    differ and `ttn report` selects among them. The protocol options (`PROTOCOL`: recipe, epochs, validation,
    score, ...) define what the accuracies in a folder mean, so every record and task must agree on them.
    """
    from ttn.experiment.records import fingerprint_of, load_records

    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise TTNError(f"--out {out} is a file: give a folder for the result records")
    loaded = load_records(out)  # TTNError if the folder already mixes datasets
    if not loaded.records:
        return
    ours = fingerprint_of(fingerprint)
    if loaded.fingerprint is not None and loaded.fingerprint != ours:
        theirs = ", ".join(f"{k}={v}" for k, v in loaded.fingerprint if v != dict(ours).get(k))
        raise TTNError(
            f"--out {out} holds records of another dataset ({theirs}); use another --out for this data file"
        )
    want = tasks[0].resolved_config() if tasks else {}  # the protocol is the same for every task of one sweep
    for record in loaded.records:
        have = record["config"]
        for name in PROTOCOL:
            if have.get(name) != want.get(name):
                raise TTNError(
                    f"--out {out}: {record['run_id']} was trained with {name}={have.get(name)!r}, this sweep "
                    f"uses {want.get(name)!r}; use another --out for another protocol, or the same options"
                )
    check_run_ids(out, tasks, loaded.records)


def check_run_ids(out: Path, tasks: list[Task], records: list[dict[str, Any]]) -> None:
    """TTNError if a planned run id names a record of `out` trained with another config: a run id means one
    config forever (e.g. after a change of a default), so a sweep never skips or mixes in a different run."""
    from ttn.experiment.config import identity

    by_id = {record["run_id"]: record for record in records}
    for task in tasks:
        record = by_id.get(task.run_id)
        if record is None:
            continue
        have, want = dict(identity(record["config"])), dict(identity(task.resolved_config()))
        differ = sorted(name for name in have.keys() | want.keys() if have.get(name) != want.get(name))
        if differ:
            name = differ[0]
            raise TTNError(
                f"--out {out}: {task.run_id} is already the run id of a record trained with {name}={have.get(name)!r}, "
                f"this sweep's run would have {name}={want.get(name)!r}; use another --out, or the record's options"
            )


def train_task(task: Task, data: str | os.PathLike[str], out: str | os.PathLike[str], *, save_model: bool = False,
               force: bool = False, progress: ProgressCallback | None = None) -> Outcome:
    """Train `task` on `data` and write its record (and with `save_model` its model) into `out`, under its claim
    (`ttn.experiment.claims`). A task another process is training comes back ELSEWHERE at once; one whose complete
    record exists comes back RECORDED, untouched, unless `force` (trained again, the record replaced). A run cut
    short goes on from the progress it kept in `out` (`ttn.experiment.partial`), unless `force`."""
    from ttn.cpu.runtime import tune_allocator
    from ttn.experiment.claims import claim
    from ttn.experiment.records import read_record, record_exists, record_path
    from ttn.experiment.training import train_run

    tune_allocator()  # in every process that trains: a sweep's workers (pool or Dask) and `ttn train` (once each)
    with claim(out, task.run_id) as claimed:
        if not claimed:
            return Outcome(task, ELSEWHERE)
        if record_exists(out, task.run_id) and not force:  # a retried, resumed or concurrent task never redoes work
            return Outcome(task, RECORDED, read_record(record_path(out, task.run_id)))
        result = train_run(data, task, out_dir=out, save_model=save_model, progress=progress, resume=not force)
    return Outcome(task, TRAINED, result.record, result)
