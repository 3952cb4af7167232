"""Synthetic stand-ins for the MedMNIST shapes vaelab's development sets do not cover (issue 11, session 18).

No MedMNIST file is read: every set is built from ``benchmarks/synthetic_images.py``'s textured shapes, coloured
or re-scaled per class, and written in MedMNIST's npz layout (``train_images`` / ``train_labels`` / ``val_*`` /
``test_*``; images uint8, labels (n, 1) uint8, as MedMNIST stores them). The sets:

* ``blood``: 28x28 RGB, 8 classes (4 shapes x 2 tints: reddish, bluish objects), 60 / 10 / 20 per class.
* ``blood64``: the same at 64x64 (same counts: the 64x64 timing at the same image count).
* ``derma``: 28x28 RGB, 7 classes, DermaMNIST's imbalance (train 400, 70, 50, 35, 25, 12, 3 images: ~67 % in
  class 0 and a class of 3 training images, which has no val image and 1 test image).
* ``organa``: 28x28 grey, 11 classes (4 shapes x 3 object contrasts, less the last), 60 / 10 / 20 per class.
* ``breast``: 28x28 grey, 2 classes (disc, ring) of BreastMNIST's sizes 546 / 78 / 156 and ratio 1:2.7.

A class's object tint multiplies the object's contrast per channel (R, G, B), so a channel swap in a writer is
visible in the per-channel means. ``--png DIR`` also writes the blood training split as a PNG folder whose
sub-folders carry class names (``basophil``, ...). Run from the repository root, e.g.

    PYTHONPATH=src .venv/bin/python benchmarks/medmnist_standins.py --out /tmp/standins --png /tmp/standins/blood_png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_images import _object_mask  # noqa: E402

TINTS = {"red": (1.0, 0.35, 0.45), "blue": (0.35, 0.5, 1.0)}
BLOOD_NAMES = ("basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet")


def _image(shape_cls: int, size: int, tint: tuple[float, ...], contrast: float, rng: np.random.Generator) -> np.ndarray:
    """One textured-shapes image (as ``make_textured_shapes``), its object tinted per channel; (size, size, C)."""
    bg = gaussian_filter(rng.standard_normal((size, size)), 3.0 * size / 28)
    bg = rng.uniform(50, 110) + 18 * bg / (bg.std() + 1e-9)
    tex = gaussian_filter(rng.standard_normal((size, size)), 1.0)
    obj = contrast * rng.uniform(45, 110) * (1 + 0.25 * tex / (tex.std() + 1e-9))
    m = gaussian_filter(_object_mask(shape_cls, size, rng), 0.7 * size / 28)
    img = np.stack([bg + m * obj * t for t in tint], axis=-1)
    img += rng.normal(0, 4.0, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _build(classes: list[tuple[int, tuple[float, ...], float]], counts: dict[str, list[int]], size: int,
           seed: int) -> dict[str, np.ndarray]:
    """``classes[k]`` = (shape, tint, contrast) of class k; ``counts[split][k]`` images of class k per split."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        y = np.repeat(np.arange(len(classes)), counts[split])
        X = np.stack([_image(classes[k][0], size, classes[k][1], classes[k][2], rng) for k in y.tolist()])
        if X.shape[-1] == 1:
            X = X[..., 0]
        order = rng.permutation(len(y))
        out[f"{split}_images"] = X[order]
        out[f"{split}_labels"] = y[order, None].astype(np.uint8)
    return out


def standin(name: str, seed: int = 0, smallest: int = 3) -> dict[str, np.ndarray]:
    """The arrays of stand-in ``name`` (see the module docstring), MedMNIST layout; ``smallest``: the training
    images of derma's last class."""
    grey = (1.0,)
    if name in ("blood", "blood64"):
        classes = [(s, TINTS[t], 1.0) for t in ("red", "blue") for s in range(4)]
        counts = {"train": [60] * 8, "val": [10] * 8, "test": [20] * 8}
        return _build(classes, counts, 64 if name == "blood64" else 28, seed)
    if name == "derma":
        classes = [(s, TINTS[t], 1.0) for t in ("red", "blue") for s in range(4)][:7]
        counts = {"train": [400, 70, 50, 35, 25, 12, smallest], "val": [57, 10, 7, 5, 4, 2, 0],
                  "test": [115, 20, 14, 10, 7, 3, 1]}
        return _build(classes, counts, 28, seed)
    if name == "organa":
        classes = [(s, grey, c) for c in (0.5, 1.0, 1.6) for s in range(4)][:11]
        counts = {"train": [60] * 11, "val": [10] * 11, "test": [20] * 11}
        return _build(classes, counts, 28, seed)
    if name == "breast":
        classes = [(0, grey, 1.0), (2, grey, 1.0)]
        counts = {"train": [147, 399], "val": [21, 57], "test": [42, 114]}
        return _build(classes, counts, 28, seed)
    raise ValueError(f"unknown stand-in {name!r}")


def write_png_folder(images: np.ndarray, labels: np.ndarray, names: tuple[str, ...], root: Path) -> None:
    """``root/<class name>/00000.png``, ... (8-bit grey or RGB)."""
    from PIL import Image

    for k, name in enumerate(names):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images[labels[:, 0] == k]):
            Image.fromarray(img).save(d / f"{i:05d}.png")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="folder for <name>.npz")
    ap.add_argument("--sets", default="blood,blood64,derma,organa,breast")
    ap.add_argument("--png", help="also write blood's training split as a PNG folder with class names here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--derma-smallest", type=int, default=3, help="training images of derma's smallest class")
    ap.add_argument("--suffix", default="", help="appended to each file name")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.sets.split(","):
        arrays = standin(name, args.seed, args.derma_smallest)
        np.savez_compressed(out / f"{name}{args.suffix}.npz", **arrays)
        counts = np.bincount(arrays["train_labels"][:, 0]).tolist()
        print(f"{name}: {arrays['train_images'].shape} train (per class {counts}), "
              f"{len(arrays['val_labels'])} val, {len(arrays['test_labels'])} test")
    if args.png:
        blood = standin("blood", args.seed)
        write_png_folder(blood["train_images"], blood["train_labels"], BLOOD_NAMES, Path(args.png))
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
