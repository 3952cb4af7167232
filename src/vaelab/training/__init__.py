"""Training: the loop, checkpoints, multi-seed training, the optimiser."""
