"""Writing and reading Video-MNIST files: contract, determinism, atomicity, errors, the torch Dataset."""
from __future__ import annotations

import json
import pickle

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vmnist import DatasetError, UserError, VideoMNIST, dataset_fingerprint, load_labels, load_split, split_sizes
from vmnist.file.format import FORMAT_NAME, FORMAT_VERSION, GENERATOR_VERSION, REQUIRED_ATTRIBUTES
from vmnist.file.generator import GenerateConfig, write_dataset
from vmnist.file.info import dataset_info
from vmnist.file.verify import verify_dataset
from vmnist.testing import make_tiny_dataset, synthetic_digits, tiled_digits

PER_SPLIT = 24


@pytest.fixture(scope="module")
def digits():
    return tiled_digits(synthetic_digits(40, 40, seed=5))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, digits):
    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    return write_dataset(path, digits, GenerateConfig(seed=3, frames=8, limit=PER_SPLIT), workers=1).path


def test_file_follows_the_contract(tiny, digits):
    with h5py.File(tiny) as f:
        assert set(REQUIRED_ATTRIBUTES) <= set(f.attrs)
        assert f.attrs["format"] == FORMAT_NAME and f.attrs["format_version"] == FORMAT_VERSION
        assert f.attrs["generator_version"] == GENERATOR_VERSION and bool(f.attrs["complete"])
        assert f.attrs["mnist_sha256"] == digits.sha256 and f.attrs["seed"] == 3 and f.attrs["frames"] == 8
        for split, first in (("train", 0), ("val", 50_000), ("test", 0)):
            g = f[split]
            assert g["videos"].shape == (PER_SPLIT, 8, 28, 28) and g["videos"].dtype == np.uint8
            assert g["videos"].chunks == (1, 8, 28, 28) and g["videos"].compression == "gzip"
            assert g["labels"].dtype == np.uint8 and g["source_index"].dtype == np.int32
            assert g["params"].shape == (PER_SPLIT, 8, 4) and g["params"].dtype == np.float32
            np.testing.assert_array_equal(g["source_index"][:], np.arange(first, first + PER_SPLIT))


def test_labels_and_frames_come_from_the_source_digit(tiny, digits):
    videos, labels = load_split(tiny, "val")
    np.testing.assert_array_equal(labels.numpy(), digits.train_labels[50_000 : 50_000 + PER_SPLIT])
    test_videos, test_labels = load_split(tiny, "test")
    np.testing.assert_array_equal(test_labels.numpy(), digits.test_labels[:PER_SPLIT])
    # Frame 0 of classes that start at the identity (all but 5 and 6 in the authors' motion) is the source digit.
    for i, label in enumerate(test_labels.tolist()):
        if label not in (5, 6):
            np.testing.assert_array_equal(test_videos[i, 0].numpy(), digits.test_images[i])


@pytest.mark.parametrize("family", ["authors", "smooth"])
def test_same_seed_identical_whatever_the_workers_other_seed_differs(tmp_path, digits, family):
    config = GenerateConfig(seed=11, frames=16, limit=30, splits=("train", "test"), trajectories=family)
    one = write_dataset(tmp_path / "one.h5", digits, config, workers=1).path
    two = write_dataset(tmp_path / "two.h5", digits, config, workers=2).path
    other_config = GenerateConfig(seed=12, frames=16, limit=30, splits=("train", "test"), trajectories=family)
    other = write_dataset(tmp_path / "other.h5", digits, other_config, workers=1).path
    for split in ("train", "test"):
        a, b, c = (load_split(p, split)[0] for p in (one, two, other))
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
        with h5py.File(one) as f, h5py.File(two) as g:
            np.testing.assert_array_equal(f[split]["params"][:], g[split]["params"][:])


def test_interrupted_generation_leaves_no_file_and_keeps_the_old_one(tmp_path, digits):
    out = tmp_path / "data.h5"
    out.write_bytes(b"previous good file")

    def interrupt(split, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, digits, GenerateConfig(limit=1000), workers=1, force=True, progress=interrupt)
    assert out.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.h5"]  # no temporary file left


def test_output_errors(tmp_path, digits):
    existing = tmp_path / "x.h5"
    existing.write_bytes(b"keep me")
    with pytest.raises(UserError, match="already exists; pass --force"):
        write_dataset(existing, digits, GenerateConfig(limit=2))
    assert write_dataset(tmp_path / "new" / "sub" / "x.h5", digits, GenerateConfig(limit=2)).path.is_file()  # folders made
    with pytest.raises(UserError, match="x.h5 is a file, so .* cannot be a folder"):
        write_dataset(existing / "y.h5", digits, GenerateConfig(limit=2))
    with pytest.raises(UserError, match="is a folder"):
        write_dataset(tmp_path, digits, GenerateConfig(limit=2), force=True)
    with pytest.raises(UserError, match="--splits"):
        GenerateConfig(splits=("training",))
    assert existing.read_bytes() == b"keep me"


def test_reader_refuses_bad_files(tmp_path, tiny):
    with pytest.raises(DatasetError, match="no such file"):
        load_split(tmp_path / "nope.h5", "train")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(tiny.read_bytes()[: tiny.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated or foreign"):
        load_split(truncated, "train")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DatasetError, match="not a Video-MNIST file"):
        VideoMNIST(foreign, "train")
    incomplete = tmp_path / "incomplete.h5"
    incomplete.write_bytes(tiny.read_bytes())
    with h5py.File(incomplete, "a") as f:
        f.attrs["complete"] = False
    with pytest.raises(DatasetError, match="incomplete"):
        split_sizes(incomplete)
    with pytest.raises(DatasetError, match="unknown split"):
        load_labels(tiny, "training")
    with pytest.raises(DatasetError, match="index out of range"):
        load_split(tiny, "train", [PER_SPLIT])


def test_missing_split_names_the_fix(tmp_path, digits):
    path = write_dataset(tmp_path / "t.h5", digits, GenerateConfig(limit=3, splits=("test",)), workers=1).path
    assert split_sizes(path) == {"test": 3}
    with pytest.raises(DatasetError, match="has no 'train' split.*--splits train"):
        load_split(path, "train")


def test_load_split_indices_match_the_dataset_items(tiny):
    picks = [5, 0, 17, 5]
    videos, labels = load_split(tiny, "train", picks)
    assert videos.shape == (4, 8, 28, 28) and videos.dtype == torch.uint8 and labels.dtype == torch.int64
    dataset = VideoMNIST(tiny, "train", indices=picks)
    assert len(dataset) == 4
    for i in range(4):
        video, label = dataset[i]
        assert video.shape == (1, 8, 28, 28) and video.dtype == torch.float32
        assert 0.0 <= video.min() and video.max() <= 1.0
        torch.testing.assert_close(video[0], videos[i].float() / 255)
        assert label == labels[i].item()
    np.testing.assert_array_equal(labels.numpy(), load_labels(tiny, "train")[picks])


def test_dataset_names_its_classes_like_torchvision(tiny):
    dataset = VideoMNIST(tiny, "train")
    assert dataset.classes == VideoMNIST.classes == [str(digit) for digit in range(10)]
    assert dataset.class_to_idx == {str(digit): digit for digit in range(10)}
    video, label = dataset[3]
    assert dataset.classes[label] == str(int(dataset.targets[3]))


def test_dataset_pickles_without_its_handle_and_works_in_worker_processes(tiny):
    dataset = VideoMNIST(tiny, "test")
    dataset[0]  # opens the file in this process
    clone = pickle.loads(pickle.dumps(dataset))
    assert clone._file is None
    loader = DataLoader(dataset, batch_size=8, num_workers=2)
    batches = list(loader)
    assert sum(len(b[1]) for b in batches) == PER_SPLIT
    torch.testing.assert_close(torch.cat([b[0] for b in batches])[:, 0], load_split(tiny, "test")[0].float() / 255)


def test_fingerprint_info_and_verify(tiny, digits):
    fingerprint = dataset_fingerprint(tiny)
    assert set(fingerprint) == {"mnist_sha256", "seed", "frames", "height", "width", "format_version",
                                "generator_version", "trajectories", "split_sizes"}
    assert fingerprint["mnist_sha256"] == digits.sha256 and fingerprint["seed"] == 3 and fingerprint["frames"] == 8
    assert fingerprint["trajectories"] == "authors" and fingerprint["generator_version"] == GENERATOR_VERSION
    assert fingerprint["split_sizes"] == {"train": PER_SPLIT, "val": PER_SPLIT, "test": PER_SPLIT}
    assert json.loads(json.dumps(fingerprint)) == fingerprint  # plain JSON, as run records store it
    info = dataset_info(tiny)
    assert [s.name for s in info.splits] == ["train", "val", "test"]
    assert info.splits[0].class_counts.sum() == PER_SPLIT and info.compression_ratio > 1.5
    report = verify_dataset(tiny, digits, sample=5)
    assert report.ok and any(c.name == "test: pixels" for c in report.checks)


def test_verify_catches_a_changed_video(tmp_path, tiny, digits):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(tiny.read_bytes())
    with h5py.File(broken, "a") as f:
        videos = f["test"]["videos"]
        for i in range(PER_SPLIT):
            frame = videos[i]
            frame[0, 0, 0] ^= 1
            videos[i] = frame
    report = verify_dataset(broken, digits, sample=PER_SPLIT)
    failed = [c.name for c in report.checks if not c.ok]
    assert failed == ["test: pixels"]


def test_make_tiny_dataset_has_every_class(tmp_path):
    path = make_tiny_dataset(tmp_path / "t.h5", per_split=10, frames=4)
    for split in ("train", "val", "test"):
        assert sorted(load_labels(path, split).tolist()) == list(range(10))


def test_interrupt_with_worker_processes_stops_them_and_keeps_nothing(tmp_path, digits):
    import multiprocessing

    out = tmp_path / "data.h5"

    def interrupt(split, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, digits, GenerateConfig(limit=3000, splits=("train",)), workers=2, progress=interrupt)
    assert multiprocessing.active_children() == []  # workers terminated, not left rendering
    assert list(tmp_path.iterdir()) == []


def test_families_differ_in_config_fingerprint_info_and_verify(tmp_path, digits):
    smooth = write_dataset(tmp_path / "s.h5", digits, GenerateConfig(limit=12, frames=8, trajectories="smooth"), workers=1).path
    authors = write_dataset(tmp_path / "a.h5", digits, GenerateConfig(limit=12, frames=8), workers=1).path
    with h5py.File(smooth) as f:
        config = json.loads(f.attrs["config"])
    assert config["trajectories"] == "smooth" and config["constants"]["bounce_limit"] == 6.0
    assert dataset_fingerprint(smooth)["trajectories"] == "smooth" != dataset_fingerprint(authors)["trajectories"]
    assert dataset_info(smooth).trajectories == "smooth"
    assert not torch.equal(load_split(smooth, "test")[0], load_split(authors, "test")[0])
    assert verify_dataset(smooth, digits, sample=6).ok  # params re-derived with the file's own family
    with h5py.File(smooth, "a") as f:  # claim the other family: the re-derived params no longer match
        f.attrs["config"] = json.dumps(config | {"trajectories": "authors", "constants": {}})
    failed = {c.name for c in verify_dataset(smooth, digits, sample=6).checks if not c.ok}
    assert failed == {"train: params", "val: params", "test: params"}


def test_verify_fails_when_a_split_of_the_config_is_missing(tmp_path, tiny, digits):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(tiny.read_bytes())
    with h5py.File(broken, "a") as f:
        del f["val"]
    report = verify_dataset(broken, digits, sample=3)
    assert [c.name for c in report.checks if not c.ok] == ["splits"]
    assert "missing val" in next(c.detail for c in report.checks if c.name == "splits")


def test_vmnist_generate_stays_the_function_after_its_module_is_imported():
    import vmnist
    import vmnist.file.generator  # noqa: F401  (a submodule named like a function would replace it on import)

    assert callable(vmnist.generate) and vmnist.generate.__module__ == "vmnist.file.generator"
