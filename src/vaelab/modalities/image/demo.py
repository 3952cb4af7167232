"""The image part of ``vaelab demo``: scikit-learn's 8x8 handwritten digits (ships inside scikit-learn).

Two thirds of the digits (stratified) train ``vaelab-image`` and the baseline ``seed-image-vae``; each
generates as many images per class as it was trained on; both are scored with the image evaluation
(domain feature network on the real training digits, small-CNN C2ST / TSTR / TRTR against the held-out
third, reference rows) and written, with figures, to ``<out>/<model>/``; a side-by-side table goes to
``comparison.csv``.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.data.dataset import Dataset, Layout

DIGITS_CREDIT = ("scikit-learn's 8x8 digits (sklearn.datasets.load_digits: UCI ML hand-written digits, "
                 "1797 images, 10 classes, grey levels 0..16)")
MODELS = ("vaelab-image", "seed-image-vae")


def digits(limit: int | None = None) -> Dataset:
    """The digits as (n, 8, 8) float images with integer grey levels 0..16 and labels 0..9."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.images.astype(np.float64), d.target.astype(np.int64)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    return Dataset(X=X, y=y, layout=Layout(kind="npz"), source="sklearn.datasets.load_digits")


def run_image_demo(out: Path, *, seed: int = 0, epochs: int | None = None, progress: bool = True, log=print,
                   limit: int | None = None, cnn_epochs: int = 15) -> dict[str, Any]:
    """Write the image demo into the existing folder ``out``; returns ``{model: result}``."""
    import json

    from vaelab.core.jsonable import jsonable
    from vaelab.data.dataset import data_summary
    from vaelab.data.io import write_data
    from vaelab.evaluation.image import evaluate_images
    from vaelab.modalities.image.features import fit_feature_extractor
    from vaelab.modalities.image.figures import class_grid, nearest_training
    from vaelab.reporting.image import format_image_report, image_summary_csv
    from vaelab.runs import generate, per_class_counts, train_run
    from vaelab.training.trainer import stratified_split

    ds = digits(limit)
    log(f"data: {DIGITS_CREDIT}")
    tr, ho = stratified_split(np.unique(ds.y, return_inverse=True)[1], 1 / 3, seed)
    train, holdout = ds.subset(tr), ds.subset(ho)
    log(f"split: {train.n} training digits, {holdout.n} held out (stratified), 8x8 pixels")
    ext = fit_feature_extractor(train.X, train.y, seed=seed)
    results: dict[str, Any] = {}
    times: dict[str, float] = {}
    for model in MODELS:
        t0 = time.perf_counter()
        sub = out / model
        sub.mkdir(parents=True)
        config = {} if epochs is None else {"epochs": int(epochs)}
        run = train_run(train, sub / "run", model=model, seed=seed, config=config, progress=progress)
        times[model] = time.perf_counter() - t0
        synth = generate(run, per_class_counts(run, factor=1.0), seed=seed)
        write_data(synth, sub / "synthetic.npz")
        log(f"evaluating {model} (feature network, CNN two-sample test, TSTR, reference rows) ...")
        r = evaluate_images(train, synth, holdout=holdout, seed=seed, extractor=ext, cnn_epochs=cnn_epochs,
                            references=model == MODELS[0], diagnostics=False)
        r["model"] = model
        r["data"] = data_summary(train)
        (sub / "metrics.json").write_text(json.dumps(jsonable(r, nonfinite="keep"), indent=1, allow_nan=True) + "\n")
        (sub / "metrics.csv").write_text(image_summary_csv(r))
        (sub / "report.txt").write_text(format_image_report(r) + "\n")
        class_grid(train.X, train.y, synth.X, synth.y, sub / "real_vs_synthetic.png", seed=seed)
        nearest_training(synth.X, train.X, sub / "nearest_training.png", seed=seed)
        results[model] = r
    from vaelab.modalities.image.restoration_demo import run_restoration_demo

    log("completion and denoising with the vaelab-image run (vaelab inpaint / restore) ...")
    run_restoration_demo(out / MODELS[0] / "run", holdout, out / "restoration", seed=seed, log=log)
    rows = _comparison(results, times)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", *MODELS, "how_to_read"])
    w.writerows([label, *("" if v is None else v for v in vals), goal] for label, vals, goal in rows)
    (out / "comparison.csv").write_text(buf.getvalue())
    log("")
    log(format_image_report(results[MODELS[0]]))
    log("")
    log(f"digits, side by side on the same split ({MODELS[1]}: the documents' textbook MLP VAE)")
    log(f"{'metric':<34}" + "".join(f"{m:>16}" for m in MODELS) + "   how to read")
    for label, vals, goal in rows:
        log(f"{label:<34}" + "".join(f"{_fmt(v):>16}" for v in vals) + f"   {goal}")
    return results


def _comparison(results: dict[str, Any], times: dict[str, float]) -> list[tuple[str, list[Any], str]]:
    keys = [("c2st_auc", "C2ST AUC (small CNN)", "0.5 ideal, > 0.75 flagged"),
            ("frechet", "Fréchet (domain features)", "lower"),
            ("kid", "KID (domain features)", "lower"),
            ("dcr_ratio", "DCR ratio (features)", "~1 novel, -> 0 copies"),
            ("tstr_trtr_auc", "TSTR / TRTR (AUC)", "~1"),
            ("precision", "precision", "higher"),
            ("recall", "recall", "higher")]
    rows = [(label, [results[m].get(k) for m in MODELS], goal) for k, label, goal in keys]
    for name in results[MODELS[0]]["flags"]:
        rows.append((f"flag {name}", [{True: "RAISED", False: "ok", None: "n/a"}[results[m]["flags"][name]["raised"]]
                                      for m in MODELS], "ok expected"))
    rows.append(("training time, s", [round(times[m], 1) for m in MODELS], "lower is faster"))
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "nan" if not np.isfinite(v) else f"{v:.4g}"
    return str(v)
