"""C2ST of a finished ``benchmarks/audio.py`` run's generated clips over several seeds of the feature CNN and of the
classifier's folds (issue 13: an interval for the generation C2ST). Reads ``OUT/generated_logmel.npz`` (the written
clips analysed again, saved by ``audio.py``) and rebuilds the same split (default speakers, ``--ref-fraction 0.2``,
seed 0): the CNN is trained on the training clips, the comparison set is the reference clips (held-out clips of the
training speakers), folds grouped by speaker, as in ``evaluate_audio``. The test speakers are not used.

    PYTHONPATH=src python benchmarks/audio_c2st_seeds.py --data ../shared/data/emodb --out OUT --seeds 1,2,3,4

``--copies``: also the reference row "copies of training clips through the vocoder" (the same clips as ``audio.py``
picks, Griffin-Lim seed 0, pre-compensated with ``OUT/run``'s vocoder level lift as ``audio.py`` writes them unless
``--plain-vocoder``) under every seed (the vocoder's floor).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio import benchmark_sets

from vaelab.metrics import c2st
from vaelab.modalities.audio.features import LogMelCNN, mel_statistics
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.modalities.audio.vocoder import VOCODERS

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="1,2,3,4")
ap.add_argument("--test-speakers", default="15,16")
ap.add_argument("--copies", action="store_true", help="also score copies of training clips through the vocoder")
ap.add_argument("--plain-vocoder", action="store_true",
                help="copies through plain Griffin-Lim even when OUT/run has a vocoder level lift")
ap.add_argument("--jobs", type=int, default=1)
ap.add_argument("--vocoder", default=None, choices=VOCODERS,
                help="the copies' vocoder (default: OUT/run's; as audio.py --vocoder)")
a = ap.parse_args()
p = MelParams()
train, refc, _ = benchmark_sets(a.data, a.test_speakers, p)
Lt, Lr = log_mel(train.waves, p), log_mel(refc.waves, p)
g = np.load(Path(a.out) / "generated_logmel.npz")
Ls = g["L"].astype(np.float64)
sets = {"": Ls}
if a.copies:
    from vaelab.modalities.audio.generate import vocode_generated
    from vaelab.runs import load_run

    gen = load_run(Path(a.out) / "run").generator if (Path(a.out) / "run").exists() and not a.plain_vocoder else None
    rng = np.random.default_rng(0)  # as audio.py: as many copies per class as generated
    pick = np.concatenate([rng.permutation(np.where(train.y == k)[0])[:int((g["y"] == k).sum())]
                           for k in sorted(set(train.y))])
    sets["copies_"] = log_mel(vocode_generated(gen, Lt[pick], p, seed=0, jobs=a.jobs, vocoder=a.vocoder), p)
rows = []
for s in (int(v) for v in a.seeds.split(",")):
    cnn = LogMelCNN(epochs=25, seed=s).fit(Lt, train.y)
    row = {"seed": s}
    for pre, X in sets.items():
        row[pre + "cnn"] = c2st(cnn.transform(Lr), cnn.transform(X), seed=s, groups_real=refc.groups)
        row[pre + "melstats"] = c2st(mel_statistics(Lr), mel_statistics(X), seed=s, groups_real=refc.groups)
    rows.append(row)
    print(json.dumps(row), flush=True)
res = {"rows": rows}
keys = [pre + k for pre in sets for k in ("cnn", "melstats")]
for k in keys:
    v = np.array([r[k] for r in rows])
    res[k] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
              "min": float(v.min()), "max": float(v.max())}
(Path(a.out) / ("c2st_seeds_copies.json" if a.copies else "c2st_seeds.json")).write_text(json.dumps(res, indent=1) + "\n")
print(json.dumps({k: res[k] for k in keys}))
