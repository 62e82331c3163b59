"""Speed on CPU, behind one boundary: every route here computes what plain PyTorch computes (`tests/cpu`).

The training and evaluation code calls exactly these entry points; each falls back to plain PyTorch off the
CPU, and all are switched off together by ``TTN_CPU_ROUTES=0``:

- `accelerate(model, device)`: the model's forward through fused, channels-last convolution routes;
- `backward(model, loss_fn, x, y)`: the batch gradient, computed in one single-threaded shard per core;
- `inference_batch_size(requested, device)`: how many videos an evaluation forward pass takes;
- `tune_allocator()`, `passive_openmp_wait()` (`ttn.cpu.runtime`): process settings of glibc malloc and
  OpenMP; the second must run before torch is imported, so this package imports torch only when one of
  the other names is first used.
"""
from __future__ import annotations

from vmnist.infra.lazy import lazy_namespace

#: name -> module that defines it (imported on first use: PEP 562).
_EXPORTS = {
    "INFERENCE_BATCH": "accelerated", "ROUTES_SWITCH": "accelerated", "AcceleratedLeNet5": "accelerated",
    "accelerate": "accelerated", "inference_batch_size": "accelerated", "routes_enabled": "accelerated",
    "backward": "sharding", "shard_count": "sharding",
    "passive_openmp_wait": "runtime", "tune_allocator": "runtime",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS, extra=())
