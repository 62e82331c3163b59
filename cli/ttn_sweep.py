"""`ttn sweep` (many runs, resumable, local processes or Dask) and `ttn reproduce` (data -> sweep -> report)."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from cli.common import (MAX_RUNS, UserPath, echo, err_console, escape, json_option, out_console, parse_int_list,
                        parse_run_ranges, progress_enabled)
from cli.ask import confirm_long_plan
from cli.config_file import config_file_options
from cli.training_options import configs_from_options, training_options
from cli.ttn_train import data_option, out_option
from ttn import registry
from ttn.errors import TTNError
from ttn.experiment.presets import PAPER_VIDEOS, PRESETS, Preset, get_preset
from vmnist.infra.processes import MAX_WORKERS

if TYPE_CHECKING:
    from ttn.experiment.raced_sweep import Cell
    from ttn.experiment.runners import Runner
    from ttn.experiment.sweep import SweepSummary
    from ttn.experiment.task import Task

DEFAULT_ARCHS = ("3d", "3dttn")
DEFAULT_RUNS = 30  # section 3.4


def check_arch(arch: str) -> str:
    """`arch` if it is a known architecture (`ttn.registry.check_arch`); BadParameter (--arch) otherwise."""
    try:
        return registry.check_arch(arch)
    except TTNError as exc:
        raise click.BadParameter(str(exc), param_hint="--arch") from None


def check_videos(videos: int) -> int:
    """`videos` if it is a positive multiple of 10 (`ttn.registry.check_videos`); BadParameter (--videos) otherwise."""
    try:
        return registry.check_videos(videos)
    except TTNError as exc:
        raise click.BadParameter(str(exc)) from None


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


def _runs(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    """--runs: a count ("30": runs 0-29) or run indices ("40-49", "0-9,20")."""
    if value is None:
        return None
    if value.strip().isdigit():
        count = int(value)
        if not 1 <= count <= MAX_RUNS:
            raise click.BadParameter(f"a count of runs must be 1 to {MAX_RUNS:,}, got {count}", param_hint="--runs")
        return list(range(count))
    return sorted(parse_run_ranges(value, "--runs"))


def _run_set(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    return None if value is None else sorted(parse_run_ranges(value, "--" + param.name.replace("_", "-")))


def sweep_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `ttn sweep` and `ttn reproduce`: what to run and where."""
    options = [
        data_option,
        click.option("--arch", "archs", callback=_archs, default=None, metavar="A,B",
                     help=f"Architectures [default: the preset's, else {','.join(DEFAULT_ARCHS)}]."),
        click.option("--videos", callback=_videos, default=None, metavar="N,N,...",
                     help="Training-set sizes [default: the preset's, else the paper's 10..5000]."),
        click.option("--runs", callback=_runs, default=None, metavar="N|A-B,C",
                     help=f"Runs per (arch, size): a count N (run indices 0..N-1) or indices, e.g. 40-49 or 0-9,20 "
                          f"[default: the preset's, else {DEFAULT_RUNS}]."),
        click.option("--race", type=click.IntRange(0, MAX_RUNS), default=None, metavar="K",
                     help="Race the candidates over runs: each trains the first K --select-runs, the top half goes "
                          "on to the rest of them, the best (mean val) trains the other --runs; 0 = no racing "
                          "[default: the preset's, else 0]."),
        click.option("--select-runs", callback=_run_set, default=None, metavar="A-B",
                     help="With --race: the runs the pick is made on [default: the preset's, else all --runs]."),
        click.option("--extend-edges", type=click.IntRange(0, 10), default=None, metavar="N",
                     help="With --race: when a pick is the smallest or largest lr of its grid and validation "
                          "ranks it above the next lr in (not level with it), race the next lr out too (the grid's "
                          "ratio), up to N steps beyond it [default: the preset's, else 0]."),
        click.option("--test-all", is_flag=True,
                     help="With --race: also test the runs of candidates that were not picked (their scored models "
                          "are kept beside the records)."),
        click.option("--dry-run", is_flag=True, help="Print the plan and its estimated cost, then exit."),
        click.option("--yes", "-y", is_flag=True,
                     help="Start without asking (a bare `ttn sweep` asks on a terminal before a plan over an hour)."),
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
    if result.get("tested"):
        return f"{run_id} tested: {result['test_accuracy']:.3f} in {result['wall_time_s']:.0f} s"
    if result.get("test_accuracy") is None:
        return f"{run_id} val {result['val_accuracy']:.3f} (test deferred) in {result['wall_time_s']:.0f} s"
    return f"{run_id} test {result['test_accuracy']:.3f} in {result['wall_time_s']:.0f} s"


@contextmanager
def task_progress(total: int | None, left: Callable[[], float] | None = None
                  ) -> Iterator[Callable[[str, dict | None, str | None], None]]:
    """A rich bar over tasks on stderr on a terminal; otherwise (a log file, a batch job) one line per finished
    task with done/total and the time left (a raced sweep, `total` None: done, elapsed, and `left()` seconds when
    given, projected from the records). Failures are printed as they happen."""
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
            if total is None:
                projected = "" if left is None else f", ~{format_duration(left())} left"
                err_console.print(f"[{done}] {_outcome(run_id, result)}; elapsed {format_duration(elapsed)}{projected}",
                                  highlight=False, soft_wrap=True, markup=False)
                return
            remaining = format_duration(elapsed / done * (total - done)) if done < total else "0 s"
            err_console.print(f"[{done}/{total}] {_outcome(run_id, result)}; elapsed {format_duration(elapsed)}, "
                              f"~{remaining} left", highlight=False, soft_wrap=True, markup=False)

        yield log
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}", markup=False),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err_console) as bar:
        task = bar.add_task("sweep", total=total, last="")

        def update(run_id: str, result: dict | None, error: str | None) -> None:
            report_failure(run_id, error)
            projected = "" if total is not None or left is None else f" (~{format_duration(left())} left)"
            bar.update(task, advance=1, last=_outcome(run_id, result) + projected)

        yield update


def runner_of(workers: int | None, scheduler: str | None, dask_local: int | None) -> Runner:
    """The runner of the options (`ttn.experiment.runners`); it starts its workers only when given work."""
    from ttn.experiment.runners import make_runner

    if scheduler and dask_local:
        raise click.BadParameter("give either --scheduler or --dask-local, not both", param_hint="--dask-local")
    return make_runner(workers, scheduler, dask_local)


@dataclass
class SweepPlan:
    """What a sweep will run: every task it may train, and for a raced sweep its cells (`cells` None: every
    task is trained)."""

    tasks: list[Task]
    cells: list[Cell] | None = None
    test_all: bool = False


def planned_sweep(archs: list[str] | None, videos: list[int] | None, runs: list[int] | None, preset: Preset | None,
                  options: dict[str, Any], race: int | None = None, select_runs: list[int] | None = None,
                  test_all: bool = False, extend_edges: int | None = None) -> SweepPlan:
    """The sweep of the options, the preset's (else the paper's) where not given; raced when --race K > 0 or the
    preset races and --race is not 0 (its cells extend an edge pick by up to `extend_edges` lr steps, default the
    preset's)."""
    from ttn.errors import TTNError
    from ttn.experiment.raced_sweep import make_cells
    from ttn.experiment.racing import RacePlan
    from ttn.experiment.sweep import plan_tasks

    archs = archs or list(preset.archs if preset else DEFAULT_ARCHS)
    sizes = videos or list(preset.videos if preset else PAPER_VIDEOS)
    configs = configs_from_options(options, archs, preset.values if preset else None)
    preset_race = preset.race if preset else {}
    if race == 0 or (race is None and not preset_race):
        if select_runs is not None or test_all or extend_edges:
            raise click.BadParameter("--select-runs, --extend-edges and --test-all belong to a raced sweep: add "
                                     "--race K", param_hint="--race")
        return SweepPlan(plan_tasks(archs, sizes, runs or (preset.runs if preset else DEFAULT_RUNS), configs))
    plans = {}
    for size in sizes:
        base = preset_race.get(size)
        all_runs = tuple(runs or (base.runs if base else range(preset.runs if preset else DEFAULT_RUNS)))
        chosen = tuple(select_runs or (base.select_runs if base and not runs else all_runs))
        try:
            plans[size] = RacePlan(race or (base.race if base else 2), chosen, all_runs)
        except TTNError as exc:
            raise click.BadParameter(str(exc), param_hint="--race") from None
    every_run = sorted({run for plan in plans.values() for run in plan.runs})
    steps = extend_edges if extend_edges is not None else (preset.extend_edges if preset else 0)
    return SweepPlan(plan_tasks(archs, sizes, every_run, configs), make_cells(archs, sizes, configs, plans, steps),
                     test_all)


def estimate_rates(out: Path, tasks: list[Task]) -> Any:
    """The cost rates of this machine: from the records in `out` made on this CPU, else a short probe."""
    from ttn.experiment.cost import calibrate_from_records, probe_rates
    from ttn.experiment.provenance import versions
    from ttn.experiment.records import load_records

    if out.is_dir():
        rates = calibrate_from_records(load_records(out).records, versions().get("cpu"))
        if rates is not None:
            return rates
    return probe_rates(tasks)


def raced_seconds_left(plan: SweepPlan, out: Path, rates: Any, test_videos: int, slots: int | None) -> float:
    """What the rest of a raced sweep costs as its records stand (`ttn.experiment.stages.project`): wall seconds
    where the runner knows its slots, else CPU seconds. Runs in progress count in full."""
    from ttn.experiment.stages import project

    return project(plan.cells, out, rates, test_videos).wall_seconds(slots)


def print_plan(plan: SweepPlan, todo: list[Task], done: list[Task], out: Path, runner: Runner, test_videos: int,
               rates: Any) -> float:
    """What will run where and what it costs at `rates`: one line, and for a raced sweep a line per stage.
    Returns the estimated seconds left (wall where the runner knows its slots, else CPU)."""
    from ttn.experiment.cost import estimate_cost, format_duration, wall_seconds

    slots = runner.slots

    def wall(seconds: float) -> str:
        return "" if slots is None else f", ~{format_duration(seconds)} wall"

    say = lambda text: err_console.print(text, highlight=False, soft_wrap=True, markup=False)  # noqa: E731
    if plan.cells is None:
        cpu = estimate_cost(todo, rates, test_videos=test_videos)
        left = wall_seconds(cpu, slots, len(todo))
        say(f"{len(plan.tasks)} runs planned ({len(done)} already done, {len(todo)} to train) on {runner.description}; "
            f"estimated cost ~{format_duration(cpu)} CPU{wall(left)} ({rates.source})")
        return left
    from ttn.experiment.stages import STAGE_TEXT, project

    projection = project(plan.cells, out, rates, test_videos)
    cpu, edges, left = projection.seconds_left, projection.edges, projection.wall_seconds(slots)
    full = estimate_cost(plan.tasks, rates, test_videos=test_videos)
    say(f"raced sweep of {len(plan.cells)} (arch, size) cells on {runner.description}; estimated cost left "
        f"~{format_duration(cpu)} CPU{wall(left)} ({rates.source}); every candidate on every run would cost "
        f"~{format_duration(full)}")
    for line in projection.stages:
        unit = "tests" if line.stage == "test" else "runs"
        say(f"  {line.stage:8} {line.done:5}/{line.planned:<5} {unit:5} ~{format_duration(line.seconds_left):>10} CPU   "
            f"{STAGE_TEXT[line.stage]}")
    if edges.planned:
        steps = max(cell.extend_edges for cell in plan.cells)
        say(f"  {'edges':8} {'up to':>5} {edges.planned:<5} runs  ~{format_duration(edges.seconds_left):>10} CPU   not in the "
            f"estimate: if picks land on a grid edge (--extend-edges {steps}), each step races one more lr")
    return left


#: Set to 1 to leave out the warning about uncommitted code (a test suite run in a work tree, a deliberate trial).
ALLOW_DIRTY_ENV = "TTN_ALLOW_DIRTY"


def warn_uncommitted_code() -> None:
    """A warning on stderr when the code this sweep imports has uncommitted changes (`versions.git` "-dirty"):
    its records will not name code anyone can check out. Says where the code comes from, since a sweep started
    beside a work tree can import that tree instead of the one meant (`python -c` puts the current folder first).
    Not with ALLOW_DIRTY_ENV=1."""
    import os

    import ttn
    from ttn.experiment.provenance import git_commit

    commit = git_commit()
    if commit is not None and commit.endswith("-dirty") and os.environ.get(ALLOW_DIRTY_ENV) != "1":
        source = Path(ttn.__file__).resolve().parent.parent
        err_console.print(f"[yellow]warning:[/yellow] the code in {escape(str(source))} has uncommitted changes: the "
                          f"records will say {commit[:7]}...-dirty; commit first, or run from a worktree of a commit "
                          "(git worktree add)", highlight=False, soft_wrap=True)


def run_sweep_command(data: Path, out: Path, plan: SweepPlan, runner: Runner, dry_run: bool = False,
                      ask: Callable[[float], bool] | None = None) -> SweepSummary | None:
    """Check the data and the results folder, say what will run where and what it costs, and run it with
    progress (what both commands share); None after printing the plan when `dry_run`, or when `ask(estimated
    seconds)` says not to start."""
    import vmnist

    from ttn.experiment.claims import clear_stale
    from ttn.experiment.run import check_runs
    from ttn.experiment.sweep import pending_tasks, run_sweep

    tasks = plan.tasks
    check_runs(tasks, data, out)  # the same pre-flight as `ttn train`'s, for every task of the plan
    todo, done = pending_tasks(tasks, out)
    warn_uncommitted_code()
    test_videos = vmnist.split_sizes(data).get("test", 10_000)
    rates = estimate_rates(out, todo or plan.tasks)
    estimate = print_plan(plan, todo, done, out, runner, test_videos, rates)
    if dry_run:
        return None
    if ask is not None and todo and not ask(estimate):
        err_console.print("not started", highlight=False, markup=False)
        click.get_current_context().exit(1)
    try:
        if plan.cells is None:
            with runner, task_progress(len(todo)) as on_done:
                return run_sweep(tasks, data, out, runner, on_done=on_done)
        return run_raced(plan, data, out, runner, lambda: raced_seconds_left(plan, out, rates, test_videos, runner.slots))
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM, once the workers are stopped: say what is on disk
        recorded = len(pending_tasks(tasks, out)[1])
        of = "" if plan.cells is not None else f" of {len(tasks)}"  # a raced sweep's total is not known ahead
        raise type(stop)(f"{recorded}{of} runs recorded in {out}; the same command trains the rest") from None
    finally:
        clear_stale(out, [task.run_id for task in todo])  # the claims of workers stopped mid-run


def run_raced(plan: SweepPlan, data: Path, out: Path, runner: Runner, left: Callable[[], float] | None = None
               ) -> SweepSummary:
    """Race the plan's cells, smallest size first: a line whenever a cell moves to another stage, and one per
    finished run (with `left()`, the seconds the rest is projected to take)."""
    from ttn.experiment.raced_sweep import run_raced_sweep

    def on_round(work: Any) -> None:
        stages = sorted({decision.stage for decision in work.decisions.values()})
        err_console.print(f"ready: {len(work.train)} runs to train, {len(work.test)} to test (cells at: "
                          f"{', '.join(stages)})", highlight=False, soft_wrap=True, markup=False)

    with runner, task_progress(None, left) as on_done:
        return run_raced_sweep(plan.cells, data, out, runner, on_done=on_done, on_round=on_round, test_all=plan.test_all)


def print_summary(summary: Any, out: Path, as_json: bool = False) -> None:
    """The one-line summary on stdout (failures were reported on stderr as they happened); `as_json`: the run ids
    trained, already done, failed (with their errors) and trained elsewhere, as JSON."""
    if as_json:
        echo(json.dumps({"out": str(out), "trained": summary.done, "already_done": summary.skipped,
                         "failed": summary.failed, "elsewhere": summary.elsewhere,
                         "wall_time_s": round(summary.wall_time_s, 3)}, indent=1))
        return
    failed = f", {len(summary.failed)} failed" if summary.failed else ""
    elsewhere = f", {len(summary.elsewhere)} being trained by another sweep" if summary.elsewhere else ""
    out_console.print(
        f"sweep: {len(summary.done)} trained, {len(summary.skipped)} already done{elsewhere}{failed} "
        f"in {summary.wall_time_s:.0f} s -> {out}", highlight=False, soft_wrap=True, markup=False,
    )


def _preset_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Preset | None:
    return None if value is None else get_preset(value)


@config_file_options
@click.command("sweep")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None, callback=_preset_option,
              help="'paper': section 3.5 with Table 2's models, raced; 'quick': a reduced protocol (~30 min on 2 cores).")
@sweep_options
@json_option("what the sweep did (run ids trained, already done, failed with their errors)")
@training_options(grid=True)
def sweep_command(data: Path, archs: list[str] | None, videos: list[int] | None, runs: list[int] | None, out: Path,
                  workers: int | None, scheduler: str | None, dask_local: int | None, preset: Preset | None,
                  race: int | None, select_runs: list[int] | None, extend_edges: int | None, test_all: bool,
                  dry_run: bool, yes: bool, as_json: bool, **options: Any) -> None:
    """Train every (arch, videos, run); resumable: runs with a complete record in --out are skipped.

    Explicit options override the preset's. A failed run is reported and the others go on; the exit code
    is 1 if any failed. Then `ttn report OUT` selects among the candidates on validation accuracy.

    With --race K the candidates race over runs, never over epochs: every candidate trains the first K of
    --select-runs; the top half (at least 2) by mean validation accuracy trains the rest of them; the best
    by mean validation accuracy over --select-runs (the pick) has those runs tested and trains the other
    --runs, fresh runs for an estimate the choice did not see. A tie goes to the better over the first K
    runs, then to the first candidate in order (the smaller lr). Runs of candidates not picked are not tested
    (--test-all tests them); their scored models are kept beside the records. The plan (OUT/race.json) is
    what `ttn report` selects by. Each decision reads finished records only: a restarted sweep, or two on
    one folder, decide alike.

    \b
    Examples:
      ttn sweep --preset quick                  # 96 runs, ~30 min on 2 cores
      ttn sweep --preset paper --videos 10,50 --dry-run   # the plan, its cost
      # racing: picked on runs 0-9, then fresh runs 10-29 of the pick
      ttn sweep --videos 10,20 --lr 0.0025,0.005,0.01,0.02 \\
                --race 2 --select-runs 0-9 --runs 30
      ttn sweep --preset quick --runs 40-49     # more runs of the same candidates
      # each arch its own lrs, in one sweep (a pair's runs train side by side)
      ttn sweep --preset paper --videos 2000 \\
                --lr "3d=0.005,0.01;3dttn=0.00125,0.0025"
      ttn sweep --preset paper --dask-local 4   # a local Dask cluster
      ttn sweep --preset paper --scheduler tcp://host:8786   # see docs/cluster.md
    """
    runner = runner_of(workers, scheduler, dask_local)
    plan = planned_sweep(archs, videos, runs, preset, options, race, select_runs, test_all, extend_edges)
    bare = preset is None and videos is None and not yes  # the whole paper protocol: ask first, on a terminal
    summary = run_sweep_command(data, out, plan, runner, dry_run, ask=confirm_long_plan if bare else None)
    if summary is None:
        return
    print_summary(summary, out, as_json)
    if not summary.ok:
        click.get_current_context().exit(1)


@config_file_options
@click.command("reproduce")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="quick", show_default=True, callback=_preset_option,
              help="'quick' (~30 min on 2 cores) or 'paper' (the full protocol, raced: days on a laptop).")
@click.option("--mnist", type=UserPath(exists=True, path_type=Path), default=None,
              help="Local MNIST file or folder for generating the data (else fetched and cached); used only when "
                   "--data does not exist yet.")
@sweep_options
@training_options(grid=True)
def reproduce_command(data: Path, archs: list[str] | None, videos: list[int] | None, runs: list[int] | None, out: Path,
                      workers: int | None, scheduler: str | None, dask_local: int | None, preset: Preset | None,
                      race: int | None, select_runs: list[int] | None, extend_edges: int | None, test_all: bool,
                      dry_run: bool, yes: bool, mnist: Path | None, **options: Any) -> None:
    """The whole pipeline: generate the data if missing, run the sweep, print the report.

    Running it again resumes the sweep (finished runs are skipped) and prints the report of all runs.
    --dry-run prints the plan and its cost (the data must exist for that) and exits.

    \b
    Examples:
      ttn reproduce                     # --preset quick: ~30 min on 2 cores
      ttn reproduce --preset quick --runs 10 --out quick10/
      ttn reproduce --preset paper --dry-run        # the staged plan and its cost
      ttn reproduce --preset paper --dask-local 8   # section 3.5 in full
    """
    runner = runner_of(workers, scheduler, dask_local)
    plan = planned_sweep(archs, videos, runs, preset, options, race, select_runs, test_all, extend_edges)
    if not data.exists():
        if dry_run:
            raise click.BadParameter(f"{data} does not exist: --dry-run checks the plan against the data; run "
                                     "`vmnist generate` first or drop --dry-run", param_hint="--data")
        generate_data(data, mnist)
    elif mnist is not None:
        err_console.print(f"{data} exists, so --mnist {mnist} is not used (the videos were rendered before, from MNIST "
                          f"{_mnist_of(data)}); delete {data} or pass another --data to render from --mnist",
                          highlight=False, soft_wrap=True, markup=False)
    summary = run_sweep_command(data, out, plan, runner, dry_run)
    if summary is None:
        return
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
