"""Every documented MATLAB example (shared/reference/matlab-fixed-point-semantics.md) that the
current API covers, as assertions on stored integers and types.

Section numbers refer to that file. MATLAB functions without a fixsim counterpart (slope-bias
scaling, ``nearest(a)`` and friends, ``accumpos``, ``quantize``) are expressed with the
equivalent fixsim verb (a cast into the same type with the same modes, or a sum with a
specified type), and say so.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi, fimath, numerictype


def T(s, w, f) -> numerictype:
    return numerictype(bool(s), w, f)


def ints(x) -> list[int]:
    return [int(v) for v in np.asarray(x.int).ravel()]


# -- 1.5, 4: fi(pi) and friends ------------------------------------------------------------------
def test_fi_pi():
    a = fi(math.pi)
    assert a.numerictype == T(1, 16, 13)
    assert a.int == 25736  # storedInteger -> int16 25736
    assert a.bin == "0110010010001000"
    assert a.hex == "6488"
    assert a.data == 3.1416015625
    assert fi(math.pi, 1, 16, 13).int == 25736  # same type, same bits
    assert fi(math.pi, 1, 20).int == 411775 and fi(math.pi, 1, 20).numerictype == T(1, 20, 17)
    assert fi(math.pi, 1, 8).int == 101 and fi(math.pi, 1, 8).data == 3.15625
    assert fi(math.pi, 1, 16, 10).int == 3217 and fi(math.pi, 1, 16, 10).data == 3.1416015625


def test_constructor_value_examples():
    b = fi(0.1)
    assert b.numerictype == T(1, 16, 18) and b.int == 26214
    assert abs(b.data - 0.0999984741210938) < 1e-16
    e = fi(math.e, 0, 20)
    assert e.numerictype == T(0, 20, 18) and e.int == 712581
    assert abs(e.data - 2.71828079223633) < 5e-15
    s = fi([0.2, 0.3, 0.4, 0.5])  # storedInteger -> int16 6554 9830 13107 16384
    assert s.numerictype == T(1, 16, 15) and ints(s) == [6554, 9830, 13107, 16384]
    assert fi(math.pi, 1, 16, 12).int == 12868  # storedIntegerToDouble -> 12868
    u = fi([-math.pi, 0.5, math.pi], 0, 8)  # negatives ignored for unsigned; -pi saturates to 0
    assert u.numerictype == T(0, 8, 6) and ints(u) == [0, 32, 201]


# -- 1.4: best-precision fraction lengths ---------------------------------------------------------
@pytest.mark.parametrize("args, fl", [
    ((math.pi,), 13), ((0.1,), 18), ((math.pi, 1, 8), 5), ((math.e, 0, 20), 18),
    ((-128,), 8), (([1, 2, 5, 8, 5],), 11), (([[8, 1, 6], [3, 5, 7], [4, 9, 2]],), 11),
    ((16000, 1, 8), -7), ((0.0234, 1, 8), 12), ((0.25, 0, 16), 17), ((0.5, 0, 16), 16),
    ((0.4555, 0, 16), 17), (([0.2, 0.3, 0.4, 0.5],), 15), ((math.pi, 1, 20), 17),
    (([-math.pi, 0.5, math.pi], 0, 8), 6), (([[0, 1, 2], [3, 4, 5]], 1, 32), 28), ((0,), 15),
])
def test_best_precision_fraction_length(args, fl):
    assert fi(*args).fraction_length == fl


# -- 1.3 / 3.3: construction with a fimath ---------------------------------------------------------
def test_construction_with_floor_wrap():
    Tq = numerictype(True, 8, 7)
    F = fimath(rounding="floor", overflow="wrap")
    a = fi(1, Tq, F)
    assert a.int == -128 and a.data == -1.0  # fi(1,T,F) -> -1
    b = fi(1, Tq)
    assert b.int == 127 and round(b.data, 4) == 0.9922  # fi(1,T) -> 0.9922
    b2 = b.setfimath(F)  # changing the fimath afterwards does not requantize
    assert b2.int == 127
    c = fi(math.pi, rounding="floor", overflow="wrap")  # -> 3.1415, s16,13, local fimath
    assert c.numerictype == T(1, 16, 13) and c.int == 25735
    assert c.local_fimath == F


# -- 3.2: rounding tables (nearest/convergent/round/fix/floor/ceil), as casts to FL 0 ------------
def test_rounding_table_convergent_nearest_round():
    a = fi(np.arange(-3.5, 4.0, 1.0))  # fi([-3.5:3.5]')
    assert a.numerictype == T(1, 16, 13)
    to_int = T(1, 16, 0)
    assert ints(a.cast(to_int, "convergent")) == [-4, -2, -2, 0, 0, 2, 2, 4]
    assert ints(a.cast(to_int, "nearest")) == [-3, -2, -1, 0, 1, 2, 3, 4]
    assert ints(a.cast(to_int, "round")) == [-4, -3, -2, -1, 1, 2, 3, 4]


def test_rounding_table_ceil_fix_floor():
    a = fi([-2.5, -1.75, -1.25, -0.5, 0.5, 1.25, 1.75, 2.5])
    to_int = T(1, 16, 0)
    assert ints(a.cast(to_int, "ceil")) == [-2, -1, -1, 0, 1, 2, 2, 3]
    assert ints(a.cast(to_int, "fix")) == [-2, -1, -1, 0, 0, 1, 1, 2]
    assert ints(a.cast(to_int, "floor")) == [-3, -2, -2, -1, 0, 1, 1, 2]
    assert ints(a.cast(to_int, "zero")) == ints(a.cast(to_int, "fix"))


def test_integer_rounding_function_values():
    """nearest/convergent/floor/fix of fi(pi,1,8,3) are 3 and of fi(0.025,1,8,12) are 0 (the
    integer-rounding functions themselves are not in the API: casts into FL 0)."""
    a = fi(math.pi, 1, 8, 3)
    assert a.data == 3.125
    b = fi(0.025, 1, 8, 12)
    assert round(b.data, 4) == 0.0249
    for mode in ("nearest", "convergent", "floor", "fix"):
        assert a.cast(T(1, 6, 0), mode).int == 3
        assert b.cast(T(1, 2, 0), mode).int == 0


def test_quantizenumeric_and_quantize():
    assert fi(math.pi, 1, 16, 13, rounding="ceil").int == 25736  # 3.1416
    assert fi(math.pi, 1, 16, 13, rounding="fix").int == 25735  # 3.1415
    q = fi(math.pi).cast(T(1, 8, 4))  # quantize(fi(pi), numerictype(1,8,4)) -> 3.1250
    assert q.int == 50 and q.data == 3.125


def test_conversions_to_builtin_integers():
    """int8(fi([-pi 0.1 pi],1,8)) -> -3 0 3; uint8(fi([-pi 0.5 pi],0,8)) -> 0 1 3 (nearest,
    saturate: casts into s8,0 / u8,0)."""
    a = fi([-math.pi, 0.1, math.pi], 1, 8)
    assert ints(a.cast(T(1, 8, 0), "nearest", "saturate")) == [-3, 0, 3]
    b = fi([-math.pi, 0.5, math.pi], 0, 8)
    assert ints(b.cast(T(0, 8, 0), "nearest", "saturate")) == [0, 1, 3]


# -- 2.4: range, eps, bounds -------------------------------------------------------------------
def test_range_eps_bounds():
    t = fi(0, True, 4, 2).numerictype
    assert (t.min, t.max) == (-2.0, 1.75)
    # The notes print eps(fi(pi,1,8)) -> 0.1250, which contradicts fi(pi,1,8) being s8,5
    # (value 3.15625, printed in 1.5): its LSB is 2**-5. We assert the consistent value.
    assert fi(math.pi, 1, 8).numerictype.eps == 0.03125
    assert numerictype(True, 8, 7).eps == 0.0078125
    t = fi(math.pi, True, 16, 12).numerictype
    assert (t.int_max, t.int_min) == (32767, -32768)


# -- 3.5: full-precision result types --------------------------------------------------------------
def test_sum_types():
    assert (fi(0, 0, 4, 6) + fi(0, 0, 4, 6)).numerictype == T(0, 5, 6)
    assert (fi(0, 1, 4, 6) + fi(0, 1, 4, 6)).numerictype == T(1, 5, 6)
    assert (fi(0, 1, 16, 13) + fi(0, 1, 12, 14)).numerictype == T(1, 18, 14)
    assert (fi(0, 1, 8, 5) + fi(0, 1, 8, 5)).numerictype == T(1, 9, 5)
    # signed + unsigned: MATLAB keeps 0-2 needless range bits
    assert (fi(0, 0, 4, 4) + fi(0, 1, 4, 3)).numerictype == T(1, 7, 4)
    assert (fi(0, 0, 4, 4) + fi(0, 1, 4, 0)).numerictype == T(1, 10, 4)


def test_product_examples():
    a, b = fi(math.pi, 1, 8), fi(math.e, 1, 8)  # s8,5 each
    p = a * b
    assert p.numerictype == T(1, 16, 10) and p.int == 101 * 87
    assert round(p.data, 4) == 8.5811
    c = fi(math.pi, 1, 20) * fi(math.e, 1, 16)  # s20,17 x s16,13
    assert c.numerictype == T(1, 36, 30) and c.int == 411775 * 22268
    assert round(c.data, 4) == 8.5397


def test_keep_lsb_product():
    """s8,5 x s8,5 with ProductWordLength 12 (Wrap/Floor) -> 0.5811, s12,10, %00.1001010011."""
    F = fimath(product_mode="keep_lsb", product_word_length=12, rounding="floor",
               overflow="wrap")
    # the operands are built with nearest (101, 87), then given the fimath
    p = fi(math.pi, 1, 8).setfimath(F) * fi(math.e, 1, 8).setfimath(F)
    assert p.numerictype == T(1, 12, 10)
    assert p.int == 595 and p.data == 0.5810546875 and p.bin == "001001010011"


def test_keep_msb_product_type():
    """The Answers example's elementwise part: s32,22 x s32,22 ideal s64,44 -> KeepMSB s32,12."""
    F = fimath(product_mode="keep_msb", product_word_length=32)
    p = fi(1.5, 1, 32, 22, F) * fi(-2.25, 1, 32, 22, F)
    assert p.numerictype == T(1, 32, 12) and p.data == -3.375


def test_specify_precision_sum_and_product():
    F = fimath(sum_mode="specify", sum_word_length=32, sum_fraction_length=16)
    s = fi(math.pi, F) + fi(math.e, F)  # add(F, fi(pi), fi(e))
    assert s.numerictype == T(1, 32, 16)
    assert s.int == (25736 + 22268) * 8 and round(s.data, 4) == 5.8599
    G = fimath(product_mode="specify", product_word_length=40, product_fraction_length=30)
    p = fi(math.pi, G) * fi(math.e, G)  # mpy(F, fi(pi), fi(e))
    assert p.numerictype == T(1, 40, 30)
    assert p.int == 25736 * 22268 * 16 and round(p.data, 4) == 8.5397
    # add/mpy remove the fimath: the operands' F is used; the result keeps it in fixsim
    with F:  # the same through the default fimath
        assert (fi(math.pi) + fi(math.e)).int == s.int


def test_fimath_like_example():
    """fixed.fimathLike(fi(1,1,8,0)): Floor/Wrap, SpecifyPrecision 8/0 -> X + 1 = 2, s8,0."""
    F = fimath(rounding="floor", overflow="wrap", product_mode="specify",
               product_word_length=8, product_fraction_length=0, sum_mode="specify",
               sum_word_length=8, sum_fraction_length=0, cast_before_sum=True)
    x = fi(1, 1, 8, 0).setfimath(F) + 1
    assert x.numerictype == T(1, 8, 0) and x.int == 2


def test_accumpos_accumneg_as_specified_sums():
    """accumpos(a,b) adds in a's type with b cast into it (Floor/Wrap by default): a sum of
    specified type s16,13 with cast_before_sum."""
    a, b = fi(math.pi, 1, 16, 13), fi(1.5, 1, 16, 14)

    def acc(rounding, overflow, negate=False):
        F = fimath(rounding=rounding, overflow=overflow, sum_mode="specify",
                   sum_word_length=16, sum_fraction_length=13, cast_before_sum=True)
        x, y = a.setfimath(F), b.setfimath(F)
        return x - y if negate else x + y

    r = acc("floor", "wrap")
    assert r.numerictype == T(1, 16, 13) and r.int == 38024 - 65536  # -3.3584
    assert round(r.data, 4) == -3.3584
    assert acc("nearest", "saturate").int == 32767  # 3.9999
    r = acc("floor", "wrap", negate=True)
    assert r.int == 13448 and round(r.data, 4) == 1.6416


# -- 3.6: division --------------------------------------------------------------------------------
def test_rdivide_magic_by_int8():
    a = fi(np.array([[8, 1, 6], [3, 5, 7], [4, 9, 2]], dtype=float))
    assert a.numerictype == T(1, 16, 11)
    c = a / np.array([[3, 3, 4], [1, 2, 4], [3, 1, 2]], dtype=np.int8)
    assert c.numerictype == T(1, 16, 11)
    assert ints(c) == [5461, 683, 3072, 6144, 5120, 3584, 2731, 18432, 2048]
    want = [[2.6665, 0.3335, 1.5], [3.0, 2.5, 1.75], [1.3335, 9.0, 1.0]]
    assert np.round(c.data, 4).tolist() == want
    assert c.int[0, 1] * 2.0**-11 == 0.33349609375  # 1/3 -> 683/2048 (Nearest)


def test_divide_into_80_bits():
    Tq = numerictype(False, 80, 83)
    c = fx.divide(Tq, fi(1), fi(10))
    assert c.numerictype == Tq
    assert c.bin == ("1100110011001100110011001100110011001100110011001100110011001100"
                     "1100110011001101")
    d = fi(0.1, 0, 80, 83)  # from a double: the bits stop after 53 significant bits
    assert d.int == int(Fraction(0.1) * 2**83)
    assert d.bin[53:] == "0" * 27 and c.bin[53:] != "0" * 27
    assert d.bin[:51] == c.bin[:51]  # the double rounded up at its last bit


# -- 3.7: unary minus, abs, subscripted assignment, cast like --------------------------------------
def test_unary_minus():
    a = fi(-1, True, 8, 7, overflow="wrap")
    assert (-a).int == -128 and (-a).data == -1.0
    b = fi(-1, True, 8, 7, overflow="saturate")
    assert (-b).int == 127 and round((-b).data, 5) == 0.99219
    assert (-a).numerictype == T(1, 8, 7)


def test_abs_saturates():
    a = fi(-128)
    assert a.numerictype == T(1, 16, 8) and a.int == -32768
    r = abs(a)
    assert r.numerictype == T(1, 16, 8) and r.int == 32767 and round(r.data, 4) == 127.9961


def test_subscripted_assignment_casts():
    A = fi([0], 1, 8, 0)
    A[:] = fi(32767, 1, 16, 0)  # A(:) = B -> 127
    assert ints(A) == [127] and A.numerictype == T(1, 8, 0)


def test_cast_like():
    """cast(int8(5),'like',fi([],1,24,12)) -> 5, s24,12."""
    c = fi(np.int8(5), numerictype(True, 24, 12))
    assert c.numerictype == T(1, 24, 12) and c.int == 5 * 4096


# -- 4: strings, negative and oversize fraction lengths ----------------------------------------------
def test_strings_of_minus_one_and_one():
    a = fi([-1, 1], 1, 8, 7)
    assert a.data.tolist() == [-1.0, 0.9921875]
    assert a.hex.tolist() == ["80", "7f"]
    assert a.oct.tolist() == ["200", "177"]
    assert a.dec.tolist() == ["128", "127"]
    assert a.sdec.tolist() == ["-128", "127"]


def test_negative_and_oversize_fraction_lengths():
    a = fi(16000, 1, 8)
    assert a.fraction_length == -7 and a.int == 125 and a.bin == "01111101"
    assert a.data == 16000.0
    b = fi(0.0234, 1, 8)
    assert b.fraction_length == 12 and b.int == 96 and b.bin == "01100000"
    assert b.data == 96 / 4096


# -- scalars: every operation on one-element (0-d) fi gives a 0-d fi ------------------------------
def test_scalar_operations_give_scalar_fi():
    a, b = fi(math.pi, 1, 8), fi(math.e, 1, 8)
    for r in (a + b, a - b, a * b, a / b, -a, abs(a), a + 1.5, 2 * a, a / 3,
              fi(math.pi, 1, 40) * fi(math.e, 1, 40), -fi(1, 1, 80, 3), abs(fi(-1, 1, 80, 3)),
              fi(1, 0, 70, 0) + fi(2, 0, 70, 0)):
        assert r.shape == () and isinstance(r.int, int | np.integer)
    assert (a * b).int == 101 * 87


# -- 3.5: sum and mtimes result types (the rules in _rules; the reductions live elsewhere) --------
def test_sum_and_inner_product_type_rules():
    from fixsim._core import _rules

    full = fimath()
    # 16-element s32,30 sum: 4 more bits -> s36,30
    assert _rules.sum_type(T(1, 32, 30), 16, full) == T(1, 36, 30)
    # sum(fi([1 2 5 8 5],'SumMode','KeepLSB','SumWordLength',32)) -> s32,11
    assert fi([1, 2, 5, 8, 5]).numerictype == T(1, 16, 11)
    keep = fimath(sum_mode="keep_lsb", sum_word_length=32)
    assert _rules.sum_type(T(1, 16, 11), 5, keep) == T(1, 32, 11)
    # Answers transcript: KeepMSB 32 products and sums, s32,22 operands
    msb = fimath(product_mode="keep_msb", product_word_length=32, sum_mode="keep_msb",
                 sum_word_length=32)
    assert _rules.inner_type(T(1, 32, 22), T(1, 32, 22), 11, msb) == (T(1, 32, 12),
                                                                       T(1, 32, 8))
    assert _rules.inner_type(T(1, 32, 22), T(1, 32, 22), 550, msb)[1] == T(1, 32, 2)
    # full precision inner product: WLa + WLb + ceil(log2 K)
    assert _rules.inner_type(T(1, 16, 8), T(0, 12, 4), 100, full) == (T(1, 28, 12),
                                                                      T(1, 35, 12))
    assert [_rules.growth_bits(n) for n in (1, 2, 3, 4, 5, 16, 17)] == [0, 1, 2, 2, 3, 4, 5]


def test_word_length_limit():
    """Full precision stops at 65535 bits (MaxProductWordLength/MaxSumWordLength); keep_msb and
    specify modes still work on wider ideal types."""
    a = fi(3, 1, 40000, 0)
    with pytest.raises(OverflowError, match="max_product_word_length"):
        a * a
    with pytest.raises(OverflowError, match="max_sum_word_length"):
        fi(1, 1, 65535, 0) + fi(1, 1, 65535, 0)
    F = fimath(product_mode="keep_msb", product_word_length=40000)
    p = a.setfimath(F) * a.setfimath(F)  # ideal s80000,0 -> s40000,-40000: 9 rounds to 0
    assert p.numerictype == T(1, 40000, -40000) and p.int == 0
    G = fimath(sum_mode="keep_lsb", sum_word_length=100)
    s = fi(1, 1, 65535, 0).setfimath(G) + fi(2, 1, 65535, 0).setfimath(G)
    assert s.numerictype == T(1, 100, 0) and s.int == 3
    assert (fi(1, 1, 65535, 0) < 2.0).all() and not (fi(1, 1, 65535, 0) > 2.0).any()
