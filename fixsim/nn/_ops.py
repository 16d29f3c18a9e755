"""Array kernels of the network operators (numpy), shared by every execution mode.

Convolutions and pools gather sliding windows (a strided view, no copy until the GEMM) and
reduce them; convolutions become one matrix product per group, so the float64 path runs on
BLAS. The integer modes call the same functions on integer-valued float64 arrays (exact while
every partial sum stays below 2**53, which the callers prove) or on int64 arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["windows", "conv", "max_pool", "avg_pool", "gemm_shape", "softmax", "conv_out_shape",
           "fma_f32", "qlinear_add", "qlinear_mul", "qlinear_concat", "qlinear_lookup",
           "mlas_logistic", "leaky_relu_f32", "tflite_add", "tflite_lut"]


def _pad(x: np.ndarray, pads: list[int], value) -> np.ndarray:
    nsp = x.ndim - 2
    if not any(pads):
        return x
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)]
    return np.pad(x, width, mode="constant", constant_values=value)


def windows(x: np.ndarray, kernel: list[int], strides: list[int], dilations: list[int],
            pads: list[int], value=0) -> np.ndarray:
    """Sliding windows of ``x`` (N, C, *spatial): shape (N, C, *out_spatial, *kernel)."""
    nsp = x.ndim - 2
    xp = _pad(x, pads, value)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    if any(xp.shape[2 + i] < eff[i] for i in range(nsp)):
        raise ValueError(f"windows: the (padded) input {xp.shape[2:]} is smaller than the "
                         f"kernel extent {eff}.")
    v = sliding_window_view(xp, eff, axis=tuple(range(2, 2 + nsp)))
    sl = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides) \
        + tuple(slice(None, None, d) for d in dilations)
    return v[sl]


def conv_out_shape(spatial, kernel, strides, dilations, pads) -> list[int]:
    """Output spatial size of a convolution or pool (floor mode)."""
    nsp = len(spatial)
    return [(spatial[i] + pads[i] + pads[i + nsp] - ((kernel[i] - 1) * dilations[i] + 1))
            // strides[i] + 1 for i in range(nsp)]


def conv(x: np.ndarray, w: np.ndarray, group: int, strides, dilations, pads,
         pad_value=0, matmul=None, transposed: bool = False) -> np.ndarray:
    """Convolution (cross-correlation, ONNX Conv) without bias: (N, M, *out_spatial).

    ``matmul(a, b)`` computes the per-group products (default ``a @ b``); integer callers
    pass an exact integer product. With ``transposed=True`` the product is formed as
    ``w_g (M/g, K) @ cols (K, N*P)``: the long axis (images x positions) is then the inner,
    contiguous one, which suits a compiled loop when there are few output channels."""
    N, C = x.shape[:2]
    M = w.shape[0]
    kernel = list(w.shape[2:])
    nsp = len(kernel)
    cg = C // group
    mg = M // group
    win = windows(x, kernel, strides, dilations, pads, pad_value)  # N, C, O..., K...
    out_sp = win.shape[2:2 + nsp]
    P = int(np.prod(out_sp))
    Kp = int(np.prod(kernel))
    mm = matmul if matmul is not None else np.matmul
    outs = []
    for g in range(group):
        wg = win[:, g * cg:(g + 1) * cg]  # N, cg, O..., K...
        wm = w[g * mg:(g + 1) * mg].reshape(mg, cg * Kp)
        if transposed:
            # -> cg, K..., N, O...  -> (cg*Kp, N*P)
            order = (1,) + tuple(range(2 + nsp, 2 + 2 * nsp)) + (0,) \
                + tuple(range(2, 2 + nsp))
            cols = np.ascontiguousarray(wg.transpose(order)).reshape(cg * Kp, N * P)
            outs.append(mm(np.ascontiguousarray(wm), cols).reshape(mg, N, P))
            continue
        # -> N, O..., cg, K...  -> (N*P, cg*Kp)
        order = (0,) + tuple(range(2, 2 + nsp)) + (1,) + tuple(range(2 + nsp, 2 + 2 * nsp))
        cols = np.ascontiguousarray(wg.transpose(order)).reshape(N * P, cg * Kp)
        outs.append(mm(cols, np.ascontiguousarray(wm.T)).reshape(N, P, mg).transpose(2, 0, 1))
    y = np.concatenate(outs, axis=0) if group > 1 else outs[0]  # M, N, P
    return y.transpose(1, 0, 2).reshape((N, M) + tuple(out_sp))


def max_pool(x: np.ndarray, kernel, strides, dilations, pads) -> np.ndarray:
    """Max pool (pads never win: padded with the dtype's lowest value): the elementwise
    maximum of one strided slice per kernel offset (fast on any dtype, unlike a reduction
    over a window view)."""
    import itertools

    nsp = len(kernel)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x, list(pads), low)
    out = conv_out_shape(x.shape[2:], kernel, strides, dilations, pads)
    y = None
    for off in itertools.product(*[range(k) for k in kernel]):
        sl = (slice(None), slice(None)) + tuple(
            slice(off[i] * dilations[i], off[i] * dilations[i] + strides[i] * (out[i] - 1) + 1,
                  strides[i]) for i in range(nsp))
        y = xp[sl] if y is None else np.maximum(y, xp[sl])
    return np.ascontiguousarray(y)


def avg_pool(x: np.ndarray, kernel, strides, pads, count_include_pad: bool,
             extra=None) -> np.ndarray:
    """Average pool; returns (window sums, counts) so integer callers can divide exactly.

    *extra* (per spatial axis) is the part of the tail padding that ``ceil_mode=1`` added: it
    is never counted, not even with *count_include_pad* (which counts the declared pads)."""
    nsp = len(kernel)
    dil = [1] * nsp
    win = windows(x, kernel, strides, dil, pads, 0)
    s = win.sum(axis=tuple(range(-nsp, 0)))
    extra = [0] * nsp if extra is None else list(extra)
    if (count_include_pad and not any(extra)) or not any(pads):
        cnt = np.full(s.shape[2:], int(np.prod(kernel)))
    else:
        if count_include_pad:  # the declared pads count: ones over them, zeros on extra
            counted = tuple(x.shape[2 + i] + pads[i] + pads[i + nsp] - extra[i]
                            for i in range(nsp))
            cpads = [0] * nsp + extra
        else:
            counted, cpads = x.shape[2:], pads
        ones = np.ones((1, 1) + tuple(counted), dtype=np.int64)
        cnt = windows(ones, kernel, strides, dil, cpads, 0).sum(
            axis=tuple(range(-nsp, 0)))[0, 0]
    return s, cnt


def gemm_shape(a: np.ndarray, b: np.ndarray, trans_a: int, trans_b: int):
    """The operands of ONNX Gemm after its transpose attributes."""
    return (a.T if trans_a else a), (b.T if trans_b else b)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable softmax along *axis*."""
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable log-softmax along *axis*: ``(x - max) - log(sum(exp(x - max)))``
    (every value <= 0)."""
    d = x - np.max(x, axis=axis, keepdims=True)
    return d - np.log(np.sum(np.exp(d), axis=axis, keepdims=True))


def fma_f32(x, y, z) -> np.ndarray:
    """float32 fused multiply-add ``x * y + z`` with a single rounding (half to even).

    The product of two float32 values is exact in float64; the sum is formed in float64 with
    its exact rounding error (TwoSum) and rounded to odd (the last bit set when inexact), so
    that the final conversion to float32 rounds the exact value once, as an FMA instruction
    does (round-to-odd at 53 bits >= 24 + 2 makes the double rounding innocuous).
    """
    p = np.asarray(x, np.float32).astype(np.float64) * np.asarray(y, np.float32)
    zz = np.asarray(z, np.float32).astype(np.float64)
    p, zz = np.broadcast_arrays(p, zz)
    s = p + zz
    bp = s - zz
    err = (p - bp) + (zz - (s - bp))
    even = (s.view(np.int64) & 1) == 0
    fix = (err != 0) & even & np.isfinite(s)
    if fix.any():
        s = s.copy()
        s[fix] = np.nextafter(s[fix], np.where(err[fix] > 0, np.inf, -np.inf))
    return s.astype(np.float32)


def _input0_scalar(sa: tuple, sb: tuple) -> bool:
    """Whether onnxruntime's broadcast loop runs an input-0-scalar span (and so swaps the
    operands inside the MLAS kernel): input 0 has one element, or along the innermost output
    axis longer than 1 input 0 is broadcast and input 1 is not."""
    if int(np.prod(sa)) == 1:
        return True
    if int(np.prod(sb)) == 1:
        return False
    nd = max(len(sa), len(sb))
    a = (1,) * (nd - len(sa)) + tuple(sa)
    b = (1,) * (nd - len(sb)) + tuple(sb)
    for da, db in zip(reversed(a), reversed(b), strict=True):
        if max(da, db) == 1:
            continue
        return da == 1 and db != 1
    return False


def qlinear_add(a: np.ndarray, sa, za, b: np.ndarray, sb, zb, sc, zc) -> np.ndarray:
    """onnxruntime's com.microsoft QLinearAdd on int8/uint8 tensors (its AVX2 MLAS kernel).

    With the float32 ratios ``rA = f32(sa / sc)`` and ``rB = f32(sb / sc)`` and the constant
    ``F = f32(zc) - fma(rA, zA, f32(rB zB))``, every output is
    ``clamp(rne(fma(a, rA, fma(b, rB, F))))`` (each ``fma`` rounded once to float32). When the
    broadcast loop treats input 0 as the scalar operand the kernel receives the operands
    swapped, so the roles of (a, rA, zA) and (b, rB, zB) exchange. Values outside the int32
    range (float-to-int conversion gives INT_MIN) saturate to the type's minimum.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.dtype not in (np.int8, np.uint8):
        raise TypeError(f"qlinear_add: A and B must both be int8 or both uint8, got "
                        f"{a.dtype} and {b.dtype}.")
    f32 = np.float32
    rA = f32(f32(sa) / f32(sc))
    rB = f32(f32(sb) / f32(sc))
    zA, zB, zC = (f32(int(np.asarray(v).reshape(-1)[0]) if v is not None else 0)
                  for v in (za, zb, zc))
    if _input0_scalar(a.shape, b.shape):
        (x, rx, zx), (y, ry, zy) = (b, rB, zB), (a, rA, zA)
    else:
        (x, rx, zx), (y, ry, zy) = (a, rA, zA), (b, rB, zB)
    fixed = f32(zC - fma_f32(rx, zx, f32(ry * zy)))
    info = np.iinfo(a.dtype)
    # every (x, y) pair once: a 256 x 256 table in the kernel's order, then a gather
    vals = np.arange(info.min, info.max + 1).astype(f32)
    c = fma_f32(vals[:, None], rx, fma_f32(vals[None, :], ry, fixed))
    ok = np.isfinite(c) & (c >= -2.0 ** 31) & (c < 2.0 ** 31)
    r = np.where(ok, np.rint(np.where(ok, c, 0)), info.min).astype(np.int64)
    table = np.clip(r, info.min, info.max).astype(a.dtype)
    return table[x.astype(np.intp) - info.min, y.astype(np.intp) - info.min]


def _requantize_table(x: np.ndarray, sx, zx, sy, zy) -> np.ndarray:
    """onnxruntime's QLinear lookup table entry for each value of *x*: dequantize in float32
    (``f32(x - zx) * f32(sx)``), then QuantizeLinear (``rne(v / f32(sy)) + zy``, saturated); the
    stored integers are copied when the scale and zero point equal the output's."""
    f32 = np.float32
    info = np.iinfo(x.dtype)
    zx = int(np.asarray(zx).reshape(-1)[0]) if zx is not None else 0
    zy = int(np.asarray(zy).reshape(-1)[0]) if zy is not None else 0
    sx, sy = f32(np.asarray(sx).reshape(-1)[0]), f32(np.asarray(sy).reshape(-1)[0])
    if sx == sy and zx == zy:
        return x.copy()
    vals = np.arange(info.min, info.max + 1)
    v = ((vals - zx).astype(f32) * sx).astype(f32)
    with np.errstate(over="ignore"):
        q = (v / sy).astype(f32)
    # MLAS clamps to the output range less the zero point before converting (inf saturates)
    q = np.clip(q, f32(info.min - zy), f32(info.max - zy))
    table = (np.rint(q).astype(np.int64) + zy).astype(x.dtype)
    return table[x.astype(np.int64) - info.min]


def qlinear_concat(axis: int, sy, zy, *triples) -> np.ndarray:
    """onnxruntime's com.microsoft QLinearConcat: each input ``(x, s_x, z_x)`` mapped through
    its requantization table (see :func:`_requantize_table`) to the output scale and zero
    point, then concatenated along *axis*."""
    if len(triples) == 0 or len(triples) % 3:
        raise ValueError(f"qlinear_concat: inputs must be (tensor, scale, zero point) triples, "
                         f"got {len(triples)} inputs.")
    xs = [np.asarray(t) for t in triples[0::3]]
    dts = {x.dtype for x in xs}
    if len(dts) != 1 or xs[0].dtype not in (np.int8, np.uint8):
        raise TypeError(f"qlinear_concat: every input must be int8, or every input uint8; got "
                        f"{sorted(str(d) for d in dts)}.")
    parts = [_requantize_table(x, triples[3 * i + 1], triples[3 * i + 2], sy, zy)
             for i, x in enumerate(xs)]
    return np.concatenate(parts, axis=axis)


def qlinear_mul(a: np.ndarray, sa, za, b: np.ndarray, sb, zb, sc, zc) -> np.ndarray:
    """onnxruntime's com.microsoft QLinearMul on int8/uint8 tensors (its SSE2 MLAS kernel).

    The centred product ``p = (a - zA)(b - zB)`` is exact in int32 and in float32
    (``|p| <= 255**2``); with the float32 ratio ``r = f32(f32(sa sb) / sc)`` every output is
    ``clamp(rne(f32(f32(p r) + zc)))``: a multiply and an add, each rounded to float32 (no fused
    multiply-add), then half-to-even conversion and saturation (values outside the int32 range
    saturate to the minimum, as the conversion gives INT_MIN).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.dtype not in (np.int8, np.uint8):
        raise TypeError(f"qlinear_mul: A and B must both be int8 or both uint8, got "
                        f"{a.dtype} and {b.dtype}.")
    f32 = np.float32
    zA, zB, zC = (int(np.asarray(v).reshape(-1)[0]) if v is not None else 0
                  for v in (za, zb, zc))
    r = f32(f32(f32(sa) * f32(sb)) / f32(sc))
    info = np.iinfo(a.dtype)
    vals = np.arange(info.min, info.max + 1)
    p = (vals[:, None] - zA) * (vals[None, :] - zB)           # every pair: a 256 x 256 table
    with np.errstate(over="ignore"):
        c = ((p.astype(f32) * r).astype(f32) + f32(zC)).astype(f32)
    ok = np.isfinite(c) & (c >= -2.0 ** 31) & (c < 2.0 ** 31)
    out = np.where(ok, np.rint(np.where(ok, c, 0)), info.min).astype(np.int64)
    table = np.clip(out, info.min, info.max).astype(a.dtype)
    return table[a.astype(np.intp) - info.min, b.astype(np.intp) - info.min]


# MLAS's logistic: Eigen's rational approximation p(x)/q(x) + 1/2 on x clamped to [-18, 18]
_LOGISTIC_P = (4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05,
               8.51377133304701e-03, 2.48287947061529e-01)
_LOGISTIC_Q = (6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06,
               1.70198817374094e-03, 1.16817656904453e-01, 9.93151921023180e-01)


def mlas_logistic(x: np.ndarray) -> np.ndarray:
    """onnxruntime's float32 logistic (MLAS's FMA3 kernel): ``x`` clamped to [-18, 18],
    ``x2 = f32(x x)``, odd numerator and even denominator polynomials in ``x2`` evaluated by
    Horner's rule with fused multiply-adds, ``p = f32(x p)``, then ``max(0, f32(f32(p / q) +
    0.5))``."""
    f32 = np.float32
    x = np.clip(np.asarray(x, f32), f32(-18.0), f32(18.0))
    x2 = (x * x).astype(f32)
    p = fma_f32(x2, f32(_LOGISTIC_P[0]), f32(_LOGISTIC_P[1]))
    for c in _LOGISTIC_P[2:]:
        p = fma_f32(p, x2, f32(c))
    p = (x * p).astype(f32)
    q = fma_f32(x2, f32(_LOGISTIC_Q[0]), f32(_LOGISTIC_Q[1]))
    for c in _LOGISTIC_Q[2:]:
        q = fma_f32(q, x2, f32(c))
    y = ((p / q).astype(f32) + f32(0.5)).astype(f32)
    return np.maximum(y, f32(0.0))


def qlinear_lookup(x: np.ndarray, sx, zx, sy, zy, fn) -> np.ndarray:
    """onnxruntime's QLinear lookup-table operators (QLinearSigmoid, QLinearLeakyRelu): the
    table entry of each stored value is ``QuantizeLinear(fn(f32(x - zx) * f32(sx)))``
    (division by ``sy`` in float32, clamped to the range less ``zy``, half to even)."""
    x = np.asarray(x)
    if x.dtype not in (np.int8, np.uint8):
        raise TypeError(f"qlinear_lookup: X must be int8 or uint8, got {x.dtype}.")
    f32 = np.float32
    info = np.iinfo(x.dtype)
    zx = int(np.asarray(zx).reshape(-1)[0]) if zx is not None else 0
    zy = int(np.asarray(zy).reshape(-1)[0]) if zy is not None else 0
    sx, sy = f32(np.asarray(sx).reshape(-1)[0]), f32(np.asarray(sy).reshape(-1)[0])
    vals = np.arange(info.min, info.max + 1)
    v = np.asarray(fn(((vals - zx).astype(f32) * sx).astype(f32)), f32)
    with np.errstate(over="ignore"):
        q = (v / sy).astype(f32)
    q = np.clip(q, f32(info.min - zy), f32(info.max - zy))
    table = (np.rint(q).astype(np.int64) + zy).astype(x.dtype)
    return table[x.astype(np.int64) - info.min]


def leaky_relu_f32(alpha: float):
    """The float32 LeakyRelu of onnxruntime's lookup table: ``v`` if ``v >= 0`` else
    ``f32(alpha v)``."""
    a = np.float32(alpha)
    return lambda v: np.where(v >= 0, v, (a * v).astype(np.float32)).astype(np.float32)


# -- TFLite int8 elementwise kernels ------------------------------------------------------------
# XNNPACK's qs8 add takes input-to-output scale ratios in [2^-10, 2^8); outside, the TFLite
# delegate leaves the ADD to the builtin kernel
_XNN_ADD_RATIO = (2.0 ** -10, 2.0 ** 8)


def _xnnpack_add(a, za, ra, b, zb, rb, zy, info) -> np.ndarray:
    """XNNPACK's qs8 add: fixed-point multipliers of the float32 ratios, one rounding shift."""
    f32 = np.float32
    big = f32(max(ra, rb))
    exponent = int(np.array(big, f32).view(np.uint32) >> 23) - 127
    shift = 20 - exponent                       # the larger multiplier lands in [2^20, 2^21)
    # ratio * 2^shift only moves the exponent: exact in float64, then rounded half to even
    ma = int(np.rint(np.float64(ra) * 2.0 ** shift))
    mb = int(np.rint(np.float64(rb) * 2.0 ** shift))
    bias = (1 << (shift - 1)) - ma * za - mb * zb
    acc = bias + a * ma + b * mb
    return np.clip((acc >> shift) + zy, info.min, info.max)


def _reference_add(a, za, sa, b, zb, sb, sy, zy, rounding, info) -> np.ndarray:
    """TFLite's builtin integer ADD: both inputs shifted left by 20 bits and scaled by their
    share of twice the larger input scale, summed, then scaled to the output."""
    from ._requant import multiply_by_quantized_multiplier as mbqm
    from ._requant import quantize_multiplier

    left = 20
    twice_max = 2.0 * max(float(sa), float(sb))
    qa, sha = quantize_multiplier(float(sa) / twice_max)
    qb, shb = quantize_multiplier(float(sb) / twice_max)
    qy, shy = quantize_multiplier(twice_max / ((1 << left) * float(sy)))
    ta = mbqm((a - za) << left, int(qa[0]), int(sha[0]), rounding=rounding)
    tb = mbqm((b - zb) << left, int(qb[0]), int(shb[0]), rounding=rounding)
    out = mbqm(ta + tb, int(qy[0]), int(shy[0]), rounding=rounding)
    return np.clip(out + zy, info.min, info.max)


def tflite_add(a: np.ndarray, sa, za, b: np.ndarray, sb, zb, sy, zy,
               kernel: str) -> np.ndarray:
    """TFLite's int8 ADD (numpy broadcasting), as the named kernel computes it.

    Parameters
    ----------
    a, b : numpy.ndarray of int8
        The two inputs.
    sa, za, sb, zb, sy, zy : float, int
        Scales (float32) and zero points of the inputs and the output.
    kernel : {'xnnpack', 'double', 'single'}
        * ``'xnnpack'``: the XNNPACK delegate's qs8 add. The float32 ratios
          ``r = f32(s_in / s_y)`` become integer multipliers ``m = rne(r 2^k)`` with ``k = 20 -
          exponent(max r)``; then ``y = (2^(k-1) + m_a (a - z_a) + m_b (b - z_b)) >> k`` plus
          ``z_y``. A ratio below 2^-10 makes the delegate leave the ADD to the builtin kernel
          (``'double'``); a ratio of 2^8 or more is not modelled (ValueError).
        * ``'double'``: TFLite's reference kernel. Each centred input is shifted left by 20
          bits and multiplied by ``QuantizeMultiplier(s_in / (2 max(s_a, s_b)))``, the sum by
          ``QuantizeMultiplier(2 max(s_a, s_b) / (2^20 s_y))``, each product with gemmlowp's
          double rounding (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT).
        * ``'single'``: the same with single-rounding multiplications (TFLite built with
          ``TFLITE_SINGLE_ROUNDING``).

    Returns
    -------
    numpy.ndarray of int8
        Saturated to [-128, 127]; a fused activation's clamp is applied by the caller.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise TypeError(f"tflite_add: inputs must be int8, got {a.dtype} and {b.dtype}.")
    if kernel not in ("xnnpack", "double", "single"):
        raise ValueError(f"tflite_add: kernel={kernel!r} is not valid; valid: 'xnnpack', "
                         "'double', 'single'.")
    info = np.iinfo(np.int8)
    a64, b64 = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    za, zb, zy = int(za), int(zb), int(zy)
    f32 = np.float32
    if kernel == "xnnpack":
        ra, rb = f32(f32(sa) / f32(sy)), f32(f32(sb) / f32(sy))
        lo, hi = _XNN_ADD_RATIO
        if max(ra, rb) >= hi:
            raise ValueError(f"tflite_add: input-to-output scale ratios {float(ra)!r}, "
                             f"{float(rb)!r}: XNNPACK rejects ratios of 2^8 or more and the "
                             "interpreter's fallback kernel for them is not modelled.")
        if min(ra, rb) >= lo:
            return _xnnpack_add(a64, za, ra, b64, zb, rb, zy, info).astype(np.int8)
        kernel = "double"
    out = _reference_add(a64, za, f32(sa), b64, zb, f32(sb), f32(sy), zy, kernel, info)
    return out.astype(np.int8)


def _libm(name: str, ctype):
    """The C library's *name* (``expf``, ``tanhf``, ``exp``), or None where it cannot be
    loaded. TFLite builds its lookup tables with the platform's libm at run time, so its
    results (not always correctly rounded) are what the interpreter's tables hold."""
    import ctypes
    import ctypes.util

    try:
        path = ctypes.util.find_library("m")
        lib = ctypes.CDLL(path) if path else ctypes.CDLL(None)
        fn = getattr(lib, name)
    except (OSError, AttributeError, TypeError):
        return None
    fn.restype = ctypes.c_double if ctype == "double" else ctypes.c_float
    fn.argtypes = [fn.restype]
    return fn


def _apply_libm(name: str, x: np.ndarray) -> np.ndarray:
    """``name`` applied to each float32 (``*f``) or float64 value of *x* through the C library;
    without one, the float64 numpy function rounded to the argument's type."""
    double = not name.endswith("f")
    fn = _libm(name, "double" if double else "float")
    dt = np.float64 if double else np.float32
    if fn is None:
        ref = {"exp": np.exp, "expf": np.exp, "tanhf": np.tanh}[name]
        return ref(np.asarray(x, np.float64)).astype(dt)
    return np.array([fn(float(v)) for v in np.ravel(x)], dtype=dt).reshape(np.shape(x))


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """std::round of float32 values (in float64, where ``|v| + 0.5`` is exact)."""
    w = np.asarray(v, np.float64)
    return np.sign(w) * np.floor(np.abs(w) + 0.5)


def tflite_lut(kind: str, sx, zx, sy, zy, kernel: str) -> np.ndarray:
    """The 256-entry int8 lookup table of TFLite's int8 LOGISTIC or TANH.

    Parameters
    ----------
    kind : {'logistic', 'tanh'}
    sx, zx, sy, zy : float, int
        Input and output scale (float32) and zero point.
    kernel : {'reference', 'xnnpack'}
        * ``'reference'`` (TFLite's builtin kernels, both resolvers' TANH): for every stored
          value ``v``, ``x = f32(s_x f32(v - z_x))``, ``t = f32(1 / f32(1 + expf(-x)))`` or
          ``tanhf(x)`` in float32, ``round_half_away(f32(t f32(1 / s_y))) + z_y``, saturated.
        * ``'xnnpack'`` (the XNNPACK delegate's LOGISTIC): the sigmoid of ``x`` in double
          ``1 / (1 + exp(-x))``, rounded to float32, then ``round_half_away(f32(f32(t / s_y)
          + z_y))`` (the zero point added in float32 before rounding), saturated.

        ``expf``, ``tanhf`` and ``exp`` are the C library's, as the interpreter calls them.

    Returns
    -------
    numpy.ndarray of int8, shape (256,)
        The output for the stored values -128 ... 127, in that order.
    """
    if kind not in ("logistic", "tanh"):
        raise ValueError(f"tflite_lut: kind={kind!r} is not valid; valid: 'logistic', 'tanh'.")
    if kernel not in ("reference", "xnnpack"):
        raise ValueError(f"tflite_lut: kernel={kernel!r} is not valid; valid: 'reference', "
                         "'xnnpack'.")
    f32 = np.float32
    v = np.arange(-128, 128)
    x = (f32(sx) * (v - int(zx)).astype(f32)).astype(f32)
    if kernel == "xnnpack" and kind == "logistic":
        t = (1.0 / (1.0 + _apply_libm("exp", -x.astype(np.float64)))).astype(f32)
        q = ((t / f32(sy)).astype(f32) + f32(zy)).astype(f32)
        r = _round_half_away(q)
    else:
        if kind == "logistic":
            t = (f32(1) / (f32(1) + _apply_libm("expf", -x)).astype(f32)).astype(f32)
        else:
            t = _apply_libm("tanhf", x)
        r = _round_half_away((t * (f32(1) / f32(sy))).astype(f32)) + f32(zy)
    return np.clip(r.astype(np.int64), -128, 127).astype(np.int8)
