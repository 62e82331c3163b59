"""The paper-protocol table recomputed from the record files alone, with numpy and scipy, none of ttn's report code:
a check on `ttn report docs/experiments/paper-protocol` that a reader can read in one screen.

Per (arch, size): the lr with the best mean validation accuracy over the selection runs (`chosen_on`), among
the candidates that have every one of them (in a raced folder only the race's survivors do), a tie going to the
better over the race runs, then to the smaller lr (the race's order); per size, the
paired t-test of the 3DTTN's test accuracy minus the 3D model's over the fresh runs both picks have (the same
training videos). The paper's two summary claims (10-50 videos, and above 100: 500-5000), pooled per run: each
fresh run's gap averaged over the sizes, then the same t-test over the fresh runs every size has.
The runs come from race.json (a size's runs less its selection runs are the fresh ones). A size whose picks have
no fresh runs yet is left out, and so is a claim over it.

    python docs/experiments/paper-protocol/recheck.py [FOLDER]   # default: the records here
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats


def chosen_on(record: dict) -> float:
    """The validation accuracy the pick was made on: a run trained again for its test on another machine (its
    model was not there) keeps its first training's under `retrained_for_test`."""
    return record.get("retrained_for_test", {}).get("val_accuracy", record["val_accuracy"])


def pick_key(by_run: dict[int, dict], select: list[int], race: int, lr: float) -> tuple[float, float, float]:
    """The larger wins: the mean validation accuracy over the selection runs, then over the race runs (the first
    `race` of them), then the smaller lr; means to 10 decimals, so that equal counts of right videos tie."""
    def mean(runs: list[int]) -> float:
        return round(float(np.mean([chosen_on(by_run[r]) for r in runs])), 10)
    return mean(select), mean(select[:race]), -lr


def recheck(folder: Path) -> list[dict]:
    """One dict per size with both picks and fresh runs: videos, the two picks' lrs, pairs, gap, ci, p and
    by_run (fresh run -> its gap)."""
    plans = {int(videos): plan for videos, plan in json.loads((folder / "race.json").read_text()).items()}
    cells: dict[tuple[str, int], dict[float, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for path in folder.glob("*-r*.json"):
        record = json.loads(path.read_text())
        if record.get("complete", True):
            cells[(record["arch"], record["videos"])][record["config"]["lr"]][record["run"]] = record
    rows = []
    for videos in sorted(plans):
        select = plans[videos]["select_runs"]
        fresh = [run for run in plans[videos]["runs"] if run not in select]
        picks = {}
        for arch in ("3d", "3dttn"):
            complete = {lr: by_run for lr, by_run in cells[(arch, videos)].items() if all(r in by_run for r in select)}
            if complete:
                picks[arch] = max(complete, key=lambda lr: pick_key(complete[lr], select, plans[videos]["race"], lr))
        if len(picks) < 2:
            continue
        ours, theirs = cells[("3dttn", videos)][picks["3dttn"]], cells[("3d", videos)][picks["3d"]]
        pairs = [r for r in fresh if r in ours and r in theirs and ours[r]["train_indices"] == theirs[r]["train_indices"]]
        if len(pairs) < 2:
            continue
        by_run = {r: ours[r]["test_accuracy"] - theirs[r]["test_accuracy"] for r in pairs}
        rows.append({"videos": videos, "3d_lr": picks["3d"], "3dttn_lr": picks["3dttn"], "pairs": len(pairs),
                     **t_test(list(by_run.values())), "by_run": by_run})
    return rows


def t_test(gaps: list[float]) -> dict:
    """The mean of `gaps`, its 95% t interval and the one-sample (paired) t-test's p against 0."""
    gaps = np.array(gaps)
    low, high = stats.t.interval(0.95, len(gaps) - 1, loc=gaps.mean(), scale=stats.sem(gaps))
    return {"gap": float(gaps.mean()), "ci": (float(low), float(high)), "p": float(stats.ttest_1samp(gaps, 0.0).pvalue)}


def pooled(rows: list[dict], sizes: list[int]) -> dict:
    """A summary claim over `sizes`: per fresh run that every size pairs, the gap averaged over the sizes, then
    `t_test` over those runs (and pairs: how many)."""
    chosen = [row for row in rows if row["videos"] in sizes]
    assert [row["videos"] for row in chosen] == sorted(sizes), f"sizes without fresh pairs: {sizes}"
    runs = sorted(set.intersection(*(set(row["by_run"]) for row in chosen)))
    return {"pairs": len(runs), **t_test([float(np.mean([row["by_run"][r] for row in chosen])) for r in runs])}


CLAIMS = {"10-50 videos": [10, 20, 30, 40, 50], "above 100 videos": [500, 1000, 2000, 5000]}  # the paper's two


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    rows = recheck(folder)
    print("videos            3d lr      3dttn lr   pairs  3dttn - 3d [95% CI]        p (uncorrected)")
    for row in rows:
        print(f"{row['videos']:>16}  {row['3d_lr']:<9g}  {row['3dttn_lr']:<9g}  {row['pairs']:>5}  "
              f"{row['gap']:+.4f} [{row['ci'][0]:+.4f}, {row['ci'][1]:+.4f}]  {row['p']:.2g}")
    tested = {row["videos"] for row in rows}
    for name, sizes in CLAIMS.items():
        if tested.issuperset(sizes):
            claim = pooled(rows, sizes)
            print(f"{name:>16}  {'pooled':<9}  {'':<9}  {claim['pairs']:>5}  "
                  f"{claim['gap']:+.4f} [{claim['ci'][0]:+.4f}, {claim['ci'][1]:+.4f}]  {claim['p']:.2g}")
