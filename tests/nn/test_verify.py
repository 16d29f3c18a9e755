"""nn.verify: top-1 accuracy per mode on a labelled set and per-layer SQNR against double."""

from __future__ import annotations

import numpy as np
import pytest

import fixsim as fx
import fixsim.nn as nn

from .models import mlp_digits, ort_run


@pytest.fixture(scope="module")
def setup():
    m, (Xtr, Xte, ytr, yte) = mlp_digits()
    net = nn.load_onnx(m)
    T = net.type_table("double")
    with fx.tool.record() as rec:
        net(Xtr[:512], types=T)
    T16 = fx.tool.propose(rec, T, word_length=16).types
    T8 = fx.tool.propose(rec, T, word_length=8).types
    qnet = nn.quantize(net, Xtr[:512])
    return m, net, T16, T8, qnet, Xte, yte


def _sqnr(r, t):
    r, t = np.asarray(r, np.float64), np.asarray(t, np.float64)
    return 10 * np.log10(np.sum(r ** 2) / np.sum((r - t) ** 2))


def test_accuracy_per_mode(setup):
    m, net, T16, T8, qnet, X, y = setup
    v = nn.verify(net, X, y, types={"fixed 16-bit": T16, "fixed 8-bit": T8}, quantized=qnet,
                  runtimes=["tflite", "onnxruntime"])
    assert list(v.accuracy) == ["double", "fixed 16-bit", "fixed 8-bit", "int8 (tflite)",
                                "int8 (onnxruntime)"]
    # double: the labels against onnxruntime's own float run of the same model
    assert v.accuracy["double"] == np.mean(ort_run(m, X)[0].argmax(1) == y)
    assert v.accuracy["fixed 16-bit"] == np.mean(net(X, types=T16).data.argmax(1) == y)
    assert v.accuracy["int8 (tflite)"] == np.mean(qnet(X, runtime="tflite").argmax(1) == y)
    assert v.samples == len(y)
    # the issue's promise: 16 bits within one point of double; 8 bits' cost is reported
    assert v.accuracy_drop("fixed 16-bit") <= 0.01
    assert "fixed 8-bit" in v.to_markdown()


def test_layer_sqnr_against_double(setup):
    m, net, T16, _, qnet, X, y = setup
    v = nn.verify(net, X, y, types=T16, quantized=qnet, runtimes="onnxruntime")
    # fixed point: every layer, from the layer outputs computed here
    for node in net.nodes:
        t = node.outputs[0]
        ref, got = net(X, outputs=t), net(X, types=T16, outputs=t).data
        assert v.layer_sqnr["fixed"][node.name] == pytest.approx(_sqnr(ref, got), rel=1e-12)
    # int8: the integer tensors dequantized with their own scale and zero point
    sq = v.layer_sqnr["int8 (onnxruntime)"]
    # fc0 and fc1 have no integer output of their own: their ReLU is folded into them
    assert set(sq) == {"relu0", "relu1", "fc2"}
    q = qnet(X, outputs="r0:q", runtime="onnxruntime").astype(np.float64)
    s = float(qnet.params["r0:scale"])
    z = float(qnet.params["r0:zp"])
    ref = net(X, outputs="r0")
    assert sq["relu0"] == pytest.approx(_sqnr(ref, (q - z) * np.float32(s)), rel=1e-6)
    assert 20 < sq["relu0"] < 80


def test_batches_do_not_change_the_result(setup):
    _, net, T16, _, qnet, X, y = setup
    a = nn.verify(net, X, y, types=T16, quantized=qnet, batch_size=1000)
    b = nn.verify(net, X, y, types=T16, quantized=qnet, batch_size=37)
    assert a.accuracy == b.accuracy
    for mode in a.layer_sqnr:
        for layer, val in a.layer_sqnr[mode].items():
            assert b.layer_sqnr[mode][layer] == pytest.approx(val, rel=1e-9)


def test_errors(setup):
    _, net, T16, _, qnet, X, y = setup
    with pytest.raises(ValueError, match="labels must be one class per sample"):
        nn.verify(net, X, y[:-1])
    with pytest.raises(TypeError, match="float fixsim.nn.Network"):
        nn.verify(qnet, X, y)
    with pytest.raises(TypeError, match="integer-only Network"):
        nn.verify(net, X, y, quantized=net)
    with pytest.raises(ValueError, match="runtime='gemmlowp'"):
        nn.verify(net, X, y, quantized=qnet, runtimes=["gemmlowp"])
    with pytest.raises(KeyError, match="no mode 'fixed'"):
        nn.verify(net, X, y).accuracy_drop("fixed")


def test_without_labels_only_layer_sqnr(setup):
    _, net, T16, _, qnet, X, y = setup
    v = nn.verify(net, X, None, types=T16)
    w = nn.verify(net, X, y, types=T16)
    assert v.accuracy == {} and v.samples == len(X)
    assert v.layer_sqnr == w.layer_sqnr
    assert "accuracy" not in v.to_markdown() and "SQNR fixed" in v.to_markdown()
