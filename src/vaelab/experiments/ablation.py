"""``vaelab ablate``: every model × seed × (group-aware) fold, scored on the held-out fold.

For each cell (model, seed, fold): the preprocessing and the generator are fitted on the
training part only; the generator draws as many samples per class as the training part has;
the metrics compare them with the held-out fold, real data the generator never saw:

``c2st_auc`` (C2ST ROC AUC, held-out real vs synthetic, random forest), ``precision``,
``recall``, ``density``, ``coverage`` (PRDC, k=5), ``mmd`` and ``mmd_p`` (unbiased MMD², RBF with
the median bandwidth, and its permutation p-value), ``frechet`` (Fréchet distance on PCA scores
of the held-out fold), ``diversity`` (mean over classes of the spread ratio synthetic/held-out),
``dcr_ratio`` and ``closer_than_holdout`` (DCR synthetic→train against held-out→train),
``tstr`` (train on synthetic, balanced accuracy on held-out), ``trtr`` (train on the real
training part, same test: the reference) and ``class_specificity``. Their goals and how to read
them come from the metric registry (:mod:`vaelab.metrics.registry`) and are stored in
``ablation.json`` under ``metric_goals``. The distribution metrics and DCR run on the features
of ``features`` (:mod:`vaelab.metrics.features`), fitted on each cell's real training part.

Images (samples of kind image): the feature space defaults to the image domain network
(``image-cnn``, fitted on the cell's real training part), the C2ST classifier and the TSTR/TRTR
classifier are the small CNN on the pixels (:mod:`vaelab.modalities.image.cnn`), and the
diversity is measured in the features. The C2ST CNN and the TSTR/TRTR CNN are separate objects:
the TSTR/TRTR CNN can take the chance-plateau guard of ``vaelab evaluate`` (:data:`UTILITY_CNN_RESTARTS`,
``cnn_restarts`` of :func:`cell_metrics`: a CNN whose training loss ends at >= 0.9 x the label entropy
is retrained with other seeds, the same budget), the C2ST CNN never: a C2ST network at chance is a
result (real and synthetic images indistinguishable), not a failed fit. The guard is off by default
(measured, benchmarks/RESULTS.md, issue 11, session 16, fourth helper): at ablate's budget (15 epochs
of the training part, raw pixels) 18 of 24 TSTR/TRTR CNNs on 400 textured shapes ended at the plateau,
so retraining with other seeds is no fix there (2 of the 18 retrained ended lower, at <= 1/K + 0.1).
When it is on, image cells carry the setting (``cnn_restarts``), so ``--resume`` never mixes cells
computed without the guard with cells computed with it; off, every cell ID is as before.
Both image CNNs standardise their inputs with one mean and sd per channel of their own training rows
(:data:`CNN_STANDARDISE`, as ``vaelab evaluate``'s; issue 11, session 17): image cells carry ``cnn_standardise``, so
``--resume`` never mixes them with cells stored before it (a stored cell without the key runs on the raw pixels).

All models of one ablation share one preprocessing (``choose_preprocess``), so the numbers
are in the same space. Paired two-sided Wilcoxon signed-rank tests over the (seed, fold)
cells compare every model with the first one, metric by metric.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from vaelab import __version__
from vaelab.data.dataset import Dataset
from vaelab.experiments.common import (
    build_generator,
    choose_preprocess,
    class_counts,
    data_summary,
    jsonable,
    make_splits,
    model_overrides,
    parse_names,
    shared_data,
    start_cell,
    write_result_folder,
)
from vaelab.experiments.runner import is_failure, run_cells
from vaelab.experiments.stats import paired_wilcoxon, summarise
from vaelab.metrics.registry import ABLATION_METRICS, metric
from vaelab.reporting.tables import ablation_csv, ablation_table

#: metric key -> short goal, in table order (from the metric registry)
METRICS: dict[str, str] = {k: metric(k).short_goal for k in ABLATION_METRICS}

#: how many times the image TSTR/TRTR CNN is retrained when it ends its budget at chance on its training rows
#: (``restarts`` of SmallCNNClassifier, 2 in ``vaelab evaluate``); the C2ST CNN is never retrained. 0: an option,
#: not the default (benchmarks/RESULTS.md, issue 11, session 16, fourth helper; see the module docstring)
UTILITY_CNN_RESTARTS = 0

#: ``standardise`` of both image CNNs (C2ST and TSTR/TRTR): one mean and sd per channel fitted on each CNN's own
#: training rows (:class:`~vaelab.modalities.image.cnn.SmallCNNClassifier`). On, image cells carry ``cnn_standardise``
#: (a cell stored without it ran on the pixels as they come, and runs so on ``--resume``). On since issue 11,
#: session 17 (benchmarks/RESULTS.md; see the module docstring)
CNN_STANDARDISE = True


def cell_metrics(X_train: np.ndarray, y_train: np.ndarray, X_synth: np.ndarray, y_synth: np.ndarray,
                 X_test: np.ndarray, y_test: np.ndarray, *, seed: int, groups_test: np.ndarray | None = None,
                 c2st_trees: int = 300, mmd_permutations: int = 200, features: str | None = None,
                 cnn_restarts: int = UTILITY_CNN_RESTARTS,
                 cnn_standardise: bool = CNN_STANDARDISE) -> tuple[dict[str, float], dict[str, str]]:
    """All ablation metrics of one cell; returns ``(values, errors)`` — a metric that fails is in ``errors``.

    Real reference for the distribution metrics is the held-out fold ``X_test``; they and DCR
    run on ``features`` (an extractor name, fitted on the real training part ``X_train``).
    ``cnn_restarts`` (images only): ``restarts`` of the TSTR/TRTR CNN (:data:`UTILITY_CNN_RESTARTS`; 0: never
    retrained); the C2ST CNN is never retrained. ``cnn_standardise`` (images only): ``standardise`` of both CNNs
    (:data:`CNN_STANDARDISE`).
    """
    from sklearn.ensemble import RandomForestClassifier

    from vaelab.experiments.splits import label_keys
    from vaelab.metrics.distribution import c2st, frechet_distance, mmd, prdc
    from vaelab.metrics.diversity import MIN_IMAGES_PER_CLASS, spread_ratio
    from vaelab.metrics.features import get_extractor
    from vaelab.metrics.novelty import dcr
    from vaelab.metrics.utility import class_specificity, trtr, tstr

    ytr, ys, yte = label_keys(y_train), label_keys(y_synth), label_keys(y_test)
    values: dict[str, float] = {}
    errors: dict[str, str] = {}

    def attempt(keys: tuple[str, ...], fn) -> None:
        try:
            out = fn()
            for k in keys:
                values[k] = float(out[k]) if isinstance(out, dict) else float(out)
        except Exception as e:  # noqa: BLE001 - recorded per metric, reported with the results
            for k in keys:
                errors[k] = f"{e.__class__.__name__}: {' '.join(str(e).split())}"

    image = _images(X_train)
    forest: Any = RandomForestClassifier(n_estimators=int(c2st_trees), random_state=seed, n_jobs=1)
    util_clf: Any = None
    if image:  # the image domain network as feature space; the small CNN on the pixels as classifier
        import vaelab.modalities.image  # noqa: F401  (registers image-cnn)
        from vaelab.modalities.image.cnn import SmallCNNClassifier

        shape = tuple(np.shape(X_train)[1:])
        scale = bool(cnn_standardise)
        forest = SmallCNNClassifier(image_shape=shape, random_state=seed, standardise=scale)
        util_clf = SmallCNNClassifier(image_shape=shape, random_state=seed, restarts=int(cnn_restarts),
                                      standardise=scale)
    ext = get_extractor(features, seed=seed, kind="image" if image else None).fit(X_train, y_train)
    F_train, F_synth, F_test = ext.transform(X_train), ext.transform(X_synth), ext.transform(X_test)
    n_c2st = min(len(X_test), len(X_synth))
    c2st_folds = max(2, min(5, n_c2st // 2))
    C_test, C_synth = (X_test, X_synth) if image else (F_test, F_synth)
    attempt(("c2st_auc",), lambda: c2st(C_test, C_synth, classifier=forest, folds=c2st_folds, seed=seed,
                                        groups_real=groups_test))
    attempt(("precision", "recall", "density", "coverage"), lambda: prdc(F_test, F_synth, k=5))
    attempt(("mmd", "mmd_p"), lambda: (lambda r: {"mmd": r["mmd2"], "mmd_p": r["p_value"]})(
        mmd(F_test, F_synth, n_permutations=mmd_permutations, seed=seed)))
    attempt(("frechet",), lambda: frechet_distance(F_test, F_synth, seed=seed))

    def diversity() -> float:
        ratios = [r for r in spread_ratio(*((F_test, F_synth) if image else (X_test, X_synth)), yte, ys,
                                          min_per_class=MIN_IMAGES_PER_CLASS if image else 2).values()
                  if np.isfinite(r)]
        if not ratios:
            raise ValueError("no class with a spread ratio (too few samples per class)")
        return float(np.mean(ratios))

    attempt(("diversity",), diversity)
    attempt(("dcr_ratio", "closer_than_holdout"), lambda: dcr(F_synth, F_train, F_test))
    attempt(("tstr",), lambda: tstr(X_synth, ys, X_test, yte, classifier=util_clf, seed=seed))
    attempt(("trtr",), lambda: trtr(X_train, ytr, X_test, yte, classifier=util_clf, seed=seed))
    attempt(("class_specificity",), lambda: class_specificity(X_train, ytr, X_synth, ys, seed=seed))
    return values, errors


def ablation_cell(shared: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """One (model, seed, fold) cell; everything seeded from ``cell_seed(seed, fold)``."""
    cs, d = start_cell(shared, cell)
    gen = build_generator(cell["model"], cell["overrides"])
    t0 = time.perf_counter()
    gen.fit(d["X_train"], d["y_train"], seed=cs)
    t1 = time.perf_counter()
    Xs, ys = gen.sample(class_counts(d["y_train"]), seed=cs)
    t2 = time.perf_counter()
    values, errors = cell_metrics(d["X_train"], d["y_train"], Xs, ys, d["X_test"], d["y_test"], seed=cs,
                                  groups_test=d["groups_test"], c2st_trees=cell["c2st_trees"],
                                  mmd_permutations=cell["mmd_permutations"], features=cell.get("features"),
                                  cnn_restarts=int(cell.get("cnn_restarts", 0)),
                                  cnn_standardise=bool(cell.get("cnn_standardise", False)))
    return {"metrics": values, "errors": errors, "n_train": len(d["X_train"]), "n_test": len(d["X_test"]),
            "n_synthetic": len(Xs), "seconds": {"fit": t1 - t0, "sample": t2 - t1,
                                                "metrics": time.perf_counter() - t2}}


def plan_ablation(ds: Dataset, models: str | list[str], *, seeds: int = 2, folds: int = 5,
                  preprocess: str | None = None, epochs: int | None = None,
                  model_config: dict[str, dict[str, Any]] | None = None, c2st_trees: int = 300,
                  mmd_permutations: int = 200, features: str | None = None) -> dict[str, Any]:
    """Check the options and lay out the grid, one cell per (model, seed, fold); nothing is run."""
    from vaelab.core.errors import InputError
    from vaelab.metrics.features import default_features, get_extractor
    from vaelab.models.base import check_training_data

    names = parse_names(models)
    if features is None:
        features = default_features(ds.spec.kind)
    get_extractor(features)  # an unknown name or bad parameters: one-line error before any cell runs
    check_training_data(ds.X, ds.y)
    if int(c2st_trees) < 1 or int(mmd_permutations) < 0:
        raise InputError("--c2st-trees must be >= 1 and --mmd-permutations >= 0")
    prep = choose_preprocess(names, preprocess, ds.spec)
    splits = make_splits(ds, folds=folds, seeds=seeds)
    overrides = {n: model_overrides(n, epochs, (model_config or {}).get(n)) for n in names}
    shared = shared_data(ds, splits, prep)
    base = {"c2st_trees": int(c2st_trees), "mmd_permutations": int(mmd_permutations), "features": features}
    if UTILITY_CNN_RESTARTS and _images(ds.X):  # images only: the cell IDs of other data stay as they were
        base["cnn_restarts"] = UTILITY_CNN_RESTARTS
    if CNN_STANDARDISE and _images(ds.X):
        base["cnn_standardise"] = True
    cells = [{"model": m, "seed": s, "fold": k, "overrides": overrides[m], **base}
             for m in names for s in range(int(seeds)) for k in range(int(folds))]
    return {"names": names, "preprocess": prep, "overrides": overrides, "shared": shared, "cells": cells,
            "features": features}


def _images(X: np.ndarray) -> bool:
    """Samples ``X`` of image shape ((H, W) or (H, W, C)): the CNN classifiers of :func:`cell_metrics`."""
    from vaelab.modalities.image.io import is_image_shape

    return np.ndim(X) >= 3 and is_image_shape(tuple(np.shape(X)[1:]))


def estimate_ablation(ds: Dataset, models: str | list[str], *, jobs: int = 1, out: str | Path | None = None,
                      **options: Any) -> dict[str, Any]:
    """Time the (seed 0, fold 0) cell of every model and extrapolate (``vaelab ablate --estimate``)."""
    from vaelab.experiments.estimate import estimate_cells
    from vaelab.experiments.grid import CellStore

    plan = plan_ablation(ds, models, **options)
    store = None if out is None else CellStore(out)
    return estimate_cells(ablation_cell, plan["cells"], plan["shared"], lambda c: str(c["model"]), jobs=jobs,
                          store=store)


def run_ablation(ds: Dataset, models: str | list[str], *, seeds: int = 2, folds: int = 5,
                 preprocess: str | None = None, epochs: int | None = None,
                 model_config: dict[str, dict[str, Any]] | None = None, c2st_trees: int = 300,
                 mmd_permutations: int = 200, jobs: int = 1, backend: str = "local", address: str | None = None,
                 progress: bool = False, features: str | None = None, out: str | Path | None = None,
                 resume: bool = False) -> dict[str, Any]:
    """Run the ablation grid and summarise it (see module docstring). Returns the ``ablation.json`` dict.

    ``out``: each cell's result is written to ``out/cells/`` as it finishes; with ``resume`` the
    cells found there are not run again.
    """
    from vaelab.experiments.grid import CellStore

    plan = plan_ablation(ds, models, seeds=seeds, folds=folds, preprocess=preprocess, epochs=epochs,
                         model_config=model_config, c2st_trees=c2st_trees, mmd_permutations=mmd_permutations,
                         features=features)
    names, cells, overrides, features = plan["names"], plan["cells"], plan["overrides"], plan["features"]
    store = None if out is None else CellStore(out, fresh=not resume)
    t0 = time.perf_counter()
    raw = run_cells(ablation_cell, cells, plan["shared"], jobs=jobs, backend=backend, address=address,
                    progress=progress, desc="ablation", store=store, resume=resume)
    wall = time.perf_counter() - t0
    return summarise_ablation(ds, names, cells, raw, seeds=int(seeds), folds=int(folds), preprocess=plan["preprocess"],
                              settings={"epochs": epochs, "c2st_trees": int(c2st_trees),
                                        "mmd_permutations": int(mmd_permutations), "overrides": overrides,
                                        "backend": backend, "jobs": int(jobs), "features": features,
                                        **({"cnn_restarts": int(cells[0].get("cnn_restarts", 0)),
                                            "cnn_standardise": bool(cells[0].get("cnn_standardise", False))}
                                           if cells and _images(ds.X) else {})}, wall=wall)


def summarise_ablation(ds: Dataset, names: list[str], cells: list[dict[str, Any]], raw: list[dict[str, Any]], *,
                       seeds: int, folds: int, preprocess: str, settings: dict[str, Any],
                       wall: float) -> dict[str, Any]:
    per_model: dict[str, dict[str, list]] = {n: {m: [] for m in METRICS} for n in names}
    failures: list[dict[str, Any]] = []
    timing: dict[str, list] = {n: [] for n in names}
    for cell, res in zip(cells, raw, strict=True):
        where = {"model": cell["model"], "seed": cell["seed"], "fold": cell["fold"]}
        if is_failure(res):
            failures.append({**where, "metric": None, "error": res["error"]})
            for m in METRICS:
                per_model[cell["model"]][m].append(None)
            continue
        timing[cell["model"]].append(res["seconds"])
        for m in METRICS:
            per_model[cell["model"]][m].append(res["metrics"].get(m))
        for m, err in sorted(res["errors"].items()):
            failures.append({**where, "metric": m, "error": err})
    results = {n: {m: summarise(v) for m, v in per_model[n].items()} for n in names}
    first = names[0]
    tests = {n: {m: paired_wilcoxon(per_model[n][m], per_model[first][m]) for m in METRICS if m != "trtr"}
             for n in names[1:]}
    n_failed_cells = sum(1 for r in raw if is_failure(r))
    return jsonable({
        "command": "ablate",
        "vaelab_version": __version__,
        "data": data_summary(ds),
        "models": names,
        "reference_model": first,
        "seeds": seeds,
        "folds": folds,
        "preprocess": preprocess,
        "settings": settings,
        "metric_goals": METRICS,
        "results": results,
        "tests_vs_reference": tests,
        "n_cells": len(cells),
        "n_failed_cells": n_failed_cells,
        "failures": failures,
        "notes": [
            "values are per (seed, fold) cell in seed-major order; None marks a failed cell or metric "
            "(counted in n_failed, never dropped silently)",
            "distribution metrics compare the synthetic samples with the held-out fold; preprocessing and "
            "generator are fitted on the training part only",
            f"tests: two-sided Wilcoxon signed-rank over paired cells vs {first}; uncorrected p-values "
            f"(smallest attainable with n pairs: 2/2^n)",
        ],
        "timing": {"wall_seconds": wall,
                   "mean_fit_seconds": {n: (float(np.mean([t["fit"] for t in ts])) if ts else None)
                                        for n, ts in timing.items()}},
    })


def write_ablation(result: dict[str, Any], out: str | Path) -> Path:
    """``ablation.json``, ``ablation.csv``, ``ablation.txt`` and ``ablation.png`` into ``out`` (atomic)."""
    from vaelab.reporting.figures import ablation_summary

    return write_result_folder(out, "ablation", result, ablation_csv(result), ablation_table(result), ablation_summary)


__all__ = ["METRICS", "ablation_cell", "ablation_table", "cell_metrics", "estimate_ablation", "plan_ablation",
           "run_ablation", "write_ablation"]
