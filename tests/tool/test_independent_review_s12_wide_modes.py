"""Independent review (session 12): the fixed-point tool end to end with wide words and every
rounding and overflow mode, public API only.

Word lengths outside the int64 fast path (1, 2, 63, 64, 65, 100, 128, 200, 1500, 4000),
signed and unsigned, with fraction lengths negative, zero and larger than the word length; every
rounding mode (``fx.Rounding``) and overflow mode (``fx.Overflow``), set per TypeTable entry,
per table, and through the fimath in force (``with fx.fimath(...)``), by name, by enum and by
HLS alias.  Each check compares fixsim with a slow exact reference written here with Python
ints and ``fractions.Fraction`` (fixsim never computes an expected value):

1. ``TypeTable`` casts under ``fx.tool.record()``: stored integers (compared with ``==``) and
   the recorded count, min, max, zeros, whole-number flag, overflow and underflow counts;
2. ``fx.tool.derive`` on small chains of wide types contains every simulated value (endpoints
   and random inputs inside the design range), compared exactly;
3. ``fx.tool.propose`` at word lengths 1, 2, 8, 64, 65, 128 (and at given fraction lengths):
   best precision (one more fraction bit would not cover), zero overflows when re-run with the
   proposed types, and the reported LSB, representable range, percent of range used, expected
   overflows and underflows;
4. ``fx.tool.verify``: max abs error, rms error, SQNR, overflow/underflow counts and the index
   of the first overflow/underflow;
5. bad arguments (word length 0 or 65536, a non-integer fraction length, unknown mode names)
   give clear errors naming the argument and the value.

Reference semantics: DESIGN.md 1.1 and docs/user-guide.md (modes), /work/shared/oracle/README.md
(the exact ac_fixed/ap_fixed rules, including AP_WRAP_SM's sign bit taken from the unrounded
value and SAT_SYM moving the most negative value). An overflow is a value whose rounded result
lies outside the range the overflow mode keeps (under ``sat_sym`` on a signed type that is
``[-max, max]``, so the most negative value counts, as fixsim documents); an underflow is a
nonzero value that quantizes to zero without overflowing.

Failures caused by bugs in fixsim are kept as ``xfail(strict=True)`` with a precise reason.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim.tool import Interval

SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                    print_blob=False, suppress_health_check=[HealthCheck.too_slow,
                                                             HealthCheck.data_too_large])
FEW = settings(SETTINGS, max_examples=25)

ROUNDINGS = ["floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
             "half_zero", "convergent_odd"]
OVERFLOWS = ["saturate", "wrap", "sat_zero", "sat_sym", "wrap_sm"]
# MATLAB / HLS spellings of the same modes (case-insensitive, AP_/AC_ prefixes)
ROUNDING_ALIAS = {"floor": "AP_TRN", "ceil": "Ceiling", "zero": "AC_TRN_ZERO", "nearest": "RND",
                  "round": "rnd_inf", "convergent": "AP_RND_CONV", "half_down": "RND_MIN_INF",
                  "half_zero": "AC_RND_ZERO", "convergent_odd": "AC_RND_CONV_ODD"}
OVERFLOW_ALIAS = {"saturate": "AP_SAT", "wrap": "AC_WRAP", "sat_zero": "AP_SAT_ZERO",
                  "sat_sym": "AC_SAT_SYM", "wrap_sm": "AP_WRAP_SM"}
WIDTHS = [1, 2, 63, 64, 65, 100, 128, 200, 1500, 4000]


# ---------------------------------------------------------------------------------------------
# Exact reference (Python ints and Fractions only)
# ---------------------------------------------------------------------------------------------

def bounds(signed: bool, W: int) -> tuple[int, int]:
    """Stored-integer range of a W-bit type."""
    return (-(1 << (W - 1)), (1 << (W - 1)) - 1) if signed else (0, (1 << W) - 1)


def lsb(F: int) -> Fraction:
    """``2**-F`` exactly."""
    return Fraction(1, 1 << F) if F >= 0 else Fraction(1 << -F)


def floor_div(q: Fraction) -> int:
    return q.numerator // q.denominator


def round_to_int(y: Fraction, mode: str) -> int:
    """Round the exact value ``y`` (in LSBs) to an integer with *mode*."""
    q = floor_div(y)
    r = y - q
    if r == 0:
        return q
    if mode == "floor":
        return q
    if mode == "ceil":
        return q + 1
    if mode == "zero":
        return q + 1 if y < 0 else q
    half = Fraction(1, 2)
    if r != half:
        return q + 1 if r > half else q
    return q + {"nearest": 1, "round": int(y > 0), "half_down": 0, "half_zero": int(y < 0),
                "convergent": q & 1, "convergent_odd": 1 - (q & 1)}[mode]


def quantize(x, signed: bool, W: int, F: int, rounding: str, overflow: str):
    """Exact quantization of the number *x*: ``(stored int, overflowed, underflowed)``."""
    x = Fraction(x)
    y = x / lsb(F)
    n = round_to_int(y, rounding)
    lo, hi = bounds(signed, W)
    keep_lo = lo + 1 if (overflow == "sat_sym" and signed) else lo
    if keep_lo <= n <= hi:
        return n, False, (n == 0 and x != 0)
    if overflow == "saturate":
        return (hi if n > hi else lo), True, False
    if overflow == "sat_sym":
        return (hi if n > hi else keep_lo), True, False
    if overflow == "sat_zero":
        return 0, True, False
    mask = (1 << W) - 1
    r = n & mask
    if overflow == "wrap_sm":  # ap_fixed: sign = bit W of the *unrounded* floor(y)
        assert signed
        s = (floor_div(y) >> W) & 1
        if s != (r >> (W - 1)) & 1:
            r = ~r & mask
        r = (r & (mask >> 1)) | (s << (W - 1))
    if signed and r >> (W - 1):
        r -= 1 << W
    return r, True, False


def to_float(q: Fraction) -> float:
    """Correctly rounded float64 of an exact rational (+-inf beyond the range)."""
    q = Fraction(q)
    try:
        return q.numerator / q.denominator
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def covers(signed: bool, W: int, F: int, lo: Fraction, hi: Fraction) -> bool:
    a, b = bounds(signed, W)
    return a * lsb(F) <= lo and hi <= b * lsb(F)


def best_fraction_length(signed: bool, W: int, lo: Fraction, hi: Fraction) -> int:
    """The largest F whose W-bit type holds [lo, hi] (searched, not computed by formula)."""
    F = 0
    while not covers(signed, W, F, lo, hi):
        F -= 1
    while covers(signed, W, F + 1, lo, hi):
        F += 1
    return F


def stored(a) -> list[int]:
    """The stored integers of a fi, as Python ints (a read, not a computation)."""
    return [int(v) for v in np.asarray(a.int).ravel()]


def exact_values(a) -> list[Fraction]:
    """Exact real-world values of a fi, from its stored integers and fraction length."""
    step = lsb(a.fraction_length)
    return [i * step for i in stored(a)]


def sqrt_fraction(q: Fraction) -> float:
    """sqrt of an exact non-negative rational, to about 2**-100 relative (no underflow of
    the squares on the way, unlike ``math.sqrt(float(q))``)."""
    if q == 0:
        return 0.0
    k = max(0, (240 - q.numerator.bit_length() + q.denominator.bit_length()) // 2)
    root = math.isqrt(floor_div(q * (1 << (2 * k))))
    return to_float(Fraction(root, 1 << k))


def log10_fraction(q: Fraction) -> float:
    return math.log10(q.numerator) - math.log10(q.denominator)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

def fraction_choices(W: int) -> list[int]:
    """Negative, zero, and larger-than-W fraction lengths (bounds kept inside the double range
    for the widths in the thousands)."""
    if W >= 1000:
        return [W - 1, W - 30, W, W + 3, W - 700]
    return [-W - 3, -9, -1, 0, 1, W // 2, W - 1, W, W + 1, W + 40]


@st.composite
def fixed_types(draw, widths=WIDTHS):
    signed = draw(st.booleans())
    W = draw(st.sampled_from(widths))
    F = draw(st.sampled_from(fraction_choices(W)))
    return signed, W, F


@st.composite
def modes_for(draw, signed: bool, overflows=OVERFLOWS):
    r = draw(st.sampled_from(ROUNDINGS))
    o = draw(st.sampled_from([m for m in overflows if signed or m != "wrap_sm"]))
    return r, o


@st.composite
def values_for(draw, signed: bool, W: int, F: int, max_size: int = 12):
    """Doubles around the type's interesting points: ties and near-ties at the LSB on both
    sides of zero, the bounds and just past them, wrap-around values, tiny (underflowing)
    values, +-0.0, and random values inside and beyond the range."""
    lo, hi = bounds(signed, W)
    step = lsb(F)
    anchors = [0, 1, -1, 2, -3, 5, lo, hi, lo - 1, hi + 1, hi + 2, (1 << W) + 3,
               -5 * (1 << W) - 1, (3 * (hi + 1)) // 2]
    offsets = [Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(-1, 4),
               Fraction(-1, 2), Fraction(1, 3)]
    item = st.one_of(
        st.tuples(st.sampled_from(anchors), st.sampled_from(offsets)).map(
            lambda t: (t[0] + t[1]) * step),
        st.floats(-2.0, 2.0, allow_nan=False).map(lambda u: Fraction(u) * (hi + 1) * step),
        st.sampled_from([Fraction(0), step / 3, -step / 3, step / 2, -step / 2]),
    )
    raw = draw(st.lists(item, min_size=1, max_size=max_size))
    out = []
    for v in raw:
        f = to_float(v)
        if math.isfinite(f):
            out.append(f)
    if draw(st.booleans()):
        out.append(-0.0)
    return out or [0.0]


def make_table(how: str, names_types: dict, r: str, o: str) -> fx.TypeTable:
    """A table whose casts use rounding *r* and overflow *o*: set per entry (by name, enum or
    alias, with different table modes that the entry must win over), per table, or left to
    the fimath in force (``how == 'fimath'``)."""
    if how == "entry":
        return fx.TypeTable({n: {"type": t, "rounding": r, "overflow": o}
                             for n, t in names_types.items()},
                            rounding="floor" if r != "floor" else "ceil", overflow="saturate"
                            if o != "saturate" else "wrap")
    if how == "enum":
        return fx.TypeTable({n: {"type": t, "rounding": fx.Rounding[r.upper()],
                                 "overflow": fx.Overflow[o.upper()]}
                             for n, t in names_types.items()})
    if how == "alias":
        return fx.TypeTable({n: {"type": t, "rounding": ROUNDING_ALIAS[r],
                                 "overflow": OVERFLOW_ALIAS[o]}
                             for n, t in names_types.items()})
    if how == "table":
        return fx.TypeTable(dict(names_types), rounding=r, overflow=o)
    assert how == "fimath"
    return fx.TypeTable(dict(names_types))


HOWS = ["entry", "enum", "alias", "table", "fimath"]


def in_modes(how: str, r: str, o: str):
    """The context for a run: the fimath block for ``how == 'fimath'``, else a default one."""
    if how == "fimath":
        return fx.fimath(rounding=r, overflow=o)
    return fx.fimath()  # the factory default: the table's modes must win over it


def check_stats(s, values: list[float], overflows: int, underflows: int, T=None):
    """The recorded statistics of a signal against the values arriving at its cast."""
    finite = [v for v in values if math.isfinite(v)]
    assert s.count == len(values)
    assert s.inf_count == sum(math.isinf(v) for v in values)
    assert s.nan_count == 0
    assert s.zeros == sum(v == 0 for v in values)
    assert s.whole == all(float(v).is_integer() for v in finite)
    if finite:
        assert (s.min, s.max) == (min(finite), max(finite))
    assert (s.overflows, s.underflows) == (overflows, underflows)
    if T is not None:
        assert s.numerictype == str(T)


# ---------------------------------------------------------------------------------------------
# 1. TypeTable casts under record()
# ---------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_record_cast_matches_exact_reference(data):
    signed, W, F = data.draw(fixed_types(), label="type")
    r, o = data.draw(modes_for(signed), label="modes")
    how = data.draw(st.sampled_from(HOWS), label="how")
    xs = data.draw(values_for(signed, W, F), label="values")
    nt = fx.numerictype(signed, W, F)
    T = make_table(how, {"x": nt}, r, o)
    with in_modes(how, r, o), fx.tool.record() as rec:
        y = T.x(np.array(xs))
    expected = [quantize(v, signed, W, F, r, o) for v in xs]
    assert y.numerictype == nt
    assert stored(y) == [e[0] for e in expected]
    check_stats(rec["x"], xs, sum(e[1] for e in expected), sum(e[2] for e in expected), nt)
    # the cheaper recording level keeps the same counts, extremes and flags
    with in_modes(how, r, o), fx.tool.record(detail="ranges") as rec2:
        T.x(np.array(xs))
    check_stats(rec2["x"], xs, sum(e[1] for e in expected), sum(e[2] for e in expected), nt)


@SETTINGS
@given(data=st.data())
def test_record_fi_to_fi_chain_matches_exact_reference(data):
    """A cast of a wide fi into another wide type (requantization, not float quantization):
    stored integers and the statistics of both signals."""
    sa, Wa, Fa = data.draw(fixed_types(), label="type a")
    sb, Wb, _ = data.draw(fixed_types(), label="type b")
    Fb = Fa + data.draw(st.sampled_from([-70, -3, -1, 0, 1, 2, 5, 70]), label="Fb - Fa")
    ra, oa = data.draw(modes_for(sa), label="modes a")
    rb, ob = data.draw(modes_for(sb), label="modes b")
    xs = data.draw(values_for(sa, Wa, Fa), label="values")
    Ta, Tb = fx.numerictype(sa, Wa, Fa), fx.numerictype(sb, Wb, Fb)
    T = fx.TypeTable({"a": {"type": Ta, "rounding": ra, "overflow": oa},
                      "b": {"type": Tb, "rounding": rb, "overflow": ob}})
    with fx.tool.record() as rec:
        y = T.b(T.a(np.array(xs)))
    ea = [quantize(v, sa, Wa, Fa, ra, oa) for v in xs]
    a_exact = [e[0] * lsb(Fa) for e in ea]
    eb = [quantize(v, sb, Wb, Fb, rb, ob) for v in a_exact]
    assert stored(y) == [e[0] for e in eb]
    check_stats(rec["a"], xs, sum(e[1] for e in ea), sum(e[2] for e in ea), Ta)
    # what arrives at 'b' is a fi: recorded as its correctly rounded float64 values
    check_stats(rec["b"], [to_float(v) for v in a_exact], sum(e[1] for e in eb),
                sum(e[2] for e in eb), Tb)


@FEW
@given(data=st.data())
def test_record_exact_python_int_and_fraction_inputs(data):
    """Python ints and Fractions are exact inputs, at any width (the object path)."""
    signed, W, F = data.draw(fixed_types(), label="type")
    r, o = data.draw(modes_for(signed), label="modes")
    lo, hi = bounds(signed, W)
    item = st.one_of(
        st.integers(2 * lo - 3, 2 * hi + 3).map(lambda k: k * lsb(F)),
        st.tuples(st.integers(lo - 2, hi + 2), st.sampled_from(
            [Fraction(1, 2), Fraction(1, 3), Fraction(-1, 7)])).map(
            lambda t: (t[0] + t[1]) * lsb(F)),
        st.integers(-10**30, 10**30),
    )
    xs = data.draw(st.lists(item, min_size=1, max_size=6), label="values")
    xs = [int(v) if isinstance(v, Fraction) and v.denominator == 1 else v for v in xs]
    T = fx.TypeTable({"x": {"type": fx.numerictype(signed, W, F), "rounding": r,
                            "overflow": o}})
    with fx.tool.record() as rec:
        y = T.x(np.array(xs, dtype=object))
    expected = [quantize(v, signed, W, F, r, o) for v in xs]
    assert stored(y) == [e[0] for e in expected]
    check_stats(rec["x"], [to_float(Fraction(v)) for v in xs], sum(e[1] for e in expected),
                sum(e[2] for e in expected))


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_every_mode_on_ties_and_bounds_at_every_width(rounding, overflow):
    """Every rounding x overflow pair, at every width, signed and unsigned, on exact ties on
    both sides of zero and on values just past both bounds; one recording per pair."""
    for W in WIDTHS:
        for signed in (True, False):
            if overflow == "wrap_sm" and not signed:
                continue
            F = W // 2 if W < 1000 else W - 2
            lo, hi = bounds(signed, W)
            ks = [Fraction(k, 2) for k in range(-7, 8)] + [
                lo - Fraction(1, 2), lo + Fraction(1, 2), hi + Fraction(1, 2),
                hi - Fraction(1, 2), lo - 1 - Fraction(1, 2), hi + 1 + Fraction(1, 2)]
            xs = [v * lsb(F) for v in ks]  # exact: passed as Fractions
            nt = fx.numerictype(signed, W, F)
            T = fx.TypeTable({"x": nt}, rounding=rounding, overflow=overflow)
            with fx.tool.record() as rec:
                y = T.x(np.array(xs, dtype=object))
            expected = [quantize(v, signed, W, F, rounding, overflow) for v in xs]
            assert stored(y) == [e[0] for e in expected], (W, signed)
            floats = [to_float(v) for v in xs]
            if all(Fraction(f) == v for f, v in zip(floats, xs, strict=True)):  # float kernels
                assert stored(T.x(np.array(floats))) == [e[0] for e in expected], (W, signed)
            assert rec["x"].overflows == sum(e[1] for e in expected), (W, signed)
            assert rec["x"].underflows == sum(e[2] for e in expected), (W, signed)


@pytest.mark.parametrize("W", [1, 2, 63, 64, 65, 100, 128, 200, 1500])
def test_mode_precedence_entry_over_table_over_fimath(W):
    """An entry's modes win over the table's, the table's over the fimath in force, and the
    fimath in force applies to entries and tables without modes (float and fi inputs)."""
    signed = W > 1
    F = W - 1 if W > 1 else 0
    ties = [Fraction(k, 2) * lsb(F) for k in (-3, -1, 1, 3)]
    T = fx.TypeTable({"e": {"type": fx.numerictype(signed, W, F), "rounding": "convergent",
                            "overflow": "saturate"},
                      "t": fx.numerictype(signed, W, F)},
                     rounding="half_down", overflow="wrap")
    U = fx.TypeTable({"f": fx.numerictype(signed, W, F)})
    x = np.array(ties, dtype=object)
    with fx.fimath(rounding="round", overflow="sat_zero"):
        ye, yt, yf = T.e(x), T.t(x), U.f(x)
        # a fi without a local fimath takes the fimath in force too
        src = fx.fi.from_int([-3, -1, 1, 3], fx.numerictype(True, W + 2, F + 1))
        yfi = U.f(src)
    for got, mode, ovf in ((ye, "convergent", "saturate"), (yt, "half_down", "wrap"),
                           (yf, "round", "sat_zero"), (yfi, "round", "sat_zero")):
        expected = [quantize(v, signed, W, F, mode, ovf)[0] for v in ties]
        assert stored(got) == expected, (mode, ovf)


@pytest.mark.parametrize("W", [8, 64, 65, 100, 200, 1500])
@pytest.mark.parametrize("how", ["entry", "table", "fimath"])
def test_stochastic_rounding_wide(W, how):
    """Stochastic rounding: each result is one of the two neighbours, up with probability
    frac(y) (5 sigma), exact values untouched, reproducible after set_stochastic_seed, no
    overflow or underflow counted in range."""
    F = W // 2
    n = 4000
    x = np.array([Fraction(13, 4) * lsb(F)] * n + [-Fraction(15, 4) * lsb(F)] * n
                 + [Fraction(5) * lsb(F)] * 10, dtype=object)
    xf = np.array([to_float(v) for v in x])
    nt = fx.numerictype(True, W, F)

    def run():
        fx.set_stochastic_seed(1234)
        T = make_table(how, {"x": nt}, "stochastic", "saturate")
        with in_modes(how, "stochastic", "saturate"), fx.tool.record() as rec:
            y = T.x(xf)
        return stored(y), rec["x"]

    ints, s = run()
    assert set(ints[:n]) <= {3, 4} and set(ints[n:2 * n]) <= {-4, -3}
    assert ints[2 * n:] == [5] * 10
    sigma = math.sqrt(0.25 * 0.75 / n)
    assert abs(ints[:n].count(4) / n - 0.25) < 5 * sigma
    assert abs(ints[n:2 * n].count(-3) / n - 0.25) < 5 * sigma  # frac(-3.75) = 1/4
    assert (s.overflows, s.underflows, s.count) == (0, 0, 2 * n + 10)
    assert run()[0] == ints


@pytest.mark.parametrize("W", [8, 64, 65, 100, 200, 4000])
@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_infinities_under_record(W, overflow):
    """+-inf saturates under saturate/sat_sym, gives 0 under sat_zero (each an overflow and an
    infinite recorded value), and raises under wrap/wrap_sm naming the value and the mode;
    NaN raises."""
    F = W - 4
    nt = fx.numerictype(True, W, F)
    T = fx.TypeTable({"x": {"type": nt, "overflow": overflow}})
    x = np.array([np.inf, -np.inf, 1.0, 0.0])
    lo, hi = bounds(True, W)
    if overflow in ("wrap", "wrap_sm"):
        with pytest.raises(ValueError, match=rf"inf.*{overflow}"):
            T.x(x)
        return
    with fx.tool.record() as rec:
        y = T.x(x)
    top, bottom = {"saturate": (hi, lo), "sat_sym": (hi, lo + 1), "sat_zero": (0, 0)}[overflow]
    assert stored(y) == [top, bottom, 1 << F, 0]
    s = rec["x"]
    assert (s.count, s.inf_count, s.overflows, s.underflows, s.min, s.max) == \
        (4, 2, 2, 0, 0.0, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        T.x(np.array([1.0, np.nan]))


@FEW
@given(data=st.data())
def test_scaled_double_override_counts_what_the_fixed_type_would_do(data):
    signed, W, F = data.draw(fixed_types(), label="type")
    r, o = data.draw(modes_for(signed), label="modes")
    xs = data.draw(values_for(signed, W, F), label="values")
    T = fx.TypeTable({"x": {"type": fx.numerictype(signed, W, F), "rounding": r,
                            "overflow": o}}).override("scaled_double")
    with fx.tool.record() as rec:
        y = T.x(np.array(xs))
    assert isinstance(y, np.ndarray) and y.tolist() == xs
    expected = [quantize(v, signed, W, F, r, o) for v in xs]
    check_stats(rec["x"], xs, sum(e[1] for e in expected), sum(e[2] for e in expected))


# ---------------------------------------------------------------------------------------------
# 2. derive contains every simulated value
# ---------------------------------------------------------------------------------------------

TAPS = np.array([0.75, -0.3, 0.1])
_LOG: dict | None = None


def _probe(T, name, v):
    if _LOG is not None and not isinstance(v, Interval):
        vals = (exact_values(v) if isinstance(v, fx.fi)
                else [Fraction(float(t)) for t in np.asarray(v, dtype=np.float64).ravel()])
        _LOG.setdefault(name, []).extend(vals)
    return T[name](v)


def chain(x, T):
    a = _probe(T, "a", x)
    b = _probe(T, "b", a * 3 - a)
    c = _probe(T, "c", np.convolve(b, TAPS))
    d = _probe(T, "d", abs(c) + (-c))
    return _probe(T, "y", np.sum(d))


def _contains(lo: float, hi: float, vals: list[Fraction]) -> bool:
    return ((not math.isfinite(lo) or Fraction(lo) <= min(vals))
            and (not math.isfinite(hi) or max(vals) <= Fraction(hi)))


@SETTINGS
@given(data=st.data())
def test_derive_contains_every_simulated_value_wide(data):
    """derive under a fixed table of wide types (modes per entry, per table or from a fimath
    that also narrows products and sums) bounds every value arriving at every cast."""
    global _LOG
    widths = [1, 2, 8, 63, 64, 65, 100, 128, 200, 1500]
    how = data.draw(st.sampled_from(["entry", "table", "fimath"]), label="how")
    r = data.draw(st.sampled_from(ROUNDINGS), label="rounding")
    o = data.draw(st.sampled_from(OVERFLOWS[:4]), label="overflow")
    entries = {}
    for n in "abcdy":
        s, W, _ = data.draw(fixed_types(widths), label=f"type {n}")
        F = data.draw(st.sampled_from([W - 3, W // 2, W + 2, -2, 0]), label=f"F {n}")
        nt = fx.numerictype(s, W, F)
        if how == "entry":
            rr, oo = data.draw(modes_for(s), label=f"modes {n}")
            entries[n] = {"type": nt, "rounding": rr, "overflow": oo}
        else:
            entries[n] = nt
    T = fx.TypeTable(entries, **({"rounding": r, "overflow": o} if how == "table" else {}))
    if how == "fimath":
        pm = data.draw(st.sampled_from(["full", "keep_lsb", "keep_msb", "specify"]))
        sm = data.draw(st.sampled_from(["full", "keep_lsb", "keep_msb", "specify"]))
        pw = data.draw(st.sampled_from([16, 64, 65, 130]))
        sw = data.draw(st.sampled_from([16, 64, 65, 130]))
        FM = fx.fimath(rounding=r, overflow=o, product_mode=pm, sum_mode=sm,
                       product_word_length=pw, product_fraction_length=pw - 4,
                       sum_word_length=sw, sum_fraction_length=sw - 5)
    else:
        FM = fx.fimath()
    lo, hi = sorted([data.draw(st.floats(-4, 4), label="lo"),
                     data.draw(st.floats(-4, 4), label="hi")])
    shape = 6
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    frames = [np.full(shape, lo), np.full(shape, hi)]
    frames += [np.where(rng.random(shape) < 0.3, rng.choice([lo, hi], shape),
                        rng.uniform(lo, hi, shape)) for _ in range(25)]
    with FM:
        d = fx.tool.derive(chain, (lo, hi), T, shape=shape)
        _LOG = {}
        try:
            outs = [chain(x, T) for x in frames]
            log = _LOG
        finally:
            _LOG = None
    assert set(log) == set("abcdy")
    for name, vals in log.items():
        assert _contains(d[name].lo, d[name].hi, vals), (name, T.entry(name), d[name])
    olo, ohi = d.output.hull()
    assert _contains(olo, ohi, [v for y in outs for v in exact_values(y)])


# ---------------------------------------------------------------------------------------------
# 3. propose
# ---------------------------------------------------------------------------------------------

@st.composite
def recorded_data(draw):
    kind = draw(st.sampled_from(["pos", "neg", "mix", "whole", "pow2", "edge", "tiny"]))
    e = draw(st.integers(-70, 70))
    n = draw(st.integers(1, 40))
    unit = st.floats(0, 1, allow_nan=False)
    if kind == "pos":
        xs = [draw(unit) * 2.0 ** e for _ in range(n)]
    elif kind == "neg":
        xs = [-draw(unit) * 2.0 ** e for _ in range(n)]
    elif kind == "mix":
        xs = [(2 * draw(unit) - 1) * 2.0 ** e for _ in range(n)]
    elif kind == "whole":
        xs = [float(draw(st.integers(-2**40, 2**40))) for _ in range(n)]
    elif kind == "pow2":
        xs = [draw(st.sampled_from([-1.0, 1.0])) * 2.0 ** draw(st.integers(-12, 12))
              for _ in range(n)]
    elif kind == "tiny":
        xs = [(2 * draw(unit) - 1) * 2.0 ** -300 for _ in range(n)] + [1e-5]
    else:  # within an ulp of powers of two, both sides, both signs
        xs = [draw(st.sampled_from([-1.0, 1.0])) * math.ldexp(
            draw(st.sampled_from([1.0, 1 - 2.0**-53, 1 + 2.0**-52, 0.75])),
            draw(st.integers(-5, 5))) for _ in range(n)]
    if draw(st.booleans()):
        xs.append(0.0)
    if not any(xs):
        xs.append(1.0)
    return xs


def _record_two(xs, T):
    with fx.tool.record() as rec:
        _two(np.array(xs), T)
    return rec


def _two(x, T):
    T.a(x)
    T.b(x * 3.0)


def _ref_proposal(xs, s, W, whole):
    lo, hi = Fraction(min(xs)), Fraction(max(xs))
    F = best_fraction_length(s, W, lo, hi)
    return min(F, 0) if whole else F


def _check_reported_numbers(p, xs, s, W, F):
    """LSB, representable range, percent of range used, expected overflows and underflows."""
    a, b = bounds(s, W)
    tmin, tmax = a * lsb(F), b * lsb(F)
    lo, hi = Fraction(min(xs)), Fraction(max(xs))
    if -1074 <= -F <= 1023:
        assert p.lsb == to_float(lsb(F))
    assert p.representable == (to_float(tmin), to_float(tmax))
    terms = []
    if tmax > 0 and hi > 0:
        terms.append(hi / tmax)
    if tmin < 0 and lo < 0:
        terms.append(lo / tmin)
    pct = to_float(100 * max(terms)) if terms else 0.0
    assert math.isclose(p.percent_range_used, pct, rel_tol=1e-12, abs_tol=0.0)
    overflows = sum(not (tmin <= Fraction(v) <= tmax) for v in xs)
    underflows = sum(v != 0 and abs(Fraction(v)) < lsb(F) / 2 for v in xs)
    assert p.overflows == overflows
    assert p.underflows == underflows
    if overflows == 0:
        assert p.clip_fraction == 0.0


@SETTINGS
@given(xs=recorded_data(), W=st.sampled_from([1, 2, 8, 64, 65, 128]),
       margin=st.sampled_from([0, 0.1, 50]), data=st.data())
def test_propose_at_word_length_best_precision_and_reported_numbers(xs, W, margin, data):
    lo, hi = Fraction(min(xs)), Fraction(max(xs))
    s = lo < 0
    r = data.draw(st.sampled_from(ROUNDINGS), label="rounding")
    o = data.draw(st.sampled_from(["saturate", "wrap", "sat_zero"] + (["wrap_sm"] if s else [])),
                  label="overflow")
    T = fx.TypeTable({"a": {"type": "double", "rounding": r, "overflow": o},
                      "b": "double"}, rounding=r, overflow=o)
    rec = _record_two(xs, T)
    if s and W == 1 and (hi > 0 or 3 * max(xs) > 0):
        with pytest.raises(ValueError, match=r"'a'.*word_length|'b'.*word_length"):
            fx.tool.propose(rec, T, word_length=W, margin=margin)
        return
    p = fx.tool.propose(rec, T, word_length=W, margin=margin)
    k = 1 + Fraction(str(margin)) / 100
    for name, vals in (("a", xs), ("b", [v * 3.0 for v in xs])):
        vlo, vhi = Fraction(min(vals)), Fraction(max(vals))
        whole = all(v.is_integer() for v in vals)
        F = best_fraction_length(vlo < 0, W, vlo * k, vhi * k)
        F = min(F, 0) if whole else F
        q = p[name]
        assert (q.proposed.signed, q.proposed.word_length, q.proposed.fraction_length) == \
            (vlo < 0, W, F), name
        assert q.range_used == (vlo * k, vhi * k)
        assert q.simulated == (min(vals), max(vals))
        if not whole:  # best precision: one more fraction bit no longer covers the range
            assert not covers(vlo < 0, W, F + 1, vlo * k, vhi * k)
        _check_reported_numbers(q, vals, vlo < 0, W, F)
    # re-run with the proposed table (modes kept): no overflow anywhere
    assert p.types.entry("a").rounding == fx.Rounding[r.upper()]
    rerun = _record_two(xs, p.types)
    assert rerun["a"].overflows == 0 and rerun["b"].overflows == 0


@FEW
@given(xs=recorded_data(), F=st.sampled_from([-20, 0, 8, 60, 70, 130, 400]))
def test_propose_at_fraction_length_smallest_word(xs, F):
    T = fx.TypeTable({"a": "double", "b": "double"})
    rec = _record_two(xs, T)
    p = fx.tool.propose(rec, T, fraction_length=F)["a"]
    lo, hi = Fraction(min(xs)), Fraction(max(xs))
    s = lo < 0
    W = 1
    while not covers(s, W, F, lo, hi):
        W += 1
    assert (p.proposed.signed, p.proposed.word_length, p.proposed.fraction_length) == (s, W, F)
    _check_reported_numbers(p, xs, s, W, F)


@pytest.mark.parametrize("W", [1, 2, 8, 64, 65, 128])
def test_propose_all_zero_signal_gets_fraction_length_zero(W):
    T = fx.TypeTable({"a": "double", "b": "double"})
    rec = _record_two([0.0, -0.0, 0.0], T)
    q = fx.tool.propose(rec, T, word_length=W)["a"]
    assert (q.proposed.signed, q.proposed.word_length, q.proposed.fraction_length) == \
        (False, W, 0)
    assert (q.overflows, q.underflows) == (0, 0)


def test_collect_propose_verify_pipeline_wide():
    """collect -> propose at 65 and 128 bits -> verify: no overflow, errors within half an
    LSB (round to nearest) on each independent signal."""
    rng = np.random.default_rng(7)
    frames = [rng.uniform(-3, 5, 300) for _ in range(4)]
    T = fx.TypeTable({"a": "double", "b": "double"}, rounding="nearest", overflow="saturate")
    rec = fx.tool.collect(_two, frames, T)
    for W in (65, 128):
        p = fx.tool.propose(rec, T, word_length=W)
        check = fx.tool.verify(_two, frames, p.types)
        assert check.overflows == 0
        for name in ("a", "b"):
            F = p[name].proposed.fraction_length
            vals = np.concatenate(frames) * (3.0 if name == "b" else 1.0)
            lo, hi = Fraction(float(vals.min())), Fraction(float(vals.max()))
            assert F == best_fraction_length(True, W, lo, hi)
            assert check[name].count == vals.size
            assert check[name].max_abs_error <= to_float(lsb(F) / 2)


@pytest.mark.parametrize("how", ["locked", "override"])
@pytest.mark.parametrize("tname", ["sfix64_En63", "sfix65_En64", "sfix128_En127",
                                   "ufix64_En64", "ufix100_En100"])
def test_propose_expected_overflows_exact_for_wide_kept_types(how, tname):
    """Regression (s12 review, fixed): propose's expected overflows/clip_fraction compared the
    recorded extremes with T.max/T.min as floats (fixsim/tool/_policies.py type_metrics); for W
    > 53 T.max rounds up (sfix64_En63: 1 - 2**-63 -> 1.0), so a recorded 1.0 that the cast
    saturates (rec overflows == 1) was reported as 0 expected overflows for a locked or
    overridden type.
    """
    nt = fx.numerictype.parse(tname)
    xs = [1.0, 0.5, 0.25]
    if how == "locked":
        T = fx.TypeTable({"a": nt, "b": "double"}, locked=["a"])
        kw = {}
    else:
        T = fx.TypeTable({"a": "double", "b": "double"})
        kw = {"overrides": {"a": {"type": tname}}}
    rec = _record_two(xs, T)
    if how == "locked":
        assert rec["a"].overflows == 1  # the cast itself saturated 1.0
    q = fx.tool.propose(rec, T, word_length=16, **kw)["a"]
    assert q.proposed == nt
    _check_reported_numbers(q, xs, nt.signed, nt.word_length, nt.fraction_length)


@pytest.mark.parametrize("W", [8, 64, 65, 128])
def test_propose_sat_sym_signal_reruns_without_overflow(W):
    """Regression (s12 review, fixed): propose ignored a signal's sat_sym overflow mode: for a
    recorded minimum of -1.0 it proposed sfix8_En7 (min -1.0 exactly), reported 0 expected
    overflows, and re-running the recorded data with proposal.types overflowed (sat_sym moves
    -1.0 to -127/128 and counts it). Now the symmetric range [-max, max] covers the data.
    """
    T = fx.TypeTable({"a": {"type": "double", "overflow": "sat_sym"}, "b": "double"})
    xs = [-1.0, 0.25, 0.5]
    rec = _record_two(xs, T)
    p = fx.tool.propose(rec, T, word_length=W)
    rerun = _record_two(xs, p.types)
    nt = p["a"].proposed
    expected = sum(quantize(v, True, W, nt.fraction_length, "nearest", "sat_sym")[1]
                   for v in xs)
    assert p["a"].overflows == expected  # what the proposal says it will do ...
    assert rerun["a"].overflows == 0      # ... and the type holds the recorded range


@pytest.mark.parametrize("F", [-1024, -1100])
def test_propose_fraction_length_beyond_double_range(F):
    """Regression (s12 review, fixed): propose's metrics used float T.max/T.min and
    math.ldexp(1.0, -F - 1): at fraction_length <= -1025 propose raised a bare
    OverflowError('math range error') instead of proposing sfix2_E1100 (all 3 values
    underflow), and at fraction_length=-1024 T.max read as inf, so percent_range_used was 0.0
    instead of 1.67e-06.
    """
    xs = [1.0, 3e300, -2.0]
    T = fx.TypeTable({"a": "double", "b": "double"})
    rec = _record_two(xs, T)
    q = fx.tool.propose(rec, T, fraction_length=F)["a"]
    assert (q.proposed.signed, q.proposed.word_length, q.proposed.fraction_length) == \
        (True, 2, F)
    _check_reported_numbers(q, xs, True, 2, F)


@pytest.mark.parametrize("W", [1, 2])
def test_propose_tiny_words(W):
    """1- and 2-bit proposals, signed and unsigned, by the exact search."""
    for xs in ([-3.0, -1.0], [0.0, 3.0], [0.5, 0.75], [-0.25, 0.0], [-6.0, 1.0]):
        T = fx.TypeTable({"a": "double", "b": "double"})
        rec = _record_two(xs, T)
        s = min(xs) < 0
        if s and W == 1 and max(xs) > 0:
            with pytest.raises(ValueError, match=r"signal 'a'.*word_length"):
                fx.tool.propose(rec, T, word_length=W)
            continue
        q = fx.tool.propose(rec, T, word_length=W)["a"]
        F = _ref_proposal(xs, s, W, all(v.is_integer() for v in xs))
        assert (q.proposed.signed, q.proposed.word_length, q.proposed.fraction_length) == \
            (s, W, F), xs
        _check_reported_numbers(q, xs, s, W, F)


# ---------------------------------------------------------------------------------------------
# 4. verify
# ---------------------------------------------------------------------------------------------

def _fx_double(x, T):
    a = T.x(x)
    return T.z(a + a)


@st.composite
def verify_types(draw):
    s = draw(st.booleans())
    W = draw(st.sampled_from([1, 2, 8, 63, 64, 65, 100, 128, 200, 2000]))
    F = draw(st.sampled_from([W - 2, W // 2, W + 3, -2, 0, 1] if W < 1000 else [W - 1, W + 3]))
    return s, W, F


@SETTINGS
@given(data=st.data())
def test_verify_matches_exact_reference(data):
    spec = {}
    for n in "xz":
        s, W, F = data.draw(verify_types(), label=f"type {n}")
        r, o = data.draw(modes_for(s), label=f"modes {n}")
        spec[n] = (s, W, F, r, o)
    how = data.draw(st.sampled_from(["entry", "fimath"]), label="how")
    if how == "fimath":  # both signals take the modes of the fimath in force
        r, o = spec["x"][3], data.draw(st.sampled_from(OVERFLOWS[:4]), label="fimath overflow")
        spec = {n: v[:3] + (r, o) for n, v in spec.items()}
        T = fx.TypeTable({n: fx.numerictype(*v[:3]) for n, v in spec.items()})
    else:
        T = fx.TypeTable({n: {"type": fx.numerictype(*v[:3]), "rounding": v[3],
                              "overflow": v[4]} for n, v in spec.items()})
    sx = spec["x"]
    top = to_float(bounds(sx[0], sx[1])[1] * lsb(sx[2])) or 1.0
    top = min(top, 2.0 ** 1000)
    items = [np.array(data.draw(st.lists(st.floats(-1.3, 1.3), min_size=1, max_size=30),
                                label=f"item {i}")) * top for i in range(3)]
    items[0][0] = 0.0
    with in_modes(how, sx[3], sx[4]):
        check = fx.tool.verify(_fx_double, items, T)

    streams = {"x": [], "z": []}  # (fixed exact, double, arriving exact, ovf, unf, out int)
    for item in items:
        for v in item:
            qx, ox, ux = quantize(v, *sx)
            xe = qx * lsb(sx[2])
            streams["x"].append((xe, Fraction(v), Fraction(v), ox, ux, qx))
            qz, oz, uz = quantize(2 * xe, *spec["z"])
            streams["z"].append((qz * lsb(spec["z"][2]), 2 * Fraction(v), 2 * xe, oz, uz, qz))
    for n in "xz":
        v, L = check[n], streams[n]
        errs = [to_float(fixed) - float(dbl) for fixed, dbl, *_ in L]
        assert v.count == len(L)
        assert v.numerictype == fx.numerictype(*spec[n][:3])
        assert (v.overflows, v.underflows) == (sum(t[3] for t in L), sum(t[4] for t in L))
        assert v.max_abs_error == max(abs(e) for e in errs)
        se2 = sum(Fraction(e) ** 2 for e in errs)
        sd2 = sum(t[1] ** 2 for t in L)
        assert math.isclose(v.rms_error, sqrt_fraction(se2 / len(L)), rel_tol=1e-14)
        if se2 == 0:
            assert v.sqnr_db == math.inf
        elif sd2 == 0:
            assert v.sqnr_db == -math.inf
        else:
            assert math.isclose(v.sqnr_db, 10 * log10_fraction(sd2 / se2), rel_tol=1e-12,
                                abs_tol=1e-9)
        assert np.array_equal(v.error, np.array(errs))
        # first_* are taken from the float64 values arriving at the cast: compare where those
        # are exact, and (known bug, tested below) where no overflow produced a zero first
        exact_arrival = all(Fraction(to_float(t[2])) == t[2] for t in L)
        fo = next((i for i, t in enumerate(L) if t[3]), None)
        fu = next((i for i, t in enumerate(L) if t[4]), None)
        zero_ovf = next((i for i, t in enumerate(L) if t[3] and t[5] == 0), None)
        if exact_arrival:
            assert v.first_overflow == fo
            if zero_ovf is None or fu is None or fu < zero_ovf:
                assert v.first_underflow == fu
    out = check.outputs["output"]
    assert out.count == len(streams["z"])
    assert out.max_abs_error == check["z"].max_abs_error


@pytest.mark.parametrize("tname,overflow,big", [("sfix8_En0", "sat_zero", 300.0),
                                                 ("sfix8_En0", "wrap", 256.0),
                                                 ("sfix100_En90", "sat_zero", 2.0**20),
                                                 ("ufix65_En0", "wrap", 2.0**65)])
def test_verify_first_underflow_skips_overflows_to_zero(tname, overflow, big):
    """Regression (s12 review, fixed): verify's first_underflow is the first nonzero value
    whose output is 0 (fixsim/tool/_verify.py _first_bad), which includes values that
    overflowed to 0 (sat_zero, wrap of a multiple of 2**W); those are overflows, not
    underflows, so first_underflow points at a value the underflow count does not include
    """
    T = fx.TypeTable({"x": {"type": tname, "overflow": overflow}, "z": "double"})
    nt = fx.numerictype.parse(tname)
    x = np.array([big, 0.2 * 2.0 ** -nt.fraction_length])
    check = fx.tool.verify(_fx_double, [x], T)
    assert (check["x"].overflows, check["x"].underflows) == (1, 1)
    assert check["x"].first_overflow == 0
    assert check["x"].first_underflow == 1


def test_verify_first_overflow_uses_exact_wide_values():
    """Regression (s12 review, fixed): verify's first_overflow re-rounds the float64 *view* of
    a wide fi arriving at the cast (fixsim/tool/_verify.py _overflowed uses event.values):
    sfix100_En90 holding 127.5 - 2**-90 reads as 127.5, which rounds to 128, so index 0 is
    reported although the exact value rounds to 127 and only index 1 (300) overflows
    """
    T = fx.TypeTable({"x": "sfix100_En90", "z": "sfix8_En0"})

    def fn(x, T):
        return T.z(T.x(x))

    x = np.array([Fraction(255, 2) - Fraction(1, 2**90), Fraction(300)], dtype=object)
    assert quantize(x[0], True, 100, 90, "nearest", "saturate")[0] * lsb(90) == x[0]
    assert quantize(x[0], True, 8, 0, "nearest", "saturate") == (127, False, False)
    check = fx.tool.verify(fn, [x], T)
    assert check["z"].overflows == 1
    assert check["z"].first_overflow == 1


def test_verify_first_underflow_below_double_range():
    """Regression (s12 review, fixed): verify's first_underflow tests `values != 0` on the
    float64 view of the arriving fi; a nonzero value below the double range (2**-1100 in
    sfix16_En1110) reads as 0.0, so first_underflow is None although the cast counted 1
    underflow
    """
    T = fx.TypeTable({"x": "sfix16_En1110", "z": "sfix8_En4"})

    def fn(x, T):
        return T.z(T.x(x))

    check = fx.tool.verify(fn, [np.array([Fraction(1, 2**1100), Fraction(0)], dtype=object)],
                           T)
    assert check["z"].underflows == 1
    assert check["z"].first_underflow == 0


# ---------------------------------------------------------------------------------------------
# 5. bad arguments
# ---------------------------------------------------------------------------------------------

def _recording():
    T = fx.TypeTable({"a": "double", "b": "double"})
    return _record_two([1.0, -2.0], T)


BAD = [
    ("numerictype W=0", lambda: fx.numerictype(True, 0, 0), ValueError, ["word_length", "0"]),
    ("numerictype W=65536", lambda: fx.numerictype(False, 65536, 3), ValueError,
     ["word_length", "65536"]),
    ("fi W=65536", lambda: fx.fi(1.0, 1, 65536, 0), ValueError, ["word_length", "65536"]),
    ("table entry W=0", lambda: fx.TypeTable({"acc": "sfix0_En3"}), ValueError,
     ["acc", "word_length", "0"]),
    ("table entry W=65536", lambda: fx.TypeTable({"acc": {"type": "ufix65536"}}), ValueError,
     ["acc", "word_length", "65536"]),
    ("propose W=0", lambda: fx.tool.propose(_recording(), word_length=0), ValueError,
     ["word_length", "0"]),
    ("propose W=65536", lambda: fx.tool.propose(_recording(), word_length=65536), ValueError,
     ["word_length", "65536"]),
    ("propose override W=0",
     lambda: fx.tool.propose(_recording(), overrides={"a": {"word_length": 0}}), ValueError,
     ["word_length", "0"]),
    ("numerictype F=2.5", lambda: fx.numerictype(True, 16, 2.5), ValueError,
     ["fraction_length", "2.5"]),
    ("numerictype F=Fraction", lambda: fx.numerictype(True, 100, Fraction(7, 2)), ValueError,
     ["fraction_length", "Fraction(7, 2)"]),
    ("fi F=1.5", lambda: fx.fi(1.0, 1, 200, 1.5), ValueError, ["fraction_length", "1.5"]),
    ("table entry F=0.5", lambda: fx.TypeTable({"x": fx.numerictype(True, 8, 0.5)}),
     ValueError, ["fraction_length", "0.5"]),
    ("propose F=1.5", lambda: fx.tool.propose(_recording(), fraction_length=1.5), ValueError,
     ["fraction_length", "1.5"]),
    ("propose override F=1.5",
     lambda: fx.tool.propose(_recording(), overrides={"a": {"fraction_length": 1.5}}),
     ValueError, ["fraction_length", "1.5"]),
    ("entry rounding", lambda: fx.TypeTable({"acc": {"type": "sfix100_En90",
                                                     "rounding": "nearst"}}),
     ValueError, ["acc", "rounding", "'nearst'", "nearest"]),
    ("table rounding", lambda: fx.TypeTable({"x": "sfix8"}, rounding="bankers"), ValueError,
     ["rounding", "'bankers'"]),
    ("fimath rounding", lambda: fx.fimath(rounding="round_half_even"), ValueError,
     ["rounding", "'round_half_even'"]),
    ("cast rounding", lambda: fx.fi(1.0, 1, 128, 100).cast("sfix65_En60", rounding="up"),
     ValueError, ["rounding", "'up'"]),
    ("entry overflow", lambda: fx.TypeTable({"acc": {"type": "sfix8", "overflow": "clip"}}),
     ValueError, ["acc", "overflow", "'clip'"]),
    ("rounding not a name", lambda: fx.TypeTable({"x": {"type": "sfix8", "rounding": 3}}),
     TypeError, ["rounding", "3"]),
    ("wrap_sm unsigned", lambda: fx.TypeTable({"x": {"type": "ufix100_En3",
                                                     "overflow": "wrap_sm"}}).x([1.0, 2.0]),
     ValueError, ["wrap_sm", "ufix100_En3", "signed"]),
]


@pytest.mark.parametrize("label,call,exc,needles", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_give_clear_errors(label, call, exc, needles):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, (label, msg)


def test_word_length_limits_are_inclusive():
    """1 and 65535 bits are valid, end to end through a recorded cast."""
    T = fx.TypeTable({"a": "ufix1", "b": fx.numerictype(True, 65535, 65000)},
                     rounding="nearest", overflow="saturate")
    with fx.tool.record() as rec:
        ya = T.a(np.array([0.4, 0.6, 2.0]))
        yb = T.b(np.array([1.0, -0.5]))
    assert stored(ya) == [0, 1, 1]
    assert stored(yb) == [1 << 65000, -(1 << 64999)]
    assert (rec["a"].overflows, rec["a"].underflows) == (1, 1)
    assert (rec["b"].overflows, rec["b"].underflows) == (0, 0)
