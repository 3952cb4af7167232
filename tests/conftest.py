import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def small_spectra():
    """A small, deterministic 3-class spectral data set (Gaussian peaks + noise), in [0, 1]-ish counts."""
    rng = np.random.default_rng(0)
    d = 64
    x = np.linspace(0, 1, d)
    X, y = [], []
    for k, centre in enumerate((0.3, 0.5, 0.7)):
        for _ in range(12):
            peak = np.exp(-((x - centre - rng.normal(0, 0.01)) ** 2) / 0.005)
            X.append(100 + 50 * peak + rng.normal(0, 1.0, d))
            y.append(k)
    return np.asarray(X), np.asarray(y, dtype=np.int64), 400 + 2 * np.arange(d, dtype=float)
