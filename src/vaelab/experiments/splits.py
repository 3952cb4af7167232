"""Seeded, group-aware, stratified K-fold splits for every experiment.

With groups (a patient id, a specimen, a measurement session), ``StratifiedGroupKFold`` keeps
all samples of one group on the same side of every split, so no patient is in both the
training and the test part. Without groups, ``StratifiedKFold``. Both shuffle with ``seed``,
so a repeated cross-validation uses one partition per seed and every model or factor of an
experiment is scored on the same folds (paired comparisons).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from vaelab.core.errors import InputError


def label_keys(y: Any) -> np.ndarray:
    """Labels as strings (an object array): ints and strings compare the same way everywhere."""
    return np.asarray([str(v) for v in np.asarray(y, dtype=object).tolist()], dtype=object)


def fold_splits(y: Any, groups: Any = None, *, folds: int = 5, seed: int = 0,
                min_train_per_class: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` pairs ``(train_idx, test_idx)`` (sorted int arrays) covering every sample once as test.

    Args:
        y: array([n]) of class labels.
        groups: optional array([n]) of group ids; a group never appears in both parts.
        folds: number of folds K (>= 2).
        seed: shuffles the assignment (``random_state``).
        min_train_per_class: every class must have at least this many samples in every
            training part (a generator is fitted on it).
    Raises:
        InputError: too few samples or groups for K folds, or a class missing from a training part.
    """
    keys = label_keys(y)
    n = len(keys)
    folds = int(folds)
    if folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}")
    classes, counts = np.unique(keys, return_counts=True)
    if len(classes) < 2:
        raise InputError(f"need at least 2 classes for a cross-validated experiment, found {len(classes)}")
    X_dummy = np.zeros((n, 1))
    if groups is None:
        small = [f"{c} ({k})" for c, k in zip(classes, counts, strict=True) if k < folds]
        if small:
            raise InputError(f"class(es) {', '.join(small)} have fewer samples than --folds {folds}")
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed))
        raw = list(cv.split(X_dummy, keys))
    else:
        g = np.asarray(groups, dtype=object)
        if len(g) != n:
            raise InputError(f"groups has {len(g)} entries for {n} samples")
        gk = label_keys(g)
        n_groups = len(np.unique(gk))
        if n_groups < folds:
            raise InputError(f"only {n_groups} distinct groups, fewer than --folds {folds}")
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=int(seed))
        raw = list(cv.split(X_dummy, keys, gk))
    out = []
    for k, (tr, te) in enumerate(raw):
        tr, te = np.sort(tr), np.sort(te)
        if len(te) == 0:
            raise InputError(f"fold {k} has no test samples; use fewer folds")
        if groups is not None:
            shared = set(gk[tr]) & set(gk[te])
            if shared:  # StratifiedGroupKFold guarantees this; checked because leakage is the point
                raise InputError(f"fold {k}: group(s) {sorted(shared)[:3]} on both sides of the split")
        tr_keys, tr_counts = np.unique(keys[tr], return_counts=True)
        have = dict(zip(tr_keys.tolist(), tr_counts.tolist(), strict=True))
        short = [f"{c} ({have.get(c, 0)})" for c in classes.tolist() if have.get(c, 0) < min_train_per_class]
        if short:
            raise InputError(f"fold {k}: class(es) {', '.join(short)} have fewer than {min_train_per_class} "
                             f"training samples; use fewer folds (or more groups per class)")
        out.append((tr, te))
    return out


def cell_seed(seed: int, fold: int) -> int:
    """The seed a (seed, fold) cell gives its generator and classifiers: distinct per cell, stable."""
    return int(np.random.SeedSequence([int(seed), int(fold)]).generate_state(1)[0] % (2**31 - 1))


__all__ = ["cell_seed", "fold_splits", "label_keys"]
