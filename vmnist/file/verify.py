"""Re-check a Video-MNIST file: structure, splits, shards, provenance, labels, params and byte-identical frames."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vmnist.file.contents import how_to_render
from vmnist.file.format import FORMAT_VERSION, GENERATOR_VERSION, SPLITS
from vmnist.file.generator import GenerateConfig, split_digits
from vmnist.file.reader import SplitVideos, open_dataset, split_group, trajectories_of
from vmnist.file.shards import shard_records
from vmnist.infra.errors import DatasetError, UserError
from vmnist.rendering.render import render_videos
from vmnist.rendering.trajectories import constants_from_dict, trajectory_params, video_uniforms
from vmnist.sources.mnist import MnistDigits


@dataclass(frozen=True)
class Check:
    """One verification step."""

    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    path: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, bool(ok), detail))


def config_from_attributes(raw: str, path: str | os.PathLike = "file") -> GenerateConfig:
    """The GenerateConfig stored in a file's `config` attribute (files of generator 1.0: `smooth` trajectories);
    DatasetError naming `path` if it is not one."""
    try:
        values = json.loads(raw)
        values["splits"] = tuple(values["splits"])
        values["trajectories"] = values.get("trajectories", "smooth")
        values["constants"] = constants_from_dict(values["trajectories"], values["constants"])
        return GenerateConfig(**values)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, UserError) as exc:
        raise DatasetError(f"{path}: its 'config' attribute is not a generation config of this vmnist "
                           f"({type(exc).__name__}: {exc}); {how_to_render(path)}") from None


def verify_dataset(
    path: str | os.PathLike, digits: MnistDigits | None, sample: int = 50, seed: int = 0
) -> VerifyReport:
    """Verify a file; `digits` (the source MNIST) enables the label, params and re-rendering checks.

    `sample` videos per split (chosen with `seed`) are re-rendered from their stored params and compared byte for
    byte; their params are re-derived from (seed, split, index) with the file's trajectory family and constants.
    """
    report = VerifyReport(Path(path))
    with open_dataset(path) as f:  # raises DatasetError for missing/foreign/incomplete files and missing shards
        attrs = f.attrs
        report.add("complete marker", True, "complete = True")
        report.add("format version", int(attrs["format_version"]) == FORMAT_VERSION, f"format_version {attrs['format_version']}")
        config = config_from_attributes(attrs["config"], path)
        report.add("trajectories", True, trajectories_of(json.loads(attrs["config"])))
        same_generator = str(attrs["generator_version"]) == GENERATOR_VERSION
        report.add("generator version", True, f"{attrs['generator_version']}" + ("" if same_generator else f" (this vmnist renders {GENERATOR_VERSION}: pixel checks skipped)"))
        frames, height, width = int(attrs["frames"]), int(attrs["height"]), int(attrs["width"])
        if digits is not None:
            report.add("MNIST source", digits.sha256 == attrs["mnist_sha256"], f"sha256 {str(attrs['mnist_sha256'])[:16]}...")
        missing = [split for split in config.splits if split not in f]
        report.add("splits", not missing, f"missing {', '.join(missing)} (listed in config)" if missing else ", ".join(config.splits))
        records = shard_records(f)
        rng = np.random.default_rng(seed)
        for split in SPLITS:
            if split not in f:
                continue
            group = split_group(f, split)
            n = group["labels"].shape[0]
            shapes_ok = (
                group["videos"].shape == (n, frames, height, width) and group["videos"].dtype == np.uint8
                and group["params"].shape == (n, frames, 4) and group["source_index"].shape == (n,)
                and n == config.split_size(split)
            )
            report.add(f"{split}: shapes", shapes_ok, f"videos {group['videos'].shape}, params {group['params'].shape}")
            with SplitVideos(f, split) as store:
                if records.get(split):
                    try:
                        store.stored_datasets()  # opens and checks every shard
                        report.add(f"{split}: shards", True, f"{len(records[split])} shard files, each the one listed")
                    except DatasetError as exc:
                        report.add(f"{split}: shards", False, str(exc))
                        continue
                if digits is None or not same_generator or digits.sha256 != attrs["mnist_sha256"]:
                    continue
                images, labels, source_index = split_digits(digits, split)
                report.add(f"{split}: source index", np.array_equal(group["source_index"][:], source_index[:n]), "source_index follows MNIST order")
                report.add(f"{split}: labels", np.array_equal(group["labels"][:], labels[:n]), "labels equal the MNIST labels of source_index")
                picks = np.sort(rng.choice(n, size=min(sample, n), replace=False))
                stored = store.read(picks)
                stored_params = group["params"][:][picks]
                uniforms = video_uniforms(config.seed, split, picks, frames)
                derived_params = trajectory_params(labels[picks], uniforms, frames, config.constants)
                rendered = render_videos(images[picks], stored_params)
            report.add(f"{split}: params", np.array_equal(stored_params, derived_params),
                       f"{len(picks)} videos' params re-derived from seed {config.seed} ({config.trajectories} trajectories)")
            mismatched = int(np.sum(np.any(stored != rendered, axis=(1, 2, 3))))
            report.add(f"{split}: pixels", mismatched == 0, f"{len(picks) - mismatched}/{len(picks)} videos re-render byte-identically from their stored params")
    return report
