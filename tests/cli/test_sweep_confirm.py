"""Before a sweep starts: a bare `ttn sweep` (the whole paper protocol) asks on a terminal before a plan over an hour,
never without one; a sweep of uncommitted code warns."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli.ask
import cli.ttn_sweep
from cli.ask import CONFIRM_OVER_S, confirm_long_plan
from cli.ttn_cli import main


@pytest.mark.parametrize(("args", "asks"), [
    ([], True), (["--videos", "10"], False), (["--preset", "quick"], False), (["--yes"], False), (["-y"], False)])
def test_only_a_bare_sweep_asks(monkeypatch: pytest.MonkeyPatch, args: list[str], asks: bool) -> None:
    seen: dict[str, Any] = {}

    def fake_run(data, out, plan, runner, dry_run=False, ask=None):
        seen["ask"] = ask
        return None

    monkeypatch.setattr(cli.ttn_sweep, "run_sweep_command", fake_run)
    result = CliRunner().invoke(main, ["sweep", *args])
    assert result.exit_code == 0, result.output
    assert (seen["ask"] is confirm_long_plan) == asks


def test_no_terminal_never_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.ask, "stdin_is_terminal", lambda: False)
    with CliRunner().isolation(input=""):  # nothing to read: a prompt would fail
        assert confirm_long_plan(100 * CONFIRM_OVER_S)


@pytest.mark.parametrize(("answer", "starts"), [("n\n", False), ("y\n", True), ("\n", False)])
def test_a_terminal_is_asked_before_a_long_plan(monkeypatch: pytest.MonkeyPatch, answer: str, starts: bool) -> None:
    monkeypatch.setattr(cli.ask, "stdin_is_terminal", lambda: True)
    with CliRunner().isolation(input=answer) as streams:
        assert confirm_long_plan(2 * CONFIRM_OVER_S) is starts
        assert b"Start ~" in streams[1].getvalue() and b"--dry-run shows the plan" in streams[1].getvalue()
    with CliRunner().isolation(input=""):
        assert confirm_long_plan(CONFIRM_OVER_S / 2)  # a short plan starts without a question


@pytest.mark.parametrize("commit, allow, warned", [
    ("0123456789abcdef-dirty", None, True), ("0123456789abcdef", None, False), (None, None, False),
    ("0123456789abcdef-dirty", "1", False),
])
def test_a_sweep_warns_when_its_code_has_uncommitted_changes(monkeypatch, tmp_path, commit, allow, warned) -> None:
    """Records of uncommitted code name no code anyone can check out: the sweep says so before it starts, and where
    its code comes from (a sweep beside a work tree may import that tree); TTN_ALLOW_DIRTY=1 leaves it out."""
    import ttn
    from ttn.experiment import provenance

    monkeypatch.setattr(provenance, "git_commit", lambda: commit)
    if allow is None:
        monkeypatch.delenv("TTN_ALLOW_DIRTY", raising=False)
    else:
        monkeypatch.setenv("TTN_ALLOW_DIRTY", allow)
    from vmnist.testing import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "tiny.h5", per_split=20)
    result = CliRunner().invoke(main, ["sweep", "--data", str(data), "--arch", "3d", "--videos", "10", "--runs", "1",
                                       "--epochs", "1", "--channels", "2,3", "--val-size", "12", "--out",
                                       str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 0, result.output
    source = str(Path(ttn.__file__).resolve().parent.parent)
    expected = (f"warning: the code in {source} has uncommitted changes: the records will say 0123456...-dirty; "
                "commit first, or run from a worktree of a commit (git worktree add)")
    assert (expected in result.stderr) == warned, result.stderr
