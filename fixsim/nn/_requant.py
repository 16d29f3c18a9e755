"""Requantizers of the int8 runtimes, by name, as pure functions over integer arrays.

An integer layer (fully connected or convolution) computes an int32 accumulator
``acc = sum (x - zx)(w - zw)`` and *requantizes* it to the output type. The runtimes differ
bit for bit in how (see ``docs/nn.md`` and the module's tests):

==========================  =================================================================
``'onnxruntime'``           ``clamp(rne(f32(acc + b) * f32(s_x * s_w[c] / s_y)) + zy)``: the
                            multiplier is computed in float32, the product rounded to float32,
                            then rounded half to even (MLAS ``MlasRequantizeOutput``).
``'tflite'``                ``clamp(MBQM(acc + b, q[c], shift[c]) + zy)`` with the
                            single-rounding MultiplyByQuantizedMultiplier
                            ``(x q + 2^(t-1)) >> t``, ``t = 31 - shift`` (TF 2.x default).
``'tflite-double-rounding'``  the classic gemmlowp path: ``RoundingDivideByPOT(
                            SaturatingRoundingDoublingHighMul(x 2^left, q), right)``.
``'tflite-xnnpack'``        the TFLite interpreter's default resolver (the XNNPACK delegate):
                            ``clamp(rne(f32(acc + b) * f32(f32(s_x s_w[c]) / s_y)) + zy)``,
                            the same float32 arithmetic as ``'onnxruntime'``.
``'pytorch-fbgemm'``        ``clamp(rne((f32(acc) + f32(b / (s_x s_w[c]))) * f32(s_x s_w[c] /
                            s_y)) + zy)`` with a float bias.
``'pytorch-qnnpack'``       ``clamp(rne(f32(acc + rint(b / (s_x s_w[c]))) * f32(s_x s_w[c] /
                            s_y)) + zy)`` with an int32 bias.
==========================  =================================================================

For the TFLite modes the real multiplier ``M = double(s_x) double(s_w[c]) / double(s_y)`` is
decomposed by :func:`quantize_multiplier` into ``M ~ q 2^(shift - 31)``, ``q`` in
``[2^30, 2^31)``.
"""

from __future__ import annotations

import math

import numpy as np

from .._core._convert import short_repr
from .._kernels import lazy

_kn = lazy("fixsim._kernels._nn")

__all__ = ["RUNTIMES", "quantize_multiplier", "multiply_by_quantized_multiplier",
           "requantize", "quantize_linear", "dequantize_linear", "qrange", "check_runtime"]

#: Runtime names accepted by :func:`requantize` and the integer execution of a network.
RUNTIMES = ("onnxruntime", "tflite", "tflite-double-rounding", "tflite-xnnpack",
            "pytorch-fbgemm", "pytorch-qnnpack")

_QRANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
            "uint16": (0, 65535), "int32": (-(1 << 31), (1 << 31) - 1)}


def check_runtime(runtime: str, where: str) -> str:
    """Return *runtime* if it is one of :data:`RUNTIMES`, else raise a ValueError."""
    if runtime not in RUNTIMES:
        raise ValueError(f"{where}: runtime={runtime!r} is not valid; valid: "
                         f"{', '.join(repr(r) for r in RUNTIMES)}.")
    return runtime


def _show(v) -> str:
    """A short rendering of an argument's value for a message."""
    try:
        t = np.asarray(v).tolist()
    except Exception:  # noqa: BLE001 - any object: fall back to its repr
        t = v
    return short_repr(t)


def _check_scales(v, where: str, arg: str) -> None:
    """*v* (a scale, or one per channel) must be finite and > 0."""
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {arg}={_show(v)} is not valid; valid: finite real scales "
                        "> 0 (one, or one per channel).") from None
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{where}: {arg}={_show(v)} is not valid; valid: finite scales > 0 "
                         "(one, or one per channel).")


def _check_zero_points(v, where: str, dtype, lo: int | None = None,
                       hi: int | None = None) -> None:
    """*v* (a zero point, or one per channel) must hold integers in ``[lo, hi]`` (the range
    of *dtype* when not given), as ONNX requires a zero point of the quantized type."""
    try:
        a = np.asarray(v)
        f = a.astype(np.float64)
    except (TypeError, ValueError):
        a = f = None
    if a is None or a.dtype.kind not in "biuf" or not np.all(np.isfinite(f)) \
            or np.any(f != np.round(f)):
        raise ValueError(f"{where}: zero_point={_show(v)} is not valid; valid: integers "
                         "(one, or one per channel).")
    if lo is not None and hi is not None and (np.any(f < lo) or np.any(f > hi)):
        raise ValueError(f"{where}: zero_point={_show(v)} is outside the {dtype} range "
                         f"[{lo}, {hi}]; valid: a zero point of the quantized type "
                         f"({dtype}), as ONNX requires.")


def qrange(dtype) -> tuple[int, int]:
    """``(qmin, qmax)`` of an integer type name or numpy dtype (int8, uint8, int16, ...)."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _QRANGES:
        raise ValueError(f"qrange: dtype {dtype!r} is not valid; valid: {', '.join(_QRANGES)}.")
    return _QRANGES[name]


def quantize_multiplier(M) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's QuantizeMultiplier: ``M ~ q * 2^(shift - 31)`` with ``q`` in ``[2^30, 2^31)``.

    Parameters
    ----------
    M : float or array_like of float
        Real multipliers, ``0 <= M`` (as computed by the runtime, in double).

    Returns
    -------
    q, shift : numpy.ndarray of int64
        ``q = round_half_away(frac * 2^31)`` with ``frexp(M) = (frac, shift)``; when that
        rounds up to ``2^31`` it is halved and ``shift`` incremented; multipliers with
        ``shift < -31`` flush to ``(0, 0)``; with ``shift > 30`` (single rounding's limit) they
        saturate to ``(2^31 - 1, 30)``. ``M == 0`` gives ``(0, 0)``.

    Examples
    --------
    >>> from fixsim.nn import quantize_multiplier
    >>> q, s = quantize_multiplier(0.3)
    >>> int(q[0]), int(s[0])
    (1288490189, -1)
    """
    arr = np.atleast_1d(np.asarray(M, dtype=np.float64))
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"quantize_multiplier: M must be finite and >= 0, got {M!r}.")
    q = np.zeros(arr.shape, dtype=np.int64)
    sh = np.zeros(arr.shape, dtype=np.int64)
    for i, m in enumerate(arr.ravel()):
        if m == 0.0:
            continue
        frac, e = math.frexp(float(m))
        # frac * 2^31 is exact in a double; round half away from zero (std::round)
        v = frac * 2.0 ** 31
        qi = int(math.floor(v + 0.5)) if v - math.floor(v) != 0.5 else int(math.floor(v)) + 1
        if qi == 1 << 31:
            qi //= 2
            e += 1
        if e < -31:
            qi, e = 0, 0
        if e > 30:
            qi, e = (1 << 31) - 1, 30
        q.flat[i] = qi
        sh.flat[i] = e
    return q.reshape(arr.shape), sh.reshape(arr.shape)


def _channels(values, C: int, name: str, dtype) -> np.ndarray:
    a = np.atleast_1d(np.asarray(values, dtype=dtype)).ravel()
    if a.size == 1:
        return np.repeat(a, C)
    if a.size != C:
        raise ValueError(f"requantize: {name} has {a.size} values but the channel axis has "
                         f"{C}; give one value (per tensor) or one per channel.")
    return np.ascontiguousarray(a)


def _as_acc(acc, axis: int) -> tuple[np.ndarray, tuple, int]:
    """*acc* as int64 (A, C, B) with the channel axis in the middle (a view when possible)."""
    a = np.asarray(acc)
    if a.dtype.kind not in "iu":
        raise TypeError(f"requantize: acc must be an integer array, got dtype {a.dtype}.")
    a = np.ascontiguousarray(a, dtype=np.int64)
    if a.ndim == 0:
        a = a.reshape(1)
    ax = axis % a.ndim
    shape = a.shape
    A = int(np.prod(shape[:ax]))
    return a.reshape(A, shape[ax], -1), shape, ax


def multiply_by_quantized_multiplier(x, q, shift, *, rounding: str = "single",
                                     axis: int = -1) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier on int32 values.

    Parameters
    ----------
    x : array_like of int
        int32 accumulators.
    q, shift : int or array_like of int
        Multiplier ``q`` in ``[0, 2^31)`` and ``shift`` (per tensor, or one per index of
        *axis*), from :func:`quantize_multiplier`.
    rounding : {'single', 'double'}
        ``'single'``: ``(x q + 2^(t-1)) >> t``, ``t = 31 - shift``, ``-31 <= shift <= 30``.
        ``'double'``: gemmlowp ``RDBPOT(SRDHM(x 2^max(shift,0), q), max(-shift,0))``: SRDHM
        rounds ``x q / 2^31`` half up, RDBPOT rounds the division by ``2^right`` half away
        from zero. ``x 2^left`` must fit int32 (C++ leaves its overflow undefined; fixsim
        wraps).
    axis : int
        The channel axis of *x* for per-channel ``q``/``shift``.

    Returns
    -------
    numpy.ndarray of int64
    """
    if rounding not in ("single", "double"):
        raise ValueError(f"multiply_by_quantized_multiplier: rounding={rounding!r} is not "
                         "valid; valid: 'single', 'double'.")
    return requantize(x, q=q, shift=shift, zero_point=0, dtype="int32",
                      runtime="tflite" if rounding == "single" else "tflite-double-rounding",
                      axis=axis)


def requantize(acc, scale=None, zero_point=0, *, runtime: str, dtype="int8", axis: int = -1,
               bias=None, input_scale=None, weight_scale=None, output_scale=None,
               q=None, shift=None) -> np.ndarray:
    """Requantize int32 accumulators to an integer output type as a named runtime does.

    Parameters
    ----------
    acc : array_like of int
        Accumulators ``sum (x - zx)(w - zw)`` *without* the bias (int32 range).
    scale : float or array_like, optional
        Not used by the TFLite modes when *q*/*shift* are given. Otherwise the scales are taken
        from ``input_scale * weight_scale / output_scale`` (computed as the runtime does); a
        bare *scale* means ``input_scale=scale, weight_scale=1, output_scale=1``.
    zero_point : int
        Output zero point, in the range of *dtype*.
    runtime : str
        One of :data:`RUNTIMES`.
    dtype : str
        Output integer type: ``'int8'``, ``'uint8'``, ``'int16'``, ``'uint16'``, ``'int32'``.
    axis : int
        Channel axis of *acc* (for per-channel scales, bias and multipliers).
    bias : array_like, optional
        int32 bias (quantized with scale ``s_x s_w``, zero point 0) for every runtime except
        ``'pytorch-fbgemm'``, whose bias is float (real-world units). Per channel.
    input_scale, weight_scale, output_scale : float or array_like
        The three scales (``weight_scale`` per tensor or per channel), finite and > 0.
    q, shift : array_like of int, optional
        TFLite multipliers (from :func:`quantize_multiplier`), instead of the scales.

    Returns
    -------
    numpy.ndarray of int64
        The requantized integers, in ``[qmin, qmax]`` of *dtype*, shape of *acc*.
    """
    check_runtime(runtime, "requantize")
    qmin, qmax = qrange(dtype)
    for arg, v in (("scale", scale), ("input_scale", input_scale),
                   ("weight_scale", weight_scale), ("output_scale", output_scale)):
        if v is not None:
            _check_scales(v, "requantize", arg)
    _check_zero_points(zero_point, "requantize", dtype, qmin, qmax)
    if np.size(zero_point) != 1:
        raise ValueError(f"requantize: zero_point={_show(zero_point)} is not valid; valid: one "
                         "output zero point (per tensor).")
    return _requantize(acc, scale, zero_point, runtime=runtime, dtype=dtype, axis=axis,
                       bias=bias, input_scale=input_scale, weight_scale=weight_scale,
                       output_scale=output_scale, q=q, shift=shift)


def _requantize(acc, scale=None, zero_point=0, *, runtime: str, dtype="int8", axis: int = -1,
                bias=None, input_scale=None, weight_scale=None, output_scale=None,
                q=None, shift=None) -> np.ndarray:
    """:func:`requantize` without its argument checks: a model's own scales and zero points
    (the runtimes run them as they are)."""
    qmin, qmax = qrange(dtype)
    a3, shape, ax = _as_acc(acc, axis)
    C = a3.shape[1]
    zp = int(zero_point)
    if scale is not None and input_scale is None:
        input_scale, weight_scale, output_scale = scale, 1.0, 1.0
    out = np.empty_like(a3)
    if runtime in ("tflite", "tflite-double-rounding"):
        if q is None:
            if input_scale is None or weight_scale is None or output_scale is None:
                raise ValueError("requantize: give q and shift, or input_scale, weight_scale "
                                 "and output_scale.")
            M = (np.float64(np.float32(input_scale))
                 * _channels(weight_scale, C, "weight_scale", np.float32).astype(np.float64)
                 / np.float64(np.float32(output_scale)))
            qa, sa = quantize_multiplier(M)
        else:
            qa = _channels(q, C, "q", np.int64)
            sa = _channels(0 if shift is None else shift, C, "shift", np.int64)
        if np.any(qa < 0) or np.any(qa > (1 << 31) - 1):
            raise ValueError("requantize: q must be in [0, 2^31).")
        single = runtime == "tflite"
        if single and (np.any(sa < -31) or np.any(sa > 30)):
            raise ValueError(f"requantize: single rounding needs -31 <= shift <= 30, got "
                             f"{sa.tolist()}.")
        if not single and (np.any(sa < -31) or np.any(sa > 31)):
            raise ValueError(f"requantize: double rounding needs -31 <= shift <= 31, got "
                             f"{sa.tolist()}.")
        b = np.zeros(C, np.int64) if bias is None else _channels(bias, C, "bias", np.int64)
        bad = _kn.requant_tflite(a3, b, qa, sa, zp, qmin, qmax, not single, out)
        what = "acc + bias"
    else:
        if input_scale is None or weight_scale is None or output_scale is None:
            raise ValueError(f"requantize: runtime {runtime!r} needs input_scale, "
                             "weight_scale and output_scale (or scale).")
        sx = np.float32(input_scale)
        sw = _channels(weight_scale, C, "weight_scale", np.float32)
        sy = np.float32(output_scale)
        prod = (sx * sw).astype(np.float32)  # float32 product, as the runtimes compute it
        mult = (prod / sy).astype(np.float32)
        if runtime == "pytorch-fbgemm":
            fb = np.zeros(C, dtype=np.float32) if bias is None else \
                (_channels(bias, C, "bias", np.float32) / prod).astype(np.float32)
            bad = _kn.requant_fbgemm(a3, fb, mult, zp, qmin, qmax, out)
            what = "acc"
        else:
            b = np.zeros(C, np.int64)
            if bias is not None:
                b = _channels(bias, C, "bias", np.float32 if runtime == "pytorch-qnnpack"
                              else np.int64)
                if runtime == "pytorch-qnnpack":
                    b = np.rint((b / prod).astype(np.float32)).astype(np.int64)
            bad = _kn.requant_float32(a3, b.astype(np.int64), mult, zp, qmin, qmax, out)
            what = "acc + bias"
    if bad:
        raise ValueError(f"requantize: {bad} value(s) of {what} leave the int32 range of the "
                         "runtime.")
    return out.reshape(shape)


def quantize_linear(x, scale, zero_point=0, *, dtype="int8", runtime: str = "onnxruntime",
                    axis: int = -1) -> np.ndarray:
    """Quantize float values to integers as a runtime's QuantizeLinear does.

    ``'onnxruntime'``: ``saturate(rne(f32(x) / f32(s)) + zp)``; ``'tflite-xnnpack'``:
    ``saturate(rne(f32(x) * f32(1 / s)) + zp)``; the other TFLite modes:
    ``saturate(round_half_away(f32(x) / f32(s)) + zp)``; the PyTorch modes:
    ``saturate(rne(zp + f32(x) * (1 / f32(s))))`` (reciprocal, zero point before rounding).
    *scale* and *zero_point* are per tensor or one per index of *axis*: scales finite and
    > 0, zero points integers in the range of *dtype* (ONNX's rule). NaN raises.

    Returns
    -------
    numpy.ndarray of int64
    """
    if runtime != "tflite-reference":
        check_runtime(runtime, "quantize_linear")
    qmin, qmax = qrange(dtype)
    xa = np.asarray(x, dtype=np.float32)
    if np.isnan(xa).any():
        raise ValueError("quantize_linear: x contains NaN, which no runtime quantizes "
                         "defined-ly.")
    if xa.ndim == 0:
        xa = xa.reshape(1)
    ax = axis % xa.ndim
    moved = np.moveaxis(xa, ax, -1)
    shape = moved.shape
    x2 = np.ascontiguousarray(moved.reshape(-1, shape[-1]))
    C = x2.shape[1]
    s = _channels(scale, C, "scale", np.float32)
    if np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError(f"quantize_linear: scale must be finite and > 0, got {scale!r}.")
    _check_zero_points(zero_point, "quantize_linear", np.dtype(dtype).name, qmin, qmax)
    z = _channels(zero_point, C, "zero_point", np.int64)
    # the XNNPACK delegate multiplies by the float32 reciprocal and rounds half to even,
    # TFLite's builtin kernels divide and round half away from zero
    mode = {"onnxruntime": 0, "tflite-xnnpack": 3}.get(
        runtime, 1 if runtime.startswith("tflite") else 2)
    out = np.empty(x2.shape, dtype=np.int64)
    _kn.quantize_float32(x2, s, z, qmin, qmax, mode, out)
    return np.moveaxis(out.reshape(shape), -1, ax)


def dequantize_linear(q, scale, zero_point=0, *, axis: int = -1) -> np.ndarray:
    """``(q - zp) * scale`` in float32 (ONNX DequantizeLinear); per tensor or per *axis*.

    *q* is an integer array, *scale* finite and > 0, *zero_point* integers (each per tensor or
    one per index of *axis*)."""
    qa = np.asarray(q)
    if qa.dtype.kind not in "iu":
        raise TypeError(f"dequantize_linear: q must be an integer array (the quantized "
                        f"values), got dtype {qa.dtype}; valid: int8, uint8, int16, int32, ...")
    _check_scales(scale, "dequantize_linear", "scale")
    _check_zero_points(zero_point, "dequantize_linear", qa.dtype)
    return _dequantize_linear(qa, scale, zero_point, axis=axis)


def _dequantize_linear(q, scale, zero_point=0, *, axis: int = -1) -> np.ndarray:
    """:func:`dequantize_linear` without its argument checks (a model's own parameters)."""
    qa = np.asarray(q, dtype=np.int64)
    s = np.asarray(scale, dtype=np.float32)
    z = np.asarray(zero_point, dtype=np.int64)
    if s.ndim == 1 and qa.ndim > 0 and s.size > 1:
        shp = [1] * qa.ndim
        shp[axis % qa.ndim] = s.size
        s = s.reshape(shp)
        z = z.reshape(shp) if z.ndim == 1 and z.size > 1 else z
    return ((qa - z).astype(np.float32) * s).astype(np.float32)
