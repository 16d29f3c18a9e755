"""Quantization kernels: float64 -> stored integer, and stored integer -> stored integer.

Everything here works on plain int64/float64/uint64 arrays and integer mode codes (see
``fixsim._core._modes``). Targets have ``W <= 64`` bits; results are int64 *bit patterns*
(an unsigned 64-bit result is viewed as uint64 by the caller).

The rounding decision is always made on the exact input: a float is split into an integer
mantissa and a power of two, and a stored integer is shifted with the remainder compared to
one half exactly. Nothing is decided on a rounded intermediate.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

# mode codes (fixsim._core._modes.Rounding / Overflow)
(FLOOR, CEIL, ZERO, NEAREST, ROUND, CONVERGENT, HALF_DOWN, HALF_ZERO, CONV_ODD,
 STOCHASTIC) = range(10)
SATURATE, WRAP, SAT_ZERO, SAT_SYM, WRAP_SM = range(5)

# status codes returned by the float kernel
OK, BAD_NAN, BAD_INF = 0, 1, 2

_TWO62 = 4611686018427387904.0
_TINY = 2.0 ** -1000
_TWO_M53 = 2.0 ** -53


@nb.njit(inline="always", cache=True)
def _increment(rmode, q, cmp, nz, ustoch, frac_f):
    """0 or 1 to add to the floor ``q``.

    ``cmp`` compares the fraction with one half (-1, 0, +1); ``nz`` says it is nonzero;
    ``ustoch``/``frac_f`` decide the stochastic mode (uniform variate < fraction).
    """
    if rmode == FLOOR:
        return 0
    if rmode == CEIL:
        return 1 if nz else 0
    if rmode == ZERO:
        return 1 if (nz and q < 0) else 0
    if rmode == STOCHASTIC:
        return 1 if (nz and ustoch < frac_f) else 0
    if cmp > 0:
        return 1
    if cmp < 0:
        return 0
    # exact tie
    if rmode == NEAREST:
        return 1
    if rmode == ROUND:
        return 0 if q < 0 else 1
    if rmode == HALF_DOWN:
        return 0
    if rmode == HALF_ZERO:
        return 1 if q < 0 else 0
    if rmode == CONVERGENT:
        return q & 1
    return 1 - (q & 1)  # CONV_ODD


@nb.njit(inline="always", cache=True)
def _shr_round(v, d):
    """Floor of ``v / 2**d`` (d >= 1), and the remainder compared with one half.

    Returns ``(q, cmp, nz, frac)`` with ``frac`` the remainder as a float (for stochastic).
    """
    if d <= 62:
        q = v >> d
        r = v & ((np.int64(1) << d) - 1)
        h = np.int64(1) << (d - 1)
        cmp = 1 if r > h else (-1 if r < h else 0)
        return q, cmp, r != 0, r * (0.5 ** d)
    # d >= 63: the quotient is 0 or -1
    if v >= 0:
        if d == 63:
            h = np.int64(1) << 62
            cmp = 1 if v > h else (-1 if v < h else 0)
        else:
            cmp = -1
        return np.int64(0), cmp, v != 0, v * (0.5 ** d)
    # the remainder is v + 2**d; at d == 63 it is 0 for v == -2**63, where -1 is exact
    # (regression: -2**63 >> 63 was taken as inexact, so ceil gave 0 and an underflow)
    nz = True
    if d == 63:
        h = -(np.int64(1) << 62)
        cmp = 1 if v > h else (-1 if v < h else 0)
        nz = v != np.iinfo(np.int64).min
    elif d == 64:
        cmp = 0 if v == np.iinfo(np.int64).min else 1
    else:
        cmp = 1
    return np.int64(-1), cmp, nz, 1.0 + v * (0.5 ** d)


@nb.njit(inline="always", cache=True)
def _bit_of_shifted(v, s, k):
    """Bit ``k`` (two's complement) of ``v * 2**s`` for ``s >= 0``."""
    if k < s:
        return np.int64(0)
    sh = k - s
    if sh > 63:
        sh = 63
    return (v >> sh) & 1


@nb.njit(inline="always", cache=True)
def _classify_shifted(v, s, W, signed):
    """``(pattern, ovf)`` of the exact integer ``v * 2**s`` (s >= 0) against a W-bit range.

    ``pattern`` is the value modulo 2**64; ``ovf`` is -1/0/+1 (below, inside, above).
    """
    if v == 0:
        return np.int64(0), 0
    if s >= 64:
        return np.int64(0), (1 if v > 0 else -1)
    n = v << s
    if v < 0:
        if not signed:
            return n, -1
        e = W - 1 - s
        if e >= 63:
            return n, 0
        if e < 0:
            return n, -1
        return n, (0 if v >= -(np.int64(1) << e) else -1)
    e = (W - 1 if signed else W) - s
    if e >= 63:
        return n, 0
    if e <= 0:
        return n, 1
    return n, (0 if v < (np.int64(1) << e) else 1)


@nb.njit(inline="always", cache=True)
def _classify(n, W, signed, lo, hi):
    """``ovf`` of an int64 ``n`` (an exact value) against the W-bit range."""
    if signed:
        if n < lo:
            return -1
        return 1 if n > hi else 0
    if n < 0:
        return -1
    if W >= 64:
        return 0
    return 1 if n > hi else 0


@nb.njit(inline="always", cache=True)
def _finish(n, ovf, sbit, omode, W, signed, lo, hi, mask, signbit):
    """Apply the overflow mode. Returns ``(stored pattern, overflowed)``."""
    if ovf == 0:
        if omode == SAT_SYM and signed and n == lo:
            return lo + 1, 1
        return n, 0
    if omode == SATURATE:
        return (hi if ovf > 0 else lo), 1
    if omode == SAT_SYM:
        if ovf > 0:
            return hi, 1
        return (lo + 1 if signed else lo), 1
    if omode == SAT_ZERO:
        return np.int64(0), 1
    r = n & mask
    if omode == WRAP_SM:
        top = (r >> (W - 1)) & 1
        if sbit != top:
            r = (~r) & mask
        r = (r & ~signbit) | (sbit << (W - 1))
        r = r & mask
    if signed and W < 64:
        r = (r ^ signbit) - signbit
    return r, 1


@nb.njit(inline="always", cache=True)
def int_bounds(W, signed):
    """``(lo, hi, mask, signbit)`` of a W-bit target (W <= 64) as int64 bit patterns."""
    if signed:
        lo = -(np.int64(1) << (W - 1)) if W < 64 else np.iinfo(np.int64).min
        hi = (np.int64(1) << (W - 1)) - 1 if W < 64 else np.iinfo(np.int64).max
    else:
        lo = np.int64(0)
        hi = (np.int64(1) << W) - 1 if W < 64 else np.int64(-1)
    if W >= 64:
        return lo, hi, np.int64(-1), np.iinfo(np.int64).min
    return lo, hi, (np.int64(1) << W) - 1, np.int64(1) << (W - 1)


@nb.njit(cache=True)
def quantize_f64(x, F, W, signed, rmode, omode, nonfinite, u, out):
    """Quantize float64 ``x`` into W-bit stored integers at fraction length ``F``.

    Parameters
    ----------
    x : float64[:]
    F, W : int
    signed : bool
    rmode, omode : int
        Rounding and overflow codes.
    nonfinite : int
        0: NaN raises and +-inf raises unless saturating; 1: MATLAB (NaN -> 0, inf -> 0 under
        wrap, bound under saturation).
    u : uint64[:]
        Random words for stochastic rounding (one per element), else empty.
    out : int64[:]

    Returns
    -------
    (n_overflow, n_underflow, status, bad_index)
    """
    lo, hi, mask, signbit = int_bounds(W, signed)
    lo_f = -math.ldexp(1.0, W - 1) if signed else 0.0
    hi_f = math.ldexp(1.0, W - 1) if signed else math.ldexp(1.0, W)
    fast_ok = -960 <= F <= 960
    scale = math.ldexp(1.0, F) if fast_ok else 1.0
    wbit = W if W < 63 else 63
    stoch = rmode == STOCHASTIC
    n_ovf = 0
    n_unf = 0
    for i in range(x.shape[0]):
        xi = x[i]
        us = (u[i] >> np.uint64(11)) * _TWO_M53 if stoch else 0.0
        if not math.isfinite(xi):
            if xi != xi:
                if nonfinite == 0:
                    return n_ovf, n_unf, BAD_NAN, i
                out[i] = 0
                continue
            sat = omode == SATURATE or omode == SAT_SYM
            if omode == SAT_ZERO:
                out[i] = 0
            elif sat:
                if xi > 0:
                    out[i] = hi
                else:
                    out[i] = (lo + 1) if (omode == SAT_SYM and signed) else lo
            elif nonfinite == 1:
                out[i] = 0
            else:
                return n_ovf, n_unf, BAD_INF, i
            n_ovf += 1
            continue
        y = xi * scale
        ay = abs(y)
        if fast_ok and ay < _TWO62 and (ay >= _TINY or xi == 0.0):
            fl = np.floor(y)
            fr = y - fl  # rounded for -0.5 < y < 0: only the stochastic draw uses it
            q = np.int64(fl)
            # compare y with fl + 1/2 (exact) rather than fr with 1/2: fr = y - fl rounds
            # when -1/2 < y < 0 (regression: -0.49999999999999994 was taken for a tie)
            # (an integral y has no fraction: past 2**52, fl + 1/2 itself rounds)
            h = fl + 0.5
            nz = y != fl
            cmp = (1 if y > h else (-1 if y < h else 0)) if nz else -1
            inc = _increment(rmode, q, cmp, nz, us, fr)
            n = q + inc
            nf = fl + inc
            ovf = -1 if nf < lo_f else (1 if nf >= hi_f else 0)
            sbit = (q >> wbit) & 1
        else:
            m, e = math.frexp(xi)
            mi = np.int64(m * 9007199254740992.0)  # m * 2**53, exact
            s = np.int64(e) - 53 + F
            if s >= 0:
                n, ovf = _classify_shifted(mi, s, W, signed)
                sbit = _bit_of_shifted(mi, s, W)
            else:
                q, cmp, nz, frac = _shr_round(mi, -s)
                inc = _increment(rmode, q, cmp, nz, us, frac)
                n = q + inc
                ovf = _classify(n, W, signed, lo, hi)
                sbit = (q >> wbit) & 1
        r, o = _finish(n, ovf, sbit, omode, W, signed, lo, hi, mask, signbit)
        out[i] = r
        n_ovf += o
        if o == 0 and r == 0 and xi != 0.0:
            n_unf += 1
    return n_ovf, n_unf, OK, -1


@nb.njit(inline="always", cache=True)
def requant_one(v, d, W, signed, rmode, omode, uword, lo, hi, mask, signbit, wbit):
    """Requantize one exact int64 ``v`` by ``d = Fsrc - Fdst`` into W bits (bounds from
    :func:`int_bounds`, ``wbit = min(W, 63)``); ``uword`` is a random word for stochastic
    rounding. Returns ``(stored pattern, overflowed)``."""
    if d > 0:
        q, cmp, nz, frac = _shr_round(v, d)
        us = 0.0
        if rmode == STOCHASTIC:
            if d <= 62:
                rem = v & ((np.int64(1) << d) - 1)
                ud = np.int64(uword >> np.uint64(64 - d))
                us = 0.0 if ud < rem else 1.0
                frac = 0.5
            else:
                us = (uword >> np.uint64(11)) * _TWO_M53
        inc = _increment(rmode, q, cmp, nz, us, frac)
        n = q + inc
        ovf = _classify(n, W, signed, lo, hi)
        sbit = (q >> wbit) & 1
    elif d == 0:
        n = v
        ovf = _classify(n, W, signed, lo, hi)
        sbit = (n >> wbit) & 1
    else:
        n, ovf = _classify_shifted(v, -d, W, signed)
        sbit = _bit_of_shifted(v, -d, W)
    return _finish(n, ovf, sbit, omode, W, signed, lo, hi, mask, signbit)


@nb.njit(cache=True)
def requantize_i64(v, d, W, signed, rmode, omode, u, out):
    """Requantize int64 stored integers: value ``v * 2**-Fsrc`` into ``W`` bits at ``Fdst``.

    ``d = Fsrc - Fdst``: a right shift with rounding when positive, a left shift when negative.
    ``u`` holds random words for stochastic rounding (else empty). Returns
    ``(n_overflow, n_underflow)``.
    """
    lo, hi, mask, signbit = int_bounds(W, signed)
    wbit = W if W < 63 else 63
    stoch = rmode == STOCHASTIC
    n_ovf = 0
    n_unf = 0
    for i in range(v.shape[0]):
        vi = v[i]
        uword = u[i] if stoch else np.uint64(0)
        r, o = requant_one(vi, d, W, signed, rmode, omode, uword, lo, hi, mask, signbit, wbit)
        out[i] = r
        n_ovf += o
        if o == 0 and r == 0 and vi != 0:
            n_unf += 1
    return n_ovf, n_unf


@nb.njit(inline="always", cache=True)
def _mag_to_float(mag, F):
    """``mag * 2**-F`` correctly rounded (ties to even), for a uint64 magnitude ``mag > 0``.

    ``float(mag)`` rounds to 53 bits; scaling by a power of two is then exact unless the result
    is subnormal, which needs ``F > 1075`` when ``mag > 2**53``. There the magnitude is rounded
    once, in integers, at the LSB the result can hold (never twice).
    """
    if mag <= np.uint64(9007199254740992) or F <= 1075:
        return math.ldexp(float(mag), -F)
    n = 0
    t = mag
    while t != np.uint64(0):
        t = t >> np.uint64(1)
        n += 1
    k = n - 53  # LSB of a normal result, in units of mag's LSB
    if F - 1074 > k:
        k = F - 1074  # LSB of a subnormal result
    if k > 64:
        return 0.0
    if k == 64:  # mag < 2**64: rounds to 2**64 only when above one half of it
        return math.ldexp(1.0, 64 - F) if mag > np.uint64(9223372036854775808) else 0.0
    uk = np.uint64(k)
    q = mag >> uk
    r = mag & ((np.uint64(1) << uk) - np.uint64(1))
    h = np.uint64(1) << (uk - np.uint64(1))
    if r > h or (r == h and (q & np.uint64(1)) == np.uint64(1)):
        q += np.uint64(1)
    return math.ldexp(float(q), k - F)


@nb.njit(cache=True)
def to_float(v, F, out):
    """Stored int64 integers to float64 real-world values ``v * 2**-F``, correctly rounded."""
    scale = math.ldexp(1.0, -F) if -1000 <= F <= 1000 else 0.0
    for i in range(v.shape[0]):
        vi = v[i]
        if scale != 0.0 and -9007199254740992 <= vi <= 9007199254740992:
            out[i] = vi * scale  # vi is exact in a float: one rounding
        elif vi == 0:
            out[i] = 0.0
        elif vi > 0:
            out[i] = _mag_to_float(np.uint64(vi), F)
        else:
            out[i] = -_mag_to_float(np.uint64(-(vi + 1)) + np.uint64(1), F)


@nb.njit(cache=True)
def to_float_u64(v, F, out):
    """Stored uint64 integers (unsigned 64-bit words) to float64 ``v * 2**-F``, correctly
    rounded."""
    for i in range(v.shape[0]):
        vi = v[i]
        out[i] = 0.0 if vi == np.uint64(0) else _mag_to_float(vi, F)
