"""``texture_draw = "local_balanced"``: the decoded-coordinate residual from a weighted Gaussian of the code's
symmetrised neighbourhood, the weights doubly stochastic, so that every training row counts once in the marginal and
the local means' spread plus the mean local covariance is the class's residual covariance (law of total variance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saved_runs import without_weights
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _balanced_neighbours, _residual_neighbours, _weighted_draw

# one class of five codes: four close together, the fifth (at 100) is nobody's k = round(sqrt(5)) = 2 nearest
_CODES = torch.tensor([0.0, 1.0, 2.0, 3.0, 100.0]).reshape(-1, 1)
_RES = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5], [6.0, -4.0]])


def _weights(bn: torch.Tensor, bw: torch.Tensor, n: int) -> torch.Tensor:
    W = torch.zeros(n, n, dtype=torch.float64)
    W.index_put_((torch.arange(n).unsqueeze(1).expand_as(bn), bn), bw.double(), accumulate=True)
    return W


def test_balanced_neighbourhoods_are_symmetric_and_every_row_counts_once():
    c = torch.zeros(5, dtype=torch.long)
    nb = _residual_neighbours(_CODES, c, 1)
    assert nb["tex_nnk"].tolist() == [2.0]
    assert 4 not in nb["tex_nn"][:4].flatten().tolist()  # row 4 is nobody's nearest: "local" never draws from it
    b = _balanced_neighbours(nb["tex_nn"], nb["tex_nnk"], c)
    W = _weights(b["tex_bn"], b["tex_bw"], 5)
    # symmetrised support: N_i = kNN(i) U {j : i in kNN(j)}, never i itself
    support = [set(torch.nonzero(W[i]).flatten().tolist()) for i in range(5)]
    assert support == [{1, 2}, {0, 2, 3}, {0, 1, 3, 4}, {1, 2, 4}, {2, 3}]
    np.testing.assert_allclose(W.sum(dim=1), 1.0, atol=1e-6)  # each neighbourhood's weights sum to 1
    np.testing.assert_allclose(W.sum(dim=0), 1.0, atol=1e-6)  # each row's weight over the neighbourhoods: 1
    # law of total variance: mean of the local means = the class mean, mean local covariance + the local means'
    # spread = the residuals' covariance (denominator n), for any residuals
    r = _RES.double()
    m = W @ r
    within = sum(W[i, j] * torch.outer(r[j] - m[i], r[j] - m[i]) for i in range(5) for j in range(5)) / 5
    between = (m - m.mean(0)).T @ (m - m.mean(0)) / 5
    np.testing.assert_allclose(m.mean(0), r.mean(0), atol=1e-6)
    np.testing.assert_allclose(within + between, (r - r.mean(0)).T @ (r - r.mean(0)) / 5, atol=1e-5)
    # "local" (equal weights over the k nearest) counts row j by how often it is a neighbour: row 4 not at all
    L = torch.zeros(5, 5, dtype=torch.float64)
    L[torch.arange(5).unsqueeze(1), nb["tex_nn"][:, :2]] = 0.5
    assert L.sum(dim=0)[4].item() == 0.0 and L.sum(dim=0).max().item() > 1.0
    # a class of one: its own residual; two classes side by side keep their rows apart
    b2 = _balanced_neighbours(torch.tensor([[0], [2], [1]]), torch.tensor([1.0, 1.0]), torch.tensor([0, 1, 1]))
    assert b2["tex_bn"][0].tolist() == [0] and b2["tex_bw"][0].tolist() == [1.0]
    assert b2["tex_bn"][1].tolist() == [2] and b2["tex_bn"][2].tolist() == [1]


def test_a_class_without_a_doubly_stochastic_weighting_keeps_neighbourhood_weights_summing_to_one():
    # rows 2, 3, 4 have only rows 0 and 1 as neighbours (and 0, 1 only each other and them): three columns reachable
    # from two rows, so no doubly stochastic matrix fits the pattern (Hall's condition fails); Sinkhorn stops at its
    # cap and every neighbourhood's weights still sum to 1 (a proper local Gaussian), never on the row itself
    nn = torch.tensor([[1, 2], [0, 2], [0, 1], [0, 1], [0, 1]])
    b = _balanced_neighbours(nn, torch.tensor([2.0]), torch.zeros(5, dtype=torch.long), max_iter=200)
    W = _weights(b["tex_bn"], b["tex_bw"], 5)
    np.testing.assert_allclose(W.sum(dim=1), 1.0, atol=1e-6)
    assert (W.diagonal() == 0).all() and (W[2:, 2:] == 0).all()
    assert (W.sum(dim=0)[2:] - 1).abs().max().item() > 0.1  # the columns cannot all be balanced here


def test_weighted_draw_has_the_weighted_mean_and_second_moment():
    # three residuals, weights (0.5, 0.25, 0.25): mean (0.75, 0.75), C = sum_j w_j (r_j - m)(r_j - m)^T
    # = [[0.6875, 0.4375], [0.4375, 0.6875]]; a padding column (weight 0, far away) changes nothing
    r = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, 2.0], [50.0, -50.0]])
    near = torch.tensor([[0, 1, 2, 3]]).repeat(40000, 1)
    w = torch.tensor([[0.5, 0.25, 0.25, 0.0]]).repeat(40000, 1)
    e = _weighted_draw(r, near, w, torch.Generator().manual_seed(0)).double()
    np.testing.assert_allclose(e.mean(0), [0.75, 0.75], atol=0.02)  # standard error <= 0.005
    np.testing.assert_allclose(torch.cov(e.T), [[0.6875, 0.4375], [0.4375, 0.6875]], atol=0.03)
    assert torch.equal(_weighted_draw(r, near[:5], w[:5], torch.Generator().manual_seed(3)),
                       _weighted_draw(r, near[:5], w[:5], torch.Generator().manual_seed(3)))
    # the marginal over uniformly picked rows of the hand case above: the residuals' own mean and covariance
    c = torch.zeros(5, dtype=torch.long)
    nb = _residual_neighbours(_CODES, c, 1)
    b = _balanced_neighbours(nb["tex_nn"], nb["tex_nnk"], c)
    pick = torch.arange(5).repeat(20000)
    e = _weighted_draw(_RES, b["tex_bn"][pick], b["tex_bw"][pick], torch.Generator().manual_seed(1)).double()
    r = _RES.double()
    np.testing.assert_allclose(e.mean(0), r.mean(0), atol=0.05)
    cov = (r - r.mean(0)).T @ (r - r.mean(0)) / 5
    np.testing.assert_allclose(torch.cov(e.T), cov, atol=0.05 * cov.diagonal().max().item())


def test_weighted_draw_in_row_blocks_equals_one_block():
    # a small cell budget splits the gather into blocks of 2 rows (2 x 4 x 2 = 16 numbers); the random numbers are
    # drawn at once, so the draws are the one-block draws; an empty request gives an empty (0, D) draw
    r = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, 2.0], [50.0, -50.0]])
    near = torch.tensor([[0, 1, 2, 3], [1, 2, 0, 0], [3, 2, 1, 0]]).repeat(3, 1)
    w = torch.tensor([[0.5, 0.25, 0.25, 0.0], [0.6, 0.4, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]).repeat(3, 1)
    one = _weighted_draw(r, near, w, torch.Generator().manual_seed(5))
    blocks = _weighted_draw(r, near, w, torch.Generator().manual_seed(5), max_cells=16)
    np.testing.assert_allclose(blocks, one, rtol=0, atol=1e-6)
    assert not torch.equal(one, _weighted_draw(r, near, w, torch.Generator().manual_seed(6)))
    assert _weighted_draw(r, near[:0], w[:0], torch.Generator().manual_seed(5)).shape == (0, 2)


def test_vaelab_cvae_local_balanced_fits_samples_and_round_trips(tmp_path):
    from vaelab.models import load_model

    X, y = _data()
    g = VaelabCVAE(**FAST, texture_draw="local_balanced").fit(X, y, seed=0)
    bn, bw = g.extra_["tex_bn"], g.extra_["tex_bw"]
    assert bn.shape == bw.shape and bn.shape[0] == len(X)
    W = _weights(bn, bw, len(X))
    np.testing.assert_allclose(W.sum(dim=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(W.sum(dim=0), 1.0, atol=1e-5)  # every training row counts once
    cls = np.unique(y, return_inverse=True)[1]
    assert (W.diagonal() == 0).all() and (W[torch.tensor(cls[:, None] != cls[None, :])] == 0).all()  # own class only
    S = g.sample({"a": 5, "b": 5}, seed=1)[0]
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(g.sample({"a": 5, "b": 5}, seed=1)[0], S)  # same seed, same samples
    assert not np.array_equal(VaelabCVAE(**FAST, texture_draw="local").fit(X, y, seed=0)
                              .sample({"a": 5, "b": 5}, seed=1)[0], S)
    g.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({"a": 5, "b": 5}, seed=1)[0], S)
    # weights without the balanced table are refused with one line
    without_weights(tmp_path / "m", "extra.tex_bw")
    with pytest.raises(InputError, match="tex_bw"):
        load_model(tmp_path / "m")
