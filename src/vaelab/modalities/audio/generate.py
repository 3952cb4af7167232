"""Write generated log-mels of an audio run as a labelled clip folder (the layout ``vaelab train`` reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaelab.core.atomic import atomic_dir
from vaelab.core.errors import InputError
from vaelab.modalities.audio.dataset import mel_params_of
from vaelab.modalities.audio.io import write_clip_folder
from vaelab.modalities.audio.vocoder import griffin_lim


def write_generated_audio(run: Any, synth: Any, out: str | Path, *, seed: int = 0, n_iter: int = 32,
                          momentum: float = 0.99) -> Path:
    """``out/<label>/<n>.wav`` (Griffin-Lim from the sampled log-mels) and ``out/labels.csv`` (file,label)."""
    p = mel_params_of(run.meta["data"]["layout"])
    if p is None:
        raise InputError(f"{run.path}: not an audio run")
    out = Path(out)
    if out.suffix.lower() in (".csv", ".tsv", ".xlsx", ".npz"):
        raise InputError(f"{out}: an audio run writes a folder of wav files; give a folder name for --out")
    waves = griffin_lim(synth.X, p, n_iter=n_iter, momentum=momentum, seed=seed)
    with atomic_dir(out) as tmp:
        write_clip_folder(tmp, waves, synth.y, p.sample_rate)
    return out
