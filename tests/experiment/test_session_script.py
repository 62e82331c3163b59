"""docs/experiments/paper-protocol/session.sh start, in a throwaway git repository beside which it makes its
worktree: it refuses to start a sweep that would import code from outside the worktree or from a worktree with
uncommitted changes, and otherwise runs parts a, b and c one after another inside the worktree.

The repository's packages are stand-ins: `cli.ttn_cli.main` writes down where it runs and with which arguments,
and part_c_lrs.py prints a fixed --lr option, so what is checked is the script's own logic, not a sweep."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path("docs/experiments/paper-protocol")
SCRIPT = Path(__file__).resolve().parents[2] / HERE / "session.sh"

FAKE_MAIN = '''
import json, os, sys
def main():
    with open(os.environ["CALLS"], "a") as calls:
        calls.write(json.dumps({"cwd": os.getcwd(), "file": __file__, "args": sys.argv[1:]}) + "\\n")
'''

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None, reason="needs git, bash")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def _repo(tmp_path: Path, packages: tuple[str, ...] = ("cli", "ttn", "vmnist")) -> Path:
    """A committed repository holding session.sh, one committed record and stand-in packages."""
    repo = tmp_path / "repo"
    (repo / HERE).mkdir(parents=True)
    shutil.copy(SCRIPT, repo / HERE / "session.sh")
    (repo / HERE / "3d-v10-lr0.01-r0.json").write_text(json.dumps({"run": 0}))
    (repo / HERE / "part_c_lrs.py").write_text('print("3d=0.01,0.02;3dttn=0.001,0.002")\n')
    for package in packages:
        (repo / package).mkdir()
        (repo / package / "__init__.py").write_text("")
    if "cli" in packages:
        (repo / "cli" / "ttn_cli.py").write_text(FAKE_MAIN)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fixture")
    return repo


def _start(repo: Path, work: Path, calls: Path) -> subprocess.CompletedProcess[str]:
    data = repo.parent / "data.h5"
    data.write_bytes(b"")
    env = {**os.environ, "CALLS": str(calls)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(["bash", str(HERE / "session.sh"), "start", str(work), str(data)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)


def _calls(calls: Path, count: int, timeout_s: float = 30.0) -> list[dict]:
    """The stand-in sweep's calls once `count` have been written (the chain runs in the background)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = calls.read_text().splitlines() if calls.is_file() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise AssertionError(f"{calls} has {len(lines)} calls, not {count}")


def test_start_runs_parts_a_b_and_c_inside_a_worktree_of_head(tmp_path):
    repo = _repo(tmp_path)
    commit = _git(repo, "rev-parse", "--short", "HEAD")
    work, calls = tmp_path / "work", tmp_path / "calls.jsonl"
    started = _start(repo, work, calls)
    assert started.returncode == 0, started.stderr
    tree = tmp_path / f"paper-{commit}"
    assert f"started from {commit}" in started.stdout
    sweeps = _calls(calls, 3)
    assert [call["cwd"] for call in sweeps] == [str(tree)] * 3  # the worktree's code, not the repository's
    assert all(call["file"] == str(tree / "cli" / "ttn_cli.py") for call in sweeps)
    videos = [call["args"][call["args"].index("--videos") + 1] for call in sweeps]
    assert videos == ["10,20,30,40,50,100", "500,1000", "2000,5000"]
    assert sweeps[2]["args"][-2:] == ["--lr", "3d=0.01,0.02;3dttn=0.001,0.002"]  # part c's lrs from its script
    assert all(call["args"][:2] == ["sweep", "--data"] and "--preset" in call["args"] for call in sweeps)
    assert json.loads((work / "3d-v10-lr0.01-r0.json").read_text()) == {"run": 0}  # seeded from the records


def test_start_keeps_the_files_already_in_the_working_folder(tmp_path):
    repo = _repo(tmp_path)
    work, calls = tmp_path / "work", tmp_path / "calls.jsonl"
    work.mkdir()
    (work / "3d-v10-lr0.01-r0.json").write_text(json.dumps({"run": 0, "newer": True}))
    assert _start(repo, work, calls).returncode == 0
    _calls(calls, 3)
    assert json.loads((work / "3d-v10-lr0.01-r0.json").read_text()) == {"run": 0, "newer": True}


def test_start_refuses_a_worktree_with_uncommitted_changes(tmp_path):
    repo = _repo(tmp_path)
    commit = _git(repo, "rev-parse", "--short", "HEAD")
    tree = tmp_path / f"paper-{commit}"
    _git(repo, "worktree", "add", "--detach", "-q", str(tree), commit)
    (tree / "ttn" / "__init__.py").write_text("EDITED = True\n")
    work, calls = tmp_path / "work", tmp_path / "calls.jsonl"
    refused = _start(repo, work, calls)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"session.sh: {tree} has uncommitted changes; not started"
    time.sleep(0.5)
    assert not calls.exists() and not (tmp_path / "work.log").exists()


def test_start_refuses_when_a_package_would_come_from_elsewhere(tmp_path):
    """Without vmnist/ in the worktree, `import vmnist` finds the installed one (this project's): refused."""
    repo = _repo(tmp_path, packages=("cli", "ttn"))
    work, calls = tmp_path / "work", tmp_path / "calls.jsonl"
    refused = _start(repo, work, calls)
    assert refused.returncode == 1
    assert "the sweep would import" in refused.stderr and "vmnist" in refused.stderr
    assert refused.stderr.strip().endswith("not started")
    assert not calls.exists()
