"""``vaelab-cvae``: vaelab's own conditional VAE for spectra (and any flat feature vector).

Every part below was kept because it measured better (numbers: ``benchmarks/RESULTS.md``,
sections "vaelab-cvae against the seed CVAE, ..." and "Design choices, one at a time"); the
alternatives stay available as options for ablations.

* **Scale-free.** Features are z-scored with the training set's statistics (stored with the
  weights), so the model works on min-max scaled, standardised, normalised or raw data alike.
* **Signal / noise split** (``components``). The z-scored spectra are written ``x = V a + r``:
  ``a`` holds the coordinates on the top principal axes ``V`` of the training set (at most
  ``components``, a quarter of the features and half the samples), ``r`` the rest, mostly
  measurement noise. ``s = |r| / sqrt(d - K)`` is the spectrum's noise level (it differs 3x
  between real Raman spectra). Axes fitted to few spectra absorb the noise of the spectra that
  stick out along them (one of 39 coffee spectra came out 40x too clean); ``level = "loo"``
  takes the leave-one-out level instead (divided by ``1 - h``, ``h`` the spectrum's leverage on
  the axes); not the default: measured in ``benchmarks/RESULTS.md`` (issue 16, session 2). The VAE models ``a`` given the class and ``log s`` (~130 numbers
  instead of ~1000: an epoch is ~10x cheaper); the rest ``r / s`` is modelled per class by a
  Gaussian with the class's empirical covariance (``texture_cov``; or mean + rank-
  ``texture_rank`` + diagonal) in the complement of ``V``, scaled by the sample's noise level. ``components = 0``: the VAE models all features directly.
* **Full likelihood, sampled in full** (``noise = "texture"``). The decoder outputs a mean and
  a log-variance per coordinate (a heteroscedastic Gaussian, the log-variance bounded between
  ``min_logvar`` and log(2 x the coordinate's variance)). Samples are mean + residual, not the
  mean alone: the seed CVAE returns the mean, a curve without the noise texture of real
  spectra, which a classifier tells from real ones at once. The residual is drawn from a
  per-class Gaussian (empirical covariance; in classes with more spectra than latent dimensions
  and sound neighbourhoods the decoded-coordinate part from the code's balanced neighbourhood,
  ``texture_draw`` below) of the training residuals divided by the noise level (``whiten =
  "level_checked"``; by the decoder's sd without principal axes), which keeps
  their correlation (the decoder's variance also holds smooth misfit that independent noise
  would turn into too-rough texture). A training spectrum at the leverage bound ``h = 1 - 1/n`` (it
  spans a principal axis of its own, as an outlying spectrum among few does) has an in-sample level
  that is not a measurement of its noise (the axes absorbed it: coffee arpls+savgol+vector, 1 % of
  its class's levels), and its decoder misfit divided by that level became its class's whole residual
  Gaussian (class spread 4.16); ``"level_checked"`` whitens such a row by its class's median level
  (:func:`_checked_levels`) and every other row by its own, so a set without such a row draws
  exactly as with ``"level"``, the default until issue 16, session 16 (coffee test split:
  arpls+savgol+vector Vietnam spread 4.16 -> 0.93, C2ST 0.926 -> 0.871; every other coffee space and
  all Raman spaces byte-identical). Runs saved before load with ``"level"`` and draw as they did.
* **Linear + MLP paths, started from probabilistic PCA** (``init = "pca"``): encoder mean
  ``P u + MLP(u)``, decoder mean ``W z + MLP(z)``; the linear paths start at the PPCA
  solution (Tipping & Bishop 1999), the MLP outputs at zero, so training starts where a linear
  model ends (a few epochs suffice). ``beta < 1`` weights the KL term less, for sharper
  reconstructions; the second stage repairs the sampling.
* **Second-stage latent density** (Dai & Wipf 2019, "Diagnosing and enhancing VAE models"):
  ``z`` is not drawn from N(0, I) (``prior = "standard"``; it leaves the holes of the
  aggregate posterior) but per class from the aggregate posterior of the training samples,
  as a smoothed bootstrap (``"kde"``): a random training sample's posterior draw and noise
  level, plus Gaussian kernel noise whose width is calibrated so that samples lie as far from
  their nearest training sample as a left-out training sample does (not copies). Alternatives:
  ``"aggregate"`` (no kernel noise), ``"gmm"`` (a per-class Gaussian mixture). Where the
  measurement noise is small next to the differences between spectra, the calibration needs a wide
  kernel (h ~ 1) and the unshrunk kernel inflates the class's latent variance by 1 + h^2 (spread
  1.2-1.35 on a synthetic FTIR-like set, C2ST 0.79); ``kde_kernel = "covariance"`` with ``kde_shrink``
  keeps the class's code covariance (0.60 there); on coffee's 9-13 spectra per class it met no more
  targets on validation (``benchmarks/RESULTS.md``, issue 16, session 5): with fewer codes than latent
  dimensions the class covariance is singular and the kernel cannot make samples new outside the codes'
  span. The default ``kde_kernel = "auto"`` takes the shrunk covariance kernel per class where the class
  has more codes than latent dimensions, else the per-dimension kernel (issue 16, session 6; runs saved
  before the option existed load with the per-dimension kernel). ``kde_centre =
  "mean"`` centres the kernel on the training sample's posterior mean instead of a posterior
  draw: decoded draws lose the rare, heavy-tailed principal coordinates that the posterior means
  keep (Raman d1: kurtosis 61 -> 7, variance 0.59x), so samples are then made where the texture
  residuals are measured and only the calibrated kernel makes them new; it can leave the kernel at
  0 (signal = a training spectrum's reconstruction, texture new). Not the default: measured in
  ``benchmarks/RESULTS.md`` (issue 16, session 3), as ``texture_draw = "bootstrap"`` (a residual
  is one training residual of the class, not a Gaussian combination of them, which spreads one
  spectrum's rare band thinly over all samples; ``"bootstrap_tex"``: the decoded-coordinate
  residual only; never the residual of the training spectrum the sample's code was drawn from,
  which would rebuild that spectrum). Both Gaussianise heavy-tailed per-spectrum features, one
  in the latent code, one in the residual; ``kde_centre = "mean"`` with ``texture_draw =
  "bootstrap"`` resamples both instead (issue 16, session 4: Raman arpls+savgol+vector / d1 C2ST
  0.884 / 0.869 -> 0.839 / 0.811 on the test split, bounds 0.808 / 0.786; not the default, since
  min-max TSTR/TRTR fell there, 0.967 -> 0.917, and DCR falls where the kernel stays at 0).
  ``kde_centre = "auto"`` takes the mean only in the classes whose kernel, calibrated with the draw,
  came out 0 (the draw was their only latent noise) and recalibrates them (an option: on Raman
  validation splits it raised TSTR/TRTR and lowered C2ST in baseline-removed / derivative spaces,
  at a DCR cost of 0.01-0.04, and a cost clause failed on coffee; issue 16, session 8).
  ``pick = "balanced"`` (an option) picks the training rows a class's codes are drawn
  around stratified instead of with replacement: every row ``floor`` or ``ceil`` of m / n_k times (m = n_k: each
  once), so a class of few spectra keeps its whole spread where the kernel is 0 instead of the bootstrap's (n_k - 1) /
  n_k with a dominant row missed at random; the kernel calibration draws with the same pick. On coffee validation
  splits it brought every class-cell below spread 0.85 into the band and lowered C2ST, but more classes went above
  1.15 and two SNV cells' DCR fell below 0.9 x the left-out reference (the rule failed; issue 16, session 17).
  ``pick = "balanced_zero"`` (``prior = "kde"`` only): the kernel calibrated with the with-replacement pick (every
  width h as before), then the balanced pick only in the classes whose calibrated h is 0 (where the pick alone
  sets a class's spread); every class with h > 0 draws the bytes of ``"replacement"`` (issue 16, session 17, second
  helper). It passed the lead's rule on new validation splits and the test split (read once), and is the default
  through ``pick = "auto"`` (``"balanced_zero"`` with the kde prior, ``"replacement"`` with the others); runs saved
  before load with ``"replacement"`` and draw as they did.
  ``texture_draw = "local"`` (an option) draws the decoded-coordinate residual from a local Gaussian: the
  mean and sample covariance of the whitened residuals of the k = round(sqrt(n_k)) nearest other codes (by
  posterior mean) of the training row the sample's code was drawn from. In Raman arpls+savgol+vector / d1
  that residual holds a fifth to a third of the principal variance and depends on the signal (a spectrum
  without a band has small residuals there), so one class-wide Gaussian pushes band-free samples below zero
  and thins heavy tails; the local draw keeps that dependence without copying any one training residual.
  Not the default: on validation splits it lowered C2ST in all six Raman arpls / d1 cells (mean -0.053) and
  coffee arpls in all five, but TSTR/TRTR fell in all six Raman ones (by 0.01-0.07, mean 0.04; issue 16,
  session 10). Its draws carry only part of the class's residual variance (0.64-0.96: a k-nearest neighbourhood
  counts each row as often as it is someone's neighbour, an outlying spectrum rarely). ``texture_draw =
  "local_balanced"`` (an option) weights symmetrised neighbourhoods so that every training row counts once in
  the marginal (a doubly stochastic weight matrix, :func:`_balanced_neighbours`): the mean and covariance still
  follow the code, the marginal residual covariance is the class's. Not the default: on validation splits it
  lowered C2ST in all six Raman arpls / d1 cells (mean -0.051) with TSTR/TRTR not lower (+0.013), but on coffee's
  9-spectrum classes (effective neighbourhoods of 1-4 residuals) DCR fell below 0.9 x a left-out reference in two cells
  and C2ST / TSTR clauses failed (issue 16, session 12). ``texture_draw = "local_auto"`` (an option) draws as
  ``"local_balanced"`` in the classes with more codes than latent dimensions (the rule of ``kde_kernel = "auto"``:
  enough codes for local structure) and as ``"gaussian"`` (the same random numbers) in the others; per class
  ``tex_local`` in the weights (issue 16, session 12, second helper). ``texture_draw = "local_checked"``
  gates as ``"local_auto"`` and also where the class's balanced neighbourhoods are unsound (:func:`local_checks`: the
  balancing did not converge, or a row's effective neighbourhood holds fewer than 2 residuals), as on classes of 40
  spectra of a few patients (issue 16, session 13). It is the default since issue 16, session 13: on full Raman
  classes it draws byte for byte as ``"local_auto"`` (every class passes the checks), which lowered C2ST on the Raman
  test split in arpls+savgol+vector (0.885 -> 0.833) and d1 (0.869 -> 0.841) with TSTR/TRTR not lower; on Raman
  classes subsampled to 40 and 80 spectra a no-harm rule passed; coffee's classes (9-13 spectra) are gated by the
  count and draw as before. Runs saved before it load with ``"gaussian"`` and draw as they did.
  ``rest_draw = "local"`` (an option; default ``"gaussian"``) draws the rest outside the principal axes, too, from
  the code's balanced neighbourhood (the same neighbourhood and weights) in the classes that draw the decoded-coordinate
  residual locally: after a baseline removal a spectrum's rest depends on its own signal (real principal parts with
  the class-wide synthetic rest: C2ST 0.64 on a Raman validation split; issue 16, session 14).
* **KL warm-up and free bits** against posterior collapse; **early stopping** on the
  validation ELBO (un-annealed, the same noise draws every epoch) of a stratified part; the
  second stage is fitted on all training samples, the validation part included.
* **Per-point marginals** (``marginals = "quantile"``, an option). The model works on each feature's
  normal scores (a Gaussian copula) and samples are mapped back through the training quantiles, so
  every point keeps its training distribution and range: after baseline removal + smoothing a
  random forest told samples from real Raman spectra by the per-point tails (real values bounded
  below, samples not; real per-point marginals on the samples: C2ST 0.902 -> 0.438). It closes most
  of that gap (test split: Raman d1 0.869 -> 0.743, arpls+savgol+vector 0.884 -> 0.826, coffee
  0.959 -> 0.308) but in min-max and SNV space its samples come out rougher point to point and
  C2ST rises (Raman 0.60 -> 0.85), so it is not the default (``benchmarks/RESULTS.md``, issue 16,
  session 6). The cause is the split, not the quantiles: on the scores the part outside the
  principal axes is not independent of the spectrum's own signal, so a texture from another
  spectrum roughens the sample 1.5x there (1.1x on the data themselves, 1.1-1.25x in arpls / d1).
  A hybrid (the principal part on the scores, projected on the data's own axes, the level and the rest
  on the data) removed that penalty and kept most of the arpls / d1 gain, but lost TSTR/TRTR in min-max
  and met fewer targets than the default on the test split (session 7), so it was not kept.
* **Class hull** (``span = "class"``, an option; default ``"none"``). Every sample of class k is replaced by its
  projection ``m_k + Q_k Q_k^T (x - m_k)`` onto the affine hull of class k's training rows (``m_k`` their mean,
  ``Q_k`` an orthonormal basis of the centred rows, float64, numerical rank as ``numpy.linalg.matrix_rank``;
  :func:`_class_spans`), in the space the model works in, before the marginals and the renormalisation; the kernel
  calibration draws through :meth:`VaelabCVAE.generate`, so it sees the projected samples. A point where every
  training spectrum of the class is flat stays flat: the principal axes are shared by all classes, and in coffee
  arpls+savgol+vector the kernel noise or another row's residual brought one spectrum's excursion at the axis ends
  into classes whose spectra are constant there (2-18x their sd; ``benchmarks/RESULTS.md``, issue 16, sessions 18
  and 19). A class with more spectra than features spans the whole space and is left as it is. ``span =
  "class_after"``: the same projection, but not while the kernel is calibrated (:attr:`VaelabCVAE.calibrating_`), so
  the widths h and the pick are the default's and only the samples returned afterwards are projected (session 19).
* **Per-sample constraints kept.** When every training sample is min-max scaled (min 0,
  max 1), L2-normalised, L1-normalised or SNV-scaled (mean 0, sd 1), samples are re-normalised the same way
  (``renormalise = "auto"``); otherwise a classifier spots "max != 1" at once.

The second-stage densities live in :mod:`vaelab.samplers` (any VAE can use them); the noise level
travels with each code as the sampler's *attached* value. Training uses
:class:`vaelab.training.trainer.Trainer` (tensors sliced in memory, no DataLoader);
``compile = true`` wraps the loss in :func:`torch.compile` (works on CPU, but compiling takes
~50 s, more than a whole default training: for GPUs and long runs).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.errors import InputError
from vaelab.models.base import ModelConfig
from vaelab.models.gaussians import fit_class_gaussians, top_axes
from vaelab.models.torch_base import FitJob, TorchGenerator
from vaelab.samplers import make_sampler
from vaelab.samplers.base import PICKS
from vaelab.samplers.kde import CENTRES as KDE_CENTRES
from vaelab.samplers.kde import FLOORS as KDE_FLOORS
from vaelab.samplers.kde import KERNELS as KDE_KERNELS
from vaelab.samplers.kde import class_neighbours, enough_codes

# renormalisation modes, stored as an integer code with the weights
_RENORM_CODES = {"none": 0, "minmax": 1, "l2": 2, "l1": 3, "snv": 4}
_RENORM_NAMES = {v: k for k, v in _RENORM_CODES.items()}
_TINY = 1e-12
_LOCAL_DRAWS = ("local", "local_balanced", "local_auto", "local_checked")  # from the code's neighbours (keep the table)
_BALANCED_DRAWS = ("local_balanced", "local_auto", "local_checked")  # draws from the balanced neighbourhoods (tex_bn, tex_bw)
_GATED_DRAWS = ("local_auto", "local_checked")  # "local_balanced" per class where the gate table tex_local says 1
_CHECK_COL_TOL = 1e-3  # "local_checked": a class's balancing counts as converged with every column sum this close to 1
_CHECK_MIN_EFF = 2.0  # "local_checked": the smallest effective neighbourhood size 1 / sum_j w_ij^2 allowed in a class
_CLIP_TOL = 1e-2  # "level_checked": a row counts as at the leverage bound with n (1 - h) <= 1 + this (float32 rounding)
_LEVEL_FLOOR = 1e-6  # noise level (rms per free dimension, z-scored units) below which data count as noise-free


@dataclass
class VaelabCVAEConfig(ModelConfig):
    # runs saved before these options existed (or took their present default): modelled on the data as they are, a
    # per-dimension kernel, the class-wide residual Gaussian, every row whitened by its own level
    SAVED_BEFORE: ClassVar[dict[str, Any]] = {"marginals": "none", "kde_kernel": "gaussian", "texture_draw": "gaussian",
                                              "rest_draw": "gaussian", "kde_floor": "none", "whiten": "level",
                                              "pick": "replacement", "span": "none"}
    components: int = 128  # principal axes the VAE models (at most d/4, (n-1)/2); 0: all features
    latent_dim: int = 32
    hidden: tuple[int, ...] | list[int] = (128,)
    likelihood: str = "hetero"  # "hetero": per-sample, per-coordinate variance | "homo": per-coordinate only
    min_logvar: float = -9.0  # lower bound of the decoder log-variance (z-scored units); upper: log(2 var)
    logvar_rank: int = 16  # > 0: the log-variance goes through a rank-r bottleneck
    init: str = "pca"  # "pca": start from probabilistic PCA (linear paths), MLP outputs at zero | "random"
    beta: float = 0.3  # weight of the KL term (after warm-up); < 1 for sharper reconstructions
    kl_warmup: int = 10  # epochs over which the KL weight rises linearly from 0 to beta
    free_bits: float = 0.0  # nats per latent dimension below which the KL is not penalised
    prior: str = "kde"  # "kde" | "aggregate" | "gmm" | "standard"
    kde_shrink: bool = False  # "kde": shrink the kernel draws towards the class mean (keeps the latent variance)
    kde_kernel: str = "auto"  # "gaussian": N(0, h^2 sd^2) | "covariance": N(0, h^2 C) | "neighbours": h x (a near code - the code)
    #   | "auto": per class "covariance" (shrunk) with more codes than latent_dim, else "gaussian" (samplers.kde)
    kde_centre: str = "draw"  # kernel centred on a training sample's posterior "draw" | its posterior "mean"
    #   | "auto": the mean only in the classes whose kernel, calibrated with the draw, came out h = 0 (samplers.kde)
    kde_floor: str = "none"  # "variance": the calibrated width raised to 1 / sqrt(n_k) in classes with the unshrunk
    #   per-dimension kernel, where the smoothed bootstrap's variance is the codes' unbiased variance (samplers.kde)
    #   | "span": the width kept, the rest of that variance added as noise N(0, (1/n_k - h^2) S_k) inside the span of
    #   the class's codes (S_k their covariance), in the same classes where h < 1 / sqrt(n_k) (samplers.kde)
    pick: str = "auto"  # the training rows the latent codes are drawn around, per class: "auto" (default):
    #   "balanced_zero" with prior "kde", "replacement" with any other prior (resolved_pick) | "replacement" (a
    #   bootstrap) | "balanced": floor(m / n_k) passes over the class's rows plus a random subset without replacement
    #   (every row picked floor or ceil(m / n_k) times; samplers.base.balanced_rows); "kde", "aggregate", "standard"
    #   | "balanced_zero" ("kde" only): "balanced" in the classes whose calibrated kernel width is 0 (the calibration
    #   picks with replacement), the default's bytes in the others (samplers.kde.CalibratedKDE._pick)
    gmm_components: int = 8
    gmm_draws: int = 4  # posterior draws per training sample for the latent mixture
    noise: str = "texture"  # "texture" | "decoder": independent noise | "none": means only (as the seed CVAE)
    texture_rank: int = 16  # rank of the per-class Gaussians of the residuals ("lowrank")
    texture_cov: str = "empirical"  # residual covariance per class: "empirical" (full) | "lowrank" (+ diagonal)
    texture_draw: str = "local_checked"  # "local_auto" gated also where the balancing did not converge or a
    #   neighbourhood is ~1 residual (local_checks) | "gaussian": a Gaussian combination of the class's residuals
    #   | "bootstrap(_tex)": one of them
    #   | "local": a Gaussian with the mean and covariance of the residuals of the code's nearest codes (_local_draw)
    #   | "local_balanced": the same from balanced weights, every training row counting once (_balanced_neighbours)
    #   | "local_auto": "local_balanced" in classes with more codes than latent_dim (as kde_kernel "auto"), else "gaussian"
    rest_draw: str = "gaussian"  # the rest outside the axes: "gaussian" (the class's Gaussian) | "local": in the classes
    #   whose decoded-coordinate residual is drawn locally (a balanced texture_draw), from the same balanced neighbourhood
    level: str = "in_sample"  # noise level of a training spectrum: "in_sample" | "loo" (leave-one-out, s / (1 - leverage))
    whiten: str = "level_checked"  # residuals divided by: "level_checked": the noise level s (decoder sd without
    #   axes), except a training row at the leverage bound (its level unmeasured) gets its class's median level
    #   (_checked_levels); samples are scaled back by their own level as with "level"
    #   | "level": every row's own s (the default until issue 16, session 16) | "loo" (s / (1 - h)) | "decoder" | "none"
    renormalise: str = "auto"  # "auto" | "none" | "minmax" | "l2" | "l1" | "snv"
    marginals: str = "none"  # "none" | "quantile": modelled on per-feature normal scores, mapped back (training quantiles)
    span: str = "none"  # "none" | "class": each sample projected onto the affine hull of its class's training rows
    #   (m_k + Q_k Q_k^T (x - m_k), before the marginals and the renormalisation; _class_spans, _project_spans)
    #   | "class_after": the same projection, but not while after_fit calibrates the kernel (its widths h and the pick
    #   are the default's; only the samples generate() returns afterwards are projected)
    epochs: int = 300
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 100.0
    val_fraction: float = 0.1
    patience: int | None = 15
    min_epochs: int = 0
    compile: bool = False


def _check_config(cfg: VaelabCVAEConfig) -> None:
    def int_at_least(name: str, v: object, lo: int = 1) -> None:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InputError(f"vaelab-cvae: {name} must be an integer >= {lo}, got {v!r}")

    for name in ("latent_dim", "epochs", "batch_size", "gmm_components", "gmm_draws"):
        int_at_least(name, getattr(cfg, name))
    for name in ("components", "kl_warmup", "logvar_rank", "texture_rank", "min_epochs"):
        int_at_least(name, getattr(cfg, name), 0)
    if cfg.patience is not None:
        int_at_least("patience", cfg.patience)
    hidden = list(cfg.hidden) if isinstance(cfg.hidden, (list, tuple)) else None
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise InputError(f"vaelab-cvae: hidden must be a non-empty list of positive integers, got {cfg.hidden!r}")
    choices = {"likelihood": ("hetero", "homo"), "prior": ("kde", "aggregate", "gmm", "standard"),
               "noise": ("texture", "decoder", "none"), "init": ("pca", "random"),
               "texture_cov": ("empirical", "lowrank"),
               "texture_draw": ("gaussian", "bootstrap", "bootstrap_tex", *_LOCAL_DRAWS), "level": ("loo", "in_sample"),
               "rest_draw": ("gaussian", "local"),
               "whiten": ("decoder", "level", "level_checked", "loo", "none"), "kde_kernel": KDE_KERNELS,
               "kde_centre": KDE_CENTRES, "kde_floor": KDE_FLOORS, "pick": ("auto", *PICKS),
               "renormalise": ("auto", *_RENORM_CODES), "marginals": ("none", "quantile"),
               "span": ("none", "class", "class_after")}
    for key, allowed in choices.items():
        if getattr(cfg, key) not in allowed:
            raise InputError(f"vaelab-cvae: {key} must be one of {', '.join(allowed)}, got {getattr(cfg, key)!r}")
    for key in ("beta", "free_bits", "lr", "min_logvar", "weight_decay"):
        v = getattr(cfg, key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (key != "min_logvar" and v < 0):
            raise InputError(f"vaelab-cvae: {key} must be a finite number{'' if key == 'min_logvar' else ' >= 0'}, got {v!r}")
    if cfg.grad_clip is not None and (isinstance(cfg.grad_clip, bool) or not isinstance(cfg.grad_clip, (int, float))
                                      or not cfg.grad_clip > 0):
        raise InputError(f"vaelab-cvae: grad_clip must be a number > 0 or null, got {cfg.grad_clip!r}")
    if isinstance(cfg.val_fraction, bool) or not isinstance(cfg.val_fraction, (int, float)) or not 0 <= cfg.val_fraction < 1:
        raise InputError(f"vaelab-cvae: val_fraction must be in [0, 1), got {cfg.val_fraction!r}")
    if cfg.rest_draw == "local" and cfg.texture_draw not in _BALANCED_DRAWS:
        raise InputError(f"vaelab-cvae: rest_draw = 'local' needs texture_draw {', '.join(_BALANCED_DRAWS)}, "
                         f"got {cfg.texture_draw!r}")
    pick = resolved_pick(cfg)  # "auto" resolves to a pick every prior accepts
    if pick == "balanced_zero" and cfg.prior != "kde":
        raise InputError(f"vaelab-cvae: pick = 'balanced_zero' needs prior = 'kde' (its kernel widths), got {cfg.prior!r}")
    if pick != "replacement" and cfg.prior == "gmm":
        raise InputError(f"vaelab-cvae: pick = {pick!r} needs a prior that picks training rows (kde, aggregate, "
                         "standard), got 'gmm'")
    if not isinstance(cfg.compile, bool):
        raise InputError(f"vaelab-cvae: compile must be true or false, got {cfg.compile!r}")


def resolved_pick(cfg: VaelabCVAEConfig) -> str:
    """The sampler's ``pick`` of a config: ``"auto"`` is ``"balanced_zero"`` with ``prior = "kde"`` and
    ``"replacement"`` with any other prior (those have no calibrated kernel width); any other value as it is."""
    if cfg.pick != "auto":
        return cfg.pick
    return "balanced_zero" if cfg.prior == "kde" else "replacement"


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class CVAENet(nn.Module):
    """Conditional VAE on the model coordinates ``u`` (see the module docstring), plus the map x <-> u.

    ``d`` features, ``k`` principal axes (0: ``u`` is the z-scored ``x`` itself), ``D`` = dim u.
    """

    def __init__(self, d: int, k: int, n_classes: int, latent: int, hidden: list[int], hetero: bool,
                 min_logvar: float, logvar_rank: int):
        super().__init__()
        self.d, self.k, self.n_classes, self.latent, self.hetero = d, k, n_classes, latent, hetero
        D = k + 1 if k > 0 else d
        self.D = D  # dim u (encoder input)
        self.D_out = k if k > 0 else d  # modelled by the decoder; the noise level is its input
        n_cond = n_classes + (1 if k > 0 else 0)
        self.min_logvar = float(min_logvar)
        self.register_buffer("x_mean", torch.zeros(d))
        self.register_buffer("x_scale", torch.ones(d))
        self.register_buffer("basis", torch.zeros(d, k))  # orthonormal columns (unused ones are zero)
        self.register_buffer("u_mean", torch.zeros(D))
        self.register_buffer("u_scale", torch.ones(D))
        # upper bound of the decoder log-variance per coordinate: log(2 x its training variance)
        self.register_buffer("logvar_hi", torch.full((self.D_out,), self.min_logvar + 10.0))
        # per-coordinate sd of u: the MLPs see u / sd and emit mean corrections in units of sd (the
        # leading principal coordinates have sd ~ 20, the last ones ~ 0.1)
        self.register_buffer("u_sd", torch.ones(D))
        self.enc = _mlp([D + n_classes, *hidden])
        self.enc_out = nn.Linear(hidden[-1], 2 * latent)
        self.dec = _mlp([latent + n_cond, *reversed(hidden)])
        self.dec_mean = nn.Linear(hidden[0], self.D_out)
        if hetero and logvar_rank > 0:
            self.dec_logvar = nn.Sequential(nn.Linear(hidden[0], logvar_rank), nn.Linear(logvar_rank, self.D_out))
        elif hetero:
            self.dec_logvar = nn.Linear(hidden[0], self.D_out)
        else:
            self.logvar = nn.Parameter(torch.zeros(self.D_out))
        # linear (residual) paths: z_mean = MLP(u) + P u, mean = MLP(z) + W z
        self.enc_skip = nn.Linear(D, latent, bias=False)
        self.dec_skip = nn.Linear(latent, self.D_out, bias=False)

    # ------------------------------------------------------------------ x <-> u
    def split(self, x: torch.Tensor, level: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (n, d) -> (u (n, D) standardised, rest ``r / s`` (n, d); zeros without principal axes).

        ``level`` (n,): the noise levels ``s`` to use (the training spectra's leave-one-out levels,
        :func:`_noise_levels`); by default ``s = |r| / sqrt(d - K)``."""
        xs = (x - self.x_mean) / self.x_scale
        if self.k == 0:
            return (xs - self.u_mean) / self.u_scale, torch.zeros_like(xs)
        a = xs @ self.basis
        r = xs - a @ self.basis.T
        if level is None:
            dof = max(self.d - int((self.basis.abs().sum(dim=0) > 0).sum()), 1)
            s = r.norm(dim=1, keepdim=True) / math.sqrt(dof)
        else:
            s = level.reshape(-1, 1).to(xs.dtype)
        s = s.clamp_min(_LEVEL_FLOOR)
        u = torch.cat([a, torch.log(s)], dim=1)
        rest = r / s
        return (u - self.u_mean) / self.u_scale, rest

    def merge(self, u_std: torch.Tensor, rest: torch.Tensor | None) -> torch.Tensor:
        """Inverse of :meth:`split`: ``rest`` is projected onto the complement of the axes."""
        u = u_std * self.u_scale + self.u_mean
        if self.k == 0:
            xs = u
        else:
            xs = u[:, : self.k] @ self.basis.T
            if rest is not None:
                rest = rest - (rest @ self.basis) @ self.basis.T
                xs = xs + torch.exp(u[:, self.k :]) * rest
        return xs * self.x_scale + self.x_mean

    # ------------------------------------------------------------------ VAE
    def _onehot(self, c: torch.Tensor) -> torch.Tensor:
        return F.one_hot(c, self.n_classes).to(self.u_mean.dtype)

    def encode(self, u: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc_out(self.enc(torch.cat([u / self.u_sd, self._onehot(c)], dim=1)))
        mu, logvar = h.chunk(2, dim=1)
        return mu + self.enc_skip(u), logvar.clamp(-12.0, 8.0)

    def level(self, u: torch.Tensor) -> torch.Tensor | None:
        """The (standardised) noise-level column of ``u``; None without principal axes."""
        return u[:, self.D_out :] if self.k > 0 else None

    def decode(self, z: torch.Tensor, c: torch.Tensor, level: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of the modelled coordinates ``u[:, :D_out]`` given z, class and noise level."""
        parts = [z, self._onehot(c)] + ([level] if self.k > 0 else [])
        h = self.dec(torch.cat(parts, dim=1))
        mean = self.dec_mean(h) * self.u_sd[: self.D_out] + self.dec_skip(z)
        raw = self.dec_logvar(h) if self.hetero else self.logvar.expand_as(mean)
        # bounded: between min_logvar and log(2 x the coordinate's variance), so that a decoder fitted on
        # few samples cannot promise near-zero noise nor extrapolate to huge noise
        return mean, self.min_logvar + (self.logvar_hi - self.min_logvar) * torch.sigmoid(raw)


def _elbo_terms(module: CVAENet, u: torch.Tensor, c: torch.Tensor, beta: float, free_bits: float,
                eps: torch.Tensor) -> dict[str, torch.Tensor]:
    mu, logvar = module.encode(u, c)
    z = mu + torch.exp(0.5 * logvar) * eps
    mean, dec_logvar = module.decode(z, c, module.level(u))
    target = u[:, : module.D_out]
    nll = 0.5 * (((target - mean) ** 2) * torch.exp(-dec_logvar) + dec_logvar + math.log(2 * math.pi)).sum()
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (n, latent)
    kl = kl_dims.sum()
    if free_bits > 0:
        kl_pen = torch.clamp(kl_dims.mean(dim=0), min=free_bits).sum() * u.shape[0]
    else:
        kl_pen = kl
    return {"loss": nll + beta * kl_pen, "nll": nll, "kl": kl, "elbo": -(nll + kl)}


class VaelabCVAE(TorchGenerator):
    """vaelab's conditional VAE for spectra (see the module docstring).

    Fit-time state (feature statistics, the principal axes, the rest ``r / s`` of every training
    spectrum) is computed by :meth:`prepare_inputs` and travels in the :class:`FitJob`; the network
    trains on the coordinates ``u`` (n, k + 1), while ``feature_shape`` is always that of the data.
    """

    name = "vaelab-cvae"
    Config = VaelabCVAEConfig
    modalities = ("spectrum",)  # any sample shape trains (flattened), but its design is that of a spectrum
    calibrating_ = False  # True while after_fit calibrates the kernel (_latent_sampler)

    def __init__(self, config: ModelConfig | None = None, **overrides):
        super().__init__(config, **overrides)
        _check_config(self.config)

    def _k(self, d: int) -> int:
        """Principal axes for ``d`` features: at most a quarter of them, so that the rest, from which
        the noise level is measured, keeps at least three quarters; none for fewer than 8 features."""
        return min(self.config.components, d // 4) if self.config.components > 0 and d >= 8 else 0

    def sampler(self) -> Any:
        """The latent sampler (:mod:`vaelab.samplers`) of ``config.prior``, unfitted."""
        cfg = self.config
        if cfg.prior == "kde":
            return make_sampler("kde", kernel=cfg.kde_kernel, shrink=cfg.kde_shrink, centre=cfg.kde_centre,
                                floor=cfg.kde_floor, pick=resolved_pick(cfg))
        if cfg.prior == "gmm":
            return make_sampler("gmm", components=cfg.gmm_components, draws=cfg.gmm_draws,
                                attached_dim=1 if self.module is not None and self.module.k > 0 else 0)
        return make_sampler(cfg.prior, pick=resolved_pick(cfg), **({"latent_dim": cfg.latent_dim} if cfg.prior == "standard" else {}))

    # ------------------------------------------------------------------ network
    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        cfg = self.config
        d = math.prod(feature_shape)
        return CVAENet(d, self._k(d), n_classes, cfg.latent_dim, list(cfg.hidden), cfg.likelihood == "hetero",
                       cfg.min_logvar, cfg.logvar_rank)

    def init_module(self, net: nn.Module, state: dict[str, Any]) -> None:
        """Feature statistics and principal axes into the buffers; start from PPCA (``init = "pca"``)."""
        cfg, space = self.config, state["space"]
        for key in ("x_mean", "x_scale", "basis", "u_mean", "u_scale"):
            getattr(net, key).copy_(torch.as_tensor(space[key], dtype=torch.float32))
        var_all = torch.as_tensor(state["u_train"]).var(dim=0, unbiased=False)
        sd = var_all.sqrt()
        net.u_sd.copy_(torch.where(sd > 1e-3 * float(sd.max()), sd, torch.ones_like(sd)).float())
        var = var_all[: net.D_out]
        net.logvar_hi.copy_(torch.clamp(torch.log(2 * var + _TINY), min=cfg.min_logvar + 1.0))
        if cfg.init == "pca":
            _ppca_init(net, state["u_train"])

    def loss(self, module: nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        if module.training:
            warm = 1.0 if cfg.kl_warmup == 0 else min(1.0, (epoch + 1) / cfg.kl_warmup)
            beta, fb = cfg.beta * warm, cfg.free_bits
            eps = torch.randn(x.shape[0], cfg.latent_dim, device=x.device)
        else:
            # validation: the plain (negative) ELBO, with the same noise every epoch (common random
            # numbers), so early stopping compares epochs, not noise draws
            beta, fb = 1.0, 0.0
            gen = torch.Generator(device=x.device).manual_seed(0)
            eps = torch.randn(x.shape[0], cfg.latent_dim, device=x.device, generator=gen)
        terms = _compiled_elbo_terms() if cfg.compile else _elbo_terms
        return terms(module, x, c, beta, fb, eps)

    # ------------------------------------------------------------------ fit
    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The network's inputs ``u`` (n, D) and the fit state: ``space`` (feature statistics and
        principal axes), ``u_train``, ``rest`` (n, d) and the per-sample normalisation code ``renorm``."""
        flat = X.reshape(len(X), -1).astype(np.float64)
        d = flat.shape[1]
        mode = self.config.renormalise
        renorm = torch.tensor([_RENORM_CODES[_detect_renorm(flat) if mode == "auto" else mode]])
        quantiles = None
        if self.config.marginals == "quantile":  # the model works on normal scores (see _normal_scores)
            quantiles = _feature_quantiles(flat)
            flat = _normal_scores(flat, quantiles)
        space = _fit_space(flat, self._k(d), self.config.level)
        probe = CVAENet(d, self._k(d), 1, 1, [1], False, 0.0, 0)
        with torch.no_grad():
            for key in ("x_mean", "x_scale", "basis", "u_mean", "u_scale"):
                getattr(probe, key).copy_(torch.as_tensor(space[key], dtype=torch.float32))
            level = torch.as_tensor(space["level"], dtype=torch.float32) if "level" in space else None
            U, rest = probe.split(torch.as_tensor(flat, dtype=torch.float32), level)
        state = {"space": space, "u_train": U.numpy(), "rest": rest, "renorm": renorm, "flat": flat}
        if quantiles is not None:
            state["quantiles"] = torch.as_tensor(quantiles, dtype=torch.float32)
        return U.numpy(), state

    def after_fit(self, job: FitJob) -> None:
        # early stopping needed the validation part; the latent density and the textures are
        # fitted on all training samples, so no training sample is left out of the synthetic data
        cfg = self.config
        module = self.module
        module.eval()
        X, c, rest = job.X_all, job.c_all, job.state["rest"]
        extra: dict[str, torch.Tensor] = {"renorm": job.state["renorm"]}
        if "quantiles" in job.state:
            extra["marg_q"] = job.state["quantiles"]
            self.extra_ = extra  # generate() maps back through them during the calibration below
        if cfg.span in _SPANS:  # before the calibration below, which draws through generate() ("class_after": unprojected)
            extra.update(_class_spans(job.state["flat"], c, module.n_classes))
        mu, logvar = module.encode(X, c)
        level = module.level(X)
        sampler = self.sampler().fit(mu, logvar, c, module.n_classes, attached=level, seed=job.seed)
        extra.update(_sampler_to_extra(sampler.state_dict()))
        mean, dec_logvar = module.decode(mu, c, level)
        if module.k > 0 and cfg.whiten == "loo":
            extra.update(_leverage_state(_principal_coords(module, X)))
        scale = self._residual_scale(dec_logvar, level, X[:, : module.D_out], extra)
        if module.k > 0 and cfg.whiten == "level_checked":
            scale = _checked_levels(scale, _principal_coords(module, X), c)
        w = (X[:, : module.D_out] - mean) / scale
        local = cfg.texture_draw in _LOCAL_DRAWS  # every training residual kept, in its class's order (no subset)
        extra.update(_prefixed("tex", fit_class_gaussians(w, c, module.n_classes, cfg.texture_rank, cfg.texture_cov,
                                                          job.seed, boot=cfg.texture_draw != "gaussian",
                                                          **({"max_cells": max(1 << 22, w.numel())} if local else {}))))
        if local:
            extra.update(_residual_neighbours(mu, c, module.n_classes))
        if cfg.texture_draw in _BALANCED_DRAWS:
            extra.update(_balanced_neighbours(extra["tex_nn"], extra["tex_nnk"], c))
        if cfg.texture_draw == "local_auto":  # 1: the class draws locally (it has more codes than latent dimensions)
            extra["tex_local"] = enough_codes(c, module.n_classes, mu.shape[1])
        elif cfg.texture_draw == "local_checked":  # ... and its balanced neighbourhoods are sound (local_checks)
            extra["tex_local"] = local_checks(extra, c, module.n_classes, mu.shape[1])["local"]
        if module.k > 0:
            keep = cfg.rest_draw == "local"  # every training rest kept, in its class's order (rest_boot: their factor)
            extra.update(_prefixed("rest", fit_class_gaussians(rest, c, module.n_classes, cfg.texture_rank, cfg.texture_cov,
                                                               job.seed, boot=cfg.texture_draw == "bootstrap" or keep,
                                                               **({"max_cells": max(1 << 22, rest.numel())} if keep else {}))))
        self.extra_ = extra
        # "kde": the kernel width per class, measured on samples of this very model (in model space)
        ref = module.merge(X, rest if module.k > 0 else None)
        if "marg_q" in extra:  # samples and training spectra compared in the data's own space
            ref = _from_normal_scores(ref, extra["marg_q"])
        self.calibrating_ = True  # generate() draws with the calibrating sampler's pick (_latent_sampler)
        try:
            sampler.calibrate(self.generate, ref, c, seed=job.seed)
        finally:
            self.calibrating_ = False

    @classmethod
    def load(cls, path: str | Path) -> VaelabCVAE:
        self = super().load(path)
        if (self.config.marginals == "quantile") != ("marg_q" in self.extra_):
            raise InputError(f"{path}: marginals = {self.config.marginals!r} does not match the weights (marg_q)")
        _check_spans(self.extra_, self.config.span, self.module.d, len(self.classes_), path)
        draw = self.config.texture_draw
        need = ((("tex_nn",) if draw in _LOCAL_DRAWS else ()) + (("tex_bn", "tex_bw") if draw in _BALANCED_DRAWS else ())
                + (("tex_local",) if draw in _GATED_DRAWS else ())
                + (("rest_boot",) if self.config.rest_draw == "local" and self.module.k > 0 else ()))
        if any(key not in self.extra_ for key in need):
            raise InputError(f"{path}: texture_draw = '{draw}', rest_draw = '{self.config.rest_draw}' needs "
                             f"{', '.join(need)} in the weights")
        if draw in _BALANCED_DRAWS and self.extra_["tex_bn"].shape != self.extra_["tex_bw"].shape:
            raise InputError(f"{path}: texture_draw = '{draw}': tex_bn and tex_bw of different shapes")
        if draw in _GATED_DRAWS and self.extra_["tex_local"].shape != (len(self.extra_["tex_mean"]),):
            raise InputError(f"{path}: texture_draw = '{draw}': tex_local must hold one value per class")
        self._latent_sampler(path)  # refuse weights without the sampler's state now, not when sampling
        return self

    def _latent_sampler(self, path: Any = None) -> Any:
        """The fitted latent sampler, its state read from (and shared with) ``extra_``; while :meth:`after_fit`
        calibrates the kernel, marked as calibrating (``pick = "balanced_zero"`` then picks with replacement)."""
        try:
            sampler = self.sampler().load_state_dict(_sampler_from_extra(self.extra_))
        except InputError as e:
            raise InputError(f"{path or self.name}: {e}") from None
        if self.calibrating_:
            sampler.calibrating = True
        return sampler

    def _residual_scale(self, logvar: torch.Tensor, level: torch.Tensor | None, u: torch.Tensor | None = None,
                        extra: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """What the residuals of the decoded coordinates are divided by before their Gaussian is fitted.

        ``u`` (n, D_out): the standardised principal coordinates (``whiten = "loo"``: their leverage,
        with ``extra``'s ``lev_lam`` and ``lev_floor``, :func:`_leverage_state`)."""
        mode = self.config.whiten
        if mode in ("level", "level_checked", "loo") and level is not None:
            m = self.module
            s = torch.exp(level * m.u_scale[m.D_out :] + m.u_mean[m.D_out :])
            if mode != "loo":  # "level_checked": its training rows' correction is after_fit's (_checked_levels)
                return s
            # the leave-one-out level s / (1 - h) (see _noise_levels), h the leverage of the coordinates
            ex = self.extra_ if extra is None else extra
            a = _principal_coords(m, u)
            h = (a.pow(2) / ex["lev_lam"].clamp_min(_TINY)).sum(dim=1, keepdim=True)
            return s / (1 - h).clamp_min(max(float(ex["lev_floor"][0]), 1e-3))
        if mode == "none":
            return torch.ones_like(logvar)
        return torch.exp(0.5 * logvar)

    def _draw(self, prefix: str, c: torch.Tensor, gen: torch.Generator, avoid: torch.Tensor | None = None,
              boot: bool = True) -> torch.Tensor:
        """Draws from the per-class residual Gaussians ``prefix``: for ``noise = "texture"`` with the
        class's full empirical covariance (``texture_cov = "empirical"``: a Gaussian combination of
        the centred training residuals) or mean + low rank + diagonal (``"lowrank"``); for
        ``noise = "decoder"`` independent, with the same per-coordinate variance. ``avoid`` (len(c),): for
        the residual bootstrap, the row of its class (position among the class's training rows) each
        sample must not take: that of the training spectrum its code was drawn from, whose own residual
        would rebuild that spectrum (-1: none). ``boot = False``: the Gaussian even where the rows are kept
        for a bootstrap."""
        mean = self.extra_[f"{prefix}_mean"]
        rows = self.extra_.get(f"{prefix}_rows")
        if rows is None:
            basis, psi = self.extra_[f"{prefix}_basis"], self.extra_[f"{prefix}_psi"]
            var = psi + basis.pow(2).sum(dim=2)
        else:
            var = rows.pow(2).sum(dim=1)
        out = torch.empty(len(c), mean.shape[1])
        for k in torch.unique(c).tolist():
            where = torch.nonzero(c == k).flatten()
            if self.config.noise != "texture":
                out[where] = torch.sqrt(var[k] + mean[k].pow(2)) * torch.randn(len(where), mean.shape[1], generator=gen)
            elif rows is not None and boot and f"{prefix}_boot" in self.extra_:
                # one of the class's training residuals, drawn at random (a residual bootstrap)
                nk, mult = self.extra_[f"{prefix}_boot"][k].tolist()
                if avoid is not None and int(nk) > 1:  # one of the other rows
                    idx = torch.randint(int(nk) - 1, (len(where),), generator=gen)
                    idx = idx + ((idx >= avoid[where]) & (avoid[where] >= 0)).long()
                else:
                    idx = torch.randint(max(int(nk), 1), (len(where),), generator=gen)
                out[where] = mean[k] + rows[k, idx] * mult
            elif rows is not None:
                out[where] = mean[k] + torch.randn(len(where), rows.shape[1], generator=gen) @ rows[k]
            else:
                a = torch.randn(len(where), basis.shape[2], generator=gen)
                e = torch.randn(len(where), mean.shape[1], generator=gen)
                out[where] = mean[k] + a @ basis[k].T + torch.sqrt(psi[k]) * e
        return out

    def _local_residual(self, prefix: str, c: torch.Tensor, rows: torch.Tensor | None, tc: torch.Tensor | None,
                        gen: torch.Generator, max_cells: int = 1 << 27) -> torch.Tensor:
        """Residuals drawn around the training row ``rows`` each code was drawn from, (len(c), width of ``prefix``).

        ``prefix = "tex"`` (``texture_draw = "local"``): the whitened decoded-coordinate residuals, each from the local
        Gaussian of the residuals of the nearest other codes (:func:`_local_draw`; ``"local_balanced"``: the balanced
        neighbourhood's weighted Gaussian, :func:`_weighted_draw`; ``"local_auto"``, ``"local_checked"``: that in the
        classes whose ``tex_local`` is 1, elsewhere the class-wide Gaussian with the same call and random numbers as
        ``"gaussian"``). ``prefix = "rest"`` (``rest_draw = "local"``, which needs a balanced ``texture_draw``): the rest
        outside the axes ``r / s`` from the same balanced neighbourhood and weights, in the same classes. The class-wide
        Gaussian where the sampler names no training rows.

        The rest goes with its own spectrum's signal: on a Raman validation split (arpls+savgol+vector / d1) real
        principal parts with the class-wide synthetic rest score C2ST 0.65 / 0.64, synthetic principal parts with a
        random real rest of the class 0.82 / 0.83 (``benchmarks/RESULTS.md``, issue 16, session 14)."""
        if rows is None or tc is None:
            return self._draw(prefix, c, gen, boot=False)
        pos = class_positions(torch.arange(len(tc)), tc)  # each training row's position in its class
        out = torch.empty(len(c), self.extra_[f"{prefix}_mean"].shape[1])
        for k in torch.unique(c).tolist():
            where = torch.nonzero(c == k).flatten()
            if self.config.texture_draw in _GATED_DRAWS and not bool(self.extra_["tex_local"][k] > 0):
                out[where] = self._draw(prefix, c[where], gen, boot=False)  # as "gaussian" draws this class
                continue
            res = class_residuals(self.extra_, k, prefix)
            if self.config.texture_draw in _BALANCED_DRAWS:
                out[where] = _weighted_draw(res, pos[self.extra_["tex_bn"][rows[where]]], self.extra_["tex_bw"][rows[where]],
                                            gen, max_cells)
                continue
            near = pos[self.extra_["tex_nn"][rows[where], : int(self.extra_["tex_nnk"][k])]]
            out[where] = _local_draw(res, near, gen)
        return out

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        module = self.module
        sampler = self._latent_sampler()
        if hasattr(sampler, "sample_rows"):  # samplers that draw around training codes say which ones
            z, level, rows = sampler.sample_rows(c, gen)
        else:
            (z, level), rows = sampler.sample(c, gen), None
        mean, logvar = module.decode(z, c, level)
        if self.config.noise == "none":
            u, rest = mean, None
        else:
            # a bootstrapped residual never comes from the training spectrum the code was drawn from
            tc = sampler.state.get("train_class")
            avoid = class_positions(rows, tc) if self.config.texture_draw != "gaussian" else None
            if self.config.texture_draw in _LOCAL_DRAWS and self.config.noise == "texture":
                tex = self._local_residual("tex", c, rows, tc, gen)  # noise = "decoder": independent noise (_draw), not the local draw
            else:
                tex = self._draw("tex", c, gen, avoid)
            u = mean + self._residual_scale(logvar, level, mean) * tex
            if module.k == 0:
                rest = None
            elif self.config.rest_draw == "local" and self.config.noise == "texture":
                rest = self._local_residual("rest", c, rows, tc, gen, max_cells=1 << 24)
            else:
                rest = self._draw("rest", c, gen, avoid)
        if level is not None:
            u = torch.cat([u, level], dim=1)
        x = module.merge(u, rest)
        if self.config.span == "class" or (self.config.span == "class_after" and not self.calibrating_):
            x = _project_spans(x, c, self.extra_)  # consumes no random numbers: the draws after it are unchanged
        if "marg_q" in self.extra_:
            x = _from_normal_scores(x, self.extra_["marg_q"])
        code = int(self.extra_.get("renorm", torch.tensor([0]))[0])
        return _renormalise(x, _RENORM_NAMES.get(code, "none"))


# ---------------------------------------------------------------------- helpers
_SPAN_KEYS = ("span_mean", "span_basis", "span_rank")
_SPANS = ("class", "class_after")  # the span values that project (and store _SPAN_KEYS)


def _class_spans(flat: np.ndarray, c: torch.Tensor, n_classes: int) -> dict[str, torch.Tensor]:
    """For ``span = "class"``: per class k, the mean ``m_k`` of its training rows ``flat`` (n, d) (the data space
    :meth:`VaelabCVAE.generate` works in before the marginals and the renormalisation: the data as trained on, their
    normal scores with ``marginals = "quantile"``) and an orthonormal basis ``Q_k`` of its centred rows, in float64:
    ``span_mean`` (n_classes, d), ``span_basis`` (n_classes, d, R), ``span_rank`` (n_classes,) int64 (the numerical
    rank r_k: the singular values above ``numpy.linalg.matrix_rank``'s default tolerance, largest x max(n_k, d) x eps,
    taking the uncentred rows' largest singular value where it is larger, so that the rounding of the centring does not
    count as a direction; on spectra the two agree, equal rows give rank 0; ``Q_k`` = the first r_k right singular vectors, zero-padded to R, the largest rank below d, at least 1). A class of
    full rank d (more rows than features) spans the whole space: it is stored with r_k = d and zeros, and its samples
    are left as they are. A class whose rows are all equal (rank 0; a fit needs 2 rows per class) has the single point
    ``m_k`` as its hull: its samples become that point."""
    flat = np.asarray(flat, dtype=np.float64)
    n, d = flat.shape
    cn = c.numpy()
    means, bases, ranks = np.zeros((n_classes, d)), [], np.zeros(n_classes, dtype=np.int64)
    for k in range(n_classes):
        rows = flat[cn == k]
        if not len(rows):
            bases.append(np.zeros((d, 0)))
            continue
        means[k] = rows.mean(axis=0)
        _, sv, vt = np.linalg.svd(rows - means[k], full_matrices=False)
        # matrix_rank's tolerance, but never below that of the uncentred rows: centring leaves rounding errors of the
        # rows' own size, which would count as a direction in a class of equal rows
        top = max(float(sv.max(initial=0.0)), float(np.linalg.norm(rows, 2)))
        tol = top * max(rows.shape) * np.finfo(np.float64).eps
        ranks[k] = int((sv > tol).sum())
        bases.append(vt[: ranks[k]].T if ranks[k] < d else np.zeros((d, 0)))
    width = max(1, max(b.shape[1] for b in bases))
    basis = np.zeros((n_classes, d, width))
    for k, b in enumerate(bases):
        basis[k, :, : b.shape[1]] = b
    return {"span_mean": torch.as_tensor(means), "span_basis": torch.as_tensor(basis), "span_rank": torch.as_tensor(ranks)}


def _project_spans(x: torch.Tensor, c: torch.Tensor, extra: dict[str, torch.Tensor]) -> torch.Tensor:
    """``span = "class"``: every sample ``x`` (m, d) of class k replaced by ``m_k + Q_k Q_k^T (x - m_k)``, its projection
    onto the affine hull of class k's training rows (:func:`_class_spans`), computed in float64; classes of full rank d
    are left as they are. A point where every training row of the class has the same value keeps that value."""
    mean, basis, rank = extra["span_mean"], extra["span_basis"], extra["span_rank"]
    out = x.clone()
    d = x.shape[1]
    for k in torch.unique(c).tolist():
        r = int(rank[k])
        if r >= d:
            continue
        where = torch.nonzero(c == k).flatten()
        m, Q = mean[k].double(), basis[k, :, :r].double()
        out[where] = (m + ((x[where].double() - m) @ Q) @ Q.T).to(x.dtype)
    return out


def _check_spans(extra: dict[str, torch.Tensor], span: str, d: int, n_classes: int, path: Any) -> None:
    """On load: ``span = "class"`` or ``"class_after"`` needs :func:`_class_spans`'s tensors, of the model's shapes;
    ``"none"`` none."""
    have = [key for key in _SPAN_KEYS if key in extra]
    if span not in _SPANS:
        if have:
            raise InputError(f"{path}: span = {span!r} does not match the weights ({', '.join(have)})")
        return
    if len(have) < len(_SPAN_KEYS):
        raise InputError(f"{path}: span = {span!r} needs {', '.join(_SPAN_KEYS)} in the weights")
    mean, basis, rank = (extra[key] for key in _SPAN_KEYS)
    if (mean.shape != (n_classes, d) or basis.ndim != 3 or basis.shape[:2] != (n_classes, d)
            or rank.shape != (n_classes,) or bool((rank < 0).any()) or bool(((rank > basis.shape[2]) & (rank < d)).any())):
        raise InputError(f"{path}: span = {span!r}: span_mean, span_basis, span_rank of the wrong shapes or ranks")

def _residual_neighbours(mu: torch.Tensor, c: torch.Tensor, n_classes: int) -> dict[str, torch.Tensor]:
    """For ``texture_draw = "local"``: ``tex_nn`` (n, K), each training row's nearest other training rows of its
    class by posterior mean (nearest first; :func:`vaelab.samplers.kde.class_neighbours`), and ``tex_nnk``
    (n_classes,), how many of them a class uses: ``k = round(sqrt(n_k))`` (at least 1, at most ``n_k - 1``), the
    choice of Lall & Sharma (1996, "A nearest neighbor bootstrap for resampling hydrologic time series", Water
    Resour. Res. 32(3), 679-693); ``K`` the largest ``k``."""
    counts = torch.bincount(c, minlength=n_classes)[:n_classes].double()
    k = torch.clamp(torch.minimum(torch.round(counts.sqrt()), counts - 1), min=1.0)
    return {"tex_nn": class_neighbours(mu, c, int(k.max())), "tex_nnk": k.float()}


def _local_draw(res: torch.Tensor, near: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One draw per row of ``near`` (m, k) (positions in ``res`` (n, D)) from the Gaussian with the mean and
    the sample covariance of those k residuals: ``rbar + sum_j w_j (r_j - rbar) / sqrt(k - 1)``, ``w_j ~
    N(0, 1)`` (k = 1: that residual), (m, D). Uses ``m * k`` normal numbers of ``gen``.

    The k-nearest-neighbour conditional mean and covariance of the residual given the code (a local Gaussian):
    a code without a band gets small residuals at the band, and over the codes the residual is a scale /
    location mixture (skewed where the data are), while no sample carries one training spectrum's residual
    (``benchmarks/RESULTS.md``, issue 16, session 10)."""
    r = res[near].double()  # (m, k, D)
    rbar = r.mean(dim=1)
    k = near.shape[1]
    w = torch.randn(near.shape, generator=gen, dtype=torch.float64) / math.sqrt(max(k - 1, 1))
    return (rbar + torch.einsum("mk,mkd->md", w, r - rbar.unsqueeze(1))).float()


def class_residuals(extra: dict[str, torch.Tensor], k: int, prefix: str = "tex") -> torch.Tensor:
    """Class ``k``'s whitened training residuals (n_k, D), in its order, from the weights ``extra`` of a fit that keeps
    every one (``texture_draw`` "local", "local_balanced", "local_auto", "local_checked": ``tex_rows`` x
    ``tex_boot``'s multiplier plus ``tex_mean``; ``prefix = "rest"``: the rests ``r / s`` outside the axes, kept with
    ``rest_draw = "local"``)."""
    nk, mult = extra[f"{prefix}_boot"][k].tolist()
    return extra[f"{prefix}_mean"][k] + extra[f"{prefix}_rows"][k, : int(nk)] * mult


def _balanced_neighbours(nn: torch.Tensor, nnk: torch.Tensor, c: torch.Tensor, max_iter: int = 5000,
                         tol: float = 1e-10) -> dict[str, torch.Tensor]:
    """For ``texture_draw = "local_balanced"``: ``tex_bn`` (n, M), each training row's balanced neighbourhood (training
    row indices; padding repeats the first one with weight 0) and ``tex_bw`` (n, M), its weights (each row sums to 1).

    The neighbourhood of row i is symmetrised, ``N_i = kNN(i) U {j : i in kNN(j)}`` (never i; ``nn`` / ``nnk``: the
    table and the k per class of :func:`_residual_neighbours`), so every row belongs to the neighbourhoods of its own
    k nearest codes, also a row that is nobody's nearest. The weights start at 1 / (the number of neighbourhoods row j
    belongs to) and are made doubly stochastic by Sinkhorn-Knopp alternation (rows, columns; at most ``max_iter``
    rounds, to ``tol``; the last step always normalises the rows). With the sampler picking the code's training row
    uniformly, row j's share of the residuals' marginal is the mean of its column, 1 / n_k: by the law of total variance
    the local means' spread plus the mean local covariance (:func:`_weighted_draw`) is then the class's covariance of
    its residuals (denominator n_k), while mean and covariance still follow the code (issue 16, session 12). Exact where
    the pattern admits a doubly stochastic matrix (Hall's condition: every m rows reach at least m others); where it
    does not (in small classes: m rows whose k nearest codes all lie among fewer than m rows) the shares are
    Sinkhorn's approximation after ``max_iter`` rounds."""
    n = len(c)
    nbrs: list[torch.Tensor] = [torch.empty(0, dtype=torch.long)] * n
    wts: list[torch.Tensor] = [torch.empty(0, dtype=torch.float64)] * n
    for k in torch.unique(c).tolist():
        idx = torch.nonzero(c == k).flatten()
        m = len(idx)
        if m < 2:
            nbrs[int(idx[0])], wts[int(idx[0])] = idx[:1], torch.ones(1, dtype=torch.float64)
            continue
        where = torch.full((n,), -1, dtype=torch.long)
        where[idx] = torch.arange(m)
        A = torch.zeros(m, m, dtype=torch.float64)
        A[torch.arange(m).unsqueeze(1), where[nn[idx, : int(nnk[k])]]] = 1.0
        A = torch.maximum(A, A.T)
        A.fill_diagonal_(0.0)
        W = A / A.sum(dim=0, keepdim=True)  # 1 / how many neighbourhoods each row belongs to
        for _ in range(max_iter):
            W = W / W.sum(dim=1, keepdim=True)
            col = W.sum(dim=0, keepdim=True)
            if float((col - 1).abs().max()) < tol:
                break
            W = W / col
        else:  # the cap reached (no doubly stochastic matrix fits): each neighbourhood's weights still sum to 1
            W = W / W.sum(dim=1, keepdim=True)
        for i in range(m):
            j = torch.nonzero(A[i]).flatten()
            nbrs[int(idx[i])], wts[int(idx[i])] = idx[j], W[i, j]
    width = max(len(j) for j in nbrs)
    bn = torch.stack([torch.cat([j, j[:1].repeat(width - len(j))]) for j in nbrs])
    bw = torch.stack([torch.cat([w, w.new_zeros(width - len(w))]) for w in wts])
    return {"tex_bn": bn, "tex_bw": bw.float()}


def local_checks(extra: dict[str, torch.Tensor], c: torch.Tensor, n_classes: int, dim: int) -> dict[str, torch.Tensor]:
    """The gate of ``texture_draw = "local_checked"``, per class (n_classes,), from the balanced neighbourhoods
    ``tex_bn`` / ``tex_bw`` of :func:`_balanced_neighbours` in ``extra`` (``c``: the training rows' classes, ``dim``:
    latent dimensions): ``codes`` (1.0: more codes than ``dim``, :func:`vaelab.samplers.kde.enough_codes`),
    ``col_err`` (the largest deviation of a column sum of the final weights from 1: Sinkhorn's stopping quantity;
    > 1e-3: the balancing did not converge, no doubly stochastic weighting fits the pattern), ``eff_min`` (the
    smallest effective neighbourhood size 1 / sum_j w_ij^2 over the class's rows; < 2: a sample drawn around that
    row gets nearly a copy of one training residual), ``balanced`` and ``eff_ok`` (1.0 where ``col_err`` / ``eff_min``
    pass) and ``local`` (1.0 where all three allow the local draw).

    ``"local_auto"`` gated by the count alone; on classes of 40 Raman spectra (a few patients' replicates) the
    balancing failed in 11 of 48 class-cells and 11 had a row of effective size ~1, and DCR fell below the
    memorisation line in one cell (``benchmarks/RESULTS.md``, issue 16, session 13)."""
    bn, bw = extra["tex_bn"], extra["tex_bw"].double()
    col = torch.zeros(len(c), dtype=torch.float64).index_add_(0, bn.flatten(), bw.flatten())
    eff = 1 / bw.pow(2).sum(dim=1)
    col_err = torch.zeros(n_classes, dtype=torch.float64)
    eff_min = torch.zeros(n_classes, dtype=torch.float64)
    for k in torch.unique(c).tolist():
        col_err[k] = (col[c == k] - 1).abs().max()
        eff_min[k] = eff[c == k].min()
    codes = enough_codes(c, n_classes, dim)
    balanced, eff_ok = (col_err <= _CHECK_COL_TOL).float(), (eff_min >= _CHECK_MIN_EFF).float()
    return {"codes": codes, "col_err": col_err, "eff_min": eff_min, "balanced": balanced, "eff_ok": eff_ok,
            "local": codes * balanced * eff_ok}


def _weighted_draw(res: torch.Tensor, near: torch.Tensor, w: torch.Tensor, gen: torch.Generator,
                   max_cells: int = 1 << 27) -> torch.Tensor:
    """One draw per row of ``near`` (m, M) (positions in ``res`` (n, D)) with weights ``w`` (m, M) (rows summing to
    1): ``m_i + sum_j sqrt(w_ij) g_j (r_j - m_i)``, ``m_i = sum_j w_ij r_j``, ``g_j ~ N(0, 1)``: a Gaussian with the
    weighted mean and weighted second moment about it, ``C_i = sum_j w_ij (r_j - m_i)(r_j - m_i)^T``, (m, D). Uses
    ``m * M`` normal numbers of ``gen`` (drawn at once). The (rows, M, D) neighbour residuals are gathered in row blocks
    of at most ``max_cells`` numbers (a hub row's neighbourhood can hold hundreds of rows in a class of thousands);
    below that, one block."""
    w = w.double()
    g = torch.randn(near.shape, generator=gen, dtype=torch.float64) * w.sqrt()
    step = max(1, max_cells // max(1, near.shape[1] * res.shape[1]))
    out = []
    for a in range(0, max(len(near), 1), step):
        r = res[near[a : a + step]].double()  # (rows, M, D)
        mean = torch.einsum("mk,mkd->md", w[a : a + step], r)
        out.append(mean + torch.einsum("mk,mkd->md", g[a : a + step], r - mean.unsqueeze(1)))
    return torch.cat(out).float()


def class_positions(pick: torch.Tensor | None, tc: torch.Tensor | None) -> torch.Tensor | None:
    """For each drawn code, the position of the training row ``pick`` (n,) it came from among the rows
    of its class (``tc``: the training rows' classes; the order :func:`fit_class_gaussians` keeps them
    in), (n,); None if the sampler does not draw from training rows."""
    if pick is None or tc is None:
        return None
    pos = torch.zeros(len(tc), dtype=torch.long)
    for k in torch.unique(tc).tolist():
        where = tc == k
        pos[where] = torch.arange(int(where.sum()))
    return pos[pick]


def _feature_quantiles(flat: np.ndarray, max_levels: int = 1000) -> np.ndarray:
    """Quantiles (M, d) of every feature of ``flat`` (n, d) at the levels ``(m + 0.5) / M``,
    ``M = min(n, max_levels)`` (Hazen's plotting positions: with ``M = n`` row m holds each feature's
    (m + 1)-th smallest value)."""
    m = min(len(flat), max_levels)
    return np.quantile(flat, (np.arange(m) + 0.5) / m, axis=0, method="hazen")


def _normal_scores(flat: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Per-feature normal scores ``Phi^-1(F(x))`` of ``flat`` (n, d), ``F`` the piecewise-linear
    distribution function through ``quantiles`` (M, d) (:func:`_feature_quantiles`); values outside
    the training range are clipped to its ends, tied values get the mid-rank (as scikit-learn's
    ``QuantileTransformer``: the mean of the forward and backward interpolation). Returns (n, d).

    The model then works on a Gaussian copula of the data: whatever per-point distribution the
    features have (bounded below after a baseline removal, heavy-tailed in derivative spectra), the
    samples get it back in :func:`_from_normal_scores`, the exact inverse on the training range."""
    from scipy.special import ndtri

    m = len(quantiles)
    pos = np.arange(m, dtype=np.float64)
    out = np.empty_like(flat, dtype=np.float64)
    for j in range(flat.shape[1]):
        q = quantiles[:, j]
        fwd = np.interp(flat[:, j], q, pos)
        bwd = -np.interp(-flat[:, j], -q[::-1], -pos[::-1])
        out[:, j] = 0.5 * (fwd + bwd)
    return ndtri((out + 0.5) / m)


def _from_normal_scores(z: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_normal_scores`: ``F^-1(Phi(z))`` per feature, ``z`` (n, d), ``quantiles``
    (M, d); the result lies in each feature's training range. Returns (n, d), float32."""
    m, d = quantiles.shape
    q = quantiles.double()
    if m == 1:
        return q.expand(len(z), d).float().clone()
    t = (torch.special.ndtr(z.double()) * m - 0.5).clamp(0.0, m - 1.0)
    lo = t.floor().long().clamp(max=m - 2)
    w = t - lo
    cols = torch.arange(d)
    return (q[lo, cols] * (1 - w) + q[lo + 1, cols] * w).float()


def _fit_space(flat: np.ndarray, k: int, level: str = "in_sample") -> dict[str, np.ndarray]:
    """Feature statistics and the principal axes of the z-scored training data; with
    ``level = "loo"`` also every training spectrum's leave-one-out noise level (``level``, (n,),
    :func:`_noise_levels`), from which the statistics of ``log s`` are taken."""
    n, d = flat.shape
    mean = flat.mean(axis=0)
    sd = flat.std(axis=0)
    # features with (almost) no spread: scale by the data's overall spread instead
    typical = max(float(sd.mean()), _TINY)
    scale = np.where(sd > typical * 1e-3, sd, typical)
    out = {"x_mean": mean, "x_scale": scale, "basis": np.zeros((d, k)), "u_mean": np.zeros(k + 1 if k else d),
           "u_scale": np.ones(k + 1 if k else d)}
    if k == 0:
        return out
    xs = torch.as_tensor((flat - mean) / scale)
    sv, axes = top_axes(xs, min(k, max((n - 1) // 2, 1)))
    # keep half of the degrees of freedom for the noise model; axes without variance stay zero
    k_eff = int((sv > sv[0] * 1e-6).sum()) if len(sv) and sv[0] > 0 else 0
    out["basis"][:, :k_eff] = axes[:, :k_eff].numpy()
    B = axes[:, :k_eff]
    s = _noise_levels(xs, B, loo=level == "loo")
    if level == "loo":
        out["level"] = s
    log_s = np.log(np.maximum(s, _LEVEL_FLOOR))
    out["u_mean"][k] = log_s.mean()
    out["u_scale"][k] = max(float(log_s.std()), 0.05)  # levels within 5 % of each other count as one
    return out


def _noise_levels(xs: torch.Tensor, B: torch.Tensor, loo: bool = True) -> np.ndarray:
    """Noise level of every row of the centred ``xs`` (n, d) outside the orthonormal axes ``B`` (d, K)
    that were fitted to those rows: ``s = |r| / sqrt(d - K)`` of the rest ``r = x - B B^T x``, (n,).

    In-sample, the axes absorb part of each spectrum's noise, the more the further the spectrum
    sticks out along them: with K axes from n spectra the residuals shrink by a factor ``1 - h``,
    ``h = sum_j a_j^2 / sum_i a_ij^2`` the spectrum's leverage (its share of the variance along
    each axis; ``sum h = K``). With K near n / 2 (few spectra) some ``h`` approach 1, and a
    spectrum whose noise the axes absorbed looks noise-free: on 39 coffee spectra (K = 19) one
    level came out 0.0007 against 0.03-0.3 for the others. ``loo = True`` returns the
    leave-one-out level ``s / (1 - h)``, the PRESS residual of regression (Allen 1974) applied to
    the principal axes; on that set it matched the level against axes refitted without the
    spectrum to within 10 % (correlation of the logarithms 0.99; in-sample 0.24).
    """
    a = xs @ B
    r = xs - a @ B.T
    s = (r.norm(dim=1) / math.sqrt(max(xs.shape[1] - B.shape[1], 1))).numpy()
    if not loo or B.shape[1] == 0:
        return s
    return s / np.clip(1.0 - _leverage(a), 1.0 / xs.shape[0], None)


def _leverage_state(a: torch.Tensor) -> dict[str, torch.Tensor]:
    """For ``whiten = "loo"``: ``lev_lam`` (K,), the training scores' sum of squares per axis, and
    ``lev_floor`` (1,), the smallest ``1 - h`` of the training spectra (a new point's ``1 - h`` is
    clamped there: out of sample, ``h`` can exceed 1). ``a`` (n, K): centred principal coordinates."""
    lam = a.double().pow(2).sum(dim=0).float()
    h = (a.pow(2) / lam.clamp_min(_TINY)).sum(dim=1)
    return {"lev_lam": lam, "lev_floor": (1 - h).min().reshape(1)}


def _principal_coords(net: CVAENet, u: torch.Tensor) -> torch.Tensor:
    """The centred principal coordinates (n, K) of the standardised model-space rows ``u`` (their first K columns,
    un-standardised): what the axes were fitted to, for the leverage of ``whiten = "loo"`` / ``"level_checked"``."""
    return u[:, : net.k] * net.u_scale[: net.k] + net.u_mean[: net.k]


def _checked_levels(s: torch.Tensor, a: torch.Tensor, c: torch.Tensor, tol: float = _CLIP_TOL) -> torch.Tensor:
    """For ``whiten = "level_checked"``: the training rows' noise levels ``s`` (n, 1), except that a row at the
    leverage bound gets the median level of the other rows of its class (those not at the bound; its own level where
    there are none). ``a`` (n, K): the centred principal coordinates the axes were fitted to; ``c`` (n,): classes.

    The leverage of a row of n centred rows is at most ``1 - 1/n`` (the hat matrix of centred scores plus ``1/n``
    has a diagonal <= 1); a row there (``n (1 - h) <= 1 + tol``, ``tol`` for float32 rounding) spans an axis of its
    own, the axes absorb it and its in-sample rest, hence its level, is not a measurement of its noise (coffee
    spectrum 42 in arpls+savgol+vector: 0.0007 against 0.063-0.084 for its class; its decoder misfit divided by that
    level became its class's whole residual Gaussian, ``benchmarks/RESULTS.md``, issue 16, session 15). Rows below the
    bound keep their levels, so a set without such a row is whitened exactly as with ``"level"``."""
    h = _leverage(a.double())
    at_bound = torch.as_tensor(len(a) * (1.0 - h) <= 1.0 + tol)
    if not bool(at_bound.any()):
        return s
    out = s.clone()
    for k in torch.unique(c[at_bound]).tolist():
        others = (c == k) & ~at_bound
        if bool(others.any()):
            out[(c == k) & at_bound] = torch.quantile(s[others].double(), 0.5).to(s.dtype)
    return out


def _leverage(a: torch.Tensor) -> np.ndarray:
    """Leverage ``h_i = sum_j a_ij^2 / sum_i a_ij^2`` of every row of the centred scores ``a`` (n, K):
    the diagonal of the hat matrix of the scores, (n,); ``sum h = K`` (the axes with any variance)."""
    lam = a.pow(2).sum(dim=0)
    return (a.pow(2) / lam.clamp_min(_TINY)).sum(dim=1).numpy()


def _ppca_init(net: CVAENet, u: np.ndarray) -> None:
    """Start as probabilistic PCA of ``u``: linear paths from its principal axes, MLP outputs at zero.

    Decoder ``mean = W z`` with ``W = V (Lambda - s2)^1/2``; encoder ``z_mean = P u`` with
    ``P = (Lambda - s2)^1/2 Lambda^-1 V^T`` and log-variance ``log(s2 / Lambda)`` (the PPCA
    posterior, Tipping & Bishop 1999); decoder log-variance = the expected squared error of a
    decoded posterior draw (the variance the axes leave unexplained + ``W (s2 / Lambda) W^T``).
    ``s2`` is the mean unexplained variance of the coordinates that vary at all; latent
    dimensions beyond the axes with variance above ``s2`` start unused (posterior = prior).
    """
    ut = torch.as_tensor(u[:, : net.D_out], dtype=torch.float64)
    uc = ut - ut.mean(dim=0)
    sv, Vd = top_axes(uc, net.latent)
    lam = (sv**2 / max(len(u) - 1, 1)).numpy()
    rest_var = (uc - (uc @ Vd) @ Vd.T).var(dim=0, unbiased=False).numpy()
    varying = uc.var(dim=0, unbiased=False).numpy() > _TINY
    s2 = max(float(rest_var[varying].mean()) if varying.any() else 0.0, _TINY)
    q = int((lam > s2 * (1 + 1e-6)).sum())  # axes above the noise floor (sorted by variance)
    V, lam = Vd.numpy()[:, :q], lam[:q]
    # expected squared error of a decoded posterior draw: unexplained variance + W (s2 / Lambda) W^T
    err_var = rest_var + s2 * ((V**2) * ((lam - s2) / lam)).sum(axis=1)
    lam_t = torch.as_tensor(lam, dtype=torch.float32)
    gain = torch.sqrt(lam_t - s2)
    Vt = torch.as_tensor(V, dtype=torch.float32)
    L = net.latent
    net.dec_skip.weight.zero_()
    net.dec_skip.weight[:, :q] = Vt * gain
    net.enc_skip.weight.zero_()
    net.enc_skip.weight[:q, : net.D_out] = (Vt * (gain / lam_t)).T
    net.enc_out.weight.zero_()
    net.enc_out.bias.zero_()
    net.enc_out.bias[L : L + q] = torch.log(s2 / lam_t)
    net.dec_mean.weight.zero_()
    net.dec_mean.bias.copy_((ut.mean(dim=0) / net.u_sd[: net.D_out].double()).float())
    if net.hetero:
        last = net.dec_logvar[-1] if isinstance(net.dec_logvar, nn.Sequential) else net.dec_logvar
        last.weight.mul_(0.01)
        lo, hi = net.min_logvar, net.logvar_hi
        target = torch.log(torch.as_tensor(err_var, dtype=torch.float32) + _TINY)
        frac = torch.clamp((target - lo) / (hi - lo), 0.01, 0.99)
        last.bias.copy_(torch.log(frac / (1 - frac)))  # invert decode()'s bounds


def _prefixed(prefix: str, d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}_{k}": v for k, v in d.items()}


def _detect_renorm(flat: np.ndarray, tol: float = 1e-6) -> str:
    """Which per-sample normalisation every row of ``flat`` satisfies ("none" if none)."""
    if flat.shape[1] < 2:
        return "none"
    if np.all(np.abs(flat.min(axis=1)) <= tol) and np.all(np.abs(flat.max(axis=1) - 1) <= tol):
        return "minmax"
    if np.all(np.abs(np.linalg.norm(flat, axis=1) - 1) <= tol):
        return "l2"
    if np.all(np.abs(np.abs(flat).sum(axis=1) - 1) <= tol):
        return "l1"
    if np.all(np.abs(flat.mean(axis=1)) <= tol) and np.all(np.abs(flat.std(axis=1) - 1) <= tol):
        return "snv"
    return "none"


def _renormalise(x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "minmax":
        lo = x.min(dim=1, keepdim=True).values
        rng = x.max(dim=1, keepdim=True).values - lo
        return torch.where(rng > 0, (x - lo) / torch.where(rng > 0, rng, torch.ones_like(rng)), torch.zeros_like(x))
    if mode == "l2":
        return x / x.norm(dim=1, keepdim=True).clamp_min(_TINY)
    if mode == "l1":
        return x / x.abs().sum(dim=1, keepdim=True).clamp_min(_TINY)
    if mode == "snv":
        centred = x - x.mean(dim=1, keepdim=True)
        return centred / centred.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(_TINY)
    return x


def _sampler_to_extra(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Sampler state keys as stored in the weights (the attached value is the noise level: ``train_level``)."""
    return {("train_level" if k == "train_attached" else k): v for k, v in state.items()}


def _sampler_from_extra(extra: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {("train_attached" if k == "train_level" else k): v for k, v in extra.items()}


@functools.cache
def _compiled_elbo_terms():
    """:func:`_elbo_terms` through ``torch.compile`` (config ``compile = true``), compiled once per process."""
    return torch.compile(_elbo_terms, dynamic=True)
