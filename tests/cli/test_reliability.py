"""Hostile and careless inputs to `ttn`: every case gives a non-zero exit, one line naming the problem, no
traceback, and changes no file; concurrent sweeps share a folder and train each run once."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.checkpoint import save_checkpoint
from ttn.experiment.records import SCHEMA_VERSION, write_record
from ttn.nn import build_model
from vmnist.testing import FILE_EDITS, edited_copy

TINY = ["--epochs", "1", "--channels", "2,3", "--val-size", "12", "--lr", "0.02"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


@pytest.fixture(scope="module")
def short_data(tmp_path_factory) -> Path:
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("short") / "short.h5", per_split=20, frames=20)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    kwargs = {"channels": [2, 3]}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "m.pt", build_model("3d", **kwargs), arch="3d",
                           model_kwargs=kwargs)


@pytest.fixture(scope="module")
def odd_scale_checkpoint(tmp_path_factory) -> Path:
    kwargs = {"channels": [2, 3]}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "scale.pt", build_model("3d", **kwargs), arch="3d",
                           model_kwargs=kwargs, input_scale="zero-one")  # as a later ttn with another scale would


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_failure(result, message: str) -> None:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


#: Zero means zero (issue 19: a 0 was replaced by the default): each option refuses it with its reason, in `ttn train`
#: and `ttn sweep` alike; --val-size 0 is honoured (`test_val_size_zero_is_the_whole_split`).
ZERO_REFUSED = {"--lr": "--lr must be positive, got 0.0", "--epochs": "--epochs must be positive, got 0",
                "--batch-size": "--batch-size must be positive, got 0", "--lr-decay": "--lr-decay must be in (0, 1], got 0.0",
                "--transform-lr-scale": "--transform-lr-scale must be positive, got 0.0",
                "--temporal-kernel": "--temporal-kernel must be a positive odd number, got 0",
                "--val-every": "--val-every must be positive, got 0", "--init-scale": "--init-scale must be positive, got 0.0"}

CASES = {
    "train --device foo": (["train", "--arch", "3d", "--videos", "10", "--device", "foo"], "not a torch device"),
    "train --device cuda": (["train", "--arch", "3d", "--videos", "10", "--device", "cuda"], "CUDA is not available"),
    "sweep --device cuda": (["sweep", "--arch", "3d", "--videos", "10", "--runs", "1", "--device", "cuda"], "CUDA is not available"),
    "train --lr nan": (["train", "--arch", "3d", "--videos", "10", "--lr", "nan"], "not a finite number"),
    "sweep --lr inf": (["sweep", "--arch", "3d", "--videos", "10", "--runs", "1", "--lr", "0.1,inf"], "not a finite number"),
    "train --lr-decay nan": (["train", "--arch", "3d", "--videos", "10", "--lr-decay", "nan"], "not a finite number"),
    "sweep --scheduler": (["sweep", "--arch", "3d", "--videos", "10", "--runs", "1", "--scheduler", "not a url"],
                          "not a scheduler address"),
    "sweep --epochs list": (["sweep", "--arch", "3d", "--videos", "10", "--runs", "1", "--epochs", "1,2"],
                            "takes one value in a sweep"),
    "reproduce --mnist": (["reproduce", "--mnist", "/nonexistent/mnist"], "does not exist"),
    "show-kernels suffix": (["show-kernels", "CKPT", "--out", "k.xyz"], "must end in .png"),
    "report --plot suffix": (["report", "OUT", "--plot", "fig.xyz"], "must end in .png"),
    "evaluate other frames": (["evaluate", "CKPT", "--data", "SHORT"], "trained on videos of 30 frames"),
    "report --where": (["report", "OUT", "--where", "lr"], "KEY=VALUE"),
    "compare --row": (["compare", "--row", "noname"], "NAME=FOLDER"),
    # the seed is the run index: --seed names --run / --runs, not Click's closest match --score
    "train --seed": (["train", "--arch", "3d", "--videos", "10", "--seed", "3"], "the seed is the run index: --run N"),
    "train --seed not --score": (["train", "--arch", "3d", "--videos", "10", "--seed", "3"], "No such option '--seed': "),
    "sweep --seed": (["sweep", "--seed", "3"], "the seed is the run index: --runs chooses"),
    "reproduce --seed": (["reproduce", "--seed=3"], "the seed is the run index: --runs chooses"),
    # a data file's contents are input: refused before any training, naming the file and the fix
    **{f"train on {edit}": (["train", "--arch", "3d", "--videos", "10", "--data", f"EDITED-{edit}"], message)
       for edit, (_, message) in FILE_EDITS.items() if "shards" not in edit},
    "evaluate labels 12": (["evaluate", "CKPT", "--data", "EDITED-labels 12"], "labels 0..12, expected the digits 0..9"),
    "evaluate float labels": (["evaluate", "CKPT", "--data", "EDITED-float labels"], "labels are float32"),
    "train on a FIFO": (["train", "--arch", "3d", "--videos", "10", "--data", "f.h5"], "f.h5 is a FIFO (named pipe)"),
    "evaluate unknown input_scale": (["evaluate", "SCALE"], "trained on input scale 'zero-one', which this ttn does not know"),
    # outputs never replace each other nor the records they are made from, --force or not
    "report --plot q.png --curves q.png": (["report", "OUT", "--plot", "q.png", "--curves", "q.png"],
                                           "--plot and --curves both name q.png"),
    "report --out q.md --plot q.md": (["report", "OUT", "--out", "q.png", "--plot", "q.png"], "--out and --plot both name"),
    "report --out RECORD --force": (["report", "OUT", "--out", "RECORD", "--force"], "is in the results folder"),
    "report --out OUT/t.json": (["report", "OUT", "--format", "json", "--out", "OUT-JSON"], "is in the results folder"),
    "report --out --force": (["report", "OUT", "--out", "--force"], "'--force' looks like an option"),
    "show-kernels --out --force": (["show-kernels", "CKPT", "--out", "--force"], "'--force' looks like an option"),
    **{f"{command} {option} --force": ([command, *(["CKPT"] if command == "evaluate" else []), option, "--force"],
                                       f"--{option.lstrip('-')}': '--force' looks like an option")
       for command, option in (("train", "--out"), ("sweep", "--out"), ("train", "--data"), ("sweep", "--data"),
                               ("evaluate", "--data"), ("reproduce", "--mnist"))},
    **{f"{command} {option} 0": ([command, "--arch", "3dttn", "--videos", "10", option, "0"], message)
       for command in ("train", "sweep") for option, message in ZERO_REFUSED.items()},
    # integers have an upper bound: a one-line range instead of an OverflowError, a MemoryError or a C++ stack
    "sweep --runs 2**70": (["sweep", "--arch", "3d", "--videos", "10", "--runs", str(2**70)], "--runs: a count of runs must be 1 to 10,000, got 1180591620717411303424"),
    "sweep --workers 2**70": (["sweep", "--arch", "3d", "--videos", "10", "--workers", str(2**70)], "'--workers': 1180591620717411303424 is not in the range 1<=x<=256"),
    "sweep --dask-local 2**70": (["sweep", "--arch", "3d", "--videos", "10", "--dask-local", str(2**70)], "is not in the range 1<=x<=256"),
    "train --run 2**70": (["train", "--arch", "3d", "--videos", "10", "--run", str(2**70)], "is not in the range 0<=x<=1000000"),
    # every candidate is checked against the data when planning, before any training (a sweep failed each k=99 run)
    **{f"{command} {option} {value}": ([command, "--arch", "3d", "--videos", "10", option, value], message)
       for command in ("train", "sweep")
       for option, value, message in (
           ("--val-size", "500", "--val-size 500: the val split of"),  # was recorded as 500
           ("--temporal-kernel", "5,99" if command == "sweep" else "99",
            "--temporal-kernel 99: input of 30 frames of 28x28 is too small"))},
    **{f"{command} --channels {big},2": ([command, "--arch", "3d", "--videos", "10", "--channels", f"{big},2"],
                                         f"--channels must be two positive numbers C1,C2 of at most 1,024 each, got {big},2")
       for command in ("train", "sweep") for big in (2**40, 2**70)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(case, data, short_data, checkpoint, odd_scale_checkpoint, tmp_path,
                                                   monkeypatch) -> None:
    args, message = CASES[case]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    write_record(out, {"schema": SCHEMA_VERSION, "run_id": "3d-v10-r0", "arch": "3d", "videos": 10, "run": 0,
                       "params": 10, "test_accuracy": 0.5, "val_accuracy": 0.5, "config": {"lr": 0.02},
                       "data": {}, "complete": True})
    os.mkfifo(tmp_path / "f.h5")
    swap = {"CKPT": str(checkpoint), "SHORT": str(short_data), "OUT": str(out), "SCALE": str(odd_scale_checkpoint),
            "RECORD": str(out / "3d-v10-r0.json"), "OUT-JSON": str(out / "t.json")}
    swap |= {arg: str(edited_copy(data, tmp_path, arg.removeprefix("EDITED-"))) for arg in args if arg.startswith("EDITED-")}
    args = [swap.get(a, a) for a in args]
    if args[0] in ("train", "sweep"):
        args += [item for name, value in (("--data", str(data)), ("--out", str(tmp_path / "fresh"))) if name not in args
                 for item in (name, value)]
        args += [item for name, value in zip(TINY[::2], TINY[1::2]) if name not in args for item in (name, value)]
    before = snapshot(tmp_path)
    one_line_failure(CliRunner().invoke(main, args), message)
    assert snapshot(tmp_path) == before


def test_zero_refused_covers_every_number_option() -> None:
    """A test of every training option that takes a number: a new one is added to ZERO_REFUSED (or honours 0)."""
    from cli.training_options import OPTION_FIELDS, field_type
    from ttn.experiment.config import flag

    numbers = {flag(f.name) for f in OPTION_FIELDS if field_type(f) in (int, float)}
    assert numbers == set(ZERO_REFUSED) | {"--val-size"}


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_val_size_zero_is_the_whole_split(command, data, tmp_path, monkeypatch) -> None:
    """--val-size 0 is honoured and recorded as 0 (the whole val split), not replaced by the default 1000."""
    from concurrent.futures import ThreadPoolExecutor

    from ttn.experiment.runners import PoolRunner

    monkeypatch.setattr("cli.ttn_sweep.runner_of", lambda *args: PoolRunner(make_pool=lambda: ThreadPoolExecutor(1)))
    out = tmp_path / "res"
    args = [command, "--data", str(data), "--arch", "3d", "--videos", "10", "--out", str(out), "--epochs", "1",
            "--channels", "2,3", "--val-size", "0", *(["--runs", "1"] if command == "sweep" else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    record = json.loads(next(out.glob("*.json")).read_text())
    assert record["config"]["val_size"] == 0


def test_existing_files_are_never_replaced_without_force(data, tmp_path) -> None:
    out = tmp_path / "res"
    args = ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out", str(out), *TINY]
    assert CliRunner().invoke(main, args).exit_code == 0
    record = next(out.glob("*.json"))
    before = record.read_bytes()
    one_line_failure(CliRunner().invoke(main, args), "is a finished run: pass --force")
    assert record.read_bytes() == before
    victim = tmp_path / "victim.h5"
    victim.write_bytes(b"precious")
    one_line_failure(CliRunner().invoke(main, ["report", str(out), "--out", str(victim)]), "already exists: pass --force")
    assert victim.read_bytes() == b"precious"
    assert CliRunner().invoke(main, ["report", str(out), "--out", str(victim), "--force"]).exit_code == 0
    assert victim.read_bytes() != b"precious"
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(data, tmp_path, monkeypatch) -> None:
    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "res"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out", str(out),
                                       "--save-model", *TINY])
    one_line_failure(result, "cannot write checkpoint")
    assert "is the disk full" in result.output and not list(out.glob("*"))  # no record, no temporary file


def test_no_room_for_the_checkpoint_is_refused_before_training(data, tmp_path, monkeypatch) -> None:
    """--save-model on a folder without room for the checkpoint: one line naming it, before any training."""
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    monkeypatch.setattr("ttn.experiment.training.train_run", lambda *a, **k: pytest.fail("trained without room to save"))
    out = tmp_path / "new" / "res"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out", str(out),
                                       "--save-model", *TINY])
    one_line_failure(result, f"cannot write {out}/3d-v10-lr0.02-c2x3-inithe-r0.pt: 4,096 bytes free in {tmp_path}")
    assert "free some disk space or choose another --out" in result.output and not (tmp_path / "new").exists()


HOLD_CLAIM = """
import sys
from ttn.experiment.claims import claim
with claim(sys.argv[1], sys.argv[2]) as claimed:
    print(claimed, flush=True)
    sys.stdin.read()
"""


def test_a_run_being_trained_elsewhere_is_not_trained_again(data, tmp_path) -> None:
    """`ttn train` takes the run's claim as a sweep's task does: a second `ttn train` of the same run (here: another
    process holding its claim) is refused in one line naming the lock, and changes nothing."""
    from ttn.experiment.config import make_config
    from ttn.experiment.task import Task

    out = tmp_path / "res"
    run_id = Task("3d", 10, 0, make_config(epochs=1, channels=(2, 3), val_size=12, lr=0.02)).run_id
    holder = subprocess.Popen([sys.executable, "-c", HOLD_CLAIM, str(out), run_id], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        result = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out",
                                           str(out), *TINY])
        one_line_failure(result, f"{run_id} is being trained by another process (it holds {out}/.claims/{run_id}.lock)")
        assert not list(out.glob("*.json"))
    finally:
        holder.communicate("", timeout=60)
    assert not (out / ".claims" / f"{run_id}.lock").exists()  # its holder removed it


GOOD_RECORD = {"schema": SCHEMA_VERSION, "arch": "3d", "videos": 10, "params": 10, "test_accuracy": 0.5,
               "val_accuracy": 0.5, "config": {"lr": 0.02}, "data": {}, "complete": True,
               "history": [{"epoch": 1, "val_accuracy": 0.5}]}
#: A damaged record (its fields over a good one's, or the text of the file) -> what the warning that skips it says.
BAD_RECORDS: dict[str, tuple[dict | str, str]] = {
    "accuracy 5": ({"test_accuracy": 5.0}, "between 0 and 1"),
    "params -3": ({"params": -3}, ">= 1"),
    "escape in arch": ({"arch": "\x1b[31mevil"}, "not an architecture name"),
    "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "5001-digit integer": ('{"videos": ' + "9" * 5001 + "}", "not JSON this ttn reads"),
    "transforms a list": ({"arch": "3dttn", "transforms": [1, 2]}, "'transforms' is not an object of layers"),
    "transforms of text": ({"arch": "3dttn", "transforms": {"conv1": "far"}}, "'transforms' is not an object of layers"),
    "videos 10**400": ({"videos": 10**400}, "'videos' is not a multiple of 10 from 10 to 50,000"),
    "videos 15": ({"videos": 15}, "'videos' is not a multiple of 10"),
    "arch 4d": ({"arch": "4d"}, "unknown architecture '4d'"),
    "config of objects": ({"config": {"lr": {"a": 1}}}, "'config' is not an object of numbers"),
    "history of text": ({"history": "long"}, "'history' is not a list of epochs"),
}


@pytest.mark.parametrize("args", [["report"], ["report", "--transforms", "--format", "json"], ["report", "--curves", "c.png"],
                                  ["compare", "--row"]])
def test_bad_records_are_skipped_with_a_warning(args, tmp_path, monkeypatch) -> None:
    """One damaged record never stops a report or a comparison: it is skipped with a warning saying why."""
    if "--curves" in args:
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "res"
    results.mkdir()
    for run, arch in enumerate(["3d", "3dttn"] * 2):  # two good runs per arch, so that compare has gaps to show
        write_record(results, GOOD_RECORD | {"run_id": f"{arch}-v10-r{run // 2}", "arch": arch, "run": run // 2})
    for run, (bad, _) in enumerate(BAD_RECORDS.values(), start=10):
        text = bad if isinstance(bad, str) else json.dumps(GOOD_RECORD | {"run_id": f"3d-v10-r{run}", "run": run} | bad)
        (results / f"3d-v10-r{run}.json").write_text(text)
    target = [f"x={results}"] if args[0] == "compare" else [str(results)]
    result = CliRunner().invoke(main, args + target + (["--out", str(tmp_path / "r.json")] if "json" in args else []),
                                catch_exceptions=False)
    assert result.exit_code == 0 and "\x1b[31m" not in result.output and "Traceback" not in result.output, result.output
    assert result.stderr.count("skipped 3d-v10-r") == len(BAD_RECORDS), result.stderr
    for _, warning in BAD_RECORDS.values():
        assert warning in result.stderr, warning


SWEEP = ["sweep", "--arch", "3d,3dttn", "--videos", "10", "--runs", "3", "--workers", "1", *TINY]


def run_ttn(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", "from cli.ttn_cli import main; main()", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_two_sweeps_at_once_train_each_run_once(data, tmp_path) -> None:
    args = SWEEP + ["--data", str(data), "--out", str(tmp_path / "res")]
    sweeps = [run_ttn(args, Path.cwd()) for _ in range(2)]
    outputs = [sweep.communicate(timeout=300) for sweep in sweeps]
    assert all(sweep.returncode == 0 for sweep in sweeps), outputs
    trained = [int(out.split("sweep: ")[1].split(" trained")[0]) for out, _ in outputs]
    assert sum(trained) == 6, outputs  # 2 archs x 3 runs, each trained by exactly one of the sweeps
    assert len(list((tmp_path / "res").glob("*.json"))) == 6
    assert not list((tmp_path / "res" / ".claims").iterdir())  # every claim released and removed


def test_ctrl_c_while_workers_start_prints_no_traceback(data, tmp_path) -> None:
    args = SWEEP + ["--data", str(data), "--out", str(tmp_path / "res"), "--workers", "2"]
    sweep = run_ttn(args, Path.cwd())
    assert "runs planned" in sweep.stderr.readline()  # the pool starts right after this line
    time.sleep(0.1)  # workers are being spawned now: without the fix, they printed a KeyboardInterrupt traceback
    os.killpg(sweep.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group
    stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130 and "Traceback" not in stderr + stdout, stderr
    assert "interrupted" in stderr
    assert not [p for p in (tmp_path / "res").glob(".*.tmp")]


@pytest.mark.parametrize("runner", [["--workers", "2"], ["--dask-local", "2"]], ids=["process pool", "dask"])
def test_ctrl_c_mid_run_is_one_line_and_leaves_no_claim(runner, data, tmp_path) -> None:
    """Ctrl-C while workers train: exit 130, one line saying how many runs are recorded (as many as on disk), no
    worker traceback (Dask's printed two), no stale .claims/*.lock."""
    if "--dask-local" in runner:
        pytest.importorskip("distributed")
    from vmnist.testing import wait_until

    out = tmp_path / "res"
    sweep = run_ttn(SWEEP + ["--data", str(data), "--out", str(out), *runner, "--epochs", "50"], Path.cwd())
    assert "runs planned" in sweep.stderr.readline()
    assert wait_until(lambda: list(out.glob(".claims/*.lock")), 120), "no run started"
    os.killpg(sweep.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group, workers included
    stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130 and "Traceback" not in stderr + stdout, stderr
    recorded = len(list(out.glob("*.json")))
    assert stderr.strip().splitlines()[-1] == (f"interrupted: nothing half-written was kept; {recorded} of 6 runs "
                                                f"recorded in {out}; the same command trains the rest"), stderr
    assert [line for line in stderr.splitlines() if not line.startswith("[")] == stderr.strip().splitlines()[-1:], stderr
    assert not list(out.glob(".claims/*")) and not list(out.glob(".*.tmp"))


def test_sigterm_stops_a_sweep_like_ctrl_c(data, tmp_path) -> None:
    """kill / Slurm's scancel send SIGTERM: the workers are stopped and nothing half-written is kept."""
    sweep = run_ttn(SWEEP + ["--data", str(data), "--out", str(tmp_path / "res"), "--workers", "2"], Path.cwd())
    assert "runs planned" in sweep.stderr.readline()
    time.sleep(1.0)
    sweep.send_signal(signal.SIGTERM)  # to the parent only, as kill PID does
    stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 128 + signal.SIGTERM and "terminated" in stderr and "Traceback" not in stderr, stderr
    assert not [p for p in (tmp_path / "res").glob(".*.tmp")]


def test_workers_die_with_a_sweep_killed_outright(data, tmp_path) -> None:
    """kill -9 of a sweep (the OOM killer, a lost batch job): no worker outlives it by more than a few seconds (2-3
    used to go on, one finishing its run and idling for minutes)."""
    psutil = pytest.importorskip("psutil")
    from vmnist.testing import process_ended, wait_until

    out = tmp_path / "res"
    sweep = run_ttn(SWEEP + ["--data", str(data), "--out", str(out), "--workers", "2", "--epochs", "50"], Path.cwd())
    assert "runs planned" in sweep.stderr.readline()
    assert wait_until(lambda: list(out.glob(".claims/*.lock")), 120), "no run started"  # the workers are training
    workers = psutil.Process(sweep.pid).children(recursive=True)
    assert len(workers) >= 2
    sweep.kill()
    sweep.wait(timeout=60)  # not communicate(): a surviving worker would hold the pipes open
    try:
        assert wait_until(lambda: all(process_ended(worker.pid) for worker in workers), 5), "a worker outlived its sweep"
    finally:
        for worker in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()


def good_results(folder: Path) -> Path:
    """Two runs of 3d and 3dttn: enough for a report and a comparison."""
    for run, arch in enumerate(["3d", "3dttn"] * 2):
        write_record(folder, GOOD_RECORD | {"run_id": f"{arch}-v10-r{run // 2}", "arch": arch, "run": run // 2})
    return folder


def test_names_are_text_not_markup(tmp_path, monkeypatch) -> None:
    """Paths and row names are printed as they are: 'r[/]' is not rich markup (a MarkupError before)."""
    monkeypatch.chdir(tmp_path)
    good_results(tmp_path / "r[" / "]")
    report = CliRunner().invoke(main, ["report", "r[/]"])
    assert report.exit_code == 0 and "(r[/])" in report.output, report.output
    compare = CliRunner().invoke(main, ["compare", "--row", "a[/]b=r[/]"])
    assert compare.exit_code == 0 and "a[/]b" in compare.output, compare.output
    (tmp_path / "zero.pkl.gz").symlink_to("/dev/zero")
    reproduce = CliRunner().invoke(main, ["reproduce", "--data", "d[/]d.h5", "--mnist", "zero.pkl.gz"])
    assert reproduce.exit_code == 1 and "Traceback" not in reproduce.output, reproduce.output
    assert "d[/]d.h5 not found" in reproduce.output and "zero.pkl.gz: a character device" in reproduce.output
    assert sorted(os.listdir(tmp_path)) == ["r[", "zero.pkl.gz"]


def test_train_sweep_and_evaluate_print_names_as_text(data, checkpoint, tmp_path, monkeypatch) -> None:
    """A results folder, checkpoint or error that reads as markup ('a[b]c') is printed as it is, not as bold 'ac'."""
    from concurrent.futures import ThreadPoolExecutor

    from ttn.errors import TTNError
    from ttn.experiment.runners import PoolRunner

    monkeypatch.chdir(tmp_path)
    train = CliRunner().invoke(main, ["train", "--data", str(data), "--arch", "3d", "--videos", "10", "--out", "t[b]x",
                                      "--save-model", *TINY])
    assert train.exit_code == 0 and "-> t[b]x/3d-v10" in train.output and ", model t[b]x/3d" in train.output, train.output
    named = tmp_path / "m[b]x.pt"
    named.write_bytes(checkpoint.read_bytes())
    evaluate = CliRunner().invoke(main, ["evaluate", str(named), "--data", str(data)])
    assert evaluate.exit_code == 0 and "m[b]x.pt on test" in evaluate.output, evaluate.output

    def failing(*args, **kwargs):
        raise TTNError("a [b]bold[/b] claim")

    monkeypatch.setattr("cli.ttn_sweep.runner_of", lambda *args: PoolRunner(make_pool=lambda: ThreadPoolExecutor(1)))
    monkeypatch.setattr("ttn.experiment.training.train_run", failing)
    sweep = CliRunner().invoke(main, ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--runs", "1",
                                      "--out", "s[b]x", *TINY])
    assert sweep.exit_code == 1 and "TTNError: a [b]bold[/b] claim" in sweep.stderr, sweep.stderr
    assert "-> s[b]x" in sweep.stdout, sweep.stdout


def test_evaluate_on_another_trajectory_family_warns(data, tmp_path) -> None:
    """A checkpoint evaluated on videos of another motion than it was trained on: a one-line warning on stderr, the
    results on stdout as usual (JSON through cli.common.echo too); none on its own family."""
    kwargs = {"channels": [2, 3]}
    model = build_model("3d", **kwargs)
    for trained, warned in (("smooth", True), ("authors", False)):
        path = save_checkpoint(tmp_path / f"{trained}.pt", model, arch="3d", model_kwargs=kwargs,
                               extra={"data": {"trajectories": trained}})
        for fmt in ([], ["--json"]):
            result = CliRunner().invoke(main, ["evaluate", str(path), "--data", str(data), *fmt])
            assert result.exit_code == 0 and "Traceback" not in result.output, result.output
            warning = (f"warning: {path} was trained on 'smooth' trajectories, {data} holds 'authors' ones: this "
                       "accuracy measures a transfer to other motion; for its own test, evaluate on data of vmnist "
                       "generate --trajectories smooth")
            assert result.stderr.strip() == (warning if warned else ""), result.stderr
            if fmt:
                assert json.loads(result.stdout)["videos"] == 40


def run_ttn_to_end(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} | kwargs
    return subprocess.run([sys.executable, "-c", "from cli.ttn_cli import main; main()", *args], text=True, timeout=300,
                          **streams)


def test_an_ascii_output_gets_ascii(tmp_path) -> None:
    results = good_results(tmp_path / "res")
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    for args, spelt in ((["report", str(results)], "+/-"), (["compare", "--row", f"x={results}"], "3dttn - 3d")):
        done = run_ttn_to_end(args, env=env)
        assert done.returncode == 0 and spelt in done.stdout and "Traceback" not in done.stderr, done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_closed_or_full_stdout_is_one_line_naming_it(tmp_path) -> None:
    """`ttn models >&-` (stdout None: an AttributeError at import before), `ttn models > /dev/full`; shown with
    `ttn report`, lighter than `ttn models`, which prints through the same console."""
    results = str(good_results(tmp_path / "res"))
    closed = run_ttn_to_end(["report", results], preexec_fn=lambda: os.close(1))  # as `>&-`
    with open("/dev/full", "w") as full:
        filled = [run_ttn_to_end(["report", results, *fmt], stdout=full) for fmt in ([], ["--format", "json"])]
    for done, reason in ((closed, "Bad file descriptor: stdout"), *((f, "No space left on device: stdout") for f in filled)):
        assert done.returncode == 1 and reason in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
