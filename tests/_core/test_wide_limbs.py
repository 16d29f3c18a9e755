"""Float64 quantization into 65- to 128-bit words through two 64-bit limbs.

``fi(x, T)`` with a float64 array and a 65..128-bit ``T`` quantizes in a numba kernel into two
limbs per value and keeps them on the fi (``_lz`` holds a ``WideLimbs``, ``_i`` is None) until
the stored integers are read; ``.data`` and a cast to at most 64 bits read the limbs directly.
All of it must be invisible: every stored integer, float, cast and overflow/underflow count
equals the exact reference (``reference.py``) and the exact object-array path
(``_floats_to_obj`` + ``requantize_obj``), and a deferred fi behaves like a built one when it
is assigned into, pickled, copied or printed.
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
from fixsim import fi, numerictype
from fixsim._core import _probe
from fixsim._core._modes import Overflow, Rounding, parse_overflow, parse_rounding
from fixsim._core._quantize import (
    WideLimbs,
    _floats_to_obj,
    requantize,
    requantize_obj,
    to_float,
)
from fixsim._kernels import _wide as kw

from . import reference as ref

MODES = [(r, o) for r in ref.ROUNDINGS for o in ref.OVERFLOWS]

wide_types = st.builds(lambda s, w, f: numerictype(s, w, f), st.booleans(),
                       st.integers(65, 128), st.integers(-20, 200))
narrow_types = st.builds(lambda s, w, f: numerictype(s, w, f), st.booleans(),
                         st.integers(1, 64), st.integers(-200, 260))


def _rt(T) -> tuple:
    return (T.signed, T.word_length, T.fraction_length)


def _pow2(k: int) -> float:
    """``2.0**k`` clamped into the float range (0.0 / the largest finite power past it)."""
    return float(np.ldexp(1.0, max(-1074, min(1023, k))))


@st.composite
def values_for(draw, T):
    """Float64 values that probe *T*: ties on both sides of zero, values at and past the range
    limits (including the most negative number), huge, tiny and subnormal values, +-0."""
    F, W = T.fraction_length, T.word_length
    lsb = _pow2(-F)
    top = W - 1 - F if T.signed else W - F  # the range is [-2**top, 2**top) (or [0, 2**top))
    k = draw(st.integers(-(2**52), 2**52))
    m = draw(st.integers(1, 2**53 - 1))
    sign = draw(st.sampled_from([1.0, -1.0]))
    e = draw(st.integers(-1074, 971))
    pool = [
        (k + 0.5) * lsb, -(k + 0.5) * lsb,              # ties (when exact), both signs
        0.5 * lsb, -0.5 * lsb, 1.5 * lsb, -1.5 * lsb, 2.5 * lsb, -2.5 * lsb,
        0.25 * lsb, -0.75 * lsb,                        # below one LSB: rounding to 0 or -1
        -_pow2(top), _pow2(top), _pow2(top - 1),        # most negative; just past the top
        -_pow2(top) - lsb * 0.5, -_pow2(top) * (1 + 2.0**-52),
        _pow2(top) * (1 - 2.0**-53), -_pow2(top) * (1 - 2.0**-53),
        sign * m * _pow2(top - 53), sign * m * _pow2(top + 3 - 53),  # near and past the range
        sign * m * _pow2(-F - 60), sign * m * _pow2(-F - 53 - 1),    # far below one LSB
        sign * float(np.ldexp(float(m), e)) if abs(e + 53) < 1020 else 0.0,
        5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
        0.0, -0.0,
    ]
    pool = [v for v in pool if np.isfinite(v)]
    extra = draw(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64),
                          max_size=6))
    chosen = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=24))
    return np.array(chosen + extra, dtype=np.float64)


def _object_path(x: np.ndarray, T, rounding, overflow):
    """The exact object-array path (stored Python ints, overflow and underflow counts)."""
    v, d = _floats_to_obj(x, T.fraction_length)
    ints, o, u = requantize_obj(v, d, T, parse_rounding(rounding), parse_overflow(overflow))
    return ints, o, u


def _reference(x: np.ndarray, T, rounding, overflow):
    got = [ref.quantize_counted(float(v), _rt(T), rounding, overflow) for v in x]
    return [g[0] for g in got], sum(g[1] for g in got), sum(g[2] for g in got)


def _bits(f: np.ndarray) -> list:
    return np.asarray(f, dtype=np.float64).view(np.int64).tolist()


# -- quantization ----------------------------------------------------------------------------
@given(st.data(), wide_types)
def test_quantize_matches_reference_in_every_mode(data, T):
    x = data.draw(values_for(T))
    for rounding, overflow in MODES:
        if overflow == "wrap_sm" and not T.signed:
            continue
        want, wo, wu = _reference(x, T, rounding, overflow)
        obj, oo, ou = _object_path(x, T, rounding, overflow)
        assert obj.tolist() == want and (oo, ou) == (wo, wu)
        with fx.count_quantization() as c:
            a = fi(x, T, rounding=rounding, overflow=overflow)
        assert type(a._lz) is WideLimbs and a._i is None  # deferred as limbs
        assert [(e.overflows, e.underflows, e.size) for e in c.events] == [(wo, wu, x.size)]
        assert a.data.view(np.int64).tolist() == _bits(to_float(obj, T))  # from the limbs
        assert a._i is None
        got = a.int
        assert got.dtype == object and got.tolist() == want, (rounding, overflow)
        assert all(type(v) is int for v in got.tolist())
        assert a._lz is None  # built once, the limbs released
        b = fi(x, T, rounding=rounding, overflow=overflow)  # without a listener: no counting
        assert b.int.tolist() == want


@given(st.data(), wide_types)
def test_both_kernels_match_the_object_path(data, T):
    """The general limb kernel (used past |F| = 960, for flagged elements and unsigned 128-bit
    words) and the mode-specialised one, called directly on the same values."""
    x = data.draw(values_for(T))
    for rounding, overflow in MODES:
        if overflow == "wrap_sm" and not T.signed:
            continue
        obj, oo, ou = _object_path(x, T, rounding, overflow)
        r, o = int(parse_rounding(rounding)), int(parse_overflow(overflow))
        hi = np.empty(x.size, dtype=np.int64)
        lo = np.empty(x.size, dtype=np.uint64)
        no, nu, bad = kw.quantize_f64_limbs(x.view(np.int64), T.fraction_length,
                                            T.word_length, T.signed, r, o, hi, lo)
        assert bad == -1
        assert WideLimbs(hi, lo, T).to_object().tolist() == obj.tolist()
        assert (no, nu) == (oo, ou)
        if T.signed or T.word_length < 128:
            kernel = kw.float_limbs_kernel(r, o, True, T.fraction_length < 0)
            flagged, no, nu = kernel(x, 2.0 ** T.fraction_length, T.word_length, T.signed,
                                     hi, lo)
            if not flagged:
                assert WideLimbs(hi, lo, T).to_object().tolist() == obj.tolist()
                assert (no, nu) == (oo, ou)


@pytest.mark.parametrize("W", [65, 80, 127, 128])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("F", [-1000, -961, -20, 0, 60, 960, 1100])
def test_extreme_fraction_lengths(W, signed, F):
    """Past |F| = 960 only the general kernel applies; .data past the normal range falls back
    to the exact path."""
    T = numerictype(signed, W, F)
    rng = np.random.default_rng(abs(W * 10000 + F))
    x = rng.standard_normal(200) * np.exp2(rng.uniform(-1070, 1020, 200))
    x[:6] = [0.0, -0.0, 5e-324, -5e-324, np.ldexp(1.0, W - 1 - F) if W - 1 - F < 1024 else 1.0,
             -np.ldexp(1.0, max(-1074, min(1023, W - 1 - F)))]
    for rounding, overflow in [("nearest", "saturate"), ("floor", "wrap"),
                               ("convergent", "sat_sym"), ("zero", "sat_zero")]:
        obj, oo, ou = _object_path(x, T, rounding, overflow)
        with fx.count_quantization() as c:
            a = fi(x, T, rounding=rounding, overflow=overflow)
        assert (c.overflows, c.underflows) == (oo, ou)
        assert a.data.view(np.int64).tolist() == _bits(to_float(obj, T))
        assert a.int.tolist() == obj.tolist()


def test_row8_workload_and_the_object_path():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(20000) * np.exp2(rng.uniform(-12, 20, 20000))
    T = numerictype(1, 80, 60)
    obj, oo, ou = _object_path(x, T, "nearest", "saturate")
    with fx.count_quantization() as c:
        a = fi(x, 1, 80, 60)
    assert (c.overflows, c.underflows) == (oo, ou) and oo > 0 and ou == 0
    assert a.data.view(np.int64).tolist() == _bits(to_float(obj, T))
    assert a.int.tolist() == obj.tolist()


def test_probe_receives_identical_events():
    x = np.array([1e30, -1e30, 2.0**-70, -(2.0**-70), 0.5, 0.0, 3.0 * 2**-61])
    T = numerictype(1, 80, 60)
    events = []
    with _probe.listening(events.append):
        fi(x, T)
        fi(np.append(x, np.nan), T, nonfinite="matlab")  # the object path (NaN: not counted)
    (e1, e2) = events
    assert (e1.numerictype, e1.overflows, e1.underflows, e1.operation) == \
        (e2.numerictype, e2.overflows, e2.underflows, e2.operation) == (T, 2, 2, "fi")
    assert (e1.size, e2.size) == (7, 8)


def test_nonfinite_and_stochastic_take_the_exact_path():
    T = numerictype(1, 90, 70)
    x = np.array([1.5, np.inf, -np.inf, 0.25, np.nan])
    a = fi(x, T, nonfinite="matlab")
    assert a._i is not None
    lo, hi = ref.int_bounds(True, 90)
    assert a.int.tolist() == [3 << 69, hi, lo, 1 << 68, 0]
    with pytest.raises(ValueError, match="NaN"):
        fi(x, T)
    s1 = fi(np.full(50, 2.0**-71), T, rounding="stochastic", seed=3)
    s2 = fi(np.full(50, 2.0**-71), T, rounding="stochastic", seed=3)
    assert s1._i is not None and s1.int.tolist() == s2.int.tolist()
    assert set(s1.int.tolist()) <= {0, 1}
    one = fi(np.array([0.75]), T)  # one element: the scalar path
    assert one._i is not None and one.int.tolist() == [3 << 68]


# -- reads on the limbs ----------------------------------------------------------------------
@given(st.data(), wide_types, narrow_types, st.sampled_from(ref.ROUNDINGS),
       st.sampled_from(ref.OVERFLOWS))
def test_cast_from_limbs_matches_object_path(data, T, T2, rounding, overflow):
    if overflow == "wrap_sm" and not T2.signed:
        return
    x = data.draw(values_for(T))
    src_mode = data.draw(st.sampled_from(MODES))
    if src_mode[1] == "wrap_sm" and not T.signed:
        src_mode = ("nearest", "wrap")
    a = fi(x, T, rounding=src_mode[0], overflow=src_mode[1])
    obj = a._lz.to_object()
    want, wo, wu = requantize(obj, T, T2, parse_rounding(rounding), parse_overflow(overflow))
    exact = [ref.requantize(int(v), _rt(T), _rt(T2), rounding, overflow) for v in obj]
    assert want.tolist() == exact
    with fx.count_quantization() as c:
        got = a.cast(T2, rounding, overflow)
    assert got.numerictype == T2
    assert got.int.dtype == want.dtype and got.int.tolist() == want.tolist()
    assert (c.overflows, c.underflows) == (wo, wu)
    if T.signed or T.word_length < 128:  # (an unsigned 128-bit source builds the array)
        assert a._i is None  # read from the limbs: the object array was never built
        r = a._lz.requantize(T2, parse_rounding(rounding), parse_overflow(overflow))
        assert r is not None and r[0].tolist() == want.tolist() and r[1:] == (wo, wu)


def test_cast_to_wide_types_and_stochastic_build_the_array():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(100) * 1e3
    a = fi(x, 1, 100, 70)
    b = a.cast(numerictype(1, 90, 40), "floor", "wrap")
    assert a._i is not None
    obj = a.int
    assert b.int.tolist() == [ref.requantize(int(v), (1, 100, 70), (1, 90, 40), "floor", "wrap")
                              for v in obj]
    c = fi(x, 1, 100, 70)
    s = c.cast(numerictype(1, 16, 8), "stochastic", seed=5)
    d = fi(x, 1, 100, 70)
    d.int  # noqa: B018 - build it
    assert s.int.tolist() == d.cast(numerictype(1, 16, 8), "stochastic", seed=5).int.tolist()


def test_data_of_unsigned_128_and_extreme_values():
    T = numerictype(0, 128, 0)
    x = np.array([2.0**127, 2.0**128 * (1 - 2.0**-53), 1.0, 0.0, 2.0**64 + 2.0**12, 3.5])
    a = fi(x, T)
    assert a.data.tolist() == [2.0**127, 2.0**128 * (1 - 2.0**-53), 1.0, 0.0, 2.0**64 + 2.0**12,
                               4.0]
    assert a.int.tolist() == [2**127, 2**128 - 2**75, 1, 0, 2**64 + 2**12, 4]
    assert a.cast(numerictype(0, 64, 0), "floor", "saturate").int.tolist() == \
        [2**64 - 1, 2**64 - 1, 1, 0, 2**64 - 1, 4]


@given(st.integers(-(2**127), 2**127 - 1), st.integers(-(2**127), 2**127 - 1),
       st.integers(-40, 300))
def test_limbs_to_float_is_correctly_rounded(v1, v2, F):
    T = numerictype(1, 128, F)
    ints = np.array([v1, v2, v1 >> 60, -(2**127), 2**127 - 1, 0], dtype=object)
    hi = np.array([v >> 64 for v in ints], dtype=np.int64)
    lo = np.array([v & (2**64 - 1) for v in ints], dtype=np.uint64)
    limbs = WideLimbs(hi, lo, T)
    assert limbs.to_object().tolist() == ints.tolist()
    want = [float(Fraction(int(v)) * ref.pow2(-F)) for v in ints]  # Fraction rounds once
    assert limbs.to_float().view(np.int64).tolist() == _bits(np.array(want))


# -- a deferred fi behaves like a built one ---------------------------------------------------
def _pair(T=None, n=40, seed=0):
    T = numerictype(1, 96, 64) if T is None else T
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * np.exp2(rng.uniform(-70, 40, n))
    lazy = fi(x, T)
    built = fi(x, T)
    built.int  # noqa: B018 - the read builds the object array
    assert lazy._i is None and built._i is not None
    return lazy, built


def test_shape_reads_do_not_build():
    lazy, _ = _pair(n=12)
    lazy2 = fi(np.arange(12.0).reshape(3, 4) / 7, 1, 70, 60)
    assert (lazy.shape, lazy.ndim, lazy.size, len(lazy)) == ((12,), 1, 12, 12)
    assert (lazy2.shape, lazy2.ndim, lazy2.size, len(lazy2)) == ((3, 4), 2, 12, 3)
    assert lazy._i is None and lazy2._i is None
    assert lazy2.data.shape == (3, 4) and lazy2._i is None
    assert lazy2.int.shape == (3, 4)


def test_assign_into_deferred():
    lazy, built = _pair()
    lazy[3] = 1.25
    built[3] = 1.25
    lazy[5:8] = fi([0.5, -0.5, 2.0], 1, 16, 8)
    built[5:8] = fi([0.5, -0.5, 2.0], 1, 16, 8)
    assert lazy.int.tolist() == built.int.tolist()
    src, _ = _pair(seed=1)
    target, target_built = _pair(seed=2)
    target[:] = src  # a deferred value assigned into a deferred fi
    target_built[:] = src
    assert target.int.tolist() == target_built.int.tolist() == src.int.tolist()


def test_pickle_copy_print_deferred():
    for make in (lambda: _pair()[0], lambda: _pair()[1]):
        lazy = make()
        _, built = _pair()
        assert pickle.loads(pickle.dumps(lazy)).int.tolist() == built.int.tolist()
        assert copy.copy(make()).int.tolist() == built.int.tolist()
        assert copy.deepcopy(make()).int.tolist() == built.int.tolist()
        assert make().copy().int.tolist() == built.int.tolist()
        assert repr(make()) == repr(built)
        assert str(make()) == str(built)
        assert make().hex.tolist() == built.hex.tolist()
        assert fi(make()).int.tolist() == built.int.tolist()
        assert make()[2:5].int.tolist() == built[2:5].int.tolist()
        assert (make() + make()).int.tolist() == (built + built).int.tolist()
        assert (make() == built).all()
        assert np.asarray(make()).tolist() == np.asarray(built).tolist()
        assert make().exact().tolist() == built.exact().tolist()
        f = make()
        assert f.int.flags.writeable is False


def test_local_fimath_and_type_kept():
    F = fx.fimath(rounding="floor", overflow="wrap")
    x = np.array([1.75, -3.5e30, 2.0**-70])
    a = fi(x, 1, 100, 66, F)
    assert a._i is None and a.local_fimath is F and a.numerictype == numerictype(1, 100, 66)
    assert a.int.tolist() == [ref.quantize(float(v), (True, 100, 66), "floor", "wrap")
                              for v in x]
    b = fi(x, 1, 100, 66, rounding=Rounding.CEIL, overflow=Overflow.SATURATE)
    assert b.int.tolist() == [ref.quantize(float(v), (True, 100, 66), "ceil", "saturate")
                              for v in x]
