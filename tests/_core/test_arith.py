"""Arithmetic and comparisons: fixsim against the exact reference.

``+ - * /``, ``fx.divide``, unary ``-`` and ``abs``, and the six comparisons, on random types
(W 1..130, F -20..W+20) under ``rules='matlab'`` (full precision, and keep_lsb / keep_msb /
specify product and sum modes with cast_before_sum both ways, any rounding and overflow) and
``rules='hls'``. Result types, stored integers and overflow/underflow counts are all checked.
Mixed operands (fi with floats, Python ints, Fractions and numpy integers) follow MATLAB's
rules: a number added to a fi is cast to the fi's type; a number multiplying or dividing a fi
gets the fi's signedness and word length with best-precision scaling; a numpy integer is a fi
of its own type (fraction length 0).
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype

from . import reference as ref
from .test_quantize import SPECIAL_FLOATS, WIDTHS, nt, types

ARITH_MODES = ("full", "keep_lsb", "keep_msb", "specify")
CMP_OPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
           "gt": operator.gt, "ge": operator.ge}


@st.composite
def maths(draw, rules=None, signed_only=False, full=False):
    """A reference fimath. ``wrap_sm`` only when every type involved is signed."""
    rules = draw(st.sampled_from(["matlab", "hls"])) if rules is None else rules
    overflows = ref.OVERFLOWS if signed_only else tuple(o for o in ref.OVERFLOWS
                                                        if o != "wrap_sm")
    kw = dict(rounding=draw(st.sampled_from(ref.ROUNDINGS)),
              overflow=draw(st.sampled_from(overflows)), rules=rules)
    if not full and draw(st.booleans()):
        kw.update(product_mode=draw(st.sampled_from(ARITH_MODES)),
                  sum_mode=draw(st.sampled_from(ARITH_MODES)),
                  product_word_length=draw(WIDTHS),
                  product_fraction_length=draw(st.integers(-20, 150)),
                  sum_word_length=draw(WIDTHS),
                  sum_fraction_length=draw(st.integers(-20, 150)),
                  cast_before_sum=draw(st.booleans()))
    return ref.Math(**kw)


def fimath_of(M: ref.Math) -> fimath:
    return fimath(**M.kwargs())


@st.composite
def stored(draw, T, n):
    s, w, _ = T
    lo, hi = ref.int_bounds(s, w)
    edge = st.sampled_from([lo, hi, 0, 1, -1 if s else 1, lo + 1, hi - 1, hi // 2])
    return [min(max(v, lo), hi)
            for v in draw(st.lists(st.one_of(edge, st.integers(lo, hi)), min_size=n,
                                   max_size=n))]


@st.composite
def operands(draw, n=6, signed=None):
    ta = draw(types(signed=signed))
    tb = draw(types(signed=signed))
    return ta, draw(stored(ta, n)), tb, draw(stored(tb, n))


def make(values, T, scalar=False) -> fi:
    if scalar:  # a 0-d fi
        assert len(values) == 1
        return fi.from_int(values[0], nt(T))
    return fi.from_int(np.array(values, dtype=object), nt(T))


def as_ints(x) -> list[int]:
    return [int(v) for v in np.asarray(x.int).ravel()]


def check(results, got: fi, counts, what):
    """``results``: reference Results (one per element); ``got``: the fi; ``counts``: the
    count_quantization of the operation."""
    T = results[0].T
    assert all(r.T == T for r in results)
    assert got.numerictype == nt(T), (what, str(got.numerictype), T)
    want = [r.stored for r in results]
    g = as_ints(got)
    if g != want:
        bad = [(k, g[k], want[k]) for k in range(len(want)) if g[k] != want[k]]
        raise AssertionError(f"{what}: (index, fixsim, exact) {bad[:4]}")
    if counts is not None:
        assert counts.overflows == sum(r.overflows for r in results), (what, "overflows")
        assert counts.underflows == sum(r.underflows for r in results), (what, "underflows")


def union_type(ta, tb):
    """The smallest type holding every value of ta and of tb (searched, not derived)."""
    f = max(ta[2], tb[2])
    signed = ta[0] or tb[0]
    lo = min(ref.int_bounds(*ta[:2])[0] * ref.pow2(-ta[2]),
             ref.int_bounds(*tb[:2])[0] * ref.pow2(-tb[2]))
    hi = max(ref.int_bounds(*ta[:2])[1] * ref.pow2(-ta[2]),
             ref.int_bounds(*tb[:2])[1] * ref.pow2(-tb[2]))
    w = 1
    while not (ref.in_type(lo, (signed, w, f)) and ref.in_type(hi, (signed, w, f))):
        w += 1
    return (signed, w, f)


# -- fi (op) fi -------------------------------------------------------------------------------
def run_binary(ta, va, tb, vb, M: ref.Math, scalar=False):
    a, b = make(va, ta, scalar), make(vb, tb, scalar)
    F = fimath_of(M)
    tag = f"{nt(ta)} op {nt(tb)} under {F!r}"
    with F:
        for name, op, refop in (
                ("add", operator.add, lambda x, y: ref.add(x, ta, y, tb, M)),
                ("sub", operator.sub, lambda x, y: ref.add(x, ta, y, tb, M, subtract=True)),
                ("mul", operator.mul, lambda x, y: ref.multiply(x, ta, y, tb, M))):
            with fx.count_quantization() as c:
                r = op(a, b)
            check([refop(x, y) for x, y in zip(va, vb, strict=True)], r, c, f"{name} {tag}")
        keep = [k for k, y in enumerate(vb) if y != 0]
        if keep:
            a2 = make([va[k] for k in keep], ta, scalar)
            b2 = make([vb[k] for k in keep], tb, scalar)
            with fx.count_quantization() as c:
                r = a2 / b2
            check([ref.rdivide(va[k], ta, vb[k], tb, M) for k in keep], r, c, f"div {tag}")
        with fx.count_quantization() as c:
            r = -a
        check([ref.negate(x, ta, M) for x in va], r, c, f"neg {tag}")
        with fx.count_quantization() as c:
            r = abs(a)
        check([ref.absolute(x, ta, M) for x in va], r, c, f"abs {tag}")
    for name, fn, pick in (("maximum", np.maximum, max), ("minimum", np.minimum, min)):
        r = fn(a, b)
        U = union_type(ta, tb)
        assert r.numerictype == nt(U), (name, tag, str(r.numerictype), U)
        want = [ref.exact_stored(pick(ref.value_of(x, ta), ref.value_of(y, tb)), U)
                for x, y in zip(va, vb, strict=True)]
        assert as_ints(r) == want, (name, tag)
    for name, op in CMP_OPS.items():
        got = op(a, b)
        assert isinstance(got, np.ndarray) and got.dtype == bool
        want = [ref.compare(ref.value_of(x, ta), ref.value_of(y, tb), name)
                for x, y in zip(va, vb, strict=True)]
        assert np.atleast_1d(got).tolist() == want, (name, tag)


@given(operands(), maths(full=True, rules="matlab"))
def test_matlab_full_precision(ops, M):
    run_binary(*ops, M)


@given(operands(), maths(rules="hls", full=True))
def test_hls_rules(ops, M):
    run_binary(*ops, M)


@given(operands(), maths(rules="matlab"))
def test_matlab_product_and_sum_modes(ops, M):
    run_binary(*ops, M)


@given(operands(n=1), maths())
def test_scalar_operands(ops, M):
    """0-d fi (numpy hands back scalars from 0-d arithmetic; a fi must stay a 0-d array)."""
    run_binary(*ops, M, scalar=True)


@given(operands(signed=True), maths(signed_only=True))
def test_signed_operands_any_mode_including_wrap_sm(ops, M):
    run_binary(*ops, M)


@given(st.data())
def test_divide_into_a_given_type(data):
    ta, va, tb, vb = data.draw(operands())
    T = data.draw(types(signed=True if data.draw(st.booleans()) else None))
    M = data.draw(maths(signed_only=T[0]))
    keep = [k for k, y in enumerate(vb) if y != 0]
    if not keep:
        return
    va, vb = [va[k] for k in keep], [vb[k] for k in keep]
    with fimath_of(M), fx.count_quantization() as c:
        r = fx.divide(nt(T), make(va, ta), make(vb, tb))
    check([ref.divide(T, x, ta, y, tb, M) for x, y in zip(va, vb, strict=True)], r, c,
          f"divide({nt(T)}, {nt(ta)}, {nt(tb)})")


def test_division_by_zero_raises():
    a = fi([1.0, 2.0], 1, 16, 8)
    b = fi.from_int([1, 0], "sfix8_En2")
    for rules in ("matlab", "hls"):
        with fimath(rules=rules), pytest.raises(ZeroDivisionError, match="division by zero"):
            a / b
    with pytest.raises(ZeroDivisionError):
        fx.divide(numerictype(True, 16, 8), a, b)


# -- mixed operands -----------------------------------------------------------------------------
def converted(x, ta, how, M):
    """(stored, type, overflows, underflows) of the non-fi operand ``x`` as fixsim casts it."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        T = (x.dtype.kind == "i", x.dtype.itemsize * 8, 0)
        return [int(v) for v in x.ravel()], T, 0, 0
    vals = list(np.asarray(x, dtype=object).ravel()) if isinstance(x, np.ndarray) else [x]
    T = ta
    if how == "best":
        T = (ta[0], ta[1], ref.best_fraction_length(vals, ta[0], ta[1]))
    q = [ref.quantize_counted(v, T, M.rounding, M.overflow) for v in vals]
    return [e[0] for e in q], T, sum(e[1] for e in q), sum(e[2] for e in q)


def scalar_like(draw, ta):
    """A float, Python int, Fraction or numpy integer array to mix with a fi of type ta."""
    s, w, f = ta
    lo, hi = ref.int_bounds(s, w)
    lsb = ref.pow2(-f)
    kind = draw(st.sampled_from(["float", "float", "pyint", "bigint", "fraction", "npint"]))
    if kind == "float":
        base = draw(st.one_of(st.integers(lo - 2, hi + 2), st.sampled_from([lo, hi, 0])))
        off = draw(st.sampled_from([0, Fraction(1, 2), Fraction(-1, 4), Fraction(1, 3)]))
        x = float((base + off) * lsb)
        return draw(st.sampled_from([x, x, draw(st.sampled_from(SPECIAL_FLOATS))]))
    if kind == "pyint":
        return draw(st.integers(-300, 300))
    if kind == "bigint":
        return draw(st.integers(-(2**120), 2**120))
    if kind == "fraction":
        return draw(st.fractions(max_denominator=1000).filter(lambda v: abs(v) < 10**6))
    dtype = draw(st.sampled_from([np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64]))
    info = np.iinfo(dtype)
    return np.array([draw(st.integers(int(info.min), int(info.max)))], dtype=dtype)


@given(st.data())
def test_mixed_operands(data):
    ta = data.draw(types())
    va = data.draw(stored(ta, 1))
    M = data.draw(maths())
    x = scalar_like(data.draw, ta)
    a = make(va, ta)
    v = va[0]
    F = fimath_of(M)
    with F:
        for name, op, how, swap in (("add", operator.add, "same", False),
                                    ("radd", operator.add, "same", True),
                                    ("sub", operator.sub, "same", False),
                                    ("rsub", operator.sub, "same", True),
                                    ("mul", operator.mul, "best", False),
                                    ("rmul", operator.mul, "best", True),
                                    ("div", operator.truediv, "best", False),
                                    ("rdiv", operator.truediv, "best", True)):
            xs, tx, o, u = converted(x, ta, how, M)
            xv = xs[0]
            if name in ("div",) and xv == 0 or name == "rdiv" and v == 0:
                with pytest.raises(ZeroDivisionError):
                    op(x, a) if swap else op(a, x)
                continue
            with fx.count_quantization() as c:
                r = op(x, a) if swap else op(a, x)
            p, tp = (xv, tx), (v, ta)
            first, second = (p, tp) if swap else (tp, p)
            if name in ("add", "radd"):
                e = ref.add(*first, *second, M)
            elif name in ("sub", "rsub"):
                e = ref.add(*first, *second, M, subtract=True)
            elif name in ("mul", "rmul"):
                e = ref.multiply(*first, *second, M)
            else:
                e = ref.rdivide(*first, *second, M)
            e.overflows += o
            e.underflows += u
            check([e], r, c, f"{name} {nt(ta)} with {x!r} under {F!r}")


@given(st.data())
def test_comparisons_with_numbers(data):
    ta = data.draw(types())
    va = data.draw(stored(ta, 6))
    a = make(va, ta)
    exact_a = [ref.value_of(v, ta) for v in va]
    s, w, f = ta
    lo, hi = ref.int_bounds(s, w)
    lsb = ref.pow2(-f)
    pick = data.draw(st.integers(0, 5))
    on_grid = exact_a[pick]
    candidates = [float(on_grid), float(on_grid + lsb / 2), float(on_grid - lsb / 3),
                  float((hi + 1) * lsb), float((lo - 1) * lsb), 0.0, -0.0, math.inf, -math.inf,
                  math.nan, on_grid, on_grid + lsb / 7, int(on_grid) if on_grid.denominator == 1
                  else 3, 2**100 + 1, -(2**70)]
    x = data.draw(st.sampled_from(candidates))
    for name, op in CMP_OPS.items():
        for swap in (False, True):
            with fx.count_quantization() as c:
                got = op(x, a) if swap else op(a, x)
            if isinstance(x, float) and math.isnan(x):
                want = [name == "ne"] * len(va)
            else:
                xe = ref.exact(x) if not (isinstance(x, float) and math.isinf(x)) else None
                want = []
                for v in exact_a:
                    if xe is None:
                        # +-inf is above / below every fixed-point value
                        r = {"eq": False, "ne": True, "lt": x > 0, "le": x > 0, "gt": x < 0,
                             "ge": x < 0}[name]
                        if swap:
                            r = {"eq": False, "ne": True, "lt": x < 0, "le": x < 0,
                                 "gt": x > 0, "ge": x > 0}[name]
                    else:
                        r = ref.compare(xe, v, name) if swap else ref.compare(v, xe, name)
                    want.append(r)
            assert np.asarray(got).tolist() == want, (name, swap, str(nt(ta)), x)
            # a comparison is not a quantization: nothing reaches the probe
            assert c.operations == 0
    ints = np.array([min(max(int(v), -128), 127) for v in exact_a], dtype=np.int8)
    for name, op in CMP_OPS.items():
        want = [ref.compare(v, Fraction(int(i)), name) for v, i in zip(exact_a, ints,
                                                                        strict=True)]
        assert op(a, ints).tolist() == want


# -- fimath selection ---------------------------------------------------------------------------
def test_local_fimath_wins_and_two_different_ones_raise():
    F = fimath(rounding="floor", overflow="wrap", sum_mode="keep_lsb", sum_word_length=8)
    a = fi.from_int([100, -100], "sfix8_En2").setfimath(F)
    b = fi.from_int([100, 100], "sfix8_En2")
    with fimath(rounding="ceil"):
        r = a + b
    M = ref.Math(rounding="floor", overflow="wrap", sum_mode="keep_lsb", sum_word_length=8)
    check([ref.add(x, (True, 8, 2), y, (True, 8, 2), M) for x, y in ((100, 100), (-100, 100))],
          r, None, "local fimath")
    assert r.local_fimath == F
    assert (b + b).local_fimath is None
    with pytest.raises(ValueError, match="different local fimaths"):
        a + b.setfimath(fimath(rounding="ceil"))


def test_nonfinite_operands():
    a = fi([1.0, 2.0], 1, 16, 8)
    with pytest.raises(ValueError, match="NaN"):
        a + np.nan
    with pytest.raises(ValueError):
        a * np.inf  # best-precision scaling of inf is undefined
    r = a + np.inf  # cast to a's type: saturates under the default fimath
    assert as_ints(r) == [2**15 - 1 + 256, 2**15 - 1 + 512]


# -- stochastic rounding in arithmetic ------------------------------------------------------------
@pytest.mark.parametrize("ta, tb", [((True, 16, 8), (True, 12, 4)), ((True, 70, 30),
                                                                    (False, 40, 10))])
def test_stochastic_division_and_products(ta, tb):
    rng = np.random.default_rng(4)
    n = 4000
    va = [int(v) for v in rng.integers(-(2**15), 2**15, n)]
    vb = [int(v) for v in rng.integers(1, 2**11, n)]
    a, b = make(va, ta), make(vb, tb)
    F = fimath(rounding="stochastic", product_mode="keep_msb", product_word_length=20)
    for op, exact_op, R in (
            (operator.truediv, lambda x, y: x / y, ref.matlab_rdivide_type(ta, tb)),
            (operator.mul, lambda x, y: x * y,
             ref.apply_mode(ref.product_type(ta, tb), "keep_msb", 20, 0))):
        with F:
            fx.set_stochastic_seed(17)
            r1 = op(a, b)
            fx.set_stochastic_seed(17)
            r2 = op(a, b)
        assert r1.numerictype == nt(R)
        assert as_ints(r1) == as_ints(r2)
        y = [exact_op(ref.value_of(x, ta), ref.value_of(z, tb)) * ref.pow2(R[2])
             for x, z in zip(va, vb, strict=True)]
        got = as_ints(r1)
        assert all(g in (math.floor(yy), math.ceil(yy)) for g, yy in zip(got, y, strict=True))
        err = float(sum(g - yy for g, yy in zip(got, y, strict=True)) / n)
        var = sum(float((yy - math.floor(yy)) * (1 - (yy - math.floor(yy)))) for yy in y) / n**2
        assert abs(err) <= 6 * math.sqrt(var) + 1e-12, (op, err)
