"""Small synthetic image sets for the image tests (deterministic, no files from outside the repo)."""

from __future__ import annotations

import numpy as np


def stripes(n: int, size: int = 12, seed: int = 0, noise: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, size, size): class 0 horizontal, class 1 vertical sine stripes of random phase and
    frequency, plus Gaussian pixel noise; labels alternate 0, 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = np.empty((n, size, size))
    for i in range(n):
        g = np.sin(np.arange(size) * rng.uniform(0.5, 1.0) + rng.uniform(0, 2 * np.pi))
        X[i] = g[:, None] if y[i] == 0 else g[None, :]
    X = np.clip(128 + 80 * X + rng.normal(0, noise, X.shape), 0, 255).astype(np.uint8)
    return X, y.astype(np.int64)


def write_medmnist(path, size: int = 12, n=(120, 40, 60)) -> None:
    parts = {}
    for seed, (split, k) in enumerate(zip(("train", "val", "test"), n, strict=True)):
        X, y = stripes(k, size, seed=seed)
        parts[f"{split}_images"], parts[f"{split}_labels"] = X, y.reshape(-1, 1).astype(np.uint8)
    np.savez(path, **parts)


def tiny_image_run(d, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Write ``n`` 8x8 stripes to ``d/x.npz`` and train a 2-epoch vaelab-image run into ``d/run``; returns X, y."""
    from vaelab.data.dataset import Dataset, Layout
    from vaelab.data.sample import SampleSpec
    from vaelab.runs import train_run

    X, y = stripes(n, 8)
    np.savez(d / "x.npz", X=X, y=y)
    ds = Dataset(X=X.astype(np.float64), y=y, layout=Layout(kind="npz"), spec=SampleSpec.image(8, 8, dtype="uint8"))
    train_run(ds, d / "run", model="vaelab-image", config={"epochs": 2, "batch_size": 20, "latent_dim": 4},
              progress=False, device="cpu")
    return X, y
