"""benchmarks/generators.py: the data shapes and the synthetic set with a known law (known values)."""

import numpy as np


def test_few_points_keeps_every_kth_point_and_bin_points_averages_k(benchmark_module):
    g = benchmark_module("generators.py")
    X = np.arange(2 * 1000, dtype=float).reshape(2, 1000)
    s = {"X_raw": X, "X_raw_ho": X[:1] + 0.5, "y": np.array(["a", "b"]), "groups": np.array(["1", "2"])}
    few = g.reshape_set(s, "few-points", 0)  # k = ceil(1000 / 250) = 4
    assert few["X_raw"].shape == (2, 250)
    np.testing.assert_array_equal(few["X_raw"][0, :3], [0.0, 4.0, 8.0])
    binned = g.reshape_set(s, "bin-points", 0)
    assert binned["X_raw"].shape == (2, 250)
    np.testing.assert_allclose(binned["X_raw"][0, :3], [1.5, 5.5, 9.5])  # mean of 0..3, 4..7, 8..11
    np.testing.assert_allclose(binned["X_raw_ho"][0, :2], [2.0, 6.0])


def test_synthetic_set_noise_is_the_stated_fraction_of_the_maximum(benchmark_module):
    g = benchmark_module("generators.py")
    X0, y = g.synthetic_set(n_per=40, points=230, noise=0.0, seed=3)
    X1, y1 = g.synthetic_set(n_per=40, points=230, noise=0.01, seed=3)
    assert X0.shape == (120, 230) and (y == y1).all() and sorted(set(y)) == ["c0", "c1", "c2"]
    # same seed, same curves: the difference is the noise alone, sd 0.01 x each spectrum's maximum
    z = (X1 - X0) / (0.01 * X0.max(axis=1, keepdims=True))
    assert abs(z.std() - 1.0) < 0.02 and abs(z.mean()) < 0.02
    np.testing.assert_array_equal(g.synthetic_set(n_per=40, points=230, noise=0.01, seed=3)[0], X1)
