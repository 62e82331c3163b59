"""`ttn convert` through Click's CliRunner: the summary and timing on a small model, and one-line errors."""
from __future__ import annotations

import builtins

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import ttn.nn.convert
from cli.ttn_cli import main


def tiny_video_model(name: str) -> nn.Module:
    """Stands in for torchvision's builder: a 3D CNN of two convs (one eligible), input (B, 3, T, H, W)."""
    return nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 4, 1), nn.AdaptiveAvgPool3d(1),
                         nn.Flatten(), nn.Linear(4, 7))


def one_line_error(result, *needles: str) -> None:
    """The command failed with one line of error naming every needle, and no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error:") and all(needle in lines[-1] for needle in needles), result.output
    assert not any(line.startswith("Error:") for line in lines[:-1])


def convert(*args: str):
    return CliRunner().invoke(main, ["convert", *args])


@pytest.fixture
def tiny_model(monkeypatch) -> None:
    monkeypatch.setattr(ttn.nn.convert, "video_model", tiny_video_model)


def test_convert_prints_summary_and_step_ratio(tiny_model) -> None:
    result = convert("--batch", "1", "--frames", "4", "--size", "16", "--repeats", "1", "--theta", "affine")
    out = result.stdout
    assert result.exit_code == (0 if "target <= +15%: met" in out else 1), result.output  # timed for real
    assert "1 of 2 Conv3d layers converted" in out and "affine" in out
    assert "temporal kernel 1" in out and "3DTT" in out
    # conv 0: 4*3*27 + 4 = 328 -> 4*3*9 + 6*2*4 + 4 = 160; the model: 328 + 20 + 35 = 383 -> 215
    assert "328" in out and "160" in out and "383 -> 215" in out
    assert "ratio" in out and "target <= +15%" in out
    assert "timing forward + backward" in result.stderr


def fixed_steps(monkeypatch, candidate_s: float) -> None:
    """Every timing gives 1 s for the original and `candidate_s` for the 3DTT model (a tiny model's real ratio is
    far above the target: building its kernels outweighs its convolutions)."""
    from ttn.experiment import steptime

    monkeypatch.setattr(steptime, "compare_steps", lambda *args, **kwargs: steptime.StepComparison(
        1.0, candidate_s, (1.0,), (candidate_s,)))


@pytest.mark.parametrize("candidate_s,code", [(1.10, 0), (1.30, 1)])
def test_convert_exit_code_says_whether_the_step_target_is_met(tiny_model, monkeypatch, candidate_s, code) -> None:
    fixed_steps(monkeypatch, candidate_s)
    result = convert("--batch", "1", "--frames", "4", "--size", "16", "--repeats", "1")
    assert result.exit_code == code, result.output
    if code:
        assert "target <= +15%: NOT met" in result.stdout
        one_line_error(result, "+30.0% over the original's", "target of +15%")
    else:
        assert "target <= +15%: met" in result.stdout and "Error" not in result.output


def test_convert_include_exclude_and_summary_only(tiny_model) -> None:
    result = convert("--exclude", "0", "--repeats", "0")
    assert result.exit_code == 0, result.output
    assert "0 of 2 Conv3d layers converted" in result.stdout and "excluded" in result.stdout
    assert "ratio" not in result.stdout
    one_line_error(convert("--include", "layer9", "--repeats", "0"), "include pattern 'layer9'", "matches no Conv3d")


def test_convert_says_when_torch_compile_fails(tiny_model, monkeypatch) -> None:
    def broken_compile(model):
        raise RuntimeError("no compiler here\nsecond line")

    monkeypatch.setattr(torch, "compile", broken_compile)
    fixed_steps(monkeypatch, 1.0)
    result = convert("--batch", "1", "--frames", "4", "--size", "16", "--repeats", "1", "--compile")
    assert result.exit_code == 0, result.output
    assert "torch.compile failed (RuntimeError: no compiler here); timing both models without it" in result.stderr


@pytest.mark.parametrize("error", [ImportError("No module named 'torchvision'"),
                                   RuntimeError("operator torchvision::nms does not exist")])
def test_convert_without_torchvision_is_one_line_hint(monkeypatch, error) -> None:
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name.startswith("torchvision"):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    one_line_error(convert("--model", "mc3_18"), "mc3_18 needs torchvision", "in the clone, pip install -e '.[vision]'",
                   "torchvision==0.28.0", "torch 2.14.1 + torchvision 0.29.1")
    assert "video-mnist-ttn[vision]" not in convert("--model", "mc3_18").output  # not on PyPI: no hint may name it


@pytest.mark.parametrize("device,needle", [("cuda:3", "--device cuda:3"), ("tpu", "--device 'tpu'")])
def test_convert_bad_device_is_one_line(monkeypatch, device, needle) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    one_line_error(convert("--device", device), needle, "cpu")
