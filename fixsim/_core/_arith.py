"""Elementwise arithmetic and comparisons on ``fi``: exact, then cast per the fimath.

Every operation computes the exact result in an integer representation wide enough to hold it
(int64 where the operand types allow, Python ints otherwise), and then requantizes into the
result type that the fimath's rules give (``_rules``). Nothing passes through float.
"""

from __future__ import annotations

import functools
import numbers
import operator
import sys
import weakref
from fractions import Fraction

import numpy as np

from .._kernels import lazy
from . import _fimath as _fimath_module
from . import _probe, _rules
from ._convert import as_value_array, best_fraction_length, integer_dtype_type
from ._fi import fi, make_fi
from ._fimath import current_fimath, fimath
from ._modes import Overflow, Rounding
from ._numerictype import MAX_WORD_LENGTH, numerictype
from ._quantize import (
    _increment_obj,
    as_storage,
    quantize_array,
    quantize_float,
    requantize,
    requantize_product,
    stochastic_words,
    storage_kind,
)

_ew = lazy("fixsim._kernels._elementwise")

__all__ = ["resolve_fimath", "add", "subtract", "multiply", "rdivide", "divide", "negate",
           "absolute", "compare", "to_fi_operand", "cast_ints", "lshift_exact", "maximum",
           "minimum", "fits_int64"]

# cached result-type rules (numerictype and fimath are immutable and hashable)
_add_type = functools.lru_cache(maxsize=4096)(_rules.add_type)
_sub_type = functools.lru_cache(maxsize=4096)(_rules.sub_type)
_mul_type = functools.lru_cache(maxsize=4096)(_rules.mul_type)
_div_type = functools.lru_cache(maxsize=4096)(_rules.div_type)
_ideal_add = functools.lru_cache(maxsize=4096)(_rules.ideal_add_parts)


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


def _parts(T: numerictype) -> tuple[bool, int, int]:
    return (T.signed, T.word_length, T.fraction_length)


def _exact_src(width: int, fraction_length: int) -> numerictype:
    """The type of exact intermediate integers (``width`` bits, two's complement) that are
    cast into a result type. A requantization reads only the source's fraction length, so the
    word length is informative and capped at the widest numerictype."""
    return numerictype(True, min(max(width, 2), MAX_WORD_LENGTH), fraction_length)


def _nd(x) -> np.ndarray:
    """*x* as an ndarray: numpy hands back a bare scalar (a numpy scalar, or a Python int
    for object arrays) from arithmetic on 0-d arrays, and a fi must hold an array."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def lshift_exact(ints: np.ndarray, k: int, width: int) -> np.ndarray:
    """``ints * 2**k`` (k >= 0) exactly: int64 when ``width + k <= 63``, else Python ints."""
    if k == 0 and ints.dtype != np.uint64:
        return ints
    if ints.dtype == np.int64 and width + k <= 63:
        return np.asarray(ints << k)
    # np.asarray keeps a 0-d result an array (numpy would hand back a bare Python int)
    return np.asarray(ints.astype(object) << k, dtype=object)


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


def check_shapes(sa: tuple, sb: tuple, method: str) -> None:
    """Raise a ValueError naming *method* when operand shapes *sa* and *sb* do not broadcast
    (regression: numpy's bare "operands could not be broadcast" named no operation)."""
    if sa != sb and sa != () and sb != ():
        try:
            np.broadcast_shapes(sa, sb)
        except ValueError:
            raise ValueError(f"{method}: the operand shapes {sa} and {sb} do not broadcast "
                             "(numpy's broadcasting rules).") from None


def _pair(a, b, how: str, method: str):
    F, local = resolve_fimath((a, b), method)
    if not isinstance(a, fi):
        a = to_fi_operand(a, b, F, how, method)
    elif not isinstance(b, fi):
        b = to_fi_operand(b, a, F, how, method)
    check_shapes(a.shape, b.shape, method)
    return a, b, F, local


def _width(T: numerictype) -> int:
    """Bits a two's complement int needs to hold every value of *T*."""
    return T.word_length + (0 if T.signed else 1)


def _exact_sum(a: fi, b: fi, f: int, subtract: bool) -> tuple[np.ndarray, int]:
    """Exact ``a +- b`` as integers at fraction length *f* (and the bits they need)."""
    ta, tb = a._type, b._type
    ka, kb = f - ta.fraction_length, f - tb.fraction_length
    width = max(_width(ta) + ka, _width(tb) + kb) + 1
    ia, ib = a._int, b._int
    if (width <= 63 and ia.dtype == np.int64 and ib.dtype == np.int64 and ia.shape == ib.shape
            and ia.size > 64):
        # one fused pass (the aligned operands and the sum fit int64: width <= 63)
        out = np.empty(ia.shape, dtype=np.int64)
        kernel = _ew.aligned_sub if subtract else _ew.aligned_add
        kernel(np.ascontiguousarray(ia).reshape(-1), ka, np.ascontiguousarray(ib).reshape(-1),
               kb, out.reshape(-1))
        return out, width
    ia = lshift_exact(a._int, ka, _width(ta))
    ib = lshift_exact(b._int, kb, _width(tb))
    if width > 63 or ia.dtype != ib.dtype:
        ia = ia.astype(object) if ia.dtype != object else ia
        ib = ib.astype(object) if ib.dtype != object else ib
    return _nd(ia - ib if subtract else ia + ib), width


def _sum_op(a, b, subtract: bool, method: str) -> fi:
    a, b, F, local = _pair(a, b, "same", method)
    ta, tb = a._type, b._type
    R = (_sub_type if subtract else _add_type)(ta, tb, F)
    if F.sum_mode != "full" and F.cast_before_sum:
        a = make_fi(cast_ints(a._int, ta, R, F, method, method), R, None)
        b = make_fi(cast_ints(b._int, tb, R, F, method, method), R, None)
        ints, _ = _exact_sum(a, b, R.fraction_length, subtract)
        src = _exact_src(R.word_length + 2, R.fraction_length)
        return make_fi(cast_ints(ints, src, R, F, method, method), R, local)
    ideal = _ideal_add(ta, tb, F.rules, subtract)
    ints, width = _exact_sum(a, b, ideal[2], subtract)
    if _parts(R) == ideal and not (subtract and not R.signed):
        return make_fi(as_storage(ints, R) if ints.dtype != _dtype_of(R) else ints, R, local)
    src = _exact_src(width, ideal[2])
    return make_fi(cast_ints(ints, src, R, F, method, method), R, local)


def _dtype_of(T: numerictype):
    kind = storage_kind(T)
    return np.dtype(np.int64) if kind == "i64" else (np.dtype(np.uint64) if kind == "u64"
                                                      else np.dtype(object))


# -- scalar fast path ---------------------------------------------------------------------
# One fi scalar op in Python costs far more in dispatch than in arithmetic. For two 0-d fi
# whose full-precision result fits int64, the result type and alignment shifts are looked up
# in a plan keyed by the identities of the two types and the governing fimath (the plan keeps
# references to them, so the identities stay valid) and the value is computed in Python ints.
_new = object.__new__
_fimath_var = _fimath_module._current


def _make_plan(op: str, ta: numerictype, tb: numerictype, F: fimath):
    """``(R, ka, kb, refs)`` for the fast path, or False where it does not apply."""
    if storage_kind(ta) != "i64" or storage_kind(tb) != "i64":
        return False
    if op == "mul":
        if F.product_mode != "full" or _width(ta) + _width(tb) > 63:
            return False
        R = _mul_type(ta, tb, F)
        return (R, 0, 0, (ta, tb, F))
    if F.sum_mode != "full" or (op == "sub" and not (ta.signed or tb.signed)):
        return False
    R = (_sub_type if op == "sub" else _add_type)(ta, tb, F)
    if R.word_length > 62:
        return False
    f = R.fraction_length
    return (R, f - ta.fraction_length, f - tb.fraction_length, (ta, tb, F))


def _plan_for(plans: dict, slot: int, op: str, ta: numerictype, tb: numerictype, F: fimath):
    """Look up (or make and cache) the plan for *op* on types *ta*, *tb* under *F*, and make it
    the one remembered in ``_last[slot]``."""
    key = (id(ta), id(tb), id(F))
    plan = plans.get(key)
    if plan is None:
        if len(plans) > 4096:  # bounded: fimaths made in a loop must not pile up
            plans.clear()
        plan = plans[key] = _make_plan(op, ta, tb, F)
    if plan:
        # the plan holds references to ta, tb and F, so the identities compared stay valid;
        # one tuple is stored at once, so a thread switch cannot mix two plans
        _last[slot] = (ta, tb, F, plan)
    return plan


_PLANS_ADD: dict = {}
_PLANS_SUB: dict = {}
_PLANS_MUL: dict = {}
_fimath_get = _fimath_var.get
# per operation (add, sub, mul): the last plan used and the objects it was made for; a
# repeated operation compares identities instead of hashing a key
_last = [(None, None, None, None)] * 3


# The three fast paths below are written out in full (no shared helper call): each call saved
# is a measurable part of a scalar operation. They return None where the general path applies:
# an operand is not 0-d, two local fimaths that are different objects, or no plan.
def _scalar_add(a: fi, b: fi):
    """``a + b`` for two 0-d fi on the fast path, or None."""
    x = a._i
    if x is None:
        x = a._v
        if x is None:
            return None
    elif x.ndim:
        return None
    else:
        x = x.item()
    y = b._i
    if y is None:
        y = b._v
        if y is None:
            return None
    elif y.ndim:
        return None
    else:
        y = y.item()
    local = a._fimath
    fb = b._fimath
    if local is None:
        local = fb
        F = _fimath_get() if fb is None else fb
    elif fb is None or fb is local:
        F = local
    else:
        return None  # possibly two different local fimaths: the general path decides
    ta = a._type
    tb = b._type
    last = _last[0]
    if last[0] is ta and last[1] is tb and last[2] is F:
        plan = last[3]
    else:
        plan = _plan_for(_PLANS_ADD, 0, "add", ta, tb, F)
        if not plan:
            return None
    out = _new(fi)
    out._i = None
    out._v = (x << plan[1]) + (y << plan[2])
    out._type = plan[0]
    out._fimath = local
    return out


def _scalar_sub(a: fi, b: fi):
    """``a - b`` for two 0-d fi on the fast path, or None."""
    x = a._i
    if x is None:
        x = a._v
        if x is None:
            return None
    elif x.ndim:
        return None
    else:
        x = x.item()
    y = b._i
    if y is None:
        y = b._v
        if y is None:
            return None
    elif y.ndim:
        return None
    else:
        y = y.item()
    local = a._fimath
    fb = b._fimath
    if local is None:
        local = fb
        F = _fimath_get() if fb is None else fb
    elif fb is None or fb is local:
        F = local
    else:
        return None
    ta = a._type
    tb = b._type
    last = _last[1]
    if last[0] is ta and last[1] is tb and last[2] is F:
        plan = last[3]
    else:
        plan = _plan_for(_PLANS_SUB, 1, "sub", ta, tb, F)
        if not plan:
            return None
    out = _new(fi)
    out._i = None
    out._v = (x << plan[1]) - (y << plan[2])
    out._type = plan[0]
    out._fimath = local
    return out


def _scalar_mul(a: fi, b: fi):
    """``a * b`` for two 0-d fi on the fast path, or None."""
    x = a._i
    if x is None:
        x = a._v
        if x is None:
            return None
    elif x.ndim:
        return None
    else:
        x = x.item()
    y = b._i
    if y is None:
        y = b._v
        if y is None:
            return None
    elif y.ndim:
        return None
    else:
        y = y.item()
    local = a._fimath
    fb = b._fimath
    if local is None:
        local = fb
        F = _fimath_get() if fb is None else fb
    elif fb is None or fb is local:
        F = local
    else:
        return None
    ta = a._type
    tb = b._type
    last = _last[2]
    if last[0] is ta and last[1] is tb and last[2] is F:
        plan = last[3]
    else:
        plan = _plan_for(_PLANS_MUL, 2, "mul", ta, tb, F)
        if not plan:
            return None
    out = _new(fi)
    out._i = None
    out._v = x * y
    out._type = plan[0]
    out._fimath = local
    return out


_SCALAR_OPS = {"add": _scalar_add, "sub": _scalar_sub, "mul": _scalar_mul}


def _scalar(op: str, a: fi, b: fi):
    """The fast-path result of *op* (``'add'``, ``'sub'`` or ``'mul'``), or None."""
    return _SCALAR_OPS[op](a, b)


def add(a, b) -> fi:
    """``a + b`` per the fimath in force (MATLAB ``plus``)."""
    if type(a) is fi and type(b) is fi:
        out = _scalar_add(a, b)
        if out is not None:
            return out
    return _sum_op(a, b, False, "add")


def subtract(a, b) -> fi:
    """``a - b`` per the fimath in force (MATLAB ``minus``)."""
    if type(a) is fi and type(b) is fi:
        out = _scalar_sub(a, b)
        if out is not None:
            return out
    return _sum_op(a, b, True, "subtract")


def _exact_product(ia: np.ndarray, ta: numerictype, ib: np.ndarray, tb: numerictype):
    width = _width(ta) + _width(tb)
    if ia.dtype == np.int64 and ib.dtype == np.int64 and width <= 64:
        if ia.shape == ib.shape and ia.size > 64:  # one compiled pass (numpy's int64
            out = np.empty(ia.shape, dtype=np.int64)  # multiply does not vectorise)
            _ew.multiply(np.ascontiguousarray(ia).reshape(-1),
                         np.ascontiguousarray(ib).reshape(-1), out.reshape(-1))
            return out
        return _nd(ia * ib)
    oa = ia.astype(object) if ia.dtype != object else ia
    ob = ib.astype(object) if ib.dtype != object else ib
    return _nd(oa * ob)


# -- deferred products ------------------------------------------------------------------------
# A full-precision elementwise product of two large int64 fi is returned unevaluated: the result
# holds the operands' arrays (``_lz``) and builds its stored integers on first read (fi._int).
# ``(a * b).cast(T)`` then runs one fused multiply-requantize pass instead of two passes and a
# product array. Deferring is safe only while the operands' integers cannot change, so it is
# used only when each operand's array (and the chain of arrays it views) is referenced by that
# operand alone: no other fi, view or variable can write into it. The one remaining writer is
# the operand itself (fi.__setitem__), which settles every pending product first.
_DEFER_MIN = 4096  # below this many elements the bookkeeping costs more than a pass
# reference counts are exact only under CPython with the GIL (not PyPy or free-threaded builds)
_DEFER_OK = (hasattr(sys, "getrefcount") and sys.implementation.name == "cpython"
             and getattr(sys, "_is_gil_enabled", lambda: True)())
_PENDING: dict = {}  # id(product) -> weakref to it (fi is unhashable; no WeakSet)


def _forget(key: int, _ref=None) -> None:
    _PENDING.pop(key, None)


def _private(x: fi) -> bool:
    """Whether *x*'s stored array can be written only through *x* (see above)."""
    arr = x._i
    if type(arr) is not np.ndarray:
        return False
    held = _pending_refs(arr)
    # references: x's slot, ``arr``, getrefcount's argument, and pending products' operands
    if sys.getrefcount(arr) != 3 + held:
        return False
    base = arr.base
    del arr
    while base is not None:
        # references: the view's ``base`` pointer, ``base`` and getrefcount's argument
        if type(base) is not np.ndarray or sys.getrefcount(base) != 3:
            return False
        base = base.base
    return True


def _pending_refs(arr: np.ndarray) -> int:
    """How many references the pending products hold to *arr* (as an operand)."""
    n = 0
    for ref in list(_PENDING.values()):
        x = ref()
        if x is not None and x._i is None:
            for op in x._lz:
                n += op is arr
    return n


def _defer_product(a: fi, b: fi, R: numerictype, local) -> fi | None:
    """The deferred full-precision product ``a * b`` of type *R*, or None (compute it now)."""
    ia = a._int
    ib = b._int
    if (not _DEFER_OK or ia.dtype != np.int64 or ib.dtype != np.int64 or ia.shape != ib.shape
            or ia.size < _DEFER_MIN or storage_kind(R) != "i64"
            or _width(a._type) + _width(b._type) > 64):
        return None
    del ia, ib
    if not (_private(a) and _private(b)):
        return None
    out = _new(fi)
    out._i = None
    out._v = None
    out._lz = (a._i, b._i)
    out._type = R
    out._fimath = local
    key = id(out)
    _PENDING[key] = weakref.ref(out, functools.partial(_forget, key))
    return out


def _exact_product_i64(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Elementwise int64 product of two equal-shape int64 arrays (the caller checks width)."""
    out = np.empty(ia.shape, dtype=np.int64)
    _ew.multiply(np.ascontiguousarray(ia).reshape(-1), np.ascontiguousarray(ib).reshape(-1),
                 out.reshape(-1))
    return out


def settle(x: fi) -> np.ndarray:
    """The stored integers of a deferred result, built now: a product (the operands are
    released) or the limbs of a 65- to 128-bit quantization (released too)."""
    lz = x._lz
    if type(lz) is not tuple:  # _quantize.WideLimbs: never in _PENDING (no shared operands)
        x._lz = None
        return lz.to_object()
    ia, ib = lz
    ints = _exact_product_i64(ia, ib)
    x._lz = None
    _forget(id(x))
    return ints


def settle_all() -> None:
    """Compute every deferred product now (call before writing into a fi's array in place)."""
    for ref in list(_PENDING.values()):
        x = ref()
        if x is not None and x._i is None:
            x._materialize()


def cast_deferred(x: fi, T: numerictype, rounding: Rounding, overflow: Overflow, seed,
                  method: str):
    """``requantize(x._int, x._type, T, ...)`` for a deferred result *x*: a product fused
    where the kernel applies, wide limbs requantized from the limbs where that applies (*x*
    then stays deferred)."""
    lz = x._lz
    if type(lz) is not tuple:  # _quantize.WideLimbs
        res = lz.requantize(T, rounding, overflow, method)
        if res is None:
            res = requantize(x._int, x._type, T, rounding, overflow, seed, method)
        return res
    ia, ib = lz
    res = None
    if seed is None:
        res = requantize_product(ia, ib, x._type.fraction_length, T, rounding, overflow, method)
    if res is None:
        res = requantize(x._int, x._type, T, rounding, overflow, seed, method)
    return res


def multiply(a, b) -> fi:
    """``a * b`` elementwise per the fimath in force (MATLAB ``times``)."""
    if type(a) is fi and type(b) is fi:
        out = _scalar_mul(a, b)
        if out is not None:
            return out
        both_fi = True
    else:
        both_fi = False
    a, b, F, local = _pair(a, b, "best", "multiply")
    ta, tb = a._type, b._type
    R = _mul_type(ta, tb, F)
    ideal = _rules.ideal_mul_parts(ta, tb)
    if both_fi and _parts(R) == ideal:
        out = _defer_product(a, b, R, local)
        if out is not None:
            return out
    ints = _exact_product(a._int, ta, b._int, tb)
    if _parts(R) == ideal:
        return make_fi(as_storage(ints, R) if ints.dtype != _dtype_of(R) else ints, R, local)
    src = _exact_src(_width(ta) + _width(tb), ideal[2])
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


def sticky_quotient(num: np.ndarray, den: np.ndarray, guard: int) -> np.ndarray:
    """``num / den`` (den != 0) as integers at ``guard`` extra fraction bits, exactly enough for
    a later requantization to drop those bits as if it rounded the exact quotient.

    The result is ``2 * floor(q * 2**(guard - 1)) + sticky`` where ``q = num / den`` and
    ``sticky`` is 1 when that floor was inexact. It has the same ``floor(q)``, the same
    comparison of ``frac(q)`` with one half, and the same "is it exact" answer as ``q``, so
    every deterministic rounding mode and the overflow modes (``wrap_sm`` reads ``floor(q)``)
    give the result of the exact quotient, and an underflow is seen as one. With 64 guard bits
    stochastic rounding draws its probability from the exact fraction to within 2**-64.
    ``num`` and ``den`` must be int64 arrays holding values below 2**62 in magnitude, or
    object arrays.
    """
    num, den = np.broadcast_arrays(num, den)
    shape = num.shape
    num, den = num.ravel(), den.ravel()  # 1-d: object arithmetic on 0-d arrays gives ints
    neg = den < 0
    num = np.where(neg, -num, num)
    den = np.where(neg, -den, den)
    if num.dtype == object or den.dtype == object:
        num, den = num.astype(object), den.astype(object)
    if guard > 1:
        num = num << (guard - 1) if num.dtype == object else num * (1 << (guard - 1))
    q = num // den
    sticky = (num - q * den) != 0
    out = 2 * q + sticky.astype(object if q.dtype == object else np.int64)
    return out.reshape(shape)


def _quotient(a: fi, b: fi, R: numerictype, rounding: Rounding,
              method: str) -> tuple[np.ndarray, numerictype]:
    """The quotient ``a / b`` ready to be cast into *R*: ``(integers, their type)``.

    The integers carry guard bits (see :func:`sticky_quotient`); casting them into *R* with a
    rounding mode rounds the exact quotient, once, and counts overflows and underflows.
    """
    ta, tb = a._type, b._type
    _check_divisor(b._int, method)
    guard = 64 if rounding == Rounding.STOCHASTIC else 2
    # a/b * 2**FR = ia * 2**k / ib; sticky_quotient scales that by 2**guard
    k = R.fraction_length - ta.fraction_length + tb.fraction_length
    ka, kb = max(k, 0), max(-k, 0)
    wa, wb = _width(ta) + ka, _width(tb) + kb
    ia = lshift_exact(a._int, ka, _width(ta))
    ib = lshift_exact(b._int, kb, _width(tb))
    if (wa + guard > 61 or wb > 61 or ia.dtype != np.int64 or ib.dtype != np.int64):
        ia, ib = ia.astype(object), ib.astype(object)
    ints = sticky_quotient(ia, ib, guard)
    # |ia / ib| <= |ia| (|ib| >= 1), so the quotient needs wa + guard bits and a sign bit
    src = _exact_src(wa + guard + 1, R.fraction_length + guard)
    return ints, src


def rdivide(a, b) -> fi:
    """``a / b`` (MATLAB ``rdivide``; under ``rules='hls'`` the ac/ap quotient type, truncated
    toward zero)."""
    method = "rdivide"
    a, b, F, local = _pair(a, b, "best", method)
    R = _div_type(a._type, b._type, F)
    rounding = Rounding.ZERO if F.rules == "hls" else F.rounding
    ints, src = _quotient(a, b, R, rounding, method)
    return make_fi(cast_ints(ints, src, R, F, method, method, rounding=rounding), R, local)


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
    ints, src = _quotient(a, b, T, F.rounding, method)
    return make_fi(cast_ints(ints, src, T, F, method, method), T, a._fimath)


def _unary(a: fi, R: numerictype, values: np.ndarray, method: str, local) -> fi:
    F = a._fimath if a._fimath is not None else current_fimath()
    src = _exact_src(_width(a._type) + 1, a._type.fraction_length)
    return make_fi(cast_ints(values, src, R, F, method, method), R, local)


def _wide_ints(a: fi) -> np.ndarray:
    ints = a._int
    if ints.dtype == np.int64 and _width(a._type) <= 63:
        return ints
    return ints.astype(object)


def negate(a: fi) -> fi:
    """``-a``: MATLAB keeps the type (``-min`` saturates or wraps per the fimath)."""
    F = a.fimath
    return _unary(a, _rules.neg_type(a._type, F), _nd(-_wide_ints(a)), "negate", a._fimath)


def absolute(a: fi) -> fi:
    """``abs(a)``: MATLAB keeps the type (``abs(min)`` saturates or wraps per the fimath)."""
    F = a.fimath
    ints = _wide_ints(a)
    return _unary(a, _rules.abs_type(a._type, F), _nd(np.abs(ints) if ints.dtype != object
                                                      else np.where(ints < 0, -ints, ints)),
                  "abs", a._fimath)


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
    """Compare a fi with floats exactly: against floor/ceil of ``x * 2**F``, clamped.

    The floats are quantized with :func:`quantize_float` directly, so nothing reaches the
    quantization probe: a comparison is not a quantization.
    """
    T = a._type
    wide = numerictype(True, T.word_length + 2, T.fraction_length)
    nan = np.isnan(x)
    xs = np.where(nan, 0.0, x)
    fl, _, _ = quantize_float(xs, wide, Rounding.FLOOR, Overflow.SATURATE, "raise", None,
                              "compare")
    ce, _, _ = quantize_float(xs, wide, Rounding.CEIL, Overflow.SATURATE, "raise", None,
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


def _exact_number(v):
    """A number as an exact Fraction, or the float itself when it is NaN or infinite."""
    if isinstance(v, float | np.floating) and not np.isfinite(v):
        return float(v)
    if isinstance(v, numbers.Rational):
        return Fraction(v)
    return Fraction(*v.as_integer_ratio())


def _compare_objects(a: fi, arr: np.ndarray, op: str) -> np.ndarray:
    """Exact elementwise comparison with Python ints, Fractions and other exact numbers."""
    ia, xs = np.broadcast_arrays(a._int, arr)
    scale = a._type.exact_eps
    cmp = _CMP[op]
    out = np.empty(ia.shape, dtype=bool)
    flat_out = out.reshape(-1)
    for k, (i, x) in enumerate(zip(ia.ravel(), xs.ravel(), strict=True)):
        xe = _exact_number(x)
        if isinstance(xe, float):  # NaN compares unequal to everything; +-inf beyond all
            flat_out[k] = op == "ne" if xe != xe else cmp(0, xe)
        else:
            flat_out[k] = cmp(Fraction(int(i)) * scale, xe)
    return out


_SWAP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def compare(a, b, op: str) -> np.ndarray:
    """Exact comparison of real-world values; returns a numpy bool array."""
    if not isinstance(a, fi):
        return compare(b, a, _SWAP[op])
    check_shapes(a.shape, np.shape(b), f"compare ({op})")
    if isinstance(b, fi):
        return _compare_fi(a, b, op)
    as_int = _int_operand(b)
    if as_int is not None:
        return _compare_fi(a, as_int, op)
    arr = as_value_array(b, "compare")
    if arr.dtype.kind == "f" and arr.dtype.itemsize <= 8 and \
            a._type.word_length + 2 <= MAX_WORD_LENGTH:
        return _compare_float(a, arr.astype(np.float64), op)
    T = integer_dtype_type(arr.dtype)
    if T is not None:  # Python ints and bools arrive as numpy integer arrays: exact
        return _compare_fi(a, make_fi(as_storage(arr, T), T, None), op)
    return _compare_objects(a, arr, op)


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
