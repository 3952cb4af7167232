"""The image demo (scikit-learn digits), and augment / ablate on images with the CNN classifier."""

import json

import numpy as np

from image_data import write_medmnist
from vaelab.cli.main import main
from vaelab.modalities.image.demo import run_image_demo


def test_image_demo_on_digits(tmp_path):
    res = run_image_demo(tmp_path / "images", epochs=1, limit=300, cnn_epochs=3, progress=False, log=lambda *a: None)
    assert set(res) == {"vaelab-image", "seed-image-vae"}
    for m in res:
        d = np.load(tmp_path / "images" / m / "synthetic.npz")
        assert d["X"].shape[1:] == (8, 8) and d["X"].min() >= 0 and d["X"].max() <= 16
        assert (tmp_path / "images" / m / "real_vs_synthetic.png").is_file()
    assert "references" in res["vaelab-image"]
    assert (tmp_path / "images" / "comparison.csv").read_text().startswith("metric,vaelab-image,seed-image-vae")


def test_augment_and_ablate_on_images(tmp_path, capsys):
    write_medmnist(tmp_path / "m.npz", size=8, n=(48, 8, 8))
    out = tmp_path / "aug"
    assert main(["augment", str(tmp_path / "m.npz"), "--model", "seed-image-vae", "--classifiers", "cnn,logreg",
                 "--folds", "2", "--seeds", "1", "--factors", "0,1", "--epochs", "1", "--classical", "none",
                 "--quiet", "--out", str(out)]) == 0
    r = json.loads((out / "augment.json").read_text())
    assert r["n_failed_cells"] == 0 and "cnn" in r["classifiers"]
    assert r["settings"]["cnn_budget"] == "real"  # the CNN takes the real part's steps at every factor
    out2 = tmp_path / "abl"
    assert main(["ablate", str(tmp_path / "m.npz"), "--models", "seed-image-vae,ppca", "--folds", "2", "--seeds",
                 "1", "--epochs", "1", "--quiet", "--out", str(out2)]) == 0
    a = json.loads((out2 / "ablation.json").read_text())
    assert a["n_failed_cells"] == 0 and not a["failures"]
    assert 0 <= a["results"]["ppca"]["c2st_auc"]["mean"] <= 1
    assert a["settings"]["cnn_standardise"] is True and a["settings"]["cnn_restarts"] == 0  # its image CNNs' inputs
    capsys.readouterr()
    assert main(["augment", str(tmp_path / "m.npz"), "--classifiers", "cnn", "--split", "nope", "--out",
                 str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_augment_studies_the_image_default_model_on_images(tmp_path, monkeypatch):
    """Without --model, augment on images studies the image default (it studied vaelab-cvae on pixels)."""
    import vaelab.experiments.augment as aug
    from vaelab.data.dataset import Dataset
    from vaelab.data.sample import SampleSpec

    seen = {}
    monkeypatch.setattr(aug, "run_augment_models", lambda ds, models, **kw: seen.setdefault("m", {models[0]: models}))
    rng = np.random.default_rng(0)
    ds = Dataset(X=rng.integers(0, 256, (12, 8, 8)).astype(np.float64), y=np.repeat([0, 1], 6),
                 spec=SampleSpec.image(8, 8, dtype="uint8"))
    assert aug.run_augment(ds) == ["vaelab-image"]
    spectra = Dataset(X=rng.normal(size=(12, 20)), y=np.repeat([0, 1], 6))
    seen.clear()
    assert aug.run_augment(spectra) == ["vaelab-cvae"]
