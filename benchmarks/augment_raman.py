"""Augmentation study on the Raman saliva COVID set, with patient-level folds.

Does adding synthetic spectra from seed-cvae, ppca or ddpm (and, for comparison, the classical
augmentations noise / shift / scale / mixup / smote) help logreg, svm, plsda, rf and knn tell
COV+ / COV- / CTRL apart on spectra of patients they never saw? One grid: the factor-0 baseline
and the classical cells are shared by the three models, so every comparison is paired.

    .venv/bin/python benchmarks/augment_raman.py --estimate          # time one fold, extrapolate
    .venv/bin/python benchmarks/augment_raman.py --jobs 2            # the full study (hours on 2 cores)
    .venv/bin/python benchmarks/augment_raman.py --backend ray --address auto --jobs 32   # on a cluster

Writes ``OUT/<model>/augment.{json,csv,txt,png}`` and prints each model's table and verdict.

Cost (``--estimate``, one patient-level fold of 5, factors 0,1,2,5, all five classifiers, on the
shared 2-core development machine under a load of ~9): baseline 96 s, seed-cvae 794 s (fit
217 s), ppca 552 s, ddpm 487 s (fit 37 s); the classifier fits on up to 6 × 2000 spectra
dominate (~450-580 s per generator), so each classical augmentation costs about as much.
One (seed, fold) is ~75 min, the full 5 folds × 2 seeds ~12 h with one job. Cheaper:
fewer classifiers or factors, ``--classical smote,mixup``, or a Ray cluster.
The data (2501 spectra × 991 points, 101 patients) are not part of the repository.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from vaelab.data.io import load_data
from vaelab.experiments.augment import (
    augment_cell,
    augment_table,
    classical_names,
    parse_factors,
    run_augment_models,
    write_augment,
)
from vaelab.experiments.classifiers import parse_classifiers
from vaelab.experiments.common import (
    choose_preprocess,
    make_splits,
    model_overrides,
    parse_names,
    shared_data,
)
from vaelab.experiments.runner import execute_cell, is_failure

DATA = str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raman_saliva_covid.npz")


def estimate(ds, args) -> None:
    """Run the (seed 0, fold 0) cell of every generator, then extrapolate to folds × seeds."""
    models = parse_names(args.models)
    classical = [g for g in classical_names(args.classical) if g not in models]
    prep = choose_preprocess([*models, *classical], args.preprocess)
    fac = parse_factors(args.factors)
    pos = [kv for kv in fac if kv[1] > 0]
    shared = shared_data(ds, make_splits(ds, folds=args.folds, seeds=1), prep)
    base = {"classifiers": parse_classifiers(args.classifiers), "trees": args.trees, "seed": 0, "fold": 0}
    plan = [("none", {**base, "role": "baseline", "generator": None, "overrides": {}, "factors": [("0", 0.0)]})]
    plan += [(m, {**base, "role": "model", "generator": m, "factors": pos,
                  "overrides": model_overrides(m, args.epochs)}) for m in models]
    plan += [(g, {**base, "role": "classical", "generator": g, "factors": pos, "overrides": {}}) for g in classical]
    total = 0.0
    print(f"one fold of {args.folds} (patient-level), preprocessing {prep}, factors {args.factors}, "
          f"classifiers {args.classifiers}")
    for name, cell in plan:
        t0 = time.perf_counter()
        res = execute_cell(augment_cell, shared, cell)
        dt = time.perf_counter() - t0
        total += dt
        if is_failure(res):
            print(f"  {name:<10} FAILED after {dt:.0f} s: {res['error']}")
            continue
        gen_s, clf_s = res["seconds"]["generator"], res["seconds"]["classifiers"]
        ba = {k: {c: round(v["balanced_accuracy"], 3) for c, v in per.items() if "error" not in v}
              for k, per in res["scores"].items()}
        print(f"  {name:<10} {dt:7.0f} s (generator {gen_s:.0f} s, classifiers {clf_s:.0f} s)  balanced accuracy {ba}")
    cells = args.folds * args.seeds
    print(f"one fold, all generators: {total:.0f} s; full study ({args.folds} folds × {args.seeds} seeds, "
          f"{args.jobs} job(s)): about {total * cells / args.jobs / 3600:.1f} h")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DATA)
    p.add_argument("--models", default="seed-cvae,ppca,ddpm")
    p.add_argument("--factors", default="0,1,2,5", help="the seed report's advice: augment 2-5x")
    p.add_argument("--classifiers", default="logreg,svm,plsda,rf,knn")
    p.add_argument("--classical", default="auto")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--preprocess", default="minmax")
    p.add_argument("--epochs", type=int, default=None, help="override the epochs of the torch models")
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--address", default=None)
    p.add_argument("--out", default="benchmarks/results/augment_raman")
    p.add_argument("--estimate", action="store_true", help="time one fold and extrapolate; run nothing else")
    args = p.parse_args(argv)

    ds = load_data(args.data)
    if ds.groups is None:
        print("the data have no groups: patient-level folds are impossible", file=sys.stderr)
        return 2
    counts = ds.class_counts()
    print(f"{args.data}: {ds.n} spectra × {ds.feature_shape[0]} points, classes {counts}, "
          f"{len(np.unique(ds.groups))} patients")
    if args.estimate:
        estimate(ds, args)
        return 0
    t0 = time.perf_counter()
    results = run_augment_models(ds, args.models, factors=args.factors, classifiers=args.classifiers,
                                 folds=args.folds, seeds=args.seeds, preprocess=args.preprocess,
                                 classical=args.classical, epochs=args.epochs, trees=args.trees, jobs=args.jobs,
                                 backend=args.backend, address=args.address, progress=True)
    for model, res in results.items():
        write_augment(res, Path(args.out) / model)
        print()
        print(augment_table(res))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s; results in {args.out}/<model>/augment.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
