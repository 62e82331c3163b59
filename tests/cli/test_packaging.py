"""What a user of the packages gets beside the code: type hints marked for type checkers (PEP 561), shell completion
as the README documents it, and a changelog."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


@pytest.mark.parametrize("package", ["ttn", "vmnist"])
def test_packages_ship_a_py_typed_marker(package: str) -> None:
    assert resources.files(package).joinpath("py.typed").is_file()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in data[package]  # installed beside the modules, not only present in the clone


@pytest.mark.parametrize("program", ["ttn", "vmnist"])
def test_shell_completion_works_as_the_readme_says(program: str) -> None:
    readme = (ROOT / "README.md").read_text()
    variable = f"_{program.upper()}_COMPLETE"
    assert f'eval "$({variable}=bash_source {program})"' in readme
    main = {"ttn": "cli.ttn_cli", "vmnist": "cli.vmnist_cli"}[program]
    run = [sys.executable, "-c", f"import sys; sys.argv[0] = {program!r}; from {main} import main; main()"]

    def complete(env: dict[str, str]) -> str:
        result = subprocess.run(run, capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert f"_{program}_completion()" in complete({variable: "bash_source"})
    words = {"ttn": ("ttn rep", "report"), "vmnist": ("vmnist gen", "generate")}[program]
    assert re.search(rf"^plain,{words[1]}$", complete({variable: "bash_complete", "COMP_WORDS": words[0],
                                                        "COMP_CWORD": "1"}), re.M)


def test_the_changelog_is_there_and_linked() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog
    assert "[CHANGELOG.md](CHANGELOG.md)" in (ROOT / "README.md").read_text()
