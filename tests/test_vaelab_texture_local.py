"""``texture_draw = "local"``: the decoded-coordinate residual of a sample is drawn from the Gaussian with the mean and
sample covariance of the residuals of the k = round(sqrt(n_k)) nearest other codes (Lall & Sharma 1996's k) of the
training row its code was drawn from: the residual's dependence on the code is kept, no training residual is copied."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before, without_weights
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _local_draw, _residual_neighbours

# one class of 9 codes on a line at irregular places, so that no two distances tie
_LINE = torch.tensor([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 21.0, 28.0, 36.0]).reshape(-1, 1)


def test_neighbour_table_and_k_per_class():
    c = torch.zeros(9, dtype=torch.long)
    nb = _residual_neighbours(_LINE, c, 1)
    assert nb["tex_nnk"].tolist() == [3.0]  # round(sqrt(9))
    # row 3 (at 6): the others at distances 3 (row 2), 4 (row 4), 5 (row 1), 6 (row 0): nearest first, never itself
    assert nb["tex_nn"][3].tolist() == [2, 4, 1]
    assert nb["tex_nn"][0].tolist() == [1, 2, 3]
    # two classes of 9 and 2 codes: k = 3 and 1 (a class of two has one other code)
    mu = torch.cat([_LINE, torch.tensor([[100.0], [101.0]])])
    nb2 = _residual_neighbours(mu, torch.tensor([0] * 9 + [1, 1]), 2)
    assert nb2["tex_nnk"].tolist() == [3.0, 1.0]
    assert nb2["tex_nn"][9, 0].item() == 10 and nb2["tex_nn"][10, 0].item() == 9


def test_local_draw_has_the_neighbours_mean_and_sample_covariance():
    # three residuals in 2-D: mean (1, 1); deviations (-1, -1), (1, 0), (0, 1), so the sample covariance (denominator
    # k - 1 = 2) is [[1, 0.5], [0.5, 1]]
    r = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, 2.0]])
    mean, cov = np.array([1.0, 1.0]), np.array([[1.0, 0.5], [0.5, 1.0]])
    near = torch.tensor([[0, 1, 2]]).repeat(40000, 1)
    e = _local_draw(r, near, torch.Generator().manual_seed(0)).double()
    np.testing.assert_allclose(e.mean(0), mean, atol=0.02)  # standard error <= 0.007
    np.testing.assert_allclose(torch.cov(e.T), cov, atol=0.04)
    # k = 1: that residual itself; same generator seed, same draws
    one = _local_draw(r, torch.tensor([[2], [0]]), torch.Generator().manual_seed(1))
    assert torch.equal(one, r[[2, 0]])
    assert torch.equal(_local_draw(r, near[:5], torch.Generator().manual_seed(3)),
                       _local_draw(r, near[:5], torch.Generator().manual_seed(3)))


def test_local_draw_follows_a_residual_variance_that_depends_on_the_code_the_class_gaussian_does_not():
    # codes on [0, 1]; residual sd 0.1 where the code is below 0.5 ("no band"), 1.0 above ("band")
    g = np.random.default_rng(0)
    n, D = 400, 3
    z = torch.tensor(np.sort(g.random(n)), dtype=torch.float32).reshape(-1, 1)
    sd = torch.where(z < 0.5, 0.1, 1.0)
    res = sd * torch.tensor(g.standard_normal((n, D)), dtype=torch.float32)
    nb = _residual_neighbours(z, torch.zeros(n, dtype=torch.long), 1)
    k = int(nb["tex_nnk"][0])
    assert k == 20  # round(sqrt(400))
    low, high = torch.nonzero(z[:, 0] < 0.4).flatten(), torch.nonzero(z[:, 0] > 0.6).flatten()
    gen = torch.Generator().manual_seed(0)
    for rows, var in ((low, 0.01), (high, 1.0)):
        rep = rows.repeat(20)
        e = _local_draw(res, nb["tex_nn"][rep, :k], gen)
        # variance over codes and draws: var(rbar) + E[local sample variance] = var (1 + 1 / k) (+- sampling error)
        assert e.pow(2).mean().item() == pytest.approx(var * (1 + 1 / k), rel=0.25)
        # never a copy of a training residual
        assert torch.cdist(e[:200], res).min().item() > 1e-4
    # the class-wide Gaussian (the default) gives both sides the pooled variance, ~0.5 (50x too much below 0.5)
    pooled = res.pow(2).mean().item()
    assert 0.3 < pooled < 0.7


def _data():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 1, 48)
    band = np.exp(-0.5 * ((t - 0.5) / 0.03) ** 2)
    amp = rng.exponential(1.0, (60, 1)) * (rng.random((60, 1)) < 0.5)  # half the spectra without the band
    X = amp * band + 0.3 * np.sin(3 * t) * (1 + 0.2 * rng.standard_normal((60, 1))) + 0.02 * rng.standard_normal((60, 48))
    return X, np.array(["a"] * 36 + ["b"] * 24)


FAST = {"hidden": [16], "latent_dim": 3, "epochs": 8, "batch_size": 16, "patience": 4}


def test_vaelab_cvae_local_residual_fits_samples_and_round_trips(tmp_path):
    from vaelab.models import load_model

    X, y = _data()
    g = VaelabCVAE(**FAST, texture_draw="local").fit(X, y, seed=0)
    assert g.extra_["tex_nnk"].tolist() == [6.0, 5.0]  # round(sqrt(36)), round(sqrt(24))
    nk, mult = g.extra_["tex_boot"][0].tolist()  # every training residual of the class kept
    assert int(nk) == 36 and mult == pytest.approx(np.sqrt(35), rel=1e-6)
    S = g.sample({"a": 5, "b": 5}, seed=1)[0]
    assert np.isfinite(S).all()
    # a sampler that names no training rows: the class-wide Gaussian (mean, covariance rows^T rows of class a)
    e = g._local_residual("tex", torch.zeros(20000, dtype=torch.long), None, None, torch.Generator().manual_seed(0)).double()
    rows = g.extra_["tex_rows"][0].double()
    np.testing.assert_allclose(e.mean(0), g.extra_["tex_mean"][0].double(), atol=0.05)
    cov = rows.T @ rows  # standard error of an entry <= sqrt(2 / 20000) x the largest variance
    np.testing.assert_allclose(torch.cov(e.T), cov, atol=0.05 * cov.diagonal().max().item())
    np.testing.assert_array_equal(g.sample({"a": 5, "b": 5}, seed=1)[0], S)  # same seed, same samples
    g.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=1)[0], S)
    # weights without the neighbour table are refused with one line
    without_weights(tmp_path / "m", "extra.tex_nn")
    with pytest.raises(InputError, match="tex_nn"):
        load_model(tmp_path / "m")


def test_the_gaussian_draw_keeps_no_neighbour_table(tmp_path):
    X, y = _data()
    g = VaelabCVAE(**FAST, texture_draw="gaussian").fit(X, y, seed=0)
    assert "tex_nn" not in g.extra_
    back = reloaded_as_saved_before(g, tmp_path / "run", (), {"a": 4, "b": 4}, seed=2)
    assert back.config.texture_draw == "gaussian"
