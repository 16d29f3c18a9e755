"""Fixed mode is bit-exact: every layer's stored integers equal a slow reference written here
with Python ints and Fractions (quantize = nearest, ties toward +inf, then saturate: the
default fimath), over random types chosen by hypothesis, on all three product paths
(float64 BLAS, int64 kernel, Python ints)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fixsim as fx
import fixsim.nn as nn


# -- the reference --------------------------------------------------------------------------------
def q(v: Fraction, T) -> int:
    """Stored integer of v in type T = (signed, W, F), nearest (ties up), saturate."""
    s, W, F = T
    k = math.floor(Fraction(v) * Fraction(2) ** F + Fraction(1, 2))
    lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if s else (0, (1 << W) - 1)
    return min(max(k, lo), hi)


def val(k: int, T) -> Fraction:
    return Fraction(k) * Fraction(2) ** -T[2]


def tstr(T) -> str:
    s, W, F = T
    return str(fx.numerictype(bool(s), W, F))


def types_strategy(names, wmin=4, wmax=20, weight_names=()):
    def one(name):
        W = st.integers(wmin, wmax)
        return W.flatmap(lambda w: st.tuples(
            st.just(True), st.just(w),
            st.integers(0 if name in weight_names else -2, w + 2)))
    return st.fixed_dictionaries({n: one(n) for n in names})


def ints(a):
    return [int(v) for v in np.asarray(a.int).ravel()]


# -- an MLP: Dense, ReLU, Dense, LeakyReLU, Clip, Sigmoid (LUT) -----------------------------------
rng = np.random.default_rng(3)
W1, B1 = rng.normal(0, 0.7, (5, 4)), rng.normal(0, 0.3, 4)
W2, B2 = rng.normal(0, 0.7, (4, 3)), rng.normal(0, 0.3, 3)
MLP = nn.Sequential([nn.Dense(W1, B1, name="fc1"), nn.ReLU(name="r1"),
                     nn.Dense(W2, B2, name="fc2"), nn.LeakyReLU(0.1, name="lk"),
                     nn.Clip(-0.5, 0.75, name="clip"), nn.Sigmoid(name="sig")])
MLP_SIGNALS = MLP.signals()


def mlp_reference(x, T, lut_size, lut_range):
    xs = [[q(Fraction(float(v)), T["input"]) for v in row] for row in x]
    layer_in = [[val(k, T["input"]) for k in row] for row in xs]
    out = {}
    for L, W, B, nxt in (("fc1", W1, B1, "r1"), ("fc2", W2, B2, None)):
        wq = [[val(q(Fraction(float(W[i, j])), T[f"{L}.weight"]), T[f"{L}.weight"])
               for j in range(W.shape[1])] for i in range(W.shape[0])]
        bq = [val(q(Fraction(float(B[j])), T[f"{L}.bias"]), T[f"{L}.bias"])
              for j in range(W.shape[1])]
        acc = [[q(sum(row[i] * wq[i][j] for i in range(len(row))) + bq[j], T[f"{L}.acc"])
                for j in range(W.shape[1])] for row in layer_in]
        o = [[q(val(k, T[f"{L}.acc"]), T[f"{L}.out"]) for k in r] for r in acc]
        out[f"{L}.acc"], out[f"{L}.out"] = acc, o
        vals = [[val(k, T[f"{L}.out"]) for k in r] for r in o]
        if nxt:
            r1 = [[q(max(v, 0), T["r1.out"]) for v in r] for r in vals]
            out["r1.out"] = r1
            layer_in = [[val(k, T["r1.out"]) for k in r] for r in r1]
    a = val(q(Fraction(0.1), T["lk.weight"]), T["lk.weight"])
    lk = [[q(v if v >= 0 else v * a, T["lk.out"]) for v in r] for r in vals]
    out["lk.out"] = lk
    cl = [[q(min(max(val(k, T["lk.out"]), Fraction(-0.5)), Fraction(0.75)), T["clip.out"])
           for k in r] for r in lk]
    out["clip.out"] = cl
    lut_range = Fraction(lut_range)
    step = 2 * lut_range / lut_size
    sig = []
    for r in cl:
        row = []
        for k in r:
            v = val(k, T["clip.out"])
            idx = min(max(math.floor((v + lut_range) / step), 0), lut_size - 1)
            c = float(-lut_range + (idx + Fraction(1, 2)) * step)
            row.append(q(Fraction(float(1 / (1 + np.exp(-np.float64(c))))), T["sig.out"]))
        sig.append(row)
    out["sig.out"] = sig
    return out


@settings(max_examples=40)
@given(types_strategy(MLP_SIGNALS, weight_names=("lk.weight",)),
       st.sampled_from([(16, 4.0), (64, 8.0), (256, 2.0)]))
def test_mlp_fixed_matches_reference(types, lut):
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    x = rng.normal(0, 1.5, (6, 5))
    got = MLP(x, types=T, outputs=["fc1:out", "r1:out", "fc2:out", "lk:out", "clip:out",
                                   "sig:out"], lut={"size": lut[0], "input_range": lut[1]})
    exp = mlp_reference(x, types, *lut)
    for sig, tensor in (("fc1.out", "fc1:out"), ("r1.out", "r1:out"), ("fc2.out", "fc2:out"),
                        ("lk.out", "lk:out"), ("clip.out", "clip:out"),
                        ("sig.out", "sig:out")):
        assert got[tensor].numerictype == fx.numerictype.parse(tstr(types[sig]))
        assert ints(got[tensor]) == [k for r in exp[sig] for k in r], sig
    info = MLP.lookup_tables["sig"]
    assert info["size"] == lut[0] and info["input_range"] == lut[1]
    assert info["type"] == tstr(types["sig.out"])


# -- a CNN: Conv (padding, stride, groups), ReLU, AvgPool, Flatten, Dense --------------------------
WC = rng.normal(0, 0.5, (4, 1, 3, 3))
BC = rng.normal(0, 0.2, 4)
WD = rng.normal(0, 0.5, (16, 3))


def make_cnn(groups=1, cin=1):
    wc = WC if cin == 1 else rng.normal(0, 0.5, (4, cin // groups, 3, 3))
    return nn.Sequential([nn.Conv(wc, BC, padding=1, stride=2, groups=groups, name="c1"),
                          nn.ReLU(name="r"), nn.AvgPool(2, name="ap"), nn.Flatten(name="fl"),
                          nn.Dense(WD, name="fc")]), wc


def conv_reference(x, wc, T, groups):
    N, C, H, Wd = x.shape
    M = wc.shape[0]
    xq = np.vectorize(lambda v: val(q(Fraction(float(v)), T["input"]), T["input"]),
                      otypes=[object])(x)
    wq = np.vectorize(lambda v: val(q(Fraction(float(v)), T["c1.weight"]), T["c1.weight"]),
                      otypes=[object])(wc)
    bq = [val(q(Fraction(float(b)), T["c1.bias"]), T["c1.bias"]) for b in BC]
    Ho, Wo = (H + 2 - 3) // 2 + 1, (Wd + 2 - 3) // 2 + 1
    cg, mg = C // groups, M // groups
    r = np.empty((N, M, Ho, Wo), dtype=object)
    for n in range(N):
        for m in range(M):
            g = m // mg
            for i in range(Ho):
                for j in range(Wo):
                    s = bq[m]
                    for c in range(cg):
                        for a in range(3):
                            for b in range(3):
                                hi, wi = 2 * i + a - 1, 2 * j + b - 1
                                if 0 <= hi < H and 0 <= wi < Wd:
                                    s += xq[n, g * cg + c, hi, wi] * wq[m, c, a, b]
                    acc = q(s, T["c1.acc"])
                    o = q(val(acc, T["c1.acc"]), T["c1.out"])
                    r[n, m, i, j] = q(max(val(o, T["c1.out"]), 0), T["r.out"])
    ap = np.empty((N, M, Ho // 2, Wo // 2), dtype=object)
    for n in range(N):
        for m in range(M):
            for i in range(Ho // 2):
                for j in range(Wo // 2):
                    s = sum(val(r[n, m, 2 * i + a, 2 * j + b], T["r.out"]) for a in range(2)
                            for b in range(2))
                    ap[n, m, i, j] = q(s / 4, T["ap.out"])
    flat = ap.reshape(N, -1)
    wd = [[val(q(Fraction(float(WD[i, j])), T["fc.weight"]), T["fc.weight"])
           for j in range(3)] for i in range(16)]
    fc = [[q(q(sum(val(flat[n, i], T["ap.out"]) * wd[i][j] for i in range(16)), T["fc.acc"])
             * Fraction(2) ** -T["fc.acc"][2], T["fc.out"]) for j in range(3)]
          for n in range(N)]
    return r, ap, fc


@settings(max_examples=15)
@given(st.data())
def test_cnn_fixed_matches_reference(data):
    groups = data.draw(st.sampled_from([1, 2]))
    net, wc = make_cnn(groups, cin=1 if groups == 1 else 2)
    # wide words too: input up to 48 bits, weights up to 40 (int64-kernel and Python-int paths)
    wide = data.draw(st.booleans())
    types = data.draw(types_strategy(net.signals(), wmax=20))
    if wide:
        types["input"] = (True, data.draw(st.integers(30, 48)), 20)
        types["c1.weight"] = (True, data.draw(st.integers(24, 40)), 20)
        types["c1.acc"] = (True, 90, 40)
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    x = rng.normal(0, 1, (2, 1 if groups == 1 else 2, 8, 8))
    got = net(x, types=T, outputs=["r:out", "ap:out", "fc:out"])
    r, ap, fc = conv_reference(x, wc, types, groups)
    assert ints(got["r:out"]) == [int(v) for v in r.ravel()]
    assert ints(got["ap:out"]) == [int(v) for v in ap.ravel()]
    assert ints(got["fc:out"]) == [k for row in fc for k in row]


def test_double_table_is_double_mode_and_records_every_signal():
    net, _ = make_cnn()
    x = rng.normal(0, 1, (3, 1, 8, 8))
    T = net.type_table()
    np.testing.assert_array_equal(net(x, types=T), net(x))
    with fx.tool.record() as rec:
        net(x, types=T)
    assert sorted(rec) == sorted(net.signals())
    assert rec["c1.acc"].count == 3 * 4 * 4 * 4
    p = fx.tool.propose(rec, T, word_length=16)
    y = net(x, types=p.types)
    assert isinstance(y, fx.fi)
    # 16-bit proposals from the same data: close to double
    assert np.abs(y.data - net(x)).max() < 0.05 * np.abs(net(x)).max()


def test_fixed_mode_errors():
    net, _ = make_cnn()
    x = rng.normal(0, 1, (1, 1, 8, 8))
    with pytest.raises(ValueError, match="no entry for"):
        net(x, types=fx.TypeTable({"input": "double"}))
    with pytest.raises(TypeError, match="TypeTable"):
        net(x, types={"input": "double"})
    with pytest.raises(ValueError, match="size must be a power of two"):
        nn.LookupTable(size=100)
    with pytest.raises(ValueError, match="input_range must be a power of two"):
        nn.LookupTable(input_range=3.0)


def test_sequential_builder_errors_and_batchnorm_fold():
    with pytest.raises(TypeError, match="layer 0 is a int"):
        nn.Sequential([3])
    with pytest.raises(ValueError, match="duplicate"):
        nn.Sequential([nn.ReLU(name="a"), nn.ReLU(name="a")])
    with pytest.raises(ValueError, match="bias has 2 values"):
        nn.Sequential([nn.Dense(np.ones((3, 4)), [1.0, 2.0])])
    g, b, m, v = (rng.normal(0, 1, 4) for _ in range(4))
    v = np.abs(v) + 0.1
    W = rng.normal(0, 1, (3, 4))
    net = nn.Sequential([nn.Dense(W, name="fc"), nn.BatchNorm(g, b, m, v, name="bn")])
    assert net.layers == ["fc"]
    x = rng.normal(0, 1, (5, 3))
    np.testing.assert_allclose(net(x), (x @ W - m) / np.sqrt(v + 1e-5) * g + b, rtol=1e-12)


# -- the remaining fixed-point operators: BatchNormalization (unfolded), Tanh (LUT),
# GlobalAveragePool, Flatten, Mul and Add by constants, Concat, MatMul of two activations ----
def _graph_net():
    from onnx import helper

    from .models import init, model
    g, b, m, v = (np.array(a) for a in ([1.5, -0.5], [0.25, 0.1], [0.2, -0.3], [0.5, 2.0]))
    nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"], name="bn"),
        helper.make_node("Tanh", ["bn"], ["th"], name="th"),
        helper.make_node("GlobalAveragePool", ["th"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["fl"], name="fl"),
        helper.make_node("Mul", ["fl", "s"], ["mu"], name="mu"),
        helper.make_node("Add", ["mu", "c"], ["ad"], name="ad"),
        helper.make_node("Concat", ["ad", "fl"], ["cc"], name="cc", axis=1),
        helper.make_node("MatMul", ["cc", "ccT"], ["y"], name="mm"),
    ]
    # ccT is a second activation: the transpose of cc
    nodes.insert(7, helper.make_node("Transpose", ["cc"], ["ccT"], name="tr", perm=[1, 0]))
    inits = [init(n, a.astype(np.float32)) for n, a in
             (("g", g), ("b", b), ("m", m), ("v", v), ("s", np.array([0.75, -1.25])),
              ("c", np.array([0.125, 0.5])))]
    net = nn.load_onnx(model(nodes, inits, [None, 2, 3, 3], y_shape=[None, None]))
    return net, (g, b, m, v)


GRAPH, GRAPH_BN = _graph_net()


def graph_reference(x, T, lut: nn.LookupTable):
    g, b, m, v = GRAPH_BN
    N = x.shape[0]
    xq = np.vectorize(lambda t: val(q(Fraction(float(t)), T["input"]), T["input"]),
                      otypes=[object])(x)
    s = g / np.sqrt(v + 1e-5)
    wq = [val(q(Fraction(float(si)), T["bn.weight"]), T["bn.weight"]) for si in s]
    bq = [val(q(Fraction(float(bi - mi * si)), T["bn.bias"]), T["bn.bias"])
          for bi, mi, si in zip(b, m, s, strict=True)]
    bn = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(*x.shape):
        c = idx[1]
        bn[idx] = val(q(xq[idx] * wq[c] + bq[c], T["bn.out"]), T["bn.out"])
    r = Fraction(lut.input_range)
    step = 2 * r / lut.size
    th = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(*x.shape):
        k = min(max(math.floor((bn[idx] + r) / step), 0), lut.size - 1)
        cval = float(-r + (k + Fraction(1, 2)) * step)
        th[idx] = val(q(Fraction(float(np.tanh(np.float64(cval)))), T["th.out"]), T["th.out"])
    gap = [[val(q(sum(th[n, c].ravel()) / 9, T["gap.out"]), T["gap.out"]) for c in range(2)]
           for n in range(N)]
    sq = [val(q(Fraction(t), T["mu.weight"]), T["mu.weight"]) for t in (0.75, -1.25)]
    mu = [[val(q(gap[n][c] * sq[c], T["mu.out"]), T["mu.out"]) for c in range(2)]
          for n in range(N)]
    cq = [val(q(Fraction(t), T["ad.bias"]), T["ad.bias"]) for t in (0.125, 0.5)]
    ad = [[val(q(mu[n][c] + cq[c], T["ad.out"]), T["ad.out"]) for c in range(2)]
          for n in range(N)]
    cc = [[val(q(t, T["cc.out"]), T["cc.out"]) for t in ad[n] + gap[n]] for n in range(N)]
    y = [[q(val(q(sum(cc[i][k] * cc[j][k] for k in range(4)), T["mm.acc"]), T["mm.acc"]),
            T["mm.out"]) for j in range(N)] for i in range(N)]
    return y


@settings(max_examples=20)
@given(st.data())
def test_other_fixed_operators_match_reference(data):
    names = GRAPH.signals()
    assert names == ["input", "bn.weight", "bn.bias", "bn.out", "th.out", "gap.out",
                     "mu.weight", "mu.out", "ad.bias", "ad.out", "cc.out", "mm.acc",
                     "mm.out"]
    types = data.draw(types_strategy(names, wmin=6, wmax=18))
    T = fx.TypeTable({k: tstr(v) for k, v in types.items()})
    lut = nn.LookupTable(data.draw(st.sampled_from([32, 128])), 4.0)
    x = rng.normal(0, 1, (3, 2, 3, 3))
    got = GRAPH(x, types=T, lut=lut)
    exp = graph_reference(x, types, lut)
    assert ints(got) == [k for row in exp for k in row]
    assert GRAPH.lookup_tables["th"]["function"] == "tanh"


def test_graph_double_table_matches_double():
    x = rng.normal(0, 1, (3, 2, 3, 3))
    np.testing.assert_allclose(GRAPH(x, types=GRAPH.type_table()), GRAPH(x), rtol=1e-12)


@pytest.mark.parametrize("sa, sb", [((4, 2, 3), (4, 3, 5)), ((2, 3), (4, 3, 5)),
                                    ((4, 2, 3), (3, 5)), ((3,), (4, 3, 5)), ((4, 2, 3), (3,)),
                                    ((1, 2, 3), (4, 3, 2)), ((3,), (3,))])
def test_regression_fixed_matmul_of_two_activations_with_stacks(sa, sb):
    """Regression: fixed mode passed a stacked product of two activations, ``(N, 2, 3) @
    (N, 3, 2)``, to the 2-D integer kernel whole, which refused it. The stacked product
    equals Python-int ``matmul`` with numpy's shape rules, also beyond int64."""
    from fixsim.nn._fixed import _int_matmul_nd
    r = np.random.default_rng(3)
    for bits in (15, 40):
        a = r.integers(-2 ** bits, 2 ** bits, sa)
        b = r.integers(-2 ** bits, 2 ** bits, sb)
        got = _int_matmul_nd(a, b, 2 ** bits, 2 ** bits)
        want = np.matmul(a.astype(object), b.astype(object))
        assert np.shape(got) == np.shape(want)
        assert np.array_equal(np.asarray(got, dtype=object), np.asarray(want, dtype=object))
