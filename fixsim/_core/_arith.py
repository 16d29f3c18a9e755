"""Elementwise arithmetic and comparisons on ``fi``: exact, then cast per the fimath.

Every operation computes the exact result in an integer representation wide enough to hold it
(int64 where the operand types allow, Python ints otherwise), and then requantizes into the
result type that the fimath's rules give (``_rules``). Nothing passes through float.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from . import _probe, _rules
from ._convert import as_value_array, best_fraction_length, integer_dtype_type
from ._fi import fi, make_fi
from ._fimath import current_fimath, fimath
from ._modes import Overflow, Rounding
from ._numerictype import numerictype
from ._quantize import (
    _increment_obj,
    as_storage,
    quantize_array,
    requantize,
    stochastic_words,
    storage_kind,
)

__all__ = ["resolve_fimath", "add", "subtract", "multiply", "rdivide", "divide", "negate",
           "absolute", "compare", "to_fi_operand", "cast_ints", "lshift_exact", "maximum",
           "minimum", "fits_int64"]

# cached result-type rules (numerictype and fimath are immutable and hashable)
_add_type = functools.lru_cache(maxsize=4096)(_rules.add_type)
_sub_type = functools.lru_cache(maxsize=4096)(_rules.sub_type)
_mul_type = functools.lru_cache(maxsize=4096)(_rules.mul_type)
_div_type = functools.lru_cache(maxsize=4096)(_rules.div_type)
_ideal_add = functools.lru_cache(maxsize=4096)(_rules.ideal_add)


def resolve_fimath(operands, method: str) -> tuple[fimath, fimath | None]:
    """The fimath that governs an operation, and the local fimath the result carries.

    A local fimath on an operand wins over the default; two different local fimaths are an
    error, as in MATLAB.
    """
    local = None
    for x in operands:
        F = getattr(x, "_fimath", None) if isinstance(x, fi) else None
        if F is None:
            continue
        if local is None:
            local = F
        elif F is not local and F != local:
            raise ValueError(
                f"{method}: the operands have different local fimaths ({local!r} and {F!r}). "
                "Make them equal, or drop one with .removefimath(), as in MATLAB.")
    return (local if local is not None else current_fimath()), local


def fits_int64(ints: np.ndarray, width: int) -> bool:
    """Whether values of a ``width``-bit signed range are held in int64 (and fit)."""
    return ints.dtype == np.int64 and width <= 64


def lshift_exact(ints: np.ndarray, k: int, width: int) -> np.ndarray:
    """``ints * 2**k`` (k >= 0) exactly: int64 when ``width + k <= 63``, else Python ints."""
    if k == 0 and ints.dtype != np.uint64:
        return ints
    if ints.dtype == np.int64 and width + k <= 63:
        return ints << k
    return ints.astype(object) << k


def cast_ints(ints: np.ndarray, src: numerictype, dst: numerictype, F: fimath, method: str,
              operation: str, rounding: Rounding | None = None,
              overflow: Overflow | None = None) -> np.ndarray:
    """Requantize exact integers of type *src* into *dst* with *F*'s modes; reports counts."""
    out, o, u = requantize(ints, src, dst, F.rounding if rounding is None else rounding,
                           F.overflow if overflow is None else overflow, None, method)
    _probe.report(dst, out.size, o, u, operation)
    return out


def _int_operand(x) -> fi | None:
    """A numpy integer/bool array or scalar as an exact fi of its built-in type."""
    if isinstance(x, np.ndarray | np.generic):
        T = integer_dtype_type(x.dtype)
        if T is not None:
            arr = np.asarray(x)
            return make_fi(as_storage(arr, T), T, None)
    return None


def to_fi_operand(x, other: fi, F: fimath, how: str, method: str) -> fi:
    """Convert a non-fi operand as MATLAB does.

    Built-in (numpy) integers become fi with fraction length 0. Other numbers are cast with
    *F*'s modes to ``other``'s type (``how='same'``: sums) or to ``other``'s signedness and word
    length with best-precision scaling (``how='best'``: products and quotients).
    """
    if isinstance(x, fi):
        return x
    as_int = _int_operand(x)
    if as_int is not None:
        return as_int
    arr = as_value_array(x, method)
    T = other._type
    if how == "best":
        T = numerictype(T.signed, T.word_length,
                        best_fraction_length(arr, T.signed, T.word_length, method))
    ints = quantize_array(arr, T, F.rounding, F.overflow, "raise", None, method, method)
    return make_fi(ints, T, None)


def _pair(a, b, how: str, method: str):
    F, local = resolve_fimath((a, b), method)
    if not isinstance(a, fi):
        a = to_fi_operand(a, b, F, how, method)
    elif not isinstance(b, fi):
        b = to_fi_operand(b, a, F, how, method)
    return a, b, F, local


def _width(T: numerictype) -> int:
    """Bits a two's complement int needs to hold every value of *T*."""
    return T.word_length + (0 if T.signed else 1)


def _exact_sum(a: fi, b: fi, f: int, subtract: bool) -> tuple[np.ndarray, int]:
    """Exact ``a +- b`` as integers at fraction length *f* (and the bits they need)."""
    ta, tb = a._type, b._type
    ka, kb = f - ta.fraction_length, f - tb.fraction_length
    width = max(_width(ta) + ka, _width(tb) + kb) + 1
    ia = lshift_exact(a._int, ka, _width(ta))
    ib = lshift_exact(b._int, kb, _width(tb))
    if width > 63 or ia.dtype != ib.dtype:
        ia = ia.astype(object) if ia.dtype != object else ia
        ib = ib.astype(object) if ib.dtype != object else ib
    return (ia - ib if subtract else ia + ib), width


def _sum_op(a, b, subtract: bool, method: str) -> fi:
    a, b, F, local = _pair(a, b, "same", method)
    ta, tb = a._type, b._type
    R = (_sub_type if subtract else _add_type)(ta, tb, F)
    if F.sum_mode != "full" and F.cast_before_sum:
        a = make_fi(cast_ints(a._int, ta, R, F, method, method), R, None)
        b = make_fi(cast_ints(b._int, tb, R, F, method, method), R, None)
        ints, _ = _exact_sum(a, b, R.fraction_length, subtract)
        src = numerictype(True, R.word_length + 2, R.fraction_length)
        return make_fi(cast_ints(ints, src, R, F, method, method), R, local)
    ideal = _ideal_add(ta, tb, F.rules, subtract)
    ints, width = _exact_sum(a, b, ideal.fraction_length, subtract)
    if R == ideal and not (subtract and not R.signed):
        return make_fi(as_storage(ints, R) if ints.dtype != _dtype_of(R) else ints, R, local)
    src = numerictype(True, max(width, 2), ideal.fraction_length)
    return make_fi(cast_ints(ints, src, R, F, method, method), R, local)


def _dtype_of(T: numerictype):
    kind = storage_kind(T)
    return np.dtype(np.int64) if kind == "i64" else (np.dtype(np.uint64) if kind == "u64"
                                                      else np.dtype(object))


def add(a, b) -> fi:
    """``a + b`` per the fimath in force (MATLAB ``plus``)."""
    return _sum_op(a, b, False, "add")


def subtract(a, b) -> fi:
    """``a - b`` per the fimath in force (MATLAB ``minus``)."""
    return _sum_op(a, b, True, "subtract")


def _exact_product(ia: np.ndarray, ta: numerictype, ib: np.ndarray, tb: numerictype):
    width = _width(ta) + _width(tb)
    if ia.dtype == np.int64 and ib.dtype == np.int64 and width <= 64:
        return ia * ib
    oa = ia.astype(object) if ia.dtype != object else ia
    ob = ib.astype(object) if ib.dtype != object else ib
    return oa * ob


def multiply(a, b) -> fi:
    """``a * b`` elementwise per the fimath in force (MATLAB ``times``)."""
    a, b, F, local = _pair(a, b, "best", "multiply")
    ta, tb = a._type, b._type
    R = _mul_type(ta, tb, F)
    ideal = _rules.ideal_mul(ta, tb)
    ints = _exact_product(a._int, ta, b._int, tb)
    if R == ideal:
        return make_fi(as_storage(ints, R) if ints.dtype != _dtype_of(R) else ints, R, local)
    src = numerictype(True, _width(ta) + _width(tb), ideal.fraction_length)
    return make_fi(cast_ints(ints, src, R, F, "multiply", "multiply"), R, local)


def _check_divisor(ib: np.ndarray, method: str):
    zero = ib == 0
    if np.any(zero):
        idx = int(np.flatnonzero(np.broadcast_to(zero, zero.shape))[0])
        raise ZeroDivisionError(f"{method}: division by zero (divisor at flat index {idx} is 0).")


def _div_round(num: np.ndarray, den: np.ndarray, rounding: Rounding, seed=None) -> np.ndarray:
    """``num / den`` rounded to an integer exactly (den != 0), int64 or object arrays."""
    num, den = np.broadcast_arrays(num, den)
    neg = den < 0
    num = np.where(neg, -num, num)
    den = np.where(neg, -den, den)
    if num.dtype == object or den.dtype == object:
        num, den = num.astype(object), den.astype(object)
    q = num // den
    r = num - q * den
    other = den - r
    gt, eq, nz = r > other, r == other, r != 0
    rand_up = None
    if rounding == Rounding.STOCHASTIC:
        words = stochastic_words(q.size, seed).reshape(q.shape).astype(object)
        rand_up = words * den.astype(object) < r.astype(object) * (1 << 64)
    inc = _increment_obj(rounding, q, gt, eq, nz, rand_up)
    if q.dtype == object:
        return q + inc.astype(object)
    return q + inc.astype(np.int64)


def _quotient(a: fi, b: fi, R: numerictype, rounding: Rounding, method: str) -> tuple:
    """Exact quotient of a / b rounded at R's LSB: (integers, exact bits they may need)."""
    ta, tb = a._type, b._type
    _check_divisor(b._int, method)
    # a/b * 2**FR = ia * 2**(FR - Fa + Fb) / ib
    k = R.fraction_length - ta.fraction_length + tb.fraction_length
    ka, kb = max(k, 0), max(-k, 0)
    wa, wb = _width(ta) + ka, _width(tb) + kb
    ia = lshift_exact(a._int, ka, _width(ta))
    ib = lshift_exact(b._int, kb, _width(tb))
    if wa > 62 or wb > 62 or ia.dtype != np.int64 or ib.dtype != np.int64:
        ia, ib = ia.astype(object), ib.astype(object)
    return _div_round(ia, ib, rounding), wa + 1


def rdivide(a, b) -> fi:
    """``a / b`` (MATLAB ``rdivide``; under ``rules='hls'`` the ac/ap quotient type, truncated
    toward zero)."""
    method = "rdivide"
    a, b, F, local = _pair(a, b, "best", method)
    R = _div_type(a._type, b._type, F)
    hls = F.rules == "hls"
    ints, width = _quotient(a, b, R, Rounding.ZERO if hls else F.rounding, method)
    src = numerictype(True, max(width, 2), R.fraction_length)
    return make_fi(cast_ints(ints, src, R, F, method, method), R, local)


def divide(T, a, b) -> fi:
    """``fx.divide(T, a, b)``: the quotient computed to type *T* (MATLAB ``divide``).

    Rounding and overflow come from ``a``'s fimath (its local one, else the default); the
    result carries ``a``'s local fimath.
    """
    from ._fi import _as_type

    method = "divide"
    T = _as_type(T, method)
    if not isinstance(a, fi) and not isinstance(b, fi):
        raise TypeError("divide: at least one of a and b must be a fi.")
    F, local = resolve_fimath((a, b), method)
    if not isinstance(a, fi):
        a = to_fi_operand(a, b, F, "best", method)
    if not isinstance(b, fi):
        b = to_fi_operand(b, a, F, "best", method)
    ints, width = _quotient(a, b, T, F.rounding, method)
    src = numerictype(True, max(width, 2), T.fraction_length)
    return make_fi(cast_ints(ints, src, T, F, method, method), T, a._fimath)


def _unary(a: fi, R: numerictype, values: np.ndarray, method: str, local) -> fi:
    F = a._fimath if a._fimath is not None else current_fimath()
    src = numerictype(True, _width(a._type) + 1, a._type.fraction_length)
    return make_fi(cast_ints(values, src, R, F, method, method), R, local)


def _wide_ints(a: fi) -> np.ndarray:
    ints = a._int
    if ints.dtype == np.int64 and _width(a._type) <= 63:
        return ints
    return ints.astype(object)


def negate(a: fi) -> fi:
    """``-a``: MATLAB keeps the type (``-min`` saturates or wraps per the fimath)."""
    F = a.fimath
    return _unary(a, _rules.neg_type(a._type, F), -_wide_ints(a), "negate", a._fimath)


def absolute(a: fi) -> fi:
    """``abs(a)``: MATLAB keeps the type (``abs(min)`` saturates or wraps per the fimath)."""
    F = a.fimath
    ints = _wide_ints(a)
    return _unary(a, _rules.abs_type(a._type, F), np.abs(ints) if ints.dtype != object
                  else np.where(ints < 0, -ints, ints), "abs", a._fimath)


# -- comparisons -----------------------------------------------------------------------------
_CMP = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
        "gt": operator.gt, "ge": operator.ge}


def _compare_fi(a: fi, b: fi, op: str) -> np.ndarray:
    ta, tb = a._type, b._type
    f = max(ta.fraction_length, tb.fraction_length)
    ka, kb = f - ta.fraction_length, f - tb.fraction_length
    ia = lshift_exact(a._int, ka, _width(ta))
    ib = lshift_exact(b._int, kb, _width(tb))
    if ia.dtype != ib.dtype:
        ia, ib = ia.astype(object), ib.astype(object)
    return np.asarray(_CMP[op](ia, ib), dtype=bool)


def _compare_float(a: fi, x: np.ndarray, op: str) -> np.ndarray:
    """Compare a fi with floats exactly: against floor/ceil of ``x * 2**F``, clamped."""
    T = a._type
    wide = numerictype(True, T.word_length + 2, T.fraction_length)
    nan = np.isnan(x)
    xs = np.where(nan, 0.0, x)
    fl = quantize_array(xs, wide, Rounding.FLOOR, Overflow.SATURATE, "raise", None, "compare",
                        "compare")
    ce = quantize_array(xs, wide, Rounding.CEIL, Overflow.SATURATE, "raise", None, "compare",
                        "compare")
    ia = a._int
    if ia.dtype != fl.dtype:
        ia, fl, ce = ia.astype(object), fl.astype(object), ce.astype(object)
    if op == "eq":
        res = (fl == ce) & (ia == fl)
    elif op == "ne":
        res = ~((fl == ce) & (ia == fl))
    elif op == "lt":
        res = ia < ce
    elif op == "le":
        res = ia <= fl
    elif op == "gt":
        res = ia > fl
    else:
        res = ia >= ce
    res = np.asarray(res, dtype=bool)
    if nan.any():
        res = np.where(nan, op == "ne", res)
    return res


_SWAP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def compare(a, b, op: str) -> np.ndarray:
    """Exact comparison of real-world values; returns a numpy bool array."""
    if not isinstance(a, fi):
        return compare(b, a, _SWAP[op])
    if isinstance(b, fi):
        return _compare_fi(a, b, op)
    as_int = _int_operand(b)
    if as_int is not None:
        return _compare_fi(a, as_int, op)
    arr = as_value_array(b, "compare")
    if arr.dtype.kind == "f":
        return _compare_float(a, arr.astype(np.float64), op)
    # exact objects (Python ints, Fractions): exact fi of a type that holds them
    from ._fi import fi as fi_cls
    exact = fi_cls(arr, True, 4096)
    return _compare_fi(a, exact, op)


def maximum(a, b) -> fi:
    """Elementwise maximum, in the smallest type that holds both exactly."""
    return _select(a, b, "ge")


def minimum(a, b) -> fi:
    """Elementwise minimum, in the smallest type that holds both exactly."""
    return _select(a, b, "le")


def _select(a, b, op: str) -> fi:
    F, local = resolve_fimath((a, b), "maximum" if op == "ge" else "minimum")
    if not isinstance(a, fi):
        a = to_fi_operand(a, b, F, "best", "maximum")
    if not isinstance(b, fi):
        b = to_fi_operand(b, a, F, "best", "maximum")
    R = _rules.union_type([a._type, b._type])
    ia = lshift_exact(a._int, R.fraction_length - a.fraction_length, _width(a._type))
    ib = lshift_exact(b._int, R.fraction_length - b.fraction_length, _width(b._type))
    if ia.dtype != ib.dtype:
        ia, ib = ia.astype(object), ib.astype(object)
    pick = _compare_fi(a, b, op)
    return make_fi(as_storage(np.where(pick, ia, ib), R), R, local)
