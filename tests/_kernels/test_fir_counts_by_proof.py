"""The FIR direct form's counts from a per-frame proof (``fir_direct_counts``) against the
counting loop, and the zero sets of ``zero_bounds`` against the single-value rounding.

When the proof holds, the frame's overflow and underflow counts must be exactly those of the
counting loop (and its overflow counts 0); when the counting loop sees an overflow, the proof
must not hold. The counting loop itself is checked against an exact reference in
``tests/signal/test_fir.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixsim._core._modes import Overflow, Rounding
from fixsim._kernels import _filters as kf
from fixsim._kernels._quantize import requant_one

ROUNDINGS = [r for r in Rounding if r != Rounding.STOCHASTIC]
OVERFLOWS = [Overflow.SATURATE, Overflow.WRAP, Overflow.SAT_ZERO, Overflow.SAT_SYM]


def _frame(rng, nt, n, wx, wh, zeros):
    xe = rng.integers(-(1 << (wx - 1)), 1 << (wx - 1), n + nt - 1).astype(np.int64)
    h = rng.integers(-(1 << (wh - 1)), 1 << (wh - 1), nt).astype(np.int64)
    if zeros:
        xe[rng.random(xe.size) < 0.2] = 0
        h[rng.random(nt) < 0.2] = 0
    return xe, h


def _run(xe, h, tp, sh, step, r, o, count_kernel):
    nt = h.size
    start = nt - 1
    n = (xe.size - start + step - 1) // step
    out = np.empty(n, dtype=np.int64)
    cnt = np.zeros((3, 2), dtype=np.int64)
    kf.kernel("fir_direct", int(r), int(o), count_kernel)(xe, h, tp, sh, start, step, int(r),
                                                          int(o), out, cnt)
    return out, cnt, start, n


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.integers(1, 40), st.integers(2, 14), st.integers(2, 14),
       st.integers(0, 14), st.integers(0, 8), st.integers(3, 34), st.integers(3, 40),
       st.sampled_from(ROUNDINGS), st.sampled_from(OVERFLOWS), st.booleans(),
       st.integers(1, 3), st.booleans(), st.integers(0, 2**32 - 1))
def test_proof_counts_equal_counting_loop(nt, n, wx, wh, dp, da, wp, wa, r, o, signed_acc,
                                          step, zeros, seed):
    rng = np.random.default_rng(seed)
    xe, h = _frame(rng, nt, n, wx, wh, zeros)
    tp = np.array([kf.type_row(wp, True), kf.type_row(wa, signed_acc),
                   kf.type_row(wp, True)], dtype=np.int64)
    sh = np.array([dp, da, 0], dtype=np.int64)
    want_out, want_cnt, start, count = _run(xe, h, tp, sh, step, r, o, True)
    zb = kf.zero_bounds(sh, int(r))
    cnt = np.zeros((3, 2), dtype=np.int64)
    proved = kf.fir_direct_counts(xe, h, tp, sh, start, step, count, int(r), int(o), zb, cnt)
    if want_cnt[:, 0].any():
        assert not proved
    if proved:
        out, plain_cnt, _, _ = _run(xe, h, tp, sh, step, r, o, False)
        assert np.array_equal(out, want_out)
        assert not plain_cnt.any()
        assert np.array_equal(cnt, want_cnt)
    else:
        assert not cnt.any()


@pytest.mark.parametrize("r", ROUNDINGS)
def test_proof_holds_and_counts_underflows_in_a_roomy_design(r):
    """Types with headroom: the proof holds, and the underflows it counts (many: small
    samples times small taps, rounded by 10 and 3 bits) equal the counting loop's."""
    rng = np.random.default_rng(int(r))
    xe = rng.integers(-300, 300, 2000).astype(np.int64)
    h = rng.integers(-40, 40, 17).astype(np.int64)
    tp = np.array([kf.type_row(24, True), kf.type_row(30, True), kf.type_row(24, True)],
                  dtype=np.int64)
    sh = np.array([10, 3, 0], dtype=np.int64)
    want_out, want_cnt, start, count = _run(xe, h, tp, sh, 1, r, Overflow.SATURATE, True)
    cnt = np.zeros((3, 2), dtype=np.int64)
    assert kf.fir_direct_counts(xe, h, tp, sh, start, 1, count, int(r), int(Overflow.SATURATE),
                                kf.zero_bounds(sh, int(r)), cnt)
    assert want_cnt[kf.FIR_PRODUCT, 1] > 100
    assert np.array_equal(cnt, want_cnt)


@pytest.mark.parametrize("r", ROUNDINGS)
@pytest.mark.parametrize("dp,da", [(0, 0), (1, 0), (0, 2), (5, 3), (62, 0), (40, 22)])
def test_zero_bounds_are_the_zero_sets(r, dp, da):
    """``zero_bounds`` against the single-value cast: the bounds cast to 0, their outer
    neighbours do not."""
    zb = kf.zero_bounds(np.array([dp, da, 0]), int(r))

    def rounds(v, d):
        return requant_one(np.int64(v), d, 64, True, int(r), int(Overflow.WRAP), np.uint64(0),
                           -(1 << 63), (1 << 63) - 1, -1, -(1 << 63), 63)[0]

    def chain(v, both):
        n = rounds(v, dp)
        return rounds(n, da) if both else n

    for (lo, hi), both in (((zb[0], zb[1]), False), ((zb[2], zb[3]), True)):
        assert lo <= 0 <= hi
        assert chain(lo, both) == 0 and chain(hi, both) == 0
        if lo > -(1 << 62):
            assert chain(lo - 1, both) != 0
        if hi < 1 << 62:
            assert chain(hi + 1, both) != 0
