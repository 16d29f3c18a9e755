"""Radix-2 decimation-in-time FFT kernels on int64 stored integers and on float64.

Frames are the rows of ``re``/``im`` (shape ``(frames, N)``, ``N`` a power of two), already
in bit-reversed order; the butterflies run in place and leave the spectrum in natural order.
Stage ``s`` (``s = 0 .. log2(N) - 1``) combines pairs ``h = 2**s`` apart with the twiddle
``w[j * N / 2**(s+1)]`` (``j = 0 .. h - 1``), where ``w[k] = exp(-2 pi i k / N)``.

Fixed point (:func:`fft_i64_for`): data stored integers of the data type (row ``tp`` of
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

import functools

import numba as nb
import numpy as np

from ._quantize import CONVERGENT, FLOOR, NEAREST, ROUND, SATURATE, WRAP, requant_one

__all__ = ["bitrev_index", "fft_i64_for", "fft_f64"]

_U0 = np.uint64(0)


def bitrev_index(N: int) -> np.ndarray:
    """The bit-reversal permutation of ``0 .. N-1`` (N a power of two)."""
    L = N.bit_length() - 1
    idx = np.arange(N, dtype=np.int64)
    rev = np.zeros(N, dtype=np.int64)
    for b in range(L):
        rev |= ((idx >> b) & 1) << (L - 1 - b)
    return rev


# mode pairs with a specialised kernel (the usual hardware choices); the others run the
# generic kernel, so that all 45 pairs do not each pay a compilation
_SPECIALISED = frozenset({(NEAREST, SATURATE), (FLOOR, WRAP), (CONVERGENT, SATURATE),
                          (FLOOR, SATURATE), (ROUND, SATURATE), (NEAREST, WRAP)})


def fft_i64_for(rmode: int, omode: int):
    """The fixed-point FFT kernel for a mode pair (see :func:`_make` for the arguments): for
    the usual pairs (nearest, convergent, round or floor with saturate; floor or nearest with
    wrap) a copy with the modes as compile-time constants (the casts' mode branches fold away,
    about twice as fast), else the generic kernel, so that the 45 pairs do not each pay a
    compilation."""
    if (rmode, omode) in _SPECIALISED:
        return _make(rmode, omode)
    return _make(-1, -1)


@functools.cache
def _make(rm: int, om: int):
    """Build ``kernel(inr, ini, rev, re, im, wr, wi, ft, d, tp, rmode, omode, cnt, rec,
    scale)``: the fixed-point DIT FFT of every row of ``inr``/``ini`` (``ini`` empty for a
    real input) into ``re``/``im``, the rows first permuted by ``rev`` (bit reversal; empty:
    already in bit-reversed order), see the module notes.
    ``rm, om = -1, -1`` reads the modes from the arguments; otherwise they are constants.
    ``rec`` is ``(L, frames, 2, N)`` float64 to record the values before each cast (or an
    empty array); ``scale[s] = 2**-(Fd + d[s])`` turns a pre-cast integer into its value.
    One compilation per pair, cached on disk."""
    generic = rm < 0

    @nb.njit(cache=True)
    def kernel(inr, ini, rev, re, im, wr, wi, ft, d, tp, rmode_, omode_, cnt, rec, scale):
        rmode = rmode_ if generic else rm
        omode = omode_ if generic else om
        # load the frames (bit-reversed when rev is given; ini empty: real input)
        has_im = ini.shape[0] > 0
        permute = rev.shape[0] > 0
        for f in range(re.shape[0]):
            for k in range(re.shape[1]):
                m = rev[k] if permute else k
                re[f, k] = inr[f, m]
                im[f, k] = ini[f, m] if has_im else 0
        frames = re.shape[0]
        N = re.shape[1]
        L = d.shape[0]
        record = rec.shape[0] > 0
        W = tp[0]
        sg = tp[1] != 0
        lo = tp[2]
        hi = tp[3]
        mask = tp[4]
        sb = tp[5]
        wbit = tp[6]
        n_ovf = 0
        n_unf = 0
        for f in range(frames):
            xr = re[f]
            xi = im[f]
            for s in range(L):
                h = 1 << s
                step = N >> (s + 1)
                ds = d[s]
                for start in range(0, N, 2 * h):
                    for j in range(h):
                        k = j * step
                        a = start + j
                        b = a + h
                        br = xr[b]
                        bi = xi[b]
                        c = wr[k]
                        e = wi[k]
                        tr = br * c - bi * e
                        ti = br * e + bi * c
                        ar = xr[a] << ft
                        ai = xi[a] << ft
                        v0 = ar + tr
                        v1 = ai + ti
                        v2 = ar - tr
                        v3 = ai - ti
                        if record:
                            sc = scale[s]
                            rec[s, f, 0, a] = v0 * sc
                            rec[s, f, 1, a] = v1 * sc
                            rec[s, f, 0, b] = v2 * sc
                            rec[s, f, 1, b] = v3 * sc
                        r0, o0 = requant_one(v0, ds, W, sg, rmode, omode, _U0, lo, hi, mask, sb,
                                             wbit)
                        r1, o1 = requant_one(v1, ds, W, sg, rmode, omode, _U0, lo, hi, mask, sb,
                                             wbit)
                        r2, o2 = requant_one(v2, ds, W, sg, rmode, omode, _U0, lo, hi, mask, sb,
                                             wbit)
                        r3, o3 = requant_one(v3, ds, W, sg, rmode, omode, _U0, lo, hi, mask, sb,
                                             wbit)
                        n_ovf += o0 + o1 + o2 + o3
                        n_unf += (((o0 == 0) & (r0 == 0) & (v0 != 0))
                                  + ((o1 == 0) & (r1 == 0) & (v1 != 0))
                                  + ((o2 == 0) & (r2 == 0) & (v2 != 0))
                                  + ((o3 == 0) & (r3 == 0) & (v3 != 0)))
                        xr[a] = r0
                        xi[a] = r1
                        xr[b] = r2
                        xi[b] = r3
        cnt[0] += n_ovf
        cnt[1] += n_unf

    return kernel


@nb.njit(cache=True)
def fft_f64(re, im, wr, wi, mult, rec):
    """In-place float64 DIT FFT of every row (the same butterflies; a stage's outputs are
    multiplied by ``mult[s]``, 0.5 on a scaled stage). ``rec`` as in :func:`_make`."""
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
