"""Preprocessing as fitted, saved objects.

A preprocessing is a chain of steps, written ``"minmax"`` or ``"asls+savgol+vector"`` on the
command line. Each step is fitted on the training part only, transforms arrays of any
trailing shape, and saves to / loads from plain JSON (``to_dict`` / ``from_dict``).

Steps:

``none``      identity.
``minmax``    the seed report's per-spectrum min–max scaling: each sample is mapped to
              [0, 1] by its own minimum and maximum (no fitted state).
``standard``  per-feature z-score with the training set's mean and standard deviation.

These three apply to every kind of sample. Each step declares the kinds of sample it applies to
(``Step.modalities``, see :mod:`vaelab.data.sample`); :meth:`Preprocessing.check` refuses a step
given other data (baseline removal must never run along the rows of an image). Steps of one
modality live in ``vaelab.modalities.<modality>.preprocess`` and register themselves with
:func:`register_step`; the registry ``STEPS`` imports the modules listed in ``STEP_MODULES``
the first time it is read, so ``vaelab.data`` never imports a modality.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vaelab.core.atomic import write_text
from vaelab.core.errors import InputError
from vaelab.data.sample import KINDS, SampleSpec, applies_to


class Step(ABC):
    """One preprocessing step. Subclasses set ``name`` and override what they need."""

    name: ClassVar[str] = ""
    per_sample: ClassVar[bool] = True  # True: no fitted state, each sample on its own
    modalities: ClassVar[frozenset[str]] = frozenset(KINDS)  # the kinds of sample it applies to

    def fit(self, X: np.ndarray) -> Step:
        return self

    @abstractmethod
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Transform ``X`` (n, *feature_shape); returns float64 of the same shape."""

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        raise InputError(f"preprocessing step {self.name!r} cannot be inverted")

    def params(self) -> dict[str, Any]:
        return {}

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


class Identity(Step):
    name = "none"

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)


class MinMax(Step):
    """Per-sample min–max to [0, 1] (the seed report's preprocessing). A flat sample maps to 0."""

    name = "minmax"

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        flat = X.reshape(len(X), -1)
        lo = flat.min(axis=1, keepdims=True)
        rng = flat.max(axis=1, keepdims=True) - lo
        out = np.where(rng > 0, (flat - lo) / np.where(rng > 0, rng, 1.0), 0.0)
        return out.reshape(X.shape)


class Standard(Step):
    """Per-feature z-score with the training set's mean and standard deviation (ddof=0).

    Features with zero spread are centred and left unscaled.
    """

    name = "standard"
    per_sample = False

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standard:
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        return self

    def _check(self, X: np.ndarray) -> None:
        if self.mean_ is None:
            raise InputError("standard scaling used before it was fitted")
        if X.shape[1:] != self.mean_.shape:
            raise InputError(f"data have feature shape {X.shape[1:]}, the preprocessing was fitted on {self.mean_.shape}")

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        self._check(X)
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        self._check(X)
        return X * self.scale_ + self.mean_

    def state(self) -> dict[str, Any]:
        assert self.mean_ is not None and self.scale_ is not None
        return {"shape": list(self.mean_.shape), "mean": self.mean_.ravel().tolist(), "scale": self.scale_.ravel().tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        shape = tuple(int(s) for s in state["shape"])
        self.mean_ = np.asarray(state["mean"], dtype=np.float64).reshape(shape)
        self.scale_ = np.asarray(state["scale"], dtype=np.float64).reshape(shape)


# modules whose import registers more steps (one per modality); read on the first look-up
STEP_MODULES: list[str] = ["vaelab.modalities.spectra.preprocess"]


class _Registry(MutableMapping):
    """``{name: step class}``; imports ``STEP_MODULES`` the first time it is read."""

    def __init__(self, steps: dict[str, type[Step]]):
        self._steps = dict(steps)
        self._loaded: set[str] = set()

    def _discover(self) -> None:
        for mod in STEP_MODULES:
            if mod not in self._loaded:
                self._loaded.add(mod)
                importlib.import_module(mod)

    def __getitem__(self, name: str) -> type[Step]:
        self._discover()
        return self._steps[name]

    def __setitem__(self, name: str, cls: type[Step]) -> None:
        self._steps[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._steps[name]

    def __iter__(self) -> Iterator[str]:
        self._discover()
        return iter(self._steps)

    def __len__(self) -> int:
        self._discover()
        return len(self._steps)

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._steps


STEPS: MutableMapping[str, type[Step]] = _Registry({"none": Identity, "minmax": MinMax, "standard": Standard})


def register_step(cls: type[Step]) -> type[Step]:
    """Class decorator: make a step available by its ``name``."""
    STEPS[cls.name] = cls
    return cls


class Preprocessing:
    """A fitted chain of steps, e.g. ``Preprocessing.from_spec("minmax")``."""

    def __init__(self, steps: list[Step]):
        self.steps = steps

    @classmethod
    def from_spec(cls, spec: str, **overrides: dict[str, Any]) -> Preprocessing:
        names = [s.strip() for s in str(spec).split("+") if s.strip()]
        if not names:
            names = ["none"]
        steps = []
        for n in names:
            base, _, arg = n.partition(":")  # "crop:400-1800": a step with an argument
            if base not in STEPS or (arg and not hasattr(STEPS[base], "from_arg")):
                raise InputError(f"unknown preprocessing {n!r}; choose from {', '.join(sorted(STEPS))} (chain with '+')")
            steps.append(STEPS[base].from_arg(arg) if arg else STEPS[base](**overrides.get(base, {})))
        return cls(steps)

    @property
    def spec(self) -> str:
        return "+".join(s.spec_token() if hasattr(s, "spec_token") else s.name for s in self.steps)

    def check(self, sample: SampleSpec) -> Preprocessing:
        """Refuse (``InputError``) a step that does not apply to this kind of sample; returns self."""
        for s in self.steps:
            if sample.kind not in s.modalities:
                raise InputError(f"preprocessing step {s.name!r} applies to {applies_to(s.modalities)}; "
                                 f"this data set holds {sample.describe()}")
        return self

    def fit(self, X: np.ndarray, axis: np.ndarray | None = None) -> Preprocessing:
        self.fit_transform(X, axis)
        return self

    def fit_transform(self, X: np.ndarray, axis: np.ndarray | None = None) -> np.ndarray:
        """Fit each step on the output of the previous one; ``axis`` (the spectral axis, optional)
        goes to steps that use it (``crop``)."""
        for s in self.steps:
            if getattr(s, "uses_axis", False):
                X = s.fit(X, axis=axis).transform(X)
            else:
                X = s.fit(X).transform(X)
            axis = s.transform_axis(axis) if hasattr(s, "transform_axis") else axis
        return X

    def transform_axis(self, axis: np.ndarray | None) -> np.ndarray | None:
        """The spectral axis after the (fitted) steps: cropped where a step crops."""
        for s in self.steps:
            axis = s.transform_axis(axis) if hasattr(s, "transform_axis") else axis
        return axis

    def transform(self, X: np.ndarray) -> np.ndarray:
        for s in self.steps:
            X = s.transform(X)
        return X

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        for s in reversed(self.steps):
            X = s.inverse_transform(X)
        return X

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "steps": [{"name": s.name, "params": s.params(), "state": s.state()} for s in self.steps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        try:
            steps = []
            for sd in d["steps"]:
                if sd["name"] not in STEPS:
                    raise InputError(f"unknown preprocessing step {sd['name']!r} in saved preprocessing")
                step = STEPS[sd["name"]](**sd.get("params", {}))
                step.load_state(sd.get("state", {}))
                steps.append(step)
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"damaged preprocessing description ({e.__class__.__name__}: {e})") from None
        return cls(steps)

    def save(self, path: str | Path) -> None:
        write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Preprocessing:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: missing preprocessing file")
        try:
            d = json.loads(p.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{p}: not valid JSON") from None
        return cls.from_dict(d)
