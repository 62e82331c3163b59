"""The two lrs per arch that part c (2000 and 5000 videos) races: the survivors of the 1000-video race.

Fixed before part b ran (README, "Parts b and c"): per arch, the top 2 of the 4 lrs by mean validation accuracy
over runs 0-1 at 1000 videos (`ttn.experiment.racing.decide`, the rule the sweep itself applies), among the 4
lrs of the preset's grid (an lr an edge pick made race later is not one of them). Prints one line per arch,
`ARCH A,B`, or says which arch's 1000-video race is not finished; with --lr-option, the `ttn sweep --lr` value
that gives both archs theirs in one sweep (`3d=A,B;3dttn=C,D`), or nothing and exit 1 while a race is not finished.

    python docs/experiments/paper-protocol/part_c_lrs.py [FOLDER] [--lr-option]   # default: the records here
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from ttn.experiment.presets import LRS
from ttn.experiment.racing import decide, read_plans
from ttn.experiment.records import load_records, selection_val_accuracy

SIZE = 1000


def survivors(folder: Path) -> dict[str, list[float] | None]:
    """Per arch, the lrs of the 1000-video race's survivors (smallest first), None while the race is running."""
    plan = read_plans(folder).get(SIZE)
    val: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    lrs: dict[str, float] = {}
    for record in load_records(folder).records:
        if record["videos"] == SIZE and record["config"]["lr"] in LRS[record["arch"]]:
            candidate = re.sub(r"-r\d+$", "", record["run_id"])
            val[record["arch"]][candidate][record["run"]] = selection_val_accuracy(record)
            lrs[candidate] = record["config"]["lr"]
    found: dict[str, list[float] | None] = {}
    for arch in ("3d", "3dttn"):
        candidates = sorted(val.get(arch, {}), key=lrs.__getitem__)
        decision = decide(plan, candidates, val[arch]) if plan and len(candidates) == 4 else None
        found[arch] = None if decision is None or decision.survivors is None else sorted(
            lrs[c] for c in decision.survivors)
    return found


def lr_option(found: dict[str, list[float] | None]) -> str | None:
    """`ttn sweep --lr`'s per-arch value for the survivors, e.g. "3d=0.005,0.01;3dttn=0.00125,0.0025"; None while
    an arch's race is not finished."""
    if any(chosen is None for chosen in found.values()):
        return None
    return ";".join(f"{arch}={','.join(f'{lr:g}' for lr in chosen)}" for arch, chosen in found.items())


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--lr-option"]
    folder = Path(arguments[0]) if arguments else Path(__file__).resolve().parent
    found = survivors(folder)
    if "--lr-option" in sys.argv[1:]:
        value = lr_option(found)
        if value is None:
            sys.exit(f"the 1000-video race of 4 lrs is not finished in {folder} for "
                     f"{', '.join(arch for arch, chosen in found.items() if chosen is None)}")
        print(value)
        sys.exit(0)
    for arch, chosen in found.items():
        print(f"{arch} {','.join(f'{lr:g}' for lr in chosen)}" if chosen else
              f"{arch}: the 1000-video race of its 4 lrs is not finished in {folder}")
