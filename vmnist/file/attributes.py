"""What each dataset of a Video-MNIST file means, written beside it as HDF5 attributes (docs/dataset.md).

So that ``h5dump -A data.h5`` or ``h5py`` explains a file without the docs: every dataset gets a ``description``
and its axis names as HDF5 dimension labels (``DIMENSION_LABELS``, read by h5py's ``.dims``, xarray and netCDF
tools); ``params`` names its columns and their units, ``labels`` its classes, ``source_index`` the MNIST split it
indexes; each split group says where its digits come from. Attributes never change the videos, the
``dataset_id`` or the data fingerprint, and files written before them (format version 1 too) read the same.
"""
from __future__ import annotations

from typing import Any

import h5py

from vmnist.file.format import SPLIT_SOURCES
from vmnist.rendering.trajectories import TRAJECTORY_TABLE

#: The four columns of ``params`` (N, T, 4), in order, and their units.
PARAM_COLUMNS = ("scale", "rotation", "tx", "ty")
PARAM_UNITS = ("1 (size factor; 1 = the MNIST digit's size)", "radians (positive: counter-clockwise on screen)",
               "pixels (positive: right)", "pixels (positive: down)")
#: Axis names of each dataset, written as HDF5 dimension labels.
AXES: dict[str, tuple[str, ...]] = {
    "videos": ("video", "frame", "y", "x"),
    "labels": ("video",),
    "source_index": ("video",),
    "params": ("video", "frame", "parameter"),
}
ROOT_DESCRIPTION = ("Video-MNIST (Ras et al., 2019, 'Temporal Factorization of 3D Convolutional Kernels'): one video "
                    "per MNIST digit, moving along its class's trajectory; written by `vmnist generate` "
                    "(video-mnist-ttn; the layout: its docs/dataset.md)")


def dataset_attributes(split: str) -> dict[str, dict[str, Any]]:
    """The attributes of each dataset of `split`, dimension labels apart (see AXES)."""
    source = SPLIT_SOURCES[split]
    return {
        "videos": {
            "description": "frames of each video, rendered from its source digit by the affine state in params",
            "units": "grey level, uint8: 0 = black background, 255 = full ink (divide by 255 for [0, 1])",
        },
        "labels": {
            "description": "class 0-9 of each video: the MNIST label of its source digit, which sets its trajectory",
            "class_names": [f"{digit}: {motion}" for digit, (motion, _) in sorted(TRAJECTORY_TABLE.items())],
        },
        "source_index": {
            "description": f"index of each video's source digit in MNIST's {source.mnist_split} split",
            "mnist_split": source.mnist_split,
        },
        "params": {
            "description": "per-frame affine state each frame was rendered from, about the frame centre "
                           "(13.5, 13.5): source(p) = R(-rotation) (p - c - (tx, ty)) / scale + c",
            "columns": list(PARAM_COLUMNS),
            "units": list(PARAM_UNITS),
        },
    }


def split_description(split: str) -> str:
    """Where the digits of `split` come from in MNIST."""
    source = SPLIT_SOURCES[split]
    return (f"{split} split: one video per MNIST {source.mnist_split} digit, rows {source.start:,}-{source.stop - 1:,} "
            f"of that split, in order (a file made with --limit holds the first ones)")


def describe_datasets(group: h5py.Group, split: str) -> None:
    """Write the attributes and dimension labels of every Video-MNIST dataset present in `group` (a split group or
    a shard file's root)."""
    for name, attributes in dataset_attributes(split).items():
        if name in group:
            dataset = group[name]
            dataset.attrs.update(attributes)
            for dim, label in zip(dataset.dims, AXES[name]):
                dim.label = label


def describe_split(group: h5py.Group, split: str) -> None:
    """The split group's description and its datasets' attributes."""
    group.attrs["description"] = split_description(split)
    describe_datasets(group, split)
