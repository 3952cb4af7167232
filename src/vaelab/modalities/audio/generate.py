"""Write generated log-mels of an audio run as a labelled clip folder (the layout ``vaelab train`` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir
from vaelab.core.errors import InputError
from vaelab.modalities.audio.dataset import mel_params_of
from vaelab.modalities.audio.io import write_clip_folder
from vaelab.modalities.audio.mel import MelParams
from vaelab.modalities.audio.vocoder import griffin_lim, precompensate


def vocode_generated(generator: Any, logmel: np.ndarray, p: MelParams, *, seed: int = 0, n_iter: int = 32,
                     momentum: float = 0.99, jobs: int = 1) -> np.ndarray:
    """Generated (or any) log-mels (n, n_mels, T) -> waveforms (n, n_samples) with the vocoder as the run writes them:
    :func:`~vaelab.modalities.audio.vocoder.griffin_lim` of the log-mels pre-compensated with the run's level lift
    (``generator.extra_["vocoder_lift"]``, fitted on its training clips; runs without it: plain Griffin-Lim)."""
    curve = getattr(generator, "extra_", {}).get("vocoder_lift")
    L = np.asarray(logmel, dtype=np.float64)
    if curve is not None:
        L = precompensate(L, curve.numpy())
    return griffin_lim(L, p, n_iter=n_iter, momentum=momentum, seed=seed, jobs=jobs)


def write_generated_audio(run: Any, synth: Any, out: str | Path, *, seed: int = 0, n_iter: int = 32,
                          momentum: float = 0.99) -> Path:
    """``out/<label>/<n>.wav`` (the sampled log-mels through :func:`vocode_generated`) and ``out/labels.csv`` (file,label)."""
    p = mel_params_of(run.meta["data"]["layout"])
    if p is None:
        raise InputError(f"{run.path}: not an audio run")
    out = Path(out)
    if out.suffix.lower() in (".csv", ".tsv", ".xlsx", ".npz"):
        raise InputError(f"{out}: an audio run writes a folder of wav files; give a folder name for --out")
    waves = vocode_generated(run.generator, synth.X, p, n_iter=n_iter, momentum=momentum, seed=seed)
    with atomic_dir(out) as tmp:
        write_clip_folder(tmp, waves, synth.y, p.sample_rate)
    return out
