"""The HTML report: written by evaluate / ablate / augment, rendered by ``vaelab report``, true to the JSON,
self-contained, safe with any class name, refusing damaged folders — and read in a real (headless) browser.

The demo's report is checked in ``test_cli.py::test_demo_writes_everything`` (it runs the demo once).
"""

from __future__ import annotations

import json
import shlex
import shutil

import numpy as np
import pytest

from report_checks import (
    assert_page_matches_json,
    assert_reads_in_browser,
    assert_self_contained,
    parse_page,
    shown_pointers,
)
from vaelab.cli import main
from vaelab.data.dataset import Dataset
from vaelab.experiments.augment import run_augment, write_augment
from vaelab.reporting.html import fmt, pointer, resolve

# class names a report must show as text, never as markup
CLASSES = ["<b>bold</b>", 'a & "b"', "O'Neil </td><script>x</script>"]


def _data(rng: np.random.Generator, per: int, d: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.linspace(0, 1, d)
    X, y, g = [], [], []
    for k, c in enumerate((0.25, 0.5, 0.75)):
        for i in range(per):
            X.append(np.exp(-((x - c) ** 2) / 0.02) + rng.normal(0, 0.05, d))
            y.append(CLASSES[k])
            g.append(f"patient {k}-{i // 2}")
    return np.asarray(X), np.asarray(y), np.asarray(g)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One result folder of each kind the tests render: evaluate and ablate by the CLI, augment with failures."""
    root = tmp_path_factory.mktemp("results")
    rng = np.random.default_rng(0)
    X, y, g = _data(rng, 12)
    np.savez(root / "real.npz", X=X, y=y, groups=g)
    Xs, ys, _ = _data(rng, 12)
    np.savez(root / "synthetic.npz", X=Xs, y=ys)
    Xh, yh, _ = _data(rng, 6)
    np.savez(root / "holdout.npz", X=Xh, y=yh)
    argv = {"evaluate": ["evaluate", "--real", str(root / "real.npz"), "--synthetic", str(root / "synthetic.npz"),
                         "--holdout", str(root / "holdout.npz"), "--out", str(root / "evaluate")],
            "ablate": ["ablate", str(root / "real.npz"), "--models", "ppca,noise", "--folds", "2", "--seeds", "1",
                       "--c2st-trees", "10", "--mmd-permutations", "10", "--preprocess", "none", "--quiet",
                       "--out", str(root / "ablate")]}
    for args in argv.values():
        assert main(args) == 0
    # an augmentation study whose model fails in every cell: the failures must be on the page
    r = run_augment(Dataset(X=X, y=y, groups=g), model="ppca", model_config={"n_components": -1}, factors="0,1",
                    classifiers="knn", folds=2, seeds=1, classical="noise", preprocess="none")
    assert r["failures"]
    write_augment(r, root / "augment")
    return {"root": root, "argv": argv, **{k: root / k for k in ("evaluate", "ablate", "augment")}}


@pytest.mark.parametrize("kind", ["evaluate", "ablate", "augment"])
def test_writers_add_a_self_contained_report_true_to_the_json(folders, kind):
    page = assert_page_matches_json(folders[kind])
    text = (folders[kind] / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    stem = {"evaluate": "metrics.json", "ablate": "ablation.json", "augment": "augment.json"}[kind]
    doc = json.loads((folders[kind] / stem).read_text())
    shown = shown_pointers(page, stem)
    if kind == "evaluate":
        keys = ["c2st_auc", "precision", "recall", "density", "coverage", "mmd", "mmd_p_value", "frechet",
                "dcr_ratio", "closer_than_holdout", "tstr", "trtr", "class_specificity"]
        want = {pointer(k) for k in keys} | {pointer("diversity", c) for c in CLASSES}
        want |= {pointer("flags", f, "reason") for f in doc["flags"]}
        want |= {pointer("seed_metrics", m) for m in ("cosine", "mse", "pearson", "wasserstein")}
        want |= {pointer("references", r, m) for r in doc["references"] for m in ("cosine", "mse")}
        want |= {pointer("data", "class_counts", i) for i in range(3)}
        want |= {pointer("notes", i) for i in range(len(doc["notes"]))}
        want |= {pointer("dcr", "left_out_ratio")}  # the DCR's left-out reference (the folder has a holdout)
    elif kind == "ablate":
        want = {pointer("results", n, m, "mean") for n in doc["models"] for m in doc["metric_goals"]}
        want |= {pointer("tests_vs_reference", "noise", m, "p") for m in doc["tests_vs_reference"]["noise"]}
    else:
        want = {"/verdict", "/recommended_factor"} | {pointer("failures", i, "error") for i in range(len(doc["failures"]))}
        want |= {pointer("results", k, "knn", m, "mean") for k in doc["factors"] for m in ("balanced_accuracy", "roc_auc")}
        want |= {pointer("tests", "1", "knn", "vs_0", "balanced_accuracy", "p_holm")}
    assert want <= shown, sorted(want - shown)[:5]


def test_report_command_renders_the_page_the_writer_wrote(folders, tmp_path, capsys):
    for kind in ("evaluate", "ablate", "augment"):
        out = tmp_path / f"{kind}.html"
        assert main(["report", str(folders[kind]), "--out", str(out)]) == 0
        assert out.read_text(encoding="utf-8") == (folders[kind] / "report.html").read_text(encoding="utf-8")
    assert str(out) in capsys.readouterr().out


def test_header_records_the_command_line_and_the_data(folders):
    for kind, stem in (("evaluate", "metrics.json"), ("ablate", "ablation.json")):
        doc = json.loads((folders[kind] / stem).read_text())
        assert doc["command_line"] == shlex.join(["vaelab", *folders["argv"][kind]])
        assert doc["data"]["classes"] == sorted(CLASSES) and doc["data"]["n_groups"] == 18
        text = (folders[kind] / "report.html").read_text(encoding="utf-8")
        assert ">vaelab " + kind in text and "--out" in text
    doc = json.loads((folders["augment"] / "augment.json").read_text())
    assert "command_line" not in doc  # a library call: the page says so
    assert "not recorded" in (folders["augment"] / "report.html").read_text(encoding="utf-8")


def test_class_names_are_text_never_markup(folders):
    for kind in ("evaluate", "ablate", "augment"):
        text = (folders[kind] / "report.html").read_text(encoding="utf-8")
        page = parse_page(text)
        assert "b" not in page.tags and "script" not in page.tags and "td" in page.tags
        assert "<b>bold</b>" not in text and "&lt;b&gt;bold&lt;/b&gt;" in text
        assert "&lt;/td&gt;&lt;script&gt;" in text


def test_verdict_flags_and_failures_are_stated(folders):
    ev = (folders["evaluate"] / "report.html").read_text(encoding="utf-8")
    assert 'id="verdict"' in ev and ev.count('class="flag"') == 3 and 'class="ref"' in ev
    aug = json.loads((folders["augment"] / "augment.json").read_text())
    text = (folders["augment"] / "report.html").read_text(encoding="utf-8")
    assert 'class="verdict warn"' in text and f"{len(aug['failures'])} failure(s)" in text


def _damage(kind: str, how: str, folder):
    """Break a copy of a result folder in one way; returns the path to render."""
    if how == "no folder":
        return folder / "nope"
    if how == "no result file":
        (folder / {"evaluate": "metrics.json", "ablate": "ablation.json", "augment": "augment.json"}[kind]).unlink()
        return folder
    stem = {"evaluate": "metrics.json", "ablate": "ablation.json", "augment": "augment.json"}[kind]
    path = folder / stem
    if how == "bad json":
        path.write_text(path.read_text()[:-20])
        return folder
    doc = json.loads(path.read_text())
    if how == "missing key":
        if kind == "evaluate":
            del doc["flags"]["collapse"]["reason"]
        elif kind == "ablate":
            del doc["results"]["noise"]["frechet"]
        else:
            del doc["tests"]["1"]["knn"]["vs_0"]
    elif how == "wrong type":
        if kind == "evaluate":
            doc["c2st_auc"] = "excellent"
        elif kind == "ablate":
            doc["results"]["ppca"]["mmd"]["values"][0] = "0.1"
        else:
            doc["recommended_factor"] = "7"
    elif how == "figure missing":
        (folder / {"evaluate": "real_vs_synthetic.png", "ablate": "ablation.png", "augment": "augment.png"}[kind]).unlink()
    elif how == "figure not a png":
        (folder / {"evaluate": "pca.png", "ablate": "ablation.png", "augment": "augment.png"}[kind]).write_text("<svg/>")
    path.write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize("how", ["no folder", "no result file", "bad json", "missing key", "wrong type",
                                 "figure missing", "figure not a png"])
@pytest.mark.parametrize("kind", ["evaluate", "ablate", "augment"])
def test_damaged_folder_is_one_line_exit_2_and_nothing_written(folders, tmp_path, capsys, kind, how):
    folder = tmp_path / kind
    shutil.copytree(folders[kind], folder)
    before = (folder / "report.html").read_bytes()
    target = _damage(kind, how, folder)
    out = tmp_path / "out" / "report.html"
    capsys.readouterr()
    assert main(["report", str(target), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: ") and err.count("\n") == 1, err
    assert not out.exists() and not out.parent.exists()
    if how != "no folder":  # without --out: the folder's own report.html stays as it was
        assert main(["report", str(target)]) == 2
        assert (folder / "report.html").read_bytes() == before
        assert not [p for p in folder.iterdir() if p.name.startswith(".report.html")]


def test_pointer_and_number_formatting():
    doc = {"a/b": {"~x": [1.5, None]}}
    assert resolve(doc, pointer("a/b", "~x", 0)) == 1.5
    assert pointer("a/b", "~x") == "/a~1b/~0x"
    assert fmt(0.123456) == "0.1235" and fmt(None) == "n/a" and fmt(float("nan")) == "nan" and fmt(3) == "3"


@pytest.mark.parametrize("kind", ["evaluate", "ablate", "augment"])
def test_report_reads_in_a_headless_browser(folders, tmp_path, kind):
    """Loads with no request and no console message; verdict, flags (evaluation) and every figure visible."""
    probe = assert_reads_in_browser(folders[kind] / "report.html", tmp_path / kind, flags=kind == "evaluate",
                                    failures=kind == "augment")
    if kind == "evaluate":
        assert probe["refs"] >= 2  # the reference rows of the seed table, on screen
        assert len(probe["images"]) == 3


def test_demo_folder_shows_both_models_and_needs_its_comparison(folders, tmp_path, capsys):
    """A demo-shaped folder (the evaluation plus the comparison model's sub-folder), without running the demo."""
    demo = tmp_path / "demo"
    shutil.copytree(folders["evaluate"], demo)
    shutil.copytree(folders["evaluate"], demo / "other-model")
    doc = json.loads((demo / "metrics.json").read_text())
    doc.update(command="demo", compare="other-model", model="main-model")
    (demo / "metrics.json").write_text(json.dumps(doc))
    assert main(["report", str(demo)]) == 0
    page = assert_page_matches_json(demo)
    assert {w.split("#")[0] for _, w, _ in page.numbers} == {"metrics.json", "other-model/metrics.json"}
    text = (demo / "report.html").read_text(encoding="utf-8")
    assert 'id="comparison"' in text and text.count('class="flag"') == 6 and "other-model/pca.png" in text
    (demo / "other-model" / "metrics.json").unlink()
    capsys.readouterr()
    assert main(["report", str(demo), "--out", str(tmp_path / "x.html")]) == 2
    assert "other-model/metrics.json" in capsys.readouterr().err and not (tmp_path / "x.html").exists()
