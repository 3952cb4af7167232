"""``standard`` (N(0, I) codes) and ``aggregate`` (a training sample's posterior draw) latent samplers."""

from __future__ import annotations

import torch

from vaelab.samplers.base import SamplerBase


class StandardNormal(SamplerBase):
    """z ~ N(0, I). With ``attached`` values, those of a random training sample of the class.

    Stores the training classes (to draw attached values and, for the same random stream whatever
    the attached values, one random training row per sample) and the attached values.
    """

    kind = "standard"
    required = ("train_class",)

    def __init__(self, latent_dim: int | None = None, pick: str = "replacement"):
        super().__init__()
        self.latent_dim = latent_dim
        self.set_pick(pick)

    def params(self) -> dict:
        return {"latent_dim": self.latent_dim, **self.pick_params()}

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> StandardNormal:
        self.latent_dim = int(mu.shape[1])
        self.state = {"train_class": c}
        if attached is not None:
            self.state["train_attached"] = attached
        return self

    def sample(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Codes (len(c), L) and attached values (len(c), a) or None, class by class in class order."""
        if self.latent_dim is None:
            from vaelab.core.errors import InputError

            raise InputError("latent sampler 'standard': latent_dim unknown; make_sampler('standard', latent_dim=L)")
        L = int(self.latent_dim)
        z = torch.empty(len(c), L)
        att = self._attached_out(c)
        for k in torch.unique(c).tolist():
            where = torch.nonzero(c == k).flatten()
            pick = self._pick(k, len(where), gen)
            z[where] = torch.randn(len(where), L, generator=gen)
            if att is not None:
                att[where] = self.state["train_attached"][pick]
        return z, att


class AggregatePosterior(SamplerBase):
    """z = mu_i + sigma_i * eps for a random training sample i of the class (its posterior draw)."""

    kind = "aggregate"
    required = ("train_mu", "train_logvar", "train_class")

    def __init__(self, pick: str = "replacement"):
        super().__init__()
        self.set_pick(pick)

    def params(self) -> dict:
        return self.pick_params()

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> AggregatePosterior:
        self.state = {"train_mu": mu, "train_logvar": logvar, "train_class": c}
        if attached is not None:
            self.state["train_attached"] = attached
        return self

    def check(self) -> None:
        super().check()
        mu, lv, tc = (self.state[k] for k in ("train_mu", "train_logvar", "train_class"))
        if mu.dim() != 2 or mu.shape != lv.shape or tc.shape != (len(mu),):
            from vaelab.core.errors import InputError

            raise InputError(f"latent sampler {self.kind!r}: training codes of inconsistent shapes")

    def _draw(self, k: int, pick: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Posterior draws of the training rows ``pick`` of class ``k``."""
        mu, logvar = self.state["train_mu"], self.state["train_logvar"]
        return mu[pick] + torch.exp(0.5 * logvar[pick]) * torch.randn(len(pick), mu.shape[1], generator=gen)

    def sample(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Codes (len(c), L) and attached values (len(c), a) or None, class by class in class order."""
        z, att, _ = self.sample_rows(c, gen)
        return z, att

    def sample_rows(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """As :meth:`sample`, plus the training row each code was drawn from (len(c),), indices into the
        fitted codes; the same random numbers as :meth:`sample`."""
        z = torch.empty(len(c), self.state["train_mu"].shape[1])
        att = self._attached_out(c)
        rows = torch.empty(len(c), dtype=torch.long)
        for k in torch.unique(c).tolist():
            where = torch.nonzero(c == k).flatten()
            pick = self._pick(k, len(where), gen)
            rows[where] = pick
            z[where] = self._draw(k, pick, gen)
            if att is not None:
                att[where] = self.state["train_attached"][pick]
        return z, att, rows
