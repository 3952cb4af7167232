"""``texture_draw = "blend"``: the local Gaussian of ``"local"`` (the mean and sample covariance of the near codes'
residuals) plus ``A``, the positive part of the class covariance minus what the local draws give over the rows
(the local means' covariance and the average local covariance): by the law of total variance the residual's marginal
covariance is the class-wide Gaussian's, while its conditional mean follows the code."""

from __future__ import annotations

import numpy as np
import torch

from saved_runs import reloaded_as_saved_before
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _local_draw, _total_variance_blend

# four residuals in 2-D; rows 0, 1 take the neighbours {0, 1}, rows 2, 3 the neighbours {2, 3}
_RES = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
_NEAR = torch.tensor([[0, 1], [0, 1], [2, 3], [2, 3]])
# the class covariance (denominator n - 1 = 3): mean (1, 1), deviations (+-1, +-1)
_SIGMA = torch.tensor([[4 / 3, 0.0], [0.0, 4 / 3]])


def _draws(res, near, blend, reps, seed=0):
    rows = torch.arange(len(near)).repeat_interleave(reps)
    return rows, _local_draw(res, near[rows], torch.Generator().manual_seed(seed), blend).double()


def test_blend_factor_by_hand():
    # local means (1, 0), (1, 0), (1, 2), (1, 2): Cov(rbar) = diag(0, 1) (denominator n); each local covariance
    # (denominator k - 1 = 1) diag(2, 0), so W = diag(2, 0); Sigma - Cov(rbar) - W = diag(-2/3, 1/3) -> A = diag(0, 1/3)
    L = _total_variance_blend(_RES, _NEAR, _SIGMA)
    np.testing.assert_allclose(L @ L.T, [[0.0, 0.0], [0.0, 1 / 3]], atol=1e-6)  # sigma in float32


def test_blend_draw_has_the_local_mean_and_the_local_plus_missing_covariance():
    L = _total_variance_blend(_RES, _NEAR, _SIGMA)
    rows, e = _draws(_RES, _NEAR, L, 20000)
    for i, mean in ((0, [1.0, 0.0]), (2, [1.0, 2.0])):
        ei = e[rows == i]
        np.testing.assert_allclose(ei.mean(0), mean, atol=0.03)  # standard error <= 0.01
        np.testing.assert_allclose(torch.cov(ei.T), [[2.0, 0.0], [0.0, 1 / 3]], atol=0.06)
    # over the rows: Cov(rbar) + W + A = diag(2, 4/3): Sigma's 4/3 where Sigma - Cov(rbar) - W was positive, the
    # local estimates' larger 2 where it was not
    np.testing.assert_allclose(torch.cov(e.T), [[2.0, 0.0], [0.0, 4 / 3]], atol=0.06)
    # without the blend ("local") the second coordinate's marginal variance is Cov(rbar)'s 1 only
    _, loc = _draws(_RES, _NEAR, None, 20000)
    assert abs(torch.cov(loc.T)[1, 1].item() - 1.0) < 0.04


def test_blend_keeps_the_class_variance_that_the_neighbourhoods_leave_out():
    # residual 2 is nobody's neighbour and rows 0, 1, 2 all take the neighbours {0, 1}, equal residuals: the local
    # draw has no variance at all; the blend's marginal covariance is the class's (law of total variance)
    res = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 3.0]])
    near = torch.tensor([[0, 1], [0, 1], [0, 1]])
    sigma = torch.cov(res.T)  # [[3, 3], [3, 3]]
    _, loc = _draws(res, near, None, 100)
    assert loc.abs().max().item() == 0.0
    L = _total_variance_blend(res, near, sigma)
    np.testing.assert_allclose(L @ L.T, sigma, atol=1e-5)
    _, e = _draws(res, near, L, 20000)
    np.testing.assert_allclose(torch.cov(e.T), sigma, rtol=0.04)
    # same generator seed, same draws
    assert torch.equal(_draws(res, near, L, 5, seed=3)[1], _draws(res, near, L, 5, seed=3)[1])


def test_vaelab_cvae_blend_fits_samples_and_round_trips(tmp_path):
    from safetensors.torch import load_file, save_file

    from vaelab.models import load_model

    X, y = _data()
    g = VaelabCVAE(**FAST, texture_draw="blend").fit(X, y, seed=0)
    assert g.extra_["tex_nnk"].tolist() == [6.0, 5.0]  # the neighbour table of "local"
    S = g.sample({"a": 5, "b": 5}, seed=1)[0]
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(g.sample({"a": 5, "b": 5}, seed=1)[0], S)  # same seed, same samples
    loc = VaelabCVAE(**FAST, texture_draw="local").fit(X, y, seed=0)
    assert not np.array_equal(loc.sample({"a": 5, "b": 5}, seed=1)[0], S)
    g.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.config.texture_draw == "blend"
    np.testing.assert_array_equal(back.sample({"a": 5, "b": 5}, seed=1)[0], S)
    w = tmp_path / "m" / "weights.safetensors"
    tensors = load_file(str(w))
    del tensors["extra.tex_nn"]
    save_file(tensors, str(w), metadata={"format": "vaelab", "model": "vaelab-cvae"})
    try:
        load_model(tmp_path / "m")
    except InputError as e:
        assert "tex_nn" in str(e) and "blend" in str(e)
    else:
        raise AssertionError("weights without the neighbour table were accepted")


def test_old_runs_load_as_before(tmp_path):
    X, y = _data()
    g = VaelabCVAE(**FAST).fit(X, y, seed=0)
    back = reloaded_as_saved_before(g, tmp_path / "old", ("texture_draw",), {"a": 4, "b": 4}, seed=2)
    assert back.config.texture_draw == "gaussian"
