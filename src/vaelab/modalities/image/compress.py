"""Lossy compression of images with a ``vaelab-image`` model, and the classical references at equal bytes.

**VAE code.** An image becomes its MAP code under the decoder likelihood (:func:`restoration.map_latent`,
started at the encoder's mean), each of the ``L`` coordinates uniformly quantised to ``bits`` bits on
``[-clip, clip]`` standard deviations of the training codes, plus one byte for the class index (up to 256
classes). Bytes per image: ``ceil(L * bits / 8) + 1``. Decoding: the decoder mean at the dequantised code.
The per-coordinate scale belongs to the model (computed from the training images), not to each file.

**References.** PCA of the training images with ``k`` components, each coefficient quantised to 8 bits on
``[-clip, clip]`` standard deviations (``k`` bytes per image); JPEG (Pillow, grey, ``optimize=True``, no
subsampling) at a quality sweep, bytes = the whole file (headers included; an 8-bit grey JPEG of 28x28 has a
fixed overhead of a few hundred bytes for its tables, which is what a user storing JPEG files pays).
"""

from __future__ import annotations

import io
import math

import numpy as np


def quantise(v: np.ndarray, scale: np.ndarray, bits: int, clip: float = 3.0) -> np.ndarray:
    """Integer levels ``0 .. 2^bits - 1`` of ``v`` (n, L): uniform on ``[-clip*scale, clip*scale]``."""
    levels = (1 << bits) - 1
    t = (np.clip(v / (clip * scale), -1.0, 1.0) + 1.0) / 2.0
    return np.round(t * levels).astype(np.int64)


def dequantise(q: np.ndarray, scale: np.ndarray, bits: int, clip: float = 3.0) -> np.ndarray:
    """Inverse of :func:`quantise` (to the centre value of each level)."""
    levels = (1 << bits) - 1
    return (q / levels * 2.0 - 1.0) * clip * scale


def pack(q: np.ndarray, bits: int) -> bytes:
    """Levels (L,) of ``bits`` bits each -> ``ceil(L * bits / 8)`` bytes (big-endian bit order)."""
    b = ((q[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(b).tobytes()


def unpack(data: bytes, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``n`` levels."""
    b = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[: n * bits].reshape(n, bits).astype(np.int64)
    return (b << np.arange(bits - 1, -1, -1)).sum(axis=1)


def vae_bytes(latent_dim: int, bits: int) -> int:
    return math.ceil(latent_dim * bits / 8) + 1


def jpeg_roundtrip(u: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    """Grey images ``u`` (n, H, W) in [0, 1] -> decoded JPEG images (n, H, W) in [0, 1] and the mean file size."""
    from PIL import Image

    out, sizes = np.empty_like(u, dtype=np.float64), []
    for i, img in enumerate(u):
        buf = io.BytesIO()
        Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L").save(
            buf, format="JPEG", quality=int(quality), optimize=True, subsampling=0)
        sizes.append(buf.tell())
        buf.seek(0)
        out[i] = np.asarray(Image.open(buf), dtype=np.float64) / 255.0
    return out, float(np.mean(sizes))


def pca_roundtrip(train: np.ndarray, test: np.ndarray, k: int, clip: float = 3.0) -> np.ndarray:
    """PCA of ``train`` (n, d) with ``k`` components; ``test`` (m, d) coded with 8-bit coefficients and decoded."""
    mean = train.mean(axis=0)
    _, s, vt = np.linalg.svd(train - mean, full_matrices=False)
    comps = vt[:k]
    scale = s[:k] / math.sqrt(max(len(train) - 1, 1))
    coef = (test - mean) @ comps.T
    return dequantise(quantise(coef, scale, 8, clip), scale, 8, clip) @ comps + mean
