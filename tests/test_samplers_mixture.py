"""The kde's ``mixture`` kernel (vaelab.samplers.kde): the covariance kernel shaped like each code's cluster.

Known case: a class whose codes form two well-separated Gaussian modes (means -4 / +4 on the first axis, sd 0.5).
A wide kernel shaped like the class (``covariance``, shrunk) is one Gaussian per class, with sd ~4 on that axis,
and puts ~38 % of its codes in the empty gap between the modes; the mixture kernel at the same width recovers
both modes: their means, their sds and their equal weights, and nothing in between.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from image_data import stripes
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.samplers import CalibratedKDE, load_sampler, make_sampler, save_sampler


def _bimodal(n=400, L=4, seed=0):
    """Class 0: two modes N((-4, 0, ..), 0.25 I) and N((+4, 0, ..), 0.25 I), n/2 codes each; class 1: N(0, 0.25 I)."""
    g = torch.Generator().manual_seed(seed)
    c = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n // 2, dtype=torch.long)])
    mu = 0.5 * torch.randn(len(c), L, generator=g)
    mu[: n // 2, 0] -= 4.0
    mu[n // 2 : n, 0] += 4.0
    return mu, torch.full_like(mu, -12.0), c


def _wide(kernel, h=10.0):
    mu, logvar, c = _bimodal()
    s = CalibratedKDE(kernel=kernel, shrink=True).fit(mu, logvar, c, 2, seed=0)
    s.state["kde_h"][:] = h
    return s, s.sample(torch.zeros(20000, dtype=torch.long), torch.Generator().manual_seed(1))[0], mu[c == 0]


def test_a_wide_mixture_kernel_keeps_both_modes_where_the_class_shaped_kernel_fills_the_gap():
    _, z, _ = _wide("covariance")
    gap = (z[:, 0].abs() < 2).float().mean().item()
    assert 0.30 < gap < 0.46  # one Gaussian N(0, 16.25) on the first axis: P(|z| < 2) = 0.38
    _, z, codes = _wide("mixture")
    x = z[:, 0]
    assert (x.abs() < 2).float().mean().item() < 0.002  # the modes are 8 sds apart: nothing in between
    left, right = z[x < 0], z[x > 0]
    assert abs(len(left) / len(z) - 0.5) < 0.02
    for part, mode in ((left, codes[codes[:, 0] < 0]), (right, codes[codes[:, 0] > 0])):
        # each mode as its codes have it (200 codes of N(+-4, 0.25 I): means within 0.1, sds within 0.1 of 0.5)
        np.testing.assert_allclose(part.mean(0).numpy(), mode.mean(0).numpy(), atol=0.05)
        np.testing.assert_allclose(part.std(0).numpy(), mode.std(0).numpy(), rtol=0.08)


def test_mixture_kernel_at_zero_width_is_the_posterior_draw_and_calibration_widens_it():
    mu, logvar, c = _bimodal(n=200)
    s = CalibratedKDE(kernel="mixture").fit(mu, logvar, c, 2, seed=0)
    cc = torch.tensor([0, 0, 1, 0])
    draw = make_sampler("aggregate").fit(mu, logvar, c, 2)
    # h = 0: the training code's posterior draw (the kernel noise is drawn after it, so the draws agree)
    assert torch.equal(s.sample(cc[:1], torch.Generator().manual_seed(3))[0],
                       draw.sample(cc[:1], torch.Generator().manual_seed(3))[0])
    # identity decoder, near-zero posterior noise: copies at h = 0, so the novelty rule must widen the kernel
    s.calibrate(lambda k, gen: s.sample(k, gen)[0], mu, c, seed=0)
    assert (s.state["kde_h"] > 0).all()
    assert s.state["kde_comp"].shape == (len(mu),) and s.state["kde_cmean"].shape == (2, 8, 4)
    assert int(s.state["kde_comp"].max()) < 8


def test_mixture_kernel_is_reproducible_and_round_trips(tmp_path):
    s, _, _ = _wide("mixture", h=1.3)
    cc = torch.tensor([1, 0, 0, 1, 0])
    z = s.sample(cc, torch.Generator().manual_seed(5))[0]
    assert torch.equal(z, s.sample(cc, torch.Generator().manual_seed(5))[0])
    assert not torch.equal(z, s.sample(cc, torch.Generator().manual_seed(6))[0])
    save_sampler(s, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    assert back.kernel == "mixture" and torch.equal(z, back.sample(cc, torch.Generator().manual_seed(5))[0])
    state = s.state_dict()
    del state["kde_croot"]
    with pytest.raises(InputError, match="mixture kernel needs"):
        make_sampler("kde", kernel="mixture").load_state_dict(state)


def test_vaelab_image_with_the_mixture_kernel_round_trips(tmp_path):
    X, y = stripes(60, size=8)
    g = get_model("vaelab-image", epochs=2, batch_size=32, latent_dim=4, kde_kernel="mixture")
    g.progress = False
    g.fit(X, y, seed=0)
    assert "kde_croot" in g.extra_
    Xs, ys = g.sample({0: 3, 1: 2}, seed=4)
    g.save(tmp_path / "run")
    Xb, yb = load_model(tmp_path / "run").sample({0: 3, 1: 2}, seed=4)
    assert np.array_equal(Xs, Xb) and np.array_equal(ys, yb)
