"""tools/refresh_results.py puts back what each table command of docs/results.md prints, and nothing else."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The one table command run (each takes seconds; tests/cli/test_docs_commands.py checks them all).
ONLY = "paper-protocol --compare-paper --correct holm"


def _tool():
    spec = importlib.util.spec_from_file_location("refresh_results", ROOT / "tools" / "refresh_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_stale_table_is_rewritten_and_the_prose_kept(tmp_path, monkeypatch, capsys):
    tool = _tool()
    page = (ROOT / "docs" / "results.md").read_text()
    stale = page.replace("| videos | paper 3d acc |", "| videos | stale |", 1).replace("In short", "In brief", 1)
    assert stale != page
    copy = tmp_path / "results.md"
    copy.write_text(stale)
    assert tool.main(check=True, results=copy, only=ONLY) == 1 and copy.read_text() == stale  # --check changes nothing
    assert tool.main(check=False, results=copy, only=ONLY) == 0
    assert copy.read_text() == page.replace("In short", "In brief", 1)  # the table back, the prose as edited
    assert "1 table(s) of results.md rewritten" in capsys.readouterr().out
