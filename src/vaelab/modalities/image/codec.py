"""Image codec with a ``vaelab-image`` model: VAE prediction + transform coding of the residual.

Per image (in [0, 1] pixel units, C x H x W):

1. **Code.** The MAP code ``z`` under the decoder likelihood (:func:`restoration.map_latent`), uniformly
   quantised with step ``zstep`` (``q_z = round(z / zstep)``), entropy coded under a discretised Laplace of
   variance 1 per coordinate (the prior's), and the class index (uniform).
2. **Prediction.** ``p = m + s * mu_c``: decoder mean ``m`` and sd ``s`` at the dequantised code plus the class's
   mean whitened texture residual ``mu_c`` (the model's residual Gaussian, ``tex_mean`` / ``tex_rows``).
3. **Residual.** ``x - p`` in the orthonormal 2-D DCT (per channel), each coefficient uniformly quantised
   with step ``step`` and entropy coded under a discretised Laplace whose variance is the model's own
   prediction for that image: ``kappa^2 * diag(D diag(s) Sigma_c diag(s) D^T)`` (``Sigma_c = rows^T rows``, the
   class's residual covariance; ``kappa`` widens it for images the model was not trained on). The entropy
   model is thus adapted per image from what both sides know, and nothing but integers is stored.
4. **Reconstruction.** ``clip(p + IDCT(step * q), 0, 1)``, rounded to the input's levels when it had some.

Entropy coder: :mod:`vaelab.modalities.image.entropy` (rANS). Decoding recomputes ``m``, ``s`` and the scales
from the code; the scales are rounded to 1/8 octave and each image is decoded alone (batch of one) so that both
sides compute the same numbers; a stream whose decoder does not end in its start state is refused.

**PCA reference** (:class:`PcaCodec`): the same quantiser and coder on the coefficients of a PCA of training
images (all components; per-coefficient Laplace scales from the training coefficients), so that the two
are compared with the same entropy coding.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.modalities.image.entropy import (
    Decoder,
    Encoder,
    Laplace,
    get_uniform,
    put_uniform,
    quantised_scale,
)

_Z_B = 1.0 / math.sqrt(2.0)  # Laplace scale of variance 1


def quality_steps(quality: float) -> tuple[float, float]:
    """``(step, zstep)`` of a quality in [0, 100]: the residual step halves every 10 points
    (``step = 0.5 * 2^(-quality / 10)``, [0, 1] units); ``zstep = min(0.5, sqrt(step))``."""
    if not (isinstance(quality, (int, float)) and math.isfinite(quality) and 0 <= quality <= 100):
        raise InputError(f"--quality must be a number in [0, 100], got {quality!r}")
    step = 0.5 * 2.0 ** (-float(quality) / 10.0)
    return step, min(0.5, math.sqrt(step))


def _dct(x: np.ndarray) -> np.ndarray:
    from scipy.fft import dctn

    return dctn(x, axes=(-2, -1), norm="ortho")


def _idct(x: np.ndarray) -> np.ndarray:
    from scipy.fft import idctn

    return idctn(x, axes=(-2, -1), norm="ortho")


class VaeCodec:
    """Encode / decode images with a fitted vaelab-image ``gen`` (see the module docstring).

    ``kappa``: widening of the model's residual scales; ``levels``: number of grey levels of the data (255 for
    uint8 in [0, 1] units; 0: continuous, no rounding).
    """

    def __init__(self, gen, *, kappa: float = 1.0, levels: int = 255, transform: str = "dct"):
        from vaelab.modalities.image.restoration import check_image_model

        check_image_model(gen, "compress")
        if "tex_rows" not in gen.extra_:
            raise InputError("compress needs a vaelab-image run with its texture residual (noise='texture')")
        self.gen, self.kappa, self.levels, self.transform = gen, float(kappa), int(levels), transform
        self.module = gen.module
        self.rows = gen.extra_["tex_rows"].double().numpy()
        self.tmean = gen.extra_["tex_mean"].double().numpy()
        self.shape = tuple(self.module.shape)  # (C, H, W)

    def _predict(self, zq: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Prediction (C, H, W) and per-DCT-coefficient Laplace scales in [0, 1] units (C, H, W)."""
        with torch.no_grad():
            m, lv = self.module.decode(torch.as_tensor(zq[None], dtype=torch.float32), torch.tensor([c]))
        m, s = m[0].double().numpy(), np.exp(0.5 * lv[0].double().numpy())
        pred = m + s * self.tmean[c].reshape(self.shape)
        rows = self.rows[c]
        rows = rows[np.any(rows != 0, axis=1)]
        if self.transform == "klt":
            a = rows * s.ravel()
            lam, V = np.linalg.eigh(a.T @ a)
            V = V * np.where(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])] < 0, -1.0, 1.0)
            self._V = V
            sd = self.kappa * np.sqrt(np.clip(lam, 0, None))
            return pred, (sd / math.sqrt(2.0)).reshape(self.shape)
        coef = _dct(rows.reshape(len(rows), *self.shape) * s)
        sd = self.kappa * np.sqrt((coef ** 2).sum(axis=0))
        return pred, sd / math.sqrt(2.0)

    def _fwd(self, r: np.ndarray) -> np.ndarray:
        return (r.ravel() @ self._V).reshape(self.shape) if self.transform == "klt" else _dct(r)

    def _inv(self, t: np.ndarray) -> np.ndarray:
        return (self._V @ t.ravel()).reshape(self.shape) if self.transform == "klt" else _idct(t)

    def _finish(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        return np.round(x * self.levels) / self.levels if self.levels > 0 else x

    def codes(self, u: np.ndarray, y=None) -> tuple[np.ndarray, np.ndarray]:
        """MAP codes (n, L) and class indices (n,) of images ``u`` (n, C, H, W) in [0, 1] with labels ``y``
        (the run's class labels; None or unknown labels: the class with the best MAP objective)."""
        from vaelab.modalities.image.restoration import ImagePosterior

        post = ImagePosterior(self.gen)
        ut = torch.as_tensor(np.asarray(u), dtype=torch.float32)
        fit = post._run(lambda: post.fit(ut, torch.ones_like(ut), y, 0.0))
        return fit.z.double().numpy(), fit.c.numpy().astype(np.int64)

    def encode(self, u: np.ndarray, z: np.ndarray, c: np.ndarray, quality: float) -> tuple[list[bytes], np.ndarray]:
        """One byte string per image ``u`` (n, C, H, W) with codes ``z`` (n, L) and class indices ``c`` (n,)
        (from :meth:`codes`), and the decoded images (n, C, H, W) (what :meth:`decode` returns)."""
        step, zstep = quality_steps(quality)
        n_classes = len(self.rows)
        zl = Laplace(quantised_scale(_Z_B / zstep))
        out, rec = [], np.empty_like(u, dtype=np.float64)
        for i in range(len(u)):
            enc = Encoder()
            put_uniform(enc, int(c[i]), n_classes)
            qz = np.round(z[i] / zstep).astype(np.int64)
            for v in qz:
                zl.put(enc, int(v))
            pred, b = self._predict(qz * zstep, int(c[i]))
            q = np.round(self._fwd(u[i] - pred) / step).astype(np.int64)
            for v, bb in zip(q.ravel(), b.ravel(), strict=True):
                Laplace(quantised_scale(bb / step)).put(enc, int(v))
            out.append(enc.finish())
            rec[i] = self._finish(pred + self._inv(q * step))
        return out, rec

    def decode(self, blobs: list[bytes], quality: float) -> tuple[np.ndarray, np.ndarray]:
        """Images (n, C, H, W) in [0, 1] and class indices (n,) from :meth:`encode`'s byte strings."""
        step, zstep = quality_steps(quality)
        n_classes, L = len(self.rows), self.module.latent
        zl = Laplace(quantised_scale(_Z_B / zstep))
        rec, cls = np.empty((len(blobs), *self.shape)), np.empty(len(blobs), np.int64)
        for i, data in enumerate(blobs):
            dec = Decoder(data)
            c = get_uniform(dec, n_classes)
            if c >= n_classes:
                raise InputError("corrupt compressed data (class index)")
            qz = np.array([zl.get(dec) for _ in range(L)], np.int64)
            pred, b = self._predict(qz * zstep, c)
            q = np.array([Laplace(quantised_scale(bb / step)).get(dec) for bb in b.ravel()], np.int64)
            dec.check_end()
            rec[i], cls[i] = self._finish(pred + self._inv(q.reshape(self.shape) * step)), c
        return rec, cls


class PcaCodec:
    """PCA of training images ``train`` (n, D) in [0, 1]; coefficients quantised with one step and entropy coded
    under per-component Laplace models (scale = mean absolute training coefficient), the same coder as
    :class:`VaeCodec`. ``k``: components kept (all by default)."""

    def __init__(self, train: np.ndarray, k: int | None = None, levels: int = 255):
        train = np.asarray(train, np.float64)
        self.mean = train.mean(axis=0)
        _, _, vt = np.linalg.svd(train - self.mean, full_matrices=False)
        self.V = vt[: (k or len(vt))]
        self.b = np.abs((train - self.mean) @ self.V.T).mean(axis=0)
        self.levels = levels

    def encode(self, x: np.ndarray, step: float) -> tuple[list[bytes], np.ndarray]:
        """Byte strings and reconstructions (n, D) of rows ``x`` (n, D)."""
        q = np.round((np.asarray(x, np.float64) - self.mean) @ self.V.T / step).astype(np.int64)
        models = [Laplace(quantised_scale(b / step)) for b in self.b]
        out = []
        for row in q:
            enc = Encoder()
            for v, lm in zip(row, models, strict=True):
                lm.put(enc, int(v))
            out.append(enc.finish())
        rec = np.clip(q * step @ self.V + self.mean, 0, 1)
        return out, np.round(rec * self.levels) / self.levels if self.levels > 0 else rec
