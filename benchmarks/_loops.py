"""Hand-written single-thread numba loops: the "what a tight loop costs" baseline.

Each loop does the same integer arithmetic as the fixsim operation it shadows, for one fixed
type and mode pair, with no mode dispatch, no status codes and no overflow counters, and
allocates its output like any library call must. They are the floor against which the
"within 1.5x of a numba loop" targets are measured.

Assumptions (true for the benchmark data, stated so nobody mistakes these for general
kernels): inputs are finite, and ``|x * 2**F| < 2**62`` wherever a float is converted to
int64. Note that numba's ``math.floor`` returns an int64; ``np.floor`` keeps a float.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_TWO64 = 18446744073709551616.0


@nb.njit(cache=True, nogil=True)
def quantize_nearest_sat(x, F, W):
    """float64 -> signed W-bit (W <= 53) at fraction F; nearest (ties toward +inf), saturate."""
    out = np.empty(x.shape[0], np.int64)
    scale = math.ldexp(1.0, F)
    hi = math.ldexp(1.0, W - 1) - 1.0
    lo = -math.ldexp(1.0, W - 1)
    for i in range(x.shape[0]):
        y = x[i] * scale
        fl = np.floor(y)
        q = fl + 1.0 if y - fl >= 0.5 else fl  # y - fl is exact for |y| < 2**52
        out[i] = np.int64(min(max(q, lo), hi))
    return out


@nb.njit(cache=True, nogil=True)
def quantize_round_wrap(x, F, W):
    """float64 -> signed W-bit at fraction F; nearest (ties away from zero), wrap."""
    out = np.empty(x.shape[0], np.int64)
    scale = math.ldexp(1.0, F)
    mask = (np.int64(1) << W) - 1
    half = np.int64(1) << (W - 1)
    for i in range(x.shape[0]):
        y = x[i] * scale
        ay = abs(y)
        fl = np.floor(ay)
        q = np.int64(fl + 1.0 if ay - fl >= 0.5 else fl)
        if y < 0:
            q = -q
        out[i] = ((q + half) & mask) - half
    return out


@nb.njit(cache=True, nogil=True)
def quantize_floor_wrap(x, F, W):
    """float64 -> signed W-bit at fraction F; floor, wrap."""
    out = np.empty(x.shape[0], np.int64)
    scale = math.ldexp(1.0, F)
    mask = (np.int64(1) << W) - 1
    half = np.int64(1) << (W - 1)
    for i in range(x.shape[0]):
        q = np.int64(np.floor(x[i] * scale))
        out[i] = ((q + half) & mask) - half
    return out


@nb.njit(cache=True, nogil=True)
def multiply_cast_nearest_sat(a, b, d, W):
    """(a * b) >> d with nearest (ties toward +inf) rounding, saturated to signed W bits."""
    out = np.empty(a.shape[0], np.int64)
    half = np.int64(1) << (d - 1)
    hi = (np.int64(1) << (W - 1)) - 1
    lo = -(np.int64(1) << (W - 1))
    for i in range(a.shape[0]):
        out[i] = min(max((a[i] * b[i] + half) >> d, lo), hi)
    return out


@nb.njit(cache=True, nogil=True)
def requantize_nearest_sat(v, d, W):
    """v >> d with nearest (ties toward +inf) rounding, saturated to signed W bits."""
    out = np.empty(v.shape[0], np.int64)
    half = np.int64(1) << (d - 1)
    hi = (np.int64(1) << (W - 1)) - 1
    lo = -(np.int64(1) << (W - 1))
    for i in range(v.shape[0]):
        out[i] = min(max((v[i] + half) >> d, lo), hi)
    return out


@nb.njit(cache=True, nogil=True)
def add_aligned(a, ka, b, kb):
    """Full-precision sum: (a << ka) + (b << kb)."""
    out = np.empty(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        out[i] = (a[i] << ka) + (b[i] << kb)
    return out


@nb.njit(cache=True, nogil=True)
def multiply(a, b):
    """Full-precision product (fits int64 for words up to 32 + 31 bits)."""
    out = np.empty(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i]
    return out


@nb.njit(cache=True, nogil=True)
def matmul_i64(A, B):
    """Integer matrix product, i-k-j order (a row of B streamed), single thread."""
    n, m = A.shape
    p = B.shape[1]
    C = np.zeros((n, p), np.int64)
    for i in range(n):
        for k in range(m):
            aik = A[i, k]
            for j in range(p):
                C[i, j] += aik * B[k, j]
    return C


@nb.njit(cache=True, nogil=True)
def to_float(v, F):
    """Stored integers to float64: v * 2**-F (exact for |v| < 2**53)."""
    out = np.empty(v.shape[0], np.float64)
    scale = math.ldexp(1.0, -F)
    for i in range(v.shape[0]):
        out[i] = v[i] * scale
    return out


@nb.njit(cache=True, nogil=True)
def quantize_wide_nearest_sat(x, F, W):
    """float64 -> signed W-bit (64 < W <= 126) at fraction F as two limbs: value = hi*2**64 + lo.

    Nearest (ties toward +inf), saturate. Needs ``|x * 2**F| < 2**126`` and ``-960 <= F <= 960``
    (true for the benchmark's s80/60): then ``y = x * 2**F``, ``floor(y)`` and the split of
    ``|q|`` into limbs are all exact (``|q|`` has at most 53 significant bits).
    Returns ``(hi int64[:], lo uint64[:])``.
    """
    n = x.shape[0]
    hi_out = np.empty(n, np.int64)
    lo_out = np.empty(n, np.uint64)
    scale = math.ldexp(1.0, F)
    top = math.ldexp(1.0, W - 1)        # saturate at [-top, top - 1]
    inv64 = 1.0 / _TWO64
    max_hi = (np.int64(1) << (W - 65)) - 1   # top - 1 = max_hi * 2**64 + (2**64 - 1)
    for i in range(n):
        y = x[i] * scale
        fl = np.floor(y)
        q = fl + 1.0 if y - fl >= 0.5 else fl   # fl + 1 is exact: y - fl != 0 needs |y| < 2**52
        if q >= top:
            hi_out[i] = max_hi
            lo_out[i] = np.uint64(0xFFFFFFFFFFFFFFFF)
        elif q < -top:
            hi_out[i] = -max_hi - 1
            lo_out[i] = np.uint64(0)
        else:
            a = abs(q)
            h = np.floor(a * inv64)
            lo = np.uint64(a - h * _TWO64)
            hi = np.int64(h)
            if q < 0:                    # two's complement negate of the 128-bit (hi, lo)
                lo = ~lo + np.uint64(1)
                hi = ~hi + (1 if lo == 0 else 0)
            hi_out[i] = hi
            lo_out[i] = lo
    return hi_out, lo_out
