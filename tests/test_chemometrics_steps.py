"""snv, msc, d1, d2 and crop: known values, saved state, and agreement with chemotools' transformers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.data.preprocess import Preprocessing

M = 120
T = np.arange(M, dtype=np.float64)


def _spectra(n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    peaks = np.exp(-0.5 * ((T - 40) / 5) ** 2) + 0.6 * np.exp(-0.5 * ((T - 85) / 8) ** 2)
    scale = rng.uniform(0.5, 2.0, (n, 1))
    offset = rng.uniform(-1, 1, (n, 1))
    return scale * peaks + offset + 0.01 * rng.standard_normal((n, M))


def test_snv_known_values_and_flat_spectrum():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    out = Preprocessing.from_spec("snv").fit_transform(X)
    np.testing.assert_allclose(out[0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3))
    np.testing.assert_array_equal(out[1], 0.0)  # flat: zeros, not NaN


def test_msc_removes_an_affine_scatter_exactly():
    ref = np.sin(T / 10) + 2.0
    X = np.stack([ref, 3.0 * ref - 1.0, 0.5 * ref + 4.0])  # mean spectrum is an affine map of ref
    pre = Preprocessing.from_spec("msc")
    out = pre.fit_transform(X)
    for row in out:
        np.testing.assert_allclose(row, out[0], atol=1e-10)  # every spectrum onto the same line
    np.testing.assert_allclose(out[0], X.mean(axis=0), atol=1e-10)  # ... the training mean


def test_derivatives_of_polynomials():
    X = np.stack([3.0 * T + 1.0, 0.5 * T**2])
    d1 = Preprocessing.from_spec("d1").fit_transform(X)
    np.testing.assert_allclose(d1[0], 3.0, atol=1e-9)
    np.testing.assert_allclose(d1[1], T, atol=1e-8)
    d2 = Preprocessing.from_spec("d2").fit_transform(X)
    np.testing.assert_allclose(d2[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(d2[1], 1.0, atol=1e-8)


def test_crop_by_axis_and_by_index():
    X = np.arange(20, dtype=np.float64).reshape(2, 10)
    axis = np.linspace(400.0, 1300.0, 10)  # 400, 500, ..., 1300
    pre = Preprocessing.from_spec("crop:500-800")
    out = pre.fit_transform(X, axis)
    np.testing.assert_array_equal(out, X[:, 1:5])
    np.testing.assert_array_equal(pre.transform_axis(axis), [500.0, 600.0, 700.0, 800.0])
    assert pre.spec == "crop:500-800"
    np.testing.assert_array_equal(Preprocessing.from_spec("crop:2-3").fit_transform(X), X[:, 2:4])


@pytest.mark.parametrize("spec", ["crop", "crop:5", "crop:a-b", "crop:9-2", "snv:1-2"])
def test_bad_crop_specs_are_one_line_errors(spec):
    with pytest.raises(InputError):
        Preprocessing.from_spec(spec).fit_transform(np.ones((2, 10)))


def test_crop_outside_the_axis_and_wrong_width():
    with pytest.raises(InputError, match="no axis values"):
        Preprocessing.from_spec("crop:5000-6000").fit(np.ones((2, 10)), np.arange(10.0))
    pre = Preprocessing.from_spec("crop:2-4").fit(np.ones((2, 10)))
    with pytest.raises(InputError, match="fitted on 10"):
        pre.transform(np.ones((2, 11)))


@pytest.mark.parametrize("spec", ["snv", "msc", "d1", "d2", "crop:10-60", "arpls+savgol+msc+crop:5-100+d1"])
def test_saved_and_loaded_steps_transform_identically(spec):
    X = _spectra()
    pre = Preprocessing.from_spec(spec)
    out = pre.fit_transform(X)
    back = Preprocessing.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert back.spec == pre.spec
    np.testing.assert_array_equal(back.transform(X), out)


# ---------------------------------------------------------------------------- against chemotools
chemotools = pytest.importorskip("chemotools")


def test_snv_matches_chemotools():
    from chemotools.scatter import StandardNormalVariate

    X = _spectra()
    np.testing.assert_allclose(Preprocessing.from_spec("snv").fit_transform(X),
                               StandardNormalVariate().fit_transform(X), rtol=1e-12, atol=1e-12)


def test_msc_matches_chemotools():
    from chemotools.scatter import MultiplicativeScatterCorrection

    X, Xnew = _spectra(seed=1), _spectra(seed=2)
    ours = Preprocessing.from_spec("msc").fit(X)
    theirs = MultiplicativeScatterCorrection().fit(X)
    np.testing.assert_allclose(ours.transform(Xnew), theirs.transform(Xnew), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("order", [1, 2])
def test_derivatives_match_chemotools(order):
    from chemotools.derivative import SavitzkyGolay

    X = _spectra()
    theirs = SavitzkyGolay(window_length=11, polyorder=2, deriv=order, mode="interp").fit_transform(X)
    np.testing.assert_allclose(Preprocessing.from_spec(f"d{order}").fit_transform(X), theirs, atol=1e-12)


def test_crop_matches_chemotools_range_cut():
    from chemotools.feature_selection import RangeCut

    X = _spectra()
    # chemotools keeps [start, end) in indices; ours keeps both ends
    np.testing.assert_array_equal(Preprocessing.from_spec("crop:10-59").fit_transform(X),
                                  RangeCut(start=10, end=60).fit_transform(X))


def test_arpls_matches_pybaselines_directly():
    from pybaselines import Baseline

    X = _spectra(3) + 0.002 * T  # a sloped background
    ours = Preprocessing.from_spec("arpls").fit_transform(X)
    fitter = Baseline(T)
    theirs = np.stack([x - fitter.arpls(x, lam=1e5, diff_order=2, max_iter=50, tol=1e-3)[0] for x in X])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
