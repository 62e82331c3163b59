"""Where sweep tasks run: a pool of local worker processes (the default) or a Dask distributed cluster.

Both are driven through ``submit(fn, *args) -> future`` (`ttn.experiment.sweep.run_sweep`); Dask tasks are keyed
by run id and retried if a worker dies.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ttn.errors import TTNError
from vmnist.processes import default_workers, spawn_pool


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


def dask_client(scheduler: str | None = None, local_workers: int | None = None) -> Any:
    """A Dask Client on `scheduler` (address) or on a new LocalCluster of `local_workers` processes."""
    distributed = import_distributed()
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="20s")
        except ValueError as exc:
            raise TTNError(f"--scheduler {scheduler!r} is not a scheduler address ({exc}): give one like "
                           "tcp://host:8786") from None
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


def is_dask_client(executor: Any) -> bool:
    """Whether `executor` is a Dask distributed Client (else a concurrent.futures Executor)."""
    return type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed")
