"""The one training loop every torch model in vaelab uses: :class:`Trainer`.

Design points (each a bug seen in peer code, not repeated here):

* data from a :class:`~vaelab.training.data.DataSource`: in memory (the whole data set as tensors
  on the device once; batches are index slices of a seeded permutation, the semantics of
  ``DataLoader(shuffle=True, batch_size=B)`` without the per-batch Python overhead) or streamed;
* a device (``auto`` = CUDA when present; on CPU the bytes are those of the loop before devices);
* callbacks (:mod:`vaelab.training.callbacks`): early stopping, EMA, checkpoint/resume, progress;
* one loop for one network or for M networks trained together (a *learner*:
  :class:`ModuleLearner`, :class:`~vaelab.training.multi.StackedLearner`);
* gradient clipping, when asked for, runs *after* ``backward()`` and before ``step()``;
* the best weights (by validation loss, when a validation part is given) are kept as a
  *copy* of the state dict, not a reference to the live tensors;
* the loss terms of every epoch are recorded (``history``), never silently dropped on NaN:
  a non-finite loss stops training with a clear error.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaelab.core.errors import InputError, VaelabError
from vaelab.training.data import DataSource, TensorSource

LossFn = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, int], dict[str, torch.Tensor]]


class TrainingDiverged(VaelabError):
    """The loss became NaN/inf: a property of the data and settings, so resuming would not help."""


@dataclass
class TrainConfig:
    epochs: int = 500
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    val_fraction: float = 0.0  # share of training samples held out for early stopping (stratified)
    patience: int | None = None  # epochs without validation improvement before stopping
    min_epochs: int = 0
    lr_schedule: str = "constant"  # "constant" or "cosine" (see :func:`learning_rate`)
    lr_final: float = 0.1  # cosine: the last epoch's rate as a share of ``lr``

    def __post_init__(self) -> None:
        check_training_options("trainer", self)


LR_SCHEDULES = ("constant", "cosine")


def check_training_options(model: str, cfg: Any) -> None:
    """One-line errors for the trainer options a model config may carry: ``lr_schedule`` (one of
    :data:`~vaelab.training.trainer.LR_SCHEDULES`), ``lr_final`` in [0, 1] and ``ema_decay`` (null or in
    [0, 1)); fields the config does not have are skipped."""
    if hasattr(cfg, "lr_schedule") and cfg.lr_schedule not in LR_SCHEDULES:
        raise InputError(f"{model}: lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {cfg.lr_schedule!r}")
    f = getattr(cfg, "lr_final", 0.0)
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f <= 1:
        raise InputError(f"{model}: lr_final must be in [0, 1], got {f!r}")
    d = getattr(cfg, "ema_decay", None)
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1):
        raise InputError(f"{model}: ema_decay must be in [0, 1) or null, got {d!r}")


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """Adam's rate in ``epoch`` (0-based), a function of the epoch number only, so a resumed run
    continues on exactly the schedule of an uninterrupted one.

    ``constant``: ``lr``. ``cosine`` (Loshchilov & Hutter 2017, SGDR, without restarts):
    ``lr * (f + (1 - f) * (1 + cos(pi * t)) / 2)`` with ``t = epoch / (epochs - 1)`` and
    ``f = lr_final``: ``lr`` in the first epoch, ``f * lr`` in the last. Early stopping ends a
    run before the last epoch; the schedule still runs over the configured ``epochs``.
    """
    if cfg.lr_schedule == "constant" or cfg.epochs <= 1:
        return float(cfg.lr)
    t = min(max(epoch, 0), cfg.epochs - 1) / (cfg.epochs - 1)
    f = float(cfg.lr_final)
    return float(cfg.lr) * (f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * t)))


def set_determinism(seed: int) -> None:
    """Seed torch's global generator; vaelab passes explicit generators everywhere else."""
    torch.manual_seed(int(seed))


@contextlib.contextmanager
def torch_threads(n: int | None = None):
    """Run torch with ``n`` intra-op threads (default: ``$VAELAB_NUM_THREADS`` or 1).

    The networks vaelab trains on small data sets are latency-bound: on a 2-core machine
    under load, 2 threads made seed-cvae training 6-15× slower than 1 thread (measured,
    spin-waiting threads), and a fixed thread count keeps results reproducible.
    """
    if n is None:
        n = int(os.environ.get("VAELAB_NUM_THREADS", "1") or 1)
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def batches_per_epoch(n: int, batch_size: int, min_size: int = 1) -> int:
    """Batches of at least ``min_size`` rows in one epoch of ``n`` rows (see :func:`step_batches`)."""
    return sum(1 for i in range(0, int(n), int(batch_size)) if min(int(batch_size), int(n) - i) >= min_size)


def step_batches(n: int, batch_size: int, steps: int, gen: torch.Generator, min_size: int = 1):
    """Index batches for exactly ``steps`` optimiser steps over shuffled epochs of ``n`` rows.

    Each epoch is one ``torch.randperm(n, generator=gen)`` cut into batches of ``batch_size``; a batch of fewer than
    ``min_size`` rows (the last one; e.g. 2 where batch norm needs two) is skipped. Stops after ``steps`` batches, so
    ``steps = epochs * batches_per_epoch(n, ...)`` gives exactly ``epochs`` epochs, and a classifier given another's
    step count gets the same optimisation budget whatever its number of rows.
    """
    n, bs, total = int(n), int(batch_size), int(steps)
    if total <= 0 or n < min_size:
        return
    done = 0
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            b = perm[i:i + bs]
            if len(b) < min_size:
                continue
            yield b
            done += 1
            if done == total:
                return


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with ``fraction`` of each class (at least one, never all) in val."""
    rng = np.random.default_rng(seed)
    tr, va = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx)))
        k = min(max(k, 1), len(idx) - 1) if fraction > 0 and len(idx) > 1 else 0
        va.append(idx[:k])
        tr.append(idx[k:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(va))


class ModuleLearner:
    """One ``nn.Module`` and its loss: what :class:`Trainer` optimises (``n_models = 1``).

    :class:`~vaelab.training.multi.StackedLearner` is the same interface for M networks trained
    together; a learner hides how the loss of a batch is evaluated and how weights are copied.
    """

    n_models = 1

    def __init__(self, module: torch.nn.Module, loss_fn: LossFn):
        self.module, self.loss_fn = module, loss_fn

    def modules(self) -> list[torch.nn.Module]:
        return [self.module]

    def parameters(self) -> list[torch.Tensor]:
        return list(self.module.parameters())

    def train(self, mode: bool = True) -> None:
        self.module.train(mode)

    def terms(self, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        return self.loss_fn(self.module, x, c, epoch)

    def backward(self, terms: dict[str, torch.Tensor]) -> None:
        terms["loss"].backward()

    def clip(self, max_norm: float) -> None:
        torch.nn.utils.clip_grad_norm_(self.module.parameters(), max_norm)

    def values(self, terms: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        """The loss terms of each model as python floats."""
        return [{k: float(v.detach()) for k, v in terms.items()}]

    def state(self, i: int) -> dict[str, torch.Tensor]:
        """A copy (never a reference) of model ``i``'s weights."""
        return copy.deepcopy(self.module.state_dict())

    def load(self, i: int, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    def finish(self) -> None:
        self.module.eval()


class Trainer:
    """The one training loop of vaelab (see the module docstring), with a device and callbacks.

    Parameters
    ----------
    config : TrainConfig
        epochs, batch size, Adam's learning rate (and its schedule) and weight decay, gradient
        clipping, patience.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``; see :mod:`vaelab.training.device`.
    callbacks : sequence of Callback
        e.g. ``[EMA(0.999), Checkpoint(folder, every=25, resume=True)]``; an
        :class:`~vaelab.training.callbacks.EarlyStopping` is added when a validation part is given
        (unless one is passed), a :class:`~vaelab.training.callbacks.Progress` bar when ``progress``.
    progress : bool
        Show a progress bar on stderr.
    desc : str
        Its label.

    ``fit(module, loss_fn, data, val=..., seed=...)`` trains one network in place and returns its
    history; ``fit_learner`` trains any learner (several stacked networks) and returns one history per
    model. During a fit the trainer exposes ``learner``, ``optimizer``, ``gens`` (the shuffle
    generators), ``data``, ``val``, ``seeds``, ``epoch``, ``epoch_rows`` ({model: row} of the current
    epoch), ``histories``, ``active`` (models still training) and ``device`` to its callbacks.
    """

    def __init__(self, config: TrainConfig, *, device: str = "cpu", callbacks: Sequence[Any] = (),
                 progress: bool = False, desc: str = "training"):
        from vaelab.training.device import resolve_device

        self.config = config
        self.device = torch.device(resolve_device(device))
        self.extra_callbacks = list(callbacks)
        self.progress, self.desc = progress, desc

    def fit(self, module: torch.nn.Module, loss_fn: LossFn, data: DataSource, *, seed: int,
            val: TensorSource | None = None) -> list[dict[str, float]]:
        """Train ``module`` (moved to the trainer's device) on ``data``; returns the history."""
        module.to(self.device)
        return self.fit_learner(ModuleLearner(module, loss_fn), data, seeds=[seed], val=val)[0]

    def fit_learner(self, learner: Any, data: DataSource, *, seeds: Sequence[int],
                    val: TensorSource | None = None) -> list[list[dict[str, float]]]:
        from vaelab.training.callbacks import EarlyStopping, Progress
        from vaelab.training.optim import Adam

        cfg = self.config
        if len(seeds) != learner.n_models:
            raise VaelabError(f"{learner.n_models} models but {len(seeds)} seeds")
        self.learner, self.seeds = learner, [int(s) for s in seeds]
        self.data = data.to(self.device)
        self.val = None if val is None or len(val) == 0 else val.to(self.device)
        cbs = list(self.extra_callbacks)
        if self.val is not None and not any(isinstance(cb, EarlyStopping) for cb in cbs):
            cbs.append(EarlyStopping(cfg.patience, cfg.min_epochs))
        if self.progress and not any(isinstance(cb, Progress) for cb in cbs):
            cbs.append(Progress(self.desc))
        self.callbacks = sorted(cbs, key=lambda cb: cb.order)
        self.optimizer = Adam(learner.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.gens = [torch.Generator(device="cpu").manual_seed(s + 7919) for s in self.seeds]
        M = learner.n_models
        self.histories: list[list[dict[str, float]]] = [[] for _ in range(M)]
        self.active = [True] * M
        self.start_epoch, self.done, self.epoch, self.epoch_rows = 0, False, 0, {}
        try:
            for cb in self.callbacks:
                cb.on_fit_start(self)
            for epoch in range(self.start_epoch, cfg.epochs if not self.done else self.start_epoch):
                self.epoch = epoch
                self._epoch(epoch)
                for cb in self.callbacks:
                    cb.on_epoch_end(self)
                if not any(self.active):
                    break
        finally:
            for cb in self.callbacks:
                if hasattr(cb, "close"):
                    cb.close()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        learner.finish()
        return self.histories

    def _epoch(self, epoch: int) -> None:
        cfg, learner = self.config, self.learner
        learner.train(True)
        self.optimizer.lr = learning_rate(cfg, epoch)
        sums: list[dict[str, float]] = [{} for _ in range(learner.n_models)]
        n = 0
        for x, c in self.data.batches(self.gens, cfg.batch_size):
            terms = learner.terms(x, c, epoch)
            self.optimizer.zero_grad(set_to_none=True)
            learner.backward(terms)
            if cfg.grad_clip:
                learner.clip(cfg.grad_clip)
            self.optimizer.step()
            for cb in self.callbacks:
                cb.on_step_end(self)
            for s, vals in zip(sums, learner.values(terms), strict=True):
                for k, v in vals.items():
                    s[k] = s.get(k, 0.0) + v
            n += int(c.shape[-1] if c.dim() > 1 else len(c))
        val_values = None
        if self.val is not None:
            learner.train(False)
            with torch.no_grad():
                val_values = learner.values(learner.terms(self.val.X, self.val.c, epoch))
        self.epoch_rows = {}
        for i in range(learner.n_models):
            if not self.active[i]:
                continue
            row: dict[str, float] = {"epoch": epoch + 1}
            row.update({k: v / n for k, v in sums[i].items()})
            if not math.isfinite(row["loss"]):
                who = f" for seed {self.seeds[i]}" if learner.n_models > 1 else ""
                raise TrainingDiverged(f"training diverged at epoch {epoch + 1}{who} (loss {row['loss']}); "
                                       "try a lower learning rate")
            if val_values is not None:
                nv = len(self.val)
                row.update({f"val_{k}": v / nv for k, v in val_values[i].items()})
            self.histories[i].append(row)
            self.epoch_rows[i] = row


def fit_module(
    module: torch.nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    c: torch.Tensor,
    cfg: TrainConfig,
    *,
    seed: int,
    X_val: torch.Tensor | None = None,
    c_val: torch.Tensor | None = None,
    progress: bool = True,
    desc: str = "training",
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 25,
    resume: bool = False,
    fingerprint_extra: str = "",
    extra_state: tuple[Callable[[], dict[str, torch.Tensor]], Callable[[dict[str, torch.Tensor]], None]] | None = None,
    callbacks: Sequence[Any] = (),
    device: str = "cpu",
) -> list[dict[str, float]]:
    """Train ``module`` in place on in-memory tensors; returns the history (one dict of mean loss
    terms per epoch). A functional shortcut for :class:`Trainer` with a :class:`TensorSource`.

    ``loss_fn(module, x_batch, c_batch, epoch)`` returns a dict with a scalar ``"loss"``
    (summed over the batch) and any other terms to log (also sums over the batch); the
    history stores per-sample means.

    With ``checkpoint_dir``, a checkpoint (:class:`~vaelab.training.callbacks.Checkpoint`) is written
    atomically every ``checkpoint_every`` epochs and when training ends; ``resume=True`` continues
    from the newest one there and gives exactly the result of an uninterrupted run
    (``fingerprint_extra`` describes the model for refusing a checkpoint of another one).
    ``extra_state = (get, set)`` saves and restores training state kept elsewhere.
    """
    from vaelab.training.callbacks import Checkpoint, StateHook

    cbs = list(callbacks)
    if checkpoint_every < 1:
        raise VaelabError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
    if extra_state is not None:
        cbs.append(StateHook(*extra_state))
    if checkpoint_dir is not None:
        cbs.append(Checkpoint(checkpoint_dir, every=checkpoint_every, resume=resume, describe=fingerprint_extra))
    val = TensorSource(X_val, c_val) if X_val is not None else None
    trainer = Trainer(cfg, device=device, callbacks=cbs, progress=progress, desc=desc)
    return trainer.fit(module, loss_fn, TensorSource(X, c), seed=seed, val=val)


def history_to_csv(history: list[dict[str, Any]]) -> str:
    """History rows as CSV text (columns in first-seen order)."""
    cols: list[str] = []
    for row in history:
        for k in row:
            if k not in cols:
                cols.append(k)
    lines = [",".join(cols)]
    for row in history:
        lines.append(",".join("" if k not in row else (str(int(row[k])) if k == "epoch" else repr(float(row[k]))) for k in cols))
    return "\n".join(lines) + "\n"
