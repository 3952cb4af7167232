"""``pick = "balanced"`` (samplers, vaelab-cvae ``pick``): the training rows a latent sampler draws its codes around,
stratified instead of with replacement: ``m // n_k`` full passes over the class's ``n_k`` rows plus a random subset of
``m % n_k`` rows without replacement, in random order (RESULTS.md, issue 16, session 17). A bootstrap with replacement
keeps ``(n_k - 1) / n_k`` of the codes' spread on average and misses a row that holds much of it with probability
``(1 - 1 / n_k)^m``; the stratified pick takes every row ``floor`` or ``ceil`` of ``m / n_k`` times."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before
from vaelab.core.errors import InputError
from vaelab.samplers import (
    AggregatePosterior,
    CalibratedKDE,
    StandardNormal,
    load_sampler,
    make_sampler,
    save_sampler,
)
from vaelab.samplers.base import balanced_rows


@pytest.mark.parametrize(("n", "m"), [(9, 9), (9, 20), (5, 3), (13, 39), (7, 1), (4, 0), (1, 6)])
def test_balanced_rows_take_every_row_floor_or_ceil_times(n, m):
    idx = balanced_rows(n, m, torch.Generator().manual_seed(3))
    counts = torch.bincount(idx, minlength=n)
    assert len(idx) == m and len(counts) == n
    q, r = divmod(m, n)
    assert sorted(counts.tolist()) == [q] * (n - r) + [q + 1] * r  # floor for n - r rows, ceil for r rows


def test_balanced_rows_are_shuffled_and_the_remainder_is_uniform():
    gen = torch.Generator().manual_seed(0)
    assert not torch.equal(balanced_rows(9, 9, gen), torch.arange(9))  # m = n: each once, in random order
    # the m % n extra rows are a uniform subset: each of 5 rows is among 2 extras with probability 2 / 5
    extra = torch.zeros(5)
    for _ in range(4000):
        extra += (torch.bincount(balanced_rows(5, 7, gen), minlength=5) == 2).float()
    torch.testing.assert_close(extra / 4000, torch.full((5,), 0.4), rtol=0, atol=0.03)


def _point_codes(L=4):
    """Class 0: 9 point codes (posterior sd e^-15), class 1: 5, in L dimensions."""
    g = torch.Generator().manual_seed(1)
    c = torch.tensor([0] * 9 + [1] * 5)
    return torch.randn(len(c), L, generator=g) + 3.0 * c[:, None], torch.full((len(c), L), -30.0), c


def test_sampler_pick_with_as_many_draws_as_rows_uses_every_row_once_and_keeps_the_spread():
    mu, logvar, c = _point_codes()
    s = AggregatePosterior(pick="balanced").fit(mu, logvar, c, 2)
    cc = c[torch.randperm(len(c), generator=torch.Generator().manual_seed(2))]  # classes in any order
    z, _, rows = s.sample_rows(cc, torch.Generator().manual_seed(5))
    for k in (0, 1):
        assert sorted(rows[cc == k].tolist()) == torch.nonzero(c == k).flatten().tolist()
        # the codes themselves (posterior sd ~3e-7): exactly the class's spread, where a bootstrap keeps less
        torch.testing.assert_close(z[cc == k].var(dim=0), mu[c == k].var(dim=0), rtol=1e-4, atol=1e-5)
    boot = AggregatePosterior().fit(mu, logvar, c, 2).sample_rows(cc, torch.Generator().manual_seed(5))[2]
    assert len(set(boot[cc == 0].tolist())) < 9  # with replacement (this seed) some rows repeat


def test_default_pick_is_the_bootstrap_with_replacement_and_saves_as_before(tmp_path):
    mu, logvar, c = _point_codes()
    s = CalibratedKDE().fit(mu, logvar, c, 2)
    assert s.pick == "replacement" and "pick" not in s.params()
    pool = torch.nonzero(c == 0).flatten()
    gen, ref = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(s._pick(0, 12, gen), pool[torch.randint(9, (12,), generator=ref)])  # main's formula
    for kind in ("standard", "aggregate"):
        assert "pick" not in make_sampler(kind).params()
    save_sampler(s, tmp_path)
    assert "pick" not in json.loads((tmp_path / "sampler.json").read_text())["params"]


@pytest.mark.parametrize("kind", ["standard", "aggregate", "kde"])
def test_balanced_pick_is_deterministic_and_survives_save_load(kind, tmp_path):
    mu, logvar, c = _point_codes()
    level = torch.arange(len(c), dtype=torch.float32)[:, None]  # attached values name the row drawn
    s = make_sampler(kind, pick="balanced", **({"latent_dim": 4} if kind == "standard" else {}))
    s.fit(mu, logvar, c, 2, attached=level)
    cc = torch.tensor([0] * 18 + [1] * 7)
    z1, a1 = s.sample(cc, torch.Generator().manual_seed(4))
    z2, a2 = s.sample(cc, torch.Generator().manual_seed(4))
    assert torch.equal(z1, z2) and torch.equal(a1, a2)
    assert sorted(torch.bincount(a1[:18, 0].long(), minlength=9)[:9].tolist()) == [2] * 9  # 18 = 2 passes over 9
    assert sorted(torch.bincount(a1[18:, 0].long() - 9, minlength=5).tolist()) == [1, 1, 1, 2, 2]  # 7 of 5 rows
    save_sampler(s, tmp_path)
    back = load_sampler(tmp_path)
    assert back.pick == "balanced" and back.params() == s.params()
    z3, a3 = back.sample(cc, torch.Generator().manual_seed(4))
    assert torch.equal(z1, z3) and torch.equal(a1, a3)


def test_the_calibration_simulates_generate_with_the_same_pick():
    mu, logvar, c = _point_codes()
    s = CalibratedKDE(pick="balanced").fit(mu, logvar, c, 2)
    seen = []

    def generate(cc, gen):
        z, _, rows = s.sample_rows(cc, gen)
        seen.append(rows)
        return z + 100.0  # far from every reference: the target is met at h = 0

    s.calibrate(generate, mu, c, seed=0)
    assert seen and all(sorted(r.tolist()) in (list(range(9)), list(range(9, 14))) for r in seen)  # each row once


def test_bad_pick_is_one_input_error():
    with pytest.raises(InputError, match="pick must be one of"):
        StandardNormal(pick="stratified")
    with pytest.raises(InputError, match="pick must be one of"):
        make_sampler("kde", pick="sometimes")
    from vaelab.models.vaelab_cvae import VaelabCVAE

    with pytest.raises(InputError, match="pick must be one of"):
        VaelabCVAE(pick="no")
    with pytest.raises(InputError, match="needs a prior that picks training rows"):
        VaelabCVAE(pick="balanced", prior="gmm")


def _data():
    rng = np.random.default_rng(5)
    X = np.sin(np.linspace(0, 3, 40)) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    return X, np.array(["a"] * 21 + ["b"] * 9)


FAST = {"hidden": [16], "latent_dim": 3, "epochs": 10, "batch_size": 16, "patience": 5}


def test_vaelab_cvae_balanced_pick_round_trips_and_old_runs_load_with_replacement(tmp_path):
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    X, y = _data()
    default = VaelabCVAE(**FAST).fit(X, y, seed=0)  # pick "auto": "balanced_zero" with the kde prior (since session 17)
    assert default.config.pick == "auto" and default._latent_sampler().pick == "balanced_zero"
    counts = {"a": 21, "b": 9}
    zero = VaelabCVAE(**FAST, pick="balanced_zero").fit(X, y, seed=0)
    np.testing.assert_array_equal(default.sample(counts, seed=1)[0], zero.sample(counts, seed=1)[0])
    assert VaelabCVAE(prior="aggregate").sampler().pick == "replacement"  # "auto" without a kernel width
    assert VaelabCVAE(prior="gmm").config.pick == "auto"  # accepted: "auto" resolves to "replacement" there
    explicit = VaelabCVAE(**FAST, pick="replacement").fit(X, y, seed=0)  # what runs saved before the option draw
    bal = VaelabCVAE(**FAST, pick="balanced").fit(X, y, seed=0)
    assert bal._latent_sampler().pick == "balanced"
    S = bal.sample(counts, seed=1)[0]
    assert not np.array_equal(S, explicit.sample(counts, seed=1)[0])
    np.testing.assert_array_equal(S, VaelabCVAE(**FAST, pick="balanced").fit(X, y, seed=0).sample(counts, seed=1)[0])
    bal.save(tmp_path / "bal")
    assert json.loads((tmp_path / "bal" / "config.json").read_text())["config"]["pick"] == "balanced"
    np.testing.assert_array_equal(load_model(tmp_path / "bal").sample(counts, seed=1)[0], S)
    # a run saved before the option (no "pick" in its config) loads with "replacement" and draws the same bytes
    old = reloaded_as_saved_before(explicit, tmp_path / "old", ("pick",), counts, seed=1)
    assert old.config.pick == "replacement"


# ``pick = "balanced_zero"`` (RESULTS.md, issue 16, session 17, second helper): the kernel calibrated with the default's
# pick, then the balanced pick only in the classes whose calibrated width is 0; the others draw the default's bytes.


def _kde_with_widths(h, pick):
    mu, logvar, c = _point_codes()
    s = CalibratedKDE(pick=pick).fit(mu, logvar, c, 2)
    s.state["kde_h"] = torch.tensor(h)
    return s, mu, c


def test_balanced_zero_balances_the_h0_class_and_keeps_the_default_bytes_elsewhere():
    s, mu, c = _kde_with_widths([0.0, 0.5], "balanced_zero")
    d, _, _ = _kde_with_widths([0.0, 0.5], "replacement")
    cc = c[torch.randperm(len(c), generator=torch.Generator().manual_seed(2))]
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    z, _, rows = s.sample_rows(cc, g1)
    zd, _, rows_d = d.sample_rows(cc, g2)
    assert sorted(rows[cc == 0].tolist()) == list(range(9))  # h = 0, m = n_k: every row once
    torch.testing.assert_close(z[cc == 0].var(dim=0), mu[c == 0].var(dim=0), rtol=1e-4, atol=1e-5)  # the codes' spread
    assert len(set(rows_d[cc == 0].tolist())) < 9  # the default (this seed) repeats rows there
    assert torch.equal(rows[cc == 1], rows_d[cc == 1]) and torch.equal(z[cc == 1], zd[cc == 1])  # h > 0: same bytes
    assert torch.equal(g1.get_state(), g2.get_state())  # the generator advanced exactly as the default's


def test_balanced_zero_without_a_zero_width_is_the_default_and_is_deterministic(tmp_path):
    s, _, c = _kde_with_widths([0.3, 0.5], "balanced_zero")
    d, _, _ = _kde_with_widths([0.3, 0.5], "replacement")
    cc = torch.tensor([0] * 18 + [1] * 7)
    assert torch.equal(s.sample(cc, torch.Generator().manual_seed(4))[0], d.sample(cc, torch.Generator().manual_seed(4))[0])
    s.state["kde_h"][1] = 0.0
    z1 = s.sample(cc, torch.Generator().manual_seed(4))[0]
    assert torch.equal(z1, s.sample(cc, torch.Generator().manual_seed(4))[0])
    assert not torch.equal(z1, d.sample(cc, torch.Generator().manual_seed(4))[0])
    save_sampler(s, tmp_path)
    assert json.loads((tmp_path / "sampler.json").read_text())["params"]["pick"] == "balanced_zero"
    back = load_sampler(tmp_path)
    assert back.pick == "balanced_zero" and torch.equal(back.sample(cc, torch.Generator().manual_seed(4))[0], z1)


def test_balanced_zero_calibrates_with_the_default_pick():
    seen = {}
    for pick in ("replacement", "balanced_zero"):
        mu, logvar, c = _point_codes()
        s = CalibratedKDE(pick=pick).fit(mu, logvar, c, 2)
        seen[pick] = []

        def generate(cc, gen, s=s, rows=seen[pick]):
            z, _, r = s.sample_rows(cc, gen)
            rows.append(r)
            return z + 100.0  # far from every reference: h stays 0, where "balanced_zero" would balance

        s.calibrate(generate, mu, c, seed=0)
        assert not s.calibrating and torch.equal(s.state["kde_h"], torch.zeros(2))
    assert len(seen["replacement"]) == len(seen["balanced_zero"])
    assert all(torch.equal(a, b) for a, b in zip(seen["replacement"], seen["balanced_zero"], strict=True))


def test_balanced_zero_is_one_input_error_outside_kde():
    for kind in ("standard", "aggregate"):
        with pytest.raises(InputError, match="pick must be one of"):
            make_sampler(kind, pick="balanced_zero")
    from vaelab.models.vaelab_cvae import VaelabCVAE

    with pytest.raises(InputError, match="needs prior = 'kde'"):
        VaelabCVAE(pick="balanced_zero", prior="aggregate")


def test_vaelab_cvae_balanced_zero_keeps_the_widths_and_the_h_positive_classes(tmp_path):
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    rng = np.random.default_rng(5)
    t = np.linspace(0, 3, 40)
    X = np.sin(t) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    X[21:] = np.cos(t) + 0.3 * rng.standard_normal((9, 40))  # class b: noisier
    y = np.array(["a"] * 21 + ["b"] * 9)
    counts = {"a": 21, "b": 9}
    default = VaelabCVAE(**FAST, pick="replacement").fit(X, y, seed=0)  # the pick of runs saved before session 17
    zero = VaelabCVAE(**FAST, pick="balanced_zero").fit(X, y, seed=0)
    h = default._latent_sampler().state["kde_h"]
    assert torch.equal(zero._latent_sampler().state["kde_h"], h)  # calibrated on the default's pick
    assert (h == 0).any() and (h > 0).any()  # this data: one class of each kind
    S, ys = zero.sample(counts, seed=1)
    Sd, ysd = default.sample(counts, seed=1)
    np.testing.assert_array_equal(ys, ysd)
    for k, name in enumerate(zero.classes_):
        same = np.array_equal(S[ys == name], Sd[ys == name])
        assert same == bool(h[k] > 0)  # h > 0: the default's bytes; h = 0: the balanced pick
    np.testing.assert_array_equal(S, VaelabCVAE(**FAST, pick="balanced_zero").fit(X, y, seed=0).sample(counts, seed=1)[0])
    zero.save(tmp_path / "z")
    assert json.loads((tmp_path / "z" / "config.json").read_text())["config"]["pick"] == "balanced_zero"
    np.testing.assert_array_equal(load_model(tmp_path / "z").sample(counts, seed=1)[0], S)


def test_vaelab_cvae_calibration_draws_mark_the_sampler_as_calibrating(monkeypatch):
    from vaelab.models.vaelab_cvae import VaelabCVAE

    flags = []
    original = CalibratedKDE._pick

    def spy(self, k, m, gen):
        flags.append(self.calibrating)
        return original(self, k, m, gen)

    monkeypatch.setattr(CalibratedKDE, "_pick", spy)
    X, y = _data()
    model = VaelabCVAE(**FAST, pick="balanced_zero").fit(X, y, seed=0)
    assert flags and all(flags)  # every pick during the fit is the calibration's: with replacement
    flags.clear()
    model.sample({"a": 3, "b": 3}, seed=1)
    assert flags and not any(flags)
