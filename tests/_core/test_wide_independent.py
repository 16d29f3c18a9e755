"""Float64 -> 65..128-bit quantization checked against an independent exact reference.

``fi(float64 array, s, W, F)`` with ``65 <= W <= 128`` runs the two-limb kernels
(``fixsim._kernels._wide``) and keeps the result on the fi as ``WideLimbs`` until the stored
integers are read; ``.data`` and casts to at most 64 bits read the limbs. The reference here is
written from the documented semantics alone (docs/user-guide.md "Quantization", "Counting
overflows and underflows"), with Python ints and ``fractions.Fraction``; it shares no code with
``tests/_core/reference.py`` or fixsim. Inputs are adversarial: exact ties on both sides of zero
and one ulp either side of them, +-(1 +- ulp) around the range limits, the most negative number,
huge, tiny and subnormal values, +-0, NaN and infinities, in arrays that take the fast kernel,
arrays that take the general kernel (a value the fast kernel flags sends the whole array there),
single elements and a 100,000-element array.
"""

from __future__ import annotations

import copy
import math
import pickle
import random
from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._quantize import WideLimbs

ROUNDINGS = ("floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
             "half_zero", "convergent_odd")
OVERFLOWS = ("saturate", "wrap", "sat_zero", "sat_sym", "wrap_sm")
WIDTHS = (65, 66, 80, 96, 100, 127, 128)
FRACTIONS = (-1000, -70, -20, -1, 0, 1, 30, 60, 63, 64, 65, 100, 127, 128, 200, 1000)


# -- the independent reference -----------------------------------------------------------------
def _bounds(signed: bool, W: int) -> tuple[int, int]:
    if signed:
        return -(1 << (W - 1)), (1 << (W - 1)) - 1
    return 0, (1 << W) - 1


def _round(num: int, s: int, mode: str) -> tuple[int, int]:
    """``(rounded, floor)`` of the exact value ``num * 2**s``."""
    if s >= 0:
        return num << s, num << s
    y = Fraction(num, 1 << -s)
    fl = math.floor(y)
    frac = y - fl
    if frac == 0:
        return fl, fl
    half = Fraction(1, 2)
    if mode == "floor":
        up = False
    elif mode == "ceil":
        up = True
    elif mode == "zero":
        up = y < 0
    elif frac != half:
        up = frac > half
    else:  # an exact tie
        up = {"nearest": True, "round": y > 0, "convergent": fl % 2 == 1, "half_down": False,
              "half_zero": y < 0, "convergent_odd": fl % 2 == 0}[mode]
    return fl + up, fl


def _overflow(n: int, fl: int, signed: bool, W: int, mode: str) -> tuple[int, bool]:
    """``(stored, overflowed)``: *n* brought into the word; *fl* is floor of the unrounded
    value (its bit W is the sign that ``wrap_sm`` gives an overflowed value, as ap_fixed)."""
    lo, hi = _bounds(signed, W)
    if lo <= n <= hi:
        if mode == "sat_sym" and signed and n == lo:
            return lo + 1, True
        return n, False
    if mode == "saturate":
        return (hi if n > hi else lo), True
    if mode == "sat_sym":
        return (hi if n > hi else lo + (1 if signed else 0)), True
    if mode == "sat_zero":
        return 0, True
    mask = (1 << W) - 1
    r = n & mask
    if mode == "wrap_sm":
        sign = (fl >> W) & 1
        if (r >> (W - 1)) & 1 != sign:
            r = ~r & mask
        r = (r & (mask >> 1)) | (sign << (W - 1))
    if signed and r >> (W - 1):
        r -= 1 << W
    return r, True


def ref_quantize(x: float, signed, W, F, rmode, omode, nonfinite="raise"):
    """``(stored, overflowed, underflowed)`` of float *x*; raises ValueError where fixsim must."""
    lo, hi = _bounds(signed, W)
    if math.isnan(x):
        if nonfinite == "matlab":
            return 0, False, False
        raise ValueError("NaN")
    if math.isinf(x):
        if omode in ("wrap", "wrap_sm"):
            if nonfinite == "matlab":
                return 0, True, False
            raise ValueError("inf")
        if omode == "sat_zero":
            return 0, True, False
        if x > 0:
            return hi, True, False
        return lo + (1 if omode == "sat_sym" and signed else 0), True, False
    num, den = x.as_integer_ratio()
    n, fl = _round(num, F - (den.bit_length() - 1), rmode)
    r, o = _overflow(n, fl, signed, W, omode)
    return r, o, (not o) and r == 0 and num != 0


def ref_requantize(v: int, F1: int, signed, W, F2, rmode, omode):
    n, fl = _round(v, F2 - F1, rmode)
    r, o = _overflow(n, fl, signed, W, omode)
    return r, o, (not o) and r == 0 and v != 0


def ref_float(v: int, F: int) -> float:
    """The correctly rounded float64 of ``v * 2**-F`` (+-inf past the range)."""
    try:
        return float(Fraction(v) / Fraction(2) ** F)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


# -- inputs ------------------------------------------------------------------------------------
def _ld(m, e) -> float:
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.inf


def adversarial(signed: bool, W: int, F: int, rng: random.Random, nrand: int = 12) -> list:
    top = W - 1 - F if signed else W - F  # the range is [-2**top, 2**top) or [0, 2**top)
    vals = [0.0, -0.0, 5e-324, -5e-324, 2.0**-1022, -(2.0**-1022), 1e300, -1e300,
            1.7976931348623157e308, -1.7976931348623157e308, 1.0, -1.0]
    for k in (0, 1, 2, 3, 2**20 + 1, 2**52 - 1):  # ties (k + 1/2) * 2**-F and one ulp off
        t = _ld(2 * k + 1, -F - 1)
        for v in (t, math.nextafter(t, math.inf), math.nextafter(t, 0.0)):
            vals += [v, -v]
    for e in range(top - 2, top + 2):  # around the range limits
        b = _ld(1.0, e)
        for v in (b, math.nextafter(b, math.inf), math.nextafter(b, 0.0),
                  b - _ld(1.0, -F - 1), b + _ld(1.0, -F - 1)):
            vals += [v, -v]
    for e in (-F - 1, -F, -F - 54, -F + 52, -F + 53, 63 - F, 64 - F, 126 - F, 127 - F):
        for v in (_ld(1.0, e), _ld(3.0, e - 1), _ld(2**53 - 1, e - 52)):
            vals += [v, -v]
    for _ in range(nrand):
        vals.append(rng.choice((1, -1)) * _ld(rng.randrange(1, 2**53),
                                             rng.randrange(-F - 70, top + 8) - 52))
    return [v for v in vals if math.isfinite(v)]


def _fast_subset(xs: list, F: int, satlike: bool) -> list:
    """Values the mode-specialised kernel takes itself: a normal scaled value, below 2**126
    unless saturating (so that an array of only these stays in that kernel)."""
    out = []
    for x in xs:
        e = math.frexp(x)[1] + F
        if x == 0 or (-1000 < e < 126) or (satlike and e >= 126):
            out.append(x)
    return out


def _modes(signed: bool):
    return [(r, o) for r in ROUNDINGS for o in OVERFLOWS if signed or o != "wrap_sm"]


def _bits(a) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def _check(xs, signed, W, F, rmode, omode, expected, *, lazy=True):
    with fx.count_quantization() as counts:
        a = fi(np.array(xs, dtype=np.float64), signed, W, F, rounding=rmode, overflow=omode)
    if lazy:
        assert type(a._lz) is WideLimbs and a._i is None
    where = f"s={signed} W={W} F={F} {rmode}/{omode}"
    exp_ints = [expected[x][0] for x in xs]
    # .data before .int: read from the limbs
    assert _bits(a.data) == _bits([ref_float(v, F) for v in exp_ints]), where
    got = [int(v) for v in a.int]
    if got != exp_ints:
        bad = [(x, g, e) for x, g, e in zip(xs, got, exp_ints, strict=True) if g != e]
        pytest.fail(f"{where}: {len(bad)} wrong, first (x, got, expected) {bad[0]}")
    n_ovf = sum(expected[x][1] for x in xs)
    n_unf = sum(expected[x][2] for x in xs)
    assert (counts.overflows, counts.underflows) == (n_ovf, n_unf), where


# -- tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("F", FRACTIONS)
@pytest.mark.parametrize("W", WIDTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_quantize_matches_independent_reference(signed, W, F):
    rng = random.Random(f"{signed} {W} {F}")
    xs = adversarial(signed, W, F, rng)
    for rmode, omode in _modes(signed):
        expected = {x: ref_quantize(x, signed, W, F, rmode, omode) for x in xs}
        _check(xs, signed, W, F, rmode, omode, expected)  # the general kernel
        satlike = omode in ("saturate", "sat_zero", "sat_sym")
        fast = _fast_subset(xs, F, satlike)
        _check(fast, signed, W, F, rmode, omode, expected)  # the mode-specialised kernel
        for x in rng.sample(xs, 3):  # one value with a zero: each kernel alone
            _check([x, 0.0], signed, W, F, rmode, omode, expected)


@pytest.mark.parametrize("F", [-2000, -961, -896, -895, 895, 960, 961, 1022, 1023, 1075, 1100])
@pytest.mark.parametrize("signed", [True, False])
def test_fraction_lengths_where_kernels_switch(signed, F):
    # |F| > 960: the general kernel only; F outside -895..1022: .data leaves the normal range
    rng = random.Random(F)
    for W in (65, 127, 128):
        xs = adversarial(signed, W, F, rng, nrand=4)
        for rmode, omode in rng.sample(_modes(signed), 12):
            expected = {x: ref_quantize(x, signed, W, F, rmode, omode) for x in xs}
            _check(xs, signed, W, F, rmode, omode, expected)


def test_single_elements_and_scalars():
    rng = random.Random(1)
    for signed in (True, False):
        for W in (65, 100, 128):
            for F in (-70, 0, 64, 1000):
                xs = adversarial(signed, W, F, rng, nrand=2)
                for rmode, omode in rng.sample(_modes(signed), 10):
                    for x in rng.sample(xs, 5):
                        r, o, u = ref_quantize(x, signed, W, F, rmode, omode)
                        with fx.count_quantization() as counts:
                            a = fi(np.array([x]), signed, W, F, rounding=rmode, overflow=omode)
                            b = fi(x, signed, W, F, rounding=rmode, overflow=omode)
                        assert int(a.int[0]) == int(b.int) == r
                        assert _bits(a.data) == _bits([ref_float(r, F)])
                        assert (counts.overflows, counts.underflows) == (2 * o, 2 * u)


@pytest.mark.parametrize("nonfinite", ["raise", "matlab"])
def test_nonfinite_in_wide_arrays(nonfinite):
    rng = random.Random(2)
    for signed in (True, False):
        for W, F in ((65, 0), (100, -70), (128, 64), (128, 1000)):
            base = adversarial(signed, W, F, rng, nrand=2)[:12]
            for rmode, omode in _modes(signed):
                for extra in ([math.nan], [math.inf], [-math.inf], [-math.inf, math.nan]):
                    xs = base + extra
                    try:
                        expected = [ref_quantize(x, signed, W, F, rmode, omode, nonfinite)
                                    for x in xs]
                    except ValueError:
                        with pytest.raises(ValueError):
                            fi(np.array(xs), signed, W, F, rounding=rmode, overflow=omode,
                               nonfinite=nonfinite)
                        continue
                    with fx.count_quantization() as counts:
                        a = fi(np.array(xs), signed, W, F, rounding=rmode, overflow=omode,
                               nonfinite=nonfinite)
                    assert [int(v) for v in a.int] == [e[0] for e in expected]
                    assert counts.overflows == sum(e[1] for e in expected)
                    assert counts.underflows == sum(e[2] for e in expected)


def test_casts_from_lazy_limbs():
    rng = random.Random(3)
    for _ in range(1500):
        signed = rng.random() < 0.5
        W = rng.choice(WIDTHS)
        F = rng.choice(FRACTIONS)
        r0, o0 = rng.choice((("nearest", "saturate"), ("floor", "wrap"), ("convergent", "sat_sym")))
        xs = adversarial(signed, W, F, rng, nrand=3)
        src = [ref_quantize(x, signed, W, F, r0, o0)[0] for x in xs]
        s2 = rng.random() < 0.5
        W2 = rng.choice((1, 8, 13, 32, 53, 63, 64, 65, 100, 128, 129, 130))
        F2 = F + rng.choice((-200, -128, -65, -64, -63, -1, 0, 1, 63, 64, 65, 127, 128, 129))
        rmode = rng.choice(ROUNDINGS)
        omode = rng.choice(OVERFLOWS if s2 else OVERFLOWS[:4])
        a = fi(np.array(xs), signed, W, F, rounding=r0, overflow=o0)
        with fx.count_quantization() as counts:
            b = a.cast(numerictype(s2, W2, F2), rmode, omode)
        expected = [ref_requantize(v, F, s2, W2, F2, rmode, omode) for v in src]
        where = f"{signed} {W} {F} {r0}/{o0} -> {s2} {W2} {F2} {rmode}/{omode}"
        assert [int(v) for v in b.int] == [e[0] for e in expected], where
        assert counts.overflows == sum(e[1] for e in expected), where
        assert counts.underflows == sum(e[2] for e in expected), where
        if W2 <= 64 and (signed or W < 128):  # read from the limbs: the source stays lazy
            assert a._i is None
        assert [int(v) for v in a.int] == src


@pytest.mark.parametrize("signed, W, F, rmode, omode", [
    (True, 128, 64, "convergent", "wrap"),
    (False, 100, -20, "round", "saturate"),
    (True, 65, 127, "half_zero", "wrap_sm"),
])
def test_large_array_with_few_slow_values(signed, W, F, rmode, omode):
    rng = np.random.default_rng(4)
    N = 100_000
    top = W - 1 - F if signed else W - F
    m = rng.integers(-(2**53) + 1, 2**53, N).astype(np.float64)
    xs = np.ldexp(m, rng.integers(-F - 60, top + 2, N) - 52)
    xs[: N // 10] = np.ldexp(2.0 * rng.integers(-(2**40), 2**40, N // 10) + 1, -F - 1)  # ties
    pool = adversarial(signed, W, F, random.Random(4))
    xs[rng.choice(N, 40, replace=False)] = rng.choice(pool, 40)  # flags the whole array
    xs = [float(v) for v in xs[np.isfinite(xs)]]
    expected = {x: ref_quantize(x, signed, W, F, rmode, omode) for x in set(xs)}
    _check(xs, signed, W, F, rmode, omode, expected)


def test_128_bit_extremes():
    two127 = 2.0**127
    below = math.nextafter(two127, 0.0)
    xs = [two127, -two127, below, -below, 2 * two127, math.nextafter(2 * two127, 0.0),
          -2 * two127, 0.5, -0.5]
    cases = {
        (True, "saturate"): [2**127 - 1, -(2**127), 2**127 - 2**74, -(2**127) + 2**74,
                             2**127 - 1, 2**127 - 1, -(2**127), 1, 0],
        (True, "sat_sym"): [2**127 - 1, -(2**127) + 1, 2**127 - 2**74, -(2**127) + 2**74,
                            2**127 - 1, 2**127 - 1, -(2**127) + 1, 1, 0],
        (True, "wrap"): [-(2**127), -(2**127), 2**127 - 2**74, -(2**127) + 2**74, 0,
                         -(2**75), 0, 1, 0],
        (False, "saturate"): [2**127, 0, 2**127 - 2**74, 0, 2**128 - 1, 2**128 - 2**75, 0,
                              1, 0],
        (False, "wrap"): [2**127, 2**127, 2**127 - 2**74, 2**127 + 2**74, 0,
                          2**128 - 2**75, 0, 1, 0],
    }
    for (signed, omode), ints in cases.items():
        a = fi(np.array(xs), signed, 128, 0, overflow=omode)  # nearest: -0.5 -> 0
        assert [int(v) for v in a.int] == ints
        assert [ref_quantize(x, signed, 128, 0, "nearest", omode)[0] for x in xs] == ints
        b = fi(np.array(xs), signed, 128, 0, overflow=omode)
        assert _bits(b.data) == _bits([float(v) for v in ints])


def _lazy_ops(built, T, F) -> dict:
    """Operations to run on a lazy fi and on the same values built from stored integers."""
    return {
        "pickle": lambda a: pickle.loads(pickle.dumps(a)),
        "copy": lambda a: copy.copy(a),
        "deepcopy": lambda a: copy.deepcopy(a),
        "slice": lambda a: a[3:17],
        "scalar": lambda a: a[5],
        "fancy": lambda a: a[np.array([0, 4, 2, 2])],
        "add": lambda a: a + a,
        "add_built": lambda a: built + a,
        "mul": lambda a: a * a,
        "mul_built": lambda a: a * built,
        "neg": lambda a: -a,
        "fi": lambda a: fi(a, 1, 140, F + 3),
        "from_int": lambda a: fi.from_int(a.int, T),
        "cast_wide": lambda a: a.cast(numerictype(True, 130, F - 1), "nearest", "wrap"),
        "concat": lambda a: np.concatenate([a, a]),
    }


def test_lazy_fi_behaves_as_built():
    rng = random.Random(5)
    for signed, W, F in ((True, 65, 0), (False, 96, 63), (True, 128, -70), (False, 128, 200)):
        xs = adversarial(signed, W, F, rng, nrand=4)
        T = numerictype(signed, W, F)
        for rmode, omode in (("nearest", "saturate"), ("floor", "wrap")):
            def lazy(xs=xs, T=T, rmode=rmode, omode=omode):
                a = fi(np.array(xs), T, rounding=rmode, overflow=omode)
                assert a._i is None
                return a
            ints = [ref_quantize(x, signed, W, F, rmode, omode)[0] for x in xs]
            built = fi.from_int(np.array(ints, dtype=object), T, fimath=lazy().local_fimath)
            ops = _lazy_ops(built, T, F)
            for name, op in ops.items():
                r1, r2 = op(lazy()), op(built)
                assert r1.numerictype == r2.numerictype, name
                assert np.array_equal(np.asarray(r1.int, dtype=object),
                                      np.asarray(r2.int, dtype=object)), name
            a = lazy()
            assert (a.shape, a.size, a.ndim, len(a)) == (built.shape, built.size, built.ndim,
                                                          len(built))
            assert a._i is None  # shape reads use the limbs
            assert repr(lazy()) == repr(built) and list(lazy().bin) == list(built.bin)
            a, b = lazy(), fi.from_int(np.array(ints, dtype=object), T,
                                       fimath=lazy().local_fimath)
            a[2] = xs[7]
            b[2] = xs[7]
            a[4:6] = built[0:2]
            b[4:6] = built[0:2]
            a[0] = 1.5
            b[0] = 1.5
            assert [int(v) for v in a.int] == [int(v) for v in b.int]
            assert int(a.int[0]) == ref_quantize(1.5, signed, W, F, rmode, omode)[0]


def test_data_keeps_bits_below_the_top_64():
    # an unsigned wrap gives a 100-bit stored integer 1...1 0 1 0...0 1 (times 2**28): its
    # float is a tie at 53 bits but for the last bit, 64 bits below the top, which rounds it up
    v = sum(1 << b for b in range(48, 100)) | (1 << 46) | 1
    m = 2**100 - v  # 48 significant bits: a float
    xs = [-float(m) * 2.0**28, -float(m) * 2.0**27, 0.0]
    for F in (0, -3, 30):
        a = fi(np.array(xs) * 2.0**-F, 0, 128, F, overflow="wrap")
        ints = [(-m * 2**28) % 2**128, (-m * 2**27) % 2**128, 0]
        assert _bits(a.data) == _bits([ref_float(n, F) for n in ints])
        assert ref_float(ints[0], F) != ref_float(ints[0] >> 64 << 64, F)  # the low bit counts
        assert [int(n) for n in a.int] == ints
