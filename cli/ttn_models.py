"""`ttn models` (the architectures and their sizes) and `ttn show-kernels` (what a 3DTT layer learned)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from cli.common import UserPath, dpi_option, echo, err_console, figure_path, json_option, out_console
from ttn.registry import THETA_KINDS

#: Kernels `ttn show-kernels` draws unless told: six rows of 3DTT slices fill a page.
DEFAULT_MAX_KERNELS = 6


@click.command("models")
@click.option("--theta", type=click.Choice(list(THETA_KINDS)), default="similarity", show_default=True,
              help="3DTT transform parameterization used for the 3dttn counts.")
@json_option("the architectures and the paper's configurations")
def models_command(theta: str, as_json: bool) -> None:
    """The architectures: layers and parameter counts of the defaults and of the paper's Table 2 sizes."""
    import json

    from ttn.nn import DEFAULT_CHANNELS, build_model, count_parameters, describe_layers
    from ttn.paper import paper_table
    from ttn.registry import ARCH_LABELS, ARCHS

    models = [{"arch": arch, "model": ARCH_LABELS[arch], "layers": describe_layers(model),
               "params": count_parameters(model)} for arch in ARCHS for model in [build_model(arch, theta=theta)]]
    sizes: dict[tuple[str, tuple[int, int]], dict] = {}
    for row in paper_table():
        entry = sizes.setdefault((row.arch, row.channels), {"videos": [], "params": row.params})
        entry["videos"].append(row.videos)
    paper = [{"arch": arch, "channels": list(channels), "videos": entry["videos"], "paper_params": entry["params"],
              "params": count_parameters(build_model(arch, channels=channels, theta="similarity"))}
             for (arch, channels), entry in sizes.items()]
    if as_json:
        echo(json.dumps({"theta": theta, "channels": list(DEFAULT_CHANNELS), "models": models, "paper": paper}, indent=1))
        return
    table = Table(title=f"Models (channels {DEFAULT_CHANNELS[0]},{DEFAULT_CHANNELS[1]}, kernels 5x5x5, "
                        f"input 1x30x28x28, 3DTT theta {theta})")
    for name in ("arch", "model", "layers (conv, conv, fully connected)"):
        table.add_column(name)
    table.add_column("parameters", justify="right")
    for model in models:
        table.add_row(model["arch"], model["model"], model["layers"], str(model["params"]))
    out_console.print(table)
    table = Table(title="The paper's Table 2 configurations (similarity theta)")
    table.add_column("arch")
    table.add_column("channels")
    table.add_column("train videos", overflow="fold")
    for name in ("parameters", "paper"):
        table.add_column(name, justify="right")
    table.add_column("match", justify="center")
    for entry in paper:
        table.add_row(entry["arch"], ",".join(map(str, entry["channels"])), ", ".join(map(str, entry["videos"])),
                      str(entry["params"]), str(entry["paper_params"]),
                      "yes" if entry["params"] == entry["paper_params"] else "NO")
    out_console.print(table)


@click.command("show-kernels")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", type=UserPath(dir_okay=False, path_type=Path), default=Path("kernels.png"), callback=figure_path,
              show_default=True, help="Image to write (format from the suffix: .png, .pdf, .svg).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--layer", type=click.IntRange(1, 2), default=1, show_default=True, help="Which convolution.")
@click.option("--in-channel", type=click.IntRange(min=0), default=0, show_default=True,
              help="Input channel of the kernels to draw (layer 1 has only 0).")
@click.option("--max-kernels", type=click.IntRange(min=1), default=DEFAULT_MAX_KERNELS, show_default=True,
              help="Draw the first N kernels (6 fill a page; the paper's layer 1 has 18).")
@dpi_option
def show_kernels_command(checkpoint: Path, out: Path, force: bool, layer: int, in_channel: int, max_kernels: int,
                         dpi: int) -> None:
    """Draw a layer's kernels, slice by slice: for a 3DTT layer each K0, its T - 1 warped slices and the learned
    (s, r, tx, ty) of every step; for a 3D layer its T slices. One colour scale per kernel, with its colour bar.

    CHECKPOINT is a model file written by `ttn train --save-model`.
    """
    from ttn.experiment.checkpoint import load_checkpoint
    from ttn.report.kernels import plot_kernels

    if out.exists() and not force:
        raise click.ClickException(f"--out {out} already exists: pass --force to replace it, or choose another file")
    model, header = load_checkpoint(checkpoint)
    written = plot_kernels(model, out, layer=layer, in_channel=in_channel, max_kernels=max_kernels,
                           name=f"{checkpoint.name}: {header.arch}", dpi=dpi)
    err_console.print(f"wrote {written}", markup=False)
