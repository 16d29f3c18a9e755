"""Independent end-to-end review of the fixed-point tool (record, derive, propose, verify).

Written against the documented contract only (docs/tool.md, docs/tool-derive.md, docs/nn.md
and the public docstrings). A DSP chain and two small networks of our own go through
record -> derive -> propose -> verify via the public API, and every reported number is
recomputed independently with plain numpy, ``fractions.Fraction`` and Python ints:

* the recomputation replaces the ``TypeTable`` by a "spy" table of our own, which captures the
  exact values arriving at each named cast and quantizes them itself (MATLAB ``nearest``:
  ties toward +inf; ``saturate``), so it shares no code with fixsim.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim import nn
from fixsim.tool import Interval

# ----------------------------------------------------------------------------------------------
# Independent helpers
# ----------------------------------------------------------------------------------------------


def tparse(t):
    """(signed, W, F) of a numerictype or a type name (public attributes only)."""
    if isinstance(t, str):
        t = fx.numerictype.parse(t)
    return bool(t.signed), int(t.word_length), int(t.fraction_length)


def qlimits(s, w, f):
    """Stored-integer limits."""
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if s else (0, (1 << w) - 1)


def exact_min_max(s, w, f):
    lo, hi = qlimits(s, w, f)
    return Fraction(lo) / Fraction(2) ** f, Fraction(hi) / Fraction(2) ** f


def quantize(x, s, w, f):
    """MATLAB nearest (ties toward +inf) and saturate, exactly. Returns (values, ovf, unf)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    qlo, qhi = qlimits(s, w, f)
    out = np.empty(x.size)
    ovf = np.zeros(x.size, bool)
    unf = np.zeros(x.size, bool)
    for i, v in enumerate(x.tolist()):
        fr = Fraction(v) * Fraction(2) ** f
        q = math.floor(fr + Fraction(1, 2))
        if q > qhi or q < qlo:
            ovf[i] = True
            q = min(max(q, qlo), qhi)
        if q == 0 and v != 0:
            unf[i] = True
        out[i] = float(Fraction(q) / Fraction(2) ** f)
    return out, ovf, unf


class SpyCast:
    def __init__(self, table, name):
        self.table, self.name = table, name

    def __call__(self, x):
        t = self.table.types[self.name]
        v = np.array(np.asarray(x, dtype=np.float64), dtype=np.float64)
        self.table.arrived.setdefault(self.name, []).append(v.ravel().copy())
        if t == "double":
            out, ovf, unf = v.ravel(), np.zeros(v.size, bool), np.zeros(v.size, bool)
        else:
            out, ovf, unf = quantize(v, *t)
        self.table.after.setdefault(self.name, []).append(out.copy())
        self.table.ovf.setdefault(self.name, []).append(ovf)
        self.table.unf.setdefault(self.name, []).append(unf)
        return out.reshape(v.shape)


class SpyT:
    """A stand-in type table: captures arriving values, quantizes independently."""

    def __init__(self, types):
        self.types = {k: (v if v == "double" else tparse(v)) for k, v in types.items()}
        self.arrived, self.after, self.ovf, self.unf = {}, {}, {}, {}

    def __getitem__(self, name):
        if name not in self.types:
            raise KeyError(name)
        return SpyCast(self, name)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("types", "arrived", "after", "ovf", "unf"):
            raise AttributeError(name)
        return self[name]

    def cat(self, d, name):
        return np.concatenate(d.get(name, [np.zeros(0)]))


def spy_types_of(table: fx.TypeTable):
    out = {}
    for name in table.names:
        t = table.type_of(name)
        out[name] = "double" if (isinstance(t, str) and t in ("double", "inherit")) else t
    return out


def frac_sum(values):
    return sum((Fraction(v) for v in values.tolist()), Fraction(0))


def correctly_rounded_sqrt(v: Fraction) -> float:
    if v == 0:
        return 0.0
    c = math.sqrt(float(v))
    while v >= ((Fraction(c) + Fraction(math.nextafter(c, math.inf))) / 2) ** 2:
        c = math.nextafter(c, math.inf)
    while v < ((Fraction(c) + Fraction(math.nextafter(c, -math.inf))) / 2) ** 2:
        c = math.nextafter(c, -math.inf)
    return c


def check_stats(st_, vals, ovf=0, unf=0, detail="full"):
    """Every documented SignalStats statistic against plain recomputation on *vals*."""
    vals = np.asarray(vals, dtype=np.float64)
    assert st_.count == vals.size
    fin = vals[np.isfinite(vals)]
    assert st_.finite_count == fin.size
    assert st_.nan_count == int(np.isnan(vals).sum())
    assert st_.inf_count == int(np.isinf(vals).sum())
    assert st_.zeros == int((vals == 0).sum())
    assert st_.min == float(fin.min()) and st_.max == float(fin.max())
    assert st_.max_abs == float(np.abs(fin).max())
    assert st_.whole == bool(np.all(fin == np.floor(fin)))
    assert st_.overflows == ovf and st_.underflows == unf
    nz = fin[fin != 0]
    _, e = np.frexp(nz)
    ks, cs = np.unique(e, return_counts=True)
    assert st_.log2_histogram == {int(k): int(c) for k, c in zip(ks, cs, strict=True)}
    if detail != "full":
        return
    n = fin.size
    s = frac_sum(fin)
    s2 = sum((Fraction(v) ** 2 for v in fin.tolist()), Fraction(0))
    assert st_.exact_sum == s and st_.exact_sum_squares == s2
    assert st_.sum == float(s) and st_.sum_squares == float(s2)
    assert st_.mean == float(s / n)
    var = s2 / n - (s / n) ** 2
    assert st_.var == float(var)
    assert st_.std == correctly_rounded_sqrt(var)
    assert st_.rms == correctly_rounded_sqrt(s2 / n)


def best_fraction_length(lo: Fraction, hi: Fraction, w: int, signed: bool):
    """Largest F with T.min <= lo and hi <= T.max, found by exact search (no log2 rule)."""
    best = None
    for f in range(-300, 300):
        tmin, tmax = exact_min_max(signed, w, f)
        if tmin <= lo and hi <= tmax:
            best = f
        else:
            if best is not None:
                break
    return best


def margin_range(lo, hi, margin):
    k = 1 + Fraction(str(margin)) / 100
    return Fraction(lo) * k, Fraction(hi) * k


# ----------------------------------------------------------------------------------------------
# Our own DSP chain: gain -> FIR (np.convolve) -> biquad (lfilter; a sample loop on intervals)
# -> decimate by 2 -> abs/clip, maximum -> sums, plus a whole-number count signal.
# ----------------------------------------------------------------------------------------------

H = ss.firwin(9, 0.3)
BB = np.array([0.25, 0.5, 0.25])
AA = np.array([1.0, -0.3, -0.18])  # poles 0.6 and -0.3: |a1| + |a2| < 1, intervals converge
FRAME = 48
DSP_NAMES = ["x", "gain", "fir.acc", "fir.y", "bq.y", "dec", "mag", "mx", "npos", "tot"]


def val(v):
    if isinstance(v, Interval):
        return v
    if isinstance(v, fx.fi):
        return np.asarray(v.data, dtype=np.float64)
    return np.asarray(v, dtype=np.float64)


def biquad(u):
    if not isinstance(u, Interval):
        return ss.lfilter(BB, AA, u)
    y = np.zeros_like(u)
    for i in range(u.shape[0]):
        acc = BB[0] * u[i]
        if i >= 1:
            acc = acc + BB[1] * u[i - 1] - AA[1] * y[i - 1]
        if i >= 2:
            acc = acc + BB[2] * u[i - 2] - AA[2] * y[i - 2]
        y[i] = acc
    return y


def dsp_chain(x, T):
    x = T.x(x)
    g = T.gain(val(x) * 0.75)
    acc = T["fir.acc"](np.convolve(val(g), H))
    f = T["fir.y"](acc)
    b = T["bq.y"](biquad(val(f)))
    d = T.dec(val(b)[::2])
    a = T.mag(np.clip(np.abs(val(d)), 0.0, 0.6))
    m = T.mx(np.maximum(val(d), -0.1))
    npos = T.npos(np.sum(np.where(val(d) > 0.05, 1.0, 0.0)))
    return T.tot(np.sum(val(a)) + np.sum(val(m)) + 0.01 * val(npos))


T_DSP = fx.TypeTable({n: "double" for n in DSP_NAMES})


def dsp_frames(seed=0, n=12):
    rng = np.random.default_rng(seed)
    frames = [rng.uniform(-1, 1, FRAME) for _ in range(n)]
    frames.append(np.ones(FRAME))
    frames.append(-np.ones(FRAME))
    frames.append(np.where(np.arange(FRAME) % 2 == 0, 1.0, -1.0))
    frames.append(np.zeros(FRAME))
    return frames


def spy_run(fn, frames, types):
    spy = SpyT(types)
    outs = [np.asarray(fn(fr, spy), dtype=np.float64).ravel() for fr in frames]
    return spy, outs


@pytest.fixture(scope="module")
def dsp_derived():
    return fx.tool.derive(dsp_chain, (-1, 1), T_DSP, shape=FRAME)


@pytest.fixture(scope="module")
def dsp_rec():
    return fx.tool.collect(dsp_chain, dsp_frames(), T_DSP)


# ---- recording ---------------------------------------------------------------------------------


def test_dsp_recorded_stats_match_recomputation(dsp_rec):
    spy, _ = spy_run(dsp_chain, dsp_frames(), spy_types_of(T_DSP))
    assert dsp_rec.names == DSP_NAMES
    for name in DSP_NAMES:
        check_stats(dsp_rec[name], spy.cat(spy.arrived, name))
        assert dsp_rec[name].numerictype is None


def test_dsp_recorded_overflow_underflow_counts_against_current_type():
    # A deliberately narrow fixed table: overflows and underflows happen at several probes.
    types = {"x": "sfix8_En7", "gain": "sfix8_En8", "fir.acc": "sfix10_En9", "fir.y": "sfix6_En5",
             "bq.y": "sfix8_En7", "dec": "sfix8_En7", "mag": "ufix6_En6", "mx": "sfix8_En8",
             "npos": "ufix4_En0", "tot": "sfix8_En3"}
    T = fx.TypeTable(types)
    frames = dsp_frames(3, 6)
    with fx.tool.record() as rec:
        for fr in frames:
            dsp_chain(fr, T)
    spy, _ = spy_run(dsp_chain, frames, types)
    assert sum(int(spy.cat(spy.ovf, n).sum()) for n in DSP_NAMES) > 0
    assert sum(int(spy.cat(spy.unf, n).sum()) for n in DSP_NAMES) > 0
    for name in DSP_NAMES:
        vals = spy.cat(spy.arrived, name)
        check_stats(rec[name], vals, int(spy.cat(spy.ovf, name).sum()),
                    int(spy.cat(spy.unf, name).sum()))
        assert tparse(rec[name].numerictype) == tparse(types[name])


def test_dsp_ranges_detail_and_merge_and_roundtrip(tmp_path, dsp_rec):
    frames = dsp_frames()
    ranges = fx.tool.collect(dsp_chain, frames, T_DSP, recording=fx.tool.Recording(detail="ranges"))
    spy, _ = spy_run(dsp_chain, frames, spy_types_of(T_DSP))
    for name in DSP_NAMES:
        assert ranges[name].detail == "ranges"
        check_stats(ranges[name], spy.cat(spy.arrived, name), detail="ranges")
        with pytest.raises(ValueError):
            _ = ranges[name].mean
    parts = fx.tool.collect(dsp_chain, frames[:5], T_DSP).merge(
        fx.tool.collect(dsp_chain, frames[5:], T_DSP))
    assert parts == dsp_rec
    path = tmp_path / "rec.json"
    dsp_rec.save(path)
    assert fx.tool.Recording.load(path) == dsp_rec


# ---- derived ranges ----------------------------------------------------------------------------


def assert_contained(derived, spy, names):
    for name in names:
        v = spy.cat(spy.arrived, name)
        r = derived[name]
        assert r.bounded
        assert np.all(v >= r.lo) and np.all(v <= r.hi), (name, v.min(), v.max(), r.lo, r.hi)


def test_dsp_derived_contains_corners_and_random(dsp_derived):
    frames = dsp_frames(1, 40)
    # worst-case patterns for the FIR and the biquad: sign patterns of the taps
    for k in range(len(H)):
        fr = np.ones(FRAME)
        fr[k::len(H)] = -1
        frames.append(fr)
    frames.append(np.sign(np.resize(H[::-1], FRAME)))
    frames.append(-np.sign(np.resize(H[::-1], FRAME)))
    spy, outs = spy_run(dsp_chain, frames, spy_types_of(T_DSP))
    assert_contained(dsp_derived, spy, DSP_NAMES)
    o = np.concatenate(outs)
    lo, hi = dsp_derived.output.hull()
    assert np.all(o >= lo) and np.all(o <= hi)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from([-1.0, 1.0, 0.0]),
                          st.floats(-1, 1, allow_nan=False)), min_size=FRAME, max_size=FRAME))
def test_dsp_derived_contains_hypothesis(dsp_derived, xs):
    spy, _ = spy_run(dsp_chain, [np.array(xs)], spy_types_of(T_DSP))
    assert_contained(dsp_derived, spy, DSP_NAMES)


def test_dsp_derived_fir_bound_is_the_analytic_worst_case(dsp_derived):
    # the FIR of a frame at least as long as its taps reaches sum|h| * max|g| exactly (or one
    # float outward), as documented
    exact = 0.75 * sum(abs(Fraction(h)) for h in H)
    hi = Fraction(dsp_derived["fir.acc"].hi)
    assert exact <= hi <= exact * (1 + Fraction(1, 2**48))
    assert dsp_derived["x"].lo == -1.0 and dsp_derived["x"].hi == 1.0
    assert (dsp_derived["gain"].lo, dsp_derived["gain"].hi) == (-0.75, 0.75)
    assert (dsp_derived["mag"].lo, dsp_derived["mag"].hi) == (0.0, 0.6)
    assert dsp_derived["mx"].lo == -0.1
    npos = dsp_derived["npos"]
    assert npos.lo == 0.0 and npos.hi <= len(range(0, FRAME + len(H) - 1, 2))
    assert npos.hi == int(npos.hi)


# ---- proposals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [8, 16, 24])
@pytest.mark.parametrize("margin", [0, 0.1, 10, 50])
def test_dsp_propose_best_precision(dsp_rec, wl, margin):
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=wl, margin=margin)
    for name in DSP_NAMES:
        st_ = dsp_rec[name]
        lo, hi = margin_range(st_.min, st_.max, margin)
        q = p[name]
        assert q.range_used == (lo, hi), name
        s, w, f = tparse(q.proposed)
        assert w == wl and s == (lo < 0), name
        expect = best_fraction_length(lo, hi, wl, s)
        if st_.whole:
            expect = min(expect, 0)
        assert f == expect, (name, q.proposed, expect)
        tmin, tmax = exact_min_max(s, w, f)
        assert tmin <= lo and hi <= tmax
        if not st_.whole:  # best precision: one more fraction bit would not cover
            tmin1, tmax1 = exact_min_max(s, w, f + 1)
            assert not (tmin1 <= lo and hi <= tmax1), name
        assert q.overflows == 0 and q.clip_fraction == 0
        assert q.representable == (float(tmin), float(tmax)) or q.representable == (tmin, tmax)
        assert q.lsb == 2.0 ** -f
        assert p.types.type_of(name) == q.proposed


@pytest.mark.parametrize("wl", [8, 16, 24])
def test_dsp_proposed_types_zero_overflows_on_the_data(dsp_rec, wl):
    frames = dsp_frames()
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=wl)
    # the recorded double values cast into the proposed types: no overflow (our quantizer)
    spy, _ = spy_run(dsp_chain, frames, spy_types_of(T_DSP))
    for name in DSP_NAMES:
        _, ovf, _ = quantize(spy.cat(spy.arrived, name), *tparse(p[name].proposed))
        assert ovf.sum() == 0, name
    # the algorithm rerun in the proposed types (with the small margin the docs recommend for
    # the upstream quantization errors): zero overflows, counted by fixsim and by us
    pm = fx.tool.propose(dsp_rec, T_DSP, word_length=wl, margin=5)
    check = fx.tool.verify(dsp_chain, frames, pm.types)
    spyf, _ = spy_run(dsp_chain, frames, spy_types_of(pm.types))
    assert check.overflows == 0
    assert all(spyf.cat(spyf.ovf, n).sum() == 0 for n in DSP_NAMES)


def test_dsp_propose_derived_and_union(dsp_rec, dsp_derived):
    pd = fx.tool.propose(dsp_derived, T_DSP, word_length=16)
    pu = fx.tool.propose(dsp_rec, T_DSP, word_length=16, derived=dsp_derived)
    for name in DSP_NAMES:
        d = dsp_derived[name]
        lo, hi = Fraction(d.lo), Fraction(d.hi)
        assert pd[name].range_used == (lo, hi)
        s, w, f = tparse(pd[name].proposed)
        assert s == (lo < 0) and f == best_fraction_length(lo, hi, 16, s), name
        st_ = dsp_rec[name]
        ulo, uhi = min(lo, Fraction(st_.min)), max(hi, Fraction(st_.max))
        assert pu[name].range_used == (ulo, uhi)
        assert pu[name].source == "union"
        s, w, f = tparse(pu[name].proposed)
        assert f == best_fraction_length(ulo, uhi, 16, s), name
    # derived types are guaranteed: any input in the design range, rerun in those types
    # with a derived range of the *fixed* table, gives no overflow in the double run
    spy, _ = spy_run(dsp_chain, dsp_frames(5, 20), spy_types_of(T_DSP))
    for name in DSP_NAMES:
        _, ovf, _ = quantize(spy.cat(spy.arrived, name), *tparse(pd[name].proposed))
        assert ovf.sum() == 0


def test_whole_number_rule_follows_the_simulation_range_only(dsp_rec, dsp_derived):
    """The documented scope of the whole-number rule: the simulation range gives a recorded
    all-whole signal F = 0; a union also covers derived values nobody recorded, so its
    fraction length is the best precision for the range."""
    assert dsp_rec["npos"].whole
    pu = fx.tool.propose(dsp_rec, T_DSP, word_length=16, derived=dsp_derived)
    ps = fx.tool.propose(dsp_rec, T_DSP, word_length=16, source="simulation")
    assert tparse(ps["npos"].proposed)[2] == 0
    lo, hi = pu["npos"].range_used
    assert tparse(pu["npos"].proposed)[2] == best_fraction_length(lo, hi, 16, False)


def test_dsp_fraction_length_and_both(dsp_rec):
    p = fx.tool.propose(dsp_rec, T_DSP, fraction_length=12)
    for name in DSP_NAMES:
        st_ = dsp_rec[name]
        lo, hi = Fraction(st_.min), Fraction(st_.max)
        s, w, f = tparse(p[name].proposed)
        assert f == 12 and s == (lo < 0)
        ok = [ww for ww in range(1, 80) if exact_min_max(s, ww, 12)[0] <= lo
              and hi <= exact_min_max(s, ww, 12)[1]]
        assert w == ok[0], name
    p2 = fx.tool.propose(dsp_rec, T_DSP, word_length=20, fraction_length=12)
    for name in DSP_NAMES:
        assert tparse(p2[name].proposed)[1:] == (20, 12)


# ---- clipping policies -------------------------------------------------------------------------


def heavy_tailed(x, T):
    return T.s(x)


T_HEAVY = fx.TypeTable({"s": "double"})


@pytest.fixture(scope="module")
def heavy():
    x = np.random.default_rng(4).laplace(0, 1, 20000)
    return x, fx.tool.collect(heavy_tailed, [x], T_HEAVY)


def fine_bin(v):
    """The documented fine bin of |v|: [2**(e-1)(1+j/16), 2**(e-1)(1+(j+1)/16))."""
    m, e = math.frexp(abs(v))
    j = int((m * 2 - 1) * 16)
    lo = Fraction(2) ** (e - 1) * (1 + Fraction(j, 16))
    return lo, lo + Fraction(2) ** (e - 1) / 16


@pytest.mark.parametrize("pct", [99.0, 99.9, 99.99])
def test_percentile_policy_threshold_in_the_right_fine_bin(heavy, pct):
    x, rec = heavy
    q = fx.tool.propose(rec, T_HEAVY, word_length=8, policy="percentile", percentile=pct)["s"]
    mags = np.sort(np.abs(x))
    k = math.ceil(Fraction(str(pct)) / 100 * len(x))   # values at or below a: at least k
    true_a = mags[k - 1]
    blo, bhi = fine_bin(true_a)
    lo, hi = q.range_used
    a = max(-lo, hi)
    assert blo <= a <= bhi, (float(a), true_a, float(blo), float(bhi))
    assert lo == max(Fraction(x.min()), -a) and hi == min(Fraction(x.max()), a)
    s, w, f = tparse(q.proposed)
    assert f == best_fraction_length(lo, hi, 8, s)
    # clip_fraction / overflows: exact up to the values in the fine bin holding each limit
    tmin, tmax = exact_min_max(s, w, f)
    out = int(np.sum((x > float(tmax)) | (x < float(tmin))))
    slack = sum(int(np.sum((np.abs(x) >= float(b0)) & (np.abs(x) < float(b1))))
                for b0, b1 in (fine_bin(float(tmax)), fine_bin(float(tmin))))
    assert abs(q.overflows - out) <= slack
    assert q.clip_fraction == pytest.approx(q.overflows / len(x), abs=slack / len(x) + 1e-12)


@pytest.mark.parametrize("policy", ["kl", "mse"])
def test_policies_at_24_bits_clip_nothing(heavy, policy):
    x, rec = heavy
    q = fx.tool.propose(rec, T_HEAVY, word_length=24, policy=policy)["s"]
    ref = fx.tool.propose(rec, T_HEAVY, word_length=24)["s"]
    assert q.range_used == (Fraction(x.min()), Fraction(x.max()))
    assert q.proposed == ref.proposed and q.overflows == 0


@pytest.mark.parametrize("policy", ["percentile", "kl"])
@pytest.mark.parametrize("wl", [6, 8, 16])
def test_policies_range_used_is_covered_best_precision(heavy, policy, wl):
    x, rec = heavy
    q = fx.tool.propose(rec, T_HEAVY, word_length=wl, policy=policy, percentile=99.9)["s"]
    lo, hi = q.range_used
    assert Fraction(x.min()) <= lo <= 0 <= hi <= Fraction(x.max())
    assert -lo == hi or lo == Fraction(x.min()) or hi == Fraction(x.max())
    s, w, f = tparse(q.proposed)
    assert w == wl
    assert f == best_fraction_length(lo, hi, wl, s)


@pytest.mark.parametrize("wl", [6, 8])
def test_mse_range_used_is_the_covered_range(heavy, wl):
    """Regression (found by this review): policy='mse' reported the unclipped range."""
    x, rec = heavy
    q = fx.tool.propose(rec, T_HEAVY, word_length=wl, policy="mse")["s"]
    assert q.overflows > 0  # mse clips here
    lo, hi = q.range_used
    tmin, tmax = exact_min_max(*tparse(q.proposed))
    assert tmin <= lo and hi <= tmax


def test_whole_and_zero_signals():
    T = fx.TypeTable({"z": "double", "k": "double"})

    def fn(x, T):
        T.z(np.zeros(5))
        return T.k(np.round(x * 100))

    rec = fx.tool.collect(fn, [np.linspace(-1, 1, 33)], T)
    p = fx.tool.propose(rec, T, word_length=8)
    assert str(p["z"].proposed) == "ufix8"
    s, w, f = tparse(p["k"].proposed)
    assert (s, w, f) == (True, 8, 0)  # [-100, 100] needs 7 integer bits + sign
    p16 = fx.tool.propose(rec, T, word_length=16)
    assert tparse(p16["k"].proposed) == (True, 16, 0)


# ---- verification ------------------------------------------------------------------------------


def recompute_verification(fn, frames, fixed_types, names):
    spf, outf = spy_run(fn, frames, fixed_types)
    spd, outd = spy_run(fn, frames, {n: "double" for n in names})
    res = {}
    for name in names:
        fixed = spf.cat(spf.after, name)
        double = spd.cat(spd.after, name)
        e = fixed - double
        ovf = spf.cat(spf.ovf, name)
        unf = spf.cat(spf.unf, name)
        s2 = sum((Fraction(v) ** 2 for v in double.tolist()), Fraction(0))
        e2 = sum((Fraction(v) ** 2 for v in e.tolist()), Fraction(0))
        res[name] = dict(
            count=e.size, overflows=int(ovf.sum()), underflows=int(unf.sum()),
            first_overflow=int(np.argmax(ovf)) if ovf.any() else None,
            first_underflow=int(np.argmax(unf)) if unf.any() else None,
            max_abs_error=float(np.abs(e).max()), e=e, s2=s2, e2=e2,
            rms=correctly_rounded_sqrt(e2 / e.size))
    eo = np.concatenate(outf) - np.concatenate(outd)
    so = np.concatenate(outd)
    res["output"] = dict(count=eo.size, e=eo, max_abs_error=float(np.abs(eo).max()),
                         s2=sum((Fraction(v) ** 2 for v in so.tolist()), Fraction(0)),
                         e2=sum((Fraction(v) ** 2 for v in eo.tolist()), Fraction(0)),
                         rms=correctly_rounded_sqrt(
                             sum((Fraction(v) ** 2 for v in eo.tolist()), Fraction(0)) / eo.size))
    return res


def sqnr_of(s2, e2):
    if e2 == 0:
        return math.inf
    return 10 * math.log10(float(s2 / e2))


def assert_verification(check, ref, names, max_samples):
    total = 0
    for name in names:
        v, r = check[name], ref[name]
        assert v.count == r["count"], name
        assert v.overflows == r["overflows"], name
        assert v.underflows == r["underflows"], name
        assert v.first_overflow == r["first_overflow"], name
        assert v.first_underflow == r["first_underflow"], name
        assert v.max_abs_error == r["max_abs_error"], name
        assert v.rms_error == pytest.approx(r["rms"], rel=1e-15, abs=0), name
        assert v.sqnr_db == pytest.approx(sqnr_of(r["s2"], r["e2"]), rel=1e-14), name
        assert np.array_equal(v.error, r["e"][:max_samples]), name
        total += r["overflows"]
    assert check.overflows == total
    o, r = check.outputs["output"], ref["output"]
    assert o.count == r["count"]
    assert o.max_abs_error == r["max_abs_error"]
    assert o.rms_error == pytest.approx(r["rms"], rel=1e-15, abs=0)
    assert check.output_sqnr_db == pytest.approx(sqnr_of(r["s2"], r["e2"]), rel=1e-14)


def test_dsp_verify_numbers_match_recomputation_proposed(dsp_rec):
    frames = dsp_frames()
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=16)
    check = fx.tool.verify(dsp_chain, frames, p.types, max_samples=50)
    ref = recompute_verification(dsp_chain, frames, spy_types_of(p.types), DSP_NAMES)
    assert_verification(check, ref, DSP_NAMES, 50)


def test_dsp_verify_numbers_match_recomputation_with_overflows():
    types = {"x": "sfix8_En7", "gain": "sfix8_En8", "fir.acc": "sfix10_En9", "fir.y": "sfix6_En5",
             "bq.y": "sfix8_En7", "dec": "sfix8_En7", "mag": "ufix6_En6", "mx": "sfix8_En8",
             "npos": "ufix4_En0", "tot": "sfix8_En3"}
    frames = dsp_frames(7, 5)
    check = fx.tool.verify(dsp_chain, frames, fx.TypeTable(types), max_samples=100)
    ref = recompute_verification(dsp_chain, frames, types, DSP_NAMES)
    assert sum(ref[n]["overflows"] for n in DSP_NAMES) > 0
    assert any(ref[n]["first_overflow"] not in (None, 0) for n in DSP_NAMES)
    assert_verification(check, ref, DSP_NAMES, 100)


# ----------------------------------------------------------------------------------------------
# Our own network: a 2-layer MLP in numpy with TypeTable casts
# ----------------------------------------------------------------------------------------------

RNG = np.random.default_rng(11)
W1 = RNG.normal(0, 0.6, (8, 6))
B1 = RNG.normal(0, 0.2, 6)
W2 = RNG.normal(0, 0.6, (6, 3))
B2 = RNG.normal(0, 0.2, 3)
MLP_NAMES = ["in", "l1.acc", "l1.act", "l2.acc", "out"]


def mlp(x, T):
    x = T["in"](x)
    a = T["l1.acc"](val(x) @ W1 + B1)
    h = T["l1.act"](np.maximum(val(a), 0.0))
    z = T["l2.acc"](val(h) @ W2 + B2)
    return T.out(np.clip(val(z), -2.0, 2.0))


T_MLP = fx.TypeTable({n: "double" for n in MLP_NAMES})


def mlp_batches(seed=0, n=6):
    rng = np.random.default_rng(seed)
    out = [rng.uniform(-1, 1, (16, 8)) for _ in range(n)]
    out.append(np.sign(W1).T.copy())        # corners that maximise each hidden unit
    out.append(-np.sign(W1).T.copy())
    return out


@pytest.fixture(scope="module")
def mlp_rec():
    return fx.tool.collect(mlp, mlp_batches(), T_MLP)


@pytest.fixture(scope="module")
def mlp_derived():
    return fx.tool.derive(mlp, (-1, 1), T_MLP, shape=(1, 8))


def test_mlp_stats_and_derived(mlp_rec, mlp_derived):
    spy, outs = spy_run(mlp, mlp_batches(), spy_types_of(T_MLP))
    for name in MLP_NAMES:
        check_stats(mlp_rec[name], spy.cat(spy.arrived, name))
    assert_contained(mlp_derived, spy, MLP_NAMES)
    # the first layer's bound is the exact worst case sum|W1| + b (one float outward at most)
    hi = max(float(sum(abs(Fraction(w)) for w in W1[:, j]) + Fraction(B1[j])) for j in range(6))
    assert hi <= mlp_derived["l1.acc"].hi <= hi * (1 + 2**-48)
    # the corner inputs reach it
    assert mlp_rec["l1.acc"].max == pytest.approx(hi, rel=1e-15)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from([-1.0, 1.0]), st.floats(-1, 1)),
                min_size=8, max_size=8))
def test_mlp_derived_contains_hypothesis(mlp_derived, xs):
    spy, _ = spy_run(mlp, [np.array([xs])], spy_types_of(T_MLP))
    assert_contained(mlp_derived, spy, MLP_NAMES)


@pytest.mark.parametrize("wl", [8, 16, 24])
def test_mlp_propose_verify(mlp_rec, wl):
    batches = mlp_batches()
    p = fx.tool.propose(mlp_rec, T_MLP, word_length=wl, margin=2)
    for name in MLP_NAMES:
        st_ = mlp_rec[name]
        lo, hi = margin_range(st_.min, st_.max, 2)
        s, w, f = tparse(p[name].proposed)
        assert s == (lo < 0) and w == wl and f == best_fraction_length(lo, hi, wl, s), name
    check = fx.tool.verify(mlp, batches, p.types)
    ref = recompute_verification(mlp, batches, spy_types_of(p.types), MLP_NAMES)
    assert_verification(check, ref, MLP_NAMES, 10000)
    assert check.overflows == 0


# ----------------------------------------------------------------------------------------------
# fixsim.nn networks: Sequential and a tiny ONNX model built with onnx.helper
# ----------------------------------------------------------------------------------------------


def onnx_mlp():
    import onnx  # the test extra installs it: a missing onnx fails, never skips
    from onnx import TensorProto, helper, numpy_helper

    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, np.float32), n)  # noqa: E731
    g = helper.make_graph(
        [helper.make_node("Gemm", ["X", "W1", "B1"], ["h"], name="g1"),
         helper.make_node("Relu", ["h"], ["hr"], name="relu"),
         helper.make_node("Gemm", ["hr", "W2", "B2"], ["Y"], name="g2")],
        "tiny", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 8])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3])],
        [f32(W1, "W1"), f32(B1, "B1"), f32(W2, "W2"), f32(B2, "B2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    return nn.load_onnx(m)


@pytest.fixture(scope="module", params=["sequential", "onnx"])
def network(request):
    if request.param == "sequential":
        return nn.Sequential([nn.Dense(W1, B1, name="g1"), nn.ReLU(name="relu"),
                              nn.Dense(W2, B2, name="g2")])
    return onnx_mlp()


def test_nn_flow(network):
    net = network
    T = net.type_table("double")
    batches = mlp_batches(2, 4)
    rec = fx.tool.collect(net, batches, T)
    x = np.concatenate(batches)
    # what reached the probes: input, weights per call, accumulators, relu output
    assert rec["input"].count == x.size
    check_stats(rec["input"], np.concatenate([b.ravel() for b in batches]))
    d = fx.tool.derive(net, (-1, 1), T, shape=(1, 8))
    for name in rec.names:
        assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi, name
    for wl in (8, 16, 24):
        p = fx.tool.propose(rec, T, word_length=wl, derived=d)
        for name in rec.names:
            lo, hi = p[name].range_used
            assert lo == min(Fraction(d[name].lo), Fraction(rec[name].min))
            assert hi == max(Fraction(d[name].hi), Fraction(rec[name].max))
            s, w, f = tparse(p[name].proposed)
            expect = best_fraction_length(lo, hi, wl, s)
            if rec[name].whole:
                expect = min(expect, 0)
            assert w == wl and f == expect, (name, p[name].proposed)
        check = fx.tool.verify(net, batches, p.types, T)
        # union with derived ranges: guaranteed, so the fixed run cannot overflow
        assert check.overflows == 0, {n: v.overflows for n, v in check.items()}
        ref = net(x)
        yf = np.concatenate([np.asarray(net(b, types=p.types).data, np.float64) for b in batches])
        e = yf - ref
        o = check.outputs["output"]
        assert o.count == e.size
        assert o.max_abs_error == pytest.approx(float(np.abs(e).max()), rel=1e-6, abs=1e-12)


def test_nn_fixed_output_matches_independent_integer_model():
    """Our own integer model of nn's documented fixed mode: exact acc, then casts."""
    net = nn.Sequential([nn.Dense(W1, B1, name="g1"), nn.ReLU(name="relu"),
                         nn.Dense(W2, B2, name="g2")])
    T = net.type_table("double")
    batches = mlp_batches(2, 3)
    rec = fx.tool.collect(net, batches, T)
    p = fx.tool.propose(rec, T, word_length=12, margin=10)
    ty = {k: tparse(v) for k, v in spy_types_of(p.types).items()}
    for b in batches:
        q = lambda v, n: quantize(v, *ty[n])[0].reshape(np.shape(v))  # noqa: E731
        x = q(b, "input")
        a1 = q(x @ q(W1, "g1.weight") + q(B1, "g1.bias"), "g1.acc")
        o1 = q(a1, "g1.out")
        r = q(np.maximum(o1, 0), "relu.out")
        a2 = q(r @ q(W2, "g2.weight") + q(B2, "g2.bias"), "g2.acc")
        o2 = q(a2, "g2.out")
        got = np.asarray(net(b, types=p.types).data, np.float64)
        assert np.array_equal(got, o2)


# ----------------------------------------------------------------------------------------------
# Bad inputs: clear errors naming the signal or argument
# ----------------------------------------------------------------------------------------------


def test_error_unknown_probe_name():
    T = fx.TypeTable({"fir.acc": "double", "x": "double"})
    with pytest.raises(KeyError) as ei:
        T["fir.acx"](1.0)
    assert "fir.acx" in str(ei.value) and "fir.acc" in str(ei.value)
    with pytest.raises(AttributeError):
        T.xx(1.0)

    def fn(x, T):
        return T.y(x)

    with pytest.raises(KeyError, match="'y'|y"):
        fx.tool.collect(fn, [np.zeros(3)], T)


def test_error_empty_recording():
    with pytest.raises(ValueError, match="(?i)empty|no signal|nothing"):
        fx.tool.propose(fx.tool.Recording(), word_length=16)


def test_error_design_or_override_for_unknown_signal(dsp_rec):
    with pytest.raises(KeyError, match="fir.acx"):
        fx.tool.propose(dsp_rec, T_DSP, design={"fir.acx": (-1, 1)})
    with pytest.raises(KeyError, match="fir.acx"):
        fx.tool.propose(dsp_rec, T_DSP, overrides={"fir.acx": {"word_length": 8}})


def test_error_conflicting_locks(dsp_rec):
    T = T_DSP.copy().lock("fir.acc")
    with pytest.raises(ValueError, match="fir.acc"):
        fx.tool.propose(dsp_rec, T, overrides={"fir.acc": {"word_length": 8}})
    with pytest.raises(Exception, match="fir.acc"):
        T.update({"fir.acc": "sfix8_En4"})
    p = fx.tool.propose(dsp_rec, T, word_length=16)
    assert p["fir.acc"].locked and p.types.type_of("fir.acc") == "double"


def test_error_impossible_range_for_word_length(dsp_rec):
    with pytest.raises(ValueError, match="'tot'"):
        fx.tool.propose(dsp_rec, T_DSP, word_length=16,
                        overrides={"tot": {"word_length": 8, "fraction_length": 7}})
    with pytest.raises(ValueError, match="'x'"):
        fx.tool.propose(dsp_rec, T_DSP, word_length=8, fraction_length=7)
    with pytest.raises(ValueError, match="'gain'"):
        fx.tool.propose(dsp_rec, T_DSP, word_length=16,
                        overrides={"gain": {"signed": False}})
    du = fx.tool.derive(lambda x, T: T.q(1 / T.x(x)), (-1, 1),
                        fx.TypeTable({"x": "double", "q": "double"}), shape=2)
    with pytest.raises(ValueError, match="(?s)'q'.*divis"):
        fx.tool.propose(du, word_length=16)


def test_error_policy_without_recording(dsp_derived):
    with pytest.raises(ValueError, match="(?i)record"):
        fx.tool.propose(dsp_derived, T_DSP, word_length=16, policy="percentile")


def test_error_wrong_shape():
    with pytest.raises(Exception, match=r"8|6|shape|matmul|align"):
        fx.tool.derive(mlp, (-1, 1), T_MLP, shape=(1, 6))
    with pytest.raises(Exception, match=r"8|6|shape|matmul|align"):
        fx.tool.collect(mlp, [np.zeros((2, 6))], T_MLP)


# ----------------------------------------------------------------------------------------------
# More contract checks: fixed-table derivation, design ranges, reported estimates, property tests
# ----------------------------------------------------------------------------------------------


def test_dsp_derive_with_fixed_table_contains_fixed_run(dsp_rec):
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=10)
    d = fx.tool.derive(dsp_chain, (-1, 1), p.types, shape=FRAME)
    frames = dsp_frames(8, 20)
    frames += [np.sign(np.resize(H[::-1], FRAME)), -np.sign(np.resize(H[::-1], FRAME))]
    spy, outs = spy_run(dsp_chain, frames, spy_types_of(p.types))
    assert_contained(d, spy, DSP_NAMES)
    # and the proposal from it, at that word length, never overflows in the fixed run
    pd = fx.tool.propose(d, p.types, word_length=10)
    check = fx.tool.verify(dsp_chain, frames, pd.types)
    spy2, _ = spy_run(dsp_chain, frames, spy_types_of(pd.types))
    assert all(spy2.cat(spy2.ovf, n).sum() == 0 for n in DSP_NAMES)
    assert check.overflows == 0


def test_design_ranges_take_precedence(dsp_rec, dsp_derived):
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=12, margin=25, derived=dsp_derived,
                        design={"gain": (-2, 2), "bq.y": (-0.3, 0.7)})
    assert p["gain"].range_used == (-2, 2) and p["gain"].source == "design"
    assert str(p["gain"].proposed) == "sfix12_En9"          # [-2, 2] holds 2: 2 integer bits
    assert p["bq.y"].range_used == (Fraction(-0.3), Fraction(0.7))
    assert tparse(p["bq.y"].proposed) == (True, 12, best_fraction_length(
        Fraction(-0.3), Fraction(0.7), 12, True))


@pytest.mark.parametrize("wl", [8, 16])
def test_reported_estimates_minmax(dsp_rec, wl):
    """underflows (exact), sqnr_db and percent_range_used recomputed from the recorded data."""
    spy, _ = spy_run(dsp_chain, dsp_frames(), spy_types_of(T_DSP))
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=wl)
    for name in DSP_NAMES:
        v = spy.cat(spy.arrived, name)
        q = p[name]
        s, w, f = tparse(q.proposed)
        lsb = Fraction(2) ** -f
        assert q.underflows == int(sum(1 for t in v.tolist() if t != 0 and abs(Fraction(t)) < lsb / 2)), name
        n = v.size
        ms = sum((Fraction(t) ** 2 for t in v.tolist()), Fraction(0)) / n
        if dsp_rec[name].whole and f >= 0:
            assert q.sqnr_db == math.inf
        else:
            assert q.sqnr_db == pytest.approx(10 * math.log10(float(ms / (lsb ** 2 / 12))), rel=1e-12)
        tmin, tmax = exact_min_max(s, w, f)
        terms = []
        if v.max() > 0:
            terms.append(Fraction(v.max()) / tmax)
        if v.min() < 0 and tmin < 0:
            terms.append(Fraction(v.min()) / tmin)
        assert q.percent_range_used == pytest.approx(float(100 * max(terms)), rel=1e-12), name


def test_percentile_with_margin_applies_after_clipping(heavy):
    x, rec = heavy
    q0 = fx.tool.propose(rec, T_HEAVY, word_length=8, policy="percentile", percentile=99.5)["s"]
    q1 = fx.tool.propose(rec, T_HEAVY, word_length=8, policy="percentile", percentile=99.5,
                         margin=10)["s"]
    lo, hi = q0.range_used
    assert q1.range_used == (lo * Fraction(11, 10), hi * Fraction(11, 10))


def test_verify_fixed_recording_matches_fixed_arrivals(dsp_rec):
    frames = dsp_frames(2, 4)
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=8)
    check = fx.tool.verify(dsp_chain, frames, p.types)
    spyf, _ = spy_run(dsp_chain, frames, spy_types_of(p.types))
    spyd, _ = spy_run(dsp_chain, frames, spy_types_of(T_DSP))
    for name in DSP_NAMES:
        check_stats(check.fixed[name], spyf.cat(spyf.arrived, name),
                    int(spyf.cat(spyf.ovf, name).sum()), int(spyf.cat(spyf.unf, name).sum()))
        check_stats(check.double[name], spyd.cat(spyd.arrived, name))


def test_proposal_save_load_and_collect_workers(tmp_path, dsp_rec):
    p = fx.tool.propose(dsp_rec, T_DSP, word_length=16, margin=3)
    p.save(tmp_path / "p.json")
    p2 = type(p).load(tmp_path / "p.json")
    for name in DSP_NAMES:
        assert str(p2[name].proposed) == str(p[name].proposed)
        assert p2[name].range_used == p[name].range_used
    rec2 = fx.tool.collect(dsp_chain, dsp_frames(), T_DSP, workers=2, chunksize=3)
    assert rec2 == dsp_rec


POW2 = [2.0 ** k for k in range(-6, 7)]


@st.composite
def ranges_near_powers_of_two(draw):
    def one():
        base = draw(st.sampled_from(POW2))
        kind = draw(st.sampled_from(["exact", "below", "above", "free"]))
        if kind == "exact":
            return base
        if kind == "below":
            return base - base * 2.0 ** -draw(st.integers(1, 30))
        if kind == "above":
            return base + base * 2.0 ** -draw(st.integers(1, 30))
        return draw(st.floats(2.0 ** -8, 100.0))
    hi = one()
    lo = -one() if draw(st.booleans()) else draw(st.sampled_from([0.0, hi / 3]))
    return lo, hi


@settings(max_examples=150, deadline=None)
@given(ranges_near_powers_of_two(), st.integers(2, 40),
       st.sampled_from([0, 0.1, 1, 12.5, 50]))
def test_best_precision_property(rng_, wl, margin):
    lo, hi = rng_
    vals = [lo, hi, (lo + hi) / 2]
    rec = fx.tool.Recording({"s": fx.tool.SignalStats("s").update(vals)})
    q = fx.tool.propose(rec, word_length=wl, margin=margin)["s"]
    mlo, mhi = margin_range(lo, hi, margin)
    assert q.range_used == (mlo, mhi)
    s, w, f = tparse(q.proposed)
    assert s == (mlo < 0) and w == wl
    expect = best_fraction_length(mlo, mhi, wl, s)
    if all(v == int(v) for v in vals):
        expect = min(expect, 0)
    assert f == expect
    dq = fx.tool.propose(design={"s": (lo, hi)}, word_length=wl,
                         T=fx.TypeTable({"s": "double"}))["s"]
    assert tparse(dq.proposed)[2] == best_fraction_length(Fraction(lo), Fraction(hi), wl, lo < 0)


def test_error_nonfinite_values_named():
    T = fx.TypeTable({"sig_inf": "double"})
    with fx.tool.record() as rec:
        T.sig_inf(np.array([1.0, np.inf, np.nan, -2.0, 0.0]))
    st_ = rec["sig_inf"]
    assert (st_.count, st_.finite_count, st_.inf_count, st_.nan_count, st_.zeros) == (5, 3, 1, 1, 1)
    assert (st_.min, st_.max) == (-2.0, 1.0)
    with pytest.raises(ValueError, match="sig_inf"):
        fx.tool.propose(rec, word_length=16)
