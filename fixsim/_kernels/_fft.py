"""Radix-2 decimation-in-time FFT kernels on int64 stored integers and on float64.

Frames are the rows of ``re``/``im`` (shape ``(frames, N)``, ``N`` a power of two), already
in bit-reversed order; the butterflies run in place and leave the spectrum in natural order.
Stage ``s`` (``s = 0 .. log2(N) - 1``) combines pairs ``h = 2**s`` apart with the twiddle
``w[j * N / 2**(s+1)]`` (``j = 0 .. h - 1``), where ``w[k] = exp(-2 pi i k / N)``.

Fixed point (:func:`fft_i64`): data stored integers of the data type (row ``tp`` of
:func:`fixsim._kernels._filters.type_row`), twiddles ``wr``/``wi`` stored at the twiddle
fraction length ``Ft``. A butterfly computes, exactly in int64::

    tr = br * wr - bi * wi          ti = br * wi + bi * wr       (fraction Fd + Ft)
    top = cast((ar << Ft) + tr)      bot = cast((ar << Ft) - tr)  (and the same for im)

and each of the four results is requantized by ``d[s] = Ft + scaling[s]`` bits into the data
type (one rounding and one overflow decision per butterfly output component; a scaled stage
divides by two). The caller guarantees ``width(data) + width(twiddle) <= 62`` so that no sum
leaves int64. Overflow/underflow counts go to ``cnt[0:2]``.

When ``rec`` is not empty it receives the exact value arriving at every cast (float64,
``value * 2**-(Fd + d[s])`` scaled by the caller), as ``rec[s, frame, 0 or 1, n]``, for the
fixed-point tool's probes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._quantize import requant_one

__all__ = ["bitrev_index", "fft_i64", "fft_f64"]

_U0 = np.uint64(0)


def bitrev_index(N: int) -> np.ndarray:
    """The bit-reversal permutation of ``0 .. N-1`` (N a power of two)."""
    L = N.bit_length() - 1
    idx = np.arange(N, dtype=np.int64)
    rev = np.zeros(N, dtype=np.int64)
    for b in range(L):
        rev |= ((idx >> b) & 1) << (L - 1 - b)
    return rev


@nb.njit(inline="always", cache=True)
def _cast(v, d, tp, rmode, omode, cnt):
    r, o = requant_one(v, d, tp[0], tp[1] != 0, rmode, omode, _U0, tp[2], tp[3], tp[4],
                       tp[5], tp[6])
    cnt[0] += o
    if o == 0 and r == 0 and v != 0:
        cnt[1] += 1
    return r


@nb.njit(cache=True)
def fft_i64(re, im, wr, wi, ft, d, tp, rmode, omode, cnt, rec, scale):
    """In-place fixed-point DIT FFT of every row of ``re``/``im`` (see the module notes).

    ``rec`` is ``(L, frames, 2, N)`` float64 to record the values before each cast (or an
    empty array); ``scale[s] = 2**-(Fd + d[s])`` turns a pre-cast integer into its value.
    """
    frames = re.shape[0]
    N = re.shape[1]
    L = d.shape[0]
    record = rec.shape[0] > 0
    for f in range(frames):
        for s in range(L):
            h = 1 << s
            step = N >> (s + 1)
            ds = d[s]
            for start in range(0, N, 2 * h):
                for j in range(h):
                    k = j * step
                    a = start + j
                    b = a + h
                    br = re[f, b]
                    bi = im[f, b]
                    tr = br * wr[k] - bi * wi[k]
                    ti = br * wi[k] + bi * wr[k]
                    ar = re[f, a] << ft
                    ai = im[f, a] << ft
                    if record:
                        sc = scale[s]
                        rec[s, f, 0, a] = (ar + tr) * sc
                        rec[s, f, 1, a] = (ai + ti) * sc
                        rec[s, f, 0, b] = (ar - tr) * sc
                        rec[s, f, 1, b] = (ai - ti) * sc
                    re[f, a] = _cast(ar + tr, ds, tp, rmode, omode, cnt)
                    im[f, a] = _cast(ai + ti, ds, tp, rmode, omode, cnt)
                    re[f, b] = _cast(ar - tr, ds, tp, rmode, omode, cnt)
                    im[f, b] = _cast(ai - ti, ds, tp, rmode, omode, cnt)


@nb.njit(cache=True)
def fft_f64(re, im, wr, wi, mult, rec):
    """In-place float64 DIT FFT of every row (the same butterflies; a stage's outputs are
    multiplied by ``mult[s]``, 0.5 on a scaled stage). ``rec`` as in :func:`fft_i64`."""
    frames = re.shape[0]
    N = re.shape[1]
    L = mult.shape[0]
    record = rec.shape[0] > 0
    for f in range(frames):
        for s in range(L):
            h = 1 << s
            step = N >> (s + 1)
            m = mult[s]
            for start in range(0, N, 2 * h):
                for j in range(h):
                    k = j * step
                    a = start + j
                    b = a + h
                    br = re[f, b]
                    bi = im[f, b]
                    tr = br * wr[k] - bi * wi[k]
                    ti = br * wi[k] + bi * wr[k]
                    ar = re[f, a]
                    ai = im[f, a]
                    re[f, a] = (ar + tr) * m
                    im[f, a] = (ai + ti) * m
                    re[f, b] = (ar - tr) * m
                    im[f, b] = (ai - ti) * m
                    if record:
                        rec[s, f, 0, a] = re[f, a]
                        rec[s, f, 1, a] = im[f, a]
                        rec[s, f, 0, b] = re[f, b]
                        rec[s, f, 1, b] = im[f, b]
