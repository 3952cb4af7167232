"""TSTR over seeds: is a difference in train-on-synthetic-test-on-real between image generators real?

One TSTR number (one generator fit, one sample, one CNN fit) varies with all three seeds. This script
fits every generator with ``--gen-seeds`` seeds, draws as many images per class as the evaluation
split has, trains the small CNN of :func:`vaelab.evaluation.image.cnn_scores` with ``--clf-seeds``
seeds on each synthetic set (and on the real fitting images: TRTR), and prints ROC AUC and balanced
accuracy as mean ± sd over generator seeds (each generator seed's value is its mean over classifier
seeds), plus the pooled sd over all fits.

``--eval val`` (design work): a stratified 20 % of the TRAIN images (seed 12345) is held out, the
generators fit on the other 80 % and are scored on it — the test split is not touched.
``--eval test`` (confirmation): the generators fit on the whole train split and are scored on test,
as ``benchmarks/images.py`` does.
``--eval group`` (a train-only probe of acquisition shift): within each class, the 20 % of the TRAIN images
with the highest mean intensity (exposure / windowing) are held out, the generators fit on the others.
``--fit-only`` fits and caches the synthetic sets without scoring them (e.g. before a decision on a
train-only split; the confirmation on test is then a separate, single run on the cached sets).
``--n-synthetic fit`` draws as many synthetic images per class as the real fitting images have (TSTR then trains
the CNN on as many images as TRTR does; the default ``eval``, as many as the evaluation split, is the protocol of the
earlier sessions' tables; synthetic sets of the two are cached apart).
``--clf-budget trtr`` trains every CNN for as many optimiser steps as the TRTR CNN takes (15 epochs of the real
fitting images), whatever the synthetic set's size (equal budget; ``vaelab evaluate`` does so); the default
``epochs`` (15 epochs of the classifier's own training set: fewer steps for a smaller synthetic set) is the
protocol of the earlier sessions' tables.
``--perturb gamma0.75,blur0.7,...`` also scores every classifier on perturbed copies of the evaluation
images (acquisition-like changes, :func:`perturb`), so a synthetic set's drop under shift can be read
against the real images' drop without touching the test split.

Generators: as in ``benchmarks/images.py`` (``vaelab-image``, ``seed-image-vae``, ``ppca``,
``pythae-vae`` — the last needs the separate venv described there; ``train-copies``, real training images at the
synthetic count, a reference); ``vaelab-image:key=value,...``
sets config options (e.g. ``vaelab-image:noise=none``). Synthetic sets are cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from images import DATA, make  # noqa: E402


def _split_val(y: np.ndarray, fraction: float = 0.2, seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    from vaelab.training.trainer import stratified_split

    return stratified_split(y, fraction, seed)


def _split_group(X: np.ndarray, y: np.ndarray, fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Within each class, the ``fraction`` of images with the highest mean intensity -> held out (ev)."""
    m = X.reshape(len(X), -1).astype(np.float64).mean(1)
    ev = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        ev.extend(idx[np.argsort(-m[idx], kind="stable")[: int(round(fraction * len(idx)))]].tolist())
    ev_idx = np.sort(np.array(ev))
    return np.setdiff1d(np.arange(len(y)), ev_idx), ev_idx


def _split_cluster(X: np.ndarray, y: np.ndarray, space: str, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means (k clusters) of the TRAIN images; the cluster farthest from the overall centre -> held out (ev).

    ``space = "hist"``: acquisition-like statistics per image (intensity quantiles 5/25/50/75/95 %, sd,
    rms of the image minus its 1-px blur), standardised; ``"pca"``: 20 principal components of the
    pixels, within each class separately (one held-out cluster per class, so the class balance stays);
    ``"feat"``: as ``"pca"``, in the domain features (``image-cnn`` trained on all TRAIN images, seed 0).
    """
    from scipy.ndimage import gaussian_filter
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    x = X.reshape(len(X), -1).astype(np.float64)
    if space == "feat":
        from vaelab.modalities.image.features import ImageFeatureExtractor

        x = ImageFeatureExtractor(seed=seed).fit(X.astype(np.float64), y).transform(X.astype(np.float64))
    if space == "hist":
        hf = np.sqrt(((X - gaussian_filter(X.astype(np.float64), (0, 1, 1))) ** 2).reshape(len(X), -1).mean(1))
        f = np.column_stack([np.percentile(x, [5, 25, 50, 75, 95], axis=1).T, x.std(1), hf])
        f = (f - f.mean(0)) / f.std(0)
        groups = [np.arange(len(y))]
    else:
        groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    ev = []
    for idx in groups:
        fi = f[idx] if space == "hist" else x[idx] if space == "feat" else PCA(20, random_state=seed).fit_transform(x[idx])
        km = KMeans(k, n_init=10, random_state=seed).fit(fi)
        far = int(np.argmax(np.linalg.norm(km.cluster_centers_ - fi.mean(0), axis=1)))
        ev.extend(idx[km.labels_ == far].tolist())
    ev_idx = np.sort(np.array(ev))
    return np.setdiff1d(np.arange(len(y)), ev_idx), ev_idx


def perturb(X: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """Acquisition-like change of uint8-scale images (n, H, W): ``gammaG`` (x = 255 (x/255)^G),
    ``contrastC`` (about each image's mean), ``blurS`` (Gaussian, S px), ``noiseS`` (Gaussian, S levels),
    ``shiftP`` (every image translated by a random integer offset in [-P, P]^2, edges repeated)."""
    from scipy.ndimage import gaussian_filter, shift

    kind, val = re.match(r"([a-z]+)([0-9.]+)$", name).groups()
    v, x = float(val), X.astype(np.float64)
    if kind == "gamma":
        out = 255.0 * (x / 255.0) ** v
    elif kind == "contrast":
        mu = x.mean(axis=(1, 2), keepdims=True)
        out = mu + v * (x - mu)
    elif kind == "blur":
        out = gaussian_filter(x, (0, v, v))
    elif kind == "noise":
        out = x + np.random.default_rng(seed).normal(0, v, x.shape)
    elif kind == "shift":
        off = np.random.default_rng(seed).integers(-int(v), int(v) + 1, (len(x), 2))
        out = np.stack([shift(im, o, order=0, mode="nearest") for im, o in zip(x, off, strict=True)])
    else:
        raise ValueError(f"unknown perturbation {name!r}")
    return np.clip(np.round(out), 0, 255)


def _make(spec: str):
    name, _, opts = spec.partition(":")
    if not opts:
        return make(name)
    from vaelab.models import get_model

    kw = {}
    for kv in opts.split(";"):
        k, v = kv.split("=", 1)
        kw[k] = json.loads(v) if v[:1] in "[{0123456789-" or v in ("true", "false", "null") else v
    g = get_model(name, **kw)
    g.progress = False
    return g


def quality(Xf: np.ndarray, yf: np.ndarray, Xe: np.ndarray, Xs: np.ndarray, ys: np.ndarray, ext, seed: int = 0) -> dict:
    """The issue's other metrics of one synthetic set, as ``vaelab evaluate`` computes them (without TSTR):
    C2ST (small CNN, 5-fold ROC AUC) against the fitting images ``Xf``, Fréchet distance / KID / PRDC / spread
    in the domain features ``ext`` (fitted on ``Xf``), DCR ratio against the evaluation images ``Xe``
    (``vaelab.evaluation.image._image_metrics`` without its TSTR part, which ``score`` does over classifier seeds)."""
    from vaelab.data.dataset import Dataset
    from vaelab.evaluation.image import _image_metrics

    def ds(X: np.ndarray, y: np.ndarray) -> Dataset:
        return Dataset(np.asarray(X, dtype=np.float64), np.asarray(y).astype(str))

    m = _image_metrics(ds(Xf, yf), ds(Xs, ys), ds(Xe, np.zeros(len(Xe))), ext, seed=seed, c2st_folds=5, cnn_epochs=15,
                       prdc_k=5, trtr=None, utility=False)
    return {"c2st": m["c2st_auc"], "fd": m["frechet"], "kid": m["kid"], "precision": m["precision"],
            "recall": m["recall"], "dcr": m["dcr_ratio"], "spread_min": float(min(m["diversity"].values()))}


def seed_scores(out: dict[str, dict], name: str, key: str) -> np.ndarray:
    """Generator ``name``'s classifier scores ``key`` of an ``--json`` result, flattened over (generator seed,
    classifier seed) in a fixed order, so two generators' arrays pair seed by seed."""
    return np.array([[c[key] for c in p] for p in out[name]["per_gen_seed"]]).ravel()


def paired_lines(out: dict[str, dict]) -> list[str]:
    """Markdown rows: the first generator minus each other one, paired by (generator seed, classifier seed):
    mean ± sd over the pairs and how many pairs the first was higher, for ROC AUC and balanced accuracy."""
    names = [k for k in out if k != "real (TRTR)"]
    if len(names) < 2:
        return []
    lines = ["", f"paired: {names[0]} minus the row (mean ± sd over (gen, clf) seed pairs; pairs where it is higher)",
             "| generator | paired auc diff | paired bacc diff |", "|---|---|---|"]
    for name in names[1:]:
        cells = []
        for key in ("roc_auc", "balanced_accuracy"):
            a, b = seed_scores(out, names[0], key), seed_scores(out, name, key)
            if a.shape != b.shape:
                cells.append("(seeds differ)")
                continue
            d = a - b
            sd = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
            cells.append(f"{d.mean():+.3f} ± {sd:.3f} ({int((d > 0).sum())}/{len(d)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    import torch

    import vaelab.modalities.image  # noqa: F401  (registers the image feature network)
    from vaelab.evaluation.image import cnn_scores, cnn_steps
    from vaelab.metrics.features import get_extractor

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="vaelab-image,seed-image-vae,ppca,pythae-vae",
                    help="comma-separated; options after ':' separated by ';'")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--eval", choices=("val", "group", "hist", "pca", "feat", "test"), default="val")
    ap.add_argument("--perturb", default="", help="comma-separated perturbations of the eval images (see perturb)")
    ap.add_argument("--n-synthetic", choices=("eval", "fit"), default="eval",
                    help="synthetic images per class: as many as the evaluation split (default) or the fitting images")
    ap.add_argument("--clf-budget", choices=("epochs", "trtr"), default="epochs",
                    help="CNN optimiser steps: 15 epochs of its own training set (default) or TRTR's steps (equal)")
    ap.add_argument("--gen-seeds", default="0,1,2")
    ap.add_argument("--clf-seeds", default="0,1,2")
    ap.add_argument("--cache", default="/tmp/images_tstr")
    ap.add_argument("--json", default=None)
    ap.add_argument("--quality", action="store_true",
                    help="also C2ST / FD / KID / PRDC / DCR of every synthetic set (see quality)")
    ap.add_argument("--fit-only", action="store_true",
                    help="fit and cache the synthetic sets, score nothing (no CNN sees the evaluation images)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = np.load(args.data)
    X, y = d["train_images"], d["train_labels"].ravel().astype(np.int64)
    if args.eval != "test":
        fit_idx, ev_idx = (_split_val(y) if args.eval == "val" else _split_group(X, y) if args.eval == "group"
                           else _split_cluster(X, y, args.eval))
        Xf, yf, Xe, ye = X[fit_idx], y[fit_idx], X[ev_idx], y[ev_idx]
    else:
        Xf, yf = X, y
        Xe, ye = d["test_images"], d["test_labels"].ravel().astype(np.int64)
    # synthetic images per class: as many as the evaluation split has (default, all earlier sessions), or as many as
    # the real fitting images (``--n-synthetic fit``: TSTR and TRTR then train the CNN on equally many images)
    counts = {int(k): int(v) for k, v in zip(*np.unique(ye if args.n_synthetic == "eval" else yf,
                                                        return_counts=True), strict=True)}
    gen_seeds = [int(s) for s in args.gen_seeds.split(",")]
    clf_seeds = [int(s) for s in args.clf_seeds.split(",")]
    cache = Path(args.cache) / (args.eval if args.n_synthetic == "eval" else f"{args.eval}-nfit")
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}

    evals = {"clean": (Xe, ye), **{p: (perturb(Xe, p), ye) for p in args.perturb.split(",") if p}}

    steps = cnn_steps(len(yf)) if args.clf_budget == "trtr" else None

    def score(Xs, ys):
        per = [cnn_scores(Xs, ys, evals, seed=s, steps=steps) for s in clf_seeds]
        if len(evals) > 1:
            shifted.append({k: [r[k] for r in per] for k in evals})
        return [r["clean"] for r in per]

    shifted: list[dict] = []
    ext = None
    if not args.fit_only:
        out["real (TRTR)"] = {"per_gen_seed": [score(Xf, yf)], "fit_cpu_s": [], "shifted": shifted}
    for spec in [m for m in args.models.split(",") if m]:
        per, cpu, shifted, qual = [], [], [], []
        for gs in gen_seeds:
            f = cache / f"{spec.replace(':', '_').replace(';', '_').replace('=', '-')}_{gs}.npz"
            if f.is_file():
                z = np.load(f)
                Xs, ys, c = z["X"], z["y"], float(z["cpu_s"])
            else:
                try:
                    g = _make(spec)
                except ImportError as e:
                    print(f"{spec}: skipped ({e})", file=sys.stderr)
                    break
                c0 = time.process_time()
                g.fit(Xf, yf, seed=gs)
                c = time.process_time() - c0
                Xs, ys = g.sample(counts, seed=gs + 1)
                Xs = np.clip(np.round(np.asarray(Xs, dtype=np.float64)), 0, 255).astype(np.uint8).reshape(len(Xs), *Xf.shape[1:])
                ys = np.asarray(ys).astype(np.int64)
                np.savez(f, X=Xs, y=ys, cpu_s=c)
            cpu.append(c)
            if args.fit_only:
                print(f"{spec} gen seed {gs}: cached ({c:.0f} cpu s)", file=sys.stderr, flush=True)
                continue
            per.append(score(Xs, ys))
            if args.quality:
                if ext is None:
                    ext = get_extractor("image-cnn:epochs=10", seed=0).fit(Xf.astype(np.float64), yf.astype(str))
                qual.append(quality(Xf, yf, Xe, Xs, ys, ext))
                print(f"{spec} gen seed {gs}: " + ", ".join(f"{k} {v:.3f}" for k, v in qual[-1].items()),
                      file=sys.stderr, flush=True)
            print(f"{spec} gen seed {gs}: " + ", ".join(f"{r['roc_auc']:.3f}" for r in per[-1]), file=sys.stderr, flush=True)
        if per:
            out[spec] = {"per_gen_seed": per, "fit_cpu_s": cpu, "shifted": shifted, "quality": qual}
    if args.fit_only:
        return
    lines = [f"TSTR on {args.eval} ({len(ye)} images), generators fit on {len(yf)}; "
             f"gen seeds {gen_seeds} x classifier seeds {clf_seeds}; CNN budget: "
             + ("15 epochs of its training set" if steps is None else f"{steps} optimiser steps (TRTR's)"),
             "| generator | auc mean ± sd (gen seeds) | auc sd (all fits) | bacc mean ± sd (gen seeds) | fit cpu s |",
             "|---|---|---|---|---|"]
    for name, r in out.items():
        auc = np.array([[c["roc_auc"] for c in p] for p in r["per_gen_seed"]])
        bacc = np.array([[c["balanced_accuracy"] for c in p] for p in r["per_gen_seed"]])
        ga, gb = auc.mean(axis=1), bacc.mean(axis=1)
        sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0  # noqa: E731
        cpu = f"{np.mean(r['fit_cpu_s']):.0f}" if r["fit_cpu_s"] else ""
        lines.append(f"| {name} | {ga.mean():.3f} ± {sd(ga):.3f} | {sd(auc.ravel()):.3f} | "
                     f"{gb.mean():.3f} ± {sd(gb):.3f} | {cpu} |")
    lines += paired_lines(out)
    if args.quality:
        keys = ("c2st", "fd", "kid", "precision", "recall", "dcr", "spread_min")
        lines += ["", "other metrics (mean ± sd over generator seeds; one domain feature network, seed 0)",
                  "| generator | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for name, r in out.items():
            if r.get("quality"):
                v = {k: np.array([q[k] for q in r["quality"]]) for k in keys}
                lines.append(f"| {name} | " + " | ".join(
                    f"{a.mean():.3f} ± {np.std(a, ddof=1) if len(a) > 1 else 0.0:.3f}" for a in v.values()) + " |")
    if len(evals) > 1:
        lines += ["", "TSTR AUC / balanced accuracy on each evaluation set (mean over all fits)",
                  "| generator | " + " | ".join(evals) + " | mean of perturbed |", "|---|" + "---|" * (len(evals) + 1)]
        for name, r in out.items():
            m = {k: (np.mean([c["roc_auc"] for s_ in r["shifted"] for c in s_[k]]),
                     np.mean([c["balanced_accuracy"] for s_ in r["shifted"] for c in s_[k]])) for k in evals}
            pert = [m[k] for k in evals if k != "clean"]
            lines.append(f"| {name} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in m.values())
                         + f" | {np.mean([a for a, _ in pert]):.3f} / {np.mean([b for _, b in pert]):.3f} |")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
