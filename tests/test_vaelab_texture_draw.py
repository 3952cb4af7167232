"""vaelab-cvae residual draws: a Gaussian combination of the class's training residuals (default) or one of
them (``texture_draw = "bootstrap"``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models import load_model
from vaelab.models.gaussians import fit_class_gaussians
from vaelab.models.vaelab_cvae import VaelabCVAE, _prefixed

FAST = {"hidden": [16], "latent_dim": 3, "epochs": 15, "batch_size": 16, "patience": 5}


def _model_with_residuals(w: torch.Tensor, c: torch.Tensor, max_cells: int = 1 << 22) -> VaelabCVAE:
    m = VaelabCVAE(texture_draw="bootstrap")
    m.extra_ = _prefixed("tex", fit_class_gaussians(w, c, 2, 4, "empirical", seed=0, max_cells=max_cells, boot=True))
    return m


@pytest.mark.parametrize("max_cells", [1 << 22, 30])  # all rows kept / a random subset of 5 rows per class
def test_bootstrap_draws_are_training_residuals_of_the_class(max_cells):
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(20, 6, generator=gen) * torch.arange(1, 7) + 3.0
    c = torch.tensor([0] * 12 + [1] * 8)
    m = _model_with_residuals(w, c, max_cells)
    cs = torch.tensor([0] * 50 + [1] * 50)
    out = m._draw("tex", cs, torch.Generator().manual_seed(1))
    for row, k in zip(out, cs.tolist(), strict=True):
        # every drawn row is exactly one of that class's residuals (float32 round-off only)
        assert torch.cdist(row[None].double(), w[c == k].double()).min() < 1e-4
    # over many draws, every kept row appears (a uniform pick among them)
    kept = 12 if max_cells > 100 else 5
    assert len(torch.unique(out[:50], dim=0)) == kept


def test_gaussian_draws_are_not_training_residuals():
    gen = torch.Generator().manual_seed(0)
    w, c = torch.randn(20, 6, generator=gen), torch.tensor([0] * 12 + [1] * 8)
    m = VaelabCVAE(texture_draw="gaussian")
    m.extra_ = _prefixed("tex", fit_class_gaussians(w, c, 2, 4, "empirical", seed=0))
    assert "tex_boot" not in m.extra_  # the class Gaussian stores nothing new
    out = m._draw("tex", torch.zeros(10, dtype=torch.long), torch.Generator().manual_seed(1))
    assert torch.cdist(out.double(), w[c == 0].double()).min() > 1e-2


def test_bootstrap_option_fits_samples_and_round_trips(tmp_path):
    rng = np.random.default_rng(4)
    X = np.sin(np.linspace(0, 3, 40)) * (1 + 0.2 * rng.standard_normal((30, 1))) + 0.05 * rng.standard_normal((30, 40))
    y = np.repeat(["a", "b"], 15)
    m = VaelabCVAE(**FAST, texture_draw="bootstrap").fit(X, y, seed=0)
    assert {"tex_boot", "rest_boot"} <= set(m.extra_)
    S, _ = m.sample({"a": 5, "b": 5}, seed=1)
    assert np.isfinite(S).all()
    m.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=1)[0], S)
    only_tex = VaelabCVAE(**FAST, texture_draw="bootstrap_tex").fit(X, y, seed=0)
    assert "tex_boot" in only_tex.extra_ and "rest_boot" not in only_tex.extra_


def test_texture_draw_option_is_checked():
    with pytest.raises(InputError):
        VaelabCVAE(texture_draw="median")


def test_bootstrap_never_returns_the_avoided_row():
    # class 0 has rows 0..11 (distinct), class 1 rows 12..19; each sample must skip the row it names
    w = torch.arange(20, dtype=torch.float32)[:, None] * torch.ones(1, 3)
    c = torch.tensor([0] * 12 + [1] * 8)
    m = _model_with_residuals(w, c)
    cs = torch.tensor([0] * 300 + [1] * 300)
    avoid = torch.cat([torch.full((300,), 5), torch.full((300,), 0)])  # class 0: its 6th row; class 1: its 1st
    out = m._draw("tex", cs, torch.Generator().manual_seed(1), avoid)[:, 0].round()
    assert 5 not in out[:300].tolist() and 12 not in out[300:].tolist()
    # the other rows are all drawn: 11 of class 0, 7 of class 1
    assert set(out[:300].tolist()) == set(range(12)) - {5}
    assert set(out[300:].tolist()) == set(range(13, 20))


def test_sampled_codes_record_their_training_rows():
    from vaelab.models.vaelab_cvae import class_positions
    from vaelab.samplers import make_sampler

    gen = torch.Generator().manual_seed(0)
    mu, c = torch.randn(9, 2, generator=gen), torch.tensor([1, 0, 1, 0, 0, 1, 1, 0, 1])
    s = make_sampler("kde", centre="mean").fit(mu, torch.zeros(9, 2), c, 2)  # kernel width 0: z = a posterior mean
    cs = torch.tensor([0] * 20 + [1] * 20)
    z, _, rows = s.sample_rows(cs, torch.Generator().manual_seed(3))
    torch.testing.assert_close(z, mu[rows], rtol=0, atol=0)
    assert torch.equal(c[rows], cs)
    assert torch.equal(s.sample(cs, torch.Generator().manual_seed(3))[0], z)  # the same random numbers as sample
    # positions among the rows of the class, in training order: class 0 = rows 1, 3, 4, 7
    pos = class_positions(rows, s.state["train_class"])
    order = {0: [1, 3, 4, 7], 1: [0, 2, 5, 6, 8]}
    assert all(order[k][p] == i for k, p, i in zip(cs.tolist(), pos.tolist(), rows.tolist(), strict=True))
