"""Per-sample CIC (cascaded integrator-comb) kernels on int64 stored integers, and the
double-precision polyphase FIR forms of the same filters.

Integer kernels
---------------
Every register of a CIC is a two's complement word; the exact arithmetic of the filter is
linear with integer coefficients, so the result modulo ``2**W`` only depends on the inputs
modulo ``2**W``. The kernels therefore add and subtract in plain int64 (numba's int64
arithmetic wraps modulo ``2**64``) and reduce to the register width only where a register is
*read* (the output, and the records of the stage registers): with every register at most 64
bits wide and all registers sharing their most significant bit, the int64 value is congruent to
the W-bit register modulo ``2**W``.

Pruning (decimator) discards ``sh[j]`` more least significant bits at the input of stage ``j``
(an arithmetic right shift: floor, as hardware drops wires). A floor shift commutes with the
reduction modulo a power of two aligned at the same most significant bit
(``floor(v / 2**b) mod 2**(W - b) == floor((v mod 2**W) / 2**b) mod 2**(W - b)``), so the
shifted int64 value stays congruent to the narrower register; the caller ensures every
register is at most 64 bits wide, so the int64 value carries enough bits.

The interpolator's registers have different widths (Hogenauer's growth per stage); each is
wide enough for every value its stage can take, so no register ever wraps and int64 (64 bits
or fewer per register) is exact.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["cic_decimate", "cic_interpolate", "fir_decimate_f64", "fir_interpolate_f64",
           "cic_decimate_f64_stages", "cic_interpolate_f64_stages"]


@nb.njit(inline="always", cache=True)
def _sext(v, e):
    """Sign-extend the low ``64 - e`` bits of ``v`` (``e = 64 - W``, ``0 <= e < 64``)."""
    return (v << e) >> e


@nb.njit(cache=True)
def cic_decimate(x, R, sh, ext, integ, comb, st, out, rec_i, rec_c):
    """CIC decimator: N integrators at the input rate, keep one sample in R, N combs.

    Parameters
    ----------
    x : int64[:]
        Input stored integers (at the input LSB).
    R : int
        Decimation factor.
    sh : int64[2N]
        Bits discarded (floor) at the input of each stage, relative to the previous stage
        (integrators 1..N, then combs 1..N); all zeros without pruning.
    ext : int64[2N]
        ``64 - W_j`` for every stage register (for the records and the output).
    integ : int64[N]
        Integrator registers (updated in place).
    comb : int64[N, M]
        Comb delay lines (updated in place).
    st : int64[2]
        ``[samples to skip before the next output, delay-line position]`` (updated).
    out : int64[:]
        Output (last comb register, sign-extended); exactly as long as the outputs due.
    rec_i : int64[N, n] or empty
        Records of the integrator registers per input sample (when shape[0] > 0).
    rec_c : int64[N, n_out] or empty
        Records of the comb registers per output sample (when shape[0] > 0).
    """
    N = integ.shape[0]
    M = comb.shape[1]
    cnt = st[0]
    pos = st[1]
    k = 0
    e_out = ext[2 * N - 1]
    recording = rec_i.shape[0] > 0
    for n in range(x.shape[0]):
        v = x[n]
        for j in range(N):
            v = integ[j] + (v >> sh[j])
            integ[j] = v
            if recording:
                rec_i[j, n] = _sext(v, ext[j])
        if cnt == 0:
            for j in range(N):
                u = v >> sh[N + j]
                v = u - comb[j, pos]
                comb[j, pos] = u
                if recording:
                    rec_c[j, k] = _sext(v, ext[N + j])
            pos += 1
            if pos == M:
                pos = 0
            out[k] = _sext(v, e_out)
            k += 1
            cnt = R - 1
        else:
            cnt -= 1
    st[0] = cnt
    st[1] = pos


@nb.njit(cache=True)
def cic_interpolate(x, R, integ, comb, st, out, rec_c, rec_i):
    """CIC interpolator: N combs at the input rate, R - 1 zeros inserted after every sample,
    N integrators at the output rate.

    ``integ`` (N), ``comb`` (N, M) and ``st`` (``[delay-line position]``) are updated in place;
    ``out`` has ``R * len(x)`` entries. ``rec_c`` (N, n) and ``rec_i`` (N, R n) record the comb
    and integrator registers when their first dimension is nonzero. No register wraps (see the
    module notes), so no sign extension is needed.
    """
    N = integ.shape[0]
    M = comb.shape[1]
    pos = st[0]
    recording = rec_c.shape[0] > 0
    for m in range(x.shape[0]):
        v = x[m]
        for j in range(N):
            u = v
            v = u - comb[j, pos]
            comb[j, pos] = u
            if recording:
                rec_c[j, m] = v
        pos += 1
        if pos == M:
            pos = 0
        base = m * R
        for r in range(R):
            u = v if r == 0 else np.int64(0)
            for j in range(N):
                u = integ[j] + u
                integ[j] = u
                if recording:
                    rec_i[j, base + r] = u
            out[base + r] = u
    st[0] = pos


# -- double precision ------------------------------------------------------------------------------
@nb.njit(cache=True)
def fir_decimate_f64(xe, h, R, first, out):
    """``out[m] = sum_k h[k] xe[L - 1 + first + m R - k]`` (``L = len(h)``), summed in
    increasing ``k`` from 0.0, so the value does not depend on how a signal is split into
    frames. ``xe`` holds ``L - 1`` samples of history, then the new samples; ``first`` is the
    index (in the new samples) of the first output."""
    L = h.shape[0]
    for m in range(out.shape[0]):
        c = L - 1 + first + m * R
        s = 0.0
        for k in range(L):
            s += h[k] * xe[c - k]
        out[m] = s


@nb.njit(cache=True)
def fir_interpolate_f64(xe, h, R, J, out):
    """Zero-stuffing interpolation ``out[m R + p] = sum_j h[j R + p] xe[J - 1 + m - j]``
    (``xe``: ``J - 1`` samples of history, then the new ones), summed in increasing ``j``."""
    L = h.shape[0]
    n_in = out.shape[0] // R
    for m in range(n_in):
        for p in range(R):
            s = 0.0
            j = 0
            while j * R + p < L:
                s += h[j * R + p] * xe[J - 1 + m - j]
                j += 1
            out[m * R + p] = s


@nb.njit(cache=True)
def cic_decimate_f64_stages(x, R, integ, comb, st, rec_i, rec_c):
    """The decimator's stage registers in float64 (kept in double mode for the fixed-point
    tool's records): like :func:`cic_decimate` without wrap or pruning; ``st`` as there;
    ``rec_i``/``rec_c`` are filled when their first dimension is nonzero."""
    N = integ.shape[0]
    M = comb.shape[1]
    cnt = st[0]
    pos = st[1]
    k = 0
    recording = rec_i.shape[0] > 0
    for n in range(x.shape[0]):
        v = x[n]
        for j in range(N):
            v = integ[j] + v
            integ[j] = v
            if recording:
                rec_i[j, n] = v
        if cnt == 0:
            for j in range(N):
                u = v
                v = u - comb[j, pos]
                comb[j, pos] = u
                if recording:
                    rec_c[j, k] = v
            pos += 1
            if pos == M:
                pos = 0
            k += 1
            cnt = R - 1
        else:
            cnt -= 1
    st[0] = cnt
    st[1] = pos


@nb.njit(cache=True)
def cic_interpolate_f64_stages(x, R, integ, comb, st, rec_c, rec_i):
    """The interpolator's stage registers in float64 (double-mode records)."""
    N = integ.shape[0]
    M = comb.shape[1]
    pos = st[0]
    recording = rec_c.shape[0] > 0
    for m in range(x.shape[0]):
        v = x[m]
        for j in range(N):
            u = v
            v = u - comb[j, pos]
            comb[j, pos] = u
            if recording:
                rec_c[j, m] = v
        pos += 1
        if pos == M:
            pos = 0
        for r in range(R):
            u = v if r == 0 else 0.0
            for j in range(N):
                u = integ[j] + u
                integ[j] = u
                if recording:
                    rec_i[j, m * R + r] = u
    st[0] = pos



_FAST: dict[tuple[int, bool], object] = {}


def cic_decimate_fast(N: int, pruned: bool = False):
    """:func:`cic_decimate` without records, compiled for one ``N <= 8`` (a closure constant,
    so every integrator lives in a local variable, a register, rather than an array: no
    store-to-load round trip in each sample's dependency chain), with or without the pruning
    shifts. Call as ``cic_decimate_fast(N, pruned)(x, R, sh, e_out, integ, comb, st, out)``;
    compiled once per ``(N, pruned)``."""
    k = _FAST.get((N, pruned))
    if k is None:
        k = _FAST[(N, pruned)] = _make_decimate_fast(N, pruned)
    return k


def _make_decimate_fast(N: int, pruned: bool):
    NS = N  # closure constants: the ``NS >= k`` and ``PR`` tests fold at compile time
    PR = pruned

    @nb.njit(cache=True)
    def kernel(x, R, sh, e_out, integ, comb, st, out):
        M = comb.shape[1]
        z = np.zeros(8, dtype=np.int64)
        z[:NS] = integ
        i0, i1, i2, i3, i4, i5, i6, i7 = z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7]
        t = np.zeros(8, dtype=np.int64)
        if PR:
            t[:NS] = sh[:NS]
        s0, s1, s2, s3, s4, s5, s6, s7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
        cnt = st[0]
        pos = st[1]
        k = 0
        for n in range(x.shape[0]):
            if PR:
                i0 += x[n] >> s0
            else:
                i0 += x[n]
            v = i0
            if NS >= 2:
                i1 += (v >> s1) if PR else v
                v = i1
            if NS >= 3:
                i2 += (v >> s2) if PR else v
                v = i2
            if NS >= 4:
                i3 += (v >> s3) if PR else v
                v = i3
            if NS >= 5:
                i4 += (v >> s4) if PR else v
                v = i4
            if NS >= 6:
                i5 += (v >> s5) if PR else v
                v = i5
            if NS >= 7:
                i6 += (v >> s6) if PR else v
                v = i6
            if NS >= 8:
                i7 += (v >> s7) if PR else v
                v = i7
            if cnt == 0:
                for j in range(NS):
                    u = (v >> sh[NS + j]) if PR else v
                    v = u - comb[j, pos]
                    comb[j, pos] = u
                pos += 1
                if pos == M:
                    pos = 0
                out[k] = _sext(v, e_out)
                k += 1
                cnt = R - 1
            else:
                cnt -= 1
        z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7] = i0, i1, i2, i3, i4, i5, i6, i7
        integ[:] = z[:NS]
        st[0] = cnt
        st[1] = pos

    return kernel
