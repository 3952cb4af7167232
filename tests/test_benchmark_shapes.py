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


def test_mean_sd_over_sampling_seeds_known_values(benchmark_module):
    g = benchmark_module("generators.py")
    runs = [{"c2st": c, "tstr": t, "trtr": 0.8, "tstr/trtr": t / 0.8, "dcr": d, "spread": {"a": sa, "b": 1.0}}
            for c, t, d, sa in ((0.6, 0.72, 1.0, 0.9), (0.7, 0.80, 1.2, 1.1), (0.8, 0.76, 0.8, 1.0))]
    m = g.mean_sd(runs)
    np.testing.assert_allclose(m["c2st"], (0.7, 0.1))  # mean 0.7, sd (ddof 1) of 0.6 / 0.7 / 0.8 = 0.1
    np.testing.assert_allclose(m["tstr/trtr"], (0.95, 0.05))  # 0.9 / 1.0 / 0.95
    np.testing.assert_allclose(m["dcr"], (1.0, 0.2))
    np.testing.assert_allclose(m["spread"]["a"], (1.0, 0.1))
    np.testing.assert_allclose([m["spread"]["b"], m["trtr"]], [(1.0, 0.0), (0.8, 0.0)], atol=1e-12)
    row = g.fmt_row_mean_sd("x", m, None)
    assert row == "| x | 0.700 +- 0.100 | 1.00 1.00 | 0.760 +- 0.040 | 0.800 | 0.950 +- 0.050 | 1.000 +- 0.200 |  |"
    assert g.mean_sd(runs[:1])["c2st"] == (0.6, 0.0)
