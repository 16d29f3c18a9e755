"""Lookup1D: fixed mode against an exact Fraction reference (every interpolation, clipping and
extrapolation, every rounding and overflow mode, power-of-two and uneven breakpoints), double
mode against numpy.interp / scipy, interval bounds."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from scipy import interpolate

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim.signal import LUT, Lookup1D

from .._core import reference as ref


def tup(T: numerictype) -> tuple[bool, int, int]:
    return (T.signed, T.word_length, T.fraction_length)


def val(v: int, T: numerictype) -> Fraction:
    return Fraction(v) / Fraction(2) ** T.fraction_length


def q(value: Fraction, T: numerictype, rounding: str, overflow: str) -> int:
    return ref.quantize(value, tup(T), rounding, overflow)


def lut_reference(xv: Fraction, bv: list[Fraction], tv: list[Fraction], interp: str,
                  extrap: str) -> Fraction:
    """The exact value before the output cast, as documented in Lookup1D."""
    n = len(bv)
    if n == 1:
        return tv[0]
    if interp == "linear" and extrap == "linear":
        xc = xv
    else:
        xc = min(max(xv, bv[0]), bv[-1])
    below = [k for k in range(n) if bv[k] <= xc]
    if interp == "flat":
        return tv[below[-1] if below else 0]
    i = min(below[-1] if below else 0, n - 2)
    if interp == "nearest":
        return tv[i + 1] if 2 * (xc - bv[i]) >= bv[i + 1] - bv[i] else tv[i]
    return tv[i] + (tv[i + 1] - tv[i]) * (xc - bv[i]) / (bv[i + 1] - bv[i])


@st.composite
def lut_cases(draw):
    overflow = draw(st.sampled_from(ref.OVERFLOWS))
    rounding = draw(st.sampled_from(ref.ROUNDINGS))
    signed = True if overflow == "wrap_sm" else draw(st.booleans())
    wx = draw(st.integers(4, 14))
    Tx = numerictype(signed, wx, draw(st.integers(-2, wx + 2)))
    n = draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["pow2", "ints", "floats"]))
    if kind == "pow2":  # evenly spaced by 2**j stored integers
        j = draw(st.integers(0, 3))
        b0 = draw(st.integers(Tx.int_min, Tx.int_max))
        ints = [b0 + k * 2 ** j for k in range(n)]
        ints = [v for v in ints if v <= Tx.int_max] or [b0]
        bp = [float(val(v, Tx)) for v in ints]
    elif kind == "ints":  # any increasing stored integers (exact breakpoints)
        ints = sorted(set(draw(st.lists(st.integers(Tx.int_min, Tx.int_max), min_size=1,
                                        max_size=n))))
        bp = [float(val(v, Tx)) for v in ints]
    else:  # arbitrary floats (quantized by the block; may collide)
        lo, hi = float(Tx.min), float(Tx.max)
        bp = sorted(set(draw(st.lists(st.floats(lo - 1, hi + 1, allow_nan=False), min_size=1,
                                      max_size=n))))
    m = len(bp)
    table = draw(st.lists(st.floats(-20, 20, allow_nan=False, width=32), min_size=m,
                          max_size=m))
    Tt = draw(st.one_of(st.none(), st.builds(
        numerictype, st.just(True) if signed or overflow == "wrap_sm" else st.booleans(),
        st.integers(3, 14), st.integers(-1, 10))))
    if overflow == "wrap_sm" and Tt is not None and not Tt.signed:
        Tt = numerictype(True, Tt.word_length, Tt.fraction_length)
    Y = draw(st.one_of(st.none(), st.builds(numerictype, st.just(True), st.integers(3, 20),
                                            st.integers(-1, 14))))
    interp = draw(st.sampled_from(["linear", "nearest", "flat"]))
    extrap = draw(st.sampled_from(["clip", "linear"])) if interp == "linear" else "clip"
    nx = draw(st.integers(0, 20))
    edge = st.sampled_from([Tx.int_min, Tx.int_max, 0])
    x = draw(st.lists(st.one_of(edge, st.integers(Tx.int_min, Tx.int_max)), min_size=nx,
                      max_size=nx))
    cuts = draw(st.lists(st.integers(0, nx), max_size=3))
    return dict(Tx=Tx, bp=bp, table=table, Tt=Tt, Y=Y, interp=interp, extrap=extrap,
                rounding=rounding, overflow=overflow, x=x, cuts=cuts, kind=kind)


@given(lut_cases())
def test_lut_fixed_matches_fraction_reference(c):
    Tx, r, o = c["Tx"], c["rounding"], c["overflow"]
    blk = Lookup1D(c["bp"], c["table"], interp=c["interp"], extrap=c["extrap"], name="lut",
                   table_type=c["Tt"], output_type=c["Y"], rounding=r, overflow=o)
    # the quantized parameters, computed here independently
    if c["Tt"] is None:
        Tt = numerictype(True, 16, ref.best_fraction_length([ref.exact(v) for v in c["table"]],
                                                            True, 16))
    else:
        Tt = c["Tt"]
    t_ints = [q(ref.exact(v), Tt, r, o) for v in c["table"]]
    b_ints = [q(ref.exact(v), Tx, r, o) for v in c["bp"]]
    x = fi.from_int(np.array(c["x"], dtype=np.int64), Tx)
    if any(b_ints[k] >= b_ints[k + 1] for k in range(len(b_ints) - 1)):
        with pytest.raises(ValueError, match="strictly increasing"):
            blk(x)
        return
    steps = {b_ints[k + 1] - b_ints[k] for k in range(len(b_ints) - 1)}
    pow2 = len(steps) == 1 and (next(iter(steps)) & (next(iter(steps)) - 1)) == 0
    assert blk.is_power_of_two_spaced(Tx) == pow2
    event(f"power-of-two spacing: {pow2}")
    pts = sorted({v for v in c["cuts"] if 0 < v < len(c["x"])})
    edges = [0, *pts, len(c["x"])]
    outs = [blk(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    Y = c["Y"] if c["Y"] is not None else Tt
    assert all(out.numerictype == Y for out in outs)
    got = [int(v) for out in outs for v in np.ravel(out.int)]
    assert [int(v) for v in np.ravel(blk.quantized_table.int)] == t_ints
    bv = [val(v, Tx) for v in b_ints]
    tv = [val(v, Tt) for v in t_ints]
    expect = []
    for v in c["x"]:
        exact = lut_reference(val(v, Tx), bv, tv, c["interp"], c["extrap"])
        if c["Y"] is None and (c["interp"] != "linear" or len(bv) == 1):
            expect.append(int(exact * Fraction(2) ** Tt.fraction_length))  # a table value
        else:
            expect.append(q(exact, Y, r, o))
    assert got == expect


def test_lut_power_of_two_fast_case_matches_general_case():
    """Evenly spaced power-of-two breakpoints take the shift path; nudging one breakpoint onto
    an uneven grid takes the division path, and both agree where the segments coincide."""
    x = fi(np.linspace(-2, 2, 257), 1, 16, 12)
    even = Lookup1D(np.arange(-2, 2.5, 0.5), np.arange(-2, 2.5, 0.5) ** 2, name="e",
                    table_type="sfix16_En10", output_type="sfix20_En14")
    uneven_bp = np.array([-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2.0])
    uneven_bp[-1] = 2.25  # last segment changes, spacing no longer even
    tab = np.arange(-2, 2.5, 0.5) ** 2
    tab[-1] = 1.5 ** 2 + (4 - 1.5 ** 2) * (2.25 - 1.5) / 0.5
    uneven = Lookup1D(uneven_bp, tab, name="u", table_type="sfix16_En10",
                      output_type="sfix20_En14")
    assert even.is_power_of_two_spaced("sfix16_En12")
    assert not uneven.is_power_of_two_spaced("sfix16_En12")
    a, b = even(x), uneven(x)
    inside = x.data < 1.5
    np.testing.assert_array_equal(a.int[inside], b.int[inside])


@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=8, unique=True), st.data())
def test_lut_double_matches_numpy_and_scipy(bp, data):
    bp = sorted(v / 100 + data.draw(st.floats(0, 0.001)) for v in bp)
    tab = data.draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=len(bp),
                             max_size=len(bp)))
    x = np.array(data.draw(st.lists(st.floats(-20, 20, allow_nan=False), min_size=1,
                                    max_size=30)))
    y = Lookup1D(bp, tab, name="a")(x)
    np.testing.assert_array_equal(y, np.interp(x, bp, tab))
    ye = Lookup1D(bp, tab, name="b", extrap="linear")(x)
    f = interpolate.interp1d(bp, tab, fill_value="extrapolate")
    np.testing.assert_allclose(ye, f(x), rtol=1e-9, atol=1e-9)
    yn = Lookup1D(bp, tab, name="c", interp="nearest")(x)
    yf = Lookup1D(bp, tab, name="d", interp="flat")(x)
    bpa, taba = np.array(bp), np.array(tab)
    for xv, a, b in zip(x, yn, yf, strict=True):
        xc = min(max(xv, bpa[0]), bpa[-1])
        k = int(np.flatnonzero(bpa <= xc)[-1])
        assert b == taba[k]
        i = min(k, len(bp) - 2)
        assert a == (taba[i + 1] if 2 * (xc - bpa[i]) >= bpa[i + 1] - bpa[i] else taba[i])


@given(st.floats(-3, 3, allow_nan=False), st.floats(0, 4, allow_nan=False),
       st.sampled_from(["linear", "nearest", "flat"]), st.sampled_from(["clip", "linear"]),
       st.data())
def test_lut_interval_contains_double_and_fixed_outputs(lo, w, interp, extrap, data):
    if interp != "linear":
        extrap = "clip"
    hi = lo + w
    bp = [-2.0, -0.5, 0.0, 1.0, 2.5]
    tab = [3.0, -1.0, 0.5, 2.0, -2.5]
    blk = Lookup1D(bp, tab, name="l", interp=interp, extrap=extrap, table_type="sfix8_En4",
                   output_type="sfix16_En10")
    seen = {}
    with range_listening(lambda ev: seen.setdefault(ev.name, (ev.lo, ev.hi))):
        out = blk(Interval([lo] * 3, [hi] * 3))
    xs = np.array(data.draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=3,
                                     max_size=3)))
    y = blk(xs)
    assert np.all(out.lo <= y) and np.all(y <= out.hi)
    blk.reset()
    yq = blk(fi(xs, 1, 16, 12)).data
    eps = 2.0 ** -10
    assert np.all(out.lo - eps <= yq) and np.all(yq <= out.hi + eps)
    # the reported range is the values before the output cast; the output interval also
    # holds the cast (outward to the output type's grid)
    assert out.lo[0] <= seen["l.out"][0] and seen["l.out"][1] <= out.hi[0]
    assert out.hi[0] - seen["l.out"][1] < 2.0 ** -10 and seen["l.out"][0] - out.lo[0] < 2.0 ** -10


def test_lut_errors_and_alias():
    assert LUT is Lookup1D
    with pytest.raises(ValueError, match="strictly increasing"):
        Lookup1D([0, 0], [1, 2], name="l")
    with pytest.raises(ValueError, match="equal length"):
        Lookup1D([0, 1], [1], name="l")
    with pytest.raises(ValueError, match="interp='linear'"):
        Lookup1D([0, 1], [1, 2], interp="flat", extrap="linear", name="l")
    with pytest.raises(ValueError, match="interp="):
        Lookup1D([0, 1], [1, 2], interp="cubic", name="l")
    blk = Lookup1D([0, 0.01, 0.02], [1, 2, 3], name="l")
    with pytest.raises(ValueError, match="not strictly increasing once quantized"):
        blk(fi([0.0], 1, 8, 2))


def test_lut_wide_words_take_the_exact_python_int_path():
    Tx = numerictype(True, 48, 40)
    x = fi([0.123456789, -0.5, 0.999], Tx)
    blk = Lookup1D([-1, 0, 1], [-3, 0.25, 2], name="w", table_type="sfix30_En26",
                   output_type="sfix40_En30")
    y = blk(x)
    bv = [Fraction(-1), Fraction(0), Fraction(1)]
    tv = [Fraction(v) for v in (-3, Fraction(1, 4), 2)]
    expect = [q(lut_reference(val(int(v), Tx), bv, tv, "linear", "clip"),
                numerictype(True, 40, 30), "nearest", "saturate") for v in x.int]
    assert [int(v) for v in y.int] == expect


@pytest.mark.parametrize("bps,xt", [([-0.34, 0, 0.34], "sfix8_En4"),
                                    ([-0.3, 0.1, 0.37], "sfix8_En3"),
                                    ([-0.9, -0.2, 0.2, 0.61], "sfix10_En5")])
def test_linear_extrapolation_uses_the_quantized_breakpoints(bps, xt):
    """Bug: Lookup1D._range extrapolated with the unquantized breakpoints, but the fixed run
    quantizes them into the input type, which changes the end slopes: [-0.34, 0, 0.34] in
    sfix8_En4 (0.34 -> 0.3125), x = 1: l.out observed 3.199951171875 vs derived hi
    2.9411764705882355."""
    T = fx.TypeTable({"x": xt, "y": "double"})
    tv = np.linspace(-1, 1, len(bps))

    def fn(x, T):
        lut = Lookup1D(bps, tv, name="l", extrap="linear", table_type="sfix16_En12",
                       output_type="sfix16_En10")
        return T.y(lut(T.x(x)))

    d = fx.tool.derive(fn, (-1.5, 1.5), T, shape=601)
    with fx.tool.record() as rec:
        out = fn(np.linspace(-1.5, 1.5, 601), T)
    for name in ("l.out", "y"):
        assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi, \
            (name, rec[name].min, rec[name].max, d[name])
    lo, hi = d.output.hull()
    assert lo <= out.min() and out.max() <= hi
