"""Where the trainer's batches come from: a small :class:`DataSource` protocol and two sources.

* :class:`TensorSource` — the whole training set as tensors, moved to the device once; an epoch's
  batches are index slices of a seeded permutation (the semantics of
  ``DataLoader(shuffle=True, batch_size=B)`` without its per-batch Python overhead). This is what
  every model in vaelab uses for its small data sets.
* :class:`IterableSource` — batches from a function that yields them epoch by epoch (read from
  disk, decoded on the fly): for data that do not fit in memory. It is handed the trainer's
  seeded shuffle generator so it can shuffle reproducibly.

A source yields ``(x, c)`` pairs: ``x`` (b, *feature_shape) float, ``c`` (b,) int64 class indices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class DataSource(Protocol):
    """What :class:`~vaelab.training.trainer.Trainer` needs from training data."""

    def to(self, device: str | torch.device) -> DataSource:
        """The same source delivering batches on ``device``."""

    def batches(self, gens: list[torch.Generator], batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x, c)`` batches; ``gens`` holds one seeded CPU generator per model trained."""

    def fingerprint_arrays(self) -> Mapping[str, torch.Tensor | None]:
        """Arrays that identify the data (for refusing a checkpoint written for other data)."""


class TensorSource:
    """In-memory tensors ``X`` (n, ...) and ``c`` (n,); batches are slices of a seeded permutation.

    With ``stacked=True``, ``X`` is (M, n, ...) and ``c`` (M, n): the data of M models trained
    together (:func:`vaelab.training.multi.fit_many`), each shuffled by its own generator.
    """

    def __init__(self, X: torch.Tensor, c: torch.Tensor, *, stacked: bool = False):
        if X.shape[: 1 + stacked] != c.shape[: 1 + stacked]:
            raise ValueError(f"X {tuple(X.shape)} and c {tuple(c.shape)} disagree in length")
        self.X, self.c, self.stacked = X, c, stacked

    def __len__(self) -> int:
        return int(self.X.shape[1] if self.stacked else self.X.shape[0])

    def to(self, device: str | torch.device) -> TensorSource:
        return TensorSource(self.X.to(device), self.c.to(device), stacked=self.stacked)

    def batches(self, gens: list[torch.Generator], batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self)
        if not self.stacked:
            (gen,) = gens
            perm = torch.randperm(n, generator=gen).to(self.X.device)
            for begin in range(0, n, batch_size):
                idx = perm[begin : begin + batch_size]
                yield self.X[idx], self.c[idx]
            return
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(self.X.device)
        rows = torch.arange(len(gens), device=self.X.device).unsqueeze(1)
        for begin in range(0, n, batch_size):
            idx = perms[:, begin : begin + batch_size]
            yield self.X[rows, idx], self.c[rows, idx]

    def fingerprint_arrays(self) -> Mapping[str, torch.Tensor | None]:
        return {"X": self.X, "c": self.c}


class IterableSource:
    """Batches from ``make(gen)``, called once per epoch with the trainer's shuffle generator.

    ``make`` returns an iterable of ``(x, c)`` CPU batches (any size; the last may be smaller);
    the trainer moves each to its device. ``describe`` identifies the data for checkpoints
    (e.g. the file list and its sizes): a resume is only safe when it names the same data.
    """

    def __init__(self, make: Callable[[torch.Generator], Iterable[tuple[torch.Tensor, torch.Tensor]]], *,
                 describe: str = ""):
        self.make, self.describe, self.device = make, describe, torch.device("cpu")

    def to(self, device: str | torch.device) -> IterableSource:
        out = IterableSource(self.make, describe=self.describe)
        out.device = torch.device(device)
        return out

    def batches(self, gens: list[torch.Generator], batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if len(gens) != 1:
            raise ValueError("IterableSource trains one model at a time")
        for x, c in self.make(gens[0]):
            yield torch.as_tensor(x).to(self.device), torch.as_tensor(c, dtype=torch.long).to(self.device)

    def fingerprint_arrays(self) -> Mapping[str, torch.Tensor | None]:
        return {"describe": torch.frombuffer(bytearray(self.describe.encode() or b"\0"), dtype=torch.uint8)}
