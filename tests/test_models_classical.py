"""Classical generators (ppca, noise, shift, scale, mixup, smote): protocol and analytic checks."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.models.base import WEIGHTS_FILE
from vaelab.models.classical import (
    CLASSICAL_MODELS,
    PPCA,
    MixupResampler,
    NoiseResampler,
    ScaleResampler,
    ShiftResampler,
    SmoteResampler,
)

NAMES = [cls.name for cls in CLASSICAL_MODELS]


def _data(seed: int = 0, shape: tuple[int, ...] = (12,), n_per: tuple[int, ...] = (9, 7, 5)):
    """Classes 'a', 'b', 'c' with different means; smooth-ish rows in feature shape ``shape``."""
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for k, n in enumerate(n_per):
        Xs.append(k + 0.3 * rng.standard_normal((n, *shape)) + rng.standard_normal(shape))
        ys += ["abc"[k]] * n
    return np.concatenate(Xs), np.asarray(ys, dtype=object)


def _segment_distance(x: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """Smallest distance from x to a segment [rows[i], rows[j]], i != j, and its λ (x ≈ λ a + (1 - λ) b)."""
    best, best_lam = np.inf, np.nan
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            a, b = rows[i], rows[j]
            ab = a - b
            lam = float(np.clip(np.dot(x - b, ab) / np.dot(ab, ab), 0.0, 1.0))
            dist = float(np.linalg.norm(x - (lam * a + (1 - lam) * b)))
            if dist < best:
                best, best_lam = dist, lam
    return best, best_lam


# ------------------------------------------------------------------ protocol, every model
@pytest.mark.parametrize("name", NAMES)
def test_shapes_labels_counts(name):
    X, y = _data(shape=(3, 8))
    m = get_model(name).fit(X, y, seed=0)
    Xs, ys = m.sample({"c": 4, "a": 6, "b": 0}, seed=1)
    assert Xs.shape == (10, 3, 8) and Xs.dtype == np.float64
    assert list(ys) == ["a"] * 6 + ["c"] * 4  # class order, not request order
    assert np.all(np.isfinite(Xs))
    X0, y0 = m.sample({"a": 0}, seed=1)
    assert X0.shape == (0, 3, 8) and len(y0) == 0


@pytest.mark.parametrize("name", NAMES)
def test_int_labels_kept(name):
    X, _ = _data()
    y = np.repeat([3, 7, 11], [9, 7, 5])
    m = get_model(name).fit(X, y, seed=0)
    Xs, ys = m.sample({7: 5, "11": 2}, seed=0)
    assert ys.dtype.kind == "i" and list(ys) == [7] * 5 + [11] * 2
    assert Xs.shape == (7, 12)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_seed_dependent(name):
    X, y = _data()
    m = get_model(name).fit(X, y, seed=0)
    a1, _ = m.sample({"a": 8, "b": 8}, seed=3)
    a2, _ = m.sample({"a": 8, "b": 8}, seed=3)
    b, _ = m.sample({"a": 8, "b": 8}, seed=4)
    np.testing.assert_array_equal(a1, a2)
    assert not np.allclose(a1, b)
    # a class's samples do not depend on the other classes in the request
    only_b, _ = m.sample({"b": 8}, seed=3)
    np.testing.assert_array_equal(only_b, a1[8:])
    # refitting with the same data and seed gives the same model
    m2 = get_model(name).fit(X, y, seed=0)
    np.testing.assert_array_equal(m2.sample({"a": 8, "b": 8}, seed=3)[0], a1)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, tmp_path):
    X, y = _data(shape=(2, 6))
    m = get_model(name).fit(X, y, seed=0)
    m.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["model"] == name and cfg["classes"] == ["a", "b", "c"] and cfg["feature_shape"] == [2, 6]
    assert set(cfg) == {"model", "config", "classes", "feature_shape"}
    m2 = load_model(tmp_path / "m")
    assert type(m2) is type(m) and m2.config == m.config
    s1, y1 = m.sample({"a": 5, "c": 3}, seed=9)
    s2, y2 = m2.sample({"a": 5, "c": 3}, seed=9)
    np.testing.assert_array_equal(s1, s2)
    assert list(y1) == list(y2)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_weights_refused(name, tmp_path):
    X, y = _data()
    get_model(name).fit(X, y, seed=0).save(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(pickle.dumps({"X": X}))
    with pytest.raises(InputError, match="pickle"):
        load_model(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"garbage, not a safetensors header")
    with pytest.raises(InputError, match="safetensors"):
        load_model(tmp_path)


def test_load_rejects_mismatched_weights(tmp_path):
    X, y = _data()
    get_model("mixup").fit(X, y, seed=0).save(tmp_path / "mix")
    get_model("ppca").fit(X, y, seed=0).save(tmp_path / "pp")
    # ppca's config next to mixup's weights: missing arrays
    (tmp_path / "pp" / WEIGHTS_FILE).write_bytes((tmp_path / "mix" / WEIGHTS_FILE).read_bytes())
    with pytest.raises(InputError, match="lack"):
        load_model(tmp_path / "pp")
    with pytest.raises(InputError, match="not 'ppca'"):
        PPCA.load(tmp_path / "mix")
    # a feature shape that does not match the stored rows
    cfg = json.loads((tmp_path / "mix" / "config.json").read_text())
    cfg["feature_shape"] = [13]
    (tmp_path / "mix" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="shape"):
        load_model(tmp_path / "mix")


def test_errors():
    X, y = _data()
    with pytest.raises(InputError, match="not fitted"):
        PPCA().sample({"a": 1})
    m = NoiseResampler().fit(X, y)
    with pytest.raises(InputError, match="unknown class"):
        m.sample({"z": 1})
    with pytest.raises(InputError, match="seed"):
        m.sample({"a": 1}, seed=-1)
    with pytest.raises(InputError, match="unknown option"):
        get_model("ppca", epochs=3)
    for name, bad in [("ppca", {"n_components": 0}), ("noise", {"scale": -1.0}), ("shift", {"max_shift": -2}),
                      ("scale", {"amount": 1.5}), ("mixup", {"alpha": 0.0}), ("smote", {"k_neighbors": 0})]:
        with pytest.raises(InputError):
            get_model(name, **bad)
    with pytest.raises(InputError, match="fewer than 2"):
        MixupResampler().fit(X[:10], np.r_[["a"] * 9, ["b"]])


# ------------------------------------------------------------------ analytic checks
def test_ppca_recovers_low_rank_plus_noise():
    """x = μ + A z + σ ε with rank-3 A: σ² and the covariance spectrum are recovered."""
    rng = np.random.default_rng(0)
    d, q, n, sigma2 = 20, 3, 6000, 0.25
    basis, _ = np.linalg.qr(rng.standard_normal((d, q)))
    strengths = np.array([9.0, 4.0, 2.25])  # variances along the principal axes, above the noise
    A = basis * np.sqrt(strengths)
    mu = rng.standard_normal(d)
    X = mu + rng.standard_normal((n, q)) @ A.T + np.sqrt(sigma2) * rng.standard_normal((n, d))
    m = PPCA(n_components=q).fit(X, np.zeros(n, dtype=int))
    st = m.state_[0]
    assert st["W"].shape == (d, q)
    assert abs(st["sigma2"][0] - sigma2) < 0.03 * sigma2
    np.testing.assert_allclose(st["mean"], mu, atol=0.1)
    true_cov = A @ A.T + sigma2 * np.eye(d)
    fitted = np.sort(np.linalg.eigvalsh(m.covariance(0)))[::-1]
    expected = np.r_[strengths + sigma2, np.full(d - q, sigma2)]
    np.testing.assert_allclose(fitted, expected, rtol=0.06)
    # the fitted principal subspace is the true one
    overlap = np.linalg.svd(basis.T @ np.linalg.svd(st["W"], full_matrices=False)[0])[1]
    assert overlap.min() > 0.99
    # and the samples have the fitted covariance
    Xs, _ = m.sample({0: 20000}, seed=1)
    np.testing.assert_allclose(np.cov(Xs.T), true_cov, atol=0.3)


def test_ppca_sigma2_is_mean_of_discarded_eigenvalues_when_n_much_smaller_than_d():
    rng = np.random.default_rng(1)
    n, d = 8, 50
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2, d)
    m = PPCA(n_components=10).fit(X, np.zeros(n, dtype=int))  # q capped at n - 1 = 7: no noise left
    assert m.state_[0]["W"].shape == (d, 7) and m.state_[0]["sigma2"][0] < 1e-12  # 0 up to rounding
    m = PPCA(n_components=4).fit(X, np.zeros(n, dtype=int))
    eig = np.sort(np.linalg.eigvalsh(np.cov(X.T)))[::-1]
    assert m.state_[0]["sigma2"][0] == pytest.approx(eig[4:].mean(), rel=1e-9)
    # fitted covariance: top 4 eigenvalues kept, the rest replaced by their mean
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(m.covariance(0)))[::-1][:4], eig[:4], rtol=1e-8)


@pytest.mark.parametrize("scale", [0.25, 1.0])
def test_noise_spread(scale):
    rng = np.random.default_rng(2)
    real = rng.standard_normal((400, 6)) * np.array([0.5, 1, 2, 3, 0.1, 1])
    m = NoiseResampler(scale=scale).fit(real, np.zeros(400, dtype=int))
    Xs, _ = m.sample({0: 40000}, seed=0)
    expected = np.sqrt(1 + scale**2) * real.std(axis=0, ddof=1)
    np.testing.assert_allclose(Xs.std(axis=0), expected, rtol=0.03)


def test_scale_is_a_multiple_of_a_training_row():
    X, y = _data()
    m = ScaleResampler(amount=0.2).fit(X, y)
    Xs, _ = m.sample({"b": 30}, seed=0)
    rows = X[y == "b"]
    factors = []
    for x in Xs:
        ratios = x[None, :] / rows
        i = np.argmin(ratios.std(axis=1))
        assert np.allclose(ratios[i], ratios[i, 0], rtol=1e-12)
        factors.append(ratios[i, 0])
    factors = np.asarray(factors)
    assert factors.min() >= 0.8 and factors.max() <= 1.2 and factors.std() > 0.05


def test_shift_zero_returns_training_rows():
    X, y = _data(shape=(2, 10))
    Xs, _ = ShiftResampler(max_shift=0).fit(X, y).sample({"a": 20, "c": 5}, seed=0)
    train = {r.tobytes() for r in X}
    assert all(x.tobytes() in train for x in Xs)


def test_shift_moves_a_ramp_and_holds_the_edges():
    """Rows x_j = slope · j: a shift by s gives slope · (j − s) inside, the edge values beyond."""
    L, m = 40, 3.0
    slopes = np.array([1.0, 2.0, 3.0])
    X = slopes[:, None] * np.arange(L)
    j = np.arange(L)
    gen = ShiftResampler(max_shift=m).fit(X, np.zeros(3, dtype=int))
    Xs, _ = gen.sample({0: 200}, seed=0)
    shifts = []
    for x in Xs:
        slope = x[20] - x[19]
        assert np.isclose(slope, slopes).any()
        s = 20 - x[20] / slope
        assert abs(s) <= m + 1e-9
        expected = slope * np.clip(j - s, 0, L - 1)  # clamped positions = edge values held
        np.testing.assert_allclose(x, expected, atol=1e-9)
        shifts.append(s)
    shifts = np.asarray(shifts)
    assert shifts.min() < -2 and shifts.max() > 2 and np.any(np.abs(shifts - np.round(shifts)) > 0.1)
    Xi, _ = ShiftResampler(max_shift=2, fractional=False).fit(X, np.zeros(3, dtype=int)).sample({0: 50}, seed=1)
    found = set()
    for x in Xi:
        slope = x[20] - x[19]
        s = 20 - x[20] / slope
        assert np.isclose(s, np.round(s)) and round(s) in (-2, -1, 0, 1, 2)
        np.testing.assert_allclose(x, slope * np.clip(j - round(s), 0, L - 1), atol=1e-9)
        found.add(round(s))
    assert found == {-2, -1, 0, 1, 2}


def test_mixup_on_segments_between_same_class_rows():
    X, y = _data()
    m = MixupResampler(alpha=0.4).fit(X, y)
    Xs, ys = m.sample({"a": 25, "c": 15}, seed=0)
    lams = []
    for x, label in zip(Xs, ys, strict=True):
        dist, lam = _segment_distance(x, X[y == label])
        assert dist < 1e-9
        lams.append(min(lam, 1 - lam))
    # Beta(0.4, 0.4) puts mass near the ends and in the middle
    assert min(lams) < 0.1 and max(lams) > 0.25


def test_smote_on_segments_between_same_class_rows():
    X, y = _data()
    m = SmoteResampler().fit(X, y)
    Xs, ys = m.sample({"a": 25, "c": 15}, seed=0)
    for x, label in zip(Xs, ys, strict=True):
        dist, _ = _segment_distance(x, X[y == label])
        assert dist < 1e-9
    # new points, not copies of training rows
    assert not any((np.abs(X - x).sum(axis=1) < 1e-12).any() for x in Xs)


def test_smote_uses_only_k_nearest_neighbours():
    """With k_neighbors=1 every sample lies between a row and its nearest same-class row."""
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((6, 4)) * 10
    m = SmoteResampler(k_neighbors=1).fit(rows, np.zeros(6, dtype=int))
    Xs, _ = m.sample({0: 40}, seed=0)
    dists = np.linalg.norm(rows[:, None] - rows[None], axis=2) + np.diag(np.full(6, np.inf))
    nearest = {(i, int(np.argmin(dists[i]))) for i in range(6)}
    for x in Xs:
        ok = False
        for i, j in nearest:
            ab = rows[j] - rows[i]
            u = np.dot(x - rows[i], ab) / np.dot(ab, ab)
            ok |= bool(-1e-12 <= u <= 1 and np.linalg.norm(rows[i] + u * ab - x) < 1e-9)
        assert ok


def test_safetensors_whose_header_length_looks_like_a_pickle_is_accepted(tmp_path):
    """A header length with low byte 0x80 (the pickle opcode) is legal safetensors, not a pickle."""
    from safetensors.numpy import save_file

    from vaelab.core.safetensors_io import load_safetensors, load_safetensors_numpy

    f = tmp_path / "w.safetensors"
    arrays = {"class0.X": np.arange(6.0).reshape(2, 3)}
    for pad in range(300):
        save_file(arrays, str(f), metadata={"pad": "x" * pad})
        if f.read_bytes()[:1] == b"\x80":
            break
    assert f.read_bytes()[:1] == b"\x80"
    np.testing.assert_array_equal(load_safetensors_numpy(f)["class0.X"], arrays["class0.X"])
    assert load_safetensors(f)["class0.X"].shape == (2, 3)
