"""NCO kernels: the phase accumulator with counter-based dither, phase quantization and the
sine/cosine table lookup, per sample, on int64 bit patterns.

A phase is an unsigned W-bit integer (``W <= 64``; cycles times ``2**W``) held as an int64
bit pattern: additions wrap modulo ``2**64`` and a mask keeps the low W bits, so the result is
the phase modulo ``2**W`` for every ``W`` up to 64.

Dither sample ``i`` (counted from reset) is the top ``D`` bits of
``splitmix64(seed + (i + 1) * 0x9E3779B97F4A7C15)`` (Steele, Lea and Flood's SplitMix64 output
function on a Weyl sequence): a counter-based generator, so the dither of a sample does not
depend on how the signal is split into frames.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["nco_fixed", "nco_ideal_phase", "splitmix64_top"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@nb.njit(inline="always", cache=True)
def _dither(seed, i, D):
    """Top ``D`` bits (0 <= D <= 64) of SplitMix64 at counter ``i`` (0-based)."""
    if D == 0:
        return np.int64(0)
    z = seed + np.uint64(i + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(64 - D))


@nb.njit(cache=True)
def splitmix64_top(seed, start, D, out):
    """``out[i]`` = dither of sample ``start + i`` (for tests and the records)."""
    for i in range(out.shape[0]):
        out[i] = _dither(seed, start + i, D)


@nb.njit(inline="always", cache=True)
def _lookup(q, Q, table, quarter):
    """Table value at phase address ``q`` (``Q`` bits). A quarter-wave table holds the
    ``2**(Q-2) + 1`` entries of the first quadrant, then their negations (already cast into
    the output type); the second quadrant mirrors the first, the third and fourth use the
    negations."""
    if not quarter:
        return table[q]
    qn = np.int64(1) << (Q - 2)
    quad = q >> (Q - 2)
    r = q & (qn - 1)
    if quad == 0:
        return table[r]
    if quad == 1:
        return table[qn - r]
    if quad == 2:
        return table[qn + 1 + r]
    return table[qn + 1 + qn - r]


_FIXED: dict[tuple[bool, ...], object] = {}


def nco_fixed(quarter: bool, want_sin: bool, want_cos: bool, dither: bool, recording: bool,
              per_sample: bool = False):
    """The per-sample NCO kernel compiled for one combination of the flags (closure
    constants: the branches fold away at compile time). Call as
    ``nco_fixed(...)(n, inc, off, mask, W, Q, D, seed, start, acc, table, sin_out, cos_out,
    rec_phase)``; it returns the accumulator after the ``n`` samples.

    Sample ``i``: ``p = (acc + off + dither(start + i)) mod 2**W``; address
    ``q = p >> (W - Q)`` (the top Q bits: phase truncation); ``sin = T(q)`` and
    ``cos = T((q + 2**(Q-2)) mod 2**Q)``; then ``acc = (acc + inc[i]) mod 2**W``
    (``inc[0]`` for every sample unless *per_sample*). ``acc``, ``inc`` and ``off`` are W-bit
    patterns in int64; ``rec_phase`` receives ``p`` when recording.
    """
    key = (bool(quarter), bool(want_sin), bool(want_cos), bool(dither), bool(recording),
           bool(per_sample))
    k = _FIXED.get(key)
    if k is None:
        k = _FIXED[key] = _make_fixed(*key)
    return k


def _make_fixed(QUARTER, WANT_SIN, WANT_COS, DITHER, RECORDING, PER_SAMPLE):  # noqa: N803
    @nb.njit(cache=True)
    def kernel(n, inc, off, mask, W, Q, D, seed, start, acc, table, sin_out, cos_out,
               rec_phase):
        s = W - Q
        qmask = (np.int64(1) << Q) - 1
        qshift = np.int64(1) << (Q - 2)
        step = inc[0]
        for i in range(n):
            p = acc + off
            if DITHER:
                p += _dither(seed, start + i, D)
            p &= mask
            if RECORDING:
                rec_phase[i] = p
            q = (p >> s) & qmask  # & qmask: p >> s sign-extends a 64-bit pattern
            if WANT_SIN:
                sin_out[i] = _lookup(q, Q, table, QUARTER)
            if WANT_COS:
                cos_out[i] = _lookup((q + qshift) & qmask, Q, table, QUARTER)
            if PER_SAMPLE:
                step = inc[i]
            acc = (acc + step) & mask
        return acc

    return kernel


@nb.njit(cache=True)
def nco_ideal_phase(n, inc, off, mask, acc, out):
    """``out[i] = (acc + off) mod 2**W`` before each step ``acc += inc[i]`` (``inc[0]`` for
    every sample when ``inc`` has one entry); returns ``acc``."""
    per_sample = inc.shape[0] > 1
    for i in range(n):
        out[i] = (acc + off) & mask
        acc = (acc + (inc[i] if per_sample else inc[0])) & mask
    return acc
