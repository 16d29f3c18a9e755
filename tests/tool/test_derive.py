"""fx.tool.derive: derived ranges are never violated, and equal the analytic worst case
where one is known.

The property tests build random algorithms from the operations Interval supports, derive
their ranges on random design ranges, then run the same algorithm on many concrete inputs
inside those ranges: in float64 (with inputs and constants chosen so that every float
operation is exact, so the simulation *is* the real result), in fixed point through a
TypeTable (the casts quantize, saturate or wrap, and so do some fi operations: ``-x`` at the
most negative value, divisions, subscripted assignment; derive runs with the same table and
follows fi), and in exact rationals (Fractions, with non-dyadic constants and
divisions). Every simulated value of every named signal must lie in its derived range.
"""

from __future__ import annotations

import json
import math
import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim._core._interval import report_range
from fixsim.tool import DerivedRange, DerivedRanges, Interval, derive

N = 8  # signal length of the random programs (even: the reshape/transpose step)


# == random programs ===============================================================================
KINDS = ["add", "sub", "mul", "scale", "neg", "abs", "max", "min", "clip", "where", "conv",
         "matmul", "cumsum", "sumadd", "square", "rev", "concat", "stacksum", "reshapeT",
         "setitem", "div2", "divc", "divv"]
STEP = st.tuples(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 50),
                 st.integers(0, 50))


def resolve(prog, mode: str):
    """Bind operand indices and keep every float64 simulation exact in 'float' mode (the
    fraction and integer bits of each value stay within 50; steps that would break that
    become negations)."""
    bits = [(6, 3)]  # (fraction bits, integer bits) of the input
    out = []
    for kind, i, j, c in prog:
        i, j = i % len(bits), j % len(bits)
        (fi_, ii), (fj, ij) = bits[i], bits[j]
        new = {
            "add": (max(fi_, fj), max(ii, ij) + 1), "sub": (max(fi_, fj), max(ii, ij) + 1),
            "mul": (fi_ + fj, ii + ij), "scale": (fi_ + 4, ii + 1), "neg": (fi_, ii),
            "abs": (fi_, ii), "max": (max(fi_, fj), max(ii, ij)),
            "min": (max(fi_, fj), max(ii, ij)), "clip": (max(fi_, 4), ii),
            "where": (max(fi_, fj), max(ii, ij)), "conv": (fi_ + 4, ii + 3),
            "matmul": (fi_ + 4, ii + 4), "cumsum": (fi_, ii + 3), "sumadd": (max(fi_, fj),
                                                                            max(ii + 3, ij) + 1),
            "square": (2 * fi_, 2 * ii), "rev": (fi_, ii), "concat": (max(fi_, fj), max(ii, ij)),
            "stacksum": (max(fi_, fj), max(ii, ij) + 1), "reshapeT": (fi_, ii),
            "setitem": (max(fi_, fj), max(ii, ij)), "div2": (fi_ + 3, ii),
            "divc": (60, ii), "divv": (60, ii),
        }[kind]
        if mode == "float" and (kind in ("divc", "divv") or sum(new) > 50):
            kind, new = "neg", (fi_, ii)
        bits.append(new)
        out.append((kind, i, j, c))
    return out


class Consts:
    """The constants of one program, as the mode's numbers (float, fi or Fraction)."""

    def __init__(self, seed: int, mode: str, dyadic: bool = True):
        rng = np.random.default_rng(seed)
        if dyadic:
            self.raw = rng.integers(-32, 33, 64) / 16  # sixteenths in [-2, 2]
        else:
            self.raw = rng.uniform(-2, 2, 64)  # arbitrary floats
        self.mode = mode

    def _conv(self, v):
        if self.mode == "fixed":
            return fx.fi(v, 1, 8, 4)
        if self.mode == "fraction":
            return np.vectorize(Fraction, otypes=[object])(v) if np.ndim(v) else Fraction(v)
        return v

    def scalar(self, c):
        return self._conv(float(self.raw[c % 64]))

    def taps(self, c):
        return self._conv(np.array([self.raw[(c + k) % 64] for k in range(3)]))

    def matrix(self, c):
        return self._conv(np.array([self.raw[(c + k) % 64] for k in range(N * N)])
                          .reshape(N, N))

    def clip(self, c):
        a, b = sorted([float(self.raw[c % 64]), float(self.raw[(c + 1) % 64])])
        if self.mode == "fixed":
            # fi's clip rounds off-grid bounds onto the input's grid (lo up, hi down); whole
            # bounds lie on every grid of these types (fraction lengths >= 0), so the
            # fixed-point clip is the real clip that Interval computes
            a, b = math.floor(a), math.ceil(b)
        return self._conv(a), self._conv(b)

    def nonzero(self, c):
        v = float(self.raw[c % 64])
        return self._conv(v if v != 0 else 1.0)


def program(x, T, prog, K):
    """The algorithm: every step's value is a named signal ``s<k>`` of the type table."""
    vals = [T["x"](x)]
    for k, (kind, i, j, c) in enumerate(prog):
        a, b = vals[i], vals[j]
        h = N // 2
        if kind == "add":
            v = a + b
        elif kind == "sub":
            v = a - b
        elif kind == "mul":
            v = a * b
        elif kind == "scale":
            v = K.scalar(c) * a  # the constant on the left (fi * Interval in fixed mode)
        elif kind == "neg":
            v = -a
        elif kind == "abs":
            v = np.abs(a)
        elif kind == "max":
            v = np.maximum(a, b)
        elif kind == "min":
            v = np.minimum(a, b)
        elif kind == "clip":
            v = np.clip(a, *K.clip(c))
        elif kind == "where":
            v = np.where(a > K.scalar(c), b, a)
        elif kind == "conv":
            v = np.convolve(a, K.taps(c), "same")
        elif kind == "matmul":
            v = K.matrix(c) @ a
        elif kind == "cumsum":
            v = np.cumsum(a)
        elif kind == "sumadd":
            v = b + np.sum(a)
        elif kind == "square":
            v = a * a
        elif kind == "rev":
            v = a[::-1]
        elif kind == "concat":
            v = np.concatenate([a[:h], b[h:]])
        elif kind == "stacksum":
            v = np.sum(np.stack([a, b]), axis=0)
        elif kind == "reshapeT":
            v = a.reshape(2, h).T.reshape(N)
        elif kind == "setitem":
            v = np.zeros_like(a)
            v[1:] = b[:-1]
        elif kind == "div2":
            v = a / 8
        elif kind == "divc":
            v = a / K.nonzero(c)
        elif kind == "divv":
            v = a / (np.abs(b) + 1)
        else:  # pragma: no cover
            raise AssertionError(kind)
        vals.append(T[f"s{k}"](v))
    return vals[-1]


@st.composite
def design_ranges(draw, scale=64):
    a = draw(st.integers(-8 * scale, 8 * scale))
    b = draw(st.integers(-8 * scale, 8 * scale))
    return min(a, b) / scale, max(a, b) / scale


def concrete_inputs(lo, hi, seed, scale=64):
    """Inputs inside [lo, hi] on the design grid: the corners and random points."""
    rng = np.random.default_rng(seed)
    ks = np.arange(round(lo * scale), round(hi * scale) + 1)
    out = [np.full(N, lo), np.full(N, hi), np.where(np.arange(N) % 2, lo, hi)]
    out += [rng.choice(ks, N) / scale for _ in range(9)]
    return out


def double_table(n_steps):
    return fx.TypeTable({"x": "double", **{f"s{k}": "double" for k in range(n_steps)}})


def assert_recorded_inside(rec, derived: DerivedRanges):
    for name in rec:
        stats, d = rec[name], derived[name]
        assert d.lo <= stats.min and stats.max <= d.hi, (name, d, stats.min, stats.max)


@settings(max_examples=60)
@given(prog=st.lists(STEP, min_size=1, max_size=7), rng=design_ranges(),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_programs_in_float_never_violate_derive(prog, rng, seed):
    prog = resolve(prog, "float")
    K = Consts(seed, "float")
    T = double_table(len(prog))
    derived = derive(program, rng, T, prog, K, shape=N)
    assert set(derived) == {"x", *(f"s{k}" for k in range(len(prog)))}
    assert all(d.bounded for d in derived.values())
    with fx.tool.record() as rec:
        for x in concrete_inputs(*rng, seed):
            out = program(x, T, prog, K)
            assert derived.output.contains(out).all()
    assert_recorded_inside(rec, derived)


ROUNDINGS = ["floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
             "half_zero", "convergent_odd"]


@settings(max_examples=40)
@given(prog=st.lists(STEP, min_size=1, max_size=6), rng=design_ranges(),
       seed=st.integers(0, 2 ** 32 - 1), data=st.data())
def test_random_programs_in_fixed_point_never_violate_derive(prog, rng, seed, data):
    prog = resolve(prog, "fixed")
    K = Consts(seed, "fixed")
    names = ["x"] + [f"s{k}" for k in range(len(prog))]
    entries = {}
    for name in names:
        w = data.draw(st.integers(6, 16))
        entries[name] = {"type": fx.numerictype(True, w, data.draw(st.integers(0, w - 2))),
                         "rounding": data.draw(st.sampled_from(ROUNDINGS)),
                         "overflow": data.draw(st.sampled_from(["saturate", "wrap",
                                                                "sat_sym", "sat_zero"]))}
    T = fx.TypeTable(entries)
    derived = derive(program, rng, T, prog, K, shape=N)
    with fx.tool.record() as rec:
        for x in concrete_inputs(*rng, seed):
            out = program(x, T, prog, K)
            assert isinstance(out, fx.fi)
            assert derived.output.contains(out.data).all()  # the cast output's range too
    assert set(rec) == set(derived)
    assert_recorded_inside(rec, derived)


class ExactTable:
    """A stand-in type table for the exact run: records every signal's exact values."""

    def __init__(self):
        self.values: dict[str, list] = {}

    def __getitem__(self, name):
        def cast(v):
            self.values.setdefault(name, []).extend(np.ravel(np.asarray(v, dtype=object)))
            return v
        return cast


@settings(max_examples=60)
@given(prog=st.lists(STEP, min_size=1, max_size=6), rng=design_ranges(scale=10),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_programs_in_exact_rationals_never_violate_derive(prog, rng, seed):
    prog = resolve(prog, "fraction")
    # derive sees the constants as floats, the exact run as the same values in Fractions
    derived = derive(program, rng, double_table(len(prog)), prog,
                     Consts(seed, "float", dyadic=False), shape=N)
    K = Consts(seed, "fraction", dyadic=False)
    table = ExactTable()
    lo, hi = Fraction(rng[0]), Fraction(rng[1])
    r = np.random.default_rng(seed)
    ts = [np.zeros(N), np.ones(N), np.arange(N) % 2] + [r.random(N) for _ in range(6)]
    for t in ts:
        xs = np.array([lo + (hi - lo) * Fraction(float(u)) for u in t], dtype=object)
        program(xs, table, prog, K)
    for name, values in table.values.items():
        d = derived[name]
        assert d.bounded
        assert Fraction(d.lo) <= min(values) and max(values) <= Fraction(d.hi), name


# == analytic worst cases ============================================================================
def test_fir_bound_is_sum_abs_h_times_max_abs_x():
    h = [0.1, -0.3, 0.2]  # not dyadic: the exact bound is rounded outward to a float
    T = fx.TypeTable({"x": "double", "acc": "double"})

    def fir(x, h, T):
        return T.acc(np.convolve(T.x(x), h))

    d = derive(fir, (-2, 2), T, h, shape=32)
    exact = sum(abs(Fraction(v)) for v in h) * 2  # sum|h| * max|x|
    assert Fraction(d["acc"].hi) >= exact and Fraction(d["acc"].lo) <= -exact
    # and close: a few ulps (one outward rounding per product and per level of the sum)
    assert Fraction(d["acc"].hi) - exact <= 4 * Fraction(math.ulp(1.2))
    assert -exact - Fraction(d["acc"].lo) <= 4 * Fraction(math.ulp(1.2))
    # an asymmetric range: each tap takes the end of [lo, hi] that maximises its term
    d = derive(fir, (-2, 1.5), T, h, shape=32)
    pos = sum(Fraction(v) for v in h if v > 0)
    neg = sum(-Fraction(v) for v in h if v < 0)
    hi, lo = pos * Fraction(3, 2) + neg * 2, -(pos * 2 + neg * Fraction(3, 2))
    assert 0 <= Fraction(d["acc"].hi) - hi <= 4 * Fraction(math.ulp(1.2))
    assert 0 <= lo - Fraction(d["acc"].lo) <= 4 * Fraction(math.ulp(1.2))
    assert (d["x"].lo, d["x"].hi) == (-2.0, 1.5)
    # dyadic taps and a symmetric range: exactly sum|h| * max|x|
    d = derive(fir, (-1, 1), T, [0.5, -0.25, 0.125], shape=32)
    assert (d["acc"].lo, d["acc"].hi) == (-0.875, 0.875)


def test_first_order_feedback_loop_bound_is_the_l1_norm_partial_sum():
    a = 0.5

    def iir(x, T):
        y = np.zeros_like(x)
        acc = 0.0
        for n in range(len(x)):
            acc = T.acc(a * acc + x[n])
            y[n] = acc
        return T.y(y)

    T = fx.TypeTable({"acc": "double", "y": "double"})
    d = derive(iir, (-1, 1), T, shape=10)
    bound = sum(Fraction(1, 2 ** k) for k in range(10))  # sum of |a|^k, k < N
    assert (d["acc"].lo, d["acc"].hi) == (-float(bound), float(bound))
    assert d["acc"].reports == 10  # one report per sample, combined as the hull


class GainBlock:
    """A toy block in the style of fixsim.signal: it bounds its own feedback and reports its
    internal signal when given an Interval."""

    def __init__(self, name, gain):
        self.name, self.gain = name, gain

    def filt(self, x):
        if isinstance(x, Interval):
            m = max(abs(x.lo).max(), abs(x.hi).max()) * self.gain
            report_range(f"{self.name}.acc", -m, m)
            return Interval.full(x.shape, -m, m)
        raise AssertionError("not used with numbers here")


def test_blocks_report_their_own_ranges_and_frames_combine_as_the_hull():
    blk = GainBlock("cic", 8)

    def chain(x, T):
        y1 = blk.filt(x)            # first frame
        y2 = blk.filt(x * 0.25)     # second frame: a smaller range, same signal
        return T.y(y1 + y2)

    d = derive(chain, (-1, 0.5), fx.TypeTable({"y": "double"}), shape=4)
    assert (d["cic.acc"].lo, d["cic.acc"].hi) == (-8.0, 8.0)
    assert d["cic.acc"].reports == 2
    assert (d["y"].lo, d["y"].hi) == (-10.0, 10.0)
    # without a type table: only the block's reports (fn needs no parameter for T then)
    d = derive(lambda x, T: blk.filt(x), (-1, 1), None, shape=4)
    assert list(d) == ["cic.acc"] and d.output.hull() == (-8.0, 8.0)
    d = derive(blk.filt, (-1, 1), shape=4)
    assert list(d) == ["cic.acc"] and d.output.hull() == (-8.0, 8.0)
    with pytest.raises(TypeError, match="no parameter left to receive the type table T"):
        derive(blk.filt, (-1, 1), fx.TypeTable({"y": "double"}), shape=4)


def test_division_by_an_interval_containing_zero_is_reported_unbounded():
    T = fx.TypeTable({"x": "double", "q": "double", "y": "sfix16_En8"})

    def ratio(x, T):
        x = T.x(x)
        q = T.q(1 / x)
        return T.y(q)

    d = derive(ratio, (-1, 1), T, shape=3)
    assert not d["q"].bounded and d.unbounded == ["q", "y"]
    assert "division by an interval containing 0" in d["q"].reason
    assert "[-1.0, 1.0]" in d["q"].reason
    # the saturating cast bounds its output again
    assert d.output.bounded and d.output.hull() == (-128.0, 127.99609375)
    # away from zero it is bounded, exactly
    d = derive(ratio, (0.5, 2), T, shape=3)
    assert (d["q"].lo, d["q"].hi) == (0.5, 2.0) and d["q"].reason is None


def test_unbounded_design_range_carries_a_reason():
    d = derive(lambda x, T: T.x(x * 2), (0, np.inf), fx.TypeTable({"x": "double"}))
    assert not d["x"].bounded and "unbounded" in d["x"].reason


# == inputs and calling conventions ===================================================================
def test_input_forms():
    T = fx.TypeTable({"s": "double"})

    def mix(x, y, T, gain=1.0):
        return T.s(gain * (x + y))

    d = derive(mix, {"x": (-1, 1), "y": (0, 2)}, T, gain=2.0, shape={"x": 3})
    assert (d["s"].lo, d["s"].hi) == (-2.0, 6.0) and d.output.shape == (3,)
    assert d.inputs == {"x": (-1.0, 1.0), "y": (0.0, 2.0)}
    # a single design range named after the input signal rather than fn's parameter
    d = derive(lambda frame, T: T.s(frame * 2), {"x": (-1, 1)}, T, shape={"x": 3})
    assert d["s"].hi == 2.0 and d.output.shape == (3,) and d.inputs == {"x": (-1.0, 1.0)}
    d = derive(lambda frame, T: T.s(frame), (0, 1), T)
    assert d.inputs == {"frame": (0.0, 1.0)}
    # like=: the shape of example arrays; per-element bounds; an Interval; a DerivedRange
    d = derive(lambda x, T: T.s(np.sum(x)), (-1, 1), T, like=np.zeros((2, 3)))
    assert (d["s"].lo, d["s"].hi) == (-6.0, 6.0)
    d = derive(lambda x, T: T.s(x), ([0, -1], [1, 5]), T)
    assert np.array_equal(d.output.lo, [0, -1]) and d["s"].hi == 5.0
    d = derive(lambda x, T: T.s(x), Interval(-3, 4), T, shape=2)
    assert d.output.shape == (2,) and d["s"].lo == -3.0
    d2 = derive(lambda x, T: T.s(2 * x), d["s"], T)
    assert (d2["s"].lo, d2["s"].hi) == (-6.0, 8.0)
    # positional extra arguments after T; T by name where the parameter is called T
    d = derive(lambda x, h, T: T.s(np.convolve(x, h)), (-1, 1), T, [1.0, 1.0], shape=4)
    assert d["s"].hi == 2.0
    # a fi among the extra arguments is the point interval of its values
    d = derive(lambda x, h, T: T.s(np.convolve(h, x)), (-1, 1), T, fx.fi([0.5, 0.25], 1, 8, 6),
               shape=4)
    assert d["s"].hi == 0.75


def test_bad_input_names_the_argument():
    T = fx.TypeTable({"s": "double"})
    f = lambda x, T: T.s(x)  # noqa: E731
    with pytest.raises(ValueError, match=r"lo must be <= hi; got lo=2\.0 > hi=1\.0"):
        derive(f, (2, 1), T)
    with pytest.raises(ValueError, match="NaN"):
        derive(f, (np.nan, 1), T)
    with pytest.raises(TypeError, match=r"expected a \(lo, hi\) pair or an Interval"):
        derive(f, 3.0, T)
    with pytest.raises(TypeError, match="T must be a TypeTable or None"):
        derive(f, (0, 1), {"s": "double"})
    with pytest.raises(TypeError, match="'z', which is not a parameter"):
        derive(f, {"x": (0, 1), "z": (0, 1)}, T)
    with pytest.raises(TypeError, match="give shape or like, not both"):
        derive(f, (0, 1), T, shape=3, like=np.zeros(3))
    with pytest.raises(ValueError, match="empty dict"):
        derive(f, {}, T)
    with pytest.raises(TypeError, match="fn must be callable"):
        derive(3, (0, 1), T)
    with pytest.raises(TypeError, match="numpy.sin is not supported on Interval") as info:
        derive(lambda x, T: np.sin(x), (0, 1), T)
    assert any("fx.tool.derive" in n for n in info.value.__notes__)


# == the result object ==================================================================================
def test_save_load_round_trip_is_exact_and_atomic(tmp_path):
    T = fx.TypeTable({"x": "double", "q": "double"})
    d = derive(lambda x, T: T.q(0.1 / T.x(x)), (-0.3, 0.7), T, shape=2)
    path = tmp_path / "derived.json"
    d.save(path)
    assert sorted(os.listdir(tmp_path)) == ["derived.json"]  # no temporary file left
    back = DerivedRanges.load(path)
    assert back == d
    assert back["q"].reason == d["q"].reason and not back["q"].bounded
    assert np.array_equal(back.output.lo, d.output.lo)
    text = path.read_text()
    assert "Infinity" not in text and json.loads(text)["schema"] == "fixsim.DerivedRanges/1"
    e = derive(lambda x, T: T.x(x / 3), (0.1, 0.2), T)
    back = DerivedRanges.from_json(e.to_json())
    assert back["x"].lo == e["x"].lo and back["x"].hi == e["x"].hi  # bits, not decimals
    with pytest.raises(ValueError, match="unsupported schema"):
        DerivedRanges.from_json('{"schema": "other"}')


def test_merge_is_the_hull():
    T = fx.TypeTable({"x": "double", "y": "double"})
    f = lambda x, T: T.y(2 * T.x(x))  # noqa: E731
    a = derive(f, (-1, 0.5), T, shape=2)
    b = derive(f, (0, 3), T, shape=2)
    m = a.merge(b)
    assert (m["x"].lo, m["x"].hi, m["y"].lo, m["y"].hi) == (-1.0, 3.0, -2.0, 6.0)
    assert m["y"].reports == 2 and m.output.hull() == (-2.0, 6.0)
    assert m.inputs == {"x": (-1.0, 3.0)}
    u = derive(lambda x, T: T.y(1 / x), (-1, 1), T)
    mu = m.merge(u)
    assert not mu["y"].bounded and "division" in mu["y"].reason and mu["x"].bounded
    with pytest.raises(KeyError, match="no derived range for signal 'z'"):
        m["z"]


def test_derived_range_attributes():
    r = DerivedRange("a", -1, 2)
    assert r.bounded and r.reason is None and r.max_abs == 2.0 and r.contains([0, 2, -1])
    assert not r.contains([2.5])
    u = DerivedRange("a", -np.inf, 1)
    assert not u.bounded and u.reason == "unbounded (the reporter gave no reason)"
    with pytest.raises(ValueError, match="lo <= hi"):
        DerivedRange("a", 2, 1)


def test_types_proposed_from_derived_ranges_never_overflow():
    """derive -> propose: inputs anywhere in the design range (here the worst case itself)
    run through the proposed types without a single overflow."""
    h = np.array([0.3, -0.45, 0.2, 0.05])
    T = fx.TypeTable({"x": "sfix16_En15", "acc": "sfix32_En30", "y": "sfix16_En15"})

    def fir(x, T):
        return T.y(T.acc(np.convolve(T.x(x), fx.fi(h, 1, 16, 15))))

    d = derive(fir, (-0.75, 1.5), T.as_double(), shape=64)
    proposal = fx.tool.propose(d, T, word_length=16)
    worst = np.where(np.sign(h)[None, :] > 0, 1.5, -0.75)[0][::-1]  # x[n-k] = best end
    frames = [np.tile(worst, 16), np.tile(-worst, 16) * 0.5,
              np.random.default_rng(0).uniform(-0.75, 1.5, 64)]
    with fx.count_quantization() as c, fx.tool.record() as rec:
        for x in frames:
            fir(x, proposal.types)
    assert c.overflows == 0
    # the worst-case input reaches the derived bound exactly (all values here are floats)
    assert rec["acc"].max == d["acc"].hi
    assert d["acc"].lo <= rec["acc"].min


def test_regression_constant_casts_are_derived():
    """Regression: a named cast of a constant under derive (``T.w(W)``, coefficients) was
    not reported, so a proposal from derived ranges left it 'double'. Its range is its
    values; a block's zero-valued proxy runs report nothing."""
    W = np.array([0.98, -6.0, 0.25])
    T = fx.TypeTable({"x": "double", "w": "double", "y": "double"})

    def fn(x, T):
        return T.y(T.x(x) @ T.w(W))

    d = fx.tool.derive(fn, (-1, 1), T, shape=3)
    assert (d["w"].lo, d["w"].hi) == (-6.0, 0.98)
    assert str(fx.tool.propose(d, T, word_length=8)["w"].proposed) == "sfix8_En4"
    # a fixed table: the values arriving at the cast (the designed ones), as recorded
    Tq = fx.TypeTable({"x": "sfix8_En6", "w": "sfix8_En4", "y": "double"})
    dq = fx.tool.derive(fn, (-1, 1), Tq, shape=3)
    with fx.tool.record() as rec:
        fn(np.ones(3), Tq)
    assert (dq["w"].lo, dq["w"].hi) == (rec["w"].min, rec["w"].max)
    # a network under a fixed table: the zero-valued run that types its output reports no
    # range (its casts of zeros would have widened every range to 0)
    import fixsim.nn as nn
    net = nn.Sequential([nn.Dense(np.array([[0.5], [0.25]]), np.array([0.125]), name="fc")])
    Tn = fx.TypeTable({"input": "ufix8_En8", "fc.weight": "ufix8_En8", "fc.bias": "ufix8_En8",
                       "fc.acc": "ufix10_En8", "fc.out": "ufix10_En8"})
    dn = fx.tool.derive(net, (0.5, 1.0), Tn, shape=(1, 2))
    assert dn["input"].lo == 0.5 and dn["fc.out"].lo == 0.5
