"""Known-value tests for vaelab.metrics diversity, novelty, utility and flags."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from vaelab.core.errors import InputError
from vaelab.metrics import (
    Thresholds,
    balanced_accuracy,
    class_specificity,
    compute_flags,
    dcr,
    dcr_breakdown,
    left_out_dcr,
    left_out_distances,
    mean_spread,
    spread_ratio,
    trtr,
    tstr,
)

# ---------------------------------------------------------------------------
# spread ratio
# ---------------------------------------------------------------------------


def _two_class_data(seed: int = 0, n: int = 40, d: int = 30):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * n, d)) * np.linspace(0.5, 2.0, d)
    x[n:] += 3.0
    y = np.repeat(np.array(["a", "b"]), n)
    return x, y


def test_mean_spread_hand_case():
    """Feature 1: values 0, 2 -> std (ddof=1) sqrt(2); feature 2: 1, 1 -> 0. Mean = sqrt(2)/2."""
    assert mean_spread(np.array([[0.0, 1.0], [2.0, 1.0]])) == pytest.approx(math.sqrt(2) / 2)
    assert math.isnan(mean_spread(np.zeros((1, 3))))


def test_spread_ratio_known_values():
    """Class-mean copies have zero spread -> 0; doubling every deviation from the class mean
    doubles every per-feature std -> exactly 2; the real data itself -> 1."""
    x, y = _two_class_data()
    means = {c: x[y == c].mean(axis=0) for c in ("a", "b")}
    copies = np.stack([means[c] for c in y])
    doubled = np.stack([means[c] + 2.0 * (row - means[c]) for row, c in zip(x, y, strict=True)])
    assert spread_ratio(x, copies, y, y) == pytest.approx({"a": 0.0, "b": 0.0}, abs=1e-12)
    assert spread_ratio(x, doubled, y, y) == pytest.approx({"a": 2.0, "b": 2.0})
    assert spread_ratio(x, x, y, y) == {"a": 1.0, "b": 1.0}


def test_spread_ratio_missing_class_is_nan_not_dropped():
    """A class with < 2 synthetic samples, or only in the synthetic set, is reported as NaN."""
    x, y = _two_class_data()
    y_syn = y.copy()
    y_syn[0] = "c"  # one sample of a class the real data does not have
    y_syn[y_syn == "b"] = "a"  # no synthetic "b" left
    out = spread_ratio(x, x, y, y_syn)
    assert set(out) == {"a", "b", "c"}
    assert math.isnan(out["b"]) and math.isnan(out["c"])
    assert out["a"] > 0


def test_spread_ratio_integer_labels_are_plain_ints():
    x, y = _two_class_data()
    yi = (y == "b").astype(np.int64)
    out = spread_ratio(x.reshape(-1, 5, 6), x.reshape(-1, 5, 6), yi, yi)  # image-shaped input
    assert out == {0: 1.0, 1: 1.0}
    assert all(type(k) is int for k in out)


# ---------------------------------------------------------------------------
# DCR
# ---------------------------------------------------------------------------


def test_dcr_copies_of_train():
    """Synthetic = exact copies of training samples: every distance is 0, so dcr_ratio = 0 and all
    synthetic samples are closer than the closest holdout sample (> 0)."""
    rng = np.random.default_rng(0)
    train = 10.0 + rng.normal(size=(50, 20))  # large norms: the distance must still be exactly 0
    holdout = 10.0 + rng.normal(size=(20, 20))
    out = dcr(train[rng.permutation(50)[:30]], train, holdout)
    assert out == {"dcr_ratio": 0.0, "closer_than_holdout": 1.0}


def test_dcr_hand_computed():
    """train = {0, 10}, holdout = {1, 12}: holdout->train distances 1, 2 (median 1.5, min 1).
    synthetic = {0.5, 10, 5}: distances 0.5, 0, 5 (median 0.5).
    dcr_ratio = 0.5 / 1.5 = 1/3; closer than 1: 0.5 and 0 -> 2/3."""
    train = np.array([[0.0], [10.0]])
    holdout = np.array([[1.0], [12.0]])
    synthetic = np.array([[0.5], [10.0], [5.0]])
    b = dcr_breakdown(synthetic, train, holdout)
    assert b["dcr_ratio"] == pytest.approx(1 / 3)
    assert b["closer_than_holdout"] == pytest.approx(2 / 3)
    np.testing.assert_allclose(b["synthetic_to_train"], [0.5, 0.0, 5.0])
    np.testing.assert_allclose(b["holdout_to_train"], [1.0, 2.0])
    assert (b["median_holdout_to_train"], b["min_holdout_to_train"]) == (1.5, 1.0)
    assert dcr(synthetic, train, holdout) == {
        "dcr_ratio": b["dcr_ratio"],
        "closer_than_holdout": b["closer_than_holdout"],
    }


def test_dcr_novel_samples_ratio_near_one():
    """Synthetic drawn from the data distribution itself (i.e. exactly like the holdout): the two
    nearest-train distance distributions coincide, so the ratio is ~1 (median of 400 vs 400)."""
    rng = np.random.default_rng(0)
    train, holdout, synthetic = (rng.normal(size=(n, 8)) for n in (300, 400, 400))
    out = dcr(synthetic, train, holdout)
    assert out["dcr_ratio"] == pytest.approx(1.0, abs=0.1)
    assert out["closer_than_holdout"] < 0.05



def test_left_out_dcr_hand_computed():
    """train = {0, 1, 3}: distance of each to the nearest other 1, 1, 2 (median 1); holdout = {5, 0.5}:
    distances to train 2, 0.5 (median 1.25); ratio 1 / 1.25 = 0.8. Exact copies in train: LOO distance 0."""
    train = np.array([[0.0], [1.0], [3.0]])
    holdout = np.array([[5.0], [0.5]])
    assert left_out_dcr(train, holdout) == pytest.approx(0.8)
    assert left_out_dcr(np.array([[0.0], [0.0], [3.0]]), holdout) == 0.0  # LOO distances 0, 0, 3


def test_left_out_distances_hand_computed_with_and_without_groups():
    """{0, 1, 3, 10}: nearest other 1, 1, 2, 7; with groups (a, a, b, b) the nearest of another group:
    3, 2, 2, 9; a single group leaves no other: inf. Exact copies give exactly 0."""
    x = np.array([[0.0], [1.0], [3.0], [10.0]])
    np.testing.assert_allclose(left_out_distances(x), [1, 1, 2, 7])
    np.testing.assert_allclose(left_out_distances(x, np.array(["a", "a", "b", "b"])), [3, 2, 2, 9])
    assert np.all(np.isinf(left_out_distances(x, np.zeros(4))))
    assert left_out_distances(np.array([[0.3, 0.7], [0.3, 0.7], [5.0, 1.0]]))[:2].tolist() == [0.0, 0.0]
    with pytest.raises(InputError):
        left_out_distances(x, np.zeros(3))


def test_left_out_dcr_bimodal_distances_swing_with_the_split():
    """Twelve pairs of near-replicates (twins 0.01 apart, pairs 10 apart on a line). A sample whose twin is in
    the training set is 0.01 from it, one without is >= 10 from everything. (A) training = all 12 centres +
    6 twins, holdout = the other 6 twins: both medians 0.01, ratio 1. (B) training = 6 full pairs + 3 single
    centres (LOO: 12 x 0.01, 3 x 10, median 0.01); holdout = the last 3 pairs, beyond the training range
    (distances 10, 20, 30, 10.01, 20.01, 30.01, median 20.005): the same data, another split, ratio 0.01 / 20.005."""
    centres = 10.0 * np.arange(12)[:, None]
    pairs = np.concatenate([centres, centres + 0.01])  # rows i and i + 12 are twins
    train_a, ho_a = pairs[:18], pairs[18:]
    assert left_out_dcr(train_a, ho_a) == pytest.approx(1.0)
    train_b, ho_b = pairs[[*range(6), *range(12, 18), 6, 7, 8]], pairs[[9, 10, 11, 21, 22, 23]]
    assert left_out_dcr(train_b, ho_b) == pytest.approx(0.01 / 20.005, rel=1e-6)


# ---------------------------------------------------------------------------
# utility
# ---------------------------------------------------------------------------


def _separable(seed: int, n: int = 60, labels=("low", "high")):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * n, 10))
    x[n:] += 6.0
    return x, np.repeat(np.array(labels), n)


def test_balanced_accuracy_hand_case():
    """y_true = 0,0,0,1, y_pred = 0,0,1,1: recall(0) = 2/3, recall(1) = 1 -> 5/6.
    A predicted class absent from y_true (2) only counts as an error: recall(0) = 1/2, recall(1) = 1."""
    assert balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(5 / 6)
    assert balanced_accuracy([0, 0, 1], [0, 2, 1]) == pytest.approx(0.75)


def test_utility_on_separable_data_is_perfect():
    """Classes 6 sigma apart in every dim: TSTR, TRTR and class specificity are all exactly 1."""
    x_syn, y_syn = _separable(0)
    x_train, y_train = _separable(1)
    x_test, y_test = _separable(2)
    assert tstr(x_syn, y_syn, x_test, y_test) == 1.0
    assert trtr(x_train, y_train, x_test, y_test) == 1.0
    assert class_specificity(x_train, y_train, x_syn, y_syn) == 1.0


def test_tstr_shuffled_synthetic_labels_is_near_chance():
    """Data without cluster structure: x ~ N(0, I_200), label = sign of x_0. Synthetic labels
    permuted, so they carry no information; the fitted weight vector w is a random direction and
    the balanced accuracy is 1 - angle(w, e_0) / pi ~ 0.5 + cos / pi with sd(cos) = 1/sqrt(200),
    i.e. sd ~ 0.023: band 0.5 +- 0.15. (Clustered data would not do: a permutation leaves a
    chance majority label per cluster, and the classifier then scores ~0 or ~1.)"""
    rng = np.random.default_rng(0)
    x_syn, x_test = rng.normal(size=(200, 200)), rng.normal(size=(400, 200))
    y_syn, y_test = np.where(x_syn[:, 0] > 0, "high", "low"), np.where(x_test[:, 0] > 0, "high", "low")
    shuffled = rng.permutation(y_syn)
    assert tstr(x_syn, shuffled, x_test, y_test) == pytest.approx(0.5, abs=0.15)


def test_class_specificity_of_half_mislabelled_synthetic_is_one_half():
    """Separable classes; synthetic labels reassigned so that exactly half of each class carries
    each label. The real-trained classifier recognises every sample's true class, so exactly half
    of the intended labels are matched: 0.5 (chance for two classes)."""
    x_real, y_real = _separable(1)
    x_syn, y_syn = _separable(0)
    relabelled = y_syn.copy()
    for c in ("low", "high"):
        idx = np.flatnonzero(y_syn == c)
        relabelled[idx[: len(idx) // 2]] = "high" if c == "low" else "low"
    assert class_specificity(x_real, y_real, x_syn, relabelled) == 0.5


def test_tstr_with_a_class_missing_from_synthetic():
    """Three separable classes in test, synthetic lacks class 2: classes 0 and 1 are recognised
    (recall 1), class 2 never predicted (recall 0) -> balanced accuracy 2/3. A one-class training
    set predicts that class: recall 1 for it, 0 for the others -> 1/3."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    y_test = np.repeat([0, 1, 2], 20)
    x_test = centers[y_test] + rng.normal(size=(60, 2))
    y_syn = np.repeat([0, 1], 20)
    x_syn = centers[y_syn] + rng.normal(size=(40, 2))
    assert tstr(x_syn, y_syn, x_test, y_test) == pytest.approx(2 / 3)
    assert tstr(x_syn[:20], y_syn[:20], x_test, y_test) == pytest.approx(1 / 3)


def test_utility_injected_classifier_and_bad_input():
    """An injected 1-NN classifier is used (and cloned): on separable data it is perfect too."""
    x_syn, y_syn = _separable(0)
    x_test, y_test = _separable(2)
    knn = KNeighborsClassifier(1)
    assert tstr(x_syn, y_syn, x_test, y_test, classifier=knn) == 1.0
    assert not hasattr(knn, "classes_")  # the caller's instance is not fitted
    with pytest.raises(InputError):
        tstr(x_syn, y_syn[:-1], x_test, y_test)


# ---------------------------------------------------------------------------
# flags
# ---------------------------------------------------------------------------


def test_flags_thresholds_are_strict():
    """Defaults: collapse if min spread ratio < 0.5, memorization if dcr_ratio < 0.5,
    distinguishable if AUC > 0.75. Values exactly at the threshold do not raise."""
    at = compute_flags({"spread_ratio": {"a": 0.5, "b": 1.1}, "dcr_ratio": 0.5, "c2st_auc": 0.75})
    assert [at[k]["raised"] for k in ("collapse", "memorization", "distinguishable")] == [False] * 3
    beyond = compute_flags({"spread_ratio": {"a": 0.49, "b": 1.1}, "dcr_ratio": 0.49, "c2st_auc": 0.751})
    assert [beyond[k]["raised"] for k in ("collapse", "memorization", "distinguishable")] == [True] * 3
    assert beyond["collapse"]["value"] == 0.49 and "'a'" in beyond["collapse"]["reason"]
    assert beyond["distinguishable"]["threshold"] == 0.75
    for entry in beyond.values():
        assert set(entry) == {"raised", "value", "threshold", "reason"}


def test_flags_missing_inputs_are_reported_not_dropped():
    """Absent, None and NaN inputs give raised=None with reason 'not computed'; all three flags
    are always present."""
    for metrics in ({}, {"spread_ratio": None, "dcr_ratio": None, "c2st_auc": float("nan")}):
        flags = compute_flags(metrics)
        assert set(flags) == {"collapse", "memorization", "distinguishable"}
        for entry in flags.values():
            assert entry["raised"] is None and entry["reason"] == "not computed"
    # a NaN class cannot clear the collapse flag, but a finite collapsed class still raises it
    assert compute_flags({"spread_ratio": {"a": 0.9, "b": float("nan")}})["collapse"]["raised"] is None
    assert compute_flags({"spread_ratio": {"a": 0.1, "b": float("nan")}})["collapse"]["raised"] is True
    assert compute_flags({"spread_ratio": 0.8})["collapse"]["raised"] is False


def test_flags_custom_thresholds_and_validation():
    t = Thresholds(collapse_spread=0.8, memorization_dcr=0.9, distinguishable_auc=0.6)
    flags = compute_flags({"spread_ratio": {0: 0.7}, "dcr_ratio": 0.85, "c2st_auc": 0.65}, t)
    assert all(entry["raised"] for entry in flags.values())
    with pytest.raises(InputError):
        Thresholds(distinguishable_auc=1.5)
    with pytest.raises(InputError):
        compute_flags({"c2st_auc": "high"})
    with pytest.raises(AttributeError):  # frozen
        t.collapse_spread = 0.1  # type: ignore[misc]
