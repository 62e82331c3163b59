"""`vmnist preview`: Figure 2 legible at every dpi and written at its size times dpi; the GIF's labelled tiles."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cli.vmnist_cli import main
from vmnist.pictures.figures import drawn_texts, pixel_size, text_problems
from vmnist.pictures.preview import GAP_GREY, GIF_BORDER, figure2, first_of_each_class, gif_frames, save_figure2
from vmnist.testing import make_tiny_dataset

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402 (with matplotlib, the [plot] extra)

FRAMES = 12


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=10, frames=FRAMES)


@pytest.mark.parametrize("compare", [False, True])
def test_figure2_text_is_legible_and_apart(tiny, compare) -> None:
    fig = figure2(tiny, every=2, compare=tiny if compare else None)
    assert text_problems(fig, dpi=100) == []
    rows = [(text, box) for text, box in drawn_texts(fig, 100) if text.get_text()[:2] in {f"{d}:" for d in range(10)}]
    assert len(rows) == 10
    assert all(box.height >= 10 for _, box in rows)  # 8 pt: 11 px a line at 100 dpi (it was 6 pt, ~7 px)
    assert sorted(text.get_text() for text in fig.axes[0].get_xticklabels()) == sorted(str(t) for t in range(0, FRAMES, 2))


def test_figure2_is_written_at_its_size_times_dpi(tiny, tmp_path) -> None:
    png = save_figure2(tiny, tmp_path / "f.png", dpi=60)
    assert Image.open(png).size == pixel_size(figure2(tiny), 60) and Image.open(png).mode == "L"
    assert save_figure2(tiny, tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    assert save_figure2(tiny, tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_gif_frames_show_each_video_in_a_labelled_bordered_tile(tiny) -> None:
    videos, classes = first_of_each_class(tiny, "test")
    frames = gif_frames(videos, classes, zoom=3)
    assert len(frames) == FRAMES and all(frame.shape == frames[0].shape and frame.dtype == np.uint8 for frame in frames)
    # locate each tile by its grey border: the top-left corner of video i is where its border ends
    grey = np.argwhere(frames[0] == GAP_GREY)
    top, left = grey.min(axis=0) + GIF_BORDER
    tile = 28 * 3
    np.testing.assert_array_equal(frames[4][top : top + tile, left : left + tile], videos[0, 4].repeat(3, 0).repeat(3, 1))
    assert (frames[0][top - GIF_BORDER : top, left : left + tile] == GAP_GREY).all()  # the border above it
    assert (frames[0][: top - GIF_BORDER] < 128).any()  # its label above, dark on white
    assert not np.array_equal(frames[0][-20:], frames[1][-20:])  # "frame 1 / 12" -> "frame 2 / 12"


def test_preview_command_takes_dpi(tiny, tmp_path) -> None:
    out = tmp_path / "fig2.png"
    result = CliRunner().invoke(main, ["preview", str(tiny), "--out", str(out), "--dpi", "50", "--every", "3"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == pixel_size(figure2(tiny, every=3), 50)
    gif = tmp_path / "p.gif"
    assert CliRunner().invoke(main, ["preview", str(tiny), "--gif", "--out", str(gif)]).exit_code == 0
    assert Image.open(gif).n_frames == FRAMES
