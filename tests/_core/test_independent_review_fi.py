"""Independent black-box review of fi / numerictype / fimath against MATLAB's documented rules.

Every expected value here is computed by a slow exact reference written with Python ints and
fractions.Fraction (below), or copied from a MATLAB documentation example quoted in
shared/reference/matlab-fixed-point-semantics.md.  Nothing is computed with fixsim itself.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype

SETTINGS = settings(max_examples=40, deadline=None, database=None)

# --------------------------------------------------------------------------------------------
# exact reference
# --------------------------------------------------------------------------------------------

ROUNDINGS = ['floor', 'ceil', 'zero', 'nearest', 'round', 'convergent', 'half_down',
             'half_zero', 'convergent_odd']
ALIASES = {
    'floor': ['trn', 'Floor', 'FLOOR'],
    'ceil': ['ceiling', 'Ceiling'],
    'zero': ['fix', 'trn_zero', 'Zero', 'Fix'],
    'nearest': ['rnd', 'Nearest'],
    'round': ['rnd_inf', 'Round'],
    'convergent': ['rnd_conv', 'Convergent'],
    'half_down': ['rnd_min_inf'],
    'half_zero': ['rnd_zero'],
    'convergent_odd': ['rnd_conv_odd'],
}
OVERFLOWS = ['saturate', 'wrap', 'sat_zero', 'sat_sym', 'wrap_sm']
OVF_ALIASES = {'saturate': ['sat', 'Saturate', 'AP_SAT'], 'wrap': ['Wrap', 'AP_WRAP']}


def pow2(k: int) -> Fraction:
    return Fraction(2) ** k


def rnd_ref(y: Fraction, mode: str) -> int:
    fl = math.floor(y)
    r = y - fl
    if r == 0:
        return fl
    half = Fraction(1, 2)
    if mode == 'floor':
        return fl
    if mode == 'ceil':
        return fl + 1
    if mode == 'zero':
        return fl if y > 0 else fl + 1
    if r > half:
        return fl + 1
    if r < half:
        return fl
    # exact tie
    return {
        'nearest': fl + 1,
        'round': fl + 1 if y > 0 else fl,
        'convergent': fl if fl % 2 == 0 else fl + 1,
        'half_down': fl,
        'half_zero': fl if y > 0 else fl + 1,
        'convergent_odd': fl if fl % 2 == 1 else fl + 1,
    }[mode]


def bounds(s: bool, w: int) -> tuple[int, int]:
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if s else (0, (1 << w) - 1)


def wrap_int(n: int, s: bool, w: int) -> int:
    m = n % (1 << w)
    if s and m >= 1 << (w - 1):
        m -= 1 << w
    return m


def ovf_ref(n: int, s: bool, w: int, mode: str, src: int | None = None) -> int:
    lo, hi = bounds(s, w)
    if mode == 'saturate':
        return min(max(n, lo), hi)
    if mode == 'wrap':
        return wrap_int(n, s, w)
    if mode == 'sat_zero':
        return n if lo <= n <= hi else 0
    if mode == 'sat_sym':
        if s:
            return min(max(n, -hi), hi)
        return min(max(n, lo), hi)
    if mode == 'wrap_sm':
        # ap_fixed AP_WRAP_SM (ap_fixed_base::overflow_adjust, N = 0): wrap, then invert all
        # bits when bit W of the source (lD, taken before rounding: floor of the scaled value)
        # differs from the wrapped sign bit (Ro).
        if lo <= n <= hi:
            return n
        m = wrap_int(n, s, w)
        src = n if src is None else src
        if ((src >> w) & 1) != (1 if m < 0 else 0):
            m = ~m
        return m
    raise ValueError(mode)


def q_ref(x, s: bool, w: int, f: int, rmode='nearest', omode='saturate') -> int:
    y = Fraction(x) * pow2(f)
    return ovf_ref(rnd_ref(y, rmode), s, w, omode, math.floor(y))


def ints(a) -> list[int]:
    v = a.int
    if np.ndim(v) == 0:
        return [int(v)]
    return [int(t) for t in np.asarray(v, dtype=object).ravel()]


def ntype(a) -> tuple[bool, int, int]:
    t = a.numerictype
    return (bool(t.signed), int(t.word_length), int(t.fraction_length))


def best_fl(values, s: bool, w: int) -> int:
    best = None
    for x in values:
        x = Fraction(x)
        if x > 0:
            # exact floor(log2 x) + 1
            k = x.numerator.bit_length() - x.denominator.bit_length()
            if pow2(k) > x:
                k -= 1
            elif pow2(k + 1) <= x:
                k += 1
            need = k + 1
        elif x < 0 and s:
            m = -x
            k = m.numerator.bit_length() - m.denominator.bit_length()  # ceil(log2 m)
            while pow2(k) < m:
                k += 1
            while pow2(k - 1) >= m:
                k -= 1
            need = k
        else:
            continue
        best = need if best is None else max(best, need)
    assert best is not None
    return w - int(s) - best


# --------------------------------------------------------------------------------------------
# 1. quantization
# --------------------------------------------------------------------------------------------

type_shapes = st.one_of(
    st.tuples(st.booleans(), st.integers(1, 64), st.integers(-20, 80)),
    st.tuples(st.booleans(), st.integers(65, 200), st.integers(-20, 220)),
)


@st.composite
def exact_values(draw, s, w, f):
    """Fractions concentrated around the type's grid: ties, near-ties, boundaries, far out."""
    lsb = pow2(-f)
    lo, hi = bounds(s, w)
    kind = draw(st.integers(0, 4))
    if kind == 0:  # tie or near tie anywhere in (or a bit outside) the range
        k = draw(st.integers(lo - 3, hi + 3))
        d = draw(st.sampled_from([Fraction(1, 2), Fraction(1, 4), Fraction(3, 4),
                                  Fraction(1, 2) - Fraction(1, 2 ** 70),
                                  Fraction(1, 2) + Fraction(1, 2 ** 70), Fraction(0)]))
        return (k + d) * lsb
    if kind == 1:  # boundaries
        k = draw(st.sampled_from([lo, hi, lo - 1, hi + 1, 0, -1, 1]))
        d = draw(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(-1, 2), Fraction(1, 3)]))
        return (k + d) * lsb
    if kind == 2:  # far outside the range (wrap)
        m = draw(st.integers(-(1 << (w + 40)), 1 << (w + 40)))
        d = draw(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(2, 3)]))
        return (m + d) * lsb
    if kind == 3:  # small ties on both sides of zero
        return draw(st.sampled_from([-2, -1, 1, 2])) * Fraction(1, 2) * lsb * \
            draw(st.sampled_from([1, 3, 5]))
    return Fraction(draw(st.integers(-(1 << 200), 1 << 200)), draw(st.integers(1, 1 << 80)))


@SETTINGS
@given(data=st.data(), shape=type_shapes, rmode=st.sampled_from(ROUNDINGS),
       omode=st.sampled_from(OVERFLOWS))
def test_quantize_fraction_all_modes(data, shape, rmode, omode):
    s, w, f = shape
    if omode == 'wrap_sm' and not s:
        omode = 'wrap'
    xs = [data.draw(exact_values(s, w, f)) for _ in range(5)]
    a = fi(xs, s, w, f, rounding=rmode, overflow=omode)
    assert ntype(a) == (s, w, f)
    assert ints(a) == [q_ref(x, s, w, f, rmode, omode) for x in xs]
    # scalar path
    b = fi(xs[0], s, w, f, rounding=rmode, overflow=omode)
    assert ints(b) == [q_ref(xs[0], s, w, f, rmode, omode)]


@SETTINGS
@given(data=st.data(), shape=type_shapes, rmode=st.sampled_from(ROUNDINGS),
       omode=st.sampled_from(['saturate', 'wrap', 'sat_zero', 'sat_sym']))
def test_quantize_float_array_all_modes(data, shape, rmode, omode):
    s, w, f = shape
    lsb = 2.0 ** -f
    lo, hi = bounds(s, w)
    xs = []
    for _ in range(6):
        k = data.draw(st.integers(max(lo - 4, -(2 ** 60)), min(hi + 4, 2 ** 60)))
        d = data.draw(st.sampled_from([0.0, 0.5, 0.25, 0.75, -0.5]))
        x = (k + d) * lsb
        if math.isfinite(x):
            xs.append(x)
    xs.append(data.draw(st.floats(-1e30, 1e30, allow_nan=False)))
    arr = np.array(xs, dtype=np.float64)
    a = fi(arr, s, w, f, rounding=rmode, overflow=omode)
    assert ints(a) == [q_ref(Fraction(float(x)), s, w, f, rmode, omode) for x in arr]


@pytest.mark.parametrize('canon', ROUNDINGS)
def test_rounding_aliases(canon):
    xs = [Fraction(k, 2) for k in range(-7, 8)] + [Fraction(k, 4) for k in (-3, -1, 1, 3)]
    for name in [canon] + ALIASES[canon]:
        a = fi(xs, 1, 8, 0, rounding=name, overflow='wrap')
        assert ints(a) == [q_ref(x, True, 8, 0, canon, 'wrap') for x in xs], name
        F = fimath(rounding=name)
        b = fi(xs, 1, 8, 0, F)
        assert ints(b) == [q_ref(x, True, 8, 0, canon) for x in xs], name


@pytest.mark.parametrize('canon', ['saturate', 'wrap'])
def test_overflow_aliases(canon):
    xs = [-300, -129, -128, 127, 128, 1000]
    for name in [canon] + OVF_ALIASES[canon]:
        a = fi(xs, 1, 8, 0, overflow=name)
        assert ints(a) == [q_ref(x, True, 8, 0, 'nearest', canon) for x in xs], name


def test_user_guide_overflow_table():
    v = np.array([-200.0, -128.0, 127.0, 130.0])
    exp = {'saturate': [-128, -128, 127, 127], 'wrap': [56, -128, 127, -126],
           'sat_zero': [0, -128, 127, 0], 'sat_sym': [-127, -127, 127, 127],
           'wrap_sm': [-57, -128, 127, 125]}
    for mode, e in exp.items():
        assert ints(fi(v, 1, 8, 0, overflow=mode)) == e
        assert [q_ref(Fraction(x), True, 8, 0, 'nearest', mode) for x in v] == e


def test_user_guide_tie_table():
    ties = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    exp = {'nearest': [-2, -1, 0, 1, 2, 3], 'round': [-3, -2, -1, 1, 2, 3],
           'convergent': [-2, -2, 0, 0, 2, 2], 'floor': [-3, -2, -1, 0, 1, 2],
           'zero': [-2, -1, 0, 0, 1, 2]}
    for mode, e in exp.items():
        assert ints(fi(ties, 1, 8, 0, rounding=mode)) == e


def test_edge_word_lengths():
    # W = 1 signed holds {-1, 0}; unsigned {0, 1}
    xs = [-2, -1, Fraction(-1, 2), 0, Fraction(1, 2), 1, 2]
    for s in (True, False):
        for om in ('saturate', 'wrap'):
            for rm in ROUNDINGS:
                a = fi(xs, s, 1, 0, rounding=rm, overflow=om)
                assert ints(a) == [q_ref(x, s, 1, 0, rm, om) for x in xs]
    # W = 64 signed / unsigned, values near the limits
    for s in (True, False):
        lo, hi = bounds(s, 64)
        xs = [lo, hi, hi + 1, lo - 1, Fraction(hi) + Fraction(1, 2), 2 ** 70 + 3, -(2 ** 70) - 5]
        for om in ('saturate', 'wrap'):
            a = fi(xs, s, 64, 0, overflow=om)
            assert ints(a) == [q_ref(x, s, 64, 0, 'nearest', om) for x in xs]
    # F < 0 and F > W
    xs = [Fraction(3, 1000), -1000, 12345, Fraction(-1, 7)]
    for f in (-9, 20):
        for om in ('saturate', 'wrap'):
            a = fi(xs, True, 6, f, overflow=om)
            assert ints(a) == [q_ref(x, True, 6, f, 'nearest', om) for x in xs]


def test_most_negative_and_sat_sym():
    a = fi([-1.0, -0.5, 0.75], 1, 8, 7, overflow='sat_sym')
    assert ints(a) == [-127, -64, 96]
    u = fi([-1.0, 3.0], 0, 4, 2, overflow='sat_sym')
    assert ints(u) == [0, 12]


def test_python_int_and_fraction_exact_wide():
    x = 2 ** 150 + 1
    a = fi(x, 1, 200, 0)
    assert ints(a) == [x]
    a = fi(Fraction(1, 3), 1, 200, 190)
    assert ints(a) == [q_ref(Fraction(1, 3), True, 200, 190)]
    a = fi([Fraction(1, 3)], 0, 129, 130, rounding='ceil')
    assert ints(a) == [q_ref(Fraction(1, 3), False, 129, 130, 'ceil')]


def test_stochastic_is_floor_or_ceil_and_reproducible():
    xs = np.array([0.25, -0.25, 1.0, -3.75, 2.5] * 8)
    a = fi(xs, 1, 8, 0, rounding='stochastic', seed=7)
    b = fi(xs, 1, 8, 0, rounding='stochastic', seed=7)
    assert ints(a) == ints(b)
    for x, n in zip(xs, ints(a), strict=True):
        assert n in (math.floor(x), math.ceil(x))
    # exact values are not perturbed
    assert ints(fi([1.0, -3.0], 1, 8, 0, rounding='stochastic', seed=1)) == [1, -3]


# --------------------------------------------------------------------------------------------
# construction rules, best precision
# --------------------------------------------------------------------------------------------

def test_matlab_constructor_examples():
    a = fi(np.pi)
    assert ntype(a) == (True, 16, 13) and ints(a) == [25736]
    assert a.bin == '0110010010001000' and a.hex == '6488'
    a = fi(np.pi, 1, 16, 13)
    assert ints(a) == [25736] and a.bin == '0110010010001000'
    b = fi(0.1)
    assert ntype(b) == (True, 16, 18) and ints(b) == [26214]
    assert abs(Fraction(26214, 2 ** 18) - Fraction('0.0999984741210938')) < Fraction(1, 10 ** 15)
    c = fi(np.pi, 1, 8)
    assert ntype(c) == (True, 8, 5) and ints(c) == [101]
    d = fi(np.e, 0, 20)
    assert ntype(d) == (False, 20, 18) and ints(d) == [q_ref(Fraction(np.e), False, 20, 18)]
    assert Fraction(ints(d)[0], 2 ** 18) == Fraction(2.71828079223633).limit_denominator(2 ** 18)
    assert ntype(fi(-128)) == (True, 16, 8)
    assert ntype(fi([1, 2, 5, 8, 5])) == (True, 16, 11)
    assert ntype(fi(np.array([[8., 1, 6], [3, 5, 7], [4, 9, 2]]))) == (True, 16, 11)
    e = fi(16000, 1, 8)
    assert ntype(e) == (True, 8, -7) and ints(e) == [125] and e.bin == '01111101'
    g = fi(.0234, 1, 8)
    assert ntype(g) == (True, 8, 12) and ints(g) == [96] and g.bin == '01100000'
    assert ntype(fi(0.25, 0, 16)) == (False, 16, 17)
    assert ntype(fi(0.5, 0, 16)) == (False, 16, 16)
    assert ntype(fi(0.4555, 0, 16)) == (False, 16, 17)
    h = fi([0.2, 0.3, 0.4, 0.5])
    assert ntype(h) == (True, 16, 15) and ints(h) == [6554, 9830, 13107, 16384]
    assert ntype(fi(np.pi, 1, 20)) == (True, 20, 17) and ints(fi(np.pi, 1, 20)) == [411775]
    u = fi([-np.pi, 0.5, np.pi], 0, 8)
    assert ntype(u) == (False, 8, 6) and ints(u)[0] == 0
    assert ntype(fi(np.array([[0, 1, 2], [3, 4, 5]]), 1, 32)) == (True, 32, 28)
    assert ints(fi(np.pi, 1, 16, 12)) == [12868]
    ci = fi(np.pi, 1, 8)
    assert ints(ci) == [101]
    assert fi.from_int(6, ci.numerictype).exact() == Fraction(6, 32)


@SETTINGS
@given(st.lists(st.fractions(min_value=-10 ** 6, max_value=10 ** 6, max_denominator=10 ** 6)
                .filter(lambda v: v != 0), min_size=1, max_size=5),
       st.booleans(), st.integers(2, 40))
def test_best_precision_rule(vals, s, w):
    if not s and all(v < 0 for v in vals):
        vals = [-v for v in vals]
    a = fi(vals, s, w)
    fl = best_fl(vals, s, w)
    assert ntype(a) == (s, w, fl)
    assert ints(a) == [q_ref(v, s, w, fl) for v in vals]


def test_constructor_local_fimath_examples():
    T = numerictype(True, 8, 7)
    F = fimath(rounding='floor', overflow='wrap')
    assert ints(fi(1, T, F)) == [-128]
    b = fi(1, T)
    assert ints(b) == [127]
    assert ints(b.setfimath(F)) == [127]
    c = fi(np.pi, rounding='floor', overflow='wrap')
    assert ntype(c) == (True, 16, 13) and ints(c) == [25735]
    # constructor ignores the default fimath
    with fimath(rounding='floor', overflow='wrap'):
        assert ints(fi(1, T)) == [127]
        assert ints(fi(np.pi, 1, 16, 13)) == [25736]


def test_numerictype_bounds_examples():
    T = numerictype(True, 4, 2)
    assert T.min == -2.0 and T.max == 1.75 and T.eps == 0.25
    # (the reference quotes eps(fi(pi,1,8)) = 0.125, but fi(pi,1,8) is s8,5 by its own
    # best-precision examples, so its LSB is 2^-5; the 0.125 line is not used)
    assert fi(np.pi, 1, 8).numerictype.eps == 2.0 ** -5
    assert numerictype(True, 8, 7).eps == 2.0 ** -7
    T = fi(np.pi, True, 16, 12).numerictype
    assert T.int_max == 32767 and T.int_min == -32768
    U = numerictype(False, 70, 3)
    assert U.int_max == 2 ** 70 - 1 and U.int_min == 0
    assert str(numerictype(True, 16, 12)) == 'sfix16_En12'
    assert str(numerictype(False, 8, 3)) == 'ufix8_En3'
    assert str(numerictype(True, 8, -2)) == 'sfix8_E2'
    assert str(numerictype(True, 8, 0)) == 'sfix8'


# --------------------------------------------------------------------------------------------
# 2. arithmetic result types (default fimath, full precision)
# --------------------------------------------------------------------------------------------

small_types = st.tuples(st.booleans(), st.integers(1, 40), st.integers(-10, 50))
any_types = st.one_of(small_types,
                      st.tuples(st.booleans(), st.integers(41, 130), st.integers(-10, 140)))


@st.composite
def fi_operand(draw, types=any_types, n=4):
    s, w, f = draw(types)
    lo, hi = bounds(s, w)
    vals = [draw(st.integers(lo, hi)) for _ in range(n - 2)] + [lo, hi]
    return s, w, f, vals


def make(s, w, f, vals):
    return fi.from_int(np.array(vals, dtype=object) if w > 62 else np.array(vals),
                       numerictype(s, w, f))


def sum_type(ta, tb):
    (sa, wa, fa), (sb, wb, fb) = ta, tb
    fl = max(fa, fb)
    il = max(wa - fa, wb - fb)
    return (sa or sb, il + fl + 1 + (1 if sa != sb else 0), fl)


def exact(s, w, f, n) -> Fraction:
    return n * pow2(-f)


@SETTINGS
@given(x=fi_operand(), y=fi_operand())
def test_add_sub_mul_full_precision(x, y):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    a, b = make(sa, wa, fa, va), make(sb, wb, fb, vb)
    st_ = sum_type((sa, wa, fa), (sb, wb, fb))
    c = a + b
    assert ntype(c) == st_
    assert ints(c) == [q_ref(exact(sa, wa, fa, p) + exact(sb, wb, fb, q), *st_)
                       for p, q in zip(va, vb, strict=True)]
    d = a - b
    assert ntype(d) == st_
    assert ints(d) == [q_ref(exact(sa, wa, fa, p) - exact(sb, wb, fb, q), *st_)
                       for p, q in zip(va, vb, strict=True)]
    pt = (sa or sb, wa + wb, fa + fb)
    e = a * b
    assert ntype(e) == pt
    assert ints(e) == [p * q for p, q in zip(va, vb, strict=True)]


@SETTINGS
@given(x=fi_operand(), y=fi_operand())
def test_sub_wrap_fimath(x, y):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    F = fimath(overflow='wrap', rounding='floor')
    a, b = make(sa, wa, fa, va).setfimath(F), make(sb, wb, fb, vb)
    st_ = sum_type((sa, wa, fa), (sb, wb, fb))
    d = a - b
    assert ntype(d) == st_
    assert ints(d) == [q_ref(exact(sa, wa, fa, p) - exact(sb, wb, fb, q), *st_, 'floor', 'wrap')
                       for p, q in zip(va, vb, strict=True)]


def test_printed_sum_types():
    def t(s, w, f):
        return fi.from_int(np.array([0]), numerictype(s, w, f))
    assert ntype(t(0, 4, 6) + t(0, 4, 6)) == (False, 5, 6)
    assert ntype(t(1, 4, 6) + t(1, 4, 6)) == (True, 5, 6)
    assert ntype(t(1, 16, 13) + t(1, 12, 14)) == (True, 18, 14)
    assert ntype(t(1, 8, 5) + t(1, 8, 5)) == (True, 9, 5)
    assert ntype(t(0, 4, 4) + t(1, 4, 3)) == (True, 7, 4)
    assert ntype(t(0, 4, 4) + t(1, 4, 0)) == (True, 10, 4)
    p = fi(np.pi, 1, 20) * fi(np.e, 1, 16)
    assert ntype(p) == (True, 36, 30)
    assert ints(p) == [q_ref(np.pi, True, 20, 17) * q_ref(np.e, True, 16, 13)]
    q = fi(np.pi, 1, 8) * fi(np.e, 1, 8)
    assert ntype(q) == (True, 16, 10) and ints(q) == [101 * 87]


@SETTINGS
@given(x=fi_operand())
def test_unary_minus_abs_same_type(x):
    s, w, f, v = x
    a = make(s, w, f, v)
    n = -a
    assert ntype(n) == (s, w, f)
    assert ints(n) == [ovf_ref(-p, s, w, 'saturate') for p in v]
    m = abs(a)
    assert ntype(m) == (s, w, f)
    assert ints(m) == [ovf_ref(abs(p), s, w, 'saturate') for p in v]
    F = fimath(overflow='wrap')
    aw = a.setfimath(F)
    assert ints(-aw) == [ovf_ref(-p, s, w, 'wrap') for p in v]
    assert ints(abs(aw)) == [ovf_ref(abs(p), s, w, 'wrap') for p in v]


def test_uminus_abs_matlab_examples():
    a = fi(-1, True, 8, 7, overflow='wrap')
    assert ints(-a) == [-128] and ntype(-a) == (True, 8, 7)
    b = fi(-1, True, 8, 7)
    assert ints(-b) == [127]
    c = fi(-128)
    assert ntype(c) == (True, 16, 8)
    assert ints(abs(c)) == [32767] and ntype(abs(c)) == (True, 16, 8)


@SETTINGS
@given(x=fi_operand(types=any_types, n=6), ax=st.sampled_from([None, 0]))
def test_sum_growth(x, ax):
    s, w, f, v = x
    a = make(s, w, f, v)
    r = fx.sum(a) if ax is None else fx.sum(a, axis=0)
    n = len(v)
    assert ntype(r) == (s, w + math.ceil(math.log2(n)), f)
    assert ints(r) == [sum(v)]


def test_sum_documented_examples():
    b = fi(np.linspace(0, 0.4, 16), 1, 32, 30)
    c = fx.sum(b)
    assert ntype(c) == (True, 36, 30)
    assert ints(c) == [sum(ints(b))]
    A = fi([1, 2, 5, 8, 5], sum_mode='KeepLSB', sum_word_length=32)
    r = fx.sum(A)
    assert ntype(r) == (True, 32, 11) and ints(r) == [21 * 2 ** 11]


def test_prod_full_precision():
    # MATLAB prod = repeated .* : word and fraction lengths add up
    a = fi([1.5, -2.25, 3.0], 1, 10, 4)
    p = fx.prod(a)
    assert ntype(p) == (True, 30, 12)
    assert ints(p) == [24 * -36 * 48]


def test_mean_example():
    A = fi(np.array([[0, 1, 2], [3, 4, 5]]), 1, 32)
    m = fx.mean(A, axis=0)
    assert ntype(m) == (True, 32, 28)
    assert ints(m) == [int(Fraction(3, 2) * 2 ** 28), int(Fraction(5, 2) * 2 ** 28),
                       int(Fraction(7, 2) * 2 ** 28)]


@SETTINGS
@given(x=fi_operand(types=small_types, n=3),
       num=st.one_of(st.integers(-300, 300), st.floats(-50, 50, allow_nan=False),
                     st.fractions(-20, 20, max_denominator=64)))
def test_mixed_python_numbers(x, num):
    s, w, f, v = x
    a = make(s, w, f, v)
    # +: number cast (nearest/saturate) to a's type
    q = q_ref(Fraction(num), s, w, f)
    st_ = sum_type((s, w, f), (s, w, f))
    r = a + num
    assert ntype(r) == st_
    assert ints(r) == [q_ref(exact(s, w, f, p) + exact(s, w, f, q), *st_) for p in v]
    r2 = num + a
    assert ntype(r2) == st_
    # *: number cast to s, w with best precision
    if Fraction(num) != 0 and (s or Fraction(num) > 0):
        fl = best_fl([Fraction(num)], s, w)
        qn = q_ref(Fraction(num), s, w, fl)
        m = a * num
        assert ntype(m) == (s, 2 * w, f + fl)
        assert ints(m) == [p * qn for p in v]


def test_mixed_doc_examples():
    a = fi([np.pi], 1, 16, 13)
    assert ntype(a + 1) == (True, 17, 13)
    assert ntype(a * 0.1) == (True, 32, 31)
    assert ints(a * 0.1) == [25736 * q_ref(Fraction(0.1), True, 16, 18)]
    assert ntype(a + np.int8(3)) == (True, 22, 13)
    r = a + 100
    assert ints(r) == [25736 + 32767]


def test_mixed_numpy_float_array():
    a = make(True, 12, 6, [100, -50, 3])
    r = a + np.array([0.1, -1.0, 2.5])
    assert ntype(r) == (True, 13, 6)
    assert ints(r) == [100 + q_ref(0.1, True, 12, 6), -50 - 64, 3 + 160]


def test_signed_plus_unsigned_values():
    u = fi.from_int(np.array([15, 0, 8]), numerictype(False, 4, 4))
    s = fi.from_int(np.array([-8, 7, 0]), numerictype(True, 4, 0))
    r = u + s
    assert ntype(r) == (True, 10, 4)
    assert ints(r) == [15 - 128, 112, 8]


def test_unsigned_minus_unsigned_saturates_at_zero():
    u = fi.from_int(np.array([1, 5]), numerictype(False, 8, 0))
    v = fi.from_int(np.array([2, 3]), numerictype(False, 8, 0))
    r = u - v
    assert ntype(r) == (False, 9, 0)
    assert ints(r) == [0, 2]


# product / sum modes ------------------------------------------------------------------------

def test_keep_lsb_product_doc_example():
    F = fimath(product_mode='KeepLSB', product_word_length=12, overflow='wrap', rounding='floor')
    a = fi(np.pi, 1, 8).setfimath(F)
    b = fi(np.e, 1, 8).setfimath(F)
    c = a * b
    assert ntype(c) == (True, 12, 10)
    assert ints(c) == [595]


def test_specify_precision_doc_examples():
    F = fimath(sum_mode='SpecifyPrecision', sum_word_length=32, sum_fraction_length=16,
               product_mode='SpecifyPrecision', product_word_length=40,
               product_fraction_length=30)
    c = (fi(np.pi).setfimath(F) + fi(np.e).setfimath(F)).removefimath()
    assert ntype(c) == (True, 32, 16) and ints(c) == [(25736 + 22268) * 8]
    d = (fi(np.pi).setfimath(F) * fi(np.e).setfimath(F)).removefimath()
    assert ntype(d) == (True, 40, 30) and ints(d) == [25736 * 22268 * 16]


@SETTINGS
@given(x=fi_operand(types=small_types, n=3), y=fi_operand(types=small_types, n=3),
       wl=st.integers(2, 90), rm=st.sampled_from(['floor', 'nearest', 'convergent', 'zero']),
       om=st.sampled_from(['saturate', 'wrap']))
def test_product_modes(x, y, wl, rm, om):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    wi, fi_, s = wa + wb, fa + fb, sa or sb
    exacts = [exact(sa, wa, fa, p) * exact(sb, wb, fb, q) for p, q in zip(va, vb, strict=True)]
    for mode, want in (('keep_lsb', (s, wl, fi_)), ('keep_msb', (s, wl, fi_ - max(0, wi - wl))),
                       ('specify', (s, wl, 7))):
        F = fimath(product_mode=mode, product_word_length=wl, product_fraction_length=7,
                   rounding=rm, overflow=om)
        c = make(sa, wa, fa, va).setfimath(F) * make(sb, wb, fb, vb)
        assert ntype(c) == want, mode
        assert ints(c) == [q_ref(e, *want, rm, om) for e in exacts], mode


@SETTINGS
@given(x=fi_operand(types=small_types, n=3), y=fi_operand(types=small_types, n=3),
       wl=st.integers(2, 60), rm=st.sampled_from(['floor', 'nearest', 'round']),
       om=st.sampled_from(['saturate', 'wrap']))
def test_sum_modes_cast_before_sum(x, y, wl, rm, om):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    s, wi, fl = sum_type((sa, wa, fa), (sb, wb, fb))
    for mode, want in (('keep_lsb', (s, wl, fl)), ('keep_msb', (s, wl, fl - max(0, wi - wl))),
                       ('specify', (s, wl, 5))):
        F = fimath(sum_mode=mode, sum_word_length=wl, sum_fraction_length=5,
                   rounding=rm, overflow=om)
        c = make(sa, wa, fa, va).setfimath(F) + make(sb, wb, fb, vb)
        assert ntype(c) == want, mode
        exp = []
        for p, q in zip(va, vb, strict=True):
            ca = q_ref(exact(sa, wa, fa, p), *want, rm, om)
            cb = q_ref(exact(sb, wb, fb, q), *want, rm, om)
            exp.append(ovf_ref(ca + cb, want[0], want[1], om))
        assert ints(c) == exp, mode


def test_keep_msb_matmul_answers_example():
    F = fimath(product_mode='KeepMSB', product_word_length=32, sum_mode='KeepMSB',
               sum_word_length=32)
    A = fi(np.ones((1, 11)) * 0.5, 1, 32, 22).setfimath(F)
    x = fi(np.ones((11, 1)) * 0.25, 1, 32, 22).setfimath(F)
    assert ntype(A @ x) == (True, 32, 8)
    A2 = fi(np.ones((1, 550)) * 0.5, 1, 32, 22).setfimath(F)
    x2 = fi(np.ones((550, 1)) * 0.25, 1, 32, 22).setfimath(F)
    assert ntype(A2 @ x2) == (True, 32, 2)


def test_matmul_full_precision_type():
    A = make(True, 10, 3, [1, 2, 3, -4]).reshape(2, 2)
    B = make(False, 7, 2, [5, 6, 7, 127]).reshape(2, 2)
    C = A @ B
    assert ntype(C) == (True, 18, 5)
    assert ints(C) == [1 * 5 + 2 * 7, 1 * 6 + 2 * 127, 3 * 5 - 4 * 7, 3 * 6 - 4 * 127]


# division -----------------------------------------------------------------------------------

def test_rdivide_doc_example():
    a = fi(np.array([[8., 1, 6], [3, 5, 7], [4, 9, 2]]))
    b = np.array([[3, 3, 4], [1, 2, 4], [3, 1, 2]], dtype=np.int8)
    c = a / b
    assert ntype(c) == (True, 16, 11)
    num = [8, 1, 6, 3, 5, 7, 4, 9, 2]
    den = [3, 3, 4, 1, 2, 4, 3, 1, 2]
    assert ints(c) == [q_ref(Fraction(p, q), True, 16, 11) for p, q in zip(num, den, strict=True)]
    assert ints(c)[1] == 683


def test_divide_doc_example():
    T = numerictype(False, 80, 83)
    c = fx.divide(T, fi(1), fi(10))
    assert c.bin == '11001100110011001100110011001100110011001100110011001100110011001100110011001101'
    assert ntype(c) == (False, 80, 83)


@SETTINGS
@given(x=fi_operand(types=small_types, n=3), y=fi_operand(types=small_types, n=3))
def test_rdivide_rule(x, y):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    vb = [q if q != 0 else 1 for q in vb]
    if max(vb) > bounds(sb, wb)[1] or min(vb) < bounds(sb, wb)[0]:
        return
    c = make(sa, wa, fa, va) / make(sb, wb, fb, vb)
    want = (sa or sb, max(wa, wb), fa - fb)
    assert ntype(c) == want
    assert ints(c) == [q_ref(exact(sa, wa, fa, p) / exact(sb, wb, fb, q), *want)
                       for p, q in zip(va, vb, strict=True)]


# integer rounding functions -------------------------------------------------------------------

def test_integer_rounding_function_examples():
    a = fi(np.pi, 1, 8, 3)
    for fn in (fx.nearest, fx.convergent):
        r = fn(a)
        assert ntype(r) == (True, 6, 0) and ints(r) == [3]
    for fn in (fx.floor, fx.fix):
        r = fn(a)
        assert ntype(r) == (True, 5, 0) and ints(r) == [3]
    b = fi(0.025, 1, 8, 12)
    for fn in (fx.nearest, fx.convergent, fx.floor, fx.fix):
        r = fn(b)
        assert ntype(r) == (True, 2, 0) and ints(r) == [0]


def test_rounding_function_tables():
    a = fi(np.arange(-3.5, 4.0, 1.0))
    assert ints(fx.convergent(a)) == [-4, -2, -2, 0, 0, 2, 2, 4]
    assert ints(fx.nearest(a)) == [-3, -2, -1, 0, 1, 2, 3, 4]
    assert ints(fx.round(a)) == [-4, -3, -2, -1, 1, 2, 3, 4]
    b = fi([-2.5, -1.75, -1.25, -0.5, 0.5, 1.25, 1.75, 2.5])
    assert ints(fx.ceil(b)) == [-2, -1, -1, 0, 1, 2, 2, 3]
    assert ints(fx.fix(b)) == [-2, -1, -1, 0, 0, 1, 1, 2]
    assert ints(fx.floor(b)) == [-3, -2, -2, -1, 0, 1, 1, 2]


def test_ceil_does_not_overflow():
    # ceil can round up past the integer range of the input (like nearest)
    a = fi(3.875, 1, 6, 3)
    assert ints(fx.ceil(a)) == [4]


# --------------------------------------------------------------------------------------------
# other documented examples
# --------------------------------------------------------------------------------------------

def test_accumpos_and_assignment_examples():
    a = fi(np.pi, 1, 16, 13)
    b = fi(1.5, 1, 16, 14)
    r = (a + b.cast(a.numerictype, 'floor', 'wrap')).cast(a.numerictype, 'floor', 'wrap')
    assert ints(r) == [38024 - 65536]
    A = fi([0], 1, 8, 0)
    A[...] = fi(32767, 1, 16, 0)
    assert ints(A) == [127]
    c = fi(np.int8(5), numerictype(True, 24, 12))
    assert ntype(c) == (True, 24, 12) and ints(c) == [5 * 4096]
    q = fi(np.pi).cast(numerictype(True, 8, 4))
    assert ntype(q) == (True, 8, 4) and ints(q) == [50]
    assert ints(fi(np.pi, 1, 16, 13, rounding='ceil')) == [25736]
    assert ints(fi(np.pi, 1, 16, 13, rounding='fix')) == [25735]


def test_integer_input_keeps_type():
    a = fi(np.array([3, -4], dtype=np.int8))
    assert ntype(a) == (True, 8, 0) and ints(a) == [3, -4]
    b = fi(np.array([250], dtype=np.uint8))
    assert ntype(b) == (False, 8, 0) and ints(b) == [250]


# --------------------------------------------------------------------------------------------
# 4. bits
# --------------------------------------------------------------------------------------------

def bits_ref(n: int, w: int) -> str:
    return format(n % (1 << w), f'0{w}b')


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(1, 140), st.integers(-5, 20)),
                    n=3))
def test_bin_hex_oct_dec(x):
    s, w, f, v = x
    a = make(s, w, f, v)
    u = [p % (1 << w) for p in v]
    assert list(a.bin) == [bits_ref(p, w) for p in v]
    assert list(a.hex) == [format(p, f'0{-(-w // 4)}x') for p in u]
    assert list(a.oct) == [format(p, f'0{-(-w // 3)}o') for p in u]
    assert list(a.dec) == [str(p) for p in u]
    assert list(a.sdec) == [str(p) for p in v]


def test_bits_doc_example():
    a = fi([-1, 1], 1, 8, 7)
    assert list(a.hex) == ['80', '7f'] and list(a.oct) == ['200', '177']
    assert list(a.dec) == ['128', '127'] and list(a.sdec) == ['-128', '127']


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(2, 100), st.integers(-5, 20)),
                    n=3), k=st.integers(0, 110))
def test_shifts(x, k):
    s, w, f, v = x
    a = make(s, w, f, v)
    mask = (1 << w) - 1
    k = k % (w + 2)
    assert ints(fx.bitsll(a, k)) == [wrap_int((p << k) & mask, s, w) for p in v]
    assert ints(fx.bitsra(a, k)) == [p >> k for p in v]
    assert ints(fx.bitsrl(a, k)) == [wrap_int((p & mask) >> k, s, w) for p in v]
    for om in ('saturate', 'wrap'):
        b = a.setfimath(fimath(overflow=om, rounding='nearest'))
        assert ints(fx.bitshift(b, k)) == [ovf_ref(p << k, s, w, om) for p in v]
        assert ints(fx.bitshift(b, -k)) == [p >> k for p in v]  # always floor
        assert ntype(fx.bitshift(b, k)) == (s, w, f)


def test_bitshift_doc_table():
    a = fi(3, 1, 16, 0)
    got = [fx.bitshift(a, k).bin for k in range(17)]
    exp = [bits_ref(3 << k, 16) for k in range(14)] + ['0111111111111111'] * 3
    assert got == exp
    aw = fi(3, 1, 16, 0, overflow='wrap')
    assert fx.bitshift(aw, 11).bin == '0001100000000000'
    assert fx.bitsra(fi(-1.0, 1, 8, 7), 1).bin == '11000000'


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(1, 100), st.integers(-5, 20)),
                    n=3), s2=st.booleans(), f2=st.integers(-10, 120))
def test_reinterpretcast(x, s2, f2):
    s, w, f, v = x
    a = make(s, w, f, v)
    r = fx.reinterpretcast(a, numerictype(s2, w, f2))
    assert ntype(r) == (s2, w, f2)
    assert ints(r) == [wrap_int(p, s2, w) for p in v]


def test_reinterpretcast_doc():
    r = fx.reinterpretcast(fi([-1.0], 1, 8, 7), numerictype(False, 8, 0))
    assert ints(r) == [128]


# --------------------------------------------------------------------------------------------
# extra probes: wide float quantization (two-limb path), casts, mixed operands, int dtype
# --------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data(), s=st.booleans(), w=st.integers(60, 140), f=st.integers(-40, 200),
       rmode=st.sampled_from(ROUNDINGS), omode=st.sampled_from(['saturate', 'wrap', 'sat_zero']))
def test_wide_float_random_exponents(data, s, w, f, rmode, omode):
    xs = []
    for _ in range(8):
        m = data.draw(st.integers(-(2 ** 53) + 1, 2 ** 53 - 1))
        e = data.draw(st.integers(-f - 60, w - f + 30))
        xs.append(math.ldexp(m, e))
    xs += [0.0, -0.0, 5e-324, -5e-324]
    arr = np.array(xs)
    a = fi(arr, s, w, f, rounding=rmode, overflow=omode)
    exp = [q_ref(Fraction(float(x)), s, w, f, rmode, omode) for x in arr]
    assert ints(a) == exp
    # reading back as doubles must give the correctly rounded value of the exact number
    assert [float(v) for v in np.asarray(a.data).ravel()] == [float(n * pow2(-f)) for n in exp]
    # a cast of the limb-stored value down to <= 64 bits
    T2 = numerictype(s, 40, f - 30)
    b = a.cast(T2, rounding='floor', overflow='wrap')
    assert ints(b) == [q_ref(n * pow2(-f), s, 40, f - 30, 'floor', 'wrap') for n in exp]
    # arithmetic on it
    c = a + a
    assert ints(c) == [2 * n for n in exp]


@SETTINGS
@given(x=fi_operand(), t2=any_types, rmode=st.sampled_from(ROUNDINGS),
       omode=st.sampled_from(['saturate', 'wrap', 'sat_zero', 'sat_sym']))
def test_cast_fi_to_fi(x, t2, rmode, omode):
    s, w, f, v = x
    a = make(s, w, f, v)
    s2, w2, f2 = t2
    b = a.cast(numerictype(s2, w2, f2), rounding=rmode, overflow=omode)
    assert ntype(b) == (s2, w2, f2)
    assert ints(b) == [q_ref(exact(s, w, f, p), s2, w2, f2, rmode, omode) for p in v]
    c = fi(a, numerictype(s2, w2, f2))
    assert ints(c) == [q_ref(exact(s, w, f, p), s2, w2, f2) for p in v]
    if any(p != 0 for p in v) and (s2 or any(p > 0 for p in v)):
        d = fi(a, s2, w2)
        fl = best_fl([exact(s, w, f, p) for p in v if p != 0], s2, w2)
        assert ntype(d) == (s2, w2, fl)
        assert ints(d) == [q_ref(exact(s, w, f, p), s2, w2, fl) for p in v]


def test_int_dtype_contract():
    assert fi([1], 1, 64, 0).int.dtype == np.int64
    assert fi([1], 0, 63, 0).int.dtype == np.int64
    u = fi([2 ** 64 - 1], 0, 64, 0)
    assert u.int.dtype == np.uint64 and ints(u) == [2 ** 64 - 1]
    assert fi([1], 1, 65, 0).int.dtype == object
    assert ints(fi([2 ** 63], 0, 64, 0) + fi([2 ** 63], 0, 64, 0)) == [2 ** 64]


def test_mixed_more():
    a = make(True, 10, 4, [100, -100])
    # numpy integer scalar is sfix16 with fraction 0
    r = a * np.int16(-3)
    assert ntype(r) == (True, 26, 4) and ints(r) == [-300, 300]
    # float array, *: best precision over the whole array at a's signedness / word length
    arr = np.array([0.3, -5.0])
    fl = best_fl([Fraction(0.3), Fraction(-5.0)], True, 10)
    r = a * arr
    assert ntype(r) == (True, 20, 4 + fl)
    assert ints(r) == [100 * q_ref(Fraction(0.3), True, 10, fl),
                       -100 * q_ref(Fraction(-5.0), True, 10, fl)]
    # huge Python int under + saturates into a's type first
    r = a + 2 ** 70
    assert ints(r) == [100 + 511, -100 + 511]
    # unsigned fi plus a negative number: the number saturates to 0 in a's type
    u = make(False, 8, 2, [7])
    r = u + (-1.5)
    assert ntype(r) == (False, 9, 2) and ints(r) == [7]
    # division by a Python float: best precision at a's word length
    fl = best_fl([Fraction(0.1)], True, 10)
    r = a / 0.1
    assert ntype(r) == (True, 10, 4 - fl)
    assert ints(r) == [q_ref(Fraction(100, 16) / (q_ref(Fraction(0.1), True, 10, fl) *
                                                  pow2(-fl)), True, 10, 4 - fl),
                       q_ref(Fraction(-100, 16) / (q_ref(Fraction(0.1), True, 10, fl) *
                                                   pow2(-fl)), True, 10, 4 - fl)]


def test_comparisons_exact():
    a = fi([0.1, 0.5], 1, 16, 15)
    assert list(a == 0.1) == [False, False]
    assert list(a == 0.5) == [False, True]
    assert list(a < Fraction(3277, 32768)) == [False, False]
    assert list(a <= Fraction(3277, 32768)) == [True, False]
    b = fi([2 ** 100 + 1], 1, 120, 0)
    assert list(b > 2 ** 100) == [True]
    assert list(b == float(2 ** 100)) == [False]


@SETTINGS
@given(data=st.data(), t=any_types, rows=st.integers(1, 5), cols=st.integers(1, 9))
def test_sum_prod_2d_axes(data, t, rows, cols):
    s, w, f = t
    lo, hi = bounds(s, w)
    v = [data.draw(st.integers(lo, hi)) for _ in range(rows * cols)]
    a = make(s, w, f, v).reshape(rows, cols)
    m = [v[r * cols:(r + 1) * cols] for r in range(rows)]
    for axis, n, want in ((0, rows, [sum(m[r][c] for r in range(rows)) for c in range(cols)]),
                          (1, cols, [sum(row) for row in m])):
        r = fx.sum(a, axis=axis)
        assert ntype(r) == (s, w + math.ceil(math.log2(n)), f)
        assert ints(r) == want
    if cols <= 4:
        p = fx.prod(a, axis=1)
        assert ntype(p) == (s, w * cols, f * cols)
        assert ints(p) == [math.prod(row) for row in m]


@SETTINGS
@given(x=fi_operand(types=small_types, n=5), y=fi_operand(types=small_types, n=5))
def test_dot_and_convolve_growth(x, y):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    a, b = make(sa, wa, fa, va), make(sb, wb, fb, vb)
    d = fx.dot(a, b)
    assert ntype(d) == (sa or sb, wa + wb + 3, fa + fb)
    assert ints(d) == [sum(p * q for p, q in zip(va, vb, strict=True))]
    a3 = make(sa, wa, fa, va[:3])
    c = fx.convolve(a3, b)
    assert ntype(c) == (sa or sb, wa + wb + 2, fa + fb)
    assert ints(c) == [int(t) for t in np.convolve(np.array(va[:3], dtype=object),
                                                     np.array(vb, dtype=object))]


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(2, 30), st.integers(0, 40)),
                    n=4))
def test_integer_rounding_functions_random(x):
    s, w, f, v = x
    if f == 0 or not s:
        return  # F = 0 (nothing to round) and unsigned inputs: types not documented
    a = make(s, w, f, v)
    for fn, mode, extra in ((fx.floor, 'floor', 0), (fx.fix, 'zero', 0),
                            (fx.nearest, 'nearest', 1), (fx.convergent, 'convergent', 1),
                            (fx.round, 'round', 1)):
        r = fn(a)
        want_w = 2 if f >= w else w - f + extra
        if want_w >= 2:  # a 1-bit result (W - F = 1 under floor/fix) is not documented
            assert ntype(r) == (True, want_w, 0), fn.__name__
        assert ints(r) == [rnd_ref(exact(s, w, f, p), mode) for p in v], fn.__name__
    r = fx.ceil(a)
    assert ints(r) == [rnd_ref(exact(s, w, f, p), 'ceil') for p in v]


@SETTINGS
@given(x=fi_operand(types=small_types, n=3), y=fi_operand(types=small_types, n=3),
       t=small_types, rm=st.sampled_from(ROUNDINGS), om=st.sampled_from(['saturate', 'wrap']))
def test_divide_T_random(x, y, t, rm, om):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    vb = [q if q != 0 else (bounds(sb, wb)[1] or -1) for q in vb]
    F = fimath(rounding=rm, overflow=om)
    a = make(sa, wa, fa, va).setfimath(F)
    b = make(sb, wb, fb, vb).setfimath(F)
    c = fx.divide(numerictype(*t), a, b)
    assert ntype(c) == t
    assert ints(c) == [q_ref(exact(sa, wa, fa, p) / exact(sb, wb, fb, q), *t, rm, om)
                       for p, q in zip(va, vb, strict=True)]
    r = a / b
    want = (sa or sb, max(wa, wb), fa - fb)
    assert ntype(r) == want
    assert ints(r) == [q_ref(exact(sa, wa, fa, p) / exact(sb, wb, fb, q), *want, rm, om)
                       for p, q in zip(va, vb, strict=True)]


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(1, 100), st.integers(-5, 20)),
                    n=3), data=st.data())
def test_bitwise_ops(x, data):
    s, w, f, v = x
    lo, hi = bounds(s, w)
    v2 = [data.draw(st.integers(lo, hi)) for _ in v]
    a, b = make(s, w, f, v), make(s, w, f, v2)
    mask = (1 << w) - 1
    u = [p & mask for p in v]
    u2 = [p & mask for p in v2]
    assert ints(fx.bitand(a, b)) == [wrap_int(p & q, s, w) for p, q in zip(u, u2, strict=True)]
    assert ints(fx.bitor(a, b)) == [wrap_int(p | q, s, w) for p, q in zip(u, u2, strict=True)]
    assert ints(fx.bitxor(a, b)) == [wrap_int(p ^ q, s, w) for p, q in zip(u, u2, strict=True)]
    assert ints(fx.bitcmp(a)) == [wrap_int(~p & mask, s, w) for p in u]
    assert ntype(fx.bitcmp(a)) == (s, w, f)
    k = data.draw(st.integers(1, w))
    g = fx.bitget(a, k)
    assert ntype(g) == (False, 1, 0) and ints(g) == [(p >> (k - 1)) & 1 for p in u]
    assert ints(fx.bitset(a, k)) == [wrap_int(p | (1 << (k - 1)), s, w) for p in u]
    assert ints(fx.bitset(a, k, 0)) == [wrap_int(p & ~(1 << (k - 1)), s, w) for p in u]
    r = data.draw(st.integers(1, k))
    sl = fx.bitsliceget(a, k, r)
    assert ntype(sl) == (False, k - r + 1, 0)
    assert ints(sl) == [(p >> (r - 1)) & ((1 << (k - r + 1)) - 1) for p in u]
    cc = fx.bitconcat(a, b)
    assert ntype(cc) == (False, 2 * w, 0)
    assert ints(cc) == [(p << w) | q for p, q in zip(u, u2, strict=True)]
    rp = fx.bitreplicate(a, 3)
    assert ntype(rp) == (False, 3 * w, 0)
    assert ints(rp) == [(p << 2 * w) | (p << w) | p for p in u]
    kk = data.draw(st.integers(0, w))
    rol = [((p << kk) | (p >> (w - kk))) & mask for p in u]
    ror = [((p >> kk) | (p << (w - kk))) & mask for p in u]
    assert ints(fx.bitrol(a, kk)) == [wrap_int(p, s, w) for p in rol]
    assert ints(fx.bitror(a, kk)) == [wrap_int(p, s, w) for p in ror]
    assert ints(fx.getmsb(a)) == [p >> (w - 1) for p in u]
    assert ints(fx.getlsb(a)) == [p & 1 for p in u]
    sl_all = [(p >> (r - 1)) & ((1 << (k - r + 1)) - 1) for p in u]
    full = (1 << (k - r + 1)) - 1
    assert ints(fx.bitandreduce(a, k, r)) == [int(q == full) for q in sl_all]
    assert ints(fx.bitorreduce(a, k, r)) == [int(q != 0) for q in sl_all]
    assert ints(fx.bitxorreduce(a, k, r)) == [bin(q).count('1') % 2 for q in sl_all]


def test_parse_and_misc_contract():
    cases = {'Q3.12': (True, 16, 12), 'UQ0.8': (False, 8, 8), 'sfix16_En12': (True, 16, 12),
             'ufix7_En5': (False, 7, 5), 'sfix8_E2': (True, 8, -2), 'sfix8': (True, 8, 0),
             'ap_fixed<16,4>': (True, 16, 12), 'ap_ufixed<8,0>': (False, 8, 8),
             'ac_fixed<16,4,true>': (True, 16, 12), 'ac_fixed<10,12,false>': (False, 10, -2)}
    for text, t in cases.items():
        T = numerictype.parse(text)
        assert (bool(T.signed), T.word_length, T.fraction_length) == t, text
    e = fi()
    assert ntype(e) == (True, 16, 15)
    assert numerictype(True, 16, 12).tostring() == 'numerictype(1,16,12)'


def test_nonfinite_contract():
    with pytest.raises(ValueError):
        fi(np.nan, 1, 8, 4)
    assert ints(fi([np.inf, -np.inf], 1, 8, 4)) == [127, -128]
    assert ints(fi([np.inf, -np.inf], 1, 8, 4, overflow='sat_zero')) == [0, 0]
    with pytest.raises((ValueError, OverflowError)):
        fi([np.inf], 1, 8, 4, overflow='wrap')
    assert ints(fi([np.nan, np.inf, -np.inf], 1, 8, 4, nonfinite='matlab')) == [0, 127, -128]
    assert ints(fi([np.nan, np.inf], 1, 8, 4, nonfinite='matlab', overflow='wrap')) == [0, 0]
    assert ints(fi([np.inf, -np.inf], 0, 8, 4)) == [255, 0]


def test_setitem_uses_local_fimath():
    a = fi([0.0, 0.0], 1, 8, 4, rounding='floor', overflow='wrap')
    a[0] = 1.99
    a[1] = 8.5
    assert ints(a) == [q_ref(Fraction(1.99), True, 8, 4, 'floor'),
                       q_ref(Fraction(8.5), True, 8, 4, 'floor', 'wrap')]
    w = fi([0, 0], 1, 100, 10)
    w[1] = 2 ** 95
    assert ints(w) == [0, 2 ** 99 - 1]


def test_power():
    a = make(True, 7, 3, [-64, 5])
    p = a ** 3
    assert ntype(p) == (True, 21, 9)
    assert ints(p) == [(-64) ** 3, 125]


def test_fimath_propagation_and_default():
    F = fimath(rounding='floor', overflow='wrap')
    a = fi([1.0], 1, 8, 4, F)
    b = fi([2.0], 1, 8, 4)
    c = a + b
    assert c.isfimathlocal and c.local_fimath == F
    assert not (b + b).isfimathlocal
    assert (-a).isfimathlocal and abs(a).isfimathlocal
    # cast uses the fimath in force
    x = fi(np.pi, 1, 16, 13)
    with fimath(rounding='floor', overflow='wrap'):
        assert ints(x.cast(numerictype(True, 8, 6))) == [q_ref(Fraction(25736, 8192), True, 8,
                                                                6, 'floor', 'wrap')]
        assert ints(x + x) == [2 * 25736]
    assert ints(x.cast(numerictype(True, 8, 6))) == [127]
    # the Python number is cast with the operand's fimath: wrap
    w = fi([0], 1, 8, 0, F)
    assert ints(w + 200) == [-56]
    assert ints(w + 2.75) == [2]


@SETTINGS
@given(x=fi_operand(types=small_types, n=6), wl=st.integers(2, 70),
       rm=st.sampled_from(['floor', 'nearest']), om=st.sampled_from(['saturate', 'wrap']))
def test_sum_reduction_modes(x, wl, rm, om):
    s, w, f, v = x
    wi = w + 3
    for mode, want in (('keep_lsb', (s, wl, f)), ('keep_msb', (s, wl, f - max(0, wi - wl))),
                       ('specify', (s, wl, 2))):
        F = fimath(sum_mode=mode, sum_word_length=wl, sum_fraction_length=2, rounding=rm,
                   overflow=om)
        r = fx.sum(make(s, w, f, v).setfimath(F))
        assert ntype(r) == want, mode
        acc = 0
        for p in v:  # CastBeforeSum: each addend is cast to the sum type, then accumulated
            acc = ovf_ref(acc + q_ref(exact(s, w, f, p), *want, rm, om), want[0], want[1], om)
        assert ints(r) == [acc], mode


@SETTINGS
@given(x=fi_operand(types=st.tuples(st.booleans(), st.integers(60, 120), st.integers(-5, 130)),
                    n=3),
       y=fi_operand(types=st.tuples(st.booleans(), st.integers(60, 120), st.integers(-5, 130)),
                    n=3),
       wl=st.integers(30, 150), rm=st.sampled_from(ROUNDINGS),
       om=st.sampled_from(['saturate', 'wrap']))
def test_wide_product_keep_msb(x, y, wl, rm, om):
    sa, wa, fa, va = x
    sb, wb, fb, vb = y
    want = (sa or sb, wl, fa + fb - max(0, wa + wb - wl))
    F = fimath(product_mode='keep_msb', product_word_length=wl, rounding=rm, overflow=om)
    c = make(sa, wa, fa, va).setfimath(F) * make(sb, wb, fb, vb)
    assert ntype(c) == want
    assert ints(c) == [q_ref(exact(sa, wa, fa, p) * exact(sb, wb, fb, q), *want, rm, om)
                       for p, q in zip(va, vb, strict=True)]
