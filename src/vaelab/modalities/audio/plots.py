"""Audio figures: log-mel spectrograms side by side, band retention bars with intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vaelab.reporting.figures import _plt, _save


def spectrograms(rows: Sequence[tuple[str, Sequence[np.ndarray]]], titles: Sequence[str], path: str | Path,
                 *, sample_rate: int, hop: int) -> Path:
    """Grid of log-mel images: one row per clip, one column per method. ``rows`` = [(clip name, [logmel ...])]."""
    plt = _plt()
    n_r, n_c = len(rows), len(titles)
    fig, axes = plt.subplots(n_r, n_c, figsize=(2.2 * n_c, 1.8 * n_r), squeeze=False, sharex=True, sharey=True)
    for i, (name, mels) in enumerate(rows):
        lo, hi = float(np.min(mels[0])), float(np.max(mels[0]))
        for j, m in enumerate(mels):
            ax = axes[i, j]
            T = m.shape[-1] * hop / sample_rate
            ax.imshow(m, origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="magma", extent=(0, T, 0, m.shape[0]))
            if i == 0:
                ax.set_title(titles[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{name}\nmel bin", fontsize=7)
            ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("s", fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def band_retention(summary: Mapping[str, Mapping[str, Mapping[str, float]]], path: str | Path) -> Path:
    """Bars: mean band energy retention (dB) per band and method with 95 % bootstrap intervals.

    ``summary[method][band] = {"mean", "ci_low", "ci_high"}``."""
    plt = _plt()
    methods = list(summary)
    bands = ["low", "mid", "high"]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(methods), 3.2))
    w = 0.8 / len(bands)
    for k, b in enumerate(bands):
        m = np.array([summary[me][b]["mean"] for me in methods])
        lo = np.array([summary[me][b]["ci_low"] for me in methods])
        hi = np.array([summary[me][b]["ci_high"] for me in methods])
        x = np.arange(len(methods)) + (k - 1) * w
        ax.bar(x, m, w, label={"low": "< 0.5 kHz", "mid": "0.5-4 kHz", "high": "> 4 kHz"}[b])
        ax.errorbar(x, m, yerr=[m - lo, hi - m], fmt="none", color="k", lw=0.8, capsize=2)
    ax.axhline(0, color="grey", lw=0.6)
    for v in (-1, 1):
        ax.axhline(v, color="grey", lw=0.5, ls=":")
    ax.set_xticks(np.arange(len(methods)), methods, fontsize=8, rotation=20)
    ax.set_ylabel("band energy retention (dB)")
    ax.set_title("energy kept per band (0 dB = original; 95 % bootstrap CI)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
