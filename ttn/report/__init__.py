"""Reports: the paper's Table 2 and Figure 3 from result records, with honest statistics; kernel pictures.

The package is callable: ``ttn.report(folder, ...)`` is `ttn.api.report` (the report as rows for pandas), so
that the name works whether or not this package was imported (importing it sets the attribute ``ttn.report``).
"""
from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """This package, callable as `ttn.api.report`."""

    def __call__(self, folder: Any, **options: Any) -> list[dict[str, Any]]:
        from ttn.api import report

        return report(folder, **options)


sys.modules[__name__].__class__ = _CallableModule
