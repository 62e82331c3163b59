"""A run cut short goes on from its saved progress (ttn.experiment.partial): the resumed run equals the run
trained in one go, bit for bit, on this CPU; its record says where it was interrupted; another run's or a torn
progress file is never used; `--force` starts again from epoch 1."""
from __future__ import annotations

import pytest
import torch

import ttn.experiment.partial as partial
from ttn.experiment.config import make_config
from ttn.experiment.partial import partial_path
from ttn.experiment.records import read_record, record_path
from ttn.experiment.run import train_task
from ttn.experiment.task import Task
from ttn.experiment.training import train_run

#: Record fields that say when and where a run was made, not what it computed.
CIRCUMSTANCES = {"wall_time_s", "test_time_s", "cpu_time_s", "finished_at", "versions", "command", "options",
                 "interrupted"}
#: (arch, config) of the runs resumed: lr decay on a plateau with the best epoch scored, and the authors' recipe.
RUNS = [
    ("3dttn", make_config(epochs=6, channels=(2, 3), val_size=12, val_every=1, lr=0.05, lr_decay=0.5, decay_every=2)),
    ("3d", make_config(recipe="authors", epochs=5, channels=(2, 3), val_size=12, val_every=1)),
    # an lr too small to move the validation accuracy: the check after epoch 4 decays the lr only if the resumed
    # schedule remembers epoch 2's check
    ("3d", make_config(epochs=6, channels=(2, 3), val_size=12, val_every=1, lr=1e-6, lr_decay=0.5, decay_every=2)),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


class Interrupt(Exception):
    """Stands for a session's end: raised from the progress callback after an epoch."""


def _interrupt_after(epoch: int):
    def progress(info) -> None:
        if info.epoch == epoch:
            raise Interrupt

    return progress


def _computed(record: dict) -> dict:
    return {name: value for name, value in record.items() if name not in CIRCUMSTANCES}


@pytest.fixture(autouse=True)
def save_every_epoch(monkeypatch):
    monkeypatch.setattr(partial, "SAVE_EVERY_S", 0.0)


@pytest.mark.parametrize("arch, config", RUNS, ids=["3dttn-decay", "3d-authors", "3d-plateau"])
def test_a_resumed_run_is_the_run_trained_in_one_go(data, tmp_path, arch, config):
    whole = train_run(data, arch, 20, 1, config, out_dir=tmp_path / "whole")
    out = tmp_path / "cut"
    with pytest.raises(Interrupt):
        train_run(data, arch, 20, 1, config, out_dir=out, progress=_interrupt_after(4))
    saved = torch.load(partial_path(out, whole.record["run_id"]), weights_only=True)
    assert saved["progress"]["epoch"] == 3  # epoch 4 was interrupted before its save
    assert not record_path(out, whole.record["run_id"]).exists()
    epochs_seen = []
    resumed = train_run(data, arch, 20, 1, config, out_dir=out, progress=lambda info: epochs_seen.append(info.epoch))
    assert epochs_seen == list(range(4, config.epochs + 1))  # epochs 1-3 were not trained again
    assert _computed(resumed.record) == _computed(whole.record)
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), whole.model.state_dict().values()))
    (cut,) = resumed.record["interrupted"]
    assert cut["after_epoch"] == 3 and cut["versions"]["cpu"] == whole.record["versions"]["cpu"]
    assert resumed.record["cpu_time_s"] > 0 and "interrupted" not in whole.record
    assert not partial_path(out, whole.record["run_id"]).exists()  # removed once the record is written
    assert read_record(record_path(out, whole.record["run_id"]))["interrupted"] == resumed.record["interrupted"]


def test_another_run_s_or_a_torn_progress_file_is_not_used(data, tmp_path):
    arch, config = RUNS[0]
    whole = train_run(data, arch, 20, 1, config, out_dir=tmp_path / "whole")
    run_id = whole.record["run_id"]
    other = tmp_path / "other"
    with pytest.raises(Interrupt):  # the same run id trained on other videos (run 2's) leaves its progress
        train_run(data, arch, 20, 2, config, out_dir=other, progress=_interrupt_after(3))
    out = tmp_path / "out"
    partial_path(out, run_id).parent.mkdir(parents=True)
    partial_path(other, Task(arch, 20, 2, config).run_id).rename(partial_path(out, run_id))
    epochs_seen = []
    resumed = train_run(data, arch, 20, 1, config, out_dir=out, progress=lambda info: epochs_seen.append(info.epoch))
    assert epochs_seen[0] == 1 and _computed(resumed.record) == _computed(whole.record)
    assert "interrupted" not in resumed.record
    torn = tmp_path / "torn"
    partial_path(torn, run_id).parent.mkdir(parents=True)
    partial_path(torn, run_id).write_bytes(b"not a checkpoint")
    assert _computed(train_run(data, arch, 20, 1, config, out_dir=torn).record) == _computed(whole.record)


def test_force_trains_again_from_the_first_epoch(data, tmp_path):
    arch, config = RUNS[0]
    task = Task(arch, 20, 1, config)
    with pytest.raises(Interrupt):
        train_task(task, data, tmp_path, progress=_interrupt_after(3))
    assert partial_path(tmp_path, task.run_id).is_file()
    epochs_seen = []
    outcome = train_task(task, data, tmp_path, force=True, progress=lambda info: epochs_seen.append(info.epoch))
    assert epochs_seen[0] == 1 and "interrupted" not in outcome.record
    assert not partial_path(tmp_path, task.run_id).exists()


def test_a_short_run_never_saves(data, tmp_path, monkeypatch):
    """SAVE_EVERY_S of training must pass before the first save: a run shorter than that writes nothing."""
    monkeypatch.setattr(partial, "SAVE_EVERY_S", 3600.0)
    arch, config = RUNS[0]
    with pytest.raises(Interrupt):
        train_run(data, arch, 20, 1, config, out_dir=tmp_path, progress=_interrupt_after(5))
    assert not (tmp_path / partial.PARTIAL_DIR).exists()


def test_a_train_killed_with_sigkill_goes_on_where_it_was_saved(data, tmp_path):
    """`ttn train --out` in a process killed with SIGKILL (what a session's end does to a sweep), then the same
    command again: it resumes from the last save and ends as the run trained in one go."""
    import os
    import signal
    import subprocess
    import sys

    from vmnist.testing import wait_until

    command = [sys.executable, "-c", "from cli.ttn_cli import main; main()", "train", "--data", str(data), "--arch",
               "3d", "--videos", "20", "--epochs", "30", "--channels", "2x3", "--val-size", "12", "--val-every", "1",
               "--lr", "0.02"]
    env = os.environ | {"TTN_SAVE_EVERY_S": "0", "OMP_NUM_THREADS": "1"}
    whole = subprocess.run([*command, "--out", str(tmp_path / "whole")], env=env, capture_output=True, text=True,
                           timeout=600)
    assert whole.returncode == 0, whole.stderr
    (record_file,) = (tmp_path / "whole").glob("3d-*.json")
    out = tmp_path / "cut"
    saved = partial_path(out, record_file.stem)
    process = subprocess.Popen([*command, "--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: saved.is_file() and saved.stat().st_size > 0, seconds=300)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL and not record_path(out, record_file.stem).exists()
    again = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    resumed = read_record(record_path(out, record_file.stem))
    assert resumed["interrupted"][0]["after_epoch"] >= 1
    assert _computed(resumed) == _computed(read_record(record_file))
    assert not saved.exists()
