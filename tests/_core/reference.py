"""A slow, obviously-correct exact reference for fixsim's numeric core.

Written only with Python ints and :class:`fractions.Fraction`, from the mode semantics of
``tests/data/oracle/README.md`` and the MATLAB notes in ``shared/reference/``; it imports
nothing from fixsim, so that it can check fixsim independently.

Conventions
-----------
* A type is a tuple ``(signed, W, F)``: the value of a stored integer ``n`` is ``n * 2**-F``.
* Mode names are fixsim's canonical names (lower case, no ``AC_``/``AP_`` prefix).
* ``quantize`` takes an exact rational; :func:`exact` turns a float (the binary number it is),
  an int or a Fraction into one.
* A full-precision result (the result type is the ideal one and holds the exact value) is
  exact: nothing is quantized, so no overflow mode applies to it (``sat_sym`` does not move a
  full-precision sum that happens to equal the type's minimum).
* Overflow and underflow counts are per element: an element *overflows* when its rounded value
  lies outside the type's range (or, under ``sat_sym`` on a signed type, equals the most
  negative value, which is then moved to ``min + 1``); it *underflows* when its value is
  nonzero, it did not overflow, and its stored integer is 0.
"""

from __future__ import annotations

import math
from fractions import Fraction

ROUNDINGS = ("floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
             "half_zero", "convergent_odd")
OVERFLOWS = ("saturate", "wrap", "sat_zero", "sat_sym", "wrap_sm")

HALF = Fraction(1, 2)


# -- values -----------------------------------------------------------------------------------
def exact(x) -> Fraction:
    """The exact rational value of a finite number (Python or numpy int, float or Fraction)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, int):
        return Fraction(x)
    if hasattr(x, "dtype") and x.dtype.kind in "iub":  # numpy integer / bool scalar
        return Fraction(int(x))
    xf = float(x) if hasattr(x, "dtype") and x.dtype.itemsize <= 8 else x
    if isinstance(xf, float):
        if not math.isfinite(xf):
            raise ValueError(f"{x!r} has no exact rational value")
        return Fraction(*xf.as_integer_ratio())
    return Fraction(*x.as_integer_ratio())


def pow2(k: int) -> Fraction:
    """``2**k`` exactly, for any integer ``k``."""
    return Fraction(2) ** k


def value_of(stored: int, T) -> Fraction:
    """The real-world value of a stored integer of type ``T = (signed, W, F)``."""
    return Fraction(stored) * pow2(-T[2])


def int_bounds(signed: bool, W: int) -> tuple[int, int]:
    """Smallest and largest stored integer of a W-bit word."""
    if signed:
        return -(2 ** (W - 1)), 2 ** (W - 1) - 1
    return 0, 2 ** W - 1


def exact_stored(value: Fraction, T) -> int:
    """The stored integer of a value that ``T`` holds exactly."""
    n = value * pow2(T[2])
    assert n.denominator == 1
    return n.numerator


def in_type(value: Fraction, T) -> bool:
    """Whether ``value`` is exactly representable in ``T``."""
    n = value * pow2(T[2])
    lo, hi = int_bounds(T[0], T[1])
    return n.denominator == 1 and lo <= n.numerator <= hi


# -- rounding ---------------------------------------------------------------------------------
def floor_of(y: Fraction) -> int:
    """The largest integer not above ``y``."""
    return y.numerator // y.denominator  # Python's // is floor division


def round_to_integer(y: Fraction, rounding: str) -> int:
    """Round the exact rational ``y`` to an integer with a (deterministic) rounding mode."""
    below = floor_of(y)
    rest = y - below  # 0 <= rest < 1
    if rest == 0:
        return below
    above = below + 1
    if rounding == "floor":
        return below
    if rounding == "ceil":
        return above
    if rounding == "zero":
        return below if y > 0 else above
    if rest < HALF:
        return below
    if rest > HALF:
        return above
    # an exact tie between `below` and `above`
    if rounding == "nearest":
        return above
    if rounding == "round":
        return above if y > 0 else below
    if rounding == "half_down":
        return below
    if rounding == "half_zero":
        return below if y > 0 else above
    if rounding == "convergent":
        return below if below % 2 == 0 else above
    if rounding == "convergent_odd":
        return below if below % 2 == 1 else above
    raise ValueError(f"unknown rounding {rounding!r}")


# -- overflow ---------------------------------------------------------------------------------
def _as_signed(pattern: int, W: int) -> int:
    """Interpret a W-bit pattern (0 <= pattern < 2**W) as two's complement."""
    return pattern - 2 ** W if pattern >= 2 ** (W - 1) else pattern


def handle_overflow(n: int, floor_y: int, signed: bool, W: int,
                    overflow: str) -> tuple[int, bool]:
    """Map the rounded integer ``n`` into the W-bit range. Returns ``(stored, overflowed)``.

    ``floor_y`` is ``floor(y)`` of the *unrounded* value at the target LSB; only ``wrap_sm``
    reads it (its new sign bit is bit W of ``floor_y``).
    """
    lo, hi = int_bounds(signed, W)
    if overflow == "sat_sym" and signed:
        # clamp to [-(2**(W-1) - 1), max]; the most negative value moves even when in range
        if n <= lo:
            return lo + 1, True
        if n > hi:
            return hi, True
        return n, False
    if lo <= n <= hi:
        return n, False
    if overflow in ("saturate", "sat_sym"):
        return (hi if n > hi else lo), True
    if overflow == "sat_zero":
        return 0, True
    pattern = n % 2 ** W  # the low W bits
    if overflow == "wrap":
        return (_as_signed(pattern, W) if signed else pattern), True
    if overflow == "wrap_sm":
        if not signed:
            raise ValueError("wrap_sm is defined for signed types only")
        s = (floor_y >> W) & 1  # bit W of floor(y): the least significant deleted bit
        top = pattern >> (W - 1)
        if s != top:
            pattern = (2 ** W - 1) - pattern  # invert all W bits
        pattern = pattern % 2 ** (W - 1) + s * 2 ** (W - 1)  # then the top bit becomes s
        return _as_signed(pattern, W), True
    raise ValueError(f"unknown overflow {overflow!r}")


# -- quantization -----------------------------------------------------------------------------
def quantize_counted(value, T, rounding: str, overflow: str) -> tuple[int, int, int]:
    """``(stored, overflowed, underflowed)`` of the exact ``value`` quantized into ``T``."""
    signed, W, F = T
    v = exact(value)
    y = v * pow2(F)
    n = round_to_integer(y, rounding)
    stored, ovf = handle_overflow(n, floor_of(y), signed, W, overflow)
    unf = (not ovf) and stored == 0 and v != 0
    return stored, int(ovf), int(unf)


def quantize(value, T, rounding: str = "nearest", overflow: str = "saturate") -> int:
    """The stored integer of the exact ``value`` quantized into ``T = (signed, W, F)``."""
    return quantize_counted(value, T, rounding, overflow)[0]


def quantize_nonfinite(x: float, T, overflow: str, nonfinite: str = "raise") -> tuple[int, int]:
    """``(stored, overflowed)`` for NaN or +-inf; raises ``ValueError`` where fixsim must.

    Default policy: NaN raises; +-inf saturates under saturate/sat_sym, is 0 under sat_zero and
    raises under wrap/wrap_sm. ``nonfinite='matlab'``: NaN -> 0 (not counted), +-inf -> 0
    under the wrapping modes.
    """
    signed, W, _ = T
    lo, hi = int_bounds(signed, W)
    if math.isnan(x):
        if nonfinite == "raise":
            raise ValueError("NaN")
        return 0, 0
    if overflow == "saturate":
        return (hi if x > 0 else lo), 1
    if overflow == "sat_sym":
        return (hi if x > 0 else (lo + 1 if signed else lo)), 1
    if overflow == "sat_zero":
        return 0, 1
    if nonfinite == "raise":
        raise ValueError("inf under a wrapping overflow mode")
    return 0, 1


def requantize(stored: int, src, dst, rounding: str, overflow: str) -> int:
    """Cast a stored integer of type ``src`` into ``dst``."""
    return quantize(value_of(stored, src), dst, rounding, overflow)


# -- MATLAB best-precision scaling --------------------------------------------------------------
def integer_bits_needed(x: Fraction, signed: bool) -> int | None:
    """Integer bits (sign excluded) MATLAB's best precision reserves for ``x``, or None.

    Positive ``x``: the smallest ``I`` with ``x < 2**I``. Negative ``x`` on a signed type: the
    smallest ``I`` with ``-x <= 2**I``. Zero, and negatives on an unsigned type, reserve none.
    """
    if x > 0:
        i = 0
        while pow2(i) <= x:
            i += 1
        while pow2(i - 1) > x:
            i -= 1
        return i
    if x < 0 and signed:
        m = -x
        i = 0
        while pow2(i) < m:
            i += 1
        while pow2(i - 1) >= m:
            i -= 1
        return i
    return None


def best_fraction_length(values, signed: bool, W: int) -> int:
    """MATLAB's best-precision fraction length for ``values`` at word length ``W``."""
    bits = [integer_bits_needed(exact(v), signed) for v in values]
    bits = [b for b in bits if b is not None]
    i = max(bits) if bits else 0
    return W - (1 if signed else 0) - i


# -- result types -------------------------------------------------------------------------------
def matlab_sum_type(ta, tb):
    """MATLAB full-precision ``a + b`` / ``a - b`` type."""
    (sa, wa, fa), (sb, wb, fb) = ta, tb
    f = max(fa, fb)
    il = max(wa - fa, wb - fb)
    w = il + f + 1 + (1 if sa != sb else 0)
    return (sa or sb, w, f)


def hls_sum_type(ta, tb, subtract: bool = False):
    """ac_fixed / ap_fixed ``a + b`` (signed if either is) and ``a - b`` (always signed)."""
    (sa, wa, fa), (sb, wb, fb) = ta, tb
    ia, ib = wa - fa, wb - fb
    i = max(ia + (1 if (sb and not sa) else 0), ib + (1 if (sa and not sb) else 0)) + 1
    f = max(fa, fb)
    return (sa or sb or subtract, i + f, f)


def product_type(ta, tb):
    """Full-precision product (MATLAB and HLS agree)."""
    (sa, wa, fa), (sb, wb, fb) = ta, tb
    return (sa or sb, wa + wb, fa + fb)


def matlab_rdivide_type(ta, tb):
    """MATLAB ``rdivide``: word length the larger one, ``FL = FLa - FLb``."""
    (sa, wa, fa), (sb, wb, fb) = ta, tb
    return (sa or sb, max(wa, wb), fa - fb)


def hls_divide_type(ta, tb):
    """ac_fixed / ap_fixed quotient: ``W = Wa + max(Fb, 0) + Sb``, ``I = Ia + Fb + Sb``."""
    (sa, wa, fa), (sb, _, fb) = ta, tb
    s = 1 if sb else 0
    w = wa + max(fb, 0) + s
    i = (wa - fa) + fb + s
    return (sa or sb, w, w - i)


def apply_mode(ideal, mode: str, word_length: int, fraction_length: int):
    """The type a product/sum mode (full, keep_lsb, keep_msb, specify) makes of the ideal one."""
    s, w, f = ideal
    if mode == "full":
        return ideal
    if mode == "keep_lsb":
        return (s, word_length, f)
    if mode == "keep_msb":
        return (s, word_length, f - max(w - word_length, 0))
    if mode == "specify":
        return (s, word_length, fraction_length)
    raise ValueError(mode)


# -- arithmetic ---------------------------------------------------------------------------------
class Math:
    """The fimath properties the reference needs (a plain record, fixsim's names)."""

    def __init__(self, rounding="nearest", overflow="saturate", product_mode="full",
                 sum_mode="full", product_word_length=32, product_fraction_length=30,
                 sum_word_length=32, sum_fraction_length=30, cast_before_sum=True,
                 rules="matlab"):
        self.rounding = rounding
        self.overflow = overflow
        self.product_mode = product_mode
        self.sum_mode = sum_mode
        self.pwl = product_word_length
        self.pfl = product_fraction_length
        self.swl = sum_word_length
        self.sfl = sum_fraction_length
        self.cast_before_sum = cast_before_sum
        self.rules = rules

    def kwargs(self) -> dict:
        return dict(rounding=self.rounding, overflow=self.overflow,
                    product_mode=self.product_mode, sum_mode=self.sum_mode,
                    product_word_length=self.pwl, product_fraction_length=self.pfl,
                    sum_word_length=self.swl, sum_fraction_length=self.sfl,
                    cast_before_sum=self.cast_before_sum, rules=self.rules)


class Result:
    """A reference result: type, stored integer, and overflow/underflow counts."""

    def __init__(self, T, stored, overflows=0, underflows=0):
        self.T = T
        self.stored = stored
        self.overflows = overflows
        self.underflows = underflows

    def __repr__(self):
        return (f"Result(T={self.T}, stored={self.stored}, overflows={self.overflows}, "
                f"underflows={self.underflows})")


def _q(value, T, M: Math, counts: list, rounding=None):
    s, o, u = quantize_counted(value, T, rounding or M.rounding, M.overflow)
    counts[0] += o
    counts[1] += u
    return s


def add(va: int, ta, vb: int, tb, M: Math, subtract: bool = False) -> Result:
    """``a + b`` (or ``a - b``) of stored integers ``va`` of ``ta`` and ``vb`` of ``tb``."""
    ideal = hls_sum_type(ta, tb, subtract) if M.rules == "hls" else matlab_sum_type(ta, tb)
    R = apply_mode(ideal, M.sum_mode, M.swl, M.sfl)
    a, b = value_of(va, ta), value_of(vb, tb)
    counts = [0, 0]
    if M.sum_mode != "full" and M.cast_before_sum:
        a = value_of(_q(a, R, M, counts), R)
        b = value_of(_q(b, R, M, counts), R)
    elif R == ideal and in_type(a - b if subtract else a + b, R):
        # full precision: the exact result, nothing is quantized (even sat_sym keeps min)
        return Result(R, exact_stored(a - b if subtract else a + b, R))
    stored = _q(a - b if subtract else a + b, R, M, counts)
    return Result(R, stored, *counts)


def multiply(va: int, ta, vb: int, tb, M: Math) -> Result:
    """``a * b``."""
    ideal = product_type(ta, tb)
    R = apply_mode(ideal, M.product_mode, M.pwl, M.pfl)
    p = value_of(va, ta) * value_of(vb, tb)
    if R == ideal:  # full precision always holds the exact product: nothing is quantized
        assert in_type(p, R)
        return Result(R, exact_stored(p, R))
    counts = [0, 0]
    stored = _q(p, R, M, counts)
    return Result(R, stored, *counts)


def truncate_toward_zero(y: Fraction) -> int:
    """The integer part of ``y`` (HLS division)."""
    n = floor_of(abs(y))
    return n if y >= 0 else -n


def rdivide(va: int, ta, vb: int, tb, M: Math) -> Result:
    """``a / b``: MATLAB rdivide (rounded per the fimath) or the HLS quotient (truncated)."""
    q = value_of(va, ta) / value_of(vb, tb)
    counts = [0, 0]
    if M.rules == "hls":
        R = hls_divide_type(ta, tb)
        n = truncate_toward_zero(q * pow2(R[2]))
        stored, ovf = handle_overflow(n, floor_of(q * pow2(R[2])), R[0], R[1], M.overflow)
        return Result(R, stored, int(ovf), int(not ovf and stored == 0 and q != 0))
    R = matlab_rdivide_type(ta, tb)
    stored = _q(q, R, M, counts)
    return Result(R, stored, *counts)


def divide(T, va: int, ta, vb: int, tb, M: Math) -> Result:
    """MATLAB ``divide(T, a, b)``: the exact quotient quantized into ``T``."""
    counts = [0, 0]
    stored = _q(value_of(va, ta) / value_of(vb, tb), T, M, counts)
    return Result(T, stored, *counts)


def negate(va: int, ta, M: Math) -> Result:
    """``-a``: MATLAB keeps the type (so ``-min`` overflows); HLS grows a signed bit."""
    s, w, f = ta
    R = (True, w + 1, f) if M.rules == "hls" else ta
    counts = [0, 0]
    stored = _q(-value_of(va, ta), R, M, counts)
    return Result(R, stored, *counts)


def absolute(va: int, ta, M: Math) -> Result:
    """``abs(a)``: MATLAB keeps the type; HLS grows a bit for signed types."""
    s, w, f = ta
    R = (True, w + 1, f) if (M.rules == "hls" and s) else ta
    counts = [0, 0]
    stored = _q(abs(value_of(va, ta)), R, M, counts)
    return Result(R, stored, *counts)


def compare(a: Fraction, b: Fraction, op: str) -> bool:
    """Exact comparison of two rationals (``op`` one of eq ne lt le gt ge)."""
    return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b,
            "ge": a >= b}[op]
