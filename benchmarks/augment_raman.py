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
from vaelab.experiments.augment import augment_table, estimate_augment, run_augment_models, write_augment
from vaelab.experiments.estimate import format_estimate

DATA = str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raman_saliva_covid.npz")


def estimate(ds, args) -> None:
    """Time the (seed 0, fold 0) cell of the baseline and of every generator, then extrapolate."""
    est = estimate_augment(ds, args.models, jobs=args.jobs, out=args.out, factors=args.factors,
                           classifiers=args.classifiers, folds=args.folds, seeds=args.seeds,
                           preprocess=args.preprocess, classical=args.classical, epochs=args.epochs, trees=args.trees)
    print(format_estimate(est, "augmentation study"))


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
    p.add_argument("--resume", action="store_true", help="reuse the finished cells in OUT/cells/")
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
                                 backend=args.backend, address=args.address, progress=True, out=args.out,
                                 resume=args.resume)
    for model, res in results.items():
        write_augment(res, Path(args.out) / model)
        print()
        print(augment_table(res))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s; results in {args.out}/<model>/augment.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
