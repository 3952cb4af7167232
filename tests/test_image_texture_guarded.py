"""``vaelab-image``'s ``texture_draw = "neighbour_guarded"``: the neighbour's residual (``"neighbour"``) in every class
except those whose samples at the calibrated width are nearer their nearest training image than half the calibration's
novelty target (the project's memorisation threshold); those draw the class Gaussian's residual (``"gaussian"``) and
their width is re-calibrated with it.

Known cases, on one network whose second stage is re-fitted (``fit_second_stage``) with each draw: the guard equals
the ratio recomputed from the public novelty helpers with the ``"neighbour"`` draw; with no class guarded the samples
are byte for byte the ``"neighbour"`` draw's, with every class guarded the ``"gaussian"`` draw's (widths too), with one
guarded class each class's rows are that draw's; reproducible from the seed, save / load identical, refusals.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vaelab.models.image.vaelab_image as vi
from image_data import stripes
from saved_runs import without_weights
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.samplers.kde import novelty_targets, sample_novelty

FAST = {"epochs": 4, "batch_size": 32, "latent_dim": 4, "kde_kernel": "mixture"}
COUNTS = {0: 6, 1: 6}


@pytest.fixture(scope="module")
def fitted():
    X, y = stripes(160, 12, seed=3)
    g = get_model("vaelab-image", **FAST, texture_draw="neighbour")
    g.progress = False
    g.fit(X, y, seed=1)
    xt = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    ct = torch.as_tensor(y, dtype=torch.long)
    return g, xt, ct


def _second_stage(g, xt, ct, draw: str) -> dict:
    """The second stage's tensors after re-fitting it with ``draw`` (the network unchanged)."""
    g.config.texture_draw = draw
    with torch.no_grad():
        g.fit_second_stage(xt, ct, seed=1)
    return {k: v.clone() for k, v in g.extra_.items()}


def _samples(g, extra: dict, draw: str) -> np.ndarray:
    g.config.texture_draw, g.extra_ = draw, {k: v.clone() for k, v in extra.items()}
    return g.sample(COUNTS, seed=2)[0]


def _ratios(g, xt, ct) -> list[float]:
    """Per class: novelty at the calibrated width / the novelty target, for the current second stage."""
    with torch.no_grad():
        return [sample_novelty(g.generate, ck, ref, seed=1) / target
                for _, ck, target, ref in novelty_targets(xt, ct, seed=1)]


def test_guard_follows_the_memorisation_threshold_and_each_class_gets_its_draw(fitted, monkeypatch):
    g, xt, ct = fitted
    nb = _second_stage(g, xt, ct, "neighbour")
    ratios = _ratios(g, xt, ct)
    gs = _second_stage(g, xt, ct, "gaussian")
    S_nb, S_gs = _samples(g, nb, "neighbour"), _samples(g, gs, "gaussian")
    assert not np.array_equal(S_nb, S_gs)

    ours = _second_stage(g, xt, ct, "neighbour_guarded")  # the project's threshold, 0.5
    assert vi.GUARD_RATIO == 0.5
    assert ours["tex_guard"].tolist() == [float(r < 0.5) for r in ratios]

    monkeypatch.setattr(vi, "GUARD_RATIO", 0.0)  # no class guarded: exactly the neighbour draw
    none = _second_stage(g, xt, ct, "neighbour_guarded")
    assert none["tex_guard"].tolist() == [0.0, 0.0]
    assert torch.equal(none["kde_h"], nb["kde_h"])
    np.testing.assert_array_equal(_samples(g, none, "neighbour_guarded"), S_nb)

    monkeypatch.setattr(vi, "GUARD_RATIO", 1e9)  # every class guarded: exactly the Gaussian draw, re-calibrated
    every = _second_stage(g, xt, ct, "neighbour_guarded")
    assert every["tex_guard"].tolist() == [1.0, 1.0]
    assert torch.equal(every["kde_h"], gs["kde_h"])
    np.testing.assert_array_equal(_samples(g, every, "neighbour_guarded"), S_gs)

    one = dict(none, tex_guard=torch.tensor([1.0, 0.0]))  # class 0 guarded, class 1 not, at the same widths
    S_one = _samples(g, one, "neighbour_guarded")
    S_g0 = _samples(g, dict(nb), "gaussian")  # the Gaussian draw at the neighbour's widths
    np.testing.assert_array_equal(S_one[:6], S_g0[:6])
    np.testing.assert_array_equal(S_one[6:], S_nb[6:])
    assert not np.array_equal(S_one[:6], S_nb[:6])


def test_reproducible_save_load_and_refusals(fitted, tmp_path):
    g, xt, ct = fitted
    ours = _second_stage(g, xt, ct, "neighbour_guarded")
    S = _samples(g, ours, "neighbour_guarded")
    np.testing.assert_array_equal(_samples(g, ours, "neighbour_guarded"), S)
    g.save(tmp_path / "ng")
    back = load_model(tmp_path / "ng")
    assert back.config.texture_draw == "neighbour_guarded"
    assert torch.equal(back.extra_["tex_guard"], ours["tex_guard"])
    np.testing.assert_array_equal(back.sample(COUNTS, seed=2)[0], S)
    without_weights(tmp_path / "ng", "extra.tex_guard")
    with pytest.raises(InputError, match="tex_guard"):
        load_model(tmp_path / "ng")
