"""Figures (matplotlib, Agg backend). Every function writes one PNG atomically and returns its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_file

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return path


def _keys(y: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in np.asarray(y, dtype=object).tolist()], dtype=object)


def real_vs_synthetic(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_synth: np.ndarray, path: str | Path,
                      *, axis: np.ndarray | None = None, axis_label: str = "spectral axis",
                      max_lines: int = 60, title: str | None = None) -> Path:
    """The seed report's Figure 1: one panel per class, real in grey, synthetic in colour.

    Spectra (1-D samples) are drawn as curves on ``axis``; 2-D samples (images) as a row of
    real and a row of synthetic examples per class.
    """
    plt = _plt()
    real, synth = np.asarray(real), np.asarray(synth)
    kr, ks = _keys(y_real), _keys(y_synth)
    classes = sorted(set(kr) | set(ks))
    rng = np.random.default_rng(0)
    if real.ndim == 2:
        n = len(classes)
        fig, axes = plt.subplots(n, 1, figsize=(9, 2.4 * n + 0.6), sharex=True, squeeze=False)
        x = np.arange(real.shape[1]) if axis is None else np.asarray(axis)
        for i, (k, ax) in enumerate(zip(classes, axes[:, 0], strict=True)):
            R, S = real[kr == k], synth[ks == k]
            for row in R[rng.permutation(len(R))[:max_lines]]:
                ax.plot(x, row, color="0.6", lw=0.6, alpha=0.6)
            col = PALETTE[i % len(PALETTE)]
            for row in S[rng.permutation(len(S))[:max_lines]]:
                ax.plot(x, row, color=col, lw=0.6, alpha=0.5)
            ax.plot([], [], color="0.6", label=f"real (n={len(R)})")
            ax.plot([], [], color=col, label=f"synthetic (n={len(S)})")
            ax.set_title(f"class {k}", fontsize=10, loc="left")
            ax.legend(loc="upper right", fontsize=8, frameon=False)
            ax.set_ylabel("intensity")
        axes[-1, 0].set_xlabel(axis_label)
    else:
        ncols = 6
        fig, axes = plt.subplots(2 * len(classes), ncols, figsize=(1.6 * ncols, 3.4 * len(classes)), squeeze=False)
        for i, k in enumerate(classes):
            for row, (data, what) in enumerate(((real[kr == k], "real"), (synth[ks == k], "synthetic"))):
                for j in range(ncols):
                    ax = axes[2 * i + row, j]
                    ax.axis("off")
                    if j < len(data):
                        img = data[j].reshape(data[j].shape[0], -1)
                        ax.imshow(img, cmap="gray")
                axes[2 * i + row, 0].set_title(f"{k}: {what}", fontsize=8, loc="left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def training_history(history: Sequence[dict[str, Any]], path: str | Path, *, title: str = "training loss") -> Path:
    """Loss terms per epoch (per-sample means), log-scaled when all positive."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    if history:
        epochs = [r["epoch"] for r in history]
        keys = [k for k in history[0] if k not in ("epoch", "best")]
        for k in keys:
            vals = np.asarray([r.get(k, np.nan) for r in history], dtype=float)
            ax.plot(epochs, vals, label=k, lw=1.2, ls="--" if k.startswith("val_") else "-")
        allvals = np.asarray([r.get(k, np.nan) for r in history for k in keys], dtype=float)
        if np.all(allvals[np.isfinite(allvals)] > 0):
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per sample")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)
