"""The fused combine-and-requantize kernel (``_fastq.combine_kernel``): products (``MUL``,
for ``(a * b).cast`` and ``Gain``, also with a one-element ``b``) and shifted sums and
differences (``ADD``, ``SUB``, for ``Sum``).

It must give, element for element and in its overflow/underflow counts, what the two passes it
replaces give (the int64 product, then ``shift_kernel`` / ``lshift_kernel``), and what the exact
reference gives (the combined Python ints requantized with ``tests/_core/reference.py``).
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


def _combined(a, b, op, ka, kb, d, W, signed, r, o, count):
    lo, hi, _, _, mask, sb = fq.bounds(W, signed)
    out = np.empty(a.size, np.int64)
    n = fq.combine_kernel(r, o, count, op)(a, b, ka, kb, d, W, signed, lo, hi, mask, sb, out)
    return out, (int(n[0]), int(n[1]))


def _fused(a, b, d, W, signed, r, o, count):
    return _combined(a, b, fq.MUL, 0, 0, d, W, signed, r, o, count)


def _reference_of(ints, src_f, W, signed, F, rounding, overflow):
    """The exact values ``ints * 2**-src_f`` quantized by the reference, and the counts."""
    stored, ovf, unf = [], 0, 0
    for v in ints:
        s, o, u = ref.quantize_counted(Fraction(v) * ref.pow2(-src_f), (signed, W, F),
                                       rounding, overflow)
        stored.append(s)
        ovf += o
        unf += u
    return stored, ovf, unf


def _reference(a, b, src_f, W, signed, F, rounding, overflow):
    return _reference_of([x * y for x, y in zip(a.tolist(), b.tolist(), strict=True)], src_f,
                         W, signed, F, rounding, overflow)


def _operands(rng, wa, wb, n):
    """Signed stored integers of wa and wb bits, with the extremes and ties mixed in."""
    la, lb = 1 << (wa - 1), 1 << (wb - 1)
    a = rng.integers(-la, la, n)
    b = rng.integers(-lb, lb, n)
    a[:6] = [-la, la - 1, 0, 1, -1, -la]
    b[:6] = [-lb, lb - 1, -1, 0, 1, lb - 1]
    return a.astype(np.int64), b.astype(np.int64)


def _exact(a, b, op, ka, kb):
    """What the kernel combines, as Python ints."""
    pairs = zip(a.tolist(), b.tolist(), strict=True)
    if op == fq.MUL:
        return [x * y for x, y in pairs]
    sign = 1 if op == fq.ADD else -1
    return [x * 2**ka + sign * y * 2**kb for x, y in pairs]


@given(st.integers(2, 31), st.integers(2, 31), st.integers(0, 30), st.integers(0, 30),
       st.sampled_from([fq.MUL, fq.ADD, fq.SUB]), st.integers(1, 64), st.booleans(),
       st.integers(-62, 62), st.sampled_from(sorted(RCODE)), st.sampled_from(ref.OVERFLOWS),
       st.integers(0, 2**32 - 1))
def test_fused_matches_exact_reference(wa, wb, ka, kb, op, W, signed, d, rounding, overflow,
                                       seed):
    # products (Gain, (a * b).cast) and shifted sums and differences (Sum)
    if overflow == "wrap_sm" and not signed:
        return
    if not signed and W == 64:
        return  # an unsigned 64-bit target is stored as uint64, not by these kernels
    rng = np.random.default_rng(seed)
    a, b = _operands(rng, wa, wb, 40)
    src_f = 20
    got, counts = _combined(a, b, op, ka, kb, d, W, signed, RCODE[rounding], OCODE[overflow],
                            True)
    stored, ovf, unf = _reference_of(_exact(a, b, op, ka, kb), src_f, W, signed, src_f - d,
                                     rounding, overflow)
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


# -- the same kernel's shifted sums and differences (Sum) and one-element b (Gain) ----------------


@pytest.mark.parametrize("count", [True, False])
def test_fused_one_element_b_is_every_element(count):
    # Gain's use: a one-element b multiplies every element of a, as the full array would
    rng = np.random.default_rng(3)
    a, _ = _operands(rng, 16, 16, 300)
    for g, d, (W, signed) in itertools.product([-32768, -3, 0, 1, 19661, 32767], [0, 3, 15, 17],
                                               [(16, True), (8, False), (40, True)]):
        for rname, oname in itertools.product(sorted(RCODE), ref.OVERFLOWS):
            if oname == "wrap_sm" and not signed:
                continue
            r, o = RCODE[rname], OCODE[oname]
            one = _combined(a, np.array([g], np.int64), fq.MUL, 0, 0, d, W, signed, r, o, count)
            full = _fused(a, np.full(a.size, g, np.int64), d, W, signed, r, o, count)
            assert np.array_equal(one[0], full[0]) and one[1] == full[1], (g, d, W, rname, oname)
