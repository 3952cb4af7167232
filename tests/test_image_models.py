"""vaelab-image and seed-image-vae on small synthetic images: fit, sample, save/load, posterior API."""

import numpy as np
import pytest

from image_data import stripes
from saved_runs import reloaded_as_saved_before, saved_before
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model

FAST = {"vaelab-image": {"epochs": 4, "batch_size": 32}, "seed-image-vae": {"epochs": 4, "hidden": 64}}


@pytest.fixture(scope="module")
def data():
    return stripes(64, 12)


@pytest.fixture(scope="module", params=sorted(FAST))
def fitted(request, data):
    X, y = data
    g = get_model(request.param, **FAST[request.param])
    g.progress = False
    return g.fit(X, y, seed=0)


def test_sample_range_levels_and_determinism(fitted, tmp_path):
    S, ys = fitted.sample({0: 5, 1: 7}, seed=3)
    assert S.shape == (12, 12, 12) and list(ys) == [0] * 5 + [1] * 7
    assert S.min() >= 0 and S.max() <= 255 and np.all(S == np.round(S))  # integer levels kept
    np.testing.assert_array_equal(S, fitted.sample({0: 5, 1: 7}, seed=3)[0])
    fitted.save(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").sample({0: 5, 1: 7}, seed=3)[0], S)
    assert not np.array_equal(S, fitted.sample({0: 5, 1: 7}, seed=4)[0])


def test_same_seed_same_fit(data):
    X, y = data
    a = get_model("vaelab-image", epochs=2, batch_size=32)
    b = get_model("vaelab-image", epochs=2, batch_size=32)
    a.progress = b.progress = False
    np.testing.assert_array_equal(a.fit(X, y, seed=1).sample({0: 3, 1: 3}, seed=0)[0],
                                  b.fit(X, y, seed=1).sample({0: 3, 1: 3}, seed=0)[0])


def test_vaelab_image_is_class_conditional_and_textured(data):
    X, y = data
    g = get_model("vaelab-image", epochs=15, batch_size=16)
    g.progress = False
    g.fit(X, y, seed=0)
    S, ys = g.sample({0: 40, 1: 40}, seed=1)
    # class 0: horizontal stripes vary along rows (axis 1), class 1 along columns (axis 2)
    def row_var(A):
        return A.astype(float).mean(axis=2).var(axis=1).mean()

    def col_var(A):
        return A.astype(float).mean(axis=1).var(axis=1).mean()
    assert row_var(S[ys == 0]) > 2 * col_var(S[ys == 0])
    assert col_var(S[ys == 1]) > 2 * row_var(S[ys == 1])
    # texture: pixel-to-pixel roughness of samples is of the order of the real images' (not a smooth mean)
    def rough(A):
        return np.abs(np.diff(A.astype(float), axis=2)).mean()
    assert rough(S[ys == 0]) > 0.5 * rough(X[y == 0])


def test_kde_kernel_is_shrunk_by_default_and_older_models_load_unshrunk(data, tmp_path):
    """The latent kernel keeps the aggregate posterior's variance (``kde_shrink``, default true); a model
    saved before the option existed had its kernel width calibrated unshrunk and loads that way."""

    X, y = data
    g = get_model("vaelab-image", epochs=2, batch_size=32)
    g.progress = False
    g.fit(X, y, seed=0)
    assert g.config.kde_shrink is True and g.sampler().shrink is True
    g.save(tmp_path / "m")
    saved_before(tmp_path / "m", "kde_shrink")
    old = load_model(tmp_path / "m")
    assert old.config.kde_shrink is False and old.sampler().shrink is False
    g.extra_["kde_h"][:] = old.extra_["kde_h"][:] = 1.0  # same width: only the kernel differs
    # the codes the two kernels draw (same random numbers) differ; a 2-epoch fit spreads its codes so little (sd ~ 0.02)
    # that the difference can vanish in the decoded images' rounding, so the kernels' own draws are compared
    import torch

    c = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    z_old = old._latent_sampler().sample(c, torch.Generator().manual_seed(0))[0]
    z_new = g._latent_sampler().sample(c, torch.Generator().manual_seed(0))[0]
    assert not torch.equal(z_old, z_new)
    with pytest.raises(InputError, match="kde_shrink must be true or false"):
        get_model("vaelab-image", kde_shrink="yes")


def test_posterior_api_shapes(data):
    X, y = data
    g = get_model("vaelab-image", epochs=2, batch_size=32, latent_dim=8)
    g.progress = False
    g.fit(X, y, seed=0)
    mu, logvar = g.encode(X[:5], y[:5])
    assert mu.shape == logvar.shape == (5, 8)
    mean, lv = g.decode(mu, y[:5])
    assert mean.shape == lv.shape == (5, 12, 12) and mean.min() >= 0 and mean.max() <= 255
    assert np.all(lv <= 0) and np.all(lv >= g.config.min_logvar)


def test_odd_sizes_and_colour():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(20, 10, 7, 3)).astype(np.uint8)
    y = np.arange(20) % 2
    for name in FAST:
        g = get_model(name, **FAST[name])
        g.progress = False
        assert g.fit(X, y).sample({0: 2, 1: 2}, seed=0)[0].shape == (4, 10, 7, 3)


def test_refusals():
    with pytest.raises(InputError, match="noise must be one of"):
        get_model("vaelab-image", noise="blur")
    with pytest.raises(InputError, match="channels must be 3 positive integers"):
        get_model("vaelab-image", channels=[8, 8])
    g = get_model("vaelab-image", epochs=1)
    with pytest.raises(InputError, match=r"shape \(H, W\) or \(H, W, C\)"):
        g.fit(np.zeros((10, 30)), np.arange(10) % 2)


def test_learning_rate_schedule_and_weight_average_reach_the_trainer(data, tmp_path):
    """``lr_schedule`` / ``lr_final`` go to the trainer (cosine: the last epoch at ``lr_final * lr``),
    ``ema_decay`` adds the EMA callback (the final weights are the average, not the last step's); a model
    saved before the options existed loads and samples as before, recorded as trained at a constant rate."""

    from vaelab.training.callbacks import EMA
    from vaelab.training.trainer import learning_rate

    X, y = data
    g = get_model("vaelab-image", epochs=3, batch_size=32, lr_schedule="cosine", lr_final=0.25, ema_decay=0.9)
    g.progress = False
    tc = g.train_config(len(X))
    assert tc.lr_schedule == "cosine" and tc.lr_final == 0.25
    assert learning_rate(tc, 2) == pytest.approx(0.25 * g.config.lr)
    assert [type(c) for c in g.callbacks()] == [EMA] and g.callbacks()[0].decay == 0.9
    plain = get_model("vaelab-image", epochs=3, batch_size=32, lr_schedule="cosine", lr_final=0.25)
    plain.progress = False
    assert plain.callbacks() == []
    g.fit(X, y, seed=0)
    plain.fit(X, y, seed=0)
    pa, pb = (next(m.module.parameters()).detach() for m in (g, plain))
    assert not np.array_equal(pa.numpy(), pb.numpy())  # the average replaced the last weights
    old = reloaded_as_saved_before(g, tmp_path / "m", ("lr_schedule", "lr_final", "ema_decay"), {0: 3, 1: 3}, seed=0)
    assert old.config.lr_schedule == "constant"  # saved before the option: it was trained at a constant rate
    assert get_model("vaelab-image").config.lr_schedule == "cosine"  # the default since issue 11, fifth session
    for bad, msg in (({"lr_schedule": "step"}, "lr_schedule must be one of"), ({"lr_final": 2}, "lr_final must be in"),
                     ({"ema_decay": 1.0}, "ema_decay must be in")):
        with pytest.raises(InputError, match=msg):
            get_model("vaelab-image", **bad)


def test_latent_kernel_keeps_the_class_covariance_by_default_and_older_models_load_per_dimension(data, tmp_path):
    """The default latent kernel is shaped like the class's codes (``kde_kernel = "auto"``: the covariance kernel,
    shrunk, for a class with more codes than latent dimensions, as here), so the
    sampled codes keep the covariance C + D / (1 + h^2) of the class's posterior means (C) and draws (D, here
    ~0), the correlations between latent dimensions included; the per-dimension kernel (the old default) shrinks
    every off-diagonal term by 1 / (1 + h^2 sd^2 / v) (here ~1 / 5 with h = 2 and v ~ sd^2). A model saved before
    the option existed loads with the per-dimension kernel and samples byte for byte as it did."""

    import torch

    X, y = data
    g = get_model("vaelab-image", epochs=3, batch_size=32, latent_dim=4)
    g.progress = False
    g.fit(X, y, seed=0)
    assert g.config.kde_kernel == "auto" and g.sampler().kernel == "auto" and "kde_root" in g.extra_
    per_dim = get_model("vaelab-image", epochs=3, batch_size=32, latent_dim=4, kde_kernel="gaussian")
    per_dim.progress = False
    per_dim.fit(X, y, seed=0)
    # codes of a class with strongly correlated dimensions (a 3-epoch network's codes barely spread)
    rng = np.random.default_rng(0)
    A = torch.as_tensor(rng.normal(size=(4, 4)))
    mu = (torch.as_tensor(rng.normal(size=(400, 4))) @ A).float()
    lv, tc = torch.full((400, 4), -6.0), torch.as_tensor(np.arange(400) % 2)
    C = torch.cov(mu[tc == 0].double().T)
    off = ~torch.eye(4, dtype=torch.bool)
    c0 = torch.zeros(20000, dtype=torch.long)
    for model, keeps in ((g, True), (per_dim, False)):
        model.extra_.update(model.sampler().fit(mu, lv, tc, 2).state_dict())
        model.extra_["kde_h"][:] = 2.0
        z, _ = model._latent_sampler().sample(c0, torch.Generator().manual_seed(1))
        err = float((torch.cov(z.double().T) - C)[off].abs().max() / C[off].abs().max())
        assert (err < 0.1) if keeps else (err > 0.3), (model.config.kde_kernel, err)
    old = reloaded_as_saved_before(per_dim, tmp_path / "m", ("kde_kernel", "kde_centre"), {0: 3, 1: 3}, seed=0)
    assert old.config.kde_kernel == "gaussian"
    with pytest.raises(InputError, match="kde_kernel must be one of"):
        get_model("vaelab-image", kde_kernel="box")


def test_small_images_get_more_optimiser_steps_at_the_same_cost():
    """Automatic epochs: ``min_steps`` (750) optimiser steps for 28x28 images; an 8x8 image costs ~12x less per step,
    so it gets 784 / 64 = 12.25x the steps, capped at ``small_image_steps`` (4): 3000 steps = 137 epochs of 22
    batches for scikit-learn's 1347 training digits (35 with the 28x28 budget); larger images are not cut."""
    g = get_model("vaelab-image")
    for shape, n, epochs in (((8, 8), 1347, 137), ((28, 28), 1347, 35), ((28, 28), 2428, 20), ((64, 64), 300, 150),
                             ((16, 16, 3), 640, 230)):  # 16x16: 750 x 784 / 256 = 2297 steps, 10 per epoch
        g.feature_shape_ = shape
        assert g.train_config(n).epochs == epochs, shape
    g = get_model("vaelab-image", small_image_steps=1.0)
    g.feature_shape_ = (8, 8)
    assert g.train_config(1347).epochs == 35  # the budget before issue 11, sixth session
    with pytest.raises(InputError, match="small_image_steps must be"):
        get_model("vaelab-image", small_image_steps=0.5)


def test_variance_weighted_likelihood_gives_the_mean_the_squared_error_gradient():
    """``nll_power`` = p weights each pixel's Gaussian NLL by its (detached) variance^p, normalised to mean 1 per
    image (beta-NLL, Seitzer et al. 2022, eq. 4 with beta = p). With p = 1 the gradient with respect to the decoder
    mean is the squared error's, ``(mean - u) / mean_i(var)`` (one constant per image), whatever a pixel's variance;
    with p = 0 (the plain ELBO) it is ``(mean - u) / var``, so a pixel of 100x the variance learns 100x slower.
    Equal variances: weights 1, the plain NLL; evaluation mode (held-out ELBO): always the plain NLL."""
    import math

    import torch

    from vaelab.models.image.pixels import fit_scale

    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 0.9, size=(2, 4, 4))  # continuous values in [0, 1]: no dequantisation noise
    X[0, 0, 0], X[0, 0, 1] = 0.0, 1.0  # the training range is exactly [0, 1]
    u = torch.as_tensor(X, dtype=torch.float32).reshape(2, 1, 4, 4)
    var = torch.full((2, 1, 4, 4), 1e-3)
    var[0, 0, :2] = 0.1  # half of image 0 has 100x the variance

    class Stub(torch.nn.Module):
        def __init__(self, lv):
            super().__init__()
            self.mean = torch.nn.Parameter(torch.full((2, 1, 4, 4), 0.5))
            self.lv = lv

        def encode(self, x, c):
            return torch.zeros(len(x), 2), torch.zeros(len(x), 2)  # N(0, I): KL 0

        def decode(self, z, c):
            return self.mean, self.lv

    x, c = torch.as_tensor(X.reshape(2, -1), dtype=torch.float32), torch.zeros(2, dtype=torch.long)

    def grad_and_loss(p, lv, training=True):
        g = get_model("vaelab-image", nll_power=p, latent_dim=2)
        g._scale, g.feature_shape_ = fit_scale(X), (4, 4)
        m = Stub(lv).train(training)
        out = g.loss(m, x, c, epoch=10)
        out["loss"].backward()
        return m.mean.grad, float(out["loss"].detach())

    plain = float((0.5 * (var.log() + (u - 0.5) ** 2 / var + math.log(2 * math.pi))).sum())
    g0, l0 = grad_and_loss(0.0, var.log())
    torch.testing.assert_close(g0, (0.5 - u) / var)
    assert l0 == pytest.approx(plain, rel=1e-5)
    g1, l1 = grad_and_loss(1.0, var.log())
    torch.testing.assert_close(g1, (0.5 - u) / var.mean(dim=(1, 2, 3), keepdim=True))
    assert grad_and_loss(1.0, var.log(), training=False)[1] == pytest.approx(plain, rel=1e-5)
    flat = torch.full_like(var, 1e-3).log()
    assert grad_and_loss(1.0, flat)[1] == pytest.approx(grad_and_loss(0.0, flat)[1], rel=1e-6)
    with pytest.raises(InputError, match="nll_power must be"):
        get_model("vaelab-image", nll_power=-1)
    assert get_model("vaelab-image").config.nll_power == 0.0  # the plain ELBO stays the default
