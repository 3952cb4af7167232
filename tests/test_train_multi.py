"""fit_many: several seeds trained in one stacked (vmap) loop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from vaelab.core.errors import InputError
from vaelab.models.base import ModelConfig
from vaelab.models.torch_base import TorchGenerator
from vaelab.models.vaelab_cvae import VaelabCVAE
from vaelab.training.multi import fit_many


@dataclass
class _AEConfig(ModelConfig):
    epochs: int = 15
    batch_size: int = 16
    lr: float = 1e-2
    weight_decay: float = 1e-4
    grad_clip: float | None = 0.5
    val_fraction: float = 0.25
    patience: int | None = 4
    min_epochs: int = 0
    width: int = 8


class _DeterministicAE(TorchGenerator):
    """A conditional autoencoder with an MSE loss: no random numbers inside the loss."""

    name = "test-ae"
    Config = _AEConfig

    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        (n_features,) = feature_shape
        w = self.config.width
        return nn.ModuleDict({"emb": nn.Embedding(n_classes, 2),
                              "enc": nn.Sequential(nn.Linear(n_features, w), nn.Tanh(), nn.Linear(w, 2)),
                              "dec": nn.Sequential(nn.Linear(4, w), nn.Tanh(), nn.Linear(w, n_features))})

    def loss(self, module, x, c, epoch):
        z = module["enc"](x)
        rec = module["dec"](torch.cat([z, module["emb"](c)], dim=1))
        mse = ((rec - x) ** 2).sum()
        return {"loss": mse + 1e-3 * (z**2).sum(), "mse": mse}

    def generate(self, c, gen):
        z = torch.randn(len(c), 2, generator=gen)
        return self.module["dec"](torch.cat([z, self.module["emb"](c)], dim=1))


def _data(n=48, d=10, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b"], n // 2)
    X = rng.standard_normal((n, d)) + (y == "a")[:, None] * np.linspace(-1, 1, d)
    return X, y


def test_deterministic_loss_reproduces_separate_runs():
    X, y = _data()
    seeds = [0, 1, 5]
    many = fit_many(_DeterministicAE, X, y, seeds)
    for s, g in zip(seeds, many, strict=True):
        ref = _DeterministicAE()
        ref.progress = False
        ref.fit(X, y, seed=s)
        assert len(g.history_) == len(ref.history_)
        for a, b in zip(g.history_, ref.history_, strict=True):
            assert a.keys() == b.keys()
            for k in a:
                assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-6), (s, k)
        sd, sd_ref = g.module.state_dict(), ref.module.state_dict()
        for k in sd_ref:
            torch.testing.assert_close(sd[k], sd_ref[k], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(g.sample({"a": 4}, seed=2)[0], ref.sample({"a": 4}, seed=2)[0], rtol=1e-4,
                                   atol=1e-5)
    # the seeds really differ
    assert not torch.allclose(many[0].module["enc"][0].weight, many[1].module["enc"][0].weight)


def test_vae_seeds_are_deterministic_and_fitted():
    X, y = _data(n=60, d=12)
    cfg = {"hidden": [16], "latent_dim": 3, "epochs": 8, "batch_size": 16, "gmm_components": 2}
    a = fit_many(lambda: VaelabCVAE(**cfg), X, y, [0, 1])
    b = fit_many(lambda: VaelabCVAE(**cfg), X, y, [0, 1])
    for ga, gb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ga.sample({"a": 5, "b": 5}, seed=0)[0], gb.sample({"a": 5, "b": 5}, seed=0)[0])
        assert "train_mu" in ga.extra_ and "tex_mean" in ga.extra_  # after_fit ran
        assert 1 <= len(ga.history_) <= 8 and "val_loss" in ga.history_[0]
    assert not np.allclose(a[0].sample({"a": 5}, seed=0)[0], a[1].sample({"a": 5}, seed=0)[0])


def test_errors_propagate():
    X, y = _data()
    X[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fit_many(_DeterministicAE, X, y, [0, 1])
    with pytest.raises(InputError, match="same configuration"):
        widths = iter([8, 9])
        fit_many(lambda: _DeterministicAE(width=next(widths)), *_data(), [0, 1])
    with pytest.raises(InputError, match="at least one seed"):
        fit_many(_DeterministicAE, *_data(), [])
