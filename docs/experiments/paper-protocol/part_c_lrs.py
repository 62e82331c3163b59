"""The two lrs per arch that part c (2000 and 5000 videos) races: the survivors of the 1000-video race.

Fixed before part b ran (README, "Parts b and c"): per arch, the top 2 of the 4 lrs by mean validation accuracy
over runs 0-1 at 1000 videos (`ttn.experiment.racing.decide`, the rule the sweep itself applies). Prints one
line per arch, `ARCH A,B`, or says which arch's 1000-video race is not finished.

    python docs/experiments/paper-protocol/part_c_lrs.py [FOLDER]     # default: the records here
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from ttn.experiment.racing import decide, read_plans
from ttn.experiment.records import load_records

SIZE = 1000


def survivors(folder: Path) -> dict[str, list[float] | None]:
    """Per arch, the lrs of the 1000-video race's survivors (smallest first), None while the race is running."""
    plan = read_plans(folder).get(SIZE)
    val: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    lrs: dict[str, float] = {}
    for record in load_records(folder).records:
        if record["videos"] == SIZE:
            candidate = re.sub(r"-r\d+$", "", record["run_id"])
            val[record["arch"]][candidate][record["run"]] = record["val_accuracy"]
            lrs[candidate] = record["config"]["lr"]
    found: dict[str, list[float] | None] = {}
    for arch in ("3d", "3dttn"):
        candidates = sorted(val.get(arch, {}), key=lrs.__getitem__)
        decision = decide(plan, candidates, val[arch]) if plan and len(candidates) == 4 else None
        found[arch] = None if decision is None or decision.survivors is None else sorted(
            lrs[c] for c in decision.survivors)
    return found


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for arch, chosen in survivors(folder).items():
        print(f"{arch} {','.join(f'{lr:g}' for lr in chosen)}" if chosen else
              f"{arch}: the 1000-video race of its 4 lrs is not finished in {folder}")
