"""Focused regressions: input shape checks at layer boundaries (no compiled kernel ever sees
inconsistent operands), empty batches, and derived ranges under a fixed table and exact
float bounds."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import fixsim as fx
from fixsim import nn
from fixsim.nn._network import float_matmul, int_matmul

from .models import cnn, model


def _mlp(rng):
    return nn.Sequential([nn.Dense(rng.normal(0, .3, (64, 16)), rng.normal(0, .1, 16),
                                   name="fc1"),
                          nn.ReLU(name="r1"),
                          nn.Dense(rng.normal(0, .3, (16, 10)), np.zeros(10), name="fc2")])


def _small_cnn(rng):
    return nn.Sequential([
        nn.Conv(rng.normal(0, .5, (3, 1, 3, 3)), rng.normal(0, .1, 3), padding=1, name="c1"),
        nn.LeakyReLU(0.1, name="lr1"),
        nn.AvgPool(2, name="ap1"),
        nn.Flatten(name="fl"),
        nn.Dense(rng.normal(0, .3, (48, 8)), rng.normal(0, .1, 8), name="d1"),
        nn.Sigmoid(name="sg1"),
        nn.Dense(rng.normal(0, .4, (8, 4)), rng.normal(0, .1, 4), name="d2"),
        nn.Tanh(name="th2"),
    ], name="small")


def test_compiled_products_refuse_mismatched_operands():
    """Regression: the compiled gemm read b out of bounds for (M, K) @ (K', N), K != K'."""
    a, b = np.ones((3, 65)), np.ones((64, 16))
    with pytest.raises(ValueError, match=r"\(3, 65\) and \(64, 16\)"):
        float_matmul(a, b)
    with pytest.raises(ValueError, match=r"\(3, 65\) and \(64, 16\)"):
        int_matmul(a.astype(np.int64), b.astype(np.int64))


@pytest.mark.parametrize("k", (65, 32, 16))
def test_dense_wrong_features_rejected_in_every_mode(k):
    """Regression: Dense accepted a wrong feature count in double, fixed and derive."""
    rng = np.random.default_rng(0)
    net = _mlp(rng)
    x = rng.uniform(0, 1, (3, k))
    msg = rf"layer 'fc1' \(Gemm\): its input 'x' .*shape \(3, {k}\).*expected shape \(N, 64\)"
    with pytest.raises(ValueError, match=msg):
        net(x)
    with pytest.raises(ValueError, match=msg):
        net(x, net.type_table("sfix16_En10"))
    with pytest.raises(ValueError, match=rf"shape \(1, {k}\)"):
        nn.derive_ranges(net, 0.0, 1.0, shape=(1, k))
    with pytest.raises(ValueError, match="expected shape"):
        fx.tool.derive(net, (0.0, 1.0), net.type_table(), shape=(1, k))


def test_conv_channels_and_rank_named():
    """Regression: a Conv fed the wrong channels or rank failed inside numpy (or zip())."""
    net = _small_cnn(np.random.default_rng(1))
    for x, what in ((np.zeros((2, 2, 8, 8)), r"\(2, 2, 8, 8\)"), (np.zeros((2, 64)), r"\(2, 64\)"),
                    (np.zeros((8, 8)), r"\(8, 8\)")):
        with pytest.raises(ValueError, match=r"layer 'c1' \(Conv\): its input 'x'.*" + what
                           + r".*expected shape \(N, 1, H, W\)"):
            net(x)
    with pytest.raises(ValueError, match=r"layer 'd1' \(Gemm\).*'fl:out'.*\(2, 12\)"):
        net(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match="smaller than the kernel extent"):
        nn.Sequential([nn.Conv(np.ones((1, 1, 5, 5)), name="c")])(np.zeros((1, 1, 3, 3)))


def test_onnx_declared_input_shape_checked_everywhere():
    """Regression: an ONNX model's declared static input dims were not checked."""
    m = cnn()
    net = nn.load_onnx(m)
    assert net.input_shapes == {"x": (None, 1, 8, 8)}
    x = np.zeros((4, 1, 4, 4))
    for call in (lambda: net(x), lambda: net(x, net.type_table()),
                 lambda: nn.derive_ranges(net, 0.0, 1.0, shape=(1, 1, 4, 4))):
        with pytest.raises(ValueError, match=r"input 'x' has shape \(4, 1, 4, 4\)|"
                                             r"input 'x' has shape \(1, 1, 4, 4\)"):
            call()
    # a named dimension is any size and appears by name
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    net2 = nn.load_onnx(model(nodes, [], ["batch", 3]))
    assert net2(np.zeros((5, 3))).shape == (5, 3)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        net2(np.zeros((5, 4)))


def test_empty_batch_every_mode():
    """Regression: an empty batch failed in Flatten (double) and AvgPool (fixed)."""
    net = _small_cnn(np.random.default_rng(2))
    x0 = np.zeros((0, 1, 8, 8))
    assert net(x0).shape == (0, 4)
    assert np.shape(net(x0, net.type_table("sfix16_En10"))) == (0, 4)


def _fixed_contained(net, T, shape, x, lut=None):
    d = fx.tool.derive(net, (0.0, 1.0), T, shape=shape)
    with fx.tool.record() as r:
        net(x, T) if lut is None else net(x, types=T, lut=lut)
    for name in net.signals():
        s = r[name]
        assert d[name].lo <= float(s.min) and float(s.max) <= d[name].hi, (
            name, (float(s.min), float(s.max)), (d[name].lo, d[name].hi))
    return d


@pytest.mark.parametrize("word", (6, 8, 12))
def test_fixed_derive_contains_fixed_run_coarse_types(word):
    """Regression: derive under a fixed table used double weights and unrounded casts;
    here coarse types (quantized weights, LUT sigmoid/tanh, rounded average pool, quantized
    LeakyReLU slope) must all stay inside the derived ranges."""
    rng = np.random.default_rng(3)
    net = _small_cnn(rng)
    x = np.concatenate([rng.uniform(0, 1, (64, 64)), np.zeros((1, 64)), np.ones((1, 64)),
                        rng.integers(0, 2, (64, 64)).astype(float)]).reshape(-1, 1, 8, 8)
    T = net.type_table()
    with fx.tool.record() as rec:
        net(x, T)
    d0 = fx.tool.derive(net, (0.0, 1.0), T, shape=(1, 1, 8, 8))
    T2 = fx.tool.propose(rec, T, word_length=word, derived=d0, source="union").types
    _fixed_contained(net, T2, (1, 1, 8, 8), x)


def test_fixed_derive_uses_quantized_weights_and_cast_rounding():
    """Regression: derive used the double weights, not the table's quantized ones."""
    net = nn.Sequential([nn.Dense(np.array([[0.8], [-0.3]]), np.array([0.1]), name="fc")])
    types = {"input": "sfix8_En6", "fc.weight": "sfix4_En1", "fc.bias": "sfix8_En2",
             "fc.acc": "sfix8_En2", "fc.out": "sfix8_En2"}
    for rounding, expected in (("floor", (-0.5, 0.5)), ("nearest", (-0.5, 1.0))):
        # floor: weights 0.5, -0.5, bias 0; nearest: weights 1.0, -0.5, bias 0 (double: 0.9)
        T = fx.TypeTable(types, rounding=rounding)
        d = fx.tool.derive(net, (0.0, 1.0), T, shape=(1, 2))
        assert (d["fc.acc"].lo, d["fc.acc"].hi) == expected, rounding
        assert (d["fc.weight"].lo, d["fc.weight"].hi) == (-0.3, 0.8)   # the range arriving
        with fx.tool.record() as r:
            net(np.array([[1.0, 0.0], [0.0, 1.0]]), T)
        assert (float(r["fc.acc"].min), float(r["fc.acc"].max)) == expected, rounding


def test_derived_linear_never_crosses_zero_for_nonnegative_terms():
    """Regression: inexact bounds were widened below zero for a nonnegative layer."""
    rng = np.random.default_rng(4)
    w = rng.uniform(0.01, 1, (64, 8))
    net = nn.Sequential([nn.Dense(w, rng.uniform(0, .2, 8), name="fc"), nn.ReLU(name="r"),
                         nn.Dense(-w[:8], None, name="neg")])
    d = nn.derive_ranges(net, 0.0, 1.0, shape=(1, 64))
    assert d["fc.acc"][0] >= 0.0 and d["neg.acc"][1] <= 0.0
    # still sound: contains the double run at the corner (inexact sums)
    y = net(np.ones((1, 64)), outputs="fc:out")
    assert d["fc.acc"][1] >= y.max()


def test_regression_network_output_under_a_fixed_table_is_typed():
    """Regression: under a fixed table the network's derived output was an untyped Interval,
    so fi arithmetic after the network was derived in real arithmetic: ``net(x, T) * 0.3``
    used 0.3 exactly, while the run multiplies the fi output by 0.3 quantized to 77/256
    (best precision at 8 bits), and the run (0.47937) left the derived range (0.478125)."""
    net = nn.Sequential([nn.Dense(np.array([[0.9], [0.7]]), name="fc")])
    T = fx.TypeTable({"input": "sfix8_En6", "fc.weight": "ufix8_En8", "fc.acc": "sfix8_En6",
                      "fc.out": "sfix8_En6", "z": "double"})

    def f(x, T):
        return T.z(net(x, T) * 0.3)

    d = fx.tool.derive(f, (-1, 1), T, shape=(1, 2))
    out = net(np.array([[1.0, 1.0], [-1.0, -1.0]]), T)
    assert isinstance(out, fx.fi)
    y = f(np.array([[1.0, 1.0], [-1.0, -1.0]]), T)
    assert d["z"].lo <= float(np.min(y)) and float(np.max(y)) <= d["z"].hi
    # the typed output: the fi output's type
    iv = net(fx.tool.Interval(-np.ones((1, 2)), np.ones((1, 2))), types=T)
    assert iv.shape == (1, 1)
    assert d.output.contains(np.asarray(y, dtype=np.float64)[:1]).all()
    z = iv * 0.3
    assert z.hi.max() >= float(np.max(y))
