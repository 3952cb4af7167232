"""The Trainer: device resolution, callbacks (EMA, custom hooks), data sources, run.json device, --device."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.training.callbacks import EMA, Callback
from vaelab.training.data import IterableSource, TensorSource
from vaelab.training.device import resolve_device
from vaelab.training.trainer import TrainConfig, Trainer


def _toy(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(30, 4, generator=g)
    c = (torch.arange(30) % 2).long()
    return X, c


def _net() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 4))


def _mse(module, x, c, epoch):
    loss = ((module(x) - x) ** 2).sum()
    return {"loss": loss, "mse": loss}


# ---------------------------------------------------------------------------- device
def test_device_resolution(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu" and resolve_device("CPU") == "cpu"
    with pytest.raises(InputError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda" and resolve_device("cpu") == "cpu"


def test_cli_device_cuda_without_cuda_is_one_line_exit_2(tmp_path, small_spectra, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, y, _ = small_spectra
    df = pd.DataFrame(X)
    df.insert(0, "label", y)
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False, header=False)
    assert main(["train", str(data), "--model", "ppca", "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vaelab: error:") and "CUDA" in err[0]
    assert not (tmp_path / "r").exists()
    assert main(["train", str(data), "--model", "seed-cvae", "--epochs", "2", "--device", "cpu", "--quiet",
                 "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "run.json").read_text())["device"] == "cpu"
    assert main(["train", str(data), "--model", "ppca", "--out", str(tmp_path / "p")]) == 0  # auto, nothing trains
    assert json.loads((tmp_path / "p" / "run.json").read_text())["device"] == "cpu"


# ---------------------------------------------------------------------------- callbacks
class _Recorder(Callback):
    def __init__(self):
        self.events, self.params = [], []

    def on_fit_start(self, trainer):
        self.events.append("start")
        self.params.append([p.detach().clone() for p in trainer.learner.parameters()])

    def on_step_end(self, trainer):
        self.events.append("step")
        self.params.append([p.detach().clone() for p in trainer.learner.parameters()])

    def on_epoch_end(self, trainer):
        self.events.append(f"epoch{trainer.epoch + 1}")

    def on_fit_end(self, trainer):
        self.events.append("end")


def test_callback_hooks_and_ema_is_the_average_of_the_weights_after_each_step():
    X, c = _toy()
    cfg = TrainConfig(epochs=3, batch_size=8, lr=0.05)
    rec = _Recorder()
    net = _net()
    Trainer(cfg, callbacks=[EMA(0.9), rec]).fit(net, _mse, TensorSource(X, c), seed=1)
    steps = 3 * 4  # 30 rows, batches of 8
    assert rec.events == ["start", *(["step"] * 4 + ["epoch1"]), *(["step"] * 4 + ["epoch2"]),
                          *(["step"] * 4 + ["epoch3"]), "end"]
    # EMA by hand: shadow = initial weights, then shadow <- beta shadow + (1 - beta) theta_k
    shadow = [p.clone() for p in rec.params[0]]
    for k in range(1, steps + 1):
        beta = min(0.9, (1 + k) / (10 + k))
        shadow = [s.lerp(p, 1 - beta) for s, p in zip(shadow, rec.params[k], strict=True)]
    for p, s in zip(net.parameters(), shadow, strict=True):
        assert torch.equal(p.detach(), s)  # the EMA replaced the last weights


def test_trainer_history_matches_fit_module_and_progress_off():
    from vaelab.training.trainer import fit_module

    X, c = _toy()
    cfg = TrainConfig(epochs=4, batch_size=7, lr=0.05, grad_clip=0.5)
    a, b = _net(), _net()
    ha = Trainer(cfg).fit(a, _mse, TensorSource(X, c), seed=2)
    hb = fit_module(b, _mse, X, c, cfg, seed=2, progress=False)
    assert ha == hb and len(ha) == 4 and set(ha[0]) == {"epoch", "loss", "mse"}
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


# ---------------------------------------------------------------------------- data sources
def test_streaming_source_equals_in_memory_source():
    """A streaming source that yields the same batches (same seeded permutation) trains the same bits."""
    X, c = _toy()
    cfg = TrainConfig(epochs=3, batch_size=8, lr=0.05)

    def batches(gen):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), 8):
            idx = perm[i : i + 8]
            yield X[idx].numpy(), c[idx].numpy()  # e.g. read from disk: numpy arrays are fine

    a, b = _net(), _net()
    ha = Trainer(cfg).fit(a, _mse, TensorSource(X, c), seed=4)
    hb = Trainer(cfg).fit(b, _mse, IterableSource(batches, describe="toy"), seed=4)
    assert ha == hb
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_validation_part_adds_early_stopping_and_best_weights():
    X, c = _toy()
    cfg = TrainConfig(epochs=50, batch_size=8, lr=0.3, patience=2)
    net = _net()
    hist = Trainer(cfg).fit(net, _mse, TensorSource(X[:24], c[:24]), seed=0, val=TensorSource(X[24:], c[24:]))
    assert len(hist) < 50 and "val_loss" in hist[0]
    best = [r for r in hist if r["best"] == 1.0]
    assert len(best) == 1 and best[0]["val_loss"] == min(r["val_loss"] for r in hist)
    with torch.no_grad():
        assert float(_mse(net, X[24:], c[24:], 0)["loss"]) / 6 == pytest.approx(best[0]["val_loss"], rel=1e-6)


def test_cosine_learning_rate_known_values_and_the_optimiser_uses_them():
    """SGDR's cosine without restarts: lr at the first epoch, lr_final * lr at the last, the mean of
    the two half way (t = 1/2, cos = 0); constant is lr throughout."""
    from vaelab.training.trainer import learning_rate

    cfg = TrainConfig(epochs=5, lr=0.2, lr_schedule="cosine", lr_final=0.1)
    assert [learning_rate(cfg, e) for e in (0, 2, 4)] == pytest.approx([0.2, 0.11, 0.02])
    assert learning_rate(cfg, 1) == pytest.approx(0.2 * (0.1 + 0.9 * (1 + np.cos(np.pi / 4)) / 2))
    assert {learning_rate(TrainConfig(epochs=5, lr=0.2), e) for e in range(5)} == {0.2}

    class Record(Callback):
        def __init__(self):
            self.rates = []

        def on_epoch_end(self, trainer):
            self.rates.append(trainer.optimizer.lr)

    X, c = _toy()
    rec = Record()
    Trainer(cfg, callbacks=[rec]).fit(_net(), _mse, TensorSource(X, c), seed=0)
    assert rec.rates == [learning_rate(cfg, e) for e in range(5)]
    # a cosine run ends on other weights than a constant one (the schedule is really applied)
    a, b = _net(), _net()
    Trainer(cfg).fit(a, _mse, TensorSource(X, c), seed=0)
    Trainer(TrainConfig(epochs=5, lr=0.2)).fit(b, _mse, TensorSource(X, c), seed=0)
    assert not torch.equal(a[0].weight, b[0].weight)


@pytest.mark.parametrize("kw", [{"lr_schedule": "step"}, {"lr_final": 1.5}, {"lr_final": -0.1}])
def test_train_config_rejects_bad_schedules(kw):
    with pytest.raises(InputError):
        TrainConfig(**kw)


def test_ema_rejects_bad_decay():
    with pytest.raises(InputError):
        EMA(1.0)


def test_tensor_source_checks_lengths():
    with pytest.raises(ValueError):
        TensorSource(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
    assert len(TensorSource(torch.zeros(2, 5, 3), torch.zeros(2, 5, dtype=torch.long), stacked=True)) == 5


def test_models_train_on_the_trainers_device_and_sample_on_cpu(monkeypatch):
    """device='cpu' is honoured; a fitted torch model's module is back on CPU for sampling."""
    from vaelab.models import get_model

    rng = np.random.default_rng(0)
    X, y = rng.random((20, 6)), np.repeat(["a", "b"], 10)
    g = get_model("seed-cvae", epochs=2)
    g.progress, g.device = False, "cpu"
    g.fit(X, y, seed=0)
    assert next(g.module.parameters()).device.type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    g2 = get_model("seed-cvae", epochs=2)
    g2.progress, g2.device = False, "cuda"
    with pytest.raises(InputError, match="CUDA"):
        g2.fit(X, y, seed=0)
