"""fimath: modes, aliases, context-manager default, local-fimath rules."""

import pickle
import threading

import pytest

import fixsim as fx
from fixsim import Overflow, Rounding, fi, fimath, numerictype


def test_defaults_match_matlab():
    F = fimath()
    assert F.rounding is Rounding.NEAREST and F.overflow is Overflow.SATURATE
    assert F.product_mode == F.sum_mode == "full"
    assert F.cast_before_sum is True and F.rules == "matlab"
    assert F.max_product_word_length == F.max_sum_word_length == 65535


@pytest.mark.parametrize(
    "alias, mode",
    [("floor", Rounding.FLOOR), ("TRN", Rounding.FLOOR), ("AP_TRN", Rounding.FLOOR),
     ("ceil", Rounding.CEIL), ("Ceiling", Rounding.CEIL),
     ("zero", Rounding.ZERO), ("fix", Rounding.ZERO), ("AC_TRN_ZERO", Rounding.ZERO),
     ("Nearest", Rounding.NEAREST), ("rnd", Rounding.NEAREST),
     ("round", Rounding.ROUND), ("AP_RND_INF", Rounding.ROUND),
     ("convergent", Rounding.CONVERGENT), ("RND_CONV", Rounding.CONVERGENT),
     ("half_down", Rounding.HALF_DOWN), ("AC_RND_MIN_INF", Rounding.HALF_DOWN),
     ("half_zero", Rounding.HALF_ZERO), ("rnd_zero", Rounding.HALF_ZERO),
     ("convergent_odd", Rounding.CONVERGENT_ODD), ("AC_RND_CONV_ODD", Rounding.CONVERGENT_ODD),
     ("stochastic", Rounding.STOCHASTIC)],
)
def test_rounding_aliases(alias, mode):
    assert fimath(rounding=alias).rounding is mode


@pytest.mark.parametrize(
    "alias, mode",
    [("saturate", Overflow.SATURATE), ("SAT", Overflow.SATURATE), ("AP_SAT", Overflow.SATURATE),
     ("wrap", Overflow.WRAP), ("AC_WRAP", Overflow.WRAP), ("sat_zero", Overflow.SAT_ZERO),
     ("AP_SAT_SYM", Overflow.SAT_SYM), ("wrap_sm", Overflow.WRAP_SM)],
)
def test_overflow_aliases(alias, mode):
    assert fimath(overflow=alias).overflow is mode


def test_unknown_mode_suggests_the_closest():
    with pytest.raises(ValueError, match=r"rounding='nearst'.*Did you mean 'nearest'"):
        fimath(rounding="nearst")
    with pytest.raises(ValueError, match=r"overflow='saturat'.*Did you mean 'saturate'"):
        fimath(overflow="saturat")
    with pytest.raises(ValueError, match="product_mode"):
        fimath(product_mode="precise")
    with pytest.raises(ValueError, match="rules"):
        fimath(rules="vhdl")


def test_matlab_mode_spellings():
    F = fimath(product_mode="KeepMSB", sum_mode="SpecifyPrecision")
    assert (F.product_mode, F.sum_mode) == ("keep_msb", "specify")


def test_value_semantics_and_pickle():
    a = fimath(rounding="floor", overflow="wrap")
    b = fimath(rounding="trn", overflow="AP_WRAP")
    assert a == b and hash(a) == hash(b)
    assert a != fimath()
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.replace(rounding="ceil").rounding is Rounding.CEIL
    with pytest.raises(AttributeError):
        a.rounding = "ceil"  # type: ignore[misc]


def test_with_block_sets_the_default_and_nests():
    assert fx.current_fimath() == fimath()
    outer = fimath(sum_mode="keep_lsb", sum_word_length=20)
    inner = fimath(rules="hls")
    with outer:
        assert fx.current_fimath() is outer
        with inner:
            assert fx.current_fimath() is inner
        assert fx.current_fimath() is outer
    assert fx.current_fimath() == fimath()


def test_with_block_governs_arithmetic_without_local_fimath():
    a = fi(1.5, 1, 8, 4)
    assert (a + a).numerictype == numerictype(True, 9, 4)
    with fimath(sum_mode="specify", sum_word_length=12, sum_fraction_length=2):
        c = a + a
        assert c.numerictype == numerictype(True, 12, 2)
        assert c.local_fimath is None


def test_the_default_is_thread_local():
    seen = {}

    def worker():
        seen["worker"] = fx.current_fimath()

    with fimath(rounding="floor"):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen["worker"] == fimath()


def test_local_fimath_wins_and_propagates():
    F = fimath(sum_mode="keep_lsb", sum_word_length=10)
    a = fi(1.5, 1, 8, 4, F)
    b = fi(0.25, 1, 8, 4)
    with fimath(sum_mode="keep_lsb", sum_word_length=30):
        c = a + b
    assert c.numerictype == numerictype(True, 10, 4)
    assert c.local_fimath == F


def test_two_different_local_fimaths_are_an_error():
    a = fi(1, 1, 8, 4, rounding="floor")
    b = fi(1, 1, 8, 4, rounding="ceil")
    with pytest.raises(ValueError, match="different local fimaths"):
        a + b
    # equal-valued local fimaths are fine
    c = fi(1, 1, 8, 4, rounding="floor")
    assert (a + c).local_fimath == fimath(rounding="floor")
    assert (a + b.removefimath()).local_fimath == fimath(rounding="floor")


def test_constructor_uses_local_modes_and_ignores_the_default():
    # MATLAB: T = numerictype(1,8,7); F = fimath(Floor, Wrap); fi(1,T,F) -> -1; fi(1,T) -> 0.9922
    T = numerictype(True, 8, 7)
    F = fimath(rounding="floor", overflow="wrap")
    assert fi(1, T, F).int == -128
    with F:
        assert fi(1, T).int == 127
    b = fi(1, T)
    assert b.setfimath(F).int == 127  # changing the fimath does not requantize


def test_replace_is_remembered_and_still_validates():
    # fi(x, ..., rounding=...) calls fimath.replace on every construction; the result is
    # memoised (fimath is immutable), which must not change what replace returns or raises
    base = fimath()
    a = base.replace(rounding="floor", overflow="wrap")
    b = fimath().replace(overflow="wrap", rounding="floor")
    assert a is b and a == fimath(rounding="floor", overflow="wrap")
    assert a.rounding == Rounding.FLOOR and a.overflow == Overflow.WRAP
    assert base.rounding == Rounding.NEAREST  # the base is unchanged
    c = a.replace(rounding="ceil")
    assert c.rounding == Rounding.CEIL and c.overflow == Overflow.WRAP
    for _ in range(2):  # an invalid value raises every time (nothing cached)
        with pytest.raises(ValueError, match="rounding"):
            base.replace(rounding="florr")
    with pytest.raises(TypeError, match="unknown properties"):
        base.replace(roundin="floor")
    with pytest.raises((TypeError, ValueError)):
        base.replace(product_word_length=[16])  # unhashable: not memoised, still rejected
