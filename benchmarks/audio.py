"""Audio benchmark on a labelled speech folder (development set: EmoDB, ../shared/data/emodb; Burkhardt et al.
2005, Berlin Database of Emotional Speech; 535 clips, 10 speakers, 7 emotions; labels.csv: file,speaker,emotion).

Speaker-grouped split: the clips of ``--test-speakers`` are the test set (never seen in training or tuning);
of the other speakers' clips, ``--ref-fraction`` (stratified by speaker x class, seeded) are held out as the
generation comparison set ("reference": held-out clips of the training speakers, seen neither by the VAE nor by the
feature CNN), the rest train. Steps:
1. train vaelab-audio on the training clips (wall and CPU time);
2. ``reconstruct`` the test clips: mel front end (true phase), vocoder only (``--vocoder``, default the run's), VAE +
   vocoder with every enhancement (the seed report's values, hybrid and eq with values fitted/tuned on training clips), paired
   bootstrap intervals vs none / eq / vocoder;
3. generate ``--gen-factor`` x the training count per class and evaluate them against the reference clips (C2ST,
   Fréchet, PRDC in a CNN embedding trained on the training clips and in mel statistics; DCR against the training
   clips; TSTR/TRTR tested on the test speakers); the same evaluation of two reference "generators": the test
   speakers' clips (real-vs-real: what unseen speakers score) and the vocoder round trip of training clips (what a
   VAE that copies its training clips would score through this vocoder; written exactly as the generated clips:
   pre-compensated with the run's vocoder level lift when the vocoder is Griffin-Lim and the run has one).

    PYTHONPATH=src python benchmarks/audio.py --data ../shared/data/emodb --out /tmp/audio_bench
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from vaelab.core.jsonable import jsonable
from vaelab.modalities.audio.dataset import clips_to_dataset
from vaelab.modalities.audio.io import AudioClips, load_clips
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.modalities.audio.vocoder import VOCODERS


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def subset(c: AudioClips, idx: np.ndarray) -> AudioClips:
    return AudioClips(waves=c.waves[idx], y=c.y[idx], groups=None if c.groups is None else c.groups[idx],
                      files=[c.files[i] for i in idx], params=c.params, source=c.source)


def ref_split(groups: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask (n,): ``round(fraction x count)`` clips of every (group, class) cell, seeded."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for g, k in sorted(set(zip(groups, y, strict=True))):
        ix = np.where((groups == g) & (y == k))[0]
        mask[rng.permutation(ix)[:int(round(fraction * len(ix)))]] = True
    return mask


def benchmark_split(clips: AudioClips, test_speakers: str = "15,16", ref_fraction: float = 0.2, seed: int = 0,
                    exclude_speakers: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The benchmark's clip indices: training clips, reference clips (``ref_split`` of the training speakers' clips)
    and test clips (``test_speakers``, comma-separated); ``exclude_speakers`` are left out of all three."""
    groups = clips.groups.astype(str)
    test_mask = np.isin(groups, test_speakers.split(","))
    excluded = np.isin(groups, [s for s in exclude_speakers.split(",") if s])
    tr, te = np.where(~test_mask & ~excluded)[0], np.where(test_mask)[0]
    ref = ref_split(groups[tr], clips.y[tr], ref_fraction, seed)
    return tr[~ref], tr[ref], te


def benchmark_sets(data: str, test_speakers: str = "15,16", p: MelParams | None = None) -> tuple:
    """The benchmark's training, reference and test clips of ``data`` (EmoDB layout: emotion labels, speaker groups),
    as :func:`benchmark_split` draws them with its defaults."""
    clips = load_clips(data, p or MelParams(), label_column="emotion", group_column="speaker")
    tr, rf, te = benchmark_split(clips, test_speakers)
    return subset(clips, tr), subset(clips, rf), subset(clips, te)

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--label-column", default="emotion")
    ap.add_argument("--group-column", default="speaker")
    ap.add_argument("--test-speakers", default="15,16")
    ap.add_argument("--exclude-speakers", default="",
                    help="speakers left out of everything (e.g. the validation speakers of the design experiments)")
    ap.add_argument("--ref-fraction", type=float, default=0.2,
                    help="held-out share of the training speakers' clips (generation comparison set)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--config", default="", help="extra model options k=v,k=v")
    ap.add_argument("--enhance", default="none,laplacian:1.5,noise:0.1,contrast:1.2,hybrid,eq")
    ap.add_argument("--skip-generation", action="store_true")
    ap.add_argument("--run", default=None, help="use this trained run folder (trained by this script) instead of training")
    ap.add_argument("--max-test", type=int, default=None, help="reconstruct a class-stratified subset of the test clips")
    ap.add_argument("--gen-factor", type=float, default=1.0, help="generate this x the training count per class")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes for Griffin-Lim")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocoder", default=None, choices=VOCODERS,
                    help="how every clip is written (default: the run's; see vaelab.modalities.audio.vocoder)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    p = MelParams()
    t0 = time.perf_counter()
    clips = load_clips(a.data, p, label_column=a.label_column, group_column=a.group_column)
    tr, rf, te = benchmark_split(clips, a.test_speakers, a.ref_fraction, a.seed, a.exclude_speakers)
    print(f"loaded {len(clips.files)} clips in {time.perf_counter() - t0:.1f} s; train {len(tr) + len(rf)} "
          f"(speakers {sorted(set(clips.groups[np.concatenate([tr, rf])]))}), test {len(te)} "
          f"(speakers {a.test_speakers})", flush=True)
    print(f"training clips {len(tr)}, reference clips (held out, training speakers) {len(rf)}", flush=True)
    train, test, refc = subset(clips, tr), subset(clips, te), subset(clips, rf)
    ds = clips_to_dataset(train)
    from vaelab.runs import load_run, train_run

    cfg = {"mel": p.to_dict()}
    if a.epochs:
        cfg["epochs"] = a.epochs
    for kv in filter(None, a.config.split(",")):
        k, v = kv.split("=")
        cfg[k] = type(getattr(__import__("vaelab.models.audio_vae", fromlist=["x"]).VaelabAudioConfig(), k))(v) \
            if k not in ("grad_clip",) else float(v)
    w0, c0 = time.perf_counter(), _cpu()
    if a.run:
        run = load_run(a.run)
        train_wall = train_cpu = float("nan")  # measured by the invocation that trained it
    else:
        run = train_run(ds, out / "run", model="vaelab-audio", seed=a.seed, config=cfg, progress=False,
                        checkpoint_every=None)
        train_wall, train_cpu = time.perf_counter() - w0, _cpu() - c0
    last = (Path(run.path) / "history.csv").read_text().split()[-1]
    print(f"trained on {ds.n} clips: {train_wall:.0f} s wall, {train_cpu:.0f} s CPU; last history row {last}; "
          f"tuned {run.generator.tuned_params()}", flush=True)
    from vaelab.modalities.audio.reconstruct import run_reconstruct

    w0 = time.perf_counter()
    rec_clips = test
    if a.max_test and a.max_test < len(te):
        rng = np.random.default_rng(a.seed)
        share = a.max_test / len(te)
        pick = np.concatenate([rng.permutation(np.where(test.y == k)[0])[: max(1, round(share * (test.y == k).sum()))]
                               for k in sorted(set(test.y))])
        rec_clips = subset(test, np.sort(pick))
    rec = run_reconstruct(run, rec_clips, out / "reconstruct", enhance_spec=a.enhance, seed=a.seed, jobs=a.jobs,
                          vocoder=a.vocoder)
    print(f"reconstruct: {time.perf_counter() - w0:.0f} s", flush=True)
    summary = {"command": "python benchmarks/audio.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in
                                                                    vars(a).items() if v not in (None, False, "")),
               "n_train": int(ds.n), "n_test": int(len(te)), "n_reconstructed": int(rec["n_clips"]), "train_wall_s": train_wall, "train_cpu_s": train_cpu,
               "config": run.generator.config.to_dict(), "tuned": run.generator.tuned_params(),
               "reconstruction_means": rec["means"], "targets": rec["targets"], "parameters": rec["parameters"],
               "comparisons": {k: {m: v[m] for m in ("lsd_full", "lsd_low", "lsd_mid", "lsd_high", "mel_distance",
                                                      "retention_low_db", "retention_mid_db", "retention_high_db")}
                               for k, v in rec["comparisons"].items()}}
    if not a.skip_generation:
        from vaelab.modalities.audio.evaluate import evaluate_audio
        from vaelab.modalities.audio.generate import vocode_generated
        from vaelab.runs import generate, per_class_counts

        w0 = time.perf_counter()
        synth = generate(run, per_class_counts(run, factor=a.gen_factor), seed=a.seed)
        # as `vaelab generate` writes
        waves = vocode_generated(run.generator, synth.X, p, seed=a.seed, jobs=a.jobs, vocoder=a.vocoder)
        Ls = log_mel(waves, p)  # what a user gets: the written clips, analysed again
        np.savez_compressed(out / "generated_logmel.npz", L=Ls.astype(np.float32), y=synth.y.astype(str))  # re-scoring
        Lt, Lh, Lr = log_mel(train.waves, p), log_mel(test.waves, p), log_mel(refc.waves, p)
        kw = dict(L_hold=Lh, y_hold=test.y, groups_real=train.groups, seed=a.seed, L_ref=Lr, groups_ref=refc.groups,
                  groups_hold=test.groups)
        summary["generation"] = evaluate_audio(Lt, train.y, Ls, synth.y, **kw)
        print(f"generation + evaluation: {time.perf_counter() - w0:.0f} s", flush=True)
        # reference generator: copies of training clips (as many per class as generated) through the same vocoder
        # path as the generated clips (pre-compensated with the run's level lift when it has one)
        rng = np.random.default_rng(a.seed)
        pick = np.concatenate([rng.permutation(np.where(train.y == k)[0])[:int((synth.y == k).sum())]
                               for k in sorted(set(train.y))])
        copies = log_mel(vocode_generated(run.generator, Lt[pick], p, seed=a.seed, jobs=a.jobs, vocoder=a.vocoder),
                         p)
        summary["generation_copies_through_vocoder"] = evaluate_audio(Lt, train.y, copies, train.y[pick], **kw)
    (out / "summary.json").write_text(json.dumps(jsonable(summary), indent=1) + "\n")
    print(json.dumps(jsonable({k: summary[k] for k in ("reconstruction_means", "targets")}), indent=1))
    for key in ("generation", "generation_copies_through_vocoder"):
        if key in summary:
            g = summary[key]
            print(key, json.dumps(jsonable({k: g[k] for k in ("cnn", "melstats", "tstr", "trtr", "tstr_over_trtr",
                                                                "flags")}), indent=1))


if __name__ == "__main__":
    main()
