"""The log-mel CNN's optimiser budget: TSTR trains for TRTR's number of steps, whatever the synthetic count."""

import numpy as np
import pytest


def _logmels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of (8 mels x 16 frames) log-mels: class b is 1.5 louder in the top half of the bins."""
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b"] * (n // 2))
    L = rng.normal(size=(n, 8, 16))
    L[y == "b", 4:] += 1.5
    return L, y


@pytest.fixture
def adam_steps(monkeypatch):
    import torch

    calls: list[int] = []
    step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: (calls.append(1), step(self, *a, **k))[1])
    return calls


def test_steps_fix_the_budget_and_equal_steps_train_the_same_network(adam_steps):
    from vaelab.modalities.audio.features import LogMelCNN

    L, y = _logmels(66, 0)  # batches of 32: 32, 32, 2 -> 3 steps per epoch
    Lt, _ = _logmels(20, 1)
    assert LogMelCNN(epochs=2).steps_for(66) == 6 and LogMelCNN(epochs=2).steps_for(65) == 4  # a lone clip is skipped
    adam_steps.clear()
    by_epochs = LogMelCNN(epochs=2, seed=3).fit(L, y)
    assert len(adam_steps) == 6
    adam_steps.clear()
    by_steps = LogMelCNN(epochs=99, seed=3, steps=6).fit(L, y)  # epochs unused when steps is given
    assert len(adam_steps) == 6
    np.testing.assert_array_equal(by_epochs.transform(Lt), by_steps.transform(Lt))
    adam_steps.clear()
    short = LogMelCNN(epochs=2, seed=3, steps=4).fit(L, y)  # stops inside the second epoch
    assert len(adam_steps) == 4 and not np.array_equal(short.transform(Lt), by_epochs.transform(Lt))


def test_evaluate_gives_tstr_the_steps_of_trtr(adam_steps, monkeypatch):
    from vaelab.modalities.audio import evaluate as ev
    from vaelab.modalities.audio.features import LogMelCNN

    fits: list[tuple[int, int]] = []
    fit = LogMelCNN.fit

    def counting(self, X, y):
        adam_steps.clear()
        out = fit(self, X, y)
        fits.append((len(X), len(adam_steps)))
        return out

    monkeypatch.setattr(LogMelCNN, "fit", counting)
    L, y = _logmels(64, 0)
    S, ys = _logmels(20, 2)  # fewer synthetic clips than real: 1 batch per epoch instead of 2
    H, yh = _logmels(20, 3)
    out = ev.evaluate_audio(L, y, S, ys, L_hold=H, y_hold=yh, cnn_epochs=3)
    assert fits == [(64, 6), (20, 6)]  # TRTR's CNN (also the feature network), then TSTR's: both 6 steps
    assert 0 <= out["tstr"] <= 1 and 0 <= out["trtr"] <= 1
