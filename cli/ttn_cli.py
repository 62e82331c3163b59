"""The `ttn` program: models, training, sweeps and reports of temporally factorized 3D CNNs."""
from __future__ import annotations

import click

from cli.common import LazyGroup

# Each command lives in its own module; it is imported only when invoked.
TTN_COMMANDS = {
    "models": "cli.ttn_models:models_command",
    "show-kernels": "cli.ttn_models:show_kernels_command",
    "convert": "cli.ttn_convert:convert_command",
    "train": "cli.ttn_train:train_command",
    "evaluate": "cli.ttn_train:evaluate_command",
    "predict": "cli.ttn_predict:predict_command",
    "export": "cli.ttn_predict:export_command",
    "sweep": "cli.ttn_sweep:sweep_command",
    "reproduce": "cli.ttn_sweep:reproduce_command",
    "report": "cli.ttn_report:report_command",
    "compare": "cli.ttn_report:compare_command",
}


@click.group(cls=LazyGroup, lazy_commands=TTN_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="video-mnist-ttn")
def main() -> None:
    """Temporally factorized 3D convolutions (Ras et al., 2019) on Video-MNIST.

    \b
    Typical session:
      vmnist generate --out data.h5          # render the dataset
      ttn models                             # the architectures and their sizes
      ttn train --arch 3dttn --videos 40     # one run -> results/
      ttn sweep --preset quick               # many runs, resumable
      ttn report results/                    # the paper's Table 2 and Figure 3
    """
    from ttn.cpu.runtime import passive_openmp_wait, tune_allocator

    passive_openmp_wait()  # before any command imports torch: OpenMP threads sleep, not spin, when idle
    tune_allocator()  # glibc malloc reuses large blocks: no page faults per training step
