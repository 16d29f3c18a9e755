"""TFLite import: :func:`load_tflite` reads a full-integer (int8) ``.tflite`` flatbuffer.

The model's own quantization parameters are kept exactly: every tensor's float32 scales and
zero points (per tensor, or per channel along the quantized dimension), the int8 weights and
the int32 biases, as the converter wrote them. The graph becomes fixsim's integer operators
(FULLY_CONNECTED -> QGemm, CONV_2D and DEPTHWISE_CONV_2D -> QLinearConv, MAX_POOL_2D ->
MaxPool on the integers, AVERAGE_POOL_2D and MEAN -> TFLite's integer pools, SOFTMAX ->
TFLite's gemmlowp fixed-point softmax, ADD -> TFLite's (or XNNPACK's) fixed-point add,
LOGISTIC and TANH -> their 256-entry int8 tables, CONCATENATION and PAD/PADV2 on the stored
integers, fused
RELU/RELU6/RELU_N1_TO_1 -> an integer clamp of the output as TFLite's
``CalculateActivationRangeQuantized`` computes it), so that
``net(x_int8, runtime=...)`` reproduces the interpreter's integers.

Tensors keep TFLite's NHWC layout and names; convolutions and pools run in NCHW between two
integer transposes (exact). The flatbuffer is read with the schema module TensorFlow ships
(``tensorflow.lite.python.schema_py_generated``), or ``ai_edge_litert``'s if present.
"""

from __future__ import annotations

import os

import numpy as np

from ._network import Network, Node, UnsupportedOperatorError

__all__ = ["load_tflite", "TFLITE_OPS"]

#: TFLite builtin operators :func:`load_tflite` supports.
TFLITE_OPS = ("QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D",
              "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "RESHAPE", "SOFTMAX", "ADD",
              "CONCATENATION", "PAD", "PADV2", "LOGISTIC", "TANH", "SHAPE", "STRIDED_SLICE",
              "PACK")
# operators that only compute a RESHAPE's target shape (dropped: the static shape is used)
_SHAPE_ONLY = ("SHAPE", "STRIDED_SLICE", "PACK")
# TensorType codes of the schema
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16,
           9: np.int8}
_ACT = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as S  # type: ignore[import-not-found]
        return S
    except ImportError:
        pass
    try:
        from tensorflow.lite.python import schema_py_generated as S
        return S
    except ImportError:
        raise ImportError("load_tflite needs the TFLite flatbuffer schema: install "
                          "tensorflow-cpu (or ai-edge-litert).") from None


def _round_away(v: float) -> int:
    """TfLiteRound (std::round): nearest, ties away from zero."""
    t = np.floor(abs(v) + 0.5)
    return int(-t if v < 0 else t)


def activation_range(act: str, scale: float, zero_point: int, dtype) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized``: the integer clamp of a fused
    activation, ``zp + round_half_away(float32(r) / float32(scale))`` for each real bound r,
    intersected with the type's range."""
    info = np.iinfo(dtype)
    qmin, qmax = int(info.min), int(info.max)
    s = np.float32(scale)

    def q(r: float) -> int:
        return zero_point + _round_away(float(np.float32(np.float32(r) / s)))

    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, zero_point), qmax
    if act == "RELU6":
        return max(qmin, zero_point), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise UnsupportedOperatorError(f"fused activation {act!r} is not supported; supported: "
                                   f"{', '.join(_ACT.values())}.")


def load_tflite(path) -> Network:
    """Load a full-integer TFLite model (a ``.tflite`` path or its bytes) as a Network.

    Parameters
    ----------
    path : str, os.PathLike or bytes

    Returns
    -------
    Network
        An integer-only network whose tensors carry the model's scales and zero points.
        Its default runtime is ``'tflite-xnnpack'`` (the interpreter's default resolver);
        ``runtime='tflite-reference'`` reproduces the ``BUILTIN_REF`` resolver. Feed it the
        int8 input the interpreter gets (``net(x_int8)``); a float input model starts with
        a QuantizeLinear. Layers are named ``'<op>_<index>'`` (``'conv_2d_0'``,
        ``'fully_connected_3'``); tensors keep their TFLite names (``net.outputs``,
        ``net(x, outputs=name)`` for any intermediate tensor).

    Raises
    ------
    UnsupportedOperatorError
        An operator outside :data:`TFLITE_OPS`, a float (non-quantized) layer, or an
        unsupported fused activation; the message names the operator and the layer.
    """
    if isinstance(path, bytes | bytearray):
        blob = bytes(path)
    elif isinstance(path, str | os.PathLike):
        if not os.path.exists(path):
            raise FileNotFoundError(f"load_tflite: no such file: {os.fspath(path)!r}.")
        with open(path, "rb") as f:
            blob = f.read()
    else:
        raise TypeError(f"load_tflite: path must be a file path or bytes, got "
                        f"{type(path).__name__}.")
    S = _schema()
    source = f"the file {os.fspath(path)!r}" if isinstance(path, str | os.PathLike) else \
        "the bytes given"
    if len(blob) < 8 or blob[4:8] != b"TFL3":
        what = "empty" if not blob else f"no 'TFL3' file identifier at bytes 4..8 (found " \
            f"{blob[4:8]!r})"
        raise ValueError(f"load_tflite: {source} ({len(blob)} bytes) is not a TFLite "
                         f"flatbuffer ({what}); pass a .tflite file or its bytes.")
    try:
        model = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    except Exception as exc:  # noqa: BLE001 - struct.error, IndexError, ... of a corrupt buffer
        raise ValueError(f"load_tflite: {source} ({len(blob)} bytes) is not a valid TFLite "
                         f"flatbuffer ({type(exc).__name__}: {exc}).") from exc
    if not model.subgraphs or len(model.subgraphs) != 1:
        raise ValueError(f"load_tflite: the model has {len(model.subgraphs or [])} subgraphs; "
                         "valid: exactly 1.")
    g = model.subgraphs[0]
    opnames = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    return _Builder(model, g, opnames).build()


class _Builder:
    def __init__(self, model, g, opnames):
        self.model, self.g = model, g
        self.names = [t.name.decode() if isinstance(t.name, bytes) else str(t.name)
                      for t in g.tensors]
        self.P: dict[str, np.ndarray] = {}
        self.nodes: list[Node] = []
        self.ops = []
        for i, op in enumerate(g.operators):
            oc = model.operatorCodes[op.opcodeIndex]
            code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
            self.ops.append((i, opnames.get(code, f"builtin {code}"), op))

    # -- tensors ------------------------------------------------------------------------------
    def data(self, t: int) -> np.ndarray | None:
        tensor = self.g.tensors[t]
        buf = self.model.buffers[tensor.buffer]
        raw = None if buf is None else buf.data
        if raw is None or len(raw) == 0:
            return None
        dt = _DTYPES.get(int(tensor.type))
        if dt is None:
            raise UnsupportedOperatorError(f"tensor {self.names[t]!r}: type code "
                                           f"{tensor.type} is not supported.")
        shape = [] if tensor.shape is None else [int(s) for s in tensor.shape]
        return np.frombuffer(np.asarray(raw, np.uint8).tobytes(), dtype=dt).reshape(shape)

    def qparams(self, t: int) -> tuple[np.ndarray, np.ndarray, int]:
        q = self.g.tensors[t].quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            raise UnsupportedOperatorError(
                f"tensor {self.names[t]!r} is not quantized; load_tflite runs full-integer "
                "models (convert with TFLITE_BUILTINS_INT8 and a representative dataset).")
        zp = np.zeros(len(q.scale), np.int64) if q.zeroPoint is None \
            else np.asarray(q.zeroPoint, np.int64)
        return np.asarray(q.scale, np.float32), zp, int(q.quantizedDimension)

    def dtype(self, t: int):
        return _DTYPES[int(self.g.tensors[t].type)]

    def add_qparams(self, t: int) -> tuple[str, str]:
        """Scale and zero-point params of a per-tensor activation tensor."""
        s, z, _ = self.qparams(t)
        if s.size != 1:
            raise UnsupportedOperatorError(f"tensor {self.names[t]!r}: per-channel activation "
                                           "quantization is not supported.")
        n = self.names[t]
        self.P[f"{n}:scale"] = np.float32(s[0])
        self.P[f"{n}:zp"] = np.array(z[0], dtype=self.dtype(t))
        return f"{n}:scale", f"{n}:zp"

    # -- graph ----------------------------------------------------------------------------------
    def build(self) -> Network:
        g = self.g
        needed = {int(o) for o in g.outputs}
        keep = []
        for i, name, op in reversed(self.ops):
            outs = [int(o) for o in op.outputs]
            if not any(o in needed for o in outs):
                continue
            keep.append((i, name, op))
            ins = [int(t) for t in op.inputs if int(t) >= 0]
            if name in ("RESHAPE", "MEAN", "PAD", "PADV2"):
                ins = ins[:1]  # the target shape / axes / paddings are constants read here
            needed.update(ins)
        for i, name, op in reversed(keep):
            conv = getattr(self, "_op_" + name.lower(), None)
            if conv is None or name in _SHAPE_ONLY:
                raise UnsupportedOperatorError(
                    f"layer '{name.lower()}_{i}': TFLite operator {name!r} is not supported; "
                    f"supported: {', '.join(TFLITE_OPS)}.")
            conv(f"{name.lower()}_{i}", op)
        inputs = [self.names[int(t)] for t in g.inputs]
        outputs = [self.names[int(t)] for t in g.outputs]
        net = Network(self.nodes, self.P, inputs, outputs,
                      (g.name.decode() if isinstance(g.name, bytes) else g.name) or "tflite")
        net.default_runtime = "tflite-xnnpack"
        return net

    def _clamp(self, layer: str, act_code: int, src: str, out_t: int) -> None:
        act = _ACT.get(int(act_code), f"code {act_code}")
        s, z, _ = self.qparams(out_t)
        lo, hi = activation_range(act, float(s[0]), int(z[0]), self.dtype(out_t))
        self.nodes.append(Node("IntClip", f"{layer}_act", [src], [self.names[out_t]],
                               {"min": lo, "max": hi, "activation": act}))

    def _weights(self, layer: str, t: int, axis: int):
        w = self.data(t)
        if w is None or w.dtype != np.int8:
            raise UnsupportedOperatorError(f"layer {layer!r}: weights {self.names[t]!r} must "
                                           "be constant int8.")
        s, z, qd = self.qparams(t)
        if s.size > 1 and qd != axis:
            raise UnsupportedOperatorError(f"layer {layer!r}: weights quantized along axis "
                                           f"{qd}; supported: axis {axis}.")
        if np.any(z != 0):
            raise UnsupportedOperatorError(f"layer {layer!r}: weight zero points must be 0 "
                                           "(TFLite's symmetric int8 weights).")
        return w, s

    def _bias(self, layer: str, op, C: int) -> str:
        ins = [int(t) for t in op.inputs]
        if len(ins) < 3 or ins[2] < 0:
            return ""
        b = self.data(ins[2])
        if b is None or b.dtype != np.int32:
            raise UnsupportedOperatorError(f"layer {layer!r}: the bias must be constant int32.")
        self.P[f"{layer}:bias"] = np.broadcast_to(b.reshape(-1), (C,)).copy()
        return f"{layer}:bias"

    def _op_quantize(self, layer, op):
        x, y = int(op.inputs[0]), int(op.outputs[0])
        if self.dtype(x) != np.float32:
            raise UnsupportedOperatorError(f"layer {layer!r}: QUANTIZE from "
                                           f"{np.dtype(self.dtype(x)).name} (requantization) "
                                           "is not supported; supported: from float32.")
        sn, zn = self.add_qparams(y)
        self.nodes.append(Node("QuantizeLinear", layer, [self.names[x], sn, zn],
                               [self.names[y]]))

    def _op_dequantize(self, layer, op):
        x, y = int(op.inputs[0]), int(op.outputs[0])
        sn, zn = self.add_qparams(x)
        self.nodes.append(Node("DequantizeLinear", layer, [self.names[x], sn, zn],
                               [self.names[y]]))

    def _op_reshape(self, layer, op):
        x, y = int(op.inputs[0]), int(op.outputs[0])
        shape = [int(s) for s in self.g.tensors[y].shape]
        shape[0] = -1  # the batch dimension follows the input
        self.P[f"{layer}:shape"] = np.array(shape, np.int64)
        self.nodes.append(Node("Reshape", layer, [self.names[x], f"{layer}:shape"],
                               [self.names[y]]))

    def _op_fully_connected(self, layer, op):
        opt = op.builtinOptions
        if getattr(opt, "keepNumDims", False):
            raise UnsupportedOperatorError(f"layer {layer!r}: FULLY_CONNECTED with "
                                           "keep_num_dims is not supported.")
        x, wt, y = int(op.inputs[0]), int(op.inputs[1]), int(op.outputs[0])
        w, ws = self._weights(layer, wt, 0)
        C, K = w.shape
        src = self.names[x]
        if len(self.g.tensors[x].shape) != 2:
            self.P[f"{layer}:flat"] = np.array([-1, K], np.int64)
            self.nodes.append(Node("Reshape", f"{layer}_flatten", [src, f"{layer}:flat"],
                                   [f"{layer}:in2d"]))
            src = f"{layer}:in2d"
        xs, xz = self.add_qparams(x)
        ys, yz = self.add_qparams(y)
        self.P[f"{layer}:w"] = w
        self.P[f"{layer}:ws"] = ws if ws.size > 1 else np.float32(ws[0])
        self.P[f"{layer}:wz"] = np.zeros(C if ws.size > 1 else (), np.int8)
        bias = self._bias(layer, op, C)
        acc_out = f"{layer}:requantized"
        self.nodes.append(Node("QGemm", layer, [src, xs, xz, f"{layer}:w", f"{layer}:ws",
                                                f"{layer}:wz", bias, ys, yz], [acc_out],
                               {"transB": 1}))
        self._clamp(layer, opt.fusedActivationFunction, acc_out, y)

    def _nchw(self, layer: str, src: str) -> str:
        self.nodes.append(Node("Transpose", f"{layer}_to_nchw", [src], [f"{layer}:nchw_in"],
                               {"perm": [0, 3, 1, 2]}))
        return f"{layer}:nchw_in"

    def _nhwc(self, layer: str, src: str) -> str:
        self.nodes.append(Node("Transpose", f"{layer}_to_nhwc", [src], [f"{layer}:nhwc_out"],
                               {"perm": [0, 2, 3, 1]}))
        return f"{layer}:nhwc_out"

    def _conv(self, layer, op, depthwise: bool):
        opt = op.builtinOptions
        x, wt, y = int(op.inputs[0]), int(op.inputs[1]), int(op.outputs[0])
        w, ws = self._weights(layer, wt, 3 if depthwise else 0)
        cin = int(self.g.tensors[x].shape[3])
        if depthwise:
            # (1, H, W, Cin * m) -> (Cin * m, 1, H, W), one group per input channel
            wk = np.ascontiguousarray(np.transpose(w, (3, 0, 1, 2)))
            group = cin
        else:
            # (O, H, W, I) -> (O, I, H, W)
            wk = np.ascontiguousarray(np.transpose(w, (0, 3, 1, 2)))
            group = cin // w.shape[3]
        C = wk.shape[0]
        xs, xz = self.add_qparams(x)
        ys, yz = self.add_qparams(y)
        self.P[f"{layer}:w"] = wk
        self.P[f"{layer}:ws"] = ws if ws.size > 1 else np.float32(ws[0])
        self.P[f"{layer}:wz"] = np.zeros(C if ws.size > 1 else (), np.int8)
        bias = self._bias(layer, op, C)
        attrs = {"strides": [int(opt.strideH), int(opt.strideW)],
                 "dilations": [int(opt.dilationHFactor), int(opt.dilationWFactor)],
                 "auto_pad": "SAME_UPPER" if int(opt.padding) == 0 else "VALID",
                 "group": group}
        src = self._nchw(layer, self.names[x])
        ins = [src, xs, xz, f"{layer}:w", f"{layer}:ws", f"{layer}:wz", ys, yz]
        self.nodes.append(Node("QLinearConv", layer, ins + ([bias] if bias else []),
                               [f"{layer}:requantized"], attrs))
        out = self._nhwc(layer, f"{layer}:requantized")
        self._clamp(layer, opt.fusedActivationFunction, out, y)

    def _op_conv_2d(self, layer, op):
        self._conv(layer, op, False)

    def _op_depthwise_conv_2d(self, layer, op):
        self._conv(layer, op, True)

    def _op_max_pool_2d(self, layer, op):
        opt = op.builtinOptions
        x, y = int(op.inputs[0]), int(op.outputs[0])
        sx, zx, _ = self.qparams(x)
        sy, zy, _ = self.qparams(y)
        if sx[0] != sy[0] or zx[0] != zy[0]:
            raise UnsupportedOperatorError(f"layer {layer!r}: MAX_POOL_2D with different "
                                           "input and output quantization is not supported.")
        attrs = {"kernel_shape": [int(opt.filterHeight), int(opt.filterWidth)],
                 "strides": [int(opt.strideH), int(opt.strideW)],
                 "auto_pad": "SAME_UPPER" if int(opt.padding) == 0 else "VALID"}
        src = self._nchw(layer, self.names[x])
        self.nodes.append(Node("MaxPool", layer, [src], [f"{layer}:pooled"], attrs))
        out = self._nhwc(layer, f"{layer}:pooled")
        self._clamp(layer, opt.fusedActivationFunction, out, y)

    def _op_softmax(self, layer, op):
        import math

        from ._requant import quantize_multiplier

        x, y = int(op.inputs[0]), int(op.outputs[0])
        sx, _, _ = self.qparams(x)
        sy, zy, _ = self.qparams(y)
        dt = self.dtype(y)
        qmin = int(np.iinfo(dt).min)
        if dt not in (np.int8, np.uint8) or self.dtype(x) != dt or zy[0] != qmin \
                or float(sy[0]) != 1.0 / 256:
            raise UnsupportedOperatorError(
                f"layer {layer!r}: SOFTMAX is supported from int8 to int8 (or uint8 to uint8) "
                f"with output scale 1/256 and zero point {qmin}, as TFLite's converter writes "
                f"it; got scale {float(sy[0])!r}, zero point {int(zy[0])}.")
        beta = float(np.float32(getattr(op.builtinOptions, "beta", 1.0)))
        # PreprocessSoftmaxScaling: beta s_x in Q5.26 as a multiplier >= 1
        real = min(beta * float(sx[0]) * (1 << 26), (1 << 31) - 1.0)
        q, shift = quantize_multiplier(real)
        left = int(shift[0])
        # CalculateInputRadius(5, left, 31): differences below -radius give a zero output
        radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << 26) / (1 << left))
        self.nodes.append(Node("TFLiteSoftmax", layer, [self.names[x]], [self.names[y]],
                               {"q": int(q[0]), "left_shift": left, "diff_min": -radius}))

    def _op_average_pool_2d(self, layer, op):
        opt = op.builtinOptions
        x, y = int(op.inputs[0]), int(op.outputs[0])
        sx, zx, _ = self.qparams(x)
        sy, zy, _ = self.qparams(y)
        if sx[0] != sy[0] or zx[0] != zy[0]:
            raise UnsupportedOperatorError(f"layer {layer!r}: AVERAGE_POOL_2D with different "
                                           "input and output quantization is not supported.")
        attrs = {"kernel_shape": [int(opt.filterHeight), int(opt.filterWidth)],
                 "strides": [int(opt.strideH), int(opt.strideW)],
                 "auto_pad": "SAME_UPPER" if int(opt.padding) == 0 else "VALID"}
        src = self._nchw(layer, self.names[x])
        self.nodes.append(Node("TFLiteAvgPool", layer, [src], [f"{layer}:pooled"], attrs))
        out = self._nhwc(layer, f"{layer}:pooled")
        self._clamp(layer, opt.fusedActivationFunction, out, y)

    def _op_mean(self, layer, op):
        x, ax, y = int(op.inputs[0]), int(op.inputs[1]), int(op.outputs[0])
        axes = self.data(ax)
        shape = [int(s) for s in self.g.tensors[x].shape]
        if axes is None:
            raise UnsupportedOperatorError(f"layer {layer!r}: MEAN needs constant axes.")
        axes = sorted(int(a) % len(shape) for a in np.ravel(axes))
        if 0 in axes:
            raise UnsupportedOperatorError(f"layer {layer!r}: MEAN over the batch axis is not "
                                           "supported.")
        sx, zx, _ = self.qparams(x)
        sy, zy, _ = self.qparams(y)
        count = int(np.prod([shape[a] for a in axes]))
        keep = bool(getattr(op.builtinOptions, "keepDims", False))
        self.nodes.append(Node("TFLiteMean", layer, [self.names[x]], [self.names[y]],
                               {"axes": axes, "keep_dims": keep, "count": count,
                                "sx": float(sx[0]), "zx": int(zx[0]), "sy": float(sy[0]),
                                "zy": int(zy[0])}))

    # -- elementwise operators ----------------------------------------------------------------
    def _src(self, layer: str, t: int) -> str:
        """The name of input tensor *t*; a constant one becomes a parameter."""
        n = self.names[t]
        c = self.data(t)
        if c is not None:
            if c.dtype != np.int8:
                raise UnsupportedOperatorError(f"layer {layer!r}: constant input {n!r} must be "
                                               f"int8, got {c.dtype}.")
            self.P[n] = c
        return n

    def _int8(self, layer: str, name: str, tensors) -> None:
        for t in tensors:
            if self.dtype(t) != np.int8:
                raise UnsupportedOperatorError(
                    f"layer {layer!r}: {name} on {np.dtype(self.dtype(t)).name} tensor "
                    f"{self.names[t]!r} is not supported; supported: int8.")

    def _per_tensor(self, t: int) -> tuple[float, int]:
        s, z, _ = self.qparams(t)
        if s.size != 1:
            raise UnsupportedOperatorError(f"tensor {self.names[t]!r}: per-channel activation "
                                           "quantization is not supported.")
        return float(s[0]), int(z[0])

    def _op_add(self, layer, op):
        a, b, y = int(op.inputs[0]), int(op.inputs[1]), int(op.outputs[0])
        self._int8(layer, "ADD", (a, b, y))
        (sa, za), (sb, zb), (sy, zy) = (self._per_tensor(t) for t in (a, b, y))
        self.nodes.append(Node("TFLiteAdd", layer, [self._src(layer, a), self._src(layer, b)],
                               [f"{layer}:sum"],
                               {"sa": sa, "za": za, "sb": sb, "zb": zb, "sy": sy, "zy": zy}))
        self._clamp(layer, op.builtinOptions.fusedActivationFunction, f"{layer}:sum", y)

    def _op_concatenation(self, layer, op):
        ins = [int(t) for t in op.inputs]
        y = int(op.outputs[0])
        self._int8(layer, "CONCATENATION", ins + [y])
        qy = self._per_tensor(y)
        for t in ins:
            if self._per_tensor(t) != qy:
                raise UnsupportedOperatorError(
                    f"layer {layer!r}: CONCATENATION input {self.names[t]!r} has scale and "
                    f"zero point {self._per_tensor(t)}, the output {qy}; TFLite's int8 kernel "
                    "(both resolvers) requires them equal, and its converter makes them so.")
        opt = op.builtinOptions
        rank = len(self.g.tensors[y].shape)
        axis = int(opt.axis) % rank
        self.nodes.append(Node("TFLiteConcat", layer, [self._src(layer, t) for t in ins],
                               [f"{layer}:joined"], {"axis": axis}))
        self._clamp(layer, opt.fusedActivationFunction, f"{layer}:joined", y)

    def _pad(self, layer, op, v2: bool):
        what = "PADV2" if v2 else "PAD"
        x, p, y = int(op.inputs[0]), int(op.inputs[1]), int(op.outputs[0])
        self._int8(layer, what, (x, y))
        if self._per_tensor(x) != self._per_tensor(y):
            raise UnsupportedOperatorError(f"layer {layer!r}: {what} with different input and "
                                           "output quantization is not supported.")
        pads = self.data(p)
        if pads is None:
            raise UnsupportedOperatorError(f"layer {layer!r}: {what} needs constant paddings.")
        pads = np.asarray(pads, np.int64).reshape(-1, 2)
        if len(pads) != len(self.g.tensors[x].shape) or np.any(pads < 0):
            raise UnsupportedOperatorError(f"layer {layer!r}: {what} paddings {pads.tolist()} "
                                           "are not valid for the input's rank.")
        value = self._per_tensor(y)[1]
        if v2 and len(op.inputs) > 2 and int(op.inputs[2]) >= 0:
            ct = int(op.inputs[2])
            c = self.data(ct)
            if c is None or c.size != 1 or c.dtype != np.int8 \
                    or self._per_tensor(ct) != self._per_tensor(y):
                raise UnsupportedOperatorError(
                    f"layer {layer!r}: PADV2 needs a constant int8 scalar pad value quantized "
                    "as its output.")
            value = int(np.ravel(c)[0])
        self.nodes.append(Node("TFLitePad", layer, [self.names[x]], [self.names[y]],
                               {"pads": pads.tolist(), "value": value}))

    def _op_pad(self, layer, op):
        self._pad(layer, op, False)

    def _op_padv2(self, layer, op):
        self._pad(layer, op, True)

    def _lookup(self, layer, op, kind: str, scale: float, zero_point: int):
        x, y = int(op.inputs[0]), int(op.outputs[0])
        self._int8(layer, kind.upper(), (x, y))
        sx, zx = self._per_tensor(x)
        sy, zy = self._per_tensor(y)
        if np.float32(sy) != np.float32(scale) or zy != zero_point:
            raise UnsupportedOperatorError(
                f"layer {layer!r}: int8 {kind.upper()} needs output scale {scale!r} and zero "
                f"point {zero_point} (TFLite's requirement); got {sy!r}, {zy}.")
        self.nodes.append(Node("TFLiteLookup", layer, [self.names[x]], [self.names[y]],
                               {"kind": kind, "sx": sx, "zx": zx, "sy": sy, "zy": zy}))

    def _op_logistic(self, layer, op):
        self._lookup(layer, op, "logistic", 1.0 / 256, -128)

    def _op_tanh(self, layer, op):
        self._lookup(layer, op, "tanh", 1.0 / 128, 0)
