"""Distribution-level metrics: is the synthetic sample distributed like the real one?

All functions are pure (no printing, no file IO) and take numpy arrays of shape
``(n, ...)``; any trailing shape (spectra ``(n, d)``, images ``(n, h, w)`` or
``(n, c, h, w)``) is flattened to ``(n, -1)`` internally.

* ``c2st``: ROC AUC of a real-vs-synthetic classifier; lower is better, 0.5 ideal;
  range [0, 1]. Lopez-Paz & Oquab 2017.
* ``prdc``: precision, recall, coverage (higher is better, [0, 1]) and density
  (1 ideal, [0, N/k]). Naeem et al. 2020.
* ``mmd``: unbiased MMD^2 with RBF kernel (lower is better, ~0 when equal in
  distribution) and a permutation p-value. Gretton et al. 2012.
* ``frechet_distance``: Fréchet distance of Gaussians fitted on PCA scores (lower is
  better, 0 ideal, [0, inf)). Heusel et al. 2017.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.linalg
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from vaelab.core.errors import InputError

__all__ = [
    "c2st",
    "c2st_breakdown",
    "prdc",
    "mmd",
    "frechet_distance",
    "frechet_from_stats",
]

# Upper bound on the number of float64 entries of one block of a distance matrix
# (2**25 entries = 256 MiB). Distance matrices are never materialised in full.
_BLOCK_ENTRIES = 2**25

# Above this many samples per side, ``mmd`` subsamples (its kernel matrix is dense).
_MMD_MAX_PER_SIDE = 2000


# ---------------------------------------------------------------------------
# small helpers (shared with the other metric modules)
# ---------------------------------------------------------------------------


def _flatten(x: Any, name: str = "x", min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(n, d)`` (trailing axes flattened).

    Args:
        x: array-like of shape ``(n,)`` (taken as ``n`` scalars) or ``(n, ...)``.
        name: name used in error messages.
        min_rows: smallest acceptable ``n``.
    Returns:
        numpy.ndarray([n, d], dtype=float64).
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        raise InputError(f"{name} must have a sample axis, got a scalar")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[0] < min_rows:
        raise InputError(f"{name} needs at least {min_rows} samples, got {arr.shape[0]}")
    if arr.shape[1] == 0:
        raise InputError(f"{name} has no features")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or infinite values")
    return arr


def _same_width(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"{name_a} and {name_b} have different numbers of features: {a.shape[1]} vs {b.shape[1]}"
        )


def _row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Yield row slices so that a ``(rows, n_cols)`` float64 block stays under ``_BLOCK_ENTRIES``."""
    step = max(1, _BLOCK_ENTRIES // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _distance_blocks(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Euclidean distances between rows of ``a`` and ``b``, one block of rows of ``a`` at a time.

    Args:
        a: numpy.ndarray([N, d])
        b: numpy.ndarray([M, d])
    Yields:
        (rows, D) with rows a slice into ``a`` and D numpy.ndarray([len(rows), M]).
    """
    a_sq = np.einsum("ij,ij->i", a, a)[:, None]
    b_sq = np.einsum("ij,ij->i", b, b)[None, :]
    for rows in _row_blocks(a.shape[0], b.shape[0]):
        d = euclidean_distances(a[rows], b, X_norm_squared=a_sq[rows], Y_norm_squared=b_sq)
        yield rows, d


def _kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of ``x`` to its k-th nearest neighbour in ``x``, excluding itself.

    Same convention as clovaai/prdc: the (k+1)-th smallest distance in the row of the
    self-distance matrix, the self-distance (0) being the smallest.

    Args:
        x: numpy.ndarray([N, d]), N > k.
        k: int >= 1.
    Returns:
        numpy.ndarray([N]) of radii.
    """
    radii = np.empty(x.shape[0])
    # ``x.copy()``: numpy computes ``a @ a.T`` on one buffer with a symmetric kernel
    # (syrk) whose round-off differs from the general one used for real-vs-fake
    # distances; the copy keeps both on the same kernel, so that a fake sample equal to
    # a real one gets bit-identical distances (matters for the strict ``<`` on ties).
    for rows, d in _distance_blocks(x, x.copy()):
        # the self-distance computed by the dot-product trick may be a tiny positive
        # number instead of 0; force it to 0 so that it is always the smallest.
        d[np.arange(d.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        radii[rows] = np.partition(d, k, axis=1)[:, k]
    return radii


def _with_seed(estimator: Any, seed: int) -> Any:
    """Clone ``estimator`` and set every ``*random_state`` parameter that is ``None`` to ``seed``.

    Parameters the caller set explicitly are left alone.
    """
    est = clone(estimator)
    params = est.get_params(deep=True)
    updates = {k: seed for k, v in params.items() if k.endswith("random_state") and v is None}
    if updates:
        est.set_params(**updates)
    return est


# ---------------------------------------------------------------------------
# C2ST
# ---------------------------------------------------------------------------


def _default_c2st_classifier(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=-1)


def _positive_scores(clf: Any, x: np.ndarray) -> np.ndarray:
    if hasattr(clf, "predict_proba"):
        proba = clf.predict_proba(x)
        classes = list(clf.classes_)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(x.shape[0])
    return np.asarray(clf.decision_function(x), dtype=float)


def c2st_breakdown(
    real: Any,
    synthetic: Any,
    *,
    classifier: Any = None,
    folds: int = 5,
    seed: int = 0,
    groups_real: Any = None,
    groups_synthetic: Any = None,
    max_per_side: int | None = 1000,
) -> dict[str, Any]:
    """Classifier two-sample test, with diagnostics. See :func:`c2st` for the method.

    Args:
        real: numpy.ndarray([N, ...]) real samples (label 0).
        synthetic: numpy.ndarray([M, ...]) synthetic samples (label 1).
        classifier: unfitted scikit-learn classifier; ``None`` for the default forest.
        folds: number of cross-validation folds (>= 2).
        seed: seed for subsampling, fold assignment and the classifier.
        groups_real: optional array([N]) of group ids of the real samples (e.g. the
            patient or the measurement session); samples of one group never end up
            on both sides of a split.
        groups_synthetic: optional array([M]) of group ids of the "synthetic" samples.
            Generated samples are independent draws, so by default each is its own
            group; pass groups when the "synthetic" set is itself grouped real data
            (e.g. a held-out third of patients used as a negative control), otherwise
            the forest learns those patients' signatures across folds.
        max_per_side: after balancing, at most this many samples per side are used
            (a seeded random subset; ``None`` = all). 1000 per side keeps the standard
            error of the AUC near 0.01 while bounding the cost of 5 × 300 trees on
            large sets (2500 × 991 spectra per side took 3.4× as long as 1000).
    Returns:
        dict with
          ``auc`` (float, mean of the per-fold AUCs, NaN folds ignored),
          ``fold_aucs`` (list of float, NaN for a fold whose test part lacks a class),
          ``n_real_used``, ``n_synthetic_used``, ``n_real_input``, ``n_synthetic_input``,
          ``subsampled`` (str or None: which set was subsampled to balance the classes),
          ``folds``, ``seed``, ``grouped`` (bool), ``classifier`` (repr), ``features``.
    """
    x_real = _flatten(real, "real", min_rows=2)
    x_syn = _flatten(synthetic, "synthetic", min_rows=2)
    _same_width(x_real, x_syn, "real", "synthetic")
    if folds < 2:
        raise InputError(f"folds must be >= 2, got {folds}")

    groups = None
    gsyn = None
    if groups_synthetic is not None:
        if groups_real is None:
            raise InputError("groups_synthetic needs groups_real too")
        gsyn = np.asarray(groups_synthetic).reshape(-1)
        if gsyn.shape[0] != x_syn.shape[0]:
            raise InputError(f"groups_synthetic has {gsyn.shape[0]} entries for {x_syn.shape[0]} synthetic samples")
        gsyn = np.unique(gsyn.astype(str), return_inverse=True)[1].reshape(-1)
    if groups_real is not None:
        groups = np.asarray(groups_real).reshape(-1)
        if groups.shape[0] != x_real.shape[0]:
            raise InputError(f"groups_real has {groups.shape[0]} entries for {x_real.shape[0]} real samples")
        groups = np.unique(groups, return_inverse=True)[1].reshape(-1)

    n_real_in, n_syn_in = x_real.shape[0], x_syn.shape[0]
    rng = np.random.default_rng(seed)
    subsampled = None
    n = min(n_real_in, n_syn_in)
    if n_real_in > n:
        keep = np.sort(rng.choice(n_real_in, size=n, replace=False))
        x_real = x_real[keep]
        groups = None if groups is None else groups[keep]
        subsampled = "real"
    elif n_syn_in > n:
        keep = np.sort(rng.choice(n_syn_in, size=n, replace=False))
        x_syn = x_syn[keep]
        gsyn = None if gsyn is None else gsyn[keep]
        subsampled = "synthetic"
    if max_per_side is not None and n > max_per_side:
        keep_r = np.sort(rng.choice(n, size=max_per_side, replace=False))
        keep_s = np.sort(rng.choice(n, size=max_per_side, replace=False))
        x_real, x_syn = x_real[keep_r], x_syn[keep_s]
        groups = None if groups is None else groups[keep_r]
        gsyn = None if gsyn is None else gsyn[keep_s]
        n = max_per_side
        subsampled = "both" if subsampled is None else f"{subsampled}, then both to {max_per_side}"
    if n < folds:
        raise InputError(f"need at least folds={folds} samples per class, got {n}")

    # z-score with the statistics of the REAL set (as sbi's c2st); constant features get std 1
    mean = x_real.mean(axis=0)
    std = x_real.std(axis=0)
    std[std == 0] = 1.0
    data = np.concatenate([(x_real - mean) / std, (x_syn - mean) / std])
    target = np.concatenate([np.zeros(n, dtype=int), np.ones(n, dtype=int)])

    if groups is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(data, target)
    else:
        n_groups = int(np.unique(groups).size)
        if n_groups < folds:
            raise InputError(f"groups_real has {n_groups} distinct groups, fewer than folds={folds}")
        offset = int(groups.max()) + 1
        # each synthetic sample alone, unless the synthetic set has groups of its own
        all_groups = np.concatenate([groups, offset + (np.arange(n) if gsyn is None else gsyn)])
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = cv.split(data, target, all_groups)

    template = _default_c2st_classifier(seed) if classifier is None else classifier
    fold_aucs: list[float] = []
    for train_idx, test_idx in splits:
        y_test = target[test_idx]
        if np.unique(target[train_idx]).size < 2 or np.unique(y_test).size < 2:
            fold_aucs.append(float("nan"))
            continue
        clf = _with_seed(template, seed)
        clf.fit(data[train_idx], target[train_idx])
        fold_aucs.append(float(roc_auc_score(y_test, _positive_scores(clf, data[test_idx]))))

    finite = [a for a in fold_aucs if np.isfinite(a)]
    return {
        "auc": float(np.mean(finite)) if finite else float("nan"),
        "fold_aucs": fold_aucs,
        "n_real_used": n,
        "n_synthetic_used": n,
        "n_real_input": n_real_in,
        "n_synthetic_input": n_syn_in,
        "subsampled": subsampled,
        "folds": folds,
        "seed": seed,
        "grouped": groups is not None,
        "classifier": repr(template),
        "features": int(data.shape[1]),
    }


def c2st(
    real: Any,
    synthetic: Any,
    *,
    classifier: Any = None,
    folds: int = 5,
    seed: int = 0,
    groups_real: Any = None,
    groups_synthetic: Any = None,
    max_per_side: int | None = 1000,
) -> float:
    """Classifier two-sample test (C2ST): cross-validated ROC AUC of real vs synthetic.

    A classifier learns to tell real samples (label 0) from synthetic ones (label 1);
    its out-of-fold ROC AUC, averaged over ``folds`` stratified folds, is returned.

    How to read the number (goal: **lower is better, 0.5 is ideal**; range [0, 1]):
      * 0.5: the classifier cannot tell the sets apart (indistinguishable to it);
      * 1.0: perfectly separable;
      * below 0.5: noise around 0.5 (or cross-validation anti-learning on tiny sets),
        NOT "better than indistinguishable"; read it as 0.5. With ``m`` test samples
        per class and fold, the standard error of one fold's AUC under the null is
        about ``sqrt((2m+1) / (12 m^2))`` (0.04 for m = 100).

    Method details:
      * Inputs of any trailing shape are flattened to ``(n, -1)``.
      * Class balance: if the sets differ in size, the larger one is subsampled
        (without replacement, with ``seed``) to the size of the smaller one. AUC itself
        is threshold-free, but a random forest trained on unbalanced classes is biased
        towards the majority class, which costs power.
      * Features are z-scored with the REAL set's mean and std (as in sbi's ``c2st``);
        constant real features are only centred.
      * Folds: ``StratifiedKFold(folds, shuffle=True, random_state=seed)``. With
        ``groups_real``, ``StratifiedGroupKFold`` is used and each synthetic sample is
        its own group, so that related real samples (replicates of one specimen) are
        never split between training and test.
      * Default classifier: ``RandomForestClassifier(n_estimators=300,
        random_state=seed, n_jobs=-1)`` on the raw (z-scored) features. Results do not
        depend on ``n_jobs``. Why not a linear model on PCA features: with n << d (60 to
        3000 spectra of 1000-2000 channels) a linear classifier on PCA scores
        anti-learns under cross-validation (AUC systematically < 0.5), and a synthetic
        set made of class-mean copies has the same mean as the real set, so a linear
        boundary cannot see it while a forest isolates the tight cluster at the mean.
      * An injected ``classifier`` is cloned for each fold; its ``*random_state``
        parameters that are ``None`` are set to ``seed``. It should provide
        ``predict_proba`` or ``decision_function``.

    Reference:
        D. Lopez-Paz and M. Oquab, "Revisiting Classifier Two-Sample Tests", ICLR 2017,
        arXiv:1610.06545.

    Args:
        real: numpy.ndarray([N, ...]).
        synthetic: numpy.ndarray([M, ...]), same trailing size as ``real``.
        classifier: unfitted scikit-learn classifier or ``None``.
        folds: number of folds (>= 2, <= min(N, M)).
        seed: seed for subsampling, folds and the classifier.
        groups_real: optional array([N]) of group ids of the real samples.
        groups_synthetic: optional array([M]) of group ids of the synthetic samples
            (see :func:`c2st_breakdown`).
        max_per_side: cap on samples per side (see :func:`c2st_breakdown`).
    Returns:
        mean out-of-fold ROC AUC (float). See :func:`c2st_breakdown` for per-fold values.
    """
    return c2st_breakdown(
        real, synthetic, classifier=classifier, folds=folds, seed=seed, groups_real=groups_real,
        groups_synthetic=groups_synthetic, max_per_side=max_per_side,
    )["auc"]


# ---------------------------------------------------------------------------
# PRDC
# ---------------------------------------------------------------------------


def prdc(real: Any, fake: Any, *, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of Naeem et al. (2020).

    Each real sample ``X_i`` gets the ball ``B(X_i, NND_k(X_i))`` whose radius is the
    distance to its k-th nearest real neighbour (itself excluded); the same for the
    fake samples ``Y_j``. Balls are open (strict ``<``), as in the reference code.

      * precision = (1/M) sum_j 1[Y_j in some real ball]        (fidelity; higher is better, [0, 1])
      * recall    = (1/N) sum_i 1[X_i in some fake ball]        (diversity; higher is better, [0, 1])
      * density   = 1/(kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]
                                                                (fidelity; ~1 when fake ~ real,
                                                                 > 1 when fake crowds dense
                                                                 real regions; [0, N/k])
      * coverage  = (1/N) sum_i 1[some Y_j in B(X_i, NND_k(X_i))] (diversity; higher is better, [0, 1])

    For two samples of one distribution density is close to 1 and coverage is close
    to 1 - 2^-k (0.97 for k = 5); precision and recall drop in high dimension (about
    0.47 for 1000-d Gaussians, prdc README). For identical sets without duplicate rows
    precision = recall = coverage = 1 and density = 1 exactly.

    Distances are Euclidean, computed in row blocks so that memory stays bounded
    (about 256 MiB per block, e.g. 10,000 x 10,000 samples of 1000 features works).
    Matches the reference implementation clovaai/prdc (``compute_prdc``).

    Reference:
        M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo, "Reliable Fidelity and Diversity
        Metrics for Generative Models", ICML 2020, arXiv:2002.09797.

    Args:
        real: numpy.ndarray([N, ...]), N > k.
        fake: numpy.ndarray([M, ...]), M > k.
        k: number of nearest neighbours (>= 1).
    Returns:
        dict(precision, recall, density, coverage) of floats.
    """
    if int(k) != k or k < 1:
        raise InputError(f"k must be a positive integer, got {k}")
    k = int(k)
    x = _flatten(real, "real", min_rows=k + 1)
    y = _flatten(fake, "fake", min_rows=k + 1)
    _same_width(x, y, "real", "fake")

    real_radii = _kth_neighbour_radii(x, k)
    fake_radii = _kth_neighbour_radii(y, k)

    n, m = x.shape[0], y.shape[0]
    fake_in_any_real_ball = np.zeros(m, dtype=bool)
    real_balls_per_fake = np.zeros(m, dtype=np.int64)
    real_in_any_fake_ball = np.zeros(n, dtype=bool)
    real_ball_has_fake = np.zeros(n, dtype=bool)
    for rows, d in _distance_blocks(x, y):  # d: (rows of real, all fake)
        inside_real = d < real_radii[rows, None]
        fake_in_any_real_ball |= inside_real.any(axis=0)
        real_balls_per_fake += inside_real.sum(axis=0)
        real_ball_has_fake[rows] = d.min(axis=1) < real_radii[rows]
        real_in_any_fake_ball[rows] = (d < fake_radii[None, :]).any(axis=1)

    return {
        "precision": float(fake_in_any_real_ball.mean()),
        "recall": float(real_in_any_fake_ball.mean()),
        "density": float(real_balls_per_fake.sum() / (k * m)),
        "coverage": float(real_ball_has_fake.mean()),
    }


# ---------------------------------------------------------------------------
# MMD
# ---------------------------------------------------------------------------


def _squared_distances(z: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", z, z)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def _mmd2_unbiased(kz: np.ndarray, assign: np.ndarray, m: int, n: int) -> np.ndarray:
    """Unbiased MMD^2 for one or many assignments of the pooled sample to x and y.

    Args:
        kz: numpy.ndarray([m+n, m+n]) pooled kernel matrix.
        assign: numpy.ndarray([m+n, P]) with 1.0 for rows assigned to x, 0.0 for y.
        m, n: sizes of x and y.
    Returns:
        numpy.ndarray([P]) of MMD^2_u values.
    """
    wx, wy = assign, 1.0 - assign
    kwx = kz @ wx
    kwy = kz @ wy
    diag = np.diag(kz)[:, None]
    sxx = np.einsum("ip,ip->p", wx, kwx) - (diag * wx).sum(axis=0)
    syy = np.einsum("ip,ip->p", wy, kwy) - (diag * wy).sum(axis=0)
    sxy = np.einsum("ip,ip->p", wx, kwy)
    return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * sxy / (m * n)


def mmd(
    x: Any,
    y: Any,
    *,
    bandwidth: float | None = None,
    n_permutations: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Unbiased squared maximum mean discrepancy with an RBF kernel, and a permutation test.

    Kernel: ``k(a, b) = exp(-||a - b||^2 / (2 sigma^2))`` with ``sigma = bandwidth``.
    With ``bandwidth=None`` the median heuristic is used: ``sigma`` = median of the
    Euclidean distances between all distinct pairs of the pooled sample (x and y
    together), i.e. the distance itself, not its square, and no extra factor.
    If that median is 0 (more than half of the pairs coincide), ``sigma = 1``.

    Statistic (Gretton et al. 2012, eq. 3):
    ``MMD^2_u = sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(n(n-1))
    - 2 sum_{i,j} k(x_i,y_j)/(mn)``. Goal: lower is better; 0 in expectation when x
    and y come from the same distribution; it can be slightly negative (unbiased).

    p-value: the pooled kernel matrix is computed once; the x/y labels are permuted
    ``n_permutations`` times (with ``seed``) and
    ``p = (#{permuted MMD^2_u >= observed} + 1) / (n_permutations + 1)``.
    A small p-value (e.g. < 0.05) means the two samples are distinguishable.

    Size limit: the kernel matrix is dense, so each side larger than 2000 samples is
    subsampled to 2000 without replacement (with ``seed``); the result says so
    (``subsampled``, ``n_x``, ``n_y``).

    Reference:
        A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola, "A Kernel
        Two-Sample Test", JMLR 13:723-773, 2012.

    Args:
        x: numpy.ndarray([m, ...]), m >= 2.
        y: numpy.ndarray([n, ...]), n >= 2.
        bandwidth: kernel width sigma (> 0) or ``None`` for the median heuristic.
        n_permutations: number of permutations (0 skips the test; p_value is NaN).
        seed: seed for subsampling and permutations.
    Returns:
        dict with ``mmd2`` (float), ``p_value`` (float), ``bandwidth`` (float sigma used),
        ``bandwidth_rule`` ("median" or "given"), ``n_x``, ``n_y`` (sizes used),
        ``subsampled`` (bool), ``n_permutations``, ``seed``.
    """
    a = _flatten(x, "x", min_rows=2)
    b = _flatten(y, "y", min_rows=2)
    _same_width(a, b, "x", "y")
    if n_permutations < 0:
        raise InputError(f"n_permutations must be >= 0, got {n_permutations}")
    if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
        raise InputError(f"bandwidth must be a positive number, got {bandwidth}")

    rng = np.random.default_rng(seed)
    subsampled = False
    if a.shape[0] > _MMD_MAX_PER_SIDE:
        a = a[np.sort(rng.choice(a.shape[0], _MMD_MAX_PER_SIDE, replace=False))]
        subsampled = True
    if b.shape[0] > _MMD_MAX_PER_SIDE:
        b = b[np.sort(rng.choice(b.shape[0], _MMD_MAX_PER_SIDE, replace=False))]
        subsampled = True
    m, n = a.shape[0], b.shape[0]

    d2 = _squared_distances(np.concatenate([a, b]))
    if bandwidth is None:
        iu = np.triu_indices(m + n, k=1)
        sigma = float(np.median(np.sqrt(d2[iu])))
        if sigma <= 0:
            sigma = 1.0
        rule = "median"
    else:
        sigma = float(bandwidth)
        rule = "given"
    kz = np.exp(-d2 / (2.0 * sigma**2))
    del d2

    observed_assign = np.concatenate([np.ones(m), np.zeros(n)])[:, None]
    observed = float(_mmd2_unbiased(kz, observed_assign, m, n)[0])

    p_value = float("nan")
    if n_permutations > 0:
        exceed = 0
        batch = 100
        done = 0
        while done < n_permutations:
            p = min(batch, n_permutations - done)
            assign = np.empty((m + n, p))
            for j in range(p):
                assign[:, j] = observed_assign[rng.permutation(m + n), 0]
            stats = _mmd2_unbiased(kz, assign, m, n)
            # tolerance so that a permutation equal to the observed split counts as >=
            exceed += int(np.sum(stats >= observed - 1e-12 * max(1.0, abs(observed))))
            done += p
        p_value = (exceed + 1) / (n_permutations + 1)

    return {
        "mmd2": observed,
        "p_value": p_value,
        "bandwidth": sigma,
        "bandwidth_rule": rule,
        "n_x": m,
        "n_y": n,
        "subsampled": subsampled,
        "n_permutations": n_permutations,
        "seed": seed,
    }


# ---------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------


def frechet_from_stats(mu1: Any, s1: Any, mu2: Any, s2: Any, *, eps: float = 1e-6) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, s1) and N(mu2, s2), squared form.

    ``d^2 = ||mu1 - mu2||^2 + Tr(s1 + s2 - 2 sqrtm(s1 s2))`` (Dowson & Landau 1982), the
    quantity reported as FID by Heusel et al. 2017. The matrix square root uses
    ``scipy.linalg.sqrtm``; its real part is kept (imaginary parts are round-off).
    If it is not finite (singular product), ``eps`` is added to both diagonals and it
    is recomputed, as in the reference FID code. Tiny negative results from round-off
    are clipped to 0. Goal: lower is better; range [0, inf).

    Args:
        mu1, mu2: numpy.ndarray([p]) means.
        s1, s2: numpy.ndarray([p, p]) covariance matrices (scalars allowed for p = 1).
        eps: diagonal offset used only if the plain square root fails.
    Returns:
        float.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(s1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(s2, dtype=np.float64))
    p = mu1.shape[0]
    if mu2.shape != (p,) or s1.shape != (p, p) or s2.shape != (p, p):
        raise InputError(
            f"inconsistent shapes: mu1 {mu1.shape}, s1 {s1.shape}, mu2 {mu2.shape}, s2 {s2.shape}"
        )
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(p) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    scale = max(1.0, float(np.trace(s1) + np.trace(s2)))
    if value < 0 and value > -1e-8 * scale:
        value = 0.0
    return max(value, 0.0)


def frechet_distance(
    real: Any,
    synthetic: Any,
    *,
    n_components: int | None = None,
    seed: int = 0,
) -> float:
    """Fréchet distance between Gaussians fitted to PCA projections of real and synthetic data.

    PCA is fitted on the REAL data only (so the synthetic set cannot change the
    coordinate system), both sets are projected, and a Gaussian (mean, covariance
    with ddof=1) is fitted to each projection; the result is
    :func:`frechet_from_stats` of the two. This is FID (Heusel et al. 2017) with PCA
    scores in place of Inception features. Goal: **lower is better**, 0 for
    identical sets; range [0, inf); the unit is squared feature units, so values are
    only comparable between runs on the same data and ``n_components``.

    Reference:
        M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs
        Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium",
        NeurIPS 2017.

    Args:
        real: numpy.ndarray([N, ...]), N >= 2.
        synthetic: numpy.ndarray([M, ...]), M >= 2.
        n_components: PCA dimension; default ``min(50, N - 1, d)``.
        seed: ``random_state`` of the PCA (only used by randomized solvers).
    Returns:
        float.
    """
    x = _flatten(real, "real", min_rows=2)
    y = _flatten(synthetic, "synthetic", min_rows=2)
    _same_width(x, y, "real", "synthetic")
    max_components = min(x.shape[0] - 1, x.shape[1])
    if n_components is None:
        n_components = min(50, max_components)
    if not 1 <= n_components <= min(x.shape[0], x.shape[1]):
        raise InputError(f"n_components must be in [1, {min(x.shape)}], got {n_components}")
    pca = PCA(n_components=n_components, random_state=seed).fit(x)
    px, py = pca.transform(x), pca.transform(y)
    return frechet_from_stats(
        px.mean(axis=0), np.cov(px, rowvar=False, ddof=1), py.mean(axis=0), np.cov(py, rowvar=False, ddof=1)
    )
