"""ttn: temporally factorized 3D convolutions (3DTT), LeNet-5 models, training, sweeps and reports.

``ttn.convert_model`` (`ttn.nn.convert`) turns any 3D CNN's Conv3d layers into 3DTT layers. Names are imported
on first use (PEP 562), so that ``import ttn`` and the CLI's ``--help`` do not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: name -> module that defines it (imported on first use).
_EXPORTS = {"convert_model": "ttn.nn.convert", "ConversionSummary": "ttn.nn.convert"}
__all__ = ["ConversionSummary", "__version__", "convert_model"]  # _EXPORTS and the version


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ttn' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
