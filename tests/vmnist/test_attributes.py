"""HDF5 attributes that explain a Video-MNIST file: present in single and sharded files, readable by h5dump, and
changing nothing else (videos, dataset_id, fingerprint); files written without them still read."""
from __future__ import annotations

import shutil
import subprocess

import h5py
import numpy as np
import pytest

import vmnist.file.writer
from vmnist import dataset_fingerprint, load_split
from vmnist.file.attributes import AXES, PARAM_COLUMNS
from vmnist.file.format import SPLITS
from vmnist.file.verify import verify_dataset
from vmnist.testing import make_tiny_dataset, synthetic_digits, tiled_digits

FRAMES = 5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=12, frames=FRAMES)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("shards") / "main.h5", per_split=12, frames=FRAMES, shard_size=5)


def check_described(group: h5py.Group, split: str, names: tuple[str, ...]) -> None:
    """Every dataset of `names` in `group` has a description, its axis labels and its own attributes."""
    for name in names:
        dataset = group[name]
        assert len(dataset.attrs["description"]) > 20, name
        assert tuple(dim.label for dim in dataset.dims) == AXES[name]
    if "params" in names:
        params = group["params"]
        assert tuple(params.attrs["columns"]) == PARAM_COLUMNS and len(params.attrs["units"]) == len(PARAM_COLUMNS)
        assert "radians" in params.attrs["units"][1] and "pixels" in params.attrs["units"][2]
    if "videos" in names:
        assert "255" in group["videos"].attrs["units"]
    if "labels" in names:
        classes = list(group["labels"].attrs["class_names"])
        assert len(classes) == 10 and classes[0] == "0: moves horizontally" and classes[3] == "3: rotates clockwise"
    if "source_index" in names:
        assert group["source_index"].attrs["mnist_split"] == ("test" if split == "test" else "train")


def test_every_dataset_explains_itself(tiny) -> None:
    with h5py.File(tiny) as f:
        assert "Video-MNIST" in f.attrs["description"]
        for split in SPLITS:
            assert f[split].attrs["description"].startswith(f"{split} split: one video per MNIST")
            check_described(f[split], split, tuple(AXES))
        assert "50,000-59,999" in f["val"].attrs["description"]


def test_sharded_main_file_and_shards_are_described(sharded) -> None:
    with h5py.File(sharded) as f:
        for split in SPLITS:
            assert f[split]["videos"].is_virtual
            check_described(f[split], split, tuple(AXES))
    shard = sharded.parent / "main-val-00001.h5"
    with h5py.File(shard) as f:
        check_described(f, "val", ("videos", "params"))


def test_h5dump_shows_the_meaning(tiny) -> None:
    if shutil.which("h5dump") is None:
        pytest.skip("h5dump is not installed (Debian: apt-get install hdf5-tools)")
    dump = subprocess.run(["h5dump", "-A", str(tiny)], capture_output=True, text=True, check=True).stdout
    for needle in ('"scale", "rotation", "tx", "ty"', "DIMENSION_LABELS", '"video", "frame", "y", "x"',
                   "0: moves horizontally", "255 = full ink"):
        assert needle in dump, needle


def test_attributes_change_nothing_else_and_files_without_them_read(tmp_path, monkeypatch, tiny) -> None:
    monkeypatch.setattr(vmnist.file.writer, "describe_split", lambda group, split: None)  # as before the attributes
    monkeypatch.setattr(vmnist.file.writer, "describe_datasets", lambda group, split: None)
    monkeypatch.setattr(vmnist.file.writer, "ROOT_DESCRIPTION", "")
    bare = make_tiny_dataset(tmp_path / "bare.h5", per_split=12, frames=FRAMES)
    with h5py.File(bare) as f, h5py.File(tiny) as g:
        assert "description" not in f["train/params"].attrs and not f.attrs["description"]
        assert f.attrs["dataset_id"] == g.attrs["dataset_id"]
        for split in SPLITS:
            for name in AXES:
                np.testing.assert_array_equal(f[split][name][:], g[split][name][:])
    assert dataset_fingerprint(bare) == dataset_fingerprint(tiny)
    videos, labels = load_split(bare, "test")
    assert videos.shape == (12, FRAMES, 28, 28) and labels.tolist() == list(range(10)) + [0, 1]
    assert verify_dataset(bare, tiled_digits(synthetic_digits(n_train=100, n_test=100, seed=0)), sample=4).ok
