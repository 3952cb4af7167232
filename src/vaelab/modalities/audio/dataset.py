"""An audio folder as a :class:`~vaelab.data.dataset.Dataset` of log-mel spectrograms."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaelab.data.dataset import Dataset, Layout
from vaelab.data.sample import SampleSpec
from vaelab.modalities.audio.io import AudioClips, load_clips
from vaelab.modalities.audio.mel import MelParams, log_mel


@dataclass
class AudioLayout(Layout):
    """Layout of an audio folder; ``mel`` = the mel parameters (saved in run.json with the layout)."""

    kind: str = "audio"
    mel: dict[str, Any] = field(default_factory=lambda: MelParams().to_dict())

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["mel"] = dict(self.mel)
        return d


def clips_to_dataset(clips: AudioClips) -> Dataset:
    """Log-mel ``X`` (n, n_mels, frames), labels, groups; layout ``audio`` with the mel parameters."""
    p = clips.params
    X = log_mel(clips.waves, p)
    spec = SampleSpec.audio(p.shape, sample_rate=p.sample_rate, n_mels=p.n_mels, n_fft=p.n_fft, hop_length=p.hop)
    return Dataset(X=X.astype("float64"), y=clips.y, groups=clips.groups,
                   layout=AudioLayout(mel=p.to_dict()), source=clips.source, spec=spec)


def load_audio_dataset(path: str | Path, params: MelParams | None = None, *, label_column: Any = None,
                       group_column: Any = None) -> tuple[Dataset, AudioClips]:
    clips = load_clips(path, params, label_column=label_column, group_column=group_column)
    return clips_to_dataset(clips), clips


def mel_params_of(layout: Any) -> MelParams | None:
    """The mel parameters a run's layout (object or dict) records, or ``None`` for non-audio data."""
    d = layout if isinstance(layout, dict) else getattr(layout, "to_dict", lambda: {})()
    if d.get("kind") != "audio" or not d.get("mel"):
        return None
    return MelParams.from_dict(dict(d["mel"]))
