"""Fuzzing the HDF5 reader: a file whose attributes, dtypes or shapes are anything at all is read, or refused with
vmnist's own error (a UserError: one line naming the file), never another exception."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from vmnist import VideoMNIST, dataset_fingerprint, load_labels, load_split, open_dataset, read_attributes  # noqa: E402
from vmnist.file.format import REQUIRED_ATTRIBUTES, SPLIT_DATASETS  # noqa: E402
from vmnist.file.info import dataset_info  # noqa: E402
from vmnist.file.verify import verify_dataset  # noqa: E402
from vmnist.infra.errors import UserError  # noqa: E402
from vmnist.testing import make_tiny_dataset  # noqa: E402

ATTRIBUTES = (*REQUIRED_ATTRIBUTES, "shards", "dataset_id", "mnist_source")
DTYPES = ("u1", "i2", "i8", "u8", "f4", "f8", "?")

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
attribute_values = st.one_of(
    st.integers(-2**63, 2**64 - 1), st.floats(), st.booleans(), st.text(max_size=20), st.binary(max_size=12),
    json_values.map(json.dumps), st.just("abc"), st.just("[" * 5000),
    hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)),
)
arrays = hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))


def set_attribute(path: Path, name: str, value: Any) -> None:
    with h5py.File(path, "a") as f:
        if value is None:
            f.attrs.pop(name, None)
        else:
            f.attrs[name] = value


def replace_dataset(path: Path, split: str, name: str, data: Any) -> None:
    with h5py.File(path, "a") as f:
        group = f[split]
        del group[name]
        if data is None:
            group.create_group(name)  # a group where a dataset belongs
        else:
            group.create_dataset(name, data=data)


def read_everything(path: Path) -> None:
    """What the readers of vmnist and ttn do with a file."""
    open_dataset(path).close()
    read_attributes(path)
    dataset_fingerprint(path)
    load_labels(path, "test")
    videos, labels = load_split(path, "test")
    dataset = VideoMNIST(path, "test")
    if len(dataset):
        dataset[0]
    dataset_info(path)
    verify_dataset(path, None)


def only_own_errors(mutate: Callable[[Path], None], base: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for source in base.parent.glob(f"{base.stem}*"):
            shutil.copy(source, Path(folder) / source.name)
        path = Path(folder) / base.name
        try:
            mutate(path)
        except (TypeError, ValueError, OSError):  # h5py cannot store this value: nothing to read
            assume(False)
        try:
            read_everything(path)
        except UserError as exc:
            assert str(path) in str(exc) or "shard" in str(exc), exc
            assert "\n" not in str(exc), exc


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fuzz")
    return {"plain": make_tiny_dataset(folder / "plain.h5", per_split=10, frames=4),
            "sharded": make_tiny_dataset(folder / "sharded.h5", per_split=10, frames=4, shard_size=4)}


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(kind=st.sampled_from(["plain", "sharded"]), name=st.sampled_from(ATTRIBUTES),
       value=st.none() | attribute_values)
@example(kind="plain", name="format", value=np.array([0, 0], dtype=np.uint8))  # once compared item by item
def test_any_attribute_is_read_or_refused_with_our_error(files, kind, name, value) -> None:
    only_own_errors(lambda path: set_attribute(path, name, value), files[kind])


@FUZZ
@given(kind=st.sampled_from(["plain", "sharded"]), split=st.sampled_from(["test", "val"]),
       name=st.sampled_from(SPLIT_DATASETS), data=st.none() | arrays)
def test_any_dataset_is_read_or_refused_with_our_error(files, kind, split, name, data) -> None:
    only_own_errors(lambda path: replace_dataset(path, split, name, data), files[kind])


shard_entries = st.lists(st.fixed_dictionaries({
    "file": st.sampled_from(["sharded-test-00000.h5", "../x.h5", "/etc/passwd", "", ".."]) | st.text(max_size=8),
    "start": st.integers(-3, 12), "stop": st.integers(-3, 12), "bytes": st.integers(-1, 10**6)}), max_size=4)


@FUZZ
@given(entries=json_values | shard_entries)
def test_any_shard_table_is_read_or_refused_with_our_error(files, entries) -> None:
    table = json.dumps({"test": entries})
    only_own_errors(lambda path: set_attribute(path, "shards", table), files["sharded"])
