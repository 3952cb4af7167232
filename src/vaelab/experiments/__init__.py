"""Experiments: the ablation and the augmentation study, run as grids of (generator, seed, fold) cells.

``run_ablation`` / ``write_ablation`` (``vaelab ablate``) and ``run_augment`` / ``write_augment``
(``vaelab augment``); splits in ``splits.py`` (group-aware, seeded), the cell runner in
``runner.py`` (in-process, local processes, or Ray), statistics in ``stats.py``.
Submodules are imported on first use, so ``vaelab --help`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

DEFAULT_FACTORS = "0,0.5,1,2,5,10"
DEFAULT_CLASSIFIERS = "logreg,svm,plsda,rf,knn"
# the classical augmentations are compared at factor 1 (as many synthetic samples as real ones) by
# default: at every factor they were five sixths of the default study's time (benchmarks/RESULTS.md)
DEFAULT_CLASSICAL_FACTORS = "1"

_LAZY = {
    "run_ablation": "ablation", "write_ablation": "ablation",
    "run_augment": "augment", "write_augment": "augment",
    "run_cells": "runner", "fold_splits": "splits",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_CLASSICAL_FACTORS", "DEFAULT_CLASSIFIERS", "DEFAULT_FACTORS", "fold_splits", "run_ablation", "run_augment", "run_cells",
           "write_ablation", "write_augment"]
