"""Calibration observers against reference computations written here (loops, Python floats,
Fractions for the L2 search)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fixsim.nn as nn

rng = np.random.default_rng(11)


def batches(n=3, shape=(50, 4), scale=1.0):
    return [rng.normal(0, scale * (1 + i), shape) for i in range(n)]


def test_minmax_per_tensor_and_per_channel():
    bs = batches()
    o, oc = nn.MinMaxObserver(), nn.MinMaxObserver(axis=1)
    for b in bs:
        o.update(b)
        assert oc(b) is b
    allv = np.concatenate(bs)
    assert o.range() == (float(allv.min()), float(allv.max()))
    lo, hi = oc.range()
    assert lo.tolist() == [float(allv[:, c].min()) for c in range(4)]
    assert hi.tolist() == [float(allv[:, c].max()) for c in range(4)]


def test_moving_average_minmax():
    bs = batches(5)
    o = nn.MovingAverageMinMaxObserver(0.25, axis=1)
    for b in bs:
        o.update(b)
    for c in range(4):
        mn, mx = float(bs[0][:, c].min()), float(bs[0][:, c].max())
        for b in bs[1:]:
            mn = mn + 0.25 * (float(b[:, c].min()) - mn)
            mx = mx + 0.25 * (float(b[:, c].max()) - mx)
        assert o.range()[0][c] == mn and o.range()[1][c] == mx


def test_qparams_pytorch_rules():
    # affine int8: scale = (hi - lo) / 255, zp = -128 - rne(lo / scale)
    s, z = nn.calculate_qparams(-1.0, 3.0, "int8")
    assert s == 4.0 / 255 and z == -128 - round(-1.0 / (4.0 / 255))
    # range widened to hold 0
    s, z = nn.calculate_qparams(0.5, 2.0, "uint8")
    assert s == 2.0 / 255 and z == 0
    # symmetric int8 divides by 127.5; uint8 symmetric has zp 128
    s, z = nn.calculate_qparams(-1.0, 2.0, "int8", symmetric=True)
    assert s == 2.0 / 127.5 and z == 0
    assert int(nn.calculate_qparams(-1.0, 2.0, "uint8", symmetric=True)[1]) == 128
    # an all-zero range gets the float32 eps scale
    assert float(nn.calculate_qparams(0.0, 0.0)[0]) == float(np.finfo(np.float32).eps)
    o = nn.MinMaxObserver()
    with pytest.raises(ValueError, match="no batch observed"):
        o.range()
    with pytest.raises(ValueError, match="NaN"):
        o.update([1.0, np.nan])
    with pytest.raises(ValueError, match="axis=3 is out of range"):
        nn.MinMaxObserver(axis=3).update(np.zeros((2, 2)))


# -- percentile: a histogram of |x| with the first batch's bin width ------------------------------
def percentile_ref(bs, p, bins):
    first = max(abs(float(v)) for v in bs[0].ravel())
    w = first / bins
    counts: dict[int, int] = {}
    for b in bs:
        for v in b.ravel():
            a = abs(float(v))
            k = math.floor(a / w)
            if a <= first:
                k = min(k, bins - 1)
            counts[k] = counts.get(k, 0) + 1
    n = max(counts) + 1
    hist = [counts.get(k, 0) for k in range(max(n, bins))]
    total, c = sum(hist), 0
    for k, h in enumerate(hist):
        c += h
        if c >= p / 100.0 * total:
            return (k + 1) * w
    raise AssertionError


@settings(max_examples=25)
@given(st.floats(50, 100), st.sampled_from([16, 128, 2048]), st.booleans())
def test_percentile_matches_reference(p, bins, nonneg):
    bs = batches(3, (40, 3))
    if nonneg:
        bs = [np.abs(b) for b in bs]
    o = nn.PercentileObserver(p, bins=bins)
    for b in bs:
        o.update(b)
    t = percentile_ref(bs, p, bins)
    assert o.range() == ((0.0 if nonneg else -t), t)


# -- PyTorch's HistogramObserver search, in exact arithmetic ----------------------------------------
def l2_error_exact(hist, width, start, end, bits):
    """Exact L2 error: each source bin's mass uniform; every x maps to the centre of its
    destination bin (2^bits bins over source bins start..end, clamped at both ends)."""
    nd = 2 ** bits
    dw = width * (end - start + 1) / nd
    tot = Fraction(0)
    for j, h in enumerate(hist):
        if h == 0:
            continue
        dens = Fraction(h) / width
        b = (j - start) * width
        e = b + width
        k0 = min(max(math.floor(b / dw), 0), nd - 1)
        k1 = min(max(math.floor(e / dw), 0), nd - 1)
        for k in range(k0, k1 + 1):
            lo = b if k == k0 else k * dw
            hi = e if k == k1 else (k + 1) * dw
            c = k * dw + dw / 2
            tot += dens * ((hi - c) ** 3 - (lo - c) ** 3) / 3
    return tot


def histogram_search_ref(x, bins, bits):
    mn, mx = Fraction(float(x.min())), Fraction(float(x.max()))
    w = (mx - mn) / bins
    hist = [0] * bins
    for v in x:
        k = int((Fraction(float(v)) - mn) / w)
        hist[min(max(k, 0), bins - 1)] += 1
    csum = list(np.cumsum(hist))
    total = sum(hist)
    alpha, beta, step = Fraction(0), Fraction(1), Fraction(1, 100000)
    start, end, best = 0, bins - 1, None
    while alpha < beta:
        na, nb = alpha + step, beta - step
        lft, rgt = start, end
        while lft < end and csum[lft] < na * total:
            lft += 1
        while rgt > start and csum[rgt] > nb * total:
            rgt -= 1
        ns, ne = start, end
        if lft - start > end - rgt:
            ns, alpha = lft, na
        else:
            ne, beta = rgt, nb
        if (ns, ne) == (start, end):
            continue
        err = l2_error_exact(hist, w, ns, ne, bits)
        if best is not None and err > best:
            break
        best, start, end = err, ns, ne
    return start, end, mn, w


@settings(max_examples=8)
@given(st.integers(0, 10_000), st.sampled_from(["normal", "laplace", "uniform"]))
def test_histogram_observer_matches_exact_search(seed, dist):
    r = np.random.default_rng(seed)
    x = getattr(r, dist)(size=400)
    o = nn.HistogramObserver(bins=64, bits=3)
    o.update(x)
    start, end, mn, w = histogram_search_ref(x, 64, 3)
    lo, hi = o.range()
    assert math.isclose(lo, float(mn + w * start), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(hi, float(mn + w * (end + 1)), rel_tol=1e-12, abs_tol=1e-12)


def test_histogram_observer_combines_batches_and_channels():
    x = rng.normal(0, 1, (300, 2))
    o = nn.HistogramObserver(bins=64, bits=4, axis=1)
    o.update(x[:150])
    o.update(x[150:] * 3)
    lo, hi = o.range()
    # mass is conserved by the upsample-and-rebucket step
    for _mn, _mx, h in o.state:
        assert h.sum() == pytest.approx(300)
    assert lo.shape == (2,) and np.all(lo < 0) and np.all(hi > 0)


# -- TensorRT entropy calibration ------------------------------------------------------------------
def entropy_ref(x, bins, target):
    a = [abs(float(v)) for v in x.ravel()]
    m = max(a)
    w = m / bins
    hist = [0] * bins
    for v in a:
        hist[min(math.floor(v / w), bins - 1)] += 1
    best, best_i = math.inf, bins
    for i in range(target, bins + 1):
        p = [float(h) for h in hist[:i]]
        p[i - 1] += sum(hist[i:])
        g = i // target
        q = [0.0] * i
        for k in range(target):
            s, e = k * g, (i if k == target - 1 else k * g + g)
            nzc = sum(1 for j in range(s, e) if hist[j] != 0)
            tot = sum(hist[s:e])
            for j in range(s, e):
                if hist[j] != 0:
                    q[j] = tot / nzc
        ps, qs = sum(p), sum(q)
        kl = 0.0
        for pj, qj in zip(p, q, strict=True):
            if pj > 0:
                if qj == 0:
                    kl = math.inf
                    break
                kl += (pj / ps) * math.log((pj / ps) / (qj / qs))
        if kl < best:
            best, best_i = kl, i
    return best_i * w


@settings(max_examples=8)
@given(st.integers(0, 10_000), st.sampled_from(["normal", "laplace"]))
def test_entropy_observer_matches_reference(seed, dist):
    r = np.random.default_rng(seed)
    x = getattr(r, dist)(size=2000)
    o = nn.EntropyObserver(bins=128, target_bins=16)
    o.update(x)
    t = entropy_ref(x, 128, 16)
    assert o.range() == pytest.approx((-t, t), rel=1e-12)
    with pytest.raises(ValueError, match="target_bins"):
        nn.EntropyObserver(8, 16)
