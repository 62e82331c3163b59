"""Sharded files: shard files + a main file of virtual datasets read exactly like one file; errors name the shard."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vmnist import DatasetError, UserError, VideoMNIST, dataset_fingerprint, load_labels, load_split
from vmnist.file.generator import GenerateConfig, write_dataset
from vmnist.file.info import dataset_info
from vmnist.file.reader import SplitVideos, open_dataset
from vmnist.file.shards import decode_shards, plan_shards
from vmnist.file.verify import verify_dataset
from vmnist.testing import synthetic_digits, tiled_digits

PER_SPLIT = 23
SHARD = 10
CONFIG = GenerateConfig(seed=4, frames=8, limit=PER_SPLIT)


@pytest.fixture(scope="module")
def digits():
    return tiled_digits(synthetic_digits(40, 40, seed=6))


@pytest.fixture(scope="module")
def pair(tmp_path_factory, digits):
    """(unsharded file, sharded main file) of the same data, in separate folders."""
    one = write_dataset(tmp_path_factory.mktemp("one") / "data.h5", digits, CONFIG, workers=1).path
    main = write_dataset(tmp_path_factory.mktemp("sharded") / "data.h5", digits, CONFIG, workers=1, shard_size=SHARD).path
    return one, main


def copy_folder(source, target):
    target.mkdir()
    for path in source.parent.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target / source.name


def test_shard_files_are_named_and_sized_as_planned(pair):
    _, main = pair
    names = sorted(p.name for p in main.parent.iterdir())
    expected = [f"data-{split}-{i:05d}.h5" for split in ("test", "train", "val") for i in range(3)]
    assert names == sorted(["data.h5", *expected])
    with h5py.File(main) as f:
        shards = decode_shards(f.attrs["shards"])
        assert [(r.start, r.stop) for r in shards["train"]] == [(0, 10), (10, 20), (20, 23)]
        assert f["train/videos"].is_virtual and f["train/params"].is_virtual and not f["train/labels"].is_virtual
    # a small main file: no videos in it (its fixed cost, ~27 KB with the attributes, is more than a tiny shard's)
    assert main.stat().st_size < sum((main.parent / name).stat().st_size for name in expected) / 5
    assert plan_shards(main, {"train": 5}, 5)[0].file == "data-train-00000.h5"


def test_sharded_reads_byte_identical_to_unsharded(pair):
    one, main = pair
    for split in ("train", "val", "test"):
        a, la = load_split(one, split)
        b, lb = load_split(main, split)
        assert torch.equal(a, b) and torch.equal(la, lb)
        picks = [22, 0, 13, 9, 10, 13]
        assert torch.equal(load_split(main, split, picks)[0], a[picks])
        with h5py.File(one) as f, h5py.File(main) as g:  # plain h5py sees one dataset per split too
            np.testing.assert_array_equal(g[f"{split}/videos"][:], f[f"{split}/videos"][:])
            np.testing.assert_array_equal(g[f"{split}/params"][:], f[f"{split}/params"][:])
    assert dataset_fingerprint(one) == dataset_fingerprint(main)


def test_dataset_info_and_verify_work_on_shards(pair, digits):
    one, main = pair
    info = dataset_info(main)
    assert info.shards == 9 and [s.shards for s in info.splits] == [3, 3, 3]
    assert info.compression_ratio == pytest.approx(dataset_info(one).compression_ratio, rel=0.01)
    assert info.file_bytes > main.stat().st_size
    report = verify_dataset(main, digits, sample=5)
    assert report.ok and {"train: shards", "test: pixels"} <= {c.name for c in report.checks}


def test_torch_dataset_reads_shards_in_worker_processes(pair):
    one, main = pair
    dataset = VideoMNIST(main, "val", indices=[3, 21, 12])
    batches = list(DataLoader(dataset, batch_size=2, num_workers=1))
    videos = torch.cat([b[0] for b in batches])[:, 0]
    torch.testing.assert_close(videos, load_split(one, "val", [3, 21, 12])[0].float() / 255)


def test_a_missing_or_truncated_shard_is_an_error_naming_it(tmp_path, pair):
    _, main = pair
    missing = copy_folder(main, tmp_path / "missing")
    (missing.parent / "data-val-00001.h5").unlink()
    for read in (lambda: load_split(missing, "train"), lambda: load_labels(missing, "test"),
                 lambda: VideoMNIST(missing, "val"), lambda: dataset_info(missing)):
        with pytest.raises(DatasetError, match=r"data-val-00001\.h5: shard of .*data\.h5 is missing; .*--shard-size 10 --force"):
            read()
    truncated = copy_folder(main, tmp_path / "truncated")
    shard = truncated.parent / "data-train-00002.h5"
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"data-train-00002\.h5: shard of .* is truncated"):
        load_split(truncated, "train", [0])


def test_a_shard_of_another_generation_is_refused(tmp_path, pair, digits):
    _, main = pair
    (tmp_path / "other").mkdir()
    other = write_dataset(tmp_path / "other" / "data.h5", digits, GenerateConfig(seed=5, frames=8, limit=PER_SPLIT),
                          workers=1, shard_size=SHARD).path
    mixed = copy_folder(main, tmp_path / "mixed")
    source = other.parent / "data-test-00000.h5"
    (mixed.parent / source.name).write_bytes(source.read_bytes())
    with h5py.File(mixed, "a") as f:  # make the size check pass: only the shard's identity can tell
        shards = decode_shards(f.attrs["shards"])
        text = f.attrs["shards"].replace(f'"bytes": {shards["test"][0].bytes}', f'"bytes": {source.stat().st_size}', 1)
        f.attrs["shards"] = text
    with open_dataset(mixed) as f, SplitVideos(f, "test") as store:
        with pytest.raises(DatasetError, match=r"data-test-00000\.h5: not the shard .* expects \(differs in dataset_id\)"):
            store.read(np.array([0]))


def test_force_replaces_shards_and_removes_the_old_ones(tmp_path, digits):
    out = tmp_path / "d.h5"
    write_dataset(out, digits, CONFIG, workers=1, shard_size=SHARD)
    assert len(list(tmp_path.glob("d-train-*.h5"))) == 3
    with pytest.raises(UserError, match="already exists; pass --force"):
        write_dataset(out, digits, CONFIG, workers=1, shard_size=20)
    (tmp_path / "e-train-00000.h5").write_bytes(b"someone else's")
    with pytest.raises(UserError, match=r"shard .*e-train-00000\.h5 already exists; pass --force"):
        write_dataset(tmp_path / "e.h5", digits, CONFIG, workers=1, shard_size=SHARD)
    write_dataset(out, digits, CONFIG, workers=1, shard_size=20, force=True)
    assert sorted(p.name for p in tmp_path.glob("d-*.h5")) == [f"d-{s}-0000{i}.h5" for s in ("test", "train", "val") for i in (0, 1)]
    assert load_split(out, "train")[0].shape[0] == PER_SPLIT
    write_dataset(out, digits, CONFIG, workers=1, force=True)  # unsharded: the old shards go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5", "e-train-00000.h5"]


def test_interrupted_sharded_generation_leaves_nothing_and_keeps_the_old_files(tmp_path, digits):
    out = tmp_path / "d.h5"
    write_dataset(out, digits, CONFIG, workers=1, shard_size=SHARD)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []

    def interrupt(split, done, total):
        calls.append(split)
        if len(calls) == 2:  # after some shards of the new set are complete
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, digits, GenerateConfig(seed=9, frames=8, limit=PER_SPLIT), workers=1, force=True,
                      shard_size=SHARD, progress=interrupt)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temporary file, nothing replaced
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]
