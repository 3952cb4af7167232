"""Shared machinery for torch generators: fit through :class:`~vaelab.training.trainer.Trainer`, safetensors I/O.

A fit has three steps, so that several seeds can share one training loop
(:func:`vaelab.training.multi.fit_many`) without replacing any code:

1. :meth:`TorchGenerator.prepare_fit` — checks, classes, the model's own preprocessing
   (:meth:`~TorchGenerator.prepare_inputs`), the network (:meth:`~TorchGenerator.build_module` +
   :meth:`~TorchGenerator.init_module`), the validation split: a :class:`FitJob`;
2. training: a :class:`~vaelab.training.trainer.Trainer` with the model's callbacks
   (:meth:`~TorchGenerator.callbacks`, e.g. EMA) on the job's data;
3. :meth:`TorchGenerator.finish_fit` — history, the module back on CPU, :meth:`~TorchGenerator.after_fit`.

Fit-time state a model needs (feature statistics, the full training set when a validation part
was held out, ...) travels in ``FitJob.state``, not in private attributes of the generator.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vaelab.core.errors import InputError
from vaelab.core.labels import encode_labels, normalise_counts, unique_labels
from vaelab.core.safetensors_io import load_safetensors
from vaelab.models.base import (
    WEIGHTS_FILE,
    ModelConfig,
    check_training_data,
    new_from_config,
    write_model_folder,
)
from vaelab.training.data import TensorSource
from vaelab.training.trainer import TrainConfig, Trainer, set_determinism, stratified_split, torch_threads


@dataclass
class FitJob:
    """One prepared fit: the network, its training (and validation) tensors, the training config.

    ``X_all``/``c_all`` hold every training row in the network's input space (the validation
    part included); ``state`` is the model's own fit-time state (whatever
    :meth:`TorchGenerator.prepare_inputs` returned), read by ``init_module`` and ``after_fit``.
    """

    seed: int
    config: TrainConfig
    module: torch.nn.Module
    X: torch.Tensor
    c: torch.Tensor
    X_val: torch.Tensor | None
    c_val: torch.Tensor | None
    X_all: torch.Tensor
    c_all: torch.Tensor
    y: np.ndarray
    state: dict[str, Any] = field(default_factory=dict)

    def data(self) -> TensorSource:
        return TensorSource(self.X, self.c)

    def val(self) -> TensorSource | None:
        return None if self.X_val is None else TensorSource(self.X_val, self.c_val)


class TorchGenerator(ABC):
    """Base class for torch generators.

    Subclasses define ``name``, ``Config`` (a :class:`ModelConfig` dataclass with at least
    the :class:`TrainConfig` fields), ``build_module``, ``loss`` and ``generate``; optionally
    ``prepare_inputs``, ``init_module``, ``callbacks`` and ``after_fit``.

    ``flat = True`` (default): the network sees each sample flattened to ``d = prod(feature_shape)``
    values and ``generate`` may return ``(n, d)``; samples are reshaped to ``(n, *feature_shape)``.
    ``modalities`` and :meth:`supports` say which data the model is meant for.
    """

    name: ClassVar[str]
    Config: ClassVar[type[ModelConfig]]
    needs_unit_interval: ClassVar[bool] = False  # sigmoid output + BCE: data must lie in [0, 1]
    flat: ClassVar[bool] = True
    modalities: ClassVar[tuple[str, ...]] = ("spectrum", "image", "audio")

    def __init__(self, config: ModelConfig | None = None, **overrides: Any):
        cfg = config or self.Config()
        if overrides:
            d = cfg.to_dict()
            d.update(overrides)
            cfg = self.Config.from_dict(d)
        self.config = cfg
        self.module: torch.nn.Module | None = None
        self.classes_: np.ndarray | None = None
        self.feature_shape_: tuple[int, ...] | None = None
        self.history_: list[dict[str, float]] = []
        self.extra_: dict[str, torch.Tensor] = {}
        self.progress = True
        self.device = "auto"  # "auto" | "cpu" | "cuda": where training runs (sampling runs on CPU)
        # checkpointing during fit (set by runs.train_run): folder, period in epochs, resume from it
        self.checkpoint_dir: Path | None = None
        self.checkpoint_every: int = 25
        self.resume: bool = False

    @classmethod
    def supports(cls, feature_shape: tuple[int, ...]) -> str | None:
        """None if the model can train on samples of ``feature_shape``, else the reason it cannot."""
        return None if len(feature_shape) >= 1 and all(s >= 1 for s in feature_shape) else "empty samples"

    # ------------------------------------------------------------------ to override
    @abstractmethod
    def build_module(self, feature_shape: tuple[int, ...], n_classes: int) -> torch.nn.Module:
        """A fresh network for samples of ``feature_shape`` and ``n_classes`` classes (also used by ``load``)."""

    @abstractmethod
    def loss(self, module: torch.nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        """Loss terms summed over the batch; key ``"loss"`` is minimised."""

    @abstractmethod
    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Samples (len(c), d) or (len(c), *feature_shape) for class indices ``c``."""

    def prepare_inputs(self, X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The array the network trains on (one row per sample) and the model's fit-time state.
        Default: ``X`` itself, flattened to (n, d) for a flat model; no state."""
        return (X.reshape(len(X), -1) if self.flat else X), {}

    def init_module(self, module: torch.nn.Module, job_state: dict[str, Any]) -> None:
        """Hook: initialise a freshly built network from the data (fit only, not load)."""

    def callbacks(self) -> list[Any]:
        """Hook: the model's own trainer callbacks; by default an
        :class:`~vaelab.training.callbacks.EMA` of the weights when the config has an ``ema_decay`` set."""
        from vaelab.training.callbacks import EMA

        decay = getattr(self.config, "ema_decay", None)
        return [] if decay is None else [EMA(decay)]

    def after_fit(self, job: FitJob) -> None:
        """Hook: compute extra state from the fitted module (saved with the weights); runs on CPU."""

    # ------------------------------------------------------------------ protocol
    def train_config(self, n_train: int | None = None) -> TrainConfig:
        """The trainer's settings from the model config (``n_train``: rows in the training part)."""
        d = self.config.to_dict()
        return TrainConfig(**{k: d[k] for k in TrainConfig.__dataclass_fields__ if k in d})

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> TorchGenerator:
        with torch_threads():
            job = self.prepare_fit(X, y, seed=seed)
            history = self.trainer(job).fit(job.module, self.loss, job.data(), seed=seed, val=job.val())
            return self.finish_fit(job, history)

    def trainer(self, job: FitJob) -> Trainer:
        """The trainer of one fit: device, the model's callbacks, checkpoints when asked for."""
        from vaelab.training.callbacks import Checkpoint, describe_model

        cbs = list(self.callbacks())
        if self.checkpoint_dir is not None:
            cbs.append(Checkpoint(self.checkpoint_dir, every=self.checkpoint_every, resume=self.resume,
                                  describe=describe_model(self.name, self.config.to_dict())))
        return Trainer(job.config, device=self.device, callbacks=cbs, progress=self.progress, desc=self.name)

    def prepare_fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> FitJob:
        """Everything before the training loop (see the module docstring)."""
        X = np.asarray(X)
        check_training_data(X, y)
        shape = tuple(int(s) for s in X.shape[1:])
        reason = self.supports(shape)
        if reason is not None:
            raise InputError(f"{self.name} cannot train on samples of shape {shape}: {reason}")
        if self.needs_unit_interval and (X.min() < 0 or X.max() > 1):
            raise InputError(
                f"{self.name} has a sigmoid output and a BCE loss, so it needs data in [0, 1] "
                f"(found {X.min():.3g}..{X.max():.3g}); use --preprocess minmax"
            )
        inputs, state = self.prepare_inputs(X, y, seed=seed)
        self.classes_ = unique_labels(y)
        self.feature_shape_ = shape
        c = encode_labels(y, self.classes_)
        set_determinism(seed)
        self.module = self.build_module(shape, len(self.classes_))
        with torch.no_grad():
            self.init_module(self.module, state)
        Xa = torch.as_tensor(inputs, dtype=torch.float32)
        ca = torch.as_tensor(c, dtype=torch.long)
        Xt, ct, Xv, cv = Xa, ca, None, None
        vf = self.config.to_dict().get("val_fraction", 0.0) or 0.0
        if vf > 0:
            tr, va = stratified_split(c, vf, seed)
            Xt, Xv, ct, cv = Xa[tr], Xa[va], ca[tr], ca[va]
        return FitJob(seed=int(seed), config=self.train_config(len(Xt)), module=self.module, X=Xt, c=ct,
                      X_val=Xv, c_val=cv, X_all=Xa, c_all=ca, y=np.asarray(y), state=state)

    def finish_fit(self, job: FitJob, history: list[dict[str, float]]) -> TorchGenerator:
        """Everything after the training loop: history, the module on CPU in eval mode, ``after_fit``."""
        self.history_ = history
        self.module = job.module.to("cpu")
        self.module.eval()
        with torch.no_grad():
            self.after_fit(job)
        return self

    def _check_fitted(self) -> None:
        if self.module is None or self.classes_ is None or self.feature_shape_ is None:
            raise InputError(f"{self.name}: the model is not fitted")

    def sample(self, counts: Mapping[Any, int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        with torch_threads():
            return self._sample(counts, seed=seed)

    def _sample(self, counts: Mapping[Any, int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        assert self.classes_ is not None and self.feature_shape_ is not None and self.module is not None
        pairs = normalise_counts(counts, self.classes_)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        c = torch.as_tensor(np.concatenate([np.full(n, k, dtype=np.int64) for k, n in pairs] or [np.zeros(0, np.int64)]))
        self.module.eval()
        with torch.no_grad():
            out = self.generate(c, gen) if len(c) else torch.zeros(0, int(math.prod(self.feature_shape_)))
        X = out.cpu().numpy().astype(np.float64).reshape((len(c), *self.feature_shape_))
        y = self.classes_[c.numpy()] if len(c) else self.classes_[:0]
        return X, y

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        self._check_fitted()
        assert self.module is not None and self.classes_ is not None and self.feature_shape_ is not None
        tensors = {f"module.{k}": v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        tensors.update({f"extra.{k}": v.detach().cpu().contiguous() for k, v in self.extra_.items()})
        write_model_folder(path, self, lambda tmp: save_file(
            tensors, str(tmp), metadata={"format": "vaelab", "model": self.name}))

    @classmethod
    def load(cls, path: str | Path) -> TorchGenerator:
        path = Path(path)
        self = new_from_config(cls, path)
        tensors = load_safetensors(path / WEIGHTS_FILE)
        state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
        shape, n_classes = tuple(self.feature_shape_), len(self.classes_)
        n_features = int(math.prod(shape))
        if n_features < 1 or n_classes < 1:
            raise InputError(f"{path}: damaged model config (feature shape {self.feature_shape_}, {n_classes} classes)")
        # build on the meta device first (no memory) and compare shapes with the file, so a
        # tampered config cannot make us allocate a huge network; a module that cannot be built
        # there is checked by load_state_dict below instead
        try:
            with torch.device("meta"):
                shapes = {k: tuple(v.shape) for k, v in self.build_module(shape, n_classes).state_dict().items()}
        except Exception:
            shapes = None
        if shapes is not None and shapes != {k: tuple(v.shape) for k, v in state.items()}:
            raise InputError(f"{path}: weights do not match the model config (feature shape, classes or layers)")
        try:
            self.module = self.build_module(shape, n_classes)
        except (TypeError, ValueError, RuntimeError, OverflowError) as e:
            raise InputError(f"{path}: damaged model config, cannot build the network ({e.__class__.__name__})") from None
        self.extra_ = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
        try:
            self.module.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise InputError(f"{path}: weights do not match the model config ({str(e).splitlines()[0][:100]})") from None
        self.module.eval()
        return self
