"""The Augmenter inside imbalanced-learn pipelines on the outside-like stand-ins (issue 16, session 18).

    python benchmarks/outside_pipeline.py DIR

DIR is ``benchmarks/outside_shapes.py``'s output. For ``ftir230.csv`` (40/40/12) and ``tiny.csv``
(40/40/3): every preprocessing transformer x three Augmenters (vaelab-cvae factor 2, vaelab-cvae
``per_class={"c": 30}``, ppca ``per_class=20``) in ``Pipeline([pre, aug, LogisticRegression])`` under
``cross_val_score(..., groups=group, cv=GroupKFold(4), error_score="raise")``: prints the fold scores,
the time and any warning, or the error. Then the Augmenter alone on ``ftir230.csv`` with class c cut
to 3, 2 and 1 spectra (per-class counts and factor 1; same seed twice -> same bytes).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score

from vaelab.sklearn import MSC, SNV, Augmenter, Crop, Derivative, Preprocess


def load(path: Path):
    df = pd.read_csv(path)
    X = df.drop(columns=["label", "group"]).to_numpy(float)
    return X, df["label"].to_numpy(), df["group"].to_numpy(), np.array([float(c) for c in df.columns[2:]])


def pipelines(path: Path) -> None:
    X, y, g, axis = load(path)
    print(path.name, X.shape, dict(zip(*np.unique(y, return_counts=True), strict=True)))
    pres = {"arpls+savgol+vector": Preprocess("arpls+savgol+vector"), "snv": SNV(), "msc": MSC(),
            "d1": Derivative(1), "crop:1000-3000": Crop(1000, 3000, axis=axis),
            "crop:650-1800+asv": Preprocess("crop:650-1800+arpls+savgol+vector", axis=axis)}
    for name, pre in pres.items():
        for aug in (Augmenter(model="vaelab-cvae", factor=2, seed=0),
                    Augmenter(model="vaelab-cvae", per_class={"c": 30}, seed=0),
                    Augmenter(model="ppca", per_class=20, seed=0)):
            pipe = Pipeline([("pre", pre), ("aug", aug), ("clf", LogisticRegression(max_iter=2000))])
            t = time.time()
            tag = f"{name:20s} {aug.model}/{aug.per_class or aug.factor}"
            try:
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    s = cross_val_score(pipe, X, y, groups=g, cv=GroupKFold(4), scoring="balanced_accuracy",
                                        error_score="raise")
                print(f"{tag}: {np.round(s, 3)} {time.time() - t:.1f}s warnings={sorted({str(x.message) for x in w})}")
            except Exception as e:  # noqa: BLE001  (the audit records every failure)
                print(f"{tag}: FAIL {type(e).__name__}: {e}")


def small_classes(path: Path) -> None:
    X, y, _, _ = load(path)
    for keep in (3, 2, 1):
        idx = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:keep]]
        for kw in ({"per_class": {"c": 20}}, {"factor": 1}):
            try:
                a, ya = Augmenter(model="vaelab-cvae", seed=0, **kw).fit_resample(X[idx], y[idx])
                b, _ = Augmenter(model="vaelab-cvae", seed=0, **kw).fit_resample(X[idx], y[idx])
                new = dict(zip(*np.unique(ya[len(idx):], return_counts=True), strict=True))
                print(f"c={keep} {kw}: new {new} finite {np.isfinite(a).all()} same bytes {np.array_equal(a, b)}")
            except Exception as e:  # noqa: BLE001
                print(f"c={keep} {kw}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    d = Path(sys.argv[1])
    pipelines(d / "ftir230.csv")
    pipelines(d / "tiny.csv")
    small_classes(d / "ftir230.csv")
