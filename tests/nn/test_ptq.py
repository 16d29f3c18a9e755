"""fixsim's own post-training quantization: the integer network it builds, written out as an
ONNX graph (QuantizeLinear, QLinearConv, com.microsoft QGemm, ...) and run by onnxruntime,
gives exactly fixsim's integers; and every runtime's mode classifies like double."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import fixsim.nn as nn

from .models import cnn, mlp_digits, ort_run


def to_onnx(net: nn.Network, out: str) -> onnx.ModelProto:
    """The quantized network's nodes as an ONNX graph whose output is the integer tensor."""
    nodes = []
    for n in net.nodes:
        if n.op == "DequantizeLinear" and n.outputs == net.outputs:
            continue
        dom = "com.microsoft" if n.op == "QGemm" else ""
        nodes.append(helper.make_node(n.op, n.inputs, n.outputs, name=n.name, domain=dom,
                                      **n.attrs))
    used = {i for n in nodes for i in n.input}
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in net.params.items()
             if k in used]
    g = helper.make_graph(nodes, "q", [helper.make_tensor_value_info(
        net.inputs[0], onnx.TensorProto.FLOAT, None)],
        [helper.make_empty_tensor_value_info(out)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m


@pytest.fixture(scope="module")
def data():
    m, (Xtr, Xte, ytr, yte) = mlp_digits()
    return nn.load_onnx(m), nn.load_onnx(cnn()), Xtr, Xte, yte


@pytest.mark.parametrize("which", ["mlp", "cnn"])
@pytest.mark.parametrize("per_channel,acts", [(True, "int8"), (False, "uint8")])
def test_fixsim_quantized_network_runs_bit_exact_in_onnxruntime(data, which, per_channel,
                                                                acts):
    mlp, c, Xtr, Xte, _ = data
    net, X, C = (mlp, Xte, Xtr) if which == "mlp" else \
        (c, Xte.reshape(-1, 1, 8, 8), Xtr.reshape(-1, 1, 8, 8))
    q = nn.quantize(net, C[:300], per_channel=per_channel, activations=acts)
    last = [n for n in q.nodes if n.outputs == q.outputs][0].inputs[0]
    got = q(X, outputs=last)
    exp = ort_run(to_onnx(q, last), X)[0]
    assert got.dtype == exp.dtype
    assert np.array_equal(got, exp)


@pytest.mark.parametrize("observer", sorted(nn.OBSERVERS))
def test_every_runtime_and_observer_classifies_like_double(data, observer):
    mlp, _, Xtr, Xte, yte = data
    y0 = mlp(Xte).argmax(1)
    q = nn.quantize(mlp, Xtr, observer=observer)
    for rt in nn.RUNTIMES:
        y = q(Xte, runtime=rt)
        assert (y.argmax(1) == y0).mean() > 0.95, rt


def test_runtimes_differ_where_their_rounding_differs(data):
    """The five requantizers are really different: on the CNN's int8 outputs at least two of
    them disagree somewhere (a mode that silently fell back to another would not)."""
    _, c, Xtr, Xte, _ = data
    q = nn.quantize(c, Xtr.reshape(-1, 1, 8, 8)[:300])
    last = [n for n in q.nodes if n.outputs == q.outputs][0].inputs[0]
    X = Xte.reshape(-1, 1, 8, 8)
    outs = {rt: q(X, outputs=last, runtime=rt) for rt in nn.RUNTIMES}
    assert not np.array_equal(outs["tflite"], outs["tflite-double-rounding"])
    for rt, o in outs.items():
        assert np.abs(o.astype(int) - outs["onnxruntime"].astype(int)).max() <= 2, rt


def test_explicit_qparams_and_errors(data):
    mlp, _, Xtr, Xte, _ = data
    q = nn.quantize(mlp, Xtr[:100], qparams={"x": (1 / 255, -128)})
    assert float(q.params["x:scale"]) == np.float32(1 / 255)
    assert int(q.params["x:zp"]) == -128
    with pytest.raises(ValueError, match="observer='kl'"):
        nn.quantize(mlp, Xtr, observer="kl")
    with pytest.raises(ValueError, match="activations='int4'"):
        nn.quantize(mlp, Xtr, activations="int4")
    with pytest.raises(ValueError, match="already quantized"):
        nn.quantize(q, Xtr)
    with pytest.raises(ValueError, match="empty"):
        nn.quantize(mlp, Xtr[:0])


def test_progress_bar_and_observer_factory(data):
    mlp, _, Xtr, Xte, _ = data
    made = []

    def factory():
        o = nn.MinMaxObserver()
        made.append(o)
        return o
    q = nn.quantize(mlp, Xtr[:600], observer=factory, batch_size=200, progress=True)
    assert made and all(o.batches == 3 for o in made)
    # the same min/max as the named observer
    q2 = nn.quantize(mlp, Xtr[:600], observer="minmax")
    assert np.array_equal(q(Xte, outputs=q.nodes[-1].inputs[0]),
                          q2(Xte, outputs=q2.nodes[-1].inputs[0]))


def test_tflite_reference_mixes_double_rounding_conv_and_single_rounding_fc(data):
    """'tflite-reference': every QLinearConv requantizes as 'tflite-double-rounding', every
    QGemm as 'tflite' (checked layer by layer on the layer's own integer input)."""
    _, c, Xtr, Xte, _ = data
    q = nn.quantize(c, Xtr.reshape(-1, 1, 8, 8)[:300])
    X = Xte.reshape(-1, 1, 8, 8)
    names = [n.outputs[0] for n in q.nodes]
    ref = q(X, runtime="tflite-reference", outputs=names)
    for n in q.nodes:
        if n.op not in ("QLinearConv", "QGemm"):
            continue
        single = nn.Network([n], q.params, [n.inputs[0]], n.outputs)
        mode = "tflite-double-rounding" if n.op == "QLinearConv" else "tflite"
        got = single({n.inputs[0]: ref[n.inputs[0]]}, runtime=mode)
        assert np.array_equal(got, ref[n.outputs[0]]), n.name


def test_int16_activations(data):
    mlp, _, Xtr, Xte, yte = data
    q = nn.quantize(mlp, Xtr, activations="int16")
    last = q.nodes[-1].inputs[0]
    y = q(Xte, outputs=last)
    assert y.dtype == np.int16
    assert nn.accuracy(q(Xte), yte) >= nn.accuracy(mlp(Xte), yte) - 0.01


def test_explicit_weight_scales_per_channel_and_per_tensor(data):
    """qparams['<layer>.weight']: the given weight scales are used as they are (per channel
    or per tensor, zero point 0); the network still runs bit-exactly in onnxruntime."""
    mlp, _, Xtr, Xte, _ = data
    fc0 = mlp.node("fc0")
    w = np.asarray(mlp.params[fc0.inputs[1]], np.float64)        # (K, N): channels on axis 1
    rng = np.random.default_rng(4)
    s0 = (np.abs(w).max(axis=0) / 127 * rng.uniform(1.0, 1.5, w.shape[1])).astype(np.float32)
    q = nn.quantize(mlp, Xtr[:300], qparams={"fc0.weight": s0, "fc1.weight": 0.01,
                                             "x": (1 / 255, -128)})
    assert np.array_equal(q.params["fc0:ws"], s0)
    assert float(q.params["fc1:ws"]) == np.float32(0.01)
    expect = np.clip(np.rint(w / s0.astype(np.float64)), -127, 127)
    assert np.array_equal(q.params["fc0:wq"], expect)
    last = [n for n in q.nodes if n.outputs == q.outputs][0].inputs[0]
    assert np.array_equal(q(Xte, outputs=last), ort_run(to_onnx(q, last), Xte)[0])
    with pytest.raises(ValueError, match=r"qparams\['fc0.weight'\] must be one finite"):
        nn.quantize(mlp, Xtr[:100], qparams={"fc0.weight": [0.1, 0.2]})
    with pytest.raises(ValueError, match="not linear layers; valid: fc0.weight"):
        nn.quantize(mlp, Xtr[:100], qparams={"relu0.weight": 0.1})
