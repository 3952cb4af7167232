"""The pixel scale of image training sets (``vaelab.models.image.pixels.fit_scale``): uint8 takes its own training
range like any integer-valued data (issue 11, session 14); runs saved with the former full 0..255 scale load and
draw as before."""

import numpy as np
import pytest
import torch

from image_data import stripes
from vaelab.models import get_model, load_model
from vaelab.models.image.pixels import fit_scale, from_unit, level_width, to_unit

FAST = {"vaelab-image": {"epochs": 2, "batch_size": 32, "latent_dim": 4}, "seed-image-vae": {"epochs": 2, "hidden": 32}}


def low_range(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Stripes quantised to 17 grey levels 0..16 and stored as uint8 (as scikit-learn's digits in 8 bits)."""
    X, y = stripes(n, 8)
    X = np.round(X / 255.0 * 16).astype(np.uint8)
    X[0, 0, 0], X[1, 0, 0] = 0, 16  # the training range is exactly 0..16
    return X, y


def former_fit_scale(X: np.ndarray) -> torch.Tensor:
    """The rule before issue 11, session 14: uint8 always [0, 255, 1]."""
    return torch.tensor([0.0, 255.0, 1.0], dtype=torch.float64) if np.asarray(X).dtype == np.uint8 else fit_scale(X)


def test_uint8_takes_its_training_range_with_unit_steps():
    lowr = np.array([[0, 3], [16, 9]], dtype=np.uint8)
    assert fit_scale(lowr).tolist() == [0.0, 16.0, 1.0]
    assert fit_scale(lowr).tolist() == fit_scale(lowr.astype(np.float64)).tolist()  # as the same values in floats
    assert fit_scale(np.array([3, 200, 17], dtype=np.uint8)).tolist() == [3.0, 200.0, 1.0]
    assert fit_scale(np.array([0, 255, 17], dtype=np.uint8)).tolist() == [0.0, 255.0, 1.0]  # full range: as before
    assert fit_scale(np.full((2, 2), 7, dtype=np.uint8)).tolist() == [7.0, 8.0, 1.0]  # constant images
    s = fit_scale(lowr)
    assert level_width(s) == pytest.approx(1 / 16)  # one grey level of 17 (was 1 / 255)
    u = to_unit(torch.tensor([0.0, 8.0, 16.0]), s)
    assert u.tolist() == [0.0, 0.5, 1.0]
    assert from_unit(torch.tensor([-0.1, 0.52, 1.3]), s).tolist() == [0.0, 8.0, 16.0]  # rounded, clipped to 0..16


@pytest.mark.parametrize("name", sorted(FAST))
def test_low_range_uint8_samples_stay_in_range_reproducibly(name, tmp_path):
    X, y = low_range()
    g = get_model(name, **FAST[name])
    g.progress = False
    g.fit(X, y, seed=0)
    assert g.extra_["scale"].tolist() == [0.0, 16.0, 1.0]
    S = g.sample({0: 6, 1: 6}, seed=1)[0]
    assert S.min() >= 0 and S.max() <= 16 and np.all(S == np.round(S))
    np.testing.assert_array_equal(S, g.sample({0: 6, 1: 6}, seed=1)[0])
    h = get_model(name, **FAST[name])
    h.progress = False
    np.testing.assert_array_equal(S, h.fit(X, y, seed=0).sample({0: 6, 1: 6}, seed=1)[0])  # same seed, same bytes
    g.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({0: 6, 1: 6}, seed=1)[0], S)


@pytest.mark.parametrize("name", sorted(FAST))
def test_runs_saved_with_the_former_uint8_scale_load_and_draw_as_before(name, tmp_path, monkeypatch):
    """A run fitted under the former rule (uint8 -> 0..255) keeps its stored scale on load and draws the same
    images; the same fit under the current rule draws different ones (so the check can fail)."""
    import importlib

    X, y = low_range()
    module = importlib.import_module(f"vaelab.models.image.{'seed_image' if name == 'seed-image-vae' else 'vaelab_image'}")
    with monkeypatch.context() as m:
        m.setattr(module, "fit_scale", former_fit_scale)
        old = get_model(name, **FAST[name])
        old.progress = False
        old.fit(X, y, seed=0)
    S = old.sample({0: 6, 1: 6}, seed=1)[0]
    old.save(tmp_path / "old")
    back = load_model(tmp_path / "old")
    assert back.extra_["scale"].tolist() == [0.0, 255.0, 1.0]
    np.testing.assert_array_equal(back.sample({0: 6, 1: 6}, seed=1)[0], S)
    new = get_model(name, **FAST[name])
    new.progress = False
    assert not np.array_equal(new.fit(X, y, seed=0).sample({0: 6, 1: 6}, seed=1)[0], S)


def test_full_range_uint8_fits_are_unchanged(monkeypatch):
    """Training images spanning 0..255 get the former scale, so the fit and its samples are the same bytes."""
    import vaelab.models.image.vaelab_image as vi

    X, y = stripes(32, 8)
    X[0, 0, 0], X[1, 0, 0] = 0, 255
    new = get_model("vaelab-image", **FAST["vaelab-image"])
    new.progress = False
    S = new.fit(X, y, seed=0).sample({0: 5, 1: 5}, seed=2)[0]
    monkeypatch.setattr(vi, "fit_scale", former_fit_scale)
    old = get_model("vaelab-image", **FAST["vaelab-image"])
    old.progress = False
    np.testing.assert_array_equal(old.fit(X, y, seed=0).sample({0: 5, 1: 5}, seed=2)[0], S)
