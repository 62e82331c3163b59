"""An unpickler that can rebuild numpy arrays and nothing else.

Python's pickle calls whatever callables a file names. `load_numpy_pickle` allows exactly numpy's
`_reconstruct`, `ndarray` and `dtype` (all that MNIST's mnist.pkl holds: tuples of arrays) and refuses any
other global or persistent id. It is the second line of defence: the caller checks the sha256 of the pickle
before unpickling it (see vmnist.sources.mnist_formats.read_pickle).
"""
from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from vmnist.infra.errors import MnistError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays in (nested) tuples, lists and dicts; any other global is an MnistError."""

    def __init__(self, file: Any, name: str):
        super().__init__(file, encoding="latin1")  # mnist.pkl is a Python 2 pickle
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise MnistError(f"{self.name}: refused to unpickle {module}.{name} (only numpy arrays are "
                             "allowed); not the MNIST pickle") from None

    def persistent_load(self, pid: Any) -> Any:
        raise MnistError(f"{self.name}: refused a persistent id in the pickle; not the MNIST pickle")


def load_numpy_pickle(data: bytes, name: str) -> Any:
    """Unpickle `data` (uncompressed) with `NumpyOnlyUnpickler`; any failure is an MnistError naming `name`."""
    try:
        return NumpyOnlyUnpickler(io.BytesIO(data), name).load()
    except MnistError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError) as exc:
        raise MnistError(f"{name}: corrupt pickle ({type(exc).__name__}: {exc})") from None
