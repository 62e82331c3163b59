"""`ttn train --tensorboard DIR`: the run's scalars per epoch while it trains, then its test accuracy and HParams."""
import pytest
from click.testing import CliRunner

from cli.ttn_cli import main


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(folder)).Reload()


def test_a_live_run_is_readable_after_each_epoch(tmp_path):
    pytest.importorskip("tensorboard")
    from ttn.report.tensorboard import LiveRun

    with LiveRun(tmp_path, "3d-v10-lr0.005-inithe-r0") as live:
        live.epoch(1, 2.0, None, 0.01)
        live.epoch(2, 1.5, 0.4, 0.01)
        seen = _events(tmp_path / "3d-v10-lr0.005-inithe-r0")  # while the run is still open
        assert [e.value for e in seen.Scalars("loss/train")] == [2.0, 1.5]
        assert [e.step for e in seen.Scalars("accuracy/val")] == [2]  # no point for an epoch without validation
        live.finish({"arch": "3d", "videos": 10, "run": 0, "test_accuracy": 0.7, "val_accuracy": 0.6,
                     "scored_epoch": 2, "config": {"lr": 0.01, "channels": [2, 3]}})
    done = _events(tmp_path / "3d-v10-lr0.005-inithe-r0")
    assert [(e.step, e.value) for e in done.Scalars("accuracy/test")] == [(2, pytest.approx(0.7))]
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(done.PluginTagToContent("hparams"))
    assert done.Scalars("hparam/test_accuracy")[0].value == pytest.approx(0.7)


def test_ttn_train_tensorboard_writes_the_run(tmp_path):
    pytest.importorskip("tensorboard")
    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=40)
    args = ["train", "--data", str(data), "--arch", "3dttn", "--videos", "10", "--epochs", "3", "--val-every", "1",
            "--channels", "2,3", "--val-size", "12", "--out", str(tmp_path / "res"), "--tensorboard", str(tmp_path / "tb")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "tb").iterdir()
    assert run.name == "3dttn-v10-lr0.0025-c2x3-r0"
    events = _events(run)
    assert [event.step for event in events.Scalars("accuracy/val")] == [1, 2, 3]
    assert len(events.Scalars("accuracy/test")) == 1 and "_hparams_/experiment" in events.PluginTagToContent("hparams")


def test_tensorboard_missing_is_one_line_before_training(tmp_path, monkeypatch):
    import builtins

    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=40)
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1",
                                       "--channels", "2,3", "--val-size", "12", "--out", str(tmp_path / "res"),
                                       "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "--tensorboard needs the tensorboard package" in result.output
    assert not list((tmp_path / "res").glob("*.json"))  # nothing trained
