"""docs/experiments/paper-protocol/part_c_lrs.py: part c races the 1000-video race's survivors of each arch."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ttn.experiment.config import make_config
from ttn.experiment.racing import RacePlan, store_plans
from ttn.experiment.records import SCHEMA_VERSION, write_record
from ttn.experiment.task import Task

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "experiments" / "paper-protocol" / "part_c_lrs.py"


def _script():
    spec = importlib.util.spec_from_file_location("part_c_lrs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(arch: str, lr: float, run: int, val: float) -> dict:
    task = Task(arch, 1000, run, make_config(lr=lr, epochs=1))
    return {"schema": SCHEMA_VERSION, "run_id": task.run_id, "arch": arch, "videos": 1000, "run": run, "params": 1,
            "val_accuracy": val, "test_accuracy": None, "test_deferred": True, "config": task.resolved_config(),
            "data": {}, "complete": True}


def test_the_survivors_of_the_1000_video_race(tmp_path):
    script = _script()
    store_plans(tmp_path, {1000: RacePlan(2, tuple(range(5)), tuple(range(10)))})
    val = {0.0025: 0.95, 0.005: 0.97, 0.01: 0.96, 0.02: 0.90}  # run 0; run 1 the same minus 0.01
    for lr, accuracy in val.items():
        write_record(tmp_path, _record("3d", lr, 0, accuracy))
    assert script.survivors(tmp_path) == {"3d": None, "3dttn": None}  # run 1 not recorded yet
    for lr, accuracy in val.items():
        write_record(tmp_path, _record("3d", lr, 1, accuracy - 0.01))
    assert script.survivors(tmp_path) == {"3d": [0.005, 0.01], "3dttn": None}


def test_an_edge_step_is_not_one_of_the_four_and_both_archs_go_in_one_lr_option(tmp_path):
    """The survivors are among the preset's 4 lrs even when an edge pick later raced a fifth; --lr-option gives
    `ttn sweep --lr` both archs' lrs at once, and nothing until both races are finished."""
    from ttn.experiment.presets import LRS

    script = _script()
    store_plans(tmp_path, {1000: RacePlan(2, tuple(range(5)), tuple(range(10)))})
    for arch, best in (("3d", 0.0025), ("3dttn", 0.005)):
        for lr in LRS[arch]:
            for run in (0, 1):
                write_record(tmp_path, _record(arch, lr, run, 0.9 - abs(lr - best)))
        if arch == "3d":
            assert script.lr_option(script.survivors(tmp_path)) is None  # the 3DTTN's race is not run yet
    write_record(tmp_path, _record("3d", 0.00125, 0, 0.99))  # the edge step below 0.0025: raced later, not one of 4
    found = script.survivors(tmp_path)
    assert found == {"3d": [0.0025, 0.005], "3dttn": [0.0025, 0.005]}
    assert script.lr_option(found) == "3d=0.0025,0.005;3dttn=0.0025,0.005"
