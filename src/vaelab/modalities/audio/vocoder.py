"""Log-mel -> waveform with Griffin-Lim (fast/momentum variant, Perraudin et al. 2013) and mel-energy matching.

Why the matching: the mel -> linear inversion (:func:`~vaelab.modalities.audio.mel.mel_to_magnitude`) returns
a magnitude that reproduces the mel, but the output of Griffin-Lim does not: the inverse STFT of inconsistent
phases cancels part of the energy, so the waveform's own mel falls short of the target (on white noise its mel is
~0.3 dB low and its band power ~0.8 dB low after 32 iterations). Mel matching ("rounds") re-estimates the target
magnitude from what the current waveform really contains: per mel band and frame the gain
``g = M_target / (B |X|)`` (``B`` the mel bank, ``X`` the STFT of the current waveform), spread to FFT bins with the
bank's normalised weights, multiplies the target magnitude; a few Griffin-Lim iterations follow. After the rounds
re-applying the mel bank to the output reproduces the target mel (mel distance on noise 0.07 -> 0.04), so the
output carries the mel's energy. What no mel vocoder can restore is the energy of fine structure finer than the
mel bands (a harmonic or a sine concentrates its energy in a few FFT bins; the mel keeps only their sum, and any
smooth inversion puts less power under the same sum): that part of the loss belongs to the mel front end.
"""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import InputError
from vaelab.modalities.audio.mel import LOG_FLOOR, MelParams, mel_basis, mel_to_magnitude, stft

VOCODERS = ("refine", "griffin-lim")  # refine: griffin_lim + refine (REFINE_STEPS); griffin-lim: without it
REFINE_STEPS = 300


def check_vocoder(name: str) -> str:
    """``name`` if it is one of ``VOCODERS``, else an :class:`~vaelab.core.errors.InputError`."""
    if name not in VOCODERS:
        raise InputError(f"--vocoder must be one of {', '.join(VOCODERS)}, got {name!r}")
    return name


def vocode(logmel: np.ndarray, p: MelParams, *, vocoder: str = "griffin-lim", seed: int = 0, jobs: int = 1,
           n_iter: int = 32, momentum: float = 0.99) -> np.ndarray:
    """Log-mel (n_mels, T) or (n, n_mels, T) -> waveform(s) with the named vocoder (``VOCODERS``):
    ``"griffin-lim"`` is :func:`griffin_lim` (momentum Griffin-Lim + mel matching), ``"refine"`` the same followed by
    ``REFINE_STEPS`` steps of :func:`refine` towards the log-mel."""
    check_vocoder(vocoder)
    return griffin_lim(logmel, p, n_iter=n_iter, momentum=momentum, seed=seed, jobs=jobs,
                       refine_steps=REFINE_STEPS if vocoder == "refine" else 0)


def _istft(X: np.ndarray, p: MelParams) -> np.ndarray:
    import librosa

    return librosa.istft(X, hop_length=p.hop, n_fft=p.n_fft, length=p.n_samples)


def _spread(p: MelParams) -> tuple[np.ndarray, np.ndarray]:
    """Mel bank ``B`` (n_mels, F) and its column-normalised transpose ``W`` (F, n_mels): mel gain -> bin gain."""
    B = mel_basis(p).astype(np.float64)
    W = (B / np.maximum(B.sum(axis=0, keepdims=True), 1e-12)).T
    return B, W


def mel_gain(M: np.ndarray, X: np.ndarray, p: MelParams, *, max_gain: float = 10.0) -> np.ndarray:
    """Per-FFT-bin gain (..., F, T) that moves the mel of the STFT ``X`` towards the magnitude mel ``M``.

    Per mel band and frame ``g = M / (B |X|)`` (clipped to ``[1 / max_gain, max_gain]``), spread to bins as the
    bank's weighted mean; bins outside every mel band get gain 1.
    """
    B, W = _spread(p)
    g = np.clip(M / np.maximum(np.einsum("mf,...ft->...mt", B, np.abs(X)), 1e-12), 1 / max_gain, max_gain)
    G = np.einsum("fm,...mt->...ft", W, g)
    G[..., B.sum(axis=0) <= 0, :] = 1.0
    return G


def _gl(S: np.ndarray, M: np.ndarray, p: MelParams, n_iter: int, momentum: float, rounds: int,
        round_iter: int, seeds: np.ndarray) -> np.ndarray:
    """Batched Griffin-Lim on target magnitudes ``S`` (n, F, T) with ``rounds`` of mel matching at the end."""
    ang = np.stack([np.exp(2j * np.pi * np.random.default_rng(int(s)).random(S.shape[1:])) for s in seeds])
    S = S.copy()
    k = momentum / (1 + momentum)

    def iterate(ang: np.ndarray, n: int) -> np.ndarray:
        prev = 0.0
        for _ in range(n):
            rebuilt = stft(_istft(S * ang, p), p)
            a = rebuilt - k * prev
            ang, prev = a / (np.abs(a) + 1e-16), rebuilt
        return ang

    ang = iterate(ang, n_iter)
    for _ in range(rounds):
        S = S * mel_gain(M, stft(_istft(S * ang, p), p), p)
        ang = iterate(ang, round_iter)
    return _istft(S * ang, p).astype(np.float32)


def griffin_lim(logmel: np.ndarray, p: MelParams, *, n_iter: int = 32, momentum: float = 0.99,
                seed: int = 0, jobs: int = 1, rounds: int = 3, round_iter: int = 8, refine_steps: int = 0
                ) -> np.ndarray:
    """(n_mels, T) or (n, n_mels, T) log-mel -> (n_samples,) or (n, n_samples) float32 waveforms.

    ``n_iter`` Griffin-Lim iterations from a random phase, then ``rounds`` mel-matching rounds of ``round_iter``
    iterations each (``rounds=0``: plain Griffin-Lim), then ``refine_steps`` steps of :func:`refine` towards the
    log-mel (0: none). Phase starts random, seeded per clip (clip ``i`` uses ``seed + i``), so equal seeds give
    equal bytes whatever ``jobs`` (worker processes over clips) is.
    """
    L = np.asarray(logmel, dtype=np.float64)
    single = L.ndim == 2
    L = L[None] if single else L
    seeds = int(seed) + np.arange(len(L))
    if jobs > 1 and len(L) > 1:
        from concurrent.futures import ProcessPoolExecutor

        parts = np.array_split(np.arange(len(L)), min(jobs, len(L)))
        with ProcessPoolExecutor(len(parts)) as ex:
            outs = list(ex.map(_gl_part, [(L[ix], p, n_iter, momentum, int(seeds[ix[0]]), rounds, round_iter,
                                           refine_steps) for ix in parts]))
        out = np.concatenate(outs)
    else:
        out = np.empty((len(L), p.n_samples), dtype=np.float32)
        for i in range(0, len(L), 16):  # batches of 16 clips keep memory small
            sl = slice(i, i + 16)
            out[sl] = _gl(mel_to_magnitude(L[sl], p), np.exp(L[sl]), p, int(n_iter), float(momentum), int(rounds),
                          int(round_iter), seeds[sl])
            if refine_steps > 0:
                out[sl] = refine(out[sl], L[sl], p, steps=int(refine_steps))
    return out[0] if single else out


def _refine_batch(x: np.ndarray, L: np.ndarray, p: MelParams, steps: int, lr: float) -> np.ndarray:
    """Adam on the waveforms ``x`` (n, n_samples) of :func:`refine`, scaled per clip by its standard deviation."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # same bytes whatever the caller's thread count
    try:
        B = torch.as_tensor(mel_basis(p), dtype=torch.float32)
        win = torch.hann_window(p.n_fft, dtype=torch.float32)
        target = torch.as_tensor(np.asarray(L, dtype=np.float32))
        scale = torch.as_tensor(np.maximum(x.std(axis=1, keepdims=True), 1e-8).astype(np.float32))
        u = torch.tensor(x / scale.numpy(), dtype=torch.float32, requires_grad=True)
        opt = torch.optim.Adam([u], lr=lr)
        for i in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * i / steps))
            X = torch.stft(u * scale, p.n_fft, p.hop, window=win, center=True, pad_mode="constant",
                           return_complex=True)
            mag = torch.sqrt(X.real ** 2 + X.imag ** 2 + 1e-12) ** p.power
            loss = ((torch.log(torch.clamp(B @ mag, min=LOG_FLOOR)) - target) ** 2).mean(dim=(1, 2)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (u * scale).detach().numpy().astype(np.float32)
    finally:
        torch.set_num_threads(threads)


def refine(x: np.ndarray, logmel: np.ndarray, p: MelParams, *, steps: int = 300, lr: float = 3e-3) -> np.ndarray:
    """Waveforms (n, n_samples) or (n_samples,) whose own log-mel is nearer ``logmel`` (n, n_mels, T): gradient
    descent on the waveform from ``x`` (e.g. :func:`griffin_lim`'s output).

    Minimises, per clip, the mean squared difference between the log-mel the front end
    (:func:`~vaelab.modalities.audio.mel.log_mel`: Hann STFT, Slaney bank, log floored at 1e-5) computes from the
    waveform and the target, with Adam (learning rate ``lr`` relative to the clip's standard deviation, cosine decay
    to 0 over ``steps``; torch, 1 thread, batches of 16 clips; each clip's loss and step are independent of the
    others, so the result does not depend on batching). Deterministic: no random numbers. Why: Griffin-Lim's
    inconsistent phase leaves the written clip's own log-mel off the target (smoother in time, quiet cells lifted);
    whatever analyses the written clip again (a classifier on its log-mel) sees that error.
    """
    xa = np.asarray(x, dtype=np.float32)
    La = np.asarray(logmel, dtype=np.float32)
    single = xa.ndim == 1
    xa, La = (xa[None], La[None]) if single else (xa, La)
    if steps <= 0:
        return xa[0].copy() if single else xa.copy()
    out = np.concatenate([_refine_batch(xa[i:i + 16], La[i:i + 16], p, int(steps), float(lr))
                          for i in range(0, len(xa), 16)])
    return out[0] if single else out


def true_phase(x: np.ndarray, logmel: np.ndarray, p: MelParams, *, rounds: int = 3) -> np.ndarray:
    """Magnitude from the mel, phase of the original waveform: isolates the mel front end's loss.

    The same mel matching as :func:`griffin_lim` (``rounds`` times, phase kept) so that the two rows differ only
    in the phase.
    """
    S = mel_to_magnitude(logmel, p)
    M = np.exp(np.asarray(logmel, dtype=np.float64))
    ph = np.exp(1j * np.angle(stft(x, p)))
    for _ in range(rounds):
        S = S * mel_gain(M, stft(_istft(S * ph, p), p), p)
    return _istft(S * ph, p).astype(np.float32)


def _gl_part(args: tuple) -> np.ndarray:
    L, p, n_iter, momentum, seed, rounds, round_iter, refine_steps = args
    return griffin_lim(L, p, n_iter=n_iter, momentum=momentum, seed=seed, jobs=1, rounds=rounds, round_iter=round_iter,
                       refine_steps=refine_steps)


def level_lift(ref: np.ndarray, out: np.ndarray, *, bins: int = 20) -> np.ndarray:
    """The mean change ``out - ref`` of log-mel cells as a function of their level in ``ref``: (2, bins) rows
    (level, lift).

    ``ref`` and ``out`` (same shape, any): log-mels before and after a round trip. The cells are split at the
    quantiles of ``ref`` into ``bins`` groups of (about) equal count, closed at both ends (a cell on an edge counts in
    both neighbours); row 0 is each group's mean level in ``ref``, row 1 the mean of ``out - ref`` there.
    """
    A = np.asarray(ref, dtype=np.float64).ravel()
    d = np.asarray(out, dtype=np.float64).ravel() - A
    if A.shape != d.shape or A.size < bins or bins < 2:
        raise ValueError(f"level_lift needs equal shapes and at least {bins} cells")
    edges = np.quantile(A, np.linspace(0, 1, bins + 1))
    masks = [(A >= lo) & (A <= hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return np.array([[A[m].mean() for m in masks], [d[m].mean() for m in masks]])


def fit_level_lift(logmel: np.ndarray, p: MelParams, *, bins: int = 20, seed: int = 1, jobs: int = 1,
                   n_iter: int = 32, momentum: float = 0.99) -> np.ndarray:
    """(2, bins) level -> lift curve (:func:`level_lift`) of this vocoder on the log-mels ``logmel`` (n, n_mels, T):
    each is written with :func:`griffin_lim` (phase seeds ``seed + i``) and analysed again with the same front end."""
    from vaelab.modalities.audio.mel import log_mel

    L = np.asarray(logmel, dtype=np.float64)
    return level_lift(L, log_mel(griffin_lim(L, p, n_iter=n_iter, momentum=momentum, seed=seed, jobs=jobs), p),
                      bins=bins)


def precompensate(logmel: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Log-mel (any shape) minus the vocoder's expected lift at each cell's level: ``L - interp(L, level, lift)``
    (``curve`` from :func:`level_lift`; constant beyond its first and last level), so that the written clip's
    log-mel lands nearer ``L`` on average."""
    L = np.asarray(logmel, dtype=np.float64)
    c = np.asarray(curve, dtype=np.float64)
    return L - np.interp(L, c[0], c[1])
