"""FIR block: double mode against scipy, fixed mode against an exact per-sample Python-int
reference (every rounding and overflow mode, random frame splits), and the ac_fixed/ap_fixed
16-tap FIR oracle."""

from __future__ import annotations

import gzip
import itertools
import json
import pathlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from scipy import signal

import fixsim as fx
from fixsim import fi, numerictype
from fixsim.signal import FIR

from .._core import reference as ref

ORACLE = pathlib.Path(__file__).resolve().parents[1] / "data" / "oracle"


# -- the exact reference ------------------------------------------------------------------------
def tup(T: numerictype) -> tuple[bool, int, int]:
    return (T.signed, T.word_length, T.fraction_length)


def cast(v: int, f_src: int, T: numerictype, rounding: str, overflow: str) -> int:
    """Stored integer of the exact value ``v * 2**-f_src`` cast into *T*."""
    return ref.quantize(Fraction(v) / Fraction(2) ** f_src, tup(T), rounding, overflow)


def fir_reference(h, x, t, rounding, overflow, form):
    """Per-sample FIR on Python ints: products cast to the product type, then to the
    accumulator type; partial sums (direct: taps 0, 1, ...; transposed: registers) cast to
    the accumulator type; the output cast."""
    Tx, Tc, P, A, Y = t["input"], t["coef"], t["product"], t["acc"], t["out"]
    fi_ = Tx.fraction_length + Tc.fraction_length
    nt = len(h)

    def term(k, xv):
        p = cast(h[k] * xv, fi_, P, rounding, overflow)
        return cast(p, P.fraction_length, A, rounding, overflow)

    def acc_add(a, b):
        return cast(a + b, A.fraction_length, A, rounding, overflow)

    out = []
    if form == "direct":
        for n in range(len(x)):
            acc = None
            for k in range(nt):
                xv = x[n - k] if n - k >= 0 else 0
                tk = term(k, xv)
                acc = tk if acc is None else acc_add(acc, tk)
            out.append(cast(acc, A.fraction_length, Y, rounding, overflow))
    else:
        z = [0] * nt
        for xv in x:
            tks = [term(k, xv) for k in range(nt)]
            y = acc_add(tks[0], z[1]) if nt > 1 else tks[0]
            for k in range(1, nt - 1):
                z[k] = acc_add(tks[k], z[k + 1])
            if nt > 1:
                z[nt - 1] = tks[nt - 1]
            out.append(cast(y, A.fraction_length, Y, rounding, overflow))
    return out


def run_frames(f: FIR, x: fi, cuts) -> fi:
    """Feed *x* to *f* in frames split at *cuts*; join the stored integers."""
    edges = [0, *sorted(cuts), x.size]
    parts = [f(x[a:b]) for a, b in itertools.pairwise(edges)]
    ints = np.concatenate([np.asarray(p.int).reshape(-1) for p in parts])
    return ints, parts[-1].numerictype


# -- strategies ---------------------------------------------------------------------------------
ROUNDINGS = ref.ROUNDINGS
OVERFLOWS = ref.OVERFLOWS


@st.composite
def ntypes(draw, wmin=2, wmax=16, signed=None):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(wmin, wmax))
    f = draw(st.integers(-2, w + 2))
    return numerictype(s, w, f)


@st.composite
def stored(draw, T: numerictype, n: int):
    edge = st.sampled_from([T.int_min, T.int_max, 0, T.int_min + 1, T.int_max - 1])
    one = st.one_of(edge, st.integers(T.int_min, T.int_max))
    return draw(st.lists(one, min_size=n, max_size=n))


@st.composite
def fir_cases(draw):
    overflow = draw(st.sampled_from(OVERFLOWS))
    signed = True if overflow == "wrap_sm" else None
    Tc = draw(ntypes(2, 12, signed=signed))
    Tx = draw(ntypes(2, 14, signed=signed))
    nt = draw(st.integers(1, 6))
    h = draw(stored(Tc, nt))
    n = draw(st.integers(0, 24))
    x = draw(stored(Tx, n))
    opt = lambda strat: draw(st.one_of(st.none(), strat))  # noqa: E731
    P = opt(ntypes(2, 28, signed=signed))
    A = opt(ntypes(2, 34, signed=signed))
    Y = opt(ntypes(2, 20, signed=signed))
    rounding = draw(st.sampled_from(ROUNDINGS))
    form = draw(st.sampled_from(["direct", "transposed"]))
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    return dict(Tc=Tc, Tx=Tx, h=h, x=x, P=P, A=A, Y=Y, rounding=rounding, overflow=overflow,
                form=form, cuts=cuts)


# -- double mode --------------------------------------------------------------------------------
@pytest.mark.parametrize("ntaps", [1, 2, 17, 64])
def test_double_matches_lfilter_and_streams_identically(ntaps):
    rng = np.random.default_rng(ntaps)
    h = rng.standard_normal(ntaps)
    x = rng.standard_normal(3000)
    f = FIR(h)
    whole = f(x)
    np.testing.assert_allclose(whole, signal.lfilter(h, 1.0, x), rtol=1e-12, atol=1e-12)
    f.reset()
    cuts = sorted(rng.integers(0, x.size, 7))
    parts = [f(x[a:b]) for a, b in itertools.pairwise([0, *cuts, x.size])]
    assert np.array_equal(np.concatenate(parts), whole)


def test_double_firwin_design():
    h = signal.firwin(63, 0.2)
    x = np.random.default_rng(1).uniform(-1, 1, 5000)
    np.testing.assert_allclose(FIR(h)(x), signal.lfilter(h, 1.0, x), rtol=0, atol=1e-14)


# -- fixed mode against the reference ----------------------------------------------------------
@given(fir_cases())
def test_fixed_matches_exact_reference_streamed(c):
    coefs = fi.from_int(c["h"], c["Tc"])
    x = fi.from_int(c["x"], c["Tx"])
    kw = dict(product_type=c["P"], acc_type=c["A"], output_type=c["Y"],
              rounding=c["rounding"], overflow=c["overflow"], form=c["form"])
    try:
        f = FIR(coefs, **kw)
        t = f.types(c["Tx"])
        got, T = run_frames(f, x, c["cuts"])
    except ValueError as e:
        # only the documented refusals: wrap_sm on unsigned types, too-wide per-sample loop
        assert "wrap_sm" in str(e) or "per-sample int64 loop" in str(e)
        event("refused")
        return
    event("fast path" if f._fast else "per-sample loop")
    assert T == t["out"]
    exp = fir_reference(c["h"], c["x"], t, c["rounding"], c["overflow"], c["form"])
    assert [int(v) for v in got] == exp


@pytest.mark.parametrize("form", ["direct", "transposed"])
def test_full_precision_forms_and_paths_agree(form):
    rng = np.random.default_rng(5)
    h = fi(signal.firwin(21, 0.3), 1, 16)
    x = fi(rng.uniform(-1, 1, 4000), 1, 16, 15)
    fast = FIR(h, form=form)
    y_fast = fast(x)
    assert fast._fast
    # the same types through the per-sample loop (every cast exact there)
    slow = FIR(h, form=form)
    slow._plan(x.numerictype)
    slow._fast = False
    y_slow = slow(x)
    fx.testing.assert_fi_identical(y_fast, y_slow)
    other = FIR(h, form="transposed" if form == "direct" else "direct")
    fx.testing.assert_fi_identical(y_fast, other(x))


def test_narrow_accumulator_forms_differ_as_hardware_does():
    h = fi.from_int([3, 3, -3], "sfix4")
    x = fi.from_int([3, 3, 0, 0], "sfix4")
    kw = dict(acc_type="sfix5", output_type="sfix5", overflow="saturate")
    d = FIR(h, form="direct", **kw)(x).int.tolist()
    t = FIR(h, form="transposed", **kw)(x).int.tolist()
    # y[2] = 3*0 + 3*3 + (-3)*3 : direct sums 0 + 9 + (-9) = 0; transposed 0 + (9 + -9)
    # y[1] = 9 + 9 = 18 -> saturates to 15 in both
    assert d[1] == t[1] == 15
    x2 = fi.from_int([3, 3, 3], "sfix4")
    d2 = FIR(h, form="direct", **kw)(x2).int.tolist()
    t2 = FIR(h, form="transposed", **kw)(x2).int.tolist()
    # y[2]: direct ((9 + 9) -> 15) - 9 = 6; transposed 9 + (9 - 9) = 9
    assert d2[2] == 6 and t2[2] == 9


@pytest.mark.parametrize("wx,wc", [(40, 20), (60, 16)])
def test_wide_exact_convolution_paths(wx, wc):
    """Bounds past 2**53 (int64 kernel) and past 2**63 (Python ints)."""
    rng = np.random.default_rng(wx)
    Tx, Tc = numerictype(True, wx, wx - 2), numerictype(True, wc, wc - 1)
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 50, endpoint=True)]
    x[3] = Tx.int_min
    h = [int(v) for v in rng.integers(Tc.int_min, Tc.int_max, 9, endpoint=True)]
    f = FIR(fi.from_int(h, Tc), output_type=numerictype(True, 24, 10), rounding="convergent")
    got, _ = run_frames(f, fi.from_int(x, Tx), [7, 31])
    assert f._bound > 2 ** 53
    exp = fir_reference(h, x, f.types(), "convergent", "saturate", "direct")
    assert [int(v) for v in got] == exp


# -- the ac_fixed / ap_fixed oracle ------------------------------------------------------------
_MODES = {"RND": "nearest", "RND_CONV": "convergent", "TRN": "floor", "RND_INF": "round",
          "SAT": "saturate", "WRAP": "wrap", "SAT_SYM": "sat_sym"}


def _oracle_type(d) -> numerictype:
    return numerictype(bool(d["signed"]), d["word_length"], d["frac_length"])


@pytest.mark.parametrize("lib", ["ac", "ap"])
@pytest.mark.parametrize("form", ["direct", "transposed"])
def test_fir16_oracle(lib, form):
    with gzip.open(ORACLE / f"fir16_{lib}.json.gz", "rt") as fh:
        d = json.load(fh)
    coefs = fi.from_int([int(v) for v in d["coefs"]], _oracle_type(d["coef_type"]))
    x = fi.from_int([int(v) for v in d["x"]], _oracle_type(d["data_type"]))
    A = _oracle_type(d["acc_type"])
    f = FIR(coefs, acc_type=A, form=form)
    assert f(x).int.tolist() == [int(v) for v in d["acc"]]
    for out in d["outputs"]:
        q = _MODES[out["q_mode"].split("_", 1)[1]]
        o = _MODES[out["o_mode"].split("_", 1)[1]]
        f = FIR(coefs, acc_type=A, output_type=_oracle_type(out["type"]), rounding=q,
                overflow=o, form=form)
        exp = [int(v) for v in out["y"]]
        assert f(x).int.tolist() == exp, (out["q_mode"], out["o_mode"])
        f.reset()
        got, _ = run_frames(f, x, [1, 250, 251, 777])
        assert got.tolist() == exp


# -- probes, types, analysis -------------------------------------------------------------------
def test_signals_are_named_and_types_default_to_full_precision():
    f = FIR([0.5, -0.25, 0.125], name="fir1", output_type="sfix16_En12")
    x = fi(np.linspace(-1, 1, 10), 1, 16, 14)
    with fx.count_quantization() as c:
        f(x)
    names = {e.name for e in c.events}
    assert {"fir1.coef", "fir1.product", "fir1.acc", "fir1.out"} <= names
    t = f.types()
    assert t["coef"] == "sfix16_En16" or t["coef"].word_length == 16
    assert t["product"] == numerictype(True, 32, 14 + t["coef"].fraction_length)
    assert t["acc"] == numerictype(True, 34, t["product"].fraction_length)
    assert t["out"] == "sfix16_En12"


def test_coefficient_quantization_and_freqz():
    h = signal.firwin(31, 0.25)
    f = FIR(h, coef_type="sfix10_En10")
    q = f.quantized_coefs
    assert q.numerictype == "sfix10_En10"
    assert np.array_equal(q.data, np.round(h * 1024) / 1024)
    w, H = f.freqz(64)
    w2, H2 = signal.freqz(q.data, 1.0, worN=64)
    assert np.array_equal(H, H2)


def test_worst_case_output_range_is_exact():
    h = [1.0, -2.0, 0.5, 0.25]
    f = FIR(h, coef_type="sfix8_En4")
    for lo, hi in [(-1.0, 2.0), (0.5, 1.0), (-3.0, -1.0)]:
        best = [np.inf, -np.inf]
        for n in range(1, 6):  # from reset: y[n-1] sees the first n inputs
            for xs in itertools.product([lo, hi], repeat=n):
                y = signal.lfilter(h, 1.0, np.array(xs))[-1]
                best = [min(best[0], y), max(best[1], y)]
        assert f.worst_case_output_range(lo, hi) == (best[0], best[1])


def test_mode_mixing_and_type_change_raise():
    f = FIR([0.5, 0.5])
    f(np.ones(3))
    with pytest.raises(ValueError, match="reset"):
        f(fi([1.0], 1, 16, 14))
    f.reset()
    f(fi([1.0], 1, 16, 14))
    with pytest.raises(ValueError, match="input type changed"):
        f(fi([1.0], 1, 16, 12))
    with pytest.raises(ValueError, match="stochastic"):
        FIR([1.0], rounding="stochastic")


# -- symmetric and antisymmetric forms -----------------------------------------------------------
def symmetric_reference(h, x, t, rounding, overflow, sign):
    """Per-sample pre-adder FIR: cast_pre(x[n-k] +- x[n-N+1+k]) times h[k] for k < N//2 (then
    the middle tap for odd symmetric N), products and partial sums cast as the direct form."""
    Tx, Tc, E, P, A, Y = (t[k] for k in ("input", "coef", "preadd", "product", "acc", "out"))
    nt = len(h)
    fe = E.fraction_length + Tc.fraction_length

    def xs(i):
        return x[i] if i >= 0 else 0

    out = []
    for n in range(len(x)):
        pres = [(h[k], xs(n - k) + sign * xs(n - (nt - 1 - k))) for k in range(nt // 2)]
        if sign > 0 and nt % 2:
            pres.append((h[nt // 2], xs(n - nt // 2)))
        acc = None
        for c, a in pres:
            e = cast(a, Tx.fraction_length, E, rounding, overflow)
            p = cast(c * e, fe, P, rounding, overflow)
            v = cast(p, P.fraction_length, A, rounding, overflow)
            acc = v if acc is None else cast(acc + v, A.fraction_length, A, rounding, overflow)
        out.append(cast(0 if acc is None else acc, A.fraction_length, Y, rounding, overflow))
    return out


@st.composite
def symmetric_cases(draw):
    overflow = draw(st.sampled_from(OVERFLOWS))
    signed = True if overflow == "wrap_sm" else None
    Tc = draw(ntypes(2, 12, signed=True))
    Tx = draw(ntypes(2, 14, signed=signed))
    sign = draw(st.sampled_from([1, -1]))
    nt = draw(st.integers(1, 8))
    half = draw(st.lists(st.integers(Tc.int_min + 1, Tc.int_max), min_size=(nt + 1) // 2,
                         max_size=(nt + 1) // 2))
    if sign < 0 and nt % 2:
        half[-1] = 0
    h = half + [sign * v for v in half[: nt // 2]][::-1]
    n = draw(st.integers(0, 24))
    x = draw(stored(Tx, n))
    opt = lambda strat: draw(st.one_of(st.none(), strat))  # noqa: E731
    kw = dict(preadd_type=opt(ntypes(2, 16, signed=signed)),
              product_type=opt(ntypes(2, 28, signed=signed)),
              acc_type=opt(ntypes(2, 34, signed=signed)),
              output_type=opt(ntypes(2, 20, signed=signed)),
              rounding=draw(st.sampled_from(ROUNDINGS)), overflow=overflow,
              form="symmetric" if sign > 0 else "antisymmetric")
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    return dict(Tc=Tc, Tx=Tx, h=h, x=x, kw=kw, sign=sign, cuts=cuts)


@given(symmetric_cases())
def test_symmetric_forms_match_exact_reference_streamed(c):
    coefs = fi.from_int(c["h"], c["Tc"])
    x = fi.from_int(c["x"], c["Tx"])
    try:
        f = FIR(coefs, **c["kw"])
        t = f.types(c["Tx"])
        got, T = run_frames(f, x, c["cuts"])
    except ValueError as e:
        assert "wrap_sm" in str(e) or "per-sample int64 loop" in str(e)
        event("refused")
        return
    event(f"{c['kw']['form']} {'fast' if f._fast else 'per-sample'}")
    assert T == t["out"]
    assert [int(v) for v in f.quantized_coefs.int] == c["h"]
    exp = symmetric_reference(c["h"], c["x"], t, c["kw"]["rounding"], c["kw"]["overflow"],
                              c["sign"])
    assert [int(v) for v in got] == exp


def test_symmetric_default_types_and_full_precision_equal_direct():
    h = signal.firwin(31, 0.3)
    x = fi(np.random.default_rng(4).uniform(-1, 1, 2000), 1, 16, 15)
    sym = FIR(h, form="symmetric")
    t = sym.types(x.numerictype)
    assert t["preadd"] == numerictype(True, 17, 15)
    assert t["product"] == numerictype(True, 33, 15 + t["coef"].fraction_length)
    assert t["acc"].word_length == 33 + 4  # 16 products: ceil(log2 16) = 4
    y = sym(x)
    direct = FIR(sym.quantized_coefs, acc_type=t["acc"])(x)
    fx.testing.assert_fi_identical(y, direct)
    # only the first half is quantized: the second half mirrors it exactly
    q = sym.quantized_coefs.int
    assert np.array_equal(q, q[::-1])
    anti = FIR([0.5, 0.25, 0.0, -0.25, -0.5], form="antisymmetric")
    assert anti.types("sfix8_En7")["preadd"] == numerictype(True, 9, 7)
    assert anti.types("ufix8_En8")["preadd"] == numerictype(True, 10, 8)


def test_symmetric_form_refuses_asymmetric_coefficients():
    with pytest.raises(ValueError, match=r"h\[0\]"):
        FIR([1.0, 0.5, 0.25], form="symmetric")
    with pytest.raises(ValueError, match="antisymmetric"):
        FIR([1.0, 0.5, 1.0], form="antisymmetric")
    with pytest.raises(ValueError, match="form="):
        FIR([1.0], form="lattice")


# -- specialised kernels -------------------------------------------------------------------------
@pytest.mark.parametrize("rounding,overflow", list(zip(ROUNDINGS, OVERFLOWS * 2, strict=False)))
def test_mode_specialised_kernels_match_reference(rounding, overflow, monkeypatch):
    """Long frames run loops compiled for one mode pair: force them on short frames."""
    monkeypatch.setattr(FIR, "SPECIALISE_MIN", 0)
    rng = np.random.default_rng(len(rounding) * 7 + len(overflow))
    Tc, Tx = numerictype(True, 10, 9), numerictype(True, 12, 10)
    h = [int(v) for v in rng.integers(Tc.int_min, Tc.int_max, 9, endpoint=True)]
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 200, endpoint=True)]
    kw = dict(product_type="sfix14_En12", acc_type="sfix12_En9", output_type="sfix8_En5",
              rounding=rounding, overflow=overflow)
    for form in ("direct", "transposed"):
        f = FIR(fi.from_int(h, Tc), form=form, **kw)
        got, _ = run_frames(f, fi.from_int(x, Tx), [50, 51, 130])
        assert not f._fast
        assert [int(v) for v in got] == fir_reference(h, x, f.types(), rounding, overflow, form)
    hs = h[:5] + h[:4][::-1]
    f = FIR(fi.from_int(hs, Tc), form="symmetric", preadd_type="sfix11_En9", **kw)
    got, _ = run_frames(f, fi.from_int(x, Tx), [77])
    assert [int(v) for v in got] == symmetric_reference(hs, x, f.types(), rounding, overflow, 1)


# -- type tables, probes, intervals --------------------------------------------------------------
def test_type_table_entries_and_double_table():
    T = fx.TypeTable({"f1.coef": "sfix12_En11", "f1.acc": "sfix24_En20", "f1.out": "sfix16_En13",
                      "f1.product": "inherit"})
    f = FIR([0.5, -0.25, 0.125], name="f1", types=T, output_type="sfix10_En7")
    t = f.types("sfix16_En14")
    assert t["coef"] == "sfix12_En11" and t["acc"] == "sfix24_En20"
    assert t["out"] == "sfix10_En7"  # the explicit argument wins
    assert t["product"] == numerictype(True, 28, 25)  # 'inherit': full precision
    x = fi(np.linspace(-1, 1, 9), 1, 16, 14)
    assert f(x).numerictype == "sfix10_En7"
    d = FIR([0.5, -0.25, 0.125], name="f1", types=T.as_double())
    y = d(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64
    np.testing.assert_allclose(y, signal.lfilter([0.5, -0.25, 0.125], 1.0, x.data), atol=1e-15)


def _record(fn):
    from fixsim._core._typetable import signal_listening

    events = []
    with signal_listening(events.append):
        out = fn()
    return out, events


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric"])
def test_probes_report_every_signal_in_both_modes(form):
    h = [0.25, -0.5, 0.25] if form == "symmetric" else [0.25, -0.5, 0.75]
    x = fi([0.5, -1.0, 0.75, 0.25, 1.0 - 2 ** -14], 1, 16, 14)
    f = FIR(h, name="p", form=form, acc_type="sfix20_En17", output_type="sfix12_En10")
    y, ev = _record(lambda: f(x))
    names = {e.name for e in ev}
    want = {"p.coef", "p.in", "p.product", "p.acc", "p.out"} | (
        {"p.preadd"} if form == "symmetric" else set())
    assert names == want
    assert all(e.mode == "fixed" for e in ev)
    hq = f.quantized_coefs.data
    xv = x.data
    # the value arriving at the output cast is the exact filter output here
    out = [e for e in ev if e.name == "p.out"][0]
    np.testing.assert_array_equal(out.values, np.convolve(xv, hq)[: xv.size])
    assert out.numerictype == "sfix12_En10" and out.output is y
    prods = np.concatenate([e.values for e in ev if e.name == "p.product"])
    assert np.max(np.abs(prods)) == np.max(np.abs(np.outer(hq, xv)))
    g = FIR(h, name="p", form=form)
    _, ev = _record(lambda: g(xv))
    assert {e.name for e in ev} == want and all(e.mode == "double" for e in ev)


def test_interval_input_reports_exact_ranges():
    from fixsim._core._interval import Interval, range_listening

    h = [1.0, -2.0, 0.5, 0.25]
    f = FIR(h, name="r", coef_type="sfix8_En4")
    ev = []
    with range_listening(ev.append):
        out = f(Interval(np.full(5, -1.0), np.full(5, 2.0)))
    got = {e.name: (e.lo, e.hi) for e in ev}
    # brute force over the corners, from reset (prefixes of the taps)
    best = [np.inf, -np.inf]
    for n in range(1, 5):
        for xs in itertools.product([-1.0, 2.0], repeat=n):
            v = float(np.dot(h[:n], xs[::-1]))
            best = [min(best[0], v), max(best[1], v)]
    assert got["r.out"] == tuple(best) == (float(out.lo[0]), float(out.hi[0]))
    assert got["r.product"] == (-4.0, 2.0)
    assert got["r.coef"] == (-2.0, 1.0) and got["r.in"] == (-1.0, 2.0)
    assert got["r.acc"] == got["r.out"]  # direct form: the partial sums are the prefixes
    assert out.size == 5
    # the state is untouched by an interval frame
    assert f(np.array([1.0]))[0] == 1.0
    with range_listening(ev.append):
        unb = FIR(h)(Interval(np.array([-np.inf]), np.array([1.0])))
    assert not unb.bounded


# -- the exact convolution split over threads (long frames) ------------------------------------
@st.composite
def split_cases(draw):
    wide = draw(st.booleans())
    lim = (1 << 40) if wide else (1 << 15)
    nt = draw(st.integers(1, 12))
    h = draw(st.lists(st.integers(-lim, lim - 1), min_size=nt, max_size=nt))
    step = draw(st.integers(1, 4))
    count = draw(st.integers(0, 60))
    start = nt - 1 + draw(st.integers(0, 3))
    n = start + step * max(count - 1, 0) + 1 + draw(st.integers(0, 3))
    x = draw(st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=n, max_size=n))
    parts = draw(st.integers(2, 6))
    return wide, h, x, start, step, count, parts


@given(split_cases())
def test_dot_exact_split_equals_python_int_sums(c):
    """Each thread computes whole outputs with the single-thread loop: every block, every
    kernel, gives the exact Python-int sums."""
    from fixsim._kernels import _filters as kf

    wide, h, x, start, step, count, parts = c
    exp = [sum(h[k] * x[m - k] for k in range(len(h)))
           for m in range(start, start + step * count, step)]
    hr = np.array(h[::-1], dtype=np.int64)
    xe = np.array(x, dtype=np.int64)
    kerns = [(kf.dot_exact_i64, xe, hr)]
    if not wide:
        kerns.append((kf.dot_exact_f64, xe.astype(np.float64), hr.astype(np.float64)))
    for kern, xa, ha in kerns:
        out = np.full(count, -7, dtype=np.int64)
        kf.dot_exact_split(kern, xa, ha, start, step, out, min_split=0, parts=parts)
        assert out.tolist() == exp


@pytest.mark.parametrize("wx", [16, 40])
def test_long_frame_full_precision_matches_exact_convolution(wx):
    """A frame past the split threshold (threads) equals the exact convolution cast once."""
    from fixsim._kernels import _filters as kf

    rng = np.random.default_rng(wx)
    n = kf.SPLIT_MIN + 4321
    Tx, Tc = numerictype(True, wx, wx - 1), numerictype(True, 16, 15)
    To = numerictype(True, 16, 12)
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, n, endpoint=True)]
    h = [int(v) for v in rng.integers(Tc.int_min, Tc.int_max, 5, endpoint=True)]
    f = FIR(fi.from_int(h, Tc), output_type=To, rounding="nearest", overflow="saturate")
    got = f(fi.from_int(x, Tx)).int.tolist()
    assert f._fast
    assert (f._bound <= 2 ** 53) == (wx == 16)
    fa = Tx.fraction_length + Tc.fraction_length
    exp = []
    for m in range(n):
        s = sum(h[k] * x[m - k] for k in range(5) if m - k >= 0)
        exp.append(cast(s, fa, To, "nearest", "saturate"))
    assert got == exp


# -- the fused full-precision path (exact convolution and output cast in one kernel) -------------
def _events_of(run, *args):
    """``run(*args)`` and the quantization events it reported (name, size, counts)."""
    from fixsim._core import _probe

    ev = []
    with _probe.listening(ev.append):
        y = run(*args)
    return y, [(e.name, e.size, e.overflows, e.underflows) for e in ev]


def _exact_cast_outputs(h, x, start, step, count, fa, To, rounding, overflow, hist=()):
    """``cast(sum_k h[k] e[m - k])`` at ``m = start + j step`` over ``e = hist + x``, in
    Python ints (history zeros when *hist* is empty and the frame starts the signal)."""
    e = list(hist) + list(x)
    return [cast(sum(h[k] * e[m - k] for k in range(len(h)) if m - k >= 0), fa, To, rounding,
                 overflow) for m in range(start, start + step * count, step)]


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_fused_path_matches_reference_every_mode_and_split(rounding, overflow):
    """The fused kernel (one compiled loop for every mode here) against the per-sample
    Python-int reference: output casts that shift right (with overflow) and left, float64 and
    int64 sums, frames shorter than the history; and the same overflow/underflow counts as the
    unfused path."""
    from fixsim.signal import FIRDecimator

    rng = np.random.default_rng(ROUNDINGS.index(rounding) * 5 + OVERFLOWS.index(overflow))
    signed = overflow == "wrap_sm"
    for wx, Tc, Y in [(12, numerictype(True, 10, 9), numerictype(True, 8, 5)),
                      (12, numerictype(True, 10, 9), numerictype(True, 30, 22)),
                      (40, numerictype(True, 16, 15), numerictype(True, 20, 40)),
                      (10, numerictype(False, 8, 8), numerictype(signed, 7, 12))]:
        Tx = numerictype(True, wx, wx - 2)
        h = [int(v) for v in rng.integers(Tc.int_min, Tc.int_max, 9, endpoint=True)]
        x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 300, endpoint=True)]
        x[:4] = [Tx.int_max, Tx.int_max, Tx.int_min, Tx.int_min]
        kw = dict(output_type=Y, rounding=rounding, overflow=overflow)
        f = FIR(fi.from_int(h, Tc), **kw)
        got, _ = run_frames(f, fi.from_int(x, Tx), [3, 4, 90, 91, 95, 250])
        assert f._fast and f._fused
        fa = Tx.fraction_length + Tc.fraction_length
        assert [int(v) for v in got] == _exact_cast_outputs(h, x, 0, 1, len(x), fa, Y, rounding,
                                                            overflow)
        # the counts reported are those of the unfused path (exact sums, then one cast)
        fused, ev_fused = _events_of(FIR(fi.from_int(h, Tc), **kw), fi.from_int(x, Tx))
        g = FIR(fi.from_int(h, Tc), **kw)
        g._plan(Tx)
        g._fused = False
        plain, ev_plain = _events_of(g, fi.from_int(x, Tx))
        fx.testing.assert_fi_identical(fused, plain)
        assert ev_fused == ev_plain
        # a decimator (positions every M samples, phase carried over frames)
        d = FIRDecimator(3, fi.from_int(h, Tc), **kw)
        got, _ = run_frames(d, fi.from_int(x, Tx), [1, 2, 100, 200])
        assert [int(v) for v in got] == _exact_cast_outputs(h, x, 0, 3, 100, fa, Y, rounding,
                                                            overflow)


@pytest.mark.parametrize("rounding,overflow", list(zip(ROUNDINGS, OVERFLOWS * 2, strict=False)))
def test_fused_path_specialised_and_threaded_match_reference(rounding, overflow, monkeypatch):
    """Long frames run the fused loop compiled for the mode pair, on several threads: force
    both on short frames (and the split on any machine)."""
    from fixsim._kernels import _filters as kf

    monkeypatch.setattr(FIR, "SPECIALISE_MIN", 0)
    monkeypatch.setattr(kf, "SPLIT_MIN", 16)
    monkeypatch.setattr(kf, "_workers", lambda: 3)
    rng = np.random.default_rng(len(rounding) * 11 + len(overflow))
    Tc, Tx = numerictype(True, 16, 15), numerictype(True, 16, 15)
    h = [int(v) for v in rng.integers(Tc.int_min, Tc.int_max, 37, endpoint=True)]
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 1000, endpoint=True)]
    fa = Tx.fraction_length + Tc.fraction_length
    for Y in (numerictype(True, 12, 13), numerictype(True, 24, 31)):
        kw = dict(output_type=Y, rounding=rounding, overflow=overflow)
        f = FIR(fi.from_int(h, Tc), **kw)
        (got, _), ev = _events_of(run_frames, f, fi.from_int(x, Tx), [5, 500, 520])
        assert f._fused
        assert [int(v) for v in got] == _exact_cast_outputs(h, x, 0, 1, len(x), fa, Y, rounding,
                                                            overflow)
        g = FIR(fi.from_int(h, Tc), **kw)
        g._plan(Tx)
        g._fused = False
        _, ev_plain = _events_of(run_frames, g, fi.from_int(x, Tx), [5, 500, 520])
        assert ev == ev_plain


@st.composite
def fused_kernel_cases(draw):
    wide = draw(st.booleans())
    lim = (1 << 40) if wide else (1 << 15)
    nt = draw(st.integers(1, 20))
    h = draw(st.lists(st.integers(-lim, lim - 1), min_size=nt, max_size=nt))
    hist = draw(st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=nt - 1,
                         max_size=nt - 1))
    step = draw(st.integers(1, 5))
    count = draw(st.integers(0, 90))
    start = nt - 1 + draw(st.integers(0, 3))
    n = max(start + step * max(count - 1, 0) + 1 - (nt - 1), 0) + draw(st.integers(0, 3))
    x = draw(st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=n, max_size=n))
    parts = draw(st.integers(1, 6))
    d = draw(st.integers(-8, 40))
    rounding = draw(st.sampled_from(ROUNDINGS))
    overflow = draw(st.sampled_from(OVERFLOWS[:4]))
    W = draw(st.integers(2, 63))
    return wide, h, hist, x, start, step, count, parts, d, rounding, overflow, W


@given(fused_kernel_cases())
def test_fused_kernel_blocks_and_threads_equal_python_int_casts(c):
    """The fused kernel directly: every block (the 8-output groups and the single tail
    outputs, past the input-buffer block size), every thread split, float64 and int64 sums."""
    from fixsim._core._modes import parse_overflow, parse_rounding
    from fixsim._kernels import _filters as kf

    wide, h, hist, x, start, step, count, parts, d, rounding, overflow, W = c
    To = numerictype(True, W, 0)
    exp = _exact_cast_outputs(h, x, start, step, count, d, To, rounding, overflow, hist)
    rm, om = int(parse_rounding(rounding)), int(parse_overflow(overflow))
    tp = np.array([kf.type_row(W, True)], dtype=np.int64)
    hr = np.array(h[::-1], dtype=np.int64)
    sums = [hr] if wide else [hr, hr.astype(np.float64)]
    for hs in sums:
        kern = kf.kernel("fir_exact", rm, om, True, False, (d,))
        out = np.full(count, -7, dtype=np.int64)
        kf.fir_exact_split(kern, np.array(hist, dtype=np.int64), np.array(x, dtype=np.int64),
                           hs, start, step, d, tp, rm, om, out, min_split=0, parts=parts)
        assert out.tolist() == exp


def test_fused_kernel_long_block_and_stride():
    """Frames longer than the kernel's input block, unit and non-unit strides."""
    from fixsim._core._modes import parse_overflow, parse_rounding
    from fixsim._kernels import _filters as kf

    rng = np.random.default_rng(3)
    h = [int(v) for v in rng.integers(-(1 << 15), 1 << 15, 64)]
    hist = [int(v) for v in rng.integers(-(1 << 15), 1 << 15, 63)]
    x = [int(v) for v in rng.integers(-(1 << 15), 1 << 15, 3 * kf._BLOCK_IN + 77)]
    To = numerictype(True, 16, 0)
    rm, om = int(parse_rounding("convergent")), int(parse_overflow("saturate"))
    tp = np.array([kf.type_row(16, True)], dtype=np.int64)
    for step in (1, 2, 7):
        count = (len(x) - 1) // step + 1
        exp = _exact_cast_outputs(h, x, 63, step, count, 15, To, "convergent", "saturate", hist)
        kern = kf.kernel("fir_exact", rm, om, False, True, (15,))
        out = np.empty(count, dtype=np.int64)
        kf.fir_exact_split(kern, np.array(hist, dtype=np.int64), np.array(x, dtype=np.int64),
                           np.array(h[::-1], dtype=np.float64), 63, step, 15, tp, rm, om, out,
                           min_split=0, parts=2)
        assert out.tolist() == exp


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
            st_ = rec[name]
            if st_.finite_count and not (d[name].lo <= st_.min and st_.max <= d[name].hi):
                bad.append((key, name, st_.min, st_.max, d[name].lo, d[name].hi))
        v = np.asarray(y.data if isinstance(y, fi) else y, dtype=np.float64)
        lo, hi = d.output.hull()
        if not (lo <= v.min() and v.max() <= hi):
            bad.append((key, "output", v.min(), v.max(), lo, hi))
    return bad, d


def _corner_inputs(h, lo, hi, n, seed=0):
    """Constant, alternating and random inputs in [lo, hi], and the bang-bang inputs of the
    taps' signs (the worst cases), each from reset."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    s = np.resize(np.sign(np.asarray(h, dtype=np.float64)[::-1]) >= 0, n)
    return {"min": np.full(n, lo), "max": np.full(n, hi), "alt": np.where(k % 2, lo, hi),
            "rand": rng.uniform(lo, hi, n), "randb": rng.choice([lo, hi], n),
            "mid": np.full(n, (lo + hi) / 2), "bang": np.where(s, hi, lo),
            "bang2": np.where(s, lo, hi)}


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
def test_derived_internal_signals_from_reset_with_a_positive_design_range(form):
    """Bug: with the zero initial state the products (and pre-adder sums, transposed
    registers) take 0 during the first samples, but the derived ranges bounded them by the
    design range only: FIR([0.5, 0.25, 0.125]), x in [0.5, 1] at 0.75: product observed
    [0.0, 0.375] vs derived [0.0625, 0.5], transposed acc [0.0, 0.65625] vs [0.0625, 0.875];
    symmetric pre-adder 0.0 (and a pair seeing one sample, 0.5) vs derived lo 1.0."""
    h = {"symmetric": [0.5, 0.25, 0.25, 0.5], "antisymmetric": [0.5, 0.25, -0.25, -0.5]}.get(
        form, [0.5, 0.25, 0.125])
    T = fx.TypeTable({"x": "double", "y": "double"})

    def fn(x, T):
        return T.y(FIR(h, name="f", form=form)(T.x(x)))

    bad, d = _escapes(fn, T, (0.5, 1.0), 8, _corner_inputs(h, 0.5, 1.0, 8))
    assert not bad, bad
    if form != "antisymmetric":
        assert d["f.product"].lo == 0.0
    if form == "transposed":
        assert (d["f.acc"].lo, d["f.acc"].hi) == (0.0, 0.875)
    if form != "antisymmetric":  # the output range is still the exact worst case
        assert (d["f.out"].lo, d["f.out"].hi) == (0.25, sum(h))
    if form == "symmetric":
        assert (d["f.preadd"].lo, d["f.preadd"].hi) == (0.0, 2.0)
    if form == "antisymmetric":  # x[n] alone (0.5 .. 1), the difference, and 0
        assert (d["f.preadd"].lo, d["f.preadd"].hi) == (-0.5, 1.0)


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
@pytest.mark.parametrize("design", [(0.25, 1.0), (-1.0, -0.5), (-0.5, 1.0)])
def test_derived_ranges_equal_brute_force_from_reset(form, design):
    """The derived ranges of every signal equal the extremes over every input sequence of
    bounds from reset (double run, dyadic taps: no rounding), so the reset fix keeps them the
    analytic worst case."""
    rng = np.random.default_rng(len(form) + int(4 * design[0]))
    nt = 5
    h = np.round(rng.normal(size=nt) * 8) / 16
    if form == "symmetric":
        h = (h + h[::-1]) / 2
    elif form == "antisymmetric":
        h = (h - h[::-1]) / 2
    T = fx.TypeTable({"x": "double", "y": "double"})

    def fn(x, T):
        return T.y(FIR(h, name="f", form=form, coef_type="sfix16_En8")(T.x(x)))

    d = fx.tool.derive(fn, design, T, shape=nt + 1)
    seen: dict = {}
    for xs in itertools.product(design, repeat=nt + 1):
        with fx.tool.record() as rec:
            fn(np.array(xs), T)
        for name in rec.names:
            a = seen.get(name, (np.inf, -np.inf))
            seen[name] = (min(a[0], rec[name].min), max(a[1], rec[name].max))
    for name in ("f.product", "f.acc", "f.out") + (("f.preadd",) if "sym" in form else ()):
        assert (d[name].lo, d[name].hi) == seen[name], name


def test_derived_out_holds_narrow_product_type_rounding():
    """Bug: with a product type narrower than full precision, each product rounds (up by
    up to half an LSB with 'nearest'), but the derived acc/out were the exact real sums:
    FIR([0.45]*4, product_type='sfix8_En2', acc_type='sfix10_En2'), x sfix8_En7 all at
    127/128: out observed 2.0 vs derived hi 1.7859253883361816. The derived range now
    follows the casts (here exactly: 4 products rounded to 0.5)."""
    T = fx.TypeTable({"x": "sfix8_En7", "y": "sfix16_En10"})

    def fn(x, T):
        f = FIR([0.45] * 4, name="f", product_type="sfix8_En2", acc_type="sfix10_En2")
        return T.y(f(T.x(x)))

    bad, d = _escapes(fn, T, (-1.0, 1.0), 8, _corner_inputs([1.0], -1.0, 127 / 128, 8))
    assert not bad, bad
    assert (d["f.out"].lo, d["f.out"].hi) == (-2.0, 2.0)


@pytest.mark.parametrize("rounding", ["nearest", "floor", "ceil", "convergent", "zero"])
@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
def test_derived_ranges_hold_narrow_types_every_rounding(rounding, form):
    """Bug (as above): the pre-adder, product, accumulator and output casts' rounding (and
    saturation) are part of the fixed run; the derived ranges hold them."""
    h = {"symmetric": [0.45, -0.3, 0.7, -0.3, 0.45],
         "antisymmetric": [0.45, -0.3, 0.0, 0.3, -0.45]}.get(form, [0.45, -0.3, 0.7, 0.2])
    T = fx.TypeTable({"x": "sfix10_En7", "y": "double"})
    kw = dict(product_type="sfix8_En2", acc_type="sfix9_En2", output_type="sfix7_En1",
              rounding=rounding)
    if "sym" in form:
        kw["preadd_type"] = "sfix6_En3"

    def fn(x, T):
        return T.y(FIR(h, name="f", form=form, **kw)(T.x(x)))

    for design in ((-1.0, 1.0), (0.3, 0.9), (-0.9, -0.45)):
        bad, _ = _escapes(fn, T, design, 12, _corner_inputs(h, *design, 12))
        assert not bad, (design, bad)


def test_derived_output_holds_the_output_cast():
    """The block's output is its accumulator cast into the output type: the derived output
    holds that cast's rounding (ceil: 0.3 * 0.75 = 0.225 up to 0.25) and saturation."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "double"})

    def fn(x, T):
        return T.y(FIR([0.3, 0.3], name="f", output_type="sfix4_En2", rounding="ceil")(T.x(x)))

    bad, d = _escapes(fn, T, (0.75, 1.5), 6, _corner_inputs([1.0], 0.75, 1.5, 6))
    assert not bad, bad
    # 0.3 quantized ~0.29999, times 0.75 rounds up to 0.25; 2 * 1.5 * 0.3 saturates at 1.75
    assert d.output.hull() == (0.25, 1.0)


@pytest.mark.parametrize("form", ["direct", "symmetric"])
def test_derived_double_run_without_block_types_uses_designed_coefficients(form):
    """Bug: in a double run (an untyped Interval: the run filters floats) of a block with no
    all-'double' table of its own, the derived ranges used the quantized coefficients, but
    the double run filters with the designed ones: FIR([0.1, 0.1]) (quantized 0.09999847),
    x in [-1, 1] all at 1: out observed 0.2 vs derived hi 0.1999969482421875."""
    T = fx.TypeTable({"x": "sfix16_En13", "y": "sfix16_En12"}).as_double()

    def fn(x, T):
        return T.y(FIR([0.1, 0.1], name="f", form=form)(T.x(x)))

    bad, d = _escapes(fn, T, (-1.0, 1.0), 8, _corner_inputs([1.0], -1.0, 1.0, 8))
    assert not bad, bad
    assert d["f.out"].hi == 0.2
    # a fixed run still uses the quantized coefficients
    Tf = fx.TypeTable({"x": "sfix16_En13", "y": "sfix16_En12"})
    bad, d = _escapes(fn, Tf, (-1.0, 1.0), 8, _corner_inputs([1.0], -1.0, 1.0, 8))
    assert not bad, bad
    assert d["f.out"].hi == 2 * float(FIR([0.1]).quantized_coefs.data[0])


def test_derived_ranges_apply_the_input_type_cast():
    """Bug: the fixed run casts the input into input_type (rounding, saturation) before
    filtering, but the derived ranges filtered the uncast range: FIR([0.5, 0.5],
    input_type='sfix8_En4'), x in [-0.3, 0.3] all at 0.3: out observed 0.3125 vs derived hi
    0.29998779296875. The 'in' signal (before the cast) keeps the design range."""
    T = fx.TypeTable({"x": "sfix16_En15", "y": "double"})

    def fn(x, T):
        return T.y(FIR([0.5, 0.5], name="f", input_type="sfix8_En4")(T.x(x)))

    bad, d = _escapes(fn, T, (-0.3, 0.3), 8, _corner_inputs([1.0], -0.3, 0.3, 8))
    assert not bad, bad
    assert (d["f.out"].lo, d["f.out"].hi) == (-0.3125, 0.3125)
    assert d["f.in"].hi < 0.3125
    # a saturating input cast bounds the filter's range as well
    T2 = fx.TypeTable({"x": "sfix16_En12", "y": "double"})

    def fn2(x, T):
        return T.y(FIR([0.5, 0.5], name="f", input_type="sfix6_En4")(T.x(x)))

    bad, d = _escapes(fn2, T2, (-3.0, 3.0), 8, _corner_inputs([1.0], -3.0, 3.0, 8))
    assert not bad, bad
    assert (d["f.out"].lo, d["f.out"].hi) == (-2.0, 1.9375)


@pytest.mark.parametrize("seed", range(6))
def test_derived_ranges_hold_random_fixed_blocks(seed):
    """Random taps, forms, narrow types, modes and design ranges: every recorded value of the
    fixed (or double) run lies in the derived ranges."""
    rng = np.random.default_rng(seed)
    for _ in range(6):
        form = str(rng.choice(["direct", "transposed", "symmetric", "antisymmetric"]))
        nt = int(rng.integers(1, 7))
        h = rng.normal(size=nt) * rng.uniform(0.05, 1.5)
        if form == "symmetric":
            h = (h + h[::-1]) / 2
        elif form == "antisymmetric":
            h = (h - h[::-1]) / 2
        kw = dict(rounding=str(rng.choice(["nearest", "floor", "ceil", "zero"])),
                  overflow=str(rng.choice(["saturate", "wrap", "sat_sym"])),
                  coef_type="sfix12_En8")
        for sig, p in (("product", 0.6), ("acc", 0.6), ("input", 0.3), ("output", 0.3),
                       ("preadd", 0.4 if "sym" in form else 0.0)):
            if rng.random() < p:
                kw[f"{sig}_type"] = f"sfix{int(rng.integers(6, 14))}_En{int(rng.integers(1, 7))}"
        lo, hi = sorted(rng.uniform(-1, 1, 2))
        if rng.random() < 0.5:
            lo, hi = (0.1 + abs(lo) / 2, 0.6 + abs(hi) / 2)[:: 1 if rng.random() < 0.5 else -1]
            lo, hi = (lo, hi) if lo < hi else (-lo, -hi)
        mode = str(rng.choice(["fixed", "double"]))
        T = fx.TypeTable({"x": "sfix16_En13", "y": "double"})
        T = T if mode == "fixed" else T.as_double()

        def fn(x, T, h=h, form=form, kw=kw):
            f = FIR(h, name="f", form=form, **kw)
            x = T.x(x)
            return T.y(np.concatenate([f(x[:5]), f(x[5:])]))

        bad, _ = _escapes(fn, T, (lo, hi), 14, _corner_inputs(h, lo, hi, 14, seed))
        assert not bad, (form, kw, mode, (lo, hi), bad)
