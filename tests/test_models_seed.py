"""The seed report's CVAE and VAE: architecture, shapes, determinism, persistence."""

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model


def _data(small_spectra):
    X, y, _ = small_spectra
    lo, hi = X.min(axis=1, keepdims=True), X.max(axis=1, keepdims=True)
    return (X - lo) / (hi - lo), y


def test_seed_cvae_architecture_matches_the_report():
    m = get_model("seed-cvae")
    net = m.build_module((991,), 3)
    assert net.embed.weight.shape == (3, 10)
    enc = [layer for layer in net.enc if isinstance(layer, torch.nn.Linear)]
    dec = [layer for layer in net.dec if isinstance(layer, torch.nn.Linear)]
    assert [(lyr.in_features, lyr.out_features) for lyr in enc] == [(1001, 128), (128, 64)]
    assert (net.mu.in_features, net.mu.out_features) == (64, 32)
    assert [(lyr.in_features, lyr.out_features) for lyr in dec] == [(42, 64), (64, 128), (128, 991)]
    cfg = m.config
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.latent_dim) == (500, 32, 1e-3, 32)
    vae = get_model("seed-vae").build_module((991,), 3)
    assert not hasattr(vae, "embed") and vae.enc[0].in_features == 991 and vae.dec[0].in_features == 32


@pytest.mark.parametrize("name", ["seed-cvae", "seed-vae"])
def test_fit_sample_save_load(tmp_path, small_spectra, name):
    X, y = _data(small_spectra)
    m = get_model(name, epochs=15)
    m.progress = False
    m.fit(X, y, seed=0)
    assert len(m.history_) == 15 and {"loss", "reconstruction", "kl"} <= set(m.history_[0])
    Xs, ys = m.sample({0: 4, 2: 3}, seed=5)
    assert Xs.shape == (7, X.shape[1]) and list(ys) == [0] * 4 + [2] * 3
    assert Xs.min() >= 0 and Xs.max() <= 1  # sigmoid output
    again, _ = m.sample({0: 4, 2: 3}, seed=5)
    np.testing.assert_array_equal(Xs, again)
    other, _ = m.sample({0: 4, 2: 3}, seed=6)
    assert not np.array_equal(Xs, other)
    m.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    np.testing.assert_array_equal(back.sample({0: 4, 2: 3}, seed=5)[0], Xs)


def test_training_is_deterministic(small_spectra):
    X, y = _data(small_spectra)
    a = get_model("seed-cvae", epochs=5).fit(X, y, seed=3)
    b = get_model("seed-cvae", epochs=5).fit(X, y, seed=3)
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.sample({1: 3}, seed=0)[0], b.sample({1: 3}, seed=0)[0])


def test_training_reduces_the_loss(small_spectra):
    X, y = _data(small_spectra)
    m = get_model("seed-cvae", epochs=60).fit(X, y, seed=0)
    assert m.history_[-1]["loss"] < 0.9 * m.history_[0]["loss"]


def test_images_any_trailing_shape():
    X = np.random.default_rng(0).random((12, 4, 5))
    y = np.array(["a", "b"] * 6, dtype=object)
    m = get_model("seed-cvae", epochs=2).fit(X, y, seed=0)
    Xs, ys = m.sample({"a": 2, "b": 1}, seed=0)
    assert Xs.shape == (3, 4, 5) and list(ys) == ["a", "a", "b"]


def test_seed_models_need_unit_interval_and_known_classes(small_spectra):
    X, y, _ = small_spectra
    with pytest.raises(InputError, match="minmax"):
        get_model("seed-cvae", epochs=1).fit(X, y, seed=0)
    m = get_model("seed-cvae", epochs=1).fit(*_data(small_spectra), seed=0)
    with pytest.raises(InputError, match="unknown class"):
        m.sample({"nope": 1})
    with pytest.raises(InputError, match="unknown model"):
        get_model("gan")
    with pytest.raises(InputError, match="unknown option"):
        get_model("seed-cvae", epoch=3)
