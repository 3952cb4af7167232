"""The per-class spread ratio between two sets of n real images of one class (no generator): how small n may be
before real images alone fall below the collapse threshold (issue 11, session 18, second helper).

For the MedMNIST-like stand-ins ``derma`` and ``blood`` (``benchmarks/medmnist_standins.py``, seed 0) it fits the
``image-cnn`` feature network on the training images (as ``vaelab evaluate`` does), then, for n = 2..12 and every
class with at least 2n training images, draws 500 times 2n images of the class without replacement and computes
``mean_spread(first n) / mean_spread(other n)`` in those features. Printed: per n, the smallest and largest 5th
percentile of the ratio over the classes. It chose ``vaelab.metrics.diversity.MIN_IMAGES_PER_CLASS``. Run from the
repository root:

    PYTHONPATH=src .venv/bin/python benchmarks/images_spread_null.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from medmnist_standins import standin  # noqa: E402


def null_percentiles(name: str, ns: range, draws: int = 500, seed: int = 0) -> dict[int, list[float]]:
    """``{n: [5th percentile of the ratio per class with >= 2n images]}`` for stand-in ``name``."""
    import vaelab.modalities.image  # noqa: F401  (registers image-cnn)
    from vaelab.metrics.diversity import mean_spread
    from vaelab.metrics.features import get_extractor

    z = standin(name, seed)
    X, y = z["train_images"].astype(np.float64), z["train_labels"][:, 0].astype(str)
    F = get_extractor("image-cnn:epochs=10", seed=seed).fit(X, y).transform(X)
    rng = np.random.default_rng(seed)
    out: dict[int, list[float]] = {}
    for n in ns:
        out[n] = []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            if len(idx) < 2 * n:
                continue
            r = [mean_spread(F[p[:n]]) / mean_spread(F[p[n:]])
                 for p in (rng.choice(idx, 2 * n, replace=False) for _ in range(draws))]
            out[n].append(float(np.percentile(r, 5)))
    return out


def main() -> None:
    for name in ("derma", "blood"):
        for n, p5 in null_percentiles(name, range(2, 13)).items():
            print(f"{name} n={n} classes={len(p5)} min p5 {min(p5):.3f} max p5 {max(p5):.3f}", flush=True)


if __name__ == "__main__":
    main()
