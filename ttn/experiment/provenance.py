"""What produced a result: package versions and, in a git checkout, the commit of the code."""
from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import torch

import ttn


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the ttn source tree ("<sha>", or "<sha>-dirty" with uncommitted changes to the code: ttn/, vmnist/, cli/),
    or None outside a git checkout (an installed wheel) or without git."""
    source = Path(ttn.__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no", "--", ":/ttn", ":/vmnist", ":/cli"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def versions() -> dict[str, str | None]:
    """ttn, torch and Python versions, and the git commit of the code (see `git_commit`)."""
    return {"ttn": ttn.__version__, "torch": str(torch.__version__), "python": platform.python_version(),
            "git": git_commit()}
