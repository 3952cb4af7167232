"""The Ray backend gives the same numbers as the local one (optional dependency: skipped without ray)."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from vaelab.data.dataset import Dataset  # noqa: E402
from vaelab.experiments.ablation import run_ablation  # noqa: E402
from vaelab.experiments.augment import run_augment  # noqa: E402
from vaelab.experiments.runner import run_cells  # noqa: E402

pytestmark = pytest.mark.ray


def _cell(shared, cell):  # pickled by value (below): Ray workers cannot import this test module
    if cell["i"] == 1:
        raise RuntimeError("boom")
    return {"v": shared * cell["i"]}


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module (run_cells reuses an initialised Ray and leaves it running)."""
    import sys

    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _coffee_small() -> Dataset:
    from vaelab.datasets import coffee

    ds = coffee().subset(np.arange(0, 60, 2))
    return Dataset(X=ds.X[:, ::8], y=ds.y)


def test_ray_records_failures_in_order(local_ray):
    out = run_cells(_cell, [{"i": i} for i in range(3)], 7, backend="ray", jobs=2)
    assert out[0] == {"v": 0} and out[2] == {"v": 14}
    assert out[1]["error"] == "RuntimeError: boom"
    assert ray.is_initialized()  # a Ray it did not start is left alone


def test_ray_and_local_give_identical_results(local_ray):
    ds = _coffee_small()
    kw = dict(model="seed-cvae", factors="0,1", classifiers="knn,plsda", folds=2, seeds=1, classical="noise",
              epochs=2)
    local = run_augment(ds, **kw)
    remote = run_augment(ds, backend="ray", jobs=2, **kw)
    assert remote["results"] == local["results"]
    assert remote["classical_results"] == local["classical_results"]
    assert remote["n_failed_cells"] == local["n_failed_cells"] == 0
    abl = dict(seeds=1, folds=2, epochs=2, c2st_trees=10, mmd_permutations=10)
    a_local = run_ablation(ds, "seed-vae", **abl)
    a_ray = run_ablation(ds, "seed-vae", backend="ray", jobs=2, **abl)
    assert a_ray["results"] == a_local["results"]
