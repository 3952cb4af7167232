"""Pages of the result folders of ``reconstruct``, ``latent``, ``inpaint --report`` and ``restore --report``,
and the demo's audio part on the demo page: written by the commands, rendered again by ``vaelab report``, true
to their JSON, refusing damaged folders (one line, exit 2, nothing written), read in a headless browser.

Tiny runs (an audio VAE on six sine / chirp / noise clips of 0.5 s, an image VAE on 8x8 stripes) trained
for one or two epochs: the pages are checked, not the models.
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


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    from audio_data import tiny_audio_run

    d = tmp_path_factory.mktemp("audio_pages")
    assert tiny_audio_run(d, per_class=2, epochs=1, width=16, latent_channels=8) == 0
    assert main(["reconstruct", str(d / "run"), "--input", str(d / "clips"), "--enhance", "none,laplacian:1.5,eq",
                 "--gl-iter", "2", "--bootstrap", "50", "--out", str(d / "rec")]) == 0
    return d


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from image_data import tiny_image_run

    d = tmp_path_factory.mktemp("image_pages")
    X, y = tiny_image_run(d, 40)
    pick = np.r_[0:4, 20:24]  # a few images of both classes: completion and denoising are the slow parts
    np.savez(d / "few.npz", X=X[pick], y=y[pick])
    noisy = X[pick] / 255 + 0.2 * np.random.default_rng(0).standard_normal(X[pick].shape)
    np.savez(d / "noisy.npz", X=noisy, y=y[pick])
    np.savez(d / "clean.npz", X=X[pick] / 255, y=y[pick])
    run = str(d / "run")
    assert main(["inpaint", run, "--input", str(d / "few.npz"), "--mask", "center:0.25", "--samples", "2",
                 "--out", str(d / "done.npz"), "--report", str(d / "inpaint")]) == 0
    assert main(["restore", run, "--input", str(d / "noisy.npz"), "--unit", "--out", str(d / "r.npz"),
                 "--report", str(d / "restore"), "--reference", str(d / "clean.npz")]) == 0
    assert main(["restore", run, "--input", str(d / "noisy.npz"), "--unit", "--out", str(d / "r2.npz"),
                 "--report", str(d / "restore_noref")]) == 0
    assert main(["latent", run, "--input", str(d / "x.npz"), "--out", str(d / "latent")]) == 0
    return d


def _again(folder, tmp_path):
    """``vaelab report`` renders the folder to the same page the command wrote."""
    out = tmp_path / "again.html"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (folder / "report.html").read_text(encoding="utf-8")


def test_reconstruct_page_is_true_to_the_json(audio, tmp_path):
    folder = audio / "rec"
    doc = json.loads((folder / "reconstruction.json").read_text())
    assert doc["command_line"].startswith("vaelab reconstruct ") and doc["vaelab_version"]
    page = assert_page_matches_json(folder)
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    shown = shown_pointers(page, "reconstruction.json")
    for m in ("front_end", "vocoder", "none", "laplacian", "eq"):  # every method's means, the two reference rows too
        assert {f"/means/{m}/lsd_full", f"/means/{m}/lsd_high", f"/means/{m}/mel_distance", f"/means/{m}/mrstft",
                f"/means/{m}/snr_db", f"/means/{m}/correlation"} <= shown, m
    for name in doc["comparisons"]:  # every paired interval
        assert {f"/comparisons/{name}/lsd_high/ci_low", f"/comparisons/{name}/lsd_high/ci_high"} <= shown, name
    assert {"/retention_ci/none/high/ci_low", "/conventions/phase", "/mel/hop", "/vocoder/n_iter"} <= shown
    verdict = text[text.index('id="verdict"'):text.index("</p>", text.index('id="verdict"'))]
    assert "vocoder alone" in verdict and "against none" in verdict and "against eq" in verdict
    helps = doc["targets"]["enhancement_helps_vs_eq"]["laplacian"]
    assert ("Enhancements that help" in verdict) == helps and ("No enhancement helps" in verdict) == (not helps)
    assert "spectrograms.png" in text and "band_retention.png" in text
    _again(folder, tmp_path)


def test_image_pages_are_true_to_the_json(images, tmp_path):
    inp = json.loads((images / "inpaint" / "completion.json").read_text())
    assert inp["methods"] == ["vaelab-image", "biharmonic", "observed mean fill"] and inp["data_range"] == 255
    assert inp["missing_fraction"] == 0.25 and inp["samples"] == 2 and inp["diversity"]["mean"] >= 0
    with np.load(images / "done.npz") as z:  # the npz is the command's usual output, complete
        assert z["X"].shape == (8, 8, 8) and z["samples"].shape == (8, 2, 8, 8)
    assert not (images / "inpaint" / "completed.npz").exists()
    page = assert_page_matches_json(images / "inpaint", min_numbers=15)
    assert {"/region/vaelab-image/psnr", "/region/biharmonic/psnr", "/whole/observed mean fill/ssim",
            "/diversity/mean"} <= shown_pointers(page, "completion.json")
    res = json.loads((images / "restore" / "restoration.json").read_text())
    assert set(res["quality"]) == {"noisy input", "vaelab-image"} and res["data_range"] == 1.0
    page = assert_page_matches_json(images / "restore", min_numbers=8)
    assert {"/quality/noisy input/psnr", "/quality/vaelab-image/ssim", "/sigma/mean"} <= shown_pointers(
        page, "restoration.json")
    noref = json.loads((images / "restore_noref" / "restoration.json").read_text())
    assert noref["quality"] == {} and noref["reference"] is None
    assert_page_matches_json(images / "restore_noref", min_numbers=4)
    assert "no quality numbers" in (images / "restore_noref" / "report.html").read_text(encoding="utf-8")
    lat = json.loads((images / "latent" / "latent.json").read_text())
    assert lat["n"] == 40 and lat["latent_dim"] == 4 and lat["class_counts"] == [20, 20]
    page = assert_page_matches_json(images / "latent", min_numbers=10)
    assert {"/explained_variance/0", "/centroid_accuracy", "/chance_accuracy"} <= shown_pointers(page, "latent.json")
    for name in ("inpaint", "restore", "restore_noref", "latent"):
        assert_self_contained((images / name / "report.html").read_text(encoding="utf-8"))
        _again(images / name, tmp_path)


def test_centroid_accuracy_known_values():
    from vaelab.modalities.image.latent_maps import centroid_accuracy

    mu = np.array([[0.0, 0], [0.2, 0], [5, 5], [5.2, 5]])
    assert centroid_accuracy(mu, np.array(["a", "a", "b", "b"])) == 1.0
    # codes that do not carry the class: each point is nearer the other class's (left-out) mean
    assert centroid_accuracy(mu, np.array(["a", "b", "a", "b"])) == 0.0
    assert centroid_accuracy(mu, np.array(["a", "a", "a", "b"])) is None  # one image in a class


def test_inpaint_report_refuses_before_writing(images, tmp_path, capsys):
    run = str(images / "run")
    for args, msg in ((["--out", str(tmp_path / "o.npz"), "--report", str(tmp_path)], "inside the report folder"),
                      (["--out", str(tmp_path / "o.txt"), "--report", str(tmp_path / "r")], ".npz"),
                      (["--mask", "box:1", "--out", str(tmp_path / "o.npz"), "--report", str(tmp_path / "r")],
                       "unknown mask")):
        mask = [] if "--mask" in args else ["--mask", "half"]
        capsys.readouterr()
        assert main(["inpaint", run, "--input", str(images / "few.npz"), *mask, *args]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, err
        assert not (tmp_path / "o.npz").exists() and not (tmp_path / "r").exists()
    capsys.readouterr()
    assert main(["restore", run, "--input", str(images / "noisy.npz"), "--out", str(tmp_path / "o.npz"),
                 "--report", str(tmp_path / "r"), "--reference", str(images / "x.npz")]) == 2
    assert "the reference holds 40 images" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "r").exists()


def _damage(folder, name, how):
    path = folder / name
    doc = json.loads(path.read_text())
    if how == "figure missing":
        next(folder.glob("*.png")).unlink()
        return
    if how == "not json":
        path.write_text("{")
        return
    edits = {
        "reconstruction.json": {"missing key": lambda d: d["means"].pop("vocoder"),
                                "wrong type": lambda d: d["comparisons"]["eq_vs_none"]["lsd_high"].update(ci_low="x"),
                                "method without means": lambda d: d["methods"].append("noise")},
        "latent.json": {"missing key": lambda d: d.pop("total_variance"),
                        "wrong type": lambda d: d.update(class_counts=["20", 20]),
                        "lists disagree": lambda d: d["classes"].append("2")},
        "completion.json": {"missing key": lambda d: d["region"]["biharmonic"].pop("psnr"),
                            "wrong type": lambda d: d.update(missing_fraction=True),
                            "method without numbers": lambda d: d["methods"].append("nlm")},
        "restoration.json": {"missing key": lambda d: d["sigma"].pop("mean"),
                             "wrong type": lambda d: d["quality"]["vaelab-image"].update(psnr="high"),
                             "other kind": lambda d: d.update(kind="inpaint")},
    }[name]
    edits[how](doc)
    path.write_text(json.dumps(doc))


CASES = [("rec", "reconstruction.json", h) for h in ("missing key", "wrong type", "method without means",
                                                     "figure missing", "not json")] + \
        [("latent", "latent.json", h) for h in ("missing key", "wrong type", "lists disagree", "figure missing")] + \
        [("inpaint", "completion.json", h) for h in ("missing key", "wrong type", "method without numbers",
                                                     "figure missing")] + \
        [("restore", "restoration.json", h) for h in ("missing key", "wrong type", "other kind", "figure missing")]


@pytest.mark.parametrize("sub, name, how", CASES, ids=[f"{n}-{h}" for _, n, h in CASES])
def test_damaged_folder_is_one_line_exit_2(audio, images, tmp_path, capsys, sub, name, how):
    src = audio / sub if sub == "rec" else images / sub
    bad = tmp_path / "bad"
    shutil.copytree(src, bad, ignore=shutil.ignore_patterns("*.wav"))
    _damage(bad, name, how)
    assert_refused(bad, tmp_path / "out" / "report.html", capsys)


@pytest.fixture(scope="module")
def demo(audio, tmp_path_factory):
    """A demo-shaped folder: a spectra evaluation saying ``command: demo`` and the audio part (its reconstruction
    folder and a generation evaluation of the clips against noisy copies)."""
    from vaelab.core.jsonable import jsonable
    from vaelab.modalities.audio.evaluate import evaluate_audio
    from vaelab.modalities.audio.io import load_clips
    from vaelab.modalities.audio.mel import MelParams, log_mel

    d = tmp_path_factory.mktemp("demo_audio")
    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 10)) + np.repeat([0.0, 2.0], 15)[:, None]
    y = np.repeat(["a", "b"], 15)
    np.savez(d / "r.npz", X=real, y=y)
    np.savez(d / "s.npz", X=real + rng.normal(0, 0.3, real.shape), y=y)
    demo = d / "demo"
    assert main(["evaluate", "--real", str(d / "r.npz"), "--synthetic", str(d / "s.npz"), "--out", str(demo)]) == 0
    doc = json.loads((demo / "metrics.json").read_text())
    doc.update(command="demo", compare=None, model="seed-cvae")
    (demo / "metrics.json").write_text(json.dumps(doc))
    shutil.copytree(audio / "rec", demo / "audio" / "reconstruct", ignore=shutil.ignore_patterns("*.wav"))
    clips = load_clips(audio / "clips", MelParams(duration=0.5))
    L = log_mel(clips.waves, clips.params)
    ev = evaluate_audio(L, clips.y, L + rng.normal(0, 0.5, L.shape), clips.y, L_hold=L, y_hold=clips.y, cnn_epochs=1)
    (demo / "audio" / "metrics.json").write_text(json.dumps(jsonable(ev)))
    assert main(["report", str(demo)]) == 0
    return demo


def test_demo_page_includes_the_audio_part(demo, tmp_path, capsys):
    page = assert_page_matches_json(demo)
    srcs = {w.split("#")[0] for _, w, _ in page.numbers}
    assert srcs == {"metrics.json", "audio/reconstruct/reconstruction.json", "audio/metrics.json"}
    text = (demo / "report.html").read_text(encoding="utf-8")
    assert 'id="audio"' in text and text.count('id="verdict"') == 1
    assert "audio/reconstruct/band_retention.png" in text and "audio/reconstruct/spectrograms.png" in text
    assert {"/cnn/c2st_auc", "/tstr", "/trtr", "/flags/distinguishable/reason"} <= shown_pointers(page,
                                                                                                  "audio/metrics.json")
    alone = tmp_path / "audio_only"  # ``vaelab demo --part audio``: the audio part alone
    shutil.copytree(demo / "audio", alone / "audio")
    assert main(["report", str(alone)]) == 0
    text = (alone / "report.html").read_text(encoding="utf-8")
    assert 'id="audio"' in text and text.count('id="verdict"') == 1
    assert_page_matches_json(alone)
    (alone / "audio" / "metrics.json").unlink()
    capsys.readouterr()
    assert main(["report", str(alone), "--out", str(tmp_path / "x.html")]) == 2
    assert "audio/metrics.json: missing" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("which", ["rec", "inpaint", "restore", "latent", "demo"])
def test_pages_read_in_a_headless_browser(audio, images, demo, tmp_path, which):
    folder = {"rec": audio / "rec", "demo": demo}.get(which, images / which)
    probe = assert_reads_in_browser(folder / "report.html", tmp_path / "browser", flags=which == "demo",
                                    min_height=900)
    n_figures = {"rec": 2, "inpaint": 1, "restore": 1, "latent": 3}.get(which)
    if n_figures is not None:
        assert len(probe["images"]) == n_figures
    else:  # the demo page: the spectra figures and the audio part's two
        assert sum(i["file"].startswith("audio/") for i in probe["images"]) == 2



@pytest.fixture(scope="module")
def audio_eval(audio):
    """``vaelab evaluate`` on audio folders: the clips against another synthesised set, a third as the holdout."""
    from vaelab.modalities.audio.synth import write_synth_set

    for name, seed in (("synth", 1), ("hold", 2)):
        write_synth_set(audio / name, per_class=2, duration=0.5, seed=seed)
    out = audio / "eval"
    assert main(["evaluate", "--real", str(audio / "clips"), "--synthetic", str(audio / "synth"), "--holdout",
                 str(audio / "hold"), "--duration", "0.5", "--out", str(out)]) == 0
    return out


def test_audio_evaluate_page_is_true_to_the_json(audio_eval, tmp_path):
    doc = json.loads((audio_eval / "metrics.json").read_text())
    assert doc["modality"] == "audio" and doc["command_line"].startswith("vaelab evaluate ") and doc["vaelab_version"]
    page = assert_page_matches_json(audio_eval)
    text = (audio_eval / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "Evaluation of synthetic audio clips" in text and text.count('id="verdict"') == 1
    shown = shown_pointers(page, "metrics.json")
    for sp in ("cnn", "melstats"):  # both feature spaces, every metric the evaluation holds
        assert {f"/{sp}/{k}" for k, v in doc[sp].items() if v is not None} <= shown, sp
    assert {"/tstr", "/trtr", "/n_real", "/n_synthetic", "/n_holdout", "/mel/hop", "/seed"} <= shown
    assert {f"/flags/{k}/reason" for k in doc["flags"]} <= shown
    verdict = text[text.index('id="verdict"'):text.index("</p>", text.index('id="verdict"'))]
    assert "real-vs-real reference" in verdict and "balanced accuracy" in verdict
    assert "how to read" in text and "real_vs_synthetic.png" in text
    _again(audio_eval, tmp_path)


def _damage_audio_eval(folder, how):
    if how == "figure missing":
        (folder / "real_vs_synthetic.png").unlink()
        return
    doc = json.loads((folder / "metrics.json").read_text())
    {"missing key": lambda d: d["cnn"].pop("frechet"), "wrong type": lambda d: d["mel"].update(hop="256"),
     "flag without reason": lambda d: next(iter(d["flags"].values())).pop("reason")}[how](doc)
    (folder / "metrics.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("how", ["missing key", "wrong type", "flag without reason", "figure missing"])
def test_damaged_audio_evaluate_folder_is_one_line_exit_2(audio_eval, tmp_path, capsys, how):
    bad = tmp_path / "bad"
    shutil.copytree(audio_eval, bad)
    _damage_audio_eval(bad, how)
    assert_refused(bad, tmp_path / "out" / "report.html", capsys)


def test_audio_evaluate_page_reads_in_a_headless_browser(audio_eval, tmp_path):
    probe = assert_reads_in_browser(audio_eval / "report.html", tmp_path / "browser", flags=True, min_height=600)
    assert len(probe["images"]) == 1
