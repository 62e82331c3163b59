"""Rewrite every table of docs/results.md that a command shown above it prints, with what it prints now.

    python tools/refresh_results.py          # rewrite the tables that changed, name them
    python tools/refresh_results.py --check  # name them, change nothing (exit 1 if any differ)
    python tools/refresh_results.py --only paper-protocol   # only the commands that contain this text

Run it after committing new records (e.g. a session's share of a running sweep): the page's tables are checked
against their commands by tests/cli/test_docs_commands.py, which this reuses to find the commands. A table is
the first markdown table after the command's code block, with its caption line (``*...*``); the prose around it
is left for a person to revise.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results.md"


def _docs_test_module():
    """tests/cli/test_docs_commands.py, the one parser of the page's commands."""
    spec = importlib.util.spec_from_file_location("docs_commands", ROOT / "tests" / "cli" / "test_docs_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def printed(argv: list[str]) -> str:
    """What a table command of the page prints now (run from the repository root)."""
    if argv[0] == "candidate_grid":
        script = ROOT / "docs" / "experiments" / "candidate_grid.py"
        return subprocess.run([sys.executable, str(script), *argv[1:]], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout.strip()
    from cli.ttn_cli import main

    result = CliRunner().invoke(main, argv[1:], prog_name="ttn")
    if result.exit_code != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed: {result.output.strip()}")
    return result.stdout.strip()


def table_commands(module, block: str, assignments: list[str]) -> list[list[str]]:
    """The table commands of one code block, in order (its shell variables set as the whole page sets them)."""
    lines = module.shell_lines("\n".join(assignments) + "\n" + block)[len(assignments):]
    calls = []
    for line in lines:
        if line.strip().startswith("python docs/experiments/candidate_grid.py"):
            calls.append(["candidate_grid", *shlex.split(module.without_comment(line))[2:]])
        calls += [call for call in module.program_calls(line) if module.is_table_call(call)]
    return calls


def tables_after(page: str, position: int, count: int) -> list[tuple[int, int]]:
    """(begin, end) of the `count` markdown tables (each with its caption line ``*...*``) after `position`."""
    spans = []
    for _ in range(count):
        begin = page.index("\n|", position) + 1
        end = page.find("\n\n", begin)
        end = len(page) if end < 0 else end
        if page.startswith("*", end + 2):  # its caption
            end = page.find("\n", end + 2) if page.find("\n", end + 2) >= 0 else len(page)
        spans.append((begin, end))
        position = end
    return spans


def main(check: bool, results: Path = RESULTS, only: str | None = None) -> int:
    """Rewrite (or with `check` only name) the tables of `results` that differ from what their commands print
    (`only`: the commands that contain this text)."""
    os.chdir(ROOT)  # the page's paths are relative to the repository
    module = _docs_test_module()
    page = results.read_text()
    blocks = list(re.finditer(r"^```(\w*)\n(.*?)^```\n", page, re.MULTILINE | re.DOTALL))
    assignments = [line for block in blocks for line in block[2].splitlines()
                   if re.fullmatch(r"\s*[A-Za-z_]\w*=(\"[^\"]*\"|\S*)\s*", line)]
    replacements = []
    for block in blocks:
        if block[1] not in module.SHELL_BLOCKS or not (calls := table_commands(module, block[2], assignments)):
            continue
        for argv, (begin, end) in zip(calls, tables_after(page, block.end(), len(calls))):
            if only is not None and only not in " ".join(argv):
                continue
            table = printed(argv)
            if page[begin:end] != table:
                replacements.append((begin, end, table))
                print(f"{'differs' if check else 'rewritten'}: {' '.join(argv)}")
    if replacements and not check:
        for begin, end, table in sorted(replacements, reverse=True):
            page = page[:begin] + table + page[end:]
        results.write_text(page)
    print(f"{len(replacements)} table(s) of {results.name} {'differ' if check else 'rewritten'}")
    return 1 if replacements and check else 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="name the stale tables, change nothing")
    parser.add_argument("--only", help="only the commands that contain this text")
    arguments = parser.parse_args()
    raise SystemExit(main(arguments.check, only=arguments.only))
