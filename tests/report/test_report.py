"""Result records, the report, its formats, figures and the `ttn report` command, on fake records."""
import csv
import io
import json
import math
import sys

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from cli.ttn_report import print_report
from ttn.errors import TTNError
from ttn.paper import paper_table
from ttn.experiment.records import (
    SCHEMA_VERSION,
    load_records,
    make_run_id,
    parse_run_id,
    read_record,
    record_exists,
    record_path,
    write_record,
)
from ttn.report.figures import plot_accuracy, plot_curves
from ttn.report.formats import to_csv, to_json
from ttn.report.render import render
from ttn.report.tables import ReportOptions, build_report, make_report
from ttn.report.stats import PAIRED, WELCH, compare, holm, summarize

DATA = {"path": "vmnist.h5", "mnist_sha256": "ab" * 32, "seed": 0, "frames": 30, "height": 28, "width": 28,
        "format_version": 1, "generator_version": "1.0"}
PARAMS = {"3d": 496430, "3dttn": 444966, "2plus1d": 300000}


def make_record(arch, videos, run, accuracy, *, data=None, epochs=3, **overrides):
    """A complete record in the contract's schema, with a short history that rises to `accuracy` and stays there
    for its last two epochs (a run that has stopped learning: no "rising" warning)."""
    record = {
        "schema": SCHEMA_VERSION, "run_id": make_run_id(arch, videos, run), "arch": arch, "videos": videos, "run": run,
        "seed": 1000 + run, "channels": [18, 28], "theta": "similarity", "train_indices": list(range(run, run + videos)),
        "params": PARAMS[arch], "test_accuracy": accuracy, "val_accuracy": accuracy, "best_epoch": epochs - 1,
        "history": [{"epoch": e, "train_loss": 2.0 / (e + 1), "val_accuracy": accuracy * min(e + 1, epochs - 1) / (epochs - 1),
                     "lr": 0.01}
                    for e in range(epochs)],
        "config": {"lr": 0.01, "epochs": epochs, "batch_size": 20}, "data": dict(data or DATA),
        "versions": {"ttn": "0.1.0"}, "wall_time_s": 1.0, "finished_at": "2026-01-01T00:00:00", "complete": True,
    }
    record.update(overrides)
    return record


def write_records(folder, table):
    """`table`: {(arch, videos): [accuracy of run 0, run 1, ...]} (None skips a run)."""
    for (arch, videos), accuracies in table.items():
        for run, accuracy in enumerate(accuracies):
            if accuracy is not None:
                write_record(folder, make_record(arch, videos, run, accuracy))
    return folder


SWEEP = {
    ("3d", 10): [0.50, 0.60, 0.55, 0.65],
    ("3dttn", 10): [0.58, 0.66, 0.57, 0.73],
    ("3d", 100): [0.80, 0.82, 0.81],
    ("3dttn", 100): [0.79, 0.83, 0.80],
}


@pytest.fixture
def sweep_dir(tmp_path):
    return write_records(tmp_path / "results", SWEEP)


# ----------------------------------------------------------------------------------------------- records


def test_run_id_round_trip():
    assert make_run_id("3dttn", 40, 0) == "3dttn-v40-r0"
    assert make_run_id("3dttn", 40, 0, "lr0.005-c6x16") == "3dttn-v40-lr0.005-c6x16-r0"
    assert parse_run_id("2plus1d-v5000-r29") == ("2plus1d", 5000, "", 29)
    assert parse_run_id("3d-v10-lr5e-08-c6x16-r3") == ("3d", 10, "lr5e-08-c6x16", 3)
    assert parse_run_id("sweep-plan") is None
    with pytest.raises(ValueError):
        make_run_id("3d-x", 10, 0)


def test_write_record_is_atomic_and_round_trips(tmp_path):
    record = make_record("3d", 10, 0, 0.5)
    path = write_record(tmp_path / "new" / "folder", record)
    assert path == record_path(tmp_path / "new" / "folder", "3d-v10-r0")
    assert json.loads(path.read_text()) == record
    upgraded = read_record(path)  # fields added since the record was written come with the value it ran with
    assert upgraded == record | {"config": {"init_scale": 1.0} | record["config"]}
    assert [p.name for p in path.parent.iterdir()] == ["3d-v10-r0.json"]  # no temporary left behind
    assert record_exists(path.parent, "3d-v10-r0") and not record_exists(path.parent, "3d-v10-r1")


def test_torn_and_incomplete_records_are_skipped_with_a_warning(sweep_dir):
    (sweep_dir / "3d-v10-r7.json").write_text('{"schema": 1, "run_id": "3d-v1')
    write_record(sweep_dir, make_record("3d", 10, 8, 0.9, complete=False))
    (sweep_dir / "sweep-plan.json").write_text('{"runs": []}')  # not a record: ignored silently
    loaded = load_records(sweep_dir)
    assert len(loaded.records) == sum(len(v) for v in SWEEP.values())
    assert {p.name for p in loaded.skipped} == {"3d-v10-r7.json", "3d-v10-r8.json"}
    assert any("3d-v10-r7.json" in w and "JSON" in w for w in loaded.warnings)
    assert any("3d-v10-r8.json" in w and "incomplete" in w for w in loaded.warnings)
    assert not record_exists(sweep_dir, "3d-v10-r7") and not record_exists(sweep_dir, "3d-v10-r8")
    with pytest.raises(TTNError, match="3d-v10-r7.json"):
        read_record(sweep_dir / "3d-v10-r7.json")


def test_duplicate_record_is_skipped(sweep_dir):
    (sweep_dir / "copy-of-3d-v10-r0.json").write_text(json.dumps(make_record("3d", 10, 0, 0.1)))
    loaded = load_records(sweep_dir)
    assert any("duplicate" in w for w in loaded.warnings)
    assert len(loaded.records) == sum(len(v) for v in SWEEP.values())


def test_mixed_datasets_are_refused(sweep_dir):
    write_record(sweep_dir, make_record("3d", 20, 0, 0.5, data={**DATA, "seed": 1}))
    with pytest.raises(TTNError) as info:
        load_records(sweep_dir)
    message = str(info.value)
    assert "seed=0" in message and "seed=1" in message and "3d-v20-r0" in message
    assert "own folder" in message and "\n" not in message


# ----------------------------------------------------------------------------------------------- report


def test_report_cells_and_tests(sweep_dir):
    report = make_report(sweep_dir)
    assert report.baseline == "3d" and report.archs == ["3d", "3dttn"]
    assert [row.videos for row in report.rows] == [10, 100]
    row = report.rows[0]
    cell = row.cells["3dttn"]
    expected = summarize(SWEEP[("3dttn", 10)])
    assert (cell.stats.mean, cell.stats.sem, cell.stats.n, cell.params) == (
        expected.mean, expected.sem, 4, PARAMS["3dttn"])
    sig = row.significance["3dttn"]
    assert sig.test == PAIRED and sig.comparison.n_pairs == 4
    reference = compare(dict(enumerate(SWEEP[("3d", 10)])), dict(enumerate(SWEEP[("3dttn", 10)])))
    assert sig.p_value == reference.p_value and sig.significant == (reference.p_value < 0.05)
    assert "paired t-test" in report.caption()


def test_holm_correction_in_report(sweep_dir):
    report = make_report(sweep_dir, ReportOptions(correction="holm"))
    raw = [row.significance["3dttn"].p_value for row in report.rows]
    assert [row.significance["3dttn"].p_adjusted for row in report.rows] == holm(raw)
    assert "Holm" in report.caption()


def test_partial_sweep_shows_n_and_warns(tmp_path):
    folder = write_records(tmp_path, {
        ("3d", 10): [0.5, 0.6, 0.55],
        ("3dttn", 10): [0.6, None, None],  # one run: no sem, no test
        ("3d", 20): [0.7, None, 0.72],
        ("3dttn", 20): [None, 0.75, 0.74],  # runs 1 and 2 vs 0 and 2: only one pair -> Welch
        ("3d", 50): [0.8, 0.81],  # no 3dttn at 50
    })
    report = make_report(folder)
    by_size = {row.videos: row for row in report.rows}
    assert by_size[10].cells["3dttn"].stats.n == 1 and math.isnan(by_size[10].cells["3dttn"].stats.sem)
    assert by_size[10].significance["3dttn"].test is None
    assert by_size[20].significance["3dttn"].test == WELCH
    assert "3dttn" not in by_size[50].cells and "3dttn" not in by_size[50].significance
    text = " ".join(report.warnings)
    assert "partial sweep" in text and "10 videos (3d 3, 3dttn 1)" in text and "3dttn@50" in text
    assert "one run only" in text and "3dttn@10" in text
    assert "Welch" in report.caption()
    for fmt in ("markdown", "csv", "latex", "json"):
        assert render(report, fmt)  # no crash on holes


def test_runs_trained_on_different_videos_are_not_paired(tmp_path):
    for run, (a, b) in enumerate([(0.5, 0.6), (0.6, 0.65), (0.55, 0.7)]):
        write_record(tmp_path, make_record("3d", 10, run, a))
        write_record(tmp_path, make_record("3dttn", 10, run, b, train_indices=[99, run]))
    report = make_report(tmp_path)
    assert report.rows[0].significance["3dttn"].test == WELCH
    assert any("different videos" in w for w in report.warnings)


def test_baseline_choice_and_three_archs(tmp_path):
    folder = write_records(tmp_path, {("3d", 10): [0.5, 0.6], ("3dttn", 10): [0.6, 0.7], ("2plus1d", 10): [0.55, 0.58]})
    report = make_report(folder)
    assert report.archs == ["3d", "2plus1d", "3dttn"]
    assert set(report.rows[0].significance) == {"2plus1d", "3dttn"}
    other = make_report(folder, ReportOptions(baseline="3dttn"))
    assert other.archs[0] == "3dttn" and set(other.rows[0].significance) == {"2plus1d", "3d"}
    with pytest.raises(TTNError, match="--baseline 4d"):
        make_report(folder, ReportOptions(baseline="4d"))


def test_empty_folder_error(tmp_path):
    with pytest.raises(TTNError, match="ttn sweep"):
        make_report(tmp_path)
    with pytest.raises(TTNError, match="does not exist"):
        make_report(tmp_path / "missing")
    with pytest.raises(TTNError):
        build_report([])


# ----------------------------------------------------------------------------------------------- formats


def test_csv_parses_back_at_full_precision(sweep_dir):
    report = make_report(sweep_dir, ReportOptions(compare_paper=True))
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [int(row["videos"]) for row in rows] == [10, 100]
    assert float(rows[0]["3dttn_mean"]) == summarize(SWEEP[("3dttn", 10)]).mean
    assert float(rows[0]["3d_sem"]) == summarize(SWEEP[("3d", 10)]).sem
    assert int(rows[0]["3d_n"]) == 4 and int(rows[1]["3dttn_params"]) == PARAMS["3dttn"]
    assert float(rows[0]["3dttn_vs_3d_p_value"]) == report.rows[0].significance["3dttn"].p_value
    assert rows[0]["3dttn_vs_3d_test"] == "paired"
    paper = {(r.arch, r.videos): r for r in paper_table()}
    assert float(rows[1]["paper_3dttn_mean"]) == paper[("3dttn", 100)].mean_accuracy


def test_json_parses_back_at_full_precision(sweep_dir):
    report = make_report(sweep_dir, ReportOptions(correction="holm"))
    data = json.loads(to_json(report))
    assert data["baseline"] == "3d" and data["correction"] == "holm" and data["tests_used"] == ["paired"]
    cell = data["rows"][0]["archs"]["3dttn"]
    assert cell["mean"] == summarize(SWEEP[("3dttn", 10)]).mean
    assert cell["n"] == 4 and cell["params"] == PARAMS["3dttn"] and cell["runs"] == [0, 1, 2, 3]
    sig = report.rows[0].significance["3dttn"]
    assert cell["p_value"] == sig.p_value and cell["p_adjusted"] == sig.p_adjusted and cell["test"] == "paired"
    assert data["rows"][0]["archs"]["3d"]["p_value"] is None


def test_json_has_null_for_missing_sem(tmp_path):
    folder = write_records(tmp_path, {("3d", 10): [0.5], ("3dttn", 10): [0.6]})
    data = json.loads(render(make_report(folder), "json"))
    assert data["rows"][0]["archs"]["3d"]["sem"] is None and data["rows"][0]["archs"]["3dttn"]["p_value"] is None


def test_markdown_rows(sweep_dir):
    text = render(make_report(sweep_dir, ReportOptions(compare_paper=True)), "markdown")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "videos" and "3dttn acc" in header and "paper 3d acc" in header
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[0] for row in rows] == ["10", "100"] and all(len(row) == len(header) for row in rows)
    mean = summarize(SWEEP[("3d", 10)])
    assert rows[0][header.index("3d acc")] == f"{mean.mean:.3f} ± {mean.sem:.4f}"
    assert rows[0][header.index("paper 3d acc")] == "0.374 ± 0.0122"
    assert "paired t-test" in text


def test_latex_contains_rows(sweep_dir):
    text = render(make_report(sweep_dir), "latex")
    assert text.startswith("% needs \\usepackage{booktabs}\n\\begin{table}") and r"\end{tabular}" in text
    assert any(line.startswith("10 & ") for line in text.splitlines())
    assert any(line.startswith("100 & ") for line in text.splitlines())
    assert r"$\pm$" in text and "ttest\\_rel" in text and "±" not in text


# ----------------------------------------------------------------------------------------------- figures


def test_plots_are_written(sweep_dir, tmp_path):
    report = make_report(sweep_dir, ReportOptions(compare_paper=True))
    png = plot_accuracy(report, tmp_path / "fig3.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    svg = plot_accuracy(report, tmp_path / "fig3.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    curves = plot_curves(report, tmp_path / "curves.png")
    assert curves.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(TTNError, match=".png"):
        plot_accuracy(report, tmp_path / "fig3.gif")


def test_plot_without_matplotlib_says_how_to_install(sweep_dir, tmp_path, monkeypatch):
    report = make_report(sweep_dir)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(TTNError, match=r"pip install -e \.\[plot\]"):
        plot_accuracy(report, tmp_path / "fig3.png")


def test_curves_need_history(tmp_path):
    for run in range(2):
        write_record(tmp_path, make_record("3d", 10, run, 0.5 + run / 10, history=[]))
    with pytest.raises(TTNError, match="history"):
        plot_curves(make_report(tmp_path), tmp_path / "curves.png")


# ----------------------------------------------------------------------------------------------- CLI


def _run(*args):
    return CliRunner().invoke(main, ["report", *map(str, args)])


def test_cli_table(sweep_dir):
    result = _run(sweep_dir)
    assert result.exit_code == 0, result.output
    assert "paired t-test" in result.stdout and "3dttn" in result.stdout and "0.588" not in result.stdout
    assert result.stderr == ""


def test_cli_formats_out_and_plots(sweep_dir, tmp_path):
    result = _run(sweep_dir, "--format", "json", "--compare-paper", "--correct", "holm")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"][0]["paper"]["3d"]["mean"] == 0.374
    out = tmp_path / "table.csv"
    result = _run(sweep_dir, "--format", "csv", "--out", out, "--plot", tmp_path / "f.png", "--curves", tmp_path / "c.pdf")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "wrote" in result.stderr
    assert len(list(csv.reader(io.StringIO(out.read_text())))) == 3
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"


def test_cli_warnings_go_to_stderr(tmp_path):
    folder = write_records(tmp_path / "r", {("3d", 10): [0.5, 0.6], ("3dttn", 10): [0.6, None]})
    (folder / "3d-v10-r5.json").write_text("{")
    result = _run(folder)
    assert result.exit_code == 0, result.output
    assert "partial sweep" in result.stderr and "3d-v10-r5.json" in result.stderr
    assert "warning:" not in result.stdout and "partial sweep" not in result.stdout


@pytest.mark.parametrize("setup, args, needle", [
    ("missing", [], "ttn sweep"),
    ("empty", [], "ttn sweep"),
    ("mixed", [], "different datasets"),
    ("sweep", ["--baseline", "4d"], "--baseline 4d"),
])
def test_cli_user_errors_are_one_line(tmp_path, setup, args, needle):
    folder = tmp_path / "results"
    if setup != "missing":
        folder.mkdir()
    if setup in ("mixed", "sweep"):
        write_records(folder, SWEEP)
    if setup == "mixed":
        write_record(folder, make_record("3d", 20, 0, 0.5, data={**DATA, "mnist_sha256": "cd" * 32}))
    result = _run(folder, *args)
    assert result.exit_code == 1
    assert needle in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--plot", "fig.gif"], ["--alpha", "1.5"], ["--format", "xml"], ["--correct", "bonf"]])
def test_cli_bad_options_exit_2(sweep_dir, args):
    result = _run(sweep_dir, *args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_print_report_for_sweep(sweep_dir, capsys):
    report = print_report(sweep_dir, fmt="markdown")
    assert report.rows and "| 10 |" in capsys.readouterr().out


def test_a_full_disk_while_drawing_names_the_figure(sweep_dir, tmp_path, monkeypatch):
    import errno

    from matplotlib.figure import Figure

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # a write names no file

    monkeypatch.setattr(Figure, "savefig", full_disk)
    result = CliRunner().invoke(main, ["report", str(sweep_dir), "--plot", str(tmp_path / "fig.png")])
    assert result.exit_code == 1 and f"No space left on device: {tmp_path / 'fig.png'}" in result.output
    assert not list(tmp_path.glob(".*")) and "Traceback" not in result.output
