"""What one sample is: its shape and what its axes mean.

A :class:`SampleSpec` travels with every :class:`~vaelab.data.dataset.Dataset` (``ds.spec``) and
is saved in a run folder's ``run.json`` (``data.sample``), so that preprocessing, models,
metrics and plots can ask "is this a spectrum or an image?" instead of guessing from ``ndim``.

Kinds and the shape of one sample (``X`` is ``(n, *shape)``):

``spectrum``  ``(points,)``; optional ``axis`` (points,) of wavenumbers / shifts / channel values.
``image``     ``(height, width)`` for grey images or ``(height, width, channels)`` — channels
              last, exactly as in the npz file (MedMNIST / PIL order); vaelab keeps this
              order in memory, a model that wants ``(C, H, W)`` transposes itself.
``audio``     as the audio loader makes it (e.g. a log-mel spectrogram ``(n_mels, frames)``);
              ``sample_rate`` (Hz) and the mel parameters ``n_mels``, ``n_fft``, ``hop_length``
              (librosa's names) when the samples are spectrograms.
``generic``   any other shape; nothing is assumed about its axes.

``dtype`` is the numeric type the samples had in the input file (``"uint8"``, ``"float32"``,
...). In memory ``X`` is float; writers use ``dtype`` to give images back in their own type
(uint8 in → uint8 out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from vaelab.core.errors import InputError

KINDS = ("spectrum", "image", "audio", "generic")
PLURAL = {"spectrum": "spectra", "image": "images", "audio": "audio", "generic": "generic data"}
MAX_CHANNELS = 4  # (H, W, C) with C <= 4 reads as an image (grey, grey+alpha, RGB, RGBA)


@dataclass(frozen=True)
class SampleSpec:
    """The shape of one sample and what its axes mean (see the module docstring).

    Build one with :meth:`spectrum`, :meth:`image`, :meth:`audio`, :meth:`generic` or
    :meth:`infer`; save with :meth:`to_dict`, read back (validating) with :meth:`from_dict`.
    """

    kind: str
    shape: tuple[int, ...]
    dtype: str | None = None
    axis: tuple[float, ...] | None = None  # spectrum only
    sample_rate: int | None = None  # audio only
    n_mels: int | None = None
    n_fft: int | None = None
    hop_length: int | None = None

    _AUDIO: ClassVar[tuple[str, ...]] = ("sample_rate", "n_mels", "n_fft", "hop_length")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown sample kind {self.kind!r}; one of {', '.join(KINDS)}")
        shape = tuple(self.shape)
        if not shape or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                                for s in shape):
            raise InputError(f"a sample shape needs positive integer sizes, got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))
        if self.dtype is not None:
            try:
                dt = np.dtype(self.dtype)
            except (TypeError, ValueError):
                raise InputError(f"unknown sample dtype {self.dtype!r}") from None
            if dt.kind not in "iuf":
                raise InputError(f"sample dtype must be numeric, got {self.dtype!r}")
            object.__setattr__(self, "dtype", dt.name)
        if self.axis is not None:
            if self.kind != "spectrum":
                raise InputError(f"an axis describes spectra, not {PLURAL[self.kind]}")
            try:
                axis = tuple(float(a) for a in np.asarray(self.axis, dtype=np.float64).reshape(-1))
            except (TypeError, ValueError):
                raise InputError("the axis must hold numbers") from None
            if len(axis) != self.shape[0] or not all(math.isfinite(a) for a in axis):
                raise InputError(f"the axis needs {self.shape[0]} finite values, got {len(axis)}")
            object.__setattr__(self, "axis", axis)
        if self.kind == "spectrum" and len(self.shape) != 1:
            raise InputError(f"a spectrum has shape (points,), got {self.shape}")
        if self.kind == "image" and not (len(self.shape) == 2 or (len(self.shape) == 3
                                                                  and self.shape[2] <= MAX_CHANNELS)):
            raise InputError(f"an image has shape (height, width) or (height, width, channels <= {MAX_CHANNELS}), "
                             f"got {self.shape}")
        for name in self._AUDIO:
            v = getattr(self, name)
            if v is None:
                continue
            if self.kind != "audio":
                raise InputError(f"{name} describes audio, not {PLURAL[self.kind]}")
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.kind == "audio" and self.sample_rate is None:
            raise InputError("audio samples need a sample_rate")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def spectrum(cls, points: int, *, axis: Any = None, dtype: str | None = None) -> SampleSpec:
        return cls("spectrum", (int(points),), dtype=dtype, axis=None if axis is None else tuple(np.ravel(axis)))

    @classmethod
    def image(cls, height: int, width: int, channels: int | None = None, *, dtype: str | None = None) -> SampleSpec:
        """``channels=None``: grey images of shape (height, width), no channel axis."""
        shape = (height, width) if channels is None else (height, width, channels)
        return cls("image", shape, dtype=dtype)

    @classmethod
    def audio(cls, shape: tuple[int, ...], *, sample_rate: int, n_mels: int | None = None, n_fft: int | None = None,
              hop_length: int | None = None, dtype: str | None = None) -> SampleSpec:
        return cls("audio", tuple(shape), dtype=dtype, sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft,
                   hop_length=hop_length)

    @classmethod
    def generic(cls, shape: tuple[int, ...], *, dtype: str | None = None) -> SampleSpec:
        return cls("generic", tuple(shape), dtype=dtype)

    @classmethod
    def infer(cls, shape: tuple[int, ...], *, axis: Any = None, dtype: Any = None) -> SampleSpec:
        """The description a file without one gets, from the shape of one sample.

        ``(d,)`` → spectrum (with ``axis`` when given); ``(H, W)`` → grey image;
        ``(H, W, C)`` with ``C <= 4`` → image, channels last; anything else → generic.
        """
        shape = tuple(int(s) for s in shape)
        dt = None if dtype is None else np.dtype(dtype).name
        if len(shape) == 1:
            return cls.spectrum(shape[0], axis=axis, dtype=dt)
        if axis is not None:
            raise InputError(f"an axis describes spectra (one value per point); these samples have shape {shape}")
        if len(shape) == 2 or (len(shape) == 3 and shape[2] <= MAX_CHANNELS):
            return cls("image", shape, dtype=dt)
        return cls.generic(shape, dtype=dt)

    # ------------------------------------------------------------------ views

    @property
    def height(self) -> int:
        self._need("image")
        return self.shape[0]

    @property
    def width(self) -> int:
        self._need("image")
        return self.shape[1]

    @property
    def channels(self) -> int:
        """Number of colour channels (1 for grey images with no channel axis)."""
        self._need("image")
        return self.shape[2] if len(self.shape) == 3 else 1

    @property
    def size(self) -> int:
        """Numbers per sample (the product of ``shape``)."""
        return int(np.prod(self.shape))

    def _need(self, kind: str) -> None:
        if self.kind != kind:
            raise AttributeError(f"a {self.kind} sample has no {kind} attributes")

    def describe(self) -> str:
        """Words for error messages: ``"images of 28x28"``, ``"spectra of 1841 points"``."""
        dims = "x".join(map(str, self.shape))
        if self.kind == "spectrum":
            return f"spectra of {self.shape[0]} points"
        if self.kind == "image":
            return f"images of {dims}" if len(self.shape) == 2 else f"images of {dims[: dims.rindex('x')]} with {self.channels} channels"
        if self.kind == "audio":
            return f"audio samples of shape {dims} at {self.sample_rate} Hz"
        return f"samples of shape {dims}"

    def with_axis(self, axis: Any) -> SampleSpec:
        """The same description with spectral ``axis`` values (or ``None``)."""
        return replace(self, axis=None if axis is None else tuple(np.ravel(np.asarray(axis, dtype=np.float64))))

    def with_dtype(self, dtype: Any) -> SampleSpec:
        return replace(self, dtype=None if dtype is None else np.dtype(dtype).name)

    # ------------------------------------------------------------------ JSON

    def to_dict(self, *, axis: bool = True) -> dict[str, Any]:
        """JSON-ready; only the fields of this kind. ``axis=False`` leaves a spectrum's axis out
        (``run.json`` keeps it in ``data.axis``, where it has always been)."""
        d: dict[str, Any] = {"kind": self.kind, "shape": list(self.shape), "dtype": self.dtype}
        if self.kind == "spectrum" and axis:
            d["axis"] = None if self.axis is None else list(self.axis)
        if self.kind == "image":
            d.update(height=self.height, width=self.width, channels=self.channels)
        if self.kind == "audio":
            d.update({k: getattr(self, k) for k in self._AUDIO})
        return d

    @classmethod
    def from_dict(cls, d: Any) -> SampleSpec:
        """Validating inverse of :meth:`to_dict`; a damaged description raises ``InputError``."""
        if not isinstance(d, dict) or "kind" not in d or "shape" not in d:
            raise InputError("a sample description needs 'kind' and 'shape'")
        known = {"kind", "shape", "dtype", "axis", "height", "width", "channels", *cls._AUDIO}
        unknown = set(d) - known
        if unknown:
            raise InputError(f"unknown sample description field(s) {sorted(unknown)}")
        shape = d["shape"]
        if not isinstance(shape, list):
            raise InputError(f"sample shape must be a list, got {shape!r}")
        spec = cls(kind=d["kind"], shape=tuple(shape), dtype=d.get("dtype"),
                   axis=None if d.get("axis") is None else tuple(d["axis"]),
                   **{k: d.get(k) for k in cls._AUDIO})
        if spec.kind == "image":
            for k in ("height", "width", "channels"):
                if k in d and d[k] != getattr(spec, k):
                    raise InputError(f"sample description: {k} {d[k]!r} does not match shape {spec.shape}")
        return spec


def applies_to(kinds: frozenset[str] | tuple[str, ...]) -> str:
    """``"spectra"``, ``"spectra and audio"`` — the kinds a step applies to, in words."""
    names = [PLURAL[k] for k in KINDS if k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


__all__ = ["KINDS", "SampleSpec", "applies_to"]
