"""Mode-specialised quantization kernels (the fast path).

One compiled loop per (rounding, overflow) pair, built by a factory whose mode constants are
closure variables, so numba compiles each loop with its mode branches folded away and LLVM
can vectorise it (a loop that tests the mode at run time does not vectorise). Each loop
handles the common case exactly and branch-free and *counts* the elements it cannot decide
exactly (non-finite floats, ``|x * 2**F| >= 2**62``, values that underflow in the scaling);
the caller re-runs those through the general kernels of :mod:`._quantize`.

Exactness of the float loop: ``y = x * 2**F`` is exact when it is finite and not below the
normal range (``F`` is limited to +-960, and tiny results are sent to the general path).
``floor(y)`` is exact, and the rounding decision compares ``y`` with ``floor(y) + 0.5``
(exact for ``|y| < 2**52``; for larger ``|y|`` the value is an integer and ``y == floor(y)``
short-circuits every comparison), so no subtraction is rounded.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._quantize import (
    CEIL,
    CONVERGENT,
    FLOOR,
    HALF_DOWN,
    HALF_ZERO,
    NEAREST,
    ROUND,
    SAT_SYM,
    SAT_ZERO,
    SATURATE,
    WRAP,
    WRAP_SM,
    ZERO,
)

_BIG = 4611686018427387904.0  # 2**62
_TINY = 2.0 ** -1022  # smallest normal double


@nb.njit(inline="always", cache=True)
def _up_float(rmode, y, fl):
    """Whether to round ``y`` (exact) up from ``fl = floor(y)``."""
    nz = y != fl
    h = fl + 0.5
    gt = nz & (y > h)
    tie = nz & (y == h)
    if rmode == FLOOR:
        return False
    if rmode == CEIL:
        return nz
    if rmode == ZERO:
        return nz & (fl < 0.0)
    if rmode == NEAREST:
        return gt | tie
    if rmode == ROUND:
        return gt | (tie & (fl >= 0.0))
    if rmode == CONVERGENT:
        return gt | (tie & ((fl * 0.5) != np.floor(fl * 0.5)))
    if rmode == HALF_DOWN:
        return gt
    if rmode == HALF_ZERO:
        return gt | (tie & (fl < 0.0))
    return gt | (tie & ((fl * 0.5) == np.floor(fl * 0.5)))  # CONVERGENT_ODD


@nb.njit(inline="always", cache=True)
def _up_int(rmode, q, r, h):
    """Whether to round up from ``q = floor(v / 2**d)`` given remainder ``r`` and half ``h``."""
    nz = r != 0
    gt = r > h
    tie = r == h
    if rmode == FLOOR:
        return False
    if rmode == CEIL:
        return nz
    if rmode == ZERO:
        return nz & (q < 0)
    if rmode == NEAREST:
        return gt | tie
    if rmode == ROUND:
        return gt | (tie & (q >= 0))
    if rmode == CONVERGENT:
        return gt | (tie & ((q & 1) == 1))
    if rmode == HALF_DOWN:
        return gt
    if rmode == HALF_ZERO:
        return gt | (tie & (q < 0))
    return gt | (tie & ((q & 1) == 0))  # CONVERGENT_ODD


@nb.njit(inline="always", cache=True)
def _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb):
    """Stored pattern of the exact integer ``n`` (valid mod 2**64) under the overflow mode.

    ``above``/``below`` say whether ``n`` lies above or below the target range.
    """
    ovf = above | below
    if omode == SATURATE:
        return hi if above else (lo if below else n)
    if omode == SAT_SYM:
        lo1 = lo + 1 if signed else lo
        return hi if above else (lo1 if (below | (n == lo)) else n)
    if omode == SAT_ZERO:
        return 0 if ovf else n
    r = n & mask
    if omode == WRAP:  # the wrapped pattern equals n whenever n is in range: no selection
        if signed and W < 64:
            r = (r ^ sb) - sb
        return r
    if omode == WRAP_SM:
        top = (r >> (W - 1)) & 1
        flip = ovf & (sbit != top)
        r = ((~r) & mask) if flip else r
        r = ((r & ~sb) | (sbit << (W - 1))) & mask if ovf else r
    if signed and W < 64:
        r = (r ^ sb) - sb
    return r if ovf else n


def _make_float_kernel(rmode: int, omode: int, count: bool, tiny_check: bool, direct: bool,
                       big_saturates: bool = False):
    """``tiny_check`` must be set when ``F < 0``: only then can ``x * 2**F`` underflow and
    lose the sign or nonzero-ness of a tiny value (scaling up by ``2**F``, ``F >= 0``, is exact
    whenever it is finite).

    Saturating modes clamp in float before the one float-to-int conversion, so huge values and
    +-inf need no special path (they saturate, or become 0 under ``sat_zero``); only NaN is
    flagged. Wrapping modes need the exact integer, so ``|y| >= 2**62`` is flagged too.

    ``direct`` (saturate and sat_sym into at most 53 magnitude bits, where every bound is a
    double): the clamped value converts straight to the stored integer, with no second
    selection on integers.

    ``big_saturates`` (saturating targets of at most 51 magnitude bits): every ``|y| >= 2**52``
    lies outside the range on either side, so ``nearest`` may decide ``y >= floor(y) + 1/2``
    without the nonzero-fraction test (``floor(y) + 1/2`` is exact below ``2**52``; above,
    it may round and the decision be off by one, but the value saturates and is counted as an
    overflow either way). Used up to 51 magnitude bits, one bit short of where ``-2**52``
    becomes representable (a margin; the edge tests in tests/_core/test_quantize.py pass at
    52 too).
    """
    # How the integer is found (wrap_sm needs floor(y) itself and keeps the general decision):
    # 1-4: one instruction each (floor, ceil, trunc, and rint, which rounds ties to even in
    # the default rounding mode); all exact for every double.
    # 5 (nearest, ties toward +inf): fl = floor(y), up when y - fl >= 1/2. The difference is
    # exact for y >= 0 (the fraction of y) and for y <= -1 (Sterbenz: |y| <= |fl| <= 2|y|);
    # for -1 < y < 0 it is 1 + y, which may round, but only within [1/2, 1] when
    # y >= -1/2 (the answer is up either way), and it is exact below -1/2 (1 + y is then a
    # multiple of 2**-53 below 1/2); for |y| >= 2**52, y is an integer and the difference 0.
    # With big_saturates the shorter y >= fl + 1/2 is used (see above).
    # 6 (round, ties away from zero): the same on the magnitude a = |y|, exact for a >= 0.
    # 0: the general decision (_up_float).
    decide = 0
    if omode != WRAP_SM:
        decide = {FLOOR: 1, CEIL: 2, ZERO: 3, CONVERGENT: 4, NEAREST: 5, ROUND: 6}.get(rmode, 0)
    nearest_short = big_saturates and rmode == NEAREST
    satlike = omode == SATURATE or omode == SAT_SYM or omode == SAT_ZERO

    @nb.njit(cache=True)
    def kernel(x, scale, W, signed, lo, hi, lo_f, hi_f, mask, sb, out):
        any_bad = False  # an OR-reduction vectorises better than a count
        n_ovf = 0
        n_unf = 0
        wbit = W if W < 63 else 63
        lo_c = lo_f + 1.0 if (omode == SAT_SYM and signed) else lo_f
        for i in range(x.shape[0]):
            xi = x[i]
            y = xi * scale
            if satlike:
                safe = y == y
            else:
                safe = abs(y) < _BIG
            if tiny_check:
                safe = safe & ((abs(y) >= _TINY) | (xi == 0.0))
            ys = y if safe else 0.0
            fl = ys  # only wrap_sm (decide == 0) reads floor(y) below
            if decide == 1:
                nf = np.floor(ys)
            elif decide == 2:
                nf = np.ceil(ys)
            elif decide == 3:
                nf = np.trunc(ys)
            elif decide == 4:
                nf = np.rint(ys)
            elif decide == 5:
                f5 = np.floor(ys)
                if nearest_short:
                    nf = f5 + (1.0 if ys >= f5 + 0.5 else 0.0)
                else:
                    nf = f5 + (1.0 if ys - f5 >= 0.5 else 0.0)
            elif decide == 6:
                a = abs(ys)
                fa = np.floor(a)
                na = fa + (1.0 if a - fa >= 0.5 else 0.0)
                nf = -na if ys < 0.0 else na
            else:
                fl = np.floor(ys)
                nf = fl + (1.0 if _up_float(rmode, ys, fl) else 0.0)
            below = nf < lo_f
            above = nf > hi_f
            if direct:
                c = min(max(nf, lo_c), hi_f)
                n = np.int64(c)
                r = n
            else:
                if satlike:
                    n = np.int64(lo_f if below else (hi_f if above else nf))
                else:
                    n = np.int64(nf)
                if omode == WRAP_SM:
                    sbit = (np.int64(fl) >> wbit) & 1
                else:
                    sbit = np.int64(0)
                r = _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb)
            out[i] = r
            any_bad |= not safe
            if count:
                if direct:
                    # float compares only (half the cost of the general form below): the
                    # clamp changed the value exactly when it overflowed (sat_sym's most
                    # negative value included, lo_c > lo_f), and since lo_c <= 0 <= hi_f an
                    # underflow is a nonzero input whose rounded value is 0. NaN (unsafe) has
                    # nf = c = 0 and abs(NaN) > 0 false; the tiny values that are redone by the
                    # general kernel (tiny_check) must not be counted here as well.
                    n_ovf += np.int64(c != nf)
                    if tiny_check:
                        n_unf += np.int64((nf == 0.0) & (abs(xi) > 0.0) & safe)
                    else:
                        n_unf += np.int64((nf == 0.0) & (abs(xi) > 0.0))
                else:
                    ovf = above | below | ((omode == SAT_SYM) & signed & (nf == lo_f))
                    n_ovf += np.int64(safe & ovf)
                    n_unf += np.int64(safe & (not ovf) & (r == 0) & (xi != 0.0))
        return np.int64(any_bad), n_ovf, n_unf

    return kernel


def _make_shift_kernel(rmode: int, omode: int, count: bool):
    @nb.njit(cache=True)
    def kernel(v, d, W, signed, lo, hi, mask, sb, out):
        """Right shift by ``1 <= d <= 62`` with rounding, then the overflow mode."""
        n_ovf = 0
        n_unf = 0
        m = (np.int64(1) << d) - 1
        h = np.int64(1) << (d - 1)
        wbit = W if W < 63 else 63
        for i in range(v.shape[0]):
            vi = v[i]
            q = vi >> d
            r = vi & m
            n = q + (1 if _up_int(rmode, q, r, h) else 0)
            below = n < lo
            above = n > hi
            sbit = (q >> wbit) & 1
            res = _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb)
            out[i] = res
            if count:
                # every mode leaves an in-range value alone (but sat_sym's most negative one)
                # and changes every other one, so the result differs from the rounded value
                # exactly when it overflowed; an in-range 0 is an underflow when the input was
                # not 0 (cheaper than testing the bounds again)
                n_ovf += np.int64(res != n)
                n_unf += np.int64((n == 0) & (vi != 0))
        return n_ovf, n_unf

    return kernel


def _make_lshift_kernel(omode: int, count: bool):
    @nb.njit(cache=True)
    def kernel(v, k, W, signed, lo, hi, mask, sb, out):
        """Left shift by ``0 <= k <= 62`` (exact, no rounding), then the overflow mode."""
        n_ovf = 0
        for i in range(v.shape[0]):
            vi = v[i]
            n = vi << k
            lost = (n >> k) != vi
            below = (lost & (vi < 0)) | ((not lost) & (n < lo))
            above = (lost & (vi > 0)) | ((not lost) & (n > hi))
            ovf = above | below
            sh = W - k
            sbit = ((vi >> (sh if sh < 63 else 63)) & 1) if sh >= 0 else np.int64(0)
            res = _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb)
            out[i] = res
            if count:
                n_ovf += np.int64(ovf | ((omode == SAT_SYM) & signed & (n == lo)))
        return n_ovf, 0

    return kernel


#: the combining operations of :func:`combine_kernel`
MUL, ADD, SUB = 0, 1, 2


@nb.njit(inline="always", cache=True)
def _combine(op, ai, bi, ka, kb):
    """``ai * bi``, or ``ai * 2**ka + bi * 2**kb``, or ``ai * 2**ka - bi * 2**kb``."""
    if op == MUL:
        return ai * bi
    if op == ADD:
        return (ai << ka) + (bi << kb)
    return (ai << ka) - (bi << kb)


def _make_combine_kernel(rmode: int, omode: int, count: bool, op: int):
    @nb.njit(cache=True)
    def kernel(a, b, ka, kb, d, W, signed, lo, hi, mask, sb, out):
        """``a * b`` (*op* ``MUL``; *ka*, *kb* unused) or ``a * 2**ka +- b * 2**kb`` (``ADD``,
        ``SUB``), int64 and exact (the caller checks the widths), then a right shift by
        ``1 <= d <= 62`` with rounding or a left shift by ``0 <= -d <= 62``, then the overflow
        mode: one pass, the same results as building the combined values and casting them
        with the shift kernels. A one-element *b* goes with every element of *a* (a gain)."""
        n_ovf = 0
        n_unf = 0
        wbit = W if W < 63 else 63
        bs = 1 if b.shape[0] == a.shape[0] else 0  # 0: the one b[0] for every element
        if d > 0:
            m = (np.int64(1) << d) - 1
            h = np.int64(1) << (d - 1)
            for i in range(a.shape[0]):
                vi = _combine(op, a[i], b[i * bs], ka, kb)
                q = vi >> d
                r = vi & m
                n = q + (1 if _up_int(rmode, q, r, h) else 0)
                below = n < lo
                above = n > hi
                sbit = (q >> wbit) & 1
                res = _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb)
                out[i] = res
                if count:  # as in the shift kernel
                    n_ovf += np.int64(res != n)
                    n_unf += np.int64((n == 0) & (vi != 0))
        else:
            k = -d
            sh = W - k
            for i in range(a.shape[0]):
                vi = _combine(op, a[i], b[i * bs], ka, kb)
                n = vi << k
                lost = (n >> k) != vi
                below = (lost & (vi < 0)) | ((not lost) & (n < lo))
                above = (lost & (vi > 0)) | ((not lost) & (n > hi))
                ovf = above | below
                sbit = ((vi >> (sh if sh < 63 else 63)) & 1) if sh >= 0 else np.int64(0)
                res = _overflow(omode, n, above, below, sbit, W, signed, lo, hi, mask, sb)
                out[i] = res
                if count:
                    n_ovf += np.int64(ovf | ((omode == SAT_SYM) & signed & (n == lo)))
        return n_ovf, n_unf

    return kernel


_FLOAT: dict = {}
_SHIFT: dict = {}
_LSHIFT: dict = {}
_COMBINE: dict = {}


def float_kernel(rmode: int, omode: int, count: bool = True, negative_f: bool = False,
                 magnitude_bits: int = 64):
    """The compiled float -> int64 loop for a (rounding, overflow) pair (not stochastic).

    It returns ``(any_flagged, n_overflow, n_underflow)``; :func:`flagged` finds the flagged
    elements.

    With ``count=False`` the overflow/underflow counts are skipped (returned as 0), which
    is measurably faster; use it when nobody listens for the counts. ``negative_f`` must be
    True when the target fraction length is negative; ``magnitude_bits`` is ``W - signed``
    (saturating targets of at most 53 get the direct clamp-and-convert loop).
    """
    direct = magnitude_bits <= 53 and omode in (SATURATE, SAT_SYM)
    big = direct and magnitude_bits <= 51 and rmode == NEAREST
    key = (rmode, omode, count, negative_f, direct, big)
    k = _FLOAT.get(key)
    if k is None:
        k = _FLOAT[key] = _make_float_kernel(rmode, omode, count, negative_f, direct, big)
    return k


def flagged(x: np.ndarray, F: int, omode: int) -> np.ndarray:
    """Indices of the elements a float kernel flags (to redo with the general kernel)."""
    with np.errstate(all="ignore"):
        y = x * 2.0 ** F
    ay = np.abs(y)
    if omode in (SATURATE, SAT_SYM, SAT_ZERO):
        bad = np.isnan(y)
    else:
        bad = ~(ay < _BIG)
    if F < 0:
        bad |= (ay < _TINY) & (x != 0.0)
    return np.flatnonzero(bad)


def shift_kernel(rmode: int, omode: int, count: bool = True):
    """The compiled int64 right-shift-and-round loop for a (rounding, overflow) pair."""
    key = (rmode, omode, count)
    k = _SHIFT.get(key)
    if k is None:
        k = _SHIFT[key] = _make_shift_kernel(rmode, omode, count)
    return k


def lshift_kernel(omode: int, count: bool = True):
    """The compiled int64 left-shift loop for an overflow mode."""
    key = (omode, count)
    k = _LSHIFT.get(key)
    if k is None:
        k = _LSHIFT[key] = _make_lshift_kernel(omode, count)
    return k


def combine_kernel(rmode: int, omode: int, count: bool = True, op: int = MUL):
    """The compiled fused combine-and-requantize loop for a (rounding, overflow) pair: the
    int64 products (*op* ``MUL``) or shifted sums or differences (``ADD``, ``SUB``) of two
    int64 arrays of one length (or the second of one element), shifted by ``d`` (right with
    rounding when ``d > 0``, left when ``d <= 0``), then the overflow mode. Returns
    ``(n_overflow, n_underflow)`` (zeros with ``count=False``)."""
    key = (rmode, omode, count, op)
    k = _COMBINE.get(key)
    if k is None:
        k = _COMBINE[key] = _make_combine_kernel(rmode, omode, count, op)
    return k


def bounds(W: int, signed: bool):
    """``(lo, hi, lo_f, hi_f, mask, sb)`` for a W-bit target (W <= 64; an unsigned 64-bit
    target is not handled here).

    ``hi_f`` is the largest double below ``2**(W - signed)``: for an integer-valued double
    ``nf``, ``nf > hi_f`` exactly when ``nf`` exceeds the largest stored integer, even where
    that integer is not a double.
    """
    if signed:
        lo, hi = -(1 << (W - 1)), (1 << (W - 1)) - 1
    else:
        lo, hi = 0, (1 << W) - 1
    mask = -1 if W >= 64 else (1 << W) - 1
    sb = -(1 << 63) if W >= 64 else 1 << (W - 1)
    hi_f = float(np.nextafter(math.ldexp(1.0, W - 1 if signed else W), 0.0))
    return lo, hi, float(lo), hi_f, mask, sb
