"""Independent review of four DSP blocks: NCO, CORDIC, FFT and the pruned CIC decimator (plus
the CIC interpolator). The references below are plain Python-int / Fraction / mpmath models
written from the documented semantics (docs/signal-cic-nco.md, docs/signal-cordic-fft.md and
the block docstrings) only, not from fixsim's kernels or its other tests. Each test compares
fixsim's stored integers and types with the reference, exactly, on seeded random
configurations (word and fraction lengths, every accepted rounding and overflow mode, extreme
inputs, frame splits)."""

from __future__ import annotations

import functools
import math
import random
from fractions import Fraction

import mpmath
import numpy as np

from fixsim import fi, numerictype
from fixsim.signal import (
    FFT,
    NCO,
    CICDecimator,
    CICInterpolator,
    cordic_abs,
    cordic_atan2,
    cordic_rotate,
    cordic_sincos,
)

RND = ("floor", "ceil", "zero", "nearest", "round", "convergent", "half_down", "half_zero",
       "convergent_odd")
OVF = ("saturate", "wrap", "sat_zero", "sat_sym", "wrap_sm")


# == rounding and overflow (fixsim's documented mode semantics) ==================================
def rnd_shift(v: int, d: int, mode: str) -> int:
    """Round the exact value ``v / 2**d`` to an integer (``d <= 0``: exact ``v << -d``)."""
    if d <= 0:
        return v << -d
    fl = v >> d
    rem = v - (fl << d)
    if rem == 0:
        return fl
    half = 1 << (d - 1)
    if mode == "floor":
        return fl
    if mode == "ceil":
        return fl + 1
    if mode == "zero":
        return fl + (1 if v < 0 else 0)
    if rem != half:
        return fl + (1 if rem > half else 0)
    tie = {"nearest": 1, "round": 1 if v > 0 else 0, "convergent": fl & 1, "half_down": 0,
           "half_zero": 0 if v > 0 else 1, "convergent_odd": 1 - (fl & 1)}
    return fl + tie[mode]


def ovf(n: int, signed: bool, W: int, mode: str, fl: int | None = None) -> int:
    """Overflow handling of the rounded integer n into a W-bit (un)signed word (``wrap_sm``
    takes its sign bit from bit W of the floor *fl* of the exact value, as fixsim defines)."""
    lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if signed else (0, (1 << W) - 1)
    if mode == "sat_sym" and signed and n <= lo:
        return lo + 1
    if lo <= n <= hi:
        return n
    if mode in ("saturate", "sat_sym"):
        return hi if n > hi else lo
    if mode == "sat_zero":
        return 0
    mask = (1 << W) - 1
    r = n & mask
    if mode == "wrap_sm":
        sbit = ((n if fl is None else fl) >> W) & 1
        if sbit != (r >> (W - 1)) & 1:
            r = ~r & mask
        r = (r & (mask >> 1)) | (sbit << (W - 1))
    if signed and r >> (W - 1):
        r -= 1 << W
    return r


def cast(v: int, d: int, T: numerictype, r: str, o: str) -> int:
    """Stored integer of ``v * 2**-(T.F + d)`` in T with rounding r and overflow o."""
    v = int(v)
    return ovf(rnd_shift(v, d, r), T.signed, T.word_length, o, rnd_shift(v, d, "floor"))


def cast_into(v: int, src: numerictype, dst: numerictype, r: str, o: str) -> int:
    """The documented input casts: into *dst* when the types differ (none otherwise)."""
    if src == dst:
        return v
    return cast(v, src.fraction_length - dst.fraction_length, dst, r, o)


def wrap(v: int, W: int) -> int:
    return ovf(v, True, W, "wrap")


GUARD = 80


def irr_fixed(x: mpmath.mpf, F: int) -> tuple[int, int]:
    """An irrational x as ``(v, d)`` with ``v / 2**d`` strictly inside the same open
    2**-(F + GUARD) cell as x and never on a rounding decision point (v odd)."""
    fl = int(mpmath.floor(x * mpmath.mpf(2) ** (F + GUARD)))
    return 2 * fl + 1, GUARD + 1


def rand_type(rng: random.Random, wmin=2, wmax=24, fspan=4, signed=None) -> numerictype:
    W = rng.randint(wmin, wmax)
    s = rng.random() < 0.8 if signed is None else signed
    return numerictype(s, W, rng.randint(-fspan, W + fspan))


def rand_ints(rng: random.Random, T: numerictype, n: int) -> list[int]:
    W = T.word_length
    lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if T.signed else (0, (1 << W) - 1)
    pool = [lo, hi, 0, lo + 1, hi - 1]
    return [rng.choice(pool) if rng.random() < 0.25 else rng.randint(lo, hi) for _ in range(n)]


def mkfi(ints, T) -> fi:
    return fi.from_int(np.array(ints, dtype=np.int64), T)


def ints_of(a: fi) -> list[int]:
    return [int(v) for v in np.ravel(a.int)]


# == NCO =========================================================================================
MASK64 = (1 << 64) - 1


def splitmix(seed: int, i: int) -> int:
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def nco_table(Q: int, T: numerictype, r: str, o: str, lut: str) -> list[int]:
    """T(k), k = 0 .. 2**Q - 1, as documented (full, or quarter mirrored and negated, the
    negation cast by the overflow mode)."""
    mpmath.mp.prec = T.fraction_length + GUARD + 64

    def q(k: int) -> int:  # quantized exact sin(2 pi k / 2**Q)
        k %= 1 << Q
        if k % (1 << (Q - 2)) == 0:
            exact = (0, 1, 0, -1)[k >> (Q - 2)]
            return cast(exact, -T.fraction_length, T, r, o)
        v, d = irr_fixed(mpmath.sin(2 * mpmath.pi * k / 2 ** Q), T.fraction_length)
        return cast(v, d, T, r, o)

    n = 1 << (Q - 2)
    if lut == "full":
        return [q(k) for k in range(1 << Q)]
    quarter = [q(k) for k in range(n + 1)]
    half = [quarter[k] if k <= n else quarter[2 * n - k] for k in range(2 * n)]
    # the negation is cast into T by the overflow mode where T cannot hold it (unsigned T, or
    # a +1.0 that wrapped to the most negative value): no rounding, d = 0
    return half + [cast(-v, 0, T, r, o) for v in half]


def nco_ref(incs: list[int], W: int, Q: int, D: int, seed: int, offset: int, table,
            start: int = 0, acc: int = 0):
    """(sin, cos) stored integers of samples start .. start + len(incs) - 1."""
    s, c = [], []
    for i, inc in enumerate(incs):
        d = (splitmix(seed % (1 << 64), start + i) >> (64 - D)) if D else 0
        p = (acc + offset + d) % (1 << W)
        qa = p >> (W - Q)
        s.append(table[qa])
        c.append(table[(qa + (1 << (Q - 2))) % (1 << Q)])
        acc = (acc + inc) % (1 << W)
    return s, c


def _nco_config(rng: random.Random):
    W = rng.choice([rng.randint(2, 20), rng.randint(20, 64)])
    lut = rng.choice(["quarter", "full"])
    Q = rng.randint(2, min(W, 10))
    D = rng.choice([0, 0, rng.randint(1, W)])
    T = numerictype(rng.random() < 0.9, rng.randint(2, 24), 0)
    T = numerictype(T.signed, T.word_length, rng.randint(-2, T.word_length + 2))
    r = rng.choice(RND)
    o = rng.choice([m for m in OVF if T.signed or m != "wrap_sm"])
    inc = rng.choice([rng.randint(-(1 << W), 1 << W), 1, (1 << W) - 1, 1 << (W - 1)])
    off = rng.randint(-(1 << W), 1 << W)
    return W, lut, Q, D, T, r, o, inc, off, rng.randint(-(1 << 70), 1 << 70)


def run_nco_case(rng: random.Random):
    W, lut, Q, D, T, r, o, inc, off, seed = _nco_config(rng)
    kw = dict(phase_offset=off, accumulator_word_length=W, quantizer_bits=Q, dither_bits=D,
              seed=seed, lut=lut, waveform="sincos", output_type=T, rounding=r, overflow=o)
    nco = NCO(inc, **kw)
    table = nco_table(Q, T, r, o, lut)
    n = rng.randint(1, 40)
    s_ref, c_ref = nco_ref([inc] * n, W, Q, D, seed, off, table)
    # frames: counts, then a frequency-modulated frame of explicit increments
    got_s, got_c, k = [], [], 0
    while k < n:
        m = rng.randint(0, n - k)
        s, c = nco(m)
        got_s += ints_of(s)
        got_c += ints_of(c)
        assert s.numerictype == T and c.numerictype == T
        k += m
    fm = [rng.randint(-(1 << W), (1 << W) - 1) for _ in range(rng.randint(1, 20))]
    s2_ref, c2_ref = nco_ref(fm, W, Q, D, seed, off, table, start=n, acc=(n * inc) % (1 << W))
    s2, c2 = nco(np.array(fm, dtype=object if W >= 62 else np.int64))
    return (got_s, got_c, ints_of(s2), ints_of(c2)), (s_ref, c_ref, s2_ref, c2_ref), kw, inc


def test_nco_against_reference():
    rng = random.Random(20240611)
    for _ in range(120):
        got, ref, kw, inc = run_nco_case(rng)
        assert got == ref, (inc, kw)


def test_nco_table_is_documented_table():
    rng = random.Random(7)
    for _ in range(40):
        W, lut, Q, D, T, r, o, inc, off, seed = _nco_config(rng)
        nco = NCO(inc, accumulator_word_length=W, quantizer_bits=Q, lut=lut, output_type=T,
                  rounding=r, overflow=o)
        ref = nco_table(Q, T, r, o, lut)
        stored = ints_of(nco.table)
        if lut == "full":
            assert stored == ref
        else:
            assert stored == ref[:(1 << (Q - 2)) + 1]


def test_nco_waveforms_and_defaults():
    nco = NCO(12345, accumulator_word_length=24)  # Q = 12, sfix16_En14, nearest/saturate
    table = nco_table(12, numerictype(True, 16, 14), "nearest", "saturate", "quarter")
    s_ref, c_ref = nco_ref([12345] * 50, 24, 12, 0, 0, 0, table)
    assert ints_of(nco(50)) == s_ref
    for wf in ("cos", "sincos", "complex"):
        out = NCO(12345, accumulator_word_length=24, waveform=wf)(50)
        if wf == "cos":
            assert ints_of(out) == c_ref
        elif wf == "sincos":
            assert (ints_of(out[0]), ints_of(out[1])) == (s_ref, c_ref)
        else:
            assert (ints_of(out[0]), ints_of(out[1])) == (c_ref, s_ref)


def test_nco_quarter_table_negation_out_of_range():
    # regression (independent review): under overflow='wrap' with 1.0 not representable,
    # T(2**(Q-2)) wraps to the most negative value and its plain negation (+128 in an
    # sfix8_En7 fi) was out of range; the negation is now cast by the overflow mode, which
    # gives what the full table gives (-1.0 is representable: stored -128)
    T = numerictype(True, 8, 7)
    kw = dict(accumulator_word_length=16, quantizer_bits=4, output_type=T, overflow="wrap",
              waveform="sin")
    s = ints_of(NCO(1 << 14, **kw)(4))  # phases 0, 1/4, 1/2, 3/4 cycle
    assert s == [0, -128, 0, -128]
    assert s == ints_of(NCO(1 << 14, lut="full", **kw)(4))
    for o in ("wrap", "wrap_sm", "saturate", "sat_sym", "sat_zero"):
        nco = NCO(1 << 12, accumulator_word_length=16, quantizer_bits=4, output_type=T,
                  overflow=o, waveform="sin")
        vals = ints_of(nco(16))
        assert all(-128 <= v <= 127 for v in vals), (o, vals)
        assert vals == nco_ref([1 << 12] * 16, 16, 4, 0, 0, 0,
                               nco_table(4, T, "nearest", o, "quarter"))[0], o


def test_nco_quarter_table_unsigned_output_out_of_range():
    # regression (independent review): with an unsigned output type the quarter table's
    # negated half-cycle gave negative stored integers in an unsigned fi; they are now cast by
    # the overflow mode (saturate: 0, as the full table gives; wrap: modulo 2**W)
    kw = dict(accumulator_word_length=16, quantizer_bits=6, output_type="ufix8_En7")
    s = ints_of(NCO(1 << 12, **kw)(16))
    assert all(0 <= v <= 255 for v in s), s
    assert s == ints_of(NCO(1 << 12, lut="full", **kw)(16))
    assert min(s[8:]) == 0 and max(s[:8]) == 128  # sin(pi/2) = 1.0 = stored 128 in Q1.7
    w = ints_of(NCO(1 << 12, overflow="wrap", **kw)(16))
    assert all(0 <= v <= 255 for v in w) and w[12] == 256 - 128  # -1.0 wraps to 1.0


def test_nco_full_and_quarter_tables_under_directed_rounding():
    # the documented difference (the review found the old docstring's "never" false): under
    # floor and ceil the two tables agree on the first half-cycle and differ at every entry
    # of the second that is not a whole number of LSBs, by one LSB (floor(-v) = -floor(v) - 1)
    for r, step in (("floor", -1), ("ceil", 1)):
        kw = dict(accumulator_word_length=4, quantizer_bits=4, rounding=r,
                  output_type="sfix8_En6")
        full = ints_of(NCO(1, lut="full", **kw)(16))
        quarter = ints_of(NCO(1, lut="quarter", **kw)(16))
        assert full[:8] == quarter[:8], r
        for k in range(8, 16):
            if k % 4:  # irrational sin(2 pi k / 16)
                assert full[k] - quarter[k] == step, (r, k)
            else:
                assert full[k] == quarter[k], (r, k)


# == CIC =========================================================================================
def conv(a: list[int], b: list[int]) -> list[int]:
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def cic_fir(R: int, M: int, N: int) -> list[int]:
    h = [1]
    for _ in range(N):
        h = conv(h, [1] * (R * M))
    return h


def width_of(T: numerictype) -> int:
    return T.word_length + (0 if T.signed else 1)


def ceil_log2_ratio(num: int, den: int = 1) -> int:
    g = 0
    while (1 << g) * den < num:
        g += 1
    return g


def hogenauer_bits(R: int, M: int, N: int, Wreg: int, b_out: int) -> list[int]:
    """B_j for j = 1..2N from the documented formula (exact), clamped and non-decreasing."""
    RM = R * M
    raw = []
    for j in range(1, 2 * N + 1):
        if j <= N:  # (1 - z^-RM)^N / (1 - z^-1)^(N-j+1) = boxcar(RM)^(N-j+1) (1 - z^-RM)^(j-1)
            h = [1]
            for _ in range(N - j + 1):
                h = conv(h, [1] * RM)
            for _ in range(j - 1):
                h = conv(h, [1] + [0] * (RM - 1) + [-1])
        else:  # combs j..2N at the low rate (spacing M does not change the energy)
            h = [1]
            for _ in range(2 * N + 1 - j):
                h = conv(h, [1, -1])
        f2 = sum(c * c for c in h)
        # floor(b_out - log2(F_j) - log2(2N)/2) = largest B with 4**(b_out - B) >= 2 N F_j^2
        B = b_out
        while Fraction(4) ** (b_out - B) < 2 * N * f2:
            B -= 1
        while Fraction(4) ** (b_out - B - 1) >= 2 * N * f2:
            B += 1
        raw.append(B)
    out, prev = [], 0
    for b in raw:
        prev = min(max(b, prev, 0), Wreg - 1)
        out.append(prev)
    return out


class CicDecRef:
    """Per-sample decimator with every register explicitly wrapped to its (pruned) width."""

    def __init__(self, R, M, N, Tin, Tcast, Tout, bits, r, o, phase=0, cast_input=False):
        self.cast_input = cast_input
        self.R, self.M, self.N, self.r, self.o = R, M, N, r, o
        self.Tcast, self.Tout = Tcast, Tout
        self.Wreg = width_of(Tcast) + ceil_log2_ratio((R * M) ** N)
        self.B = bits
        self.W = [self.Wreg - b for b in bits]
        self.integ = [0] * N
        self.delay = [[0] * M for _ in range(N)]
        self.n = 0
        self.phase = phase
        self.Tin = Tin

    def step(self, xs: list[int]) -> tuple[list[int], list[int]]:
        N, B, W = self.N, self.B, self.W
        out, last = [], []
        for x in xs:
            if self.cast_input:
                x = cast(x, self.Tin.fraction_length - self.Tcast.fraction_length, self.Tcast,
                         self.r, self.o)
            v, prevB = x, 0
            for j in range(N):
                v = wrap(self.integ[j] + (v >> (B[j] - prevB)), W[j])
                self.integ[j] = v
                prevB = B[j]
            if self.n >= self.phase and (self.n - self.phase) % self.R == 0:
                for j in range(N):
                    u = v >> (B[N + j] - prevB)
                    prevB = B[N + j]
                    dl = self.delay[j]
                    v = wrap(u - dl[0], W[N + j])
                    dl.pop(0)
                    dl.append(u)
                last.append(v)
                Fl = self.Tcast.fraction_length - B[-1]
                out.append(v if self.Tout is None else
                           cast(v, Fl - self.Tout.fraction_length, self.Tout, self.r, self.o))
            self.n += 1
        return out, last


def _cic_dec_config(rng: random.Random):
    R = rng.choice([1, 2, 3, 4, 5, 8, 16, 20, rng.randint(2, 40)])
    M = rng.choice([1, 1, 2, 3])
    N = rng.randint(1, 6)
    Tin = rand_type(rng, 2, 20, fspan=3)
    Tcast = None if rng.random() < 0.7 else rand_type(rng, 2, 20, fspan=3)
    Tx = Tcast or Tin
    Wreg = width_of(Tx) + ceil_log2_ratio((R * M) ** N)
    mode = rng.choice(["full", "wout", "type", "type_pruned", "wout_unpruned"])
    kw = dict(input_type=Tcast, rounding=rng.choice(RND),
              overflow=rng.choice(OVF if (Tcast is None or Tcast.signed) else OVF[:4]),
              phase=rng.randrange(R))
    Tout = None
    if mode in ("wout", "wout_unpruned"):
        Wout = rng.randint(2, Wreg + 2)
        kw["output_word_length"] = Wout
        Tout = numerictype(True, Wout, Tx.fraction_length - (Wreg - Wout))
        if mode == "wout_unpruned":
            kw["pruning"] = False
    elif mode in ("type", "type_pruned"):
        Tout = rand_type(rng, 2, Wreg + 2, fspan=0)
        Tout = numerictype(Tout.signed, Tout.word_length,
                           Tx.fraction_length - rng.randint(-3, Wreg + 3))
        if Tout.signed is False and kw["overflow"] == "wrap_sm":
            kw["overflow"] = "wrap"
        kw["output_type"] = Tout
        kw["pruning"] = mode == "type_pruned"
    pruning = kw.get("pruning", "output_word_length" in kw)
    b_out = Tx.fraction_length - Tout.fraction_length if Tout is not None else 0
    bits = hogenauer_bits(R, M, N, Wreg, b_out) if pruning else [0] * (2 * N)
    return R, M, N, Tin, Tx, Tout, bits, kw, Wreg


def run_cic_dec_case(rng: random.Random, n_max=150):
    R, M, N, Tin, Tx, Tout, bits, kw, Wreg = _cic_dec_config(rng)
    cic = CICDecimator(R, M, N, **kw)
    ToutR = Tout or numerictype(True, Wreg - bits[-1], Tx.fraction_length - bits[-1])
    ref = CicDecRef(R, M, N, Tin, Tx, Tout, bits, kw["rounding"], kw["overflow"], kw["phase"],
                    kw["input_type"] is not None)
    sec = cic.section_types(Tx)
    assert [T.word_length for T in sec] == [Wreg - b for b in bits], kw
    assert [T.fraction_length for T in sec] == [Tx.fraction_length - b for b in bits], kw
    assert all(T.signed for T in sec)
    assert cic.output_type(Tx) == ToutR
    x = rand_ints(rng, Tin, rng.randint(0, n_max))
    if rng.random() < 0.3:  # a held extreme
        lo = -(1 << (Tin.word_length - 1)) if Tin.signed else (1 << Tin.word_length) - 1
        x = [lo] * len(x)
    got, k = [], 0
    while k < len(x) or k == 0:
        m = rng.randint(0, len(x) - k)
        y = cic(mkfi(x[k:k + m], Tin))
        assert y.numerictype == ToutR
        got += ints_of(y)
        k += m
        if k >= len(x):
            break
    want, _ = ref.step(x)
    return got, want, (R, M, N, str(Tin), kw, bits)


def test_cic_decimator_against_reference():
    rng = random.Random(1981)
    for _ in range(150):
        got, want, cfg = run_cic_dec_case(rng)
        assert got == want, cfg


def test_cic_decimator_wide_registers_python_path():
    rng = random.Random(64)
    for R, M, N, Win, Wout in [(1024, 1, 6, 16, 20), (512, 2, 5, 24, 24), (300, 1, 7, 16, 12)]:
        Tin = numerictype(True, Win, Win - 1)
        cic = CICDecimator(R, M, N, output_word_length=Wout)
        Wreg = Win + ceil_log2_ratio((R * M) ** N)
        assert Wreg > 64
        bits = hogenauer_bits(R, M, N, Wreg, Wreg - Wout)
        Tout = numerictype(True, Wout, Tin.fraction_length - (Wreg - Wout))
        ref = CicDecRef(R, M, N, Tin, Tin, Tout, bits, "floor", "wrap")
        x = rand_ints(rng, Tin, 3 * R + 7)
        got = ints_of(cic(mkfi(x[:R + 3], Tin))) + ints_of(cic(mkfi(x[R + 3:], Tin)))
        assert got == ref.step(x)[0]
        unpruned = CICDecimator(R, M, N, pruning=False, output_type=Tout)
        ref2 = CicDecRef(R, M, N, Tin, Tin, Tout, [0] * (2 * N), "floor", "wrap")
        assert ints_of(unpruned(mkfi(x, Tin))) == ref2.step(x)[0]


def test_cic_decimator_unpruned_equals_exact_fir():
    """Documented: wrapping registers, but the full-precision output is exactly
    sum h[k] x[n - k] with h = boxcar(R M)**N."""
    rng = random.Random(3)
    for _ in range(40):
        R, M, N = rng.randint(1, 9), rng.randint(1, 3), rng.randint(1, 5)
        Tin = rand_type(rng, 2, 16)
        h = cic_fir(R, M, N)
        x = rand_ints(rng, Tin, rng.randint(1, 80))
        if rng.random() < 0.5:
            x = [min(x) if rng.random() < 0.5 else max(x)] * len(x)
        ph = rng.randrange(R)
        y = CICDecimator(R, M, N, phase=ph)(mkfi(x, Tin))
        want = [sum(h[k] * x[n - k] for k in range(len(h)) if 0 <= n - k)
                for n in range(ph, len(x), R)]
        assert ints_of(y) == want
        assert y.word_length == width_of(Tin) + ceil_log2_ratio((R * M) ** N)


def test_cic_documented_matlab_example_and_pruning_rule():
    cic = CICDecimator(20, 1, 2, output_word_length=16, input_type="sfix16_En15")
    Wreg = 16 + ceil_log2_ratio(400)
    bits = hogenauer_bits(20, 1, 2, Wreg, Wreg - 16)
    assert cic.pruned_bits() == bits == [1, 5, 6, 7]
    assert cic.section_word_lengths == [24, 20, 19, 18]


class CicIntRef:
    def __init__(self, R, M, N, Tin, Tout, r, o):
        self.R, self.M, self.N, self.r, self.o, self.Tout = R, M, N, r, o, Tout
        Win = width_of(Tin)
        self.F = Tin.fraction_length
        RM = R * M
        self.W = [Win + j for j in range(1, N + 1)] + [
            Win + ceil_log2_ratio((1 << (2 * N - j)) * RM ** (j - N), R)
            for j in range(N + 1, 2 * N + 1)]
        self.delay = [[0] * M for _ in range(N)]
        self.integ = [0] * N
        self.overflowed = False

    def reg(self, v: int, W: int) -> int:
        w = wrap(v, W)
        self.overflowed |= w != v
        return w

    def step(self, xs):
        N, out, last = self.N, [], []
        for x in xs:
            v = x
            for j in range(N):
                dl = self.delay[j]
                u = v
                v = self.reg(u - dl[0], self.W[j])
                dl.pop(0)
                dl.append(u)
            for k in range(self.R):
                u = v if k == 0 else 0
                for j in range(N):
                    u = self.reg(self.integ[j] + u, self.W[N + j])
                    self.integ[j] = u
                last.append(u)
                out.append(u if self.Tout is None else
                           cast(u, self.F - self.Tout.fraction_length, self.Tout, self.r, self.o))
        return out, last


def test_cic_interpolator_against_reference():
    rng = random.Random(4242)
    for _ in range(80):
        R, M, N = rng.choice([1, 2, 3, 4, 7, 8]), rng.choice([1, 2, 3]), rng.randint(1, 5)
        Tin = rand_type(rng, 2, 18)
        kw = dict(rounding=rng.choice(RND), overflow=rng.choice(OVF[:4]))
        ref_types = CicIntRef(R, M, N, Tin, Tin, "floor", "wrap").W
        Tl = numerictype(True, ref_types[-1], Tin.fraction_length)
        Tout = Tl
        if rng.random() < 0.5:
            Tout = rand_type(rng, 2, 24, fspan=0)
            Tout = numerictype(Tout.signed, Tout.word_length,
                               Tin.fraction_length - rng.randint(-3, 10))
            kw["output_type"] = Tout
        cic = CICInterpolator(R, M, N, **kw)
        assert [T.word_length for T in cic.section_types(Tin)] == ref_types
        ref = CicIntRef(R, M, N, Tin, kw.get("output_type"), kw["rounding"], kw["overflow"])
        x = rand_ints(rng, Tin, rng.randint(1, 60))
        if rng.random() < 0.4:
            ext = rng.sample([min(x), max(x)], 2)
            x = [ext[0] if rng.random() < 0.8 else ext[1] for _ in x]
        cut = rng.randint(0, len(x))
        y1, y2 = cic(mkfi(x[:cut], Tin)), cic(mkfi(x[cut:], Tin))
        want, last = ref.step(x)
        assert y2.numerictype == Tout
        assert ints_of(y1) + ints_of(y2) == want, (R, M, N, str(Tin), kw)
        assert not ref.overflowed  # documented: no interpolator register can overflow
        h = cic_fir(R, M, N)
        up = [0] * (len(x) * R)
        up[::R] = x
        assert last == [sum(h[k] * up[n - k] for k in range(len(h)) if n >= k)
                        for n in range(len(up))]


# == CORDIC ======================================================================================
def nearest_const(x: mpmath.mpf, F: int) -> int:
    v, d = irr_fixed(x, F)
    return rnd_shift(v, d, "nearest")


def inv_gain_int(n: int, T: numerictype) -> int:
    """1/A_n rounded to nearest (exactly, ties up) and saturated into T."""
    prod = Fraction(1)
    for i in range(n):
        prod *= 1 + Fraction(1, 4 ** i)
    F = T.fraction_length
    A4 = Fraction(4) ** (F + 1) / prod  # (2 v)**2, v = 2**F / A_n
    s = math.isqrt(A4.numerator // A4.denominator)  # floor(2 v)
    return ovf((s + 1) // 2, True, T.word_length, "saturate")


@functools.cache
def cordic_consts(n: int, Fz: int):
    mpmath.mp.prec = max(Fz, 0) + GUARD + 64
    table = [nearest_const(mpmath.atan(mpmath.mpf(2) ** -i), Fz) for i in range(n)]
    pi_floor = int(mpmath.floor(mpmath.pi * mpmath.mpf(2) ** Fz))
    half_floor = int(mpmath.floor(mpmath.pi / 2 * mpmath.mpf(2) ** Fz))
    pi_n = nearest_const(mpmath.pi, Fz)
    two_pi_n = nearest_const(2 * mpmath.pi, Fz)
    return table, pi_floor, half_floor, pi_n, two_pi_n


def cordic_rotate_ref(z, x, y, n, Fz, D, o):
    """Quadrant correction and n rotation iterations on ints; returns (x, y) in D."""
    table, pi_fl, half_fl, pi_n, two_pi_n = cordic_consts(n, Fz)
    neg = False
    if z > pi_fl:
        z -= two_pi_n
    elif z < -pi_fl:
        z += two_pi_n
    if z > half_fl:
        z -= pi_n
        neg = True
    elif z < -half_fl:
        z += pi_n
        neg = True
    W = D.word_length
    for i in range(n):
        d = 1 if z > 0 else -1
        x, y = ovf(x - d * (y >> i), True, W, o), ovf(y + d * (x >> i), True, W, o)
        z -= d * table[i]
    if neg:
        x, y = ovf(-x, True, W, o), ovf(-y, True, W, o)
    return x, y


def cordic_vector_ref(x, y, n, Fz, D, o):
    table, _, _, pi_n, _ = cordic_consts(n, Fz)
    W = D.word_length
    z = 0
    if x < 0:
        z = pi_n if y >= 0 else -pi_n
        x, y = ovf(-x, True, W, o), ovf(-y, True, W, o)
    for i in range(n):
        d = 1 if y < 0 else -1
        x, y = ovf(x - d * (y >> i), True, W, o), ovf(y + d * (x >> i), True, W, o)
        z -= d * table[i]
    return x, y, z


def rand_theta(rng: random.Random, T: numerictype, k: int) -> list[int]:
    lim = int(2 * math.pi * 2 ** T.fraction_length)
    lo = max(-lim, -(1 << (T.word_length - 1)))
    hi = min(lim - 1, (1 << (T.word_length - 1)) - 1)
    special = [lo, hi, 0, 1, -1]
    for c in (math.pi, math.pi / 2):
        v = int(math.floor(c * 2 ** T.fraction_length))
        special += [v, v + 1, -v, -v - 1]
    special = [s for s in special if lo <= s <= hi]
    return [rng.choice(special) if rng.random() < 0.3 else rng.randint(lo, hi)
            for _ in range(k)]


def test_cordic_sincos_against_reference():
    rng = random.Random(11)
    for _ in range(60):
        Wt = rng.randint(4, 30)
        Tt = numerictype(True, Wt, rng.randint(max(0, Wt - 6), Wt - 2))
        A = None if rng.random() < 0.6 else numerictype(True, rng.randint(6, 40),
                                                         rng.randint(2, 30))
        if A is not None and A.word_length - A.fraction_length < 4:
            A = numerictype(True, A.fraction_length + 4, A.fraction_length)
        D = None if rng.random() < 0.6 else numerictype(True, rng.randint(3, 40),
                                                         rng.randint(0, 38))
        r, o = rng.choice(RND), rng.choice(OVF)
        Dt = D or numerictype(True, Wt, Wt - 2)
        At = A or Tt
        niters = rng.choice([None, rng.randint(1, 70)])
        n = min(niters or Dt.word_length - 1, Dt.word_length - 1)
        th = rand_theta(rng, Tt, 12)
        s, c = cordic_sincos(mkfi(th, Tt), niters, data_type=D, angle_type=A, rounding=r,
                             overflow=o)
        assert s.numerictype == Dt and c.numerictype == Dt
        x0 = inv_gain_int(n, Dt)
        want_s, want_c = [], []
        for t in th:
            z = cast_into(t, Tt, At, r, o)
            xx, yy = cordic_rotate_ref(z, x0, 0, n, At.fraction_length, Dt, o)
            want_s.append(yy)
            want_c.append(xx)
        assert (ints_of(s), ints_of(c)) == (want_s, want_c), (str(Tt), A, D, r, o, niters, th)


def test_cordic_rotate_against_reference():
    rng = random.Random(12)
    for _ in range(60):
        Wt = rng.randint(4, 24)
        Tt = numerictype(True, Wt, rng.randint(max(0, Wt - 6), Wt - 3))
        Tu = rand_type(rng, 2, 24, fspan=3)
        D = None if rng.random() < 0.6 else numerictype(True, rng.randint(3, 40),
                                                         rng.randint(-2, 36))
        G = None if rng.random() < 0.6 else numerictype(True, rng.randint(2, 20),
                                                         rng.randint(0, 22))
        Y = None if rng.random() < 0.6 else rand_type(rng, 2, 40, signed=True)
        r, o = rng.choice(RND), rng.choice(OVF)
        scale = rng.random() < 0.7
        Dt = D or numerictype(True, Tu.word_length + 2 + (0 if Tu.signed else 1),
                              Tu.fraction_length)
        niters = rng.choice([None, rng.randint(1, 50)])
        n = min(niters or Dt.word_length - 1, Dt.word_length - 1)
        k = 10
        th = rand_theta(rng, Tt, k)
        ure, uim = rand_ints(rng, Tu, k), rand_ints(rng, Tu, k)
        out = cordic_rotate(mkfi(th, Tt), (mkfi(ure, Tu), mkfi(uim, Tu)), niters,
                            scale_output=scale, data_type=D, gain_type=G, output_type=Y,
                            rounding=r, overflow=o)
        Gt = G or numerictype(True, max(Tu.word_length, 2), max(Tu.word_length, 2) - 1)
        Yt = Y or Dt
        g = inv_gain_int(n, Gt)
        want_x, want_y = [], []
        for t, a, b in zip(th, ure, uim, strict=True):
            xx, yy = cordic_rotate_ref(t, cast_into(a, Tu, Dt, r, o), cast_into(b, Tu, Dt, r, o), n,
                                       Tt.fraction_length, Dt, o)
            if scale:
                d = Dt.fraction_length + Gt.fraction_length - Yt.fraction_length
                xx, yy = cast(xx * g, d, Yt, r, o), cast(yy * g, d, Yt, r, o)
            else:
                d = Dt.fraction_length - Yt.fraction_length
                xx, yy = cast(xx, d, Yt, r, o), cast(yy, d, Yt, r, o)
            want_x.append(xx)
            want_y.append(yy)
        assert out[0].numerictype == Yt
        assert (ints_of(out[0]), ints_of(out[1])) == (want_x, want_y), \
            (str(Tt), str(Tu), D, G, Y, r, o, scale, niters)


def test_cordic_atan2_and_abs_against_reference():
    rng = random.Random(13)
    for _ in range(60):
        Tu = rand_type(rng, 3, 24, fspan=3)
        D = None if rng.random() < 0.6 else numerictype(True, rng.randint(3, 40),
                                                         rng.randint(-2, 36))
        A = None if rng.random() < 0.6 else numerictype(True, rng.randint(6, 40),
                                                         rng.randint(0, 34))
        if A is not None and A.word_length - A.fraction_length < 4:
            A = numerictype(True, A.fraction_length + 4, A.fraction_length)
        G = None if rng.random() < 0.6 else numerictype(True, rng.randint(2, 20),
                                                         rng.randint(0, 22))
        Y = None if rng.random() < 0.6 else rand_type(rng, 2, 40, signed=True)
        r, o = rng.choice(RND), rng.choice(OVF)
        scale = rng.random() < 0.7
        Dt = D or numerictype(True, Tu.word_length + 2 + (0 if Tu.signed else 1),
                              Tu.fraction_length)
        At = A or numerictype(True, Tu.word_length, Tu.word_length - 3)
        niters = rng.choice([None, rng.randint(1, 50)])
        n = min(niters or Dt.word_length - 1, Dt.word_length - 1)
        k = 10
        xs, ys = rand_ints(rng, Tu, k), rand_ints(rng, Tu, k)
        ang = cordic_atan2(mkfi(ys, Tu), mkfi(xs, Tu), niters, data_type=D, angle_type=A,
                           rounding=r, overflow=o)
        mag = cordic_abs((mkfi(xs, Tu), mkfi(ys, Tu)), niters, scale_output=scale,
                         data_type=D, gain_type=G, output_type=Y, rounding=r, overflow=o)
        Gt = G or numerictype(True, max(Tu.word_length, 2), max(Tu.word_length, 2) - 1)
        Yt = Y or Dt
        g = inv_gain_int(n, Gt)
        want_z, want_m = [], []
        for a, b in zip(xs, ys, strict=True):
            x0, y0 = cast_into(a, Tu, Dt, r, o), cast_into(b, Tu, Dt, r, o)
            _, _, z = cordic_vector_ref(x0, y0, n, At.fraction_length, Dt, o)
            want_z.append(cast(z, 0, At, r, o))
            xx, _, _ = cordic_vector_ref(x0, y0, n, 0, Dt, o)
            if scale:
                xx = cast(xx * g, Dt.fraction_length + Gt.fraction_length - Yt.fraction_length,
                          Yt, r, o)
            else:
                xx = cast(xx, Dt.fraction_length - Yt.fraction_length, Yt, r, o)
            want_m.append(xx)
        cfg = (str(Tu), D, A, G, Y, r, o, scale, niters)
        assert ang.numerictype == At and mag.numerictype == Yt, cfg
        assert ints_of(ang) == want_z, cfg
        assert ints_of(mag) == want_m, cfg


def test_cordic_documented_examples_and_iteration_error():
    s, c = cordic_sincos(fi(np.pi / 2, 1, 8), 5)
    assert (int(s.int), int(c.int)) == (63, 0)
    th = np.linspace(-6, 6, 201)
    for n in (8, 16, 32):
        assert np.abs(cordic_sincos(th, n)[0] - np.sin(th)).max() <= 2.0 ** -(n - 1)


# == FFT =========================================================================================
@functools.cache
def twiddles(n: int, Tw: numerictype) -> tuple[list[int], list[int]]:
    mpmath.mp.prec = Tw.fraction_length + GUARD + 64
    wr, wi = [], []
    for k in range(n // 2):
        for lst, f, sign in ((wr, mpmath.cos, 1), (wi, mpmath.sin, -1)):
            if (4 * k) % n == 0:  # angle 0 or pi/2: exact
                exact = {0: (1, 0), 1: (0, 1)}[4 * k // n][0 if f is mpmath.cos else 1]
                lst.append(cast(sign * exact, -Tw.fraction_length, Tw, "nearest", "saturate"))
            else:
                v, d = irr_fixed(sign * f(2 * mpmath.pi * k / n), Tw.fraction_length)
                lst.append(cast(v, d, Tw, "nearest", "saturate"))
    return wr, wi


def bitrev(i: int, bits: int) -> int:
    return int(format(i, f"0{bits}b")[::-1], 2) if bits else 0


def fft_ref(re, im, n, scaling, Tw, D, r, o, in_rev=False, out_rev=False, track=None):
    L = n.bit_length() - 1
    wr, wi = twiddles(n, Tw)
    Ft = Tw.fraction_length
    if not in_rev:
        re = [re[bitrev(i, L)] for i in range(n)]
        im = [im[bitrev(i, L)] for i in range(n)]
    re, im = list(re), list(im)
    for s in range(L):
        half = 1 << s
        for g in range(0, n, 2 * half):
            for j in range(half):
                k = j * (n // (2 * half))
                a, b = g + j, g + j + half
                tr = re[b] * wr[k] - im[b] * wi[k]
                ti = re[b] * wi[k] + im[b] * wr[k]
                ar, ai = re[a] << Ft, im[a] << Ft
                d = Ft + scaling[s]
                vals = (ar + tr, ai + ti, ar - tr, ai - ti)
                if track is not None:
                    for v in vals:
                        track.append(rnd_shift(v, d, r))
                re[a], im[a], re[b], im[b] = (cast(v, d, D, r, o) for v in vals)
    if out_rev:
        re = [re[bitrev(i, L)] for i in range(n)]
        im = [im[bitrev(i, L)] for i in range(n)]
    return re, im


def _fft_shape(rng: random.Random, wmax: int, fspan: int):
    """A random size, input type and scaling: ``(n, Tin, scaling argument, shifts per
    stage)``."""
    n = 1 << rng.randint(1, 6)
    L = n.bit_length() - 1
    Tin = rand_type(rng, 2, wmax, fspan=fspan)
    sc = rng.choice([None, "all", [rng.randint(0, 3) for _ in range(L)]])
    scaling = [0] * L if sc is None else ([1] * L if sc == "all" else sc)
    return n, Tin, sc, scaling


def test_fft_against_reference():
    rng = random.Random(99)
    for _ in range(50):
        n, Tin, sc, scaling = _fft_shape(rng, 18, 3)
        Tw = None if rng.random() < 0.5 else numerictype(True, rng.randint(2, 20),
                                                          rng.randint(0, 20))
        D = None if rng.random() < 0.5 else numerictype(True, rng.randint(2, 30),
                                                         rng.randint(-3, 30))
        r, o = rng.choice(RND), rng.choice(OVF)  # the data type is signed: every mode
        kw = dict(scaling=sc, twiddle_type=Tw, data_type=D, rounding=r, overflow=o,
                  input_order=rng.choice(["natural", "bit_reversed"]),
                  output_order=rng.choice(["natural", "bit_reversed"]))
        f = FFT(n, **kw)
        types = f.types(Tin)
        Twt = Tw or numerictype(True, Tin.word_length, Tin.word_length - 2)
        assert types["twiddle"] == Twt
        Dt = types["data"]
        if D is not None:
            assert Dt == D
        else:
            assert Dt.signed and Dt.fraction_length == Tin.fraction_length
        frames = rng.randint(1, 3)
        cplx = rng.random() < 0.6
        xr = [rand_ints(rng, Tin, n) for _ in range(frames)]
        xi = [rand_ints(rng, Tin, n) if cplx else [0] * n for _ in range(frames)]
        Xr = mkfi(xr, Tin)
        out = f((Xr, mkfi(xi, Tin))) if cplx else f(Xr)
        assert out[0].numerictype == Dt and out[1].numerictype == Dt
        for fr in range(frames):
            a = [cast_into(v, Tin, Dt, r, o) for v in xr[fr]]
            b = [cast_into(v, Tin, Dt, r, o) for v in xi[fr]] if cplx else [0] * n
            wre, wim = fft_ref(a, b, n, scaling, Twt, Dt, r, o,
                               kw["input_order"] == "bit_reversed",
                               kw["output_order"] == "bit_reversed")
            got_r = [int(v) for v in np.asarray(out[0].int).reshape(frames, n)[fr]]
            got_i = [int(v) for v in np.asarray(out[1].int).reshape(frames, n)[fr]]
            assert (got_r, got_i) == (wre, wim), (n, str(Tin), kw)


def test_fft_default_data_type_never_overflows():
    """Documented: the default data type holds every stage for a complex full-scale input."""
    rng = random.Random(5)
    for _ in range(25):
        n, Tin, sc, scaling = _fft_shape(rng, 16, 2)
        r = rng.choice(RND)
        f = FFT(n, scaling=sc, rounding=r)
        T = f.types(Tin)
        Dt, Twt = T["data"], T["twiddle"]
        lo = -(1 << (Tin.word_length - 1)) if Tin.signed else 0
        hi = (1 << (Tin.word_length - 1)) - 1 if Tin.signed else (1 << Tin.word_length) - 1
        for trial in range(4):
            if trial == 0:
                xr, xi = [lo] * n, [lo] * n
            elif trial == 1:  # the worst-case |Re| of bin 0 and of others, roughly
                xr = [rng.choice([lo, hi]) for _ in range(n)]
                xi = [rng.choice([lo, hi]) for _ in range(n)]
            else:
                xr, xi = rand_ints(rng, Tin, n), rand_ints(rng, Tin, n)
            track: list[int] = []
            fft_ref(xr, xi, n, scaling, Twt, Dt, r, "wrap", track=track)
            W = Dt.word_length
            assert all(-(1 << (W - 1)) <= v < (1 << (W - 1)) for v in track), (n, str(Tin))


def test_fft_documented_example():
    f = FFT(8, scaling="all", twiddle_type="sfix16_En14", data_type="sfix16_En15")
    re, im = f(fi(np.array([0.5, 0, 0, 0, 0, 0, 0, 0]), 1, 16, 15))
    assert ints_of(re) == [2048] * 8 and ints_of(im) == [0] * 8
    assert FFT(8).types("sfix16_En15")["data"] == numerictype(True, 20, 15)
