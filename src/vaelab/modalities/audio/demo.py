"""``vaelab demo --audio``: the audio job on a synthesised clip set (tones, chirps, noise bursts), into one folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.core.atomic import atomic_dir, write_text
from vaelab.core.jsonable import jsonable
from vaelab.modalities.audio.dataset import clips_to_dataset
from vaelab.modalities.audio.io import AudioClips, load_clips, write_clip_folder
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.modalities.audio.synth import write_synth_set


def _subset(c: AudioClips, idx: np.ndarray) -> AudioClips:
    return AudioClips(waves=c.waves[idx], y=c.y[idx], groups=None, files=[c.files[i] for i in idx], params=c.params,
                      source=c.source)


def run_audio_demo(out: str | Path = "demo_output", *, seed: int = 0, epochs: int | None = None, per_class: int = 12,
                   progress: bool = True, log=print) -> dict[str, Any]:
    """Synthesise ``per_class`` clips of 1 s per class, train vaelab-audio on two thirds, reconstruct the held-out
    third (vocoder ceiling, every enhancement, eq), generate 1x the training counts and evaluate them."""
    from vaelab.modalities.audio.evaluate import evaluate_audio
    from vaelab.modalities.audio.reconstruct import run_reconstruct
    from vaelab.runs import generate, per_class_counts, train_run

    t0 = time.perf_counter()
    jobs = min(4, os.cpu_count() or 1)  # clips are written with the same bytes whatever the worker count
    p = MelParams(duration=1.0)
    out = Path(out)
    with atomic_dir(out) as tmp:
        write_synth_set(tmp / "clips", per_class=per_class, duration=1.0, seed=seed)
        clips = load_clips(tmp / "clips", p)
        rng = np.random.default_rng(seed)
        ho = np.concatenate([rng.permutation(np.where(clips.y == k)[0])[: len(np.where(clips.y == k)[0]) // 3]
                             for k in sorted(set(clips.y))])
        tr = np.setdiff1d(np.arange(len(clips.y)), ho)
        train, hold = _subset(clips, tr), _subset(clips, ho)
        log(f"synthesised {len(clips.y)} clips of 1 s (tones, chirps, noise bursts); {len(tr)} train, {len(ho)} held out")
        cfg: dict[str, Any] = {"mel": p.to_dict()}
        if epochs is not None:
            cfg["epochs"] = int(epochs)
        run = train_run(clips_to_dataset(train), tmp / "run", model="vaelab-audio", seed=seed, config=cfg,
                        progress=progress, checkpoint_every=None)
        t_train = time.perf_counter() - t0
        log(f"trained vaelab-audio in {t_train:.1f} s")
        from dataclasses import replace

        # the result records the paths the clips and the run will have once the folder is in place
        rec = run_reconstruct(replace(run, path=out / "run"), replace(hold, source=str(out / "clips")),
                              tmp / "reconstruct", seed=seed, n_boot=500, jobs=jobs,
                              enhance_spec="none,laplacian:1.5,noise:0.1,contrast:1.2,hybrid,eq")
        synth = generate(run, per_class_counts(run, factor=1.0), seed=seed)
        from vaelab.modalities.audio.generate import vocode_generated

        waves = vocode_generated(run.generator, synth.X, p, seed=seed, jobs=jobs)
        (tmp / "synthetic").mkdir()
        write_clip_folder(tmp / "synthetic", waves, synth.y, p.sample_rate)
        ev = evaluate_audio(log_mel(train.waves, p), train.y, log_mel(waves, p), synth.y, L_hold=log_mel(hold.waves, p),
                            y_hold=hold.y, seed=seed, cnn_epochs=15)
        write_text(tmp / "metrics.json", json.dumps(jsonable(ev), indent=1) + "\n")
    log("reconstruction of the held-out clips (LSD dB full / >4 kHz; band retention dB low / mid / high):")
    for name, v in rec["means"].items():
        log(f"  {name:10s} {v['lsd_full']:6.2f} / {v['lsd_high']:6.2f}   {v['retention_low_db']:+.2f} / "
            f"{v['retention_mid_db']:+.2f} / {v['retention_high_db']:+.2f}")
    log(f"generation: C2ST AUC (CNN features) {ev['cnn']['c2st_auc']:.3f}, TSTR {ev.get('tstr', float('nan')):.3f} "
        f"vs TRTR {ev.get('trtr', float('nan')):.3f}")
    log(f"audio part took {time.perf_counter() - t0:.1f} s")  # the caller reports where the folder ends up
    return {"reconstruction": rec["means"], "generation": ev}
