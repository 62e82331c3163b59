"""The optimizer of section 3.4 and its schedule: SGD with momentum, the 3DTT transforms at their own lr scale,
and the plateau decay of the lr every 10th epoch.

    parameter groups: [everything else: lr], [3DTT transform parameters: lr * transform_lr_scale]
    every `every` epochs: lr *= factor in every group if the best validation accuracy did not improve
"""
from __future__ import annotations

import torch
from torch import nn

from ttn.nn import Conv3dTT

#: The key of a parameter group that holds its lr as a multiple of the run's base lr.
LR_SCALE = "lr_scale"


def make_optimizer(model: nn.Module, lr: float, momentum: float, transform_lr_scale: float = 1.0) -> torch.optim.SGD:
    """SGD over `model`'s trainable parameters; the 3DTT transform parameters (scale, rotation, tx, ty or theta)
    form a second group at ``lr * transform_lr_scale`` when that scale is not 1 (frozen ones are left out)."""
    transforms = {id(p) for module in model.modules() if isinstance(module, Conv3dTT)
                  for p in module.transform_parameters() if p.requires_grad}
    trainable = [p for p in model.parameters() if p.requires_grad]
    if transform_lr_scale == 1.0 or not transforms:
        groups = [{"params": trainable, LR_SCALE: 1.0}]
    else:
        groups = [{"params": [p for p in trainable if id(p) not in transforms], LR_SCALE: 1.0},
                  {"params": [p for p in trainable if id(p) in transforms], LR_SCALE: transform_lr_scale}]
    for group in groups:
        group["lr"] = lr * group[LR_SCALE]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the base lr: every group's lr becomes ``lr * its lr_scale`` (what the next step really uses)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get(LR_SCALE, 1.0)


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The base lr (that of the first group divided by its scale)."""
    group = optimizer.param_groups[0]
    return float(group["lr"] / group.get(LR_SCALE, 1.0))


class PlateauDecay:
    """Section 3.4's schedule: every `every` epochs, multiply the lr by `factor` if the best validation
    accuracy has not improved since the previous check. Changes the optimizer's own lr (every group)."""

    def __init__(self, optimizer: torch.optim.Optimizer, factor: float, every: int) -> None:
        self.optimizer, self.factor, self.every = optimizer, factor, every
        self.best_at_last_check = -float("inf")

    def step(self, epoch: int, best_val_accuracy: float) -> bool:
        """Call after epoch `epoch` (1-based); True if the lr was decayed."""
        if epoch % self.every:
            return False
        improved = best_val_accuracy > self.best_at_last_check
        self.best_at_last_check = best_val_accuracy
        if not improved and self.factor != 1.0:
            set_lr(self.optimizer, current_lr(self.optimizer) * self.factor)
        return not improved and self.factor != 1.0
