"""Generation C2ST of vaelab-audio's sampling variants on a validation split carved from the benchmark's training
clips (issue 13, session 4b). Decides sampling choices without the reference clips or the test speakers.

Split: the benchmark's (test speakers out, ``ref_split(0.2, seed 0)`` reference clips out: 326 training clips), then
``ref_split(--val-fraction, seed --val-seed)`` of those (stratified by speaker x class) is the validation part; the
model and the feature CNN are trained on the rest (the fitting clips). Rows: copies of fitting clips through the
vocoder, reconstructions (posterior-mean decode), samples without texture, the Gaussian texture (default) and the
residual bootstrap (one other training clip's whitened residual), each written with Griffin-Lim and analysed again
(and before the vocoder). C2ST (CNN embedding, mel statistics) against the validation clips, folds grouped by
speaker, over ``--seeds`` of the CNN and the folds; DCR in the CNN embedding (validation clips as holdout).

    PYTHONPATH=src python benchmarks/audio_gen_validation.py --data ../shared/data/emodb --out /tmp/aud_val
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio import benchmark_split, ref_split, subset

from vaelab.metrics import c2st
from vaelab.metrics.novelty import dcr
from vaelab.modalities.audio.dataset import clips_to_dataset
from vaelab.modalities.audio.features import LogMelCNN, mel_statistics
from vaelab.modalities.audio.io import load_clips
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.modalities.audio.vocoder import griffin_lim
from vaelab.runs import load_run, train_run
from vaelab.samplers import make_sampler

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="0,1,2")
ap.add_argument("--val-fraction", type=float, default=0.2)
ap.add_argument("--val-seed", type=int, default=1)
ap.add_argument("--jobs", type=int, default=2)
ap.add_argument("--test-speakers", default="15,16")
a = ap.parse_args()
out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
p = MelParams()
clips = load_clips(a.data, p, label_column="emotion", group_column="speaker")
tr, _, _ = benchmark_split(clips, a.test_speakers)  # the benchmark's 326 training clips
val = ref_split(clips.groups[tr].astype(str), clips.y[tr], a.val_fraction, a.val_seed)
fit, vc = subset(clips, tr[~val]), subset(clips, tr[val])
print(f"fitting clips {len(fit.y)}, validation clips {len(vc.y)}", flush=True)
Lf, Lv = log_mel(fit.waves, p), log_mel(vc.waves, p)
if (out / "run").exists():
    run = load_run(out / "run")
else:
    t0 = time.perf_counter()
    run = train_run(clips_to_dataset(fit), out / "run", model="vaelab-audio", seed=0, config={"mel": p.to_dict()},
                    progress=False, checkpoint_every=None)
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
g = run.generator
classes = list(g.classes_)
cf = torch.as_tensor([classes.index(v) for v in fit.y])
mu = torch.as_tensor(g.encode(Lf, fit.y))
assert torch.allclose(mu.flatten(1), g.extra_["train_mu"], atol=1e-5), "training code order"
shape = mu.shape[1:]
sd = np.sqrt(g.extra_["dec_var"].numpy().astype(np.float64))
W = (Lf - g._decode_norm(mu, cf)) / sd[None, :, None]  # whitened residuals at the posterior means (n, n_mels, T)
# one class-ordered draw of 1.0 x the fitting counts, as generate() does
c = torch.as_tensor(np.repeat(np.arange(len(classes)), [int((fit.y == k).sum()) for k in classes]))
gen = torch.Generator().manual_seed(0)
sampler = make_sampler("aggregate").load_state_dict(g.extra_)
z, _, pick = sampler.sample_rows(c, gen)
pick = pick.numpy()
m = g._decode_norm(z.reshape(len(c), *shape), c)
rng = np.random.default_rng(0)
other = np.array([rng.choice(np.setdiff1d(np.where(cf.numpy() == k)[0], [i]))
                  for k, i in zip(c.numpy(), pick, strict=True)])
variants = {
    "copies of fitting clips": Lf[np.argsort(cf.numpy(), kind="stable")],
    "reconstructions (posterior mean, output offset)": g.decode(mu.numpy(), fit.y),
    "samples, noise=none": g._point(z.reshape(len(c), *shape), c),
    "samples, Gaussian texture (default)": g.generate(c, torch.Generator().manual_seed(0)).numpy().astype(np.float64),
    "samples, bootstrap texture (another clip's residual)": m + sd[None, :, None] * W[other],
    "samples, own clip's residual (= near copy)": m + sd[None, :, None] * W[pick],
}
yc = np.array(classes, dtype=object)[c.numpy()]
seeds = [int(s) for s in a.seeds.split(",")]
cnns = {s: LogMelCNN(epochs=25, seed=s).fit(Lf, fit.y) for s in seeds}
res = {}
for name, L in variants.items():
    t0 = time.perf_counter()
    La = log_mel(griffin_lim(L, p, seed=0, jobs=a.jobs), p)
    row = {}
    for tag, X in (("vocoded", La), ("before vocoder", L)):
        row[tag] = {"cnn": [c2st(cnns[s].transform(Lv), cnns[s].transform(X), seed=s, groups_real=vc.groups)
                            for s in seeds],
                    "melstats": [c2st(mel_statistics(Lv), mel_statistics(X), seed=s, groups_real=vc.groups)
                                 for s in seeds]}
        row[tag]["dcr_cnn_seed0"] = dcr(cnns[seeds[0]].transform(X), cnns[seeds[0]].transform(Lf),
                                        cnns[seeds[0]].transform(Lv))
    res[name] = row
    print(name, f"({time.perf_counter() - t0:.0f} s)", json.dumps({t: {k: (np.round(v, 3).tolist() if k != "dcr_cnn_seed0"
                                                                  else round(v["dcr_ratio"], 3))
                                                              for k, v in r.items()} for t, r in row.items()}), flush=True)
    (out / "validation.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
