"""``vaelab evaluate`` on audio folders: generation metrics in audio feature spaces.

Feature spaces (both fitted on / computed from log-mels; the learned one is trained on the REAL training
clips only): ``cnn`` = pooled 64-d embedding of :class:`~vaelab.modalities.audio.features.LogMelCNN` trained to
classify the real training clips; ``melstats`` = :func:`~vaelab.modalities.audio.features.mel_statistics`.
In each: C2ST (random forest, speaker/group-aware folds when the real clips have groups), Fréchet distance,
PRDC, DCR (against a holdout); plus TSTR / TRTR with the same CNN trained from scratch on synthetic / real
training clips for the same number of optimiser steps (TRTR's, however many synthetic clips) and tested on the
holdout, a real-vs-real C2ST reference and the standard flags.

Which real clips the synthetic ones are compared with (the protocol). A generator can only learn the sources
(speakers, recording sessions) of its training clips, and the CNN embedding is trained on those very clips, so
in that space the training clips are "seen" and anything new (a perfect generator's clips included) looks
different from them. The fair comparison set is therefore ``L_ref``: held-out clips of the TRAINING sources that
neither the generator nor the CNN has seen. Given ``L_ref``: C2ST, Fréchet and PRDC compare ``L_ref`` with the
synthetic clips; DCR measures the synthetic clips' distance to the training clips ``L_real`` against the distance of
``L_ref`` to them (copies of training clips show up there); the real-vs-real reference row is ``L_ref`` vs the
holdout ``L_hold`` (unseen sources: how much the sources alone are told apart in this protocol). Without
``L_ref`` the training clips themselves are the comparison set (the older protocol; in the CNN space it overstates
how distinguishable synthetic clips are) and the reference is the holdout vs the training clips.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelab.core.errors import InputError


def evaluate_audio(L_real: np.ndarray, y_real: np.ndarray, L_synth: np.ndarray, y_synth: np.ndarray, *,
                   L_hold: np.ndarray | None = None, y_hold: np.ndarray | None = None,
                   groups_real: np.ndarray | None = None, seed: int = 0, cnn_epochs: int = 25,
                   L_ref: np.ndarray | None = None, groups_ref: np.ndarray | None = None,
                   groups_hold: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics dict (JSON-ready) for synthetic log-mels against real log-mels (see the module notes).

    ``L_real`` (n, n_mels, T): the generator's training clips (the CNN is trained on them), ``y_real`` (n,);
    ``L_synth``, ``y_synth``: the synthetic clips; ``L_hold``, ``y_hold``: clips of unseen sources (TSTR / TRTR
    test set, real-vs-real reference); ``L_ref``: held-out clips of the training sources, the comparison set when
    given; ``groups_real`` / ``groups_ref`` / ``groups_hold``: source labels for group-aware C2ST folds.
    """
    from vaelab.metrics import c2st, compute_flags, dcr, frechet_distance, prdc
    from vaelab.modalities.audio.features import LogMelCNN, mel_statistics

    if L_real.shape[1:] != L_synth.shape[1:]:
        raise InputError(f"real clips give log-mels of {L_real.shape[1:]}, synthetic {L_synth.shape[1:]}; "
                         "use the same --sample-rate/--duration/mel settings")
    for name, A in (("holdout", L_hold), ("reference", L_ref)):
        if A is not None and A.shape[1:] != L_real.shape[1:]:
            raise InputError(f"{name} clips give log-mels of another shape than the real clips")
    cnn = LogMelCNN(epochs=cnn_epochs, seed=seed).fit(L_real, y_real)
    spaces = {"cnn": cnn.transform, "melstats": mel_statistics}
    out: dict[str, Any] = {"features": {"cnn": {"name": "log-mel CNN embedding", "trained_on": "real training clips",
                                                "n_features": 64, "epochs": cnn_epochs},
                                        "melstats": {"name": "mel statistics (mean, std, |delta|, p90 per bin)",
                                                     "n_features": 4 * L_real.shape[1]}},
                           "n_real": int(len(L_real)), "n_synthetic": int(len(L_synth)),
                           "n_holdout": None if L_hold is None else int(len(L_hold)),
                           "n_reference": None if L_ref is None else int(len(L_ref)), "seed": seed,
                           "protocol": ("synthetic vs held-out clips of the training sources (reference set); DCR "
                                        "against the training clips" if L_ref is not None else
                                        "synthetic vs the training clips; DCR against the holdout")}
    for name, f in spaces.items():
        R, S = f(L_real), f(L_synth)
        C, gC = (R, groups_real) if L_ref is None else (f(L_ref), groups_ref)
        m: dict[str, Any] = {"c2st_auc": c2st(C, S, seed=seed, groups_real=gC),
                             "frechet": frechet_distance(C, S, seed=seed)}
        m.update(prdc(C, S, k=5))
        H = None if L_hold is None else f(L_hold)
        if L_ref is not None:
            m.update(dcr(S, R, C))
        elif H is not None:
            m.update(dcr(S, R, H))
        if H is not None:
            # reference: clips of unseen sources vs the comparison set (None when too few clips for 5 folds)
            m["c2st_auc_real_vs_real"] = (c2st(C, H, seed=seed, groups_real=gC, groups_synthetic=groups_hold) if min(len(C), len(H)) >= 10
                                          else None)
        out[name] = m
    if L_hold is not None and y_hold is not None:
        out.update(tstr_trtr(cnn, len(L_real), L_synth, y_synth, L_hold, y_hold, seed=seed, cnn_epochs=cnn_epochs))
    out["flags"] = compute_flags({"c2st_auc": out["cnn"]["c2st_auc"], "dcr_ratio": out["cnn"].get("dcr_ratio")})
    return out


def class_spectrograms(L_real: np.ndarray, y_real: np.ndarray, L_synth: np.ndarray, y_synth: np.ndarray, path: Any,
                       p: Any, per_class: int = 3) -> Any:
    """Per class a row of the first ``per_class`` real log-mels (n, n_mels, T) and as many synthetic ones, on the
    real row's colour scale (:func:`vaelab.modalities.audio.plots.spectrograms`); classes without both are left out."""
    from vaelab.modalities.audio.plots import spectrograms

    yr, ys = np.asarray(y_real).astype(str), np.asarray(y_synth).astype(str)
    pick = {c: (yr == c, ys == c) for c in sorted(set(yr)) if (ys == c).any()}
    if not pick:  # no class in common: one row of all clips
        pick = {"all clips": (np.ones(len(yr), bool), np.ones(len(ys), bool))}
    k = max(1, min([per_class] + [min(int(r.sum()), int(s.sum())) for r, s in pick.values()]))
    rows = [(c, [*L_real[r][:k], *L_synth[s][:k]]) for c, (r, s) in pick.items()]
    titles = [f"real {i + 1}" for i in range(k)] + [f"synthetic {i + 1}" for i in range(k)]
    return spectrograms(rows, titles, path, sample_rate=p.sample_rate, hop=p.hop)


def evaluate_folders(args: Any) -> dict[str, Any]:
    """The ``vaelab evaluate`` command for audio folders (``--real``, ``--synthetic``, ``--holdout`` folders)."""
    import json
    from pathlib import Path

    from vaelab.core.atomic import atomic_dir, write_text
    from vaelab.core.jsonable import jsonable
    from vaelab.modalities.audio.io import load_clips
    from vaelab.modalities.audio.mel import MelParams, log_mel

    if args.run:
        from vaelab.modalities.audio.dataset import mel_params_of
        from vaelab.runs import load_run

        p = mel_params_of(load_run(args.run).meta["data"]["layout"])
        if p is None:
            raise InputError(f"{args.run}: not an audio run")
    else:
        p = MelParams(sample_rate=args.sample_rate, duration=args.duration, n_mels=args.n_mels, n_fft=args.n_fft,
                      hop=args.hop)
    for what in ("synthetic", "holdout", "reference"):
        v = getattr(args, what)
        if v is not None and not Path(v).is_dir():
            raise InputError(f"{v}: --real is an audio folder, so --{what} must be one too")
    real = load_clips(args.real, p, label_column=args.label_column, group_column=args.group_column)
    synth = load_clips(args.synthetic, p)
    hold = (load_clips(args.holdout, p, label_column=args.label_column, group_column=args.group_column)
            if args.holdout else None)
    ref = (load_clips(args.reference, p, label_column=args.label_column, group_column=args.group_column)
           if args.reference else None)
    L_real, L_synth = log_mel(real.waves, p), log_mel(synth.waves, p)
    res = evaluate_audio(L_real, real.y, L_synth, synth.y,
                         L_hold=None if hold is None else log_mel(hold.waves, p), y_hold=None if hold is None else hold.y,
                         groups_real=real.groups, seed=args.seed, L_ref=None if ref is None else log_mel(ref.waves, p),
                         groups_ref=None if ref is None else ref.groups,
                         groups_hold=None if hold is None else hold.groups)
    from vaelab import __version__
    from vaelab.reporting.report import write_report_html

    res = {"modality": "audio", "command": "evaluate", "real": str(args.real), "synthetic": str(args.synthetic),
           "holdout": args.holdout, "reference": args.reference, "mel": p.to_dict(), **res,
           "vaelab_version": __version__, "command_line": getattr(args, "command_line", None)}
    with atomic_dir(args.out) as tmp:
        write_text(tmp / "metrics.json", json.dumps(jsonable(res), indent=1) + "\n")
        class_spectrograms(L_real, real.y, L_synth, synth.y, tmp / "real_vs_synthetic.png", p)
        write_report_html(tmp, name=args.out)
    c = res["cnn"]
    print(f"C2ST AUC (CNN features) {c['c2st_auc']:.3f}, (mel statistics) {res['melstats']['c2st_auc']:.3f}; "
          f"precision {c['precision']:.3f} recall {c['recall']:.3f} coverage {c['coverage']:.3f}")
    if "tstr" in res:
        print(f"TSTR {res['tstr']:.3f}  TRTR {res['trtr']:.3f}  ratio {res['tstr_over_trtr']:.3f}")
    raised = [k for k, v in res["flags"].items() if v.get("raised")]
    print(f"flags raised: {', '.join(raised) or 'none'}")
    print(f"wrote {args.out}/metrics.json and {args.out}/report.html")
    return res


def tstr_trtr(cnn: Any, n_real: int, L_synth: np.ndarray, y_synth: np.ndarray, L_hold: np.ndarray,
              y_hold: np.ndarray, *, seed: int = 0, cnn_epochs: int = 25) -> dict[str, float]:
    """``{"tstr", "trtr", "tstr_over_trtr"}``: balanced accuracy on the holdout (``L_hold`` (m, n_mels, T),
    ``y_hold`` (m,)) of ``cnn`` (a :class:`~vaelab.modalities.audio.features.LogMelCNN` fitted on ``n_real`` real
    training clips: TRTR) and of the same CNN trained from scratch on the synthetic clips for as many optimiser steps
    (equal budget, however many synthetic clips: TSTR)."""
    from vaelab.metrics import balanced_accuracy
    from vaelab.modalities.audio.features import LogMelCNN

    pred_s = LogMelCNN(epochs=cnn_epochs, seed=seed, steps=cnn.steps_for(n_real)).fit(L_synth, y_synth).predict(L_hold)
    yh = np.asarray(y_hold).astype(str)
    tstr = balanced_accuracy(yh, pred_s.astype(str))
    trtr = balanced_accuracy(yh, cnn.predict(L_hold).astype(str))
    return {"tstr": tstr, "trtr": trtr, "tstr_over_trtr": tstr / max(trtr, 1e-12)}
