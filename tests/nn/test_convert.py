"""Conv3dTT.from_conv3d and ttn.convert_model: hyper-parameters carried over, initial slices, which layers convert."""
from __future__ import annotations

import io
import itertools
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ttn
from ttn.errors import TTNError
from ttn.nn import Conv3dTT, convert_model
from ttn.nn.convert import matches, video_model


def perturb_transforms(layer: Conv3dTT, seed: int = 0) -> None:
    """Move every transform parameter away from the identity (small noise), so slices differ from K0."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in layer.transform_parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))


# ------------------------------------------------------------------ from_conv3d: every conv hyper-parameter
KERNELS = [(3, 3, 3), (2, 3, 4)]
STRIDES = [1, (1, 2, 2), 2]
PADDINGS = [0, (1, 2, 0), "same", "valid"]
DILATIONS = [1, (2, 1, 2)]
GROUPS = [1, 2]
COMBOS = [combo for combo in itertools.product(KERNELS, STRIDES, PADDINGS, DILATIONS, GROUPS, [True, False])
          if not (combo[2] == "same" and combo[1] != 1)]  # nn.Conv3d refuses padding="same" with a stride


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch pads a copy: expected
@pytest.mark.parametrize("kernel,stride,padding,dilation,groups,bias", COMBOS)
def test_from_conv3d_equals_conv3d_with_built_kernel(kernel, stride, padding, dilation, groups, bias) -> None:
    torch.manual_seed(0)
    conv = nn.Conv3d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias,
                     dtype=torch.float64)
    layer = Conv3dTT.from_conv3d(conv)
    x = torch.randn(2, 4, 7, 9, 10, dtype=torch.float64)
    # the 3DTT function of the carried-over hyper-parameters: with a temporally constant source weight and
    # identity transforms, the very function of the conv
    with torch.no_grad():
        conv.weight.copy_(conv.weight[:, :, :1].expand_as(conv.weight))
    torch.testing.assert_close(Conv3dTT.from_conv3d(conv)(x), conv(x), rtol=1e-12, atol=1e-12)
    # and with transforms away from the identity: F.conv3d of the built kernel under the conv's hyper-parameters
    perturb_transforms(layer)
    expected = F.conv3d(x, layer.kernel(), conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    out = layer(x)
    assert out.shape == conv(x).shape
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert (layer.bias is None) == (not bias) and layer.k0.dtype == torch.float64


@pytest.mark.parametrize("kernel", [(3, 3, 3), (5, 5, 5), (4, 3, 3)])
@pytest.mark.parametrize("warp", ["sequential", "direct"])
def test_first_slice_identity_transforms_repeat_the_source_slice_exactly(kernel, warp) -> None:
    torch.manual_seed(1)
    conv = nn.Conv3d(3, 5, kernel)
    layer = Conv3dTT.from_conv3d(conv, init="first_slice", warp=warp)
    built = layer.kernel().detach()  # (O, I, T, H, W)
    for t in range(kernel[0]):
        assert torch.equal(built[:, :, t], conv.weight[:, :, 0].detach())
    assert torch.equal(layer.bias.detach(), conv.bias.detach())


@pytest.mark.parametrize("theta", ["similarity", "affine", "shared"])
def test_first_slice_7x7_slices_equal_up_to_float_rounding(theta) -> None:
    """7x7: the sampling grid of 6 intervals is not exact in float32; one rounding is all that is lost."""
    torch.manual_seed(2)
    conv = nn.Conv3d(3, 8, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
    built = Conv3dTT.from_conv3d(conv, theta=theta).kernel().detach()
    source = conv.weight[:, :, :1].detach().expand_as(built)
    torch.testing.assert_close(built, source, rtol=1e-6, atol=1e-6 * source.abs().max().item())


def test_mean_slice_and_fresh_init() -> None:
    torch.manual_seed(3)
    conv = nn.Conv3d(16, 32, (3, 3, 3))
    mean = Conv3dTT.from_conv3d(conv, init="mean_slice")
    torch.testing.assert_close(mean.k0.detach(), conv.weight.detach().mean(dim=2))
    fresh = Conv3dTT.from_conv3d(conv, init="fresh", theta="affine")
    assert fresh.theta_kind == "affine" and fresh.kernel_size == (3, 3, 3)
    assert not torch.equal(fresh.k0.detach(), conv.weight[:, :, 0].detach())
    assert abs(fresh.k0.std().item() / fresh.k0_std - 1) < 0.05  # He-normal of a new Conv3dTT
    assert fresh.bias is not None and not torch.equal(fresh.bias.detach(), conv.bias.detach())
    assert torch.equal(fresh.theta.detach(), torch.eye(2, 3).expand_as(fresh.theta))


def test_from_conv3d_keeps_mode_and_refuses_other_input_padding() -> None:
    conv = nn.Conv3d(2, 2, 3).eval()
    assert not Conv3dTT.from_conv3d(conv).training
    with pytest.raises(TTNError, match="padding_mode='reflect'.*zeros only"):
        Conv3dTT.from_conv3d(nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(TTNError, match="init"):
        Conv3dTT.from_conv3d(conv, init="largest")


def test_one_by_one_slices_cannot_be_transformed() -> None:
    """Why (t, 1, 1) convs are left alone: with align_corners=True any transform returns the one pixel."""
    layer = Conv3dTT(4, 4, (3, 1, 1))
    perturb_transforms(layer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # affine_grid warns about unit-size grids
        built = layer.kernel().detach()
    assert torch.equal(built, layer.k0.detach().unsqueeze(2).expand_as(built))


# ------------------------------------------------------------------ convert_model on a small 3D CNN
class TinyVideoNet(nn.Module):
    """A hand-made 3D CNN with the parts of torchvision's video ResNets: input (B, 3, 8, 16, 16) -> logits (B, 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 8, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2), bias=False),
                                  nn.BatchNorm3d(8), nn.ReLU())
        self.block = nn.Sequential(nn.Conv3d(8, 8, 3, padding=1, bias=False), nn.ReLU(),
                                   nn.Conv3d(8, 8, 3, padding="same", groups=2))
        self.down = nn.Conv3d(8, 16, 1, stride=2, bias=False)  # temporal kernel 1
        self.spatial = nn.Conv3d(16, 16, (1, 3, 3), padding=(0, 1, 1))  # the (2+1)D pair: temporal kernel 1 ...
        self.temporal = nn.Conv3d(16, 16, (3, 1, 1), padding=(1, 0, 0))  # ... and 1x1 slices
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, 8, 8, 8, 8)
        x = F.relu(x + self.block(x))
        x = self.temporal(F.relu(self.spatial(self.down(x))))  # (B, 16, 4, 4, 4)
        return self.head(x.mean(dim=(2, 3, 4)))


CONVS = ["stem.0", "block.0", "block.2", "down", "spatial", "temporal"]


def test_convert_model_converts_exactly_the_eligible_layers_and_keeps_shapes() -> None:
    torch.manual_seed(4)
    model = TinyVideoNet()
    x = torch.randn(2, 3, 8, 16, 16)
    before = model(x)
    converted, summary = convert_model(model, theta="similarity")
    assert converted is not model  # a new model, like torch's conversion functions: the original is untouched
    assert all(type(model.get_submodule(name)) is nn.Conv3d for name in CONVS) and torch.equal(model(x), before)
    assert [layer.name for layer in summary.layers] == CONVS
    assert [layer.name for layer in summary.converted] == ["stem.0", "block.0", "block.2"]
    reasons = {layer.name: layer.reason for layer in summary.layers}
    assert reasons["down"] == reasons["spatial"] == "temporal kernel 1" and reasons["temporal"].startswith("1x1")
    assert isinstance(converted.stem[0], Conv3dTT) and isinstance(converted.block[2], Conv3dTT)
    assert type(converted.down) is nn.Conv3d and type(converted.temporal) is nn.Conv3d
    assert converted(x).shape == before.shape
    # hand count: weights O*I/g*T*H*W (+ O bias) before; O*I/g*H*W + 4*(T-1)*O (+ O bias) after (similarity)
    expected = {"stem.0": (8 * 3 * 75, 8 * 3 * 25 + 4 * 2 * 8), "block.0": (8 * 8 * 27, 8 * 8 * 9 + 4 * 2 * 8),
                "block.2": (8 * 4 * 27 + 8, 8 * 4 * 9 + 4 * 2 * 8 + 8), "down": (128, 128),
                "spatial": (16 * 16 * 9 + 16,) * 2, "temporal": (16 * 16 * 3 + 16,) * 2}
    assert {layer.name: (layer.params_before, layer.params_after) for layer in summary.layers} == expected
    others = 2 * 8 + 16 * 5 + 5  # batch norm (weight, bias) and the linear head
    assert summary.params_before == sum(b for b, _ in expected.values()) + others == 7733
    assert summary.params_after == sum(a for _, a in expected.values()) + others == 4997
    assert summary.params_after == sum(p.numel() for p in converted.parameters())
    assert summary.params_before == sum(p.numel() for p in model.parameters())


def test_convert_model_in_place_on_request() -> None:
    model = TinyVideoNet()
    first_conv = model.stem[0].weight.detach().clone()
    converted, summary = convert_model(model, inplace=True)
    assert converted is model and isinstance(model.stem[0], Conv3dTT) and len(summary.converted) == 3
    assert torch.equal(model.stem[0].k0.detach(), first_conv[:, :, 0])  # first_slice: K0 is the conv's slice t = 0


def test_convert_model_first_slice_keeps_a_temporally_constant_model() -> None:
    torch.manual_seed(5)
    model = TinyVideoNet().double().eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv3d):
                module.weight.copy_(module.weight[:, :, :1].expand_as(module.weight))
    x = torch.randn(2, 3, 8, 16, 16, dtype=torch.float64)
    before = model(x)
    converted, _ = convert_model(model, init="first_slice")
    torch.testing.assert_close(converted(x), before, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("include,exclude,converted", [
    (None, ["stem"], ["block.0", "block.2"]),
    (["block"], None, ["block.0", "block.2"]),
    (["block.*", "stem.0"], ["block.2"], ["stem.0", "block.0"]),
    (["down", "temporal", "stem*"], None, ["stem.0"]),  # selected but ineligible: still left alone
])
def test_convert_model_name_filters(include, exclude, converted) -> None:
    _, summary = convert_model(TinyVideoNet(), include=include, exclude=exclude)
    assert [layer.name for layer in summary.converted] == converted
    assert {layer.reason for layer in summary.layers if layer.name == "block.2" and not layer.converted} <= {
        "excluded", "not included"}


def test_name_patterns_and_their_errors() -> None:
    assert matches("layer1.0.conv1.0", ["layer1"]) and matches("layer2.0.conv1.0", ["layer*.0.*"])
    assert not matches("layer10.0", ["layer1"])
    with pytest.raises(TTNError, match="include pattern 'blok' matches no Conv3d.*stem.0, block.0"):
        convert_model(TinyVideoNet(), include=["blok"])
    with pytest.raises(TTNError, match="exclude pattern"):
        convert_model(TinyVideoNet(), exclude=["head"])
    with pytest.raises(TTNError, match="theta"):
        convert_model(TinyVideoNet(), theta="rigid")
    model = TinyVideoNet()
    model.block[0] = nn.Conv3d(8, 8, 3, padding=1, padding_mode="circular")
    with pytest.raises(TTNError, match="Conv3d 'block.0': cannot convert a Conv3d with padding_mode='circular'"):
        convert_model(model, inplace=True)
    assert type(model.block[0]) is nn.Conv3d  # nothing half-converted was put in its place


def test_state_dict_round_trip() -> None:
    torch.manual_seed(6)
    trained, _ = convert_model(TinyVideoNet(), theta="affine")
    for module in trained.modules():
        if isinstance(module, Conv3dTT):
            perturb_transforms(module)
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(7)
    restored, _ = convert_model(TinyVideoNet(), theta="affine", init="fresh")
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    trained.eval(), restored.eval()
    x = torch.randn(1, 3, 8, 16, 16)
    assert torch.equal(restored(x), trained(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_convert_model_on_cuda() -> None:
    model, summary = convert_model(TinyVideoNet().cuda())
    assert model.stem[0].k0.is_cuda and len(summary.converted) == 3
    assert model(torch.randn(1, 3, 8, 16, 16, device="cuda")).shape == (1, 5)


# ------------------------------------------------------------------ torchvision's r3d_18 (the [vision] extra)
def test_torchvision_r3d_18() -> None:
    try:
        model = video_model("r3d_18")
    except TTNError as exc:
        pytest.skip(f"torchvision unusable here: {exc}")
    x = torch.randn(1, 3, 4, 32, 32)
    model.eval()
    shape = model(x).shape
    _, summary = convert_model(model)
    assert len(summary.layers) == 20 and len(summary.converted) == 17  # stem 3x7x7 and 16 3x3x3 convs
    assert {layer.name for layer in summary.layers if not layer.converted} == {
        f"layer{i}.0.downsample.0" for i in (2, 3, 4)}
    assert (summary.params_before, summary.params_after) == (33_371_472, 11_412_944)
    assert model(x).shape == shape


# ------------------------------------------------------------------ import ttn stays light
def test_import_ttn_does_not_import_torch_and_exports_convert_model() -> None:
    code = "import sys, ttn; assert 'torch' not in sys.modules; print(ttn.convert_model.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "ttn.nn.convert"
    assert ttn.convert_model is convert_model
    with pytest.raises(AttributeError):
        ttn.no_such_name  # noqa: B018
