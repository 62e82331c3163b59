"""LeNet-5: Table 2's parameter counts, shapes, one skeleton per conv kind, bad options."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ttn.errors import TTNError
from ttn.experiment.config import TrainConfig, channels_for
from ttn.nn import CONV_MAKERS, DEFAULT_CHANNELS, Conv2Plus1d, Conv3dTT, build_model, count_parameters
from ttn.paper import paper_table
from ttn import registry
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
    assert tuple(CONV_MAKERS) == ARCHS
    assert len({type(build_model(arch, channels=(4, 6))) for arch in ARCHS}) == 1


def test_the_model_and_the_config_read_one_set_of_defaults() -> None:
    """One definition (ttn.registry), read by build_model and TrainConfig alike: no copy to keep equal."""
    assert DEFAULT_CHANNELS is registry.DEFAULT_CHANNELS
    assert channels_for(TrainConfig(), "3d", 60) == registry.DEFAULT_CHANNELS  # a size Table 2 does not give
    config, model = TrainConfig(), build_model("3dttn")
    assert (config.theta, config.temporal_kernel, config.conv_init) == (
        registry.DEFAULT_THETA, registry.DEFAULT_TEMPORAL_KERNEL, registry.DEFAULT_INIT)
    assert (model.conv1.in_channels, model.conv1.out_channels, model.conv2.out_channels) == (1, *registry.DEFAULT_CHANNELS)
    assert model.conv1.kernel_size[0] == registry.DEFAULT_TEMPORAL_KERNEL


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
