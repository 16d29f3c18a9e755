"""``numerictype``: signedness, word length and binary-point scaling of a fixed-point number."""

from __future__ import annotations

import math
import numbers
import re
from fractions import Fraction

__all__ = ["numerictype", "check_length", "MAX_WORD_LENGTH"]

MAX_WORD_LENGTH = 65535


def check_length(value, argument: str, *, minimum: int | None = None,
                 maximum: int | None = None, method: str = "numerictype") -> int:
    """Validate an integer length argument and return it as an ``int``.

    Integral floats (MATLAB users pass doubles) are accepted; bools, fractions and
    non-integral values are not.
    """
    if type(value) is int:  # fast path: the common case skips the ABC checks
        if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
            return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{method}: {argument} must be an integer, got {type(value).__name__} {value!r}."
        )
    if isinstance(value, numbers.Integral):
        ivalue = int(value)
    elif isinstance(value, float | Fraction) or hasattr(value, "is_integer"):
        fvalue = float(value)
        if not (math.isfinite(fvalue) and fvalue.is_integer()):
            raise ValueError(f"{method}: {argument} must be a whole number, got {value!r}.")
        ivalue = int(fvalue)
    else:
        raise TypeError(
            f"{method}: {argument} must be an integer, got {type(value).__name__} {value!r}."
        )
    if minimum is not None and ivalue < minimum or maximum is not None and ivalue > maximum:
        lo = "-inf" if minimum is None else str(minimum)
        hi = "inf" if maximum is None else str(maximum)
        raise ValueError(f"{method}: {argument}={ivalue} is out of range; valid: {lo}..{hi}.")
    return ivalue


def _check_signed(value, method: str = "numerictype") -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("signed", "unsigned"):
        return value.lower() == "signed"
    raise ValueError(
        f"{method}: signed must be True/False (or 1/0, 'signed'/'unsigned'), got {value!r}."
    )


class numerictype:  # noqa: N801 - MATLAB's name
    """A binary-point fixed-point data type.

    Parameters
    ----------
    signed : bool, default True
        Two's complement (True) or unsigned (False).
    word_length : int, default 16
        Total number of bits, 1..65535.
    fraction_length : int, default 15
        Number of fractional bits; any integer (negative, or larger than the word length).

    Examples
    --------
    >>> T = numerictype(True, 16, 12)
    >>> str(T)
    'sfix16_En12'
    >>> T.int_min, T.int_max
    (-32768, 32767)
    """

    __slots__ = ("_signed", "_word_length", "_fraction_length", "_hash")

    def __init__(self, signed=True, word_length=16, fraction_length=15):
        object.__setattr__(self, "_signed", _check_signed(signed))
        object.__setattr__(
            self, "_word_length",
            check_length(word_length, "word_length", minimum=1, maximum=MAX_WORD_LENGTH),
        )
        object.__setattr__(
            self, "_fraction_length", check_length(fraction_length, "fraction_length")
        )
        object.__setattr__(self, "_hash", hash(("numerictype",) + self._key()))

    def __setattr__(self, name, value):
        raise AttributeError("numerictype is immutable; build a new one with .replace(...)")

    # -- properties --------------------------------------------------------------------------
    @property
    def signed(self) -> bool:
        """True for two's complement, False for unsigned."""
        return self._signed

    @property
    def word_length(self) -> int:
        """Total number of bits."""
        return self._word_length

    @property
    def fraction_length(self) -> int:
        """Number of fractional bits (the negative of the fixed exponent)."""
        return self._fraction_length

    @property
    def integer_length(self) -> int:
        """Bits left of the binary point, sign bit included (``W - F``; HLS ``I``)."""
        return self._word_length - self._fraction_length

    @property
    def fixed_exponent(self) -> int:
        """The exponent of the LSB, ``-fraction_length``."""
        return -self._fraction_length

    @property
    def int_min(self) -> int:
        """Smallest stored integer."""
        return -(1 << (self._word_length - 1)) if self._signed else 0

    @property
    def int_max(self) -> int:
        """Largest stored integer."""
        w = self._word_length - 1 if self._signed else self._word_length
        return (1 << w) - 1

    @property
    def exact_min(self) -> Fraction:
        """Smallest representable value, exactly."""
        return self.int_min * self.exact_eps

    @property
    def exact_max(self) -> Fraction:
        """Largest representable value, exactly."""
        return self.int_max * self.exact_eps

    @property
    def exact_eps(self) -> Fraction:
        """The LSB weight ``2**-F``, exactly."""
        f = self._fraction_length
        return Fraction(1, 1 << f) if f >= 0 else Fraction(1 << -f)

    @property
    def min(self) -> float:
        """Smallest representable value as a float (correctly rounded)."""
        return _to_float(self.exact_min)

    @property
    def max(self) -> float:
        """Largest representable value as a float (correctly rounded)."""
        return _to_float(self.exact_max)

    @property
    def eps(self) -> float:
        """The LSB weight ``2**-F`` as a float."""
        return _to_float(self.exact_eps)

    @property
    def range(self) -> tuple[float, float]:
        """``(min, max)``."""
        return self.min, self.max

    # -- names ---------------------------------------------------------------------------------
    def __str__(self) -> str:
        prefix = "sfix" if self._signed else "ufix"
        f = self._fraction_length
        if f == 0:
            return f"{prefix}{self._word_length}"
        if f > 0:
            return f"{prefix}{self._word_length}_En{f}"
        return f"{prefix}{self._word_length}_E{-f}"

    @property
    def name(self) -> str:
        """Simulink-style name, e.g. ``'sfix16_En12'``."""
        return str(self)

    @property
    def qformat(self) -> str:
        """Q notation: ``'Q3.12'`` for sfix16_En12, ``'UQ0.8'`` for ufix8_En8.

        The integer part excludes the sign bit (ARM convention); it may be negative.
        """
        m = self.integer_length - (1 if self._signed else 0)
        return f"{'' if self._signed else 'U'}Q{m}.{self._fraction_length}"

    @property
    def hls(self) -> str:
        """Vivado/Vitis HLS name, e.g. ``'ap_fixed<16,4>'``."""
        kind = "ap_fixed" if self._signed else "ap_ufixed"
        return f"{kind}<{self._word_length},{self.integer_length}>"

    @property
    def ac(self) -> str:
        """Algorithmic C name, e.g. ``'ac_fixed<16,4,true>'``."""
        s = "true" if self._signed else "false"
        return f"ac_fixed<{self._word_length},{self.integer_length},{s}>"

    def tostring(self) -> str:
        """MATLAB ``tostring``: ``'numerictype(1,16,12)'``."""
        return f"numerictype({int(self._signed)},{self._word_length},{self._fraction_length})"

    def __repr__(self) -> str:
        return (f"numerictype(signed={self._signed}, word_length={self._word_length}, "
                f"fraction_length={self._fraction_length})")

    # -- value semantics -------------------------------------------------------------------------
    def _key(self):
        return (self._signed, self._word_length, self._fraction_length)

    def __eq__(self, other):
        if other is self:
            return True
        if isinstance(other, numerictype):
            return self._key() == other._key()
        if isinstance(other, str):
            try:
                return self == numerictype.parse(other)
            except ValueError:
                return False
        return NotImplemented

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (numerictype, self._key())

    def replace(self, *, signed=None, word_length=None, fraction_length=None) -> numerictype:
        """A copy with some properties changed."""
        return numerictype(
            self._signed if signed is None else signed,
            self._word_length if word_length is None else word_length,
            self._fraction_length if fraction_length is None else fraction_length,
        )

    def contains(self, value) -> bool:
        """Whether the exact value *value* is representable (in range and on the LSB grid);
        ``False`` for infinities and NaN."""
        if not isinstance(value, numbers.Number):
            # regression: a string met Fraction's bare 'Invalid literal'
            raise TypeError(f"numerictype.contains: value must be a real number, got "
                            f"{type(value).__name__} {value!r}.")
        if (isinstance(value, numbers.Real) and not isinstance(value, numbers.Rational)
                and not math.isfinite(value)):
            return False  # regression: inf raised OverflowError, nan a bare ValueError
        try:
            v = Fraction(value)
        except TypeError:
            raise TypeError(f"numerictype.contains: value must be a real number, got "
                            f"{type(value).__name__} {value!r}.") from None
        n = v / self.exact_eps
        return n.denominator == 1 and self.int_min <= n.numerator <= self.int_max

    # -- parsing -----------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> numerictype:
        """Parse a type name.

        Accepted forms: ``'sfix16_En12'``, ``'ufix8_En3'``, ``'sfix8_E2'``, ``'sfix8'``,
        ``'int16'``/``'uint8'``, ``'Q3.12'``, ``'UQ0.8'``, ``'Q15'``, ``'ap_fixed<16,4>'``,
        ``'ap_ufixed<8,0>'``, ``'ac_fixed<16,4,true>'``, ``'ac_fixed<16,4>'`` and
        ``'numerictype(1,16,12)'``.
        """
        if isinstance(text, numerictype):
            return text
        if not isinstance(text, str):
            raise TypeError(f"numerictype.parse: text must be a str, got {type(text).__name__}.")
        s = text.strip()
        for pattern, build in _PARSERS:
            m = pattern.fullmatch(s)
            if m:
                return build(m)
        raise ValueError(
            f"numerictype.parse: cannot parse {text!r}. Valid forms: 'sfix16_En12', 'ufix8_En3', "
            "'sfix8_E2', 'sfix8', 'int16', 'Q3.12', 'UQ0.8', 'ap_fixed<16,4>', "
            "'ap_ufixed<8,0>', 'ac_fixed<16,4,true>', 'numerictype(1,16,12)'."
        )


def _to_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        # beyond the float range: the infinity of its sign (regression: copysign converted
        # the Fraction to float again, so T.min of sfix8_E1017, -2**1024, raised)
        return math.inf if value > 0 else -math.inf


def _from_hls(w: str, i: str, signed: bool) -> numerictype:
    wl = int(w)
    return numerictype(signed, wl, wl - int(i))


def _from_q(m) -> numerictype:
    signed = not m.group(1)
    ip = int(m.group(2)) if m.group(3) is not None else 0
    fp = int(m.group(3)) if m.group(3) is not None else int(m.group(2))
    return numerictype(signed, ip + fp + (1 if signed else 0), fp)


def _from_sl(m) -> numerictype:
    signed = m.group(1).lower() == "s"
    exp = m.group(3)
    if exp is None:
        f = 0
    elif exp.lower().startswith("n"):
        f = int(exp[1:])
    else:
        f = -int(exp)
    return numerictype(signed, int(m.group(2)), f)


_INT = r"[+-]?\d+"
_PARSERS = [
    (re.compile(r"([su])fix(\d+)(?:_E(n?\d+))?", re.IGNORECASE), _from_sl),
    (re.compile(r"(u?)int(8|16|32|64)"), lambda m: numerictype(not m.group(1), int(m.group(2)), 0)),
    (re.compile(rf"(U?)Q({_INT})(?:\.({_INT}))?", re.IGNORECASE), _from_q),
    (re.compile(rf"ap_fixed<\s*(\d+)\s*,\s*({_INT})\s*>"),
     lambda m: _from_hls(m.group(1), m.group(2), True)),
    (re.compile(rf"ap_ufixed<\s*(\d+)\s*,\s*({_INT})\s*>"),
     lambda m: _from_hls(m.group(1), m.group(2), False)),
    (re.compile(rf"ac_fixed<\s*(\d+)\s*,\s*({_INT})\s*(?:,\s*(true|false|1|0)\s*)?>"),
     lambda m: _from_hls(m.group(1), m.group(2), m.group(3) in (None, "true", "1"))),
    (re.compile(rf"numerictype\(\s*([01]|true|false)\s*,\s*(\d+)\s*,\s*({_INT})\s*\)",
                re.IGNORECASE),
     lambda m: numerictype(m.group(1).lower() in ("1", "true"), int(m.group(2)),
                           int(m.group(3)))),
]
