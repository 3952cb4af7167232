"""Generators behind one protocol, and the registry that maps names to them.

Add a model: implement the :class:`~vaelab.models.base.Generator` protocol (``fit``,
``sample``, ``save``, ``load``, class attribute ``name``) and decorate it with
:func:`register`; ``vaelab train --model NAME`` and ``vaelab ablate --models A,B`` find it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaelab.core.errors import InputError
from vaelab.models.base import Generator, read_config
from vaelab.models.classical import CLASSICAL_MODELS
from vaelab.models.ddpm import DDPM
from vaelab.models.seed import SeedCVAE, SeedVAE
from vaelab.models.vaelab_cvae import VaelabCVAE

REGISTRY: dict[str, type] = {}

# default preprocessing per model (the seed models need [0, 1] data)
DEFAULT_PREPROCESS: dict[str, str] = {}


def register(cls: type, *, default_preprocess: str = "minmax") -> type:
    REGISTRY[cls.name] = cls
    DEFAULT_PREPROCESS[cls.name] = default_preprocess
    return cls


register(SeedCVAE)
register(SeedVAE)
for _cls in CLASSICAL_MODELS:  # ppca, noise, shift, scale, mixup, smote
    register(_cls, default_preprocess="minmax")
register(DDPM, default_preprocess="minmax")  # standardises internally: any space works
register(VaelabCVAE, default_preprocess="minmax")  # any space works; minmax = the seed's


def available() -> list[str]:
    return sorted(REGISTRY)


def get_model(name: str, **config: Any) -> Generator:
    """A fresh, unfitted generator by registry name, with optional config overrides."""
    if name not in REGISTRY:
        raise InputError(f"unknown model {name!r}; choose from {', '.join(available())}")
    return REGISTRY[name](**config)


def load_model(path: str | Path) -> Generator:
    """Load a saved generator from a folder holding config.json + weights.safetensors."""
    cfg = read_config(Path(path))
    name = cfg["model"]
    if name not in REGISTRY:
        raise InputError(f"{path}: unknown model {name!r} in config.json")
    return REGISTRY[name].load(path)


__all__ = ["DEFAULT_PREPROCESS", "Generator", "REGISTRY", "available", "get_model", "load_model", "register"]

DEFAULT_MODEL = "vaelab-cvae"
