"""Train one torch generator per seed, all seeds at once (``torch.func`` stacking + ``vmap``).

An ablation over seeds fits the same model with the same configuration on the same data
several times. :func:`fit_many` does that in one training loop: the networks' parameters
are stacked (:func:`torch.func.stack_module_state`), the model's own ``loss`` is evaluated
for all of them in one call (:func:`torch.func.vmap` over :func:`torch.func.functional_call`),
and one Adam steps all of them (Adam is element-wise, so this equals one Adam per model).

What is kept identical to ``generator.fit(X, y, seed=s)`` for each seed ``s``:

* everything before and after the training loop runs the generator's own ``fit`` code
  (data checks, preprocessing inside the model, ``set_determinism(s)``, ``build_module``,
  the stratified validation split, ``after_fit``): ``fit`` is called for every seed, one
  after the other, and only its call to the training loop is replaced;
* the initial weights, the per-epoch batch order (the same seeded permutation as
  :func:`vaelab.training.trainer.fit_module`), the optimiser, gradient clipping (per model), the
  per-model early stopping on the validation loss and the restore of each model's best
  weights.

What is only approximately identical: random numbers drawn *inside* the loss (the VAE
reparameterisation noise) come from one batched draw (``vmap(randomness="different")``)
instead of each seed's own stream, and batched matrix products may round differently in
the last bits. So a model with a deterministic loss reproduces separate runs to float
tolerance (tested), while a VAE gives a run of the same quality but not the same bits;
``fit_many`` itself is deterministic (same seeds -> same results).

Not supported here (use ``fit`` per seed): checkpoint/resume, and models whose training
needs more than the shared loop (the classical generators do not train at all). Only one
``fit_many`` may run at a time in a process (it temporarily replaces the training loop
that :class:`~vaelab.models.torch_base.TorchGenerator` calls).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelab.core.errors import InputError, VaelabError
from vaelab.training.optim import Adam
from vaelab.training.trainer import TrainConfig

_LOCK = threading.Lock()


class _LossModule(nn.Module):
    """``forward`` = the generator's loss on the wrapped network (so functional_call can swap weights)."""

    def __init__(self, net: nn.Module, loss_fn: Callable[..., dict[str, torch.Tensor]]):
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn
        self.epoch = 0

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss_fn(self.net, x, c, self.epoch)


class _Job:
    def __init__(self) -> None:
        self.args: dict[str, Any] | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.history: list[dict[str, float]] | None = None
        self.error: BaseException | None = None
        self.result: Any = None


def fit_many(make: Callable[[], Any], X: np.ndarray, y: np.ndarray, seeds: Sequence[int]) -> list[Any]:
    """Fit ``make()`` once per seed, training all the networks together.

    Args:
        make: returns a fresh, unfitted :class:`~vaelab.models.torch_base.TorchGenerator`
            (the same model and configuration every call).
        X: numpy.ndarray([n, ...]) training data in model space.
        y: array([n]) class labels.
        seeds: the seeds, e.g. ``range(10)``; each fitted generator equals (see the module
            docstring for what "equals" means) ``make().fit(X, y, seed=s)``.
    Returns:
        list of fitted generators, in the order of ``seeds``.
    """
    from vaelab.models import torch_base

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("fit_many needs at least one seed")
    gens = [make() for _ in seeds]
    for g in gens:
        if not isinstance(g, torch_base.TorchGenerator):
            raise InputError(f"fit_many trains torch generators only, got {type(g).__name__}")
        g.progress = False
    if len({(g.name, repr(g.config.to_dict())) for g in gens}) != 1:
        raise InputError("fit_many: make() must return the same model with the same configuration every time")

    local = threading.local()
    jobs = [_Job() for _ in seeds]

    def captured_fit_module(module, loss_fn, Xt, ct, cfg, *, seed, X_val=None, c_val=None, **_ignored):
        job = jobs[local.index]
        job.args = {"module": module, "loss_fn": loss_fn, "X": Xt, "c": ct, "cfg": cfg, "seed": seed,
                    "X_val": X_val, "c_val": c_val}
        job.arrived.set()
        job.release.wait()
        if job.error is not None:
            raise job.error
        assert job.history is not None
        return job.history

    def worker(i: int) -> None:
        local.index = i
        try:
            jobs[i].result = gens[i].fit(X, y, seed=seeds[i])
        except BaseException as e:  # handed to the caller below
            jobs[i].error = jobs[i].error or e
        finally:
            jobs[i].arrived.set()

    if not _LOCK.acquire(blocking=False):
        raise VaelabError("fit_many is already running in this process")
    original = torch_base.fit_module
    threads: list[threading.Thread] = []
    try:
        torch_base.fit_module = captured_fit_module
        # the code before training runs seed by seed (it seeds torch's global generator)
        for i in range(len(seeds)):
            t = threading.Thread(target=worker, args=(i,), daemon=True)
            threads.append(t)
            t.start()
            jobs[i].arrived.wait()
            if jobs[i].error is not None:
                break
        failed = next((j.error for j in jobs if j.error is not None), None)
        if failed is None:
            try:
                histories = _train_lockstep([j.args for j in jobs])  # type: ignore[misc]
                for j, h in zip(jobs, histories, strict=True):
                    j.history = h
            except BaseException as e:
                failed = e
                for j in jobs:
                    j.error = e
        # the code after training (after_fit), again seed by seed
        for i, t in enumerate(threads):
            if failed is not None and jobs[i].error is None:
                jobs[i].error = failed
            jobs[i].release.set()
            t.join()
    finally:
        for j in jobs:
            j.release.set()
        for t in threads:
            t.join()
        torch_base.fit_module = original
        _LOCK.release()
    for j in jobs:
        if j.error is not None:
            raise j.error
    return [j.result for j in jobs]


def _same(jobs: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], what: str) -> None:
    if len({key(j) for j in jobs}) != 1:
        raise InputError(f"fit_many: the seeds differ in {what}; fit them separately")


def _train_lockstep(jobs: list[dict[str, Any]]) -> list[list[dict[str, float]]]:
    """The loop of :func:`vaelab.training.trainer.fit_module`, run for all jobs at once."""
    from torch.func import functional_call, stack_module_state, vmap

    cfg: TrainConfig = jobs[0]["cfg"]
    _same(jobs, lambda j: repr(asdict(j["cfg"])), "training configuration")
    _same(jobs, lambda j: tuple(j["X"].shape), "training-set size")
    has_val = jobs[0]["X_val"] is not None and len(jobs[0]["X_val"]) > 0
    _same(jobs, lambda j: None if j["X_val"] is None else tuple(j["X_val"].shape), "validation-set size")
    modules: list[nn.Module] = [j["module"] for j in jobs]
    _same(jobs, lambda j: tuple((k, tuple(v.shape)) for k, v in j["module"].state_dict().items()), "network shape")
    M = len(jobs)

    for m in modules:
        m.train()
    params, buffers = stack_module_state(modules)
    base = copy.deepcopy(modules[0]).to("meta")
    wrapper = _LossModule(base, jobs[0]["loss_fn"])

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor, c: torch.Tensor):
        state = {f"net.{k}": v for k, v in p.items()}
        state.update({f"net.{k}": v for k, v in b.items()})
        return functional_call(wrapper, state, (x, c))

    batched = vmap(one, in_dims=(0, 0, 0, 0), randomness="different")
    Xs = torch.stack([j["X"] for j in jobs])
    cs = torch.stack([j["c"] for j in jobs])
    Xv = torch.stack([j["X_val"] for j in jobs]) if has_val else None
    cv = torch.stack([j["c_val"] for j in jobs]) if has_val else None
    plist = list(params.values())
    opt = Adam(plist, lr=cfg.lr, weight_decay=cfg.weight_decay)
    gens = [torch.Generator(device="cpu").manual_seed(int(j["seed"]) + 7919) for j in jobs]
    n = Xs.shape[1]
    rows = torch.arange(M).unsqueeze(1)
    histories: list[list[dict[str, float]]] = [[] for _ in range(M)]
    best_val = [math.inf] * M
    best_epoch = [-1] * M
    best_state: list[dict[str, torch.Tensor] | None] = [None] * M
    stale = [0] * M
    active = [True] * M

    for epoch in range(cfg.epochs):
        if not any(active):
            break
        base.train()
        wrapper.epoch = epoch
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(Xs.device)
        sums: dict[str, torch.Tensor] = {}
        for start in range(0, n, cfg.batch_size):
            idx = perms[:, start : start + cfg.batch_size]
            terms = batched(params, buffers, Xs[rows, idx], cs[rows, idx])
            opt.zero_grad(set_to_none=True)
            terms["loss"].sum().backward()
            if cfg.grad_clip:
                _clip_per_model(plist, cfg.grad_clip)
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, torch.zeros(M)) + v.detach().to("cpu", torch.float64)
        val_terms = None
        if has_val:
            base.eval()
            with torch.no_grad():
                val_terms = batched(params, buffers, Xv, cv)
        for i in range(M):
            if not active[i]:
                continue
            row: dict[str, float] = {"epoch": epoch + 1}
            row.update({k: float(v[i]) / n for k, v in sums.items()})
            if not math.isfinite(row["loss"]):
                raise VaelabError(f"training diverged at epoch {epoch + 1} for seed {jobs[i]['seed']} "
                                  f"(loss {row['loss']}); try a lower learning rate")
            if val_terms is not None:
                nv = Xv.shape[1]
                row.update({f"val_{k}": float(v[i]) / nv for k, v in val_terms.items()})
                if row["val_loss"] < best_val[i]:
                    best_val[i], best_epoch[i], stale[i] = row["val_loss"], epoch + 1, 0
                    best_state[i] = _slice_state(params, buffers, i)
                else:
                    stale[i] += 1
            histories[i].append(row)
            if (cfg.patience is not None and val_terms is not None and stale[i] >= cfg.patience
                    and epoch + 1 >= cfg.min_epochs):
                active[i] = False

    for i, m in enumerate(modules):
        state = best_state[i] if best_state[i] is not None else _slice_state(params, buffers, i)
        m.load_state_dict(state, strict=True)
        m.eval()
        if best_state[i] is not None:
            for row in histories[i]:
                row["best"] = float(row["epoch"] == best_epoch[i])
    return histories


def _slice_state(params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], i: int) -> dict[str, torch.Tensor]:
    out = {k: v[i].detach().clone() for k, v in params.items()}
    out.update({k: v[i].detach().clone() for k, v in buffers.items()})
    return out


def _clip_per_model(plist: list[torch.Tensor], max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each model's slice of the stacked gradients."""
    grads = [p.grad for p in plist if p.grad is not None]
    if not grads:
        return
    sq = torch.stack([g.pow(2).reshape(g.shape[0], -1).sum(dim=1) for g in grads]).sum(dim=0)
    coef = torch.clamp(max_norm / (sq.sqrt() + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.reshape(-1, *([1] * (g.dim() - 1))))
