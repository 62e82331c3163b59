"""Each training option is declared once, by its `TrainConfig` field: cli/training_options derives the options of
`ttn train`, `ttn sweep` and `ttn reproduce`, their parsers and the defaults their help shows (from the field and
the recipe table); TrainConfig checks the values; one builder makes the configs of every command."""
from __future__ import annotations

from dataclasses import fields

import click
import pytest

from cli.training_options import OPTION_FIELDS, PerArch, chosen_options, configs_from_options, show, training_options
from cli.ttn_sweep import reproduce_command, sweep_command
from cli.ttn_train import train_command
from ttn.experiment.config import RECIPES, TrainConfig, flag, is_option, make_config

#: The TrainConfig fields that are deliberately no command-line option, and why (each field's declaration says so).
NOT_OPTIONS = {
    "momentum": "section 3.4's value in every recipe",
    "decay_every": "section 3.4's 'every 10th epoch'",
    "val_pick": "a recipe's: the authors' code validates on the first videos",
    "input_scale": "a recipe's: 0-255 inputs go with the authors' lr scale",
    "loss_reduction": "a recipe's (both use the mean)",
    "eval_batch_size": "a memory bound of validation and test, not a hyperparameter",
}
COMMANDS = {"train": train_command, "sweep": sweep_command, "reproduce": reproduce_command}


def option_help(command: click.Command) -> dict[str, click.Option]:
    return {param.name: param for param in command.params if isinstance(param, click.Option)}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_config_field_is_exactly_one_option(name: str) -> None:
    options = [param for param in COMMANDS[name].params if isinstance(param, click.Option)]
    for config_field in fields(TrainConfig):
        mine = [option for option in options if option.name == config_field.name]
        if config_field.name in NOT_OPTIONS:
            assert not mine and not is_option(config_field), config_field.name
            assert config_field.metadata["why_not_an_option"], config_field.name
        else:
            assert len(mine) == 1 and is_option(config_field), config_field.name
            assert mine[0].opts == [flag(config_field.name)]


def test_help_defaults_come_from_the_config_and_the_recipe_table(monkeypatch) -> None:
    helps = {name: option.help for name, option in option_help(train_command).items()}
    for config_field in OPTION_FIELDS:
        if config_field.name == "freeze_transforms":  # a flag: off unless given
            continue
        default = config_field.metadata["default_text"] or show(config_field.default)
        assert f"[default: {default}" in helps[config_field.name], config_field.name
        for recipe, values in RECIPES.items():
            if values.get(config_field.name, config_field.default) != config_field.default:
                assert f"recipe {recipe}: {show(values[config_field.name])}" in helps[config_field.name]
    assert "recipe authors: 5e-08" in helps["lr"] and "recipe authors: normal" in helps["conv_init"]
    # derived, not copied: another table gives other help
    monkeypatch.setitem(RECIPES, "fast", {"lr": 0.125, "epochs": 7})
    command = training_options(grid=True)(click.command()(lambda **options: None))
    helps = {name: option.help for name, option in option_help(command).items()}
    assert "recipe fast: 0.125" in helps["lr"] and "recipe fast: 7]" in helps["epochs"]
    assert "'fast': lr 0.125, epochs 7" in helps["recipe"]
    assert "A list" in helps["lr"] and "A list" not in helps["epochs"]  # axes take lists in a sweep


def test_one_builder_for_train_and_sweep_keeps_what_was_typed() -> None:
    options = {"lr": 0.01, "val_size": 0, "val_every": None, "freeze_transforms": None, "recipe": "authors"}
    assert chosen_options(options) == {"lr": 0.01, "val_size": 0, "recipe": "authors"}  # 0 is a value, not "unset"
    [config] = configs_from_options(options, ["3d"])["3d"]
    assert config == make_config("authors", lr=0.01, val_size=0)
    grid = configs_from_options({"lr": [0.01, 0.02], "epochs": 3}, ["3d", "3dttn"],
                                lambda arch: {"channels": [(2, 3)] if arch == "3d" else [(4, 5)], "epochs": 9})
    assert [(c.lr, c.channels, c.epochs) for c in grid["3dttn"]] == [(0.01, (4, 5), 3), (0.02, (4, 5), 3)]
    with pytest.raises(click.ClickException, match="--val-size must be >= 0") as refused:
        configs_from_options({"val_size": -1}, ["3d"])
    assert refused.value.exit_code == 2
    with pytest.raises(click.ClickException, match="--theta applies to 3dttn only"):
        configs_from_options({"theta": "affine"}, ["3d"])


@pytest.mark.parametrize("name", list(COMMANDS))
def test_channels_take_the_run_id_spelling_too(name: str) -> None:
    base = ["--arch", "3d", "--videos", "10"] if name == "train" else []
    for text in ("6x16", "6,16"):
        params = COMMANDS[name].make_context(name, base + ["--channels", text]).params
        assert params["channels"] in ((6, 16), [(6, 16)]), params["channels"]
    if name != "train":  # a sweep's list of pairs
        assert COMMANDS[name].make_context(name, ["--channels", "6x16/18x28"]).params["channels"] == [(6, 16), (18, 28)]
    with pytest.raises(click.BadParameter, match="whole number, got '6y16'"):
        COMMANDS[name].make_context(name, base + ["--channels", "6y16"])


def test_a_candidate_option_may_give_each_arch_its_own_values() -> None:
    """`--lr "3d=A,B;3dttn=C"`: each arch its own candidates (as the presets' grids do); an arch not named keeps
    the preset's values; channel pairs keep their "/" separator."""
    params = sweep_command.make_context("sweep", ["--lr", "3d=0.005,0.01; 3dttn=0.00125", "--channels",
                                                  "3d=18x28/12,22;3dttn=4,14"]).params
    assert params["lr"] == {"3d": [0.005, 0.01], "3dttn": [0.00125]}
    assert params["channels"] == {"3d": [(18, 28), (12, 22)], "3dttn": [(4, 14)]}
    preset = lambda arch: {"lr": [0.1, 0.2, 0.3], "epochs": 9}  # noqa: E731
    configs = configs_from_options({"lr": params["lr"]}, ["3d", "3dttn"], preset)
    assert [c.lr for c in configs["3d"]] == [0.005, 0.01] and [c.lr for c in configs["3dttn"]] == [0.00125]
    partial = configs_from_options({"lr": PerArch({"3d": [0.005]}), "epochs": 3}, ["3d", "3dttn"], preset)
    assert [c.lr for c in partial["3dttn"]] == [0.1, 0.2, 0.3]  # not named: the preset's grid


@pytest.mark.parametrize("value, message", [
    ("3d=0.005;2plus1d=0.1", "--lr gives values for 2plus1d, which is not among the archs (3d, 3dttn)"),
    ("3d=0.005;3d=0.01", "3d is given twice"),
    ("=0.005", "'=0.005': expected ARCH=VALUES"),
    ("3d=", "give at least one value"),
    ("3d=abc", "could not convert string to float: 'abc'"),
])
def test_per_arch_values_that_do_not_fit_are_one_line_errors(value: str, message: str) -> None:
    from click.testing import CliRunner

    from cli.ttn_cli import main

    result = CliRunner().invoke(main, ["sweep", "--preset", "quick", "--lr", value, "--dry-run"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    theta = CliRunner().invoke(main, ["sweep", "--preset", "quick", "--theta", "3d=affine", "--dry-run"])
    assert theta.exit_code == 2 and "--theta applies to 3dttn only, not to 3d" in theta.output
