"""The LeNet-5 zoo, checkpoints, and the `ttn models` / `ttn show-kernels` commands."""
from __future__ import annotations

import sys

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from cli.ttn_cli import main
from ttn.checkpoint import load_checkpoint, save_checkpoint
from ttn.errors import TTNError
from ttn.layers import THETA_KINDS, Conv2Plus1d, Conv3d, Conv3dTT
from ttn.layers.memory import channels_last_strides
from ttn.models import ARCHS, build_model, count_parameters, prepare_model
from ttn.paper import paper_table
from ttn.reference import plain_forward


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
    assert kinds == {"3d": Conv3d, "3dttn": Conv3dTT, "2plus1d": Conv2Plus1d}
    assert issubclass(Conv3d, nn.Conv3d)
    assert len({type(build_model(arch, channels=(4, 6))) for arch in ARCHS}) == 1


def test_2plus1d_roughly_matches_3d_parameters() -> None:
    model = build_model("2plus1d")
    assert (model.conv1.mid_channels, model.conv2.mid_channels) == (19, 106)  # Tran et al.'s formula
    ratio = count_parameters(model) / count_parameters(build_model("3d"))
    assert 0.99 < ratio < 1.01


@pytest.mark.parametrize("channels", [(3, 4), (18, 28), (12, 22)])  # every CPU route: packed first layer, input gradient by frames, neither
@pytest.mark.parametrize("arch", ARCHS)
def test_fast_path_equals_plain_reference(arch: str, channels: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build_model(arch, channels=channels)
    assert model.conv2.weight.is_contiguous(memory_format=torch.channels_last_3d) if arch == "3d" else True
    x = torch.rand(2, 1, 30, 28, 28)
    ours = model(x)
    ours.square().sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    reference = plain_forward(model, x)
    reference.square().sum().backward()
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
    for ours_grad, p in zip(grads, model.parameters()):
        torch.testing.assert_close(ours_grad, p.grad, rtol=1e-4, atol=1e-5)


def test_prepare_model_and_bad_options() -> None:
    model = build_model("3dttn", channels=(2, 3))
    assert prepare_model(model, "cpu") is model
    with pytest.raises(TTNError, match="unknown architecture"):
        build_model("resnet")
    with pytest.raises(TTNError, match="theta"):
        build_model("3dttn", theta="rigid")
    with pytest.raises(TTNError, match="channels"):
        build_model("3d", channels=(0, 4))
    with pytest.raises(TTNError, match="too small"):
        build_model("3d", frames=8)


def test_checkpoint_round_trip(tmp_path) -> None:
    kwargs = {"channels": [3, 4], "theta": "shared"}
    model = build_model("3dttn", **kwargs)
    with torch.no_grad():
        model.conv1.rotation.fill_(0.3)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, arch="3dttn", model_kwargs=kwargs, extra={"run_id": "x"})
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left
    loaded, meta = load_checkpoint(path)
    assert meta["arch"] == "3dttn" and meta["extra"] == {"run_id": "x"} and meta["model_kwargs"] == kwargs
    assert not loaded.training
    x = torch.rand(2, 1, 30, 28, 28)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_bad_checkpoints_raise_ttn_error(tmp_path) -> None:
    with pytest.raises(TTNError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(TTNError, match="cannot read"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(TTNError, match="not a ttn checkpoint"):
        load_checkpoint(foreign)
    good = save_checkpoint(tmp_path / "good.pt", build_model("3d", channels=(2, 3)), arch="3d",
                           model_kwargs={"channels": [2, 4]}, extra={})  # recipe does not fit the weights
    with pytest.raises(TTNError, match="do not fit"):
        load_checkpoint(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(TTNError, match="cannot read"):
        load_checkpoint(truncated)


# ---------------------------------------------------------------- CLI
def test_cli_models_lists_archs_and_paper_sizes() -> None:
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    for text in ["3d", "3dttn", "2plus1d", "496430", "444966", "496030", "254058", "222940", "375668", "348612"]:
        assert text in result.output
    assert "NO" not in result.output


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


@pytest.mark.parametrize("arch", ARCHS)
def test_5d_weights_have_exact_channels_last_strides(arch: str) -> None:
    # a (O, 1, ...) weight counts as both formats; unless its strides are the channels-last ones, oneDNN
    # runs that convolution in NCDHW (3x slower for the (2+1)D spatial conv)
    model = build_model(arch, channels=(3, 4))
    for name, parameter in model.named_parameters():
        if parameter.dim() == 5:
            assert parameter.stride() == channels_last_strides(parameter.shape), name
    # batch >= 16: below it, single-threaded PyTorch runs convs with 1x1 spatial filters (the (2+1)D temporal
    # conv) without oneDNN, in NCDHW
    with torch.no_grad():
        features = model.features(torch.rand(16, 1, 30, 28, 28))
    assert features.is_contiguous(memory_format=torch.channels_last_3d)


def test_inference_splits_large_batches_into_chunks(monkeypatch) -> None:
    import ttn.models

    torch.manual_seed(0)
    model = build_model("3dttn", channels=(3, 4)).eval()
    x = torch.rand(7, 1, 30, 28, 28)
    with torch.no_grad():
        whole = model.logits(x)
    monkeypatch.setattr(ttn.models, "INFERENCE_CHUNK", 3)
    calls = []
    monkeypatch.setattr(model, "logits", lambda chunk: calls.append(len(chunk)) or ttn.models.LeNet5.logits(model, chunk))
    with torch.inference_mode():
        chunked = model(x)
    assert calls == [3, 3, 1]
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)
    calls.clear()
    model(x).sum().backward()  # with autograd: one pass
    assert calls == [7]
