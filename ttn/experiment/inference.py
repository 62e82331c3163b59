"""One video through a trained model: its class probabilities (`ttn predict`)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ttn.errors import TTNError
from ttn.experiment.evaluation import scale_input


@dataclass(frozen=True)
class Prediction:
    """A model's answer for one video: the predicted class, each class's probability and the true label."""

    split: str
    index: int
    label: int  # the true class, from the data file
    predicted: int
    probabilities: list[float]  # softmax of the logits, one per class (digit 0-9)


@torch.inference_mode()
def class_probabilities(model: nn.Module, video: torch.Tensor, input_scale: str) -> list[float]:
    """The softmax over classes of `model` (in eval mode) for one uint8 video (T, H, W)."""
    logits = model.eval()(scale_input(video.unsqueeze(0), input_scale))  # (1, classes)
    return [float(p) for p in torch.softmax(logits[0].float(), dim=0)]


def predict_video(model: nn.Module, data: str | os.PathLike[str], split: str, index: int,
                  input_scale: str) -> Prediction:
    """The prediction of `model` for video `index` of `split` in the Video-MNIST file `data`; TTNError naming
    --index when the split has no such video."""
    import vmnist

    size = vmnist.split_sizes(data).get(split, 0)
    if not 0 <= index < size:
        raise TTNError(f"--index {index}: the {split} split of {data} has {size} videos (0..{size - 1})")
    videos, labels = vmnist.load_split(data, split, [index])
    probabilities = class_probabilities(model, videos[0], input_scale)
    return Prediction(split, index, int(labels[0]), max(range(len(probabilities)), key=probabilities.__getitem__),
                      probabilities)
