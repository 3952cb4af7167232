"""Feature extractors, the metric registry and the typed results (issue 10, evaluation side)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.evaluation.results import AblationResult, AugmentResult, EvaluationResult
from vaelab.evaluation.suite import evaluate_arrays
from vaelab.metrics import c2st_breakdown, frechet_distance, prdc
from vaelab.metrics.features import (
    FEATURE_EXTRACTORS,
    IdentityFeatures,
    PCAFeatures,
    get_extractor,
    parse_features_spec,
    register_features,
)
from vaelab.metrics.registry import (
    ABLATION_METRICS,
    EVALUATE_SUMMARY,
    HEADLINE,
    IMAGE_SUMMARY,
    METRICS,
    RECONSTRUCTION_METRICS,
    SEED_METRICS,
    MetricInfo,
    metric,
    metrics_for,
)


def _two_sets(n=40, d=6, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array(["a", "b"]), n // 2)
    R = rng.normal(size=(n, d)) + (y == "b")[:, None] * 2.0
    S = rng.normal(size=(n, d)) + (y == "b")[:, None] * 2.0 + shift
    return Dataset(X=R, y=y), Dataset(X=S, y=y)


# --------------------------------------------------------------------------- extractors


def test_identity_is_the_flattened_samples():
    X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ext = IdentityFeatures().fit(X)
    F = ext.transform(X)
    assert F.dtype == np.float64 and F.shape == (2, 12)
    np.testing.assert_array_equal(F, X.reshape(2, -1))
    assert ext.describe() == {"name": "identity", "params": {}, "n_features_in": 12, "n_features": 12}


def test_pca_scores_analytic_case():
    # real = (0,0), (2,2): mean (1,1), first axis (1,1)/sqrt(2); (3,3) lies 2*sqrt(2) along it
    ext = PCAFeatures(1).fit(np.array([[0.0, 0.0], [2.0, 2.0]]))
    f = ext.transform(np.array([[3.0, 3.0], [1.0, 1.0]]))
    assert abs(f[0, 0]) == pytest.approx(2 * np.sqrt(2)) and f[1, 0] == pytest.approx(0.0, abs=1e-12)
    d = ext.describe()
    assert d["n_features"] == 1 and d["params"]["explained_variance"] == pytest.approx(1.0)


def test_pca_is_capped_at_the_rank_and_fitted_on_real_only():
    rng = np.random.default_rng(1)
    ext = PCAFeatures(50).fit(rng.normal(size=(5, 8)))
    assert ext.transform(rng.normal(size=(3, 8))).shape == (3, 4)  # n - 1 = 4 components
    with pytest.raises(InputError, match="fitted on 8"):
        ext.transform(np.zeros((2, 7)))


def test_specs_and_unknown_names():
    assert parse_features_spec("pca:20") == ("pca", [20], {})
    assert parse_features_spec("net:epochs=5,width=0.5,kind=x") == ("net", [], {"epochs": 5, "width": 0.5, "kind": "x"})
    assert isinstance(get_extractor("pca:3"), PCAFeatures) and get_extractor("pca:3").n_components == 3
    assert get_extractor(None).name == "identity"
    with pytest.raises(InputError, match="unknown feature extractor 'nope'; choose from .*identity"):
        get_extractor("nope")
    with pytest.raises(InputError, match="n_components"):
        get_extractor("pca:0")


class _FirstColumns:
    """A toy domain extractor: the first ``k`` values; records what it was fitted on."""

    name = "first"
    fitted_on: list = []

    def __init__(self, k: int = 2, *, seed: int = 0) -> None:
        self.k = k

    def fit(self, X, y=None):
        _FirstColumns.fitted_on.append((np.asarray(X).copy(), None if y is None else np.asarray(y).copy()))
        return self

    def transform(self, X):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:, : self.k]

    def describe(self):
        return {"name": self.name, "params": {"k": self.k}, "n_features_in": None, "n_features": self.k}


@pytest.fixture
def first_columns():
    register_features("first", _FirstColumns)
    _FirstColumns.fitted_on = []
    yield _FirstColumns
    FEATURE_EXTRACTORS.pop("first", None)


def test_registered_extractor_is_used_fitted_on_real_training_data_and_recorded(first_columns):
    real, synth = _two_sets()
    hold, _ = _two_sets(seed=3)
    r = evaluate_arrays(real, synth, holdout=hold, seed=0, features="first:2", mmd_permutations=20)
    (X_fit, y_fit), = first_columns.fitted_on
    np.testing.assert_array_equal(X_fit, real.X)
    np.testing.assert_array_equal(y_fit, real.y)
    assert r["features"] == {"name": "first", "params": {"k": 2}, "n_features_in": None, "n_features": 2}
    assert r["c2st"]["features"] == 2
    assert r["precision"] == prdc(real.X[:, :2], synth.X[:, :2], k=5)["precision"]
    assert r["frechet"] == frechet_distance(real.X[:, :2], synth.X[:, :2], seed=0)
    # metrics that are defined on the samples themselves do not move to the feature space
    r_id = evaluate_arrays(real, synth, holdout=hold, seed=0, mmd_permutations=20)
    assert r["seed_metrics"] == r_id["seed_metrics"] and r["tstr"] == r_id["tstr"]


def test_default_features_reproduce_the_raw_metrics():
    real, synth = _two_sets(shift=0.5)
    r = evaluate_arrays(real, synth, seed=0, mmd_permutations=20)
    assert r["features"]["name"] == "identity" and r["features"]["n_features"] == 6
    assert r["c2st_auc"] == c2st_breakdown(real.X, synth.X, seed=0)["auc"]
    assert r["frechet"] == frechet_distance(real.X, synth.X, seed=0)


# --------------------------------------------------------------------------- registry


def test_every_table_key_is_registered_with_a_goal():
    for k in (*EVALUATE_SUMMARY, *ABLATION_METRICS, *HEADLINE, *SEED_METRICS, "diversity[a]"):
        info = metric(k)
        assert info.read and info.label and info.range[0] <= info.range[1]
    assert metric("mmd_p") is metric("mmd_p_value")
    with pytest.raises(KeyError):
        metric("no-such-metric")


def test_goals_read_the_right_way():
    assert metric("c2st_auc").short_goal == "0.5" and metric("c2st_auc").better(0.52, 0.8)
    assert metric("c2st_auc").better(0.49, 0.45)  # 0.49 is closer to 0.5
    assert metric("dcr_ratio").short_goal == ">=1" and metric("dcr_ratio").better(0.9, 0.4)
    assert metric("dcr_ratio").better(1.5, 1.0) is False  # both at or above the target: neither better
    assert metric("mse").better(0.1, 0.2) and metric("cosine").better(0.9, 0.8)
    assert metric("trtr").better(0.9, 0.8) is None
    with pytest.raises(ValueError):
        MetricInfo("x", "x", "sideways", "?")
    with pytest.raises(ValueError):
        MetricInfo("x", "x", "target", "?")  # a target goal needs its target
    assert all(isinstance(v, MetricInfo) for v in METRICS.values())


def test_modality_marks_keep_image_and_audio_metrics_out_of_spectra_tables():
    from vaelab.experiments.ablation import METRICS as ABLATION_GOALS
    from vaelab.reporting.image import SUMMARY

    spectra, image, audio = metrics_for("spectra"), metrics_for("image"), metrics_for("audio")
    for k in ("kid", "tstr_auc", "trtr_auc", "tstr_trtr_auc", "psnr", "ssim", *RECONSTRUCTION_METRICS):
        assert k in METRICS and k not in spectra, k
    assert {"kid", "tstr_auc", "psnr", "ssim", "completion_diversity"} <= set(image)
    assert set(RECONSTRUCTION_METRICS) <= set(audio) and "psnr" not in audio
    for k in (*EVALUATE_SUMMARY, *ABLATION_METRICS, *SEED_METRICS):  # every spectra table's key applies to spectra
        assert metric(k).key in spectra, k
    # the spectra ablation's metrics and goals are what they were before the marks
    assert ABLATION_GOALS == {"c2st_auc": "0.5", "precision": "higher", "recall": "higher", "density": "1",
                              "coverage": "higher", "mmd": "lower", "mmd_p": "higher", "frechet": "lower",
                              "diversity": "1", "dcr_ratio": ">=1", "closer_than_holdout": "lower", "tstr": "higher",
                              "trtr": "reference", "class_specificity": "higher"}
    # the image table reads its hints from the registry (no local copy)
    assert [(k, read) for k, _, read in SUMMARY] == [(k, metric(k).read) for k in IMAGE_SUMMARY]
    assert all(k in image for k in IMAGE_SUMMARY)
    with pytest.raises(ValueError):
        MetricInfo("x", "x", "lower", "?", modalities=("video",))
    with pytest.raises(ValueError):
        metrics_for("video")


# --------------------------------------------------------------------------- typed results


def test_evaluation_result_round_trip_keeps_json_bytes():
    real, synth = _two_sets(shift=0.3)
    hold, _ = _two_sets(seed=5)
    for h in (hold, None):
        d = json.loads(json.dumps(evaluate_arrays(real, synth, holdout=h, seed=0, mmd_permutations=20)))
        r = EvaluationResult.from_dict(d)
        assert json.dumps(r.to_dict()) == json.dumps(d)
        assert EvaluationResult.from_dict(r.to_dict()) == r
        assert r.value("diversity[a]") == d["diversity"]["a"]
    old = {k: v for k, v in d.items() if k != "features"}  # a metrics.json written before extractors
    assert json.dumps(EvaluationResult.from_dict(old).to_dict()) == json.dumps(old)
    newer = {**d, "from_a_later_version": [1, 2]}
    assert EvaluationResult.from_dict(newer).to_dict() == newer
    with pytest.raises(InputError, match="metrics.json: missing field"):
        EvaluationResult.from_dict({k: v for k, v in d.items() if k != "c2st_auc"})


def test_experiment_results_round_trip(tmp_path):
    from vaelab.experiments.ablation import run_ablation
    from vaelab.experiments.augment import run_augment

    rng = np.random.default_rng(0)
    y = np.repeat(np.array([0, 1]), 12)
    ds = Dataset(X=rng.normal(size=(24, 5)) + y[:, None], y=y)
    a = json.loads(json.dumps(run_ablation(ds, "noise", seeds=1, folds=2, c2st_trees=5, mmd_permutations=5)))
    ra = AblationResult.from_dict(a)
    assert json.dumps(ra.to_dict()) == json.dumps(a) and ra.metrics == list(ABLATION_METRICS)
    assert ra.settings["features"] == "identity"
    u = json.loads(json.dumps(run_augment(ds, model="noise", factors="0,1", classifiers="knn", folds=2, seeds=1,
                                          classical="none")))
    ru = AugmentResult.from_dict(u)
    assert json.dumps(ru.to_dict()) == json.dumps(u)
    assert ru.generator_results()[0][0] == "noise"


# --------------------------------------------------------------------------- command line


def test_evaluate_features_option(tmp_path, capsys):
    from vaelab.data.io import write_data

    real, synth = _two_sets(shift=0.2)
    write_data(real, tmp_path / "real.npz")
    write_data(synth, tmp_path / "synth.npz")
    out = tmp_path / "ev"
    assert main(["evaluate", "--real", str(tmp_path / "real.npz"), "--synthetic", str(tmp_path / "synth.npz"),
                 "--features", "pca:3", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["features"]["name"] == "pca" and m["features"]["n_features"] == 3 and m["c2st"]["features"] == 3
    assert "computed on pca features" in (out / "report.txt").read_text()
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert main(["evaluate", "--real", str(tmp_path / "real.npz"), "--synthetic", str(tmp_path / "synth.npz"),
                 "--features", "nope", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: unknown feature extractor") and len(err.strip().splitlines()) == 1
    assert not bad.exists()
