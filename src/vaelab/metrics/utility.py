"""Utility metrics: is the synthetic data useful for a downstream classifier?

* ``tstr``: Train on Synthetic, Test on Real (Esteban et al. 2017).
* ``trtr``: Train on Real, Test on Real, the baseline ``tstr`` should be compared with.
* ``class_specificity``: does a classifier trained on real data recognise the class
  each synthetic sample was generated for?

All use the same default classifier,
``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))``: a
standardised, L2-regularised linear model. It is deterministic (lbfgs solver, no
random initialisation), cheap for n in the thousands and d in the thousands, and
the regularisation keeps it stable when n << d. Being linear, it measures whether
class structure is preserved, not whether fine detail is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from vaelab.core.errors import InputError
from vaelab.metrics.distribution import _flatten, _same_width, _with_seed

__all__ = ["balanced_accuracy", "class_specificity", "default_classifier", "trtr", "tstr"]


def default_classifier() -> Any:
    """The default classifier of this module (unfitted, deterministic).

    Returns:
        ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))``.
    """
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))


def balanced_accuracy(y_true: Any, y_pred: Any) -> float:
    """Mean over the classes present in ``y_true`` of the per-class recall.

    Predicted labels that never occur in ``y_true`` only count as errors; classes absent
    from ``y_true`` do not enter the mean. Chance level is ``1 / n_classes``.

    Args:
        y_true: array([n]) of true labels.
        y_pred: array([n]) of predicted labels.
    Returns:
        float in [0, 1].
    """
    yt = np.asarray(y_true).reshape(-1)
    yp = np.asarray(y_pred).reshape(-1)
    if yt.shape != yp.shape or yt.size == 0:
        raise InputError(f"y_true and y_pred must be non-empty and of equal length: {yt.shape} vs {yp.shape}")
    return float(np.mean([np.mean(yp[yt == c] == c) for c in np.unique(yt)]))


def _labels(y: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(y).reshape(-1)
    if arr.shape[0] != n:
        raise InputError(f"{name} has {arr.shape[0]} labels for {n} samples")
    return arr


def _fit_predict(
    X_fit: Any, y_fit: Any, X_pred: Any, classifier: Any, seed: int, names: tuple[str, str]
) -> np.ndarray:
    """Fit ``classifier`` (or the default) on (X_fit, y_fit) and predict X_pred.

    A training set with a single class yields that class for every prediction (most
    classifiers refuse to fit one class).
    """
    xf = _flatten(X_fit, names[0])
    xp = _flatten(X_pred, names[1])
    _same_width(xf, xp, names[0], names[1])
    yf = _labels(y_fit, xf.shape[0], f"labels of {names[0]}")
    classes = np.unique(yf)
    if classes.size == 1:
        return np.repeat(classes, xp.shape[0])
    clf = _with_seed(default_classifier() if classifier is None else classifier, seed)
    # One BLAS thread: lbfgs on (n ~ 1e3) × (d ~ 1e3) matrices is latency-bound, and
    # multi-threaded BLAS on a busy or shared machine made one fit ~15× slower (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        clf.fit(xf, yf)
        return np.asarray(clf.predict(xp))


def tstr(
    X_synth: Any,
    y_synth: Any,
    X_test: Any,
    y_test: Any,
    *,
    classifier: Any = None,
    seed: int = 0,
) -> float:
    """Train on Synthetic, Test on Real: balanced accuracy on a real holdout set.

    A classifier is trained on the labelled synthetic data and evaluated on real data
    the generator never saw. Goal: **higher is better**, ideally close to
    :func:`trtr` on the same test set; range [0, 1], chance = 1 / n_classes. Balanced
    accuracy is computed over the classes present in ``y_test``; a class missing from
    the synthetic training set is simply never predicted (recall 0 for it).

    Reference:
        C. Esteban, S. L. Hyland, G. Rätsch, "Real-valued (Medical) Time Series
        Generation with Recurrent Conditional GANs", arXiv:1706.02633, 2017.

    Args:
        X_synth: numpy.ndarray([M, ...]) synthetic samples.
        y_synth: array([M]) their intended labels (int or str).
        X_test: numpy.ndarray([T, ...]) real holdout samples.
        y_test: array([T]) their labels.
        classifier: unfitted scikit-learn classifier; ``None`` for the module default
            (see :func:`default_classifier`). It is cloned; ``*random_state``
            parameters left at ``None`` are set to ``seed``.
        seed: seed for the classifier.
    Returns:
        balanced accuracy (float).
    """
    xt = _flatten(X_test, "X_test")
    yt = _labels(y_test, xt.shape[0], "y_test")
    pred = _fit_predict(X_synth, y_synth, xt, classifier, seed, ("X_synth", "X_test"))
    return balanced_accuracy(yt, pred)


def trtr(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    classifier: Any = None,
    seed: int = 0,
) -> float:
    """Train on Real, Test on Real: the reference value for :func:`tstr`.

    Same classifier, same balanced accuracy and same test set as :func:`tstr`, but
    trained on the real training data. Goal: higher is better; range [0, 1].
    ``tstr / trtr`` close to 1 means the synthetic data carries the class information
    of the real data.

    Args:
        X_train: numpy.ndarray([N, ...]) real training samples.
        y_train: array([N]) their labels.
        X_test: numpy.ndarray([T, ...]) real holdout samples.
        y_test: array([T]) their labels.
        classifier: as in :func:`tstr`.
        seed: as in :func:`tstr`.
    Returns:
        balanced accuracy (float).
    """
    xt = _flatten(X_test, "X_test")
    yt = _labels(y_test, xt.shape[0], "y_test")
    pred = _fit_predict(X_train, y_train, xt, classifier, seed, ("X_train", "X_test"))
    return balanced_accuracy(yt, pred)


def class_specificity(
    X_real: Any,
    y_real: Any,
    X_synth: Any,
    y_synth: Any,
    *,
    classifier: Any = None,
    seed: int = 0,
) -> float:
    """Share of synthetic samples that a real-trained classifier assigns to their intended class.

    A classifier trained on the real data labels the synthetic samples; the result is
    the plain accuracy against the labels the samples were generated for. Goal:
    **higher is better**; range [0, 1]; 1 means every synthetic sample is recognisably
    of its class, chance is about 1 / n_classes. A conditional generator that ignores
    its condition scores near chance. Plain (not balanced) accuracy: the synthetic
    class proportions are chosen by the user.

    Args:
        X_real: numpy.ndarray([N, ...]) real samples.
        y_real: array([N]) their labels.
        X_synth: numpy.ndarray([M, ...]) synthetic samples.
        y_synth: array([M]) the labels they were generated for.
        classifier: as in :func:`tstr`.
        seed: as in :func:`tstr`.
    Returns:
        accuracy (float).
    """
    xs = _flatten(X_synth, "X_synth")
    ys = _labels(y_synth, xs.shape[0], "y_synth")
    pred = _fit_predict(X_real, y_real, xs, classifier, seed, ("X_real", "X_synth"))
    return float(np.mean(pred == ys))
