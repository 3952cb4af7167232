"""``texture_draw = "local_checked"``: ``"local_auto"`` (the balanced local residual draw in classes with more codes
than latent dimensions) gated also where the class's balanced neighbourhoods are unsound: the Sinkhorn balancing did
not converge (a column sum more than 1e-3 from 1) or a row's effective neighbourhood size 1 / sum_j w_ij^2 is below 2.
A gated class draws as ``"gaussian"`` with the same random numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from saved_runs import reproducible_round_trip, without_weights
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models import vaelab_cvae
from vaelab.models.vaelab_cvae import VaelabCVAE, _balanced_neighbours, local_checks

_COUNTS = {"a": 6, "b": 6}


def _checks(nn: list[list[int]], k: int, dim: int = 2) -> dict[str, torch.Tensor]:
    """local_checks of one class whose k-nearest table is ``nn`` (rows of training indices)."""
    c = torch.zeros(len(nn), dtype=torch.long)
    return local_checks(_balanced_neighbours(torch.tensor(nn), torch.tensor([float(k)]), c, max_iter=200), c, 1, dim)


def test_a_well_spread_class_passes_every_check():
    # nine codes on a ring, each row's 3 nearest the next three: symmetrised, every row has the 6 rows within 3 steps
    # both ways, so the starting weights 1/6 are already doubly stochastic: column sums 1, effective size 6 everywhere
    ch = _checks([[(i + d) % 9 for d in (1, 2, 3)] for i in range(9)], 3)
    assert ch["codes"].tolist() == [1.0] and ch["local"].tolist() == [1.0]
    assert ch["col_err"].item() < 1e-6
    assert ch["eff_min"].item() == pytest.approx(6.0, rel=1e-6)
    # the same class with as many latent dimensions as codes: gated by the count (as "local_auto")
    ch = _checks([[(i + d) % 9 for d in (1, 2, 3)] for i in range(9)], 3, dim=9)
    assert ch["codes"].tolist() == [0.0] and ch["local"].tolist() == [0.0]


def test_a_class_whose_balancing_cannot_converge_is_gated():
    # rows 2, 3, 4 reach only rows 0 and 1 (Hall's condition fails, as in test_vaelab_texture_balanced): Sinkhorn stops
    # at its cap with columns 2-4 far from 1, so the class draws from its Gaussian though it has enough codes
    ch = _checks([[1, 2], [0, 2], [0, 1], [0, 1], [0, 1]], 2)
    assert ch["codes"].tolist() == [1.0]
    assert ch["col_err"].item() > 0.1
    assert ch["local"].tolist() == [0.0]


def test_a_row_with_a_one_residual_neighbourhood_is_gated():
    # two mutual nearest pairs (k = 1): the weights are a permutation, doubly stochastic (column sums exactly 1), but
    # every neighbourhood is one residual (effective size 1): a sample around it would carry a copy of it
    ch = _checks([[1], [0], [3], [2]], 1)
    assert ch["codes"].tolist() == [1.0] and ch["col_err"].item() == 0.0
    assert ch["eff_min"].item() == pytest.approx(1.0)
    assert ch["local"].tolist() == [0.0]
    # two classes side by side are checked apart: class 1 (the ring) passes, class 0 (the pairs) does not
    ring = [[4 + (i + d) % 9 for d in (1, 2, 3)] for i in range(9)]
    c = torch.tensor([0] * 4 + [1] * 9)
    b = _balanced_neighbours(torch.tensor([[1, 1, 1], [0, 0, 0], [3, 3, 3], [2, 2, 2], *ring]), torch.tensor([1.0, 3.0]), c)
    ch = local_checks(b, c, 3, 2)  # class 2 has no rows: gated by the count
    assert ch["local"].tolist() == [0.0, 1.0, 0.0]
    assert ch["eff_min"][:2].tolist() == pytest.approx([1.0, 6.0], rel=1e-6)


def _fit(draw: str, latent_dim: int = 3) -> VaelabCVAE:
    X, y = _data()  # class a: 36 spectra, class b: 24
    return VaelabCVAE(**{**FAST, "latent_dim": latent_dim}, texture_draw=draw).fit(X, y, seed=0)


def test_sound_classes_draw_as_local_balanced_and_gated_ones_as_gaussian(monkeypatch):
    g = _fit("local_checked")  # both classes balanced, effective sizes >= 2 (checked here)
    tc = g._latent_sampler().state["train_class"]
    ch = local_checks(g.extra_, tc, 2, 3)
    assert (ch["col_err"] <= 1e-3).all() and (ch["eff_min"] >= 2).all()
    assert g.extra_["tex_local"].tolist() == [1.0, 1.0]
    S = g.sample(_COUNTS, seed=1)[0]
    np.testing.assert_array_equal(S, _fit("local_balanced").sample(_COUNTS, seed=1)[0])
    np.testing.assert_array_equal(S, _fit("local_auto").sample(_COUNTS, seed=1)[0])
    # every class gated by the count: the "gaussian" bytes
    np.testing.assert_array_equal(_fit("local_checked", 40).sample(_COUNTS, seed=1)[0],
                                  _fit("gaussian", 40).sample(_COUNTS, seed=1)[0])
    # every class gated by the effective-size check alone (threshold raised above every row): the "gaussian" bytes
    monkeypatch.setattr(vaelab_cvae, "_CHECK_MIN_EFF", 1e9)
    g0 = _fit("local_checked")
    assert g0.extra_["tex_local"].tolist() == [0.0, 0.0]
    gauss = _fit("gaussian").sample(_COUNTS, seed=1)[0]
    np.testing.assert_array_equal(g0.sample(_COUNTS, seed=1)[0], gauss)
    assert not np.array_equal(S, gauss)
    # one class gated by the check (threshold between the two classes' smallest effective sizes): per class as its draw
    lo, hi = sorted(ch["eff_min"].tolist())
    monkeypatch.setattr(vaelab_cvae, "_CHECK_MIN_EFF", (lo + hi) / 2)
    g1 = _fit("local_checked")
    gated = int(torch.argmin(ch["eff_min"]))
    assert g1.extra_["tex_local"].tolist() == [float(k != gated) for k in (0, 1)]
    rows = torch.cat([torch.nonzero(tc == k).flatten()[:8] for k in (0, 1)])
    c = tc[rows]

    def tex(draw: str, only: int) -> torch.Tensor:
        h = VaelabCVAE.__new__(VaelabCVAE)
        h.__dict__.update(g1.__dict__)
        h.config = dataclasses.replace(g1.config, texture_draw=draw)
        keep = c == only
        if draw == "gaussian":
            return h._draw("tex", c[keep], torch.Generator().manual_seed(5), boot=False)
        return h._local_residual("tex", c[keep], rows[keep], tc, torch.Generator().manual_seed(5))

    for k in (0, 1):
        assert torch.equal(tex("local_checked", k), tex("gaussian" if k == gated else "local_balanced", k))


def test_local_checked_is_deterministic_round_trips_and_refuses_missing_tables(tmp_path):
    from vaelab.models import load_model

    back = reproducible_round_trip(lambda: _fit("local_checked"), _COUNTS, tmp_path / "m")
    assert back.config.texture_draw == "local_checked"
    without_weights(tmp_path / "m", "extra.tex_local")
    with pytest.raises(InputError, match="local_checked.*tex_local"):
        load_model(tmp_path / "m")


def test_local_checked_is_the_default_and_runs_saved_before_it_draw_as_gaussian(tmp_path):
    from saved_runs import reloaded_as_saved_before

    # the default since issue 16, session 13 (RESULTS.md)
    assert VaelabCVAE().config.texture_draw == "local_checked"
    X, y = _data()
    g = VaelabCVAE(**FAST).fit(X, y, seed=0)  # latent_dim 3: both classes draw locally
    assert g.config.texture_draw == "local_checked" and g.extra_["tex_local"].tolist() == [1.0, 1.0]
    np.testing.assert_array_equal(g.sample(_COUNTS, seed=1)[0], _fit("local_checked").sample(_COUNTS, seed=1)[0])
    # a run saved before texture_draw existed (no key in its config) loads as "gaussian" and draws exactly as a
    # "gaussian" fit, not as the new default
    old = _fit("gaussian")
    back = reloaded_as_saved_before(old, tmp_path / "old", ("texture_draw",), _COUNTS, seed=1)
    assert back.config.texture_draw == "gaussian" and "tex_local" not in back.extra_
    assert not np.array_equal(back.sample(_COUNTS, seed=1)[0], g.sample(_COUNTS, seed=1)[0])
