"""SignalStats: exact statistics, exact merges, histograms, lossless dicts."""

from __future__ import annotations

import json
import math
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixsim.tool import SignalStats, _stats

finite = st.floats(allow_nan=False, allow_infinity=False)
values = st.lists(st.one_of(finite, st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324,
                                                     1.7976931348623157e308, 0.5, 3.0])),
                  max_size=80)
with_nonfinite = st.lists(st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf])),
                          max_size=60)


def _reference(xs):
    """Everything a SignalStats holds, from a slow exact pass with Fractions."""
    fin = [v for v in xs if math.isfinite(v)]
    nz = [v for v in fin if v != 0]
    hist: dict[int, int] = {}
    for v in nz:
        k = math.frexp(v)[1]
        assert Fraction(2) ** (k - 1) <= abs(Fraction(v)) < Fraction(2) ** k
        hist[k] = hist.get(k, 0) + 1
    return dict(count=len(xs), nan=sum(math.isnan(v) for v in xs),
                inf=sum(math.isinf(v) for v in xs), zeros=len(fin) - len(nz),
                min=min(fin) if fin else None, max=max(fin) if fin else None,
                whole=all(v == math.floor(v) for v in fin),
                sum=sum(map(Fraction, fin), Fraction(0)),
                sumsq=sum((Fraction(v) ** 2 for v in fin), Fraction(0)),
                hist=dict(sorted(hist.items())))


def _check(s: SignalStats, xs):
    r = _reference(xs)
    assert s.count == r["count"] and s.nan_count == r["nan"] and s.inf_count == r["inf"]
    assert s.zeros == r["zeros"] and s.min == r["min"] and s.max == r["max"]
    assert s.whole == r["whole"]
    assert s.exact_sum == r["sum"] and s.exact_sum_squares == r["sumsq"]
    assert s.log2_histogram == r["hist"]
    _, pos, neg = s.fine_histogram
    assert int(pos.sum() + neg.sum()) + s.zeros + s.nan_count + s.inf_count == s.count
    if r["min"] is not None:
        assert s.max_abs == max(abs(r["min"]), abs(r["max"]))
        n = len(xs) - r["nan"] - r["inf"]
        assert s.mean == float(r["sum"] / n)


@given(with_nonfinite)
def test_single_pass_matches_exact_reference(xs):
    _check(SignalStats().update(np.array(xs, dtype=np.float64)), xs)


@given(values)
def test_single_pass_matches_exact_reference_edge_values(xs):
    _check(SignalStats().update(xs), xs)


@given(st.lists(finite, min_size=1, max_size=300), st.data())
def test_merge_equals_single_pass_for_random_splits(xs, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(xs)), max_size=6)))
    parts = [xs[a:b] for a, b in zip([0, *cuts], [*cuts, len(xs)], strict=True)]
    whole = SignalStats("x").update(xs)
    stats = [SignalStats("x").update(p) for p in parts]
    merged = stats[0]
    for s in stats[1:]:
        merged = merged.merge(s)
    assert merged == whole
    # associativity and commutativity
    if len(stats) >= 3:
        a, b, c = stats[0], stats[1], stats[2]
        assert a.merge(b).merge(c) == a.merge(b.merge(c)) == c.merge(a).merge(b)
    # update in pieces (same object) too
    piecewise = SignalStats("x")
    for p in parts:
        piecewise.update(p)
    assert piecewise == whole


def test_large_arrays_match_exact_sums_and_small_pieces():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(20_000) * rng.choice([1e-300, 1e-3, 1.0, 1e200, 5e-324], 20_000)
    x[::11] = 0.0
    s = SignalStats().update(x)
    assert s.exact_sum == sum(map(Fraction, x.tolist()), Fraction(0))
    assert s.exact_sum_squares == sum((Fraction(v) ** 2 for v in x.tolist()), Fraction(0))
    small = SignalStats()
    for i in range(0, x.size, 17):  # many small updates merge to the same statistics
        small.update(x[i:i + 17])
    assert small == s


def test_moments_are_correctly_rounded():
    x = [1e16, 1.0, -1e16, 3.0]
    s = SignalStats().update(x)
    assert s.sum == 4.0 and s.mean == 1.0  # float summation would lose the 1.0
    assert s.var == float((Fraction(1e32) * 2 + 10) / 4 - 1)
    assert s.std == math.sqrt(s.var)
    assert s.rms == math.sqrt(float((Fraction(1e32) * 2 + 10) / 4))
    e = SignalStats()
    assert math.isnan(e.mean) and math.isnan(e.std) and e.max_abs is None and e.whole


def test_histogram_conventions():
    s = SignalStats().update([0.5, 0.75, 1.0, -1.0, 1.5, 2.0, 0.0, -3.0, 4.0 - 2 ** -50])
    # bin k: 2**(k-1) <= |x| < 2**k
    assert s.log2_histogram == {0: 2, 1: 3, 2: 3}
    edges, pos, neg = s.fine_histogram
    assert edges.size == pos.size + 1 == neg.size + 1
    assert edges[0] == 0.5 and edges[1] == 0.5 * (1 + 1 / 16)
    # 0.75 = 0.5 * (1 + 8/16): first value of sub-bin 8 of the octave [0.5, 1)
    assert pos[8] == 1 and pos[0] == 1
    assert int(neg.sum()) == 2 and int(pos.sum()) == 6
    # 4 - 2**-50 is in the last sub-bin of the octave [2, 4)
    g0, p, _ = s.fine_bins
    assert g0 == 16 * 0 and p[-1] == 1 and edges[-1] == 4.0
    assert s.zeros == 1


def test_overflow_counts_and_types():
    s = SignalStats("acc").update([1.0], overflows=2, underflows=1, numerictype="sfix8_En4")
    s.update([2.0], overflows=1, numerictype="sfix8_En4")
    assert (s.overflows, s.underflows, s.numerictype) == (3, 1, "sfix8_En4")
    with pytest.raises(ValueError, match=r"SignalStats 'acc': overflow counts against "
                                         r"sfix16_En4 cannot be combined with counts against "
                                         r"sfix8_En4"):
        s.update([1.0], numerictype="sfix16_En4")
    other = SignalStats().update([5.0])
    assert s.merge(other).numerictype == "sfix8_En4" == other.merge(s).numerictype


@given(with_nonfinite, st.integers(0, 5), st.integers(0, 5))
def test_dict_round_trip_is_lossless(xs, o, u):
    s = SignalStats("sig").update(xs, o, u, "sfix16_En3" if o else None)
    d = json.loads(json.dumps(s.to_dict()))
    back = SignalStats.from_dict(d)
    assert back == s and back.name == "sig" and back.to_dict() == s.to_dict()


def test_bad_dict_and_merge_inputs():
    with pytest.raises(ValueError, match="unsupported schema None"):
        SignalStats.from_dict({})
    with pytest.raises(TypeError, match="expected SignalStats, got list"):
        SignalStats().merge([])


def test_doctests():
    import doctest

    assert doctest.testmod(_stats).failed == 0


def test_kernel_columns_wrap_exactly():
    # the largest mantissa, thousands of times in one exponent row: every int64 column of the
    # kernel passes 2**62 many times and must count its wrap-arounds exactly
    big = 2.0 - 2.0 ** -52
    x = np.array([big] * 5000 + [-big] * 1234 + [big * 2.0 ** 900] * 3000)
    s = SignalStats().update(x)
    exact = [Fraction(v) for v in x.tolist()]
    assert s.exact_sum == sum(exact, Fraction(0))
    assert s.exact_sum_squares == sum((v * v for v in exact), Fraction(0))
    assert s.log2_histogram == {1: 6234, 901: 3000}


def test_fold_limit_splits_exactly(monkeypatch):
    # the accumulator folds its int64 state into Python ints every FOLD_LIMIT values; a tiny
    # limit makes one update cross many folds, which must change nothing
    x = np.random.default_rng(3).uniform(-4, 4, 5000)
    x[::7] *= 2.0 ** 40
    whole = SignalStats().update(x)
    monkeypatch.setattr(_stats._ks, "FOLD_LIMIT", 37)  # the kernel module, as _stats sees it
    assert len(_stats._summarize(x)) == -(-x.size // 37)  # really folded that often
    s = SignalStats().update(x)
    assert s == whole
    assert s.exact_sum == sum(map(Fraction, x.tolist()), Fraction(0))
    assert s.exact_sum_squares == sum((Fraction(v) ** 2 for v in x.tolist()), Fraction(0))


def test_kernel_pieces_leave_int64_headroom():
    # every column stays below 2**62 after each value, and one value adds less than 2**55:
    # a column never exceeds 2**63 - 1 (the bound the kernel's wrap counting relies on)
    u = (1 << 53) - 1  # the largest mantissa
    a, b = u >> 26, u & ((1 << 26) - 1)
    lo = b * b + (((2 * a * b) & ((1 << 26) - 1)) << 26)
    hi = a * a + ((2 * a * b) >> 26) + (lo >> 52)
    assert hi * 2 ** 52 + (lo & (2 ** 52 - 1)) == u * u  # the split is exact
    assert max(u, hi, lo & (2 ** 52 - 1)) < 2 ** 55 and 2 ** 62 + 2 ** 55 < 2 ** 63


def test_fast_bins_spill_exactly():
    # the fast kernel moves a bin's sums to its spill every SPILL values of the bin; 2.5 spills'
    # worth of the largest mantissa (every 24-bit half all ones) in one bin, of both signs,
    # and a second exponent, must still give the exact sums
    from fixsim._kernels import _stats as ks

    big = 2.0 - 2.0 ** -52
    n = 5 * ks.SPILL // 2
    x = np.array([big] * n + [-big] * (n // 3) + [big * 2.0 ** -600] * n)
    s = SignalStats().update(x)
    exact = [Fraction(v) for v in x.tolist()]
    assert s.exact_sum == sum(exact, Fraction(0))
    assert s.exact_sum_squares == sum((v * v for v in exact), Fraction(0))
    assert s.log2_histogram == {1: n + n // 3, -599: n}
    _, pos, neg = s.fine_histogram
    assert pos.max() == n and neg.max() == n // 3


def test_fast_and_row_values_mix_exactly():
    # subnormals, NaNs and infinities go through the row kernel, everything else through the
    # fast bins; one summary holds both, exactly
    x = np.array([5e-324, -3e-310, 1.5, math.nan, -math.inf, 2.0 ** -1022, -0.0, 7.0, 1e-320])
    s = SignalStats().update(x)
    _check(s, x.tolist())
    assert s.min == -3e-310 and s.max == 7.0  # extremes from the row part and the fast part
    assert s.fine_bins[0] < 16 * -1021  # subnormal bins below the normal range


@given(with_nonfinite)
def test_ranges_detail_keeps_everything_but_the_sums(xs):
    full = SignalStats("x").update(xs)
    rng = SignalStats("x", detail="ranges").update(xs)
    assert rng.detail == "ranges" and full.detail == "full"
    r = _reference(xs)
    assert rng.count == r["count"] and rng.nan_count == r["nan"] and rng.inf_count == r["inf"]
    assert rng.zeros == r["zeros"] and rng.min == r["min"] and rng.max == r["max"]
    assert rng.whole == r["whole"] and rng.log2_histogram == r["hist"]
    g0, pos, neg = full.fine_bins
    h0, pos2, neg2 = rng.fine_bins
    assert (g0, pos.tolist(), neg.tolist()) == (h0, pos2.tolist(), neg2.tolist())


def test_ranges_detail_has_no_sums_and_says_so():
    s = SignalStats("acc", detail="ranges").update([1.0, 2.0])
    for attr in ("exact_sum", "exact_sum_squares", "sum", "sum_squares", "mean", "var", "std",
                 "rms"):
        with pytest.raises(ValueError, match=r"'acc'.*detail='ranges'.*detail='full'"):
            getattr(s, attr)
    with pytest.raises(ValueError, match=r"detail='everything'.*'full', 'ranges'"):
        SignalStats("x", detail="everything")


def test_ranges_merged_with_full_drops_the_sums_only():
    a = SignalStats("x").update([1.0, -3.0])
    b = SignalStats("x", detail="ranges").update([0.5])
    for m in (a.merge(b), b.merge(a)):
        assert m.detail == "ranges"
        assert (m.count, m.min, m.max, m.log2_histogram) == (3, -3.0, 1.0, {0: 1, 1: 1, 2: 1})
    assert a.merge(b) == b.merge(a)
    assert a.detail == "full" and a.mean == -1.0  # inputs unchanged


def test_ranges_detail_round_trips_through_dict():
    s = SignalStats("x", detail="ranges").update([0.25, -8.0, 0.0])
    d = json.loads(json.dumps(s.to_dict()))
    assert d["sum_units_2^-1074"] is None and d["sum_squares_units_2^-2148"] is None
    back = SignalStats.from_dict(d)
    assert back == s and back.detail == "ranges"
    d["sum_units_2^-1074"] = "0"
    with pytest.raises(ValueError, match="both be present or both be null"):
        SignalStats.from_dict(d)


@given(st.lists(st.integers(-(2 ** 70), 2 ** 70), min_size=1, max_size=20),
       st.integers(0, 1100), st.booleans())
def test_whole_flag_at_every_binary_exponent(ints, k, scale_down):
    # the kernel decides "whole" from a per-exponent bit mask; values are m * 2**(+-k), whole
    # exactly when that is an integer (decided here with Fractions)
    xs = []
    for m in ints:
        try:
            xs.append(math.ldexp(float(m), -k if scale_down else k % 60))
        except OverflowError:
            continue
    whole = all(Fraction(v).denominator == 1 for v in xs)
    assert SignalStats().update(xs).whole == whole
    assert SignalStats(detail="ranges").update(xs).whole == whole


@given(st.integers(1, 2**200), st.integers(1, 2**200), st.integers(-2300, 2300))
def test_sqrt_of_an_exact_rational_is_correctly_rounded(a, b, e):
    # std and rms are the correctly rounded roots of the exact variance and mean square
    # (regression: they were sqrt(float(...)), rounded twice, and inf or 0.0 where the
    # variance left the float range but its root did not)
    q = Fraction(a, b) * Fraction(2) ** e
    r = _stats._sqrt_to_float(q)
    top = Fraction(sys.float_info.max)
    if r == math.inf:  # the root rounds beyond the largest float
        assert q >= (top + Fraction(math.ulp(sys.float_info.max)) / 2) ** 2
        return
    R = Fraction(r)
    below = Fraction(math.nextafter(r, 0.0))
    above = R + (R - below) if R == top else Fraction(math.nextafter(r, math.inf))
    assert ((below + R) / 2) ** 2 <= q <= ((R + above) / 2) ** 2  # nearest (ties inclusive)
