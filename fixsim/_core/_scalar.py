"""Quantization of one exact dyadic value in pure Python ints.

Used for single elements, where calling a compiled kernel costs more than the arithmetic
(and, in a new process, loading the kernel costs far more). The rules are those of the
kernels in ``fixsim._kernels._quantize``; both are checked against the same references.
"""

from __future__ import annotations

from ._modes import Overflow, Rounding

__all__ = ["quantize_dyadic"]


def _round_up(rounding: Rounding, q: int, r: int, h: int, frac_word: int | None, d: int) -> int:
    """1 to round ``q = floor(y)`` up, given remainder ``r`` and half ``h`` (``r < 2*h``)."""
    if r == 0 or rounding == Rounding.FLOOR:
        return 0
    if rounding == Rounding.CEIL:
        return 1
    if rounding == Rounding.ZERO:
        return 1 if q < 0 else 0
    if rounding == Rounding.STOCHASTIC:
        # up with probability r / 2**d: a uniform 64-bit word against the remainder
        if d <= 64:
            return 1 if (frac_word >> (64 - d)) < r else 0
        return 1 if frac_word < (r >> (d - 64)) else 0
    if r != h:
        return 1 if r > h else 0
    if rounding == Rounding.NEAREST:
        return 1
    if rounding == Rounding.ROUND:
        return 0 if q < 0 else 1
    if rounding == Rounding.HALF_DOWN:
        return 0
    if rounding == Rounding.HALF_ZERO:
        return 1 if q < 0 else 0
    if rounding == Rounding.CONVERGENT:
        return q & 1
    return 1 - (q & 1)  # CONVERGENT_ODD


def quantize_dyadic(num: int, shift: int, W: int, F: int, signed: bool, rounding: Rounding,
                    overflow: Overflow, frac_word: int | None = None) -> tuple[int, int, int]:
    """Quantize the exact value ``num * 2**-shift`` into a W-bit type at fraction length F.

    Returns ``(stored integer, overflowed (0/1), underflowed (0/1))``. ``frac_word`` is a
    uniform 64-bit random word, needed only for stochastic rounding.
    """
    d = shift - F
    if d > 0:
        q = num >> d
        r = num & ((1 << d) - 1)
        n = q + _round_up(rounding, q, r, 1 << (d - 1), frac_word, d)
    else:
        q = n = num << -d
    lo = -(1 << (W - 1)) if signed else 0
    hi = (1 << (W - 1)) - 1 if signed else (1 << W) - 1
    if lo <= n <= hi:
        if overflow == Overflow.SAT_SYM and signed and n == lo:
            return lo + 1, 1, 0
        return n, 0, int(n == 0 and num != 0)
    if overflow == Overflow.SATURATE:
        return (hi if n > hi else lo), 1, 0
    if overflow == Overflow.SAT_SYM:
        return (hi if n > hi else (lo + 1 if signed else lo)), 1, 0
    if overflow == Overflow.SAT_ZERO:
        return 0, 1, 0
    mask = (1 << W) - 1
    res = n & mask
    if overflow == Overflow.WRAP_SM:
        sbit = (q >> W) & 1
        if sbit != (res >> (W - 1)) & 1:
            res = ~res & mask
        res = (res & (mask >> 1)) | (sbit << (W - 1))
    if signed and res >> (W - 1):
        res -= 1 << W
    return res, 1, 0
