"""vmnist by role (issue 28 item 6): each module is in one place, the subpackages import one way, and
tools/vmnist_moves.py (the old -> new map for branches that still import the flat layout) rewrites idempotently."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The subpackages from the ground up: a module may import its own subpackage's and those of lower layers only.
LAYERS = {"infra": 0, "sources": 1, "rendering": 1, "file": 2, "pictures": 3}


def load_tool():
    spec = importlib.util.spec_from_file_location("vmnist_moves", ROOT / "tools" / "vmnist_moves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def subpackage_imports() -> list[tuple[str, str, str]]:
    """(file, its subpackage, an imported vmnist subpackage) for every vmnist import in vmnist/<subpackage>/."""
    found = []
    for package in LAYERS:
        for path in sorted((ROOT / "vmnist" / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                found += [(str(path.relative_to(ROOT)), package, name.split(".")[1])
                          for name in names if name.startswith("vmnist.")]
    return found


def test_subpackages_import_one_way() -> None:
    imports = subpackage_imports()
    assert ("vmnist/file/generator.py", "file", "sources") in imports  # the scan sees imports
    upward = [(path, target) for path, package, target in imports
              if target not in LAYERS or (target != package and LAYERS[target] >= LAYERS[package])]
    assert upward == []


def test_each_module_is_in_one_place() -> None:
    """Every moved module is at its new path and nothing is left at the old one (no compatibility shims)."""
    moves = load_tool().MOVES
    for old, package in moves.items():
        assert not (ROOT / "vmnist" / f"{old}.py").exists() and not (ROOT / "vmnist" / old).exists(), old
        assert importlib.util.find_spec(f"vmnist.{package}.{old}") is not None, old


def test_the_public_names_stay() -> None:
    import vmnist

    # the public name `trajectories`, kept from the flat layout (a getattr, so that the tool leaves it as it is)
    assert getattr(vmnist, "trajectories") is importlib.import_module("vmnist.rendering.trajectories")
    assert vmnist.VideoMNIST.__module__ == "vmnist.file.reader"
    assert {"sources", "rendering", "file", "pictures", "infra", "transforms", "trajectories"} <= set(dir(vmnist))


def test_the_map_rewrites_old_paths_once() -> None:
    tool = load_tool()
    old = "vmnist" + "."  # in pieces, so that running the tool over this file leaves the examples as they are
    text = (f"import {old}mnist as mnist\nfrom {old}mnist_formats import read_npz\n"
            f"from vmnist import reader, writer  # two\nfrom vmnist import transforms as T\n"
            f"monkeypatch.setattr('{old}atomic.os.replace', f)\n"
            f'"""See `{old}trajectories.stream` and vmnist' + "/render.py, tests/vmnist/test_render.py, data.vmnist.h5.\"\"\"\n")
    expected = ("import vmnist.sources.mnist as mnist\nfrom vmnist.sources.mnist_formats import read_npz\n"
                "from vmnist.file import reader, writer  # two\nfrom vmnist import transforms as T\n"
                "monkeypatch.setattr('vmnist.infra.atomic.os.replace', f)\n"
                '"""See `vmnist.rendering.trajectories.stream` and vmnist/rendering/render.py, '
                'tests/vmnist/test_render.py, data.vmnist.h5."""\n')
    assert tool.rewrite(text) == expected
    assert tool.rewrite(expected) == expected
    problems: list[str] = []
    mixed = "from vmnist import " + "generate, reader\n"
    assert tool.rewrite(mixed, "x.py", problems) == mixed and problems == [
        "x.py:1: rewrite by hand (moved modules beside other names): " + mixed.strip()]


def test_the_tree_names_no_old_path() -> None:
    """What the tool would rewrite in this tree: nothing (a new import of an old path fails here too)."""
    files = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, capture_output=True, text=True)
    if files.returncode != 0:
        pytest.skip("not a git checkout")
    tool = load_tool()
    stale = [path for path in files.stdout.split()
             if (ROOT / path).is_file() and path != "tools/vmnist_moves.py"
             and tool.rewrite((ROOT / path).read_text(encoding="utf-8")) != (ROOT / path).read_text(encoding="utf-8")]
    assert stale == []
