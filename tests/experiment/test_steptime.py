"""The step-time verdict shared by `ttn convert` and bench/bench_convert.py, and the bench's exit code."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from torch import nn

from ttn.experiment.steptime import STEP_TARGET, StepComparison, target_verdict

BENCH = Path(__file__).parents[2] / "bench" / "bench_convert.py"


def tiny_video_net() -> nn.Module:
    """Clips (B, 3, T, H, W) -> logits (B, 400), like the bench's R3D18, with one eligible Conv3d."""
    return nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 400))


def comparison(ratio: float) -> StepComparison:
    return StepComparison(2.0, 2.0 * ratio, (2.0,), (2.0 * ratio,))


@pytest.mark.parametrize("ratio,met", [(0.9, True), (1.0 + STEP_TARGET - 1e-9, True), (1.0 + STEP_TARGET + 1e-6, False),
                                       (1.4, False)])
def test_target_verdict(ratio: float, met: bool) -> None:
    assert target_verdict(comparison(ratio)) == (met, "target <= +15%: " + ("met" if met else "NOT met"))


@pytest.mark.parametrize("ratio,code", [(1.05, 0), (1.25, 1)])
def test_bench_convert_exits_non_zero_when_the_target_is_not_met(monkeypatch, capsys, ratio, code) -> None:
    spec = importlib.util.spec_from_file_location("bench_convert", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "R3D18", tiny_video_net)  # the real network takes minutes a step
    monkeypatch.setattr(bench, "compare_steps", lambda *args, **kwargs: comparison(ratio))
    monkeypatch.setattr(sys, "argv", ["bench_convert.py", "--batch", "1", "--frames", "4", "--size", "16"])
    assert bench.main() == code
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "target <= +15%: " + ("NOT met" if code else "met")
