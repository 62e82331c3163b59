"""Where sweep tasks run: one small runner interface, a local process pool (the default) or a Dask cluster.

As submitit's Executor: the sweep (`ttn.experiment.sweep.run_sweep`) knows only `Runner`; each backend is a
subclass. A runner starts its workers at the first `submit` (a sweep with nothing to do starts none) and is closed
as a context manager: at once, cancelling what has not started, when the block ends in an error or Ctrl-C.

    runner.submit(fn, *args, key=run_id) -> future      `concurrent.futures`-style futures
    runner.as_completed(futures)         -> futures as they finish
    runner.died(error)                   -> did a future fail because its worker died? (submit it again ...)
    runner.replace_dead()                   (... after replacing the dead workers)
"""
from __future__ import annotations

import abc
import logging
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from ttn.errors import TTNError
from vmnist.infra.processes import children_deaf_to_sigint, default_workers, spawn_pool, stop_pool

#: How often Dask re-runs a task that raised (a dead worker's tasks are re-scheduled by Dask itself).
DASK_RETRIES = 2

#: The dask config key that puts DASK_LOGGING__DISTRIBUTED in the environment of each local worker process before it
#: starts (Dask reads its logging levels from the environment when `distributed` is first imported).
WORKER_LOG_LEVEL_CONFIG = "distributed.nanny.pre-spawn-environ.DASK_LOGGING__DISTRIBUTED"


class Runner(abc.ABC):
    """Runs sweep tasks on workers; `description` names where, `slots` how many run at once (None: unknown)."""

    description: str = ""
    slots: int | None = None

    @abc.abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        """Run ``fn(*args)`` on a worker; `key` names the task (a run id). Returns its future."""

    @abc.abstractmethod
    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        """The `futures` as they finish (done, failed or cancelled)."""

    def died(self, error: BaseException) -> bool:
        """Whether a future failed with `error` because a worker died (the task did not fail: it can be submitted
        again, after `replace_dead`)."""
        return False

    def replace_dead(self) -> None:
        """Replace the workers that died, so that lost tasks can be submitted again."""

    @abc.abstractmethod
    def close(self, abort: bool = False) -> None:
        """Stop the workers this runner started: after the running tasks, or at once when `abort`."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        self.close(abort=kind is not None)


class PoolRunner(Runner):
    """Tasks on a `concurrent.futures` executor made by `make_pool` (by default `process_pool`). A local worker
    that dies breaks the whole pool (BrokenProcessPool in every pending future): `replace_dead` makes a new one."""

    def __init__(self, workers: int | None = None, make_pool: Callable[[], Executor] | None = None) -> None:
        self.make_pool = make_pool or (lambda: process_pool(workers))
        self.slots = workers or default_workers()
        self.description = f"{self.slots} local worker processes"
        self.pool: Executor | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Future:
        if self.pool is None:
            self.pool = self.make_pool()
        return self.pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]:
        return as_completed(futures)

    def died(self, error: BaseException) -> bool:
        return isinstance(error, BrokenProcessPool)

    def replace_dead(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self.make_pool()

    def close(self, abort: bool = False) -> None:
        if self.pool is None:
            return
        if abort:
            stop_pool(self.pool)  # type: ignore[arg-type]  # Ctrl-C or an error: terminate running tasks too
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


def _init_worker() -> None:
    """Process-pool worker setup: one torch thread per worker (workers, not threads, fill the cores)."""
    import torch

    torch.set_num_threads(1)


def process_pool(workers: int | None = None) -> Executor:
    """`workers` spawn-context processes (all cores by default), one torch thread each."""
    return spawn_pool(workers or default_workers(), _init_worker)


class DaskRunner(Runner):
    """Tasks on a Dask cluster: the scheduler at `scheduler`, a LocalCluster of `workers` processes started here,
    or the cluster of an existing `client` (left open). Tasks are keyed by run id and retried `retries` times if
    they raise; the tasks of a dead worker are re-scheduled by Dask itself."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, *, client: Any = None,
                 retries: int = DASK_RETRIES) -> None:
        self.distributed = import_distributed()
        self.scheduler = check_scheduler_address(scheduler) if scheduler else None
        self.workers = None if scheduler else workers or default_workers()
        self.client, self.cluster, self.owns_client, self.retries = client, None, client is None, retries
        self.slots = None if scheduler else self.workers
        self.description = f"Dask scheduler {scheduler}" if scheduler else f"local Dask cluster of {self.workers} workers"

    def _connect(self) -> Any:
        if self.client is None and self.scheduler:
            self.client = connect(self.distributed, self.scheduler)
        elif self.client is None:
            import dask

            # Ctrl-C is the sweep's to handle: no worker prints a traceback. `silence_logs` quiets the workers' log
            # handlers only while each Worker is open: its shutdown under load still logged INFO tracebacks
            # ("Batched Comm Closed"). The environment each worker process starts with sets its "distributed"
            # logger itself to ERROR, for its whole life (and for any worker a nanny starts again).
            with children_deaf_to_sigint(), dask.config.set({WORKER_LOG_LEVEL_CONFIG: "error"}):
                self.cluster = self.distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.ERROR)  # its warnings when stopped mid-task are no news to a user who stopped it
                self.client = self.distributed.Client(self.cluster)
        return self.client

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        from ttn.experiment.invocation import call_invoked, current_invocation

        # the command and options travel with the task: a remote worker did not inherit this process's environment
        return self._connect().submit(call_invoked, current_invocation(), fn, *args, key=key, retries=self.retries,
                                      pure=False)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return iter(self.distributed.as_completed(list(futures)))

    def close(self, abort: bool = False) -> None:
        if abort and self.cluster is not None:
            # The scheduler and nannies of our LocalCluster live in this process: a comm to a killed worker closes
            # later, on the event loop's thread, and logs an INFO traceback ("Batched Comm Closed"), possibly after
            # the cluster's close has given its log handlers back their old levels. The sweep is ending: for the
            # rest of this process its "distributed" logger says errors only.
            logging.getLogger("distributed").setLevel(logging.ERROR)
            self._kill_local_workers()
        if self.owns_client and self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:  # ours, local; a remote cluster keeps running
            self.cluster.close()
            self.cluster = None

    def _kill_local_workers(self) -> None:
        """Kill our LocalCluster's worker processes at once (Ctrl-C or an error): a graceful close would first wait
        ~4 s per busy worker for its running task. Each nanny is told not to restart its worker."""
        import os
        import signal

        for nanny in list(self.cluster.workers.values()):
            pid = getattr(nanny, "pid", None)
            if pid is None:
                continue
            nanny.close_gracefully(reason="sweep-aborted")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone


def make_runner(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None) -> Runner:
    """The runner of `ttn sweep`'s options: a Dask scheduler, a local Dask cluster, else a local process pool."""
    if scheduler or dask_local:
        return DaskRunner(scheduler, dask_local)
    return PoolRunner(workers)


def import_distributed() -> Any:
    """The `distributed` module, or a one-line TTNError telling how to install it."""
    try:
        import distributed
    except ImportError:
        raise TTNError("the Dask path needs dask[distributed]: pip install -e .[cluster]") from None
    return distributed


def check_scheduler_address(address: str) -> str:
    """`address` if it reads as a Dask scheduler address (scheme://host:port); TTNError naming --scheduler otherwise.
    Checked before any work; whether a scheduler answers there is known only when connecting."""
    import_distributed()
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme != "inproc":
            parse_host_port(location)
    except ValueError as exc:
        raise TTNError(f"--scheduler {address!r} is not a scheduler address ({exc}): give one like tcp://host:8786") from None
    return address


def connect(distributed: Any, scheduler: str) -> Any:
    """A Dask Client on the scheduler at `scheduler`, or a one-line TTNError saying why not."""
    try:
        return distributed.Client(scheduler, timeout="20s")
    except ValueError as exc:
        raise TTNError(f"--scheduler {scheduler!r} is not a scheduler address ({exc}): give one like "
                       "tcp://host:8786") from None
    except OSError as exc:
        raise TTNError(f"--scheduler {scheduler}: cannot connect ({exc}); check the address and that the scheduler runs") from None
