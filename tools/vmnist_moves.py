"""Rewrite the old flat `vmnist` module paths to the subpackages of issue 28 item 6, in the files given.

    python tools/vmnist_moves.py FILE...          # rewrite in place, print each file it changed
    python tools/vmnist_moves.py --check FILE...  # change nothing; exit 1 if a file still names an old path

`vmnist/` used to hold ~30 modules side by side; it is now laid out by role (`MOVES` below is the whole map). A
branch that still imports the old paths is fixed after merging by running this over its files, e.g.
``git ls-files -z '*.py' '*.md' | xargs -0 python tools/vmnist_moves.py``. Rewritten are dotted module names
anywhere in a file (imports, monkeypatch targets, docstrings, backticked names: ``vmnist.reader`` ->
``vmnist.file.reader``), file paths (``vmnist/reader.py`` -> ``vmnist/file/reader.py``), and
``from vmnist import reader`` (-> ``from vmnist.file import reader``). A ``from vmnist import ...`` that mixes
moved modules with other names cannot be rewritten in place: it is reported on standard error, to do by hand.
Running it twice changes nothing the second time: no new path starts with an old one.

One public name of the flat layout stays: ``vmnist.trajectories`` as an attribute of the package (`vmnist/__init__.py`
maps it to its new home). It is rewritten too, to where it lives; code that reached it after a bare ``import vmnist``
then wants ``import vmnist.rendering.trajectories`` (none in this tree did).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: old module (relative to vmnist) -> its subpackage today. Modules not named here did not move
#: (vmnist.testing, vmnist.transforms; the public names of vmnist/__init__.py).
MOVES = {
    # the infrastructure that ttn borrows too
    "errors": "infra", "atomic": "infra", "files": "infra", "processes": "infra", "lazy": "infra",
    # the MNIST digits: where they come from and how they are decoded
    "digits": "sources", "idx": "sources", "safe_pickle": "sources", "mnist_formats": "sources",
    "mnist_download": "sources", "mnist": "sources",
    # motion and frames (pure numpy / torch)
    "trajectories": "rendering", "prefilter": "rendering", "render": "rendering",
    # the Video-MNIST file: its contract, making, reading and checking
    "format": "file", "attributes": "file", "contents": "file", "shards": "file", "deflate": "file",
    "writer": "file", "reader": "file", "info": "file", "generator": "file", "verify": "file",
    # pictures
    "figures": "pictures", "preview": "pictures",
}
_OLD = "|".join(sorted(MOVES, key=len, reverse=True))
#: vmnist.<old> as a whole dotted name (not tiny.vmnist.h5, not vmnist.mnist_formats for vmnist.mnist).
DOTTED = re.compile(rf"(?<![\w.])vmnist\.({_OLD})(?![\w])")
#: vmnist/<old>.py or vmnist/<old>/ as a path of this repository (not tests/vmnist/...).
PATH = re.compile(rf"(?<![\w./-])vmnist/({_OLD})(?=\.py\b|/)")
#: from vmnist import a, b as c  (one line; a parenthesized list is matched up to its closing bracket).
FROM_PACKAGE = re.compile(r"^(?P<indent>[ \t]*)from vmnist import (?P<names>\([^)]*\)|[^\n#]*?)(?P<tail>[ \t]*(#[^\n]*)?)$",
                          re.MULTILINE)


def _from_package(match: re.Match[str], where: str, problems: list[str]) -> str:
    """``from vmnist import <moved modules>`` -> ``from vmnist.<subpackage> import ...``; left as it is (and
    reported) when it mixes moved modules with other names or with modules of another subpackage."""
    names = [part.strip() for part in match["names"].strip("()").split(",") if part.strip()]
    moved = {MOVES.get(name.split()[0]) for name in names}
    if moved == {None}:
        return match[0]
    if len(moved) == 1:
        (package,) = moved
        return f"{match['indent']}from vmnist.{package} import {match['names']}{match['tail']}"
    line = match.string.count("\n", 0, match.start()) + 1
    problems.append(f"{where}:{line}: rewrite by hand (moved modules beside other names): {match[0].strip()}")
    return match[0]


def rewrite(text: str, where: str = "<text>", problems: list[str] | None = None) -> str:
    """`text` with every old vmnist module path replaced by its new one (see the module docstring)."""
    problems = [] if problems is None else problems
    text = DOTTED.sub(lambda m: f"vmnist.{MOVES[m[1]]}.{m[1]}", text)
    text = PATH.sub(lambda m: f"vmnist/{MOVES[m[1]]}/{m[1]}", text)
    return FROM_PACKAGE.sub(lambda m: _from_package(m, where, problems), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    problems: list[str] = []
    changed = []
    for path in args.files:
        if path.resolve() == Path(__file__).resolve():  # its own docstring names the old paths on purpose
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        new = rewrite(text, str(path), problems)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(f"{'would rewrite' if args.check else 'rewrote'} {path}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
