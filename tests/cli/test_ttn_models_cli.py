"""`ttn models` and `ttn show-kernels` through Click's CliRunner."""
from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.checkpoint import save_checkpoint
from ttn.nn import build_model


def test_cli_models_lists_archs_and_paper_sizes() -> None:
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    for text in ["3d", "3dttn", "2plus1d", "496430", "444966", "496030", "254058", "222940", "375668", "348612"]:
        assert text in result.output
    assert "NO" not in result.output


def test_cli_models_json_has_the_same_counts() -> None:
    import json

    result = CliRunner().invoke(main, ["models", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {m["arch"]: m["params"] for m in data["models"]} == {"3d": 496430, "3dttn": 444966, "2plus1d": 496030}
    assert {m["model"] for m in data["models"]} >= {"LeNet-5-3D", "LeNet-5-3DTTN"}
    assert all(entry["params"] == entry["paper_params"] for entry in data["paper"])
    assert {(e["arch"], tuple(e["channels"])) for e in data["paper"]} >= {("3dttn", (6, 16)), ("3d", (12, 22))}


@pytest.mark.parametrize("arch", ["3dttn", "3d"])
def test_cli_show_kernels_writes_png(tmp_path, arch: str) -> None:
    pytest.importorskip("matplotlib")
    kwargs = {"channels": [3, 4]}
    checkpoint = save_checkpoint(tmp_path / "m.pt", build_model(arch, **kwargs), arch=arch, model_kwargs=kwargs)
    out = tmp_path / "kernels.png"
    result = CliRunner().invoke(main, ["show-kernels", str(checkpoint), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000


def test_cli_show_kernels_bad_path_is_one_line(tmp_path) -> None:
    result = CliRunner().invoke(main, ["show-kernels", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "k.png")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0]
    assert not (tmp_path / "k.png").exists()


def test_cli_show_kernels_2plus1d_is_refused_cleanly(tmp_path) -> None:
    kwargs = {"channels": [3, 4]}
    checkpoint = save_checkpoint(tmp_path / "m.pt", build_model("2plus1d", **kwargs), arch="2plus1d", model_kwargs=kwargs)
    result = CliRunner().invoke(main, ["show-kernels", str(checkpoint), "--out", str(tmp_path / "k.png")])
    assert result.exit_code == 1 and "2plus1d" in result.output and "Traceback" not in result.output


def test_cli_show_kernels_without_matplotlib_names_the_extra(tmp_path, monkeypatch) -> None:
    kwargs = {"channels": [3, 4]}
    checkpoint = save_checkpoint(tmp_path / "m.pt", build_model("3dttn", **kwargs), arch="3dttn", model_kwargs=kwargs)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails as if not installed
    result = CliRunner().invoke(main, ["show-kernels", str(checkpoint), "--out", str(tmp_path / "k.png")])
    assert result.exit_code == 1 and "pip install -e .[plot]" in result.output
    assert len(result.output.strip().splitlines()) == 1
