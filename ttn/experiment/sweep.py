"""Many runs: plan (arch x videos x run) tasks, skip finished ones, run the rest on an executor.

Tasks run through anything with ``submit(fn, *args) -> future``: a spawn-context ProcessPoolExecutor by
default (one torch thread per worker), or a Dask distributed Client (tasks keyed by run id, retried if a
worker dies). Each task writes its own record atomically and skips itself if a complete record already
exists, so a retried or resumed task never overwrites a finished one and never leaves half a file.
"""
from __future__ import annotations

import math
import os
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures import as_completed as futures_as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ttn.experiment.config import TrainConfig, batch_size_for, channels_for, with_channels
from ttn.errors import TTNError
from ttn.registry import check_arch, check_videos
from vmnist.processes import default_workers, spawn_pool

#: Config fields that must agree between every record of one results folder (the protocol).
PROTOCOL_FIELDS = (
    "recipe", "lr", "epochs", "momentum", "lr_decay", "decay_every", "val_size", "theta", "temporal_kernel",
    "input_scale", "conv_init", "loss_reduction",
)
#: Fields that must also agree between records of the same (arch, videos).
CELL_FIELDS = ("channels", "batch_size")
#: How often Dask re-runs a task that raised (a dead worker is re-scheduled by Dask itself).
DASK_RETRIES = 2


@dataclass(frozen=True)
class Task:
    """One run of a sweep, with its fully resolved config (channels fixed)."""

    arch: str
    videos: int
    run: int
    config: TrainConfig

    @property
    def run_id(self) -> str:
        from ttn.experiment.records import make_run_id

        return make_run_id(self.arch, self.videos, self.run)

    def resolved_config(self) -> dict[str, Any]:
        """The config as its record will hold it (channels and batch size resolved)."""
        return self.config.to_dict() | {
            "channels": list(channels_for(self.config, self.arch, self.videos)),
            "batch_size": batch_size_for(self.config, self.videos),
        }


@dataclass
class SweepSummary:
    """What a sweep did."""

    planned: int = 0
    skipped: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> one-line error
    wall_time_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def plan_tasks(
    archs: Iterable[str],
    videos: Iterable[int],
    runs: int | Iterable[int],
    config: TrainConfig,
    channels: Callable[[str, int], tuple[int, int]] | None = None,
) -> list[Task]:
    """Every (arch, videos, run), smallest sizes first (cheap results arrive early), runs interleaved.

    `channels(arch, videos)` overrides the config's channels per cell (the paper preset); otherwise
    `channels_for` decides (the --channels option, else Table 2, else the models' default).
    """
    archs, sizes = list(archs), list(videos)
    run_list = list(range(runs)) if isinstance(runs, int) else list(runs)
    for arch in archs:
        check_arch(arch)
    for size in sizes:
        check_videos(size)
    if not run_list or min(run_list) < 0:
        raise TTNError("--runs must be at least 1")
    tasks = []
    for size in sorted(set(sizes)):
        for run in run_list:
            for arch in dict.fromkeys(archs):
                cell_config = config if channels is None or config.channels is not None else with_channels(config, channels(arch, size))
                tasks.append(Task(arch, size, run, cell_config))
    return tasks


def check_tasks_fit(tasks: list[Task], data: str | os.PathLike[str]) -> None:
    """TTNError if the data file cannot supply a planned size (checked before any work is submitted)."""
    import vmnist

    from ttn.experiment.sampling import check_sample_size

    labels = vmnist.load_labels(data, "train")
    for size in sorted({task.videos for task in tasks}):
        check_sample_size(size, labels)


def check_out_dir(out: str | os.PathLike[str], tasks: list[Task], fingerprint: Mapping[str, Any]) -> None:
    """Refuse an `out` folder holding records of another dataset or of an incompatible config."""
    from ttn.experiment.records import FINGERPRINT_KEYS, load_records

    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise TTNError(f"--out {out} is a file: give a folder for the result records")
    loaded = load_records(out)  # TTNError if the folder already mixes datasets
    if not loaded.records:
        return
    ours = tuple((key, fingerprint.get(key)) for key in FINGERPRINT_KEYS)
    if loaded.fingerprint is not None and loaded.fingerprint != ours:
        theirs = ", ".join(f"{k}={v}" for k, v in loaded.fingerprint if v != dict(ours).get(k))
        raise TTNError(
            f"--out {out} holds records of another dataset ({theirs}); use another --out for this data file"
        )
    if not tasks:
        return
    want = tasks[0].resolved_config()
    cells = {(task.arch, task.videos): task.resolved_config() for task in tasks}
    for record in loaded.records:
        have = record.get("config") or {}
        cell = cells.get((record["arch"], record["videos"]))
        checks = [(PROTOCOL_FIELDS, want)] + ([(CELL_FIELDS, cell)] if cell is not None else [])
        for names, expected in checks:  # the whole protocol; per-cell fields only for cells this sweep has
            for name in names:
                if name in have and have[name] != expected.get(name):
                    raise TTNError(
                        f"--out {out}: {record['run_id']} was trained with {name}={have[name]!r}, this sweep uses "
                        f"{expected.get(name)!r}; use another --out or the same options"
                    )


def pending_tasks(tasks: list[Task], out: str | os.PathLike[str]) -> tuple[list[Task], list[Task]]:
    """(to run, already complete) by whether `out` holds a complete record of each task."""
    from ttn.experiment.records import record_exists

    todo, done = [], []
    for task in tasks:
        (done if record_exists(out, task.run_id) else todo).append(task)
    return todo, done


def run_task(task: Task, data: str, out: str) -> dict[str, Any]:
    """Train one task and write its record; a task whose complete record exists returns it untouched.

    Returns a small summary (run_id, test_accuracy, wall_time_s, skipped) for the sweep's report.
    """
    from ttn.experiment.records import read_record, record_exists, record_path
    from ttn.cpu.runtime import tune_allocator
    from ttn.experiment.training import train_run

    tune_allocator()  # in every worker, process pool or Dask alike (once per process)
    if record_exists(out, task.run_id):  # a retried or resumed task never redoes finished work
        record = read_record(record_path(out, task.run_id))
        return {"run_id": task.run_id, "test_accuracy": record["test_accuracy"], "wall_time_s": 0.0, "skipped": True}
    result = train_run(data, task.arch, task.videos, task.run, task.config, out_dir=out)
    record = result.record
    return {"run_id": task.run_id, "test_accuracy": record["test_accuracy"], "wall_time_s": record["wall_time_s"],
            "skipped": False}


def _init_worker() -> None:
    """Process-pool worker setup: one torch thread per worker (workers, not threads, fill the cores)."""
    import torch

    torch.set_num_threads(1)


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The default executor: `workers` spawn-context processes (all cores by default), one torch thread each."""
    return spawn_pool(workers or default_workers(), _init_worker)


def import_distributed() -> Any:
    """The `distributed` module, or a one-line TTNError telling how to install it."""
    try:
        import distributed
    except ImportError:
        raise TTNError("the Dask path needs dask[distributed]: pip install -e .[cluster]") from None
    return distributed


def dask_client(scheduler: str | None = None, local_workers: int | None = None) -> Any:
    """A Dask Client on `scheduler` (address) or on a new LocalCluster of `local_workers` processes."""
    distributed = import_distributed()
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="20s")
        except OSError as exc:
            raise TTNError(f"--scheduler {scheduler}: cannot connect ({exc}); check the address and that the scheduler runs") from None
    cluster = distributed.LocalCluster(n_workers=local_workers or default_workers(), threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    client._ttn_local_cluster = cluster  # closed with the client by close_dask_client
    return client


def close_dask_client(client: Any) -> None:
    """Close `client`; also close its cluster if `dask_client` started it locally (a remote one keeps running)."""
    cluster = getattr(client, "_ttn_local_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return text[0] if text else type(exc).__name__


TaskFn = Callable[[Task, str, str], dict[str, Any]]
DoneCallback = Callable[[str, dict[str, Any] | None, str | None], None]  # (run_id, summary, error)


def run_sweep(
    tasks: list[Task],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    executor: Executor | Any,
    *,
    task_fn: TaskFn = run_task,
    on_done: DoneCallback | None = None,
    retries: int = DASK_RETRIES,
    respawn: Callable[[], Executor] | None = None,
) -> SweepSummary:
    """Run the tasks whose record is missing on `executor` (a concurrent.futures Executor or a Dask Client).

    A task that fails is recorded in `summary.failed` with its one-line error; the others go on. When a local
    worker process dies (the pool is then broken for every pending task), `respawn()` makes a new pool and the
    unfinished tasks are submitted again, up to `retries` times; Dask re-schedules by itself (`retries`).
    """
    started = time.perf_counter()
    summary = SweepSummary(planned=len(tasks))
    todo, done = pending_tasks(tasks, out)
    summary.skipped = [task.run_id for task in done]
    data, out = str(data), str(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    if not todo:
        summary.wall_time_s = time.perf_counter() - started
        return summary
    respawned: list[Executor] = []
    try:
        for attempt in range(retries + 1):
            broken = _run_once(todo, data, out, executor, task_fn, on_done, retries, summary,
                               retry_broken=respawn is not None and attempt < retries)
            if not broken:
                break
            executor.shutdown(wait=False, cancel_futures=True)
            executor = respawn()  # type: ignore[misc]
            respawned.append(executor)
            todo = pending_tasks(broken, out)[0]
    finally:
        for pool in respawned:
            pool.shutdown(wait=True, cancel_futures=True)
    summary.wall_time_s = time.perf_counter() - started
    return summary


def _run_once(todo: list[Task], data: str, out: str, executor: Any, task_fn: TaskFn, on_done: DoneCallback | None,
              retries: int, summary: SweepSummary, retry_broken: bool) -> list[Task]:
    """Submit `todo`, report each outcome; return the tasks lost to a broken local pool when `retry_broken`."""
    if _is_dask_client(executor):
        futures = {executor.submit(task_fn, task, data, out, key=task.run_id, retries=retries, pure=False): task
                   for task in todo}
        completed: Iterable[Any] = import_distributed().as_completed(list(futures))
    else:
        futures = {executor.submit(task_fn, task, data, out): task for task in todo}
        completed = futures_as_completed(futures)
    broken: list[Task] = []
    for future in completed:
        task = futures[future]
        try:
            result = future.result()
        except BrokenProcessPool:
            if retry_broken:
                broken.append(task)
                continue
            _report_failure(summary, task, on_done, "worker process died (BrokenProcessPool); run the sweep again to resume")
            continue
        except Exception as exc:  # noqa: BLE001 - any task error is reported, the sweep goes on
            error = _one_line(exc)
            if not isinstance(exc, TTNError) and os.environ.get("TTN_DEBUG"):
                error += "\n" + "".join(traceback.format_exception(exc))
            _report_failure(summary, task, on_done, error)
            continue
        summary.done.append(task.run_id)
        if on_done:
            on_done(task.run_id, result, None)
    return broken


def _report_failure(summary: SweepSummary, task: Task, on_done: DoneCallback | None, error: str) -> None:
    summary.failed[task.run_id] = error
    if on_done:
        on_done(task.run_id, None, error)


def _is_dask_client(executor: Any) -> bool:
    return type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed")


# ----------------------------------------------------------------------------- cost estimate
#: Per-process throughput (videos/s, one torch thread) of the (6, 16) models, fitted (least squares on each
#: run's wall time) on the 24 runs of `--preset quick` with 2 workers on 2 quiet cores (3d and 3dttn alike):
#: training (forward + backward) and evaluation. Bigger models scale roughly with their conv work, C1*(1+C2).
BASE_TRAIN_RATE = 555.0
BASE_EVAL_RATE = 1140.0
BASE_CHANNELS = (6, 16)


def estimate_cost(tasks: list[Task], test_videos: int = 10_000, val_split: int = 10_000) -> float:
    """Rough CPU-seconds (one thread) of `tasks`: training + per-epoch validation + one test pass."""
    total = 0.0
    for task in tasks:
        c1, c2 = channels_for(task.config, task.arch, task.videos)
        work = max(0.25, (c1 * (1 + c2)) / (BASE_CHANNELS[0] * (1 + BASE_CHANNELS[1])))
        val = val_split if task.config.val_size <= 0 else min(task.config.val_size, val_split)
        epochs = task.config.epochs
        total += work * (epochs * task.videos / BASE_TRAIN_RATE + (epochs * val + test_videos) / BASE_EVAL_RATE)
    return total


def format_duration(seconds: float) -> str:
    """e.g. "1 h 05 min", "12 min", "40 s"."""
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{math.ceil(minutes)} min"
    return f"{int(minutes // 60)} h {int(minutes % 60):02d} min"
