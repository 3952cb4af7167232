"""Feature spaces for audio metrics: mel statistics (no training) and a small log-mel CNN trained on the real
training clips (its pooled embedding; the same network family does TSTR / TRTR)."""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import InputError


def mel_statistics(logmel: np.ndarray) -> np.ndarray:
    """(n, n_mels, T) log-mel -> (n, 4 n_mels): per bin the mean, std, mean |frame difference| and 90th percentile
    over time (a fixed, training-free description of spectral envelope and dynamics)."""
    L = np.asarray(logmel, dtype=np.float64)
    if L.ndim != 3 or L.shape[-1] < 2:
        raise InputError(f"mel statistics need log-mels (n, n_mels, frames >= 2), got {L.shape}")
    d = np.abs(np.diff(L, axis=-1)).mean(axis=-1)
    return np.concatenate([L.mean(-1), L.std(-1), d, np.percentile(L, 90, axis=-1)], axis=1)


class LogMelCNN:
    """Three conv blocks (16, 32, 64 channels, 3x3, max-pool 2) + global average pool + linear classifier.

    ``fit(X, y)`` on log-mels (n, n_mels, T) standardised per mel bin with the training clips' statistics;
    ``predict`` gives labels, ``transform`` the 64-d pooled embedding. Deterministic for a seed (one thread).
    ``steps``: None (``epochs`` epochs of the training clips) or the exact number of optimiser steps, taken
    over the same shuffled epochs (``steps_for(n)`` steps on n clips train the same network as ``epochs``):
    TSTR passes TRTR's, so that the two differ only in their training clips, not in their budget.
    """

    def __init__(self, *, epochs: int = 25, batch_size: int = 32, lr: float = 2e-3, seed: int = 0,
                 steps: int | None = None):
        self.epochs, self.batch_size, self.lr, self.seed, self.steps = epochs, batch_size, lr, seed, steps
        self.net = None

    def steps_for(self, n: int) -> int:
        """Optimiser steps of ``epochs`` epochs on ``n`` clips (a last batch of one clip is skipped)."""
        from vaelab.training.trainer import batches_per_epoch

        return int(self.epochs) * batches_per_epoch(n, self.batch_size, min_size=2)

    def _build(self, n_classes: int):
        import torch.nn as nn

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

        body = nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        return nn.ModuleDict({"body": body, "head": nn.Linear(64, n_classes)})

    def _norm(self, X):
        import torch

        L = (np.asarray(X, np.float64) - self.mean_[None, :, None]) / self.std_[None, :, None]
        return torch.as_tensor(L[:, None], dtype=torch.float32)

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogMelCNN:
        import torch

        from vaelab.training.trainer import set_determinism, step_batches, torch_threads

        X = np.asarray(X, np.float64)
        self.classes_ = np.asarray(sorted({str(v) for v in y}), dtype=object)
        yi = torch.as_tensor(np.searchsorted(self.classes_.astype(str), np.asarray(y).astype(str)))
        self.mean_, self.std_ = X.mean(axis=(0, 2)), np.maximum(X.std(axis=(0, 2)), 1e-3)
        with torch_threads():
            set_determinism(self.seed)
            self.net = self._build(len(self.classes_))
            opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
            Xt = self._norm(X)
            g = torch.Generator().manual_seed(self.seed)
            self.net.train()
            total = self.steps_for(len(Xt)) if self.steps is None else int(self.steps)
            for b in step_batches(len(Xt), self.batch_size, total, g, min_size=2):  # batch norm: >= 2 clips
                loss = torch.nn.functional.cross_entropy(self.net["head"](self.net["body"](Xt[b])), yi[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
            self.net.eval()
        return self

    def _forward(self, X, head: bool):
        import torch

        from vaelab.training.trainer import torch_threads

        if self.net is None:
            raise InputError("LogMelCNN is not fitted")
        with torch_threads(), torch.no_grad():
            h = self.net["body"](self._norm(X))
            return (self.net["head"](h) if head else h).numpy().astype(np.float64)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X, head=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self._forward(X, head=True).argmax(axis=1)]
