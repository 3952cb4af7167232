"""Classical generators: the baselines a deep generator has to beat.

All of them implement the :class:`~vaelab.models.base.Generator` protocol, fit each class
on its own, work on flattened features (``X.reshape(n, -1)``) and reshape samples back to
``(n, *feature_shape)``. Sampling class ``k`` with seed ``s`` draws from
``np.random.default_rng([s, k])``, so a class's samples depend only on the seed and on how
many of that class are asked for, not on the other classes in the request.

``ppca``
    Per-class probabilistic PCA (Tipping & Bishop 1999, "Probabilistic principal component
    analysis", J. R. Stat. Soc. B 61(3):611-622), closed-form maximum-likelihood fit: the
    class mean μ, the top-q eigenvectors U_q and eigenvalues Λ_q of the class covariance,
    σ² = mean of the d − q discarded eigenvalues (for n ≪ d most of them are zero, which
    the mean counts) and W = U_q (Λ_q − σ² I)^½. Samples are x = μ + W z + σ ε with z, ε
    standard normal. The eigen-decomposition is an SVD of the centred class data (n × d,
    cheap when n ≪ d); the covariance is the unbiased sample covariance (divisor n − 1,
    the ML fit's divisor is n: the difference is a factor n/(n − 1) on every variance).
    q = ``min(n_components, n_c − 1, d)``.

The others resample the real training data of the class (so their fitted state *is* the
training set, and a run folder of one of them contains the real training data, stored in
``weights.safetensors``):

``noise``
    A random training sample plus Gaussian noise with per-feature sd ``scale`` × the
    class's per-feature sd (ddof=1). The default 0.1 keeps the per-feature spread at
    √(1 + 0.1²) ≈ 1.005 × the real one: a near copy with a small perturbation, the
    "jitter" augmentation of the time-series literature (Um et al. 2017 use σ = 0.03 on
    standardised signals) scaled to each class's own spread. Independent per-feature noise
    is white, unlike the smooth variation of spectra, so larger values make samples
    visibly noisier than real ones.
``shift``
    A random training sample shifted along the last axis (the spectral axis for spectra)
    by a uniform random shift in [−``max_shift``, ``max_shift``] points (fractional,
    linear interpolation; ``fractional=False`` draws integer shifts); values beyond the
    edges hold the edge value.
``scale``
    A random training sample times a uniform random factor in [1 − ``amount``,
    1 + ``amount``] (intensity scaling). On min-max scaled data this moves values above 1
    (a sample whose maximum was 1 gets a maximum of up to 1 + ``amount``); that is the
    point of the augmentation, and models that need [0, 1] data should not be trained on
    its output.
``mixup``
    λ x_a + (1 − λ) x_b for two different random training samples a, b of the same class
    and λ ~ Beta(α, α) (Zhang et al. 2018, "mixup"; here within a class, so the label is
    not mixed).
``smote``
    SMOTE (Chawla et al. 2002) via ``imblearn.over_sampling.SMOTE``: x_i + u (x_nn − x_i)
    for a random training sample x_i of the class, one of its k nearest same-class
    neighbours x_nn and u ~ U[0, 1); k = ``min(k_neighbors, n_c − 1)``. SMOTE only
    oversamples classes against a target count, so each class is resampled on its own:
    the class's rows (label 0) plus one placeholder row (label 1, never resampled, never a
    neighbour: imblearn fits the neighbours on the target class's rows only) go into
    ``SMOTE(sampling_strategy={0: n_c + n})`` and the ``n`` rows appended after the input
    are the samples.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vaelab.core.errors import InputError
from vaelab.core.labels import encode_labels, normalise_counts, unique_labels
from vaelab.core.safetensors_io import load_safetensors_numpy
from vaelab.models.base import (
    WEIGHTS_FILE,
    ModelConfig,
    check_training_data,
    new_from_config,
    write_model_folder,
)


def _class_rng(seed: int, k: int) -> np.random.Generator:
    seed = int(seed)
    if seed < 0:
        raise InputError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng([seed, int(k)])


class ClassicalGenerator(ABC):
    """Base for numpy generators that fit every class on its own.

    Subclasses define ``name``, ``Config``, ``state_keys`` (names of the per-class arrays),
    ``fit_class`` and ``sample_class``. ``fit_class`` may use ``rng`` (seeded from the fit
    seed); the models here are deterministic fits and ignore it.
    """

    name: ClassVar[str]
    Config: ClassVar[type[ModelConfig]]
    state_keys: ClassVar[tuple[str, ...]]
    modalities: ClassVar[tuple[str, ...]] = ("spectrum", "image", "audio")  # flattened: any sample shape

    @classmethod
    def supports(cls, feature_shape: tuple[int, ...]) -> str | None:
        """None: every class here flattens samples, so any non-empty shape works."""
        return None if len(feature_shape) >= 1 and all(s >= 1 for s in feature_shape) else "empty samples"

    def __init__(self, config: ModelConfig | None = None, **overrides: Any):
        cfg = config or self.Config()
        if overrides:
            d = cfg.to_dict()
            d.update(overrides)
            cfg = self.Config.from_dict(d)
        self.config = cfg
        self.validate_config()
        self.classes_: np.ndarray | None = None
        self.feature_shape_: tuple[int, ...] | None = None
        self.state_: list[dict[str, np.ndarray]] = []

    # ------------------------------------------------------------------ to override
    def validate_config(self) -> None:
        """Raise :class:`InputError` for impossible settings."""

    @abstractmethod
    def fit_class(self, X: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fitted arrays (keys ``state_keys``) for one class's rows ``X`` (n_c, d)."""

    @abstractmethod
    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` samples (n, d) of one class from its fitted arrays."""

    # ------------------------------------------------------------------ protocol
    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0) -> ClassicalGenerator:
        X = np.asarray(X)
        check_training_data(X, y)
        self.classes_ = unique_labels(y)
        self.feature_shape_ = tuple(int(s) for s in X.shape[1:])
        c = encode_labels(y, self.classes_)
        flat = X.reshape(len(X), -1).astype(np.float64)
        self.state_ = [self.fit_class(flat[c == k], _class_rng(seed, k)) for k in range(len(self.classes_))]
        return self

    def _check_fitted(self) -> None:
        if self.classes_ is None or self.feature_shape_ is None or not self.state_:
            raise InputError(f"{self.name}: the model is not fitted")

    def sample(self, counts: Mapping[Any, int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        assert self.classes_ is not None and self.feature_shape_ is not None
        pairs = normalise_counts(counts, self.classes_)
        d = int(math.prod(self.feature_shape_))
        blocks = [np.zeros((0, d))]
        labels = [np.zeros(0, dtype=np.int64)]
        for k, n in pairs:
            rng = _class_rng(seed, k)
            if n:
                blocks.append(np.asarray(self.sample_class(self.state_[k], n, rng), dtype=np.float64).reshape(n, d))
                labels.append(np.full(n, k, dtype=np.int64))
        X = np.concatenate(blocks).reshape((-1, *self.feature_shape_))
        c = np.concatenate(labels)
        return X, self.classes_[c]

    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        self._check_fitted()
        assert self.classes_ is not None and self.feature_shape_ is not None
        arrays = {f"class{k}.{key}": np.ascontiguousarray(st[key], dtype=np.float64)
                  for k, st in enumerate(self.state_) for key in self.state_keys}
        write_model_folder(path, self, lambda tmp: save_file(
            arrays, str(tmp), metadata={"format": "vaelab", "model": self.name}))

    @classmethod
    def load(cls, path: str | Path) -> ClassicalGenerator:
        path = Path(path)
        self = new_from_config(cls, path)
        arrays = load_safetensors_numpy(path / WEIGHTS_FILE)
        d = int(math.prod(self.feature_shape_))
        state = []
        for k in range(len(self.classes_)):
            st = {}
            for key in self.state_keys:
                a = arrays.get(f"class{k}.{key}")
                if a is None:
                    raise InputError(f"{path}: weights lack 'class{k}.{key}'; file does not match the config")
                if not np.all(np.isfinite(a)):
                    raise InputError(f"{path}: 'class{k}.{key}' holds NaN/inf values")
                st[key] = a
            self.check_state(st, d, path)
            state.append(st)
        self.state_ = state
        return self

    def check_state(self, st: dict[str, np.ndarray], d: int, path: Path) -> None:
        """Shapes of loaded per-class arrays; default: ``X`` is (n_c >= 2, d)."""
        X = st["X"]
        if X.ndim != 2 or X.shape[1] != d or len(X) < 2:
            raise InputError(f"{path}: stored training rows have shape {X.shape}, expected (n >= 2, {d})")


# ---------------------------------------------------------------------------- PPCA
@dataclass
class PPCAConfig(ModelConfig):
    n_components: int = 10


class PPCA(ClassicalGenerator):
    """Per-class probabilistic PCA (see module docstring)."""

    name = "ppca"
    Config = PPCAConfig
    state_keys = ("mean", "W", "sigma2")

    def validate_config(self) -> None:
        q = self.config.n_components
        if isinstance(q, bool) or not isinstance(q, int) or q < 1:
            raise InputError(f"ppca: n_components must be an integer >= 1, got {q!r}")

    def fit_class(self, X: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        n, d = X.shape
        mean = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        eig = s**2 / (n - 1)  # nonzero eigenvalues of the sample covariance; the other d - len(s) are 0
        q = min(self.config.n_components, n - 1, d)
        sigma2 = float(eig[q:].sum() / (d - q)) if d > q else 0.0
        W = vt[:q].T * np.sqrt(np.maximum(eig[:q] - sigma2, 0.0))
        return {"mean": mean, "W": W, "sigma2": np.asarray([sigma2])}

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        mean, W, sigma2 = state["mean"], state["W"], float(state["sigma2"][0])
        z = rng.standard_normal((n, W.shape[1]))
        eps = rng.standard_normal((n, len(mean)))
        return mean + z @ W.T + math.sqrt(sigma2) * eps

    def check_state(self, st: dict[str, np.ndarray], d: int, path: Path) -> None:
        mean, W, s2 = st["mean"], st["W"], st["sigma2"]
        if mean.shape != (d,) or W.ndim != 2 or W.shape[0] != d or s2.shape != (1,) or s2[0] < 0:
            raise InputError(f"{path}: PPCA arrays have inconsistent shapes for {d} features")

    def covariance(self, label: Any) -> np.ndarray:
        """The fitted covariance W Wᵀ + σ² I of class ``label`` (d × d)."""
        self._check_fitted()
        assert self.classes_ is not None
        k = normalise_counts({label: 0}, self.classes_)[0][0]
        W, s2 = self.state_[k]["W"], float(self.state_[k]["sigma2"][0])
        return W @ W.T + s2 * np.eye(W.shape[0])


# ---------------------------------------------------------------------------- resamplers
class _Resampler(ClassicalGenerator):
    """Fitted state = the class's training rows (``X``)."""

    state_keys: ClassVar[tuple[str, ...]] = ("X",)

    def fit_class(self, X: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"X": X.copy()}

    @staticmethod
    def _pick(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        return X[rng.integers(len(X), size=n)]


def _nonnegative(name: str, value: Any, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    if upper is not None and value >= upper:
        raise InputError(f"{name} must be < {upper}, got {value!r}")
    return float(value)


@dataclass
class NoiseConfig(ModelConfig):
    scale: float = 0.1


class NoiseResampler(_Resampler):
    """A training sample plus Gaussian noise of ``scale`` × the class's per-feature sd."""

    name = "noise"
    Config = NoiseConfig
    state_keys = ("X", "sd")

    def validate_config(self) -> None:
        _nonnegative("noise: scale", self.config.scale)

    def fit_class(self, X: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"X": X.copy(), "sd": X.std(axis=0, ddof=1)}

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        X, sd = state["X"], state["sd"]
        return self._pick(X, n, rng) + rng.standard_normal((n, X.shape[1])) * (self.config.scale * sd)

    def check_state(self, st: dict[str, np.ndarray], d: int, path: Path) -> None:
        super().check_state(st, d, path)
        if st["sd"].shape != (d,):
            raise InputError(f"{path}: stored sd has shape {st['sd'].shape}, expected ({d},)")


@dataclass
class ShiftConfig(ModelConfig):
    max_shift: float = 3.0
    fractional: bool = True


class ShiftResampler(_Resampler):
    """A training sample shifted along the last axis by up to ``max_shift`` points."""

    name = "shift"
    Config = ShiftConfig

    def validate_config(self) -> None:
        _nonnegative("shift: max_shift", self.config.max_shift)

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        assert self.feature_shape_ is not None
        m = self.config.max_shift
        if self.config.fractional:
            s = rng.uniform(-m, m, size=n)
        else:
            s = rng.integers(-math.floor(m), math.floor(m) + 1, size=n).astype(np.float64)
        rows = self._pick(state["X"], n, rng)
        L = self.feature_shape_[-1]
        x = rows.reshape(n, -1, L)
        # out[j] = x[j - s], linear interpolation, positions clamped to the edges (edge values held)
        pos = np.clip(np.arange(L)[None, :] - s[:, None], 0, L - 1)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, L - 1)
        w = (pos - i0)[:, None, :]
        g0 = np.take_along_axis(x, np.broadcast_to(i0[:, None, :], x.shape), axis=2)
        g1 = np.take_along_axis(x, np.broadcast_to(i1[:, None, :], x.shape), axis=2)
        return (g0 * (1 - w) + g1 * w).reshape(n, -1)


@dataclass
class ScaleConfig(ModelConfig):
    amount: float = 0.05


class ScaleResampler(_Resampler):
    """A training sample times a random factor in [1 − amount, 1 + amount]."""

    name = "scale"
    Config = ScaleConfig

    def validate_config(self) -> None:
        _nonnegative("scale: amount", self.config.amount, upper=1.0)

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        a = self.config.amount
        factor = rng.uniform(1 - a, 1 + a, size=n)
        return self._pick(state["X"], n, rng) * factor[:, None]


@dataclass
class MixupConfig(ModelConfig):
    alpha: float = 0.4


class MixupResampler(_Resampler):
    """λ x_a + (1 − λ) x_b for two different same-class training samples, λ ~ Beta(α, α)."""

    name = "mixup"
    Config = MixupConfig

    def validate_config(self) -> None:
        a = self.config.alpha
        if _nonnegative("mixup: alpha", a) == 0:
            raise InputError("mixup: alpha must be > 0")

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        X = state["X"]
        m = len(X)
        a = rng.integers(m, size=n)
        b = (a + rng.integers(1, m, size=n)) % m  # a partner other than a itself
        lam = rng.beta(self.config.alpha, self.config.alpha, size=n)[:, None]
        return lam * X[a] + (1 - lam) * X[b]


@dataclass
class SmoteConfig(ModelConfig):
    k_neighbors: int = 5


class SmoteResampler(_Resampler):
    """imbalanced-learn's SMOTE, one class at a time (see module docstring)."""

    name = "smote"
    Config = SmoteConfig

    def validate_config(self) -> None:
        k = self.config.k_neighbors
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"smote: k_neighbors must be an integer >= 1, got {k!r}")

    def sample_class(self, state: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        from imblearn.over_sampling import SMOTE

        X = state["X"]
        m = len(X)
        k = min(self.config.k_neighbors, m - 1)
        Xin = np.vstack([X, np.zeros((1, X.shape[1]))])
        yin = np.r_[np.zeros(m, dtype=np.int64), 1]
        sm = SMOTE(sampling_strategy={0: m + n}, k_neighbors=k, random_state=int(rng.integers(2**31 - 1)))
        Xr, yr = sm.fit_resample(Xin, yin)
        new = Xr[m + 1:]
        if len(new) != n or np.any(yr[m + 1:] != 0):
            raise RuntimeError(f"imblearn SMOTE returned {len(new)} rows for {n} requested")
        return new


CLASSICAL_MODELS: tuple[type[ClassicalGenerator], ...] = (
    PPCA, NoiseResampler, ShiftResampler, ScaleResampler, MixupResampler, SmoteResampler,
)
