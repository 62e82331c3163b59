"""Sweeps (ttn.experiment.sweep, `ttn sweep`): planning, resume, failures, refusals, and both runners (a process pool and
Dask) through the same tests."""
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.config import expand_grid, make_config
from ttn.experiment.presets import LRS, get_preset
from ttn.errors import TTNError
from ttn.experiment.records import read_record, record_path
from ttn.experiment.cost import estimate_cost
from ttn.experiment.runners import DaskRunner, PoolRunner
from ttn.experiment.run import check_out_dir
from ttn.experiment.task import Task
from ttn.experiment.sweep import plan_tasks, run_sweep, run_task

TINY = make_config(epochs=1, channels=(2, 3), val_size=12, lr=0.02)
TINY_OPTIONS = ["--epochs", "1", "--channels", "2,3", "--val-size", "12", "--lr", "0.02"]


def threads(workers):
    """A runner on threads of this process: the quickest for tests of what the sweep does with outcomes."""
    return PoolRunner(make_pool=lambda: ThreadPoolExecutor(workers))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


def fingerprint(path):
    import vmnist

    return vmnist.dataset_fingerprint(path)


def test_plan_tasks():
    tasks = plan_tasks(["3d", "3dttn"], [20, 10], 2, TINY)
    assert [t.run_id for t in tasks][:4] == ["3d-v10-lr0.02-c2x3-inithe-r0", "3dttn-v10-lr0.02-c2x3-r0", "3d-v10-lr0.02-c2x3-inithe-r1", "3dttn-v10-lr0.02-c2x3-r1"]
    assert len(tasks) == 8 and len({t.run_id for t in tasks}) == 8
    with pytest.raises(TTNError, match="unknown architecture"):
        plan_tasks(["4d"], [10], 1, TINY)
    with pytest.raises(TTNError, match="multiple of 10"):
        plan_tasks(["3d"], [15], 1, TINY)


def test_paper_preset_plans_equal_searches_on_table_2_models():
    from ttn.paper import paper_channels

    preset = get_preset("paper")
    configs = {arch: expand_grid(**preset.values(arch)) for arch in preset.archs}
    tasks = plan_tasks(preset.archs, preset.videos, 1, configs)
    assert len(tasks) == len(preset.videos) * (4 + 4)  # the same number of candidates for both archs
    for task in tasks:
        assert tuple(task.resolved_config()["channels"]) == paper_channels(task.arch, task.videos)  # the paper's model
        assert task.config.epochs == 100 and task.config.lr in LRS[task.arch] and task.config.conv_init == "he"
        assert task.config.val_size == 300 and task.config.val_every == 10
    assert len({task.run_id for task in tasks}) == len(tasks)
    assert {v: (p.race, p.select_runs, p.runs) for v, p in preset.race.items() if v in (10, 100, 500, 5000)} == {
        10: (2, tuple(range(10)), tuple(range(30))), 100: (2, tuple(range(10)), tuple(range(30))),
        500: (2, tuple(range(5)), tuple(range(10))), 5000: (1, (0,), (0, 5, 6, 7))}
    # the fresh runs of 500-5000 share runs 5-7: the paper's "above 100 videos" claim pools per run over them
    assert set.intersection(*(set(preset.race[v].confirm_runs) for v in (500, 1000, 2000, 5000))) == {5, 6, 7}
    assert estimate_cost(tasks) > estimate_cost(plan_tasks(["3d"], [10], 1, TINY))
    with pytest.raises(TTNError, match="unknown --preset"):
        get_preset("slow")


def test_resume_skips_complete_records(data, tmp_path):
    tasks = plan_tasks(["3d"], [10], 2, TINY)
    with threads(1) as runner:
        first = run_sweep(tasks, data, tmp_path, runner)
        assert sorted(first.done) == ["3d-v10-lr0.02-c2x3-inithe-r0", "3d-v10-lr0.02-c2x3-inithe-r1"] and first.ok
        stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
        (tmp_path / "3d-v10-lr0.02-c2x3-inithe-r1.json").write_text('{"run_id": "3d-v10-lr0.02-c2x3-inithe-r1", "complete": fal')  # torn: redo it
        second = run_sweep(tasks, data, tmp_path, runner)
    assert second.skipped == ["3d-v10-lr0.02-c2x3-inithe-r0"] and second.done == ["3d-v10-lr0.02-c2x3-inithe-r1"]
    assert (tmp_path / "3d-v10-lr0.02-c2x3-inithe-r0.json").stat().st_mtime_ns == stamp["3d-v10-lr0.02-c2x3-inithe-r0.json"]
    assert read_record(tmp_path / "3d-v10-lr0.02-c2x3-inithe-r1.json")["complete"] is True
    # a retried task finds its complete record and overwrites nothing
    summary = run_task(tasks[0], str(data), str(tmp_path))
    assert summary["skipped"] and (tmp_path / "3d-v10-lr0.02-c2x3-inithe-r0.json").stat().st_mtime_ns == stamp["3d-v10-lr0.02-c2x3-inithe-r0.json"]


def _fail_run_1(task, data, out):
    if task.run == 1:
        raise RuntimeError("boom in run 1")
    return run_task(task, data, out)


def _write_record(out, data, **changes):
    tasks = plan_tasks(["3d"], [10], 1, TINY)
    with threads(1) as runner:
        run_sweep(tasks, data, out, runner)
    path = record_path(out, "3d-v10-lr0.02-c2x3-inithe-r0")
    record = json.loads(path.read_text())
    for key, value in changes.items():
        section, name = key.split("__")
        record[section][name] = value
    path.write_text(json.dumps(record))


def test_mixed_dataset_refused(data, tmp_path):
    _write_record(tmp_path, data, data__mnist_sha256="0" * 64)
    with pytest.raises(TTNError, match="another dataset"):
        check_out_dir(tmp_path, plan_tasks(["3d"], [10], 1, TINY), fingerprint(data))


def test_incompatible_config_refused(data, tmp_path):
    _write_record(tmp_path, data)
    check_out_dir(tmp_path, plan_tasks(["3dttn"], [20], 1, TINY), fingerprint(data))  # same protocol: fine
    with pytest.raises(TTNError, match="epochs=1"):
        check_out_dir(tmp_path, plan_tasks(["3d"], [10], 1, make_config(epochs=3, channels=(2, 3), val_size=12)),
                      fingerprint(data))
    # another candidate (an axis: channels, lr, ...) may share the folder: report selects among them
    check_out_dir(tmp_path, plan_tasks(["3d"], [10], 1, make_config(epochs=1, channels=(3, 3), val_size=12, lr=0.1)),
                  fingerprint(data))
    with pytest.raises(TTNError, match="score='best'"):
        check_out_dir(tmp_path, plan_tasks(["3d"], [10], 1, make_config(epochs=1, channels=(2, 3), val_size=12,
                                                                         score="last")), fingerprint(data))
    result = CliRunner().invoke(main, ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--runs", "1",
                                       "--out", str(tmp_path), "--epochs", "2", "--channels", "2,3", "--val-size", "12"])
    assert result.exit_code == 1 and "epochs=1" in result.output


def test_a_run_id_of_another_config_is_refused_not_skipped(data, tmp_path):
    # a record whose id this sweep would plan, trained with another config (e.g. before a default changed)
    _write_record(tmp_path, data, config__conv_init="tied")
    with pytest.raises(TTNError, match=r"3d-v10-lr0.02-c2x3-inithe-r0 is already the run id of a record trained with "
                                       r"conv_init='tied', this sweep's run would have conv_init='he'"):
        check_out_dir(tmp_path, plan_tasks(["3d"], [10], 1, TINY), fingerprint(data))
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out",
                                       str(tmp_path), *TINY_OPTIONS, "--force"])
    assert result.exit_code == 1 and "conv_init='tied'" in result.output
    # a 3DTTN record from before init rules had names: "default" is read as the He rule its K0 was drawn with
    tasks = plan_tasks(["3dttn"], [10], 1, TINY)
    with threads(1) as runner:
        run_sweep(tasks, data, tmp_path / "tt", runner)
    path = record_path(tmp_path / "tt", tasks[0].run_id)
    record = json.loads(path.read_text())
    del record["config"]["init_scale"]
    path.write_text(json.dumps(record | {"config": record["config"] | {"conv_init": "default"}}))
    check_out_dir(tmp_path / "tt", plan_tasks(["3dttn"], [10], 1, make_config(**{**TINY.__dict__, "conv_init": "tied"})),
                  fingerprint(data))
    assert read_record(path)["config"]["conv_init"] == "he" and read_record(path)["config"]["init_scale"] == 1.0


def test_sweep_cli_process_pool_and_resume(data, tmp_path):
    out = tmp_path / "res"
    args = ["sweep", "--data", str(data), "--arch", "3d,3dttn", "--videos", "10", "--runs", "1", "--out", str(out),
            "--workers", "2", *TINY_OPTIONS]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 trained, 0 already done" in result.output
    assert sorted(p.name for p in out.glob("*.json")) == ["3d-v10-lr0.02-c2x3-inithe-r0.json", "3dttn-v10-lr0.02-c2x3-r0.json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "0 trained, 2 already done" in result.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--arch", "4d"], "unknown architecture"),
        (["--videos", "10,25"], "multiple of 10"),
        (["--videos", "500"], "at most"),
        (["--data", "missing.h5"], "no such file"),
        (["--preset", "slow"], "slow"),
        (["--scheduler", "tcp://x:1", "--dask-local", "1"], "not both"),
    ],
)
def test_sweep_cli_bad_inputs(data, tmp_path, extra, message):
    args = ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--runs", "1", "--out",
            str(tmp_path / "res"), *TINY_OPTIONS, *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "res").exists() or not list((tmp_path / "res").glob("*.json"))


# ----------------------------------------------------------------------------- both runners, the same tests
def _die_once_then_train(task, data, out):
    """Kill this worker process the first time (mid-task), then train normally; log every record write."""
    marker = Path(out) / f"died-{task.run_id}"
    if task.run == 0 and not marker.exists():
        marker.touch()
        os._exit(1)
    summary = run_task(task, data, out)
    if not summary["skipped"]:
        with open(Path(out) / "writes.log", "a") as log:
            log.write(task.run_id + "\n")
    return summary


def _dask_runner():
    pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Dask workers need not import this test module
    return DaskRunner(workers=1)


#: Each runner of `ttn sweep`, with one worker process: a local process pool, a local Dask cluster.
RUNNERS = {"process pool": lambda: PoolRunner(1), "dask": _dask_runner}


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_a_dead_worker_is_replaced_and_every_record_written_once(kind, data, tmp_path):
    """A worker that dies mid-task is replaced (a local pool is broken for every task: the sweep makes a new one;
    Dask re-schedules by itself); each task then runs and writes its record exactly once."""
    tasks = plan_tasks(["3d"], [10], 2, TINY)
    with RUNNERS[kind]() as runner:
        summary = run_sweep(tasks, data, tmp_path, runner, task_fn=_die_once_then_train)
    assert summary.ok, summary.failed
    assert sorted(summary.done) == ["3d-v10-lr0.02-c2x3-inithe-r0", "3d-v10-lr0.02-c2x3-inithe-r1"]
    assert (tmp_path / "died-3d-v10-lr0.02-c2x3-inithe-r0").exists()  # the worker really died once
    writes = (tmp_path / "writes.log").read_text().split()
    assert sorted(writes) == ["3d-v10-lr0.02-c2x3-inithe-r0", "3d-v10-lr0.02-c2x3-inithe-r1"]  # each record written exactly once
    assert read_record(tmp_path / "3d-v10-lr0.02-c2x3-inithe-r0.json")["complete"] is True


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_a_failed_task_is_reported_and_the_others_go_on(kind, data, tmp_path):
    tasks = plan_tasks(["3d"], [10], 3, TINY)
    seen = []
    with RUNNERS[kind]() as runner:
        summary = run_sweep(tasks, data, tmp_path, runner, task_fn=_fail_run_1,
                            on_done=lambda run_id, result, error: seen.append((run_id, error)))
    assert summary.failed == {"3d-v10-lr0.02-c2x3-inithe-r1": "RuntimeError: boom in run 1"}
    assert sorted(summary.done) == ["3d-v10-lr0.02-c2x3-inithe-r0", "3d-v10-lr0.02-c2x3-inithe-r2"]
    assert len(seen) == 3 and not record_path(tmp_path, "3d-v10-lr0.02-c2x3-inithe-r1").exists()


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_a_runner_with_nothing_to_do_starts_no_worker(kind, data, tmp_path):
    with RUNNERS[kind]() as runner:
        summary = run_sweep([], data, tmp_path, runner)
        assert summary.ok and not summary.done
        assert getattr(runner, "pool", None) is None and getattr(runner, "client", None) is None


def _start_then_finish_after_2_s(folder: str) -> None:
    Path(folder, "started").touch()
    time.sleep(2.0)
    Path(folder, "finished").touch()


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_an_aborted_runner_kills_its_running_task(kind, tmp_path):
    """Ctrl-C or an error closes a runner with abort: its running task is killed, not waited for (Dask's graceful
    close let a busy worker run on for ~4 s, so a sweep took seconds to stop)."""
    from vmnist.testing import wait_until

    with pytest.raises(KeyboardInterrupt), RUNNERS[kind]() as runner:
        runner.submit(_start_then_finish_after_2_s, str(tmp_path), key="slow")
        assert wait_until((tmp_path / "started").exists, 120), "the task never started"
        raise KeyboardInterrupt
    time.sleep(3.0)  # a task left running would have finished by now
    assert not (tmp_path / "finished").exists()


def test_dask_missing_gives_install_hint(monkeypatch):
    import builtins

    from ttn.experiment.runners import import_distributed

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed":
            raise ImportError("no distributed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(TTNError, match=r"pip install -e \.\[cluster\]"):
        import_distributed()


def test_process_pool_worker_death_without_retries_is_reported(data, tmp_path):
    tasks = plan_tasks(["3d"], [10], 1, TINY)
    with PoolRunner(1) as runner:
        summary = run_sweep(tasks, data, tmp_path, runner, task_fn=_die_once_then_train, retries=0)
    assert list(summary.failed) == ["3d-v10-lr0.02-c2x3-inithe-r0"]
    assert "worker process died" in summary.failed["3d-v10-lr0.02-c2x3-inithe-r0"] and "resume" in summary.failed["3d-v10-lr0.02-c2x3-inithe-r0"]


def test_a_dask_worker_records_the_command_the_task_was_submitted_under(tmp_path):
    """The cluster is up before the command sets its invocation, as a remote one is: the worker never inherited
    the command's environment, so the command and options must travel with each task."""
    from ttn.experiment.invocation import invocation, invoked

    with _dask_runner() as runner:
        runner._connect()  # workers started with no invocation in their environment
        assert runner.client.submit(invocation, pure=False).result() == {"command": None, "options": None}
        with invoked(["ttn", "sweep", "--preset", "paper"], {"preset": "paper"}):
            future = runner.submit(invocation, key="task")
            seen = future.result()
        assert seen == {"command": ["ttn", "sweep", "--preset", "paper"], "options": {"preset": "paper"}}
        after = runner.submit(invocation, key="after").result()
        assert after == {"command": None, "options": None}  # set for the task only, not left behind


def _distributed_log_levels() -> tuple[int, int]:
    """In a worker: the effective level of the logger that printed "Batched Comm Closed", and of "distributed"."""
    return logging.getLogger("distributed.batched").getEffectiveLevel(), logging.getLogger("distributed").level


def test_local_dask_workers_log_only_errors_for_their_whole_life():
    """A local Dask worker's "distributed" logger is at ERROR itself, not only its handlers while the Worker is open:
    a worker shutting down under load used to print an INFO traceback after the handlers were restored."""
    with _dask_runner() as runner:
        levels = runner.submit(_distributed_log_levels, key="log-levels").result(timeout=120)
    assert levels == (logging.ERROR, logging.ERROR)


def test_an_aborted_local_dask_runner_leaves_this_process_logging_only_errors():
    """Ctrl-C with a local Dask cluster: its scheduler and nannies live in the sweep's own process, where the comm to
    a killed worker closes late and logged an INFO traceback ("Batched Comm Closed") after the cluster's close had
    restored its handlers (CI saw it once). After an aborted close, "distributed" says errors only."""
    distributed_logger = logging.getLogger("distributed")
    before = distributed_logger.level
    try:
        distributed_logger.setLevel(logging.INFO)  # as distributed configures it (an aborted runner before may not)
        with pytest.raises(KeyboardInterrupt), _dask_runner() as runner:
            runner.submit(_distributed_log_levels, key="log-levels").result(timeout=120)
            assert logging.getLogger("distributed.batched").isEnabledFor(logging.INFO)
            raise KeyboardInterrupt
        assert not logging.getLogger("distributed.batched").isEnabledFor(logging.INFO)
        assert logging.getLogger("distributed.batched").isEnabledFor(logging.ERROR)
    finally:
        distributed_logger.setLevel(before)


def test_a_deferred_test_without_its_model_trains_the_run_again(data, tmp_path):
    """A results folder carried to another machine without its *.pt files: the deferred test of a run trains it
    again from its task and tests it; on the same CPU the run comes out the same (history, validation accuracy)
    and its test accuracy is the one the saved model gives. The record says what it said before."""
    import shutil

    from ttn.experiment.sweep import run_test_task
    from ttn.experiment.training import checkpoint_path

    task = Task("3d", 10, 0, make_config(epochs=2, channels=(2, 3), val_size=12, lr=0.02), defer_test=True)
    with_model, without = tmp_path / "with", tmp_path / "without"
    assert run_task(task, data, str(with_model))["test_accuracy"] is None
    shutil.copytree(with_model, without)
    checkpoint_path(without, task.run_id).unlink()
    before = read_record(with_model / f"{task.run_id}.json")

    tested = run_test_task(Task("3d", 10, 0, task.config), data, str(with_model))
    retrained = run_test_task(Task("3d", 10, 0, task.config), data, str(without))
    assert retrained["test_accuracy"] == tested["test_accuracy"] is not None and not retrained["skipped"]
    record = read_record(without / f"{task.run_id}.json")
    assert record["history"] == before["history"] and record["val_accuracy"] == before["val_accuracy"]
    assert record["retrained_for_test"]["val_accuracy"] == before["val_accuracy"]
    assert record["retrained_for_test"]["versions"] == before["versions"]
    assert "retrained_for_test" not in read_record(with_model / f"{task.run_id}.json")
