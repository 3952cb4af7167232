"""Evaluation of synthetic images: the metrics of ``vaelab evaluate`` where they mean something for images.

* A **domain feature network** trained on the real training images only
  (:mod:`vaelab.modalities.image.features`, registered as ``image-cnn``, the default feature space of
  images; another registered extractor with ``features=``; described in ``metrics.json`` under
  ``features``); in its features: Fréchet
  distance, KID, PRDC, DCR and the per-class diversity (spread ratio).
* **C2ST** with a small CNN on the pixels (5-fold ROC AUC; :mod:`vaelab.modalities.image.cnn`). Every CNN of the
  evaluation standardises its inputs with one mean and sd per channel of its own training rows
  (:data:`CNN_STANDARDISE`, ``classifier.standardise`` in ``metrics.json``).
* **TSTR / TRTR** with the same CNN on a real test split (``holdout``): ROC AUC (macro one-vs-rest for
  more than 2 classes) and balanced accuracy; ``tstr_trtr_auc`` = TSTR AUC / TRTR AUC. TSTR's CNN takes as
  many optimiser steps as TRTR's (``cnn_epochs`` epochs of the real training images, :func:`cnn_steps`), however
  many synthetic images there are: the two differ only in their training images.
* The flags of :func:`vaelab.metrics.compute_flags` and **reference rows** computed the same way:
  ``real`` (real images the generator never saw: half of the holdout against the training images,
  the other half as their holdout; without a holdout, half of the training images against the other
  half), ``class_mean`` (every sample the mean image of its class), ``train_copies`` (training images
  as they are), ``blurred_real`` (real images blurred with a Gaussian of ``blur_sigma`` pixels). Each
  row records the flags it is expected to raise and whether it did (``as_expected``): real images
  none; class means collapse + distinguishable; copies memorisation; blurred images distinguishable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset

#: ``standardise`` of evaluate's image CNNs (C2ST and TSTR/TRTR): one mean and sd per channel fitted on each CNN's
#: own training rows (:class:`~vaelab.modalities.image.cnn.SmallCNNClassifier`); False: the pixels as they come.
#: On since issue 11, session 17 (benchmarks/RESULTS.md): on raw textured shapes it took the TRTR CNNs off the chance
#: plateau (4 of 20 -> 0) and raised TRTR's ROC AUC, with C2ST's real-vs-real and reference rows unchanged
CNN_STANDARDISE = True

EXPECTED_FLAGS = {
    "real": set(),
    "class_mean": {"collapse", "distinguishable"},
    "train_copies": {"memorization"},
    "blurred_real": {"distinguishable"},
}


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true).astype(str)
    cls = np.asarray(classes).astype(str)
    present = [i for i, c in enumerate(cls) if np.any(y_true == c) and np.any(y_true != c)]
    if not present:
        return float("nan")
    if len(cls) == 2:
        return float(roc_auc_score(y_true == cls[1], proba[:, 1]))
    return float(np.mean([roc_auc_score(y_true == cls[i], proba[:, i]) for i in present]))


def cnn_utility(X_fit: np.ndarray, y_fit: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
                seed: int = 0, epochs: int = 15, steps: int | None = None,
                standardise: bool | None = None) -> dict[str, float]:
    """Train the small CNN on (X_fit, y_fit), test on real (X_test, y_test): ROC AUC and balanced accuracy.

    ``steps``: the CNN's number of optimiser steps (None: ``epochs`` epochs of ``X_fit``); TSTR passes
    :func:`cnn_steps` of the real training images, so that it and TRTR differ only in their training images. A CNN
    still at chance on its own training images after its budget is retrained up to twice with other seeds (same
    budget; ``restarts`` of :class:`~vaelab.modalities.image.cnn.SmallCNNClassifier`); any other CNN is unchanged.
    ``standardise``: the CNN's per-channel input standardisation (None: :data:`CNN_STANDARDISE`)."""
    return cnn_scores(X_fit, y_fit, {"test": (X_test, y_test)}, seed=seed, epochs=epochs, steps=steps,
                      standardise=standardise)["test"]


def cnn_scores(X_fit: np.ndarray, y_fit: np.ndarray, tests: dict[str, tuple[np.ndarray, np.ndarray]], *,
               seed: int = 0, epochs: int = 15, steps: int | None = None,
               standardise: bool | None = None) -> dict[str, dict[str, float]]:
    """:func:`cnn_utility` with one CNN scored on several test sets ``{name: (X (n, H, W[, C]), y (n,))}``
    (e.g. a real test split and perturbed copies of it): ``{name: {"roc_auc", "balanced_accuracy"}}``,
    NaN where the fitting labels hold fewer than two classes."""
    from vaelab.metrics.utility import balanced_accuracy
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    yf = np.asarray(y_fit).astype(str)
    if len(np.unique(yf)) < 2:
        return {name: {"roc_auc": float("nan"), "balanced_accuracy": float("nan")} for name in tests}
    clf = SmallCNNClassifier(image_shape=tuple(X_fit.shape[1:]), epochs=epochs, random_state=seed, steps=steps,
                             restarts=2, standardise=_standardise(standardise))
    clf.fit(np.asarray(X_fit, dtype=np.float64).reshape(len(X_fit), -1), yf)
    out = {}
    for name, (X_test, y_test) in tests.items():
        p = clf.predict_proba(np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1))
        yt = np.asarray(y_test).astype(str)
        out[name] = {"roc_auc": _roc_auc(yt, p, clf.classes_),
                     "balanced_accuracy": balanced_accuracy(yt, clf.classes_[np.argmax(p, axis=1)])}
    return out


def _standardise(standardise: bool | None) -> bool:
    return bool(CNN_STANDARDISE if standardise is None else standardise)


def cnn_c2st(X_real: np.ndarray, X_synthetic: np.ndarray, *, seed: int = 0, epochs: int = 15, folds: int = 5,
             standardise: bool | None = None) -> dict[str, Any]:
    """Evaluate's image C2ST: :func:`~vaelab.metrics.c2st_breakdown` of the small CNN on the pixels of ``X_real``
    vs ``X_synthetic`` (n, H, W[, C]) with ``folds`` folds; ``standardise``: None = :data:`CNN_STANDARDISE`."""
    from vaelab.metrics import c2st_breakdown
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    clf = SmallCNNClassifier(image_shape=tuple(np.shape(X_real)[1:]), epochs=epochs, random_state=seed,
                             standardise=_standardise(standardise))
    return c2st_breakdown(X_real, X_synthetic, classifier=clf, folds=folds, seed=seed)


def cnn_steps(n_real: int, epochs: int = 15, batch_size: int = 64) -> int:
    """Optimiser steps of the TRTR CNN: ``epochs`` epochs of ``n_real`` images in batches of ``batch_size``
    (the budget TSTR gets too, whatever the number of synthetic images)."""
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    return SmallCNNClassifier(epochs=epochs, batch_size=batch_size).steps_for(n_real)


def _image_metrics(real: Dataset, synthetic: Dataset, holdout: Dataset | None, extractor: Any, *, seed: int,
                   c2st_folds: int, cnn_epochs: int, prdc_k: int, trtr: dict[str, float] | None,
                   utility: bool = True) -> dict[str, Any]:
    """The metrics of one synthetic set (see the module docstring); ``utility=False`` leaves out TSTR / TRTR
    (``None``), e.g. where a benchmark scores them itself over several classifier seeds."""
    from vaelab.metrics import (
        compute_flags,
        dcr_breakdown,
        frechet_from_stats,
        left_out_distances,
        nearest_distances,
        prdc,
    )
    from vaelab.metrics.diversity import MIN_IMAGES_PER_CLASS, spread_ratio
    from vaelab.metrics.kid import kid

    Fr, Fs = extractor.transform(real.X), extractor.transform(synthetic.X)
    c2 = cnn_c2st(real.X, synthetic.X, seed=seed, epochs=cnn_epochs, folds=c2st_folds)
    pr = prdc(Fr, Fs, k=min(prdc_k, len(Fr) - 1, len(Fs) - 1))
    kd = kid(Fr, Fs, seed=seed)
    out: dict[str, Any] = {
        "n_real": real.n, "n_synthetic": synthetic.n, "n_holdout": None if holdout is None else holdout.n,
        "c2st_auc": c2["auc"], "c2st": {k: v for k, v in c2.items() if k != "auc"},
        "precision": pr["precision"], "recall": pr["recall"], "density": pr["density"], "coverage": pr["coverage"],
        "frechet": frechet_from_stats(Fr.mean(0), np.cov(Fr, rowvar=False), Fs.mean(0), np.cov(Fs, rowvar=False)),
        "kid": kd["kid"], "kid_details": {k: v for k, v in kd.items() if k != "kid"},
        "diversity": {str(k): float(v) for k, v in spread_ratio(Fr, Fs, real.y, synthetic.y,
                                                                 min_per_class=MIN_IMAGES_PER_CLASS).items()},
    }
    if holdout is not None:
        Fh = extractor.transform(holdout.X)
        d = dcr_breakdown(Fs, Fr, Fh)
        out["dcr_reference"] = "holdout"
        out["dcr_ratio"], out["closer_than_holdout"] = d["dcr_ratio"], d["closer_than_holdout"]
        out["dcr"] = {k: v for k, v in d.items() if k not in ("synthetic_to_train", "holdout_to_train")}
        out["_diag"] = {"synthetic_to_train": d["synthetic_to_train"], "reference_to_train": d["holdout_to_train"],
                        "reference_label": "holdout → train (features)"}
        if utility:
            # TSTR trains the CNN for as many optimiser steps as TRTR does (equal budget, not equal epochs)
            ts = cnn_utility(synthetic.X, synthetic.y, holdout.X, holdout.y, seed=seed,
                             steps=cnn_steps(real.n, cnn_epochs))
            tr = trtr if trtr is not None else cnn_utility(real.X, real.y, holdout.X, holdout.y, seed=seed,
                                                           epochs=cnn_epochs)
            out["tstr"], out["trtr"] = ts, tr
            out["tstr_trtr_auc"] = ts["roc_auc"] / tr["roc_auc"] if tr["roc_auc"] > 0 else float("nan")
        else:
            out["tstr"] = out["trtr"] = out["tstr_trtr_auc"] = None
    else:
        syn_d, ref_d = nearest_distances(Fs, Fr), left_out_distances(Fr)
        med = float(np.median(ref_d))
        out["dcr_reference"] = "real leave-one-sample-out"
        out["dcr_ratio"] = float(np.median(syn_d)) / med if med > 0 else float("nan")
        out["closer_than_holdout"] = float(np.mean(syn_d < ref_d.min()))
        out["dcr"] = {"median_synthetic_to_train": float(np.median(syn_d)), "median_reference_to_train": med}
        out["_diag"] = {"synthetic_to_train": syn_d, "reference_to_train": ref_d,
                        "reference_label": "real → nearest other real (features)"}
        out["tstr"] = out["trtr"] = out["tstr_trtr_auc"] = None
    out["flags"] = compute_flags({"spread_ratio": out["diversity"], "dcr_ratio": out["dcr_ratio"],
                                  "c2st_auc": out["c2st_auc"]})
    return out


def _check_compatible(real: Dataset, other: Dataset, what: str) -> None:
    if real.feature_shape != other.feature_shape:
        raise InputError(f"the {what} have shape {other.feature_shape}, the real images {real.feature_shape}")
    keys = {str(v) for v in np.asarray(real.y, dtype=object).tolist()}
    if not keys & {str(v) for v in np.asarray(other.y, dtype=object).tolist()}:
        raise InputError(f"the {what} share no class with the real images")


def _like(ds: Dataset, X: np.ndarray, y: np.ndarray) -> Dataset:
    from dataclasses import replace

    return replace(ds, X=X, y=np.asarray(y), groups=None)


def _str_labels(ds: Dataset) -> Dataset:
    return _like(ds, ds.X, np.asarray([str(v) for v in np.asarray(ds.y, dtype=object).tolist()], dtype=object))


def _halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from vaelab.metrics.seed import split_halves

    return split_halves(np.asarray(y), None, seed)


def _take_per_class(ds: Dataset, counts: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    ys = np.asarray(ds.y).astype(str)
    idx = []
    for c, n in counts.items():
        pool = np.flatnonzero(ys == c)
        if len(pool) and n:
            idx.append(rng.choice(pool, size=n, replace=n > len(pool)))
    return np.sort(np.concatenate(idx)) if idx else np.zeros(0, dtype=int)


def blur_images(X: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``sigma`` pixels over height and width of every image (n, H, W[, C])."""
    from scipy.ndimage import gaussian_filter

    X = np.asarray(X, dtype=np.float64)
    s = (0, sigma, sigma) + ((0,) if X.ndim == 4 else ())
    return gaussian_filter(X, sigma=s, mode="nearest")


def reference_sets(real: Dataset, synthetic: Dataset, holdout: Dataset | None, *, seed: int = 0,
                   blur_sigma: float = 1.0) -> dict[str, tuple[Dataset, Dataset, Dataset | None]]:
    """``{row: (real, "synthetic", holdout)}`` for the reference rows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    counts = {str(k): int(v) for k, v in zip(*np.unique(np.asarray(synthetic.y).astype(str), return_counts=True),
                                               strict=True)}
    rows: dict[str, tuple[Dataset, Dataset, Dataset | None]] = {}
    if holdout is not None and holdout.n >= 4:
        a, b = _halves(holdout.y, seed)
        rows["real"] = (real, holdout.subset(a), holdout.subset(b))
    else:
        a, b = _halves(real.y, seed)
        rows["real"] = (real.subset(b), real.subset(a), None)
    ys = np.asarray(real.y).astype(str)
    labels = [c for c in counts if np.any(ys == c)]
    means = {c: real.X[ys == c].astype(np.float64).mean(axis=0) for c in labels}
    y_mean = np.concatenate([[c] * counts[c] for c in labels])
    X_mean = np.stack([means[c] for c in y_mean]) if len(y_mean) else real.X[:0]
    if real.spec is not None and real.spec.dtype == "uint8":
        X_mean = np.round(X_mean)
    rows["class_mean"] = (real, _like(real, X_mean, np.asarray(y_mean, dtype=object)), holdout)
    pick = _take_per_class(real, counts, rng)
    rows["train_copies"] = (real, real.subset(pick), holdout)
    src = holdout if holdout is not None else real
    blurred = blur_images(src.X, blur_sigma)
    if real.spec is not None and real.spec.dtype == "uint8":
        blurred = np.round(blurred)
    rows["blurred_real"] = (real, _like(src, blurred, src.y), holdout)
    return rows


def evaluate_images(real: Dataset, synthetic: Dataset, *, holdout: Dataset | None = None, seed: int = 0,
                    c2st_folds: int = 5, cnn_epochs: int = 15, prdc_k: int = 5, feature_epochs: int = 10,
                    references: bool = True, blur_sigma: float = 1.0, diagnostics: bool = False,
                    extractor: Any = None, features: Any = None) -> dict[str, Any]:
    """All image metrics for ``synthetic`` against ``real`` (the generator's training images), with the
    reference rows; ``holdout`` = real images the generator never saw (needed for TSTR/TRTR)."""
    import vaelab.modalities.image  # noqa: F401  (registers the image feature network)
    from vaelab.metrics.features import get_extractor

    _check_compatible(real, synthetic, "synthetic images")
    if holdout is not None:
        _check_compatible(real, holdout, "holdout images")
    # labels compared as text: a generated npz stores '0' for the class 0 of a MedMNIST file
    real, synthetic = _str_labels(real), _str_labels(synthetic)
    holdout = None if holdout is None else _str_labels(holdout)
    if real.n < 4 or synthetic.n < 2:
        raise InputError(f"image evaluation needs at least 4 real and 2 synthetic images, got {real.n} and {synthetic.n}")
    folds = min(c2st_folds, real.n, synthetic.n)
    if extractor is not None:
        ext = extractor
    elif features is None:
        ext = get_extractor(f"image-cnn:epochs={int(feature_epochs)}", seed=seed).fit(real.X, real.y)
    else:
        ext = get_extractor(features, seed=seed, kind="image").fit(real.X, real.y)
    kw = {"seed": seed, "c2st_folds": max(2, folds), "cnn_epochs": cnn_epochs, "prdc_k": prdc_k}
    result = _image_metrics(real, synthetic, holdout, ext, trtr=None, **kw)
    diag = result.pop("_diag")
    result["modality"] = "image"
    result["seed"] = seed
    result["features"] = ext.describe()
    result["classifier"] = {"name": "small CNN", "epochs": cnn_epochs, "c2st_folds": kw["c2st_folds"],
                            "tstr_steps": cnn_steps(real.n, cnn_epochs), "standardise": CNN_STANDARDISE}
    notes = []
    if holdout is None:
        notes.append("tstr/trtr need real images the generator never saw: pass --holdout")
    if references:
        refs = {}
        for name, (r, s, h) in reference_sets(real, synthetic, holdout, seed=seed, blur_sigma=blur_sigma).items():
            same_real = r is real and (h is holdout)
            row = _image_metrics(r, s, h, ext, trtr=result.get("trtr") if same_real else None, **kw)
            row.pop("_diag")
            raised = {k for k, f in row["flags"].items() if f["raised"]}
            row["expected_flags"] = sorted(EXPECTED_FLAGS[name])
            row["as_expected"] = raised == EXPECTED_FLAGS[name]
            refs[name] = row
        result["references"] = refs
        result["reference_notes"] = {
            "real": "half of the holdout vs the training images (other half: holdout)" if holdout is not None and
            holdout.n >= 4 else "half of the training images vs the other half",
            "blurred_real": f"{'holdout' if holdout is not None else 'training'} images, Gaussian blur sigma "
                            f"{blur_sigma} px",
        }
    result["notes"] = notes
    if diagnostics:
        result["_diagnostics"] = diag
    return result
