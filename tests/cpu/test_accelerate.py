"""The CPU boundary, in one place: replacing each `ttn.cpu` entry point by plain PyTorch gives the same
model outputs and gradients, for every architecture and for channel counts that take every route
(packed first layer, input gradient by frames, neither)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ttn.cpu import AcceleratedLeNet5, accelerate, backward, inference_batch_size, routes_enabled
from ttn.cpu.memory import channels_last_strides
from ttn.experiment.evaluation import predict
from ttn.nn import build_model
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
def test_accelerated_forward_and_sharded_backward_equal_plain_pytorch(arch: str, channels: tuple[int, int]) -> None:
    # Gradients are compared in float64: in float32 two nearly equal values of a max-pool window can swap places
    # under any change of summation order, sending a gradient to a neighbouring element (on some CPUs relative
    # errors of 1e-3 appear for some seeds, plain float32 PyTorch against float64 as much as the routes).
    torch.manual_seed(0)
    model = build_model(arch, channels=channels)
    x, y = torch.rand(8, 1, 30, 28, 28), torch.randint(0, 10, (8,))
    fast = accelerate(model)
    assert isinstance(fast, AcceleratedLeNet5) and fast.model is model  # the same parameters, not copies
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), rtol=1e-5, atol=1e-5)

    model.double()
    x = x.double()
    plain_logits, plain_grads = plain_gradients(model, x, y)
    for shards in (1, 2):
        model.zero_grad(set_to_none=True)
        loss = backward(fast, F.cross_entropy, x, y, shards=shards)
        torch.testing.assert_close(loss, F.cross_entropy(plain_logits, y), rtol=1e-12, atol=1e-12)
        for (name, p), plain in zip(model.named_parameters(), plain_grads):
            torch.testing.assert_close(p.grad, plain, rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("arch", ARCHS)
def test_accelerate_stores_5d_weights_channels_last_and_keeps_values(arch: str) -> None:
    # a (O, 1, ...) weight counts as both formats; unless its strides are the channels-last ones, oneDNN
    # runs that convolution in NCDHW (3x slower for the (2+1)D spatial conv)
    model = build_model(arch, channels=(3, 4))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    accelerate(model)
    for name, parameter in model.named_parameters():
        if parameter.dim() == 5:
            assert parameter.stride() == channels_last_strides(parameter.shape), name
        assert torch.equal(parameter, before[name]), name
    assert set(model.state_dict()) == set(before)  # state dict and checkpoints unchanged


def test_the_switch_gives_plain_pytorch(monkeypatch) -> None:
    model = build_model("3d", channels=(3, 4))
    monkeypatch.setenv("TTN_CPU_ROUTES", "0")
    assert not routes_enabled("cpu") and accelerate(model) is model and inference_batch_size(500, "cpu") == 500
    monkeypatch.delenv("TTN_CPU_ROUTES")
    assert routes_enabled("cpu") and not routes_enabled("meta") and inference_batch_size(500, "cpu") == 100
    assert accelerate(model, "meta") is model  # other devices run the plain model
    assert accelerate(torch.nn.Linear(2, 2)) is not None  # any other model passes through unchanged


def test_predict_batches_inference_in_one_place(monkeypatch) -> None:
    import ttn.cpu.accelerated

    torch.manual_seed(0)
    model = build_model("3dttn", channels=(3, 4))
    videos = torch.randint(0, 256, (7, 30, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        plain = model(videos.unsqueeze(1).float() / 255).argmax(1).numpy()
    monkeypatch.setattr(ttn.cpu.accelerated, "INFERENCE_BATCH", 3)
    sizes: list[int] = []
    original = AcceleratedLeNet5.forward
    monkeypatch.setattr(AcceleratedLeNet5, "forward", lambda self, x: sizes.append(len(x)) or original(self, x))
    assert (predict(model, videos, "unit", batch_size=500) == plain).all()
    assert sizes == [3, 3, 1]
