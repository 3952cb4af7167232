"""Helpers for the tests of ``vaelab ablate``'s image-cell settings (``cnn_restarts``, ``cnn_standardise``): small image
and row sets, and a cell run as stored before a setting existed and as planned now."""

import numpy as np

PLAN = {"folds": 2, "seeds": 1}  # plan_ablation's keywords in these tests


def image_and_row_sets():
    """``(images, rows)``: 60 random 8x8 uint8 images and 60 rows of 30 values, 3 classes of 20 each."""
    from vaelab.data.dataset import Dataset

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    images = Dataset(X=rng.integers(0, 17, (60, 8, 8)).astype(np.uint8), y=y)
    return images, Dataset(X=rng.normal(size=(60, 30)), y=y)


def settings_seen(monkeypatch, abl, images, key: str) -> list:
    """Run the first planned cell of ``images`` twice, stored without ``key`` and as planned, with ``cell_metrics``
    replaced by a recorder; the values of ``key`` that ``cell_metrics`` received, in that order."""
    calls = []
    monkeypatch.setattr(abl, "cell_metrics", lambda *a, **k: (calls.append(k[key]), ({}, {}))[1])
    plan = abl.plan_ablation(images, "ppca", **PLAN)
    cell = plan["cells"][0]
    abl.ablation_cell(plan["shared"], {k: v for k, v in cell.items() if k != key})  # stored without it
    abl.ablation_cell(plan["shared"], cell)
    return calls
