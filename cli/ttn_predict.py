"""`ttn predict` (one video through a checkpoint: class and probabilities) and `ttn export` (TorchScript, ONNX)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from cli.common import UserPath, echo, err_console, json_option, out_console
from cli.ttn_train import check_evaluable, data_option

#: The formats of `ttn export` (ttn.experiment.export.EXPORT_FORMATS; here without importing torch for --help).
FORMATS = ("torchscript", "onnx")


@click.command("predict")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@data_option
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True,
              help="The split of --data the video is in.")
@click.option("--index", type=click.IntRange(min=0), required=True, help="The video's index in the split.")
@json_option("the prediction (class, probabilities, true label)")
def predict_command(checkpoint: Path, data: Path, split: str, index: int, as_json: bool) -> None:
    """Classify one video of a Video-MNIST file with a checkpoint (from `ttn train --save-model`).

    \b
    Examples:
      ttn predict MODEL.pt --data data.h5 --split test --index 17
      ttn predict MODEL.pt --index 17 --json | jq .predicted
    """
    import vmnist

    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.inference import predict_video

    model, header = load_checkpoint(checkpoint)
    check_evaluable(checkpoint, header, data, vmnist.dataset_fingerprint(data))
    prediction = predict_video(model, data, split, index, header.input_scale)
    if as_json:
        echo(json.dumps(asdict(prediction) | {"checkpoint": str(checkpoint)}, indent=1))
        return
    verdict = "right" if prediction.predicted == prediction.label else "wrong"
    out_console.print(f"{split} video {index}: class {prediction.predicted} ({verdict}: its label is "
                      f"{prediction.label}), probability {prediction.probabilities[prediction.predicted]:.3f}",
                      highlight=False, markup=False, soft_wrap=True)
    out_console.print("  ".join(f"{digit}: {p:.3f}" for digit, p in enumerate(prediction.probabilities)),
                      highlight=False, markup=False, soft_wrap=True)


@click.command("export")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="torchscript", show_default=True,
              help="torchscript: torch.jit.load(FILE) without ttn; onnx: needs pip install onnx onnxscript.")
@click.option("--out", type=UserPath(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@click.option("--force", is_flag=True, help="Replace an existing --out.")
def export_command(checkpoint: Path, fmt: str, out: Path, force: bool) -> None:
    """Write a checkpoint's model as TorchScript or ONNX: input float videos (N, 1, T, H, W) scaled as in
    training (the header's input scale: [0, 1] by default), output the logits (N, 10).

    The exported model is checked against the model on random videos; a format whose op set cannot express the
    model is refused and nothing is written.

    \b
    Examples:
      ttn export MODEL.pt --out model.ts   # then torch.jit.load("model.ts")
      ttn export MODEL.pt --format onnx --out model.onnx
    """
    from ttn.errors import TTNError
    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.experiment.export import export_model

    if out.exists() and not force:
        raise TTNError(f"--out {out} already exists: pass --force to replace it, or choose another file")
    model, header = load_checkpoint(checkpoint)
    written = export_model(model, header, fmt, out)
    err_console.print(f"wrote {written} ({fmt}; input scale {header.input_scale}, videos of {header.frames} frames "
                      f"of {header.size}x{header.size})", markup=False, highlight=False, soft_wrap=True)
