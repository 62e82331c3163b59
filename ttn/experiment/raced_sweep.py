"""A raced sweep: a scheduler that decides each next run from the records the finished runs wrote.

    store the plan of every size in OUT/race.json (refused if OUT raced a size another way)
    while work is left:
      per (arch, videos) cell, `ttn.experiment.racing.decide` from its records -> runs to train, runs to test
      fill the free worker slots in priority order: smallest size first (its cells finish first, so a sweep cut
      short by the end of a session leaves whole cells), then tests, then by run index, arch and candidate
      wait for one task to finish (runs of candidates not yet picked train without a test pass)

Every decision reads finished records only, so a restarted sweep, or two sweeps on one folder, make the same
decisions; runs that another sweep is training are waited for (looked at again every `poll_s`), never trained
twice. Works on any `Runner` (on a cluster of unknown size every ready task is submitted at once).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ttn.experiment.config import TrainConfig, config_order, resolved_config
from ttn.experiment.racing import CellDecision, RacePlan, decide, mean_over, store_plans
from ttn.experiment.records import selection_val_accuracy
from ttn.experiment.runners import Runner
from ttn.experiment.sweep import DEAD_WORKER_RETRIES, DoneCallback, SweepSummary, TaskFn, run_task, run_test_task
from ttn.experiment.task import Task

#: Seconds before a run that another sweep is training is looked at again.
POLL_S = 15.0


@dataclass(frozen=True)
class Cell:
    """One (arch, videos) cell of a raced sweep: its candidates in the sweep's order, its race plan, and how many
    lr steps beyond its own grid it may go when the pick lands on an edge (`edge_step`; 0: none)."""

    arch: str
    videos: int
    candidates: tuple[TrainConfig, ...]
    plan: RacePlan
    extend_edges: int = 0


@dataclass
class RoundWork:
    """What one round does: runs to train, recorded runs to test, and where each cell stands."""

    train: list[Task] = field(default_factory=list)
    test: list[Task] = field(default_factory=list)
    decisions: dict[tuple[str, int], CellDecision] = field(default_factory=dict)


def make_cells(archs: Sequence[str], sizes: Sequence[int], configs: Mapping[str, Sequence[TrainConfig]],
               plans: Mapping[int, RacePlan], extend_edges: int = 0) -> list[Cell]:
    """The cells of a raced sweep, smallest sizes first (their results arrive first), each cell's candidates in
    `config_order` (the order in which `ttn report` lists them and breaks ties); `extend_edges`: see `Cell`."""
    def ordered(arch: str, videos: int) -> tuple[TrainConfig, ...]:
        unique = dict.fromkeys(configs[arch])
        return tuple(sorted(unique, key=lambda config: config_order(resolved_config(config, arch, videos))))

    return [Cell(arch, videos, ordered(arch, videos), plans[videos], extend_edges)
            for videos in sorted(set(sizes)) for arch in dict.fromkeys(archs)]


def resolved_identity(cell: Cell, config: TrainConfig) -> dict[str, Any]:
    """What makes `config` a distinct candidate in `cell`, with defaults resolved (a candidate without an lr has
    its arch's default for the size)."""
    from ttn.experiment.config import identity

    return dict(identity(resolved_config(config, cell.arch, cell.videos)))


def edge_step(cell: Cell, winner: TrainConfig, candidates: Sequence[TrainConfig],
              val: Mapping[TrainConfig, Mapping[int, float]]) -> TrainConfig | None:
    """One lr step beyond the grid's edge when the pick `winner` is the smallest or largest lr of its family (the
    `candidates` equal to it but for the lr), by the ratio of the family's two outermost lrs on that side; None
    when the pick is inside, the family has one lr, `cell.extend_edges` steps beyond the cell's own lrs were
    taken already, or the pick is level with the family's next lr in over the selection runs both have (`val`:
    candidate -> run -> validation accuracy). Level, validation does not point beyond the edge: the tie rule put
    the pick there, and a step out could win only by the same rule (at 2000 videos all four 3D lrs had 300 of 300
    right, and two steps out walked the pick down the grid by order alone). The new candidate races like any
    other (`decide`): the pick is made again among all."""
    from dataclasses import replace

    def without_lr(config: TrainConfig) -> tuple[Any, ...]:
        return tuple(sorted((name, value) for name, value in resolved_identity(cell, config).items() if name != "lr"))

    if cell.extend_edges < 1:
        return None
    lr = resolved_identity(cell, winner)["lr"]
    family_configs = [config for config in candidates if without_lr(config) == without_lr(winner)]
    family = sorted({resolved_identity(cell, config)["lr"] for config in family_configs})
    if len(family) < 2 or lr not in (family[0], family[-1]):
        return None
    if steps_beyond(cell, family_configs) >= cell.extend_edges:
        return None
    low = lr == family[0]
    next_in = next(c for c in family_configs if resolved_identity(cell, c)["lr"] == (family[1] if low else family[-2]))
    shared = [run for run in cell.plan.select_runs if run in val.get(winner, {}) and run in val.get(next_in, {})]
    if shared and mean_over(val[winner], shared) <= mean_over(val[next_in], shared):
        return None
    ratio = family[1] / family[0] if low else family[-1] / family[-2]
    return replace(winner, lr=float(f"{(lr / ratio if low else lr * ratio):.12g}"))


@dataclass
class CellState:
    """A cell as its records stand: every candidate (the sweep's and any other recorded in the folder for the
    cell, in `config_order`), the validation accuracy of each recorded run, and the runs not tested yet."""

    candidates: tuple[TrainConfig, ...]
    val: dict[TrainConfig, dict[int, float]]
    untested: dict[TrainConfig, set[int]]


def records_by_cell(out: str | os.PathLike[str] | None) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The complete records of results folder `out` by (arch, videos) ({} for a folder not made yet)."""
    from ttn.experiment.records import load_records

    grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
    if out is None or not os.path.isdir(out):
        return grouped
    for record in load_records(out).records:  # torn or incomplete files are skipped: trained again
        grouped.setdefault((record["arch"], record["videos"]), []).append(record)
    return grouped


def cell_state(cell: Cell, records: Sequence[dict[str, Any]]) -> CellState:
    """The state of `cell` from its `records`. A candidate recorded in the folder but not given to this sweep
    (e.g. one more lr beyond a grid edge, raced by another command) races too: every sweep and report on the
    folder then decides among the same candidates."""
    from ttn.errors import TTNError
    from ttn.experiment.config import identity
    from ttn.experiment.rerun import config_from_record

    by_key = {identity(resolved_config(config, cell.arch, cell.videos)): config for config in cell.candidates}
    runs: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        runs.setdefault(identity(record["config"]), []).append(record)
    for key, group in runs.items():
        if key not in by_key:
            try:
                by_key[key] = config_from_record(group[0])
            except TTNError:
                continue  # a config this ttn cannot train again cannot race on
    ordered = sorted(by_key, key=lambda key: config_order(dict(key)))
    state = CellState(tuple(by_key[key] for key in ordered), {}, {})
    wanted = set(cell.plan.runs)
    for key in ordered:
        config = by_key[key]
        chosen = [record for record in runs.get(key, []) if record["run"] in wanted]
        state.val[config] = {record["run"]: selection_val_accuracy(record) for record in chosen}
        state.untested[config] = {record["run"] for record in chosen if record["test_accuracy"] is None}
    return state


def decide_cell(cell: Cell, records: Sequence[dict[str, Any]]) -> tuple[CellState, CellDecision]:
    """Where `cell` stands from its `records` (`ttn.experiment.racing.decide`): a pick at the grid's edge with
    steps left that validation points beyond (`edge_step`) adds the next lr out to the state's candidates, unrecorded, and the cell decides again
    among all. What the sweep trains next and what its plan costs both come from here."""
    state = cell_state(cell, records)
    decision = decide(cell.plan, list(state.candidates), state.val, state.untested)
    beyond = edge_step(cell, decision.winner, state.candidates, state.val) if decision.winner is not None else None
    if beyond is not None:
        state.candidates = tuple(sorted(state.candidates + (beyond,), key=lambda config: config_order(
            resolved_config(config, cell.arch, cell.videos))))
        state.val[beyond], state.untested[beyond] = {}, set()
        decision = decide(cell.plan, list(state.candidates), state.val, state.untested)
    return state, decision


def steps_beyond(cell: Cell, candidates: Sequence[TrainConfig]) -> int:
    """How many of `candidates` have an lr outside the range of the cell's own grid: the edge steps taken."""
    own = [resolved_identity(cell, config)["lr"] for config in cell.candidates]
    return sum(not min(own) <= resolved_identity(cell, config)["lr"] <= max(own) for config in candidates)


def next_work(cells: Sequence[Cell], out: str | os.PathLike[str], test_all: bool = False) -> RoundWork:
    """The runs to train and to test now, from the records in `out` (`ttn.experiment.racing.decide` per cell).

    `test_all`: also test every recorded run whose test was deferred (candidates that were not picked)."""
    work = RoundWork()
    records = records_by_cell(out)
    for cell in cells:
        state, decision = decide_cell(cell, records.get((cell.arch, cell.videos), []))
        work.decisions[(cell.arch, cell.videos)] = decision
        picked = decision.winner is not None
        for config, run in decision.train:
            # a run of the pick is tested as it trains; others keep their scored model for a later test
            work.train.append(Task(cell.arch, cell.videos, run, config, defer_test=not picked))
        untested = state.untested
        tests = decision.test if not test_all else [(c, run) for c in state.candidates for run in sorted(untested[c])]
        work.test.extend(Task(cell.arch, cell.videos, run, config) for config, run in tests)
    return work


def _priority(task: Task, testing: bool) -> tuple[int, int, int, str, str]:
    return (task.videos, 0 if testing else 1, task.run, task.arch, task.run_id)


@dataclass
class _InFlight:
    task: Task
    testing: bool


def _drain(runner: Runner, in_flight: dict[Any, _InFlight]) -> None:
    """Wait for every task in flight (after a worker died: in a local pool they all fail at once) and forget
    them; their records, where written, are read by the next decision."""
    for _ in runner.as_completed(list(in_flight)):
        pass
    in_flight.clear()


def run_raced_sweep(cells: Sequence[Cell], data: str | os.PathLike[str], out: str | os.PathLike[str], runner: Runner,
                    *, on_done: DoneCallback | None = None, on_round: Any = None, test_all: bool = False,
                    poll_s: float = POLL_S, train_fn: TaskFn = run_task, test_fn: TaskFn = run_test_task,
                    retries: int = DEAD_WORKER_RETRIES) -> SweepSummary:
    """Race every cell to its end (`ttn.experiment.racing`) on `runner`; returns what was done.

    `on_round(work)` is called with the `RoundWork` of each new decision (for progress). A failed task is
    reported and not tried again; the cells it blocks stop there, the others go on. A task lost to a dead
    worker is tried again, up to `retries` times. `train_fn` / `test_fn` run one task (`run_task` /
    `run_test_task`; tests pass others)."""
    from ttn.experiment.sweep import _task_error

    started = time.perf_counter()
    store_plans(out, {cell.videos: cell.plan for cell in cells})
    data, out = str(data), str(out)
    total = SweepSummary()
    in_flight: dict[Any, _InFlight] = {}
    waiting_until: dict[str, float] = {}  # run id -> when to look again (another sweep trains it)
    lost: dict[str, int] = {}
    submitted = 0
    last_stages: tuple[str, ...] = ()
    while True:
        work = next_work(cells, out, test_all)
        busy = {entry.task.run_id for entry in in_flight.values()}
        now = time.monotonic()
        ready = sorted([(task, False) for task in work.train] + [(task, True) for task in work.test],
                       key=lambda item: _priority(*item))
        ready = [(task, testing) for task, testing in ready if task.run_id not in busy and task.run_id not in
                 total.failed and waiting_until.get(task.run_id, 0.0) <= now]
        stages = tuple(sorted({decision.stage for decision in work.decisions.values()}))
        if on_round is not None and ready and stages != last_stages:
            on_round(work)
            last_stages = stages
        free = len(ready) if runner.slots is None else max(0, runner.slots - len(in_flight))
        for task, testing in ready[:free]:
            submitted += 1
            future = runner.submit(test_fn if testing else train_fn, task, data, out,
                                   key=f"{'test' if testing else 'train'}-{task.run_id}-{submitted}")
            in_flight[future] = _InFlight(task, testing)
        if not in_flight:
            pending = [run_id for run_id, until in waiting_until.items() if until > now]
            if not pending:
                break  # nothing left, or only what failed
            time.sleep(poll_s)
            continue
        future = next(iter(runner.as_completed(list(in_flight))))
        entry = in_flight.pop(future)
        run_id = entry.task.run_id
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - any task error is reported, the sweep goes on
            if runner.died(exc) and lost.get(run_id, 0) < retries:
                lost[run_id] = lost.get(run_id, 0) + 1
                _drain(runner, in_flight)  # a broken pool fails every task in it: their runs are decided again
                runner.replace_dead()
                continue
            total.failed[run_id] = _task_error(exc, runner.died(exc))
            if on_done:
                on_done(run_id, None, total.failed[run_id])
            continue
        if isinstance(result, dict) and result.get("elsewhere"):
            total.elsewhere.append(run_id)
            waiting_until[run_id] = time.monotonic() + poll_s
            continue  # another sweep trains it: no progress line, look again later
        (total.skipped if isinstance(result, dict) and result.get("skipped") else total.done).append(run_id)
        if on_done:
            on_done(run_id, result, None)
    total.planned = len(total.done) + len(total.skipped) + len(total.failed)
    total.wall_time_s = time.perf_counter() - started
    return total
