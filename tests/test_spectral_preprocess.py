"""Raman preprocessing steps (asls/arpls/aspls baselines, savgol, vector/area normalisation)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.data.preprocess import STEPS, Preprocessing

M = 300
T = np.arange(M, dtype=np.float64)


def _peak(centre: float, width: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((T - centre) / width) ** 2)


def test_steps_are_registered():
    for name in ("asls", "arpls", "aspls", "savgol", "vector", "area"):
        assert name in STEPS


def test_vector_and_area_known_values():
    X = np.array([[3.0, 4.0, 0.0], [1.0, -3.0, 0.0], [0.0, 0.0, 0.0]])
    v = Preprocessing.from_spec("vector").fit_transform(X)
    np.testing.assert_allclose(v[0], [0.6, 0.8, 0.0])
    np.testing.assert_allclose(v[1], np.array([1.0, -3.0, 0.0]) / np.sqrt(10.0))
    np.testing.assert_array_equal(v[2], [0.0, 0.0, 0.0])  # all-zero sample stays zero, no NaN
    a = Preprocessing.from_spec("area").fit_transform(X)
    np.testing.assert_allclose(a[0], [3 / 7, 4 / 7, 0.0])
    np.testing.assert_allclose(a[1], [0.25, -0.75, 0.0])
    np.testing.assert_array_equal(a[2], [0.0, 0.0, 0.0])


def test_normalisation_covers_all_features_of_an_image_like_sample():
    X = np.zeros((2, 2, 2))
    X[0] = [[1.0, 1.0], [1.0, 1.0]]
    X[1, 0, 0] = 5.0
    v = Preprocessing.from_spec("vector").fit_transform(X)
    assert v.shape == X.shape
    np.testing.assert_allclose(v[0], 0.5)
    np.testing.assert_allclose(v[1, 0, 0], 1.0)


def test_savgol_keeps_polynomials_and_differentiates():
    cubic = 1e-6 * (T - 150) ** 3 + 0.01 * T
    X = np.stack([cubic, 2 * T + 1])
    np.testing.assert_allclose(Preprocessing.from_spec("savgol").fit_transform(X), X, atol=1e-9)
    d = Preprocessing.from_spec("savgol", savgol={"window": 7, "polyorder": 2, "deriv": 1}).fit_transform(X)
    np.testing.assert_allclose(d[1], 2.0, atol=1e-9)


def test_savgol_smooths_noise():
    rng = np.random.default_rng(0)
    X = np.sin(T / 30)[None, :] + 0.1 * rng.standard_normal((5, M))
    s = Preprocessing.from_spec("savgol", savgol={"window": 21, "polyorder": 2}).fit_transform(X)
    err_raw = np.abs(X - np.sin(T / 30)).mean()
    err_s = np.abs(s - np.sin(T / 30)).mean()
    assert err_s < 0.5 * err_raw


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["asls", "arpls", "aspls"])
def test_baseline_removes_a_straight_line_exactly(name):
    # a straight line has zero second differences: the Whittaker baseline reproduces it
    X = np.stack([5.0 + 0.02 * T, -3.0 - 0.01 * T])
    out = Preprocessing.from_spec(name).fit_transform(X)
    np.testing.assert_allclose(out, 0.0, atol=1e-6)


@pytest.mark.parametrize("name", ["asls", "arpls", "aspls"])
def test_baseline_keeps_a_peak_on_a_curved_background(name):
    background = 10.0 + 0.03 * T + 2.0 * np.sin(T / 120)
    peak = _peak(150, 4.0, 5.0)
    pre = Preprocessing.from_spec(name, **{name: {"lam": 1e4}})
    out = pre.fit_transform((background + peak)[None, :])[0]
    far = np.abs(T - 150) > 30
    assert np.abs(out[far]).mean() < 0.1  # background gone (it was 10..21)
    assert 4.0 < out[150] < 5.5  # the peak stays (height 5)


def test_baseline_parameters_round_trip_through_json():
    pre = Preprocessing.from_spec("asls+savgol+vector", asls={"lam": 1e4, "p": 0.05}, savgol={"window": 9})
    d = json.loads(json.dumps(pre.to_dict()))
    assert d["spec"] == "asls+savgol+vector"
    assert d["steps"][0]["params"]["lam"] == 1e4 and d["steps"][0]["params"]["p"] == 0.05
    assert d["steps"][1]["params"] == {"window": 9, "polyorder": 3, "deriv": 0}
    back = Preprocessing.from_dict(d)
    rng = np.random.default_rng(1)
    X = 100 + 0.1 * T + _peak(100, 3, 20) + rng.standard_normal((3, M))
    np.testing.assert_array_equal(back.transform(X), pre.fit_transform(X))
    np.testing.assert_allclose(np.linalg.norm(back.transform(X), axis=1), 1.0)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["asls", "arpls", "aspls", "savgol"])
def test_baseline_and_smoothing_refuse_anything_but_spectra(name):
    # a (n, H, W) array would otherwise get a "baseline" fitted along every image row
    X = np.stack([np.stack([5.0 + 0.02 * T, 1.0 + 0.0 * T])] * 2)  # (2, 2, M)
    with pytest.raises(InputError, match=rf"'{name}' applies to spectra.*got shape \(2, 2, {len(T)}\)"):
        Preprocessing.from_spec(name).fit_transform(X)


@pytest.mark.parametrize("spec,params,match", [
    ("savgol", {"window": 10}, "odd"),
    ("savgol", {"window": 5, "polyorder": 5}, "less than window"),
    ("savgol", {"window": 5, "polyorder": 2, "deriv": 3}, "deriv"),
    ("asls", {"lam": -1}, "lam"),
    ("asls", {"bogus": 1}, "unknown"),
    ("aspls", {"max_iter": 0}, "max_iter"),
])
def test_bad_parameters_raise_input_error(spec, params, match):
    with pytest.raises(InputError, match=match):
        Preprocessing.from_spec(spec, **{spec: params})


def test_window_longer_than_spectrum_is_an_input_error():
    with pytest.raises(InputError, match="longer than"):
        Preprocessing.from_spec("savgol", savgol={"window": 11}).fit_transform(np.ones((2, 5)))
