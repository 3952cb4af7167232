"""``vaelab-audio``: a class-conditional convolutional VAE on log-mel spectrograms.

Input: log-mel ``(n, n_mels, T)`` (natural log, see :mod:`vaelab.modalities.audio.mel`), standardised per
mel bin on the training clips. Two architectures:

* ``patch`` (default): mel bins as channels; a stride-4 convolution embeds 4-frame patches, residual 1-D
  convolution blocks work at T/4, a stride-4 layer decodes (``upsample``: ``"patch"``, kernel 4, each 4-frame
  patch from one step; ``"overlap"``, kernel 8; ``"linear"``, interpolation x4 + kernel-3 convolution; see
  PatchVAE). Latent ``latent_channels x T/4`` (128 x T/4 = AudioLDM2's 8 x 16 x T/4 values when reshaped). No
  downsampling in frequency at all.
* ``audioldm2``: the reference layout of AudioLDM2's VAE: 2-D convolutions, 4x downsampling in frequency and
  time, 8 latent channels (latent 8 x n_mels/4 x T/4).

Likelihood: Gaussian with one variance per mel bin. ``sigma="learned"`` trains it as a parameter;
``sigma="optimal"`` sets it to each bin's batch mean squared error (the calibrated decoder of Rybkin et al.
2021, "sigma-VAE"). ``beta`` weights the KL term. Time is padded to a multiple of 4 (edge frames repeated)
and cropped back.

One log-mel from the decoder (``output``, what :meth:`VaelabAudio.decode` and reconstructions give): the decoder mean
``m`` plus a per-mel-bin offset fitted on the training clips after training (at their posterior means; saved with
the run):

* ``output = "energy"`` (default): the offset that gives every mel bin, summed over the training clips and frames,
  the training clips' energy (``exp(2 x / power)``; ``power`` 1 for the magnitude mel, 2 for a power mel). This is
  the same per-mel-bin gain as the ``eq`` baseline of :mod:`vaelab.modalities.audio.enhance` (energy matching on the
  training clips), so ``eq`` on top of this decode fits a gain of ~0 and gives the same log-mel.
* ``output = "mean"``: the offset that makes the decoder unbiased on its training clips in the log-mel domain (the
  mean residual ``x - m`` per bin: the output bias at its least-squares optimum with the rest of the network fixed).

Why an offset fitted after training (measured on EmoDB, issue 13; training clips and held-out clips of the training
speakers): a smooth mean carries less energy than the clip (Jensen: ``E exp(2x) > exp(2 E x)``), and the Gaussian
correction ``m + s^2 / power`` of the decoder's variance ``s^2`` overshoots because the residual is neither unbiased
nor level-independent: with the constant-rate Adam of training, the decoder's mean residual on its own training
clips wanders by about +-0.1 log units from epoch to epoch (the output bias is never at its optimum when training
stops, and the sign differs from run to run), and even with that bias removed, ``m + s^2`` carried 0.4-1.1 dB more
energy than the clips (the unbiased mean alone already 0.2-0.4 dB more: the residual is not a level-independent
Gaussian). Matching the energy directly depends on neither. Runs saved before the offsets existed decode as they were saved: ``"energy"`` adds
``s^2 / power`` (the re-estimated ``dec_var``, or the trained ``logvar`` for still older runs), ``"mean"`` adds
nothing.

Sampling: a latent sampler of :mod:`vaelab.samplers` on the flattened codes, ``sampler = "aggregate"`` (default:
the posterior ``N(mu_i, sigma_i^2)`` of a random training clip of the requested class, decoded with the class) or
``"standard"`` (N(0, I)). The run folder therefore holds the training clips' posterior codes.
Samples are ``m(z) + texture`` (``noise = "texture"``, default): the texture is drawn per class from a Gaussian
with the empirical covariance of the training clips' residuals ``x - m(mu)`` at their posterior means (whitened by
the decoder's sd per bin; :mod:`vaelab.models.texture`, shared with vaelab-image), so samples carry the fine
time-frequency structure the smooth mean leaves out, and with it their energy. ``noise = "none"``: the decoded
log-mel of ``output`` alone.
Training: Adam at ``lr`` (``lr_schedule = "cosine"`` decays it to ``lr_final x lr`` over the epochs,
:func:`vaelab.training.trainer.learning_rate`); ``ema_decay`` replaces the final weights by their exponential moving
average (:class:`vaelab.training.callbacks.EMA`).
After training, the per-mel-bin equaliser gain (``eq``) and the enhancement parameters are fitted on the
training clips and saved with the weights (see :mod:`vaelab.modalities.audio.enhance`), and so is the vocoder's
level lift (``vocoder_lift``: :func:`vaelab.modalities.audio.vocoder.fit_level_lift` on every k-th training clip, about
``LIFT_CLIPS``), which :func:`vaelab.modalities.audio.generate.vocode_generated` subtracts before Griffin-Lim when
generated clips are written with ``vocoder = "griffin-lim"`` (not for bare arrays whose shape is not the run's mel
shape). ``vocoder`` is how ``generate`` and ``reconstruct`` write clips: ``"refine"`` (the default) follows
Griffin-Lim by gradient descent of the waveform towards the log-mel (:func:`vaelab.modalities.audio.vocoder.refine`),
which needs no pre-compensation; ``"griffin-lim"`` writes the pre-compensated Griffin-Lim output (runs saved before
the option load as ``"griffin-lim"`` and write as they did). Chosen on two train-only validation splits (samples'
CNN C2ST lower in 8 of 9 paired comparisons) and confirmed once on the test speakers (benchmarks/RESULTS.md, issue 13
sessions 8-9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from vaelab.core.errors import InputError
from vaelab.core.labels import encode_labels
from vaelab.modalities.audio.vocoder import VOCODERS
from vaelab.models.base import ModelConfig
from vaelab.models.torch_base import FitJob, TorchGenerator
from vaelab.training.trainer import check_training_options

SAMPLERS = ("aggregate", "standard")
UPSAMPLE = ("patch", "overlap", "linear")
LIFT_CLIPS = 64  # training clips (every k-th) whose Griffin-Lim round trip fits the vocoder's level lift


def energy_shift(var: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Log-mel shift ``var / power`` (same shape as ``var``) that gives a Gaussian log-mel's expected energy (what
    ``output = "energy"`` adds in runs saved before the fitted offsets existed).

    For ``x ~ N(m, var)`` (natural-log mel of ``power`` 1: magnitude, 2: power) the energy is ``exp(2 x / power)``
    and ``E exp(2 x / power) = exp(2 (m + var / power) / power)`` (the log-normal mean), so ``m + var / power`` is the
    log-mel carrying the expected energy; ``m`` alone carries ``8.69 var / power^2`` dB less.
    """
    return np.asarray(var, dtype=np.float64) / float(power)


@dataclass
class VaelabAudioConfig(ModelConfig):
    SAVED_BEFORE: ClassVar[dict[str, Any]] = {"upsample": "patch", "vocoder": "griffin-lim"}

    arch: str = "patch"  # patch | audioldm2
    width: int = 192
    latent_channels: int = 128
    n_res: int = 2
    upsample: str = "patch"  # patch | overlap | linear: the patch decoder's last layer (see PatchVAE)
    beta: float = 0.1
    sigma: str = "optimal"  # optimal | learned
    sampler: str = "aggregate"  # aggregate | standard (vaelab.samplers)
    output: str = "energy"  # energy | mean: the log-mel decode() gives (see the module docstring)
    noise: str = "texture"  # texture | none: what samples add to the decoded log-mel
    vocoder: str = "refine"  # refine | griffin-lim: how generate / reconstruct write clips
    texture_cells: int = 1 << 22  # at most this many numbers per class for the residual covariance
    epochs: int = 100
    batch_size: int = 32
    lr: float = 2e-3
    lr_schedule: str = "constant"  # constant | cosine (vaelab.training.trainer.learning_rate)
    lr_final: float = 0.1  # cosine: the last epoch's rate as a share of lr
    ema_decay: float | None = None  # average of the weights (vaelab.training.callbacks.EMA); None: off
    weight_decay: float = 0.0
    grad_clip: float | None = None
    val_fraction: float = 0.0
    patience: int | None = None
    min_epochs: int = 0
    mel: dict[str, Any] | None = field(default=None)  # MelParams.to_dict() of the data (set by train)

    def __post_init__(self) -> None:
        if self.arch not in ("patch", "audioldm2"):
            raise InputError(f"vaelab-audio: arch must be 'patch' or 'audioldm2', got {self.arch!r}")
        if self.upsample not in UPSAMPLE:
            raise InputError(f"vaelab-audio: upsample must be one of {', '.join(UPSAMPLE)}, got {self.upsample!r}")
        if self.vocoder not in VOCODERS:
            raise InputError(f"vaelab-audio: vocoder must be one of {', '.join(VOCODERS)}, got {self.vocoder!r}")
        if self.sampler not in SAMPLERS:
            raise InputError(f"vaelab-audio: sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        for key, allowed in (("output", ("energy", "mean")), ("noise", ("texture", "none"))):
            if getattr(self, key) not in allowed:
                raise InputError(f"vaelab-audio: {key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if self.sigma not in ("learned", "optimal"):
            raise InputError(f"vaelab-audio: sigma must be 'learned' or 'optimal', got {self.sigma!r}")
        for k in ("width", "latent_channels", "epochs", "batch_size", "texture_cells"):
            v = getattr(self, k)
            if not (isinstance(v, int) and v >= 1):
                raise InputError(f"vaelab-audio: {k} must be a positive integer, got {v!r}")
        if self.width % 8:
            raise InputError("vaelab-audio: width must be a multiple of 8 (group norm)")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise InputError(f"vaelab-audio: beta must be >= 0, got {self.beta!r}")
        check_training_options("vaelab-audio", self)


class _Res(nn.Module):
    def __init__(self, c: int, dim: int):
        super().__init__()
        conv = nn.Conv1d if dim == 1 else nn.Conv2d
        self.n1, self.n2 = nn.GroupNorm(8, c), nn.GroupNorm(8, c)
        self.c1, self.c2 = conv(c, c, 3, padding=1), conv(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.silu(self.n2(self.c1(F.silu(self.n1(x))))))


class _Linear4(nn.Module):
    """Resize-convolution: features linearly interpolated x4 in time, then a kernel-3 convolution."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(h, scale_factor=4, mode="linear", align_corners=False))


class PatchVAE(nn.Module):
    """Mel bins as channels, 4-frame patches, 1-D residual blocks at T/4.

    The last decoder layer (``upsample``) turns T/4 feature steps into T frames: ``"patch"`` a transposed
    convolution with kernel = stride = 4 (each 4-frame patch from one step, so the mean can jump at patch
    boundaries), ``"overlap"`` kernel 8, stride 4 (every frame from two adjacent steps; a kernel that is a multiple
    of the stride overlaps evenly, Odena et al. 2016, "Deconvolution and checkerboard artifacts"), ``"linear"`` a
    resize-convolution (linear interpolation x4, then a kernel-3 convolution; same paper).
    """

    def __init__(self, n_mels: int, n_classes: int, width: int, zc: int, n_res: int, upsample: str = "patch"):
        super().__init__()
        self.emb_e, self.emb_d = nn.Embedding(n_classes, width), nn.Embedding(n_classes, width)
        self.e0 = nn.Conv1d(n_mels, width, 4, stride=4)
        self.er = nn.Sequential(*[_Res(width, 1) for _ in range(n_res)])
        self.eo = nn.Conv1d(width, 2 * zc, 1)
        self.d0 = nn.Conv1d(zc, width, 3, padding=1)
        self.dr = nn.Sequential(*[_Res(width, 1) for _ in range(n_res)])
        if upsample == "linear":
            self.do: nn.Module = _Linear4(width, n_mels)
        else:
            self.do = nn.ConvTranspose1d(width, n_mels, *((4, 4, 0) if upsample == "patch" else (8, 4, 2)))
        self.register_buffer("logvar", torch.zeros(n_mels))
        self.logvar_param = nn.Parameter(torch.zeros(n_mels))

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.e0(x) + self.emb_e(c)[:, :, None]
        mu, lv = self.eo(F.silu(self.er(h))).chunk(2, dim=1)
        return mu, lv.clamp(-12.0, 6.0)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.d0(z) + self.emb_d(c)[:, :, None]
        return self.do(F.silu(self.dr(h)))


class AudioLDM2VAE(nn.Module):
    """2-D convolutions, 4x down in frequency and time, 8 latent channels (AudioLDM2's latent layout)."""

    def __init__(self, n_mels: int, n_classes: int, width: int, zc: int, n_res: int):
        super().__init__()
        w1, w2 = max(8, width // 4), max(8, width // 2)
        self.emb_e, self.emb_d = nn.Embedding(n_classes, w2), nn.Embedding(n_classes, w2)
        self.e0 = nn.Conv2d(1, w1, 3, padding=1)
        self.e1 = nn.Conv2d(w1, w2, 4, stride=2, padding=1)
        self.e2 = nn.Conv2d(w2, w2, 4, stride=2, padding=1)
        self.er = nn.Sequential(*[_Res(w2, 2) for _ in range(n_res)])
        self.eo = nn.Conv2d(w2, 2 * zc, 3, padding=1)
        self.d0 = nn.Conv2d(zc, w2, 3, padding=1)
        self.dr = nn.Sequential(*[_Res(w2, 2) for _ in range(n_res)])
        self.d1 = nn.ConvTranspose2d(w2, w2, 4, stride=2, padding=1)
        self.d2 = nn.ConvTranspose2d(w2, w1, 4, stride=2, padding=1)
        self.do = nn.Conv2d(w1, 1, 3, padding=1)
        self.register_buffer("logvar", torch.zeros(n_mels))
        self.logvar_param = nn.Parameter(torch.zeros(n_mels))

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.e1(F.silu(self.e0(x[:, None]))) + self.emb_e(c)[:, :, None, None]
        mu, lv = self.eo(F.silu(self.er(self.e2(F.silu(h))))).chunk(2, dim=1)
        return mu, lv.clamp(-12.0, 6.0)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.dr(self.d0(z) + self.emb_d(c)[:, :, None, None])
        return self.do(F.silu(self.d2(F.silu(self.d1(F.silu(h))))))[:, 0]


def _pad(x: torch.Tensor, m: int = 4) -> torch.Tensor:
    r = (-x.shape[-1]) % m
    return F.pad(x, (0, r), mode="replicate") if r else x


class VaelabAudio(TorchGenerator):
    """Class-conditional conv VAE on log-mel spectrograms (see the module docstring)."""

    name: ClassVar[str] = "vaelab-audio"
    Config: ClassVar[type[ModelConfig]] = VaelabAudioConfig
    modalities: ClassVar[tuple[str, ...]] = ("audio",)
    flat: ClassVar[bool] = False

    @classmethod
    def supports(cls, feature_shape: tuple[int, ...]) -> str | None:
        if len(feature_shape) != 2 or min(feature_shape) < 1:
            return "it needs log-mel spectrograms (n_mels, frames); train it on an audio folder"
        return None

    # ------------------------------------------------------------------ shapes
    def _mel_shape(self) -> tuple[int, int]:
        shape = self.feature_shape_
        if shape is None or len(shape) != 2:
            raise InputError(f"vaelab-audio needs log-mel spectrograms (n, n_mels, frames), got samples of shape "
                             f"{shape}; train it on an audio folder")
        return int(shape[0]), int(shape[1])

    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        if self.supports(tuple(feature_shape)) is not None:
            raise InputError(f"vaelab-audio: {self.supports(tuple(feature_shape))}")
        n_mels = int(feature_shape[0])
        if cfg.arch == "audioldm2":
            if n_mels % 4:
                raise InputError("vaelab-audio arch 'audioldm2' needs n_mels divisible by 4")
            return AudioLDM2VAE(n_mels, n_classes, cfg.width, 8 if cfg.latent_channels == 128 else cfg.latent_channels,
                                cfg.n_res)
        return PatchVAE(n_mels, n_classes, cfg.width, cfg.latent_channels, cfg.n_res, cfg.upsample)

    # ------------------------------------------------------------------ normalisation
    def _stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.extra_["mel_mean"], self.extra_["mel_std"]

    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Log-mels standardised per mel bin (statistics of the training clips, kept in the job state)."""
        X = np.asarray(X, dtype=np.float64)
        mean = X.mean(axis=(0, 2))
        std = np.maximum(X.std(axis=(0, 2)), 1e-3)
        state = {"mel_mean": torch.as_tensor(mean, dtype=torch.float32),
                 "mel_std": torch.as_tensor(std, dtype=torch.float32)}
        return (X - mean[None, :, None]) / std[None, :, None], state

    # ------------------------------------------------------------------ training
    def loss(self, module: nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        n_mels, T = self._mel_shape()
        x = x.reshape(len(x), n_mels, T)
        mu, lv = module.encode(_pad(x), c)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
        xh = module.decode(z, c)[..., :T]
        r2 = (x - xh) ** 2
        if cfg.sigma == "optimal":
            s2 = torch.log(r2.mean(dim=(0, 2)).clamp_min(1e-4))
            module.logvar.copy_(s2.detach())
        else:
            s2 = module.logvar_param
            module.logvar.copy_(s2.detach())
        nll = 0.5 * (r2 * torch.exp(-s2)[:, None] + s2[:, None] + math.log(2 * math.pi)).sum()
        kl = 0.5 * (mu ** 2 + lv.exp() - 1 - lv).sum()
        return {"loss": nll + cfg.beta * kl, "nll": nll.detach(), "kl": kl.detach(),
                "mse": r2.mean(dim=(1, 2)).sum().detach()}

    def after_fit(self, job: FitJob) -> None:
        """Decoder variance, texture residuals, the output offsets, latent sampler, eq gain and tuned enhancement
        parameters from the training clips (mel domain)."""
        from vaelab.modalities.audio import enhance
        from vaelab.models.texture import residual_rows
        from vaelab.samplers import make_sampler

        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        self.extra_ = {"mel_mean": job.state["mel_mean"], "mel_std": job.state["mel_std"]}
        mean, std = (t.numpy().astype(np.float64) for t in self._stats())
        xn, c = job.X_all.cpu(), job.c_all.cpu()
        mu = self._encode_norm(xn, c)
        lv = self._encode_norm(xn, c, logvar=True)
        ref = xn.numpy() * std[None, :, None] + mean[None, :, None]
        self.extra_["dec_var"] = torch.as_tensor(self._decoder_variance(mu, lv, c, ref, job.seed))
        m = self._decode_norm(mu, c)
        sd = np.sqrt(self.extra_["dec_var"].numpy().astype(np.float64))
        w = torch.as_tensor(((ref - m) / sd[None, :, None]).reshape(len(ref), -1), dtype=torch.float32)
        self.extra_.update(residual_rows(w, c.long(), len(self.classes_), cfg.texture_cells, job.seed))
        power = self.mel_params.power
        self.extra_["offset_energy"] = torch.as_tensor(enhance.fit_eq(ref, m, power))
        self.extra_["offset_mean"] = torch.as_tensor((ref - m).mean(axis=(0, 2)), dtype=torch.float32)
        rec = self._point(mu, c)
        self.extra_["eq_gain"] = torch.as_tensor(enhance.fit_eq(ref, rec, power))
        ch_std = mu.transpose(1, 0).reshape(mu.shape[1], -1).std(dim=1)
        self.extra_["latent_std"] = ch_std.float()
        high = torch.as_tensor(self._high_bins())
        cn = c.numpy()
        tuned = []
        for name in ("laplacian", "noise", "contrast"):
            tuned.append(enhance.tune(name, mu.numpy(), lambda z: self._point(torch.as_tensor(z, dtype=torch.float32),
                                                                              torch.as_tensor(cn)),
                                      ref, high.numpy(), ch_std.numpy(), seed=0))
        self.extra_["tuned"] = torch.as_tensor(tuned, dtype=torch.float32)
        from vaelab.modalities.audio.vocoder import fit_level_lift

        if tuple(self.mel_params.shape) == tuple(ref.shape[1:]):  # log-mels of these mel parameters (not bare arrays)
            step = max(1, len(ref) // LIFT_CLIPS)  # the vocoder's level lift on about LIFT_CLIPS training clips
            self.extra_["vocoder_lift"] = torch.as_tensor(fit_level_lift(ref[::step], self.mel_params, seed=1),
                                                          dtype=torch.float32)
        sampler = make_sampler(cfg.sampler).fit(mu.flatten(1).float().contiguous(), lv.flatten(1).float().contiguous(),
                                                c.long().contiguous(), len(self.classes_), seed=job.seed)
        self.extra_.update(sampler.state_dict())
        self.extra_["latent_shape"] = torch.as_tensor(mu.shape[1:], dtype=torch.long)

    def _decoder_variance(self, mu: torch.Tensor, lv: torch.Tensor, c: torch.Tensor, ref: np.ndarray,
                          seed: int) -> np.ndarray:
        """The decoder's variance per mel bin in log-mel units (n_mels,): ``sigma = "optimal"``: the mean squared
        error of the training clips ``ref`` (n, n_mels, T) decoded from one posterior draw of their codes (seeded);
        ``"learned"``: the trained parameter."""
        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        std = self._stats()[1].numpy().astype(np.float64)
        assert self.module is not None
        if cfg.sigma == "learned":
            return np.exp(self.module.logvar_param.detach().numpy().astype(np.float64)) * std ** 2
        g = torch.Generator().manual_seed(int(seed) + 7919)
        z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * lv)
        return ((ref - self._decode_norm(z, c)) ** 2).mean(axis=(0, 2))

    def _output_offset(self) -> np.ndarray:
        """Per mel bin (n_mels,): what ``output`` adds to the decoder mean (the offset fitted after training, see the
        module docstring). Runs saved before the offsets existed: ``s^2 / power`` for "energy" (the re-estimated
        variance, or the trained ``logvar`` for still older runs), 0 for "mean"."""
        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        key = f"offset_{cfg.output}"
        if key in self.extra_:
            return self.extra_[key].numpy().astype(np.float64)
        std = self._stats()[1].numpy().astype(np.float64)
        if cfg.output == "mean":
            return np.zeros(len(std))
        if "dec_var" in self.extra_:
            var = self.extra_["dec_var"].numpy().astype(np.float64)
        else:
            assert self.module is not None
            var = np.exp(self.module.logvar.detach().numpy().astype(np.float64)) * std ** 2
        return energy_shift(var, self.mel_params.power)

    def _high_bins(self) -> np.ndarray:
        from vaelab.modalities.audio.mel import MelParams

        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        p = MelParams.from_dict(cfg.mel) if cfg.mel else MelParams()
        import librosa

        centres = librosa.mel_frequencies(n_mels=p.n_mels + 2, fmin=p.fmin, fmax=p.fmax or p.sample_rate / 2)[1:-1]
        return np.where(centres >= 4000.0)[0]

    # ------------------------------------------------------------------ encode / decode API (log-mel space)
    @torch.no_grad()
    def _encode_norm(self, xn: torch.Tensor, c: torch.Tensor, logvar: bool = False) -> torch.Tensor:
        assert self.module is not None
        self.module.eval()
        outs = []
        for i in range(0, len(xn), 64):
            mu, lv = self.module.encode(_pad(xn[i:i + 64].float()), c[i:i + 64])
            outs.append(lv if logvar else mu)
        return torch.cat(outs)

    @torch.no_grad()
    def _decode_norm(self, z: torch.Tensor, c: torch.Tensor) -> np.ndarray:
        """Codes -> log-mel (natural log, original scale), numpy (n, n_mels, T)."""
        assert self.module is not None
        self.module.eval()
        _, T = self._mel_shape()
        mean, std = self._stats()
        outs = [self.module.decode(z[i:i + 64].float(), c[i:i + 64])[..., :T] for i in range(0, len(z), 64)]
        out = torch.cat(outs) * std[None, :, None] + mean[None, :, None]
        return out.numpy().astype(np.float64)

    def _point(self, z: torch.Tensor, c: torch.Tensor) -> np.ndarray:
        """Codes -> the log-mel of ``output`` (n, n_mels, T): the decoder mean plus the output offset."""
        return self._decode_norm(z, c) + self._output_offset()[None, :, None]

    def encode(self, logmel: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Log-mel (n, n_mels, T) and labels (n,) -> posterior means (n, C, ...)."""
        self._check_fitted()
        mean, std = (t.numpy() for t in self._stats())
        xn = (np.asarray(logmel, np.float64) - mean[None, :, None]) / std[None, :, None]
        c = torch.as_tensor(encode_labels(np.asarray(y, dtype=object), self.classes_))
        return self._encode_norm(torch.as_tensor(xn, dtype=torch.float32), c).numpy()

    def decode(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Codes (n, C, ...) and labels (n,) -> log-mel (n, n_mels, T) (of ``output``: energy-matched by default)."""
        self._check_fitted()
        c = torch.as_tensor(encode_labels(np.asarray(y, dtype=object), self.classes_))
        return self._point(torch.as_tensor(np.asarray(z), dtype=torch.float32), c)

    # ------------------------------------------------------------------ sampling
    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        from vaelab.samplers import make_sampler

        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        shape = tuple(int(s) for s in self.extra_["latent_shape"].tolist())
        params = {"latent_dim": int(math.prod(shape))} if cfg.sampler == "standard" else {}
        z, _ = make_sampler(cfg.sampler, **params).load_state_dict(self.extra_).sample(c, gen)
        z = z.reshape(len(c), *shape)
        if cfg.noise == "none" or "tex_rows" not in self.extra_:
            return torch.as_tensor(self._point(z, c), dtype=torch.float32)
        from vaelab.models.texture import draw_residuals

        m = self._decode_norm(z, c)
        r = draw_residuals(self.extra_["tex_rows"], self.extra_["tex_mean"], c, gen).numpy().reshape(m.shape)
        sd = np.sqrt(self.extra_["dec_var"].numpy().astype(np.float64))
        return torch.as_tensor(m + sd[None, :, None] * r, dtype=torch.float32)

    @property
    def mel_params(self):
        from vaelab.modalities.audio.mel import MelParams

        cfg: VaelabAudioConfig = self.config  # type: ignore[assignment]
        return MelParams.from_dict(cfg.mel) if cfg.mel else MelParams()

    def tuned_params(self) -> dict[str, float]:
        t = self.extra_["tuned"].tolist()
        return dict(zip(("laplacian", "noise", "contrast"), (float(v) for v in t), strict=True))
