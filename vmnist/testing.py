"""Helpers for unit tests: small synthetic data in the real formats. Never use these for experiments."""
from __future__ import annotations

import numpy as np

from vmnist.mnist import IMAGE_SIZE, NUM_CLASSES, MnistDigits

# ----------------------------------------------------------------------------- synthetic MNIST digits
#: Seven-segment strokes (x0, y0, x1, y1) in pixels of a 28x28 image, named as on a display:
#: a top, b top right, c bottom right, d bottom, e bottom left, f top left, g middle.
_SEGMENTS = {
    "a": (9.0, 6.0, 18.0, 6.0), "b": (18.0, 6.0, 18.0, 14.0), "c": (18.0, 14.0, 18.0, 22.0),
    "d": (9.0, 22.0, 18.0, 22.0), "e": (9.0, 14.0, 9.0, 22.0), "f": (9.0, 6.0, 9.0, 14.0),
    "g": (9.0, 14.0, 18.0, 14.0),
}
_DIGIT_SEGMENTS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg")


def synthetic_digits(n_train: int = 100, n_test: int = 20, seed: int = 0) -> MnistDigits:
    """Small fake MNIST: seven-segment digits with jittered, anti-aliased strokes (unit tests only).

    Returns MnistDigits with train_images uint8 (n_train, 28, 28), test_images uint8 (n_test, 28, 28) and
    balanced uint8 labels in shuffled order; the same seed gives the same digits. Their content hash is
    not MNIST's, so pass `expected_sha256=None` (or their own `.sha256`) to the vmnist.mnist loaders.
    """
    rng = np.random.default_rng(seed)
    names = list(_SEGMENTS)
    segments = np.array([_SEGMENTS[name] for name in names])  # (7, 4)
    active = np.array([[name in _DIGIT_SEGMENTS[d] for name in names] for d in range(NUM_CLASSES)])  # (10, 7)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=-1)  # (784, 2) as (x, y)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.uint8)  # (n,)
        ends = segments[None] + rng.normal(0.0, 0.7, size=(n, len(names), 4))  # (n, 7, 4)
        start, stop = ends[..., None, :2], ends[..., None, 2:]  # (n, 7, 1, 2)
        direction = stop - start
        t = np.clip(((grid - start) * direction).sum(-1) / (direction**2).sum(-1), 0.0, 1.0)  # (n, 7, 784)
        distance = np.linalg.norm(grid - (start + t[..., None] * direction), axis=-1)  # (n, 7, 784)
        distance = np.where(active[labels][..., None], distance, np.inf).min(axis=1)  # (n, 784)
        width = rng.uniform(0.8, 1.4, size=(n, 1))  # stroke half-width in pixels
        ink = np.clip(width + 0.5 - distance, 0.0, 1.0)  # anti-aliased edge
        images = np.rint(ink * 255).astype(np.uint8).reshape(n, IMAGE_SIZE, IMAGE_SIZE)
        return images, labels

    train_images, train_labels = draw(n_train)
    test_images, test_labels = draw(n_test)
    return MnistDigits(train_images, train_labels, test_images, test_labels, source=f"synthetic digits (seed={seed})")


# ----------------------------------------------------------------------------- tiny Video-MNIST files
def tiled_digits(digits: MnistDigits) -> MnistDigits:
    """Repeat small digit sets up to MNIST's sizes (60,000 / 10,000) so that every split has a source.

    Each set is first ordered so that its labels cycle 0, 1, ..., 9 (synthetic digits are balanced); with a set
    size that divides 50,000 (e.g. 100), the first ten videos of every split then hold one digit of each class.
    """
    def tile(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        rank = np.empty(len(labels), dtype=np.int64)
        for digit in range(NUM_CLASSES):
            members = np.flatnonzero(labels == digit)
            rank[members] = np.arange(len(members))
        order = np.lexsort((labels, rank))  # by rank within class, then by label: 0..9, 0..9, ...
        rows = order[np.arange(n) % len(order)]
        return images[rows], labels[rows]

    train = tile(digits.train_images, digits.train_labels, 60_000)
    test = tile(digits.test_images, digits.test_labels, 10_000)
    return MnistDigits(*train, *test, source=digits.source)


def make_tiny_dataset(path, per_split: int = 20, frames: int = 30, seed: int = 0, workers: int = 1):
    """Write a small Video-MNIST file (real format, synthetic digits) with `per_split` videos per split.

    Labels cycle 0..9 in every split, so any 10 consecutive videos hold one of each class. Returns the path.
    """
    from vmnist.generate import GenerateConfig, write_dataset

    digits = tiled_digits(synthetic_digits(n_train=100, n_test=100, seed=seed))
    config = GenerateConfig(seed=seed, frames=frames, limit=per_split)
    return write_dataset(path, digits, config, workers=workers, force=True).path
