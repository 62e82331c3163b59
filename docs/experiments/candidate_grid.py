"""The candidate tables of docs/results.md: every candidate's mean validation accuracy per size (the selected one
in bold), from `ttn report FOLDER --format records` of the committed records.

    python docs/experiments/candidate_grid.py docs/experiments/symmetric-init --where init_scale=1
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

# the ttn beside this Python (a venv's, even when the venv is not activated), else the one on PATH
beside = Path(sys.executable).with_name("ttn")
ttn = str(beside) if beside.exists() else shutil.which("ttn") or sys.exit("candidate_grid.py: no `ttn` found: pip install -e .")
args = [ttn, "report", *sys.argv[1:], "--format", "records"]
rows = [json.loads(line) for line in subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()]
sizes = sorted({row["videos"] for row in rows})
cells: dict[tuple, dict[int, str]] = {}
for row in rows:
    scale = "" if row["init_scale"] == 1 else f" x {row['init_scale']:g}"
    key = (row["arch"], f"{row['conv_init']}{scale}", row["lr"])
    value = f"{row['val_mean']:.3f}"
    cells.setdefault(key, {})[row["videos"]] = f"**{value}**" if row["selected"] else value
print("| arch, init | lr | " + " | ".join(f"{v} videos" for v in sizes) + " |")
print("|---|---:|" + "---:|" * len(sizes))
for (arch, init, lr), values in sorted(cells.items()):
    print(f"| {arch}, {init} | {lr:g} | " + " | ".join(values.get(v, "-") for v in sizes) + " |")
