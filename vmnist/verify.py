"""Re-check a Video-MNIST file: structure, provenance, labels, and byte-identical re-rendering of a sample."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vmnist.format import FORMAT_VERSION, GENERATOR_VERSION, SPLITS
from vmnist.generate import GenerateConfig, split_digits
from vmnist.render import render_videos
from vmnist.mnist import MnistDigits
from vmnist.reader import open_dataset, read_videos, split_group
from vmnist.trajectories import TrajectoryConstants, trajectory_params, video_uniforms


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


def config_from_attributes(raw: str) -> GenerateConfig:
    """The GenerateConfig stored in a file's `config` attribute."""
    values = json.loads(raw)
    values["splits"] = tuple(values["splits"])
    values["constants"] = TrajectoryConstants(**values["constants"])
    return GenerateConfig(**values)


def verify_dataset(
    path: str | os.PathLike, digits: MnistDigits | None, sample: int = 50, seed: int = 0
) -> VerifyReport:
    """Verify a file; `digits` (the source MNIST) enables the label and re-rendering checks.

    `sample` videos per split (chosen with `seed`) are re-rendered from the stored seed and params and compared
    byte for byte; their params are re-derived from (seed, split, index) too.
    """
    report = VerifyReport(Path(path))
    with open_dataset(path) as f:  # raises DatasetError for missing/foreign/incomplete files
        attrs = f.attrs
        report.add("complete marker", True, "complete = True")
        report.add("format version", int(attrs["format_version"]) == FORMAT_VERSION, f"format_version {attrs['format_version']}")
        config = config_from_attributes(attrs["config"])
        same_generator = str(attrs["generator_version"]) == GENERATOR_VERSION
        report.add("generator version", True, f"{attrs['generator_version']}" + ("" if same_generator else f" (this vmnist renders {GENERATOR_VERSION}: pixel checks skipped)"))
        frames, height, width = int(attrs["frames"]), int(attrs["height"]), int(attrs["width"])
        if digits is not None:
            report.add("MNIST source", digits.sha256 == attrs["mnist_sha256"], f"sha256 {str(attrs['mnist_sha256'])[:16]}...")
        rng = np.random.default_rng(seed)
        for split in SPLITS:
            if split not in f:
                continue
            group = split_group(f, split)
            n = group["labels"].shape[0]
            shapes_ok = (
                group["videos"].shape == (n, frames, height, width) and group["videos"].dtype == np.uint8
                and group["params"].shape == (n, frames, 4) and group["source_index"].shape == (n,)
            )
            report.add(f"{split}: shapes", shapes_ok, f"videos {group['videos'].shape}, params {group['params'].shape}")
            if digits is None or not same_generator or digits.sha256 != attrs["mnist_sha256"]:
                continue
            images, labels, source_index = split_digits(digits, split)
            stored_index = group["source_index"][:]
            report.add(f"{split}: source index", np.array_equal(stored_index, source_index[:n]), "source_index follows MNIST order")
            report.add(f"{split}: labels", np.array_equal(group["labels"][:], labels[:n]), "labels equal the MNIST labels of source_index")
            picks = np.sort(rng.choice(n, size=min(sample, n), replace=False))
            stored = read_videos(group["videos"], picks)
            stored_params = group["params"][:][picks]
            derived_params = trajectory_params(labels[picks], video_uniforms(config.seed, split, picks), frames, config.constants)
            rendered = render_videos(images[picks], stored_params)
            report.add(f"{split}: params", np.array_equal(stored_params, derived_params), f"{len(picks)} videos' params re-derived from seed {config.seed}")
            mismatched = int(np.sum(np.any(stored != rendered, axis=(1, 2, 3))))
            report.add(f"{split}: pixels", mismatched == 0, f"{len(picks) - mismatched}/{len(picks)} videos re-render byte-identically from their stored params")
    return report
