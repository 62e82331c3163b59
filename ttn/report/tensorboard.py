"""Every run's per-epoch history as TensorBoard event files, for users who compare runs there.

One TensorBoard run per record, named by its run id (``DIR/3dttn-v10-lr0.0025-c6x16-r0/``), with scalars per
epoch: ``loss/train``, ``accuracy/val`` (on validated epochs), ``lr``, and ``accuracy/test`` at the scored
epoch. The folder is written whole under a temporary name and renamed into place, so an interrupted export
never leaves half a folder. Needs the optional ``tensorboard`` package (``pip install -e .[tensorboard]``).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

from ttn.errors import TTNError

INSTALL_HINT = "pip install -e '.[tensorboard]'  (or: pip install tensorboard)"


def require_tensorboard() -> None:
    """TTNError with the install command if tensorboard is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise TTNError(f"--tensorboard needs the tensorboard package, an optional extra: {INSTALL_HINT}") from None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf")


def write_run(folder: Path, record: dict[str, Any]) -> None:
    """The scalars of one record into `folder` (a TensorBoard run)."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(folder)) as writer:
        for entry in record.get("history") or []:
            epoch = entry.get("epoch")
            for tag, key in (("loss/train", "train_loss"), ("accuracy/val", "val_accuracy"), ("lr", "lr")):
                if _finite(entry.get(key)):
                    writer.add_scalar(tag, entry[key], global_step=epoch)
        if _finite(record.get("test_accuracy")):
            writer.add_scalar("accuracy/test", record["test_accuracy"], global_step=record.get("scored_epoch") or 0)


def export(records: Sequence[dict[str, Any]], out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write one TensorBoard run per record into the folder `out` (replaced only with `force`); returns it."""
    require_tensorboard()
    out = Path(out)
    if out.exists() and not force:
        raise TTNError(f"--tensorboard {out} already exists: pass --force to replace it, or choose another folder")
    if out.exists() and not out.is_dir():
        raise TTNError(f"--tensorboard {out} is a file: give a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for record in records:
            write_run(staging / record["run_id"], record)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


#: The record's config fields shown as HParams of a live run (with its arch, videos and run).
HPARAMS = ("lr", "epochs", "batch_size", "channels", "conv_init", "init_scale", "lr_decay", "val_size", "val_every",
           "score", "recipe", "theta", "transform_lr_scale", "freeze_transforms")


class LiveRun:
    """One `ttn train` run written to TensorBoard as it trains: ``DIR/RUN_ID/`` gets ``loss/train``, ``lr`` and
    ``accuracy/val`` after each epoch (`epoch`), then ``accuracy/test`` and the HParams of the run with its
    validation and test accuracy as metrics (`finish`). A context manager; needs the tensorboard package."""

    def __init__(self, folder: str | os.PathLike[str], run_id: str) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(folder) / run_id
        self.writer = SummaryWriter(log_dir=str(self.folder))

    def epoch(self, epoch: int, train_loss: float, val_accuracy: float | None, lr: float) -> None:
        for tag, value in (("loss/train", train_loss), ("accuracy/val", val_accuracy), ("lr", lr)):
            if _finite(value):
                self.writer.add_scalar(tag, value, global_step=epoch)
        self.writer.flush()  # live: visible in TensorBoard while the run trains

    def finish(self, record: dict[str, Any]) -> None:
        """The test accuracy at the scored epoch and the run's HParams (written into this run's own folder)."""
        if _finite(record.get("test_accuracy")):
            self.writer.add_scalar("accuracy/test", record["test_accuracy"], global_step=record.get("scored_epoch") or 0)
        config = record.get("config") or {}
        hparams = {"arch": record["arch"], "videos": record["videos"], "run": record["run"]}
        for name in HPARAMS:
            value = config.get(name)
            if value is not None:
                hparams[name] = "x".join(map(str, value)) if isinstance(value, list) else value
        metrics = {f"hparam/{name}": record[name] for name in ("val_accuracy", "test_accuracy") if _finite(record.get(name))}
        self.writer.add_hparams(hparams, metrics, run_name=".")

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.writer.close()
