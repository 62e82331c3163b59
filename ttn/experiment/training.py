"""One run of the protocol of section 3.4: train on a class-balanced subset, score on val, test on test.

    train split --train_indices(run, videos)--> (videos, T, H, W) uint8 in memory (loaded once)
    val split   --val_indices(val_size, pick)-> (val_size, T, H, W) uint8 in memory
    for epoch: loss = cross-entropy(model(x), y); backward; SGD step (momentum), over shuffled mini-batches
               every `val_every` epochs and after the last: val accuracy (keep the best state for --score best)
               every `decay_every` epochs: lr *= lr_decay if val accuracy did not improve since the last check
    scored state (best or last epoch) -> full test split -> result record (atomic JSON, ttn.experiment.records)

A run whose loss becomes infinite stops there ("diverged_at_epoch" in its record) and is scored like any
other: a diverging candidate learning rate is a result for model selection, not an error.
"""
from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ttn.cpu import accelerate, backward
from ttn.experiment.config import TrainConfig, candidate_tag, resolved_config
from ttn.experiment.evaluation import accuracy, predict, predict_split, scale_input
from ttn.experiment.optim import PlateauDecay, current_lr, make_optimizer
from ttn.experiment.provenance import versions
from ttn.experiment.sampling import init_seed, shuffle_rng, train_indices, val_indices
from ttn.nn.transform_stats import model_transform_statistics
from ttn.registry import check_arch


@dataclass(frozen=True)
class EpochInfo:
    """What the progress callback receives after each epoch."""

    run_id: str
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_accuracy: float | None  # None in an epoch without validation (--val-every)
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
    """The model of (arch, run) built with `model_kwargs` (of `build_model`) and `config`'s init rule and scale,
    drawn from `init_seed(arch, run)` (the same for every candidate config of that run); the global RNG state is
    left untouched. Returns (model, seed)."""
    from ttn.nn import build_model

    seed = init_seed(arch, run)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(arch, **model_kwargs, init=config.conv_init, init_scale=config.init_scale)
    return model, seed


class Diverged(Exception):
    """The training loss became infinite or NaN (raised before the optimizer step that would use it)."""


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
        per_video = loss.item() / len(batch) if config.loss_reduction == "sum" else loss.item()
        if not np.isfinite(per_video):
            raise Diverged(f"loss {per_video} at lr {current_lr(optimizer):g}")
        optimizer.step()
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
    """Train (arch, videos, run) of `config` on `data`, test the scored model (best or last epoch), and write
    its record into `out_dir`. Raises TTNError / vmnist DatasetError on bad inputs before any training starts."""
    import vmnist
    from ttn.experiment.records import SCHEMA_VERSION, make_run_id, write_record
    from ttn.nn import count_parameters

    started = time.perf_counter()
    check_arch(arch)
    run_id = make_run_id(arch, videos, run, candidate_tag(config, arch))
    fingerprint = vmnist.dataset_fingerprint(data)
    chosen = train_indices(vmnist.load_labels(data, "train"), videos, run)
    val_chosen = val_indices(len(vmnist.load_labels(data, "val")), config.val_size, config.val_pick)
    x_train, y_train = vmnist.load_split(data, "train", chosen)  # (videos, T, H, W) uint8, (videos,)
    x_val, y_val = vmnist.load_split(data, "val", val_chosen)
    resolved = resolved_config(config, arch, videos)
    model_kwargs = {"channels": resolved["channels"], "temporal_kernel": config.temporal_kernel,
                    "frames": int(fingerprint["frames"]), "size": int(fingerprint["height"])}
    if arch == "3dttn":
        model_kwargs |= {"theta": config.theta, "freeze_transforms": config.freeze_transforms}
    model, seed = seeded_model(arch, run, config, model_kwargs)
    model.to(config.device)
    forward = accelerate(model, config.device)  # the same parameters, run through the CPU routes on CPU
    x_train, y_train = x_train.to(config.device), y_train.to(config.device)
    optimizer = make_optimizer(model, config.lr, config.momentum, config.transform_lr_scale)
    schedule = PlateauDecay(optimizer, config.lr_decay, config.decay_every)
    rng = shuffle_rng(seed, videos)

    history: list[dict[str, Any]] = []
    best_val, best_epoch, best_state = -1.0, 0, None
    scored_val, scored_epoch, diverged_at = -1.0, 0, None
    for epoch in range(1, config.epochs + 1):
        lr = current_lr(optimizer)
        try:
            loss = train_epoch(forward, optimizer, x_train, y_train, rng.permutation(len(chosen)), resolved["batch_size"], config)
        except Diverged:
            loss, diverged_at = float("nan"), epoch  # the model keeps its last finite weights
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": loss, "val_accuracy": None, "lr": lr}
        last = epoch == config.epochs or diverged_at is not None
        if epoch % config.val_every == 0 or last:
            val_acc = accuracy(y_val.numpy(), predict(model, x_val, config.input_scale, config.eval_batch_size))
            entry["val_accuracy"] = scored_val = val_acc
            scored_epoch = epoch
            if val_acc > best_val:
                best_val, best_epoch = val_acc, epoch
                if config.score == "best":
                    best_state = copy.deepcopy(model.state_dict())
        if arch == "3dttn":
            entry["transforms"] = model_transform_statistics(model)
        history.append(entry)
        if progress is not None:
            progress(EpochInfo(run_id, epoch, config.epochs, loss, entry["val_accuracy"], best_val, lr,
                               time.perf_counter() - started))
        if diverged_at is not None:
            break
        schedule.step(epoch, best_val)

    if config.score == "best":
        assert best_state is not None, "the last epoch is always validated"
        model.load_state_dict(best_state)
        scored_val, scored_epoch = best_val, best_epoch
    del x_train, x_val
    labels, predictions = predict_split(model, data, "test", config.input_scale, batch_size=config.eval_batch_size)
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "arch": arch,
        "videos": int(videos),
        "run": int(run),
        "seed": seed,
        "channels": resolved["channels"],
        "theta": resolved["theta"],
        "train_indices": [int(i) for i in chosen],
        "params": count_parameters(model),
        "test_accuracy": accuracy(labels, predictions),
        "val_accuracy": scored_val,  # what model selection reads: the scored epoch's validation accuracy
        "score": config.score,
        "scored_epoch": scored_epoch,
        "best_epoch": best_epoch,
        "diverged_at_epoch": diverged_at,
        "history": history,
        "transforms": model_transform_statistics(model) if arch == "3dttn" else None,
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
    keys = ("run_id", "videos", "run", "seed", "test_accuracy", "val_accuracy", "scored_epoch", "config", "data")
    return {key: record[key] for key in keys}
