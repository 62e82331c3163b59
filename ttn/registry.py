"""The names every part of ttn agrees on, and the one check of each: architectures, 3DTT transform kinds,
training-set sizes. Importable without torch, so that the CLI's `--help` stays fast and `click.Choice`
can list them.

The architectures' builders live in `ttn.nn.lenet5.CONV_MAKERS`, keyed by exactly these names.
"""
from __future__ import annotations

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


def check_videos(videos: int) -> int:
    """`videos` if it is a positive multiple of 10 (videos/10 per class); TTNError naming --videos otherwise."""
    if videos < VIDEOS_MULTIPLE or videos % VIDEOS_MULTIPLE:
        raise TTNError(f"--videos {videos}: must be a positive multiple of {VIDEOS_MULTIPLE} (videos/10 per class)")
    return videos
