"""Models take feature_shape, declare their modalities; a default model per modality."""

from __future__ import annotations

import numpy as np
import pytest

from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.models import (
    DEFAULT_MODEL_FOR,
    check_model_supports,
    default_model,
    get_model,
    model_modalities,
    register,
)
from vaelab.runs import generate, load_run, train_run


def _images(n=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b"], n // 2)
    X = rng.random((n, 28, 28)) * 0.5 + (y == "a")[:, None, None] * np.linspace(0, 0.5, 28)[None, None, :]
    return X, y


@pytest.mark.parametrize("name,cfg", [("ppca", {}), ("noise", {}), ("seed-cvae", {"epochs": 2}),
                                      ("ddpm", {"train_steps": 4, "hidden": 16, "n_blocks": 1})])
def test_models_train_on_28x28_samples_and_return_that_shape(tmp_path, name, cfg):
    X, y = _images()
    run = train_run(Dataset(X=X, y=y), tmp_path / "run", model=name, config=cfg, progress=False, device="cpu")
    assert run.meta["data"]["feature_shape"] == [28, 28]
    out = generate(load_run(tmp_path / "run"), {"a": 3, "b": 2}, seed=0)
    assert out.X.shape == (5, 28, 28) and np.isfinite(out.X).all()


def test_default_model_per_modality_and_hook():
    assert default_model("spectrum") == "vaelab-cvae" == default_model(None)
    assert default_model("image") == "vaelab-image"
    assert default_model("audio") == "vaelab-audio"
    with pytest.raises(InputError, match="no default model for generic"):
        default_model("generic")
    cls = type(get_model("ppca"))
    try:
        register(cls, default_for="generic")
        assert default_model("generic") == "ppca"
    finally:
        DEFAULT_MODEL_FOR.pop("generic", None)


def test_modalities_declared_and_checked():
    assert model_modalities("vaelab-cvae") == ("spectrum",)
    assert "image" in model_modalities("ppca") and "image" in model_modalities("ddpm")
    check_model_supports("ppca", (28, 28), "image")
    with pytest.raises(InputError, match="made for spectrum data, not image"):
        check_model_supports("vaelab-cvae", (28, 28), "image")
    with pytest.raises(InputError, match="cannot train"):
        check_model_supports("ppca", (0,), None)
