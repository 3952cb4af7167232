"""Why does a class-conditional image generator transfer (TSTR) worse or better? Sampling variants of one fit.

On the validation split carved from the TRAIN images (``images_tstr._split_val``: stratified 20 %,
seed 12345; the test split is never read), ``vaelab-image`` is fitted once per generator seed on the
other 80 %; from each fitted network several *sampling* variants are drawn (sampling options only:
``noise`` = texture | white | none, ``prior`` = kde | aggregate), so differences between variants are
due to sampling, not to training noise. For each variant:

* TSTR ROC AUC / balanced accuracy on the validation images (small CNN, ``--clf-seeds``);
* class fidelity: accuracy of a CNN trained on the REAL fitting images at telling the class of the
  synthetic images (per class) — low means samples of one class look like the other;
* the same real-trained CNN's mean predicted-probability margin on synthetic vs on real val images.

Usage: ``PYTHONPATH=src python benchmarks/images_tstr_diag.py [--fit "k=v;..."] [--variants "k=v;k=v,k=v;..."]``
(variants separated by commas, options within one by semicolons). Status: smoke-run only (1-epoch network).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_tstr import _split_val  # noqa: E402


def main() -> None:
    import torch

    from vaelab.evaluation.image import cnn_utility
    from vaelab.modalities.image.cnn import SmallCNNClassifier
    from vaelab.models import get_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--gen-seeds", default="0,1,2")
    ap.add_argument("--clf-seeds", default="0,1,2")
    ap.add_argument("--fit", default="", help="fit options key=value;key=value")
    ap.add_argument("--variants", default="noise=texture;prior=kde,noise=none;prior=kde,noise=white;prior=kde,"
                                            "noise=texture;prior=aggregate,noise=none;prior=aggregate")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    fi, vi = _split_val(y)
    Xf, yf, Xv, yv = X[fi], y[fi], X[vi], y[vi]
    counts = {int(k): int(v) for k, v in zip(*np.unique(yv, return_counts=True), strict=True)}
    fit_kw = dict(kv.split("=", 1) for kv in args.fit.split(";") if kv)
    fit_kw = {k: (float(v) if v.replace(".", "").replace("-", "").isdigit() and "." in v else
                  int(v) if v.lstrip("-").isdigit() else v) for k, v in fit_kw.items()}
    variants = [dict(kv.split("=", 1) for kv in v.split(";")) for v in args.variants.split(",")]
    clf_seeds = [int(s) for s in args.clf_seeds.split(",")]
    judge = SmallCNNClassifier(image_shape=(28, 28), random_state=0).fit(Xf.reshape(len(Xf), -1).astype(np.float64), yf)
    pv = judge.predict_proba(Xv.reshape(len(Xv), -1).astype(np.float64))
    print(f"judge on real val: acc {np.mean(np.argmax(pv, 1) == yv):.3f}, "
          f"margin {np.mean(pv[np.arange(len(yv)), yv]):.3f}", file=sys.stderr)
    res: dict[str, list] = {}
    for gs in [int(s) for s in args.gen_seeds.split(",")]:
        g = get_model("vaelab-image", **fit_kw)
        g.progress = False
        g.fit(Xf, yf, seed=gs)
        for v in variants:
            for k, val in v.items():
                setattr(g.config, k, val)
            Xs, ys = g.sample(counts, seed=gs + 1)
            Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).reshape(len(Xs), *Xv.shape[1:])
            ys = np.asarray(ys).astype(np.int64)
            ps = judge.predict_proba(Xs.reshape(len(Xs), -1))
            acc = [float(np.mean(np.argmax(ps[ys == k], 1) == k)) for k in sorted(counts)]
            margin = float(np.mean(ps[np.arange(len(ys)), ys]))
            t = [cnn_utility(Xs, ys, Xv.astype(np.float64), yv, seed=s) for s in clf_seeds]
            key = ";".join(f"{k}={val}" for k, val in v.items())
            res.setdefault(key, []).append((np.mean([r["roc_auc"] for r in t]),
                                            np.mean([r["balanced_accuracy"] for r in t]), *acc, margin))
            print(f"seed {gs} {key}: tstr auc {res[key][-1][0]:.3f} bacc {res[key][-1][1]:.3f} "
                  f"fidelity {acc} margin {margin:.3f}", file=sys.stderr, flush=True)
    print(f"fit options: {fit_kw or 'defaults'}; val {len(yv)} images; fit on {len(yf)}")
    print("| sampling | tstr auc | tstr bacc | fidelity per class | judge margin |\n|---|---|---|---|---|")
    for key, rows in res.items():
        a = np.array(rows)
        sd = a.std(axis=0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1])
        m = a.mean(axis=0)
        fid = " / ".join(f"{m[i]:.3f}" for i in range(2, a.shape[1] - 1))
        print(f"| {key} | {m[0]:.3f} ± {sd[0]:.3f} | {m[1]:.3f} ± {sd[1]:.3f} | {fid} | {m[-1]:.3f} |")


if __name__ == "__main__":
    main()
