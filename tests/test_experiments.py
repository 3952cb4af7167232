"""The experiment layer: splits, statistics, classifiers, runner, augmentation study, ablation, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.preprocess import Preprocessing
from vaelab.experiments.ablation import run_ablation, write_ablation
from vaelab.experiments.augment import (
    augment_scores,
    parse_factors,
    run_augment,
    run_augment_models,
    summarise_augment,
    write_augment,
)
from vaelab.experiments.classifiers import PLSDA, fit_and_score, macro_auc
from vaelab.experiments.common import class_counts, fold_data, make_splits, scaled_counts, shared_data
from vaelab.experiments.runner import is_failure, run_cells
from vaelab.experiments.splits import fold_splits
from vaelab.experiments.stats import holm, min_wilcoxon_p, paired_wilcoxon, summarise
from vaelab.metrics.utility import trtr
from vaelab.models import get_model

# ---------------------------------------------------------------------------- data helpers


def noise_data(seed: int = 2, n: int = 150, d: int = 20, k: int = 3) -> Dataset:
    """Pure-noise features, labels assigned at random: nothing to learn, chance is 1/k."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.asarray([chr(ord("a") + i) for i in range(k)], dtype=object)[rng.permutation(np.arange(n) % k)]
    return Dataset(X=X, y=y)


def patient_data(seed: int = 0, patients: int = 30, per: int = 5, d: int = 16) -> Dataset:
    """Each patient has a strong individual signature and one random label: only leakage can predict it."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(["x", "y", "z"], dtype=object)[rng.permutation(np.arange(patients) % 3)]
    centres = rng.normal(scale=5.0, size=(patients, d))
    X = np.repeat(centres, per, axis=0) + rng.normal(scale=0.3, size=(patients * per, d))
    return Dataset(X=X, y=np.repeat(labels, per), groups=np.repeat(np.arange(patients), per))


def separable_data(n_per: int = 12, d: int = 30, seed: int = 0) -> Dataset:
    centres = np.random.default_rng(99).normal(scale=1.5, size=(3, d))  # same class centres for every seed
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(loc=centres[k], size=(n_per, d)) for k in range(3)])
    y = np.repeat(np.asarray(["p", "q", "r"], dtype=object), n_per)
    return Dataset(X=X, y=y)


# ---------------------------------------------------------------------------- splits


def test_group_splits_keep_every_group_on_one_side_and_cover_all_samples():
    ds = patient_data()
    splits = fold_splits(ds.y, ds.groups, folds=5, seed=3)
    assert len(splits) == 5
    tested = np.concatenate([te for _, te in splits])
    assert np.array_equal(np.sort(tested), np.arange(ds.n))  # every sample tested exactly once
    for tr, te in splits:
        assert not set(ds.groups[tr]) & set(ds.groups[te])
        assert len(np.intersect1d(tr, te)) == 0
    again = fold_splits(ds.y, ds.groups, folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    other = fold_splits(ds.y, ds.groups, folds=5, seed=4)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits, other, strict=True))


def test_ungrouped_splits_are_stratified():
    y = np.repeat(np.array(["a", "b", "c"]), [10, 20, 30])
    for _, te in fold_splits(y, None, folds=5, seed=0):
        _, counts = np.unique(y[te], return_counts=True)
        assert counts.tolist() == [2, 4, 6]


def test_split_errors_are_input_errors():
    y = np.repeat(np.array(["a", "b"]), [3, 10])
    with pytest.raises(InputError, match="fewer samples than --folds 5"):
        fold_splits(y, None, folds=5)
    with pytest.raises(InputError, match="only 3 distinct groups"):
        fold_splits(np.array(["a", "b"] * 3), np.array([1, 1, 2, 2, 3, 3]), folds=4)
    with pytest.raises(InputError, match="at least 2"):
        fold_splits(y, None, folds=1)


# ---------------------------------------------------------------------------- statistics


def test_summarise_counts_failures_instead_of_dropping_them():
    s = summarise([1.0, None, 3.0, float("nan")])
    assert s["mean"] == 2.0
    assert s["std"] == pytest.approx(math.sqrt(2.0))
    assert (s["n"], s["n_failed"]) == (4, 2)
    assert s["values"] == [1.0, None, 3.0, None]
    assert summarise([None, None])["mean"] is None


def test_paired_wilcoxon_known_values():
    five = paired_wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0])
    assert five["p"] == pytest.approx(0.0625)  # 2 / 2**5: the smallest two-sided p with 5 pairs
    assert five["min_p_possible"] == pytest.approx(0.0625)
    assert (five["wins"], five["losses"], five["diff_mean"]) == (5, 0, 3.0)
    ten = paired_wilcoxon(np.arange(1, 11) * 0.01, np.zeros(10))
    assert ten["p"] == pytest.approx(2 / 1024)
    same = paired_wilcoxon([0.5, 0.7, 0.9], [0.5, 0.7, 0.9])
    assert same["p"] == 1.0 and same["n_nonzero"] == 0
    # pairs with a missing side are left out
    part = paired_wilcoxon([1.0, None, 2.0], [0.0, 0.0, None])
    assert part["n_pairs"] == 1
    assert min_wilcoxon_p(10) == pytest.approx(0.001953125)


def test_holm_known_values():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


# ---------------------------------------------------------------------------- classifiers


def test_macro_auc_known_value():
    y = np.array(["a", "a", "b", "b"])
    scores = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.2, 0.8]])
    # class a: positives 0.9, 0.4 vs negatives 0.6, 0.2 -> 3 of 4 pairs ordered -> 0.75; class b the same
    assert macro_auc(y, scores, np.array(["a", "b"])) == pytest.approx(0.75)
    assert math.isnan(macro_auc(np.array(["a", "a"]), scores[:2], np.array(["a", "b"])))


@pytest.mark.parametrize("name", ["logreg", "svm", "plsda", "rf", "knn"])
def test_every_classifier_separates_separable_classes(name):
    tr, te = separable_data(seed=0), separable_data(n_per=5, seed=1)
    s = fit_and_score(name, tr.X, tr.y, te.X, te.y, seed=0, trees=20)
    assert s["balanced_accuracy"] == 1.0
    assert s["roc_auc"] == 1.0


def test_plsda_caps_components_and_predicts_labels():
    tr = separable_data(n_per=2, d=3)
    m = PLSDA(n_components=10).fit(tr.X, tr.y)
    assert m.pls_.n_components == 3  # min(10, n - 1 = 5, d = 3)
    assert set(m.predict(tr.X)) <= {"p", "q", "r"}
    assert m.decision_function(tr.X).shape == (6, 3)


# ---------------------------------------------------------------------------- runner


def _cell_square(shared, cell):
    if cell["i"] == 2:
        raise ValueError("cell two is broken")
    return {"value": shared["offset"] + cell["i"] ** 2}


def test_runner_keeps_order_and_records_failures():
    out = run_cells(_cell_square, [{"i": i} for i in range(4)], {"offset": 10})
    assert [o.get("value") for o in out] == [10, 11, None, 19]
    assert is_failure(out[2]) and out[2]["error"] == "ValueError: cell two is broken"
    with pytest.raises(InputError, match="unknown backend"):
        run_cells(_cell_square, [], backend="dask")
    with pytest.raises(InputError, match="--jobs"):
        run_cells(_cell_square, [], jobs=0)


def test_ray_backend_without_ray_is_a_clear_input_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(InputError, match="pip install 'vaelab\\[ray\\]'"):
        run_cells(_cell_square, [{"i": 0}], backend="ray")


def test_process_pool_gives_the_same_results_as_in_process():
    ds = separable_data()
    kw = dict(model="noise", factors="0,1", classifiers="knn", folds=3, seeds=1, classical="none",
              preprocess="standard")
    one = run_augment(ds, jobs=1, **kw)
    two = run_augment(ds, jobs=2, **kw)
    assert one["results"] == two["results"]
    assert one["n_failed_cells"] == two["n_failed_cells"] == 0


# ---------------------------------------------------------------------------- augmentation study


def test_parse_factors_keeps_text_and_adds_zero():
    assert parse_factors("5,0.5") == [("0", 0.0), ("0.5", 0.5), ("5", 5.0)]
    assert parse_factors([0, 2.5]) == [("0", 0.0), ("2.5", 2.5)]
    for bad, msg in (("1,x", "not a number"), ("0,-1", ">= 0"), ("1,1.0", "twice"), ("", "no augmentation")):
        with pytest.raises(InputError, match=msg):
            parse_factors(bad)


def test_scaled_counts_round_half_up():
    assert scaled_counts({"a": 3, "b": 4}, 0.5) == {"a": 2, "b": 2}
    assert scaled_counts({"a": 3}, 0.0) == {"a": 0}


def test_leak_check_smote_on_noise_stays_at_chance_but_a_leaky_smote_does_not():
    """Pure noise, random labels: nothing generalises, so balanced accuracy must stay at 1/3.

    Band: over one seed every sample is tested once, so the mean balanced accuracy of a
    chance classifier has sd ~ sqrt(p (1 - p) / n) = sqrt(2/9 / 150) = 0.038; 3 sd = 0.115.
    The deliberately leaky variant (SMOTE fitted on train + test, test labels included) puts
    synthetic points next to every test point with its label; kNN then finds them.
    """
    ds = noise_data()
    band = 3 * math.sqrt((1 / 3) * (2 / 3) / ds.n)
    r = run_augment(ds, model="smote", factors="0,5", classifiers="knn", folds=5, seeds=2, classical="none",
                    preprocess="standard")
    honest = r["results"]["5"]["knn"]["balanced_accuracy"]
    assert honest["n"] == 10 and honest["n_failed"] == 0
    assert abs(honest["mean"] - 1 / 3) < band
    assert abs(r["results"]["0"]["knn"]["balanced_accuracy"]["mean"] - 1 / 3) < band

    leaky = []
    for s in range(2):
        for tr, te in fold_splits(ds.y, None, folds=5, seed=s):
            pre = Preprocessing.from_spec("standard")
            Xtr, Xte = pre.fit_transform(ds.X[tr]), pre.transform(ds.X[te])
            gen = get_model("smote").fit(np.concatenate([Xtr, Xte]), np.concatenate([ds.y[tr], ds.y[te]]), seed=s)
            Xs, ys = gen.sample(scaled_counts(class_counts(ds.y[tr]), 5.0), seed=s)
            sc = augment_scores(Xtr, ds.y[tr], Xte, ds.y[te], Xs, ys, [("5", 5.0)], ["knn"], seed=s)
            leaky.append(sc["5"]["knn"]["balanced_accuracy"])
    assert np.mean(leaky) > 1 / 3 + 2 * band  # the check can fail: a leak lifts it far out of the band


def test_group_aware_folds_prevent_patient_leakage_in_the_study():
    """Labels are random per patient; only a patient on both sides of a split makes them predictable."""
    ds = patient_data()
    kw = dict(model="noise", factors="0,1", classifiers="knn", folds=5, seeds=1, classical="none",
              preprocess="none")
    grouped = run_augment(ds, **kw)
    leaky = run_augment(Dataset(X=ds.X, y=ds.y), **kw)  # the same data without its groups
    assert grouped["data"]["grouped"] and grouped["data"]["n_groups"] == 30
    band = 3 * math.sqrt((1 / 3) * (2 / 3) / 30)  # 30 independent patients
    assert abs(grouped["results"]["0"]["knn"]["balanced_accuracy"]["mean"] - 1 / 3) < band
    assert leaky["results"]["0"]["knn"]["balanced_accuracy"]["mean"] > 0.9


def test_augment_json_layout_and_files(tmp_path):
    ds = separable_data()
    r = run_augment(ds, model="ppca", factors="0,0.5,2", classifiers="knn,plsda", folds=3, seeds=1,
                    classical="noise,mixup", preprocess="standard")
    assert r["factors"] == ["0", "0.5", "2"]
    assert set(r["results"]) == {"0", "0.5", "2"}
    for k in r["factors"]:
        for c in ("knn", "plsda"):
            for m in ("balanced_accuracy", "roc_auc"):
                s = r["results"][k][c][m]
                assert set(s) >= {"mean", "std", "values"} and len(s["values"]) == 3
                assert s["mean"] == pytest.approx(np.mean(s["values"]))
    assert r["results"]["0"]["knn"]["balanced_accuracy"]["mean"] == 1.0  # separable data
    assert set(r["classical_results"]) == {"noise", "mixup"}
    assert r["best_classical"]["knn"]["generator"] in {"noise", "mixup"}
    assert r["recommended_factor"] == "0"
    assert "no significant gain" in r["verdict"]
    assert any("smallest attainable" in n for n in r["notes"])  # 3 pairs cannot reach p < 0.05
    out = write_augment(r, tmp_path / "aug")
    assert json.loads((out / "augment.json").read_text())["results"] == json.loads(json.dumps(r["results"]))
    assert (out / "augment.png").stat().st_size > 10_000
    assert "recommended factor: 0" in (out / "augment.txt").read_text()


def test_several_models_share_baseline_and_classical_cells():
    ds = separable_data()
    kw = dict(factors="0,1", classifiers="knn", folds=3, seeds=1, classical="mixup", preprocess="standard")
    both = run_augment_models(ds, ["ppca", "noise"], **kw)
    alone = run_augment(ds, model="noise", **kw)
    assert both["noise"]["results"] == alone["results"]
    assert both["ppca"]["results"]["0"] == alone["results"]["0"]
    assert both["ppca"]["classical_results"] == alone["classical_results"]
    assert both["ppca"]["n_cells"] == alone["n_cells"] == 9  # baseline + model + classical per fold


def test_failed_cells_are_reported_not_dropped():
    ds = separable_data()
    r = run_augment(ds, model="ppca", model_config={"n_components": -1}, factors="0,1", classifiers="knn",
                    folds=3, seeds=1, classical="none", preprocess="standard")
    s = r["results"]["1"]["knn"]["balanced_accuracy"]
    assert s["mean"] is None and s["n_failed"] == 3 and s["values"] == [None, None, None]
    assert r["n_failed_cells"] == 3
    assert len([f for f in r["failures"] if f["generator"] == "ppca"]) == 3
    assert r["results"]["0"]["knn"]["balanced_accuracy"]["n_failed"] == 0


def _fake_study(gain: float, folds: int = 5, seeds: int = 2):
    """Hand-made cell results: classifier 'knn' gains ``gain`` at factor 2 in every cell, 'svm' nothing."""
    cells, raw = [], []
    rng = np.random.default_rng(0)
    for s in range(seeds):
        for k in range(folds):
            base = {c: 0.6 + 0.01 * rng.integers(0, 10) for c in ("knn", "svm")}
            cells.append({"role": "baseline", "generator": None, "seed": s, "fold": k})
            raw.append({"scores": {"0": {c: {"balanced_accuracy": v, "roc_auc": v} for c, v in base.items()}},
                        "seconds": {"a": 0.0}})
            up = {"knn": base["knn"] + gain * (1 + 0.1 * k + 0.05 * s), "svm": base["svm"]}
            cells.append({"role": "model", "generator": "m", "seed": s, "fold": k})
            raw.append({"scores": {"2": {c: {"balanced_accuracy": v, "roc_auc": v} for c, v in up.items()}},
                        "seconds": {"a": 0.0}})
    return summarise_augment(separable_data(), cells, raw, model="m", factors=[("0", 0.0), ("2", 2.0)],
                             classical_factors=[("0", 0.0), ("2", 2.0)], classifiers=["knn", "svm"], classical=[],
                             seeds=seeds, folds=folds, preprocess="none", alpha=0.05, wall=0.0, settings={})


def test_recommendation_and_verdict_follow_the_tests():
    win = _fake_study(0.05)
    t = win["tests"]["2"]["knn"]["vs_0"]["balanced_accuracy"]
    assert t["p"] == pytest.approx(2 / 1024) and t["p_holm"] == pytest.approx(4 / 1024)
    assert win["tests"]["2"]["svm"]["vs_0"]["balanced_accuracy"]["p"] == 1.0
    assert win["recommended_factor"] == "2"
    assert win["significant_gain"] == {"2": ["knn"]}
    assert "significantly raises" in win["verdict"] and "no significant gain" not in win["verdict"]

    flat = _fake_study(0.0)
    assert flat["recommended_factor"] == "0"
    assert "no significant gain" in flat["verdict"]

    small = _fake_study(0.05, folds=5, seeds=1)  # 5 pairs: p >= 0.0625, cannot be significant
    assert small["recommended_factor"] == "0"
    assert "no significant gain" in small["verdict"]
    assert any("0.0625" in n for n in small["notes"])


# ---------------------------------------------------------------------------- ablation


def _coffee_small() -> Dataset:
    from vaelab.datasets import coffee

    ds = coffee().subset(np.arange(0, 60, 2))  # 30 spectra, 10 per class
    return Dataset(X=ds.X[:, ::8], y=ds.y, axis=ds.axis[::8])  # every 8th point: 231 features


def test_ablation_on_coffee_subset(tmp_path):
    ds = _coffee_small()
    r = run_ablation(ds, "ppca,seed-vae", seeds=1, folds=3, epochs=2, c2st_trees=20, mmd_permutations=20)
    assert r["preprocess"] == "minmax" and r["reference_model"] == "ppca"
    keys = {"c2st_auc", "precision", "recall", "density", "coverage", "mmd", "frechet", "diversity", "dcr_ratio",
            "tstr", "trtr", "class_specificity"}
    assert keys <= set(r["results"]["ppca"])
    for m in keys:
        for n in ("ppca", "seed-vae"):
            assert len(r["results"][n][m]["values"]) == 3
    assert r["n_failed_cells"] == 0
    # TRTR does not depend on the generator: same folds, same classifier -> identical in every cell
    assert r["results"]["ppca"]["trtr"]["values"] == r["results"]["seed-vae"]["trtr"]["values"]
    # and it is the TRTR of the fold in model space, preprocessing fitted on the training part
    d = fold_data(shared_data(ds, make_splits(ds, folds=3, seeds=1), "minmax"), 0, 1)
    from vaelab.experiments.splits import cell_seed

    want = trtr(d["X_train"], [str(v) for v in d["y_train"]], d["X_test"], [str(v) for v in d["y_test"]],
                seed=cell_seed(0, 1))
    assert r["results"]["ppca"]["trtr"]["values"][1] == pytest.approx(want)
    assert set(r["tests_vs_reference"]) == {"seed-vae"}
    out = write_ablation(r, tmp_path / "abl")
    assert json.loads((out / "ablation.json").read_text())["models"] == ["ppca", "seed-vae"]
    assert (out / "ablation.png").stat().st_size > 10_000
    assert "seed-vae" in (out / "ablation.txt").read_text()


# ---------------------------------------------------------------------------- CLI


def _npz(tmp_path, ds: Dataset) -> str:
    p = tmp_path / "data.npz"
    extra = {} if ds.groups is None else {"groups": ds.groups}
    np.savez(p, X=ds.X, y=np.asarray([str(v) for v in ds.y]), **extra)
    return str(p)


def test_cli_augment_and_ablate(tmp_path, capsys):
    data = _npz(tmp_path, patient_data(patients=12, per=3, d=8))
    rc = main(["augment", data, "--model", "noise", "--factors", "0,0.5", "--classifiers", "knn", "--folds", "3",
               "--seeds", "1", "--classical", "none", "--preprocess", "none", "--quiet", "--out", str(tmp_path / "a")])
    assert rc == 0
    res = json.loads((tmp_path / "a" / "augment.json").read_text())
    assert list(res["results"]) == ["0", "0.5"] and res["data"]["grouped"]
    assert "recommended factor" in capsys.readouterr().out
    rc = main(["ablate", data, "--models", "ppca,noise", "--folds", "2", "--seeds", "1", "--c2st-trees", "10",
               "--mmd-permutations", "10", "--preprocess", "none", "--quiet", "--out", str(tmp_path / "b")])
    assert rc == 0
    assert json.loads((tmp_path / "b" / "ablation.json").read_text())["models"] == ["ppca", "noise"]


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    data = _npz(tmp_path, separable_data())
    rc = main(["augment", data, "--model", "ppca", "--factors", "0,-2", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "-2" in err
    rc = main(["ablate", data, "--models", "ppca,nope", "--out", str(tmp_path / "y")])
    assert rc == 2 and "unknown model" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
