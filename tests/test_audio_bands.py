"""Audio reconstruction metrics against analytic values (sines, chirps, white noise, scaled copies)."""

import librosa
import numpy as np
import pytest

from vaelab.modalities.audio import bands

SR = 16000
T = np.arange(SR) / SR


def _fractions(x):
    e = bands.band_energy(x, SR)
    tot = sum(e.values())
    return {k: v / tot for k, v in e.items()}


@pytest.mark.parametrize("f0,band", [(200, "low"), (1000, "mid"), (6000, "high")])
def test_sine_puts_all_energy_in_its_band(f0, band):
    assert _fractions(np.sin(2 * np.pi * f0 * T))[band] > 0.9999


def test_linear_chirp_energy_proportional_to_bandwidth():
    # a linear sweep spends equal time per Hz: band share = band width / sweep width
    x = librosa.chirp(fmin=100, fmax=7900, sr=SR, duration=1.0, linear=True)
    f = _fractions(x)
    assert f["low"] == pytest.approx(400 / 7800, abs=0.01)
    assert f["mid"] == pytest.approx(3500 / 7800, abs=0.01)
    assert f["high"] == pytest.approx(3900 / 7800, abs=0.01)


def test_white_noise_energy_follows_bandwidth():
    x = np.random.default_rng(0).standard_normal(4 * SR)
    f = _fractions(x)
    assert f["low"] == pytest.approx(0.0625, abs=0.01)
    assert f["mid"] == pytest.approx(0.4375, abs=0.02)
    assert f["high"] == pytest.approx(0.5, abs=0.02)


def test_scaled_copy_known_values():
    x = np.random.default_rng(1).standard_normal(SR)
    six = 20 * np.log10(2)
    lsd = bands.log_spectral_distance(x, 2 * x, SR)
    assert all(v == pytest.approx(six, abs=1e-9) for v in lsd.values())
    ret = bands.band_retention_db(x, 0.5 * x, SR)
    assert all(v == pytest.approx(-six, abs=1e-9) for v in ret.values())
    assert bands.multi_resolution_stft(x, 2 * x, SR) == pytest.approx(1 + np.log(2), abs=1e-9)
    assert bands.waveform_snr(x, -x) == pytest.approx(-six, abs=1e-9)
    assert bands.waveform_correlation(x, -x) == pytest.approx(-1.0)
    assert bands.log_spectral_distance(x, x, SR)["full"] == 0.0
    assert bands.waveform_snr(x, np.zeros_like(x)) == pytest.approx(0.0)


def test_lsd_band_is_local():
    # adding a 6 kHz tone changes the high band only
    x = np.sin(2 * np.pi * 1000 * T)
    y = x + 0.5 * np.sin(2 * np.pi * 6000 * T)
    lsd = bands.log_spectral_distance(x, y, SR)
    assert lsd["mid"] < 0.5 and lsd["low"] < 0.5 and lsd["high"] > 5
    assert bands.band_retention_db(x, y, SR)["mid"] == pytest.approx(0.0, abs=0.05)


def test_mel_distance_and_bootstrap():
    L = np.random.default_rng(0).normal(size=(8, 20))
    assert bands.mel_distance(L, L + np.log(2)) == pytest.approx(np.log(2))
    d = bands.paired_bootstrap(np.full(10, 3.0), np.full(10, 1.0), n_boot=100)
    assert d["mean_diff"] == d["ci_low"] == d["ci_high"] == 2.0 and d["excludes_zero"]
    r = np.random.default_rng(0).normal(size=200)
    b = bands.paired_bootstrap(r, r, n_boot=100)
    assert b["mean_diff"] == 0.0 and not b["excludes_zero"]


def test_enhancement_counts_only_when_it_beats_eq_and_none():
    from vaelab.modalities.audio.reconstruct import _targets

    def comp(high, other=0.0):
        ci = lambda m: {"mean_diff": m, "ci_low": m - 0.01 if m else 0.0, "ci_high": m + 0.01 if m else 0.0}  # noqa: E731
        return {"lsd_high": ci(high), "mel_distance": ci(other), "lsd_low": ci(other), "lsd_mid": ci(other)}

    comps = {"same_vs_eq": comp(-0.1), "same_vs_none": comp(0.0),  # identical to none: beats eq only
             "good_vs_eq": comp(-0.3), "good_vs_none": comp(-0.2),
             "noisy_vs_eq": comp(-0.3, other=0.5), "noisy_vs_none": comp(-0.2, other=0.5)}
    helps = _targets({}, comps)["enhancement_helps_vs_eq"]
    assert helps == {"same": False, "good": True, "noisy": False}
