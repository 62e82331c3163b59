"""Model checkpoints: one file holding the weights and everything needed to rebuild the model.

File format (``torch.save`` of a dict, loadable with ``weights_only=True``)::

    {"format": "ttn-checkpoint", "format_version": 1,
     "arch": str, "model_kwargs": dict (keyword arguments of `ttn.models.build_model`),
     "state_dict": {name: tensor}, "extra": dict (free-form: run id, epoch, accuracy, ...),
     "versions": {"ttn": str, "torch": str}}

Written atomically (temporary file in the same folder, then ``os.replace``): a crash never leaves a
half-written checkpoint under the final name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

import ttn
from ttn.errors import TTNError
from vmnist.atomic import atomic_open
from ttn.experiment.config import INPUT_SCALES
from ttn.nn import build_model
from ttn.registry import ARCHS

FORMAT = "ttn-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    arch: str,
    model_kwargs: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `model`'s weights with the recipe to rebuild it (``build_model(arch, **model_kwargs)``) to `path`."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "model_kwargs": _plain(dict(model_kwargs)),
        "state_dict": {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()},
        "extra": _plain(dict(extra or {})),
        "versions": {"ttn": str(ttn.__version__), "torch": str(torch.__version__)},
    }
    try:
        with atomic_open(path, "wb") as stream:
            torch.save(payload, stream)
    except RuntimeError as exc:  # torch's zip writer reports a failed write (e.g. a full disk) this way
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TTNError(f"cannot write checkpoint {path}: {reason} (is the disk full?); nothing was left behind") from None
    return path


def _plain(value: Any) -> Any:
    """Built-in types only (what ``torch.load(weights_only=True)`` accepts): str subclasses, numpy scalars
    and paths become str / int / float; containers are converted recursively; tensors pass through."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, (bool, type(None), torch.Tensor)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        return value.item()  # numpy scalar
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _check_recipe(path: Path, payload: dict[str, Any]) -> None:
    """TTNError unless the model kwargs and the training config of a checkpoint are objects, with an input scale this
    ttn knows (a checkpoint trained on 0-255 pixels must not be evaluated on [0, 1] ones, or the other way round)."""
    extra = payload.get("extra", {})
    config = extra.get("config", {}) if isinstance(extra, dict) else None
    if not isinstance(payload.get("model_kwargs", {}), dict) or not isinstance(config, dict):
        raise TTNError(f"{path}: its model arguments or training config are not objects: the file is damaged")
    scale = config.get("input_scale", "unit")
    if not isinstance(scale, str) or scale not in INPUT_SCALES:
        raise TTNError(f"{path} was trained on input scale {scale!r}, which this ttn does not know "
                       f"({', '.join(INPUT_SCALES)}): evaluate it with the ttn version that wrote it")


def load_checkpoint(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at `path` -> (model in eval mode, meta without the state dict).

    Raises TTNError naming the file if it is missing, unreadable, corrupt or not a ttn checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise TTNError(f"checkpoint not found: {path} (check the path; `ttn train --save-model` writes them)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise TTNError(f"cannot read checkpoint {path}: not a readable torch file ({type(exc).__name__}); "
                       "it may be truncated or of another program: train again or choose another file") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise TTNError(f"{path} is not a ttn checkpoint (no format marker {FORMAT!r}): choose a file written by `ttn train`")
    if payload.get("format_version") != FORMAT_VERSION:
        raise TTNError(f"{path} has checkpoint format version {payload.get('format_version')!r}, this ttn reads "
                       f"{FORMAT_VERSION}: use the ttn version that wrote it")
    arch = payload.get("arch")
    if not isinstance(arch, str) or arch not in ARCHS:
        raise TTNError(f"{path} holds an unknown architecture {arch!r} (known: {', '.join(ARCHS)})")
    _check_recipe(path, payload)
    try:
        model = build_model(arch, **payload.get("model_kwargs", {}))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, KeyError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TTNError(f"{path}: weights do not fit the recorded model ({first_line}): the file is damaged") from None
    model.to(device).eval()
    meta = {key: value for key, value in payload.items() if key != "state_dict"}
    return model, meta
