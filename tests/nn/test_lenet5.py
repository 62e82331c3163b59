"""LeNet-5: Table 2's parameter counts, shapes, one skeleton per conv kind, bad options."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ttn.errors import TTNError
from ttn.experiment.config import DEFAULT_CHANNELS as CONFIG_DEFAULT_CHANNELS
from ttn.nn import CONV_MAKERS, DEFAULT_CHANNELS, Conv2Plus1d, Conv3dTT, build_model, count_parameters
from ttn.paper import paper_table
from ttn.registry import ARCHS, THETA_KINDS


def test_paper_table2_parameter_counts() -> None:
    configs = {(row.arch, row.channels, row.params) for row in paper_table()}
    assert len(configs) == 6  # 3d (18,28), (12,22); 3dttn (18,28), (12,22), (6,16), (4,14)
    for arch, channels, params in configs:
        assert count_parameters(build_model(arch, channels=channels, theta="similarity")) == params, (arch, channels)
    # pinned independently of the data file
    assert count_parameters(build_model("3d")) == 496430
    assert count_parameters(build_model("3dttn")) == 444966


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_shapes(arch: str) -> None:
    model = build_model(arch, channels=(4, 6))
    assert model(torch.rand(2, 1, 30, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("theta", THETA_KINDS)
def test_3dttn_variants_and_counts(theta: str) -> None:
    model = build_model("3dttn", channels=(4, 6), theta=theta, temporal_kernel=3, num_classes=5)
    assert model(torch.rand(1, 1, 30, 28, 28)).shape == (1, 5)
    per_kernel = {"affine": 6 * 2, "similarity": 4 * 2, "shared": 4}[theta]
    conv = 4 * (25 + per_kernel) + 4 + 6 * (4 * 25 + per_kernel) + 6
    depth = (30 // 2 - 2) // 2
    fc = (6 * depth * 25 * 120 + 120) + (120 * 84 + 84) + (84 * 5 + 5)
    assert count_parameters(model) == conv + fc


def test_one_skeleton_conv_kind_is_the_only_difference() -> None:
    kinds = {arch: type(build_model(arch, channels=(4, 6)).conv1) for arch in ARCHS}
    assert kinds == {"3d": nn.Conv3d, "3dttn": Conv3dTT, "2plus1d": Conv2Plus1d}
    assert tuple(CONV_MAKERS) == ARCHS and CONFIG_DEFAULT_CHANNELS == DEFAULT_CHANNELS
    assert len({type(build_model(arch, channels=(4, 6))) for arch in ARCHS}) == 1


def test_2plus1d_roughly_matches_3d_parameters() -> None:
    model = build_model("2plus1d")
    assert (model.conv1.mid_channels, model.conv2.mid_channels) == (19, 106)  # Tran et al.'s formula
    ratio = count_parameters(model) / count_parameters(build_model("3d"))
    assert 0.99 < ratio < 1.01


def test_bad_options() -> None:
    with pytest.raises(TTNError, match="unknown architecture"):
        build_model("resnet")
    with pytest.raises(TTNError, match="theta"):
        build_model("3dttn", theta="rigid")
    with pytest.raises(TTNError, match="channels"):
        build_model("3d", channels=(0, 4))
    with pytest.raises(TTNError, match="too small"):
        build_model("3d", frames=8)
