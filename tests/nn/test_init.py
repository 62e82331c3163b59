"""Initialization rules (ttn.nn.init) for every arch, and run ids that keep their meaning across defaults."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from ttn.errors import TTNError
from ttn.experiment.config import candidate_tag, make_config, upgrade_resolved
from ttn.experiment.rerun import config_from_record
from ttn.experiment.records import make_run_id
from ttn.nn import Conv3dTT, build_model, initialize
from ttn.registry import ARCHS, INIT_RULES, canonical_init

EXPERIMENTS = Path(__file__).resolve().parents[2] / "docs" / "experiments"


def convs(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv3d, Conv3dTT))]


def seeded(arch: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return build_model(arch, channels=(6, 16), **kwargs)


@pytest.mark.parametrize("rule", INIT_RULES)
@pytest.mark.parametrize("arch", ARCHS)
def test_every_rule_builds_every_arch_and_leaves_linear_layers_as_built(arch: str, rule: str) -> None:
    model, default = seeded(arch, init=rule), seeded(arch)
    assert model(torch.rand(2, 1, 30, 28, 28)).shape == (2, 10)
    for name in ("fc1", "fc2", "fc3"):  # drawn before the conv rule, so the same for every rule
        assert torch.equal(getattr(model, name).weight, getattr(default, name).weight)


def test_tied_gives_a_3d_model_equal_slices_over_time_at_the_he_scale() -> None:
    model = seeded("3d", init="tied")
    for conv in (model.conv1, model.conv2):
        weight = conv.weight  # (O, I, T, H, W)
        for t in range(1, weight.shape[2]):
            assert torch.equal(weight[:, :, t], weight[:, :, 0])
        fan_in = math.prod(weight.shape[1:])
        assert weight[:, :, 0].std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
    assert not torch.equal(seeded("3d", init="he").conv2.weight[:, :, 1], seeded("3d", init="he").conv2.weight[:, :, 0])


def test_tied_3d_kernels_are_built_like_a_3dttn_kernel() -> None:
    # a tied 3D kernel and a 3DTTN at identity transforms are both K0 repeated over time
    tt = seeded("3dttn")
    kernel = tt.conv2.kernel()
    assert torch.equal(kernel, tt.conv2.k0.unsqueeze(2).expand_as(kernel))


@pytest.mark.parametrize("rule", INIT_RULES)
@pytest.mark.parametrize("arch", ARCHS)
def test_init_scale_multiplies_the_drawn_weights_exactly(arch: str, rule: str) -> None:
    one, half = seeded(arch, init=rule), seeded(arch, init=rule, init_scale=0.5)
    for a, b in zip(convs(one), convs(half)):
        weight = "k0" if isinstance(a, Conv3dTT) else "weight"
        assert torch.equal(getattr(b, weight), getattr(a, weight) * 0.5)  # x0.5 is exact in binary floats
        assert torch.equal(a.bias, b.bias)  # biases are never scaled


def test_he_of_a_3dttn_is_todays_k0_rule_and_default_he_tied_are_one_model() -> None:
    built = seeded("3dttn")  # K0 as Conv3dTT draws it
    for rule in ("he", "tied"):
        other = seeded("3dttn", init=rule)
        assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), other.state_dict().values()))
    for conv in (built.conv1, built.conv2):
        fan_in = conv.k0.shape[1] * math.prod(conv.kernel_size)
        assert conv.k0_std == math.sqrt(2 / fan_in)
        assert conv.k0.std().item() == pytest.approx(conv.k0_std, rel=0.1)
    assert [canonical_init("3dttn", rule) for rule in INIT_RULES] == ["he", "he", "normal", "he"]
    assert [canonical_init("3d", rule) for rule in INIT_RULES] == list(INIT_RULES)


def test_he_3d_conv_matches_the_3dttn_std_and_default_starts_sqrt6_smaller() -> None:
    he, default = seeded("3d", init="he"), seeded("3d", init="default")
    assert torch.equal(seeded("3d").conv2.weight, he.conv2.weight)  # he is the default rule (ttn.registry)
    fan_in = math.prod(he.conv2.weight.shape[1:])
    assert he.conv2.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
    assert he.conv2.weight.std().item() / default.conv2.weight.std().item() == pytest.approx(math.sqrt(6), rel=0.05)


def test_normal_is_the_authors_n01_weights_and_conv3d_biases() -> None:
    model = seeded("3d", init="normal")
    assert model.conv2.weight.std().item() == pytest.approx(1.0, abs=0.05)
    assert model.conv2.bias.std().item() == pytest.approx(1.0, abs=0.6)  # 16 values
    assert seeded("3dttn", init="normal").conv2.k0.std().item() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("rule, scale, message", [("he2", 1.0, "--conv-init"), ("he", 0.0, "--init-scale"),
                                                   ("he", float("nan"), "--init-scale"), ("he", -1.0, "--init-scale")])
def test_bad_rules_and_scales_are_refused(rule: str, scale: float, message: str) -> None:
    with pytest.raises(TTNError, match=message):
        build_model("3d", init=rule, init_scale=scale)
    if message == "--init-scale":
        with pytest.raises(ValueError, match="--init-scale"):
            initialize(nn.Conv3d(1, 2, 3), rule, scale)


def test_run_ids_name_the_init_where_it_draws_another_model() -> None:
    tags = {(arch, rule, scale): candidate_tag(make_config(conv_init=rule, init_scale=scale, lr=0.02), arch, 10)
            for arch in ("3d", "3dttn") for rule in INIT_RULES for scale in (1.0, 0.447214)}
    assert tags[("3d", "default", 1.0)] == "lr0.02"  # PyTorch's init: the ids of the first records
    assert tags[("3d", "he", 1.0)] == "lr0.02-inithe"
    assert tags[("3d", "tied", 0.447214)] == "lr0.02-inittied-is0.447214"
    assert tags[("3dttn", "default", 1.0)] == tags[("3dttn", "he", 1.0)] == tags[("3dttn", "tied", 1.0)] == "lr0.02"
    assert tags[("3dttn", "he", 0.447214)] == "lr0.02-is0.447214"
    assert candidate_tag(make_config("authors"), "3d", 10) == "lr5e-08"  # the authors' N(0, 1) stays unnamed there
    assert candidate_tag(make_config("authors", conv_init="he"), "3d", 10) == "lr5e-08-inithe"


def committed_records() -> list[dict]:
    """Every 7th committed run record (all folders, archs and candidates), not the folders' other JSON files
    (race.json, caches): a record's name is its run id, which starts with its arch."""
    paths = sorted(path for path in EXPERIMENTS.glob("*/*.json") if path.name.partition("-")[0] in ARCHS)
    return [json.loads(path.read_text()) for path in paths[::7]]


def test_every_committed_record_keeps_its_run_id_and_meaning() -> None:
    records = committed_records()
    assert len(records) > 100
    for record in records:
        config = upgrade_resolved(record["arch"], record["config"])
        rebuilt = config_from_record(record)  # what `ttn train --from-record` retrains: same run id, same config
        tag = candidate_tag(rebuilt, record["arch"], record["videos"])
        assert make_run_id(record["arch"], record["videos"], record["run"], tag) == record["run_id"]
        if record["arch"] == "3dttn" and record["config"]["conv_init"] == "default":
            assert config["conv_init"] == "he"  # what its K0 was drawn with
