"""Texture residual of a completion drawn conditionally on the observed pixels.

vaelab-image draws samples as ``mean(z) + sd(z) * r`` where the whitened residual ``r`` (D,) follows the
class's Gaussian ``N(mu, Sigma)`` with the empirical covariance of the training residuals
(:mod:`vaelab.models.image.vaelab_image`). In a completion the residual at the observed pixels is known,
``r_o = (x_o - mean_o) / sd_o``, so the residual in the missing region is drawn from the Gaussian
conditional

    r_m | r_o ~ N(mu_m + Sigma_mo (Sigma_oo + lam I)^-1 (r_o - mu_o),
                  Sigma_mm - Sigma_mo (Sigma_oo + lam I)^-1 Sigma_om)

(``lam``: a ridge, the variance of an independent observation noise on ``r_o``; it keeps the solve stable when
the class covariance is singular, e.g. fewer training images than pixels). Draws use Matheron's rule (a
pathwise update, e.g. Wilson et al., "Efficiently sampling functions from Gaussian process posteriors", ICML
2020): ``r = mu + eps @ rows`` (unconditional, ``Sigma = rows^T rows``), ``e ~ N(0, lam I)``,
``r_m <- r_m + A (r_o_obs - r_o - e)`` with ``A = Sigma_mo (Sigma_oo + lam I)^-1``: an exact draw of the
conditional above, with one solve per mask pattern and class.
"""

from __future__ import annotations

import numpy as np
import torch


class ConditionalTexture:
    """Conditional residual draws for one class Gaussian ``mean`` (D,) + ``rows`` (m, D) (``Sigma = rows^T rows``).

    ``ridge``: ``lam`` relative to the mean diagonal of ``Sigma``.
    """

    def __init__(self, mean: torch.Tensor, rows: torch.Tensor, ridge: float = 1e-2, nu: float | None = None):
        self.mean = np.asarray(mean, np.float64)
        self.rows = np.asarray(rows, np.float64)
        self.cov = self.rows.T @ self.rows
        self.lam = float(ridge) * max(float(np.mean(np.diag(self.cov))), 1e-12)
        self.nu = nu
        self._gain: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def _solve(self, miss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.packbits(miss).tobytes()
        if key not in self._gain:
            o, m = ~miss, miss
            inv = np.linalg.inv(self.cov[np.ix_(o, o)] + self.lam * np.eye(int(o.sum())))
            self._gain[key] = (self.cov[np.ix_(m, o)] @ inv, inv)
        return self._gain[key]

    def gain(self, miss: np.ndarray) -> np.ndarray:
        """``A = Sigma_mo (Sigma_oo + lam I)^-1`` (n_missing, n_observed) for the boolean pattern ``miss`` (D,)."""
        return self._solve(miss)[0]

    def spread(self, miss: np.ndarray, r_obs: np.ndarray) -> np.ndarray:
        """Scale of the conditional deviations per row of ``r_obs`` (k,): 1 for the Gaussian (``nu`` None);
        for a multivariate Student t with ``nu`` degrees of freedom (a Gaussian scale mixture, so an image whose
        observed residual is larger than the model's covariance says widens its completion)
        ``sqrt((nu + d) / (nu + n_o))`` with ``d`` the Mahalanobis distance of ``r_obs`` under ``Sigma_oo + lam I``
        (Kotz & Nadarajah, "Multivariate t distributions", 2004, sec. 1.11)."""
        if self.nu is None:
            return np.ones(len(r_obs))
        dev = np.asarray(r_obs, np.float64) - self.mean[~miss]
        d = np.einsum("ki,ij,kj->k", dev, self._solve(miss)[1], dev)
        return np.sqrt((self.nu + d) / (self.nu + dev.shape[1]))

    def conditional(self, miss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Analytic ``(A, C)``: gain (n_missing, n_observed) and conditional covariance (n_missing, n_missing)."""
        A = self.gain(miss)
        C = self.cov[np.ix_(miss, miss)] - A @ self.cov[np.ix_(~miss, miss)]
        return A, C

    def mean_missing(self, miss: np.ndarray, r_obs: np.ndarray) -> np.ndarray:
        """Conditional mean of the missing residual (k, n_missing) given ``r_obs`` (k, n_observed)."""
        A = self.gain(miss)
        return self.mean[miss] + (np.asarray(r_obs, np.float64) - self.mean[~miss]) @ A.T

    def draw(self, miss: np.ndarray, r_obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One conditional draw of the missing residual per row of ``r_obs`` (k, n_observed): (k, n_missing)."""
        r_obs = np.asarray(r_obs, np.float64)
        k = len(r_obs)
        A = self.gain(miss)
        r = self.mean + rng.standard_normal((k, len(self.rows))) @ self.rows
        e = np.sqrt(self.lam) * rng.standard_normal(r_obs.shape)
        draw = r[:, miss] + (r_obs - r[:, ~miss] - e) @ A.T
        if self.nu is None:
            return draw
        centre = self.mean_missing(miss, r_obs)
        return centre + self.spread(miss, r_obs)[:, None] * (draw - centre)


def texture_models(gen, ridge: float = 1e-2, nu: float | None = None) -> list[ConditionalTexture] | None:
    """One :class:`ConditionalTexture` per class of a fitted vaelab-image ``gen``, or None when its samples
    carry no texture residual (``noise`` "none" / "white", or no residual Gaussian stored)."""
    extra = getattr(gen, "extra_", None) or {}
    if getattr(gen.config, "noise", "none") != "texture" or "tex_rows" not in extra:
        return None
    rows, mean = extra["tex_rows"], extra["tex_mean"]
    return [ConditionalTexture(mean[k], rows[k], ridge, nu) for k in range(len(rows))]
