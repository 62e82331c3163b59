"""What converting a trained LeNet-5-3D to 3DTT keeps (docs/method.md, "3DTT in other networks").

Per run, the 3D model that `ttn train --save-model` wrote is converted by `ttn.convert_model` (3DTT similarity
transforms, K0 = each kernel's first slice, identity transforms) and fine-tuned on the run's own training
videos; the 3DTTN trained from scratch on the same videos is the comparison::

    # 1. both archs on the same runs (same training videos per run), records and models in OUT
    for run in 0 1 2 ...; do for arch in 3d 3dttn; do
      ttn train --data D --arch $arch --videos 50 --run $run --save-model --epochs 40 --channels 6,16 --val-size 300 --out OUT
    done; done
    # 2. convert, fine-tune, test (~1 minute a run on 2 cores at the defaults)
    python bench/exp_convert_finetune.py --data D --results OUT --runs 0-9

Fine-tuning is `ttn train`'s loop (SGD momentum 0.9, batch 20, the CPU routes) for --epochs epochs at each
candidate --lr, scored at its best validation epoch (the run's own validation subset; epoch 0 is the model as
converted). The same for K0 = the mean of the slices (``init="mean_slice"``). Model selection as in the paper:
per init, the lr with the highest mean validation accuracy over the runs is chosen, and only its test
accuracies are computed. Test accuracy takes part in no choice. Also printed: the converted models before any
fine-tuning ("no fine-tuning").
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

import vmnist
from ttn.cpu import shard_count
from ttn.experiment.checkpoint import load_checkpoint
from ttn.experiment.config import make_config
from ttn.experiment.evaluation import accuracy, predict, predict_split
from ttn.experiment.optim import make_optimizer
from ttn.experiment.sampling import val_indices
from ttn.experiment.training import train_epoch
from ttn.nn import convert_model

BATCH = 20


def record(results: Path, arch: str, videos: int, run: int) -> dict[str, Any]:
    """The one result record of (arch, videos, run) in `results`."""
    found = sorted(results.glob(f"{arch}-v{videos}-*-r{run}.json"))
    assert len(found) == 1, f"expected one record of {arch} v{videos} run {run} in {results}, found {found}"
    return json.loads(found[0].read_text())


def val_accuracy(model: nn.Module, videos: torch.Tensor, labels: torch.Tensor) -> float:
    """Accuracy on uint8 videos (N, T, H, W) with [0, 1] input scaling."""
    return accuracy(labels.numpy(), predict(model, videos, "unit"))


def fine_tune(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
              lr: float, epochs: int, seed: int) -> tuple[nn.Module, float, int]:
    """Train `model` in place for `epochs`; returns (model at its best validation epoch, that accuracy, epoch)."""
    config = make_config("default", lr=lr)
    optimizer = make_optimizer(model, lr, config.momentum)
    rng = np.random.default_rng([seed, 2])
    best = (val_accuracy(model, *val), 0, copy.deepcopy(model.state_dict()))  # epoch 0: as converted
    for epoch in range(1, epochs + 1):
        train_epoch(model, optimizer, *train, rng.permutation(len(train[1])), BATCH, config, shard_count(BATCH, "cpu"))
        score = val_accuracy(model, *val)
        if score > best[0]:
            best = (score, epoch, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    return model, best[0], best[1]


Candidate = tuple[str, float]  # (init, lr)


def one_run(data: str, results: Path, videos: int, run: int, candidates: list[Candidate],
            epochs: int) -> tuple[dict[str, Any], dict[Candidate, nn.Module]]:
    """Every validation figure of one run (accuracies in [0, 1]) and the fine-tuned model of each candidate."""
    source, scratch = record(results, "3d", videos, run), record(results, "3dttn", videos, run)
    assert source["train_indices"] == scratch["train_indices"], "both archs must see the same videos"
    assert source["config"]["input_scale"] == "unit", "the fine-tuning loop feeds [0, 1] inputs"
    trained, _ = load_checkpoint(results / f"{source['run_id']}.pt")
    train = vmnist.load_split(data, "train", source["train_indices"])
    config = source["config"]
    val = vmnist.load_split(data, "val", val_indices(len(vmnist.load_labels(data, "val")), config["val_size"],
                                                      config["val_pick"]))
    row: dict[str, Any] = {"run": run, "3d": [source["val_accuracy"], source["test_accuracy"]],
                           "3dttn": [scratch["val_accuracy"], scratch["test_accuracy"]]}
    for init in ("first_slice", "mean_slice"):
        converted, _ = convert_model(trained, init=init)
        row[f"zero_shot_{init}"] = [val_accuracy(converted, *val)]
        if init == "first_slice":
            row[f"zero_shot_{init}"].append(accuracy(*predict_split(converted, data, "test", "unit")))
    models = {}
    for init, lr in candidates:
        converted, _ = convert_model(trained, init=init)
        models[(init, lr)], val_acc, epoch = fine_tune(converted, train, val, lr, epochs, seed=run)
        row[key(init, lr)] = [val_acc, None, epoch]  # test accuracy: only for the chosen candidates
    return row, models


def key(init: str, lr: float) -> str:
    return f"{init}_lr{lr:g}"


def mean_sem(values: list[float]) -> str:
    """"mean ± standard error" in percent (ddof=1)."""
    sem = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{100 * statistics.mean(values):.1f} ± {100 * sem:.1f}"


def choose(rows: list[dict[str, Any]], candidates: list[Candidate], init: str) -> Candidate:
    """The candidate of `init` with the highest mean validation accuracy over the runs."""
    mine = [c for c in candidates if c[0] == init]
    return max(mine, key=lambda c: statistics.mean(row[key(*c)][0] for row in rows))


def summarize(rows: list[dict[str, Any]], candidates: list[Candidate], chosen: list[Candidate]) -> None:
    """The table of docs/method.md: per variant, mean validation and test accuracy over the runs."""
    print(f"\n{len(rows)} runs; mean validation accuracy of each fine-tuning candidate: " + ", ".join(
        f"{key(*c)} {100 * statistics.mean(row[key(*c)][0] for row in rows):.1f}%" for c in candidates))
    print(f"{'model':48s} {'val %':>12s} {'test %':>12s}")
    lines = [("LeNet-5-3D (the source), 40 epochs", "3d"), ("LeNet-5-3DTTN from scratch, 40 epochs", "3dttn")]
    lines += [(f"converted ({init}) + fine-tuned at lr {lr:g}", key(init, lr)) for init, lr in chosen]
    lines += [("converted (first_slice), no fine-tuning", "zero_shot_first_slice"),
              ("converted (mean_slice), no fine-tuning", "zero_shot_mean_slice")]
    for label, name in lines:
        columns = [mean_sem([row[name][i] for row in rows]) if len(rows[0][name]) > i and rows[0][name][i] is not None
                   else "" for i in (0, 1)]
        print(f"{label:48s} {columns[0]:>12s} {columns[1]:>12s}")
    for init, lr in chosen:
        print(f"best fine-tuning epochs ({init}): {[row[key(init, lr)][2] for row in rows]}")
        for other in ("3dttn", "3d"):
            ours, theirs = [row[key(init, lr)][1] for row in rows], [row[other][1] for row in rows]
            p_value = stats.ttest_rel(ours, theirs).pvalue if len(rows) > 1 else float("nan")
            print(f"test: converted ({init}) + fine-tuned - {other}: "
                  f"{100 * (statistics.mean(ours) - statistics.mean(theirs)):+.1f} points, paired t-test p = {p_value:.3f}")


def slice_statistics(results: Path, videos: int, runs: list[int]) -> None:
    """How far the trained 3D kernels are from a temporally constant kernel, per conv, mean over kernels and runs:
    ||W - K0 repeated|| / ||W|| for K0 = the first slice and the mean slice, and the cosine of consecutive slices."""
    for layer in ("conv1", "conv2"):
        first, mean, cosine = [], [], []
        for run in runs:
            model, _ = load_checkpoint(results / f"{record(results, '3d', videos, run)['run_id']}.pt")
            weight = getattr(model, layer).weight.detach()  # (O, I, T, H, W)
            norm = weight.flatten(1).norm(dim=1)  # (O,)
            first.append(((weight - weight[:, :, :1]).flatten(1).norm(dim=1) / norm).mean().item())
            mean.append(((weight - weight.mean(2, keepdim=True)).flatten(1).norm(dim=1) / norm).mean().item())
            slices = weight.transpose(1, 2).flatten(2)  # (O, T, I*H*W)
            cosine.append(torch.cosine_similarity(slices[:, :-1], slices[:, 1:], dim=-1).mean().item())
        print(f"{layer}: relative distance to K0 repeated: first slice {statistics.mean(first):.2f}, mean slice "
              f"{statistics.mean(mean):.2f}; cosine of consecutive slices {statistics.mean(cosine):.2f}")


def parse_runs(text: str) -> list[int]:
    """"0-9" or "0,2,5" -> run indices."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--results", type=Path, required=True, help="folder of the ttn train records and models")
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--runs", default="0-2")
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs")
    parser.add_argument("--lr", default="0.02,0.005", help="candidate fine-tuning learning rates")
    parser.add_argument("--out", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--kernels-only", action="store_true", help="print only how far the 3D kernels are from "
                        "K0 repeated (no fine-tuning)")
    args = parser.parse_args()
    slice_statistics(args.results, args.videos, parse_runs(args.runs))
    if args.kernels_only:
        return
    lrs = [float(lr) for lr in args.lr.split(",")]
    candidates = [(init, lr) for init in ("first_slice", "mean_slice") for lr in lrs]
    torch.manual_seed(0)
    rows, models = [], []
    for run in parse_runs(args.runs):
        row, tuned = one_run(args.data, args.results, args.videos, run, candidates, args.epochs)
        rows.append(row)
        models.append(tuned)
        print(json.dumps(row), flush=True)
    chosen = [choose(rows, candidates, init) for init in ("first_slice", "mean_slice")]
    for row, tuned in zip(rows, models):
        for candidate in chosen:
            row[key(*candidate)][1] = accuracy(*predict_split(tuned[candidate], args.data, "test", "unit"))
    summarize(rows, candidates, chosen)
    if args.out:
        args.out.write_text(json.dumps({"args": vars(args) | {"results": str(args.results), "out": str(args.out)},
                                        "chosen": chosen, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
