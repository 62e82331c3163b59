"""One run of the protocol of section 3.4: train on a class-balanced subset, select on val, test on test.

    train split --train_indices(run, videos)--> (videos, T, H, W) uint8 in memory (loaded once)
    val split   --val_indices(val_size)------> (val_size, T, H, W) uint8 in memory
    for epoch: SGD (momentum) over shuffled mini-batches -> val accuracy -> keep the best state
               every `decay_every` epochs: lr *= lr_decay if val accuracy did not improve since the last check
    best state -> full test split (batches of 500) -> result record (atomic JSON via ttn.records)
"""
from __future__ import annotations

import copy
import os
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ttn
from ttn.experiment.config import TrainConfig, batch_size_for, channels_for
from ttn.errors import TTNError
from ttn.experiment.evaluation import accuracy, predict, predict_split, scale_input
from ttn.experiment.sampling import init_seed, shuffle_rng, train_indices, val_indices
from ttn.cpu import accelerate, backward



@dataclass(frozen=True)
class EpochInfo:
    """What the progress callback receives after each epoch."""

    run_id: str
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_accuracy: float
    best_val_accuracy: float
    lr: float  # the lr used during this epoch
    elapsed_s: float


ProgressCallback = Callable[[EpochInfo], None]


@dataclass
class TrainResult:
    """A trained run: its record (as written) and the best model."""

    record: dict[str, Any]
    model: nn.Module
    record_path: Path | None = None
    checkpoint_path: Path | None = None


def seeded_model(arch: str, run: int, config: TrainConfig, model_kwargs: dict[str, Any]) -> tuple[nn.Module, int]:
    """The model of (arch, run) built with `model_kwargs` (of `build_model`), initialized from
    `init_seed(arch, run)`; the global RNG state is left untouched. Returns (model, seed)."""
    from ttn.nn import build_model

    seed = init_seed(arch, run)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(arch, **model_kwargs)
        if config.conv_init == "normal":
            apply_normal_init(model)
    return model, seed


def apply_normal_init(model: nn.Module) -> None:
    """The authors' init of 3DTT kernels: K0 ~ N(0, 1) (3D convs and linear layers keep Kaiming-uniform)."""
    from ttn.nn import Conv3dTT

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, Conv3dTT):
                module.k0.normal_(0.0, 1.0)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the lr of every parameter group (what the optimizer really uses in its next step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class PlateauDecay:
    """Section 3.4's schedule: every `every` epochs, multiply the lr by `factor` if the best validation
    accuracy has not improved since the previous check. Changes the optimizer's own lr."""

    def __init__(self, optimizer: torch.optim.Optimizer, factor: float, every: int) -> None:
        self.optimizer, self.factor, self.every = optimizer, factor, every
        self.best_at_last_check = -float("inf")

    def step(self, epoch: int, best_val_accuracy: float) -> bool:
        """Call after epoch `epoch` (1-based); True if the lr was decayed."""
        if epoch % self.every:
            return False
        improved = best_val_accuracy > self.best_at_last_check
        self.best_at_last_check = best_val_accuracy
        if not improved:
            set_lr(self.optimizer, current_lr(self.optimizer) * self.factor)
        return not improved


def versions() -> dict[str, str]:
    return {"ttn": ttn.__version__, "torch": str(torch.__version__), "python": platform.python_version()}


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    videos: torch.Tensor,
    labels: torch.Tensor,
    order: np.ndarray,
    batch_size: int,
    config: TrainConfig,
) -> float:
    """One pass over uint8 `videos` (N, T, H, W) in `order`; returns the mean per-video training loss.

    `model` computes the forward pass (the accelerated model on CPU); `optimizer` holds its parameters."""
    model.train()
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = torch.from_numpy(order[start : start + batch_size])
        x = scale_input(videos[batch], config.input_scale)  # (B, 1, T, H, W)
        y = labels[batch]  # (B,)
        loss = backward(model, F.cross_entropy, x, y, reduction=config.loss_reduction)  # sets p.grad
        optimizer.step()
        per_video = loss.item() / len(batch) if config.loss_reduction == "sum" else loss.item()
        if not np.isfinite(per_video):
            raise TTNError(f"training diverged (loss {per_video}) at lr {current_lr(optimizer):g}: lower --lr")
        total += per_video * len(batch)
        count += len(batch)
    return total / max(count, 1)


def train_run(
    data: str | os.PathLike[str],
    arch: str,
    videos: int,
    run: int,
    config: TrainConfig,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    save_model: bool = False,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train (arch, videos, run) on `data`, test the best-val model, and write its record into `out_dir`.

    Raises TTNError / vmnist DatasetError on bad inputs before any training starts.
    """
    import vmnist
    from ttn.nn import count_parameters
    from ttn.registry import check_arch
    from ttn.experiment.records import SCHEMA_VERSION, make_run_id, write_record

    started = time.perf_counter()
    check_arch(arch)
    run_id = make_run_id(arch, videos, run)
    fingerprint = vmnist.dataset_fingerprint(data)
    train_labels = vmnist.load_labels(data, "train")
    chosen = train_indices(train_labels, videos, run)
    val_chosen = val_indices(len(vmnist.load_labels(data, "val")), config.val_size)  # DatasetError if no val split
    x_train, y_train = vmnist.load_split(data, "train", chosen)  # (videos, T, H, W) uint8, (videos,)
    x_val, y_val = vmnist.load_split(data, "val", val_chosen)
    channels = channels_for(config, arch, videos)
    batch_size = batch_size_for(config, videos)
    model_kwargs = {"channels": list(channels), "temporal_kernel": config.temporal_kernel, "theta": config.theta,
                    "frames": int(fingerprint["frames"]), "size": int(fingerprint["height"])}
    model, seed = seeded_model(arch, run, config, model_kwargs)
    model.to(config.device)
    forward = accelerate(model, config.device)  # the same parameters, run through the CPU routes on CPU
    x_train, y_train = x_train.to(config.device), y_train.to(config.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    schedule = PlateauDecay(optimizer, config.lr_decay, config.decay_every)
    rng = shuffle_rng(seed, videos)

    history: list[dict[str, Any]] = []
    best_val, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, config.epochs + 1):
        lr = current_lr(optimizer)
        loss = train_epoch(forward, optimizer, x_train, y_train, rng.permutation(len(chosen)), batch_size, config)
        val_acc = accuracy(y_val.numpy(), predict(model, x_val, config.input_scale, config.eval_batch_size))
        if val_acc > best_val:
            best_val, best_epoch = val_acc, epoch
            best_state = copy.deepcopy(model.state_dict())
        history.append({"epoch": epoch, "train_loss": loss, "val_accuracy": val_acc, "lr": lr})
        schedule.step(epoch, best_val)
        if progress is not None:
            progress(EpochInfo(run_id, epoch, config.epochs, loss, val_acc, best_val, lr, time.perf_counter() - started))

    assert best_state is not None, "at least one epoch ran"
    model.load_state_dict(best_state)
    del x_train, x_val
    labels, predictions = predict_split(model, data, "test", config.input_scale, batch_size=config.eval_batch_size)
    resolved = config.to_dict() | {"channels": list(channels), "batch_size": batch_size}
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "arch": arch,
        "videos": int(videos),
        "run": int(run),
        "seed": seed,
        "channels": list(channels),
        "theta": config.theta,
        "train_indices": [int(i) for i in chosen],
        "params": count_parameters(model),
        "test_accuracy": accuracy(labels, predictions),
        "val_accuracy": best_val,
        "best_epoch": best_epoch,
        "history": history,
        "config": resolved,
        "data": {"path": str(Path(data).resolve())} | fingerprint,  # plain JSON values (vmnist.read_attributes)
        "versions": versions(),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": True,
    }
    result = TrainResult(record=record, model=model)
    if out_dir is not None:
        if save_model:
            from ttn.experiment.checkpoint import save_checkpoint

            result.checkpoint_path = Path(out_dir) / f"{run_id}.pt"
            save_checkpoint(result.checkpoint_path, model, arch=arch, model_kwargs=model_kwargs, extra=_checkpoint_extra(record))
        result.record_path = write_record(out_dir, record)  # last: a record means everything is written
    return result


def _checkpoint_extra(record: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint carries besides the model (enough to evaluate it as it was trained: input scale)."""
    keys = ("run_id", "videos", "run", "seed", "test_accuracy", "val_accuracy", "best_epoch", "config", "data")
    return {key: record[key] for key in keys}

