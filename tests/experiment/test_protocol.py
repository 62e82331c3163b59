"""The protocol options of a run: the authors' recipe, --score, --val-every, frozen transforms and the
transform learning-rate scale (ttn.experiment.training, ttn.experiment.optim)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.errors import TTNError
from ttn.experiment.config import candidate_tag, make_config
from ttn.experiment.evaluation import scale_input
from ttn.experiment.optim import PlateauDecay, current_lr, make_optimizer
from ttn.experiment.sampling import val_indices
from ttn.experiment.training import seeded_model, train_run
from ttn.nn import Conv3dTT, build_model
from ttn.nn.transform_stats import transform_statistics

TINY = dict(epochs=3, channels=(2, 3), val_size=12)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from vmnist.testing import make_tiny_dataset

    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=40)


def test_authors_recipe_is_the_authors_code() -> None:
    config = make_config("authors", channels=(6, 16))
    assert (config.input_scale, config.lr, config.lr_decay, config.score, config.val_every) == ("raw", 5e-8, 1.0, "last", 10)
    assert (config.val_size, config.val_pick) == (1000, "first")
    assert make_config("original") == config.__class__(**{**config.__dict__, "channels": None})  # the old name
    kwargs = {"channels": [6, 16]}
    model_3d, _ = seeded_model("3d", 0, config, kwargs)
    for conv in (model_3d.conv1, model_3d.conv2):  # weights and biases ~ N(0, 1)
        assert conv.weight.std().item() == pytest.approx(1.0, abs=0.05)
        assert conv.bias.std().item() == pytest.approx(1.0, abs=0.6)  # 6 / 16 values only
    assert model_3d.conv2.weight.mean().item() == pytest.approx(0.0, abs=0.05)
    model_tt, _ = seeded_model("3dttn", 0, config, kwargs)
    assert model_tt.conv2.k0.std().item() == pytest.approx(1.0, abs=0.05)
    default, _ = seeded_model("3d", 0, make_config(conv_init="default"), kwargs)
    assert default.conv2.weight.std().item() < 0.1  # PyTorch's Kaiming-uniform
    videos = torch.full((1, 2, 3, 3), 255, dtype=torch.uint8)
    assert scale_input(videos, config.input_scale).max().item() == 255.0
    assert scale_input(videos, "unit").max().item() == 1.0
    assert list(val_indices(10_000, 1000, "first")) == list(range(1000))


def test_he_init_gives_the_3d_conv_the_rule_of_the_3dttn_k0() -> None:
    kwargs = {"channels": [6, 16]}
    default_3d, _ = seeded_model("3d", 0, make_config(conv_init="default"), kwargs)
    default_tt, _ = seeded_model("3dttn", 0, make_config(conv_init="default"), kwargs)
    he_3d, _ = seeded_model("3d", 0, make_config(conv_init="he"), kwargs)
    he_tt, _ = seeded_model("3dttn", 0, make_config(conv_init="he"), kwargs)
    for name in ("conv1", "conv2"):  # the same std rule, sqrt(2 / fan_in) over the built 5x5x5 kernel
        fan_in = math.prod(getattr(he_3d, name).weight.shape[1:])
        assert getattr(he_3d, name).weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
        assert getattr(default_tt, name).k0.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
    # PyTorch's default conv init (Kaiming-uniform, a = sqrt(5)) starts sqrt(6) smaller: the asymmetry "he" removes
    ratio = default_tt.conv2.k0.std().item() / default_3d.conv2.weight.std().item()
    assert ratio == pytest.approx(math.sqrt(6), rel=0.05)
    # only the 3D conv weights change: biases, linear layers and the whole 3DTTN are as built
    assert torch.equal(he_3d.conv2.bias, default_3d.conv2.bias) and torch.equal(he_3d.fc1.weight, default_3d.fc1.weight)
    assert all(torch.equal(a, b) for a, b in zip(he_tt.state_dict().values(), default_tt.state_dict().values()))
    assert candidate_tag(make_config(conv_init="he", lr=0.02), "3d", 10) == "lr0.02-inithe"


def test_score_last_and_val_every(data) -> None:
    config = make_config(**TINY, val_every=2, score="last", lr_decay=1.0)
    record = train_run(data, "3d", 10, 0, config).record
    validated = [entry["epoch"] for entry in record["history"] if entry["val_accuracy"] is not None]
    assert validated == [2, 3]  # every 2nd epoch and after the last
    assert record["score"] == "last" and record["scored_epoch"] == 3
    assert record["val_accuracy"] == record["history"][-1]["val_accuracy"]
    assert record["config"]["val_every"] == 2 and record["config"]["score"] == "last"
    best = train_run(data, "3d", 10, 0, make_config(**TINY, val_every=2, lr_decay=1.0)).record
    vals = {entry["epoch"]: entry["val_accuracy"] for entry in best["history"] if entry["val_accuracy"] is not None}
    assert best["val_accuracy"] == max(vals.values()) and best["scored_epoch"] == best["best_epoch"]
    with pytest.raises(TTNError, match="--val-every 3 must divide"):
        make_config(val_every=3)


def test_frozen_transforms_stay_at_the_identity_through_training(data) -> None:
    result = train_run(data, "3dttn", 10, 0, make_config(**TINY, freeze_transforms=True))
    model = result.model
    for conv in (model.conv1, model.conv2):
        assert conv.transforms_frozen and not any(p.requires_grad for p in conv.transform_parameters())
        assert torch.equal(conv.scale, torch.ones_like(conv.scale)) and not conv.rotation.any()
        assert not conv.tx.any() and not conv.ty.any()
        kernel = conv.kernel()
        assert all(torch.equal(kernel[:, :, t], conv.k0) for t in range(kernel.shape[2]))
    learned = train_run(data, "3dttn", 10, 0, make_config(**TINY)).record
    assert result.record["params"] == learned["params"] - (2 + 3) * 4 * 4  # (s, r, tx, ty) x 4 steps per kernel
    assert result.record["run_id"].endswith("-frozen-r0") and result.record["config"]["freeze_transforms"] is True
    assert result.record["transforms"]["conv1"]["rotation_deg_max"] == 0.0


def test_transform_lr_scale_reaches_the_optimizer_and_moves_transforms_x_times_further() -> None:
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 30, 28, 28), torch.randint(0, 10, (4,))
    moved = {}
    for scale in (1.0, 10.0):
        torch.manual_seed(0)
        model = build_model("3dttn", channels=(2, 3))
        with torch.no_grad():
            model.conv1.rotation.normal_(0.0, 0.1)  # off the identity, so that every transform gets a gradient
        optimizer = make_optimizer(model, lr=0.01, momentum=0.9, transform_lr_scale=scale)
        transforms = {id(p) for conv in (model.conv1, model.conv2) for p in conv.transform_parameters()}
        groups = optimizer.param_groups
        if scale == 1.0:
            assert len(groups) == 1 and groups[0]["lr"] == 0.01
        else:
            assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.1)]
            assert {id(p) for p in groups[1]["params"]} == transforms
            assert not {id(p) for p in groups[0]["params"]} & transforms
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        moved[scale] = {name: (p.detach() - before[name]).abs().sum().item() for name, p in model.named_parameters()}
    for name in moved[1.0]:
        ratio = 10.0 if name.split(".")[-1] in ("scale", "rotation", "tx", "ty") else 1.0
        assert moved[10.0][name] == pytest.approx(ratio * moved[1.0][name], rel=1e-4), name
    # the plateau decay keeps the ratio
    schedule = PlateauDecay(optimizer, factor=0.5, every=1)
    schedule.step(1, 0.5)
    schedule.step(2, 0.5)
    assert current_lr(optimizer) == 0.005 and optimizer.param_groups[1]["lr"] == pytest.approx(0.05)


def test_transform_statistics_are_in_human_units() -> None:
    conv = Conv3dTT(2, 3, (5, 5, 5))
    with torch.no_grad():
        conv.rotation.fill_(math.radians(12.0))
        conv.tx.fill_(0.5)  # half a unit = one pixel of a 5x5 slice (align_corners=True)
        conv.scale.fill_(math.exp(0.1))
    stats = transform_statistics(conv)
    assert stats["rotation_deg_mean"] == pytest.approx(12.0, abs=1e-5)
    assert stats["rotation_deg_max"] == pytest.approx(12.0, abs=1e-5)
    assert stats["log_scale_max"] == pytest.approx(0.1, abs=1e-6)
    assert stats["shift_px_max"] == pytest.approx(math.exp(0.1) * 1.0, abs=1e-5)  # |s R t| in pixels
    assert transform_statistics(Conv3dTT(2, 3, 5))["rotation_deg_max"] == 0.0


def test_record_holds_transform_statistics_per_epoch(data) -> None:
    record = train_run(data, "3dttn", 10, 0, make_config(**TINY)).record
    assert [sorted(entry["transforms"]) for entry in record["history"]] == [["conv1", "conv2"]] * 3
    assert set(record["transforms"]["conv2"]) == {"rotation_deg_mean", "rotation_deg_max", "shift_px_mean",
                                                  "shift_px_max", "log_scale_mean", "log_scale_max"}
    plain = train_run(data, "3d", 10, 0, make_config(**TINY)).record
    assert plain["transforms"] is None and "transforms" not in plain["history"][0]
    assert plain["config"]["transform_lr_scale"] is None and plain["config"]["theta"] is None  # not applicable


def test_a_diverging_run_is_recorded_not_failed(data) -> None:
    record = train_run(data, "3d", 10, 0, make_config(**TINY, lr=1e12, lr_decay=1.0)).record
    assert record["diverged_at_epoch"] in (1, 2) and len(record["history"]) == record["diverged_at_epoch"]
    assert math.isnan(record["history"][-1]["train_loss"]) and 0.0 <= record["test_accuracy"] <= 1.0
    assert record["history"][-1]["val_accuracy"] is not None  # the last epoch is validated and scored


@pytest.mark.parametrize(("args", "message"), [
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--transform-lr-scale", "-1"], "--transform-lr-scale must be positive"),
    (["--freeze-transforms", "--arch", "3d"], "applies to 3dttn only"),
    (["--device", "foo"], "--device 'foo' is not a torch device"),
    (["--device", "cuda"], "CUDA is not available"),
    (["--val-every", "3"], "--val-every 3 must divide"),
])
def test_cli_option_errors_are_one_line(data, tmp_path, args, message) -> None:
    base = ["train", "--data", str(data), "--arch", "3dttn", "--videos", "10", "--epochs", "1", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, base + args)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())
