"""The seed report's four similarity metrics, with the two reference rows that give them meaning.

Protocol (exactly what :func:`seed_metrics` computes)
-----------------------------------------------------
For each class *k* present in both sets, every synthetic sample ``s`` of class *k* is
compared with every real sample ``r`` of class *k* (at most ``max_per_class`` of each,
drawn at random with ``seed`` when a class is larger); samples are flattened to vectors.

* ``cosine``      — ⟨s, r⟩ / (‖s‖ ‖r‖)                      (higher = more similar, ≤ 1)
* ``mse``         — mean over features of (s − r)²         (lower, ≥ 0)
* ``pearson``     — Pearson correlation of s and r over features (higher, ≤ 1)
* ``wasserstein`` — 1-D Wasserstein-1 distance between the *values* of s and of r seen as
  two empirical distributions (``scipy.stats.wasserstein_distance(s, r)``; for equal
  lengths the mean absolute difference of the sorted values) (lower, ≥ 0)

Each number is the mean over all (s, r) pairs of the class; the headline figure is the
unweighted mean over classes. The per-class values are returned too.

Why the references matter
-------------------------
These are similarity-to-real scores, so they reward closeness to the *average* real
sample, not realism. :func:`seed_references` computes the same four numbers for

* ``real_vs_real``    — one half of the real data (split per class, by group when groups
  are given) against the other half: what genuinely real spectra score;
* ``class_mean_copy`` — every "synthetic" sample replaced by its class's mean real
  spectrum: a generator that learned nothing but the mean. It *beats* real-vs-real on
  all four metrics, so a generator that scores near it has likely collapsed to the mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from vaelab.metrics.registry import SEED_METRICS as METRIC_NAMES  # goals: vaelab.metrics.registry


def _flat(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(len(X), -1)


def pairwise_seed_metrics(S: np.ndarray, R: np.ndarray) -> dict[str, float]:
    """Mean of the four metrics over all pairs of rows (s in S, r in R).

    ``S`` (m, d), ``R`` (n, d). The Wasserstein term uses the identity
    W1(u, v) = mean |sort(u) − sort(v)| for two samples of equal size d.
    """
    S, R = _flat(S), _flat(R)
    if S.shape[1] != R.shape[1]:
        raise ValueError(f"feature counts differ: {S.shape[1]} vs {R.shape[1]}")
    d = S.shape[1]
    ns = np.linalg.norm(S, axis=1)
    nr = np.linalg.norm(R, axis=1)
    dots = S @ R.T
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dots / np.outer(ns, nr)
    sq = (ns**2)[:, None] + (nr**2)[None, :] - 2 * dots
    mse = np.maximum(sq, 0.0) / d
    Sc = S - S.mean(axis=1, keepdims=True)
    Rc = R - R.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pear = (Sc @ Rc.T) / np.outer(np.linalg.norm(Sc, axis=1), np.linalg.norm(Rc, axis=1))
    w = cdist(np.sort(S, axis=1), np.sort(R, axis=1), metric="cityblock") / d
    return {"cosine": float(np.mean(cos)), "mse": float(np.mean(mse)), "pearson": float(np.mean(pear)),
            "wasserstein": float(np.mean(w))}


def _cap(idx: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(idx, cap, replace=False)) if len(idx) > cap else idx


def _keys(y: np.ndarray) -> np.ndarray:
    return np.asarray([str(v) for v in np.asarray(y, dtype=object).tolist()], dtype=object)


def seed_metrics(real: np.ndarray, y_real: np.ndarray, synthetic: np.ndarray, y_synth: np.ndarray, *,
                 max_per_class: int = 500, seed: int = 0) -> dict[str, Any]:
    """The seed report's four metrics, per class and averaged (see the module docstring).

    Labels are matched by their text (``1`` and ``"1"`` are the same class). Returns
    ``{"cosine": .., "mse": .., "pearson": .., "wasserstein": .., "per_class": {class: {...}}}``.
    """
    rng = np.random.default_rng(seed)
    kr, ks = _keys(y_real), _keys(y_synth)
    per_class: dict[str, dict[str, float]] = {}
    for k in sorted(set(kr) & set(ks)):
        ir = _cap(np.flatnonzero(kr == k), max_per_class, rng)
        is_ = _cap(np.flatnonzero(ks == k), max_per_class, rng)
        per_class[k] = pairwise_seed_metrics(np.asarray(synthetic)[is_], np.asarray(real)[ir])
    if not per_class:
        raise ValueError("real and synthetic data share no class")
    out: dict[str, Any] = {m: float(np.mean([v[m] for v in per_class.values()])) for m in METRIC_NAMES}
    out["per_class"] = per_class
    return out


def split_halves(y: np.ndarray, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of the indices, per class; by group (patient) when groups are given."""
    rng = np.random.default_rng(seed)
    ky = _keys(y)
    a, b = [], []
    for k in sorted(set(ky)):
        idx = np.flatnonzero(ky == k)
        if groups is not None:
            g = np.asarray(groups)[idx]
            ug = np.unique(g)
            if len(ug) >= 2:
                rng.shuffle(ug)
                ga = set(ug[: len(ug) // 2].tolist())
                mask = np.asarray([v in ga for v in g.tolist()])
                a.append(idx[mask])
                b.append(idx[~mask])
                continue
        idx = idx.copy()
        rng.shuffle(idx)
        h = len(idx) // 2
        a.append(idx[:h])
        b.append(idx[h:])
    return np.sort(np.concatenate(a)), np.sort(np.concatenate(b))


def class_mean_copy(real: np.ndarray, y_real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One class-mean sample per class: the trivial 'generator' that learned only the mean."""
    ky = _keys(y_real)
    X = np.asarray(real, dtype=np.float64)
    labels = sorted(set(ky))
    means = np.stack([X[ky == k].mean(axis=0) for k in labels])
    return means, np.asarray(labels, dtype=object)


def seed_references(real: np.ndarray, y_real: np.ndarray, groups: np.ndarray | None = None, *,
                    max_per_class: int = 500, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The four metrics for ``real_vs_real`` (half against half) and ``class_mean_copy``."""
    real = np.asarray(real)
    a, b = split_halves(y_real, groups, seed)
    ref = {
        "real_vs_real": seed_metrics(real[b], np.asarray(y_real)[b], real[a], np.asarray(y_real)[a],
                                     max_per_class=max_per_class, seed=seed),
    }
    means, labels = class_mean_copy(real, y_real)
    ref["class_mean_copy"] = seed_metrics(real, y_real, means, labels, max_per_class=max_per_class, seed=seed)
    return ref
