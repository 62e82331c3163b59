"""Model checkpoints: one file holding the weights and everything needed to rebuild and feed the model.

File format (``torch.save`` of a dict, loadable with ``weights_only=True``)::

    {"format": "ttn-checkpoint", "format_version": 1,
     "arch": str, "model_kwargs": dict (keyword arguments of `ttn.nn.build_model`),
     "input_scale": str (how uint8 videos become the model's input, `ttn.experiment.evaluation.scale_input`),
     "state_dict": {name: tensor}, "extra": dict (free-form: run id, epoch, accuracy, ...),
     "versions": {"ttn": str, "torch": str}}

`load_checkpoint` returns the model and a typed `CheckpointHeader`. Files written before "input_scale" was a
field of its own hold it in ``extra["config"]`` (`ttn train --save-model`) or not at all (then "unit"); both read.

Written atomically (temporary file in the same folder, then ``os.replace``): a crash never leaves a
half-written checkpoint under the final name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import ttn
from ttn.errors import TTNError, first_line
from vmnist.infra.atomic import atomic_open
from ttn.experiment.config import INPUT_SCALES
from ttn.nn import build_model
from ttn.nn.lenet5 import DEFAULT_FRAMES, DEFAULT_SIZE
from ttn.registry import ARCHS

FORMAT = "ttn-checkpoint"
FORMAT_VERSION = 1
#: What a checkpoint takes besides its tensors (header, extra, zip entries: a few KiB), and the run's record beside it
#: (tens of KiB): generously rounded up.
OVERHEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class CheckpointHeader:
    """What a checkpoint says besides the weights: how to rebuild its model and how to feed it videos."""

    arch: str
    model_kwargs: dict[str, Any]  # keyword arguments of `ttn.nn.build_model`
    input_scale: str  # "unit" or "raw" (`ttn.experiment.evaluation.scale_input`)
    extra: dict[str, Any]  # free-form: run id, accuracies, config, data (`ttn train --save-model`)
    versions: dict[str, str]

    @property
    def frames(self) -> int:
        """Frames of the videos the model was built for."""
        return int(self.model_kwargs.get("frames", DEFAULT_FRAMES))

    @property
    def size(self) -> int:
        """Height and width of the videos the model was built for."""
        return int(self.model_kwargs.get("size", DEFAULT_SIZE))


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    arch: str,
    model_kwargs: dict[str, Any],
    input_scale: str = INPUT_SCALES[0],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `model`'s weights with the recipe to rebuild it (``build_model(arch, **model_kwargs)``) and the
    `input_scale` it was trained with to `path`."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "model_kwargs": _plain(dict(model_kwargs)),
        "input_scale": str(input_scale),
        "state_dict": {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()},
        "extra": _plain(dict(extra or {})),
        "versions": {"ttn": str(ttn.__version__), "torch": str(torch.__version__)},
    }
    try:
        with atomic_open(path, "wb") as stream:
            torch.save(payload, stream)
    except RuntimeError as exc:  # torch's zip writer reports a failed write (e.g. a full disk) this way
        raise TTNError(f"cannot write checkpoint {path}: {first_line(exc)} (is the disk full?); nothing was left behind") from None
    return path


def checkpoint_bytes(arch: str, model_kwargs: dict[str, Any]) -> int:
    """About the bytes `save_checkpoint` writes for ``build_model(arch, **model_kwargs)``, with room to spare (the
    model is built on the meta device: no memory, no draws)."""
    with torch.device("meta"):
        model = build_model(arch, **model_kwargs)
    return sum(t.numel() * t.element_size() for t in model.state_dict().values()) + OVERHEAD_BYTES


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


def load_checkpoint(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> tuple[nn.Module, CheckpointHeader]:
    """Rebuild the model saved at `path` -> (model in eval mode, its header).

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
    header = _header(path, payload)  # damaged or unknown fields fail here, before any weights are read
    try:
        model = build_model(arch, **payload.get("model_kwargs", {}))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, KeyError, RuntimeError) as exc:
        raise TTNError(f"{path}: weights do not fit the recorded model ({first_line(exc)}): the file is damaged") from None
    model.to(device).eval()
    return model, header


def _header(path: Path, payload: dict[str, Any]) -> CheckpointHeader:
    """The header of a loaded payload (older files: the input scale from the run's config, else "unit"). TTNError
    if its fields are not what ttn writes, or it was trained on an input scale this ttn does not know (a model
    trained on 0-255 pixels must not be evaluated on [0, 1] ones, or the other way round)."""
    extra = payload.get("extra") or {}
    config = extra.get("config", {}) if isinstance(extra, dict) else None
    if not isinstance(payload.get("model_kwargs", {}), dict) or not isinstance(config, dict):
        raise TTNError(f"{path}: its model arguments or training config are not objects: the file is damaged")
    input_scale = payload.get("input_scale", config.get("input_scale", INPUT_SCALES[0]))
    if not isinstance(input_scale, str) or input_scale not in INPUT_SCALES:
        raise TTNError(f"{path} was trained on input scale {input_scale!r}, which this ttn does not know "
                       f"({', '.join(INPUT_SCALES)}): evaluate it with the ttn version that wrote it")
    return CheckpointHeader(arch=payload["arch"], model_kwargs=dict(payload.get("model_kwargs") or {}),
                            input_scale=input_scale, extra=dict(extra), versions=dict(payload.get("versions") or {}))
