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
    m = VaelabCVAE()
    m.extra_ = _prefixed("tex", fit_class_gaussians(w, c, 2, 4, "empirical", seed=0))
    assert "tex_boot" not in m.extra_  # the default stores nothing new
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
