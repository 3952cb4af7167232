"""Warning flags raised from metric values: collapse, memorisation, distinguishability.

:func:`compute_flags` turns a flat dict of metric values into three flags. Every flag
is always present in the result; a flag whose input is missing (absent, ``None`` or
NaN) has ``raised=None`` and reason "not computed", so a skipped metric is visible
instead of silently passing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vaelab.core.errors import InputError

__all__ = ["Thresholds", "compute_flags"]

NOT_COMPUTED = "not computed"


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the flags (all comparisons are strict).

    Attributes:
        collapse_spread: ``collapse`` is raised when the smallest per-class spread
            ratio (:func:`vaelab.metrics.spread_ratio`) is ``< 0.5``: the synthetic
            class varies less than half as much as the real one. Well-fitted VAEs
            are typically a bit smoother than the data (ratios 0.7-1); a mean-copy
            generator gives 0.
        memorization_dcr: ``memorization`` is raised when ``dcr_ratio``
            (:func:`vaelab.metrics.dcr`) is ``< 0.5``: the typical synthetic sample is
            less than half as far from its nearest training sample as a typical
            unseen real sample is. Only ``dcr_ratio`` is used: ``closer_than_holdout``
            compares with the single smallest holdout distance, an extreme value that
            is too noisy on holdout sets of a few dozen samples to flag on.
        distinguishable_auc: ``distinguishable`` is raised when the C2ST AUC
            (:func:`vaelab.metrics.c2st`) is ``> 0.75``: a classifier ranks a random
            synthetic sample above a random real one three times out of four, well
            outside the noise around 0.5 for a few hundred samples (per-fold standard
            error about 0.04-0.06).
    """

    collapse_spread: float = 0.5
    memorization_dcr: float = 0.5
    distinguishable_auc: float = 0.75

    def __post_init__(self) -> None:
        for name in ("collapse_spread", "memorization_dcr", "distinguishable_auc"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise InputError(f"threshold {name} must be a finite number, got {value!r}")
        if not 0.0 <= self.distinguishable_auc <= 1.0:
            raise InputError(f"distinguishable_auc must be in [0, 1], got {self.distinguishable_auc}")


def _number(value: Any, name: str) -> float | None:
    """``None`` for a missing value (None / NaN), else the value as float."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"metric {name} must be a number, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"metric {name} must be a number, got {value!r}") from exc
    return None if math.isnan(f) else f


def _missing(threshold: float) -> dict[str, Any]:
    return {"raised": None, "value": None, "threshold": threshold, "reason": NOT_COMPUTED}


def _collapse(spread: Any, threshold: float) -> dict[str, Any]:
    if isinstance(spread, Mapping):
        values = {c: _number(v, f"spread_ratio[{c!r}]") for c, v in spread.items()}
    else:
        values = {None: _number(spread, "spread_ratio")}
    known = {c: v for c, v in values.items() if v is not None}
    missing = [c for c, v in values.items() if v is None]
    if not known:
        return _missing(threshold)
    worst = min(known, key=known.__getitem__)
    value = known[worst]
    where = "" if worst is None else f" (class {worst!r})"
    if value < threshold:
        return {
            "raised": True,
            "value": value,
            "threshold": threshold,
            "reason": f"synthetic spread is {value:.2f} x the real spread{where}, below {threshold}",
        }
    if missing:
        return {
            "raised": None,
            "value": value,
            "threshold": threshold,
            "reason": f"{NOT_COMPUTED} for classes {missing!r}; the others are >= {threshold}",
        }
    return {
        "raised": False,
        "value": value,
        "threshold": threshold,
        "reason": f"smallest spread ratio {value:.2f}{where} is >= {threshold}",
    }


def compute_flags(metrics: Mapping[str, Any], thresholds: Thresholds | None = None) -> dict[str, dict]:
    """Raise warning flags from metric values.

    Args:
        metrics: flat mapping with (any of) the keys
          ``"spread_ratio"``: mapping class -> ratio (as returned by
          :func:`vaelab.metrics.spread_ratio`) or a single number;
          ``"dcr_ratio"``: float (:func:`vaelab.metrics.dcr`);
          ``"c2st_auc"``: float (:func:`vaelab.metrics.c2st`).
          Other keys are ignored.
        thresholds: :class:`Thresholds`; ``None`` for the defaults.
    Returns:
        ``{"collapse": entry, "memorization": entry, "distinguishable": entry}``, each
        entry ``{"raised": bool | None, "value": float | None, "threshold": float,
        "reason": str}``. ``raised`` is ``None`` when the input is missing (absent,
        None or NaN); for ``collapse`` also when no class is below the threshold but
        some class ratio is missing.
    """
    t = Thresholds() if thresholds is None else thresholds
    flags: dict[str, dict] = {}

    spread = metrics.get("spread_ratio")
    flags["collapse"] = (
        _missing(t.collapse_spread) if spread is None else _collapse(spread, t.collapse_spread)
    )

    dcr_ratio = _number(metrics.get("dcr_ratio"), "dcr_ratio")
    if dcr_ratio is None:
        flags["memorization"] = _missing(t.memorization_dcr)
    else:
        raised = dcr_ratio < t.memorization_dcr
        flags["memorization"] = {
            "raised": raised,
            "value": dcr_ratio,
            "threshold": t.memorization_dcr,
            "reason": (
                f"synthetic samples are {dcr_ratio:.2f} x as far from the training set as holdout samples"
                + (f", below {t.memorization_dcr}" if raised else f", >= {t.memorization_dcr}")
            ),
        }

    auc = _number(metrics.get("c2st_auc"), "c2st_auc")
    if auc is None:
        flags["distinguishable"] = _missing(t.distinguishable_auc)
    else:
        raised = auc > t.distinguishable_auc
        flags["distinguishable"] = {
            "raised": raised,
            "value": auc,
            "threshold": t.distinguishable_auc,
            "reason": (
                f"a classifier separates real from synthetic with AUC {auc:.3f}"
                + (f", above {t.distinguishable_auc}" if raised else f", <= {t.distinguishable_auc}")
            ),
        }
    return flags
