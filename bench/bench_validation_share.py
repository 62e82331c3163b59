"""What validation costs in a run of the paper preset, measured phase by phase in real runs.

    python bench/bench_validation_share.py --data data.h5                  # 10 videos, both archs, ~3-5 min
    python bench/bench_validation_share.py --data data.h5 --videos 100

One run per arch of `--preset paper` at `--videos` (Table 2's model, one torch thread as in a sweep's worker),
for `--epochs` epochs (default 20; the per-epoch costs are what matter) validated only after the last: the
epochs between time the training alone; one validation pass of the preset's 300 videos is timed apart (median of
3), and the record gives the test pass. From these it prints, for a 100-epoch run:

    train      100 x the training time of an epoch
    val        (epochs / val_every) x one validation    for the preset's 300 videos every 10th epoch, and for
                                                        1000 videos every epoch (the previous preset)
    test       the test pass of the 10,000 test videos
    share      val / (train + val + test): the issue's target is <= 1/4 at 10-100 videos
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


def measure(data: str, arch: str, videos: int, epochs: int) -> dict[str, float]:
    """Seconds of one training epoch (median over epochs 2.., none of which validates) and of the test pass."""
    from ttn.experiment.config import make_config
    from ttn.experiment.presets import get_preset
    from ttn.experiment.training import train_run

    preset = get_preset("paper")
    options = preset.values(arch) | {"epochs": epochs, "val_every": epochs, "lr_decay": 1.0}
    options["lr"], options["conv_init"] = options["lr"][1], options["conv_init"][0]
    stamps: list[float] = []
    record = train_run(data, arch, videos, 0, make_config(**options), progress=lambda info: stamps.append(info.elapsed_s)).record
    # epoch 1 also loads the data and the last one validates: the epochs between are training alone
    epoch_s = statistics.median(b - a for a, b in zip(stamps[1:-2], stamps[2:-1]))
    return {"epoch": epoch_s, "test": float(record["test_time_s"])}


def validation_only(data: str, arch: str, videos: int, repeats: int = 3) -> float:
    """Seconds of one validation pass of the preset's subset by the preset's model (median of `repeats`)."""
    import vmnist

    from ttn.experiment.config import channels_for, make_config
    from ttn.experiment.evaluation import predict
    from ttn.experiment.sampling import val_indices
    from ttn.nn import build_model

    config = make_config(val_size=300)
    videos_val, _ = vmnist.load_split(data, "val", val_indices(len(vmnist.load_labels(data, "val")), 300, "random"))
    model = build_model(arch, channels=channels_for(config, arch, videos))
    predict(model, videos_val, "unit")
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict(model, videos_val, "unit")
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--archs", default="3d,3dttn")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a sweep worker's setting
    print(f"paper preset at {args.videos} videos, one torch thread; costs of a 100-epoch run (s)")
    print(f"{'arch':6} {'train':>7} {'val 300/10':>10} {'val 1000/1':>10} {'test':>7} {'share 300/10':>12} {'share 1000/1':>12}")
    for arch in args.archs.split(","):
        measured = measure(args.data, arch, args.videos, args.epochs)
        one_val = validation_only(args.data, arch, args.videos)
        train = 100 * measured["epoch"]
        val_now, val_old = 10 * one_val, 100 * one_val * 1000 / 300
        test = measured["test"]
        print(f"{arch:6} {train:7.1f} {val_now:10.1f} {val_old:10.1f} {test:7.1f} "
              f"{val_now / (train + val_now + test):12.1%} {val_old / (train + val_old + test):12.1%}")


if __name__ == "__main__":
    main()
