"""The spectra path on shapes outside users bring (issue 16, session 18): descending wavenumber axes,
holdouts written in the other order, label sets that disagree, per-class counts of the Augmenter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.preprocess import Preprocessing
from vaelab.evaluation.suite import class_notes
from vaelab.modalities.spectra.axis import check_same_axis
from vaelab.sklearn import Augmenter

AXIS = np.linspace(4000.0, 650.0, 40)  # descending, as FTIR files are written


def _spectra(n_per: tuple[int, ...] = (8, 8, 4), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Peak spectra on ``AXIS`` with a baseline; class k has its peak at a different wavenumber."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, n in enumerate(n_per):
        for _ in range(n):
            peak = np.exp(-0.5 * ((AXIS - (1200.0 + 900.0 * k)) / 150.0) ** 2)
            X.append(1.0 + 0.1 * (AXIS - 650.0) / 3350.0 + peak + rng.normal(0, 0.02, AXIS.size))
            y.append("abc"[k])
    return np.asarray(X), np.asarray(y)


def _csv(path, X, y, axis):
    header = "label," + ",".join(f"{a:.2f}" for a in axis)
    rows = [f"{lab}," + ",".join(f"{v:.6g}" for v in x) for lab, x in zip(y, X, strict=True)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def test_check_same_axis_passes_rounding_and_names_a_reversed_or_other_grid():
    check_same_axis(np.round(AXIS, 1), AXIS, "holdout", "run")  # header rounding
    check_same_axis(None, AXIS, "holdout", "run")  # no numeric header: nothing to check
    with pytest.raises(InputError, match="opposite order.*descending order"):
        check_same_axis(AXIS[::-1], AXIS, "holdout", "run")
    with pytest.raises(InputError, match="another spectral axis"):
        check_same_axis(AXIS + 100.0, AXIS, "holdout", "run")


def test_a_holdout_written_in_ascending_order_is_refused_not_misaligned(tmp_path, capsys):
    """Before: a holdout with the same wavenumbers in ascending order was compared point by point with
    the run's descending data and scored (TSTR at chance) without a word."""
    X, y = _spectra()
    Xh, yh = _spectra(seed=1)
    train = _csv(tmp_path / "train.csv", X, y, AXIS)
    asc = _csv(tmp_path / "hold_asc.csv", Xh[:, ::-1], yh, AXIS[::-1])
    desc = _csv(tmp_path / "hold.csv", Xh, yh, AXIS)
    run = tmp_path / "run"
    assert main(["train", train, "--model", "ppca", "--preprocess", "crop:1000-3000+snv", "--quiet",
                 "--out", str(run)]) == 0
    syn = tmp_path / "s.csv"
    assert main(["generate", str(run), "--per-class", "6", "--out", str(syn)]) == 0
    capsys.readouterr()
    base = ["evaluate", "--real", train, "--synthetic", str(syn), "--run", str(run)]
    assert main([*base, "--holdout", asc, "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "opposite order" in err
    assert not (tmp_path / "bad").exists()
    assert main([*base, "--holdout", desc, "--out", str(tmp_path / "ok")]) == 0
    # without a run the holdout is checked against the real data
    capsys.readouterr()
    assert main(["evaluate", "--real", train, "--synthetic", train, "--holdout", asc,
                 "--out", str(tmp_path / "bad2")]) == 2
    assert "opposite order" in capsys.readouterr().err
    # and the run refuses real data in the other order too (Run.to_model_space)
    from vaelab.runs import load_run

    with pytest.raises(InputError, match="opposite order"):
        load_run(run).to_model_space(Dataset(X=Xh[:, ::-1], y=yh, axis=AXIS[::-1]), "the input")


def test_crop_range_given_high_to_low_says_how_to_write_it():
    with pytest.raises(InputError, match=r"crop:1000-3000"):
        Preprocessing.from_spec("crop:3000-1000")
    # a low-to-high range keeps the descending axis's points in their order
    pre = Preprocessing.from_spec("crop:1000-3000")
    X, _ = _spectra()
    out = pre.fit_transform(X, AXIS)
    keep = (AXIS >= 1000) & (AXIS <= 3000)
    np.testing.assert_array_equal(out, X[:, keep])
    np.testing.assert_array_equal(pre.transform_axis(AXIS), AXIS[keep])


def test_class_notes_give_the_reason_for_nan_spreads_and_unknown_holdout_classes(tmp_path):
    X, y = _spectra()
    real = Dataset(X=X, y=y, axis=AXIS)
    assert class_notes(real, real, real) == []
    no_c = Dataset(X=X[y != "c"], y=y[y != "c"], axis=AXIS)
    notes = class_notes(real, no_c, None)
    assert len(notes) == 1 and "['c']" in notes[0] and "NaN" in notes[0]
    extra = Dataset(X=X, y=np.where(y == "c", "zz", y), axis=AXIS)
    notes = class_notes(real, real, extra)
    assert len(notes) == 1 and "['zz']" in notes[0] and "recall 0" in notes[0]
    # end to end: the note sits in metrics.json next to the NaN spread ratio
    train = _csv(tmp_path / "t.csv", X, y, AXIS)
    syn = _csv(tmp_path / "s.csv", X[y != "c"] + 0.01, y[y != "c"], AXIS)
    assert main(["evaluate", "--real", train, "--synthetic", syn, "--out", str(tmp_path / "ev")]) == 0
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["diversity"]["c"] != m["diversity"]["c"]  # NaN
    assert any("['c']" in n for n in m["notes"])


@pytest.mark.parametrize("bad", [-3, 2.5, True, "5", {"c": -1}, {"c": 2.5}, {"c": "x"}, {"c": float("nan")}])
def test_augmenter_refuses_per_class_counts_that_are_not_whole_numbers(bad):
    """Before: {"c": -1} silently generated nothing, 2.5 was cut to 2, "x" raised a bare ValueError."""
    X, y = _spectra()
    with pytest.raises(InputError, match="whole number"):
        Augmenter(model="ppca", per_class=bad).fit_resample(X, y)


def test_augmenter_per_class_on_a_class_of_two_or_three():
    X, y = _spectra((8, 8, 3))
    for keep in (3, 2):
        idx = np.r_[np.flatnonzero(y != "c"), np.flatnonzero(y == "c")[:keep]]
        Xr, yr = Augmenter(model="ppca", per_class={"c": 10, "a": 2.0}, seed=1).fit_resample(X[idx], y[idx])
        assert sorted(yr[len(idx):].tolist()) == ["a"] * 2 + ["c"] * 10 and np.isfinite(Xr).all()
        Xr2, _ = Augmenter(model="ppca", per_class={"c": 10, "a": 2.0}, seed=1).fit_resample(X[idx], y[idx])
        np.testing.assert_array_equal(Xr, Xr2)
    with pytest.raises(InputError, match="fewer than 2"):
        Augmenter(model="ppca", per_class={"c": 10}).fit_resample(X[:17], y[:17])
