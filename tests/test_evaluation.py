"""The full evaluation and its flags, with negative controls on real spectra (the bundled coffee set).

Thirds of the coffee set (stratified by origin) play train / holdout / "synthetic":
- a real held-out third as "synthetic" must raise no flag;
- class-mean copies must raise ``collapse`` (spread ratio 0);
- training copies + 1e-4 noise must raise ``memorization`` (DCR ratio ≈ 0).
"""

import json

import numpy as np
import pytest

from vaelab.data.dataset import Dataset
from vaelab.data.preprocess import Preprocessing
from vaelab.datasets import coffee
from vaelab.evaluation.suite import evaluate_arrays, evaluate_files, format_report
from vaelab.metrics.seed import class_mean_copy

KEYS = {"c2st_auc", "precision", "recall", "density", "coverage", "mmd", "frechet", "diversity", "dcr_ratio",
        "tstr", "trtr", "class_specificity", "seed_metrics", "references", "flags"}


@pytest.fixture(scope="module")
def thirds():
    ds = coffee()
    X = Preprocessing.from_spec("minmax").fit_transform(ds.X)
    rng = np.random.default_rng(0)
    parts = [[], [], []]
    for c in np.unique(ds.y):
        idx = rng.permutation(np.flatnonzero(ds.y == c))
        for j, chunk in enumerate(np.array_split(idx, 3)):
            parts[j].extend(chunk.tolist())
    return [Dataset(X=X[np.sort(p)], y=ds.y[np.sort(p)]) for p in parts]


def _flags(result):
    return {k: v["raised"] for k, v in result["flags"].items()}


def test_real_holdout_raises_no_flag(thirds):
    train, holdout, other = thirds
    r = evaluate_arrays(train, other, holdout=holdout, seed=0)
    assert KEYS <= set(r)
    assert _flags(r) == {"collapse": False, "memorization": False, "distinguishable": False}
    assert r["c2st_auc"] < 0.75  # 20 vs 20 samples: AUC is noisy around 0.5 (below 0.5 is anti-learning noise)
    assert all(0.6 < v < 1.6 for v in r["diversity"].values())
    assert 0.6 < r["dcr_ratio"] < 1.6
    assert r["tstr"] > 0.7 and r["trtr"] > 0.7  # chance is 1/3; both train on 20 real spectra
    # the DCR reference: the training spectra left out one at a time (identity features, no groups), as the metric
    from vaelab.metrics import left_out_dcr

    assert r["dcr"]["left_out_ratio"] == pytest.approx(left_out_dcr(train.X, holdout.X), rel=1e-9)


def test_class_mean_copy_raises_collapse(thirds):
    train, holdout, _ = thirds
    means, labels = class_mean_copy(train.X, train.y)
    reps = np.repeat(np.arange(len(labels)), 7)
    fake = Dataset(X=means[reps], y=labels[reps])
    r = evaluate_arrays(train, fake, holdout=holdout, seed=0)
    assert _flags(r)["collapse"] is True
    assert max(r["diversity"].values()) == pytest.approx(0.0, abs=1e-9)
    # ... while the seed report's similarity metrics call it excellent
    assert r["seed_metrics"]["cosine"] > r["references"]["real_vs_real"]["cosine"]


def test_noisy_training_copies_raise_memorization(thirds):
    train, holdout, _ = thirds
    rng = np.random.default_rng(1)
    fake = Dataset(X=train.X + rng.normal(0, 1e-4, train.X.shape), y=train.y)
    r = evaluate_arrays(train, fake, holdout=holdout, seed=0)
    assert _flags(r)["memorization"] is True
    assert r["dcr_ratio"] < 0.05 and r["closer_than_holdout"] == 1.0
    assert _flags(r)["collapse"] is False  # copies keep the spread: only the novelty check catches them


def test_without_holdout_uses_leave_one_out_reference(thirds):
    train, _, other = thirds
    r = evaluate_arrays(train, other, seed=0)
    assert r["tstr"] is None and r["trtr"] is None
    assert r["dcr_reference"] == "real leave-one-sample-out"
    assert 0.5 < r["dcr_ratio"] < 2
    assert any("holdout" in n for n in r["notes"])
    text = format_report(r)
    assert "n/a" in text and "flags:" in text


def test_evaluate_files_with_run_preprocessing(tmp_path, thirds):
    from vaelab.data.io import write_data

    ds = coffee()
    real = tmp_path / "real.csv"
    write_data(ds, real)
    train, holdout, other = thirds
    syn = tmp_path / "syn.npz"
    write_data(other, syn)
    # without --run the raw real spectra are compared with minmax "synthetic" ones: C2ST sees it
    r = evaluate_files(real, syn, out=tmp_path / "ev")
    assert r["c2st_auc"] > 0.9
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert KEYS <= set(m) and "_diagnostics" not in m
    for f in ("report.txt", "metrics.csv", "seed_metrics.csv", "real_vs_synthetic.png", "pca.png", "nn_distances.png"):
        assert (tmp_path / "ev" / f).is_file(), f
