"""`ttn sweep` (many runs, resumable, local processes or Dask) and `ttn reproduce` (data -> sweep -> report)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from cli.common import MAX_RUNS, UserPath, err_console, escape, out_console, parse_int_list, progress_enabled
from cli.training_options import configs_from_options, training_options
from cli.ttn_train import check_arch, check_videos, data_option, out_option
from ttn.experiment.presets import PAPER_VIDEOS, PRESETS, Preset, get_preset
from vmnist.processes import MAX_WORKERS

if TYPE_CHECKING:
    from ttn.experiment.runners import Runner
    from ttn.experiment.sweep import SweepSummary
    from ttn.experiment.task import Task

DEFAULT_ARCHS = ("3d", "3dttn")
DEFAULT_RUNS = 30  # section 3.4


def _archs(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    archs = [check_arch(item.strip()) for item in value.split(",") if item.strip()]
    if not archs:
        raise click.BadParameter("expected at least one architecture", param_hint="--arch")
    return archs


def _videos(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    return [check_videos(size) for size in parse_int_list(value, "--videos")]


def sweep_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `ttn sweep` and `ttn reproduce`: what to run and where."""
    options = [
        data_option,
        click.option("--arch", "archs", callback=_archs, default=None, metavar="A,B",
                     help=f"Architectures [default: the preset's, else {','.join(DEFAULT_ARCHS)}]."),
        click.option("--videos", callback=_videos, default=None, metavar="N,N,...",
                     help="Training-set sizes [default: the preset's, else the paper's 10..5000]."),
        click.option("--runs", type=click.IntRange(1, MAX_RUNS), default=None,
                     help=f"Runs per (arch, size): run indices 0..RUNS-1 [default: the preset's, else {DEFAULT_RUNS}]."),
        out_option("Folder of result records (finished runs in it are skipped)."),
        click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=None,
                     help="Local worker processes, one torch thread each [default: all cores]."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="Run on a Dask cluster, e.g. tcp://host:8786 (needs pip install -e .[cluster])."),
        click.option("--dask-local", type=click.IntRange(1, MAX_WORKERS), default=None, metavar="N",
                     help="Run on a local Dask cluster of N worker processes."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _outcome(run_id: str, result: dict | None) -> str:
    """What became of a finished task, in a few words."""
    if result is None:
        return f"{run_id} failed"
    if result.get("elsewhere"):
        return f"{run_id} is trained by another sweep"
    if result.get("skipped"):
        return f"{run_id} was finished by another sweep"
    return f"{run_id} test {result['test_accuracy']:.3f} in {result['wall_time_s']:.0f} s"


@contextmanager
def task_progress(total: int) -> Iterator[Callable[[str, dict | None, str | None], None]]:
    """A rich bar over tasks on stderr on a terminal; otherwise (a log file, a batch job) one line per finished
    task with done/total and the time left. Failures are printed as they happen."""
    def report_failure(run_id: str, error: str | None) -> None:
        if error is not None:
            err_console.print(f"[red]failed[/red] {escape(run_id)}: {escape(error)}", highlight=False, soft_wrap=True)

    if total == 0:
        yield lambda run_id, result, error: report_failure(run_id, error)
        return
    if not progress_enabled():
        from ttn.experiment.cost import format_duration

        started, done = time.perf_counter(), 0

        def log(run_id: str, result: dict | None, error: str | None) -> None:
            nonlocal done
            done += 1
            report_failure(run_id, error)
            elapsed = time.perf_counter() - started
            left = format_duration(elapsed / done * (total - done)) if done < total else "0 s"
            err_console.print(f"[{done}/{total}] {_outcome(run_id, result)}; elapsed {format_duration(elapsed)}, "
                              f"~{left} left", highlight=False, soft_wrap=True, markup=False)

        yield log
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}", markup=False),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err_console) as bar:
        task = bar.add_task("sweep", total=total, last="")

        def update(run_id: str, result: dict | None, error: str | None) -> None:
            report_failure(run_id, error)
            bar.update(task, advance=1, last=_outcome(run_id, result))

        yield update


def runner_of(workers: int | None, scheduler: str | None, dask_local: int | None) -> Runner:
    """The runner of the options (`ttn.experiment.runners`); it starts its workers only when given work."""
    from ttn.experiment.runners import make_runner

    if scheduler and dask_local:
        raise click.BadParameter("give either --scheduler or --dask-local, not both", param_hint="--dask-local")
    return make_runner(workers, scheduler, dask_local)


def planned_tasks(archs: list[str] | None, videos: list[int] | None, runs: int | None, preset: Preset | None,
                  options: dict[str, Any]) -> list[Task]:
    """Every task of the options, the preset's (else the paper's) where not given."""
    from ttn.experiment.sweep import plan_tasks

    archs = archs or list(preset.archs if preset else DEFAULT_ARCHS)
    return plan_tasks(archs, videos or (preset.videos if preset else PAPER_VIDEOS),
                      runs or (preset.runs if preset else DEFAULT_RUNS),
                      configs_from_options(options, archs, preset.values if preset else None))


def run_sweep_command(data: Path, out: Path, tasks: list[Task], runner: Runner) -> SweepSummary:
    """Check the data and the results folder, say what will run where, and run it with progress (what both
    commands share)."""
    import vmnist

    from ttn.experiment.claims import clear_stale
    from ttn.experiment.cost import estimate_cost, format_duration
    from ttn.experiment.sweep import check_out_dir, check_tasks_fit, pending_tasks, run_sweep

    fingerprint = vmnist.dataset_fingerprint(data)  # missing/foreign data file: one-line error here
    check_tasks_fit(tasks, data)
    check_out_dir(out, tasks, fingerprint)
    todo, done = pending_tasks(tasks, out)
    cpu = estimate_cost(todo, test_videos=vmnist.split_sizes(data).get("test", 10_000))
    wall = "" if runner.slots is None else f", ~{format_duration(cpu / max(1, min(runner.slots, len(todo) or 1)))} wall"
    err_console.print(f"{len(tasks)} runs planned ({len(done)} already done, {len(todo)} to train) on "
                      f"{runner.description}; estimated cost ~{format_duration(cpu)} CPU{wall}",
                      highlight=False, soft_wrap=True, markup=False)
    try:
        with runner, task_progress(len(todo)) as on_done:
            return run_sweep(tasks, data, out, runner, on_done=on_done)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM, once the workers are stopped: say what is on disk
        recorded = len(pending_tasks(tasks, out)[1])
        raise type(stop)(f"{recorded} of {len(tasks)} runs recorded in {out}; the same command trains the rest") from None
    finally:
        clear_stale(out, [task.run_id for task in todo])  # the claims of workers stopped mid-run


def print_summary(summary: Any, out: Path) -> None:
    """The one-line summary on stdout (failures were reported on stderr as they happened)."""
    failed = f", {len(summary.failed)} failed" if summary.failed else ""
    elsewhere = f", {len(summary.elsewhere)} being trained by another sweep" if summary.elsewhere else ""
    out_console.print(
        f"sweep: {len(summary.done)} trained, {len(summary.skipped)} already done{elsewhere}{failed} "
        f"in {summary.wall_time_s:.0f} s -> {out}", highlight=False, soft_wrap=True, markup=False,
    )


def _preset_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Preset | None:
    return None if value is None else get_preset(value)


@click.command("sweep")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None, callback=_preset_option,
              help="'paper': section 3.5 in full; 'quick': a reduced protocol (< 30 min on 2 cores).")
@sweep_options
@training_options(grid=True)
def sweep_command(data: Path, archs: list[str] | None, videos: list[int] | None, runs: int | None, out: Path,
                  workers: int | None, scheduler: str | None, dask_local: int | None, preset: Preset | None,
                  **options: Any) -> None:
    """Train every (arch, videos, run); resumable: runs with a complete record in --out are skipped.

    Explicit options override the preset's. A failed run is reported and the others go on; the exit code
    is 1 if any failed. Then `ttn report OUT` selects among the candidates on validation accuracy.

    \b
    Examples:
      ttn sweep --preset quick                  # 96 runs, < 30 min on 2 cores
      ttn sweep --arch 3d,3dttn --videos 10,20,50 --runs 10 --lr 0.005,0.01,0.02
      ttn sweep --preset quick --channels 6,16/18,28 --out channels/
      ttn sweep --preset paper --dask-local 4   # a local Dask cluster
      ttn sweep --preset paper --scheduler tcp://host:8786   # see docs/cluster.md
    """
    runner = runner_of(workers, scheduler, dask_local)
    summary = run_sweep_command(data, out, planned_tasks(archs, videos, runs, preset, options), runner)
    print_summary(summary, out)
    if not summary.ok:
        click.get_current_context().exit(1)


@click.command("reproduce")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="quick", show_default=True, callback=_preset_option,
              help="'quick' (< 30 min on 2 cores) or 'paper' (the full protocol: days on a laptop).")
@click.option("--mnist", type=UserPath(exists=True, path_type=Path), default=None,
              help="Local MNIST file or folder for generating the data (else fetched and cached); used only when "
                   "--data does not exist yet.")
@sweep_options
@training_options(grid=True)
def reproduce_command(data: Path, archs: list[str] | None, videos: list[int] | None, runs: int | None, out: Path,
                      workers: int | None, scheduler: str | None, dask_local: int | None, preset: Preset | None,
                      mnist: Path | None, **options: Any) -> None:
    """The whole pipeline: generate the data if missing, run the sweep, print the report.

    Running it again resumes the sweep (finished runs are skipped) and prints the report of all runs.

    \b
    Examples:
      ttn reproduce                     # --preset quick: < 30 min on 2 cores
      ttn reproduce --preset quick --runs 10 --out quick10/
      ttn reproduce --preset paper --dask-local 8   # section 3.5 in full
    """
    runner = runner_of(workers, scheduler, dask_local)
    tasks = planned_tasks(archs, videos, runs, preset, options)
    if not data.exists():
        generate_data(data, mnist)
    elif mnist is not None:
        err_console.print(f"{data} exists, so --mnist {mnist} is not used (the videos were rendered before, from MNIST "
                          f"{_mnist_of(data)}); delete {data} or pass another --data to render from --mnist",
                          highlight=False, soft_wrap=True, markup=False)
    summary = run_sweep_command(data, out, tasks, runner)
    print_summary(summary, out)
    from cli.ttn_report import print_report

    print_report(out)
    if not summary.ok:
        click.get_current_context().exit(1)


def _mnist_of(data: Path) -> str:
    """Where the MNIST digits of an existing data file came from (its provenance attributes)."""
    import vmnist

    attributes = vmnist.read_attributes(data)
    return f"{attributes.get('mnist_source', 'unknown source')}, sha256 {str(attributes['mnist_sha256'])[:12]}…"


def generate_data(data: Path, mnist: Path | None) -> None:
    """Render the Video-MNIST file `data` through vmnist's own generate code path."""
    import vmnist

    err_console.print(f"{data} not found: generating Video-MNIST (about 20-60 s on 2 cores)", highlight=False,
                      markup=False)
    vmnist.generate(data, mnist=mnist, status=lambda message: err_console.print(message, highlight=False, markup=False))
