"""Does validating every 10th epoch instead of every 2nd move the validation-selected candidates?

From the committed result records only (no training): the folders whose runs scored their best validation epoch
(config.score == "best") and validated every 2nd epoch (config.val_every == 2) -- symmetric-init,
selected-authors, selected-smooth, high-data, quick; runs 0-9 (quick has 0-2); recipe "authors" excluded.

A run's score under a schedule "every k-th epoch" is the best validation accuracy over the epochs that are
multiples of k, plus the last epoch (what `fit` validates with --val-every k). k = 2 is the recorded schedule
(its best = the record's val_accuracy, checked); every coarser k read here (4, 6, 8, 10, 20, 40 = the last epoch
only) validates a subset of the even epochs, so its accuracies are in each record's history. (Every 5th is not
readable: odd epochs were never validated; every 6th stands in for it.)

Selection mirrors `ttn report` (ttn/report/selection.py), reimplemented with json/numpy only: candidates = the
records' configs without "device" and "eval_batch_size", upgraded as `ttn.experiment.records.upgraded` does
(init_scale 1.0 where absent; a 3DTTN's "default"/"tied" init is "he": the same draws); per cell, the candidate
with the highest mean score over the runs all its candidates share; ties (equal means to 10 decimals, as ttn
compares them): the first in ttn's order of configs (within a family: the smallest lr). Two ways of cutting cells:

  per family (the main result): (folder, arch, videos, conv_init, init_scale, freeze_transforms,
      transform_lr_scale) -- the lr is selected, as the docs' `--where` filters split a folder (one exception:
      selected-authors' `--where transform_lr_scale=10,100` selects the scale with the lr; here 10 and 100 are
      separate families);
  per cell: (folder, arch, videos) -- every config in it competes (init rules, frozen transforms... too).
The every-2nd picks agree with `ttn report FOLDER --select-runs 0-9 [--where ...]` in all 83 cells (checked once,
not here). symmetric-init's He 3D grid is a copy of selected-authors' records: its cells are marked "(copy)" and
counted once in the totals.

Printed per folder and schedule: cells (with >= 2 candidates), cells whose pick changes, and over the changed
cells the validation margins and the test regret = mean test accuracy of the every-2nd pick minus that of the
coarse pick over the shared runs (> 0: the coarse schedule picks worse on test).

Limits:
  * The test accuracies are the records' own: those of the every-2nd-epoch best epoch of each run. A coarse
    schedule would test its own best epoch; the regret therefore compares candidates, each at its every-2nd
    best epoch ("ep=" says in what fraction of the picks' runs the coarse best epoch is that same epoch, where
    the coarse test accuracy is then known exactly).
  * The lr decays every 10th epoch when the best validation accuracy did not improve since the last check
    (ttn.experiment.optim.PlateauDecay), so another validation schedule can change a run's lr and so its
    whole trajectory after epoch 20. "traj=" is the fraction of the cells' runs whose decay decisions (simulated
    from the history, the recorded ones reproduced for k = 2) are the same under the coarse schedule: for those
    runs the counterfactual read from the history is exact (validation consumes no randomness).
  * It cannot test the validation SIZE: every one of these records validated the same 300 videos.
  * 10 runs per candidate (3 in quick): a changed pick is mostly a near-tie flipping, see the margins.

    python docs/experiments/paper-protocol/val_schedule.py        # from the repository root, a few seconds
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # docs/experiments
FOLDERS = ["selected-authors", "selected-smooth", "symmetric-init", "high-data", "quick"]  # oldest first
RUNS = set(range(10))
FULL = 2  # the recorded schedule
SCHEDULES = [4, 6, 8, 10, 20, 40]  # every k-th epoch plus the last; 40 = the last epoch only
MAIN = 10
NOT_IDENTITY = ("device", "eval_batch_size")  # ttn.experiment.config.NOT_IDENTITY
ADDED_FIELDS = {"init_scale": 1.0}  # ttn.experiment.config.ADDED_FIELDS
SAME_INIT = {"3dttn": {"default": "he", "tied": "he"}}  # ttn.registry.SAME_INIT
FAMILY = ("conv_init", "init_scale", "freeze_transforms", "transform_lr_scale")
MEAN_DECIMALS = 10  # ttn.experiment.racing.MEAN_DECIMALS: equal means are a tie


def upgraded_config(arch: str, config: dict) -> dict:
    config = ADDED_FIELDS | config
    config["conv_init"] = SAME_INIT.get(arch, {}).get(config["conv_init"], config["conv_init"])
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k not in NOT_IDENTITY}


def spell(value) -> str:  # ttn.report.selection.format_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "x".join(spell(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def order_key(config: dict) -> list:  # ttn's order of candidates: by every option, numbers by value
    return [(0, float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, spell(v))
            for _, v in sorted(config.items())]


def validated(history: list, k: int) -> dict[int, float]:
    """epoch -> validation accuracy of the epochs that schedule k validates (multiples of k, and the last)."""
    last = history[-1]["epoch"]
    out = {h["epoch"]: h["val_accuracy"] for h in history if h["epoch"] % k == 0 or h["epoch"] == last}
    assert all(v is not None for v in out.values()), "an epoch of the schedule was not validated"
    return out


def best(vals: dict[int, float]) -> tuple[int, float]:
    """(epoch, accuracy) that `Scores` keeps: the first epoch of the highest accuracy."""
    epoch = min(vals, key=lambda e: (-vals[e], e))
    return epoch, vals[epoch]


def decays(vals: dict[int, float], every: int, epochs: int) -> tuple[bool, ...]:
    """PlateauDecay's decisions after epochs every, 2*every, ... < epochs given the validated accuracies."""
    out, best_so_far, at_last_check = [], -1.0, -float("inf")
    for epoch in range(1, epochs):
        if epoch in vals:
            best_so_far = max(best_so_far, vals[epoch])
        if epoch % every == 0:
            out.append(not best_so_far > at_last_check)
            at_last_check = best_so_far
    return tuple(out)


def load(folder: str) -> list[dict]:
    runs = []
    for path in sorted((ROOT / folder).glob("*.json")):
        record = json.loads(path.read_text())
        raw = record["config"]
        if raw.get("score") != "best" or raw.get("val_every") != FULL or raw.get("recipe") == "authors":
            continue
        if record["run"] not in RUNS:
            continue
        config, history = upgraded_config(record["arch"], raw), record["history"]
        full = validated(history, FULL)
        epoch, val = best(full)
        assert abs(val - record["val_accuracy"]) < 1e-12 and epoch == record["scored_epoch"], path
        every, epochs, factor = raw["decay_every"], raw["epochs"], raw["lr_decay"]
        actual = decays(full, every, len(history))
        lrs = [h["lr"] for h in history]  # the recorded lr reproduces the simulated decisions
        recorded = tuple(abs(lrs[e] - lrs[e - 1] * factor) < 1e-12 * lrs[0] for e in range(every, epochs, every))
        assert factor == 1.0 or recorded == actual, path
        run = {"folder": folder, "arch": record["arch"], "videos": record["videos"], "run": record["run"],
               "config": config, "test": record["test_accuracy"], "score": {FULL: val}, "epoch": {FULL: epoch},
               "traj": {}}
        for k in SCHEDULES:
            vals = validated(history, k)
            run["epoch"][k], run["score"][k] = best(vals)
            run["traj"][k] = factor == 1.0 or decays(vals, every, len(history)) == actual
        runs.append(run)
    return runs


def cells(runs: list[dict], per_family: bool) -> dict[tuple, dict[tuple, dict[int, dict]]]:
    """cell key -> candidate (config items) -> run index -> run."""
    out: dict[tuple, dict[tuple, dict[int, dict]]] = {}
    for run in runs:
        key = (run["folder"], run["arch"], run["videos"])
        if per_family:
            key += tuple(run["config"][f] for f in FAMILY)
        candidate = tuple(sorted(run["config"].items()))
        assert run["run"] not in out.setdefault(key, {}).setdefault(candidate, {}), "duplicate run"
        out[key][candidate][run["run"]] = run
    return out


def pick(candidates: list[tuple], runs: dict[tuple, dict[int, dict]], shared: list[int], k: int) -> int:
    means = [round(math.fsum(runs[c][r]["score"][k] for r in shared) / len(shared), MEAN_DECIMALS) for c in candidates]
    return means.index(max(means))  # the first of the best: candidates are in ttn's order


def analyse(runs: list[dict], per_family: bool) -> dict[tuple, dict[int, dict]]:
    """cell -> schedule -> outcome (only cells with >= 2 candidates)."""
    result = {}
    for key, by_candidate in cells(runs, per_family).items():
        candidates = sorted(by_candidate, key=lambda c: order_key(dict(c)))
        if len(candidates) < 2:
            continue
        shared = sorted(set.intersection(*(set(by_candidate[c]) for c in candidates)))
        assert shared, key
        full = pick(candidates, by_candidate, shared, FULL)
        result[key] = {}
        for k in SCHEDULES:
            coarse = pick(candidates, by_candidate, shared, k)
            a, b = by_candidate[candidates[full]], by_candidate[candidates[coarse]]
            mean = lambda rs, f: float(np.mean([f(rs[r]) for r in shared]))  # noqa: E731
            result[key][k] = {
                "changed": full != coarse,
                "full": dict(candidates[full]), "coarse": dict(candidates[coarse]),
                "margin_full": mean(a, lambda r: r["score"][FULL]) - mean(b, lambda r: r["score"][FULL]),
                "margin_k": mean(b, lambda r: r["score"][k]) - mean(a, lambda r: r["score"][k]),
                "regret": mean(a, lambda r: r["test"]) - mean(b, lambda r: r["test"]),
                "traj": [r["traj"][k] for c in candidates for r in (by_candidate[c][i] for i in shared)],
                "same_epoch": [r["epoch"][k] == r["epoch"][FULL] for rs in (a, b) for r in (rs[i] for i in shared)],
                "runs": len(shared),
            }
    return result


def pp(x):
    """Accuracy (fraction) -> points, exact ties (float noise) as 0."""
    x = 100 * np.asarray(x, dtype=float)
    return np.where(np.abs(x) < 1e-9, 0.0, x)


def duplicate_cells(runs: list[dict], per_family: bool) -> set[tuple]:
    """Cells whose records all repeat those of a cell listed before (symmetric-init's He 3D grid is a copy of
    selected-authors'), to count once in the totals."""
    seen, copies = set(), set()
    for key, by_candidate in sorted(cells(runs, per_family).items(), key=lambda kv: FOLDERS.index(kv[0][0])):
        content = frozenset((c, r, run["test"], run["score"][FULL], run["arch"], run["videos"])
                            for c, rs in by_candidate.items() for r, run in rs.items())
        if content in seen:
            copies.add(key)
        seen.add(content)
    return copies


def summary_row(label: str, outcomes: list[dict]) -> str:
    changed = [o for o in outcomes if o["changed"]]
    traj = np.mean([t for o in outcomes for t in o["traj"]]) if outcomes else float("nan")
    same = np.mean([s for o in outcomes for s in o["same_epoch"]]) if outcomes else float("nan")
    row = f"  {label:<9} {len(outcomes):>5} {len(changed):>4}"
    if changed:
        mf, mk, rg = (pp([o[f] for o in changed]) for f in ("margin_full", "margin_k", "regret"))
        row += (f"  {mf.mean():5.2f} (max {mf.max():4.2f})  {mk.mean():5.2f}  "
                f"{rg.mean():+6.2f} [{rg.min():+5.2f}, {rg.max():+5.2f}]  {rg.sum():+6.2f}")
    else:
        row += f"  {'-':>16}  {'-':>5}  {'-':>22}  {'-':>6}"
    return row + f"   {100 * traj:4.0f}%  {100 * same:4.0f}%"


HEADER = ("  schedule  cells  chg  dval@2 (max)      dval@k  regret mean [min, max]   sum     traj=   ep=\n"
          "  (pp: accuracy points; dval@2 = full-schedule margin of its pick over the coarse pick, dval@k = the\n"
          "   coarse margin the other way; regret = test(every-2nd pick) - test(coarse pick), records' test acc.;\n"
          "   traj= runs whose lr decays stay the same (history exact); ep= picks' runs whose coarse best epoch\n"
          "   is the recorded one (coarse test accuracy known))")


def label(key: tuple, per_family: bool) -> str:
    folder, arch, videos = key[:3]
    text = f"{folder} {arch} v{videos}"
    if per_family:
        fam = dict(zip(FAMILY, key[3:]))
        text += f" init {fam['conv_init']}" + (f" x{fam['init_scale']:.3g}" if fam["init_scale"] != 1.0 else "")
        if arch == "3dttn":
            text += (" frozen" if fam["freeze_transforms"] else "") + (
                f" tls{fam['transform_lr_scale']:g}" if fam["transform_lr_scale"] != 1.0 else "")
    return text


def candidate_label(config: dict, other: dict) -> str:
    """The lr and whatever else differs from `other` (the other pick)."""
    keys = ["lr"] + [k for k in sorted(config) if k != "lr" and spell(config[k]) != spell(other[k])]
    return ", ".join(f"{k} {spell(config[k])}" for k in keys)


def main() -> None:
    runs = [run for folder in FOLDERS for run in load(folder)]
    print(f"{len(runs)} records (runs 0-9, score best, val_every 2, not recipe authors) from {', '.join(FOLDERS)}; "
          "all validated 300 videos, 40 epochs")
    for per_family in (True, False):
        result = analyse(runs, per_family)
        title = "PER FAMILY (lr selected within init/frozen/tls; main result)" if per_family else \
            "PER CELL (folder, arch, videos: every config competes)"
        print(f"\n=== {title}")
        print(HEADER)
        for folder in FOLDERS:
            keys = [key for key in result if key[0] == folder]
            print(f" {folder}")
            for k in SCHEDULES:
                print(summary_row(f"every {k}" if k < 40 else "last only", [result[key][k] for key in keys]))
        copies = duplicate_cells(runs, per_family)
        print(f" TOTAL ({len(copies)} cells that are copies of an earlier folder's counted once)")
        for k in SCHEDULES:
            print(summary_row(f"every {k}" if k < 40 else "last only",
                              [result[key][k] for key in result if key not in copies]))
        print(f" cells whose pick changes at every {MAIN}th epoch:")
        for key, outcome in result.items():
            o = outcome[MAIN]
            if o["changed"]:
                copy = "  (copy)" if key in copies else ""
                print(f"   {label(key, per_family):<36} {candidate_label(o['full'], o['coarse']):>17} -> "
                      f"{candidate_label(o['coarse'], o['full']):<17} dval@2 {pp(o['margin_full']):4.2f} "
                      f"dval@{MAIN} {pp(o['margin_k']):4.2f} regret {100 * o['regret']:+5.2f} pp "
                      f"(n={o['runs']}){copy}")


if __name__ == "__main__":
    main()
