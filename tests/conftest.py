import importlib.util
import os
from pathlib import Path

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
def benchmark_module():
    """Load a script of ``benchmarks/`` by file name (they are scripts, not a package): ``benchmark_module("x.py")``."""

    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / name
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture
def shapes(benchmark_module):
    """Textured shapes as the CNN chance-guard tests read them: 40 per class to train, 25 per class to test (raw uint8
    0..255, 4 classes, 28x28, as in the benchmarks): ``(X, y, X_test, y_test)``."""
    m = benchmark_module("synthetic_images.py")
    X, y = m.make_textured_shapes(n_per_class=40, seed=0)
    Xt, yt = m.make_textured_shapes(n_per_class=25, seed=1)
    return X, y, Xt, yt


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


@pytest.fixture
def patient_npz(tmp_path):
    """``make(seed=0, d=10, shift=2.0) -> path``: a small 3-class npz with patient groups (12 patients × 4
    spectra, class = patient index mod 3, class centres ``shift`` apart), for grid/study tests."""

    def make(seed: int = 0, d: int = 10, shift: float = 2.0, patients: int = 12, per: int = 4) -> str:
        rng = np.random.default_rng(seed)
        labels = np.asarray(["x", "y", "z"])[np.arange(patients) % 3]
        centres = rng.normal(size=(patients, d)) + shift * (np.arange(patients) % 3)[:, None]
        X = np.repeat(centres, per, axis=0) + rng.normal(scale=0.5, size=(patients * per, d))
        path = tmp_path / f"patients_{seed}.npz"
        np.savez(path, X=X, y=np.repeat(labels, per), groups=np.repeat(np.arange(patients), per).astype(str))
        return str(path)

    return make
