"""Lazy package namespaces: ``dir()`` lists exactly the public names, each of which resolves, without importing torch."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = {
    "vmnist": {"VideoMNIST", "load_split", "generate", "DatasetError", "transforms", "trajectories", "__version__"},
    "ttn": {"convert_model", "ConversionSummary", "nn", "cpu", "experiment", "report", "registry", "__version__"},
    "ttn.cpu": {"in_shards", "routes_enabled", "inference_batch_size", "tune_allocator"},
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_dir_lists_the_public_names_and_each_resolves(package: str) -> None:
    module = importlib.import_module(package)
    names = dir(module)
    assert names == sorted(names) and PACKAGES[package] <= set(names)
    assert not {"Any", "annotations", "importlib", "lazy_namespace"} & set(names)  # the helpers of __init__
    assert set(module.__all__) <= set(names)
    for name in names:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        getattr(module, "no_such_name")


def test_dir_does_not_import_torch() -> None:
    code = "import sys, vmnist, ttn, ttn.cpu; dir(vmnist), dir(ttn), dir(ttn.cpu); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
