"""Results any tool reads (issue 20, section 3): the tidy records formats for pandas, LaTeX with booktabs, tables
that fit 80 columns without cutting a number, and the self-contained HTML page, loaded in a real Chromium."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ttn.experiment.records import SCHEMA_VERSION, make_run_id, write_record
from ttn.report.formats import human_table
from ttn.report.render import render
from ttn.report.tables import make_report
from ttn.report.tidy import CANDIDATE_COLUMNS, RUN_COLUMNS, tidy_rows

DATA = {"mnist_sha256": "ab" * 32, "seed": 0, "frames": 30, "height": 28, "width": 28, "generator_version": "2.0"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def record(arch: str, videos: int, run: int, lr: float, val: float, test: float) -> dict:
    config = {"lr": lr, "epochs": 4, "channels": [6, 16], "conv_init": "he", "device": "cpu"}
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_accuracy": val * min(e, 3) / 3, "lr": lr} for e in range(1, 5)]
    return {"schema": SCHEMA_VERSION, "run_id": make_run_id(arch, videos, run, f"lr{lr:g}"), "arch": arch,
            "videos": videos, "run": run, "params": 263906 if arch == "3d" else 254058, "test_accuracy": test,
            "val_accuracy": val, "config": config, "train_indices": list(range(videos)), "history": history,
            "data": dict(DATA), "complete": True}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    for videos in (10, 20, 50):
        for run in range(3):
            for arch in ("3d", "3dttn"):
                for lr, val in ((0.005, 0.6), (0.01, 0.5)):
                    test = 0.5 + 0.01 * run + 0.002 * videos + (0.03 * run * run if arch == "3dttn" else 0.0)
                    write_record(out, record(arch, videos, run, lr, val + 0.001 * videos, test))
    return out


def test_tidy_rows_one_per_candidate_and_per_run_with_test_accuracy_of_the_selected_only(folder) -> None:
    report = make_report(folder)
    rows = tidy_rows(report)
    assert len(rows) == 3 * 2 * 2  # sizes x archs x candidates
    assert all(list(row)[: len(CANDIDATE_COLUMNS)] == list(CANDIDATE_COLUMNS) for row in rows)
    assert {tuple(row) for row in rows} == {tuple(rows[0])}  # every row has the same columns
    selected = [row for row in rows if row["selected"]]
    assert len(selected) == 6 and all(row["lr"] == 0.005 and row["test_mean"] is not None for row in selected)
    assert all(row["test_mean"] is None for row in rows if not row["selected"])
    assert rows[0]["channels"] == "6x16" and "device" not in rows[0]
    per_run = tidy_rows(report, runs=True)
    assert len(per_run) == 3 * 2 * 2 * 3 and list(per_run[0])[: len(RUN_COLUMNS)] == list(RUN_COLUMNS)
    assert {row["test_accuracy"] is None for row in per_run if not row["selected"]} == {True}


def test_pandas_reads_the_records_formats_as_they_are(folder) -> None:
    pd = pytest.importorskip("pandas")
    report = make_report(folder)
    lines = pd.read_json(io.StringIO(render(report, "records")), lines=True)
    table = pd.read_csv(io.StringIO(render(report, "records-csv")))
    assert lines.shape == table.shape == (12, len(CANDIDATE_COLUMNS) + 5)  # + options: channels, conv_init, epochs, lr
    assert list(lines.columns) == list(table.columns)
    chosen = table[table["selected"]].set_index(["arch", "videos"])["test_mean"]
    assert chosen[("3d", 10)] == pytest.approx(report.rows[0].cells["3d"].stats.mean)
    runs = pd.read_json(io.StringIO(render(report, "records", runs=True)), lines=True)
    assert len(runs) == 36 and runs["run"].max() == 2


def readme_recipe(marker: str) -> tuple[str, str]:
    """The shell block and the python block that follow `marker` in the README."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shell, python = re.findall(r"^```(?:bash|python)\n(.*?)^```", text[text.index(marker):], re.MULTILINE | re.DOTALL)[:2]
    return shell, python


def test_the_readme_pandas_recipe_runs(folder, tmp_path, monkeypatch) -> None:
    pytest.importorskip("pandas")
    shell, python = readme_recipe("**Results in pandas.**")
    monkeypatch.chdir(tmp_path)
    for line in shell.splitlines():  # ttn report RESULTS ... > FILE, on the test's records
        command, _, target = line.partition("#")[0].partition(">")
        prog, _, _, *args = shlex.split(command)
        result = _ttn("report", str(folder), *args)
        assert prog == "ttn" and result.returncode == 0, result.stderr
        Path(target.strip()).write_text(result.stdout)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(python, "README.md (pandas recipe)", "exec"), {})
    assert "3dttn" in printed.getvalue() and "0.005" in printed.getvalue()


def test_latex_has_booktabs_a_label_and_thousands_separators(folder) -> None:
    text = render(make_report(folder), "latex")
    for needle in (r"\toprule", r"\midrule", r"\bottomrule", r"\label{tab:ttn-report}", "263{,}906", "254{,}058"):
        assert needle in text
    assert r"\hline" not in text


def _ttn(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cli.ttn_cli import main; main()", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_tables_fit_80_columns_and_keep_n_the_gap_its_interval_and_mde80(folder) -> None:
    result = _ttn("report", str(folder), env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    report = make_report(folder)
    header, rows = human_table(report, pm="±")
    must = [i for i, name in enumerate(header) if name.endswith((" acc", "[95% CI]")) or name == "mde80"]
    assert len(must) == 4
    for row in rows:  # every accuracy, gap [95% CI] and mde80 printed whole
        for index in must:
            assert row[index] in result.stdout, (header[index], row[index])
    # the compact layout: a row per (size, arch), the arch's n beside its accuracy, the gap on the compared arch's row
    for row in report.rows:
        for arch, cell in row.cells.items():
            line = next(line for line in lines if re.search(rf"\b{arch}\s+{cell.stats.mean:.3f}±", line))
            assert re.search(rf"±{cell.stats.sem:.4f}( \[\w+\])?\s+{cell.stats.n}\b", line), line
    head = " ".join(lines[:5])
    assert all(word in head for word in ("videos", "arch", "acc", " n ", "gap to 3d", "[95% CI]", "mde80"))
    assert "not shown at 80 columns: params" in result.stderr and "mde80" not in result.stderr.split("not shown")[1]
    compare = _ttn("compare", "--row", f"q={folder}", env={"COLUMNS": "80"})
    assert compare.returncode == 0, compare.stderr
    assert max(len(line) for line in compare.stdout.splitlines()) <= 80 and "pooled" in compare.stdout
    wide = _ttn("report", str(folder), env={"COLUMNS": "250"})
    assert "not shown" not in wide.stderr and max(len(line) for line in wide.stdout.splitlines()) > 80


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here: Debian's chromium package runs this test")
def test_the_html_page_renders_in_chromium_with_every_image(folder, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    page = tmp_path / "report.html"
    result = _ttn("report", str(folder), "--format", "html", "--out", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and text.count("data:image/png;base64,") == 2
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert 'data-images="2/2"' in dom.stdout  # both figures decoded and shown (the page's own check)
    assert dom.stdout.count("<tr>") >= 1 + 3  # the header and one row per size were laid out
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (1600, 1200)
    assert (image < 200).mean() > 0.02  # text, tables and figures, not a blank page


def test_tensorboard_export_has_every_runs_history(folder, tmp_path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb"
    result = _ttn("report", str(folder), "--tensorboard", str(out))
    assert result.returncode == 0, result.stderr
    runs = sorted(path.name for path in out.iterdir())
    assert len(runs) == 36 and runs[0] == "3d-v10-lr0.005-r0"
    events = EventAccumulator(str(out / "3d-v10-lr0.005-r0"))
    events.Reload()
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("accuracy/val")] == \
        [(1, round(0.61 / 3, 6)), (2, round(0.61 * 2 / 3, 6)), (3, 0.61), (4, 0.61)]
    assert [e.step for e in events.Scalars("loss/train")] == [1, 2, 3, 4]
    again = _ttn("report", str(folder), "--tensorboard", str(out))
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr


def test_csv_carries_every_column_of_the_table(folder) -> None:
    import csv

    from ttn.report.formats import human_columns

    report = make_report(folder)
    keys, _, table = human_columns(report, pm="±")
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    fields = set(rows[0])
    # each column of the table, by its --columns name, and the CSV columns that carry it at full precision
    carried = {"acc": ("mean", "sem", "marks"), "n": ("n",), "params": ("params",), "selected": ("selected",),
               "gap": ("gap", "ci95_low", "ci95_high"), "mde80": ("mde80",), "p": ("p_value", "significant"),
               "test": ("test",)}
    for key in keys[1:]:
        stem, _, kind = key.rpartition("_")
        assert {f"{stem}_{name}" for name in carried[kind]} <= fields, key
    for line, row, size in zip(table, rows, report.rows):
        compared = size.significance["3dttn"].comparison
        assert row["3d_selected"] == line[keys.index("3d_selected")] == "lr 0.005"
        assert float(row["3dttn_vs_3d_gap"]) == compared.difference
        assert (float(row["3dttn_vs_3d_ci95_low"]), float(row["3dttn_vs_3d_ci95_high"])) == compared.ci95
        assert float(row["3dttn_vs_3d_mde80"]) == compared.mde80
        assert f"{compared.mde80:.3f}" == line[keys.index("3dttn_vs_3d_mde80")]
        assert row["3d_marks"] == "e"  # the [e] of "0.530±0.0058 [e]"


def _report_cli(*args: str):
    from click.testing import CliRunner

    from cli.ttn_cli import main

    return CliRunner().invoke(main, ["report", *args])


def test_columns_choose_and_order_the_columns_of_markdown_csv_latex_and_the_table(folder) -> None:
    markdown = _report_cli(str(folder), "--format", "markdown", "--columns", "videos,3dttn_acc,3dttn_vs_3d_gap")
    assert markdown.exit_code == 0, markdown.output
    header = [cell.strip() for cell in markdown.stdout.splitlines()[0].strip("|").split("|")]
    assert header == ["videos", "3dttn acc", "3dttn - 3d [95% CI]"]
    table = _report_cli(str(folder), "--columns", "3d_n,videos")
    assert table.exit_code == 0, table.output
    assert "3dttn" not in table.stdout.split("Test accuracy:")[0].split(")", 1)[1]  # only the columns asked for
    csv_text = _report_cli(str(folder), "--format", "csv", "--columns", "videos,3dttn_vs_3d_mde80,3d_selected").stdout
    assert csv_text.splitlines()[0] == "videos,3dttn_vs_3d_mde80,3d_selected"
    assert csv_text.splitlines()[1].endswith(",lr 0.005") and len(csv_text.splitlines()) == 4


def test_latex_leaves_the_test_to_the_caption_unless_asked(folder) -> None:
    text = render(make_report(folder), "latex")
    rows = [line for line in text.splitlines() if line.endswith(r"\\")]
    assert not any("paired" in line for line in rows) and "paired t-test" in text.split(r"\caption{")[1]
    assert all(line.count("&") == rows[0].count("&") for line in rows)
    asked = _report_cli(str(folder), "--format", "latex", "--columns", "videos,3dttn_vs_3d_p,3dttn_vs_3d_test")
    assert asked.exit_code == 0 and "videos & p 3dttn vs 3d & test" in asked.stdout
    assert any(line.endswith(r"& paired \\") for line in asked.stdout.splitlines())


@pytest.mark.parametrize("args, needle", [
    (("--format", "markdown", "--columns", "videos,bogus"), "--columns: unknown column bogus; choose among videos, 3d_acc"),
    (("--format", "csv", "--columns", "3d_acc"), "choose among videos, 3d_mean, 3d_sem"),  # csv has its own names
    (("--format", "json", "--columns", "videos"), "--columns applies to --format table, markdown, latex, csv, not json"),
    (("--columns", ","), "give column names"),
])
def test_bad_columns_are_a_one_line_usage_error(folder, args, needle) -> None:
    result = _report_cli(str(folder), *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
