"""SmallCNNClassifier(standardise=True): one mean and one sd per channel, fitted on the classifier's own training rows,
applied to its inputs in fit and predict_proba (issue 11, session 17); off in the class (the study's ``cnn`` sees
per-pixel standardised rows), on in ``vaelab evaluate``'s and ``vaelab ablate``'s image CNNs."""

import numpy as np
import pytest

pytest.importorskip("torch")

from ablate_cells import PLAN, image_and_row_sets, settings_seen  # noqa: E402
from image_data import stripes  # noqa: E402


def _clf(**kw):
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    return SmallCNNClassifier(random_state=1, **kw)


def test_the_stored_mean_and_sd_are_the_channels_own():
    # (H, W, C) = (2, 2, 2): channel 0 holds 0 and 2 equally often (mean 1, population sd 1); channel 1 is the constant
    # 5 (sd 0, floored at 1e-8 x 5); channel means are over every pixel of every training row
    X = np.zeros((4, 2, 2, 2))
    X[:, :, :, 0] = np.array([[0, 2], [2, 0]])
    X[:2, :, :, 0] = 2 - X[:2, :, :, 0]
    X[:, :, :, 1] = 5.0
    clf = _clf(image_shape=(2, 2, 2), steps=1, standardise=True).fit(X.reshape(4, -1), np.array([0, 1, 0, 1]))
    np.testing.assert_array_equal(clf.channel_mean_, [1.0, 5.0])
    np.testing.assert_array_equal(clf.channel_sd_, [1.0, 5e-8])
    x = clf.inputs(X.reshape(4, -1)).numpy()
    np.testing.assert_array_equal(np.unique(x[:, 0]), [-1.0, 1.0])
    np.testing.assert_array_equal(x[:, 1], 0.0)
    grey = _clf(image_shape=(2, 2), steps=1, standardise=True).fit(
        np.array([[1.0, 3, 1, 3], [3, 1, 3, 1]]), np.array([0, 1]))
    np.testing.assert_array_equal(grey.channel_mean_, [2.0])
    np.testing.assert_array_equal(grey.channel_sd_, [1.0])
    assert _clf(image_shape=(2, 2), steps=1).fit(np.eye(4)[:2], np.array([0, 1])).channel_mean_ is None


def test_inputs_already_at_mean_0_sd_1_train_the_same_network():
    # pixels of +-1, half each: mean exactly 0 and sd exactly 1, so the standardised inputs are the inputs themselves
    X, y = stripes(64, 8)
    order = np.argsort(X.reshape(64, -1), axis=1, kind="stable")
    pm = -np.ones((64, 64))
    np.put_along_axis(pm, order[:, 32:], 1.0, axis=1)  # each image's brighter half +1, the rest -1
    assert pm.mean() == 0 and pm.std() == 1
    on = _clf(image_shape=(8, 8), epochs=3, standardise=True).fit(pm, y)
    off = _clf(image_shape=(8, 8), epochs=3).fit(pm, y)
    np.testing.assert_array_equal(on.predict_proba(pm), off.predict_proba(pm))


def test_an_affine_change_of_the_pixel_scale_leaves_the_candidate_unchanged():
    X, y = stripes(80, 12)
    Xt = stripes(40, 12, seed=5)[0].reshape(40, -1).astype(np.float64)
    rows = X.reshape(80, -1).astype(np.float64)

    def proba(a, b, standardise):
        return _clf(image_shape=(12, 12), epochs=4, standardise=standardise).fit(a * rows + b, y).predict_proba(
            a * Xt + b)

    p, p_affine = proba(1, 0, True), proba(3, 7, True)
    # the float64 standardisation hides the change below float32's resolution: here the network's inputs and its
    # probabilities come out bit-identical; allow float rounding of the channel mean (a reduction) elsewhere
    np.testing.assert_allclose(p_affine, p, rtol=0, atol=1e-6)
    # the raw network is not invariant (the test can fail): the same change moves its probabilities
    assert np.abs(proba(3, 7, False) - proba(1, 0, False)).max() > 1e-2


def test_standardise_is_deterministic_and_off_by_default(monkeypatch):
    from vaelab.evaluation.image import CNN_STANDARDISE, cnn_c2st, cnn_scores
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    X, y = stripes(80, 12)
    Xt, yt = stripes(40, 12, seed=5)
    rows, test = X.reshape(80, -1).astype(np.float64), Xt.reshape(40, -1).astype(np.float64)
    a = _clf(image_shape=(12, 12), epochs=3, standardise=True).fit(rows, y).predict_proba(test)
    b = _clf(image_shape=(12, 12), epochs=3, standardise=True).fit(rows, y).predict_proba(test)
    assert a.tobytes() == b.tobytes()
    assert _clf().standardise is False and CNN_STANDARDISE is True   # the class: off; evaluate's CNNs: on
    # evaluate's CNNs (TSTR/TRTR, C2ST) take the switch; None follows CNN_STANDARDISE
    seen = []
    fit = SmallCNNClassifier.fit
    monkeypatch.setattr(SmallCNNClassifier, "fit", lambda self, *a: (seen.append(self.standardise), fit(self, *a))[1])
    kw = {"seed": 1, "epochs": 1}
    for flag in (None, True, False):
        seen.clear()
        cnn_scores(X, y, {"test": (Xt.astype(np.float64), yt)}, standardise=flag, **kw)
        c = cnn_c2st(X, Xt, folds=2, standardise=flag, **kw)
        on = CNN_STANDARDISE if flag is None else flag
        assert len(seen) >= 3 and set(seen) == {on} and ("standardise=True" in c["classifier"]) == on


@pytest.mark.parametrize("on", [False, True])
def test_ablate_image_cells_carry_the_setting_and_a_stored_cell_without_it_runs_the_old_way(monkeypatch, on):
    from vaelab.experiments import ablation as abl

    images, rows = image_and_row_sets()
    monkeypatch.setattr(abl, "CNN_STANDARDISE", on)
    cells = abl.plan_ablation(images, "ppca", **PLAN)["cells"]
    assert all(c.get("cnn_standardise") is (True if on else None) for c in cells)  # off: cell IDs as before
    assert all("cnn_standardise" not in c for c in abl.plan_ablation(rows, "ppca", **PLAN)["cells"])
    assert settings_seen(monkeypatch, abl, images, "cnn_standardise") == [False, on]


def test_ablate_cell_metrics_pass_the_setting_to_both_cnns(monkeypatch):
    from vaelab.experiments.ablation import cell_metrics
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    X, y = stripes(48, 8)
    Xt, yt = stripes(24, 8, seed=5)
    seen = []
    fit = SmallCNNClassifier.fit
    monkeypatch.setattr(SmallCNNClassifier, "fit", lambda self, *a: (
        seen.append((len(a[0]), self.standardise)), fit(self, *a))[1])
    for flag in (False, True):
        seen.clear()
        _, errors = cell_metrics(X, y, X, y, Xt, yt, seed=0, features="identity", mmd_permutations=0,
                                 cnn_standardise=flag)
        assert not errors and len(seen) > 2 and {s for _, s in seen} == {flag}  # C2ST folds, TSTR and TRTR
