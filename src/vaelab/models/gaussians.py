"""Two linear-algebra pieces the models share: the top principal axes of a matrix, and per-class Gaussians
(empirical covariance, or low rank + diagonal) of residual rows. Used by vaelab-cvae (signal/noise split,
PPCA start, texture residuals) and by :mod:`vaelab.models.texture` (vaelab-image, vaelab-audio)."""

from __future__ import annotations

import math

import torch

_TINY = 1e-12


def top_axes(xs: torch.Tensor, q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top ``q`` singular values (q,) and right singular vectors (d, q) of ``xs`` (float64).

    Exact, from the eigendecomposition of the smaller of ``xs^T xs`` and ``xs xs^T`` when that is
    at most 2048 x 2048 (the top axes are well separated from zero, so squaring costs no useful
    precision); otherwise a randomised SVD (Halko et al. 2011, ``torch.svd_lowrank``, seeded).
    Runs on one thread: on 2 busy cores MKL's multi-threaded eigh/svd took 15 s instead of 0.2 s.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _top_axes_impl(xs, q)
    finally:
        torch.set_num_threads(threads)


def _top_axes_impl(xs: torch.Tensor, q: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs = xs.double()
    n, d = xs.shape
    q = min(q, n, d)
    if q <= 0:
        return torch.zeros(0, dtype=xs.dtype), torch.zeros(d, 0, dtype=xs.dtype)
    if min(n, d) <= 2048:
        if d <= n:
            w, V = torch.linalg.eigh(xs.T @ xs)
            w, V = w.flip(0)[:q], V.flip(1)[:, :q]
        else:
            w, U = torch.linalg.eigh(xs @ xs.T)
            w, U = w.flip(0)[:q], U.flip(1)[:, :q]
            V = (xs.T @ U) / torch.sqrt(w.clamp_min(_TINY))
        return torch.sqrt(w.clamp_min(0.0)), V
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, sv, V = torch.svd_lowrank(xs, q=q + 10, niter=2, M=None)
    return sv[:q], V[:, :q]


def fit_class_gaussians(w: torch.Tensor, c: torch.Tensor, n_classes: int, rank: int, cov: str = "lowrank",
                   seed: int = 0, max_cells: int = 1 << 22, boot: bool = False) -> dict[str, torch.Tensor]:
    """Per-class Gaussian of the rows of ``w``: mean + covariance.

    Used for the decoder-whitened residuals ``(u - mean(z)) / scale`` at the posterior mean of
    each training sample (part of their variance is smooth, correlated misfit) and for the rest
    ``r / s`` outside the principal axes (the noise texture of the spectra).

    ``cov = "empirical"`` (default): the class's full sample covariance, stored as its centred rows
    divided by sqrt(n_k - 1) (``rows``, zero-padded), so ``mean + N(0, I) @ rows`` is an exact
    draw; it keeps the correlation between neighbouring points (e.g. after Savitzky-Golay
    smoothing) that a diagonal term would turn into white noise. Against "lowrank" it raised
    TSTR/TRTR on Raman patient splits at the same C2ST (``benchmarks/RESULTS.md``). At most
    ``max_cells`` numbers per class are kept (a seeded random subset of rows beyond that).
    ``cov = "lowrank"``: mean + rank-``rank`` + diagonal (``basis``, ``psi``); the rank takes at
    most half the degrees of freedom, the diagonal the rest.
    """
    n, D = w.shape
    mean = torch.zeros(n_classes, D)
    if cov == "empirical":
        counts = torch.bincount(c, minlength=n_classes)
        m = int(min(max(int(counts.max()), 1), max(max_cells // max(D, 1), 2)))
        rows = torch.zeros(n_classes, m, D)
        boot_state = torch.zeros(n_classes, 2)  # rows kept, factor that turns a row back into a residual - mean
        gen = torch.Generator().manual_seed(seed + 4099)
        for k in range(n_classes):
            wk = w[c == k].double()
            if len(wk) < 2:
                continue
            mean[k] = wk.mean(dim=0).float()
            centred = (wk - wk.mean(dim=0)) / math.sqrt(len(wk) - 1)
            mult = math.sqrt(len(wk) - 1)
            if len(wk) > m:  # a random subset, rescaled to keep the total variance
                centred = centred[torch.randperm(len(wk), generator=gen)[:m]] * math.sqrt(len(wk) / m)
                mult /= math.sqrt(len(wk) / m)
            rows[k, : len(centred)] = centred.float()
            boot_state[k] = torch.tensor([float(len(centred)), mult])
        return {"mean": mean, "rows": rows, **({"boot": boot_state} if boot else {})}
    basis = torch.zeros(n_classes, D, rank)
    psi = torch.ones(n_classes, D)
    for k in range(n_classes):
        wk = w[c == k].double()
        if len(wk) < 2:
            continue
        m = wk.mean(dim=0)
        centred = wk - m
        r = min(rank, (len(wk) - 1) // 2, D)
        rest = centred
        if r > 0:
            s, V = top_axes(centred, r)
            basis[k, :, :r] = (V * (s / math.sqrt(len(wk) - 1))).float()
            rest = centred - (centred @ V) @ V.T
        mean[k] = m.float()
        psi[k] = (rest.pow(2).sum(dim=0) / max(len(wk) - 1 - r, 1)).float()
    return {"mean": mean, "basis": basis, "psi": psi}
