"""``texture_draw = "local_auto"``: the balanced local residual draw (``"local_balanced"``) in the classes with more
codes than latent dimensions (the rule of ``kde_kernel = "auto"``), the class-wide Gaussian (``"gaussian"``) in the
others, each drawn with the same random numbers as that option."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from saved_runs import reloaded_as_saved_before, without_weights
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE
from vaelab.samplers.kde import enough_codes

_COUNTS = {"a": 6, "b": 6}


def _fit(draw: str, latent_dim: int) -> VaelabCVAE:
    X, y = _data()  # class a: 36 spectra, class b: 24
    return VaelabCVAE(**{**FAST, "latent_dim": latent_dim}, texture_draw=draw).fit(X, y, seed=0)


def test_enough_codes_counts_codes_against_the_latent_dimension():
    c = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])  # 3, 2, 4 codes; class 3 has none
    assert enough_codes(c, 4, 2).tolist() == [1.0, 0.0, 1.0, 0.0]  # more codes than 2 dimensions
    assert enough_codes(c, 4, 3).tolist() == [0.0, 0.0, 1.0, 0.0]  # 3 codes in 3 dimensions: not more


def test_every_class_gated_draws_as_gaussian_and_none_gated_as_local_balanced():
    g = _fit("local_auto", 40)  # 36 and 24 codes, 40 latent dimensions: no class draws locally
    assert g.extra_["tex_local"].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(g.sample(_COUNTS, seed=1)[0], _fit("gaussian", 40).sample(_COUNTS, seed=1)[0])
    g = _fit("local_auto", 3)  # both classes draw locally
    assert g.extra_["tex_local"].tolist() == [1.0, 1.0]
    S = g.sample(_COUNTS, seed=1)[0]
    np.testing.assert_array_equal(S, _fit("local_balanced", 3).sample(_COUNTS, seed=1)[0])
    assert not np.array_equal(S, _fit("gaussian", 3).sample(_COUNTS, seed=1)[0])


def test_the_gate_switches_per_class():
    g = _fit("local_auto", 30)  # class a: 36 > 30 codes (local), class b: 24 (class Gaussian)
    assert g.extra_["tex_local"].tolist() == [1.0, 0.0]
    tc = g._latent_sampler().state["train_class"]
    rows = torch.cat([torch.nonzero(tc == k).flatten()[:8] for k in (0, 1)])
    c = tc[rows]

    def tex(draw: str, seed: int, only: int) -> torch.Tensor:
        h = VaelabCVAE.__new__(VaelabCVAE)
        h.__dict__.update(g.__dict__)
        h.config = dataclasses.replace(g.config, texture_draw=draw)
        keep = c == only
        if draw == "gaussian":
            return h._draw("tex", c[keep], torch.Generator().manual_seed(seed), boot=False)
        return h._local_residual("tex", c[keep], rows[keep], tc, torch.Generator().manual_seed(seed))

    for k, like in ((0, "local_balanced"), (1, "gaussian")):
        assert torch.equal(tex("local_auto", 5, k), tex(like, 5, k))
    assert not torch.equal(tex("local_auto", 5, 1), tex("local_balanced", 5, 1))


def test_local_auto_is_deterministic_round_trips_and_refuses_missing_tables(tmp_path):
    from vaelab.models import load_model

    g = _fit("local_auto", 30)
    S = g.sample(_COUNTS, seed=2)[0]
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(g.sample(_COUNTS, seed=2)[0], S)
    np.testing.assert_array_equal(_fit("local_auto", 30).sample(_COUNTS, seed=2)[0], S)
    g.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample(_COUNTS, seed=2)[0], S)
    without_weights(tmp_path / "m", "extra.tex_local")
    with pytest.raises(InputError, match="tex_local"):
        load_model(tmp_path / "m")


def test_local_balanced_runs_keep_their_draws(tmp_path):
    # a "local_balanced" run has no gate table and loads and draws as it did (session 12's results reproducible)
    g = _fit("local_balanced", 30)
    assert "tex_local" not in g.extra_
    back = reloaded_as_saved_before(g, tmp_path / "old", (), _COUNTS, seed=3)
    assert back.config.texture_draw == "local_balanced"


def test_decoder_noise_is_independent_whatever_the_texture_draw():
    # noise = "decoder" draws independent noise with the residual's variance; a local texture draw must not replace it
    X, y = _data()
    fits = {d: VaelabCVAE(**FAST, noise="decoder", texture_draw=d).fit(X, y, seed=0)
            for d in ("gaussian", "local", "local_balanced", "local_auto")}
    S = fits["gaussian"].sample(_COUNTS, seed=1)[0]
    for draw in ("local", "local_balanced", "local_auto"):
        np.testing.assert_array_equal(fits[draw].sample(_COUNTS, seed=1)[0], S)
