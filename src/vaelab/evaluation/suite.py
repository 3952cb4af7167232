"""Evaluate synthetic data against real data: numbers (metrics.json), a table and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vaelab import __version__
from vaelab.core.atomic import atomic_dir, write_text
from vaelab.core.errors import InputError
from vaelab.core.jsonable import jsonable
from vaelab.data.dataset import Dataset
from vaelab.evaluation.results import EvaluationResult
from vaelab.metrics.features import FeatureExtractor, get_extractor
from vaelab.metrics.seed import seed_metrics, seed_references
from vaelab.reporting.tables import format_report, seed_table_csv, summary_csv


def _keys(y: np.ndarray) -> set[str]:
    return {str(v) for v in np.asarray(y, dtype=object).tolist()}


def check_compatible(real: Dataset, synthetic: Dataset, what: str = "synthetic data") -> None:
    if real.feature_shape != synthetic.feature_shape:
        raise InputError(f"{what} have {synthetic.feature_shape} features per sample, the real data {real.feature_shape}")
    if not _keys(real.y) & _keys(synthetic.y):
        raise InputError(f"{what} share no class with the real data (real: {sorted(_keys(real.y))[:5]}, "
                         f"{what}: {sorted(_keys(synthetic.y))[:5]})")


def class_notes(real: Dataset, synthetic: Dataset, holdout: Dataset | None = None) -> list[str]:
    """One note per way the label sets disagree, so a NaN spread ratio or a lowered TSTR has its reason
    next to it: real classes with fewer than 2 synthetic samples, synthetic classes the real data lack,
    holdout classes the real training data lack."""
    rk, sk = _keys(real.y), _keys(synthetic.y)
    s_counts = {k: int(n) for k, n in zip(*np.unique(np.asarray(synthetic.y, dtype=object).astype(str),
                                                     return_counts=True), strict=True)}
    notes = []
    few = sorted(k for k in rk if s_counts.get(k, 0) < 2)
    if few:
        notes.append(f"class(es) {few} have fewer than 2 synthetic samples: their spread ratio is NaN"
                     + (" and TSTR's classifier never predicts them" if holdout is not None else ""))
    if sk - rk:
        notes.append(f"synthetic class(es) {sorted(sk - rk)} are not in the real data: their spread ratio is NaN")
    if holdout is not None and _keys(holdout.y) - rk:
        notes.append(f"holdout class(es) {sorted(_keys(holdout.y) - rk)} are not in the real training data: "
                     f"TSTR and TRTR count them with recall 0")
    return notes


def evaluate_arrays(real: Dataset, synthetic: Dataset, *, holdout: Dataset | None = None, seed: int = 0,
                    c2st_classifier: Any = None, c2st_folds: int = 5, prdc_k: int = 5,
                    mmd_permutations: int = 200, diagnostics: bool = False,
                    features: str | FeatureExtractor | None = None) -> dict[str, Any]:
    """All issue-3 metrics for ``synthetic`` against ``real`` (all three already in the same space).

    ``real`` is the data the generator was trained on; ``holdout`` (optional) is real data it
    never saw. Without a holdout, TSTR/TRTR are not computed (they need unseen real data)
    and the novelty reference is each real sample's distance to its nearest other real
    sample of another group (leave-one-group-out), stated in ``dcr_reference``.

    The distribution metrics (C2ST, PRDC, MMD, Fréchet) and DCR run on features from
    ``features`` (:func:`vaelab.metrics.features.get_extractor`: a registered name such as
    ``"identity"`` or ``"pca:20"``, an extractor, or ``None`` for the default of the data's
    kind: ``identity`` for spectra), fitted on ``real`` only; its description is stored
    under ``features``. Diversity, TSTR/TRTR, class specificity and the seed metrics use
    the samples themselves.

    Returns the ``metrics.json`` dict (:class:`~vaelab.evaluation.results.EvaluationResult`
    reads it); with ``diagnostics=True`` also ``_diagnostics`` (raw distances for the
    figures), which :func:`write_report` does not store.
    """
    from vaelab.metrics import (
        c2st_breakdown,
        class_specificity,
        compute_flags,
        dcr_breakdown,
        frechet_distance,
        left_out_dcr,
        left_out_distances,
        mmd,
        nearest_distances,
        prdc,
        spread_ratio,
        trtr,
        tstr,
    )

    check_compatible(real, synthetic)
    if holdout is not None:
        check_compatible(real, holdout, "holdout data")
    R, S = real.X, synthetic.X
    extractor = get_extractor(features, seed=seed, kind=real.spec.kind).fit(R, real.y)
    FR, FS = extractor.transform(R), extractor.transform(S)
    FH = None if holdout is None else extractor.transform(holdout.X)
    notes: list[str] = []
    c2 = c2st_breakdown(FR, FS, classifier=c2st_classifier, folds=c2st_folds, seed=seed, groups_real=real.groups,
                        groups_synthetic=synthetic.groups if real.groups is not None else None)
    pr = prdc(FR, FS, k=prdc_k)
    mm = mmd(FR, FS, n_permutations=mmd_permutations, seed=seed)
    result: dict[str, Any] = {
        "n_real": real.n,
        "n_synthetic": synthetic.n,
        "n_holdout": None if holdout is None else holdout.n,
        "seed": seed,
        "features": extractor.describe(),
        "c2st_auc": c2["auc"],
        "c2st": {k: v for k, v in c2.items() if k != "auc"},
        "precision": pr["precision"],
        "recall": pr["recall"],
        "density": pr["density"],
        "coverage": pr["coverage"],
        "prdc_k": prdc_k,
        "mmd": mm["mmd2"],
        "mmd_p_value": mm["p_value"],
        "mmd_details": {k: v for k, v in mm.items() if k not in ("mmd2", "p_value")},
        "frechet": frechet_distance(FR, FS, seed=seed),
    }
    result["diversity"] = {str(k): float(v) for k, v in spread_ratio(R, S, real.y, synthetic.y).items()}
    diag: dict[str, Any] = {}
    if holdout is not None:
        d = dcr_breakdown(FS, FR, FH)
        result["dcr_reference"] = "holdout"
        diag["synthetic_to_train"], diag["reference_to_train"] = d["synthetic_to_train"], d["holdout_to_train"]
        diag["reference_label"] = "holdout → train"
        result["dcr_ratio"] = d["dcr_ratio"]
        result["closer_than_holdout"] = d["closer_than_holdout"]
        result["dcr"] = {k: v for k, v in d.items() if k not in ("synthetic_to_train", "holdout_to_train")}
        # what real samples left out of the training set score on this holdout (leave-one-group-out with groups):
        # a generator as far from the training set as a left-out real sample scores this, not 1 (see left_out_dcr)
        result["dcr"]["left_out_ratio"] = left_out_dcr(FR, FH, real.groups)
        result["tstr"] = tstr(S, synthetic.y, holdout.X, holdout.y, seed=seed)
        result["trtr"] = trtr(R, real.y, holdout.X, holdout.y, seed=seed)
    else:
        syn_d = nearest_distances(FS, FR)
        ref_d = left_out_distances(FR, real.groups)
        med_ref = float(np.median(ref_d))
        result["dcr_reference"] = "real leave-one-" + ("group" if real.groups is not None else "sample") + "-out"
        result["dcr_ratio"] = float(np.median(syn_d)) / med_ref if med_ref > 0 else float("nan")
        result["closer_than_holdout"] = float(np.mean(syn_d < ref_d.min()))
        result["dcr"] = {"median_synthetic_to_train": float(np.median(syn_d)), "median_reference_to_train": med_ref}
        diag["synthetic_to_train"], diag["reference_to_train"] = syn_d, ref_d
        diag["reference_label"] = "real → nearest other real"
        result["tstr"] = None
        result["trtr"] = None
        notes.append("tstr/trtr need real data the generator never saw: pass --holdout")
        notes.append("no holdout: the novelty reference is each real sample's nearest other real sample"
                     + (" of another group" if real.groups is not None else ""))
    notes.extend(class_notes(real, synthetic, holdout))
    result["class_specificity"] = class_specificity(R, real.y, S, synthetic.y, seed=seed)
    result["seed_metrics"] = seed_metrics(R, real.y, S, synthetic.y, seed=seed)
    result["references"] = seed_references(R, real.y, real.groups, seed=seed)
    result["flags"] = compute_flags({"spread_ratio": result["diversity"], "dcr_ratio": result["dcr_ratio"],
                                     "c2st_auc": result["c2st_auc"]})
    result["notes"] = notes
    if diagnostics:
        result["_diagnostics"] = diag
    return result


def write_report(result: EvaluationResult | dict[str, Any], real: Dataset, synthetic: Dataset, out: str | Path, *,
                 axis: np.ndarray | None = None, holdout: Dataset | None = None) -> Path:
    """Write ``metrics.json``, ``metrics.csv``, ``report.txt``, the figures and ``report.html`` into ``out`` (atomic)."""
    from vaelab.reporting.report import write_report_html

    out = Path(out)
    with atomic_dir(out) as tmp:
        write_report_files(result, real, synthetic, tmp, axis=axis, holdout=holdout)
        write_report_html(tmp, name=out)
    return out


def write_report_files(result: EvaluationResult | dict[str, Any], real: Dataset, synthetic: Dataset, tmp: Path, *,
                       axis: np.ndarray | None = None, holdout: Dataset | None = None) -> None:
    """The files of :func:`write_report`, written into an existing folder.

    ``metrics.json`` (everything), ``metrics.csv`` (one row per metric and flag),
    ``seed_metrics.csv`` (the seed table with its reference rows), ``report.txt``, and the
    figures ``real_vs_synthetic.png``, ``pca.png``, ``nn_distances.png``.
    """
    from vaelab.reporting.figures import nn_distance_histogram, pca_scatter, real_vs_synthetic

    diag = {} if isinstance(result, EvaluationResult) else result.get("_diagnostics", {})
    clean = EvaluationResult.coerce(
        result if isinstance(result, EvaluationResult) else {k: v for k, v in result.items() if k != "_diagnostics"})
    write_text(tmp / "metrics.json", json.dumps(jsonable(clean.to_dict(), nonfinite="keep"), indent=1,
                                                allow_nan=True) + "\n")
    write_text(tmp / "metrics.csv", summary_csv(clean))
    write_text(tmp / "seed_metrics.csv", seed_table_csv(clean))
    write_text(tmp / "report.txt", format_report(clean) + "\n")
    ax = axis if axis is not None else real.axis
    real_vs_synthetic(real.X, real.y, synthetic.X, synthetic.y, tmp / "real_vs_synthetic.png", axis=ax,
                      axis_label="spectral axis" if ax is not None else "feature index",
                      title="real (grey) vs synthetic (colour)")
    if len(real.X) > 2:
        pca_scatter(real.X, real.y, synthetic.X, synthetic.y, tmp / "pca.png",
                    holdout=None if holdout is None else holdout.X)
    if "synthetic_to_train" in diag:
        nn_distance_histogram(diag["synthetic_to_train"], diag["reference_to_train"], tmp / "nn_distances.png",
                              reference_label=diag["reference_label"])


def evaluate_files(real: str | Path, synthetic: str | Path, *, out: str | Path, holdout: str | Path | None = None,
                   run: str | Path | None = None, seed: int = 0, label_column: str | int | None = None,
                   group_column: str | int | None = None,
                   features: str | FeatureExtractor | None = None, split: str | None = None,
                   holdout_split: str | None = None, command_line: str | None = None) -> dict[str, Any]:
    """``vaelab evaluate``: load the files, bring the real ones into model space, compute, write.

    ``split`` / ``holdout_split``: parts of MedMNIST-layout npz files (default train / test). Images go
    to :func:`vaelab.evaluation.image.evaluate_images`.
    ``metrics.json`` also records what was compared (``data``: the real data's summary, ``model`` and
    ``preprocess`` of the run, ``command_line``) for the report's header.
    """
    from vaelab.data.io import load_data
    from vaelab.modalities.image.io import MEDMNIST_SPLITS, npz_kind
    from vaelab.runs import load_run

    real_ds = load_data(real, label_column=label_column, group_column=group_column, split=split)
    synth_ds = load_data(synthetic)
    if holdout and holdout_split is None and Path(holdout).suffix.lower() == ".npz" and Path(holdout).is_file() \
            and npz_kind(Path(holdout)) == "medmnist":
        holdout_split = "test"
    if holdout_split is not None and holdout_split not in MEDMNIST_SPLITS:
        raise InputError(f"unknown split {holdout_split!r}; choose from {', '.join(MEDMNIST_SPLITS)}")
    hold_ds = load_data(holdout, label_column=label_column, group_column=group_column,
                        split=holdout_split) if holdout else None
    if real_ds.spec is not None and real_ds.spec.kind == "image":
        return _evaluate_image_files(real_ds, synth_ds, hold_ds, run=run, seed=seed, out=out, features=features,
                                     command_line=command_line)
    axis = real_ds.axis
    from vaelab.data.dataset import data_summary
    from vaelab.modalities.spectra.axis import check_same_axis

    provenance: dict[str, Any] = {"command": "evaluate", "vaelab_version": __version__, "command_line": command_line,
                                  "data": data_summary(real_ds), "model": None, "preprocess": None}
    if run is not None:
        r = load_run(run)
        provenance.update(model=r.meta.get("model"), preprocess=r.preprocessing.spec)
        real_ds = _with_X(real_ds, r.to_model_space(real_ds, "the real data"), r.axis)
        if hold_ds is not None:
            hold_ds = _with_X(hold_ds, r.to_model_space(hold_ds, "the holdout data"), r.axis)
        if synth_ds.feature_shape != r.model_feature_shape:
            raise InputError(f"the synthetic data have {synth_ds.feature_shape} features per sample, "
                             f"the run was trained on {r.model_feature_shape}")
        if r.spec.kind == "spectrum":
            check_same_axis(synth_ds.axis, r.axis, "the synthetic data", "the run's model space")
        axis = r.axis if r.axis is not None else axis
    elif real_ds.spec is not None and real_ds.spec.kind == "spectrum":
        for ds, what in ((synth_ds, "the synthetic data"), (hold_ds, "the holdout data")):
            if ds is not None:
                check_same_axis(ds.axis, real_ds.axis, what, "the real data")
    result = evaluate_arrays(real_ds, synth_ds, holdout=hold_ds, seed=seed, diagnostics=True, features=features)
    result.update(provenance)
    write_report(result, real_ds, synth_ds, out, axis=axis, holdout=hold_ds)
    result.pop("_diagnostics", None)
    return result


def _evaluate_image_files(real_ds: Dataset, synth_ds: Dataset, hold_ds: Dataset | None, *, run: str | Path | None,
                          seed: int, out: str | Path, features: Any = None,
                          command_line: str | None = None) -> dict[str, Any]:
    """Images: the metrics of :mod:`vaelab.evaluation.image` on the pixels as loaded (image models work on
    the pixels; a run is checked for the shape)."""
    from vaelab.data.dataset import data_summary
    from vaelab.evaluation.image import evaluate_images
    from vaelab.modalities.image.figures import class_grid, nearest_training
    from vaelab.reporting.figures import nn_distance_histogram
    from vaelab.reporting.image import format_image_report, image_summary_csv
    from vaelab.reporting.report import write_report_html
    from vaelab.runs import load_run

    provenance: dict[str, Any] = {"command": "evaluate", "vaelab_version": __version__, "command_line": command_line,
                                  "data": data_summary(real_ds), "model": None}
    if run is not None:
        r = load_run(run)
        provenance["model"] = r.meta.get("model")
        real_ds = _with_X(real_ds, r.to_model_space(real_ds, "the real data"))
        if hold_ds is not None:
            hold_ds = _with_X(hold_ds, r.to_model_space(hold_ds, "the holdout data"))
    result = evaluate_images(real_ds, synth_ds, holdout=hold_ds, seed=seed, diagnostics=True, features=features)
    diag = result.pop("_diagnostics")
    result.update(provenance)
    with atomic_dir(Path(out)) as tmp:
        write_text(tmp / "metrics.json", json.dumps(jsonable(result, nonfinite="keep"), indent=1, allow_nan=True) + "\n")
        write_text(tmp / "metrics.csv", image_summary_csv(result))
        write_text(tmp / "report.txt", format_image_report(result) + "\n")
        class_grid(real_ds.X, real_ds.y, synth_ds.X, synth_ds.y, tmp / "real_vs_synthetic.png", seed=seed)
        nearest_training(synth_ds.X, real_ds.X, tmp / "nearest_training.png", seed=seed)
        nn_distance_histogram(diag["synthetic_to_train"], diag["reference_to_train"], tmp / "nn_distances.png",
                              reference_label=diag["reference_label"])
        write_report_html(tmp, name=out)
    return result


def _with_X(ds: Dataset, X: np.ndarray, axis: np.ndarray | None = None) -> Dataset:
    """``ds`` with model-space samples ``X``; a new sample description when the shape changed (crop)."""
    from dataclasses import replace

    if X.shape[1:] == ds.X.shape[1:]:
        return replace(ds, X=X)
    spec = replace(ds.spec, shape=tuple(X.shape[1:]), axis=None if axis is None else tuple(np.ravel(axis).tolist()))
    return replace(ds, X=X, spec=spec, axis=axis)
