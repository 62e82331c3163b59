"""The Python API as the README shows it (its example runs here), `ttn predict` and `ttn export`."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli.ttn_cli import main

ROOT = Path(__file__).resolve().parents[2]


def readme_api_example() -> str:
    """The README's python block that calls ttn.train."""
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.MULTILINE | re.DOTALL)
    return next(block for block in blocks if "ttn.train(" in block)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A folder where the README's example ran on a tiny data.h5: results/ holds its record and model."""
    from vmnist.testing import make_tiny_dataset

    folder = tmp_path_factory.mktemp("api")
    make_tiny_dataset(folder / "data.h5", per_split=300)  # the default validation reads 300 videos
    code = readme_api_example()
    done = subprocess.run([sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + code], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "3dttn-v40-lr0.00125-r0" in done.stdout and "selected" in done.stdout
    return folder


def test_the_readme_example_runs_and_its_names_are_ttns(trained: Path) -> None:
    import ttn

    record = json.loads((trained / "results" / "3dttn-v40-lr0.00125-r0.json").read_text())
    assert record["config"]["lr"] == 0.00125 and record["command"] is None  # made from Python, not a command
    model, header = ttn.load_model(trained / "results" / "3dttn-v40-lr0.00125-r0.pt")
    assert header.arch == "3dttn" and not model.training
    assert header.extra["data"]["path"] == "data.h5"  # the checkpoint names its data by file name too
    rows = ttn.report(trained / "results")
    assert rows[0]["arch"] == "3dttn" and rows[0]["selected"] is True and rows[0]["lr"] == 0.00125
    assert {"train", "load_model", "report"} <= set(dir(ttn))


def test_importing_ttn_imports_no_torch() -> None:
    code = "import sys, ttn; ttn.report; ttn.train; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_predict_one_video(trained: Path) -> None:
    checkpoint, data = trained / "results" / "3dttn-v40-lr0.00125-r0.pt", trained / "data.h5"
    result = CliRunner().invoke(main, ["predict", str(checkpoint), "--data", str(data), "--index", "17", "--json"])
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout)
    assert prediction["index"] == 17 and prediction["split"] == "test" and len(prediction["probabilities"]) == 10
    assert sum(prediction["probabilities"]) == pytest.approx(1, abs=1e-5)
    assert prediction["predicted"] == max(range(10), key=prediction["probabilities"].__getitem__)
    text = CliRunner().invoke(main, ["predict", str(checkpoint), "--data", str(data), "--index", "17"]).output
    assert f"test video 17: class {prediction['predicted']}" in text
    wrong = CliRunner().invoke(main, ["predict", str(checkpoint), "--data", str(data), "--index", "300"])
    assert wrong.exit_code != 0 and "--index 300: the test split of" in wrong.output and "(0..299)" in wrong.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch deprecates torch.jit.load for torch.export
def test_export_torchscript_computes_what_the_model_does(trained: Path, tmp_path: Path) -> None:
    import ttn

    checkpoint = trained / "results" / "3dttn-v40-lr0.00125-r0.pt"
    out = tmp_path / "model.ts"
    result = CliRunner().invoke(main, ["export", str(checkpoint), "--out", str(out)])
    assert result.exit_code == 0, result.output
    model, _ = ttn.load_model(checkpoint)
    videos = torch.rand(5, 1, 30, 28, 28)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(out))(videos), model(videos), atol=1e-4)
    again = CliRunner().invoke(main, ["export", str(checkpoint), "--out", str(out)])
    assert again.exit_code != 0 and "already exists: pass --force" in again.output


def test_export_onnx_without_onnx_is_one_line(trained: Path, tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith("onnx") else real(name, *a))
    out = tmp_path / "model.onnx"
    result = CliRunner().invoke(main, ["export", str(trained / "results" / "3dttn-v40-lr0.00125-r0.pt"),
                                       "--format", "onnx", "--out", str(out)])
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
    assert "--format onnx needs onnx and onnxscript, not installed: pip install onnx onnxscript" in result.output
    assert not out.exists()


def test_export_onnx_computes_what_the_model_does(trained: Path, tmp_path: Path) -> None:
    """With the `onnx` extra (in `all`): the exported file, run by onnxruntime, gives the model's logits."""
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    import ttn

    checkpoint = trained / "results" / "3dttn-v40-lr0.00125-r0.pt"
    out = tmp_path / "model.onnx"
    result = CliRunner().invoke(main, ["export", str(checkpoint), "--format", "onnx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    model, _ = ttn.load_model(checkpoint)
    videos = torch.rand(3, 1, 30, 28, 28)  # another batch size than the export's example
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: videos.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(logits), model(videos), atol=1e-4)
