"""Preprocessing: fitted, saved objects that round-trip through JSON."""

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.data.preprocess import Preprocessing


def test_minmax_per_sample_by_hand():
    X = np.array([[2.0, 4.0, 6.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 3.0]])
    out = Preprocessing.from_spec("minmax").fit_transform(X)
    np.testing.assert_allclose(out, [[0, 0.5, 1], [0, 0, 0], [0, 0.25, 1]])


def test_standard_uses_training_statistics(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.normal(5, 2, (50, 4)), rng.normal(5, 2, (10, 4))
    pre = Preprocessing.from_spec("standard").fit(train)
    z = pre.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    expect = (test - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(pre.transform(test), expect)
    pre.save(tmp_path / "p.json")
    back = Preprocessing.load(tmp_path / "p.json")
    np.testing.assert_array_equal(back.transform(test), pre.transform(test))  # exact: JSON floats round-trip
    np.testing.assert_allclose(back.inverse_transform(back.transform(test)), test)


def test_chain_and_images(tmp_path):
    X = np.random.default_rng(1).random((6, 3, 4)) * 10
    pre = Preprocessing.from_spec("minmax+standard")
    out = pre.fit_transform(X)
    assert out.shape == X.shape
    pre.save(tmp_path / "p.json")
    np.testing.assert_array_equal(Preprocessing.load(tmp_path / "p.json").transform(X), out)
    assert pre.spec == "minmax+standard"


def test_none_is_identity_and_unknown_is_refused():
    X = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Preprocessing.from_spec("none").fit_transform(X), X)
    with pytest.raises(InputError, match="unknown preprocessing"):
        Preprocessing.from_spec("magic")


def test_feature_mismatch_is_an_input_error():
    pre = Preprocessing.from_spec("standard").fit(np.zeros((3, 4)))
    with pytest.raises(InputError, match="feature shape"):
        pre.transform(np.zeros((3, 5)))
