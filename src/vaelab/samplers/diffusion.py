"""``diffusion``: a class-conditional denoising diffusion model of the training codes (a learned latent prior)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.samplers.base import SamplerBase

PREFIX = "ldm_w."  # state keys of the denoiser's weights


class LatentDiffusion(SamplerBase):
    """Per-class codes from :class:`vaelab.models.ddpm.DDPM` fitted on ``draws`` posterior draws per training
    sample (the aggregate posterior, as ``gmm``), the attached values appended (modelled jointly).

    The second stage of Vahdat et al. 2021 ("Score-based generative modeling in latent space") and of
    latent diffusion (Rombach et al. 2022), at the scale of small sets: one small residual-MLP denoiser
    shared by all classes (class embedding), ``train_steps`` optimiser steps, DDIM sampling with
    ``sample_steps`` steps. A Gaussian or a kernel smoother with a wide kernel gives every class an
    ellipsoid; the denoiser can follow where the codes actually lie. Not calibrated: whether its samples
    are new is measured (DCR), not set.

    State: ``ldm_mean``, ``ldm_sd`` (the denoiser's input scaling, (L + a,)), ``ldm_classes`` (the class
    indices it was fitted on, (K,)) and the denoiser's weights under ``ldm_w.*``.
    """

    kind = "diffusion"
    required = ("ldm_mean", "ldm_sd", "ldm_classes")
    optional = ()

    def __init__(self, hidden: int = 128, n_blocks: int = 3, train_steps: int = 2000, sample_steps: int = 50,
                 draws: int = 4, attached_dim: int = 0):
        super().__init__()
        self.hidden, self.n_blocks, self.train_steps = int(hidden), int(n_blocks), int(train_steps)
        self.sample_steps, self.draws, self.attached_dim = int(sample_steps), int(draws), int(attached_dim)
        if self.draws < 1:
            raise InputError(f"latent sampler 'diffusion': draws must be >= 1, got {draws!r}")
        self._model: Any = None
        self._ddpm()  # validates the denoiser's options now

    def params(self) -> dict:
        return {"hidden": self.hidden, "n_blocks": self.n_blocks, "train_steps": self.train_steps,
                "sample_steps": self.sample_steps, "draws": self.draws, "attached_dim": self.attached_dim}

    def _ddpm(self) -> Any:
        from vaelab.models.ddpm import DDPM

        m = DDPM(hidden=self.hidden, n_blocks=self.n_blocks, train_steps=self.train_steps,
                 sample_steps=self.sample_steps)
        m.progress, m.device = False, "cpu"
        return m

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> LatentDiffusion:
        gen = torch.Generator().manual_seed(seed + 104729)
        self.attached_dim = 0 if attached is None else int(attached.shape[1])
        z = mu.unsqueeze(0) + torch.exp(0.5 * logvar).unsqueeze(0) * torch.randn(self.draws, *mu.shape, generator=gen)
        if attached is not None:
            z = torch.cat([z, attached.unsqueeze(0).expand(self.draws, -1, -1).to(z.dtype)], dim=2)
        z = z.reshape(-1, z.shape[2]).double().numpy()
        y = c.repeat(self.draws).numpy()
        m = self._ddpm()
        with torch.enable_grad():
            m.fit(z, y, seed=seed)
        assert m.module is not None and m.classes_ is not None
        self._model = m
        self.state = {"ldm_mean": m.extra_["mean"].double(), "ldm_sd": m.extra_["sd"].double(),
                      "ldm_classes": torch.as_tensor(np.asarray(m.classes_, dtype=np.int64)),
                      **{PREFIX + k: v.detach().clone() for k, v in m.module.state_dict().items()}}
        return self

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> LatentDiffusion:
        missing = [k for k in self.required if k not in state]
        if missing:
            raise InputError(f"latent sampler 'diffusion': the weights lack {missing}")
        self.state = {k: v for k, v in state.items() if k in self.required or k.startswith(PREFIX)}
        self.check()
        m = self._ddpm()
        d = int(self.state["ldm_mean"].numel())
        m.classes_ = self.state["ldm_classes"].numpy()
        m.feature_shape_ = (d,)
        m.extra_ = {"mean": self.state["ldm_mean"].double(), "sd": self.state["ldm_sd"].double()}
        m.module = m.build_module((d,), len(m.classes_))
        try:
            m.module.load_state_dict({k[len(PREFIX):]: v for k, v in self.state.items() if k.startswith(PREFIX)},
                                     strict=True)
        except RuntimeError:
            raise InputError("latent sampler 'diffusion': the denoiser's weights do not match its options") from None
        m.module.eval()
        self._model = m
        return self

    def check(self) -> None:
        mean, sd, cls = (self.state[k] for k in self.required)
        if mean.dim() != 1 or sd.shape != mean.shape or cls.dim() != 1 or len(cls) < 1 or mean.numel() <= self.attached_dim:
            raise InputError("latent sampler 'diffusion': scaling arrays of inconsistent shapes")
        if not bool(torch.isfinite(mean).all()) or not bool(torch.isfinite(sd).all()) or bool((sd < 0).any()):
            raise InputError("latent sampler 'diffusion': non-finite or negative scaling values")

    def sample(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Codes (len(c), L) and attached values (len(c), a) or None, class by class in class order."""
        if self._model is None:
            raise InputError("latent sampler 'diffusion': not fitted")
        classes = self.state["ldm_classes"]
        L = int(self.state["ldm_mean"].numel()) - self.attached_dim
        z = torch.empty(len(c), L)
        att = torch.empty(len(c), self.attached_dim) if self.attached_dim else None
        for k in torch.unique(c).tolist():
            idx = torch.nonzero(classes == k).flatten()
            if len(idx) == 0:
                raise InputError(f"latent sampler 'diffusion': no training code of class {k}")
            where = torch.nonzero(c == k).flatten()
            with torch.no_grad():
                draw = self._model.generate(torch.full((len(where),), int(idx[0]), dtype=torch.long), gen).float()
            z[where] = draw[:, :L]
            if att is not None:
                att[where] = draw[:, L:]
        return z, att
