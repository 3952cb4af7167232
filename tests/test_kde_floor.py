"""``floor = "variance"`` (vaelab-cvae ``kde_floor``): the calibrated kernel width raised to ``1 / sqrt(n_k)`` in the
classes drawn with the unshrunk per-dimension kernel. A bootstrap of ``n_k`` point codes has per-dimension variance
``(n_k - 1) / n_k`` of the codes' unbiased variance ``sd_k^2``; the kernel ``N(0, h^2 sd_k^2)`` adds ``h^2 sd_k^2``, so
at ``h^2 = 1 / n_k`` the samples' variance is the unbiased variance (RESULTS.md, issue 16, session 15, fourth helper)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.samplers import CalibratedKDE, load_sampler, make_sampler, save_sampler


def _codes(L=6):
    """Class 0: 5 point codes (posterior sd e^-15) in L dimensions of different scales; class 1: 12 such codes."""
    g = torch.Generator().manual_seed(0)
    c = torch.tensor([0] * 5 + [1] * 12)
    mu = torch.randn(len(c), L, generator=g) * torch.linspace(0.5, 3.0, L) + 4.0 * c[:, None]
    return mu, torch.full((len(c), L), -30.0), c


def _calibrated(floor, kernel="gaussian", shrink=False):
    """Calibrated against references far from every sample, so the novelty target is met at h = 0 in every class."""
    mu, logvar, c = _codes()
    s = CalibratedKDE(kernel=kernel, shrink=shrink, floor=floor).fit(mu, logvar, c, 2, seed=0)
    s.calibrate(lambda cc, gen: s.sample(cc, gen)[0] + 100.0, mu, c, seed=0)
    return s, mu, c


def _variance_ratio(s, mu, c, k, m=400_000):
    z = s.sample(torch.full((m,), k, dtype=torch.long), torch.Generator().manual_seed(11))[0]
    return (z.var(dim=0) / mu[c == k].var(dim=0)).double()


def test_floor_restores_the_unbiased_variance_of_a_small_code_set():
    none, mu, c = _calibrated("none")
    var, _, _ = _calibrated("variance")
    assert none.state["kde_h"].tolist() == [0.0, 0.0]  # the target met by the bootstrap alone
    torch.testing.assert_close(var.state["kde_h"], torch.tensor([5.0, 12.0]).rsqrt())
    for k, n in ((0, 5), (1, 12)):
        # h = 0: the bootstrap's (n - 1) / n (0.8 and 0.917); at the floor: 1 (Monte-Carlo error ~0.3 % here)
        torch.testing.assert_close(_variance_ratio(none, mu, c, k), torch.full((6,), (n - 1) / n, dtype=torch.double),
                                   rtol=0, atol=0.01)
        torch.testing.assert_close(_variance_ratio(var, mu, c, k), torch.ones(6, dtype=torch.double), rtol=0, atol=0.01)


def test_floor_only_raises_and_only_the_unshrunk_per_dimension_kernel():
    s, mu, c = _calibrated("variance")
    s.state["kde_h"] = torch.tensor([0.1, 0.9])
    s.state["kde_h"].copy_(torch.maximum(s.state["kde_h"], s.variance_floor()))
    torch.testing.assert_close(s.state["kde_h"], torch.tensor([5 ** -0.5, 0.9]))  # a wider calibrated width is kept
    assert s.variance_floor().tolist() == pytest.approx([5 ** -0.5, 12 ** -0.5])
    for kernel, shrink in (("gaussian", True), ("covariance", False), ("neighbours", False), ("auto", True)):
        other, _, _ = _calibrated("variance", kernel, shrink)
        assert other.variance_floor().tolist() == [0.0, 0.0]
        plain, _, _ = _calibrated("none", kernel, shrink)
        assert torch.equal(other.state["kde_h"], plain.state["kde_h"])
    # "auto": the per-dimension kernel only in the class with at most latent_dim (6) codes
    auto, _, _ = _calibrated("variance", "auto")
    assert auto.state["kde_cov"].tolist() == [0.0, 1.0]
    assert auto.variance_floor().tolist() == pytest.approx([5 ** -0.5, 0.0])


def test_floor_leaves_unfloored_classes_byte_identical_and_round_trips(tmp_path):
    none, _, _ = _calibrated("none", "auto")
    var, _, _ = _calibrated("variance", "auto")
    cc = torch.tensor([0, 1, 1, 0, 1, 1, 0, 1] * 4)
    zn = none.sample(cc, torch.Generator().manual_seed(3))[0]
    zv = var.sample(cc, torch.Generator().manual_seed(3))[0]
    assert torch.equal(zn[cc == 1], zv[cc == 1]) and not torch.equal(zn[cc == 0], zv[cc == 0])
    assert torch.equal(zv, var.sample(cc, torch.Generator().manual_seed(3))[0])  # determinism
    assert none.params() == {"kernel": "auto", "shrink": False, "centre": "draw"}  # saved as before the option
    save_sampler(var, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    assert back.params()["floor"] == "variance" and torch.equal(back.state["kde_h"], var.state["kde_h"])
    assert torch.equal(back.sample(cc, torch.Generator().manual_seed(3))[0], zv)
    with pytest.raises(InputError, match="floor must be one of"):
        make_sampler("kde", floor="silverman")


def test_vaelab_cvae_kde_floor_default_unchanged_deterministic_and_round_trips(tmp_path):
    """(Runs saved before the option load with no floor: tests/test_samplers.py, the old-runs test.)"""
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    rng = np.random.default_rng(5)
    t = np.linspace(0, 3, 40)
    X = np.cos(t) * (1 + 0.5 * rng.standard_normal((24, 1))) + 0.002 * rng.standard_normal((24, 40))
    y = np.array(["a"] * 8 + ["b"] * 16)
    fast = {"hidden": [16], "latent_dim": 3, "epochs": 10, "batch_size": 16, "patience": 5, "kde_kernel": "gaussian"}
    d = VaelabCVAE(**fast).fit(X, y, seed=1)
    assert d.config.kde_floor == "none"
    f1 = VaelabCVAE(**fast, kde_floor="variance").fit(X, y, seed=1)
    f2 = VaelabCVAE(**fast, kde_floor="variance").fit(X, y, seed=1)
    counts = {"a": 6, "b": 6}
    S1, ys = f1.sample(counts, seed=2)
    np.testing.assert_array_equal(S1, f2.sample(counts, seed=2)[0])
    hd, hf = d.extra_["kde_h"], f1.extra_["kde_h"]
    torch.testing.assert_close(hf, torch.maximum(hd, torch.tensor([8.0, 16.0]).rsqrt()))
    Sd = d.sample(counts, seed=2)[0]
    for k, label in enumerate(f1.classes_):  # the same network and random numbers: a class differs iff its width does
        rows = np.asarray(ys) == label
        assert np.array_equal(S1[rows], Sd[rows]) == bool(hf[k] == hd[k])
    f1.save(tmp_path / "floor")
    np.testing.assert_array_equal(load_model(tmp_path / "floor").sample(counts, seed=2)[0], S1)
    with pytest.raises(InputError, match="kde_floor must be one of"):
        VaelabCVAE(**fast, kde_floor="1/n")


# ``floor = "span"`` (RESULTS.md, issue 16, session 16, second helper): the width kept, the rest of the floor's
# variance as noise N(0, g^2 S_k), g^2 = 1 / n_k - h^2, inside the span of the class's centred codes.


def _outside_span(z, m):
    """The largest coordinate of ``z`` - the codes' mean outside the span of the centred codes ``m`` (relative to their
    scale)."""
    mc = (m - m.mean(dim=0)).double()
    _, sv, vh = torch.linalg.svd(mc, full_matrices=True)
    comp = vh[int((sv > 1e-4 * sv[0]).sum()):]
    return float(((z.double() - m.mean(dim=0).double()) @ comp.T).abs().max() / mc.abs().max())


def test_span_floor_restores_the_codes_covariance_inside_their_span_and_nothing_outside():
    none, mu, c = _calibrated("none")
    span, _, _ = _calibrated("span")
    var, _, _ = _calibrated("variance")
    assert span.state["kde_h"].tolist() == [0.0, 0.0]  # the calibrated width kept
    torch.testing.assert_close(span.state["kde_g"], torch.tensor([5.0, 12.0]).rsqrt())
    for k, n in ((0, 5), (1, 12)):
        m = mu[c == k]
        S = torch.cov(m.T).double()
        z = span.sample(torch.full((400_000,), k, dtype=torch.long), torch.Generator().manual_seed(11))[0]
        # the bootstrap's (n - 1) / n S plus g^2 S = S, correlations included (Monte-Carlo error ~0.5 % of its scale)
        torch.testing.assert_close(torch.cov(z.T).double(), S, rtol=0, atol=0.01 * float(S.abs().max()))
        zn = none.sample(torch.full((400_000,), k, dtype=torch.long), torch.Generator().manual_seed(11))[0]
        torch.testing.assert_close(torch.cov(zn.T).double(), (n - 1) / n * S, rtol=0, atol=0.01 * float(S.abs().max()))
    # 5 codes in 6 dimensions span 4: the span floor adds nothing outside them, the isotropic floor does
    z0 = span.sample(torch.zeros(20_000, dtype=torch.long), torch.Generator().manual_seed(2))[0]
    zv = var.sample(torch.zeros(20_000, dtype=torch.long), torch.Generator().manual_seed(2))[0]
    assert _outside_span(z0, mu[c == 0]) < 1e-5 < 0.1 < _outside_span(zv, mu[c == 0])


def test_span_floor_only_below_the_floor_and_only_the_unshrunk_per_dimension_kernel():
    s, _, _ = _calibrated("span")
    s.state["kde_h"].copy_(torch.tensor([0.2, 0.9]))  # below the floor 5^-1/2 in class 0, above 12^-1/2 in class 1
    torch.testing.assert_close(s.span_width(), torch.tensor([(1 / 5 - 0.2 ** 2) ** 0.5, 0.0]))
    for kernel, shrink in (("gaussian", True), ("covariance", False), ("neighbours", False), ("auto", True)):
        other, _, _ = _calibrated("span", kernel, shrink)
        plain, _, _ = _calibrated("none", kernel, shrink)
        assert other.state["kde_g"].tolist() == [0.0, 0.0]
        assert torch.equal(other.state["kde_h"], plain.state["kde_h"])
        cc = torch.tensor([0, 1] * 8)
        assert torch.equal(other.sample(cc, torch.Generator().manual_seed(3))[0],
                           plain.sample(cc, torch.Generator().manual_seed(3))[0])
    auto, _, _ = _calibrated("span", "auto")  # the per-dimension kernel only in the class of 5 codes (<= 6 dimensions)
    assert auto.state["kde_g"].tolist() == pytest.approx([5 ** -0.5, 0.0])


def test_span_floor_leaves_other_classes_and_the_stream_byte_identical_and_round_trips(tmp_path):
    none, _, _ = _calibrated("none", "auto")
    span, _, _ = _calibrated("span", "auto")
    cc = torch.tensor([0, 1, 1, 0, 1, 1, 0, 1] * 4)
    gn, gs = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    zn, zs = none.sample(cc, gn)[0], span.sample(cc, gs)[0]
    assert torch.equal(zn[cc == 1], zs[cc == 1]) and not torch.equal(zn[cc == 0], zs[cc == 0])
    assert torch.equal(gn.get_state(), gs.get_state())  # the sampler's generator is not advanced by the extra noise
    assert torch.equal(zs, span.sample(cc, torch.Generator().manual_seed(3))[0])  # determinism
    assert span.params() == {"kernel": "auto", "shrink": False, "centre": "draw", "floor": "span"}
    save_sampler(span, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    assert torch.equal(back.state["kde_g"], span.state["kde_g"])
    assert torch.equal(back.sample(cc, torch.Generator().manual_seed(3))[0], zs)
    del back.state["kde_g"]
    with pytest.raises(InputError, match="span floor needs 'kde_g'"):
        back.check()


def test_vaelab_cvae_span_floor_deterministic_scoped_and_round_trips(tmp_path):
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    rng = np.random.default_rng(5)
    t = np.linspace(0, 3, 40)
    X = np.cos(t) * (1 + 0.5 * rng.standard_normal((24, 1))) + 0.002 * rng.standard_normal((24, 40))
    y = np.array(["a"] * 4 + ["b"] * 20)
    fast = {"hidden": [16], "latent_dim": 6, "epochs": 10, "batch_size": 16, "patience": 5}  # kde_kernel "auto"
    d = VaelabCVAE(**fast).fit(X, y, seed=1)
    f1 = VaelabCVAE(**fast, kde_floor="span").fit(X, y, seed=1)
    f2 = VaelabCVAE(**fast, kde_floor="span").fit(X, y, seed=1)
    assert torch.equal(d.extra_["kde_h"], f1.extra_["kde_h"])  # the calibrated width kept
    g = f1.extra_["kde_g"]  # class a (4 codes <= 6 dimensions): the per-dimension kernel; b: the covariance kernel
    torch.testing.assert_close(g, torch.tensor([max(0.25 - float(d.extra_["kde_h"][0]) ** 2, 0.0) ** 0.5, 0.0]))
    counts = {"a": 6, "b": 6}
    S1, ys = f1.sample(counts, seed=2)
    np.testing.assert_array_equal(S1, f2.sample(counts, seed=2)[0])
    Sd = d.sample(counts, seed=2)[0]
    for k, label in enumerate(f1.classes_):  # only a class with extra noise differs, the others byte for byte
        rows = np.asarray(ys) == label
        assert np.array_equal(S1[rows], Sd[rows]) == bool(g[k] == 0)
    f1.save(tmp_path / "span")
    np.testing.assert_array_equal(load_model(tmp_path / "span").sample(counts, seed=2)[0], S1)
