"""``fimath``: the arithmetic rules (rounding, overflow, product and sum types) of MATLAB."""

from __future__ import annotations

import contextvars
import threading

from ._modes import Overflow, Rounding, parse_overflow, parse_rounding
from ._numerictype import MAX_WORD_LENGTH, check_length

__all__ = ["fimath", "current_fimath", "DEFAULT_FIMATH", "ARITH_MODES", "RULES"]

ARITH_MODES = ("full", "keep_lsb", "keep_msb", "specify")
RULES = ("matlab", "hls")

_MODE_ALIASES = {
    "full": "full", "fullprecision": "full", "full_precision": "full",
    "keep_lsb": "keep_lsb", "keeplsb": "keep_lsb",
    "keep_msb": "keep_msb", "keepmsb": "keep_msb",
    "specify": "specify", "specifyprecision": "specify", "specify_precision": "specify",
}


def _parse_arith_mode(value, argument: str) -> str:
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_")
        if key in _MODE_ALIASES:
            return _MODE_ALIASES[key]
    raise ValueError(
        f"fimath: {argument}={value!r} is not valid; valid: {', '.join(ARITH_MODES)} "
        "(MATLAB's FullPrecision, KeepLSB, KeepMSB, SpecifyPrecision are accepted too)."
    )


class fimath:  # noqa: N801 - MATLAB's name
    """Arithmetic rules: rounding, overflow, and the product and sum data types.

    Parameters
    ----------
    rounding : str or Rounding, default 'nearest'
    overflow : str or Overflow, default 'saturate'
    product_mode, sum_mode : {'full', 'keep_lsb', 'keep_msb', 'specify'}, default 'full'
    product_word_length, sum_word_length : int, default 32
    product_fraction_length, sum_fraction_length : int, default 30
    max_product_word_length, max_sum_word_length : int, default 65535
    cast_before_sum : bool, default True
        Cast both addends to the sum type before adding (only when ``sum_mode`` is not full).
    rules : {'matlab', 'hls'}, default 'matlab'
        Full-precision result types of MATLAB or of ac_fixed/ap_fixed.

    Notes
    -----
    ``with fimath(...):`` makes it the default for the block (a context variable, so it is
    thread- and task-local). A fi with a local fimath uses that one instead.
    """

    __slots__ = ("_rounding", "_overflow", "_product_mode", "_sum_mode", "_pwl", "_pfl", "_swl",
                 "_sfl", "_max_pwl", "_max_swl", "_cast_before_sum", "_rules", "_tokens",
                 "_hash")

    def __init__(self, rounding="nearest", overflow="saturate", product_mode="full",
                 sum_mode="full", product_word_length=32, product_fraction_length=30,
                 sum_word_length=32, sum_fraction_length=30, cast_before_sum=True,
                 rules="matlab", max_product_word_length=MAX_WORD_LENGTH,
                 max_sum_word_length=MAX_WORD_LENGTH):
        s = object.__setattr__
        s(self, "_rounding", parse_rounding(rounding, where="fimath"))
        s(self, "_overflow", parse_overflow(overflow, where="fimath"))
        s(self, "_product_mode", _parse_arith_mode(product_mode, "product_mode"))
        s(self, "_sum_mode", _parse_arith_mode(sum_mode, "sum_mode"))
        s(self, "_pwl", check_length(product_word_length, "product_word_length", minimum=1,
                                     maximum=MAX_WORD_LENGTH, method="fimath"))
        s(self, "_pfl", check_length(product_fraction_length, "product_fraction_length",
                                     method="fimath"))
        s(self, "_swl", check_length(sum_word_length, "sum_word_length", minimum=1,
                                     maximum=MAX_WORD_LENGTH, method="fimath"))
        s(self, "_sfl", check_length(sum_fraction_length, "sum_fraction_length", method="fimath"))
        s(self, "_max_pwl", check_length(max_product_word_length, "max_product_word_length",
                                         minimum=1, maximum=MAX_WORD_LENGTH, method="fimath"))
        s(self, "_max_swl", check_length(max_sum_word_length, "max_sum_word_length", minimum=1,
                                         maximum=MAX_WORD_LENGTH, method="fimath"))
        if not isinstance(cast_before_sum, bool | int) or cast_before_sum not in (0, 1):
            raise ValueError(f"fimath: cast_before_sum must be True or False, got "
                             f"{cast_before_sum!r}.")
        s(self, "_cast_before_sum", bool(cast_before_sum))
        if not isinstance(rules, str) or rules.lower() not in RULES:
            raise ValueError(f"fimath: rules={rules!r} is not valid; valid: 'matlab', 'hls'.")
        s(self, "_rules", rules.lower())
        s(self, "_tokens", threading.local())
        s(self, "_hash", hash(self._key()))

    def __setattr__(self, name, value):
        raise AttributeError("fimath is immutable; build a new one with .replace(...)")

    rounding: Rounding = property(lambda self: self._rounding, doc="Rounding mode.")
    overflow: Overflow = property(lambda self: self._overflow, doc="Overflow mode.")
    product_mode: str = property(lambda self: self._product_mode, doc="Product type mode.")
    sum_mode: str = property(lambda self: self._sum_mode, doc="Sum type mode.")
    product_word_length: int = property(lambda self: self._pwl)
    product_fraction_length: int = property(lambda self: self._pfl)
    sum_word_length: int = property(lambda self: self._swl)
    sum_fraction_length: int = property(lambda self: self._sfl)
    max_product_word_length: int = property(lambda self: self._max_pwl)
    max_sum_word_length: int = property(lambda self: self._max_swl)
    cast_before_sum: bool = property(lambda self: self._cast_before_sum)
    rules: str = property(lambda self: self._rules, doc="'matlab' or 'hls' result types.")

    def _key(self):
        return (self._rounding, self._overflow, self._product_mode, self._sum_mode, self._pwl,
                self._pfl, self._swl, self._sfl, self._cast_before_sum, self._rules,
                self._max_pwl, self._max_swl)

    def _kwargs(self) -> dict:
        return dict(rounding=self._rounding, overflow=self._overflow,
                    product_mode=self._product_mode, sum_mode=self._sum_mode,
                    product_word_length=self._pwl, product_fraction_length=self._pfl,
                    sum_word_length=self._swl, sum_fraction_length=self._sfl,
                    cast_before_sum=self._cast_before_sum, rules=self._rules,
                    max_product_word_length=self._max_pwl, max_sum_word_length=self._max_swl)

    def replace(self, **changes) -> fimath:
        """A copy with some properties changed.

        fimath objects are immutable, so the result of a given replacement is remembered
        (``fi(x, ..., rounding='floor')`` builds one per call): the same arguments on an equal
        fimath return the same, equal object."""
        try:
            key = (self._key(), tuple(sorted(changes.items())))
            hit = _REPLACED.get(key)
        except TypeError:  # an unhashable value: no memo (the constructor explains)
            key = hit = None
        if hit is not None:
            return hit
        kw = self._kwargs()
        unknown = set(changes) - set(kw)
        if unknown:
            raise TypeError(f"fimath.replace: unknown properties {sorted(unknown)}; "
                            f"valid: {sorted(kw)}.")
        kw.update(changes)
        out = fimath(**kw)
        if key is not None and len(_REPLACED) < _REPLACED_MAX:
            _REPLACED[key] = out
        return out

    def __eq__(self, other):
        if other is self:
            return True
        if not isinstance(other, fimath):
            return NotImplemented
        return self._hash == other._hash and self._key() == other._key()

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (_rebuild, (self._kwargs(),))

    def __repr__(self) -> str:
        parts = [f"rounding='{self._rounding}'", f"overflow='{self._overflow}'",
                 f"product_mode='{self._product_mode}'", f"sum_mode='{self._sum_mode}'"]
        if self._product_mode != "full":
            parts.append(f"product_word_length={self._pwl}")
            if self._product_mode == "specify":
                parts.append(f"product_fraction_length={self._pfl}")
        if self._sum_mode != "full":
            parts.append(f"sum_word_length={self._swl}")
            if self._sum_mode == "specify":
                parts.append(f"sum_fraction_length={self._sfl}")
            parts.append(f"cast_before_sum={self._cast_before_sum}")
        if self._rules != "matlab":
            parts.append(f"rules='{self._rules}'")
        return f"fimath({', '.join(parts)})"

    # -- context manager ---------------------------------------------------------------------
    def __enter__(self) -> fimath:
        stack = getattr(self._tokens, "stack", None)
        if stack is None:
            stack = self._tokens.stack = []
        stack.append(_current.set(self))
        return self

    def __exit__(self, *exc) -> None:
        _current.reset(self._tokens.stack.pop())


_REPLACED: dict = {}
_REPLACED_MAX = 4096


def default_fimath() -> fimath:
    """The default ``fimath()`` (one shared immutable instance)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = fimath()
    return _DEFAULT


_DEFAULT: fimath | None = None


def _rebuild(kwargs):
    return fimath(**kwargs)


DEFAULT_FIMATH = fimath()
_current: contextvars.ContextVar[fimath] = contextvars.ContextVar(
    "fixsim_fimath", default=DEFAULT_FIMATH)


def current_fimath() -> fimath:
    """The fimath in force: the innermost ``with fimath(...)`` block, else the default."""
    return _current.get()
