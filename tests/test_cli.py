"""End to end through the command line: train, generate, evaluate, demo."""

import json

import numpy as np
import pandas as pd
import pytest

from vaelab.cli.main import main


@pytest.fixture
def seed_xlsx(tmp_path, small_spectra):
    """The seed report's layout: xlsx, no header, integer label in column 0."""
    X, y, _ = small_spectra
    df = pd.DataFrame(X)
    df.insert(0, "label", y)
    p = tmp_path / "seed.xlsx"
    df.to_excel(p, header=False, index=False)
    return p


def test_seed_layout_xlsx_train_and_generate_same_layout(tmp_path, seed_xlsx, small_spectra, capsys):
    X, y, _ = small_spectra
    run = tmp_path / "run"
    assert main(["train", str(seed_xlsx), "--model", "seed-cvae", "--epochs", "20", "--seed", "1",
                 "--quiet", "--out", str(run)]) == 0
    for f in ("config.json", "weights.safetensors", "preprocessing.json", "run.json", "history.csv", "loss.png"):
        assert (run / f).is_file(), f
    assert json.loads((run / "preprocessing.json").read_text())["spec"] == "minmax"
    out = tmp_path / "synthetic.xlsx"
    assert main(["generate", str(run), "--per-class", "5", "--seed", "2", "--out", str(out)]) == 0
    gen = pd.read_excel(out, header=None)
    assert gen.shape == (15, X.shape[1] + 1)  # same feature count, label in column 0, no header row
    assert gen[0].tolist() == [0] * 5 + [1] * 5 + [2] * 5  # the same integer labels
    vals = gen.iloc[:, 1:].to_numpy(float)
    assert np.isfinite(vals).all() and vals.min() >= 0 and vals.max() <= 1  # model (minmax) space
    hist = pd.read_csv(run / "history.csv")
    assert list(hist.columns[:4]) == ["epoch", "loss", "reconstruction", "kl"] and len(hist) == 20


def test_generate_factor_and_evaluate(tmp_path, small_spectra, capsys):
    X, y, axis = small_spectra
    df = pd.DataFrame(X, columns=[f"{a:g}" for a in axis])
    df.insert(0, "group", np.asarray(["ctrl", "covA", "covB"])[y])
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["train", str(data), "--epochs", "10", "--model", "seed-cvae", "--quiet", "--out", str(run)]) == 0
    syn = tmp_path / "s.npz"
    assert main(["generate", str(run), "--factor", "2", "--out", str(syn)]) == 0
    with np.load(syn) as z:
        assert z["X"].shape == (72, X.shape[1])
        assert sorted(set(z["y"].tolist())) == ["covA", "covB", "ctrl"]
        np.testing.assert_allclose(z["axis"], axis)
    capsys.readouterr()
    ev = tmp_path / "ev"
    assert main(["evaluate", "--real", str(data), "--synthetic", str(syn), "--run", str(run), "--out", str(ev)]) == 0
    printed = capsys.readouterr().out
    assert "real vs real" in printed and "class mean copy" in printed
    m = json.loads((ev / "metrics.json").read_text())
    assert {"seed_metrics", "references"} <= set(m)
    assert set(m["references"]) == {"real_vs_real", "class_mean_copy"}
    assert (ev / "real_vs_synthetic.png").is_file()
    # real data were brought into the run's (minmax) space: identical real rows give cosine 1 to themselves
    assert 0.9 < m["references"]["real_vs_real"]["cosine"] <= 1


def test_toml_config(tmp_path, seed_xlsx):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "seed-cvae"\nseed = 4\n[seed-cvae]\nepochs = 3\nlatent_dim = 8\n')
    run = tmp_path / "run"
    assert main(["train", str(seed_xlsx), "--config", str(cfg), "--quiet", "--out", str(run)]) == 0
    conf = json.loads((run / "config.json").read_text())
    assert conf["config"]["latent_dim"] == 8 and conf["config"]["epochs"] == 3
    assert json.loads((run / "run.json").read_text())["seed"] == 4


def test_user_errors_exit_2_with_one_line(tmp_path, seed_xlsx, capsys):
    assert main(["train", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error:") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()
    assert main(["train", str(seed_xlsx), "--model", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["generate", str(tmp_path), "--per-class", "3", "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()


def test_demo_writes_everything(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "30", "--quiet", "--part", "spectra"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"synthetic.csv", "metrics.json", "metrics.csv", "real_vs_synthetic.png", "loss.png", "run"} <= names
    table = pd.read_csv(out / "seed_metrics.csv")
    assert table["row"].tolist() == ["synthetic", "real_vs_real", "class_mean_copy"]
    summary = pd.read_csv(out / "metrics.csv").set_index("metric")
    assert {"c2st_auc", "dcr_ratio", "tstr", "trtr", "flag_collapse"} <= set(summary.index)
    assert {"pca.png", "nn_distances.png"} <= names
    printed = capsys.readouterr().out
    assert "class mean copy" in printed and str(out.resolve()) in printed
    syn = pd.read_csv(out / "synthetic.csv")
    assert syn.shape[1] == 1842 and set(syn["origin"]) == {"Brasil", "Ethiopia", "Vietnam"}
    # vaelab's generator on the same split, side by side
    assert {"synthetic.csv", "metrics.json", "run"} <= {p.name for p in (out / "vaelab-cvae").iterdir()}
    comp = pd.read_csv(out / "comparison.csv").set_index("metric")
    assert list(comp.columns[:2]) == ["seed-cvae", "vaelab-cvae"]
    m_seed = json.loads((out / "metrics.json").read_text())
    m_ours = json.loads((out / "vaelab-cvae" / "metrics.json").read_text())
    assert float(comp.loc["C2ST AUC (random forest)", "seed-cvae"]) == pytest.approx(m_seed["c2st_auc"])
    assert float(comp.loc["C2ST AUC (random forest)", "vaelab-cvae"]) == pytest.approx(m_ours["c2st_auc"])
    assert "side by side" in printed
    # one page with it all, true to both metrics.json files, and readable in a real browser
    assert f"report: {(out / 'report.html').resolve()}" in printed
    from report_checks import assert_page_matches_json, assert_reads_in_browser, assert_self_contained

    page = assert_page_matches_json(out)
    assert {w.split("#")[0] for _, w, _ in page.numbers} == {"metrics.json", "vaelab-cvae/metrics.json"}
    assert m_seed["command"] == "demo" and m_seed["command_line"].startswith("vaelab demo --out ")
    assert_self_contained((out / "report.html").read_text(encoding="utf-8"))
    probe = assert_reads_in_browser(out / "report.html", tmp_path / "browser", flags=True)
    figures = {"real_vs_synthetic.png", "pca.png", "nn_distances.png", "loss.png"}
    assert {i["file"] for i in probe["images"]} == figures | {"vaelab-cvae/" + f for f in figures - {"loss.png"}}
    assert probe["refs"] >= 4  # real vs real and class-mean copy rows of both models


def test_demo_compare_unknown_model_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--compare", "nope", "--quiet"]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert not out.exists()


def test_crop_changes_the_model_space_end_to_end(tmp_path, small_spectra, capsys):
    X, y, axis = small_spectra  # axis 400, 402, ..., 526
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=np.asarray(["a", "b", "c"])[y], axis=axis)
    run = tmp_path / "run"
    assert main(["train", str(data), "--model", "ppca", "--preprocess", "crop:420-500+snv", "--quiet",
                 "--out", str(run)]) == 0
    assert json.loads((run / "preprocessing.json").read_text())["spec"] == "crop:420-500+snv"
    syn = tmp_path / "s.npz"
    assert main(["generate", str(run), "--per-class", "4", "--out", str(syn)]) == 0
    with np.load(syn) as z:
        assert z["X"].shape == (12, 41)  # 420..500 in steps of 2
        np.testing.assert_allclose(z["axis"], np.arange(420.0, 501.0, 2.0))
    capsys.readouterr()
    assert main(["evaluate", "--real", str(data), "--synthetic", str(syn), "--run", str(run),
                 "--out", str(tmp_path / "ev")]) == 0
