"""`ttn --help` and every command's --help stay fast (the CLI modules and the registry import no torch or scipy)
and show each command's own help: its usage, its docstring, its options."""
from __future__ import annotations

import importlib
import re
import subprocess
import sys

import click
from click.testing import CliRunner

from cli.ttn_cli import TTN_COMMANDS, main

CHECK = """
import sys
import cli.ttn_cli, ttn.registry, ttn
for name in {modules!r}:
    __import__(name)
heavy = [m for m in ("torch", "scipy.stats", "h5py") if m in sys.modules]
print(",".join(heavy) or "none")
"""


def test_cli_modules_import_no_torch_or_scipy() -> None:
    modules = sorted({target.split(":")[0] for target in TTN_COMMANDS.values()})
    done = subprocess.run([sys.executable, "-c", CHECK.format(modules=modules)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


def test_every_command_shows_its_own_help() -> None:
    """`ttn NAME --help`, through the lazy group, is NAME's own help: its usage line, the first sentence of its
    docstring, and every option it declares; `ttn --help` lists every command."""
    listing = CliRunner().invoke(main, ["--help"], prog_name="ttn").output
    for name, target in TTN_COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        result = CliRunner().invoke(main, [name, "--help"], prog_name="ttn")
        assert result.exit_code == 0, (name, result.output)
        assert result.output.startswith(f"Usage: ttn {name} [OPTIONS]"), result.output
        words = " ".join(result.output.split())  # click rewraps the text to the terminal's width
        assert " ".join(command.help.split("\n\n")[0].split()) in words, name
        options = [param for param in command.params if isinstance(param, click.Option) and not param.hidden]
        assert options, name
        for option in options:
            assert re.search(rf"(^|[ ,/]){re.escape(option.opts[0])}\b", result.output, re.MULTILINE), (name, option.opts)
        assert re.search(rf"^ +{re.escape(name)} ", listing, re.MULTILINE), (name, listing)
