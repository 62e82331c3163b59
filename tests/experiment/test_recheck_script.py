"""docs/experiments/paper-protocol/recheck.py (numpy and scipy on the record files) against `ttn compare` on the
committed paper-protocol records: the same picks, pairs, gaps, intervals and p-values at every size with fresh
runs, so the table on docs/results.md is checked by code that shares nothing with the report's."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "experiments" / "paper-protocol"


def _module():
    spec = importlib.util.spec_from_file_location("recheck", FOLDER / "recheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recheck():
    return _module().recheck(FOLDER)


def test_recheck_agrees_with_ttn_compare_on_the_committed_records():
    from ttn.report.compare import compare_rows, parse_row
    from ttn.report.tables import ReportOptions

    rows = _recheck()
    assert [row["videos"] for row in rows][:4] == [10, 20, 30, 40]  # complete when this test was written
    gaps = {gap.videos: gap for gap in compare_rows([parse_row(f"paper={FOLDER}")], options=ReportOptions())
            if gap.videos is not None}
    tested = {videos for videos, gap in gaps.items() if gap.comparison and gap.comparison.p_value is not None}
    assert tested == {row["videos"] for row in rows}  # no size one of them reports and the other does not
    for row in rows:
        gap = gaps[row["videos"]]
        assert (gap.baseline.selection.chosen.config["lr"], gap.treatment.selection.chosen.config["lr"]) == \
            (row["3d_lr"], row["3dttn_lr"])
        assert gap.comparison.n_pairs == row["pairs"]
        assert gap.comparison.difference == pytest.approx(row["gap"], abs=1e-12)
        assert gap.comparison.ci95 == pytest.approx(row["ci"], abs=1e-12)
        assert gap.comparison.p_value == pytest.approx(row["p"], rel=1e-9)


@pytest.mark.parametrize("claim", ["10-50 videos", "above 100 videos"])
def test_recheck_agrees_with_ttn_compare_on_the_papers_summary_claims(claim):
    """The pooled rows of docs/results.md's two summary-claim tables (per fresh run, the gap averaged over the
    sizes, then a t-test over the runs every size pairs): the same runs, gap, interval and p from the files alone."""
    from ttn.report.compare import compare_rows, parse_row
    from ttn.report.tables import ReportOptions

    module = _module()
    sizes = module.CLAIMS[claim]
    expected = module.pooled(module.recheck(FOLDER), sizes)
    gap = compare_rows([parse_row(f"claim={FOLDER}")], sizes=sizes, options=ReportOptions())[-1]
    assert gap.videos is None and gap.pooled == tuple(sizes)
    assert gap.comparison.n_pairs == expected["pairs"] == (20 if claim == "10-50 videos" else 3)
    assert gap.comparison.difference == pytest.approx(expected["gap"], abs=1e-12)
    assert gap.comparison.ci95 == pytest.approx(expected["ci"], abs=1e-12)
    assert gap.comparison.p_value == pytest.approx(expected["p"], rel=1e-9)


def test_recheck_breaks_an_exact_tie_as_the_race_does():
    """The 3DTTN at 100 videos: lr 0.000625 and 0.0025 have 2,739 of 3,000 validation videos right over runs 0-9
    (float means 0.9129999999999999 and 0.913); the better over the race runs 0-1, 0.000625, wins, as in the race."""
    import json

    module = _module()
    by_lr = {lr: {run: json.loads((FOLDER / f"3dttn-v100-lr{lr}-r{run}.json").read_text()) for run in range(10)}
             for lr in ("0.000625", "0.0025")}
    keys = {lr: module.pick_key(runs, list(range(10)), 2, float(lr)) for lr, runs in by_lr.items()}
    assert keys["0.000625"][0] == keys["0.0025"][0] == 0.913  # level over the selection runs
    assert max(keys, key=keys.get) == "0.000625"
