"""Experiments: configs and presets, which videos a run sees, training, evaluation, checkpoints, records, sweeps."""
