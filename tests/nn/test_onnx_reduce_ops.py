"""ReduceSum, ReduceMax and ReduceMin: against onnxruntime (double), an exact ``Fraction``
reference (fixed point: every signal's stored integers and overflow and underflow counts), and
derived-range containment (double and fixed tables)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import fixsim as fx
import fixsim.nn as nn

from .models import assert_close as _close
from .models import assert_derived_contain_runs, init, model, ort_run
from .test_fixed import q, tstr, types_strategy, val


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("axes,keepdims", [([2, 3], 1), ([2, 3], 0), ([-1], 0), ([1], 1),
                                           ([0, 2], 0), (None, 1), (None, 0)])
def test_reductions_match_onnxruntime(op, opset, axes, keepdims):
    """Axes as the attribute (ReduceMax/Min before opset 18) or as the second input
    (ReduceSum from opset 13, all from 18), negative, none (all axes), keepdims both ways."""
    shape = (2, 3, 4, 5)
    x = np.random.default_rng(5).normal(0, 1, shape).astype(np.float32)
    inits, ins, attrs = [], ["x"], {"keepdims": keepdims}
    if axes is not None:
        if op == "ReduceSum" or opset >= 18:
            inits.append(init("axes", np.array(axes, np.int64)))
            ins.append("axes")
        else:
            attrs["axes"] = axes
    m = model([helper.make_node(op, ins, ["y"], name="r", **attrs)], inits, list(shape),
              opset=opset, y_shape=[None] * 4)
    net = nn.load_onnx(m)
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin"])
def test_noop_with_empty_axes_is_the_identity(op):
    x = np.random.default_rng(6).normal(0, 1, (2, 3, 4, 5)).astype(np.float32)
    m = model([helper.make_node(op, ["x"], ["y"], name="r", noop_with_empty_axes=1)], [],
              list(x.shape), opset=18, y_shape=[None] * 4)
    net = nn.load_onnx(m)
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])
    np.testing.assert_array_equal(net(x.astype(np.float64)), x.astype(np.float64))


# -- fixed point against an exact reference ----------------------------------------------------------
SHAPE = (2, 3, 4, 5)


def _chain():
    """``y = max_h(sum_w x) - min_{h,w} x``, per image and channel."""
    nodes = [helper.make_node("ReduceSum", ["x", "ax3"], ["s"], name="rs"),
             helper.make_node("ReduceMax", ["s"], ["m"], name="rmax", axes=[2]),
             helper.make_node("ReduceMin", ["x"], ["n"], name="rmin", axes=[2, 3]),
             helper.make_node("Sub", ["m", "n"], ["y"], name="sub")]
    m = model(nodes, [init("ax3", np.array([3], np.int64))], list(SHAPE), opset=13,
              y_shape=[None] * 4)
    return m, nn.load_onnx(m)


CHAIN_ONNX, CHAIN = _chain()
SIGNALS = ["input", "rs.out", "sub.out"]


def test_chain_signal_names():
    # ReduceMax and ReduceMin keep their input's values and type, as MaxPool does
    assert CHAIN.type_table().names == SIGNALS


def chain_reference(x: np.ndarray, types: dict, counts: dict) -> dict[str, np.ndarray]:
    """Every signal's stored integers; *counts* receives each signal's (overflows,
    underflows) (nearest, saturate: the table's defaults)."""
    out = {}

    def cast(name, vals):
        s, W, F = T = types[name]
        lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if s else (0, (1 << W) - 1)
        flat = vals.ravel().tolist()
        raw = [math.floor(v * Fraction(2) ** F + Fraction(1, 2)) for v in flat]
        counts[name] = (sum(not lo <= k <= hi for k in raw),
                        sum(k == 0 and v != 0 for k, v in zip(raw, flat, strict=True)))
        out[name] = np.array([q(v, T) for v in flat], dtype=object).reshape(vals.shape)
        return np.array([val(k, T) for k in out[name].ravel()], dtype=object
                        ).reshape(vals.shape)

    xv = cast("input", np.array([Fraction(float(v)) for v in x.ravel()], dtype=object
                                ).reshape(x.shape))
    s = cast("rs.out", xv.sum(axis=3, keepdims=True))
    m = s.max(axis=2, keepdims=True)
    n = xv.min(axis=(2, 3), keepdims=True)
    cast("sub.out", m - n)
    return out


@settings(max_examples=40, deadline=None)
@given(types_strategy(SIGNALS, wmin=3, wmax=24), st.integers(0, 10 ** 6))
def test_chain_fixed_matches_exact_reference(types, seed):
    x = np.random.default_rng(seed).normal(0, 1.5, SHAPE)
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    with fx.tool.record() as rec:
        y = CHAIN(x, types=T)
    counts: dict = {}
    want = chain_reference(x, types, counts)
    assert y.int.tolist() == want["sub.out"].tolist()
    assert set(rec.names) == set(SIGNALS)
    for name in SIGNALS:
        assert (rec[name].overflows, rec[name].underflows) == counts[name], name


def test_wide_reduce_sum_is_exact():
    # sums beyond int64 in stored integers: exact (Python ints), then the .out cast
    T = fx.TypeTable({"input": "sfix62_En0", "rs.out": "sfix70_En0", "sub.out": "sfix72_En0"})
    x = np.full(SHAPE, 2.0 ** 60)
    y = CHAIN(x, types=T)
    # max_h(sum_w x) - min x = 5 * 2**60 - 2**60
    assert set(y.int.ravel().tolist()) == {4 << 60}


@settings(max_examples=30, deadline=None)
@given(types_strategy(SIGNALS, wmin=4, wmax=20), st.integers(0, 10 ** 6),
       st.floats(0.1, 4.0))
def test_chain_derived_ranges_contain_the_fixed_and_double_runs(types, seed, bound):
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    assert_derived_contain_runs(CHAIN, T, SHAPE, seed, bound)


def test_derived_ranges_of_a_double_run_are_the_exact_extremes():
    # x in [-1, 2]: the sum over 5 values in [-5, 10]; its max over h too; min over (h, w) in
    # [-1, 2]; their difference in [-7, 11]
    d = nn.derive_ranges(CHAIN, np.full(SHAPE, -1.0), np.full(SHAPE, 2.0),
                         types=CHAIN.type_table())
    assert d["rs.out"] == (-5.0, 10.0)
    assert d["sub.out"] == (-7.0, 11.0)


def test_record_propose_verify_give_no_overflow_at_16_bits():
    rng = np.random.default_rng(3)
    batches = [rng.normal(0, 1, SHAPE) for _ in range(4)]
    T = CHAIN.type_table()
    with fx.tool.record() as rec:
        for b in batches:
            CHAIN(b, types=T.as_double())
    prop = fx.tool.propose(rec, word_length=16)
    v = fx.tool.verify(CHAIN, batches, prop.types)
    assert set(v.keys()) == set(SIGNALS)
    assert v.overflows == 0
    # the output's error, recomputed here from the two runs
    err = max(float(np.abs(np.asarray(CHAIN(b, types=prop.types), np.float64)
                           - CHAIN(b, types=T.as_double())).max()) for b in batches)
    assert v["sub.out"].max_abs_error == err


def test_bad_axis_names_the_node():
    m = model([helper.make_node("ReduceMax", ["x"], ["y"], name="rmx", axes=[4])], [],
              list(SHAPE), opset=13, y_shape=[None] * 4)
    net = nn.load_onnx(m)
    with pytest.raises(ValueError, match=r"'rmx' \(ReduceMax\): axis 4 is out of range"):
        net(np.zeros(SHAPE))


def test_extremum_of_an_empty_axis_is_refused_by_name():
    m = model([helper.make_node("ReduceMin", ["x"], ["y"], name="rmn", axes=[1])], [],
              [2, 0, 3], opset=13, y_shape=[None] * 3)
    net = nn.load_onnx(m)
    with pytest.raises(ValueError, match=r"'rmn' \(ReduceMin\).*reduce no element"):
        net(np.zeros((2, 0, 3)))


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_axes_input_in_fixed_runs_and_derived_ranges(op, keepdims):
    # opset 18: the axes come as the second input, in fixed runs and derive_ranges too
    shape = (2, 3, 4, 5)
    m = model([helper.make_node(op, ["x", "axes"], ["y"], name="r", keepdims=keepdims)],
              [init("axes", np.array([-1, 1], np.int64))], list(shape), opset=18,
              y_shape=[None] * 4)
    net = nn.load_onnx(m)
    rng = np.random.default_rng(8)
    lo, hi = rng.uniform(-2, 0, shape), rng.uniform(0, 2, shape)
    T = net.type_table()
    for table in (fx.TypeTable({k: "sfix16_En12" for k in T.names}), T.as_double()):
        d = nn.derive_ranges(net, lo, hi, types=table)
        for _ in range(20):
            x = lo + (hi - lo) * rng.random(shape)
            y = np.asarray(net(x, types=table), np.float64)
            if op == "ReduceSum":
                assert d["r.out"][0] <= y.min() and y.max() <= d["r.out"][1]
            else:  # no signal of its own: its output is the network's
                want = getattr(np, "max" if op == "ReduceMax" else "min")(
                    np.asarray(table["input"](x), np.float64), axis=(1, 3),
                    keepdims=bool(keepdims))
                assert np.array_equal(y, want)
