"""Raman / IR preprocessing steps users expect, as chainable per-sample steps.

Each step works on one sample at a time (no fitted state), so it can be chained with the
others on the command line, e.g. ``--preprocess aspls+savgol+vector``. Parameters are
plain JSON values (``Preprocessing.from_spec(spec, aspls={"lam": 1e6})``); they are saved
with the run's ``preprocessing.json``.

All of them apply to spectra only (``modalities = {"spectrum"}``): ``Preprocessing.check``
refuses them for images or audio, and baseline removal and smoothing also refuse arrays that
are not ``(n, points)``, so a baseline is never fitted along the rows of an image. Baseline removal and smoothing act along
each spectrum; the normalisations on all points of a sample.

``asls``    asymmetric least squares baseline (Eilers & Boelens 2005), subtracted.
``arpls``   asymmetrically reweighted penalised least squares (Baek et al. 2015), subtracted.
``aspls``   adaptive smoothness penalised least squares (Zhang et al. 2020), subtracted.
            All three via ``pybaselines.Baseline`` (x = channel index, so ``lam`` is in
            units of channels).
``savgol``  Savitzky–Golay smoothing (or derivative: ``deriv``), ``scipy.signal.savgol_filter``
            with ``window`` (odd) and ``polyorder``; edges use ``mode="interp"``.
``vector``  vector (L2) normalisation: each sample divided by its Euclidean norm.
``area``    area (L1) normalisation: each sample divided by the sum of its absolute values.
            An all-zero sample stays zero in both normalisations.
``snv``     standard normal variate: each spectrum centred and divided by its sd.
``msc``     multiplicative scatter correction against the training mean spectrum (fitted).
``d1``, ``d2``  first / second Savitzky–Golay derivative (window 11, polyorder 2, per channel).
``crop:LO-HI``  keep the part of the spectral axis from LO to HI (axis units when the data have
            an axis, else point indices; fitted).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vaelab.core.errors import InputError
from vaelab.data.preprocess import Step, register_step


def _number(step: str, name: str, v: Any, *, lo: float | None = None, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"preprocessing {step!r}: {name} must be a finite number, got {v!r}")
    if positive and v <= 0:
        raise InputError(f"preprocessing {step!r}: {name} must be > 0, got {v!r}")
    if lo is not None and v < lo:
        raise InputError(f"preprocessing {step!r}: {name} must be >= {lo}, got {v!r}")
    return float(v)


def _integer(step: str, name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InputError(f"preprocessing {step!r}: {name} must be an integer >= {lo}, got {v!r}")
    return int(v)


SPECTRA = frozenset({"spectrum"})


def _spectra(step: str, X: np.ndarray) -> np.ndarray:
    """``X`` as float64 spectra (n, points); any other shape is refused."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"preprocessing step {step!r} applies to spectra, data of shape (n, points); "
                         f"got shape {X.shape}")
    return X


class _SpectralStep(Step):
    modalities = SPECTRA


class _Baseline(_SpectralStep):
    """Subtract a pybaselines Whittaker-type baseline from every spectrum."""

    method = ""
    default_lam = 1e5
    defaults: dict[str, float] = {}

    def __init__(self, lam: float | None = None, diff_order: int = 2, max_iter: int = 50, tol: float = 1e-3,
                 **extra: Any):
        unknown = set(extra) - set(self.defaults) - {"lam"}
        if unknown:
            raise InputError(f"preprocessing {self.name!r}: unknown parameter(s) {sorted(unknown)}")
        self.lam = _number(self.name, "lam", self.default_lam if lam is None else lam, positive=True)
        self.diff_order = _integer(self.name, "diff_order", diff_order, 1)
        self.max_iter = _integer(self.name, "max_iter", max_iter, 1)
        self.tol = _number(self.name, "tol", tol, positive=True)
        self.extra = {k: _number(self.name, k, extra.get(k, v), lo=0.0) for k, v in self.defaults.items()}

    def params(self) -> dict[str, Any]:
        return {"lam": self.lam, "diff_order": self.diff_order, "max_iter": self.max_iter, "tol": self.tol,
                **self.extra}

    def baseline(self, rows: np.ndarray) -> np.ndarray:
        """The fitted baseline of each row of ``rows`` (k, m)."""
        from pybaselines import Baseline

        k, m = rows.shape
        if m <= self.diff_order + 1:
            raise InputError(f"preprocessing {self.name!r} needs more than {self.diff_order + 1} points per spectrum, got {m}")
        fitter = Baseline(np.arange(m, dtype=np.float64), check_finite=False, assume_sorted=True)
        method = getattr(fitter, self.method)
        out = np.empty_like(rows)
        for i in range(k):
            out[i] = method(rows[i], lam=self.lam, diff_order=self.diff_order, max_iter=self.max_iter,
                            tol=self.tol, **self.extra)[0]
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        rows = _spectra(self.name, X)
        if not np.all(np.isfinite(rows)):
            raise InputError(f"preprocessing {self.name!r}: data contain NaN or infinite values")
        return rows - self.baseline(rows)


@register_step
class AsLS(_Baseline):
    name = "asls"
    method = "asls"
    default_lam = 1e6
    defaults = {"p": 0.01}


@register_step
class ArPLS(_Baseline):
    name = "arpls"
    method = "arpls"
    default_lam = 1e5


@register_step
class AsPLS(_Baseline):
    name = "aspls"
    method = "aspls"
    default_lam = 1e5
    defaults = {"asymmetric_coef": 0.5}

    def __init__(self, lam: float | None = None, diff_order: int = 2, max_iter: int = 100, tol: float = 1e-3,
                 **extra: Any):
        super().__init__(lam=lam, diff_order=diff_order, max_iter=max_iter, tol=tol, **extra)


@register_step
class SavGol(_SpectralStep):
    """Savitzky–Golay smoothing (``deriv=0``) or derivative along the last axis."""

    name = "savgol"

    def __init__(self, window: int = 11, polyorder: int = 3, deriv: int = 0):
        self.window = _integer(self.name, "window", window, 1)
        self.polyorder = _integer(self.name, "polyorder", polyorder, 0)
        self.deriv = _integer(self.name, "deriv", deriv, 0)
        if self.window % 2 == 0:
            raise InputError(f"preprocessing 'savgol': window must be odd, got {window}")
        if self.polyorder >= self.window:
            raise InputError(f"preprocessing 'savgol': polyorder ({polyorder}) must be less than window ({window})")
        if self.deriv > self.polyorder:
            raise InputError(f"preprocessing 'savgol': deriv ({deriv}) must not exceed polyorder ({polyorder})")

    def params(self) -> dict[str, Any]:
        return {"window": self.window, "polyorder": self.polyorder, "deriv": self.deriv}

    def transform(self, X: np.ndarray) -> np.ndarray:
        from scipy.signal import savgol_filter

        rows = _spectra(self.name, X)
        if rows.shape[1] < self.window:
            raise InputError(f"preprocessing 'savgol': window {self.window} is longer than the spectra "
                             f"({rows.shape[1]} points)")
        return savgol_filter(rows, self.window, self.polyorder, deriv=self.deriv, axis=1, mode="interp")


class _Norm(_SpectralStep):
    order = 2

    def transform(self, X: np.ndarray) -> np.ndarray:
        # over all features of a sample, whatever its shape (harmless on arrays); the data-set
        # level check (modalities) still keeps it to spectra
        X = np.asarray(X, dtype=np.float64)
        if X.ndim < 2:
            raise InputError(f"expected data of shape (n, features...), got {X.shape}")
        flat = X.reshape(len(X), -1)
        norm = np.linalg.norm(flat, ord=self.order, axis=1, keepdims=True)
        out = np.where(norm > 0, flat / np.where(norm > 0, norm, 1.0), 0.0)
        return out.reshape(X.shape)


@register_step
class VectorNorm(_Norm):
    """Each sample divided by its Euclidean (L2) norm."""

    name = "vector"
    order = 2


@register_step
class AreaNorm(_Norm):
    """Each sample divided by the sum of its absolute values (L1 norm)."""

    name = "area"
    order = 1


# ---------------------------------------------------------------------------- scatter, derivatives, crop
# Written here rather than wrapped: each is a few lines of numpy/scipy, must save to JSON (chemotools'
# transformers keep their state in attributes meant for pickling) and work on any trailing shape;
# tests/test_chemometrics_steps.py checks them against chemotools' transformers.

@register_step
class SNV(_SpectralStep):
    """Standard normal variate (Barnes et al. 1989): each spectrum minus its mean, divided by its
    standard deviation (ddof 0), along the last axis. A flat spectrum maps to zeros (chemotools: NaN)."""

    name = "snv"

    def transform(self, X: np.ndarray) -> np.ndarray:
        rows = _spectra(self.name, X)
        centred = rows - rows.mean(axis=1, keepdims=True)
        sd = centred.std(axis=1, keepdims=True)
        return np.where(sd > 0, centred / np.where(sd > 0, sd, 1.0), 0.0)


@register_step
class MSC(_SpectralStep):
    """Multiplicative scatter correction (Geladi et al. 1985): each spectrum ``x`` is regressed on the
    training mean spectrum ``r`` (``x ~ b r + a``, least squares) and replaced by ``(x - a) / b``.

    The reference (mean of all training spectra along the last axis) is the fitted state.
    """

    name = "msc"
    per_sample = False

    def __init__(self) -> None:
        self.reference_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> MSC:
        rows = _spectra(self.name, X)
        self.reference_ = rows.mean(axis=0)
        if np.ptp(self.reference_) == 0:
            raise InputError("preprocessing 'msc': the mean training spectrum is flat; no scatter to correct")
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.reference_ is None:
            raise InputError("preprocessing 'msc' used before it was fitted")
        rows = _spectra(self.name, X)
        if rows.shape[1] != len(self.reference_):
            raise InputError(f"preprocessing 'msc': spectra have {rows.shape[1]} points, the reference "
                             f"{len(self.reference_)}")
        r = self.reference_ - self.reference_.mean()
        xc = rows - rows.mean(axis=1, keepdims=True)
        slope = (xc @ r) / (r @ r)
        intercept = rows.mean(axis=1) - slope * self.reference_.mean()
        safe = np.where(slope != 0, slope, 1.0)
        return (rows - intercept[:, None]) / safe[:, None]

    def state(self) -> dict[str, Any]:
        assert self.reference_ is not None
        return {"reference": self.reference_.tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.reference_ = np.asarray(state["reference"], dtype=np.float64)


@register_step
class D1(SavGol):
    """First Savitzky–Golay derivative along the last axis (per channel; window 11, polyorder 2)."""

    name = "d1"
    _deriv = 1

    def __init__(self, window: int = 11, polyorder: int = 2, deriv: int | None = None):
        if deriv is not None and deriv != self._deriv:
            raise InputError(f"preprocessing {self.name!r}: deriv is fixed to {self._deriv}")
        super().__init__(window=window, polyorder=polyorder, deriv=self._deriv)


@register_step
class D2(D1):
    """Second Savitzky–Golay derivative along the last axis (per channel; window 11, polyorder 2)."""

    name = "d2"
    _deriv = 2


@register_step
class Crop(_SpectralStep):
    """Keep a range of the spectral axis (last axis): ``crop:LO-HI`` on the command line.

    With an axis given when fitting (the data's wavenumbers / Raman shifts) the points with
    ``LO <= axis <= HI`` are kept; without one, ``LO`` and ``HI`` are 0-based point indices (both
    kept). The kept indices are the fitted state.
    """

    name = "crop"
    per_sample = False
    uses_axis = True

    def __init__(self, lo: float | None = None, hi: float | None = None):
        if lo is None or hi is None:
            raise InputError("preprocessing 'crop' needs a range: crop:LO-HI")
        self.lo, self.hi = _number(self.name, "lo", lo), _number(self.name, "hi", hi)
        if self.hi < self.lo:
            raise InputError(f"preprocessing 'crop': empty range {lo:g}-{hi:g} (HI < LO); give the range low to high "
                             f"whatever the order of the axis, crop:{hi:g}-{lo:g}")
        self.keep_: np.ndarray | None = None
        self.n_in_: int | None = None

    @classmethod
    def from_arg(cls, arg: str) -> Crop:
        """``"LO-HI"`` (numbers, LO may be negative) -> ``Crop(LO, HI)``."""
        import re

        num = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
        m = re.fullmatch(rf"\s*({num})\s*-\s*({num})\s*", arg)
        if m is None:
            raise InputError(f"preprocessing 'crop': range {arg!r} is not of the form LO-HI (e.g. crop:400-1800)")
        return cls(float(m.group(1)), float(m.group(2)))

    def params(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi}

    def fit(self, X: np.ndarray, axis: np.ndarray | None = None) -> Crop:
        m = np.asarray(X).shape[-1]
        pos = np.arange(m, dtype=np.float64) if axis is None else np.asarray(axis, dtype=np.float64).reshape(-1)
        if len(pos) != m:
            raise InputError(f"preprocessing 'crop': the axis has {len(pos)} values for {m} points")
        keep = np.flatnonzero((pos >= self.lo) & (pos <= self.hi))
        if len(keep) == 0:
            where = "points" if axis is None else f"axis values ({pos.min():g} to {pos.max():g})"
            raise InputError(f"preprocessing 'crop': no {where} in {self.lo:g}-{self.hi:g}")
        self.keep_, self.n_in_ = keep, m
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.keep_ is None:
            raise InputError("preprocessing 'crop' used before it was fitted")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim < 2 or X.shape[-1] != self.n_in_:
            raise InputError(f"preprocessing 'crop': spectra have {X.shape[-1] if X.ndim else 0} points, "
                             f"it was fitted on {self.n_in_}")
        return X[..., self.keep_]

    def transform_axis(self, axis: np.ndarray | None) -> np.ndarray | None:
        return None if axis is None or self.keep_ is None else np.asarray(axis, dtype=np.float64)[self.keep_]

    def spec_token(self) -> str:
        return f"crop:{self.lo:g}-{self.hi:g}"

    def state(self) -> dict[str, Any]:
        assert self.keep_ is not None
        return {"keep": self.keep_.tolist(), "n_in": self.n_in_}

    def load_state(self, state: dict[str, Any]) -> None:
        self.keep_ = np.asarray(state["keep"], dtype=np.int64)
        self.n_in_ = int(state["n_in"])
