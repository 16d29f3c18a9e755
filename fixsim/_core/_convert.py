"""Turning user values into exact numpy arrays, and MATLAB's best-precision fraction length."""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from ._numerictype import numerictype

__all__ = ["as_value_array", "best_fraction_length", "integer_dtype_type", "floor_log2",
           "short_repr"]


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to *limit* characters, for an error message that shows the value
    it refuses."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _holds_fi(value) -> bool:
    """Whether the (nested) list or tuple *value* has a fi among its elements."""
    from ._fi import fi
    return any(isinstance(v, fi) or (isinstance(v, list | tuple) and _holds_fi(v))
               for v in value)


def _exact_leaves(value):
    """*value* (nested lists, tuples, fi and numbers) with every fi replaced by its exact
    values (ints, or Fractions for fraction lengths above 0), as nested lists."""
    from ._fi import fi
    if isinstance(value, fi):
        F = value.fraction_length
        ints = np.asarray(value.int, dtype=object)
        if F <= 0:
            vals = [int(k) << -F for k in ints.ravel()]
        else:
            vals = [Fraction(int(k), 1 << F) for k in ints.ravel()]
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(ints.shape).tolist() if ints.ndim else vals[0]
    if isinstance(value, list | tuple):
        return [_exact_leaves(v) for v in value]
    return value


def as_value_array(value, method: str = "fi") -> np.ndarray:
    """A numpy array holding *value* exactly (float64, an integer dtype, bool or object).

    Python ints that do not fit int64 and Fractions become object arrays; nested lists are
    accepted. Strings, complex numbers and other objects raise ``TypeError``.
    """
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, bool | int | float | np.generic):
        arr = np.asarray(value)
        if isinstance(value, int) and not isinstance(value, bool) and arr.dtype == object:
            arr = np.empty((), dtype=object)
            arr[()] = int(value)
    elif isinstance(value, numbers.Number):
        arr = np.empty((), dtype=object)
        arr[()] = value
    elif isinstance(value, list | tuple) and _holds_fi(value):
        # fi values inside a list: their exact values (regression: np.asarray read them
        # through fi.__array__ as float64, which rounds words over 53 bits)
        arr = np.array(_exact_leaves(value), dtype=object)
    elif isinstance(value, list | tuple):
        try:
            arr = np.asarray(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{method}: value is not a rectangular array of numbers: {exc}") \
                from None
        if arr.dtype.kind in "USa":
            raise TypeError(f"{method}: value contains strings ({arr.dtype}); valid: numbers.")
        if arr.dtype.kind in "fuO" and arr.size:
            # numpy turns a list mixing ints past 2**63 with small ones into float64 (or
            # uint64): keep Python ints exact by building an object array instead
            leaves = np.asarray(value, dtype=object)
            if any(type(v) is int and not -(1 << 53) <= v <= (1 << 53) for v in leaves.ravel()):
                arr = leaves
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # pragma: no cover - defensive
            raise TypeError(f"{method}: cannot convert {type(value).__name__} to numbers: "
                            f"{exc}") from None
    if arr.dtype.kind in "USaV" or arr.dtype.kind == "M" or arr.dtype.kind == "m":
        raise TypeError(f"{method}: value of dtype {arr.dtype} is not numeric; valid: float, "
                        "integer, bool, Fraction, or fi values.")
    if arr.dtype.kind == "c":
        raise TypeError(f"{method}: complex values are not supported (dtype {arr.dtype}); "
                        "quantize the real and imaginary parts separately.")
    if arr.dtype == object:
        for v in arr.ravel():
            if isinstance(v, complex) or (isinstance(v, numbers.Complex)
                                          and not isinstance(v, numbers.Real)):
                raise TypeError(f"{method}: complex value {v!r} is not supported; quantize "
                                "the real and imaginary parts separately.")
            if not isinstance(v, numbers.Real) and not hasattr(v, "as_integer_ratio"):
                raise TypeError(f"{method}: value {v!r} ({type(v).__name__}) is not a number; "
                                "valid: floats, integers, bools, Fractions, Decimals.")
    return arr


def integer_dtype_type(dtype: np.dtype) -> numerictype | None:
    """The numerictype a built-in integer or bool dtype carries (MATLAB: int8 -> s8,0)."""
    if dtype.kind == "b":
        return numerictype(False, 1, 0)
    if dtype.kind in "iu":
        return numerictype(dtype.kind == "i", dtype.itemsize * 8, 0)
    return None


def floor_log2(v: Fraction) -> int:
    """``floor(log2(v))`` for an exact positive rational."""
    n, d = v.numerator, v.denominator
    k = n.bit_length() - d.bit_length()
    # 2**k <= v < 2**(k+1)?  adjust by one if needed
    if k >= 0:
        if n < d << k:
            k -= 1
    elif n << -k < d:
        k -= 1
    return k


def _extremes(arr: np.ndarray):
    """Exact (max, min) of a numeric array as Fractions/ints (None when empty)."""
    if arr.size == 0:
        return None, None
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            return "nonfinite", None
        return Fraction(float(arr.max())), Fraction(float(arr.min()))
    if arr.dtype.kind in "iub":
        return Fraction(int(arr.max())), Fraction(int(arr.min()))
    vals = []
    for v in arr.ravel():
        if isinstance(v, float) and not math.isfinite(v):
            return "nonfinite", None
        vals.append(Fraction(v) if not hasattr(v, "as_integer_ratio") or isinstance(
            v, numbers.Rational) else Fraction(*v.as_integer_ratio()))
    return max(vals), min(vals)


def best_fraction_length(arr: np.ndarray, signed: bool, word_length: int,
                         method: str = "fi") -> int:
    """MATLAB's best-precision fraction length for the values *arr* at *word_length*.

    ``I = max(floor(log2 x) + 1 for x > 0, ceil(log2 -x) for x < 0 when signed)`` and
    ``FL = W - signed - I``; all-zero (or empty) input has ``I = 0``.
    """
    vmax, vmin = _extremes(arr)
    if isinstance(vmax, str):
        raise ValueError(
            f"{method}: best-precision scaling needs finite values, and the input holds NaN or "
            "inf. Give the fraction length explicitly (e.g. fi(x, 1, 16, 12)).")
    bits = []
    if vmax is not None and vmax > 0:
        bits.append(floor_log2(vmax) + 1)
    if signed and vmin is not None and vmin < 0:
        k = floor_log2(-vmin)
        bits.append(k if Fraction(2) ** k == -vmin else k + 1)
    i = max(bits) if bits else 0
    return word_length - (1 if signed else 0) - i
