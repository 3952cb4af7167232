"""The latent-sampler protocol, a base class with the shared state handling, and save/load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch

from vaelab.core.errors import InputError

STATE_FILE = "sampler.safetensors"
PARAMS_FILE = "sampler.json"
PICKS = ("replacement", "balanced", "balanced_zero")  # how a sampler picks a class's training rows (SamplerBase._pick;
#   "balanced_zero": the kde sampler only, CalibratedKDE._pick)


@runtime_checkable
class LatentSampler(Protocol):
    """What a VAE needs from a second-stage latent density (see :mod:`vaelab.samplers`)."""

    kind: ClassVar[str]

    def params(self) -> dict[str, Any]: ...

    def fit(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor, n_classes: int, *,
            attached: torch.Tensor | None = None, seed: int = 0) -> LatentSampler: ...

    def calibrate(self, generate: Callable[[torch.Tensor, torch.Generator], torch.Tensor], x: torch.Tensor,
                  c: torch.Tensor, *, seed: int = 0) -> None: ...

    def sample(self, c: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def state_dict(self) -> dict[str, torch.Tensor]: ...

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> LatentSampler: ...


class SamplerBase:
    """Shared parts: the state dict (``required`` keys + ``optional`` ones) and a no-op calibrate."""

    kind: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ("train_attached",)
    pick: str = "replacement"  # samplers that pick training rows take it as a parameter (set_pick)
    picks: ClassVar[tuple[str, ...]] = ("replacement", "balanced")  # the values of pick this sampler takes

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}

    def set_pick(self, pick: str) -> None:
        """``pick`` of :meth:`_pick` (one of the sampler's :attr:`picks`, a subset of :data:`PICKS`; InputError
        otherwise)."""
        if pick not in self.picks:
            raise InputError(f"latent sampler {self.kind!r}: pick must be one of {', '.join(self.picks)}, got {pick!r}")
        self.pick = pick

    def pick_params(self) -> dict[str, Any]:
        """``{"pick": ...}`` for :meth:`params` where it is not ``"replacement"`` (samplers saved before it: none)."""
        return {} if self.pick == "replacement" else {"pick": self.pick}

    def params(self) -> dict[str, Any]:
        return {}

    def calibrate(self, generate: Callable[[torch.Tensor, torch.Generator], torch.Tensor], x: torch.Tensor,
                  c: torch.Tensor, *, seed: int = 0) -> None:
        """Nothing to calibrate."""

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.state)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> SamplerBase:
        missing = [k for k in self.required if k not in state]
        if missing:
            raise InputError(f"latent sampler {self.kind!r}: the weights lack {missing}")
        self.state = {k: state[k] for k in (*self.required, *self.optional) if k in state}
        self.check()
        return self

    def check(self) -> None:
        """Shapes that must agree (raise InputError); subclasses extend."""
        if "train_class" in self.state and "train_attached" in self.state:
            if len(self.state["train_attached"]) != len(self.state["train_class"]):
                raise InputError(f"latent sampler {self.kind!r}: attached values and classes differ in length")

    @property
    def fitted(self) -> bool:
        return bool(self.state)

    def _attached_out(self, c: torch.Tensor) -> torch.Tensor | None:
        a = self.state.get("train_attached")
        return None if a is None else torch.empty(len(c), a.shape[1], dtype=a.dtype)

    def _pick(self, k: int, m: int, gen: torch.Generator) -> torch.Tensor:
        """``m`` random training rows of class ``k``: with replacement (``pick = "replacement"``) or stratified
        (``"balanced"``, :func:`balanced_rows`)."""
        pool = torch.nonzero(self.state["train_class"] == k).flatten()
        if len(pool) == 0:
            raise InputError(f"latent sampler {self.kind!r}: no training code of class {k}")
        if self.pick == "balanced":
            return pool[balanced_rows(len(pool), m, gen)]
        return pool[torch.randint(len(pool), (m,), generator=gen)]


def balanced_rows(n: int, m: int, gen: torch.Generator) -> torch.Tensor:
    """``m`` indices into ``n`` rows, stratified: ``m // n`` full passes over the rows plus a uniformly random subset
    of ``m % n`` of them without replacement, in random order, so every row is taken ``floor(m / n)`` or
    ``ceil(m / n)`` times (``m = n``: each once). A bootstrap with replacement takes ~63 % distinct rows of ``n`` and
    keeps ``(n - 1) / n`` of their spread on average, less when one row holds much of it (RESULTS.md, issue 16)."""
    q, r = divmod(m, n)
    idx = torch.cat([torch.arange(n).repeat(q), torch.randperm(n, generator=gen)[:r]])
    return idx[torch.randperm(m, generator=gen)]


def make_sampler(kind: str, **params: Any) -> Any:
    """A fresh sampler by name (``standard``, ``aggregate``, ``kde``, ``gmm``) with JSON parameters."""
    from vaelab.samplers import SAMPLERS

    if kind not in SAMPLERS:
        raise InputError(f"unknown latent sampler {kind!r}; choose from {', '.join(sorted(SAMPLERS))}")
    try:
        return SAMPLERS[kind](**params)
    except TypeError as e:
        raise InputError(f"latent sampler {kind!r}: bad parameters ({e})") from None


def save_sampler(sampler: Any, folder: str | Path) -> None:
    """``sampler.json`` (kind + parameters) and ``sampler.safetensors`` (its state) in ``folder``."""
    from safetensors.torch import save_file

    from vaelab.core.atomic import atomic_file, normalise_safetensors, write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in sampler.state_dict().items()}
    with atomic_file(folder / STATE_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "vaelab-sampler", "kind": sampler.kind})
        normalise_safetensors(tmp)
    write_text(folder / PARAMS_FILE, json.dumps({"kind": sampler.kind, "params": sampler.params()}, indent=2,
                                                sort_keys=True) + "\n")


def load_sampler(folder: str | Path) -> Any:
    """Inverse of :func:`save_sampler` (safetensors only; a damaged file is one InputError)."""
    from vaelab.core.safetensors_io import load_safetensors

    folder = Path(folder)
    try:
        meta = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        kind, params = str(meta["kind"]), dict(meta["params"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InputError(f"{folder / PARAMS_FILE}: missing or damaged sampler description") from None
    return make_sampler(kind, **params).load_state_dict(load_safetensors(folder / STATE_FILE))
