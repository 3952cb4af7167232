"""``span = "class"``: every sample of class k projected onto the affine hull of class k's training rows
(``m_k + Q_k Q_k^T (x - m_k)``) inside ``generate()``, before the marginals and the renormalisation, so that the kernel
calibration sees the projected samples (issue 16, session 19); ``span = "class_after"``: the same projection, not while
the kernel is calibrated, so the widths h are the default's (session 19, second helper)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

import vaelab.models.vaelab_cvae as vc
from saved_runs import reloaded_as_saved_before, reproducible_round_trip, without_weights
from test_vaelab_texture_local import FAST, _data
from vaelab.core.errors import InputError
from vaelab.models.vaelab_cvae import VaelabCVAE, _class_spans, _project_spans

_COUNTS = {"a": 30, "b": 30}


def _flat_data() -> tuple[np.ndarray, np.ndarray]:
    """The 48-point test spectra (class a: 36, b: 24) with every class-a spectrum at 0.7 on its first 4 points."""
    X, y = _data()
    X[y == "a", :4] = 0.7
    return X, y


def _fit(X: np.ndarray, y: np.ndarray, **kw) -> VaelabCVAE:
    return VaelabCVAE(**{**FAST, **kw}).fit(X, y, seed=0)


def _hull_residual(R: np.ndarray, S: np.ndarray) -> float:
    """The largest residual of the least-squares fit of ``S - mean(R)`` on the centred rows of ``R``."""
    m = R.mean(axis=0)
    A = (R - m).T
    coef = np.linalg.lstsq(A, (S - m).T, rcond=None)[0]
    return float(np.abs(A @ coef - (S - m).T).max())


def test_samples_lie_in_their_class_hull_and_flat_points_stay_flat():
    X, y = _flat_data()
    S, ys = _fit(X, y, span="class").sample(_COUNTS, seed=1)
    S0, ys0 = _fit(X, y).sample(_COUNTS, seed=1)
    for k in ("a", "b"):
        assert _hull_residual(X[y == k], S[ys == k]) < 1e-6 * np.abs(S).max()  # float32 samples
        assert _hull_residual(X[y == k], S0[ys0 == k]) > 1e-2  # the default's do not
    # the points where every class-a row is 0.7 stay 0.7 in class a's samples (float32), the default's vary there
    np.testing.assert_allclose(S[ys == "a", :4], 0.7, atol=1e-6)
    assert S0[ys0 == "a", :4].std(axis=0).min() > 1e-2
    assert S[ys == "b", :4].std(axis=0).min() > 1e-2  # class b's rows vary there: so do its samples


def test_the_calibration_draws_projected_samples(monkeypatch):
    calls = []

    def counted(x, c, extra):
        calls.append(len(c))
        return project(x, c, extra)

    project = vc._project_spans
    monkeypatch.setattr(vc, "_project_spans", counted)
    X, y = _flat_data()
    _fit(X, y, span="class")
    assert calls  # generate() projected during after_fit's kernel calibration, before any sample was asked for


def test_none_is_the_default_and_stores_nothing():
    X, y = _flat_data()
    assert VaelabCVAE().config.span == "none"
    g = _fit(X, y)
    assert not any(key.startswith("span_") for key in g.extra_)
    np.testing.assert_array_equal(g.sample(_COUNTS, seed=1)[0], _fit(X, y, span="none").sample(_COUNTS, seed=1)[0])


def test_full_rank_classes_draw_the_none_bytes():
    # 8 features, 36 and 24 rows per class: every class spans the whole space (rank 8), nothing is projected and the
    # calibration sees the same samples
    X, y = _data()
    X = X[:, ::6]
    g = _fit(X, y, span="class")
    assert g.extra_["span_rank"].tolist() == [8, 8]
    np.testing.assert_array_equal(g.sample(_COUNTS, seed=1)[0], _fit(X, y).sample(_COUNTS, seed=1)[0])


def test_spans_rank_and_a_one_point_class():
    rng = np.random.default_rng(0)
    # class 0: 6 rows on a 2-dimensional affine plane (+ 1e-17 noise, below matrix_rank's tolerance); class 1: 3 equal rows
    plane = rng.standard_normal((2, 10))
    rows0 = 1.0 + rng.standard_normal((6, 2)) @ plane + 1e-17 * rng.standard_normal((6, 10))
    rows1 = np.tile(rng.standard_normal(10), (3, 1))
    flat, c = np.vstack([rows0, rows1]), torch.tensor([0] * 6 + [1] * 3)
    sp = _class_spans(flat, c, 2)
    assert sp["span_rank"].tolist() == [np.linalg.matrix_rank(rows0 - rows0.mean(0)), 0] == [2, 0]
    assert sp["span_basis"].dtype == sp["span_mean"].dtype == torch.float64 and sp["span_basis"].shape == (2, 10, 2)
    Q = sp["span_basis"][0].numpy()
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-12)
    x = torch.as_tensor(rng.standard_normal((5, 10)), dtype=torch.float32)
    out = _project_spans(x, torch.tensor([0, 0, 0, 1, 1]), sp).double().numpy()
    assert _hull_residual(rows0, out[:3]) < 1e-5
    np.testing.assert_allclose(out[3:], np.tile(rows1[0], (2, 1)), rtol=1e-6)  # the hull of equal rows is that point
    # projecting twice changes nothing (float32 rounding)
    np.testing.assert_allclose(_project_spans(torch.as_tensor(out, dtype=torch.float32), torch.tensor([0, 0, 0, 1, 1]),
                                              sp).numpy(), out, atol=1e-5)


def test_with_quantile_marginals_the_hull_is_taken_on_the_normal_scores():
    X, y = _flat_data()
    g = _fit(X, y, span="class", marginals="quantile")
    scores = vc._normal_scores(X, vc._feature_quantiles(X))
    np.testing.assert_allclose(g.extra_["span_mean"][0].numpy(), scores[y == "a"].mean(axis=0), atol=1e-12)
    S, ys = g.sample(_COUNTS, seed=1)
    assert np.isfinite(S).all()
    np.testing.assert_allclose(S[ys == "a", :4], 0.7, atol=1e-6)  # a constant score maps back to the constant


def test_span_is_deterministic_round_trips_and_old_runs_load_as_none(tmp_path):
    from vaelab.models import load_model

    X, y = _flat_data()
    back = reproducible_round_trip(lambda: _fit(X, y, span="class"), _COUNTS, tmp_path / "m")
    assert back.config.span == "class"
    without_weights(tmp_path / "m", "extra.span_basis")
    with pytest.raises(InputError, match="span = 'class' needs span_mean, span_basis, span_rank"):
        load_model(tmp_path / "m")
    old = reloaded_as_saved_before(_fit(X, y), tmp_path / "old", ("span",), _COUNTS, seed=1)
    assert old.config.span == "none"
    # span tensors under a config without span = "class": refused, not ignored
    _fit(X, y, span="class").save(tmp_path / "x")
    import json

    doc = json.loads((tmp_path / "x" / "config.json").read_text())
    doc["config"]["span"] = "none"
    (tmp_path / "x" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="span = 'none' does not match the weights"):
        load_model(tmp_path / "x")


def _wide_flat_data() -> tuple[np.ndarray, np.ndarray]:
    """The test spectra with every class-a spectrum at 0.7 on its first 24 of 48 points: there ``span = "class"``'s
    calibration raises class b's kernel width (0 -> 0.2)."""
    X, y = _data()
    X[y == "a", :24] = 0.7
    return X, y


def _recorded_fit(monkeypatch, X: np.ndarray, y: np.ndarray, **kw) -> tuple[VaelabCVAE, list]:
    """A fit, with the sha256 of every batch ``generate()`` returned while the kernel was calibrated."""
    seen = []
    generate = VaelabCVAE.generate

    def recorded(self, c, gen):
        out = generate(self, c, gen)
        if self.calibrating_:
            seen.append(hashlib.sha256(out.numpy().tobytes()).hexdigest())
        return out

    monkeypatch.setattr(VaelabCVAE, "generate", recorded)
    g = _fit(X, y, **kw)
    monkeypatch.setattr(VaelabCVAE, "generate", generate)
    return g, seen


def test_class_after_calibrates_on_the_default_draws_and_keeps_its_widths(monkeypatch):
    X, y = _wide_flat_data()
    g0, seen0 = _recorded_fit(monkeypatch, X, y)
    ga, seena = _recorded_fit(monkeypatch, X, y, span="class_after")
    gc, _ = _recorded_fit(monkeypatch, X, y, span="class")
    h0, ha, hc = (g._latent_sampler().state["kde_h"].tolist() for g in (g0, ga, gc))
    assert seen0 and seena == seen0  # the calibration's draws, byte for byte the default's
    assert ha == h0 and hc != h0 and hc[1] > h0[1]  # "class" raises class b's width here, "class_after" keeps it
    # afterwards the samples are projected: the default's samples (the same random numbers) projected onto the hulls
    S0, ys0 = g0.sample(_COUNTS, seed=1)
    Sa, ysa = ga.sample(_COUNTS, seed=1)
    assert ysa.tolist() == ys0.tolist()
    c = torch.as_tensor([list(ga.classes_).index(v) for v in ysa])
    np.testing.assert_allclose(Sa, _project_spans(torch.as_tensor(S0, dtype=torch.float32), c, ga.extra_).numpy(),
                               atol=1e-6)
    for k in ("a", "b"):
        assert _hull_residual(X[y == k], Sa[ysa == k]) < 1e-6 * np.abs(Sa).max()
    np.testing.assert_allclose(Sa[ysa == "a", :24], 0.7, atol=1e-6)
    assert not ga.calibrating_


def test_class_after_is_deterministic_round_trips_and_needs_its_tensors(tmp_path):
    from vaelab.models import load_model

    X, y = _wide_flat_data()
    back = reproducible_round_trip(lambda: _fit(X, y, span="class_after"), _COUNTS, tmp_path / "m")
    assert back.config.span == "class_after"
    assert back._latent_sampler().state["kde_h"].tolist() == _fit(X, y)._latent_sampler().state["kde_h"].tolist()
    without_weights(tmp_path / "m", "extra.span_mean")
    with pytest.raises(InputError, match="span = 'class_after' needs span_mean, span_basis, span_rank"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("bad", ["Class", "", None, 1, "hull", "class_before", "after"])
def test_bad_span_values_are_one_input_error(bad):
    with pytest.raises(InputError, match="span must be one of none, class, class_after, got"):
        VaelabCVAE(span=bad)
