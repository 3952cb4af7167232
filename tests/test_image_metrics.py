"""Image metrics: KID against hand-computed values, the CNN classifier, the domain feature network."""

import numpy as np
import pytest

from image_data import stripes
from vaelab.core.errors import InputError
from vaelab.metrics.distribution import frechet_from_stats
from vaelab.metrics.kid import kid, mmd2_unbiased_poly


def test_mmd2_poly_matches_hand_computation():
    # d = 1, k(a, b) = (a b + 1)^3; x = {0, 1}, y = {1, 2}
    # kxx off-diagonal: k(0,1) = 1 (twice) -> 2 / 2 = 1; kyy: k(1,2) = 27 (twice) -> 27
    # kxy: k(0,1)=1, k(0,2)=1, k(1,1)=8, k(1,2)=27 -> mean 37/4; MMD^2 = 1 + 27 - 2 * 37/4 = 9.5
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert mmd2_unbiased_poly(x, y) == pytest.approx(9.5)
    # d = 2 divides the dot product: x = {(0,0), (2,0)}, y = {(0,0), (0,2)}
    # kxx: k(0, (2,0)) = 1 -> 1; kyy: 1; kxy: 1, 1, 1, (0/2 + 1)^3 = 1 -> 1; MMD^2 = 0
    assert mmd2_unbiased_poly(np.array([[0.0, 0], [2, 0]]), np.array([[0.0, 0], [0, 2]])) == pytest.approx(0.0)


def test_kid_single_round_is_exact_and_subsets_average():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 4)), rng.normal(0.5, 1, size=(40, 4))
    r = kid(a, b)
    assert r["subsets"] == 1 and r["kid"] == pytest.approx(mmd2_unbiased_poly(a, b))
    r2 = kid(a, b, subsets=20, subset_size=10, seed=3)
    assert r2["subsets"] == 20 and r2["subset_size"] == 10 and r2["kid_std"] > 0
    assert kid(a, b, subsets=20, subset_size=10, seed=3) == r2  # seeded
    # same distribution: unbiased, close to 0; shifted: clearly positive
    same = kid(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)))["kid"]
    assert abs(same) < 0.05 and kid(a, b)["kid"] > 0.1
    with pytest.raises(InputError):
        kid(a, b[:, :3])


def test_frechet_of_gaussians_analytic():
    # N(0, I) vs N(m, 4 I) in d dims: ||m||^2 + tr(I + 4I - 2 * 2I) = ||m||^2 + d
    d, m = 3, np.array([1.0, 2.0, 0.0])
    assert frechet_from_stats(np.zeros(d), np.eye(d), m, 4 * np.eye(d)) == pytest.approx(5.0 + d)


def test_cnn_classifier_learns_and_is_deterministic():
    from sklearn.metrics import roc_auc_score

    from vaelab.modalities.image.cnn import SmallCNNClassifier

    X, y = stripes(80, 12)
    Xt, yt = stripes(40, 12, seed=5)
    flat = X.reshape(80, -1) / 255.0
    p1 = SmallCNNClassifier(image_shape=(12, 12), epochs=8, random_state=1).fit(flat, y).predict_proba(Xt.reshape(40, -1) / 255.0)
    p2 = SmallCNNClassifier(image_shape=(12, 12), epochs=8, random_state=1).fit(flat, y).predict_proba(Xt.reshape(40, -1) / 255.0)
    np.testing.assert_array_equal(p1, p2)
    assert roc_auc_score(yt, p1[:, 1]) > 0.95  # horizontal vs vertical stripes
    with pytest.raises(InputError, match="do not match the image shape"):
        SmallCNNClassifier(image_shape=(10, 10)).fit(flat, y)


def test_cnn_classifier_steps_fix_the_optimiser_budget(monkeypatch):
    import torch

    from vaelab.evaluation.image import cnn_steps
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    X, y = stripes(80, 12)  # 80 rows in batches of 64: 2 steps per epoch
    flat, Xt = X.reshape(80, -1) / 255.0, stripes(40, 12, seed=5)[0].reshape(40, -1) / 255.0
    calls = []
    step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: (calls.append(1), step(self, *a, **k))[1])

    def n_steps(**kw):
        calls.clear()
        p = SmallCNNClassifier(image_shape=(12, 12), random_state=1, **kw).fit(flat, y).predict_proba(Xt)
        return len(calls), p

    n_ep, p_ep = n_steps(epochs=3)
    n_eq, p_eq = n_steps(epochs=99, steps=6)  # epochs unused when steps is given
    assert n_ep == 6 and n_eq == 6
    np.testing.assert_array_equal(p_ep, p_eq)  # the same batches in the same order: the same network
    n5, p5 = n_steps(steps=5)  # stops inside the third epoch
    assert n5 == 5 and not np.array_equal(p5, p_ep)
    assert n_steps(steps=7)[0] == 7
    # TRTR's budget: 15 epochs of the real images in batches of 64
    assert cnn_steps(900) == 225 and cnn_steps(300) == 75 and cnn_steps(2428) == 570 and cnn_steps(64, 2) == 2


def test_augment_gives_the_cnn_the_same_budget_at_every_factor(monkeypatch):
    import torch

    from vaelab.experiments.augment import augment_scores
    from vaelab.experiments.classifiers import fit_and_score

    X, y = stripes(80, 12)  # 80 real rows: 15 epochs in batches of 64 = 30 optimiser steps
    Xs, ys = stripes(160, 12, seed=3)  # factor 2 adds 160 synthetic rows (240 rows: 4 batches per epoch)
    Xt, yt = stripes(40, 12, seed=5)
    calls = []
    step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: (calls.append(1), step(self, *a, **k))[1])
    per_factor = {}

    def counting(*a, **k):
        calls.clear()
        out = fit_and_score(*a, **k)
        per_factor.setdefault(len(a[1]), []).append(len(calls))
        return out

    monkeypatch.setattr("vaelab.experiments.augment.fit_and_score", counting)
    f = [("0", 0.0), ("2", 2.0)]
    equal = augment_scores(X, y, Xt, yt, Xs, ys, f, ["cnn"], seed=0, cnn_budget="real")
    assert per_factor == {80: [30], 240: [30]}
    assert all(0.5 <= equal[k]["cnn"]["roc_auc"] <= 1 for k in ("0", "2"))
    per_factor.clear()
    augment_scores(X, y, Xt, yt, Xs, ys, f, ["cnn"], seed=0)  # fixed epochs: 3x the rows, 2x the steps
    assert per_factor == {80: [30], 240: [60]}
    with pytest.raises(InputError, match="cnn_budget"):
        augment_scores(X, y, Xt, yt, Xs, ys, f, ["cnn"], seed=0, cnn_budget="epochs")


def test_feature_extractor_trained_on_real_only_and_seeded():
    from vaelab.modalities.image.features import fit_feature_extractor

    X, y = stripes(60, 12)
    e1 = fit_feature_extractor(X, y, seed=0, epochs=2)
    e2 = fit_feature_extractor(X, y, seed=0, epochs=2)
    F = e1.transform(X)
    assert F.shape == (60, 64)
    np.testing.assert_allclose(F.mean(axis=0), 0, atol=1e-6)  # standardised with the training images
    np.testing.assert_array_equal(F, e2.transform(X))
    info = e1.describe()
    assert info["trained_on"] == "real training images" and info["n_train"] == 60
