"""Shared machinery for torch generators: fit via the one training loop, safetensors I/O."""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vaelab.core.atomic import atomic_file, normalise_safetensors
from vaelab.core.errors import InputError
from vaelab.models.base import (
    WEIGHTS_FILE,
    ModelConfig,
    check_training_data,
    encode_labels,
    new_from_config,
    normalise_counts,
    write_model_config,
)
from vaelab.training.trainer import TrainConfig, fit_module, set_determinism, stratified_split, torch_threads


def _check_weights_file(path: Path) -> Path:
    """The weights file, after refusing a missing file or a pickle/zip without loading it."""
    f = Path(path)
    if not f.is_file():
        raise InputError(f"{f}: missing weights file")
    with f.open("rb") as fh:
        head = fh.read(16)
    # safetensors: an 8-byte little-endian header length, then the JSON header ("{"). Test that
    # first: a header length whose low byte is 0x80 (or whose first bytes spell "PK") is legal.
    # Anything else that is not safetensors fails in load_file below; nothing is ever unpickled.
    if head[8:9] != b"{" and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise InputError(f"{f}: is a pickle/zip (torch.save) file, not safetensors; refused without loading")
    return f


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; anything else (a pickle, garbage) is refused, nothing executed."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    f = _check_weights_file(path)
    try:
        return load_file(str(f), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InputError(f"{f}: not a valid safetensors file ({str(e).splitlines()[0][:80]})") from None


def load_safetensors_numpy(path: Path) -> dict[str, np.ndarray]:
    """The numpy twin of :func:`load_safetensors` (same refusals); arrays are copied out of the file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    f = _check_weights_file(path)
    try:
        return {k: np.array(v) for k, v in load_file(str(f)).items()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InputError(f"{f}: not a valid safetensors file ({str(e).splitlines()[0][:80]})") from None


class TorchGenerator(ABC):
    """Base class for torch generators.

    Subclasses define ``name``, ``Config`` (a :class:`ModelConfig` dataclass with at least
    the :class:`TrainConfig` fields), ``build_module``, ``loss`` and ``generate``.
    """

    name: ClassVar[str]
    Config: ClassVar[type[ModelConfig]]
    needs_unit_interval: ClassVar[bool] = False  # sigmoid output + BCE: data must lie in [0, 1]

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
        # checkpointing during fit (set by runs.train_run): folder, period in epochs, resume from it
        self.checkpoint_dir: Path | None = None
        self.checkpoint_every: int = 25
        self.resume: bool = False

    # ------------------------------------------------------------------ to override
    @abstractmethod
    def build_module(self, n_features: int, n_classes: int) -> torch.nn.Module:
        """A fresh network for ``n_features`` inputs and ``n_classes`` classes."""

    @abstractmethod
    def loss(self, module: torch.nn.Module, x: torch.Tensor, c: torch.Tensor, epoch: int) -> dict[str, torch.Tensor]:
        """Loss terms summed over the batch; key ``"loss"`` is minimised."""

    @abstractmethod
    def generate(self, c: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Samples (len(c), n_features) for class indices ``c``."""

    def after_fit(self, X: torch.Tensor, c: torch.Tensor) -> None:
        """Hook: compute extra state from the fitted module (saved with the weights)."""

    def training_state(self) -> dict[str, torch.Tensor]:
        """Hook: training state kept outside the module and the optimizer (e.g. EMA weights, as
        tensors) that a checkpoint must hold for ``--resume`` to continue exactly."""
        return {}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        """Hook: restore what :meth:`training_state` returned (called when resuming)."""
        if state:
            raise InputError(f"{self.name}: the checkpoint holds training state ({sorted(state)[:3]}) "
                             "this model does not restore")

    # ------------------------------------------------------------------ protocol
    def train_config(self) -> TrainConfig:
        d = self.config.to_dict()
        return TrainConfig(**{k: d[k] for k in TrainConfig.__dataclass_fields__ if k in d})

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> TorchGenerator:
        with torch_threads():
            return self._fit(X, y, seed=seed)

    def _fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> TorchGenerator:
        X = np.asarray(X)
        check_training_data(X, y)
        if self.needs_unit_interval and (X.min() < 0 or X.max() > 1):
            raise InputError(
                f"{self.name} has a sigmoid output and a BCE loss, so it needs data in [0, 1] "
                f"(found {X.min():.3g}..{X.max():.3g}); use --preprocess minmax"
            )
        from vaelab.data.dataset import unique_labels

        self.classes_ = unique_labels(y)
        self.feature_shape_ = tuple(int(s) for s in X.shape[1:])
        c = encode_labels(y, self.classes_)
        d = int(math.prod(self.feature_shape_))
        set_determinism(seed)
        self.module = self.build_module(d, len(self.classes_))
        cfg = self.train_config()
        Xt = torch.as_tensor(X.reshape(len(X), d), dtype=torch.float32)
        ct = torch.as_tensor(c, dtype=torch.long)
        Xv = cv = None
        if cfg.val_fraction > 0:
            tr, va = stratified_split(c, cfg.val_fraction, seed)
            Xt, Xv, ct, cv = Xt[tr], Xt[va], ct[tr], ct[va]
        self.history_ = fit_module(self.module, self.loss, Xt, ct, cfg, seed=seed, X_val=Xv, c_val=cv,
                                   progress=self.progress, desc=self.name,
                                   checkpoint_dir=getattr(self, "checkpoint_dir", None),
                                   checkpoint_every=getattr(self, "checkpoint_every", 25),
                                   resume=getattr(self, "resume", False),
                                   extra_state=(self.training_state, self.load_training_state),
                                   fingerprint_extra=json.dumps({"model": self.name, "config": self.config.to_dict()},
                                                                sort_keys=True, default=str))
        with torch.no_grad():
            self.after_fit(Xt, ct)
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
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {f"module.{k}": v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        tensors.update({f"extra.{k}": v.detach().cpu().contiguous() for k, v in self.extra_.items()})
        with atomic_file(path / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp), metadata={"format": "vaelab", "model": self.name})
            normalise_safetensors(tmp)  # same weights, same bytes
        write_model_config(path, self)

    @classmethod
    def load(cls, path: str | Path) -> TorchGenerator:
        path = Path(path)
        self = new_from_config(cls, path)
        tensors = load_safetensors(path / WEIGHTS_FILE)
        state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
        n_features, n_classes = int(math.prod(self.feature_shape_)), len(self.classes_)
        if n_features < 1 or n_classes < 1:
            raise InputError(f"{path}: damaged model config (feature shape {self.feature_shape_}, {n_classes} classes)")
        # build on the meta device first (no memory) and compare shapes with the file, so a
        # tampered config cannot make us allocate a huge network; a module that cannot be built
        # there is checked by load_state_dict below instead
        try:
            with torch.device("meta"):
                shapes = {k: tuple(v.shape) for k, v in self.build_module(n_features, n_classes).state_dict().items()}
        except Exception:
            shapes = None
        if shapes is not None and shapes != {k: tuple(v.shape) for k, v in state.items()}:
            raise InputError(f"{path}: weights do not match the model config (feature shape, classes or layers)")
        try:
            self.module = self.build_module(n_features, n_classes)
        except (TypeError, ValueError, RuntimeError, OverflowError) as e:
            raise InputError(f"{path}: damaged model config, cannot build the network ({e.__class__.__name__})") from None
        self.extra_ = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
        try:
            self.module.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise InputError(f"{path}: weights do not match the model config ({str(e).splitlines()[0][:100]})") from None
        self.module.eval()
        return self
