"""`ttn train` (one run -> one result record) and `ttn evaluate` (a checkpoint on a split).

Training options are shared with `ttn sweep` through `training_options` / `configs_from_options`.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from rich.console import Console

from cli.common import (OptionError, UserPath, echo, err_console, escape, json_option, out_console,
                        progress_enabled)
from ttn.errors import TTNError
from ttn.registry import MAX_RUN_INDEX
from ttn.experiment.config import flag
from cli.config_file import config_file_options
from cli.training_options import chosen_options, configs_from_options, training_options

if TYPE_CHECKING:
    from ttn.experiment.checkpoint import CheckpointHeader
    from ttn.experiment.training import EpochInfo, ProgressCallback

DEFAULT_DATA = "data.h5"
DEFAULT_OUT = "results"
#: The environment variable that names the data file when --data is not given (records name it by file name).
DATA_ENV = "TTN_DATA"

#: The --data option of every command that reads a Video-MNIST file (a value like "--force" is refused: UserPath).
data_option = click.option("--data", type=UserPath(path_type=Path), default=lambda: default_data(),
                           show_default=f"${DATA_ENV}, else {DEFAULT_DATA}",
                           help="Video-MNIST file made by `vmnist generate`.")


def default_data() -> str:
    """The data file when --data is not given: the environment variable TTN_DATA, else data.h5."""
    return os.environ.get(DATA_ENV) or DEFAULT_DATA


def out_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --out option (a folder of result records) of `ttn train`, `ttn sweep` and `ttn reproduce`."""
    return click.option("--out", type=UserPath(path_type=Path, file_okay=False), default=DEFAULT_OUT,
                        show_default=True, help=help_text)


def epoch_line(info: EpochInfo) -> str:
    """One validated epoch in one line (`ttn train -v`), e.g. "epoch 10/100  loss 0.4123  val 0.8450 (best 0.8500)
    lr 0.01  elapsed 42 s"."""
    from ttn.experiment.cost import format_duration

    return (f"epoch {info.epoch}/{info.epochs}  loss {info.train_loss:.4f}  val {info.val_accuracy:.4f} "
            f"(best {info.best_val_accuracy:.4f})  lr {info.lr:.3g}  elapsed {format_duration(info.elapsed_s)}")


def print_epoch(info: EpochInfo, console: Console = err_console) -> None:
    """Print `epoch_line` of a validated epoch on `console` (stderr); an epoch without validation prints nothing."""
    if info.val_accuracy is not None:
        console.print(epoch_line(info), highlight=False, markup=False, soft_wrap=True)


@contextmanager
def epoch_progress(description: str, total: int, verbose: bool = False) -> Iterator[ProgressCallback]:
    """The ttn.experiment.training progress callback: a rich progress bar over epochs on stderr (terminal only)
    and, with `verbose`, one line per validated epoch on stderr (above the bar on a terminal)."""
    if not progress_enabled():
        yield print_epoch if verbose else lambda info: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}", markup=False),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total, status="")

        def update(info: EpochInfo) -> None:
            val = "-" if info.val_accuracy is None else f"{info.val_accuracy:.3f}"
            status = f"loss {info.train_loss:.3f}  val {val} (best {info.best_val_accuracy:.3f})  lr {info.lr:.2g}"
            bar.update(task, completed=info.epoch, status=status)
            if verbose:
                print_epoch(info, bar.console)

        yield update


def required(value: Any, option: str) -> Any:
    """`value`, or a one-line usage error saying that `option` (or --from-record) is needed."""
    if value is None:
        raise OptionError(f"Missing option '{option}' (or train a recorded run again with --from-record RUN.json)")
    return value


def refuse_with_record(arch: str | None, videos: int | None, options: dict[str, Any]) -> None:
    """OptionError if options that a record fixes are given beside --from-record."""
    given = [name for name, value in (("--arch", arch), ("--videos", videos)) if value is not None]
    given += [flag(name) for name in chosen_options(options)]
    source = click.get_current_context().get_parameter_source("run")
    if source is not None and source.name == "COMMANDLINE":
        given.append("--run")
    if given:
        raise OptionError(f"--from-record trains the recorded run exactly: drop {', '.join(given)} (the record "
                          "fixes them), or train without --from-record")


def given_data(data: Path) -> Path | None:
    """The --data given on the command line, in a config file or by TTN_DATA; None when it is the default."""
    source = click.get_current_context().get_parameter_source("data")
    return data if os.environ.get(DATA_ENV) or (source is not None and source.name != "DEFAULT") else None


def refuse_finished(out: Path, run_id: str, force: bool) -> None:
    """ClickException if `out` holds the complete record of `run_id` and not `force`."""
    from ttn.experiment.records import record_exists, record_path

    if record_exists(out, run_id) and not force:
        raise click.ClickException(f"{record_path(out, run_id)} is a finished run: pass --force to train it again "
                                   "(the record is replaced), or choose another --run or --out")


@contextmanager
def live_log(folder: Path | None, run_id: str) -> Iterator[Any]:
    """`ttn.report.tensorboard.LiveRun` of `run_id` in `folder` (checked before training starts), or None."""
    if folder is None:
        yield None
        return
    from ttn.report.tensorboard import LiveRun

    with LiveRun(folder, run_id) as live:
        yield live


def both(progress: ProgressCallback, live: Any) -> ProgressCallback:
    """The progress callback, and the live TensorBoard run's per-epoch scalars when there is one."""
    if live is None:
        return progress

    def call(info: Any) -> None:
        progress(info)
        live.epoch(info.epoch, info.train_loss, info.val_accuracy, info.lr)

    return call


@config_file_options
@click.command("train")
@data_option
@click.option("--arch", default=None, help="Architecture: 3d, 3dttn or 2plus1d (see `ttn models`).  [required]")
@click.option("--videos", type=int, default=None,
              help="Training videos (a multiple of 10: videos/10 per class).  [required]")
@click.option("--run", type=click.IntRange(0, MAX_RUN_INDEX), default=0, show_default=True,
              help="Run index: picks the training videos (same for every arch) and the init seed.")
@click.option("--from-record", type=UserPath(dir_okay=False, path_type=Path), default=None, metavar="RUN.json",
              help="Train the run of this record again, exactly (its arch, size, run and config; the data file "
                   "it names, found by --data, TTN_DATA or its name, must have its fingerprint).")
@out_option("Folder of result records.")
@click.option("--save-model", is_flag=True, help="Also write the scored model to OUT/RUN_ID.pt.")
@click.option("--force", is_flag=True, help="Train again a run whose complete record is in OUT (it is replaced), "
                                             "from epoch 1 even if it was cut short.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print one line per validated epoch on stderr (loss, val accuracy, best, lr, time), also in a log "
                   "file or batch job, where no progress bar is drawn.")
@click.option("--tensorboard", type=UserPath(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write the run to TensorBoard as it trains: DIR/RUN_ID/ gets loss, lr and val accuracy per epoch, "
                   "then the test accuracy and the run's HParams (needs the tensorboard extra).")
@json_option("the run's result record (as written to OUT/RUN_ID.json)")
@training_options(grid=False)
def train_command(data: Path, arch: str | None, videos: int | None, run: int, from_record: Path | None, out: Path,
                  save_model: bool, force: bool, verbose: bool, tensorboard: Path | None, as_json: bool,
                  **options: Any) -> None:
    """Train one model on a class-balanced subset of the train split; write one result record.

    The model of the best validation epoch (or the last, --score last) is tested on the whole test split.
    The record is OUT/RUN_ID.json; RUN_ID names the arch, videos, candidate options and run, e.g.
    3dttn-v40-lr0.00125-r0. A complete record is never overwritten unless --force. A long run saves its
    progress in OUT/.partial/ every 5 minutes: run the same command again after an interruption and it goes
    on from there.

    The defaults are the protocol docs/results.md found to work: each arch's validated lr for the size (see
    --lr), validation on 300 videos every 10th epoch; --recipe authors is the authors' code's protocol.

    \b
    Examples:
      ttn train --arch 3dttn --videos 40   # results/3dttn-v40-lr0.00125-r0.json
      ttn train --arch 3d --videos 40 --run 1 --lr 0.01 --save-model   # + .pt
      ttn train --arch 3dttn --videos 100 --epochs 40 -v   # a line per epoch
      ttn train --arch 3d --videos 10 --recipe authors     # the authors' recipe
      ttn train --arch 3d --videos 10 --json | jq .test_accuracy   # the record
      ttn train --arch 3dttn --videos 40 --print-config > run.toml  # --config
      ttn train --from-record results/3d-v40-lr0.01-r1.json --out again/
      ttn evaluate results/3d-v40-lr0.01-r1.pt   # a model of --save-model
    """
    from ttn.experiment.claims import CLAIMS_DIR, claim_path
    from ttn.experiment.rerun import check_same_data, config_from_record, read_run_record, record_data
    from ttn.experiment.run import ELSEWHERE, RECORDED, check_runs, train_task
    from ttn.experiment.task import Task

    import vmnist
    from vmnist.infra.atomic import made_folder

    if from_record is not None:
        refuse_with_record(arch, videos, options)
        record = read_run_record(from_record)
        task = Task(record["arch"], record["videos"], record["run"], config_from_record(record))
        data = record_data(record, given_data(data))
    else:
        arch, videos = required(arch, "--arch"), required(videos, "--videos")
        try:
            task = Task(arch, videos, run, configs_from_options(options, [arch])[arch][0])  # checks arch and videos
        except TTNError as exc:
            raise OptionError(str(exc)) from None
    run_id = task.run_id
    refuse_finished(out, run_id, force)
    if from_record is not None:  # the data file the record names, before anything else is read from it
        check_same_data(record, data, vmnist.dataset_fingerprint(data))
    check_runs([task], data, out, save_model)
    with made_folder(out / CLAIMS_DIR):  # a failed first run leaves no empty folder
        with epoch_progress(f"train {run_id}", task.config.epochs, verbose) as progress, \
                live_log(tensorboard, run_id) as live:
            outcome = train_task(task, data, out, save_model=save_model, force=force, progress=both(progress, live))
            if live is not None and outcome.result is not None:
                live.finish(outcome.result.record)
        if outcome.status == ELSEWHERE:  # another `ttn train` or sweep is training this run in this folder now
            raise click.ClickException(f"{run_id} is being trained by another process (it holds {claim_path(out, run_id)}): "
                                       "wait for it to finish, or choose another --run or --out")
        if outcome.status == RECORDED:  # another process finished it since the check above
            refuse_finished(out, run_id, force)
    result = outcome.result
    record = result.record
    saved = f", model {result.checkpoint_path}" if result.checkpoint_path else ""
    if as_json:
        echo(json.dumps(record, indent=1))
        return
    out_console.print(
        f"{run_id}: test accuracy {record['test_accuracy']:.4f} ({record['score']} val {record['val_accuracy']:.4f} at "
        f"epoch {record['scored_epoch']}), {record['params']:,} params, {record['wall_time_s']:.0f} s -> {result.record_path}{saved}",
        highlight=False, soft_wrap=True, markup=False,
    )


@click.command("evaluate")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@data_option
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True,
              help="The split of --data to evaluate on, all its videos.")
@json_option("the accuracies and the confusion matrix")
def evaluate_command(checkpoint: Path, data: Path, split: str, as_json: bool) -> None:
    """Accuracy, per-class accuracy and confusion matrix of a checkpoint (from `ttn train --save-model`)."""
    import numpy as np

    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.evaluation import accuracy, confusion_matrix, per_class_accuracy, predict_split

    import vmnist

    model, header = load_checkpoint(checkpoint)
    fingerprint = vmnist.dataset_fingerprint(data)  # a missing or foreign file fails here, before any work
    check_evaluable(checkpoint, header, data, fingerprint)
    labels, predictions = predict_split(model, data, split, header.input_scale)
    confusion = confusion_matrix(labels, predictions)
    per_class = per_class_accuracy(confusion)
    result = {
        "checkpoint": str(checkpoint), "arch": header.arch, "split": split, "videos": int(len(labels)),
        "accuracy": accuracy(labels, predictions),
        "per_class_accuracy": [None if np.isnan(v) else float(v) for v in per_class],
        "confusion_matrix": confusion.tolist(),
    }
    if as_json:
        echo(json.dumps(result, indent=1))
    else:
        print_evaluation(result, f"{checkpoint.name} on {split}")


def check_evaluable(checkpoint: Path, header: CheckpointHeader, data: Path, fingerprint: dict[str, Any]) -> None:
    """ClickException if the checkpoint's model cannot take the videos of `data`; a warning on stderr if they move
    otherwise than its training videos (another trajectory family: the accuracy then measures a transfer)."""
    if (header.frames, header.size) != (fingerprint["frames"], fingerprint["height"]):
        raise click.ClickException(
            f"{checkpoint} was trained on videos of {header.frames} frames of {header.size}x{header.size}, but {data} "
            f"holds {fingerprint['frames']} frames of {fingerprint['height']}x{fingerprint['width']}: evaluate it on "
            "data rendered like its training data (vmnist generate --frames ...)")
    source = header.extra.get("data")
    trained = source.get("trajectories") if isinstance(source, dict) else None  # unknown for older checkpoints
    if isinstance(trained, str) and trained != fingerprint["trajectories"]:
        err_console.print(f"warning: {checkpoint} was trained on {trained!r} trajectories, {data} holds "
                          f"{fingerprint['trajectories']!r} ones: this accuracy measures a transfer to other motion; "
                          f"for its own test, evaluate on data of vmnist generate --trajectories {trained}",
                          markup=False, highlight=False)


def print_evaluation(result: dict[str, Any], title: str) -> None:
    """The accuracy per class and the confusion matrix of an evaluation `result`, as tables on stdout."""
    from rich.table import Table

    confusion = result["confusion_matrix"]
    table = Table(title=escape(f"{title} ({result['videos']} videos): accuracy {result['accuracy']:.4f}"))
    for name in ("class", "videos", "accuracy"):
        table.add_column(name, justify="right")
    for digit, value in enumerate(result["per_class_accuracy"]):
        table.add_row(str(digit), str(sum(confusion[digit])), "-" if value is None else f"{value:.3f}")
    out_console.print(table)
    matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
    matrix.add_column("", justify="right")
    for digit in range(len(confusion[0])):
        matrix.add_column(str(digit), justify="right")
    for digit, row in enumerate(confusion):
        matrix.add_row(str(digit), *map(str, row))
    out_console.print(matrix)
