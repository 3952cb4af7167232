"""Byte-identity check for a pixel-scale change: fitted scale and a short fit's samples on a set's TRAIN images.

Reads only ``train_images`` / ``train_labels`` of an npz (MedMNIST layout; ``--part val`` keeps the 80 % that
``images_tstr.py --eval val`` fits on, ``all`` the whole train split), prints ``fit_scale`` of those images and
fits ``vaelab-image`` and ``seed-image-vae`` for ``--epochs`` epochs (seed 0), draws 20 images per class
(seed 1) and prints the SHA-256 of the samples' bytes (float64). Run under two source trees and compare the lines::

    PYTHONPATH=src .venv/bin/python benchmarks/images_scale_identity.py --data X.npz
    PYTHONPATH=/path/to/older/src .venv/bin/python benchmarks/images_scale_identity.py --data X.npz

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 14).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images_tstr import _split_val  # noqa: E402


def main() -> None:
    import torch

    from vaelab.models import get_model
    from vaelab.models.image.pixels import fit_scale

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--part", choices=("all", "val"), default="all")
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    if args.part == "val":
        fit = _split_val(y)[0]
        X, y = X[fit], y[fit]
    print(f"{len(X)} {X.dtype} images {X.min()}..{X.max()}: fit_scale {fit_scale(X).tolist()}")
    for name in ("vaelab-image", "seed-image-vae"):
        g = get_model(name, epochs=args.epochs)
        g.progress = False
        g.fit(X, y, seed=0)
        S = np.ascontiguousarray(g.sample({int(k): 20 for k in np.unique(y)}, seed=1)[0], dtype=np.float64)
        print(f"{name}: stored scale {g.extra_['scale'].tolist()}, samples {S.shape} "
              f"sha256 {hashlib.sha256(S.tobytes()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
