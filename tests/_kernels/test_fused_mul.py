"""The fused multiply-requantize kernel (``_fastq.mul_kernel``).

It must give, element for element and in its overflow/underflow counts, what the two passes it
replaces give (the int64 product, then ``shift_kernel`` / ``lshift_kernel``), and what the exact
reference gives (the product of Python ints requantized with ``tests/_core/reference.py``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixsim._core._modes import parse_overflow, parse_rounding
from fixsim._kernels import _fastq as fq

from .._core import reference as ref

# the kernels' mode codes, by the reference's mode names (every rounding but stochastic)
RCODE = {r: int(parse_rounding(r)) for r in ref.ROUNDINGS}
OCODE = {o: int(parse_overflow(o)) for o in ref.OVERFLOWS}


def _unfused(a, b, d, W, signed, r, o, count):
    lo, hi, _, _, mask, sb = fq.bounds(W, signed)
    v = a * b
    out = np.empty(v.size, np.int64)
    if d > 0:
        n = fq.shift_kernel(r, o, count)(v, d, W, signed, lo, hi, mask, sb, out)
    else:
        n = fq.lshift_kernel(o, count)(v, -d, W, signed, lo, hi, mask, sb, out)
    return out, (int(n[0]), int(n[1]))


def _fused(a, b, d, W, signed, r, o, count):
    lo, hi, _, _, mask, sb = fq.bounds(W, signed)
    out = np.empty(a.size, np.int64)
    n = fq.mul_kernel(r, o, count)(a, b, d, W, signed, lo, hi, mask, sb, out)
    return out, (int(n[0]), int(n[1]))


def _reference(a, b, src_f, W, signed, F, rounding, overflow):
    stored, ovf, unf = [], 0, 0
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        value = Fraction(x * y) * ref.pow2(-src_f)
        s, o, u = ref.quantize_counted(value, (signed, W, F), rounding, overflow)
        stored.append(s)
        ovf += o
        unf += u
    return stored, ovf, unf


def _operands(rng, wa, wb, n):
    """Signed stored integers of wa and wb bits, with the extremes and ties mixed in."""
    la, lb = 1 << (wa - 1), 1 << (wb - 1)
    a = rng.integers(-la, la, n)
    b = rng.integers(-lb, lb, n)
    a[:6] = [-la, la - 1, 0, 1, -1, -la]
    b[:6] = [-lb, lb - 1, -1, 0, 1, lb - 1]
    return a.astype(np.int64), b.astype(np.int64)


@given(st.integers(2, 32), st.integers(2, 32), st.integers(1, 64), st.booleans(),
       st.integers(-62, 62), st.sampled_from(sorted(RCODE)), st.sampled_from(ref.OVERFLOWS),
       st.integers(0, 2**32 - 1))
def test_fused_matches_exact_reference(wa, wb, W, signed, d, rounding, overflow, seed):
    if overflow == "wrap_sm" and not signed:
        return
    if not signed and W == 64:
        return  # an unsigned 64-bit target is stored as uint64, not by these kernels
    rng = np.random.default_rng(seed)
    a, b = _operands(rng, wa, wb, 40)
    src_f = 20
    F = src_f - d
    got, counts = _fused(a, b, d, W, signed, RCODE[rounding], OCODE[overflow], True)
    stored, ovf, unf = _reference(a, b, src_f, W, signed, F, rounding, overflow)
    assert got.tolist() == stored
    assert counts == (ovf, unf)


@pytest.mark.parametrize("count", [True, False])
def test_fused_matches_unfused_every_mode(count):
    rng = np.random.default_rng(7)
    a, b = _operands(rng, 16, 16, 500)
    for (W, signed), d in itertools.product([(16, True), (8, False), (33, True), (63, True)],
                                           [1, 12, 30, 0, -3]):
        for rname, oname in itertools.product(sorted(RCODE), ref.OVERFLOWS):
            if oname == "wrap_sm" and not signed:
                continue
            r, o = RCODE[rname], OCODE[oname]
            got, gc = _fused(a, b, d, W, signed, r, o, count)
            want, wc = _unfused(a, b, d, W, signed, r, o, count)
            assert np.array_equal(got, want), (W, signed, d, rname, oname)
            assert gc == wc


def test_fused_widest_products():
    # 32 x 32 bit operands: products up to 2**62 still fit int64 exactly
    lo = -(1 << 31)
    a = np.array([lo, lo, (1 << 31) - 1, lo, 3], np.int64)
    b = np.array([lo, (1 << 31) - 1, (1 << 31) - 1, 1, -5], np.int64)
    for rounding, overflow in itertools.product(sorted(RCODE), ("saturate", "wrap")):
        got, counts = _fused(a, b, 40, 16, True, RCODE[rounding], OCODE[overflow], True)
        stored, ovf, unf = _reference(a, b, 62, 16, True, 22, rounding, overflow)
        assert got.tolist() == stored
        assert counts == (ovf, unf)
