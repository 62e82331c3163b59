"""The CPU boundary, in one place: a LeNet-5 with its CPU routes switched on (`LeNet5.set_cpu_routes`) and a
training step in shards (`ttn.experiment.step.train_step`) give the plain model's outputs and gradients, for every
architecture and for channel counts that take every route (packed first layer, input gradient by frames, neither)."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ttn.cpu import inference_batch_size, routes_enabled
from ttn.cpu.memory import channels_last_strides
from ttn.experiment.evaluation import predict
from ttn.experiment.step import train_step
from ttn.nn import LeNet5, build_model
from ttn.registry import ARCHS

CHANNELS = [(3, 4), (18, 28), (12, 22)]


def plain_gradients(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and parameter gradients of the plain model: ``F.cross_entropy(model(x), y).backward()``."""
    model.zero_grad(set_to_none=True)
    logits = model(x)
    F.cross_entropy(logits, y).backward()
    return logits.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("arch", ARCHS)
def test_routes_and_sharded_steps_equal_plain_pytorch(arch: str, channels: tuple[int, int]) -> None:
    # Gradients are compared in float64: in float32 two nearly equal values of a max-pool window can swap places
    # under any change of summation order, sending a gradient to a neighbouring element (on some CPUs relative
    # errors of 1e-3 appear for some seeds, plain float32 PyTorch against float64 as much as the routes).
    torch.manual_seed(0)
    fast = build_model(arch, channels=channels)
    plain = copy.deepcopy(fast).set_cpu_routes(False)
    assert fast.cpu_routes and not plain.cpu_routes
    x, y = torch.rand(8, 1, 30, 28, 28), torch.randint(0, 10, (8,))
    with torch.no_grad():
        torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)

    fast.double(), plain.double()
    x = x.double()
    plain_logits, plain_grads = plain_gradients(plain, x, y)
    for shards in (1, 2):
        optimizer = torch.optim.SGD(fast.parameters(), lr=0.0)  # a step that leaves the weights as they are
        loss = train_step(fast, optimizer, x, y, "mean", shards)
        assert loss == pytest.approx(F.cross_entropy(plain_logits, y).item(), rel=1e-12)
        for (name, p), expected in zip(fast.named_parameters(), plain_grads):
            torch.testing.assert_close(p.grad, expected, rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("arch", ARCHS)
def test_the_routes_store_5d_weights_channels_last_and_keep_values(arch: str) -> None:
    # a (O, 1, ...) weight counts as both formats; unless its strides are the channels-last ones, oneDNN
    # runs that convolution in NCDHW (3x slower for the (2+1)D spatial conv)
    model = build_model(arch, channels=(3, 4)).set_cpu_routes(False)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.set_cpu_routes(True)
    for name, parameter in model.named_parameters():
        if parameter.dim() == 5:
            assert parameter.stride() == channels_last_strides(parameter.shape), name
        assert torch.equal(parameter, before[name]), name
    assert set(model.state_dict()) == set(before)  # state dict and checkpoints unchanged


def test_the_switch_gives_plain_pytorch(monkeypatch) -> None:
    monkeypatch.setenv("TTN_CPU_ROUTES", "0")
    assert not routes_enabled("cpu") and inference_batch_size(500, "cpu") == 500
    assert not build_model("3d", channels=(3, 4)).cpu_routes  # read when the model is made
    monkeypatch.delenv("TTN_CPU_ROUTES")
    assert routes_enabled("cpu") and not routes_enabled("meta") and inference_batch_size(500, "cpu") == 100
    assert build_model("3d", channels=(3, 4)).cpu_routes
    made = LeNet5(torch.nn.Conv3d, channels=(3, 4), temporal_kernel=5, frames=30, size=28, num_classes=10)
    assert not made.cpu_routes  # a model made directly starts plain


def test_predict_batches_inference_in_one_place(monkeypatch) -> None:
    import ttn.cpu.switch

    torch.manual_seed(0)
    model = build_model("3dttn", channels=(3, 4))
    videos = torch.randint(0, 256, (7, 30, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        plain = copy.deepcopy(model).set_cpu_routes(False)(videos.unsqueeze(1).float() / 255).argmax(1).numpy()
    monkeypatch.setattr(ttn.cpu.switch, "INFERENCE_BATCH", 3)
    sizes: list[int] = []
    original = LeNet5.forward
    monkeypatch.setattr(LeNet5, "forward", lambda self, x: sizes.append(len(x)) or original(self, x))
    assert (predict(model, videos, "unit", batch_size=500) == plain).all()
    assert sizes == [3, 3, 1]
