"""The HTML report of an image evaluation: written by ``vaelab evaluate`` on images, rendered by ``vaelab report``,
true to the JSON with the image reference rows, refusing damaged folders, read in a headless browser; and the
demo's image part (``images/<model>/``) on the demo's page.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from report_checks import (
    assert_page_matches_json,
    assert_reads_in_browser,
    assert_refused,
    assert_self_contained,
    shown_pointers,
)
from vaelab.cli import main

CLASSES = ["<b>bar</b>", 'a & "b"']
ROWS = ("real", "class_mean", "train_copies", "blurred_real")


def _images(rng: np.random.Generator, per: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images: a bright vertical bar whose column depends on the class, plus noise."""
    X, y = [], []
    for k, c in enumerate(CLASSES):
        for _ in range(per):
            im = rng.normal(0.0, 0.3, (8, 8))
            im[:, 2 + 3 * k:4 + 3 * k] += 2.0
            X.append(im)
            y.append(c)
    return np.asarray(X), np.asarray(y)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("image_report")
    rng = np.random.default_rng(0)
    for name, per in (("real", 12), ("synthetic", 12), ("holdout", 8)):
        X, y = _images(rng, per)
        np.savez(root / f"{name}.npz", X=X, y=y)
    assert main(["evaluate", "--real", str(root / "real.npz"), "--synthetic", str(root / "synthetic.npz"),
                 "--holdout", str(root / "holdout.npz"), "--out", str(root / "evaluate")]) == 0
    return root / "evaluate"


def test_image_evaluate_writes_a_report_true_to_the_json(folder, tmp_path, capsys):
    doc = json.loads((folder / "metrics.json").read_text())
    assert doc["modality"] == "image" and set(doc["references"]) == set(ROWS)
    page = assert_page_matches_json(folder)
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    shown = shown_pointers(page, "metrics.json")
    assert {"/data/feature_shape/0", "/data/feature_shape/1", "/c2st_auc", "/kid", "/tstr/roc_auc"} <= shown
    for row in ROWS:  # every reference row's numbers and its note of flags
        assert {f"/references/{row}/c2st_auc", f"/references/{row}/frechet", f"/references/{row}/dcr_ratio"} <= shown
    for name in doc["flags"]:
        assert f"/flags/{name}/reason" in shown
    for title in ("real vs real", "class mean", "training copies", "blurred real"):
        assert title in text
    n_ok = sum(r["as_expected"] is True for r in doc["references"].values())
    assert text.count('<span class="badge ok">ok</span>') >= n_ok
    assert "Evaluation of synthetic images" in text and "pixels" in text
    from vaelab.metrics.registry import metric
    from vaelab.reporting.html import esc

    for k in ("kid", "tstr_auc", "tstr_trtr_auc"):  # image-only metrics: label and how to read from the registry
        assert f"<td>{esc(metric(k).label)}</td>" in text and f"<td>{esc(metric(k).read)}</td>" in text, k
    assert "real_vs_synthetic.png" in text and "nearest_training.png" in text
    assert "<b>bar</b>" not in text and "&lt;b&gt;bar&lt;/b&gt;" in text  # class names as text, never markup
    out = tmp_path / "again.html"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("how", ["missing key", "reference row damaged", "figure missing"])
def test_damaged_image_folder_is_one_line_exit_2(folder, tmp_path, capsys, how):
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    doc = json.loads((bad / "metrics.json").read_text())
    if how == "missing key":
        del doc["kid"]
    elif how == "reference row damaged":
        doc["references"]["class_mean"]["flags"]["collapse"]["reason"] = 3
    else:
        (bad / "nearest_training.png").unlink()
    (bad / "metrics.json").write_text(json.dumps(doc))
    assert_refused(bad, tmp_path / "out" / "report.html", capsys)


def test_image_report_reads_in_a_headless_browser(folder, tmp_path):
    probe = assert_reads_in_browser(folder / "report.html", tmp_path / "browser", flags=True)
    assert len(probe["images"]) == 3


def _restoration(out, tmp_path):
    """The demo's completion / denoising part (``images/restoration/``) with a tiny vaelab-image run."""
    from test_image_restoration import stripes
    from vaelab.data.dataset import Dataset, Layout
    from vaelab.data.sample import SampleSpec
    from vaelab.modalities.image.restoration_demo import run_restoration_demo
    from vaelab.runs import train_run

    X, y = stripes(40, 8)
    ds = Dataset(X=X.astype(np.float64), y=y, layout=Layout(kind="npz"), spec=SampleSpec.image(8, 8, dtype="uint8"))
    train_run(ds, tmp_path / "run", model="vaelab-image", config={"epochs": 1, "batch_size": 20, "latent_dim": 4},
              progress=False, device="cpu")
    run_restoration_demo(tmp_path / "run", ds.subset(np.r_[0:2, 20:22]), out, n=4, log=lambda *_: None)


def test_demo_page_shows_the_image_part_when_the_demo_ran_it(folder, tmp_path, capsys):
    """A demo-shaped folder: a spectra evaluation saying ``command: demo`` plus ``images/<model>/`` of both models."""
    from vaelab.modalities.image.demo import MODELS

    rng = np.random.default_rng(1)
    demo = tmp_path / "demo"
    real = rng.normal(size=(30, 10)) + np.repeat([0.0, 2.0], 15)[:, None]
    y = np.repeat(["a", "b"], 15)
    np.savez(tmp_path / "r.npz", X=real, y=y)
    np.savez(tmp_path / "s.npz", X=real + rng.normal(0, 0.3, real.shape), y=y)
    assert main(["evaluate", "--real", str(tmp_path / "r.npz"), "--synthetic", str(tmp_path / "s.npz"),
                 "--out", str(demo)]) == 0
    doc = json.loads((demo / "metrics.json").read_text())
    doc.update(command="demo", compare=None, model="seed-cvae")
    (demo / "metrics.json").write_text(json.dumps(doc))
    assert main(["report", str(demo)]) == 0
    assert 'id="images"' not in (demo / "report.html").read_text(encoding="utf-8")  # spectra only: no image part
    for m in MODELS:
        shutil.copytree(folder, demo / "images" / m)
        d = json.loads((demo / "images" / m / "metrics.json").read_text())
        d["model"] = m
        (demo / "images" / m / "metrics.json").write_text(json.dumps(d))
    _restoration(demo / "images" / "restoration", tmp_path)
    assert main(["report", str(demo)]) == 0
    page = assert_page_matches_json(demo)
    rest = "images/restoration/restoration.json"
    assert {w.split("#")[0] for _, w, _ in page.numbers} == {"metrics.json", rest,
                                                             *(f"images/{m}/metrics.json" for m in MODELS)}
    res = json.loads((demo / "images" / "restoration" / "restoration.json").read_text())
    assert {f"/{w}/{m}/{k}" for w in ("inpaint_box", "denoise") for m in res[w] for k in ("psnr", "ssim")} | {
        "/n", "/sigma"} <= shown_pointers(page, rest)
    text = (demo / "report.html").read_text(encoding="utf-8")
    assert 'id="images"' in text and all(f"images/{m}/nearest_training.png" in text for m in MODELS)
    assert 'id="restoration"' in text and "images/restoration/restoration.png" in text
    probe = assert_reads_in_browser(demo / "report.html", tmp_path / "browser", flags=True)
    assert "images/restoration/restoration.png" in {i["file"] for i in probe["images"]}
    alone = tmp_path / "images_only"  # ``vaelab demo --part images``: the image part alone
    shutil.copytree(demo / "images", alone / "images")
    assert main(["report", str(alone)]) == 0
    page = assert_page_matches_json(alone)
    assert {w.split("#")[0] for _, w, _ in page.numbers} == {rest, *(f"images/{m}/metrics.json" for m in MODELS)}
    text = (alone / "report.html").read_text(encoding="utf-8")
    assert 'id="images"' in text and text.count('id="verdict"') == 1
    (alone / "images" / "restoration" / "restoration.png").unlink()  # a damaged restoration part: refused
    capsys.readouterr()
    assert main(["report", str(alone), "--out", str(tmp_path / "x.html")]) == 2
    assert "images/restoration/restoration.png" in capsys.readouterr().err and not (tmp_path / "x.html").exists()
    shutil.rmtree(demo / "images" / MODELS[1])
    capsys.readouterr()
    assert main(["report", str(demo), "--out", str(tmp_path / "x.html")]) == 2
    assert f"images/{MODELS[1]}/metrics.json" in capsys.readouterr().err and not (tmp_path / "x.html").exists()
