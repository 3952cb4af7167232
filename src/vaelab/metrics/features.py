"""Feature spaces for the distribution metrics: fit on the REAL TRAINING data, transform every set.

C2ST, PRDC, MMD, the Fréchet distance and DCR compare samples by distances or by a classifier,
so they are only as meaningful as the space they run in. For spectra the raw (preprocessed)
values are that space (``identity``; ``pca`` projects onto the principal axes of the real
training data). For images and audio a small domain network trained on the real training data
is the space, as torchmetrics' FID takes ``feature=nn.Module``: the image and audio packages
register such an extractor with :func:`register_features` and :func:`evaluate_arrays
<vaelab.evaluation.suite.evaluate_arrays>` picks it by name (``vaelab evaluate --features NAME``)
or by the data's kind (:func:`default_features`).

The protocol (:class:`FeatureExtractor`)::

    ext = get_extractor("pca:20", seed=0)       # registry name [":" value | ":" key=value,...]
    ext.fit(X_train_real, y_train_real)         # (n, ...) -> self; nothing else is ever fitted on
    F = ext.transform(X)                        # (m, ...) -> (m, k) float64
    ext.describe()                              # {"name", "params", "n_features_in", "n_features"}

The description is stored in ``metrics.json`` under ``features``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vaelab.core.errors import InputError

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURE_EXTRACTORS",
    "FeatureExtractor",
    "IdentityFeatures",
    "PCAFeatures",
    "default_features",
    "get_extractor",
    "parse_features_spec",
    "register_features",
]


@runtime_checkable
class FeatureExtractor(Protocol):
    """What every feature space provides. ``fit`` sees only real training data (and its labels)."""

    name: str

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> FeatureExtractor:
        """Learn the space from real training samples ``X`` (n, ...) and labels ``y`` (n,)."""

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Features of ``X`` (m, ...) as a float64 array (m, k)."""

    def describe(self) -> dict[str, Any]:
        """``{"name", "params", "n_features_in", "n_features"}``, JSON-ready, for the result record."""


def _as_rows(X: Any) -> np.ndarray:
    """``X`` as float64 (n, d): trailing axes flattened, as every metric did before extractors."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 0:
        raise InputError("features need a sample axis, got a scalar")
    return arr.reshape(arr.shape[0], -1)


class IdentityFeatures:
    """The samples themselves, flattened: ``(n, ...) -> (n, prod(...))``. The default for spectra.

    With it every metric gives exactly the numbers it gave before feature extractors existed.
    """

    name = "identity"

    def __init__(self, *, seed: int = 0) -> None:
        self.n_features_in_: int | None = None

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> IdentityFeatures:
        self.n_features_in_ = int(_as_rows(X).shape[1])
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return _as_rows(X)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": {}, "n_features_in": self.n_features_in_,
                "n_features": self.n_features_in_}


class PCAFeatures:
    """Scores on the first ``n_components`` principal axes of the real training data.

    Parameters
    ----------
    n_components : int, default 50
        Capped at ``min(n - 1, d)`` of the training data (the rank a centred sample can have).
    seed : int, default 0
        ``random_state`` of :class:`sklearn.decomposition.PCA` (used by randomized solvers only).
    """

    name = "pca"

    def __init__(self, n_components: int = 50, *, seed: int = 0) -> None:
        if isinstance(n_components, bool) or int(n_components) != n_components or n_components < 1:
            raise InputError(f"pca features: n_components must be a positive integer, got {n_components!r}")
        self.n_components = int(n_components)
        self.seed = int(seed)
        self._pca: Any = None
        self.n_features_in_: int | None = None

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> PCAFeatures:
        from sklearn.decomposition import PCA

        x = _as_rows(X)
        if x.shape[0] < 2:
            raise InputError(f"pca features need at least 2 real training samples, got {x.shape[0]}")
        k = min(self.n_components, x.shape[0] - 1, x.shape[1])
        self._pca = PCA(n_components=k, random_state=self.seed).fit(x)
        self.n_features_in_ = int(x.shape[1])
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self._pca is None:
            raise InputError("pca features: fit on the real training data first")
        x = _as_rows(X)
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"pca features were fitted on {self.n_features_in_} values per sample, got {x.shape[1]}")
        return np.asarray(self._pca.transform(x), dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        fitted = self._pca is not None
        return {"name": self.name,
                "params": {"n_components": self.n_components, "seed": self.seed,
                           "explained_variance": (float(np.sum(self._pca.explained_variance_ratio_))
                                                  if fitted else None)},
                "n_features_in": self.n_features_in_,
                "n_features": int(self._pca.n_components_) if fitted else None}


#: name -> factory(**params, seed=...) returning an unfitted :class:`FeatureExtractor`.
FEATURE_EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {}
#: sample kind (``spectrum``, ``image``, ``audio``) -> the extractor name used when none is asked for.
DEFAULT_FEATURES: dict[str, str] = {}


def register_features(name: str, factory: Callable[..., FeatureExtractor], *,
                      default_for: tuple[str, ...] = ()) -> Callable[..., FeatureExtractor]:
    """Make ``factory`` available as ``--features NAME``; the default for the sample kinds ``default_for``.

    ``factory(*args, seed=int, **params)`` returns an unfitted extractor; positional/keyword
    parameters come from the spec (``"NAME:VALUE"`` or ``"NAME:key=value,..."``). Import-time
    registration from a modality package keeps torch out of modules that do not need it:
    register a small function that imports the network when called.
    """
    if not name or ":" in name or "," in name:
        raise ValueError(f"feature extractor name {name!r} must be non-empty without ':' or ','")
    FEATURE_EXTRACTORS[name] = factory
    for kind in default_for:
        DEFAULT_FEATURES[kind] = name
    return factory


register_features("identity", IdentityFeatures, default_for=("spectrum",))
register_features("pca", PCAFeatures)


def default_features(kind: str | None) -> str:
    """The registered default extractor for a sample kind; ``identity`` when none is registered."""
    return DEFAULT_FEATURES.get(kind or "spectrum", "identity")


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_features_spec(spec: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``"pca:20"`` -> ``("pca", [20], {})``; ``"net:epochs=5,width=32"`` -> ``("net", [], {...})``."""
    name, _, rest = str(spec).strip().partition(":")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        if "=" in part:
            k, _, v = part.partition("=")
            kwargs[k.strip()] = _value(v.strip())
        else:
            args.append(_value(part))
    return name, args, kwargs


def get_extractor(spec: str | FeatureExtractor | None = None, *, seed: int = 0,
                  kind: str | None = None) -> FeatureExtractor:
    """An unfitted extractor from a spec string, an extractor instance (returned as is) or ``None``.

    ``None`` means :func:`default_features` of ``kind``. Unknown names and bad parameters raise
    :class:`~vaelab.core.errors.InputError` naming the registered extractors.
    """
    if spec is not None and not isinstance(spec, str):
        if not isinstance(spec, FeatureExtractor):
            raise InputError(f"not a feature extractor: {spec!r} (needs fit, transform, describe and name)")
        return spec
    name, args, kwargs = parse_features_spec(spec if spec is not None else default_features(kind))
    if name not in FEATURE_EXTRACTORS:
        raise InputError(f"unknown feature extractor {name!r}; choose from {', '.join(sorted(FEATURE_EXTRACTORS))}")
    try:
        return FEATURE_EXTRACTORS[name](*args, seed=seed, **kwargs)
    except TypeError as e:
        raise InputError(f"feature extractor {spec!r}: {e}") from None
