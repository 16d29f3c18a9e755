"""Typed intervals: the fi arithmetic of a fixed-point run, on :class:`Interval`.

In a fixed-point run every named cast returns a ``fi``, and the operations between the casts
are fi operations. Most are exact: full precision gives a result type that holds every result.
Some are not:

- ``-a`` and ``abs(a)`` keep ``a``'s type (MATLAB), so the most negative value of a signed
  type saturates to the largest (or wraps to itself, per the fimath);
- negation of an unsigned type, and subtraction of two unsigned types, stay unsigned and
  saturate at 0;
- a number operand is quantized first (``x + 0.3``: 0.3 cast to x's type; ``x * 0.1``: 0.1 in
  best precision at x's word length);
- division quantizes the quotient, and subscripted assignment casts into the array's type;
- a fimath whose product or sum mode is not full precision rounds and overflows its results.

An Interval that stands for a fi (a named cast's output under a fixed type, or a fi operand)
carries that fi's numerictype and local fimath (``Interval._fi``). An operation whose Interval
operands all carry one gets its result's type and fimath from fi itself, by running the same
operation on zero-valued fi of the operands' types and shapes (so no type rule is restated
here). Its range is the hull of the real result range and that range cast into the result
type: bounds rounded outward to the type's grid (every rounding mode gives one of the two
grid points around a value, whichever mode the operation uses) and overflowed by the
fimath's overflow mode (saturation is monotone; wrapping past the type gives its full
range). The real range stays in because a program may take a fi's values as floats (``x.data``) and
compute on in double, which derive, seeing the same Interval, cannot tell apart. So the
derived range holds the fi results and the real ones: they differ only where the fi operation
rounds or overflows. An operation with an untyped Interval operand (a ``'double'`` signal,
say) gives an untyped result, as before.

With a fimath that is not full precision, an operation of more than two terms (``sum``,
``cumsum``, ``mean``, ``@``, ``dot``, ``convolve``) casts every product and partial sum in
fi; its range is then widened to the result type's whole range (sound, not tight).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ._interval import Interval, _make, cast_pairs, ranges_silenced
from ._modes import Overflow, Rounding
from ._probe import silenced

__all__ = ["any_typed", "fi_result", "fit", "tag", "typed_like_run"]


def tag(iv: Interval, T, F) -> Interval:
    """Mark *iv* as standing for a fi of type *T* with local fimath *F* (None: the fimath in
    force); returns *iv*."""
    iv._fi = (T, F)
    return iv


def _walk(x):
    if isinstance(x, list | tuple):
        for v in x:
            yield from _walk(v)
    else:
        yield x


def any_typed(args, kwargs) -> bool:
    """Whether any Interval among the arguments stands for a fi."""
    return any(isinstance(v, Interval) and v._fi is not None
               for v in _walk(list(args) + list(kwargs.values())))


class _Untyped(Exception):
    """An untyped Interval operand: the result stays untyped."""


def _proxy(x, nonzero: bool = False):
    """A zero-valued fi of typed Interval *x*'s shape and type (the smallest nonzero stored
    value instead where *nonzero*: a divisor)."""
    if isinstance(x, list | tuple):
        return type(x)(_proxy(v) for v in x)
    if not isinstance(x, Interval):
        return x
    if x._fi is None:
        raise _Untyped
    from ._fi import make_fi
    from ._quantize import as_storage
    T, F = x._fi
    fill = (1 if T.int_max >= 1 else -1) if nonzero else 0
    return make_fi(as_storage(np.full(x.shape, fill, dtype=np.int64), T), T, F)


def _governing(F):
    if F is not None:
        return F
    from ._fimath import current_fimath
    return current_fimath()


def fit(iv: Interval, T, F) -> Interval:
    """*iv*'s real range and what fi of type *T* under fimath *F* makes of it: unchanged where
    every bound is on *T*'s grid and inside its range, else the hull of the real bounds and
    the bounds rounded outward to the grid and overflowed by *F*'s overflow mode. The result
    is tagged with ``(T, F)``."""
    lo, hi = np.broadcast_arrays(iv.lo, iv.hi)
    f = T.fraction_length
    if iv.bounded and lo.size and -900 < f < 900 and T.word_length < 900:
        smin, smax = np.ldexp(float(T.int_min), -f), np.ldexp(float(T.int_max), -f)
        # float(int_min/int_max) round to nearest; compare against the exact ends' inner side
        inside = bool((lo >= smin).all() and (hi <= smax).all()) \
            and int(np.ldexp(smin, f)) >= T.int_min and int(np.ldexp(smax, f)) <= T.int_max
        if inside:
            s_lo, s_hi = np.ldexp(lo, f), np.ldexp(hi, f)
            if (np.isfinite(s_lo).all() and np.isfinite(s_hi).all()
                    and (s_lo == np.floor(s_lo)).all() and (s_hi == np.floor(s_hi)).all()):
                return tag(Interval._raw(iv.lo, iv.hi, iv.reason), T, F)
    if not lo.size:
        return tag(Interval._raw(iv.lo, iv.hi, iv.reason), T, F)
    G = _governing(F)
    # outward to the grid (the floor of the low end, the ceiling of the high one: STOCHASTIC's
    # extremes), whatever rounding the operation uses (HLS division truncates, say); every
    # rounding of a value in [lo, hi] lies there
    fi_lo, fi_hi = cast_pairs(lo, hi, T, Rounding.STOCHASTIC, G.overflow)
    # the hull of both: the program may have taken the fi's values as floats (``x.data``,
    # ``np.asarray``) and computed on, which derive, seeing the same Interval, cannot tell
    return tag(_make(np.minimum(lo, fi_lo), np.maximum(hi, fi_hi), iv), T, F)


#: binary operations that convert a number operand to fi first, and how (see to_fi_operand)
_CONVERTS = {operator.add: "same", operator.sub: "same", np.add: "same", np.subtract: "same",
             operator.mul: "best", np.multiply: "best", operator.truediv: "best",
             np.divide: "best", np.maximum: "best", np.minimum: "best",
             # sums of products convert a number or float array factor as MATLAB converts a
             # factor (regression: derive under a fixed table bounded np.convolve(x, h) of a
             # fi x with the float taps h unquantized, but fi quantizes h to x's word length)
             np.convolve: "best", np.correlate: "best", np.dot: "best", np.vdot: "best",
             np.inner: "best", np.matmul: "best", operator.matmul: "best"}


def _converted_number(fn, args, pargs, G):
    """``(index, fi)``: the number operand of a binary fi operation quantized as fi does it
    first (``x * 0.1`` multiplies by 0.1 in best precision at x's word length, ``x + 0.3``
    adds 0.3 cast to x's type), or None where no number is converted."""
    from ._arith import to_fi_operand
    from ._fi import fi
    how = _CONVERTS.get(fn)
    if how is None or len(args) < 2 or (len(args) > 2 and fn not in _MANY_TERMS):
        return None  # the operands are the first two arguments (then convolve's mode)
    k = [i for i, a in enumerate(args[:2]) if not isinstance(a, Interval | fi)]
    if len(k) != 1:
        return None
    i = k[0]
    try:
        with silenced():
            q = to_fi_operand(args[i], pargs[1 - i], G, how, "derive")
        x = np.asarray(args[i], dtype=np.float64)
    except Exception:  # not a number fi takes: the proxy run raised already
        return None
    from ._interval import as_interval
    qi = as_interval(q, "derive")
    if np.array_equal(qi.lo, x) and np.array_equal(qi.hi, x):
        return None  # fi holds the number exactly
    return i, q


def _hull(a: Interval, b: Interval) -> Interval:
    return _make(np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi), a, b)


def _facts(fn, args, kwargs, condition):
    """What fi does in this operation, independent of the interval bounds: ``(types, G,
    number)``, where *types* is the result's ``(numerictype, local fimath)`` (a list of them
    for a tuple result; None: not a fi), *G* the governing fimath and *number* what
    :func:`_converted_number` gives; or None if an Interval operand is untyped or fi
    refuses the operation."""
    from ._arith import resolve_fimath
    from ._fi import fi
    try:
        pargs = list(args)
        if condition and pargs and isinstance(pargs[0], Interval):
            pargs[0] = np.zeros(pargs[0].shape, dtype=bool)
        divides = fn in (operator.truediv, np.divide)
        pargs = [_proxy(a, nonzero=divides and k == 1) for k, a in enumerate(pargs)]
        pkwargs = {k: _proxy(v) for k, v in kwargs.items()}
    except _Untyped:
        return None
    try:
        G, _ = resolve_fimath([a for a in _walk(pargs) if isinstance(a, fi)], "derive")
        with silenced():  # not quantizations of the program: no recording sees them
            r = fn(*pargs, **pkwargs)
    except Exception:  # fi refuses it (or does it differently): keep the real range, untyped
        return None

    def types(v):
        return (v.numerictype, v._fimath) if isinstance(v, fi) else None
    rt = [types(v) for v in r] if isinstance(r, tuple) else types(r)
    return rt, G, _converted_number(fn, args, pargs, G)


_SCALARS = (bool, int, float, str, np.generic, type(None), slice)


def _sig(x):
    """A hashable stand-in for what an operand contributes to :func:`_facts` (TypeError if
    it has none: an array constant)."""
    from ._fi import fi
    if isinstance(x, Interval):
        return ("I", x._fi, x.shape)
    if isinstance(x, fi):
        return ("F", x.numerictype, x._fimath, x.shape)
    if isinstance(x, list | tuple):
        return (type(x).__name__, tuple(_sig(v) for v in x))
    if isinstance(x, _SCALARS):
        return ("N", type(x).__name__, x)
    raise TypeError


#: _facts by operation signature (a derive loop repeats the same few operations per sample)
_FACTS: dict = {}


def _cached_facts(fn, args, kwargs, condition):
    from ._fimath import current_fimath
    try:
        key = (fn, condition, tuple(_sig(a) for a in args),
               tuple(sorted((k, _sig(v)) for k, v in kwargs.items())), current_fimath())
        hash(key)
    except TypeError:
        return _facts(fn, args, kwargs, condition)
    if key not in _FACTS:
        if len(_FACTS) >= 4096:
            _FACTS.clear()
        _FACTS[key] = _facts(fn, args, kwargs, condition)
    return _FACTS[key]


def fi_result(result, impl, fn: Callable, args, kwargs, *, condition: bool = False):
    """The typed result of an operation on typed Intervals: *result* is its real range (an
    Interval, or a tuple of them), *impl* the interval implementation that gave it, *fn* the
    operation as fi runs it (a numpy function, a ufunc or an operator), *args*/*kwargs* its
    operands. *condition*: the first argument is a condition (``np.where``), a boolean array
    in the fi run."""
    facts = _cached_facts(fn, args, kwargs, condition)
    if facts is None:
        return result
    rt, G, number = facts
    if isinstance(result, tuple):
        if not isinstance(rt, list) or len(rt) != len(result):
            return result
        return tuple(fit(res, *t) if t is not None and isinstance(res, Interval) else res
                     for res, t in zip(result, rt, strict=True))
    if rt is None or isinstance(rt, list) or not isinstance(result, Interval):
        return result
    T, F = rt
    conv = None
    if number is not None:
        conv = list(args)
        conv[number[0]] = number[1]
        result = _hull(result, impl(*conv, **kwargs))
    full = G.sum_mode == "full" and G.product_mode == "full"
    if not full and fn in (operator.add, operator.sub, np.add, np.subtract) \
            and G.sum_mode != "full" and G.cast_before_sum:
        # fi casts both operands to the sum type first, then adds and casts again
        return tag(_hull(result, _cast_before_sum(fn, conv or args, T, F, G)), T, F)
    if not full and _many_terms(fn):
        # fi casts every product and partial sum, which the real range does not follow:
        # the hull with the result type's whole range holds whatever that gives
        return tag(_make(np.minimum(result.lo, _lower_float(T)),
                         np.maximum(result.hi, _upper_float(T)), result), T, F)
    return fit(result, T, F)


_MANY_TERMS = {np.sum, np.cumsum, np.mean, np.dot, np.vdot, np.inner, np.matmul,
               operator.matmul, np.convolve, np.correlate}


def _many_terms(fn) -> bool:
    """Whether *fn* sums more than two terms (or products) in one fi operation."""
    if fn in _MANY_TERMS:
        return True
    owner = getattr(fn, "__self__", None)  # ufunc.reduce / ufunc.accumulate
    return isinstance(owner, np.ufunc) and fn.__name__ in ("reduce", "accumulate")


def _lower_float(T) -> float:
    """A float at or below *T*'s smallest value."""
    from ._interval import _frac_bounds
    return _frac_bounds(Fraction(T.int_min) / Fraction(2) ** T.fraction_length)[0]


def _upper_float(T) -> float:
    """A float at or above *T*'s largest value."""
    from ._interval import _frac_bounds
    return _frac_bounds(Fraction(T.int_max) / Fraction(2) ** T.fraction_length)[1]


def _cast_before_sum(fn, args, T, F, G) -> Interval:
    from ._interval import add, as_interval, subtract
    a, b = (fit(as_interval(x, "derive"), T, G) for x in args)
    # the module functions: plain interval arithmetic (the operators would type it again)
    total = (subtract if fn in (operator.sub, np.subtract) else add)(a, b)
    return fit(Interval._raw(total.lo, total.hi, total.reason), T, F)


def typed_like_run(run: Callable[..., Any], args: tuple, out, *, always: bool = False):
    """Give the Interval output(s) *out* of a block (or a network) called on *args* the
    numerictype and fimath of the fi the run returns (``fx.tool.derive`` under a fixed table:
    fi arithmetic after the block then follows fi's rules, ``-y`` of an unsigned output
    saturating at 0, say).

    *run* is called, silenced (no quantization probe, recorder or range listener hears it),
    on *args* with every typed Interval replaced by a zero-valued fi of its type: a deep copy
    of a stateful block, so the state does not move. When no argument is a typed Interval (a
    double run) *out* is returned as it is, unless *always* (a source such as an NCO, whose
    output type does not depend on its argument). Outputs the run does not return as a real
    fi (double mode, complex, an error) stay untyped.
    """
    from ._typetable import signals_silenced
    if not (always or any_typed(args, {})):
        return out
    try:
        proxies = [_proxy(a) for a in args]
    except _Untyped:  # a typed and an untyped operand: the run mixes fi and float
        return out
    try:
        with silenced(), signals_silenced(), ranges_silenced():
            res = run(*proxies)
    except Exception:  # noqa: BLE001 - the run fails too; derive keeps the real range
        return out
    return _tag_like(out, res)


def _tag_like(out, res):
    from ._fi import fi
    if isinstance(out, Interval):
        if isinstance(res, fi) and out._fi is None:
            # the block's output values are values of its fi output type: its bound rounded
            # outward to that type's grid (a block's own bound may leave out its last
            # rounding), and where the bound leaves the type's range the block's cast
            # overflowed (saturated, wrapped, ...), so the output may be anywhere in the range
            T = res.numerictype
            lo, hi = np.broadcast_arrays(out.lo, out.hi)
            if lo.size:
                lo, hi = cast_pairs(lo, hi, T, Rounding.STOCHASTIC, Overflow.WRAP)
            return tag(Interval._raw(np.array(lo), np.array(hi), out.reason), T,
                       res.local_fimath)
        return out
    if isinstance(out, tuple) and isinstance(res, tuple) and len(out) == len(res):
        return tuple(_tag_like(o, r) for o, r in zip(out, res, strict=True))
    return out
