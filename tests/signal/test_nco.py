"""NCO: fixed mode against an exact per-sample Python-int reference (accumulator, SplitMix64
dither, phase truncation, full and quarter-wave tables built from 200-bit mpmath sines and the
exact quantizer), frame splits, dither reproducibility; double mode against np.sin/np.cos of
the ideal phase; the documented error bound; the spur level of phase truncation."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import numerictype
from fixsim._core._interval import Interval, range_listening
from fixsim._core._typetable import signal_listening
from fixsim.signal import NCO

from .._core import reference as ref

ROUNDINGS = ref.ROUNDINGS
OVERFLOWS = ref.OVERFLOWS
MASK64 = (1 << 64) - 1


# -- the exact reference --------------------------------------------------------------------------
def splitmix_dither(seed: int, i: int, D: int) -> int:
    """Top D bits of SplitMix64 at counter i (state seed + (i + 1) * golden)."""
    if D == 0:
        return 0
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    z ^= z >> 31
    return z >> (64 - D)


@functools.cache
def exact_sin(k: int, Q: int) -> Fraction:
    """sin(2 pi k / 2**Q) to 200 bits, as the exact Fraction of that binary number (exact at
    the multiples of a quarter turn)."""
    k %= 1 << Q
    if k % (1 << (Q - 2)) == 0:
        return Fraction([0, 1, 0, -1][k >> (Q - 2)])
    with mpmath.workprec(200):
        v = mpmath.sin(2 * mpmath.pi * k / mpmath.mpf(2) ** Q)
        mag = Fraction(int(v.man)) * Fraction(2) ** int(v.exp)  # man is |mantissa|
        return -mag if v < 0 else mag


def qsin(k: int, Q: int, T: numerictype, rounding: str, overflow: str) -> int:
    return ref.quantize(exact_sin(k, Q), (T.signed, T.word_length, T.fraction_length),
                        rounding, overflow)


def table_entry(q: int, Q: int, T, rounding, overflow, lut: str) -> int:
    """T(q): the full table quantizes sin(2 pi q / 2**Q); the quarter table stores the first
    quadrant (k = 0 .. 2**(Q-2)), mirrors it and negates the stored integer, cast into T by
    the overflow mode (the negation of an exact integer needs no rounding)."""
    if lut == "full":
        return qsin(q, Q, T, rounding, overflow)
    n = 1 << (Q - 2)
    quad, r = divmod(q, n)
    k = r if quad in (0, 2) else n - r
    v = qsin(k, Q, T, rounding, overflow)
    if quad < 2:
        return v
    return ref.quantize(Fraction(-v) * Fraction(2) ** -T.fraction_length,
                        (T.signed, T.word_length, T.fraction_length), rounding, overflow)


def nco_reference(n, inc, off, W, Q, D, seed, T, rounding, overflow, lut):
    """(sin, cos) stored integers of samples 0..n-1."""
    s_out, c_out = [], []
    for i in range(n):
        acc = (i * inc) % 2 ** W
        p = (acc + off + splitmix_dither(seed, i, D)) % 2 ** W
        q = p >> (W - Q)
        s_out.append(table_entry(q, Q, T, rounding, overflow, lut))
        c_out.append(table_entry((q + 2 ** (Q - 2)) % 2 ** Q, Q, T, rounding, overflow, lut))
    return s_out, c_out


def nco_reference_fm(incs, off, W, Q, D, seed, T, rounding, overflow, lut):
    """(sin, cos) with a per-sample increment: sample i is produced, then acc += incs[i]."""
    s_out, c_out, acc = [], [], 0
    for i, inc in enumerate(incs):
        p = (acc + off + splitmix_dither(seed, i, D)) % 2 ** W
        q = p >> (W - Q)
        s_out.append(table_entry(q, Q, T, rounding, overflow, lut))
        c_out.append(table_entry((q + 2 ** (Q - 2)) % 2 ** Q, Q, T, rounding, overflow, lut))
        acc = (acc + inc) % 2 ** W
    return s_out, c_out


def ideal_phase(n, inc, off, W):
    return [((i * inc) + off) % 2 ** W for i in range(n)]


def ints(a) -> list[int]:
    return [int(v) for v in np.asarray(a.int).reshape(-1)]


# -- strategies -----------------------------------------------------------------------------------
@st.composite
def nco_cases(draw):
    W = draw(st.integers(2, 64))
    Q = draw(st.integers(2, min(W, 10)))
    D = draw(st.integers(0, W))
    overflow = draw(st.sampled_from(OVERFLOWS))
    signed = True if overflow == "wrap_sm" else draw(st.booleans())
    w = draw(st.integers(2, 20))
    T = numerictype(signed, w, draw(st.integers(-1, w + 1)))
    big = 2 ** W
    return dict(W=W, Q=Q, D=D, T=T, overflow=overflow,
                rounding=draw(st.sampled_from(ROUNDINGS)),
                inc=draw(st.integers(-big, big)), off=draw(st.integers(-big, big)),
                seed=draw(st.integers(0, 2 ** 64 - 1)),
                lut=draw(st.sampled_from(["quarter", "full"])),
                waveform=draw(st.sampled_from(["sin", "cos", "sincos", "complex"])),
                n=(n := draw(st.integers(0, 50))),
                cuts=draw(st.lists(st.integers(0, n), max_size=4)))


def run_frames(nco: NCO, n: int, cuts):
    edges = [0, *sorted(cuts), n]
    return [nco(b - a) for a, b in itertools.pairwise(edges)]


# -- fixed point: bit-exact -----------------------------------------------------------------------
@given(nco_cases())
def test_fixed_matches_reference_bit_for_bit(c):
    nco = NCO(c["inc"], phase_offset=c["off"], accumulator_word_length=c["W"],
              quantizer_bits=c["Q"], dither_bits=c["D"], seed=c["seed"], lut=c["lut"],
              waveform=c["waveform"], output_type=c["T"], rounding=c["rounding"],
              overflow=c["overflow"])
    parts = run_frames(nco, c["n"], c["cuts"])
    want_s, want_c = nco_reference(c["n"], c["inc"], c["off"] % 2 ** c["W"], c["W"], c["Q"],
                                   c["D"], c["seed"], c["T"], c["rounding"], c["overflow"],
                                   c["lut"])
    wf = c["waveform"]
    if wf == "sin":
        got = {"s": sum((ints(p) for p in parts), [])}
    elif wf == "cos":
        got = {"c": sum((ints(p) for p in parts), [])}
    elif wf == "sincos":
        got = {"s": sum((ints(p[0]) for p in parts), []),
               "c": sum((ints(p[1]) for p in parts), [])}
    else:  # complex: (real, imag) = (cos, sin)
        got = {"c": sum((ints(p[0]) for p in parts), []),
               "s": sum((ints(p[1]) for p in parts), [])}
    if "s" in got:
        assert got["s"] == want_s
    if "c" in got:
        assert got["c"] == want_c
    for p in parts:
        for a in (p if isinstance(p, tuple) else (p,)):
            assert a.numerictype == c["T"]


@pytest.mark.parametrize("Q,lut", [(12, "quarter"), (10, "full"), (14, "quarter")])
@pytest.mark.parametrize("T", ["sfix16_En14", "sfix16_En15", "sfix8_En6", "ufix12_En12"])
def test_whole_table_is_the_exact_sine_correctly_quantized(Q, lut, T):
    T = numerictype.parse(T)
    for rounding in ROUNDINGS:
        nco = NCO(1, accumulator_word_length=Q + 2, quantizer_bits=Q, lut=lut, output_type=T,
                  rounding=rounding)
        size = 2 ** (Q - 2) + 1 if lut == "quarter" else 2 ** Q
        want = [qsin(k, Q, T, rounding, "saturate") for k in range(size)]
        assert ints(nco.table) == want, rounding


def test_quarter_and_full_tables_agree_away_from_ties():
    T = numerictype(True, 16, 14)
    a = NCO(12345, accumulator_word_length=24, quantizer_bits=11, lut="quarter",
            waveform="sincos", output_type=T)
    b = NCO(12345, accumulator_word_length=24, quantizer_bits=11, lut="full",
            waveform="sincos", output_type=T)
    (sa, ca), (sb, cb) = a(20000), b(20000)
    assert ints(sa) == ints(sb) and ints(ca) == ints(cb)


def test_dither_is_reproducible_and_frame_independent():
    kw = dict(accumulator_word_length=32, quantizer_bits=10, dither_bits=22, seed=12345)
    a, b = NCO(987654321, **kw), NCO(987654321, **kw)
    whole = ints(a(5000))
    parts = sum((ints(p) for p in run_frames(b, 5000, [1, 2, 700, 701, 4999])), [])
    assert whole == parts
    a.reset()
    assert ints(a(5000)) == whole
    other = NCO(987654321, **{**kw, "seed": 54321})
    assert ints(other(5000)) != whole  # a different seed dithers differently
    plain = NCO(987654321, **{**kw, "dither_bits": 0})
    assert ints(plain(5000)) != whole


# -- double mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize("W,inc,off", [(16, 1000, 0), (32, 0x12345679, 2 ** 30), (64, 2 ** 61 + 3, 7),
                                       (24, -4097, 5)])
def test_double_matches_numpy_of_the_ideal_phase(W, inc, off):
    n = 3000
    phi = np.array([float(p) for p in ideal_phase(n, inc, off % 2 ** W, W)]) / 2.0 ** W
    for wf in ("sin", "cos", "sincos", "complex"):
        nco = NCO(inc, phase_offset=off, accumulator_word_length=W, waveform=wf,
                  output_type="double")
        parts = run_frames(nco, n, [10, 11, 1500])
        if wf == "sin":
            np.testing.assert_allclose(np.concatenate(parts), np.sin(2 * np.pi * phi),
                                       rtol=0, atol=1e-13)
        elif wf == "cos":
            np.testing.assert_allclose(np.concatenate(parts), np.cos(2 * np.pi * phi),
                                       rtol=0, atol=1e-13)
        elif wf == "sincos":
            np.testing.assert_allclose(np.concatenate([p[0] for p in parts]),
                                       np.sin(2 * np.pi * phi), rtol=0, atol=1e-13)
            np.testing.assert_allclose(np.concatenate([p[1] for p in parts]),
                                       np.cos(2 * np.pi * phi), rtol=0, atol=1e-13)
        else:
            np.testing.assert_allclose(np.concatenate(parts), np.exp(2j * np.pi * phi),
                                       rtol=0, atol=1e-13)


@pytest.mark.parametrize("W,Q,D,T,lut", [(16, 10, 0, "sfix16_En14", "quarter"),
                                         (32, 12, 4, "sfix16_En15", "full"),
                                         (24, 8, 16, "sfix10_En8", "quarter"),
                                         (20, 20, 0, "sfix18_En16", "quarter"),
                                         (40, 14, 26, "sfix24_En22", "quarter")])
def test_fixed_stays_within_the_documented_error_bound(W, Q, D, T, lut):
    T = numerictype.parse(T)
    kw = dict(phase_offset=12345, accumulator_word_length=W, quantizer_bits=Q,
              dither_bits=D, seed=9, lut=lut, waveform="sincos")
    inc = 0x9E3779B9 % 2 ** W | 1
    fx_nco, db_nco = NCO(inc, output_type=T, **kw), NCO(inc, output_type="double", **kw)
    (s, c), (sd, cd) = fx_nco(20000), db_nco(20000)
    # phase truncation + dither (|d sin| <= |d phi|) + one LSB of table quantization
    bound = 2 * math.pi * (2 ** (W - Q) - 1 + 2 ** D - 1) / 2 ** W + 2.0 ** -T.fraction_length
    err = max(np.max(np.abs(s.data - sd)), np.max(np.abs(c.data - cd)))
    assert err <= bound
    assert err <= fx_nco.max_error + 1e-15 <= bound + 1e-15
    assert err > 0.3 * (fx_nco.max_error - 2.0 ** -T.fraction_length)  # the bound is not lax


def sfdr_db(y: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(y)) ** 2
    spec[0] = 0.0
    k = int(np.argmax(spec))
    carrier = spec[k]
    spec[k] = 0.0
    return 10 * np.log10(carrier / spec.max())


@pytest.mark.parametrize("Q", [6, 8, 10])
def test_phase_truncation_spurs_follow_6dB_per_bit(Q):
    """A whole accumulator period (coherent: no window, no leakage), a large table word:
    the worst spur is the phase-truncation spur at about -6.02 Q + 3.92 dBc."""
    W = 16
    nco = NCO(4321, accumulator_word_length=W, quantizer_bits=Q, output_type="sfix24_En22")
    sfdr = sfdr_db(nco(2 ** W).data)
    assert 6.02 * Q - 3.92 - 1.0 <= sfdr <= 6.02 * Q + 6.0
    dithered = NCO(4321, accumulator_word_length=W, quantizer_bits=Q, dither_bits=W - Q,
                   seed=1, output_type="sfix24_En22")
    assert sfdr_db(dithered(2 ** W).data) > sfdr + 6.0  # dither spreads the spurs


# -- probes, intervals, errors --------------------------------------------------------------------
def test_probes_and_interval():
    events = []
    nco = NCO(1000, accumulator_word_length=16, quantizer_bits=8, waveform="sincos", name="lo")
    with signal_listening(events.append):
        s, c = nco(100)
    by = {e.name: e for e in events}
    assert set(by) == {"lo.phase", "lo.sin", "lo.cos"}
    acc = np.arange(100) * 1000 % 2 ** 16
    np.testing.assert_array_equal(by["lo.phase"].values, acc / 2 ** 16)
    q = (acc >> 8) / 2 ** 8
    np.testing.assert_allclose(by["lo.sin"].values, np.sin(2 * np.pi * q), atol=1e-15)
    assert by["lo.sin"].numerictype == s.numerictype
    ranges = []
    with range_listening(ranges.append):
        out = nco(Interval(np.zeros(7)))
    assert isinstance(out, tuple) and out[0].size == 7
    lo, hi = nco.worst_case_output_range()
    assert (lo, hi) == (-1.0, 1.0)  # sfix16_En14 holds +-1 exactly
    assert {r.name for r in ranges} == {"lo.phase", "lo.sin", "lo.cos"}
    assert nco(3)[0].size == 3 and ints(nco.table)[0] == 0  # the interval call kept the state


def test_type_table():
    T = fx.TypeTable({"o.out": "sfix12_En10"})
    assert NCO(5, name="o", types=T)(3).numerictype == numerictype(True, 12, 10)
    d = NCO(5, name="o", types=T.as_double())(3)
    assert isinstance(d, np.ndarray) and d.dtype == np.float64
    # the probed names work too (a table proposed by the tool names sin and cos)
    T2 = fx.TypeTable({"o.sin": "sfix10_En8", "o.cos": "sfix10_En8", "o.phase": "ufix16_En16"})
    assert NCO(5, name="o", types=T2, waveform="cos")(3).numerictype == numerictype(True, 10, 8)
    with pytest.raises(ValueError, match="o.sin sfix10_En8 and o.cos sfix12_En8"):
        NCO(5, name="o", types=fx.TypeTable({"o.sin": "sfix10_En8", "o.cos": "sfix12_En8"}))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="accumulator_word_length=65"):
        NCO(1, accumulator_word_length=65)
    with pytest.raises(ValueError, match="quantizer_bits=17"):
        NCO(1, accumulator_word_length=16, quantizer_bits=17)
    with pytest.raises(ValueError, match="dither_bits=-1"):
        NCO(1, dither_bits=-1)
    with pytest.raises(ValueError, match="lut='half'"):
        NCO(1, lut="half")
    with pytest.raises(ValueError, match="waveform='tan'"):
        NCO(1, waveform="tan")
    with pytest.raises(TypeError, match="phase_increment must be an integer"):
        NCO(0.25)
    with pytest.raises(ValueError, match="non-negative integer"):
        NCO(1)(-3)
    with pytest.raises(ValueError, match="wrap_sm"):
        NCO(1, output_type="ufix16_En15", overflow="wrap_sm")


@pytest.mark.parametrize("lut", ["quarter", "full"])
def test_table_wider_than_float64_is_still_exact(lut):
    """A 58-bit fraction is beyond float64's 53-bit sines: every entry is re-evaluated (55
    digits) and still equals the correctly quantized exact sine in every rounding mode."""
    T = numerictype(True, 60, 58)
    Q = 8
    size = 2 ** (Q - 2) + 1 if lut == "quarter" else 2 ** Q
    float_table = np.sin(2 * np.pi * np.arange(size) / 2 ** Q)
    for rounding in ("floor", "nearest", "convergent", "ceil"):
        nco = NCO(1, accumulator_word_length=Q, quantizer_bits=Q, lut=lut, output_type=T,
                  rounding=rounding)
        want = [qsin(k, Q, T, rounding, "saturate") for k in range(size)]
        assert ints(nco.table) == want, rounding
        naive = [int(v) for v in fx.fi(float_table, T, rounding=rounding).int]
        assert naive != want  # float64 sines alone would have been wrong here


@given(nco_cases(), st.data())
def test_per_sample_increments_match_reference(c, data):
    """Frequency modulation: an integer array gives each sample's phase increment."""
    W = c["W"]
    incs = data.draw(st.lists(st.integers(-2 ** W, 2 ** W - 1), min_size=c["n"],
                              max_size=c["n"]))
    nco = NCO(c["inc"], phase_offset=c["off"], accumulator_word_length=W,
              quantizer_bits=c["Q"], dither_bits=c["D"], seed=c["seed"], lut=c["lut"],
              waveform="sincos", output_type=c["T"], rounding=c["rounding"],
              overflow=c["overflow"])
    edges = [0, *sorted(c["cuts"]), c["n"]]
    parts = [nco(np.array(incs[a:b], dtype=object)) for a, b in itertools.pairwise(edges)]
    want_s, want_c = nco_reference_fm(incs, c["off"] % 2 ** W, W, c["Q"], c["D"], c["seed"],
                                      c["T"], c["rounding"], c["overflow"], c["lut"])
    assert sum((ints(p[0]) for p in parts), []) == want_s
    assert sum((ints(p[1]) for p in parts), []) == want_c


def test_per_sample_increments_int64_fi_and_double():
    rng = np.random.default_rng(2)
    incs = rng.integers(-3000, 3000, 500)
    a = NCO(0, accumulator_word_length=16, quantizer_bits=10, waveform="sin")
    b = NCO(0, accumulator_word_length=16, quantizer_bits=10, waveform="sin")
    via_fi = b(fx.fi.from_int(incs, numerictype(True, 16, 0)))
    assert ints(a(incs)) == ints(via_fi)
    d = NCO(0, accumulator_word_length=16, output_type="double")
    phi = np.concatenate([[0], np.cumsum(incs)[:-1]]) % 2 ** 16
    np.testing.assert_allclose(d(incs), np.sin(2 * np.pi * phi / 2 ** 16), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="fraction length 0"):
        a(fx.fi([1.5], 1, 16, 4))
    with pytest.raises(ValueError, match="1-D array of integers"):
        a(np.array([0.5, 1.0]))
    assert a(np.array([], dtype=np.int64)).size == 0


def test_count_inside_derive_returns_the_interval_and_keeps_the_phase():
    """Bug: lo = nco(len(x)) inside a function under fx.tool.derive ran the real NCO: the
    phase advanced by len(x) (derive changed the state), 'lo.sin'/'lo.phase' had no derived
    range, and the mixer's bound came from one frame's samples only (over 8 frames at
    x = 1 - 2**-15: mix 0.99997 vs derived 0.99106). While derive listens a count (or an
    increment array) now returns the worst-case Interval, typed as the run's fi."""
    T = fx.TypeTable({"x": "sfix16_En15", "mix": "sfix32_En29", "y": "sfix16_En14"})
    kw = dict(accumulator_word_length=16, quantizer_bits=12, output_type="sfix16_En14",
              name="lo")
    nco, twin = NCO(3000, **kw), NCO(3000, **kw)
    nco(5)
    twin(5)

    def fn(x, T):
        return T.y(T.mix(T.x(x) * nco(len(x))))

    d = fx.tool.derive(fn, (-1, 1), T, shape=16)
    assert np.array_equal(nco(7).data, twin(7).data)        # the phase did not move
    assert "lo.sin" in d and "lo.phase" in d
    fresh = NCO(3000, **kw)

    def run(x, T):
        return T.y(T.mix(T.x(x) * fresh(len(x))))

    with fx.tool.record() as rec:
        for _ in range(8):
            run(np.ones(16) * (1 - 2 ** -15), T)
    for name in ("mix", "lo.sin"):
        assert d[name].lo <= rec[name].min and rec[name].max <= d[name].hi, name
    # an increment array is answered the same way, without moving the state
    with range_listening(lambda e: None):
        out = nco(np.array([3000, 3000, 6000]))
    assert isinstance(out, Interval) and out.size == 3
    assert np.array_equal(nco(4).data, twin(4).data)
