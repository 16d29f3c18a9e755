"""Kernels for words of 65 to 128 bits held as two 64-bit limbs.

A stored integer ``v`` of such a word is kept as ``hi * 2**64 + lo`` with ``hi`` an int64 and
``lo`` a uint64: the 128-bit two's complement pattern of ``v``. For every such type except
unsigned 128-bit words the value lies in ``[-2**127, 2**127)`` and ``hi`` is read as signed;
for unsigned 128-bit words ``hi`` is read as unsigned (the caller knows the type).

Everything is exact integer arithmetic on the limbs: a float64 is split into its 53-bit
integer mantissa and a power of two (read from its bits), so scaling by ``2**F`` is either an
exact left shift or a right shift of a value below ``2**53`` whose remainder is compared with
one half exactly. The rounding and overflow semantics are those of
:mod:`fixsim._kernels._quantize` (whose helpers are reused), and so are the overflow and
underflow counts.

numba note: an operation mixing uint64 and int64 gives a float64, so every mixed expression
below converts explicitly.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._fastq import _up_float
from ._quantize import (
    SAT_SYM,
    SAT_ZERO,
    SATURATE,
    WRAP_SM,
    _classify,
    _finish,
    _increment,
    _shr_round,
    int_bounds,
)

_MASK52 = np.int64((1 << 52) - 1)
_IMPLICIT = np.int64(1 << 52)
_I64_MIN = np.int64(-(1 << 63))
_I64_MAX = np.int64((1 << 63) - 1)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_UMAX = np.uint64(0xFFFFFFFFFFFFFFFF)
_UTOP = np.uint64(1 << 63)


@nb.njit(inline="always", cache=True)
def _shl(v, s):
    """``v * 2**s`` modulo ``2**128`` as limbs, for an int64 ``v`` and ``0 <= s < 128``."""
    if s == 0:
        return v >> 63, np.uint64(v)
    if s < 64:
        return v >> (64 - s), np.uint64(v) << np.uint64(s)
    return v << (s - 64), _U0


@nb.njit(inline="always", cache=True)
def _fit(h, W, signed):
    """The high limb of a pattern reduced modulo ``2**W`` (65 <= W <= 128): sign-extended from
    bit ``W - 1`` for a signed word, zero-extended for an unsigned one."""
    if W >= 128:
        return h
    k = W - 64
    if signed:
        return (h << (64 - k)) >> (64 - k)
    return h & ((np.int64(1) << k) - 1)


@nb.njit(inline="always", cache=True)
def _bitlen64(u):
    """Number of significant bits of a uint64 (0 for 0)."""
    n = 0
    if u >= np.uint64(1 << 32):
        u = u >> np.uint64(32)
        n += 32
    if u >= np.uint64(1 << 16):
        u = u >> np.uint64(16)
        n += 16
    if u >= np.uint64(1 << 8):
        u = u >> np.uint64(8)
        n += 8
    if u >= np.uint64(1 << 4):
        u = u >> np.uint64(4)
        n += 4
    if u >= np.uint64(1 << 2):
        u = u >> np.uint64(2)
        n += 2
    if u >= np.uint64(2):
        u = u >> _U1
        n += 1
    if u != _U0:
        n += 1
    return n


@nb.njit(inline="always", cache=True)
def _bitlen128(h, lo):
    """Number of significant bits of the non-negative 128-bit value ``(h, lo)``."""
    if h != 0:
        return 64 + _bitlen64(np.uint64(h))
    return _bitlen64(lo)


@nb.njit(inline="always", cache=True)
def _limb_bounds(W, signed):
    """``(max_h, max_l, min_h, min_l)``: the largest and smallest stored integer as limbs."""
    k = W - 64
    if signed:
        if W == 128:
            return _I64_MAX, _UMAX, _I64_MIN, _U0
        return (np.int64(1) << (k - 1)) - 1, _UMAX, -(np.int64(1) << (k - 1)), _U0
    if W == 128:
        return np.int64(-1), _UMAX, np.int64(0), _U0
    return (np.int64(1) << k) - 1, _UMAX, np.int64(0), _U0


@nb.njit(cache=True)
def quantize_f64_limbs(bits, F, W, signed, rmode, omode, out_hi, out_lo):
    """Quantize float64 values into a W-bit word (65 <= W <= 128) at fraction length ``F``.

    Parameters
    ----------
    bits : int64[:]
        The float64 inputs viewed as int64 (their IEEE bits).
    F, W : int
        Fraction and word length of the target.
    signed : bool
    rmode, omode : int
        Rounding and overflow codes (not stochastic rounding; not ``wrap_sm`` on an unsigned
        target).
    out_hi : int64[:]
    out_lo : uint64[:]
        The results, as limbs of the 128-bit pattern.

    Returns
    -------
    (n_overflow, n_underflow, bad_index)
        ``bad_index`` is -1, or the index of the first NaN or infinity: the kernel stops there
        and the caller takes the general path.
    """
    max_h, max_l, min_h, min_l = _limb_bounds(W, signed)
    sym = omode == SAT_SYM and signed
    wrap = not (omode == SATURATE or omode == SAT_SYM or omode == SAT_ZERO)
    k = W - 64
    kmask = np.int64(-1) if k == 64 else (np.int64(1) << k) - 1
    ktop = np.int64(1) << (k - 1)
    n_ovf = 0
    n_unf = 0
    for i in range(bits.shape[0]):
        b = bits[i]
        ex = (b >> 52) & 0x7FF
        if ex == 0x7FF:
            return n_ovf, n_unf, i
        mi = b & _MASK52
        if ex == 0:
            s = F - 1074
        else:
            mi = mi | _IMPLICIT
            s = ex - 1075 + F
        if b < 0:
            mi = -mi
        if mi == 0:
            out_hi[i] = 0
            out_lo[i] = _U0
            continue
        ovf = 0
        sbit = np.int64(0)
        h = np.int64(0)
        lo = _U0
        if s >= 0:  # an exact left shift
            lim = W - 1 - s if signed else W - s
            if mi > 0:
                inr = lim >= 62 or (lim > 0 and mi < (np.int64(1) << lim))
            elif signed:
                inr = lim >= 62 or (lim >= 0 and mi >= -(np.int64(1) << lim))
            else:
                inr = False
            if inr:
                h, lo = _shl(mi, s)
            else:
                ovf = 1 if mi > 0 else -1
                if wrap:
                    if s < 128:
                        h, lo = _shl(mi, s)
                    j = W - s  # bit W of mi * 2**s is bit j of mi
                    if j >= 0:
                        sbit = (mi >> (j if j < 63 else 63)) & 1
        else:  # a right shift with rounding of |mi| < 2**53
            q, cmp, nz, frac = _shr_round(mi, -s)
            n = q + _increment(rmode, q, cmp, nz, 0.0, frac)
            h = n >> 63
            lo = np.uint64(n)
            if n < 0 and not signed:
                ovf = -1
        o = 1
        if ovf == 0:
            if sym and h == min_h and lo == _U0:  # the most negative value becomes min + 1
                lo = _U1
            else:
                o = 0
        elif omode == SATURATE or omode == SAT_SYM:
            if ovf > 0:
                h = max_h
                lo = max_l
            else:
                h = min_h
                lo = _U1 if sym else min_l
        elif omode == SAT_ZERO:
            h = np.int64(0)
            lo = _U0
        else:
            if omode == WRAP_SM:
                hu = h & kmask
                top = (hu >> (k - 1)) & 1
                if sbit != top:
                    hu = (~hu) & kmask
                    lo = ~lo
                h = (hu & ~ktop) | (sbit << (k - 1))
            h = _fit(h, W, signed)
        out_hi[i] = h
        out_lo[i] = lo
        n_ovf += o
        if o == 0 and h == 0 and lo == _U0:
            n_unf += 1
    return n_ovf, n_unf, -1


@nb.njit(inline="always", cache=True)
def _shr128(h, lo, d):
    """Floor of the 128-bit ``(h, lo)`` over ``2**d`` (d >= 1) and its remainder against one half.

    Returns ``(qh, ql, cmp, nz)``.
    """
    if d < 64:
        ud = np.uint64(d)
        ql = (lo >> ud) | (np.uint64(h) << np.uint64(64 - d))
        qh = h >> d
        r = lo & ((_U1 << ud) - _U1)
        half = _U1 << (ud - _U1)
        cmp = 1 if r > half else (-1 if r < half else 0)
        return qh, ql, cmp, r != _U0
    if d == 64:
        cmp = 1 if lo > _UTOP else (-1 if lo < _UTOP else 0)
        return h >> 63, np.uint64(h), cmp, lo != _U0
    if d < 128:
        e = d - 64
        ue = np.uint64(e)
        rh = np.uint64(h) & ((_U1 << ue) - _U1)
        half = _U1 << (ue - _U1)
        if rh > half:
            cmp = 1
        elif rh < half:
            cmp = -1
        else:
            cmp = 1 if lo != _U0 else 0
        return h >> 63, np.uint64(h >> e), cmp, (rh != _U0 or lo != _U0)
    # d >= 128: the quotient is 0 or -1
    qh = h >> 63
    if h >= 0:
        return qh, np.uint64(qh), -1, (h != 0 or lo != _U0)
    if d == 128:
        cmp = 0 if (h == _I64_MIN and lo == _U0) else 1
    else:
        cmp = 1
    return qh, np.uint64(qh), cmp, True


@nb.njit(cache=True)
def requantize_limbs(hi, lo, d, W, signed, rmode, omode, out):
    """Requantize 128-bit stored integers (limbs, read as signed) by ``d = Fsrc - Fdst`` into
    a W-bit word with ``W <= 64``.

    Parameters
    ----------
    hi : int64[:]
    lo : uint64[:]
        The source stored integers ``hi * 2**64 + lo`` (not an unsigned 128-bit source).
    d : int
        Source minus target fraction length: a right shift with rounding when positive, a
        left shift when not.
    W : int
    signed : bool
    rmode, omode : int
        Rounding (not stochastic) and overflow codes.
    out : int64[:]
        Stored integers (bit patterns; the caller views an unsigned 64-bit result as uint64).

    Returns
    -------
    (n_overflow, n_underflow)
    """
    lo_b, hi_b, mask, signbit = int_bounds(W, signed)
    uhi = np.uint64(hi_b)
    n_ovf = 0
    n_unf = 0
    for i in range(hi.shape[0]):
        h = hi[i]
        lw = lo[i]
        sbit = np.int64(0)
        if d > 0:
            qh, ql, cmp, nz = _shr128(h, lw, d)
            # sign and parity of the quotient are all the rounding decision reads
            qrep = (np.int64(-2) if qh < 0 else np.int64(2)) + np.int64(ql & _U1)
            inc = _increment(rmode, qrep, cmp, nz, 0.0, 0.5)
            nl = ql + np.uint64(inc)
            nh = qh + (1 if (inc != 0 and nl == _U0) else 0)
            n = np.int64(nl)
            if signed:
                if nh == (n >> 63):
                    ovf = _classify(n, W, True, lo_b, hi_b)
                else:
                    ovf = -1 if nh < 0 else 1
            elif nh < 0:
                ovf = -1
            elif nh > 0:
                ovf = 1
            elif W == 64:
                ovf = 0
            else:
                ovf = 1 if nl > uhi else 0
            if W < 64:
                sbit = np.int64((ql >> np.uint64(W)) & _U1)
            else:
                sbit = qh & 1
        elif h == 0 and lw == _U0:
            n = np.int64(0)
            ovf = 0
        else:
            sh = -d
            neg = h < 0
            if neg:
                bl = _bitlen128(~h, ~lw)
            else:
                bl = _bitlen128(h, lw)
            if signed:
                inr = bl + sh <= W - 1
            else:
                inr = (not neg) and bl + sh <= W
            n = np.int64(lw << np.uint64(sh)) if sh < 64 else np.int64(0)
            if inr:
                ovf = 0
            else:
                ovf = -1 if neg else 1
                j = W - sh  # bit W of v * 2**sh is bit j of v
                if j < 0:
                    sbit = np.int64(0)
                elif j < 64:
                    sbit = np.int64((lw >> np.uint64(j)) & _U1)
                elif j < 128:
                    sbit = (h >> (j - 64)) & 1
                else:
                    sbit = (h >> 63) & 1
        r, o = _finish(n, ovf, sbit, omode, W, signed, lo_b, hi_b, mask, signbit)
        out[i] = r
        n_ovf += o
        if o == 0 and r == 0 and (h != 0 or lw != _U0):
            n_unf += 1
    return n_ovf, n_unf


@nb.njit(cache=True)
def limbs_to_float(hi, lo, F, unsigned128, out):
    """Stored integers ``hi * 2**64 + lo`` to float64 ``v * 2**-F``, correctly rounded (ties to
    even).

    The magnitude is cut to its top 64 bits with every dropped bit OR-ed into the last one
    (rounding to odd, which keeps far more than the 55 bits that makes the one rounding of
    the conversion to float64 correct); the scaling by powers of two after it is exact.

    Parameters
    ----------
    hi : int64[:]
    lo : uint64[:]
    F : int
        Fraction length, with ``-895 <= F <= 1022`` (every nonzero result is then a normal
        double: the magnitude is below ``2**128``).
    unsigned128 : bool
        Read ``hi`` as unsigned (an unsigned 128-bit word), else as signed.
    out : float64[:]
    """
    scale = math.ldexp(1.0, -F)
    p2 = np.empty(65, dtype=np.float64)
    for k in range(65):
        p2[k] = math.ldexp(1.0, k)
    for i in range(hi.shape[0]):
        h = hi[i]
        lw = lo[i]
        neg = (not unsigned128) and h < 0
        nl = (~lw) + _U1  # two's complement negation of the 128-bit pattern
        nh = np.uint64(~h) + (_U1 if nl == _U0 else _U0)
        ml = nl if neg else lw
        mh = nh if neg else np.uint64(h)
        k = _bitlen64(mh)
        if k == 0:
            t = ml
        else:
            uk = np.uint64(k - 1)
            sticky = _U1 if (ml & (((_U1 << uk) << _U1) - _U1)) != _U0 else _U0
            t = (mh << np.uint64(64 - k)) | ((ml >> uk) >> _U1) | sticky
        v = np.float64(t) * p2[k] * scale
        out[i] = -v if neg else v


# -- the mode-specialised float kernel (the fast path) ----------------------------------------
_TWO63 = 9223372036854775808.0
_TWO64 = 18446744073709551616.0
_TWO126 = 2.0 ** 126
_TWO_M64 = 2.0 ** -64
_TINY = 2.0 ** -1022  # smallest normal double


def _make_float_limbs_kernel(rmode: int, omode: int, count: bool, tiny_check: bool):
    """The float64 -> limbs loop for one (rounding, overflow) pair, branch-free per element.

    ``y = x * 2**F`` is exact (``|F| <= 960``, finite ``x``; ``tiny_check``, needed when
    ``F < 0``, flags a nonzero ``x`` whose ``y`` falls below the normal range) and the rounding
    decision is made on ``y`` against ``floor(y) + 1/2`` as in ``_fastq``. The rounded integer
    ``nf`` (a double) is split into limbs exactly: below ``2**63`` through one int64, else as
    ``floor(nf / 2**64)`` and ``nf - 2**64 * floor(nf / 2**64)``, which is exact because such an
    ``nf`` is a multiple of ``2**11`` (its remainder has at most 53 significant bits).

    Flagged (the caller reruns the whole array through :func:`quantize_f64_limbs`): non-finite
    ``x``, tiny ``y``, and under the wrapping modes ``|y| >= 2**126`` (and, for ``wrap_sm``,
    any overflow). Not for unsigned 128-bit targets.
    """
    satlike = omode == SATURATE or omode == SAT_SYM or omode == SAT_ZERO
    wrap_sm = omode == WRAP_SM

    @nb.njit(cache=True)
    def kernel(x, scale, W, signed, out_hi, out_lo):
        max_h, max_l, min_h, min_l = _limb_bounds(W, signed)
        sym = omode == SAT_SYM and signed
        lo_f = -math.ldexp(1.0, W - 1) if signed else 0.0
        hi_f = math.ldexp(1.0, W - 1) if signed else math.ldexp(1.0, W)  # first value above
        sym_l = _U1 if sym else min_l
        any_bad = False
        n_ovf = 0
        n_unf = 0
        for i in range(x.shape[0]):
            xi = x[i]
            y = xi * scale
            safe = (xi - xi) == 0.0
            if tiny_check:
                safe = safe & ((abs(y) >= _TINY) | (xi == 0.0))
            if not satlike:
                safe = safe & (abs(y) < _TWO126)
            ys = y if safe else 0.0
            fl = np.floor(ys)
            nf = fl + (1.0 if _up_float(rmode, ys, fl) else 0.0)
            below = nf < lo_f
            above = nf >= hi_f
            ovf = above | below
            if wrap_sm:
                safe = safe & (not ovf)
            v = 0.0 if (satlike and ovf) else nf
            small = abs(v) < _TWO63
            vs = v if small else 0.0
            vb = 0.0 if small else v
            n = np.int64(vs)
            hf = np.floor(vb * _TWO_M64)
            h = (n >> 63) if small else np.int64(hf)
            lo = np.uint64(n) if small else np.uint64(vb - hf * _TWO64)
            if omode == SATURATE or omode == SAT_SYM:
                atmin = sym & (nf == lo_f)
                low = below | atmin
                h = max_h if above else (min_h if low else h)
                lo = max_l if above else (sym_l if low else lo)
                ovf = ovf | atmin
            elif omode == SAT_ZERO:
                h = np.int64(0) if ovf else h
                lo = _U0 if ovf else lo
            else:
                h = _fit(h, W, signed)
            out_hi[i] = h
            out_lo[i] = lo
            any_bad |= not safe
            if count:
                n_ovf += np.int64(ovf)
                n_unf += np.int64((not ovf) & (nf == 0.0) & (xi != 0.0))
        return any_bad, n_ovf, n_unf

    return kernel


_FLOAT_LIMBS: dict = {}


def float_limbs_kernel(rmode: int, omode: int, count: bool, negative_f: bool):
    """The compiled fast float64 -> limbs loop for a (rounding, overflow) pair.

    Parameters
    ----------
    rmode, omode : int
        Rounding (not stochastic) and overflow codes.
    count : bool
        Count overflows and underflows (else they are returned as 0).
    negative_f : bool
        The target fraction length is negative (small values can underflow in the scaling).

    Returns
    -------
    callable
        ``kernel(x, 2.0**F, W, signed, out_hi, out_lo) -> (any_flagged, n_overflow,
        n_underflow)``; when ``any_flagged`` the results are incomplete and the caller runs
        :func:`quantize_f64_limbs` instead.
    """
    key = (rmode, omode, count, negative_f)
    k = _FLOAT_LIMBS.get(key)
    if k is None:
        k = _FLOAT_LIMBS[key] = _make_float_limbs_kernel(rmode, omode, count, negative_f)
    return k
