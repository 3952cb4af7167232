"""Reproduce the example figures of the prdc README (clovaai/generative-evaluation-prdc).

Setup of the README: real and fake are both 10,000 samples of N(0, I) in 1000
dimensions, k = 5. The README reports, for one random draw,

    precision 0.4772, recall 0.4705, density 1.0555, coverage 0.9735

These numbers fluctuate with the draw, so this script

1. runs ``vaelab.metrics.prdc`` on several independent draws (``--seeds``) and
   compares the README figures with the mean and standard deviation over draws
   (for identical distributions E[density] = 1 and
   E[coverage] = 1 - prod_{i=1..k} (N - i) / (2N - i) = 0.9688 exactly, Naeem et
   al. 2020);
2. checks, on a smaller problem, that the chunked implementation gives exactly the
   values of a direct dense implementation of the paper's four formulas.

Run:  .venv/bin/python benchmarks/prdc_reference.py [--seeds 0,1,2,3,4] [--n 10000] [--dim 1000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.spatial.distance import cdist

from vaelab.metrics import prdc

REFERENCE = {"precision": 0.4772, "recall": 0.4705, "density": 1.0555, "coverage": 0.9735}
NAMES = tuple(REFERENCE)


def dense_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The four formulas of Naeem et al. 2020 on full distance matrices (small inputs only)."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]  # column 0 is the point itself
    fake_radii = np.sort(cdist(fake, fake), axis=1)[:, k]
    d = cdist(real, fake)  # (N, M)
    in_real_ball = d < real_radii[:, None]
    return {
        "precision": float(in_real_ball.any(axis=0).mean()),
        "recall": float((d < fake_radii[None, :]).any(axis=1).mean()),
        "density": float(in_real_ball.sum() / (k * fake.shape[0])),
        "coverage": float(in_real_ball.any(axis=1).mean()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds, one draw each")
    parser.add_argument("--n", type=int, default=10_000, help="samples per set")
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    print(f"prdc README case: real, fake ~ N(0, I), n={args.n} per set, dim={args.dim}, k={args.k}")
    print(f"{'seed':>6} " + " ".join(f"{name:>10}" for name in NAMES) + f" {'time [s]':>9}")
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        real = rng.normal(0.0, 1.0, size=(args.n, args.dim))
        fake = rng.normal(0.0, 1.0, size=(args.n, args.dim))
        start = time.perf_counter()
        out = prdc(real, fake, k=args.k)
        elapsed = time.perf_counter() - start
        rows.append([out[name] for name in NAMES])
        print(f"{seed:>6} " + " ".join(f"{out[name]:>10.4f}" for name in NAMES) + f" {elapsed:>9.1f}")
    values = np.array(rows)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=1) if len(seeds) > 1 else np.full(len(NAMES), np.nan)
    expected_cov = 1 - math.prod((args.n - i) / (2 * args.n - i) for i in range(1, args.k + 1))

    print()
    print(
        f"{'metric':<10} {'ours mean':>10} {'sd':>7} {'README':>8} {'README-mean':>12} {'in mean+-3sd':>13}"
    )
    for j, name in enumerate(NAMES):
        diff = REFERENCE[name] - mean[j]
        inside = abs(diff) <= 3 * sd[j] if np.isfinite(sd[j]) else abs(diff) <= 0.02
        print(
            f"{name:<10} {mean[j]:>10.4f} {sd[j]:>7.4f} {REFERENCE[name]:>8.4f} {diff:>+12.4f} "
            f"{'yes' if inside else 'NO':>13}"
        )
    print(f"analytic expectation for identical distributions: density 1, coverage {expected_cov:.4f}")

    # exactness check of the chunked code against the dense formulas
    rng = np.random.default_rng(123)
    real, fake = rng.normal(size=(1500, 200)), rng.normal(size=(1200, 200))
    ours, dense = prdc(real, fake, k=args.k), dense_prdc(real, fake, args.k)
    worst = max(abs(ours[name] - dense[name]) for name in NAMES)
    print(f"chunked vs dense formulas (1500 x 1200 samples, 200-d): max abs difference {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
