"""Double mode against onnxruntime's float output (1e-5 relative), operator by operator and on
whole networks; loader errors and rewrites."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import fixsim.nn as nn

from .models import cnn, init, mlp_digits, model, ort_run

RTOL = 1e-5


def _close(y, yo):
    y, yo = np.asarray(y, np.float64), np.asarray(yo, np.float64)
    assert y.shape == yo.shape
    scale = max(np.abs(yo).max(), 1e-30)
    assert np.abs(y - yo).max() <= RTOL * scale, np.abs(y - yo).max() / scale


def _one(op, x_shape, inits=(), extra_inputs=(), y_shape=None, **attrs):
    node = helper.make_node(op, ["x", *extra_inputs], ["y"], name=f"the_{op}", **attrs)
    return model([node], [init(n, v) for n, v in inits], list(x_shape),
                 y_shape=y_shape or [None] * len(x_shape))


rng = np.random.default_rng(1)


def _x(*shape):
    return rng.normal(0, 1, shape).astype(np.float32)


CASES = {
    "relu": (_one("Relu", [3, 5]), _x(3, 5)),
    "clip": (_one("Clip", [3, 5], [("lo", np.float32(-0.5)), ("hi", np.float32(0.7))],
                  ["lo", "hi"]), _x(3, 5)),
    "leaky": (_one("LeakyRelu", [3, 5], alpha=0.1), _x(3, 5)),
    "sigmoid": (_one("Sigmoid", [3, 5]), _x(3, 5)),
    "tanh": (_one("Tanh", [3, 5]), _x(3, 5)),
    "softmax": (_one("Softmax", [3, 5], axis=-1), _x(3, 5)),
    "add": (_one("Add", [3, 5], [("c", _x(5))], ["c"]), _x(3, 5)),
    "mul": (_one("Mul", [3, 5], [("c", _x(5))], ["c"]), _x(3, 5)),
    "matmul": (_one("MatMul", [3, 5], [("w", _x(5, 4))], ["w"], y_shape=[None, None]), _x(3, 5)),
    "gemm": (_one("Gemm", [3, 5], [("w", _x(4, 5)), ("b", _x(4))], ["w", "b"],
                  y_shape=[None, None], transB=1, alpha=0.5, beta=2.0), _x(3, 5)),
    "conv2d": (_one("Conv", [2, 4, 9, 7], [("w", _x(6, 2, 3, 2)), ("b", _x(6))], ["w", "b"],
                    group=2, pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2]),
               _x(2, 4, 9, 7)),
    "conv1d": (_one("Conv", [2, 3, 11], [("w", _x(4, 3, 3))], ["w"], pads=[1, 1],
                    strides=[2], dilations=[2]), _x(2, 3, 11)),
    "conv_same": (_one("Conv", [1, 2, 7, 7], [("w", _x(3, 2, 3, 3))], ["w"],
                       auto_pad="SAME_UPPER", strides=[2, 2]), _x(1, 2, 7, 7)),
    "depthwise": (_one("Conv", [1, 3, 6, 6], [("w", _x(3, 1, 3, 3))], ["w"], group=3),
                  _x(1, 3, 6, 6)),
    "maxpool": (_one("MaxPool", [2, 3, 7, 6], kernel_shape=[3, 2], strides=[2, 2],
                     pads=[1, 0, 1, 0]), _x(2, 3, 7, 6)),
    "avgpool": (_one("AveragePool", [2, 3, 7, 6], kernel_shape=[3, 3], strides=[2, 2],
                     pads=[1, 1, 1, 1]), _x(2, 3, 7, 6)),
    "avgpool_incl": (_one("AveragePool", [2, 3, 7, 6], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                          count_include_pad=1), _x(2, 3, 7, 6)),
    "gap": (_one("GlobalAveragePool", [2, 3, 5, 4]), _x(2, 3, 5, 4)),
    "bn": (_one("BatchNormalization", [2, 3, 4, 4],
                [("g", _x(3)), ("b", _x(3)), ("m", _x(3)),
                 ("v", np.abs(_x(3)) + 0.5)], ["g", "b", "m", "v"]), _x(2, 3, 4, 4)),
    "flatten": (_one("Flatten", [2, 3, 4], axis=1, y_shape=[None, None]), _x(2, 3, 4)),
    "reshape": (_one("Reshape", [2, 12], [("s", np.array([0, 3, -1], np.int64))], ["s"],
                     y_shape=[None, None, None]), _x(2, 12)),
    "transpose": (_one("Transpose", [2, 3, 4], perm=[2, 0, 1]), _x(2, 3, 4)),
    "concat": (_one("Concat", [2, 3], [("c", _x(2, 2))], ["c"], axis=1), _x(2, 3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_operator_matches_onnxruntime(case):
    m, x = CASES[case]
    net = nn.load_onnx(m)
    _close(net(x), ort_run(m, x)[0])


def test_batchnorm_folds_into_conv_and_gemm():
    w = _x(4, 2, 3, 3)
    bn = [("g", _x(4)), ("b", _x(4)), ("m", _x(4)), ("v", np.abs(_x(4)) + 0.5)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"],
                              name="bn", epsilon=1e-3)]
    m = model(nodes, [init("w", w)] + [init(n, v) for n, v in bn], [2, 2, 6, 6],
              y_shape=[None] * 4)
    net = nn.load_onnx(m)
    assert [n.op for n in net.nodes] == ["Conv"]
    x = _x(2, 2, 6, 6)
    _close(net(x), ort_run(m, x)[0])
    nodes = [helper.make_node("Gemm", ["x", "w2", "b2"], ["c"], name="fc", transB=1),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"],
                              name="bn")]
    m = model(nodes, [init("w2", _x(4, 5)), init("b2", _x(4))]
              + [init(n, v) for n, v in bn], [3, 5], y_shape=[None, None])
    net = nn.load_onnx(m)
    assert [n.op for n in net.nodes] == ["Gemm"]
    x = _x(3, 5)
    _close(net(x), ort_run(m, x)[0])


def test_digits_mlp_and_cnn_match_onnxruntime():
    m, (_, Xte, _, yte) = mlp_digits()
    net = nn.load_onnx(m)
    assert net.layers == ["fc0", "relu0", "fc1", "relu1", "fc2"]
    y = net(Xte)
    _close(y, ort_run(m, Xte)[0])
    assert (y.argmax(1) == yte).mean() > 0.9
    c = cnn()
    x = Xte.reshape(-1, 1, 8, 8)
    _close(nn.load_onnx(c)(x), ort_run(c, x)[0])


def test_load_from_path_and_bytes(tmp_path):
    m, x = CASES["conv2d"]
    p = tmp_path / "m.onnx"
    onnx.save(m, p)
    a = nn.load_onnx(p)(x)
    b = nn.load_onnx(m.SerializeToString())(x)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="no such file"):
        nn.load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="path must be"):
        nn.load_onnx(3.5)


def test_unsupported_operator_names_operator_node_and_list():
    node = helper.make_node("Elu", ["x"], ["y"], name="my_elu")
    m = model([node], [], [2, 3], y_shape=[None, None])
    with pytest.raises(nn.UnsupportedOperatorError) as e:
        nn.load_onnx(m)
    msg = str(e.value)
    assert "'Elu'" in msg and "'my_elu'" in msg and "Gemm" in msg and "QLinearConv" in msg


def test_unnamed_and_dotted_node_names():
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Relu", ["a"], ["y"], name="block.relu")]
    net = nn.load_onnx(model(nodes, [], [2, 3], y_shape=[None, None]))
    assert net.layers == ["Relu_0", "block_relu"]


def test_intermediate_outputs_and_bad_inputs():
    c = cnn()
    net = nn.load_onnx(c)
    x = _x(3, 1, 8, 8)
    out = net(x, outputs=["p1", "y"])
    assert out["p1"].shape == (3, 4, 4, 4)
    _close(out["y"], ort_run(c, x)[0])
    with pytest.raises(KeyError, match="nope"):
        net(x, outputs="nope")
    with pytest.raises(ValueError, match="NaN"):
        net(np.full((1, 1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="runtime='bogus'"):
        net(x, runtime="bogus")


@settings(max_examples=40)
@given(st.data())
def test_conv_and_pool_parameters_match_onnxruntime(data):
    """Random 1-D/2-D convolutions (groups, pads, strides, dilations) and pools."""
    nsp = data.draw(st.sampled_from([1, 2]))
    g = data.draw(st.sampled_from([1, 2, 3]))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    k = [data.draw(st.integers(1, 3)) for _ in range(nsp)]
    s = [data.draw(st.integers(1, 3)) for _ in range(nsp)]
    d = [data.draw(st.integers(1, 2)) for _ in range(nsp)]
    p = [data.draw(st.integers(0, 2)) for _ in range(2 * nsp)]
    size = [data.draw(st.integers((k[i] - 1) * d[i] + 1, 9)) for i in range(nsp)]
    shape = [2, cin] + size
    w = _x(cout, cin // g, *k)
    m = _one("Conv", shape, [("w", w), ("b", _x(cout))], ["w", "b"], group=g, pads=p,
             strides=s, dilations=d)
    x = _x(*shape)
    _close(nn.load_onnx(m)(x), ort_run(m, x)[0])
    pk = [min(kk, 2) for kk in k]
    pp = [min(pv, pk[i % nsp] - 1) for i, pv in enumerate(p)]  # ONNX: pad < kernel
    ceil = data.draw(st.integers(0, 1))
    for op, extra in (("MaxPool", {}), ("AveragePool", {"count_include_pad":
                                                        data.draw(st.integers(0, 1))})):
        m = _one(op, shape, kernel_shape=pk, strides=s, pads=pp, ceil_mode=ceil, **extra)
        ref = ort_run(m, x)[0]
        got = nn.load_onnx(m)(x)
        assert got.shape == ref.shape, (op, ceil, got.shape, ref.shape)
        _close(got, ref)


def test_regression_bad_bytes_are_refused_at_load():
    """Bug (found by the independent CNN review): ``load_onnx(b"garbage")`` raised
    protobuf's raw ``DecodeError``; it now fails in ``load_onnx`` with a message naming the
    problem. (The same test refused ``ceil_mode=1`` pools at load, before they were
    supported: see ``test_conv_and_pool_parameters_match_onnxruntime``.)"""
    with pytest.raises(ValueError, match="not a serialized ONNX model"):
        nn.load_onnx(b"garbage")
