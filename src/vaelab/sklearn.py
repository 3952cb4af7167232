"""vaelab inside scikit-learn / imbalanced-learn pipelines.

* :class:`Preprocess` (and the shortcuts :class:`SNV`, :class:`MSC`, :class:`Derivative`,
  :class:`Crop`): vaelab's fitted preprocessing steps as scikit-learn transformers, e.g.
  ``Preprocess("arpls+savgol+vector")``.
* :class:`Augmenter`: any vaelab generator as an imbalanced-learn sampler. In an
  ``imblearn.pipeline.Pipeline`` its ``fit_resample`` runs when the pipeline is fitted, i.e. on the
  training part of each cross-validation fold only; at prediction time the step is skipped. So::

      pipe = Pipeline([("pre", Preprocess("arpls+savgol+vector")),
                       ("aug", Augmenter(model="vaelab-cvae", factor=2, seed=0)),
                       ("clf", LogisticRegression(max_iter=2000))])
      cross_val_score(pipe, X, y, groups=patients, cv=GroupKFold(5))

  fits preprocessing and generator on the training patients of each fold and scores on the others,
  which augmenting ``X`` before the split would not (synthetic near-copies of test spectra would
  then sit in the training folds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from vaelab.core.errors import InputError
from vaelab.data.preprocess import Preprocessing


class Preprocess(TransformerMixin, BaseEstimator):
    """vaelab preprocessing ``spec`` (e.g. ``"snv"``, ``"arpls+savgol+vector"``, ``"crop:400-1800+d1"``)
    as a transformer. ``axis`` (n_points,): the spectral axis, used by ``crop``; ``params``: per-step
    parameters, e.g. ``{"arpls": {"lam": 1e6}}``.

    ``X`` (n_samples, n_points) -> (n_samples, n_points_out). Fitted state: ``preprocessing_``
    (a :class:`~vaelab.data.preprocess.Preprocessing`, saved with ``preprocessing_.save(path)``).
    """

    def __init__(self, spec: str = "none", axis: Any = None, params: dict | None = None):
        self.spec = spec
        self.axis = axis
        self.params = params

    def _recipe(self) -> tuple[str, dict]:
        """The spec and per-step parameters this transformer stands for."""
        return self.spec, dict(self.params or {})

    def fit(self, X, y=None):
        X = _as_float(X)
        spec, params = self._recipe()
        self.preprocessing_ = Preprocessing.from_spec(spec, **params)
        axis = getattr(self, "axis", None)
        axis = None if axis is None else np.asarray(axis, dtype=np.float64)
        self.preprocessing_.fit(X, axis)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        if not hasattr(self, "preprocessing_"):
            raise InputError(f"preprocessing {self._recipe()[0]!r} used before it was fitted")
        return self.preprocessing_.transform(_as_float(X))


class SNV(Preprocess):
    """Standard normal variate per spectrum."""

    def __init__(self):
        pass

    def _recipe(self) -> tuple[str, dict]:
        return "snv", {}


class MSC(Preprocess):
    """Multiplicative scatter correction against the training mean spectrum."""

    def __init__(self):
        pass

    def _recipe(self) -> tuple[str, dict]:
        return "msc", {}


class Derivative(Preprocess):
    """Savitzky–Golay derivative of order ``order`` (1 or 2), ``window`` points, ``polyorder``."""

    def __init__(self, order: int = 1, window: int = 11, polyorder: int = 2):
        self.order, self.window, self.polyorder = order, window, polyorder

    def _recipe(self) -> tuple[str, dict]:
        if self.order not in (1, 2):
            raise InputError(f"Derivative: order must be 1 or 2, got {self.order!r}")
        return f"d{self.order}", {f"d{self.order}": {"window": self.window, "polyorder": self.polyorder}}


class Crop(Preprocess):
    """Keep ``lo <= axis <= hi`` (point indices without ``axis``)."""

    def __init__(self, lo: float = 0, hi: float = 0, axis: Any = None):
        self.lo, self.hi, self.axis = lo, hi, axis

    def _recipe(self) -> tuple[str, dict]:
        return "crop", {"crop": {"lo": self.lo, "hi": self.hi}}


class Augmenter(BaseEstimator):
    """A vaelab generator as an imbalanced-learn sampler: ``fit_resample(X, y)`` fits ``model``
    on ``(X, y)`` and returns the real samples followed by synthetic ones.

    Parameters
    ----------
    model : str
        Registry name of the generator (``vaelab.models.available()``).
    factor : float
        Synthetic samples per class = ``round(factor x`` the class's count in ``y``) (at least 1).
    per_class : int or dict, optional
        Instead of ``factor``: the same count for every class, or ``{label: count}`` (whole numbers >= 0;
        anything else is an ``InputError``).
    seed : int
        Seed of the fit (``seed``) and of the sampling (``seed + 1``): the same data give the
        same output.
    config : dict, optional
        Model configuration overrides, e.g. ``{"epochs": 100}``.

    ``X`` (n, d), ``y`` (n,) -> ``X_res`` (n + m, d), ``y_res`` (n + m,) with ``y``'s dtype. The fitted
    generator is kept as ``generator_``.
    """

    def __init__(self, model: str = "vaelab-cvae", factor: float = 2.0, per_class: int | dict | None = None,
                 seed: int = 0, config: dict | None = None):
        self.model = model
        self.factor = factor
        self.per_class = per_class
        self.seed = seed
        self.config = config

    def _counts(self, y: np.ndarray) -> dict[Any, int]:
        classes, n = np.unique(y, return_counts=True)
        if self.per_class is None:
            f = self.factor
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not f > 0 or not np.isfinite(f):
                raise InputError(f"Augmenter: factor must be a positive number, got {f!r}")
            return {c: max(1, int(round(f * k))) for c, k in zip(classes.tolist(), n.tolist(), strict=True)}
        if isinstance(self.per_class, dict):
            unknown = set(self.per_class) - set(classes.tolist())
            if unknown:
                raise InputError(f"Augmenter: per_class names classes not in y: {sorted(map(str, unknown))}")
            counts = {c: _whole(k, c) for c, k in self.per_class.items()}
            return {c: k for c, k in counts.items() if k > 0}
        k = _whole(self.per_class)
        return {c: k for c in classes.tolist()}

    def fit_resample(self, X, y):
        from vaelab.models import get_model

        X = _as_float(X)
        y = np.asarray(y)
        if len(X) != len(y):
            raise InputError(f"Augmenter: X has {len(X)} rows but y has {len(y)}")
        counts = self._counts(y)
        gen = get_model(self.model, **(self.config or {}))
        if hasattr(gen, "progress"):
            gen.progress = False
        gen.fit(X, y, seed=int(self.seed))
        self.generator_ = gen
        if not counts:
            return X, y
        S, ys = gen.sample(counts, seed=int(self.seed) + 1)
        S = np.asarray(S, dtype=np.float64).reshape(len(S), *X.shape[1:])
        return np.concatenate([X, S]), np.concatenate([y, np.asarray(ys).astype(y.dtype)])


def _whole(k: Any, label: Any = None) -> int:
    """A per-class count: a whole number >= 0 (``2.0`` is 2; ``2.5``, ``-1``, ``"5"``, ``True`` are refused)."""
    ok = isinstance(k, (int, float, np.integer, np.floating)) and not isinstance(k, (bool, np.bool_)) \
        and np.isfinite(k) and k >= 0 and float(k).is_integer()
    if not ok:
        where = "" if label is None else f" for class {label!r}"
        raise InputError(f"Augmenter: per_class{where} must be a whole number >= 0, got {k!r}")
    return int(k)


def _as_float(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"expected X of shape (n_samples, n_features), got {X.shape}")
    return X


__all__ = ["Augmenter", "Crop", "Derivative", "MSC", "Preprocess", "SNV"]
