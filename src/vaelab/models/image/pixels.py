"""Pixel scale of an image training set: map to [0, 1] for the networks and back.

Images arrive as uint8, as integer-valued floats (scikit-learn's digits: 0..16) or as floats in
any range. The scale (``fit_scale``) stores the training range and whether the values are integer
levels; samples are mapped back into that range and, for integer data, rounded, so uint8 in
gives uint8 values out.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaelab.core.errors import InputError


def image_shape(feature_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C, H, W)`` of one sample of shape ``(H, W)`` or ``(H, W, C)`` (C <= 4)."""
    s = tuple(int(v) for v in feature_shape)
    if len(s) == 2:
        return 1, s[0], s[1]
    if len(s) == 3 and s[2] <= 4:
        return s[2], s[0], s[1]
    raise InputError(f"image models need samples of shape (H, W) or (H, W, C) with C <= 4, got {s}")


def to_nchw(flat: torch.Tensor, feature_shape: tuple[int, ...]) -> torch.Tensor:
    """Rows ``(n, H*W*C)`` (in the layout of ``feature_shape``) -> ``(n, C, H, W)``."""
    c, h, w = image_shape(feature_shape)
    x = flat.reshape(len(flat), *feature_shape)
    return x.unsqueeze(1) if len(feature_shape) == 2 else x.permute(0, 3, 1, 2)


def from_nchw(x: torch.Tensor, feature_shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`to_nchw`: ``(n, C, H, W)`` -> rows ``(n, H*W*C)``."""
    if len(feature_shape) == 3:
        x = x.permute(0, 2, 3, 1)
    return x.reshape(len(x), -1)


def fit_scale(X: np.ndarray) -> torch.Tensor:
    """``[lo, hi, step]``: the training range and the level spacing (0 for continuous values).

    Integer-valued data (uint8 included) use their own min..max with step 1, continuous data their min..max.
    A uint8 set whose training images span 0..255 gets ``[0, 255, 1]``; a low-range one (scikit-learn's
    digits stored as uint8 0..16, a dark or low-contrast 8-bit export) is stretched to [0, 1] like the
    same values as floats, so the decoder's variance floor stays a fraction of one grey level and samples
    stay within the training range (before issue 11, session 14, uint8 always took 0..255; runs saved
    then keep their stored scale).
    """
    X = np.asarray(X)
    lo, hi = float(X.min()), float(X.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError("images contain NaN or infinite values")
    if hi <= lo:
        hi = lo + 1.0
    integer = bool(np.all(np.asarray(X) == np.round(X)))
    return torch.tensor([lo, hi, 1.0 if integer else 0.0], dtype=torch.float64)


def to_unit(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    lo, hi = float(scale[0]), float(scale[1])
    return (x - lo) / (hi - lo)


def from_unit(u: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> the training range, clipped; rounded to the level spacing for integer data."""
    lo, hi, step = (float(v) for v in scale)
    x = lo + u.clamp(0.0, 1.0).double() * (hi - lo)
    if step > 0:
        x = lo + torch.round((x - lo) / step) * step
    return x.clamp(lo, hi)


def level_width(scale: torch.Tensor) -> float:
    """Width of one level in [0, 1] units (0 for continuous data): the dequantisation noise."""
    lo, hi, step = (float(v) for v in scale)
    return step / (hi - lo) if step > 0 else 0.0


def image_support(feature_shape: tuple[int, ...]) -> str | None:
    """``None`` when an image model can train on samples of ``feature_shape``, else the reason (the
    ``supports`` answer of every image model)."""
    try:
        image_shape(tuple(feature_shape))
    except InputError as e:
        return str(e)
    return None
