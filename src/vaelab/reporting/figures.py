"""Figures (matplotlib, Agg backend). Every function writes one PNG atomically and returns its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_file
from vaelab.evaluation.results import AblationResult, AugmentResult

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


def pca_scatter(real: np.ndarray, y_real: np.ndarray, synth: np.ndarray, y_synth: np.ndarray, path: str | Path,
                *, holdout: np.ndarray | None = None, title: str = "PCA of real and synthetic data") -> Path:
    """First two principal components (fitted on the real data): real as dots, synthetic as crosses."""
    from sklearn.decomposition import PCA

    plt = _plt()
    R = np.asarray(real, dtype=float).reshape(len(real), -1)
    S = np.asarray(synth, dtype=float).reshape(len(synth), -1)
    pca = PCA(n_components=2, random_state=0).fit(R)
    pr, ps = pca.transform(R), pca.transform(S)
    kr, ks = _keys(y_real), _keys(y_synth)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    for i, k in enumerate(sorted(set(kr) | set(ks))):
        col = PALETTE[i % len(PALETTE)]
        ax.scatter(pr[kr == k, 0], pr[kr == k, 1], s=16, color=col, alpha=0.7, edgecolor="none", label=f"{k} real")
        ax.scatter(ps[ks == k, 0], ps[ks == k, 1], s=22, color=col, alpha=0.7, marker="x", label=f"{k} synthetic")
    if holdout is not None and len(holdout):
        ph = pca.transform(np.asarray(holdout, dtype=float).reshape(len(holdout), -1))
        ax.scatter(ph[:, 0], ph[:, 1], s=18, facecolor="none", edgecolor="0.3", lw=0.7, label="holdout (real)")
    ev = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({100 * ev[0]:.1f} % of real variance)")
    ax.set_ylabel(f"PC2 ({100 * ev[1]:.1f} %)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def nn_distance_histogram(synthetic_to_train: np.ndarray, reference_to_train: np.ndarray, path: str | Path, *,
                          reference_label: str = "holdout → train",
                          title: str = "distance to the closest training sample") -> Path:
    """Histograms of nearest-training-sample distances: synthetic vs genuinely new real samples.

    Copies of training samples pile up near 0; a novel generator overlaps the real reference.
    """
    plt = _plt()
    a, b = np.asarray(synthetic_to_train, float), np.asarray(reference_to_train, float)
    hi = float(np.nanmax(np.concatenate([a, b]))) if len(a) + len(b) else 1.0
    bins = np.linspace(0, hi * 1.02 if hi > 0 else 1.0, 40)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(b, bins=bins, color="0.6", alpha=0.7, density=True, label=f"{reference_label} (n={len(b)})")
    ax.hist(a, bins=bins, color=PALETTE[0], alpha=0.6, density=True, label=f"synthetic → train (n={len(a)})")
    for v, c in ((np.median(b), "0.3"), (np.median(a), PALETTE[0])):
        ax.axvline(v, color=c, ls="--", lw=1)
    ax.set_xlabel("Euclidean distance to the nearest training sample")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def augmentation_curves(result: AugmentResult | dict[str, Any], path: str | Path) -> Path:
    """``vaelab augment``: balanced accuracy against augmentation factor, one panel per classifier.

    The studied model is drawn as mean ± sd over folds × seeds (a star marks a factor that is
    significantly better than factor 0); each classical augmentation is a thin line; factor 0 is
    a dotted horizontal reference. Factors are equally spaced and labelled as given.
    """
    plt = _plt()
    r = AugmentResult.coerce(result)
    clfs = list(r.classifiers)
    keys = list(r.factors)
    x = np.arange(len(keys))
    ncols = min(3, len(clfs))
    nrows = int(np.ceil(len(clfs) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows + 0.5), squeeze=False, sharey=True)
    for i, c in enumerate(clfs):
        ax = axes[i // ncols, i % ncols]
        for j, (g, res) in enumerate(r.classical_results.items()):
            xs = [0] + [keys.index(k) for k in res if k in keys]  # factor 0 (no augmentation) is shared
            ys = [r.summary(keys[0], c)["mean"]]
            ys += [res[k][c]["balanced_accuracy"]["mean"] for k in res if k in keys]
            ys = [np.nan if v is None else v for v in ys]
            ax.plot(xs, ys, color=PALETTE[(j + 1) % len(PALETTE)], lw=0.9, alpha=0.7, marker=".", label=g)
        m = [r.summary(k, c)["mean"] for k in keys]
        s = [r.summary(k, c)["std"] for k in keys]
        m = np.asarray([np.nan if v is None else v for v in m], dtype=float)
        s = np.asarray([0.0 if v is None else v for v in s], dtype=float)
        ax.errorbar(x, m, yerr=s, color=PALETTE[0], lw=2, marker="o", capsize=3, label=r.model)
        ax.axhline(m[0], color="0.4", ls=":", lw=1)
        for k, gains in r.significant_gain.items():
            if c in gains:
                ax.annotate("*", (keys.index(k), m[keys.index(k)]), textcoords="offset points", xytext=(0, 8),
                            ha="center", fontsize=14)
        ax.set_xticks(x, keys)
        ax.set_title(c, fontsize=10, loc="left")
        ax.set_xlabel("augmentation factor")
        if i % ncols == 0:
            ax.set_ylabel("balanced accuracy")
    for i in range(len(clfs), nrows * ncols):
        axes[i // ncols, i % ncols].axis("off")
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower left")
    fig.suptitle(f"augmentation with {r.model}: {r.folds} folds × {r.seeds} seeds "
                 f"(recommended factor {r.recommended_factor})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def ablation_summary(result: AblationResult | dict[str, Any], path: str | Path) -> Path:
    """``vaelab ablate``: one panel per metric, each model's per-cell values with mean ± sd."""
    plt = _plt()
    r = AblationResult.coerce(result)
    names = list(r.models)
    metrics = r.metrics
    ncols = 4
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows + 0.4), squeeze=False)
    rng = np.random.default_rng(0)
    for i, metric in enumerate(metrics):
        ax = axes[i // ncols, i % ncols]
        for j, n in enumerate(names):
            s = r.summary(n, metric)
            v = np.asarray([np.nan if a is None else a for a in s["values"]], dtype=float)
            col = PALETTE[j % len(PALETTE)]
            ax.scatter(j + rng.uniform(-0.12, 0.12, len(v)), v, s=10, color=col, alpha=0.6)
            if s["mean"] is not None:
                ax.errorbar(j + 0.25, s["mean"], yerr=s["std"] or 0.0, color=col, marker="D", capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{metric} (goal {r.metric_goals[metric]})", fontsize=9, loc="left")
    for i in range(len(metrics), nrows * ncols):
        axes[i // ncols, i % ncols].axis("off")
    fig.suptitle(f"ablation: {r.folds} folds × {r.seeds} seeds, held-out fold as reference",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
