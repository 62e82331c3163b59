"""vmnist: the Video-MNIST dataset (Ras et al., 2019), rendered from the real MNIST digits.

    >>> from vmnist import generate, VideoMNIST, load_split
    >>> generate("data.h5")                       # all 70,000 videos (fetches MNIST on first use)
    >>> videos, labels = load_split("data.h5", "test")   # uint8 (N, T, H, W), int64 (N,)
"""
from vmnist.errors import DatasetError, MnistError, UserError
from vmnist.format import FORMAT_VERSION, GENERATOR_VERSION, SPLITS
from vmnist.generate import GenerateConfig, GenerateSummary, generate, write_dataset
from vmnist.mnist import MnistDigits, fetch_mnist, load_mnist_file
from vmnist.reader import (
    VideoMNIST,
    dataset_fingerprint,
    load_labels,
    load_split,
    open_dataset,
    read_attributes,
    split_sizes,
)

__version__ = "0.1.0"

__all__ = [
    "DatasetError", "MnistError", "UserError", "FORMAT_VERSION", "GENERATOR_VERSION", "SPLITS",
    "GenerateConfig", "GenerateSummary", "generate", "write_dataset", "MnistDigits", "fetch_mnist",
    "load_mnist_file", "VideoMNIST", "dataset_fingerprint", "load_labels", "load_split", "open_dataset",
    "read_attributes", "split_sizes",
]
