"""Racing selection over runs (ttn.experiment.racing, ttn.experiment.raced_sweep): the exact rule on crafted
accuracies, and a crafted sweep that shows which candidate trains which runs, tests which, and resumes."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ttn.errors import TTNError
from ttn.experiment.config import make_config, resolved_config
from ttn.experiment.raced_sweep import Cell, make_cells, next_work, run_raced_sweep
from ttn.experiment.racing import RacePlan, decide, read_plans, store_plans, survivors_count
from ttn.experiment.records import SCHEMA_VERSION, read_record, record_path, write_record
from ttn.experiment.runners import PoolRunner
from ttn.experiment.task import Task

PLAN = RacePlan(race=2, select_runs=(0, 1, 2, 3), runs=(0, 1, 2, 3, 4, 5))


def test_survivors_are_the_top_half_and_at_least_two():
    assert [survivors_count(n) for n in (1, 2, 3, 4, 5, 8)] == [1, 2, 2, 2, 3, 4]


def test_plan_checks_its_runs():
    assert PLAN.race_runs == (0, 1) and PLAN.later_select_runs == (2, 3) and PLAN.confirm_runs == (4, 5)
    with pytest.raises(TTNError, match="--race 5 is more runs than --select-runs holds"):
        RacePlan(5, (0, 1, 2, 3), (0, 1, 2, 3))
    with pytest.raises(TTNError, match="--select-runs names runs that --runs does not"):
        RacePlan(2, (0, 1, 2, 3), (0, 1, 2))


def test_decide_follows_the_rule_stage_by_stage():
    cands = ["a", "b", "c", "d"]
    first = decide(PLAN, cands, {})
    assert first.stage == "race" and first.survivors is None
    assert first.train == [(c, r) for c in cands for r in (0, 1)]
    # b and c tie on the race runs (0.65): both go on; a (0.5) and d (0.2) stop there
    val = {"a": {0: 0.5, 1: 0.5}, "b": {0: 0.7, 1: 0.6}, "c": {0: 0.6, 1: 0.7}, "d": {0: 0.2, 1: 0.2}}
    second = decide(PLAN, cands, val)
    assert second.stage == "select" and second.survivors == ["b", "c"]
    assert second.train == [("b", 2), ("b", 3), ("c", 2), ("c", 3)]
    val["b"] |= {2: 0.6, 3: 0.6}  # mean over 0-3: 0.625
    val["c"] |= {2: 0.7}
    assert decide(PLAN, cands, val).train == [("c", 3)]  # a stage waits for every record it decides on
    val["c"] |= {3: 0.7}  # 0.675: c is the pick
    third = decide(PLAN, cands, val, untested={"b": {0, 1, 2, 3}, "c": {0, 1, 2, 3}, "a": {0, 1}})
    assert third.stage == "confirm" and third.winner == "c"
    assert third.test == [("c", r) for r in (0, 1, 2, 3)] and third.train == [("c", 4), ("c", 5)]
    val["c"] |= {4: 0.1, 5: 0.1}  # confirmatory runs never change the pick
    done = decide(PLAN, cands, val)
    assert done.stage == "done" and done.winner == "c" and not done.train and not done.test


def test_ties_go_to_the_earlier_candidate():
    val = {c: {r: 0.5 for r in range(4)} for c in "abc"}
    assert decide(PLAN, ["c", "b", "a"], val).winner == "c"


def test_equal_counts_tie_whatever_the_float_sum():
    """The 3DTTN at 100 videos: two lrs with 2,739 of 3,000 validation videos right over runs 0-9, whose plain float
    means differ in the 16th digit; they tie, so the first in order wins either way round."""
    a = dict(enumerate(k / 300 for k in (276, 280, 277, 269, 270, 276, 272, 272, 273, 274)))
    b = dict(enumerate(k / 300 for k in (275, 279, 274, 271, 277, 270, 271, 278, 270, 274)))
    assert sum(a.values()) / 10 != sum(b.values()) / 10  # the noise the rule must not read
    plan = RacePlan(race=10, select_runs=tuple(range(10)), runs=tuple(range(12)))  # one mean decides
    assert decide(plan, ["a", "b"], {"a": a, "b": b}).winner == "a"
    assert decide(plan, ["b", "a"], {"a": a, "b": b}).winner == "b"
    b[9] = 275 / 300  # one video more: b is better, in either order
    assert decide(plan, ["a", "b"], {"a": a, "b": b}).winner == "b"
    a[9], raced = 275 / 300, RacePlan(race=2, select_runs=tuple(range(10)), runs=tuple(range(12)))
    assert decide(raced, ["b", "a"], {"a": a, "b": b}).winner == "a"  # level over 0-9: a, better over runs 0-1


def _ceiling_record(folder, arch: str, lr: float, *, run: int, val: float, test: float | None) -> None:
    """Write a crafted 2000-video record of `arch` at `lr`; its test deferred when `test` is None."""
    write_record(folder, {"schema": SCHEMA_VERSION, "run_id": f"{arch}-v2000-lr{lr}-r{run}", "arch": arch,
                          "videos": 2000, "run": run, "params": 1, "val_accuracy": val, "test_accuracy": test,
                          "test_deferred": test is None, "data": {}, "complete": True,
                          "config": resolved_config(make_config(epochs=1, lr=lr), arch, 2000)})


def test_report_warns_where_the_races_order_decided(tmp_path):
    """A validation set at its ceiling: four lrs right on every video of run 0 (K 1). The race cuts two by order,
    the pick ties the other that went on; the report says both."""
    from ttn.report.tables import ReportOptions, make_report

    plan = RacePlan(race=1, select_runs=(0,), runs=(0, 1))
    store_plans(tmp_path, {2000: plan})
    for lr in (0.01, 0.02, 0.04, 0.08):
        _ceiling_record(tmp_path, "3d", lr, run=0, val=1.0, test=None)
    warnings = make_report(tmp_path, ReportOptions(race=((2000, plan),))).warnings
    assert ("3d at 2000 videos: the pick, lr 0.01, ties with lr 0.02 over the selection runs (1.0000): the race's tie "
            "rule made it (the better over the race runs, then the first in order), not validation") in warnings
    assert ("3d at 2000 videos: lr 0.04, lr 0.08 went out after the race level with a candidate that went on (1.0000 "
            "over the race runs): the order of the candidates cut it") in warnings
    # picked, its fresh run 1 not trained yet: the warning names the race's runs, not an option no one gave
    assert ("3d at 2000 videos: the selected candidate (lr 0.01) has no tested run among the runs the race estimates "
            "on (1) yet: left out") in warnings
    for run in (0, 1):  # a 3DTTN with its fresh run 1 tested, so that the report has a cell to show
        _ceiling_record(tmp_path, "3dttn", 0.001, run=run, val=0.9, test=0.9)
    asked = make_report(tmp_path, ReportOptions(race=((2000, plan),), estimate_runs=frozenset({1}))).warnings
    assert "3d at 2000 videos: the selected candidate (lr 0.01) has no tested run in --estimate-runs: left out" in asked


# ----------------------------------------------------------------------------------------- a crafted sweep

#: Validation accuracy of a crafted run: candidate lr -> per run. lr 0.02 leads the race, 0.01 wins on runs 0-3.
VAL = {0.005: [0.30, 0.30, 0.9, 0.9], 0.01: [0.50, 0.48, 0.80, 0.80], 0.02: [0.60, 0.55, 0.40, 0.40],
       0.04: [0.10, 0.10, 0.10, 0.10]}


#: One more lr beyond the grid's edge, raced later by another command on the same folder: it wins.
EXTRA = {0.0025: [0.95, 0.95, 0.95, 0.95]}


def _crafted_train(task, data, out):
    """Write the record a run of `task` would: its crafted validation accuracy; tested unless deferred."""
    val = (VAL | EXTRA)[task.config.lr][task.run] if task.run < 4 else 0.5
    record = {"schema": SCHEMA_VERSION, "run_id": task.run_id, "arch": task.arch, "videos": task.videos, "run": task.run,
              "params": 1, "val_accuracy": val, "test_accuracy": None if task.defer_test else 0.25,
              "test_deferred": task.defer_test, "config": task.resolved_config(), "data": {}, "complete": True}
    write_record(out, record)
    return {"run_id": task.run_id, "test_accuracy": record["test_accuracy"], "wall_time_s": 0.0, "skipped": False}


def _crafted_test(task, data, out):
    record = read_record(record_path(out, task.run_id))
    write_record(out, record | {"test_accuracy": 0.75})
    return {"run_id": task.run_id, "test_accuracy": 0.75, "wall_time_s": 0.0, "skipped": False}


def _sweep(out, **options):
    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in VAL]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN})
    with PoolRunner(make_pool=lambda: ThreadPoolExecutor(2)) as runner:
        return run_raced_sweep(cells, "unused.h5", out, runner, train_fn=_crafted_train, test_fn=_crafted_test,
                               poll_s=0.01, **options), cells


def test_a_crafted_sweep_trains_exactly_what_the_rule_says(tmp_path):
    summary, cells = _sweep(tmp_path)
    trained = {}
    for path in sorted(tmp_path.glob("*.json")):
        if path.name == "race.json":
            continue
        record = read_record(path)
        trained.setdefault(record["config"]["lr"], {})[record["run"]] = record["test_accuracy"]
    # every lr races runs 0-1; 0.02 (0.575) and 0.01 (0.49) go on to runs 2-3; 0.01 wins on runs 0-3 (0.645 vs
    # 0.4875) and trains runs 4-5; only its runs are tested: 0-3 after the pick (0.75), 4-5 as they train (0.25)
    assert trained == {0.005: {0: None, 1: None}, 0.04: {0: None, 1: None},
                       0.02: {0: None, 1: None, 2: None, 3: None},
                       0.01: {0: 0.75, 1: 0.75, 2: 0.75, 3: 0.75, 4: 0.25, 5: 0.25}}
    assert summary.ok and len(summary.done) == 4 * 2 + 2 * 2 + 2 + 4
    assert read_plans(tmp_path) == {10: PLAN}
    assert next_work(cells, tmp_path).decisions[("3d", 10)].stage == "done"
    again, _ = _sweep(tmp_path)  # a restarted sweep decides the same and finds nothing to do
    assert again.done == [] and again.ok


def _retraining_test(task, data, out):
    """A deferred test whose model was on another machine (`retrain_for_test`): the run trained again there comes
    out another run, here one whose validation accuracy would sink its candidate below the runner-up."""
    record = read_record(record_path(out, task.run_id))
    write_record(out, record | {"test_accuracy": 0.75, "val_accuracy": 0.0,
                                "retrained_for_test": {"val_accuracy": record["val_accuracy"], "versions": None}})
    return {"run_id": task.run_id, "test_accuracy": 0.75, "wall_time_s": 0.0, "skipped": False}


def test_a_run_trained_again_for_its_test_keeps_the_pick_it_was_chosen_by(tmp_path):
    """The pick stands on the validation accuracies it was made on: after its runs are trained again for their
    test (another CPU, another run), the sweep, a restart of it and the report all keep it."""
    from ttn.report.selection import race_select

    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in VAL]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN})
    with PoolRunner(make_pool=lambda: ThreadPoolExecutor(2)) as runner:
        summary = run_raced_sweep(cells, "unused.h5", tmp_path, runner, train_fn=_crafted_train,
                                  test_fn=_retraining_test, poll_s=0.01)
    records = [read_record(path) for path in tmp_path.glob("*-r*.json")]
    retrained = sorted(r["run"] for r in records if "retrained_for_test" in r)
    assert summary.ok and retrained == [0, 1, 2, 3]  # lr 0.01's selection runs, each now at 0.0
    assert sorted(r["run"] for r in records if r["config"]["lr"] == 0.01) == [0, 1, 2, 3, 4, 5]
    assert not any(r["config"]["lr"] == 0.02 and r["run"] > 3 for r in records)  # the runner-up got no fresh run
    assert next_work(cells, tmp_path).decisions[("3d", 10)].stage == "done"
    assert race_select("3d", 10, records, PLAN).chosen.options == {"lr": 0.01}


def test_test_all_tests_the_runs_of_every_candidate(tmp_path):
    _sweep(tmp_path)
    summary, _ = _sweep(tmp_path, test_all=True)
    assert len(summary.done) == 8  # 0.005, 0.04: runs 0-1; 0.02: runs 0-3
    assert all(read_record(p)["test_accuracy"] is not None for p in tmp_path.glob("3d-*.json"))


def test_a_folder_keeps_one_plan_per_size(tmp_path):
    store_plans(tmp_path, {10: PLAN})
    store_plans(tmp_path, {10: PLAN, 20: RacePlan(1, (0, 1), (0, 1, 2))})  # the same plan again, a new size
    assert set(read_plans(tmp_path)) == {10, 20}
    with pytest.raises(TTNError, match="10 videos were raced with --race 2 --select-runs 0-3 --runs 0-5"):
        store_plans(tmp_path, {10: RacePlan(3, (0, 1, 2, 3), (0, 1, 2, 3, 4, 5))})
    (tmp_path / "race.json").write_text("[1, 2")
    with pytest.raises(TTNError, match="race.json: not a race plan"):
        read_plans(tmp_path)


def test_cells_order_candidates_as_reports_do():
    configs = {"3d": [make_config(lr=0.02), make_config(lr=0.01), make_config(lr=0.02)]}
    (cell,) = make_cells(["3d"], [10], configs, {10: PLAN})
    assert isinstance(cell, Cell) and [c.lr for c in cell.candidates] == [0.01, 0.02]  # config_order: lr by value


def test_a_raced_sweep_from_the_command_line_trains_tests_and_keeps_models(tmp_path):
    """Real training on tiny videos through `ttn sweep --race`: the records follow the rule, the runs not picked
    keep their scored model for a later test, and --dry-run prints the stages without training anything."""
    from click.testing import CliRunner

    from cli.ttn_cli import main
    from ttn.experiment.raced_sweep import cell_state, records_by_cell
    from ttn.experiment.racing import decide
    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=40)
    out = tmp_path / "raced"
    args = ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1", "--channels", "2,3",
            "--val-size", "12", "--lr", "0.01,0.02,0.04", "--race", "1", "--select-runs", "0-1", "--runs", "3",
            "--workers", "1", "--out", str(out)]
    dry = CliRunner().invoke(main, args + ["--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "race         0/3" in dry.output and "select       0/2" in dry.output and "confirm      0/1" in dry.output
    assert "edges" not in dry.output
    extending = CliRunner().invoke(main, args + ["--extend-edges", "1", "--dry-run"])  # may race 1 lr on runs 0-1
    assert "  edges    up to 2     runs" in extending.output and "--extend-edges 1" in extending.output, extending.output
    assert not out.exists()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 3 + 2 + 1 + 2  # the runs trained, and the pick's runs 0-1 tested once it is picked
    assert all(", ~" in line and line.endswith(" left") for line in progress), progress  # projected from the records
    assert progress[-1].endswith("~0 s left")
    configs = {"3d": [make_config(epochs=1, channels=(2, 3), val_size=12, lr=lr) for lr in (0.01, 0.02, 0.04)]}
    (cell,) = make_cells(["3d"], [10], configs, read_plans(out))
    state = cell_state(cell, records_by_cell(out)[("3d", 10)])
    val, untested = state.val, state.untested
    decision = decide(cell.plan, list(state.candidates), val, untested)
    assert decision.stage == "done" and sorted(val[decision.winner]) == [0, 1, 2]
    assert sum(len(runs) for runs in val.values()) == 3 + 2 + 1  # every lr run 0, two of them run 1, the pick run 2
    for config, runs in val.items():
        for run in runs:
            record = read_record(record_path(out, Task(cell.arch, 10, run, config).run_id))
            picked = config == decision.winner
            assert (record["test_accuracy"] is not None) == picked
            assert (out / f"{record['run_id']}.pt").exists() == (not picked or run < 2)
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output


def test_a_report_on_a_raced_folder_picks_by_the_race_and_reports_the_fresh_runs(tmp_path):
    from ttn.report.tables import ReportOptions, make_report, runs_caption

    _sweep(tmp_path)
    report = make_report(tmp_path, ReportOptions(select_rule="val"))
    (row,) = report.rows
    cell = row.cells["3d"]
    # the ordinary rule would compare all four lrs on runs 0-1 and pick the race leader, 0.02; the race picks 0.01
    assert cell.selection.chosen.config["lr"] == 0.01
    assert cell.accuracies == {4: 0.25, 5: 0.25}  # the confirmatory runs only, not the tested selection runs
    assert "picked on the selection runs (K 2, runs 0-3)" in runs_caption(report.options)
    assert "runs 4-5" in runs_caption(report.options)
    tested = make_report(tmp_path, ReportOptions(estimate_runs=frozenset({0, 1, 2, 3})))
    assert tested.rows[0].cells["3d"].accuracies == {0: 0.75, 1: 0.75, 2: 0.75, 3: 0.75}
    # with --select-runs given the ordinary rule compares all lrs on them: 0.02, whose runs are not tested
    options = ReportOptions(select_runs=frozenset({0, 1}), estimate_runs=frozenset({0, 1}))
    with pytest.raises(TTNError, match="no selected candidate has runs"):
        make_report(tmp_path, options)
    _sweep(tmp_path, test_all=True)
    explicit = make_report(tmp_path, options)
    assert explicit.rows[0].cells["3d"].selection.chosen.config["lr"] == 0.02
    assert explicit.rows[0].cells["3d"].accuracies == {0: 0.75, 1: 0.75}


def test_the_runs_caption_names_the_sizes_of_each_plan_when_they_differ(tmp_path):
    """The paper preset picks on runs 0-9 at 10-100 videos and on runs 0-4 at 500-1000: a caption listing both
    plans must say which sizes follow which; a plan of a size the table has no runs of is not the table's."""
    from ttn.report.tables import ReportOptions, make_report, runs_caption

    later = RacePlan(race=2, select_runs=(0, 1, 2), runs=(0, 1, 2, 3))
    two = ReportOptions(race=((500, later), (10, PLAN), (20, PLAN)))
    assert runs_caption(two) == ("Candidates raced over runs and picked on the selection runs (10, 20 videos: K 2, "
                                 "runs 0-3; 500 videos: K 2, runs 0-2); accuracies of the runs outside the selection, "
                                 "which the choice did not see (10, 20 videos: runs 4-5; 500 videos: run 3).")
    assert "videos:" not in runs_caption(ReportOptions(race=((10, PLAN), (20, PLAN))))  # one plan: no sizes named
    _sweep(tmp_path)
    store_plans(tmp_path, {500: later})  # planned, not yet run
    caption = make_report(tmp_path, ReportOptions(select_rule="val")).caption()
    assert "(K 2, runs 0-3)" in caption and "runs 0-2" not in caption and "videos:" not in caption


def test_compare_says_which_rows_were_raced(tmp_path):
    """`ttn compare`'s caption says what a raced row's numbers are, as `ttn report`'s does; a row of a folder
    without a race plan (the same records, race.json removed) is named apart."""
    import shutil

    from ttn.report.compare import RowSpec, caption, compare_rows
    from ttn.report.tables import ReportOptions

    raced, plain = tmp_path / "raced", tmp_path / "plain"
    _sweep(raced, test_all=True)
    shutil.copytree(raced, plain)
    (plain / "race.json").unlink()
    options = ReportOptions(correction="holm")
    both = compare_rows([RowSpec("raced", str(raced))], treatment="3d", baseline="3d", options=options)
    assert both[0].race == ((10, PLAN),)
    said = caption(both, options)
    assert "Candidates raced over runs and picked on the selection runs (K 2, runs 0-3)" in said
    assert "runs 4-5" in said and "raced:" not in said  # every row raced alike: one sentence, no row named
    mixed = compare_rows([RowSpec("raced", str(raced)), RowSpec("plain", str(plain))], treatment="3d", baseline="3d",
                         options=options)
    assert "raced: Candidates raced over runs" in caption(mixed, options) and "plain:" not in caption(mixed, options)
    assert "raced over runs" not in caption(mixed[1:], options)  # the plain row alone
    overridden = ReportOptions(correction="holm", select_runs=frozenset({0, 1}), estimate_runs=frozenset({0, 1}))
    gaps = compare_rows([RowSpec("raced", str(raced))], treatment="3d", baseline="3d", options=overridden)
    assert gaps[0].race == () and "raced over runs" not in caption(gaps, overridden)


def _two_size_sweep(out, train_fn=_crafted_train, slots=1):
    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in VAL]}
    cells = make_cells(["3d"], [20, 10], configs, {10: PLAN, 20: PLAN})
    order = []
    runner = PoolRunner(make_pool=lambda: ThreadPoolExecutor(slots))
    runner.slots = slots
    with runner:
        summary = run_raced_sweep(cells, "unused.h5", out, runner, train_fn=train_fn, test_fn=_crafted_test, poll_s=0.01,
                                  on_done=lambda run_id, result, error: order.append(run_id))
    return summary, order


def test_the_smallest_size_finishes_first(tmp_path):
    summary, order = _two_size_sweep(tmp_path)
    assert summary.ok and len(order) == 2 * 18
    sizes = [int(run_id.split("-v")[1].split("-")[0]) for run_id in order]
    assert sizes == [10] * 18 + [20] * 18  # every run and test of 10 videos before any of 20 (one worker)


def test_a_run_another_sweep_trains_is_waited_for_not_trained(tmp_path):
    import threading

    calls = {}

    def elsewhere_once(task, data, out):
        calls[task.run_id] = calls.get(task.run_id, 0) + 1
        if task.run_id.endswith("lr0.01-inithe-r2") and task.videos == 10:  # "another sweep" writes it a moment later
            if calls[task.run_id] == 1:
                threading.Timer(0.2, _crafted_train, (task, data, out)).start()
            return {"run_id": task.run_id, "elsewhere": True}
        return _crafted_train(task, data, out)

    summary, order = _two_size_sweep(tmp_path, elsewhere_once, slots=2)
    # every run once: the other sweep's run is not trained here (35 = 36 - 1), it is waited for, then decided on
    assert summary.ok and len(summary.done) == 35 and "3d-v10-lr0.01-inithe-r2" in summary.elsewhere
    assert read_record(record_path(tmp_path, "3d-v10-lr0.01-inithe-r2"))["val_accuracy"] == 0.80  # it decided with it


def test_a_run_lost_to_a_dead_worker_is_trained_again(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    died = []

    def die_once(task, data, out):
        if task.run == 3 and not died:
            died.append(task.run_id)
            raise BrokenProcessPool("a worker died")
        return _crafted_train(task, data, out)

    summary, order = _two_size_sweep(tmp_path, die_once)
    assert summary.ok and died and died[0] in order and len(order) == 2 * 18


def test_a_crafted_sweep_races_alike_on_a_local_dask_cluster(tmp_path):
    """The same decisions on Dask: a local cluster of 2 worker processes (the crafted task functions are sent by
    value), and the same records as on the thread pool."""
    pytest.importorskip("distributed")
    import sys

    import cloudpickle

    from ttn.experiment.runners import DaskRunner

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in VAL]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN})
    with DaskRunner(workers=2) as runner:
        summary = run_raced_sweep(cells, "unused.h5", tmp_path, runner, train_fn=_crafted_train, test_fn=_crafted_test,
                                  poll_s=0.01)
    assert summary.ok and len(summary.done) == 4 * 2 + 2 * 2 + 2 + 4
    tested = {read_record(path)["run_id"] for path in tmp_path.glob("3d-*.json")
              if read_record(path)["test_accuracy"] is not None}
    assert tested == {f"3d-v10-lr0.01-inithe-r{run}" for run in range(6)}


def test_sweep_json_lists_what_it_did(tmp_path):
    import json

    from click.testing import CliRunner

    from cli.ttn_cli import main
    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=40)
    args = ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1", "--channels", "2,3",
            "--val-size", "12", "--runs", "2", "--workers", "1", "--out", str(tmp_path / "out"), "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    done = json.loads(first.stdout)
    assert sorted(done["trained"]) == ["3d-v10-lr0.005-c2x3-inithe-r0", "3d-v10-lr0.005-c2x3-inithe-r1"]
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert again["trained"] == [] and sorted(again["already_done"]) == sorted(done["trained"]) and again["failed"] == {}


@pytest.mark.parametrize("extra, message", [
    (["--race", "3", "--select-runs", "0-1"], "--race 3 is more runs than --select-runs holds (2)"),
    (["--select-runs", "0-1"], "--select-runs, --extend-edges and --test-all belong to a raced sweep: add --race K"),
    (["--extend-edges", "1"], "--select-runs, --extend-edges and --test-all belong to a raced sweep: add --race K"),
    (["--race", "2", "--select-runs", "0-9", "--runs", "5"], "--select-runs names runs that --runs does not (5)"),
    (["--runs", "5-2"], "'5-2': a range FIRST-LAST needs 0 <= FIRST <= LAST"),
])
def test_bad_racing_options_are_one_line(tmp_path, extra, message):
    from click.testing import CliRunner

    from cli.ttn_cli import main

    result = CliRunner().invoke(main, ["sweep", "--data", str(tmp_path / "none.h5"), "--arch", "3d", "--videos", "10",
                                       "--dry-run", "--out", str(tmp_path / "out"), *extra])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "out").exists()


def test_a_candidate_added_later_races_against_the_recorded_ones(tmp_path):
    """One more lr beyond the grid's edge, raced by a sweep given only that lr, on the folder of a finished race:
    the decisions read every candidate recorded for the cell, so the new lr races, joins the top half (3 of 5),
    wins, and has its runs tested and its fresh runs trained; the report picks it too."""
    from ttn.report.tables import ReportOptions, make_report

    _sweep(tmp_path)
    cells = make_cells(["3d"], [10], {"3d": [make_config(epochs=1, lr=0.0025)]}, {10: PLAN})
    with PoolRunner(make_pool=lambda: ThreadPoolExecutor(2)) as runner:
        summary = run_raced_sweep(cells, "unused.h5", tmp_path, runner, train_fn=_crafted_train,
                                  test_fn=_crafted_test, poll_s=0.01)
    # 0.0025: race runs 0-1, then 2-3 (0.02 and 0.01, the other survivors, have theirs), tests 0-3, runs 4-5
    assert sorted(summary.done) == sorted([f"3d-v10-lr0.0025-inithe-r{run}" for run in (0, 1, 2, 3, 0, 1, 2, 3, 4, 5)])
    decision = next_work(cells, tmp_path).decisions[("3d", 10)]
    assert decision.stage == "done" and decision.winner.lr == 0.0025
    assert [c.lr for c in decision.survivors] == [0.0025, 0.02, 0.01]
    assert make_report(tmp_path).rows[0].cells["3d"].selection.chosen.config["lr"] == 0.0025


def _crafted_run(task, out, val):
    """Write a crafted record of `task` with validation accuracy `val`; tested unless deferred."""
    record = {"schema": SCHEMA_VERSION, "run_id": task.run_id, "arch": task.arch, "videos": task.videos, "run": task.run,
              "params": 1, "val_accuracy": val, "test_accuracy": None if task.defer_test else 0.25,
              "test_deferred": task.defer_test, "config": task.resolved_config(), "data": {}, "complete": True}
    write_record(out, record)
    return {"run_id": task.run_id, "test_accuracy": record["test_accuracy"], "wall_time_s": 0.0, "skipped": False}


def _peaked_train(task, data, out):
    """A crafted run whose validation accuracy peaks at lr 0.0025 (one step below the grid 0.005-0.04) and falls
    by 0.1 per factor of 2 away from it, the same on every run."""
    import math

    return _crafted_run(task, out, 0.9 - 0.1 * abs(math.log2(task.config.lr / 0.0025)))


def _flat_train(task, data, out):
    """A crafted run at a validation ceiling: 1.0 for every lr and run (2000 videos and up in part c)."""
    return _crafted_run(task, out, 1.0)


@pytest.mark.parametrize("train_fn, steps, expected", [
    (_peaked_train, 0, {0.005: 6, 0.01: 4, 0.02: 2, 0.04: 2}),  # the pick 0.005 stays at the grid's edge
    (_peaked_train, 1, {0.0025: 6, 0.005: 4, 0.01: 4, 0.02: 2, 0.04: 2}),  # one step out: 0.0025 wins, at the edge
    # two: 0.00125 races (ties 0.005 on runs 0-1, goes on as the smaller lr) and loses; 0.01 kept its runs 2-3
    # from the first decision, when 0.005 and 0.01 led the grid
    (_peaked_train, 2, {0.00125: 4, 0.0025: 6, 0.005: 4, 0.01: 4, 0.02: 2, 0.04: 2}),
    # a validation ceiling: the tie rule picks 0.005, level with 0.01: no step out, whatever steps are left
    (_flat_train, 2, {0.005: 6, 0.01: 4, 0.02: 2, 0.04: 2}),
])
def test_an_edge_pick_races_the_next_lr_out(tmp_path, train_fn, steps, expected):
    """With `extend_edges` a pick at the smallest (or largest) lr of its grid makes the next lr out race too, by
    the grid's ratio, and the cell decides again among all; up to `steps` beyond the grid, and only while the edge
    leads the next lr in (level, the tie rule put it there: no sign of a better lr beyond). Counted: runs trained
    per lr; only the final pick trains its fresh runs 4-5, and the report picks what the sweep picked."""
    from ttn.report.tables import make_report

    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in (0.005, 0.01, 0.02, 0.04)]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN}, extend_edges=steps)
    with PoolRunner(make_pool=lambda: ThreadPoolExecutor(2)) as runner:
        summary = run_raced_sweep(cells, "unused.h5", tmp_path, runner, train_fn=train_fn,
                                  test_fn=_crafted_test, poll_s=0.01)
    assert summary.ok
    runs = {}
    for path in tmp_path.glob("3d-*.json"):
        record = read_record(path)
        runs.setdefault(record["config"]["lr"], set()).add(record["run"])
    assert {lr: len(trained) for lr, trained in runs.items()} == expected
    pick = max(expected, key=expected.get)
    assert runs[pick] == {0, 1, 2, 3, 4, 5} and all(4 not in trained for lr, trained in runs.items() if lr != pick)
    assert make_report(tmp_path).rows[0].cells["3d"].selection.chosen.config["lr"] == pick
    assert next_work(cells, tmp_path).decisions[("3d", 10)].stage == "done"


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_the_plan_costs_a_known_edge_step_and_bounds_the_ones_to_come(tmp_path, steps):
    """`ttn sweep --dry-run`'s stages (`project`) count the lr an edge pick makes race once it is known, and
    its `edges` bound the steps not yet known: each races one more lr through the 4 selection runs."""
    from ttn.experiment.stages import project

    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in (0.005, 0.01, 0.02, 0.04)]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN}, extend_edges=steps)

    def race_line():
        return next((line.planned, line.done) for line in project(cells, tmp_path).stages if line.stage == "race")

    def possible_edge_runs():
        return project(cells, tmp_path).edges.planned

    assert race_line() == (8, 0) and possible_edge_runs() == 4 * steps  # nothing known yet
    for config in configs["3d"]:  # the race and selection runs of the grid: 0.005 is the pick, at the low edge
        for run in PLAN.select_runs:
            _peaked_train(Task("3d", 10, run, config, defer_test=True), "unused.h5", tmp_path)
    if steps == 0:
        assert race_line() == (8, 8) and possible_edge_runs() == 0
        return
    assert race_line() == (10, 8)  # 0.0025 races now: its runs 0-1 are planned and priced
    assert possible_edge_runs() == 4 * (steps - 1)  # the steps left may still come
    assert next((line for line in project(cells, tmp_path).stages if line.stage == "race")).seconds_left > 0


def test_the_plan_prices_a_test_without_its_model_as_a_run(tmp_path):
    """On a folder without the *.pt files (another machine), the pick's deferred tests are runs trained again:
    the plan's test stage costs each as a whole run with its test pass, not as a test pass alone."""
    from dataclasses import replace

    from ttn.experiment.cost import Rates, deferred_test_seconds, task_seconds
    from ttn.experiment.stages import project
    from ttn.experiment.training import checkpoint_path

    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in (0.005, 0.01, 0.02, 0.04)]}
    cells = make_cells(["3d"], [10], configs, {10: PLAN})
    for config in configs["3d"]:
        for run in PLAN.select_runs:
            _peaked_train(Task("3d", 10, run, config, defer_test=True), "unused.h5", tmp_path)
    pick = Task("3d", 10, 0, configs["3d"][0])  # 0.005 wins (the peak is below the grid)

    def test_line():
        return next(line for line in project(cells, tmp_path).stages if line.stage == "test")

    as_runs = test_line()
    assert (as_runs.planned, as_runs.done) == (4, 0)
    assert as_runs.seconds_left == pytest.approx(4 * task_seconds(replace(pick, defer_test=False), Rates()))
    for run in PLAN.select_runs:
        checkpoint_path(tmp_path, Task("3d", 10, run, pick.config).run_id).touch()  # the models are here
    assert test_line().seconds_left == pytest.approx(4 * deferred_test_seconds(pick, Rates()))


def test_report_race_shows_how_each_race_went(tmp_path):
    """`ttn report --race` on the crafted sweep: every lr raced runs 0-1, 0.02 and 0.01 went on, 0.01 was picked
    and trained the fresh runs; the means are those the rule read (VAL)."""
    from click.testing import CliRunner

    from cli.ttn_cli import main

    _sweep(tmp_path)
    store_plans(tmp_path, {500: RacePlan(race=2, select_runs=(0, 1, 2), runs=(0, 1, 2, 3))})  # no runs yet: not shown
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--race", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    lines = {line.split(" | ")[2]: line for line in result.stdout.splitlines() if line.startswith("| 3d | 10 |")}
    assert lines["lr 0.01"] == "| 3d | 10 | lr 0.01 | 0-5 | 0.490 | 0.645 | picked |"
    assert lines["lr 0.02"] == "| 3d | 10 | lr 0.02 | 0-3 | 0.575 | 0.487 | went on |"
    assert lines["lr 0.005"] == "| 3d | 10 | lr 0.005 | 0-1 | 0.300 | — | out after the race |"
    assert lines["lr 0.04"].endswith("| 0-1 | 0.100 | — | out after the race |")
    assert "K 2: race runs 0-1, selection runs 0-3." in result.stdout and "videos:" not in result.stdout
    _crafted_train(Task("3d", 500, 0, make_config(epochs=1, lr=0.01), defer_test=True), "unused.h5", tmp_path)
    racing = CliRunner().invoke(main, ["report", str(tmp_path), "--race", "--format", "markdown"])
    assert "| 3d | 500 | - | 0 | — | — | racing |" in racing.stdout  # a size still racing has its line (its only
    # candidate so far: nothing to tell it from)...
    assert ("10 videos: K 2: race runs 0-1, selection runs 0-3; 500 videos: K 2: race runs 0-1, selection runs 0-2."
            in racing.stdout)  # ...and the caption names its plan
    quick = Path(__file__).resolve().parents[2] / "docs" / "experiments" / "quick"
    plain = CliRunner().invoke(main, ["report", str(quick), "--race"])
    assert plain.exit_code == 0 and "no raced cells in these records" in plain.stderr
