"""A small CNN as a scikit-learn classifier, for C2ST, TSTR/TRTR and the augmentation study on images.

Rows arrive flattened (``(n, H*W*C)``, possibly standardised, as the metric functions pass them) and are
reshaped with ``image_shape``. Network: conv 3x3 ``w`` -> max-pool -> conv ``2w`` -> max-pool -> conv ``4w``
-> [global mean, global max] -> linear (about 10k weights for ``w = 8``); cross-entropy, Adam 2e-3,
batch 64, a fixed number of epochs (no inner validation split, no tuning), one torch thread, seeded:
the same data and seed give the same predictions.

``steps`` fixes the number of optimiser steps instead of the epochs, whatever the number of training rows: two
classifiers that are to be compared on their training images alone (TSTR against TRTR) then get the same
optimisation budget. With a fixed number of epochs a set of a third of the size gets a third of the steps; on
textured shapes 75 real images per class scored ROC AUC 0.70 at 15 epochs and 0.91 at the steps of 900 images
(benchmarks/RESULTS.md, issue 11, session 7).

``restarts`` guards against a network that ends its budget on the chance plateau. On raw 0..255 pixels the first
Adam steps shrink every feature to near zero and the training loss then sits at chance for a seed-dependent number of
steps before the network leaves it; on textured shapes (900 images, 225 steps) one classifier seed in 40 was still
there at the end (ROC AUC 0.53 where the others gave 0.86-0.99; benchmarks/RESULTS.md, issue 11, session 15). With
``restarts = r`` the mean cross-entropy on the training rows is computed after training; where it is at least 0.9 x
the entropy of the training labels (what predicting the class frequencies scores), the network is trained again from
scratch with the same budget and seed ``random_state + 1000 k`` (k = 1..r, stopping at the first one below), and the
one with the lowest training loss is kept. A network that left the plateau is kept as it is, byte for byte. The image
TSTR/TRTR of ``vaelab evaluate`` use ``restarts = 2``; ``vaelab ablate``'s TSTR/TRTR CNN has it as an option, off by
default (:data:`~vaelab.experiments.ablation.UTILITY_CNN_RESTARTS`; at its 15 epochs of raw pixels most CNNs on
textured shapes end on the plateau and other seeds did not lift them all; its C2ST CNN never restarts); the
augmentation study's ``cnn`` (:mod:`vaelab.experiments.classifiers`,
``cnn_restarts``) has it as an option, off by default: there the pixels are standardised first and no study CNN was
found at chance, while on random labels (the study's leak check) the loss ends near the label entropy and about half
the CNNs were retrained (benchmarks/RESULTS.md, issue 11, session 16, third helper).

``standardise`` (default False: the inputs as they come, byte for byte as before) fits ONE mean and ONE standard
deviation per channel on the classifier's own training rows (float64 over every pixel of the channel, population sd,
floored at ``1e-8 x max(1, |mean|)``), stores them (``channel_mean_``, ``channel_sd_``) and applies
``(x - mean) / sd`` (in float64, then float32) to the training rows (before training and before the ``restarts``
check) and in ``predict_proba``. It removes the input scale behind the plateau above: an affine change of the pixel
scale (``a X + b``, ``a > 0``) then leaves the network's inputs equal up to float rounding. ``vaelab evaluate``'s
CNNs (C2ST and TSTR/TRTR, :data:`~vaelab.evaluation.image.CNN_STANDARDISE`) and ``vaelab ablate``'s
(:data:`~vaelab.experiments.ablation.CNN_STANDARDISE`) use it: on textured shapes at evaluate's budget it took the
TRTR CNNs off the plateau (4 of 20 at >= 0.9 x the label entropy -> 0) and raised their ROC AUC, with the C2ST of real
vs real images and of the reference rows unchanged (benchmarks/RESULTS.md, issue 11, session 17). The augmentation
study's ``cnn`` keeps it off: its pixels are standardised per pixel before they reach the CNN.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from vaelab.core.errors import InputError


class _Net(nn.Module):
    def __init__(self, channels: int, n_out: int, width: int):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(8 * w, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return self.head(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1))


def rows_to_images(X: np.ndarray, image_shape: tuple[int, ...] | None) -> torch.Tensor:
    """``(n, d)`` rows -> ``(n, C, H, W)`` float32; ``image_shape`` (H, W) or (H, W, C); None: square grey."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    d = X.shape[1]
    if image_shape is None:
        s = math.isqrt(d)
        if s * s != d:
            raise InputError(f"cannot read rows of {d} values as square images; give image_shape")
        image_shape = (s, s)
    shape = tuple(int(v) for v in image_shape)
    if math.prod(shape) != d:
        raise InputError(f"rows of {d} values do not match the image shape {shape}")
    t = torch.as_tensor(X).reshape(len(X), *shape)
    return t.unsqueeze(1) if len(shape) == 2 else t.permute(0, 3, 1, 2).contiguous()


class SmallCNNClassifier(ClassifierMixin, BaseEstimator):
    """A small CNN classifier with the scikit-learn API (see the module docstring).

    Parameters
    ----------
    image_shape : (H, W) or (H, W, C) of one sample; None = square grey images.
    width : channels of the first conv layer (then 2x, 4x).
    epochs, batch_size, lr : training (Adam) settings, fixed.
    steps : None (train ``epochs`` epochs) or the exact number of optimiser steps (``epochs`` is then unused;
        the batches follow the same shuffled epochs, so ``epochs * ceil(n / batch_size)`` steps train the same
        network as ``epochs``).
    random_state : seed of the initial weights and the batch order.
    restarts : how many times a network still at chance on its training rows is retrained (see the module docstring);
        0 (default) never. ``attempts_`` and ``train_loss_`` record how many were trained and the kept one's loss.
    standardise : standardise the inputs per channel with the training rows' mean and sd (see the module docstring);
        False (default) leaves them as they are.
    """

    def __init__(self, image_shape: tuple[int, ...] | None = None, width: int = 8, epochs: int = 15,
                 batch_size: int = 64, lr: float = 2e-3, random_state: int | None = None, steps: int | None = None,
                 restarts: int = 0, standardise: bool = False):
        self.image_shape = image_shape
        self.width = width
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.restarts = restarts
        self.standardise = standardise

    def steps_for(self, n: int) -> int:
        """Optimiser steps of ``epochs`` epochs on ``n`` rows: ``epochs * ceil(n / batch_size)``."""
        from vaelab.training.trainer import batches_per_epoch

        return int(self.epochs) * batches_per_epoch(n, self.batch_size)

    def fit(self, X: np.ndarray, y: np.ndarray) -> SmallCNNClassifier:
        x = rows_to_images(X, self.image_shape)
        self.channel_mean_ = self.channel_sd_ = None
        if self.standardise:
            xd = x.double()
            mean = xd.mean(dim=(0, 2, 3))
            sd = xd.std(dim=(0, 2, 3), correction=0)
            self.channel_mean_ = mean.numpy()
            self.channel_sd_ = torch.maximum(sd, 1e-8 * torch.clamp(mean.abs(), min=1.0)).numpy()
            x = self._scaled(x)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise InputError("the CNN classifier needs at least 2 classes in its training data")
        seed = 0 if self.random_state is None else int(self.random_state)
        t = torch.as_tensor(codes.reshape(-1), dtype=torch.long)
        n_steps = self.steps_for(len(x)) if self.steps is None else int(self.steps)
        self.net_ = self._train(x, t, seed, n_steps)
        self.attempts_, self.train_loss_ = 1, None
        if int(self.restarts) > 0:
            freq = np.bincount(codes.reshape(-1)) / len(codes)
            chance = float(-np.sum(freq * np.log(freq)))
            self.train_loss_ = self._loss(x, t)
            for k in range(1, int(self.restarts) + 1):
                if self.train_loss_ < 0.9 * chance:
                    break
                net = self._train(x, t, seed + 1000 * k, n_steps)
                self.attempts_ += 1
                loss = self._loss(x, t, net)
                if loss < self.train_loss_:
                    self.net_, self.train_loss_ = net, loss
        return self

    def inputs(self, X: np.ndarray) -> torch.Tensor:
        """Rows ``X`` as the fitted network sees them: ``(n, C, H, W)`` float32, standardised if ``standardise``."""
        return self._scaled(rows_to_images(X, self.image_shape))

    def _scaled(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(self, "channel_mean_", None) is None:
            return x
        mean = torch.as_tensor(self.channel_mean_, dtype=torch.float64).reshape(1, -1, 1, 1)
        sd = torch.as_tensor(self.channel_sd_, dtype=torch.float64).reshape(1, -1, 1, 1)
        return ((x.double() - mean) / sd).float()

    def _train(self, x: torch.Tensor, t: torch.Tensor, seed: int, n_steps: int) -> _Net:
        from vaelab.training.trainer import step_batches, torch_threads

        with torch_threads():
            torch.manual_seed(seed)
            net = _Net(x.shape[1], len(self.classes_), int(self.width))
            opt = torch.optim.Adam(net.parameters(), lr=float(self.lr))
            gen = torch.Generator().manual_seed(seed + 1)
            for b in step_batches(len(x), self.batch_size, n_steps, gen):
                loss = F.cross_entropy(net(x[b]), t[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        return net

    def _loss(self, x: torch.Tensor, t: torch.Tensor, net: _Net | None = None) -> float:
        """Mean cross-entropy of ``net`` (default: the fitted one) on (x, t)."""
        net = self.net_ if net is None else net
        from vaelab.training.trainer import torch_threads

        with torch_threads(), torch.no_grad():
            total = sum(float(F.cross_entropy(net(x[i:i + 512]), t[i:i + 512], reduction="sum"))
                        for i in range(0, len(x), 512))
        return total / len(x)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from vaelab.training.trainer import torch_threads

        x = self.inputs(X)
        with torch_threads(), torch.no_grad():
            logits = torch.cat([self.net_(x[i:i + 512]) for i in range(0, len(x), 512)]) if len(x) else \
                torch.zeros(0, len(self.classes_))
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
