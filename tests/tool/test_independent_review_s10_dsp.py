"""Independent review (s10): hidden-style DSP chains through record -> derive -> propose -> verify.

Four chains not covered by the other ``test_independent_review_*`` files:

A. a type-table function on an ASYMMETRIC design range [-0.3, 0.9]: decimation ``x[::2]``,
   ``np.convolve``, ``np.maximum``/``np.minimum``, ``np.clip``, ``np.where``, ``np.abs``,
   ``np.cumsum``, a reshape and ``@`` with a 2x2 matrix, division by a constant;
B. a ``Model`` on an UNSIGNED input [0, 1]: FIRDecimator -> SOSFilter df2t -> Gain, a Delay
   branch, Sum '+-', Saturation, FIRInterpolator; streamed frame by frame with state;
C. a ``Model`` with an NCO mixer -> CICDecimator -> Gain -> Lookup1D (tanh) on [-0.5, 0.75];
D. a biquad written sample by sample in Python with type-table casts (feedback in user code).

Raw values are captured independently by a spy that wraps the type table (values arriving at
and leaving every named cast); model outputs are captured from ``Model.run``. Every reported
number is recomputed from those raw values with numpy, ``fractions.Fraction`` and Python ints.
"""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim.signal import (
    NCO,
    CICDecimator,
    Delay,
    FIRDecimator,
    FIRInterpolator,
    Gain,
    Lookup1D,
    Model,
    Product,
    Saturation,
    SOSFilter,
    Sum,
)

# ------------------------------------------------------------------------------------------
# independent helpers
# ------------------------------------------------------------------------------------------


def f64(x):
    """float64 values of a fi / array / number (a fi's real-world values)."""
    if hasattr(x, "numerictype") and hasattr(x, "data"):
        return np.array(x.data, dtype=np.float64).ravel()
    return np.array(np.asarray(x, dtype=np.float64), dtype=np.float64).ravel()


class Spy:
    """Wraps a TypeTable: records what arrives at and leaves every named cast."""

    def __init__(self, T):
        self._T = T
        self.arr = defaultdict(list)
        self.out = defaultdict(list)

    def __getitem__(self, name):
        cast = self._T[name]

        def f(x):
            self.arr[name].append(f64(x))
            y = cast(x)
            self.out[name].append(f64(y))
            return y

        return f

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def values(self, name):
        return np.concatenate(self.arr[name])

    def outputs(self, name):
        return np.concatenate(self.out[name])


def spy_run(fn, items, T):
    spy = Spy(T)
    rets = [fn(it, spy) for it in items]
    return spy, rets


def nt(t):
    if isinstance(t, str):
        t = fx.numerictype.parse(t)
    return bool(t.signed), int(t.word_length), int(t.fraction_length)


def limits(s, w, f):
    lsb = Fraction(2) ** -f
    if s:
        return -(2 ** (w - 1)) * lsb, (2 ** (w - 1) - 1) * lsb
    return Fraction(0), (2 ** w - 1) * lsb


def best_f(lo, hi, w, s):
    """Largest F whose type (s, w, F) holds [lo, hi], by brute force on Fractions."""
    lo, hi = Fraction(lo), Fraction(hi)
    for f in range(200, -200, -1):
        tmin, tmax = limits(s, w, f)
        if tmin <= lo and hi <= tmax:
            return f
    raise AssertionError("no type")


def round_nearest(v, f):
    """MATLAB nearest (ties toward +inf) of v at 2**-f, as Python ints (exact)."""
    out = []
    for x in v.tolist():
        out.append(math.floor(Fraction(x) * Fraction(2) ** f + Fraction(1, 2)))
    return out


def count_ovf_unf(v, t):
    """(overflows, underflows, first_overflow, first_underflow) of a nearest/saturate cast."""
    s, w, f = nt(t)
    qlo, qhi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if s else (0, (1 << w) - 1)
    q = round_nearest(v, f)
    ovf = [i for i, k in enumerate(q) if k < qlo or k > qhi]
    unf = [i for i, (k, x) in enumerate(zip(q, v.tolist(), strict=True)) if k == 0 and x != 0]
    return len(ovf), len(unf), (ovf[0] if ovf else None), (unf[0] if unf else None)


def fine_bins(vals):
    """{(sign, lower edge): count} for 16 sub-bins per octave of |x| (zeros excluded)."""
    out = defaultdict(int)
    for x in vals.tolist():
        if x == 0 or not math.isfinite(x):
            continue
        m, e = math.frexp(abs(x))  # |x| = m * 2**e, 0.5 <= m < 1; octave [2**(e-1), 2**e)
        j = int((m * 2 - 1) * 16)  # exact: m*2 in [1, 2)
        edge = math.ldexp(1 + j / 16, e - 1)
        out[(x > 0, edge)] += 1
    return dict(out)


def check_stats(st_, vals):
    """Every documented SignalStats number against recomputation from the raw values."""
    vals = np.asarray(vals, dtype=np.float64)
    fin = vals[np.isfinite(vals)]
    assert st_.count == vals.size
    assert st_.finite_count == fin.size
    assert st_.nan_count == int(np.isnan(vals).sum()) and st_.inf_count == 0
    assert st_.zeros == int((fin == 0).sum())
    assert st_.min == float(fin.min()) and st_.max == float(fin.max())
    assert st_.max_abs == float(np.abs(fin).max())
    assert st_.whole == bool(np.all(fin == np.round(fin)))
    s = sum((Fraction(v) for v in fin.tolist()), Fraction(0))
    s2 = sum((Fraction(v) ** 2 for v in fin.tolist()), Fraction(0))
    n = fin.size
    assert st_.exact_sum == s and st_.exact_sum_squares == s2
    assert st_.sum == float(s) and st_.sum_squares == float(s2)
    assert st_.mean == float(s / n)
    var = s2 / n - (s / n) ** 2
    assert st_.var == float(var)
    # std and rms are documented as correctly rounded: within half an ulp of the exact root
    for got, exact_sq in ((st_.std, var), (st_.rms, s2 / n)):
        assert abs(Fraction(got) ** 2 - exact_sq) <= 2 * Fraction(got) * Fraction(
            math.ulp(got)) / 2 + Fraction(math.ulp(got)) ** 2
    # log2 histogram: 2**(k-1) <= |x| < 2**k
    lh = defaultdict(int)
    for x in fin.tolist():
        if x != 0:
            lh[math.frexp(abs(x))[1]] += 1
    assert dict(st_.log2_histogram) == dict(lh)
    edges, pos, neg = st_.fine_histogram
    got = {}
    for i in np.nonzero(pos)[0]:
        got[(True, float(edges[i]))] = int(pos[i])
    for i in np.nonzero(neg)[0]:
        got[(False, float(edges[i]))] = int(neg[i])
    assert got == fine_bins(fin)


def sqnr_db(ref, e):
    num = sum((Fraction(v) ** 2 for v in ref.tolist()), Fraction(0))
    den = sum((Fraction(v) ** 2 for v in e.tolist()), Fraction(0))
    return 10 * (math.log10(num.numerator) - math.log10(num.denominator)
                 - math.log10(den.numerator) + math.log10(den.denominator))


def check_verification(sv, fixed_after, double_after, arrivals=None, t=None):
    """A SignalVerification against fixed/double values captured on our own runs."""
    assert sv.count == fixed_after.size == double_after.size
    e = np.array([float(Fraction(a) - Fraction(b))
                  for a, b in zip(fixed_after.tolist(), double_after.tolist(), strict=True)])
    assert sv.max_abs_error == float(np.abs(e).max())
    ex2 = sum((Fraction(a) - Fraction(b)) ** 2
              for a, b in zip(fixed_after.tolist(), double_after.tolist(), strict=True))
    rms = math.sqrt(ex2 / e.size)
    assert sv.rms_error == pytest.approx(rms, rel=1e-14, abs=0)
    if ex2 != 0:
        assert sv.sqnr_db == pytest.approx(sqnr_db(double_after, e), abs=1e-9)
    n = min(e.size, 10000)
    assert np.array_equal(np.asarray(sv.error)[:n], e[:n])
    if arrivals is not None:
        o, u, fo, fu = count_ovf_unf(arrivals, t)
        assert (sv.overflows, sv.underflows, sv.first_overflow, sv.first_underflow) == (o, u, fo, fu)


def check_proposed(pt, vals, w, source_range=None, margin=0):
    """A ProposedType (minmax policy) against brute force on the recorded raw values."""
    vals = np.asarray(vals, dtype=np.float64)
    lo, hi = (Fraction(float(vals.min())), Fraction(float(vals.max()))) \
        if source_range is None else (Fraction(source_range[0]), Fraction(source_range[1]))
    k = 1 + Fraction(str(margin)) / 100
    lo, hi = lo * k, hi * k
    assert pt.range_used == (lo, hi)
    s, W, F = nt(pt.proposed)
    assert W == w and s == (lo < 0)
    if lo == 0 and hi == 0:
        return
    whole = bool(np.all(vals == np.round(vals)))
    bf = best_f(lo, hi, w, s)
    if whole and source_range is None:
        bf = min(bf, 0)
    assert F == bf
    tmin, tmax = limits(s, w, F)
    assert Fraction(pt.lsb) == Fraction(2) ** -F
    assert (Fraction(pt.representable[0]), Fraction(pt.representable[1])) == (tmin, tmax)
    if not whole:  # one more fraction bit no longer holds the range used
        t2 = limits(s, w, F + 1)
        assert not (t2[0] <= lo and hi <= t2[1])
    mn, mx = Fraction(float(vals.min())), Fraction(float(vals.max()))
    outside = int(np.sum([(Fraction(v) < tmin) or (Fraction(v) > tmax) for v in vals.tolist()]))
    assert pt.overflows == outside
    if outside == 0:
        assert pt.clip_fraction == 0
    half = Fraction(2) ** -F / 2
    assert pt.underflows == int(sum(1 for v in vals.tolist() if v != 0 and abs(Fraction(v)) < half))
    terms = []
    if mx > 0 and tmax > 0:
        terms.append(mx / tmax)
    if mn < 0 and tmin < 0:
        terms.append(mn / tmin)
    if terms:
        assert pt.percent_range_used == pytest.approx(float(100 * max(terms)), rel=1e-12)
    if outside == 0:
        ms = sum((Fraction(v) ** 2 for v in vals.tolist()), Fraction(0)) / vals.size
        if whole and F >= 0:
            assert pt.sqnr_db == math.inf
        elif ms > 0:
            noise = (Fraction(2) ** -F) ** 2 / 12
            assert pt.sqnr_db == pytest.approx(10 * math.log10(ms / noise), abs=1e-9)


def adversarial(lo, hi, n, rng, taps=None, k=6):
    """Corner inputs in [lo, hi]: DC, alternating, square waves, impulses, bang-bang, random."""
    alt = (np.arange(n) % 2 == 0)
    xs = [np.full(n, lo, float), np.full(n, hi, float), np.where(alt, lo, hi), np.where(alt, hi, lo)]
    for p in (2, 4, 8, 16):
        sq = (np.arange(n) // p) % 2 == 0
        xs += [np.where(sq, hi, lo)]
    for pos in (0, n // 3):
        imp = np.full(n, lo, float)
        imp[pos] = hi
        xs.append(imp)
        imp = np.full(n, hi, float)
        imp[pos] = lo
        xs.append(imp)
    if taps is not None:  # matched patterns: x[n-k] = hi where h[k] > 0 (and the opposite)
        sgn = np.asarray(taps)[::-1] > 0
        pat = np.resize(sgn, n)
        xs += [np.where(pat, hi, lo), np.where(pat, lo, hi)]
    for _ in range(k):
        xs.append(rng.choice([lo, hi], n))
        xs.append(rng.uniform(lo, hi, n))
    if lo <= 0 <= hi:
        xs.append(np.zeros(n))
    return xs


def contains(d, name, vals, slack=0.0):
    r = d[name]
    return float(np.min(vals)) >= r.lo - slack and float(np.max(vals)) <= r.hi + slack


# ------------------------------------------------------------------------------------------
# Chain A: a type-table function with numpy ops on an asymmetric design range
# ------------------------------------------------------------------------------------------

LO_A, HI_A, N_A = -0.3, 0.9, 64
H_A = np.array([0.3, -0.45, 0.6, 0.2, -0.1])
M_A = np.array([[0.6, -0.3], [0.25, 0.7]])
NAMES_A = ["x", "dec", "conv", "rect", "lim", "sel", "mag", "cs", "rot", "y"]


def chain_a(x, T):
    x = T.x(x)
    d = T.dec(x[::2])
    c = T.conv(np.convolve(d, H_A))
    r = T.rect(np.maximum(c, 0) - 0.25 * np.minimum(c, 0))
    lim = T.lim(np.clip(c, -0.4, 0.55))
    T.sel(np.where(c > 0.1, c, 0.5 * c))
    T.mag(np.abs(c - 0.2))
    T.cs(np.cumsum(lim) * 0.0625)
    n2 = (c.shape[0] // 2) * 2
    p = T.rot(c[:n2].reshape(-1, 2) @ M_A)
    return T.y(p[:, 0] - p[:, 1] + r[:n2:2] * 0.375)


TA = fx.TypeTable({n: "double" for n in NAMES_A})


@pytest.fixture(scope="module")
def a_data():
    rng = np.random.default_rng(10)
    calib = [rng.uniform(LO_A, HI_A, N_A) for _ in range(12)]
    # the conv's worst case on the decimated input: a pattern matched to H_A at even samples
    adv = adversarial(LO_A, HI_A, N_A, rng, taps=np.repeat(H_A, 2)[::-1][1:][::-1], k=3)
    rec = fx.tool.collect(chain_a, calib, TA)
    spy, _ = spy_run(chain_a, calib, TA)
    d = fx.tool.derive(chain_a, (LO_A, HI_A), TA, shape=N_A)
    return calib, adv, rec, spy, d


def test_a_recorded_stats_match_raw_values(a_data):
    calib, _, rec, spy, _ = a_data
    assert rec.names == NAMES_A
    for name in NAMES_A:
        check_stats(rec[name], spy.values(name))


def test_a_framed_equals_one_pass_and_merge(a_data):
    calib, _, rec, _, _ = a_data
    one = fx.tool.collect(chain_a, calib[:5], TA).merge(fx.tool.collect(chain_a, calib[5:], TA))
    assert one == rec
    with fx.tool.record() as r2:
        for f in calib:
            chain_a(f, TA)
    assert r2 == rec


def test_a_derived_bound_is_the_analytic_one(a_data):
    d = a_data[4]
    # conv = sum h[k] d[n-k]: [sum min(h lo, h hi), sum max(h lo, h hi)] (all taps in range)
    lo = sum(min(h * LO_A, h * HI_A) for h in H_A)
    hi = sum(max(h * LO_A, h * HI_A) for h in H_A)
    assert d["conv"].lo == pytest.approx(lo, abs=1e-15) and d["conv"].lo <= lo
    assert d["conv"].hi == pytest.approx(hi, abs=1e-15) and d["conv"].hi >= hi
    assert (d["x"].lo, d["x"].hi) == (LO_A, HI_A)
    assert (d["lim"].lo, d["lim"].hi) == (-0.4, 0.55)
    assert all(d[n].bounded for n in NAMES_A)


def test_a_derived_contains_adversarial_double_runs(a_data):
    calib, adv, _, _, d = a_data
    spy, ys = spy_run(chain_a, calib + adv, TA)
    for name in NAMES_A:
        assert contains(d, name, spy.values(name)), name
    for y in ys:
        assert bool(np.all(d.output.contains(y)))
    # the matched input reaches the conv bound (up to float rounding)
    assert spy.values("conv").max() == pytest.approx(d["conv"].hi, abs=1e-12)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([LO_A, HI_A, 0.0, 0.3]), min_size=N_A, max_size=N_A))
def test_a_derived_contains_hypothesis(a_data, xs):
    d = a_data[4]
    spy, _ = spy_run(chain_a, [np.array(xs)], TA)
    for name in NAMES_A:
        assert contains(d, name, spy.values(name)), name


@pytest.mark.parametrize("w", [8, 12, 16, 24])
@pytest.mark.parametrize("margin", [0, 12.5])
def test_a_propose_best_precision_and_numbers(a_data, w, margin):
    _, _, rec, spy, _ = a_data
    p = fx.tool.propose(rec, TA, word_length=w, margin=margin)
    for name in NAMES_A:
        check_proposed(p[name], spy.values(name), w, margin=margin)
        assert p[name].source == "simulation" and p[name].simulated == (rec[name].min, rec[name].max)


@pytest.mark.parametrize("w", [10, 16])
def test_a_propose_derived_and_union(a_data, w):
    _, _, rec, spy, d = a_data
    pd = fx.tool.propose(d, TA, word_length=w)
    pu = fx.tool.propose(rec, TA, word_length=w, derived=d)
    for name in NAMES_A:
        s, W, F = nt(pd[name].proposed)
        assert F == best_f(d[name].lo, d[name].hi, w, d[name].lo < 0)
        lo = min(Fraction(rec[name].min), Fraction(d[name].lo))
        hi = max(Fraction(rec[name].max), Fraction(d[name].hi))
        assert pu[name].range_used == (lo, hi) and pu[name].source == "union"
        assert nt(pu[name].proposed)[2] == best_f(lo, hi, w, lo < 0)


@pytest.mark.parametrize("w", [8, 16])
def test_a_fixed_run_inside_derive_under_proposed_table(a_data, w):
    calib, adv, rec, _, d = a_data
    P = fx.tool.propose(rec, TA, word_length=w, derived=d).types
    dP = fx.tool.derive(chain_a, (LO_A, HI_A), P, shape=N_A)
    spy, ys = spy_run(chain_a, calib + adv, P)
    for name in NAMES_A:
        assert contains(dP, name, spy.values(name)), (name, dP[name], spy.values(name).min(),
                                                      spy.values(name).max())
    for y in ys:
        assert bool(np.all(dP.output.contains(f64(y))))


@pytest.mark.parametrize("w", [12, 16])
def test_a_verify_numbers_and_zero_overflows(a_data, w):
    """Proposed from the union of the recording and the derived ranges under the first
    proposal (docs/tool.md, section 3): no overflow on calibration nor adversarial data."""
    calib, adv, rec, _, d = a_data
    P1 = fx.tool.propose(rec, TA, word_length=w, derived=d).types
    dP = fx.tool.derive(chain_a, (LO_A, HI_A), P1, shape=N_A)
    P = fx.tool.propose(rec, TA, word_length=w, derived=d.merge(dP)).types
    items = calib + adv
    v = fx.tool.verify(chain_a, items, P)
    sf, yf = spy_run(chain_a, items, P)
    sd, yd = spy_run(chain_a, items, P.as_double())
    assert list(v) == NAMES_A
    for name in NAMES_A:
        check_verification(v[name], sf.outputs(name), sd.outputs(name), sf.values(name),
                           P.type_of(name))
        assert v[name].overflows == 0, name
        assert str(v[name].numerictype) == str(P.type_of(name))
    out_f = np.concatenate([f64(y) for y in yf])
    out_d = np.concatenate([f64(y) for y in yd])
    check_verification(v.outputs["output"], out_f, out_d)
    assert v.overflows == 0
    assert v.output_sqnr_db == v.outputs["output"].sqnr_db
    # the verification's own recordings are those of the fixed and double runs
    for name in NAMES_A:
        assert v.fixed[name].count == sf.values(name).size
        assert v.fixed[name].min == sf.values(name).min()
        assert v.double[name].max == sd.values(name).max()


def test_a_verify_counts_overflows_of_a_too_narrow_table(a_data):
    calib, adv, rec, _, _ = a_data
    P = fx.tool.propose(rec, TA, word_length=10).types
    P["conv"] = "sfix10_En9"  # [-1, 1): the matched adversarial input reaches 1.11
    P["y"] = "sfix8_En7"
    items = adv + calib
    v = fx.tool.verify(chain_a, items, P)
    sf, _ = spy_run(chain_a, items, P)
    sd, _ = spy_run(chain_a, items, P.as_double())
    assert v["conv"].overflows > 0 and v["y"].overflows > 0
    for name in NAMES_A:
        check_verification(v[name], sf.outputs(name), sd.outputs(name), sf.values(name),
                           P.type_of(name))
    # recording under the fixed table counts the same overflows at each cast
    with fx.tool.record() as r:
        for it in items:
            chain_a(it, P)
    for name in NAMES_A:
        o, u, _, _ = count_ovf_unf(sf.values(name), P.type_of(name))
        assert (r[name].overflows, r[name].underflows) == (o, u), name


# ------------------------------------------------------------------------------------------
# Chain D: a biquad written sample by sample (feedback in user code)
# ------------------------------------------------------------------------------------------

B_D = (0.2, 0.3, 0.2)
A_D = (-0.6, 0.25)
LO_D, HI_D, N_D = -0.5, 1.0, 24
NAMES_D = ["x", "acc", "y"]


def chain_d(x, T):
    x = T.x(x)
    x1 = x2 = y1 = y2 = 0.0
    out = []
    for n in range(x.shape[0]):
        xn = x[n]
        acc = T.acc(B_D[0] * xn + B_D[1] * x1 + B_D[2] * x2 - A_D[0] * y1 - A_D[1] * y2)
        x2, x1 = x1, xn
        y2, y1 = y1, acc
        out.append(T.y(0.75 * acc - 0.125))
    return out[-1]


TD = fx.TypeTable({n: "double" for n in NAMES_D})


@pytest.fixture(scope="module")
def d_data():
    rng = np.random.default_rng(11)
    calib = [rng.uniform(LO_D, HI_D, N_D) for _ in range(10)]
    imp = ss.lfilter(B_D, [1, *A_D], np.r_[1.0, np.zeros(N_D - 1)])
    adv = adversarial(LO_D, HI_D, N_D, rng, taps=imp, k=2)
    rec = fx.tool.collect(chain_d, calib, TD)
    spy, _ = spy_run(chain_d, calib, TD)
    d = fx.tool.derive(chain_d, (LO_D, HI_D), TD, shape=N_D)
    return calib, adv, rec, spy, d, imp


def test_d_stats_and_derived_bound(d_data):
    calib, adv, rec, spy, d, imp = d_data
    for name in NAMES_D:
        check_stats(rec[name], spy.values(name))
    # y[n] = sum_{k<=n} h[k] x[n-k]: the prefix worst case over n <= N_D - 1
    lo = min(sum(min(h * LO_D, h * HI_D) for h in imp[: n + 1]) for n in range(N_D))
    hi = max(sum(max(h * LO_D, h * HI_D) for h in imp[: n + 1]) for n in range(N_D))
    # sound; not tight: y1, y2 and x1, x2 are reused across samples, and interval analysis
    # lets each occurrence vary on its own (docs: "Dependency"), so only soundness is checked
    assert d["acc"].lo <= lo and d["acc"].hi >= hi
    assert d["acc"].bounded and d["y"].bounded
    spy2, _ = spy_run(chain_d, calib + adv, TD)
    for name in NAMES_D:
        assert contains(d, name, spy2.values(name)), name


@pytest.mark.parametrize("w", [10, 16])
def test_d_propose_verify_fixed_feedback(d_data, w):
    calib, adv, rec, spy, d, _ = d_data
    p = fx.tool.propose(rec, TD, word_length=w)
    for name in NAMES_D:
        check_proposed(p[name], spy.values(name), w)
    P1 = fx.tool.propose(rec, TD, word_length=w, derived=d).types
    dP = fx.tool.derive(chain_d, (LO_D, HI_D), P1, shape=N_D)
    sf, _ = spy_run(chain_d, calib + adv, P1)
    for name in NAMES_D:
        assert contains(dP, name, sf.values(name)), name
    P = fx.tool.propose(rec, TD, word_length=w, derived=d.merge(dP)).types
    v = fx.tool.verify(chain_d, calib + adv, P)
    sf, _ = spy_run(chain_d, calib + adv, P)
    sd, _ = spy_run(chain_d, calib + adv, P.as_double())
    for name in NAMES_D:
        check_verification(v[name], sf.outputs(name), sd.outputs(name), sf.values(name),
                           P.type_of(name))
        assert v[name].overflows == 0


# ------------------------------------------------------------------------------------------
# Chain B: a block Model on an unsigned input, streamed frame by frame
# ------------------------------------------------------------------------------------------

HD_B = ss.firwin(15, 0.4)
SOS_B = ss.butter(2, 0.2, output="sos")
HI_B = ss.firwin(12, 0.45)
FRAME_B = 128


def build_b(T=None):
    m = Model("bchain")
    m.input("x")
    m.add(FIRDecimator(2, HD_B, name="dec", types=T), "x")
    m.add(SOSFilter(SOS_B, name="bq", form="df2t", types=T), "dec")
    m.add(Gain(1.7, name="g", types=T), "bq")
    m.add(Delay(2, name="z", types=T), "dec")
    m.add(Sum("+-", name="s", types=T), ["g", "z"])
    m.add(Saturation(-0.8, 0.8, name="sat", types=T), "s")
    m.add(FIRInterpolator(2, HI_B, name="up", types=T), "sat")
    m.output("y", "up")
    return m


class Runner:
    """fn(frame, T) for collect/verify: one streaming model per table (state kept)."""

    def __init__(self, build):
        self.build, self.models = build, {}

    def __call__(self, x, T):
        key = repr(T)
        if key not in self.models:
            self.models[key] = self.build(T)
        return self.models[key].run(x, types=T)["y"]


TB0 = build_b().type_table({"x": "ufix12_En12"})
TBD = TB0.as_double()


def b_inputs(rng):
    n = 8 * FRAME_B
    calib = rng.uniform(0, 1, n)
    adv = np.concatenate([a for a in adversarial(0.0, 1.0, n // 8, rng, taps=HD_B, k=1)])
    return calib, adv


@pytest.fixture(scope="module")
def b_data():
    rng = np.random.default_rng(12)
    calib, adv = b_inputs(rng)
    frames = calib.reshape(-1, FRAME_B)
    rec = fx.tool.collect(Runner(build_b), frames, TBD)
    d = fx.tool.derive(lambda x, T: build_b(T).run(x, types=T)["y"], (0.0, 1.0), TBD,
                       shape=256)
    return calib, adv, frames, rec, d


def test_b_stream_framed_equals_one_long_run(b_data):
    calib, _, frames, rec, _ = b_data
    with fx.tool.record() as one:
        y_one = build_b(TBD).run(calib, types=TBD)["y"]
    runner = Runner(build_b)
    with fx.tool.record() as framed:
        y_fr = np.concatenate([runner(f, TBD) for f in frames])
    assert np.array_equal(y_one, y_fr)
    for name in one.names:
        if name.endswith("coef") or name == "g.gain":
            continue  # parameters are probed once per call
        assert one[name] == framed[name], name
        assert rec[name] == framed[name], name
    # the recorded model input/output are exactly the values fed and returned
    check_stats(rec["x"], calib)
    check_stats(rec["up.out"], y_fr)


def test_b_derived_contains_adversarial_double(b_data):
    calib, adv, _, _, d = b_data
    with fx.tool.record() as r:
        y = build_b(TBD).run(np.concatenate([calib, adv]), types=TBD, frame=FRAME_B)["y"]
    for name in r.names:
        assert d[name].bounded
        assert d[name].lo <= r[name].min and r[name].max <= d[name].hi, name
    olo, ohi = d.output.hull()
    assert olo <= float(np.min(y)) and float(np.max(y)) <= ohi
    assert d["x"].lo == 0.0 and d["x"].hi == 1.0


@pytest.mark.parametrize("w", [12, 16])
def test_b_propose_best_precision(b_data, w):
    _, _, _, rec, _ = b_data
    p = fx.tool.propose(rec, TB0, word_length=w)
    for name in rec.names:
        pt = p[name]
        # a tied group (the blocks report them: a biquad's input and section signals share
        # the section type) is covered as one: the union of its members' ranges
        group = next((g for g in rec.tied if name in g), (name,))
        lo = min(Fraction(rec[n].min) for n in group)
        hi = max(Fraction(rec[n].max) for n in group)
        assert pt.range_used == (lo, hi)
        s, W, F = nt(pt.proposed)
        assert (W, s) == (w, lo < 0)
        assert F == best_f(lo, hi, w, s), name
        assert pt.overflows == 0 and pt.clip_fraction == 0
        tmin, tmax = limits(s, w, F)
        assert (Fraction(pt.representable[0]), Fraction(pt.representable[1])) == (tmin, tmax)
    assert nt(p["x"].proposed) == (False, w, w)  # unsigned [0, 1): ufixW_EnW


@pytest.mark.parametrize("w", [16])
def test_b_fixed_model_inside_derive_and_verify(b_data, w):
    calib, adv, frames, rec, d = b_data
    P1 = fx.tool.propose(rec, TB0, word_length=w, derived=d).types
    dP = fx.tool.derive(lambda x, T: build_b(T).run(x, types=T)["y"], (0.0, 1.0), P1,
                        shape=256)
    x_all = np.concatenate([calib, adv])
    with fx.tool.record() as rf:
        yf = build_b(P1).run(x_all, types=P1, frame=FRAME_B)["y"]
    for name in rf.names:
        assert dP[name].lo <= rf[name].min and rf[name].max <= dP[name].hi, name
    olo, ohi = dP.output.hull()
    assert olo <= float(np.min(yf.data)) and float(np.max(yf.data)) <= ohi
    P = fx.tool.propose(rec, TB0, word_length=w, derived=d.merge(dP)).types
    items = x_all.reshape(-1, FRAME_B)
    v = fx.tool.verify(Runner(build_b), items, P)
    assert v.overflows == 0
    for name, sv in v.items():
        assert sv.overflows == 0, name
    # the output numbers against our own fixed and double runs
    yf = build_b(P).run(x_all, types=P, frame=FRAME_B)["y"]
    yd = build_b(P.as_double()).run(x_all, types=P.as_double(), frame=FRAME_B)["y"]
    check_verification(v.outputs["output"], f64(yf), np.asarray(yd, dtype=np.float64))


# ------------------------------------------------------------------------------------------
# Chain C: NCO mixer -> CIC decimator -> Gain -> Lookup1D
# ------------------------------------------------------------------------------------------

LO_C, HI_C = -0.5, 0.75
R_C, N_C = 8, 3
BP_C = np.linspace(-1, 1, 17)


def build_c(T=None):
    m = Model("cchain")
    m.input("x")
    m.add(NCO(5000, accumulator_word_length=16, quantizer_bits=10, waveform="cos",
              output_type="sfix16_En14", name="lo", types=T))
    m.add(Product("**", name="mix", types=T), ["x", "lo"])
    m.add(CICDecimator(R_C, 1, N_C, name="cic", types=T), "mix")
    m.add(Gain(2.0 ** -9, gain_type="ufix1_En9", name="sc", types=T), "cic")
    m.add(Lookup1D(BP_C, np.tanh(2 * BP_C), name="lut", types=T), "sc")
    m.output("y", "lut")
    return m


TC0 = build_c().type_table({"x": "sfix12_En11"})
TCD = TC0.as_double()


@pytest.fixture(scope="module")
def c_data():
    rng = np.random.default_rng(13)
    n = 2048
    calib = np.clip(0.6 * np.sin(np.arange(n) * 0.0763) + 0.1 * rng.standard_normal(n), LO_C, HI_C)
    adv = np.concatenate(adversarial(LO_C, HI_C, 128, rng, k=1)[:14])
    rec = fx.tool.collect(Runner(build_c), calib.reshape(-1, 256), TCD)
    d = fx.tool.derive(lambda x, T: build_c(T).run(x, types=T)["y"], (LO_C, HI_C), TCD,
                       shape=256)
    return calib, adv, rec, d


def test_c_derived_contains_double(c_data):
    calib, adv, rec, d = c_data
    with fx.tool.record() as r:
        y = build_c(TCD).run(np.concatenate([calib, adv]), types=TCD, frame=256)["y"]
    for name in r.names:
        if d[name].bounded:
            assert d[name].lo <= r[name].min and r[name].max <= d[name].hi, name
    for name in ("x", "mix.out", "cic.out", "sc.out", "lut.out"):
        assert d[name].bounded, name
    olo, ohi = d.output.hull()
    assert olo <= float(np.min(y)) and float(np.max(y)) <= ohi
    assert d["cic.out"].hi >= (R_C ** N_C) * 0.75 * rec["lo.cos"].max - 1e-9


@pytest.mark.parametrize("w", [16])
def test_c_propose_fixed_verify(c_data, w):
    calib, adv, rec, d = c_data
    p = fx.tool.propose(rec, TC0, word_length=w)
    for name in rec.names:
        pt = p[name]
        if pt.locked:
            assert str(pt.proposed) == str(TC0.type_of(name))
            continue
        lo, hi = Fraction(rec[name].min), Fraction(rec[name].max)
        s, W, F = nt(pt.proposed)
        fb = best_f(lo, hi, w, lo < 0)
        if rec[name].whole:
            fb = min(fb, 0)
        assert F == fb, name
    bounded = {k: v for k, v in d.items() if v.bounded}
    # the LUT's breakpoints [-1, 1] are quantized into its input type: a design range
    p2 = fx.tool.propose(rec, TC0, word_length=w, margin=1, design={"sc.out": (-1, 1)})
    assert p2["sc.out"].range_used == (-1, 1) and p2["sc.out"].source == "design"
    assert str(p2["sc.out"].proposed) == "sfix16_En14"
    P = p2.types
    x_all = np.concatenate([calib, adv])
    v = fx.tool.verify(Runner(build_c), x_all.reshape(-1, 256), P)
    yf = build_c(P).run(x_all, types=P, frame=256)["y"]
    yd = build_c(P.as_double()).run(x_all, types=P.as_double(), frame=256)["y"]
    check_verification(v.outputs["output"], f64(yf), np.asarray(yd, dtype=np.float64))
    with fx.tool.record() as rf:
        build_c(P).run(x_all, types=P, frame=256)
    for name, sv in v.items():
        assert sv.overflows == rf[name].overflows, name
    assert bounded


# ------------------------------------------------------------------------------------------
# Bug: under a fixed table, a fi sum of products with a FLOAT operand (np.convolve, np.dot,
# np.correlate, @) quantizes the float operand (best precision at the fi's word length) in
# the run, but derive bounds it with the unquantized floats: the run escapes the range.
# (The elementwise product fi * float array is handled: docs "a number operand is quantized
# first ... best precision at its word length in x * 0.1".)
# ------------------------------------------------------------------------------------------

_SOP_OPS = {
    "convolve": lambda d: np.convolve(d, np.array([0.3])),
    "dot": lambda d: np.dot(d, np.array([0.3])),
    "correlate": lambda d: np.correlate(d, np.array([0.3])),
    "matmul": lambda d: d @ np.array([0.3]),
}


def test_fixed_derive_elementwise_product_with_float_array_is_sound():
    T = fx.TypeTable({"d": "sfix8_En7", "o": "double"})

    def f(x, T):
        return T.o(T.d(x) * np.array([0.3]))

    dd = fx.tool.derive(f, (-0.3, 0.9), T, shape=1)
    with fx.tool.record() as r:
        f(np.array([0.9]), T)
    # d = 115/128, 0.3 -> 77/256 (sfix8_En8): the product 8855/32768 = 0.270233...
    assert r["o"].max == 8855 / 32768
    assert dd["o"].hi >= r["o"].max


@pytest.mark.parametrize("op", list(_SOP_OPS))
def test_fixed_derive_sum_of_products_with_float_operand_contains_run(op):
    """Regression (was a strict xfail, fixed): derive under a fixed table ignored fi's
    quantization of a float operand in a sum of products: T.o(np.convolve(T.d(x), [0.3]))
    with d sfix8_En7, x in [-0.3, 0.9]: the run at x=0.9 gives 115/128 * 77/256 = 0.27023315
    (0.3 quantized to sfix8_En8), derive's hi was 0.27001953 (0.9*0.3 rounded outward to
    2**-15). The same for np.dot, np.correlate and @."""
    T = fx.TypeTable({"d": "sfix8_En7", "o": "double"})
    fn = _SOP_OPS[op]

    def f(x, T):
        return T.o(fn(T.d(x)))

    dd = fx.tool.derive(f, (-0.3, 0.9), T, shape=1)
    with fx.tool.record() as r:
        f(np.array([0.9]), T)
    assert r["o"].max == 8855 / 32768  # the run quantizes 0.3 to 77/256
    assert dd["o"].hi >= r["o"].max, (dd["o"].hi, r["o"].max)


@pytest.mark.parametrize("w", [8, 16])
def test_a_fixed_conv_and_matmul_inside_derive(a_data, w):
    """Regression (was a strict xfail, fixed): chain A at 8 bits: derive under the proposed
    fixed table gave conv in [-0.82074, 1.15161], the fixed run (matched input) reached
    [-0.82538, 1.15436]: np.convolve of a fi with float taps quantizes the taps to 8 bits,
    derive did not (at 16 bits the same escape was ~1e-5)."""
    calib, adv, rec, _, d = a_data
    P = fx.tool.propose(rec, TA, word_length=w, derived=d).types
    dP = fx.tool.derive(chain_a, (LO_A, HI_A), P, shape=N_A)
    spy, _ = spy_run(chain_a, calib + adv, P)
    for name in ("conv", "rot"):
        assert contains(dP, name, spy.values(name)), name


# ------------------------------------------------------------------------------------------
# more verified behaviour: uneven frames, a golden reference, detail='ranges', percentile
# ------------------------------------------------------------------------------------------


def test_b_uneven_frames_equal_one_run():
    rng = np.random.default_rng(21)
    x = rng.uniform(0, 1, 777)
    cuts = [0, 1, 2, 65, 300, 301, 511, 777]
    frames = [x[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    rec = fx.tool.collect(Runner(build_b), frames, TBD)
    with fx.tool.record() as one:
        y = build_b(TBD).run(x, types=TBD)["y"]
    for name in one.names:
        if name.endswith("coef") or name == "g.gain":
            continue
        assert one[name] == rec[name], name
    assert rec["up.out"].count == y.size == 2 * ((777 + 1) // 2)


def chain_a_golden(x, T):
    """chain_a written again in plain numpy (a separately written golden model)."""
    x = T.x(np.asarray(x, dtype=np.float64))
    d = T.dec(np.asarray(x)[0::2])
    c = T.conv(np.array([sum(H_A[k] * d[n - k] for k in range(5) if 0 <= n - k < d.size)
                         for n in range(d.size + 4)]))
    r = T.rect(np.where(c > 0, c, -0.25 * c))
    lim = T.lim(np.minimum(np.maximum(c, -0.4), 0.55))
    T.sel(np.where(c > 0.1, c, 0.5 * c))
    T.mag(np.abs(c - 0.2))
    T.cs(np.cumsum(lim) * 0.0625)
    n2 = (c.shape[0] // 2) * 2
    p = T.rot(c[:n2].reshape(-1, 2) @ M_A)
    return T.y(p[:, 0] - p[:, 1] + r[:n2:2] * 0.375)


def test_a_verify_against_golden_reference(a_data):
    calib, _, rec, _, _ = a_data
    P = fx.tool.propose(rec, TA, word_length=16, margin=5).types
    v1 = fx.tool.verify(chain_a, calib, P)
    v2 = fx.tool.verify(chain_a, calib, P, reference=chain_a_golden)
    sf, _ = spy_run(chain_a, calib, P)
    sg, _ = spy_run(chain_a_golden, calib, P.as_double())
    for name in NAMES_A:
        check_verification(v2[name], sf.outputs(name), sg.outputs(name), sf.values(name),
                           P.type_of(name))
        assert v1[name].overflows == v2[name].overflows == 0
        # the golden model sums in another order: the errors agree to float rounding
        assert v2[name].max_abs_error == pytest.approx(v1[name].max_abs_error, abs=1e-12)


def test_a_ranges_detail_gives_same_proposal(a_data):
    calib, _, rec, spy, _ = a_data
    with fx.tool.record(detail="ranges") as rr:
        for f in calib:
            chain_a(f, TA)
    for name in NAMES_A:
        a, b = rr[name], rec[name]
        assert (a.count, a.min, a.max, a.zeros, a.whole) == (b.count, b.min, b.max, b.zeros, b.whole)
        assert a.log2_histogram == b.log2_histogram
        with pytest.raises(ValueError):
            _ = a.mean
    for w in (8, 16):
        pa = fx.tool.propose(rr, TA, word_length=w)
        pb = fx.tool.propose(rec, TA, word_length=w)
        for name in NAMES_A:
            assert str(pa[name].proposed) == str(pb[name].proposed)
            assert (pa[name].overflows, pa[name].underflows, pa[name].clip_fraction) == (
                pb[name].overflows, pb[name].underflows, pb[name].clip_fraction)
            assert pa[name].sqnr_db is None and pb[name].sqnr_db is not None


def percentile_threshold(vals, pct):
    """The documented percentile threshold: values uniform within their fine bin (16 per
    octave of |x|), the smallest magnitude with pct percent of the values (zeros included)
    at or below it."""
    mags = np.abs(np.asarray(vals, dtype=np.float64))
    need = Fraction(str(pct)) / 100 * mags.size
    below = int((mags == 0).sum())
    bins = defaultdict(int)
    for (_sign, edge), c in fine_bins(mags).items():
        bins[edge] += c
    for edge in sorted(bins):
        c = bins[edge]
        if below + c >= need:
            m, e = math.frexp(edge)
            width = Fraction(math.ldexp(1, e - 1)) / 16
            return Fraction(edge) + (need - below) / c * width
        below += c
    return Fraction(float(mags.max()))


@pytest.mark.parametrize("pct", [99.0, 95.0, 50.0])
def test_a_percentile_policy_threshold_and_counts(a_data, pct):
    calib, _, rec, spy, _ = a_data
    p = fx.tool.propose(rec, TA, word_length=8, policy="percentile", percentile=pct)
    for name in ("conv", "y", "x", "mag"):
        vals = spy.values(name)
        pt = p[name]
        a = percentile_threshold(vals, pct)
        lo = max(Fraction(float(vals.min())), -a)
        hi = min(Fraction(float(vals.max())), a)
        assert float(pt.range_used[0]) == pytest.approx(float(lo), rel=1e-12, abs=1e-15), name
        assert float(pt.range_used[1]) == pytest.approx(float(hi), rel=1e-12, abs=1e-15), name
        s, w, f = nt(pt.proposed)
        assert f == best_f(pt.range_used[0], pt.range_used[1], w, s)
        tmin, tmax = limits(s, w, f)
        out = sum(1 for v in vals.tolist() if Fraction(v) < tmin or Fraction(v) > tmax)
        # exact up to the values in the fine bins holding the thresholds (docs/tool.md)
        def bin_of(t):
            m, e = math.frexp(abs(float(t)))
            j = int((m * 2 - 1) * 16)
            return math.ldexp(1 + j / 16, e - 1)
        slack = sum(c for (sg, e), c in fine_bins(vals).items()
                    if (sg and tmax > 0 and e == bin_of(tmax))
                    or (not sg and tmin < 0 and e == bin_of(tmin)))
        assert abs(pt.overflows - out) <= slack, name
        # clip_fraction is the same estimate before rounding to a count
        assert abs(pt.clip_fraction * vals.size - pt.overflows) <= 0.5 + 1e-9
        if out == 0:
            assert pt.overflows == 0 and pt.clip_fraction == 0
