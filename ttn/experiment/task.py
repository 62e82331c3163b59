"""A run to train: (arch, training videos, run index) of one candidate config, and the run id that names it.

`ttn.experiment.training.train_run` trains one; `ttn.experiment.sweep` plans and runs many. Importable
without torch (a sweep plans its tasks before any worker starts).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ttn.experiment.config import TrainConfig, candidate_tag, resolved_config
from ttn.registry import check_arch, check_videos


@dataclass(frozen=True)
class Task:
    """One run: (arch, videos, run) of one candidate config (its channels and batch size resolved per run)."""

    arch: str
    videos: int
    run: int
    config: TrainConfig
    #: no test pass when trained: a raced sweep's run of a candidate not yet picked (`ttn.experiment.racing`)
    defer_test: bool = False

    def __post_init__(self) -> None:
        """The one check of a run's arch and size (`ttn.registry`), for `ttn train` and sweeps alike: TTNError."""
        check_arch(self.arch)
        check_videos(self.videos)

    @property
    def run_id(self) -> str:
        """e.g. "3dttn-v40-lr0.005-r0" (`ttn.experiment.records.make_run_id` of the config's candidate tag)."""
        from ttn.experiment.records import make_run_id

        return make_run_id(self.arch, self.videos, self.run, candidate_tag(self.config, self.arch, self.videos))

    def resolved_config(self) -> dict[str, Any]:
        """The config as its record will hold it (`ttn.experiment.config.resolved_config`)."""
        return resolved_config(self.config, self.arch, self.videos)
