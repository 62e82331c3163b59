"""`ttn show-kernels`' figure: headers that name what a column is, a colour bar per kernel, legible captions,
a page-sized picture, written at its size times dpi."""
from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from cli.ttn_cli import main
from ttn.experiment.checkpoint import save_checkpoint
from ttn.nn import build_model
from ttn.report.kernels import kernel_figure, plot_kernels
from vmnist.pictures.figures import pixel_size, text_problems

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402 (with matplotlib, the [plot] extra)

CHANNELS = (8, 10)  # more kernels than the 6 drawn by default


def moved_model(arch: str) -> torch.nn.Module:
    """A model of `arch` whose 3DTT transforms (if any) moved away from the identity, as after training."""
    torch.manual_seed(0)
    model = build_model(arch, channels=CHANNELS)
    if arch == "3dttn":
        with torch.no_grad():
            for conv in (model.conv1, model.conv2):
                for parameter in (conv.scale, conv.rotation, conv.tx, conv.ty):
                    parameter.add_(0.05 * torch.randn_like(parameter))
    return model


def column_titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


@pytest.mark.parametrize("arch,layer,titles", [("3dttn", 1, ["K0", "t = 1", "t = 2", "t = 3", "t = 4"]),
                                               ("3dttn", 2, ["K0", "t = 1", "t = 2", "t = 3", "t = 4"]),
                                               ("3d", 1, ["t = 0", "t = 1", "t = 2", "t = 3", "t = 4"])])
def test_kernel_figure_is_legible_and_names_its_columns(arch, layer, titles) -> None:
    fig = kernel_figure(moved_model(arch), layer=layer, max_kernels=6, name=f"model.pt: {arch}")
    assert text_problems(fig, dpi=150) == []
    assert column_titles(fig) == titles
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 6  # one per kernel: each row has its own symmetric scale
    assert f"kernels 0-5 of {CHANNELS[layer - 1]}" in fig._suptitle.get_text()
    width, height = fig.get_size_inches()
    assert width <= 7.5 and height <= 10  # a page, not 8 x 35 in
    if arch == "3dttn":  # every warped slice is captioned with its step's transform
        captions = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
        assert len(captions) == 6 * 4 and all(caption.startswith("s ") and "tx " in caption for caption in captions)


def test_kernels_written_as_png_svg_pdf_at_dpi(tmp_path) -> None:
    model = moved_model("3dttn")
    png = plot_kernels(model, tmp_path / "k.png", max_kernels=2, dpi=60)
    assert Image.open(png).size == pixel_size(kernel_figure(model, max_kernels=2), 60)
    assert plot_kernels(model, tmp_path / "k.svg", max_kernels=1).read_text().lstrip().startswith("<?xml")
    assert plot_kernels(model, tmp_path / "k.pdf", max_kernels=1).read_bytes()[:4] == b"%PDF"


def test_show_kernels_draws_six_kernels_by_default_and_takes_dpi(tmp_path) -> None:
    kwargs = {"channels": list(CHANNELS)}
    checkpoint = save_checkpoint(tmp_path / "m.pt", moved_model("3dttn"), arch="3dttn", model_kwargs=kwargs)
    out = tmp_path / "kernels.png"
    result = CliRunner().invoke(main, ["show-kernels", str(checkpoint), "--out", str(out), "--dpi", "50"])
    assert result.exit_code == 0, result.output
    width, height = pixel_size(kernel_figure(moved_model("3dttn"), max_kernels=6), 50)
    assert Image.open(out).size == (width, height)
    result = CliRunner().invoke(main, ["show-kernels", str(checkpoint), "--out", str(out), "--force",
                                       "--max-kernels", "2", "--dpi", "50"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[1] < height / 2  # 2 rows, not 6
