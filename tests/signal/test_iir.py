"""fixsim.signal.sosfilt / lfilter: scipy's result on arrays, and on Intervals a range that holds
every simulated output (frames, carried states, numeric initial states) and equals the
analytic worst case (the l1 norm of the impulse response times the input bound)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import fixsim as fx
from fixsim.signal import IIRState, lfilter, sosfilt
from fixsim.tool import Interval


def _l1(sos, n=1 << 15):
    """The l1 norm of the impulse response, summed far into its tail (float)."""
    return float(np.abs(signal.sosfilt(sos, np.r_[1.0, np.zeros(n - 1)])).sum())


@st.composite
def stable_sos(draw):
    kind = draw(st.sampled_from(["butter", "cheby1", "ellip"]))
    order = draw(st.integers(1, 5))
    wn = draw(st.floats(0.05, 0.9))
    btype = draw(st.sampled_from(["lowpass", "highpass"]))
    if kind == "butter":
        return signal.butter(order, wn, btype, output="sos")
    if kind == "cheby1":
        return signal.cheby1(order, 1.0, wn, btype, output="sos")
    return signal.ellip(order, 1.0, 40.0, wn, btype, output="sos")


# -- arrays: scipy's own call -------------------------------------------------------------------
def test_arrays_give_scipys_result_exactly():
    rng = np.random.default_rng(3)
    sos = signal.cheby1(4, 1.0, 0.3, output="sos")
    b, a = signal.butter(3, 0.2)
    x = rng.standard_normal((3, 200))
    assert np.array_equal(sosfilt(sos, x), signal.sosfilt(sos, x))
    assert np.array_equal(sosfilt(sos, x, axis=0), signal.sosfilt(sos, x, axis=0))
    zi = rng.standard_normal((sos.shape[0], 3, 2))
    y1, z1 = sosfilt(sos, x, zi=zi)
    y2, z2 = signal.sosfilt(sos, x, zi=zi)
    assert np.array_equal(y1, y2) and np.array_equal(z1, z2)
    assert np.array_equal(lfilter(b, a, x), signal.lfilter(b, a, x))
    zl = rng.standard_normal((3, 3))
    y1, z1 = lfilter(b, a, x, zi=zl)
    y2, z2 = signal.lfilter(b, a, x, zi=zl)
    assert np.array_equal(y1, y2) and np.array_equal(z1, z2)


def test_fi_input_is_filtered_as_its_float_values():
    x = fx.fi(np.linspace(-1, 1, 64), 1, 16, 14)
    sos = signal.butter(2, 0.25, output="sos")
    assert np.array_equal(sosfilt(sos, x), signal.sosfilt(sos, x.data))


# -- Intervals: guaranteed, and tight --------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(sos=stable_sos(), lo=st.floats(-4, 0), width=st.floats(0.01, 6),
       frames=st.lists(st.integers(1, 300), min_size=1, max_size=4), seed=st.integers(0, 99),
       use_lfilter=st.booleans())
def test_streamed_interval_frames_hold_every_simulated_output(sos, lo, width, frames, seed,
                                                              use_lfilter):
    hi = lo + width
    rng = np.random.default_rng(seed)
    if use_lfilter:
        b, a = signal.sos2tf(sos)
        run = lambda x, z: lfilter(b, a, x, zi=z)  # noqa: E731
        z_num = np.zeros(max(len(a), len(b)) - 1)
    else:
        run = lambda x, z: sosfilt(sos, x, zi=z)  # noqa: E731
        z_num = np.zeros((sos.shape[0], 2))
    z_iv = None
    for n in frames:
        # the extreme inputs (bang-bang) as well as random ones inside the range
        x = np.where(rng.random(n) < 0.5, lo, hi) if seed % 2 else rng.uniform(lo, hi, n)
        y, z_num = run(x, z_num)
        yi, z_iv = run(Interval(np.full(n, lo), np.full(n, hi)), z_iv if z_iv is not None
                       else np.zeros_like(z_num))
        assert isinstance(z_iv, IIRState)
        assert np.all(yi.lo <= y) and np.all(y <= yi.hi), (y.min(), y.max(), yi.hull())


@settings(max_examples=25, deadline=None)
@given(sos=stable_sos(), M=st.floats(0.1, 10))
def test_symmetric_range_is_the_l1_norm_times_the_bound(sos, M):
    y = sosfilt(sos, Interval(np.full(512, -M), np.full(512, M)))
    l1 = _l1(sos)
    assert y.hull()[1] == pytest.approx(l1 * M, rel=1e-6)
    assert y.hull()[0] == -y.hull()[1]
    # the worst-case input (the sign of the reversed impulse response) reaches it
    n = 1 << 15
    h = signal.sosfilt(sos, np.r_[1.0, np.zeros(n - 1)])
    reached = float(signal.sosfilt(sos, M * np.sign(h[::-1]))[-1])
    assert reached <= y.hull()[1]
    assert reached == pytest.approx(l1 * M, rel=1e-6)


def test_fir_through_lfilter_is_the_exact_convolution_bound():
    b = np.array([0.25, -0.5, 0.75, 0.125])
    y = lfilter(b, [1.0], Interval(np.full(16, -2.0), np.full(16, 1.0)))
    # worst cases: positive taps take hi, negative take lo (and the reverse)
    top = sum(c * (1.0 if c > 0 else -2.0) for c in b)
    bot = sum(c * (-2.0 if c > 0 else 1.0) for c in b)
    assert y.hull()[1] == pytest.approx(top, rel=1e-8) and y.hull()[1] >= top
    assert y.hull()[0] == pytest.approx(bot, rel=1e-8) and y.hull()[0] <= bot


def test_numeric_initial_state_adds_its_zero_input_response():
    sos = signal.butter(2, 0.1, output="sos")
    zi = np.array([[0.7, -0.3]])
    rng = np.random.default_rng(0)
    yi, zs = sosfilt(sos, Interval(np.full(100, -0.1), np.full(100, 0.1)), zi=zi)
    yi2, _ = sosfilt(sos, Interval(np.full(100, -0.1), np.full(100, 0.1)), zi=zs)
    for _ in range(20):
        x = rng.uniform(-0.1, 0.1, 200)
        y, _ = signal.sosfilt(sos, x, zi=zi)
        assert np.all(yi.lo <= y[:100]) and np.all(y[:100] <= yi.hi)
        assert np.all(yi2.lo <= y[100:]) and np.all(y[100:] <= yi2.hi)
    # the bound is the zero-state bound moved by the zero-input response, sample by sample
    z0 = signal.sosfilt(sos, np.zeros(100), zi=zi)[0]
    B = sosfilt(sos, Interval(np.full(100, -0.1), np.full(100, 0.1))).hull()[1]
    assert np.allclose(yi.hi, z0 + B, rtol=0, atol=1e-8)
    assert np.allclose(yi.lo, z0 - B, rtol=0, atol=1e-8)


def test_derive_runs_a_type_table_chain_with_scipy_style_filters():
    sos = signal.butter(4, 0.1, output="sos")
    b, a = signal.butter(2, 0.3)
    T = fx.TypeTable({"x": "double", "lp": "double", "hp": "double", "y": "double"})

    def chain(x, T):
        lp = T.lp(sosfilt(sos, T.x(x)))
        hp = T.hp(lfilter(b, a, lp))
        return T.y(np.clip(hp * 0.5, -1, 1))

    d = fx.tool.derive(chain, (-1, 1), T, shape=256)
    assert d["lp"].hi == pytest.approx(_l1(sos), rel=1e-6)
    rng = np.random.default_rng(1)
    with fx.tool.record() as rec:
        for _ in range(10):
            chain(rng.uniform(-1, 1, 256), T)
    for name in ["lp", "hp", "y"]:
        assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi, name


def test_unstable_filter_is_unbounded_with_the_reason():
    y = sosfilt([[1.0, 0.0, 0.0, 1.0, -1.0, 0.0]], Interval(np.full(8, -1.0), np.full(8, 1.0)))
    assert not y.bounded and "unstable" in y.reason


def test_bad_input_is_named():
    iv = Interval(np.full(4, -1.0), np.full(4, 1.0))
    with pytest.raises(TypeError, match="zi is an Interval that is not a filter state"):
        sosfilt(signal.butter(1, 0.2, output="sos"), iv, zi=Interval(np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r"sos\[:, 3\]"):
        sosfilt([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]], iv)
    with pytest.raises(ValueError, match="a\\[0\\] != 0"):
        lfilter([1.0], [0.0, 1.0], iv)
    _, z = sosfilt(signal.butter(1, 0.2, output="sos"), iv, zi=np.zeros((1, 2)))
    with pytest.raises(TypeError, match="returned by sosfilt"):
        lfilter([1.0], [1.0, -0.5], iv, zi=z)


def test_scipys_own_filter_on_an_interval_names_the_replacement():
    """Regression: derive over a chain calling scipy.signal.sosfilt said only "no single value
    to convert to a numpy array" and suggested np.zeros_like, which does not help."""
    T = fx.TypeTable({"x": "double", "y": "double"})
    sos = signal.butter(2, 0.2, output="sos")
    with pytest.raises(TypeError, match=r"scipy.signal.sosfilt .*fixsim.signal.sosfilt"):
        fx.tool.derive(lambda x, T: T.y(signal.sosfilt(sos, T.x(x))), (-1, 1), T, shape=8)
    with pytest.raises(TypeError, match=r"scipy.signal.lfilter .*fixsim.signal.lfilter"):
        fx.tool.derive(lambda x, T: T.y(signal.lfilter([1.0], [1.0, -0.5], T.x(x))), (-1, 1),
                       T, shape=8)
