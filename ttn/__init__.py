"""ttn: temporally factorized 3D convolutions (3DTT), LeNet-5 models, training, sweeps and reports.

The Python API (`ttn.api`): ``ttn.train(data, arch, videos, ...) -> record``, ``ttn.load_model(path) -> (model,
header)``, ``ttn.report(folder) -> rows`` (the `ttn.report` package is callable: `ttn.api.report`).
``ttn.convert_model`` (`ttn.nn.convert`) turns any 3D CNN's Conv3d layers into 3DTT layers. Names are imported
on first use (PEP 562), so that ``import ttn`` and the CLI's ``--help`` do not import torch; ``dir(ttn)`` lists
them and the subpackages (`ttn.nn` models, `ttn.cpu` speed, `ttn.experiment` training and sweeps, `ttn.report`
tables and figures), which are imported on first use too.
"""
from __future__ import annotations

from vmnist.infra.lazy import lazy_namespace

__version__ = "0.1.0"

#: name -> module that defines it (imported on first use).
_EXPORTS = {"convert_model": "nn.convert", "ConversionSummary": "nn.convert", "train": "api", "load_model": "api"}
__all__ = ["ConversionSummary", "__version__", "convert_model", "load_model", "report", "train"]  # + ttn.report
__getattr__, __dir__ = lazy_namespace(__name__, _EXPORTS, submodules=(
    "api", "cpu", "errors", "experiment", "nn", "paper", "registry", "report"))
