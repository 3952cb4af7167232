"""``vaelab-image``'s ``texture_draw = "neighbour_share"``: a sample's whitened residual is
``sqrt(1 - a_k) r_neighbour + sqrt(a_k) r_gaussian`` — the nearest training code's residual (``"neighbour"``) mixed
with the class-Gaussian draw (``"gaussian"``, the default) — with the share ``a_k`` per class calibrated after the
kernel width by the same novelty rule (the smallest share on ``SHARES`` at which samples are as new as real images).

Known cases: a class of share 1 gives exactly the Gaussian texture's samples, a class of share 0 exactly the
neighbour's (same kernel width, same seed); the calibrated share is the smallest at which the calibration's novelty
reaches its target, recomputed here from ``novelty_targets`` / ``sample_novelty``. Reproducible from the seed, save /
load identical, refusals (a missing or out-of-range ``tex_share``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from image_data import stripes
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.models.image.vaelab_image import SHARES
from vaelab.samplers.kde import novelty_targets, sample_novelty

FAST = {"epochs": 4, "batch_size": 32, "latent_dim": 4}


@pytest.fixture(scope="module")
def data():
    return stripes(160, 12, seed=3)


@pytest.fixture(scope="module")
def fitted(data):
    g = get_model("vaelab-image", **FAST, texture_draw="neighbour_share")
    g.progress = False
    return g.fit(*data, seed=1)


def _samples(g, draw: str, c: torch.Tensor) -> np.ndarray:
    saved = g.config.texture_draw
    try:
        g.config.texture_draw = draw
        with torch.no_grad():
            return g._draw_unit(c, torch.Generator().manual_seed(4)).numpy()
    finally:
        g.config.texture_draw = saved


def test_share_one_is_the_gaussian_texture_and_share_zero_the_neighbours(fitted):
    g = fitted
    c = torch.tensor([0] * 6 + [1] * 6)
    share = g.extra_["tex_share"].clone()
    try:
        g.extra_["tex_share"].copy_(torch.tensor([1.0, 0.0]))
        mixed = _samples(g, "neighbour_share", c)
        gaussian, neighbour = _samples(g, "gaussian", c), _samples(g, "neighbour", c)
        np.testing.assert_array_equal(mixed[:6], gaussian[:6])
        np.testing.assert_array_equal(mixed[6:], neighbour[6:])
        assert not np.array_equal(gaussian[6:], neighbour[6:])
        g.extra_["tex_share"].copy_(torch.tensor([0.25, 0.25]))
        half = _samples(g, "neighbour_share", c)
        assert not np.array_equal(half, gaussian) and not np.array_equal(half, neighbour)
    finally:
        g.extra_["tex_share"].copy_(share)


def test_the_share_is_the_smallest_that_reaches_the_novelty_target(fitted, data):
    g = fitted
    X, y = data
    x = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    c = torch.as_tensor(np.searchsorted(g.classes_, y), dtype=torch.long)
    share = g.extra_["tex_share"].clone()
    assert set(share.tolist()) <= set(SHARES)
    try:
        with torch.no_grad():
            for k, ck, target, ref in novelty_targets(x, c, seed=1):
                a = float(share[k])
                if a < 1:  # 1: the last value when none reaches the target
                    assert sample_novelty(g.generate, ck, ref, seed=1) >= target
                if a > 0:
                    g.extra_["tex_share"][k] = 0.0
                    assert sample_novelty(g.generate, ck, ref, seed=1) < target
                    g.extra_["tex_share"][k] = a
    finally:
        g.extra_["tex_share"].copy_(share)


def test_reproducible_save_load_and_refusals(fitted, data, tmp_path):
    g = fitted
    counts = {0: 5, 1: 5}
    again = get_model("vaelab-image", **FAST, texture_draw="neighbour_share")
    again.progress = False
    again.fit(*data, seed=1)
    np.testing.assert_array_equal(again.extra_["tex_share"].numpy(), g.extra_["tex_share"].numpy())
    np.testing.assert_array_equal(again.sample(counts, seed=2)[0], g.sample(counts, seed=2)[0])
    g.save(tmp_path / "ns")
    back = load_model(tmp_path / "ns")
    assert back.config.texture_draw == "neighbour_share"
    np.testing.assert_array_equal(back.sample(counts, seed=2)[0], g.sample(counts, seed=2)[0])
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "ns" / "weights.safetensors"
    meta = {"format": "vaelab", "model": "vaelab-image"}
    t = load_file(str(weights))
    save_file({**t, "extra.tex_share": torch.tensor([0.5, 1.5])}, str(weights), metadata=meta)
    with pytest.raises(InputError, match="tex_share"):
        load_model(tmp_path / "ns")
    del t["extra.tex_share"]
    save_file(t, str(weights), metadata=meta)
    with pytest.raises(InputError, match="tex_share"):
        load_model(tmp_path / "ns")
