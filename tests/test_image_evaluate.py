"""Image evaluation: reference rows flagged as they should be, real images never; the CLI end to end."""

import json

import numpy as np
import pytest

from image_data import stripes, write_medmnist
from vaelab.cli.main import main
from vaelab.data.dataset import Dataset
from vaelab.data.sample import SampleSpec
from vaelab.evaluation.image import blur_images, evaluate_images


def _ds(X, y):
    return Dataset(X=X.astype(np.float64), y=y, spec=SampleSpec.image(*X.shape[1:], dtype="uint8"))


@pytest.fixture(scope="module")
def evaluated():
    Xtr, ytr = stripes(120, 12, seed=0)
    Xho, yho = stripes(60, 12, seed=2)
    Xs, ys = stripes(60, 12, seed=7)  # a "generator" that draws new images of the same kind
    return evaluate_images(_ds(Xtr, ytr), _ds(Xs, ys), holdout=_ds(Xho, yho), seed=0, cnn_epochs=10, feature_epochs=5)


def test_reference_rows_flagged_as_expected(evaluated):
    refs = evaluated["references"]
    assert set(refs) == {"real", "class_mean", "train_copies", "blurred_real"}
    for name, row in refs.items():
        assert row["as_expected"], (name, {k: f["reason"] for k, f in row["flags"].items()})
    assert refs["train_copies"]["dcr_ratio"] == 0.0
    assert refs["class_mean"]["c2st_auc"] > 0.9 and refs["blurred_real"]["c2st_auc"] > 0.75
    # new real-like images are flagged for nothing
    assert not any(f["raised"] for f in evaluated["flags"].values())


def test_result_fields(evaluated):
    r = evaluated
    assert r["modality"] == "image" and r["features"]["trained_on"] == "real training images"
    assert 0 <= r["c2st_auc"] <= 1 and r["frechet"] >= 0 and np.isfinite(r["kid"])
    assert set(r["tstr"]) == {"roc_auc", "balanced_accuracy"} and r["tstr_trtr_auc"] > 0.8
    assert set(r["diversity"]) == {"0", "1"}


def test_tstr_gets_the_optimiser_steps_of_trtr(monkeypatch):
    import vaelab.evaluation.image as ev

    calls = []
    real_fn = ev.cnn_utility
    monkeypatch.setattr(ev, "cnn_utility", lambda Xf, *a, **k: (calls.append((len(Xf), k)), real_fn(Xf, *a, **k))[1])
    Xtr, ytr = stripes(130, 12, seed=0)  # 130 real images: 3 batches of 64 per epoch
    Xs, ys = stripes(40, 12, seed=7)  # 40 synthetic images: 1 batch per epoch
    Xho, yho = stripes(30, 12, seed=2)
    r = evaluate_images(_ds(Xtr, ytr), _ds(Xs, ys), holdout=_ds(Xho, yho), seed=0, cnn_epochs=2, feature_epochs=1,
                        references=False)
    tstr = [k for n, k in calls if n == 40]
    trtr = [k for n, k in calls if n == 130]
    assert tstr == [{"seed": 0, "steps": 6}] and trtr == [{"seed": 0, "epochs": 2}]  # 2 epochs x 3 batches
    assert r["classifier"]["tstr_steps"] == 6 and r["classifier"]["standardise"] is True


def test_one_cnn_scored_on_several_test_sets_equals_one_cnn_per_set():
    from vaelab.evaluation.image import cnn_scores, cnn_utility

    Xtr, ytr = stripes(80, 12, seed=0)
    Xa, ya = stripes(30, 12, seed=2)
    Xb, yb = Xa[:, :, ::-1], ya  # stripes mirrored: another test set for the same CNN
    r = cnn_scores(Xtr, ytr, {"a": (Xa, ya), "b": (Xb, yb)}, seed=3, epochs=3)
    assert r["a"] == cnn_utility(Xtr, ytr, Xa, ya, seed=3, epochs=3)
    assert r["b"] == cnn_utility(Xtr, ytr, Xb, yb, seed=3, epochs=3)
    assert r["a"]["roc_auc"] > 0.9  # the stripes' orientation is learnable in 3 epochs
    one = cnn_scores(Xtr[ytr == ytr[0]], ytr[ytr == ytr[0]], {"a": (Xa, ya)})  # one class: nothing to score
    assert np.isnan(one["a"]["roc_auc"]) and np.isnan(one["a"]["balanced_accuracy"])


def test_blur_is_gaussian_over_height_and_width():
    X = np.zeros((1, 9, 9, 2))
    X[0, 4, 4, 0] = 1.0
    B = blur_images(X, 1.0)
    assert B[0, 4, 4, 0] < 1 and B[0, 3, 4, 0] > 0 and np.all(B[..., 1] == 0)  # channels not mixed
    assert B.sum() == pytest.approx(1.0)


def test_cli_train_generate_evaluate(tmp_path, capsys):
    write_medmnist(tmp_path / "m.npz")
    run, syn = tmp_path / "run", tmp_path / "syn.npz"
    assert main(["train", str(tmp_path / "m.npz"), "--epochs", "2", "--quiet", "--out", str(run)]) == 0
    assert "trained vaelab-image" in capsys.readouterr().out  # the default model for images
    assert main(["generate", str(run), "--per-class", "20", "--out", str(syn)]) == 0
    d = np.load(syn)
    assert d["X"].dtype == np.uint8 and d["X"].shape == (40, 12, 12)
    assert main(["generate", str(run), "--per-class", "2", "--out", str(tmp_path / "pngs")]) == 0
    assert len(list((tmp_path / "pngs").rglob("*.png"))) == 4
    out = tmp_path / "ev"
    assert main(["evaluate", "--real", str(tmp_path / "m.npz"), "--synthetic", str(syn), "--holdout",
                 str(tmp_path / "m.npz"), "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_holdout"] == 60 and m["modality"] == "image"  # the test split by default
    for f in ("metrics.csv", "report.txt", "real_vs_synthetic.png", "nearest_training.png", "nn_distances.png"):
        assert (out / f).is_file()
    assert main(["evaluate", "--real", str(tmp_path / "m.npz"), "--synthetic", str(syn), "--holdout",
                 str(tmp_path / "m.npz"), "--holdout-split", "nope", "--out", str(tmp_path / "ev2")]) == 2
    assert not (tmp_path / "ev2").exists()
