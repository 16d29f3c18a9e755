"""fxpmath interop: stored integers cross exactly, modes map where fxpmath has an equivalent."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fixsim import fi, fimath, numerictype
from fixsim._core import _interop
from fixsim._core._interop import from_fxp, to_fxp
from fixsim.testing import assert_fi_identical

fxpmath = pytest.importorskip("fxpmath")
Fxp = fxpmath.Fxp

# word lengths: every small one, the int64/uint64 edges, and wide words (object storage)
WORD_LENGTHS = [*range(1, 18), 31, 32, 33, 52, 53, 54, 62, 63, 64, 65, 66, 100, 128, 200, 1000]


def _random_ints(rng: np.random.Generator, T: numerictype, n: int) -> np.ndarray:
    """Random stored integers of T, with both bounds and zero always present."""
    lo, hi = T.int_min, T.int_max
    span = hi - lo + 1
    nbits = span.bit_length() + 8
    vals = [lo, hi, 0 if lo <= 0 <= hi else lo]
    vals += [lo + int.from_bytes(rng.bytes((nbits + 7) // 8), "little") % span
             for _ in range(n - 3)]
    out = np.empty(n, dtype=object)
    out[:] = vals
    return out


def _ints_of(x) -> list[int]:
    return [int(v) for v in np.asarray(x).ravel()]


@pytest.mark.parametrize("w", WORD_LENGTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_round_trip_fi_to_fxp_to_fi(w, signed):
    rng = np.random.default_rng(1000 * w + signed)
    for f in (0, w // 2, w, -3, w + 5):
        T = numerictype(signed, w, f)
        a = fi.from_int(_random_ints(rng, T, 40).reshape(5, 8), T)
        x = to_fxp(a)
        assert (x.signed, x.n_word, x.n_frac) == (signed, w, f)
        assert np.shape(x.val) == (5, 8)
        assert _ints_of(x.val) == _ints_of(a.int)
        b = from_fxp(x)
        assert_fi_identical(b, a)
        assert b.int.dtype == a.int.dtype


@pytest.mark.parametrize("w", WORD_LENGTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_round_trip_fxp_to_fi_to_fxp(w, signed):
    rng = np.random.default_rng(7 * w + signed)
    T = numerictype(signed, w, w // 3)
    ints = _random_ints(rng, T, 30)
    # build the Fxp the ordinary way, from values (fxpmath is exact for these at W <= 53)
    if w <= 53:
        x = Fxp(ints.astype(np.float64) * 2.0 ** -T.fraction_length, signed, w,
                T.fraction_length)
    else:
        x = to_fxp(fi.from_int(ints, T))
    a = from_fxp(x)
    assert a.numerictype == T
    assert _ints_of(a.int) == _ints_of(x.val)
    y = to_fxp(a)
    assert _ints_of(y.val) == _ints_of(x.val)
    assert (y.signed, y.n_word, y.n_frac) == (x.signed, x.n_word, x.n_frac)


def test_real_world_values_agree():
    rng = np.random.default_rng(3)
    v = rng.uniform(-4, 4, 100)
    a = fi(v, 1, 16, 12)
    x = to_fxp(a)
    np.testing.assert_array_equal(np.asarray(x(), dtype=float), a.data)
    x2 = Fxp(v, True, 16, 12, rounding="floor")
    np.testing.assert_array_equal(from_fxp(x2).data, np.asarray(x2(), dtype=float))


def test_scalar_and_empty():
    a = fi(2.5, 1, 8, 3)
    x = to_fxp(a)
    assert int(x.val) == 20
    b = from_fxp(x)
    assert b.shape == () and b.int == 20
    for T in (numerictype(True, 8, 3), numerictype(False, 8, 3), numerictype(True, 80, 3)):
        e = fi.from_int(np.zeros((2, 0), dtype=np.int64), T)
        assert_fi_identical(from_fxp(to_fxp(e)), e)


def test_unsigned_64_bit_high_values_are_exact():
    # fxpmath's own raw path turns [2**64-1, 0] into float64; to_fxp must not
    T = numerictype(False, 64, 3)
    a = fi.from_int(np.array([2**64 - 1, 0, 2**63, 5], dtype=np.uint64), T)
    x = to_fxp(a)
    assert _ints_of(x.val) == [2**64 - 1, 0, 2**63, 5]
    assert_fi_identical(from_fxp(x), a)


# -- modes ----------------------------------------------------------------------------------
FXP_TO_FIXSIM = {
    "trunc": "zero", "fix": "zero", "floor": "floor", "bit_trunc": "floor", "ceil": "ceil",
    "around": "convergent", "nearest_posinf": "nearest", "nearest_neginf": "half_down",
    "nearest_zero": "half_zero", "nearest_away": "round",
}
TIES = np.array([-3.5, -2.5, -1.5, -1.25, -0.5, -0.25, 0.0, 0.25, 0.5, 1.25, 1.5, 2.5, 3.5])


def _supported_fxp_roundings() -> set[str]:
    from fxpmath.objects import Config
    return set(Config()._rounding_list)


@pytest.mark.parametrize("name", sorted(FXP_TO_FIXSIM))
def test_rounding_names_map_and_agree_on_ties(name):
    if name not in _supported_fxp_roundings():
        pytest.skip(f"fxpmath {fxpmath.__version__} has no rounding {name!r}")
    x = Fxp(TIES, True, 8, 0, rounding=name)
    a = from_fxp(x)
    assert str(a.local_fimath.rounding) == FXP_TO_FIXSIM[name]
    # the mapped mode quantizes the same ties to the same integers
    b = fi(TIES, 1, 8, 0, rounding=FXP_TO_FIXSIM[name])
    assert _ints_of(b.int) == _ints_of(x.val)
    assert _ints_of(a.int) == _ints_of(x.val)
    # and back: to_fxp picks an fxpmath name with the same rule
    y = to_fxp(b)
    assert FXP_TO_FIXSIM[y.config.rounding] == FXP_TO_FIXSIM[name]
    assert _ints_of(Fxp(TIES, True, 8, 0, rounding=y.config.rounding).val) == _ints_of(b.int)


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
def test_overflow_maps_and_agrees(overflow):
    v = np.array([-300.0, -129.0, -128.0, 0.0, 127.0, 128.0, 300.0])
    x = Fxp(v, True, 8, 0, overflow=overflow)
    a = from_fxp(x)
    assert str(a.local_fimath.overflow) == overflow
    assert _ints_of(fi(v, 1, 8, 0, overflow=overflow).int) == _ints_of(x.val)
    assert to_fxp(a).config.overflow == overflow


def test_modes_come_from_the_fimath_in_force():
    a = fi([0.5, 1.0], 1, 8, 4)
    with fimath(rounding="floor", overflow="wrap"):
        x = to_fxp(a)
    assert (x.config.rounding, x.config.overflow) == ("floor", "wrap")
    b = fi([0.5, 1.0], 1, 8, 4, rounding="convergent")
    assert to_fxp(b).config.rounding == "around"
    assert to_fxp(fi(1, 1, 8, 4, rounding="zero")).config.rounding == "trunc"


@pytest.mark.parametrize("rounding", ["convergent_odd", "stochastic"])
def test_unmappable_rounding_raises_unless_overridden(rounding):
    a = fi([0.5, 1.0], 1, 8, 4, rounding=rounding, seed=1)
    with pytest.raises(ValueError, match="rounding"):
        to_fxp(a)
    x = to_fxp(a, rounding="floor")
    assert x.config.rounding == "floor" and _ints_of(x.val) == _ints_of(a.int)


@pytest.mark.parametrize("overflow", ["sat_zero", "sat_sym", "wrap_sm"])
def test_unmappable_overflow_raises_unless_overridden(overflow):
    a = fi([0.5, 1.0], 1, 8, 4, overflow=overflow)
    with pytest.raises(ValueError, match="overflow"):
        to_fxp(a)
    assert to_fxp(a, overflow="wrap").config.overflow == "wrap"


def test_keep_modes_false_gives_no_local_fimath():
    x = Fxp([1.0, 2.0], True, 8, 2, rounding="floor", overflow="wrap")
    assert from_fxp(x).local_fimath == fimath(rounding="floor", overflow="wrap")
    assert from_fxp(x, keep_modes=False).local_fimath is None


# -- what does not map -----------------------------------------------------------------------
def test_power_of_two_scale_folds_into_fraction_length():
    x = Fxp([1.0, 2.0, -3.0], True, 8, 2, scale=4)
    a = from_fxp(x)
    assert a.numerictype == numerictype(True, 8, 0)
    np.testing.assert_array_equal(a.data, np.asarray(x(), dtype=float))


def test_slope_bias_and_complex_raise():
    with pytest.raises(ValueError, match="scale"):
        from_fxp(Fxp([1.0, 2.0], True, 8, 2, scale=3))
    with pytest.raises(ValueError, match="bias"):
        from_fxp(Fxp([1.0, 2.0], True, 8, 2, bias=1))
    with pytest.raises(TypeError, match="complex"):
        from_fxp(Fxp(1 + 2j, True, 16, 4))


def test_wrong_argument_types():
    with pytest.raises(TypeError, match="Fxp"):
        from_fxp(fi(1.0))
    with pytest.raises(TypeError, match="fi"):
        to_fxp(Fxp(1.0, True, 8, 2))


def test_missing_fxpmath_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fxpmath", None)
    for call in (lambda: to_fxp(fi(1.0)), lambda: from_fxp(object())):
        with pytest.raises(ImportError, match=r'pip install "fixsim\[fxpmath\]"'):
            call()


def test_module_exports_nothing():
    assert _interop.__all__ == []
