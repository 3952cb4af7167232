"""Conditional texture residual of completions and the diversity / calibration metrics (issue 12).

Known answers: the Gaussian conditional of a known covariance (precision-matrix form, computed independently),
a hand-wired decoder whose mean (0.5) and variance do not depend on the code, so completions are draws of
the analytic conditional; hand-computed pairwise distances and interval coverage.
"""

import numpy as np
import torch

from test_image_restoration import constant_model
from vaelab.modalities.image.masks import make_mask
from vaelab.modalities.image.quality import interval_coverage, pairwise_distance
from vaelab.modalities.image.restoration import ImagePosterior
from vaelab.modalities.image.texture import ConditionalTexture


def ar_cov(size: int, rho: float = 0.8) -> np.ndarray:
    """Separable AR(1) covariance of a size x size image (unit variance)."""
    i = np.arange(size)
    c1 = rho ** np.abs(i[:, None] - i[None, :])
    return np.kron(c1, c1)


def rows_of(cov: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(cov).T  # rows^T rows = cov


def test_conditional_matches_the_precision_form():
    cov = ar_cov(4)
    mean = np.linspace(-0.2, 0.2, 16)
    miss = make_mask("center:0.25", 1, (4, 4))[0].ravel()
    tex = ConditionalTexture(torch.as_tensor(mean), torch.as_tensor(rows_of(cov)), ridge=1e-9)
    P = np.linalg.inv(cov)
    r_obs = np.random.default_rng(0).standard_normal((3, int((~miss).sum())))
    # conditional mean  mu_m - P_mm^-1 P_mo (r_o - mu_o), covariance P_mm^-1
    want = mean[miss] - (r_obs - mean[~miss]) @ np.linalg.solve(P[np.ix_(miss, miss)], P[np.ix_(miss, ~miss)]).T
    np.testing.assert_allclose(tex.mean_missing(miss, r_obs), want, atol=1e-6)
    _, C = tex.conditional(miss)
    np.testing.assert_allclose(C, np.linalg.inv(P[np.ix_(miss, miss)]), atol=1e-6)
    # Matheron draws: sample mean and covariance of 40000 draws
    rng = np.random.default_rng(1)
    d = tex.draw(miss, np.repeat(r_obs[:1], 40000, 0), rng)
    np.testing.assert_allclose(d.mean(0), want[0], atol=0.02)
    np.testing.assert_allclose(np.cov(d.T), C, atol=0.02)


def test_student_t_spread_scales_with_the_observed_misfit():
    cov = ar_cov(4)
    miss = make_mask("center:0.25", 1, (4, 4))[0].ravel()
    tex = ConditionalTexture(torch.zeros(16), torch.as_tensor(rows_of(cov)), ridge=1e-9, nu=0.0)
    r = np.random.default_rng(0).multivariate_normal(np.zeros(16), cov, 1)[:, ~miss]
    d = float(r[0] @ np.linalg.solve(cov[np.ix_(~miss, ~miss)], r[0]))
    np.testing.assert_allclose(tex.spread(miss, r), np.sqrt(d / 12), rtol=1e-6)
    np.testing.assert_allclose(tex.spread(miss, 3 * r), 3 * np.sqrt(d / 12), rtol=1e-6)


def fixed_decoder_model(size: int = 4):
    """Decoder mean 0.5 and log-variance -4.5 everywhere whatever the code; texture Gaussian AR(1)."""
    g = constant_model(size)
    with torch.no_grad():
        g.module.dec_out.weight.zero_()
        g.module.dec_out.bias[0] = 0.0
        g.module.dec_out.bias[1] = 0.0  # log-variance = min_logvar * (1 - sigmoid(0)) = -4.5
    g.extra_["tex_rows"] = torch.as_tensor(rows_of(ar_cov(size)))[None].float()
    g.extra_["tex_mean"] = torch.zeros(1, size * size)
    return g


def test_completions_follow_the_analytic_conditional():
    g = fixed_decoder_model(8)
    with torch.no_grad():
        lv = float(g.module.decode(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))[1][0, 0, 0, 0])
    s = np.exp(0.5 * lv)
    cov = ar_cov(8)
    rng = np.random.default_rng(3)
    X = 0.5 + s * rng.multivariate_normal(np.zeros(64), cov, 1).reshape(1, 8, 8)
    mask = make_mask("center:0.25", 1, (8, 8))
    post = ImagePosterior(g, steps=20)
    done, samples = post.inpaint(X, np.zeros(1, int), mask, samples=400, seed=0, unit=True)
    miss = mask[0].ravel()
    r_o = (X[0].ravel()[~miss] - 0.5) / s
    P = np.linalg.inv(cov)
    cmean = 0.5 + s * (-r_o @ np.linalg.solve(P[np.ix_(miss, miss)], P[np.ix_(miss, ~miss)]).T)
    csd = s * np.sqrt(np.diag(np.linalg.inv(P[np.ix_(miss, miss)])))
    box = samples[0][:, mask[0]]
    np.testing.assert_allclose(box.mean(0), cmean, atol=4 * csd.max() / np.sqrt(400) + 2e-3)
    np.testing.assert_allclose(box.std(0), csd, rtol=0.2)
    np.testing.assert_allclose(done[0][mask[0]], 0.5, atol=1e-6)  # the MAP completion is the decoder mean
    # without the texture the draws are the decoder mean: no spread
    _, flat = post.inpaint(X, np.zeros(1, int), mask, samples=3, seed=0, unit=True, texture=False)
    assert np.ptp(flat[0][:, mask[0]], axis=0).max() < 1e-6


def test_pairwise_distance_and_coverage_known_values():
    mask = np.zeros((1, 2, 2), bool)
    mask[0, 0] = True  # two missing pixels
    s = np.zeros((1, 3, 2, 2))
    s[0, 1, 0] = 1.0
    s[0, 2, 0] = [1.0, 0.0]
    # pairs: (0,1) rms 1, (0,2) rms sqrt(1/2), (1,2) rms sqrt(1/2)
    np.testing.assert_allclose(pairwise_distance(s, mask), [(1 + 2 * np.sqrt(0.5)) / 3])
    truth = np.array([[[0.5, 2.0], [9.0, 9.0]]])  # pixel 0 inside [0, 1], pixel 1 outside; unmasked ignored
    np.testing.assert_allclose(interval_coverage(s, truth, mask), [0.5])
