"""Exact integer matrix product of 16-bit operands with AVX-512 VNNI (``vpdpwssd``).

``vpdpwssd`` multiplies pairs of int16 and adds both products to an int32 lane: 32
multiply-adds per instruction, four times the float64 FMA's 8. Two 16-bit integers multiply
to 31 bits, so 256 of them would overflow the int32 lane. The right operand is therefore
split into two 8-bit limbs, ``b = 256 * hi + lo`` with ``hi = b >> 8`` in ``[-128, 127]``
and ``lo = b & 255`` in ``[0, 255]``, and each limb product is summed separately over blocks
of at most ``KC = 256`` values of ``k``:

* ``|a * hi| <= 2**15 * 2**7 = 2**22``, so a block's sum is at most ``2**30`` in magnitude;
* ``-2**15 * 255 <= a * lo <= (2**15 - 1) * 255``, so a block's sum is at least
  ``-256 * 2**15 * 255 = -2_139_095_040 > -2**31`` and less than ``2**31``.

The lanes add modulo ``2**32``, so a block's int32 sum equals the exact sum as long as the
exact sum fits in int32, whatever the order; the bounds above prove that it does. The tile
then widens both to int64 and stores ``(hi_sum << 8) + lo_sum`` (or adds it, for later
blocks of ``k``), which is exact in int64 for ``K < 2**24``.

Layout (the wrappers pack; the tile kernel only reads packed data):

* ``a16``: the left operand as int16, ``MR``-row padded, each row ``kpad`` (even) long;
  a tile broadcasts one int32 (two consecutive ``k``) of each of its ``MR`` rows.
* ``panel``: for one block of ``NR = 32`` output columns and one block of ``k``, per pair of
  ``k`` four vectors of 16 int32 lanes: ``hi`` of columns 0-15, ``hi`` of 16-31, ``lo`` of 0-15,
  ``lo`` of 16-31; a lane holds the limb at ``k`` in its low half, at ``k + 1`` in its high half.

The tile (``MR = 6`` rows by ``NR = 32`` columns, 24 accumulators) is written as LLVM IR
through a numba intrinsic; callers must check :func:`available` first (the instruction
exists only on CPUs with ``avx512vnni``, and only when numba compiles for the host CPU).
"""

from __future__ import annotations

import os
import threading

import numba as nb
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import thread_pool_usable

__all__ = ["MR", "NR", "KC", "available", "usable", "matmul_s16"]

MR = 6
NR = 32
KC = 256
_LANES = 16
_VERDICT: list[bool] = []   # usable()'s answer, decided once per process
# numba's fallback threading layer (workqueue) must not run two parallel kernels at once
_LOCK = threading.Lock()


def _new_lock_in_child() -> None:
    # a fork while another thread multiplied would leave the child a lock nobody releases
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def available() -> bool:
    """True if numba targets a CPU with AVX-512 VNNI and BW (the host's, unless
    ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` choose another target)."""
    from numba.core import config

    if config.CPU_NAME or config.CPU_FEATURES:
        feats = config.CPU_FEATURES or ""
    else:
        import llvmlite.binding as llvm

        feats = llvm.get_host_cpu_features().flatten()
    return "+avx512vnni" in feats and "+avx512bw" in feats


def _ptr(context, builder, aty, arr, idx):
    ary = context.make_array(aty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, aty, ary, [idx])


@intrinsic
def _tile(typingctx, a16, a_off, lda, panel, kp, c, c_off, ldc, add):
    """One ``MR x NR`` tile: ``c[c_off + r * ldc + j] (+)= sum_k a * b`` over ``kp`` pairs of
    ``k``, from ``a16[a_off + r * lda + ...]`` and the packed ``panel`` (module docstring).
    ``add`` (0 or 1) adds to ``c`` instead of storing."""
    sig = types.void(a16, types.intp, types.intp, panel, types.intp, c, types.intp,
                     types.intp, types.intp)

    def codegen(context, builder, signature, args):
        a_arr, a_off, lda, p_arr, kp, c_arr, c_off, ldc, add = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        v32 = ir.VectorType(i32, _LANES)
        v64 = ir.VectorType(i64, _LANES)
        fnty = ir.FunctionType(v32, [v32, v32, v32])
        dp = cgutils.get_or_insert_function(builder.module, fnty,
                                            "llvm.x86.avx512.vpdpwssd.512")
        a0 = _ptr(context, builder, signature.args[0], a_arr, a_off)
        p0 = builder.bitcast(_ptr(context, builder, signature.args[3], p_arr,
                                  ir.Constant(i64, 0)), i32.as_pointer())
        c0 = _ptr(context, builder, signature.args[5], c_arr, c_off)
        zero = ir.Constant(v32, None)
        accs = []
        for _ in range(MR * 4):
            slot = cgutils.alloca_once(builder, v32)
            builder.store(zero, slot)
            accs.append(slot)
        undef = ir.Constant(v32, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, _LANES), [0] * _LANES)
        with cgutils.for_range(builder, kp) as loop:
            p = loop.index
            bbase = builder.gep(p0, [builder.mul(p, ir.Constant(i64, 4 * _LANES))])
            bv = [builder.load(builder.bitcast(builder.gep(bbase, [ir.Constant(i64, v * _LANES)]),
                                               v32.as_pointer()), align=4)
                  for v in range(4)]
            k2 = builder.mul(p, ir.Constant(i64, 2))
            for r in range(MR):
                ap = builder.gep(a0, [builder.add(builder.mul(ir.Constant(i64, r), lda), k2)])
                w = builder.load(builder.bitcast(ap, i32.as_pointer()), align=2)
                bc = builder.shuffle_vector(builder.insert_element(undef, w,
                                                                  ir.Constant(i32, 0)),
                                            undef, splat)
                for v in range(4):
                    slot = accs[r * 4 + v]
                    builder.store(builder.call(dp, [builder.load(slot), bc, bv[v]]), slot)
        is_add = builder.icmp_signed("!=", add, ir.Constant(add.type, 0))
        eight = ir.Constant(v64, [8] * _LANES)
        for r in range(MR):
            row = builder.gep(c0, [builder.mul(ir.Constant(i64, r), ldc)])
            for h in range(2):
                hi = builder.sext(builder.load(accs[r * 4 + h]), v64)
                lo = builder.sext(builder.load(accs[r * 4 + 2 + h]), v64)
                val = builder.add(builder.shl(hi, eight), lo)
                cp = builder.bitcast(builder.gep(row, [ir.Constant(i64, h * _LANES)]),
                                     v64.as_pointer())
                old = builder.load(cp, align=8)
                builder.store(builder.select(is_add, builder.add(old, val), val), cp, align=8)
        return context.get_dummy_value()

    return sig, codegen


@nb.njit(cache=True, nogil=True)
def _pack_panel(b, k0, kc, j0, panel):
    """Pack ``b[k0:k0 + kc, j0:j0 + NR]`` (zero beyond ``b``'s edges and beyond ``kc``) into
    the int16 *panel*: for pair ``p``, column ``jj`` (vector ``v = jj // 16``, lane ``l``), the
    high limbs at ``p * 128 + (v * 16 + l) * 2 + (0, 1)``, the low limbs 64 entries further."""
    K, N = b.shape
    npairs = (kc + 1) // 2
    if j0 + NR <= N and kc % 2 == 0:  # interior: no edge tests (vectorizes)
        for p in range(npairs):
            base = p * 8 * _LANES
            r0 = b[k0 + 2 * p, j0:j0 + NR]
            r1 = b[k0 + 2 * p + 1, j0:j0 + NR]
            for jj in range(NR):
                x0 = r0[jj]
                x1 = r1[jj]
                q = base + 2 * jj
                panel[q] = x0 >> 8
                panel[q + 1] = x1 >> 8
                panel[q + 4 * _LANES] = x0 & 0xFF
                panel[q + 4 * _LANES + 1] = x1 & 0xFF
        return
    for p in range(npairs):
        ka = k0 + 2 * p
        kb = ka + 1
        base = p * 8 * _LANES
        for jj in range(NR):
            j = j0 + jj
            x0 = b[ka, j] if (j < N and ka < K) else 0
            x1 = b[kb, j] if (j < N and kb < K and kb < k0 + kc) else 0
            q = base + 2 * jj
            panel[q] = x0 >> 8
            panel[q + 1] = x1 >> 8
            panel[q + 4 * _LANES] = x0 & 0xFF
            panel[q + 4 * _LANES + 1] = x1 & 0xFF


@nb.njit(cache=True, nogil=True)
def _pack_a(a, kpad):
    """*a* as int16 rows of *kpad* values, zero-padded to a whole number of ``MR`` rows."""
    M, K = a.shape
    a16 = np.zeros(((M + MR - 1) // MR) * MR * kpad, dtype=np.int16)
    for i in range(M):
        for k in range(K):
            a16[i * kpad + k] = a[i, k]
    return a16


@nb.njit(cache=True, nogil=True)
def _column_block(a16, kpad, b, out, jb):
    """Columns ``jb * NR ...`` of ``out = a @ b`` (``a`` packed in *a16*)."""
    M = out.shape[0]
    K, N = b.shape
    flat = out.reshape(-1)
    mblk = a16.shape[0] // (MR * kpad)
    panel = np.empty(KC // 2 * 8 * _LANES, dtype=np.int16)
    tile = np.empty(MR * NR, dtype=np.int64)
    j0 = jb * NR
    ncols = min(NR, N - j0)
    for kb in range((K + KC - 1) // KC):
        k0 = kb * KC
        kc = min(KC, K - k0)
        _pack_panel(b, k0, kc, j0, panel)
        kp = (kc + 1) // 2
        add = 1 if kb > 0 else 0
        for ib in range(mblk):
            i0 = ib * MR
            nrows = min(MR, M - i0)
            if nrows == MR and ncols == NR:
                _tile(a16, i0 * kpad + k0, kpad, panel, kp, flat, i0 * N + j0, N, add)
            else:
                _tile(a16, i0 * kpad + k0, kpad, panel, kp, tile, 0, NR, 0)
                for r in range(nrows):
                    for jj in range(ncols):
                        if add:
                            out[i0 + r, j0 + jj] += tile[r * NR + jj]
                        else:
                            out[i0 + r, j0 + jj] = tile[r * NR + jj]


@nb.njit(cache=True, parallel=True, nogil=True)
def _matmul(a, b, out):
    """``out = a @ b`` for int64 ``a`` (M, K) and ``b`` (K, N) whose values fit in int16;
    *out* (M, N) int64, C-contiguous. The column blocks are shared among numba's threads."""
    kpad = a.shape[1] + (a.shape[1] & 1)
    a16 = _pack_a(a, kpad)
    for jb in prange((b.shape[1] + NR - 1) // NR):
        _column_block(a16, kpad, b, out, jb)


@nb.njit(cache=True, nogil=True)
def _matmul_serial(a, b, out):
    """:func:`_matmul` in the calling thread alone."""
    kpad = a.shape[1] + (a.shape[1] & 1)
    a16 = _pack_a(a, kpad)
    for jb in range((b.shape[1] + NR - 1) // NR):
        _column_block(a16, kpad, b, out, jb)


def _kernel():
    """The threaded kernel, but in a process forked from one whose numba thread pool had
    started: GNU OpenMP (numba's usual threading layer on Linux) cannot run there, and numba
    terminates such a child rather than let it hang. ``collect(workers=N)`` forks."""
    return _matmul if thread_pool_usable() else _matmul_serial


def matmul_s16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact ``a @ b`` of 2-D int64 arrays whose values all lie in ``[-2**15, 2**15)``, and
    ``K = a.shape[1] < 2**24``; a fresh C-contiguous int64 array. Needs :func:`usable`."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.int64)
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    kernel = _kernel()
    if kernel is _matmul_serial:  # no thread pool: nothing shared to guard
        kernel(a, b, out)
    else:
        with _LOCK:
            kernel(a, b, out)
    return out


def usable() -> bool:
    """True if :func:`available` and the compiled kernel reproduces, on first use in this
    process, an exact product with every edge case (the extreme values, ragged tiles, two
    blocks of ``k``); decided once. A target without the instruction, or an LLVM that does not
    know it, gives False instead of an error, and callers take another exact path."""
    if not _VERDICT:
        ok = False
        if available():
            try:
                m, k, n = MR + 1, KC + 3, NR + 5
                idx = np.arange(m * k, dtype=np.int64).reshape(m, k)
                a = (idx * 7919) % (1 << 16) - (1 << 15)
                b = ((np.arange(k * n, dtype=np.int64).reshape(k, n) * 104729) % (1 << 16)
                     - (1 << 15))
                a[0, :] = -(1 << 15)
                b[:, 0] = -(1 << 15)
                a[1, :] = (1 << 15) - 1
                b[:, 1] = (1 << 15) - 1
                exact = a.astype(object) @ b.astype(object)
                ok = bool((matmul_s16(a, b) == exact).all())
            except Exception:  # noqa: BLE001 - any failure to build or run: not usable
                ok = False
        _VERDICT.append(ok)
    return _VERDICT[0]
