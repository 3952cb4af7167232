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
from vaelab.modalities.audio.vocoder import precompensate, vocode


def run_vocoder(generator: Any) -> str:
    """The vocoder a run writes clips with: its config's ``vocoder`` (runs saved before the option load as
    ``"griffin-lim"`` and write as they did; objects without a config: ``"griffin-lim"``)."""
    return str(getattr(getattr(generator, "config", None), "vocoder", "griffin-lim"))


def vocode_generated(generator: Any, logmel: np.ndarray, p: MelParams, *, seed: int = 0, n_iter: int = 32,
                     momentum: float = 0.99, jobs: int = 1, vocoder: str | None = None) -> np.ndarray:
    """Generated (or any) log-mels (n, n_mels, T) -> waveforms (n, n_samples) with the vocoder as the run writes them
    (``vocoder``: one of :data:`~vaelab.modalities.audio.vocoder.VOCODERS`; None: :func:`run_vocoder`).

    ``"griffin-lim"``: :func:`~vaelab.modalities.audio.vocoder.griffin_lim` of the log-mels pre-compensated with the
    run's level lift (``generator.extra_["vocoder_lift"]``, fitted on its training clips; runs without it: plain).
    ``"refine"``: Griffin-Lim + :func:`~vaelab.modalities.audio.vocoder.refine` of the log-mels themselves, no
    pre-compensation (the refined round trip's own lift is below 0.012 log units at every level on speech: the
    refinement reaches the target log-mel, so there is nothing to pre-compensate)."""
    name = run_vocoder(generator) if vocoder is None else vocoder
    L = np.asarray(logmel, dtype=np.float64)
    curve = getattr(generator, "extra_", {}).get("vocoder_lift")
    if name == "griffin-lim" and curve is not None:
        L = precompensate(L, curve.numpy())
    return vocode(L, p, vocoder=name, n_iter=n_iter, momentum=momentum, seed=seed, jobs=jobs)


def write_generated_audio(run: Any, synth: Any, out: str | Path, *, seed: int = 0, n_iter: int = 32,
                          momentum: float = 0.99, vocoder: str | None = None, jobs: int = 1) -> Path:
    """``out/<label>/<n>.wav`` (the sampled log-mels through :func:`vocode_generated`) and ``out/labels.csv`` (file,label)."""
    p = mel_params_of(run.meta["data"]["layout"])
    if p is None:
        raise InputError(f"{run.path}: not an audio run")
    out = Path(out)
    if out.suffix.lower() in (".csv", ".tsv", ".xlsx", ".npz"):
        raise InputError(f"{out}: an audio run writes a folder of wav files; give a folder name for --out")
    waves = vocode_generated(run.generator, synth.X, p, n_iter=n_iter, momentum=momentum, seed=seed,
                             vocoder=vocoder, jobs=jobs)
    with atomic_dir(out) as tmp:
        write_clip_folder(tmp, waves, synth.y, p.sample_rate)
    return out
