"""Test-wide settings: one torch thread (several tests may run side by side on 2 cores), no colour."""
import os

os.environ.setdefault("NO_COLOR", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
