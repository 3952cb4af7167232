"""Is a TSTR CNN rewarded for class-mean-like training images? vaelab-image vs pythae on validation only.

On the chest X-ray test split pythae's per-class VAE (blurred class means) leads vaelab-image (realistic samples) on
TSTR ROC AUC. This script asks, WITHOUT reading the test split, whether that lead and its candidate causes show in the
training distribution. Evaluation sets: ``E1`` = the 20 % of the train split ``images_tstr.py --eval val`` holds out
(the generators fit on the other 80 %), ``E2`` = the npz's own ``val_images`` (seen by no generator or CNN). Training
sets per generator seed ``gs`` (every CNN: :func:`vaelab.evaluation.image.cnn_scores`, TRTR's optimiser steps, R1):

* ``R``  243 real fitting images per class (drawn with seed ``gs``); ``Rb`` the same blurred (Gaussian, 1 px);
* ``S0`` the default vaelab-image set cached by ``images_tstr.py`` / ``images_sampler_variants.py`` (``--s0``); its
  network (``--networks``) must draw it again byte for byte; ``Sb`` S0 blurred (1 px, a probe, not a candidate);
  ``St`` the same network with its latent codes at temperature 0.5 (``images_tstr_diag.temper``); ``Sn`` the same
  network, as many images per class as the fitting images (971: the count question at equal steps);
* ``P``  pythae's per-class VAE set cached by ``images_tstr.py --models pythae-vae`` (``--pythae``); ``Mx`` the
  first 122 S0 + first 121 P images of each class; ``Pn`` pythae's set of 971 per class (``images_tstr.py
  --n-synthetic fit``, ``--pythae-n``), beside ``Sn``.

Scores go to ``OUT/scores/NAME_GS.json`` (resumable; two processes may share the work by ``--sets``); ``--report``
prints mean AUC / balanced accuracy on E1 and E2, the paired differences (``--pairs A-B,...``; mean ± sd over
(generator seed, classifier seed) pairs, pairs where A is higher) and simple statistics of each set (``stats``).

    PYTHONPATH=src .venv/bin/python benchmarks/images_prototype_diag.py --out DIR --sets R,S0,P --s0 C1,C2 \\
        --networks M1,M2 --pythae C3 [--report]

Results: ``benchmarks/RESULTS.md`` (images, issue 11, session 13).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA  # noqa: E402
from images_sampler_variants import splits  # noqa: E402
from images_tstr import perturb  # noqa: E402
from images_tstr_diag import temper  # noqa: E402

SETS = ("R", "Rb", "S0", "Sb", "St", "Sn", "P", "Mx", "Pn")


def _find(dirs: list[str], name: str) -> Path:
    for d in dirs:
        if (Path(d) / name).is_file():
            return Path(d) / name
    raise SystemExit(f"{name} not found in {dirs}")


def _per_class(X: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of each class, in class order."""
    idx = np.concatenate([np.flatnonzero(y == k)[:n] for k in np.unique(y)])
    return X[idx], y[idx]


def build(name: str, gs: int, args, Xf: np.ndarray, yf: np.ndarray, counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Training set ``name`` of generator seed ``gs`` (uint8 images (n, H, W), labels)."""
    if name in ("R", "Rb"):
        rng = np.random.default_rng(gs)
        idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(yf == k), n, replace=False) for k, n in counts.items()]))
        X, y = Xf[idx], yf[idx]
        return (perturb(X, "blur1").astype(np.uint8), y) if name == "Rb" else (X, y)
    if name == "Pn":
        p = np.load(_find(args.pythae_n.split(","), f"pythae-vae_{gs}.npz"))
        return p["X"], p["y"]
    s0 = np.load(_find(args.s0.split(","), f"vaelab-image_{gs}.npz"))
    if name in ("S0", "Sb"):
        return (perturb(s0["X"], "blur1").astype(np.uint8) if name == "Sb" else s0["X"]), s0["y"]
    if name in ("P", "Mx"):
        p = np.load(_find(args.pythae.split(","), f"pythae-vae_{gs}.npz"))
        if name == "P":
            return p["X"], p["y"]
        (a, ya), (b, yb) = _per_class(s0["X"], s0["y"], 122), _per_class(p["X"], p["y"], 121)
        return np.concatenate([a, b]), np.concatenate([ya, yb])
    from vaelab.models.image.vaelab_image import VaelabImage

    g = VaelabImage.load(_find([f"{d}/pneumoniamnist_val_s{gs}" for d in args.networks.split(",")], "config.json").parent)

    def draw(c: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        Xs, ys = g.sample(c, seed=gs + 1)
        return (np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *Xf.shape[1:]),
                np.asarray(ys).astype(np.int64))

    Xs, ys = draw(counts)
    if not (np.array_equal(Xs, s0["X"]) and np.array_equal(ys, s0["y"])):
        raise SystemExit(f"network of seed {gs} does not draw its cached S0 set again")
    if name == "Sn":
        return draw({int(k): int((yf == k).sum()) for k in counts})
    temper(g, 0.5)
    return draw(counts)


def stats(X: np.ndarray, y: np.ndarray, Xf: np.ndarray, yf: np.ndarray, X2: np.ndarray, y2: np.ndarray) -> dict[str, float]:
    """Class-mean and intensity statistics of one image set against the real fitting images (and E2's class means)."""
    from scipy.ndimage import gaussian_filter

    x, f, e = (np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in (X, Xf, X2))
    mean = lambda a, lab: np.stack([a[lab == k].mean(0) for k in (0, 1)])  # noqa: E731
    ms, mf, me = mean(x, y), mean(f, yf), mean(e, y2)
    ds, df = ms[1] - ms[0], mf[1] - mf[0]
    fisher = np.linalg.solve(np.cov(f.T) + 100 * np.eye(f.shape[1]), df)
    s = x @ fisher
    a, b = s[y == 0], s[y == 1]
    img = np.asarray(X, dtype=np.float64)
    return {"dist_fit": float(np.sqrt(((ms - mf) ** 2).mean())), "dist_E2": float(np.sqrt(((ms - me) ** 2).mean())),
            "diff_norm_ratio": float(np.linalg.norm(ds) / np.linalg.norm(df)),
            "diff_cos": float(ds @ df / np.linalg.norm(ds) / np.linalg.norm(df)),
            "dprime": float((b.mean() - a.mean()) / np.sqrt(0.5 * (a.var() + b.var()))),
            "brightness": float(x.mean(1).mean()), "brightness_sd": float(x.mean(1).std()),
            "contrast": float(x.std(1).mean()),
            "hf_rms": float(np.sqrt(np.mean((img - gaussian_filter(img, (0, 1, 1))) ** 2)))}


def report(args, names: list[str], gen_seeds: list[int]) -> None:
    from images_tstr import seed_scores

    out = Path(args.out)
    Xf, yf, Xe, ye = splits(args.data, "val")
    d = np.load(args.data)
    X2, y2 = d["val_images"], d["val_labels"].ravel().astype(np.int64)
    for n, (X, y) in {"E1 real": (Xe, ye), "E2 real": (X2, y2)}.items():
        print(f"{n}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats(X, y, Xf, yf, X2, y2).items()))
    runs = {ev: {} for ev in ("E1", "E2")}
    for n in names:
        per = [json.loads((out / "scores" / f"{n}_{gs}.json").read_text()) for gs in gen_seeds
               if (out / "scores" / f"{n}_{gs}.json").is_file()]
        for ev in runs:
            runs[ev][n] = {"per_gen_seed": [[c[ev] for c in p["clf"]] for p in per], "stats": [p["stats"] for p in per]}
    print("| set | gen seeds | E1 AUC | E1 bacc | E2 AUC | E2 bacc | " + " | ".join(runs["E1"][names[0]]["stats"][0]) + " |")
    for n in names:
        r1, r2 = runs["E1"][n], runs["E2"][n]
        cells = [f"{seed_scores(r, n, k).mean():.4f}" for r in ({n: r1}, {n: r2})
                 for k in ("roc_auc", "balanced_accuracy")]
        st = {k: np.mean([s[k] for s in r1["stats"]]) for k in r1["stats"][0]}
        print(f"| {n} | {len(r1['per_gen_seed'])} | " + " | ".join(cells) + " | " + " | ".join(f"{v:.3f}" for v in st.values()) + " |")
    for pair in [p for p in args.pairs.split(",") if p]:
        a, b = pair.split("-")
        cells = []
        for ev in runs:
            k = min(len(runs[ev][a]["per_gen_seed"]), len(runs[ev][b]["per_gen_seed"]))
            sub = {n: {"per_gen_seed": runs[ev][n]["per_gen_seed"][:k]} for n in (a, b)}
            for key in ("roc_auc", "balanced_accuracy"):
                d = seed_scores(sub, a, key) - seed_scores(sub, b, key)
                cells.append(f"{ev} {key} {d.mean():+.4f} ± {np.std(d, ddof=1):.4f} ({int((d > 0).sum())}/{len(d)})")
        print(f"{a} - {b}: " + "; ".join(cells))


def main() -> None:
    import torch

    from vaelab.evaluation.image import cnn_scores, cnn_steps

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", required=True)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--gen-seeds", default="0,1,2,3,4,5")
    ap.add_argument("--clf-seeds", default="0,1,2")
    ap.add_argument("--s0", default="", help="comma-separated folders holding vaelab-image_GS.npz")
    ap.add_argument("--networks", default="", help="comma-separated folders holding pneumoniamnist_val_sGS")
    ap.add_argument("--pythae", default="", help="comma-separated folders holding pythae-vae_GS.npz")
    ap.add_argument("--pythae-n", default="", help="as --pythae, sets of as many images per class as the fitting images")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--pairs", default="S0-P,Sb-S0,St-S0,Mx-S0,Sn-S0,Sn-Pn,Pn-P,Rb-R,R-S0")
    args = ap.parse_args()
    torch.set_num_threads(1)
    names, gen_seeds = [s for s in args.sets.split(",") if s], [int(s) for s in args.gen_seeds.split(",")]
    if args.report:
        report(args, names, gen_seeds)
        return
    Xf, yf, Xe, ye = splits(args.data, "val")
    d = np.load(args.data)
    X2, y2 = d["val_images"], d["val_labels"].ravel().astype(np.int64)
    evals = {"E1": (Xe, ye), "E2": (X2, y2)}
    counts = {int(k): int(v) for k, v in zip(*np.unique(ye, return_counts=True), strict=True)}
    print(f"E1 {np.bincount(ye).tolist()}, E2 {np.bincount(y2).tolist()}, fit {np.bincount(yf).tolist()}", flush=True)
    steps = cnn_steps(len(yf))
    (Path(args.out) / "scores").mkdir(parents=True, exist_ok=True)
    for gs in gen_seeds:
        for name in names:
            f = Path(args.out) / "scores" / f"{name}_{gs}.json"
            if f.is_file():
                continue
            X, y = build(name, gs, args, Xf, yf, counts)
            clf = [cnn_scores(X, y, evals, seed=cs, steps=steps) for cs in [int(s) for s in args.clf_seeds.split(",")]]
            rec = {"n": int(len(y)), "stats": stats(X, y, Xf, yf, X2, y2), "clf": clf}
            f.write_text(json.dumps(rec))
            print(f"{name} gs {gs}: E1 auc {np.mean([c['E1']['roc_auc'] for c in clf]):.4f}, "
                  f"E2 auc {np.mean([c['E2']['roc_auc'] for c in clf]):.4f}", flush=True)


if __name__ == "__main__":
    main()
