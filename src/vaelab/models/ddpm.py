"""``ddpm``: a class-conditional denoising diffusion model for flattened features.

What it is (each choice from the literature, not invented here):

* **Forward process** — DDPM (Ho et al. 2020, "Denoising diffusion probabilistic
  models") with the cosine noise schedule of Nichol & Dhariwal 2021 ("Improved denoising
  diffusion probabilistic models"): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2),
  s = 0.008, β_t = min(1 − ᾱ_{t+1}/ᾱ_t, 0.999), T = ``timesteps`` (1000) training steps.
* **Training objective** — the "simple" loss: x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε with
  t ~ U{0..T−1}, ε ~ N(0, I), mean squared error of the predicted ε (``target="eps"``).
  ``target="x0"`` has the network output x̂₀ instead (ε̂ = (x_t − √ᾱ_t x̂₀)/√(1 − ᾱ_t))
  with the Min-SNR-γ weighted loss min(SNR_t, γ)·‖x₀ − x̂₀‖² (Hang et al. 2023,
  "Efficient diffusion training via Min-SNR weighting strategy"; SNR_t = ᾱ_t/(1 − ᾱ_t)).
  Why offer both: an MLP of width ``hidden`` ≪ d cannot output a full-rank ε (the
  noise at small t spans all d directions), but it can output x̂₀, which lies near the
  low-dimensional data manifold; the full-rank part of ε̂ then comes from x_t itself.
  ``target="auto"`` (default) uses ε when d ≤ ``hidden`` (the output layer can span
  all d directions) and x₀ otherwise. ``benchmarks/ddpm_check.py`` compares the two on
  the coffee spectra (d = 1841, hidden 128, 2000 steps): ε-prediction returns noise
  (spread ratio 31-41, C2ST 1.0), x₀-prediction returns spectra (spread ratio 0.65-0.80,
  C2ST vs the training set 0.52, but samples lie closer to their nearest training
  spectrum than training spectra lie to each other: it partly memorises 20 spectra per
  class). On 8-d Gaussians ε-prediction learns the spread better in a short training
  (tests/test_models_ddpm.py).
* **Conditioning** — a learned class embedding added to the time embedding (sinusoidal,
  as in the Transformer/DDPM, followed by a 2-layer MLP); the label is replaced by a
  "no class" token with probability ``p_uncond`` (0.1) during training, which enables
  classifier-free guidance (Ho & Salimans 2022): ε̂ = ε̂_∅ + w (ε̂_c − ε̂_∅) with
  w = ``guidance_scale``. The default w = 1 is the plain conditional model (no extra
  pass): guidance trades diversity for class fidelity, and vaelab measures diversity.
* **Denoiser** — a residual MLP (input projection, ``n_blocks`` pre-LayerNorm residual
  blocks modulated by the embedding (FiLM: scale and shift), output projection, last
  layers zero-initialised). It works for any flattened feature size.
* **Sampling** — DDIM (Song et al. 2021, "Denoising diffusion implicit models") with
  ``sample_steps`` (50) steps on the "leading" sub-sequence t = 0, T/S, 2T/S, ... (the
  last steps of the cosine schedule, where ᾱ_t → 0, are skipped, which keeps the first
  x̂₀ estimate finite) and η = ``eta`` (0: deterministic given the initial noise, which
  is drawn from the generator seeded by ``sample(seed=...)``).
* **Scaling** — inputs are standardised per feature inside the model (mean and sd of the
  training data, saved with the weights as ``extra.mean``/``extra.sd``), so the model works
  in any preprocessing space; samples are mapped back (x = mean + sd · x_model). A
  constant feature (sd 0) is only centred for the network and comes back as its constant.
* **Weight averaging** — the weights used for sampling are an exponential moving average
  of the weights after every optimiser step (decay ``ema_decay`` = 0.999, warmed up as
  min(decay, (1 + k)/(10 + k)) over the first updates; ``None`` keeps the last weights),
  the standard practice for diffusion models since Ho et al. 2020: the trainer's
  :class:`~vaelab.training.callbacks.EMA` callback. Checkpoints (``--resume``) hold the average
  too, so a resumed run ends with the same weights as an uninterrupted one. With
  ``val_fraction > 0`` the validation loss and early stopping judge the raw weights; the EMA
  still replaces them at the end.
* **Training length** — ``epochs=None`` (default) trains for ``train_steps`` optimiser
  steps whatever the data size (epochs = ⌈train_steps / batches per epoch⌉); an explicit
  ``epochs`` overrides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.errors import InputError
from vaelab.models.base import ModelConfig
from vaelab.models.torch_base import FitJob, TorchGenerator
from vaelab.training.trainer import TrainConfig, check_training_options


@dataclass
class DDPMConfig(ModelConfig):
    hidden: int = 128
    n_blocks: int = 3
    time_embed_dim: int = 128
    dropout: float = 0.0
    timesteps: int = 1000
    target: str = "auto"
    min_snr_gamma: float = 5.0
    p_uncond: float = 0.1
    guidance_scale: float = 1.0
    sample_steps: int = 50
    eta: float = 0.0
    ema_decay: float | None = 0.999
    train_steps: int = 2000
    epochs: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    val_fraction: float = 0.0
    patience: int | None = None
    min_epochs: int = 0


def cosine_alpha_bar(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t for t = 0..T−1 of the cosine schedule (Nichol & Dhariwal 2021), float64."""

    def f(t: np.ndarray) -> np.ndarray:
        return np.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2

    t = np.arange(timesteps, dtype=np.float64)
    betas = np.minimum(1 - f(t + 1) / f(t), max_beta)
    return torch.as_tensor(np.cumprod(1 - betas), dtype=torch.float64)


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(len(t), dim) sin/cos features of integer time steps (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / max(half, 1))
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, dim - 2 * half))


class ResBlock(nn.Module):
    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.film = nn.Linear(hidden, 2 * hidden)
        self.fc1 = nn.Linear(hidden, 2 * hidden)
        self.fc2 = nn.Linear(2 * hidden, hidden)
        self.drop = nn.Dropout(dropout)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(F.silu(emb)).chunk(2, dim=1)
        a = self.norm(h) * (1 + scale) + shift
        return h + self.fc2(self.drop(F.silu(self.fc1(a))))


class Denoiser(nn.Module):
    """Residual MLP f(x_t, t, c) -> (len(x_t), d); class index ``n_classes`` is "no class"."""

    def __init__(self, d: int, n_classes: int, hidden: int, n_blocks: int, time_embed_dim: int, dropout: float):
        super().__init__()
        self.time_embed_dim = time_embed_dim
        self.inp = nn.Linear(d, hidden)
        self.time = nn.Sequential(nn.Linear(time_embed_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label = nn.Embedding(n_classes + 1, hidden)
        self.blocks = nn.ModuleList([ResBlock(hidden, dropout) for _ in range(n_blocks)])
        self.out = nn.Linear(hidden, d)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        emb = self.time(sinusoidal_embedding(t, self.time_embed_dim)) + self.label(c)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(F.silu(h))


class DDPM(TorchGenerator):
    """Conditional diffusion model with DDIM sampling (see module docstring)."""

    name = "ddpm"
    Config = DDPMConfig

    def __init__(self, config: ModelConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self._validate()
        self._alpha_bar = cosine_alpha_bar(self.config.timesteps)

    def _validate(self) -> None:
        c = self.config

        def positive_int(name: str, v: Any, low: int = 1) -> None:
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InputError(f"ddpm: {name} must be an integer >= {low}, got {v!r}")

        positive_int("hidden", c.hidden)
        positive_int("n_blocks", c.n_blocks, 0)
        positive_int("time_embed_dim", c.time_embed_dim, 2)
        positive_int("timesteps", c.timesteps, 2)
        positive_int("sample_steps", c.sample_steps)
        positive_int("train_steps", c.train_steps)
        positive_int("batch_size", c.batch_size)
        if c.epochs is not None:
            positive_int("epochs", c.epochs)
        if c.sample_steps > c.timesteps:
            raise InputError(f"ddpm: sample_steps ({c.sample_steps}) > timesteps ({c.timesteps})")
        if c.target not in ("auto", "eps", "x0"):
            raise InputError(f"ddpm: target must be 'auto', 'eps' or 'x0', got {c.target!r}")
        if not 0 <= c.p_uncond < 1:
            raise InputError(f"ddpm: p_uncond must be in [0, 1), got {c.p_uncond!r}")
        if not 0 <= c.dropout < 1:
            raise InputError(f"ddpm: dropout must be in [0, 1), got {c.dropout!r}")
        for name in ("guidance_scale", "eta", "min_snr_gamma", "lr"):
            v = getattr(c, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"ddpm: {name} must be a finite number >= 0, got {v!r}")
        check_training_options("ddpm", c)
        if c.guidance_scale != 1 and c.p_uncond == 0:
            raise InputError("ddpm: guidance_scale != 1 needs an unconditional model; train with p_uncond > 0")

    # ------------------------------------------------------------------ TorchGenerator hooks
    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        c = self.config
        return Denoiser(math.prod(feature_shape), n_classes, c.hidden, c.n_blocks, c.time_embed_dim, c.dropout)

    def train_config(self, n_train: int | None = None) -> TrainConfig:
        tc = super().train_config(n_train)
        if tc.epochs is None:
            n = n_train or tc.batch_size
            tc.epochs = max(1, math.ceil(self.config.train_steps / math.ceil(n / tc.batch_size)))
        return tc

    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Features standardised with the training set's mean and sd (a constant feature: sd 0, only centred)."""
        flat = X.reshape(len(X), -1).astype(np.float64)
        mean = flat.mean(axis=0)
        sd = flat.std(axis=0)
        sd = np.where(sd > 1e-12 * max(float(np.abs(flat).max()), 1e-300), sd, 0.0)  # 0: constant feature
        return (flat - mean) / np.where(sd > 0, sd, 1.0), {"mean": mean, "sd": sd}

    def after_fit(self, job: FitJob) -> None:
        self.extra_ = {"mean": torch.as_tensor(job.state["mean"]), "sd": torch.as_tensor(job.state["sd"])}

    @property
    def target(self) -> str:
        """The prediction target in use: ``config.target``, or for "auto" "eps" if d <= hidden else "x0"."""
        if self.config.target != "auto":
            return self.config.target
        assert self.feature_shape_ is not None
        return "eps" if math.prod(self.feature_shape_) <= self.config.hidden else "x0"

    def _net(self, module: nn.Module, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ε̂, x̂₀) from the network output, whichever the target."""
        ab = self._alpha_bar.to(x.dtype)[t][:, None]
        out = module(x, t, c)
        if self.target == "eps":
            return out, (x - torch.sqrt(1 - ab) * out) / torch.sqrt(ab)
        return (x - torch.sqrt(ab) * out) / torch.sqrt(1 - ab), out

    def loss(self, module: nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        n = len(x)
        t = torch.randint(0, cfg.timesteps, (n,))  # drawn on CPU, as before devices: same numbers
        eps = torch.randn_like(x)
        ab = self._alpha_bar.to(x.dtype)[t][:, None].to(x.device)
        t = t.to(x.device)
        xt = torch.sqrt(ab) * x + torch.sqrt(1 - ab) * eps
        if module.training and cfg.p_uncond > 0:
            null = self.label_count()
            c = torch.where((torch.rand(n) < cfg.p_uncond).to(c.device), torch.full_like(c, null), c)
        out = module(xt, t, c)
        if self.target == "eps":
            per_sample = ((out - eps) ** 2).mean(dim=1)
        else:
            snr = (ab / (1 - ab)).squeeze(1)
            per_sample = torch.clamp(snr, max=cfg.min_snr_gamma) * ((out - x) ** 2).mean(dim=1)
        return {"loss": per_sample.sum()}

    def label_count(self) -> int:
        assert self.classes_ is not None
        return len(self.classes_)

    def sample_timesteps(self) -> list[int]:
        """DDIM's descending sub-sequence ("leading" spacing: 0, T/S, 2T/S, ...)."""
        T, S = self.config.timesteps, self.config.sample_steps
        return [int(v) for v in (np.arange(S) * (T // S))[::-1]]

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        cfg = self.config
        module = self.module
        assert module is not None
        mean, sd = self.extra_["mean"], self.extra_["sd"]
        d = mean.numel()
        ab_all = self._alpha_bar
        x = torch.randn(len(c), d, generator=gen)
        null = torch.full_like(c, self.label_count())
        steps = self.sample_timesteps()
        for i, t in enumerate(steps):
            tt = torch.full((len(c),), t, dtype=torch.long)
            eps, x0 = self._net(module, x, tt, c)
            if cfg.guidance_scale != 1:
                eps_u, x0_u = self._net(module, x, tt, null)
                w = cfg.guidance_scale
                eps, x0 = eps_u + w * (eps - eps_u), x0_u + w * (x0 - x0_u)
            ab = float(ab_all[t])
            ab_prev = float(ab_all[steps[i + 1]]) if i + 1 < len(steps) else 1.0
            sigma = cfg.eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
            x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
            if sigma > 0:
                x = x + sigma * torch.randn(x.shape, generator=gen)
        return x.to(torch.float64) * sd + mean

    @classmethod
    def load(cls, path: str | Path) -> DDPM:
        self = super().load(path)
        assert self.feature_shape_ is not None
        d = int(math.prod(self.feature_shape_))
        for key in ("mean", "sd"):
            v = self.extra_.get(key)
            if v is None or tuple(v.shape) != (d,) or not bool(torch.isfinite(v).all()) or (
                    key == "sd" and bool((v < 0).any())):
                raise InputError(f"{path}: weights lack a valid 'extra.{key}' of {d} values")
        return self
