"""Sub, Div, ReduceMean, HardSigmoid, HardSwish and ceil_mode pools (what PyTorch's exporters
emit for input normalisation, ``x.mean(dim=...)``, ``hardsigmoid``/``hardswish`` and
``ceil_mode=True``): the double run against onnxruntime, the fixed run against a slow exact
reference written here (Python ints and Fractions, the rules of ``fixsim/nn/_fixed.py``'s
docstring: exact arithmetic, one nearest/saturate cast per named signal), ``derive_ranges``
containing every recorded value, and the errors for what has no fixed-point form."""

from __future__ import annotations

import copy
import io
import math
from fractions import Fraction

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import fixsim as fx
import fixsim.nn as nn

from .models import assert_close as _close
from .models import assert_derived_contain_runs, init, model, ort_run
from .test_fixed import q, tstr, types_strategy, val

# -- the double run against onnxruntime -------------------------------------------------------------


def _net_of(nodes, inits, shape, opset=17, y_shape=None):
    m = model(nodes, [init(k, v) for k, v in inits], list(shape), opset=opset,
              y_shape=y_shape or [None] * 4)
    return m, nn.load_onnx(m)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_elementwise_ops_match_onnxruntime(data):
    """Sub (constant left or right, two activations), Div by a scalar and a per-channel
    constant, HardSigmoid (its attributes drawn) and HardSwish."""
    shape = (2, 3, 4, 5)
    x = np.random.default_rng(data.draw(st.integers(0, 99))).normal(0, 2, shape)
    x = x.astype(np.float32)
    c = np.float32(data.draw(st.floats(-3, 3).filter(lambda v: abs(v) > 0.05)))
    pc = np.random.default_rng(1).uniform(0.2, 2.0, (1, 3, 1, 1)).astype(np.float32)
    alpha = data.draw(st.floats(0.05, 1.0))
    beta = data.draw(st.floats(-1.0, 1.0))
    left = data.draw(st.booleans())
    nodes = [helper.make_node("Sub", ["c", "x"] if left else ["x", "c"], ["a"], name="sub"),
             helper.make_node("Div", ["a", "pc"], ["b"], name="div"),
             helper.make_node("HardSigmoid", ["b"], ["h"], name="hsig", alpha=alpha, beta=beta),
             helper.make_node("HardSwish", ["b"], ["w"], name="hswish"),
             helper.make_node("Sub", ["w", "h"], ["d"], name="sub2"),
             helper.make_node("Div", ["d", "c"], ["y"], name="div2")]
    m, net = _net_of(nodes, [("c", c), ("pc", pc)], shape, opset=14)
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("axes,keepdims", [([2, 3], 1), ([2, 3], 0), ([-1], 0), ([1], 1),
                                           (None, 1), (None, 0)])
def test_reduce_mean_matches_onnxruntime(opset, axes, keepdims):
    """Axes as the attribute (opset 13) and as the second input (opset 18), negative, none
    (all axes), keepdims both ways."""
    shape = (2, 3, 4, 5)
    x = np.random.default_rng(5).normal(0, 1, shape).astype(np.float32)
    inits, ins, attrs = [], ["x"], {"keepdims": keepdims}
    if axes is not None:
        if opset >= 18:
            inits.append(("axes", np.array(axes, np.int64)))
            ins.append("axes")
        else:
            attrs["axes"] = axes
    m, net = _net_of([helper.make_node("ReduceMean", ins, ["y"], name="rm", **attrs)], inits,
                     shape, opset=opset, y_shape=None)
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])


def test_reduce_mean_noop_with_empty_axes_is_the_identity():
    x = np.random.default_rng(6).normal(0, 1, (2, 3, 4, 5)).astype(np.float32)
    m, net = _net_of([helper.make_node("ReduceMean", ["x"], ["y"], name="rm",
                                       noop_with_empty_axes=1)], [], x.shape, opset=18)
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])
    np.testing.assert_array_equal(net(x.astype(np.float64)), x.astype(np.float64))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ceil_mode_pools_match_onnxruntime(data):
    """MaxPool and AveragePool (count_include_pad both ways) with ceil_mode=1: the output
    shape (a partial last window, but none starting in the tail padding) and the values."""
    nsp = data.draw(st.sampled_from([1, 2]))
    k = [data.draw(st.integers(1, 3)) for _ in range(nsp)]
    s = [data.draw(st.integers(1, 3)) for _ in range(nsp)]
    p = [data.draw(st.integers(0, k[i % nsp] - 1)) for i in range(2 * nsp)]
    size = [data.draw(st.integers(k[i], 9)) for i in range(nsp)]
    shape = [2, 2] + size
    x = np.random.default_rng(data.draw(st.integers(0, 99))).normal(0, 1, shape)
    x = x.astype(np.float32)
    for op, extra in (("MaxPool", {}), ("AveragePool", {"count_include_pad":
                                                        data.draw(st.integers(0, 1))})):
        node = helper.make_node(op, ["x"], ["y"], name="pool", kernel_shape=k, strides=s,
                                pads=p, ceil_mode=1, **extra)
        m = model([node], [], shape, y_shape=[None] * len(shape))
        ref = ort_run(m, x)[0]
        got = nn.load_onnx(m)(x.astype(np.float64))
        assert got.shape == ref.shape, (op, k, s, p, size, got.shape, ref.shape)
        _close(got, ref)


# -- the fixed run against an exact reference ---------------------------------------------------------
C1 = np.array([0.25, -0.5], np.float32).reshape(1, 2, 1, 1)   # Sub's constant (per channel)
C2 = np.array([0.75, -1.5], np.float32).reshape(1, 2, 1, 1)   # Div's divisor (per channel)
K = np.float32(0.375)                                          # Sub's constant, on the left
A_HS, B_HS = 0.3, 0.4                                          # HardSigmoid's attributes
SHAPE = (2, 2, 3, 4)


def _chain():
    nodes = [helper.make_node("Sub", ["x", "c1"], ["a"], name="sub1"),
             helper.make_node("Div", ["a", "c2"], ["b"], name="div1"),
             helper.make_node("HardSwish", ["b"], ["h"], name="hsw"),
             helper.make_node("Sub", ["k", "h"], ["d"], name="sub2"),
             helper.make_node("ReduceMean", ["d"], ["m"], name="rm1", axes=[2, 3]),
             helper.make_node("HardSigmoid", ["m"], ["g"], name="hsig", alpha=A_HS,
                              beta=B_HS),
             helper.make_node("Sub", ["g", "d"], ["e"], name="sub3"),
             helper.make_node("ReduceMean", ["e"], ["y"], name="rm2", axes=[1], keepdims=0)]
    m = model(nodes, [init("c1", C1), init("c2", C2), init("k", K)], list(SHAPE), opset=14,
              y_shape=[None] * 3)
    return m, nn.load_onnx(m)


CHAIN_ONNX, CHAIN = _chain()
SIGNALS = ["input", "sub1.bias", "sub1.out", "div1.weight", "div1.out", "hsw.weight",
           "hsw.bias", "hsw.out", "sub2.bias", "sub2.out", "rm1.out", "hsig.weight",
           "hsig.bias", "hsig.out", "sub3.out", "rm2.out"]


def test_chain_signal_names():
    assert nn.load_onnx(CHAIN_ONNX).type_table().names == SIGNALS


def _clip01(v: Fraction) -> Fraction:
    return min(max(v, Fraction(0)), Fraction(1))


def chain_reference(x: np.ndarray, types: dict, counts: dict | None = None
                    ) -> dict[str, list[int]]:
    """The stored integers of every signal (flattened in C order); *counts* receives each
    signal's ``(overflows, underflows)``."""
    out: dict[str, list[int]] = {}

    def cast(name, vals):
        T = types[name]
        s, W, F = T
        lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if s else (0, (1 << W) - 1)
        raw = [math.floor(v * Fraction(2) ** F + Fraction(1, 2)) for v in vals]
        if counts is not None:
            counts[name] = (sum(not lo <= k <= hi for k in raw),
                            sum(k == 0 and v != 0 for k, v in zip(raw, vals, strict=True)))
        out[name] = [q(v, T) for v in vals]
        return [val(k, T) for k in out[name]]

    N, C, H, W = SHAPE
    idx = [(n, c, h, w) for n in range(N) for c in range(C) for h in range(H) for w in range(W)]
    xv = cast("input", [Fraction(float(x[i])) for i in idx])
    c1 = cast("sub1.bias", [Fraction(float(v)) for v in C1.ravel()])
    a = cast("sub1.out", [xv[j] - c1[i[1]] for j, i in enumerate(idx)])
    w = cast("div1.weight", [1 / Fraction(float(v)) for v in C2.ravel()])
    b = cast("div1.out", [a[j] * w[i[1]] for j, i in enumerate(idx)])
    ws, bs = cast("hsw.weight", [Fraction(1 / 6)])[0], cast("hsw.bias", [Fraction(1, 2)])[0]
    h = cast("hsw.out", [v * _clip01(v * ws + bs) for v in b])
    k = cast("sub2.bias", [Fraction(float(K))])[0]
    d = cast("sub2.out", [k - v for v in h])
    per = H * W
    m = cast("rm1.out", [sum(d[j * per:(j + 1) * per], Fraction(0)) / per
                         for j in range(N * C)])
    # (ONNX float attributes are float32)
    wg = cast("hsig.weight", [Fraction(float(np.float32(A_HS)))])[0]
    bg = cast("hsig.bias", [Fraction(float(np.float32(B_HS)))])[0]
    g = cast("hsig.out", [_clip01(v * wg + bg) for v in m])
    e = cast("sub3.out", [g[j // per] - d[j] for j in range(len(idx))])
    cast("rm2.out", [(e[(n * C) * per + s] + e[(n * C + 1) * per + s]) / 2
                     for n in range(N) for s in range(per)])
    return out


@settings(max_examples=40, deadline=None)
@given(types_strategy(SIGNALS, wmin=3, wmax=24,
                      weight_names=("div1.weight", "hsw.weight", "hsig.weight")),
       st.integers(0, 10 ** 6))
def test_chain_fixed_matches_exact_reference(types, seed):
    x = np.random.default_rng(seed).normal(0, 1.5, SHAPE)
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    with fx.tool.record() as rec:
        y = CHAIN(x, types=T)
    counts: dict = {}
    want = chain_reference(x, types, counts)
    assert [int(v) for v in np.asarray(y.int).ravel()] == want["rm2.out"]
    # every recorded overflow and underflow count is the reference's (an overflow: a value
    # whose rounded result lies outside the type; an underflow: a nonzero value rounding
    # to 0)
    assert set(rec.names) == set(SIGNALS)
    for name in SIGNALS:
        assert (rec[name].overflows, rec[name].underflows) == counts[name], name


@settings(max_examples=25, deadline=None)
@given(types_strategy(SIGNALS, wmin=3, wmax=24,
                      weight_names=("div1.weight", "hsw.weight", "hsig.weight")),
       st.integers(0, 10 ** 6))
def test_chain_every_signal_matches_exact_reference(types, seed):
    """Each signal's stored integers, read through a probe listener on the fixed run."""
    from fixsim._core._typetable import signal_listening
    x = np.random.default_rng(seed).normal(0, 1.5, SHAPE)
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    seen: dict[str, list[int]] = {}

    def listen(ev):
        seen[ev.name] = [int(v) for v in np.asarray(ev.output.int).ravel()]
    with signal_listening(listen):
        CHAIN(x, types=T)
    want = chain_reference(x, types)
    for name in SIGNALS:
        assert seen[name] == want[name], name


@settings(max_examples=30, deadline=None)
@given(types_strategy(SIGNALS, wmin=4, wmax=20,
                      weight_names=("div1.weight", "hsw.weight", "hsig.weight")),
       st.integers(0, 10 ** 6), st.floats(0.1, 4.0))
def test_chain_derived_ranges_contain_the_fixed_and_double_runs(types, seed, bound):
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    assert_derived_contain_runs(CHAIN, T, SHAPE, seed, bound)


def test_double_table_is_the_double_run():
    x = np.random.default_rng(2).normal(0, 1, SHAPE)
    T = CHAIN.type_table()
    np.testing.assert_array_equal(CHAIN(x, types=T.as_double()), CHAIN(x))
    _close(CHAIN(x.astype(np.float32).astype(np.float64)),
           ort_run(CHAIN_ONNX, x.astype(np.float32))[0])


def test_ceil_mode_average_pool_fixed_matches_exact_reference():
    """AveragePool(3, stride 2, pads 1 and 1, ceil_mode=1, count_include_pad=1) on 6 samples:
    ceil_mode adds a fourth window over [x5, the declared tail pad, one more position], and
    that window counts its 2 declared positions, not the one ceil_mode adds (onnxruntime's
    and PyTorch's rule); floor mode has 3 windows."""
    Tin, Tout = (True, 8, 4), (True, 10, 6)
    T = fx.TypeTable({"input": tstr(Tin), "ap.out": tstr(Tout)})
    x = np.array([[[0.5, -0.25, 0.75, 1.0, -1.0, 0.625]]])
    xs = [val(q(Fraction(float(v)), Tin), Tin) for v in x.ravel()]
    p = [Fraction(0)] + xs + [Fraction(0)]                    # the declared padding
    for ceil, want in ((0, [q(sum(p[i:i + 3]) / 3, Tout) for i in (0, 2, 4)]),
                       (1, [q(sum(p[i:i + 3]) / 3, Tout) for i in (0, 2, 4)]
                        + [q((p[6] + p[7]) / 2, Tout)])):
        node = helper.make_node("AveragePool", ["x"], ["y"], name="ap", kernel_shape=[3],
                                strides=[2], pads=[1, 1], ceil_mode=ceil,
                                count_include_pad=1)
        m = model([node], [], [1, 1, 6], y_shape=[None] * 3)
        net = nn.load_onnx(m)
        assert [int(v) for v in np.asarray(net(x, types=T).int).ravel()] == want
        _close(net(x), ort_run(m, x.astype(np.float32))[0])


# -- a PyTorch network through the whole tool ----------------------------------------------------------


def _export(mod, x, dynamo: bool) -> bytes:
    """*mod* exported to ONNX bytes by PyTorch's new (``dynamo=True``) or legacy exporter."""
    import torch
    if dynamo:
        return torch.onnx.export(mod, (x,), dynamo=True, verbose=False).model_proto \
            .SerializeToString()
    f = io.BytesIO()
    torch.onnx.export(mod, (x,), f, dynamo=False, opset_version=17)
    return f.getvalue()


def _torch_net(dynamo: bool):
    import torch
    import torch.nn as tnn

    torch.manual_seed(0)

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c = tnn.Conv2d(1, 4, 3, padding=1)
            self.p = tnn.MaxPool2d(3, 2, padding=1, ceil_mode=True)
            self.a = tnn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=True)
            self.fc = tnn.Linear(4, 3)
            self.register_buffer("mu", torch.tensor(0.25))
            self.register_buffer("sd", torch.tensor(0.3))

        def forward(self, x):
            x = (x - self.mu) / self.sd
            x = self.a(self.p(tnn.functional.hardswish(self.c(x))))
            x = 1.0 - x
            x = x.mean(dim=(2, 3))
            return tnn.functional.hardsigmoid(self.fc(x) / 2.0)

    m = Net().eval()
    x = torch.rand(6, 1, 7, 7)
    data = _export(m, x, dynamo)
    with torch.no_grad():
        ref = m.double()(x.double()).numpy()
    return data, x.numpy().astype(np.float64), ref


@pytest.mark.parametrize("dynamo", [False, True])
def test_torch_normalise_hardswish_mean_network_through_the_tool(dynamo):
    """record -> derive -> propose(16 bits) -> verify on a PyTorch network using every new
    operator: no overflow on the data, derived ranges hold every recorded value, and the
    fixed run is close to torch's float64 one."""
    data, x, ref = _torch_net(dynamo)
    net = nn.load_onnx(data)
    ops = {n.op for n in net.nodes}
    assert {"Sub", "Div", "HardSwish", "ReduceMean", "HardSigmoid", "MaxPool",
            "AveragePool"} <= ops
    # (torch computes hardswish as x relu6(x + 3) / 6: other float64 roundings)
    assert float(np.abs(net(x) - ref).max()) <= 1e-8
    T = net.type_table()
    with fx.tool.record() as rec:
        net(x, types=T.as_double())
    lo, hi = np.zeros(x.shape), np.ones(x.shape)
    d = nn.derive_ranges(net, lo, hi)
    for name in rec.names:
        assert d[name][0] <= rec[name].min and rec[name].max <= d[name][1], name
    P = fx.tool.propose(rec, T, word_length=16)
    with fx.tool.record() as r16:
        y16 = net(x, types=P.types)
    assert sum(r16[n].overflows for n in r16.names) == 0
    assert float(np.abs(np.asarray(y16, np.float64) - ref).max()) < 2 ** -8
    v = fx.tool.verify(net, [x], P.types)
    out_sig = [n for n in v.keys() if n.endswith(".out")][-1]
    assert out_sig == f"{net.nodes[-1].name}.out" and net.nodes[-1].op == "HardSigmoid"
    assert v.overflows == 0
    # its error is recomputed here from the two runs
    err = np.abs(np.asarray(net(x, types=P.types), np.float64) - net(x, types=T.as_double()))
    assert v[out_sig].max_abs_error == pytest.approx(float(err.max()), rel=0, abs=0)
    d16 = nn.derive_ranges(net, lo, hi, types=P.types)
    for name in r16.names:
        assert d16[name][0] <= r16[name].min and r16[name].max <= d16[name][1], name


# -- what has no fixed-point form ----------------------------------------------------------------------


def test_div_by_an_activation_has_no_fixed_point_form():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "one"], ["d"], name="add"),
             helper.make_node("Div", ["x", "d"], ["y"], name="div")]
    m, net = _net_of(nodes, [("one", np.float32(1.0))], (1, 4, 1, 1))
    x = np.random.default_rng(0).normal(0, 1, (1, 4, 1, 1))
    _close(net(x), ort_run(m, x.astype(np.float32))[0])  # double mode runs it
    T = net.type_table()
    assert "div.weight" not in T
    with pytest.raises(ValueError, match=r"'div'.*not a constant.*no fixed-point form"):
        net(x, types=T.update({k: "sfix16_En8" for k in T.names}))
    with pytest.raises(ValueError, match=r"'div'.*not a constant.*no interval rule"):
        nn.derive_ranges(net, -np.ones(x.shape), np.ones(x.shape))


def test_div_by_a_constant_zero_is_refused():
    m, net = _net_of([helper.make_node("Div", ["x", "z"], ["y"], name="div")],
                     [("z", np.array([1.0, 0.0], np.float32).reshape(1, 2, 1, 1))],
                     (1, 2, 1, 1))
    T = net.type_table()
    T = T.update({k: "sfix16_En8" for k in T.names})
    x = np.ones((1, 2, 1, 1))
    with pytest.raises(ValueError, match=r"'div'.*holds 0"):
        net(x, types=T)
    with pytest.raises(ValueError, match=r"'div'.*holds 0"):
        nn.derive_ranges(net, -x, x)


def test_reduce_mean_bad_axis_names_the_node():
    m = model([helper.make_node("ReduceMean", ["x"], ["y"], name="rm", axes=[4])], [],
              [1, 2, 3, 4], y_shape=[None] * 4)
    with pytest.raises(ValueError, match=r"'rm'.*axis 4 is out of range.*valid: -4 to 3"):
        nn.load_onnx(m)(np.ones((1, 2, 3, 4)))


def test_quantized_average_pool_with_ceil_mode_is_refused_at_load():
    """onnxruntime's QLinearAveragePool is modelled in floor mode only."""
    q8 = [init("s", np.float32(0.05)), init("z", np.uint8(128))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="q"),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dq"),
             helper.make_node("AveragePool", ["xd"], ["p"], name="ap", kernel_shape=[2, 2],
                              strides=[2, 2], ceil_mode=1),
             helper.make_node("QuantizeLinear", ["p", "s", "z"], ["pq"], name="q2"),
             helper.make_node("DequantizeLinear", ["pq", "s", "z"], ["y"], name="dq2")]
    m = model(nodes, q8, [1, 1, 5, 5], y_shape=[None] * 4)
    with pytest.raises(nn.UnsupportedOperatorError, match=r"'ap'.*ceil_mode=1"):
        nn.load_onnx(m)


def test_reference_self_check():
    """The reference's rounding: nearest with ties up, then saturation."""
    assert q(Fraction(3, 2), (True, 4, 0)) == 2 and q(Fraction(-3, 2), (True, 4, 0)) == -1
    assert q(Fraction(100), (True, 4, 0)) == 7 and math.isclose(float(val(3, (1, 4, 2))), 0.75)


# -- LogSoftmax (PyTorch's MNIST-example classifier head) -----------------------------------------


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_log_softmax_matches_onnxruntime(axis):
    x = np.random.default_rng(8).normal(0, 4, (3, 7)).astype(np.float32)
    m, net = _net_of([helper.make_node("LogSoftmax", ["x"], ["y"], name="ls", axis=axis)], [],
                     x.shape, y_shape=[None, None])
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])
    assert np.all(net(x.astype(np.float64)) <= 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 10 ** 6), st.floats(0.0, 30.0), st.floats(-20, 20))
def test_log_softmax_derived_range_is_sound_and_tight(k, seed, width, centre):
    """The derived range holds every value at random points and at every corner-pair the bound
    comes from, and each end is reached up to the float widening: the lower end at
    ``(x_i, x_j) = (lo, hi)``, the upper at ``(hi, lo)``."""
    rng = np.random.default_rng(seed)
    lo = centre + rng.uniform(-width, 0, (1, k))
    hi = lo + rng.uniform(0, width, (1, k))
    m = model([helper.make_node("LogSoftmax", ["x"], ["y"], name="ls", axis=-1)], [], [1, k],
              y_shape=[None, None])
    net = nn.load_onnx(m)
    d = nn.derive_ranges(net, lo, hi)["ls.out"]
    xs = [rng.uniform(lo, hi) for _ in range(20)]
    for i in range(k):
        xs.append(np.where(np.arange(k) == i, lo, hi))    # the i-th value's minimum
        xs.append(np.where(np.arange(k) == i, hi, lo))    # its maximum
    ys = np.concatenate([net(x).ravel() for x in xs])
    assert d[0] <= ys.min() and ys.max() <= d[1] <= 0
    scale = 1e-12 * (1 + np.abs(lo).max() + np.abs(hi).max())
    assert ys.min() - d[0] <= scale and d[1] - ys.max() <= scale


def test_mnist_example_style_network_through_the_tool():
    """The PyTorch MNIST example's shape (conv, relu, conv, relu, max_pool2d, dropout,
    flatten, fc, relu, fc, log_softmax), small: 16-bit proposal, no overflow, derived ranges
    hold every recorded value, classes agree with torch."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    torch.manual_seed(1)

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = tnn.Conv2d(1, 4, 3), tnn.Conv2d(4, 8, 3)
            self.d = tnn.Dropout(0.25)
            self.f1, self.f2 = tnn.Linear(8 * 2 * 2, 16), tnn.Linear(16, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.c2(F.relu(self.c1(x)))), 2)
            x = F.relu(self.f1(torch.flatten(self.d(x), 1)))
            return F.log_softmax(self.f2(x), dim=1)

    mod = Net().eval()
    x = torch.rand(16, 1, 8, 8)
    net = nn.load_onnx(_export(mod, x, dynamo=False))
    assert net.nodes[-1].op == "LogSoftmax"
    xd = x.numpy().astype(np.float64)
    with torch.no_grad():
        ref = mod.double()(x.double()).numpy()
    assert float(np.abs(net(xd) - ref).max()) <= 1e-9
    T = net.type_table()
    with fx.tool.record() as rec:
        net(xd, types=T.as_double())
    d = nn.derive_ranges(net, np.zeros(x.shape), np.ones(x.shape))
    for name in rec.names:
        assert d[name][0] <= rec[name].min and rec[name].max <= d[name][1], name
    P = fx.tool.propose(rec, T, word_length=16)
    with fx.tool.record() as r16:
        y16 = np.asarray(net(xd, types=P.types), np.float64)
    assert sum(r16[n].overflows for n in r16.names) == 0
    assert np.array_equal(y16.argmax(axis=1), ref.argmax(axis=1))


# -- Erf (GELU): a lookup table; Gelu (opset 20) rewritten into what the legacy exporter gives ---


def test_erf_matches_onnxruntime_and_its_fixed_table_the_reference():
    """Double: onnxruntime. Fixed: the 256-entry table over [-8, 8) (default
    ``nn.LookupTable``), entry ``k`` = erf at its cell's centre quantized nearest/saturate to
    the ``.out`` type, read at ``floor((x + 8) * 16)``."""
    x = np.random.default_rng(9).normal(0, 3, (4, 9)).astype(np.float32)
    m, net = _net_of([helper.make_node("Erf", ["x"], ["y"], name="erf")], [], x.shape,
                     y_shape=[None, None])
    _close(net(x.astype(np.float64)), ort_run(m, x)[0])
    Tin, Tout = (True, 12, 8), (True, 10, 8)
    T = fx.TypeTable({"input": tstr(Tin), "erf.out": tstr(Tout)})
    got = [int(v) for v in np.asarray(net(x.astype(np.float64), types=T).int).ravel()]
    want = []
    for v in x.astype(np.float64).ravel():
        xv = val(q(Fraction(float(v)), Tin), Tin)
        k = min(max(math.floor((xv + 8) * 16), 0), 255)
        want.append(q(Fraction(math.erf(-8 + (k + 0.5) / 16)), Tout))
    assert got == want


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dynamo", [False, True])
def test_torch_gelu_through_the_tool(approximate, dynamo):
    """nn.GELU from both exporters (the legacy one's Div/Erf/Add/Mul or Tanh decomposition;
    dynamo's opset-20 Gelu, rewritten at load into the same): the double run matches torch
    and onnxruntime, derived ranges hold every recorded value in double and in the proposed
    16-bit types, no overflow."""
    import torch
    import torch.nn as tnn

    torch.manual_seed(0)
    mod = tnn.Sequential(tnn.Linear(4, 6), tnn.GELU(approximate=approximate),
                         tnn.Linear(6, 2)).eval()
    x = torch.clamp(torch.randn(24, 4) * 2, -4, 4)
    data = _export(mod, x, dynamo)
    with torch.no_grad():
        ref = copy.deepcopy(mod).double()(x.double()).numpy()
    net = nn.load_onnx(data)
    ops = [n.op for n in net.nodes]
    assert ("Erf" in ops) == (approximate == "none") and "Gelu" not in ops
    xd = x.numpy().astype(np.float64)
    assert float(np.abs(net(xd) - ref).max()) <= 1e-7
    _close(net(xd), ort_run(onnx.load_from_string(data), x.numpy())[0])
    lo, hi = np.full(x.shape, -4.0), np.full(x.shape, 4.0)
    T = net.type_table()
    with fx.tool.record() as rec:
        net(xd, types=T.as_double())
    d = nn.derive_ranges(net, lo, hi)
    for name in rec.names:
        assert d[name][0] <= rec[name].min and rec[name].max <= d[name][1], name
    P = fx.tool.propose(rec, T, word_length=16)
    with fx.tool.record() as r16:
        net(xd, types=P.types)
    assert sum(r16[n].overflows for n in r16.names) == 0
    d16 = nn.derive_ranges(net, lo, hi, types=P.types)
    for name in r16.names:
        assert d16[name][0] <= r16[name].min and r16[name].max <= d16[name][1], name


def test_gelu_bad_approximate_names_the_node():
    g = helper.make_graph([helper.make_node("Gelu", ["x"], ["y"], name="g", approximate="x")],
                          "g", [helper.make_tensor_value_info("x", 1, [1, 3])],
                          [helper.make_tensor_value_info("y", 1, [1, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    with pytest.raises(ValueError, match=r"'g'.*approximate='x'.*valid: 'none', 'tanh'"):
        nn.load_onnx(m.SerializeToString())
