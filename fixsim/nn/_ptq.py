"""Post-training quantization of a float network to an integer-only affine network.

:func:`quantize` calibrates every activation tensor with an observer, quantizes the weights
symmetrically (``[-127, 127]``, per output channel or per tensor, as TFLite and ONNX Runtime
do), the biases to int32 with scale ``s_x s_w[c]``, and rewrites the graph in QOperator form:
QuantizeLinear, QGemm / QLinearConv / QLinearMatMul, integer MaxPool/Flatten/Reshape/Transpose,
a ReLU directly after a linear layer folded into its output range (its zero point clamps), and
DequantizeLinear -> float op -> QuantizeLinear for everything else. The result runs with any
runtime's requantizer: ``qnet(x, runtime='tflite')``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._network import Network, Node
from ._observers import (
    EntropyObserver,
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PercentileObserver,
)

__all__ = ["quantize", "OBSERVERS"]

#: Observer names accepted by :func:`quantize`.
OBSERVERS: dict[str, Callable] = {
    "minmax": MinMaxObserver,
    "moving_average": MovingAverageMinMaxObserver,
    "percentile": PercentileObserver,
    "histogram": HistogramObserver,
    "entropy": EntropyObserver,
}

_SHAPE_OPS = ("MaxPool", "Flatten", "Reshape", "Transpose", "Identity", "Dropout")


def _batches(calibration, batch_size: int):
    a = np.asarray(calibration, dtype=np.float64)
    for i in range(0, len(a), batch_size):
        yield a[i:i + batch_size]


def quantize(net: Network, calibration, *, observer="minmax", per_channel: bool = True,
             activations: str = "int8", batch_size: int = 256,
             qparams: Mapping[str, tuple[float, int]] | None = None,
             progress: bool = False) -> Network:
    """Quantize a float network to int8 (or uint8/int16 activations), integer-only.

    Parameters
    ----------
    net : Network
        A float network (single input).
    calibration : array_like
        Calibration inputs (first axis: samples), run in double in batches.
    observer : str or callable
        ``'minmax'``, ``'moving_average'``, ``'percentile'``, ``'histogram'``, ``'entropy'``
        (see :data:`OBSERVERS`), or a callable returning a fresh observer.
    per_channel : bool
        Per-output-channel weight scales (else one per tensor).
    activations : {'int8', 'uint8', 'int16'}
        Activation type (affine; weights are always symmetric int8).
    qparams : mapping, optional
        ``tensor name -> (scale, zero_point)``: explicit activation parameters (for example
        read from another runtime's model), overriding calibration for those tensors; and
        ``'<layer>.weight' -> scales``: explicit symmetric weight scales of a linear layer,
        one per output channel (or one per tensor), zero point 0.
    progress : bool
        Show a progress bar over the calibration batches (``rich``).

    Returns
    -------
    Network
        The quantized network; ``qnet(x, runtime=...)`` runs it.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"quantize: batch_size={batch_size!r} is not valid; valid: a positive "
                         "integer (samples per calibration batch).")
    if net.quantized:
        raise ValueError(f"quantize: network {net.name!r} is already quantized.")
    if len(net.inputs) != 1:
        raise ValueError("quantize: only single-input networks are supported.")
    if activations not in ("int8", "uint8", "int16"):
        raise ValueError(f"quantize: activations={activations!r} is not valid; valid: 'int8', "
                         "'uint8', 'int16'.")
    if isinstance(observer, str):
        if observer not in OBSERVERS:
            raise ValueError(f"quantize: observer={observer!r} is not valid; valid: "
                             f"{', '.join(repr(k) for k in OBSERVERS)}.")
        make_obs = OBSERVERS[observer]
    elif callable(observer):
        make_obs = observer
    else:
        raise TypeError(f"quantize: observer must be a name or a callable, got {observer!r}.")
    qparams = dict(qparams or {})
    wscales = {k[:-len(".weight")]: v for k, v in qparams.items() if k.endswith(".weight")}
    for k in list(qparams):
        if k.endswith(".weight"):
            del qparams[k]
    layers = {n.name for n in net.nodes if n.op in ("Gemm", "Conv", "MatMul")}
    bad = sorted(set(wscales) - layers)
    if bad:
        raise ValueError(f"quantize: qparams names weights of {bad}, which are not linear "
                         f"layers; valid: {', '.join(sorted(f'{x}.weight' for x in layers))}.")
    # tensors whose range is observed: the input and every node output not a pure shape op
    observed = [net.inputs[0]] + [n.outputs[0] for n in net.nodes if n.op not in _SHAPE_OPS]
    obs = {t: make_obs() for t in observed if t not in qparams}
    chunks = list(_batches(calibration, batch_size))
    if not chunks:
        raise ValueError("quantize: the calibration set is empty.")
    it = chunks
    if progress:
        from rich.progress import track
        it = track(chunks, description="calibrating")
    for b in it:
        env = net._run_plain({net.inputs[0]: b}, "onnxruntime", net.outputs)
        for t, o in obs.items():
            o.update(env[t])
    adt = np.dtype(activations)
    for t, o in obs.items():
        s, z = o.qparams(activations)
        qparams[t] = (s, z)
    return _rewrite(net, qparams, adt, per_channel, wscales)


def _rewrite(net: Network, qp: dict, adt: np.dtype, per_channel: bool,
             wscales: dict | None = None) -> Network:
    wscales = wscales or {}
    P = dict(net.params)
    nodes: list[Node] = []
    cons: dict[str, list[Node]] = {}
    for n in net.nodes:
        for i in n.inputs:
            cons.setdefault(i, []).append(n)
    qname: dict[str, str] = {}   # float tensor -> its integer tensor
    qof: dict[str, tuple[str, str]] = {}  # integer tensor -> (scale name, zp name)

    def add_qparams(t: str, key: str):
        s, z = qp[key]
        sn, zn = f"{t}:scale", f"{t}:zp"
        P[sn] = np.float32(np.asarray(s).reshape(()))
        P[zn] = np.array(np.asarray(z).reshape(()), dtype=adt)
        return sn, zn

    x = net.inputs[0]
    sn, zn = add_qparams(x, x)
    nodes.append(Node("QuantizeLinear", "input_quantize", [x, sn, zn], [f"{x}:q"]))
    qname[x] = f"{x}:q"
    qof[f"{x}:q"] = (sn, zn)
    skip: set[int] = set()
    for idx, n in enumerate(net.nodes):
        if idx in skip:
            continue
        xin = n.inputs[0]
        if n.op in ("Gemm", "Conv", "MatMul") and xin in qname and n.inputs[1] in P \
                and not (n.op == "Gemm" and (n.attrs.get("transA", 0)
                                             or n.attrs.get("alpha", 1.0) != 1.0
                                             or n.attrs.get("beta", 1.0) != 1.0)):
            out = n.outputs[0]
            users = cons.get(out, [])
            if len(users) == 1 and users[0].op == "Relu" and out not in net.outputs:
                relu = users[0]
                skip.add(net.nodes.index(relu))
                out = relu.outputs[0]
            w = np.asarray(P[n.inputs[1]], np.float64)
            trans_b = n.attrs.get("transB", 0) if n.op == "Gemm" else 0
            ch_axis = 0 if (n.op == "Conv" or trans_b) else 1
            moved = np.moveaxis(w, ch_axis, 0).reshape(w.shape[ch_axis], -1)
            amax = np.abs(moved).max(axis=1) if per_channel else \
                np.full(w.shape[ch_axis], np.abs(w).max())
            # an all-zero channel gets scale 1 (any scale represents its zeros)
            ws = np.where(amax > 0, amax / 127.0, 1.0)
            bias = n.inputs[2] if len(n.inputs) > 2 and n.inputs[2] else None
            xs_name, xz_name = qof[qname[xin]]
            if bias is not None:
                # keep the int32 bias within 2^30 (ONNX Runtime widens such weight scales too)
                need = np.abs(np.asarray(P[bias], np.float64)) \
                    / (float(P[xs_name]) * float(1 << 30))
                ws = np.maximum(ws, need if per_channel else need.max())
            ws = ws.astype(np.float32)
            L = n.name
            if L in wscales:  # explicit weight scales (zero point 0), as given
                given = np.atleast_1d(np.asarray(wscales[L], dtype=np.float32)).ravel()
                C = w.shape[ch_axis]
                if given.size not in (1, C) or not np.all(np.isfinite(given)) \
                        or np.any(given <= 0):
                    raise ValueError(f"quantize: qparams['{L}.weight'] must be one finite "
                                     f"scale > 0 or {C} (one per output channel), got "
                                     f"{wscales[L]!r}.")
                ws = np.broadcast_to(given, (C,)).astype(np.float32)
                per_channel_l = given.size > 1
            else:
                per_channel_l = per_channel
            shp = [1] * w.ndim
            shp[ch_axis] = -1
            wq = np.clip(np.rint(w / ws.reshape(shp).astype(np.float64)), -127, 127) \
                .astype(np.int8)
            P[f"{L}:wq"] = wq
            P[f"{L}:ws"] = ws if per_channel_l else np.float32(ws[0])
            P[f"{L}:wz"] = np.zeros(w.shape[ch_axis] if per_channel_l else (), np.int8)
            sn, zn = add_qparams(out, out)
            ins = [qname[xin], xs_name, xz_name, f"{L}:wq", f"{L}:ws", f"{L}:wz"]
            bname = ""
            if bias is not None:
                sx = np.float32(P[xs_name])
                prod = (sx * ws).astype(np.float32).astype(np.float64)
                bq = np.rint(np.asarray(P[bias], np.float64) / prod)
                P[f"{L}:bq"] = np.clip(bq, -(1 << 31), (1 << 31) - 1).astype(np.int32)
                bname = f"{L}:bq"
            if n.op == "Conv":
                node = Node("QLinearConv", L, ins + [sn, zn] + ([bname] if bname else []),
                            [f"{out}:q"], dict(n.attrs))
            elif n.op == "Gemm":
                node = Node("QGemm", L, ins + [bname, sn, zn], [f"{out}:q"],
                            {"transB": trans_b})
            else:
                node = Node("QLinearMatMul", L, ins + [sn, zn], [f"{out}:q"])
            nodes.append(node)
            qname[out] = f"{out}:q"
            qof[f"{out}:q"] = (sn, zn)
            continue
        if n.op in _SHAPE_OPS and xin in qname:
            o = n.outputs[0]
            nodes.append(Node(n.op, n.name, [qname[xin]] + n.inputs[1:], [f"{o}:q"],
                              dict(n.attrs)))
            qname[o] = f"{o}:q"
            qof[f"{o}:q"] = qof[qname[xin]]
            continue
        if n.op == "Relu" and xin in qname:
            o = n.outputs[0]
            sx, zx = qof[qname[xin]]
            nodes.append(Node("IntRelu", n.name, [qname[xin], zx], [f"{o}:q"]))
            qname[o] = f"{o}:q"
            qof[f"{o}:q"] = (sx, zx)
            continue
        # anything else: dequantize its inputs, run it in float32, quantize its output
        ins = []
        for i in n.inputs:
            if i in qname:
                s_, z_ = qof[qname[i]]
                nodes.append(Node("DequantizeLinear", f"{n.name}_dq_{len(ins)}",
                                  [qname[i], s_, z_], [f"{i}:dq"]))
                ins.append(f"{i}:dq")
            else:
                ins.append(i)
        o = n.outputs[0]
        nodes.append(Node(n.op, n.name, ins, [f"{o}:f"], dict(n.attrs)))
        sn, zn = add_qparams(o, o)
        nodes.append(Node("QuantizeLinear", f"{n.name}_quantize", [f"{o}:f", sn, zn],
                          [f"{o}:q"]))
        qname[o] = f"{o}:q"
        qof[f"{o}:q"] = (sn, zn)
    outs = []
    for o in net.outputs:
        s_, z_ = qof[qname[o]]
        nodes.append(Node("DequantizeLinear", f"{o}_dequantize", [qname[o], s_, z_], [o]))
        outs.append(o)
    return Network(nodes, P, list(net.inputs), outs, f"{net.name}_int",
                   input_shapes=getattr(net, "input_shapes", None))
