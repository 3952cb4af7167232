"""Does a properly set up diffusion model fail on spectra? ddpm vs seed-cvae vs ppca on coffee.

The seed report's claim "diffusion fails on spectra" came from a first attempt; this script
trains vaelab's ``ddpm`` (cosine schedule, EMA, DDIM, see ``vaelab/models/ddpm.py``) on the
bundled coffee FTIR set (60 spectra × 1841 points, 3 classes of 20) after the seed's
per-spectrum min-max scaling, next to ``seed-cvae`` (the seed report's model, 500 epochs)
and ``ppca`` (per-class probabilistic PCA, q = 10), and prints per model

* the per-class spread ratio (``vaelab.metrics.diversity.spread_ratio``; 1 is ideal, 0 is
  collapse to the class mean), from ``--n-synth`` samples per class;
* C2ST AUC (``vaelab.metrics.distribution.c2st``; 0.5 = indistinguishable, 1 = separable):
  all 60 real spectra vs 20 synthetic per class, and per class (20 vs 20), mean ± sd over
  ``--sample-seeds`` sampling seeds (a C2ST on 20 vs 20 has a standard error of about
  0.1, so per-class values are indicative only);
* a copy indicator: the median distance from a synthetic spectrum to its nearest training
  spectrum of the class, divided by the median leave-one-out nearest-neighbour distance
  among the class's training spectra (≈ 0: copies; ≈ 1: as close to the training set as
  the training spectra are to each other; > 1: farther away);
* fit wall and CPU time (on a shared machine the CPU time of a one-thread run is the better
  estimate of the time on an idle one), sampling wall time.

All generators are trained on all 60 spectra (there is no held-out set), so C2ST compares
with the training data: a generator that copies its training set scores 0.5, which is
why ``noise`` (training spectra + 10 % of the class sd as white noise, a near-copy
reference) is listed too.

Run:  .venv/bin/python benchmarks/ddpm_check.py [--models ddpm,ddpm-eps,seed-cvae,ppca,noise]
          [--train-steps 3000] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vaelab.data.preprocess import Preprocessing
from vaelab.datasets import coffee
from vaelab.metrics.distribution import c2st
from vaelab.metrics.diversity import spread_ratio
from vaelab.metrics.novelty import nearest_distances
from vaelab.models import get_model


def make(name: str, train_steps: int | None):
    """Registry model; ``ddpm-eps`` / ``ddpm-x0`` are ddpm with that prediction target."""
    if name.startswith("ddpm"):
        cfg = {} if train_steps is None else {"train_steps": train_steps}
        if name != "ddpm":
            cfg["target"] = name.split("-", 1)[1]
        return get_model("ddpm", **cfg)
    return get_model(name)


def copy_indicator(X: np.ndarray, Xs: np.ndarray) -> float:
    """median NN distance synthetic→training over median leave-one-out NN distance within training."""
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    return float(np.median(nearest_distances(Xs, X)) / np.median(D.min(axis=1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ddpm-x0,ddpm-eps,seed-cvae,ppca,noise")
    ap.add_argument("--train-steps", type=int, default=None, help="ddpm optimiser steps (default: the model's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-seeds", type=int, default=3)
    ap.add_argument("--n-synth", type=int, default=200, help="samples per class for the spread ratio")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ds = coffee()
    X = Preprocessing.from_spec("minmax").fit_transform(ds.X)
    y = ds.y
    classes = sorted(set(y))
    print(f"coffee: {X.shape[0]} spectra x {X.shape[1]} points, classes {classes}; minmax; torch threads {args.threads}")
    rows = []
    for name in args.models.split(","):
        gen = make(name, args.train_steps)
        if hasattr(gen, "progress"):
            gen.progress = False
        t0, c0 = time.perf_counter(), time.process_time()
        gen.fit(X, y, seed=args.seed)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        Xs, ys = gen.sample({c: args.n_synth for c in classes}, seed=args.seed)
        sample_s = time.perf_counter() - t0
        spread = spread_ratio(X, Xs, y, ys)
        copy = {c: copy_indicator(X[y == c], Xs[ys == c]) for c in classes}
        overall, per_class = [], {c: [] for c in classes}
        for s in range(args.sample_seeds):
            Xc, yc = gen.sample({c: int(np.sum(y == c)) for c in classes}, seed=1000 + s)
            overall.append(c2st(X, Xc, seed=s))
            for c in classes:
                per_class[c].append(c2st(X[y == c], Xc[yc == c], seed=s))
        hist = getattr(gen, "history_", None)
        extra = f", {len(hist)} epochs" if hist else ""
        rows.append((name, spread, overall, per_class, fit_s, copy))
        print(f"\n{name}: fit {fit_s:.1f}s wall, {fit_cpu:.1f}s CPU{extra}, sample {len(Xs)} in {sample_s:.2f}s")
        print("  spread ratio  " + "  ".join(f"{c} {spread[c]:.3f}" for c in classes))
        print(f"  C2ST all     {np.mean(overall):.3f} ± {np.std(overall):.3f}")
        print("  C2ST class   " + "  ".join(f"{c} {np.mean(v):.3f}±{np.std(v):.3f}" for c, v in per_class.items()))
        print("  NN / LOO-NN  " + "  ".join(f"{c} {copy[c]:.3f}" for c in classes))
        print(f"  value range  {Xs.min():.3f} .. {Xs.max():.3f} (real {X.min():.3f} .. {X.max():.3f})")

    print("\n| model | spread " + " | spread ".join(classes) + " | C2ST all | C2ST per class (mean) | NN/LOO-NN | fit s |")
    print("|---" * (len(classes) + 5) + "|")
    for name, spread, overall, per_class, fit_s, copy in rows:
        pc = np.mean([np.mean(v) for v in per_class.values()])
        print(f"| {name} | " + " | ".join(f"{spread[c]:.2f}" for c in classes)
              + f" | {np.mean(overall):.3f} ± {np.std(overall):.3f} | {pc:.3f} | {np.mean(list(copy.values())):.2f}"
              + f" | {fit_s:.0f} |")


if __name__ == "__main__":
    main()
