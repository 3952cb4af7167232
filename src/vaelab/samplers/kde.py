"""``kde``: a smoothed bootstrap of the aggregate posterior with a calibrated kernel width."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator

import torch

from vaelab.core.errors import InputError
from vaelab.samplers.base import balanced_rows
from vaelab.samplers.posterior import AggregatePosterior

KERNELS = ("gaussian", "covariance", "neighbours", "auto", "mixture")  # CalibratedKDE's kernel shapes (see its docstring)
MIXTURE_COMPONENTS = 8  # "mixture": at most this many clusters per class (and one per 10 codes)
CENTRES = ("draw", "mean", "auto")  # what the kernel is centred on (see CalibratedKDE)
FLOORS = ("none", "variance", "span")  # the bootstrap's missing variance restored (see CalibratedKDE)


class CalibratedKDE(AggregatePosterior):
    """A random training sample's posterior draw plus kernel noise (Silverman 1986, section 6.4.1).

    ``kernel = "gaussian"``: noise N(0, h^2 sd_k^2) per dimension (sd_k: spread of the class's
    posterior means); with ``shrink`` the result is shrunk towards the class mean so that the
    variance of the aggregate posterior is kept. ``kernel = "covariance"``: noise N(0, h^2 C_k), C_k
    the covariance of the class's posterior means (the kernel shaped like the data, Silverman 1986,
    section 4.2.1); with ``shrink`` the result is shrunk towards the class mean by ``1 / sqrt(1 + h^2)``,
    which keeps C_k, correlations included (the posterior-draw part D, the mean posterior variance,
    becomes D / (1 + h^2); a trace-matched factor would be ~1 wherever unused latent dimensions
    carry the prior's unit variance, which the decoder ignores). A per-dimension kernel
    shrunk to keep the variances gives up the correlations between dimensions (the shrunk codes
    have covariance ``lambda^2 C + (1 - lambda^2) diag C``): with few codes per class, in a span
    of few dimensions, that loses the variance of the decoded spectra. ``kernel = "neighbours"``: a step of ``h x U(0, 1)``
    towards (h < 1) or past (h > 1) one of the 5 nearest codes of the same class (as SMOTE).
    ``kernel = "mixture"``: the covariance kernel shaped like the code's *cluster* instead of its class: per
    class a full-covariance Gaussian mixture on the posterior means (the ``gmm`` sampler's EM and component rule),
    each code assigned to its most likely component j (mean m_j, covariance C_j = R_j R_j^T), and
    ``z = m_j + (a - m_j + h R_j e) / sqrt(1 + h^2)``. At ``h = 0`` it is the centre ``a`` (as every kernel); where
    the calibration drives ``h`` high, the covariance kernel becomes one Gaussian N(mean_k, C_k) per class, which puts
    codes between the modes of a class whose codes are not one ellipsoid (shapes, sizes, positions; decoded they
    lose their class), this one becomes the mixture of the N(m_j, C_j). State ``kde_comp`` (n,), ``kde_cmean``
    (n_classes, K, L), ``kde_croot`` (n_classes, K, L, L).
    ``kernel = "auto"``: per class, the covariance kernel, shrunk, where the class has more codes than
    latent dimensions (its code covariance is non-singular), else the per-dimension kernel (shrunk
    only with ``shrink``; it draws the same random numbers as ``"gaussian"``). With fewer codes than
    dimensions C_k spans only the codes' own directions, and a kernel shaped like it cannot make
    samples new outside them (on 9-13 coffee spectra per class the calibration drove h to 10).
    ``centre = "mean"``: the kernel is centred on the training sample's posterior mean, not on a
    posterior draw, so the calibrated kernel is the only source of novelty in the code.
    ``centre = "auto"``: per class, the draw where the kernel width calibrated with the draw is above 0,
    else (the draw is then the only latent noise) the posterior mean, with ``h`` calibrated again for
    it (so it may rise above 0: the kernel, not the posterior noise, makes such samples new). The
    mean-centred rows still draw (and discard) the posterior noise, so every other class gets the
    same random numbers as with ``"draw"``. State ``kde_mc`` (n_classes,): 1 where the mean is used.

    ``floor = "variance"``: after calibration ``h`` is raised to :meth:`variance_floor` (``1 / sqrt(n_k)`` in the classes
    drawn with the unshrunk per-dimension kernel), which restores the per-dimension variance the bootstrap of ``n_k``
    codes misses with isotropic noise. ``floor = "span"``: ``h`` is kept, and in those classes with ``h`` below the
    floor each draw gets extra noise N(0, g^2 S_k) with ``g^2 = 1 / n_k - h^2`` (:meth:`span_noise`; ``S_k`` the codes'
    unbiased covariance): the per-dimension variance is again the codes' unbiased one (``(n_k - 1) / n_k + h^2 + g^2 =
    1`` in units of ``sd_k^2``), but the extra noise stays inside the few directions the codes span (at ``h = 0`` the
    samples' covariance is ``S_k`` there and zero outside). State ``kde_g`` (n_classes,), set by :meth:`calibrate`.

    ``pick``: how the training rows the kernel is centred on are picked (``"replacement"``, or ``"balanced"``: every
    row of the class ``floor`` or ``ceil`` of m / n_k times, :func:`vaelab.samplers.base.balanced_rows`); the
    calibration measures the model's own ``generate``, so it draws with the same pick. ``"balanced_zero"``: the
    calibration draws with replacement (every width ``h`` is the default's), and :meth:`_pick` draws balanced only in
    the classes whose calibrated ``h`` is 0 (there a sample's code is a training row's posterior draw, so the pick alone
    sets the class's spread), from a generator seeded by ``gen``'s state (:func:`child_generator`) after drawing the
    default's rows from ``gen``: every random number of ``gen`` and every class with ``h > 0`` are the default's.

    The width ``h`` of each class starts at 0 and is set by :meth:`calibrate`: the smallest ``h``
    on a grid (0 and 31 log-spaced values in [0.01, 10]) at which the model's samples lie as far
    from their nearest training sample (median) as a left-out training sample lies from the others.
    A copy of a training sample is at distance 0, a new real sample is not; where measurement noise
    already makes samples novel ``h`` stays 0.
    """

    kind = "kde"
    picks = ("replacement", "balanced", "balanced_zero")
    calibrating = False  # True while calibrate runs ("balanced_zero" then picks as "replacement")
    required = ("train_mu", "train_logvar", "train_class", "kde_mean", "kde_sd", "kde_var", "kde_h")
    optional = ("train_attached", "kde_nn", "kde_root", "kde_cov", "kde_mc", "kde_comp", "kde_cmean", "kde_croot",
                "kde_g")

    def __init__(self, kernel: str = "gaussian", shrink: bool = False, centre: str = "draw", floor: str = "none",
                 pick: str = "replacement"):
        super().__init__(pick)
        if kernel not in KERNELS:
            raise InputError(f"latent sampler 'kde': kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
        if centre not in CENTRES:
            raise InputError(f"latent sampler 'kde': centre must be one of {', '.join(CENTRES)}, got {centre!r}")
        if floor not in FLOORS:
            raise InputError(f"latent sampler 'kde': floor must be one of {', '.join(FLOORS)}, got {floor!r}")
        self.kernel, self.shrink, self.centre, self.floor = kernel, bool(shrink), centre, floor

    def params(self) -> dict:
        out = {"kernel": self.kernel, "shrink": self.shrink, "centre": self.centre, **self.pick_params()}
        return out if self.floor == "none" else {**out, "floor": self.floor}  # samplers saved before: no floor, no pick

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> CalibratedKDE:
        super().fit(mu, logvar, c, n_classes, attached=attached, seed=seed)
        self.state.update(_kde_stats(mu, logvar, c, n_classes))
        if self.kernel == "neighbours":
            self.state["kde_nn"] = class_neighbours(mu, c, 5)
        if self.kernel in ("covariance", "auto"):
            self.state["kde_root"] = _class_roots(mu, c, n_classes)
        if self.kernel == "mixture":
            self.state.update(_class_clusters(mu, c, n_classes, seed))
        if self.kernel == "auto":  # the covariance kernel where the class's code covariance is non-singular
            self.state["kde_cov"] = enough_codes(c, n_classes, mu.shape[1])
        if self.centre == "auto":  # set per class by calibrate (until then: the draw everywhere)
            self.state["kde_mc"] = torch.zeros(n_classes)
        if self.floor == "span":  # set per class by calibrate (until then: no extra noise)
            self.state["kde_g"] = torch.zeros(n_classes)
        return self

    def check(self) -> None:
        super().check()
        if self.kernel == "neighbours" and "kde_nn" not in self.state:
            raise InputError("latent sampler 'kde': the neighbours kernel needs 'kde_nn' in the weights")
        if self.kernel in ("covariance", "auto") and "kde_root" not in self.state:
            raise InputError("latent sampler 'kde': the covariance kernel needs 'kde_root' in the weights")
        if self.kernel == "mixture" and any(k not in self.state for k in ("kde_comp", "kde_cmean", "kde_croot")):
            raise InputError("latent sampler 'kde': the mixture kernel needs 'kde_comp', 'kde_cmean', 'kde_croot' in the weights")
        if self.kernel == "auto" and "kde_cov" not in self.state:
            raise InputError("latent sampler 'kde': the auto kernel needs 'kde_cov' in the weights")
        if self.centre == "auto" and "kde_mc" not in self.state:
            raise InputError("latent sampler 'kde': the auto centre needs 'kde_mc' in the weights")
        if self.floor == "span" and "kde_g" not in self.state:
            raise InputError("latent sampler 'kde': the span floor needs 'kde_g' in the weights")

    def _pick(self, k: int, m: int, gen: torch.Generator) -> torch.Tensor:
        """As :meth:`SamplerBase._pick`; ``pick = "balanced_zero"``: the balanced rows where class ``k``'s calibrated
        width is 0 (not while calibrating), else the default's (see the class docstring)."""
        if self.pick != "balanced_zero" or self.calibrating or float(self.state["kde_h"][k]) > 0:
            return super()._pick(k, m, gen)  # "balanced_zero" there: with replacement
        sub = child_generator(gen, -1 - k)  # keys < 0: no other use of child_generator (span_noise: k >= 0)
        super()._pick(k, m, gen)  # the default's random numbers, so every later draw of gen is the default's
        pool = torch.nonzero(self.state["train_class"] == k).flatten()
        return pool[balanced_rows(len(pool), m, sub)]

    def _draw(self, k: int, pick: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        # centre "mean": the training sample's posterior mean, so the kernel alone makes samples new
        a = self.state["train_mu"][pick] if self.centre == "mean" else super()._draw(k, pick, gen)
        if self.centre == "auto" and bool(self.state["kde_mc"][k] > 0):  # the draw above only keeps the stream
            a = self.state["train_mu"][pick]
        z = self._smooth(a, k, float(self.state["kde_h"][k]), gen, pick)
        g = float(self.state["kde_g"][k]) if self.floor == "span" else 0.0
        return z if g == 0 else z + g * self.span_noise(k, len(pick), gen)

    def span_noise(self, k: int, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` draws (n, L) of N(0, S_k) inside the span of class ``k``'s centred posterior means (``floor =
        "span"``): ``Mc^T e / sqrt(n_k - 1)``, ``Mc`` the centred codes (n_k, L), ``e ~ N(0, I)`` (n_k,) per draw, whose
        covariance is the codes' unbiased covariance ``S_k`` and which is a combination of the codes' own deviations.
        ``e`` comes from a generator seeded by ``gen``'s state and ``k`` (:func:`child_generator`): ``gen`` is not
        advanced, so every other class and every later draw gets the same random numbers as without the floor."""
        m = self.state["train_mu"][self.state["train_class"] == k]
        mc = m - m.mean(dim=0)
        return torch.randn(n, len(m), generator=child_generator(gen, k)) @ mc / math.sqrt(len(m) - 1)

    def _smooth(self, a: torch.Tensor, k: int, h: float, gen: torch.Generator, pick: torch.Tensor) -> torch.Tensor:
        centre, sd, var = (self.state[f"kde_{key}"][k] for key in ("mean", "sd", "var"))
        if self.kernel == "neighbours":
            nn_idx = self.state["kde_nn"][pick]
            other = nn_idx[torch.arange(len(pick)), torch.randint(nn_idx.shape[1], (len(pick),), generator=gen)]
            step = torch.rand(len(pick), 1, generator=gen)
            return a + h * step * (self.state["train_mu"][other] - self.state["train_mu"][pick])
        e = torch.randn(a.shape, generator=gen)
        if self.kernel == "mixture":
            if h == 0:
                return a
            j = self.state["kde_comp"][pick]
            m, root = self.state["kde_cmean"][k][j], self.state["kde_croot"][k][j]  # (n, L), (n, L, L)
            return m + (a - m + h * (root @ e.unsqueeze(2)).squeeze(2)) / math.sqrt(1.0 + h * h)
        auto_cov = self.kernel == "auto" and bool(self.state["kde_cov"][k] > 0)
        if self.kernel == "covariance" or auto_cov:
            if h == 0:
                return a
            out = a + h * e @ self.state["kde_root"][k].T
            if not (self.shrink or auto_cov):
                return out
            return centre + (out - centre) / math.sqrt(1.0 + h * h)
        if not self.shrink:
            return a + h * sd * e
        return centre + (a - centre + h * sd * e) * torch.sqrt(var / (var + (h * sd) ** 2))

    def calibrate(self, generate: Callable[[torch.Tensor, torch.Generator], torch.Tensor], x: torch.Tensor,
                  c: torch.Tensor, *, seed: int = 0) -> None:
        """Set ``kde_h`` per class (in place); ``generate(c, gen)`` samples (len(c), d) with this sampler.

        ``x`` (n, d): the training samples in the space ``generate`` returns; ``c`` (n,) their classes.
        Up to 256 samples per class and 4096 reference rows (seeded subsets) keep it cheap.
        """
        self.calibrating = True  # pick "balanced_zero" calibrates with the default's pick
        try:
            self._calibrate(generate, x, c, seed)
        finally:
            self.calibrating = False
        if self.floor == "variance":
            self.state["kde_h"].copy_(torch.maximum(self.state["kde_h"], self.variance_floor()))
        if self.floor == "span":  # the rest of the floor's variance, as noise in the span of the codes
            self.state["kde_g"].copy_(self.span_width())

    def _calibrate(self, generate: Callable[[torch.Tensor, torch.Generator], torch.Tensor], x: torch.Tensor,
                   c: torch.Tensor, seed: int) -> None:
        """The widths of :meth:`calibrate` before any floor."""
        h_all = self.state["kde_h"]
        for k, ck, target, ref in novelty_targets(x, c, seed=seed):

            def novelty(h: float, k: int = k, ck: torch.Tensor = ck, ref: torch.Tensor = ref) -> float:
                h_all[k] = h
                return sample_novelty(generate, ck, ref, seed=seed)

            if self.centre == "auto":
                self.state["kde_mc"][k] = 0.0  # calibrated with the draw first
            h_all[k] = smallest_reaching(WIDTHS, novelty, target)
            if self.centre == "auto" and h_all[k] == 0:  # the draw was the only latent noise: the mean instead
                self.state["kde_mc"][k] = 1.0
                h_all[k] = smallest_reaching(WIDTHS, novelty, target)

    def span_width(self) -> torch.Tensor:
        """Per class (n_classes,), ``floor = "span"``'s extra width ``g = sqrt(1 / n_k - h^2)`` where the calibrated
        ``h`` is below :meth:`variance_floor` (and the class has two codes or more), else 0: the bootstrap's ``(n_k - 1)
        / n_k`` of the codes' unbiased variance, plus ``h^2`` from the kernel, plus ``g^2`` from :meth:`span_noise`, is
        the unbiased variance in every dimension."""
        h = self.state["kde_h"]
        n = torch.bincount(self.state["train_class"], minlength=len(h))[: len(h)]
        g = (self.variance_floor() ** 2 - h ** 2).clamp_min(0).sqrt()
        return torch.where(n >= 2, g, torch.zeros_like(g))

    def variance_floor(self) -> torch.Tensor:
        """Per class (n_classes,), ``floor = "variance"``'s lowest width: ``1 / sqrt(n_k)`` where the class draws the
        unshrunk per-dimension kernel, 0 elsewhere (the shrunk kernels keep the aggregate variance already; the
        covariance / neighbours / mixture kernels are left as calibrated).

        The bootstrap of ``n_k`` codes (``h = 0``, point posteriors) has per-dimension variance ``(n_k - 1) / n_k
        sd_k^2`` (``sd_k^2`` the codes' unbiased variance, ``kde_sd``); the kernel adds ``h^2 sd_k^2``, so the samples'
        variance is the codes' unbiased variance at ``h^2 = 1 / n_k`` (Silverman's variance argument as a floor)."""
        h = self.state["kde_h"]
        n = torch.bincount(self.state["train_class"], minlength=len(h))[: len(h)].to(h.dtype)
        if self.shrink or self.kernel not in ("gaussian", "auto"):
            return torch.zeros_like(h)
        per_dim = n > 0 if self.kernel == "gaussian" else (n > 0) & (self.state["kde_cov"] <= 0)
        return torch.where(per_dim, n.clamp(min=1).rsqrt(), torch.zeros_like(h))


def child_generator(gen: torch.Generator, key: int) -> torch.Generator:
    """A generator seeded from ``gen``'s current state and ``key`` without advancing ``gen`` (deterministic; another
    state or key gives another stream)."""
    digest = hashlib.sha256(gen.get_state().numpy().tobytes() + key.to_bytes(8, "little", signed=True)).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


WIDTHS = [0.0, *torch.logspace(-2, 1, 31).tolist()]  # the kernel widths calibrate chooses from


def novelty_targets(x: torch.Tensor, c: torch.Tensor, *, seed: int = 0
                    ) -> Iterator[tuple[int, torch.Tensor, float, torch.Tensor]]:
    """The novelty rule of :meth:`CalibratedKDE.calibrate`, per class ``k`` of ``c`` (increasing, classes of >= 2
    rows): ``(k, ck, target, ref)`` — ``ck`` the class index repeated once per calibration sample (as many as the
    class's rows, at most 256), ``target`` the median distance of those rows (a seeded subset) to their nearest
    other row of ``x``, ``ref`` the reference rows (at most 4096, a seeded subset) that samples are measured
    against (:func:`sample_novelty`)."""
    gen = torch.Generator().manual_seed(seed + 15485863)
    sub = min(len(x), 4096)
    ref = x[torch.randperm(len(x), generator=gen)[:sub]] if sub < len(x) else x
    for k in torch.unique(c).tolist():
        own = torch.nonzero(c == k).flatten()
        if len(own) < 2:
            continue
        own = own[torch.randperm(len(own), generator=gen)[:256]]
        d = torch.cdist(x[own], x)
        d[torch.arange(len(own)), own] = float("inf")  # leave each sample out
        yield k, torch.full((len(own),), k, dtype=torch.long), float(d.min(dim=1).values.median()), ref


def median_nearest(a: torch.Tensor, ref: torch.Tensor) -> float:
    """Median over the rows of ``a`` of the Euclidean distance to their nearest row of ``ref``."""
    return float(torch.cdist(a, ref).min(dim=1).values.median())


def sample_novelty(generate: Callable[[torch.Tensor, torch.Generator], torch.Tensor], ck: torch.Tensor,
                   ref: torch.Tensor, *, seed: int = 0) -> float:
    """Median distance of samples ``generate(ck, gen)`` (a fixed seed) to their nearest row of ``ref``."""
    g = torch.Generator().manual_seed(seed + 7)
    return median_nearest(generate(ck, g), ref)


def smallest_reaching(grid: list[float], novelty: Callable[[float], float], target: float) -> float:
    """The smallest value of the increasing ``grid`` at which ``novelty`` reaches ``target`` (by bisection,
    assuming novelty grows with the value; the last value if none does)."""
    lo, hi = 0, len(grid) - 1
    if novelty(grid[lo]) >= target:
        hi = lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if novelty(grid[mid]) >= target else (mid, hi)
    return grid[hi]


def _kde_stats(mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int) -> dict[str, torch.Tensor]:
    """Per-class mean, spread of the posterior means and variance of the aggregate posterior."""
    L = mu.shape[1]
    out = {"kde_mean": torch.zeros(n_classes, L), "kde_sd": torch.zeros(n_classes, L),
           "kde_var": torch.ones(n_classes, L), "kde_h": torch.zeros(n_classes)}
    for k in range(n_classes):
        m = mu[c == k]
        if len(m) < 2:
            continue
        out["kde_mean"][k] = m.mean(dim=0)
        out["kde_sd"][k] = m.std(dim=0)
        out["kde_var"][k] = m.var(dim=0) + logvar[c == k].exp().mean(dim=0)
    return out


def _class_roots(mu: torch.Tensor, c: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Symmetric square roots (n_classes, L, L) of the covariance of each class's posterior means (zero for
    a class with fewer than two codes): ``R R^T = C``, so ``R e`` with ``e ~ N(0, I)`` has covariance C."""
    L = mu.shape[1]
    out = torch.zeros(n_classes, L, L)
    for k in range(n_classes):
        m = mu[c == k].double()
        if len(m) < 2:
            continue
        out[k] = _sym_root(torch.cov(m.T).reshape(L, L)).float()
    return out


def _sym_root(cov: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a covariance matrix (..., L, L) (negative eigenvalues clipped to 0)."""
    w, U = torch.linalg.eigh(cov)
    return (U * w.clamp_min(0).sqrt().unsqueeze(-2)) @ U.transpose(-1, -2)


def _class_clusters(mu: torch.Tensor, c: torch.Tensor, n_classes: int, seed: int) -> dict[str, torch.Tensor]:
    """Per class a Gaussian mixture of the posterior means (:func:`vaelab.samplers.gmm.class_mixture`): each code's
    component ``kde_comp`` (n,), the components' means ``kde_cmean`` (n_classes, K, L) and covariance roots
    ``kde_croot`` (n_classes, K, L, L), K = MIXTURE_COMPONENTS (unused components zero; a class of fewer than
    two codes: one component at its code, root zero)."""
    from vaelab.samplers.gmm import class_mixture

    L, K = mu.shape[1], MIXTURE_COMPONENTS
    comp = torch.zeros(len(mu), dtype=torch.long)
    means, roots = torch.zeros(n_classes, K, L), torch.zeros(n_classes, K, L, L)
    for k in range(n_classes):
        idx = torch.nonzero(c == k).flatten()
        if len(idx) < 2:
            means[k, 0] = mu[idx].sum(dim=0)
            continue
        gm = class_mixture(mu[idx].double().numpy(), len(idx), K, seed)
        comp[idx] = torch.as_tensor(gm.predict(mu[idx].double().numpy()), dtype=torch.long)
        n_comp = gm.n_components
        means[k, :n_comp] = torch.as_tensor(gm.means_, dtype=torch.float32)
        roots[k, :n_comp] = _sym_root(torch.as_tensor(gm.covariances_)).float()
    return {"kde_comp": comp, "kde_cmean": means, "kde_croot": roots}


def enough_codes(c: torch.Tensor, n_classes: int, dim: int) -> torch.Tensor:
    """Per class (n_classes,), 1.0 where the class has more codes than ``dim`` latent dimensions (its code covariance
    can be non-singular), else 0.0: where ``kernel = "auto"`` takes the covariance kernel, and where vaelab-cvae's
    ``texture_draw = "local_auto"`` / ``"local_checked"`` may take the local residual draw."""
    return (torch.bincount(c, minlength=n_classes)[:n_classes] > dim).float()


def class_neighbours(mu: torch.Tensor, c: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (n, k) of the k nearest codes of the same class (itself when the class is smaller)."""
    out = torch.arange(len(mu)).unsqueeze(1).repeat(1, k)
    for cls in torch.unique(c).tolist():
        idx = torch.nonzero(c == cls).flatten()
        if len(idx) < 2:
            continue
        d = torch.cdist(mu[idx], mu[idx])
        d.fill_diagonal_(float("inf"))
        kk = min(k, len(idx) - 1)
        near = idx[d.topk(kk, largest=False).indices]
        out[idx, :kk] = near
        out[idx, kk:] = near[:, :1]
    return out
