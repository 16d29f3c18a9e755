"""Independent review: the fixed-point tool (record, derive, propose, verify) on DSP chains
built from fixsim.signal blocks.

Written from docs/tool.md, docs/tool-derive.md, docs/signal-*.md and the public docstrings
only. Every check recomputes what fixsim reports (exact Fractions for types and ranges, own
double / fixed runs for errors) and compares stored integers with equality.

Chains:
  A  Model: symmetric FIR -> SOS (df1) -> Gain -> Saturation
  B  Model: NCO-driven mixer -> Convert -> CIC decimator -> Gain -> symmetric FIR decimator
     -> SOS (df2t) -> Gain -> Saturation
  C  Model: FIR interpolator -> CIC interpolator -> Gain -> Delay/Sum -> Upsample ->
     Downsample -> Convert -> Lookup1D
  D  a function: type-table casts around blocks built with ``types=`` (symmetric FIR
     decimator, df2t SOS, Gain, Saturation) and fixsim.signal.lfilter / sosfilt
"""

from __future__ import annotations

import math
from fractions import Fraction as Fr

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi
from fixsim.signal import (
    FIR,
    NCO,
    CICDecimator,
    CICInterpolator,
    Convert,
    Delay,
    Downsample,
    FIRDecimator,
    FIRInterpolator,
    Gain,
    Lookup1D,
    Model,
    Product,
    Saturation,
    SOSFilter,
    Sum,
    Upsample,
    lfilter,
    sosfilt,
)

HSET = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# == chain definitions ==========================================================================
H_A = ss.firwin(21, 0.3)                      # symmetric
SOS_A = ss.butter(3, 0.2, output="sos")


def build_a(T=None):
    m = Model("a")
    m.input("x")
    m.add(FIR(H_A, name="lp", form="symmetric", types=T), "x")
    m.add(SOSFilter(SOS_A, name="iir", form="df1", types=T), "lp")
    m.add(Gain(1.5, name="g", types=T), "iir")
    m.add(Saturation(-0.9, 0.9, name="sat", types=T), "g")
    m.output("y", "sat")
    return m


R_B, N_B = 8, 3
H_B = ss.firwin(24, 0.4)                      # even-length symmetric
SOS_B = ss.cheby1(2, 1, 0.3, output="sos")


def build_b(T=None):
    m = Model("b")
    m.input("x")
    m.add(NCO(3000, accumulator_word_length=16, quantizer_bits=12, waveform="sincos",
              output_type="sfix16_En14", name="lo", types=T))
    m.add(Product("**", name="mix", types=T), ["x", "lo:1"])
    m.add(Convert("sfix18_En16", name="cast", types=T), "mix")
    m.add(CICDecimator(R_B, 1, N_B, name="cic", types=T), "cast")
    m.add(Gain(2.0 ** -9, gain_type="ufix1_En9", name="scale", types=T), "cic")
    m.add(FIRDecimator(2, H_B, name="comp", form="symmetric", output_type="sfix18_En16",
                       types=T), "scale")
    m.add(SOSFilter(SOS_B, name="iir", form="df2t", types=T), "comp")
    m.add(Gain(0.8, name="g", types=T), "iir")
    m.add(Saturation(-0.5, 0.5, name="sat", types=T), "g")
    m.output("y", "sat")
    return m


H_C = ss.firwin(32, 0.2)
BP_C = np.linspace(-4, 4, 17)


def build_c(T=None):
    m = Model("c")
    m.input("x")
    m.add(FIRInterpolator(2, H_C, name="int", output_type="sfix18_En15", types=T), "x")
    m.add(CICInterpolator(4, 1, 3, name="cic", types=T), "int")
    m.add(Gain(1 / 32, name="sc", types=T), "cic")
    m.add(Delay(3, name="z", types=T), "sc")
    m.add(Sum("+-", name="df", types=T), ["sc", "z"])
    m.add(Upsample(2, name="us", types=T), "df")
    m.add(Downsample(3, name="ds", types=T), "us")
    m.add(Convert("sfix16_En12", name="cv", types=T), "ds")
    m.add(Lookup1D(BP_C, np.tanh(BP_C), name="lut", types=T), "cv")
    m.output("y", "lut")
    return m


H_D = ss.firwin(15, 0.25)
SOS_D = ss.ellip(4, 0.5, 40, 0.3, output="sos")
B_D, A_D = ss.butter(2, 0.25)
SOS_D2 = ss.cheby2(3, 30, 0.4, output="sos")

T_D = fx.TypeTable({
    "x": "sfix14_En13",
    "dec.coef": "sfix16_En16", "dec.preadd": "sfix15_En13", "dec.product": "sfix30_En29",
    "dec.acc": "sfix34_En29", "dec.out": "sfix18_En16",
    "bq.coef": "sfix16_En14", "bq.section": "sfix20_En16", "bq.product": "sfix36_En30",
    "bq.acc": "sfix40_En30", "bq.state": "sfix40_En30", "bq.out": "sfix20_En16",
    "mid": "sfix20_En16", "lf": "sfix24_En20", "sf": "sfix24_En20",
    "g.gain": "sfix16_En15", "g.out": "sfix24_En20", "sat.out": "sfix24_En20", "y": "sfix16_En14",
})


def chain_d(x, T):
    x = T.x(x)
    y = FIRDecimator(3, H_D, name="dec", form="symmetric", types=T)(x)
    y = SOSFilter(SOS_D, name="bq", form="df2t", types=T)(y)
    y = T.mid(y)
    y = T.lf(lfilter(B_D, A_D, y if isinstance(y, fx.tool.Interval) else np.asarray(y)))
    y = T.sf(sosfilt(SOS_D2, y if isinstance(y, fx.tool.Interval) else np.asarray(y)))
    y = Gain(0.6, name="g", types=T)(y)
    y = Saturation(-0.4, 0.4, name="sat", types=T)(y)
    return T.y(y)


def model_fn(build):
    def fn(x, T):
        return build(T).run(x, types=T)["y"]
    return fn


CHAINS = {
    "A": dict(fn=model_fn(build_a), T=build_a().type_table({"x": "sfix16_En15"}), shape=512,
              build=build_a),
    "B": dict(fn=model_fn(build_b), T=build_b().type_table({"x": "sfix12_En11"}), shape=512,
              build=build_b),
    "C": dict(fn=model_fn(build_c), T=build_c().type_table({"x": "sfix16_En15"}), shape=256,
              build=build_c),
    "D": dict(fn=chain_d, T=T_D, shape=480, build=None),
}
PARAMS = ("coef", "num_coef", "den_coef", "gain", "table")   # parameter signals


def is_param(name):
    return name.split(".")[-1] in PARAMS


_DERIVED = {}


def derived(key, fixed=False):
    k = (key, fixed)
    if k not in _DERIVED:
        c = CHAINS[key]
        T = c["T"] if fixed else c["T"].as_double()
        _DERIVED[k] = fx.tool.derive(c["fn"], (-1, 1), T, shape=c["shape"])
    return _DERIVED[k]


def impulse_response(key, n=400):
    """The linear part's impulse response from x to the last linear signal (double)."""
    imp = np.zeros(n)
    imp[0] = 1
    if key == "A":
        return ss.sosfilt(SOS_A, np.convolve(H_A, imp)[:n])
    if key == "C":
        return ss.upfirdn(H_C, imp, up=2)[:n]
    if key == "D":
        return H_D
    return np.array([1.0])


def worst_inputs(key, n=2048):
    """Bang-bang inputs following the sign of the (reversed) impulse response, full-scale
    constants and alternating signs."""
    h = impulse_response(key)
    bb = np.sign(h[::-1])
    bb[bb == 0] = 1
    out = [np.concatenate([bb, -bb, bb]), np.ones(n), -np.ones(n),
           np.tile([1.0, -1.0], n // 2), np.tile([1.0, 1.0, -1.0, -1.0], n // 4)]
    if key == "B":   # follow the local oscillator: the mixer's output is then |cos|
        ph = (3000 * np.arange(n)) % 2 ** 16 / 2 ** 16
        out.append(np.sign(np.cos(2 * np.pi * ph)) + 0.0)
    return out


def record_run(key, T, frames):
    """Run one streaming instance of the chain over the frames, recording."""
    c = CHAINS[key]
    outs = []
    with fx.tool.record() as rec:
        if c["build"] is not None:
            m = c["build"](T)
            outs = [m.run(f, types=T)["y"] for f in frames]
        else:
            outs = [c["fn"](f, T) for f in frames]
    return rec, outs


def assert_contained(rec, d, where, skip=()):
    missing = [n for n in rec.names if n not in d]
    assert not missing, f"{where}: recorded signals without a derived range: {missing}"
    bad = []
    for n in rec.names:
        if n in skip or rec[n].finite_count == 0:
            continue
        lo, hi = d[n].lo, d[n].hi
        if not (lo <= rec[n].min and rec[n].max <= hi):
            bad.append((n, rec[n].min, rec[n].max, lo, hi))
    assert not bad, f"{where}: recorded outside derived: {bad}"


# == 1. derived ranges contain the simulation ===================================================
@pytest.mark.parametrize("key", sorted(CHAINS))
def test_derived_contains_worst_case_double(key):
    d = derived(key)
    for i, x in enumerate(worst_inputs(key)):
        rec, _ = record_run(key, CHAINS[key]["T"].as_double(), [x])
        assert_contained(rec, d, f"chain {key} worst input {i}")
    # the derived ranges are those of the block model too (Model.ranges), for the models
    if CHAINS[key]["build"] is not None:
        Td = CHAINS[key]["T"].as_double()
        r = CHAINS[key]["build"](Td).ranges((-1, 1))
        for n, (lo, hi) in r.items():
            if n in d and not is_param(n):
                assert (lo, hi) == (d[n].lo, d[n].hi) or (math.isinf(lo) and math.isinf(d[n].lo)), n


@pytest.mark.parametrize("key", sorted(CHAINS))
@HSET
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["uniform", "edges", "sparse"]))
def test_derived_contains_random_double(key, seed, kind):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 1500))
    if kind == "uniform":
        x = rng.uniform(-1, 1, n)
    elif kind == "edges":
        x = rng.choice([-1.0, 1.0], n) * rng.uniform(0.97, 1.0, n)
    else:
        x = np.where(rng.uniform(size=n) < 0.1, rng.choice([-1.0, 1.0], n), 0.0)
    rec, _ = record_run(key, CHAINS[key]["T"].as_double(), [x])
    assert_contained(rec, derived(key), f"chain {key} {kind}")


@pytest.mark.parametrize("key", sorted(CHAINS))
def test_derived_fixed_table_contains_fixed_run(key):
    """derive with the fixed table against the fixed-point run (signal values, parameters
    are checked separately below)."""
    c = CHAINS[key]
    d = derived(key, fixed=True)
    rng = np.random.default_rng(5)
    for x in worst_inputs(key) + [rng.uniform(-1, 1, 1500)]:
        rec, _ = record_run(key, c["T"], [x])
        assert_contained(rec, d, f"chain {key} fixed",
                         skip=[n for n in rec.names if is_param(n)])


def test_derived_fixed_table_coefficients_sos():
    """The reported range is the range *arriving* at the cast (docs/tool-derive.md); for a
    coefficient that is the unquantized design value, which the fixed run records."""
    sos = np.array([[0.3, 0.2, 0.1, 1.0, -1.2505164308487402, 0.5457]])
    T = fx.TypeTable({"x": "sfix16_En15", "s.num_coef": "sfix8_En7", "s.den_coef": "sfix8_En6"})

    def fn(x, T):
        return SOSFilter(sos, name="s", types=T)(T.x(x))

    with fx.tool.record() as rec:
        fn(np.zeros(16), T)
    # the fixed run records the design values (arriving at the coefficient cast) ...
    assert rec["s.den_coef"].min == -1.2505164308487402
    # ... and the double-table derivation reports them
    dd = fx.tool.derive(fn, (-1, 1), T.as_double(), shape=16)
    assert dd["s.den_coef"].lo <= -1.2505164308487402


@pytest.mark.parametrize("blk", ["sos", "fir"])
def test_derived_fixed_table_coefficients_contain_recorded(blk):
    """Regression (found by this review): derive with a fixed table reported a block
    coefficient's range after its cast (the quantized coefficients), not the range arriving
    at the cast, which the fixed run records."""
    T = fx.TypeTable({"x": "sfix16_En15", "s.num_coef": "sfix8_En7", "s.den_coef": "sfix8_En6",
                      "f.coef": "sfix8_En7"})
    if blk == "sos":
        sos = np.array([[0.3, 0.2, 0.1, 1.0, -1.2505164308487402, 0.5457]])

        def fn(x, T):
            return SOSFilter(sos, name="s", types=T)(T.x(x))
        name = "s.den_coef"
    else:
        def fn(x, T):
            return FIR([0.3, 0.2], name="f", types=T)(T.x(x))    # 0.3 -> 38/128 < 0.3
        name = "f.coef"
    d = fx.tool.derive(fn, (-1, 1), T, shape=16)
    with fx.tool.record() as rec:
        fn(np.zeros(16), T)
    assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi


def test_derived_contains_double_fir_worst_case_to_the_ulp():
    """Regression (found by this review): derived ranges bounded the real values only; the
    double simulation at a bang-bang input rounded a few ulps beyond them."""
    bad = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        h = rng.normal(size=int(rng.integers(3, 40))) * rng.uniform(0.01, 3)
        Td = fx.TypeTable({"f.coef": "double", "f.product": "double", "f.acc": "double",
                           "f.out": "double", "f.in": "double"})
        d = fx.tool.derive(lambda x, T, h=h: FIR(h, name="f", types=T)(x), (-1, 1), Td,
                           shape=2 * h.size)
        with fx.tool.record() as rec:
            FIR(h, name="f", types=Td)(np.concatenate([np.sign(h[::-1]), -np.sign(h[::-1])]))
        for s in ("f.acc", "f.out"):
            if not (d[s].lo <= rec[s].min and rec[s].max <= d[s].hi):
                bad.append((seed, s))
    assert not bad, bad


# == 2. propose: zero overflows, best precision, reported numbers ===============================
def rep_range(nt):
    W, F, s = nt.word_length, nt.fraction_length, nt.signed
    lsb = Fr(2) ** -F
    return ((-(2 ** (W - 1)) * lsb, (2 ** (W - 1) - 1) * lsb) if s else (Fr(0), (2 ** W - 1) * lsb))


def _group(name, rec):
    """The signals one type must serve with *name* (the blocks report them: ``rec.tied``)."""
    for g in rec.tied:
        if name in g:
            return list(g)
    return [name]


def expected_range(name, rec, d, source):
    """The range a proposal covers: the signal's, or its tied group's union."""
    rs = [r for r in (_own_range(n, rec, d, source) for n in _group(name, rec))
          if r is not None]
    return (min(r[0] for r in rs), max(r[1] for r in rs))


def _own_range(name, rec, d, source):
    sim = (Fr(rec[name].min), Fr(rec[name].max)) if name in rec.names else None
    if source == "simulation":
        return sim
    der = (Fr(d[name].lo), Fr(d[name].hi)) if (d is not None and name in d) else None
    if source == "derived":
        return der
    if sim is None:
        return der
    return (min(sim[0], der[0]), max(sim[1], der[1]))


def check_proposal(p, rec, d, source, wl):
    for name, pt in p.items():
        if pt.locked or name not in rec.names:
            continue
        lo, hi = expected_range(name, rec, d, source)
        assert tuple(pt.range_used) == (lo, hi), (name, pt.range_used, (lo, hi))
        nt = pt.proposed
        assert nt.word_length == wl, name
        assert nt.signed == (lo < 0), name
        tlo, thi = rep_range(nt)
        assert tlo <= lo and hi <= thi, (name, str(nt), lo, hi)
        assert tuple(Fr(v) for v in pt.representable) == (tlo, thi), name
        assert Fr(pt.lsb) == Fr(2) ** -nt.fraction_length, name
        whole = source == "simulation" and all(rec[n].whole for n in _group(name, rec))
        if lo == hi == 0:
            assert nt.fraction_length == 0, name
        elif not whole:
            # best precision: one more fraction bit no longer holds the range
            finer = fx.numerictype(nt.signed, wl, nt.fraction_length + 1)
            flo, fhi = rep_range(finer)
            assert not (flo <= lo and hi <= fhi), (name, str(nt), lo, hi)
        # numbers reported on the recorded data
        st_ = rec[name]
        assert pt.overflows == 0 and pt.clip_fraction == 0, name
        assert tuple(pt.simulated) == (st_.min, st_.max), name
        terms = []
        if thi > 0 and Fr(st_.max) > 0:
            terms.append(Fr(st_.max) / thi)
        if tlo < 0 and Fr(st_.min) < 0:
            terms.append(Fr(st_.min) / tlo)
        if terms:
            assert pt.percent_range_used == pytest.approx(float(100 * max(terms)), rel=1e-12), name
        if st_.count and st_.exact_sum_squares:
            ms = st_.exact_sum_squares / st_.count
            lsb = Fr(2) ** -nt.fraction_length
            if st_.whole and nt.fraction_length >= 0:
                assert pt.sqnr_db == math.inf, name
            else:
                exp = 10 * (math.log10(ms.numerator) - math.log10(ms.denominator)
                            - math.log10((lsb ** 2 / 12).numerator)
                            + math.log10((lsb ** 2 / 12).denominator))
                assert pt.sqnr_db == pytest.approx(exp, rel=1e-9, abs=1e-9), name


def calibration(key, n_frames=3, n=1024, seed=11):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, n) for _ in range(n_frames)] + worst_inputs(key)[:3]


_CAL_REC = {}


def cal_recording(key):
    if key not in _CAL_REC:
        frames = calibration(key)
        # internals='values': the checks below recompute sums and histogram counts of every
        # signal, the blocks' products and accumulators included
        _CAL_REC[key] = fx.tool.collect(CHAINS[key]["fn"], frames, CHAINS[key]["T"].as_double(),
                                        internals="values")
    return _CAL_REC[key]


def sources_for(key):
    # the CIC decimator's integrators are unbounded by design (docs/signal-cic-nco.md), and
    # so, in double mode, are the CIC interpolator's (C): their float64 round-off grows with
    # the stream's length. propose refuses unbounded derived ranges: only the simulation
    # source applies there
    return ("simulation",) if key in ("B", "C") else ("simulation", "derived", "union")


@pytest.mark.parametrize("wl", [8, 12, 16, 24])
@pytest.mark.parametrize("key", sorted(CHAINS))
def test_propose_overflow_free_best_precision(key, wl):
    c = CHAINS[key]
    frames = calibration(key)
    rec = cal_recording(key)
    d = derived(key)
    for source in sources_for(key):
        kw = {"source": source} if source == "simulation" else {"source": source, "derived": d}
        p = fx.tool.propose(rec, c["T"], word_length=wl, **kw)
        check_proposal(p, rec, d, source, wl)
        P = p.types
        # rerun in fixed point on the calibration data, one run per frame as collect did
        with fx.tool.record() as rf, fx.count_quantization() as cq:
            outs = [c["fn"](f, P) for f in frames]
        assert all(isinstance(o, fi) for o in outs)
        ovf = {n: rf[n].overflows for n in rf.names if rf[n].overflows}
        # quantizations outside the named casts: Saturation limits quantized into a narrow
        # input type are counted by count_quantization ('lower'/'upper'), nothing else
        other = [e for e in cq.events if e.overflows and e.operation not in ("lower", "upper")]
        if source == "simulation":
            # documented: a range just below a limit can overflow in the fixed run, when
            # upstream quantization pushes that signal's value beyond the recorded double
            # extreme; every overflow must be of that kind
            for n in ovf:
                st_ = rf[n]
                assert st_.max > rec[n].max or st_.min < rec[n].min, (n, wl)
        else:
            assert not ovf, (source, wl, ovf)
            assert sum(e.overflows for e in other) == 0, (source, wl, other[:3])


def test_saturation_limit_quantization_counted():
    """Saturation(-0.5, 0.5) on an input type of range [-0.25, 0.25): the limits do not fit
    the input type; fixsim counts two overflows per call (observation, MATLAB reports
    'parameter overflow' for such limits)."""
    with fx.count_quantization() as c:
        Saturation(-0.5, 0.5, name="s")(fi([0.1, -0.2], 1, 16, 17))
    ops = sorted(e.operation for e in c.events if e.overflows)
    assert ops == ["lower", "upper"]


def test_propose_whole_and_power_of_two_edges():
    T = fx.TypeTable({"a": "double", "b": "double", "z": "double", "c": "double"})

    def fn(x, T):
        T.a(np.round(x * 100))                 # whole numbers
        T.b(x * (1 - 2.0 ** -9))               # just below 1: 8 bits need an integer bit
        T.z(x * 0)
        return T.c(x)

    rec = fx.tool.collect(fn, [np.array([-1.0, 1.0, 0.5])], T)
    p = fx.tool.propose(rec, T, word_length=8)
    assert str(p["a"].proposed) == "sfix8"
    assert str(p["b"].proposed) == "sfix8_En6"
    assert str(p["z"].proposed) == "ufix8"
    assert str(p["c"].proposed) == "sfix8_En6"
    check_proposal(p, rec, None, "simulation", 8)


# == 3. verify: recomputed errors ===============================================================
@pytest.mark.parametrize("key", ["A", "B", "C", "D"])
def test_verify_numbers(key):
    c = CHAINS[key]
    frames = calibration(key, n_frames=2, n=700, seed=3)
    rec = fx.tool.collect(c["fn"], frames, c["T"].as_double())
    P = fx.tool.propose(rec, c["T"], word_length=16).types
    chk = fx.tool.verify(c["fn"], frames, P)
    with fx.tool.record() as rf:
        fixed = [c["fn"](f, P) for f in frames]
    double = [c["fn"](f, P.as_double()) for f in frames]
    e = [Fr(a) - Fr(float(b)) for fo, do in zip(fixed, double, strict=True)
         for a, b in zip(fo.exact().ravel(), np.ravel(do), strict=True)]
    ref2 = sum(Fr(float(b)) ** 2 for do in double for b in np.ravel(do))
    e2 = sum(v * v for v in e)
    o = chk.outputs["output"]
    assert o.count == len(e)
    assert o.max_abs_error == float(max(abs(v) for v in e))
    assert o.rms_error == pytest.approx(math.sqrt(e2 / len(e)), rel=1e-12)
    exp_sqnr = math.inf if e2 == 0 else 10 * math.log10(ref2 / e2)
    assert o.sqnr_db == pytest.approx(exp_sqnr, rel=1e-12)
    assert chk.output_sqnr_db == o.sqnr_db
    assert np.array_equal(o.error[: len(e)], np.array([float(v) for v in e[: o.error.size]]))
    # per-signal overflow counts are those of the fixed run's casts
    for n in rf.names:
        if n in chk:
            assert chk[n].overflows == rf[n].overflows, n
            assert chk[n].count == rf[n].count, n
    assert chk.overflows == sum(chk[n].overflows for n in chk) + sum(
        v.overflows for v in chk.outputs.values())


@pytest.mark.parametrize("blk", ["sos", "fir", "firdecim", "firinterp"])
def test_verify_coefficient_error(blk):
    """Regression (found by this review): verify's error for coefficient signals was not
    fixed - double (SOSFilter reported 0, the FIR blocks compared with the coefficients
    quantized to the default 16 bits)."""
    c = [0.3, 0.2, 0.2, 0.3]
    T = fx.TypeTable({"x": "sfix16_En15", "s.num_coef": "sfix8_En7", "s.den_coef": "sfix8_En6",
                      "f.coef": "sfix8_En7"})
    make = {
        "sos": lambda T: SOSFilter([[0.3, 0.2, 0.2, 1.0, -0.5, 0.25]], name="s", types=T),
        "fir": lambda T: FIR(c, name="f", types=T),
        "firdecim": lambda T: FIRDecimator(2, c, name="f", types=T),
        "firinterp": lambda T: FIRInterpolator(2, c, name="f", types=T),
    }[blk]

    def fn(x, T):
        return make(T)(T.x(x))

    chk = fx.tool.verify(fn, [np.linspace(-0.5, 0.5, 20)], T)
    name = "s.num_coef" if blk == "sos" else "f.coef"
    q = np.array([38, 26, 26, 38])[: chk[name].count] / 128      # round(c * 128) / 128
    assert np.array_equal(chk[name].error, q - np.array(c)[: q.size])


def test_gain_records_arriving_gain_in_fixed_mode():
    """Regression (found by this review): in fixed mode Gain recorded the quantized gain, not
    the value arriving at its cast."""
    with fx.tool.record() as rec:
        Gain(0.3, name="g", gain_type="sfix8_En7")(fi([0.5], 1, 16, 15))
        FIR([0.3], name="f", coef_type="sfix8_En7")(fi([0.5], 1, 16, 15))
    assert rec["f.coef"].max == 0.3          # FIR: the arriving value
    assert rec["g.gain"].max == 0.3          # seen: 0.296875


def test_sum_subtract_typed_accumulator_tool_flow():
    """record -> derive -> propose(union) -> fixed run of ``a - b`` (a in [0.5, 1], b = a/2).

    Regression (found by this review): the negated input was cast into the accumulator, so an
    unsigned accumulator saturated it to 0, and the fixed run reported more 'acc' values than
    the double run, so verify raised."""
    T = fx.TypeTable({"a": "double", "b": "double", "s.acc": "double", "s.out": "double"})

    def fn(x, T):
        return Sum("+-", name="s", types=T)(T.a(x), T.b(x * 0.5))

    x = np.array([0.5, 0.75, 1.0])
    rec = fx.tool.collect(fn, [x], T)
    d = fx.tool.derive(fn, (0.5, 1), T, shape=3)
    P = fx.tool.propose(rec, T, word_length=8, source="union", derived=d).types
    with fx.tool.record() as rf:
        y = fn(x, P)
    # seen: s.acc is ufix8_En7, cast(-b) saturates to 0, y = a instead of a - b, 3 overflows
    assert rf["s.acc"].overflows == 0
    assert np.array_equal(y.data, x - x * 0.5)


# == 4. streaming ===============================================================================
def split(x, cuts):
    return np.split(x, sorted(set(cuts)))


@pytest.mark.parametrize("key", ["A", "B", "C"])
@HSET
@given(data=st.data())
def test_streaming_recording_and_bits(key, data):
    c = CHAINS[key]
    seed = data.draw(st.integers(0, 2**31))
    x = np.random.default_rng(seed).uniform(-1, 1, 1200)
    cuts = data.draw(st.lists(st.integers(1, x.size - 1), min_size=1, max_size=8))
    parts = split(x, cuts)
    rng = np.random.default_rng(seed + 1)
    for T in (c["T"].as_double(), c["T"],
              fx.tool.propose(cal_recording(key), c["T"], word_length=12).types):
        r1, o1 = record_run(key, T, [x])
        r2, o2 = record_run(key, T, parts)
        assert r1.names == r2.names or set(r1.names) == set(r2.names)
        for n in r1.names:
            if is_param(n):      # parameters are reported once per frame
                assert (r1[n].min, r1[n].max) == (r2[n].min, r2[n].max), n
            else:
                assert r1[n] == r2[n], n
        if isinstance(o1[0], fi):
            assert all(o.numerictype == o1[0].numerictype for o in o2)
            assert np.array_equal(o1[0].int, np.concatenate([o.int for o in o2]))
        else:
            assert np.array_equal(o1[0], np.concatenate(o2))
        # a recording of part of the stream merged with the rest equals the whole
        k = int(rng.integers(1, len(parts) + 1))
        m = c["build"](T)
        with fx.tool.record() as ra:
            for f in parts[:k]:
                m.run(f, types=T)
        with fx.tool.record() as rb:
            for f in parts[k:]:
                m.run(f, types=T)
        assert ra.merge(rb) == r2


def test_recording_save_load_roundtrip(tmp_path):
    rec = cal_recording("A")
    rec.save(tmp_path / "r.json")
    assert fx.tool.Recording.load(tmp_path / "r.json") == rec
