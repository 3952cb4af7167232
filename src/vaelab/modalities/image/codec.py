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

**Modes.** With a :class:`PcaBasis` (the PCA of training images: the data's own KLT, fitted once by
``vaelab compress RUN --fit``, stored as safetensors next to the run) every image is coded in the best of three
modes, signalled by a uniform symbol: ``"dct"`` (above), ``"klt"`` (the residual in the eigenbasis of its
predicted covariance ``diag(s) Sigma_c diag(s)``, the training residuals' KLT adapted to the image; scales its
eigenvalues) and ``"pca"`` (no code: the image's PCA coefficients, per-coefficient Laplace scales of the
training coefficients). The choice minimises ``SSE + lambda * bits`` with ``lambda = ln 2 / 6 * step^2`` (the
slope of a uniform quantiser with entropy coding at high rate: ``D = step^2 / 12`` per coefficient, ``R = h -
log2 step``), so at every rate the codec is at least as good, image by image, as the best of its parts, for
the cost of the mode symbol (``log2 3`` bits). Why modes: the VAE's code (~17-25 bytes) pays for itself at low
rates, where its prediction is worth more than a PCA's leading coefficients; at high rates the residual of a
saturated 32-d code has more entropy than the images' own PCA coefficients (measured: RESULTS.md, issue 12).

**PCA reference** (:class:`PcaCodec`): the same quantiser and coder on the coefficients of the same
:class:`PcaBasis` (``"pca"`` mode alone, without mode or class symbols), so that the two are compared with the
same entropy coding.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.modalities.image.entropy import (
    Decoder,
    Encoder,
    get_uniform,
    laplace_model,
    put_uniform,
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


MODES = ("dct", "klt", "pca")
_FORMAT = "vaelab-image-codec"


def _fix_signs(V: np.ndarray) -> np.ndarray:
    """Columns of ``V`` with their largest-magnitude entry made positive (the same data give the same basis)."""
    return V * np.where(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])] < 0, -1.0, 1.0)


class PcaBasis:
    """PCA of training images ``train`` (n, D) in [0, 1] (all components): ``mean`` (D,), ``V`` (D, D) rows =
    components, ``b`` (D,) the Laplace scale (mean absolute coefficient) of each component on ``train``.
    Signs are fixed (largest entry of each component positive) so the same data give the same file."""

    def __init__(self, mean: np.ndarray, V: np.ndarray, b: np.ndarray):
        self.mean, self.V, self.b = (np.asarray(a, np.float64) for a in (mean, V, b))

    @classmethod
    def fit(cls, train: np.ndarray) -> PcaBasis:
        train = np.asarray(train, np.float64).reshape(len(train), -1)
        if len(train) < 2 or not np.all(np.isfinite(train)):
            raise InputError("fitting the codec needs at least 2 finite images")
        mean = train.mean(axis=0)
        _, _, vt = np.linalg.svd(train - mean, full_matrices=True)
        vt = _fix_signs(vt.T).T
        return cls(mean, vt, np.abs((train - mean) @ vt.T).mean(axis=0))

    def save(self, path) -> None:
        from safetensors.numpy import save_file

        from vaelab.core.atomic import atomic_file, normalise_safetensors

        with atomic_file(path) as tmp:
            save_file({"mean": self.mean, "basis": self.V, "scale": self.b}, str(tmp),
                      metadata={"format": _FORMAT, "version": "1"})
            normalise_safetensors(tmp)  # metadata keys sorted: same data, same bytes

    @classmethod
    def load(cls, path, dim: int) -> PcaBasis:
        """Read a file of :meth:`save` for images of ``dim`` pixels; anything else is an :class:`InputError`."""
        from safetensors import safe_open

        from vaelab.core.safetensors_io import load_safetensors_numpy

        t = load_safetensors_numpy(path)
        try:
            with safe_open(str(path), "np") as f:
                meta = f.metadata() or {}
        except Exception:  # noqa: BLE001 - load_safetensors_numpy already refused unreadable files
            meta = {}
        bad = f"{path}: not a vaelab image codec file or corrupt"
        if meta.get("format") != _FORMAT or meta.get("version") != "1" or set(t) != {"mean", "basis", "scale"}:
            raise InputError(bad)
        mean, V, b = t["mean"], t["basis"], t["scale"]
        if mean.shape != (dim,) or V.shape != (dim, dim) or b.shape != (dim,):
            raise InputError(f"{path}: codec file is for images of {mean.size} pixels, not {dim}")
        if not all(np.all(np.isfinite(a)) for a in (mean, V, b)) or np.abs(V @ V.T - np.eye(dim)).max() > 1e-6:
            raise InputError(bad)
        return cls(mean, V, b)


class VaeCodec:
    """Encode / decode images with a fitted vaelab-image ``gen`` (see the module docstring).

    ``kappa``: widening of the model's residual scales; ``levels``: number of grey levels of the data (255 for
    uint8 in [0, 1] units; 0: continuous, no rounding); ``transform``: the one residual transform used when
    there is no ``basis``; ``basis``: a :class:`PcaBasis` of training images, which turns on the per-image
    choice among :data:`MODES`. After :meth:`encode`, ``modes_`` (n,) holds the chosen mode indices and
    ``per_mode_`` ``{mode: (bytes (n,), reconstructions)}`` what each mode alone would have given.
    """

    def __init__(self, gen, *, kappa: float = 1.0, levels: int = 255, transform: str = "dct",
                 basis: PcaBasis | None = None):
        from vaelab.modalities.image.restoration import check_image_model

        check_image_model(gen, "compress")
        if "tex_rows" not in gen.extra_:
            raise InputError("compress needs a vaelab-image run with its texture residual (noise='texture')")
        if transform not in ("dct", "klt"):
            raise InputError(f"unknown residual transform {transform!r}")
        self.gen, self.kappa, self.levels, self.transform = gen, float(kappa), int(levels), transform
        self.module = gen.module
        self.rows = gen.extra_["tex_rows"].double().numpy()
        self.tmean = gen.extra_["tex_mean"].double().numpy()
        self.shape = tuple(self.module.shape)  # (C, H, W)
        if basis is not None and basis.mean.shape != (math.prod(self.shape),):
            raise InputError("the codec file does not fit this run's image size")
        self.basis = basis

    @property
    def modes(self) -> tuple[str, ...]:
        return MODES if self.basis is not None else (self.transform,)

    def _predict(self, zq: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Prediction (C, H, W) and ``a`` (rows, D): the class's residual rows scaled by the decoder's sd, so
        that the image's predicted residual covariance is ``a^T a``."""
        with torch.no_grad():
            m, lv = self.module.decode(torch.as_tensor(zq[None], dtype=torch.float32), torch.tensor([c]))
        m, s = m[0].double().numpy(), np.exp(0.5 * lv[0].double().numpy())
        rows = self.rows[c]
        rows = rows[np.any(rows != 0, axis=1)]
        return m + s * self.tmean[c].reshape(self.shape), rows * s.ravel()

    def _transform(self, mode: str, a: np.ndarray | None):
        """``(forward, inverse, Laplace scales (D,))`` of a mode, all in [0, 1] pixel units."""
        if mode == "pca":
            V = self.basis.V
            return (lambda r: V @ r.ravel()), (lambda t: (t @ V).reshape(self.shape)), self.basis.b
        if mode == "klt":
            lam, V = np.linalg.eigh(a.T @ a)
            V = _fix_signs(V)
            sd = self.kappa * np.sqrt(np.clip(lam, 0, None))
            return (lambda r: r.ravel() @ V), (lambda t: (V @ t).reshape(self.shape)), sd / math.sqrt(2.0)
        sd = self.kappa * np.sqrt((_dct(a.reshape(len(a), *self.shape)) ** 2).sum(axis=0)).ravel()
        return (lambda r: _dct(r).ravel()), (lambda t: _idct(t.reshape(self.shape))), sd / math.sqrt(2.0)

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

    def _encode_one(self, x: np.ndarray, z: np.ndarray, c: int, mode: str, step: float, zstep: float):
        enc = Encoder()
        if len(self.modes) > 1:
            put_uniform(enc, self.modes.index(mode), len(self.modes))
        put_uniform(enc, c, len(self.rows))
        if mode == "pca":
            pred, a = self.basis.mean.reshape(self.shape), None
        else:
            zl = laplace_model(_Z_B / zstep)
            qz = np.round(z / zstep).astype(np.int64)
            for v in qz:
                zl.put(enc, int(v))
            pred, a = self._predict(qz * zstep, c)
        fwd, inv, b = self._transform(mode, a)
        q = np.round(fwd(x - pred) / step).astype(np.int64)
        for v, bb in zip(q, b, strict=True):
            laplace_model(bb / step).put(enc, int(v))
        return enc.finish(), self._finish(pred + inv(q * step))

    def encode(self, u: np.ndarray, z: np.ndarray, c: np.ndarray, quality: float) -> tuple[list[bytes], np.ndarray]:
        """One byte string per image ``u`` (n, C, H, W) with codes ``z`` (n, L) and class indices ``c`` (n,)
        (from :meth:`codes`), and the decoded images (n, C, H, W) (what :meth:`decode` returns). With a basis,
        each image gets the mode of least ``SSE + lambda * bits`` (module docstring)."""
        step, zstep = quality_steps(quality)
        lam = math.log(2.0) / 6.0 * step ** 2
        n = len(u)
        self.per_mode_ = {m: (np.zeros(n), np.empty((n, *self.shape))) for m in self.modes}
        self.modes_ = np.zeros(n, np.int64)
        out, rec = [], np.empty((n, *self.shape))
        for i in range(n):
            best = None
            for j, mode in enumerate(self.modes):
                blob, r = self._encode_one(u[i], z[i], int(c[i]), mode, step, zstep)
                self.per_mode_[mode][0][i], self.per_mode_[mode][1][i] = len(blob), r
                cost = ((r - u[i]) ** 2).sum() + lam * 8 * len(blob)
                if best is None or cost < best[0]:
                    best = (cost, j, blob, r)
            _, self.modes_[i], blob, rec[i] = best
            out.append(blob)
        return out, rec

    def decode(self, blobs: list[bytes], quality: float) -> tuple[np.ndarray, np.ndarray]:
        """Images (n, C, H, W) in [0, 1] and class indices (n,) from :meth:`encode`'s byte strings."""
        step, zstep = quality_steps(quality)
        n_classes, L = len(self.rows), self.module.latent
        rec, cls = np.empty((len(blobs), *self.shape)), np.empty(len(blobs), np.int64)
        for i, data in enumerate(blobs):
            dec = Decoder(data)
            mode = self.modes[get_uniform(dec, len(self.modes))] if len(self.modes) > 1 else self.modes[0]
            c = get_uniform(dec, n_classes)
            if c >= n_classes:
                raise InputError("corrupt compressed data (class index)")
            if mode == "pca":
                pred, a = self.basis.mean.reshape(self.shape), None
            else:
                zl = laplace_model(_Z_B / zstep)
                qz = np.array([zl.get(dec) for _ in range(L)], np.int64)
                pred, a = self._predict(qz * zstep, c)
            _, inv, b = self._transform(mode, a)
            q = np.array([laplace_model(bb / step).get(dec) for bb in b], np.int64)
            dec.check_end()
            rec[i], cls[i] = self._finish(pred + inv(q * step)), c
        return rec, cls


class PcaCodec:
    """The ``"pca"`` mode alone: coefficients of a :class:`PcaBasis` quantised with one step and entropy coded
    under per-component Laplace models, the same coder as :class:`VaeCodec` (no mode or class symbol).
    ``train`` (n, D) in [0, 1], or ``basis``."""

    def __init__(self, train: np.ndarray | None = None, levels: int = 255, basis: PcaBasis | None = None):
        self.basis = basis if basis is not None else PcaBasis.fit(train)
        self.levels = levels

    def encode(self, x: np.ndarray, step: float) -> tuple[list[bytes], np.ndarray]:
        """Byte strings and reconstructions (n, D) of rows ``x`` (n, D)."""
        B = self.basis
        q = np.round((np.asarray(x, np.float64) - B.mean) @ B.V.T / step).astype(np.int64)
        models = [laplace_model(b / step) for b in B.b]
        out = []
        for row in q:
            enc = Encoder()
            for v, lm in zip(row, models, strict=True):
                lm.put(enc, int(v))
            out.append(enc.finish())
        rec = np.clip(q * step @ B.V + B.mean, 0, 1)
        return out, np.round(rec * self.levels) / self.levels if self.levels > 0 else rec
