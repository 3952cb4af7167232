"""Image figures: real vs generated grid per class; generated samples beside their nearest training image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.reporting.figures import _keys, _plt, _save


def _show(ax, img: np.ndarray, lo: float, hi: float) -> None:
    ax.axis("off")
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 3:  # colour: scale to [0, 1] with the common range
        ax.imshow(np.clip((img - lo) / (hi - lo if hi > lo else 1.0), 0, 1))
    else:
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)


def class_grid(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_synth: np.ndarray, path: str | Path, *,
               per_row: int = 8, seed: int = 0) -> Path:
    """Per class a row of random real images and a row of random generated ones, on one grey scale
    (the real images' range), so contrast and sharpness can be compared by eye."""
    plt = _plt()
    real, synth = np.asarray(real), np.asarray(synth)
    kr, ks = _keys(y_real), _keys(y_synth)
    classes = sorted(set(kr) | set(ks))
    lo, hi = float(real.min()), float(real.max())
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(2 * len(classes), per_row, figsize=(1.1 * per_row, 2.4 * len(classes)), squeeze=False)
    for i, k in enumerate(classes):
        for r, (data, what) in enumerate(((real[kr == k], "real"), (synth[ks == k], "generated"))):
            pick = rng.permutation(len(data))[:per_row]
            for j in range(per_row):
                ax = axes[2 * i + r, j]
                ax.axis("off")
                if j < len(pick):
                    _show(ax, data[pick[j]], lo, hi)
            axes[2 * i + r, 0].set_title(f"class {k}: {what}", fontsize=8, loc="left")
    fig.tight_layout()
    return _save(fig, path)


def nearest_training(synth: np.ndarray, train: np.ndarray, path: str | Path, *, n: int = 8, seed: int = 0) -> Path:
    """``n`` random generated images (top row) above their nearest training image in pixels (bottom
    row; Euclidean), with the distance: near-copies show up as identical pairs."""

    plt = _plt()
    synth, train = np.asarray(synth, dtype=np.float64), np.asarray(train, dtype=np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(synth))[:n]
    S, T = synth.reshape(len(synth), -1), train.reshape(len(train), -1)
    lo, hi = float(train.min()), float(train.max())
    fig, axes = plt.subplots(2, max(len(pick), 1), figsize=(1.2 * max(len(pick), 1), 2.9), squeeze=False)
    for j, i in enumerate(pick):
        d = ((T - S[i]) ** 2).sum(axis=1)
        nn = int(np.argmin(d))
        _show(axes[0, j], synth[i], lo, hi)
        _show(axes[1, j], train[nn], lo, hi)
        axes[1, j].set_title(f"d={np.sqrt(d[nn]):.3g}", fontsize=7)
    axes[0, 0].set_title("generated", fontsize=8, loc="left")
    axes[1, 0].text(0, -0.35, "nearest training image", fontsize=8, transform=axes[1, 0].transAxes)
    fig.tight_layout()
    return _save(fig, path)
