"""Independent review (s10): ``fx.tool.refine`` and the derive changes that came with it.

Claims checked (docs/tool.md "Verifying", docs/tool-derive.md, docs/nn.md):

1. ``refine`` returns types that hold every value of the fixed run for every input in the
   design ranges (zero overflows), for type-table functions, fixsim.signal Models and
   fixsim.nn networks; it terminates, and refuses bad arguments clearly.
2. a named cast of a constant (``T.w(W)``) reports the constant's values under ``derive``,
   without polluting other signals' ranges (no spurious 0 from the zero-valued proxy runs);
3. a network called on an Interval under a fixed table returns an Interval typed like its fi
   output, so fi arithmetic after it (``net(x, T) * 0.3``) is derived soundly;
4. nn interval rules for Mul/MatMul of two activations, negative-slope LeakyRelu; stacked
   MatMul of two activations in fixed mode;
5. float array factors of convolve/correlate/dot/@/vdot/inner with a fi are quantized as fi
   does, so the derived range contains the run.

Every check runs the fixed chain on corner and random inputs inside the design range and
compares with what the tool said, using ``fx.tool.record`` overflow counts and the raw values.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import onnx
import pytest
import scipy.signal as ss
from onnx import TensorProto, helper, numpy_helper

import fixsim as fx
from fixsim import nn
from fixsim.signal import FIR, CICDecimator, Gain, Model, SOSFilter

N_ = helper.make_node


# ------------------------------------------------------------------------------ helpers


def overflowing(fn, T, inputs):
    """{signal: (overflows, min, max)} over runs of fn on inputs with table T."""
    bad = {}
    for x in inputs:
        with fx.tool.record() as r:
            fn(x, T)
        for n in r:
            if r[n].overflows:
                bad.setdefault(n, (r[n].overflows, r[n].min, r[n].max))
    return bad


def outside(d, fn, T, inputs):
    """{signal: (run min, run max, derived lo, hi)} where a run leaves the derived range."""
    bad = {}
    for x in inputs:
        with fx.tool.record() as r:
            fn(x, T)
        for n in r:
            if n in d and (r[n].min < d[n].lo or r[n].max > d[n].hi):
                bad[n] = (r[n].min, r[n].max, d[n].lo, d[n].hi)
    return bad


def vals(v):
    return np.asarray(v.data if hasattr(v, "data") else v, dtype=np.float64)


def _I(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def _I64(name, a):
    return numpy_helper.from_array(np.asarray(a, np.int64), name)


def _onnx(nodes, inits, xs, ys):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, xs)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ys)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


# ------------------------------------------------- 1. refine on type-table functions


H5 = np.array([0.3, 0.49, 0.71, -0.23, 0.12])


def fir_chain(x, T):
    acc = T.acc(np.convolve(T.x(x), T.h(H5)))
    return T.y(acc * 0.77)


@pytest.mark.parametrize("wl", [6, 8, 11])
def test_refine_fir_with_coarse_coefficient_cast_never_overflows(wl):
    T0 = fx.TypeTable({n: "double" for n in ("x", "h", "acc", "y")})
    d = fx.tool.derive(fir_chain, (-1, 1), T0, shape=8)
    p = fx.tool.refine(fir_chain, (-1, 1), d, T0, word_length=wl, shape=8)
    hq = vals(p.types.h(H5))
    bang = np.sign(hq[::-1])[np.arange(8) % 5]
    r = np.random.default_rng(wl)
    xs = [bang, -bang] + [r.choice([-1.0, 1.0], 8) for _ in range(80)] \
        + [r.uniform(-1, 1, 8) for _ in range(20)]
    assert overflowing(fir_chain, p.types, xs) == {}
    dd = fx.tool.derive(fir_chain, (-1, 1), p.types, shape=8)
    assert outside(dd, fir_chain, p.types, xs) == {}
    for n in dd:                                  # settled: the result covers itself
        lo, hi = p[n].representable
        assert lo <= dd[n].lo and dd[n].hi <= hi, n


def iir_loop(x, T):
    """A first-order IIR written sample by sample (feedback in user code)."""
    a, b = T.a(0.9), T.b(0.11)
    y = T.y(0 * x[0])
    for n in range(len(x)):
        y = T.y(T.acc(a * y + b * T.x(x[n])))
    return y


@pytest.mark.parametrize("rounding,overflow,wl", [(None, None, 6), ("floor", None, 7),
                                                  ("ceil", "wrap", 8), ("zero", None, 6)])
def test_refine_user_feedback_loop_with_rounding_modes(rounding, overflow, wl):
    N = 16
    T0 = fx.TypeTable({n: "double" for n in ("a", "b", "x", "acc", "y")},
                      rounding=rounding, overflow=overflow)
    d = fx.tool.derive(iir_loop, (-1, 1), T0, shape=N)
    p = fx.tool.refine(iir_loop, (-1, 1), d, T0, word_length=wl, shape=N)
    r = np.random.default_rng(wl)
    xs = [np.ones(N), -np.ones(N)] + [r.choice([-1.0, 1.0], N) for _ in range(25)]
    assert overflowing(iir_loop, p.types, xs) == {}
    dd = fx.tool.derive(iir_loop, (-1, 1), p.types, shape=N)
    assert outside(dd, iir_loop, p.types, xs) == {}


def test_refine_unsigned_chain_whose_fixed_run_goes_negative():
    """y = a - b with a = 0.7 x, b = 0.69 x: a double run is >= 0 but the ranges of a and b
    are derived independently; refine takes signedness from the derived range, and
    signed=False is refused with a clear error instead of returning an overflowing type."""
    def f(x, T):
        xx = T.x(x)
        return T.y(T.a(xx * 0.7) - T.b(xx * 0.69))

    T0 = fx.TypeTable({n: "double" for n in "xaby"})
    d = fx.tool.derive(f, (0, 1), T0, shape=1)
    p = fx.tool.refine(f, (0, 1), d, T0, word_length=6)
    xs = [np.array([v]) for v in np.linspace(0, 1, 129)]
    assert overflowing(f, p.types, xs) == {}
    with pytest.raises(ValueError, match="signed=False"):
        fx.tool.refine(f, (0, 1), d, T0, word_length=6, signed=False)


def test_refine_passes_args_kwargs_like_and_dict_inputs():
    def fir(x, h, T, gain=1.0):
        return T.y(gain * np.convolve(T.x(x), T.h(h)))

    h = np.array([0.49, 0.51, -0.26])
    T0 = fx.TypeTable({n: "double" for n in ("x", "h", "y")})
    d = fx.tool.derive(fir, (-1, 1), T0, h, shape=8, gain=0.97)
    p = fx.tool.refine(fir, (-1, 1), d, T0, args=(h,), kwargs={"gain": 0.97},
                       word_length=7, shape=8)
    p2 = fx.tool.refine(fir, (-1, 1), d, T0, args=(h,), kwargs={"gain": 0.97},
                        word_length=7, like=np.zeros(8))
    assert p.types == p2.types
    r = np.random.default_rng(0)
    for x in [r.choice([-1.0, 1.0], 8) for _ in range(40)]:
        with fx.tool.record() as rec:
            fir(x, h, p.types, gain=0.97)
        assert all(rec[n].overflows == 0 for n in rec)

    def mix(x, y, T):
        return T.z(T.x(x) * T.y(y))

    T1 = fx.TypeTable({n: "double" for n in "xyz"})
    ins = {"x": (-1, 1), "y": (0, 3)}
    d1 = fx.tool.derive(mix, ins, T1, shape={"x": 2, "y": 2})
    q = fx.tool.refine(mix, ins, d1, T1, word_length=6, shape={"x": 2, "y": 2})
    for a, b in itertools.product([-1.0, 1.0, 0.3], [0.0, 3.0, 1.7]):
        with fx.tool.record() as rec:
            mix(np.array([a, a]), np.array([b, b]), q.types)
        assert all(rec[n].overflows == 0 for n in rec)


def test_refine_argument_errors():
    T0 = fx.TypeTable({n: "double" for n in ("x", "h", "acc", "y")})
    d = fx.tool.derive(fir_chain, (-1, 1), T0, shape=8)
    for bad in (True, 2.0, -1):
        with pytest.raises(ValueError, match="max_rounds"):
            fx.tool.refine(fir_chain, (-1, 1), d, T0, shape=8, max_rounds=bad)
    with pytest.raises(ValueError, match="margin"):
        fx.tool.refine(fir_chain, (-1, 1), d, T0, shape=8, word_length=8, margin=-5)
    # a clipping policy on the union with derived ranges is refused, not silently applied
    rec = fx.tool.collect(fir_chain, [np.ones(8), -np.ones(8)], T0)
    with pytest.raises(ValueError, match="clips recorded ranges"):
        fx.tool.refine(fir_chain, (-1, 1), rec, T0, shape=8, word_length=8, policy="mse")


def test_refine_unbounded_fixed_run_is_an_error_naming_the_reason():
    """1/x on (0.001, 1) is bounded in double, but at 6 bits x can quantize to 0: the range
    derived under the proposal is unbounded, and refine says why instead of returning."""
    def recip(x, T):
        return T.y(1.0 / T.x(x))

    T0 = fx.TypeTable({"x": "double", "y": "double"})
    d = fx.tool.derive(recip, (0.001, 1), T0)
    assert d["y"].bounded
    with pytest.raises(ValueError, match="division by an interval containing 0"):
        fx.tool.refine(recip, (0.001, 1), d, T0, word_length=6)


def test_refine_wrapping_integrator_terminates():
    def integ(x, T):
        y = T.y(0.0)
        for n in range(len(x)):
            y = T.y(y + T.x(x[n]))
        return y

    T0 = fx.TypeTable({"x": "double", "y": {"type": "double", "overflow": "wrap"}})
    d = fx.tool.derive(integ, (-1, 1), T0, shape=8)
    p = fx.tool.refine(integ, (-1, 1), d, T0, word_length=8, shape=8)
    xs = [np.ones(8), -np.ones(8), np.r_[np.ones(4), -np.ones(4)]]
    assert overflowing(integ, p.types, xs) == {}
    # a proposal that has not settled within max_rounds is an error, not a silent return
    with pytest.raises(RuntimeError, match="still changed after 1 derivations"):
        _raise_if_not_settled()


def _raise_if_not_settled():
    W = np.array([0.98, -6.0])

    def dense_relu(x, T):
        return T.y(np.maximum(T.acc(T.x(x) @ T.w(W)), 0))

    T0 = fx.TypeTable({n: "double" for n in ("x", "w", "acc", "y")})
    d = fx.tool.derive(dense_relu, (0, 16), T0, shape=2)
    fx.tool.refine(dense_relu, (0, 16), d, T0, word_length=8, shape=2, max_rounds=1)


# ------------------------------------------------------------ 1. refine on a Model

SOS = ss.butter(2, 0.2, output="sos")
HM = np.array([0.31, 0.49, 0.71, 0.49, 0.31])


def build_model(T=None):
    m = Model("m")
    m.input("x")
    m.add(FIR(HM, name="f", types=T), "x")
    m.add(SOSFilter(SOS, name="q", types=T), "f")
    m.add(Gain(0.97, name="g", types=T), "q")
    m.output("y", "g")
    return m


def run_model(x, T):
    return build_model(T).run(x, types=T)["y"]


@pytest.mark.parametrize("wl", [6, 8])
def test_refine_model_fir_sos_gain(wl):
    N = 32
    T0 = build_model().type_table({"x": "sfix16_En14"}).as_double()
    d = fx.tool.derive(run_model, (-1, 1), T0, shape=N)
    p = fx.tool.refine(run_model, (-1, 1), d, T0, word_length=wl, shape=N)
    h = ss.sosfilt(SOS, np.convolve(HM, np.r_[1.0, np.zeros(N - 1)])[:N])
    bang = np.sign(h[::-1]) + (h[::-1] == 0)
    r = np.random.default_rng(wl)
    xs = [bang, -bang, np.ones(N), -np.ones(N)] + [r.choice([-1.0, 1.0], N) for _ in range(15)]
    assert overflowing(run_model, p.types, xs) == {}
    dd = fx.tool.derive(run_model, (-1, 1), p.types, shape=N)
    assert outside(dd, run_model, p.types, xs) == {}


def build_cic(T=None):
    m = Model("m")
    m.input("x")
    m.add(CICDecimator(2, 1, 2, name="c", types=T), "x")
    m.output("y", "c")
    return m


def run_cic(x, T):
    return build_cic(T).run(x, types=T)["y"]


def test_refine_cic_model_with_design_ranges_on_locked_registers_works():
    """Workaround for the bug below: dummy design ranges on the locked CIC registers."""
    T0 = build_cic().type_table({"x": "sfix8_En6"})
    d = fx.tool.derive(run_cic, (-1, 1), T0, shape=16)
    des = {n: (-1, 1) for n in ("c.integrator1", "c.integrator2", "c.comb1")}
    p = fx.tool.refine(run_cic, (-1, 1), d, T0, word_length=8, shape=16, design=des)
    assert set(p.types.locked) == set(T0.locked)
    xs = [np.ones(16), -np.ones(16), np.r_[np.ones(8), -np.ones(8)]]
    assert overflowing(run_cic, p.types, xs) == {}


def test_refine_cic_model_with_its_own_type_table():
    """Regression (was a strict xfail, fixed): refine raised for a Model with a CIC: its locked 'inherit' registers have unbounded derived ranges, and propose demanded a bounded range even for a locked signal."""
    T0 = build_cic().type_table({"x": "sfix8_En6"})
    assert "c.integrator1" in T0.locked
    d = fx.tool.derive(run_cic, (-1, 1), T0, shape=16)
    p = fx.tool.refine(run_cic, (-1, 1), d, T0, word_length=8, shape=16)
    assert overflowing(run_cic, p.types, [np.ones(16), -np.ones(16)]) == {}


# ------------------------------------------------- 1. locked entries: silent overflow

W2 = np.array([0.98, -6.0])


def dense_relu(x, T):
    return T.y(np.maximum(T.acc(T.x(x) @ T.w(W2)), 0))


def test_refine_locked_entry_that_does_not_cover_its_derived_range_is_silent():
    """Regression (was a strict xfail, fixed): with y locked to ufix8_En4 (too narrow: 0.98 quantizes to 1.0 and x=[16, 0] reaches 16), refine returned silently; now it warns, naming the signal."""
    T0 = fx.TypeTable({"x": "double", "w": "double", "acc": "double", "y": "ufix8_En4"},
                      locked=["y"])
    d = fx.tool.derive(dense_relu, (0, 16), T0.as_double(), shape=2)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = fx.tool.refine(dense_relu, (0, 16), d, T0, word_length=8, shape=2)
    msgs = [str(m.message) for m in w if issubclass(m.category, UserWarning)]
    assert any(m.startswith("refine:") and "y (ufix8_En4, locked)" in m for m in msgs), msgs
    assert str(p["y"].proposed) == "ufix8_En4" and p["y"].locked
    # the warning is true: the fixed run overflows y at x = [16, 0]
    assert overflowing(dense_relu, p.types, [np.array([16.0, 0.0])]) != {}


# ---------------------------------------------------------------- 1/4. networks


def _onnx_nets():
    W = np.random.default_rng(7).uniform(-1, 1, (4, 4)).round(2)
    mm = N_("MatMul", ["x", "W1"], ["a"], name="mm")
    return {
        "mul_act": _onnx([mm, N_("Relu", ["a"], ["b"], name="r"),
                          N_("Mul", ["b", "a"], ["y"], name="sq")], [_I("W1", W)], [1, 4], [1, 4]),
        "leaky_neg": _onnx([mm, N_("LeakyRelu", ["a"], ["y"], name="lk", alpha=-0.7)],
                           [_I("W1", W)], [1, 4], [1, 4]),
        "matmul_act": _onnx([mm, N_("Transpose", ["a"], ["at"], name="t", perm=[1, 0]),
                             N_("MatMul", ["at", "a"], ["y"], name="mm2")],
                            [_I("W1", W)], [1, 4], [4, 4]),
    }


@pytest.mark.parametrize("kind", ["mul_act", "leaky_neg", "matmul_act"])
@pytest.mark.parametrize("wl", [6, 8])
def test_refine_onnx_new_interval_rules_never_overflow(kind, wl):
    net = nn.load_onnx(_onnx_nets()[kind])
    T = net.type_table("double")
    d = fx.tool.derive(net, (-1.0, 1.0), T, shape=(1, 4))
    p = fx.tool.refine(net, (-1.0, 1.0), d, T, word_length=wl, shape=(1, 4))
    r = np.random.default_rng(wl)
    xs = [r.choice([-1.0, 1.0], (1, 4)) for _ in range(60)] + \
        [r.uniform(-1, 1, (1, 4)) for _ in range(15)]
    assert overflowing(net, p.types, xs) == {}
    dd = fx.tool.derive(net, (-1.0, 1.0), p.types, shape=(1, 4))
    assert outside(dd, net, p.types, xs) == {}


def test_stacked_matmul_of_two_activations_fixed_is_exact_and_refined():
    W = np.random.default_rng(8).uniform(-1, 1, (6, 6)).round(2)
    m = _onnx([N_("MatMul", ["x", "W1"], ["a0"], name="mm"),
               N_("Reshape", ["a0", "s"], ["a"], name="rs"),
               N_("Transpose", ["a"], ["at"], name="t", perm=[0, 2, 1]),
               N_("MatMul", ["a", "at"], ["y"], name="mm2")],
              [_I("W1", W), _I64("s", [-1, 2, 3])], [2, 6], [2, 2, 2])
    net = nn.load_onnx(m)
    T = net.type_table("double")
    d = fx.tool.derive(net, (-1.0, 1.0), T, shape=(2, 6))
    p = fx.tool.refine(net, (-1.0, 1.0), d, T, word_length=8, shape=(2, 6))
    Tp = p.types
    r = np.random.default_rng(1)
    xs = [r.choice([-1.0, 1.0], (2, 6)) for _ in range(40)] + [r.uniform(-1, 1, (2, 6))
                                                               for _ in range(10)]
    assert overflowing(net, Tp, xs) == {}
    Wq = vals(Tp["mm.weight"](W.astype(np.float32).astype(np.float64)))
    for x in xs[:10]:
        xq = vals(Tp["input"](x))
        a = vals(Tp["mm.out"](vals(Tp["mm.acc"](xq @ Wq)))).reshape(2, 2, 3)
        y = vals(Tp["mm2.out"](vals(Tp["mm2.acc"](a @ a.transpose(0, 2, 1)))))
        assert np.array_equal(vals(net(x, Tp)), y)


@pytest.mark.parametrize("act", ["tanh", "sigmoid_softmax", "leaky"])
def test_refine_sequential_with_lut_activations(act):
    r = np.random.default_rng(5)
    W1, b1 = r.uniform(-1, 1, (3, 4)).round(2), r.uniform(-0.5, 0.5, 4).round(2)
    W2, b2 = r.uniform(-1, 1, (4, 2)).round(2), r.uniform(-0.5, 0.5, 2).round(2)
    a = {"tanh": nn.Tanh(name="a"), "sigmoid_softmax": nn.Sigmoid(name="a"),
         "leaky": nn.LeakyReLU(0.1, name="a")}[act]
    layers = [nn.Dense(W1, b1, name="fc"), a, nn.Dense(W2, b2, name="fc2")]
    if act == "sigmoid_softmax":
        layers.append(nn.Softmax(name="sm"))
    net = nn.Sequential(layers)
    T = net.type_table("double")
    d = fx.tool.derive(net, (-1.0, 1.0), T, shape=(1, 3))
    p = fx.tool.refine(net, (-1.0, 1.0), d, T, word_length=6, shape=(1, 3))
    xs = [np.array([c]) for c in itertools.product(np.linspace(-1, 1, 5), repeat=3)]
    assert overflowing(net, p.types, xs) == {}


def test_refine_gemm_transA_has_no_fixed_run():
    """Regression (was a strict xfail, fixed): derive and refine under a table accepted a Gemm transA=1 network, which the run with types= refuses; now derive refuses it the same way."""
    W = np.random.default_rng(7).uniform(-1, 1, (4, 4)).round(2)
    net = nn.load_onnx(_onnx([N_("Gemm", ["x", "W1"], ["y"], name="g", transA=1, alpha=0.9)],
                             [_I("W1", W)], [4, 1], [1, 4]))
    T = net.type_table("double")
    d = fx.tool.derive(net, (-1.0, 1.0), None, shape=(4, 1))  # the float run: fine
    with pytest.raises(ValueError, match="transA"):
        net(np.ones((4, 1)), fx.tool.propose(d, T, word_length=8).types)
    with pytest.raises(ValueError, match="transA"):
        fx.tool.derive(net, (-1.0, 1.0), T, shape=(4, 1))
    with pytest.raises(ValueError, match="transA"):
        fx.tool.refine(net, (-1.0, 1.0), d, T, word_length=8, shape=(4, 1))


# ------------------------------------------------------- 2. constants under derive


CONSTS = {
    "list": ([0.3, -0.55, 0.71], (-0.55, 0.71)),
    "int_array": (np.array([3, -5, 7]), (-5.0, 7.0)),
    "scalar": (0.71, (0.71, 0.71)),
    "fi": (fx.fi(np.array([0.3, -0.55, 0.71]), 1, 8, 6), (-0.546875, 0.703125)),
    "float32": (np.array([0.3, -0.55, 0.71], np.float32),
                (float(np.float32(-0.55)), float(np.float32(0.71)))),
}


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("kind", list(CONSTS))
def test_named_cast_of_a_constant_reports_its_values(kind, fixed):
    c, (lo, hi) = CONSTS[kind]

    def f(x, T):
        return T.y(T.x(x) * T.v(T.w(c) * 2))

    T = fx.TypeTable({"x": "sfix8_En6", "w": "sfix8_En4", "v": "sfix8_En4", "y": "sfix10_En6"})
    T = T if fixed else T.as_double()
    d = fx.tool.derive(f, (0.5, 1), T, shape=3)
    assert (d["w"].lo, d["w"].hi) == (lo, hi)
    wq = vals(T.w(c))                               # v arrives as the cast w times 2
    assert (d["v"].lo, d["v"].hi) == (2 * wq.min(), 2 * wq.max())
    with fx.tool.record() as r:
        f(np.array([0.5, 1.0, 0.75]), T)
    assert (r["w"].min, r["w"].max) == (lo, hi)


def test_no_spurious_zero_from_proxy_runs_of_blocks_and_networks():
    """Blocks and networks are typed by zero-valued proxy runs; those values must not reach
    the ranges: on a positive input range, outputs that cannot be 0 are reported without 0."""
    def gains(x, T):
        y = Gain(1.5, name="g2", types=T)(Gain(0.97, name="g", types=T)(T.x(x)))
        return T.y(y * 0.3)

    T = fx.TypeTable({"x": "sfix8_En6", "g.gain": "ufix8_En8", "g.out": "ufix8_En7",
                      "g2.gain": "ufix8_En6", "g2.out": "ufix8_En6", "y": "ufix8_En7"})
    d = fx.tool.derive(gains, (0.5, 1), T, shape=4)
    for n in ("g.out", "g2.out", "y"):
        assert d[n].lo > 0.2, (n, d[n])
    assert (d["g2.gain"].lo, d["g2.gain"].hi) == (1.5, 1.5)

    net = nn.Sequential([nn.Dense(np.array([[0.5, 0.25], [0.75, 0.125]]), np.array([0.3, 0.2]),
                                  name="fc"), nn.ReLU(name="r"),
                         nn.Dense(np.array([[0.5], [0.7]]), np.array([0.1]), name="fc2")])
    Tn = net.type_table("double")
    p = fx.tool.propose(fx.tool.derive(net, (1.0, 2.0), Tn, shape=(1, 2)), Tn, word_length=8)
    dn = fx.tool.derive(net, (1.0, 2.0), p.types, shape=(1, 2))
    for n in ("fc.acc", "fc.out", "r.out", "fc2.acc", "fc2.out"):
        assert dn[n].lo > 0.5, (n, dn[n])
    assert dn["fc.bias"].lo == pytest.approx(0.2) and dn["fc2.bias"].hi == pytest.approx(0.1)


# ------------------------------------------- 3. fi arithmetic after a network output


NET3 = nn.Sequential([nn.Dense(np.array([[0.53, -0.27], [0.71, 0.33]]), np.array([0.1, -0.2]),
                               name="fc"), nn.ReLU(name="r"),
                      nn.Dense(np.array([[0.5, -0.3], [0.7, 0.9]]), np.array([0.1, 0.05]),
                               name="fc2")])
POST = {
    "mul03": lambda y: y * 0.3, "rmul03": lambda y: 0.3 * y, "add03": lambda y: y + 0.3,
    "rsub": lambda y: 0.3 - y, "neg": lambda y: -y, "abs": lambda y: abs(y),
    "square": lambda y: y * y, "sum": lambda y: np.sum(y), "div3": lambda y: y / 3.0,
    "matmul": lambda y: y @ np.array([[0.77], [-0.41]]), "big": lambda y: y * 1000.3,
    "diff": lambda y: y[:, 0] - y[:, 1],
}


@pytest.mark.parametrize("modes", [{}, {"rounding": "floor"}, {"overflow": "wrap"},
                                   {"fc2.out": {"type": "ufix6_En4", "overflow": "wrap",
                                                "rounding": "floor"}},
                                   {"fc2.out": "double"}])
def test_fi_arithmetic_after_a_network_contains_the_run(modes):
    Tn = NET3.type_table("double")
    d = fx.tool.derive(NET3, (-1.0, 1.0), Tn, shape=(1, 2))
    p = fx.tool.refine(NET3, (-1.0, 1.0), d, Tn, word_length=6, shape=(1, 2))
    sig = dict(p.types.to_dict()["signals"])
    table = {k: v for k, v in modes.items() if k in ("rounding", "overflow")}
    sig.update({k: v for k, v in modes.items() if k not in table})
    T = fx.TypeTable(sig, **table)
    xs = [np.array([c]) for c in itertools.product(np.linspace(-1, 1, 9), repeat=2)]
    for k, post in POST.items():
        def fn(x, T, post=post):
            return post(NET3(x, T))

        out = fx.tool.derive(fn, (-1.0, 1.0), T, shape=(1, 2)).output
        for x in xs:
            assert np.all(out.contains(vals(fn(x, T)))), (k, x, vals(fn(x, T)), out.hull())


# --------------------------------------------- 5. float factors of sums of products

H6 = {"mixed": np.array([0.3, -0.71, 0.113, -0.052, 0.91, 0.2]),
      "big": np.array([300.3, -71.7, 11.3, 5.2, 9.1, 2.7]),
      "tiny": np.array([1e-3, -3.3e-4, 2e-3, 1e-4, 5e-4, 7e-4]),
      "near1": np.array([0.999, -0.999, 0.9999, 0.998, 0.997, 0.99])}
OPS = {
    "conv": lambda x, h: np.convolve(x, h), "rconv": lambda x, h: np.convolve(h, x),
    "corr": lambda x, h: np.correlate(x, h, "full"), "rcorr": lambda x, h: np.correlate(h, x),
    "dot": lambda x, h: np.dot(x, h), "rdot": lambda x, h: np.dot(h, x),
    "matmul": lambda x, h: x @ h, "rmatmul": lambda x, h: h @ x,
    "vdot": lambda x, h: np.vdot(x, h), "inner": lambda x, h: np.inner(x, h),
    "list": lambda x, h: np.dot(x, list(h)),
}


@pytest.mark.parametrize("xt,lo,hi", [("sfix8_En6", -1.0, 1.0), ("ufix6_En2", 0.0, 15.0),
                                      ("sfix6_En0", -32.0, 31.0)])
def test_float_factor_of_a_sum_of_products_is_quantized_as_fi_does(xt, lo, hi):
    T = fx.TypeTable({"x": xt, "y": "double"})
    corners = [np.array(c) for c in itertools.product([lo, hi], repeat=6)]
    for (hn, h), (on, op) in itertools.product(H6.items(), OPS.items()):
        def f(x, T, h=h, op=op):
            return T.y(op(T.x(x), h))

        d = fx.tool.derive(f, (lo, hi), T, shape=6)
        got = np.array([vals(f(c, T)) for c in corners])
        assert d["y"].lo <= got.min() and got.max() <= d["y"].hi, (hn, on)
