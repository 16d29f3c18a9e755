"""Per-sample filter kernels on int64 stored integers (FIR with quantized products and
accumulators, biquad cascades in direct form I and direct form II transposed).

Plain int64 arrays and integer mode codes only (see ``fixsim._core._modes``). A *type* is
passed as a row of an int64 table ``tp``: ``[W, signed, lo, hi, mask, signbit, wbit]`` (see
:func:`type_row`); every type here has ``W + (not signed) <= 63`` so its stored integers and the
sum or difference of two of them fit int64. The callers in ``fixsim.signal`` also check that
every product of a coefficient and a sample fits int64 (``width(coef) + width(sample) <= 64``:
``|c * x| <= 2**62``), before they call a kernel; the kernels do not check.

Every cast is the single-value requantization of ``fixsim._kernels._quantize.requant_one``
(itself built on the helpers of :mod:`._quantize`), so rounding and overflow are decided
exactly as in every other fixsim cast. The rounding and overflow codes are run-time arguments,
so each kernel compiles once (a mode-specialised factory as in :mod:`._fastq` would fold the
mode branches away at the price of one compilation per mode pair). Stochastic rounding is not
supported here.

Overflow/underflow counts are accumulated per *signal* into ``cnt[signal, 0:2]`` so that the
caller can report them under the signal's probe name.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._quantize import requant_one

__all__ = ["type_row", "fir_direct", "fir_transposed", "sos_df1", "sos_df2t"]

# signal rows of the count table
FIR_PRODUCT, FIR_ACC = 0, 1
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


@nb.njit(cache=True)
def _cast(v, d, tp, t, rmode, omode, cnt, sig):
    """Cast the exact int64 ``v`` (``d = Fsrc - Fdst``) into type row ``t``; count it."""
    r, o = requant_one(v, d, tp[t, 0], tp[t, 1] != 0, rmode, omode, _U0, tp[t, 2], tp[t, 3],
                        tp[t, 4], tp[t, 5], tp[t, 6])
    cnt[sig, 0] += o
    if o == 0 and r == 0 and v != 0:
        cnt[sig, 1] += 1
    return r


# -- FIR ------------------------------------------------------------------------------------------
# tp rows: 0 product, 1 accumulator. sh: [d_prod (Fx + Fh - Fp), d_acc (Fp - Fa)]


@nb.njit(cache=True)
def fir_direct(xe, h, tp, sh, rmode, omode, out, cnt):
    """Direct form: ``out[n] = acc`` after adding the cast products of taps 0, 1, ...
    ``xe`` holds ``len(h) - 1`` samples of history, then the new samples."""
    nt = h.shape[0]
    dp = sh[0]
    da = sh[1]
    for n in range(out.shape[0]):
        m = n + nt - 1
        p = _cast(h[0] * xe[m], dp, tp, 0, rmode, omode, cnt, FIR_PRODUCT)
        acc = _cast(p, da, tp, 1, rmode, omode, cnt, FIR_ACC)
        for k in range(1, nt):
            p = _cast(h[k] * xe[m - k], dp, tp, 0, rmode, omode, cnt, FIR_PRODUCT)
            t = _cast(p, da, tp, 1, rmode, omode, cnt, FIR_ACC)
            acc = _cast(acc + t, 0, tp, 1, rmode, omode, cnt, FIR_ACC)
        out[n] = acc


@nb.njit(cache=True)
def fir_transposed(x, h, tp, sh, rmode, omode, z, out, cnt):
    """Transposed form: ``z[k]`` (k = 1..N-1, in the accumulator type) holds the partial
    sum ``h[k] x[n] + z[k+1]`` registered at each sample; ``z[0]`` is unused."""
    nt = h.shape[0]
    dp = sh[0]
    da = sh[1]
    for n in range(x.shape[0]):
        xn = x[n]
        p = _cast(h[0] * xn, dp, tp, 0, rmode, omode, cnt, FIR_PRODUCT)
        t = _cast(p, da, tp, 1, rmode, omode, cnt, FIR_ACC)
        if nt > 1:
            out[n] = _cast(t + z[1], 0, tp, 1, rmode, omode, cnt, FIR_ACC)
        else:
            out[n] = t
        for k in range(1, nt):
            p = _cast(h[k] * xn, dp, tp, 0, rmode, omode, cnt, FIR_PRODUCT)
            t = _cast(p, da, tp, 1, rmode, omode, cnt, FIR_ACC)
            if k < nt - 1:
                z[k] = _cast(t + z[k + 1], 0, tp, 1, rmode, omode, cnt, FIR_ACC)
            else:
                z[k] = t


# -- biquad cascades ---------------------------------------------------------------------------
# tp rows: 0 numerator product, 1 denominator product, 2 accumulator, 3 state, 4 section.
# sh: [d_bn (Fs + Fb - Fpn), d_an (Fs + Fa - Fpd), d_pn_acc (Fpn - Facc), d_pd_acc (Fpd - Facc),
#      d_acc_state (Facc - Fz), d_state_acc (Fz - Facc), d_acc_sec (Facc - Fs)]


@nb.njit(cache=True)
def _num(c, v, tp, sh, rmode, omode, cnt):
    """``c * v`` cast to the numerator product type, then to the accumulator type."""
    p = _cast(c * v, sh[0], tp, 0, rmode, omode, cnt, SOS_PRODUCT)
    return _cast(p, sh[2], tp, 2, rmode, omode, cnt, SOS_ACC)


@nb.njit(cache=True)
def _den(c, v, tp, sh, rmode, omode, cnt):
    """``c * v`` cast to the denominator product type, then to the accumulator type."""
    p = _cast(c * v, sh[1], tp, 1, rmode, omode, cnt, SOS_PRODUCT)
    return _cast(p, sh[3], tp, 2, rmode, omode, cnt, SOS_ACC)


@nb.njit(cache=True)
def sos_df1(x, b, a, tp, sh, rmode, omode, st, out, cnt):
    """Direct form I. ``b`` (L, 3) and ``a`` (L, 3) stored coefficients (``a[:, 0]``
    unused); ``st`` (L, 4) = ``[u[n-1], u[n-2], y[n-1], y[n-2]]`` per section, updated in
    place. ``x`` is already in the section type.

    ``acc = b0 u0 + b1 u1 + b2 u2 - a1 y1 - a2 y2`` term by term in that order, each
    product cast to its product type then to the accumulator type, each partial sum cast
    to the accumulator type; ``y = cast(acc)`` into the section type feeds back and on.
    """
    L = b.shape[0]
    for n in range(x.shape[0]):
        u = x[n]
        for s in range(L):
            acc = _num(b[s, 0], u, tp, sh, rmode, omode, cnt)
            t = _num(b[s, 1], st[s, 0], tp, sh, rmode, omode, cnt)
            acc = _cast(acc + t, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            t = _num(b[s, 2], st[s, 1], tp, sh, rmode, omode, cnt)
            acc = _cast(acc + t, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            t = _den(a[s, 1], st[s, 2], tp, sh, rmode, omode, cnt)
            acc = _cast(acc - t, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            t = _den(a[s, 2], st[s, 3], tp, sh, rmode, omode, cnt)
            acc = _cast(acc - t, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            y = _cast(acc, sh[6], tp, 4, rmode, omode, cnt, SOS_SECTION)
            st[s, 1] = st[s, 0]
            st[s, 0] = u
            st[s, 3] = st[s, 2]
            st[s, 2] = y
            u = y
        out[n] = u


@nb.njit(cache=True)
def sos_df2t(x, b, a, tp, sh, rmode, omode, st, out, cnt):
    """Direct form II transposed. ``st`` (L, 2) = ``[z1, z2]`` per section (state type),
    updated in place. ``x`` is already in the section type.

    ``y = cast_S(b0 u + z1)``; ``z1 = cast_Z((b1 u + z2) - a1 y)``;
    ``z2 = cast_Z(b2 u - a2 y)``, with every product cast to its product type then to the
    accumulator type, the states cast to the accumulator type before they are added, and
    every partial sum cast to the accumulator type.
    """
    L = b.shape[0]
    for n in range(x.shape[0]):
        u = x[n]
        for s in range(L):
            z1 = _cast(st[s, 0], sh[5], tp, 2, rmode, omode, cnt, SOS_ACC)
            z2 = _cast(st[s, 1], sh[5], tp, 2, rmode, omode, cnt, SOS_ACC)
            t = _num(b[s, 0], u, tp, sh, rmode, omode, cnt)
            acc = _cast(t + z1, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            y = _cast(acc, sh[6], tp, 4, rmode, omode, cnt, SOS_SECTION)
            t = _num(b[s, 1], u, tp, sh, rmode, omode, cnt)
            acc = _cast(t + z2, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            t = _den(a[s, 1], y, tp, sh, rmode, omode, cnt)
            acc = _cast(acc - t, 0, tp, 2, rmode, omode, cnt, SOS_ACC)
            st[s, 0] = _cast(acc, sh[4], tp, 3, rmode, omode, cnt, SOS_STATE)
            t = _num(b[s, 2], u, tp, sh, rmode, omode, cnt)
            acc = _cast(t - _den(a[s, 2], y, tp, sh, rmode, omode, cnt), 0, tp, 2, rmode,
                        omode, cnt, SOS_ACC)
            st[s, 1] = _cast(acc, sh[4], tp, 3, rmode, omode, cnt, SOS_STATE)
            u = y
        out[n] = u


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
