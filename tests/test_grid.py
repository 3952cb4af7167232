"""Grids that survive: stable cell IDs, each cell stored as it finishes, --resume, --estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaelab.cli.main import main
from vaelab.data.dataset import Dataset
from vaelab.experiments import augment as augment_mod
from vaelab.experiments.grid import CellStore, cell_id, fingerprint
from vaelab.experiments.runner import GridInterrupted, is_failure, run_cells

AUGMENT = ["--model", "noise", "--factors", "0,1,2", "--classifiers", "knn,plsda", "--folds", "2", "--seeds", "2",
           "--classical", "smote", "--preprocess", "none", "--quiet"]
ABLATE = ["--models", "ppca,noise", "--folds", "2", "--seeds", "1", "--c2st-trees", "5", "--mmd-permutations", "5",
          "--preprocess", "none", "--quiet"]


def _without_timing(path) -> str:
    res = json.loads(path.read_text())
    res.pop("timing")
    return json.dumps(res, indent=1)


def _same_outputs(a, b, stem: str) -> None:
    assert _without_timing(a / f"{stem}.json") == _without_timing(b / f"{stem}.json")
    for ext in ("csv", "txt"):
        assert (a / f"{stem}.{ext}").read_bytes() == (b / f"{stem}.{ext}").read_bytes()


def test_cell_ids_are_stable_and_change_with_parameters_or_data():
    shared = {"X": np.arange(6.0).reshape(3, 2), "y": np.array(["a", "b", "a"]), "preprocess": "none",
              "splits": {0: [(np.array([0, 1]), np.array([2]))]}}
    fp = fingerprint(shared)
    cell = {"role": "model", "generator": "ppca", "seed": 0, "fold": 1, "factors": [("1", 1.0)]}
    cid = cell_id(cell, fp)
    assert cid.startswith("model-ppca-s0-f1-") and cid == cell_id(dict(reversed(list(cell.items()))), fp)
    assert cid != cell_id({**cell, "factors": [("2", 2.0)]}, fp)
    other = {**shared, "X": shared["X"] + 1e-12}
    assert cid != cell_id(cell, fingerprint(other))
    assert fp == fingerprint({**shared, "X": shared["X"].copy()})


def _in(monkeypatch, tmp_path, where: str, argv: list[str]) -> int:
    """Run the CLI from ``tmp_path/where`` with ``--out study``: both runs record the same command line."""
    (tmp_path / where).mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / where)
    return main([*argv, "--out", "study"])


@pytest.mark.parametrize("stop_after", [1, 5])
def test_augment_killed_mid_grid_then_resumed_gives_identical_results(tmp_path, monkeypatch, stop_after,
                                                                         patient_npz):
    data = patient_npz()
    full, cut = tmp_path / "full" / "study", tmp_path / "cut" / "study"
    assert _in(monkeypatch, tmp_path, "full", ["augment", data, *AUGMENT]) == 0
    n_cells = len(list((full / "cells").glob("*.json")))
    assert n_cells == 2 * 2 * 3  # (seed, fold) × {baseline, noise, smote}

    monkeypatch.setenv("VAELAB_GRID_STOP_AFTER", str(stop_after))
    with pytest.raises(GridInterrupted):
        _in(monkeypatch, tmp_path, "cut", ["augment", data, *AUGMENT])
    monkeypatch.delenv("VAELAB_GRID_STOP_AFTER")
    assert not (cut / "augment.json").exists()
    assert len(list((cut / "cells").glob("*.json"))) == stop_after

    calls = []
    real = augment_mod.augment_cell
    monkeypatch.setattr(augment_mod, "augment_cell", lambda shared, cell: calls.append(1) or real(shared, cell))
    assert _in(monkeypatch, tmp_path, "cut", ["augment", data, *AUGMENT, "--resume"]) == 0
    assert len(calls) == n_cells - stop_after  # only the missing cells ran
    _same_outputs(full, cut, "augment")
    assert len(list((cut / "cells").glob("*.json"))) == n_cells  # kept beside the result

    calls.clear()  # resuming a finished study runs nothing and rewrites the same result
    assert _in(monkeypatch, tmp_path, "cut", ["augment", data, *AUGMENT, "--resume"]) == 0
    assert calls == []
    _same_outputs(full, cut, "augment")


def test_ablation_resumed_is_identical(tmp_path, monkeypatch, patient_npz):
    data = patient_npz()
    assert _in(monkeypatch, tmp_path, "full", ["ablate", data, *ABLATE]) == 0
    monkeypatch.setenv("VAELAB_GRID_STOP_AFTER", "2")
    with pytest.raises(GridInterrupted):
        _in(monkeypatch, tmp_path, "cut", ["ablate", data, *ABLATE])
    monkeypatch.delenv("VAELAB_GRID_STOP_AFTER")
    assert _in(monkeypatch, tmp_path, "cut", ["ablate", data, *ABLATE, "--resume"]) == 0
    _same_outputs(tmp_path / "full" / "study", tmp_path / "cut" / "study", "ablation")


def _flaky(shared, cell):  # fails while the flag file exists
    if cell["i"] == 1 and (shared / "flag").exists():
        raise RuntimeError("transient")
    return {"v": cell["i"] * 10}


def test_failed_cells_are_stored_and_rerun_on_resume_only(tmp_path):
    (tmp_path / "flag").write_text("")
    store = CellStore(tmp_path / "out")
    cells = [{"i": i} for i in range(3)]
    first = run_cells(_flaky, cells, tmp_path, store=store)
    assert is_failure(first[1]) and first[1]["error"] == "RuntimeError: transient"
    assert len(store.ids()) == 3  # the failure is on disk too, for inspection
    (tmp_path / "flag").unlink()
    second = run_cells(_flaky, cells, tmp_path, store=store, resume=True)
    assert second == [{"v": 0}, {"v": 10}, {"v": 20}]


def test_store_refuses_a_folder_vaelab_did_not_write(tmp_path, capsys, patient_npz):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    data = patient_npz()
    rc = main(["augment", data, *AUGMENT, "--out", str(tmp_path / "mine")])
    assert rc == 2 and "not written by vaelab" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]


def test_estimate_times_one_cell_per_kind_and_stores_them(tmp_path, capsys, patient_npz):
    data = patient_npz()
    assert main(["augment", data, *AUGMENT, "--estimate", "--out", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().out
    assert "12 cells" in out and "baseline" in out and "model noise" in out and "classical smote" in out
    assert len(list((tmp_path / "e" / "cells").glob("*.json"))) == 3  # seed 0, fold 0 of each kind
    assert not (tmp_path / "e" / "augment.json").exists()
    assert main(["ablate", data, *ABLATE, "--estimate", "--out", str(tmp_path / "f")]) == 0
    assert "ppca" in capsys.readouterr().out


def test_ray_task_settings_retry_lost_workers():
    """Source-level check of the one setting the cluster test (test_ray_cluster.py) relies on."""
    import inspect

    from vaelab.experiments import runner

    src = inspect.getsource(runner._run_ray)
    assert "max_retries=int(retries)" in src and "retry_exceptions=False" in src
    assert Dataset  # the module imports stay used


def _die_once(shared, cell):  # the worker running cell 2 dies the first time (as if killed)
    import os

    flag = shared / f"died{cell['i']}"
    if cell["i"] == 2 and not flag.exists():
        flag.write_text("")
        os._exit(9)
    return {"v": cell["i"]}


def test_a_dying_local_worker_costs_only_its_running_cells(tmp_path):
    store = CellStore(tmp_path / "out")
    out = run_cells(_die_once, [{"i": i} for i in range(4)], tmp_path, jobs=2, store=store)
    assert out == [{"v": i} for i in range(4)]
    assert (tmp_path / "died2").exists()


def test_kernel_svc_is_the_libsvm_rbf_svc():
    """KernelSVC (Gram matrix by BLAS, precomputed kernel) solves the problem SVC(rbf, gamma="scale") solves."""
    from sklearn.svm import SVC

    from vaelab.experiments.classifiers import KernelSVC

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(loc=m, size=(60, 15)) for m in (0.0, 0.7, 1.4)])
    y = np.repeat(["a", "b", "c"], 60)
    Xt = rng.normal(loc=0.7, scale=1.5, size=(50, 15))
    ours, ref = KernelSVC().fit(X, y), SVC(kernel="rbf", gamma="scale").fit(X, y)
    assert ours.gamma_ == pytest.approx(ref._gamma, rel=1e-12)
    np.testing.assert_allclose(ours.decision_function(Xt), ref.decision_function(Xt), rtol=1e-6, atol=1e-8)
    assert (ours.predict(Xt) == ref.predict(Xt)).all()
    np.testing.assert_array_equal(np.sort(ours.svc_.support_), np.sort(ref.support_))


def test_rf_bootstrap_cap_applies_only_above_the_cap():
    from vaelab.experiments.augment import augment_scores

    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4)) + np.repeat([0.0, 2.0, 4.0], 10)[:, None]
    y = np.repeat(["a", "b", "c"], 10)
    Xs, ys = X + rng.normal(scale=0.1, size=X.shape), y.copy()
    f = [("0", 0.0), ("1", 1.0)]
    capped = augment_scores(X, y, X, y, Xs, ys, f, ["rf"], seed=0, trees=10, rf_bootstrap=2.0)
    exact = augment_scores(X, y, X, y, Xs, ys, f, ["rf"], seed=0, trees=10)
    assert capped == exact  # factor 1 = 2 × the real count: at the cap, nothing is subsampled
    small = augment_scores(X, y, X, y, Xs, ys, f, ["rf"], seed=0, trees=10, rf_bootstrap=1.0)
    assert small["0"] == exact["0"] and "balanced_accuracy" in small["1"]["rf"]


def test_generators_added_to_a_finished_study_with_resume_run_only_their_cells(tmp_path, monkeypatch, patient_npz):
    """Stage 1 the model alone; stage 2 adds a compared generator and a classical augmentation with
    --resume: only their cells run, and augment.json equals that of one run with all of them."""
    data = patient_npz()
    base = ["--model", "noise", "--factors", "0,1", "--classifiers", "knn,plsda", "--folds", "2", "--seeds", "2",
            "--preprocess", "none", "--quiet"]
    full = [*base, "--classical", "smote", "--compare", "ppca,smote"]  # smote both: classical and compared
    assert _in(monkeypatch, tmp_path, "once", ["augment", data, *full]) == 0
    assert _in(monkeypatch, tmp_path, "staged", ["augment", data, *base, "--classical", "none"]) == 0
    staged = tmp_path / "staged" / "study"
    assert "compared" not in json.loads((staged / "augment.json").read_text())  # absent when not asked for
    calls = []
    real = augment_mod.augment_cell
    monkeypatch.setattr(augment_mod, "augment_cell", lambda shared, cell: calls.append(cell["generator"])
                        or real(shared, cell))
    assert _in(monkeypatch, tmp_path, "staged", ["augment", data, *full, "--resume"]) == 0
    assert sorted(calls) == ["ppca"] * 4 + ["smote"] * 8  # the baseline and model cells were reused
    _same_outputs(tmp_path / "once" / "study", staged, "augment")
    res = json.loads((staged / "augment.json").read_text())
    assert res["compared"] == ["ppca", "smote"] and res["classical"] == ["smote"]
    t = res["compared_tests"]["ppca"]["1"]["knn"]
    assert set(t) == {"vs_0", "vs_model"} and t["vs_model"]["balanced_accuracy"]["n_pairs"] == 4
    ppca = res["compared_results"]["ppca"]["1"]["knn"]["balanced_accuracy"]
    assert ppca["n"] == 4 and res["n_cells"] == 4 * 5  # (seed, fold) × {baseline, noise, ppca, smote twice}
    assert "ppca (compared" in (staged / "augment.txt").read_text()
    assert "\nppca,1,knn,balanced_accuracy," in (staged / "augment.csv").read_text()


def test_warm_started_logreg_reaches_the_cold_optimum_in_fewer_iterations():
    """lbfgs from the previous (nested, smaller) training set's solution: same optimum, fewer iterations."""
    from vaelab.experiments.classifiers import make_classifier, warm_logreg

    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(loc=m, size=(150, 40)) for m in (0.0, 0.4, 0.8)]) * rng.uniform(0.1, 5, 40)
    y = np.repeat(["a", "b", "c"], 150)
    extra = X + rng.normal(scale=0.5, size=X.shape)
    big_X, big_y = np.concatenate([X, extra]), np.concatenate([y, y])
    first = warm_logreg(None, X, y)
    cold = make_classifier("logreg").fit(big_X, big_y)
    warm = warm_logreg(first, big_X, big_y)
    assert warm[-1].n_iter_[0] < cold[-1].n_iter_[0]
    exact = make_classifier("logreg").set_params(clf__tol=1e-12, clf__max_iter=100000).fit(big_X, big_y)
    coef = lambda p: p[-1].coef_ / p[0].scale_  # noqa: E731 - the model in the original feature space
    for fit in (cold, warm):  # both within lbfgs's tolerance (tol 1e-4) of the optimum: ~1 % here
        assert np.abs(coef(fit) - coef(exact)).max() < 2e-2 * np.abs(coef(exact)).max()
    Xt = rng.normal(loc=0.4, scale=1.2, size=(300, 40)) * rng.uniform(0.1, 5, 40)
    assert (warm.predict(Xt) == cold.predict(Xt)).mean() > 0.98
    # from zero it is exactly make_classifier's model
    np.testing.assert_array_equal(warm_logreg(None, X, y)[-1].coef_, make_classifier("logreg").fit(X, y)[-1].coef_)
