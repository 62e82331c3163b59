"""Claims (ttn.experiment.claims): a run's lock file is removed by its holder however the block ends, and a lock
file that no live process holds is cleared; one held by a live process is never touched."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ttn.experiment.claims import claim, claim_path, clear_stale

HOLD = "import sys\nfrom ttn.experiment.claims import claim\nwith claim(sys.argv[1], sys.argv[2]) as c:\n" \
       "    print(c, flush=True)\n    sys.stdin.read()\n"


def test_the_holder_removes_its_lock_file_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), claim(tmp_path, "r0") as claimed:
        assert claimed and claim_path(tmp_path, "r0").exists()
        raise KeyboardInterrupt  # Ctrl-C while training: no stale lock file
    assert not claim_path(tmp_path, "r0").exists()


def test_clear_stale_removes_only_unheld_locks(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "held"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        claim_path(tmp_path, "stale").write_text("12345 a killed worker\n")
        clear_stale(tmp_path, ["held", "stale", "never-claimed"])
        assert claim_path(tmp_path, "held").exists() and not claim_path(tmp_path, "stale").exists()
        assert not claim_path(tmp_path, "never-claimed").exists()
        with claim(tmp_path, "held") as claimed:
            assert not claimed  # still held by the live process
    finally:
        holder.communicate("", timeout=60)
    assert not claim_path(tmp_path, "held").exists()
