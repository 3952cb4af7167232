"""Checkpoints and ``vaelab train ... --resume`` (issue 6).

A run interrupted half-way (an exception in-process, SIGKILL for the installed command)
and resumed gives byte-identical files to an uninterrupted run with the same seed; a
checkpoint for other data / model / seed / configuration, a damaged one or one whose
tensors were replaced by a pickle is refused with one line and exit code 2.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from interrupts import Interrupted, interrupt_loss
from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.models.seed import SeedCVAE
from vaelab.runs import load_run, train_run
from vaelab.training import checkpoint as ckpt
from vaelab.training.trainer import TrainConfig, fit_module

# Tiny networks train several times faster on one thread, and a shared, busy machine makes
# multi-threaded torch far slower still; subprocesses get the same setting so that their
# bytes can be compared with in-process runs.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class MakesFile:
    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, "w"))


def vaelab_command() -> list[str]:
    script = Path(sys.executable).parent / ("vaelab.exe" if os.name == "nt" else "vaelab")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vaelab"]


def spectra(n_per: int = 6, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, d)
    X, y = [], []
    for k, c in enumerate(("a", "b", "c")):
        for _ in range(n_per):
            X.append(1 + np.exp(-((x - 0.25 - 0.25 * k) ** 2) / 0.01) + rng.normal(0, 0.05, d))
            y.append(c)
    return np.round(np.asarray(X), 6), np.asarray(y, dtype=object)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- the loop itself


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.emb = nn.Embedding(2, 4)


def toy_loss(m: Toy, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
    noisy = x + 0.3 * torch.randn_like(x)  # uses the global RNG, which must be restored too
    err = ((m.lin(noisy) + m.emb(c) - x) ** 2).sum()
    return {"loss": err, "err": err}


def interrupt_at(epoch_to_fail: int):
    def loss(m, x, c, epoch):
        if epoch == epoch_to_fail:
            raise Interrupted
        return toy_loss(m, x, c, epoch)

    return loss


def toy_fit(loss, cfg: TrainConfig, **kw) -> tuple[Toy, list[dict[str, float]]]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 4, generator=g)
    c = torch.arange(20) % 2
    Xv = torch.randn(6, 4, generator=g) if cfg.val_fraction else None
    cv = torch.arange(6) % 2 if cfg.val_fraction else None
    torch.manual_seed(123)
    m = Toy()
    hist = fit_module(m, loss, X, c, cfg, seed=7, X_val=Xv, c_val=cv, progress=False, **kw)
    return m, hist


@pytest.mark.parametrize("cfg, fail_at, every", [
    (TrainConfig(epochs=30, batch_size=6, lr=0.05), 17, 5),
    (TrainConfig(epochs=30, batch_size=6, lr=0.05, grad_clip=0.5, weight_decay=0.01), 29, 4),
    # a learning-rate schedule is a function of the epoch: resuming continues on it exactly
    (TrainConfig(epochs=30, batch_size=6, lr=0.05, lr_schedule="cosine", lr_final=0.05), 13, 5),
    # validation + early stopping: the best weights, their epoch and the patience counter survive
    (TrainConfig(epochs=200, batch_size=4, lr=0.3, val_fraction=0.1, patience=4), 5, 2),
])
def test_fit_module_resumed_equals_uninterrupted(tmp_path, cfg, fail_at, every):
    ref, ref_hist = toy_fit(toy_loss, cfg)
    with pytest.raises(Interrupted):
        toy_fit(interrupt_at(fail_at), cfg, checkpoint_dir=tmp_path, checkpoint_every=every)
    last = ckpt.latest_checkpoint(tmp_path)
    assert last is not None and last.name == f"checkpoint-{(fail_at // every) * every:06d}"
    assert [p.name for p in tmp_path.iterdir()] == [last.name]  # older checkpoints were removed
    m, hist = toy_fit(toy_loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=every, resume=True)
    assert hist == ref_hist
    for k, v in ref.state_dict().items():
        assert torch.equal(v, m.state_dict()[k]), k
    if cfg.patience:
        assert len(hist) < cfg.epochs and sum(r["best"] for r in hist) == 1  # early stopping did happen


def test_fit_module_without_checkpoints_is_unchanged_by_them(tmp_path):
    """Writing checkpoints does not disturb the result (same weights with and without)."""
    cfg = TrainConfig(epochs=12, batch_size=6, lr=0.05)
    a, ha = toy_fit(toy_loss, cfg)
    b, hb = toy_fit(toy_loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert ha == hb and all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    # the last checkpoint is marked done and a resume trains no further
    meta = json.loads((tmp_path / "checkpoint-000012" / ckpt.STATE_JSON).read_text())
    assert meta["done"] is True and meta["epoch"] == 12 and len(meta["history"]) == 12
    c, hc = toy_fit(interrupt_at(0), cfg, checkpoint_dir=tmp_path, resume=True)  # would raise if it trained
    assert hc == ha and all(torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())


class EMA:
    """Training state outside module and optimizer (like the DDPM's EMA weights), via extra_state."""

    def __init__(self, fail_at: int | None = None):
        self.shadow: torch.Tensor | None = None
        self.fail_at = fail_at

    def loss(self, m, x, c, epoch):
        if epoch == self.fail_at:
            raise Interrupted
        w = m.lin.weight.detach()
        self.shadow = w.clone() if self.shadow is None else 0.9 * self.shadow + 0.1 * w
        return toy_loss(m, x, c, epoch)

    def get(self) -> dict[str, torch.Tensor]:
        return {} if self.shadow is None else {"shadow": self.shadow}

    def set(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow = state.get("shadow")


def test_model_training_state_is_checkpointed_too(tmp_path):
    cfg = TrainConfig(epochs=15, batch_size=6, lr=0.05)
    ref = EMA()
    toy_fit(ref.loss, cfg, extra_state=(ref.get, ref.set))
    crashed = EMA(fail_at=11)
    with pytest.raises(Interrupted):
        toy_fit(crashed.loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=5, extra_state=(crashed.get, crashed.set))
    resumed = EMA()
    toy_fit(resumed.loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=5, resume=True,
            extra_state=(resumed.get, resumed.set))
    assert torch.equal(resumed.shadow, ref.shadow)
    # a loop that cannot restore such state refuses the checkpoint instead of silently dropping it
    crashed = EMA(fail_at=11)
    with pytest.raises(Interrupted):
        toy_fit(crashed.loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=5, extra_state=(crashed.get, crashed.set))
    with pytest.raises(InputError, match="training state"):
        toy_fit(toy_loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=5, resume=True)


def test_checkpoint_holds_safetensors_and_json_only(tmp_path):
    cfg = TrainConfig(epochs=4, batch_size=6, lr=0.05)
    toy_fit(toy_loss, cfg, checkpoint_dir=tmp_path, checkpoint_every=2)
    (last,) = list(tmp_path.iterdir())
    assert sorted(p.name for p in last.iterdir()) == sorted([".vaelab", ckpt.STATE_JSON, ckpt.STATE_TENSORS])
    raw = (last / ckpt.STATE_TENSORS).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])  # a safetensors header, i.e. JSON, not a pickle
    assert header["__metadata__"] == {"format": ckpt.FORMAT}
    from safetensors.torch import load_file

    t = load_file(str(last / ckpt.STATE_TENSORS))
    assert t["rng.torch"].dtype == torch.uint8 and t["rng.shuffle"].dtype == torch.uint8
    assert {"module.lin.weight", "module.emb.weight", "optim.0.exp_avg", "optim.0.exp_avg_sq", "optim.0.step"} <= set(t)
    meta = json.loads((last / ckpt.STATE_JSON).read_text())
    assert meta["format"] == ckpt.FORMAT and meta["epoch"] == 4 and len(meta["fingerprint"]) == 64
    assert meta["optimizer"]["param_groups"][0]["lr"] == 0.05


def test_fingerprint_tracks_data_config_seed_and_model():
    X, c = torch.ones(5, 4), torch.zeros(5, dtype=torch.long)
    m = Toy()
    base = dict(config={"epochs": 3}, seed=1, module=m, extra="toy")
    fp = ckpt.fingerprint({"X": X, "c": c}, **base)
    assert fp == ckpt.fingerprint({"X": X.clone(), "c": c.clone()}, **base)
    X2 = X.clone()
    X2[2, 3] = 1.0000001
    others = [
        ckpt.fingerprint({"X": X2, "c": c}, **base),
        ckpt.fingerprint({"X": X, "c": c + 1}, **base),
        ckpt.fingerprint({"X": X, "c": c}, **{**base, "config": {"epochs": 4}}),
        ckpt.fingerprint({"X": X, "c": c}, **{**base, "seed": 2}),
        ckpt.fingerprint({"X": X, "c": c}, **{**base, "extra": "other model"}),
        ckpt.fingerprint({"X": X, "c": c}, **{**base, "module": nn.Linear(4, 3)}),
    ]
    assert len({fp, *others}) == 1 + len(others)


# --------------------------------------------------------------------------- run folders


CFG = dict(epochs=24, batch_size=4, hidden=[16, 8], latent_dim=4, embed_dim=3)


@pytest.fixture
def ds() -> Dataset:
    X, y = spectra()
    return Dataset(X=X, y=y, source="spectra")


def interrupt_seed_cvae(monkeypatch, epoch_to_fail: int) -> None:
    interrupt_loss(monkeypatch, SeedCVAE, epoch_to_fail)


def test_train_run_interrupted_and_resumed_gives_identical_files(ds, tmp_path, monkeypatch, capsys):
    ref = train_run(ds, tmp_path / "ref", model="seed-cvae", config=CFG, seed=2, progress=False, checkpoint_every=5)
    assert not (tmp_path / "ref.partial").exists()  # checkpoints are removed once the run is complete
    run = tmp_path / "run"
    with monkeypatch.context() as mp:
        interrupt_seed_cvae(mp, 13)
        with pytest.raises(Interrupted):
            train_run(ds, run, model="seed-cvae", config=CFG, seed=2, progress=False, checkpoint_every=5)
    assert not run.exists()  # the run folder appears only when training is complete
    partial = ckpt.partial_path(run)
    assert [p.name for p in partial.iterdir()] == ["checkpoint-000010"]
    with pytest.raises(InputError, match="unfinished training run"):
        load_run(partial)
    with pytest.raises(InputError, match="not a run folder"):
        load_run(run)
    capsys.readouterr()
    train_run(ds, run, model="seed-cvae", config=CFG, seed=2, progress=False, checkpoint_every=5, resume=True)
    assert "(10 of 24 epochs done)" in capsys.readouterr().err
    assert files(run) == files(ref.path)
    assert not partial.exists()


SMALL = {
    "seed-cvae": CFG,
    "seed-vae": CFG,
    "vaelab-cvae": dict(epochs=12, batch_size=4, hidden=[16], latent_dim=3, gmm_components=2),
    "ddpm": dict(epochs=12, batch_size=4, hidden=16, n_blocks=1, time_embed_dim=8, timesteps=50, sample_steps=5),
}


@pytest.mark.parametrize("model", ["seed-cvae", "seed-vae", "vaelab-cvae", "ddpm"])
def test_every_torch_model_resumes_exactly(ds, tmp_path, monkeypatch, model):
    from vaelab.models import REGISTRY

    cls = REGISTRY[model]
    ref = train_run(ds, tmp_path / "ref", model=model, config=SMALL[model], seed=1, progress=False)
    with monkeypatch.context() as mp:
        interrupt_loss(mp, cls, 8)
        with pytest.raises(Interrupted):
            train_run(ds, tmp_path / "run", model=model, config=SMALL[model], seed=1, progress=False, checkpoint_every=4)
    run = train_run(ds, tmp_path / "run", model=model, config=SMALL[model], seed=1, progress=False, resume=True)
    assert len(run.generator.history_) == len(ref.generator.history_) > 8  # it did resume after epoch 8
    assert files(run.path) == files(ref.path)


def test_resume_without_checkpoint_and_fresh_train_over_stale_checkpoint(ds, tmp_path, monkeypatch):
    ref = train_run(ds, tmp_path / "ref", model="seed-cvae", config=CFG, seed=2, progress=False)
    a = train_run(ds, tmp_path / "a", model="seed-cvae", config=CFG, seed=2, progress=False, resume=True)  # nothing
    assert files(a.path) == files(ref.path)
    with monkeypatch.context() as mp:  # leave a checkpoint of *other* settings behind
        interrupt_seed_cvae(mp, 20)
        with pytest.raises(Interrupted):
            train_run(ds, tmp_path / "b", model="seed-cvae", config={**CFG, "lr": 0.01}, seed=2, progress=False,
                      checkpoint_every=5)
    b = train_run(ds, tmp_path / "b", model="seed-cvae", config=CFG, seed=2, progress=False)  # no --resume: start over
    assert files(b.path) == files(ref.path) and not ckpt.partial_path(b.path).exists()


@pytest.mark.parametrize("change, argv_change", [
    ("seed", ["--seed", "3"]),
    ("epochs", ["--epochs", "25"]),
    ("model", ["--model", "seed-vae"]),
    ("data", None),
])
def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path, monkeypatch, capsys, change, argv_change):
    X, y = spectra()
    data = tmp_path / "d.csv"
    pd.DataFrame(X).assign(label=list(y)).to_csv(data, index=False)
    toml = tmp_path / "c.toml"
    toml.write_text("batch_size = 4\nhidden = [16, 8]\nlatent_dim = 4\nembed_dim = 3\n")
    run = tmp_path / "run"
    base = ["train", str(data), "--model", "seed-cvae", "--label-column", "label", "--config", str(toml), "--seed", "2",
            "--epochs", "24",
            "--checkpoint-every", "5", "--quiet", "--out", str(run)]
    with monkeypatch.context() as mp:
        interrupt_seed_cvae(mp, 13)
        with pytest.raises(Interrupted):
            main(base)
    if argv_change is None:
        X2 = X.copy()
        X2[0, 0] += 0.5
        pd.DataFrame(X2).assign(label=list(y)).to_csv(data, index=False)
        argv = base
    else:
        argv = base[:-2] + argv_change + base[-2:]
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different data set, model, seed or configuration" in err, err
    assert not run.exists() and ckpt.latest_checkpoint(ckpt.partial_path(run)) is not None  # kept, not deleted


@pytest.mark.parametrize("damage, message", [
    ("pickle", "is a pickle/zip (torch.save) file, not safetensors"),
    ("torch.save", "is a pickle/zip (torch.save) file, not safetensors"),
    ("garbage tensors", "not a valid safetensors file"),
    ("garbage json", "damaged training checkpoint"),
    ("other format", "damaged training checkpoint"),
    ("bad generator state", "damaged training checkpoint (random generator state)"),
])
def test_damaged_or_pickled_checkpoint_is_refused(ds, tmp_path, monkeypatch, capsys, damage, message):
    X, y = spectra()
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=y.astype(str))
    run = tmp_path / "run"
    argv = ["train", str(data), "--model", "seed-cvae", "--epochs", "12", "--checkpoint-every", "5", "--quiet", "--out",
            str(run)]
    with monkeypatch.context() as mp:
        interrupt_seed_cvae(mp, 7)
        with pytest.raises(Interrupted):
            main(argv)
    last = ckpt.latest_checkpoint(ckpt.partial_path(run))
    tensors, meta = last / ckpt.STATE_TENSORS, last / ckpt.STATE_JSON
    marker = tmp_path / "pwned"
    if damage == "pickle":
        tensors.write_bytes(pickle.dumps({"module.x": MakesFile(marker)}))
    elif damage == "torch.save":
        torch.save({"x": MakesFile(marker)}, tensors)
    elif damage == "garbage tensors":
        tensors.write_bytes(np.random.default_rng(0).bytes(3000))
    elif damage == "bad generator state":
        from safetensors.torch import load_file, save_file

        t = load_file(str(tensors))
        t["rng.shuffle"] = torch.zeros(3, dtype=torch.uint8)
        save_file(t, str(tensors))
    elif damage == "garbage json":
        meta.write_bytes(b"\x00\x01 not json")
    else:
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": "something-else"}))
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vaelab: error: ") and message in err, err
    assert not marker.exists() and not run.exists()


# --------------------------------------------------------------------------- SIGKILL, installed command


def test_sigkill_half_way_then_resume_gives_identical_output(tmp_path, capsys):
    """``vaelab train`` killed with SIGKILL half-way and resumed with ``--resume`` produces the
    same run folder and the same generated file, byte for byte, as an uninterrupted run."""
    X, y = spectra(n_per=8, d=64, seed=1)
    data = tmp_path / "d.csv"
    pd.DataFrame(X, columns=[str(j) for j in range(64)]).assign(origin=list(y)).to_csv(data, index=False)
    toml = tmp_path / "c.toml"
    toml.write_text("batch_size = 4\n")
    epochs = 200
    args = ["train", str(data), "--model", "seed-cvae", "--label-column", "origin", "--config", str(toml),
            "--epochs", str(epochs), "--seed", "5", "--checkpoint-every", "10", "--quiet"]
    run, ref = tmp_path / "run", tmp_path / "ref"
    partial = ckpt.partial_path(run)

    proc = subprocess.Popen([*vaelab_command(), *args, "--out", str(run)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            last = ckpt.latest_checkpoint(partial)
            if last is not None and int(last.name.split("-")[1]) >= epochs // 2:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed half-way"
    assert not run.exists()
    killed_at = int(ckpt.latest_checkpoint(partial).name.split("-")[1])
    assert epochs // 2 <= killed_at < epochs

    resumed = subprocess.run([*vaelab_command(), *args, "--resume", "--out", str(run)], capture_output=True,
                             text=True, timeout=300, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({killed_at} of {epochs} epochs done)" in resumed.stderr
    assert not partial.exists()

    assert main([*args, "--out", str(ref)]) == 0  # the uninterrupted run
    assert files(run) == files(ref)
    for r in (run, ref):  # then vaelab generate from both
        assert main(["generate", str(r), "--per-class", "5", "--seed", "1", "--out", str(tmp_path / f"{r.name}.csv")]) == 0
    assert (tmp_path / "run.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
