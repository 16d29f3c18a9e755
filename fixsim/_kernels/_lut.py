"""Lookup-table interpolation kernels on int64 stored integers.

Each kernel writes the exact interpolation numerator of every sample; the caller rounds it
once into the output type (``requantize`` for power-of-two spacing, a sticky-bit division
otherwise). The caller guarantees that every value fits int64 (widths checked beforehand).
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True)
def interp_pow2(xi, b0, shift, t, clip, out):
    """Breakpoints ``b0 + k 2**shift`` (``k = 0 .. n-1``), table ``t`` (n >= 2):
    ``out = t[i] 2**shift + (t[i+1] - t[i]) (x - b[i])`` with ``i = (x - b0) >> shift``
    clamped to the end segments (and ``x`` clamped to the breakpoints when *clip*)."""
    n = t.size
    b_hi = b0 + ((n - 1) << shift)
    for k in range(xi.size):
        v = xi[k]
        if clip:
            if v < b0:
                v = b0
            elif v > b_hi:
                v = b_hi
        rel = v - b0
        i = rel >> shift
        if i < 0:
            i = 0
        elif i > n - 2:
            i = n - 2
        t0 = t[i]
        out[k] = (t0 << shift) + (t[i + 1] - t0) * (rel - (i << shift))


@nb.njit(cache=True)
def interp_general(xi, b, t, clip, num, den):
    """Any increasing breakpoints ``b`` (n >= 2): ``num = t[i] d + (t[i+1] - t[i]) (x - b[i])``
    and ``den = d = b[i+1] - b[i]`` on the segment ``b[i] <= x < b[i+1]`` (end segments
    outside; ``x`` clamped to the breakpoints when *clip*)."""
    n = b.size
    for k in range(xi.size):
        v = xi[k]
        if clip:
            if v < b[0]:
                v = b[0]
            elif v > b[n - 1]:
                v = b[n - 1]
        lo = 0
        hi = n - 1  # invariant: the segment index lies in [lo, hi - 1]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if b[mid] <= v:
                lo = mid
            else:
                hi = mid
        i = lo
        d = b[i + 1] - b[i]
        t0 = t[i]
        num[k] = t0 * d + (t[i + 1] - t0) * (v - b[i])
        den[k] = d
