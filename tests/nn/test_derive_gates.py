"""Derived ranges of networks with the supported operators that derive used to refuse.

Regression: ``fx.tool.derive`` / ``nn.derive_ranges`` raised "no interval rule" for a ``Mul``
of two activations (a SiLU gate ``h * sigmoid(h)``), a ``MatMul`` of two activations (an
attention-like ``q @ k^T``, or a constant first operand ``W @ x``), a ``LeakyRelu`` with a
negative slope and a ``Gemm`` with ``transA=1``, although every execution mode runs them
(found by the independent network review of session 10). Each test checks containment of
every recorded value, in double and in the fixed run of a proposed table, with the inputs'
corners among the inputs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from onnx import helper

import fixsim as fx
import fixsim.nn as nn

from .models import init, model

rng = np.random.default_rng(10)


def _w(*shape, scale=0.7):
    return rng.normal(0, scale, shape).astype(np.float32)


def silu():
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["h"], name="fc"),
             helper.make_node("Sigmoid", ["h"], ["s"], name="sg"),
             helper.make_node("Mul", ["h", "s"], ["g"], name="gate"),
             helper.make_node("Gemm", ["g", "W2"], ["y"], name="fc2")]
    return model(nodes, [init("W", _w(4, 5)), init("b", _w(5)), init("W2", _w(5, 2))],
                 [None, 4], y_shape=[None, 2]), (1, 4)


def attention():
    nodes = [helper.make_node("Gemm", ["x", "Wq"], ["q"], name="q"),
             helper.make_node("Gemm", ["x", "Wk"], ["k"], name="k"),
             helper.make_node("Reshape", ["q", "s3"], ["q3"], name="rq"),
             helper.make_node("Reshape", ["k", "s3"], ["k3"], name="rk"),
             helper.make_node("Transpose", ["k3"], ["kt"], name="tk", perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q3", "kt"], ["a"], name="att"),
             helper.make_node("Reshape", ["a", "s2"], ["y"], name="flat")]
    inits = [init("Wq", _w(6, 6)), init("Wk", _w(6, 6)),
             init("s3", np.array([-1, 2, 3], np.int64)), init("s2", np.array([-1, 4], np.int64))]
    return model(nodes, inits, [None, 6], y_shape=[None, 4]), (1, 6)


def const_left_matmul():
    nodes = [helper.make_node("Reshape", ["x", "s"], ["x3"], name="r"),
             helper.make_node("MatMul", ["W", "x3"], ["y"], name="mm")]
    inits = [init("W", _w(3, 4)), init("s", np.array([-1, 4, 2], np.int64))]
    return model(nodes, inits, [None, 8], y_shape=[None, 3, 2]), (1, 8)


def leaky_negative():
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["h"], name="fc"),
             helper.make_node("LeakyRelu", ["h"], ["l"], name="lk", alpha=-0.45),
             helper.make_node("Gemm", ["l", "W2"], ["y"], name="fc2")]
    return model(nodes, [init("W", _w(4, 5)), init("b", _w(5)), init("W2", _w(5, 3))],
                 [None, 4], y_shape=[None, 3]), (1, 4)


NETS = {"silu": silu, "attention": attention, "const_left_matmul": const_left_matmul,
        "leaky_negative": leaky_negative}
LO, HI = -0.8, 1.3


def _inputs(shape):
    n = shape[1]
    x = rng.uniform(LO, HI, (300, n))
    corners = rng.integers(0, 2, (200, n))
    x = np.concatenate([x, np.where(corners, HI, LO), np.full((1, n), LO), np.full((1, n), HI)])
    return x.astype(np.float64)


def _contained(d, rec):
    for name, s in rec.items():
        if s.finite_count == 0:
            continue
        r = d[name]
        assert r.bounded, (name, r.reason)
        assert Fraction(r.lo) <= Fraction(s.min) and Fraction(s.max) <= Fraction(r.hi), \
            (name, (r.lo, r.hi), (s.min, s.max))


@pytest.mark.parametrize("which", list(NETS))
def test_derive_contains_double_and_fixed_runs(which):
    m, shape = NETS[which]()
    net = nn.load_onnx(m)
    T = net.type_table()
    x = _inputs(shape)
    d = fx.tool.derive(net, (LO, HI), T, shape=shape)
    rec = fx.tool.collect(net, [x], T)
    _contained(d, rec)
    # a fixed table proposed from both, then derive under it bounds the fixed run itself
    P = fx.tool.propose(rec, T, word_length=16, derived=d).types
    dP = fx.tool.derive(net, (LO, HI), P, shape=shape)
    recP = fx.tool.collect(net, [x], P)
    _contained(dP, recP)


def test_mul_of_activations_bound_is_the_box_product():
    """A gate of two activations: per element, the product of the boxes of its operands
    (the hull of the corner products), recomputed here from the weights."""
    m, shape = silu()
    net = nn.load_onnx(m)
    d = nn.derive_ranges(net, LO, HI, shape=shape)
    W = np.array([[float(v) for v in row] for row in net.params["W"]])
    b = np.array([float(v) for v in net.params["b"]])
    hl = b + np.minimum(W * LO, W * HI).sum(axis=0)
    hh = b + np.maximum(W * LO, W * HI).sum(axis=0)
    sl, sh = 1 / (1 + np.exp(-hl)), 1 / (1 + np.exp(-hh))
    corners = np.array([hl * sl, hl * sh, hh * sl, hh * sh])
    lo, hi = d["gate.out"]
    assert abs(lo - corners.min()) < 1e-9 and abs(hi - corners.max()) < 1e-9


def test_leaky_negative_slope_pieces():
    """``x >= 0 ? x : -0.45 x`` on [-2, 1] is the hull of [0, 1] and [0, 0.9]; on [-2, -1]
    it is [0.45, 0.9] (no 0: the positive piece is not reached)."""
    nodes = [helper.make_node("LeakyRelu", ["x"], ["y"], name="lk", alpha=-0.45)]
    net = nn.load_onnx(model(nodes, [], [None, 2], y_shape=[None, 2]))
    d = nn.derive_ranges(net, np.array([[-2.0, -2.0]]), np.array([[1.0, -1.0]]))
    lo, hi = d["lk.out"]
    a = float(np.float32(-0.45))  # the ONNX attribute is a float32
    assert lo == 0.0 and hi == 1.0
    d = nn.derive_ranges(net, np.array([[-2.0, -2.0]]), np.array([[-1.0, -1.0]]))
    assert d["lk.out"] == (-1.0 * a, -2.0 * a)


def test_gemm_trans_a_double():
    """Gemm with transA=1 on an activation (double mode; fixed mode refuses it at run)."""
    W = _w(6, 4)
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], name="g", transA=1)]
    net = nn.load_onnx(model(nodes, [init("W", W)], [6, None], y_shape=[None, 4]))
    lo = rng.uniform(-1, 0, (6, 3))
    hi = lo + rng.uniform(0, 1, (6, 3))
    d = nn.derive_ranges(net, lo, hi)
    x = lo + (hi - lo) * rng.uniform(0, 1, (500, 6, 3))
    ys = np.array([xi.T @ W.astype(np.float64) for xi in x])
    a, b = d["g.acc"]
    assert a <= ys.min() and ys.max() <= b
    # exact corner bound of the first column
    Wd = W.astype(np.float64)
    hi_exact = max(sum(max(lo[k, i] * Wd[k, j], hi[k, i] * Wd[k, j]) for k in range(6))
                   for i in range(3) for j in range(4))
    assert hi_exact <= b < hi_exact + 1e-9
