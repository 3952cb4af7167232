"""Reconstruction metrics for audio: band energies, log-spectral distance, mel / multi-resolution STFT
distances, waveform SNR and correlation. Pure functions on 1-D waveforms at one sample rate.

Conventions (stated once, used everywhere)
------------------------------------------
* Analysis STFT: ``n_fft`` 1024, hop 256, Hann window, centred; power ``P = |X|^2``.
* Bands by FFT-bin centre frequency ``f``: ``low`` f < 500 Hz, ``mid`` 500 <= f < 4000 Hz,
  ``high`` f >= 4000 Hz (to Nyquist). A 1 kHz sine puts > 99.99 % of its energy in ``mid``.
* Log-spectral distance (dB): for each frame, the root mean square over the band's bins of
  ``10 log10 P_ref - 10 log10 P_est``; then the mean over frames (the convention of e.g. Kuleshov
  et al. 2017 / Liu et al. 2022 "NVSR" in decibels). Both spectra are floored at
  ``max(P_ref) - 80 dB`` so silent frames neither explode nor vanish. LSD(x, 2x) = 20 log10 2 = 6.02 dB.
* Band energy retention: ``10 log10(sum_band P_est / sum_band P_ref)`` over the whole clip (dB;
  0 = all energy kept, -12.4 dB = 5.7 %, the seed report's figure above 4 kHz).
* Mel distance: mean absolute difference of natural-log mel spectrograms (the model's own space).
* Multi-resolution STFT distance (Yamamoto et al. 2020, Parallel WaveGAN): mean over
  (n_fft, hop) in (512, 128), (1024, 256), (2048, 512) of spectral convergence
  ``||S_r - S_e||_F / ||S_r||_F`` plus mean ``|ln S_r - ln S_e|`` (magnitudes floored at 1e-7).
* Waveform SNR ``10 log10(sum x^2 / sum (x - y)^2)`` and Pearson correlation: kept for comparison with
  the seed report, but they measure phase; any mel vocoder (Griffin-Lim included) chooses its own phase,
  so they are near -3 dB / 0 even for a perfect mel.
"""

from __future__ import annotations

import numpy as np

BANDS: dict[str, tuple[float, float]] = {"low": (0.0, 500.0), "mid": (500.0, 4000.0), "high": (4000.0, np.inf)}
N_FFT, HOP, TOP_DB = 1024, 256, 80.0
MRSTFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def power_spectrogram(x: np.ndarray, sample_rate: int, *, n_fft: int = N_FFT, hop: int = HOP
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(n_samples,) -> power (n_fft // 2 + 1, frames) and the bin frequencies (n_fft // 2 + 1,)."""
    import librosa

    S = librosa.stft(np.asarray(x, dtype=np.float64), n_fft=n_fft, hop_length=hop, window="hann", center=True)
    return np.abs(S) ** 2, librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)


def band_masks(freqs: np.ndarray) -> dict[str, np.ndarray]:
    return {b: (freqs >= lo) & (freqs < hi) for b, (lo, hi) in BANDS.items()}


def band_energy(x: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Energy of ``x`` per band (sum of STFT power over the band's bins and all frames)."""
    P, f = power_spectrogram(x, sample_rate)
    return {b: float(P[m].sum()) for b, m in band_masks(f).items()}


def band_retention_db(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Per band, ``10 log10(E_est / E_ref)`` in dB (0 = energy kept)."""
    er, ee = band_energy(ref, sample_rate), band_energy(est, sample_rate)
    return {b: float(10 * np.log10(max(ee[b], 1e-30) / max(er[b], 1e-30))) for b in er}


def log_spectral_distance(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> dict[str, float]:
    """LSD in dB, full band and per band (keys ``full``, ``low``, ``mid``, ``high``); see the module notes."""
    Pr, f = power_spectrogram(ref, sample_rate)
    Pe, _ = power_spectrogram(est, sample_rate)
    floor = Pr.max() * 10 ** (-TOP_DB / 10) + 1e-30
    d = 10 * np.log10(np.maximum(Pr, floor)) - 10 * np.log10(np.maximum(Pe, floor))
    out = {"full": float(np.sqrt((d ** 2).mean(axis=0)).mean())}
    for b, m in band_masks(f).items():
        out[b] = float(np.sqrt((d[m] ** 2).mean(axis=0)).mean())
    return out


def multi_resolution_stft(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float:
    """Spectral convergence + log-magnitude L1, averaged over three resolutions (0 = equal)."""
    total = 0.0
    for n_fft, hop in MRSTFT_RESOLUTIONS:
        Sr = np.sqrt(power_spectrogram(ref, sample_rate, n_fft=n_fft, hop=hop)[0])
        Se = np.sqrt(power_spectrogram(est, sample_rate, n_fft=n_fft, hop=hop)[0])
        sc = np.linalg.norm(Sr - Se) / max(float(np.linalg.norm(Sr)), 1e-12)
        total += sc + float(np.abs(np.log(np.maximum(Sr, 1e-7)) - np.log(np.maximum(Se, 1e-7))).mean())
    return float(total / len(MRSTFT_RESOLUTIONS))


def mel_distance(logmel_ref: np.ndarray, logmel_est: np.ndarray) -> float:
    """Mean absolute difference of natural-log mel spectrograms (same shape)."""
    return float(np.abs(np.asarray(logmel_ref, np.float64) - np.asarray(logmel_est, np.float64)).mean())


def waveform_snr(ref: np.ndarray, est: np.ndarray) -> float:
    """``10 log10(sum ref^2 / sum (ref - est)^2)`` in dB (phase-sensitive)."""
    ref, est = np.asarray(ref, np.float64), np.asarray(est, np.float64)
    return float(10 * np.log10(max(float((ref ** 2).sum()), 1e-30) / max(float(((ref - est) ** 2).sum()), 1e-30)))


def waveform_correlation(ref: np.ndarray, est: np.ndarray) -> float:
    """Pearson correlation of the samples (phase-sensitive); 0 when either is constant."""
    ref, est = np.asarray(ref, np.float64), np.asarray(est, np.float64)
    if ref.std() == 0 or est.std() == 0:
        return 0.0
    return float(np.corrcoef(ref, est)[0, 1])


METRIC_KEYS = ("lsd_full", "lsd_low", "lsd_mid", "lsd_high", "retention_low_db", "retention_mid_db",
               "retention_high_db", "mel_distance", "mrstft", "snr_db", "correlation")
LOWER_IS_BETTER = {"lsd_full", "lsd_low", "lsd_mid", "lsd_high", "mel_distance", "mrstft"}


def clip_metrics(ref: np.ndarray, est: np.ndarray, sample_rate: int, logmel_ref: np.ndarray,
                 logmel_est: np.ndarray) -> dict[str, float]:
    """All reconstruction metrics of one clip, keys :data:`METRIC_KEYS`."""
    out = {f"lsd_{k}": v for k, v in log_spectral_distance(ref, est, sample_rate).items()}
    out.update({f"retention_{k}_db": v for k, v in band_retention_db(ref, est, sample_rate).items()})
    out["mel_distance"] = mel_distance(logmel_ref, logmel_est)
    out["mrstft"] = multi_resolution_stft(ref, est, sample_rate)
    out["snr_db"] = waveform_snr(ref, est)
    out["correlation"] = waveform_correlation(ref, est)
    return {k: out[k] for k in METRIC_KEYS}


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> dict[str, float]:
    """Mean of the paired differences ``a - b`` (n,) with a percentile bootstrap interval over clips."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"mean_diff": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi),
            "excludes_zero": bool(lo > 0 or hi < 0), "n": int(len(d))}
