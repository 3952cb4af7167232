"""vaelab-audio: the decode's output offsets fitted on the training clips (energy, mean), the Jensen term of a
Gaussian log-mel, runs saved before the offsets, and texture samples."""

import numpy as np
import pytest
import torch

from vaelab.modalities.audio.mel import MelParams
from vaelab.modalities.audio.synth import CLASSES
from vaelab.models import get_model
from vaelab.models.audio_vae import energy_shift
from vaelab.models.texture import draw_residuals, residual_rows

P = MelParams(duration=0.5)
TINY = dict(width=32, latent_channels=16, n_res=1, batch_size=8, epochs=20, mel=P.to_dict())


@pytest.fixture(scope="module")
def fitted():
    """Log-mels = a smooth class pattern + white Gaussian noise of sd 0.4 (what no decoder can predict): the
    Gaussian residual of the energy correction, with a known size (variance 0.16: the mean alone is 1.4 dB low)."""
    rng = np.random.default_rng(0)
    f, t = np.arange(P.n_mels)[:, None], np.arange(P.n_frames)[None]
    pattern = {k: -4 - 0.05 * f + 1.5 * np.sin(2 * np.pi * t / P.n_frames * (i + 1) + f / 10)
               for i, k in enumerate(CLASSES)}
    y = np.array(list(CLASSES) * 8, dtype=object)
    L = np.stack([pattern[k] + 0.4 * rng.standard_normal(P.shape) for k in y])
    g = get_model("vaelab-audio", **TINY)
    g.progress = False
    g.fit(L, y, seed=0)
    return g, L, y


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_energy_shift_gives_the_lognormal_mean_energy(power):
    """x ~ N(m, s^2): E exp(2x/p) = exp(2 (m + s^2/p) / p) (log-normal mean); exp(m) alone is 8.69 s^2/p^2 dB low."""
    rng = np.random.default_rng(0)
    m, s2 = -1.0, 0.09
    x = m + np.sqrt(s2) * rng.standard_normal(400_000)
    mc = np.log(np.exp(2 * x / power).mean())
    assert mc == pytest.approx(2 * (m + energy_shift(s2, power)) / power, abs=2e-3)
    assert 10 / np.log(10) * (mc - 2 * m / power) == pytest.approx(8.686 * s2 / power ** 2, rel=0.02)


def _mean_decode(g, L, y):
    z = g.encode(L, y)
    c = torch.as_tensor(np.searchsorted(g.classes_.astype(str), y.astype(str)))
    return z, g._decode_norm(torch.as_tensor(z), c)


def _energy_db(A):  # per mel bin, over clips and frames (magnitude mel: energy = exp(2 x))
    return 10 * np.log10(np.exp(2 * A).sum(axis=(0, 2)))


def test_decode_adds_the_offset_fitted_on_the_training_clips(fitted):
    g, L, y = fitted
    z, mean = _mean_decode(g, L, y)
    for output in ("energy", "mean"):
        off = g.extra_[f"offset_{output}"].numpy().astype(np.float64)
        assert off.shape == (P.n_mels,)
        g.config.output = output
        try:
            np.testing.assert_allclose(g.decode(z, y) - mean, np.broadcast_to(off[None, :, None], mean.shape), atol=1e-6)
        finally:
            g.config.output = "energy"
    # "mean": unbiased on the training clips in every bin (the output bias at its least-squares optimum)
    np.testing.assert_allclose((L - mean).mean(axis=(0, 2)), g.extra_["offset_mean"].numpy(), atol=1e-5)


def test_energy_offset_is_the_jensen_term_of_a_gaussian_residual(fitted):
    """White Gaussian residual of variance v, independent of the level: the energy offset exceeds the mean offset
    by the log-normal term v (power 1), ~0.16 here: the fitted decode reduces to ``m + bias + s^2`` when the
    Gaussian model holds."""
    g, L, y = fitted
    _, mean = _mean_decode(g, L, y)
    b = g.extra_["offset_mean"].numpy().astype(np.float64)
    v = ((L - mean - b[None, :, None]) ** 2).mean(axis=(0, 2))
    gap = g.extra_["offset_energy"].numpy().astype(np.float64) - b
    assert np.median(np.abs(gap - v)) < 0.02
    assert 0.14 < np.median(gap) < 0.25  # the noise's 0.16 plus what the tiny decoder does not fit


def test_energy_decode_keeps_the_energy_of_training_and_new_clips(fitted):
    g, L, y = fitted
    z, mean = _mean_decode(g, L, y)
    assert np.median(_energy_db(mean) - _energy_db(L)) < -0.8  # the smooth mean under-states energy (1.4 dB for 0.16)
    np.testing.assert_allclose(_energy_db(g.decode(z, y)), _energy_db(L), atol=1e-3)  # fitted: exact on training clips
    # new clips of the same classes (fresh noise): kept within 0.3 dB in the median bin
    rng = np.random.default_rng(1)
    f, t = np.arange(P.n_mels)[:, None], np.arange(P.n_frames)[None]
    pattern = {k: -4 - 0.05 * f + 1.5 * np.sin(2 * np.pi * t / P.n_frames * (i + 1) + f / 10)
               for i, k in enumerate(CLASSES)}
    L2 = np.stack([pattern[k] + 0.4 * rng.standard_normal(P.shape) for k in y])
    lost = _energy_db(g.decode(g.encode(L2, y), y)) - _energy_db(L2)
    assert np.median(np.abs(lost)) < 0.3


def test_eq_on_top_of_the_energy_decode_is_no_change(fitted):
    g, L, y = fitted
    assert np.abs(g.extra_["eq_gain"].numpy()).max() < 1e-5


def test_texture_samples_are_rougher_and_deterministic(fitted):
    g, L, y = fitted
    counts = {k: 4 for k in CLASSES}
    X1, y1 = g.sample(counts, seed=3)
    X2, _ = g.sample(counts, seed=3)
    np.testing.assert_array_equal(X1, X2)
    g.config.noise = "none"
    try:
        X0, y0 = g.sample(counts, seed=3)
    finally:
        g.config.noise = "texture"
    assert list(y0) == list(y1)

    def roughness(A):  # mean |frame-to-frame difference| per clip
        return np.abs(np.diff(A, axis=-1)).mean()

    # the decoded mean is smoother than real clips; the texture brings the roughness back towards theirs
    assert roughness(X0) < roughness(L)
    assert abs(roughness(X1) - roughness(L)) < abs(roughness(X0) - roughness(L))


def test_runs_without_the_new_state_still_decode_and_sample(fitted):
    g, L, y = fitted
    saved = {k: g.extra_.pop(k) for k in ("offset_energy", "offset_mean")}
    try:  # saved before the fitted offsets: "energy" adds the re-estimated variance, "mean" nothing
        np.testing.assert_allclose(g._output_offset(), g.extra_["dec_var"].numpy().astype(np.float64))
        g.config.output = "mean"
        np.testing.assert_array_equal(g._output_offset(), 0.0)
        g.config.output = "energy"
        saved.update({k: g.extra_.pop(k) for k in ("dec_var", "tex_rows", "tex_mean")})
        std = g.extra_["mel_std"].numpy().astype(np.float64)
        shift = np.exp(g.module.logvar.numpy().astype(np.float64)) * std ** 2
        np.testing.assert_allclose(g._output_offset(), shift)
        X, _ = g.sample({CLASSES[0]: 2}, seed=0)
        assert X.shape == (2, *L.shape[1:]) and np.all(np.isfinite(X))
    finally:
        g.config.output = "energy"
        g.extra_.update(saved)


def test_a_saved_run_without_offsets_loads_and_decodes_as_saved(fitted, tmp_path):
    from safetensors.torch import save_file

    from vaelab.core.safetensors_io import load_safetensors
    from vaelab.models.audio_vae import VaelabAudio

    g, L, y = fitted
    g.save(tmp_path / "run")
    w = tmp_path / "run" / "weights.safetensors"
    tensors = {k: v for k, v in load_safetensors(w).items() if not k.startswith("extra.offset_")}
    save_file(tensors, str(w), metadata={"format": "vaelab", "model": g.name})
    old = VaelabAudio.load(tmp_path / "run")
    z, mean = _mean_decode(g, L[:4], y[:4])
    np.testing.assert_allclose(old.decode(z, y[:4]), mean + g.extra_["dec_var"].numpy()[None, :, None], atol=1e-5)
    assert not np.allclose(g.decode(z, y[:4]), old.decode(z, y[:4]), atol=1e-3)


def test_draw_residuals_has_the_empirical_class_covariance():
    rng = np.random.default_rng(0)
    w = torch.as_tensor(rng.standard_normal((40, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.2]]),
                        dtype=torch.float32)
    c = torch.as_tensor([0] * 25 + [1] * 15)
    g = residual_rows(w, c, 2, 1 << 20, seed=0)
    assert g["tex_rows"].shape == (2, 25, 3)
    draws = draw_residuals(g["tex_rows"], g["tex_mean"], torch.zeros(50_000, dtype=torch.long),
                           torch.Generator().manual_seed(0)).double().numpy()
    w0 = w[:25].double().numpy()
    np.testing.assert_allclose(draws.mean(0), w0.mean(0), atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), np.cov(w0.T), atol=0.03)
