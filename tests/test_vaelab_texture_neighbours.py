"""``texture_draw = "neighbours"``: the decoded-coordinate residual of a sample is that of a training spectrum whose
code is near the sample's (the k-nearest-neighbour bootstrap of Lall & Sharma 1996: k = round(sqrt(n_k)), the j-th
nearest with probability proportional to 1 / j), never that of the spectrum the code was drawn from."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _near_rows, _residual_neighbours

# one class of 9 codes on a line at irregular places, so that no two distances tie
_LINE = torch.tensor([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 21.0, 28.0, 36.0]).reshape(-1, 1)


def test_neighbour_table_and_k_per_class():
    c = torch.zeros(9, dtype=torch.long)
    nb = _residual_neighbours(_LINE, c, 1)
    assert nb["tex_nnk"].tolist() == [3.0]  # round(sqrt(9))
    # row 3 (at 6): the others at distances 3 (row 2), 4 (row 4), 5 (row 1), 6 (row 0), 9 (row 5): nearest first
    assert nb["tex_nn"][3].tolist() == [2, 4, 1]
    assert nb["tex_nn"][0].tolist() == [1, 2, 3]
    # two classes of 9 and 2 codes: k = 3 and 1 (a class of two has one other code)
    mu = torch.cat([_LINE, torch.tensor([[100.0], [101.0]])])
    c2 = torch.tensor([0] * 9 + [1, 1])
    nb2 = _residual_neighbours(mu, c2, 2)
    assert nb2["tex_nnk"].tolist() == [3.0, 1.0]
    assert nb2["tex_nn"][9, 0].item() == 10 and nb2["tex_nn"][10, 0].item() == 9


def test_near_rows_follow_the_one_over_j_kernel_and_never_return_the_own_row():
    c = torch.zeros(9, dtype=torch.long)
    nb = _residual_neighbours(_LINE, c, 1)
    n = 22000
    rows = torch.full((n,), 3, dtype=torch.long)
    picked = _near_rows(rows, torch.zeros(n, dtype=torch.long), nb["tex_nn"], nb["tex_nnk"], torch.Generator().manual_seed(0))
    freq = [(picked == r).double().mean().item() for r in (2, 4, 1)]
    # weights 1, 1/2, 1/3 normalised: 6/11, 3/11, 2/11 (standard error <= 0.0034 with 22000 draws)
    np.testing.assert_allclose(freq, [6 / 11, 3 / 11, 2 / 11], atol=0.012)
    assert sum(freq) == pytest.approx(1.0)  # nothing else, in particular never row 3 itself
    again = _near_rows(rows, torch.zeros(n, dtype=torch.long), nb["tex_nn"], nb["tex_nnk"], torch.Generator().manual_seed(0))
    assert torch.equal(picked, again)


def _data():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 1, 48)
    band = np.exp(-0.5 * ((t - 0.5) / 0.03) ** 2)
    amp = rng.exponential(1.0, (60, 1)) * (rng.random((60, 1)) < 0.5)  # half the spectra without the band
    X = amp * band + 0.3 * np.sin(3 * t) * (1 + 0.2 * rng.standard_normal((60, 1))) + 0.02 * rng.standard_normal((60, 48))
    return X, np.array(["a"] * 36 + ["b"] * 24)


FAST = {"hidden": [16], "latent_dim": 3, "epochs": 8, "batch_size": 16, "patience": 4}


def test_vaelab_cvae_neighbours_residual_is_a_near_training_residual_and_round_trips(tmp_path):
    from vaelab.models import load_model

    X, y = _data()
    g = VaelabCVAE(**FAST, texture_draw="neighbours").fit(X, y, seed=0)
    assert g.extra_["tex_nnk"].tolist() == [6.0, 5.0]  # round(sqrt(36)), round(sqrt(24))
    # every training residual is kept, in its class's order: row m of class k times the factor plus the class mean
    # is the m-th training residual of the class (here: the rows of the near spectra the samples take)
    nk, mult = g.extra_["tex_boot"][0].tolist()
    assert int(nk) == 36 and mult == pytest.approx(np.sqrt(35), rel=1e-6)
    S = g.sample({"a": 5, "b": 5}, seed=1)[0]
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(g.sample({"a": 5, "b": 5}, seed=1)[0], S)  # same seed, same samples
    g.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    np.testing.assert_array_equal(back.sample({"a": 5, "b": 5}, seed=1)[0], S)
    # weights without the neighbour table are refused with one line
    from safetensors.torch import load_file, save_file

    w = tmp_path / "m" / "weights.safetensors"
    tensors = load_file(str(w))
    del tensors["extra.tex_nn"]
    save_file(tensors, str(w), metadata={"format": "vaelab", "model": "vaelab-cvae"})
    with pytest.raises(InputError, match="tex_nn"):
        load_model(tmp_path / "m")


def test_default_is_unchanged_and_old_runs_load_with_the_gaussian_residual(tmp_path):
    from vaelab.models import load_model

    X, y = _data()
    g = VaelabCVAE(**FAST).fit(X, y, seed=0)
    assert g.config.texture_draw == "gaussian" and "tex_nn" not in g.extra_
    g.save(tmp_path / "old")
    S = g.sample({"a": 4, "b": 4}, seed=2)[0]
    f = tmp_path / "old" / "config.json"
    cfg = json.loads(f.read_text())
    del cfg["config"]["texture_draw"]  # a run saved before the option
    f.write_text(json.dumps(cfg))
    back = load_model(tmp_path / "old")
    assert back.config.texture_draw == "gaussian"
    np.testing.assert_array_equal(back.sample({"a": 4, "b": 4}, seed=2)[0], S)
