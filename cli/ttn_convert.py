"""`ttn convert`: a torchvision video ResNet with its Conv3d layers turned into 3DTT layers, what that saves in
parameters and what it costs in step time."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from cli.common import err_console, out_console
from ttn.registry import CONVERT_INITS, THETA_KINDS, VIDEO_MODELS

if TYPE_CHECKING:  # torch is imported only when the command runs
    from torch import nn

    from ttn.nn.convert import ConversionSummary

def split_patterns(values: tuple[str, ...]) -> list[str]:
    """Repeated and comma-separated module-name patterns -> one list ("a,b" "c" -> [a, b, c])."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@click.command("convert")
@click.option("--model", "model_name", type=click.Choice(list(VIDEO_MODELS)), default="r3d_18", show_default=True,
              help="torchvision video ResNet (randomly initialized; needs the [vision] extra).")
@click.option("--theta", type=click.Choice(list(THETA_KINDS)), default="similarity", show_default=True,
              help="3DTT transform parameterization.")
@click.option("--init", type=click.Choice(list(CONVERT_INITS)), default="first_slice", show_default=True,
              help="K0 from each conv's slice t=0, the mean of its slices, or a fresh 3DTT init.")
@click.option("--include", multiple=True, metavar="PATTERN",
              help="Convert only Conv3d modules whose name matches (glob, e.g. 'layer3', 'layer*.0.*'; repeatable "
                   "or comma-separated). Default: all.")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave modules whose name matches alone.")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda or cuda:N.")
@click.option("--batch", type=click.IntRange(min=1), default=4, show_default=True, help="Clips per timed step.")
@click.option("--frames", type=click.IntRange(min=1), default=16, show_default=True, help="Frames per clip.")
@click.option("--size", type=click.IntRange(min=16), default=112, show_default=True, help="Clip height and width.")
@click.option("--repeats", type=click.IntRange(min=0), default=3, show_default=True,
              help="Timed steps per model, interleaved; 0 prints the parameter summary only.")
@click.option("--compile", "use_compile", is_flag=True, help="Time both models under torch.compile (if it works).")
def convert_command(model_name: str, theta: str, init: str, include: tuple[str, ...], exclude: tuple[str, ...],
                    device: str, batch: int, frames: int, size: int, repeats: int, use_compile: bool) -> None:
    """Convert a video ResNet's Conv3d layers to 3DTT: parameters per layer, and step time against the original.

    Every Conv3d with a temporal kernel > 1 and slices larger than 1x1 becomes a Conv3dTT of the same shapes
    (`ttn.convert_model`); the table lists every Conv3d and what became of it. Then one forward + backward of a
    random clip batch is timed for the original and the converted model, interleaved in this run, and their
    ratio is checked against the target of +15% (exit code 1 when it is not met).

    Time on 2 CPU cores at the defaults (r3d_18, batch 4, 16 frames, 112x112): about 5 s per step on a quiet
    machine, so about a minute with the warm-up steps (twice that when other jobs share the cores); --compile
    adds minutes of compilation; --repeats 0 skips the timing.
    """
    import torch

    from ttn.nn.convert import convert_model, video_model
    from ttn.registry import check_device

    check_device(device)
    torch.manual_seed(0)
    err_console.print(f"building {model_name} (torchvision, random init) ...")
    original = video_model(model_name).to(device)
    converted, summary = convert_model(original, theta=theta, init=init,
                                       include=split_patterns(include) or None, exclude=split_patterns(exclude))
    out_console.print(summary_table(summary, model_name))
    if repeats:
        time_steps(original, converted, device, (batch, frames, size), repeats, use_compile)


def summary_table(summary: ConversionSummary, model_name: str) -> Table:
    """Every Conv3d of the model: kernel, channels, parameters before and after, and what became of it."""
    saved = summary.params_before - summary.params_after
    table = Table(title=f"{model_name} -> 3DTT ({summary.theta}, init {summary.init}): "
                        f"{len(summary.converted)} of {len(summary.layers)} Conv3d layers converted",
                  caption=f"model parameters {summary.params_before:,} -> {summary.params_after:,} "
                          f"({-saved / summary.params_before:+.1%})")
    for column in ("layer", "kernel", "channels"):
        table.add_column(column)
    table.add_column("params before", justify="right")
    table.add_column("params after", justify="right")
    table.add_column("became")
    for layer in summary.layers:
        table.add_row(layer.name, "x".join(map(str, layer.kernel_size)), f"{layer.in_channels}->{layer.out_channels}",
                      f"{layer.params_before:,}", f"{layer.params_after:,}", "3DTT" if layer.converted else layer.reason)
    return table


def time_steps(original: nn.Module, converted: nn.Module, device: str, shape: tuple[int, int, int], repeats: int,
               use_compile: bool) -> None:
    """Print the median forward + backward time of both models on one clip batch, their ratio and the verdict;
    ClickException (exit code 1) when the target is not met."""
    from ttn.experiment.steptime import STEP_TARGET, clip_batch, compare_steps, compiled, fwd_bwd_step, synchronizer, \
        target_verdict

    batch, frames, size = shape
    x, y = clip_batch(batch, frames, size, device)
    if use_compile:
        err_console.print("compiling both models (torch.compile) ...")
        original_c, problem = compiled(original, x, y)
        converted_c, problem = (converted, problem) if problem else compiled(converted, x, y)
        if problem:
            err_console.print(f"torch.compile failed ({problem}); timing both models without it", markup=False)
        else:
            original, converted = original_c, converted_c
    err_console.print(f"timing forward + backward, batch {batch} x {frames} frames x {size}x{size} on {device}: "
                      f"1 warm-up + {repeats} steps per model, interleaved ...")
    result = compare_steps(fwd_bwd_step(original, x, y), fwd_bwd_step(converted, x, y), repeats,
                           sync=synchronizer(device))
    met, verdict = target_verdict(result)
    out_console.print(f"step (median of {repeats}): original {result.reference_s:.3f} s, 3DTT {result.candidate_s:.3f} s, "
                      f"ratio {result.ratio:.3f} ({result.ratio - 1:+.1%}); {verdict}")
    if not met:
        out_console.print("the 3DTT layers run the same F.conv3d as the originals; the extra is building their kernels "
                          "(grid_sample per temporal step) and its backward, plus noise from other load on the cores")
        raise click.ClickException(f"the 3DTT step costs {result.ratio - 1:+.1%} over the original's, above the "
                                   f"target of {STEP_TARGET:+.0%}")
