"""The seed report's four metrics on hand-computed cases, and the meaning of the reference rows."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from vaelab.metrics.seed import (
    class_mean_copy,
    pairwise_seed_metrics,
    seed_metrics,
    seed_references,
    split_halves,
)


def test_orthogonal_pair_by_hand():
    m = pairwise_seed_metrics(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert m["cosine"] == pytest.approx(0.0)
    assert m["mse"] == pytest.approx(1.0)  # ((1-0)^2 + (0-1)^2) / 2
    assert m["pearson"] == pytest.approx(-1.0)
    assert m["wasserstein"] == pytest.approx(0.0)  # same multiset of values {0, 1}


def test_mean_over_all_pairs_by_hand():
    S = np.array([[1.0, 2.0, 3.0]])
    R = np.array([[2.0, 4.0, 6.0], [3.0, 2.0, 1.0]])
    m = pairwise_seed_metrics(S, R)
    assert m["cosine"] == pytest.approx((1.0 + 10.0 / 14.0) / 2)
    assert m["mse"] == pytest.approx((14 / 3 + 8 / 3) / 2)
    assert m["pearson"] == pytest.approx(0.0)  # +1 and -1
    assert m["wasserstein"] == pytest.approx(1.0)  # (2 + 0) / 2


def test_wasserstein_matches_scipy():
    rng = np.random.default_rng(0)
    S, R = rng.random((3, 20)), rng.random((4, 20))
    expect = np.mean([wasserstein_distance(s, r) for s in S for r in R])
    assert pairwise_seed_metrics(S, R)["wasserstein"] == pytest.approx(expect, rel=1e-12)


def test_per_class_then_unweighted_mean():
    real = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    yr = np.array(["a", "a", "b", "b"])
    synth = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # class a: 4, b: 1 orthogonal
    ys = np.array(["a", "a", "a", "a", "b"])
    m = seed_metrics(real, yr, synth, ys)
    assert m["per_class"]["a"]["cosine"] == pytest.approx(1.0)
    assert m["per_class"]["b"]["cosine"] == pytest.approx(1.0)
    synth[-1] = [1.0, 0.0]
    m = seed_metrics(real, yr, synth, ys)
    assert m["per_class"]["b"]["cosine"] == pytest.approx(0.0)
    assert m["cosine"] == pytest.approx(0.5)  # classes weigh equally, not by sample count


def test_labels_matched_by_text():
    real = np.eye(3)[[0, 0, 1, 1]]
    m = seed_metrics(real, np.array([0, 0, 1, 1]), real, np.array(["0", "0", "1", "1"]))
    assert set(m["per_class"]) == {"0", "1"}


def test_class_mean_copy_beats_real_vs_real(small_spectra):
    """The mean minimises expected squared distance, so the 'copy the mean' row must win on MSE."""
    X, y, _ = small_spectra
    ref = seed_references(X, y, seed=0)
    assert ref["class_mean_copy"]["mse"] < ref["real_vs_real"]["mse"]
    assert ref["class_mean_copy"]["cosine"] > ref["real_vs_real"]["cosine"]
    means, labels = class_mean_copy(X, y)
    assert means.shape == (3, X.shape[1]) and list(labels) == ["0", "1", "2"]
    np.testing.assert_allclose(means[1], X[y == 1].mean(axis=0))


def test_halves_respect_groups():
    y = np.array([0] * 8 + [1] * 8)
    groups = np.repeat(np.arange(8), 2)
    a, b = split_halves(y, groups, seed=3)
    assert not set(groups[a]) & set(groups[b])
    assert len(a) + len(b) == 16 and not set(a) & set(b)
