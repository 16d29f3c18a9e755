"""CIC decimator and interpolator: fixed mode against an exact per-sample Python-int reference
(integrators and combs wrapped explicitly to their register widths, Hogenauer pruning, every
output rounding and overflow mode, random frame splits), no overflow on full-scale input,
double mode against scipy.signal.upfirdn, worst-case ranges, intervals and probes."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

import fixsim as fx
from fixsim import fi, numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim._core._typetable import signal_listening
from fixsim.signal import CICDecimator, CICInterpolator

from .._core import reference as ref

ROUNDINGS = ref.ROUNDINGS
OVERFLOWS = ref.OVERFLOWS


# -- the exact reference (Python ints only) -------------------------------------------------------
def wrap(v: int, W: int) -> int:
    """Two's complement W-bit wrap of an integer."""
    v &= (1 << W) - 1
    return v - (1 << W) if v >> (W - 1) else v


def cast(v: int, f_src: int, T: numerictype, rounding: str, overflow: str) -> int:
    """Stored integer of the exact value ``v * 2**-f_src`` cast into *T*."""
    return ref.quantize(Fraction(v) / Fraction(2) ** f_src,
                        (T.signed, T.word_length, T.fraction_length), rounding, overflow)


def in_width(T: numerictype) -> int:
    """Bits of the signed registers that hold T's stored integers."""
    return T.word_length + (0 if T.signed else 1)


def ceil_log2(num: int, den: int = 1) -> int:
    g = 0
    while den * 2 ** g < num:
        g += 1
    return g


def boxcar_power(D: int, N: int) -> list[int]:
    h = [1]
    for _ in range(N):
        h = [int(v) for v in np.convolve(np.array(h, dtype=object), np.ones(D, dtype=object))]
    return h


def hogenauer_bits(R: int, M: int, N: int, b_out: int, wreg: int) -> list[int]:
    """Hogenauer's discarded bits per stage: B_j = floor(b_out - log2(F_j) - log2(2N)/2),
    clamped to >= 0, non-decreasing, <= wreg - 1 (F_j from explicit impulse responses)."""
    out = []
    for j in range(1, 2 * N + 1):
        if j <= N:
            # integrators j..N, then N combs of delay R*M at the fast rate
            h = [1]
            for _ in range(N - j + 1):
                h = [int(v) for v in np.convolve(np.array(h, dtype=object),
                                                 np.ones(R * M, dtype=object))]
            for _ in range(j - 1):
                d = np.zeros(R * M + 1, dtype=object)
                d[0], d[-1] = 1, -1
                h = [int(v) for v in np.convolve(np.array(h, dtype=object), d)]
        else:
            c = 2 * N + 1 - j
            h = [(-1) ** k * int(np.prod(range(c - k + 1, c + 1), dtype=object)
                                 // np.prod(range(1, k + 1), dtype=object)) for k in range(c + 1)]
        f2 = sum(v * v for v in h)
        # largest b with (b_out - b) >= log2(2 N f2) / 2, i.e. 4**(b_out - b) >= 2 N f2
        t = 0
        while 4 ** t < 2 * N * f2:
            t += 1
        out.append(b_out - t)
    res, prev = [], 0
    for b in out:
        prev = min(max(b, prev, 0), wreg - 1)
        res.append(prev)
    return res


def decimator_reference(x, Tin, R, M, N, phase, bits, Tout, rounding, overflow):
    """Per-sample decimator on Python ints; returns (outputs, last-section type)."""
    wreg = in_width(Tin) + ceil_log2((R * M) ** N)
    Fin = Tin.fraction_length
    secs = [(wreg - b, Fin - b) for b in bits]
    integ = [0] * N
    delay = [[0] * M for _ in range(N)]
    out = []
    for n, xv in enumerate(x):
        v, f = int(xv), Fin
        for j in range(N):
            W, F = secs[j]
            v >>= f - F  # floor: the discarded wires
            f = F
            integ[j] = wrap(integ[j] + v, W)
            v = integ[j]
        if n >= phase and (n - phase) % R == 0:
            for j in range(N):
                W, F = secs[N + j]
                u = wrap(v >> (f - F), W)
                f = F
                old = delay[j].pop(0)
                delay[j].append(u)
                v = wrap(u - old, W)
            out.append(v if Tout is None else cast(v, f, Tout, rounding, overflow))
    return out, numerictype(True, *secs[-1])


def interpolator_widths(Tin, R, M, N):
    win = in_width(Tin)
    ws = [win + j for j in range(1, N + 1)]
    ws += [win + ceil_log2(2 ** (2 * N - j) * (R * M) ** (j - N), R) for j in range(N + 1, 2 * N + 1)]
    return ws


def interpolator_reference(x, Tin, R, M, N, Tout, rounding, overflow, check_no_wrap=False):
    ws = interpolator_widths(Tin, R, M, N)
    Fin = Tin.fraction_length
    integ = [0] * N
    exact_integ = [0] * N
    delay = [[0] * M for _ in range(N)]
    exact_delay = [[0] * M for _ in range(N)]
    out = []
    for xv in x:
        v = e = int(xv)
        for j in range(N):
            old, eold = delay[j].pop(0), exact_delay[j].pop(0)
            delay[j].append(v)
            exact_delay[j].append(e)
            v, e = wrap(v - old, ws[j]), e - eold
            if check_no_wrap:
                assert v == e
        for r in range(R):
            u, eu = (v, e) if r == 0 else (0, 0)
            for j in range(N):
                integ[j] = wrap(integ[j] + u, ws[N + j])
                exact_integ[j] += eu
                u, eu = integ[j], exact_integ[j]
                if check_no_wrap:
                    assert u == eu
            out.append(u if Tout is None else cast(u, Fin, Tout, rounding, overflow))
    return out, numerictype(True, ws[-1], Fin)


def run_frames(block, x: fi, cuts):
    edges = [0, *sorted(cuts), x.size]
    parts = [block(x[a:b]) for a, b in itertools.pairwise(edges)]
    ints = [int(v) for p in parts for v in np.asarray(p.int).reshape(-1)]
    return ints, parts[-1].numerictype


# -- strategies -----------------------------------------------------------------------------------
@st.composite
def in_types(draw, signed=None):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(2, 14))
    return numerictype(s, w, draw(st.integers(-2, w + 2)))


@st.composite
def signals(draw, T: numerictype, nmax: int):
    n = draw(st.integers(0, nmax))
    edge = st.sampled_from([T.int_min, T.int_max, 0, T.int_min + 1, T.int_max - 1])
    return draw(st.lists(st.one_of(edge, st.integers(T.int_min, T.int_max)), min_size=n,
                         max_size=n))


@st.composite
def decimator_cases(draw):
    R = draw(st.integers(1, 6))
    M = draw(st.integers(1, 3))
    N = draw(st.integers(1, 8))
    overflow = draw(st.sampled_from(OVERFLOWS))
    Tin = draw(in_types())
    x = draw(signals(Tin, 60))
    wreg = in_width(Tin) + ceil_log2((R * M) ** N)
    kind = draw(st.sampled_from(["full", "type", "wordlength", "pruned_type"]))
    Tout = owl = None
    if kind in ("type", "pruned_type"):
        w = draw(st.integers(2, wreg + 3))
        Tout = numerictype(True, w, draw(st.integers(Tin.fraction_length - wreg,
                                                     Tin.fraction_length + 3)))
    elif kind == "wordlength":
        owl = draw(st.integers(2, wreg))
    return dict(R=R, M=M, N=N, Tin=Tin, x=x, kind=kind, Tout=Tout, owl=owl,
                phase=draw(st.integers(0, R - 1)), rounding=draw(st.sampled_from(ROUNDINGS)),
                overflow=overflow, cuts=draw(st.lists(st.integers(0, len(x)), max_size=5)),
                record=draw(st.booleans()))


# -- fixed point: bit-exact against the reference --------------------------------------------------
@given(decimator_cases())
def test_decimator_matches_reference_bit_for_bit(c):
    R, M, N, Tin = c["R"], c["M"], c["N"], c["Tin"]
    wreg = in_width(Tin) + ceil_log2((R * M) ** N)
    pruning = c["kind"] in ("wordlength", "pruned_type")
    Tout = c["Tout"]
    if c["kind"] == "wordlength":
        Tout = numerictype(True, c["owl"], Tin.fraction_length - (wreg - c["owl"]))
    if pruning:
        bits = hogenauer_bits(R, M, N, Tin.fraction_length - Tout.fraction_length, wreg)
    else:
        bits = [0] * (2 * N)
    cic = CICDecimator(R, M, N, output_type=c["Tout"], output_word_length=c["owl"],
                       pruning=pruning, phase=c["phase"], rounding=c["rounding"],
                       overflow=c["overflow"])
    x = fi.from_int(np.array(c["x"], dtype=np.int64), Tin)
    if c["record"]:  # recording runs the general kernel (stage records), else the fast one
        with signal_listening(lambda e: None):
            got, T = run_frames(cic, x, c["cuts"])
    else:
        got, T = run_frames(cic, x, c["cuts"])
    want, Tlast = decimator_reference(c["x"], Tin, R, M, N, c["phase"], bits, Tout,
                                      c["rounding"], c["overflow"])
    assert got == want
    assert T == (Tout or Tlast)
    assert cic.pruned_bits() == bits
    assert cic.section_word_lengths == [wreg - b for b in bits]
    assert cic.section_fraction_lengths == [Tin.fraction_length - b for b in bits]


@given(st.integers(1, 6), st.integers(1, 3), st.integers(1, 4), in_types(), st.data())
def test_interpolator_matches_reference_bit_for_bit(R, M, N, Tin, data):
    x = data.draw(signals(Tin, 30))
    overflow = data.draw(st.sampled_from(OVERFLOWS))
    rounding = data.draw(st.sampled_from(ROUNDINGS))
    Tout = data.draw(st.one_of(st.none(), st.builds(
        lambda w, f: numerictype(True, w, f), st.integers(2, 30), st.integers(-4, 20))))
    cuts = data.draw(st.lists(st.integers(0, len(x)), max_size=5))
    cic = CICInterpolator(R, M, N, output_type=Tout, rounding=rounding, overflow=overflow)
    xf = fi.from_int(np.array(x, dtype=np.int64), Tin)
    got, T = run_frames(cic, xf, cuts)
    want, Tlast = interpolator_reference(x, Tin, R, M, N, Tout, rounding, overflow,
                                         check_no_wrap=True)
    assert got == want
    assert T == (Tout or Tlast)
    assert cic.section_word_lengths == interpolator_widths(Tin, R, M, N)


def test_decimator_pruning_matches_matlab_mfilt_example():
    # mfilt.cicdecim(20, 1, 2, 16, 16, 15): section word lengths [24 20 19 18], fraction
    # lengths [14 10 9 8], output fraction length 6 (as MATLAB reports them)
    cic = CICDecimator(20, 1, 2, output_word_length=16, input_type="sfix16_En15")
    assert cic.section_word_lengths == [24, 20, 19, 18]
    assert cic.section_fraction_lengths == [14, 10, 9, 8]
    assert cic.output_type() == numerictype(True, 16, 6)
    assert cic.register_word_length() == 25
    t = cic.types()
    assert list(t) == ["input", "integrator1", "integrator2", "comb1", "comb2", "out"]
    assert t["comb1"] == numerictype(True, 19, 9) and t["out"] == numerictype(True, 16, 6)


@pytest.mark.parametrize("R,M,N,W", [(16, 1, 5, 16), (5, 2, 3, 12), (7, 1, 4, 8), (2, 3, 6, 10),
                                     (1, 1, 3, 9), (64, 1, 4, 16), (2, 1, 8, 8)])
@pytest.mark.parametrize("kind", ["min", "max", "random", "alternating"])
def test_full_scale_input_never_overflows(R, M, N, W, kind):
    """With Hogenauer's growth the wrapped registers give the exact (unwrapped) output."""
    T = numerictype(True, W, W - 1)
    n = 40 * R * M * N + 17
    rng = np.random.default_rng(R * 1000 + N)
    if kind == "min":
        x = np.full(n, T.int_min)
    elif kind == "max":
        x = np.full(n, T.int_max)
    elif kind == "random":
        x = rng.choice([T.int_min, T.int_max], n)
    else:
        x = np.where(np.arange(n) % (2 * R) < R, T.int_min, T.int_max)
    h = boxcar_power(R * M, N)
    exact = np.convolve(x.astype(object), np.array(h, dtype=object))[:n]
    cic = CICDecimator(R, M, N)
    y = cic(fi.from_int(x.astype(np.int64), T))
    assert [int(v) for v in y.int] == [int(v) for v in exact[::R]]
    assert y.word_length == W + ceil_log2((R * M) ** N)
    ci = CICInterpolator(R, M, N)
    xi = x[: n // R + 1]
    yi = ci(fi.from_int(xi.astype(np.int64), T))
    up = np.zeros(xi.size * R, dtype=object)
    up[::R] = xi
    exact_i = np.convolve(up, np.array(h, dtype=object))[: up.size]
    assert [int(v) for v in yi.int] == [int(v) for v in exact_i]
    # and every register of the reference stayed inside its width
    interpolator_reference([int(v) for v in xi[:200]], T, R, M, N, None, "floor", "wrap",
                           check_no_wrap=True)


def test_integrators_do_wrap_and_the_output_is_still_exact():
    """A long DC input overflows the integrators many times (the wrap is what makes it work)."""
    T = numerictype(True, 8, 0)
    cic = CICDecimator(4, 1, 3)
    x = np.full(5000, 127, dtype=np.int64)
    events = []
    with signal_listening(events.append):
        y = cic(fi.from_int(x, T))
    integ3 = next(e for e in events if e.name == "cic.integrator3")
    true_integ3 = np.cumsum(np.cumsum(np.cumsum(x.astype(object))))
    assert max(true_integ3) > 2 ** 13  # would not fit the 14-bit register
    assert [int(v) for v in np.round(integ3.values)] == [wrap(int(v), 14) for v in true_integ3]
    assert set(int(v) for v in y.int[3:]) == {127 * 64}


# -- double mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize("R,M,N", [(1, 1, 1), (4, 1, 2), (5, 2, 3), (16, 1, 5), (3, 3, 4)])
def test_double_matches_upfirdn_and_streams_identically(R, M, N):
    rng = np.random.default_rng(R + 10 * M + 100 * N)
    x = rng.standard_normal(2000)
    h = np.array(boxcar_power(R * M, N), dtype=np.float64)
    for phase in sorted({0, R - 1}):
        cic = CICDecimator(R, M, N, phase=phase)
        y = cic(x)
        want = signal.upfirdn(h, x, down=R) if phase == 0 else \
            signal.upfirdn(h, x)[: x.size][phase::R]
        np.testing.assert_allclose(y, want[: y.size], rtol=1e-13,
                                   atol=1e-13 * np.max(np.abs(want)))
        assert y.size == len(range(phase, x.size, R))
        cic.reset()
        cuts = sorted(rng.integers(0, x.size, 9))
        parts = [cic(x[a:b]) for a, b in itertools.pairwise([0, *cuts, x.size])]
        assert np.array_equal(np.concatenate(parts), y)
    ci = CICInterpolator(R, M, N)
    y = ci(x)
    want = signal.upfirdn(h, x, up=R)[: x.size * R]
    np.testing.assert_allclose(y, want, rtol=1e-13, atol=1e-13 * np.max(np.abs(want)))
    ci.reset()
    cuts = sorted(rng.integers(0, x.size, 9))
    parts = [ci(x[a:b]) for a, b in itertools.pairwise([0, *cuts, x.size])]
    assert np.array_equal(np.concatenate(parts), y)


def test_double_and_fixed_agree_for_exact_inputs():
    T = numerictype(True, 12, 10)
    rng = np.random.default_rng(3)
    xf = fi.from_int(rng.integers(T.int_min, T.int_max + 1, 500), T)
    for blk in (CICDecimator(8, 2, 4), CICInterpolator(3, 1, 3)):
        yf = blk(xf)
        blk.reset()
        assert np.array_equal(blk(xf.data), yf.data)  # small integers: float64 is exact


def test_double_type_table_runs_fi_input_in_double():
    Tt = fx.TypeTable({"c.in": "sfix16_En15", "c.out": "sfix32_En15"}).as_double()
    cic = CICDecimator(4, 1, 2, name="c", types=Tt)
    x = fi(np.linspace(-0.5, 0.5, 16), 1, 16, 15)
    y = cic(x)
    assert isinstance(y, np.ndarray)
    h = np.array(boxcar_power(4, 2), dtype=float)
    np.testing.assert_allclose(y, signal.upfirdn(h, x.data, down=4)[: y.size], rtol=1e-14)


def test_type_table_gives_the_output_type():
    Tt = fx.TypeTable({"c.out": "sfix12_En4"})
    cic = CICDecimator(4, 1, 2, name="c", types=Tt)
    y = cic(fi(np.ones(8) * 0.25, 1, 8, 6))
    assert y.numerictype == numerictype(True, 12, 4)


# -- ranges, intervals, probes --------------------------------------------------------------------
@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.25, 0.75), (-0.75, -0.5), (-0.5, 0.125)])
@pytest.mark.parametrize("R,M,N,phase", [(4, 1, 2, 0), (5, 2, 3, 3), (3, 1, 4, 1)])
def test_worst_case_range_is_attained_by_constant_inputs(lo, hi, R, M, N, phase):
    """Both filters have nonnegative taps: the extremes come from constant lo or hi input
    (steady state or the fill from zeros)."""
    n = 4 * R * M * N + 3 * R
    for blk in (CICDecimator(R, M, N, phase=phase), CICInterpolator(R, M, N)):
        ys = []
        for v in (lo, hi):
            blk.reset()
            ys.append(blk(np.full(n, v)))
        ys = np.concatenate(ys)
        assert blk.worst_case_output_range(lo, hi) == (ys.min(), ys.max())
    assert CICDecimator(R, M, N).gain == (R * M) ** N
    assert CICInterpolator(R, M, N).gain == (R * M) ** N // R


def test_interval_input_reports_ranges_and_keeps_state():
    events = []
    cic = CICDecimator(4, 1, 3, name="d")
    cic(np.ones(3))  # advance the phase: the next output is at local index 1
    with range_listening(events.append):
        out = cic(Interval(np.full(10, -0.5), np.full(10, 1.0)))
    assert isinstance(out, Interval) and out.size == 3
    assert out.hull() == (-0.5 * 64, 64.0)
    by = {e.name: e for e in events}
    assert set(by) == {f"d.integrator{j}" for j in (1, 2, 3)} | {"d.comb1", "d.comb2",
                                                                  "d.comb3", "d.out"}
    assert by["d.integrator1"].hi == np.inf and by["d.integrator1"].reason
    assert by["d.comb2"].lo == -np.inf
    # double mode (an untyped Interval): the last comb is the difference of float64
    # integrators, whose round-off grows with the stream (see
    # test_double_mode_decimator_last_comb_drifts_over_a_long_stream); the output (the
    # equivalent FIR) stays bounded
    assert by["d.comb3"].hi == np.inf and by["d.comb3"].reason
    assert cic(np.ones(3)).size == 1  # the interval call did not move the phase

    events.clear()
    ci = CICInterpolator(3, 2, 2, name="i")
    with range_listening(events.append):
        out = ci(Interval(np.full(5, -1.0), np.full(5, 1.0)))
    assert out.size == 15 and out.hull() == (-ci.gain, ci.gain)
    by = {e.name: e for e in events}
    assert (by["i.comb1"].lo, by["i.comb1"].hi) == (-2.0, 2.0)
    assert (by["i.comb2"].lo, by["i.comb2"].hi) == (-4.0, 4.0)
    # every stage range bounds a long random simulation of that stage (double mode records)
    rng = np.random.default_rng(0)
    ci.reset()
    seen = []
    with signal_listening(seen.append):
        ci(rng.choice([-1.0, 1.0], 3000))
    for e in seen:
        assert by[e.name].lo <= e.values.min() and e.values.max() <= by[e.name].hi, e.name


def test_probes_in_fixed_mode():
    events = []
    T = numerictype(True, 10, 8)
    cic = CICDecimator(4, 1, 2, name="c", output_word_length=8)
    x = fi.from_int(np.arange(-40, 40, dtype=np.int64), T)
    with signal_listening(events.append):
        y = cic(x)
    by = {e.name: e for e in events}
    assert set(by) == {"c.integrator1", "c.integrator2", "c.comb1", "c.comb2", "c.out"}
    assert by["c.out"].numerictype == y.numerictype and by["c.out"].mode == "fixed"
    last = by["c.comb2"].values
    np.testing.assert_array_equal(by["c.out"].values, last)
    assert by["c.integrator1"].values.size == 80 and by["c.comb1"].values.size == 20


# -- errors ---------------------------------------------------------------------------------------
def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="decimation_factor"):
        CICDecimator(0)
    with pytest.raises(ValueError, match="differential_delay"):
        CICDecimator(4, 1.5)
    with pytest.raises(ValueError, match="num_sections"):
        CICInterpolator(4, 1, True)
    with pytest.raises(ValueError, match="phase"):
        CICDecimator(4, phase=4)
    with pytest.raises(ValueError, match="pruning=True needs"):
        CICDecimator(4, pruning=True)
    with pytest.raises(ValueError, match="not both"):
        CICDecimator(4, output_type="sfix16_En2", output_word_length=16)
    cic = CICDecimator(4)
    cic(fi([0.5], 1, 16, 15))
    with pytest.raises(ValueError, match="input type changed"):
        cic(fi([0.5], 1, 12, 10))
    with pytest.raises(ValueError, match="reset"):
        cic(np.ones(4))
    with pytest.raises(ValueError, match="input type is not known"):
        CICDecimator(4).section_word_lengths  # noqa: B018


def test_input_type_casts_first_and_is_probed():
    T = numerictype(True, 16, 15)
    rng = np.random.default_rng(5)
    x = fi.from_int(rng.integers(T.int_min, T.int_max + 1, 300), T)
    cast_first = x.cast(numerictype(True, 12, 10), rounding="nearest", overflow="saturate")
    want = CICDecimator(5, 2, 3)(cast_first)
    cic = CICDecimator(5, 2, 3, name="c", input_type="sfix12_En10", rounding="nearest",
                       overflow="saturate")
    with fx.tool.record() as rec:
        got = cic(x)
    assert [int(v) for v in got.int] == [int(v) for v in want.int]
    assert got.numerictype == numerictype(True, 12 + 10, 10)  # 12 + ceil(3 log2(10)) bits
    assert rec["c.in"].count == 300 and rec["c.in"].max == float(np.max(x.data))


@pytest.mark.parametrize("R,M,N", [(4, 1, 2), (5, 2, 3), (16, 1, 5)])
def test_freqz_is_the_sinc_power(R, M, N):
    f = np.linspace(0.001, 0.499, 97)  # cycles per fast sample, away from DC
    for blk in (CICDecimator(R, M, N), CICInterpolator(R, M, N)):
        w, h = blk.freqz(f, fs=1.0)
        want = np.abs(np.sin(np.pi * f * R * M) / np.sin(np.pi * f)) ** N / (R * M) ** N
        np.testing.assert_allclose(np.abs(h), want, rtol=1e-9, atol=1e-12)
        w, h = blk.freqz([0.0], fs=1.0, normalize=False)
        assert abs(h[0] - (R * M) ** N) < 1e-9 * (R * M) ** N


def test_complex_double_input_filters_both_rails():
    rng = np.random.default_rng(11)
    x = rng.standard_normal(999) + 1j * rng.standard_normal(999)
    for make in (lambda: CICDecimator(7, 2, 3, phase=3), lambda: CICInterpolator(3, 1, 4)):
        blk = make()
        parts = [blk(x[a:b]) for a, b in itertools.pairwise([0, 5, 6, 500, 999])]
        y = np.concatenate(parts)
        re, im = make(), make()
        assert np.array_equal(y.real, re(x.real)) and np.array_equal(y.imag, im(x.imag))
        with pytest.raises(ValueError, match="complex input"):
            blk(x.real)
        blk.reset()
        assert np.array_equal(blk(x.real), re.reset() or re(x.real))


@pytest.mark.parametrize("pruned", [False, True])
def test_registers_wider_than_64_bits_run_exactly_on_python_ints(pruned):
    """R=1024, N=6, 16-bit input: 76-bit registers (beyond int64), against the reference,
    with frame splits, pruning, recording, and the most negative input held (exact)."""
    R, M, N = 1024, 1, 6
    T = numerictype(True, 16, 15)
    wreg = 16 + 60
    rng = np.random.default_rng(8)
    x = rng.integers(T.int_min, T.int_max + 1, 9000)
    x[:7000] = T.int_min
    kw = dict(output_word_length=20) if pruned else {}
    cic = CICDecimator(R, M, N, **kw)
    xf = fi.from_int(x, T)
    events = []
    with signal_listening(events.append):
        got, Tgot = run_frames(cic, xf, [1, 1500, 1501, 6000])
    Tout = numerictype(True, 20, 15 - (wreg - 20)) if pruned else None
    bits = hogenauer_bits(R, M, N, wreg - 20, wreg) if pruned else [0] * (2 * N)
    want, Tlast = decimator_reference([int(v) for v in x], T, R, M, N, 0, bits, Tout,
                                      "floor", "wrap")
    assert got == want and Tgot == (Tout or Tlast)
    assert cic.section_word_lengths[0] == wreg
    if not pruned:
        # outputs 1..6 see only the held most negative input: exact -(R M)**N * 2**15 once full
        assert got[6] == -(2 ** 15) * (R * M) ** N
        assert Tgot.word_length == 76 and isinstance(got[6], int)
    assert {e.name for e in events} >= {"cic.integrator1", "cic.comb6", "cic.out"}


def test_wide_interpolator_runs_exactly_on_python_ints():
    R, M, N = 64, 2, 5
    T = numerictype(True, 40, 30)
    rng = np.random.default_rng(9)
    x = [int(v) for v in rng.integers(T.int_min, T.int_max + 1, 40)]
    x[:5] = [T.int_max] * 5
    ci = CICInterpolator(R, M, N, output_type=numerictype(True, 64, 20), rounding="nearest",
                         overflow="saturate")
    got, Tgot = run_frames(ci, fi.from_int(np.array(x, dtype=np.int64), T), [3, 4, 20])
    assert max(ci.section_word_lengths) > 64
    want, _ = interpolator_reference(x, T, R, M, N, numerictype(True, 64, 20), "nearest",
                                     "saturate", check_no_wrap=True)
    assert got == want and Tgot == numerictype(True, 64, 20)


# -- derived ranges against recorded runs (regressions) ------------------------------------------
def _derived_vs_recorded(fn, T, design, n, inputs):
    """Every recorded signal and the output inside its derived range, for each input."""
    d = fx.tool.derive(fn, design, T, shape=n)
    bad = []
    for x in inputs:
        with fx.tool.record() as rec:
            out = fn(np.asarray(x, dtype=np.float64), T)
        for name in rec.names:
            if rec[name].finite_count == 0:
                continue
            if name not in d:
                bad.append((name, "missing"))
            elif not (d[name].lo <= rec[name].min and rec[name].max <= d[name].hi):
                bad.append((name, rec[name].min, rec[name].max, d[name].lo, d[name].hi))
        v = np.asarray(out.data if isinstance(out, fi) else out, dtype=np.float64)
        lo, hi = d.output.hull()
        if not (lo <= v.min() and v.max() <= hi):
            bad.append(("output", v.min(), v.max(), lo, hi))
    return d, bad


@pytest.mark.parametrize("cls", [CICDecimator, CICInterpolator])
@pytest.mark.parametrize("bound", [0.9, 0.7, 0.1, 1 / 3])
def test_double_mode_derived_ranges_hold_the_float_kernels_values(cls, bound):
    """Bug: _CIC._filt_interval rounded the exact worst case to nearest, but the double
    kernels round their sums beyond it (CICInterpolator(4, 1, 3) at -0.9: c.out
    -14.400000000000002 vs derived -14.4; CICDecimator at 0.9: 57.60000000000218 vs 57.6).
    The output's bound now holds the kernel's own float sums at the worst-case inputs."""
    T = fx.TypeTable({"x": "double", "y": "double"})

    def fn(x, T):
        return T.y(cls(4, 1, 3, name="c")(T.x(x)))

    n = 64
    k = np.arange(n)
    inputs = [np.full(n, -bound), np.full(n, bound), np.where(k % 2, -bound, bound),
              np.where((k // 5) % 2, -bound, bound),
              np.random.default_rng(1).uniform(-bound, bound, n)]
    d, bad = _derived_vs_recorded(fn, T, (-bound, bound), n, inputs)
    assert not bad, bad
    # still tight: within a few ulps of the exact worst case
    glo, ghi = cls(4, 1, 3).worst_case_output_range(-bound, bound)
    assert d["c.out"].lo <= glo and d["c.out"].hi >= ghi
    assert abs(d["c.out"].hi - ghi) <= 64 * np.spacing(ghi)


def test_double_mode_decimator_last_comb_drifts_over_a_long_stream():
    """In double mode the decimator's registers accumulate in float64 (the output is the
    equivalent FIR): the last comb, a difference of integrators that outgrow 2**53, leaves
    the exact output range on a long stream, so its derived range is unbounded (the output's
    is not)."""
    c = CICDecimator(4, 1, 3, name="c")
    with fx.tool.record() as rec:
        for _ in range(8):
            c(np.full(1 << 17, 0.9))
    assert rec["c.comb3"].max > 60.0                  # exact: 0.9 * 64 = 57.6
    events = []
    with range_listening(events.append):
        out = CICDecimator(4, 1, 3, name="c")(Interval(np.full(8, -0.9), np.full(8, 0.9)))
    by = {e.name: e for e in events}
    assert by["c.comb3"].hi == np.inf and "float64" in by["c.comb3"].reason
    assert out.hull()[1] >= rec["c.out"].max and out.hull()[1] < 57.61


@pytest.mark.parametrize("rounding", ["floor", "nearest"])
@pytest.mark.parametrize("cls", [CICDecimator, CICInterpolator])
def test_input_type_cast_is_in_the_derived_ranges(cls, rounding):
    """Bug: with input_type, 'c.in' (recorded) had no derived range, and the input cast's
    rounding was ignored: CICDecimator(2, 1, 2, input_type='sfix8_En4'), x sfix16_En15 in
    [-0.3, 0.3] (floor: -0.3 -> -0.3125): c.out observed -1.25 vs derived lo -1.19995."""
    T = fx.TypeTable({"x": "sfix16_En15", "y": "double"})

    def fn(x, T):
        return T.y(cls(2, 1, 2, name="c", input_type="sfix8_En4", rounding=rounding)(T.x(x)))

    n = 16
    k = np.arange(n)
    inputs = [np.full(n, -0.3), np.full(n, 0.3), np.where(k % 2, -0.3, 0.3),
              np.random.default_rng(2).uniform(-0.3, 0.3, n)]
    d, bad = _derived_vs_recorded(fn, T, (-0.3, 0.3), n, inputs)
    assert not bad, bad
    assert "c.in" in d and d["c.in"].hi < 0.31


@pytest.mark.parametrize("owl", [6, 8, 10])
def test_pruned_decimator_derived_output_holds_the_truncation_error(owl):
    """Bug: with pruning the stages floor their inputs, which moves the output off the exact
    filter's value (below its minimum at worst); the derived range of the last comb and of
    the output now adds the truncations' worst case (or the register's range where that
    would wrap)."""
    T = fx.TypeTable({"x": "sfix12_En11", "y": "double"})

    def fn(x, T):
        return T.y(CICDecimator(4, 1, 3, name="c", output_word_length=owl)(T.x(x)))

    rng = np.random.default_rng(owl)
    xmax = 1 - 2 ** -11
    inputs = [np.full(128, -1.0), np.full(128, xmax)] + [
        np.round(rng.uniform(-1, xmax, 128) * 2 ** 11) / 2 ** 11 for _ in range(10)]
    _, bad = _derived_vs_recorded(fn, T, (-1.0, xmax), 128, inputs)
    assert not bad, bad


def test_fixed_mode_last_comb_is_exact():
    """A fixed-point run (a typed Interval) keeps the exact bound of the last comb, which
    wraps to the exact output in the registers."""
    T = fx.TypeTable({"x": "sfix16_En14", "y": "double"})

    def fn(x, T):
        return T.y(CICDecimator(4, 1, 3, name="d")(T.x(x)))

    d = fx.tool.derive(fn, (-0.5, 1.0), T, shape=12)
    assert (d["d.comb3"].lo, d["d.comb3"].hi) == (-32.0, 64.0)
    assert (d["d.out"].lo, d["d.out"].hi) == (-32.0, 64.0)
