"""vaelab.sklearn: preprocessing transformers and the Augmenter inside imbalanced-learn pipelines."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from vaelab.core.errors import InputError
from vaelab.data.preprocess import Preprocessing
from vaelab.sklearn import MSC, SNV, Augmenter, Crop, Derivative, Preprocess

T = np.arange(60, dtype=np.float64)


def _data(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth random spectra (n, 60), random binary labels, 12 groups of n/12."""
    rng = np.random.default_rng(seed)
    basis = np.stack([np.exp(-0.5 * ((T - c) / 6) ** 2) for c in (10, 25, 40, 52)])
    X = rng.gamma(2.0, 1.0, (n, 4)) @ basis + 0.05 * rng.standard_normal((n, 60)) + 1.0
    y = rng.permutation(np.repeat(["a", "b"], n // 2))
    groups = np.repeat(np.arange(12), n // 12)
    return X, y, groups


@pytest.mark.parametrize("tf, spec", [(SNV(), "snv"), (MSC(), "msc"), (Derivative(2, window=7), "d2"),
                                      (Crop(5, 30), "crop:5-30"), (Preprocess("arpls+savgol+vector"), None)])
def test_transformers_match_the_steps_and_clone(tf, spec):
    X, _, _ = _data()
    pre = Preprocessing.from_spec(spec or tf.spec, **({"d2": {"window": 7}} if spec == "d2" else {}))
    np.testing.assert_array_equal(clone(tf).fit(X[:30]).transform(X[30:]), pre.fit(X[:30]).transform(X[30:]))


def test_crop_transformer_uses_the_axis():
    X, _, _ = _data()
    axis = 400.0 + 10.0 * T
    assert Crop(500, 600, axis=axis).fit_transform(X).shape == (len(X), 11)


def test_augmenter_counts_labels_and_determinism():
    X, y, _ = _data()
    aug = Augmenter(model="ppca", factor=1.5, seed=3)
    Xr, yr = aug.fit_resample(X, y)
    assert Xr.shape == (48 + 72, 60) and yr.dtype == y.dtype
    np.testing.assert_array_equal(Xr[:48], X)
    assert dict(zip(*np.unique(yr[48:], return_counts=True), strict=True)) == {"a": 36, "b": 36}
    Xr2, yr2 = clone(aug).fit_resample(X, y)
    np.testing.assert_array_equal(Xr, Xr2)
    _, yp = Augmenter(model="ppca", per_class={"b": 5}).fit_resample(X, y)
    assert (yp[48:] == "b").sum() == 5 and len(yp) == 53
    with pytest.raises(InputError):
        Augmenter(factor=0).fit_resample(X, y)
    with pytest.raises(InputError):
        Augmenter(per_class={"zzz": 2}).fit_resample(X, y)


def test_leak_check_random_labels_stay_at_chance_through_the_pipeline():
    """With random labels nothing can be learned: a pipeline that augments inside each training fold
    stays at chance; augmenting before the split (the common error) does not, because near-copies
    of the test spectra sit in the training folds."""
    X, y, groups = _data()
    knn = KNeighborsClassifier(n_neighbors=1)
    for model in ("noise", "vaelab-cvae"):
        pipe = Pipeline([("snv", SNV()), ("aug", Augmenter(model=model, factor=2, seed=0,
                                                           config={"epochs": 30} if model == "vaelab-cvae" else None)),
                         ("clf", knn)])
        acc = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(n_splits=4)).mean()
        assert 0.3 <= acc <= 0.65, (model, acc)  # 48 random labels: chance 0.5, sd ~0.07
    # the leaky way: augment everything, then split
    Xs = SNV().fit_transform(X)
    Xa, ya = Augmenter(model="noise", factor=2, seed=0).fit_resample(Xs, y)
    leaky = cross_val_score(knn, Xa, ya, cv=KFold(4, shuffle=True, random_state=0)).mean()
    assert leaky > 0.8
