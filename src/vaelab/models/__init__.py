"""Generators behind one protocol, and the registry that maps names to them.

Add a model: implement the :class:`~vaelab.models.base.Generator` protocol (``fit``,
``sample``, ``save``, ``load``, class attribute ``name``) and decorate it with
:func:`register`; ``vaelab train --model NAME`` and ``vaelab ablate --models A,B`` find it.

Models declare what they are for: ``modalities`` (class attribute, e.g. ``("spectrum",)``; a
model without it is taken to accept every modality) and ``supports(feature_shape)`` (a classmethod
returning None or the reason it cannot train on such samples). :func:`check_model_supports`
refuses a mismatch with one InputError. Each modality has a default model
(:data:`DEFAULT_MODEL_FOR`, :func:`default_model`); a modality package registers its own with
``register(cls, default_for="image")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError
from vaelab.models.audio_vae import VaelabAudio
from vaelab.models.base import Generator, read_config
from vaelab.models.classical import CLASSICAL_MODELS
from vaelab.models.ddpm import DDPM
from vaelab.models.image import SeedImageVAE, VaelabImage
from vaelab.models.seed import SeedCVAE, SeedVAE
from vaelab.models.vaelab_cvae import VaelabCVAE

REGISTRY: dict[str, type] = {}

# default preprocessing per model (the seed models need [0, 1] data)
DEFAULT_PREPROCESS: dict[str, str] = {}


# the model `vaelab train` uses for each modality when --model is not given
DEFAULT_MODEL_FOR: dict[str, str] = {}

MODALITIES = ("spectrum", "image", "audio")


def register(cls: type, *, default_preprocess: str = "minmax", default_for: str | tuple[str, ...] = ()) -> type:
    """Add ``cls`` to the registry (and make it the default model of the modalities ``default_for``)."""
    REGISTRY[cls.name] = cls
    DEFAULT_PREPROCESS[cls.name] = default_preprocess
    for kind in (default_for,) if isinstance(default_for, str) else default_for:
        DEFAULT_MODEL_FOR[kind] = cls.name
    return cls


def model_modalities(name: str) -> tuple[str, ...]:
    """The modalities model ``name`` declares (all of them when it declares none)."""
    return tuple(getattr(_model_class(name), "modalities", MODALITIES))


def default_model(kind: str | None = "spectrum") -> str:
    """The default model for data of modality ``kind`` (None: spectrum)."""
    kind = kind or "spectrum"
    if kind not in DEFAULT_MODEL_FOR:
        have = ", ".join(f"{k}: {v}" for k, v in sorted(DEFAULT_MODEL_FOR.items()))
        raise InputError(f"no default model for {kind} data yet ({have}); choose one with --model")
    return DEFAULT_MODEL_FOR[kind]


def check_model_supports(name: str, feature_shape: tuple[int, ...], kind: str | None = None) -> None:
    """Refuse (InputError) a model that is not made for this modality or cannot train on this shape."""
    cls = _model_class(name)
    if kind is not None and kind not in model_modalities(name):
        ok = sorted(n for n in REGISTRY if kind in model_modalities(n))
        raise InputError(f"model {name!r} is made for {', '.join(model_modalities(name))} data, not {kind}; "
                         f"for {kind} data choose one of {', '.join(ok) or '(none yet)'}")
    supports = getattr(cls, "supports", None)
    reason = supports(tuple(feature_shape)) if supports is not None else None
    if reason is not None:
        raise InputError(f"model {name!r} cannot train on samples of shape {tuple(feature_shape)}: {reason}")


def _model_class(name: str) -> type:
    if name not in REGISTRY:
        raise InputError(f"unknown model {name!r}; choose from {', '.join(available())}")
    return REGISTRY[name]


register(SeedCVAE)
register(SeedVAE)
for _cls in CLASSICAL_MODELS:  # ppca, noise, shift, scale, mixup, smote
    register(_cls, default_preprocess="minmax")
register(DDPM, default_preprocess="minmax")  # standardises internally: any space works
register(VaelabCVAE, default_preprocess="minmax", default_for="spectrum")  # any space works; minmax = the seed's
register(VaelabImage, default_preprocess="none", default_for="image")  # scaled by the pixel range inside the model
register(SeedImageVAE, default_preprocess="none")
register(VaelabAudio, default_preprocess="none", default_for="audio")  # log-mel; standardised per mel bin inside


def available() -> list[str]:
    return sorted(REGISTRY)


def get_model(name: str, **config: Any) -> Generator:
    """A fresh, unfitted generator by registry name, with optional config overrides."""
    return _model_class(name)(**config)


def load_model(path: str | Path) -> Generator:
    """Load a saved generator from a folder holding config.json + weights.safetensors."""
    cfg = read_config(Path(path))
    name = cfg["model"]
    if name not in REGISTRY:
        raise InputError(f"{path}: unknown model {name!r} in config.json")
    return REGISTRY[name].load(path)


DEFAULT_MODEL = DEFAULT_MODEL_FOR["spectrum"]  # the default for spectra (kept for callers without a modality)

__all__ = ["DEFAULT_MODEL", "DEFAULT_MODEL_FOR", "DEFAULT_PREPROCESS", "Generator", "MODALITIES", "REGISTRY", "available",
           "check_model_supports", "default_model", "get_model", "load_model", "model_modalities",
           "register"]
