"""Reductions, inner products, convolution, joins and selections on ``fi``.

Every function computes the exact result on stored integers and returns it in the type that
MATLAB's rules give (``_rules``): ``sum`` grows ``ceil(log2 N)`` integer bits, ``prod`` grows to
``N*WL`` bits, ``dot``/``matmul``/``convolve`` hold products in the product type and grow the
accumulator ``ceil(log2 K)`` bits. Under non-full product/sum modes the products are cast to the
product type and accumulated MATLAB-style: a running sum in the sum type, each addend cast
first when ``cast_before_sum`` is set, the sum requantized with the fimath's rounding and
overflow after every addition.

How the exact integers are computed (the caller never sees the difference):

* float64 BLAS on the stored integers when every product and partial sum is provably below
  ``2**53`` in magnitude (every such integer is a float64, so any summation order is exact);
* a numba int64 kernel (``fixsim._kernels._linalg``) when they are provably below ``2**63``;
* beyond, for large enough problems, the operands split into limbs small enough for the exact
  float64 path, the limb products recombined with Python ints;
* Python ints (object arrays) otherwise.

``concatenate``, ``stack`` and ``where`` return the smallest type that holds every input
exactly (``_rules.union_type``), a deliberate difference from MATLAB, which casts to the
leftmost operand's type.

Quantizations (casts to the product or sum type, running-sum requantizations, the rounding of
``mean``) report their counts to the probe hook (``_probe``).
"""

from __future__ import annotations

import builtins
import operator
import threading
from fractions import Fraction

import numpy as np

from .._kernels import lazy
from . import _arith, _probe, _rules
from ._arith import _int_operand, multiply, resolve_fimath, to_fi_operand
from ._convert import as_value_array
from ._fi import fi, make_fi
from ._fimath import fimath
from ._modes import Overflow, Rounding
from ._numerictype import MAX_WORD_LENGTH, numerictype
from ._quantize import (
    _quantize_objects,
    _to_object,
    as_storage,
    quantize_float,
    requantize,
    requantize_obj,
    stochastic_words,
    storage_kind,
)

kl = lazy("fixsim._kernels._linalg")
kv = lazy("fixsim._kernels._vnni")

__all__ = [
    "sum", "cumsum", "prod", "mean", "dot", "matmul", "convolve", "correlate",
    "concatenate", "stack", "where", "max", "min", "argmax", "argmin", "sort", "argsort",
    "clip", "diff", "ptp", "floor", "ceil", "fix", "nearest", "round", "convergent",
]

# this module defines sum, max, min and round: the builtins under other names
_bmax = builtins.max
_bmin = builtins.min
_babs = builtins.abs

_FLOAT_EXACT = 1 << 53  # every integer of magnitude <= 2**53 is a float64
# float64 workspaces of the BLAS path, per thread: a fresh array of a few hundred kB is
# page-faulted in on first write, which cost more than the 256x256 dgemm itself (measured:
# 0.54 ms for ``A @ B`` against 0.35 ms into a reused output). Buffers up to this many
# elements (16 MB) are kept for the next call; larger products allocate.
_WS_MAX = 1 << 21
_WS = threading.local()
_INT64_BOUND = 1 << 63  # int64 holds magnitudes < 2**63
#: multiply-adds from which a 2-D product of 16-bit operands takes the AVX-512 VNNI kernel
#: (below, its packing and thread start cost more than float64 BLAS)
_VNNI_MIN_WORK = 1 << 16

#: rows x terms handled at once by the per-product (non-full mode) paths
_CHUNK = 1 << 20


# -- small helpers ----------------------------------------------------------------------------
def _width(T: numerictype) -> int:
    """Bits a two's complement integer needs to hold every stored integer of *T*."""
    return T.word_length + (0 if T.signed else 1)


def _dtype_of(T: numerictype) -> np.dtype:
    kind = storage_kind(T)
    return np.dtype(np.int64) if kind == "i64" else (
        np.dtype(np.uint64) if kind == "u64" else np.dtype(object))


def _carrier(fl: int, width: int = 2) -> numerictype:
    """A numerictype that only carries a fraction length (for ``requantize``'s source)."""
    return numerictype(True, _bmin(_bmax(int(width), 2), MAX_WORD_LENGTH), fl)


def _zeros(shape, T: numerictype) -> np.ndarray:
    dt = _dtype_of(T)
    if dt.kind == "O":
        out = np.empty(shape, dtype=object)
        out.fill(0)
        return out
    return np.zeros(shape, dtype=dt)


def _as_dtype(res, dtype: np.dtype) -> np.ndarray:
    """A numpy result (array or scalar) as an array of storage dtype *dtype*."""
    if isinstance(res, np.ndarray) and res.dtype == dtype:
        return res
    if dtype.kind == "O":
        if isinstance(res, np.ndarray):
            return _to_object(res)
        out = np.empty((), dtype=object)
        out[()] = int(res)
        return out
    return np.asarray(res, dtype=dtype)


def _as_fi(x, method: str) -> fi:
    """The operand of a unary reduction: a fi, or a numpy integer array (exact, FL 0)."""
    if isinstance(x, fi):
        return x
    y = _int_operand(x)
    if y is not None:
        return y
    raise TypeError(f"{method}: expected a fi (or a numpy integer array), got "
                    f"{type(x).__name__}; build one with fi(x, ...).")


def _local(a: fi) -> tuple[fimath, fimath | None]:
    return a.fimath, a._fimath


class _Counts:
    """Accumulates quantization counts and reports them once to the probe hook."""

    __slots__ = ("n", "o", "u")

    def __init__(self):
        self.n = self.o = self.u = 0

    def add(self, n, o, u):
        self.n += int(n)
        self.o += int(o)
        self.u += int(u)

    def report(self, T: numerictype, operation: str):
        if self.n:
            _probe.report(T, self.n, self.o, self.u, operation)


def _requant(ints, src_fl: int, T: numerictype, F: fimath, method: str, counts: _Counts,
             rounding: Rounding | None = None) -> np.ndarray:
    """Requantize exact integers at fraction length *src_fl* into *T* (counts accumulated)."""
    out, o, u = requantize(ints, _carrier(src_fl), T,
                           F.rounding if rounding is None else rounding, F.overflow, None,
                           method)
    counts.add(ints.size, o, u)
    return out


def _norm_axes(axis, ndim: int, method: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = []
    for ax in axes:
        ax = operator.index(ax)
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim)
        out.append(ax % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{method}: repeated axis in {axis!r}.")
    return tuple(out)


def _to_rows(ints: np.ndarray, axes: tuple[int, ...]):
    """Move *axes* last and merge them: ``(rows (M, N), kept shape, N)``."""
    keep = [i for i in range(ints.ndim) if i not in axes]
    kept_shape = tuple(ints.shape[i] for i in keep)
    n = 1
    for ax in axes:
        n *= ints.shape[ax]
    m = 1
    for s in kept_shape:
        m *= s
    t = ints.transpose(keep + list(axes)) if ints.ndim else ints
    return t.reshape((m, n)), kept_shape, n


def _out_shape(shape, axes, kept_shape, keepdims: bool):
    if not keepdims:
        return kept_shape
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _mul_exact(ia: np.ndarray, wa: int, ib: np.ndarray, wb: int) -> np.ndarray:
    """Exact elementwise products: int64 when ``|a*b| <= 2**(wa+wb-2) < 2**63``."""
    if ia.dtype == np.int64 and ib.dtype == np.int64 and wa + wb <= 64:
        return ia * ib
    return _to_object(ia) * _to_object(ib)


# -- exact sums ------------------------------------------------------------------------------
def _exact_row_sums(x: np.ndarray, wx: int) -> np.ndarray:
    """Exact sums of the rows of *x* (M, N) whose entries need *wx* bits."""
    m, n = x.shape
    if n == 0:
        return np.zeros(m, dtype=np.int64)
    if x.dtype == np.int64 and wx + _rules.growth_bits(n) <= 64:
        # |partial sum| <= n * 2**(wx-1) <= 2**63 with the negative end reachable only by
        # -2**63 itself: int64 is exact in any summation order
        return x.sum(axis=1, dtype=np.int64)
    if x.dtype != object and n < (1 << 31):
        # split each value into x >> 32 (signed) and x & (2**32 - 1) (in [0, 2**32)); with
        # fewer than 2**31 terms neither partial sum can leave int64
        hi = (x >> 32).astype(np.int64)
        lo = (x & 0xFFFFFFFF).astype(np.int64)
        return (hi.sum(axis=1).astype(object) * (1 << 32)
                + lo.sum(axis=1).astype(object))
    return _to_object(x).sum(axis=1)


def _exact_row_cumsums(x: np.ndarray, wx: int) -> np.ndarray:
    m, n = x.shape
    if x.dtype == np.int64 and wx + _rules.growth_bits(n) <= 64:
        return np.cumsum(x, axis=1, dtype=np.int64)
    if x.dtype != object and n < (1 << 31):
        hi = (x >> 32).astype(np.int64)
        lo = (x & 0xFFFFFFFF).astype(np.int64)
        return (np.cumsum(hi, axis=1).astype(object) * (1 << 32)
                + np.cumsum(lo, axis=1).astype(object))
    return np.cumsum(_to_object(x), axis=1) if x.size else _to_object(x)


# -- MATLAB running sums (non-full sum modes) -------------------------------------------------
def _running_obj(x, lo, hi, d, R, rounding, overflow, first_exact, keep_all, counts):
    """Python-int version of ``_kernels._linalg.running_sum_i64`` (vectorised over rows)."""
    m, n = x.shape
    xo = _to_object(x)
    acc = np.zeros(m, dtype=object)
    state = np.zeros(m, dtype=np.int8)  # 0: empty, 1: exact first addend, 2: in the sum type
    out = np.zeros((m, n), dtype=object) if keep_all else None

    def q(v, dd, count=True):
        r, o, u = requantize_obj(v, dd, R, rounding, overflow)
        if count:
            counts.add(v.size, o, u)
        return r

    for i in range(n):
        valid = (lo <= i) & (i < hi)
        if not valid.any():
            continue
        xi = xo[:, i]
        new = valid & (state == 0)
        ex = valid & (state == 1)
        inr = valid & (state == 2)
        if new.any():
            acc[new] = xi[new]
            state[new] = 1 if first_exact else 2
            if keep_all:
                out[new, i] = q(xi[new], d) if first_exact else xi[new]
        if ex.any():
            acc[ex] = q(acc[ex] + xi[ex], d)
            state[ex] = 2
        if inr.any():
            if d > 0:
                acc[inr] = q((acc[inr] << d) + xi[inr], d)
            else:
                acc[inr] = q(acc[inr] + (xi[inr] << (-d)), 0)
        if keep_all:
            done = ex | inr
            out[done, i] = acc[done]
    single = state == 1
    if single.any():
        acc[single] = q(acc[single], d, count=not keep_all)
    return out if keep_all else acc


def _running_sum(x: np.ndarray, Tx: numerictype, R: numerictype, F: fimath, method: str,
                 keep_all: bool = False, lo=None, hi=None) -> np.ndarray:
    """MATLAB running sums of the rows of *x* (exact integers of type *Tx*) in type *R*.

    Rows add ``x[m, lo[m]:hi[m]]`` in increasing index (all of the row by default). Returns
    R-storage integers, (M,) or (M, N) with ``keep_all``.
    """
    m, n = x.shape
    counts = _Counts()
    full_rows = lo is None
    if full_rows:
        lo = np.zeros(m, dtype=np.int64)
        hi = np.full(m, n, dtype=np.int64)
    if F.cast_before_sum:
        if x.size:
            out, o, u = requantize(x, Tx, R, F.rounding, F.overflow, None, method)
            counts.add(int(np.sum(hi - lo)) if not full_rows else x.size, o, u)
            x = out
        Tx, first_exact = R, False
    else:
        first_exact = True
    d = Tx.fraction_length - R.fraction_length
    wx, wr = _width(Tx), _width(R)
    widest = wr + d if d > 0 else wx - d
    if x.dtype == np.int64 and _bmax(wx, wr, widest) + 1 <= 63:
        # every exact sum (accumulator aligned with the addend, plus one carry bit) fits int64
        words = (stochastic_words(m * n, None) if F.rounding == Rounding.STOCHASTIC
                 else np.empty(0, dtype=np.uint64))
        res = np.empty((m, n if keep_all else 1), dtype=np.int64)
        nq, o, u = kl.running_sum_i64(np.ascontiguousarray(x), lo, hi, d, R.word_length,
                                      R.signed, int(F.rounding), int(F.overflow), first_exact,
                                      keep_all, words, res)
        counts.add(nq, o, u)
        if not keep_all:
            res = res[:, 0]
    else:
        res = _running_obj(x, lo, hi, d, R, F.rounding, F.overflow, first_exact, keep_all,
                           counts)
    counts.report(R, method)
    return as_storage(res, R)


# -- sum, cumsum, prod, mean ------------------------------------------------------------------
def sum(a, axis=None, *, keepdims: bool = False) -> fi:  # noqa: A001 - numpy's name
    """Sum of elements (MATLAB ``sum``), exact under full precision.

    Parameters
    ----------
    a : fi
    axis : None, int or tuple of int
        Axes to sum over (numpy semantics: None sums everything).
    keepdims : bool

    Returns
    -------
    fi
        Type ``_rules.sum_type(T, N, F)``: ``ceil(log2 N)`` more integer bits, same fraction
        length, under full precision; the fimath's sum mode otherwise, with the running sum
        quantized MATLAB-style after every addition. Keeps ``a``'s local fimath.
    """
    a = _as_fi(a, "sum")
    F, local = _local(a)
    T = a._type
    axes = _norm_axes(axis, a.ndim, "sum")
    x, kept, n = _to_rows(a._int, axes)
    R = _rules.sum_type(T, n, F)
    if F.sum_mode == "full":
        ints = as_storage(_exact_row_sums(x, _width(T)), R)
    else:
        ints = _running_sum(x, T, R, F, "sum")
    return make_fi(ints.reshape(_out_shape(a.shape, axes, kept, keepdims)), R, local)


def cumsum(a, axis=None) -> fi:
    """Cumulative sum; every partial sum in the type of the whole sum over that axis.

    ``axis=None`` works on the flattened array (numpy). Under non-full sum modes the partial
    sums are those of ``sum``'s running sum, so ``cumsum(a)[-1] == sum(a)``.
    """
    a = _as_fi(a, "cumsum")
    F, local = _local(a)
    T = a._type
    if axis is None or a.ndim == 0:
        ints = a._int.reshape(-1)
        ax = 0
    else:
        ints = a._int
        ax = _norm_axes(axis, a.ndim, "cumsum")[0]
    moved = np.moveaxis(ints, ax, -1)
    shape = moved.shape
    n = shape[-1]
    x = moved.reshape(-1, n) if n else moved.reshape(int(np.prod(shape[:-1])), 0)
    R = _rules.sum_type(T, n, F)
    if F.sum_mode == "full":
        res = as_storage(_exact_row_cumsums(x, _width(T)), R)
    else:
        res = _running_sum(x, T, R, F, "cumsum", keep_all=True)
    res = np.moveaxis(res.reshape(shape), -1, ax)
    return make_fi(res, R, local)


def prod(a, axis=None, *, keepdims: bool = False) -> fi:
    """Product of elements (MATLAB ``prod``).

    Full precision: ``N*WL`` bits with ``N*FL`` fraction bits (exact). Under a non-full
    product mode the running product is requantized into the product type after every
    multiplication (the first two factors are multiplied exactly). The product over an empty
    axis raises ``ValueError`` (the empty product 1 has no natural fixed-point type).
    """
    a = _as_fi(a, "prod")
    F, local = _local(a)
    T = a._type
    axes = _norm_axes(axis, a.ndim, "prod")
    x, kept, n = _to_rows(a._int, axes)
    if n == 0:
        raise ValueError("prod: the product over an empty axis (1) has no fixed-point type; "
                         "build it explicitly, e.g. fi(1, T).")
    R = _rules.prod_type(T, n, F)
    if F.product_mode == "full":
        if storage_kind(R) == "i64" and x.dtype == np.int64 and (T.signed or R.word_length <= 63):
            # every partial product is bounded by the full product, which fits R (<= 64 bits)
            res = x.prod(axis=1, dtype=np.int64)
        elif storage_kind(R) == "u64" and x.dtype != object:
            res = x.astype(np.uint64).prod(axis=1, dtype=np.uint64)  # < 2**64, nonnegative
        else:
            res = _to_object(x).prod(axis=1)
        ints = as_storage(res, R)
    else:
        counts = _Counts()
        acc, Tacc = x[:, 0], T
        if n == 1:
            acc = _requant(acc, T.fraction_length, R, F, "prod", counts)
        for i in range(1, n):
            p = _mul_exact(acc, _width(Tacc), x[:, i], _width(T))
            acc = _requant(p, Tacc.fraction_length + T.fraction_length, R, F, "prod", counts)
            Tacc = R
        counts.report(R, "prod")
        ints = as_storage(acc, R)
    return make_fi(ints.reshape(_out_shape(a.shape, axes, kept, keepdims)), R, local)


def mean(a, axis=None, *, keepdims: bool = False) -> fi:
    """Mean (MATLAB ``mean``): the input's numerictype, the exact sum divided by ``N`` and
    rounded with the fimath's rounding (then its overflow mode), with no float on the way.

    As in MATLAB, the result has no local fimath (``a``'s fimath governs the rounding). numpy
    axis semantics: ``axis=None`` averages everything (MATLAB's ``mean(A)`` of a matrix is
    ``axis=0``). The mean over an empty axis raises ``ValueError``.
    """
    a = _as_fi(a, "mean")
    F = a.fimath
    T = a._type
    axes = _norm_axes(axis, a.ndim, "mean")
    x, kept, n = _to_rows(a._int, axes)
    if n == 0:
        raise ValueError("mean: the mean over an empty axis is undefined.")
    s = _exact_row_sums(x, _width(T))
    if n == 1:
        q, src = s, T
    else:
        # the exact quotient with a guard and a sticky bit, so that the one requantization
        # rounds (and counts, and wrap_sm-wraps) as if it had the exact mean
        if s.dtype == np.int64 and _width(T) + _rules.growth_bits(n) + 3 > 62:
            s = s.astype(object)
        den = np.full(s.shape, n, dtype=np.int64 if s.dtype == np.int64 else object)
        q = _arith.sticky_quotient(s, den, 2)
        src = numerictype(True, 2, T.fraction_length + 2)
    out, o, u = requantize(q, src, T, F.rounding, F.overflow, None, "mean")
    _probe.report(T, out.size, o, u, "mean")
    return make_fi(out.reshape(_out_shape(a.shape, axes, kept, keepdims)), T, None)


# -- inner products ---------------------------------------------------------------------------
#: largest number of limb-pair BLAS products the limb split may use before Python ints win
_MAX_LIMB_PAIRS = 256
#: below this many multiply-adds Python ints are cheaper than the limb split's overhead
_MIN_LIMB_WORK = 4096


def _limbs(x: np.ndarray, n: int, L: int) -> list[np.ndarray]:
    """Split exact integers into ``n`` int64 limbs: ``x = sum(limb[i] << (i*L))``.

    The low ``n - 1`` limbs are unsigned in ``[0, 2**L)``; the top one is ``x >> (n-1)*L``
    (floor, so signed). The caller picks ``n`` so that ``|top| <= 2**L``.
    """
    mask = (1 << L) - 1
    out = []
    for i in range(n):
        part = x >> (i * L)
        if i < n - 1:
            part = part & mask
        out.append(part.astype(np.int64))
    return out


def _workspace(role: int, shape: tuple) -> np.ndarray:
    """A float64 array of *shape* from this thread's workspace *role* (contents undefined;
    valid until the next call with the same role)."""
    size = 1
    for d in shape:
        size *= d
    if size > _WS_MAX:
        return np.empty(shape)
    bufs = getattr(_WS, "bufs", None)
    if bufs is None:
        bufs = _WS.bufs = [np.empty(0), np.empty(0), np.empty(0)]
    buf = bufs[role]
    if buf.size < size:
        buf = bufs[role] = np.empty(size)
    return buf[:size].reshape(shape)


def _f64_matmul(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """``ia @ ib`` of int64 arrays through float64 BLAS (the caller proves it exact), with
    the float64 operands and product in reused workspaces; the result is a fresh int64 array."""
    out_shape = np.broadcast_shapes(ia.shape[:-2], ib.shape[:-2]) + (ia.shape[-2],
                                                                    ib.shape[-1])
    fa = _workspace(0, ia.shape)
    fb = _workspace(1, ib.shape)
    np.copyto(fa, ia, casting="unsafe")
    np.copyto(fb, ib, casting="unsafe")
    fo = _workspace(2, out_shape)
    np.matmul(fa, fb, out=fo)
    return fo.astype(np.int64)


def _exact_bilinear(ia: np.ndarray, wa: int, ib: np.ndarray, wb: int, k: int, op,
                    kernel, work: int) -> np.ndarray:
    """Exact integer result of a bilinear operation (``matmul`` or ``convolve``) whose every
    output sums at most *k* products of integers needing *wa* and *wb* bits.

    ``op`` is the numpy function (float64 and object arrays), ``kernel`` the numba int64
    fallback.
    """
    # |a| <= 2**(wa-1) and |b| <= 2**(wb-1), so every product is at most 2**(wa+wb-2) and
    # every partial sum of at most k products at most k * 2**(wa+wb-2) in magnitude.
    bound = k << (wa + wb - 2)
    ints = ia.dtype != object and ib.dtype != object
    if (op is np.matmul and ints and wa <= 16 and wb <= 16 and ia.ndim == 2 and ib.ndim == 2
            and work >= _VNNI_MIN_WORK and k < (1 << 24) and kv.usable()):
        # int16 operands on AVX-512 VNNI: exact by the limb bounds of fixsim._kernels._vnni,
        # about twice as fast as the float64 dgemm below
        return kv.matmul_s16(ia, ib)
    if ints and bound <= _FLOAT_EXACT:
        # float64 BLAS: the operands, every product and every partial sum are integers of
        # magnitude <= 2**53, which float64 holds exactly, so the result is exact whatever the
        # summation order or FMA use.
        if op is np.matmul:
            return _f64_matmul(ia, ib)
        return op(ia.astype(np.float64), ib.astype(np.float64)).astype(np.int64)
    if ints and bound < _INT64_BOUND:
        # numba int64 kernel: the same bound below 2**63, so no product or partial sum
        # leaves int64
        return kernel(ia, ib)
    # limb split: a = sum(a_i << i*La), b = sum(b_j << j*Lb) with |a_i| <= 2**La and
    # |b_j| <= 2**Lb, La + Lb + ceil(log2 k) <= 53; each limb pair then takes the exact
    # float64 path above, and the pairs are combined with Python ints.
    g = _rules.growth_bits(k)
    budget = 53 - g
    ma, mb = wa - 1, wb - 1  # magnitude bits
    if budget >= 2 and work >= _MIN_LIMB_WORK:
        if ma < mb:
            la_, lb_ = _limb_plan(mb, ma, budget)[::-1]
        else:
            la_, lb_ = _limb_plan(ma, mb, budget)
        na = -(-ma // la_) if ma else 1
        nb_ = -(-mb // lb_) if mb else 1
        if na * nb_ <= _MAX_LIMB_PAIRS:
            al = _limbs(ia, na, la_)
            bl = [x.astype(np.float64) for x in _limbs(ib, nb_, lb_)]
            by_shift: dict[int, np.ndarray] = {}
            for i, x in enumerate(al):
                xf = x.astype(np.float64)
                for j, y in enumerate(bl):
                    p = op(xf, y).astype(np.int64)  # exact: |p| <= 2**53
                    sh = i * la_ + j * lb_
                    # at most min(na, nb) <= 2**8 terms of <= 2**53 share a shift: int64
                    by_shift[sh] = by_shift[sh] + p if sh in by_shift else p
            # recombine exactly: sum(D_s << s), highest shift first (Horner on the gaps)
            shifts = sorted(by_shift)
            out = by_shift[shifts[-1]].astype(object)
            for hi_s, lo_s in zip(shifts[::-1], shifts[-2::-1], strict=False):
                out = (out << (hi_s - lo_s)) + by_shift[lo_s].astype(object)
            return out << shifts[0] if shifts[0] else out
    return op(_to_object(ia), _to_object(ib))


def _limb_plan(m_wide: int, m_narrow: int, budget: int) -> tuple[int, int]:
    """Limb widths (wide operand, narrow operand), both >= 1 with ``La + Lb == budget``: the
    narrow operand stays whole when it fits in half the budget."""
    lb = _bmax(1, _bmin(m_narrow, budget // 2))
    return budget - lb, lb


def _kernel_matmul(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    batch = np.broadcast_shapes(ia.shape[:-2], ib.shape[:-2])
    m, k = ia.shape[-2:]
    n = ib.shape[-1]
    nbat = int(np.prod(batch, dtype=np.int64))
    A = np.ascontiguousarray(np.broadcast_to(ia, batch + (m, k)),
                             dtype=np.int64).reshape(nbat, m, k)
    B = np.ascontiguousarray(np.broadcast_to(ib, batch + (k, n)),
                             dtype=np.int64).reshape(nbat, k, n)
    out = np.empty((nbat, m, n), dtype=np.int64)
    kl.matmul_i64(A, B, out)
    return out.reshape(batch + (m, n))


def _kernel_convolve(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    out = np.empty(ia.shape[0] + ib.shape[0] - 1, dtype=np.int64)
    kl.convolve_i64(np.ascontiguousarray(ia, dtype=np.int64),
                    np.ascontiguousarray(ib, dtype=np.int64), out)
    return out


def _exact_matmul(ia: np.ndarray, wa: int, ib: np.ndarray, wb: int) -> np.ndarray:
    """Exact ``ia @ ib`` (stacks broadcast) of integers needing *wa* and *wb* bits."""
    k = ia.shape[-1]
    work = ia.size * ib.shape[-1]
    return _exact_bilinear(ia, wa, ib, wb, k, np.matmul, _kernel_matmul, work)


def _matmul_core(ia: np.ndarray, ta: numerictype, ib: np.ndarray, tb: numerictype,
                 F: fimath, method: str) -> tuple[np.ndarray, numerictype]:
    """``ia (..., M, K) @ ib (..., K, N)`` in MATLAB's inner-product types."""
    k = ia.shape[-1]
    P, R = _rules.inner_type(ta, tb, k, F)
    wa, wb = _width(ta), _width(tb)
    if F.product_mode == "full" and F.sum_mode == "full":
        return as_storage(_exact_matmul(ia, wa, ib, wb), R), R
    # each product cast to the product type, then summed (exactly, or MATLAB's running sum)
    ideal_fl = ta.fraction_length + tb.fraction_length
    exact_p = (P.signed, P.word_length, P.fraction_length) == (
        ta.signed or tb.signed, ta.word_length + tb.word_length, ideal_fl)
    batch = np.broadcast_shapes(ia.shape[:-2], ib.shape[:-2])
    m, n = ia.shape[-2], ib.shape[-1]
    nbat = int(np.prod(batch, dtype=np.int64))
    A = np.broadcast_to(ia, batch + (m, k)).reshape(nbat, m, k)
    B = np.broadcast_to(ib, batch + (k, n)).reshape(nbat, k, n)
    out = _zeros((A.shape[0], m, n), R)
    counts = _Counts()
    step = _bmax(1, _CHUNK // _bmax(n * k, 1))
    for s in range(A.shape[0]):
        bt = B[s].T  # (n, k)
        for r0 in range(0, m, step):
            a = A[s, r0:r0 + step]
            p = _mul_exact(a[:, None, :], wa, bt[None, :, :], wb)  # (rows, n, k)
            p = np.ascontiguousarray(p).reshape(a.shape[0] * n, k)
            if not exact_p:
                p = _requant(p, ideal_fl, P, F, method, counts)
            if F.sum_mode == "full":
                sums = as_storage(_exact_row_sums(p, _width(P)), R)
            else:
                sums = _running_sum(p, P, R, F, method)
            out[s, r0:r0 + step] = sums.reshape(-1, n)
    counts.report(P, method)
    return out.reshape(batch + (m, n)), R


def _pair_best(a, b, method: str):
    """Both operands as fi (a non-fi one converted as MATLAB converts a factor)."""
    if not isinstance(a, fi) and not isinstance(b, fi):
        from ._interval import Interval
        if isinstance(a, Interval) or isinstance(b, Interval):
            alt = " (or the @ operator)" if method in ("matmul", "dot") else ""
            raise TypeError(f"{method}: an operand is an Interval (fx.tool.derive); call "
                            f"numpy's np.{method}{alt}, which Interval implements.")
        raise TypeError(f"{method}: at least one operand must be a fi.")
    F, local = resolve_fimath((a, b), method)
    if not isinstance(a, fi):
        a = to_fi_operand(a, b, F, "best", method)
    if not isinstance(b, fi):
        b = to_fi_operand(b, a, F, "best", method)
    return a, b, F, local


def matmul(a, b) -> fi:
    """Matrix product with numpy's ``matmul`` shape rules (stacks broadcast, 1-D operands
    promoted and the added axis removed) and MATLAB ``mtimes`` types: products in the product
    type, the sum ``ceil(log2 K)`` bits wider (``_rules.inner_type``). Exact under full
    precision."""
    a, b, F, local = _pair_best(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must not be scalars; use * for a scalar product.")
    ia, ib = a._int, b._int
    a1, b1 = a.ndim == 1, b.ndim == 1
    if a1:
        ia = ia[None, :]
    if b1:
        ib = ib[:, None]
    if ia.shape[-1] != ib.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ ({a.shape} @ {b.shape}).")
    np.broadcast_shapes(ia.shape[:-2], ib.shape[:-2])
    out, R = _matmul_core(ia, a._type, ib, b._type, F, "matmul")
    if a1:
        out = out[..., 0, :]
    if b1:
        out = out[..., 0]
    return make_fi(out, R, local)


def _tensordot(a: fi, b: fi, axes_a, axes_b, F, local, method: str) -> fi:
    """Sum of products over ``axes_a`` of *a* and ``axes_b`` of *b* (numpy ``tensordot``)."""
    axes_a = [ax % a.ndim for ax in axes_a]
    axes_b = [ax % b.ndim for ax in axes_b]
    for x, y in zip(axes_a, axes_b, strict=True):
        if a.shape[x] != b.shape[y]:
            raise ValueError(f"{method}: shape mismatch for sum ({a.shape} and {b.shape}).")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = 1
    for x in axes_a:
        k *= a.shape[x]
    ma = 1
    for i in free_a:
        ma *= a.shape[i]
    nb_ = 1
    for i in free_b:
        nb_ *= b.shape[i]
    ia = a._int.transpose(free_a + axes_a).reshape(ma, k)
    ib = b._int.transpose(axes_b + free_b).reshape(k, nb_)
    out, R = _matmul_core(ia, a._type, ib, b._type, F, method)
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return make_fi(out.reshape(shape), R, local)


def dot(a, b) -> fi:
    """numpy ``dot`` shape rules with MATLAB inner-product types.

    1-D with 1-D is the inner product, 2-D with 2-D the matrix product, a scalar operand an
    elementwise product (MATLAB ``times``); N-D sums over the last axis of ``a`` and the
    second-to-last of ``b``.
    """
    a, b, F, local = _pair_best(a, b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return _tensordot(a, b, [a.ndim - 1], [_bmax(b.ndim - 2, 0)], F, local, "dot")


def _conv_full(ia, ta, ib, tb, P, R, F, method) -> np.ndarray:
    """Full linear convolution of stored-integer vectors in the types (P, R)."""
    na, nb_ = ia.shape[0], ib.shape[0]
    wa, wb = _width(ta), _width(tb)
    if F.product_mode == "full" and F.sum_mode == "full":
        # each output sums at most min(na, nb) products
        res = _exact_bilinear(ia, wa, ib, wb, _bmin(na, nb_), np.convolve, _kernel_convolve,
                              na * nb_)
        return as_storage(res, R)
    # non-full modes: output n sums a[i] * b[n - i] over the valid i, in increasing i
    ideal_fl = ta.fraction_length + tb.fraction_length
    exact_p = (P.signed, P.word_length, P.fraction_length) == (
        ta.signed or tb.signed, ta.word_length + tb.word_length, ideal_fl)
    total = na + nb_ - 1
    pad = np.zeros(nb_ - 1, dtype=ia.dtype)
    a_pad = np.concatenate([pad, ia, pad]) if nb_ > 1 else ia
    win = np.lib.stride_tricks.sliding_window_view(a_pad, nb_)  # win[n, j] = a[n + j - nb + 1]
    brev = ib[::-1]
    counts = _Counts()
    out = _zeros(total, R)
    step = _bmax(1, _CHUNK // _bmax(nb_, 1))
    for r0 in range(0, total, step):
        rows = np.arange(r0, _bmin(r0 + step, total))
        p = _mul_exact(win[rows], wa, brev[None, :], wb)
        if not exact_p:
            p = _requant(p, ideal_fl, P, F, method, counts)
        if F.sum_mode == "full":
            out[rows] = as_storage(_exact_row_sums(p, _width(P)), R)
        else:
            lo = np.maximum(nb_ - 1 - rows, 0).astype(np.int64)
            hi = np.minimum(nb_, na + nb_ - 1 - rows).astype(np.int64)
            out[rows] = _running_sum(p, P, R, F, method, lo=lo, hi=hi)
    counts.report(P, method)
    return out


def _mode_slice(full: np.ndarray, n1: int, n: int, mode, method: str) -> np.ndarray:
    """numpy's 'full'/'same'/'valid' part of a full result (``n1 >= n`` the lengths)."""
    key = mode[:1].lower() if isinstance(mode, str) and mode else mode
    if key in ("f", 2):
        return full
    if key in ("s", 1):
        start = (n - 1) - n // 2
        return full[start:start + n1]
    if key in ("v", 0):
        return full[n - 1:n1]
    raise ValueError(f"{method}: mode={mode!r} is not valid; valid: 'full', 'same', 'valid'.")


def _vectors(a, b, method: str):
    a, b, F, local = _pair_best(a, b, method)
    if a.ndim > 1 or b.ndim > 1:
        raise ValueError(f"{method}: operands must be 1-D (got shapes {a.shape} and "
                         f"{b.shape}).")
    if a.ndim == 0:
        a = a.reshape(1)
    if b.ndim == 0:
        b = b.reshape(1)
    if a.size == 0:
        raise ValueError(f"{method}: a cannot be empty")
    if b.size == 0:
        raise ValueError(f"{method}: v cannot be empty")
    return a, b, F, local


def convolve(a, b, mode: str = "full") -> fi:
    """Linear convolution (MATLAB ``conv`` types, numpy ``convolve`` modes).

    Products in the product type, sums ``ceil(log2 min(na, nb))`` bits wider
    (``_rules.conv_type``); exact under full precision. ``mode`` is 'full', 'same' or
    'valid' as in numpy. Under non-full modes each output accumulates its products in
    increasing index of ``a``.
    """
    a, b, F, local = _vectors(a, b, "convolve")
    na, nb_ = a.size, b.size
    P, R = _rules.conv_type(a._type, b._type, na, nb_, F)
    full = _conv_full(a._int, a._type, b._int, b._type, P, R, F, "convolve")
    return make_fi(_mode_slice(full, _bmax(na, nb_), _bmin(na, nb_), mode, "convolve"), R,
                   local)


def correlate(a, v, mode: str = "valid") -> fi:
    """Cross-correlation ``c[k] = sum_n a[n + k] * v[n]`` (numpy ``correlate`` modes), in the
    types of ``convolve``; exact under full precision."""
    a, v, F, local = _vectors(a, v, "correlate")
    na, nv = a.size, v.size
    P, R = _rules.conv_type(a._type, v._type, na, nv, F)
    if na >= nv:
        full = _conv_full(a._int, a._type, v._int[::-1], v._type, P, R, F, "correlate")
        res = _mode_slice(full, na, nv, mode, "correlate")
    else:
        full = _conv_full(v._int, v._type, a._int[::-1], a._type, P, R, F, "correlate")
        res = _mode_slice(full, nv, na, mode, "correlate")[::-1]
    return make_fi(np.ascontiguousarray(res), R, local)


# -- joins and selection ----------------------------------------------------------------------
def _align(x: fi, R: numerictype) -> np.ndarray:
    """Stored integers of *x* re-expressed exactly in type *R* (``R`` holds *x*'s values)."""
    k = R.fraction_length - x._type.fraction_length
    ints = x._int
    dt = _dtype_of(R)
    if k == 0 and ints.dtype == dt:
        return ints
    if ints.dtype == np.int64 and _width(x._type) + k <= 63:
        ints = ints << k if k else ints
        return ints.astype(dt)
    # (np.asarray: a 0-d object array shifted is a Python int; regression: joins with a 0-d
    # operand wider than int64 raised AttributeError)
    return as_storage(np.asarray(_to_object(ints) << k, dtype=object), R)


def _join_operands(items, method: str, how: str = "same"):
    """Convert *items* (fi or numbers) to stored integers of their union type."""
    items = list(items)
    if not items:
        raise ValueError(f"{method}: need at least one array.")
    F, local = resolve_fimath(items, method)
    first = next((x for x in items if isinstance(x, fi)), None)
    if first is None:
        raise TypeError(f"{method}: none of the inputs is a fi.")
    fis = [x if isinstance(x, fi) else to_fi_operand(x, first, F, how, method) for x in items]
    R = _rules.union_type([x._type for x in fis])
    return [_align(x, R) for x in fis], R, local


def concatenate(seq, axis=0) -> fi:
    """Join fi (and numbers) along an axis, in the smallest type holding every input exactly.

    Plain numbers are first converted as MATLAB converts an addend (to the first fi's type,
    with the fimath's modes). This differs deliberately from MATLAB, whose result takes the
    leftmost operand's type.
    """
    ints, R, local = _join_operands(seq, "concatenate")
    if axis is None:
        ints = [x.reshape(-1) for x in ints]
        axis = 0
    return make_fi(np.concatenate(ints, axis=axis), R, local)


def stack(seq, axis=0) -> fi:
    """Stack fi along a new axis, in the smallest type holding every input exactly."""
    ints, R, local = _join_operands(seq, "stack")
    return make_fi(np.stack(ints, axis=axis), R, local)


_NOVALUE = object()


def _cond(cond) -> np.ndarray:
    if isinstance(cond, fi):
        return cond._int != 0
    return np.asarray(cond).astype(bool)


def where(cond, a=_NOVALUE, b=_NOVALUE):
    """Elementwise ``a if cond else b``, in the smallest type holding both exactly.

    With only ``cond``, the indices of the nonzero elements (numpy ``where``).
    """
    if a is _NOVALUE and b is _NOVALUE:
        return np.nonzero(_cond(cond))
    if a is _NOVALUE or b is _NOVALUE:
        raise ValueError("where: either both or neither of a and b should be given.")
    c = _cond(cond)
    if not isinstance(a, fi) and not isinstance(b, fi):
        return np.where(c, a, b)
    (ia, ib), R, local = _join_operands([a, b], "where")
    return make_fi(np.where(c, ia, ib), R, local)


# -- order statistics and sorting --------------------------------------------------------------
def _extreme(fn, a: fi, axis, keepdims: bool, name: str):
    """``fn(a's stored ints, axis, keepdims)`` (numpy max or min), with an error naming
    *name* over an empty axis (regression: numpy's bare "zero-size array to reduction
    operation" came through)."""
    try:
        return fn(a._int, axis=axis, keepdims=keepdims)
    except ValueError as exc:
        if "zero-size" not in str(exc):
            raise
        raise ValueError(f"{name}: the {name} over an empty axis is undefined (the input has "
                         f"shape {a.shape}, axis={axis!r}).") from None


def max(a, axis=None, *, keepdims: bool = False) -> fi:  # noqa: A001 - numpy's name
    """Largest element (exact; the input's type)."""
    a = _as_fi(a, "max")
    res = _extreme(np.max, a, axis, keepdims, "max")
    return make_fi(_as_dtype(res, a._int.dtype), a._type, a._fimath)


def min(a, axis=None, *, keepdims: bool = False) -> fi:  # noqa: A001 - numpy's name
    """Smallest element (exact; the input's type)."""
    a = _as_fi(a, "min")
    res = _extreme(np.min, a, axis, keepdims, "min")
    return make_fi(_as_dtype(res, a._int.dtype), a._type, a._fimath)


def argmax(a, axis=None, *, keepdims: bool = False):
    """Index of the largest element (numpy ``argmax``)."""
    return np.argmax(_as_fi(a, "argmax")._int, axis=axis, keepdims=keepdims)


def argmin(a, axis=None, *, keepdims: bool = False):
    """Index of the smallest element (numpy ``argmin``)."""
    return np.argmin(_as_fi(a, "argmin")._int, axis=axis, keepdims=keepdims)


def _sort_kw(kind, stable) -> dict:
    kw = {"kind": kind}
    if stable is not None:
        kw["stable"] = stable
    return kw


def sort(a, axis=-1, *, kind=None, stable=None) -> fi:
    """Sorted copy (stored integers sort as the values do)."""
    a = _as_fi(a, "sort")
    return make_fi(np.sort(a._int, axis=axis, **_sort_kw(kind, stable)), a._type, a._fimath)


def argsort(a, axis=-1, *, kind=None, stable=None) -> np.ndarray:
    """Indices that sort ``a`` (numpy ``argsort``)."""
    return np.argsort(_as_fi(a, "argsort")._int, axis=axis, **_sort_kw(kind, stable))


def ptp(a, axis=None, *, keepdims: bool = False) -> fi:
    """``max - min`` exactly: unsigned, the input's word and fraction length."""
    a = _as_fi(a, "ptp")
    hi = _extreme(np.max, a, axis, keepdims, "ptp")
    lo = _extreme(np.min, a, axis, keepdims, "ptp")
    T = a._type
    R = numerictype(False, T.word_length, T.fraction_length)
    if isinstance(hi, np.ndarray) and hi.dtype == np.int64 and _width(T) <= 63:
        res = hi - lo
    else:
        res = _to_object(np.asarray(hi)) - _to_object(np.asarray(lo))
    return make_fi(as_storage(np.asarray(res), R), R, a._fimath)


def _bound_ints(v, T: numerictype, rounding: Rounding, method: str) -> np.ndarray:
    """Bound *v* as stored integers of *T*: rounded inward (ceil for a lower bound, floor for
    an upper one) and saturated, so the comparison with *T*'s values is exact."""
    if isinstance(v, fi):
        out, _, _ = requantize(v._int, v._type, T, rounding, Overflow.SATURATE, None, method)
        return out
    iv = _int_operand(v)
    if iv is not None:
        out, _, _ = requantize(iv._int, iv._type, T, rounding, Overflow.SATURATE, None, method)
        return out
    arr = as_value_array(v, method)
    if arr.dtype.kind == "f" and arr.dtype.itemsize <= 8:
        out, _, _ = quantize_float(arr.astype(np.float64), T, rounding, Overflow.SATURATE,
                                   "raise", None, method)
        return out
    if arr.dtype.kind == "b":
        out, _, _ = requantize(arr.astype(np.int64), numerictype(False, 1, 0), T, rounding,
                               Overflow.SATURATE, None, method)
        return out
    out, _, _ = _quantize_objects(arr.astype(object), T, rounding, Overflow.SATURATE, "raise",
                                  None, method)
    return out


def clip(a, lo=None, hi=None) -> fi:
    """Limit values to ``[lo, hi]`` exactly; the result has ``a``'s type.

    The bounds are compared exactly: ``lo`` is rounded up and ``hi`` down onto ``a``'s grid
    (saturated to its range), so no result lies outside ``[lo, hi]`` and values inside are
    unchanged. Either bound may be None. numpy's order: ``minimum(maximum(a, lo), hi)``.
    """
    a = _as_fi(a, "clip")
    T = a._type
    ints = a._int
    if lo is not None:
        ints = np.maximum(ints, _bound_ints(lo, T, Rounding.CEIL, "clip"))
    if hi is not None:
        ints = np.minimum(ints, _bound_ints(hi, T, Rounding.FLOOR, "clip"))
    if ints is a._int:
        ints = ints.copy()
    return make_fi(_as_dtype(ints, a._int.dtype), T, a._fimath)


def diff(a, n: int = 1, axis: int = -1) -> fi:
    """n-th discrete difference along an axis, exactly.

    Each order adds one bit and the result is signed (differences may be negative):
    ``numerictype(True, WL + n, FL)``, whatever the fimath's sum mode.
    """
    a = _as_fi(a, "diff")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}.")
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional.")
    T = a._type
    axis = _norm_axes(axis, a.ndim, "diff")[0]
    ints = a._int
    width = _width(T)
    upper = [slice(None)] * a.ndim
    lower = [slice(None)] * a.ndim
    upper[axis] = slice(1, None)
    lower[axis] = slice(None, -1)
    upper, lower = tuple(upper), tuple(lower)
    for _ in range(n):
        if not (ints.dtype == np.int64 and width + 1 <= 64):
            ints = _to_object(ints)
        ints = ints[upper] - ints[lower]
        width += 1
    R = numerictype(True, T.word_length + n, T.fraction_length)
    return make_fi(as_storage(ints, R), R, a._fimath)


# -- MATLAB integer-rounding functions ----------------------------------------------------------
def _int_round(a, rounding: Rounding, grows: bool, method: str) -> fi:
    """MATLAB ``floor``/``ceil``/``fix``/``nearest``/``round``/``convergent`` on a fi.

    Fraction length 0. The word length is ``WL - FL`` for the modes that cannot round up past
    the largest value (floor, fix) and ``WL - FL + 1`` for the others (ceil and the nearest
    modes: 15.875 -> 16); at least 2 bits when signed, 1 when unsigned. A type with
    ``FL <= 0`` already holds integers and is returned unchanged.
    """
    a = _as_fi(a, method)
    T = a._type
    if T.fraction_length <= 0:
        return make_fi(a._int.copy(), T, a._fimath)
    w = T.word_length - T.fraction_length + (1 if grows else 0)
    R = numerictype(T.signed, _bmax(w, 2 if T.signed else 1), 0)
    counts = _Counts()
    out = _requant(a._int, T.fraction_length, R, a.fimath, method, counts, rounding=rounding)
    counts.report(R, method)
    return make_fi(out, R, a._fimath)


def floor(a) -> fi:
    """Round toward -inf to an integer (MATLAB ``floor``: ``WL - FL`` bits, FL 0)."""
    return _int_round(a, Rounding.FLOOR, False, "floor")


def fix(a) -> fi:
    """Round toward zero to an integer (MATLAB ``fix``: ``WL - FL`` bits, FL 0)."""
    return _int_round(a, Rounding.ZERO, False, "fix")


def ceil(a) -> fi:
    """Round toward +inf to an integer (MATLAB ``ceil``: ``WL - FL + 1`` bits, FL 0)."""
    return _int_round(a, Rounding.CEIL, True, "ceil")


def nearest(a) -> fi:
    """Round to the nearest integer, ties toward +inf (MATLAB ``nearest``)."""
    return _int_round(a, Rounding.NEAREST, True, "nearest")


def round(a) -> fi:  # noqa: A001 - MATLAB's name
    """Round to the nearest integer, ties away from zero (MATLAB ``round``)."""
    return _int_round(a, Rounding.ROUND, True, "round")


def convergent(a) -> fi:
    """Round to the nearest integer, ties to even (MATLAB ``convergent``; numpy ``rint``)."""
    return _int_round(a, Rounding.CONVERGENT, True, "convergent")


# -- exact conversion of plain numbers for comparisons (numpy protocol helpers) -----------------
def exact_fi(x, method: str) -> fi:
    """A fi holding plain numbers *exactly* (for comparisons: ``isin``, ``searchsorted``...).

    fi pass through, numpy integers keep their built-in type; floats and Python ints and
    Fractions get the smallest signed type holding them. Values with no fixed-point value
    (NaN, inf, non-dyadic fractions, or needing more than 65535 bits) raise ``ValueError``.
    """
    if isinstance(x, fi):
        return x
    y = _int_operand(x)
    if y is not None:
        return y
    arr = as_value_array(x, method)
    if arr.dtype.kind == "b":
        T = numerictype(False, 1, 0)
        return make_fi(arr.astype(np.int64), T, None)
    flat = arr.ravel()
    if arr.dtype.kind == "f":
        flat = flat.astype(np.float64)
        bad = ~np.isfinite(flat)
        if bad.any():
            raise ValueError(f"{method}: {flat[bad][0]!r} has no fixed-point value; compare "
                             "a.data instead.")
        m, e = np.frexp(flat)
        mant = [int(v) for v in (m * 9007199254740992.0).astype(np.int64)]
        exps = [int(v) - 53 for v in e]
        pairs = list(zip(mant, exps, strict=True))
    else:
        pairs = []
        for v in flat:
            try:
                fr = Fraction(int(v)) if isinstance(v, np.integer) else Fraction(v)
            except (OverflowError, ValueError, TypeError):
                raise ValueError(f"{method}: {v!r} has no fixed-point value; compare a.data "
                                 "instead.") from None
            den = fr.denominator
            if den & (den - 1):
                raise ValueError(f"{method}: {v!r} is not a binary fraction and has no "
                                 "fixed-point value.")
            pairs.append((int(fr.numerator), -(int(den).bit_length() - 1)))
    f = 0
    nz = [(mv, ev) for mv, ev in pairs if mv]
    if nz:
        f = _bmax(-(ev + ((mv & -mv).bit_length() - 1)) for mv, ev in nz)
    ints = [mv << (ev + f) if ev + f >= 0 else mv >> -(ev + f) for mv, ev in pairs]
    bits = _bmax([_babs(v).bit_length() for v in ints], default=0) + 1
    if bits > MAX_WORD_LENGTH:
        raise ValueError(f"{method}: the values need a {bits}-bit word to be held exactly, "
                         f"more than {MAX_WORD_LENGTH}; compare a.data instead.")
    T = numerictype(True, _bmax(bits, 2), f)
    obj = np.empty(len(ints), dtype=object)
    obj[:] = ints
    return make_fi(as_storage(obj.reshape(arr.shape), T), T, None)


def exact_union(items, method: str):
    """Items (fi or numbers) as stored integers of one exact common type."""
    fis = [exact_fi(x, method) for x in items]
    R = _rules.union_type([x._type for x in fis])
    return [_align(x, R) for x in fis], R
