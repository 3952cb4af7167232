"""vaelab-audio's training options passed to the shared trainer: the learning-rate schedule (``lr_schedule``,
``lr_final``) and weight averaging (``ema_decay``)."""

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.modalities.audio.mel import MelParams
from vaelab.models import get_model
from vaelab.models.audio_vae import VaelabAudioConfig
from vaelab.training.callbacks import EMA
from vaelab.training.trainer import learning_rate

P = MelParams(duration=0.25)
TINY = dict(width=16, latent_channels=8, n_res=1, batch_size=4, epochs=3, mel=P.to_dict())


def _data():
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 4, dtype=object)
    return -4 + rng.standard_normal((len(y), *P.shape)), y


def test_schedule_fields_reach_the_trainer():
    """Cosine from lr to lr_final x lr over the configured epochs: lr x (f + (1 - f)(1 + cos(pi t)) / 2)."""
    g = get_model("vaelab-audio", lr=1e-3, lr_schedule="cosine", lr_final=0.2, epochs=11, mel=P.to_dict())
    cfg = g.train_config()
    assert (cfg.lr_schedule, cfg.lr_final, cfg.epochs) == ("cosine", 0.2, 11)
    assert learning_rate(cfg, 0) == pytest.approx(1e-3)
    assert learning_rate(cfg, 5) == pytest.approx(0.6e-3)  # t = 1/2: f + (1 - f) / 2
    assert learning_rate(cfg, 10) == pytest.approx(0.2e-3)
    assert get_model("vaelab-audio", mel=P.to_dict()).train_config().lr_schedule == "constant"
    with pytest.raises(InputError):
        get_model("vaelab-audio", lr_schedule="step", mel=P.to_dict()).train_config()


def test_ema_callback_and_bad_decay():
    assert get_model("vaelab-audio", mel=P.to_dict()).callbacks() == []
    (cb,) = get_model("vaelab-audio", ema_decay=0.99, mel=P.to_dict()).callbacks()
    assert isinstance(cb, EMA) and cb.decay == 0.99
    for bad in (1.0, -0.1, True):
        with pytest.raises(InputError, match="ema_decay"):
            VaelabAudioConfig(ema_decay=bad)


def test_configs_saved_before_the_options_load_with_the_old_training():
    old = {k: v for k, v in VaelabAudioConfig().to_dict().items() if k not in ("lr_schedule", "lr_final", "ema_decay")}
    cfg = VaelabAudioConfig.from_dict(old)
    assert (cfg.lr_schedule, cfg.ema_decay) == ("constant", None)


def _weights(g):
    return np.concatenate([p.detach().numpy().ravel() for p in g.module.parameters()])


def test_ema_of_decay_zero_is_plain_training_and_averaging_changes_the_weights():
    """EMA with decay 0 keeps the last weights (shadow = weights after every step): bit-identical to no EMA."""
    X, y = _data()
    fits = {}
    for key, extra in (("plain", {}), ("ema0", {"ema_decay": 0.0}), ("ema", {"ema_decay": 0.9})):
        g = get_model("vaelab-audio", **TINY, **extra)
        g.progress = False
        fits[key] = _weights(g.fit(X, y, seed=0))
    np.testing.assert_array_equal(fits["plain"], fits["ema0"])
    assert not np.allclose(fits["plain"], fits["ema"], atol=1e-4)
