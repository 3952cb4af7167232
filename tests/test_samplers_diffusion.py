"""The ``diffusion`` latent sampler (a class-conditional DDPM of the training codes): protocol, reproducibility,
save/load, and the moments of a known Gaussian latent distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from image_data import stripes
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.samplers import LatentDiffusion, LatentSampler, load_sampler, make_sampler, save_sampler

SMALL = dict(hidden=32, n_blocks=1, train_steps=200, sample_steps=10, draws=2)


def _codes(n=120, L=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = (torch.arange(n) % 2).long()
    mu = torch.randn(n, L, generator=g) * 0.5 + torch.where(c[:, None] == 0, -3.0, 3.0)
    return mu, torch.full((n, L), -4.0), c, torch.randn(n, 1, generator=g)


def test_protocol_reproducible_with_the_seed_and_save_load_round_trip(tmp_path):
    mu, logvar, c, level = _codes()
    s = make_sampler("diffusion", **SMALL).fit(mu, logvar, c, 2, attached=level, seed=0)
    assert isinstance(s, LatentSampler) and s.params()["attached_dim"] == 1
    cc = torch.tensor([1, 0, 1, 1, 0])
    z, att = s.sample(cc, torch.Generator().manual_seed(5))
    assert z.shape == (5, 3) and att.shape == (5, 1) and bool(torch.isfinite(z).all())
    z2, att2 = s.sample(cc, torch.Generator().manual_seed(5))
    assert torch.equal(z, z2) and torch.equal(att, att2)
    # the same fit seed gives the same denoiser; another seed another one
    again = make_sampler("diffusion", **SMALL).fit(mu, logvar, c, 2, attached=level, seed=0)
    assert torch.equal(again.sample(cc, torch.Generator().manual_seed(5))[0], z)
    other = make_sampler("diffusion", **SMALL).fit(mu, logvar, c, 2, attached=level, seed=1)
    assert not torch.equal(other.sample(cc, torch.Generator().manual_seed(5))[0], z)
    save_sampler(s, tmp_path / "s")
    back = load_sampler(tmp_path / "s")
    assert isinstance(back, LatentDiffusion) and back.params() == s.params()
    z3, att3 = back.sample(cc, torch.Generator().manual_seed(5))
    assert torch.equal(z, z3) and torch.equal(att, att3)


def test_learns_a_known_correlated_gaussian_per_class():
    """Codes of class k ~ N(m_k, S_k), S_k with correlation +-0.8 (tiny posterior variance): the samples have
    the class means, sds and correlations; the untrained denoiser (negative control) does not."""
    rng = np.random.default_rng(0)
    m = {0: np.array([-2.0, 1.0, 0.0]), 1: np.array([2.0, -1.0, 1.0])}
    S = {0: np.array([[1.0, 0.8, 0], [0.8, 1.0, 0], [0, 0, 0.25]]),
         1: np.array([[0.5, -0.4, 0], [-0.4, 0.5, 0], [0, 0, 1.0]])}
    n = 400
    mu = torch.as_tensor(np.vstack([rng.multivariate_normal(m[k], S[k], n) for k in (0, 1)]), dtype=torch.float32)
    c = torch.repeat_interleave(torch.tensor([0, 1]), n)
    logvar = torch.full(mu.shape, -12.0)

    def moments_ok(s: LatentDiffusion) -> bool:
        z, _ = s.sample(torch.repeat_interleave(torch.tensor([0, 1]), 1500), torch.Generator().manual_seed(3))
        ok = True
        for k in (0, 1):
            zk = z[1500 * k:1500 * (k + 1)].double().numpy()
            sd, sd_true = zk.std(0), np.sqrt(np.diag(S[k]))
            corr = np.corrcoef(zk.T)[0, 1]
            corr_true = S[k][0, 1] / (sd_true[0] * sd_true[1])
            ok &= bool(np.all(np.abs(zk.mean(0) - m[k]) < 0.25 * sd_true))
            ok &= bool(np.all((sd / sd_true > 0.8) & (sd / sd_true < 1.25)))
            ok &= abs(corr - corr_true) < 0.15
        return ok

    fitted = LatentDiffusion(hidden=64, n_blocks=2, train_steps=1500, sample_steps=25, draws=1).fit(mu, logvar, c, 2)
    assert moments_ok(fitted)
    untrained = LatentDiffusion(hidden=64, n_blocks=2, train_steps=1, sample_steps=25, draws=1).fit(mu, logvar, c, 2)
    assert not moments_ok(untrained)


def test_errors(tmp_path):
    with pytest.raises(InputError, match="draws"):
        LatentDiffusion(draws=0)
    with pytest.raises(InputError, match="hidden"):
        LatentDiffusion(hidden=0)
    mu, logvar, c, _ = _codes()
    s = LatentDiffusion(**SMALL).fit(mu, logvar, c, 2)
    state = s.state_dict()
    with pytest.raises(InputError, match="lack"):
        LatentDiffusion(**SMALL).load_state_dict({k: v for k, v in state.items() if k != "ldm_sd"})
    with pytest.raises(InputError, match="do not match"):
        LatentDiffusion(**{**SMALL, "hidden": 16}).load_state_dict(state)
    with pytest.raises(InputError, match="no training code of class 2"):
        s.sample(torch.tensor([2]), torch.Generator().manual_seed(0))
    with pytest.raises(InputError, match="not fitted"):
        LatentDiffusion(**SMALL).sample(torch.tensor([0]), torch.Generator().manual_seed(0))


def test_vaelab_image_with_the_diffusion_prior_round_trips(tmp_path):
    X, y = stripes(60, size=8)
    g = get_model("vaelab-image", epochs=2, batch_size=32, latent_dim=4, prior="diffusion", ldm_steps=200)
    g.progress = False
    g.fit(X, y, seed=0)
    assert any(k.startswith("ldm_w.") for k in g.extra_)
    Xs, ys = g.sample({0: 3, 1: 2}, seed=4)
    g.save(tmp_path / "run")
    Xb, yb = load_model(tmp_path / "run").sample({0: 3, 1: 2}, seed=4)
    assert np.array_equal(Xs, Xb) and np.array_equal(ys, yb)
    with pytest.raises(InputError, match="ldm_steps"):
        get_model("vaelab-image", prior="diffusion", ldm_steps=0)
