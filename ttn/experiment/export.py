"""A trained model as a file other programs load without ttn (`ttn export`): TorchScript or ONNX.

The model is traced on random videos of its size (the batch size stays free in both formats). A TorchScript
program is checked against the model on videos of another batch size, an ONNX file too where onnxruntime is
installed: a format whose op set cannot express the model fails here, with one line, instead of writing a file
that computes something else.
"""
from __future__ import annotations

import importlib.util
import io
import logging
import os
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch import nn

from ttn.errors import TTNError
from ttn.experiment.checkpoint import CheckpointHeader
from ttn.nn import LeNet5
from vmnist.infra.atomic import atomic_open

EXPORT_FORMATS = ("torchscript", "onnx")
#: How far an exported model's logits may be from the model's (float rounding of another kernel order).
TOLERANCE = 1e-4


def example_input(header: CheckpointHeader, batch: int = 1) -> torch.Tensor:
    """Random float videos (batch, 1, T, H, W) of the model's size, scaled as it was trained."""
    scale = 1.0 if header.input_scale == "unit" else 255.0
    return torch.rand(batch, 1, header.frames, header.size, header.size) * scale


def export_model(model: nn.Module, header: CheckpointHeader, fmt: str, out: str | os.PathLike[str]) -> Path:
    """Write `model` to `out` in `fmt` ("torchscript" or "onnx"), atomically; TTNError (one line) if the format
    is not available or cannot express the model."""
    if fmt not in EXPORT_FORMATS:
        raise TTNError(f"--format {fmt}: choose one of {', '.join(EXPORT_FORMATS)}")
    model = model.eval()
    if isinstance(model, LeNet5):
        model.set_cpu_routes(False)  # the formats hold torch's ops, not this process's CPU kernels
    payload = _torchscript(model, header) if fmt == "torchscript" else _onnx(model, header)
    with atomic_open(out, "wb") as stream:
        stream.write(payload)
    return Path(out)


def _torchscript(model: nn.Module, header: CheckpointHeader) -> bytes:
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings: the check below decides
        try:
            traced = torch.jit.trace(model, example_input(header, 2))
        except Exception as exc:  # noqa: BLE001 - any op the tracer refuses
            raise TTNError(f"--format torchscript: this model cannot be traced ({_first_line(exc)})") from None
        check = example_input(header, 3)
        _check_close(model(check), traced(check), "torchscript")
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)  # (torch deprecates TorchScript for torch.export; it still loads anywhere)
    return buffer.getvalue()


def _onnx(model: nn.Module, header: CheckpointHeader) -> bytes:
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise TTNError(f"--format onnx needs {' and '.join(missing)}, not installed: pip install {' '.join(missing)} "
                       "(or export --format torchscript)")
    buffer, chatter = io.BytesIO(), io.StringIO()
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    with warnings.catch_warnings(), torch.no_grad(), redirect_stdout(chatter):  # the exporter's progress lines
        warnings.simplefilter("ignore")
        exporter_log.setLevel(logging.ERROR)
        try:
            torch.onnx.export(model, (example_input(header, 2),), buffer, input_names=["videos"], verbose=False,
                              output_names=["logits"], dynamic_axes={"videos": {0: "batch"}, "logits": {0: "batch"}})
        except Exception as exc:  # noqa: BLE001 - an op ONNX's op set does not have
            raise TTNError(f"--format onnx: this model's ops cannot be exported to ONNX ({_first_line(exc)}); "
                           "export --format torchscript instead") from None
        finally:
            exporter_log.setLevel(level)
    _check_onnx(model, header, buffer.getvalue())
    return buffer.getvalue()


def _check_onnx(model: nn.Module, header: CheckpointHeader, payload: bytes) -> None:
    """Compare the ONNX file's logits with the model's, where onnxruntime is installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return
    import onnxruntime

    check = example_input(header, 3)
    session = onnxruntime.InferenceSession(payload, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: check.numpy()})[0]
    with torch.no_grad():
        _check_close(model(check), torch.from_numpy(got), "onnx")


def _check_close(expected: torch.Tensor, got: torch.Tensor, fmt: str) -> None:
    if expected.shape != got.shape or not torch.allclose(expected, got, atol=TOLERANCE, rtol=TOLERANCE):
        raise TTNError(f"--format {fmt}: the exported model does not compute what the model does (its op set "
                       "cannot express it): not written")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
