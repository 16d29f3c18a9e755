"""CORDIC: fixed point bit-exact against a per-iteration Python-int reference (constants from
300-bit mpmath, every rounding and overflow mode), double mode against numpy with the
algorithmic error bound ~2**-niters, and the exactly rounded constants."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval
from fixsim.signal._cordic import (
    cordic_abs,
    cordic_atan2,
    cordic_gain,
    cordic_rotate,
    cordic_sincos,
)

from .._core import reference as ref


# -- constants, independently (mpmath at 300 bits) ------------------------------------------------
def _frac(v) -> Fraction:
    sign, man, exp, _ = mpmath.mpf(v)._mpf_
    return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


@functools.cache
def nearest_const(what: str, arg: int, F: int) -> int:
    """Nearest (ties up; never a tie) stored integer at fraction F of pi * arg / 4 ('pi') or
    atan(2**-arg) ('atan'), unbounded."""
    with mpmath.workprec(300):
        v = mpmath.pi * arg / 4 if what == "pi" else mpmath.atan(mpmath.mpf(2) ** -arg)
        return ref.round_to_integer(_frac(v) * Fraction(2) ** F, "nearest")


@functools.cache
def inv_gain(n: int) -> Fraction:
    with mpmath.workprec(300):
        g = mpmath.mpf(1)
        for i in range(n):
            g /= mpmath.sqrt(1 + mpmath.mpf(4) ** -i)
        return _frac(g)


def tup(T: numerictype) -> tuple[bool, int, int]:
    return (T.signed, T.word_length, T.fraction_length)


def reg(v: int, W: int, overflow: str) -> int:
    """A register update: the exact integer v into W signed bits with the overflow mode."""
    return ref.quantize(Fraction(v), (True, W, 0), "floor", overflow)


def iterate(x, y, z, n, W, Fz, overflow, vectoring):
    for i in range(n):
        a = nearest_const("atan", i, Fz)
        d = (1 if y < 0 else -1) if vectoring else (1 if z > 0 else -1)
        x, y = reg(x - d * (y >> i), W, overflow), reg(y + d * (x >> i), W, overflow)
        z -= d * a
    return x, y, z


@functools.cache
def pi_times(q: Fraction) -> Fraction:
    with mpmath.workprec(300):
        return _frac(mpmath.pi * mpmath.mpf(q.numerator) / q.denominator)


def reduce_angle(z: int, Fz: int) -> tuple[int, bool]:
    """Exact comparisons with pi and pi/2 (300-bit pi: never a tie); corrections by 2 pi and
    pi rounded to nearest."""
    pi, two_pi = nearest_const("pi", 4, Fz), nearest_const("pi", 8, Fz)
    v = Fraction(z) / 2 ** Fz
    if v > pi_times(Fraction(1)):
        z -= two_pi
    elif v < -pi_times(Fraction(1)):
        z += two_pi
    v = Fraction(z) / 2 ** Fz
    if v > pi_times(Fraction(1, 2)):
        return z - pi, True
    if v < -pi_times(Fraction(1, 2)):
        return z + pi, True
    return z, False


def ref_rotation(theta: int, Tt, A, x0: int, y0: int, D, n, overflow, rounding):
    z = theta if A == Tt else ref.quantize(Fraction(theta) / 2 ** Tt[2], A, rounding, overflow)
    z, neg = reduce_angle(z, A[2])
    x, y, _ = iterate(x0, y0, z, n, D[1], A[2], overflow, False)
    if neg:
        x, y = reg(-x, D[1], overflow), reg(-y, D[1], overflow)
    return x, y


def theta_limits(T: numerictype) -> tuple[int, int]:
    lim = math.floor(2 * math.pi * 2 ** T.fraction_length)
    return max(T.int_min, -lim), min(T.int_max, lim)


@st.composite
def opt_data_type(draw, Wmin=3):
    if draw(st.booleans()):
        return None
    W = draw(st.integers(Wmin, 40))
    return numerictype(True, W, draw(st.integers(W - 4, W - 1)))


# -- rotation mode, fixed point ------------------------------------------------------------------
@given(st.data())
def test_sincos_matches_reference(data):
    Wt = data.draw(st.integers(4, 24))
    Tt = numerictype(True, Wt, data.draw(st.integers(max(0, Wt - 6), Wt - 1)))
    lo, hi = theta_limits(Tt)
    thetas = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=12))
    D = data.draw(opt_data_type())
    A = None
    if data.draw(st.booleans()):
        Wa = data.draw(st.integers(4, 40))
        A = numerictype(True, Wa, data.draw(st.integers(max(0, Wa - 8), Wa - 1)))
    rounding = data.draw(st.sampled_from(ref.ROUNDINGS))
    overflow = data.draw(st.sampled_from(ref.OVERFLOWS))
    niters = data.draw(st.one_of(st.none(), st.integers(1, 45)))
    s, c = cordic_sincos(fi.from_int(np.array(thetas, dtype=np.int64), Tt), niters,
                         data_type=D, angle_type=A, rounding=rounding, overflow=overflow)
    Dt = D or numerictype(True, Wt, Wt - 2)
    At = A or Tt
    n = min(niters or 10 ** 6, Dt.word_length - 1)
    x0 = ref.quantize(inv_gain(n), tup(Dt), "nearest", "saturate")
    assert s.numerictype == Dt and c.numerictype == Dt
    for k, th in enumerate(thetas):
        x, y = ref_rotation(th, tup(Tt), tup(At), x0, 0, tup(Dt), n, overflow, rounding)
        assert (int(s.int[k]), int(c.int[k])) == (y, x)


@given(st.data())
def test_rotate_matches_reference(data):
    Wt = data.draw(st.integers(4, 20))
    Tt = numerictype(True, Wt, data.draw(st.integers(max(0, Wt - 6), Wt - 1)))
    lo, hi = theta_limits(Tt)
    m = data.draw(st.integers(1, 10))
    thetas = data.draw(st.lists(st.integers(lo, hi), min_size=m, max_size=m))
    Wu = data.draw(st.integers(2, 24))
    Tu = numerictype(data.draw(st.booleans()), Wu, data.draw(st.integers(Wu - 4, Wu + 2)))
    ure = data.draw(st.lists(st.integers(Tu.int_min, Tu.int_max), min_size=m, max_size=m))
    uim = data.draw(st.lists(st.integers(Tu.int_min, Tu.int_max), min_size=m, max_size=m))
    D = data.draw(opt_data_type(4))
    G = data.draw(st.one_of(st.none(), st.builds(lambda w: numerictype(True, w, w - 1),
                                                 st.integers(2, 20))))
    Y = data.draw(opt_data_type())
    scale = data.draw(st.booleans())
    rounding = data.draw(st.sampled_from(ref.ROUNDINGS))
    overflow = data.draw(st.sampled_from(ref.OVERFLOWS))
    niters = data.draw(st.one_of(st.none(), st.integers(1, 45)))
    u = (fi.from_int(np.array(ure, dtype=np.int64), Tu),
         fi.from_int(np.array(uim, dtype=np.int64), Tu))
    vr, vi = cordic_rotate(fi.from_int(np.array(thetas, dtype=np.int64), Tt), u, niters,
                           scale_output=scale, data_type=D, gain_type=G, output_type=Y,
                           rounding=rounding, overflow=overflow)
    Dt = D or numerictype(True, Wu + 2 + (0 if Tu.signed else 1), Tu.fraction_length)
    n = min(niters or 10 ** 6, Dt.word_length - 1)
    Yt = Y or Dt
    Gt = G or numerictype(True, max(Wu, 2), max(Wu, 2) - 1)
    assert vr.numerictype == Yt
    for k in range(m):
        x0 = ref.quantize(Fraction(ure[k]) / 2 ** Tu.fraction_length, tup(Dt), rounding,
                          overflow)
        y0 = ref.quantize(Fraction(uim[k]) / 2 ** Tu.fraction_length, tup(Dt), rounding,
                          overflow)
        x, y = ref_rotation(thetas[k], tup(Tt), tup(Tt), x0, y0, tup(Dt), n, overflow,
                            rounding)
        if scale:
            g = ref.quantize(inv_gain(n), tup(Gt), "nearest", "saturate")
            den = Fraction(2) ** (Dt.fraction_length + Gt.fraction_length)
            x = ref.quantize(x * g / den, tup(Yt), rounding, overflow)
            y = ref.quantize(y * g / den, tup(Yt), rounding, overflow)
        else:
            den = Fraction(2) ** Dt.fraction_length
            x = ref.quantize(x / den, tup(Yt), rounding, overflow)
            y = ref.quantize(y / den, tup(Yt), rounding, overflow)
        assert (int(vr.int[k]), int(vi.int[k])) == (x, y)


# -- vectoring mode, fixed point -----------------------------------------------------------------
@given(st.data())
def test_atan2_and_abs_match_reference(data):
    W = data.draw(st.integers(3, 24))
    T = numerictype(data.draw(st.booleans()), W, data.draw(st.integers(W - 4, W + 2)))
    m = data.draw(st.integers(1, 10))
    xs = data.draw(st.lists(st.integers(T.int_min, T.int_max), min_size=m, max_size=m))
    ys = data.draw(st.lists(st.integers(T.int_min, T.int_max), min_size=m, max_size=m))
    D = data.draw(opt_data_type(4))
    A = data.draw(st.one_of(st.none(), st.builds(lambda w, f: numerictype(True, w, w - f),
                                                 st.integers(4, 40), st.integers(1, 5))))
    Y = data.draw(opt_data_type())
    scale = data.draw(st.booleans())
    rounding = data.draw(st.sampled_from(ref.ROUNDINGS))
    overflow = data.draw(st.sampled_from(ref.OVERFLOWS))
    niters = data.draw(st.one_of(st.none(), st.integers(1, 45)))
    fx_ = fi.from_int(np.array(xs, dtype=np.int64), T)
    fy_ = fi.from_int(np.array(ys, dtype=np.int64), T)
    ang = cordic_atan2(fy_, fx_, niters, data_type=D, angle_type=A, rounding=rounding,
                       overflow=overflow)
    mag = cordic_abs((fx_, fy_), niters, scale_output=scale, data_type=D, output_type=Y,
                     rounding=rounding, overflow=overflow)
    Dt = D or numerictype(True, W + 2 + (0 if T.signed else 1), T.fraction_length)
    At = A or numerictype(True, W, W - 3)
    Yt = Y or Dt
    Gt = numerictype(True, W, W - 1)
    n = min(niters or 10 ** 6, Dt.word_length - 1)
    assert ang.numerictype == At and mag.numerictype == Yt
    for k in range(m):
        x0 = ref.quantize(Fraction(xs[k]) / 2 ** T.fraction_length, tup(Dt), rounding,
                          overflow)
        y0 = ref.quantize(Fraction(ys[k]) / 2 ** T.fraction_length, tup(Dt), rounding,
                          overflow)
        for Fz, check in ((At.fraction_length, "angle"), (0, "abs")):
            x, y, z = x0, y0, 0
            if x < 0:
                z = nearest_const("pi", 4, Fz) * (1 if y >= 0 else -1)
                x, y = reg(-x, Dt.word_length, overflow), reg(-y, Dt.word_length, overflow)
            x, y, z = iterate(x, y, z, n, Dt.word_length, Fz, overflow, True)
            if check == "angle":
                expect = ref.quantize(Fraction(z) / 2 ** Fz, tup(At), rounding, overflow)
                assert int(ang.int[k]) == expect
            else:
                if scale:
                    g = ref.quantize(inv_gain(n), tup(Gt), "nearest", "saturate")
                    v = Fraction(x * g) / 2 ** (Dt.fraction_length + Gt.fraction_length)
                else:
                    v = Fraction(x) / 2 ** Dt.fraction_length
                assert int(mag.int[k]) == ref.quantize(v, tup(Yt), rounding, overflow)


# -- accuracy -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 8, 12, 16, 24, 32, 40, 48])
def test_double_error_shrinks_like_two_to_minus_niters(n):
    th = np.linspace(-2 * np.pi, 2 * np.pi, 2001)[:-1]
    s, c = cordic_sincos(th, n)
    bound = 2.0 ** -(n - 1) + 1e-14
    assert np.abs(s - np.sin(th)).max() <= bound
    assert np.abs(c - np.cos(th)).max() <= bound
    rng = np.random.default_rng(n)
    y, x = rng.uniform(-3, 3, 500), rng.uniform(-3, 3, 500)
    assert np.abs(cordic_atan2(y, x, n) - np.arctan2(y, x)).max() <= bound
    r = np.hypot(x, y)
    assert np.abs(cordic_abs(x + 1j * y, n) - r).max() <= r.max() * bound ** 2 + 1e-13
    u = rng.uniform(-1, 1, 500) + 1j * rng.uniform(-1, 1, 500)
    t = rng.uniform(-6, 6, 500)
    assert np.abs(cordic_rotate(t, u, n) - u * np.exp(1j * t)).max() <= 2 * bound


def test_double_error_reaches_float_precision():
    th = np.linspace(-6.2, 6.2, 777)
    s, c = cordic_sincos(th)
    np.testing.assert_allclose(s, np.sin(th), atol=1e-14, rtol=0)
    np.testing.assert_allclose(c, np.cos(th), atol=1e-14, rtol=0)


@pytest.mark.parametrize("W", [8, 12, 16, 20, 24])
def test_fixed_error_is_a_few_lsbs(W):
    T = numerictype(True, W, W - 4)
    th = fi(np.linspace(-6.28, 6.28, 1001), T)
    s, c = cordic_sincos(th)
    n = W - 1
    lsb = 2.0 ** -(W - 2)
    bound = 2.0 ** -(n - 1) + (n + 2) * lsb
    assert np.abs(s.data - np.sin(th.data)).max() <= bound
    assert np.abs(c.data - np.cos(th.data)).max() <= bound


def test_gain():
    assert cordic_gain(1) == pytest.approx(math.sqrt(2))
    assert cordic_gain(40) == pytest.approx(1.6467602581210654)
    g = ref.quantize(inv_gain(20), (True, 16, 15), "nearest", "saturate")
    assert g == 19898  # 0.607252935 * 2**15 = 19898.2


def test_matlab_documented_sincos_example():
    """MATLAB's cordicsincos page: theta = fi(pi/2, 1, 8) (sfix8_En6), niters 1..7 give
    sin 0.7031 0.9375 0.9688 0.9688 0.9844 0.9844 1.0000 and
    cos -0.7031 -0.3125 -0.0625 0.0625 0.0000 0.0312 0.0156 (fraction length 6)."""
    theta = fi(np.pi / 2, 1, 8)
    sins = [0.7031, 0.9375, 0.9688, 0.9688, 0.9844, 0.9844, 1.0000]
    coss = [-0.7031, -0.3125, -0.0625, 0.0625, 0.0000, 0.0312, 0.0156]
    for n in range(1, 8):
        s, c = cordic_sincos(theta, n)
        assert s.numerictype == numerictype(True, 8, 6)
        assert round(float(np.ravel(s.data)[0]), 4) == sins[n - 1]
        assert round(float(np.ravel(c.data)[0]), 4) == coss[n - 1]


def test_matlab_documented_rotate_example():
    """MATLAB's cordicrotate page: theta = fi(-pi/3, 1, 16), u = fi(0.25 - 7.1i, 1, 16);
    niters 1..4 give (to 4 decimals) -4.8438 - 5.1973i, -6.6567 - 2.4824i,
    -5.8560 - 4.0229i, -6.3096 - 3.2654i, with fraction length 12."""
    theta = fi(-np.pi / 3, 1, 16)
    u = (fi(0.25, 1, 16, 12), fi(-7.1, 1, 16, 12))
    expect = [(-4.8438, -5.1973), (-6.6567, -2.4824), (-5.8560, -4.0229), (-6.3096, -3.2654)]
    for n, (er, ei) in enumerate(expect, start=1):
        vr, vi = cordic_rotate(theta, u, n)
        assert vr.fraction_length == 12
        assert round(float(np.ravel(vr.data)[0]), 4) == er
        assert round(float(np.ravel(vi.data)[0]), 4) == ei


def test_interval_input():
    out_s, out_c = cordic_sincos(Interval(np.full(3, -1.0), np.full(3, 1.0)))
    assert out_s.hull() == (-1.0, 1.0)
    a = cordic_atan2(Interval(np.zeros(2), np.ones(2)), np.ones(2))
    assert a.hi.max() >= np.pi
    u = (Interval(np.full(4, -3.0), np.full(4, 4.0)), Interval(np.full(4, -3.0), np.full(4, 3.0)))
    m = cordic_abs(u)
    assert m.hi.max() == pytest.approx(5.0) and m.shape == (4,)
    m2 = cordic_abs(u, 20, scale_output=False)
    assert m2.hi.max() == pytest.approx(5.0 * cordic_gain(20))
    vr, vi = cordic_rotate(Interval(np.full(4, -1.0), np.full(4, 1.0)), u)
    assert vr.hi.max() == pytest.approx(5.0) and vi.lo.min() == pytest.approx(-5.0)
    # the bound holds: every sampled vector's magnitude and rotation stay inside
    rng = np.random.default_rng(2)
    z = rng.uniform(-3, 4, 200) + 1j * rng.uniform(-3, 3, 200)
    assert np.abs(cordic_abs(z)).max() <= m.hi.max()
    assert np.abs(cordic_rotate(rng.uniform(-6, 6, 200), z).real).max() <= vr.hi.max()


# -- errors -------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ValueError, match="signed"):
        cordic_sincos(fi([1.0], 0, 8, 5))
    with pytest.raises(ValueError, match=r"\[-2\*pi, 2\*pi\)"):
        cordic_sincos(np.array([7.0]))
    with pytest.raises(ValueError, match="niters"):
        cordic_sincos(np.array([1.0]), 0)
    with pytest.raises(ValueError, match="62"):
        cordic_sincos(fi([1.0], 1, 16, 12), data_type="sfix63_En60")
    with pytest.raises(TypeError, match="both"):
        cordic_rotate(fi([1.0], 1, 16, 12), np.array([1 + 1j]))
    with pytest.raises(TypeError, match="numerictype"):
        cordic_atan2(fi([1.0], 1, 16, 12), fi([1.0], 1, 16, 13))


# -- probes and type tables -----------------------------------------------------------------------
def test_probes_and_type_table():
    from fixsim import TypeTable
    from fixsim._core._typetable import signal_listening

    theta = fi(np.array([0.3, -2.0, 3.0]), 1, 16, 12)
    events = []
    with signal_listening(events.append):
        s, c = cordic_sincos(theta, name="osc")
        cordic_sincos(theta.data, name="dbl")
    names = {(e.name, e.mode) for e in events}
    assert {("osc.x", "fixed"), ("osc.y", "fixed"), ("dbl.x", "double")} <= names
    T = TypeTable({"osc.x": "sfix20_En18", "osc.z": "sfix24_En20"})
    s2, _ = cordic_sincos(theta, name="osc", types=T)
    assert s2.numerictype == numerictype(True, 20, 18)
    s3, c3 = cordic_sincos(theta, name="osc", types=T.as_double())
    assert isinstance(s3, np.ndarray)
    np.testing.assert_allclose(s3, np.sin(theta.data), atol=1e-14)


# -- derived ranges of fixed-point runs (regressions) --------------------------------------------
def _inside_all(d, rec, outs=()):
    bad = []
    for name in rec.names:
        if rec[name].finite_count and not (d[name].lo <= rec[name].min
                                           and rec[name].max <= d[name].hi):
            bad.append((name, rec[name].min, rec[name].max, d[name].lo, d[name].hi))
    ivs = d.output if isinstance(d.output, tuple) else (d.output,)
    for o, iv in zip(outs, ivs, strict=False):
        lo, hi = iv.hull()
        v = np.asarray(o.data if isinstance(o, fi) else o, dtype=np.float64)
        if not (lo <= v.min() and v.max() <= hi):
            bad.append(("output", v.min(), v.max(), lo, hi))
    return bad


@pytest.mark.parametrize("dt,n", [("sfix16_En14", 12), ("sfix12_En10", None), ("sfix8_En6", 4)])
def test_fixed_sincos_derived_range_holds_the_rounded_registers(dt, n):
    """Bug: _sincos_interval reported [-1, 1] (exact arithmetic), but the quantized 1/A_n and
    the floored shifts put |x| above 1: cordic_sincos(theta, 12, data_type='sfix16_En14'),
    theta = -pi: cos -1.000244140625 vs derived [-1, 1]."""
    T = fx.TypeTable({"th": "sfix16_En13", "s": "double", "c": "double"})

    def fn(x, T):
        s, c = cordic_sincos(T.th(x), n, data_type=dt, name="cs")
        return T.s(s), T.c(c)

    d = fx.tool.derive(fn, (-np.pi, np.pi), T, shape=4001)
    with fx.tool.record() as rec:
        outs = fn(np.linspace(-np.pi, np.pi, 4001), T)
    assert not _inside_all(d, rec, outs)
    lsb = 2.0 ** -numerictype.parse(dt).fraction_length
    assert d["cs.x"].hi < 1 + 40 * lsb                   # still tight: a few LSB per iteration


def test_fixed_atan2_derived_range_holds_the_quantized_pi_and_tiny_vectors():
    """Bug: the derived angle was [-pi, pi] + 1e-9, but the quadrant correction starts at pi
    rounded to nearest (x = -1, y = 0: 3.1416015625), and the floored shifts stall the
    rotation of a tiny vector (x = -4, y = 1 LSB: 3.31396484375)."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En14", "a": "double"})

    def fn(x, y, T):
        return T.a(cordic_atan2(T.y(y), T.x(x), name="at"))

    r = np.arange(-64, 65) * 2.0 ** -14
    X, Y = np.meshgrid(np.concatenate([r, [-1.0, 1 - 2 ** -14]]),
                       np.concatenate([r, [-1.0, 1 - 2 ** -14]]))
    n = X.size
    d = fx.tool.derive(fn, {"x": (-1, 1), "y": (-1, 1)}, T, shape={"x": n, "y": n})
    with fx.tool.record() as rec:
        out = fn(X.ravel(), Y.ravel(), T)
    assert rec["at.z"].max > np.pi + 0.1                 # the stall case is covered
    assert not _inside_all(d, rec, (out,))
    assert d["at.z"].hi < 4.0                            # the default angle type holds it


@pytest.mark.parametrize("scale", [True, False])
def test_fixed_abs_and_rotate_derived_ranges_hold_the_rounded_registers(scale):
    """Bug: _vector_interval bounded the registers by A_n |u| and the output by |u| in exact
    arithmetic; the floored shifts and the quantized 1/A_n exceed that (cordic_abs, x = -1,
    y = 1 - 2**-14: out 1.41428 vs derived 1.414214)."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En14", "th": "sfix16_En13",
                      "a": "double", "b": "double"})

    def fa(x, y, T):
        return T.a(cordic_abs((T.x(x), T.y(y)), scale_output=scale, name="ab"))

    def fr(x, y, th, T):
        re, im = cordic_rotate(T.th(th), (T.x(x), T.y(y)), scale_output=scale, name="ro")
        return T.a(re), T.b(im)

    rng = np.random.default_rng(5)
    vals = np.concatenate([[-1.0, 1 - 2 ** -14, 0.99, -0.99], rng.uniform(-1, 1, 60)])
    X, Y = (a.ravel() for a in np.meshgrid(vals, vals))
    th = np.resize(np.array([np.pi / 4, -3 * np.pi / 4, 3 * np.pi / 4, -np.pi / 4, np.pi,
                             -np.pi, 0, np.pi / 2]), X.size)
    n = X.size
    d = fx.tool.derive(fa, {"x": (-1, 1), "y": (-1, 1)}, T, shape={"x": n, "y": n})
    with fx.tool.record() as rec:
        out = fa(X, Y, T)
    assert not _inside_all(d, rec, (out,))
    d = fx.tool.derive(fr, {"x": (-1, 1), "y": (-1, 1), "th": (-np.pi, np.pi)}, T,
                       shape={"x": n, "y": n, "th": n})
    with fx.tool.record() as rec:
        outs = fr(X, Y, th, T)
    assert not _inside_all(d, rec, outs)
