"""Where the plain VAE's energy error comes from, before the vocoder (issue 13): on training and reference clips of
a run trained by ``benchmarks/audio.py``, the band energy (mel domain, bands by mel-bin centre frequency) of the
decoder mean at the posterior mean, of that mean + the run's output offset (``output="energy"``: the energy offset
fitted on the training clips; runs saved before it: the stored variance), and the per-bin bias and mean squared error
of the mean decode. Usage: ``python benchmarks/audio_energy_diag.py ../shared/data/emodb OUT/run`` (``OUT`` of ``audio.py``, default
split and seed); the test speakers (15, 16) are never touched.
"""
import sys
from pathlib import Path

import librosa
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio import ref_split, subset

from vaelab.modalities.audio.io import load_clips
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.runs import load_run

torch.set_num_threads(2)
p = MelParams()
clips = load_clips(sys.argv[1], p, label_column="emotion", group_column="speaker")
test_mask = np.isin(clips.groups.astype(str), ["15", "16"])
tr = np.where(~test_mask)[0]
ref = ref_split(clips.groups[tr].astype(str), clips.y[tr], 0.2, 0)
trn, rf = tr[~ref], tr[ref]
gen = load_run(sys.argv[2]).generator
shift = gen._output_offset()

fc = librosa.mel_frequencies(n_mels=p.n_mels + 2, fmin=p.fmin, fmax=p.fmax or p.sample_rate / 2)[1:-1]
bands = {"low": fc < 500, "mid": (fc >= 500) & (fc < 4000), "high": fc >= 4000}
def band_db(Lr, Le):
    er, ee = np.exp(2 * Lr), np.exp(2 * Le)
    return {b: float(np.mean(10 * np.log10(ee[:, m].sum(axis=(1, 2)) / er[:, m].sum(axis=(1, 2))))) for b, m in bands.items()}
rng = np.random.default_rng(0)
for name, idx in (("train(120)", rng.choice(trn, 120, replace=False)), ("reference(82)", rf)):
    c = subset(clips, idx)
    L = log_mel(c.waves, p).astype(np.float64)
    z = gen.encode(L, c.y)
    Lm = gen.decode(z, c.y) - shift[None, :, None]   # mean decode
    mse = ((L - Lm) ** 2).mean(axis=(0, 2))
    bias = (L - Lm).mean(axis=(0, 2))
    print(name, "mean decode:", {k: round(v, 2) for k, v in band_db(L, Lm).items()},
          "| + output offset (decode):", {k: round(v, 2) for k, v in band_db(L, Lm + shift[None, :, None]).items()},
          "| +mse_at_mean:", {k: round(v, 2) for k, v in band_db(L, Lm + mse[None, :, None]).items()})
    for b, m in bands.items():
        print(f"   {b}: output offset {shift[m].mean():.3f}  mse at posterior mean {mse[m].mean():.3f}  mean bias (truth-dec) {bias[m].mean():+.3f}")
