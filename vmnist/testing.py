"""Helpers for unit tests: small synthetic data in the real formats. Never use these for experiments."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vmnist.sources.mnist import IMAGE_SIZE, NUM_CLASSES, MnistDigits

# ----------------------------------------------------------------------------- synthetic MNIST digits
#: Seven-segment strokes (x0, y0, x1, y1) in pixels of a 28x28 image, named as on a display:
#: a top, b top right, c bottom right, d bottom, e bottom left, f top left, g middle.
_SEGMENTS = {
    "a": (9.0, 6.0, 18.0, 6.0), "b": (18.0, 6.0, 18.0, 14.0), "c": (18.0, 14.0, 18.0, 22.0),
    "d": (9.0, 22.0, 18.0, 22.0), "e": (9.0, 14.0, 9.0, 22.0), "f": (9.0, 6.0, 9.0, 14.0),
    "g": (9.0, 14.0, 18.0, 14.0),
}
_DIGIT_SEGMENTS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg")


def synthetic_digits(n_train: int = 100, n_test: int = 20, seed: int = 0) -> MnistDigits:
    """Small fake MNIST: seven-segment digits with jittered, anti-aliased strokes (unit tests only).

    Returns MnistDigits with train_images uint8 (n_train, 28, 28), test_images uint8 (n_test, 28, 28) and
    balanced uint8 labels in shuffled order; the same seed gives the same digits. Their content hash is
    not MNIST's, so pass `expected_sha256=None` (or their own `.sha256`) to the vmnist.sources.mnist loaders.
    """
    rng = np.random.default_rng(seed)
    names = list(_SEGMENTS)
    segments = np.array([_SEGMENTS[name] for name in names])  # (7, 4)
    active = np.array([[name in _DIGIT_SEGMENTS[d] for name in names] for d in range(NUM_CLASSES)])  # (10, 7)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=-1)  # (784, 2) as (x, y)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.uint8)  # (n,)
        ends = segments[None] + rng.normal(0.0, 0.7, size=(n, len(names), 4))  # (n, 7, 4)
        start, stop = ends[..., None, :2], ends[..., None, 2:]  # (n, 7, 1, 2)
        direction = stop - start
        t = np.clip(((grid - start) * direction).sum(-1) / (direction**2).sum(-1), 0.0, 1.0)  # (n, 7, 784)
        distance = np.linalg.norm(grid - (start + t[..., None] * direction), axis=-1)  # (n, 7, 784)
        distance = np.where(active[labels][..., None], distance, np.inf).min(axis=1)  # (n, 784)
        width = rng.uniform(0.8, 1.4, size=(n, 1))  # stroke half-width in pixels
        ink = np.clip(width + 0.5 - distance, 0.0, 1.0)  # anti-aliased edge
        images = np.rint(ink * 255).astype(np.uint8).reshape(n, IMAGE_SIZE, IMAGE_SIZE)
        return images, labels

    train_images, train_labels = draw(n_train)
    test_images, test_labels = draw(n_test)
    return MnistDigits(train_images, train_labels, test_images, test_labels, source=f"synthetic digits (seed={seed})")


# ----------------------------------------------------------------------------- tiny Video-MNIST files
def tiled_digits(digits: MnistDigits) -> MnistDigits:
    """Repeat small digit sets up to MNIST's sizes (60,000 / 10,000) so that every split has a source.

    Each set is first ordered so that its labels cycle 0, 1, ..., 9 (synthetic digits are balanced); with a set
    size that divides 50,000 (e.g. 100), the first ten videos of every split then hold one digit of each class.
    """
    def tile(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        rank = np.empty(len(labels), dtype=np.int64)
        for digit in range(NUM_CLASSES):
            members = np.flatnonzero(labels == digit)
            rank[members] = np.arange(len(members))
        order = np.lexsort((labels, rank))  # by rank within class, then by label: 0..9, 0..9, ...
        rows = order[np.arange(n) % len(order)]
        return images[rows], labels[rows]

    train = tile(digits.train_images, digits.train_labels, 60_000)
    test = tile(digits.test_images, digits.test_labels, 10_000)
    return MnistDigits(*train, *test, source=digits.source)


def make_tiny_dataset(path, per_split: int = 20, frames: int = 30, seed: int = 0, workers: int = 1,
                      trajectories: str | None = None, shard_size: int | None = None):
    """Write a small Video-MNIST file (real format, synthetic digits) with `per_split` videos per split.

    Labels cycle 0..9 in every split, so any 10 consecutive videos hold one of each class. `trajectories` names the
    family (default: the generator's default); `shard_size` writes shards beside `path`. Returns the path.
    """
    from vmnist.file.generator import GenerateConfig, write_dataset

    digits = tiled_digits(synthetic_digits(n_train=100, n_test=100, seed=seed))
    family = {} if trajectories is None else {"trajectories": trajectories}
    config = GenerateConfig(seed=seed, frames=frames, limit=per_split, **family)
    return write_dataset(path, digits, config, workers=workers, force=True, shard_size=shard_size).path


# ----------------------------------------------------------------------------- hostile edits of a file
def _replace(split: str, name: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], None]:
    """An edit that replaces dataset `name` of `split` by `make(its values)`."""
    def edit(f: Any) -> None:
        data = make(f[split][name][:])
        del f[split][name]
        f[split].create_dataset(name, data=data)
    return edit


def _elsewhere(split: str, name: str, virtual: bool) -> Callable[[Any], None]:
    """An edit that makes dataset `name` of `split` a link to another file, or a virtual dataset over one (HDF5 would
    open that file, whatever it is, when the dataset is read)."""
    def edit(f: Any) -> None:
        import h5py

        shape, dtype = f[split][name].shape, f[split][name].dtype
        del f[split][name]
        if not virtual:
            f[split][name] = h5py.ExternalLink("elsewhere.h5", f"/{split}/{name}")
            return
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[:] = h5py.VirtualSource("elsewhere.h5", name, shape=shape)
        f[split].create_virtual_dataset(name, layout, fillvalue=0)
    return edit


def _set(name: str, value: Callable[[Any], Any]) -> Callable[[Any], None]:
    """An edit that sets root attribute `name` to `value(f)`."""
    return lambda f: f.attrs.__setitem__(name, value(f))


#: Edits of a Video-MNIST file's contents that every reader must refuse with a DatasetError naming the file (the
#: reliability tests of vmnist and ttn): each takes the file open for writing with h5py, and says what the error says.
FILE_EDITS: dict[str, tuple[Callable[[Any], None], str]] = {
    "format_version abc": (_set("format_version", lambda f: "abc"), "format_version 'abc' is not a version number"),
    "config not JSON": (_set("config", lambda f: "{not json"), "its 'config' attribute is not a JSON object"),
    "shards not JSON": (_set("shards", lambda f: "[[["), "its 'shards' attribute is damaged"),
    "mnist_sha256 array": (_set("mnist_sha256", lambda f: np.frombuffer(bytes.fromhex(f.attrs["mnist_sha256"]), np.uint8)),
                           "damaged attributes (mnist_sha256 is an array uint8 (32,), not 64 hexadecimal digits)"),
    "float videos": (_replace("test", "videos", lambda v: v.astype(np.float32)),
                     "split 'test' is damaged: videos are float32"),
    "videos 14x14": (_replace("test", "videos", lambda v: v[:, :, ::2, ::2]), "14, 14), expected uint8 ("),
    "float labels": (_replace("test", "labels", lambda v: v.astype(np.float32) + 0.5),
                     "split 'test' is damaged: labels are float32"),
    "labels 12": (_replace("test", "labels", lambda v: np.where(np.arange(len(v)) == 3, 12, v).astype(np.uint8)),
                  "split 'test' is damaged: labels 0..12, expected the digits 0..9"),
    "videos in another file": (_elsewhere("test", "videos", virtual=False), "videos not a dataset of this file"),
    "videos read from another file": (_elsewhere("test", "videos", virtual=True),
                                      "videos read from 'elsewhere.h5', not one of its shards"),
}


def edited_copy(source: str | os.PathLike, folder: str | os.PathLike, edit: str) -> Path:
    """A copy of the Video-MNIST file `source` (with its shards) in `folder`, changed by the edit `FILE_EDITS[edit]`."""
    import h5py

    source, folder = Path(source), Path(folder)
    for path in source.parent.glob(f"{source.stem}*"):
        shutil.copy(path, folder / path.name)
    with h5py.File(folder / source.name, "a") as f:
        FILE_EDITS[edit][0](f)
    return folder / source.name


# ----------------------------------------------------------------------------- measuring rendered frames
def ink_mass(frames: np.ndarray) -> np.ndarray:
    """Total grey level per frame: (..., H, W) -> float64 (...)."""
    return frames.astype(np.float64).sum(axis=(-2, -1))


def ink_centroids(frames: np.ndarray) -> np.ndarray:
    """Ink centroid (x, y) per frame: (T, H, W) -> float64 (T, 2), pixel units, y downward."""
    frames = frames.astype(np.float64)
    rows, cols = np.mgrid[0 : frames.shape[-2], 0 : frames.shape[-1]]
    mass = frames.sum(axis=(1, 2))
    return np.stack([(frames * cols).sum(axis=(1, 2)) / mass, (frames * rows).sum(axis=(1, 2)) / mass], axis=1)


def ink_orientation(frame: np.ndarray) -> float:
    """Angle (radians, counter-clockwise on screen) of the ink's principal axis, defined modulo pi."""
    frame = frame.astype(np.float64)
    rows, cols = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    mass = frame.sum()
    x = cols - (frame * cols).sum() / mass
    y = -(rows - (frame * rows).sum() / mass)  # y up, so that counter-clockwise is positive
    mu20, mu02, mu11 = (frame * x * x).sum(), (frame * y * y).sum(), (frame * x * y).sum()
    return float(0.5 * np.arctan2(2 * mu11, mu20 - mu02))


def ink_turns(frames: np.ndarray) -> np.ndarray:
    """Signed rotation of the principal axis between consecutive frames: (T, H, W) -> float64 (T-1,) radians.

    Each step is taken modulo pi into [-pi/2, pi/2), so steps must be below 90 degrees.
    """
    angles = np.array([ink_orientation(frame) for frame in frames])
    return (np.diff(angles) + np.pi / 2) % np.pi - np.pi / 2


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`image` (H, W) moved by whole pixels (dx right, dy down), zeros coming in."""
    out = np.zeros_like(image)
    height, width = image.shape
    out[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = \
        image[max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    return out


# ----------------------------------------------------------------------------- processes
def process_ended(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie nobody reaped yet counts as ended): /proc where there is one."""
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        return state in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def wait_until(condition: Callable[[], Any], seconds: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it is true (True) or `seconds` have passed (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
