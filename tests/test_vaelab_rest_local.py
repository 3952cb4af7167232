"""``rest_draw = "local"``: the rest outside the principal axes (``r / s``) from the code's balanced neighbourhood (the
same neighbourhood and weights as the decoded-coordinate residual of ``texture_draw = "local_balanced"`` and its gated
variants), in the classes that draw that residual locally; elsewhere the class Gaussian with the same random numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saved_runs import reproducible_round_trip, without_weights
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, class_residuals

_COUNTS = {"a": 6, "b": 6}


def _fit(rest: str, draw: str = "local_checked", latent_dim: int = 3) -> VaelabCVAE:
    X, y = _data()  # class a: 36 spectra, class b: 24
    return VaelabCVAE(**{**FAST, "latent_dim": latent_dim}, texture_draw=draw, rest_draw=rest).fit(X, y, seed=0)


def _rest_directions(g: VaelabCVAE, X: np.ndarray) -> torch.Tensor:
    """Each row's rest outside the fitted axes, as a unit vector (d,)."""
    _, rest = g.module.split(torch.as_tensor(X, dtype=torch.float32))
    return rest / rest.norm(dim=1, keepdim=True)


def test_the_kept_rests_are_the_training_rests():
    # known values: the stored rows times their factor plus the mean give back every training rest r / s, in class order
    X, y = _data()
    g = _fit("local")
    _, rest = g.module.split(torch.as_tensor(X, dtype=torch.float32))
    for k, name in enumerate(("a", "b")):
        kept = class_residuals(g.extra_, k, "rest")
        assert kept.shape == (int((y == name).sum()), X.shape[1])
        torch.testing.assert_close(kept, rest[torch.as_tensor(y == name)], rtol=1e-4, atol=1e-5)


def test_a_one_row_neighbourhood_gives_that_row_s_rest():
    # every balanced neighbourhood's weight moved onto its first row: the weighted Gaussian is that row's rest exactly
    # (m_i = r_j, no spread), so every sample's rest points along one training rest of its class; the class Gaussian's
    # rests do not
    X, y = _data()
    g = _fit("local", draw="local_balanced")
    bw = torch.zeros_like(g.extra_["tex_bw"])
    bw[:, 0] = 1.0
    g.extra_["tex_bw"] = bw
    S, ys = g.sample(_COUNTS, seed=1)
    train = _rest_directions(g, X)
    for k in ("a", "b"):
        cos = _rest_directions(g, S[ys == k]) @ train[torch.as_tensor(y == k)].T
        assert cos.max(dim=1).values.min() > 1 - 1e-4
    gauss = _fit("gaussian", draw="local_balanced")
    S0, ys0 = gauss.sample(_COUNTS, seed=1)
    assert (_rest_directions(gauss, S0) @ _rest_directions(gauss, X).T).max(dim=1).values.max() < 0.99


def test_gated_classes_draw_the_gaussian_bytes_and_local_ones_differ():
    # every class gated by the count (latent_dim 40 > 36): the rest_draw = "gaussian" bytes
    np.testing.assert_array_equal(_fit("local", latent_dim=40).sample(_COUNTS, seed=1)[0],
                                  _fit("gaussian", latent_dim=40).sample(_COUNTS, seed=1)[0])
    g = _fit("local")
    assert g.extra_["tex_local"].tolist() == [1.0, 1.0]
    assert not np.array_equal(g.sample(_COUNTS, seed=1)[0], _fit("gaussian").sample(_COUNTS, seed=1)[0])


def test_rest_local_is_deterministic_round_trips_and_old_runs_load_as_gaussian(tmp_path):
    from saved_runs import reloaded_as_saved_before
    from vaelab.models import load_model

    assert VaelabCVAE().config.rest_draw == "gaussian"
    back = reproducible_round_trip(lambda: _fit("local"), _COUNTS, tmp_path / "m")
    assert back.config.rest_draw == "local"
    without_weights(tmp_path / "m", "extra.rest_boot")
    with pytest.raises(InputError, match="rest_draw = 'local'.*rest_boot"):
        load_model(tmp_path / "m")
    # a run saved before rest_draw existed loads as "gaussian" and draws as it did
    old = reloaded_as_saved_before(_fit("gaussian"), tmp_path / "old", ("rest_draw",), _COUNTS, seed=1)
    assert old.config.rest_draw == "gaussian" and "rest_boot" not in old.extra_


@pytest.mark.parametrize("kw, match", [({"rest_draw": "near"}, "rest_draw must be one of"),
                                       ({"rest_draw": "local", "texture_draw": "gaussian"}, "rest_draw = 'local' needs"),
                                       ({"rest_draw": "local", "texture_draw": "local"}, "rest_draw = 'local' needs")])
def test_bad_rest_draw_values_are_refused_in_one_line(kw, match):
    with pytest.raises(InputError, match=match) as e:
        VaelabCVAE(**kw)
    assert "\n" not in str(e.value)
