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

import copy
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import VaelabError


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
) -> list[dict[str, float]]:
    """Train ``module`` in place; returns the history (one dict of mean loss terms per epoch).

    ``loss_fn(module, x_batch, c_batch, epoch)`` returns a dict with a scalar ``"loss"``
    (summed over the batch) and any other terms to log (also sums over the batch); the
    history stores per-sample means.
    """
    opt = torch.optim.Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device="cpu").manual_seed(int(seed) + 7919)
    n = len(X)
    history: list[dict[str, float]] = []
    best_val, best_state, best_epoch, stale = math.inf, None, -1, 0
    bar = _progress(cfg.epochs, desc, progress)
    try:
        for epoch in range(cfg.epochs):
            module.train()
            perm = torch.randperm(n, generator=gen).to(X.device)
            sums: dict[str, float] = {}
            for start in range(0, n, cfg.batch_size):
                idx = perm[start : start + cfg.batch_size]
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
                raise VaelabError(f"training diverged at epoch {epoch + 1} (loss {row['loss']}); try a lower learning rate")
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
            if cfg.patience is not None and X_val is not None and stale >= cfg.patience and epoch + 1 >= cfg.min_epochs:
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
