"""Biquad cascades (SOSFilter): double mode against scipy.signal.sosfilt, fixed mode (df1 and
df2t) against an exact per-sample Python-int reference in every rounding and overflow mode,
with random frame splits."""

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
from fixsim.signal import Biquad, SOSFilter

from .._core import reference as ref


# -- the exact reference ------------------------------------------------------------------------
def cast(v: int, f_src: int, T: numerictype, rounding: str, overflow: str) -> int:
    """Stored integer of the exact value ``v * 2**-f_src`` cast into *T*."""
    return ref.quantize(Fraction(v) / Fraction(2) ** f_src,
                        (T.signed, T.word_length, T.fraction_length), rounding, overflow)


def sos_reference(b, a, x, t, rounding, overflow, form):
    """Per-sample cascade on Python ints, as documented in ``SOSFilter``.

    ``b``/``a``: per section lists of stored coefficients (``a[s][0]`` unused)."""
    S, Pn, Pd, A, Z, Y = (t[k] for k in ("section", "num_product", "den_product", "acc", "state",
                                         "out"))
    Tb, Ta = t["num_coef"], t["den_coef"]
    fs, fa = S.fraction_length, A.fraction_length

    def c(v, f, T):
        return cast(v, f, T, rounding, overflow)

    def num(coef, v):
        return c(c(coef * v, fs + Tb.fraction_length, Pn), Pn.fraction_length, A)

    def den(coef, v):
        return c(c(coef * v, fs + Ta.fraction_length, Pd), Pd.fraction_length, A)

    def acc(v):
        return c(v, fa, A)

    L = len(b)
    if form == "df1":
        state = [[0, 0, 0, 0] for _ in range(L)]  # u1 u2 y1 y2
    else:
        state = [[0, 0] for _ in range(L)]  # z1 z2
    out = []
    for xv in x:
        u = c(xv, t["input"].fraction_length, S)
        for s in range(L):
            bs, as_, st_ = b[s], a[s], state[s]
            if form == "df1":
                v = num(bs[0], u)
                v = acc(v + num(bs[1], st_[0]))
                v = acc(v + num(bs[2], st_[1]))
                v = acc(v - den(as_[1], st_[2]))
                v = acc(v - den(as_[2], st_[3]))
                y = c(v, fa, S)
                state[s] = [u, st_[0], y, st_[2]]
            else:
                z1 = c(st_[0], Z.fraction_length, A)
                z2 = c(st_[1], Z.fraction_length, A)
                y = c(acc(num(bs[0], u) + z1), fa, S)
                v = acc(num(bs[1], u) + z2)
                v = acc(v - den(as_[1], y))
                n1 = c(v, fa, Z)
                v = acc(num(bs[2], u) - den(as_[2], y))
                n2 = c(v, fa, Z)
                state[s] = [n1, n2]
            u = y
        out.append(c(u, fs, Y))
    return out


# -- strategies ---------------------------------------------------------------------------------
@st.composite
def ntypes(draw, wmin=2, wmax=16, signed=None, fmin=-2, fextra=2):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(wmin, wmax))
    f = draw(st.integers(fmin, w + fextra))
    return numerictype(s, w, f)


@st.composite
def ints_of(draw, T: numerictype, n: int):
    edge = st.sampled_from([T.int_min, T.int_max, 0, T.int_min + 1])
    return draw(st.lists(st.one_of(edge, st.integers(T.int_min, T.int_max)), min_size=n,
                         max_size=n))


@st.composite
def sos_cases(draw):
    overflow = draw(st.sampled_from(ref.OVERFLOWS))
    signed = True if overflow == "wrap_sm" else None
    L = draw(st.integers(1, 3))
    Tb = draw(ntypes(2, 10, signed=True, fmin=0))
    Ta = draw(ntypes(2, 10, signed=True, fmin=0))
    b = [draw(ints_of(Tb, 3)) for _ in range(L)]
    a = [[0, *draw(ints_of(Ta, 2))] for _ in range(L)]
    Tx = draw(ntypes(2, 14, signed=signed))
    n = draw(st.integers(0, 20))
    x = draw(ints_of(Tx, n))

    def opt(strat):
        return draw(st.one_of(st.none(), strat))

    kw = dict(
        section_type=opt(ntypes(2, 16, signed=signed)),
        product_type=draw(st.one_of(st.none(), ntypes(2, 30, signed=signed),
                                    st.tuples(ntypes(2, 30, signed=signed),
                                              ntypes(2, 30, signed=signed)))),
        acc_type=opt(ntypes(2, 40, signed=signed)),
        state_type=opt(ntypes(2, 40, signed=signed)),
        output_type=opt(ntypes(2, 20, signed=signed)),
        rounding=draw(st.sampled_from(ref.ROUNDINGS)),
        overflow=overflow,
        form=draw(st.sampled_from(["df1", "df2t"])),
    )
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    return dict(Tb=Tb, Ta=Ta, b=b, a=a, Tx=Tx, x=x, kw=kw, cuts=cuts)


def _sos_array(b, a, Tb, Ta):
    sos = np.zeros((len(b), 6))
    for s in range(len(b)):
        sos[s, 0:3] = [v * 2.0 ** -Tb.fraction_length for v in b[s]]
        sos[s, 3] = 1.0
        sos[s, 4:6] = [v * 2.0 ** -Ta.fraction_length for v in a[s][1:]]
    return sos


# -- double mode --------------------------------------------------------------------------------
@pytest.mark.parametrize("design", [
    lambda: signal.butter(4, 0.2, output="sos"),
    lambda: signal.cheby1(6, 1, [0.1, 0.4], btype="band", output="sos"),
    lambda: signal.ellip(5, 0.5, 60, 0.3, output="sos"),
])
def test_double_matches_sosfilt_and_streams_identically(design):
    sos = design()
    x = np.random.default_rng(0).standard_normal(4000)
    f = SOSFilter(sos)
    whole = f(x)
    np.testing.assert_allclose(whole, signal.sosfilt(sos, x), rtol=1e-13, atol=1e-13)
    f.reset()
    cuts = [0, 1, 1, 999, 2500, 4000]
    parts = [f(x[p:q]) for p, q in itertools.pairwise(cuts)]
    assert np.array_equal(np.concatenate(parts), whole)


# -- fixed mode against the reference -----------------------------------------------------------
@given(sos_cases())
def test_fixed_matches_exact_reference_streamed(c):
    sos = _sos_array(c["b"], c["a"], c["Tb"], c["Ta"])
    x = fi.from_int(c["x"], c["Tx"])
    try:
        f = SOSFilter(sos, coef_type=(c["Tb"], c["Ta"]), **c["kw"])
        t = f.types(c["Tx"])
        edges = [0, *sorted(c["cuts"]), len(c["x"])]
        parts = [f(x[p:q]) for p, q in itertools.pairwise(edges)]
    except ValueError as e:
        assert "wrap_sm" in str(e) or "int64" in str(e)
        event("refused")
        return
    event(c["kw"]["form"])
    r, o = c["kw"]["rounding"], c["kw"]["overflow"]
    # the coefficients are representable; only sat_sym moves a most negative one
    Tb, Ta = c["Tb"], c["Ta"]
    b = [[cast(v, Tb.fraction_length, Tb, r, o) for v in bs] for bs in c["b"]]
    a = [[0, *(cast(v, Ta.fraction_length, Ta, r, o) for v in as_[1:])] for as_ in c["a"]]
    assert np.array_equal(f.quantized_sos, _sos_array(b, a, Tb, Ta))
    got = [int(v) for p in parts for v in np.asarray(p.int).reshape(-1)]
    assert all(p.numerictype == t["out"] for p in parts)
    exp = sos_reference(b, a, c["x"], t, r, o, c["kw"]["form"])
    assert got == exp


@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_fixed_butterworth_is_close_to_double(form):
    sos = signal.butter(4, 0.15, output="sos")
    x = np.random.default_rng(2).uniform(-0.5, 0.5, 3000)
    xf = fi(x, 1, 16, 15)
    f = SOSFilter(sos, form=form, section_type="sfix24_En20", acc_type="sfix48_En40",
                  coef_type="sfix18_En16", output_type="sfix16_En14")
    y = f(xf)
    assert y.numerictype == "sfix16_En14"
    ref_y = signal.sosfilt(f.quantized_sos, xf.data)
    assert np.max(np.abs(y.data - ref_y)) < 2e-4
    f.reset()
    parts = [f(xf[p:q]) for p, q in itertools.pairwise([0, 17, 18, 1500, 3000])]
    assert np.concatenate([p.int for p in parts]).tolist() == y.int.tolist()


def test_signals_are_named():
    sos = signal.butter(2, 0.3, output="sos")
    f = Biquad(sos, name="eq", section_type="sfix16_En13", acc_type="sfix32_En26")
    with fx.count_quantization() as c:
        f(fi(np.linspace(-1, 1, 8), 1, 16, 14))
    names = {e.name for e in c.events}
    assert {"eq.num_coef", "eq.den_coef", "eq.in", "eq.product", "eq.acc", "eq.state", "eq.section",
            "eq.out"} <= names


def test_default_types():
    sos = signal.butter(2, 0.3, output="sos")
    f = SOSFilter(sos)
    t = f.types("sfix16_En14")
    assert t["section"] == t["out"] == "sfix16_En14"
    assert t["num_coef"].word_length == t["den_coef"].word_length == 16
    assert t["num_product"] == numerictype(True, 32, 14 + t["num_coef"].fraction_length)
    f_acc = max(t["num_product"].fraction_length, t["den_product"].fraction_length)
    assert t["acc"].fraction_length == f_acc and t["state"] == t["acc"]


def test_quantized_response():
    sos = signal.ellip(4, 0.5, 50, 0.05, output="sos")
    f = SOSFilter(sos, coef_type="sfix8_En6")
    assert not np.array_equal(f.quantized_sos, sos)
    assert np.all(f.quantized_sos * 64 == np.round(f.quantized_sos * 64))
    w, h = f.freqz(128)
    w2, h2 = signal.sosfreqz(f.quantized_sos, worN=128)
    assert np.array_equal(h, h2)
    _, h0 = f.freqz(128, quantized=False)
    assert np.max(np.abs(np.abs(h) - np.abs(h0))) > 1e-3  # quantization changed the response


def test_worst_case_output_range():
    sos = signal.butter(2, 0.3, output="sos")
    f = SOSFilter(sos, coef_type=("sfix16_En14", "sfix16_En14"))
    lo, hi = f.worst_case_output_range(-1.0, 1.0)
    h = f.impulse_response(4096)
    assert hi == pytest.approx(np.abs(h).sum(), rel=1e-9) and lo == -hi
    # a constant input at the positive bound: the step response stays inside
    y = signal.sosfilt(f.quantized_sos, np.ones(500))
    assert y.max() <= hi + 1e-12
    unstable = SOSFilter([[1, 0, 0, 1, -2.5, 1.5]], coef_type=("sfix16_En12", "sfix16_En12"))
    assert unstable.worst_case_output_range(-1, 1) == (-np.inf, np.inf)


def test_errors():
    sos = signal.butter(2, 0.3, output="sos")
    with pytest.raises(ValueError, match="a0"):
        SOSFilter([[1, 0, 0, 2, 0, 0]])
    with pytest.raises(ValueError, match="int64"):
        SOSFilter(sos, acc_type="sfix64_En40")(fi([0.5], 1, 16, 14))
    with pytest.raises(ValueError, match="wrap_sm"):
        SOSFilter(sos, overflow="wrap_sm")(fi([0.5], 0, 16, 14))
    f = SOSFilter(sos)
    f(np.ones(2))
    with pytest.raises(ValueError, match="reset"):
        f(fi([0.5], 1, 16, 14))


# -- specialised kernels -------------------------------------------------------------------------
@pytest.mark.parametrize("rounding,overflow",
                         list(zip(ref.ROUNDINGS, ref.OVERFLOWS * 2, strict=False)))
def test_mode_specialised_kernels_match_reference(rounding, overflow, monkeypatch):
    """Long frames run loops compiled for one mode pair: force them on short frames."""
    monkeypatch.setattr(SOSFilter, "SPECIALISE_MIN", 0)
    rng = np.random.default_rng(len(rounding) * 11 + len(overflow))
    Tb, Ta = numerictype(True, 10, 8), numerictype(True, 10, 8)
    b = [[int(v) for v in rng.integers(Tb.int_min, Tb.int_max, 3, endpoint=True)]
         for _ in range(2)]
    a = [[0, *(int(v) for v in rng.integers(Ta.int_min, Ta.int_max, 2, endpoint=True))]
         for _ in range(2)]
    Tx = numerictype(True, 12, 10)
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 150, endpoint=True)]
    for form in ("df1", "df2t"):
        f = SOSFilter(_sos_array(b, a, Tb, Ta), coef_type=(Tb, Ta), form=form,
                      section_type="sfix10_En7", product_type="sfix16_En12",
                      acc_type="sfix14_En9", state_type="sfix13_En9", output_type="sfix8_En5",
                      rounding=rounding, overflow=overflow)
        xf = fi.from_int(x, Tx)
        parts = [f(xf[p:q]) for p, q in itertools.pairwise([0, 40, 41, 150])]
        got = [int(v) for p in parts for v in p.int]
        assert got == sos_reference(b, a, x, f.types(), rounding, overflow, form)


# -- type tables, probes -------------------------------------------------------------------------
def test_type_table_entries_and_double_table():
    sos = signal.butter(2, 0.3, output="sos")
    T = fx.TypeTable({"eq.coef": "sfix14_En12", "eq.acc": "sfix32_En24",
                      "eq.section": "sfix16_En13", "eq.out": "sfix12_En10"})
    f = SOSFilter(sos, name="eq", types=T, acc_type="sfix30_En24")
    t = f.types("sfix16_En14")
    assert t["num_coef"] == t["den_coef"] == "sfix14_En12"
    assert t["acc"] == "sfix30_En24"  # the explicit argument wins
    assert t["section"] == "sfix16_En13" and t["out"] == "sfix12_En10"
    x = fi(np.linspace(-0.9, 0.9, 20), 1, 16, 14)
    assert f(x).numerictype == "sfix12_En10"
    d = SOSFilter(sos, name="eq", types=T.as_double())
    y = d(x)
    assert isinstance(y, np.ndarray)
    np.testing.assert_allclose(y, signal.sosfilt(sos, x.data), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_probes_report_every_signal_in_both_modes(form):
    from fixsim._core._typetable import signal_listening

    sos = signal.butter(4, 0.25, output="sos")
    f = SOSFilter(sos, name="bq", form=form, section_type="sfix18_En15",
                  acc_type="sfix40_En30", output_type="sfix16_En14")
    x = fi(np.random.default_rng(1).uniform(-0.5, 0.5, 64), 1, 16, 15)
    ev = []
    with signal_listening(ev.append):
        y1 = f(x[:30])
        y2 = f(x[30:])
    want = {"bq.num_coef", "bq.den_coef", "bq.in", "bq.product", "bq.acc", "bq.section", "bq.out"} | (
        {"bq.state"} if form == "df2t" else set())
    assert {e.name for e in ev} == want
    outs = [e for e in ev if e.name == "bq.out"]
    # the value arriving at the output cast is the last section's output (section type)
    S = f.types()["section"]
    got = np.concatenate([o.values for o in outs])
    assert np.array_equal(got * 2 ** S.fraction_length,
                          np.round(got * 2 ** S.fraction_length))
    assert outs[0].output is y1 and outs[1].output is y2
    # streamed with recording on: the same bits as one call without
    g = SOSFilter(sos, form=form, section_type="sfix18_En15", acc_type="sfix40_En30",
                  output_type="sfix16_En14")
    whole = g(x)
    assert np.concatenate([y1.int, y2.int]).tolist() == whole.int.tolist()
    # double mode: section outputs as sosfilt's, section by section
    h = SOSFilter(sos, name="bq", form=form)
    ev.clear()
    with signal_listening(ev.append):
        yd = h(x.data)
    assert {e.name for e in ev} == want and all(e.mode == "double" for e in ev)
    sec = [e for e in ev if e.name == "bq.section"]
    # one event per frame holds every section's values, section after section: the last
    # section's outputs come last
    np.testing.assert_allclose(sec[-1].output[-yd.size:], yd, rtol=0, atol=1e-15)


# -- derived ranges: l1 norm with a guaranteed tail ----------------------------------------------
def test_l1_bound_equals_the_analytic_worst_case():
    from fixsim._core._interval import Interval, range_listening

    # one real pole a: h[n] = a^n, sum |h| = 1 / (1 - |a|)
    for a in (0.5, -0.75, 0.96875):
        f = SOSFilter([[1, 0, 0, 1, -a, 0]], coef_type=("sfix8_En6", "sfix8_En6"))
        exact = 1.0 / (1.0 - abs(a))
        assert f.l1_norm() == pytest.approx(exact, rel=2e-9)
        assert f.l1_norm() >= exact * (1 - 1e-15)
        lo, hi = f.worst_case_output_range(-1.0, 1.0)
        assert hi == pytest.approx(exact, rel=2e-9) and lo == pytest.approx(-exact, rel=2e-9)
        assert hi >= exact * (1 - 1e-15)
    # a double pole: h[n] = (n + 1) a^n, sum = 1 / (1 - |a|)^2
    f = SOSFilter([[1, 0, 0, 1, -1.0, 0.25]], coef_type=("sfix8_En6", "sfix8_En6"))
    assert f.l1_norm() == pytest.approx(4.0, rel=2e-9) and f.l1_norm() >= 4.0
    # a cascade of positive impulse responses: the l1 norms multiply, and from reset with
    # inputs in [0.5, 1] the output range is [0.5 * h[0], 1 * sum h]
    sos = [[1, 0, 0, 1, -0.5, 0], [1, 0, 0, 1, -0.75, 0]]
    f = SOSFilter(sos, name="c", coef_type=("sfix8_En6", "sfix8_En6"), form="df1")
    ev = []
    with range_listening(ev.append):
        out = f(Interval(np.full(3, 0.5), np.full(3, 1.0)))
    got = {e.name: (e.lo, e.hi) for e in ev}
    assert got["c.out"][1] == pytest.approx(8.0, rel=2e-9) and got["c.out"][1] >= 8.0
    # (the margin is relative to l1 * max|x| = 8)
    assert got["c.out"][0] == pytest.approx(0.5, abs=8 * 2e-9) and got["c.out"][0] <= 0.5
    assert got["c.section"][1] == pytest.approx(8.0, rel=2e-9)
    assert (float(out.lo[0]), float(out.hi[0])) == got["c.out"]
    assert {"c.num_coef", "c.den_coef", "c.in", "c.product", "c.acc", "c.section", "c.out"} <= set(got)
    unstable = SOSFilter([[1, 0, 0, 1, -2.5, 1.5]], coef_type=("sfix16_En12", "sfix16_En12"))
    ev.clear()
    with range_listening(ev.append):
        o = unstable(Interval(np.array([-1.0]), np.array([1.0])))
    assert not o.bounded and any(e.reason for e in ev if e.name.endswith(".out"))


def test_butterworth_design_straight_from_scipy():
    """Coefficients straight from a scipy design; the quantized response is what the fixed
    coefficients really do."""
    sos = signal.butter(4, 0.2, output="sos")
    f = SOSFilter(sos, section_type="sfix18_En15", acc_type="sfix40_En30")
    assert f.num_coef_type == "sfix16_En13" and f.den_coef_type == "sfix16_En14"
    w, hq = f.freqz(256)
    _, h0 = f.freqz(256, quantized=False)
    _, href = signal.sosfreqz(sos, worN=256)
    np.testing.assert_allclose(h0, href, rtol=0, atol=1e-12)
    _, hexp = signal.sosfreqz(f.quantized_sos, worN=256)
    assert np.array_equal(hq, hexp)
    # 13 fraction bits on b0 = 0.0048 (40 LSBs): the passband moves by about 0.6 %
    assert 1e-3 < np.max(np.abs(np.abs(hq) - np.abs(h0))) < 1e-2


def test_recording_default_types_keeps_numerator_and_denominator_apart():
    """Regression: recording an SOSFilter with its default types raised, because the
    numerator and denominator coefficients (best precision, different fraction lengths) were
    both probed as ``<name>.coef``; they are ``num_coef`` and ``den_coef`` now, and a table
    entry for either one is used."""
    import scipy.signal as ss

    sos = ss.butter(4, 0.2, output="sos")
    f = SOSFilter(sos, name="sos")
    x = fi(np.linspace(-0.9, 0.9, 200), 1, 16, 15)
    with fx.tool.record() as rec:
        f(x)
    assert rec["sos.num_coef"].numerictype != rec["sos.den_coef"].numerictype
    T = fx.TypeTable({"sos.num_coef": "sfix18_En16", "sos.den_coef": "sfix18_En15"})
    g = SOSFilter(sos, name="sos", types=T)
    assert str(g.num_coef_type) == "sfix18_En16" and str(g.den_coef_type) == "sfix18_En15"


@pytest.mark.parametrize("types", [
    dict(product_type="sfix20_En16", acc_type="sfix24_En16", state_type="sfix18_En16",
         section_type="sfix12_En9"),
    dict(product_type="sfix16_En12", acc_type="sfix20_En12", state_type="sfix14_En12",
         section_type="sfix9_En8"),
    dict(product_type="sfix22_En18", acc_type="sfix26_En18", state_type="sfix20_En18",
         section_type="sfix14_En10"),
])
def test_specialised_kernels_compiled_per_shift_set_match_reference(types, monkeypatch):
    """Specialised biquad loops take their shifts as compile-time constants: two filters
    with different shifts in one process each get their own loop, both exact."""
    from fixsim._kernels import _filters as kf

    monkeypatch.setattr(SOSFilter, "SPECIALISE_MIN", 0)
    rng = np.random.default_rng(len(str(types)))
    Tb, Ta = numerictype(True, 10, 8), numerictype(True, 10, 8)
    b = [[int(v) for v in rng.integers(Tb.int_min, Tb.int_max, 3, endpoint=True)]
         for _ in range(3)]
    a = [[0, *(int(v) for v in rng.integers(Ta.int_min, Ta.int_max, 2, endpoint=True))]
         for _ in range(3)]
    Tx = numerictype(True, 12, 10)
    x = [int(v) for v in rng.integers(Tx.int_min, Tx.int_max, 120, endpoint=True)]
    for form in ("df1", "df2t"):
        for rounding, overflow in (("nearest", "saturate"), ("convergent", "wrap")):
            f = SOSFilter(_sos_array(b, a, Tb, Ta), coef_type=(Tb, Ta), form=form,
                          output_type="sfix8_En5", rounding=rounding, overflow=overflow,
                          **types)
            xf = fi.from_int(x, Tx)
            parts = [f(xf[p:q]) for p, q in itertools.pairwise([0, 50, 120])]
            got = [int(v) for p in parts for v in p.int]
            assert got == sos_reference(b, a, x, f.types(), rounding, overflow, form)
            key = (f"sos_{form}", int(f.rounding), int(f.overflow), False, True,
                   tuple(int(d) for d in f._sh))
            if form == "df1":  # df1 loops are also compiled per set of in-range casts
                key += (tuple(f._inrange),)
            assert key in kf._KERNELS  # the constant-shift loop ran


# -- df1: casts proven in range, same-type casts skipped ----------------------------------------
_DF1_TYPES = [
    # wide accumulator: every product and partial sum provably in range (the benchmark's case)
    dict(section_type="sfix12_En11", product_type="sfix22_En19", acc_type="sfix32_En17"),
    # narrow types: only some casts provably in range
    dict(section_type="sfix10_En7", product_type="sfix18_En14", acc_type="sfix14_En9"),
    dict(section_type="sfix10_En9", product_type=("sfix16_En15", "sfix20_En17"),
         acc_type="sfix24_En15"),
]


@pytest.mark.parametrize("types", range(len(_DF1_TYPES)))
@pytest.mark.parametrize("rounding,overflow",
                         list(zip(ref.ROUNDINGS, ref.OVERFLOWS * 2, strict=False)))
def test_df1_in_range_casts_specialised_match_reference(rounding, overflow, types,
                                                        monkeypatch):
    """The specialised df1 loop drops the overflow step of the casts proven in range: exact
    against the reference on inputs at the extremes of the section type (every mode pair),
    with the same overflow/underflow counts as the generic loop."""
    from fixsim._core import _probe

    kw = _DF1_TYPES[types]
    rng = np.random.default_rng(len(rounding) * 13 + len(overflow) + types)
    Tb, Ta = numerictype(True, 10, 8), numerictype(True, 10, 8)
    b = [[int(v) for v in rng.integers(Tb.int_min, Tb.int_max, 3, endpoint=True)]
         for _ in range(3)]
    b[0] = [Tb.int_min, Tb.int_max, Tb.int_min]
    a = [[0, *(int(v) for v in rng.integers(Ta.int_min, Ta.int_max, 2, endpoint=True))]
         for _ in range(3)]
    a[1] = [0, Ta.int_min, Ta.int_max]
    S = numerictype.parse(kw["section_type"])
    x = [int(v) for v in rng.choice([S.int_min, S.int_max, 0, -1, 1], 200)]
    x[50:80] = [int(v) for v in rng.integers(S.int_min, S.int_max, 30, endpoint=True)]
    sos = _sos_array(b, a, Tb, Ta)
    xf = fi.from_int(x, S)
    runs = []
    for spec in (0, 10 ** 9):
        monkeypatch.setattr(SOSFilter, "SPECIALISE_MIN", spec)
        f = SOSFilter(sos, coef_type=(Tb, Ta), form="df1", rounding=rounding,
                      overflow=overflow, **kw)
        ev = []
        with _probe.listening(ev.append):
            parts = [f(xf[p:q]) for p, q in itertools.pairwise([0, 40, 41, 200])]
        got = [int(v) for p in parts for v in p.int]
        # the stored coefficients (sat_sym moves a most negative one)
        exp = sos_reference(f._b64.tolist(), f._a64.tolist(), x, f.types(), rounding, overflow,
                            "df1")
        assert got == exp
        runs.append([(e.name, e.size, e.overflows, e.underflows) for e in ev])
    assert runs[0] == runs[1]
    if types == 0:
        assert all(f._inrange[:5])


@st.composite
def df1_range_cases(draw):
    S = draw(ntypes(2, 7, signed=draw(st.booleans())))
    Tb = draw(ntypes(2, 6, signed=True, fmin=0))
    Ta = draw(ntypes(2, 6, signed=True, fmin=0))
    Pn = draw(ntypes(2, 12, signed=draw(st.booleans())))
    Pd = draw(ntypes(2, 12, signed=draw(st.booleans())))
    A = draw(ntypes(2, 16, signed=draw(st.booleans())))
    b = draw(ints_of(Tb, 3))
    a = [0, *draw(ints_of(Ta, 2))]
    overflow = draw(st.sampled_from(["saturate", "wrap", "sat_sym", "sat_zero"]))
    return S, Tb, Ta, Pn, Pd, A, b, a, overflow


@given(df1_range_cases())
def test_df1_in_range_flags_are_sound(c):
    """Every cast the plan calls in range really never overflows: brute force over every
    section value and rounding mode (products, products into the accumulator), and over the
    extremes of the term ranges (partial sums)."""
    S, Tb, Ta, Pn, Pd, A, b, a, overflow = c
    try:
        f = SOSFilter(_sos_array([b], [a], Tb, Ta), coef_type=(Tb, Ta), form="df1",
                      section_type=S, product_type=(Pn, Pd), acc_type=A, overflow=overflow)
        f._plan(S)
    except ValueError:
        return
    xn, xd, xna, xda, xs, _ = f._inrange
    sym = overflow == "sat_sym"
    qb = [int(v) for v in f._b64[0]]
    qa = [int(v) for v in f._a64[0, 1:]]

    def inside(v, T):
        return (T.int_min + (1 if sym and T.signed else 0)) <= v <= T.int_max

    def rounded(v, d):  # every rounding lies between floor and floor + 1
        return {v >> d, (v >> d) + 1} if d > 0 else {v << -d}

    fs = S.fraction_length
    terms = ([], [])
    for k, (coefs, P, Tc, xflag, xaflag) in enumerate(((qb, Pn, Tb, xn, xna),
                                                       (qa, Pd, Ta, xd, xda))):
        d = fs + Tc.fraction_length - P.fraction_length
        da = P.fraction_length - A.fraction_length
        for cv in coefs:
            for u in range(S.int_min, S.int_max + 1):
                ps = rounded(cv * u, d)
                if xflag:
                    assert all(inside(p, P) for p in ps)
                else:
                    ps = {min(max(p, P.int_min), P.int_max) for p in ps}
                for p in ps:
                    ts = rounded(p, da)
                    if xaflag:
                        assert all(inside(t, A) for t in ts)
                    terms[k].extend(ts)
    if xs and xna and xda:
        hi = 3 * max(max(terms[0]), 0) + 2 * max(-min(terms[1]), 0)
        lo = 3 * min(min(terms[0]), 0) + 2 * min(-max(terms[1]), 0)
        assert inside(lo, A) and inside(hi, A)


@pytest.mark.parametrize("overflow", ref.OVERFLOWS)
def test_same_type_input_and_output_casts_are_skipped_exactly(overflow):
    """Input already in the section type and output in the section type: no cast pass (except
    under sat_sym, whose cast moves the most negative value), the same values and counts."""
    from fixsim._core import _probe

    Tb, Ta = numerictype(True, 10, 8), numerictype(True, 10, 8)
    b = [[100, -200, 100]]
    a = [[0, -300, 120]]
    S = numerictype(True, 8, 7)
    x = [S.int_min, S.int_max, 0, S.int_min, 5, -7] * 10
    for form in ("df1", "df2t"):
        f = SOSFilter(_sos_array(b, a, Tb, Ta), coef_type=(Tb, Ta), form=form,
                      section_type=S, acc_type="sfix20_En15", overflow=overflow)
        ev = []
        with _probe.listening(ev.append):
            got = [int(v) for v in f(fi.from_int(x, S)).int]
        assert got == sos_reference(b, a, x, f.types(), "nearest", overflow, form)
        names = [e.name for e in ev]
        assert "sos.in" in names and "sos.out" in names
        if overflow == "sat_sym":
            assert next(e for e in ev if e.name == "sos.in").overflows == 2 * 10


# -- derived ranges against real runs (fx.tool.derive vs fx.tool.record) ---------------------------
def _worst_inputs(sos, lo, hi, n):
    """Worst-case inputs in [lo, hi]: constant at each bound, alternating, and bang-bang
    inputs following the impulse response of every prefix of the cascade (either sign)."""
    k = np.arange(n)
    out = [np.full(n, lo), np.full(n, hi), np.where(k % 2, lo, hi), np.where(k % 2, hi, lo)]
    imp = np.r_[1.0, np.zeros(n - 1)]
    for s in range(1, len(sos) + 1):
        h = signal.sosfilt(np.atleast_2d(sos)[:s], imp)[::-1]
        out += [np.where(h >= 0, hi, lo), np.where(h >= 0, lo, hi)]
    return out


def _escapes(fn, T, lo, hi, n, inputs):
    """Every recorded signal (and the output) outside its derived range, over *inputs*."""
    d = fx.tool.derive(fn, (lo, hi), T, shape=n)
    bad = []
    for x in inputs:
        with fx.tool.record() as rec:
            out = fn(np.asarray(x, dtype=np.float64), T)
        for name in rec.names:
            st = rec[name]
            if st.finite_count and not (d[name].lo <= st.min and st.max <= d[name].hi):
                bad.append((name, st.min, st.max, d[name].lo, d[name].hi))
        v = out.data if isinstance(out, fi) else np.asarray(out)
        olo, ohi = d.output.hull()
        if not (olo <= v.min() and v.max() <= ohi):
            bad.append(("output", float(v.min()), float(v.max()), olo, ohi))
    return d, bad


@pytest.mark.parametrize("rounding", ["nearest", "floor", "ceil", "zero", "convergent"])
@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_derived_range_holds_the_rounding_noise_of_the_loop(form, rounding):
    """Bug: in fixed point the derived ranges were the linear l1 bound only, and the section
    cast's rounding, circulating in the feedback loop, took the real run past them
    ([[0.04, 0, 0, 1, -1.6, 0.64]], x sfix16_En14 all at -1: q.out -0.999267578125 against a
    derived -0.9990472570966084). Every rounding's error interval now reaches each section's
    output through 1/A of its section and the sections after it."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En14"})
    sos = [[0.04, 0, 0, 1, -1.6, 0.64]]

    def fn(x, T):
        return T.y(SOSFilter(sos, name="q", form=form, rounding=rounding)(T.x(x)))

    lo, hi = -1.0, 1 - 2 ** -14
    d, bad = _escapes(fn, T, lo, hi, 64, _worst_inputs(sos, lo, hi, 64))
    assert not bad, bad
    # tight: the linear bound plus l1(1/A) (about 1/(1 - 0.8)^2 = 25, all h >= 0) times the
    # section cast's error interval (full-precision products and accumulator: the only
    # rounding), rounded inward to the section type's grid (within one LSB of that)
    f = SOSFilter(sos, rounding=rounding)
    llo, lhi = f.worst_case_output_range(lo, hi)
    g = SOSFilter([[1, 0, 0, 1, *f.quantized_sos[0, 4:]]]).l1_norm()
    q = 2.0 ** -14
    d_ = 2.0 ** -f.types(numerictype(True, 16, 14))["acc"].fraction_length
    elo, ehi = {"nearest": (-q / 2 + d_, q / 2), "floor": (-(q - d_), 0.0),
                "ceil": (0.0, q - d_), "zero": (-(q - d_), q - d_),
                "convergent": (-q / 2, q / 2)}[rounding]
    lo_exact, hi_exact = llo + g * elo, lhi + g * ehi
    assert lo_exact - 1e-12 <= d["q.out"].lo < lo_exact + q
    assert hi_exact - q < d["q.out"].hi <= hi_exact + 1e-12


@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_derived_range_holds_butterworth_rounding_noise_bang_bang(form):
    """Bug: butter(4, 0.1) in fixed point (default types) with a bang-bang input reached
    1.248779296875 against a derived 1.24713134765625 (the linear bound): each section's
    rounding noise passes through the sections after it."""
    sos = signal.butter(4, 0.1, output="sos")
    T = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En14"})

    def fn(x, T):
        return T.y(SOSFilter(sos, name="q", form=form)(T.x(x)))

    lo, hi = -1.0, 1 - 2 ** -14
    d, bad = _escapes(fn, T, lo, hi, 128, _worst_inputs(sos, lo, hi, 128))
    assert not bad, bad
    assert d["q.out"].hi > SOSFilter(sos).worst_case_output_range(lo, hi)[1]


@pytest.mark.parametrize("types", [
    dict(product_type="sfix16_En10", acc_type="sfix20_En10", rounding="floor"),
    dict(acc_type="sfix24_En16", state_type="sfix18_En12", rounding="ceil"),
    dict(coef_type="sfix10_En7", product_type=("sfix14_En9", "sfix16_En11"),
         acc_type="sfix22_En12", state_type="sfix16_En12", rounding="zero"),
])
@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_derived_range_holds_product_accumulator_and_state_rounding(form, types):
    """Bug (as above): the products', accumulator's and states' roundings were left out of the
    derived ranges, too; narrow types, directed roundings, bang-bang inputs."""
    sos = [[0.2, 0.3, 0.1, 1, -1.2, 0.5], [0.5, -0.4, 0.25, 1, 0.3, 0.4]]
    T = fx.TypeTable({"x": "sfix12_En10", "y": "double"})

    def fn(x, T):
        return T.y(SOSFilter(sos, name="q", form=form, section_type="sfix14_En9",
                             **types)(T.x(x)))

    lo, hi = -1.0, 1 - 2 ** -10
    _, bad = _escapes(fn, T, lo, hi, 96, _worst_inputs(sos, lo, hi, 96))
    assert not bad, bad


@pytest.mark.parametrize("overflow", ["wrap", "sat_zero", "saturate"])
def test_derived_output_of_an_overflowing_output_or_section_type(overflow):
    """Bug: an output type with overflow='wrap' whose range the real bound exceeds
    ([[0.5, 0.5, 0, 1, -0.5, 0]], output_type='sfix8_En7', x in [0.5, 1], x = 0.99) was
    reported as the bound fit into the type; the run wrapped to -0.765625. The output is the
    cast of the section range (wrap: the type's whole range; sat_zero: 0 too), and a section
    whose casts may overflow has its output anywhere in the section type."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En12"})
    sos = [[0.5, 0.5, 0, 1, -0.5, 0]]

    def fn(x, T):
        return T.y(SOSFilter(sos, name="f", output_type="sfix8_En7", overflow=overflow)(T.x(x)))

    inputs = [*_worst_inputs(sos, 0.5, 1.0, 16), np.full(16, 0.99)]
    d, bad = _escapes(fn, T, 0.5, 1.0, 16, inputs)
    assert not bad, bad
    olo, ohi = d.output.hull()
    assert ohi == 1 - 2 ** -7
    if overflow == "wrap":
        assert olo == -1.0
    elif overflow == "sat_zero":
        assert olo <= 0.0
    # the section type itself overflows (its output reaches 2 = max + 1 LSB): anywhere in it
    assert (d["f.out"].lo, d["f.out"].hi) == (-2.0, 2 - 2 ** -14)


def test_derived_range_of_an_untyped_run_uses_the_designed_coefficients():
    """Bug: an untyped (double-run) Interval input into a block without a double table was
    bounded with the quantized coefficients, but the double run filters with the designed
    ones: butter(2, 0.25), bang-bang input in [-1, 1], iir.section 1.118054544512745 against
    a derived 1.118051510570504 (the quantized cascade's l1 norm)."""
    sos = signal.butter(2, 0.25, output="sos")
    T = fx.TypeTable({"x": "sfix16_En13", "y": "sfix16_En12"}).as_double()

    def fn(x, T):
        return T.y(SOSFilter(sos, name="iir")(T.x(x)))

    d, bad = _escapes(fn, T, -1.0, 1.0, 32, _worst_inputs(sos, -1.0, 1.0, 32))
    assert not bad, bad
    l1 = SOSFilter(sos).l1_norm(quantized=False)
    assert d["iir.section"].hi == pytest.approx(l1, rel=2e-9)
    assert d["iir.section"].hi > SOSFilter(sos).l1_norm(quantized=True) * (1 + 1e-8)


def test_derived_range_applies_the_section_type_input_cast():
    """Bug: the cast of the input into the section type was ignored: [[0.5, 0.5, 0, 1, 0,
    0]], section_type='sfix8_En4', x sfix16_En15 in [-0.3, 0.3] all at 0.3: f.section and
    f.out 0.3125 against a derived 0.2999877932687378."""
    T = fx.TypeTable({"x": "sfix16_En15", "y": "double"})
    sos = [[0.5, 0.5, 0, 1, 0, 0]]

    def fn(x, T):
        return T.y(SOSFilter(sos, name="f", section_type="sfix8_En4")(T.x(x)))

    d, bad = _escapes(fn, T, -0.3, 0.3, 8, _worst_inputs(sos, -0.3, 0.3, 8))
    assert not bad, bad
    assert (d["f.out"].lo, d["f.out"].hi) == (-0.3125, 0.3125)
    assert d["f.section"].hi == pytest.approx(0.3125, rel=1e-8)
