"""Model selection on validation (ttn.report.selection, `ttn report --select/--where`), on crafted records."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.errors import TTNError
from ttn.experiment.records import SCHEMA_VERSION, make_run_id, write_record
from ttn.report.formats import report_dict
from ttn.report.selection import format_value, parse_where, select, where
from ttn.report.tables import ReportOptions, build_report

DATA = {"mnist_sha256": "ab" * 32, "seed": 0, "frames": 30, "height": 28, "width": 28, "generator_version": "1.0"}


def record(arch: str, videos: int, run: int, *, lr: float, val: float, test: float, **config: object) -> dict:
    """A complete record of one candidate (lr and `config` options) with the given accuracies."""
    config = {"lr": lr, "epochs": 40, "channels": [6, 16], "batch_size": 10, "device": "cpu", **config}
    tag = f"lr{lr:g}" + "".join(f"-{k}{format_value(v)}" for k, v in sorted(config.items()) if k not in
                                ("lr", "epochs", "channels", "batch_size", "device"))
    return {"schema": SCHEMA_VERSION, "run_id": make_run_id(arch, videos, run, tag), "arch": arch, "videos": videos,
            "run": run, "params": 1000, "test_accuracy": test, "val_accuracy": val, "config": config,
            "train_indices": list(range(videos)), "data": dict(DATA), "complete": True}


def cell_of(report, arch: str, videos: int):
    return next(row.cells[arch] for row in report.rows if row.videos == videos)


def test_selection_reads_validation_never_test() -> None:
    # lr 0.01 has the best validation and the worst test accuracy: it must be the one reported
    records = [record("3d", 10, run, lr=0.01, val=0.60, test=0.30) for run in range(3)]
    records += [record("3d", 10, run, lr=0.02, val=0.50, test=0.90) for run in range(3)]
    cell = cell_of(build_report(records), "3d", 10)
    assert cell.selection.chosen.options == {"lr": 0.01}
    assert cell.stats.mean == pytest.approx(0.30) and cell.stats.n == 3
    # swapping the test accuracies changes nothing in the choice
    swapped = [dict(r, test_accuracy=1.0 - r["test_accuracy"]) for r in records]
    assert cell_of(build_report(swapped), "3d", 10).selection.chosen.options == {"lr": 0.01}


def test_a_run_trained_again_for_its_test_is_selected_by_its_first_validation() -> None:
    """A run whose test needed it trained again elsewhere (`retrained_for_test`) counts in the choice with the
    validation accuracy the choice was made on, not the new run's."""
    from ttn.experiment.records import selection_val_accuracy

    records = [record("3d", 10, run, lr=0.01, val=0.60, test=0.7) for run in range(3)]
    records += [record("3d", 10, run, lr=0.02, val=0.55, test=0.6) for run in range(3)]
    records[:3] = [r | {"val_accuracy": 0.50, "retrained_for_test": {"val_accuracy": 0.60, "versions": None}}
                   for r in records[:3]]
    assert [selection_val_accuracy(r) for r in records] == [0.60] * 3 + [0.55] * 3
    assert select("3d", 10, records).chosen.options == {"lr": 0.01}
    plain = [{k: v for k, v in r.items() if k != "retrained_for_test"} for r in records]
    assert select("3d", 10, plain).chosen.options == {"lr": 0.02}  # what reading the new accuracies would pick


def test_ties_go_to_more_runs_then_the_first_by_value_with_a_warning() -> None:
    records = [record("3d", 10, run, lr=lr, val=0.5, test=0.1 * run) for lr in (0.02, 0.005, 0.01) for run in range(2)]
    selection = select("3d", 10, records)
    assert [c.options["lr"] for c in selection.candidates] == [0.005, 0.01, 0.02]  # numeric order, not text
    assert selection.chosen.options == {"lr": 0.005} and "tie" in selection.warnings[0]


def test_a_tie_is_the_same_tie_in_a_race_and_outside_one() -> None:
    """Selection without a race compares means as the race does (`racing.mean_over`, 10 decimals): two means
    3e-12 apart are one tie for both, so the first by value is picked and the tie is said, as `ranked` orders them."""
    from ttn.experiment.racing import ranked

    records = [record("3d", 10, run, lr=0.005, val=0.5, test=0.5) for run in range(2)]
    records += [record("3d", 10, run, lr=0.01, val=0.5 + 3e-12 * (run == 0), test=0.5) for run in range(2)]
    selection = select("3d", 10, records)
    assert selection.chosen.options == {"lr": 0.005} and "2 candidates tie" in selection.warnings[0]
    val = {c.options["lr"]: c.val for c in selection.candidates}
    assert ranked([0.005, 0.01], val, [0, 1]) == [0.005, 0.01]
    assert selection.candidates[1].mean_over([0, 1]) == selection.candidates[0].mean_over([0, 1]) == 0.5


def test_candidates_are_compared_on_the_runs_they_share() -> None:
    # lr 0.01 is ahead only thanks to run 3, which lr 0.02 has not reached yet: compared on runs 0-2, 0.02 wins
    records = [record("3d", 10, run, lr=0.01, val=v, test=0.5) for run, v in enumerate([0.40, 0.40, 0.40, 0.99])]
    records += [record("3d", 10, run, lr=0.02, val=0.45, test=0.5) for run in range(3)]
    selection = select("3d", 10, records)
    assert selection.chosen.options == {"lr": 0.02} and selection.compared_on == [0, 1, 2]
    assert "different runs" in selection.warnings[0]
    report = build_report(records)
    cells = {c["arch"]: c for c in report_dict(report)["cells"]}
    by_lr = {c["options"]["lr"]: c for c in cells["3d"]["candidates"]}
    assert by_lr[0.01]["n"] == 4 and by_lr[0.01]["val_mean"] == pytest.approx(0.5475)
    assert by_lr[0.01]["val_mean_compared"] == pytest.approx(0.40) and by_lr[0.02]["selected"]


def test_without_shared_runs_each_candidate_counts_its_own() -> None:
    records = [record("3d", 10, 0, lr=0.01, val=0.3, test=0.5), record("3d", 10, 1, lr=0.02, val=0.4, test=0.5)]
    selection = select("3d", 10, records)
    assert selection.chosen.options == {"lr": 0.02} and "no shared run" in selection.warnings[0]


def test_json_cells_and_the_paired_test_use_the_selected_candidates() -> None:
    records = [record(arch, 10, run, lr=lr, val=val, test=test + 0.01 * run)
               for run in range(4)
               for arch, lr, val, test in [("3d", 0.01, 0.5, 0.40), ("3d", 0.02, 0.6, 0.50),
                                           ("3dttn", 0.005, 0.7, 0.70), ("3dttn", 0.02, 0.4, 0.10)]]
    data = report_dict(build_report(records))
    cells = {(c["arch"], c["videos"]): c for c in data["cells"]}
    assert set(cells[("3d", 10)]) >= {"arch", "videos", "mean", "sem", "n", "selected", "candidates"}
    assert cells[("3d", 10)]["selected"] == {"lr": 0.02} and cells[("3dttn", 10)]["selected"] == {"lr": 0.005}
    assert cells[("3dttn", 10)]["mean"] == pytest.approx(0.715) and cells[("3dttn", 10)]["n"] == 4
    assert [c["options"] for c in cells[("3d", 10)]["candidates"]] == [{"lr": 0.01}, {"lr": 0.02}]
    row = data["rows"][0]["archs"]["3dttn"]
    assert row["test"] == "paired" and row["n_pairs"] == 4 and row["selected"] == {"lr": 0.005}


def test_select_none_refuses_several_candidates_and_where_filters() -> None:
    records = [record("3d", 10, run, lr=lr, val=0.5, test=0.5) for lr in (0.01, 0.02) for run in range(2)]
    with pytest.raises(TTNError, match="2 candidate configs .*differ in lr.*--where"):
        build_report(records, ReportOptions(select_rule="none"))
    kept = where(records, parse_where(["lr=2e-2"]))
    assert {r["config"]["lr"] for r in kept} == {0.02}
    assert build_report(kept, ReportOptions(select_rule="none")).rows[0].cells["3d"].stats.n == 2
    # an option that does not apply to an arch (None) passes a filter on it
    frozen = [record("3dttn", 10, 0, lr=0.01, val=0.5, test=0.5, freeze_transforms=True),
              record("3d", 10, 0, lr=0.01, val=0.5, test=0.5, freeze_transforms=None)]
    assert len(where(frozen, parse_where(["freeze_transforms=true"]))) == 2
    assert len(where(frozen, parse_where(["freeze-transforms=false"]))) == 1
    with pytest.raises(TTNError, match="no such option"):
        where(records, parse_where(["lrr=0.1"]))
    with pytest.raises(TTNError, match="KEY=VALUE"):
        parse_where(["lr"])


def test_conv_init_filter_names_the_model_each_arch_draws() -> None:
    # a 3DTTN's default and tied inits draw its He K0 (recorded as "he"): conv_init=default keeps it, as it keeps
    # the 3D model at PyTorch's default, and drops the 3D model's He and tied grids
    records = [record("3dttn", 10, 0, lr=0.01, val=0.5, test=0.5, conv_init="he"),
               record("3d", 10, 0, lr=0.01, val=0.5, test=0.5, conv_init="default"),
               record("3d", 10, 0, lr=0.01, val=0.5, test=0.5, conv_init="he"),
               record("3d", 10, 0, lr=0.01, val=0.5, test=0.5, conv_init="tied")]
    kept = lambda spec: [(r["arch"], r["config"]["conv_init"]) for r in where(records, parse_where([spec]))]
    assert kept("conv_init=default") == [("3dttn", "he"), ("3d", "default")]
    assert kept("conv_init=Tied") == [("3dttn", "he"), ("3d", "tied")]
    assert kept("conv_init=he") == [("3dttn", "he"), ("3d", "he")]
    assert kept("conv_init=normal") == []


def test_cli_report_selects_and_filters(tmp_path) -> None:
    for run in range(3):
        for lr, val, test in [(0.01, 0.6, 0.3), (0.02, 0.5, 0.9)]:
            write_record(tmp_path, record("3d", 10, run, lr=lr, val=val, test=test))
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cells"][0]["selected"] == {"lr": 0.01}
    table = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert "lr 0.01" in table.stdout and "0.300" in table.stdout and "0.900" not in table.stdout
    refused = CliRunner().invoke(main, ["report", str(tmp_path), "--select", "none"])
    assert refused.exit_code == 1 and "differ in lr" in refused.output and "Traceback" not in refused.output
    kept = CliRunner().invoke(main, ["report", str(tmp_path), "--select", "none", "--where", "lr=0.02"])
    assert kept.exit_code == 0 and "0.900" in kept.stdout


def test_compare_rows_gap_per_size_with_holm(tmp_path) -> None:
    from ttn.report.compare import compare_rows, parse_row

    for run in range(4):
        for arch, lr, val, test in [("3d", 0.01, 0.5, 0.50), ("3d", 0.02, 0.6, 0.55),
                                    ("3dttn", 0.01, 0.7, 0.60), ("3dttn", 0.02, 0.4, 0.40)]:
            write_record(tmp_path, record(arch, 10, run, lr=lr, val=val, test=test + 0.01 * run * (arch == "3dttn")))
    gaps = compare_rows([parse_row("shared=" + str(tmp_path) + "?lr=0.02"), parse_row(f"selected={tmp_path}")])
    shared, selected = gaps
    assert (shared.row, selected.row) == ("shared", "selected") and shared.videos == 10
    assert shared.difference.n == 4 and shared.difference.mean == pytest.approx(0.40 + 0.015 - 0.55)
    assert selected.difference.mean == pytest.approx(0.60 + 0.015 - 0.55)  # 3dttn lr 0.01 vs 3d lr 0.02, by validation
    raw = [gap.comparison.p_value for gap in gaps]
    assert [gap.p_adjusted for gap in gaps] == pytest.approx([min(1.0, 2 * min(raw)), max(raw)]) or \
        [gap.p_adjusted for gap in gaps] == pytest.approx([max(raw), min(1.0, 2 * min(raw))])
    with pytest.raises(TTNError, match="NAME=FOLDER"):
        parse_row("nofolder")
    result = CliRunner().invoke(main, ["compare", "--row", f"a={tmp_path}", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["difference"]["n_pairs"] == 4


def test_report_transforms_table_averages_the_selected_runs(tmp_path) -> None:
    from ttn.report.transforms import transform_table

    stats = {"rotation_deg_mean": 1.0, "rotation_deg_max": 12.0, "shift_px_mean": 0.5, "shift_px_max": 2.0,
             "log_scale_mean": 0.01, "log_scale_max": 0.1}
    records = [dict(record("3dttn", 10, run, lr=0.01, val=0.6, test=0.5),
                    transforms={"conv1": {k: v * (run + 1) for k, v in stats.items()}}) for run in range(2)]
    records += [dict(record("3dttn", 10, run, lr=0.02, val=0.4, test=0.5), transforms={"conv1": stats}) for run in range(2)]
    header, rows = transform_table(build_report(records))
    assert rows == [["10", "3dttn", "lr 0.01", "conv1", "1.50", "18.00", "0.75", "3.00", "0.015", "0.150"]]
    assert report_dict(build_report(records))["transforms"][0]["layers"]["conv1"]["rotation_deg_max"] == 18.0


def test_learning_curves_follow_the_selected_candidate_only() -> None:
    from ttn.report.figures import learning_curves, reported_records

    records = []
    for run in range(2):
        for lr, val in [(0.01, 0.6), (0.02, 0.4)]:
            rec = record("3d", 10, run, lr=lr, val=val, test=0.5)
            rec["history"] = [{"epoch": 1, "val_accuracy": val}]
            records.append(rec)
    curves = learning_curves(reported_records(build_report(records)))
    assert curves[("3d", 10)][1] == [pytest.approx(0.6)] and curves[("3d", 10)][3] == [2]


def test_compare_arms_of_one_arch_with_filters(tmp_path) -> None:
    from ttn.report.compare import compare_rows, parse_row

    for run in range(3):
        write_record(tmp_path, record("3dttn", 10, run, lr=0.01, val=0.6, test=0.70 + 0.01 * run, freeze_transforms=False))
        write_record(tmp_path, record("3dttn", 10, run, lr=0.01, val=0.5, test=0.60, freeze_transforms=True))
    (gap,) = compare_rows([parse_row(f"learned vs frozen={tmp_path}")], treatment="3dttn?freeze_transforms=false",
                          baseline="3dttn?freeze_transforms=true")
    assert gap.difference.n == 3 and gap.difference.mean == pytest.approx(0.11)


def test_an_init_asymmetry_is_warned_about_until_the_3d_uses_the_same_rule() -> None:
    tt = [record("3dttn", 10, run, lr=0.0025, val=0.6, test=0.6, conv_init="default") for run in range(2)]
    legacy = [record("3d", 10, run, lr=0.02, val=0.5, test=0.5, conv_init="default") for run in range(2)]
    he = [record("3d", 10, run, lr=0.005, val=0.7, test=0.7, conv_init="he") for run in range(2)]
    assert any("sqrt(6)" in w and "--conv-init he" in w for w in build_report(tt + legacy).warnings)
    # once selection (on validation) picks the he candidate, or no 3DTTN is in the table, nothing to say
    assert not any("sqrt(6)" in w for w in build_report(tt + legacy + he).warnings)
    assert not any("sqrt(6)" in w for w in build_report(legacy).warnings)
