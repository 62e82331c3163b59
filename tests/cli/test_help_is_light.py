"""`ttn --help` and every command's --help stay fast: the CLI modules and the registry import no torch or scipy."""
from __future__ import annotations

import subprocess
import sys

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


def test_every_command_has_help() -> None:
    for name in TTN_COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200, name
