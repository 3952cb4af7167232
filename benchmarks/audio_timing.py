"""Training-time check of issue 13: vaelab-audio (defaults) on 500 clips of 2 s, 2 CPU threads.

The 500 clips: the 408 clips of the EmoDB training speakers (test speakers 15 and 16 left out) and the first 92 of
them reversed in time (same length and spectra statistics; only the time taken matters here). Reports the wall time
and the process CPU time of (a) the log-mel front end and (b) ``train_run``. Run it at normal priority under the
machine-wide timing lock:

    flock /work/notes/timing.lock env OMP_NUM_THREADS=2 VAELAB_NUM_THREADS=2 PYTHONPATH=src \
        python benchmarks/audio_timing.py --data ../shared/data/emodb --out /tmp/audio_timing
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

import numpy as np


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--test-speakers", default="15,16")
    ap.add_argument("--config", default="", help="extra model options k=v (ints/floats/str)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    from vaelab.modalities.audio.dataset import clips_to_dataset
    from vaelab.modalities.audio.io import AudioClips, load_clips
    from vaelab.modalities.audio.mel import MelParams
    from vaelab.runs import train_run

    p = MelParams()
    clips = load_clips(a.data, p, label_column="emotion", group_column="speaker")
    keep = np.where(~np.isin(clips.groups.astype(str), a.test_speakers.split(",")))[0]
    extra = keep[: max(0, a.n - len(keep))]
    waves = np.concatenate([clips.waves[keep], clips.waves[extra][:, ::-1]])[: a.n]
    idx = np.concatenate([keep, extra])[: a.n]
    c = AudioClips(waves=np.ascontiguousarray(waves), y=clips.y[idx], groups=clips.groups[idx],
                   files=[f"{i}.wav" for i in range(len(idx))], params=p, source=clips.source)
    w0, c0 = time.perf_counter(), _cpu()
    ds = clips_to_dataset(c)
    mel_wall, mel_cpu = time.perf_counter() - w0, _cpu() - c0
    cfg: dict = {"mel": p.to_dict()}
    for kv in filter(None, a.config.split(",")):
        k, v = kv.split("=")
        cfg[k] = int(v) if v.lstrip("-").isdigit() else (float(v) if v.replace(".", "", 1).isdigit() else v)
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    w0, c0 = time.perf_counter(), _cpu()
    train_run(ds, out / "run", model="vaelab-audio", seed=0, config=cfg, progress=False, checkpoint_every=None,
              device="cpu")
    res = {"n_clips": int(ds.n), "duration_s": p.duration, "config": cfg, "threads": os.environ.get("VAELAB_NUM_THREADS"),
           "mel_wall_s": mel_wall, "mel_cpu_s": mel_cpu,
           "train_wall_s": time.perf_counter() - w0, "train_cpu_s": _cpu() - c0, "load_avg": os.getloadavg()}
    print(json.dumps(res, indent=1))
    (out / "timing.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
