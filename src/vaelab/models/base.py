"""The one Generator protocol every model implements, plus shared helpers.

A generator works on arrays in *model space* (after preprocessing): ``X`` has shape
``(n, *feature_shape)`` (spectra ``(n, d)``, images ``(n, h, w)``, ...), ``y`` holds the
class labels (ints or strings; the original class names are preserved). Sampling takes
per-class counts and returns ``(X, y)`` with the same labels.

Persistence is safetensors (tensors) + JSON (everything else); nothing is pickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from vaelab.core.errors import InputError
from vaelab.core.labels import encode_labels, labels_from_json, labels_to_json, normalise_counts  # noqa: F401  (re-exported)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


@runtime_checkable
class Generator(Protocol):
    """What every vaelab model (torch or not) offers."""

    name: ClassVar[str]

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> Generator: ...

    def sample(self, counts: Mapping[Any, int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Generator: ...


@dataclass
class ModelConfig:
    """Base for model configs: dataclasses that round-trip through JSON.

    ``SAVED_BEFORE`` (class attribute): for an option added after runs were already being saved, the value
    such a run was made with; a saved config without the key loads with it (:func:`new_from_config`), not
    with today's default, so old runs load and sample as they were trained."""

    SAVED_BEFORE: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise InputError(f"{cls.__name__}: unknown option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(d))


def check_training_data(X: np.ndarray, y: np.ndarray, *, min_classes: int = 1, min_per_class: int = 2) -> None:
    """Shared sanity checks before any fit."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise InputError(f"X must have shape (n, features...), got {X.shape}")
    if len(X) != len(y):
        raise InputError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not np.issubdtype(X.dtype, np.number):
        raise InputError("X must be numeric")
    if not np.all(np.isfinite(X)):
        raise InputError("X contains NaN or infinite values")
    classes, counts = np.unique(np.asarray(y, dtype=object).astype(str), return_counts=True)
    if len(classes) < min_classes:
        raise InputError(f"need at least {min_classes} classes, found {len(classes)}")
    small = [str(c) for c, k in zip(classes, counts, strict=True) if k < min_per_class]
    if small:
        raise InputError(f"class(es) {small} have fewer than {min_per_class} samples")


def write_config(path: Path, payload: Mapping[str, Any]) -> None:
    from vaelab.core.atomic import write_text

    write_text(Path(path) / CONFIG_FILE, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_config(path: Path) -> dict[str, Any]:
    f = Path(path) / CONFIG_FILE
    if not f.is_file():
        raise InputError(f"{path}: no {CONFIG_FILE}; not a vaelab model folder")
    try:
        cfg = json.loads(f.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{f}: not valid JSON ({e.__class__.__name__})") from None
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise InputError(f"{f}: not a vaelab model config (no 'model' key)")
    return cfg


def write_model_config(path: Path, gen: Any) -> None:
    """``config.json`` of a fitted generator: model name, configuration, classes, feature shape."""
    write_config(path, {
        "model": gen.name,
        "config": gen.config.to_dict(),
        "classes": labels_to_json(gen.classes_),
        "feature_shape": list(gen.feature_shape_),
    })


def write_model_folder(path: str | Path, gen: Any, save_weights: Any) -> None:
    """A fitted generator's folder: ``save_weights(tmp)`` writes the safetensors file under a temporary
    name (normalised so equal state gives equal bytes, then renamed), then ``config.json``."""
    from vaelab.core.atomic import atomic_file, normalise_safetensors

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with atomic_file(path / WEIGHTS_FILE) as tmp:
        save_weights(tmp)
        normalise_safetensors(tmp)
    write_model_config(path, gen)


def new_from_config(cls: Any, path: Path) -> Any:
    """An instance of ``cls`` with configuration, classes and feature shape read from ``path``'s
    ``config.json`` (weights not loaded); one-line errors for a wrong model or a damaged config."""
    cfg = read_config(path)
    if cfg["model"] != cls.name:
        raise InputError(f"{path}: holds a {cfg['model']!r} model, not {cls.name!r}")
    try:
        saved = cfg.get("config", {})
        self = cls(cls.Config.from_dict({**cls.Config.SAVED_BEFORE, **saved} if isinstance(saved, dict) else saved))
        self.classes_ = labels_from_json(list(cfg["classes"]))
        self.feature_shape_ = tuple(int(s) for s in cfg["feature_shape"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: damaged model config ({e.__class__.__name__}: {e})") from None
    return self
