"""``kde_centre = "auto"``: the kernel centred on the posterior mean only in the classes whose kernel width,
calibrated with the posterior draw, comes out 0 (there the draw is the only latent noise), recalibrated there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.samplers import CalibratedKDE, load_sampler, make_sampler, save_sampler


def _two_classes(n=120, L=3):
    """Class 0: a tight posterior (sd e^-10), so a posterior draw is a near copy of a training code; class 1: a
    posterior (sd e^0.5 = 1.65) three times wider than the spread of the class's codes (0.5), so the draw alone
    already makes codes as novel as a left-out code is."""
    g = torch.Generator().manual_seed(0)
    c = (torch.arange(n) % 2).long()
    mu = torch.randn(n, L, generator=g) * 0.5 + torch.where(c[:, None] == 0, -3.0, 3.0)
    logvar = torch.where(c[:, None] == 0, -20.0, 1.0).expand(n, L).clone()
    return mu, logvar, c


def _calibrated(centre):
    mu, logvar, c = _two_classes()
    s = CalibratedKDE(centre=centre).fit(mu, logvar, c, 2, seed=0)
    s.calibrate(lambda cc, gen: s.sample(cc, gen)[0], mu, c, seed=0)  # decoder = identity: codes are the samples
    return s, mu, c


def test_auto_centre_takes_the_mean_only_where_the_draw_calibration_ends_at_zero_and_recalibrates_there():
    draw, mu, c = _calibrated("draw")
    auto, _, _ = _calibrated("auto")
    assert draw.state["kde_h"][0] > 0 and draw.state["kde_h"][1] == 0  # the two regimes (see _two_classes)
    assert auto.state["kde_mc"].tolist() == [0.0, 1.0]
    assert auto.state["kde_h"][0] == draw.state["kde_h"][0]  # class 0 calibrated exactly as with the draw
    # class 1 on its means: at h = 0 every code would be a training code (distance 0 to the reference), so the
    # recalibrated kernel must be wider than 0
    assert auto.state["kde_h"][1] > 0
    # the same random numbers: class 0 rows are the draw sampler's, class 1 rows are not
    cc = torch.tensor([1, 0, 1, 0, 0, 1, 1, 0] * 5)
    draw.state["kde_h"][1] = auto.state["kde_h"][1]
    za = auto.sample(cc, torch.Generator().manual_seed(3))[0]
    zd = draw.sample(cc, torch.Generator().manual_seed(3))[0]
    assert torch.equal(za[cc == 0], zd[cc == 0])
    assert not torch.equal(za[cc == 1], zd[cc == 1])
    # with the kernel at 0 a class-1 code is exactly a training posterior mean of class 1; a draw is not
    auto.state["kde_h"][1] = 0.0
    z1 = auto.sample(torch.ones(30, dtype=torch.long), torch.Generator().manual_seed(4))[0]
    assert (z1[:, None, :] == mu[c == 1][None]).all(dim=2).any(dim=1).all()
    draw.state["kde_h"][1] = 0.0
    zd1 = draw.sample(torch.ones(30, dtype=torch.long), torch.Generator().manual_seed(4))[0]
    assert not (zd1[:, None, :] == mu[c == 1][None]).all(dim=2).any(dim=1).any()


def test_auto_centre_state_round_trip_and_errors(tmp_path):
    auto, _, _ = _calibrated("auto")
    save_sampler(auto, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    assert back.params()["centre"] == "auto" and torch.equal(back.state["kde_mc"], auto.state["kde_mc"])
    cc = torch.tensor([0, 1, 1, 0, 1])
    assert torch.equal(back.sample(cc, torch.Generator().manual_seed(1))[0],
                       auto.sample(cc, torch.Generator().manual_seed(1))[0])
    state = {k: v for k, v in auto.state_dict().items() if k != "kde_mc"}
    with pytest.raises(InputError, match="kde_mc"):
        make_sampler("kde", centre="auto").load_state_dict(state)


def _toy():
    """Class a: one curve under strong white noise (the noise makes samples novel: the draw calibration ends at
    h = 0); class b: curves that differ by smooth factors under little noise (the kernel must make them new)."""
    rng = np.random.default_rng(5)
    t = np.linspace(0, 3, 40)
    xa = np.sin(t) * (1 + 0.02 * rng.standard_normal((30, 1))) + 0.3 * rng.standard_normal((30, 40))
    xb = (np.cos(t) * (1 + 0.5 * rng.standard_normal((30, 1))) + 0.3 * np.sin(3 * t) * rng.standard_normal((30, 1))
          + 0.002 * rng.standard_normal((30, 40)))
    X, y = np.vstack([xa, xb]), np.array(["a"] * 30 + ["b"] * 30)
    return X, y, {"hidden": [16], "latent_dim": 3, "epochs": 10, "batch_size": 16, "patience": 5}


def test_vaelab_cvae_auto_centre_is_deterministic_and_round_trips(tmp_path):
    """(Runs saved before the option load with the draw: tests/test_samplers.py, the old-runs test.)"""
    from vaelab.models import load_model
    from vaelab.models.vaelab_cvae import VaelabCVAE

    X, y, fast = _toy()
    a1 = VaelabCVAE(**fast, kde_centre="auto").fit(X, y, seed=1)
    a2 = VaelabCVAE(**fast, kde_centre="auto").fit(X, y, seed=1)
    counts = {"a": 6, "b": 6}
    S1 = a1.sample(counts, seed=1)[0]
    np.testing.assert_array_equal(S1, a2.sample(counts, seed=1)[0])
    assert a1.extra_["kde_mc"].shape == (2,) and 0 < float(a1.extra_["kde_mc"].sum()) < 2  # both branches below
    a1.save(tmp_path / "auto")
    np.testing.assert_array_equal(load_model(tmp_path / "auto").sample(counts, seed=1)[0], S1)
    # classes on the draw give the default model's samples (same network, same random numbers); classes on
    # the mean do not
    d = VaelabCVAE(**fast).fit(X, y, seed=1)
    assert d.config.kde_centre == "draw" and "kde_mc" not in d.extra_
    Sd, ys = d.sample(counts, seed=1)
    mc, ha, hd = (v.tolist() for v in (a1.extra_["kde_mc"], a1.extra_["kde_h"], d.extra_["kde_h"]))
    assert [m == 1 for m in mc] == [h == 0 for h in hd]  # the mean exactly where the draw calibration ended at 0
    assert [a for a, m in zip(ha, mc, strict=True) if m == 0] == [h for h, m in zip(hd, mc, strict=True) if m == 0]
    for k, label in enumerate(a1.classes_):
        rows = np.asarray(ys) == label
        same = np.array_equal(S1[rows], Sd[rows])
        assert same == (a1.extra_["kde_mc"][k] == 0 and a1.extra_["kde_h"][k] == d.extra_["kde_h"][k])
