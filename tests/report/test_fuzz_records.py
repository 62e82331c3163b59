"""Fuzzing the record loader: a results folder holding any JSON at all (a whole file, or one field of a record) is
reported, with the damaged record skipped, or refused with ttn's own error; never another exception."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ttn.experiment.records import REQUIRED_FIELDS, SCHEMA_VERSION, load_records, write_record  # noqa: E402
from ttn.registry import TRANSFORM_STATS  # noqa: E402
from ttn.report.compare import RowSpec, compare_rows, gap_table, gaps_dict  # noqa: E402
from ttn.report.figures import learning_curves, reported_records  # noqa: E402
from ttn.report.formats import human_table  # noqa: E402
from ttn.report.render import TEXT_FORMATS, render  # noqa: E402
from ttn.report.tables import make_report  # noqa: E402
from ttn.report.transforms import transform_table, transforms_dict  # noqa: E402
from vmnist.errors import UserError  # noqa: E402

GOOD = {"schema": SCHEMA_VERSION, "arch": "3d", "videos": 10, "params": 10, "test_accuracy": 0.5, "val_accuracy": 0.5,
        "config": {"lr": 0.02}, "data": {}, "complete": True, "history": [{"epoch": 1, "val_accuracy": 0.5}],
        "train_indices": [0, 1]}
TRANSFORMS = {"conv1": dict.fromkeys(TRANSFORM_STATS, 0.1)}
FIELDS = (*REQUIRED_FIELDS, "history", "train_indices", "transforms", "score", "scored_epoch")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.sampled_from(FIELDS), inner,
                                                                 max_size=4),
    max_leaves=12)


def report_everything(folder: Path) -> None:
    """What `ttn report` (every format, --transforms, --curves) and `ttn compare` do with a folder."""
    load_records(folder)
    report = make_report(folder)
    human_table(report)
    for fmt in TEXT_FORMATS:
        render(report, fmt)
    transform_table(report)
    transforms_dict(report)
    learning_curves(reported_records(report))
    gaps = compare_rows([RowSpec("x", str(folder))])
    gaps_dict(gaps)
    gap_table(gaps, "3dttn", "3d")


def only_own_errors(bad: Any) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for run, arch in enumerate(["3d", "3dttn"] * 2):
            extra = {"transforms": TRANSFORMS} if arch == "3dttn" else {}
            write_record(folder, GOOD | extra | {"run_id": f"{arch}-v10-r{run // 2}", "arch": arch, "run": run // 2})
        text = bad if isinstance(bad, (str, bytes)) else json.dumps(bad)
        (folder / "3dttn-v10-r7.json").write_bytes(text if isinstance(text, bytes) else text.encode())
        try:
            report_everything(folder)
        except UserError as exc:
            assert "\n" not in str(exc), exc


FUZZ = settings(max_examples=40, deadline=None)


@FUZZ
@given(value=json_values)
def test_any_json_file_is_skipped_or_refused_with_our_error(value) -> None:
    only_own_errors(value)


@FUZZ
@given(name=st.sampled_from(FIELDS), value=json_values)
def test_any_field_of_a_record_is_skipped_or_refused_with_our_error(name, value) -> None:
    only_own_errors(GOOD | {"arch": "3dttn", "transforms": TRANSFORMS, "run_id": "3dttn-v10-r7", "run": 7} | {name: value})


@pytest.mark.parametrize("text", ["[" * 100_000, '{"run": ' + "7" * 5001 + "}", b"\xff\xfe{}", "{\"a\": NaN}", ""])
def test_json_that_python_cannot_hold_is_skipped(text) -> None:
    only_own_errors(text)
