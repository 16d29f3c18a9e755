"""Independent review (s10): clipping policies, per-signal settings and bad input of
``fx.tool.propose``, recomputed from the definitions in docs/tool.md only.

Every expected value here is computed from the raw data or from the recorded fine histogram
(``SignalStats.fine_histogram``) with the documented formulas; nothing is taken from
``fixsim.tool`` internals.
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction as Fr
from types import SimpleNamespace as NS

import numpy as np
import pytest

import fixsim as fx

# --------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------


def rec_of(x, name="s", detail="full"):
    T = fx.TypeTable({name: "double"})
    with fx.tool.record(detail=detail) as rec:
        T[name](np.asarray(x, dtype=np.float64))
    return rec


def tmin(s, W, F):
    return -(Fr(2) ** (W - 1)) * Fr(2) ** -F if s else Fr(0)


def tmax(s, W, F):
    return (Fr(2) ** (W - 1 if s else W) - 1) * Fr(2) ** -F


def covers(s, W, F, lo, hi):
    return tmin(s, W, F) <= Fr(lo) and Fr(hi) <= tmax(s, W, F)


def best_F(lo, hi, W, s):
    """Largest F with T.min <= lo and hi <= T.max (exact), by search."""
    lo, hi = Fr(lo), Fr(hi)
    # start far below and walk up: covering is monotone in F (finer = smaller range)
    mag = max(abs(lo), abs(hi), Fr(1, 2**1100))
    F = -(mag.numerator.bit_length() - mag.denominator.bit_length()) - 4
    assert covers(s, W, F, lo, hi)
    while covers(s, W, F + 1, lo, hi):
        F += 1
    return F


def smallest_W(lo, hi, F, s):
    W = 1
    while not covers(s, W, F, lo, hi):
        W += 1
    return W


def fine_bins(stats):
    e, pc, nc = stats.fine_histogram
    return np.asarray(e, float), np.asarray(pc, float), np.asarray(nc, float)


def percentile_a(stats, p):
    """Smallest magnitude with p% of the values (zeros included) at or below it, values
    uniform within a fine bin."""
    e, pc, nc = fine_bins(stats)
    c = pc + nc
    target = Fr(str(p)) / 100 * stats.finite_count  # the percentile as the decimal written
    cum = stats.zeros
    if cum >= target:
        return 0.0
    for i in range(len(c)):
        if c[i] and cum + c[i] >= target:
            return e[i] + float(target - cum) / c[i] * (e[i + 1] - e[i])
        cum += c[i]
    return e[-1]


def side_sq_above(e, c, t):
    """Uniform-in-bin estimate of sum((|x| - t)**2) and of the count over |x| > t."""
    sq = cnt = 0.0
    for lo, hi, k in zip(e[:-1], e[1:], c, strict=True):
        if k == 0 or hi <= t:
            continue
        w = hi - lo
        if lo >= t:
            sq += k * ((hi - t) ** 3 - (lo - t) ** 3) / (3 * w)
            cnt += k
        else:
            sq += k * (hi - t) ** 3 / (3 * w)
            cnt += k * (hi - t) / w
    return sq, cnt


def mse_objective(stats, W, s, F):
    """docs: (sum over clipped values of (|x| - a)**2 + N_in * LSB**2 / 12) / N, with the
    type's own bound on each side."""
    e, pc, nc = fine_bins(stats)
    N = stats.finite_count
    sqp, cp = side_sq_above(e, pc, float(tmax(s, W, F)))
    if s:
        sqn, cn = side_sq_above(e, nc, float(-tmin(s, W, F)))
    else:
        sqn, cn = 0.0, 0.0
    return (sqp + sqn + (N - cp - cn) * 4.0**-F / 12) / N


def linear_hist(stats, B=2048):
    """The fine histogram spread uniformly over B equal bins of [0, max|x|] (the part of
    the top fine bin above max|x| lands in the last bin)."""
    e, pc, nc = fine_bins(stats)
    c = pc + nc
    M = float(stats.max_abs)
    bw = M / B
    h = np.zeros(B)
    h[0] += stats.zeros
    edges = np.arange(B + 1) * bw
    for lo, hi, k in zip(e[:-1], e[1:], c, strict=True):
        if k == 0:
            continue
        i0 = min(int(lo / bw), B - 1)
        i1 = min(int(min(hi, M) / bw), B - 1)
        idx = np.arange(i0, i1 + 1)
        ov = np.clip(np.minimum(min(hi, M), edges[idx + 1]) - np.maximum(lo, edges[idx]), 0, None)
        h[idx] += k * ov / (hi - lo)
        if hi > M:
            h[B - 1] += k * (hi - M) / (hi - lo)
    return h, bw


def kl_choice(h, L):
    """TensorRT entropy calibration: for i = L..B, P = first i bins + tail in the last one,
    Q = the first i bins (before the tail) merged into L groups (floor(j*i/L) bounds), each
    spread over its nonzero bins; largest i on ties."""
    B = len(h)
    res = {}
    for i in range(L, B + 1):
        S = h[:i]
        P = S.copy()
        P[-1] += h[i:].sum()
        b = (np.arange(L + 1) * i) // L
        nz = (S > 0).astype(float)
        sums = np.add.reduceat(S, b[:-1])
        cnt = np.add.reduceat(nz, b[:-1])
        per = np.divide(sums, cnt, out=np.zeros(L), where=cnt > 0)
        Q = np.repeat(per, np.diff(b)) * nz
        p, q = P / P.sum(), Q / Q.sum()
        m = p > 0
        with np.errstate(all="ignore"):
            res[i] = float(np.sum(p[m] * np.log(p[m] / q[m])))
    best = min(res.values())
    return max(i for i, v in res.items() if v == best), res


def exact_underflows(x, F):
    half = Fr(1, 2) ** (F + 1)
    return sum(1 for v in x if v != 0 and abs(Fr(float(v))) < half)


def exact_overflows(x, s, W, F):
    lo, hi = float(tmin(s, W, F)), float(tmax(s, W, F))
    # lo and hi are exact doubles for the word lengths used here
    return int(np.sum((x < lo) | (x > hi)))


def fine_bin_count_at(x, t):
    """Number of values whose |x| lies in the fine bin holding the magnitude t."""
    if t <= 0:
        return 0
    m, ex = math.frexp(t)
    j = math.floor((2 * m - 1) * 16)
    lo, hi = math.ldexp(1 + j / 16, ex - 1), math.ldexp(1 + (j + 1) / 16, ex - 1)
    a = np.abs(x)
    return int(np.sum((a >= lo) & (a < hi)))


def pru(mn, mx, s, W, F):
    """MATLAB percent of range used, terms not on their side of zero left out."""
    terms = []
    tM, tm = tmax(s, W, F), tmin(s, W, F)
    if mx > 0 and tM > 0:
        terms.append(Fr(mx) / tM)
    if mn < 0 and tm < 0:
        terms.append(Fr(mn) / tm)
    return 100 * float(max(terms)) if terms else 0.0


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------

_rng = np.random.default_rng(20240610)
DATA = {
    "laplace": _rng.laplace(0, 1, 8000),
    "student_t2": _rng.standard_t(2, 8000),
    "cauchy": _rng.standard_t(1, 6000),
    "outliers": np.concatenate([_rng.normal(0, 1, 5000), [40.0, -60.0, 100.0]]),
    "positive": np.abs(_rng.laplace(0, 2, 5000)),
    "negative": -np.abs(_rng.laplace(0, 2, 5000)),
    "whole": np.round(_rng.laplace(0, 30, 5000)),
    "tiny": _rng.laplace(0, 1e-300, 4000),
    "big": _rng.laplace(0, 1e200, 4000),
    "with_zeros": np.concatenate([np.zeros(3000), _rng.laplace(0, 1, 3000)]),
}
DOC_LAPLACE = np.random.default_rng(2).laplace(0, 1, 20000)
RECS = {k: rec_of(v) for k, v in DATA.items()}


def signed_of(x):
    return bool(np.min(x) < 0)


# --------------------------------------------------------------------------------------
# minmax: type, and every reported number
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("W", [4, 8, 16])
def test_minmax_type_and_report_recomputed(name, W):
    x = DATA[name]
    q = fx.tool.propose(RECS[name], word_length=W)["s"]
    s = signed_of(x)
    lo, hi = float(np.min(x)), float(np.max(x))
    F = best_F(lo, hi, W, s)
    whole = bool(np.all(x == np.round(x)))
    if whole:
        F = min(F, 0)
    assert q.proposed == fx.numerictype(s, W, F)
    assert q.range_used == (Fr(lo), Fr(hi))
    assert q.simulated == (lo, hi)
    assert q.lsb == 2.0**-F
    assert q.representable == (float(tmin(s, W, F)), float(tmax(s, W, F)))
    assert q.clip_fraction == 0.0 and q.overflows == 0
    assert q.underflows == exact_underflows(x, F)
    assert q.percent_range_used == pytest.approx(pru(lo, hi, s, W, F), rel=1e-12)
    ms = (
        float(np.mean(np.square(x / np.max(np.abs(x))))) * float(np.max(np.abs(x))) ** 2
        if name not in ("tiny", "big")
        else None
    )
    if whole and F >= 0:
        assert q.sqnr_db == math.inf
    elif ms is not None:
        assert q.sqnr_db == pytest.approx(10 * math.log10(ms / (4.0**-F / 12)), abs=1e-9)
    else:  # tiny / huge signals: in logarithms, scale the data first
        k = math.frexp(float(np.max(np.abs(x))))[1]
        xs = np.ldexp(x, -k)
        ref = 10 * math.log10(float(np.mean(xs**2))) - 10 * math.log10(4.0 ** -(F + k) / 12)
        assert q.sqnr_db == pytest.approx(ref, abs=1e-9)


def test_minmax_best_precision_gives_back_a_bit_below_a_power_of_two():
    # hi within an LSB below 2**k: MATLAB's I gives F one too large; the exact rule gives back a bit
    for W in (8, 12, 16):
        for k in (0, 3, -5):
            F_naive = W - 1 - k
            hi = float(2.0**k - 2.0**-F_naive / 4)
            lo = -(2.0**k) / 8
            q = fx.tool.propose(rec_of([lo, hi]), word_length=W)["s"]
            assert q.proposed == fx.numerictype(True, W, best_F(lo, hi, W, True))
            assert q.proposed.fraction_length == F_naive - 1


# --------------------------------------------------------------------------------------
# percentile
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "laplace",
        "student_t2",
        "cauchy",
        "outliers",
        "positive",
        "negative",
        "whole",
        "tiny",
        "with_zeros",
    ],
)
@pytest.mark.parametrize("p", [99.99, 99.9, 99.0, 90.0])
def test_percentile_threshold_and_type(name, p):
    x = DATA[name]
    st = RECS[name]["s"]
    W = 8
    q = fx.tool.propose(RECS[name], word_length=W, policy="percentile", percentile=p)["s"]
    a = percentile_a(st, p)
    lo, hi = float(np.min(x)), float(np.max(x))
    clo, chi = max(lo, -a), min(hi, a)
    assert float(q.range_used[0]) == pytest.approx(clo, rel=1e-12, abs=0)
    assert float(q.range_used[1]) == pytest.approx(chi, rel=1e-12, abs=0)
    s = bool(q.range_used[0] < 0)
    assert q.proposed.signed == s
    F = best_F(q.range_used[0], q.range_used[1], W, s)
    if np.all(x == np.round(x)):
        F = min(F, 0)
    assert q.proposed == fx.numerictype(s, W, F)
    # the threshold is within the fine bin of the exact quantile: count of |x| <= a off by
    # at most that bin's population
    below = int(np.sum(np.abs(x) <= a))
    assert abs(below - p / 100 * len(x)) <= fine_bin_count_at(x, a) + 1
    # reported counts against the exact counts on the data
    ov = exact_overflows(x, s, W, F)
    tol = fine_bin_count_at(x, float(tmax(s, W, F)))
    assert abs(q.overflows - ov) <= tol
    if ov == 0:
        assert q.overflows == 0 and q.clip_fraction == 0.0
    # the clip fraction is the histogram estimate; overflows is that count, rounded
    assert abs(q.clip_fraction * len(x) - q.overflows) <= 0.5 + 1e-9
    assert q.underflows == exact_underflows(x, F)
    assert q.percent_range_used == pytest.approx(pru(lo, hi, s, W, F), rel=1e-12)


def test_percentile_100_is_minmax_and_percentile_below_zero_share_gives_zero():
    x = DATA["laplace"]
    r = RECS["laplace"]
    assert (
        fx.tool.propose(r, word_length=8, policy="percentile", percentile=100)["s"].proposed
        == fx.tool.propose(r, word_length=8)["s"].proposed
    )
    r0 = rec_of(np.concatenate([np.zeros(99), [1.0]]))
    q = fx.tool.propose(r0, word_length=8, policy="percentile", percentile=50)["s"]
    assert q.range_used == (0, 0)
    del x


# --------------------------------------------------------------------------------------
# mse
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["laplace", "student_t2", "cauchy", "outliers", "positive", "negative", "with_zeros"]
)
@pytest.mark.parametrize("W", [4, 6, 8, 12])
def test_mse_minimises_documented_objective_over_all_candidates(name, W):
    x = DATA[name]
    q = fx.tool.propose(RECS[name], word_length=W, policy="mse")["s"]
    s = signed_of(x)
    F0 = best_F(np.min(x), np.max(x), W, s)
    # the objective in floats: evaluate it on the data scaled by 2**-k (bins scale exactly)
    k = math.frexp(float(np.max(np.abs(x))))[1]
    st = rec_of(np.ldexp(x, -k))["s"]
    obj = {F: mse_objective(st, W, s, F + k) for F in range(F0, F0 + 25)}
    best = min(obj.values())
    F = q.proposed.fraction_length
    assert q.proposed.signed == s and q.proposed.word_length == W
    assert F0 <= F <= F0 + 24
    assert obj[F] <= best * (1 + 1e-9), (F, min(obj, key=obj.get))
    # the histogram estimate agrees with the exact objective on the data to within a few %
    lo_t, hi_t = float(tmin(s, W, F)), float(tmax(s, W, F))
    clipped = np.concatenate([x[x > hi_t] - hi_t, lo_t - x[x < lo_t]]) if s else x[x > hi_t] - hi_t
    exact = (
        np.sum(np.ldexp(clipped, -k) ** 2)
        + (len(x) - len(clipped)) * np.ldexp(1.0, -2 * (F + k)) / 12
    ) / len(x)
    assert obj[F] == pytest.approx(exact, rel=0.3)
    # reported clip fraction / overflow count against the exact count
    ov = exact_overflows(x, s, W, F)
    assert abs(q.overflows - ov) <= fine_bin_count_at(x, hi_t)
    assert q.underflows == exact_underflows(x, F)


def test_mse_sqnr_estimate_uses_clip_error_plus_rounding_of_kept_values():
    x = DOC_LAPLACE
    r = rec_of(x)
    st = r["s"]
    q = fx.tool.propose(r, word_length=6, policy="mse")["s"]
    W, s, F = 6, True, q.proposed.fraction_length
    N = len(x)
    e, pc, nc = fine_bins(st)
    sqp, cp = side_sq_above(e, pc, float(tmax(s, W, F)))
    sqn, cn = side_sq_above(e, nc, float(-tmin(s, W, F)))
    ms = float(np.mean(x**2))
    ref = 10 * math.log10(ms / ((sqp + sqn + (N - cp - cn) * 4.0**-F / 12) / N))
    assert q.sqnr_db == pytest.approx(ref, abs=1e-6)
    # docs' example output
    assert str(q.proposed) == "sfix6_En2" and round(q.sqnr_db, 1) == 25.5
    assert q.clip_fraction == pytest.approx(0.00035)


def test_doc_example_table():
    r = rec_of(DOC_LAPLACE)
    got = {}
    for policy in ("minmax", "percentile", "mse", "kl"):
        q = fx.tool.propose(r, word_length=6, policy=policy, percentile=99.9)["s"]
        got[policy] = (str(q.proposed), f"{q.clip_fraction:.5f}", f"{q.sqnr_db:4.1f}")
    assert got == {
        "minmax": ("sfix6_En1", "0.00000", "19.9"),
        "percentile": ("sfix6_En2", "0.00035", "25.5"),
        "mse": ("sfix6_En2", "0.00035", "25.5"),
        "kl": ("sfix6_En1", "0.00000", "19.9"),
    }


# --------------------------------------------------------------------------------------
# kl
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,W",
    [
        ("doc", 4),
        ("doc", 6),
        ("doc", 7),
        ("laplace", 5),
        ("student_t2", 6),
        ("outliers", 4),
        ("outliers", 6),
        ("positive", 5),
        ("whole", 6),
    ],
)
def test_kl_threshold_matches_entropy_calibration_reference(name, W):
    x = DOC_LAPLACE if name == "doc" else DATA[name]
    r = rec_of(x)
    st = r["s"]
    q = fx.tool.propose(r, word_length=W, policy="kl")["s"]
    s = signed_of(x)
    L = 2 ** (W - 1) if s else 2**W
    h, bw = linear_hist(st)
    i, _ = kl_choice(h, L)
    a = (i + 0.5) * bw
    lo, hi = float(np.min(x)), float(np.max(x))
    assert float(q.range_used[0]) == pytest.approx(max(lo, -a), rel=1e-9)
    assert float(q.range_used[1]) == pytest.approx(min(hi, a), rel=1e-9)
    F = best_F(q.range_used[0], q.range_used[1], W, s)
    if np.all(x == np.round(x)):
        F = min(F, 0)
    assert q.proposed == fx.numerictype(s, W, F)
    assert f"{L} levels" in q.rationale


@pytest.mark.parametrize("name", ["laplace", "cauchy", "outliers", "positive"])
def test_kl_clips_nothing_when_levels_reach_the_bins(name):
    x = DATA[name]
    r = RECS[name]
    s = signed_of(x)
    for W in (12, 16) if s else (11, 16):  # L = 2048 = B, or more
        q = fx.tool.propose(r, word_length=W, policy="kl")["s"]
        m = fx.tool.propose(r, word_length=W)["s"]
        assert q.range_used == m.range_used and q.proposed == m.proposed
        assert q.clip_fraction == 0.0


@pytest.mark.parametrize("name", ["laplace", "cauchy", "outliers", "student_t2"])
def test_kl_threshold_has_documented_form(name):
    x = DATA[name]
    M = float(np.max(np.abs(x)))
    for W in (3, 5, 8):
        q = fx.tool.propose(RECS[name], word_length=W, policy="kl")["s"]
        a = float(max(-q.range_used[0], q.range_used[1]))
        if a < M:  # clipped on some side: a = (i + 1/2) * max|x| / 2048 with L <= i <= B
            i = a / (M / 2048) - 0.5
            assert abs(i - round(i)) < 1e-6 and 2 ** (W - 1) <= round(i) <= 2048


# --------------------------------------------------------------------------------------
# special signals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["minmax", "percentile", "mse", "kl"])
def test_all_zero_signal_is_ufix_W_En0(policy):
    q = fx.tool.propose(rec_of(np.zeros(50)), word_length=8, policy=policy)["s"]
    assert str(q.proposed) == "ufix8"
    assert q.overflows == 0 and q.underflows == 0 and q.clip_fraction == 0.0


@pytest.mark.parametrize("policy", ["minmax", "percentile", "mse"])
@pytest.mark.parametrize("v", [3.0, -3.0, 0.3, -0.3, 1e-300, -7e250])
def test_constant_signals(policy, v):
    x = np.full(64, v)
    q = fx.tool.propose(rec_of(x), word_length=8, policy=policy)["s"]
    s = v < 0
    F = best_F(v, v, 8, s)
    if v == round(v):
        F = min(F, 0)
    assert q.proposed == fx.numerictype(s, 8, F)
    assert q.overflows == 0 and q.underflows == exact_underflows(x, F)
    assert q.percent_range_used == pytest.approx(pru(v, v, s, 8, F), rel=1e-12)
    if v == round(v) and F >= 0:
        assert q.sqnr_db == math.inf


def test_ranges_detail_gives_same_types_and_no_sqnr():
    x = DATA["student_t2"]
    full, rng_ = rec_of(x), rec_of(x, detail="ranges")
    for policy in ("minmax", "percentile", "mse", "kl"):
        a = fx.tool.propose(full, word_length=7, policy=policy)["s"]
        b = fx.tool.propose(rng_, word_length=7, policy=policy)["s"]
        assert (a.proposed, a.range_used, a.clip_fraction, a.overflows, a.underflows) == (
            b.proposed,
            b.range_used,
            b.clip_fraction,
            b.overflows,
            b.underflows,
        )
        assert b.sqnr_db is None


# --------------------------------------------------------------------------------------
# margin, word/fraction length modes, signedness
# --------------------------------------------------------------------------------------


def test_matlab_margin_example():
    r = rec_of([-8.0, 0.5, 8.0])
    p = fx.tool.propose(r, word_length=16, margin=50)["s"]
    assert p.range_used == (-12, 12) and str(p.proposed) == "sfix16_En11"
    assert covers(True, 16, 11, -12, 12) and not covers(True, 16, 12, -12, 12)


@pytest.mark.parametrize("m", [0.1, 1, 12.5, 33.3, 200])
def test_margin_is_decimal_exact_and_applied_after_clipping(m):
    x = DATA["laplace"]
    r = RECS["laplace"]
    k = 1 + Fr(str(m)) / 100
    q = fx.tool.propose(r, word_length=10, margin=m)["s"]
    assert q.range_used == (Fr(float(np.min(x))) * k, Fr(float(np.max(x))) * k)
    assert q.proposed == fx.numerictype(True, 10, best_F(*q.range_used, 10, True))
    qp = fx.tool.propose(r, word_length=10, margin=m, policy="percentile", percentile=99)["s"]
    a = percentile_a(r["s"], 99)
    assert float(qp.range_used[1]) == pytest.approx(a * float(k), rel=1e-12)
    assert float(qp.range_used[0]) == pytest.approx(-a * float(k), rel=1e-12)


@pytest.mark.parametrize("name", ["laplace", "positive", "negative", "tiny", "outliers"])
@pytest.mark.parametrize("F", [-3, 0, 5, 1000])
def test_fraction_length_mode_gives_smallest_word_length(name, F):
    x = DATA[name]
    lo, hi = float(np.min(x)), float(np.max(x))
    s = lo < 0
    if F == 1000 and name != "tiny":
        F = 20
    q = fx.tool.propose(RECS[name], fraction_length=F)["s"]
    assert q.proposed == fx.numerictype(s, smallest_W(lo, hi, F, s), F)


def test_both_lengths_given():
    x = DATA["laplace"]
    r = RECS["laplace"]
    F = best_F(np.min(x), np.max(x), 12, True)
    assert fx.tool.propose(r, word_length=12, fraction_length=F)["s"].proposed == fx.numerictype(
        True, 12, F
    )
    with pytest.raises(ValueError, match=r"'s'.*(word_length|fraction_length)") as ei:
        fx.tool.propose(r, word_length=12, fraction_length=F + 1)
    assert "12" in str(ei.value)


def test_signed_forced():
    x = DATA["positive"]
    q = fx.tool.propose(RECS["positive"], word_length=8, signed=True)["s"]
    assert q.proposed == fx.numerictype(True, 8, best_F(np.min(x), np.max(x), 8, True))
    with pytest.raises(ValueError, match=r"'s'.*signed=False") as ei:
        fx.tool.propose(RECS["negative"], word_length=8, signed=False)
    assert str(float(np.min(DATA["negative"]))) in str(ei.value)


# --------------------------------------------------------------------------------------
# overrides, locks, design, sources
# --------------------------------------------------------------------------------------


def _chain(x, T):
    a = T.a(x)
    b = T.b(np.asarray(a, dtype=np.float64) * 3.0)
    return T.c(np.asarray(b, dtype=np.float64) / 4.0)


CHAIN_T = fx.TypeTable({"a": "double", "b": "double", "c": "sfix8_En4"}, locked=["c"])
CHAIN_X = np.random.default_rng(0).laplace(0, 1, (4, 500))
CHAIN_REC = fx.tool.collect(_chain, CHAIN_X, CHAIN_T.as_double())


def test_per_signal_override_and_lock():
    p = fx.tool.propose(
        CHAIN_REC,
        CHAIN_T,
        word_length=12,
        overrides={"b": {"word_length": 8, "policy": "percentile", "percentile": 99, "margin": 10}},
    )
    a, b = CHAIN_REC["a"], CHAIN_REC["b"]
    assert p["a"].proposed == fx.numerictype(True, 12, best_F(a.min, a.max, 12, True))
    thr = percentile_a(b, 99) * 1.1
    assert float(p["b"].range_used[1]) == pytest.approx(thr, rel=1e-12)
    assert p["b"].proposed == fx.numerictype(True, 8, best_F(*p["b"].range_used, 8, True))
    assert p["c"].locked and str(p["c"].proposed) == "sfix8_En4"
    assert p.types.locked == CHAIN_T.locked or set(p.types.locked) == {"c"}
    assert str(p.types.type_of("b")) == str(p["b"].proposed)
    with pytest.raises(ValueError, match=r"'c'.*locked"):
        fx.tool.propose(CHAIN_REC, CHAIN_T, overrides={"c": {"word_length": 8}})


def test_override_type_outright_reports_overflows_on_recorded_data():
    x = CHAIN_X.ravel()
    p = fx.tool.propose(CHAIN_REC, CHAIN_T, overrides={"a": {"type": "sfix6_En3"}})
    q = p["a"]
    assert str(q.proposed) == "sfix6_En3" and q.source == "override"
    ov = exact_overflows(x, True, 6, 3)
    assert ov > 0
    assert abs(q.overflows - ov) <= fine_bin_count_at(x, float(tmax(True, 6, 3)))
    assert q.underflows == exact_underflows(x, 3)


def test_design_range_takes_precedence_without_margin_or_clipping():
    x = DATA["laplace"]
    q = fx.tool.propose(
        RECS["laplace"], word_length=8, design={"s": (-2, 2)}, margin=50, policy="percentile"
    )["s"]
    assert q.range_used == (-2, 2) and q.source == "design" and q.design == (-2.0, 2.0)
    F = best_F(-2, 2, 8, True)
    assert q.proposed == fx.numerictype(True, 8, F)
    ov = exact_overflows(x, True, 8, F)
    assert abs(q.overflows - ov) <= fine_bin_count_at(x, float(tmax(True, 8, F)))


def test_sources_union_derived_simulation():
    w = rec_of(np.round(DATA["laplace"] * 10))
    st = w["s"]
    d = {"s": NS(lo=-100.5, hi=80.25, bounded=True, reason="")}
    u = fx.tool.propose(w, word_length=16, derived=d)["s"]
    assert u.source == "union"
    assert u.range_used == (min(Fr(st.min), Fr(-201, 2)), max(Fr(st.max), Fr(321, 4)))
    # union: not whole-number rounding, the fraction length follows the range
    assert u.proposed == fx.numerictype(True, 16, best_F(*u.range_used, 16, True))
    dv = fx.tool.propose(w, word_length=16, derived=d, source="derived")["s"]
    assert dv.range_used == (Fr(-201, 2), Fr(321, 4)) and dv.source == "derived"
    sm = fx.tool.propose(w, word_length=16, derived=d, source="simulation")["s"]
    assert sm.proposed.fraction_length == min(0, best_F(st.min, st.max, 16, True))
    with pytest.raises(ValueError, match=r"'s'.*feedback"):
        fx.tool.propose(
            {"s": NS(lo=-math.inf, hi=1.0, bounded=False, reason="feedback")}, word_length=16
        )


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------

R = RECS["laplace"]


@pytest.mark.parametrize(
    "kwargs,exc,needles",
    [
        (dict(word_length=0), ValueError, ["word_length", "0"]),
        (dict(word_length=2.5), ValueError, ["word_length", "2.5"]),
        (dict(word_length="16"), ValueError, ["word_length", "16"]),
        (dict(fraction_length=1.5), ValueError, ["fraction_length", "1.5"]),
        (dict(policy="max"), ValueError, ["policy", "max", "minmax"]),
        (dict(policy="percentile", percentile=0), ValueError, ["percentile", "0"]),
        (dict(policy="percentile", percentile=101), ValueError, ["percentile", "101"]),
        (dict(policy="percentile", percentile=float("nan")), ValueError, ["percentile", "nan"]),
        (dict(margin=-5), ValueError, ["margin", "-5"]),
        (dict(source="sim"), ValueError, ["source", "sim"]),
        (dict(design={"zz": (0, 1)}), KeyError, ["design", "zz"]),
        (dict(design={"s": (1, 0)}), ValueError, ["'s'", "1", "0"]),
        (dict(design={"s": (0, math.inf)}), ValueError, ["'s'", "inf"]),
        (dict(overrides={"zz": {"word_length": 8}}), KeyError, ["zz"]),
        (dict(overrides={"s": {"wordlength": 8}}), ValueError, ["'s'", "wordlength"]),
        (dict(overrides={"s": {"word_length": 0}}), ValueError, ["word_length", "0"]),
        (dict(word_length=4, fraction_length=8), ValueError, ["'s'", "4", "8"]),
        (dict(word_length=1), ValueError, ["'s'", "1"]),
    ],
)
def test_bad_arguments_name_argument_and_value(kwargs, exc, needles):
    with pytest.raises(exc) as ei:
        fx.tool.propose(R, **kwargs)
    msg = str(ei.value)
    for n in needles:
        assert n in msg, (n, msg)


def test_empty_recording_and_bad_ranges():
    with pytest.raises(ValueError, match="empty"):
        fx.tool.propose(fx.tool.Recording())
    with pytest.raises(TypeError, match="list"):
        fx.tool.propose([1.0, 2.0])
    with pytest.raises(ValueError, match=r"'s'.*infinite|infinite.*'s'"):
        fx.tool.propose(rec_of([1.0, math.inf]))
    empty_signal = fx.tool.collect(
        lambda x, T: T.s(x), [np.zeros(0)], fx.TypeTable({"s": "double"})
    )
    with pytest.raises(ValueError, match="'s'"):
        fx.tool.propose(empty_signal)
    with pytest.raises(ValueError, match=r"'s'.*derived"):
        fx.tool.propose(
            {"s": NS(lo=-1.0, hi=1.0, bounded=True, reason="")}, policy="kl", word_length=8
        )


def test_collect_verify_derive_bad_input_messages():
    T = fx.TypeTable({"x": "double", "y": "double"})

    def gain(x, T):
        return T.y(T.x(x) * 3.0)

    with pytest.raises(TypeError, match=r"collect: inputs.*float"):
        fx.tool.collect(gain, 3.0, T)
    with pytest.raises(TypeError, match=r"collect: T.*dict"):
        fx.tool.collect(gain, [np.zeros(3)], {"x": "double"})
    with pytest.raises(ValueError, match=r"workers.*0"):
        fx.tool.collect(gain, [np.zeros(3)], T, workers=0)
    with pytest.raises(ValueError, match=r"verify: inputs is empty"):
        fx.tool.verify(gain, [], fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En12"}))
    with pytest.raises(TypeError, match=r"verify: T_fixed.*dict"):
        fx.tool.verify(gain, [np.zeros(3)], {"x": "sfix8"})
    with pytest.raises(ValueError, match=r"max_samples.*-1"):
        fx.tool.verify(
            gain, [np.zeros(3)], fx.TypeTable({"x": "sfix8", "y": "sfix8"}), max_samples=-1
        )
    with pytest.raises(ValueError, match=r"input_ranges.*lo=1.0 > hi=-1.0"):
        fx.tool.derive(gain, (1, -1), T)
    with pytest.raises(TypeError, match=r"input_ranges.*\(1,\)"):
        fx.tool.derive(gain, (1,), T)
    with pytest.raises(ValueError, match=r"input_ranges.*nan"):
        fx.tool.derive(gain, (0, float("nan")), T)
    with pytest.raises(ValueError, match=r"shape.*-3"):
        fx.tool.derive(gain, (-1, 1), T, shape=-3)


def test_typetable_json_bad_content_messages():
    good = fx.TypeTable({"a": "sfix8_En4", "b": "double"}, locked=["a"])
    d = json.loads(good.to_json())
    cases = [
        ({**d, "schema": "foo/9"}, ValueError, ["schema", "foo/9"]),
        ({**d, "signals": {"a": "sfix8_Enx"}, "locked": []}, ValueError, ["'a'", "sfix8_Enx"]),
        ({**d, "signals": {"a": 16}, "locked": []}, TypeError, ["'a'", "16"]),
        ({**d, "locked": ["zz"]}, KeyError, ["zz"]),
        ({**d, "signals": {"a": "sfix0_En2"}, "locked": []}, ValueError, ["'a'", "word_length"]),
    ]
    for data, exc, needles in cases:
        with pytest.raises(exc) as ei:
            fx.TypeTable.from_json(json.dumps(data))
        for n in needles:
            assert n in str(ei.value), (n, str(ei.value))


# --------------------------------------------------------------------------------------
# JSON round trip and verify
# --------------------------------------------------------------------------------------


def _two_stage(x, T):
    x = T.x(x)
    acc = T.acc(np.convolve(np.asarray(x, dtype=np.float64), [0.5, -1.25, 0.75, 0.3])[: len(x)])
    return T.y(np.asarray(acc, dtype=np.float64) * 1.7)


def test_proposal_types_json_round_trip_and_verify_has_no_overflows():
    T = fx.TypeTable({"x": "double", "acc": "double", "y": "double"})
    frames = list(np.random.default_rng(3).standard_t(3, (6, 400)))
    rec = fx.tool.collect(_two_stage, frames, T)
    for W in (8, 12, 16):
        p = fx.tool.propose(rec, T, word_length=W, margin=2)
        Tj = fx.TypeTable.from_json(p.types.to_json())
        assert Tj == p.types
        assert Tj.to_json() == p.types.to_json()
        for n in ("x", "acc", "y"):
            assert Tj.type_of(n) == p[n].proposed
        check = fx.tool.verify(_two_stage, frames, Tj)
        assert check.overflows == 0
        assert all(check[n].overflows == 0 for n in ("x", "acc", "y"))
        # without margin the input itself (no upstream quantization) never overflows
        p0 = fx.tool.propose(rec, T, word_length=W)
        c0 = fx.tool.verify(_two_stage, frames, fx.TypeTable.from_json(p0.types.to_json()))
        assert c0["x"].overflows == 0


# --------------------------------------------------------------------------------------
# bugs found (minimal reproducers)
# --------------------------------------------------------------------------------------

X0 = np.random.default_rng(1).laplace(0, 1, 4000)


@pytest.mark.parametrize("k", [-600, 600])
def test_bug_mse_policy_not_scale_invariant_for_tiny_or_huge_signals(k):
    """Regression (was a strict xfail, fixed): mse picked F0 (no clipping) for X0*2**k with |k| >= ~520: the objective's LSB**2 and clip terms under/overflowed floats and every candidate tied; expected the fraction length of X0 shifted by k."""
    F_ref = fx.tool.propose(rec_of(X0), word_length=4, policy="mse")["s"].proposed.fraction_length
    q = fx.tool.propose(rec_of(np.ldexp(X0, k)), word_length=4, policy="mse")["s"]
    # X0 * 2**k needs k fewer fraction bits than X0
    assert q.proposed.fraction_length + k == F_ref


def test_bug_percentile_sqnr_of_tiny_clipped_signal_drops_the_clip_error():
    """Regression (was a strict xfail, fixed): sqnr_db of X0*2**-1000 under percentile clipping was 25.822 (the clipping error underflowed to 0); expected 25.697, as for X0."""
    a = fx.tool.propose(rec_of(X0), word_length=6, policy="percentile", percentile=99.5)["s"]
    b = fx.tool.propose(
        rec_of(np.ldexp(X0, -1000)), word_length=6, policy="percentile", percentile=99.5
    )["s"]
    assert b.clip_fraction == a.clip_fraction > 0
    assert b.sqnr_db == pytest.approx(a.sqnr_db, abs=1e-6)


def test_bug_propose_huge_negative_value_crashes():
    """Regression (was a strict xfail, fixed): a recorded -1.7e308 raised OverflowError (numerictype.min of sfix8_E1017, -2**1024, is not a double); expected sfix8_E1017."""
    q = fx.tool.propose(rec_of([-1.7e308]), word_length=8)["s"]
    assert q.proposed == fx.numerictype(True, 8, best_F(-1.7e308, -1.7e308, 8, True))


def test_bug_propose_huge_value_64_bits_crashes():
    """Regression (was a strict xfail, fixed): 1.7e308 at word_length=64 raised OverflowError (T.max ~ 2**1024); expected ufix64_E961."""
    q = fx.tool.propose(rec_of([1.7e308]), word_length=64)["s"]
    assert q.proposed == fx.numerictype(False, 64, best_F(1.7e308, 1.7e308, 64, False))


def test_bug_kl_on_subnormal_values():
    """Regression (was a strict xfail, fixed): kl on X0*2**-1030 clipped nothing and warned 'invalid value' (NaN in the subnormal bins); expected X0's threshold scaled."""
    a = fx.tool.propose(rec_of(X0), word_length=4, policy="kl")["s"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = fx.tool.propose(rec_of(np.ldexp(X0, -1030)), word_length=4, policy="kl")["s"]
    assert math.ldexp(float(b.range_used[1]), 1030) == pytest.approx(
        float(a.range_used[1]), rel=0.01
    )


def test_bug_kl_smallest_subnormals_clip_to_zero_and_turn_unsigned():
    """Regression (was a strict xfail, fixed): kl on [5e-324, -5e-324, 0] gave the threshold 0, ufix8_En8, one overflow and -6407 dB; expected a signed type with no overflow."""
    x = [5e-324, -5e-324, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = fx.tool.propose(rec_of(x), word_length=8, policy="kl")["s"]
    assert q.proposed.signed and q.overflows == 0


def test_bug_kl_constant_signal_range_used_inverted():
    """Regression (was a strict xfail, fixed): a constant 0.3 under kl reported range_used (0.3, 0.296997), low above high."""
    q = fx.tool.propose(rec_of(np.full(100, 0.3)), word_length=8, policy="kl")["s"]
    assert q.range_used[0] <= q.range_used[1]


@pytest.mark.parametrize("how", ["argument", "override"])
def test_bug_margin_nan_message_does_not_name_margin(how):
    """Regression (was a strict xfail, fixed): margin=nan (or an override margin inf) gave 'Invalid literal for Fraction: nan', naming neither margin nor the value."""
    kw = (
        dict(margin=float("nan"))
        if how == "argument"
        else dict(overrides={"s": {"margin": float("inf")}})
    )
    with pytest.raises(ValueError) as ei:
        fx.tool.propose(R, word_length=8, **kw)
    assert "margin" in str(ei.value)


def test_bug_override_bad_type_message_does_not_name_signal():
    """Regression (was a strict xfail, fixed): overrides={'s': {'type': 'garbage'}} gave the bare numerictype.parse error, naming no signal."""
    with pytest.raises(ValueError) as ei:
        fx.tool.propose(R, overrides={"s": {"type": "garbage"}})
    assert "'s'" in str(ei.value)


def test_bug_typetable_json_bad_entry_rounding_message_does_not_name_signal():
    """Regression (was a strict xfail, fixed): a JSON entry with rounding 'sideways' gave an error that did not name the signal 'a'."""
    d = json.loads(fx.TypeTable({"a": "sfix8_En4"}).to_json())
    d["signals"]["a"] = {"type": "sfix8", "rounding": "sideways"}
    with pytest.raises(ValueError) as ei:
        fx.TypeTable.from_json(json.dumps(d))
    assert "'a'" in str(ei.value)


def test_bug_derive_bad_shape_message_does_not_name_shape():
    """Regression (was a strict xfail, fixed): derive(..., shape=(2, 'a')) gave 'invalid literal for int()', not naming shape."""
    T = fx.TypeTable({"x": "double"})
    with pytest.raises((ValueError, TypeError)) as ei:
        fx.tool.derive(lambda x, T: T.x(x), (-1, 1), T, shape=(2, "a"))
    assert "shape" in str(ei.value)


# --------------------------------------------------------------------------------------
# property: minmax (with decimal margin) against the exact search, random small data
# --------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v != 0), min_size=1, max_size=30
    ),
    st.integers(2, 24),
    st.sampled_from(["0", "0.1", "5", "33.3", "50"]),
)
def test_property_minmax_with_margin_is_exact_best_precision(xs, W, m):
    x = np.array(xs)
    q = fx.tool.propose(rec_of(x), word_length=W, margin=float(m))["s"]
    k = 1 + Fr(m) / 100
    lo, hi = Fr(float(x.min())) * k, Fr(float(x.max())) * k
    assert q.range_used == (lo, hi)
    s = lo < 0
    F = best_F(lo, hi, W, s)
    if np.all(x == np.round(x)):
        F = min(F, 0)
    assert q.proposed == fx.numerictype(s, W, F)
    assert q.overflows == 0 and q.underflows == exact_underflows(x, F)
