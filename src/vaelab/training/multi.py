"""Train one torch generator per seed, all seeds at once (``torch.func`` stacking + ``vmap``).

An ablation over seeds fits the same model with the same configuration on the same data
several times. :func:`fit_many` does that in one training loop: the networks' parameters
are stacked (:func:`torch.func.stack_module_state`), the model's own ``loss`` is evaluated
for all of them in one call (:func:`torch.func.vmap` over :func:`torch.func.functional_call`),
and one Adam steps all of them (Adam is element-wise, so this equals one Adam per model).
The loop is :class:`~vaelab.training.trainer.Trainer`'s own: :class:`StackedLearner` is the
learner of M stacked networks, as :class:`~vaelab.training.trainer.ModuleLearner` is of one.

What is kept identical to ``generator.fit(X, y, seed=s)`` for each seed ``s``:

* everything before and after the training loop runs the generator's own code
  (:meth:`~vaelab.models.torch_base.TorchGenerator.prepare_fit`: data checks, preprocessing inside
  the model, ``set_determinism(s)``, ``build_module``, the stratified validation split; and
  :meth:`~vaelab.models.torch_base.TorchGenerator.finish_fit`: ``after_fit``), seed by seed;
* the initial weights, the per-epoch batch order (the same seeded permutation as
  :class:`~vaelab.training.trainer.Trainer`), the optimiser, gradient clipping (per model), the
  per-model early stopping on the validation loss and the restore of each model's best
  weights, and the model's callbacks that act on parameters element-wise (EMA).

What is only approximately identical: random numbers drawn *inside* the loss (the VAE
reparameterisation noise) come from one batched draw (``vmap(randomness="different")``)
instead of each seed's own stream, and batched matrix products may round differently in
the last bits. So a model with a deterministic loss reproduces separate runs to float
tolerance (tested), while a VAE gives a run of the same quality but not the same bits;
``fit_many`` itself is deterministic (same seeds -> same results).

Not supported here (use ``fit`` per seed): checkpoint/resume, and models whose training
needs more than the shared loop (the classical generators do not train at all).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelab.core.errors import InputError
from vaelab.training.data import TensorSource
from vaelab.training.trainer import Trainer, torch_threads


class _LossModule(nn.Module):
    """``forward`` = the generator's loss on the wrapped network (so functional_call can swap weights)."""

    def __init__(self, net: nn.Module, loss_fn: Callable[..., dict[str, torch.Tensor]]):
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn
        self.epoch = 0

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss_fn(self.net, x, c, self.epoch)


class StackedLearner:
    """M networks of the same shape, their parameters stacked, one loss call for all (``vmap``).

    Loss terms have shape (M,); the backward pass runs on their sum, which gives every network
    its own gradient (the networks share no parameters).
    """

    def __init__(self, modules: Sequence[nn.Module], loss_fn: Callable[..., dict[str, torch.Tensor]]):
        from torch.func import functional_call, stack_module_state, vmap

        self._modules = list(modules)
        self.n_models = len(self._modules)
        for m in self._modules:
            m.train()
        self.params, self.buffers = stack_module_state(self._modules)
        self.base = copy.deepcopy(self._modules[0]).to("meta")
        self.wrapper = _LossModule(self.base, loss_fn)

        def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor, c: torch.Tensor):
            state = {f"net.{k}": v for k, v in p.items()}
            state.update({f"net.{k}": v for k, v in b.items()})
            return functional_call(self.wrapper, state, (x, c))

        self._batched = vmap(one, in_dims=(0, 0, 0, 0), randomness="different")
        self._plist = list(self.params.values())

    def modules(self) -> list[nn.Module]:
        return self._modules

    def parameters(self) -> list[torch.Tensor]:
        return self._plist

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def terms(self, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        self.wrapper.epoch = epoch
        return self._batched(self.params, self.buffers, x, c)

    def backward(self, terms: dict[str, torch.Tensor]) -> None:
        terms["loss"].sum().backward()

    def clip(self, max_norm: float) -> None:
        """``clip_grad_norm_`` applied to each model's slice of the stacked gradients."""
        grads = [p.grad for p in self._plist if p.grad is not None]
        if not grads:
            return
        sq = torch.stack([g.pow(2).reshape(g.shape[0], -1).sum(dim=1) for g in grads]).sum(dim=0)
        coef = torch.clamp(max_norm / (sq.sqrt() + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.reshape(-1, *([1] * (g.dim() - 1))))

    def values(self, terms: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        host = {k: v.detach().to("cpu", torch.float64) for k, v in terms.items()}
        return [{k: float(v[i]) for k, v in host.items()} for i in range(self.n_models)]

    def state(self, i: int) -> dict[str, torch.Tensor]:
        out = {k: v[i].detach().clone() for k, v in self.params.items()}
        out.update({k: v[i].detach().clone() for k, v in self.buffers.items()})
        return out

    def load(self, i: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for k, v in list(self.params.items()) + list(self.buffers.items()):
                v[i].copy_(state[k])

    def finish(self) -> None:
        for i, m in enumerate(self._modules):
            m.load_state_dict(self.state(i), strict=True)
            m.eval()


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
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("fit_many needs at least one seed")
    gens = [make() for _ in seeds]
    for g in gens:
        if not all(hasattr(g, a) for a in ("prepare_fit", "finish_fit", "loss", "callbacks")):
            raise InputError(f"fit_many trains torch generators only, got {type(g).__name__}")
        g.progress = False
    if len({(g.name, repr(g.config.to_dict())) for g in gens}) != 1:
        raise InputError("fit_many: make() must return the same model with the same configuration every time")
    if any(g.checkpoint_dir is not None for g in gens):
        raise InputError("fit_many does not write checkpoints; fit the seeds separately to resume")
    with torch_threads():
        # the code before training runs seed by seed (it seeds torch's global generator)
        jobs = [g.prepare_fit(X, y, seed=s) for g, s in zip(gens, seeds, strict=True)]
        _same(jobs, lambda j: repr(asdict(j.config)), "training configuration")
        _same(jobs, lambda j: tuple(j.X.shape), "training-set size")
        _same(jobs, lambda j: None if j.X_val is None else tuple(j.X_val.shape), "validation-set size")
        _same(jobs, lambda j: tuple((k, tuple(v.shape)) for k, v in j.module.state_dict().items()), "network shape")
        has_val = jobs[0].X_val is not None and len(jobs[0].X_val) > 0
        data = TensorSource(torch.stack([j.X for j in jobs]), torch.stack([j.c for j in jobs]), stacked=True)
        val = (TensorSource(torch.stack([j.X_val for j in jobs]), torch.stack([j.c_val for j in jobs]), stacked=True)
               if has_val else None)
        learner = StackedLearner([j.module for j in jobs], gens[0].loss)
        trainer = Trainer(jobs[0].config, device=gens[0].device, callbacks=gens[0].callbacks(), progress=False)
        histories = trainer.fit_learner(learner, data, seeds=seeds, val=val)
        # the code after training (after_fit), again seed by seed
        return [g.finish_fit(j, h) for g, j, h in zip(gens, jobs, histories, strict=True)]


def _same(jobs: list[Any], key: Callable[[Any], Any], what: str) -> None:
    if len({key(j) for j in jobs}) != 1:
        raise InputError(f"fit_many: the seeds differ in {what}; fit them separately")
