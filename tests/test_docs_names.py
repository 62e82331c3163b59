"""Names in prose are real (issue 28 item 4): every dotted name that starts with `ttn.`, `vmnist.` or `cli.` and
that a reader is pointed to resolves to a module or an attribute today, so a reader who follows it finds it:

- every backticked one in the code (ttn/, vmnist/, cli/, tests/, bench/), the README and the documents of docs/;
- in the code's docstrings and comments, backticked or not (a test docstring's "(ttn.experiment.sampling)" included).

A stale name (a module that was moved or renamed) fails here, naming the file and line."""
from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ttn", "vmnist", "cli")
#: A backticked span that starts with one of the packages and a dot, e.g. `ttn.nn.build_model(arch)`.
BACKTICKED = re.compile(r"`((?:" + "|".join(PACKAGES) + r")\.[^`\s]*)[^`]*`")
#: The dotted name at the head of a span: what follows it (a call's brackets, an index) is left aside.
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
#: A bare dotted name in prose; not part of a path (ttn/cpu/x.py), a file name (tiny.vmnist.h5) or a backticked span.
BARE = re.compile(r"(?<![\w/.`-])(?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def sources() -> list[Path]:
    """The files whose prose is read: the packages' and tests' Python files, the README, every document under docs/."""
    code = sorted(p for folder in (*PACKAGES, "tests", "bench") for p in (ROOT / folder).rglob("*.py"))
    return [*code, ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def backticked_names(text: str) -> Iterator[tuple[int, str]]:
    """(line number, dotted name) for every backticked `ttn.`/`vmnist.`/`cli.` name in text; trailing `()`,
    arguments or punctuation stripped, so `ttn.cpu.in_shards(fn, x, y, shards)` gives ttn.cpu.in_shards."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in BACKTICKED.finditer(line):
            head = DOTTED.match(match.group(1))
            if head:
                yield number, head.group(0)


def prose(source: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of every comment and docstring (module, class, function) of Python source."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                yield first.lineno, first.value.value


def bare_names(source: str) -> Iterator[tuple[int, str]]:
    """(line number, dotted name) for every `ttn.`/`vmnist.`/`cli.` name in the comments and docstrings of
    Python source, backticked or not."""
    for start, text in prose(source):
        for number, line in enumerate(text.splitlines(), start=start):
            for match in BARE.finditer(line):
                yield number, match.group(0)


def names(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, dotted name) for every name that `path` points its reader to."""
    text = path.read_text(encoding="utf-8")
    yield from backticked_names(text)
    if path.suffix == ".py":
        yield from bare_names(text)


def resolves(name: str) -> bool:
    """Whether a dotted name is a module or an attribute reached from one: the longest importable prefix is
    imported, and the rest is followed with getattr (a submodule not imported by its package is imported)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def stale_names() -> list[str]:
    """"path:line: name" for every backticked name in the sources that does not resolve."""
    stale = []
    for path in sources():
        for number, name in sorted(set(names(path))):
            if not resolves(name):
                stale.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    return stale


def test_every_name_in_prose_resolves() -> None:
    assert stale_names() == []


def test_the_sources_hold_names_to_check() -> None:
    """The scan reads something: a regex gone wrong would otherwise pass the test above with nothing found."""
    found = {name for path in sources() for _, name in names(path)}
    assert {"ttn.nn.build_model", "vmnist.VideoMNIST", "ttn.cpu.in_shards", "vmnist.rendering.trajectories.stream"} <= found


@pytest.mark.parametrize("span, name", [
    ("`ttn.nn.build_model(arch)`", "ttn.nn.build_model"),
    ("`ttn.cpu.tune_allocator()`", "ttn.cpu.tune_allocator"),
    ("`vmnist.VideoMNIST(path, split, indices=None)`", "vmnist.VideoMNIST"),
    ("`cli.common.echo`.", "cli.common.echo"),
])
def test_a_span_gives_its_dotted_name(span: str, name: str) -> None:
    assert list(backticked_names(f"see {span} here")) == [(1, name)]


def test_text_outside_backticks_and_other_packages_are_left_aside() -> None:
    assert list(backticked_names("ttn.nn.build_model, `torch.nn.Conv3d`, `ttnx.y`")) == []


def test_bare_names_are_read_from_comments_and_docstrings_only() -> None:
    source = ('"""Module (vmnist.file.shards), see ttn/cpu/x.py."""\n'
              'PATH = "ttn.nn.in_a_string"  # and cli.common.echo in a comment\n'
              'def f():\n    """Calls ttn.nn.build_model; writes tiny.vmnist.h5."""\n')
    assert sorted(bare_names(source)) == [(1, "vmnist.file.shards"), (2, "cli.common.echo"), (4, "ttn.nn.build_model")]


@pytest.mark.parametrize("name", [
    "ttn", "ttn.nn", "ttn.nn.build_model", "ttn.experiment.config.TrainConfig", "vmnist.VideoMNIST",
    "cli.common", "ttn.cpu.runtime",
])
def test_real_names_resolve(name: str) -> None:
    assert resolves(name)


@pytest.mark.parametrize("name", [
    "ttn.no_such_module", "ttn.nn.no_such_function", "ttn.experiment.config.TrainConfig.no_such_field",
    "vmnist.no_such.deeper", "cli.no_such_command",
])
def test_a_stale_name_does_not_resolve(name: str) -> None:
    assert not resolves(name)


def test_a_stale_name_in_a_source_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself, not only the resolver, reports a stale name with its file and line."""
    document = tmp_path / "README.md"
    module = tmp_path / "module.py"
    stale = "ttn." + "layers"  # in pieces, so that this file's own scan does not find them
    document.write_text(f"Intro.\nThe layers live in `{stale}.Conv3dTT`.\n", encoding="utf-8")
    module.write_text(f'"""Tests of {stale}."""\n\nX = 1  # see `ttn.nn.build_model`\n', encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "sources", lambda: [module, document])
    assert stale_names() == [f"module.py:1: {stale}", f"README.md:2: {stale}.Conv3dTT"]
