"""vmnist: the Video-MNIST dataset (Ras et al., 2019), rendered from the real MNIST digits.

    >>> from vmnist import generate, VideoMNIST, load_split
    >>> generate("data.h5")                       # all 70,000 videos (fetches MNIST on first use)
    >>> videos, labels = load_split("data.h5", "test")   # uint8 (N, T, H, W), int64 (N,)

Names are imported on first use (PEP 562), so that ``import vmnist.errors`` (and a command's ``--help``)
does not pay for importing torch and h5py; ``dir(vmnist)`` lists them.
"""
from __future__ import annotations

from vmnist.lazy import lazy_namespace

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "DatasetError": "errors", "MnistError": "errors", "UserError": "errors",
    "FORMAT_VERSION": "format", "GENERATOR_VERSION": "format", "SPLITS": "format",
    "GenerateConfig": "generator", "GenerateSummary": "generator", "generate": "generator", "write_dataset": "generator",
    "MnistDigits": "mnist", "fetch_mnist": "mnist", "load_mnist_file": "mnist",
    "VideoMNIST": "reader", "dataset_fingerprint": "reader", "load_labels": "reader", "load_split": "reader",
    "open_dataset": "reader", "read_attributes": "reader", "split_sizes": "reader",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS, submodules=("transforms", "trajectories"))
