"""The values the filter blocks report to the fixed-point tool while it records.

A block's internal signals (every tap product, every partial sum, every section's products,
sums and states) are computed here for a whole frame in one compiled loop, into preallocated
float64 arrays, so that the block reports each signal with one event per frame instead of one
per tap or section. Every value is computed with exactly the float64 operations, in exactly the
order, of the elementwise numpy expressions these loops replace (no ``fastmath``: no
reassociation, no fused multiply-add), so every value is bit-identical to theirs.

Layouts: the values of term (or section) ``i`` come as one contiguous run of the frame's
length, terms (sections) in their summation order: the order in which one event per term
(section) used to report them.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["tap_sums", "sos_df1_values", "sos_df2t_values", "tap_extremes",
           "sos_df1_extremes", "sos_df2t_extremes", "new_extremes", "extremes_of",
           "extremes_of_values"]


@nb.njit(cache=True)
def tap_sums(xe, hv, ks, offs, pairs, resets, sign, start, step, count, i0, i1, run, pre,
             prod, acc):
    """Pre-adder sums, products and running sums of an FIR-like sum of taps.

    Term ``i`` multiplies coefficient ``hv[ks[i]]`` by the samples
    ``a[j] = xe[start - offs[i] + j step]`` (``j < count``), or, when ``pairs[i] >= 0``, by the
    pre-adder sums ``a[j] + sign * xe[start - pairs[i] + j step]``; the running sum
    ``run[j] = run[j] + term`` (in place; ``resets[i]`` sets it to ``0.0`` first) follows
    the terms in order. Terms ``i0 <= i < i1`` are written: term ``i`` at
    ``[(i - i0) count, (i - i0 + 1) count)`` of ``pre`` (its multiplicands, when ``pre`` is
    not empty), ``prod`` (the products) and ``acc`` (the running sums after it).

    Parameters
    ----------
    xe : numpy.ndarray
        float64 samples (the history-extended frame).
    hv : numpy.ndarray
        float64 coefficients.
    ks, offs, pairs, resets : numpy.ndarray
        int64 per term: coefficient index, sample offset, pre-adder partner offset (``-1``:
        none), whether the running sum restarts at this term (``1``) or not (``0``).
    sign : float
        ``1.0`` or ``-1.0``: the pre-adder's sign.
    start, step, count : int
        Positions ``start + j step`` of the ``count`` outputs in *xe*.
    i0, i1 : int
        The terms to compute.
    run : numpy.ndarray
        float64 running sums (``count``), carried from term to term (in place).
    pre, prod, acc : numpy.ndarray
        float64 outputs (``(i1 - i0) count`` each; ``pre`` may be empty).
    """
    want_pre = pre.shape[0] > 0
    for i in range(i0, i1):
        hk = hv[ks[i]]
        base = start - offs[i]
        o = (i - i0) * count
        if resets[i]:
            for j in range(count):
                run[j] = 0.0
        q = pairs[i]
        if q >= 0:
            b2 = start - q
            for j in range(count):
                p = xe[base + j * step] + sign * xe[b2 + j * step]
                t = hk * p
                r = run[j] + t
                run[j] = r
                pre[o + j] = p
                prod[o + j] = t
                acc[o + j] = r
        else:
            for j in range(count):
                p = xe[base + j * step]
                t = hk * p
                r = run[j] + t
                run[j] = r
                if want_pre:
                    pre[o + j] = p
                prod[o + j] = t
                acc[o + j] = r


#: samples per block of the biquad loops: a block's values are computed into a small local
#: table, then copied out one signal row at a time (the rows of one section are ``n`` values
#: apart in the outputs; storing a dozen such rows at once, a multiple of 4 KiB apart, thrashes
#: the L1 cache's sets)
_BLOCK = 128


@nb.njit(inline="always", cache=True)
def _df1_block(b0, b1, b2, na1, na2, U, Y, s, i0, m, u1, u2, y1, y2, tmp):
    """Section *s*'s products (rows 0-4 of *tmp*) and running sums (rows 5-9) for the *m*
    samples from *i0*; returns the new ``(u[i-1], u[i-2], y[i-1], y[i-2])``."""
    for j in range(m):
        u = U[i0 + j, s]
        t0 = b0 * u
        t1 = b1 * u1
        t2 = b2 * u2
        t3 = na1 * y1
        t4 = na2 * y2
        r0 = 0.0 + t0
        r1 = r0 + t1
        r2 = r1 + t2
        r3 = r2 + t3
        r4 = r3 + t4
        tmp[0, j] = t0
        tmp[1, j] = t1
        tmp[2, j] = t2
        tmp[3, j] = t3
        tmp[4, j] = t4
        tmp[5, j] = r0
        tmp[6, j] = r1
        tmp[7, j] = r2
        tmp[8, j] = r3
        tmp[9, j] = r4
        u2 = u1
        u1 = u
        y2 = y1
        y1 = Y[i0 + j, s]
    return u1, u2, y1, y2


@nb.njit(cache=True)
def sos_df1_values(sos, U, Y, prev, s0, s1, prod, acc, sec):
    """Products, partial sums and section sums of direct-form-I biquads, for one frame.

    Section ``s`` with inputs ``u = U[:, s]`` and outputs ``y = Y[:, s]`` (``n`` samples, the
    samples before the frame in ``prev[s] = [u[-1], u[-2], y[-1], y[-2]]``): the terms
    ``b0 u[i], b1 u[i-1], b2 u[i-2], (-a1) y[i-1], (-a2) y[i-2]`` and the running sums
    ``0.0 + t0``, ``+ t1``, ... in that order; the last sum is the section value. Sections
    ``s0 <= s < s1`` are written (section-major, then term-major: ``prod`` and ``acc`` hold
    ``5 n`` values per section, ``sec`` ``n``); ``prev`` is updated for those sections.

    Parameters
    ----------
    sos : numpy.ndarray
        float64 sections ``(L, 6)``.
    U, Y : numpy.ndarray
        float64 section inputs and outputs ``(n, L)``.
    prev : numpy.ndarray
        float64 ``(L, 4)``, updated in place.
    s0, s1 : int
        The sections to compute.
    prod, acc, sec : numpy.ndarray
        float64 outputs.
    """
    n = U.shape[0]
    tmp = np.empty((10, _BLOCK))
    for s in range(s0, s1):
        b0 = sos[s, 0]
        b1 = sos[s, 1]
        b2 = sos[s, 2]
        na1 = -sos[s, 4]
        na2 = -sos[s, 5]
        p0 = prev[s, 0]
        p1 = prev[s, 1]
        p2 = prev[s, 2]
        p3 = prev[s, 3]
        ob = (s - s0) * 5 * n
        os_ = (s - s0) * n
        u1, u2, y1, y2 = p0, p1, p2, p3  # u[i-1], u[i-2], y[i-1], y[i-2]
        for i0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - i0)
            u1, u2, y1, y2 = _df1_block(b0, b1, b2, na1, na2, U, Y, s, i0, m, u1, u2, y1, y2,
                                        tmp)
            for k in range(5):
                o = ob + k * n + i0
                prod[o:o + m] = tmp[k, :m]
                acc[o:o + m] = tmp[5 + k, :m]
            sec[os_ + i0:os_ + i0 + m] = tmp[9, :m]
        _shift_prev(prev, s, U, Y, n)


@nb.njit(inline="always", cache=True)
def _df2t_block(b0, b1, b2, a1, a2, U, Y, s, i0, m, z2p, c, tmp):
    """Section *s*'s products (rows 0-4 of *tmp*), section sums (row 5), partial sums
    ``b1 u + z2p`` (row 6) and states ``z1, z2`` (rows 7, 8) for the *m* samples from *i0*;
    returns the new ``(z2p, c)``."""
    for j in range(m):
        u = U[i0 + j, s]
        y = Y[i0 + j, s]
        b0u = b0 * u
        b1u = b1 * u
        a1y = a1 * y
        b2u = b2 * u
        a2y = a2 * y
        z2 = b2u - a2y
        mm = b1u + z2p
        z1 = mm - a1y
        v = b0u + (((z1 - b1u) - z2p) + a1y) * 0.0 + c
        tmp[0, j] = b0u
        tmp[1, j] = b1u
        tmp[2, j] = a1y
        tmp[3, j] = b2u
        tmp[4, j] = a2y
        tmp[5, j] = v
        tmp[6, j] = mm
        tmp[7, j] = z1
        tmp[8, j] = z2
        z2p = z2
        c = z1
    return z2p, c


@nb.njit(cache=True)
def sos_df2t_values(sos, U, Y, prev, s0, s1, prod, acc, state, sec):
    """Products, sums, states and section sums of direct-form-II-transposed biquads.

    Section ``s`` with inputs ``u``, outputs ``y`` and ``prev`` as in :func:`sos_df1_values`:
    ``z2 = b2 u - a2 y``; ``z2p`` is ``z2`` one sample late (``b2 u[-1] - a2 y[-1]`` first);
    ``z1 = (b1 u + z2p) - a1 y``; the products ``b0 u, b1 u, a1 y, b2 u, a2 y``; the section
    sum ``(b0 u + (((z1 - b1 u) - z2p) + a1 y) * 0.0) + c`` where ``c`` is ``z1`` one sample
    late (``((b1 u[-1] + (b2 u[-2] - a2 y[-2])) - a1 y[-1])`` first); the partial sums
    ``sec, b1 u + z2p, z1, z2`` and the states ``z1, z2``, each in that order. Per section:
    ``5 n`` products, ``4 n`` sums, ``2 n`` states and ``n`` section sums (section-major, then
    in the order listed); ``prev`` is updated for sections ``s0 <= s < s1``.

    Parameters
    ----------
    sos : numpy.ndarray
        float64 sections ``(L, 6)``.
    U, Y : numpy.ndarray
        float64 section inputs and outputs ``(n, L)``.
    prev : numpy.ndarray
        float64 ``(L, 4)``, updated in place.
    s0, s1 : int
        The sections to compute.
    prod, acc, state, sec : numpy.ndarray
        float64 outputs.
    """
    n = U.shape[0]
    tmp = np.empty((9, _BLOCK))
    for s in range(s0, s1):
        b0 = sos[s, 0]
        b1 = sos[s, 1]
        b2 = sos[s, 2]
        a1 = sos[s, 4]
        a2 = sos[s, 5]
        p0 = prev[s, 0]
        p1 = prev[s, 1]
        p2 = prev[s, 2]
        p3 = prev[s, 3]
        ob = (s - s0) * 5 * n
        oa = (s - s0) * 4 * n
        oz = (s - s0) * 2 * n
        os_ = (s - s0) * n
        z2p = b2 * p0 - a2 * p2
        c = b1 * p0 + (b2 * p1 - a2 * p3) - a1 * p2
        for i0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - i0)
            z2p, c = _df2t_block(b0, b1, b2, a1, a2, U, Y, s, i0, m, z2p, c, tmp)
            for k in range(5):
                o = ob + k * n + i0
                prod[o:o + m] = tmp[k, :m]
            for k in range(4):
                o = oa + k * n + i0
                acc[o:o + m] = tmp[5 + k, :m]
            for k in range(2):
                o = oz + k * n + i0
                state[o:o + m] = tmp[7 + k, :m]
            sec[os_ + i0:os_ + i0 + m] = tmp[5, :m]
        _shift_prev(prev, s, U, Y, n)


@nb.njit(inline="always", cache=True)
def _shift_prev(prev, s, U, Y, n):
    """``prev[s] = [u[-1], u[-2], y[-1], y[-2]]`` after a frame of *n* samples."""
    if n >= 2:
        prev[s, 0] = U[n - 1, s]
        prev[s, 1] = U[n - 2, s]
        prev[s, 2] = Y[n - 1, s]
        prev[s, 3] = Y[n - 2, s]
    elif n == 1:
        prev[s, 1] = prev[s, 0]
        prev[s, 0] = U[0, s]
        prev[s, 3] = prev[s, 2]
        prev[s, 2] = Y[0, s]



# -- extremes: the statistics the recorder keeps of a block's internal signals by default ----------
# Instead of building every value, the loops above fold them into ``ex[row] = [min key, max key,
# zeros, not whole]`` per signal: the same values (the same float64 operations), but only
# their smallest and largest, the number of zeros and whether all are whole numbers. The
# callers check first that every value is finite (no NaN or infinity reaches these loops).
# A min/max over doubles is a chain of dependent compares in numba; over the int64 keys
# below (which order like the doubles) it compiles to vector instructions.

_KEY_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
_I64_MAX = (1 << 63) - 1


def new_extremes(rows: int) -> np.ndarray:
    """An empty ``ex`` table of *rows* signals (see the notes above)."""
    ex = np.zeros((rows, 4), dtype=np.int64)
    ex[:, 0] = _I64_MAX
    ex[:, 1] = -_I64_MAX - 1
    return ex


def extremes_of(ex: np.ndarray, row: int, count: int) -> tuple:
    """``(count, nan, inf, zeros, min, max, whole)`` of signal *row* of *ex* (*count* finite
    values folded)."""
    if count == 0:
        return (0, 0, 0, 0, None, None, True)
    return (int(count), 0, 0, int(ex[row, 2]), _unkey(int(ex[row, 0])),
            _unkey(int(ex[row, 1])), not ex[row, 3])


def extremes_of_values(a: np.ndarray) -> tuple:
    """:func:`extremes_of` of float64 values that may not be finite (numpy, the slow way)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    nan = int(np.count_nonzero(np.isnan(a)))
    fin = a[np.isfinite(a)]
    inf = a.size - nan - fin.size
    if fin.size == 0:
        return (a.size, nan, inf, 0, None, None, True)
    return (a.size, nan, inf, int(np.count_nonzero(fin == 0.0)), float(fin.min()),
            float(fin.max()), bool(np.all(np.floor(fin) == fin)))


def _unkey(k: int) -> float:
    """The double whose :func:`_key` is *k*."""
    b = k ^ ((k >> 63) & _I64_MAX)
    return float(np.array([b], dtype=np.int64).view(np.float64)[0])


@nb.njit(inline="always", cache=True)
def _key(b):
    """An int64 ordered like the finite double whose bits are *b* (``-0.0`` just below
    ``+0.0``): negative doubles have their magnitude bits flipped."""
    return b ^ ((b >> 63) & _KEY_MASK)


@nb.njit(cache=True)
def _fold(a, n, ex, row):
    """Fold the finite ``a[:n]`` into ``ex[row]``."""
    ai = a.view(np.int64)
    lo = ex[row, 0]
    hi = ex[row, 1]
    z = np.int64(0)
    for j in range(n):
        b = ai[j]
        k = _key(b)
        lo = min(lo, k)
        hi = max(hi, k)
        z += np.int64((b << 1) == 0)  # +0.0 or -0.0
    ex[row, 0] = lo
    ex[row, 1] = hi
    ex[row, 2] += z
    if ex[row, 3] == 0:  # once a fraction is seen, the rest need not be tested
        w = np.int64(0)
        for j in range(n):
            v = a[j]
            w |= np.int64(np.floor(v) != v)
        ex[row, 3] = w


@nb.njit(inline="always", cache=True)
def _mul_add(xs, hk, want_pre, pb, tb, run):
    """``tb = hk * xs``, ``run = run + tb`` (as :func:`tap_sums` computes them), and with
    *want_pre* ``pb = xs`` (a term without a pre-adder partner: its multiplicand is the
    sample)."""
    if want_pre:
        pb[:xs.shape[0]] = xs
    for j in range(xs.shape[0]):
        t = hk * xs[j]
        tb[j] = t
        run[j] = run[j] + t


@nb.njit(inline="always", cache=True)
def _join(ex, src, dst):
    """Add signal *src*'s folded values to signal *dst*'s."""
    ex[dst, 0] = min(ex[dst, 0], ex[src, 0])
    ex[dst, 1] = max(ex[dst, 1], ex[src, 1])
    ex[dst, 2] += ex[src, 2]
    ex[dst, 3] |= ex[src, 3]


@nb.njit(cache=True)
def tap_extremes(xe, hv, ks, offs, pairs, resets, sign, start, step, count, want_pre, run,
                 pb, tb, ex):
    """:func:`tap_sums` of every term, folded into ``ex`` rows 0 (pre-adder sums, when
    *want_pre*), 1 (products) and 2 (the accumulator: products and running sums) instead of
    written out; *run*, *pb* and *tb* are scratch arrays of *count* values."""
    for i in range(ks.shape[0]):
        hk = hv[ks[i]]
        base = start - offs[i]
        if resets[i]:
            for j in range(count):
                run[j] = 0.0
        q = pairs[i]
        if q >= 0:
            b2 = start - q
            for j in range(count):
                p = xe[base + j * step] + sign * xe[b2 + j * step]
                pb[j] = p
                t = hk * p
                tb[j] = t
                run[j] = run[j] + t
        elif step == 1:  # (two calls: a contiguous slice keeps its faster loop)
            _mul_add(xe[base:base + count], hk, want_pre, pb, tb, run)
        else:
            _mul_add(xe[base:base + (count - 1) * step + 1:step], hk, want_pre, pb, tb, run)
        if want_pre:
            _fold(pb, count, ex, 0)
        _fold(tb, count, ex, 1)
        _fold(run, count, ex, 2)
    _join(ex, 1, 2)  # every product is cast into the accumulator type too


@nb.njit(cache=True)
def sos_df1_extremes(sos, U, Y, prev, ex):
    """:func:`sos_df1_values` of every section, folded into ``ex`` rows 0 (products),
    1 (the accumulator: products and running sums) and 2 (section sums); ``prev`` is
    updated."""
    n = U.shape[0]
    tmp = np.empty((10, _BLOCK))
    for s in range(sos.shape[0]):
        u1, u2, y1, y2 = prev[s, 0], prev[s, 1], prev[s, 2], prev[s, 3]
        for i0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - i0)
            u1, u2, y1, y2 = _df1_block(sos[s, 0], sos[s, 1], sos[s, 2], -sos[s, 4],
                                        -sos[s, 5], U, Y, s, i0, m, u1, u2, y1, y2, tmp)
            for k in range(5):
                _fold(tmp[k], m, ex, 0)
                _fold(tmp[5 + k], m, ex, 1)
            _fold(tmp[9], m, ex, 2)
        _shift_prev(prev, s, U, Y, n)
    _join(ex, 0, 1)  # every product is cast into the accumulator type too


@nb.njit(cache=True)
def sos_df2t_extremes(sos, U, Y, prev, ex):
    """:func:`sos_df2t_values` of every section, folded into ``ex`` rows 0 (products),
    1 (the accumulator: products and sums), 2 (states) and 3 (section sums); ``prev`` is
    updated."""
    n = U.shape[0]
    tmp = np.empty((9, _BLOCK))
    for s in range(sos.shape[0]):
        b1, b2, a1, a2 = sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        p0, p1, p2, p3 = prev[s, 0], prev[s, 1], prev[s, 2], prev[s, 3]
        z2p = b2 * p0 - a2 * p2
        c = b1 * p0 + (b2 * p1 - a2 * p3) - a1 * p2
        for i0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - i0)
            z2p, c = _df2t_block(sos[s, 0], b1, b2, a1, a2, U, Y, s, i0, m, z2p, c, tmp)
            for k in range(5):
                _fold(tmp[k], m, ex, 0)
            for k in range(4):
                _fold(tmp[5 + k], m, ex, 1)
            _fold(tmp[7], m, ex, 2)
            _fold(tmp[8], m, ex, 2)
            _fold(tmp[5], m, ex, 3)
        _shift_prev(prev, s, U, Y, n)
    _join(ex, 0, 1)  # every product is cast into the accumulator type too
