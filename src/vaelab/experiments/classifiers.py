"""The downstream classifiers of the augmentation study, and how they are scored.

Every classifier is a scikit-learn pipeline ``StandardScaler -> model``, fitted on the
(augmented) training part only; nothing is tuned (tuning would need a nested
cross-validation, and fixed settings keep factors comparable). Settings:

``logreg``  ``LogisticRegression(C=1, max_iter=5000)`` (L2, lbfgs). Along the nested factors of the
            augmentation study lbfgs starts from the previous factor's solution
            (:func:`warm_logreg`): the objective is strictly convex, so it reaches the same optimum
            (to lbfgs's tolerance) in fewer iterations (measured in benchmarks/RESULTS.md).
``svm``     ``SVC(kernel="rbf", C=1, gamma="scale")``; scores for AUC from ``decision_function``
            (no Platt scaling, which would run an inner random cross-validation). Fitted as
            :class:`KernelSVC` (the same model, Gram matrix by BLAS: ~10× faster at 6,000 spectra).
``plsda``   PLS-DA: ``PLSRegression`` on one-hot class targets, class = argmax of the
            regression outputs, which are also the AUC scores; ``n_components=5`` (capped by
            the training size and the feature count).
``rf``      ``RandomForestClassifier(n_estimators=200)`` (``trees``), seeded, one job; the
            augmentation study caps its bootstrap size (``rf_max_samples``, see augment.py).
``knn``     ``KNeighborsClassifier(n_neighbors=5)`` (Euclidean on standardised features).
``cnn``     images only: :class:`~vaelab.modalities.image.cnn.SmallCNNClassifier` (15 epochs, or the steps the
            study gives it) on the standardised pixels. ``cnn_restarts`` (:data:`CNN_RESTARTS`, default 0) is the
            chance guard of the image TSTR/TRTR: a CNN whose training loss ends at >= 0.9 x the label entropy is
            retrained with other seeds. Not the default here (measured in benchmarks/RESULTS.md, issue 11,
            session 16, third helper): on the standardised pixels none of 80 study CNNs on digits and textured shapes
            ended at chance (the raw-pixel plateau it was made for did not occur); on random labels (the leak
            check) the loss ends near the entropy, so 9 of 20 CNNs were retrained (CNN CPU x 1.56; the score stays at
            chance, as the choice uses training rows only); and its loss pass over the training rows grows with the
            augmented set while the CNN's steps do not (3-4 % of a fit at 720 rows, 6-7 % at 1,440).

Scores: balanced accuracy (mean per-class recall over the classes in the test part; chance
``1/K``) and macro one-vs-rest ROC AUC (mean over the classes that have both positives and
negatives in the test part; NaN when there is only one class).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from vaelab.core.errors import InputError
from vaelab.metrics.utility import balanced_accuracy

CLASSIFIERS = ("logreg", "svm", "plsda", "rf", "knn", "cnn")
SCORES = ("balanced_accuracy", "roc_auc")

# how many times the study's cnn is retrained (other seeds, same budget) when it ends its budget at chance on its
# training rows (``restarts`` of SmallCNNClassifier, 2 in the image TSTR/TRTR). 0: an option, not the default
# (benchmarks/RESULTS.md, issue 11, session 16, third helper; see the module docstring)
CNN_RESTARTS = 0


class PLSDA(ClassifierMixin, BaseEstimator):
    """PLS discriminant analysis: PLS regression on one-hot targets, predicted class = argmax."""

    def __init__(self, n_components: int = 5):
        self.n_components = n_components

    def fit(self, X: np.ndarray, y: np.ndarray) -> PLSDA:
        X = np.asarray(X, dtype=np.float64)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise InputError("PLS-DA needs at least 2 classes in the training part")
        T = np.eye(len(self.classes_))[codes]
        k = max(1, min(int(self.n_components), X.shape[0] - 1, X.shape[1]))
        self.pls_ = PLSRegression(n_components=k, scale=False).fit(X, T)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.pls_.predict(np.asarray(X, dtype=np.float64)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


class KernelSVC(ClassifierMixin, BaseEstimator):
    """``SVC(kernel="rbf", gamma="scale")`` with the Gram matrix computed once by BLAS (the same model).

    libsvm evaluates kernel rows one dot product at a time and, for K classes, once per
    one-vs-one sub-problem, recomputing rows its cache (``cache_size``) cannot hold: past a
    few thousand samples that dominates the fit (measured in benchmarks/RESULTS.md). Here the
    full ``n × n`` RBF Gram matrix ``exp(-gamma ||x_i - x_j||²)`` is built in place (one
    float64 array, ``8 n²`` bytes: 3.9 GB at n = 22,000) with ``gamma = 1 / (d · Var(X))`` as
    ``gamma="scale"`` defines it, and libsvm runs on it as a precomputed kernel: the same
    optimisation problem and solution up to floating-point rounding. Prediction needs the
    kernel between the test samples and the training samples, so those are kept.
    """

    def __init__(self, C: float = 1.0, random_state: int | None = None):
        self.C = C
        self.random_state = random_state

    @staticmethod
    def _gram(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
        K = A @ B.T  # the only n × n allocation; the rest is in place
        K *= -2.0
        K += np.einsum("ij,ij->i", A, A)[:, None]
        K += np.einsum("ij,ij->i", B, B)[None, :]
        np.maximum(K, 0.0, out=K)
        K *= -gamma
        np.exp(K, out=K)
        return K

    def fit(self, X: np.ndarray, y: np.ndarray) -> KernelSVC:
        X = np.ascontiguousarray(X, dtype=np.float64)
        var = float(X.var())
        self.gamma_ = 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        self.svc_ = SVC(kernel="precomputed", C=self.C, random_state=self.random_state)
        self.svc_.fit(self._gram(X, X, self.gamma_), y)
        self.classes_ = self.svc_.classes_
        self.X_fit_ = X
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.svc_.decision_function(self._gram(np.asarray(X, dtype=np.float64), self.X_fit_, self.gamma_))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.svc_.predict(self._gram(np.asarray(X, dtype=np.float64), self.X_fit_, self.gamma_))


def make_classifier(name: str, *, seed: int = 0, trees: int = 200, rf_max_samples: int | None = None,
                    image_shape: tuple[int, ...] | None = None, cnn_steps: int | None = None,
                    cnn_restarts: int = CNN_RESTARTS) -> Pipeline:
    """An unfitted pipeline ``StandardScaler -> classifier`` by name (see module docstring).

    ``rf_max_samples``: the forest's bootstrap sample size is ``min(n, rf_max_samples)`` (None: n).
    ``image_shape``: (H, W[, C]) of one sample, for ``cnn`` (images only: the small CNN of
    :mod:`vaelab.modalities.image.cnn`, 3 conv layers, ~10k weights, 15 epochs, seeded).
    ``cnn_steps``: the CNN's number of optimiser steps instead of 15 epochs of its training set (None: epochs).
    ``cnn_restarts``: how many times a CNN still at chance on its training rows is retrained (:data:`CNN_RESTARTS`;
    0: never, the study before the guard).
    """
    if name == "cnn":
        from vaelab.modalities.image.cnn import SmallCNNClassifier
        from vaelab.modalities.image.io import is_image_shape

        if image_shape is None or not is_image_shape(tuple(image_shape)):
            raise InputError(f"classifier 'cnn' needs images (samples of shape (H, W) or (H, W, C)), got {image_shape}")
        clf: Any = SmallCNNClassifier(image_shape=tuple(image_shape), random_state=seed, steps=cnn_steps,
                                     restarts=int(cnn_restarts))
    elif name == "logreg":
        clf = LogisticRegression(C=1.0, max_iter=5000)
    elif name == "svm":
        clf = KernelSVC(C=1.0, random_state=seed)
    elif name == "plsda":
        clf = PLSDA(n_components=5)
    elif name == "rf":
        clf = RandomForestClassifier(n_estimators=int(trees), random_state=seed, n_jobs=1,
                                     max_samples=rf_max_samples)
    elif name == "knn":
        clf = KNeighborsClassifier(n_neighbors=5)
    else:
        raise InputError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def warm_logreg(previous: Pipeline | None, X: np.ndarray, y: np.ndarray) -> Pipeline:
    """Fit the ``logreg`` pipeline on ``(X, y)``, lbfgs started from ``previous``'s solution.

    ``previous`` is a fitted ``logreg`` pipeline (another training set of the same classes, e.g. a
    smaller augmentation factor) or None (start from zero, as :func:`make_classifier`'s). Its
    coefficients are carried through the two standardisations: in the original feature space the
    model is ``w / s0``, ``b - w · m0 / s0``; in the new standardised space ``w s1 / s0`` and
    ``b + w · (m1 - m0) / s0`` (``m``, ``s`` the scalers' means and scales). The L2-penalised
    objective is strictly convex, so the optimum does not depend on the start; only the number of
    iterations does. Classes that differ from ``previous``'s: started from zero.
    """
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression(C=1.0, max_iter=5000, warm_start=True)
    if previous is not None:
        s0, c0 = previous.named_steps["scale"], previous.named_steps["clf"]
        if np.array_equal(np.asarray(c0.classes_), np.unique(np.asarray(y))):
            w = c0.coef_ / s0.scale_
            clf.coef_ = w * scaler.scale_
            clf.intercept_ = c0.intercept_ + w @ (scaler.mean_ - s0.mean_)
    clf.fit(scaler.transform(X), y)
    return Pipeline([("scale", scaler), ("clf", clf)])


def parse_classifiers(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [str(s).strip() for s in spec]
    names = [n for n in names if n]
    if not names:
        raise InputError("no classifier given")
    unknown = [n for n in names if n not in CLASSIFIERS]
    if unknown:
        raise InputError(f"unknown classifier(s) {unknown}; choose from {', '.join(CLASSIFIERS)}")
    if len(set(names)) != len(names):
        raise InputError(f"classifier listed twice in {names}")
    return names


def class_scores(fitted: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class scores ``(n, K)`` (higher = more likely) and the K classes, from a fitted classifier."""
    classes = np.asarray(fitted.classes_)
    if hasattr(fitted, "decision_function") and not hasattr(fitted[-1], "predict_proba"):
        s = np.asarray(fitted.decision_function(X), dtype=np.float64)
    else:
        s = np.asarray(fitted.predict_proba(X), dtype=np.float64)
    if s.ndim == 1:  # binary decision_function: score of classes_[1]
        s = np.column_stack([-s, s])
    return s, classes


def macro_auc(y_true: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC AUC over the classes present with both positives and negatives.

    ``scores[:, j]`` is the score of ``classes[j]``; NaN when no class qualifies.
    """
    y_true = np.asarray(y_true)
    aucs = []
    for j, c in enumerate(classes.tolist()):
        pos = y_true == c
        if 0 < pos.sum() < len(y_true):
            aucs.append(float(roc_auc_score(pos.astype(int), scores[:, j])))
    return float(np.mean(aucs)) if aucs else float("nan")


def fit_and_score(name: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                  *, seed: int = 0, trees: int = 200, rf_max_samples: int | None = None,
                  warm: dict[str, Any] | None = None, cnn_steps: int | None = None,
                  cnn_restarts: int = CNN_RESTARTS) -> dict[str, float]:
    """Fit classifier ``name`` on the training arrays, return its scores on the test arrays.

    ``rf_max_samples``: cap of the forest's bootstrap size (used only when the training set is larger).
    ``warm``: a dict kept across calls on growing training sets (the nested factors); ``logreg``
    starts from the solution it holds and stores its own there (:func:`warm_logreg`).
    ``cnn_steps``, ``cnn_restarts``: optimiser steps and restarts of ``cnn`` (:func:`make_classifier`).
    """
    Xtr = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    Xte = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    ytr = np.asarray([str(v) for v in np.asarray(y_train, dtype=object)], dtype=object)
    yte = np.asarray([str(v) for v in np.asarray(y_test, dtype=object)], dtype=object)
    cap = rf_max_samples if rf_max_samples is not None and len(Xtr) > int(rf_max_samples) else None
    shape = tuple(np.shape(X_train)[1:])
    if name == "logreg" and warm is not None:
        clf = warm["logreg"] = warm_logreg(warm.get("logreg"), Xtr, ytr)
    else:
        clf = make_classifier(name, seed=seed, trees=trees, rf_max_samples=cap,
                              image_shape=shape if len(shape) > 1 else None, cnn_steps=cnn_steps,
                              cnn_restarts=cnn_restarts).fit(Xtr, ytr)
    pred = clf.predict(Xte)
    scores, classes = class_scores(clf, Xte)
    return {"balanced_accuracy": balanced_accuracy(yte, pred), "roc_auc": macro_auc(yte, scores, classes)}


__all__ = ["CLASSIFIERS", "CNN_RESTARTS", "PLSDA", "SCORES", "class_scores", "fit_and_score", "macro_auc", "make_classifier",
           "parse_classifiers", "warm_logreg"]
