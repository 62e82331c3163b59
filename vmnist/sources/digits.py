"""MnistDigits: the four MNIST arrays, validated and read-only, with the content hash that identifies them.

Shapes: images uint8 (N, 28, 28) with ink = 255 on background 0, labels uint8 (N,) in 0..9;
N = 60,000 for the MNIST training set (in MNIST order) and 10,000 for the test set.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from vmnist.infra.errors import MnistError

IMAGE_SIZE = 28
NUM_CLASSES = 10
#: The four arrays, in the order the content hash reads them.
FIELDS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True, eq=False)
class MnistDigits:
    """MNIST images and labels (read-only arrays).

    train_images: uint8 (N_train, 28, 28); train_labels: uint8 (N_train,)
    test_images:  uint8 (N_test, 28, 28);  test_labels:  uint8 (N_test,)
    source: where the digits came from (for messages and provenance).
    For real MNIST N_train = 60,000 (MNIST's training set in order) and N_test = 10,000.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str = "unknown"

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 3
                    and images.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE)):
                raise ValueError(f"{split}_images must be uint8 (N, 28, 28), got {_describe(images)}")
            if not (isinstance(labels, np.ndarray) and labels.dtype == np.uint8
                    and labels.shape == images.shape[:1]):
                raise ValueError(f"{split}_labels must be uint8 ({len(images)},), got {_describe(labels)}")
        for field in FIELDS:  # keep read-only C-contiguous views: the content hash must stay true
            view = np.ascontiguousarray(getattr(self, field)).view()
            view.setflags(write=False)
            object.__setattr__(self, field, view)

    @cached_property
    def sha256(self) -> str:
        """Content hash: sha256 over the bytes of the four arrays (uint8, C order) in `FIELDS` order."""
        digest = hashlib.sha256()
        for field in FIELDS:
            digest.update(memoryview(getattr(self, field)).cast("B"))
        return digest.hexdigest()

    def arrays(self) -> dict[str, np.ndarray]:
        """The four arrays by field name."""
        return {field: getattr(self, field) for field in FIELDS}


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"{array.dtype} {array.shape}"
    return type(array).__name__


def _whole_numbers(array: np.ndarray, field: str, top: int) -> np.ndarray:
    """`array` as uint8 if it holds whole numbers 0..`top`; ValueError otherwise."""
    if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() > top)):
        raise ValueError(f"{field} must hold whole numbers 0..{top}, got {_describe(array)}")
    return array.astype(np.uint8, copy=False)


def digits_from_arrays(arrays: Mapping[str, np.ndarray], source: str, name: str) -> MnistDigits:
    """MnistDigits from four integer arrays keyed by `FIELDS`; any other content is an MnistError naming `name`.

    Images: (N, 28, 28) or flat (N, 784), values 0..255; labels: (N,), values 0..9; any integer dtype.
    """
    try:
        out = {}
        for field in FIELDS:
            array = np.asarray(arrays[field])
            if field.endswith("images") and array.ndim == 2 and array.shape[1] == IMAGE_SIZE * IMAGE_SIZE:
                array = array.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)  # (N, 784) -> (N, 28, 28)
            out[field] = _whole_numbers(array, field, 255 if field.endswith("images") else NUM_CLASSES - 1)
        return MnistDigits(**out, source=source)
    except ValueError as exc:
        raise MnistError(f"{name}: {exc}; expected MNIST images (N, 28, 28) and labels (N,)") from None


def check_digits(digits: MnistDigits, expected_sha256: str | None, remedy: str = "") -> MnistDigits:
    """Return `digits` if their content hash is `expected_sha256` (None accepts any); else MnistError.

    The one test of what is MNIST: the message names `digits.source` and ends with `remedy`, if given.
    """
    if expected_sha256 is not None and digits.sha256 != expected_sha256:
        raise MnistError(
            f"{digits.source}: not the MNIST digits (content sha256 {digits.sha256[:16]}..., expected "
            f"{expected_sha256[:16]}...; {len(digits.train_labels)} train / {len(digits.test_labels)} test digits)"
            + (f"; {remedy}" if remedy else "")
        )
    return digits
