"""Image completion, denoising, latent maps and compression (issue 12) on small synthetic images.

Known answers: a hand-wired decoder whose mean is the constant image ``sigmoid(silu(z_0))`` (so a constant
image is completed exactly), hand-computed PSNR/SSIM values, Immerkaer's estimator on pure noise, masks.
CLI paths use a tiny vaelab-image run (2 epochs) on 8x8 stripes.
"""

import math

import numpy as np
import pytest
import torch

from image_data import stripes, tiny_image_run
from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.modalities.image.compress import dequantise, pack, pca_roundtrip, quantise, unpack
from vaelab.modalities.image.masks import center_box, make_mask
from vaelab.modalities.image.quality import completion_diversity, psnr, ssim
from vaelab.modalities.image.restoration import ImagePosterior, estimate_sigma
from vaelab.models.image.nets import ConvCVAENet
from vaelab.models.image.vaelab_image import VaelabImage


def constant_model(size: int = 8) -> VaelabImage:
    """A fitted-looking vaelab-image whose decoder mean is the constant image sigmoid(silu(z_0)) (x 255) and
    whose log-variance is min_logvar everywhere; the encoder keeps its random initialisation."""
    g = VaelabImage(latent_dim=2, channels=(2, 2, 2), res_blocks=(False, False, False))
    torch.manual_seed(0)
    net = ConvCVAENet((1, size, size), 1, 2, (2, 2, 2), (False, False, False), -9.0)
    with torch.no_grad():
        for m in (net.dec_in, net.dec[2], net.dec[5], net.dec_out):
            m.weight.zero_()
            m.bias.zero_()
        net.dec_in.weight[: (size // 4) ** 2, 0] = 1.0  # channel 0 of the 1/4 map = z_0
        net.dec[2].weight[0, 0, 1, 1] = 1.0  # pass channel 0 through both up-convs
        net.dec[5].weight[0, 0, 1, 1] = 1.0
        net.dec_out.weight[0, 0, 1, 1] = 1.0  # mean logit = silu(z_0)
        net.dec_out.bias[1] = -20.0  # log-variance = min_logvar * (1 - sigmoid(-20))
    g.module, g.classes_, g.feature_shape_ = net.eval(), np.array([0]), (size, size)
    g.extra_ = {"scale": torch.tensor([0.0, 255.0, 1.0], dtype=torch.float64)}
    return g


def test_constant_image_is_completed_exactly():
    g = constant_model()
    X = np.full((3, 8, 8), 255 * 0.7)
    X[1] = 255 * 0.6
    X[2] = 255 * 0.8
    for spec in ("center:0.25", "half", "random:0.5"):
        mask = make_mask(spec, 3, (8, 8), seed=1)
        done, _ = ImagePosterior(g, steps=300).inpaint(X, np.zeros(3, int), mask)
        np.testing.assert_allclose(done, X, atol=0.3)  # < 1/3 grey level
        np.testing.assert_array_equal(done[~mask], X[~mask])  # observed pixels untouched


def test_samples_keep_observed_pixels_and_vary_only_where_missing():
    g = constant_model()
    X = np.full((2, 8, 8), 255 * 0.7)
    mask = make_mask("center:0.25", 2, (8, 8))
    done, s = ImagePosterior(g, steps=100).inpaint(X, np.zeros(2, int), mask, samples=3, seed=0)
    assert s.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(s[:, :, ~mask[0]], np.repeat(X[:, None], 3, 1)[:, :, ~mask[0]])
    # posterior sd of the level is ~ the pixel sd / sqrt(#observed): draws all lie within a few levels
    assert np.abs(s - X[:, None]).max() < 3.0
    d = completion_diversity(s, mask)
    assert d.shape == (2,) and np.all(d > 0)
    _, s2 = ImagePosterior(g, steps=100).inpaint(X, np.zeros(2, int), mask, samples=3, seed=0)
    np.testing.assert_array_equal(s, s2)


def test_denoising_a_constant_image():
    g = constant_model()
    rng = np.random.default_rng(0)
    clean = np.full((2, 8, 8), 0.7)
    noisy = clean + 0.2 * rng.standard_normal(clean.shape)
    out = ImagePosterior(g, steps=300).restore(noisy, None, 0.2, unit=True)  # no labels: every class tried
    assert psnr(clean, out, 1.0).min() > psnr(clean, noisy, 1.0).max() + 15
    out255 = ImagePosterior(g, steps=300).restore(noisy * 255, np.zeros(2, int), 0.2 * 255)
    np.testing.assert_allclose(out255 / 255, out, atol=1e-3)


def test_masks():
    m = center_box(28, 28, 0.25)
    assert m.sum() == 14 * 14 and m[7:21, 7:21].all()
    assert make_mask("half", 2, (4, 6))[0].tolist() == [[False] * 6] * 2 + [[True] * 6] * 2
    r = make_mask("random:0.5", 200, (10, 10), seed=0)
    assert abs(r.mean() - 0.5) < 0.01 and not np.array_equal(r[0], r[1])
    np.testing.assert_array_equal(r, make_mask("random:0.5", 200, (10, 10), seed=0))
    for bad in ("center", "center:1.5", "box:0.2", "random:x", ""):
        with pytest.raises(InputError):
            make_mask(bad, 1, (8, 8))


def test_mask_file(tmp_path):
    np.savez(tmp_path / "m.npz", mask=np.eye(8, dtype=bool))
    assert make_mask(str(tmp_path / "m.npz"), 3, (8, 8)).shape == (3, 8, 8)
    np.savez(tmp_path / "bad.npz", mask=np.ones((7, 8), bool))
    with pytest.raises(InputError, match="does not fit"):
        make_mask(str(tmp_path / "bad.npz"), 3, (8, 8))


def test_psnr_ssim_known_values():
    t = np.zeros((1, 4, 4))
    e = t.copy()
    e[0, 0, 0] = 0.4  # MSE = 0.16 / 16 = 0.01 -> 20 dB; over the one masked pixel: MSE 0.16 -> 7.96 dB
    assert psnr(t, e, 1.0)[0] == pytest.approx(20.0)
    mask = np.zeros((1, 4, 4), bool)
    mask[0, 0, 0] = True
    assert psnr(t, e, 1.0, mask)[0] == pytest.approx(10 * math.log10(1 / 0.16))
    assert psnr(t, t, 1.0)[0] == np.inf
    # SSIM of an image with itself is 1; of x and a*x+b (constant shift b) the luminance term only
    rng = np.random.default_rng(0)
    x = rng.random((1, 16, 16))
    assert ssim(x, x, 1.0)[0] == pytest.approx(1.0)
    # constant images a, b: SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 R)^2 (Wang et al. 2004)
    a, b, c1 = 0.3, 0.5, 1e-4
    got = ssim(np.full((1, 16, 16), a), np.full((1, 16, 16), b), 1.0)[0]
    assert got == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)
    assert ssim(x, x + 0.1, 1.0, np.ones((1, 16, 16), bool))[0] < 1


def test_estimate_sigma_on_pure_noise():
    rng = np.random.default_rng(0)
    X = 0.5 + 0.1 * rng.standard_normal((4, 64, 64))
    np.testing.assert_allclose(estimate_sigma(X), 0.1, rtol=0.05)
    assert estimate_sigma(np.full((1, 8, 8), 3.0))[0] == 0.0


def test_quantise_pack_roundtrip():
    rng = np.random.default_rng(0)
    q = rng.integers(0, 32, 13)
    np.testing.assert_array_equal(unpack(pack(q, 5), 13, 5), q)
    assert len(pack(q, 5)) == math.ceil(13 * 5 / 8)
    scale = np.ones(3)
    v = np.array([[-3.0, 0.0, 3.0]])
    np.testing.assert_allclose(dequantise(quantise(v, scale, 8), scale, 8), v, atol=3 / 255 + 1e-12)
    train = rng.random((50, 6))
    assert np.abs(pca_roundtrip(train, train, 6) - train).max() < 0.02


# ---------------------------------------------------------------- CLI on a tiny trained run
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("img")
    tiny_image_run(d, 40)
    return d


def test_cli_inpaint(tiny, tmp_path):
    out = tmp_path / "o.npz"
    assert main(["inpaint", str(tiny / "run"), "--input", str(tiny / "x.npz"), "--mask", "center:0.25",
                 "--samples", "2", "--out", str(out)]) == 0
    z = np.load(out)
    X, _ = stripes(40, 8)
    assert z["X"].dtype == np.uint8 and z["X"].shape == X.shape and z["samples"].shape == (40, 2, 8, 8)
    assert z["mask"].shape == (40, 8, 8) and z["mask"].sum() == 40 * 16
    np.testing.assert_array_equal(z["X"][~z["mask"]], X[~z["mask"]])


def test_cli_restore_and_latent(tiny, tmp_path):
    X, y = stripes(40, 8)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "noisy.npz", X=X / 255 + 0.2 * rng.standard_normal(X.shape), y=y)
    assert main(["restore", str(tiny / "run"), "--input", str(tmp_path / "noisy.npz"), "--unit",
                 "--out", str(tmp_path / "r.npz")]) == 0
    r = np.load(tmp_path / "r.npz")
    assert r["X"].shape == X.shape and r["X"].dtype == np.float32 and 0.1 < r["sigma"].mean() < 0.3
    assert main(["latent", str(tiny / "run"), "--input", str(tiny / "x.npz"), "--out", str(tmp_path / "lat")]) == 0
    lat = np.load(tmp_path / "lat" / "latent.npz")
    assert lat["mu"].shape == (40, 4) and lat["map2d"].shape == (40, 2)
    for f in ("map.png", "interpolation.png", "traversals.png"):
        assert (tmp_path / "lat" / f).stat().st_size > 0


@pytest.mark.parametrize("args, msg", [
    (["--mask", "box:0.3"], "unknown mask"),
    (["--mask", "MASKFILE"], "does not fit"),
    (["--mask", "center:0.25", "--samples", "0"], "--samples"),
])
def test_cli_bad_input_exit_2_nothing_written(tiny, tmp_path, capsys, args, msg):
    np.savez(tmp_path / "m.npz", mask=np.ones((5, 5), bool))
    args = [str(tmp_path / "m.npz") if a == "MASKFILE" else a for a in args]
    out = tmp_path / "o.npz"
    assert main(["inpaint", str(tiny / "run"), "--input", str(tiny / "x.npz"), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and not out.exists()


def test_cli_refuses_a_run_that_is_not_an_image_model(tiny, tmp_path, capsys):
    from vaelab.data.dataset import Dataset, Layout
    from vaelab.runs import train_run

    X, y = stripes(40, 8)
    ds = Dataset(X=X.astype(np.float64), y=y, layout=Layout(kind="npz"))
    train_run(ds, tmp_path / "ppca", model="ppca", progress=False)
    for cmd in (["inpaint", "--mask", "half"], ["restore"], ["latent"]):
        out = tmp_path / ("o.npz" if cmd[0] != "latent" else "d")
        assert main([cmd[0], str(tmp_path / "ppca"), "--input", str(tiny / "x.npz"), *cmd[1:], "--out", str(out)]) == 2
        assert "vaelab-image" in capsys.readouterr().err and not out.exists()
