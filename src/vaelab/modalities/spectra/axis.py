"""Checks that two sets of spectra are sampled on the same spectral axis.

Spectra are compared point by point (preprocessing, metrics, classifiers), so a holdout whose
wavenumbers run the other way, or sit on another grid, would be compared with the wrong points
without any error. :func:`check_same_axis` refuses that with one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelab.core.errors import InputError


def check_same_axis(axis: Any, reference: Any, what: str, ref_what: str) -> None:
    """Raise :class:`InputError` unless ``axis`` matches ``reference`` point by point.

    Both are the spectral axes (wavenumbers, Raman shifts) read from the files' header rows; when
    either is ``None`` (no numeric header) nothing can be checked and nothing is raised. They match
    when every value lies within half the reference's smallest point spacing of the reference's
    value at the same index (so the nearest reference point of every point is its own index:
    rounding of the header or a small calibration offset passes). The same values in the opposite
    order (an ascending file against a descending run) are named as such.
    """
    if axis is None or reference is None:
        return
    a = np.asarray(axis, dtype=np.float64).reshape(-1)
    r = np.asarray(reference, dtype=np.float64).reshape(-1)
    if len(a) != len(r) or len(r) < 2:
        return  # a different number of points is reported by the feature-count checks
    step = np.abs(np.diff(r))
    tol = 0.5 * float(step[step > 0].min()) if np.any(step > 0) else 0.0
    if np.all(np.abs(a - r) <= tol):
        return
    if np.all(np.abs(a[::-1] - r) <= tol):
        order = "descending" if r[0] > r[-1] else "ascending"
        raise InputError(f"{what} has its spectral axis in the opposite order to {ref_what} "
                         f"({a[0]:g} .. {a[-1]:g} against {r[0]:g} .. {r[-1]:g}); "
                         f"write its columns in {order} order")
    i = int(np.argmax(np.abs(a - r)))
    raise InputError(f"{what} is sampled on another spectral axis than {ref_what} "
                     f"(point {i}: {a[i]:g} against {r[i]:g}); resample it onto the same axis")
