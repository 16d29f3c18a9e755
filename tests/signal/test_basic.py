"""Small blocks (Gain, Sum, Product, Delay, Saturation, Convert, Downsample, Upsample): fixed
mode against exact per-sample Python-int/Fraction references in every rounding and overflow
mode with random frame splits, double mode against numpy, probes, and interval bounds."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim.signal import (
    Convert,
    Delay,
    Downsample,
    Gain,
    Product,
    Saturation,
    Sum,
    Upsample,
)

from .._core import reference as ref


# -- helpers --------------------------------------------------------------------------------------
def tup(T: numerictype) -> tuple[bool, int, int]:
    return (T.signed, T.word_length, T.fraction_length)


def val(v: int, T: numerictype) -> Fraction:
    return Fraction(v) / Fraction(2) ** T.fraction_length


def q(value: Fraction, T: numerictype, rounding: str, overflow: str) -> int:
    return ref.quantize(value, tup(T), rounding, overflow)


def exact_stored(value: Fraction, T: numerictype) -> int:
    n = value * Fraction(2) ** T.fraction_length
    assert n.denominator == 1
    assert T.int_min <= n.numerator <= T.int_max
    return n.numerator


def make(ints, T: numerictype) -> fi:
    wide = T.word_length > 63
    return fi.from_int(np.array([int(v) for v in ints], dtype=object if wide else np.int64), T)


def bounds_of(n: int, cuts) -> list[tuple[int, int]]:
    pts = sorted({c for c in cuts if 0 < c < n})
    edges = [0, *pts, n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def run_split(block, xs: list[fi], cuts) -> fi:
    """Feed the inputs in frames split at *cuts*; the stored outputs concatenated."""
    n = len(xs[0])
    outs = [block(*[x[a:b] for x in xs]) for a, b in bounds_of(n, cuts)]
    T = outs[0].numerictype
    assert all(o.numerictype == T for o in outs)
    return fi.from_int(np.concatenate([np.asarray(o.int, dtype=object) for o in outs]), T)


def ints_list(a: fi) -> list[int]:
    return [int(v) for v in np.ravel(a.int)]


# -- strategies -----------------------------------------------------------------------------------
@st.composite
def ntypes(draw, wmin=2, wmax=16, signed=None, fmin=-3, fextra=3):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(wmin, wmax))
    f = draw(st.integers(fmin, w + fextra))
    return numerictype(s, w, f)


@st.composite
def ints_of(draw, T: numerictype, n: int):
    edge = st.sampled_from([T.int_min, T.int_max, 0, min(T.int_min + 1, T.int_max)])
    return draw(st.lists(st.one_of(edge, st.integers(T.int_min, T.int_max)), min_size=n,
                         max_size=n))


@st.composite
def modes(draw):
    overflow = draw(st.sampled_from(ref.OVERFLOWS))
    rounding = draw(st.sampled_from(ref.ROUNDINGS))
    return rounding, overflow, (True if overflow == "wrap_sm" else None)


def opt(draw, strat):
    return draw(st.one_of(st.none(), strat))


# -- Gain -----------------------------------------------------------------------------------------
@given(st.data())
def test_gain_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Tx = draw(ntypes(signed=signed))
    Tg = draw(ntypes(signed=signed))
    Y = opt(draw, ntypes(2, 24, signed=signed))
    gain = draw(st.floats(-8, 8, allow_nan=False, width=32))
    n = draw(st.integers(0, 25))
    x = draw(ints_of(Tx, n))
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    blk = Gain(gain, name="g", gain_type=Tg, output_type=Y, rounding=rounding,
               overflow=overflow)
    gq = q(ref.exact(gain), Tg, rounding, overflow)
    assert ints_list(blk.quantized_gain) == [gq]
    y = run_split(blk, [make(x, Tx)], cuts)
    if Y is None:  # full precision: the exact product, in W = Wx + Wg, F = Fx + Fg
        Yt = numerictype(Tx.signed or Tg.signed, Tx.word_length + Tg.word_length,
                         Tx.fraction_length + Tg.fraction_length)
        expect = [exact_stored(val(v, Tx) * val(gq, Tg), Yt) for v in x]
    else:
        Yt = Y
        expect = [q(val(v, Tx) * val(gq, Tg), Y, rounding, overflow) for v in x]
    assert y.numerictype == Yt
    assert ints_list(y) == expect


@given(st.floats(-100, 100, allow_nan=False), st.sampled_from(ref.ROUNDINGS))
def test_gain_default_parameter_type_is_matlab_best_precision(gain, rounding):
    blk = Gain(gain, name="g", rounding=rounding)
    f = ref.best_fraction_length([ref.exact(gain)], True, 16)
    Tg = numerictype(True, 16, f)
    assert blk.quantized_gain.numerictype == Tg
    assert ints_list(blk.quantized_gain) == [q(ref.exact(gain), Tg, rounding, "saturate")]


def test_gain_double_mode_is_float_product():
    x = np.random.default_rng(1).normal(size=100)
    blk = Gain(0.3, name="g")
    np.testing.assert_array_equal(blk(x), 0.3 * x)


# -- Sum ------------------------------------------------------------------------------------------
def sum_rule(tins, signs) -> numerictype:
    """The documented full-precision accumulator of Sum, written out."""
    F = max(T.fraction_length for T in tins)
    signed = any(T.signed for T in tins)
    mag = max(T.word_length - T.fraction_length - (1 if T.signed else 0) for T in tins)
    W = mag + F + (1 if signed else 0) + math.ceil(math.log2(len(tins)))
    if "-" in signs and not signed:
        signed, W = True, W + 1
    lo = sum((-T.int_max if s == "-" else T.int_min) * 2 ** (F - T.fraction_length)
             for T, s in zip(tins, signs, strict=True))
    hi = sum((-T.int_min if s == "-" else T.int_max) * 2 ** (F - T.fraction_length)
             for T, s in zip(tins, signs, strict=True))
    while True:
        T = numerictype(signed, W, F)
        if T.int_min <= lo and hi <= T.int_max:
            return T
        W += 1


@given(st.data())
def test_sum_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    signs = draw(st.text(alphabet="+-", min_size=1, max_size=4))
    k = len(signs)
    tins = [draw(ntypes(signed=signed)) for _ in range(k)]
    A = opt(draw, ntypes(2, 24, signed=signed))
    Y = opt(draw, ntypes(2, 24, signed=signed))
    n = draw(st.integers(0, 20))
    xs = [draw(ints_of(T, n)) for T in tins]
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    blk = Sum(signs, name="s", acc_type=A, output_type=Y, rounding=rounding, overflow=overflow)
    y = run_split(blk, [make(x, T) for x, T in zip(xs, tins, strict=True)], cuts)
    At = A if A is not None else sum_rule(tins, signs)
    Yt = Y if Y is not None else At
    assert y.numerictype == Yt

    def cast_acc(v: Fraction) -> int:
        return exact_stored(v, At) if A is None else q(v, At, rounding, overflow)

    # Simulink's Sum: the first '+' input starts the accumulator (0 when there is none); every
    # input is cast into the accumulator type before it is added or subtracted
    plus = [j for j, c in enumerate(signs) if c == "+"]
    order = ([plus[0]] + [j for j in range(k) if j != plus[0]]) if plus else list(range(k))
    expect = []
    for i in range(n):
        acc = None if plus else 0
        for j in order:
            t = cast_acc(val(xs[j][i], tins[j]))
            if acc is None:
                acc = t
                continue
            term = val(t, At) if signs[j] == "+" else -val(t, At)
            acc = cast_acc(val(acc, At) + term)
        expect.append(acc if Y is None else q(val(acc, At), Yt, rounding, overflow))
        if A is None and Y is None:  # full precision is exact
            exact = sum(val(xs[j][i], tins[j]) * (1 if signs[j] == "+" else -1)
                        for j in range(k))
            assert val(acc, At) == exact
    assert ints_list(y) == expect


def test_sum_double_mode():
    rng = np.random.default_rng(2)
    a, b, c = rng.normal(size=(3, 50))
    np.testing.assert_array_equal(Sum("+-+", name="s")(a, b, c), a - b + c)
    np.testing.assert_array_equal(Sum("-", name="n")(a), -a)


# -- Product --------------------------------------------------------------------------------------
@given(st.data())
def test_product_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    ops = draw(st.text(alphabet="*/", min_size=1, max_size=3))
    tins = [draw(ntypes(2, 12, signed=signed)) for _ in ops]
    Y = draw(ntypes(2, 30, signed=signed)) if "/" in ops else opt(draw, ntypes(2, 30,
                                                                               signed=signed))
    n = draw(st.integers(0, 15))
    xs = []
    for op, T in zip(ops, tins, strict=True):
        x = draw(ints_of(T, n))
        if op == "/":
            x = [v if v != 0 else (1 if T.int_max >= 1 else -1) for v in x]
        xs.append(x)
    cuts = draw(st.lists(st.integers(0, n), max_size=3))
    blk = Product(ops, name="p", output_type=Y, rounding=rounding, overflow=overflow)
    y = run_split(blk, [make(x, T) for x, T in zip(xs, tins, strict=True)], cuts)
    if Y is None:
        Yt = numerictype(any(T.signed for T in tins), sum(T.word_length for T in tins),
                         sum(T.fraction_length for T in tins))
    else:
        Yt = Y
    assert y.numerictype == Yt
    expect = []
    for i in range(n):
        v = Fraction(1)
        for x, T, op in zip(xs, tins, ops, strict=True):
            v = v * val(x[i], T) if op == "*" else v / val(x[i], T)
        expect.append(exact_stored(v, Yt) if Y is None else q(v, Yt, rounding, overflow))
    assert ints_list(y) == expect


def test_product_errors_and_double():
    with pytest.raises(ValueError, match="output_type"):
        Product("*/", name="p")(fi([1.0], 1, 8, 4), fi([1.0], 1, 8, 4))
    p = Product("*/", name="p", output_type="sfix16_En8")
    with pytest.raises(ZeroDivisionError, match="sample 1"):
        p(fi([1.0, 1.0], 1, 8, 4), fi([1.0, 0.0], 1, 8, 4))
    a = np.array([1.0, 2.0, -3.0])
    b = np.array([0.5, 4.0, 2.0])
    np.testing.assert_array_equal(Product("*/", name="q")(a, b), a / b)
    np.testing.assert_array_equal(Product("/", name="r")(b), 1 / b)
    with pytest.raises(ValueError, match="ops"):
        Product("*+", name="p")


# -- Delay ----------------------------------------------------------------------------------------
@given(st.data())
def test_delay_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Tx = draw(ntypes(signed=signed))
    D = draw(st.integers(0, 5))
    init = draw(st.lists(st.floats(-300, 300, allow_nan=False), min_size=D, max_size=D))
    n = draw(st.integers(0, 25))
    x = draw(ints_of(Tx, n))
    cuts = draw(st.lists(st.integers(0, n), max_size=5))
    Y = opt(draw, ntypes(signed=signed))
    blk = Delay(D, initial=init if D else 0.0, name="d", output_type=Y, rounding=rounding,
                overflow=overflow)
    y = run_split(blk, [make(x, Tx)], cuts)
    stream = [q(ref.exact(v), Tx, rounding, overflow) for v in init] + x
    if Y is None:
        assert y.numerictype == Tx
        assert ints_list(y) == stream[:n]
    else:
        assert y.numerictype == Y
        assert ints_list(y) == [q(val(v, Tx), Y, rounding, overflow) for v in stream[:n]]


def test_delay_double_streams_and_resets():
    x = np.arange(10.0)
    d = Delay(3, initial=[7.0, 8.0, 9.0], name="d")
    y = np.concatenate([d(x[:2]), d(x[2:3]), d(x[3:])])
    np.testing.assert_array_equal(y, [7, 8, 9, 0, 1, 2, 3, 4, 5, 6])
    d.reset()
    np.testing.assert_array_equal(d(x[:4]), [7, 8, 9, 0])
    with pytest.raises(ValueError, match="fixed"):
        d(fi([1.0], 1, 8, 4))  # running in double mode


# -- Saturation and Convert -----------------------------------------------------------------------
@given(st.data())
def test_saturation_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Tx = draw(ntypes(signed=signed))
    Y = opt(draw, ntypes(2, 20, signed=signed))
    a = draw(st.floats(-50, 50, allow_nan=False))
    b = draw(st.floats(-50, 50, allow_nan=False))
    lower, upper = min(a, b), max(a, b)
    n = draw(st.integers(0, 20))
    x = draw(ints_of(Tx, n))
    blk = Saturation(lower, upper, name="sat", output_type=Y, rounding=rounding,
                     overflow=overflow)
    lo = q(ref.exact(lower), Tx, "ceil", "saturate")
    hi = q(ref.exact(upper), Tx, "floor", "saturate")
    if lo > hi or val(lo, Tx) < ref.exact(lower) or val(hi, Tx) > ref.exact(upper):
        with pytest.raises(ValueError, match="no value of the input type"):
            blk(make(x, Tx))
        return
    y = blk(make(x, Tx))
    clamped = [min(max(v, lo), hi) for v in x]
    if Y is None:
        assert y.numerictype == Tx
        assert ints_list(y) == clamped
    else:
        assert ints_list(y) == [q(val(v, Tx), Y, rounding, overflow) for v in clamped]
    assert all(lower <= v <= upper for v in y.data) or Y is not None


@given(st.data())
def test_convert_fixed_matches_reference(data):
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Tx = draw(ntypes(signed=signed))
    Y = draw(ntypes(2, 20, signed=signed))
    x = draw(ints_of(Tx, draw(st.integers(0, 20))))
    y = Convert(Y, name="c", rounding=rounding, overflow=overflow)(make(x, Tx))
    assert y.numerictype == Y
    assert ints_list(y) == [q(val(v, Tx), Y, rounding, overflow) for v in x]


def test_saturation_and_convert_double():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(Saturation(-1, 2, name="s")(x), np.clip(x, -1, 2))
    np.testing.assert_array_equal(Convert("sfix8_En4", name="c")(x), x)
    no_type = Convert(name="c2")
    a = fi([0.5, -1.25], 1, 8, 4)
    fx.testing.assert_fi_identical(no_type(a), a)


# -- rate changes ---------------------------------------------------------------------------------
@given(st.integers(1, 5), st.data())
def test_downsample_keeps_stream_phase(M, data):
    phase = data.draw(st.integers(0, M - 1))
    n = data.draw(st.integers(0, 40))
    cuts = data.draw(st.lists(st.integers(0, n), max_size=6))
    T = numerictype(True, 12, 3)
    x = [i - n // 2 for i in range(n)]
    blk = Downsample(M, phase=phase, name="ds")
    y = run_split(blk, [make(x, T)], cuts)
    assert ints_list(y) == x[phase::M]
    Y = numerictype(True, 6, 1)  # fewer bits: a cast (nearest, saturate)
    yc = run_split(Downsample(M, phase=phase, name="ds", output_type=Y), [make(x, T)], cuts)
    assert ints_list(yc) == [q(val(v, T), Y, "nearest", "saturate") for v in x[phase::M]]
    blk.reset()
    xd = np.array(x, dtype=float)
    parts = [blk(xd[a:b]) for a, b in bounds_of(n, cuts)]
    np.testing.assert_array_equal(np.concatenate([np.zeros(0), *parts]), xd[phase::M])


@given(st.integers(1, 4), st.data())
def test_upsample_inserts_zeros(L, data):
    phase = data.draw(st.integers(0, L - 1))
    n = data.draw(st.integers(0, 20))
    cuts = data.draw(st.lists(st.integers(0, n), max_size=4))
    T = numerictype(False, 8, 2)
    x = [data.draw(st.integers(0, 255)) for _ in range(n)]
    blk = Upsample(L, phase=phase, name="us")
    y = run_split(blk, [make(x, T)], cuts)
    expect = [0] * (n * L)
    expect[phase::L] = x
    assert ints_list(y) == expect
    assert y.numerictype == T


# -- probes ---------------------------------------------------------------------------------------
def test_probes_record_names_values_and_overflow_counts():
    Tx = numerictype(True, 8, 4)
    x = [-128, -20, 0, 16, 127]
    blk = Gain(1.5, name="g", gain_type="sfix8_En6", output_type="sfix6_En4")
    with fx.tool.record() as rec:
        blk(make(x, Tx))
    gq = q(Fraction(3, 2), numerictype(True, 8, 6), "nearest", "saturate")
    counted = [ref.quantize_counted(val(v, Tx) * val(gq, numerictype(True, 8, 6)),
                                    (True, 6, 4), "nearest", "saturate") for v in x]
    assert rec.names == ["g.gain", "g.out"]
    assert rec["g.out"].overflows == sum(c[1] for c in counted)
    assert rec["g.out"].min == float(val(-128, Tx) * Fraction(3, 2))  # the value before the cast
    blk.reset()
    with fx.tool.record() as rec2:
        blk(np.array([0.25, -2.0]))
    assert rec2["g.out"].max == 0.375 and rec2["g.out"].min == -3.0


def test_type_table_entries_and_double_table():
    T = fx.TypeTable({"s.acc": "sfix10_En4", "s.out": "sfix6_En2"})
    blk = Sum("++", name="s", types=T)
    a, b = fi([1.0, 3.5], 1, 8, 4), fi([0.5, 1.0], 1, 8, 4)
    y = blk(a, b)
    assert y.numerictype == numerictype(True, 6, 2)
    assert blk.signal_types("sfix8_En4", "sfix8_En4") == {
        "s.acc": numerictype(True, 10, 4), "s.out": numerictype(True, 6, 2)}
    # explicit arguments win over the table
    assert Sum("++", name="s", types=T, output_type="sfix12_En4").output_type(
        "sfix8_En4", "sfix8_En4") == numerictype(True, 12, 4)
    d = Sum("++", name="s", types=T.as_double())
    out = d(a, b)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, a.data + b.data)


# -- intervals ------------------------------------------------------------------------------------
def collect_ranges(fn):
    seen = {}

    def listen(ev):
        a, b = seen.get(ev.name, (ev.lo, ev.hi))
        seen[ev.name] = (min(a, ev.lo), max(b, ev.hi))

    with range_listening(listen):
        out = fn()
    return out, seen


def test_interval_bounds_are_exact_where_they_can_be():
    out, seen = collect_ranges(lambda: Sum("+-", name="s")(Interval([-1.0], [1.0]),
                                                          Interval([0.0], [2.0])))
    assert (out.lo[0], out.hi[0]) == (-3.0, 1.0)
    assert seen["s.out"] == (-3.0, 1.0)
    out, seen = collect_ranges(lambda: Gain(0.5, name="g")(Interval([-4.0], [4.0])))
    assert (out.lo[0], out.hi[0]) == (-2.0, 2.0)  # exact: no outward step
    # typed intervals (what derive passes under a fixed table): the fixed run
    T = fx.TypeTable({"a": "sfix16_En8", "b": "sfix16_En8"})
    out, seen = collect_ranges(lambda: Product("*/", name="p", output_type="sfix16_En8")(
        T.a(Interval([1.0], [2.0])), T.b(Interval([-1.0], [1.0]))))
    assert seen["p.out"] == (-math.inf, math.inf)  # the quotient itself is unbounded
    # ... and the saturating cast into the output type bounds what leaves the block
    assert (out.lo[0], out.hi[0]) == (-128.0, 128.0 - 2 ** -8)
    # untyped intervals may stand for a double run, which does not cast: unbounded
    out, _ = collect_ranges(lambda: Product("*/", name="p", output_type="sfix16_En8")(
        Interval([1.0], [2.0]), Interval([-1.0], [1.0])))
    assert (out.lo[0], out.hi[0]) == (-math.inf, math.inf)
    out, seen = collect_ranges(lambda: Saturation(-1, 0.5, name="sat")(Interval([-3.0],
                                                                                [3.0])))
    assert seen["sat.out"] == (-1.0, 0.5)
    out, _ = collect_ranges(lambda: Upsample(2, name="u")(Interval([1.0], [2.0])))
    assert list(out.lo) == [1.0, 0.0] and list(out.hi) == [2.0, 0.0]


@given(st.data())
def test_interval_output_contains_every_simulated_value(data):
    draw = data.draw
    kind = draw(st.sampled_from(["gain", "sum", "product", "quotient", "delay", "saturation"]))
    lo = draw(st.floats(-100, 100, allow_nan=False))
    width_ = draw(st.floats(0, 100, allow_nan=False))
    hi = lo + width_
    blocks = {
        "gain": lambda: Gain(draw(st.floats(-10, 10, allow_nan=False)), name="b"),
        "sum": lambda: Sum("+-", name="b"),
        "product": lambda: Product("**", name="b"),
        "quotient": lambda: Product("*/", name="b", output_type="sfix32_En8"),
        "delay": lambda: Delay(2, initial=draw(st.floats(-5, 5, allow_nan=False)), name="b"),
        "saturation": lambda: Saturation(-1, 3, name="b"),
    }
    blk = blocks[kind]()
    k = blk.n_inputs
    out, seen = collect_ranges(lambda: blk(*[Interval([lo] * 4, [hi] * 4)] * k))
    samples = [np.array(draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=4,
                                      max_size=4))) for _ in range(k)]
    if kind == "quotient" and lo <= 0 <= hi:
        assert seen["b.out"] == (-math.inf, math.inf)
        return
    blk.reset()
    y = blk(*samples)
    if kind != "quotient":  # (the quotient's interval is after its saturating output cast,
        assert np.all(out.lo <= y) and np.all(y <= out.hi)  # which double mode does not do)
    assert seen["b.out"][0] <= y.min() and y.max() <= seen["b.out"][1]
    # (the double run uses the unquantized gain)
    wc = (blk.worst_case_output_range(lo, hi, quantized=False) if kind == "gain"
          else blk.worst_case_output_range(lo, hi))
    assert wc[0] <= y.min() and y.max() <= wc[1]


# -- errors ---------------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(ValueError, match="signs"):
        Sum("+*", name="s")
    with pytest.raises(ValueError, match="name"):
        Gain(1.0, name="a.b")
    with pytest.raises(TypeError, match="expected 2 input"):
        Sum("++", name="s")(fi([1.0], 1, 8, 4))
    with pytest.raises(ValueError, match="mix fi and float"):
        Sum("++", name="s")(fi([1.0], 1, 8, 4), np.array([1.0]))
    with pytest.raises(ValueError, match="equal lengths"):
        Sum("++", name="s")(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="delay must be an int"):
        Delay(-1, name="d")
    with pytest.raises(ValueError, match="phase"):
        Downsample(3, phase=3, name="d")
    with pytest.raises(ValueError, match="lower <= upper"):
        Saturation(2, 1, name="s")
    with pytest.raises(ValueError, match="gain must be one finite number"):
        Gain(float("nan"), name="g")
    with pytest.raises(ValueError, match="wrap_sm"):
        Gain(0.5, name="g", output_type="ufix8_En4", overflow="wrap_sm")(fi([1.0], 1, 8, 4))
    with pytest.raises(TypeError, match="TypeTable"):
        Gain(0.5, name="g", types={"g.out": "sfix8_En4"})


# -- wide words (Python-int paths) ----------------------------------------------------------------
@given(st.data())
def test_wide_words_are_exact(data):
    """Types past 64 bits take the Python-int paths: still exact, never wrong bits."""
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Ta = draw(ntypes(40, 90, signed=signed, fmin=-5, fextra=10))
    Tb = draw(ntypes(40, 90, signed=signed, fmin=-5, fextra=10))
    Y = draw(ntypes(30, 100, signed=signed, fmin=-5, fextra=10))
    n = draw(st.integers(0, 8))
    a, b = draw(ints_of(Ta, n)), draw(ints_of(Tb, n))
    xa, xb = make(a, Ta), make(b, Tb)
    s = Sum("+-", name="s", output_type=Y, rounding=rounding, overflow=overflow)(xa, xb)
    assert ints_list(s) == [q(val(u, Ta) - val(v, Tb), Y, rounding, overflow)
                            for u, v in zip(a, b, strict=True)]
    p = Product("**", name="p", output_type=Y, rounding=rounding, overflow=overflow)(xa, xb)
    assert ints_list(p) == [q(val(u, Ta) * val(v, Tb), Y, rounding, overflow)
                            for u, v in zip(a, b, strict=True)]
    c = Convert(Y, name="c", rounding=rounding, overflow=overflow)(xa)
    assert ints_list(c) == [q(val(u, Ta), Y, rounding, overflow) for u in a]
    d = Delay(1, name="d")(xa)
    assert ints_list(d) == ([0] + a)[:n]
    g = Gain(-1.25, name="g", gain_type="sfix8_En4", output_type=Y, rounding=rounding,
             overflow=overflow)(xa)
    assert ints_list(g) == [q(val(u, Ta) * Fraction(-5, 4), Y, rounding, overflow) for u in a]


@given(st.data())
def test_interval_after_a_cast_holds_every_fixed_output(data):
    """The interval a block returns holds its fixed-point output after the output cast (any
    rounding; saturation, sat_zero, sat_sym and wrapping included)."""
    draw = data.draw
    rounding, overflow, signed = draw(modes())
    Tx = draw(ntypes(4, 14, signed=True))
    Y = draw(ntypes(2, 10, signed=True))
    kind = draw(st.sampled_from(["convert", "gain", "sum"]))
    blk = {"convert": lambda: Convert(Y, name="b", rounding=rounding, overflow=overflow),
           "gain": lambda: Gain(0.7, name="b", output_type=Y, rounding=rounding,
                                overflow=overflow),
           "sum": lambda: Sum("+-", name="b", acc_type=Y, rounding=rounding,
                              overflow=overflow)}[kind]()
    a, b = sorted(draw(ints_of(Tx, 2)))
    lo, hi = float(val(a, Tx)), float(val(b, Tx))
    k = blk.n_inputs
    out = blk(*[Interval([lo], [hi])] * k)
    blk.reset()
    xs = [make(draw(st.lists(st.integers(a, b), min_size=6, max_size=6)), Tx) for _ in range(k)]
    y = blk(*xs).data
    assert np.all(out.lo[0] <= y) and np.all(y <= out.hi[0]), (out, y)


def test_quotient_worst_case_beyond_float_range_is_infinite():
    """Regression: Product('*/').worst_case_output_range raised OverflowError when the exact
    bound (here 31 / 1.7e-307) exceeds the float range; it must report an infinite bound."""
    blk = Product("*/", name="b", output_type="sfix32_En8")
    lo, hi = blk.worst_case_output_range([1.0, 1.722443152410009e-307], [31.0, 31.0])
    assert hi == math.inf and lo == 1.0 / 31.0
