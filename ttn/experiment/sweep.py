"""Many runs: plan (arch x videos x candidate x run) tasks, skip finished ones, run the rest on a runner.

A runner (`ttn.experiment.runners.Runner`: a local process pool, or a Dask cluster) is all the sweep knows of
where tasks run. Each task writes its own record atomically and skips itself if a complete record already
exists, so a retried or resumed task never overwrites a finished one and never leaves half a file.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ttn.errors import TTNError, first_line
from ttn.experiment.config import TrainConfig
from ttn.experiment.runners import Runner
from ttn.experiment.task import Task

#: How often the tasks lost to a dead worker are submitted again (a local pool; Dask re-schedules them itself).
DEAD_WORKER_RETRIES = 2


@dataclass
class SweepSummary:
    """What a sweep did."""

    planned: int = 0
    skipped: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> one-line error
    elsewhere: list[str] = field(default_factory=list)  # claimed by another sweep on the same folder
    wall_time_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def plan_tasks(
    archs: Iterable[str],
    videos: Iterable[int],
    runs: int | Iterable[int],
    configs: TrainConfig | Sequence[TrainConfig] | Mapping[str, Sequence[TrainConfig]],
) -> list[Task]:
    """Every (arch, videos, candidate config, run): smallest sizes first (cheap results arrive early), then
    run by run, every candidate and arch of a run together (a partial sweep still pairs and selects).

    `configs` are the candidates (`ttn.experiment.config.expand_grid`), the same for every arch or given per
    arch. A candidate without channels gets them from `channels_for` (Table 2 for the cell, else the default).
    Each Task checks its arch and size (TTNError).
    """
    archs, sizes = list(archs), list(videos)
    if isinstance(configs, TrainConfig):
        configs = [configs]
    by_arch = {arch: list(configs[arch] if isinstance(configs, Mapping) else configs) for arch in archs}
    run_list = list(range(runs)) if isinstance(runs, int) else list(runs)
    if not run_list or min(run_list) < 0:
        raise TTNError("--runs must be at least 1")
    tasks: dict[str, Task] = {}
    for size in sorted(set(sizes)):
        for run in run_list:
            for arch in dict.fromkeys(archs):
                for config in by_arch[arch]:
                    task = Task(arch, size, run, config)
                    tasks.setdefault(task.run_id, task)  # 3DTT-only axes make equal tasks for the other archs
    return list(tasks.values())


def pending_tasks(tasks: list[Task], out: str | os.PathLike[str]) -> tuple[list[Task], list[Task]]:
    """(to run, already complete) by whether `out` holds a complete record of each task."""
    from ttn.experiment.records import record_exists

    todo, done = [], []
    for task in tasks:
        (done if record_exists(out, task.run_id) else todo).append(task)
    return todo, done


def run_task(task: Task, data: str, out: str) -> dict[str, Any]:
    """A sweep's task: `ttn.experiment.run.train_task` (claim, record check, train, write; the path of `ttn train`
    too), returning a small summary for the sweep's report (`Outcome.summary`: run_id, test_accuracy,
    wall_time_s, skipped, elsewhere)."""
    from ttn.experiment.run import train_task

    return train_task(task, data, out).summary()


def run_test_task(task: Task, data: str, out: str) -> dict[str, Any]:
    """Test a recorded run whose test was deferred (`ttn.experiment.training.run_deferred_test`), under its claim;
    returns the same summary as `run_task` (wall_time_s: the test pass). A run whose scored model is missing is
    trained again and tested (`retrain_for_test`; wall_time_s: the run)."""
    from ttn.experiment.claims import claim
    from ttn.experiment.records import read_record, record_path
    from ttn.experiment.training import checkpoint_path, retrain_for_test, run_deferred_test

    summary = {"run_id": task.run_id, "test_accuracy": None, "wall_time_s": 0.0, "skipped": True, "elsewhere": False,
               "tested": True}
    with claim(out, task.run_id) as claimed:
        if not claimed:
            return summary | {"elsewhere": True}
        record = read_record(record_path(out, task.run_id))
        if record["test_accuracy"] is not None:
            return summary | {"test_accuracy": record["test_accuracy"]}
        if checkpoint_path(out, task.run_id).is_file():
            record = run_deferred_test(out, task.run_id, data)
        else:
            record = retrain_for_test(out, task, data, record)
    seconds = record["wall_time_s"] if "retrained_for_test" in record else record["test_time_s"]
    return summary | {"test_accuracy": record["test_accuracy"], "wall_time_s": seconds, "skipped": False}


TaskFn = Callable[[Task, str, str], dict[str, Any]]
DoneCallback = Callable[[str, dict[str, Any] | None, str | None], None]  # (run_id, summary, error)


def run_sweep(
    tasks: list[Task],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    runner: Runner,
    *,
    task_fn: TaskFn = run_task,
    on_done: DoneCallback | None = None,
    retries: int = DEAD_WORKER_RETRIES,
    skip_recorded: bool = True,
) -> SweepSummary:
    """Run the tasks whose record is missing on `runner` (`ttn.experiment.runners`).

    A task that fails is recorded in `summary.failed` with its one-line error; the others go on. The tasks lost
    to a worker that died are submitted again once the runner replaced it, up to `retries` times.
    `skip_recorded` False: submit tasks whose record exists too (tests of recorded runs, `run_test_task`).
    """
    started = time.perf_counter()
    summary = SweepSummary(planned=len(tasks))
    todo, done = pending_tasks(tasks, out) if skip_recorded else (list(tasks), [])
    summary.skipped = [task.run_id for task in done]
    data, out = str(data), str(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        if not todo:
            break
        lost = _run_once(todo, data, out, runner, task_fn, on_done, summary, may_retry=attempt < retries)
        if lost:
            runner.replace_dead()
        todo = pending_tasks(lost, out)[0] if skip_recorded else lost
    summary.wall_time_s = time.perf_counter() - started
    return summary


def _run_once(todo: list[Task], data: str, out: str, runner: Runner, task_fn: TaskFn, on_done: DoneCallback | None,
              summary: SweepSummary, may_retry: bool) -> list[Task]:
    """Submit `todo`, report each outcome; return the tasks lost to a dead worker when `may_retry`."""
    futures = {runner.submit(task_fn, task, data, out, key=task.run_id): task for task in todo}
    lost: list[Task] = []
    for future in runner.as_completed(futures):
        task = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - any task error is reported, the sweep goes on
            if runner.died(exc) and may_retry:
                lost.append(task)
                continue
            _report_failure(summary, task, on_done, _task_error(exc, runner.died(exc)))
            continue
        if isinstance(result, dict) and result.get("elsewhere"):
            summary.elsewhere.append(task.run_id)
        elif isinstance(result, dict) and result.get("skipped"):
            summary.skipped.append(task.run_id)  # finished by another sweep between planning and now
        else:
            summary.done.append(task.run_id)
        if on_done:
            on_done(task.run_id, result, None)
    return lost


def _task_error(exc: BaseException, died: bool) -> str:
    """One line for a failed task (with the traceback under TTN_DEBUG for errors that are not the user's)."""
    if died:
        return f"worker process died ({type(exc).__name__}); run the sweep again to resume"
    error = first_line(exc, typed=True)
    if not isinstance(exc, TTNError) and os.environ.get("TTN_DEBUG"):
        error += "\n" + "".join(traceback.format_exception(exc))
    return error


def _report_failure(summary: SweepSummary, task: Task, on_done: DoneCallback | None, error: str) -> None:
    summary.failed[task.run_id] = error
    if on_done:
        on_done(task.run_id, None, error)
