"""``vaelab-image``: vaelab's class-conditional VAE for small images (28x28 grey, MedMNIST-like).

Every part was kept because it measured better on the development chest X-rays (numbers and commands:
``benchmarks/RESULTS.md``, section "Images"):

* **Convolutional encoder-decoder** conditioned on the class (one-hot maps at the input and the
  output layer, one-hot vector at the bottleneck): 16 @ full size -> 32 @ 1/2 -> 64 @ 1/4, residual
  blocks at the two coarse levels (one at full size cost 3x the time for no measured gain).
  Hand-written (~60 lines, :mod:`vaelab.models.image.nets`) rather than MONAI's: MONAI 1.6 installs
  cleanly with the CPU torch, but its ``VarAutoEncoder`` has no class conditioning and a single
  output per pixel (we need a mean and a variance), so it would have been wrapped and patched more
  than used, for a 6 MB dependency.
* **A likelihood that does not blur samples.** The decoder outputs a mean and a log-variance per
  pixel (heteroscedastic Gaussian; ``beta = 1``, the plain ELBO, with KL warm-up) on pixels scaled to
  [0, 1] by the training set's own range (``pixels.fit_scale``: uint8 too, so 8-bit digits of grey
  levels 0..16 keep the variance floor at a fraction of a level; RESULTS, issue 11, session 14); uint8 /
  integer data are dequantised with uniform noise of one level. Samples are ``mean + sd * r``, not the mean:
  ``r`` is drawn per class from a Gaussian with the *empirical covariance* of the training images'
  whitened residuals ``(x - mean) / sd`` at their posterior means (a random Gaussian combination of
  real residual images), so samples carry the correlated texture of real images; independent
  per-pixel noise (``noise = "white"``) or the mean alone (``"none"``, what textbook VAEs show) are
  the measured alternatives. Option ``nll_power`` (default 0, the plain ELBO): in training each pixel's
  Gaussian NLL is weighted by its (detached) variance^p, normalised to mean 1 per image (beta-NLL, Seitzer et
  al. 2022). With the plain NLL the mean's gradient is scaled by 1 / variance, so where the decoder is unsure (an
  object's outline) the mean barely learns and the variance absorbs the shape. ``nll_power = 1`` fixed that on
  textured shapes (reconstructions judged as their class 0.67 -> 0.88, TSTR +0.06 on a validation set) and passed
  the validation rule on chest X-rays, but lowered TSTR AUC on the chest X-ray TEST split by 0.010 (1 of 9 seed
  pairs), so it is not the default (RESULTS, issue 11, session 7).
  Option ``adv_weight`` (default 0: no discriminator is built, the plain ELBO): an adversarial term on the decoded
  mean as in latent-diffusion autoencoders (:mod:`vaelab.models.image.adversary`: a class-conditional patch
  discriminator judges low-passed real images against the low-passed decoded means of their reconstructions, hinge
  loss, the term weighted adaptively so that its gradient at the decoder's last layer is ``adv_weight`` x the
  likelihood's, on from a quarter of the epochs; training only, nothing is saved with the model). Aimed at the
  blurred outline in which textured shapes lose their class (decoded means of real images' codes judged as their
  class 0.57, real images 0.93; session 15). Its discriminator's inputs are standardised by the training pixels'
  mean and sd: without that it never learned (offline 0.51 on its task after a fit's steps; standardised 0.94). With
  it, at LDM's weight 0.5 on textured shapes: the decoded means became sharp (edge gradient 17.9 -> 27.2, real 27.9;
  TSTR of those means 0.83 -> 0.87) but were still not judged as their class (0.57 -> 0.58; gate 0.75), and the
  samples (mean + texture) got worse (judged 0.58 -> 0.46, TSTR 0.82 -> 0.74: a sharp mean plus the residual draw
  is too sharp). Inside the fit the discriminator stayed at chance (hinge loss 0.99): the decoder, pushed at 0.5 x
  the likelihood's gradient, follows its every step (at 0.05, or with the decoder not pushed, it learns: 0.78 /
  0.74). At 0.05 on a new textured-shapes set the means' TSTR rose (0.82 -> 0.85) but the samples got worse again
  (judged 0.58 -> 0.55, TSTR 0.76 -> 0.75; the lead's gate failed). Not the default (RESULTS, issue 11, session 16).
  Option ``texture_draw = "neighbour"`` (default ``"gaussian"``, the class's residual Gaussian above; runs saved
  before the option load with it): a sample's whitened residual is that of the training image whose posterior mean is
  nearest the sampled code (same class; the training row the code was drawn from left out). With the plain NLL the
  object's outline stays partly in the residual, so a residual drawn independently of the code puts it where the
  decoded object is not; a neighbour's residual keeps it roughly aligned (textured shapes: decoded codes judged as
  their class 0.59 -> 0.71; with ``kde_kernel = "mixture"`` TSTR AUC +0.074 in 9 of 9 seed pairs on a new shapes set,
  0.89 x TRTR, C2ST at the real level; chest X-ray validation level). **It copies training images where the decoded
  mean carries little of the image**: on scikit-learn's 8x8 digits (the kernel width calibrates to 0 there) the
  samples were the training digits themselves (DCR 0.0-0.15; up to 100 % exact copies), which the pixel calibration
  cannot repair (it moves the code, not the residual). Not the default; do not use it without checking the DCR
  (RESULTS, issue 11, session 11). Its draw never reaches the calibration's novelty target (0.78-0.91 x on shapes and
  chest X-rays, 0-0.19 x on digits); mixing in the class-Gaussian residual until it does (a share calibrated by the
  same rule) was copy-safe on digits but took the share to 1 on shapes, i.e. gave up the gain (RESULTS, issue 11,
  session 11, second helper). ``texture_draw = "neighbour_guarded"``: the neighbour's residual except in classes
  whose samples at the calibrated width lie nearer their nearest training image than half the novelty target (the
  project's memorisation threshold, ``Thresholds.memorization_dcr``); those draw the class Gaussian's residual and
  their width is calibrated with it (stored per class as ``tex_guard``). On new validation sets (with ``kde_kernel =
  "mixture"``) it was the neighbour draw in every shapes and chest X-ray class (shapes TSTR AUC +0.070, 8 of 9
  seed pairs) and the default byte for byte in every digits class (0 % copies) (RESULTS, issue 11, session 11,
  third helper) — digits then fitted on the uint8 0..255 scale; on their own 0..16 scale (``fit_scale``, session 14)
  the guard fires in no digits class and the samples sit nearer the training digits (DCR 0.79-0.81 < 0.9, no exact
  copies; RESULTS, issue 11, session 15); on further new sets it passed its validation rule (shapes +0.087, 8 of 9; chest X-ray val +0.003),
  but on the chest X-ray TEST split its TSTR AUC was the default's −0.00205 (9 seed pairs; the adoption rule asked
  >= −0.002) with lower C2ST and FD: not the default (RESULTS, issue 11, session 12). ``fit_second_stage`` refits
  the sampler, texture and kernel width of a fitted network after such an option is changed.
* **Second-stage latent density** (Dai & Wipf 2019): codes are drawn per class from the aggregate
  posterior of the training images as a calibrated smoothed bootstrap (``prior = "kde"``): a random
  training image's posterior draw plus Gaussian kernel noise whose width is the smallest at which
  samples lie as far (median, in pixels) from their nearest training image as a left-out training
  image does from the others. The kernel draw is shrunk towards the class mean (``kde_shrink``,
  Silverman 1986, 6.4.1) so that the latent variance stays that of the aggregate posterior: the
  unshrunk kernel (h ~ 0.6-0.8 here) inflated it by 1 + h^2 ~ 1.4-1.6, samples were over-dispersed
  (pixel sd 41 vs 39, more of one class judged as the other). The kernel is shaped like the class's codes
  (``kde_kernel = "covariance"``: noise N(0, h^2 C_k), C_k the covariance of the class's posterior means,
  shrunk by ``1 / sqrt(1 + h^2)``, which keeps C_k *with its correlations*): the per-dimension kernel
  (``"gaussian"``, the default before; runs saved before load with it) shrunk to keep each dimension's
  variance replaced a share 1 - 1 / (1 + h^2 sd^2 / v) of every code by independent noise, which broke the
  correlations between latent dimensions; decoded, samples were less varied within a class in the domain
  features and twice as far from the training images in Fréchet distance as held-out real images (chest
  X-ray validation split, FD 0.56-0.72 vs real 0.29; with the covariance kernel 0.25-0.38 at the same
  novelty, RESULTS, issue 11, sixth session). The default ``"auto"`` is that kernel wherever a class has more
  codes than latent dimensions (every class measured), else the per-dimension one (a covariance of fewer codes
  than dimensions spans only their own directions; ``vaelab.samplers.kde``, as vaelab-cvae).
  ``"aggregate"`` (no kernel) and ``"standard"`` (N(0, I)) are options. Where the calibrated width reaches
  the grid's top (h = 10 on textured shapes), the shrunk kernel is in effect one Gaussian N(mean_k, C_k) per
  class, and decoded codes lose their class (RESULTS, issue 11, session 8); ``"gmm"`` (a mixture per class)
  and ``"diffusion"`` (a class-conditional DDPM of the codes, ``ldm_steps`` optimiser steps) are options,
  measured there. ``kde_kernel = "mixture"`` keeps the calibrated kde but shapes each code's kernel like its
  cluster (a Gaussian mixture of the class's codes), so a wide kernel becomes that mixture instead of one
  Gaussian: on textured shapes lower FD and C2ST than the default and TSTR +0.02 (5 of 9 seed pairs), which did
  not pass the validation rule; an option (RESULTS, issue 11, session 9).
* **Cosine learning-rate decay** (``lr_schedule = "cosine"``, from ``lr`` to ``lr_final * lr`` = 0.1 x over
  the epochs): the network no longer stops at a noisy point of constant-rate Adam. On a validation split of
  the training images it lowered the held-out negative ELBO by 50-100 nats per image (3 of 3 seeds) at the
  same cost, FD in domain features 0.95 -> 0.62, TSTR level; a moving average of the weights
  (``ema_decay``) on top added nothing. On the test split it did not raise TSTR (RESULTS, fifth session).
  Runs saved before the option load as trained (``"constant"``).
* **Compute budget** in optimiser steps (``min_steps``, when ``epochs`` is not given): small sets get
  more epochs, so a few hundred images are not under-trained; 2,500 images of 28x28 take ~2 min on one CPU core.
  Images of fewer pixels get ``784 / (H W)`` times the steps (a step costs about that much less), at most
  ``small_image_steps`` = 4x: scikit-learn's 8x8 digits were under-trained at 35 epochs (decoder mean far
  from the images; FD in domain features 0.40-0.59 vs real 0.21), at 137 epochs FD 0.11-0.22, C2ST 0.73 -> 0.50,
  TSTR level, in 60 CPU s (RESULTS, issue 11, sixth session).

Posterior API (for completion / restoration / latent maps): :meth:`VaelabImage.encode`,
:meth:`VaelabImage.decode`, both on images in the training scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.metrics.flags import Thresholds
from vaelab.models.base import ModelConfig, encode_labels
from vaelab.models.image.adversary import Adversary, pixel_stats
from vaelab.models.image.nets import ConvCVAENet
from vaelab.models.image.pixels import (
    fit_scale,
    from_nchw,
    from_unit,
    image_shape,
    image_support,
    level_width,
    to_nchw,
    to_unit,
)
from vaelab.models.texture import draw_residuals, residual_rows
from vaelab.models.torch_base import FitJob, TorchGenerator
from vaelab.samplers import make_sampler
from vaelab.samplers.kde import CENTRES as KDE_CENTRES
from vaelab.samplers.kde import KERNELS as KDE_KERNELS
from vaelab.samplers.kde import novelty_targets, sample_novelty
from vaelab.training.trainer import TrainConfig, check_training_options, torch_threads

_LOG2PI = math.log(2 * math.pi)
GUARD_RATIO = Thresholds().memorization_dcr  # "neighbour_guarded": the project's memorisation threshold (0.5)
TEXTURE_DRAWS = ("gaussian", "neighbour", "neighbour_guarded")  # how noise = "texture" draws a residual (_draw_unit)
NEIGHBOUR_DRAWS = ("neighbour", "neighbour_guarded")  # draws that keep the training residuals and codes


@dataclass
class VaelabImageConfig(ModelConfig):
    # runs saved before these options existed: kernel calibrated unshrunk and per dimension, constant rate
    SAVED_BEFORE: ClassVar[dict[str, Any]] = {"kde_shrink": False, "kde_kernel": "gaussian", "lr_schedule": "constant"}
    latent_dim: int = 32
    channels: tuple[int, int, int] | list[int] = (16, 32, 64)
    res_blocks: tuple[bool, bool, bool] | list[bool] = (False, True, True)  # per level: full, 1/2, 1/4
    nll_power: float = 0.0  # training: each pixel's NLL weighted by its detached variance^p (beta-NLL), mean 1 per image
    adv_weight: float = 0.0  # training: a patch discriminator's term on the decoded mean, x the adaptive weight (adversary)
    min_logvar: float = -9.0  # lower bound of the per-pixel log-variance ([0, 1] units); upper bound 0
    beta: float = 1.0
    kl_warmup: int = 5  # epochs over which the KL weight rises to beta
    prior: str = "kde"  # "kde" | "aggregate" | "standard" | "gmm" | "diffusion" (vaelab.samplers)
    kde_shrink: bool = True  # "kde": shrink kernel draws towards the class mean (keeps the latent variance)
    kde_kernel: str = "auto"  # "kde": "auto" (covariance where a class has > latent_dim codes) | "covariance" | "gaussian"
    #                                 N(0, h^2 C) | N(0, h^2 sd^2) | "neighbours" (SMOTE) | "mixture" (C of the code's cluster)
    kde_centre: str = "draw"  # "kde": kernel centred on a training image's posterior "draw" | its posterior "mean"
    ldm_steps: int = 2000  # "diffusion": optimiser steps of the latent denoiser (vaelab.samplers.diffusion)
    noise: str = "texture"  # "texture" | "white" | "none"
    texture_draw: str = "gaussian"  # noise "texture": the class's residual Gaussian | the nearest code's ("neighbour")
    #                                 | the nearest code's except in classes where it copies ("neighbour_guarded")
    texture_cells: int = 1 << 22  # at most this many numbers per class for the residual covariance
    min_steps: int = 750  # epochs = None: 20, raised until at least this many optimiser steps are taken (28x28)
    small_image_steps: float = 4.0  # images of fewer pixels than 28x28: min_steps x 784 / (H W), at most this x
    epochs: int | None = None  # None: automatic (see min_steps); a number: exactly that many
    batch_size: int = 64
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # "cosine" | "constant" (vaelab.training.trainer.learning_rate)
    lr_final: float = 0.1  # cosine: the last epoch's rate as a share of lr
    ema_decay: float | None = None  # None: the last weights; a number: their moving average (EMA callback)
    weight_decay: float = 0.0
    grad_clip: float | None = 100.0
    val_fraction: float = 0.0
    patience: int | None = None
    min_epochs: int = 0


def _check_config(cfg: VaelabImageConfig) -> None:
    def positive_int(name: str, v: object, lo: int = 1) -> None:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InputError(f"vaelab-image: {name} must be an integer >= {lo}, got {v!r}")

    for name in ("latent_dim", "batch_size", "texture_cells", "ldm_steps"):
        positive_int(name, getattr(cfg, name))
    if cfg.epochs is not None:
        positive_int("epochs", cfg.epochs)
    for name in ("kl_warmup", "min_steps", "min_epochs"):
        positive_int(name, getattr(cfg, name), 0)
    ch = list(cfg.channels) if isinstance(cfg.channels, (list, tuple)) else []
    if len(ch) != 3 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in ch):
        raise InputError(f"vaelab-image: channels must be 3 positive integers, got {cfg.channels!r}")
    rb = list(cfg.res_blocks) if isinstance(cfg.res_blocks, (list, tuple)) else []
    if len(rb) != 3 or any(not isinstance(v, bool) for v in rb):
        raise InputError(f"vaelab-image: res_blocks must be 3 booleans, got {cfg.res_blocks!r}")
    for key, allowed in {"prior": ("kde", "aggregate", "standard", "gmm", "diffusion"),
                         "noise": ("texture", "white", "none"), "texture_draw": TEXTURE_DRAWS,
                         "kde_kernel": KDE_KERNELS, "kde_centre": KDE_CENTRES}.items():
        if getattr(cfg, key) not in allowed:
            raise InputError(f"vaelab-image: {key} must be one of {', '.join(allowed)}, got {getattr(cfg, key)!r}")
    v = cfg.small_image_steps
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1 <= v <= 64:
        raise InputError(f"vaelab-image: small_image_steps must be a number in [1, 64], got {v!r}")
    for key in ("beta", "lr", "weight_decay", "nll_power", "adv_weight"):
        v = getattr(cfg, key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise InputError(f"vaelab-image: {key} must be a finite number >= 0, got {v!r}")
    check_training_options("vaelab-image", cfg)
    if not isinstance(cfg.kde_shrink, bool):
        raise InputError(f"vaelab-image: kde_shrink must be true or false, got {cfg.kde_shrink!r}")
    if isinstance(cfg.min_logvar, bool) or not isinstance(cfg.min_logvar, (int, float)) or not -30 <= cfg.min_logvar < 0:
        raise InputError(f"vaelab-image: min_logvar must be in [-30, 0), got {cfg.min_logvar!r}")
    if not isinstance(cfg.val_fraction, (int, float)) or isinstance(cfg.val_fraction, bool) or not 0 <= cfg.val_fraction < 1:
        raise InputError(f"vaelab-image: val_fraction must be in [0, 1), got {cfg.val_fraction!r}")


class VaelabImage(TorchGenerator):
    """Class-conditional conv VAE with a texture-preserving likelihood and a calibrated latent sampler."""

    name = "vaelab-image"
    Config = VaelabImageConfig
    modalities = ("image",)

    def __init__(self, config: ModelConfig | None = None, **overrides):
        super().__init__(config, **overrides)
        _check_config(self.config)
        self._scale: torch.Tensor | None = None
        self._adversary: Adversary | None = None  # adv_weight > 0: the discriminator of the running fit
        self._pixels: tuple[torch.Tensor, torch.Tensor] | None = None  # adv_weight > 0: its input standardisation

    @classmethod
    def supports(cls, feature_shape: tuple[int, ...]) -> str | None:
        return image_support(feature_shape)

    # ------------------------------------------------------------------ network
    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> torch.nn.Module:
        cfg = self.config
        return ConvCVAENet(image_shape(tuple(feature_shape)), n_classes, cfg.latent_dim, tuple(cfg.channels),
                           tuple(cfg.res_blocks), cfg.min_logvar)

    def callbacks(self) -> list[Any]:
        """The base class's (EMA when asked for) and, with ``adv_weight > 0``, the discriminator of this fit."""
        cbs = super().callbacks()
        self._adversary = None
        if self.config.adv_weight > 0:
            assert self.feature_shape_ is not None and self.classes_ is not None
            self._adversary = Adversary(image_shape(tuple(self.feature_shape_))[0], len(self.classes_),
                                        self.config.adv_weight, self.config.kl_warmup, pixels=self._pixels)
            cbs.append(self._adversary)
        return cbs

    def train_config(self, n_train: int | None = None) -> TrainConfig:
        d = self.config.to_dict()
        if d["epochs"] is None:
            steps_per_epoch = max(1, math.ceil((n_train or 1) / d["batch_size"]))
            d["epochs"] = max(20, math.ceil(self.min_steps() / steps_per_epoch))
        return TrainConfig(**{k: d[k] for k in TrainConfig.__dataclass_fields__ if k in d})

    def min_steps(self) -> int:
        """The compute budget in optimiser steps: ``min_steps`` for 28x28 images; images of fewer pixels (a step
        costs less) get ``784 / (H W)`` times as many, at most ``small_image_steps`` times."""
        cfg = self.config
        if self.feature_shape_ is None:
            return cfg.min_steps
        _, h, w = image_shape(tuple(self.feature_shape_))
        return math.ceil(cfg.min_steps * min(max(1.0, 784 / (h * w)), cfg.small_image_steps))

    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict]:
        self._scale = fit_scale(X)
        flat = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
        if self.config.adv_weight > 0:  # the discriminator's inputs: standardised by the training pixels
            shape = tuple(int(s) for s in np.shape(X)[1:])
            self._pixels = pixel_stats(to_nchw(to_unit(torch.as_tensor(flat), self._scale), shape))
        return flat, {"scale": self._scale}

    def _scale_t(self) -> torch.Tensor:
        return self._scale if self._scale is not None else self.extra_["scale"]

    def _unit(self, flat: torch.Tensor) -> torch.Tensor:
        """Rows in the training scale -> (n, C, H, W) in [0, 1]."""
        assert self.feature_shape_ is not None
        return to_nchw(to_unit(flat, self._scale_t()), self.feature_shape_).float()

    def loss(self, module: torch.nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        u = self._unit(x)
        if module.training:
            u = u + torch.rand_like(u) * level_width(self._scale_t())  # dequantise integer levels
            kw = cfg.beta * (1.0 if cfg.kl_warmup == 0 else min(1.0, (epoch + 1) / cfg.kl_warmup))
            eps = torch.randn(len(u), cfg.latent_dim, device=u.device)
        else:
            kw = 1.0
            eps = torch.randn(len(u), cfg.latent_dim, device=u.device,
                              generator=torch.Generator(device=u.device).manual_seed(0))
        mu, logvar = module.encode(u, c)
        z = mu + torch.exp(0.5 * logvar) * eps
        mean, dec_logvar = module.decode(z, c)
        nll = 0.5 * (dec_logvar + (u - mean) ** 2 / dec_logvar.exp() + _LOG2PI)
        if module.training and cfg.nll_power > 0:
            w = torch.exp(cfg.nll_power * dec_logvar.detach())
            nll = nll * w / w.mean(dim=(1, 2, 3), keepdim=True)
        rec = nll.sum()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum()
        terms = {"loss": rec + kw * kl, "reconstruction": rec, "kl": kl}
        adv = self._adversary
        if module.training and adv is not None and adv.active(epoch):
            term, g = adv.generator_term(u, mean, c, rec, module.dec_out.weight)
            terms.update(loss=terms["loss"] + term, adversarial=g)
        return terms

    # ------------------------------------------------------------------ second stage
    def sampler(self) -> Any:
        """The latent sampler (:mod:`vaelab.samplers`) of ``config.prior``, unfitted."""
        cfg = self.config
        if cfg.prior == "standard":
            return make_sampler("standard", latent_dim=cfg.latent_dim)
        if cfg.prior == "kde":
            return make_sampler("kde", kernel=cfg.kde_kernel, shrink=cfg.kde_shrink, centre=cfg.kde_centre)
        if cfg.prior == "diffusion":
            return make_sampler("diffusion", train_steps=cfg.ldm_steps)
        return make_sampler(cfg.prior)

    def _latent_sampler(self) -> Any:
        keys = {k: v for k, v in self.extra_.items() if k.startswith(("train_", "kde_", "gmm_", "std_", "ldm_"))}
        return self.sampler().load_state_dict(keys)

    def after_fit(self, job: FitJob) -> None:
        """Second stage on ALL training images (a validation part included): posteriors for the latent
        sampler, the per-class residual Gaussians, the kernel width (calibrated in pixels)."""
        self.fit_second_stage(job.X_all, job.c_all, seed=job.seed)

    def fit_second_stage(self, X: torch.Tensor, c: torch.Tensor, *, seed: int) -> None:
        """Fit the latent sampler, the texture residuals and the kernel width of the fitted network on the training
        images ``X`` (n, d) in the training scale of class indices ``c`` (what ``fit`` does after training; run
        again after a sampler or texture option was changed, it refits only these, the network unchanged)."""
        assert self.classes_ is not None
        scale = self._scale_t().clone()
        module = self.module
        u = self._unit(X)
        mu, logvar = _batched_encode(module, u, c)
        mean, dec_logvar = _batched_decode(module, mu, c)
        w = ((u - mean) / torch.exp(0.5 * dec_logvar)).reshape(len(u), -1)
        sampler = self.sampler().fit(mu, logvar, c, len(self.classes_), seed=seed)
        extra: dict[str, torch.Tensor] = {"scale": scale, **sampler.state_dict()}
        extra.update(residual_rows(w, c, len(self.classes_), self.config.texture_cells, seed))
        if self.config.texture_draw in NEIGHBOUR_DRAWS:
            extra.update(tex_all=w.clone(), tex_code=mu.clone(), tex_class=c.clone())
        if self.config.texture_draw == "neighbour_guarded":
            extra["tex_guard"] = torch.zeros(len(self.classes_))  # 1: the class draws the Gaussian texture
        self.extra_ = extra
        self._scale = None
        sampler = self._latent_sampler()  # shares its tensors with extra_ (kde_h is set in place)
        sampler.calibrate(self.generate, X, c, seed=seed)
        if self.config.texture_draw == "neighbour_guarded" and self._set_copy_guard(X, c, seed=seed):
            sampler.calibrate(self.generate, X, c, seed=seed)  # guarded classes: as the Gaussian texture is

    def _set_copy_guard(self, X: torch.Tensor, c: torch.Tensor, *, seed: int) -> bool:
        """``texture_draw = "neighbour_guarded"``: guard (``tex_guard[k] = 1``) each class whose samples at the
        calibrated width are nearer their nearest training image than ``GUARD_RATIO`` x the calibration's novelty
        target (the rule and samples of ``CalibratedKDE.calibrate``); True if any class is guarded."""
        guard = self.extra_["tex_guard"]
        for k, ck, target, ref in novelty_targets(X, c, seed=seed):
            guard[k] = float(sample_novelty(self.generate, ck, ref, seed=seed) < GUARD_RATIO * target)
        return bool(guard.any())

    @classmethod
    def load(cls, path: Any) -> VaelabImage:
        self = super().load(path)
        try:
            self._latent_sampler()
        except InputError as e:
            raise InputError(f"{path}: {e}") from None
        draw = self.config.texture_draw
        if draw in NEIGHBOUR_DRAWS:
            keys = ("tex_all", "tex_code", "tex_class") + (("tex_guard",) if draw == "neighbour_guarded" else ())
            if any(k not in self.extra_ for k in keys):
                raise InputError(f"{path}: texture_draw = '{draw}' needs {', '.join(keys)} in the weights")
            n, d, L = len(self.extra_["tex_class"]), int(math.prod(self.feature_shape_)), self.config.latent_dim
            if self.extra_["tex_all"].shape != (n, d) or self.extra_["tex_code"].shape != (n, L):
                raise InputError(f"{path}: texture_draw = '{draw}': residuals or codes of inconsistent shapes")
            if draw == "neighbour_guarded" and self.extra_["tex_guard"].shape != (len(self.classes_),):
                raise InputError(f"{path}: texture_draw = '{draw}': tex_guard must hold one value per class")
        return self

    # ------------------------------------------------------------------ posterior API
    def encode(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance ``(n, latent_dim)`` of images ``X`` (n, *feature_shape) of classes ``y``."""
        self._check_fitted()
        assert self.classes_ is not None
        with torch_threads(), torch.no_grad():
            u = self._unit(torch.as_tensor(np.asarray(X, dtype=np.float64).reshape(len(X), -1), dtype=torch.float32))
            c = torch.as_tensor(encode_labels(np.asarray(y), self.classes_), dtype=torch.long)
            mu, logvar = _batched_encode(self.module, u, c)
        return mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)

    def decode(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoder mean (in the training scale, not rounded) and per-pixel log-variance (in [0, 1] units),
        each ``(n, *feature_shape)``, for codes ``z`` (n, latent_dim) of classes ``y``."""
        self._check_fitted()
        assert self.classes_ is not None and self.feature_shape_ is not None
        with torch_threads(), torch.no_grad():
            c = torch.as_tensor(encode_labels(np.asarray(y), self.classes_), dtype=torch.long)
            mean, lv = _batched_decode(self.module, torch.as_tensor(np.asarray(z), dtype=torch.float32), c)
            lo, hi = (float(v) for v in self.extra_["scale"][:2])
            m = lo + from_nchw(mean, self.feature_shape_).double() * (hi - lo)
            lvf = from_nchw(lv, self.feature_shape_).double()
        shape = (len(c), *self.feature_shape_)
        return m.numpy().reshape(shape), lvf.numpy().reshape(shape)

    # ------------------------------------------------------------------ sampling
    def _draw_unit(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Samples (n, C, H, W) in [0, 1] for class indices ``c``."""
        sampler = self._latent_sampler()
        draw = self.config.texture_draw
        if self.config.noise == "texture" and draw in NEIGHBOUR_DRAWS and hasattr(sampler, "sample_rows"):
            z, _, rows = sampler.sample_rows(c, gen)  # the training row each code was drawn from (same numbers)
        else:
            (z, _), rows = sampler.sample(c, gen), None
        mean, logvar = _batched_decode(self.module, z, c)
        noise = self.config.noise
        if noise == "none":
            return mean.clamp(0, 1)
        if noise == "white":
            r = torch.randn(mean.shape, generator=gen)
        elif draw == "neighbour":
            r = self._neighbour_residuals(z, c, rows).view_as(mean)
        else:
            r = draw_residuals(self.extra_["tex_rows"], self.extra_["tex_mean"], c, gen).view_as(mean)
            if draw == "neighbour_guarded":  # the Gaussian draw (same numbers as "gaussian") only where guarded
                keep = (self.extra_["tex_guard"][c] == 0).view(-1, *[1] * (mean.dim() - 1))
                r = torch.where(keep, self._neighbour_residuals(z, c, rows).view_as(mean), r)
        return (mean + torch.exp(0.5 * logvar) * r).clamp(0, 1)

    def _neighbour_residuals(self, z: torch.Tensor, c: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
        """``texture_draw = "neighbour"``: for each code ``z`` (n, L) of class ``c``, the whitened residual (n, D) of
        the training image of that class whose posterior mean is nearest, the row ``rows`` it was drawn from
        excluded (so a code drawn close to its training image does not take back that image's residual; ``None``:
        nothing excluded). The decoder leaves an object's outline partly in the residual; a residual drawn
        independently of the code puts it where the decoded object is not (RESULTS, issue 11, session 11)."""
        w, code, cls = (self.extra_[k] for k in ("tex_all", "tex_code", "tex_class"))
        out = torch.zeros(len(z), w.shape[1])
        for k in torch.unique(c).tolist():
            where, own = torch.nonzero(c == k).flatten(), torch.nonzero(cls == k).flatten()
            if len(own) == 0:
                continue
            d = torch.cdist(z[where], code[own])
            if rows is not None and len(own) > 1:
                d[own.unsqueeze(0) == rows[where].unsqueeze(1)] = float("inf")
            out[where] = w[own[d.argmin(dim=1)]]
        return out

    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        assert self.feature_shape_ is not None
        return from_unit(from_nchw(self._draw_unit(c, gen), self.feature_shape_), self.extra_["scale"]).float()


def _batched_encode(module: torch.nn.Module, u: torch.Tensor, c: torch.Tensor, bs: int = 512):
    parts = [module.encode(u[i:i + bs], c[i:i + bs]) for i in range(0, len(u), bs)]
    if not parts:
        return torch.zeros(0, module.latent), torch.zeros(0, module.latent)
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _batched_decode(module: torch.nn.Module, z: torch.Tensor, c: torch.Tensor, bs: int = 512):
    parts = [module.decode(z[i:i + bs], c[i:i + bs]) for i in range(0, len(z), bs)]
    if not parts:
        shape = (0, *module.shape)
        return torch.zeros(shape), torch.zeros(shape)
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

