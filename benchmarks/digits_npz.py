"""scikit-learn's 8x8 digits as a MedMNIST-layout npz (a validation set for image generators; nothing is downloaded).

uint8 grey levels 0..16 (as :func:`vaelab.modalities.image.demo.digits`; image models scale them by their range
0..16 — before issue 11, session 14, uint8 arrays passed to ``fit`` took 0..255), a random stratified 75 / 25 split
(``--seed``), written as ``train_images`` / ``train_labels`` / ``test_images`` / ``test_labels``:

    PYTHONPATH=src .venv/bin/python benchmarks/digits_npz.py --seed 13 --out /tmp/digits.npz
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from sklearn.model_selection import train_test_split

    from vaelab.modalities.image.demo import digits

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    d = digits()
    X, y = d.X.astype(np.uint8), np.asarray(d.y, dtype=np.int64)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=args.seed)
    np.savez_compressed(args.out, train_images=X[tr], train_labels=y[tr, None], test_images=X[te],
                        test_labels=y[te, None])
    print(f"wrote {args.out}: {len(tr)} train, {len(te)} test")


if __name__ == "__main__":
    main()
