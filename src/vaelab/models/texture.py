"""Texture residuals: the part of a sample a decoder's mean leaves out, drawn from real residuals.

A VAE's decoder mean is smooth; real data carry correlated fine structure around it. vaelab-image and
vaelab-audio both draw samples as ``mean(z) + scale * r`` where the whitened residual ``r`` (D,) follows, per
class, a Gaussian with the *empirical* mean and covariance of the training residuals ``(x - mean) / scale`` at
the posterior means (a random Gaussian combination of real residuals, so the texture keeps their correlation
across pixels, mel bins and frames). The covariance is stored as the class's centred rows divided by
``sqrt(n_k - 1)`` (``tex_rows`` (K, m, D)), so ``tex_mean[k] + N(0, I_m) @ tex_rows[k]`` is an exact draw
(:func:`vaelab.models.gaussians.fit_class_gaussians`, ``cov = "empirical"``, shared with vaelab-cvae).
"""

from __future__ import annotations

import torch

from vaelab.models.gaussians import fit_class_gaussians


def residual_rows(w: torch.Tensor, c: torch.Tensor, n_classes: int, max_cells: int, seed: int) -> dict[str, torch.Tensor]:
    """Per-class Gaussian of the whitened residuals ``w`` (n, D) of classes ``c`` (n,) with the class's empirical
    covariance: ``{"tex_mean": (K, D), "tex_rows": (K, m, D)}`` (at most ``max_cells`` numbers per class)."""
    g = fit_class_gaussians(w, c, n_classes, 0, "empirical", seed, max_cells)
    return {"tex_rows": g["rows"], "tex_mean": g["mean"]}


def draw_residuals(rows: torch.Tensor, mean: torch.Tensor, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One whitened residual (n, D) per class index in ``c`` (n,) from the Gaussians of :func:`residual_rows`;
    classes are drawn in increasing order, rows of a class in the order they appear in ``c``."""
    r = torch.empty(len(c), rows.shape[2])
    for k in torch.unique(c).tolist():
        where = torch.nonzero(c == k).flatten()
        r[where] = mean[k] + torch.randn(len(where), rows.shape[1], generator=gen) @ rows[k]
    return r
