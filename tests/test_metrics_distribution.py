"""Known-value tests for vaelab.metrics.distribution (c2st, prdc, mmd, frechet)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from vaelab.core.errors import InputError
from vaelab.metrics import c2st, c2st_breakdown, frechet_distance, frechet_from_stats, mmd, prdc


def _rf(n: int = 100) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=n, n_jobs=1)


# ---------------------------------------------------------------------------
# PRDC
# ---------------------------------------------------------------------------


def test_prdc_hand_computed_1d():
    """Hand-computed case, k = 1, open balls (strict <) as in clovaai/prdc.

    real = 0, 1, 3, 7  -> radii (1st NN, self excluded) 1, 1, 2, 4
    fake = 0.5, 0.8, 2.5, 12 -> radii 0.3, 0.3, 1.7, 9.5
    precision: 0.5, 0.8, 2.5 lie in a real ball, 12 does not (|12-7| = 5 >= 4)  -> 3/4
    recall: 0 is in no fake ball; 1 in B(0.8, .3); 3 in B(2.5, 1.7); 7 in B(12, 9.5) -> 3/4
    density: 0.5 in B(0,1), B(1,1); 0.8 in B(0,1), B(1,1); 2.5 in B(3,2); 12 in none
             -> (2 + 2 + 1 + 0) / (k M) = 5/4
    coverage: B(0,1), B(1,1), B(3,2) contain a fake, B(7,4) does not -> 3/4
    """
    real = np.array([0.0, 1.0, 3.0, 7.0])
    fake = np.array([0.5, 0.8, 2.5, 12.0])
    out = prdc(real, fake, k=1)
    assert out == pytest.approx({"precision": 0.75, "recall": 0.75, "density": 1.25, "coverage": 0.75})


def test_prdc_ties_are_outside_the_open_ball():
    """Points 0..5 on a line, k = 2: radii are 2, 1, 1, 1, 1, 2 (third smallest distance incl. self).

    With fake == real, each point j is in its own ball, and in the ball of i != j iff
    |i - j| < r_i: ball 0 holds {0, 1}, balls 1..4 hold only themselves, ball 5 holds {4, 5}.
    density = (2 + 1 + 1 + 1 + 1 + 2) / (k * 6) = 8 / 12; the other three are 1.
    """
    x = np.arange(6.0)
    out = prdc(x, x.copy(), k=2)
    assert out["density"] == pytest.approx(8 / 12)
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0


@pytest.mark.parametrize(("n", "d"), [(300, 7), (500, 64)])
def test_prdc_identical_sets(n, d):
    """fake == real, continuous data (no ties): every fake sample lies in its own real ball, so
    precision = recall = coverage = 1; the ball of X_i holds exactly X_i and its k-1 nearest
    neighbours (the k-th one sits on the open boundary), so density = kN / (kN) = 1 exactly."""
    x = np.random.default_rng(3).normal(size=(n, d))
    out = prdc(x, x.copy(), k=5)
    assert out == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_prdc_far_apart_sets_are_all_zero():
    """Sets 100 sigma apart: no ball of one set reaches the other, all four metrics are 0."""
    rng = np.random.default_rng(0)
    out = prdc(rng.normal(size=(100, 8)), 100.0 + rng.normal(size=(100, 8)), k=5)
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_same_gaussian_statistics():
    """Two samples of N(0, I_64), N = M = 500, k = 5.

    Analytic values (Naeem et al. 2020, Sec. 4): E[density] = 1 and
    E[coverage] = 1 - prod_{i=1..k} (N - i) / (N + M - i) = 0.9692 for identical
    distributions. Precision and recall have no closed form; by symmetry of the setup they
    agree in expectation, and they lie between the 1000-d value of the prdc README (~0.47)
    and 1 (they fall with dimension). Observed over seeds 0-3: 0.73-0.79. Bands: coverage
    +-0.03 (about 4 binomial sd), density +-0.1, precision/recall in [0.6, 0.9] and within
    0.08 of each other.
    """
    rng = np.random.default_rng(0)
    out = prdc(rng.normal(size=(500, 64)), rng.normal(size=(500, 64)), k=5)
    expected_coverage = 1 - math.prod((500 - i) / (1000 - i) for i in range(1, 6))
    assert expected_coverage == pytest.approx(0.9692, abs=1e-4)
    assert out["coverage"] == pytest.approx(expected_coverage, abs=0.03)
    assert out["density"] == pytest.approx(1.0, abs=0.1)
    assert 0.6 <= out["precision"] <= 0.9
    assert 0.6 <= out["recall"] <= 0.9
    assert abs(out["precision"] - out["recall"]) < 0.08


def test_prdc_flattens_images_and_chunks(monkeypatch):
    """Image-shaped input gives the same values as the flattened input, also when the distance
    matrix is forced into many small row blocks."""
    import vaelab.metrics.distribution as dist

    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(60, 3, 4, 4)), rng.normal(size=(50, 3, 4, 4))
    whole = prdc(real.reshape(60, -1), fake.reshape(50, -1), k=3)
    monkeypatch.setattr(dist, "_BLOCK_ENTRIES", 200)  # 3-4 rows per block
    assert prdc(real, fake, k=3) == pytest.approx(whole)


def test_prdc_rejects_too_few_samples():
    with pytest.raises(InputError):
        prdc(np.zeros((5, 2)), np.ones((10, 2)), k=5)


# ---------------------------------------------------------------------------
# C2ST
# ---------------------------------------------------------------------------


def test_c2st_same_distribution_is_near_half():
    """Two samples of N(0, I_5), n = 500 each. Under the null the AUC is 0.5; one fold's AUC
    (100 test samples per class) has standard error sqrt(201 / 120000) = 0.041, so the 5-fold
    mean lies within 0.5 +- 0.07 with a wide margin. (psteinb/c2st README: 0.519 for such a case.)"""
    rng = np.random.default_rng(0)
    auc = c2st(rng.normal(size=(500, 5)), rng.normal(size=(500, 5)), classifier=_rf())
    assert auc == pytest.approx(0.5, abs=0.07)


def test_c2st_mean_shift_is_detected():
    """N(0, I_10) vs N(1.5 * 1, I_10), n = 500 each. The Bayes-optimal AUC for two unit-covariance
    Gaussians whose means are delta apart is Phi(delta / sqrt 2); here delta = 1.5 sqrt 10, so
    AUC* = Phi(3.354) = 0.9996 (psteinb/c2st reports 0.9995). A forest gets close: > 0.98."""
    assert norm.cdf(1.5 * math.sqrt(10) / math.sqrt(2)) == pytest.approx(0.9996, abs=1e-4)
    rng = np.random.default_rng(0)
    auc = c2st(rng.normal(size=(500, 10)), 1.5 + rng.normal(size=(500, 10)), classifier=_rf())
    assert auc > 0.98


def test_c2st_default_classifier_catches_class_mean_copies():
    """n << d (40 samples, 100 features); synthetic = copies of the real mean (+1% noise).

    Known outcome: such a set is trivially different (zero spread), so a good test gives AUC 1.
    The default forest does; a linear classifier on PCA scores anti-learns (AUC well below 0.5),
    which is why it is not the default.
    """
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 100))
    copies = real.mean(axis=0) + 0.01 * rng.normal(size=(40, 100))
    assert c2st(real, copies) > 0.95
    linear = make_pipeline(PCA(10), LogisticRegression(max_iter=2000))
    assert c2st(real, copies, classifier=linear) < 0.5


def test_c2st_groups_real_keeps_replicates_together():
    """Real data: 40 specimens x 5 near-identical replicates; synthetic: 200 new specimens from the
    same population. Without groups, test replicates have siblings in the training folds and the
    forest recognises them (AUC > 0.9, a leak); with groups_real no specimen is split, and the AUC
    falls towards 0.5."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(40, 5))
    real = np.repeat(centers, 5, axis=0) + 0.05 * rng.normal(size=(200, 5))
    groups = np.repeat([f"specimen{i}" for i in range(40)], 5)
    synthetic = rng.normal(size=(200, 5)) + 0.05 * rng.normal(size=(200, 5))
    leaky = c2st(real, synthetic, classifier=_rf())
    grouped = c2st_breakdown(real, synthetic, classifier=_rf(), groups_real=groups)
    assert leaky > 0.9
    assert grouped["grouped"] is True
    assert grouped["auc"] < 0.75
    with pytest.raises(InputError):
        c2st(real, synthetic, classifier=_rf(), groups_real=np.repeat([0, 1], 100))  # 2 groups < 5 folds


def test_c2st_breakdown_balances_and_is_reproducible():
    """Unequal sizes: the larger set is subsampled to the smaller one; same seed, same result."""
    rng = np.random.default_rng(0)
    real, syn = rng.normal(size=(300, 4)), rng.normal(size=(100, 4))
    b = c2st_breakdown(real, syn, classifier=_rf(50), folds=4, seed=7)
    assert b["n_real_used"] == b["n_synthetic_used"] == 100
    assert (b["n_real_input"], b["subsampled"]) == (300, "real")
    assert len(b["fold_aucs"]) == 4 and b["auc"] == pytest.approx(np.mean(b["fold_aucs"]))
    assert "RandomForestClassifier" in b["classifier"]
    assert c2st(real, syn, classifier=_rf(50), folds=4, seed=7) == b["auc"]


# ---------------------------------------------------------------------------
# MMD
# ---------------------------------------------------------------------------


def test_mmd_hand_computed_two_points_per_side():
    """x = {0, 1}, y = {2, 3}, sigma = 1, k(d) = exp(-d^2 / 2).

    Kxx (i != j): k(1) twice / (2*1) = e^-1/2; Kyy likewise; Kxy: distances 2, 3, 1, 2 ->
    (2 e^-2 + e^-9/2 + e^-1/2) / 4. MMD^2_u = 2 e^-1/2 - 2 * that
    = 1.5 e^-1/2 - e^-2 - 0.5 e^-9/2 = 0.768906.
    """
    out = mmd(np.array([0.0, 1.0]), np.array([2.0, 3.0]), bandwidth=1.0, n_permutations=0)
    expected = 1.5 * math.exp(-0.5) - math.exp(-2) - 0.5 * math.exp(-4.5)
    assert out["mmd2"] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.768906, abs=1e-6)
    assert math.isnan(out["p_value"])
    assert out["bandwidth_rule"] == "given"


def test_mmd_median_heuristic_and_permutation_p_value():
    """Pooled points 0, 1, 2, 3: pairwise distances 1, 1, 1, 2, 2, 3 -> median sigma = 1.5.
    Of the 6 equally likely splits into two pairs, 2 ({0,1}|{2,3} and its mirror) reach the
    observed statistic, so the permutation p-value is close to 1/3."""
    out = mmd(np.array([0.0, 1.0]), np.array([2.0, 3.0]), n_permutations=600, seed=0)
    assert out["bandwidth"] == pytest.approx(1.5)
    assert out["bandwidth_rule"] == "median"
    assert out["p_value"] == pytest.approx(1 / 3, abs=0.06)


def test_mmd_same_vs_shifted_distribution():
    """Same distribution: p-value is uniform under the null; for this fixed seed it is > 0.05.
    Shift of 0.5 in each of 5 dims with 200 samples per side: far beyond the test's noise,
    p reaches its floor 1/201 < 0.01."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    same = mmd(x, y, seed=0)
    shifted = mmd(x, y + 0.5, seed=0)
    assert same["p_value"] > 0.05
    assert abs(same["mmd2"]) < shifted["mmd2"]
    assert shifted["p_value"] < 0.01
    assert shifted["p_value"] == pytest.approx(1 / 201)


def test_mmd_subsamples_large_inputs():
    rng = np.random.default_rng(0)
    out = mmd(rng.normal(size=(2100, 2)), rng.normal(size=(50, 2)), n_permutations=10)
    assert (out["n_x"], out["n_y"], out["subsampled"]) == (2000, 50, True)


# ---------------------------------------------------------------------------
# Fréchet
# ---------------------------------------------------------------------------


def test_frechet_from_stats_diagonal_and_rotated():
    """Commuting covariances: d^2 = ||mu1 - mu2||^2 + sum (sqrt a_i - sqrt b_i)^2.
    mu1 = (0,0,1), mu2 = (1,2,1): 5; a = (1,4,9), b = (4,1,9): 1 + 1 + 0 = 2 -> 7.
    The same covariances rotated by an orthogonal matrix give the same value."""
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0])
    assert frechet_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(7.0)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    assert frechet_from_stats(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T) == pytest.approx(7.0)
    assert frechet_from_stats(0.0, 1.0, 0.0, 4.0) == pytest.approx(1.0)  # 1-d: (1 - 2)^2


def test_frechet_distance_identical_and_translated():
    """Identical sets -> 0. Translating every synthetic sample by c: with PCA keeping all d = 5
    components (default min(50, n-1, d) = 5) the projection is a rotation, so only the means
    move and the distance is ||c||^2 = 5 * 0.3^2 = 0.45."""
    x = np.random.default_rng(0).normal(size=(100, 5))
    assert frechet_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, x + 0.3) == pytest.approx(0.45, rel=1e-6)


def test_frechet_distance_pca_fitted_on_real_only():
    """The default dimension is min(50, n_real - 1, d); the synthetic set does not change the basis,
    so a synthetic set of different size gives the value of frechet_from_stats on projections."""
    rng = np.random.default_rng(1)
    real, syn = rng.normal(size=(30, 80)), 1.2 * rng.normal(size=(200, 80))
    pca = PCA(n_components=29, random_state=0).fit(real)
    pr, ps = pca.transform(real), pca.transform(syn)
    expected = frechet_from_stats(pr.mean(0), np.cov(pr, rowvar=False), ps.mean(0), np.cov(ps, rowvar=False))
    assert frechet_distance(real, syn) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(real, syn) > 0


def test_c2st_groups_synthetic_stops_group_leakage():
    """A grouped real 'synthetic' set (other patients) must not be told apart by patient signatures.

    Each group has its own offset (a patient effect); both sets come from the same population of
    groups. Without ``groups_synthetic`` the forest learns the synthetic patients across folds.
    """
    from sklearn.ensemble import RandomForestClassifier

    from vaelab.metrics.distribution import c2st

    rng = np.random.default_rng(0)

    def patients(n_groups, start):
        offsets = rng.normal(0, 3, (n_groups, 6))
        X = np.concatenate([o + rng.normal(0, 0.3, (10, 6)) for o in offsets])
        return X, np.repeat(np.arange(start, start + n_groups), 10)

    Xa, ga = patients(20, 0)
    Xb, gb = patients(20, 100)
    clf = RandomForestClassifier(n_estimators=100, random_state=0)
    leaky = c2st(Xa, Xb, classifier=clf, groups_real=ga, seed=0)
    fair = c2st(Xa, Xb, classifier=clf, groups_real=ga, groups_synthetic=gb, seed=0)
    assert leaky > 0.8
    assert fair < 0.7
