import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests: `make test` and CI run a fixed, derandomised set of examples, so a run passes or fails
# the same way every time. A deep random search stays one variable away:
#   VAELAB_HYPOTHESIS=deep VAELAB_HYPOTHESIS_EXAMPLES=3000 pytest tests/test_loaders_property.py
settings.register_profile("ci", derandomize=True, max_examples=40, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", derandomize=False, deadline=None,
                          max_examples=int(os.environ.get("VAELAB_HYPOTHESIS_EXAMPLES", "2000")),
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("VAELAB_HYPOTHESIS", "ci"))


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
