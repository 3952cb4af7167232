"""ddpm: protocol (shapes, determinism, save/load) and a check that it learns a known distribution."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch

from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.models.base import WEIGHTS_FILE
from vaelab.models.ddpm import DDPM, cosine_alpha_bar

TINY = dict(hidden=16, n_blocks=1, time_embed_dim=8, train_steps=6, batch_size=8, sample_steps=5)


@pytest.fixture(autouse=True)
def one_thread():
    """Small models train fastest on one thread (and far faster on a shared, busy CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n_per: int = 10, shape: tuple[int, ...] = (6,), seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([100 + 10 * k + rng.standard_normal((n_per, *shape)) for k in range(3)])
    y = np.repeat(np.asarray(["x", "y", "z"], dtype=object), n_per)
    return X, y


def _fit(X, y, seed=0, **cfg) -> DDPM:
    m = DDPM(**{**TINY, **cfg})
    m.progress = False
    return m.fit(X, y, seed=seed)


def test_cosine_schedule():
    ab = cosine_alpha_bar(1000).numpy()
    assert ab.shape == (1000,) and np.all(np.diff(ab) < 0) and 0 < ab[-1] < 1e-6
    # ᾱ_t = f(t+1)/f(0) with f(t) = cos²((t/T + s)/(1 + s)·π/2) wherever β is not clipped
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 100, 500, 900):
        assert ab[t] == pytest.approx(f(t + 1) / f(0), rel=1e-9)


def test_shapes_labels_and_range():
    X, y = _data(shape=(2, 3))
    m = _fit(X, y)
    Xs, ys = m.sample({"z": 4, "x": 3, "y": 0}, seed=0)
    assert Xs.shape == (7, 2, 3) and Xs.dtype == np.float64
    assert list(ys) == ["x"] * 3 + ["z"] * 4
    assert np.all(np.isfinite(Xs))
    # samples come back in data units (the model standardises internally), not around 0
    assert 80 < Xs.mean() < 140
    assert m.sample({"x": 0}, seed=0)[0].shape == (0, 2, 3)


def test_train_steps_set_the_epochs():
    X, y = _data(n_per=10)  # 30 rows, batch 8: 4 batches per epoch
    assert len(_fit(X, y, train_steps=20).history_) == 5
    assert len(_fit(X, y, epochs=3).history_) == 3


def test_deterministic_and_seed_dependent():
    X, y = _data()
    m1, m2 = _fit(X, y, seed=1), _fit(X, y, seed=1)
    a, _ = m1.sample({"x": 5, "y": 5}, seed=3)
    np.testing.assert_array_equal(a, m2.sample({"x": 5, "y": 5}, seed=3)[0])
    np.testing.assert_array_equal(a, m1.sample({"x": 5, "y": 5}, seed=3)[0])
    assert not np.allclose(a, m1.sample({"x": 5, "y": 5}, seed=4)[0])
    assert not np.allclose(a, _fit(X, y, seed=2).sample({"x": 5, "y": 5}, seed=3)[0])
    # stochastic DDIM (eta > 0) is seeded too
    m1.config.eta = 1.0
    b = m1.sample({"x": 5}, seed=3)[0]
    np.testing.assert_array_equal(b, m1.sample({"x": 5}, seed=3)[0])
    assert not np.allclose(b, a[:5])


def test_save_load_round_trip(tmp_path):
    X, y = _data(shape=(3, 2))
    m = _fit(X, y, guidance_scale=2.0)
    m.save(tmp_path / "run")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["model"] == "ddpm" and cfg["feature_shape"] == [3, 2] and cfg["classes"] == ["x", "y", "z"]
    assert cfg["config"]["guidance_scale"] == 2.0
    m2 = load_model(tmp_path / "run")
    assert isinstance(m2, DDPM) and m2.config == m.config
    np.testing.assert_array_equal(m2.extra_["mean"].numpy(), X.reshape(len(X), -1).mean(axis=0))
    s1, y1 = m.sample({"x": 4, "z": 2}, seed=7)
    s2, y2 = m2.sample({"x": 4, "z": 2}, seed=7)
    np.testing.assert_array_equal(s1, s2)
    assert list(y1) == list(y2)


def test_load_refuses_pickle_and_missing_scaling(tmp_path):
    from safetensors.torch import load_file, save_file

    X, y = _data()
    _fit(X, y).save(tmp_path)
    good = (tmp_path / WEIGHTS_FILE).read_bytes()
    tensors = load_file(str(tmp_path / WEIGHTS_FILE))
    save_file({k: v for k, v in tensors.items() if k != "extra.sd"}, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(InputError, match="extra.sd"):
        load_model(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(pickle.dumps(tensors))
    with pytest.raises(InputError, match="pickle"):
        load_model(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(good)
    assert isinstance(load_model(tmp_path), DDPM)


def test_guidance_changes_samples_and_needs_unconditional_training():
    X, y = _data()
    m = _fit(X, y, train_steps=20)
    a = m.sample({"x": 6}, seed=0)[0]
    m.config.guidance_scale = 3.0
    b = m.sample({"x": 6}, seed=0)[0]
    assert not np.allclose(a, b)
    with pytest.raises(InputError, match="p_uncond"):
        DDPM(guidance_scale=2.0, p_uncond=0.0)


def test_ema_decay_zero_equals_no_ema():
    """β = 0 makes the average the last weights: identical to ema_decay=None; β > 0 differs."""
    X, y = _data()
    none = _fit(X, y, ema_decay=None, train_steps=12)
    zero = _fit(X, y, ema_decay=0.0, train_steps=12)
    avg = _fit(X, y, ema_decay=0.9, train_steps=12)
    for (k, p), q in zip(none.module.state_dict().items(), zero.module.state_dict().values(), strict=True):
        assert torch.equal(p, q), k
    assert any(not torch.equal(p, r) for p, r in zip(none.module.parameters(), avg.module.parameters(), strict=True))


def test_interrupted_and_resumed_training_gives_the_same_model(tmp_path):
    """The EMA weights live outside the module; checkpoints carry them, so resuming is exact."""
    X, y = _data()
    cfg = dict(TINY, epochs=6, batch_size=10)
    ref = _fit(X, y, **cfg)

    class Interrupted(Exception):
        pass

    crashed = DDPM(**cfg)
    crashed.progress, crashed.checkpoint_dir, crashed.checkpoint_every = False, tmp_path, 2
    real_loss = crashed.loss

    def failing_loss(module, x, c, epoch):
        if epoch == 3:
            raise Interrupted
        return real_loss(module, x, c, epoch)

    crashed.loss = failing_loss
    with pytest.raises(Interrupted):
        crashed.fit(X, y, seed=0)
    resumed = DDPM(**cfg)
    resumed.progress, resumed.checkpoint_dir, resumed.checkpoint_every, resumed.resume = False, tmp_path, 2, True
    resumed.fit(X, y, seed=0)
    assert len(resumed.history_) == 6
    for (k, v), w in zip(ref.module.state_dict().items(), resumed.module.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    np.testing.assert_array_equal(ref.sample({"x": 3}, seed=0)[0], resumed.sample({"x": 3}, seed=0)[0])


@pytest.mark.parametrize("bad", [
    {"target": "v"}, {"min_snr_gamma": -1.0}, {"sample_steps": 0}, {"sample_steps": 2000}, {"p_uncond": 1.0}, {"hidden": 0},
    {"eta": -1.0}, {"ema_decay": 1.0}, {"timesteps": 1}, {"train_steps": 0}, {"nonsense": 1},
])
def test_config_errors(bad):
    with pytest.raises(InputError):
        get_model("ddpm", **bad)


def test_constant_feature_stays_constant():
    X, y = _data()
    X[:, 2] = 5.0
    Xs, _ = _fit(X, y).sample({"x": 4, "y": 4}, seed=0)
    np.testing.assert_allclose(Xs[:, 2], 5.0)


def _gaussians(n: int, seed: int):
    rng = np.random.default_rng(seed)
    d = 8
    mu = {0: np.linspace(-2, 2, d), 1: np.linspace(2, -2, d) + 1}
    sd = {0: np.linspace(0.5, 1.5, d), 1: np.full(d, 0.7)}
    X = np.vstack([mu[k] + sd[k] * rng.standard_normal((n, d)) for k in (0, 1)])
    return X, np.repeat([0, 1], n), mu, sd


GAUSS = dict(hidden=64, n_blocks=1, time_embed_dim=32, batch_size=256, lr=3e-3, ema_decay=0.99, sample_steps=25,
             train_steps=500)


def test_learns_two_gaussians():
    """2 classes of 8-d Gaussians with different means and sds: class means and sds are learned.

    d = 8 <= hidden, so the default target "auto" is ε. The untrained network (negative
    control) fails the same tolerances.
    """
    X, y, mu, sd = _gaussians(250, seed=0)
    trained = DDPM(**GAUSS)
    trained.progress = False
    trained.fit(X, y, seed=0)
    assert trained.target == "eps"
    Xs, ys = trained.sample({0: 1000, 1: 1000}, seed=1)
    for k in (0, 1):
        s = Xs[ys == k]
        np.testing.assert_allclose(s.mean(axis=0), mu[k], atol=0.25)
        ratio = s.std(axis=0) / sd[k]
        assert np.all((ratio > 0.75) & (ratio < 1.33)), ratio
    untrained = DDPM(**{**GAUSS, "train_steps": 1})
    untrained.progress = False
    Xu, yu = untrained.fit(X, y, seed=0).sample({0: 1000, 1: 1000}, seed=1)
    errors = [np.abs(Xu[yu == k].mean(axis=0) - mu[k]).max() for k in (0, 1)]
    ratios = np.concatenate([Xu[yu == k].std(axis=0) / sd[k] for k in (0, 1)])
    assert max(errors) > 0.25 or np.any((ratios < 0.75) | (ratios > 1.33))


def test_x0_target_learns_two_gaussians():
    """The x₀ parameterisation (used when d > hidden) learns the class means and, roughly, the sds."""
    X, y, mu, sd = _gaussians(250, seed=1)
    m = DDPM(target="x0", min_snr_gamma=50.0, **GAUSS)
    m.progress = False
    Xs, ys = m.fit(X, y, seed=0).sample({0: 1000, 1: 1000}, seed=1)
    for k in (0, 1):
        s = Xs[ys == k]
        np.testing.assert_allclose(s.mean(axis=0), mu[k], atol=0.3)
        ratio = s.std(axis=0) / sd[k]
        assert np.all((ratio > 0.5) & (ratio < 1.33)) and np.median(ratio) > 0.8, ratio
