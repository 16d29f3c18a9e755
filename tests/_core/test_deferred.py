"""Deferred results: the scalar fast path and deferred elementwise products.

Scalar ``a + b``, ``a - b`` and ``a * b`` on 0-d fi keep their stored integer as a Python int
until something reads the array; a full-precision product of two large int64 fi is kept as its
operands until read, and ``(a * b).cast(T)`` runs one fused pass. Both must be invisible: every
value, type and count equals the exact reference (``reference.py``), and a product must not
change when an operand is written into afterwards.
"""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim._core import _arith

from . import reference as ref


def _stored(T, rng, n):
    lo, hi = ref.int_bounds(T.signed, T.word_length)
    v = rng.integers(lo, hi + 1, n, dtype=np.int64)
    v[:4] = [lo, hi, 0, lo]
    return v


def _exact_products(a: fi, b: fi) -> list[int]:
    return [int(x) * int(y) for x, y in zip(a.int.tolist(), b.int.tolist(), strict=True)]


# -- scalars ---------------------------------------------------------------------------------
small_types = st.builds(lambda s, w, f: numerictype(s, w, f), st.booleans(),
                        st.integers(1, 30), st.integers(-8, 40))


@given(small_types, small_types, st.data())
def test_scalar_fast_path_matches_reference(ta, tb, data):
    va = data.draw(st.integers(*ref.int_bounds(ta.signed, ta.word_length)))
    vb = data.draw(st.integers(*ref.int_bounds(tb.signed, tb.word_length)))
    a, b = fi.from_int(va, ta), fi.from_int(vb, tb)
    M = ref.Math()
    for op, got in (("add", a + b), ("sub", a - b), ("mul", a * b)):
        want = (ref.multiply(va, (ta.signed, ta.word_length, ta.fraction_length), vb,
                             (tb.signed, tb.word_length, tb.fraction_length), M)
                if op == "mul" else
                ref.add(va, (ta.signed, ta.word_length, ta.fraction_length), vb,
                        (tb.signed, tb.word_length, tb.fraction_length), M,
                        subtract=op == "sub"))
        R = got.numerictype
        assert (R.signed, R.word_length, R.fraction_length) == want.T, op
        assert int(got.int) == want.stored, op


def test_scalar_result_is_a_full_fi():
    a, b = fi(1.5, 1, 16, 12), fi(-0.3, 1, 16, 12)
    s = a + b
    assert s._i is None  # deferred: the array is built on first read
    want = Fraction(int(a.int) + int(b.int), 4096)
    assert s.shape == () and s.int.dtype == np.int64 and Fraction(int(s.int), 4096) == want
    chained = (a + b) * (a - b) + a  # deferred operands go through the fast path again
    va, vb = int(a.int), int(b.int)
    assert int(chained.int) == (va + vb) * (va - vb) + (va << 12)
    assert pickle.loads(pickle.dumps(a + b)).int == s.int
    assert copy.deepcopy(a * b).int == va * vb
    assert repr(a + b) == repr(fi.from_int(va + vb, numerictype(1, 17, 12)))
    t = a + b
    t[()] = 0.25  # writing into a deferred scalar builds its array first
    assert int(t.int) == 1024
    assert float(a * b) == float(Fraction(va * vb, 2**24))


def test_scalar_plan_follows_the_fimath_in_force():
    a, b = fi(1.5, 1, 16, 12), fi(-0.3, 1, 16, 12)
    full = a * b  # plan cached for the default fimath
    assert full.numerictype == numerictype(1, 32, 24)
    F = fimath(product_mode="specify", product_word_length=16, product_fraction_length=12)
    with F:
        kept = a * b
    assert kept.numerictype == numerictype(1, 16, 12)
    want = ref.multiply(int(a.int), (True, 16, 12), int(b.int), (True, 16, 12),
                        ref.Math(product_mode="specify", product_word_length=16,
                                 product_fraction_length=12))
    assert int(kept.int) == want.stored
    assert (a * b).numerictype == numerictype(1, 32, 24)  # and back


def test_scalar_two_local_fimaths_still_raise():
    a = fi(0.5, 1, 16, 12, fimath(rounding="floor"))
    b = fi(0.25, 1, 16, 12, fimath(rounding="ceil"))
    with pytest.raises(ValueError, match="different local fimaths"):
        a + b
    c = fi(0.25, 1, 16, 12, fimath(rounding="floor"))  # equal but not the same object
    assert (a + c).local_fimath == a.local_fimath


# -- deferred products -----------------------------------------------------------------------
N = _arith._DEFER_MIN + 37


def _pair(seed=0, ta=None, tb=None, n=N):
    ta = numerictype(1, 16, 12) if ta is None else ta
    tb = numerictype(1, 16, 10) if tb is None else tb
    rng = np.random.default_rng(seed)
    return fi.from_int(_stored(ta, rng, n), ta), fi.from_int(_stored(tb, rng, n), tb)


@given(small_types.filter(lambda T: T.word_length <= 24),
       small_types.filter(lambda T: T.word_length <= 24), small_types,
       st.sampled_from(ref.ROUNDINGS), st.sampled_from(ref.OVERFLOWS),
       st.integers(0, 2**32 - 1))
def test_deferred_product_cast_matches_reference(ta, tb, T, rounding, overflow, seed):
    if overflow == "wrap_sm" and not T.signed:
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_arith, "_DEFER_MIN", 2)  # small arrays keep the exact reference quick
        a, b = _pair(seed, ta, tb, n=60)
        p = a * b
    assert p._i is None  # deferred
    fused = T.word_length <= 64 and (T.signed or T.word_length < 64) and abs(
        p.numerictype.fraction_length - T.fraction_length) <= 62
    with fx.count_quantization() as c:
        got = p.cast(T, rounding, overflow)
    assert (p._i is None) == fused  # fused: the product array was never built
    R = p.numerictype
    assert (R.signed, R.word_length, R.fraction_length) == ref.product_type(
        (ta.signed, ta.word_length, ta.fraction_length),
        (tb.signed, tb.word_length, tb.fraction_length))
    dst = (T.signed, T.word_length, T.fraction_length)
    want = [ref.quantize_counted(Fraction(v) * ref.pow2(-R.fraction_length), dst, rounding,
                                 overflow) for v in _exact_products(a, b)]
    assert got.int.tolist() == [w[0] for w in want]
    assert (c.overflows, c.underflows) == (sum(w[1] for w in want), sum(w[2] for w in want))
    assert got.numerictype == T
    # the unfused route (the product built first) gives the same, and so does the product
    assert p.int.tolist() == _exact_products(a, b)
    unfused = fi.from_int(p.int, R).cast(T, rounding, overflow)
    fx.testing.assert_fi_identical(got, unfused)


def test_deferred_product_reads_like_the_product():
    a, b = _pair(1)
    p = a * b
    assert p._i is None
    want = _exact_products(a, b)
    assert p.shape == (N,) and p.numerictype == numerictype(1, 32, 22)
    assert p[5:9].int.tolist() == want[5:9]
    assert p.int.tolist() == want
    assert p._i is not None and p._lz is None  # built once, operands released
    q = a * b
    assert (q + a).int.tolist() == [v + (int(x) << 10) for v, x in
                                    zip(want, a.int.tolist(), strict=True)]
    r = a * b
    assert pickle.loads(pickle.dumps(r)).int.tolist() == want


def test_deferred_product_keeps_its_value_when_an_operand_is_written():
    # regression: a deferred product read its operands' arrays late
    a, b = _pair(2)
    want = _exact_products(a, b)
    p = a * b
    assert p._i is None
    a[0] = 1.0
    b[:] = 0
    assert p.int.tolist() == want
    a2, b2 = _pair(3)
    want2 = _exact_products(a2, b2)
    p2 = a2 * b2
    v = a2.reshape(N)  # a view made after the product, written through
    v[3] = 0.5
    assert p2.int.tolist() == want2
    a3, b3 = _pair(4)
    want3 = _exact_products(a3, b3)
    p3 = a3 * b3
    p3b = a3 * b3  # two products sharing an operand
    a3[:] = 1.0
    assert p3.cast(numerictype(1, 16, 8)).int.tolist() == fi.from_int(
        np.array(want3), numerictype(1, 32, 22)).cast(numerictype(1, 16, 8)).int.tolist()
    assert p3b.int.tolist() == want3


def test_products_of_shared_arrays_are_computed_at_once():
    # an operand whose array someone else can write into is multiplied immediately
    rng = np.random.default_rng(5)
    raw = _stored(numerictype(1, 16, 12), rng, N)
    a = fi.from_int(raw, numerictype(1, 16, 12))
    b, _ = _pair(6)
    want = [int(x) * int(y) for x, y in zip(a.int.tolist(), b.int.tolist(), strict=True)]
    p = a * b
    raw[:] = 0  # written behind fixsim's back
    assert p.int.tolist() == want
    c, d = _pair(7)
    view = c.reshape(N)  # an existing view of c's array
    q = c * d
    assert q._i is not None
    assert view.shape == (N,)
