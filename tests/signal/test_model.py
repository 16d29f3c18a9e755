"""The block model: wiring (fan-out, sums of branches, several inputs and outputs, ports),
cycles rejected, frame-by-frame streaming equal to one call, double and fixed runs from one
type table, the listed signals and their full-precision types, printing, derived ranges, and
blocks written elsewhere (FIR, user blocks) inside a model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim.signal import FIR, Delay, Downsample, Gain, Model, Product, Saturation, Sum


def build(T=None) -> Model:
    """Two inputs, fan-out of x, a sum of three branches, two outputs."""
    m = Model("chain")
    m.input("x")
    m.input("u")
    m.add(FIR([0.25, 0.5, 0.25], name="lp", types=T), "x")
    m.add(Gain(-0.75, name="g"), "x")
    m.add(Delay(2, name="d"), "g")
    m.add(Product("**", name="mix"), ["x", "u"])
    m.add(Sum("+-+", name="s"), ["lp", "d", "mix"])
    m.add(Saturation(-1.5, 1.5, name="sat"), "s")
    m.add(Downsample(2, phase=1, name="ds"), "sat")
    m.output("y", "sat")
    m.output("slow", "ds")
    return m


def by_hand(x, u, T=None):
    """The same blocks composed by hand (fresh instances)."""
    lp = FIR([0.25, 0.5, 0.25], name="lp", types=T)
    g, d = Gain(-0.75, name="g", types=T), Delay(2, name="d", types=T)
    mix, s = Product("**", name="mix", types=T), Sum("+-+", name="s", types=T)
    sat = Saturation(-1.5, 1.5, name="sat", types=T)
    ds = Downsample(2, phase=1, name="ds", types=T)
    y = sat(s(lp(x), d(g(x)), mix(x, u)))
    return y, ds(y)


def signals(seed: int, n: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)


IN = {"x": "sfix12_En10", "u": "sfix10_En9"}


def test_fixed_run_equals_blocks_composed_by_hand():
    x, u = signals(0, 64)
    xf, uf = fi(x, 1, 12, 10), fi(u, 1, 10, 9)
    out = build().run({"x": xf, "u": uf})
    y, slow = by_hand(xf, uf)
    fx.testing.assert_fi_identical(out["y"], y)
    fx.testing.assert_fi_identical(out["slow"], slow)


def test_double_run_matches_numpy():
    x, u = signals(1, 50)
    out = build().run({"x": x, "u": u})
    lp = np.convolve(x, [0.25, 0.5, 0.25])[:50]
    d = np.concatenate([[0.0, 0.0], -0.75 * x[:-2]])
    y = np.clip(lp - d + x * u, -1.5, 1.5)
    np.testing.assert_allclose(out["y"], y, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out["slow"], out["y"][1::2])


@given(st.lists(st.integers(0, 40), max_size=5), st.integers(1, 17))
def test_frames_split_anywhere_give_one_call(cuts, frame):
    x, u = signals(2, 40)
    xf, uf = fi(x, 1, 12, 10), fi(u, 1, 10, 9)
    whole = build().run({"x": xf, "u": uf})
    m = build()
    pts = sorted({c for c in cuts if 0 < c < 40})
    edges = [0, *pts, 40]
    parts = [m.run({"x": xf[a:b], "u": uf[a:b]}) for a, b in zip(edges[:-1], edges[1:],
                                                                   strict=True)]
    for k in ("y", "slow"):
        got = np.concatenate([np.asarray(p[k].int) for p in parts])
        np.testing.assert_array_equal(got, whole[k].int)
    framed = build().run({"x": xf, "u": uf}, frame=frame)
    for k in ("y", "slow"):
        fx.testing.assert_fi_identical(framed[k], whole[k])


def test_signals_and_type_table_list_every_full_precision_type():
    m = build()
    sig = m.signals(IN)
    Tx, Tu = numerictype(True, 12, 10), numerictype(True, 10, 9)
    assert list(sig)[:2] == ["x", "u"]
    assert sig["x"] == Tx and sig["u"] == Tu
    # Gain: best-precision sfix16 gain, full product
    assert sig["g.gain"] == numerictype(True, 16, 15)
    assert sig["g.out"] == numerictype(True, 28, 25)
    assert sig["d.out"] == sig["g.out"]
    assert sig["mix.out"] == numerictype(True, 22, 19)
    for name in ("lp.coef", "lp.product", "lp.acc", "lp.out", "s.acc", "s.out", "sat.out",
                 "ds.out"):
        assert name in sig
    assert sig["sat.out"] == sig["s.out"] == sig["ds.out"]
    T = m.type_table(IN)
    assert T.names == list(sig)
    # a model built from the table and run fixed gives the full-precision types
    x3, u3 = signals(3, 8)
    out = build(T).run({"x": x3, "u": u3}, types=T)
    assert out["y"].numerictype == sig["sat.out"]


def test_one_model_runs_double_and_fixed_from_one_table():
    m0 = build()
    T = m0.type_table(IN)
    T["s.out"] = "sfix10_En7"
    T["g.out"] = "sfix12_En10"
    m = build(T)
    x, u = signals(4, 100)
    yd = m.run({"x": x, "u": u}, types=T.as_double())["y"]
    assert isinstance(yd, np.ndarray)
    yf = m.run({"x": x, "u": u}, types=T)["y"]  # a new table: a new simulation
    assert yf.numerictype == T.type_of("sat.out")  # every entry of the table is used
    assert np.all(yf.data * 2 ** 7 == np.round(yf.data * 2 ** 7))  # s.out has 7 fraction bits
    assert np.max(np.abs(yf.data - yd)) < 2 ** -6
    m.reset()
    again = m.run({"x": x, "u": u}, types=T)["y"]
    fx.testing.assert_fi_identical(again, yf)
    # the same blocks by hand, each given the table, on inputs cast by their entries
    y, _ = by_hand(T.x(x), T.u(u), T)
    fx.testing.assert_fi_identical(y, yf)
    assert m["s"].type_table is T and m["g"].type_table is T


def test_recording_a_model_names_every_signal():
    m = build()
    T = m.type_table(IN)
    m = build(T)
    x, u = signals(5, 64)
    with fx.tool.record() as rec:
        m.run({"x": x, "u": u}, types=T.as_double())
    for name in ("x", "u", "lp.acc", "g.out", "d.out", "mix.out", "s.acc", "s.out", "sat.out",
                 "ds.out"):
        assert name in rec.names
    assert rec["sat.out"].max <= 1.5
    proposal = fx.tool.propose(rec, T, word_length=16)
    P = proposal.types
    y = build(P).run({"x": x, "u": u}, types=P)["y"]
    assert y.numerictype.word_length == 16


def test_cycles_unknown_sources_and_bad_wiring_are_clear_errors():
    m = Model("loop")
    m.input("x")
    m.add(Sum("++", name="acc"), ["x", "z"])
    m.add(Delay(1, name="z"), "acc")
    m.output("y", "acc")
    with pytest.raises(ValueError, match=r"cycle: .*acc -> z -> acc|cycle: .*z -> acc -> z"):
        m.run(np.zeros(3))
    with pytest.raises(ValueError, match="Feedback is allowed inside blocks"):
        m.check()
    m2 = Model()
    m2.input("x")
    m2.add(Gain(2.0, name="g"), "nope")
    m2.output("y", "g")
    with pytest.raises(ValueError, match="'nope', which is neither"):
        m2.run(np.zeros(2))
    m3 = Model()
    m3.input("x")
    with pytest.raises(ValueError, match="takes 2 input"):
        m3.add(Sum("++", name="s"), "x")
    m3.add(Gain(1.0, name="g"))
    with pytest.raises(ValueError, match="already used"):
        m3.add(Gain(1.0, name="g"))
    with pytest.raises(ValueError, match="no outputs"):
        m3.run(np.zeros(2))
    m3.output("y", "g")
    with pytest.raises(ValueError, match="missing"):
        m3.run({"u": np.zeros(2)})
    with pytest.raises(ValueError, match="would run in double although the table is fixed"):
        m3.run(np.zeros(2), types=fx.TypeTable({"g.out": "sfix8_En4"}))


def test_printed_table_shows_blocks_connections_and_types():
    m = build()
    text = str(m)
    assert "Model 'chain'" in text
    row = [ln for ln in text.splitlines() if ln.startswith("s ")][0]
    assert "Sum" in row and "lp, d, mix" in row and "sat" in row and "acc, out" in row
    typed = m.table(input_types=IN)
    assert "g.out" not in typed  # signals are shown relative to their block
    row = [ln for ln in typed.splitlines() if ln.startswith("g ")][0]
    assert "out: sfix28_En25" in row and "gain: sfix16_En15" in row
    assert "y <- sat" in typed and "slow <- ds" in typed


def test_ranges_bound_every_simulated_value():
    m = build()
    r = m.ranges({"x": (-1, 1), "u": (-1, 1)})
    assert r["g.out"] == (-0.75, 0.75)
    assert r["mix.out"] == (-1.0, 1.0)
    assert r["sat.out"] == (-1.5, 1.5)
    x, u = signals(6, 500)
    with fx.tool.record() as rec:
        build().run({"x": x, "u": u})
    for name in rec.names:
        if name in r:
            assert r[name][0] <= rec[name].min and rec[name].max <= r[name][1], name


class Split:
    """A user block with two outputs (protocol only: name, filt, reset)."""

    name = "split"
    output_names = ("lo", "hi")

    def reset(self):
        pass

    def filt(self, x):
        if isinstance(x, fi):
            return x, x
        x = np.asarray(x, dtype=float)
        return np.minimum(x, 0), np.maximum(x, 0)


def test_multi_output_ports_and_protocol_only_blocks():
    m = Model()
    m.input("x")
    m.add(Split(), "x")
    m.add(Sum("++", name="s"), ["split:lo", "split:1"])
    m.output("y", "s")
    m.output("neg", "split:0")
    x = np.array([-2.0, 3.0, -0.5])
    out = m.run(x)
    np.testing.assert_array_equal(out["y"], x)
    np.testing.assert_array_equal(out["neg"], np.minimum(x, 0))
    bad = Model()
    bad.input("x")
    bad.add(Split(), "x")
    bad.output("y", "split")
    with pytest.raises(ValueError, match="has 2 outputs"):
        bad.run(x)
    # a block built with one table cannot run under another: a clear error
    T = fx.TypeTable({"x": "double", "split.out": "sfix8_En4", "s.out": "sfix8_En4"})
    built = Split()
    built.type_table = fx.TypeTable({"split.out": "sfix6_En2"})
    m2 = Model()
    m2.input("x")
    m2.add(built, "x")
    m2.output("y", "split:0")
    with pytest.raises(ValueError, match="reads its types when it is built"):
        m2.run(x, types=T)
    built.type_table = T  # built with this very table: fine
    np.testing.assert_array_equal(m2.run(x, types=T)["y"], np.minimum(x, 0))


class Square:
    """A user block with one output and no interval support."""

    name = "sq"

    def reset(self):
        pass

    def filt(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError("Square takes float arrays")
        return x * x


def test_unbounded_reason_for_blocks_without_interval_support():
    m = Model()
    m.input("x")
    m.add(Square(), "x")
    m.add(Split(), "sq")
    m.add(Gain(2.0, name="g"), "split:hi")
    m.output("y", "g")
    r = m.ranges((-1.0, 1.0))
    assert r["x"] == (-1.0, 1.0)
    assert r["sq.out"] == (-np.inf, np.inf)
    assert r["split.hi"] == (-np.inf, np.inf)
    assert r["g.out"] == (-np.inf, np.inf)
    reasons = {}
    with range_listening(lambda ev: reasons.setdefault(ev.name, ev.reason)):
        m.run(Interval([-1.0], [1.0]))
    assert "no interval bound" in reasons["sq.out"]
    np.testing.assert_array_equal(m.run(np.array([3.0, -2.0]))["y"], [18.0, 8.0])


def test_source_blocks_stream_with_the_inputs_frames():
    """An NCO (a source: step(n), no input) makes as many samples as the inputs' frame; a
    mixer multiplies; framed runs equal one run and the fixed mixer is exact."""
    from fixsim.signal import NCO

    def build_mixer():
        m = Model("mixer")
        m.input("x")
        m.add(NCO(3001, accumulator_word_length=16, waveform="sincos", name="lo"))
        m.add(Product("**", name="i"), ["x", "lo:1"])
        m.add(Product("**", name="q"), ["x", "lo:0"])
        m.output("i", "i")
        m.output("q", "q")
        return m

    x = fi(np.random.default_rng(8).uniform(-1, 1, 300), 1, 12, 10)
    whole = build_mixer().run(x)
    framed = build_mixer().run(x, frame=37)
    for k in ("i", "q"):
        fx.testing.assert_fi_identical(framed[k], whole[k])
    lo = NCO(3001, accumulator_word_length=16, waveform="sincos", name="lo")
    sin, cos = lo.step(300)
    assert [int(v) for v in whole["i"].int] == [int(a) * int(b) for a, b in zip(
        x.int, cos.int, strict=True)]
    assert [int(v) for v in whole["q"].int] == [int(a) * int(b) for a, b in zip(
        x.int, sin.int, strict=True)]
    sig = build_mixer().signals({"x": "sfix12_En10"})
    assert sig["i.out"] == numerictype(True, 28, 24)
    src = Model("osc")
    src.add(NCO(3001, name="lo"))
    src.output("y", "lo")
    np.testing.assert_array_equal(src.run(length=10)["y"].int,
                                  NCO(3001, name="lo").step(10).int)


def test_fx_tool_derive_runs_through_a_model():
    """fx.tool.derive calls the model with (scalar) Interval inputs; every block reports its
    signals' ranges, the same as Model.ranges."""
    m = Model("d")
    m.input("x")
    m.add(Gain(0.5, name="g"))
    m.add(Delay(1, name="z"), "g")
    m.add(Sum("+-", name="s"), ["x", "z"])
    m.output("y", "s")
    T = fx.TypeTable({"x": "sfix16_En14"})
    derived = fx.tool.derive(lambda x, T: m.run(x, types=T)["y"], (-1, 1), T)
    assert (derived["s.out"].lo, derived["s.out"].hi) == (-1.5, 1.5)
    assert (derived["z.out"].lo, derived["z.out"].hi) == (-0.5, 0.5)
    assert all(derived[k].bounded for k in derived)
    r = m.ranges((-1, 1))
    for name in ("g.out", "z.out", "s.acc", "s.out"):
        assert (derived[name].lo, derived[name].hi) == r[name]


def test_frame_based_blocks_fft_in_a_model():
    """A frame-based block (the FFT, two outputs in fixed point, complex in double) runs in a
    model fed in frames of its length."""
    from fixsim.signal._fft import FFT

    def build_spectrum():
        m = Model("spectrum")
        m.input("x")
        m.add(Gain(0.5, name="g", output_type="sfix16_En15"))
        m.add(FFT(16, name="fft", scaling=[1, 1, 1, 1]), "g")
        m.output("re", "fft:0")
        m.output("im", "fft:1")
        return m

    x = fi(np.random.default_rng(9).uniform(-1, 1, 64), 1, 16, 15)
    out = build_spectrum().run(x, frame=16)
    g = Gain(0.5, name="g", output_type="sfix16_En15")
    fft = FFT(16, name="fft", scaling=[1, 1, 1, 1])
    for k in range(4):
        re, im = fft(g(x[16 * k:16 * (k + 1)]))
        np.testing.assert_array_equal(out["re"].int[16 * k:16 * (k + 1)], re.int)
        np.testing.assert_array_equal(out["im"].int[16 * k:16 * (k + 1)], im.int)
    m = Model("dbl")
    m.input("x")
    m.add(FFT(16, name="fft"))
    m.output("X", "fft")
    X = m.run(x.data, frame=16)["X"]
    np.testing.assert_allclose(X, np.fft.fft(x.data.reshape(4, 16)).ravel(), atol=1e-12)


@given(st.lists(st.integers(0, 200), max_size=5))
def test_rate_changing_blocks_stream_in_a_model(cuts):
    """A CIC decimator (feedback inside the block) and a Downsample keep their phase across
    frames split anywhere: the model's output equals one call."""
    from fixsim.signal import CICDecimator

    def build_dec():
        m = Model("dec")
        m.input("x")
        m.add(CICDecimator(4, 1, 3, name="cic"))
        m.add(Gain(2.0 ** -6, gain_type="ufix1_En6", name="norm"), "cic")
        m.add(Downsample(3, phase=2, name="ds"), "norm")
        m.output("y", "ds")
        return m

    x = fi(np.random.default_rng(10).uniform(-1, 1, 200), 1, 12, 11)
    whole = build_dec().run(x)["y"]
    m = build_dec()
    pts = sorted({c for c in cuts if 0 < c < 200})
    edges = [0, *pts, 200]
    parts = [m.run(x[a:b])["y"] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    got = np.concatenate([np.asarray(p.int) for p in parts])
    np.testing.assert_array_equal(got, whole.int)
    assert whole.size == len(range(2, 50, 3))  # 200 / 4 = 50 CIC outputs, then every third


def test_save_and_load_round_trip(tmp_path):
    """Model.save/Model.load keep blocks, wiring and coefficients: the loaded model computes
    the same stored integers; a file that is not a saved model is a clear ValueError."""
    m = Model("m")
    m.input("x")
    m.add(Gain(0.75, name="g"), "x")
    m.add(Delay(1, name="d"), "g")
    m.add(Sum("+-", name="s"), ["g", "d"])
    m.output("y", "s")
    x = fi(np.linspace(-1, 1, 50), 1, 16, 14)
    want = m.run(x)["y"]
    m.save(tmp_path / "m.fxmodel")
    got = Model.load(tmp_path / "m.fxmodel").run(x)["y"]
    fx.testing.assert_fi_identical(got, want)
    (tmp_path / "bad").write_bytes(b"\x80\x04K\x01.")  # a pickled int
    with pytest.raises(ValueError, match="not a saved fixsim model"):
        Model.load(tmp_path / "bad")


def test_regression_model_derive_casts_interval_inputs_by_the_table():
    """Bug: ``Model.run(Interval, types=T)`` skipped the input's named cast, so the blocks saw
    the design range instead of the cast's: an input range [0.01, 0.99] cast to ufix4_En2
    (nearest) holds 0 and 1 in the run, but derive gave ``g.out`` [0.01, 0.99]."""
    T = fx.TypeTable({"x": "ufix4_En2"})

    def fn(x, T):
        m = Model("m")
        m.input("x")
        m.add(Gain(1.0, name="g", gain_type="ufix2_En0"), "x")
        m.output("y", "g")
        return m.run(x, types=T)["y"]

    d = fx.tool.derive(fn, (0.01, 0.99), T, shape=4)
    with fx.tool.record() as rec:
        y = fn(np.array([0.01, 0.99, 0.5, 0.9]), T)
    assert (rec["g.out"].min, rec["g.out"].max) == (0.0, 1.0)
    assert (d["g.out"].lo, d["g.out"].hi) == (0.0, 1.0)
    assert (d["x"].lo, d["x"].hi) == (0.01, 0.99) == (rec["x"].min, rec["x"].max)
    assert d.output.contains(y.data).all()
    assert d.output._fi == (y.numerictype, None)  # typed as the run's output
