"""Config files (--config FILE.toml, --print-config), records that store their command, --from-record, TTN_DATA."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main

TINY = ["--epochs", "1", "--channels", "2,3", "--val-size", "12"]


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def one_line_failure(result, message: str) -> None:
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


@pytest.mark.parametrize("args", [
    ["train", "--arch", "3dttn", "--videos", "40", "--lr", "0.01", "--channels", "6x16", "--freeze-transforms"],
    ["sweep", "--preset", "quick", "--runs", "40-49", "--lr", "0.0025,0.005", "--channels", "6,16/18,28", "--dry-run"],
    ["reproduce", "--videos", "10,20", "--race", "2", "--select-runs", "0-4,7"],
    ["sweep", "--preset", "paper", "--videos", "2000", "--lr", "3d=0.005,0.01;3dttn=0.00125,0.0025", "--dry-run"],
    ["report", "results", "--where", "lr=0.02", "--where", "arch=3d", "--select-runs", "0-9", "--format", "csv"],
])
def test_print_config_reads_back(tmp_path: Path, args: list[str]) -> None:
    printed = invoke(*args, "--print-config")
    assert printed.exit_code == 0, printed.output
    path = tmp_path / "run.toml"
    path.write_text(printed.output)
    again = invoke(args[0], "--config", str(path), "--print-config")
    assert again.exit_code == 0 and again.output == printed.output, again.output
    assert "# ttn " in printed.output.splitlines()[0]


def test_the_command_line_overrides_the_file_and_keys_take_either_spelling(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('arch = "3d"\nvideos = 20\nlr = 0.01\nlr_decay = 0.25\nval-every = 5\nchannels = [6, 16]\n'
                    'freeze-transforms = false\n')
    printed = invoke("train", "--config", str(path), "--lr", "0.02", "--print-config").output
    assert "lr = 0.02\n" in printed and "lr-decay = 0.25\n" in printed and "val-every = 5\n" in printed
    assert 'arch = "3d"' in printed and 'channels = "6,16"' in printed


@pytest.mark.parametrize(("text", "message"), [
    ("lr = 0.01\nseed = 3\n", "'seed' is no option of `train`"),
    ("lr = [0.01", "is not valid TOML"),
    ("[train]\nlr = 0.01\n", "options are top-level keys"),
    ("save-model = 1\n", "is a flag: write true or false"),
    ("lr = -1\n", "--lr must be positive"),
])
def test_a_bad_config_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    one_line_failure(invoke("train", "--config", str(path), "--arch", "3d", "--videos", "10", "--data", "nope.h5",
                            "--out", str(tmp_path / "res")), message)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    one_line_failure(invoke("sweep", "--config", str(tmp_path / "nope.toml")), "nope.toml: no such file")


def test_a_record_stores_its_command_and_options_and_retrains_exactly(data: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = invoke("train", "--data", str(data), "--arch", "3dttn", "--videos", "20", "--out", str(tmp_path / "a"),
                   *TINY, "--json")
    assert first.exit_code == 0, first.output
    record = json.loads(first.stdout)
    assert record["run_id"] == "3dttn-v20-lr0.0025-c2x3-r0" and record["config"]["lr"] == 0.0025
    assert record["command"][1:] == ["train", "--data", str(data), "--arch", "3dttn", "--videos", "20", "--out",
                                     str(tmp_path / "a"), *TINY, "--json"]
    assert record["options"]["arch"] == "3dttn" and record["options"]["epochs"] == 1
    assert record["data"]["path"] == "tiny.h5"  # by name, not by this machine's path
    path = tmp_path / "a" / f"{record['run_id']}.json"

    monkeypatch.chdir(data.parent)  # the file the record names is found in the current folder
    again = invoke("train", "--from-record", str(path), "--out", str(tmp_path / "b"), "--json")
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.stdout)
    for key in ("run_id", "config", "history", "train_indices", "seed", "val_accuracy", "test_accuracy"):
        assert rerun[key] == record[key], key
    assert rerun["command"][1:3] == ["train", "--from-record"]

    one_line_failure(invoke("train", "--from-record", str(path), "--lr", "0.1"), "drop --lr")
    monkeypatch.chdir(tmp_path)  # no tiny.h5 here
    one_line_failure(invoke("train", "--from-record", str(path), "--out", str(tmp_path / "c")),
                     "was trained on 'tiny.h5', which is not in this folder: pass --data FILE (or set TTN_DATA=FILE)")
    from vmnist.testing import make_tiny_dataset

    other = make_tiny_dataset(tmp_path / "other.h5", per_split=30)
    one_line_failure(invoke("train", "--from-record", str(path), "--out", str(tmp_path / "c"), "--data", str(other)),
                     "is not the data 3dttn-v20-lr0.0025-c2x3-r0 was trained on")
    by_env = invoke("train", "--from-record", str(path), "--out", str(tmp_path / "c"), env={"TTN_DATA": str(data)})
    assert by_env.exit_code == 0, by_env.output
    old = tmp_path / "old" / path.name  # a record of before: the absolute path of the machine that made it
    old.parent.mkdir()
    old.write_text(json.dumps(record | {"data": record["data"] | {"path": str(data.resolve())}}))
    from_old = invoke("train", "--from-record", str(old), "--out", str(tmp_path / "d"))
    assert from_old.exit_code == 0, from_old.output


def test_ttn_data_names_the_data_file(data: Path, tmp_path: Path) -> None:
    printed = invoke("train", "--arch", "3d", "--videos", "10", "--print-config", env={"TTN_DATA": str(data)})
    assert f'data = "{data}"' in printed.output
    assert invoke("train", "--arch", "3d", "--videos", "10", "--data", "x.h5", "--print-config",
                  env={"TTN_DATA": str(data)}).output.count('data = "x.h5"') == 1  # --data wins


def test_train_needs_arch_and_videos_or_a_record() -> None:
    one_line_failure(invoke("train", "--videos", "10"), "Missing option '--arch' (or train a recorded run again")
