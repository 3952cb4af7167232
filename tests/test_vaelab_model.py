"""vaelab-cvae: vaelab's own conditional VAE (heteroscedastic decoder, latent mixture, renormalisation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models import DEFAULT_MODEL, DEFAULT_PREPROCESS, get_model, load_model
from vaelab.models.vaelab_cvae import (
    CVAENet,
    VaelabCVAE,
    _detect_renorm,
    _fit_space,
    _ppca_init,
    _renormalise,
)

FAST = {"hidden": [32], "latent_dim": 4, "epochs": 30, "batch_size": 32, "patience": 10, "lr": 3e-3,
        "gmm_components": 2}


def _data(n_per_class: int = 40, d: int = 24, noise: float = 0.1, seed: int = 0):
    """Two classes: smooth class curves, a random amplitude per sample, iid noise of sd ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, d)
    curves = [np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)]
    X, y = [], []
    for k, curve in enumerate(curves):
        amp = 1 + 0.3 * rng.standard_normal((n_per_class, 1))
        X.append(amp * curve + noise * rng.standard_normal((n_per_class, d)))
        y += [f"class{k}"] * n_per_class
    return np.vstack(X), np.asarray(y, dtype=object)


def _minmax(X):
    lo, hi = X.min(axis=1, keepdims=True), X.max(axis=1, keepdims=True)
    return (X - lo) / (hi - lo)


def test_registered_as_default_model():
    assert DEFAULT_MODEL == "vaelab-cvae"
    assert DEFAULT_PREPROCESS["vaelab-cvae"] == "minmax"
    assert isinstance(get_model("vaelab-cvae"), VaelabCVAE)


def test_fit_sample_shapes_labels_and_determinism():
    X, y = _data()
    m = VaelabCVAE(**FAST).fit(X, y, seed=0)
    S, ys = m.sample({"class0": 5, "class1": 7}, seed=3)
    assert S.shape == (12, X.shape[1])
    assert list(ys) == ["class0"] * 5 + ["class1"] * 7
    S2, _ = m.sample({"class0": 5, "class1": 7}, seed=3)
    np.testing.assert_array_equal(S, S2)
    S3, _ = m.sample({"class0": 5, "class1": 7}, seed=4)
    assert not np.allclose(S, S3)
    again = VaelabCVAE(**FAST).fit(X, y, seed=0)
    np.testing.assert_array_equal(again.sample({"class0": 5, "class1": 7}, seed=3)[0], S)


def test_save_load_round_trip(tmp_path):
    X, y = _data()
    m = VaelabCVAE(**FAST).fit(X, y, seed=1)
    m.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert isinstance(back, VaelabCVAE)
    np.testing.assert_array_equal(back.sample({"class1": 9}, seed=2)[0], m.sample({"class1": 9}, seed=2)[0])


@pytest.mark.parametrize("prior", ["gmm", "aggregate"])
def test_latent_densities_give_class_conditional_samples(prior):
    X, y = _data(noise=0.05)
    m = VaelabCVAE(**{**FAST, "epochs": 60, "patience": 20}, prior=prior).fit(X, y, seed=0)
    S, ys = m.sample({"class0": 200, "class1": 200}, seed=0)
    for k in ("class0", "class1"):
        real_mean = X[y == k].mean(axis=0)
        other = X[y != k].mean(axis=0)
        syn_mean = S[ys == k].mean(axis=0)
        # each class's synthetic mean lies much nearer its own real class mean than the other's
        assert np.linalg.norm(syn_mean - real_mean) < 0.35 * np.linalg.norm(other - real_mean)


def test_standard_prior_draws_unit_gaussian_latents():
    X, y = _data()
    m = VaelabCVAE(**FAST, prior="standard").fit(X, y, seed=0)
    assert "gmm_weight" not in m.extra_
    z, _ = m._latent_sampler().sample(torch.zeros(4000, dtype=torch.long), torch.Generator().manual_seed(0))
    np.testing.assert_allclose(z.mean(dim=0).numpy(), 0.0, atol=0.06)
    np.testing.assert_allclose(z.std(dim=0).numpy(), 1.0, atol=0.05)


def test_noise_is_sampled_from_the_likelihood():
    # pure noise around two class curves: the decoder must learn the noise sd (0.2) and sample it
    rng = np.random.default_rng(5)
    d, n = 16, 150
    t = np.linspace(0, 1, d)
    X = np.vstack([np.sin(2 * np.pi * t) + 0.2 * rng.standard_normal((n, d)),
                   np.cos(2 * np.pi * t) + 0.2 * rng.standard_normal((n, d))])
    y = np.repeat(["a", "b"], n)
    cfg = {**FAST, "epochs": 80, "patience": 20, "prior": "aggregate"}  # no kernel noise in the latents
    for noise in ("texture", "decoder"):
        m = VaelabCVAE(**cfg, noise=noise).fit(X, y, seed=0)
        S, ys = m.sample({"a": 400, "b": 400}, seed=1)
        for k in ("a", "b"):
            sd = S[ys == k].std(axis=0).mean()
            assert 0.15 < sd < 0.25, (noise, sd)
    m.config.noise = "none"  # decoder mean only, as the seed CVAE: the texture is gone
    S0, ys0 = m.sample({"a": 400, "b": 400}, seed=1)
    assert S0[ys0 == "a"].std(axis=0).mean() < 0.1


def _lag1(R):
    return float(np.mean(R[:, 1:] * R[:, :-1]) / np.mean(R * R))


def test_texture_noise_keeps_the_correlation_of_real_noise():
    # noise with lag-1 correlation 0.8 between neighbouring features (a smooth "texture")
    rng = np.random.default_rng(2)
    d, n, rho = 24, 200, 0.8
    t = np.linspace(0, 1, d)
    e = np.empty((2 * n, d))
    e[:, 0] = rng.standard_normal(2 * n)
    for j in range(1, d):
        e[:, j] = rho * e[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(2 * n)
    y = np.repeat(["a", "b"], n)
    X = np.where((y == "a")[:, None], np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)) + 0.2 * e
    assert _lag1(X[y == "a"] - X[y == "a"].mean(axis=0)) == pytest.approx(rho, abs=0.05)
    # all features in the VAE (components=0) and a 1-d latent that cannot hold the noise: the
    # decoder's independent noise loses the correlation, the texture keeps it
    cfg = {**FAST, "epochs": 60, "patience": 20, "latent_dim": 1, "components": 0}
    lags = {}
    for noise in ("texture", "decoder"):
        m = VaelabCVAE(**cfg, noise=noise).fit(X, y, seed=0)
        S, ys = m.sample({"a": 400}, seed=1)
        lags[noise] = _lag1(S - S.mean(axis=0))
    assert lags["texture"] == pytest.approx(rho, abs=0.1), lags
    assert lags["decoder"] < 0.4, lags  # independent noise: most of the correlation is lost


def test_minmax_data_give_minmax_samples_and_any_scale_works():
    X, y = _data()
    M = _minmax(X)
    m = VaelabCVAE(**FAST).fit(M, y, seed=0)
    assert int(m.extra_["renorm"][0]) == 1
    S, _ = m.sample({"class0": 20}, seed=0)
    np.testing.assert_allclose(S.min(axis=1), 0.0, atol=1e-7)
    np.testing.assert_allclose(S.max(axis=1), 1.0, atol=1e-6)
    # raw counts far from [0, 1]: no renormalisation, output on the data's scale
    raw = 5000 + 1000 * X
    m2 = VaelabCVAE(**FAST).fit(raw, y, seed=0)
    assert int(m2.extra_["renorm"][0]) == 0
    S2, ys2 = m2.sample({"class0": 200, "class1": 200}, seed=0)
    assert abs(S2.mean() - raw.mean()) < 0.1 * raw.std()
    assert 0.6 < S2.std(axis=0).mean() / raw.std(axis=0).mean() < 1.6


def test_detect_and_apply_renormalisation():
    rng = np.random.default_rng(0)
    X = rng.random((5, 7)) + 0.5
    assert _detect_renorm(_minmax(X)) == "minmax"
    assert _detect_renorm(X / np.linalg.norm(X, axis=1, keepdims=True)) == "l2"
    assert _detect_renorm(X / np.abs(X).sum(axis=1, keepdims=True)) == "l1"
    assert _detect_renorm(X) == "none"
    t = torch.tensor([[3.0, 4.0, 0.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(_renormalise(t, "l2")[0].numpy(), [0.6, 0.8, 0.0])
    np.testing.assert_allclose(_renormalise(t, "l1")[0].numpy(), [3 / 7, 4 / 7, 0.0])
    np.testing.assert_allclose(_renormalise(t, "minmax").numpy(), [[0.75, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_validation_loss_is_the_plain_elbo_and_early_stopping_keeps_the_best():
    X, y = _data()
    m = VaelabCVAE(**{**FAST, "epochs": 200, "patience": 3, "kl_warmup": 5, "free_bits": 0.5}).fit(X, y, seed=0)
    h = m.history_
    assert len(h) < 200  # stopped early
    best = [r for r in h if r["best"] == 1.0]
    assert len(best) == 1
    assert best[0]["val_loss"] == min(r["val_loss"] for r in h)
    for r in h:  # validation loss = -ELBO (no warm-up factor, no free bits)
        assert r["val_loss"] == pytest.approx(r["val_nll"] + r["val_kl"], rel=1e-5)
        assert r["val_elbo"] == pytest.approx(-r["val_loss"], rel=1e-5)


def test_latent_mixture_state():
    X, y = _data()
    m = VaelabCVAE(**{**FAST, "gmm_components": 3}, prior="gmm").fit(X, y, seed=0)
    w = m.extra_["gmm_weight"]
    assert w.shape == (2, 3)
    np.testing.assert_allclose(w.sum(dim=1).numpy(), 1.0, atol=1e-5)
    # latent_dim 4 + the noise level (24 features -> 6 principal axes + level)
    assert m.module.k == 6
    assert m.extra_["gmm_mean"].shape == (2, 3, 5)
    assert m.extra_["gmm_chol"].shape == (2, 3, 5, 5)


def test_image_like_trailing_shape():
    X, y = _data(d=20)
    Xi = X.reshape(len(X), 4, 5)
    m = VaelabCVAE(**FAST).fit(Xi, y, seed=0)
    S, _ = m.sample({"class1": 3}, seed=0)
    assert S.shape == (3, 4, 5)


@pytest.mark.parametrize("bad", [
    {"latent_dim": 0}, {"hidden": []}, {"hidden": [0]}, {"prior": "flow"}, {"likelihood": "laplace"},
    {"renormalise": "max"}, {"noise": "pink"}, {"beta": -1.0}, {"val_fraction": 1.0}, {"logvar_rank": -1},
    {"nonsense": 1},
])
def test_bad_config_is_an_input_error(bad):
    with pytest.raises(InputError):
        VaelabCVAE(**bad)


def test_unknown_class_in_counts_is_an_input_error():
    X, y = _data()
    m = VaelabCVAE(**FAST).fit(X, y, seed=0)
    with pytest.raises(InputError, match="unknown class"):
        m.sample({"class7": 2})


def _net_for(flat: np.ndarray, k: int, latent: int = 2) -> tuple[CVAENet, dict]:
    space = _fit_space(flat, k)
    net = CVAENet(flat.shape[1], k, 2, latent, [8], True, -9.0, 0)
    with torch.no_grad():
        for key in ("x_mean", "x_scale", "basis", "u_mean", "u_scale"):
            getattr(net, key).copy_(torch.as_tensor(space[key], dtype=torch.float32))
    return net, space


@pytest.mark.parametrize("k", [0, 5])
def test_split_and_merge_are_inverse(k):
    X, _ = _data(d=30)
    net, space = _net_for(X, k)
    x = torch.as_tensor(X, dtype=torch.float32)
    u, rest = net.split(x)
    assert u.shape == (len(X), k + 1 if k else 30)
    torch.testing.assert_close(net.merge(u, rest), x, rtol=1e-4, atol=1e-4)
    if k:
        B = net.basis
        torch.testing.assert_close(B.T @ B, torch.eye(k), atol=1e-5, rtol=0)  # orthonormal axes
        # the rest is orthogonal to the axes and has unit rms per free dimension
        assert float((rest @ B).abs().max()) < 1e-4
        np.testing.assert_allclose(rest.norm(dim=1).numpy() / np.sqrt(30 - k), 1.0, rtol=1e-4)
        # u is standardised: the coordinates on the axes are centred, log s has mean 0 and sd 1
        np.testing.assert_allclose(u[:, -1].mean().item(), 0.0, atol=1e-5)
        np.testing.assert_allclose(u[:, -1].std(unbiased=False).item(), 1.0, atol=1e-4)


def test_noise_level_coordinate_measures_the_noise():
    # rank-2 signal + white noise of sd 0.02 (first half) or 0.08 (second half): s is the
    # rms of the rest per free dimension, in z-scored units; the ratio of the two levels is 4
    # (up to the ~2 % of signal that leaks past the estimated axes)
    rng = np.random.default_rng(0)
    n, d = 400, 80
    t = np.linspace(0, 1, d)
    signal = rng.standard_normal((n, 2)) @ np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)])
    sd = np.where(np.arange(n) < n // 2, 0.02, 0.08)[:, None]
    X = signal + sd * rng.standard_normal((n, d))
    net, space = _net_for(X, 2)
    u, _ = net.split(torch.as_tensor(X, dtype=torch.float32))
    log_s = u[:, -1].numpy() * space["u_scale"][-1] + space["u_mean"][-1]
    ratio = np.exp(log_s[n // 2 :]).mean() / np.exp(log_s[: n // 2]).mean()
    assert ratio == pytest.approx(4.0, rel=0.05)


def test_samples_keep_the_mix_of_noise_levels():
    # half the spectra clean (sd 0.05), half noisy (sd 0.25): so must be the samples
    rng = np.random.default_rng(1)
    n, d = 300, 60
    t = np.linspace(0, 1, d)
    amp = 1 + 0.3 * rng.standard_normal((n, 1))
    sd = np.where(rng.random(n) < 0.5, 0.05, 0.25)[:, None]
    X = amp * np.sin(2 * np.pi * t) + sd * rng.standard_normal((n, d))
    y = np.repeat("a", n)
    m = VaelabCVAE(**{**FAST, "epochs": 60, "patience": 20}).fit(X, y, seed=0)
    S, _ = m.sample({"a": 600}, seed=0)

    def roughness(A):  # sd of second differences / sqrt(6): the white-noise sd, the sine hardly counts
        return np.diff(A, n=2, axis=1).std(axis=1) / np.sqrt(6)

    r_real, r_syn = roughness(X), roughness(S)
    assert np.mean(r_real > 0.15) == pytest.approx(np.mean(sd > 0.15), abs=0.01)
    assert np.mean(r_syn > 0.15) == pytest.approx(np.mean(r_real > 0.15), abs=0.12)
    assert np.median(r_syn[r_syn > 0.15]) == pytest.approx(0.25, rel=0.2)
    assert np.median(r_syn[r_syn <= 0.15]) == pytest.approx(0.05, rel=0.4)


def test_ppca_initialisation_is_the_ppca_posterior_reconstruction():
    # before training, decode(encode(u)) = V diag((lam - s2) / lam) V^T u, the PPCA posterior mean
    rng = np.random.default_rng(3)
    u = rng.standard_normal((400, 6)) @ np.diag([3.0, 2.0, 1.0, 0.3, 0.3, 0.3])
    u -= u.mean(axis=0)
    net = CVAENet(6, 0, 1, 2, [8], True, -9.0, 4)
    with torch.no_grad():
        _ppca_init(net, u)
        ut = torch.as_tensor(u, dtype=torch.float32)
        c = torch.zeros(len(u), dtype=torch.long)
        mu, logvar = net.encode(ut, c)
        mean, dec_logvar = net.decode(mu, c, None)
    _, sv, vt = np.linalg.svd(u, full_matrices=False)
    lam = sv**2 / (len(u) - 1)
    V = vt[:2].T
    rest = u - u @ V @ V.T
    s2 = rest.var(axis=0).mean()
    expected = u @ V @ np.diag((lam[:2] - s2) / lam[:2]) @ V.T
    np.testing.assert_allclose(mean.numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(logvar.numpy(), np.log(s2 / lam[:2])[None, :].repeat(len(u), 0), rtol=1e-4)
    # decoder log-variance = expected squared error of a decoded posterior draw (within the bounds)
    W = V * np.sqrt(lam[:2] - s2)
    err = rest.var(axis=0) + s2 * ((W**2) / lam[:2]).sum(axis=1)
    np.testing.assert_allclose(dec_logvar[0].numpy(), np.log(err), atol=2e-2)


def _nearest(A, B, same=False):
    d = np.linalg.norm(A[:, None, :] - B[None, :, :], axis=2)
    if same:
        np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


def test_kde_prior_makes_new_samples_not_copies():
    # ten smooth, noise-free spectra per class: the posteriors are sharp, so sampling a training
    # sample's posterior returns near-copies; the calibrated kernel makes samples as far from the
    # training set as a left-out training sample is from the others
    rng = np.random.default_rng(4)
    t = np.linspace(0, 1, 40)
    X = np.vstack([a * np.sin(2 * np.pi * (t + p)) for a, p in zip(1 + 0.3 * rng.standard_normal(20),
                                                                     0.1 * rng.standard_normal(20), strict=True)])
    X[10:] += 0.5 * t
    y = np.repeat(["a", "b"], 10)
    cfg = {**FAST, "epochs": 100, "patience": 30, "val_fraction": 0.0}
    loo = np.median(_nearest(X, X, same=True))
    copies = VaelabCVAE(**cfg, prior="aggregate").fit(X, y, seed=0).sample({"a": 100, "b": 100}, seed=1)[0]
    m = VaelabCVAE(**cfg, prior="kde").fit(X, y, seed=0)
    assert float(m.extra_["kde_h"].min()) > 0
    S, _ = m.sample({"a": 100, "b": 100}, seed=1)
    assert np.median(_nearest(copies, X)) < 0.1 * loo
    assert np.median(_nearest(S, X)) > 0.6 * loo  # calibrated to ~1 x loo on other draws


def test_empirical_texture_draws_have_the_class_sample_covariance():
    from vaelab.models.gaussians import fit_class_gaussians

    rng = np.random.default_rng(7)
    # smooth, strongly correlated residuals (a moving average of white noise), two classes
    raw = rng.standard_normal((60, 45))
    w = np.stack([np.convolve(r, np.ones(6) / 6, mode="valid") for r in raw])  # (60, 40)
    w[30:] *= 2.0
    c = np.repeat([0, 1], 30)
    fit = fit_class_gaussians(torch.as_tensor(w, dtype=torch.float32), torch.as_tensor(c), 2, 4, "empirical")
    rows, mean = fit["rows"].double(), fit["mean"].double()
    for k in (0, 1):
        wk = w[c == k]
        # rows^T rows is exactly the unbiased sample covariance; the mean is the class mean
        np.testing.assert_allclose((rows[k].T @ rows[k]).numpy(), np.cov(wk, rowvar=False), atol=1e-5)
        np.testing.assert_allclose(mean[k].numpy(), wk.mean(axis=0), atol=1e-6)
    # and the draws used for sampling reproduce it (lag-1 correlation ~0.83 for a width-6 average)
    m = VaelabCVAE()
    m.extra_ = {f"tex_{key}": v for key, v in fit.items()}
    draws = m._draw("tex", torch.zeros(20000, dtype=torch.long), torch.Generator().manual_seed(0)).double().numpy()
    lag1 = np.mean([np.corrcoef(draws[:, j], draws[:, j + 1])[0, 1] for j in range(39)])
    real_lag1 = np.mean([np.corrcoef(w[:30, j], w[:30, j + 1])[0, 1] for j in range(39)])
    assert abs(lag1 - real_lag1) < 0.03 and real_lag1 > 0.6
    # a row cap keeps the total variance (random subset, rescaled)
    capped = fit_class_gaussians(torch.as_tensor(w, dtype=torch.float32), torch.as_tensor(c), 2, 4, "empirical",
                            max_cells=10 * 40)
    assert capped["rows"].shape[1] == 10
    total = float(capped["rows"][0].double().pow(2).sum())
    assert total == pytest.approx(np.cov(w[:30], rowvar=False).trace(), rel=0.5)


def test_snv_data_give_snv_samples():
    X, y = _data()
    Xs = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    assert _detect_renorm(Xs) == "snv"
    m = VaelabCVAE(**FAST).fit(Xs, y, seed=0)
    S, _ = m.sample({"class0": 10, "class1": 10}, seed=1)
    np.testing.assert_allclose(S.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(S.std(axis=1), 1.0, atol=1e-4)
