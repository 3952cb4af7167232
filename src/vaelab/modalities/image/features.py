"""The domain feature network for image metrics: trained on the REAL TRAINING images only.

Inception features (FID) are ImageNet features, meaningless for 28x28 X-rays and unavailable offline.
Instead a small network learns the training images themselves: conv 16 -> stride-2 conv 32 ->
stride-2 conv 64 -> linear to ``dim`` (64) features, with two heads used only for training: the class
(cross-entropy) and the image (a deconv decoder; MSE / pixel variance). The class head makes the
features see what separates the classes, the reconstruction head what varies within a class
(texture, sharpness, layout), so that blur, mean images and mode collapse all move the features.
Features are the ``dim``-vector before the heads, standardised with the training images' mean and sd.

Settings are fixed (10 epochs, Adam 2e-3, batch 64, seeded, one thread), not tuned. The extractor is
described in ``metrics.json`` (:meth:`ImageFeatureExtractor.describe`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelab.modalities.image.cnn import rows_to_images


class _FeatureNet(nn.Module):
    def __init__(self, channels: int, hw: tuple[int, int], n_classes: int, dim: int):
        super().__init__()
        H, W = hw
        self.Hp, self.Wp = -(-H // 4) * 4, -(-W // 4) * 4
        self.hw = (H, W)
        s = (self.Hp // 4) * (self.Wp // 4)
        self.enc = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(64 * s, dim),
        )
        self.cls = nn.Linear(dim, n_classes)
        self.dec = nn.Sequential(
            nn.ReLU(), nn.Linear(dim, 32 * s), nn.Unflatten(1, (32, self.Hp // 4, self.Wp // 4)), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, channels, 4, 2, 1),
        )

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.hw
        if (self.Hp, self.Wp) == (H, W):
            return x
        return F.pad(x, (0, self.Wp - W, 0, self.Hp - H), mode="replicate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(self.pad(x))

    def reconstruct(self, h: torch.Tensor) -> torch.Tensor:
        return self.dec(h)[:, :, : self.hw[0], : self.hw[1]]


class ImageFeatureExtractor:
    """The image domain network as a :class:`~vaelab.metrics.features.FeatureExtractor` (``image-cnn``):
    ``fit`` trains it on real training images ``(n, H, W[, C])`` and their labels; ``transform`` maps
    images to ``(n, dim)`` features standardised with the training images' statistics."""

    name = "image-cnn"

    def __init__(self, *, seed: int = 0, dim: int = 64, epochs: int = 10):
        self.seed, self.dim, self.epochs = int(seed), int(dim), int(epochs)
        self.net: _FeatureNet | None = None
        self.info: dict[str, Any] = {}

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> ImageFeatureExtractor:
        from vaelab.core.errors import InputError
        from vaelab.modalities.image.io import is_image_shape

        X = np.asarray(X)
        if not is_image_shape(tuple(X.shape[1:])):
            raise InputError(f"the image feature network needs images (n, H, W[, C]), got {X.shape}")
        _fit(self, X, np.zeros(len(X), dtype=np.int64) if y is None else np.asarray(y))
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        from vaelab.training.trainer import torch_threads

        assert self.net is not None, "fit the feature network first"
        x = (rows_to_images(np.asarray(X, dtype=np.float64).reshape(len(X), -1), self.feature_shape) - self.lo) / (
            self.hi - self.lo)
        with torch_threads(), torch.no_grad():
            out = [self.net(x[i:i + 512]) for i in range(0, len(x), 512)]
        return torch.cat(out).double().numpy() if out else np.zeros((0, self.dim))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Features ``(n, dim)``, standardised with the training images' statistics."""
        return (self._raw(X) - self.mean) / self.sd

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": {"dim": self.dim, "epochs": self.epochs, "seed": self.seed},
                "n_features_in": int(np.prod(self.feature_shape)), "n_features": self.dim, **self.info}


def fit_feature_extractor(X: np.ndarray, y: np.ndarray, *, seed: int = 0, dim: int = 64,
                          epochs: int = 10) -> ImageFeatureExtractor:
    """Train the domain feature network on real training images ``X`` (n, H, W[, C]) with labels ``y``."""
    return ImageFeatureExtractor(seed=seed, dim=dim, epochs=epochs).fit(X, y)


def _fit(ext: ImageFeatureExtractor, X: np.ndarray, y: np.ndarray, batch_size: int = 64, lr: float = 2e-3) -> None:
    from vaelab.training.trainer import torch_threads

    shape = tuple(int(s) for s in X.shape[1:])
    lo, hi = float(X.min()), float(X.max())
    hi = hi if hi > lo else lo + 1.0
    x = (rows_to_images(X.reshape(len(X), -1).astype(np.float64), shape) - lo) / (hi - lo)
    _, codes = np.unique(np.asarray(y).astype(str), return_inverse=True)
    t = torch.as_tensor(codes.reshape(-1), dtype=torch.long)
    var = float(x.var()) or 1.0
    with torch_threads():
        torch.manual_seed(ext.seed)
        net = _FeatureNet(x.shape[1], (x.shape[2], x.shape[3]), int(codes.max()) + 1, ext.dim)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(ext.seed + 1)
        for _ in range(ext.epochs):
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), batch_size):
                b = perm[i:i + batch_size]
                h = net(x[b])
                loss = F.cross_entropy(net.cls(h), t[b]) + F.mse_loss(net.reconstruct(h), x[b]) / var
                opt.zero_grad()
                loss.backward()
                opt.step()
    net.eval()
    ext.net, ext.feature_shape, ext.lo, ext.hi = net, shape, lo, hi
    ext.mean, ext.sd = np.zeros(ext.dim), np.ones(ext.dim)
    raw = ext._raw(X)
    ext.mean = raw.mean(axis=0)
    sd = raw.std(axis=0)
    ext.sd = np.where(sd > 1e-8, sd, 1.0)
    ext.info = {"trained_on": "real training images", "n_train": int(len(X)),
                "heads": "class (cross-entropy) + reconstruction (MSE / pixel variance)",
                "standardised": "with the training images' feature mean and sd"}
