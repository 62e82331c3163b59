"""The training step: zero_grad, forward, loss, backward, step, in that order, in plain PyTorch.

The only speed-up visible here is the data-parallel strategy the step is given: `shards` parts of the batch
computed side by side on CPU threads (`ttn.cpu.sharding`; 1 = one plain pass). The model's own speed-ups (the CPU
routes) live inside its forward (`ttn.nn.LeNet5`).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu.sharding import add_grads, in_shards
from ttn.experiment.optim import current_lr

#: How a batch's loss is reduced over its videos (a recipe's `loss_reduction`).
REDUCTIONS = ("mean", "sum")


class Diverged(Exception):
    """The training loss became infinite or NaN (raised before the optimizer step that would use it)."""


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               reduction: str = "mean", shards: int = 1) -> float:
    """One SGD step on a batch x (B, 1, T, H, W) float, y (B,) int64; returns the mean loss per video.

    Raises Diverged, before stepping, if the loss is not finite. `shards` > 1 splits the batch into that many parts
    run in parallel threads (`ttn.cpu.sharding.in_shards`): each part's loss is its share of the batch loss (its
    sum, divided by B for the mean), and the parts' gradients are summed into ``p.grad`` in shard order.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    params = [p for p in model.parameters() if p.requires_grad]

    def forward_backward(x_part: torch.Tensor, y_part: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        logits = model(x_part)  # forward: (b, classes)
        loss = F.cross_entropy(logits, y_part, reduction="sum")  # loss: this part's share of the batch loss
        if reduction == "mean":
            loss = loss / len(y)
        return loss.detach(), list(torch.autograd.grad(loss, params, allow_unused=True))  # backward

    optimizer.zero_grad(set_to_none=True)
    parts = in_shards(forward_backward, x, y, shards)
    add_grads(params, [grads for _, grads in parts])
    loss = parts[0][0]
    for part_loss, _ in parts[1:]:
        loss = loss + part_loss
    per_video = loss.item() / len(y) if reduction == "sum" else loss.item()
    if not math.isfinite(per_video):
        raise Diverged(f"loss {per_video} at lr {current_lr(optimizer):g}")
    optimizer.step()
    return per_video
