"""The image path on MedMNIST-like shapes the development sets lack: PNG class folders given to ``evaluate``."""

import json

from PIL import Image

from image_data import stripes
from vaelab.cli.main import main


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

