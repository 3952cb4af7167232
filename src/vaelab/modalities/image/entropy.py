"""Entropy coding of quantised integers: rANS on a Python integer, with discretised Laplace models.

**rANS** (range asymmetric numeral systems, J. Duda, "Asymmetric numeral systems", arXiv:1311.2540, 2013) with
the whole state kept in one Python integer (no renormalisation, so exact and short): coding a symbol of
frequency ``f`` and cumulative frequency ``c`` out of ``M = 2^PREC`` maps the state ``x`` to
``(x // f) * M + x % f + c``; decoding inverts it. Symbols are pushed in reverse order so they pop in order.
The state starts at 1, and a decoder that does not end at 1 has read a corrupt or foreign stream. Length:
``sum log2(M / f)`` bits, rounded up to whole bytes, + at most one byte.

**Laplace model.** An integer ``q`` in ``[-A, A]`` gets the probability of a Laplace of scale ``b`` (in
quantiser steps) on ``[q - 1/2, q + 1/2]``, renormalised to ``[-A - 1/2, A + 1/2]``, every symbol at least
frequency 1, plus an escape symbol for ``|q| > A`` (followed by ``|q| - A - 1`` in Elias-gamma bits and a
sign bit). Cumulative frequencies are computed in closed form, so no tables are stored.
"""

from __future__ import annotations

import math

from vaelab.core.errors import InputError

PREC = 24
M = 1 << PREC
_ESC = 17  # frequency of the escape symbol


class Encoder:
    """Collect ``(cum, freq)`` pairs; :meth:`finish` returns the bytes."""

    def __init__(self) -> None:
        self.pairs: list[tuple[int, int]] = []

    def put(self, cum: int, freq: int) -> None:
        self.pairs.append((cum, freq))

    def finish(self) -> bytes:
        x = 1
        for cum, f in reversed(self.pairs):
            x = ((x // f) << PREC) + (x % f) + cum
        return x.to_bytes((x.bit_length() + 7) // 8, "big")


class Decoder:
    """Pop symbols from bytes written by :class:`Encoder`."""

    def __init__(self, data: bytes) -> None:
        self.x = int.from_bytes(data, "big")

    def slot(self) -> int:
        return self.x & (M - 1)

    def take(self, cum: int, freq: int) -> None:
        self.x = freq * (self.x >> PREC) + (self.x & (M - 1)) - cum

    def check_end(self) -> None:
        if self.x != 1:
            raise InputError("corrupt compressed data (the entropy decoder did not end where it started)")


def put_bit(enc: Encoder, bit: int) -> None:
    enc.put(M // 2 if bit else 0, M // 2)


def get_bit(dec: Decoder) -> int:
    bit = int(dec.slot() >= M // 2)
    dec.take(M // 2 if bit else 0, M // 2)
    return bit


def put_uniform(enc: Encoder, v: int, n: int) -> None:
    """``v`` in ``[0, n)`` with equal probabilities (n <= 2^20)."""
    f = M // n
    enc.put(v * f, f)


def get_uniform(dec: Decoder, n: int) -> int:
    f = M // n
    v = min(dec.slot() // f, n - 1)
    if v * f + f > M:
        raise InputError("corrupt compressed data")
    dec.take(v * f, f)
    return v


class Laplace:
    """Discretised Laplace of scale ``b`` (in quantiser steps) on integers, with escape (see module doc)."""

    def __init__(self, b: float) -> None:
        self.b = max(float(b), 1e-3)
        self.A = int(min(1 << 14, math.ceil(12.0 * self.b) + 2))
        self.lo, self.hi = self._F(-self.A - 0.5), self._F(self.A + 0.5)
        self.scale = M - (2 * self.A + 1) - _ESC

    def _F(self, t: float) -> float:
        return 0.5 * math.exp(t / self.b) if t < 0 else 1.0 - 0.5 * math.exp(-t / self.b)

    def cum(self, k: int) -> int:
        """Cumulative frequency of symbol index ``k = q + A`` (0 .. 2A + 1; 2A + 1 is the escape)."""
        if k >= 2 * self.A + 1:
            return self.scale + 2 * self.A + 1
        g = (self._F(k - self.A - 0.5) - self.lo) / (self.hi - self.lo)
        return int(math.floor(self.scale * g)) + k

    def put(self, enc: Encoder, q: int) -> None:
        q = int(q)
        if abs(q) <= self.A:
            k = q + self.A
            c = self.cum(k)
            enc.put(c, self.cum(k + 1) - c)
            return
        c = self.cum(2 * self.A + 1)
        enc.put(c, M - c)
        v = abs(q) - self.A  # >= 1: Elias gamma
        nb = v.bit_length()
        for _ in range(nb - 1):
            put_bit(enc, 0)
        for i in range(nb - 1, -1, -1):
            put_bit(enc, (v >> i) & 1)
        put_bit(enc, int(q < 0))

    def get(self, dec: Decoder) -> int:
        s = dec.slot()
        lo, hi = 0, 2 * self.A + 1  # largest k with cum(k) <= s
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.cum(mid) <= s:
                lo = mid
            else:
                hi = mid - 1
        c = self.cum(lo)
        if lo < 2 * self.A + 1:
            dec.take(c, self.cum(lo + 1) - c)
            return lo - self.A
        dec.take(c, M - c)
        nb = 1
        while get_bit(dec) == 0:
            nb += 1
            if nb > 64:
                raise InputError("corrupt compressed data (escape code too long)")
        v = 1
        for _ in range(nb - 1):
            v = (v << 1) | get_bit(dec)
        sign = get_bit(dec)
        q = v + self.A
        return -q if sign else q


_MODELS: dict[int, Laplace] = {}


def laplace_model(b: float) -> Laplace:
    """The :class:`Laplace` of scale ``b`` rounded to 1/8 octave (so encoder and decoder agree on the model despite
    float round-off), built once per 1/8 octave (models are immutable)."""
    k = round(8.0 * math.log2(max(float(b), 1e-3)))
    m = _MODELS.get(k)
    if m is None:
        m = _MODELS[k] = Laplace(2.0 ** (k / 8.0))
    return m
