"""Log-mel -> waveform with Griffin-Lim (librosa's fast/momentum variant, Perraudin et al. 2013)."""

from __future__ import annotations

import numpy as np

from vaelab.modalities.audio.mel import MelParams, mel_to_magnitude, stft


def griffin_lim(logmel: np.ndarray, p: MelParams, *, n_iter: int = 32, momentum: float = 0.99,
                seed: int = 0, jobs: int = 1) -> np.ndarray:
    """(n_mels, T) or (n, n_mels, T) log-mel -> (n_samples,) or (n, n_samples) float32 waveforms.

    Phase starts random (seeded per clip: clip ``i`` uses ``seed + i``), so equal seeds give equal bytes, whatever
    ``jobs`` (worker processes over clips) is.
    """
    L = np.asarray(logmel)
    single = L.ndim == 2
    L = L[None] if single else L
    if jobs > 1 and len(L) > 1:
        from concurrent.futures import ProcessPoolExecutor

        parts = np.array_split(np.arange(len(L)), min(jobs, len(L)))
        with ProcessPoolExecutor(len(parts)) as ex:
            outs = list(ex.map(_gl_part, [(L[ix], p, n_iter, momentum, seed + int(ix[0])) for ix in parts]))
        out = np.concatenate(outs)
        return out[0] if single else out
    import librosa

    S = mel_to_magnitude(L, p)
    out = np.empty((len(L), p.n_samples), dtype=np.float32)
    for i, s in enumerate(S):
        out[i] = librosa.griffinlim(s, n_iter=int(n_iter), hop_length=p.hop, n_fft=p.n_fft, momentum=float(momentum),
                                    init="random", random_state=np.random.RandomState(int(seed) + i),
                                    length=p.n_samples)
    return out[0] if single else out


def true_phase(x: np.ndarray, logmel: np.ndarray, p: MelParams) -> np.ndarray:
    """Magnitude from the mel, phase of the original waveform: isolates the mel front end's loss."""
    import librosa

    S = mel_to_magnitude(logmel, p)
    ph = np.angle(stft(x, p))
    return librosa.istft(S * np.exp(1j * ph), hop_length=p.hop, n_fft=p.n_fft, length=p.n_samples).astype(np.float32)


def _gl_part(args: tuple) -> np.ndarray:
    L, p, n_iter, momentum, seed = args
    return griffin_lim(L, p, n_iter=n_iter, momentum=momentum, seed=seed, jobs=1)
