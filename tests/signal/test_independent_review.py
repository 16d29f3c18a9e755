"""Independent review of the filter blocks: an exact Python-int reference written from
docs/signal-filters.md, docs/signal-cic-nco.md and the block docstrings (not the references
of the other tests), compared bit for bit with fixsim's stored integers on seeded random
configurations: every FIR form with full-precision and explicit narrow types, every rounding
and overflow mode, inputs at the extremes of their type, exact-convolution bounds around 2**53
and 2**63, long (threaded) frames, random frame splits; FIRDecimator, FIRInterpolator;
SOSFilter df1/df2t with stable and unstable sections (and the soundness of the df1
``_casts_in_range`` flags); unpruned CIC decimators and interpolators."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest

from fixsim import fi, numerictype
from fixsim.signal import (
    FIR,
    CICDecimator,
    CICInterpolator,
    FIRDecimator,
    FIRInterpolator,
    SOSFilter,
)

# -- the reference -----------------------------------------------------------------------------
RND = ("floor", "ceil", "zero", "nearest", "round", "convergent", "half_down", "half_zero",
       "convergent_odd")
OVF = ("saturate", "wrap", "sat_zero", "sat_sym", "wrap_sm")


def rq(v: int, d: int, W: int, signed: bool, rnd: str, ovf: str) -> int:
    """The exact value v * 2**-d (stored integers at a fraction d higher than the target) as a
    stored integer of a W-bit type: rounding, then overflow (fixsim's documented semantics)."""
    v = int(v)
    if d > 0:
        den = 1 << d
        q = v // den  # floor
        r = v - q * den  # 0 <= r < den
        twice = 2 * r
        if rnd == "floor":
            up = False
        elif rnd == "ceil":
            up = r != 0
        elif rnd == "zero":
            up = r != 0 and v < 0
        else:
            if twice != den:
                up = twice > den
            else:
                up = {"nearest": True, "round": v >= 0, "convergent": q % 2 == 1,
                      "half_down": False, "half_zero": v < 0,
                      "convergent_odd": q % 2 == 0}[rnd]
        n = q + (1 if up else 0)
        sbit = (q >> W) & 1
    else:
        n = v << (-d)
        sbit = (n >> W) & 1
    if signed:
        lo, hi = -(1 << (W - 1)), (1 << (W - 1)) - 1
    else:
        lo, hi = 0, (1 << W) - 1
    if ovf == "sat_sym" and signed:
        return hi if n > hi else (lo + 1 if n <= lo else n)
    if lo <= n <= hi:
        return n
    if ovf in ("saturate", "sat_sym"):
        return hi if n > hi else lo
    if ovf == "sat_zero":
        return 0
    mask = (1 << W) - 1
    r = n & mask
    if ovf == "wrap_sm":
        assert signed
        top = (r >> (W - 1)) & 1
        if top != sbit:
            r = (~r) & mask
        r = (r & (mask >> 1)) | (sbit << (W - 1))
    if signed and r >> (W - 1):
        r -= 1 << W
    return r


def T_(T):
    """(W, signed, F) of a numerictype."""
    return T.word_length, T.signed, T.fraction_length


def cast(v, f_src, T, rnd, ovf):
    W, s, F = T_(T)
    return rq(v, f_src - F, W, s, rnd, ovf)


def quantize_float(x: float, T, rnd, ovf) -> int:
    """A float quantized exactly into T."""
    W, s, F = T_(T)
    fr = Fraction(x) * Fraction(2) ** F
    # represent as integer at a high fraction: fr = num/den with den a power of two
    den = fr.denominator
    d = den.bit_length() - 1
    assert den == 1 << d
    return rq(fr.numerator, d, W, s, rnd, ovf)


def fir_ref(h, x, t, rnd, ovf, form, sign=0):
    """FIR on Python ints. h: stored coefficient ints (full N taps), x: stored inputs at
    t['input'] fraction. Types t: input, coef, product, acc, out (and preadd)."""
    Tx, Tc, P, A, Y = t["input"], t["coef"], t["product"], t["acc"], t["out"]
    Fx, Fc, Fp, Fa = Tx.fraction_length, Tc.fraction_length, P.fraction_length, A.fraction_length
    N = len(h)

    def X(i):
        return x[i] if i >= 0 else 0

    def term(c, v, fin):
        p = cast(c * v, fin + Fc, P, rnd, ovf)
        return cast(p, Fp, A, rnd, ovf)

    def add(a, b):
        return cast(a + b, Fa, A, rnd, ovf)

    out = []
    if form == "transposed":
        z = [0] * (N + 1)
        for n in range(len(x)):
            xn = x[n]
            new = [0] * (N + 1)
            for k in range(N):
                tk = term(h[k], xn, Fx)
                r = add(tk, z[k + 1]) if k < N - 1 else tk
                new[k] = r
            out.append(new[0])
            z = new
    elif form == "direct":
        for n in range(len(x)):
            acc = None
            for k in range(N):
                tk = term(h[k], X(n - k), Fx)
                acc = tk if acc is None else add(acc, tk)
            out.append(acc)
    else:
        E = t["preadd"]
        Fe = E.fraction_length
        half = N // 2
        for n in range(len(x)):
            acc = None
            terms = [(h[i], X(n - i) + sign * X(n - (N - 1 - i))) for i in range(half)]
            if sign > 0 and N % 2:
                terms.append((h[half], X(n - half)))
            for c, a in terms:
                e = cast(a, Fx, E, rnd, ovf)
                tk = term(c, e, Fe)
                acc = tk if acc is None else add(acc, tk)
            out.append(0 if acc is None else acc)
    return [cast(a, Fa, Y, rnd, ovf) for a in out]


def interp_ref(h, x, L, t, rnd, ovf):
    Tx, Tc, P, A, Y = t["input"], t["coef"], t["product"], t["acc"], t["out"]
    Fx, Fc, Fp, Fa = Tx.fraction_length, Tc.fraction_length, P.fraction_length, A.fraction_length
    N = len(h)
    out = []
    for n in range(len(x)):
        for p in range(L):
            acc = 0
            j = 0
            for k in range(p, N, L):
                xv = x[n - j] if n - j >= 0 else 0
                pr = cast(h[k] * xv, Fx + Fc, P, rnd, ovf)
                tk = cast(pr, Fp, A, rnd, ovf)
                acc = tk if j == 0 else cast(acc + tk, Fa, A, rnd, ovf)
                j += 1
            out.append(cast(acc, Fa, Y, rnd, ovf))
    return out


def sos_ref(b, a, x, t, rnd, ovf, form, Tin):
    """b: list of [b0,b1,b2] stored ints, a: list of [a1,a2]; x stored at Tin."""
    S, Tb, Ta = t["section"], t["num_coef"], t["den_coef"]
    Pn, Pd, A, Z, Y = t["num_product"], t["den_product"], t["acc"], t["state"], t["out"]
    Fs, Fa = S.fraction_length, A.fraction_length
    L = len(b)

    def pn(c, v):
        return cast(cast(c * v, Fs + Tb.fraction_length, Pn, rnd, ovf), Pn.fraction_length, A,
                    rnd, ovf)

    def pd(c, v):
        return cast(cast(c * v, Fs + Ta.fraction_length, Pd, rnd, ovf), Pd.fraction_length, A,
                    rnd, ovf)

    def ac(v):
        return cast(v, Fa, A, rnd, ovf)

    st = [[0, 0, 0, 0] for _ in range(L)]
    out = []
    for xv in x:
        u = cast(xv, Tin.fraction_length, S, rnd, ovf)
        for s in range(L):
            if form == "df1":
                u1, u2, y1, y2 = st[s]
                acc = pn(b[s][0], u)
                acc = ac(acc + pn(b[s][1], u1))
                acc = ac(acc + pn(b[s][2], u2))
                acc = ac(acc - pd(a[s][0], y1))
                acc = ac(acc - pd(a[s][1], y2))
                y = cast(acc, Fa, S, rnd, ovf)
                st[s] = [u, u1, y, y1]
            else:
                z1s, z2s = st[s][0], st[s][1]
                z1 = cast(z1s, Z.fraction_length, A, rnd, ovf)
                z2 = cast(z2s, Z.fraction_length, A, rnd, ovf)
                y = cast(ac(pn(b[s][0], u) + z1), Fa, S, rnd, ovf)
                w = ac(pn(b[s][1], u) + z2)
                w = ac(w - pd(a[s][0], y))
                nz1 = cast(w, Fa, Z, rnd, ovf)
                w2 = ac(pn(b[s][2], u) - pd(a[s][1], y))
                nz2 = cast(w2, Fa, Z, rnd, ovf)
                st[s][0], st[s][1] = nz1, nz2
            u = y
        out.append(cast(u, Fs, Y, rnd, ovf))
    return out


# -- helpers ---------------------------------------------------------------------------------------
def nt(signed, W, F):
    return numerictype(bool(signed), W, F)


def ints_of(y) -> list[int]:
    return [int(v) for v in np.ravel(y.int)]


def run_split(block, xs, Tx, cuts):
    """The block's output stored integers for the frames of *xs* cut at *cuts*."""
    got, prev = [], 0
    for c in list(cuts) + [len(xs)]:
        got += ints_of(block(fi.from_int(np.asarray(xs[prev:c], dtype=np.int64), Tx)))
        prev = c
    return got


def extreme_inputs(rng, T, n):
    """Inputs that favour the most negative and most positive values of *T*."""
    lo, hi = T.int_min, T.int_max
    m = rng.random()
    if m < 0.15:
        return [lo] * n
    if m < 0.25:
        return [hi] * n
    if m < 0.35:
        k = rng.randint(1, 4)
        return [lo if (i // k) % 2 else hi for i in range(n)]
    return [lo if r < 0.25 else hi if r < 0.4 else 0 if r < 0.45 else rng.randint(lo, hi)
            for r in (rng.random() for _ in range(n))]


def random_cuts(rng, n, k=3):
    return sorted(rng.sample(range(n + 1), min(n + 1, rng.randint(0, k))))


def exact_conv(h, x):
    """``sum_k h[k] x[n-k]`` in Python ints (object arrays), from zero history."""
    N, n = len(h), len(x)
    xo = np.array([0] * (N - 1) + [int(v) for v in x], dtype=object)
    y = np.zeros(n, dtype=object)
    for k in range(N):
        y = y + int(h[k]) * xo[N - 1 - k:N - 1 - k + n]
    return [int(v) for v in y]


def fir_default_types(Tx, Tc, N, sign):
    """The documented full-precision types."""
    t = {"input": Tx, "coef": Tc}
    m, npr = Tx, N
    if sign:
        E = nt(Tx.signed or sign < 0,
               Tx.word_length + 1 + (1 if (sign < 0 and not Tx.signed) else 0),
               Tx.fraction_length)
        t["preadd"] = m = E
        npr = (N + 1) // 2 if sign > 0 else max(1, N // 2)
    P = nt(m.signed or Tc.signed, m.word_length + Tc.word_length,
           m.fraction_length + Tc.fraction_length)
    A = nt(P.signed, P.word_length + (math.ceil(math.log2(npr)) if npr > 1 else 0),
           P.fraction_length)
    t.update(product=P, acc=A, out=A)
    return t


def coefs_of(rng, N, sign, gain):
    h = [rng.uniform(-1, 1) * gain for _ in range(N)]
    if sign:
        for k in range(N // 2):
            h[N - 1 - k] = sign * h[k]
        if sign < 0 and N % 2:
            h[N // 2] = 0.0
    return h


def fir_stored_coefs(h, Tc, rnd, ovf, sign):
    """The coefficients quantized independently (only the first half for the symmetric
    forms, the second half mirrored)."""
    N = len(h)
    hq = [quantize_float(v, Tc, rnd, ovf) for v in h]
    if sign:
        hq = hq[:(N + 1) // 2]
        if sign < 0 and N % 2:
            hq[-1] = 0
        hq = hq + [sign * v for v in hq[:N // 2]][::-1]
    return hq


# -- the reference itself ------------------------------------------------------------------------
def test_reference_cast_agrees_with_exact_fi_quantization():
    """The reference's cast is fixsim's documented quantization (checked on exact Fractions,
    ties and far out-of-range values included)."""
    rng = random.Random(1)
    for _ in range(1500):
        W, s, d = rng.randint(2, 20), rng.random() < 0.8, rng.randint(-4, 8)
        ovf, rnd = rng.choice(OVF if s else OVF[:4]), rng.choice(RND)
        v = rng.randint(-(1 << (W + 4)), 1 << (W + 4))
        if rng.random() < 0.3:
            e = W + max(d, 0)
            v = rng.choice([-(1 << (e - 1)), (1 << (e - 1)) - 1, (1 << e) - 1, -(1 << e)])
            v += rng.randint(-3, 3)
        got = int(fi(Fraction(v) / Fraction(2) ** d, int(s), W, 0, rounding=rnd,
                     overflow=ovf).int)
        assert got == rq(v, d, W, s, rnd, ovf), (v, d, W, s, rnd, ovf)


# -- FIR -------------------------------------------------------------------------------------------
def test_fir_random_configurations_against_reference():
    """Every form, full precision and explicit narrow pre-adder/product/accumulator/output
    types, every mode pair, extreme inputs, random frame splits; the default types and the
    coefficient quantization are checked too."""
    rng = random.Random(20240601)
    paths = {"fused": 0, "kernel": 0}
    checked = 0
    while checked < 250:
        form = rng.choice(["direct", "transposed", "symmetric", "antisymmetric"])
        sign = {"symmetric": 1, "antisymmetric": -1}.get(form, 0)
        N = rng.randint(2 if sign < 0 else 1, 12)
        rnd = rng.choice(RND)
        sgn_in = rng.random() < 0.85
        ovf = rng.choice(OVF if sgn_in else OVF[:4])
        Wx = rng.randint(2, 24)
        Tx = nt(sgn_in, Wx, rng.randint(-4, Wx + 4))
        Wc = rng.randint(3, 20)
        Tc = nt(1, Wc, rng.randint(0, Wc + 3))
        h = coefs_of(rng, N, sign, rng.choice([0.5, 1, 2, 4, 2.0 ** (Wc - Tc.fraction_length - 1)]))
        kw = dict(coef_type=Tc, rounding=rnd, overflow=ovf, form=form)
        try:
            dt = fir_default_types(Tx, Tc, N, sign)
            got_t = FIR(h, **kw).types(Tx)
        except ValueError:  # an antisymmetric mirror of the most negative coefficient
            continue
        assert {k: got_t[k] for k in dt} == dt
        if rng.random() < 0.6:
            P, A = dt["product"], dt["acc"]
            Fp = P.fraction_length + rng.randint(-5, 2)
            kw["product_type"] = nt(1, max(2, min(63, P.word_length + rng.randint(-6, 2))), Fp)
            kw["acc_type"] = nt(1, max(2, min(63, A.word_length + rng.randint(-6, 3))),
                                Fp + rng.randint(-3, 1))
            if sign and rng.random() < 0.6:
                E = dt["preadd"]
                kw["preadd_type"] = nt(1, max(2, E.word_length + rng.randint(-2, 1)),
                                       E.fraction_length + rng.randint(-2, 1))
        if rng.random() < 0.7:
            kw["output_type"] = nt(rng.random() < 0.9 or ovf == "wrap_sm", rng.randint(2, 30),
                                   rng.randint(-3, 30))
        try:
            f = FIR(h, **kw)
            t = f.types(Tx)
            f._plan(Tx)
        except ValueError:  # a per-sample loop that int64 cannot hold
            continue
        hq = fir_stored_coefs(h, Tc, rnd, ovf, sign)
        assert ints_of(f.quantized_coefs) == hq
        n = rng.randint(1, 60)
        xs = extreme_inputs(rng, Tx, n)
        exp = fir_ref(hq, xs, t, rnd, ovf, form, sign)
        assert run_split(f, xs, Tx, random_cuts(rng, n)) == exp, (form, N, rnd, ovf, Tx, kw)
        paths["fused" if f._fused else "kernel"] += 1
        checked += 1
    assert min(paths.values()) > 50, paths


@pytest.mark.parametrize("seed", range(3))
def test_fir_mode_specialised_loops_against_reference(seed):
    """The loops compiled for one mode pair (and their fast cast route), forced on short
    frames."""
    rng = random.Random(seed)
    for _ in range(4):
        form = rng.choice(["direct", "transposed", "symmetric"])
        sign = 1 if form == "symmetric" else 0
        N = rng.randint(2, 9)
        rnd, ovf = rng.choice(RND), rng.choice(OVF)
        Tx, Tc = nt(1, rng.randint(4, 20), rng.randint(0, 20)), nt(1, 16, 15)
        P = nt(1, rng.randint(12, 30), 15 + Tx.fraction_length - rng.randint(0, 8))
        A = nt(1, rng.randint(8, 32), P.fraction_length - rng.randint(0, 4))
        kw = dict(coef_type=Tc, rounding=rnd, overflow=ovf, form=form, product_type=P,
                  acc_type=A, output_type=nt(1, 16, rng.randint(0, 20)))
        h = coefs_of(rng, N, sign, 1.5)
        f = FIR(h, **kw)
        f.SPECIALISE_MIN = 0
        xs = extreme_inputs(rng, Tx, 80)
        exp = fir_ref(fir_stored_coefs(h, Tc, rnd, ovf, sign), xs, f.types(Tx), rnd, ovf,
                      form, sign)
        assert run_split(f, xs, Tx, random_cuts(rng, 80)) == exp, (form, rnd, ovf, kw)


def test_fir_exact_convolution_bound_edges():
    """``sum|h| max|x|`` just below, at and just above 2**53 and 2**63 (float64, int64 and
    Python-int exact sums), with the inputs that reach the bound (most negative values
    against the coefficient signs), every mode."""
    rng = random.Random(53)
    n_checked = 0
    for target in (53, 63):
        for delta in (-1, 0, 1):
            for _ in range(5):
                Wx = rng.choice([16, 24, 32] if target == 63 else [12, 16, 24])
                mx = 1 << (Wx - 1)
                S = (1 << target) // mx + delta
                N = rng.randint(2, 9)
                cuts = sorted(rng.sample(range(1, S), N - 1))
                parts = [b - a for a, b in zip([0] + cuts, cuts + [S], strict=True)]
                Wc = max(p.bit_length() for p in parts) + 1
                if Wx + Wc > 64:
                    continue
                same = rng.random() < 0.6  # one sign: the bound itself is reached
                sg = rng.choice([-1, 1])
                hs = [p * (sg if same else rng.choice([-1, 1])) for p in parts]
                Tc, Tx = nt(1, Wc, Wc - 1), nt(1, Wx, rng.randint(0, Wx))
                rnd, ovf = rng.choice(RND), rng.choice(OVF)
                f_ex = Tx.fraction_length + Tc.fraction_length
                To = nt(1, rng.randint(8, 63), f_ex - rng.randint(-4, 62))
                f = FIR(fi.from_int(np.array(hs, dtype=np.int64), Tc), output_type=To,
                        rounding=rnd, overflow=ovf, form=rng.choice(["direct", "transposed"]))
                n = 200
                xs = [-mx if r < 0.5 else (mx - 1 if r < 0.7 else rng.randint(-mx, mx - 1))
                      for r in (rng.random() for _ in range(n))]
                xs[10:10 + N] = [(-mx if hs[k] > 0 else mx - 1) for k in range(N)][::-1]
                xs[30:30 + N] = [(-mx if hs[k] < 0 else mx - 1) for k in range(N)][::-1]
                acc = exact_conv(hs, xs)
                assert max(abs(a) for a in acc) <= S * mx
                if same:
                    assert max(abs(a) for a in acc) == S * mx
                exp = [cast(a, f_ex, To, rnd, ovf) for a in acc]
                assert run_split(f, xs, Tx, random_cuts(rng, n)) == exp, (target, delta, hs,
                                                                          Tx, To, rnd, ovf)
                assert f._bound == S * mx
                n_checked += 1
    assert n_checked >= 25


def test_fir_long_frames_threaded_and_decimator():
    """Frames of at least 65,536 outputs (the fused kernel on the thread pool), FIR forms and
    FIRDecimator, split and unsplit, against the exact Python-int convolution."""
    rng = random.Random(65536)
    for i in range(6):
        N = rng.randint(1, 16)
        Tx, Tc = nt(1, rng.randint(4, 24), 10), nt(1, rng.randint(4, 20), 0)
        Tc = nt(1, Tc.word_length, Tc.word_length - 1)
        rnd, ovf = rng.choice(RND), rng.choice(OVF)
        To = nt(1, rng.randint(4, 40), rng.randint(0, 40))
        h = [rng.uniform(-1, 1) for _ in range(N)]
        M = 1
        if i % 2:
            M = rng.randint(2, 3)
            f = FIRDecimator(M, h, coef_type=Tc, output_type=To, rounding=rnd, overflow=ovf)
        else:
            form = rng.choice(["direct", "transposed"])
            f = FIR(h, coef_type=Tc, output_type=To, rounding=rnd, overflow=ovf, form=form)
        n = 65536 * M + rng.randint(0, 3000)
        lo, hi = Tx.int_min, Tx.int_max
        xs = np.random.default_rng(i).integers(lo, hi, n, endpoint=True)
        xs[rng.randint(0, n - 1000):][:500] = lo
        acc = exact_conv([int(v) for v in f.quantized_coefs.int], xs)[::M]
        f_ex = Tx.fraction_length + Tc.fraction_length
        exp = [cast(a, f_ex, To, rnd, ovf) for a in acc]
        cuts = [] if i < 2 else random_cuts(rng, n, 2)
        assert run_split(f, xs, Tx, cuts) == exp, (i, N, M, Tx, To, rnd, ovf, cuts)
        assert f._fused


def test_fir_decimator_and_interpolator_random():
    """FIRDecimator (every form it has, its phase across frames) and FIRInterpolator
    (polyphase branches), full precision and narrow types, every mode pair."""
    rng = random.Random(7)
    checked = 0
    while checked < 80:
        interp = rng.random() < 0.5
        form = "direct" if interp else rng.choice(["direct", "symmetric", "antisymmetric"])
        sign = {"symmetric": 1, "antisymmetric": -1}.get(form, 0)
        N, M = rng.randint(2, 11), rng.randint(1, 5)
        rnd, ovf = rng.choice(RND), rng.choice(OVF)
        Tx, Tc = nt(1, rng.randint(3, 20), rng.randint(0, 20)), nt(1, rng.randint(4, 18), 0)
        Tc = nt(1, Tc.word_length, Tc.word_length - rng.randint(0, 2))
        h = coefs_of(rng, N, sign, 1.0)
        kw = dict(coef_type=Tc, rounding=rnd, overflow=ovf, form=form)
        if rng.random() < 0.5:
            Fp = Tx.fraction_length + Tc.fraction_length - rng.randint(0, 5)
            kw["product_type"] = nt(1, rng.randint(8, 30), Fp)
            kw["acc_type"] = nt(1, rng.randint(8, 34), Fp - rng.randint(0, 2))
        if rng.random() < 0.7:
            kw["output_type"] = nt(1, rng.randint(3, 30), rng.randint(0, 30))
        try:
            f = (FIRInterpolator if interp else FIRDecimator)(M, h, **kw)
            t = f.types(Tx)
            f._plan(Tx)
        except ValueError:
            continue
        hq = fir_stored_coefs(h, Tc, rnd, ovf, sign)
        n = rng.randint(1, 50)
        xs = extreme_inputs(rng, Tx, n)
        if interp:
            exp = interp_ref(hq, xs, M, t, rnd, ovf)
        else:
            exp = fir_ref(hq, xs, t, rnd, ovf, form, sign)[::M]
        assert run_split(f, xs, Tx, random_cuts(rng, n, 4)) == exp, (interp, form, M, kw)
        checked += 1


def test_input_type_same_type_sat_sym_casts():
    """Regression (input_type equal to the input's type under sat_sym): ``input_type=`` casts
    the input first, and under sat_sym a cast into the same type moves the most negative
    value to ``-max`` (as SOSFilter's section cast and CIC's output cast do). FIR,
    FIRDecimator, FIRInterpolator and the CIC filters skipped the same-type input cast, so
    the most negative input went through unchanged."""
    T = nt(1, 16, 15)
    xs = [-32768, -32768, 12345, -32768, 32767]
    moved = [-32767 if v == -32768 else v for v in xs]
    x = fi.from_int(np.array(xs, dtype=np.int64), T)
    h = [0.5, -0.25, 0.125]
    for ovf in ("sat_sym", "saturate"):
        xin = moved if ovf == "sat_sym" else xs
        kw = dict(coef_type="sfix16_En15", overflow=ovf, output_type="sfix20_En15")
        f = FIR(h, input_type=T, **kw)
        t = f.types(T)
        hq = fir_stored_coefs(h, t["coef"], "nearest", ovf, 0)
        assert ints_of(f(x)) == fir_ref(hq, xin, t, "nearest", ovf, "direct")
        d = FIRDecimator(2, h, input_type=T, **kw)
        assert ints_of(d(x)) == fir_ref(hq, xin, t, "nearest", ovf, "direct")[::2]
        u = FIRInterpolator(2, h, input_type=T, **kw)
        assert ints_of(u(x)) == interp_ref(hq, xin, 2, t, "nearest", ovf)
        c = CICDecimator(1, 1, 1, input_type=T, overflow=ovf)
        assert ints_of(c(x)) == xin
        ci = CICInterpolator(1, 1, 1, input_type=T, overflow=ovf)
        assert ints_of(ci(x)) == xin
        # without input_type the input is not cast at all (its own type)
        assert ints_of(FIR([1.0], coef_type="sfix16_En14", overflow=ovf,
                           output_type="sfix17_En15")(x)) == xs


# -- SOSFilter -------------------------------------------------------------------------------------
def random_sos_config(rng, form):
    rnd, ovf = rng.choice(RND), rng.choice(OVF)
    sos = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5:  # stable
            r, th = rng.uniform(0, 0.99), rng.uniform(0, math.pi)
            a1, a2 = -2 * r * math.cos(th), r * r
        else:  # anything, unstable included
            a1, a2 = rng.uniform(-2, 2), rng.uniform(-1.5, 1.5)
        g = rng.choice([0.1, 1, 3, 20])
        sos.append([rng.uniform(-1, 1) * g, rng.uniform(-2, 2) * g, rng.uniform(-1, 1) * g, 1,
                    a1, a2])
    Wx = rng.randint(3, 20)
    Tin = nt(1, Wx, rng.randint(0, Wx + 2))
    kw = dict(form=form, rounding=rnd, overflow=ovf)
    if rng.random() < 0.6:
        Ws = rng.randint(3, 24)
        kw["section_type"] = nt(1, Ws, rng.randint(-2, Ws + 2))
    S = kw.get("section_type", Tin)
    Wb, Wa = rng.randint(3, 20), rng.randint(3, 20)
    Tb, Ta = nt(1, Wb, rng.randint(0, Wb)), nt(1, Wa, rng.randint(max(0, Wa - 4), Wa))
    kw["coef_type"] = (Tb, Ta)
    Pn0 = nt(1, S.word_length + Wb, S.fraction_length + Tb.fraction_length)
    Pd0 = nt(1, S.word_length + Wa, S.fraction_length + Ta.fraction_length)
    if rng.random() < 0.5:
        kw["product_type"] = tuple(
            nt(1, max(2, min(63, P.word_length + rng.randint(-6, 1))),
               P.fraction_length + rng.randint(-4, 1)) for P in (Pn0, Pd0))
    if rng.random() < 0.7:  # accumulators around the products' width
        Fa = max(Pn0.fraction_length, Pd0.fraction_length) + rng.randint(-6, 2)
        ib = max(P.word_length - P.fraction_length for P in (Pn0, Pd0)) + rng.randint(-3, 4)
        kw["acc_type"] = nt(1, max(2, min(63, ib + Fa)), Fa)
    if form == "df2t" and rng.random() < 0.5:
        Wz = rng.randint(4, 40)
        kw["state_type"] = nt(1, Wz, rng.randint(0, Wz + 4))
    if rng.random() < 0.4:
        Wy = rng.randint(3, 24)
        kw["output_type"] = nt(1, Wy, rng.randint(0, Wy))
    return sos, Tin, (Tb, Ta), kw


def check_sos(rng, sos, Tin, coef_types, kw, n, specialise=False):
    """Returns False when the configuration is refused (too wide for int64)."""
    Tb, Ta = coef_types
    try:
        f = SOSFilter(sos, **kw)
        t = f.types(Tin)
        f._plan(Tin)
        f.reset()
    except ValueError:
        return False
    if specialise:
        f.SPECIALISE_MIN = 0
    rnd, ovf = kw["rounding"], kw["overflow"]
    b = [[quantize_float(v, Tb, rnd, ovf) for v in row[:3]] for row in sos]
    a = [[quantize_float(v, Ta, rnd, ovf) for v in row[4:6]] for row in sos]
    assert [int(v) for v in f._b.ravel()] == sum(b, [])
    assert [int(v) for v in f._a[:, 1:].ravel()] == sum(a, [])
    xs = extreme_inputs(rng, Tin, n)
    exp = sos_ref(b, a, xs, t, rnd, ovf, kw["form"], Tin)
    assert run_split(f, xs, Tin, random_cuts(rng, n)) == exp, (sos, Tin, kw)
    return True


def test_sos_random_configurations_against_reference():
    """df1 and df2t, stable and unstable sections, types around the products' range, every
    mode pair, extreme inputs, frame splits (the loop shared by every mode)."""
    rng = random.Random(1234)
    checked = 0
    while checked < 150:
        sos, Tin, ct, kw = random_sos_config(rng, rng.choice(["df1", "df1", "df2t"]))
        checked += check_sos(rng, sos, Tin, ct, kw, rng.randint(1, 50))


@pytest.mark.parametrize("form", ["df1", "df2t"])
def test_sos_mode_specialised_loops_against_reference(form):
    """The loops compiled for one mode pair and shift set (df1: with the in-range flags),
    forced on short frames."""
    rng = random.Random(99 if form == "df1" else 98)
    checked = 0
    while checked < 2:
        sos, Tin, ct, kw = random_sos_config(rng, form)
        checked += check_sos(rng, sos, Tin, ct, kw, 60, specialise=True)


def test_sos_df1_in_range_flags_are_sound():
    """``SOSFilter._casts_in_range``: a cast it proves in range never sees an out-of-range
    rounded value in the reference, over adversarial (most negative / most positive) inputs
    of unstable, large-gain sections."""
    rng = random.Random(4321)
    flagged = [0] * 6
    for _ in range(120):
        rnd, ovf = rng.choice(RND), rng.choice(OVF)
        sym = ovf == "sat_sym"
        L = rng.randint(1, 2)
        sos = [[rng.uniform(-1, 1) * g, rng.uniform(-2, 2) * g, rng.uniform(-1, 1) * g, 1,
                rng.uniform(-2, 2), rng.uniform(-1, 1)]
               for g in (rng.choice([0.1, 1, 3, 20]) for _ in range(L))]
        Ws, Wb, Wa = rng.randint(3, 14), rng.randint(3, 12), rng.randint(3, 12)
        S = nt(1, Ws, rng.randint(0, Ws))
        Tb, Ta = nt(1, Wb, rng.randint(0, Wb)), nt(1, Wa, rng.randint(Wa - 3, Wa))
        Pn = nt(1, max(2, Ws + Wb + rng.randint(-4, 0)),
                S.fraction_length + Tb.fraction_length - rng.randint(0, 3))
        Pd = nt(1, max(2, Ws + Wa + rng.randint(-4, 0)),
                S.fraction_length + Ta.fraction_length - rng.randint(0, 3))
        Fa = max(Pn.fraction_length, Pd.fraction_length) - rng.randint(0, 3)
        ib = max(P.word_length - P.fraction_length for P in (Pn, Pd)) + rng.randint(-2, 3)
        A = nt(1, max(2, ib + Fa), Fa)
        f = SOSFilter(sos, form="df1", coef_type=(Tb, Ta), product_type=(Pn, Pd), acc_type=A,
                      section_type=S, rounding=rnd, overflow=ovf)
        f._plan(S)
        flags = f._inrange
        flagged = [c + bool(v) for c, v in zip(flagged, flags, strict=True)]
        b = [[int(v) for v in r] for r in f._b]
        a = [[int(v) for v in r[1:]] for r in f._a]
        sh = [int(v) for v in f._sh]

        def step(v, d, T, seen, i, rnd=rnd, ovf=ovf, sym=sym):
            n = rq(v, d, T.word_length + 80, True, rnd, "saturate")  # rounding only
            if not (T.int_min + (1 if sym else 0) <= n <= T.int_max):
                seen[i] = True
            return rq(v, d, T.word_length, True, rnd, ovf)

        seen = [False] * 6
        for _trial in range(10):
            st = [[0, 0, 0, 0] for _ in range(L)]
            for u in extreme_inputs(rng, S, 50):
                for s in range(L):
                    u1, u2, y1, y2 = st[s]
                    acc = None
                    terms = [(b[s][0], u), (b[s][1], u1), (b[s][2], u2), (a[s][0], y1),
                             (a[s][1], y2)]
                    for i, (c, v) in enumerate(terms):
                        num = i < 3
                        p = step(c * v, sh[0] if num else sh[1], Pn if num else Pd, seen,
                                 0 if num else 1)
                        t = step(p, sh[2] if num else sh[3], A, seen, 2 if num else 3)
                        if acc is not None:
                            t = step(acc + t if num else acc - t, 0, A, seen, 4)
                        acc = t
                    y = step(acc, sh[6], S, seen, 5)
                    st[s] = [u, u1, y, y1]
                    u = y
        assert not any(fl and sn for fl, sn in zip(flags, seen, strict=True)), (flags, seen)
    assert min(flagged) > 10, flagged


# -- CIC -------------------------------------------------------------------------------------------
def _boxcar_power(RM, N):
    h = [1]
    for _ in range(N):
        g = [0] * (len(h) + RM - 1)
        for i, v in enumerate(h):
            for j in range(RM):
                g[i + j] += v
        h = g
    return h


def test_cic_unpruned_against_upfirdn_reference():
    """CICDecimator (any phase) and CICInterpolator without pruning are the exact FIR
    ``boxcar(R M) ** N`` with decimation / zero stuffing, then the output cast; extreme inputs
    (the registers wrap), frame splits, every mode pair."""
    rng = random.Random(11)
    for _ in range(150):
        dec = rng.random() < 0.5
        R, M, N = rng.randint(1, 9), rng.randint(1, 2), rng.randint(1, 5)
        Win = rng.randint(2, 20)
        Tx = nt(rng.random() < 0.85, Win, rng.randint(0, Win))
        rnd, ovf = rng.choice(RND), rng.choice(OVF[:4])
        To = (nt(1, rng.randint(4, 40), Tx.fraction_length - rng.randint(-3, 20))
              if rng.random() < 0.6 else None)
        h = _boxcar_power(R * M, N)
        phase = rng.randint(0, R - 1) if dec else 0
        if dec:
            c = CICDecimator(R, M, N, output_type=To, rounding=rnd, overflow=ovf, phase=phase,
                             pruning=False)
        else:
            c = CICInterpolator(R, M, N, output_type=To, rounding=rnd, overflow=ovf)
        n = rng.randint(1, 200)
        xs = extreme_inputs(rng, Tx, n)
        if dec:
            acc = exact_conv(h, xs)[phase::R]
        else:
            xu = [0] * (n * R)
            xu[::R] = xs
            acc = exact_conv(h, xu)
        exp = acc if To is None else [cast(v, Tx.fraction_length, To, rnd, ovf) for v in acc]
        assert run_split(c, xs, Tx, random_cuts(rng, n)) == exp, (dec, R, M, N, Tx, To, rnd,
                                                                   ovf, phase)
