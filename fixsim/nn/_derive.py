"""Static ranges of a network's signals by interval bound propagation.

:func:`derive_ranges` pushes an input box ``[lo, hi]`` through the layers and returns a sound
range for every signal fixed mode casts (``"input"``, ``"<layer>.acc"``, ``"<layer>.out"``),
reporting each one to the tool's range listeners (``fixsim._core._interval.report_range``), so
that an accumulator width can be proposed that provably cannot overflow.

Linear layers split the weights into positive and negative parts: ``acc_hi = hi W+ + lo W- +
b``, ``acc_lo = lo W+ + hi W- + b`` (exact bounds of an affine map over a box, up to float
rounding). Float rounding is covered by widening every linear bound outward by
``(K + 2) 2^-52 (|lo| + |hi|) |W| + |b| 2^-52`` plus the smallest subnormal (a bound on the
error of a K-term float64 dot product). Monotone activations map the end points; pools and
shape operators act on both bounds.
"""

from __future__ import annotations

import numpy as np

from .._core._interval import report_range
from . import _ops
from ._network import Network, _resolve_auto_pad, conv_params

__all__ = ["derive_ranges"]

_U = 2.0 ** -52
_TINY = np.nextafter(0.0, 1.0)


def _widen(lo, hi, mag, k):
    err = (k + 2) * _U * mag + _TINY
    return lo - err, hi + err


def _linear(lo, hi, w, b, k, fn):
    """Bounds of ``fn(x, w) + b`` over the box, for a bilinear *fn* (matmul or conv)."""
    wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
    lo2 = fn(lo, wp) + fn(hi, wn)
    hi2 = fn(hi, wp) + fn(lo, wn)
    mag = fn(np.abs(lo) + np.abs(hi), np.abs(w))
    if b is not None:
        lo2, hi2, mag = lo2 + b, hi2 + b, mag + np.abs(b)
    return _widen(lo2, hi2, mag, k)


def derive_ranges(net: Network, lo, hi=None, *, shape=None) -> dict[str, tuple[float, float]]:
    """Sound ranges of every fixed-mode signal of *net* for inputs in ``[lo, hi]``.

    Parameters
    ----------
    net : Network
        A float network (single input).
    lo, hi : array_like or float
        Input bounds, elementwise, broadcast to *shape*. With *hi* omitted, *lo* is an
        ``fx.tool.Interval``.
    shape : tuple of int, optional
        The input shape including a batch axis (for example ``(1, 64)`` or ``(1, 1, 8, 8)``);
        default the bounds' own shape.

    Returns
    -------
    dict
        Signal name to ``(lo, hi)`` (floats), for every signal fixed mode casts (weights and
        biases: their own range). The ranges are also reported to active range listeners.

    Raises
    ------
    ValueError
        An operator without an interval rule (a MatMul of two activations), with its node.
    """
    return _derive(net, lo, hi, shape)[0]


def _derive(net: Network, lo, hi=None, shape=None):
    """Sound ranges of every fixed-mode signal of *net* for inputs in ``[lo, hi]``.

    Parameters
    ----------
    net : Network
        A float network (single input).
    lo, hi : array_like or float
        Input bounds, elementwise, broadcast to *shape*. With *hi* omitted, *lo* is an
        ``fx.tool.Interval``.
    shape : tuple of int, optional
        The input shape including a batch axis (for example ``(1, 64)`` or ``(1, 1, 8, 8)``);
        default the bounds' own shape.

    Returns
    -------
    dict
        Signal name to ``(lo, hi)`` (floats), for every signal fixed mode casts (weights and
        biases: their own range). The ranges are also reported to active range listeners.

    Raises
    ------
    ValueError
        An operator without an interval rule (a MatMul of two activations), with its node.
    """
    if net.quantized:
        raise ValueError(f"derive_ranges: network {net.name!r} is quantized; derive the float "
                         "network's ranges.")
    if hi is None:
        lo, hi = np.asarray(lo.lo, np.float64), np.asarray(lo.hi, np.float64)
    lo = np.asarray(lo, np.float64)
    hi = np.asarray(hi, np.float64)
    if shape is not None:
        lo, hi = np.broadcast_to(lo, shape), np.broadcast_to(hi, shape)
    if lo.ndim < 2:
        raise ValueError(f"derive_ranges: the input bounds need a batch axis (got shape "
                         f"{lo.shape}); pass shape=, e.g. (1, 64).")
    if np.any(lo > hi) or np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError("derive_ranges: need lo <= hi (no NaN).")
    out: dict[str, tuple[float, float]] = {}

    def note(name, a, b):
        r = (float(np.min(a)), float(np.max(b)))
        out[name] = r
        report_range(name, *r)

    env = {net.inputs[0]: (lo, hi)}
    note("input", lo, hi)
    P = net.params
    for n in net.nodes:
        a = n.attrs
        ins = [env.get(i) for i in n.inputs]
        L = n.name
        xl, xh = ins[0] if ins[0] is not None else (None, None)
        if n.op in ("Gemm", "MatMul") and n.inputs[1] in P:
            w = np.asarray(P[n.inputs[1]], np.float64)
            if n.op == "Gemm":
                if a.get("transA", 0):
                    raise ValueError(f"derive_ranges: node {L!r}: Gemm with transA=1.")
                w = (w.T if a.get("transB", 0) else w) * a.get("alpha", 1.0)
            b = np.asarray(P[n.inputs[2]], np.float64) * a.get("beta", 1.0) \
                if n.op == "Gemm" and len(n.inputs) > 2 and n.inputs[2] else None
            note(f"{L}.weight", w, w)
            if b is not None:
                note(f"{L}.bias", b, b)
            yl, yh = _linear(np.atleast_2d(xl), np.atleast_2d(xh), w, b, w.shape[0],
                             lambda p, q: p @ q)
            note(f"{L}.acc", yl, yh)
            note(f"{L}.out", yl, yh)
        elif n.op == "Conv":
            w = np.asarray(P[n.inputs[1]], np.float64)
            b = np.asarray(P[n.inputs[2]], np.float64).reshape(1, -1, *([1] * (w.ndim - 2))) \
                if len(n.inputs) > 2 and n.inputs[2] else None
            kernel = list(w.shape[2:])
            strides, dil, pads, auto = conv_params(n, xl.ndim, kernel)
            pads = _resolve_auto_pad(auto, xl.shape[2:], kernel, strides, dil, pads)
            g = int(a.get("group", 1))

            def cv(p, q, g=g, strides=strides, dil=dil, pads=pads):
                return _ops.conv(p, q, g, strides, dil, pads)
            note(f"{L}.weight", w, w)
            if b is not None:
                note(f"{L}.bias", b, b)
            yl, yh = _linear(xl, xh, w, b, int(np.prod(w.shape[1:])), cv)
            note(f"{L}.acc", yl, yh)
            note(f"{L}.out", yl, yh)
        elif n.op in ("Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh"):
            if n.op == "Relu":
                f = lambda v: np.maximum(v, 0.0)  # noqa: E731
            elif n.op == "Clip":
                lo_c = float(np.asarray(P[n.inputs[1]])) if len(n.inputs) > 1 \
                    and n.inputs[1] else a.get("min", -np.inf)
                hi_c = float(np.asarray(P[n.inputs[2]])) if len(n.inputs) > 2 \
                    and n.inputs[2] else a.get("max", np.inf)
                f = lambda v, lo_c=lo_c, hi_c=hi_c: np.clip(v, lo_c, hi_c)  # noqa: E731
            elif n.op == "LeakyRelu":
                al = float(a.get("alpha", 0.01))
                if al < 0:
                    raise ValueError(f"derive_ranges: node {L!r}: LeakyRelu with a negative "
                                     "slope is not monotone.")
                note(f"{L}.weight", al, al)
                f = lambda v, al=al: np.where(v >= 0, v, v * al)  # noqa: E731
            elif n.op == "Sigmoid":
                f = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
            else:
                f = np.tanh
            yl, yh = f(xl), f(xh)
            if n.op in ("Sigmoid", "Tanh"):  # library functions: widen by an ulp or two
                yl, yh = yl - 4 * _U * np.abs(yl) - _TINY, yh + 4 * _U * np.abs(yh) + _TINY
            note(f"{L}.out", yl, yh)
        elif n.op == "MaxPool":
            from ._network import _pool_params
            kernel, strides, dil, pads = _pool_params(n, xl)
            yl = _ops.max_pool(xl, kernel, strides, dil, pads)
            yh = _ops.max_pool(xh, kernel, strides, dil, pads)
        elif n.op in ("AveragePool", "GlobalAveragePool"):
            if n.op == "AveragePool":
                from ._network import _pool_params
                kernel, strides, _, pads = _pool_params(n, xl)
                inc = bool(a.get("count_include_pad", 0))
                (sl, c), (sh, _) = (_ops.avg_pool(xl, kernel, strides, pads, inc),
                                    _ops.avg_pool(xh, kernel, strides, pads, inc))
                yl, yh = sl / c, sh / c
            else:
                ax = tuple(range(2, xl.ndim))
                yl, yh = xl.mean(axis=ax, keepdims=True), xh.mean(axis=ax, keepdims=True)
            yl, yh = _widen(yl, yh, np.abs(yl) + np.abs(yh), 64)
            note(f"{L}.out", yl, yh)
        elif n.op in ("Flatten", "Reshape", "Transpose", "Identity", "Dropout"):
            from ._network import _FLOAT_OPS
            fn = _FLOAT_OPS[n.op]
            yl = fn(n, [xl] + [P.get(i) for i in n.inputs[1:]], a)
            yh = fn(n, [xh] + [P.get(i) for i in n.inputs[1:]], a)
        elif n.op == "Concat":
            ax = a.get("axis", 1)
            parts = [i if i is not None else (P[nm], P[nm])
                     for i, nm in zip(ins, n.inputs, strict=True)]
            yl = np.concatenate([p[0] for p in parts], axis=ax)
            yh = np.concatenate([p[1] for p in parts], axis=ax)
            note(f"{L}.out", yl, yh)
        elif n.op in ("Add", "Mul") and any(i in P for i in n.inputs):
            k = 1 if n.inputs[1] in P else 0
            c = np.asarray(P[n.inputs[k]], np.float64)
            note(f"{L}.{'bias' if n.op == 'Add' else 'weight'}", c, c)
            sl, sh = ins[1 - k]
            if n.op == "Add":
                yl, yh = sl + c, sh + c
            else:
                cands = (sl * c, sh * c)
                yl, yh = np.minimum(*cands), np.maximum(*cands)
            yl, yh = _widen(yl, yh, np.abs(yl) + np.abs(yh), 1)
            note(f"{L}.out", yl, yh)
        elif n.op == "Add":
            (al, ah), (bl, bh) = ins[0], ins[1]
            yl, yh = _widen(al + bl, ah + bh, np.abs(al) + np.abs(ah) + np.abs(bl)
                            + np.abs(bh), 1)
            note(f"{L}.out", yl, yh)
        elif n.op == "BatchNormalization":
            g, bb, m, v = (np.asarray(P[i], np.float64) for i in n.inputs[1:5])
            s = g / np.sqrt(v + a.get("epsilon", 1e-5))
            shp = (1, -1) + (1,) * (xl.ndim - 2)
            s, c = s.reshape(shp), (bb - m * s).reshape(shp)
            note(f"{L}.weight", s, s)
            note(f"{L}.bias", c, c)
            cands = (xl * s, xh * s)
            yl, yh = _widen(np.minimum(*cands) + c, np.maximum(*cands) + c,
                            np.abs(xl * s) + np.abs(xh * s) + np.abs(c), 8)
            note(f"{L}.out", yl, yh)
        elif n.op == "Softmax":
            yl, yh = np.zeros_like(xl), np.ones_like(xh)
            note(f"{L}.out", yl, yh)
        else:
            raise ValueError(f"derive_ranges: node {L!r}: operator {n.op!r} has no interval "
                             "rule (a product of two activations, or a non-monotone op).")
        env[n.outputs[0]] = (yl, yh)
    return out, env[net.outputs[0]]
