"""Polyphase FIR decimator and interpolator: double mode against scipy.signal.upfirdn, fixed
mode against exact per-sample Python-int references (every rounding and overflow mode, random
frame splits), derived ranges against brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from scipy import signal

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim.signal import FIRDecimator, FIRInterpolator

from .._core import reference as ref


# -- the exact references -----------------------------------------------------------------------
def cast(v: int, f_src: int, T: numerictype, rounding: str, overflow: str) -> int:
    """Stored integer of the exact value ``v * 2**-f_src`` cast into *T*."""
    return ref.quantize(Fraction(v) / Fraction(2) ** f_src,
                        (T.signed, T.word_length, T.fraction_length), rounding, overflow)


def _sum_terms(terms, t, r, o):
    """Products (stored, at their exact fraction) cast to the product type, then to the
    accumulator type; partial sums cast to the accumulator type, in the order given."""
    P, A = t["product"], t["acc"]
    acc = None
    for v, f in terms:
        p = cast(v, f, P, r, o)
        a = cast(p, P.fraction_length, A, r, o)
        acc = a if acc is None else cast(acc + a, A.fraction_length, A, r, o)
    return 0 if acc is None else acc


def decimator_reference(h, x, M, t, r, o, form):
    """y[m] = sum_k h[k] x[mM - k] (direct: taps in order; symmetric forms: pre-added pairs,
    then the middle tap), every cast per sample."""
    Tx, Tc = t["input"], t["coef"]
    nt = len(h)

    def xs(i):
        return x[i] if 0 <= i < len(x) else 0

    out = []
    for i in range(0, len(x), M):
        if form == "direct":
            terms = [(h[k] * xs(i - k), Tx.fraction_length + Tc.fraction_length)
                     for k in range(nt)]
        else:
            E = t["preadd"]
            sign = 1 if form == "symmetric" else -1
            fe = E.fraction_length + Tc.fraction_length
            terms = []
            for k in range(nt // 2):
                pre = cast(xs(i - k) + sign * xs(i - (nt - 1 - k)), Tx.fraction_length, E, r, o)
                terms.append((h[k] * pre, fe))
            if sign > 0 and nt % 2:
                pre = cast(xs(i - nt // 2), Tx.fraction_length, E, r, o)
                terms.append((h[nt // 2] * pre, fe))
        acc = _sum_terms(terms, t, r, o)
        out.append(cast(acc, t["acc"].fraction_length, t["out"], r, o))
    return out


def interpolator_reference(h, x, L, t, r, o):
    """y[nL + p] = sum_j h[jL + p] x[n - j], branch taps in order, every cast per sample."""
    f = t["input"].fraction_length + t["coef"].fraction_length
    out = []
    for n in range(len(x)):
        for p in range(L):
            terms = [(h[k] * (x[n - j] if n - j >= 0 else 0), f)
                     for j, k in enumerate(range(p, len(h), L))]
            acc = _sum_terms(terms, t, r, o)
            out.append(cast(acc, t["acc"].fraction_length, t["out"], r, o))
    return out


# -- strategies -----------------------------------------------------------------------------------
@st.composite
def ntypes(draw, wmin=2, wmax=16, signed=None):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(wmin, wmax))
    return numerictype(s, w, draw(st.integers(-2, w + 2)))


@st.composite
def stored(draw, T: numerictype, n: int):
    edge = st.sampled_from([T.int_min, T.int_max, 0, T.int_min + 1])
    return draw(st.lists(st.one_of(edge, st.integers(T.int_min, T.int_max)), min_size=n,
                         max_size=n))


@st.composite
def cases(draw, symmetric_forms: bool):
    overflow = draw(st.sampled_from(ref.OVERFLOWS))
    signed = True if overflow == "wrap_sm" else None
    Tc = draw(ntypes(2, 12, signed=True if symmetric_forms else signed))
    Tx = draw(ntypes(2, 14, signed=signed))
    form = draw(st.sampled_from(["direct", "symmetric", "antisymmetric"])) if symmetric_forms \
        else "direct"
    nt = draw(st.integers(1, 7))
    if form == "direct":
        h = draw(stored(Tc, nt))
    else:
        half = draw(st.lists(st.integers(Tc.int_min + 1, Tc.int_max), min_size=(nt + 1) // 2,
                             max_size=(nt + 1) // 2))
        sign = 1 if form == "symmetric" else -1
        if sign < 0 and nt % 2:
            half[-1] = 0
        h = half + [sign * v for v in half[: nt // 2]][::-1]
    n = draw(st.integers(0, 25))
    x = draw(stored(Tx, n))

    def opt(strat):
        return draw(st.one_of(st.none(), strat))

    kw = dict(product_type=opt(ntypes(2, 28, signed=signed)),
              acc_type=opt(ntypes(2, 34, signed=signed)),
              output_type=opt(ntypes(2, 20, signed=signed)),
              rounding=draw(st.sampled_from(ref.ROUNDINGS)), overflow=overflow)
    if form != "direct":
        kw["form"] = form
        kw["preadd_type"] = opt(ntypes(2, 16, signed=signed))
    factor = draw(st.integers(1, 4))
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    return dict(Tc=Tc, Tx=Tx, h=h, x=x, kw=kw, factor=factor, cuts=cuts, form=form)


def run_frames(f, x: fi, cuts):
    edges = [0, *sorted(cuts), x.size]
    parts = [f(x[a:b]) for a, b in itertools.pairwise(edges)]
    return [int(v) for p in parts for v in np.asarray(p.int).reshape(-1)], parts


# -- double mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize("M,ntaps", [(1, 5), (2, 31), (3, 8), (5, 64), (7, 3)])
def test_decimator_double_matches_upfirdn_and_streams(M, ntaps):
    rng = np.random.default_rng(M * 100 + ntaps)
    h = rng.standard_normal(ntaps)
    x = rng.standard_normal(2001)
    d = FIRDecimator(M, h)
    whole = d(x)
    exp = signal.upfirdn(h, x, down=M)[: whole.size]
    assert whole.size == (x.size + M - 1) // M
    np.testing.assert_allclose(whole, exp, rtol=1e-12, atol=1e-12)
    d.reset()
    cuts = sorted(rng.integers(0, x.size, 9))
    parts = [d(x[a:b]) for a, b in itertools.pairwise([0, *cuts, x.size])]
    assert np.array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("L,ntaps", [(1, 5), (2, 31), (3, 8), (4, 64), (6, 3)])
def test_interpolator_double_matches_upfirdn_and_streams(L, ntaps):
    rng = np.random.default_rng(L * 100 + ntaps)
    h = rng.standard_normal(ntaps)
    x = rng.standard_normal(1001)
    u = FIRInterpolator(L, h)
    whole = u(x)
    assert whole.size == x.size * L
    exp = np.zeros(whole.size)  # upfirdn stops after the last tap: (n - 1) L + N samples
    full = signal.upfirdn(h, x, up=L)[: whole.size]
    exp[: full.size] = full
    np.testing.assert_allclose(whole, exp, rtol=1e-12, atol=1e-12)
    u.reset()
    cuts = sorted(rng.integers(0, x.size, 9))
    parts = [u(x[a:b]) for a, b in itertools.pairwise([0, *cuts, x.size])]
    assert np.array_equal(np.concatenate(parts), whole)


# -- fixed mode against the references ----------------------------------------------------------
@given(cases(symmetric_forms=True))
def test_decimator_fixed_matches_reference_streamed(c):
    h = fi.from_int(c["h"], c["Tc"])
    x = fi.from_int(c["x"], c["Tx"])
    try:
        d = FIRDecimator(c["factor"], h, **c["kw"])
        t = d.types(c["Tx"])
        got, parts = run_frames(d, x, c["cuts"])
    except ValueError as e:
        assert "wrap_sm" in str(e) or "per-sample int64 loop" in str(e)
        event("refused")
        return
    event(f"{c['form']} {'fast' if d._fast else 'per-sample'}")
    assert all(p.numerictype == t["out"] for p in parts)
    r, o = c["kw"]["rounding"], c["kw"]["overflow"]
    hq = [int(v) for v in d.quantized_coefs.int]
    assert hq == c["h"]  # a fi keeps its type and values (the symmetric forms mirror them)
    assert got == decimator_reference(hq, c["x"], c["factor"], t, r, o, c["form"])


@given(cases(symmetric_forms=False))
def test_interpolator_fixed_matches_reference_streamed(c):
    h = fi.from_int(c["h"], c["Tc"])
    x = fi.from_int(c["x"], c["Tx"])
    try:
        u = FIRInterpolator(c["factor"], h, **c["kw"])
        t = u.types(c["Tx"])
        got, parts = run_frames(u, x, c["cuts"])
    except ValueError as e:
        assert "wrap_sm" in str(e) or "per-sample int64 loop" in str(e)
        event("refused")
        return
    event("fast" if u._fast else "per-sample")
    assert all(p.numerictype == t["out"] for p in parts)
    r, o = c["kw"]["rounding"], c["kw"]["overflow"]
    hq = [int(v) for v in u.quantized_coefs.int]
    assert got == interpolator_reference(hq, c["x"], c["factor"], t, r, o)


def test_fixed_full_precision_matches_upfirdn_exactly():
    """Full-precision types: the exact polyphase sums equal upfirdn on the quantized values."""
    rng = np.random.default_rng(3)
    h = fi(signal.firwin(33, 0.2), 1, 16)
    x = fi(rng.uniform(-1, 1, 3000), 1, 16, 15)
    for M in (2, 3, 8):
        y = FIRDecimator(M, h)(x)
        exp = signal.upfirdn(h.data, x.data, down=M)[: y.size]
        assert np.array_equal(y.data, exp)  # every sum is exact in float64 here
    y = FIRInterpolator(4, h)(x)
    assert np.array_equal(y.data, signal.upfirdn(h.data, x.data, up=4)[: y.size])
    assert y.numerictype.word_length == 16 + 16 + 4  # ceil(log2(ceil(33 / 4))) = 4 bits


# -- ranges ---------------------------------------------------------------------------------------
def _brute(h, lo, hi, n):
    best = [np.inf, -np.inf]
    for m in range(1, n + 1):
        for xs in itertools.product([lo, hi], repeat=m):
            y = float(np.dot(h[:m], np.array(xs)[::-1]))
            best = [min(best[0], y), max(best[1], y)]
    return best


def test_interval_input_gives_the_exact_worst_case():
    h = [0.5, -0.25, 1.0, 0.75, -0.5]
    d = FIRDecimator(2, h, coef_type="sfix8_En4")
    events = []
    with range_listening(events.append):
        out = d(Interval(np.full(7, -1.0), np.full(7, 2.0)))
    assert isinstance(out, Interval) and out.size == 4
    exp = _brute(np.array(h), -1.0, 2.0, len(h))
    assert (float(out.lo[0]), float(out.hi[0])) == tuple(exp)
    got = {e.name: (e.lo, e.hi) for e in events}
    assert got["firdecim.out"] == tuple(exp)
    assert got["firdecim.product"] == (-1.0, 2.0)  # 1.0 * 2 and -0.5 * 2 / 1.0 * -1
    u = FIRInterpolator(2, h, coef_type="sfix8_En4")
    events.clear()
    with range_listening(events.append):
        out = u(Interval(np.full(3, -1.0), np.full(3, 2.0)))
    assert out.size == 6
    # branches h[0::2] = [0.5, 1.0, -0.5] and h[1::2] = [-0.25, 0.75]
    b0 = _brute(np.array(h[0::2]), -1.0, 2.0, 3)
    b1 = _brute(np.array(h[1::2]), -1.0, 2.0, 2)
    assert (float(out.lo[0]), float(out.hi[0])) == (min(b0[0], b1[0]), max(b0[1], b1[1]))


def test_errors():
    with pytest.raises(ValueError, match="decimation factor"):
        FIRDecimator(0, [1.0])
    with pytest.raises(ValueError, match="interpolation factor"):
        FIRInterpolator(2.5, [1.0])
    with pytest.raises(ValueError, match="transposed"):
        FIRDecimator(2, [1.0, 2.0], form="transposed")
    with pytest.raises(ValueError, match="form"):
        FIRInterpolator(2, [1.0, 1.0], form="symmetric")


def test_derived_range_holds_the_double_run_at_worst_case_inputs():
    """Regression: the interpolator's derived acc/out ranges were the exact real extremes;
    a double run at a bang-bang input (the signs of a phase's taps) rounded 1 ulp beyond
    them (seed 10 below)."""
    names = ["coef", "product", "acc", "out", "in"]
    Td = fx.TypeTable({f"f.{n}": "double" for n in names})
    for seed in (3, 10, 17):
        rng = np.random.default_rng(seed)
        h = rng.normal(size=int(rng.integers(4, 40))) * rng.uniform(0.01, 3)
        for cls in (FIRInterpolator, FIRDecimator):
            L = int(rng.integers(2, 5))
            n = 4 * h.size * L
            d = fx.tool.derive(lambda x, T, h=h, cls=cls, L=L: cls(L, h, name="f", types=T)(x),
                               (-1, 1), Td, shape=n)
            with fx.tool.record() as rec:
                b = cls(L, h, name="f", types=Td)
                for sgn in (1.0, -1.0):
                    for p in range(L):
                        taps = h[p::L] if cls is FIRInterpolator else h
                        x = np.sign(taps[::-1]) * sgn
                        b.reset()
                        b(np.concatenate([np.zeros(p), x, -x, x]))
            for s in ("f.acc", "f.out"):
                assert d[s].lo <= rec[s].min and rec[s].max <= d[s].hi, (seed, cls, s)


# -- derived ranges (fx.tool.derive) against recorded runs ---------------------------------------
def _escapes(fn, T, design, n, inputs):
    """Every recorded signal value (and output value) of ``fn`` on *inputs* outside the
    ranges ``fx.tool.derive`` gives for inputs in *design*; and the derived ranges."""
    d = fx.tool.derive(fn, design, T, shape=n)
    bad = []
    for key, x in inputs.items():
        with fx.tool.record() as rec:
            y = fn(np.asarray(x, dtype=np.float64), T)
        for name in rec.names:
            s = rec[name]
            if s.finite_count and not (d[name].lo <= s.min and s.max <= d[name].hi):
                bad.append((key, name, s.min, s.max, d[name].lo, d[name].hi))
        v = np.asarray(y.data if isinstance(y, fi) else y, dtype=np.float64)
        lo, hi = d.output.hull()
        if v.size and not (lo <= v.min() and v.max() <= hi):
            bad.append((key, "output", v.min(), v.max(), lo, hi))
    return bad, d


def _inputs(lo, hi, n, seed=0, h=(1.0,), L=1):
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    out = {"min": np.full(n, lo), "max": np.full(n, hi), "alt": np.where(k % 2, lo, hi),
           "rand": rng.uniform(lo, hi, n), "randb": rng.choice([lo, hi], n)}
    h = np.asarray(h, dtype=np.float64)
    for p in range(min(L, h.size)):  # bang-bang inputs of each branch (decimator: L = 1)
        s = np.resize(np.sign(h[p::L][::-1]) >= 0, n)
        out[f"bang{p}"], out[f"bang{p}n"] = np.where(s, hi, lo), np.where(s, lo, hi)
    return out


@pytest.mark.parametrize("kind", ["decimator", "decimator_symmetric", "interpolator"])
def test_derived_products_from_reset_with_a_positive_design_range(kind):
    """Bug: from reset the zero history makes products (and the symmetric form's pre-adder
    sums) 0, but the derived ranges bounded them by the design range only (FIRDecimator /
    FIRInterpolator products with x in [0.5, 1]: 0.0 vs a derived lo of 0.0625; the
    symmetric decimator's pre-adder 0.0 vs derived lo 1.0)."""
    h = [0.5, 0.25, 0.25, 0.5] if kind == "decimator_symmetric" else [0.5, 0.25, 0.125, 0.1]
    T = fx.TypeTable({"x": "double", "y": "double"})

    def fn(x, T):
        if kind == "interpolator":
            b = FIRInterpolator(2, h, name="f")
        else:
            b = FIRDecimator(2, h, name="f", form="symmetric" if "sym" in kind else "direct")
        return T.y(b(T.x(x)))

    bad, d = _escapes(fn, T, (0.5, 1.0), 8, _inputs(0.5, 1.0, 8, h=h, L=2))
    assert not bad, bad
    assert d["f.product"].lo == 0.0
    if "sym" in kind:
        assert (d["f.preadd"].lo, d["f.preadd"].hi) == (0.0, 2.0)


@pytest.mark.parametrize("cls", [FIRDecimator, FIRInterpolator])
def test_derived_ranges_hold_narrow_product_type_rounding(cls):
    """Bug: the products' cast into a narrow product type rounds (nearest: 0.45 * 127/128
    up to 0.5), but the derived acc/out were the exact real sums (hi 1.786 vs 2.0 observed);
    the derived range now follows every cast (here exactly)."""
    T = fx.TypeTable({"x": "sfix8_En7", "y": "sfix16_En10"})

    def fn(x, T):
        b = cls(2 if cls is FIRDecimator else 1, [0.45] * 4, name="f",
                product_type="sfix8_En2", acc_type="sfix10_En2")
        return T.y(b(T.x(x)))

    bad, d = _escapes(fn, T, (-1.0, 1.0), 8, _inputs(-1.0, 127 / 128, 8))
    assert not bad, bad
    assert (d["f.out"].lo, d["f.out"].hi) == (-2.0, 2.0)


@pytest.mark.parametrize("cls", [FIRDecimator, FIRInterpolator])
def test_derived_ranges_double_run_and_input_cast(cls):
    """Bug: a double run (an untyped Interval) was derived with the quantized coefficients
    (FIR([0.1, 0.1, 0.1]) decimator: 0.30000000000000004 observed vs derived hi
    0.29999542236328125), and a fixed run without the input_type cast (0.3 rounds to
    0.3125 in sfix8_En4)."""
    Td = fx.TypeTable({"x": "sfix16_En13", "y": "sfix16_En12"}).as_double()

    def fn(x, T):
        return T.y(cls(2, [0.1, 0.1, 0.1], name="f")(T.x(x)))

    bad, d = _escapes(fn, Td, (-1.0, 1.0), 8, _inputs(-1.0, 1.0, 8))
    assert not bad, bad
    # the float64 sums of the designed taps (the interpolator's phases: 2 taps and 1)
    assert d["f.out"].hi == (0.1 + 0.1 + 0.1 if cls is FIRDecimator else 0.1 + 0.1)
    Tf = fx.TypeTable({"x": "sfix16_En15", "y": "double"})

    def fn2(x, T):
        return T.y(cls(2, [0.5, 0.5], name="f", input_type="sfix8_En4")(T.x(x)))

    bad, d = _escapes(fn2, Tf, (-0.3, 0.3), 8, _inputs(-0.3, 0.3, 8))
    assert not bad, bad
    hi = 0.3125 if cls is FIRDecimator else 0.15625  # the interpolator's phases: one tap
    assert (d["f.out"].lo, d["f.out"].hi) == (-hi, hi)


@pytest.mark.parametrize("seed", range(4))
def test_derived_ranges_hold_random_polyphase_blocks(seed):
    """Random taps, factors, forms, narrow types, modes and design ranges, streamed in two
    frames: every recorded value lies in the derived ranges."""
    rng = np.random.default_rng(100 + seed)
    for _ in range(6):
        cls = [FIRDecimator, FIRInterpolator][int(rng.integers(0, 2))]
        nt = int(rng.integers(1, 8))
        h = rng.normal(size=nt) * rng.uniform(0.05, 1.5)
        kw = dict(rounding=str(rng.choice(["nearest", "floor", "ceil", "zero"])),
                  overflow=str(rng.choice(["saturate", "wrap"])), coef_type="sfix12_En8")
        if cls is FIRDecimator and rng.random() < 0.4:
            kw["form"] = "symmetric"
            h = (h + h[::-1]) / 2
            if rng.random() < 0.5:
                kw["preadd_type"] = f"sfix{int(rng.integers(6, 12))}_En{int(rng.integers(2, 6))}"
        for sig, p in (("product", 0.6), ("acc", 0.6), ("input", 0.3), ("output", 0.3)):
            if rng.random() < p:
                kw[f"{sig}_type"] = f"sfix{int(rng.integers(6, 14))}_En{int(rng.integers(1, 7))}"
        lo, hi = sorted(rng.uniform(-1, 1, 2))
        if rng.random() < 0.5:
            lo, hi = 0.1 + abs(lo) / 2, 0.6 + abs(hi) / 2
        factor = int(rng.integers(2, 4))
        T = fx.TypeTable({"x": "sfix16_En13", "y": "double"})
        T = T if rng.random() < 0.6 else T.as_double()

        def fn(x, T, h=h, kw=kw, cls=cls, factor=factor):
            b = cls(factor, h, name="f", **kw)
            x = T.x(x)
            return T.y(np.concatenate([b(x[:5]), b(x[5:])]))

        bad, _ = _escapes(fn, T, (lo, hi), 14,
                          _inputs(lo, hi, 14, seed, h, factor if cls is FIRInterpolator else 1))
        assert not bad, (cls.__name__, kw, (lo, hi), bad)
