"""Integer kernels for reductions, inner products and convolution.

Plain int64 arrays and integer mode codes only (see ``fixsim._core._modes``). The callers in
``fixsim._core._reductions`` prove, from the operand types, that no intermediate here can leave
the int64 range before they call a kernel; the kernels do not check.

The single-value requantization reuses the helpers of ``fixsim._kernels._quantize`` so that
rounding and overflow are decided exactly as everywhere else in fixsim.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._quantize import STOCHASTIC, int_bounds, requant_one

__all__ = ["matmul_i64", "convolve_i64", "running_sum_i64"]


@nb.njit(cache=True)
def matmul_i64(a, b, out):
    """``out[n] = a[n] @ b[n]`` for stacks ``a`` (B, M, K), ``b`` (B, K, N), ``out`` (B, M, N).

    All int64; the caller guarantees ``K * max|a| * max|b| < 2**63``.
    """
    nb_, m, k = a.shape
    n = b.shape[2]
    for s in range(nb_):
        for i in range(m):
            for j in range(n):
                out[s, i, j] = 0
            for p in range(k):
                aip = a[s, i, p]
                if aip == 0:
                    continue
                for j in range(n):
                    out[s, i, j] += aip * b[s, p, j]


@nb.njit(cache=True)
def convolve_i64(a, b, out):
    """Full linear convolution of int64 vectors: ``out`` has ``len(a) + len(b) - 1`` entries.

    The caller guarantees ``min(len(a), len(b)) * max|a| * max|b| < 2**63``.
    """
    na = a.shape[0]
    nb_ = b.shape[0]
    for i in range(out.shape[0]):
        out[i] = 0
    for i in range(na):
        ai = a[i]
        if ai == 0:
            continue
        for j in range(nb_):
            out[i + j] += ai * b[j]


@nb.njit(cache=True)
def running_sum_i64(x, lo_idx, hi_idx, d, W, signed, rmode, omode, first_exact, keep_all,
                    words, out):
    """MATLAB-style running sums of the rows of ``x`` in a W-bit sum type.

    Row ``m`` adds ``x[m, lo_idx[m]:hi_idx[m]]`` in increasing index. The addends are at
    fraction length ``Fx`` and the sum type at ``Fs``; ``d = Fx - Fs``. After every addition
    the exact sum is requantized into the sum type (rounding when ``d > 0``, and overflow).

    ``first_exact`` (``cast_before_sum`` false): the first addend enters the first addition
    unquantized, and a single-addend sum is that addend requantized. Otherwise the addends
    are already in the sum type (``d == 0``) and the first one starts the accumulator.

    ``keep_all``: ``out`` is (M, N) and receives every partial sum (``cumsum``; full rows
    only); else ``out`` is (M, 1) and receives the totals. ``words`` holds one random word per
    element of ``x`` for stochastic rounding (else empty).

    The caller guarantees that the exact sums fit int64. Returns
    ``(n_quantizations, n_overflow, n_underflow)``.
    """
    lo, hi, mask, signbit = int_bounds(W, signed)
    wbit = W if W < 63 else 63
    stoch = rmode == STOCHASTIC
    m_rows, n_cols = x.shape
    n_q = 0
    n_ovf = 0
    n_unf = 0
    for m in range(m_rows):
        start = lo_idx[m]
        stop = hi_idx[m]
        if stop <= start:
            if not keep_all:
                out[m, 0] = 0
            continue
        acc = x[m, start]
        exact = first_exact
        if keep_all:
            if exact:
                uw = words[m * n_cols + start] if stoch else np.uint64(0)
                r, o = requant_one(acc, d, W, signed, rmode, omode, uw, lo, hi, mask,
                                    signbit, wbit)
                n_q += 1
                n_ovf += o
                if o == 0 and r == 0 and acc != 0:
                    n_unf += 1
                out[m, start] = r
            else:
                out[m, start] = acc
        for i in range(start + 1, stop):
            xi = x[m, i]
            if exact:
                s = acc + xi
                dd = d
                exact = False
            elif d > 0:
                s = (acc << d) + xi
                dd = d
            else:
                s = acc + (xi << (-d))
                dd = 0
            uw = words[m * n_cols + i] if stoch else np.uint64(0)
            r, o = requant_one(s, dd, W, signed, rmode, omode, uw, lo, hi, mask, signbit,
                                wbit)
            n_q += 1
            n_ovf += o
            if o == 0 and r == 0 and s != 0:
                n_unf += 1
            acc = r
            if keep_all:
                out[m, i] = acc
        if exact:
            # a single addend that was not cast before the sum: requantize it now
            uw = words[m * n_cols + start] if stoch else np.uint64(0)
            r, o = requant_one(acc, d, W, signed, rmode, omode, uw, lo, hi, mask, signbit,
                                wbit)
            if not keep_all:
                n_q += 1
                n_ovf += o
                if o == 0 and r == 0 and acc != 0:
                    n_unf += 1
            acc = r
        if not keep_all:
            out[m, 0] = acc
    return n_q, n_ovf, n_unf
