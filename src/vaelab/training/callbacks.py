"""Callbacks of the :class:`~vaelab.training.trainer.Trainer`: what happens around the loop.

A callback implements any of ``on_fit_start(trainer)``, ``on_step_end(trainer)`` (after every
optimiser step), ``on_epoch_end(trainer)`` (after the epoch's history rows are appended) and
``on_fit_end(trainer)``; callbacks that hold training state expose it as tensors
(``state_dict`` / ``load_state_dict``) so that :class:`Checkpoint` can save and restore it.
Callbacks run in the order of their ``order`` attribute (early stopping 10, EMA 20, your own 50,
checkpoint 90, progress 100): the checkpoint sees the early-stopping decision of the same epoch.

* :class:`EarlyStopping` — keeps a *copy* of the best weights by validation loss (never a
  reference to the live tensors), restores them at the end, and stops a model after
  ``patience`` epochs without improvement (not before ``min_epochs``). The trainer adds it
  whenever a validation part is given.
* :class:`EMA` — an exponential moving average of the weights after every optimiser step,
  with the warm-up ``min(decay, (1 + k) / (10 + k))``; replaces the weights at the end.
* :class:`Checkpoint` — writes the whole training state every ``every`` epochs and at the end
  (:mod:`vaelab.training.checkpoint`); ``resume=True`` continues from the newest checkpoint and
  ends with exactly the weights of an uninterrupted run.
* :class:`Progress` — a tqdm bar on stderr.
* :class:`StateHook` — saves and restores state kept elsewhere, given as ``(get, set)`` functions.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vaelab.core.errors import InputError, VaelabError

if TYPE_CHECKING:
    from vaelab.training.trainer import Trainer


class Callback:
    """Base class: every hook does nothing; no state."""

    order: int = 50

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer) -> None: ...

    def on_epoch_end(self, trainer: Trainer) -> None: ...

    def on_fit_end(self, trainer: Trainer) -> None: ...

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Training state as tensors (keys unique among the callbacks of one trainer)."""
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise InputError(f"the checkpoint holds training state ({sorted(state)[:3]}) that {type(self).__name__} "
                             "does not restore")


class EarlyStopping(Callback):
    """Best weights by validation loss, per model; stop after ``patience`` stale epochs (None: never)."""

    order = 10

    def __init__(self, patience: int | None = None, min_epochs: int = 0):
        self.patience, self.min_epochs = patience, int(min_epochs)
        self.best_val: list[float] = []
        self.best_epoch: list[int] = []
        self.stale: list[int] = []
        self.best: list[dict[str, torch.Tensor] | None] = []

    def on_fit_start(self, trainer: Trainer) -> None:
        m = trainer.learner.n_models
        self.best_val, self.best_epoch, self.stale, self.best = [math.inf] * m, [-1] * m, [0] * m, [None] * m

    def on_epoch_end(self, trainer: Trainer) -> None:
        for i, row in trainer.epoch_rows.items():
            if "val_loss" not in row:
                continue
            if row["val_loss"] < self.best_val[i]:
                self.best_val[i], self.best_epoch[i], self.stale[i] = row["val_loss"], int(row["epoch"]), 0
                self.best[i] = trainer.learner.state(i)
            else:
                self.stale[i] += 1
            if self.patience is not None and self.stale[i] >= self.patience and row["epoch"] >= self.min_epochs:
                trainer.active[i] = False

    def on_fit_end(self, trainer: Trainer) -> None:
        for i, best in enumerate(self.best):
            if best is None:
                continue
            trainer.learner.load(i, best)
            for row in trainer.histories[i]:
                row["best"] = float(row["epoch"] == self.best_epoch[i])

    # the checkpoint stores these in its own fields (``best.*`` tensors and counters), one model only
    def counters(self) -> dict[str, Any]:
        return {"best_val": self.best_val[0], "best_epoch": self.best_epoch[0], "stale": self.stale[0]}

    def restore(self, best: dict[str, torch.Tensor] | None, counters: dict[str, Any]) -> None:
        self.best = [best]
        self.best_val = [float(counters.get("best_val", math.inf))]
        self.best_epoch = [int(counters.get("best_epoch", -1))]
        self.stale = [int(counters.get("stale", 0))]


class EMA(Callback):
    """Exponential moving average of the weights (all models' parameters, element-wise).

    ``shadow <- beta shadow + (1 - beta) theta`` after optimiser step k (k = 1, 2, ...) with
    ``beta = min(decay, (1 + k) / (10 + k))``; the shadow starts as a copy of the initial weights
    and replaces the weights at the end of training (after early stopping's restore).
    """

    order = 20

    def __init__(self, decay: float):
        if isinstance(decay, bool) or not 0 <= decay < 1:
            raise InputError(f"EMA decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.shadow: list[torch.Tensor] | None = None
        self.updates = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self.shadow = [p.detach().clone() for p in trainer.learner.parameters()]
        self.updates = 0

    def on_step_end(self, trainer: Trainer) -> None:
        assert self.shadow is not None
        self.updates += 1
        k = self.updates
        beta = min(self.decay, (1 + k) / (10 + k))
        with torch.no_grad():
            for e, p in zip(self.shadow, trainer.learner.parameters(), strict=True):
                e.lerp_(p.detach(), 1 - beta)

    def on_fit_end(self, trainer: Trainer) -> None:
        assert self.shadow is not None
        with torch.no_grad():
            for p, e in zip(trainer.learner.parameters(), self.shadow, strict=True):
                p.copy_(e)

    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.shadow is None:
            return {}
        state = {f"ema.{i}": e.clone() for i, e in enumerate(self.shadow)}
        state["ema_updates"] = torch.tensor(self.updates, dtype=torch.int64)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        assert self.shadow is not None
        keys = {f"ema.{i}" for i in range(len(self.shadow))} | {"ema_updates"}
        if set(state) != keys or any(tuple(state[f"ema.{i}"].shape) != tuple(e.shape) for i, e in enumerate(self.shadow)):
            raise InputError("the checkpoint's EMA weights do not match the network")
        self.shadow = [state[f"ema.{i}"].clone().to(device=e.device, dtype=e.dtype) for i, e in enumerate(self.shadow)]
        self.updates = int(state["ema_updates"])


class StateHook(Callback):
    """Checkpoint state kept outside the trainer: ``get()`` returns tensors, ``set(state)`` restores them."""

    def __init__(self, get: Callable[[], dict[str, torch.Tensor]], set: Callable[[dict[str, torch.Tensor]], None]):
        self.get, self.set = get, set

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.get()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.set(state)


class Progress(Callback):
    """A tqdm progress bar (stderr, one tick per epoch, the loss as postfix)."""

    order = 100

    def __init__(self, desc: str = "training", enabled: bool = True):
        self.desc, self.enabled, self.bar = desc, enabled, None

    def on_fit_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.config.epochs, desc=self.desc, unit="epoch", disable=not self.enabled,
                        leave=False, file=sys.stderr, mininterval=0.5)
        self.bar.update(trainer.start_epoch)

    def on_epoch_end(self, trainer: Trainer) -> None:
        self.bar.update(1)
        row = trainer.epoch_rows.get(0)
        if row is not None:
            self.bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Checkpoint(Callback):
    """Save the training state to ``folder`` every ``every`` epochs and at the end; resume from it.

    ``describe`` names the model and its configuration for the fingerprint that makes a resume
    refuse a checkpoint written for other data, model, seed or configuration.
    """

    order = 90

    def __init__(self, folder: str | Path, *, every: int = 25, resume: bool = False, describe: str = ""):
        if every < 1:
            raise VaelabError(f"checkpoint_every must be at least 1, got {every}")
        self.folder, self.every, self.resume, self.describe = Path(folder), int(every), bool(resume), describe
        self.fp = ""

    def _others(self, trainer: Trainer) -> list[Callback]:
        return [cb for cb in trainer.callbacks if cb is not self and not isinstance(cb, EarlyStopping)]

    def on_fit_start(self, trainer: Trainer) -> None:
        from vaelab.training import checkpoint as ckpt

        if trainer.learner.n_models != 1:
            raise InputError("checkpoints are written for one model at a time; train the seeds separately")
        arrays = {**trainer.data.fingerprint_arrays(), "X_val": None, "c_val": None}
        if trainer.val is not None:
            va = trainer.val.fingerprint_arrays()
            arrays.update({"X_val": va["X"], "c_val": va["c"]})
        self.fp = ckpt.fingerprint(arrays, config=asdict(trainer.config), seed=trainer.seeds[0],
                                   module=trainer.learner.modules()[0], extra=self.describe)
        latest = ckpt.latest_checkpoint(self.folder) if self.resume else None
        if latest is None:
            return
        st = ckpt.load_checkpoint(latest, expect_fingerprint=self.fp)
        module = trainer.learner.modules()[0]
        try:
            module.load_state_dict(st.module, strict=True)
        except RuntimeError as e:
            raise InputError(f"{latest}: weights do not fit the model ({str(e).splitlines()[0][:100]})") from None
        ckpt.restore_optimizer(trainer.optimizer, st.optimizer)
        try:
            trainer.gens[0].set_state(st.shuffle_rng)
            torch.set_rng_state(st.torch_rng)
            if st.cuda_rng is not None and trainer.device.type == "cuda":
                torch.cuda.set_rng_state(st.cuda_rng, trainer.device)
        except (RuntimeError, TypeError, ValueError):
            raise InputError(f"{latest}: damaged training checkpoint (random generator state)") from None
        trainer.histories = [st.history]
        for cb in trainer.callbacks:
            if isinstance(cb, EarlyStopping):
                cb.restore(st.best, st.counters)
        others = [cb for cb in self._others(trainer) if not isinstance(cb, Progress)]
        extra = dict(st.extra)
        if len(others) == 1:
            others[0].load_state_dict(extra)
            extra = {}
        for cb in others if len(others) > 1 else []:
            cb.load_state_dict({k: extra.pop(k) for k in list(extra) if k in cb.state_dict()})
        if extra:
            raise InputError(f"{latest}: the checkpoint holds training state this model does not restore")
        trainer.start_epoch, trainer.done = st.epoch, st.done
        print(f"vaelab: resuming from {latest} ({st.epoch} of {trainer.config.epochs} epochs done)", file=sys.stderr)

    def on_epoch_end(self, trainer: Trainer) -> None:
        e = trainer.epoch + 1
        stop = not trainer.active[0]
        if stop or e % self.every == 0 or e == trainer.config.epochs:
            self.save(trainer, e, stop or e == trainer.config.epochs)

    def save(self, trainer: Trainer, epoch_done: int, finished: bool) -> None:
        from vaelab.training import checkpoint as ckpt

        es = next((cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)), None)
        extra: dict[str, torch.Tensor] = {}
        for cb in self._others(trainer):
            extra.update(cb.state_dict())
        counters = es.counters() if es is not None else {"best_val": math.inf, "best_epoch": -1, "stale": 0}
        ckpt.save_checkpoint(self.folder, ckpt.TrainingState(
            epoch=epoch_done, done=finished, fingerprint=self.fp, history=trainer.histories[0],
            module=trainer.learner.modules()[0].state_dict(), optimizer=trainer.optimizer.state_dict(),
            torch_rng=torch.get_rng_state(), shuffle_rng=trainer.gens[0].get_state(),
            cuda_rng=torch.cuda.get_rng_state(trainer.device) if trainer.device.type == "cuda" else None,
            best=es.best[0] if es is not None else None, counters=counters, extra=extra,
        ))


def describe_model(name: str, config: dict[str, Any]) -> str:
    """The model part of a checkpoint fingerprint."""
    return json.dumps({"model": name, "config": config}, sort_keys=True, default=str)
