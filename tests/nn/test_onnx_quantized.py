"""Integer-only execution of quantized ONNX graphs reproduces onnxruntime's integers exactly.

onnxruntime.quantization.quantize_static quantizes float models (QDQ and QOperator,
per-tensor and per-channel, uint8 and int8 activations); fixsim loads the quantized model and
must give the same integer tensor (the one the graph output is dequantized from) on every test
sample, compared by equality."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import fixsim as fx
import fixsim.nn as nn

from .models import (
    cnn,
    init,
    last_quantized_tensor,
    mlp_digits,
    model,
    ort_run,
    quantize,
    with_output,
)

CONFIGS = [(fmt, pc, act) for fmt in ("QDQ", "QOperator") for pc in (False, True)
           for act in ("uint8", "int8")]


@pytest.fixture(scope="module")
def data():
    m, (Xtr, Xte, ytr, yte) = mlp_digits()
    return m, cnn(), Xtr, Xte, yte


def _check(qm, X):
    t = last_quantized_tensor(qm)
    expected = ort_run(with_output(qm, t), X, [t])[0]
    net = nn.load_onnx(qm)
    got = net(X, outputs=t)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), f"{(got != expected).sum()} mismatches"
    return net


@pytest.mark.parametrize("fmt,per_channel,act", CONFIGS)
def test_mlp_quantize_static_bit_exact(data, tmp_path, fmt, per_channel, act):
    m, _, Xtr, Xte, yte = data
    qm = quantize(m, Xtr[:256], tmp_path, fmt=fmt, per_channel=per_channel, activation=act)
    net = _check(qm, Xte)
    assert "QGemm" in [n.op for n in net.nodes]
    # the dequantized float output classifies as well as onnxruntime's
    acc = (net(Xte).argmax(1) == yte).mean()
    assert acc > 0.9


@pytest.mark.parametrize("fmt,per_channel,act", CONFIGS)
def test_cnn_quantize_static_bit_exact(data, tmp_path, fmt, per_channel, act):
    _, c, Xtr, Xte, _ = data
    qm = quantize(c, Xtr[:256].reshape(-1, 1, 8, 8), tmp_path, fmt=fmt,
                  per_channel=per_channel, activation=act)
    net = _check(qm, Xte.reshape(-1, 1, 8, 8))
    assert "QLinearConv" in [n.op for n in net.nodes]


@pytest.mark.parametrize("per_channel,act", [(False, "uint8"), (True, "int8")])
def test_qdq_matmul_add_unfused_bit_exact(data, tmp_path, per_channel, act):
    """Without quant_pre_process the MLP keeps MatMul -> Add: QLinearMatMul plus a float32
    Add between DequantizeLinear and QuantizeLinear."""
    m, _, Xtr, Xte, _ = data
    qm = quantize(m, Xtr[:256], tmp_path, fmt="QDQ", per_channel=per_channel, activation=act,
                  preprocess=False)
    net = _check(qm, Xte)
    assert "QLinearMatMul" in [n.op for n in net.nodes]


def test_quantize_linear_ties_and_saturation():
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1000.0, -1000.0, 0.0]], np.float32)
    for dt, zp in ((TensorProto.INT8, np.int8(3)), (TensorProto.UINT8, np.uint8(128))):
        nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], name="q")]
        g = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 9])],
                              [helper.make_tensor_value_info("y", dt, [1, 9])],
                              [init("s", np.float32(1.0)), init("z", zp)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        expected = ort_run(m, x)[0]
        got = nn.load_onnx(m)(x)
        assert np.array_equal(got, expected)
    # the ONNX rule by hand: round half to even, then + zp, then saturate
    assert nn.quantize_linear([0.5, 1.5, 2.5, -2.5], 1.0, 0).tolist() == [0, 2, 2, -2]


def _int_model(op, x_shape, w, x_zp, w_zp, out_shape, **attrs):
    s = np.float32(0.05)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "xz"], ["xq"], name="q"),
             helper.make_node(op, ["xq", "w", "xz", "wz"], ["y"], name="op", **attrs)]
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, out_shape)],
                          [init("s", s), init("xz", x_zp), init("w", w), init("wz", w_zp)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_matmulinteger_and_convinteger_bit_exact():
    rng = np.random.default_rng(5)
    w = rng.integers(0, 256, (16, 7)).astype(np.uint8)
    m = _int_model("MatMulInteger", [None, 16], w, np.uint8(120), np.uint8(131), [None, 7])
    x = rng.normal(0, 3, (40, 16)).astype(np.float32)
    assert np.array_equal(nn.load_onnx(m)(x), ort_run(m, x)[0])
    wc = rng.integers(0, 256, (5, 3, 3, 3)).astype(np.uint8)
    m = _int_model("ConvInteger", [None, 3, 7, 6], wc, np.uint8(100), np.uint8(128),
                   [None, 5, None, None], pads=[1, 1, 1, 1], strides=[2, 1])
    x = rng.normal(0, 3, (4, 3, 7, 6)).astype(np.float32)
    assert np.array_equal(nn.load_onnx(m)(x), ort_run(m, x)[0])


def test_types_on_quantized_network_is_an_error(data, tmp_path):
    m, _, Xtr, Xte, _ = data
    qm = quantize(m, Xtr[:64], tmp_path)
    net = nn.load_onnx(qm)
    with pytest.raises(ValueError, match="quantized operators"):
        net(Xte, types=fx.TypeTable({'x': 'double'}))


def test_qdq_shape_ops_relu_and_float_ops_bit_exact():
    """Hand-built QDQ chain: DQ -> Relu/Transpose/Reshape -> Q with equal parameters run on
    the integers; DQ -> Sigmoid -> Q and DQ -> Add -> Q run in float32, as onnxruntime does."""
    s, z = np.float32(0.05), np.int8(-3)
    s2, z2 = np.float32(1 / 256), np.int8(-128)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q0"], name="q0"),
             helper.make_node("DequantizeLinear", ["q0", "s", "z"], ["d0"], name="d0"),
             helper.make_node("Relu", ["d0"], ["r"], name="relu"),
             helper.make_node("QuantizeLinear", ["r", "s", "z"], ["q1"], name="q1"),
             helper.make_node("DequantizeLinear", ["q1", "s", "z"], ["d1"], name="d1"),
             helper.make_node("Transpose", ["d1"], ["t"], name="tr", perm=[1, 0]),
             helper.make_node("QuantizeLinear", ["t", "s", "z"], ["q2"], name="q2"),
             helper.make_node("DequantizeLinear", ["q2", "s", "z"], ["d2"], name="d2"),
             helper.make_node("Reshape", ["d2", "shape"], ["rs"], name="rs"),
             helper.make_node("QuantizeLinear", ["rs", "s", "z"], ["q3"], name="q3"),
             helper.make_node("DequantizeLinear", ["q3", "s", "z"], ["d3"], name="d3"),
             helper.make_node("Add", ["d3", "d3"], ["a"], name="add"),
             helper.make_node("Sigmoid", ["a"], ["sg"], name="sig"),
             helper.make_node("QuantizeLinear", ["sg", "s2", "z2"], ["y"], name="q4")]
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.INT8, [3, 8])],
                          [init("s", s), init("z", z), init("s2", s2), init("z2", z2),
                           init("shape", np.array([3, 8], np.int64))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    net = nn.load_onnx(m)
    ops = [n.op for n in net.nodes]
    assert "IntRelu" in ops and "Transpose" in ops and "Sigmoid" in ops
    rng = np.random.default_rng(9)
    for _ in range(20):
        x = rng.normal(0, 3, (6, 4)).astype(np.float32)
        assert np.array_equal(net(x), ort_run(m, x)[0])


def _pool_cnn():
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.5, (6, 1, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 6).astype(np.float32)
    w2 = rng.normal(0, 0.5, (10, 6)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("AveragePool", ["r"], ["ap"], name="ap", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["ap"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="fl"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1)]
    from .models import model
    return model(nodes, [init(k, v) for k, v in (("w1", w1), ("b1", b1), ("w2", w2),
                                                  ("b2", b2))], [None, 1, 8, 8],
                 y_shape=[None, 10])


@pytest.mark.parametrize("fmt,per_channel,act", CONFIGS)
def test_average_pools_bit_exact(data, tmp_path, fmt, per_channel, act):
    """AveragePool (3x3, padding excluded from the count: windows of 4, 6 and 9) and
    GlobalAveragePool: onnxruntime runs them as QLinearAveragePool (float32 window sums of the
    dequantized values in kernel order, / count, QuantizeLinear) and QLinearGlobalAveragePool
    (integer sum requantized by f32(s_x / f32(s_y N)))."""
    _, _, Xtr, Xte, _ = data
    qm = quantize(_pool_cnn(), Xtr[:256].reshape(-1, 1, 8, 8), tmp_path, fmt=fmt,
                  per_channel=per_channel, activation=act)
    net = _check(qm, Xte.reshape(-1, 1, 8, 8))
    ops = [n.op for n in net.nodes]
    assert "QLinearAveragePool" in ops and "QLinearGlobalAveragePool" in ops


def _mobilenet_block():
    rng = np.random.default_rng(3)

    def r(*s, sc=0.4):
        return rng.normal(0, sc, s).astype(np.float32)
    inits = {"w1": r(8, 1, 3, 3), "b1": r(8, sc=0.1), "g": np.abs(r(8)) + 0.5,
             "be": r(8, sc=0.1), "m": r(8, sc=0.1), "v": np.abs(r(8)) + 0.5,
             "dw": r(8, 1, 3, 3), "db": r(8, sc=0.1), "pw": r(12, 8, 1, 1), "pb": r(12, sc=0.1),
             "lo": np.float32(0), "hi": np.float32(6), "w2": r(10, 12), "b2": r(10, sc=0.1)}
    mk = helper.make_node
    nodes = [mk("Conv", ["x", "w1", "b1"], ["c1"], name="c1", pads=[1, 1, 1, 1], strides=[2, 2]),
             mk("BatchNormalization", ["c1", "g", "be", "m", "v"], ["bn"], name="bn"),
             mk("Clip", ["bn", "lo", "hi"], ["r6"], name="relu6"),
             mk("Conv", ["r6", "dw", "db"], ["d1"], name="dw", pads=[1, 1, 1, 1], group=8),
             mk("Relu", ["d1"], ["r2"], name="r2"),
             mk("Conv", ["r2", "pw", "pb"], ["p1"], name="pw"),
             mk("Relu", ["p1"], ["r3"], name="r3"),
             mk("GlobalAveragePool", ["r3"], ["g1"], name="gap"),
             mk("Flatten", ["g1"], ["f"], name="fl"),
             mk("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1)]
    from .models import model
    return model(nodes, [init(k, v) for k, v in inits.items()], [None, 1, 8, 8],
                 y_shape=[None, 10])


@pytest.mark.parametrize("fmt,per_channel,act", CONFIGS)
def test_mobilenet_style_block_bit_exact(data, tmp_path, fmt, per_channel, act):
    """Stride-2 conv + BatchNormalization + ReLU6, depthwise (group = channels) and pointwise
    convs, global average pool, Gemm."""
    _, _, Xtr, Xte, _ = data
    qm = quantize(_mobilenet_block(), Xtr[:256].reshape(-1, 1, 8, 8), tmp_path, fmt=fmt,
                  per_channel=per_channel, activation=act)
    _check(qm, Xte.reshape(-1, 1, 8, 8))


def _conv1d_net():
    rng = np.random.default_rng(5)

    def r(*s, sc=0.4):
        return rng.normal(0, sc, s).astype(np.float32)
    inits = {"w1": r(6, 1, 5), "b1": r(6, sc=0.1), "w2": r(4, 6, 3), "b2": r(4, sc=0.1),
             "w3": r(10, 4 * 16), "b3": r(10, sc=0.1), "sh": np.array([0, -1], np.int64)}
    mk = helper.make_node
    nodes = [mk("Conv", ["x", "w1", "b1"], ["c1"], name="c1", pads=[2, 2]),
             mk("Relu", ["c1"], ["r1"], name="r1"),
             mk("MaxPool", ["r1"], ["p1"], name="p1", kernel_shape=[2], strides=[2]),
             mk("Conv", ["p1", "w2", "b2"], ["c2"], name="c2", pads=[2, 2], dilations=[2]),
             mk("Relu", ["c2"], ["r2"], name="r2"),
             mk("MaxPool", ["r2"], ["p2"], name="p2", kernel_shape=[2], strides=[2]),
             mk("Reshape", ["p2", "sh"], ["f"], name="rs"),
             mk("Gemm", ["f", "w3", "b3"], ["y"], name="fc", transB=1)]
    from .models import model
    return model(nodes, [init(k, v) for k, v in inits.items()], [None, 1, 64],
                 y_shape=[None, 10])


@pytest.mark.parametrize("fmt,per_channel,act", CONFIGS)
def test_conv1d_net_bit_exact(data, tmp_path, fmt, per_channel, act):
    """1-D convolutions (padding, dilation), 1-D max pools, Reshape, Gemm."""
    _, _, Xtr, Xte, _ = data
    qm = quantize(_conv1d_net(), Xtr[:256].reshape(-1, 1, 64), tmp_path, fmt=fmt,
                  per_channel=per_channel, activation=act)
    _check(qm, Xte.reshape(-1, 1, 64))


# -- issue 6 regression: int8 QDQ convolutions onnxruntime leaves in float on x86 -----------------
def _residual_cnn(seed: int):
    """A residual CNN whose conv outputs feed several consumers (the stress-test network)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    w1 = rng.normal(0, 0.4, (4, 1, 3, 3)).astype(f32)
    w2 = rng.normal(0, 0.3, (4, 4, 3, 3)).astype(f32)
    w3 = rng.normal(0, 0.3, (4, 4, 3, 3)).astype(f32)
    cb = rng.normal(0, 0.5, (1, 4, 1, 1)).astype(f32)
    wf = rng.normal(0, 0.3, (8, 10)).astype(f32)
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        mk("Relu", ["c1"], ["r1"], name="relu1"),
        mk("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        mk("Relu", ["c2"], ["r2"], name="relu2"),
        mk("Conv", ["r2", "w3"], ["c3"], pads=[1, 1, 1, 1], name="conv3"),
        mk("Add", ["r1", "c3"], ["s1"], name="residual"),
        mk("Add", ["s1", "cb"], ["s2"], name="bias_add"),
        mk("Add", ["cb", "s2"], ["s3"], name="bias_add_left"),
        mk("Relu", ["s3"], ["r3"], name="relu3"),
        mk("Mul", ["r3", "r1"], ["gate"], name="gate_mul"),
        mk("LeakyRelu", ["c2"], ["lk"], alpha=0.1, name="leaky"),
        mk("Concat", ["gate", "lk"], ["cat"], axis=1, name="concat"),
        mk("Sigmoid", ["cat"], ["sg"], name="sigmoid"),
        mk("GlobalAveragePool", ["sg"], ["g"], name="gap"),
        mk("Flatten", ["g"], ["f"], name="flat"),
        mk("MatMul", ["f", "wf"], ["y"], name="fc"),
    ]
    inits = [init("w1", w1), init("w2", w2), init("w3", w3), init("cb", cb), init("wf", wf)]
    return model(nodes, inits, [None, 1, 8, 8])


def _ort_optimized_ops(qm, tmp_path) -> dict[str, str]:
    """Operator of every Conv/MatMul/Add/Mul/LeakyRelu node in onnxruntime's optimized graph."""
    import onnx
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.optimized_model_filepath = str(tmp_path / "ort_optimized.onnx")
    ort.InferenceSession(qm.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = ("conv1", "conv2", "conv3", "residual", "bias_add", "bias_add_left", "gate_mul",
             "leaky", "fc")
    ops = {}
    for n in onnx.load(so.optimized_model_filepath).graph.node:
        base = n.name.split("_token_")[0]
        if base in names:
            ops[base] = n.op_type
    return ops


def test_int8_qdq_conv_left_in_float_by_onnxruntime_regression_issue6(tmp_path):
    """Issue 6: on the seed-1007 residual CNN (QDQ, int8 activations, per channel) fixsim was one
    below onnxruntime at r1[61, 1, 2, 1] and downstream. Cause: onnxruntime on x86 does not
    fuse a Conv with int8 activations into QLinearConv (QDQIsInt8Allowed() is false); only
    Q -> DQ pairs its QDQS8ToU8Transformer can rewrite to uint8 (single consumer, not a graph
    output) are fused. conv1 therefore runs as a float32 Conv on dequantized values, whose sum
    127.49999 (in units of r1's scale) rounds to 127, while the integer requantization
    f32(52422) * f32(sx * sw[1] / sy) lands on 127.500015 and rounds to 128."""
    from .models import digits
    Xtr, Xte, _, _ = digits()
    X = Xte.reshape(-1, 1, 8, 8)
    qm = quantize(_residual_cnn(1007), Xtr[350:606].reshape(-1, 1, 8, 8), tmp_path, fmt="QDQ",
                  activation="int8", per_channel=True)
    # fixsim fuses exactly the groups onnxruntime fuses in the model as given
    ort_ops = _ort_optimized_ops(qm, tmp_path)
    net = nn.load_onnx(qm)
    fx_ops = {n.name: n.op for n in net.nodes if n.name in ort_ops}
    assert ort_ops == {"conv1": "Conv", "conv2": "Conv", "conv3": "QLinearConv",
                       "residual": "Add", "bias_add": "Add", "bias_add_left": "Add",
                       "gate_mul": "Mul", "leaky": "LeakyRelu", "fc": "QLinearMatMul"}
    assert fx_ops == ort_ops
    y = net(X)
    assert np.array_equal(y, ort_run(qm, X, ["y"])[0])
    # every quantized tensor: exposing a Q output stops onnxruntime's int8 -> uint8 rewrite of
    # that pair, so both sides run the exposed graph (all int8 Conv/MatMul then run in float)
    names = [o for n in qm.graph.node if n.op_type == "QuantizeLinear" for o in n.output]
    exposed = qm
    for t in names:
        exposed = with_output(exposed, t)
    exp = ort_run(exposed, X, names)
    net_e = nn.load_onnx(exposed)
    assert [n.op for n in net_e.nodes if n.name in ("conv1", "conv2", "conv3", "fc")] \
        == ["Conv", "Conv", "Conv", "MatMul"]
    got = net_e(X, outputs=names)
    assert exp[names.index("r1_QuantizeLinear_Output")][61, 1, 2, 1] == -1
    for t, e in zip(names, exp, strict=True):
        assert got[t].dtype == e.dtype and got[t].shape == e.shape, t
        assert np.array_equal(got[t], e), f"{t}: {(got[t] != e).sum()} mismatches of {e.size}"
