"""Latent "enhancements" from the seed report, and the per-mel-bin equaliser they must beat.

Latents are arrays ``(n, C, *spatial)`` (``spatial`` = (T',) or (F', T')). Definitions (the seed report
names them without formulas; these are the plain readings):

* ``laplacian:a`` — unsharp masking of the latent: ``z + a (z - blur(z))``, blur = [1, 2, 1] / 4 along each
  spatial axis (edges replicated); 0 = unchanged.
* ``noise:a`` — ``z + a * s * eps``: Gaussian noise, ``s`` = per-channel std of the training latents.
* ``contrast:a`` — per clip and channel, ``m + a (z - m)`` with ``m`` the mean over spatial positions.
* ``hybrid`` — ``laplacian`` then ``contrast`` (each with its own parameter).
* ``eq`` — not a latent change: a gain per mel bin added to the decoded log-mel, fitted on training clips so
  that each bin's energy (sum of squared mel magnitudes) matches the originals'. The simple baseline.

Parameters given after ``:`` are used as given; a name without one is tuned on training clips (grid search of
the >4 kHz mel-bin error, see :func:`tune`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vaelab.core.errors import InputError

LATENT_METHODS = ("laplacian", "noise", "contrast", "hybrid")
METHODS = ("none", *LATENT_METHODS, "eq")
DEFAULTS = {"laplacian": 1.5, "noise": 0.1, "contrast": 1.2}
GRIDS = {"laplacian": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0), "noise": (0.0, 0.05, 0.1, 0.2),
         "contrast": (0.8, 0.9, 1.0, 1.1, 1.2, 1.5)}


def parse_methods(spec: str) -> list[tuple[str, float | None]]:
    """``"none,laplacian:1.5,eq"`` -> ``[("none", None), ("laplacian", 1.5), ("eq", None)]``."""
    out: list[tuple[str, float | None]] = []
    for part in (s.strip() for s in str(spec).split(",")):
        if not part:
            continue
        name, _, val = part.partition(":")
        if name not in METHODS:
            raise InputError(f"unknown enhancement {name!r}; choose from {', '.join(METHODS)}")
        if val and name in ("none", "eq", "hybrid"):
            raise InputError(f"enhancement {name!r} takes no parameter")
        try:
            v = float(val) if val else None
        except ValueError:
            raise InputError(f"enhancement {part!r}: parameter must be a number") from None
        if v is not None and not np.isfinite(v):
            raise InputError(f"enhancement {part!r}: parameter must be finite")
        if name in (n for n, _ in out):
            raise InputError(f"enhancement {name!r} given twice")
        out.append((name, v))
    if not out:
        raise InputError("--enhance needs at least one method")
    return out


def _blur(z: np.ndarray) -> np.ndarray:
    out = z
    for ax in range(2, z.ndim):
        p = np.concatenate([np.take(out, [0], axis=ax), out, np.take(out, [-1], axis=ax)], axis=ax)
        n = out.shape[ax]
        out = (np.take(p, range(0, n), axis=ax) + 2 * np.take(p, range(1, n + 1), axis=ax)
               + np.take(p, range(2, n + 2), axis=ax)) / 4
    return out


def laplacian(z: np.ndarray, a: float) -> np.ndarray:
    return z + a * (z - _blur(z))


def contrast(z: np.ndarray, a: float) -> np.ndarray:
    axes = tuple(range(2, z.ndim))
    m = z.mean(axis=axes, keepdims=True)
    return m + a * (z - m)


def noise(z: np.ndarray, a: float, channel_std: np.ndarray, seed: int) -> np.ndarray:
    eps = np.random.default_rng(seed).standard_normal(z.shape)
    s = np.asarray(channel_std).reshape((1, -1) + (1,) * (z.ndim - 2))
    return z + a * s * eps


def apply_latent(name: str, z: np.ndarray, params: dict[str, float], channel_std: np.ndarray,
                 seed: int = 0) -> np.ndarray:
    """Apply latent enhancement ``name`` with ``params`` (name -> value) to codes ``z`` (n, C, ...)."""
    if name == "laplacian":
        return laplacian(z, params["laplacian"])
    if name == "noise":
        return noise(z, params["noise"], channel_std, seed)
    if name == "contrast":
        return contrast(z, params["contrast"])
    if name == "hybrid":
        return contrast(laplacian(z, params["laplacian"]), params["contrast"])
    raise InputError(f"{name!r} is not a latent enhancement")


def fit_eq(logmel_ref: np.ndarray, logmel_rec: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Per-mel-bin log gain ``g`` (n_mels,) so that the energy ``exp(2 (rec + g) / power)`` summed over clips and
    frames equals the originals' ``exp(2 ref / power)`` in every bin. ``logmel_*``: (n, n_mels, T) natural-log mel;
    ``power`` 1 for a magnitude mel (energy ``exp(2 x)``), 2 for a power mel (energy ``exp(x)``)."""
    def lse(a: np.ndarray) -> np.ndarray:  # log-sum-exp of 2a / power over clips and frames, per bin
        a2 = 2 / float(power) * np.moveaxis(np.asarray(a, np.float64), -2, 0).reshape(a.shape[-2], -1)
        m = a2.max(axis=1, keepdims=True)
        return (m + np.log(np.exp(a2 - m).sum(axis=1, keepdims=True)))[:, 0]

    return (0.5 * float(power) * (lse(logmel_ref) - lse(logmel_rec))).astype(np.float32)


def high_band_error(logmel_ref: np.ndarray, logmel_est: np.ndarray, high_bins: np.ndarray) -> float:
    """RMS log-mel error over the mel bins centred at or above 4 kHz (the tuning objective)."""
    d = np.asarray(logmel_ref, np.float64)[..., high_bins, :] - np.asarray(logmel_est, np.float64)[..., high_bins, :]
    return float(np.sqrt((d ** 2).mean()))


def tune(name: str, z: np.ndarray, decode: Callable[[np.ndarray], np.ndarray], logmel_ref: np.ndarray,
         high_bins: np.ndarray, channel_std: np.ndarray, seed: int = 0) -> float:
    """Grid value of ``name`` with the lowest >4 kHz mel error on (training) clips ``z`` / ``logmel_ref``."""
    best, best_v = np.inf, DEFAULTS[name]
    for v in GRIDS[name]:
        err = high_band_error(logmel_ref, decode(apply_latent(name, z, {name: v}, channel_std, seed)), high_bins)
        if err < best:
            best, best_v = err, v
    return float(best_v)
