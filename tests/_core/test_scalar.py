"""The pure-Python single-element quantizer agrees with the exact reference."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from fixsim._core._modes import parse_overflow, parse_rounding
from fixsim._core._scalar import quantize_dyadic

from . import reference as ref

modes = st.tuples(st.sampled_from(ref.ROUNDINGS), st.sampled_from(ref.OVERFLOWS))


@given(st.integers(-(2**140), 2**140), st.integers(-80, 160), st.booleans(),
       st.integers(1, 130), st.integers(-40, 150), modes)
def test_quantize_dyadic_matches_reference(num, shift, signed, W, F, mode):
    rounding, overflow = mode
    if overflow == "wrap_sm" and not signed:
        return
    value = Fraction(num) * Fraction(2) ** -shift
    T = (signed, W, F)
    expected = ref.quantize_counted(value, T, rounding, overflow)
    got = quantize_dyadic(num, shift, W, F, signed, parse_rounding(rounding),
                          parse_overflow(overflow))
    assert got == expected


@given(st.integers(-(2**10), 2**10), st.integers(1, 12))
def test_ties_both_sides_of_zero(k, d):
    num = 2 * k + 1  # an odd numerator: (2k+1) / 2 is a tie at the LSB when shift = 1
    for rounding in ref.ROUNDINGS:
        for signed in (True, False):
            T = (signed, 20, 0)
            value = Fraction(num, 2)
            expected = ref.quantize_counted(value, T, rounding, "wrap")
            assert quantize_dyadic(num, 1, 20, 0, signed, parse_rounding(rounding),
                                   parse_overflow("wrap")) == expected
