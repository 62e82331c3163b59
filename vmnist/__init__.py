"""vmnist: the Video-MNIST dataset (Ras et al., 2019), rendered from the real MNIST digits.

    >>> from vmnist import generate, VideoMNIST, load_split
    >>> generate("data.h5")                       # all 70,000 videos (fetches MNIST on first use)
    >>> videos, labels = load_split("data.h5", "test")   # uint8 (N, T, H, W), int64 (N,)

The package by role: `vmnist.sources` the MNIST digits (where they come from, how they are decoded),
`vmnist.rendering` the motions and the frames, `vmnist.file` the Video-MNIST file (its contract, writing,
reading, checking), `vmnist.pictures` figures and previews, `vmnist.infra` what ttn shares (errors, atomic
files, worker processes, lazy imports); `vmnist.transforms` for torchvision's video models, `vmnist.testing`
for unit tests.

Names are imported on first use (PEP 562), so that ``import vmnist.infra.errors`` (and a command's ``--help``)
does not pay for importing torch and h5py; ``dir(vmnist)`` lists them and the subpackages.
"""
from __future__ import annotations

from vmnist.infra.lazy import lazy_namespace

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "DatasetError": "infra.errors", "MnistError": "infra.errors", "UserError": "infra.errors",
    "FORMAT_VERSION": "file.format", "GENERATOR_VERSION": "file.format", "SPLITS": "file.format",
    "GenerateConfig": "file.generator", "GenerateSummary": "file.generator", "generate": "file.generator",
    "write_dataset": "file.generator", "MnistDigits": "sources.mnist", "fetch_mnist": "sources.mnist",
    "load_mnist_file": "sources.mnist", "VideoMNIST": "file.reader", "dataset_fingerprint": "file.reader",
    "load_labels": "file.reader", "load_split": "file.reader", "open_dataset": "file.reader",
    "read_attributes": "file.reader", "split_sizes": "file.reader",
}
#: public submodule -> where it is (`trajectories`, a name of the package since the flat layout, is in rendering/)
_SUBMODULES = {**{name: name for name in ("sources", "rendering", "file", "pictures", "infra", "transforms")},
               "trajectories": "rendering.trajectories"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS, submodules=_SUBMODULES)
