"""vaelab-cvae's ``whiten = "level_checked"`` (the default since issue 16, session 16): a training row at the leverage
bound ``h = 1 - 1/n`` (its in-sample noise level not a measurement) is whitened by its class's median level; everything
else as ``whiten = "level"`` (the default before, which runs saved without the key load with)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before, reproducible_round_trip
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _checked_levels, _leverage, class_residuals

CFG = {"hidden": [16], "latent_dim": 3, "epochs": 15, "batch_size": 16, "patience": 5}


def test_a_row_at_the_leverage_bound_gets_its_class_median_level():
    # two orthogonal centred score columns; row 0 alone carries the first: h_0 = 25/30 = 1 - 1/6, the bound
    a = torch.tensor([[5.0, 0.0], [-1.0, 1.0], [-1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(6 * (1 - _leverage(a.double())), [1.0, 4.3, 4.3, 4.3, 4.3, 29 / 5], atol=1e-12)
    s = torch.tensor([[0.001], [0.1], [0.3], [0.2], [0.4], [0.5]])
    c = torch.tensor([0, 0, 0, 1, 1, 1])
    out = _checked_levels(s, a, c)
    # row 0: the median of its class's other levels (0.1, 0.3); every other row, and class 1, unchanged
    torch.testing.assert_close(out, torch.tensor([[0.2], [0.1], [0.3], [0.2], [0.4], [0.5]]))
    assert out[1:].equal(s[1:])
    # without a row at the bound: the levels as they are (the same tensor)
    b = torch.tensor([[2.0, 0.0], [-1.0, 1.0], [-1.0, -1.0], [0.0, 1.0], [1.0, -1.0], [-1.0, 0.0]])
    assert _checked_levels(s, b, c) is s
    # a class whose only rows are at the bound keeps their own levels (no other row to take a median from)
    assert _checked_levels(s, a, torch.tensor([2, 0, 0, 1, 1, 1])).equal(s)


def _spectra(outlier: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    t = np.linspace(0, 3, 40)
    X = np.sin(t) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    if outlier:  # one class-b spectrum far from every other: an axis of its own (leverage at the bound)
        X[20] += 10.0 * np.cos(7 * t)
    return X, np.repeat(["a", "b"], 15)


def _fit(whiten: str, X: np.ndarray, y: np.ndarray):
    """The fitted model, and as after_fit sees them: the training rows' levels, classes and ``n (1 - h)``."""
    m = VaelabCVAE(**CFG, whiten=whiten).fit(X, y, seed=0)
    job = m.prepare_fit(X, y, seed=0)
    net, U = m.module, job.X_all
    s = torch.exp(net.level(U) * net.u_scale[net.D_out :] + net.u_mean[net.D_out :]).flatten()
    a = U[:, : net.k] * net.u_scale[: net.k] + net.u_mean[: net.k]
    return m, s, job.c_all, len(U) * (1 - _leverage(a.double()))


def test_level_checked_whitens_the_bound_row_by_its_class_median_and_nothing_else():
    X, y = _spectra(outlier=True)
    base, s, c, n1mh = _fit("level", X, y)
    m = _fit("level_checked", X, y)[0]
    i = int(np.argmin(n1mh))  # the outlier: the only row at the bound, a class-b row with a deflated level
    assert n1mh[i] < 1.01 and np.sort(n1mh)[1] > 2 and int(c[i]) == 1
    pos = int((c[:i] == 1).sum())  # its position among class b's rows
    sb = s[c == 1]
    rest = torch.arange(len(sb)) != pos
    assert float(sb[pos]) < 0.1 * float(sb[rest].min())
    # class b's whitened residuals: the outlier's misfit over the class median level instead of its own tiny level,
    # the others' unchanged (one network: the same seed, only the residual model differs)
    wb, wm = class_residuals(base.extra_, 1), class_residuals(m.extra_, 1)
    torch.testing.assert_close(wm[rest], wb[rest], rtol=1e-4, atol=1e-4)  # float32 mean + rows x factor
    torch.testing.assert_close(wm[pos], wb[pos] * sb[pos] / torch.quantile(sb[rest].double(), 0.5).float(),
                               rtol=1e-4, atol=1e-5)
    # class a has no row at the bound: its residual Gaussian is the default's, byte for byte
    for key in ("tex_mean", "tex_rows"):
        assert m.extra_[key][0].equal(base.extra_[key][0])
    # the inflated class Gaussian of the default is what the check removes
    assert float(m.extra_["tex_rows"][1].norm()) < 0.2 * float(base.extra_["tex_rows"][1].norm())


def test_level_checked_is_the_default_and_draws_as_level_where_no_row_is_at_the_bound():
    assert VaelabCVAE().config.whiten == "level_checked"
    X, y = _spectra(outlier=False)
    counts = {"a": 6, "b": 6}
    S = VaelabCVAE(**CFG, whiten="level").fit(X, y, seed=0).sample(counts, seed=1)[0]
    np.testing.assert_array_equal(VaelabCVAE(**CFG).fit(X, y, seed=0).sample(counts, seed=1)[0], S)
    # with a row at the bound the default differs from "level" (the case it was made for)
    X, y = _spectra(outlier=True)
    S = VaelabCVAE(**CFG, whiten="level").fit(X, y, seed=0).sample(counts, seed=1)[0]
    assert not np.array_equal(VaelabCVAE(**CFG).fit(X, y, seed=0).sample(counts, seed=1)[0], S)


def test_level_checked_is_deterministic_and_round_trips(tmp_path):
    X, y = _spectra(outlier=True)
    back = reproducible_round_trip(lambda: VaelabCVAE(**CFG).fit(X, y, seed=0), {"a": 5, "b": 5},
                                   tmp_path / "m")
    assert back.config.whiten == "level_checked"


def test_runs_saved_before_the_default_changed_load_as_before(tmp_path):
    # a run made with the old default "level" (on data with a row at the bound, where the two differ), whose config
    # lacks the key, loads with "level" (SAVED_BEFORE), not today's default, and draws the same bytes
    X, y = _spectra(outlier=True)
    counts = {"a": 4, "b": 4}
    old = reloaded_as_saved_before(VaelabCVAE(**CFG, whiten="level").fit(X, y, seed=0), tmp_path / "m", ("whiten",),
                                   counts, 3)
    assert old.config.whiten == "level"
    assert not np.array_equal(old.sample(counts, seed=3)[0], VaelabCVAE(**CFG).fit(X, y, seed=0).sample(counts, seed=3)[0])
    # a new run saves the option explicitly and loads with it
    VaelabCVAE(**CFG).fit(X, y, seed=0).save(tmp_path / "new")
    assert json.loads((tmp_path / "new" / "config.json").read_text())["config"]["whiten"] == "level_checked"


def test_unknown_whiten_is_refused():
    with pytest.raises(InputError):
        VaelabCVAE(whiten="checked")
