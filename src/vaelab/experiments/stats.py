"""Summaries and paired tests over the (seed, fold) cells of an experiment.

Values are lists in cell order (seed-major, fold-minor) with ``None`` where a cell failed or
a number could not be computed; a summary states how many of them it could not use
(``n_failed``), so a mean never silently covers fewer runs than were asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v))


def clean(v: Any) -> float | None:
    """A float for JSON, or ``None`` for a missing / non-finite value."""
    return float(v) if _finite(v) else None


def summarise(values: Sequence[Any]) -> dict[str, Any]:
    """``{mean, std, values, n, n_failed}``; mean and sample std (ddof=1) over the usable values.

    ``n`` is how many values were asked for, ``n_failed`` how many are missing or not finite.
    ``std`` is None with fewer than 2 usable values, ``mean`` None with none.
    """
    vals = [clean(v) for v in values]
    ok = np.asarray([v for v in vals if v is not None], dtype=np.float64)
    return {
        "mean": float(ok.mean()) if ok.size else None,
        "std": float(ok.std(ddof=1)) if ok.size >= 2 else None,
        "values": vals,
        "n": len(vals),
        "n_failed": len(vals) - int(ok.size),
    }


def min_wilcoxon_p(n: int) -> float:
    """The smallest two-sided p the exact Wilcoxon signed-rank test can give with ``n`` non-zero pairs."""
    return 1.0 if n <= 0 else min(1.0, 2.0 / 2.0**n)


def paired_wilcoxon(a: Sequence[Any], b: Sequence[Any]) -> dict[str, Any]:
    """Two-sided Wilcoxon signed-rank test of ``a - b`` over the pairs where both values exist.

    Zero differences are dropped (``zero_method="wilcox"``); when every difference is zero (or
    no pair is left) the test says nothing: ``p = 1``. The exact distribution is used when
    there are no ties (scipy's ``method="auto"``, n <= 50).

    Returns:
        dict with ``p``, ``diff_mean`` (mean of a - b over the pairs), ``n_pairs``,
        ``n_nonzero``, ``wins`` / ``losses`` (pairs with a > b / a < b), ``min_p_possible``
        (the smallest p the exact test allows with ``n_nonzero`` pairs).
    """
    from scipy.stats import wilcoxon

    pairs = [(float(x), float(y)) for x, y in zip(a, b, strict=True) if _finite(x) and _finite(y)]
    d = np.asarray([x - y for x, y in pairs], dtype=np.float64)
    nz = d[d != 0]
    if len(nz) == 0:
        p = 1.0
    else:
        p = float(wilcoxon(nz, zero_method="wilcox", alternative="two-sided").pvalue)
        if not math.isfinite(p):
            p = 1.0
    return {
        "p": p,
        "diff_mean": float(d.mean()) if len(d) else None,
        "n_pairs": int(len(d)),
        "n_nonzero": int(len(nz)),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "min_p_possible": min_wilcoxon_p(len(nz)),
    }


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as the input), capped at 1."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


__all__ = ["clean", "holm", "min_wilcoxon_p", "paired_wilcoxon", "summarise"]
