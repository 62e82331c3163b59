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


@lru_cache(maxsize=1)
def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else `platform.processor()` or the machine type.

    Recorded because float rounding, and so a chaotic training run's last digits, differ between CPUs: the
    same config and commit gave test accuracy 0.6662 on one machine and 0.6673 on another."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()[:80]
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str | None]:
    """ttn, torch and Python versions, the git commit of the code (see `git_commit`) and the CPU (`cpu_name`)."""
    return {"ttn": ttn.__version__, "torch": str(torch.__version__), "python": platform.python_version(),
            "git": git_commit(), "cpu": cpu_name()}
