"""Diversity metrics: is the synthetic data as spread out as the real data, class by class?

A conditional VAE that collapses to the class mean produces plausible-looking samples
that fool mean-based checks; the spread ratio catches it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelab.core.errors import InputError
from vaelab.metrics.distribution import _flatten, _same_width

__all__ = ["MIN_IMAGES_PER_CLASS", "mean_spread", "spread_ratio"]

#: ``min_per_class`` of the image evaluations (``evaluate``'s per-class spread and collapse flag, ``ablate``'s
#: diversity): a class's ratio needs this many images on either side. Two real images against three of the same
#: class (DermaMNIST-like classes of a few training images) gave 0.21 and raised ``collapse`` on real images; with
#: n images per side drawn from one real class of the MedMNIST-like stand-ins (benchmarks/medmnist_standins.py, image
#: CNN features) the ratio's 5th percentile was 0.24-0.39 at n = 2, 0.48-0.49 at 4 and 0.52-0.54 at 5, above the
#: collapse threshold 0.5 (benchmarks/RESULTS.md, issue 11, session 18, second helper)
MIN_IMAGES_PER_CLASS = 5


def _label_key(label: Any) -> Any:
    """numpy scalars -> plain Python scalars (hashable, JSON friendly)."""
    return label.item() if isinstance(label, np.generic) else label


def mean_spread(X: Any) -> float:
    """Mean over features of the per-feature standard deviation (ddof=1).

    Args:
        X: numpy.ndarray([n, ...]); trailing axes are flattened to ``d`` features.
    Returns:
        float >= 0; NaN when ``n < 2`` (the sample standard deviation is undefined).
    """
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[0] < 2:
        return float("nan")
    x = _flatten(arr, "X")
    return float(x.std(axis=0, ddof=1).mean())


def spread_ratio(real: Any, synthetic: Any, y_real: Any, y_synth: Any, *, min_per_class: int = 2) -> dict[Any, float]:
    """Per-class ratio of synthetic to real spread.

    For each class ``c``:
    ``ratio_c = mean_spread(synthetic[y_synth == c]) / mean_spread(real[y_real == c])``
    where :func:`mean_spread` is the mean over features of the per-feature standard
    deviation (ddof=1).

    How to read it (goal: **1 is ideal**; range [0, inf)):
      * 1: the synthetic class is as diverse as the real class;
      * << 1: mode collapse; a synthetic set made of copies of the class mean gives 0;
      * > 1: the synthetic class is noisier than the real one.

    Classes of both label sets are reported (no class is silently dropped); the
    ratio is NaN for a class with fewer than ``min_per_class`` (at least 2) samples on
    either side or with zero real spread.

    Args:
        real: numpy.ndarray([N, ...]).
        synthetic: numpy.ndarray([M, ...]), same trailing size.
        y_real: array([N]) of class labels (int or str).
        y_synth: array([M]) of class labels.
        min_per_class: the fewest samples per side for a ratio (2: the sample sd's own minimum; images:
            :data:`MIN_IMAGES_PER_CLASS`).
    Returns:
        dict mapping class label (plain Python scalar) -> ratio (float), sorted by label.
    """
    x_real = _flatten(real, "real")
    x_syn = _flatten(synthetic, "synthetic")
    _same_width(x_real, x_syn, "real", "synthetic")
    yr = np.asarray(y_real).reshape(-1)
    ys = np.asarray(y_synth).reshape(-1)
    if yr.shape[0] != x_real.shape[0]:
        raise InputError(f"y_real has {yr.shape[0]} labels for {x_real.shape[0]} samples")
    if ys.shape[0] != x_syn.shape[0]:
        raise InputError(f"y_synth has {ys.shape[0]} labels for {x_syn.shape[0]} samples")

    out: dict[Any, float] = {}
    for c in np.unique(np.concatenate([yr, ys])):
        real_c, syn_c = x_real[yr == c], x_syn[ys == c]
        if min(real_c.shape[0], syn_c.shape[0]) < max(2, int(min_per_class)):
            out[_label_key(c)] = float("nan")
            continue
        denom, num = mean_spread(real_c), mean_spread(syn_c)
        out[_label_key(c)] = num / denom if denom > 0 else float("nan")
    return out
