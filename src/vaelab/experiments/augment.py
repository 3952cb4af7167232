"""``vaelab augment``: does adding synthetic samples help a downstream classifier? Measured, not assumed.

For every (seed, fold) of a group-aware stratified K-fold (a new partition per seed):

1. the preprocessing is fitted on the training part only and applied to the test part;
2. the generator is fitted on the training part only and draws ``round(f × n_c)`` samples of
   every class ``c`` (``n_c`` its training count) for each factor ``f``. One draw at the
   largest factor is made and each factor takes the first samples of every class, so the
   synthetic sets are nested (factor 1 ⊂ factor 5) and the factors are compared on the same
   samples;
3. every classifier (``classifiers.py``) is trained on training part + synthetic samples and
   scored on the untouched test part: balanced accuracy and macro one-vs-rest ROC AUC. The
   random forest's bootstrap samples hold at most ``RF_BOOTSTRAP`` (2) × the real training count
   (exact up to factor 1; above, a documented approximation that keeps its cost from growing
   with the factor, chosen by measurement in benchmarks/RESULTS.md). Along the nested factors
   the logistic regression starts from the previous factor's solution (same optimum, fewer
   iterations). The small CNN (images) takes the same number of optimiser steps at every factor,
   15 epochs of the real training part (``cnn_budget = "real"``), so that the factors differ only in
   their training images: with a fixed number of epochs an augmented set of twice the size gets twice
   the steps, and the gain of "augmentation" is partly that of longer training (the TSTR finding of
   benchmarks/RESULTS.md, issue 11, session 7). Studies planned before this (no ``cnn_budget`` in their
   cells) have other cell IDs, so ``--resume`` never mixes the two.

Each cell (one generator on one (seed, fold), all factors and classifiers) is stored in
``OUT/cells/`` as it finishes (``grid.py``); ``--resume`` runs only the missing ones.

Factor 0 (no augmentation) is always included. The same cells are run for the classical
augmentations (``noise``, ``shift``, ``scale``, ``mixup``, ``smote``, those registered, the
studied model excluded) at ``classical_factors``: factor 1 by default (at every factor they were
five sixths of the default study's time), None for the model's factors; more can be added to a
finished study with ``--resume``. Per
classifier the *best classical augmentation* is the (generator, factor > 0) with the highest
mean balanced accuracy. It is chosen on the same folds it is then compared on, which flatters
it: the comparison "model vs best classical" is conservative for the model.

Other generators can join the same study as comparison rows (``compare``, ``--compare``):
each is run at the model's factors on the same (seed, fold) cells and reported under
``compared_results`` with paired tests against factor 0 and against the studied model at the
same factor (``compared_tests``). Every cell has a stable ID, so ``--compare`` or more
classical augmentations can be added to a finished study folder with ``--resume``: only the new
cells run, and one ``augment.json`` holds them all.

Statistics: paired two-sided Wilcoxon signed-rank tests over the folds × seeds values (zero
differences dropped; all zero -> p = 1) of every factor vs factor 0 and vs the best classical
augmentation. "Significant" means p < ``alpha`` after a Holm correction over the classifiers
tested at that factor (the question "does factor f help at least one classifier" asks C
questions). ``recommended_factor`` is the factor with the highest mean balanced accuracy
averaged over classifiers if it is significantly better than factor 0 for at least one
classifier, otherwise ``"0"``. With n pairs the exact test cannot give p below 2/2^n (0.0625
for 5 folds × 1 seed), so use at least 5 folds × 2 seeds.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from vaelab import __version__
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.experiments import DEFAULT_CLASSICAL_FACTORS, DEFAULT_CLASSIFIERS, DEFAULT_FACTORS
from vaelab.experiments.classifiers import CNN_RESTARTS, SCORES, fit_and_score, parse_classifiers
from vaelab.experiments.common import (
    build_generator,
    choose_preprocess,
    class_counts,
    data_summary,
    jsonable,
    make_splits,
    model_overrides,
    parse_names,
    scaled_counts,
    shared_data,
    start_cell,
    write_result_folder,
)
from vaelab.experiments.runner import is_failure, run_cells
from vaelab.experiments.splits import label_keys
from vaelab.experiments.stats import holm, min_wilcoxon_p, paired_wilcoxon, summarise
from vaelab.reporting.tables import augment_csv, augment_table

CLASSICAL = ("noise", "shift", "scale", "mixup", "smote")

# The random forest's bootstrap samples hold at most RF_BOOTSTRAP × the real training count
# (factors up to RF_BOOTSTRAP - 1 are fitted exactly as sklearn's default; above, each tree sees a
# subsample of the augmented set). Chosen by measurement: benchmarks/RESULTS.md, "profile".
RF_BOOTSTRAP: float | None = 2.0

# logreg's lbfgs starts from the previous (smaller, nested) factor's solution: the same optimum to
# lbfgs's tolerance in ~30 % fewer iterations (benchmarks/RESULTS.md, "profile"). A cell parameter,
# so cells computed without it are never mixed with cells computed with it on --resume.
LOGREG_WARM = True

# the small CNN's optimiser budget, the same at every factor: "real" = 15 epochs of the real training part
# (see the module docstring). A cell parameter of studies with the ``cnn`` classifier.
CNN_BUDGET = "real"


def parse_factors(spec: str | list[Any] | tuple[Any, ...]) -> list[tuple[str, float]]:
    """``"0,0.5,5"`` -> ``[("0", 0.0), ("0.5", 0.5), ("5", 5.0)]``; keys are the text as written.

    Factor 0 is added (first) when missing: every factor is compared with it.
    """
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [
        s.strip() if isinstance(s, str) else f"{float(s):g}" for s in spec]
    items = [s for s in items if s]
    if not items:
        raise InputError("no augmentation factor given")
    out: list[tuple[str, float]] = []
    for s in items:
        try:
            f = float(s)
        except ValueError:
            raise InputError(f"augmentation factor {s!r} is not a number") from None
        if not math.isfinite(f) or f < 0:
            raise InputError(f"augmentation factor {s!r} must be a finite number >= 0")
        if any(f == g for _, g in out):
            raise InputError(f"augmentation factor {s!r} given twice")
        out.append((s, f))
    if not any(f == 0 for _, f in out):
        out.insert(0, ("0", 0.0))
    return sorted(out, key=lambda kv: kv[1])


def augment_scores(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                   X_synth: np.ndarray | None, y_synth: np.ndarray | None, factors: list[tuple[str, float]],
                   classifiers: list[str], *, seed: int, trees: int = 200,
                   rf_bootstrap: float | None = None, logreg_warm: bool = False, cnn_budget: str | None = None,
                   cnn_restarts: int = CNN_RESTARTS) -> dict[str, dict[str, dict[str, Any]]]:
    """Scores ``{factor: {classifier: {metric: value} | {"error": ...}}}`` for one fold.

    ``X_synth``/``y_synth`` hold at least ``round(f × n_c)`` samples of each class for the
    largest factor; factor f uses the first ones of every class. A classifier that fails is
    recorded as an error for that (factor, classifier), the others go on. ``rf_bootstrap``: the
    random forest's bootstrap samples hold at most ``rf_bootstrap × len(X_train)`` samples
    (:data:`RF_BOOTSTRAP`; None: the whole augmented set). ``logreg_warm``: ``logreg`` starts
    lbfgs from the previous factor's solution (:data:`LOGREG_WARM`). ``cnn_budget``: ``"real"`` = the
    ``cnn`` classifier takes the optimiser steps of 15 epochs of ``X_train`` at every factor
    (:meth:`SmallCNNClassifier.steps_for <vaelab.modalities.image.cnn.SmallCNNClassifier.steps_for>`); None: 15
    epochs of each augmented set. ``cnn_restarts``: how many times a ``cnn`` still at chance on its (augmented)
    training rows is retrained (:data:`~vaelab.experiments.classifiers.CNN_RESTARTS`; 0: never).
    """
    if cnn_budget not in (None, "real"):
        raise InputError(f"cnn_budget must be 'real' or None, got {cnn_budget!r}")
    steps = None
    if cnn_budget == "real":
        from vaelab.modalities.image.cnn import SmallCNNClassifier

        steps = SmallCNNClassifier().steps_for(len(X_train))  # the defaults make_classifier's "cnn" trains with
    counts = class_counts(y_train)
    rf_cap = None if rf_bootstrap is None else max(1, int(round(float(rf_bootstrap) * len(X_train))))
    ytr_keys = label_keys(y_train)
    syn_keys = None if y_synth is None else label_keys(y_synth)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    warm: dict[str, Any] | None = {} if logreg_warm else None  # logreg: from the previous factor's solution
    for key, f in factors:
        if f == 0:
            Xa, ya = X_train, ytr_keys
        else:
            if X_synth is None or syn_keys is None:
                raise InputError(f"factor {key} needs synthetic samples")
            take = []
            for lab, n in scaled_counts(counts, f).items():
                idx = np.flatnonzero(syn_keys == str(lab))
                if len(idx) < n:
                    raise InputError(f"the generator returned {len(idx)} samples of class {lab}, {n} needed")
                take.append(idx[:n])
            sel = np.concatenate(take) if take else np.zeros(0, dtype=int)
            Xa = np.concatenate([X_train, X_synth[sel]])
            ya = np.concatenate([ytr_keys, syn_keys[sel]])
        out[key] = {}
        for c in classifiers:
            try:
                out[key][c] = fit_and_score(c, Xa, ya, X_test, y_test, seed=seed, trees=trees, rf_max_samples=rf_cap,
                                             warm=warm, cnn_steps=steps, cnn_restarts=cnn_restarts)
            except Exception as e:  # noqa: BLE001 - recorded and reported, the other classifiers go on
                out[key][c] = {"error": f"{e.__class__.__name__}: {' '.join(str(e).split())}"}
    return out


def augment_cell(shared: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """One (generator, seed, fold) cell; ``generator=None`` is the unaugmented baseline (factor 0)."""
    cs, d = start_cell(shared, cell)
    factors = [(k, float(f)) for k, f in cell["factors"]]
    Xs = ys = None
    t0 = time.perf_counter()
    if cell["generator"] is not None:
        gen = build_generator(cell["generator"], cell["overrides"])
        gen.fit(d["X_train"], d["y_train"], seed=cs)
        most = scaled_counts(class_counts(d["y_train"]), max(f for _, f in factors))
        Xs, ys = gen.sample({k: n for k, n in most.items() if n > 0}, seed=cs)
        Xs = np.asarray(Xs, dtype=np.float64)
        if Xs.shape[1:] != d["X_train"].shape[1:] or not np.all(np.isfinite(Xs)):
            raise InputError(f"{cell['generator']} returned samples of shape {Xs.shape[1:]} or non-finite values")
    t1 = time.perf_counter()
    scores = augment_scores(d["X_train"], d["y_train"], d["X_test"], d["y_test"], Xs, ys, factors,
                            list(cell["classifiers"]), seed=cs, trees=int(cell["trees"]),
                            rf_bootstrap=cell.get("rf_bootstrap"), logreg_warm=bool(cell.get("logreg_warm")),
                            cnn_budget=cell.get("cnn_budget"), cnn_restarts=int(cell.get("cnn_restarts", 0)))
    return {"scores": scores, "seconds": {"generator": t1 - t0, "classifiers": time.perf_counter() - t1}}


def classical_names(classical: str | list[str] | None) -> list[str]:
    """``auto`` (every registered classical augmentation), ``none``, or a list of names."""
    from vaelab.models import REGISTRY

    if classical is None or classical == "auto":
        return [n for n in CLASSICAL if n in REGISTRY]
    if classical == "none" or classical == [] or classical == ():
        return []
    return parse_names(classical, "classical augmentation")


def run_augment(ds: Dataset, *, model: str | None = None, factors: str | list[Any] = DEFAULT_FACTORS,
                classifiers: str | list[str] = DEFAULT_CLASSIFIERS, folds: int = 5, seeds: int = 2,
                preprocess: str | None = None, classical: str | list[str] | None = "auto",
                classical_factors: str | list[Any] | None = DEFAULT_CLASSICAL_FACTORS, epochs: int | None = None,
                model_config: dict[str, Any] | None = None, trees: int = 200, alpha: float = 0.05,
                jobs: int = 1, backend: str = "local", address: str | None = None,
                progress: bool = False, out: str | Path | None = None, resume: bool = False,
                compare: str | list[str] | None = None) -> dict[str, Any]:
    """Run the augmentation study for one model (see module docstring). Returns the ``augment.json`` dict.

    ``out``: the output folder; every cell's result is written to ``out/cells/`` as it finishes,
    and with ``resume`` the cells found there are not run again (see ``grid.py``).
    """
    from vaelab.models import default_model

    model = model or default_model(ds.spec.kind)  # the data kind's default (vaelab-image for images)
    return run_augment_models(ds, [model], factors=factors, classifiers=classifiers, folds=folds, seeds=seeds,
                              preprocess=preprocess, classical=classical, classical_factors=classical_factors,
                              epochs=epochs, model_configs={model: dict(model_config or {})}, trees=trees,
                              alpha=alpha, jobs=jobs, backend=backend, address=address, progress=progress,
                              out=out, resume=resume, compare=compare)[model]


def plan_augment(ds: Dataset, models: str | list[str], *, factors: str | list[Any] = DEFAULT_FACTORS,
                 classifiers: str | list[str] = DEFAULT_CLASSIFIERS, folds: int = 5, seeds: int = 2,
                 preprocess: str | None = None, classical: str | list[str] | None = "auto",
                 classical_factors: str | list[Any] | None = DEFAULT_CLASSICAL_FACTORS, epochs: int | None = None,
                 model_configs: dict[str, dict[str, Any]] | None = None, trees: int = 200,
                 alpha: float = 0.05, compare: str | list[str] | None = None) -> dict[str, Any]:
    """Check the options and lay out the grid: ``{"cells", "shared", ...}`` (nothing is run).

    One cell per (seed, fold) and generator: the baseline (factor 0), each studied model, each
    classical augmentation. A generator is fitted once per (seed, fold) and its nested draw serves
    every factor and classifier; the baseline serves every model. ``compare``: other generators
    run at the models' factors as comparison rows (role ``compare``); a classical augmentation
    may be both (e.g. the best one at every factor, the others at the default classical factor).
    """
    from vaelab.models.base import check_training_data

    names = parse_names(models)
    fac = parse_factors(factors)
    if len(fac) < 2:
        raise InputError("give at least one augmentation factor above 0")
    cfac = fac if classical_factors is None else parse_factors(classical_factors)
    clfs = parse_classifiers(classifiers)
    if not 0 < float(alpha) < 1:
        raise InputError(f"--alpha must be in (0, 1), got {alpha}")
    if int(trees) < 1:
        raise InputError(f"--trees must be at least 1, got {trees}")
    check_training_data(ds.X, ds.y)
    compared = [] if compare in (None, "", "none") else [g for g in parse_names(compare) if g not in names]
    classical_list = [g for g in classical_names(classical) if g not in names]  # may also be compared
    prep = choose_preprocess([*names, *compared, *classical_list], preprocess, ds.spec)
    splits = make_splits(ds, folds=folds, seeds=seeds)
    shared = shared_data(ds, splits, prep)
    base = {"classifiers": clfs, "trees": int(trees), "rf_bootstrap": RF_BOOTSTRAP, "logreg_warm": LOGREG_WARM}
    if "cnn" in clfs:  # only then: the cell IDs of studies without the CNN stay as they were
        base["cnn_budget"] = CNN_BUDGET
        if CNN_RESTARTS:  # the guard: a cell parameter only when on, so the cell IDs without it stay as they were
            base["cnn_restarts"] = CNN_RESTARTS
    pos = [kv for kv in fac if kv[1] > 0]
    cpos = [kv for kv in cfac if kv[1] > 0]
    overrides = {m: model_overrides(m, epochs, (model_configs or {}).get(m)) for m in names}
    cells: list[dict[str, Any]] = []
    for s in range(int(seeds)):
        for k in range(int(folds)):
            cells.append({**base, "role": "baseline", "generator": None, "overrides": {}, "seed": s, "fold": k,
                          "factors": [("0", 0.0)]})
            for m in names:
                cells.append({**base, "role": "model", "generator": m, "seed": s, "fold": k, "factors": pos,
                              "overrides": overrides[m]})
            for g in compared:
                cells.append({**base, "role": "compare", "generator": g, "seed": s, "fold": k, "factors": pos,
                              "overrides": model_overrides(g, epochs)})
            for g in classical_list:
                if cpos:
                    cells.append({**base, "role": "classical", "generator": g, "seed": s, "fold": k,
                                  "factors": cpos, "overrides": model_overrides(g, None)})
    return {"names": names, "factors": fac, "classical_factors": cfac, "classifiers": clfs,
            "classical": classical_list, "compared": compared, "preprocess": prep, "shared": shared, "cells": cells,
            "overrides": overrides}


def cell_kind(cell: dict[str, Any]) -> str:
    """What a cell's cost depends on: ``baseline`` or the generator's name."""
    return "baseline" if cell["generator"] is None else f"{cell['role']} {cell['generator']}"


def estimate_augment(ds: Dataset, models: str | list[str], *, jobs: int = 1, out: str | Path | None = None,
                     **options: Any) -> dict[str, Any]:
    """Time the (seed 0, fold 0) cell of the baseline and of every generator and extrapolate (``--estimate``).

    Options as :func:`run_augment_models`; with ``out`` the timed cells are stored for ``--resume``.
    """
    from vaelab.experiments.estimate import estimate_cells
    from vaelab.experiments.grid import CellStore

    plan = plan_augment(ds, models, **options)
    store = None if out is None else CellStore(out)
    return estimate_cells(augment_cell, plan["cells"], plan["shared"], cell_kind, jobs=jobs, store=store)


def run_augment_models(ds: Dataset, models: str | list[str], *, factors: str | list[Any] = DEFAULT_FACTORS,
                       classifiers: str | list[str] = DEFAULT_CLASSIFIERS, folds: int = 5, seeds: int = 2,
                       preprocess: str | None = None, classical: str | list[str] | None = "auto",
                       classical_factors: str | list[Any] | None = DEFAULT_CLASSICAL_FACTORS, epochs: int | None = None,
                       model_configs: dict[str, dict[str, Any]] | None = None, trees: int = 200,
                       alpha: float = 0.05, jobs: int = 1, backend: str = "local", address: str | None = None,
                       progress: bool = False, out: str | Path | None = None,
                       resume: bool = False, compare: str | list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The augmentation study for several models in one grid: ``{model: augment.json dict}``.

    The baseline (factor 0) and classical-augmentation cells are run once and shared by every
    model's summary (same seeds, folds and preprocessing, so the comparisons stay paired).
    ``out``/``resume``: see :func:`run_augment`.
    """
    from vaelab.experiments.grid import CellStore

    plan = plan_augment(ds, models, factors=factors, classifiers=classifiers, folds=folds, seeds=seeds,
                        preprocess=preprocess, classical=classical, classical_factors=classical_factors,
                        epochs=epochs, model_configs=model_configs, trees=trees, alpha=alpha, compare=compare)
    names, fac, cfac, clfs = plan["names"], plan["factors"], plan["classical_factors"], plan["classifiers"]
    cells, classical_list, prep, overrides = plan["cells"], plan["classical"], plan["preprocess"], plan["overrides"]
    store = None if out is None else CellStore(out, fresh=not resume)
    t0 = time.perf_counter()
    raw = run_cells(augment_cell, cells, plan["shared"], jobs=jobs, backend=backend, address=address,
                    progress=progress, desc="augment", store=store, resume=resume)
    wall = time.perf_counter() - t0
    return {m: summarise_augment(ds, cells, raw, model=m, factors=fac, classical_factors=cfac, classifiers=clfs,
                                 classical=classical_list, compared=plan["compared"], seeds=int(seeds),
                                 folds=int(folds), preprocess=prep,
                                 alpha=float(alpha), wall=wall,
                                 settings={"epochs": epochs, "trees": int(trees), "rf_bootstrap": RF_BOOTSTRAP,
                                           "logreg_warm": LOGREG_WARM,
                                           **({"cnn_budget": CNN_BUDGET, "cnn_restarts": CNN_RESTARTS}
                                              if "cnn" in clfs else {}),
                                           "backend": backend,
                                           "jobs": int(jobs), "model_config": overrides[m]})
            for m in names}


def _collect(cells: list[dict[str, Any]], raw: list[dict[str, Any]], role: str, generator: str | None,
             factors: list[tuple[str, float]], classifiers: list[str], failures: list[dict[str, Any]]
             ) -> dict[str, dict[str, dict[str, list]]]:
    """``{factor: {classifier: {metric: [value per cell]}}}`` for one generator, failures appended."""
    vals = {k: {c: {m: [] for m in SCORES} for c in classifiers} for k, _ in factors}
    for cell, res in zip(cells, raw, strict=True):
        if cell["role"] != role or cell["generator"] != generator:
            continue
        where = {"generator": generator or "none", "seed": cell["seed"], "fold": cell["fold"]}
        if is_failure(res):
            failures.append({**where, "factor": None, "classifier": None, "error": res["error"]})
        for k, _ in factors:
            for c in classifiers:
                entry = None if is_failure(res) else res["scores"].get(k, {}).get(c)
                if entry is not None and "error" in entry:
                    failures.append({**where, "factor": k, "classifier": c, "error": entry["error"]})
                    entry = None
                for m in SCORES:
                    vals[k][c][m].append(None if entry is None else entry.get(m))
    return vals


def summarise_augment(ds: Dataset, cells: list[dict[str, Any]], raw: list[dict[str, Any]], *, model: str,
                      factors: list[tuple[str, float]], classical_factors: list[tuple[str, float]],
                      classifiers: list[str], classical: list[str], seeds: int, folds: int, preprocess: str,
                      alpha: float, wall: float, settings: dict[str, Any],
                      compared: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    keep = [i for i, c in enumerate(cells) if c["role"] != "model" or c["generator"] == model]
    cells, raw = [cells[i] for i in keep], [raw[i] for i in keep]  # this model's cells, the baseline, classical
    failures: list[dict[str, Any]] = []
    base = _collect(cells, raw, "baseline", None, [("0", 0.0)], classifiers, failures)
    pos = [kv for kv in factors if kv[1] > 0]
    cpos = [kv for kv in classical_factors if kv[1] > 0]
    mod = _collect(cells, raw, "model", model, pos, classifiers, failures)
    vals = {"0": base["0"], **mod}
    keys = [k for k, _ in factors]
    results = {k: {c: {m: summarise(vals[k][c][m]) for m in SCORES} for c in classifiers} for k in keys}
    cvals = {g: _collect(cells, raw, "classical", g, cpos, classifiers, failures) for g in classical}
    classical_results = {g: {k: {c: {m: summarise(cvals[g][k][c][m]) for m in SCORES} for c in classifiers}
                             for k, _ in cpos} for g in classical}
    BA = "balanced_accuracy"

    # best classical augmentation per classifier (highest mean balanced accuracy over generators × factors > 0)
    best_classical: dict[str, Any] = {}
    for c in classifiers:
        best = None
        for g in classical:
            for k, _ in cpos:
                mean = classical_results[g][k][c][BA]["mean"]
                if mean is not None and (best is None or mean > best[2]):
                    best = (g, k, mean)
        if best is None:
            best_classical[c] = None
            continue
        g, k, mean = best
        t = paired_wilcoxon(cvals[g][k][c][BA], vals["0"][c][BA])
        best_classical[c] = {"generator": g, "factor": k, "balanced_accuracy": mean,
                             "roc_auc": classical_results[g][k][c]["roc_auc"]["mean"], "vs_0": t}

    # paired tests: every factor > 0 vs 0 and vs the best classical augmentation, both metrics
    tests: dict[str, dict[str, dict[str, Any]]] = {}
    for k, _ in pos:
        tests[k] = {c: {} for c in classifiers}
        for m in SCORES:
            vs0 = [paired_wilcoxon(vals[k][c][m], vals["0"][c][m]) for c in classifiers]
            for c, t, ph in zip(classifiers, vs0, holm([t["p"] for t in vs0]), strict=True):
                t["p_holm"] = ph
                tests[k][c].setdefault("vs_0", {})[m] = t
            vsb = []
            for c in classifiers:
                b = best_classical[c]
                vsb.append(None if b is None else paired_wilcoxon(vals[k][c][m], cvals[b["generator"]][b["factor"]][c][m]))
            adj = holm([t["p"] for t in vsb if t is not None])
            it = iter(adj)
            for c, t in zip(classifiers, vsb, strict=True):
                if t is not None:
                    t["p_holm"] = next(it)
                tests[k][c].setdefault("vs_best_classical", {})[m] = t

    mean_over = {}
    for k in keys:
        ms = [results[k][c][BA]["mean"] for c in classifiers]
        mean_over[k] = float(np.mean(ms)) if all(v is not None for v in ms) else None

    def significant(k: str, against: str, sign: int) -> list[str]:
        out = []
        for c in classifiers:
            t = tests[k][c][against][BA]
            if t is not None and t["p_holm"] < alpha and t["diff_mean"] is not None and sign * t["diff_mean"] > 0:
                out.append(c)
        return out

    gains = {k: significant(k, "vs_0", +1) for k, _ in pos}
    losses = {k: significant(k, "vs_0", -1) for k, _ in pos}
    ranked = [k for k in keys if mean_over[k] is not None]
    best_k = max(ranked, key=lambda k: mean_over[k]) if ranked else "0"
    recommended = best_k if best_k != "0" and gains.get(best_k) else "0"

    compared_part = _compared(cells, raw, list(compared), pos, classifiers, vals, failures) if compared else {}

    n_pairs = folds * seeds
    min_p = min_wilcoxon_p(n_pairs)
    verdict, notes = _verdict(model, keys, classifiers, tests, gains, losses, best_k, recommended, best_classical,
                              mean_over, alpha, n_pairs, min_p, folds, seeds, n_failed=len(failures))
    n_failed_cells = sum(1 for r in raw if is_failure(r))
    timing: dict[str, float] = {}
    for cell, res in zip(cells, raw, strict=True):
        if not is_failure(res):
            name = cell["generator"] or "none"
            timing[name] = timing.get(name, 0.0) + sum(res["seconds"].values())
    return jsonable({
        "command": "augment",
        "vaelab_version": __version__,
        "data": data_summary(ds),
        "model": model,
        "preprocess": preprocess,
        "factors": keys,
        "classifiers": classifiers,
        "folds": folds,
        "seeds": seeds,
        "n_pairs": n_pairs,
        "alpha": alpha,
        "settings": settings,
        "results": results,
        "mean_balanced_accuracy_over_classifiers": mean_over,
        "classical": classical,
        "classical_factors": [k for k, _ in cpos],
        "classical_results": classical_results,
        "best_classical": best_classical,
        **compared_part,
        "tests": tests,
        "significant_gain": gains,
        "significant_loss": losses,
        "recommended_factor": recommended,
        "verdict": verdict,
        "notes": notes,
        "n_cells": len(cells),
        "n_failed_cells": n_failed_cells,
        "failures": failures,
        "timing": {"wall_seconds": wall, "cell_seconds_by_generator": timing},
    })


def _compared(cells: list[dict[str, Any]], raw: list[dict[str, Any]], compared: list[str],
              pos: list[tuple[str, float]], classifiers: list[str], vals: dict, failures: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """``compared``, ``compared_results`` and ``compared_tests`` of the other generators (``compare``).

    Per generator, factor and metric: paired Wilcoxon vs factor 0 and vs the studied model at the
    same factor, Holm-corrected over the classifiers (as the model's own tests).
    """
    results: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    for g in compared:
        gv = _collect(cells, raw, "compare", g, pos, classifiers, failures)
        results[g] = {k: {c: {m: summarise(gv[k][c][m]) for m in SCORES} for c in classifiers} for k, _ in pos}
        tests[g] = {k: {c: {} for c in classifiers} for k, _ in pos}
        for k, _ in pos:
            for m in SCORES:
                for against, ref in (("vs_0", vals["0"]), ("vs_model", vals[k])):
                    ts = [paired_wilcoxon(gv[k][c][m], ref[c][m]) for c in classifiers]
                    for c, t, ph in zip(classifiers, ts, holm([t["p"] for t in ts]), strict=True):
                        t["p_holm"] = ph
                        tests[g][k][c].setdefault(against, {})[m] = t
    return {"compared": compared, "compared_results": results, "compared_tests": tests}


def _verdict(model: str, keys: list[str], classifiers: list[str], tests: dict, gains: dict, losses: dict,
             best_k: str, recommended: str, best_classical: dict, mean_over: dict, alpha: float, n_pairs: int,
             min_p: float, folds: int, seeds: int, n_failed: int = 0) -> tuple[str, list[str]]:
    BA = "balanced_accuracy"
    how = (f"paired Wilcoxon over {folds} folds × {seeds} seeds = {n_pairs} pairs, Holm-corrected over "
           f"{len(classifiers)} classifier(s), alpha {alpha:g}")
    notes = []
    too_few = min_p * len(classifiers) >= alpha if len(classifiers) > 1 else min_p >= alpha
    if too_few:
        notes.append(f"with {n_pairs} paired values the smallest attainable two-sided Wilcoxon p is {min_p:.3g}"
                     f"{f' (×{len(classifiers)} classifiers after Holm)' if len(classifiers) > 1 else ''}, "
                     f"so no difference can reach significance at {alpha:g}; use more folds × seeds "
                     f"(e.g. --folds 5 --seeds 2 = 10 pairs, smallest p {min_wilcoxon_p(10):.3g})")
    any_gain = [k for k in keys if gains.get(k)]
    loss_txt = "; ".join(f"factor {k} significantly lowers balanced accuracy for {', '.join(losses[k])}"
                         for k in keys if losses.get(k))
    if not any_gain:
        verdict = (f"{model} augmentation: no significant gain in balanced accuracy over no augmentation at any "
                   f"factor ({', '.join(k for k in keys if k != '0')}) for any classifier ({how}).")
    elif recommended != "0":
        parts = []
        for c in gains[recommended]:
            t = tests[recommended][c]["vs_0"][BA]
            parts.append(f"{c} {t['diff_mean']:+.3f} (p={t['p_holm']:.2g})")
        verdict = (f"{model} augmentation at factor {recommended} significantly raises balanced accuracy over no "
                   f"augmentation for {', '.join(parts)} ({how}).")
        cmp = []
        for c in classifiers:
            t = tests[recommended][c]["vs_best_classical"][BA]
            b = best_classical.get(c)
            if t is None or b is None:
                continue
            word = ("better than" if t["p_holm"] < alpha and t["diff_mean"] > 0 else
                    "worse than" if t["p_holm"] < alpha and t["diff_mean"] < 0 else "not significantly different from")
            cmp.append(f"{c}: {word} {b['generator']}×{b['factor']} ({t['diff_mean']:+.3f}, p={t['p_holm']:.2g})")
        if cmp:
            verdict += " Against the best classical augmentation: " + "; ".join(cmp) + "."
    else:
        verdict = (f"{model} augmentation: no significant gain at the factor with the best mean balanced accuracy "
                   f"({best_k}); significant gains only at factor(s) {', '.join(any_gain)} "
                   f"for some classifiers, so factor 0 is recommended ({how}).")
    if loss_txt:
        verdict += " Note: " + loss_txt + "."
    if n_failed:
        verdict += (f" Warning: {n_failed} cell(s) or classifier fit(s) failed; their values are missing from the "
                    f"means (see n_failed and failures).")
    classical_gain = [f"{c} ({b['generator']}×{b['factor']})" for c, b in best_classical.items()
                      if b is not None and b["vs_0"]["p"] < alpha and b["vs_0"]["diff_mean"] > 0]
    if classical_gain:
        notes.append("best classical augmentation beats no augmentation (uncorrected p < alpha; chosen on the "
                     "same folds, so optimistic) for: " + ", ".join(classical_gain))
    notes.append("the best classical augmentation per classifier is chosen on the same folds it is compared "
                 "on, which favours it: model-vs-classical comparisons are conservative for the model")
    notes.append("values are per (seed, fold) in seed-major order; None marks a failed cell or classifier "
                 "(counted in n_failed, never dropped silently)")
    return verdict, notes


def write_augment(result: dict[str, Any], out: str | Path) -> Path:
    """``augment.json``, ``augment.csv``, ``augment.txt`` and ``augment.png`` into ``out`` (atomic)."""
    from vaelab.reporting.figures import augmentation_curves

    return write_result_folder(out, "augment", result, augment_csv(result), augment_table(result),
                               augmentation_curves)


__all__ = ["CLASSICAL", "DEFAULT_CLASSIFIERS", "DEFAULT_FACTORS", "augment_cell", "augment_scores", "augment_table",
           "cell_kind", "estimate_augment", "parse_factors", "plan_augment", "run_augment", "run_augment_models",
           "write_augment"]
