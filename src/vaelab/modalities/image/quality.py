"""Image quality: PSNR and SSIM on a whole image or on a region (scikit-image, explicit ``data_range``),
and the diversity of several completions.

All functions take images ``(n, H, W)`` or ``(n, H, W, C)`` and return one value per image (numpy arrays).
"""

from __future__ import annotations

import numpy as np


def psnr(truth: np.ndarray, est: np.ndarray, data_range: float, mask: np.ndarray | None = None) -> np.ndarray:
    """PSNR in dB per image, ``10 log10(R^2 / MSE)``, the MSE over all pixels or over ``mask`` (True = counted;
    broadcast to the image shape). A perfect estimate gives ``inf``.

    Equals ``skimage.metrics.peak_signal_noise_ratio(truth, est, data_range=R)`` without a mask.
    """
    t, e = np.asarray(truth, np.float64), np.asarray(est, np.float64)
    err = (t - e) ** 2
    if mask is None:
        mse = err.reshape(len(t), -1).mean(axis=1)
    else:
        m = np.broadcast_to(_expand(mask, t.shape), t.shape).reshape(len(t), -1)
        mse = (err.reshape(len(t), -1) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range ** 2 / mse)


def _expand(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask, bool)
    return m[..., None] if m.ndim == len(shape) - 1 else m


def ssim(truth: np.ndarray, est: np.ndarray, data_range: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean SSIM per image (``skimage.metrics.structural_similarity``, 7x7 window, Wang et al. 2004's
    constants, ``data_range`` given); with ``mask`` the SSIM map is averaged over the masked pixels only."""
    from skimage.metrics import structural_similarity

    t, e = np.asarray(truth, np.float64), np.asarray(est, np.float64)
    out = np.empty(len(t))
    for i in range(len(t)):
        ch = -1 if t.ndim == 4 else None
        val, smap = structural_similarity(t[i], e[i], data_range=data_range, channel_axis=ch, full=True)
        if mask is None:
            out[i] = val
        else:
            m = np.broadcast_to(_expand(mask[i], t[i].shape), t[i].shape)
            out[i] = float(smap[m].mean()) if m.any() else float("nan")
    return out


def completion_diversity(samples: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per image the mean over missing pixels of the standard deviation across ``K`` completions.

    ``samples`` (n, K, H, W[, C]); ``mask`` (n, H, W). 0 when all completions agree.
    """
    s = np.asarray(samples, np.float64)
    sd = s.std(axis=1)
    m = np.broadcast_to(_expand(mask, sd.shape), sd.shape).reshape(len(s), -1)
    return (sd.reshape(len(s), -1) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)


def _box_values(a: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Per image the values at the missing pixels: ``a`` (n, K, H, W[, C]) -> list of (K, n_missing)."""
    a = np.asarray(a, np.float64)
    m = np.broadcast_to(_expand(mask, a.shape[:1] + a.shape[2:]), a.shape[:1] + a.shape[2:])
    return [a[i][:, m[i]] for i in range(len(a))]


def pairwise_distance(samples: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per image the mean over pairs of completions of their RMS difference over the missing pixels (n,).

    ``samples`` (n, K, H, W[, C]), K >= 2; ``mask`` (n, H, W). For independent draws with per-pixel variance
    ``v`` it estimates ``sqrt(2 v)`` (RMS of the difference of two draws).
    """
    out = []
    for v in _box_values(samples, mask):
        k = len(v)
        iu = np.triu_indices(k, 1)
        d = np.sqrt(((v[:, None, :] - v[None, :, :]) ** 2).mean(axis=2))
        out.append(float(d[iu].mean()) if k > 1 and v.shape[1] else float("nan"))
    return np.asarray(out)


def interval_coverage(samples: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per image the fraction of missing pixels whose true value lies in ``[min, max]`` of the K completions (n,).

    When the truth is exchangeable with the K draws (a calibrated sampler) this has expectation
    ``(K - 1) / (K + 1)`` (the chance that a new draw is neither the smallest nor the largest of K + 1): 0.9
    for K = 19. Lower: over-confident completions; higher: too spread out.
    """
    t = np.asarray(truth, np.float64)[:, None]
    vals, tv = _box_values(samples, mask), _box_values(t, mask)
    return np.asarray([float(np.mean((tt[0] >= v.min(0)) & (tt[0] <= v.max(0)))) if v.shape[1] else float("nan")
                       for v, tt in zip(vals, tv, strict=True)])
