"""Shared test data for the audio tests: a tiny synthetic clip set (tones, chirps, noise bursts) and a tiny
vaelab-audio run trained on it through the command line."""

from vaelab.cli import main
from vaelab.modalities.audio.synth import write_synth_set


def tiny_audio_run(d, *, per_class: int, epochs: int, width: int, latent_channels: int) -> int:
    """Write ``per_class`` clips of 0.5 s per class to ``d/clips`` and train ``d/run`` (a small vaelab-audio,
    config in ``d/cfg.toml``); returns the exit code of ``vaelab train``."""
    write_synth_set(d / "clips", per_class=per_class, duration=0.5, seed=0)
    (d / "cfg.toml").write_text(f"width = {width}\nlatent_channels = {latent_channels}\nn_res = 1\nbatch_size = 8\n")
    return main(["train", str(d / "clips"), "--duration", "0.5", "--epochs", str(epochs), "--quiet", "--config",
                 str(d / "cfg.toml"), "--out", str(d / "run")])
