"""Shape checks at the network's boundaries: the declared input shapes of a loaded model and
the operand shapes of every layer that reads weights (Gemm, MatMul, Conv, pools and their
integer forms), so that a wrong input is refused with a message naming the input, the shape
it has and the shape the layer needs (as onnxruntime refuses it) instead of being read
out of bounds by a compiled kernel or reshaped silently.

All three execution modes (double, fixed point, integer-only) and the interval analysis call
:func:`check_inputs` and :func:`check_node` before computing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["check_inputs", "check_node", "flatten_shape", "format_dims"]


def format_dims(dims) -> str:
    """``(N, 1, 8, 8)`` for declared dims (an int, a symbolic name, or None for unknown)."""
    parts = [str(d) if isinstance(d, int) else (d or "?") for d in dims]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_inputs(net, shapes: Mapping[str, tuple], where: str) -> None:
    """Each input's *shape* against the network's declared input shape (``net.input_shapes``:
    rank and every static dimension), as onnxruntime checks a feed."""
    declared = getattr(net, "input_shapes", None) or {}
    for name, shape in shapes.items():
        dims = declared.get(name)
        if dims is None:
            continue
        shape = tuple(int(s) for s in shape)
        ok = len(shape) == len(dims) and all(
            not isinstance(d, int) or d == s for d, s in zip(dims, shape, strict=True))
        if not ok:
            raise ValueError(
                f"{where}: input {name!r} has shape {shape}; the network {net.name!r} "
                f"declares input {name!r} of shape {format_dims(dims)} (a named or '?' "
                "dimension may be any size, a number must match).")


def _producer_text(net, tensor: str) -> str:
    if tensor in net.inputs:
        return f"its input {tensor!r} (the network input)"
    return f"its input {tensor!r}"


def _need(cond: bool, node, net, tensor, shape, what: str) -> None:
    if not cond:
        raise ValueError(f"layer {node.name!r} ({node.op}): {_producer_text(net, tensor)} has "
                         f"shape {tuple(shape)}, {what}.")


def _weight_shape(net, node, i):
    name = node.inputs[i] if len(node.inputs) > i else ""
    w = net.params.get(name) if name else None
    return None if w is None else np.shape(w)


def _check_conv(net, node, x_shape, w_shape, tensor):
    from ._network import check_window_attrs

    check_window_attrs(node)
    nsp = len(w_shape) - 2
    g = int(node.attrs.get("group", 1))
    C = w_shape[1] * g
    sp = ", ".join(["H", "W", "D"][:nsp]) if nsp <= 3 else "..."
    expect = f"expected shape (N, {C}, {sp})"
    _need(len(x_shape) == len(w_shape) and x_shape[1] == C, node, net, tensor, x_shape,
          f"but the weight of shape {tuple(w_shape)} (group {g}) takes {C} input channel(s) "
          f"in {nsp} spatial dimension(s): {expect}")
    _check_extent(net, node, x_shape, list(w_shape[2:]), tensor)


def _check_extent(net, node, x_shape, kernel, tensor):
    from ._network import _resolve_auto_pad, conv_params

    strides, dil, pads, auto = conv_params(node, len(x_shape), kernel)
    nsp = len(kernel)
    if len(strides) != nsp or len(dil) != nsp or len(pads) != 2 * nsp:
        return  # malformed attributes: left to the operator's own error
    pads = _resolve_auto_pad(auto, list(x_shape[2:]), kernel, strides, dil, pads)
    padded = [x_shape[2 + i] + pads[i] + pads[i + nsp] for i in range(nsp)]
    eff = [(kernel[i] - 1) * dil[i] + 1 for i in range(nsp)]
    _need(all(p >= e for p, e in zip(padded, eff, strict=True)), node, net, tensor, x_shape,
          f"whose padded spatial size {tuple(padded)} is smaller than the kernel extent "
          f"{tuple(eff)}: expected spatial dimensions of at least "
          f"{tuple(e - pads[i] - pads[i + nsp] for i, e in enumerate(eff))}")


def check_node(net, node, shapes: list) -> None:
    """The input shapes of *node* (``shapes[i]`` the shape of ``node.inputs[i]``, None when
    absent) against its weights: a ValueError naming the layer, its input tensor, the shape
    given and the shape expected."""
    op = node.op
    if not shapes or shapes[0] is None:
        return
    x = tuple(int(s) for s in shapes[0])
    t = node.inputs[0]
    if op == "Gemm":
        a = node.attrs
        B = shapes[1] if len(shapes) > 1 else None
        if B is None:
            return
        B = tuple(B)
        _need(len(x) == 2, node, net, t, x,
              f"but Gemm multiplies a 2-D (N, K) input by its weight of shape {B}")
        K = B[1] if a.get("transB", 0) else B[0]
        if a.get("transA", 0):
            _need(x[0] == K, node, net, t, x, f"but the weight of shape {B} takes {K} "
                  f"features (transA=1): expected shape ({K}, N)")
        else:
            _need(x[1] == K, node, net, t, x, f"but the weight of shape {B} takes {K} "
                  f"features: expected shape (N, {K})")
    elif op in ("MatMul", "MatMulInteger", "QLinearMatMul", "QGemm"):
        wi = 3 if op in ("QLinearMatMul", "QGemm") else 1
        B = shapes[wi] if len(shapes) > wi else None
        if B is None or len(B) == 0:
            return
        B = tuple(B)
        if op == "QGemm":
            a = node.attrs
            _need(len(x) == 2, node, net, t, x,
                  f"but QGemm multiplies a 2-D (N, K) input by its weight of shape {B}")
            K = B[1] if a.get("transB", 0) else B[0]
            ta = bool(a.get("transA", 0))
            expect = f"({K}, N)" if ta else f"(N, {K})"
            _need((x[0] if ta else x[1]) == K, node, net, t, x,
                  f"but the weight of shape {B} takes {K} features: expected shape {expect}")
            return
        K = B[0] if len(B) == 1 else B[-2]
        _need(len(x) >= 1 and x[-1] == K, node, net, t, x,
              f"but the weight of shape {B} takes {K} features on the last axis: expected "
              f"shape (..., {K})")
    elif op in ("Conv", "ConvInteger", "QLinearConv"):
        wi = 3 if op == "QLinearConv" else 1
        W = shapes[wi] if len(shapes) > wi else None
        if W is None or len(W) < 3:
            return
        _check_conv(net, node, x, tuple(int(s) for s in W), t)
    elif op in ("MaxPool", "AveragePool", "QLinearAveragePool", "TFLiteAvgPool"):
        kernel = [int(k) for k in node.attrs.get("kernel_shape", [])]
        if not kernel:
            return
        nsp = len(kernel)
        _need(len(x) == nsp + 2, node, net, t, x,
              f"but its {nsp}-D kernel {tuple(kernel)} pools an (N, C, "
              f"{', '.join(['H', 'W', 'D'][:nsp]) if nsp <= 3 else '...'}) tensor")
        _check_extent(net, node, x, kernel, t)
    elif op in ("Softmax", "LogSoftmax"):
        ax = node.attrs.get("axis", -1)
        nd = len(x)
        if not isinstance(ax, int | np.integer) or not -nd <= ax < nd:
            raise ValueError(f"layer {node.name!r} ({op}): axis={ax!r} is out of range for "
                             f"{_producer_text(net, t)} of shape {x} ({nd}-D); valid: "
                             f"{-nd} to {nd - 1}.")
    elif op in ("GlobalAveragePool", "QLinearGlobalAveragePool"):
        _need(len(x) >= 3, node, net, t, x,
              "but a global pool needs an (N, C, spatial...) tensor of at least 3 dimensions")


def flatten_shape(shape: tuple, axis: int) -> tuple[int, int]:
    """ONNX Flatten's 2-D output shape (explicit, so that an empty batch flattens too)."""
    nd = len(shape)
    ax = axis + nd if axis < 0 else axis
    if not 0 <= ax <= nd:
        raise ValueError(f"Flatten: axis={axis} is not valid for a {nd}-D input of shape "
                         f"{tuple(shape)}; valid: {-nd} to {nd}.")
    return int(np.prod(shape[:ax], dtype=np.int64)), int(np.prod(shape[ax:], dtype=np.int64))
