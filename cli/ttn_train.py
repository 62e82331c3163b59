"""`ttn train` (one run -> one result record) and `ttn evaluate` (a checkpoint on a split).

Training options are shared with `ttn sweep` through `training_options` / `config_from_options`.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from cli.common import err_console, out_console, parse_int_list, progress_enabled
from ttn import registry
from ttn.errors import TTNError
from ttn.experiment.config import RECIPES, TrainConfig, make_config

DEFAULT_DATA = "data.h5"
DEFAULT_OUT = "results"


def check_arch(arch: str) -> str:
    """`arch` if it is a known architecture; BadParameter (--arch) otherwise."""
    try:
        return registry.check_arch(arch)
    except TTNError as exc:
        raise click.BadParameter(str(exc), param_hint="--arch") from None


def check_videos(videos: int) -> int:
    """`videos` if it is a positive multiple of 10; BadParameter (--videos) otherwise."""
    try:
        return registry.check_videos(videos)
    except TTNError as exc:
        raise click.BadParameter(str(exc)) from None


def _channels(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    items = parse_int_list(value, "--channels")
    if len(items) != 2 or min(items) < 1:
        raise click.BadParameter(f"expected two positive numbers C1,C2 (e.g. 6,16), got {value!r}", param_hint="--channels")
    return items[0], items[1]


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The training options of `ttn train` and `ttn sweep` (None = the recipe's / TrainConfig's default)."""
    options = [
        click.option("--recipe", type=click.Choice(list(RECIPES)), default="default", show_default=True,
                     help="'original': the authors' recipe (0-255 inputs, K0 ~ N(0,1), lr 5e-8)."),
        click.option("--lr", type=float, default=None, help=f"Initial learning rate [default: {TrainConfig.lr} (recipe original: 5e-8)]."),
        click.option("--epochs", type=click.IntRange(min=1), default=None, help=f"Epochs [default: {TrainConfig.epochs}]."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size [default: 20, 10 at 10 videos]."),
        click.option("--lr-decay", type=click.FloatRange(0, 1, min_open=True), default=None,
                     help=f"Factor applied every 10th epoch when val accuracy did not improve [default: {TrainConfig.lr_decay}]."),
        click.option("--channels", callback=_channels, default=None, metavar="C1,C2",
                     help="Conv channels [default: the paper's Table 2 for arch and size, else 18,28]."),
        click.option("--theta", type=click.Choice(list(registry.THETA_KINDS)), default=None,
                     help=f"3DTT transform parameterization [default: {TrainConfig.theta}]."),
        click.option("--val-size", type=click.IntRange(min=0), default=None,
                     help=f"Validation subset (fixed, seeded); 0 = whole val split [default: {TrainConfig.val_size}]."),
        click.option("--device", default=None, help="torch device [default: cpu]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


TRAINING_KEYS = ("lr", "epochs", "batch_size", "lr_decay", "channels", "theta", "val_size", "device")


def config_from_options(recipe: str, options: dict[str, Any], defaults: dict[str, Any] | None = None) -> TrainConfig:
    """A TrainConfig from the parsed options; `defaults` (a preset's) fill options the user did not give."""
    values = dict(defaults or {})
    values.update({key: options[key] for key in TRAINING_KEYS if options.get(key) is not None})
    return make_config(recipe, **values)


@contextmanager
def epoch_progress(description: str, total: int) -> Iterator[Callable[[Any], None]]:
    """A rich progress bar over epochs on stderr (terminal only); yields the ttn.experiment.training progress callback."""
    if not progress_enabled():
        yield lambda info: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total, status="")

        def update(info: Any) -> None:
            status = f"loss {info.train_loss:.3f}  val {info.val_accuracy:.3f} (best {info.best_val_accuracy:.3f})  lr {info.lr:.2g}"
            bar.update(task, completed=info.epoch, status=status)

        yield update


@click.command("train")
@click.option("--data", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True,
              help="Video-MNIST file made by `vmnist generate`.")
@click.option("--arch", required=True, help="Architecture: 3d, 3dttn or 2plus1d (see `ttn models`).")
@click.option("--videos", type=int, required=True, help="Training videos (a multiple of 10: videos/10 per class).")
@click.option("--run", type=click.IntRange(min=0), default=0, show_default=True,
              help="Run index: picks the training videos (same for every arch) and the init seed.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_OUT, show_default=True,
              help="Folder of result records.")
@click.option("--save-model", is_flag=True, help="Also write the best model to OUT/RUN_ID.pt.")
@training_options
def train_command(data: Path, arch: str, videos: int, run: int, out: Path, save_model: bool, recipe: str, **options: Any) -> None:
    """Train one model on a class-balanced subset of the train split; write one result record.

    The model with the best validation accuracy is tested on the whole test split.
    """
    from ttn.experiment.records import make_run_id
    from ttn.experiment.sweep import check_out_dir, plan_tasks
    from ttn.experiment.training import train_run

    import vmnist

    check_arch(arch)
    check_videos(videos)
    config = config_from_options(recipe, options)
    check_out_dir(out, plan_tasks([arch], [videos], [run], config), vmnist.dataset_fingerprint(data))
    run_id = make_run_id(arch, videos, run)
    with epoch_progress(f"train {run_id}", config.epochs) as progress:
        result = train_run(data, arch, videos, run, config, out_dir=out, save_model=save_model, progress=progress)
    record = result.record
    saved = f", model {result.checkpoint_path}" if result.checkpoint_path else ""
    out_console.print(
        f"{run_id}: test accuracy {record['test_accuracy']:.4f} (best val {record['val_accuracy']:.4f} at epoch "
        f"{record['best_epoch']}), {record['params']:,} params, {record['wall_time_s']:.0f} s -> {result.record_path}{saved}",
        highlight=False, soft_wrap=True,
    )


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--data", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True,
              help="Video-MNIST file made by `vmnist generate`.")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
def evaluate_command(checkpoint: Path, data: Path, split: str, as_json: bool) -> None:
    """Accuracy, per-class accuracy and confusion matrix of a checkpoint (from `ttn train --save-model`)."""
    import numpy as np

    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.evaluation import accuracy, confusion_matrix, per_class_accuracy, predict_split

    import vmnist

    model, meta = load_checkpoint(checkpoint)
    config = (meta.get("extra") or {}).get("config") or {}
    input_scale = config.get("input_scale", "unit")
    vmnist.dataset_fingerprint(data)  # a missing or foreign file fails here, before any work
    labels, predictions = predict_split(model, data, split, input_scale)
    confusion = confusion_matrix(labels, predictions)
    per_class = per_class_accuracy(confusion)
    result = {
        "checkpoint": str(checkpoint), "arch": meta.get("arch"), "split": split, "videos": int(len(labels)),
        "accuracy": accuracy(labels, predictions),
        "per_class_accuracy": [None if np.isnan(v) else float(v) for v in per_class],
        "confusion_matrix": confusion.tolist(),
    }
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    from rich.table import Table

    table = Table(title=f"{checkpoint.name} on {split} ({len(labels)} videos): accuracy {result['accuracy']:.4f}")
    table.add_column("class", justify="right")
    table.add_column("videos", justify="right")
    table.add_column("accuracy", justify="right")
    for digit, value in enumerate(per_class):
        table.add_row(str(digit), str(int(confusion[digit].sum())), "-" if np.isnan(value) else f"{value:.3f}")
    out_console.print(table)
    matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
    matrix.add_column("", justify="right")
    for digit in range(confusion.shape[1]):
        matrix.add_column(str(digit), justify="right")
    for digit, row in enumerate(confusion):
        matrix.add_row(str(digit), *[str(int(v)) for v in row])
    out_console.print(matrix)
