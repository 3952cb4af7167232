"""Per-cell profile of the augmentation study on the development Raman set: where does the time go?

For one patient-level fold (seed 0, fold 0 of 5) it fits the preprocessing and ``vaelab-cvae`` once,
draws the samples for the largest factor once (nested draws), and times every classifier at every
factor: process CPU seconds (what the cell costs on an idle core; the machine is shared, so wall
seconds are also printed but depend on the load) and the balanced accuracy, so that two settings of
one classifier can be compared side by side on the same training sets.

    PYTHONPATH=src python benchmarks/profile_augment.py --variants logreg,svm,svm-libsvm,plsda,rf,knn \
        --factors 0,0.5,1,2,5,10 --skip svm-libsvm:5,svm-libsvm:10

``svm`` is the study's SVM (``KernelSVC``: Gram matrix by BLAS, libsvm on the precomputed kernel);
``svm-libsvm`` is ``SVC(kernel="rbf", gamma="scale")`` as before, for the comparison; ``rf`` the
study's forest (bootstrap capped at ``RF_BOOTSTRAP`` × the real training count), ``rf-full``
without the cap (as before), ``logreg-warm`` the study's logistic regression (lbfgs started from the
previous factor's solution, ``warm_logreg``; ``logreg``: from zero, as before), ``rfN`` a forest of N trees, ``rfcapN`` bootstrap samples of at most N. Output: one line per (factor, variant) and a summary of predictions that agree.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from vaelab.data.io import load_data
from vaelab.experiments.classifiers import make_classifier, warm_logreg
from vaelab.experiments.common import (
    build_generator,
    class_counts,
    fold_data,
    make_splits,
    scaled_counts,
    shared_data,
)
from vaelab.experiments.splits import cell_seed, label_keys
from vaelab.metrics.utility import balanced_accuracy

DATA = str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raman_saliva_covid.npz")


def variant(name: str, seed: int, n_real: int, n: int):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if name == "svm-libsvm":
        return Pipeline([("scale", StandardScaler()), ("clf", SVC(kernel="rbf", C=1.0, gamma="scale"))])
    if name == "rf":  # as the study fits it (bootstrap capped at RF_BOOTSTRAP × the real training count)
        from vaelab.experiments.augment import RF_BOOTSTRAP

        cap = None if RF_BOOTSTRAP is None or n <= RF_BOOTSTRAP * n_real else int(round(RF_BOOTSTRAP * n_real))
        return make_classifier("rf", seed=seed, rf_max_samples=cap)
    if name == "rf-full":
        return make_classifier("rf", seed=seed)
    if name.startswith("rfcap"):  # a forest whose bootstrap samples hold at most N spectra
        return make_classifier("rf", seed=seed, rf_max_samples=int(name[5:]))
    if name.startswith("rf") and name[2:].isdigit():
        return make_classifier("rf", seed=seed, trees=int(name[2:]))
    return make_classifier(name, seed=seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DATA)
    p.add_argument("--model", default="vaelab-cvae")
    p.add_argument("--variants", default="logreg,svm,plsda,rf,knn")
    p.add_argument("--factors", default="0,0.5,1,2,5,10")
    p.add_argument("--skip", default="", help="variant:factor pairs not to run (too slow)")
    args = p.parse_args()
    torch.set_num_threads(1)
    ds = load_data(args.data)
    t0, c0 = time.perf_counter(), time.process_time()
    shared = shared_data(ds, make_splits(ds, folds=5, seeds=1), "minmax")
    d = fold_data(shared, 0, 0)
    print(f"splits + preprocessing: cpu {time.process_time() - c0:.1f} s, wall {time.perf_counter() - t0:.1f} s")
    cs = cell_seed(0, 0)
    factors = [float(f) for f in args.factors.split(",")]
    counts = class_counts(d["y_train"])
    t0, c0 = time.perf_counter(), time.process_time()
    gen = build_generator(args.model, {})
    gen.fit(d["X_train"], d["y_train"], seed=cs)
    Xs, ys = gen.sample(scaled_counts(counts, max(factors)), seed=cs)
    print(f"{args.model} fit + one draw for factor {max(factors):g}: cpu {time.process_time() - c0:.1f} s, "
          f"wall {time.perf_counter() - t0:.1f} s")
    Xs, ys = np.asarray(Xs), label_keys(ys)
    skip = set(args.skip.split(",")) if args.skip else set()
    yte = label_keys(d["y_test"])
    preds: dict[tuple[str, float], np.ndarray] = {}
    warm = None  # logreg-warm's previous fit
    coefs: dict[tuple[str, float], np.ndarray] = {}  # logistic regressions in the original feature space
    total: dict[str, float] = {}
    for f in factors:
        take = np.concatenate([np.flatnonzero(ys == str(lab))[:n] for lab, n in scaled_counts(counts, f).items()])
        Xa = np.concatenate([d["X_train"], Xs[take]])
        ya = np.concatenate([label_keys(d["y_train"]), ys[take]])
        for v in args.variants.split(","):
            if f"{v}:{f:g}" in skip:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            if v == "logreg-warm":
                clf = warm = warm_logreg(warm, Xa, ya)
            else:
                clf = variant(v, cs, len(d["X_train"]), len(Xa)).fit(Xa, ya)
            pred = clf.predict(d["X_test"])
            iters = getattr(clf[-1], "n_iter_", None)
            if v.startswith("logreg"):
                coefs[(v, f)] = clf[-1].coef_ / clf[0].scale_
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
            total[v] = total.get(v, 0.0) + cpu
            preds[(v, f)] = pred
            print(f"factor {f:>4g}  n {len(Xa):>6}  {v:<11} cpu {cpu:7.1f} s  wall {wall:7.1f} s  "
                  f"balanced accuracy {balanced_accuracy(yte, pred):.4f}"
                  + (f"  iterations {int(np.max(iters))}" if iters is not None else ""), flush=True)
    print("cpu seconds per variant over the factors run: " + ", ".join(f"{k} {v:.0f}" for k, v in total.items()))
    names = args.variants.split(",")
    for a in names:
        for b in names:
            if a < b:
                same = [float(np.mean(preds[(a, f)] == preds[(b, f)])) for f in factors
                        if (a, f) in preds and (b, f) in preds]
                if same and (a.split("-")[0] == b.split("-")[0] or a[:2] == b[:2]):
                    if a.startswith("logreg") and b.startswith("logreg"):
                        rel = [float(np.abs(coefs[(a, f)] - coefs[(b, f)]).max() / np.abs(coefs[(b, f)]).max())
                               for f in factors if (a, f) in coefs and (b, f) in coefs]
                        print(f"largest coefficient difference / largest coefficient {a} vs {b}: "
                              + ", ".join(f"{r:.1e}" for r in rel))
                    print(f"predictions agreeing {a} vs {b}: " + ", ".join(f"{s:.4f}" for s in same))


if __name__ == "__main__":
    main()
