"""benchmarks/synthetic_images.py: the textured-shapes image set (shapes, levels, classes, determinism)."""

import numpy as np


def test_textured_shapes_are_uint8_class_blocks_and_deterministic(benchmark_module):
    m = benchmark_module("synthetic_images.py")
    X, y = m.make_textured_shapes(n_per_class=6, n_classes=4, seed=1)
    assert X.shape == (24, 28, 28) and X.dtype == np.uint8 and y.tolist() == sorted([0, 1, 2, 3] * 6)
    np.testing.assert_array_equal(m.make_textured_shapes(n_per_class=6, n_classes=4, seed=1)[0], X)
    assert not np.array_equal(m.make_textured_shapes(n_per_class=6, n_classes=4, seed=2)[0], X)
    # same random centre and radius: the ring (class 2) is the disc (class 0) with its centre cut out
    disc, ring = (m._object_mask(k, 28, np.random.default_rng(0)) for k in (0, 2))
    assert set(np.unique(disc)) == {0.0, 1.0} and np.all(ring <= disc) and 0 < ring.sum() < disc.sum()


def test_textured_shapes_masks_leave_the_images_unchanged(benchmark_module):
    m = benchmark_module("synthetic_images.py")
    X, y = m.make_textured_shapes(n_per_class=3, n_classes=4, seed=5)
    Xm, ym, M = m.make_textured_shapes(n_per_class=3, n_classes=4, seed=5, masks=True)
    np.testing.assert_array_equal(Xm, X)
    np.testing.assert_array_equal(ym, y)
    assert M.shape == X.shape and M.min() >= 0 and M.max() <= 1
    # the object is brighter than its surroundings where the mask is on: each image's mean inside > outside
    assert all(x[mk > 0.95].mean() > x[mk < 0.05].mean() for x, mk in zip(X.astype(float), M, strict=True))
