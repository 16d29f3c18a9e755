"""Integer requantization kernels of the int8 runtimes (TFLite/gemmlowp, ONNX Runtime, PyTorch).

Plain arrays only. An accumulator tensor is passed as a 2-D int64 array ``acc`` of shape
``(rows, C)`` whose last axis is the *channel* axis; the per-channel parameters are arrays of
length ``C`` (a per-tensor parameter is repeated by the Python wrapper). Values are int64 but
the integer kernels model the runtimes' int32 arithmetic exactly (the callers check that the
accumulators fit int32 where the runtime needs it).

Rounding helpers:

* ``srdhm``: gemmlowp's SaturatingRoundingDoublingHighMul (ARM VQRDMULH): the high 32 bits of
  ``2 a b``, rounded half *up* (gemmlowp's negative nudge ``1 - 2^30`` with C's truncating
  division sends negative ties toward zero), saturating the one overflow case.
* ``rdbpot``: gemmlowp's RoundingDivideByPOT: ``x / 2^e`` rounded half away from zero.
* ``mbqm_single``: TFLite's single-rounding MultiplyByQuantizedMultiplier,
  ``(x q + 2^(t-1)) >> t`` with ``t = 31 - shift`` (round half up).
* ``rne_f32``: round half to even of a float32 value (held exactly in a float64).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["srdhm", "rdbpot", "mbqm_double", "mbqm_single", "requant_tflite", "gemm_i64",
           "requant_float32", "requant_fbgemm", "quantize_float32", "softmax_tflite"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


@nb.njit(cache=True)
def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul of two int32 values (as int64)."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b  # |ab| <= 2^62: fits int64
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    s = ab + nudge
    # C++ integer division truncates toward zero
    q = s // (1 << 31)
    if q < 0 and q * (1 << 31) != s:
        q += 1
    return q


@nb.njit(cache=True)
def rdbpot(x, e):
    """RoundingDivideByPOT: ``x / 2^e`` (0 <= e <= 31) rounded half away from zero."""
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@nb.njit(cache=True)
def _wrap32(v):
    """Two's-complement int32 wrap of an int64 value (C++ int32 overflow as the hardware does)."""
    v = v & 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


@nb.njit(cache=True)
def mbqm_double(x, q, shift):
    """gemmlowp double rounding: ``RDBPOT(SRDHM(x * 2^left, q), right)``."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rdbpot(srdhm(_wrap32(x << left), q), right)


@nb.njit(cache=True)
def mbqm_single(x, q, shift):
    """TFLite single rounding: ``(x q + 2^(t-1)) >> t``, ``t = 31 - shift`` (half up)."""
    t = 31 - shift
    return (x * q + (1 << (t - 1))) >> t


@nb.njit(cache=True)
def requant_tflite(acc, bias, q, shift, zp, qmin, qmax, double_rounding, out):
    """``clamp(MBQM(acc[a, c, b] + bias[c], q[c], shift[c]) + zp, qmin, qmax)``.

    ``acc`` is (A, C, B) with the channel axis in the middle (a free view of any contiguous
    tensor). Returns the number of ``acc + bias`` values outside int32 (the caller raises)."""
    A, C, B = acc.shape
    bad = 0
    for a in range(A):
        for c in range(C):
            qc = q[c]
            sc = shift[c]
            bc = bias[c]
            for b in range(B):
                x = acc[a, c, b] + bc
                if x < INT32_MIN or x > INT32_MAX:
                    bad += 1
                if double_rounding:
                    v = mbqm_double(x, qc, sc)
                else:
                    v = mbqm_single(x, qc, sc)
                v += zp
                if v < qmin:
                    v = qmin
                elif v > qmax:
                    v = qmax
                out[a, c, b] = v
    return bad


@nb.njit(cache=True)
def _fma_f32(p, a):
    """float32(p + a) rounded once (a float32 fused multiply-add ``x * y + a`` with the
    product ``p = x * y`` exact in float64): the float64 sum and its exact error (TwoSum)
    decide a float32 tie the float64 sum may have landed on. Returns the float32 as float64."""
    sm = p + a
    bb = sm - a
    err = (a - (sm - bb)) + (p - bb)
    f = np.float64(np.float32(sm))
    if err == 0.0 or f == sm:
        return f
    # the two float32 neighbours around sm; a tie at their midpoint goes toward the error
    if f > sm:
        lo = np.float64(np.nextafter(np.float32(f), np.float32(-np.inf)))
        hi = f
    else:
        lo = f
        hi = np.float64(np.nextafter(np.float32(f), np.float32(np.inf)))
    if sm == lo + (hi - lo) / 2:
        return hi if err > 0 else lo
    return f


@nb.njit(cache=True)
def _rne(v):
    """Round half to even of a float64 (exact: decides on the value itself)."""
    f = np.floor(v)
    d = v - f  # exact for |v| < 2^52
    if d > 0.5:
        return f + 1.0
    if d < 0.5:
        return f
    return f + 1.0 if (f % 2.0) != 0.0 else f


@nb.njit(cache=True)
def _clamp_add(r, zp, qmin, qmax):
    lo = float(qmin - zp)
    hi = float(qmax - zp)
    if r < lo:
        r = lo
    elif r > hi:
        r = hi
    return np.int64(r) + zp


@nb.njit(cache=True)
def requant_float32(acc, bias, scale, zp, qmin, qmax, out):
    """ONNX Runtime (MLAS) / PyTorch qnnpack: ``clamp(rne(f32(acc + bias[c]) * scale[c]) + zp)``
    over ``acc`` (A, C, B), channel axis in the middle.

    ``scale`` is float32; the int-to-float conversion and the product are float32 operations
    rounded to nearest even, as the CPU's CVTDQ2PS/MULPS do. Returns the number of
    ``acc + bias`` values outside int32."""
    A, C, B = acc.shape
    bad = 0
    for a in range(A):
        for c in range(C):
            sc = scale[c]
            bc = bias[c]
            for b in range(B):
                x = acc[a, c, b] + bc
                if x < INT32_MIN or x > INT32_MAX:
                    bad += 1
                p = np.float32(x) * sc
                out[a, c, b] = _clamp_add(_rne(np.float64(p)), zp, qmin, qmax)
    return bad


@nb.njit(cache=True)
def requant_fbgemm(acc, bias, scale, zp, qmin, qmax, out):
    """PyTorch fbgemm (float bias): ``clamp(rne((f32(acc) + bias[c]) * scale[c]) + zp)``, all
    float32 (``bias`` is the float bias already divided by ``s_in * s_w[c]`` in float32);
    ``acc`` (A, C, B). Returns the number of ``acc`` values outside int32."""
    A, C, B = acc.shape
    bad = 0
    for a in range(A):
        for c in range(C):
            sc = scale[c]
            bc = bias[c]
            for b in range(B):
                x = acc[a, c, b]
                if x < INT32_MIN or x > INT32_MAX:
                    bad += 1
                s = np.float32(x) + bc
                p = s * sc
                out[a, c, b] = _clamp_add(_rne(np.float64(p)), zp, qmin, qmax)
    return bad


@nb.njit(cache=True)
def quantize_float32(x, scale, zp, qmin, qmax, mode, out):
    """Quantize float32 values ``x[r, c]`` with ``scale[c]`` (float32), ``zp[c]``.

    mode 0 (ONNX Runtime): ``rne(x / s) + zp``; mode 1 (TFLite): ``round_half_away(x / s) +
    zp``; mode 2 (PyTorch/fbgemm): ``rne(fma(x, 1/s, zp))`` (float32 reciprocal, zero point
    added to the exact product and rounded once to float32, as fbgemm's AVX2 Quantize's fused
    multiply-add does); mode 3 (XNNPACK): ``rne(x * (1/s)) + zp`` (float32 reciprocal).
    Each then saturates to ``[qmin, qmax]``; NaN gives ``zp`` (mode 0,
    1) as the runtimes' conversions do not define it (callers reject NaN first)."""
    rows, C = x.shape
    for r in range(rows):
        for c in range(C):
            s = scale[c]
            if mode == 2:
                inv = np.float32(1.0) / s
                v = _fma_f32(np.float64(x[r, c]) * np.float64(inv), np.float64(zp[c]))
                t = _rne(v)
                z = 0
            elif mode == 3:
                inv = np.float32(1.0) / s
                t = _rne(np.float64(np.float32(x[r, c] * inv)))
                z = zp[c]
            else:
                v = np.float32(x[r, c] / s)
                d = np.float64(v)
                if mode == 0:
                    t = _rne(d)
                else:
                    t = np.floor(np.abs(d) + 0.5)
                    if d < 0:
                        t = -t
                z = zp[c]
            lo = float(qmin - z)
            hi = float(qmax - z)
            if t < lo:
                t = lo
            elif t > hi:
                t = hi
            out[r, c] = np.int64(t) + z


@nb.njit(cache=True)
def gemm_i64(a, b, out):
    """``out = a @ b`` for int64 (M, K) and (K, N); row-major loops (i, k, j) so the inner loop
    over N vectorises. The caller guarantees ``K max|a| max|b| < 2**63``. (Called with
    float64 arrays it compiles a float64 version: the small-product path of double mode.)"""
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
        for p in range(k):
            aip = a[i, p]
            if aip != 0:
                for j in range(n):
                    out[i, j] += aip * b[p, j]


# -- TFLite's integer softmax (reference_ops::Softmax, gemmlowp fixed point) ----------------------
@nb.njit(cache=True)
def _sat_shl(x, e):
    """SaturatingRoundingMultiplyByPOT with a positive exponent: ``x 2^e`` saturated to int32."""
    v = x * (1 << e)
    if v > INT32_MAX:
        return INT32_MAX
    if v < INT32_MIN:
        return INT32_MIN
    return v


@nb.njit(cache=True)
def _exp_quarter(a):
    """gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl on a Q0.31 raw value:
    a Taylor expansion around -1/8 (constants exp(-1/8) and 1/3 in Q0.31)."""
    const_term = 1895147668
    one_third = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    t = rdbpot(_wrap32(srdhm(_wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return _wrap32(const_term + srdhm(const_term, _wrap32(x + t)))


@nb.njit(cache=True)
def _exp_negative(a):
    """gemmlowp exp_on_negative_values of a Q5.26 raw value (<= 0), as Q0.31: the value modulo
    1/4 through :func:`_exp_quarter`, then a barrel shifter multiplying by exp(-2^k) for each
    set bit of the remainder."""
    quarter = 1 << 24
    amq = _wrap32((a & (quarter - 1)) - quarter)
    res = _exp_quarter(_sat_shl(amq, 5))
    rem = _wrap32(amq - a)
    mults = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
    for k in range(7):
        if rem & (1 << (24 + k)):
            res = srdhm(res, mults[k])
    if a == 0:
        res = INT32_MAX
    return res


@nb.njit(cache=True)
def _one_over_one_plus_x(a):
    """gemmlowp one_over_one_plus_x_for_x_in_0_1 on a Q0.31 raw value: Newton-Raphson
    (3 steps) on half the denominator, in Q2.29; returns Q0.31."""
    s = a + INT32_MAX
    s = s + (1 if s >= 0 else -1)
    half = s // 2 if s >= 0 else -((-s) // 2)  # truncating division
    x = _wrap32(1515870810 + srdhm(half, -1010580540))
    for _ in range(3):
        hdx = srdhm(half, x)
        one_minus = _wrap32((1 << 29) - hdx)
        x = _wrap32(x + _sat_shl(srdhm(x, one_minus), 2))
    return _sat_shl(x, 1)


@nb.njit(cache=True)
def softmax_tflite(x, q, left_shift, diff_min, out_bits, qmin, qmax, out):
    """TFLite's integer softmax of each row of ``x`` (rows, C), int8/uint8 in and out.

    ``diff = x - max(row)``; rows entries with ``diff >= diff_min`` get
    ``exp(SRDHM(diff 2^left_shift, q))`` in Q5.26 -> Q0.31; the sum of the exponentials is
    accumulated in Q12.19; its reciprocal comes from ``one_over_one_plus_x`` on the sum
    normalised to [1, 2); each output is ``RDBPOT(SRDHM(recip, exp), bits_over_unit + 31 -
    out_bits) + qmin``, clamped (the output scale is 1/2^out_bits)."""
    rows, C = x.shape
    ex = np.empty(C, dtype=np.int64)
    for r in range(rows):
        mx = x[r, 0]
        for c in range(1, C):
            if x[r, c] > mx:
                mx = x[r, c]
        total = 0
        for c in range(C):
            d = x[r, c] - mx
            if d >= diff_min:
                e = _exp_negative(srdhm(_wrap32(d * (1 << left_shift)), q))
                ex[c] = e
                total = _wrap32(total + rdbpot(e, 12))
            else:
                ex[c] = -1
        # GetReciprocal: normalise the Q12.19 sum's leading one to bit 31
        headroom = 0
        while headroom < 32 and (total << headroom) & 0x80000000 == 0:
            headroom += 1
        bits_over_unit = 12 - headroom
        shifted = _wrap32(((total << headroom) & 0xFFFFFFFF) - (1 << 31))
        recip = _one_over_one_plus_x(shifted)
        for c in range(C):
            if ex[c] < 0:
                out[r, c] = qmin
                continue
            v = rdbpot(srdhm(recip, ex[c]), bits_over_unit + 31 - out_bits) + qmin
            out[r, c] = qmin if v < qmin else (qmax if v > qmax else v)
