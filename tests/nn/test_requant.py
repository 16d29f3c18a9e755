"""The runtimes' requantizers against slow references written here with Python ints and
Fractions: TFLite's QuantizeMultiplier, single rounding, gemmlowp double rounding
(SaturatingRoundingDoublingHighMul + RoundingDivideByPOT), and the float32 requantizers of
ONNX Runtime and PyTorch (float32 rounding emulated exactly with Fractions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim.nn as nn

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


# -- references ------------------------------------------------------------------------------------
def round_half_away(v: Fraction) -> int:
    f = math.floor(abs(v) + Fraction(1, 2))
    return f if v >= 0 else -f


def round_half_up(v: Fraction) -> int:
    return math.floor(v + Fraction(1, 2))


def round_half_even(v: Fraction) -> int:
    f = math.floor(v)
    d = v - f
    if d > Fraction(1, 2) or (d == Fraction(1, 2) and f % 2 == 1):
        return f + 1
    return f


def to_f32(v: Fraction) -> Fraction:
    """Round an exact value to the nearest float32 (ties to even), subnormals included."""
    if v == 0:
        return Fraction(0)
    s = -1 if v < 0 else 1
    a = abs(v)
    e = math.floor(math.log2(a.numerator) - math.log2(a.denominator))
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    assert e <= 127
    e = max(e, -126)  # subnormals share the smallest normal exponent's ulp
    ulp = Fraction(2) ** (e - 23)
    return s * round_half_even(a / ulp) * ulp


def quantize_multiplier_ref(M: float):
    if M == 0:
        return 0, 0
    m = Fraction(M)
    e = 0
    while m >= 1:
        m /= 2
        e += 1
    while m < Fraction(1, 2):
        m *= 2
        e -= 1
    q = round_half_away(m * 2 ** 31)
    if q == 1 << 31:
        q //= 2
        e += 1
    if e < -31:
        return 0, 0
    if e > 30:
        return (1 << 31) - 1, 30
    return q, e


def srdhm_ref(a: int, b: int) -> int:
    """The high half of 2ab, rounded half up (toward +inf, as ARM VQRDMULH); saturates
    INT32_MIN^2. (gemmlowp's negative nudge 1 - 2^30 with C's truncating division makes
    negative ties round toward zero, i.e. also up.)"""
    if a == b == I32_MIN:
        return I32_MAX
    return round_half_up(Fraction(a * b, 1 << 31))


def rdbpot_ref(x: int, e: int) -> int:
    return round_half_away(Fraction(x, 1 << e))


def mbqm_double_ref(x: int, q: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    # x 2^left in int32: C++ leaves its overflow undefined, fixsim documents a wrap (the
    # machines' shift); regression: a CI run's examples reached 524288 * 2^12 = 2^31
    v = ((x * (1 << left) + (1 << 31)) % (1 << 32)) - (1 << 31)
    return rdbpot_ref(srdhm_ref(v, q), right)


def mbqm_single_ref(x: int, q: int, shift: int) -> int:
    return round_half_up(Fraction(x * q) * Fraction(2) ** (shift - 31))


def clamp(v, lo, hi):
    return min(max(v, lo), hi)


# -- QuantizeMultiplier ----------------------------------------------------------------------------
def test_quantize_multiplier_edges():
    cases = [0.0, 0.3, 0.5, 1.0, 1e-4, 2.0 ** -40, 3.0e9, 1 - 2.0 ** -40, 0.75]
    q, s = nn.quantize_multiplier(cases)
    for M, qi, si in zip(cases, q.tolist(), s.tolist(), strict=True):
        assert (qi, si) == quantize_multiplier_ref(M), M
    assert quantize_multiplier_ref(1 - 2.0 ** -40) == (1 << 30, 1)  # rounds up to 2^31
    with pytest.raises(ValueError, match="M must be finite and >= 0"):
        nn.quantize_multiplier(-0.5)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_random(M):
    q, s = nn.quantize_multiplier(M)
    assert (int(q[0]), int(s[0])) == quantize_multiplier_ref(M)


# -- MultiplyByQuantizedMultiplier -------------------------------------------------------------------
QS = [1 << 30, (1 << 30) + 1, 1288490189, 1518500250, I32_MAX]


@pytest.mark.parametrize("rounding", ["single", "double"])
def test_mbqm_exhaustive_small(rounding):
    xs = np.arange(-700, 701, dtype=np.int64)
    ref_fn = mbqm_single_ref if rounding == "single" else mbqm_double_ref
    for q in QS:
        for shift in range(-14, 3):
            got = nn.multiply_by_quantized_multiplier(xs, q, shift, rounding=rounding)
            exp = [ref_fn(int(x), q, shift) for x in xs]
            assert got.tolist() == exp, (q, shift)


@given(st.integers(1 << 30, I32_MAX), st.integers(-31, 0),
       st.lists(st.integers(I32_MIN, I32_MAX), min_size=1, max_size=20))
def test_mbqm_random(q, shift, xs):
    x = np.array(xs, dtype=np.int64)
    got_s = nn.multiply_by_quantized_multiplier(x, q, shift, rounding="single")
    got_d = nn.multiply_by_quantized_multiplier(x, q, shift, rounding="double")
    assert got_s.tolist() == [mbqm_single_ref(v, q, shift) for v in xs]
    assert got_d.tolist() == [mbqm_double_ref(v, q, shift) for v in xs]


@given(st.integers(1 << 30, I32_MAX), st.integers(1, 8), st.data())
def test_mbqm_left_shift(q, shift, data):
    """Multipliers >= 1 (left shift): defined while x 2^shift fits int32."""
    lim = I32_MAX >> shift
    xs = data.draw(st.lists(st.integers(-lim, lim), min_size=1, max_size=10))
    x = np.array(xs, dtype=np.int64)
    assert nn.multiply_by_quantized_multiplier(x, q, shift, rounding="double").tolist() == \
        [mbqm_double_ref(v, q, shift) for v in xs]
    if shift <= 30:
        assert nn.multiply_by_quantized_multiplier(x, q, shift, rounding="single").tolist() \
            == [mbqm_single_ref(v, q, shift) for v in xs]


def test_rounding_direction_of_ties():
    # ties: single rounding is half up, double rounding half away from zero
    # x = -3, M = 0.5 (q = 2^30, shift 0): exact -1.5
    x = np.array([-3, 3], dtype=np.int64)
    assert nn.multiply_by_quantized_multiplier(x, 1 << 30, 0, rounding="single").tolist() \
        == [-1, 2]
    assert nn.multiply_by_quantized_multiplier(x, 1 << 30, 0, rounding="double").tolist() \
        == [-1, 2]
    # the tie in RoundingDivideByPOT is away from zero: -3 * 2^30 / 2^31 = -1.5 exactly is a
    # SRDHM tie (up: -1); x = -6, M = 0.25 (q = 2^30, shift -1): SRDHM gives -3 exactly,
    # then -3 / 2 = -1.5 rounds away to -2, where single rounding gives -1
    x = np.array([-6, 6], dtype=np.int64)
    assert nn.multiply_by_quantized_multiplier(x, 1 << 30, -1, rounding="double").tolist() \
        == [-2, 2]
    assert nn.multiply_by_quantized_multiplier(x, 1 << 30, -1, rounding="single").tolist() \
        == [-1, 2]


# -- layer requantization by runtime -------------------------------------------------------------
scales = st.floats(min_value=1e-4, max_value=0.5, allow_nan=False)


@given(scales, st.lists(scales, min_size=1, max_size=4), scales,
       st.integers(-128, 127), st.data())
def test_requantize_runtimes_per_channel(sx, sw, sy, zp, data):
    C = len(sw)
    rows = data.draw(st.integers(1, 5))
    acc = np.array(data.draw(st.lists(st.integers(-(1 << 20), 1 << 20), min_size=rows * C,
                                      max_size=rows * C)), dtype=np.int64).reshape(rows, C)
    bias = np.array(data.draw(st.lists(st.integers(-5000, 5000), min_size=C, max_size=C)),
                    dtype=np.int64)
    kw = dict(zero_point=zp, dtype="int8", bias=bias, input_scale=sx, weight_scale=sw,
              output_scale=sy)
    f32 = [Fraction(float(np.float32(v))) for v in (sx, *sw, sy)]
    fx_, fw, fy = f32[0], f32[1:-1], f32[-1]
    # onnxruntime, and TFLite's XNNPACK delegate: multiplier f32(f32(sx sw) / sy),
    # f32(acc + b) * mult rounded to f32, rne
    for runtime in ("onnxruntime", "tflite-xnnpack"):
        got = nn.requantize(acc, runtime=runtime, **kw)
        for r in range(rows):
            for c in range(C):
                mult = to_f32(to_f32(fx_ * fw[c]) / fy)
                v = to_f32(to_f32(Fraction(int(acc[r, c] + bias[c]))) * mult)
                assert got[r, c] == clamp(round_half_even(v) + zp, -128, 127)
    # TFLite: M = double(sx) double(sw) / double(sy), rounded to double, then QuantizeMultiplier
    for runtime, ref in (("tflite", mbqm_single_ref), ("tflite-double-rounding",
                                                       mbqm_double_ref)):
        got = nn.requantize(acc, runtime=runtime, **kw)
        for c in range(C):
            M = float(np.float64(float(fx_)) * np.float64(float(fw[c])) / np.float64(float(fy)))
            q, s = quantize_multiplier_ref(M)
            for r in range(rows):
                assert got[r, c] == clamp(ref(int(acc[r, c] + bias[c]), q, s) + zp, -128, 127)
    # pytorch qnnpack: int32 bias rint(b / f32(sx sw)), then the float32 requantization
    fbias = [Fraction(float(np.float32(b))) for b in bias]
    bqs = [round_half_even(to_f32(fbias[c] / to_f32(fx_ * fw[c]))) for c in range(C)]
    if any(not -(1 << 31) <= int(a) + bq < 1 << 31 for c, bq in enumerate(bqs) for a in acc[:, c]):
        # a real bias over a tiny s_x s_w leaves int32: an error, never a silent wrap
        with pytest.raises(ValueError, match="int32 range"):
            nn.requantize(acc, runtime="pytorch-qnnpack", **kw)
        return
    got = nn.requantize(acc, runtime="pytorch-qnnpack", **kw)
    for c in range(C):
        prod = to_f32(fx_ * fw[c])
        mult = to_f32(prod / fy)
        bq = bqs[c]
        for r in range(rows):
            v = to_f32(to_f32(Fraction(int(acc[r, c]) + bq)) * mult)
            assert got[r, c] == clamp(round_half_even(v) + zp, -128, 127)
    # pytorch fbgemm: float bias (real units) divided by f32(sx sw), added in float32
    got = nn.requantize(acc, runtime="pytorch-fbgemm", **kw)
    for c in range(C):
        prod = to_f32(fx_ * fw[c])
        mult = to_f32(prod / fy)
        fb = to_f32(fbias[c] / prod)
        for r in range(rows):
            v = to_f32(to_f32(to_f32(Fraction(int(acc[r, c]))) + fb) * mult)
            assert got[r, c] == clamp(round_half_even(v) + zp, -128, 127)


def test_requantize_channel_axis_and_errors():
    acc = np.arange(-30, 30, dtype=np.int64).reshape(2, 3, 10) * 1000
    got = nn.requantize(acc, runtime="tflite", input_scale=0.02, weight_scale=[0.01, 0.02,
                                                                                0.04],
                        output_scale=0.5, axis=1, zero_point=-3)
    for c in range(3):
        q, s = quantize_multiplier_ref(float(np.float32(0.02)) * float(np.float32(
            [0.01, 0.02, 0.04][c])) / float(np.float32(0.5)))
        exp = [clamp(mbqm_single_ref(int(v), q, s) - 3, -128, 127) for v in acc[:, c].ravel()]
        assert got[:, c].ravel().tolist() == exp
    with pytest.raises(ValueError, match="runtime='gemmlowp'"):
        nn.requantize(acc, runtime="gemmlowp", scale=0.1)
    with pytest.raises(ValueError, match="weight_scale has 2 values but the channel axis has 3"):
        nn.requantize(acc, runtime="onnxruntime", input_scale=1, weight_scale=[1, 2],
                      output_scale=1, axis=1)
    with pytest.raises(ValueError, match="int32 range"):
        nn.requantize(np.array([1 << 40]), runtime="onnxruntime", scale=0.1)
    with pytest.raises(TypeError, match="integer array"):
        nn.requantize(np.array([0.5]), runtime="onnxruntime", scale=0.1)
    with pytest.raises(ValueError, match="dtype 'int4'"):
        nn.requantize(acc, runtime="onnxruntime", scale=0.1, dtype="int4")


@given(st.lists(st.floats(-300, 300, allow_nan=False, width=32), min_size=1, max_size=30),
       st.floats(1e-3, 4.0, allow_nan=False), st.integers(0, 255))
def test_quantize_linear_runtimes(xs, s, zp):
    x = np.array(xs, dtype=np.float32)
    fs = Fraction(float(np.float32(s)))
    got_ort = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="onnxruntime")
    got_tfl = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="tflite")
    got_pt = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="pytorch-fbgemm")
    got_xnn = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="tflite-xnnpack")
    inv = to_f32(1 / fs)
    for i, v in enumerate(xs):
        # XNNPACK: rne(f32(x * f32(1/s))) + zp, saturated
        px = to_f32(Fraction(v) * inv) if v != 0 else Fraction(0)
        assert got_xnn[i] == clamp(round_half_even(px) + zp, 0, 255)
        d = to_f32(Fraction(v) / fs) if v != 0 else Fraction(0)
        assert got_ort[i] == clamp(round_half_even(d) + zp, 0, 255)
        assert got_tfl[i] == clamp(round_half_away(d) + zp, 0, 255)
        # PyTorch (fbgemm's AVX2 Quantize): fma(x, f32(1/s), zp), one float32 rounding
        e = zp + Fraction(v) * inv
        t = to_f32(e) if e != 0 else Fraction(0)
        assert got_pt[i] == clamp(round_half_even(t), 0, 255)


@given(st.floats(1e-3, 4.0, allow_nan=False), st.integers(0, 255),
       st.lists(st.integers(-300, 300), min_size=1, max_size=20))
def test_quantize_linear_pytorch_near_ties(s, zp, ks):
    """Values next to the ties ``zp + x/s = k + 1/2``, where fbgemm's fused multiply-add and a
    separately rounded product would differ: the exact reference rounds ``zp + x f32(1/s)``
    once to float32, then half to even."""
    fs = Fraction(float(np.float32(s)))
    inv = to_f32(1 / fs)
    x = np.array([float(np.float32(float((k + Fraction(1, 2) - zp) * fs))) for k in ks],
                 dtype=np.float32)
    got = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="pytorch-fbgemm")
    for i, v in enumerate(x.tolist()):
        e = zp + Fraction(v) * inv
        t = to_f32(e) if e != 0 else Fraction(0)
        assert got[i] == clamp(round_half_even(t), 0, 255)


def test_regression_double_rounding_left_shift_wraps_int32():
    """A CI run's examples (sx = sw = 0.5, sy = 1e-4: M = 2500, shift 12) reached
    acc + bias = 2^19, so ``x 2^left`` = 2^31 leaves int32. fixsim documents the wrap (C++
    leaves it undefined; the machines' shifts wrap), the test reference did not model it."""
    kw = dict(zero_point=0, dtype="int8", bias=np.array([5000, 0]), input_scale=0.5,
              weight_scale=[0.5, 0.5], output_scale=0.0001)
    acc = np.array([[519288, 0]], dtype=np.int64)
    got = nn.requantize(acc, runtime="tflite-double-rounding", **kw)
    q, s = quantize_multiplier_ref(float(np.float64(0.5) * np.float64(0.5) / np.float64(1e-4)))
    assert s == 12
    assert got[0, 0] == clamp(mbqm_double_ref(524288, q, s), -128, 127) == -128  # wrapped
    assert got[0, 1] == 0
