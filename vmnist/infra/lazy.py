"""Lazy package namespaces (PEP 562): public names imported on first use, and listed by ``dir()``.

A package's ``__init__`` declares which module defines each public name; ``__getattr__`` imports that module
when the name is first read, and ``__dir__`` lists the public names (not the helpers ``__init__`` imports), so
tab completion shows what the package offers without importing torch or h5py::

    __getattr__, __dir__ = lazy_namespace(__name__, {"VideoMNIST": "reader"}, submodules=("transforms",))
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Mapping


def lazy_namespace(package: str, exports: dict[str, str], submodules: Iterable[str] | Mapping[str, str] = (),
                   extra: Iterable[str] = ("__version__",)) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(``__getattr__``, ``__dir__``) of `package`.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module (relative to `package`, e.g. ``"nn.convert"``) that defines it.
        submodules: public submodules (relative names), imported on first use as ``package.submodule``; or a
            mapping public name -> module (relative to `package`, e.g. ``{"trajectories": "rendering.trajectories"}``).
        extra: names the package defines itself, also listed by ``dir()``.
    """
    where = dict(submodules) if isinstance(submodules, Mapping) else {name: name for name in submodules}
    names = sorted({*exports, *where, *extra})

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        if name in where:
            return importlib.import_module(f"{package}.{where[name]}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
