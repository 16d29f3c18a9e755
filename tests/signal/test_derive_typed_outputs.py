"""Under a fixed type table, a block's derived output stands for the fi the run returns.

Bug pinned (found by an independent review, tests/tool/test_independent_review_fixed_derive.py):
blocks returned untyped Intervals for a typed (fixed-point) Interval input, so fi arithmetic after
a block was derived in reals: ``-Convert('ufix8_En4')(x)`` is 0 in the run (unsigned negation
saturates) but was derived as [-2, -1]. Every block now gives its Interval output the
numerictype and fimath of the fi its fixed-point run returns, learned by running a copy of the
block on zero-valued fi, without moving the block's state or reaching a recorder.
"""

from __future__ import annotations

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi
from fixsim._core._interval import Interval
from fixsim.signal import (
    FFT,
    FIR,
    NCO,
    CICDecimator,
    CICInterpolator,
    Convert,
    Delay,
    FIRDecimator,
    FIRInterpolator,
    Gain,
    Lookup1D,
    Product,
    Saturation,
    SOSFilter,
    Sum,
    cordic_abs,
    cordic_atan2,
    cordic_rotate,
    cordic_sincos,
)

N = 8
TIN = fx.numerictype(True, 10, 6)
SOS = np.array([[0.2, 0.4, 0.2, 1.0, -0.5, 0.25]])

#: one-input blocks: a factory (fresh block each call)
BLOCKS = {
    "fir": lambda: FIR([0.5, -0.25, 0.125], name="b"),
    "fir_typed": lambda: FIR([0.5, -0.25], name="b", output_type="sfix12_En8"),
    "sos": lambda: SOSFilter(SOS, name="b", output_type="sfix16_En10"),
    "cic_dec": lambda: CICDecimator(2, 1, 2, name="b"),
    "cic_int": lambda: CICInterpolator(2, 1, 2, name="b"),
    "fir_dec": lambda: FIRDecimator(2, [0.25, 0.5, 0.25, 0.125], name="b"),
    "fir_int": lambda: FIRInterpolator(2, [0.25, 0.5, 0.25, 0.125], name="b"),
    "gain": lambda: Gain(-0.75, name="b"),
    "convert": lambda: Convert("ufix8_En4", name="b"),
    "delay": lambda: Delay(2, name="b"),
    "saturation": lambda: Saturation(-0.5, 0.5, name="b"),
    "lut": lambda: Lookup1D([-2.0, 0.0, 2.0], [1.0, 0.0, 1.0], name="b"),
}


def typed(lo, hi, T=TIN, F=None):
    """A typed Interval: the output of a named cast of an Interval into *T*."""
    iv = fx.TypeTable({"x": T}).x(Interval(np.full(N, lo), np.full(N, hi)))
    if F is not None:
        iv._fi = (T, F)
    return iv


def check_like_run(out, ran):
    """*out* (derived) stands for *ran* (the run's fi): same type and fimath, and every run
    value inside its range."""
    assert isinstance(out, Interval) and isinstance(ran, fi)
    assert out._fi is not None
    assert out._fi[0] == ran.numerictype
    assert out._fi[1] == ran.local_fimath
    assert out.shape == ran.shape
    assert out.contains(ran.data).all()


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_block_output_is_typed_as_the_run(kind):
    x = fi(np.linspace(-1, 1, N), TIN)
    out = BLOCKS[kind]()(typed(-1, 1))
    ran = BLOCKS[kind]()(x)
    check_like_run(out, ran)


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_untyped_input_gives_an_untyped_output(kind):
    # a float input runs in double: no fi type to carry
    out = BLOCKS[kind]()(Interval(np.full(N, -1.0), np.full(N, 1.0)))
    assert isinstance(out, Interval) and out._fi is None


@pytest.mark.parametrize("kind", ["fir", "sos", "cic_dec", "delay"])
def test_typing_an_interval_output_leaves_the_state_and_recorders_alone(kind):
    x = fi(np.linspace(-1, 1, N), TIN)
    blk = BLOCKS[kind]()
    first = blk(x)
    with fx.tool.record() as rec:
        blk(typed(-1, 1))
    assert len(rec) == 0  # the zero-valued stand-in run reached no recorder
    fresh = BLOCKS[kind]()
    fresh(x)
    np.testing.assert_array_equal(blk(x).int, fresh(x).int)  # the state did not move
    assert first.numerictype == fresh(x).numerictype


def test_two_input_blocks_are_typed_as_the_run():
    a = fi(np.linspace(-1, 1, N), TIN)
    b = fi(np.linspace(1, -1, N), TIN)
    for make in (lambda: Sum("+-", name="s"), lambda: Product("**", name="p")):
        check_like_run(make()(typed(-1, 1), typed(-1, 1)), make()(a, b))


def test_fft_nco_and_cordic_outputs_are_typed_as_the_run():
    x = fi(np.linspace(-0.5, 0.5, N), TIN)
    out = FFT(N, name="f")(typed(-0.5, 0.5))
    ran = FFT(N, name="f")(x)
    for o, r in zip(out, ran, strict=True):
        check_like_run(o, r)
    # an NCO is a source: its fixed output type does not depend on the argument
    out = NCO(1000, waveform="sincos", output_type="sfix12_En10", name="n")(
        Interval(np.zeros(N)))
    ran = NCO(1000, waveform="sincos", output_type="sfix12_En10", name="n")(N)
    for o, r in zip(out, ran, strict=True):
        check_like_run(o, r)
    theta = fi(np.linspace(-1, 1, N), fx.numerictype(True, 12, 9))
    th_iv = typed(-1, 1, fx.numerictype(True, 12, 9))
    for o, r in zip(cordic_sincos(th_iv, 8), cordic_sincos(theta, 8), strict=True):
        check_like_run(o, r)
    check_like_run(cordic_abs((typed(-1, 1), typed(-1, 1)), 8), cordic_abs((x, x), 8))
    check_like_run(cordic_atan2(typed(-1, 1), typed(-1, 1), 8), cordic_atan2(x, x, 8))
    for o, r in zip(cordic_rotate(th_iv, (typed(-1, 1), typed(-1, 1)), 8),
                    cordic_rotate(theta, (x, x), 8), strict=True):
        check_like_run(o, r)


def test_derive_follows_fi_after_a_block():
    """-y of an unsigned block output saturates at 0 in fi; derive's range holds it."""
    T = fx.TypeTable({"x": "sfix8_En4", "z": "sfix10_En4"})

    def fn(x, T):
        return T.z(-Convert("ufix8_En4", name="cv")(T.x(x)))

    d = fx.tool.derive(fn, (1.0, 2.0), T, shape=N)
    # derive keeps the hull of the real range and fi's (the program might have read .data)
    assert d["z"].lo <= 0.0 <= d["z"].hi  # it derived [-2, -1] before
    with fx.tool.record() as rec:
        fn(np.linspace(1, 2, N), T)
    assert (rec["z"].min, rec["z"].max) == (0.0, 0.0)


def test_a_local_fimath_of_the_input_is_carried_like_the_run():
    wrap = fx.fimath(overflow="wrap", rounding="floor")
    x = fi(np.linspace(-1, 1, N), TIN, fimath=wrap)
    for kind in ("gain", "convert", "delay"):
        out = BLOCKS[kind]()(typed(-1, 1, F=wrap))
        check_like_run(out, BLOCKS[kind]()(x))
