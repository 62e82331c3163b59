"""Speed on CPU: kernels that compute what plain PyTorch computes (`tests/cpu`), and the switches that pick them.

Nothing here knows the models. The routes (`ttn.cpu.routes`) run inside LeNet-5's forward (`ttn.nn.LeNet5`,
its one switch `set_cpu_routes`); the training step (`ttn.experiment.step.train_step`) is given its data-parallel
strategy from here. Each falls back to plain PyTorch off the CPU, and all are switched off together by
``TTN_CPU_ROUTES=0``:

- `routes_enabled(device)`: the switch (``TTN_CPU_ROUTES``) as a model reads it when `ttn.nn.build_model` makes it;
- `in_shards(fn, x, y, shards)`, `add_grads`, `shard_count`: a batch computed in one single-threaded shard per core;
- `inference_batch_size(requested, device)`: how many videos an evaluation forward pass takes;
- `tune_allocator()`, `passive_openmp_wait()` (`ttn.cpu.runtime`): process settings of glibc malloc and
  OpenMP; the second must run before torch is imported, so this package imports torch only when one of
  the other names is first used.
"""
from __future__ import annotations

from vmnist.infra.lazy import lazy_namespace

#: name -> module that defines it (imported on first use: PEP 562).
_EXPORTS = {
    "INFERENCE_BATCH": "switch", "ROUTES_SWITCH": "switch", "inference_batch_size": "switch",
    "routes_enabled": "switch",
    "add_grads": "sharding", "in_shards": "sharding", "shard_count": "sharding",
    "passive_openmp_wait": "runtime", "tune_allocator": "runtime",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS, extra=())
