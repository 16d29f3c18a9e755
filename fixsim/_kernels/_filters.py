"""Filter kernels on int64 stored integers (FIR in direct, transposed and symmetric form,
polyphase decimation and interpolation, biquad cascades in direct form I and direct form II
transposed) and the float64 loops of the double mode.

Plain int64/float64 arrays and integer mode codes only (see ``fixsim._core._modes``). A *type*
is passed as a row of an int64 table ``tp``: ``[W, signed, lo, hi, mask, signbit, wbit]`` (see
:func:`type_row`); every type here has ``W + (not signed) <= 63`` so its stored integers and the
sum or difference of two of them fit int64. The callers in ``fixsim.signal`` also check that
every product of a coefficient and a sample fits int64 (``width(coef) + width(sample) <= 64``:
``|c * x| <= 2**62``), before they call a kernel; the kernels do not check.

Every cast is the single-value requantization of ``fixsim._kernels._quantize.requant_one``
(itself built on the helpers of :mod:`._quantize`), so rounding and overflow are decided
exactly as in every other fixsim cast.

Mode specialisation: the per-sample kernels are built by :func:`kernel` once per
``(kind, rounding, overflow, count)``; the mode codes are closure constants, so numba compiles
each loop with the mode branches of ``requant_one`` folded away (as :mod:`._fastq` does), and
with ``count=False`` the overflow/underflow tallies disappear too (the caller asks for counts
only while someone listens). The type rows are read once into registers (tuples) before the
loop. Stochastic rounding is not supported here.

Overflow/underflow counts are accumulated per *signal* into ``cnt[signal, 0:2]`` so that the
caller can report them under the signal's probe name.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from . import usable_cpus
from ._fastq import _up_int
from ._quantize import NEAREST, SAT_SYM, SAT_ZERO, SATURATE, STOCHASTIC, WRAP, requant_one

__all__ = ["type_row", "kernel", "fir_f64", "fir_f64_strided", "interp_f64", "dot_exact_f64",
           "dot_exact_i64", "dot_exact_split", "fir_exact_split", "SPLIT_MIN",
           "fir_direct_counts", "zero_bounds", "counts_by_proof"]

# signal rows of the count tables
FIR_PRODUCT, FIR_ACC, FIR_PRE = 0, 1, 2
SOS_PRODUCT, SOS_ACC, SOS_STATE, SOS_SECTION = 0, 1, 2, 3

_U0 = np.uint64(0)


def type_row(W: int, signed: bool) -> list[int]:
    """``[W, signed, lo, hi, mask, signbit, wbit]`` of a W-bit type (``W + (not signed) <= 63``).
    """
    if signed:
        lo, hi = -(1 << (W - 1)), (1 << (W - 1)) - 1
    else:
        lo, hi = 0, (1 << W) - 1
    mask = (1 << W) - 1
    sb = 1 << (W - 1)
    return [W, int(bool(signed)), lo, hi, mask, sb, W if W < 63 else 63]


@nb.njit(inline="always", cache=True)
def _row(tp, i):
    """Type row *i* of ``tp`` as a tuple (kept in registers by the loops)."""
    return (tp[i, 0], tp[i, 1], tp[i, 2], tp[i, 3], tp[i, 4], tp[i, 5], tp[i, 6])


@nb.njit(cache=True)
def _rq_general(v, d, t, rmode, omode):
    """``requant_one`` on a type tuple (a real call: kept out of the inlined fast route)."""
    return requant_one(v, d, t[0], t[1] != 0, rmode, omode, _U0, t[2], t[3], t[4], t[5], t[6])


@nb.njit(inline="always", cache=True)
def _round_fast(v, d, rmode, small):
    """``v / 2**d`` rounded (``0 <= d <= 62``): floor shift plus the rounding increment of
    ``_fastq._up_int`` (the same decision as ``requant_one``'s). With *small* (the caller
    knows ``|v| <= 2**62``), ``nearest`` is ``(v + 2**(d-1)) >> d``: the same integer
    (``floor(v / 2**d) + (r >= 2**(d-1))`` for the remainder ``0 <= r < 2**d``), one
    dependent operation less, and ``v + 2**(d-1) <= 2**62 + 2**61`` cannot overflow."""
    if d > 0:
        if small and rmode == NEAREST:
            return (v + (np.int64(1) << (d - 1))) >> d
        q = v >> d
        # the increment as an integer, not a conditional: numba emitted a branch for
        # ``1 if up else 0``, mispredicted on every other sample of real data
        return q + np.int64(_up_int(rmode, q, v & ((np.int64(1) << d) - 1),
                                    np.int64(1) << (d - 1)))
    return v


@nb.njit(inline="always", cache=True)
def _ovf_fast(n, t, omode):
    """The exact integer *n* into the type tuple *t* under a saturating or wrapping mode."""
    lo = t[2]
    hi = t[3]
    if omode == WRAP:
        if t[1] != 0:
            r = ((n & t[4]) ^ t[5]) - t[5]
        else:
            r = n & t[4]
    elif omode == SATURATE:
        r = min(max(n, lo), hi)
    elif omode == SAT_SYM:
        r = min(max(n, lo + 1 if t[1] != 0 else lo), hi)
    else:  # SAT_ZERO
        r = n if (lo <= n) & (n <= hi) else np.int64(0)
    return r


@nb.njit(inline="always", cache=True)
def _rq(v, d, t, rmode, omode, fast):
    """Cast the exact int64 ``v`` (``d = Fsrc - Fdst``) into the type tuple ``t``.
    Returns ``(stored, overflowed)``.

    The common casts (a right shift by at most 62 bits or none, into a saturating or wrapping
    type) take a short branch-free route: :func:`_round_fast`, then a clamp or a sign
    extension (:func:`_ovf_fast`). Everything else (left shifts, ``wrap_sm``) goes through
    ``requant_one``.
    """
    if fast or (0 <= d <= 62 and rmode != STOCHASTIC and (
            omode == SATURATE or omode == WRAP or omode == SAT_SYM or omode == SAT_ZERO)):
        n = _round_fast(v, d, rmode, False)
        r = _ovf_fast(n, t, omode)
        return r, np.int64(r != n)
    return _rq_general(v, d, t, rmode, omode)


@nb.njit(inline="always", cache=True)
def _rqs(v, d, t, rmode, omode, fast, inrange):
    """:func:`_rq` for the biquad loops, where every value cast has ``|v| <= 2**62`` (types of
    at most 63 bits, products of at most 64). On the fast route ``nearest`` takes the short
    form of :func:`_round_fast`, and with *inrange* (the block proved, before the loop, that
    the rounded value always lies in ``t``: then every overflow mode leaves it alone) the
    overflow step is dropped: the same bits, no overflow to count."""
    if fast:
        n = _round_fast(v, d, rmode, True)
        if inrange:
            return n, np.int64(0)
        r = _ovf_fast(n, t, omode)
        return r, np.int64(r != n)
    return _rq(v, d, t, rmode, omode, False)


@nb.njit(inline="always", cache=True)
def _tally(cnt, sig, v, r, o):
    """Count an overflow, or an underflow (a nonzero value that became 0)."""
    cnt[sig, 0] += o
    if o == 0 and r == 0 and v != 0:
        cnt[sig, 1] += 1


# -- FIR ------------------------------------------------------------------------------------------
# tp rows: 0 product, 1 accumulator, 2 pre-adder (symmetric form).
# sh: [d_prod (Fin + Fh - Fp), d_acc (Fp - Fa), d_pre (Fx - Fpre)]; Fin is Fpre for the
# symmetric form, Fx otherwise.


def _make_fir_direct(RM, OM, C, FA):
    @nb.njit(cache=True)
    def fir_direct(xe, h, tp, sh, start, step, rmode, omode, out, cnt):
        """Direct form at the positions ``m = start + j * step`` of ``xe`` (``j`` = output
        index): ``out[j]`` is the sum of the cast products ``h[k] xe[m - k]`` for taps
        ``k = 0, 1, ...`` in that order, each partial sum cast to the accumulator type."""
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tP = _row(tp, 0)
        tA = _row(tp, 1)
        nt = h.shape[0]
        dp = sh[0]
        da = sh[1]
        for j in range(out.shape[0]):
            m = start + j * step
            acc = np.int64(0)
            for k in range(nt):
                v = h[k] * xe[m - k]
                p, o = _rq(v, dp, tP, R, OV, FA)
                if C:
                    _tally(cnt, FIR_PRODUCT, v, p, o)
                t, o = _rq(p, da, tA, R, OV, FA)
                if C:
                    _tally(cnt, FIR_ACC, p, t, o)
                if k == 0:
                    acc = t
                else:
                    s = acc + t
                    acc, o = _rq(s, 0, tA, R, OV, FA)
                    if C:
                        _tally(cnt, FIR_ACC, s, acc, o)
            out[j] = acc

    return fir_direct


# -- FIR direct form: counts from a per-frame proof instead of a counting loop -------------------
# Counting in the per-sample loop costs about half its time (two compares and a tally per
# cast). For the direct form, whose every output restarts its sum, a frame usually proves
# that nothing overflows: from the frame's smallest and largest sample, each tap's products,
# their casts and the partial sums are bounded (every cast rounds monotonically). Then the
# only counts are underflows (a nonzero value cast to 0), and whether a product or its cast
# into the accumulator underflows depends only on the sample: each is a sample interval per
# tap, counted in a second, branch-free pass. The same counts as the counting loop's.


@nb.njit(cache=True)
def _round_chain(v, dp, da, rmode, both):
    """``round(v / 2**dp)``, and with *both* that rounded again by ``2**da`` (no overflow)."""
    n = _round_fast(v, dp, rmode, False)
    if both:
        n = _round_fast(n, da, rmode, False)
    return n


@nb.njit(cache=True)
def _zero_bounds(dp, da, rmode, both):
    """``(lo, hi)``: the integers ``v`` with ``|v| <= 2**62`` that :func:`_round_chain` takes
    to 0 (an interval holding 0: the rounding is monotone)."""
    top = np.int64(1) << 62
    a = np.int64(0)  # f(a) <= 0
    b = top
    if _round_chain(b, dp, da, rmode, both) <= 0:
        hi = b
    else:  # f(a) <= 0 < f(b)
        while b - a > 1:
            m = a + (b - a) // 2
            if _round_chain(m, dp, da, rmode, both) <= 0:
                a = m
            else:
                b = m
        hi = a
    a = -top  # f(a) < 0 <= f(b)
    b = np.int64(0)
    if _round_chain(a, dp, da, rmode, both) >= 0:
        lo = a
    else:
        while b - a > 1:
            m = a + (b - a) // 2
            if _round_chain(m, dp, da, rmode, both) >= 0:
                b = m
            else:
                a = m
        lo = b
    return lo, hi


def zero_bounds(sh, rmode: int) -> np.ndarray:
    """``[lo_p, hi_p, lo_a, hi_a]`` for :func:`fir_direct_counts`: the products ``v`` whose cast
    into the product type is 0, and those whose product cast and then accumulator cast is 0
    (shifts ``sh[0]``, ``sh[1]`` in ``[0, 62]``, a deterministic rounding)."""
    dp, da = int(sh[0]), int(sh[1])
    out = np.empty(4, dtype=np.int64)
    out[0], out[1] = _zero_bounds(dp, da, int(rmode), False)
    out[2], out[3] = _zero_bounds(dp, da, int(rmode), True)
    return out


@nb.njit(cache=True)
def _ceil_div(a, c):
    return -((-a) // c)


@nb.njit(inline="always", cache=True)
def _in_ranges(xs, l1, h1, l2, h2):
    """How many of *xs* lie in ``[l1, h1]``, in ``[l2, h2]`` (both hold 0), and are 0: one
    unsigned compare per range (``x - l`` modulo ``2**64`` is at most ``h - l`` exactly
    for ``l <= x <= h``), branch-free, vectorised."""
    w1 = np.uint64(h1 - l1)
    w2 = np.uint64(h2 - l2)
    n1 = np.int64(0)
    n2 = np.int64(0)
    nz = np.int64(0)
    for j in range(xs.shape[0]):
        x = xs[j]
        n1 += np.int64(np.uint64(x - l1) <= w1)
        n2 += np.int64(np.uint64(x - l2) <= w2)
        nz += np.int64(x == 0)
    return n1, n2, nz


@nb.njit(cache=True)
def fir_direct_counts(xe, h, tp, sh, start, step, count, rmode, omode, zb, cnt):
    """The overflow and underflow counts of :func:`fir_direct`'s frame, when the frame proves
    that no cast overflows; returns whether it did (then the underflows are added to ``cnt``
    and the frame's overflow counts are 0), else leaves ``cnt`` alone.

    For casts by ``sh[0]``, ``sh[1]`` in ``[0, 62]`` under a deterministic rounding and a
    saturating or wrapping mode (the caller checks; *zb* is :func:`zero_bounds`). The bound:
    with every sample in ``[x0, x1]``, tap ``k``'s product lies between ``h[k] x0`` and
    ``h[k] x1``, its casts between the casts of those (monotone), and, while nothing
    overflows, every partial sum between the sums of those bounds; all of it in the types
    (``lo + 1`` for a symmetric saturation of a signed type) means no cast changes a value.
    """
    nt = h.shape[0]
    if count <= 0:
        return True
    a0 = start - (nt - 1)
    a1 = start + (count - 1) * step
    x0 = xe[a0]
    x1 = x0
    for i in range(a0, a1 + 1):
        v = xe[i]
        x0 = min(x0, v)
        x1 = max(x1, v)
    dp = sh[0]
    da = sh[1]
    sym = omode == SAT_SYM
    loP = tp[0, 2] + (1 if sym and tp[0, 1] != 0 else 0)
    hiP = tp[0, 3]
    loA = tp[1, 2] + (1 if sym and tp[1, 1] != 0 else 0)
    hiA = tp[1, 3]
    lim = (np.int64(1) << 62) // nt
    if -loA > lim or hiA > lim:  # the sums of the bounds could leave int64
        return False
    slo = np.int64(0)
    shi = np.int64(0)
    for k in range(nt):
        c = h[k]
        v0 = c * x0
        v1 = c * x1
        nlo = _round_fast(min(v0, v1), dp, rmode, False)
        nhi = _round_fast(max(v0, v1), dp, rmode, False)
        if nlo < loP or nhi > hiP:
            return False
        tlo = _round_fast(nlo, da, rmode, False)
        thi = _round_fast(nhi, da, rmode, False)
        if tlo < loA or thi > hiA:
            return False
        slo += tlo
        shi += thi
        if slo < loA or shi > hiA:
            return False
    if zb[0] == 0 and zb[1] == 0 and zb[2] == 0 and zb[3] == 0:
        return True  # only a zero product casts to 0: no underflow
    up = np.int64(0)
    ua = np.int64(0)
    for k in range(nt):
        c = h[k]
        if c == 0:
            continue  # every product is 0
        # the samples whose product lies in [zb[0], zb[1]] (cast to 0), [zb[2], zb[3]]
        if c > 0:
            l1 = _ceil_div(zb[0], c)
            h1 = zb[1] // c
            l2 = _ceil_div(zb[2], c)
            h2 = zb[3] // c
        else:
            l1 = _ceil_div(zb[1], c)
            h1 = zb[0] // c
            l2 = _ceil_div(zb[3], c)
            h2 = zb[2] // c
        base = start - k
        if step == 1:
            n1, n2, nz = _in_ranges(xe[base:base + count], l1, h1, l2, h2)
        else:
            n1, n2, nz = _in_ranges(xe[base:base + (count - 1) * step + 1:step], l1, h1, l2,
                                    h2)
        up += n1 - nz  # a nonzero product cast to 0
        ua += n2 - n1  # a nonzero product cast whose accumulator cast is 0
    cnt[FIR_PRODUCT, 1] += up
    cnt[FIR_ACC, 1] += ua
    return True


def counts_by_proof(sh, rmode: int, omode: int) -> bool:
    """Whether :func:`fir_direct_counts` applies to casts by ``sh[:2]`` in these modes."""
    return (all(0 <= int(d) <= 62 for d in sh[:2]) and int(rmode) != STOCHASTIC
            and int(omode) in (SATURATE, WRAP, SAT_SYM, SAT_ZERO))


def _make_fir_transposed(RM, OM, C, FA):
    @nb.njit(cache=True)
    def fir_transposed(x, h, tp, sh, rmode, omode, z, out, cnt):
        """Transposed form: ``z[k]`` (k = 1..N-1, in the accumulator type) holds the partial
        sum ``h[k] x[n] + z[k+1]`` registered at each sample; ``z[0]`` is unused."""
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tP = _row(tp, 0)
        tA = _row(tp, 1)
        nt = h.shape[0]
        dp = sh[0]
        da = sh[1]
        for n in range(x.shape[0]):
            xn = x[n]
            for k in range(nt):
                v = h[k] * xn
                p, o = _rq(v, dp, tP, R, OV, FA)
                if C:
                    _tally(cnt, FIR_PRODUCT, v, p, o)
                t, o = _rq(p, da, tA, R, OV, FA)
                if C:
                    _tally(cnt, FIR_ACC, p, t, o)
                if k < nt - 1:
                    s = t + z[k + 1]
                    r, o = _rq(s, 0, tA, R, OV, FA)
                    if C:
                        _tally(cnt, FIR_ACC, s, r, o)
                else:
                    r = t
                if k == 0:
                    out[n] = r
                else:
                    z[k] = r

    return fir_transposed


def _make_fir_symmetric(RM, OM, C, FA):
    @nb.njit(cache=True)
    def fir_symmetric(xe, h, sign, tp, sh, start, step, rmode, omode, out, cnt):
        """Symmetric (``sign = 1``) or antisymmetric (``sign = -1``) form at the positions
        ``m = start + j * step`` of ``xe``: for ``k = 0 .. N//2 - 1`` the pre-adder
        ``cast_pre(xe[m - k] + sign * xe[m - (N-1-k)])`` times ``h[k]``; for odd ``N`` (symmetric
        only) the middle tap ``cast_pre(xe[m - (N-1)/2])`` times its coefficient comes last.
        Products and partial sums are cast as in the direct form."""
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tP = _row(tp, 0)
        tA = _row(tp, 1)
        tE = _row(tp, 2)
        nt = h.shape[0]
        half = nt // 2
        mid = (nt % 2 == 1) and sign > 0
        dp = sh[0]
        da = sh[1]
        de = sh[2]
        nterm = half + (1 if mid else 0)
        for j in range(out.shape[0]):
            m = start + j * step
            acc = np.int64(0)
            for i in range(nterm):
                if i < half:
                    a = xe[m - i] + sign * xe[m - (nt - 1 - i)]
                    hk = h[i]
                else:
                    a = xe[m - half]
                    hk = h[half]
                e, o = _rq(a, de, tE, R, OV, FA)
                if C:
                    _tally(cnt, FIR_PRE, a, e, o)
                v = hk * e
                p, o = _rq(v, dp, tP, R, OV, FA)
                if C:
                    _tally(cnt, FIR_PRODUCT, v, p, o)
                t, o = _rq(p, da, tA, R, OV, FA)
                if C:
                    _tally(cnt, FIR_ACC, p, t, o)
                if i == 0:
                    acc = t
                else:
                    s = acc + t
                    acc, o = _rq(s, 0, tA, R, OV, FA)
                    if C:
                        _tally(cnt, FIR_ACC, s, acc, o)
            out[j] = acc

    return fir_symmetric


def _make_fir_interp(RM, OM, C, FA):
    @nb.njit(cache=True)
    def fir_interp(xe, h, L, hist, tp, sh, rmode, omode, out, cnt):
        """Polyphase interpolation by ``L``: input ``n`` (at ``xe[hist + n]``, after ``hist``
        samples of history) gives ``out[n L + p] = sum_j h[j L + p] xe[hist + n - j]`` for
        ``p = 0 .. L-1``, over ``j = 0, 1, ...`` (``j L + p < N``) in that order, cast as in the
        direct form. A phase with no tap gives 0."""
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tP = _row(tp, 0)
        tA = _row(tp, 1)
        nt = h.shape[0]
        dp = sh[0]
        da = sh[1]
        nx = xe.shape[0] - hist
        for n in range(nx):
            m = hist + n
            for p in range(L):
                acc = np.int64(0)
                j = 0
                k = p
                while k < nt:
                    v = h[k] * xe[m - j]
                    q, o = _rq(v, dp, tP, R, OV, FA)
                    if C:
                        _tally(cnt, FIR_PRODUCT, v, q, o)
                    t, o = _rq(q, da, tA, R, OV, FA)
                    if C:
                        _tally(cnt, FIR_ACC, q, t, o)
                    if j == 0:
                        acc = t
                    else:
                        s = acc + t
                        acc, o = _rq(s, 0, tA, R, OV, FA)
                        if C:
                            _tally(cnt, FIR_ACC, s, acc, o)
                    j += 1
                    k += L
                out[n * L + p] = acc

    return fir_interp


# -- biquad cascades ---------------------------------------------------------------------------
# tp rows: 0 numerator product, 1 denominator product, 2 accumulator, 3 state, 4 section.
# sh: [d_bn (Fs + Fb - Fpn), d_an (Fs + Fa - Fpd), d_pn_acc (Fpn - Facc), d_pd_acc (Fpd - Facc),
#      d_acc_state (Facc - Fz), d_state_acc (Fz - Facc), d_acc_sec (Facc - Fs)]


def _make_sos_df1(RM, OM, C, FA, SH=None, IR=None):
    KS = SH is not None
    S0, S1, S2, S3, S4, S5, S6 = (int(v) for v in SH) if KS else (0,) * 7
    # casts proven never to overflow (see ``kernel``): numerator and denominator products,
    # products into the accumulator (numerator, denominator), partial sums, section output
    XN, XD, XNA, XDA, XS, XY = (bool(v) for v in IR) if IR else (False,) * 6

    @nb.njit(cache=True)
    def sos_df1(x, b, a, tp, sh, rmode, omode, st, out, cnt):
        """Direct form I. ``b`` (L, 3) and ``a`` (L, 3) stored coefficients (``a[:, 0]``
        unused); ``st`` (L, 4) = ``[u[n-1], u[n-2], y[n-1], y[n-2]]`` per section, updated in
        place. ``x`` is already in the section type.

        ``acc = b0 u0 + b1 u1 + b2 u2 - a1 y1 - a2 y2`` term by term in that order, each
        product cast to its product type then to the accumulator type, each partial sum cast
        to the accumulator type; ``y = cast(acc)`` into the section type feeds back and on.
        """
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tN = _row(tp, 0)
        tD = _row(tp, 1)
        tA = _row(tp, 2)
        tS = _row(tp, 4)
        if KS:  # shifts known when compiled: constants (~1.6x faster than loads)
            d0, d1, d2, d3, d6 = S0, S1, S2, S3, S6
        else:
            d0 = sh[0]
            d1 = sh[1]
            d2 = sh[2]
            d3 = sh[3]
            d6 = sh[6]
        L = b.shape[0]
        for n in range(x.shape[0]):
            u = x[n]
            for s in range(L):
                u1 = st[s, 0]
                u2 = st[s, 1]
                y1 = st[s, 2]
                y2 = st[s, 3]
                acc = np.int64(0)
                for i in range(5):  # b0 u0 + b1 u1 + b2 u2 - a1 y1 - a2 y2, in that order
                    if i == 0:
                        v = b[s, 0] * u
                    elif i == 1:
                        v = b[s, 1] * u1
                    elif i == 2:
                        v = b[s, 2] * u2
                    elif i == 3:
                        v = a[s, 1] * y1
                    else:
                        v = a[s, 2] * y2
                    if i < 3:
                        p, o = _rqs(v, d0, tN, R, OV, FA, XN)
                        if C:
                            _tally(cnt, SOS_PRODUCT, v, p, o)
                        t, o = _rqs(p, d2, tA, R, OV, FA, XNA)
                    else:
                        p, o = _rqs(v, d1, tD, R, OV, FA, XD)
                        if C:
                            _tally(cnt, SOS_PRODUCT, v, p, o)
                        t, o = _rqs(p, d3, tA, R, OV, FA, XDA)
                    if C:
                        _tally(cnt, SOS_ACC, p, t, o)
                    if i == 0:
                        acc = t
                    else:
                        w = acc + t if i < 3 else acc - t
                        acc, o = _rqs(w, 0, tA, R, OV, FA, XS)
                        if C:
                            _tally(cnt, SOS_ACC, w, acc, o)
                y, o = _rqs(acc, d6, tS, R, OV, FA, XY)
                if C:
                    _tally(cnt, SOS_SECTION, acc, y, o)
                st[s, 1] = u1
                st[s, 0] = u
                st[s, 3] = y1
                st[s, 2] = y
                u = y
            out[n] = u

    return sos_df1


def _make_sos_df2t(RM, OM, C, FA, SH=None, IR=None):
    KS = SH is not None
    S0, S1, S2, S3, S4, S5, S6 = (int(v) for v in SH) if KS else (0,) * 7

    @nb.njit(cache=True)
    def sos_df2t(x, b, a, tp, sh, rmode, omode, st, out, cnt):
        """Direct form II transposed. ``st`` (L, 2) = ``[z1, z2]`` per section (state type),
        updated in place. ``x`` is already in the section type.

        ``y = cast_S(b0 u + z1)``; ``z1 = cast_Z((b1 u + z2) - a1 y)``;
        ``z2 = cast_Z(b2 u - a2 y)``, with every product cast to its product type then to the
        accumulator type, the states cast to the accumulator type before they are added, and
        every partial sum cast to the accumulator type.
        """
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        tN = _row(tp, 0)
        tD = _row(tp, 1)
        tA = _row(tp, 2)
        tZ = _row(tp, 3)
        tS = _row(tp, 4)
        if KS:  # shifts known when compiled: constants
            d0, d1, d2, d3, d4, d5, d6 = S0, S1, S2, S3, S4, S5, S6
        else:
            d0 = sh[0]
            d1 = sh[1]
            d2 = sh[2]
            d3 = sh[3]
            d4 = sh[4]
            d5 = sh[5]
            d6 = sh[6]
        L = b.shape[0]
        for n in range(x.shape[0]):
            u = x[n]
            for s in range(L):
                # the states into the accumulator type
                v = st[s, 0]
                z1, o = _rq(v, d5, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, v, z1, o)
                v = st[s, 1]
                z2, o = _rq(v, d5, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, v, z2, o)
                # the five products, each into its product type, then the accumulator type
                # (in the order b0 u, b1 u, a1 y, b2 u, a2 y)
                v = b[s, 0] * u
                p, o = _rq(v, d0, tN, R, OV, FA)
                if C:
                    _tally(cnt, SOS_PRODUCT, v, p, o)
                t0, o = _rq(p, d2, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, p, t0, o)
                w = t0 + z1
                acc, o = _rq(w, 0, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, w, acc, o)
                y, o = _rq(acc, d6, tS, R, OV, FA)
                if C:
                    _tally(cnt, SOS_SECTION, acc, y, o)
                v = b[s, 1] * u
                p, o = _rq(v, d0, tN, R, OV, FA)
                if C:
                    _tally(cnt, SOS_PRODUCT, v, p, o)
                t1, o = _rq(p, d2, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, p, t1, o)
                w = t1 + z2
                acc, o = _rq(w, 0, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, w, acc, o)
                v = a[s, 1] * y
                p, o = _rq(v, d1, tD, R, OV, FA)
                if C:
                    _tally(cnt, SOS_PRODUCT, v, p, o)
                t2, o = _rq(p, d3, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, p, t2, o)
                w = acc - t2
                acc, o = _rq(w, 0, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, w, acc, o)
                r, o = _rq(acc, d4, tZ, R, OV, FA)
                if C:
                    _tally(cnt, SOS_STATE, acc, r, o)
                st[s, 0] = r
                v = b[s, 2] * u
                p, o = _rq(v, d0, tN, R, OV, FA)
                if C:
                    _tally(cnt, SOS_PRODUCT, v, p, o)
                t3, o = _rq(p, d2, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, p, t3, o)
                v = a[s, 2] * y
                p, o = _rq(v, d1, tD, R, OV, FA)
                if C:
                    _tally(cnt, SOS_PRODUCT, v, p, o)
                t4, o = _rq(p, d3, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, p, t4, o)
                w = t3 - t4
                acc, o = _rq(w, 0, tA, R, OV, FA)
                if C:
                    _tally(cnt, SOS_ACC, w, acc, o)
                r, o = _rq(acc, d4, tZ, R, OV, FA)
                if C:
                    _tally(cnt, SOS_STATE, acc, r, o)
                st[s, 1] = r
                u = y
            out[n] = u

    return sos_df2t


# -- the exact FIR with its output cast (the full-precision fast path) ----------------------------
#: input samples per block of ``fir_exact``: its window of the input is converted into a local
#: buffer that stays in the L1 cache
_BLOCK_IN = 4096


@nb.njit(inline="always", cache=True)
def _fill(hist, x, e0, buf, m):
    """``buf[t] = ext[e0 + t]`` for ``t < m``, where ``ext`` is *hist* followed by *x* (the
    history-extended frame, never built), converted to the buffer's dtype."""
    H = hist.shape[0]
    a = min(max(H - e0, 0), m)  # the first a entries come from the history
    if a > 0:
        src = hist[e0:e0 + a]
        for t in range(a):
            buf[t] = src[t]
    # views and indices from 0: LLVM sees non-negative indices (no wraparound, no gathers)
    # and vectorises the conversion
    src = x[e0 + a - H:e0 + m - H]
    dst = buf[a:m]
    for t in range(m - a):
        dst[t] = src[t]


@nb.njit(inline="always", cache=True, fastmath=True)
def _dot8(buf, b, step, hr, zero):
    """The eight sums ``sum_i hr[i] buf[b + u step + i]`` (``u = 0..7``): eight accumulators
    over the same taps (each tap loaded once for eight outputs), the loop over taps vectorised
    (see ``fir_exact`` for why reassociating it is exact)."""
    nt = hr.shape[0]
    w0 = buf[b:b + nt]
    w1 = buf[b + step:b + step + nt]
    w2 = buf[b + 2 * step:b + 2 * step + nt]
    w3 = buf[b + 3 * step:b + 3 * step + nt]
    w4 = buf[b + 4 * step:b + 4 * step + nt]
    w5 = buf[b + 5 * step:b + 5 * step + nt]
    w6 = buf[b + 6 * step:b + 6 * step + nt]
    w7 = buf[b + 7 * step:b + 7 * step + nt]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
    for i in range(nt):
        hi = hr[i]
        s0 += hi * w0[i]
        s1 += hi * w1[i]
        s2 += hi * w2[i]
        s3 += hi * w3[i]
        s4 += hi * w4[i]
        s5 += hi * w5[i]
        s6 += hi * w6[i]
        s7 += hi * w7[i]
    return s0, s1, s2, s3, s4, s5, s6, s7


@nb.njit(inline="always", cache=True, fastmath=True)
def _sums(buf, hr, step, m, acc, zero):
    """``acc[j] = sum_i hr[i] buf[j step + i]`` for ``j < m`` (as int64), eight at a time."""
    nt = hr.shape[0]
    for j in range(0, m - 7, 8):
        s = _dot8(buf, j * step, step, hr, zero)
        acc[j] = np.int64(s[0])
        acc[j + 1] = np.int64(s[1])
        acc[j + 2] = np.int64(s[2])
        acc[j + 3] = np.int64(s[3])
        acc[j + 4] = np.int64(s[4])
        acc[j + 5] = np.int64(s[5])
        acc[j + 6] = np.int64(s[6])
        acc[j + 7] = np.int64(s[7])
    for j in range(m // 8 * 8, m):  # the last outputs of the frame, one by one
        w = buf[j * step:j * step + nt]
        t = zero
        for i in range(nt):
            t += hr[i] * w[i]
        acc[j] = np.int64(t)


def _make_fir_exact(RM, OM, C, FA):
    @nb.njit(cache=True, fastmath=True, nogil=True)
    def fir_exact(hist, x, hr, start, step, d, tp, rmode, omode, out, cnt):
        """The exact FIR fused with its output cast: ``out[j] = cast(sum_i hr[i] ext[m - N + 1
        + i])`` at ``m = start + j step`` (``m >= N - 1``), where ``ext`` is *hist* followed by
        *x* (int64 stored integers; ``hr`` is the impulse response reversed) and ``cast`` is
        ``_rq`` by ``d`` into the type row ``tp[0]``. ``cnt[0:2] +=`` the overflows and
        underflows of the casts (with the tallies compiled in).

        The sums run in ``hr``'s dtype. float64 is exact only when every partial sum, in any
        order, is an integer of magnitude at most ``2**53``: the caller guarantees ``sum|h|
        max|x| <= 2**53`` (stored integers), and every partial sum of a dot product, however
        it is grouped, is the sum of a subset of its terms ``h[i] x[.]`` (each an integer), so
        its magnitude is at most that bound and no product or addition rounds. That is why
        ``fastmath`` (reassociation into vector lanes, fused multiply-adds; no NaN or infinity
        can occur) is safe here, and why the result does not depend on how outputs are grouped
        or split between threads. int64 sums are exact when the bound is below ``2**63``.

        The input is read in blocks of about ``_BLOCK_IN`` samples, converted into a local
        buffer (no float64 copy of the frame, no history-extended frame is built); eight
        outputs are summed at once, the block's sums cast in one (vectorisable) pass.
        """
        R = RM if RM >= 0 else rmode
        OV = OM if OM >= 0 else omode
        nt = hr.shape[0]
        n = out.shape[0]
        tO = _row(tp, 0)
        zero = hr[0] - hr[0]  # 0 in the sums' dtype
        B = max(8, (_BLOCK_IN // step) // 8 * 8)  # outputs per block
        buf = np.empty((B - 1) * step + nt, dtype=hr.dtype)
        acc = np.empty(B, dtype=np.int64)
        novf = np.int64(0)
        nunf = np.int64(0)
        for ja in range(0, n, B):
            nb_ = min(B, n - ja)
            _fill(hist, x, start + ja * step - nt + 1, buf, (nb_ - 1) * step + nt)
            if step == 1:  # a constant stride (inlined): the unit-stride loop is faster
                _sums(buf, hr, 1, nb_, acc, zero)
            else:
                _sums(buf, hr, step, nb_, acc, zero)
            ov = out[ja:ja + nb_]
            for k in range(nb_):
                v = acc[k]
                r, o = _rq(v, d, tO, R, OV, FA)
                if C:
                    novf += o
                    nunf += np.int64((o == 0) & (r == 0) & (v != 0))
                ov[k] = r
        cnt[0] += novf
        cnt[1] += nunf

    return fir_exact


_FACTORIES = {
    "fir_direct": _make_fir_direct,
    "fir_transposed": _make_fir_transposed,
    "fir_symmetric": _make_fir_symmetric,
    "fir_interp": _make_fir_interp,
    "fir_exact": _make_fir_exact,
    "sos_df1": _make_sos_df1,
    "sos_df2t": _make_sos_df2t,
}
_KERNELS: dict = {}
#: kinds whose mode-specialised loops are also compiled for their shifts (all seven ``sh``)
_CONST_SHIFTS = ("sos_df1", "sos_df2t")


def kernel(kind: str, rmode: int, omode: int, count: bool, specialise: bool = False,
           shifts=(), inrange=()):
    """The compiled per-sample kernel *kind*, with or without the overflow/underflow tallies.

    With *specialise*, the loop is compiled for this (rounding, overflow) pair (the mode
    arguments are then ignored); otherwise one loop serves every mode (the modes are run-time
    arguments). *shifts* lists every ``Fsrc - Fdst`` the kernel will cast by (the ``sh``
    entries it uses): when all are in ``[0, 62]`` and the overflow mode saturates or wraps, a
    specialised loop drops the general ``requant_one`` route altogether. Built and compiled
    on first use, then cached (in memory and on disk).

    *inrange* (``sos_df1``, with the shifts): six flags, one per cast of the loop (numerator
    and denominator products, those products into the accumulator, the partial sums, the
    section output), each true when the caller proved from the types and the coefficients that
    the rounded value always lies in the target type. Every overflow mode leaves such a value
    alone, so the specialised loop drops that overflow step (the same bits, nothing to count).
    """
    fast = bool(specialise and len(shifts) > 0 and all(0 <= int(d) <= 62 for d in shifts)
                and int(omode) in (SATURATE, WRAP, SAT_SYM, SAT_ZERO)
                and int(rmode) != STOCHASTIC)
    key = (kind, int(rmode) if specialise else -1, int(omode) if specialise else -1,
           bool(count), fast)
    if fast and kind in _CONST_SHIFTS:
        # the biquad loops are latency bound: with the shifts as compile-time constants
        # LLVM folds the rounding constants and the shift-free casts (one loop per shift set)
        key += (tuple(int(d) for d in shifts),)
        if kind == "sos_df1":
            key += (tuple(bool(v) for v in inrange) if len(inrange) else None,)
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = _FACTORIES[kind](*key[1:])
    return k


# -- exact integer dot products (the full-precision fast path) -----------------------------------
@nb.njit(cache=True, fastmath=True, nogil=True)
def dot_exact_f64(xe, hr, start, step, out):
    """``out[j] = sum_i hr[i] xe[m - N + 1 + i]`` at ``m = start + j step`` (``hr`` is the
    impulse response reversed), on integer-valued float64.

    Exact only when every partial sum, in any order, is an integer of magnitude at most
    ``2**53``: the caller guarantees ``sum|h| max|x| <= 2**53`` (stored integers). Under that
    bound reassociation cannot round, which is why ``fastmath`` (vectorised reduction) is
    safe here. *out* may be float64 or int64 (the integer-valued sums convert exactly)."""
    nt = hr.shape[0]
    for j in range(out.shape[0]):
        b = start + j * step - nt + 1
        w = xe[b:b + nt]  # a window view: non-negative indices, so the loop vectorises
        s = 0.0
        for i in range(nt):
            s += hr[i] * w[i]
        out[j] = s


@nb.njit(cache=True, nogil=True)
def dot_exact_i64(xe, hr, start, step, out):
    """The int64 twin of :func:`dot_exact_f64`; exact when ``sum|h| max|x| < 2**63``."""
    nt = hr.shape[0]
    for j in range(out.shape[0]):
        b = start + j * step - nt + 1
        w = xe[b:b + nt]
        s = np.int64(0)
        for i in range(nt):
            s += hr[i] * w[i]
        out[j] = s



#: outputs from which :func:`dot_exact_split` runs the dot products on several threads
SPLIT_MIN = 65_536
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _workers() -> int:
    """Cores this process may run on (at most 4: the dot products are memory bound)."""
    return max(1, min(4, usable_cpus()))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="fixsim-dot")
        return _POOL


def dot_exact_split(kern, xe, hr, start: int, step: int, out, min_split: int = SPLIT_MIN,
                    parts: int | None = None) -> None:
    """Run the exact dot-product kernel *kern* (:func:`dot_exact_f64` or
    :func:`dot_exact_i64`, both ``nogil``) over contiguous blocks of *out* on a thread pool.

    Block ``i`` covers outputs ``[a, b)`` and starts at position ``start + a * step``; each
    output is computed by exactly the same loop as in a single call, so the result is
    bit-identical (every partial sum is exact under the kernels' bounds). Frames of fewer
    than *min_split* outputs, or a single core, run in the calling thread.
    """
    n = out.shape[0]
    k = _workers() if parts is None else int(parts)
    if n < max(min_split, 2) or k < 2:
        kern(xe, hr, start, step, out)
        return
    k = min(k, n)
    edges = [n * i // k for i in range(k + 1)]
    pool = _pool()
    futs = [pool.submit(kern, xe, hr, start + edges[i] * step, step, out[edges[i]:edges[i + 1]])
            for i in range(1, k)]
    kern(xe, hr, start, step, out[:edges[1]])  # the first block in this thread
    for f in futs:
        f.result()



def fir_exact_split(kern, hist, x, hr, start: int, step: int, d: int, tp, rmode: int,
                    omode: int, out, min_split: int = SPLIT_MIN,
                    parts: int | None = None) -> tuple[int, int]:
    """Run a fused exact FIR kernel (``kernel('fir_exact', ...)``, ``nogil``) over *out*,
    on the thread pool when *out* has at least *min_split* outputs; returns the (overflow,
    underflow) counts of its output casts.

    The outputs are cut into ``8 * parts`` contiguous chunks that the calling thread and
    ``parts - 1`` pool threads take in turn (a thread slowed down by another process just
    takes fewer chunks). Chunk ``[a, b)`` starts at position ``start + a * step``; every output
    is computed by the same exact loop as in a single call, so the result is bit-identical.
    """
    n = out.shape[0]
    k = _workers() if parts is None else int(parts)
    if n < max(min_split, 2) or k < 2:
        cnt = np.zeros(2, dtype=np.int64)
        kern(hist, x, hr, start, step, d, tp, rmode, omode, out, cnt)
        return int(cnt[0]), int(cnt[1])
    nchunk = min(n, 8 * k)
    edges = [n * i // nchunk for i in range(nchunk + 1)]
    cnts = np.zeros((nchunk, 2), dtype=np.int64)
    order = iter(range(nchunk))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(order, -1)
            if i < 0:
                return
            a, b = edges[i], edges[i + 1]
            kern(hist, x, hr, start + a * step, step, d, tp, rmode, omode, out[a:b], cnts[i])

    pool = _pool()
    futs = [pool.submit(work) for _ in range(k - 1)]
    work()
    for f in futs:
        f.result()
    return int(cnts[:, 0].sum()), int(cnts[:, 1].sum())


# -- double-precision FIR ------------------------------------------------------------------------
@nb.njit(cache=True)
def fir_f64(xe, h, out):
    """``out[n] = sum_k h[k] xe[n + N - 1 - k]`` in float64, summed in increasing ``k`` from
    0.0 for every output, so the result does not depend on how a signal is split into frames
    (``xe`` holds ``N - 1`` samples of history, then the new samples)."""
    nt = h.shape[0]
    for n in range(out.shape[0]):
        out[n] = 0.0
    for k in range(nt):
        hk = h[k]
        off = nt - 1 - k
        for n in range(out.shape[0]):
            out[n] += hk * xe[n + off]


@nb.njit(cache=True)
def fir_f64_strided(xe, h, start, step, out):
    """``out[j] = sum_k h[k] xe[m - k]`` at ``m = start + j step``, in float64, summed in
    increasing ``k`` (frame-split invariant)."""
    nt = h.shape[0]
    for j in range(out.shape[0]):
        m = start + j * step
        s = 0.0
        for k in range(nt):
            s += h[k] * xe[m - k]
        out[j] = s


@nb.njit(cache=True)
def interp_f64(xe, h, L, hist, out):
    """Polyphase interpolation in float64 (see the fixed kernel ``fir_interp``), summed in
    increasing tap order (frame-split invariant)."""
    nt = h.shape[0]
    nx = xe.shape[0] - hist
    for n in range(nx):
        m = hist + n
        for p in range(L):
            s = 0.0
            j = 0
            k = p
            while k < nt:
                s += h[k] * xe[m - j]
                j += 1
                k += L
            out[n * L + p] = s
