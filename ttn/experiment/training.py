"""One run of the protocol of section 3.4: train on a class-balanced subset, score on val, test on test.

    train_run:
      load_run_data   train split --train_indices(run, videos)--> (videos, T, H, W) uint8 in memory (loaded once)
                      val split   --val_indices(val_size, pick)-> (val_size, T, H, W) uint8 in memory
      seeded_model    build_model(arch, init rule) drawn from init_seed(arch, run) (CPU routes inside, ttn.nn)
      fit             for epoch: train_epoch = train_step over shuffled mini-batches (ttn.experiment.step:
                                   zero_grad, forward, cross-entropy, backward, SGD momentum step)
                      every `val_every` epochs and after the last: val accuracy (`Scores` keeps the scored state)
                      every `decay_every` epochs: lr *= lr_decay if val accuracy did not improve since the last check
      predict_split   scored state (best or last epoch) -> full test split
      record_of       -> result record (atomic JSON, ttn.experiment.records), written by write_run

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
from torch import nn

from ttn.cpu.sharding import shard_count
from ttn.experiment.config import TrainConfig, run_config
from ttn.experiment.evaluation import accuracy, predict, predict_split, scale_input
from ttn.experiment.optim import PlateauDecay, current_lr, make_optimizer
from ttn.experiment.partial import Progress, RunKeeper, capture, partial_path
from ttn.experiment.provenance import versions
from ttn.experiment.sampling import init_seed, shuffle_rng, train_indices, val_indices
from ttn.experiment.step import Diverged, train_step
from ttn.experiment.task import Task
from ttn.nn.transform_stats import model_transform_statistics


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


@dataclass
class RunData:
    """What one run trains and validates on, held in memory (uint8 videos as stored, labels as loaded)."""

    fingerprint: dict[str, Any]  # `vmnist.dataset_fingerprint` of the data file (plain JSON values)
    train_indices: np.ndarray  # (videos,) indices into the train split: a class-balanced sample of (run, videos)
    x_train: torch.Tensor  # (videos, T, H, W) uint8, on the run's device
    y_train: torch.Tensor  # (videos,), on the run's device
    x_val: torch.Tensor  # (val videos, T, H, W) uint8, on the CPU (validation moves one batch at a time)
    y_val: torch.Tensor  # (val videos,)


def load_run_data(data: str | os.PathLike[str], videos: int, run: int, config: TrainConfig) -> RunData:
    """The training videos of (videos, run) and the validation subset of `config`, read once from `data`."""
    import vmnist

    chosen = train_indices(vmnist.load_labels(data, "train"), videos, run)
    val_chosen = val_indices(len(vmnist.load_labels(data, "val")), config.val_size, config.val_pick)
    x_train, y_train = vmnist.load_split(data, "train", chosen)
    x_val, y_val = vmnist.load_split(data, "val", val_chosen)
    return RunData(vmnist.dataset_fingerprint(data), chosen, x_train.to(config.device), y_train.to(config.device),
                   x_val, y_val)


def model_options(resolved: dict[str, Any], fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The `build_model` keyword arguments of a run: the model options of its resolved config (the 3DTT-only
    ones are None, not applicable, for other archs and left out) and the data's video size."""
    options = {"channels": resolved["channels"], "temporal_kernel": resolved["temporal_kernel"],
               "frames": int(fingerprint["frames"]), "size": int(fingerprint["height"])}
    return options | {name: resolved[name] for name in ("theta", "freeze_transforms") if resolved[name] is not None}


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


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    videos: torch.Tensor,
    labels: torch.Tensor,
    order: np.ndarray,
    batch_size: int,
    config: TrainConfig,
    shards: int = 1,
) -> float:
    """One pass over uint8 `videos` (N, T, H, W) in `order`, `train_step` by `train_step` (each in `shards` threads);
    returns the mean per-video training loss. `optimizer` holds `model`'s parameters."""
    model.train()
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = torch.from_numpy(order[start : start + batch_size])
        x = scale_input(videos[batch], config.input_scale)  # (B, 1, T, H, W)
        total += train_step(model, optimizer, x, labels[batch], config.loss_reduction, shards) * len(batch)
        count += len(batch)
    return total / max(count, 1)


class Scores:
    """The validation accuracies of a run as they come, and the state it is scored by: the best epoch's (score
    "best", section 3.4) or the last validated epoch's (score "last": always the last epoch)."""

    def __init__(self, score: str) -> None:
        self.score = score
        self.best_val, self.best_epoch, self.best_state = -1.0, 0, None
        self.last_val, self.last_epoch = -1.0, 0

    def add(self, epoch: int, accuracy: float, model: nn.Module) -> float:
        """Note `model`'s validation `accuracy` after `epoch`; returns it."""
        self.last_val, self.last_epoch = accuracy, epoch
        if accuracy > self.best_val:
            self.best_val, self.best_epoch = accuracy, epoch
            if self.score == "best":
                self.best_state = copy.deepcopy(model.state_dict())
        return accuracy

    def state(self) -> dict[str, Any]:
        """What a resumed run needs of the scores so far (`ttn.experiment.partial`)."""
        return {"best_val": self.best_val, "best_epoch": self.best_epoch, "best_state": self.best_state,
                "last_val": self.last_val, "last_epoch": self.last_epoch}

    def load_state(self, state: dict[str, Any]) -> None:
        """The scores of `state` (of `state()`)."""
        for name, value in state.items():
            setattr(self, name, value)

    def restore(self, model: nn.Module) -> tuple[int, float]:
        """Load the scored state into `model`; returns (scored epoch, its validation accuracy)."""
        if self.score == "last":
            return self.last_epoch, self.last_val
        assert self.best_state is not None, "the last epoch is always validated"
        model.load_state_dict(self.best_state)
        return self.best_epoch, self.best_val


@dataclass(frozen=True)
class Fit:
    """What `fit` did: the per-epoch history and the epoch whose state the model now holds."""

    history: list[dict[str, Any]]
    scored_epoch: int
    scored_val: float  # the scored epoch's validation accuracy: what model selection reads
    best_epoch: int
    diverged_at: int | None  # the epoch whose loss was not finite, if any (training stopped there)


EpochCallback = Callable[[dict[str, Any], float], None]  # (history entry, best validation accuracy so far)


def fit(model: nn.Module, run_data: RunData, config: TrainConfig, batch_size: int, rng: np.random.Generator,
        on_epoch: EpochCallback | None = None, keeper: RunKeeper | None = None) -> Fit:
    """Train `model` for `config.epochs` epochs on shuffled mini-batches of `run_data`; validate every
    `config.val_every` epochs and after the last; decay the lr on a plateau; stop at a diverged epoch. Leaves
    `model` in its scored state (`Scores`). `config.lr` is the run's (`ttn.experiment.config.run_config` fills in
    an arch's default). With a `keeper` the run goes on from its saved progress, if any, and saves its progress
    now and then (`ttn.experiment.partial`)."""
    optimizer = make_optimizer(model, config.lr, config.momentum, config.transform_lr_scale)
    # Data parallelism: one single-threaded shard of each batch per core on CPU (`ttn.cpu.in_shards`), chosen for
    # its measured gain over one batch on 2 OpenMP threads: about 4% per step on a quiet machine (80 ms against
    # 83 ms, 3D model, docs/method.md "Speed on CPU"); +1% / +2% / +3% (3d / 3dttn / 2plus1d, 78.9 / 78.4 / 53.7
    # against 78.1 / 76.9 / 52.1 videos/s) on 2 cores loaded by a training sweep (issue 28, `python
    # bench/bench_models.py --rounds 3` against `--shards 1`).
    shards = shard_count(batch_size, config.device)
    schedule = PlateauDecay(optimizer, config.lr_decay, config.decay_every)
    scores, history, diverged_at = Scores(config.score), [], None
    done = 0
    if keeper is not None and (saved := keeper.load()) is not None:
        done, history = resume(saved, model, optimizer, schedule, scores, rng), saved.history
    for epoch in range(done + 1, config.epochs + 1):
        lr = current_lr(optimizer)
        order = rng.permutation(len(run_data.y_train))
        try:
            loss = train_epoch(model, optimizer, run_data.x_train, run_data.y_train, order, batch_size, config, shards)
        except Diverged:
            loss, diverged_at = float("nan"), epoch  # the model keeps its last finite weights
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": loss, "val_accuracy": None, "lr": lr}
        if epoch % config.val_every == 0 or epoch == config.epochs or diverged_at is not None:
            predictions = predict(model, run_data.x_val, config.input_scale, config.eval_batch_size)
            entry["val_accuracy"] = scores.add(epoch, accuracy(run_data.y_val.numpy(), predictions), model)
        if transforms := model_transform_statistics(model):  # 3DTT layers only
            entry["transforms"] = transforms
        history.append(entry)
        if on_epoch is not None:
            on_epoch(entry, scores.best_val)
        if diverged_at is not None:
            break
        schedule.step(epoch, scores.best_val)
        if keeper is not None and epoch < config.epochs:
            keeper.save_if_due(capture(epoch, model, optimizer, schedule.best_at_last_check, scores.state(), history, rng))
    scored_epoch, scored_val = scores.restore(model)
    return Fit(history, scored_epoch, scored_val, scores.best_epoch, diverged_at)


def resume(saved: Progress, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: PlateauDecay,
           scores: Scores, rng: np.random.Generator) -> int:
    """Put a run's saved progress back into its model, optimizer, schedule, scores and generators; returns the
    epochs it had done."""
    model.load_state_dict(saved.model)
    optimizer.load_state_dict(saved.optimizer)
    schedule.best_at_last_check = saved.schedule_best
    scores.load_state(saved.scores)
    rng.bit_generator.state = saved.shuffle_state
    torch.set_rng_state(saved.torch_rng)
    return saved.epoch


def train_run(
    data: str | os.PathLike[str],
    task: Task | str,
    videos: int | None = None,
    run: int | None = None,
    config: TrainConfig | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    save_model: bool = False,
    progress: ProgressCallback | None = None,
    resume: bool = True,
) -> TrainResult:
    """Train `task` on `data`, test the scored model (best or last epoch), and write its record into `out_dir`.
    Raises TTNError / vmnist DatasetError on bad inputs before any training starts. (`task` may also be spelled
    out as arch, videos, run, config: ``train_run(data, "3d", 10, 0, config)``.)

    `task.defer_test` (a raced sweep's runs of a candidate not yet picked): no test pass; the record's test
    accuracy is None and the scored model is saved beside it (`checkpoint_path`) for `run_deferred_test` to test
    later. `ttn.experiment.run.train_task` runs it under the task's claim (`ttn train` and sweeps).

    With `out_dir`, a long run keeps its progress there now and then and, with `resume`, goes on from the progress
    a run cut short kept (`ttn.experiment.partial`)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    if not isinstance(task, Task):
        task = Task(task, videos, run, config)  # type: ignore[arg-type]
    arch, videos, run = task.arch, task.videos, task.run
    config = run_config(task.config, arch, videos)  # the arch's default lr for the size, if none given
    run_data = load_run_data(data, videos, run, config)
    resolved = task.resolved_config()
    model_kwargs = model_options(resolved, run_data.fingerprint)
    model, seed = seeded_model(arch, run, config, model_kwargs)
    model.to(config.device)

    def on_epoch(entry: dict[str, Any], best_val: float) -> None:
        if progress is not None:
            progress(EpochInfo(task.run_id, entry["epoch"], config.epochs, entry["train_loss"], entry["val_accuracy"],
                               best_val, entry["lr"], time.perf_counter() - started))

    keeper = None if out_dir is None else run_keeper(out_dir, task, run_data, resume, (started, started_cpu))
    fitted = fit(model, run_data, config, resolved["batch_size"], shuffle_rng(seed, videos), on_epoch, keeper)
    # the data by name and fingerprint, not by this machine's path (`ttn train --data` or TTN_DATA finds it again)
    chosen, source = run_data.train_indices, {"path": Path(data).name} | run_data.fingerprint
    del run_data  # the training and validation videos: room for the test split
    test = None if task.defer_test else score_on_test_split(model, data, config.input_scale, config.eval_batch_size)
    record = record_of(task, seed, chosen, model, fitted, test, source, started) | {
        "cpu_time_s": round(time.process_time() - started_cpu, 3)}  # all threads of this process
    if keeper is not None and keeper.earlier is not None:  # the times and code of every segment of the run
        wall, cpu = keeper.spent()
        record |= {"wall_time_s": wall, "cpu_time_s": cpu, "interrupted": keeper.interrupted()}
    result = TrainResult(record=record, model=model)
    if out_dir is not None:
        write_run(result, out_dir, save_model or task.defer_test, model_kwargs)
    if keeper is not None:
        keeper.discard()
    return result


def run_keeper(out_dir: str | os.PathLike[str], task: Task, run_data: RunData, resume: bool,
               started: tuple[float, float]) -> RunKeeper:
    """The keeper of `task`'s progress in `out_dir`: what makes a saved progress this run's (run id, config
    but the device and eval batch, training videos, data), none loaded unless `resume`; `started`: (wall, CPU)
    clock readings when the run began here."""
    import json

    from ttn.experiment.config import NOT_IDENTITY

    config = {name: value for name, value in task.resolved_config().items() if name not in NOT_IDENTITY}
    identity = {"run_id": task.run_id, "config": config, "train_indices": run_data.train_indices.tolist(),
                "data": run_data.fingerprint}
    return RunKeeper(partial_path(out_dir, task.run_id), json.loads(json.dumps(identity)), resume=resume,
                     started=started)


def score_on_test_split(model: nn.Module, data: str | os.PathLike[str], input_scale: str, batch_size: int) -> SplitScore:
    """The test accuracy of a scored model on the whole test split of `data`, and the seconds the pass took."""
    started = time.perf_counter()
    labels, predictions = predict_split(model, data, "test", input_scale, batch_size=batch_size)
    return SplitScore(accuracy(labels, predictions), round(time.perf_counter() - started, 3))


@dataclass(frozen=True)
class SplitScore:
    """One test pass: the accuracy on the test split and its wall time (s)."""

    accuracy: float
    seconds: float


def run_deferred_test(out_dir: str | os.PathLike[str], run_id: str, data: str | os.PathLike[str]) -> dict[str, Any]:
    """Test a recorded run whose test was deferred (`Task.defer_test`): load its saved scored model,
    test it on `data`'s test split, and rewrite its record with the accuracy (atomically). Returns the record."""
    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.records import read_record, record_path, write_record

    record = read_record(record_path(out_dir, run_id))
    if record["test_accuracy"] is not None:
        return record
    config = record["config"]
    model, _ = load_checkpoint(checkpoint_path(out_dir, run_id), config["device"])
    test = score_on_test_split(model, data, config["input_scale"], config["eval_batch_size"])
    record = record | {"test_accuracy": test.accuracy, "test_time_s": test.seconds, "test_deferred": True}
    write_record(out_dir, record)
    return record


def retrain_for_test(out_dir: str | os.PathLike[str], task: Task, data: str | os.PathLike[str],
                     record: dict[str, Any]) -> dict[str, Any]:
    """Test a recorded run whose test was deferred but whose scored model is not in `out_dir` (a results folder
    carried to another machine without its *.pt files): train the run again from its task (the same seed,
    training videos and config; bit-identical on the same CPU), with its test pass, and replace the record,
    marked `retrained_for_test` with what it said before (its validation accuracy and versions). Returns it."""
    from dataclasses import replace

    from ttn.experiment.records import write_record

    result = train_run(data, replace(task, defer_test=False), out_dir=out_dir)
    before = {"val_accuracy": record["val_accuracy"], "versions": record.get("versions"),
              "why": "its test was deferred and its scored model was not in the results folder"}
    retrained = result.record | {"retrained_for_test": before}
    write_record(out_dir, retrained)
    return retrained


def record_of(task: Task, seed: int, chosen: np.ndarray, model: nn.Module, fitted: Fit, test: SplitScore | None,
              source: dict[str, Any], started: float) -> dict[str, Any]:
    """The result record of a trained run (`ttn.experiment.records`; `test`: its test pass, None when deferred;
    `source`: the data's file name and fingerprint; `started`: `time.perf_counter()` when the run began)."""
    from ttn.experiment.invocation import invocation
    from ttn.experiment.records import SCHEMA_VERSION
    from ttn.nn import count_parameters

    resolved = task.resolved_config()
    return {
        "schema": SCHEMA_VERSION,
        "run_id": task.run_id,
        "arch": task.arch,
        "videos": int(task.videos),
        "run": int(task.run),
        "seed": seed,
        "channels": resolved["channels"],
        "theta": resolved["theta"],
        "train_indices": [int(i) for i in chosen],
        "params": count_parameters(model),
        "test_accuracy": None if test is None else test.accuracy,
        "test_time_s": None if test is None else test.seconds,  # part of wall_time_s
        "test_deferred": test is None,  # tested later, if its candidate is picked (a raced sweep)
        "val_accuracy": fitted.scored_val,  # what model selection reads: the scored epoch's validation accuracy
        "score": task.config.score,
        "scored_epoch": fitted.scored_epoch,
        "best_epoch": fitted.best_epoch,
        "diverged_at_epoch": fitted.diverged_at,
        "history": fitted.history,
        "transforms": model_transform_statistics(model) or None,  # 3DTT layers only
        "config": resolved,
        **invocation(),  # "command": the command line that ran it, "options": its resolved options (None from Python)
        "data": source,  # plain JSON values (vmnist.read_attributes)
        "versions": versions(),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": True,
    }


def write_run(result: TrainResult, out_dir: str | os.PathLike[str], save_model: bool, model_kwargs: dict[str, Any]) -> None:
    """Write the checkpoint (if `save_model`), then the record, into `out_dir`; sets the result's paths."""
    from ttn.experiment.records import write_record

    record = result.record
    if save_model:
        from ttn.experiment.checkpoint import save_checkpoint

        result.checkpoint_path = checkpoint_path(out_dir, record["run_id"])
        save_checkpoint(result.checkpoint_path, result.model, arch=record["arch"], model_kwargs=model_kwargs,
                        input_scale=record["config"]["input_scale"], extra=_checkpoint_extra(record))
    result.record_path = write_record(out_dir, record)  # last: a record means everything is written


def checkpoint_path(out_dir: str | os.PathLike[str], run_id: str) -> Path:
    """Where `ttn train --save-model` writes the checkpoint of `run_id`: OUT/RUN_ID.pt."""
    return Path(out_dir) / f"{run_id}.pt"


def check_checkpoint_room(task: Task, fingerprint: dict[str, Any], out_dir: str | os.PathLike[str]) -> None:
    """UserError naming the checkpoint if `out_dir` has no room for it (`ttn train --save-model`), checked before
    training: a full disk was found only when saving, after the whole training."""
    from ttn.experiment.checkpoint import checkpoint_bytes
    from vmnist.infra.atomic import check_free_space

    needed = checkpoint_bytes(task.arch, model_options(task.resolved_config(), fingerprint))
    check_free_space(checkpoint_path(out_dir, task.run_id), needed, "free some disk space or choose another --out")


def _checkpoint_extra(record: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint carries besides the model and its input scale: where it came from and how it scored."""
    keys = ("run_id", "videos", "run", "seed", "test_accuracy", "val_accuracy", "scored_epoch", "config", "data")
    return {key: record[key] for key in keys}
