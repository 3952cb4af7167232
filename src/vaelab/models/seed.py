"""The seed report's models, reproduced exactly, for comparison and ablation.

``seed-cvae`` — a conditional VAE: a 10-d label embedding is concatenated to the input of
the encoder (d+10 → 128 → 64, ReLU; heads to μ and log σ² of a 32-d latent) and to z
before the decoder (32+10 → 64 → 128 → d, ReLU, sigmoid output). Loss: binary
cross-entropy (summed) + KL divergence to N(0, I); Adam, learning rate 1e-3, batch 32,
500 epochs. Sampling draws z ~ N(0, I) and returns the decoder's output (the Bernoulli
mean), as the report does — no observation noise, which is why its samples are smoother
than real spectra.

``seed-vae`` — the report's proposed ablation: the same network with the label embedding
removed. It has no way to ask for a class, so class-``k`` samples are decoded from the
aggregate posterior of class ``k``: z = μᵢ + σᵢ·ε for a random training sample i of that
class (:class:`vaelab.samplers.AggregatePosterior`; the latent codes of the training set are
stored with the weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.models.base import ModelConfig
from vaelab.models.torch_base import FitJob, TorchGenerator
from vaelab.samplers import AggregatePosterior


@dataclass
class SeedConfig(ModelConfig):
    latent_dim: int = 32
    embed_dim: int = 10
    hidden: tuple[int, int] | list[int] = (128, 64)
    epochs: int = 500
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    val_fraction: float = 0.0
    patience: int | None = None
    min_epochs: int = 0


class SeedNet(nn.Module):
    def __init__(self, d: int, n_classes: int, latent: int, embed: int, hidden: tuple[int, int], conditional: bool):
        super().__init__()
        h1, h2 = hidden
        self.conditional = conditional
        e = embed if conditional else 0
        if conditional:
            self.embed = nn.Embedding(n_classes, embed)
        self.enc = nn.Sequential(nn.Linear(d + e, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU())
        self.mu = nn.Linear(h2, latent)
        self.logvar = nn.Linear(h2, latent)
        self.dec = nn.Sequential(nn.Linear(latent + e, h2), nn.ReLU(), nn.Linear(h2, h1), nn.ReLU(), nn.Linear(h1, d))

    def _cond(self, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.cat([t, self.embed(c)], dim=1) if self.conditional else t

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(self._cond(x, c))
        return self.mu(h), self.logvar(h)

    def decode_logits(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.dec(self._cond(z, c))


class _SeedBase(TorchGenerator):
    Config = SeedConfig
    needs_unit_interval = True
    conditional = True

    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        cfg = self.config
        return SeedNet(math.prod(feature_shape), n_classes, cfg.latent_dim, cfg.embed_dim, tuple(cfg.hidden), self.conditional)

    def loss(self, module: nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        mu, logvar = module.encode(x, c)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = module.decode_logits(z, c)
        # BCE on the sigmoid output, summed (F.binary_cross_entropy_with_logits is the stable form)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return {"loss": rec + kl, "reconstruction": rec, "kl": kl}


class SeedCVAE(_SeedBase):
    """The seed report's conditional VAE (see module docstring)."""

    name = "seed-cvae"

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(len(c), self.config.latent_dim, generator=gen)
        return torch.sigmoid(self.module.decode_logits(z, c))


class SeedVAE(_SeedBase):
    """The report's ablation: the same network without the label embedding."""

    name = "seed-vae"
    conditional = False

    def after_fit(self, job: FitJob) -> None:
        self.module.eval()
        mu, logvar = self.module.encode(job.X, job.c)
        self.extra_ = AggregatePosterior().fit(mu, logvar, job.c, len(self.classes_)).state_dict()

    @classmethod
    def load(cls, path: str | Path) -> SeedVAE:
        self = super().load(path)
        AggregatePosterior().load_state_dict(self.extra_)  # refuse weights without the training codes now
        return self

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        z, _ = AggregatePosterior().load_state_dict(self.extra_).sample(c, gen)
        return torch.sigmoid(self.module.decode_logits(z, c))
