"""Completion of missing pixels and denoising with a trained ``vaelab-image`` model.

Both condition on what is observed through the model's own likelihood, in [0, 1] pixel units:

* **MAP latent.** ``z* = argmin_z  -log p(x_obs | z, c) + |z|^2 / 2`` where ``p(x | z, c)`` is the decoder's
  per-pixel Gaussian (mean ``m(z)``, variance ``v(z)``) over the observed pixels only, with the noise
  variance ``sigma^2`` added for noisy inputs (``v + sigma^2``). Adam on ``z``, initialised by the encoder
  of the image with its missing pixels filled by the mean of its observed pixels, then refined by a few
  encode(observed + decoded) rounds (a fixed-point start; encoding a zero- or mean-filled image alone is
  what this replaces).
* **Posterior samples** (``samples > 1``): K chains of preconditioned MALA (Metropolis-adjusted Langevin,
  Roberts & Tweedie 1996) per image on the same log posterior, started at ``z*``, preconditioned by the
  encoder's posterior variance, step size adapted per chain during burn-in; each chain's last state is
  decoded.
* **Texture residual** (``samples > 1``): each decoded draw gets the model's whitened texture residual in the
  missing region, drawn from its Gaussian conditional given the residual at the observed pixels
  (:mod:`vaelab.modalities.image.texture`), so completions carry the uncertainty the decoder variance alone
  under-states.
* **Outputs.** Completion: observed pixels untouched, missing ones = decoder mean at ``z*``. Denoising:
  per pixel the Gaussian posterior mean of the clean value given the decoder's prediction ``N(m, v)`` and
  the observation ``N(x, sigma^2)``: ``(m sigma^2 + x v) / (v + sigma^2)`` (``combine=False``: ``m``).

The class of each image is its label when the labels are the run's classes; otherwise every class is
tried and the one with the lowest objective kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.models.base import encode_labels
from vaelab.models.image.pixels import from_nchw, to_nchw, to_unit
from vaelab.training.trainer import torch_threads

_LOG2PI = math.log(2 * math.pi)


@dataclass
class LatentFit:
    """Result of a MAP fit for a batch: codes ``z`` (n, L), decoder mean and variance (n, C, H, W), the
    objective per image (n,) and the class indices used (n,)."""

    z: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor
    objective: torch.Tensor
    c: torch.Tensor


def check_image_model(gen, what: str) -> None:
    """Refuse a run whose generator has no image posterior API (encoder + Gaussian decoder)."""
    from vaelab.models.image.vaelab_image import VaelabImage

    if not isinstance(gen, VaelabImage):
        raise InputError(f"{what} needs a run of vaelab-image (an image model with an encoder and a per-pixel "
                         f"Gaussian decoder); this run holds {getattr(gen, 'name', type(gen).__name__)}")


def _objective(module, z, u, obs, c, noise_var):
    mean, lv = module.decode(z, c)
    var = lv.exp() + noise_var
    nll = (0.5 * (torch.log(var) + (u - mean) ** 2 / var + _LOG2PI) * obs).flatten(1).sum(1)
    return nll + 0.5 * (z ** 2).sum(1), mean, var


def _start(module, u, obs, c, rounds: int = 3):
    n_obs = obs.flatten(1).sum(1).clamp(min=1)
    fill = ((u * obs).flatten(1).sum(1) / n_obs).view(-1, 1, 1, 1)
    x = torch.where(obs > 0, u, fill.expand_as(u))
    mu, logvar = module.encode(x, c)
    for _ in range(rounds):
        m, _ = module.decode(mu, c)
        mu, logvar = module.encode(torch.where(obs > 0, u, m), c)
    return mu, logvar


def map_latent(module, u: torch.Tensor, obs: torch.Tensor, c: torch.Tensor, noise_var: torch.Tensor | float = 0.0,
               *, steps: int = 200, lr: float = 0.05) -> LatentFit:
    """MAP code of each image ``u`` (n, C, H, W) in [0, 1] given observed pixels ``obs`` (same shape, 1 =
    observed) and class indices ``c`` (n,); ``noise_var`` (scalar or (n, 1, 1, 1)) is added to the decoder
    variance."""
    with torch.no_grad():
        mu, _ = _start(module, u, obs, c)
    z = mu.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        f, _, _ = _objective(module, z, u, obs, c, noise_var)
        f.sum().backward()
        opt.step()
    with torch.no_grad():
        f, mean, var = _objective(module, z, u, obs, c, noise_var)
    return LatentFit(z.detach(), mean, var, f, c)


def mala_samples(module, fit: LatentFit, u, obs, noise_var, k: int, gen: torch.Generator, *, burn: int = 150,
                 keep: int = 50, precond: torch.Tensor | None = None) -> torch.Tensor:
    """``k`` posterior draws of the code per image by preconditioned MALA started at the MAP code: (n, k, L)."""
    n, L = fit.z.shape
    rep = lambda t: t.repeat_interleave(k, dim=0)  # noqa: E731
    uu, oo, cc = rep(u), rep(obs), rep(fit.c)
    nv = rep(noise_var) if torch.is_tensor(noise_var) and noise_var.dim() > 0 else noise_var
    d = rep(precond) if precond is not None else torch.ones(n * k, L)
    eps = torch.full((n * k, 1), 0.5)

    def logp_grad(z):
        z = z.detach().requires_grad_(True)
        f, _, _ = _objective(module, z, uu, oo, cc, nv)
        (g,) = torch.autograd.grad(-f.sum(), z)
        return -f.detach(), g

    z = rep(fit.z) + 0.1 * d.sqrt() * torch.randn(n * k, L, generator=gen)
    lp, g = logp_grad(z)
    for it in range(burn + keep):
        step = eps * d
        prop = z + step * g + torch.sqrt(2 * step) * torch.randn(n * k, L, generator=gen)
        lp2, g2 = logp_grad(prop)
        fwd = -((prop - z - step * g) ** 2 / (4 * step)).sum(1)
        bwd = -((z - prop - step * g2) ** 2 / (4 * step)).sum(1)
        log_a = lp2 - lp + bwd - fwd
        acc = torch.log(torch.rand(n * k, generator=gen)) < log_a
        z = torch.where(acc[:, None], prop, z)
        lp = torch.where(acc, lp2, lp)
        g = torch.where(acc[:, None], g2, g)
        if it < burn:  # Robbins-Monro towards the MALA optimum acceptance 0.574
            eps = eps * torch.exp(0.1 * (acc.float()[:, None] - 0.574))
    return z.detach().view(n, k, L)


class ImagePosterior:
    """Completion and denoising with a fitted ``VaelabImage`` (see the module docstring).

    Images are in the run's scale (``unit=False``) or already in [0, 1] units (``unit=True``).
    """

    def __init__(self, gen, *, steps: int = 200, lr: float = 0.05, batch: int = 256, ridge: float = 1e-2,
                 nu: float | None = None):
        check_image_model(gen, "this command")
        self.gen, self.steps, self.lr, self.batch, self.ridge, self.nu = gen, steps, lr, batch, ridge, nu
        self.scale = gen.extra_["scale"]
        self.lo, self.hi = float(self.scale[0]), float(self.scale[1])

    # -- scale conversions ------------------------------------------------------------
    def to_unit_nchw(self, X: np.ndarray, unit: bool) -> torch.Tensor:
        flat = torch.as_tensor(np.asarray(X, np.float64).reshape(len(X), -1))
        u = flat if unit else to_unit(flat, self.scale)
        return to_nchw(u, self.gen.feature_shape_).float()

    def from_unit_nchw(self, u: torch.Tensor, unit: bool) -> np.ndarray:
        flat = from_nchw(u, self.gen.feature_shape_).double().numpy()
        x = flat if unit else self.lo + flat * (self.hi - self.lo)
        return x.reshape(len(u), *self.gen.feature_shape_)

    def classes(self, y: np.ndarray | None, n: int) -> list[torch.Tensor]:
        """Candidate class indices: the labels when they are the run's classes, else every class."""
        classes = self.gen.classes_
        if y is not None:
            try:
                return [torch.as_tensor(encode_labels(np.asarray(y), classes), dtype=torch.long)]
            except (InputError, KeyError, ValueError):
                pass
        return [torch.full((n,), k, dtype=torch.long) for k in range(len(classes))]

    # -- fits -------------------------------------------------------------------------
    def fit(self, u: torch.Tensor, obs: torch.Tensor, y, noise_var) -> LatentFit:
        module = self.gen.module
        parts = []
        nv_all = noise_var if torch.is_tensor(noise_var) else torch.full((len(u), 1, 1, 1), float(noise_var))
        for i in range(0, len(u), self.batch):
            sl = slice(i, i + self.batch)
            best = None
            for c in self.classes(None if y is None else np.asarray(y)[sl], len(u[sl])):
                f = map_latent(module, u[sl], obs[sl], c[: len(u[sl])], nv_all[sl], steps=self.steps, lr=self.lr)
                if best is None:
                    best = f
                else:
                    better = f.objective < best.objective
                    best = LatentFit(*(torch.where(better.view(-1, *[1] * (a.dim() - 1)), a, b)
                                       for a, b in zip((f.z, f.mean, f.var, f.objective, f.c),
                                                       (best.z, best.mean, best.var, best.objective, best.c), strict=True)))
            parts.append(best)
        return LatentFit(*(torch.cat([getattr(p, k) for p in parts]) for k in ("z", "mean", "var", "objective", "c")))

    def _run(self, fn):
        module = self.gen.module
        flags = [p.requires_grad for p in module.parameters()]
        module.eval().requires_grad_(False)
        try:
            with torch_threads():
                return fn()
        finally:
            for p, f in zip(module.parameters(), flags, strict=True):
                p.requires_grad_(f)

    def inpaint(self, X: np.ndarray, y, mask: np.ndarray, *, samples: int = 1, seed: int = 0,
                unit: bool = False, texture: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Complete images ``X`` (n, *shape) whose pixels ``mask`` (n, H, W; True = missing) are unknown.

        Returns the completion (n, *shape) (observed pixels exactly as given) and, with ``samples > 1``,
        ``samples`` posterior completions (n, samples, *shape) (else None): decoded posterior draws of the
        code plus, with ``texture`` (default), the model's residual in the missing region drawn conditionally
        on the observed residual (:mod:`vaelab.modalities.image.texture`; white noise for ``noise="white"``,
        nothing for ``noise="none"``).
        """
        from vaelab.modalities.image.masks import pixel_mask

        X = np.asarray(X)
        shape = self.gen.feature_shape_
        miss = pixel_mask(np.asarray(mask, bool), tuple(shape))

        def work():
            u = self.to_unit_nchw(np.where(miss, 0.0, X), unit)
            obs = self.to_unit_nchw((~miss).astype(np.float64), True)
            fit = self.fit(u, obs, y, 0.0)
            done = np.where(miss, self.from_unit_nchw(fit.mean, unit), X)
            if samples <= 1:
                return done, None
            means, logvars = self._draws(fit, u, obs, 0.0, samples, seed)
            if texture:
                means = self._add_residual(means, logvars, u, obs, fit.c, seed)
            dec = [self.from_unit_nchw(d, unit) for d in means]  # each (n, *shape)
            return done, np.stack([np.where(miss, d, X) for d in dec], axis=1)

        return self._run(work)

    def _draws(self, fit: LatentFit, u, obs, noise_var, k: int, seed: int) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(int(seed))
        module = self.gen.module
        out = []
        for i in range(0, len(u), self.batch):
            sl = slice(i, i + self.batch)
            part = LatentFit(fit.z[sl], fit.mean[sl], fit.var[sl], fit.objective[sl], fit.c[sl])
            with torch.no_grad():
                _, logvar = _start(module, u[sl], obs[sl], fit.c[sl])
            nv = noise_var[sl] if torch.is_tensor(noise_var) else noise_var
            z = mala_samples(module, part, u[sl], obs[sl], nv, k, gen, precond=logvar.exp())
            with torch.no_grad():
                m, lv = module.decode(z.flatten(0, 1), part.c.repeat_interleave(k))
            out.append((m.view(len(part.z), k, *m.shape[1:]), lv.view(len(part.z), k, *m.shape[1:])))
        allm, alllv = torch.cat([o[0] for o in out]), torch.cat([o[1] for o in out])
        return [allm[:, j] for j in range(k)], [alllv[:, j] for j in range(k)]

    def _add_residual(self, means, logvars, u, obs, c, seed: int) -> list[torch.Tensor]:
        """``mean + sd * r`` per draw with ``r`` in the missing pixels drawn given the observed residual."""
        from vaelab.modalities.image.texture import texture_models

        noise = getattr(self.gen.config, "noise", "none")
        models = texture_models(self.gen, self.ridge, self.nu)
        if models is None and noise != "white":
            return means
        rng = np.random.default_rng([int(seed), 12])
        m = torch.stack(means, 1).double()  # (n, k, C, H, W)
        sd = torch.exp(0.5 * torch.stack(logvars, 1).double())
        n, k = m.shape[:2]
        flat_u, flat_o = u.double().flatten(1).numpy(), obs.flatten(1).numpy() > 0
        fm, fs = m.flatten(2).numpy(), sd.flatten(2).numpy()
        out = fm.copy()
        for i in range(n):
            miss = ~flat_o[i]
            if not miss.any():
                continue
            if models is None:
                r = rng.standard_normal((k, int(miss.sum())))
            else:
                r_obs = (flat_u[i, ~miss] - fm[i][:, ~miss]) / fs[i][:, ~miss]
                r = models[int(c[i])].draw(miss, r_obs, rng)
            out[i][:, miss] = fm[i][:, miss] + fs[i][:, miss] * r
        res = torch.as_tensor(out).view_as(m).clamp(0, 1).float()
        return [res[:, j] for j in range(k)]

    def restore(self, X: np.ndarray, y, sigma: np.ndarray | float, *, unit: bool = False,
                combine: bool = True) -> np.ndarray:
        """Denoise images ``X`` (n, *shape) with additive Gaussian noise of standard deviation ``sigma``
        (scalar or (n,), in the units of ``X``). Returns (n, *shape), float, in the units of ``X``."""
        X = np.asarray(X, np.float64)
        sig = np.broadcast_to(np.asarray(sigma, np.float64), (len(X),))
        sig_u = sig if unit else sig / (self.hi - self.lo)

        def work():
            u = self.to_unit_nchw(X, unit)
            nv = torch.as_tensor(sig_u ** 2, dtype=torch.float32).view(-1, 1, 1, 1)
            fit = self.fit(u, torch.ones_like(u), y, nv)
            v = fit.var - nv
            est = (fit.mean * nv + u * v) / (v + nv) if combine else fit.mean
            return self.from_unit_nchw(est.clamp(0, 1), unit)

        return self._run(work)


def estimate_sigma(X: np.ndarray) -> np.ndarray:
    """Per-image noise standard deviation (n,) of images ``X`` (n, H, W[, C]), in the units of ``X``, by
    Immerkaer's fast estimator (J. Immerkaer, "Fast noise variance estimation", CVIU 64(2), 1996):
    ``sigma = sqrt(pi / 2) / (6 (W - 2) (H - 2)) * sum |X * N|`` with the Laplacian-difference mask
    ``N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (insensitive to the image's linear structure); colour
    channels are averaged. Needs images of at least 3x3."""
    from scipy.signal import convolve2d

    X = np.asarray(X, np.float64)
    if X.shape[1] < 3 or X.shape[2] < 3:
        raise InputError("estimating the noise needs images of at least 3x3 pixels; give --sigma")
    k = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
    chans = X[..., None] if X.ndim == 3 else X
    h, w = X.shape[1], X.shape[2]
    out = np.empty(len(X))
    for i in range(len(X)):
        s = [np.abs(convolve2d(chans[i, :, :, ch], k, mode="valid")).sum() for ch in range(chans.shape[-1])]
        out[i] = math.sqrt(math.pi / 2) * float(np.mean(s)) / (6.0 * (w - 2) * (h - 2))
    return out
