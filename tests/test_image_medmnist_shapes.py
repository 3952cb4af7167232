"""The image path on MedMNIST-like shapes the development sets lack: PNG class folders given to ``evaluate``,
classes of a few images (the per-class spread and the collapse flag), a class too small for a ratio in the table,
labels stored as (n, 1)."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from image_data import stripes
from vaelab.cli.main import main
from vaelab.data.dataset import Dataset
from vaelab.data.sample import SampleSpec
from vaelab.evaluation.image import evaluate_images
from vaelab.metrics.diversity import MIN_IMAGES_PER_CLASS, mean_spread, spread_ratio
from vaelab.reporting.image import _flat_row


def _ds(X, y):
    return Dataset(X=np.asarray(X, dtype=np.float64), y=np.asarray(y),
                   spec=SampleSpec.image(*X.shape[1:], dtype="uint8"))


def _png_folder(root, X, y, names):
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i, img in enumerate(X[y == k]):
            Image.fromarray(img).save(root / name / f"{i:03d}.png")


def test_evaluate_reads_png_class_folders(tmp_path):
    # a folder of PNG class folders is image data (train and generate read / write it); evaluate took it for audio
    names = ("horizontal", "vertical")
    X, y = stripes(40, 12, seed=0)
    Xs, ys = stripes(20, 12, seed=5)
    _png_folder(tmp_path / "real", X, y, names)
    _png_folder(tmp_path / "syn", Xs, ys, names)
    out = tmp_path / "ev"
    assert main(["evaluate", "--real", str(tmp_path / "real"), "--synthetic", str(tmp_path / "syn"),
                 "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["modality"] == "image" and m["n_real"] == 40 and m["n_synthetic"] == 20
    assert set(m["diversity"]) == set(names)  # the folder names are the classes


def test_spread_ratio_min_per_class():
    rng = np.random.default_rng(0)
    real, syn = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    y = np.array([0] * 5 + [1] * 4)
    expected = mean_spread(syn[:5]) / mean_spread(real[:5])
    default = spread_ratio(real, syn, y, y)
    assert default[0] == pytest.approx(expected) and np.isfinite(default[1])  # 2 per side: as before
    gated = spread_ratio(real, syn, y, y, min_per_class=5)
    assert gated[0] == pytest.approx(expected) and math.isnan(gated[1])  # 4 < 5: no ratio, the class still listed
    assert np.isfinite(spread_ratio(real, syn, y, y, min_per_class=1)[1])  # never below the sd's own 2
    assert MIN_IMAGES_PER_CLASS == 5


def test_no_collapse_raised_from_a_class_of_three_images():
    # class 1 has 3 real training images and 2 synthetic ones that are nearly alike: a ratio of 2 vs 3 images is
    # noise (real images alone go below 0.5), so the class gets no ratio and the flag says it was not computed
    X0, _ = stripes(60, 12, seed=0)
    X0 = X0[::2][:30]
    X1, _ = stripes(6, 12, seed=3)
    X1 = X1[1::2]
    real = _ds(np.concatenate([X0, X1]), np.array([0] * 30 + [1] * 3))
    Xs0 = stripes(60, 12, seed=9)[0][::2][:30]
    Xs1 = np.stack([X1[0], np.clip(X1[0].astype(int) + 1, 0, 255).astype(np.uint8)])
    syn = _ds(np.concatenate([Xs0, Xs1]), np.array([0] * 30 + [1] * 2))
    r = evaluate_images(real, syn, seed=0, cnn_epochs=2, feature_epochs=2, references=False, c2st_folds=2)
    assert math.isnan(r["diversity"]["1"]) and np.isfinite(r["diversity"]["0"])
    collapse = r["flags"]["collapse"]
    assert collapse["raised"] is None and "not computed for classes ['1']" in collapse["reason"]


def test_smallest_spread_in_the_table_skips_classes_without_a_ratio():
    row = {"diversity": {"0": float("nan"), "1": 0.8, "2": 0.9}}
    assert _flat_row(row)["spread_min"] == 0.8
    assert _flat_row({"diversity": {"0": float("nan")}})["spread_min"] is None


def test_plain_npz_takes_labels_of_shape_n_by_1(tmp_path):
    # MedMNIST stores labels as (n, 1); its layout was read so, a plain X / y npz with such a y was refused
    from vaelab.data.io import load_data

    X, y = stripes(10, 8)
    np.savez(tmp_path / "a.npz", X=X, y=y[:, None].astype(np.uint8))
    np.savez(tmp_path / "b.npz", X=X, y=y)
    a, b = load_data(tmp_path / "a.npz"), load_data(tmp_path / "b.npz")
    assert np.array_equal(a.y, b.y) and a.y.dtype == b.y.dtype and np.array_equal(a.X, b.X)
    np.savez(tmp_path / "c.npz", X=X, y=np.stack([y, y], axis=1))
    with pytest.raises(Exception, match="one label per sample"):
        load_data(tmp_path / "c.npz")  # two labels per image: still refused
