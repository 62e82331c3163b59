"""The Python API: train a run, load a model, read a report, as the CLI does (``import ttn``; README, "Python").

    record = ttn.train("data.h5", "3dttn", 40)              # = ttn train --arch 3dttn --videos 40
    model, header = ttn.load_model("results/RUN_ID.pt")     # a model of ttn train --save-model
    rows = ttn.report("results")                            # = ttn report results --format records
    pandas.DataFrame(rows)

Each is imported on first use (`ttn.__init__`): ``import ttn`` stays light.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from ttn.experiment.checkpoint import CheckpointHeader


def train(data: str | os.PathLike[str], arch: str, videos: int, run: int = 0, *, recipe: str = "default",
          out: str | os.PathLike[str] | None = None, save_model: bool = False, **options: Any) -> dict[str, Any]:
    """Train run `run` of `arch` on `videos` training videos of the Video-MNIST file `data` and return its result
    record (a dict: "test_accuracy", "val_accuracy", "history", "config", ...).

    `options` are the training options of `ttn train` by field name (``lr=0.01``, ``epochs=40``,
    ``channels=(6, 16)``; `ttn.experiment.config.TrainConfig`), over the `recipe`'s defaults; those not given
    are the defaults of ``ttn train`` (the arch's validated lr for the size, ...). With `out` the record is also
    written to OUT/RUN_ID.json (and the model to OUT/RUN_ID.pt with `save_model`), as ``ttn train`` does."""
    from ttn.experiment.config import make_config
    from ttn.experiment.task import Task
    from ttn.experiment.training import train_run

    task = Task(arch, videos, run, make_config(recipe, **options))
    return train_run(data, task, out_dir=out, save_model=save_model).record


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> tuple[nn.Module, CheckpointHeader]:
    """The model saved at `path` (by ``ttn train --save-model``) in eval mode, and its header: ``header.arch``,
    ``header.input_scale``, ``header.extra`` (run id, accuracies, config, data of the run)."""
    from ttn.experiment.checkpoint import load_checkpoint

    return load_checkpoint(path, device)


def report(folder: str | os.PathLike[str], *, runs: bool = False, **options: Any) -> list[dict[str, Any]]:
    """The report of the records in `folder` as rows, ready for ``pandas.DataFrame(rows)``: one per (arch,
    videos, candidate) with the selected one marked (``runs=True``: one per run), as ``ttn report --format
    records`` writes them. `options` are `ttn.report.tables.ReportOptions` fields, e.g.
    ``filters=("lr=0.005",)`` (--where) or ``select_runs=frozenset(range(10))``."""
    from ttn.report.tables import ReportOptions, make_report
    from ttn.report.tidy import tidy_rows

    return tidy_rows(make_report(folder, ReportOptions(**options)), runs=runs)
