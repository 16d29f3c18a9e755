"""Independent (blind) review: small networks through the fixed-point tool.

Networks built here (not from the repository's models): ONNX CNNs and an ONNX MLP made with
``onnx.helper`` (random and scikit-learn-trained weights), and the same kinds of networks
through the ``nn.Sequential`` front-end (each with an ONNX twin for onnxruntime).  Each goes
through record (collect), derive, propose (8/12/16 bits; simulation, derived and union
sources) and verify by the public API only, and every reported number is recomputed here
(exact Fractions for ranges and best precision, numpy for statistics and errors).
"""

from __future__ import annotations

import math
from fractions import Fraction as Fr

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import fixsim as fx
from fixsim import nn

WORDS = (8, 12, 16)
SOURCES = ("simulation", "derived", "union")


# ----------------------------------------------------------------------------- models


def _init(name, arr, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def _model(nodes, inits, x_shape, y_shape):
    g = helper.make_graph(
        nodes, "review", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def cnn_a():
    """Conv(pad 1) -> BatchNorm -> Relu -> AveragePool 2 -> Reshape -> Gemm -> Tanh
    -> MatMul + Add -> Softmax (random weights)."""
    rng = np.random.default_rng(11)
    p = dict(w1=rng.normal(0, .5, (4, 1, 3, 3)), b1=rng.normal(0, .1, 4),
             g=rng.uniform(.5, 1.5, 4), be=rng.normal(0, .1, 4), mu=rng.normal(0, .1, 4),
             var=rng.uniform(.5, 2, 4), w2=rng.normal(0, .3, (16, 64)), b2=rng.normal(0, .1, 16),
             w3=rng.normal(0, .3, (16, 10)), b3=rng.normal(0, .1, 10))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"], name="bn1",
                         epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"], name="relu1"),
        helper.make_node("AveragePool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Reshape", ["p1", "shp"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["g2"], name="fc2", transB=1),
        helper.make_node("Tanh", ["g2"], ["t2"], name="tanh2"),
        helper.make_node("MatMul", ["t2", "w3"], ["m3"], name="fc3"),
        helper.make_node("Add", ["m3", "b3"], ["a3"], name="fc3_bias"),
        helper.make_node("Softmax", ["a3"], ["y"], name="softmax", axis=1),
    ]
    inits = [_init(k, v) for k, v in p.items()]
    inits.append(_init("shp", [-1, 64], np.int64))
    return _model(nodes, inits, [None, 1, 8, 8], [None, 10])


def cnn_b():
    """Conv(stride 1, pad 1) -> Relu -> MaxPool 2 -> Conv(groups 2) -> LeakyRelu -> Flatten
    -> Gemm -> Sigmoid -> Gemm (random weights)."""
    rng = np.random.default_rng(12)
    p = dict(w1=rng.normal(0, .5, (4, 1, 3, 3)), b1=rng.normal(0, .1, 4),
             w2=rng.normal(0, .3, (6, 2, 3, 3)), b2=rng.normal(0, .1, 6),
             w3=rng.normal(0, .3, (24, 12)), b3=rng.normal(0, .1, 12),
             w4=rng.normal(0, .4, (10, 12)), b4=rng.normal(0, .1, 10))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", group=2),
        helper.make_node("LeakyRelu", ["c2"], ["r2"], name="lrelu2", alpha=0.1),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["g3"], name="fc3"),
        helper.make_node("Sigmoid", ["g3"], ["s3"], name="sig3"),
        helper.make_node("Gemm", ["s3", "w4", "b4"], ["y"], name="fc4", transB=1),
    ]
    return _model(nodes, [_init(k, v) for k, v in p.items()], [None, 1, 8, 8], [None, 10])


_DIGITS = None


def digits():
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits
        d = load_digits()
        _DIGITS = (d.data / 16.0, d.target)
    return _DIGITS


def mlp_onnx():
    """A (32, 16) ReLU MLP trained by scikit-learn on the digits, as MatMul/Add/Relu."""
    from sklearn.neural_network import MLPClassifier
    X, y = digits()
    clf = MLPClassifier((32, 16), activation="relu", max_iter=150, random_state=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X[:1200], y[:1200])
    nodes, inits, prev = [], [], "x"
    L = len(clf.coefs_)
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_, strict=True)):
        inits += [_init(f"W{i}", W), _init(f"b{i}", b)]
        nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"mm{i}"], name=f"fc{i}"))
        out = "y" if i == L - 1 else f"a{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out], name=f"fc{i}_bias"))
        if i < L - 1:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
    return _model(nodes, inits, [None, 64], [None, 10]), clf


def seq_cnn():
    """The Sequential front-end: Conv -> BatchNorm -> ReLU -> MaxPool -> Flatten -> Dense
    -> Sigmoid -> Dense, and its ONNX twin."""
    rng = np.random.default_rng(13)
    w1 = _f32(rng.normal(0, .5, (4, 1, 3, 3)))
    b1 = _f32(rng.normal(0, .1, 4))
    g, be, mu = _f32(rng.uniform(.5, 1.5, 4)), _f32(rng.normal(0, .1, 4)), _f32(rng.normal(0, .1, 4))
    var = _f32(rng.uniform(.5, 2, 4))
    w2 = _f32(rng.normal(0, .3, (64, 12)))
    b2 = _f32(rng.normal(0, .1, 12))
    w3 = _f32(rng.normal(0, .4, (12, 10)))
    b3 = _f32(rng.normal(0, .1, 10))
    net = nn.Sequential([
        nn.Conv(w1, b1, padding=1, name="conv1"),
        nn.BatchNorm(g, be, mu, var, eps=1e-5, name="bn1"),
        nn.ReLU(name="relu1"),
        nn.MaxPool(2, name="pool1"),
        nn.Flatten(name="flat"),
        nn.Dense(w2, b2, name="fc2"),
        nn.Sigmoid(name="sig2"),
        nn.Dense(w3, b3, name="fc3"),
    ], name="seqcnn")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"],
                         epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["g2"]),
        helper.make_node("Sigmoid", ["g2"], ["s2"]),
        helper.make_node("Gemm", ["s2", "w3", "b3"], ["y"]),
    ]
    inits = [_init(k, v) for k, v in dict(w1=w1, b1=b1, g=g, be=be, mu=mu, var=var, w2=w2,
                                          b2=b2, w3=w3, b3=b3).items()]
    return net, _model(nodes, inits, [None, 1, 8, 8], [None, 10])


def seq_mlp():
    """Sequential MLP: Dense -> LeakyReLU -> Dense -> Tanh -> Dense -> Clip -> Dense -> Softmax."""
    rng = np.random.default_rng(14)
    w1, b1 = _f32(rng.normal(0, .3, (64, 20))), _f32(rng.normal(0, .1, 20))
    w2, b2 = _f32(rng.normal(0, .3, (20, 16))), _f32(rng.normal(0, .1, 16))
    w3, b3 = _f32(rng.normal(0, .5, (16, 12))), _f32(rng.normal(0, .1, 12))
    w4, b4 = _f32(rng.normal(0, .4, (12, 10))), _f32(rng.normal(0, .1, 10))
    net = nn.Sequential([
        nn.Dense(w1, b1, name="d1"), nn.LeakyReLU(0.125, name="lr1"),
        nn.Dense(w2, b2, name="d2"), nn.Tanh(name="th2"),
        nn.Dense(w3, b3, name="d3"), nn.Clip(0.0, 1.5, name="cl3"),
        nn.Dense(w4, b4, name="d4"), nn.Softmax(name="sm"),
    ], name="seqmlp")
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"]),
        helper.make_node("LeakyRelu", ["h1"], ["l1"], alpha=0.125),
        helper.make_node("Gemm", ["l1", "w2", "b2"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["t2"]),
        helper.make_node("Gemm", ["t2", "w3", "b3"], ["h3"]),
        helper.make_node("Clip", ["h3", "lo", "hi"], ["c3"]),
        helper.make_node("Gemm", ["c3", "w4", "b4"], ["h4"]),
        helper.make_node("Softmax", ["h4"], ["y"], axis=-1),
    ]
    inits = [_init(k, v) for k, v in dict(w1=w1, b1=b1, w2=w2, b2=b2, w3=w3, b3=b3, w4=w4,
                                          b4=b4).items()]
    inits += [_init("lo", np.float32(0.0)), _init("hi", np.float32(1.5))]
    return net, _model(nodes, inits, [None, 64], [None, 10])


class Case:
    def __init__(self, key, net, onnx_model, image):
        X, _ = digits()
        self.key, self.net, self.onnx_model = key, net, onnx_model
        self.shape1 = (1, 1, 8, 8) if image else (1, 64)
        self.X = X.reshape(-1, 1, 8, 8) if image else X
        self.calib = self.X[:384]
        self.batches = np.array_split(self.calib, 3)
        self.T = net.type_table()
        self.rec = fx.tool.collect(net, self.batches, self.T)
        self.derived = fx.tool.derive(net, (0.0, 1.0), self.T, shape=self.shape1)
        self.y = net(self.calib)
        self._proposals = {}

    def proposal(self, source, W):
        if (source, W) not in self._proposals:
            if source == "simulation":
                p = fx.tool.propose(self.rec, self.T, word_length=W, source=source)
            elif source == "derived":
                p = fx.tool.propose(self.derived, self.T, word_length=W, source=source)
            else:
                p = fx.tool.propose(self.rec, self.T, word_length=W, derived=self.derived,
                                    source=source)
            self._proposals[source, W] = p
        return self._proposals[source, W]


_CASES: dict[str, Case] = {}


def get_case(key) -> Case:
    if key not in _CASES:
        if key == "onnx_cnn_a":
            m = cnn_a()
            _CASES[key] = Case(key, nn.load_onnx(m), m, True)
        elif key == "onnx_cnn_b":
            m = cnn_b()
            _CASES[key] = Case(key, nn.load_onnx(m.SerializeToString()), m, True)
        elif key == "onnx_mlp":
            m, _ = mlp_onnx()
            _CASES[key] = Case(key, nn.load_onnx(m), m, False)
        elif key == "seq_cnn":
            net, m = seq_cnn()
            _CASES[key] = Case(key, net, m, True)
        elif key == "seq_mlp":
            net, m = seq_mlp()
            _CASES[key] = Case(key, net, m, False)
    return _CASES[key]


KEYS = ("onnx_cnn_a", "onnx_cnn_b", "onnx_mlp", "seq_cnn", "seq_mlp")


@pytest.fixture(params=KEYS)
def case(request):
    return get_case(request.param)


# ----------------------------------------------------------------------------- helpers


def _as_float(v):
    """Values of a fixed-point (fi) or float result as float64 (exact for <= 53-bit words)."""
    if isinstance(v, np.ndarray):
        return v.astype(np.float64)
    return np.asarray(v.double, dtype=np.float64)


def _layer_tensor(net, layer):
    return net.node(layer).outputs[0]


def _out_signals(net):
    """{signal '<layer>.out': tensor name} for the layers that have an .out signal."""
    sig = set(net.signals())
    return {f"{L}.out": _layer_tensor(net, L) for L in net.layers if f"{L}.out" in sig}


def _exact_mean(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    return float(sum(Fr(float(a)) for a in v) / len(v))


def _type_bounds(nt):
    """(min, max, F) of a numerictype as Fractions, from its word/fraction length/signedness."""
    W, F, s = nt.word_length, nt.fraction_length, bool(nt.signed)
    lsb = Fr(2) ** -F
    if s:
        return -Fr(2) ** (W - 1) * lsb, (2 ** (W - 1) - 1) * lsb, F
    return Fr(0), (2 ** W - 1) * lsb, F


def _covers(W, F, signed, lo, hi):
    lsb = Fr(2) ** -F
    if signed:
        tmin, tmax = -Fr(2) ** (W - 1) * lsb, (2 ** (W - 1) - 1) * lsb
    else:
        tmin, tmax = Fr(0), (2 ** W - 1) * lsb
    return tmin <= lo and hi <= tmax


def _expected_range(c: Case, source, name):
    lo_s = hi_s = lo_d = hi_d = None
    if name in c.rec and source in ("simulation", "union"):
        lo_s, hi_s = Fr(float(c.rec[name].min)), Fr(float(c.rec[name].max))
    if source in ("derived", "union"):
        lo_d, hi_d = Fr(c.derived[name].lo), Fr(c.derived[name].hi)
    los = [v for v in (lo_s, lo_d) if v is not None]
    his = [v for v in (hi_s, hi_d) if v is not None]
    return min(los), max(his)


# ----------------------------------------------------------------------------- 0. double


def test_double_matches_onnxruntime(case):
    sess = ort.InferenceSession(case.onnx_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    x = case.X[:300]
    ref = sess.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)
    y = case.net(x)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    if case.key.startswith("seq_"):
        # the ONNX twin loaded by fixsim is the same network as the Sequential one
        np.testing.assert_allclose(nn.load_onnx(case.onnx_model)(x), y, rtol=1e-12, atol=1e-12)


def test_double_through_table_equals_plain_double(case):
    a = case.net(case.calib)
    b = case.net(case.calib, case.T)
    assert np.array_equal(_as_float(b), a)


# ----------------------------------------------------------------------------- 1. record


def test_recording_names_every_signal(case):
    assert sorted(case.rec) == sorted(case.net.signals())


def test_recorded_statistics_match_numpy(case):
    net, rec = case.net, case.rec
    outs = _out_signals(net)
    vals = net(case.calib, outputs=list(outs.values()))
    if not isinstance(vals, dict):
        vals = {list(outs.values())[0]: vals}
    assert outs, "no .out signals"
    for sig, tensor in outs.items():
        v = np.asarray(vals[tensor], dtype=np.float64)
        s = rec[sig]
        assert s.count == v.size, sig
        assert s.finite_count == v.size, sig
        assert s.zeros == int(np.count_nonzero(v == 0)), sig
        assert float(s.min) == v.min() and float(s.max) == v.max(), sig
        assert float(s.mean) == _exact_mean(v), sig
        assert s.exact_sum == sum(Fr(float(a)) for a in v.ravel()), sig
    # the network output (last layer's .out) against net(x)
    last = net.layers[-1]
    s = rec[f"{last}.out"]
    assert s.count == case.y.size
    assert (float(s.min), float(s.max)) == (case.y.min(), case.y.max())
    assert float(s.mean) == _exact_mean(case.y)


def test_recorded_input_and_weight_statistics(case):
    s = case.rec["input"]
    assert s.count == case.calib.size
    assert (float(s.min), float(s.max)) == (case.calib.min(), case.calib.max())
    assert float(s.mean) == _exact_mean(case.calib)
    # constants are probed once per call of the network (3 batches)
    for name in case.net.signals():
        if name.endswith(".weight") or name.endswith(".bias"):
            st_ = case.rec[name]
            assert st_.count % 3 == 0 and st_.count > 0, name


# ----------------------------------------------------------------------------- 1. derive


def test_every_signal_derived_bounded_or_with_reason(case):
    d = case.derived
    for name in case.rec:
        assert name in d, name
        r = d[name]
        if r.bounded:
            assert math.isfinite(r.lo) and math.isfinite(r.hi) and r.lo <= r.hi, name
        else:
            assert r.reason, name
    assert d.unbounded == []  # every operator of these nets has a finite interval rule


def test_derived_ranges_contain_recorded(case):
    d = case.derived
    for name in case.net.signals():
        s = case.rec[name]
        assert d[name].lo <= float(s.min) and float(s.max) <= d[name].hi, (
            name, (float(s.min), float(s.max)), (d[name].lo, d[name].hi))


def test_tool_derive_equals_nn_derive_ranges(case):
    mine = nn.derive_ranges(case.net, 0.0, 1.0, shape=case.shape1)
    assert sorted(mine) == sorted(case.derived)
    for name, (lo, hi) in mine.items():
        assert (case.derived[name].lo, case.derived[name].hi) == (lo, hi), name


def test_derived_output_contains_network_output(case):
    out = case.derived.output
    lo, hi = out.hull()
    assert lo <= case.y.min() and case.y.max() <= hi


def test_derived_weights_are_their_own_range(case):
    for name in case.net.signals():
        if name.endswith(".weight") or name.endswith(".bias"):
            assert (case.derived[name].lo, case.derived[name].hi) == (
                float(case.rec[name].min), float(case.rec[name].max)), name


def _record_ranges(net, x, T):
    with fx.tool.record() as r:
        net(x, T)
    return r


def _check_inside(c: Case, x):
    r = _record_ranges(c.net, x, c.T)
    for name in c.net.signals():
        s = r[name]
        if s.finite_count == 0:
            continue
        assert c.derived[name].lo <= float(s.min) and float(s.max) <= c.derived[name].hi, name


def test_derived_contains_corner_inputs(case):
    rng = np.random.default_rng(5)
    n = int(np.prod(case.shape1[1:]))
    corners = np.concatenate([
        np.zeros((1, n)), np.ones((1, n)), rng.integers(0, 2, (64, n)).astype(float),
        np.eye(n), 1 - np.eye(n)])
    _check_inside(case, corners.reshape((-1,) + case.shape1[1:]))


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_derived_contains_hypothesis_inputs(key, data):
    c = get_case(key)
    n = int(np.prod(c.shape1[1:]))
    vals = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0, allow_nan=False))
    rows = data.draw(st.lists(st.lists(vals, min_size=n, max_size=n), min_size=1, max_size=4))
    x = np.array(rows, dtype=np.float64).reshape((-1,) + c.shape1[1:])
    _check_inside(c, x)


def _first_linear(net):
    for L in net.layers:
        n = net.node(L)
        if n.op in ("Gemm", "MatMul", "Conv"):
            return L, n
    raise AssertionError("no linear layer")


def test_derived_first_accumulator_is_the_corner_worst_case(case):
    """The first linear layer's derived .acc range is reached (to a few ulps) by the corner
    input that sets each element to 1 where its coefficient is positive (0 elsewhere): the
    coefficients are read from unit-vector responses in double (no implementation read)."""
    net = case.net
    L, node = _first_linear(net)
    acc = f"{L}.acc"
    lo_d, hi_d = case.derived[acc].lo, case.derived[acc].hi
    n = int(np.prod(case.shape1[1:]))
    probe = np.concatenate([np.zeros((1, n)), np.eye(n)]).reshape((-1,) + case.shape1[1:])
    outs = np.asarray(net(probe, outputs=node.outputs[0]), dtype=np.float64).reshape(n + 1, -1)
    base, cols = outs[0], outs[1:] - outs[0]                 # (n, outputs)
    hi_each = base + np.where(cols > 0, cols, 0).sum(0)
    lo_each = base + np.where(cols < 0, cols, 0).sum(0)
    jh, jl = int(np.argmax(hi_each)), int(np.argmin(lo_each))
    xh = (cols[:, jh] > 0).astype(float).reshape(case.shape1)
    xl = (cols[:, jl] < 0).astype(float).reshape(case.shape1)
    reach_hi = np.asarray(net(xh, outputs=node.outputs[0]), dtype=np.float64).ravel()[jh]
    reach_lo = np.asarray(net(xl, outputs=node.outputs[0]), dtype=np.float64).ravel()[jl]
    assert lo_d <= reach_lo and reach_hi <= hi_d
    tol = 1e-12 * max(1.0, abs(hi_d), abs(lo_d))
    assert hi_d - reach_hi <= tol and reach_lo - lo_d <= tol, (lo_d, hi_d, reach_lo, reach_hi)


# ----------------------------------------------------------------------------- 2. propose


@pytest.mark.parametrize("W", WORDS)
@pytest.mark.parametrize("source", SOURCES)
def test_proposal_best_precision_exact(case, source, W):
    p = case.proposal(source, W)
    assert sorted(p) == sorted(case.net.signals())
    for name in case.net.signals():
        q = p[name]
        nt = q.proposed
        lo, hi = _expected_range(case, source, name)
        assert tuple(q.range_used) == (lo, hi), (name, q.range_used, (lo, hi))
        assert q.source == source, name
        signed = lo < 0
        assert bool(nt.signed) == signed, name
        assert nt.word_length == W, name
        F = nt.fraction_length
        whole = (source == "simulation" and name in case.rec and case.rec[name].whole)
        assert _covers(W, F, signed, lo, hi), (name, str(nt), lo, hi)
        if not whole:
            assert not _covers(W, F + 1, signed, lo, hi), (name, str(nt), "not best precision")
        tmin, tmax, _ = _type_bounds(nt)
        assert tuple(Fr(v) for v in q.representable) == (tmin, tmax), name
        assert Fr(q.lsb) == Fr(2) ** -F, name
        if source != "derived":
            assert q.overflows == 0, name
            assert q.clip_fraction == 0, name
        # the table returned runs with these types
        assert str(p.types[name].type) == str(nt), name


@pytest.mark.parametrize("W", WORDS)
@pytest.mark.parametrize("source", SOURCES)
def test_proposed_types_zero_overflows_on_calibration(case, source, W):
    T2 = case.proposal(source, W).types
    with fx.tool.record() as r:
        y = case.net(case.calib, T2)
    over = {k: r[k].overflows for k in r if r[k].overflows}
    assert over == {}, over
    assert y.shape == case.y.shape


def _fixed_derive_check(c: Case, T2):
    d2 = fx.tool.derive(c.net, (0.0, 1.0), T2, shape=c.shape1)
    n = int(np.prod(c.shape1[1:]))
    rng = np.random.default_rng(9)
    x = np.concatenate([c.calib.reshape(len(c.calib), -1), np.zeros((1, n)),
                        np.ones((1, n)), rng.integers(0, 2, (32, n)).astype(float)])
    r = _record_ranges(c.net, x.reshape((-1,) + c.shape1[1:]), T2)
    for name in c.net.signals():
        s = r[name]
        assert d2[name].lo <= float(s.min) and float(s.max) <= d2[name].hi, (
            name, (float(s.min), float(s.max)), (d2[name].lo, d2[name].hi))


def test_derived_with_fixed_table_contains_fixed_run_cnn():
    """Regression: derive on a network ignored a fixed table (weights, cast rounding).

    derive with the proposed 8-bit table bounds what arrives at each cast in the fixed run
    (calibration and corner inputs)."""
    c = get_case("onnx_cnn_a")
    _fixed_derive_check(c, c.proposal("union", 8).types)


def test_derived_with_fixed_table_minimal():
    """Regression: derive on a network ignored the fixed weight type (0.8 -> 1.0 in sfix4_En1)."""
    net = nn.Sequential([nn.Dense(np.array([[0.8]]), np.array([0.0]), name="fc")])
    T = fx.TypeTable({"input": "sfix8_En6", "fc.weight": "sfix4_En1", "fc.bias": "sfix8_En6",
                      "fc.acc": "sfix16_En8", "fc.out": "sfix16_En8"})
    with fx.tool.record() as r:
        net(np.ones((1, 1)), T)
    assert float(r["fc.acc"].max) == 1.0          # 0.8 quantized to sfix4_En1 is 1.0
    d = fx.tool.derive(net, (0.0, 1.0), T, shape=(1, 1))
    assert d["fc.acc"].hi >= 1.0, d["fc.acc"]     # seen: 0.8000000000000006


def test_derive_fixed_table_on_plain_function_rounds():
    """The same table semantics on a plain function (the documented behaviour)."""
    T = fx.TypeTable({"input": "sfix8_En2", "acc": "double"})

    def f(x, T):
        return T.acc(T.input(x) * 1.0)

    d = fx.tool.derive(f, (0.0, 0.99), T, shape=(1, 1))
    assert (d["acc"].lo, d["acc"].hi) == (0.0, 1.0)


def test_derived_bounds_exact_when_exact_result_is_a_float():
    """Regression: derived network bounds were widened (across zero) even when exact."""
    net = nn.Sequential([nn.Dense(np.array([[0.5]]), np.array([0.0]), name="fc")])
    d = fx.tool.derive(net, (0.0, 1.0), net.type_table(), shape=(1, 1))
    net2 = nn.Sequential([nn.ReLU(name="r"), nn.AvgPool(2, name="ap")])
    d2 = fx.tool.derive(net2, (-1.0, 1.0), net2.type_table(), shape=(1, 1, 2, 2))
    assert (d2["r.out"].lo, d2["r.out"].hi) == (0.0, 1.0)
    assert (d["fc.acc"].lo, d["fc.acc"].hi) == (0.0, 0.5), d["fc.acc"]
    assert (d2["ap.out"].lo, d2["ap.out"].hi) == (0.0, 1.0), d2["ap.out"]
    assert str(fx.tool.propose(d, word_length=8)["fc.acc"].proposed) == "ufix8_En8"


# ----------------------------------------------------------------------------- 3. verify


def _error_stats(yd, yf):
    e = np.asarray(yf, dtype=np.float64) - np.asarray(yd, dtype=np.float64)
    e_fr = [Fr(float(f)) - Fr(float(d)) for f, d in zip(np.ravel(yf), np.ravel(yd), strict=True)]
    se2 = sum(v * v for v in e_fr)
    sd2 = sum(Fr(float(d)) ** 2 for d in np.ravel(yd))
    max_abs = float(max(abs(v) for v in e_fr))
    rms = math.sqrt(float(se2 / len(e_fr)))
    sqnr = math.inf if se2 == 0 else 10 * math.log10(float(sd2 / se2))
    return e, max_abs, rms, sqnr


@pytest.mark.parametrize("W", WORDS)
def test_verify_numbers_match_recomputation(case, W):
    T2 = case.proposal("union", W).types
    v = fx.tool.verify(case.net, case.batches, T2, case.T)
    # the output of fn
    yd = np.concatenate([case.net(b) for b in case.batches])
    yf = np.concatenate([_as_float(case.net(b, T2)) for b in case.batches])
    o = v.outputs["output"]
    e, max_abs, rms, sqnr = _error_stats(yd, yf)
    assert o.count == yd.size
    assert o.max_abs_error == max_abs
    assert o.rms_error == pytest.approx(rms, rel=1e-12)
    assert o.sqnr_db == pytest.approx(sqnr, rel=1e-12, abs=1e-12)
    assert v.output_sqnr_db == pytest.approx(sqnr, rel=1e-12, abs=1e-12)
    assert nn.sqnr(yd, yf) == pytest.approx(sqnr, rel=1e-9)
    assert np.array_equal(np.asarray(o.error)[: e.size], e.ravel()[: len(o.error)])
    # per-signal: every layer's .out after its cast against double
    outs = _out_signals(case.net)
    names = list(outs.values())
    fd = [case.net(b, outputs=names) for b in case.batches]
    ff = [case.net(b, T2, outputs=names) for b in case.batches]
    if not isinstance(fd[0], dict):
        fd = [{names[0]: a} for a in fd]
        ff = [{names[0]: a} for a in ff]
    for sig, tensor in outs.items():
        d_ = np.concatenate([np.ravel(a[tensor]) for a in fd])
        f_ = np.concatenate([np.ravel(_as_float(a[tensor])) for a in ff])
        _, mx, r_, sq = _error_stats(d_, f_)
        sv = v[sig]
        assert sv.count == d_.size, sig
        assert sv.max_abs_error == mx, sig
        assert sv.rms_error == pytest.approx(r_, rel=1e-12), sig
        assert sv.sqnr_db == pytest.approx(sq, rel=1e-12, abs=1e-12), sig
        assert str(sv.numerictype) == str(T2[sig].type), sig
    assert v.overflows == sum(s.overflows for s in v.values()) == 0


def test_verify_statistics_records_match_fixed_and_double(case):
    T2 = case.proposal("simulation", 16).types
    v = fx.tool.verify(case.net, case.batches, T2, case.T)
    assert sorted(v.double) == sorted(case.rec)
    for name in case.rec:
        assert v.double[name] == case.rec[name], name
    last = f"{case.net.layers[-1]}.out"
    assert v.fixed[last].count == case.rec[last].count


def test_nn_verify_and_layer_sqnr_consistent(case):
    T2 = case.proposal("union", 16).types
    X, labels = digits()
    x = case.X[:300]
    vv = nn.verify(case.net, x, labels[:300], types={"16": T2})
    yd, yf = case.net(x), case.net(x, T2)
    assert vv.accuracy["double"] == pytest.approx(np.mean(yd.argmax(1) == labels[:300]))
    assert vv.accuracy["16"] == pytest.approx(np.mean(_as_float(yf).argmax(1) == labels[:300]))
    ls = nn.layer_sqnr(case.net, x, T2)
    last = case.net.layers[-1]
    assert ls[last] == pytest.approx(_error_stats(yd, _as_float(yf))[3], rel=1e-9)


# ----------------------------------------------------------------------------- 4. bad input


def test_bad_design_range_name_is_named(case):
    with pytest.raises(KeyError, match="no_such_layer.out"):
        fx.tool.propose(case.rec, case.T, word_length=8, design={"no_such_layer.out": (0, 1)})
    with pytest.raises(KeyError, match="no_such_layer.acc"):
        fx.tool.propose(case.rec, case.T, overrides={"no_such_layer.acc": {"word_length": 8}})


def test_empty_calibration_is_a_clear_error(case):
    rec0 = fx.tool.collect(case.net, [], case.T)
    with pytest.raises(ValueError, match="empty"):
        fx.tool.propose(rec0, case.T, word_length=8)
    with pytest.raises(ValueError, match="inputs is empty"):
        fx.tool.verify(case.net, [], case.proposal("simulation", 16).types, case.T)
    with pytest.raises(ValueError, match="empty"):
        fx.tool.propose(fx.tool.Recording(), case.T, word_length=8)


def test_empty_batch_calibration_names_the_argument():
    """A calibration batch without samples: collect records nothing and propose names the
    signal without values (MLPs, which run an empty batch)."""
    for key in ("onnx_mlp", "seq_mlp"):
        c = get_case(key)
        recz = fx.tool.collect(c.net, [c.calib[:0]], c.T)
        assert recz["input"].count == 0
        with pytest.raises(ValueError, match="'input'"):
            fx.tool.propose(recz, c.T, word_length=8)


@pytest.mark.parametrize("key", ("onnx_cnn_a", "onnx_cnn_b", "seq_cnn"))
def test_cnn_empty_batch_runs_like_onnxruntime(key):
    """Regression: a CNN with Flatten/Reshape failed inside numpy on a batch of 0 images."""
    c = get_case(key)
    x0 = c.calib[:0]
    assert np.shape(c.net(x0)) == (0, 10)
    assert np.shape(c.net(x0, c.proposal("simulation", 16).types)) == (0, 10)
    v = fx.tool.verify(c.net, [x0, c.calib[:4]], c.proposal("simulation", 16).types, c.T)
    assert v.outputs["output"].count == 40


def test_unknown_output_tensor_named():
    c = get_case("onnx_cnn_a")
    with pytest.raises(KeyError, match="nope"):
        c.net(c.calib[:2], outputs="nope")


def _wrong_shape_raises_clearly(call):
    with pytest.raises((ValueError, TypeError)) as ei:
        call()
    msg = str(ei.value)
    assert ("input" in msg or "'x'" in msg) and "shape" in msg, msg


def test_cnn_wrong_spatial_shape_is_rejected():
    """Regression: a wrong spatial size was accepted and Reshape merged the batch."""
    c = get_case("onnx_cnn_a")
    x = np.random.default_rng(0).uniform(0, 1, (4, 1, 4, 4))
    _wrong_shape_raises_clearly(lambda: c.net(x))


def test_cnn_flat_input_is_a_clear_error():
    """Regression: a flat input to a CNN failed with an internal zip() error."""
    c = get_case("onnx_cnn_b")
    _wrong_shape_raises_clearly(lambda: c.net(c.X[:3].reshape(3, 64)))


def test_derive_wrong_shape_is_a_clear_error():
    """Regression: derive with a wrong input shape failed inside numpy/zip()."""
    c = get_case("onnx_cnn_b")
    _wrong_shape_raises_clearly(lambda: nn.derive_ranges(c.net, 0.0, 1.0, shape=(1, 64)))


@pytest.mark.parametrize("k", (65, 32))
def test_mlp_wrong_feature_count_is_rejected_onnx(k):
    """Regression: an ONNX MLP declared [N, 64] accepted (3, 65)/(3, 32) silently."""
    c = get_case("onnx_mlp")
    x = np.random.default_rng(1).uniform(0, 1, (3, k))
    sess = ort.InferenceSession(c.onnx_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="invalid dimensions"):
        sess.run(None, {"x": x.astype(np.float32)})
    _wrong_shape_raises_clearly(lambda: c.net(x))


def test_sequential_dense_wrong_feature_count_is_rejected():
    """Regression: Dense accepted a wrong feature count (out-of-bounds kernel read)."""
    rng = np.random.default_rng(0)
    net = nn.Sequential([nn.Dense(rng.normal(0, .3, (64, 16)), rng.normal(0, .1, 16), name="fc1"),
                         nn.ReLU(name="r1"),
                         nn.Dense(rng.normal(0, .3, (16, 10)), np.zeros(10), name="fc2")])
    x = rng.uniform(0, 1, (3, 65))
    with pytest.raises(ValueError):
        net(x)
