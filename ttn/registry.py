"""The names every part of ttn agrees on, the defaults they share and the one check of each: architectures, 3DTT
transform kinds, init rules, channels, temporal kernel, training-set sizes, validation sizes. Importable without torch, so that the CLI's `--help` stays fast and `click.Choice`
can list them.

The architectures' builders live in `ttn.nn.lenet5.CONV_MAKERS`, keyed by exactly these names.
"""
from __future__ import annotations

import math
from typing import Any

from ttn.errors import TTNError

#: The architectures, in display order: LeNet-5 with a 3D, a 3DTT or a (2+1)D convolution (section 3.3).
ARCHS: tuple[str, ...] = ("3d", "3dttn", "2plus1d")
#: Names used in the paper and in tables.
ARCH_LABELS: dict[str, str] = {"3d": "LeNet-5-3D", "3dttn": "LeNet-5-3DTTN", "2plus1d": "LeNet-5-(2+1)D"}
#: The parameterizations of a 3DTT step transform (section 3.1): a free 2x3 matrix, eq. 2's (s, r, tx, ty)
#: per step, or one (s, r, tx, ty) shared by every step.
THETA_KINDS: tuple[str, ...] = ("affine", "similarity", "shared")
#: How 3DTT slices are built: each from the previous one (the paper), or each from K0 by the composed transform.
WARP_KINDS: tuple[str, ...] = ("sequential", "direct")
#: How `Conv3dTT.from_conv3d` starts K0 from an ``nn.Conv3d`` (`ttn.nn.convert`): its slice t = 0, the mean of its
#: slices, or a fresh 3DTT initialization.
CONVERT_INITS: tuple[str, ...] = ("first_slice", "mean_slice", "fresh")
#: torchvision's video ResNets that `ttn convert` builds (Tran et al., 2018), and the release of the `[vision]`
#: extra: torchvision 0.28.0 is the one built against torch 2.13.0.
VIDEO_MODELS: tuple[str, ...] = ("r3d_18", "mc3_18", "r2plus1d_18")
VISION_REQUIREMENT = "torchvision==0.28.0"
#: How to get a torchvision that imports (README, "torchvision"): the extra, from a clone (the project is not on
#: PyPI); PyPI's wheel is built like PyPI's torch, so beside the CPU-only torch on x86_64 Linux it fails to import.
VISION_INSTALL_HINT = (f"in the clone, pip install -e '.[vision]' ({VISION_REQUIREMENT}, built for torch 2.13.0 as "
                       "PyPI ships it); beside a CPU-only torch on x86_64 Linux that build fails to import: use a "
                       "venv with torch 2.14.1 + torchvision 0.29.1 (README, 'torchvision')")
#: The transform statistics of a 3DTT layer in a record, in this order: mean and max over kernels and steps of
#: |rotation| (degrees), |shift| (pixels) and |log scale| (`ttn.nn.transform_stats`).
TRANSFORM_STATS = ("rotation_deg_mean", "rotation_deg_max", "shift_px_mean", "shift_px_max", "log_scale_mean",
                   "log_scale_max")
#: How the conv weights of a model start (`ttn.nn.init`), for every arch: "default" = each layer as its constructor
#: draws it (PyTorch's Kaiming-uniform, a = sqrt(5), for nn.Conv3d; He-normal K0 for a 3DTT layer); "he" =
#: N(0, 2/fan_in) over the full kernel's fan-in (the 3DTT K0 rule); "normal" = N(0, 1) weights, and biases of
#: nn.Conv3d (the authors' code); "tied" = one He-normal 2D slice per output kernel repeated over time (a 3DTTN's
#: start, for any arch). Linear layers always keep PyTorch's init.
INIT_RULES: tuple[str, ...] = ("default", "he", "normal", "tied")
#: The init rule when none is given: the TrainConfig option, `ttn.nn.build_model` and `ttn.nn.initialize` alike.
DEFAULT_INIT = "he"
#: The model defaults when none are given (the paper's largest models): conv channels (C1, C2) when neither the
#: option nor Table 2 gives them, the temporal kernel size, and the 3DTT transform parameterization (eq. 2).
DEFAULT_CHANNELS: tuple[int, int] = (18, 28)
DEFAULT_TEMPORAL_KERNEL = 5
DEFAULT_THETA = "similarity"
#: Rules that draw the same model for an arch: a 3DTT layer's K0 is He-normal and its slices start equal, so
#: for a 3DTTN "default", "he" and "tied" are one rule, named "he" in records and reports.
SAME_INIT: dict[str, dict[str, str]] = {"3dttn": {"default": "he", "tied": "he"}}
#: Classes of Video-MNIST; a run trains on `videos` videos, videos/10 per class, so sizes are multiples of it.
NUM_CLASSES = 10
VIDEOS_MULTIPLE = NUM_CLASSES


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    """`value` if it is one of `choices`; TTNError naming `what` it is and the choices otherwise."""
    if value not in choices:
        raise TTNError(f"unknown {what} {value!r}: choose one of {', '.join(choices)}")
    return value


def check_arch(arch: str) -> str:
    """`arch` if it is a known architecture; TTNError naming the choices otherwise."""
    return check_choice(arch, ARCHS, "architecture")


def check_theta(theta: str) -> str:
    """`theta` if it is a known 3DTT parameterization; TTNError naming the choices otherwise."""
    return check_choice(theta, THETA_KINDS, "theta")


def check_init(rule: str) -> str:
    """`rule` if it is a known init rule (`INIT_RULES`); TTNError naming --conv-init and the choices otherwise."""
    return check_choice(rule, INIT_RULES, "--conv-init")


def check_finite(value: Any, what: str) -> float:
    """`value` if it is a finite number; TTNError naming `what` otherwise (a record holds strict JSON)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TTNError(f"{what} {value!r} is not a finite number")
    return value


def check_positive(value: Any, what: str) -> float:
    """`value` if it is a finite number > 0; TTNError naming `what` otherwise."""
    if check_finite(value, what) <= 0:
        raise TTNError(f"{what} must be positive, got {value}")
    return value


#: Most channels a convolution may have: far above the paper's (Table 2: up to 28), far below what fails to allocate
#: (2**40 channels was an allocation failure, 2**70 a C++ error).
MAX_CHANNELS = 1024


def check_channels(channels: Any, what: str = "--channels") -> tuple[int, int]:
    """`channels` as (C1, C2) if they are two whole numbers from 1 to MAX_CHANNELS; TTNError naming `what` otherwise."""
    if len(channels) != 2 or any(isinstance(c, bool) or int(c) != c or not 1 <= c <= MAX_CHANNELS for c in channels):
        raise TTNError(f"{what} must be two positive numbers C1,C2 of at most {MAX_CHANNELS:,} each, got "
                       f"{','.join(map(str, channels))}")
    return int(channels[0]), int(channels[1])


def check_temporal_kernel(size: Any, what: str = "--temporal-kernel") -> int:
    """`size` if it is a positive odd whole number (a kernel centred on its frame); TTNError naming `what` otherwise."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise TTNError(f"{what} must be a positive odd number, got {size}")
    return size


def canonical_init(arch: str, rule: str) -> str:
    """The name records and reports give the init `rule` of `arch`: the same for rules that draw the same model
    (`SAME_INIT`), e.g. ("3dttn", "default") -> "he", ("3d", "default") -> "default"."""
    return SAME_INIT.get(arch, {}).get(rule, rule)


#: The --val-size that means the whole val split (`val_count`).
WHOLE_VAL_SPLIT = 0


def check_val_size(val_size: Any, what: str = "--val-size") -> int:
    """`val_size` if it is a validation subset size, >= 0 (WHOLE_VAL_SPLIT: the whole split); TTNError naming `what`
    otherwise. Whether a data file's val split holds that many is `ttn.experiment.sampling.check_val_fits`."""
    if val_size < WHOLE_VAL_SPLIT:
        raise TTNError(f"{what} must be >= 0 ({WHOLE_VAL_SPLIT} = the whole val split), got {val_size}")
    return val_size


def val_count(val_size: int, split_size: int) -> int:
    """How many videos of a val split of `split_size` a run validates on: `val_size`, or all for WHOLE_VAL_SPLIT."""
    return split_size if val_size == WHOLE_VAL_SPLIT else val_size


def check_videos(videos: int) -> int:
    """`videos` if it is a positive multiple of 10 (videos/10 per class); TTNError naming --videos otherwise."""
    if videos < VIDEOS_MULTIPLE or videos % VIDEOS_MULTIPLE:
        raise TTNError(f"--videos {videos}: must be a positive multiple of {VIDEOS_MULTIPLE} (videos/10 per class)")
    return videos


def check_device(device: str) -> str:
    """`device` if torch can run on it here (e.g. "cpu", "cuda", "cuda:1"); TTNError naming --device and the fix.

    Imports torch (only when called)."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise TTNError(f"--device {device!r} is not a torch device: use cpu or cuda (cuda:N for a given GPU)") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise TTNError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise TTNError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif parsed.type != "cpu":
        raise TTNError(f"--device {device}: ttn runs on cpu or cuda, not {parsed.type}")
    return device


#: The largest run index a range or `ttn train --run` may name (it keeps "0-10**9" from allocating).
MAX_RUN_INDEX = 1_000_000


def parse_runs(text: str) -> frozenset[int]:
    """Run indices "0-9", "10-29" or "0-4,7" as a set; TTNError saying the expected form otherwise (the
    inverse of `ttn.report.tables.format_runs`)."""
    runs: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        low, dash, high = item.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise TTNError(f"expected run indices like 0-9 or 0-4,7, got {text!r}") from None
        if not 0 <= first <= last <= MAX_RUN_INDEX:
            raise TTNError(f"{item!r}: a range FIRST-LAST needs 0 <= FIRST <= LAST <= {MAX_RUN_INDEX:,}")
        runs.update(range(first, last + 1))
    return frozenset(runs)
