"""Pixel-scale diagnosis of vaelab-image on low-range uint8 images (issue 11, session 14).

Fits the default ``vaelab-image`` on the train split of an npz (MedMNIST layout) twice — on the images as stored
(e.g. ``benchmarks/digits_npz.py``'s uint8 grey levels 0..16) and on the same images as float64 (so
``fit_scale`` takes their own min..max) — and prints, for each: the fitted scale, the decoder's per-pixel sd
floor and the sd of its reconstructions of the training images in grey levels, and for real test images vs
synthetic images (the test split's counts per class, sample seed ``--seed`` + 1, rounded and clipped to uint8
as ``images_tstr.py`` caches them; also the decoder mean alone, ``noise = "none"``): the share of exact-zero
pixels, the grey-level histogram, and the share of non-zero pixels where every real training image of the class
is 0 ("background"). The contrast is the one of the code before issue 11, session 14 (main at f5e80a6, where uint8
always took 0..255); since that session's change both fits take the training range and agree::

    PYTHONPATH=/path/to/f5e80a6/src .venv/bin/python benchmarks/images_scale_diag.py --data /tmp/digits_s29.npz --seed 0

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 14).
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def grey_stats(X: np.ndarray, y: np.ndarray, bg: dict[int, np.ndarray], top: int) -> dict:
    """Share of zero pixels, histogram over 0..top (and above), share of non-zero background pixels."""
    x = X.reshape(len(X), -1)
    hist = np.bincount(np.minimum(x.astype(np.int64).ravel(), top + 1), minlength=top + 2) / x.size
    nz_bg = np.mean(np.concatenate([(x[y == k][:, bg[k]] != 0).ravel() for k in bg if bg[k].any()]))
    return {"zero": float(np.mean(x == 0)), "hist": hist, "bg_nonzero": float(nz_bg), "max": int(x.max())}


def main() -> None:
    import torch

    from vaelab.models import get_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    Xe, ye = d["test_images"], d["test_labels"].ravel().astype(np.int64)
    top = int(X.max())
    bg = {int(k): (X[y == k].reshape((y == k).sum(), -1) == 0).all(0) for k in np.unique(y)}
    counts = {int(k): int(v) for k, v in zip(*np.unique(ye, return_counts=True), strict=True)}
    rows = {"real train": grey_stats(X, y, bg, top), "real test": grey_stats(Xe, ye, bg, top)}
    print(f"train {X.dtype} {X.min()}..{top}; background pixels (0 in every training image of the class): "
          f"{np.mean([b.mean() for b in bg.values()]):.3f} of each image on average")
    for label, Xf in (("stored " + str(X.dtype), X), ("as float64", X.astype(np.float64))):
        g = get_model("vaelab-image")
        g.progress = False
        g.fit(Xf, y, seed=args.seed)
        lo, hi, step = (float(v) for v in g.extra_["scale"])
        mu, _ = g.encode(Xf, y)
        _, lv = g.decode(mu, y)
        sd = np.exp(0.5 * lv) * (hi - lo)
        floor = math.exp(0.5 * g.config.min_logvar) * (hi - lo)
        at_floor = float(np.mean(lv < g.config.min_logvar + 0.1))
        print(f"\n{label}: scale [{lo:g}, {hi:g}, step {step:g}]; sd floor {floor:.3f} grey levels; "
              f"reconstruction sd median {np.median(sd):.3f}, background {np.median(sd.reshape(len(sd), -1)[:, bg[0]]):.3f}"
              f" (class 0); share of pixels within 0.1 of the log-variance floor {at_floor:.3f}")
        Xs, ys = g.sample(counts, seed=args.seed + 1)
        rows[f"{label}: samples"] = grey_stats(np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255), ys, bg, top)
        g.config.noise = "none"
        Xm, ym = g.sample(counts, seed=args.seed + 1)
        rows[f"{label}: decoder mean only"] = grey_stats(np.clip(np.round(np.asarray(Xm, dtype=np.float64)), 0, 255),
                                                          ym, bg, top)
    print("\n| set | exact zeros | non-zero background | max | histogram 0.." + str(top) + ", >" + str(top) + " (%) |")
    print("|---|---|---|---|---|")
    for k, r in rows.items():
        print(f"| {k} | {r['zero']:.3f} | {r['bg_nonzero']:.3f} | {r['max']} | "
              + " ".join(f"{100 * v:.1f}" for v in r["hist"]) + " |")


if __name__ == "__main__":
    main()
