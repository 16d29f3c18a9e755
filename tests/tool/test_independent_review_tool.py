"""Independent black-box review of ``fixsim.tool`` (record, propose, verify).

Every expected value here is recomputed from the documentation alone (docs/tool.md,
docs/user-guide.md, docs/tool-derive.md and the public docstrings) with Python ints and
``fractions.Fraction``; nothing expected is computed with the code under test. Floats are
compared with ``==`` unless the documentation calls the number an estimate or a logarithm
(then the tolerance is stated next to the comparison).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim.tool import SignalStats

SETTINGS = settings(max_examples=30, deadline=None, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------
# Exact reference helpers (no fixsim code involved)
# ----------------------------------------------------------------------------------------

def exact(x) -> Fraction:
    return Fraction(float(x))


def floor_frac(q: Fraction) -> int:
    return q.numerator // q.denominator


def round_int(y: Fraction, mode: str) -> int:
    """Round the exact rational ``y`` to an integer with the user guide's rounding modes."""
    fl = floor_frac(y)
    frac = y - fl
    if mode == 'floor':
        return fl
    if mode == 'ceil':
        return fl if frac == 0 else fl + 1
    if mode == 'zero':
        return fl if (y >= 0 or frac == 0) else fl + 1
    if frac != Fraction(1, 2):
        return fl if frac < Fraction(1, 2) else fl + 1
    # a tie
    if mode == 'nearest':
        return fl + 1
    if mode == 'round':
        return fl + 1 if y > 0 else fl
    if mode == 'convergent':
        return fl if fl % 2 == 0 else fl + 1
    raise ValueError(mode)


def int_limits(signed: bool, w: int) -> tuple[int, int]:
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)


def quantize(v: Fraction, signed: bool, w: int, f: int, rounding='nearest',
             overflow='saturate'):
    """Exact quantization: (stored int, overflowed, underflowed) per the user guide."""
    y = v * Fraction(2) ** f
    r = round_int(y, rounding)
    lo, hi = int_limits(signed, w)
    ovf = r < lo or r > hi
    if ovf:
        if overflow == 'saturate':
            r = lo if r < lo else hi
        elif overflow == 'wrap':
            r = (r - lo) % (1 << w) + lo
        else:
            raise ValueError(overflow)
    unf = (not ovf) and v != 0 and r == 0
    return r, ovf, unf


def type_range(signed: bool, w: int, f: int) -> tuple[Fraction, Fraction]:
    lo, hi = int_limits(signed, w)
    scale = Fraction(2) ** -f
    return lo * scale, hi * scale


def covers(signed, w, f, lo, hi) -> bool:
    tmin, tmax = type_range(signed, w, f)
    return tmin <= lo and hi <= tmax


def best_fraction_length(lo: Fraction, hi: Fraction, signed: bool, w: int) -> int:
    """The largest F with T.min <= lo and hi <= T.max, searched exactly."""
    m = max(abs(lo), abs(hi))
    assert m != 0
    # start from a guess and walk: the exact comparison decides
    f = w - 1 - (m.numerator.bit_length() - m.denominator.bit_length())
    while not covers(signed, w, f, lo, hi):
        f -= 1
    while covers(signed, w, f + 1, lo, hi):
        f += 1
    return f


def smallest_word_length(lo, hi, signed, f) -> int:
    w = 1
    while not covers(signed, w, f, lo, hi):
        w += 1
    return w


def sqrt_rn(q: Fraction) -> float:
    """The double nearest to sqrt(q), q >= 0 exact (sticky-bit rounding)."""
    if q == 0:
        return 0.0
    n, d = q.numerator, q.denominator
    s = 64 - (n.bit_length() - d.bit_length()) // 2
    if s >= 0:
        num, den = n << (2 * s), d
    else:
        num, den = n, d << (-2 * s)
    r = math.isqrt(num // den)
    inexact = r * r * den != num
    try:
        return float(Fraction(2 * r + (1 if inexact else 0), 2) / Fraction(2) ** s)
    except OverflowError:
        return math.inf


def frexp_exp(x: float) -> int:
    return math.frexp(x)[1]


def ref_stats(values):
    """Everything SignalStats documents, recomputed exactly."""
    vals = [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    fin = [v for v in vals if math.isfinite(v)]
    out = {
        'count': len(vals),
        'finite_count': len(fin),
        'nan_count': sum(1 for v in vals if math.isnan(v)),
        'inf_count': sum(1 for v in vals if math.isinf(v)),
        'zeros': sum(1 for v in vals if v == 0),
        'min': min(fin) if fin else None,
        'max': max(fin) if fin else None,
        'whole': all(v == math.floor(v) for v in fin),
    }
    ex = [Fraction(v) for v in fin]
    s1 = sum(ex, Fraction(0))
    s2 = sum((e * e for e in ex), Fraction(0))
    out['exact_sum'] = s1
    out['exact_sum_squares'] = s2
    hist: dict[int, int] = {}
    for v in fin:
        if v != 0:
            k = frexp_exp(abs(v))
            hist[k] = hist.get(k, 0) + 1
    out['log2_histogram'] = dict(sorted(hist.items()))
    fine_pos: dict[int, int] = {}
    fine_neg: dict[int, int] = {}
    for v in fin:
        if v == 0:
            continue
        e = frexp_exp(abs(v))
        # 2**(e-1) * (1 + j/16) <= |x| < 2**(e-1) * (1 + (j+1)/16)
        j = floor_frac((Fraction(abs(v)) / Fraction(2) ** (e - 1) - 1) * 16)
        g = 16 * e + j
        tgt = fine_pos if v > 0 else fine_neg
        tgt[g] = tgt.get(g, 0) + 1
    out['fine_pos'] = fine_pos
    out['fine_neg'] = fine_neg
    return out


def to_float(q: Fraction) -> float:
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def rec_of(values, name='x'):
    T = fx.TypeTable({name: 'double'})
    with fx.tool.record() as rec:
        T[name](np.asarray(values, dtype=np.float64))
    return rec, T


# Floats built from an integer mantissa and a binary exponent: exact, varied scales.
def float_arrays(min_size=1, max_size=40, exp_lo=-30, exp_hi=30):
    scale = st.integers(exp_lo, exp_hi)
    mant = st.integers(-(2 ** 20), 2 ** 20)
    return st.tuples(scale, st.lists(st.tuples(mant, st.integers(-12, 0)),
                                     min_size=min_size, max_size=max_size)).map(
        lambda t: np.array([math.ldexp(m, t[0] + e) for m, e in t[1]], dtype=np.float64))


# ----------------------------------------------------------------------------------------
# 1. Record statistics
# ----------------------------------------------------------------------------------------

def check_stats(s: SignalStats, values, moments=True):
    r = ref_stats(values)
    for key in ('count', 'finite_count', 'nan_count', 'inf_count', 'zeros', 'whole'):
        assert getattr(s, key) == r[key], key
    if r['min'] is None:
        assert s.min is None and s.max is None
    else:
        assert s.min == r['min'] and s.max == r['max']
        assert s.max_abs == max(abs(r['min']), abs(r['max']))
    assert s.log2_histogram == r['log2_histogram']
    g0, pos, neg = s.fine_bins
    got_pos = {g0 + i: int(c) for i, c in enumerate(pos) if c}
    got_neg = {g0 + i: int(c) for i, c in enumerate(neg) if c}
    assert got_pos == r['fine_pos'] and got_neg == r['fine_neg']
    if not moments:
        return
    assert s.exact_sum == r['exact_sum']
    assert s.exact_sum_squares == r['exact_sum_squares']
    n = r['finite_count']
    assert s.sum == to_float(r['exact_sum'])
    assert s.sum_squares == to_float(r['exact_sum_squares'])
    if n:
        mean = r['exact_sum'] / n
        var = r['exact_sum_squares'] / n - mean * mean
        assert s.mean == to_float(mean)
        assert s.var == to_float(var)
        # tool.md's table: std and rms are "correctly rounded from exact sums"
        assert s.std == sqrt_rn(var)
        assert s.rms == sqrt_rn(r['exact_sum_squares'] / n)
    else:
        assert math.isnan(s.mean)


@SETTINGS
@given(float_arrays(min_size=0, max_size=60))
def test_stats_match_exact_recomputation(values):
    check_stats(SignalStats('x').update(values), values)


@SETTINGS
@given(float_arrays(min_size=2, max_size=60), st.integers(0, 60), st.integers(0, 60))
def test_stats_merge_equals_single_pass(values, a, b):
    a, b = sorted((a % (len(values) + 1), b % (len(values) + 1)))
    parts = [values[:a], values[a:b], values[b:]]
    merged = SignalStats('x')
    for p in parts:
        merged = merged.merge(SignalStats('x').update(p))
    one = SignalStats('x').update(values)
    assert merged == one
    check_stats(merged, values)


@pytest.mark.parametrize('values', [
    [0.0, 0.0, -0.0],                      # all zeros
    [3.5],                                 # a single value
    [-7.0, -0.25, -1e-3],                  # negative only
    [0.5, 1.0, 2.0, 4.0, -8.0, -0.125],    # exactly on powers of two
    [1.0 - 2 ** -53, 2.0 - 2 ** -52, 2 ** -1074],   # just below powers of two, smallest subnormal
    [5e-324, 1e-320, -3e-310],             # subnormals
    [1e300, 3e300, -2e300],                # huge (sums of squares overflow a double)
    [np.nan, np.inf, -np.inf, 2.5, -0.0],  # non-finite values are counted apart
    [1.0, 2.0, -3.0, 1e15],                # whole numbers
], ids=['zeros', 'single', 'negative', 'pow2', 'below-pow2', 'subnormal', 'huge', 'nonfinite',
        'whole'])
def test_stats_edge_cases_except_std_rms(values):
    s = SignalStats('x').update(values)
    r = ref_stats(values)
    # everything except std/rms (checked separately below, with a known discrepancy)
    check_stats(s, values, moments=False)
    assert s.exact_sum == r['exact_sum']
    assert s.exact_sum_squares == r['exact_sum_squares']
    n = r['finite_count']
    mean = r['exact_sum'] / n
    assert s.mean == to_float(mean)
    assert s.var == to_float(r['exact_sum_squares'] / n - mean * mean)


@pytest.mark.parametrize('values', [[0.0], [3.5], [-7.0, -0.25, -1e-3], [0.5, 1.0, -8.0]])
def test_std_rms_correctly_rounded_normal_range(values):
    s = SignalStats('x').update(values)
    ex = [Fraction(v) for v in values]
    n = len(ex)
    mean = sum(ex, Fraction(0)) / n
    var = sum((e * e for e in ex), Fraction(0)) / n - mean * mean
    assert s.std == sqrt_rn(var)
    assert s.rms == sqrt_rn(sum((e * e for e in ex), Fraction(0)) / n)


def test_std_correctly_rounded_double_rounding_case():
    # regression (found by this review, fixed): std is sqrt(rounded var), rounded twice, not
    # correctly rounded from the exact sums as tool.md's table says: for [0, 0.015625, -2] the
    # exact std is 0.94651338437739777983..., nearest double 0.9465133843773977, fixsim gives
    # 0.9465133843773978
    values = [0.0, 0.015625, -2.0]
    s = SignalStats('x').update(values)
    var = Fraction(16513, 18432)
    ex = [Fraction(v) for v in values]
    mean = sum(ex, Fraction(0)) / 3
    assert sum((e * e for e in ex), Fraction(0)) / 3 - mean * mean == var
    assert sqrt_rn(var) == 0.9465133843773977
    assert s.std == 0.9465133843773977


def test_rms_correctly_rounded_double_rounding_case():
    # regression (found by this review, fixed): rms is sqrt(rounded mean square), not correctly
    # rounded from the exact sums as tool.md's table says: for [0, 0.5, 3] the exact rms is
    # sqrt(37/12) = 1.75594229214212314..., nearest double 1.755942292142123, fixsim gives
    # 1.7559422921421233
    s = SignalStats('x').update([0.0, 0.5, 3.0])
    assert sqrt_rn(Fraction(37, 12)) == 1.755942292142123
    assert s.rms == 1.755942292142123


def test_std_rms_huge_values_correctly_rounded():
    # regression (found by this review, fixed): std/rms are sqrt of the *rounded* var/mean-square,
    # not correctly rounded from the exact sums as tool.md's table says: for [1e300, -1e300] the
    # exact std and rms are 1e300 but fixsim reports inf (var overflows a double first)
    s = SignalStats('x').update([1e300, -1e300])
    assert s.std == 1e300
    assert s.rms == 1e300


def test_std_rms_tiny_values_correctly_rounded():
    # regression (found by this review, fixed): std/rms of tiny values: for [1e-300, -1e-300] the
    # exact std and rms are 1e-300, fixsim reports 0.0 (the variance 1e-600 underflows before the
    # square root)
    s = SignalStats('x').update([1e-300, -1e-300])
    assert s.std == 1e-300
    assert s.rms == 1e-300


def test_signalstats_docstring_example_numbers():
    vals = [0.5, -3.0, 0.0, 6.0]
    s = SignalStats('x').update(vals[:3]).merge(SignalStats('x').update(vals[3:]))
    check_stats(s, vals)
    assert s.log2_histogram == {0: 1, 2: 1, 3: 1}


@SETTINGS
@given(float_arrays(min_size=1, max_size=40, exp_lo=-14, exp_hi=6),
       st.sampled_from([(True, 8, 4), (True, 6, 2), (False, 8, 5), (True, 12, 10)]),
       st.sampled_from(['nearest', 'floor', 'convergent', 'zero']))
def test_recorded_overflow_underflow_counts_of_named_cast(values, t, rounding):
    signed, w, f = t
    nt = fx.numerictype(signed, w, f)
    T = fx.TypeTable({'x': {'type': nt, 'rounding': rounding, 'overflow': 'saturate'}})
    with fx.tool.record() as rec:
        y = T.x(values)
    ovf = unf = 0
    stored = []
    for v in values:
        r, o, u = quantize(Fraction(float(v)), signed, w, f, rounding, 'saturate')
        ovf += o
        unf += u
        stored.append(r)
    s = rec['x']
    assert (s.overflows, s.underflows) == (ovf, unf)
    assert str(s.numerictype) == str(nt)
    # the recorded values are those arriving at the cast (before it)
    check_stats(s, values)
    assert [int(i) for i in np.asarray(y.int).ravel()] == stored


def test_record_underflow_at_half_lsb_ties():
    # sfix8_En4: LSB 1/16. Nearest rounds ties toward +inf: +1/32 -> 1 LSB (no underflow),
    # -1/32 -> 0 (an underflow); 1/64 -> 0 (underflow).
    T = fx.TypeTable({'x': 'sfix8_En4'})
    with fx.tool.record() as rec:
        T.x(np.array([1 / 32, -1 / 32, 1 / 64, 0.0, 100.0, -8.0, -8.0625]))
    assert rec['x'].underflows == 2
    assert rec['x'].overflows == 2    # 100 and -8.0625 (which rounds to -129/16)


def test_collect_frames_equal_one_pass():
    rng = np.random.default_rng(5)
    frames = [rng.normal(0, 3, 37) for _ in range(5)]

    def g(x, T):
        return T.y(T.x(x) * 3.0)

    G = fx.TypeTable({'x': 'double', 'y': 'double'})
    rec = fx.tool.collect(g, frames, G)
    allx = np.concatenate(frames)
    check_stats(rec['x'], allx)
    check_stats(rec['y'], allx * 3.0)


# ----------------------------------------------------------------------------------------
# 2. propose
# ----------------------------------------------------------------------------------------

def ref_propose_minmax(values, w, margin=Fraction(0), signed=None):
    """Reference proposal for one recorded signal (policy 'minmax')."""
    fin = [Fraction(float(v)) for v in values if math.isfinite(v)]
    lo, hi = min(fin), max(fin)
    k = 1 + Fraction(margin) / 100
    lo_m, hi_m = lo * k, hi * k
    s = (lo_m < 0) if signed is None else signed
    whole = all(v.denominator == 1 for v in fin)
    if lo_m == 0 and hi_m == 0:
        f = 0 if whole else None
    else:
        f = best_fraction_length(lo_m, hi_m, s, w)
        if whole:
            f = min(f, 0)
    tmin, tmax = type_range(s, w, f)
    lsb = Fraction(2) ** -f
    ovf = sum(1 for v in fin if v < tmin or v > tmax)
    unf = sum(1 for v in fin if v != 0 and abs(v) < lsb / 2)
    return dict(signed=s, w=w, f=f, range_used=(lo_m, hi_m), tmin=tmin, tmax=tmax, lsb=lsb,
                overflows=ovf, underflows=unf, lo=lo, hi=hi, fin=fin, whole=whole)


def check_proposed(p, ref):
    nt = p.proposed
    assert (bool(nt.signed), nt.word_length, nt.fraction_length) == (
        ref['signed'], ref['w'], ref['f'])
    assert tuple(p.range_used) == ref['range_used']
    assert all(isinstance(v, Fraction) for v in p.range_used)
    assert Fraction(p.representable[0]) == ref['tmin']
    assert Fraction(p.representable[1]) == ref['tmax']
    assert Fraction(p.lsb) == ref['lsb']
    assert p.simulated == (float(ref['lo']), float(ref['hi']))
    assert p.overflows == ref['overflows'] == 0
    assert p.clip_fraction == 0
    assert p.underflows == ref['underflows']
    # MATLAB's percent of range used: 100 * max(max/T.max, min/T.min) (a float ratio; an
    # unsigned type's min/T.min term is 0/0 and left out). Tolerance: 1e-12 relative.
    terms = [ref['hi'] / ref['tmax']]
    if ref['tmin'] != 0:
        terms.append(ref['lo'] / ref['tmin'])
    pru = 100 * max(terms)
    assert p.percent_range_used == pytest.approx(float(pru), rel=1e-12, abs=0)


@SETTINGS
@given(float_arrays(min_size=1, max_size=30), st.integers(2, 40),
       st.sampled_from([0, 50, 12.5, 25, 100]))
def test_propose_minmax_word_length_matches_exact_reference(values, w, margin):
    rec, T = rec_of(values)
    ref = ref_propose_minmax(values, w, margin)
    if ref['f'] is None:
        return
    p = fx.tool.propose(rec, T, word_length=w, margin=margin)['x']
    check_proposed(p, ref)
    assert p.source == 'simulation' and p.policy == 'minmax' and not p.locked
    # the proposed type, quantizing the recorded data, never overflows
    for v in ref['fin']:
        assert not quantize(v, ref['signed'], w, ref['f'])[1]


@SETTINGS
@given(float_arrays(min_size=1, max_size=30, exp_lo=-20, exp_hi=20), st.integers(4, 32))
def test_propose_sqnr_estimate(values, w):
    """sqnr_db = 10 log10(mean(x**2) / (LSB**2/12)) with nothing clipped (an estimate;
    compared to 1e-9 relative since the logarithm is floating point)."""
    if not np.any(values != np.round(values)):
        return                     # whole numbers: documented only for 'mse' (see report)
    rec, T = rec_of(values)
    ref = ref_propose_minmax(values, w)
    p = fx.tool.propose(rec, T, word_length=w)['x']
    check_proposed(p, ref)
    n = len(ref['fin'])
    ratio = (sum((v * v for v in ref['fin']), Fraction(0)) / n) / (ref['lsb'] ** 2 / 12)
    if ratio == 0:
        return
    expect = 10 * (math.log10(ratio.numerator) - math.log10(ratio.denominator))
    assert p.sqnr_db == pytest.approx(expect, rel=1e-9)


def test_propose_sqnr_estimate_tiny_signal():
    # regression (found by this review, fixed): propose's sqnr_db estimate is computed in floats:
    # for tiny signals LSB**2 underflows to 0 and the estimate becomes inf (exact value about 53.4
    # dB for [1e-300, 2e-300] at 8 bits)
    values = [1e-300, 2e-300]
    rec, T = rec_of(values)
    p = fx.tool.propose(rec, T, word_length=8)['x']
    ref = ref_propose_minmax(values, 8)
    check_proposed(p, ref)
    fin = ref['fin']
    ratio = (sum((v * v for v in fin), Fraction(0)) / len(fin)) / (ref['lsb'] ** 2 / 12)
    expect = 10 * (math.log10(ratio.numerator) - math.log10(ratio.denominator))
    assert p.sqnr_db == pytest.approx(expect, rel=1e-9)


def test_propose_sqnr_estimate_huge_signal():
    # regression (found by this review, fixed): propose's sqnr_db is None for a huge full-detail
    # signal ([-1e300, 1e300] at 8 bits); tool.md documents None only for detail='ranges'
    # recordings; the exact estimate is finite
    values = [1e300, -1e300, 0.5e300]
    rec, T = rec_of(values)
    p = fx.tool.propose(rec, T, word_length=8)['x']
    assert p.sqnr_db is not None and math.isfinite(p.sqnr_db)


@pytest.mark.parametrize('values,w', [
    ([0.0, 0.0], 8),                     # all zeros: whole, F = 0
    ([3.0], 8),                          # single whole value
    ([-5.0, -1.0], 8),                   # negative only
    ([0.25, 1.0], 8),                    # 1.0 needs an extra integer bit
    ([-2.0, 0.5], 8),                    # -2 is representable with I = 2
    ([-2.0, 2.0], 8),
    ([1 - 2 ** -20, -0.3], 16),          # within an LSB below a power of two: one bit back
    ([2 ** 15 - 2 ** -30], 16),
    ([-1.0, 1 - 2 ** -15], 16),          # exactly sfix16_En15
    ([-1.0, 1 - 2 ** -16], 16),          # not representable in En15 -> En14
    ([1e-300, 2e-300], 8),               # tiny
    ([1e300, -1e300], 8),                # huge, whole
    ([0.0, 1000.0, 7.0], 8),             # whole with negative fraction length
    ([-0.75, 0.0, 1e-9], 12),            # underflows: 1e-9 below half an LSB
])
def test_propose_edge_cases(values, w):
    rec, T = rec_of(values)
    ref = ref_propose_minmax(values, w)
    p = fx.tool.propose(rec, T, word_length=w)['x']
    check_proposed(p, ref)


def test_matlab_margin_example():
    rec, T = rec_of([-8.0, 0.5, 8.0])
    p = fx.tool.propose(rec, word_length=16, margin=50)['x']
    assert tuple(p.range_used) == (Fraction(-12), Fraction(12))
    # sfix16_En11 covers [-12, 12]; En12 (max 32767/4096 < 8) does not
    assert covers(True, 16, 11, Fraction(-12), Fraction(12))
    assert not covers(True, 16, 12, Fraction(-12), Fraction(12))
    assert str(p.proposed) == 'sfix16_En11'
    p10 = fx.tool.propose(rec, word_length=16, margin=10)['x']
    assert tuple(p10.range_used) == (Fraction(-88, 10), Fraction(88, 10))


@SETTINGS
@given(float_arrays(min_size=1, max_size=20, exp_lo=-10, exp_hi=10), st.integers(-8, 24))
def test_propose_fraction_length_gives_smallest_word(values, f):
    rec, T = rec_of(values)
    ref = ref_propose_minmax(values, 16)
    lo, hi = ref['lo'], ref['hi']
    s = lo < 0
    w = smallest_word_length(lo, hi, s, f)
    p = fx.tool.propose(rec, T, fraction_length=f)['x']
    nt = p.proposed
    assert (bool(nt.signed), nt.word_length, nt.fraction_length) == (s, w, f)
    assert p.overflows == 0


def test_propose_fraction_length_doc_example():
    rec, _ = rec_of([-8.0, 0.5, 8.0])
    assert smallest_word_length(Fraction(-8), Fraction(8), True, 4) == 9
    assert str(fx.tool.propose(rec, fraction_length=4)['x'].proposed) == 'sfix9_En4'


def test_propose_both_lengths_and_errors():
    rec, T = rec_of([-3.0, 0.5, 2.75])
    p = fx.tool.propose(rec, T, word_length=10, fraction_length=6)['x']
    assert str(p.proposed) == 'sfix10_En6'
    assert covers(True, 10, 6, Fraction(-3), Fraction(11, 4))
    assert not covers(True, 10, 8, Fraction(-3), Fraction(11, 4))
    with pytest.raises(ValueError, match='x'):
        fx.tool.propose(rec, T, word_length=10, fraction_length=8)
    with pytest.raises(ValueError, match='x'):
        fx.tool.propose(rec, T, word_length=10, signed=False)


def test_propose_infinite_values_error():
    rec, T = rec_of([1.0, np.inf])
    with pytest.raises(ValueError, match='x'):
        fx.tool.propose(rec, T, word_length=8)


def test_propose_nan_values_ignored():
    rec, T = rec_of([np.nan, -0.75, 0.5])
    p = fx.tool.propose(rec, T, word_length=8)['x']
    check_proposed(p, ref_propose_minmax([-0.75, 0.5], 8))


def test_propose_signed_forced_true_for_positive_range():
    values = [0.25, 0.75]
    rec, T = rec_of(values)
    p = fx.tool.propose(rec, T, word_length=8, signed=True)['x']
    check_proposed(p, ref_propose_minmax(values, 8, signed=True))


def test_propose_locked_design_and_override():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.5, 1.5, 200)
    T = fx.TypeTable({'x': 'double', 'y': 'double', 'z': 'sfix12_En3'})
    T.lock('z')
    with fx.tool.record() as rec:
        a = T.x(x)
        b = T.y(np.asarray(a) * 2.5)
        T.z(np.asarray(b) + 0.125)
    p = fx.tool.propose(rec, T, word_length=12, margin=50, design={'y': (-3, 5)},
                        overrides={'x': {'word_length': 9}})
    # locked: unchanged
    assert p['z'].locked and str(p['z'].proposed) == 'sfix12_En3'
    assert str(p.types['z'].type) == 'sfix12_En3'
    # design: used as given, no margin
    assert tuple(p['y'].range_used) == (Fraction(-3), Fraction(5))
    assert p['y'].source == 'design'
    f_y = best_fraction_length(Fraction(-3), Fraction(5), True, 12)
    assert str(p['y'].proposed) == f'sfix12_En{f_y}'
    tmin, tmax = type_range(True, 12, f_y)
    yv = [Fraction(float(v)) for v in b]
    # recorded values of y sit well inside the type (|y| <= 3.75), so the counts are exact
    assert p['y'].overflows == sum(1 for v in yv if v < tmin or v > tmax) == 0
    # override: 9 bits with the 50% margin
    ref = ref_propose_minmax(x, 9, 50)
    check_proposed(p['x'], ref)
    assert str(p.types['x'].type) == str(p['x'].proposed)


def test_propose_percentile_policy_outliers():
    # 9990 values in [-0.9, 0.9) and 10 outliers at +-100: the 99.9th percentile of |x| lies
    # in the fine bin of the largest bulk values, far below the outliers.
    rng = np.random.default_rng(9)
    bulk = rng.uniform(-0.9, 0.9, 9990)
    out = np.array([100.0, -100.0] * 5)
    values = np.concatenate([bulk, out])
    rec, T = rec_of(values)
    p = fx.tool.propose(rec, T, word_length=12, policy='percentile', percentile=99.9)['x']
    mags = sorted(abs(Fraction(v)) for v in values)
    k = math.ceil(Fraction(999, 1000) * len(mags))       # values at or below a
    a_exact = mags[k - 1]                                  # the empirical percentile
    # the documented estimate places a within the fine bin holding a_exact
    e = frexp_exp(float(a_exact))
    j = floor_frac((a_exact / Fraction(2) ** (e - 1) - 1) * 16)
    edge_lo = Fraction(2) ** (e - 1) * (1 + Fraction(j, 16))
    edge_hi = Fraction(2) ** (e - 1) * (1 + Fraction(j + 1, 16))
    lo_a, hi_a = p.range_used
    assert -edge_hi <= lo_a <= -edge_lo or lo_a == Fraction(float(values.min()))
    assert edge_lo <= hi_a <= edge_hi
    f = best_fraction_length(lo_a, hi_a, True, 12)
    assert p.proposed.fraction_length == f and bool(p.proposed.signed)
    tmin, tmax = type_range(True, 12, f)
    # the threshold bins hold no outlier: the counts are exact
    assert p.overflows == sum(1 for v in values if Fraction(v) < tmin or Fraction(v) > tmax)
    assert p.overflows == 10
    assert p.clip_fraction == 10 / len(values)


def test_propose_design_range_overflow_count_on_recorded_data():
    # design range narrower than the data: recorded values beyond it are counted
    values = np.array([-6.0, -5.0, 0.1, 0.2, 0.3, 5.0, 6.5])
    rec, T = rec_of(values)
    p = fx.tool.propose(rec, T, word_length=8, design={'x': (-1, 1)})['x']
    f = best_fraction_length(Fraction(-1), Fraction(1), True, 8)
    tmin, tmax = type_range(True, 8, f)
    ovf = sum(1 for v in values if Fraction(v) < tmin or Fraction(v) > tmax)
    assert p.overflows == ovf == 4
    assert p.clip_fraction == pytest.approx(ovf / len(values), rel=1e-12)


def test_propose_union_with_derived_ranges():
    h = [0.5, -0.25, 0.125]

    def fir(x, T):
        x = T.x(x)
        return T.acc(np.convolve(x, h)[:x.shape[0]])

    T = fx.TypeTable({'x': 'double', 'acc': 'double'})
    rng = np.random.default_rng(7)
    frames = [rng.uniform(-0.5, 0.5, 64) for _ in range(3)]
    rec = fx.tool.collect(fir, frames, T)
    d = fx.tool.derive(fir, (-1, 1), T, shape=64)
    # derived ranges must contain every simulated value
    for name in ('x', 'acc'):
        assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi
    assert (d['acc'].lo, d['acc'].hi) == (-0.875, 0.875)
    p = fx.tool.propose(rec, T, word_length=16, derived=d)
    for name in ('x', 'acc'):
        lo = min(Fraction(d[name].lo), Fraction(rec[name].min))
        hi = max(Fraction(d[name].hi), Fraction(rec[name].max))
        assert tuple(p[name].range_used) == (lo, hi)
        f = best_fraction_length(lo, hi, lo < 0, 16)
        assert p[name].proposed.fraction_length == f
        assert p[name].overflows == 0


# ----------------------------------------------------------------------------------------
# 3. verify
# ----------------------------------------------------------------------------------------

H = np.array([0.5, -0.375, 0.25, 0.125])    # dyadic taps


def chain(x, T):
    x = T.x(x)
    acc = T.acc(np.convolve(np.asarray(x, dtype=np.float64), H)[:len(x)])
    y = T.y(np.asarray(acc, dtype=np.float64) * 1.5)
    return y


def run_reference(frames, types):
    """Run ``chain`` in double (numpy float64) and in fixed point (own exact quantizer).

    types: name -> (signed, w, f, rounding, overflow)."""
    out = {n: {'fixed': [], 'double': [], 'ovf': 0, 'unf': 0, 'first_ovf': None,
               'first_unf': None} for n in ('x', 'acc', 'y')}

    def cast(name, vals):
        s, w, f, rnd, ovfm = types[name]
        o = out[name]
        res = []
        for v in vals:
            r, ov, un = quantize(Fraction(float(v)), s, w, f, rnd, ovfm)
            idx = len(o['fixed']) + len(res)
            if ov:
                o['ovf'] += 1
                if o['first_ovf'] is None:
                    o['first_ovf'] = idx
            if un:
                o['unf'] += 1
                if o['first_unf'] is None:
                    o['first_unf'] = idx
            res.append(float(Fraction(r) * Fraction(2) ** -f))
        o['fixed'].extend(res)
        return np.array(res)

    for fr in frames:
        fr = np.asarray(fr, dtype=np.float64)
        # double run
        dx = fr
        dacc = np.convolve(dx, H)[:len(dx)]
        dy = dacc * 1.5
        out['x']['double'].extend(dx.tolist())
        out['acc']['double'].extend(dacc.tolist())
        out['y']['double'].extend(dy.tolist())
        # fixed run, same float64 operations on the quantized values
        fxv = cast('x', fr)
        facc = cast('acc', np.convolve(fxv, H)[:len(fxv)])
        cast('y', facc * 1.5)
    return out


def check_signal(v, o, max_samples):
    fixed = np.array(o['fixed'])
    dbl = np.array(o['double'])
    e = fixed - dbl                          # float64 differences, as documented
    assert v.count == len(e)
    assert (v.overflows, v.underflows) == (o['ovf'], o['unf'])
    assert v.first_overflow == o['first_ovf']
    assert v.first_underflow == o['first_unf']
    assert v.max_abs_error == float(np.max(np.abs(e)))
    ex = [Fraction(float(t)) for t in e]
    se2 = sum((t * t for t in ex), Fraction(0))
    sd2 = sum((Fraction(float(t)) ** 2 for t in dbl), Fraction(0))
    # rms_error: correctly rounded from the exact sum of squares (SignalStats.rms)
    assert v.rms_error == sqrt_rn(se2 / len(ex))
    if se2 == 0:
        assert v.sqnr_db == math.inf
    else:
        ratio = float(sd2 / se2)             # "correctly rounded value of the exact ratio"
        # the logarithm is floating point: 1e-13 relative
        assert v.sqnr_db == pytest.approx(10 * math.log10(ratio), rel=1e-13)
    assert np.array_equal(np.asarray(v.error), e[:max_samples])
    return sd2, se2


TYPES_CASES = [
    {'x': (True, 10, 7, 'nearest', 'saturate'), 'acc': (True, 12, 9, 'nearest', 'saturate'),
     'y': (True, 10, 8, 'nearest', 'saturate')},
    {'x': (True, 8, 6, 'floor', 'saturate'), 'acc': (True, 16, 14, 'convergent', 'saturate'),
     'y': (True, 6, 5, 'zero', 'wrap')},
    {'x': (True, 16, 15, 'nearest', 'saturate'), 'acc': (True, 8, 2, 'nearest', 'saturate'),
     'y': (False, 8, 7, 'nearest', 'saturate')},
]


@pytest.mark.parametrize('case', range(len(TYPES_CASES)))
def test_verify_matches_own_fixed_and_double_runs(case):
    types = TYPES_CASES[case]
    T = fx.TypeTable({n: {'type': fx.numerictype(s, w, f), 'rounding': r, 'overflow': o}
                      for n, (s, w, f, r, o) in types.items()})
    rng = np.random.default_rng(11 + case)
    frames = [rng.uniform(-1.2, 1.2, 50) for _ in range(3)]
    frames[1][7] = 1e-5            # an underflow on x
    frames[2][3] = -3.0            # an overflow on x
    ref = run_reference(frames, types)
    chk = fx.tool.verify(chain, frames, T, max_samples=40)
    assert set(chk.keys()) == {'x', 'acc', 'y'}
    for n in ('x', 'acc', 'y'):
        check_signal(chk[n], ref[n], 40)
        assert str(chk[n].numerictype) == str(fx.numerictype(*types[n][:3]))
    assert chk.overflows == sum(ref[n]['ovf'] for n in ref)
    assert chk.underflows == sum(ref[n]['unf'] for n in ref)
    # the output is y (a fi in the fixed run, float64 in the double run)
    out = chk.outputs['output']
    e = np.array(ref['y']['fixed']) - np.array(ref['y']['double'])
    assert out.count == len(e)
    assert out.max_abs_error == float(np.max(np.abs(e)))
    sd2 = sum((Fraction(float(t)) ** 2 for t in ref['y']['double']), Fraction(0))
    se2 = sum((Fraction(float(t)) ** 2 for t in e), Fraction(0))
    assert chk.output_sqnr_db == pytest.approx(10 * math.log10(float(sd2 / se2)), rel=1e-13)


def test_record_propose_verify_end_to_end():
    """record (double) -> propose(W) -> verify: x never overflows with margin 0, and with a
    small margin no signal overflows; every reported number matches recomputation."""
    rng = np.random.default_rng(21)
    frames = [rng.uniform(-1, 1, 64) for _ in range(4)]
    T = fx.TypeTable({'x': 'double', 'acc': 'double', 'y': 'double'})
    rec = fx.tool.collect(chain, frames, T)
    # the double run of run_reference does not depend on the types given
    dbl = run_reference(frames, {k: (True, 64, 40, 'nearest', 'saturate')
                                 for k in ('x', 'acc', 'y')})
    for margin in (0, 5):
        prop = fx.tool.propose(rec, T, word_length=14, margin=margin)
        types = {}
        for n in ('x', 'acc', 'y'):
            ref = ref_propose_minmax(np.array(dbl[n]['double']), 14, margin)
            check_proposed(prop[n], ref)
            types[n] = (ref['signed'], 14, ref['f'], 'nearest', 'saturate')
        chk = fx.tool.verify(chain, frames, prop.types)
        ref = run_reference(frames, types)
        for n in ('x', 'acc', 'y'):
            check_signal(chk[n], ref[n], 10000)
        assert chk['x'].overflows == 0
        if margin:
            assert chk.overflows == 0


def test_verify_docstring_gain_example():
    T = fx.TypeTable({'x': 'sfix16_En14', 'y': 'sfix16_En13'})

    def gain(x, T):
        return T.y(T.x(x) * 1.5)

    xs = np.linspace(-1, 1, 101)
    v = fx.tool.verify(gain, [xs], T)
    fx_x = [Fraction(quantize(Fraction(float(t)), True, 16, 14)[0], 2 ** 14) for t in xs]
    # fi * float: 1.5 is exact in any best-precision type; the product is exact
    fy = [Fraction(quantize(t * Fraction(3, 2), True, 16, 13)[0], 2 ** 13) for t in fx_x]
    dy = [Fraction(float(t * 1.5)) for t in xs]
    e = [float(a) - float(b) for a, b in zip(fy, dy, strict=True)]
    assert v['y'].overflows == 0
    assert v['y'].max_abs_error == max(abs(t) for t in e)
    sd2 = sum((t * t for t in dy), Fraction(0))
    se2 = sum((Fraction(t) ** 2 for t in e), Fraction(0))
    assert v['y'].sqnr_db == pytest.approx(10 * math.log10(float(sd2 / se2)), rel=1e-13)


# ----------------------------------------------------------------------------------------
# 4. A small network through record / propose / verify
# ----------------------------------------------------------------------------------------

def test_small_network_record_propose_verify():
    from fixsim import nn

    rng = np.random.default_rng(0)
    net = nn.Sequential([
        nn.Dense(rng.normal(0, 0.5, (6, 5)), rng.normal(0, 0.1, 5), name='fc1'),
        nn.ReLU(name='relu1'),
        nn.Dense(rng.normal(0, 0.5, (5, 3)), np.zeros(3), name='fc2'),
    ])
    x = rng.normal(0, 1, (20, 6))
    T = net.type_table('double')
    with fx.tool.record() as rec:
        net(x, types=T)
    prop = fx.tool.propose(rec, T, word_length=16)
    for name in rec.names:
        s = rec[name]
        p = prop[name]
        if p.locked:
            continue
        lo, hi = Fraction(s.min), Fraction(s.max)
        signed = lo < 0
        if lo == hi == 0:
            f = 0
        else:
            f = best_fraction_length(lo, hi, signed, 16)
            if s.whole:
                f = min(f, 0)
        nt = p.proposed
        assert (bool(nt.signed), nt.word_length, nt.fraction_length) == (signed, 16, f)
        assert tuple(p.range_used) == (lo, hi)
        assert p.overflows == 0
    # derived ranges over a box holding the inputs contain every recorded value
    d = fx.tool.derive(net, (float(x.min()), float(x.max())), T, shape=(1, 6))
    for name in rec.names:
        if name in d:
            assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi, name
    # verify: the input is covered exactly, and the output SQNR is recomputed from the two runs
    chk = fx.tool.verify(net, [x], prop.types, T)
    assert chk['input'].overflows == 0
    yd = np.asarray(net(x, types=T), dtype=np.float64).ravel()
    yf = np.asarray(net(x, types=prop.types), dtype=np.float64).ravel()
    e = yf - yd
    sd2 = sum((Fraction(float(t)) ** 2 for t in yd), Fraction(0))
    se2 = sum((Fraction(float(t)) ** 2 for t in e), Fraction(0))
    out = chk.outputs['output']
    assert out.count == yd.size
    assert out.max_abs_error == float(np.max(np.abs(e)))
    assert chk.output_sqnr_db == pytest.approx(10 * math.log10(float(sd2 / se2)), rel=1e-13)
