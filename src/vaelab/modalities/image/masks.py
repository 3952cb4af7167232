"""Masks of missing pixels for image completion: ``center:F``, ``random:P``, ``half`` or a mask file.

A mask is a boolean array ``(n, H, W)`` (True = the pixel is missing; all channels of a pixel together).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vaelab.core.errors import InputError

MASK_SPECS = "center:F (a centred square box covering fraction F of the image), random:P (each pixel " \
             "missing with probability P), half (the lower half) or MASK.npz (key 'mask', (H, W) or (n, H, W))"


def center_box(h: int, w: int, fraction: float) -> np.ndarray:
    """``(h, w)`` mask with a centred box of ``round(h*sqrt(F)) x round(w*sqrt(F))`` pixels missing."""
    bh, bw = int(round(h * math.sqrt(fraction))), int(round(w * math.sqrt(fraction)))
    m = np.zeros((h, w), dtype=bool)
    t, left = (h - bh) // 2, (w - bw) // 2
    m[t:t + bh, left:left + bw] = True
    return m


def _fraction(spec: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"mask {spec!r}: {text!r} is not a number") from None
    if not 0 < v < 1:
        raise InputError(f"mask {spec!r}: the fraction must be in (0, 1), got {v}")
    return v


def make_mask(spec: str, n: int, shape: tuple[int, ...], *, seed: int = 0) -> np.ndarray:
    """The mask ``(n, H, W)`` of ``spec`` for ``n`` images of ``shape`` ((H, W) or (H, W, C)); see ``MASK_SPECS``.

    ``random:P`` is drawn per image with ``numpy.random.default_rng(seed)``; a file mask of shape (H, W)
    is used for every image. Unknown specs and masks of the wrong shape raise :class:`InputError`.
    """
    h, w = int(shape[0]), int(shape[1])
    kind, _, arg = spec.partition(":")
    if kind == "center" and arg:
        return np.broadcast_to(center_box(h, w, _fraction(spec, arg)), (n, h, w)).copy()
    if kind == "random" and arg:
        p = _fraction(spec, arg)
        return np.random.default_rng(seed).random((n, h, w)) < p
    if spec == "half":
        m = np.zeros((n, h, w), dtype=bool)
        m[:, h // 2:, :] = True
        return m
    if spec.endswith(".npz"):
        return read_mask(spec, n, (h, w))
    raise InputError(f"unknown mask {spec!r}; give {MASK_SPECS}")


def read_mask(path: str | Path, n: int, hw: tuple[int, int]) -> np.ndarray:
    """A mask file (npz, key ``mask``, boolean or 0/1, shape (H, W) or (n, H, W))."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such mask file")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "mask" not in z.files:
                raise InputError(f"{p}: no array 'mask' in the file (found {', '.join(z.files) or 'nothing'})")
            m = np.asarray(z["mask"])
    except (ValueError, OSError) as e:
        raise InputError(f"{p}: not a readable npz file ({e})") from None
    if m.dtype != bool:
        if not np.issubdtype(m.dtype, np.number) or not np.all(np.isin(m, (0, 1))):
            raise InputError(f"{p}: the mask must be boolean or 0/1")
        m = m.astype(bool)
    if m.shape == hw:
        return np.broadcast_to(m, (n, *hw)).copy()
    if m.shape == (n, *hw):
        return m.copy()
    raise InputError(f"{p}: mask of shape {m.shape} does not fit {n} images of {hw[0]}x{hw[1]} "
                     f"(give ({hw[0]}, {hw[1]}) or ({n}, {hw[0]}, {hw[1]}))")


def pixel_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Mask ``(n, H, W)`` broadcast to images of ``shape`` ((H, W) or (H, W, C)): ``(n, *shape)``."""
    if len(shape) == 3:
        return np.repeat(mask[..., None], shape[2], axis=-1)
    return mask
