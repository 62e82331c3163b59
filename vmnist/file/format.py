"""The Video-MNIST HDF5 contract: names, versions and the split layout, in one place.

A file holds root attributes (see :data:`REQUIRED_ATTRIBUTES`) and one group per split with
``videos`` uint8 (N, T, H, W), ``labels`` uint8 (N,), ``source_index`` int32 (N,) and
``params`` float32 (N, T, 4). ``complete = True`` is written last.
"""
from __future__ import annotations

from dataclasses import dataclass

FORMAT_NAME = "video-mnist"
FORMAT_VERSION = 1
#: Bump when the same seed would render different pixels (trajectories, renderer, rounding).
GENERATOR_VERSION = "2.0"

SPLITS: tuple[str, ...] = ("train", "val", "test")
FRAME_SIZE = 28
DEFAULT_FRAMES = 30
#: Most frames per video vmnist renders or reads (a video of 1,000 frames is 784 kB; the paper's have 30).
MAX_FRAMES = 1000
DEFAULT_SEED = 0
#: Seeds are stored as an HDF5 integer attribute (at most uint64) and fed to numpy's SeedSequence (no negatives).
SEED_BITS = 64
MAX_SEED = 2**SEED_BITS - 1
#: How seeds' range is written in --help and errors (the maximum's 20 digits would say less).
SEED_RANGE = f"0 to 2**{SEED_BITS}-1"
#: Deflate level of each video chunk (see vmnist.file.deflate): ISA-L level 1 compresses Video-MNIST ~3.6x at
#: ~600 MB/s, smaller and ~4x faster than zlib's level 1.
DEFAULT_COMPRESSION_LEVEL = 1

REQUIRED_ATTRIBUTES = (
    "format",
    "format_version",
    "generator_version",
    "seed",
    "frames",
    "height",
    "width",
    "mnist_sha256",
    "config",
    "complete",
)
SPLIT_DATASETS = ("videos", "labels", "source_index", "params")


@dataclass(frozen=True)
class SplitSource:
    """Where a split's digits come from in MNIST: `mnist_split` ("train" or "test") rows [start, stop)."""

    mnist_split: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


#: As in MNIST and the paper: train = first 50,000 training digits, val = last 10,000, test = the test set.
SPLIT_SOURCES: dict[str, SplitSource] = {
    "train": SplitSource("train", 0, 50_000),
    "val": SplitSource("train", 50_000, 60_000),
    "test": SplitSource("test", 0, 10_000),
}
