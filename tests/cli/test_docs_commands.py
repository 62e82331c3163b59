"""What the user reads stays true and fits (issue 20): every `ttn` / `vmnist` command shown in the README, the
docs and the --help examples parses with today's options; every --help fits 80 columns; every option says what
it does; seeds are described as "0 to 2**64-1". And every table of docs/results.md that a command shown above it
prints is exactly what that command prints today from the committed records (issue 18: the page claims only
what the records carry)."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.ttn_cli import main as ttn_main
from cli.vmnist_cli import main as vmnist_main
from vmnist.file.format import SEED_RANGE

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS: dict[str, click.Group] = {"ttn": ttn_main, "vmnist": vmnist_main}
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Shell operators that end a command.
OPERATORS = {"&&", "||", "|", ";", "&", ">", ">>", "<", "2>", "2>&1"}
#: The languages of the code blocks holding shell commands (an untagged block included).
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
WIDTH = 80


def commands() -> Iterator[tuple[str, click.Command]]:
    """(e.g. "ttn train", the command) for every command of both programs, the groups themselves first."""
    for prog, group in PROGRAMS.items():
        yield prog, group
        context = click.Context(group, info_name=prog)
        for name in group.list_commands(context):
            yield f"{prog} {name}", group.get_command(context, name)


def shell_lines(text: str) -> list[str]:
    """The lines of `text` with backslash continuations joined and the shell variables it sets expanded: a
    `NAME="value"` line's value, a `for NAME in FIRST ...` loop's first value."""
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    values = {match[1]: " ".join(shlex.split(match[2])) for line in lines
              for match in re.finditer(r"^\s*([A-Za-z_]\w*)=(\"[^\"]*\"|\S*)\s*$", line)}
    values |= {match[1]: match[2] for line in lines for match in re.finditer(r"\bfor (\w+) in (\S+)", line)}

    def expand(line: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda match: values.get(match[1], match[0]), line)

    return [expand(line) for line in lines]


def without_comment(line: str) -> str:
    """`line` without its shell comment: from a '#' that starts a word outside quotes ("# the authors' recipe")."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def program_calls(line: str) -> list[list[str]]:
    """The argv of every ttn / vmnist call in one shell line (after `&&`, `|`, `;`; without its redirections,
    comments and leading VAR=value assignments; a path such as ~/venv/bin/ttn counts as ttn; the brackets of a
    synopsis' optional "[--opt X]" dropped)."""
    line = re.sub(r"\[(-[^\]]*)\]", r"\1", without_comment(line))  # [--opt X] -> --opt X
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: prose, not a command
        return []
    calls, current = [], []
    for token in [*tokens, ";"]:
        if token in OPERATORS:
            while current and re.fullmatch(r"[A-Z_]+=\S*", current[0]):
                current.pop(0)
            if current and Path(current[0]).name in PROGRAMS and not current[0].endswith("/"):  # not a folder
                calls.append([Path(current[0]).name, *current[1:]])
            current = []
            continue
        current.append(token)
    return calls


def code_blocks(markdown: str) -> Iterator[str]:
    """The shell code blocks of a markdown text."""
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL):
        if match[1] in SHELL_BLOCKS:
            yield match[2]


def documented_calls() -> list[tuple[str, list[str]]]:
    """(where, argv) of every ttn / vmnist call in the shell blocks of the README and docs/ (a variable set in
    one block of a document is used in the next)."""
    return [(f"{path.relative_to(ROOT)}: {line.strip()}", call)
            for path in DOCUMENTS for line in shell_lines("\n".join(code_blocks(path.read_text())))
            for call in program_calls(line)]


def help_example_calls() -> list[tuple[str, list[str]]]:
    """(where, argv) of every ttn / vmnist call in a command's help text (its examples)."""
    return [(f"{name} --help: {line.strip()}", call) for name, command in commands()
            for line in shell_lines(command.help or "") for call in program_calls(line.strip())]


def check_parses(argv: list[str]) -> None:
    """Parse `argv` as the CLI would, types and callbacks included, without running the command: a UsageError
    (unknown command or option, bad value) fails the test."""
    prog, *args = argv
    group = PROGRAMS[prog]
    with group.make_context(prog, list(args), resilient_parsing=False) as context:
        rest = [*context._protected_args, *context.args]
        if not rest:
            return
        command = group.get_command(context, rest[0])
        if command is None:
            raise click.UsageError(f"no such command {rest[0]!r}")
        command.make_context(rest[0], rest[1:], parent=context)


def test_the_documents_show_commands() -> None:
    calls = documented_calls()
    shown = {" ".join(call[:2]) for _, call in calls}
    assert len(calls) > 30 and {"ttn train", "ttn sweep", "ttn report", "vmnist generate"} <= shown


@pytest.mark.parametrize(("where", "argv"), documented_calls() + help_example_calls(), ids=lambda v: "")
def test_every_documented_command_parses(where: str, argv: list[str], monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # the documents' commands run in the repository (e.g. --config docs/examples/...)
    try:
        check_parses(argv)
    except click.UsageError as exc:
        pytest.fail(f"{where}\n  {exc.format_message()}")


def test_every_command_with_examples_has_them_in_help() -> None:
    with_examples = {name.split()[1] for where, _ in help_example_calls() for name in [where.split(" --help")[0]]
                     if " " in name}
    assert {"train", "sweep", "reproduce", "report", "compare", "generate", "preview"} <= with_examples


@pytest.mark.parametrize("name", [name for name, _ in commands()])
def test_help_fits_80_columns(name: str, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    prog, *sub = name.split()
    result = CliRunner().invoke(PROGRAMS[prog], [*sub, "--help"], prog_name=prog, terminal_width=WIDTH)
    assert result.exit_code == 0, result.output
    wide = [line for line in result.output.splitlines() if len(line) > WIDTH]
    assert not wide, "\n".join(wide)


def test_every_option_says_what_it_does() -> None:
    silent = [f"{name} {'/'.join(param.opts)}" for name, command in commands() for param in command.params
              if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()]
    assert not silent


def test_seed_range_is_written_as_a_power_of_two() -> None:
    result = CliRunner().invoke(vmnist_main, ["generate", "--help"], terminal_width=WIDTH)
    text = " ".join(result.output.split())  # the range may be wrapped
    assert SEED_RANGE == "0 to 2**64-1" and SEED_RANGE in text and "18446744073709551615" not in text
    error = CliRunner().invoke(vmnist_main, ["generate", "--seed", str(2**64)])
    assert error.exit_code == 2 and f"not in the range {SEED_RANGE}" in error.output


def test_split_options_are_described() -> None:
    splits = {name: param.help for name, command in commands() for param in command.params
              if isinstance(param, click.Option) and "--split" in param.opts}
    assert set(splits) >= {"ttn evaluate", "vmnist preview"} and all(splits.values())


RESULTS = ROOT / "docs" / "results.md"


def is_table_call(argv: list[str]) -> bool:
    """Whether a ttn call prints a markdown table the page shows: `ttn compare` or `ttn report` with --format
    markdown (and nothing written to a file)."""
    return argv[:2] in (["ttn", "compare"], ["ttn", "report"]) and "markdown" in argv and "--out" not in argv


def results_table_commands() -> list[list[str]]:
    """The argv of every command in docs/results.md's shell blocks that prints a markdown table (`is_table_call`)
    and the candidate tables of docs/experiments/candidate_grid.py."""
    lines = shell_lines("\n".join(code_blocks(RESULTS.read_text())))
    compares = [call for line in lines for call in program_calls(line) if is_table_call(call)]
    grids = [shlex.split(without_comment(line))[2:] for line in lines
             if line.strip().startswith("python docs/experiments/candidate_grid.py")]
    return compares + [["candidate_grid", *args] for args in grids]


def test_results_page_shows_its_table_commands() -> None:
    shown = results_table_commands()
    assert sum(argv[0] == "ttn" for argv in shown) >= 5 and any(argv[0] == "candidate_grid" for argv in shown)


@pytest.mark.parametrize("argv", results_table_commands(), ids=lambda argv: " ".join(argv)[:60])
def test_every_results_table_is_what_its_command_prints(argv: list[str], monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # the page's paths are relative to the repository
    if argv[0] == "candidate_grid":
        script = ROOT / "docs" / "experiments" / "candidate_grid.py"
        printed = subprocess.run([sys.executable, str(script), *argv[1:]], capture_output=True, text=True,
                                 check=True).stdout
    else:
        result = CliRunner().invoke(ttn_main, argv[1:], prog_name="ttn")
        assert result.exit_code == 0, result.output
        printed = result.stdout
    table = printed.strip()
    assert table.startswith("|") and table in RESULTS.read_text(), f"docs/results.md does not show what " \
        f"`{' '.join(argv)}` prints now:\n{table}"
