"""Fuzzing the record loader: a results folder holding any JSON at all (a whole file, or one field of a record) beside
four good records is reported or refused with ttn's own one-line error, never another exception, and the outcome is
checked, not only the absence of an exception: a bad record (one `check_record` turns down) is skipped, and the
warnings of the loader, of the report and of its JSON name its file and say why; the good records are all reported;
a record that passes the checks is reported; a refusal names the record it refuses over."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ttn.experiment.records import (REQUIRED_FIELDS, SCHEMA_VERSION, check_record, load_records,  # noqa: E402
                                    write_record)
from ttn.registry import TRANSFORM_STATS  # noqa: E402
from ttn.report.compare import RowSpec, compare_rows, gap_table, gaps_dict  # noqa: E402
from ttn.report.figures import learning_curves, reported_records  # noqa: E402
from ttn.report.formats import human_table  # noqa: E402
from ttn.report.render import TEXT_FORMATS, render  # noqa: E402
from ttn.report.tables import Report, make_report  # noqa: E402
from ttn.report.transforms import transform_table, transforms_dict  # noqa: E402
from vmnist.infra.errors import UserError  # noqa: E402

GOOD = {"schema": SCHEMA_VERSION, "arch": "3d", "videos": 10, "params": 10, "test_accuracy": 0.5, "val_accuracy": 0.5,
        "config": {"lr": 0.02}, "data": {}, "complete": True, "history": [{"epoch": 1, "val_accuracy": 0.5}],
        "train_indices": [0, 1]}
TRANSFORMS = {"conv1": dict.fromkeys(TRANSFORM_STATS, 0.1)}
FIELDS = (*REQUIRED_FIELDS, "history", "train_indices", "transforms", "score", "scored_epoch")
#: The file the fuzzed JSON is written to, beside the good records of `GOOD_RUNS`.
BAD_FILE = "3dttn-v10-r7.json"
GOOD_RUNS = ("3d-v10-r0", "3dttn-v10-r0", "3d-v10-r1", "3dttn-v10-r1")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.sampled_from(FIELDS), inner,
                                                                 max_size=4),
    max_leaves=12)


def report_everything(folder: Path) -> Report:
    """What `ttn report` (every format, --transforms, --curves) and `ttn compare` do with a folder; the report."""
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
    return report


def warning_about_bad_file(warnings: list[str]) -> str:
    """The one warning that names BAD_FILE."""
    named = [warning for warning in warnings if BAD_FILE in warning]
    assert len(named) == 1, warnings
    return named[0]


def check_skipped(report: Report, warning: str) -> None:
    """BAD_FILE is left out of the report, and the report's warnings, in its JSON too, name it as the loader did."""
    assert sorted(record["run_id"] for record in report.records) == sorted(GOOD_RUNS)
    assert warning_about_bad_file(report.warnings) == warning
    assert warning_about_bad_file(json.loads(render(report, "json"))["warnings"]) == warning


def outcome(bad: Any) -> str:
    """Write the good records and `bad` (JSON text, bytes, or a value to dump) as BAD_FILE, check what the loader
    and every reader make of the folder, and say which it was: "skipped", "loaded" or "refused"."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for run_id in GOOD_RUNS:
            arch, _, run = run_id.partition("-v10-r")
            extra = {"transforms": TRANSFORMS} if arch == "3dttn" else {}
            write_record(folder, GOOD | extra | {"run_id": run_id, "arch": arch, "run": int(run)})
        text = bad if isinstance(bad, (str, bytes)) else json.dumps(bad)
        (folder / BAD_FILE).write_bytes(text if isinstance(text, bytes) else text.encode())
        try:
            loaded = load_records(folder)
        except UserError as exc:  # records of two datasets: refused, naming the record that differs
            assert "\n" not in str(exc) and "3dttn-v10-r7" in str(exc), exc
            return "refused"
        try:
            report = report_everything(folder)
        except UserError as exc:
            assert "\n" not in str(exc), exc
            report = None
        if not loaded.skipped:
            assert len(loaded.records) == len(GOOD_RUNS) + 1, loaded.warnings
            return "loaded"
        assert loaded.skipped == [folder / BAD_FILE] and len(loaded.records) == len(GOOD_RUNS)
        warning = warning_about_bad_file(loaded.warnings)
        assert warning.startswith(f"skipped {BAD_FILE}: ") and warning.removeprefix(f"skipped {BAD_FILE}: ").strip()
        assert report is not None, "the good records make a report"
        check_skipped(report, warning)
        return "skipped"


FUZZ = settings(max_examples=40, deadline=None)


#: The seventh run of the 3DTT arch, a good record until one of its fields is changed.
SEVENTH = GOOD | {"arch": "3dttn", "transforms": TRANSFORMS, "run_id": "3dttn-v10-r7", "run": 7}


@FUZZ
@given(value=json_values)
def test_any_json_file_is_skipped_and_named(value) -> None:
    """No value the strategy draws is a record (a record has 11 required fields, a drawn object at most 4)."""
    assert outcome(value) == "skipped"


@FUZZ
@given(name=st.sampled_from(FIELDS), value=json_values)
def test_any_field_of_a_record_is_skipped_and_named_or_reported(name, value) -> None:
    """Skipped and named if `check_record` turns the record down or it repeats a good run (run 0 or 1), else
    reported; or refused, if its data is another dataset's."""
    record = SEVENTH | {name: value}
    repeats = name == "run" and type(value) is int and value in (0, 1)
    if check_record(record) or repeats:
        assert outcome(record) == "skipped"
    else:
        assert outcome(record) in ({"loaded", "refused"} if name == "data" else {"loaded"})


def test_a_record_repeating_a_good_run_is_skipped_and_named() -> None:
    assert outcome(SEVENTH | {"run": 0}) == "skipped"


@pytest.mark.parametrize("field, value", [
    ("schema", 99), ("arch", 5), ("arch", "4d"), ("videos", 7), ("videos", "ten"), ("run", -1), ("params", 0),
    ("test_accuracy", 1.5), ("val_accuracy", None), ("config", {"lr": {"nested": 1}}), ("data", []),
    ("complete", False), ("history", "x"), ("history", [{"epoch": "one"}]), ("train_indices", [-1]),
    ("transforms", {"conv1": {}}),
])
def test_each_bad_field_is_skipped_and_named(field, value) -> None:
    """Known bad values, one per check (so that the fuzzing above is not all that tells a skip from a report)."""
    assert outcome(SEVENTH | {field: value}) == "skipped"


def test_a_missing_field_is_skipped_and_named() -> None:
    record = {key: value for key, value in SEVENTH.items() if key != "params"}
    assert outcome(record) == "skipped"


def test_a_good_seventh_run_is_reported() -> None:
    assert outcome(SEVENTH) == "loaded"


@pytest.mark.parametrize("text", ["[" * 100_000, '{"run": ' + "7" * 5001 + "}", b"\xff\xfe{}", "{\"a\": NaN}", ""])
def test_json_that_python_cannot_hold_is_skipped_and_named(text) -> None:
    assert outcome(text) == "skipped"
