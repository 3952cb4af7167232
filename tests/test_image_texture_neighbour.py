"""``vaelab-image``'s ``texture_draw = "neighbour"``: a sample's whitened residual is that of the training image whose
posterior mean is nearest the sampled code (same class, the row the code was drawn from left out), instead of a draw
from the class's residual Gaussian (``"gaussian"``, the default; runs saved before the option load with it).

Known cases: hand-placed codes and residuals pick the nearest code's residual, never another class's, never the row a
code was drawn from; with the kernel width 0 (codes = posterior draws of their own rows) each sample equals its decoded
mean plus sd x the residual of its row's nearest other row, computed here from the public encode / decode. Reproducible
from the seed, save / load identical, refusals.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from image_data import stripes
from saved_runs import reloaded_as_saved_before, without_weights
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model

FAST = {"epochs": 4, "batch_size": 32, "latent_dim": 4}


@pytest.fixture(scope="module")
def data():
    return stripes(160, 12, seed=3)


@pytest.fixture(scope="module")
def fitted(data):
    g = get_model("vaelab-image", **FAST, texture_draw="neighbour")
    g.progress = False
    return g.fit(*data, seed=1)


def test_the_nearest_code_of_the_class_gives_the_residual_its_own_row_left_out(fitted):
    g = fitted
    extra = dict(g.extra_)
    try:
        g.extra_.update(tex_code=torch.tensor([[0.0, 0, 0, 0], [1, 0, 0, 0], [5, 0, 0, 0], [0.95, 0, 0, 0]]),
                        tex_class=torch.tensor([0, 0, 0, 1]), tex_all=torch.arange(4.0).unsqueeze(1).repeat(1, 3))
        z = torch.tensor([[0.9, 0, 0, 0], [0.9, 0, 0, 0], [4.0, 0, 0, 0], [0.0, 0, 0, 0]])
        c = torch.tensor([0, 0, 0, 1])
        r = g._neighbour_residuals(z, c, None)[:, 0].tolist()
        assert r == [1.0, 1.0, 2.0, 3.0]  # row 3 is nearest to the first code but of class 1; class 1 has one row
        r = g._neighbour_residuals(z, c, torch.tensor([1, 0, 2, 3]))[:, 0].tolist()
        assert r == [0.0, 1.0, 1.0, 3.0]  # own row left out (a class of one row keeps it)
    finally:
        g.extra_ = extra


def test_at_kernel_width_zero_a_sample_is_its_code_decoded_plus_the_nearest_other_rows_residual(fitted, data):
    X, y = data
    g = fitted
    h = g.extra_["kde_h"].clone()
    try:
        g.extra_["kde_h"].zero_()
        c = torch.tensor([0] * 6 + [1] * 6)
        with torch.no_grad():
            z, _, rows = g._latent_sampler().sample_rows(c, torch.Generator().manual_seed(4))
            u = g._draw_unit(c, torch.Generator().manual_seed(4)).reshape(len(c), -1).numpy()
    finally:
        g.extra_["kde_h"].copy_(h)
    lo, hi = (float(v) for v in g.extra_["scale"][:2])
    mu = g.encode(X, y)[0]
    labels = g.classes_[c.numpy()]
    mean, lv = g.decode(z.numpy(), labels)
    mean_x, lv_x = g.decode(mu, y)
    w = ((X - mean_x) / (hi - lo) / np.exp(0.5 * lv_x)).reshape(len(X), -1)  # whitened residuals, [0, 1] units
    for i in range(len(c)):
        d = np.linalg.norm(mu - z[i].numpy(), axis=1)
        d[(y != labels[i]) | (np.arange(len(X)) == int(rows[i]))] = np.inf
        want = (mean[i] - lo) / (hi - lo) + np.exp(0.5 * lv[i]) * w[d.argmin()].reshape(mean[i].shape)
        np.testing.assert_allclose(u[i], np.clip(want, 0, 1).ravel(), atol=2e-4)


def test_reproducible_saved_older_runs_gaussian_and_refusals(fitted, data, tmp_path):
    g = fitted
    counts = {0: 5, 1: 5}
    again = get_model("vaelab-image", **FAST, texture_draw="neighbour")
    again.progress = False
    np.testing.assert_array_equal(again.fit(*data, seed=1).sample(counts, seed=2)[0], g.sample(counts, seed=2)[0])
    g.save(tmp_path / "nb")
    back = load_model(tmp_path / "nb")
    assert back.config.texture_draw == "neighbour"
    np.testing.assert_array_equal(back.sample(counts, seed=2)[0], g.sample(counts, seed=2)[0])
    plain = get_model("vaelab-image", **FAST)
    plain.progress = False
    plain.fit(*data, seed=1)
    assert "tex_all" not in plain.extra_
    assert not np.array_equal(plain.sample(counts, seed=2)[0], g.sample(counts, seed=2)[0])
    old = reloaded_as_saved_before(plain, tmp_path / "old", ("texture_draw",), counts, seed=2)
    assert old.config.texture_draw == "gaussian"
    with pytest.raises(InputError, match="texture_draw"):
        get_model("vaelab-image", texture_draw="nearest")
    without_weights(tmp_path / "nb", "extra.tex_code")
    with pytest.raises(InputError, match="tex_code"):
        load_model(tmp_path / "nb")
