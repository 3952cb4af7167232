"""Latent samplers (vaelab.samplers): fit / sample / calibrate / state round trips, on known cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before
from vaelab.core.errors import InputError
from vaelab.samplers import (
    AggregatePosterior,
    CalibratedKDE,
    LatentGMM,
    LatentSampler,
    StandardNormal,
    load_sampler,
    make_sampler,
    save_sampler,
)


def _codes(n=200, L=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = (torch.arange(n) % 2).long()
    mu = torch.randn(n, L, generator=g) * 0.5 + torch.where(c[:, None] == 0, -3.0, 3.0)
    logvar = torch.full((n, L), -4.0)
    level = torch.randn(n, 1, generator=g)
    return mu, logvar, c, level


@pytest.mark.parametrize("kind", ["standard", "aggregate", "kde", "gmm"])
def test_protocol_shapes_determinism_and_save_load(kind, tmp_path):
    mu, logvar, c, level = _codes()
    s = make_sampler(kind).fit(mu, logvar, c, 2, attached=level, seed=0)
    assert isinstance(s, LatentSampler)
    cc = torch.tensor([1, 0, 1, 1, 0])
    z, att = s.sample(cc, torch.Generator().manual_seed(5))
    assert z.shape == (5, 3) and att.shape == (5, 1)
    z2, att2 = s.sample(cc, torch.Generator().manual_seed(5))
    assert torch.equal(z, z2) and torch.equal(att, att2)
    save_sampler(s, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    z3, att3 = back.sample(cc, torch.Generator().manual_seed(5))
    assert type(back) is type(s) and torch.equal(z, z3) and torch.equal(att, att3)


def test_standard_normal_moments():
    mu, logvar, c, _ = _codes()
    z, att = StandardNormal().fit(mu, logvar, c, 2).sample(torch.zeros(20000, dtype=torch.long),
                                                           torch.Generator().manual_seed(0))
    assert att is None
    np.testing.assert_allclose(z.mean(0).numpy(), 0, atol=0.03)
    np.testing.assert_allclose(z.std(0).numpy(), 1, atol=0.03)


def test_aggregate_posterior_draws_near_the_class_codes_and_keeps_attached_values():
    mu, logvar, c, level = _codes()
    s = AggregatePosterior().fit(mu, logvar, c, 2, attached=level)
    z, att = s.sample(torch.ones(5000, dtype=torch.long), torch.Generator().manual_seed(0))
    # class 1 codes are centred at +3 with sd 0.5; posterior sd exp(-2) adds variance 0.018
    np.testing.assert_allclose(z.mean(0).numpy(), mu[c == 1].mean(0).numpy(), atol=0.05)
    assert set(att.flatten().tolist()) <= set(level[c == 1].flatten().tolist())  # a real sample's level


def test_kde_calibration_widens_the_kernel_until_samples_are_as_novel_as_real_ones():
    """Decoding z -> z (identity) with near-zero posterior variance: h = 0 returns near copies of the
    training codes (nearest-neighbour distance ~ 0), so the calibrated width must be > 0; a larger
    posterior noise already makes samples novel, so h stays 0."""
    mu, _, c, _ = _codes(n=60)
    tight = torch.full_like(mu, -20.0)
    s = CalibratedKDE().fit(mu, tight, c, 2, seed=0)

    def generate(cc, gen):
        return s.sample(cc, gen)[0]

    s.calibrate(generate, mu, c, seed=0)
    assert (s.state["kde_h"] > 0).all()
    loose = CalibratedKDE().fit(mu, torch.full_like(mu, 1.0), c, 2, seed=0)
    loose.calibrate(lambda cc, gen: loose.sample(cc, gen)[0], mu, c, seed=0)
    assert (loose.state["kde_h"] == 0).all()


def test_kde_novelty_rule_helpers_give_calibrates_widths():
    """``novelty_targets`` / ``sample_novelty`` / ``smallest_reaching`` are the rule ``calibrate`` applies: the target
    is a left-out code's median nearest distance (recomputed here by brute force); the calibrated width is the first
    of ``WIDTHS`` whose samples reach it (its predecessor's do not)."""
    from vaelab.samplers.kde import WIDTHS, novelty_targets, sample_novelty, smallest_reaching

    mu, _, c, _ = _codes(n=60)
    s = CalibratedKDE().fit(mu, torch.full_like(mu, -20.0), c, 2, seed=0)
    s.calibrate(lambda cc, gen: s.sample(cc, gen)[0], mu, c, seed=0)
    h = s.state["kde_h"].clone()
    assert smallest_reaching([0.0, 1.0, 2.0, 3.0], lambda v: v, 1.5) == 2.0
    assert smallest_reaching([0.0, 1.0], lambda v: v, 5.0) == 1.0  # none reaches: the last value
    seen = []
    for k, ck, target, ref in novelty_targets(mu, c, seed=0):
        seen.append(k)
        assert ck.tolist() == [k] * int((c == k).sum()) and ref.shape == mu.shape
        own = torch.nonzero(c == k).flatten()
        d = (mu[own, None, :].double() - mu[None].double()).norm(dim=2)
        d[torch.arange(len(own)), own] = float("inf")  # each code left out
        assert target == pytest.approx(float(d.min(dim=1).values.median()), rel=1e-5)  # the lower middle value
        i = WIDTHS.index(float(h[k]))
        assert i > 0 and sample_novelty(lambda cc, gen: s.sample(cc, gen)[0], ck, ref, seed=0) >= target
        s.state["kde_h"][k] = WIDTHS[i - 1]
        assert sample_novelty(lambda cc, gen: s.sample(cc, gen)[0], ck, ref, seed=0) < target
        s.state["kde_h"][k] = h[k]
    assert seen == [0, 1]


def test_kde_centred_on_posterior_means():
    """``centre = "mean"``: with h = 0 every code is exactly a training posterior mean of its class (the
    posterior variance is not drawn), so calibration must widen the kernel even where the posterior is
    wide (where the default ``"draw"`` keeps h = 0, test above)."""
    mu, _, c, level = _codes(n=60)
    wide = torch.full_like(mu, 1.0)
    s = CalibratedKDE(centre="mean").fit(mu, wide, c, 2, attached=level, seed=0)
    z, att = s.sample(torch.ones(50, dtype=torch.long), torch.Generator().manual_seed(0))
    assert (z[:, None, :] == mu[c == 1][None]).all(dim=2).any(dim=1).all()
    s.calibrate(lambda cc, gen: s.sample(cc, gen)[0], mu, c, seed=0)
    assert (s.state["kde_h"] > 0).all()
    assert make_sampler("kde", centre="mean").params()["centre"] == "mean"
    with pytest.raises(InputError, match="centre"):
        CalibratedKDE(centre="mode")


def test_kde_shrink_keeps_the_aggregate_posterior_variance():
    """Smoothed bootstrap (Silverman 1986, section 6.4.1): kernel noise of sd h*s adds h^2 s^2 to each
    variance; the shrunk version, centre + (a - centre + h s e) / sqrt(1 + h^2 s^2 / v), keeps the mean
    and the variance v of the aggregate posterior, whatever h."""
    mu, logvar, c, _ = _codes(n=400)
    cc = torch.ones(40000, dtype=torch.long)
    ref = mu[c == 1]
    v = ref.var(0, unbiased=False) + logvar[c == 1].exp().mean(0)
    for shrink, expected in ((True, v), (False, v + (1.5 * ref.std(0)) ** 2)):
        s = CalibratedKDE(shrink=shrink).fit(mu, logvar, c, 2)
        s.state["kde_h"][:] = 1.5
        z = s.sample(cc, torch.Generator().manual_seed(0))[0]
        np.testing.assert_allclose(z.mean(0).numpy(), ref.mean(0).numpy(), atol=0.03)
        np.testing.assert_allclose(z.var(0).numpy(), expected.numpy(), rtol=0.05)


def test_gmm_models_attached_values_jointly():
    mu, logvar, c, level = _codes(n=400)
    s = LatentGMM(components=2, draws=2).fit(mu, logvar, c, 2, attached=level, seed=0)
    assert s.state["gmm_mean"].shape == (2, 2, 4) and s.attached_dim == 1
    z, att = s.sample(torch.zeros(4000, dtype=torch.long), torch.Generator().manual_seed(1))
    np.testing.assert_allclose(z.mean(0).numpy(), mu[c == 0].mean(0).numpy(), atol=0.1)
    assert abs(float(att.std()) - float(level[c == 0].std())) < 0.15


def test_errors():
    with pytest.raises(InputError, match="unknown latent sampler"):
        make_sampler("flow")
    with pytest.raises(InputError, match="lack"):
        make_sampler("kde").load_state_dict({"train_mu": torch.zeros(2, 2)})
    with pytest.raises(InputError, match="kernel"):
        CalibratedKDE(kernel="box")


def test_kde_covariance_kernel_keeps_the_class_covariance_when_shrunk():
    """Kernel noise N(0, h^2 C), C the covariance of the class's posterior means: unshrunk, the codes'
    covariance is C + D + h^2 C (D: the mean posterior variance, here 1e-6, negligible) = (1 + h^2) C;
    shrunk towards the class mean by 1 / sqrt(1 + h^2) it is C again, correlations included."""
    g = torch.Generator().manual_seed(0)
    A = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [-0.5, 0.2, 0.4]])
    mu = torch.randn(300, 3, generator=g) @ A.T  # strongly correlated dimensions
    logvar = torch.full_like(mu, -13.8)
    c = torch.zeros(300, dtype=torch.long)
    C = torch.cov(mu.T)
    cc = torch.zeros(60000, dtype=torch.long)
    for shrink, expected in ((False, C * (1 + 1.5**2)), (True, C)):
        s = CalibratedKDE(kernel="covariance", shrink=shrink).fit(mu, logvar, c, 1)
        torch.testing.assert_close(s.state["kde_root"][0] @ s.state["kde_root"][0].T, C, rtol=1e-4, atol=1e-5)
        s.state["kde_h"][:] = 1.5
        z = s.sample(cc, torch.Generator().manual_seed(1))[0]
        np.testing.assert_allclose(torch.cov(z.T).numpy(), expected.numpy(), atol=0.04 * float(expected.abs().max()))
        np.testing.assert_allclose(z.mean(0).numpy(), mu.mean(0).numpy(), atol=0.03)
    # the per-dimension kernel, shrunk, keeps the variances but not the correlations (the cause it fixes)
    s = CalibratedKDE(shrink=True).fit(mu, logvar, c, 1)
    s.state["kde_h"][:] = 1.5
    z = s.sample(cc, torch.Generator().manual_seed(1))[0]
    lam2 = 1 / (1 + 1.5**2)
    np.testing.assert_allclose(float(torch.cov(z.T)[0, 1]), lam2 * float(C[0, 1]), rtol=0.05)
    with pytest.raises(InputError, match="covariance kernel needs"):
        CalibratedKDE(kernel="covariance").load_state_dict({k: v for k, v in s.state.items()})


def test_vaelab_cvae_covariance_kernel_fits_and_round_trips(tmp_path):
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    rng = np.random.default_rng(4)
    X = np.sin(np.linspace(0, 3, 40)) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    y = np.repeat(["a", "b"], 15)
    m = VaelabCVAE(hidden=[16], latent_dim=3, epochs=15, batch_size=16, patience=5, kde_kernel="covariance",
                   kde_shrink=True).fit(X, y, seed=0)
    assert m.extra_["kde_root"].shape == (2, 3, 3)
    S, _ = m.sample({"a": 5, "b": 5}, seed=1)
    m.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=1)[0], S)
    with pytest.raises(InputError, match="kde_kernel"):
        VaelabCVAE(kde_kernel="box")


def test_kde_auto_kernel_is_the_covariance_kernel_only_where_the_class_covariance_is_full_rank():
    """``kernel = "auto"``: a class with more codes than latent dimensions (40 > 3) samples exactly as the shrunk
    covariance kernel, a class with fewer (3 <= 3) exactly as the per-dimension kernel (same random numbers)."""
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(43, 3, generator=g) @ torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [-0.5, 0.2, 0.4]]).T
    logvar = torch.full_like(mu, -6.0)
    c = torch.tensor([0] * 40 + [1] * 3)
    auto = CalibratedKDE(kernel="auto").fit(mu, logvar, c, 2)
    assert auto.state["kde_cov"].tolist() == [1.0, 0.0]
    for other, k in ((CalibratedKDE(kernel="covariance", shrink=True), 0), (CalibratedKDE(), 1)):
        other.fit(mu, logvar, c, 2)
        for s in (auto, other):
            s.state["kde_h"][:] = 0.7
        cc = torch.full((50,), k, dtype=torch.long)
        torch.testing.assert_close(auto.sample(cc, torch.Generator().manual_seed(3))[0],
                                   other.sample(cc, torch.Generator().manual_seed(3))[0], rtol=0, atol=0)
    with pytest.raises(InputError, match="auto kernel needs"):
        CalibratedKDE(kernel="auto").load_state_dict({k: v for k, v in auto.state.items() if k != "kde_cov"})


def test_vaelab_cvae_default_kernel_is_auto_and_old_runs_keep_the_per_dimension_kernel(tmp_path):
    from vaelab.models.vaelab_cvae import VaelabCVAE

    rng = np.random.default_rng(5)
    X = np.sin(np.linspace(0, 3, 40)) * (1 + 0.2 * rng.standard_normal((50, 1))) + 0.05 * rng.standard_normal((50, 40))
    y = np.array(["a"] * 40 + ["b"] * 10)
    fast = {"hidden": [16], "latent_dim": 3, "epochs": 10, "batch_size": 16, "patience": 5}
    new = VaelabCVAE(**fast).fit(X, y, seed=0)
    assert new.config.kde_kernel == "auto" and new.extra_["kde_cov"].tolist() == [1.0, 1.0]  # 40 and 10 codes > 3
    old = VaelabCVAE(**fast, kde_kernel="gaussian").fit(X, y, seed=0)  # what runs saved before the option hold
    # nor kde_centre (tests/test_kde_centre_auto.py) nor kde_floor (tests/test_kde_floor.py)
    back = reloaded_as_saved_before(old, tmp_path / "old", ("kde_kernel", "kde_centre", "kde_floor"), {"a": 4, "b": 4},
                                    seed=1)
    assert back.config.kde_kernel == "gaussian" and back.config.kde_centre == "draw" and back.config.kde_floor == "none"


def test_median_nearest_known_value():
    """Nearest distances 0 (an exact copy), 5 (a 3-4-5 triangle) and sqrt(80) = 8.94 (the nearer of 10 and
    sqrt(4^2 + 8^2)): the median is 5; without the copy in ``ref`` they are 10, 5, 8.94 and the median 8.94."""
    from vaelab.samplers.kde import median_nearest

    a = torch.tensor([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    assert median_nearest(a, torch.tensor([[0.0, 0.0], [6.0, 8.0]])) == pytest.approx(5.0)
    assert median_nearest(a, torch.tensor([[6.0, 8.0]])) == pytest.approx(8.94427, rel=1e-5)
