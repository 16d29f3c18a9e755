"""ONNX models built with onnx.helper for the fixsim.nn tests (no fixsim code involved)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def init(name: str, arr) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(arr), name)


def model(nodes, inits, x_shape, y_name="y", x_name="x", opset=OPSET, y_shape=(None, None)) -> onnx.ModelProto:
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def digits():
    """sklearn digits /16, 75/25 stratified split (random_state 0), float32."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return train_test_split(X, d.target, test_size=0.25, random_state=0, stratify=d.target)


def mlp_digits():
    """A (64, 32) ReLU MLP trained by sklearn on digits, as MatMul/Add/Relu ONNX."""
    from sklearn.neural_network import MLPClassifier
    Xtr, Xte, ytr, yte = digits()
    clf = MLPClassifier((64, 32), activation="relu", max_iter=300, random_state=0)
    clf.fit(Xtr, ytr)
    nodes, inits, prev = [], [], "x"
    L = len(clf.coefs_)
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_, strict=True)):
        inits += [init(f"W{i}", W.astype(np.float32)), init(f"b{i}", b.astype(np.float32))]
        nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"mm{i}"], name=f"fc{i}"))
        out = "y" if i == L - 1 else f"a{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out], name=f"fc{i}_bias"))
        if i < L - 1:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
    return model(nodes, inits, [None, 64], y_shape=[None, 10]), (Xtr, Xte, ytr, yte)


def cnn(seed: int = 0):
    """A small random-weight CNN on 1x8x8 images: Conv(pad 1)+Relu, MaxPool 2, Conv(groups 2)
    +Relu, Flatten, Gemm+Relu, Gemm."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 4).astype(np.float32)
    w2 = rng.normal(0, 0.3, (8, 2, 3, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 8).astype(np.float32)
    w3 = rng.normal(0, 0.2, (24, 8 * 2 * 2)).astype(np.float32)
    b3 = rng.normal(0, 0.1, 24).astype(np.float32)
    w4 = rng.normal(0, 0.3, (10, 24)).astype(np.float32)
    b4 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", group=2),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["g3"], name="fc3", transB=1),
        helper.make_node("Relu", ["g3"], ["r3"], name="relu3"),
        helper.make_node("Gemm", ["r3", "w4", "b4"], ["y"], name="fc4", transB=1),
    ]
    inits = [init(n, v) for n, v in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2),
                                      ("w3", w3), ("b3", b3), ("w4", w4), ("b4", b4))]
    return model(nodes, inits, [None, 1, 8, 8], y_shape=[None, 10])


def ort_run(m: onnx.ModelProto, x, outputs=None, optimize: bool = True):
    """Run *m* with onnxruntime's CPU provider (basic+extended optimisation, one thread)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(outputs, {name: np.asarray(x, dtype=np.float32)})


def quantize(m: onnx.ModelProto, calib: np.ndarray, tmpdir, *, fmt: str = "QDQ",
             per_channel: bool = False, activation: str = "uint8", weight: str = "int8",
             preprocess: bool = True) -> onnx.ModelProto:
    """onnxruntime.quantization.quantize_static on *m* with MinMax calibration over *calib*."""
    import os

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": calib[i:i + 32]} for i in range(0, len(calib), 32)])

        def get_next(self):
            return next(self.it, None)

    src = os.path.join(tmpdir, "float.onnx")
    onnx.save(m, src)
    if preprocess:
        pre = os.path.join(tmpdir, "pre.onnx")
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        src = pre
    dst = os.path.join(tmpdir, f"q_{fmt}_{per_channel}_{activation}_{weight}.onnx")
    qt = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    quantize_static(src, dst, Reader(),
                    quant_format=QuantFormat.QDQ if fmt == "QDQ" else QuantFormat.QOperator,
                    per_channel=per_channel, activation_type=qt[activation],
                    weight_type=qt[weight])
    return onnx.load(dst)


def last_quantized_tensor(m: onnx.ModelProto) -> str:
    """The integer tensor the graph output is dequantized from."""
    out = m.graph.output[0].name
    for n in m.graph.node:
        if out in n.output:
            assert n.op_type == "DequantizeLinear", n.op_type
            return n.input[0]
    raise AssertionError("no producer of the graph output")


def with_output(m: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """A copy of *m* that also outputs tensor *name*."""
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    m2.graph.output.append(helper.make_empty_tensor_value_info(name))
    return m2


def assert_close(y, yo, rtol=1e-5):
    """*y* has *yo*'s shape and is within ``rtol`` of it, relative to ``max(max|yo|, 1)``."""
    y, yo = np.asarray(y, np.float64), np.asarray(yo, np.float64)
    assert y.shape == yo.shape, (y.shape, yo.shape)
    scale = max(float(np.abs(yo).max()) if yo.size else 0.0, 1.0)
    assert float(np.abs(y - yo).max()) <= rtol * scale


def assert_derived_contain_runs(net, T, shape, seed: int, bound: float) -> None:
    """``derive_ranges`` over inputs in ``[-bound, bound]`` contains every recorded signal's
    range, under the fixed table *T* and under ``T.as_double()``, on random, constant and
    corner inputs."""
    import fixsim as fx
    import fixsim.nn as nn
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-bound, bound, shape), np.full(shape, bound), np.full(shape, -bound),
          np.where(rng.random(shape) < 0.5, -bound, bound)]
    lo, hi = np.full(shape, -bound), np.full(shape, bound)
    for table in (T, T.as_double()):
        d = nn.derive_ranges(net, lo, hi, types=table)
        for x in xs:
            with fx.tool.record() as rec:
                net(x, types=table)
            for name in rec.names:
                s = rec[name]
                assert d[name][0] <= s.min and s.max <= d[name][1], (name, d[name], s.min,
                                                                     s.max)
