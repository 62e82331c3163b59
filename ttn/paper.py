"""The paper's Table 2 as data: the single source of the published figures and per-size channels."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class PaperRow:
    """One (videos, arch) cell of the paper's Table 2."""

    videos: int
    arch: str
    mean_accuracy: float
    standard_error: float
    params: int
    channels: tuple[int, int]


@lru_cache(maxsize=1)
def paper_table() -> tuple[PaperRow, ...]:
    """All rows of Table 2, in the paper's order (3d sizes, then 3dttn sizes)."""
    raw = json.loads(resources.files("ttn").joinpath("data/paper_table2.json").read_text(encoding="utf-8"))
    return tuple(
        PaperRow(videos, arch, mean, sem, params, (channels[0], channels[1]))
        for videos, arch, mean, sem, params, channels in raw["rows"]
    )


def paper_source() -> str:
    """The citation of the table."""
    raw = json.loads(resources.files("ttn").joinpath("data/paper_table2.json").read_text(encoding="utf-8"))
    return str(raw["source"])


def paper_channels(arch: str, videos: int) -> tuple[int, int]:
    """The (C1, C2) the paper used for `arch` at `videos` training videos (KeyError if not in Table 2)."""
    for row in paper_table():
        if row.arch == arch and row.videos == videos:
            return row.channels
    raise KeyError((arch, videos))
