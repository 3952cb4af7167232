"""TSTR / TRTR of finished ``benchmarks/audio.py`` runs' generated clips over several seeds of the CNN (issue 13: an
interval for the TSTR / TRTR target, and arms compared side by side on the same seeds). Reads each
``OUT/generated_logmel.npz`` (the written clips analysed again, saved by ``audio.py``) and rebuilds the benchmark's
split (default speakers, ``--ref-fraction 0.2``, seed 0): per seed, the CNN (``LogMelCNN``, 25 epochs) is trained on
the real training clips (TRTR) and, for as many optimiser steps, on each arm's generated clips (TSTR); both are tested
on the clips of the test speakers (balanced accuracy), as ``evaluate_audio`` does for one seed.

    PYTHONPATH=src python benchmarks/audio_tstr_seeds.py --data ../shared/data/emodb --seeds 0,1,2,3,4 \\
        --arms standing=OUT1,refine=OUT2 --json OUT2/tstr_seeds.json
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio import benchmark_sets

from vaelab.modalities.audio.evaluate import tstr_trtr
from vaelab.modalities.audio.features import LogMelCNN
from vaelab.modalities.audio.mel import MelParams, log_mel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--arms", required=True, help="name=OUT,name=OUT: audio.py output folders")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--test-speakers", default="15,16")
    ap.add_argument("--json", required=True, help="where to write the per-seed rows and the means")
    a = ap.parse_args()
    p = MelParams()
    train, _, test = benchmark_sets(a.data, a.test_speakers, p)
    Lt, Lh = log_mel(train.waves, p), log_mel(test.waves, p)
    arms = {}
    for kv in a.arms.split(","):
        name, folder = kv.split("=", 1)
        g = np.load(Path(folder) / "generated_logmel.npz")
        arms[name] = (g["L"].astype(np.float64), g["y"])
    rows = []
    for s in (int(v) for v in a.seeds.split(",")):
        cnn = LogMelCNN(epochs=25, seed=s).fit(Lt, train.y)
        row: dict = {"seed": s}
        for name, (Ls, ys) in arms.items():
            r = tstr_trtr(cnn, len(Lt), Ls, ys, Lh, test.y, seed=s)
            row["trtr"] = r["trtr"]
            row[name + "_tstr"], row[name + "_ratio"] = r["tstr"], r["tstr_over_trtr"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    res: dict = {"rows": rows}
    for k in [k for k in rows[0] if k != "seed"]:
        v = np.array([r[k] for r in rows])
        res[k] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else None}
    Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}))


if __name__ == "__main__":
    main()
