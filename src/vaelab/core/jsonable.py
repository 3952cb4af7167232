"""Plain JSON types from numpy-laden results: the one converter every result writer uses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(x: Any, *, nonfinite: str = "none") -> Any:
    """``x`` with dict keys as str, tuples and arrays as lists, numpy scalars as Python scalars.

    Parameters
    ----------
    x : Any
        Nested dicts / lists / tuples / numpy arrays and scalars.
    nonfinite : {"none", "keep"}, default "none"
        ``"none"``: NaN and ±inf floats become ``None`` (strict JSON: ``ablation.json``,
        ``augment.json``); ``"keep"``: they stay floats (``metrics.json`` is written with
        ``allow_nan=True`` and keeps NaN as ``NaN``).
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v, nonfinite=nonfinite) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, nonfinite=nonfinite) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v, nonfinite=nonfinite) for v in x.tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        if nonfinite == "none" and not math.isfinite(float(x)):
            return None
        return float(x)
    return x
