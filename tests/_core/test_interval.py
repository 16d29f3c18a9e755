"""Interval arithmetic (fixsim._core._interval): soundness and tightness against exact
rationals computed here with fractions.Fraction, and the numpy protocol.

The references below use only Python ints, Fractions and numpy for shapes; nothing of
fixsim's computation. A bound is *sound* when it holds every exact result; it is *tight*
when it is the nearest float outward of the exact extreme (what exact directed rounding
gives), which the error-free transformations promise for magnitudes in the normal range.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim._core._interval import (
    HANDLED_FUNCTIONS,
    HANDLED_UFUNCS,
    Interval,
    RangeEvent,
    range_listening,
    ranges_active,
    report_range,
)

MAX = float(np.finfo(np.float64).max)


# -- exact references ---------------------------------------------------------------------------
def floor_float(fr: Fraction) -> float:
    """The largest float <= fr (reference, from Fraction comparisons)."""
    if fr > Fraction(MAX):
        return MAX
    if fr < -Fraction(MAX):
        return -math.inf
    f = float(fr)
    if Fraction(f) > fr:
        f = math.nextafter(f, -math.inf)
    return f


def ceil_float(fr: Fraction) -> float:
    """The smallest float >= fr."""
    return -floor_float(-fr)


def F(v: float) -> Fraction:
    return Fraction(v)


def exact_op(op: str, a: Fraction, b: Fraction) -> Fraction:
    return {"add": a + b, "sub": a - b, "mul": a * b}[op] if op != "div" else a / b


def exact_range(op: str, a: tuple[float, float], b: tuple[float, float]):
    """Exact (min, max) of ``a op b`` over the two finite intervals (corners suffice for
    + - * and for / by an interval not holding 0)."""
    if op == "add":
        return F(a[0]) + F(b[0]), F(a[1]) + F(b[1])
    if op == "sub":
        return F(a[0]) - F(b[1]), F(a[1]) - F(b[0])
    vals = [exact_op(op, F(x), F(y)) for x in a for y in b]
    return min(vals), max(vals)


# -- strategies ----------------------------------------------------------------------------------
normal = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=2.0 ** -400, max_value=2.0 ** 400).flatmap(
        lambda v: st.sampled_from([v, -v])),
    st.integers(-2 ** 20, 2 ** 20).map(lambda k: k / 1024),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 2.0 ** 53, 3.0]),
)
extreme = st.one_of(normal, st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([MAX, -MAX, 5e-324, -5e-324, 2.0 ** -1022, 1e300, 1e-300]))


def intervals(values):
    return st.tuples(values, values).map(lambda t: (min(t), max(t)))


def _iv(t):
    return Interval(t[0], t[1])


OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
       "div": lambda a, b: a / b}


# -- + - * / : tight in the normal range, sound everywhere ---------------------------------------
@pytest.mark.parametrize("op", list(OPS))
@given(a=intervals(normal), b=intervals(normal))
def test_binary_ops_are_exactly_rounded_outward(op, a, b):
    if op == "div" and b[0] <= 0 <= b[1]:
        b = (abs(b[1]) + 1, abs(b[1]) + 2)  # a divisor away from 0 (zero: its own test)
    exact_lo, exact_hi = exact_range(op, a, b)
    r = OPS[op](_iv(a), _iv(b))
    if op in ("mul", "div") and any(0 < abs(v) < 2.0 ** -800 or abs(v) > 2.0 ** 900
                                    for v in (exact_lo, exact_hi, *a, *b)):
        # outside the error-free transformations' range the bound moves out unconditionally
        lo, hi = float(r.lo), float(r.hi)
        assert lo == -math.inf or F(lo) <= exact_lo
        assert hi == math.inf or F(hi) >= exact_hi
        return
    assert float(r.lo) == floor_float(exact_lo)
    assert float(r.hi) == ceil_float(exact_hi)


@pytest.mark.parametrize("op", list(OPS))
@given(a=intervals(extreme), b=intervals(extreme))
def test_binary_ops_are_sound_over_the_whole_float_range(op, a, b):
    r = OPS[op](_iv(a), _iv(b))
    if op == "div" and b[0] <= 0 <= b[1]:
        assert (float(r.lo), float(r.hi)) == (-math.inf, math.inf)
        assert "division by an interval containing 0" in r.reason
        return
    exact_lo, exact_hi = exact_range(op, a, b)
    lo, hi = float(r.lo), float(r.hi)
    assert lo == -math.inf or F(lo) <= exact_lo
    assert hi == math.inf or F(hi) >= exact_hi
    # never further out than one step past the tight bound (two for the unconditional path)
    tight_lo, tight_hi = floor_float(exact_lo), ceil_float(exact_hi)
    assert lo >= math.nextafter(math.nextafter(tight_lo, -math.inf), -math.inf)
    assert hi <= math.nextafter(math.nextafter(tight_hi, math.inf), math.inf)


def test_infinite_bounds_by_hand():
    inf = math.inf
    cases = [
        (Interval(1, inf) * Interval(2, 3), (2.0, inf)),
        (Interval(0, 0) * Interval(-inf, inf), (0.0, 0.0)),  # 0 times any real is 0
        (Interval(0, 1) * Interval(1, inf), (0.0, inf)),
        (Interval(-1, 0) * Interval(1, inf), (-inf, 0.0)),
        (Interval(-inf, -1) / Interval(2, inf), (-inf, 0.0)),
        (Interval(1, 2) / Interval(4, inf), (0.0, 0.5)),
        (Interval(-inf, 3) + Interval(1, 2), (-inf, 5.0)),
        (Interval(MAX, MAX) + Interval(MAX, MAX), (MAX, inf)),  # overflow: sound, not inf
        (-Interval(-inf, 2), (-2.0, inf)),
    ]
    for r, (lo, hi) in cases:
        assert (float(r.lo), float(r.hi)) == (lo, hi), r


def test_division_by_an_interval_holding_zero_is_unbounded_with_the_reason():
    r = Interval.full(3, 1, 2) / Interval([-1, 0.5, 0], [1, 1, 0])
    assert np.array_equal(r.lo, [-np.inf, 1.0, -np.inf])
    assert np.array_equal(r.hi, [np.inf, 4.0, np.inf])
    assert not r.bounded
    assert r.reason == ("division by an interval containing 0 (the divisor's range "
                        "[-1.0, 1.0] holds 0)")
    # the reason travels with the unbounded result and is dropped once bounded again
    s = r + 1
    assert s.reason == r.reason
    assert np.clip(r, -3, 3).reason is None and np.clip(r, -3, 3).bounded


def test_exact_results_stay_exact():
    x = Interval(-1, 1)
    assert (x * 0.5).hull() == (-0.5, 0.5)
    assert (x * 0.5 + 1).hull() == (0.5, 1.5)
    assert (x / 4).hull() == (-0.25, 0.25)
    # 0.1 + 0.2 is not a float: the bounds are its two float neighbours
    r = Interval(0.1) + 0.2
    assert F(float(r.lo)) < F(0.1) + F(0.2) < F(float(r.hi))
    assert math.nextafter(float(r.lo), math.inf) == float(r.hi)


# -- elementwise functions against sampled exact values -------------------------------------------
small = st.integers(-64, 64).map(lambda k: k / 8)


def samples(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator, n: int = 6):
    """Points inside [lo, hi] (endpoints included), elementwise."""
    out = [lo, hi]
    for _ in range(n):
        t = rng.random(lo.shape)
        out.append(np.clip(lo + t * (hi - lo), lo, hi))
    return out


def _arr_iv(draw, n):
    pairs = [draw(intervals(small)) for _ in range(n)]
    return Interval([p[0] for p in pairs], [p[1] for p in pairs])


@st.composite
def interval_arrays(draw, n=5):
    return _arr_iv(draw, n)


ELEMENTWISE = {
    "abs": (lambda a, b: np.abs(a), lambda a, b: np.abs(a)),
    "neg": (lambda a, b: -a, lambda a, b: -a),
    "maximum": (np.maximum, np.maximum),
    "minimum": (np.minimum, np.minimum),
    "clip": (lambda a, b: np.clip(a, -1, 2), lambda a, b: np.clip(a, -1, 2)),
    "square": (lambda a, b: np.square(a), lambda a, b: np.square(a)),
    "cube": (lambda a, b: a ** 3, lambda a, b: a ** 3),
    "x*x": (lambda a, b: a * a, lambda a, b: a * a),
    "where": (lambda a, b: np.where([True, False, True, False, True], a, b),
              lambda a, b: np.where([True, False, True, False, True], a, b)),
    "where_iv": (lambda a, b: np.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b)),
    "fmax": (np.fmax, np.fmax),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(a=interval_arrays(), b=interval_arrays(), seed=st.integers(0, 2 ** 32 - 1))
def test_elementwise_functions_hold_every_sampled_value(name, a, b, seed):
    iv_fn, np_fn = ELEMENTWISE[name]
    r = iv_fn(a, b)
    rng = np.random.default_rng(seed)
    for xa in samples(a.lo, a.hi, rng):
        for xb in samples(b.lo, b.hi, rng)[:3]:
            v = np_fn(xa, xb)  # these are exact in float for eighths of this size
            assert ((r.lo <= v) & (v <= r.hi)).all(), (name, xa, xb, v, r.lo, r.hi)


@given(a=interval_arrays())
def test_elementwise_exact_bounds_by_hand(a):
    lo, hi = a.lo, a.hi
    r = np.abs(a)
    assert np.array_equal(r.hi, np.maximum(-lo, hi))
    assert np.array_equal(r.lo, np.where(lo > 0, lo, np.where(hi < 0, -hi, 0)))
    s = a * a
    assert np.array_equal(s.hi, np.maximum(lo * lo, hi * hi))
    assert np.array_equal(s.lo, np.where((lo <= 0) & (hi >= 0), 0, np.minimum(lo * lo, hi * hi)))


def test_comparisons_give_truth_intervals():
    a = Interval([0, 2, -1, 1], [1, 3, 1, 1])
    lt = a < 1.5
    assert np.array_equal(lt.lo, [1, 0, 1, 1]) and np.array_equal(lt.hi, [1, 0, 1, 1])
    gt = a > 0
    assert np.array_equal(gt.lo, [0, 1, 0, 1]) and np.array_equal(gt.hi, [1, 1, 1, 1])
    eq = a == 1
    assert np.array_equal(eq.lo, [0, 0, 0, 1]) and np.array_equal(eq.hi, [1, 0, 1, 1])
    assert bool(Interval(2, 3) > 1) is True
    assert bool(Interval(2, 3) < 1) is False
    with pytest.raises(ValueError, match="undecided"):
        bool(Interval(-1, 1) > 0)
    both = (a > 0) & (a < 2.5)
    assert np.array_equal(both.lo, [0, 0, 0, 1]) and np.array_equal(both.hi, [1, 1, 1, 1])
    w = np.where(a > 0, a, -10)
    assert np.array_equal(w.lo, [-10, 2, -10, 1]) and np.array_equal(w.hi, [1, 3, 1, 1])


# -- reductions and products ---------------------------------------------------------------------
def exact_sum_bounds(lo, hi, axis=None):
    lo_o = np.vectorize(Fraction, otypes=[object])(lo)
    hi_o = np.vectorize(Fraction, otypes=[object])(hi)
    return np.sum(lo_o, axis=axis), np.sum(hi_o, axis=axis)


reals = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


@st.composite
def real_intervals(draw, shape):
    n = int(np.prod(shape))
    pairs = [draw(intervals(reals)) for _ in range(n)]
    return Interval(np.array([p[0] for p in pairs]).reshape(shape),
                    np.array([p[1] for p in pairs]).reshape(shape))


def assert_sound(r: Interval, exact_lo, exact_hi):
    for lo, elo in zip(np.ravel(r.lo), np.ravel(np.asarray(exact_lo, dtype=object)), strict=True):
        assert F(float(lo)) <= elo
    for hi, ehi in zip(np.ravel(r.hi), np.ravel(np.asarray(exact_hi, dtype=object)), strict=True):
        assert F(float(hi)) >= ehi


def assert_exact(r: Interval, exact_lo, exact_hi):
    assert np.array_equal(r.lo, np.asarray(exact_lo, dtype=object).astype(float))
    assert np.array_equal(r.hi, np.asarray(exact_hi, dtype=object).astype(float))
    assert_sound(r, exact_lo, exact_hi)


@given(st.data(), st.sampled_from([(7,), (3, 4), (2, 3, 5)]))
def test_sum_is_sound_and_exact_for_representable_sums(data, shape):
    x = data.draw(real_intervals(shape))
    for axis in [None] + list(range(len(shape))):
        r = np.sum(x, axis=axis)
        assert_sound(r, *exact_sum_bounds(x.lo, x.hi, axis))
    y = data.draw(st.builds(lambda t: t, real_intervals(shape)))
    y = Interval(np.round(y.lo * 8) / 8, np.round(y.hi * 8) / 8)
    for axis in [None] + list(range(len(shape))):
        assert_exact(np.sum(y, axis=axis), *exact_sum_bounds(y.lo, y.hi, axis))
        k = np.sum(y, axis=axis, keepdims=True)
        assert k.shape == np.sum(y.lo, axis=axis, keepdims=True).shape


@given(st.data())
def test_cumsum_and_mean(data):
    x = data.draw(real_intervals((9,)))
    lo_o = np.vectorize(Fraction, otypes=[object])(x.lo)
    hi_o = np.vectorize(Fraction, otypes=[object])(x.hi)
    assert_sound(np.cumsum(x), np.cumsum(lo_o), np.cumsum(hi_o))
    assert_sound(np.add.accumulate(x), np.cumsum(lo_o), np.cumsum(hi_o))
    assert_sound(np.mean(x), np.sum(lo_o) / 9, np.sum(hi_o) / 9)
    m = data.draw(real_intervals((3, 4)))
    lo_o = np.vectorize(Fraction, otypes=[object])(m.lo)
    hi_o = np.vectorize(Fraction, otypes=[object])(m.hi)
    assert_sound(np.cumsum(m, axis=1), np.cumsum(lo_o, axis=1), np.cumsum(hi_o, axis=1))
    assert_sound(m.mean(axis=0), np.sum(lo_o, axis=0) / 3, np.sum(hi_o, axis=0) / 3)


def exact_products(a: Interval, b: Interval):
    """Exact hull of each interval product, elementwise (objects)."""
    lo = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=object)
    hi = np.empty_like(lo)
    alo, ahi, blo, bhi = np.broadcast_arrays(a.lo, a.hi, b.lo, b.hi)
    for idx in np.ndindex(lo.shape):
        vals = [F(float(x)) * F(float(y)) for x in (alo[idx], ahi[idx])
                for y in (blo[idx], bhi[idx])]
        lo[idx], hi[idx] = min(vals), max(vals)
    return lo, hi


@given(st.data(), st.booleans())
def test_matmul_is_the_exact_worst_case(data, point_matrix):
    A = data.draw(real_intervals((3, 4)))
    if point_matrix:
        A = Interval(A.lo)
    x = data.draw(real_intervals((4, 2)))
    r = A @ x
    # exact: each output is the sum of independent term hulls
    plo, phi = exact_products(Interval(A.lo[:, :, None], A.hi[:, :, None]),
                              Interval(x.lo[None], x.hi[None]))
    assert_sound(r, plo.sum(axis=1), phi.sum(axis=1))
    # vector forms and dot
    v = data.draw(real_intervals((4,)))
    plo, phi = exact_products(A, v[None])
    assert_sound(A @ v, plo.sum(axis=1), phi.sum(axis=1))
    assert_sound(np.dot(A, v), plo.sum(axis=1), phi.sum(axis=1))
    assert_sound(np.matmul(A.lo, v), *[s.sum(axis=1) for s in exact_products(Interval(A.lo),
                                                                             v[None])])


def test_matmul_with_a_point_matrix_is_center_radius_exact():
    rng = np.random.default_rng(1)
    W = rng.integers(-8, 8, (5, 6)) / 4
    x = Interval.full(6, -1, 1)
    r = W @ x
    # mid(x) = 0, rad(x) = 1: W @ x = [-|W| 1, |W| 1]
    assert np.array_equal(r.hi, np.abs(W).sum(axis=1))
    assert np.array_equal(r.lo, -np.abs(W).sum(axis=1))
    c = Interval.full(6, 1, 3)  # mid 2, rad 1
    r = W @ c
    assert np.array_equal(r.hi, W.sum(axis=1) * 2 + np.abs(W).sum(axis=1))
    assert np.array_equal(r.lo, W.sum(axis=1) * 2 - np.abs(W).sum(axis=1))


def test_fir_worst_case_by_hand():
    h = np.array([0.5, -0.25, 0.125])
    y = np.convolve(Interval.full(16, -2, 2), h)
    bound = (0.5 + 0.25 + 0.125) * 2  # sum|h| * max|x|
    assert y.hull() == (-bound, bound)
    # the transients: the first and last outputs see fewer taps
    assert y.hi[0] == 0.5 * 2 and y.hi[1] == 0.75 * 2 and y.hi[-1] == 0.125 * 2


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@given(st.data())
def test_convolve_and_correlate_match_numpy_on_points(mode, data):
    la = data.draw(st.integers(1, 9))
    lb = data.draw(st.integers(1, 9))
    a = np.array(data.draw(st.lists(small, min_size=la, max_size=la)))
    b = np.array(data.draw(st.lists(small, min_size=lb, max_size=lb)))
    r = np.convolve(Interval(a), b, mode)
    expect = np.convolve(a, b, mode)  # eighths: exact in float
    assert np.array_equal(r.lo, expect) and np.array_equal(r.hi, expect)
    if mode != "same" or lb <= la:
        c = np.correlate(Interval(a), b, mode)
        assert np.array_equal(c.lo, np.correlate(a, b, mode))


@given(st.data())
def test_convolve_of_two_intervals_is_sound(data):
    a = data.draw(real_intervals((6,)))
    b = data.draw(real_intervals((3,)))
    r = np.convolve(a, b)
    n = 8
    lo_e = np.empty(n, dtype=object)
    hi_e = np.empty(n, dtype=object)
    for k in range(n):
        terms = [(a[i], b[k - i]) for i in range(6) if 0 <= k - i < 3]
        los, his = zip(*[exact_products(p, q) for p, q in terms], strict=True)
        lo_e[k], hi_e[k] = sum(los), sum(his)
    assert_sound(r, lo_e, hi_e)


def test_max_min_reductions():
    x = Interval([[0, -3], [1, 2]], [[4, -1], [1, 5]])
    assert np.array_equal(np.max(x, axis=0).lo, [1, 2])
    assert np.array_equal(np.max(x, axis=0).hi, [4, 5])
    assert np.array_equal(np.min(x, axis=1).lo, [-3, 1])
    assert np.maximum.reduce(x, axis=1).hull() == (0.0, 5.0)


def test_powers_below_the_transformations_range_stay_sound():
    x = Interval(1e-200, 2e-200)
    s = x * Interval(1e-200, 1e-200)  # underflows to 0: bounds move outward
    assert s.lo <= 0 <= s.hi and s.hi > 0
    assert (x ** 2).lo >= 0


# -- mixing operands -----------------------------------------------------------------------------
def test_fi_is_the_point_interval_of_its_exact_values():
    a = fx.fi([0.5, -0.25, 0.1], 1, 16, 12)
    iv = Interval.point(a)
    assert np.array_equal(iv.lo, a.data) and np.array_equal(iv.hi, a.data)
    # a 60-bit value that float64 cannot hold: tight float bounds around it
    b = fx.fi.from_int([2 ** 59 + 1], fx.numerictype(True, 61, 0))
    ib = Interval.point(b)
    assert F(float(ib.lo[0])) < 2 ** 59 + 1 < F(float(ib.hi[0]))
    assert math.nextafter(float(ib.lo[0]), math.inf) == float(ib.hi[0])


def test_fi_on_either_side_and_numpy_entry_points():
    a = fx.fi([0.5, 0.25], 1, 16, 12)
    x = Interval.full(2, -1, 1)
    for r in (a * x, x * a, np.multiply(a, x), np.multiply(x, a)):
        assert np.array_equal(r.hi, [0.5, 0.25]) and np.array_equal(r.lo, [-0.5, -0.25])
    for r in (a + x, x + a, a - x, a / Interval(2, 4)):
        assert isinstance(r, Interval)
    assert (a - x).hull() == (-0.75, 1.5)
    y = np.convolve(a, Interval.full(4, -1, 1))
    assert y.hull() == (-0.75, 0.75)
    assert (a @ Interval.full(2, -1, 1)).hull() == (-0.75, 0.75)
    assert np.where(x > 0, a, x).hull() == (-1.0, 1.0)
    c = a > Interval([0, 0.3], [1, 1])  # fi on the left of a comparison
    assert np.array_equal(c.lo, [0, 0]) and np.array_equal(c.hi, [1, 0])  # ?, false
    le = a <= Interval(0.25, 0.75)
    assert np.array_equal(le.lo, [0, 1]) and np.array_equal(le.hi, [1, 1])  # ?, true
    # numpy arrays and Python numbers on the left
    assert (np.array([2.0, 3.0]) * x).hull() == (-3.0, 3.0)
    assert (1 - x).hull() == (0.0, 2.0)
    assert (Fraction(1, 2) * x).hull() == (-0.5, 0.5)
    t = Fraction(1, 3) * Interval(3)  # 1/3 is not a float: bounds around 1
    assert t.lo <= 1 <= t.hi
    big = (2 ** 60 + 1) * Interval(1)
    assert F(float(big.lo)) <= 2 ** 60 + 1 <= F(float(big.hi))


def test_no_silent_conversion_and_unsupported_functions_name_themselves():
    x = Interval.full(3, -1, 1)
    with pytest.raises(TypeError, match="numpy.sin is not supported on Interval"):
        np.sin(x)
    with pytest.raises(TypeError, match="numpy.fft.*fft is not supported on Interval"):
        np.fft.fft(x)
    with pytest.raises(TypeError, match="numpy.median is not supported on Interval"):
        np.median(x)
    with pytest.raises(TypeError, match="no single value"):
        np.asarray(x)
    with pytest.raises(TypeError, match="cannot be converted to float"):
        float(Interval(1))
    with pytest.raises(ValueError, match="not a finite real number"):
        x + np.inf
    with pytest.raises(TypeError, match="cannot use str"):
        x + "a"
    with pytest.raises(TypeError, match="out= is not supported"):
        np.add(x, 1, out=np.zeros(3))
    with pytest.raises(ValueError, match="lo must be <= hi"):
        Interval([0, 2], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        Interval(np.nan, 1)


def test_dispatch_tables_hold_only_implemented_entries():
    x = Interval.full((2, 2), -1, 1)
    assert all(callable(f) for f in HANDLED_UFUNCS.values())
    assert all(callable(f) for f in HANDLED_FUNCTIONS.values())
    assert np.add in HANDLED_UFUNCS and np.convolve in HANDLED_FUNCTIONS
    assert np.shape(x) == (2, 2) and np.ndim(x) == 2 and np.size(x) == 4


# -- indexing and shapes -----------------------------------------------------------------------------
def test_indexing_setitem_and_shape_functions_follow_numpy():
    lo = np.arange(12.0).reshape(3, 4)
    x = Interval(lo, lo + 1)
    for key in [(1,), (slice(None), 2), (slice(None, None, -1),), (lo > 5,), ([0, 2], [1, 3])]:
        assert np.array_equal(x[key].lo, lo[key]) and np.array_equal(x[key].hi, lo[key] + 1)
    for fn in [lambda a: a.reshape(4, 3), lambda a: a.T, lambda a: np.transpose(a),
               lambda a: np.ravel(a), lambda a: np.flip(a, 0), lambda a: np.roll(a, 1),
               lambda a: np.expand_dims(a, 0), lambda a: np.moveaxis(a, 0, 1)]:
        assert np.array_equal(fn(x).lo, fn(lo)) and np.array_equal(fn(x).hi, fn(lo + 1))
    c = np.concatenate([x, lo, fx.fi(lo, 1, 16, 4)], axis=1)
    assert c.shape == (3, 12) and np.array_equal(c.lo[:, 4:8], lo)
    s = np.stack([x, x])
    assert s.shape == (2, 3, 4) and np.array_equal(s.hi[1], lo + 1)
    assert np.vstack([x, x]).shape == (6, 4) and np.hstack([x, x]).shape == (3, 8)
    y = x.copy()
    y[0, :] = Interval(-5, 5)
    y[1, 1] = 7
    assert np.array_equal(y.lo[0], [-5] * 4) and y.lo[1, 1] == 7 == y.hi[1, 1]
    assert np.array_equal(x.lo, lo)  # the copy was independent
    z = np.zeros_like(x)
    z[1:, :] = x[:-1, :]
    assert z.shape == x.shape and np.array_equal(z.lo[1:], lo[:-1]) and (z.lo[0] == 0).all()
    # regression: a point interval shares one array for both bounds, and one built from a
    # float array must not alias it; assigning into either must keep lo <= hi and the caller's
    # array intact
    arr = np.array([1.0, 2.0])
    p = Interval.point(arr)
    p[0] = Interval(-3, 3)
    assert p.lo.tolist() == [-3, 2] and p.hi.tolist() == [3, 2] and arr.tolist() == [1, 2]
    y[2, 0] = Interval(-np.inf, 0, reason="because")
    assert not y.bounded and y.reason == "because"
    assert [r.shape for r in x] == [(4,)] * 3
    assert np.pad(Interval.full(2, 1, 2), 1).lo.tolist() == [0, 1, 1, 0]
    assert np.diff(Interval([0, 1, 3], [0, 2, 3])).hull() == (1.0, 2.0)


# -- the range-reporting hook ---------------------------------------------------------------------
def test_report_range_reaches_listeners_only_inside_the_block():
    events: list[RangeEvent] = []
    report_range("nobody.listens", 0, 1)
    assert not ranges_active()
    with range_listening(events.append):
        assert ranges_active()
        report_range("blk.acc", -1, 2)
        report_range("blk.div", -np.inf, np.inf, "division by zero")
    assert events == [RangeEvent("blk.acc", -1.0, 2.0, None),
                      RangeEvent("blk.div", -np.inf, np.inf, "division by zero")]


# -- named casts of intervals ------------------------------------------------------------------------
ROUNDINGS = ["floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
             "half_zero", "convergent_odd"]
OVERFLOWS = ["saturate", "wrap", "sat_zero", "sat_sym"]


@st.composite
def cast_cases(draw):
    signed = draw(st.booleans())
    w = draw(st.integers(2, 12))
    f = draw(st.integers(-3, 10))
    T = fx.numerictype(signed, w, f)
    span = 2.0 ** (w - f + 1)
    vals = st.floats(-span, span, allow_nan=False).map(lambda v: round(v * 2 ** (f + 2)) /
                                                       2 ** (f + 2))
    lo, hi = draw(intervals(vals))
    return T, lo, hi, draw(st.sampled_from(ROUNDINGS)), draw(st.sampled_from(OVERFLOWS))


def _cast_values(values, T, rounding, overflow):
    table = fx.TypeTable({"s": T}, rounding=rounding, overflow=overflow)
    return table.s(np.asarray(values, dtype=np.float64)).int


@given(cast_cases())
def test_named_cast_of_an_interval_holds_every_cast_value(case):
    T, lo, hi, rounding, overflow = case
    if overflow == "sat_sym" and not T.signed:
        overflow = "saturate"
    table = fx.TypeTable({"s": T}, rounding=rounding, overflow=overflow)
    events = []
    with range_listening(events.append):
        out = table.s(Interval(lo, hi))
    assert events == [RangeEvent("s", lo, hi, None)]  # the range arriving at the signal
    assert isinstance(out, Interval)
    # every value of the input range (a grid at a quarter LSB, plus the ends) casts inside
    step = Fraction(2) ** -(T.fraction_length + 2)
    k0, k1 = math.ceil(F(lo) / step), math.floor(F(hi) / step)
    grid = [lo, hi] + [float(k * step) for k in range(k0, k1 + 1, max(1, (k1 - k0) // 200))]
    ints = _cast_values(grid, T, rounding, overflow)
    reals = [int(i) * T.exact_eps for i in np.ravel(ints)]
    assert np.all(out.lo <= out.hi)
    assert F(float(out.lo)) <= min(reals) and max(reals) <= F(float(out.hi))
    if overflow == "saturate":  # monotone rounding and clamping: the ends are attained
        assert F(float(out.lo)) == reals[0] and F(float(out.hi)) == reals[1]


def test_named_cast_output_ranges_by_hand():
    T = fx.numerictype(True, 8, 4)  # [-8, 7.9375]
    def cast(lo, hi, overflow, rounding="floor"):
        tab = fx.TypeTable({"s": T}, rounding=rounding, overflow=overflow)
        return tab.s(Interval(lo, hi)).hull()
    assert cast(-1.03, 1.03, "saturate") == (-1.0625, 1.0)
    assert cast(-1.03, 1.03, "saturate", "ceil") == (-1.0, 1.0625)
    assert cast(-20, 3, "saturate") == (-8.0, 3.0)
    assert cast(-20, 3, "sat_sym") == (-7.9375, 3.0)
    assert cast(-20, 3, "wrap") == (-8.0, 7.9375)
    assert cast(-20, 3, "sat_zero") == (-8.0, 3.0)
    assert cast(10, 20, "sat_zero") == (0.0, 0.0)
    assert cast(10, 20, "saturate") == (7.9375, 7.9375)
    assert cast(-np.inf, 0, "saturate") == (-8.0, 0.0)
    assert cast(-1, 1, "wrap") == (-1.0, 1.0)
    # stochastic rounding may go either way: floor of the low end, ceiling of the high one
    assert cast(-1.03, 1.03, "saturate", "stochastic") == (-1.0625, 1.0625)
    # a word wider than float64's significand: exact rationals, bounds rounded outward
    W = fx.numerictype(True, 80, 70)
    out = fx.TypeTable({"w": W}, rounding="nearest").w(Interval(-1 / 3, 1 / 3))
    q = round(Fraction(1 / 3) * 2 ** 70)  # nearest; 1/3 as a float is not a tie
    assert Fraction(float(out.hi)) >= Fraction(q, 2 ** 70) > Fraction(math.nextafter(
        float(out.hi), 0))
    assert Fraction(float(out.lo)) <= -Fraction(q, 2 ** 70) < Fraction(math.nextafter(
        float(out.lo), 0))
    # 'double' and 'inherit' entries pass the interval through unchanged (and report it)
    tab = fx.TypeTable({"d": "double", "i": "inherit"})
    x = Interval(-3, 100)
    assert tab.d(x) is x and tab.i(x) is x
    # a scaled-double override computes in double: unchanged
    assert fx.TypeTable({"s": T}).override("scaled_double").s(x) is x


def test_regression_sat_sym_cast_at_the_most_negative_value_is_not_inverted():
    """Bug (found by test_random_programs_in_fixed_point_never_violate_derive): a sat_sym
    cast of [-8, -8] into sfix6_En2 gave the inverted interval [-7.75, -8] (the low end was
    lifted to -int_max, the high end, not below int_min, kept -8); fi saturates -8 to -7.75."""
    T = fx.numerictype(True, 6, 2)  # [-8, 7.75]; sat_sym: [-7.75, 7.75]
    tab = fx.TypeTable({"s": T}, rounding="floor", overflow="sat_sym")
    for lo, hi in ((-8, -8), (-8, -7.9), (-8.5, -7.9)):
        out = tab.s(Interval(lo, hi))
        ran = tab.s(np.array([lo, hi])).data
        assert out.hull() == (-7.75, -7.75) == (ran.min(), ran.max())
    assert tab.s(Interval(-8, 1)).hull() == (-7.75, 1.0)


def test_cast_of_many_elements_uses_each_distinct_pair_once():
    T = fx.numerictype(True, 8, 4)
    lo = np.tile([-1.03, -20.0, 0.5], 1000)
    hi = np.tile([1.03, 3.0, 0.5], 1000)
    out = fx.TypeTable({"s": T}, rounding="floor").s(Interval(lo, hi))
    assert np.array_equal(out.lo, np.tile([-1.0625, -8.0, 0.5], 1000))
    assert np.array_equal(out.hi, np.tile([1.0, 3.0, 0.5], 1000))
