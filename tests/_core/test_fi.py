"""fi: construction forms, properties, strings, indexing, pickling, errors."""

import copy
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim.testing import assert_fi_identical


def test_matlab_positional_forms():
    a = fi(np.pi, 1, 16, 13)
    assert a.int == 25736 and a.numerictype == numerictype(True, 16, 13)
    assert fi(np.pi).numerictype == numerictype(True, 16, 13)
    assert fi(np.pi, 1, 8).numerictype == numerictype(True, 8, 5)
    assert fi(np.exp(1), 0, 20).numerictype == numerictype(False, 20, 18)
    assert fi(np.pi, numerictype(True, 16, 10)).numerictype == numerictype(True, 16, 10)
    assert fi(np.pi, "sfix16_En10").int == round(np.pi * 1024)
    F = fimath(rounding="floor")
    b = fi(np.pi, numerictype(True, 16, 10), F)
    assert b.local_fimath == F and b.int == int(np.floor(np.pi * 1024))
    c = fi(np.pi, 1, 16, 10, F)
    assert_fi_identical(b, c, check_fimath=True)
    d = fi(np.pi, F)
    assert d.numerictype == numerictype(True, 16, 13) and d.local_fimath == F


def test_keyword_forms():
    a = fi(np.pi, signed=False, word_length=12, fraction_length=9)
    assert a.numerictype == numerictype(False, 12, 9)
    b = fi(np.pi, numerictype=numerictype(True, 12, 9))
    assert b.numerictype == numerictype(True, 12, 9)
    c = fi(1, 1, 8, 7, rounding="floor", overflow="wrap")
    assert c.int == -128
    assert c.local_fimath == fimath(rounding="floor", overflow="wrap")


def test_best_precision_examples_from_matlab():
    cases = [
        ((np.pi,), 13), ((0.1,), 18), ((np.pi, 1, 8), 5), ((np.exp(1), 0, 20), 18),
        ((-128,), 8), (([1, 2, 5, 8, 5],), 11), (([[8, 1, 6], [3, 5, 7], [4, 9, 2]],), 11),
        ((16000, 1, 8), -7), ((0.0234, 1, 8), 12), ((0.25, 0, 16), 17), ((0.5, 0, 16), 16),
        ((0.4555, 0, 16), 17), (([0.2, 0.3, 0.4, 0.5],), 15), ((np.pi, 1, 20), 17),
        (([-np.pi, 0.5, np.pi], 0, 8), 6), (([[0, 1, 2], [3, 4, 5]], 1, 32), 28), ((0,), 15),
    ]
    for args, fl in cases:
        assert fi(*args).fraction_length == fl, args


def test_values_of_matlab_examples():
    assert fi(0.1).int == 26214  # 0.0999984741210938 = 26214 * 2**-18
    assert fi(0.1).exact() == Fraction(26214, 2**18)
    assert fi(np.pi, 1, 8).exact() == Fraction(101, 32)  # 3.15625
    assert fi(np.exp(1), 0, 20).int == 712581  # 2.71828079223633 * 2**18
    assert abs(fi(np.exp(1), 0, 20).data - 2.71828079223633) < 5e-15
    assert fi([-np.pi, 0.5, np.pi], 0, 8).int.tolist() == [0, 32, 201]


def test_exact_inputs():
    assert fi(Fraction(1, 3), 1, 8, 6).int == 21
    assert fi(2**70, 0, 72, 0).int == 2**70
    big = fi([2**70, -(2**70)], 1, 100, 10)
    assert big.int.tolist() == [2**80, -(2**80)]
    assert fi(np.float32(0.1), 1, 32, 30).int == round(float(np.float32(0.1)) * 2**30)
    assert fi(np.bool_(True)).int == 1 and fi(np.bool_(True)).numerictype == numerictype(False, 1, 0)
    assert fi(True).numerictype == numerictype(True, 16, 14)  # a Python bool is the number 1


def test_integer_arrays_keep_their_type():
    assert fi(np.int8([1, -2])).numerictype == numerictype(True, 8, 0)
    assert fi(np.uint16(7)).numerictype == numerictype(False, 16, 0)
    assert fi(np.array([True, False])).numerictype == numerictype(False, 1, 0)
    u = fi(np.array([2**64 - 1], dtype=np.uint64))
    assert u.numerictype == numerictype(False, 64, 0) and int(u.int[0]) == 2**64 - 1


def test_fi_from_fi():
    a = fi(np.pi, 1, 16, 13, rounding="floor")
    b = fi(a)
    assert_fi_identical(a, b, check_fimath=True)
    c = fi(a, numerictype(True, 8, 4))  # nearest/saturate unless told ... but a's fimath is local
    assert c.numerictype == numerictype(True, 8, 4)
    d = fi(a.removefimath(), 1, 8, 4)
    assert d.int == 50  # round(3.1416015625 * 16) = 50.27 -> 50
    e = fi(a.removefimath(), 1, 8)  # best precision for the fi's value
    assert e.fraction_length == 5


def test_from_int():
    T = numerictype(True, 8, 4)
    a = fi.from_int([-128, 0, 127], T)
    assert a.int.tolist() == [-128, 0, 127] and a.numerictype == T
    assert fi.from_int(2**99, "ufix100_En3").int == 2**99
    with pytest.raises(ValueError, match=r"from_int: stored integer 128 is out of range.*-128\.\.127"):
        fi.from_int([128], T)
    with pytest.raises(ValueError, match="whole numbers"):
        fi.from_int([0.5], T)


def test_storage_dtypes():
    assert fi(1, 1, 64, 0).int.dtype == np.int64
    assert fi([1], 0, 64, 0).int.dtype == np.uint64
    assert fi([1], 1, 65, 0).int.dtype == object
    assert isinstance(fi(1, 1, 65, 0).int, int)


def test_data_and_asarray():
    a = fi([0.5, -0.25], 1, 8, 4)
    assert a.data.dtype == np.float64 and a.data.tolist() == [0.5, -0.25]
    assert np.asarray(a).tolist() == [0.5, -0.25]
    assert fi(0.5, 1, 8, 4).data == 0.5
    assert float(fi(0.5, 1, 8, 4)) == 0.5


def test_strings():
    a = fi([-1, 1], 1, 8, 7)
    assert a.bin.tolist() == ["10000000", "01111111"]
    assert a.hex.tolist() == ["80", "7f"]
    assert a.oct.tolist() == ["200", "177"]
    assert a.dec.tolist() == ["128", "127"]
    assert a.sdec.tolist() == ["-128", "127"]
    assert fi(np.pi).bin == "0110010010001000"
    assert fi(np.pi).hex == "6488"
    assert fi(16000, 1, 8).bin == "01111101"
    assert fi(0.0234, 1, 8).bin == "01100000"


def test_repr_and_str():
    a = fi(np.pi, 1, 16, 13)
    assert repr(a) == "fi(3.1416015625, 'sfix16_En13')"
    assert "WordLength: 16" in str(a) and "FractionLength: 13" in str(a)
    assert "fimath=" in repr(fi(1, 1, 8, 4, rounding="floor"))


def test_indexing_and_assignment():
    a = fi([0.5, 0.25, -1], 1, 8, 4)
    assert a[0].int == 8 and a[1:].int.tolist() == [4, -16]
    a[0] = 100.0  # quantized into a's type with its fimath: saturates
    assert a[0].int == 127
    a[1] = fi(0.125, 1, 16, 10)
    assert a[1].int == 2
    a[:] = 0
    assert a.int.tolist() == [0, 0, 0]
    m = fi(np.arange(6.0).reshape(2, 3) / 8, 1, 8, 4)
    assert m.T.shape == (3, 2) and m.reshape(3, 2).shape == (3, 2)
    assert m.ravel().int.tolist() == [0, 2, 4, 6, 8, 10]
    assert len(m) == 2 and [r.shape for r in m] == [(3,), (3,)]


def test_pickle_and_copy():
    a = fi([1.5, -2], 1, 100, 50, rounding="floor")
    for b in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a), a.copy()):
        assert_fi_identical(a, b, check_fimath=True)
    b = a.copy()
    b[0] = 0
    assert a[0].int != 0


def test_cast_defaults_follow_the_fimath_in_force():
    a = fi(0.75, 1, 8, 4)
    assert a.cast(numerictype(True, 8, 0)).int == 1  # nearest
    with fimath(rounding="floor"):
        assert a.cast(numerictype(True, 8, 0)).int == 0
    assert a.cast("sfix8", rounding="floor").int == 0
    assert a.cast("sfix4_En3", overflow="wrap").int == 6


def test_count_quantization_reaches_the_hook():
    with fx.count_quantization() as c:
        fi([0.5, 3.0, 1e-9], 1, 8, 6)
        fi([1.0], 1, 8, 6).cast("sfix4_En3")
    assert (c.overflows, c.underflows, c.elements, c.operations) == (2, 1, 5, 3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fi(1, 1, 0, 0), "word_length=0"),
        (lambda: fi(1, 1, 70000, 0), "word_length=70000"),
        (lambda: fi(1, 1, 16, 1.5), "fraction_length"),
        (lambda: fi(1, 1, 16, 2, rounding="nearst"), "Did you mean 'nearest'"),
        (lambda: fi(np.nan, 1, 16, 2), "NaN"),
        (lambda: fi(np.inf, 1, 16, 2, overflow="wrap"), "inf"),
        (lambda: fi("abc"), "not numeric|strings"),
        (lambda: fi(1 + 2j), "complex"),
        (lambda: fi(np.nan), "finite"),
        (lambda: fi(1, 1, 16, 2, frobnicate=1), "frobnicate"),
        (lambda: fi([[1, 2], [3]]), "rectangular"),
        (lambda: fi(1, 1, 16, 2, 3, 4), "too many"),
    ],
)
def test_bad_input_errors_name_the_problem(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_nonfinite_policy():
    assert fi(np.inf, 1, 8, 4).int == 127
    assert fi(-np.inf, 1, 8, 4).int == -128
    assert fi(-np.inf, 1, 8, 4, overflow="sat_sym").int == -127
    assert fi(np.inf, 1, 8, 4, overflow="sat_zero").int == 0
    assert fi([np.nan, np.inf], 1, 8, 4, overflow="wrap", nonfinite="matlab").int.tolist() == [0, 0]
    assert fi([np.nan, -np.inf], 1, 8, 4, nonfinite="matlab").int.tolist() == [0, -128]


def test_stochastic_is_reproducible_from_a_seed():
    x = np.linspace(-3, 3, 1001)
    a = fi(x, 1, 16, 4, rounding="stochastic", seed=7)
    b = fi(x, 1, 16, 4, rounding="stochastic", seed=7)
    assert_fi_identical(a, b)
    lo = np.floor(x * 16)
    assert np.all((a.int == lo) | (a.int == lo + 1))


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 40), st.integers(-10, 40))
def test_quantized_values_are_on_the_grid_and_in_range(x, w, f):
    a = fi(x, 1, w, f, rounding="floor", overflow="saturate")
    T = a.numerictype
    assert T.int_min <= int(a.int) <= T.int_max
    if T.exact_min <= Fraction(x) <= T.exact_max:
        assert a.exact() <= Fraction(x) < a.exact() + T.exact_eps


def test_bitwise_operators_act_on_stored_bits():
    a = fi([1, -2], 1, 8, 0)
    b = fi([3, 3], 1, 8, 0)
    assert_fi_identical(a & b, fx.bitand(a, b))
    assert_fi_identical(a | b, fx.bitor(a, b))
    assert_fi_identical(a ^ b, fx.bitxor(a, b))
    assert_fi_identical(~a, fx.bitcmp(a))
    assert (a << 2).int.tolist() == [4, -8]  # bitsll: no overflow checks
    assert (a >> 1).int.tolist() == [0, -1]  # bitsra: arithmetic


def test_lists_mixing_big_and_small_ints_stay_exact():
    """Regression: numpy turned [1, 2**63 + 1] into float64, silently storing 2**63."""
    assert fi.from_int([1, 2**63 + 1], "ufix64").int.tolist() == [1, 2**63 + 1]
    assert fi([1, 2**63 + 1], 0, 64, 0).int.tolist() == [1, 2**63 + 1]
    assert fi.from_int([0, 2**64 - 1], "ufix64").int.tolist() == [0, 2**64 - 1]
    assert fi([0.5, 2**70], 1, 80, 2).int.tolist() == [2, 2**72]


def test_reduction_methods_delegate_to_the_functions():
    a = fi([[0.5, -0.25], [1.0, 0.75]], 1, 8, 4)
    assert_fi_identical(a.sum(), fx.sum(a))
    assert_fi_identical(a.sum(axis=0), fx.sum(a, axis=0))
    assert_fi_identical(a.cumsum(1), fx.cumsum(a, 1))
    assert_fi_identical(a.prod(), fx.prod(a))
    assert_fi_identical(a.mean(0), fx.mean(a, 0))
    assert_fi_identical(a.max(), fx.max(a))
    assert_fi_identical(a.min(1), fx.min(a, 1))
    assert_fi_identical(a[0].dot(a[1]), fx.dot(a[0], a[1]))
    b = +a
    b[0, 0] = 0
    assert a[0, 0].int == 8  # unary plus returns a copy, as numpy's does
