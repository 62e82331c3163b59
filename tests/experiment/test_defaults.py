"""The default protocol (recipe "default", no preset) is the one docs/results.md found to work: each arch's
validated lr for the size, 300 validation videos every 10th epoch; explicit options and recipes still win."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.config import DEFAULT_LRS, lr_for, make_config, resolved_config
from ttn.experiment.presets import LRS, PRESETS
from ttn.experiment.task import Task


@pytest.mark.parametrize(("arch", "videos", "lr"), [
    ("3d", 10, 0.005), ("3d", 5000, 0.005), ("3dttn", 10, 0.0025), ("3dttn", 20, 0.0025), ("3dttn", 30, 0.00125),
    ("3dttn", 5000, 0.00125), ("2plus1d", 40, 0.005)])
def test_the_default_lr_is_the_archs_validated_one(arch: str, videos: int, lr: float) -> None:
    config = make_config()
    assert config.lr is None and lr_for(config, arch, videos) == lr
    assert resolved_config(config, arch, videos)["lr"] == lr  # records store a number


def test_an_explicit_lr_or_a_recipes_wins() -> None:
    assert lr_for(make_config(lr=0.02), "3dttn", 10) == 0.02
    assert lr_for(make_config("authors"), "3dttn", 10) == 5e-8


def test_run_ids_name_the_resolved_lr() -> None:
    assert Task("3dttn", 40, 0, make_config()).run_id == "3dttn-v40-lr0.00125-r0"
    assert Task("3d", 40, 0, make_config()).run_id == "3d-v40-lr0.005-inithe-r0"
    assert Task("3d", 40, 0, make_config(lr=0.005)).run_id == "3d-v40-lr0.005-inithe-r0"  # the same run


def test_default_validation_is_the_paper_presets() -> None:
    config, paper = make_config(), PRESETS["paper"].options
    assert (config.val_size, config.val_every) == (paper["val_size"], paper["val_every"]) == (300, 10)


def test_the_default_lrs_are_candidates_of_the_presets() -> None:
    for arch, steps in DEFAULT_LRS.items():
        assert {lr for _, lr in steps} <= set(LRS.get(arch, LRS["3d"]))


def test_help_cites_the_table() -> None:
    text = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    assert "3dttn 0.0025 up to 20 videos, 0.00125 above" in text and "docs/results.md" in text
