"""Why does a class-conditional image generator transfer (TSTR) worse or better? Sampling variants of one fit.

On the validation split carved from the TRAIN images (``images_tstr._split_val``: stratified 20 %,
seed 12345; the test split is never read), ``vaelab-image`` is fitted once (``--gen-seed``) on the
other 80 % — or loaded with ``--model DIR`` (a ``vaelab train`` folder / ``save`` of such a fit) —
and several *sampling* variants are drawn from that one network, so differences between variants
are due to sampling, not to training noise. Variant options (``key=value`` joined by ``;``,
variants by ``,``): ``noise`` = texture | white | none, ``prior`` = kde | aggregate | standard,
``kde_shrink`` = 0 | 1, ``recal`` = 1 (re-calibrate the kernel width for this variant, as a fit would),
``t`` = temperature (codes pulled towards the class mean: ``centre + t (z - centre)``). For each:

* TSTR ROC AUC / balanced accuracy on the validation images (small CNN, ``--clf-seeds``);
* class fidelity: accuracy of a CNN trained on the REAL fitting images (the "judge") at telling the
  class of the synthetic images, per class — low means samples of one class look like the other;
* d': separation of the two classes along the real fitting images' (ridge) Fisher direction in pixels;
* pixel sd per image and high-frequency rms (image minus its 1-px Gaussian blur), to compare with real;
* novelty: median distance (pixels) of a sample to its nearest fitting image / the same for real val images.

Usage: ``PYTHONPATH=src python benchmarks/images_tstr_diag.py [--model DIR] [--variants ...]``.
Results and the command that produced them: ``benchmarks/RESULTS.md`` (images, issue 11, third session).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_tstr import _split_val  # noqa: E402


def _parse(variant: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in variant.split(";") if kv)


def temper(g, temp: float) -> None:
    """Make the fitted image generator ``g`` pull its latent codes towards their class's centre,
    ``centre + temp (z - centre)`` (centre: the kde sampler's class mean, else the mean training code of the
    class); undone by ``g.__dict__.pop("_latent_sampler")``."""
    import torch

    base = type(g)._latent_sampler

    def tempered(self=g):
        s = base(self)
        orig = s.sample

        def sample(c, gen):
            z, att = orig(c, gen)
            if "kde_mean" in s.state:
                centre = s.state["kde_mean"][c]
            else:
                centre = torch.stack([s.state["train_mu"][s.state["train_class"] == k].mean(0) for k in c.tolist()])
            return centre + temp * (z - centre), att
        s.sample = sample
        return s

    g._latent_sampler = tempered


def main() -> None:
    import torch
    from scipy.ndimage import gaussian_filter

    from vaelab.evaluation.image import cnn_utility
    from vaelab.modalities.image.cnn import SmallCNNClassifier
    from vaelab.models import get_model, load_model
    from vaelab.models.base import encode_labels

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default=None, help="a saved vaelab-image fitted on the 80 %% part (else: fit one)")
    ap.add_argument("--gen-seed", type=int, default=0)
    ap.add_argument("--clf-seeds", default="0,1,2")
    ap.add_argument("--variants", default="kde_shrink=0,kde_shrink=1;recal=1,kde_shrink=1,prior=aggregate,"
                                            "noise=none,t=0.7")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"].astype(np.float64), d["train_labels"].ravel().astype(np.int64)
    fi, vi = _split_val(y)
    Xf, yf, Xv, yv = X[fi], y[fi], X[vi], y[vi]
    F, Fv = Xf.reshape(len(Xf), -1), Xv.reshape(len(Xv), -1)
    counts = {int(k): int(v) for k, v in zip(*np.unique(yv, return_counts=True), strict=True)}
    clf_seeds = [int(s) for s in args.clf_seeds.split(",")]
    judge = SmallCNNClassifier(image_shape=Xf.shape[1:], random_state=0).fit(F, yf)
    m0, m1 = F[yf == 0].mean(0), F[yf == 1].mean(0)
    fisher = np.linalg.solve(np.cov(F.T) + 100 * np.eye(F.shape[1]), m1 - m0)
    Ft = torch.as_tensor(F)
    nov_ref = torch.cdist(torch.as_tensor(Fv), Ft).min(1).values.median().item()

    def measures(Xs: np.ndarray, ys: np.ndarray) -> dict[str, float]:
        rows = Xs.reshape(len(Xs), -1)
        p = judge.predict_proba(rows)
        s = rows @ fisher
        a, b = s[ys == 0], s[ys == 1]
        t = [cnn_utility(Xs, ys, Xv, yv, seed=cs) for cs in clf_seeds]
        return {"fid0": float(np.mean(np.argmax(p[ys == 0], 1) == 0)), "fid1": float(np.mean(np.argmax(p[ys == 1], 1) == 1)),
                "dprime": float((b.mean() - a.mean()) / np.sqrt(0.5 * (a.var() + b.var()))),
                "sd": float(rows.std(1).mean()), "hf": float(np.sqrt(np.mean((Xs - gaussian_filter(Xs, (0, 1, 1))) ** 2))),
                "novelty": torch.cdist(torch.as_tensor(rows), Ft).min(1).values.median().item() / nov_ref,
                "auc": float(np.mean([r["roc_auc"] for r in t])), "bacc": float(np.mean([r["balanced_accuracy"] for r in t]))}

    if args.model:
        g = load_model(args.model)
    else:
        g = get_model("vaelab-image")
        g.progress = False
        g.fit(Xf, yf, seed=args.gen_seed)
    fitted = {k: getattr(g.config, k) for k in ("noise", "prior", "kde_shrink")}
    h0 = g.extra_["kde_h"].clone() if "kde_h" in g.extra_ else None
    c_fit = torch.as_tensor(encode_labels(yf, g.classes_), dtype=torch.long)
    header = "| sampling | h | tstr auc | tstr bacc | fidelity c0 / c1 | d' | pixel sd | hf rms | novelty |"
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    real = measures(Xv, yv)
    lines.append(f"| real val images (its 'tstr' is TRTR on itself: ignore) | | | | {real['fid0']:.3f} / {real['fid1']:.3f} | "
                 f"{real['dprime']:.2f} | {real['sd']:.1f} | {real['hf']:.2f} | 1 |")
    for v in args.variants.split(","):
        o = _parse(v)
        g.config.noise = o.get("noise", fitted["noise"])
        g.config.prior = o.get("prior", fitted["prior"])
        g.config.kde_shrink = o.get("kde_shrink", str(int(fitted["kde_shrink"]))) == "1"
        if h0 is not None:
            g.extra_["kde_h"].copy_(h0)
        if o.get("recal") == "1" and g.config.prior == "kde":
            with torch.no_grad():
                g._latent_sampler().calibrate(g.generate, torch.as_tensor(F, dtype=torch.float32), c_fit, seed=args.gen_seed)
        temp = float(o.get("t", 1))
        if temp != 1:
            temper(g, temp)
        Xs, ys = g.sample(counts, seed=args.gen_seed + 1)
        g.__dict__.pop("_latent_sampler", None)
        Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).reshape(len(Xs), *Xv.shape[1:])
        m = measures(Xs, np.asarray(ys).astype(np.int64))
        h = "" if h0 is None else " / ".join(f"{x:.2f}" for x in g.extra_["kde_h"].tolist())
        lines.append(f"| {v} | {h} | {m['auc']:.3f} | {m['bacc']:.3f} | {m['fid0']:.3f} / {m['fid1']:.3f} | {m['dprime']:.2f} | "
                     f"{m['sd']:.1f} | {m['hf']:.2f} | {m['novelty']:.2f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    print(f"val {len(yv)} images, fit on {len(yf)}; classifier seeds {clf_seeds}; model: {args.model or 'fitted here'}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
