"""How far the learned 3DTT transforms moved, per (arch, training videos): `ttn report --transforms`.

Each 3DTT record holds, per layer, the mean and max over kernels and steps of |rotation| (degrees),
|shift| (pixels) and |log scale| of its scored model (`ttn.nn.transform_stats`). Here they are averaged
over the runs of each cell's selected candidate: an identity transform is 0 everywhere; a 3DTTN whose
transforms stayed near 0 behaves as K0 repeated over time (a temporally tied 3D kernel).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ttn.registry import TRANSFORM_STATS as STAT_NAMES
from ttn.report.tables import Cell, Report


def cell_transforms(cell: Cell) -> dict[str, dict[str, float]] | None:
    """{layer: {stat: mean over the cell's runs}} of the selected candidate's records, or None without any."""
    if cell.selection is None:
        return None
    per_run = [record.get("transforms") for record in cell.selection.chosen.records.values()]
    per_run = [t for t in per_run if t]
    if not per_run:
        return None
    layers = sorted(per_run[0])
    return {layer: {name: float(np.mean([t[layer][name] for t in per_run])) for name in STAT_NAMES} for layer in layers}


def transform_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings): one line per (videos, arch, layer) with learned transforms."""
    header = ["videos", "arch", "selected", "layer", "rotation° mean", "rotation° max", "shift px mean", "shift px max",
              "log-scale mean", "log-scale max"]  # absolute values
    rows = []
    for row in report.rows:
        for arch, cell in row.cells.items():
            stats = cell_transforms(cell)
            for layer, values in (stats or {}).items():
                label = cell.selection.chosen.label() if cell.selection else "-"
                rows.append([str(row.videos), arch, label, layer] + [
                    f"{values[name]:.2f}" if "rotation" in name or "shift" in name else f"{values[name]:.3f}"
                    for name in STAT_NAMES])
    return header, rows


def transforms_dict(report: Report) -> list[dict[str, Any]]:
    """The transform statistics of every cell that has them, as plain JSON-able data."""
    return [{"arch": arch, "videos": row.videos, "layers": stats}
            for row in report.rows for arch, cell in row.cells.items()
            if (stats := cell_transforms(cell)) is not None]
