"""numerictype: construction, names, parsing, bounds, value semantics."""

import pickle
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixsim import numerictype


def test_defaults_are_matlab_s16_15():
    T = numerictype()
    assert (T.signed, T.word_length, T.fraction_length) == (True, 16, 15)


@pytest.mark.parametrize(
    "T, name",
    [
        (numerictype(True, 16, 12), "sfix16_En12"),
        (numerictype(False, 8, 3), "ufix8_En3"),
        (numerictype(True, 8, -2), "sfix8_E2"),
        (numerictype(True, 8, 0), "sfix8"),
        (numerictype(signed=False, word_length=7, fraction_length=5), "ufix7_En5"),
    ],
)
def test_names(T, name):
    assert str(T) == name
    assert numerictype.parse(name) == T


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Q3.12", (True, 16, 12)),
        ("UQ0.8", (False, 8, 8)),
        ("Q15", (True, 16, 15)),
        ("sfix16_En12", (True, 16, 12)),
        ("ufix8_En3", (False, 8, 3)),
        ("sfix8_E2", (True, 8, -2)),
        ("sfix8", (True, 8, 0)),
        ("int16", (True, 16, 0)),
        ("uint8", (False, 8, 0)),
        ("ap_fixed<16,4>", (True, 16, 12)),
        ("ap_ufixed<8,0>", (False, 8, 8)),
        ("ac_fixed<16,4,true>", (True, 16, 12)),
        ("ac_fixed<16,4,false>", (False, 16, 12)),
        ("ac_fixed<16,4>", (True, 16, 12)),
        ("ap_fixed<8,-3>", (True, 8, 11)),
        ("ap_fixed<8,11>", (True, 8, -3)),
        ("numerictype(1,16,12)", (True, 16, 12)),
    ],
)
def test_parse(text, expected):
    T = numerictype.parse(text)
    assert (T.signed, T.word_length, T.fraction_length) == expected


def test_other_notations():
    T = numerictype(True, 16, 12)
    assert T.qformat == "Q3.12"
    assert T.hls == "ap_fixed<16,4>"
    assert T.ac == "ac_fixed<16,4,true>"
    assert T.tostring() == "numerictype(1,16,12)"
    assert numerictype(False, 8, 8).qformat == "UQ0.8"
    assert eval(repr(T), {"numerictype": numerictype}) == T


@given(st.booleans(), st.integers(1, 200), st.integers(-300, 300))
def test_names_round_trip(s, w, f):
    T = numerictype(s, w, f)
    for text in (str(T), T.qformat, T.hls, T.ac, T.tostring()):
        assert numerictype.parse(text) == T


@given(st.booleans(), st.integers(1, 130), st.integers(-70, 200))
def test_bounds_are_exact(s, w, f):
    T = numerictype(s, w, f)
    if s:
        assert T.int_min == -(2 ** (w - 1)) and T.int_max == 2 ** (w - 1) - 1
    else:
        assert T.int_min == 0 and T.int_max == 2**w - 1
    eps = Fraction(2) ** -f
    assert T.exact_eps == eps
    assert T.exact_min == T.int_min * eps and T.exact_max == T.int_max * eps
    assert T.min == float(T.int_min * eps)
    assert T.max == float(T.int_max * eps)
    assert T.eps == float(eps)


def test_range_example_from_matlab():
    # range(fi(0,true,4,2)) -> [-2.0000 1.7500]
    assert numerictype(True, 4, 2).range == (-2.0, 1.75)


def test_equality_hash_pickle():
    a, b = numerictype(True, 16, 12), numerictype(1, 16, 12)
    assert a == b and hash(a) == hash(b)
    assert a != numerictype(True, 16, 11)
    assert a == "sfix16_En12"
    assert pickle.loads(pickle.dumps(a)) == a
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.word_length = 3  # type: ignore[misc]
    assert a.replace(word_length=20) == numerictype(True, 20, 12)


def test_contains():
    T = numerictype(True, 8, 4)
    assert T.contains(Fraction(-8)) and T.contains(Fraction(127, 16))
    assert not T.contains(8) and not T.contains(Fraction(1, 32))


def test_word_length_limits():
    numerictype(True, 1, 0)
    numerictype(False, 65535, 0)
    with pytest.raises(ValueError, match=r"word_length=0 .*valid: 1\.\.65535"):
        numerictype(True, 0, 0)
    with pytest.raises(ValueError, match="word_length=65536"):
        numerictype(True, 65536, 0)


@pytest.mark.parametrize("bad", [16.5, "16", None, True])
def test_non_integer_lengths_are_rejected(bad):
    with pytest.raises((TypeError, ValueError), match="word_length"):
        numerictype(True, bad, 0)


def test_integral_floats_are_accepted():
    assert numerictype(1, 16.0, 12.0) == numerictype(True, 16, 12)


def test_bad_signedness():
    with pytest.raises(ValueError, match="signed"):
        numerictype(2, 16, 12)


def test_parse_error_lists_forms():
    with pytest.raises(ValueError, match="cannot parse 'fix16'.*Valid forms"):
        numerictype.parse("fix16")
