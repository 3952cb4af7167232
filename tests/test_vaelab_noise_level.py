"""The leave-one-out noise level of vaelab-cvae (``level = "loo"``): leverage and PRESS-style correction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models import load_model
from vaelab.models.gaussians import top_axes
from vaelab.models.vaelab_cvae import (
    VaelabCVAE,
    _fit_space,
    _leverage,
    _leverage_state,
    _noise_levels,
)


def _centred(n: int, d: int, rank: int, noise: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, d)
    shapes = np.stack([np.sin((j + 1) * np.pi * t) for j in range(rank)])
    x = rng.standard_normal((n, rank)) * np.arange(rank, 0, -1) @ shapes + noise * rng.standard_normal((n, d))
    return torch.as_tensor(x - x.mean(axis=0))


def test_leverages_sum_to_the_number_of_axes():
    # the trace of the hat matrix of K centred score columns is K (known value)
    xs = _centred(40, 60, 3, 0.1, 0)
    _, B = top_axes(xs, 7)
    h = _leverage(xs @ B)
    assert h.sum() == pytest.approx(7.0, abs=1e-9)
    assert np.all((h >= 0) & (h < 1))
    # one score column: h_i = a_i^2 / sum a^2
    a = torch.tensor([[1.0], [-2.0], [1.0]], dtype=torch.float64)
    np.testing.assert_allclose(_leverage(a), [1 / 6, 4 / 6, 1 / 6])


def test_loo_level_is_the_in_sample_level_over_one_minus_leverage():
    xs = _centred(30, 50, 2, 0.2, 1)
    _, B = top_axes(xs, 8)
    s_in = _noise_levels(xs, B, loo=False)
    r = xs - (xs @ B) @ B.T
    np.testing.assert_allclose(s_in, r.norm(dim=1).numpy() / np.sqrt(50 - 8))
    np.testing.assert_allclose(_noise_levels(xs, B, loo=True), s_in / (1 - _leverage(xs @ B)))


def test_loo_level_matches_axes_refitted_without_the_spectrum():
    # few spectra, many axes (K = 14 of n = 30): in-sample levels are deflated unevenly; the
    # corrected ones agree with the exact leave-one-out residual (axes refitted on the other 29)
    n, d, K = 30, 300, 14
    xs = _centred(n, d, 4, 0.05, 2)
    _, B = top_axes(xs, K)
    exact = []
    for i in range(n):
        keep = torch.arange(n) != i
        _, Bi = top_axes(xs[keep], K)
        ri = xs[i] - Bi @ (Bi.T @ xs[i])
        exact.append(float(ri.norm()) / np.sqrt(d - K))
    exact = np.asarray(exact)
    loo, s_in = _noise_levels(xs, B, loo=True), _noise_levels(xs, B, loo=False)
    err_loo, err_in = (float(np.median(np.abs(np.log(s / exact)))) for s in (loo, s_in))
    assert err_loo < 0.15 and err_in > 3 * err_loo  # measured: 0.13 vs 0.49
    # the in-sample level even orders the spectra the wrong way round (correlation -0.75)
    assert np.corrcoef(np.log(loo), np.log(exact))[0, 1] > 0.8 > 0 > np.corrcoef(np.log(s_in), np.log(exact))[0, 1]


def test_fit_space_stores_the_loo_levels_and_their_log_statistics():
    xs = _centred(30, 40, 2, 0.1, 3).numpy()
    space = _fit_space(xs, 6, "loo")
    assert space["level"].shape == (30,)
    np.testing.assert_allclose(space["u_mean"][-1], np.log(space["level"]).mean())
    assert "level" not in _fit_space(xs, 6, "in_sample")


def test_level_option_is_checked():
    with pytest.raises(InputError):
        VaelabCVAE(level="median")


def test_leverage_state_for_loo_whitening():
    # one score column [1, -2, 1]: sum of squares 6, leverages 1/6, 4/6, 1/6, smallest 1 - h = 1/3
    st = _leverage_state(torch.tensor([[1.0], [-2.0], [1.0]]))
    torch.testing.assert_close(st["lev_lam"], torch.tensor([6.0]))
    torch.testing.assert_close(st["lev_floor"], torch.tensor([1 / 3]))


def test_loo_whitening_fits_samples_and_round_trips(tmp_path):
    rng = np.random.default_rng(4)
    X = np.sin(np.linspace(0, 3, 40)) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    y = np.repeat(["a", "b"], 15)
    cfg = {"hidden": [16], "latent_dim": 3, "epochs": 15, "batch_size": 16, "patience": 5, "whiten": "loo"}
    m = VaelabCVAE(**cfg).fit(X, y, seed=0)
    assert {"lev_lam", "lev_floor"} <= set(m.extra_)
    assert 0 < float(m.extra_["lev_floor"][0]) < 1
    S, _ = m.sample({"a": 5, "b": 5}, seed=1)
    assert np.isfinite(S).all()
    m.save(tmp_path / "m")
    S2, _ = load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=1)
    np.testing.assert_array_equal(S, S2)
    # the default whitening stores nothing new (weights unchanged)
    assert "lev_lam" not in VaelabCVAE(**{**cfg, "whiten": "level"}).fit(X, y, seed=0).extra_
