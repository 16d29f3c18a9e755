"""The mode-specialised fast kernels agree with the general kernels, element for element.

The general kernels (``_kernels._quantize``) are checked against the exact Python reference
and the ac/ap oracles in ``tests/_core``; here every fast loop is checked against them on
values chosen to hit ties, bounds, huge and tiny magnitudes, for every (rounding, overflow)
pair.
"""

import itertools

import numpy as np
import pytest

from fixsim._kernels import _fastq as fq
from fixsim._kernels import _quantize as kq

ROUNDINGS = range(9)  # every mode but stochastic
OVERFLOWS = range(5)
SHAPES = [(1, True), (2, False), (8, True), (8, False), (16, True), (33, True), (52, False),
          (53, True), (62, True), (63, True), (63, False), (64, True)]


def _values(W, F, rng):
    eps = 2.0 ** -F
    k = np.arange(-6, 7)
    top = 2.0 ** (W - 1 - F)
    base = [0.0, -0.0, 1.0, -1.0, 1 / 3, -np.pi, 1e-300, -1e-300, 5e-324, 1e300, -1e300,
            top, -top, 2 * top, -2 * top, 3 * top + eps / 2]
    ties = (k + 0.5) * eps
    near = np.concatenate([top + k * eps / 4, -top + k * eps / 4, ties, ties + eps / 2**20,
                           ties - eps / 2**20])
    rand = rng.normal(size=300) * top * 1.5
    rand_ties = (np.round(rng.normal(size=100) * 2.0 ** min(W, 40)) + 0.5) * eps
    x = np.concatenate([base, near, rand, rand_ties])
    return x[np.isfinite(x)]


@pytest.mark.parametrize("W, signed", SHAPES)
def test_float_kernel_matches_general(W, signed):
    rng = np.random.default_rng(W)
    lo, hi, lo_f, hi_f, mask, sb = fq.bounds(W, signed)
    for F in (0, 3, W // 2, W + 5, -4):
        x = _values(W, F, rng)
        for r, o in itertools.product(ROUNDINGS, OVERFLOWS):
            if o == kq.WRAP_SM and not signed:
                continue
            ref = np.empty(x.size, np.int64)
            ro, ru, status, _ = kq.quantize_f64(x, F, W, signed, r, o, 0,
                                                 np.empty(0, np.uint64), ref)
            assert status == kq.OK
            out = np.empty(x.size, np.int64)
            kernel = fq.float_kernel(r, o, True, F < 0, W - signed)
            bad, fo, fu = kernel(x, 2.0**F, W, signed, lo, hi, lo_f, hi_f, mask, sb, out)
            flagged = fq.flagged(x, F, o)
            assert bad == (flagged.size > 0)
            safe = np.ones(x.size, bool)
            safe[flagged] = False
            np.testing.assert_array_equal(out[safe], ref[safe], err_msg=f"{r=} {o=} {F=}")
            if bad == 0:
                assert (fo, fu) == (ro, ru)


@pytest.mark.parametrize("W, signed", SHAPES)
def test_shift_kernels_match_general(W, signed):
    rng = np.random.default_rng(100 + W)
    lo, hi, _, _, mask, sb = fq.bounds(W, signed)
    v = np.concatenate([rng.integers(-(2**62), 2**62, 400), np.arange(-40, 41),
                        [2**62 - 1, -(2**62), 2**63 - 1, -(2**63)]]).astype(np.int64)
    for d in (1, 2, 7, 30, 62):
        for r, o in itertools.product(ROUNDINGS, OVERFLOWS):
            if o == kq.WRAP_SM and not signed:
                continue
            ref = np.empty(v.size, np.int64)
            ro, ru = kq.requantize_i64(v, d, W, signed, r, o, np.empty(0, np.uint64), ref)
            out = np.empty(v.size, np.int64)
            fo, fu = fq.shift_kernel(r, o)(v, d, W, signed, lo, hi, mask, sb, out)
            np.testing.assert_array_equal(out, ref, err_msg=f"{r=} {o=} {d=}")
            assert (fo, fu) == (ro, ru)
    for k in (0, 1, 5, 40, 62):
        for o in OVERFLOWS:
            if o == kq.WRAP_SM and not signed:
                continue
            ref = np.empty(v.size, np.int64)
            ro, ru = kq.requantize_i64(v, -k, W, signed, 0, o, np.empty(0, np.uint64), ref)
            out = np.empty(v.size, np.int64)
            fo, fu = fq.lshift_kernel(o)(v, k, W, signed, lo, hi, mask, sb, out)
            np.testing.assert_array_equal(out, ref, err_msg=f"{o=} {k=}")
            assert fo == ro


@pytest.mark.parametrize("r, o", [(3, 0), (0, 1), (5, 3), (4, 4), (1, 2)])
def test_uncounted_variants_give_the_same_values(r, o):
    W, signed, F = 16, True, 12
    x = _values(W, F, np.random.default_rng(5))
    lo, hi, lo_f, hi_f, mask, sb = fq.bounds(W, signed)
    a, b = np.empty(x.size, np.int64), np.empty(x.size, np.int64)
    bad_a, _, _ = fq.float_kernel(r, o, True)(x, 2.0**F, W, signed, lo, hi, lo_f, hi_f, mask,
                                              sb, a)
    # the uncounted variant in its production form (direct clamp for saturating modes)
    bad_b, ovf_b, unf_b = fq.float_kernel(r, o, False, False, W - signed)(
        x, 2.0**F, W, signed, lo, hi, lo_f, hi_f, mask, sb, b)
    np.testing.assert_array_equal(a, b)
    assert bad_a == bad_b and ovf_b == unf_b == 0
    v = a.copy()
    fq.shift_kernel(r, o, True)(v, 5, W, signed, lo, hi, mask, sb, a)
    fq.shift_kernel(r, o, False)(v, 5, W, signed, lo, hi, mask, sb, b)
    np.testing.assert_array_equal(a, b)
    fq.lshift_kernel(o, True)(v, 3, W, signed, lo, hi, mask, sb, a)
    fq.lshift_kernel(o, False)(v, 3, W, signed, lo, hi, mask, sb, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("o", [kq.WRAP, kq.SATURATE, kq.SAT_SYM, kq.SAT_ZERO])
def test_round_on_the_magnitude_at_the_2_52_edge(o):
    # the 'round' loop decides on |y| (a - floor(a) >= 1/2); around 2**52, where doubles
    # become integers and ties stop existing, and just below 0, it must agree with the general
    # kernel
    W, signed, F = 64, True, 0
    big = 2.0 ** 52
    x = np.array([big - 1.5, big - 0.5, big - 1.0, big, big + 1, big + 2, 2 * big + 2,
                  2.0 ** 51 + 0.5, 2.0 ** 51 - 0.5, 0.5, 1.5, 2.5, 0.49999999999999994,
                  -0.0, -2.0 ** -60, -0.5, -0.49999999999999994, -1.5, 1e-300])
    x = np.concatenate([x, -x])
    lo, hi, lo_f, hi_f, mask, sb = fq.bounds(W, signed)
    ref = np.empty(x.size, np.int64)
    ro, ru, status, _ = kq.quantize_f64(x, F, W, signed, kq.ROUND, o, 0,
                                         np.empty(0, np.uint64), ref)
    out = np.empty(x.size, np.int64)
    bad, fo, fu = fq.float_kernel(kq.ROUND, o, True, False, W - signed)(
        x, 1.0, W, signed, lo, hi, lo_f, hi_f, mask, sb, out)
    assert bad == 0 and status == kq.OK
    np.testing.assert_array_equal(out, ref)
    assert (fo, fu) == (ro, ru)
    assert out[list(x).index(2.5)] == 3 and out[list(x).index(-2.5)] == -3
