"""``gmm``: a per-class Gaussian mixture fitted on posterior draws of the training codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.samplers.base import SamplerBase

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture


class LatentGMM(SamplerBase):
    """Per class, a full-covariance Gaussian mixture (scikit-learn's EM) on ``draws`` posterior draws
    per training sample, with the attached values appended (modelled jointly); at most
    ``components`` components and one per 10 training samples of the class."""

    kind = "gmm"
    required = ("gmm_weight", "gmm_mean", "gmm_chol")
    optional = ()

    def __init__(self, components: int = 8, draws: int = 4, attached_dim: int = 0):
        super().__init__()
        self.components, self.draws, self.attached_dim = int(components), int(draws), int(attached_dim)

    def params(self) -> dict:
        return {"components": self.components, "draws": self.draws, "attached_dim": self.attached_dim}

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> LatentGMM:
        gen = torch.Generator().manual_seed(seed + 104729)
        self.attached_dim = 0 if attached is None else int(attached.shape[1])
        L = mu.shape[1] + self.attached_dim
        weights = torch.zeros(n_classes, self.components)
        means = torch.zeros(n_classes, self.components, L)
        chols = torch.eye(L).repeat(n_classes, self.components, 1, 1)
        for k in range(n_classes):
            idx = torch.nonzero(c == k).flatten()
            m, lv = mu[idx], logvar[idx]
            z = m.unsqueeze(0) + torch.exp(0.5 * lv).unsqueeze(0) * torch.randn(self.draws, *m.shape, generator=gen)
            if attached is not None:
                z = torch.cat([z, attached[idx].unsqueeze(0).expand(self.draws, -1, -1)], dim=2)
            gm = class_mixture(z.reshape(-1, L).double().numpy(), len(idx), self.components, seed)
            n_comp = gm.n_components
            weights[k, :n_comp] = torch.as_tensor(gm.weights_, dtype=torch.float32)
            means[k, :n_comp] = torch.as_tensor(gm.means_, dtype=torch.float32)
            chols[k, :n_comp] = torch.as_tensor(np.linalg.cholesky(gm.covariances_), dtype=torch.float32)
        self.state = {"gmm_weight": weights, "gmm_mean": means, "gmm_chol": chols}
        return self

    def check(self) -> None:
        w, m, ch = (self.state[k] for k in self.required)
        if m.dim() != 3 or w.shape != m.shape[:2] or ch.shape != (*m.shape, m.shape[2]) or m.shape[2] <= self.attached_dim:
            raise InputError("latent sampler 'gmm': mixture arrays of inconsistent shapes")

    def sample(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Codes (len(c), L) and attached values (len(c), a) or None, class by class in class order."""
        means_all = self.state["gmm_mean"]
        L = means_all.shape[2] - self.attached_dim
        z = torch.empty(len(c), L)
        att = torch.empty(len(c), self.attached_dim) if self.attached_dim else None
        for k in torch.unique(c).tolist():
            where = torch.nonzero(c == k).flatten()
            m = len(where)
            w, means, chol = self.state["gmm_weight"][k], means_all[k], self.state["gmm_chol"][k]
            comp = torch.multinomial(w, m, replacement=True, generator=gen)
            draw = means[comp] + (chol[comp] @ torch.randn(m, means.shape[-1], 1, generator=gen)).squeeze(-1)
            z[where] = draw[:, :L]
            if att is not None:
                att[where] = draw[:, L:]
        return z, att


def class_mixture(z: np.ndarray, n_codes: int, components: int, seed: int) -> GaussianMixture:
    """A full-covariance Gaussian mixture (scikit-learn's EM) fitted on one class's rows ``z`` (m, L), from
    ``n_codes`` training codes: at most ``components`` components and one per 10 codes."""
    from sklearn.mixture import GaussianMixture

    n_comp = max(1, min(components, n_codes // 10))
    gm = GaussianMixture(n_comp, covariance_type="full", reg_covar=1e-4, random_state=seed, max_iter=200)
    return gm.fit(z)
