"""Synthetic labelled clips whose band energies are known: tones, linear chirps, noise bursts (demo, tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.atomic import atomic_dir
from vaelab.modalities.audio.io import write_clip_folder

CLASSES = ("tone", "chirp", "burst")


def synth_clip(kind: str, rng: np.random.Generator, sample_rate: int = 16000, duration: float = 1.0) -> np.ndarray:
    """One clip (n,) float32 in [-0.5, 0.5].

    ``tone``: a sine of 300-3000 Hz (all energy in 0.5-4 kHz above 500 Hz); ``chirp``: a linear sweep from
    100-1000 Hz up to 5-7.5 kHz; ``burst``: 0.2-0.4 s of white noise (half its energy above 4 kHz at 16 kHz).
    """
    n = int(round(duration * sample_rate))
    t = np.arange(n) / sample_rate
    if kind == "tone":
        x = np.sin(2 * np.pi * rng.uniform(300, 3000) * t + rng.uniform(0, 2 * np.pi))
    elif kind == "chirp":
        f0, f1 = rng.uniform(100, 1000), rng.uniform(5000, 7500)
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * duration)))
    elif kind == "burst":
        x = np.zeros(n)
        m = int(rng.uniform(0.2, 0.4) * sample_rate)
        s = int(rng.integers(0, n - m))
        x[s:s + m] = rng.standard_normal(m) * np.hanning(m)
        x /= max(np.abs(x).max(), 1e-9)
    else:
        raise ValueError(kind)
    return (0.5 * x * rng.uniform(0.3, 1.0)).astype(np.float32)


def write_synth_set(out: str | Path, *, per_class: int = 8, sample_rate: int = 16000, duration: float = 1.0,
                    seed: int = 0) -> Path:
    """A folder ``<class>/<n>.wav`` + ``labels.csv`` with ``per_class`` clips of each of :data:`CLASSES`."""
    rng = np.random.default_rng(seed)
    waves, y = [], []
    for k in CLASSES:
        for _ in range(per_class):
            waves.append(synth_clip(k, rng, sample_rate, duration))
            y.append(k)
    with atomic_dir(out) as tmp:
        write_clip_folder(tmp, np.stack(waves), np.asarray(y, dtype=object), sample_rate)
    return Path(out)
