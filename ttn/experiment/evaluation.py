"""Accuracy, per-class accuracy and confusion matrix (numpy), and batched inference over a split."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ttn.cpu.switch import inference_batch_size
from ttn.experiment.config import INPUT_SCALES
from ttn.registry import NUM_CLASSES


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """int64 (num_classes, num_classes): row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    assert labels.shape == predictions.shape, f"labels {labels.shape} vs predictions {predictions.shape}"
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of correct predictions (0.0 for no samples)."""
    labels = np.asarray(labels)
    return float((labels == np.asarray(predictions)).mean()) if labels.size else 0.0


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """float64 (num_classes,): recall of each class; NaN for a class without samples."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def scale_input(videos: torch.Tensor, input_scale: str) -> torch.Tensor:
    """uint8 (B, T, H, W) -> float32 (B, 1, T, H, W): [0, 1] for "unit", 0-255 for "raw"."""
    if input_scale not in INPUT_SCALES:
        raise ValueError(f"unknown input scale {input_scale!r}")  # checked with the config or checkpoint before
    x = videos.unsqueeze(1).float()  # (B, 1, T, H, W)
    return x.div_(255.0) if input_scale == "unit" else x


@torch.inference_mode()
def predict(model: nn.Module, videos: torch.Tensor, input_scale: str, batch_size: int = 500) -> np.ndarray:
    """Predicted classes of uint8 videos (N, T, H, W) on any device: int64 (N,). Model put in eval mode.

    The one place where inference is batched: at most `batch_size` videos per forward pass (fewer on CPU,
    `ttn.cpu.inference_batch_size`).
    """
    device = next(model.parameters()).device
    model.eval()
    batch_size = inference_batch_size(batch_size, device)
    out = []
    for start in range(0, len(videos), batch_size):
        x = scale_input(videos[start : start + batch_size].to(device), input_scale)  # (B, 1, T, H, W)
        out.append(model(x).argmax(1).cpu().numpy())  # logits (B, classes) -> classes
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def predict_split(
    model: nn.Module,
    data: str | os.PathLike[str],
    split: str,
    input_scale: str,
    indices: Sequence[int] | np.ndarray | None = None,
    batch_size: int = 500,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions), int64 (N,) each, over `split` of `data` (or its `indices`), read `batch_size`
    videos at a time so that memory stays bounded (the test split is 235 MB as uint8). `model` as for `predict`."""
    import vmnist

    if indices is None:
        indices = np.arange(len(vmnist.load_labels(data, split)))  # DatasetError if no such split
    indices = np.asarray(indices, dtype=np.int64)
    labels, predictions = [], []
    for start in range(0, len(indices), batch_size):
        videos, y = vmnist.load_split(data, split, indices[start : start + batch_size])
        predictions.append(predict(model, videos, input_scale, batch_size))
        labels.append(y.numpy())
    if not labels:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(labels), np.concatenate(predictions)
