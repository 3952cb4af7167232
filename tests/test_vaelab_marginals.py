"""vaelab-cvae on per-feature normal scores (``marginals = "quantile"``): the transform, its inverse, and a
model whose samples keep each feature's training range; runs saved before the option load unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before
from vaelab.core.errors import InputError
from vaelab.models import load_model
from vaelab.models.vaelab_cvae import VaelabCVAE, _feature_quantiles, _from_normal_scores, _normal_scores

FAST = {"hidden": [16], "latent_dim": 3, "epochs": 15, "batch_size": 16, "patience": 5}


def test_normal_scores_known_values():
    # 4 distinct values: ranks 0..3 -> Phi^-1((r + 0.5) / 4); Phi^-1(0.125) = -1.150349, Phi^-1(0.375) = -0.318639
    x = np.array([[3.0], [10.0], [-1.0], [0.5]])
    z = _normal_scores(x, _feature_quantiles(x))
    np.testing.assert_allclose(z[:, 0], [0.318639, 1.150349, -1.150349, -0.318639], atol=1e-6)
    # ties get the mid-rank: [1, 1, 2, 3] -> ranks 0.5, 0.5, 2, 3 -> Phi^-1(0.25) = -0.674490 for both ones
    x = np.array([[1.0], [1.0], [2.0], [3.0]])
    z = _normal_scores(x, _feature_quantiles(x))
    np.testing.assert_allclose(z[:, 0], [-0.674490, -0.674490, 0.318639, 1.150349], atol=1e-6)


def test_inverse_is_exact_on_the_training_values_and_bounded():
    rng = np.random.default_rng(0)
    x = np.c_[rng.exponential(size=40), rng.standard_t(2, size=40), np.full(40, 7.0)]
    q = _feature_quantiles(x)
    assert q.shape == (40, 3)
    back = _from_normal_scores(torch.as_tensor(_normal_scores(x, q)), torch.as_tensor(q)).numpy()
    np.testing.assert_allclose(back, x, rtol=1e-5, atol=1e-5)  # float32 round-off only
    # scores far outside the training ones map to the ends of each feature's training range
    ends = _from_normal_scores(torch.tensor([[-30.0] * 3, [30.0] * 3]), torch.as_tensor(q)).numpy()
    np.testing.assert_allclose(ends, [x.min(axis=0), x.max(axis=0)], rtol=1e-6)
    # with fewer levels than rows (M = 10 of 40): the table holds the Hazen quantiles
    q10 = _feature_quantiles(x, max_levels=10)
    np.testing.assert_allclose(q10[:, 0], np.quantile(x[:, 0], (np.arange(10) + 0.5) / 10, method="hazen"))


def _bounded_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    # spectra after a baseline removal: zero where a spectrum has no band, a rare, strong band otherwise
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 48)
    band = np.exp(-0.5 * ((t - 0.5) / 0.04) ** 2)
    amp = np.where(rng.random(60) < 0.25, rng.exponential(2.0, 60), 0.0)
    X = amp[:, None] * band + np.abs(0.02 * rng.standard_normal((60, 48)))
    return X, np.repeat(["a", "b"], 30)


def test_quantile_marginals_keep_the_training_range():
    X, y = _bounded_set()
    q = VaelabCVAE(**FAST, marginals="quantile").fit(X, y, seed=0)
    S, _ = q.sample({"a": 100, "b": 100}, seed=1)
    assert (S >= X.min(axis=0) - 1e-5).all() and (S <= X.max(axis=0) + 1e-5).all()
    # the data-space model draws below the bound that every training value respects
    S0, _ = VaelabCVAE(**FAST).fit(X, y, seed=0).sample({"a": 100, "b": 100}, seed=1)
    assert (S0 < 0).any() and (X >= 0).all()


def test_quantile_marginals_round_trip(tmp_path):
    X, y = _bounded_set(1)
    m = VaelabCVAE(**FAST, marginals="quantile").fit(X, y, seed=0)
    assert m.extra_["marg_q"].shape == (60, 48)
    m.save(tmp_path / "m")
    S = m.sample({"a": 5, "b": 5}, seed=2)[0]
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=2)[0], S)
    # weights without the quantiles under a config that needs them: one-line error
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    other = VaelabCVAE(**FAST).fit(X, y, seed=0)
    other.save(tmp_path / "o")
    (tmp_path / "o" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="marg_q"):
        load_model(tmp_path / "o")


def test_runs_saved_before_the_option_load_and_sample_unchanged(tmp_path):
    X, y = _bounded_set(2)
    m = VaelabCVAE(**FAST).fit(X, y, seed=0)
    old = reloaded_as_saved_before(m, tmp_path / "old", ("marginals",), {"a": 4, "b": 4}, seed=3)
    assert old.config.marginals == "none"


def test_marginals_option_is_checked():
    with pytest.raises(InputError):
        VaelabCVAE(marginals="rank")
