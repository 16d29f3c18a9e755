"""``fx.tool.refine``: proposals that hold under their own quantization."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
import fixsim.nn as nn

W = np.array([0.98, -6.0])
T0 = fx.TypeTable({"x": "double", "w": "double", "acc": "double", "y": "double"})


def dense_relu(x, T):
    acc = T.acc(T.x(x) @ T.w(W))
    return T.y(np.maximum(acc, 0))


def _covered(p, d):
    for name, r in d.items():
        if name in p and p[name].proposed is not None and not p[name].locked:
            lo, hi = p[name].representable
            assert Fraction(lo) <= Fraction(r.lo) and Fraction(r.hi) <= Fraction(hi), \
                (name, p[name].proposed, r)


def test_double_ranges_alone_overflow_and_refine_does_not():
    """The weight 0.98 quantizes to 1.0 in sfix8_En4 (the weights' range [-6, 0.98] at 8 bits),
    so x = 16 reaches y = 16, past the ufix8_En4 (max 15.9375) sized for the double 15.68."""
    d = fx.tool.derive(dense_relu, (0, 16), T0, shape=2)
    p0 = fx.tool.propose(d, T0, word_length=8)
    assert str(p0["w"].proposed) == "sfix8_En4" and str(p0["y"].proposed) == "ufix8_En4"
    x = np.array([16.0, 0.0])
    with fx.tool.record() as r0:
        dense_relu(x, p0.types)
    assert r0["y"].overflows == 1 and r0["y"].max == 16.0
    p = fx.tool.refine(dense_relu, (0, 16), d, T0, word_length=8, shape=2)
    assert str(p["y"].proposed) == "ufix8_En3"
    with fx.tool.record() as r:
        dense_relu(x, p.types)
    assert all(r[n].overflows == 0 for n in r)
    # settled: ranges derived under the result are covered by it
    _covered(p, fx.tool.derive(dense_relu, (0, 16), p.types, shape=2))


def test_refine_from_a_recording_unions_the_recording():
    x = np.array([[16.0, 0.0], [3.0, 1.0], [0.0, 16.0]])
    rec = fx.tool.collect(dense_relu, list(x), T0)
    p = fx.tool.refine(dense_relu, (0, 16), rec, T0, word_length=8, shape=2)
    assert {p[n].source for n in p} == {"union"}
    for xi in x:
        with fx.tool.record() as r:
            dense_relu(xi, p.types)
        assert all(r[n].overflows == 0 for n in r)
    _covered(p, fx.tool.derive(dense_relu, (0, 16), p.types, shape=2))


def test_refine_on_a_network():
    """The network form of the same case (see tests/nn/test_independent_review_tool_cnn.py)."""
    net = nn.Sequential([nn.Dense(np.array([[0.98], [-6.0]]), np.zeros(1), name="fc"),
                         nn.ReLU(name="relu")])
    T = net.type_table("double")
    d = fx.tool.derive(net, (0.0, 16.0), T, shape=(1, 2))
    p = fx.tool.refine(net, (0.0, 16.0), d, T, word_length=8, shape=(1, 2))
    x = np.array([[16.0, 0.0], [0.0, 16.0]])
    with fx.tool.record() as r:
        net(x, p.types)
    assert {n: r[n].overflows for n in r if r[n].overflows} == {}


def test_refine_errors():
    d = fx.tool.derive(dense_relu, (0, 16), T0, shape=2)
    with pytest.raises(TypeError, match="source='simulation'"):
        fx.tool.refine(dense_relu, (0, 16), d, T0, source="simulation", shape=2)
    with pytest.raises(ValueError, match="max_rounds=0"):
        fx.tool.refine(dense_relu, (0, 16), d, T0, max_rounds=0, shape=2)
    with pytest.raises(TypeError, match="ranges must be a Recording"):
        fx.tool.refine(dense_relu, (0, 16), {"y": (0, 1)}, T0, shape=2)
    with pytest.raises(TypeError, match="derived= must be DerivedRanges"):
        fx.tool.refine(dense_relu, (0, 16), d, T0, derived={"y": (0, 1)}, shape=2)


def test_refine_that_does_not_settle_says_so():
    """The first derivation changes y's type, so one round cannot show that the types have
    settled: with max_rounds=1, refine says so instead of returning an unchecked proposal."""
    d = fx.tool.derive(dense_relu, (0, 16), T0, shape=2)
    with pytest.raises(RuntimeError, match="still changed after 1 derivations"):
        fx.tool.refine(dense_relu, (0, 16), d, T0, word_length=8, shape=2, max_rounds=1)


def test_refine_names_an_unknown_option():
    d = fx.tool.derive(dense_relu, (0, 16), T0, shape=2)
    with pytest.raises(TypeError, match="refine: unknown option.*'wordlength'.*word_length"):
        fx.tool.refine(dense_relu, (0, 16), d, T0, wordlength=8, shape=2)


def test_fi_functions_on_an_interval_point_to_numpy():
    """Regression: fx.convolve / fx.dot on an Interval said 'at least one operand must be a
    fi'; the message now says to call numpy's function, which Interval implements."""
    iv = fx.tool.Interval(-np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="np.convolve"):
        fx.convolve(iv, np.ones(2))
    with pytest.raises(TypeError, match=r"np.dot \(or the @ operator\)"):
        fx.dot(iv, np.ones(3))


def test_module_doctests():
    import doctest

    from fixsim.tool import _refine
    result = doctest.testmod(_refine)
    assert result.failed == 0 and result.attempted >= 6
