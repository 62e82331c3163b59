"""Test-wide settings: one torch thread (several tests may run side by side on 2 cores), no colour, and no
warning that the code has uncommitted changes (tests run in work trees; tests/cli/test_sweep_confirm.py checks it)."""
import os

os.environ.setdefault("NO_COLOR", "1")
os.environ.setdefault("TTN_ALLOW_DIRTY", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
