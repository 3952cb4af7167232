"""A synthetic image set nobody tuned on: textured class-dependent shapes, 28x28 grey, MedMNIST npz layout.

Each image is a smooth random background (white noise blurred with sigma 3 px, random brightness), one
object whose *shape* depends on the class (0: filled disc, 1: filled square, 2: ring, 3: two blobs) at a
random position, size and contrast, with a class-independent interior texture (blurred noise), a 0.7 px
blur and per-pixel noise, rounded to uint8. Classes overlap a little (sizes and contrasts are drawn from
the same ranges), so a classifier is good but not perfect. ``make_textured_shapes`` returns the images;
the command line writes ``train_images`` / ``train_labels`` / ``test_images`` / ``test_labels`` with a
random stratified split (the split most MedMNIST-like sets have), e.g.

    PYTHONPATH=src .venv/bin/python benchmarks/synthetic_images.py --out /tmp/shapes.npz   # 4 x 300, 75/25
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import gaussian_filter


def _object_mask(cls: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Soft mask (size, size) in [0, 1] of one object of class ``cls``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    r = rng.uniform(0.16, 0.3) * size
    if cls == 0:
        m = np.hypot(yy - cy, xx - cx) <= r
    elif cls == 1:
        m = (np.abs(yy - cy) <= 0.85 * r) & (np.abs(xx - cx) <= 0.85 * r)
    elif cls == 2:
        d = np.hypot(yy - cy, xx - cx)
        m = (d <= r) & (d >= r * rng.uniform(0.45, 0.65))
    else:
        a = rng.uniform(0, np.pi)
        off = 0.6 * r * np.array([np.sin(a), np.cos(a)])
        m = (np.hypot(yy - cy - off[0], xx - cx - off[1]) <= 0.55 * r) | (
            np.hypot(yy - cy + off[0], xx - cx + off[1]) <= 0.55 * r)
    return m.astype(np.float64)


def make_textured_shapes(n_per_class: int = 300, n_classes: int = 4, size: int = 28, seed: int = 0,
                         masks: bool = False) -> tuple[np.ndarray, ...]:
    """``X`` (n_classes * n_per_class, size, size) uint8 and ``y`` (same n,) int64, classes in blocks; with
    ``masks`` also each object's blurred mask (same shape as ``X``, float64 in [0, 1]; the images are unchanged)."""
    if not 1 <= n_classes <= 4:
        raise ValueError("n_classes must be in 1..4")
    rng = np.random.default_rng(seed)
    X = np.empty((n_classes * n_per_class, size, size), dtype=np.uint8)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    M = np.empty(X.shape)
    for i, cls in enumerate(y.tolist()):
        bg = gaussian_filter(rng.standard_normal((size, size)), 3.0)
        bg = rng.uniform(50, 110) + 18 * bg / (bg.std() + 1e-9)
        tex = gaussian_filter(rng.standard_normal((size, size)), 1.0)
        obj = rng.uniform(45, 110) * (1 + 0.25 * tex / (tex.std() + 1e-9))
        M[i] = gaussian_filter(_object_mask(cls, size, rng), 0.7)
        img = bg + M[i] * obj
        img += rng.normal(0, 4.0, img.shape)
        X[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return (X, y, M) if masks else (X, y)


def main() -> None:
    from sklearn.model_selection import train_test_split

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-per-class", type=int, default=300)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-fraction", type=float, default=0.25)
    args = ap.parse_args()
    X, y = make_textured_shapes(args.n_per_class, args.classes, seed=args.seed)
    tr, te = train_test_split(np.arange(len(y)), test_size=args.test_fraction, stratify=y, random_state=args.seed)
    np.savez_compressed(args.out, train_images=X[tr], train_labels=y[tr, None], test_images=X[te],
                        test_labels=y[te, None])
    print(f"wrote {args.out}: {len(tr)} train, {len(te)} test, {args.classes} classes")


if __name__ == "__main__":
    main()
