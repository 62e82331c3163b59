"""docs/experiments/paper-protocol/val_size.py on a real (tiny) raced sweep: every selection run scored on the
larger validation subset, and where that moves the pick, the new pick's selection runs tested from their saved
models as a deferred test would, their records untouched."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from click.testing import CliRunner

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "experiments" / "paper-protocol" / "val_size.py"


def _script(monkeypatch, cache: Path):
    spec = importlib.util.spec_from_file_location("val_size", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "CACHE", cache)
    monkeypatch.setattr(module, "VAL_SIZE", 20)  # the tiny file's val split has 40 videos
    return module


def _main(module, monkeypatch, capsys, *args: str) -> list[str]:
    monkeypatch.setattr(sys, "argv", ["val_size.py", *args])
    module.main()
    return capsys.readouterr().out.splitlines()


def test_a_moved_pick_is_tested_from_its_saved_models(tmp_path, monkeypatch, capsys):
    from cli.ttn_cli import main
    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.records import load_records
    from ttn.experiment.training import checkpoint_path, score_on_test_split
    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=40)
    out = tmp_path / "raced"
    swept = CliRunner().invoke(main, ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--epochs", "1",
                                      "--channels", "2,3", "--val-size", "12", "--lr", "0.01,0.02,0.04", "--race", "1",
                                      "--select-runs", "0-1", "--runs", "2", "--workers", "1", "--out", str(out)])
    assert swept.exit_code == 0, swept.output
    module = _script(monkeypatch, tmp_path / "val_size.json")
    lines = _main(module, monkeypatch, capsys, "--out", str(out), "--data", str(data))
    records = {r["run_id"]: r for r in load_records(out).records}
    cache = json.loads((tmp_path / "val_size.json").read_text())
    assert set(cache["accuracy"]) == set(records)  # every selection run (here: every run) scored on 20 videos
    tested = {run_id for run_id, r in records.items() if r["test_accuracy"] is not None}
    picked = {r["config"]["lr"] for r in records.values() if r["test_accuracy"] is not None}
    assert len(picked) == 1 and len(tested) == 2

    # Crafted 20-video scores: the other survivor (runs 0-1) ahead, the pick behind, the third out after run 0.
    lr_of = {run_id: r["config"]["lr"] for run_id, r in records.items()}
    survivors = {lr_of[run_id] for run_id, r in records.items() if r["run"] == 1}
    (other,) = survivors - picked
    crafted = {run_id: 1.0 if lr_of[run_id] == other else 0.5 if lr_of[run_id] in picked else 0.0 for run_id in records}
    (tmp_path / "val_size.json").write_text(json.dumps(cache | {"accuracy": crafted}))
    lines = _main(module, monkeypatch, capsys, "--out", str(out), "--data", str(data))
    moved = [line for line in lines if "MOVED" in line]
    assert len(moved) == 1 and f"1000 -> lr {other:g}" in moved[0], lines
    test = json.loads((tmp_path / "val_size.json").read_text())["test_accuracy"]
    moved_runs = sorted(run_id for run_id in records if lr_of[run_id] == other)
    assert sorted(test) == moved_runs
    for run_id in moved_runs:  # scored as a deferred test scores, the record left as the sweep wrote it
        model, _ = load_checkpoint(checkpoint_path(out, run_id), "cpu")
        assert test[run_id] == score_on_test_split(model, data, "unit", 500).accuracy
    assert all(r["test_accuracy"] is None for r in load_records(out).records if r["run_id"] in moved_runs)
    kept = sum(records[run_id]["test_accuracy"] for run_id in tested) / 2
    new = sum(test.values()) / 2
    assert f"{kept:.4f} for the 300-video pick, {new:.4f} for the 1,000-video pick, {100 * (new - kept):+.2f} points" in moved[0]
    # from the cache alone (no --out): the same lines, nothing scored again
    assert _main(module, monkeypatch, capsys, "--records", str(out)) == lines

    # a cell whose models stayed on another machine: undecided, with how many runs lack one, and no crash
    cache = json.loads((tmp_path / "val_size.json").read_text())
    kept_one = {run_id: accuracy for run_id, accuracy in cache["accuracy"].items() if lr_of[run_id] == other}
    (tmp_path / "val_size.json").write_text(json.dumps(cache | {"accuracy": kept_one}))
    (line,) = [line for line in _main(module, monkeypatch, capsys, "--records", str(out)) if "videos:" in line]
    assert "1000 -> undecided: 3 of its selection runs have no model in --out" in line, line
    assert line.endswith(f"of the candidates with every selection run scored, 1000 picks lr {other:g}"), line
    (tmp_path / "val_size.json").write_text(json.dumps(cache | {"accuracy": {}}))
    (line,) = [line for line in _main(module, monkeypatch, capsys, "--records", str(out)) if "videos:" in line]
    assert line.endswith("of the candidates with every selection run scored, none"), line
