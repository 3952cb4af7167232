"""``seed-image-vae``: the documents' textbook MLP VAE for images, the baseline of ``vaelab-image``.

784 -> 400 -> 20 -> 400 -> 784 (ReLU, sigmoid output), Bernoulli likelihood (binary cross-entropy,
summed) + KL to N(0, I), Adam 1e-3, batch 128 — PyTorch's ``examples/vae`` (Kingma & Welling 2014).
For class-conditional sampling the class is a one-hot vector concatenated to the encoder input and to
z (Sohn et al. 2015's CVAE; the documents' models are unconditional). Samples: z ~ N(0, I) decoded to
the Bernoulli mean, as the documents show them. Pixels are scaled to [0, 1] by the training range and
mapped back (rounded for integer data). Any image size: the first layer takes H*W*C inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vaelab.models.base import ModelConfig
from vaelab.models.image.nets import MLPVAENet
from vaelab.models.image.pixels import fit_scale, from_unit, image_support, to_unit
from vaelab.models.torch_base import TorchGenerator


@dataclass
class SeedImageConfig(ModelConfig):
    hidden: int = 400
    latent_dim: int = 20
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    val_fraction: float = 0.0
    patience: int | None = None
    min_epochs: int = 0


class SeedImageVAE(TorchGenerator):
    """The textbook MLP VAE with one-hot class conditioning (see the module docstring)."""

    name = "seed-image-vae"
    Config = SeedImageConfig
    modalities = ("image",)

    def __init__(self, config: ModelConfig | None = None, **overrides):
        super().__init__(config, **overrides)
        self._scale: torch.Tensor | None = None

    @classmethod
    def supports(cls, feature_shape: tuple[int, ...]) -> str | None:
        return image_support(feature_shape)

    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> torch.nn.Module:
        return MLPVAENet(math.prod(feature_shape), n_classes, int(self.config.hidden), int(self.config.latent_dim))

    def _scale_t(self) -> torch.Tensor:
        return self._scale if self._scale is not None else self.extra_["scale"]

    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict]:
        self._scale = fit_scale(X)
        return np.asarray(X, dtype=np.float32).reshape(len(X), -1), {}

    def after_fit(self, job) -> None:
        self.extra_ = {"scale": self._scale_t().clone()}
        self._scale = None

    def loss(self, module: torch.nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        u = to_unit(x, self._scale_t()).float().clamp(0, 1)
        mu, logvar = module.encode(u, c)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(module.decode_logits(z, c), u, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return {"loss": rec + kl, "reconstruction": rec, "kl": kl}

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(len(c), self.config.latent_dim, generator=gen)
        return from_unit(torch.sigmoid(self.module.decode_logits(z, c)), self.extra_["scale"]).float()

    def decode(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bernoulli means in the training scale, (n, *feature_shape)."""
        from vaelab.models.base import encode_labels

        assert self.classes_ is not None and self.feature_shape_ is not None
        with torch.no_grad():
            c = torch.as_tensor(encode_labels(np.asarray(y), self.classes_), dtype=torch.long)
            p = torch.sigmoid(self.module.decode_logits(torch.as_tensor(np.asarray(z), dtype=torch.float32), c))
        lo, hi = (float(v) for v in self.extra_["scale"][:2])
        return (lo + p.double().numpy() * (hi - lo)).reshape(len(c), *self.feature_shape_)


