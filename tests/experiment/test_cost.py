"""The cost estimate (ttn.experiment.cost, ttn.experiment.stages): rates calibrated on this CPU's records or
probed, deferred tests, and the stages of a raced plan."""
import pytest

from ttn.experiment.config import make_config
from ttn.experiment.cost import (BASE_EVAL_RATE, BASE_TRAIN_RATE, Rates, calibrate_from_records, estimate_cost,
                                 probe_rates, task_seconds, deferred_test_seconds, wall_seconds)
from ttn.experiment.raced_sweep import make_cells
from ttn.experiment.racing import RacePlan
from ttn.experiment.stages import project
from ttn.experiment.task import Task

CONFIG = make_config(epochs=10, channels=(6, 16), val_size=300, val_every=5, lr=0.01)


def test_a_run_costs_training_validation_and_its_test_unless_deferred():
    task = Task("3d", 10, 0, CONFIG)
    expected = 10 * 10 / BASE_TRAIN_RATE + (2 * 300 + 10_000) / BASE_EVAL_RATE
    assert task_seconds(task) == pytest.approx(expected)
    deferred = Task("3d", 10, 0, CONFIG, defer_test=True)
    assert task_seconds(deferred) + deferred_test_seconds(deferred) == pytest.approx(expected)
    assert estimate_cost([task, deferred]) == pytest.approx(2 * expected - 10_000 / BASE_EVAL_RATE)


def _record(run, seconds, cpu="AMD EPYC", **extra):
    return {"arch": "3d", "videos": 10, "run": run, "config": {"channels": [6, 16], "epochs": 10, "val_size": 300,
                                                             "val_every": 5},
            "history": [{}] * 10, "versions": {"cpu": cpu}, "wall_time_s": seconds, **extra}


def test_calibration_reads_this_cpu_s_records_and_their_cpu_time():
    predicted = task_seconds(Task("3d", 10, 0, CONFIG))
    records = [_record(run, 2 * predicted) for run in range(3)] + [_record(9, 100 * predicted, cpu="other")]
    rates = calibrate_from_records(records, "AMD EPYC")
    assert rates.train == pytest.approx(BASE_TRAIN_RATE / 2) and rates.eval == pytest.approx(BASE_EVAL_RATE / 2)
    assert "3 records made on this CPU" in rates.source
    assert calibrate_from_records(records[:2], "AMD EPYC") is None  # too few to say anything
    assert calibrate_from_records(records, "another CPU") is None
    # the CPU time where a record has it: a loaded machine stretches the wall time, not the work
    loaded = [_record(run, 10 * predicted, cpu_time_s=predicted) for run in range(3)]
    assert calibrate_from_records(loaded, "AMD EPYC").train == pytest.approx(BASE_TRAIN_RATE)
    assert "CPU time of 3 records" in calibrate_from_records(loaded, "AMD EPYC").source
    assert "wall time of 3 records" in rates.source


def test_calibration_leaves_wall_timed_records_out_once_enough_are_cpu_timed():
    """A folder begun before records held their CPU time: the old wall times (stretched by a loaded machine)
    would pull the median up, so only the CPU-timed records count once there are enough of them."""
    predicted = task_seconds(Task("3d", 10, 0, CONFIG))
    old = [_record(run, 4 * predicted) for run in range(5)]
    timed = [_record(run, 3 * predicted, cpu_time_s=predicted) for run in range(5, 8)]
    assert calibrate_from_records(old + timed, "AMD EPYC").train == pytest.approx(BASE_TRAIN_RATE)
    rates = calibrate_from_records(old + timed[:2], "AMD EPYC")  # too few CPU-timed ones: every wall time counts
    assert rates.train == pytest.approx(BASE_TRAIN_RATE / 4) and "wall time of 7 records" in rates.source


def test_a_probe_times_each_model_shape():
    tasks = [Task("3d", 10, 0, make_config(channels=(2, 3))), Task("3dttn", 10, 0, make_config(channels=(2, 3)))]
    rates = probe_rates(tasks, steps=1)
    assert set(rates.per_shape) == {("3d", 2, 3), ("3dttn", 2, 3)}
    assert all(train > 0 and evaluate > 0 for train, evaluate in rates.per_shape.values())
    assert rates.of(("3d", 2, 3)) == rates.per_shape[("3d", 2, 3)]
    assert rates.of(("3d", 6, 16)) == (BASE_TRAIN_RATE, BASE_EVAL_RATE)  # not probed: the base rates


def test_the_stages_of_a_raced_plan_count_every_run_and_test(tmp_path):
    plan = RacePlan(2, tuple(range(4)), tuple(range(6)))
    configs = {"3d": [make_config(epochs=1, lr=lr) for lr in (0.01, 0.02, 0.04)]}
    projection = project(make_cells(["3d"], [10, 20], configs, {10: plan, 20: plan}), tmp_path, Rates())
    counts = {line.stage: (line.planned, line.done) for line in projection.stages}
    # per cell: 3 lrs x 2 race runs, 2 survivors x 2 more runs, 4 tests of the pick, 2 fresh runs
    assert counts == {"race": (12, 0), "select": (8, 0), "test": (8, 0), "confirm": (4, 0)}
    assert all(line.seconds_left > 0 for line in projection.stages)
    assert projection.runs_left == 32 and projection.edges.planned == 0  # no --extend-edges
    # wall time on 2 workers: the stages' CPU time over 2 slots (32 runs left keep both busy)
    assert projection.wall_seconds(2) == pytest.approx(wall_seconds(projection.seconds_left, 2, 32))
    assert projection.wall_seconds(2) < projection.wall_seconds(None) == projection.seconds_left


def test_the_probe_times_cpu_not_waiting():
    """A probe on a busy machine: its step waits for a core; on the thread's CPU clock the wait does not count
    (on the wall clock it did, and a probe under load 5 read 1.5x high)."""
    import time

    from ttn.experiment.cost import _median_seconds
    from ttn.experiment.steptime import interleaved_times

    assert _median_seconds(lambda: time.sleep(0.05), 1) < 0.01
    assert interleaved_times({"wait": lambda: time.sleep(0.05)}, 1, warmup=0)["wait"][0] >= 0.05  # wall by default


def test_wall_time_is_cpu_time_per_worker_stretched_by_wall_per_cpu():
    from ttn.experiment.cost import WALL_PER_CPU, wall_seconds

    assert wall_seconds(1000.0, 2, 10) == pytest.approx(1000.0 * WALL_PER_CPU / 2)
    assert wall_seconds(1000.0, 4, 1) == pytest.approx(1000.0 * WALL_PER_CPU)  # one task keeps one worker busy
    assert wall_seconds(1000.0, None, 10) == 1000.0  # a cluster of unknown size: the CPU time
    assert 1.0 <= WALL_PER_CPU < 1.5
