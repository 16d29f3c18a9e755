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
