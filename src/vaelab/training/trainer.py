"""The one training loop every torch model in vaelab uses.

Design points (each a bug seen in peer code, not repeated here):

* whole data set as tensors on the device once; batches are index slices of a seeded
  permutation (same semantics as ``DataLoader(shuffle=True, batch_size=B)``, without the
  per-batch Python overhead);
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
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaelab.core.errors import InputError, VaelabError


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


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", disable=not enabled, leave=False, file=sys.stderr,
                mininterval=0.5)


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


def fit_module(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, int], dict[str, torch.Tensor]],
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
) -> list[dict[str, float]]:
    """Train ``module`` in place; returns the history (one dict of mean loss terms per epoch).

    ``loss_fn(module, x_batch, c_batch, epoch)`` returns a dict with a scalar ``"loss"``
    (summed over the batch) and any other terms to log (also sums over the batch); the
    history stores per-sample means.

    With ``checkpoint_dir``, a checkpoint (module, optimizer, history, early-stopping state
    and both random generators; see :mod:`vaelab.training.checkpoint`) is written atomically every
    ``checkpoint_every`` epochs and when training ends. With ``resume=True`` training
    continues from the newest checkpoint there, if any, and gives exactly the result of an
    uninterrupted run; a checkpoint written for other data / model / seed / configuration is
    refused (``fingerprint_extra`` describes the model for that check). ``extra_state`` =
    ``(get, set)`` saves and restores training state kept outside the module and optimizer
    (e.g. EMA weights) as a dict of tensors.
    """
    from vaelab.training import checkpoint as ckpt
    from vaelab.training.optim import Adam

    opt = Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device="cpu").manual_seed(int(seed) + 7919)
    n = len(X)
    history: list[dict[str, float]] = []
    best_val, best_state, best_epoch, stale = math.inf, None, -1, 0
    start, done, fp = 0, False, ""
    if checkpoint_every < 1:
        raise VaelabError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
    if checkpoint_dir is not None:
        fp = ckpt.fingerprint({"X": X, "c": c, "X_val": X_val, "c_val": c_val}, config=asdict(cfg), seed=seed,
                              module=module, extra=fingerprint_extra)
        latest = ckpt.latest_checkpoint(checkpoint_dir) if resume else None
        if latest is not None:
            st = ckpt.load_checkpoint(latest, expect_fingerprint=fp)
            try:
                module.load_state_dict(st.module, strict=True)
            except RuntimeError as e:
                raise InputError(f"{latest}: weights do not fit the model ({str(e).splitlines()[0][:100]})") from None
            ckpt.restore_optimizer(opt, st.optimizer)
            try:
                gen.set_state(st.shuffle_rng)
                torch.set_rng_state(st.torch_rng)
                if st.cuda_rng is not None and X.device.type == "cuda":
                    torch.cuda.set_rng_state(st.cuda_rng, X.device)
            except (RuntimeError, TypeError, ValueError):
                raise InputError(f"{latest}: damaged training checkpoint (random generator state)") from None
            history = st.history
            best_state = st.best
            best_val = float(st.counters.get("best_val", math.inf))
            best_epoch = int(st.counters.get("best_epoch", -1))
            stale = int(st.counters.get("stale", 0))
            start, done = st.epoch, st.done
            if extra_state is not None:
                extra_state[1](st.extra)
            elif st.extra:
                raise InputError(f"{latest}: the checkpoint holds training state this model does not restore")
            print(f"vaelab: resuming from {latest} ({start} of {cfg.epochs} epochs done)", file=sys.stderr)

    def save(epoch_done: int, finished: bool) -> None:
        assert checkpoint_dir is not None
        ckpt.save_checkpoint(checkpoint_dir, ckpt.TrainingState(
            epoch=epoch_done, done=finished, fingerprint=fp, history=history, module=module.state_dict(),
            optimizer=opt.state_dict(), torch_rng=torch.get_rng_state(), shuffle_rng=gen.get_state(),
            cuda_rng=torch.cuda.get_rng_state(X.device) if X.device.type == "cuda" else None,
            best=best_state, counters={"best_val": best_val, "best_epoch": best_epoch, "stale": stale},
            extra=extra_state[0]() if extra_state is not None else {},
        ))

    bar = _progress(cfg.epochs, desc, progress)
    bar.update(start)
    try:
        for epoch in range(start, cfg.epochs if not done else start):
            module.train()
            perm = torch.randperm(n, generator=gen).to(X.device)
            sums: dict[str, float] = {}
            for begin in range(0, n, cfg.batch_size):
                idx = perm[begin : begin + cfg.batch_size]
                terms = loss_fn(module, X[idx], c[idx], epoch)
                loss = terms["loss"]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
                opt.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
            row: dict[str, float] = {"epoch": epoch + 1}
            row.update({k: v / n for k, v in sums.items()})
            if not math.isfinite(row["loss"]):
                raise TrainingDiverged(f"training diverged at epoch {epoch + 1} (loss {row['loss']}); try a lower learning rate")
            if X_val is not None and len(X_val):
                module.eval()
                with torch.no_grad():
                    vt = loss_fn(module, X_val, c_val, epoch)
                row.update({f"val_{k}": float(v) / len(X_val) for k, v in vt.items()})
                if row["val_loss"] < best_val:
                    best_val, best_epoch, stale = row["val_loss"], epoch + 1, 0
                    best_state = copy.deepcopy(module.state_dict())
                else:
                    stale += 1
            history.append(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.4g}", refresh=False)
            stop = cfg.patience is not None and X_val is not None and stale >= cfg.patience and epoch + 1 >= cfg.min_epochs
            if checkpoint_dir is not None and (stop or (epoch + 1) % checkpoint_every == 0 or epoch + 1 == cfg.epochs):
                save(epoch + 1, stop or epoch + 1 == cfg.epochs)
            if stop:
                break
    finally:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
        for row in history:
            row["best"] = float(row["epoch"] == best_epoch)
    module.eval()
    return history


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
