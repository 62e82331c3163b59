"""Motions and frames, in plain numpy and torch: the ten class-specific trajectories (`vmnist.rendering.trajectories`),
the anti-aliasing prefilter, and the renderer that warps each digit into its frames. Nothing here reads or writes a
file."""
