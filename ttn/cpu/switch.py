"""The one switch of the CPU routes: whether a model takes them, and how many videos an inference pass takes.

A LeNet-5 reads the switch when `ttn.nn.build_model` makes it (`LeNet5.set_cpu_routes`, as timm's attention
layers read ``use_fused_attn()`` when built); the routes then run inside its forward on CPU tensors. Setting
``TTN_CPU_ROUTES=0`` in the environment switches every route off, for a plain run of the same code.
"""
from __future__ import annotations

import torch

from ttn.cpu.runtime import switched_off

#: Environment variable that switches every CPU route off when set to 0 / false / no / off.
ROUTES_SWITCH = "TTN_CPU_ROUTES"
#: Videos per forward pass on CPU when no gradient is recorded: the first layer's output (1.7 MB a video at 18
#: channels) then stays nearer the cores (figures in docs/method.md, "Speed on CPU").
INFERENCE_BATCH = 100


def routes_enabled(device: torch.device | str = "cpu") -> bool:
    """Whether the CPU routes apply on `device`: a CPU device and not switched off by ``TTN_CPU_ROUTES=0``."""
    return torch.device(device).type == "cpu" and not switched_off(ROUTES_SWITCH)


def inference_batch_size(requested: int, device: torch.device | str) -> int:
    """Videos per forward pass in evaluation: `requested`, at most INFERENCE_BATCH where the routes apply."""
    return min(requested, INFERENCE_BATCH) if routes_enabled(device) else requested
