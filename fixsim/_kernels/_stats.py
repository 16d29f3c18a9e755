"""Fused single-pass statistics kernel for the fixed-point tool's recorder.

One pass over a float64 array adds, into a persistent int64 accumulator ``st`` and a float64
pair ``mm``: the counts of values, NaNs, infinities and zeros, the whole-number flag, the
minimum and maximum, the fine histogram (16 sub-bins per binary exponent, by sign) and the
exact sum and sum of squares of the finite values.

Layout of ``st`` (shape ``(ROWS, COLS)``, int64):

* row 0 is the header: ``[count, nan, inf, zeros, not_whole, row_lo, row_hi, pending]``;
  ``row_lo``/``row_hi`` are the lowest and highest exponent rows touched since the last fold
  (``row_lo > row_hi`` when none), ``pending`` the values added since then;
* row ``e + EXP_BIAS`` (``e`` the ``numpy.frexp`` exponent of a finite nonzero value,
  ``-1073 <= e <= 1024``) holds, for the values with that exponent: columns ``0..15`` the
  counts of positive values per sub-bin, ``16..31`` of negative values, ``32``/``33`` the
  exact sum, ``34..38`` the exact sum of squares (see below).

**Exact sums.** A finite nonzero value is ``x = M * 2**(e-53)`` with the integer
``|M| = U`` in ``[2**52, 2**53)``. Its row accumulates ``M`` split as ``M = H * 2**31 + L``
(``0 <= L < 2**31``, ``|H| <= 2**22``) and ``U**2`` split through ``U = u2 * 2**36 +
u1 * 2**18 + u0`` (each piece below ``2**18``) into five partial products at bit offsets 0,
18, 36, 54, 72, each below ``2**37``. At most ``FOLD_LIMIT = 2**22`` values are added between
folds, so every column stays below ``2**59``: no int64 overflows. :func:`fold` turns the rows
into two exact integers, by carry propagation, as little-endian two's complement bytes
(Python then reads them with ``int.from_bytes``): the sum in units of ``2**(e_lo - 53)`` and
the sum of squares in units of ``2**(2 * (e_lo - 53))``, ``e_lo`` being the lowest exponent
touched. Integer addition is associative, so the result does not depend on how the values
were split into calls, which is what makes merged statistics equal single-pass ones.

A fresh ``st`` is ``np.zeros`` with header ``row_lo = ROWS``, ``row_hi = 0``
(:func:`new_state`); the pages of untouched exponent rows are never written.
"""

from __future__ import annotations

import mmap

import numba as nb
import numpy as np

__all__ = ["new_state", "accumulate", "fold", "clear_rows", "ROWS", "COLS", "EXP_BIAS",
           "FOLD_LIMIT", "new_fast_state", "reset_fast_header", "accumulate_fast", "fold_fast",
           "take_fast_hist", "clear_fast"]

EXP_BIAS = 1074  # row of exponent e is e + EXP_BIAS (e >= -1073: row >= 1)
ROWS = 1024 + EXP_BIAS + 1
COLS = 40
FOLD_LIMIT = 1 << 40
# header columns
H_COUNT, H_NAN, H_INF, H_ZEROS, H_NOTWHOLE, H_LO, H_HI, H_PENDING = range(8)
C_SUM, C_SQ_LO, C_SQ_HI = 32, 34, 35  # C_SUM: positive, C_SUM + 1: negative
_WRAP = 1 << 62  # columns stay below this; column + 4 counts the wraps
_M52 = (1 << 52) - 1

_MANT = (1 << 52) - 1
_HIDDEN = 1 << 52


def new_state() -> tuple[np.ndarray, np.ndarray]:
    """A fresh accumulator: ``(st, mm)`` with ``mm = [min, max]`` (``[inf, -inf]``)."""
    st = np.zeros((ROWS, COLS), dtype=np.int64)
    st[0, H_LO] = ROWS
    return st, np.array([np.inf, -np.inf])


@nb.njit(cache=True, nogil=True)
def accumulate(x, st, mm):
    """Add the values of the 1-D float64 array *x* into ``(st, mm)``.

    The caller keeps ``st[0, H_PENDING] + x.size <= FOLD_LIMIT`` (fold first, split *x*).
    The loop works on the bit patterns as uint64 and indexes the flat state with unsigned
    offsets (no negative-index handling in the hot loop).
    """
    xi = x.view(np.uint64)
    n = x.shape[0]
    flat = st.reshape(-1)
    nan = 0
    inf = 0
    zeros = 0
    notwhole = st[0, H_NOTWHOLE]
    rlo = st[0, H_LO]
    rhi = st[0, H_HI]
    mn = mm[0]
    mx = mm[1]
    mant = np.uint64(_MANT)
    hidden = np.uint64(_HIDDEN)
    wrap = np.uint64(_WRAP)
    cols = np.uint64(COLS)
    for i in range(n):
        b = xi[i]
        eb = (b >> np.uint64(52)) & np.uint64(0x7FF)
        if eb == np.uint64(0x7FF):
            if (b & mant) != np.uint64(0):
                nan += 1
            else:
                inf += 1
            continue
        v = x[i]
        mn = min(mn, v)
        mx = max(mx, v)
        if eb == np.uint64(0):
            if (b << np.uint64(1)) == np.uint64(0):
                zeros += 1
                continue
            # subnormal: normalise the mantissa into [2**52, 2**53)
            u = b & mant
            sh = np.uint64(0)
            while u < hidden:
                u <<= np.uint64(1)
                sh += np.uint64(1)
            row = np.uint64(53) - sh  # e + EXP_BIAS with e = -1021 - sh
            notwhole = 1
        else:
            u = (b & mant) | hidden
            row = eb + np.uint64(EXP_BIAS - 1022)
            if notwhole == 0:
                e = np.int64(eb) - 1022
                if e <= 0:
                    notwhole = 1
                elif e < 53 and (np.int64(u) & ((1 << (53 - e)) - 1)) != 0:
                    notwhole = 1
        ri = np.int64(row)
        rlo = min(rlo, ri)
        rhi = max(rhi, ri)
        base = row * cols
        neg = b >> np.uint64(63)  # branch-free: signs are unpredictable
        j = (u >> np.uint64(48)) & np.uint64(15)
        flat[base + j + (neg << np.uint64(4))] += 1
        # exact sum: U into the column of its sign
        c = base + np.uint64(C_SUM) + neg
        t = np.uint64(flat[c]) + u
        if t >= wrap:
            t -= wrap
            flat[c + np.uint64(4)] += 1
        flat[c] = np.int64(t)
        # exact sum of squares: U**2 = a**2 * 2**52 + 2ab * 2**26 + b**2 as hi * 2**52 + lo
        a = u >> np.uint64(26)
        bb = u & np.uint64(0x3FFFFFF)
        ab2 = np.uint64(2) * a * bb
        lo = bb * bb + ((ab2 & np.uint64(0x3FFFFFF)) << np.uint64(26))
        hi = a * a + (ab2 >> np.uint64(26)) + (lo >> np.uint64(52))
        lo &= np.uint64(_M52)
        c = base + np.uint64(C_SQ_LO)
        t = np.uint64(flat[c]) + lo
        if t >= wrap:
            t -= wrap
            flat[c + np.uint64(4)] += 1
        flat[c] = np.int64(t)
        c = base + np.uint64(C_SQ_HI)
        t = np.uint64(flat[c]) + hi
        if t >= wrap:
            t -= wrap
            flat[c + np.uint64(4)] += 1
        flat[c] = np.int64(t)
    st[0, H_COUNT] += n
    st[0, H_NAN] += nan
    st[0, H_INF] += inf
    st[0, H_ZEROS] += zeros
    st[0, H_NOTWHOLE] = notwhole
    st[0, H_LO] = rlo
    st[0, H_HI] = rhi
    st[0, H_PENDING] += n
    mm[0] = mn
    mm[1] = mx


@nb.njit(cache=True, nogil=True)
def _carry_bytes(c):
    """The exact integer ``sum_p c[p] * 2**p`` as little-endian two's complement bytes.

    ``len(c)`` is a multiple of 8 and its last 64 entries are zero, so the carry (below
    ``2**62``) has resolved to 0 or -1 (the sign) before the end."""
    out = np.zeros(c.shape[0] // 8, dtype=np.uint8)
    carry = 0
    for p in range(c.shape[0]):
        t = c[p] + carry
        if t & 1:
            out[p >> 3] |= np.uint8(1 << (p & 7))
        carry = t >> 1
    return out


@nb.njit(cache=True, nogil=True)
def _put(c, p, t):
    """Add the int64 ``t * 2**p`` to the position array *c* in two pieces below ``2**32``
    (so that any number of terms may meet at one position without overflow)."""
    c[p] += t & 0x7FFFFFFF
    c[p + 31] += t >> 31


@nb.njit(cache=True, nogil=True)
def fold(st, rlo, rhi):
    """Exact sums of rows ``rlo..rhi``: ``(sum_bytes, sumsq_bytes)`` (see the module notes)."""
    nr = rhi - rlo + 1
    ns = ((nr + 62 + 31 + 64) // 8 + 1) * 8
    nq = ((2 * nr + 52 + 62 + 31 + 64) // 8 + 1) * 8
    cs = np.zeros(ns, dtype=np.int64)
    cq = np.zeros(nq, dtype=np.int64)
    for k in range(nr):
        r = rlo + k
        _put(cs, k, st[r, C_SUM] - st[r, C_SUM + 1])
        _put(cs, k + 62, st[r, C_SUM + 4] - st[r, C_SUM + 5])
        _put(cq, 2 * k, st[r, C_SQ_LO])
        _put(cq, 2 * k + 62, st[r, C_SQ_LO + 4])
        _put(cq, 2 * k + 52, st[r, C_SQ_HI])
        _put(cq, 2 * k + 114, st[r, C_SQ_HI + 4])
    return _carry_bytes(cs), _carry_bytes(cq)


@nb.njit(cache=True, nogil=True)
def clear_rows(st, rlo, rhi):
    """Zero rows ``rlo..rhi`` and reset the header's row range and pending count."""
    for r in range(rlo, rhi + 1):
        for c in range(st.shape[1]):
            st[r, c] = 0
    st[0, H_LO] = st.shape[0]
    st[0, H_HI] = 0
    st[0, H_PENDING] = 0


# -- the fast path: bins indexed by the top 16 bits of the float ---------------------------------
#
# The top 16 bits of a float64's bit pattern, ``k = bits >> 48``, are its sign, its 11-bit
# biased exponent ``eb`` and the top 4 bits of its mantissa: exactly the fine-histogram bin
# (sign, exponent, sub-bin). The fast state ``ft`` holds ``FT_COLS`` int64 columns per bin
# ``k`` (one cache line): the count, and for the low 48 mantissa bits ``L`` (``U = (16 + j) *
# 2**48 + L`` for sub-bin ``j``) the sums of ``L``, ``a**2``, ``a*c`` and ``c**2`` (``L = a *
# 2**24 + c``, each product below ``2**48``; three plain products measured faster than one
# 96-bit square normalised into two columns). Everything else about the value is known from
# ``k`` and the count, so ``sum U`` and ``sum U**2`` follow exactly (:func:`fold_fast`). A
# bin's four sums are moved to its spill (the same bin in the second half of ``ft``: two
# int64 per sum, the low 31 bits and the rest) every ``SPILL`` values of the bin, so they
# stay below ``SPILL * 2**48 = 2**62``.
# With ``sums=False`` only the counts are kept (``record(detail='ranges')``).
#
# The header ``hd`` (int64) holds ``[count, zeros, not_whole, eb_lo, eb_hi, rare]``, and
# ``mm`` (float64) the minimum and maximum. Zeros are counted there;
# subnormals, NaNs and infinities (rare) are only counted in ``rare`` and left for the caller
# to add through :func:`accumulate` (the row state).
FT_BINS = 1 << 16
FT_COLS = 8
FT_HALF = FT_BINS * FT_COLS
SPILL = 1 << 14
F_COUNT, F_ZEROS, F_NOTWHOLE, F_LO, F_HI, F_RARE = range(6)
_M48 = (1 << 48) - 1
_M24 = (1 << 24) - 1
_M31 = (1 << 31) - 1


def _frac_masks() -> np.ndarray:
    """Per biased exponent ``eb``, the bits of a normal float's pattern that are nonzero
    exactly when the value is not a whole number: the exponent field for ``|x| < 1``, the
    fraction's bits below the binary point for ``1 <= |x| < 2**52``, none above."""
    m = np.zeros(2048, dtype=np.uint64)
    for eb in range(1, 2047):
        e = eb - 1022  # |x| in [2**(e-1), 2**e)
        if e <= 0:
            m[eb] = 0x7FF << 52
        elif e < 53:
            m[eb] = (1 << (53 - e)) - 1
    return m


_FRAC_MASK = _frac_masks()


def _private_map(nbytes: int) -> mmap.mmap:
    """Zeroed anonymous memory, private (copy-on-write in a forked worker: ``mmap``'s default
    anonymous map is shared, so a worker's kernel would write into its parent's state)."""
    if hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS"):
        return mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE)
    return mmap.mmap(-1, nbytes)  # Windows: private to the process already


def new_fast_state() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fresh fast accumulator ``(ft, hd, mm)`` (untouched pages are never written).

    ``ft`` lives in its own private anonymous memory map: numpy asks for transparent huge pages on
    arrays of 4 MB and more, and a 2 MB page per touched region (signs, spills) would cost
    2 MB of memory per recorded signal instead of a few 4 kB pages."""
    ft = np.frombuffer(_private_map(2 * FT_HALF * 8), dtype=np.int64)
    hd = np.zeros(6, dtype=np.int64)
    mm = np.zeros(2)
    reset_fast_header(hd, mm)
    return ft, hd, mm


def reset_fast_header(hd: np.ndarray, mm: np.ndarray) -> None:
    """Empty header: no values, ``eb_lo > eb_hi``, min ``inf``, max ``-inf``."""
    hd[:] = 0
    hd[F_LO] = 0x7FF
    mm[0], mm[1] = np.inf, -np.inf


@nb.njit(cache=True, nogil=True)
def _spill(ft, base):
    sp = base + FT_HALF
    for c in range(1, 5):
        t = ft[base + c]
        ft[sp + 2 * c - 2] += t & _M31
        ft[sp + 2 * c - 1] += t >> 31
        ft[base + c] = 0


@nb.njit(cache=True, nogil=True)
def accumulate_fast(x, ft, hd, mm, sums):
    """Add the normal numbers and zeros of the 1-D float64 array *x* into ``(ft, hd, mm)`` (see
    the notes above); subnormals, NaNs and infinities are only counted (``hd[F_RARE]``), and
    their number in *x* is returned.

    The caller keeps ``hd[F_COUNT] + x.size <= FOLD_LIMIT``. The loop indexes ``ft`` with
    unsigned offsets (no negative-index handling in the hot loop)."""
    xi = x.view(np.uint64)
    n = x.shape[0]
    zeros = 0
    rare = 0
    fracbits = np.uint64(0)
    elo = hd[F_LO]
    ehi = hd[F_HI]
    # start from constants and fold into mm at the end: starting from mm[0], mm[1] makes
    # this loop 2.5 times slower (numba 0.68, measured)
    mn = np.inf
    mx = -np.inf
    m48 = np.uint64(_M48)
    m24 = np.uint64(_M24)
    cols = np.uint64(FT_COLS)
    for i in range(n):
        b = xi[i]
        eb = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
        if eb == 0 or eb == 0x7FF:
            if (b << np.uint64(1)) == np.uint64(0):
                zeros += 1
                v = x[i]  # keeps the sign of a zero in min/max, as the row kernel does
                mn = min(mn, v)
                mx = max(mx, v)
            else:
                rare += 1
            continue
        v = x[i]
        mn = min(mn, v)
        mx = max(mx, v)
        fracbits |= b & _FRAC_MASK[eb]  # branch-free whole-number test
        elo = min(elo, eb)
        ehi = max(ehi, eb)
        base = (b >> np.uint64(48)) * cols
        cnt = ft[base] + 1
        ft[base] = cnt
        if sums:
            low = b & m48
            a = low >> np.uint64(24)
            c = low & m24
            ft[base + np.uint64(1)] += np.int64(low)
            ft[base + np.uint64(2)] += np.int64(a * a)
            ft[base + np.uint64(3)] += np.int64(a * c)
            ft[base + np.uint64(4)] += np.int64(c * c)
            if (cnt & (SPILL - 1)) == 0:
                _spill(ft, np.int64(base))
    hd[F_COUNT] += n
    hd[F_ZEROS] += zeros
    if fracbits != np.uint64(0):
        hd[F_NOTWHOLE] = 1
    hd[F_LO] = elo
    hd[F_HI] = ehi
    hd[F_RARE] += rare
    mm[0] = min(mm[0], mn)
    mm[1] = max(mm[1], mx)
    return rare


@nb.njit(cache=True, nogil=True)
def _putm(c, p, t, f):
    """Add ``t * f * 2**p`` (``t >= 0``, ``|f| < 2**12``) in two pieces."""
    c[p] += (t & _M31) * f
    c[p + 31] += (t >> 31) * f


@nb.njit(cache=True, nogil=True)
def fold_fast(ft, elo, ehi):
    """Exact sums of the fast bins with exponent fields ``elo..ehi``:
    ``(sum_bytes, sumsq_bytes)``, in units of ``2**(elo - 1075)`` and ``2**(2 * (elo - 1075))``,
    as little-endian two's complement bytes."""
    nr = ehi - elo + 1
    ns = ((nr + 48 + 5 + 62 + 31 + 64) // 8 + 1) * 8
    nq = ((2 * nr + 96 + 10 + 62 + 31 + 64) // 8 + 1) * 8
    cs = np.zeros(ns, dtype=np.int64)
    cq = np.zeros(nq, dtype=np.int64)
    for sgn in range(2):
        sf = 1 - 2 * sgn
        for d in range(nr):
            for j in range(16):
                base = ((sgn << 15) | ((elo + d) << 4) | j) * FT_COLS
                sp = base + FT_HALF
                cnt = ft[base]
                if cnt == 0:
                    continue
                top = 16 + j
                # sum U = cnt * top * 2**48 + sum L
                _putm(cs, d + 48, cnt, top * sf)
                _putm(cs, d, ft[base + 1], sf)
                _putm(cs, d, ft[sp], sf)
                _putm(cs, d + 31, ft[sp + 1], sf)
                # sum U**2 = cnt * top**2 * 2**96 + 2 * top * sum L * 2**48 + sum L**2
                q = 2 * d
                _putm(cq, q + 96, cnt, top * top)
                _putm(cq, q + 48, ft[base + 1], 2 * top)
                _putm(cq, q + 48, ft[sp], 2 * top)
                _putm(cq, q + 79, ft[sp + 1], 2 * top)
                # sum L**2 = sum a**2 * 2**48 + 2 * sum a*c * 2**24 + sum c**2
                _putm(cq, q + 48, ft[base + 2], 1)
                _putm(cq, q + 48, ft[sp + 2], 1)
                _putm(cq, q + 79, ft[sp + 3], 1)
                _putm(cq, q + 24, ft[base + 3], 2)
                _putm(cq, q + 24, ft[sp + 4], 2)
                _putm(cq, q + 55, ft[sp + 5], 2)
                _putm(cq, q, ft[base + 4], 1)
                _putm(cq, q, ft[sp + 6], 1)
                _putm(cq, q + 31, ft[sp + 7], 1)
    return _carry_bytes(cs), _carry_bytes(cq)


@nb.njit(cache=True, nogil=True)
def take_fast_hist(ft, elo, ehi):
    """Counts of the bins with exponent fields ``elo..ehi``: ``(positive, negative)``, 16 per
    exponent, ascending."""
    m = (ehi - elo + 1) * 16
    pos = np.empty(m, dtype=np.int64)
    neg = np.empty(m, dtype=np.int64)
    for i in range(m):
        pos[i] = ft[((elo << 4) + i) * FT_COLS]
        neg[i] = ft[((1 << 15) | ((elo << 4) + i)) * FT_COLS]
    return pos, neg


@nb.njit(cache=True, nogil=True)
def clear_fast(ft, elo, ehi):
    """Zero the bins (and their spills) with exponent fields ``elo..ehi``."""
    for sgn in range(2):
        b0 = ((sgn << 15) | (elo << 4)) * FT_COLS
        b1 = ((sgn << 15) | ((ehi + 1) << 4)) * FT_COLS
        for p in range(b0, b1):
            ft[p] = 0
            ft[p + FT_HALF] = 0
