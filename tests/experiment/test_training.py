"""One training run (ttn.experiment.training): lr schedule, best-val restore, record, determinism, recipes, CLI."""
import json
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.config import make_config
from ttn.errors import TTNError
from ttn.experiment.evaluation import accuracy, predict_split
from ttn.experiment.records import read_record
from ttn.experiment.sampling import val_indices
from ttn.experiment.optim import PlateauDecay, current_lr
from ttn.experiment.training import train_run

TINY = dict(epochs=2, channels=(2, 3), val_size=12, val_every=1, lr=0.02)  # validated every epoch


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    result = train_run(data, "3dttn", 20, 1, make_config(**TINY), out_dir=out, save_model=True)
    return result, out


def _sgd(lr=1.0):
    weight = torch.nn.Parameter(torch.zeros(1))
    return weight, torch.optim.SGD([weight], lr=lr, momentum=0.0)


def test_plateau_decay_really_changes_the_optimizer():
    weight, optimizer = _sgd(1.0)
    schedule = PlateauDecay(optimizer, factor=0.5, every=10)
    assert not schedule.step(10, 0.3)  # first check: improved from nothing
    for epoch in range(11, 20):
        assert not schedule.step(epoch, 0.3)  # not a check epoch
    assert schedule.step(20, 0.3)  # no improvement since epoch 10
    assert current_lr(optimizer) == 0.5
    assert not schedule.step(30, 0.4)  # improved
    assert schedule.step(40, 0.4)
    assert current_lr(optimizer) == 0.25
    # the step the optimizer takes uses the decayed lr
    weight.grad = torch.ones(1)
    optimizer.step()
    assert weight.item() == pytest.approx(-0.25)


def test_history_lr_follows_val_accuracy(data):
    result = train_run(data, "3d", 10, 0, make_config(epochs=5, channels=(2, 3), val_size=12, lr_decay=0.5,
                                                       decay_every=1, val_every=1, lr=1e-6))
    history = result.record["history"]
    best = -1.0
    for now, after in zip(history, history[1:]):
        improved = now["val_accuracy"] > best
        best = max(best, now["val_accuracy"])
        assert after["lr"] == pytest.approx(now["lr"] * (1.0 if improved else 0.5))
    assert result.record["config"]["batch_size"] == 10  # the paper's rule at 10 videos


def test_best_val_state_is_the_one_tested(trained, data):
    result, _ = trained
    record = result.record
    history_best = max(h["val_accuracy"] for h in record["history"])
    assert record["val_accuracy"] == history_best
    assert record["history"][record["best_epoch"] - 1]["val_accuracy"] == history_best
    labels, predictions = predict_split(result.model, data, "val", "unit", indices=val_indices(40, 12))
    assert accuracy(labels, predictions) == pytest.approx(history_best)
    labels, predictions = predict_split(result.model, data, "test", "unit")
    assert len(labels) == 40  # the whole test split
    assert accuracy(labels, predictions) == pytest.approx(record["test_accuracy"])


CONTRACT_FIELDS = {
    "schema", "run_id", "arch", "videos", "run", "seed", "channels", "theta", "train_indices", "params",
    "test_accuracy", "val_accuracy", "best_epoch", "history", "config", "data", "versions", "wall_time_s",
    "finished_at", "complete",
}


def test_record_fields_and_atomic_write(trained, data):
    result, out = trained
    assert result.record_path == out / "3dttn-v20-lr0.02-c2x3-r1.json"
    on_disk = read_record(result.record_path)
    assert on_disk == json.loads(json.dumps(result.record))
    assert CONTRACT_FIELDS <= set(on_disk)
    assert on_disk["complete"] is True and on_disk["schema"] == 2
    assert on_disk["channels"] == [2, 3] and on_disk["config"]["channels"] == [2, 3]
    assert len(on_disk["train_indices"]) == 20 and len(on_disk["history"]) == 2
    assert set(on_disk["history"][0]) == {"epoch", "train_loss", "val_accuracy", "lr", "transforms"}
    assert {"lr", "epochs", "batch_size", "momentum", "lr_decay", "val_size", "recipe"} <= set(on_disk["config"])
    import vmnist

    assert {k: on_disk["data"][k] for k in vmnist.dataset_fingerprint(data)} == vmnist.dataset_fingerprint(data)
    assert set(on_disk["versions"]) == {"ttn", "torch", "python", "git", "cpu"}
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files
    assert (out / "3dttn-v20-lr0.02-c2x3-r1.pt").is_file()


def test_deterministic_and_same_videos_across_archs(trained, data):
    result, _ = trained
    again = train_run(data, "3dttn", 20, 1, make_config(**TINY))
    assert again.record["history"] == result.record["history"]
    assert again.record["test_accuracy"] == result.record["test_accuracy"]
    other_arch = train_run(data, "3d", 20, 1, make_config(epochs=1, channels=(2, 3), val_size=12))
    assert other_arch.record["train_indices"] == result.record["train_indices"]
    assert other_arch.record["seed"] != result.record["seed"]


def test_original_recipe(data):
    config = make_config("original", **(TINY | {"lr": None}))  # the recipe's lr
    assert (config.lr, config.input_scale, config.conv_init, config.loss_reduction) == (5e-8, "raw", "normal", "mean")
    assert make_config("original", lr=1e-3).lr == 1e-3  # explicit options win
    result = train_run(data, "3dttn", 10, 0, config)
    assert result.record["config"]["input_scale"] == "raw"
    k0 = result.model.conv1.k0.detach()
    assert 0.5 < float(k0.std()) < 1.5  # N(0, 1), not the Kaiming-scaled default


def test_bad_inputs(data):
    with pytest.raises(TTNError, match="multiple of 10"):
        train_run(data, "3d", 15, 0, make_config(**TINY))
    with pytest.raises(TTNError, match="at most"):
        train_run(data, "3d", 100, 0, make_config(**TINY))
    with pytest.raises(TTNError, match="unknown"):
        train_run(data, "4d", 10, 0, make_config(**TINY))
    with pytest.raises(TTNError, match="--lr"):
        make_config(lr=-1.0)


def test_train_and_evaluate_cli(data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "res"
    args = ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1", "--lr", "0.02", "--channels", "2,3",
            "--val-size", "12", "--out", str(out), "--save-model"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "3d-v10-lr0.02-c2x3-inithe-r0: test accuracy" in result.output
    assert (out / "3d-v10-lr0.02-c2x3-inithe-r0.json").is_file()
    result = runner.invoke(main, ["evaluate", str(out / "3d-v10-lr0.02-c2x3-inithe-r0.pt"), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["videos"] == 40 and len(report["per_class_accuracy"]) == 10
    assert np.array(report["confusion_matrix"]).sum() == 40
    assert report["accuracy"] == pytest.approx(read_record(out / "3d-v10-lr0.02-c2x3-inithe-r0.json")["test_accuracy"])
    result = runner.invoke(main, ["evaluate", str(out / "3d-v10-lr0.02-c2x3-inithe-r0.pt"), "--data", str(data)])
    assert result.exit_code == 0 and "confusion matrix" in result.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--arch", "4d", "--videos", "10"], "unknown architecture"),
        (["--arch", "3d", "--videos", "15"], "multiple of 10"),
        (["--arch", "3d", "--videos", "500"], "at most"),
        (["--arch", "3d", "--videos", "10", "--data", "missing.h5"], "no such file"),
        (["--arch", "3d", "--videos", "10", "--channels", "2"], "two positive numbers"),
    ],
)
def test_train_cli_bad_inputs(data, tmp_path, extra, message):
    args = ["train", "--data", str(data), "--out", str(tmp_path / "res"), "--epochs", "1", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1


def test_evaluate_cli_missing_checkpoint(data, tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "none.pt"), "--data", str(data)])
    assert result.exit_code == 1 and "not found" in result.output


EPOCH_LINE = r"epoch (\d+)/(\d+)  loss (\S+)  val (\S+) \(best (\S+)\)  lr (\S+)  elapsed (\d+ s|\d+ min|\d+ h \d+ min)"


def test_train_verbose_prints_one_line_per_validated_epoch_without_a_terminal(data, tmp_path):
    args = ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "3", "--val-every", "2",
            "--channels", "2,3", "--val-size", "12"]
    quiet = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "quiet")])
    assert quiet.exit_code == 0, quiet.output
    assert not re.search(r"^epoch ", quiet.stderr, re.M)  # no -v, no terminal: no epoch lines
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "res"), "-v"])
    assert result.exit_code == 0, result.output
    lines = [re.fullmatch(EPOCH_LINE, line) for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert lines and all(lines), result.stderr
    assert not re.search(r"^epoch ", result.stdout, re.M)  # stdout keeps only the result line
    record = read_record(next((tmp_path / "res").glob("*.json")))
    validated = [entry for entry in record["history"] if entry["val_accuracy"] is not None]
    assert [int(m[1]) for m in lines] == [entry["epoch"] for entry in validated] and len(validated) < 3
    best = 0.0
    for match, entry in zip(lines, validated):
        best = max(best, entry["val_accuracy"])
        assert match[2] == "3" and float(match[3]) == pytest.approx(entry["train_loss"], abs=5e-5)
        assert float(match[4]) == pytest.approx(entry["val_accuracy"], abs=5e-5)
        assert float(match[5]) == pytest.approx(best, abs=5e-5) and float(match[6]) == pytest.approx(entry["lr"], rel=1e-2)


def test_train_json_prints_the_record_on_stdout(data, tmp_path):
    args = ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1", "--lr", "0.02", "--channels", "2,3",
            "--val-size", "12", "--out", str(tmp_path / "res"), "--json", "-v"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # stdout is the record alone: epoch lines and messages are on stderr
    assert printed == read_record(next((tmp_path / "res").glob("*.json")))
    assert printed["arch"] == "3d" and "test_accuracy" in printed and "epoch 1/1" in result.stderr
