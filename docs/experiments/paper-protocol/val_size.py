"""Does validating on 300 videos instead of 1,000 move the raced picks? From the runs' own scored models.

The paper preset validates 300 videos (every 10th epoch); the preset it replaced validated 1,000 (every epoch).
A raced sweep keeps the scored model of every selection run (`OUT/RUN_ID.pt`, the best-validation epoch's
weights), so each can be scored again on the 1,000-video subset the old preset validated on
(`ttn.experiment.sampling.val_indices(10000, 1000)`, a seeded sample of the val split), and the racing rule
(`ttn.experiment.racing.decide`: the same survivors and pick rule) applied to those accuracies instead of the
recorded 300-video ones. Printed per cell (arch, size) whose selection runs are all recorded: the pick on 300
videos, the pick on 1,000, the survivors of each, and where the picks differ their 1,000-video margin and what
the move costs on test: the mean test accuracy over the selection runs of each pick (the 300-video pick's from
its records; the 1,000-video pick's runs, never tested by the sweep, scored on the test split here exactly as a
deferred test would, `ttn.experiment.training.score_on_test_split`, without touching their records).

Limit: a run's scored epoch stays the one its 300-video validation chose (the model file holds that epoch
only), so this tests the pick among candidates, not the choice of each run's best epoch. The schedule (every
10th epoch against every 2nd) is tested from the committed 40-epoch grids by val_schedule.py.

The 1,000-video accuracies (and those test accuracies) are cached by run id in val_size.json beside this
script (committed: the models are not); a run already there is not scored again.

    python docs/experiments/paper-protocol/val_size.py --out WORK/paper-protocol --data authors.h5
    python docs/experiments/paper-protocol/val_size.py                 # from the cache only
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "val_size.json"
VAL_SIZE = 1000


def load_cache() -> tuple[dict[str, float], dict[str, float]]:
    """The cached 1,000-video validation accuracies and test accuracies, by run id."""
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}
    return cache.get("accuracy", {}), cache.get("test_accuracy", {})


def save_cache(accuracy: dict[str, float], test: dict[str, float], val_size: int) -> None:
    text = json.dumps({"val_size": val_size, "what": "accuracy of each run's scored model (OUT/RUN_ID.pt) on the "
                       f"{val_size}-video validation subset of ttn.experiment.sampling.val_indices(10000, {val_size}); "
                       "test_accuracy: on the whole test split, for the selection runs of a pick the 1,000 videos "
                       "moved to (never tested by the sweep)",
                       "accuracy": dict(sorted(accuracy.items())), "test_accuracy": dict(sorted(test.items()))}, indent=1)
    from vmnist.infra.atomic import atomic_write_text

    atomic_write_text(CACHE, text + "\n")


def score_models(out: Path, data: Path, run_ids: list[str], accuracy: dict[str, float], test: dict[str, float],
                 val_size: int) -> None:
    """Score each run's saved model on the val subset (cached after each)."""
    import numpy as np
    import torch

    import vmnist
    from ttn.api import load_model
    from ttn.experiment.evaluation import predict
    from ttn.experiment.sampling import val_indices

    torch.set_num_threads(1)
    labels = vmnist.load_labels(data, "val")
    videos, y = vmnist.load_split(data, "val", val_indices(len(labels), val_size))
    todo = [run_id for run_id in run_ids if run_id not in accuracy and (out / f"{run_id}.pt").is_file()]
    for index, run_id in enumerate(todo, 1):
        model, header = load_model(out / f"{run_id}.pt")
        predictions = predict(model, videos, header.input_scale)
        accuracy[run_id] = round(float(np.mean(predictions == y.numpy())), 6)
        save_cache(accuracy, test, val_size)
        print(f"[{index}/{len(todo)}] {run_id}: {accuracy[run_id]:.4f}", flush=True)


def test_models(out: Path, data: Path, records: list[dict], accuracy: dict[str, float], test: dict[str, float],
                val_size: int) -> None:
    """Score each of `records`' saved models on the whole test split, as a deferred test would (cached after each)."""
    import torch

    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.training import checkpoint_path, score_on_test_split

    torch.set_num_threads(1)
    todo = [r for r in records if r["run_id"] not in test and checkpoint_path(out, r["run_id"]).is_file()]
    for index, record in enumerate(todo, 1):
        config = record["config"]
        model, _ = load_checkpoint(checkpoint_path(out, record["run_id"]), config["device"])
        test[record["run_id"]] = score_on_test_split(model, data, config["input_scale"], config["eval_batch_size"]).accuracy
        save_cache(accuracy, test, val_size)
        print(f"[test {index}/{len(todo)}] {record['run_id']}: {test[record['run_id']]:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="the sweep's working folder (records and *.pt models)")
    parser.add_argument("--data", type=Path, help="the Video-MNIST file the runs were trained on")
    parser.add_argument("--records", type=Path, default=HERE, help="the records and race.json [default: here]")
    arguments = parser.parse_args()

    from ttn.experiment.racing import decide, ranked, read_plans
    from ttn.experiment.records import load_records, selection_val_accuracy

    records_folder = arguments.out or arguments.records
    plans = read_plans(records_folder)
    cells: dict[tuple[str, int], dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for record in load_records(records_folder).records:
        if record["videos"] in plans:
            candidate = re.sub(r"-r\d+$", "", record["run_id"])
            cells[(record["arch"], record["videos"])][candidate][record["run"]] = record
    accuracy, test = load_cache()
    scoring = arguments.out is not None and arguments.data is not None
    if scoring:
        wanted = [record["run_id"] for by_candidate in cells.values() for runs in by_candidate.values()
                  for run, record in runs.items() if run in plans[record["videos"]].select_runs]
        score_models(arguments.out, arguments.data, sorted(wanted), accuracy, test, VAL_SIZE)

    moved = decided = 0
    for (arch, videos), by_candidate in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        plan = plans[videos]
        candidates = sorted(by_candidate, key=lambda c: next(iter(by_candidate[c].values()))["config"]["lr"])
        small = {c: {run: selection_val_accuracy(r) for run, r in runs.items()} for c, runs in by_candidate.items()}
        large = {c: {run: accuracy[r["run_id"]] for run, r in runs.items() if r["run_id"] in accuracy}
                 for c, runs in by_candidate.items()}
        pick_small, pick_large = decide(plan, candidates, small), decide(plan, candidates, large)
        if pick_small.winner is None:
            continue
        lr = {c: next(iter(by_candidate[c].values()))["config"]["lr"] for c in candidates}
        if pick_large.winner is None:
            unscored = sorted(lr[c] for c in pick_large.survivors or [] if c not in pick_small.survivors)
            missing = sum(run not in large[c] for c in candidates for run in small[c] if run in plan.select_runs)
            why = (f"its race sends lr {unscored} on instead, whose later selection runs were never trained"
                   if unscored else f"{missing} of its selection runs have no model in --out (it stayed on the "
                   "machine that first trained the run)")
            complete = [c for c in candidates if all(run in large[c] for run in plan.select_runs)]
            best = (f"1000 picks lr {lr[ranked(complete, large, plan.select_runs)[0]]:g}" if complete else "none")
            print(f"{arch:>5} {videos:>4} videos: 300 -> lr {lr[pick_small.winner]:g}, 1000 -> undecided: {why}; "
                  f"survivors {[lr[c] for c in pick_small.survivors]} / {[lr[c] for c in pick_large.survivors or []]}; "
                  f"of the candidates with every selection run scored, {best}")
            continue
        decided += 1
        line = (f"{arch:>5} {videos:>4} videos: 300 -> lr {lr[pick_small.winner]:g}, 1000 -> lr "
                f"{lr[pick_large.winner]:g}; survivors {[lr[c] for c in pick_small.survivors]} / "
                f"{[lr[c] for c in pick_large.survivors]}")
        if pick_small.winner != pick_large.winner:
            moved += 1
            runs = plan.select_runs
            margin = (sum(large[pick_large.winner][r] for r in runs) - sum(large[pick_small.winner][r] for r in runs)) / len(runs)
            line += f"  MOVED (1,000-video margin {100 * margin:.2f} points"
            moved_to = [by_candidate[pick_large.winner][run] for run in runs]
            if scoring:
                test_models(arguments.out, arguments.data, moved_to, accuracy, test, VAL_SIZE)
            kept = [by_candidate[pick_small.winner][run]["test_accuracy"] for run in runs]
            if all(record["run_id"] in test for record in moved_to) and None not in kept:
                mean_kept, mean_moved = sum(kept) / len(runs), sum(test[r["run_id"]] for r in moved_to) / len(runs)
                line += (f"; test over runs {runs[0]}-{runs[-1]}: {mean_kept:.4f} for the 300-video pick, "
                         f"{mean_moved:.4f} for the 1,000-video pick, {100 * (mean_moved - mean_kept):+.2f} points")
            line += ")"
        print(line)
    print(f"{moved} of {decided} decided cells pick another lr on 1,000 validation videos")


if __name__ == "__main__":
    main()
