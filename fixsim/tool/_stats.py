"""Per-signal statistics that merge exactly: :class:`SignalStats`.

Every number a :class:`SignalStats` holds merges exactly and associatively, so a signal
recorded in one pass, in frames, or in worker processes whose recordings are merged gives
*identical* statistics:

* ``count``, ``zeros``, ``nan_count``, ``inf_count``, ``overflows``, ``underflows`` and the
  histogram bins are integer counts;
* ``min`` and ``max`` are exact floats (``max_abs`` is derived from them); a zero extreme
  is ``+0.0`` whatever the sign of the zeros seen (regression: the first zero seen won, so
  ``a.merge(b)`` and ``b.merge(a)`` saved different signs for ``[0.0]`` and ``[-0.0]``);
* the sum and the sum of squares are exact integers in units of ``2**-1074`` and
  ``2**-2148`` (every finite double is an integer multiple of ``2**-1074``, every square of
  one a multiple of ``2**-2148``), so ``mean``, ``var`` and ``std`` are computed from exact
  rationals and rounded once.

The values go through one fused compiled pass (:mod:`fixsim._kernels._stats`): counts,
extremes, the whole-number flag, the fine histogram and the exact sums (integer mantissas per
binary exponent, in int64 columns that count their own wrap-arounds) in a single loop, read
out into Python integers when the statistics are needed.

Histogram conventions (``x = m * 2**e`` with ``0.5 <= |m| < 1``, as ``numpy.frexp`` gives):

* **log2 histogram** (MATLAB's bit histogram): bin ``k`` counts the finite nonzero values with
  ``2**(k-1) <= |x| < 2**k``, i.e. ``k = e``; a value in bin ``k`` needs ``k`` integer bits of
  magnitude. Zeros are counted apart (``zeros``).
* **fine histogram**: each octave is cut into ``SUBBINS = 16`` equal-width sub-bins, kept apart
  for positive and negative values. Global bin ``g = 16*e + j`` counts the values with
  ``2**(e-1) * (1 + j/16) <= |x| < 2**(e-1) * (1 + (j+1)/16)``. Its edges are exact binary
  numbers, so a clipping threshold at an edge is exact, except in the lowest four octaves of
  the subnormals (below ``2**-1070``), where an edge is not a double: there
  :attr:`SignalStats.fine_histogram` gives it rounded to the nearest double, and a bin's two
  rounded edges may coincide (a value then lies in the closed ``[edges[i], edges[i+1]]``).

Non-finite values are counted (``nan_count``, ``inf_count``) and left out of everything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from .._kernels import lazy
from ._offload import _PIECE
from ._offload import offload as _offload

__all__ = ["SignalStats", "SUBBINS", "STATS_SCHEMA", "DETAILS"]

#: Fine-histogram sub-bins per octave.
SUBBINS = 16
_F64 = np.dtype(np.float64)
_SUB_SHIFT = 4  # log2(SUBBINS)
#: Recording levels: ``'full'`` keeps exact sums, ``'ranges'`` everything else, ``'extremes'``
#: neither the sums nor the histograms (counts, extremes, the whole-number flag).
DETAILS = ("full", "ranges", "extremes")
#: The schema tag of :meth:`SignalStats.to_dict`.
STATS_SCHEMA = "fixsim.SignalStats/1"

_SUM_UNIT_EXP = -1074  # the sum is an integer multiple of 2**-1074
_SQ_UNIT_EXP = -2148  # the sum of squares is an integer multiple of 2**-2148

_ks = lazy("fixsim._kernels._stats")
_kr = lazy("fixsim._kernels._ring")


# -- exact per-call summaries ----------------------------------------------------------------------
def _shift(v: int, k: int) -> int:
    """``v * 2**k``, exact (for ``k < 0`` the low bits are zero by construction)."""
    if k >= 0:
        return v << k
    assert v % (1 << -k) == 0, "inexact unit conversion"
    return v >> -k if v >= 0 else -((-v) >> -k)


class _Summary:
    """The statistics of some values (before merging into a :class:`SignalStats`)."""

    __slots__ = ("count", "nan", "inf", "zeros", "min", "max", "whole", "sum", "sumsq", "lo",
                 "pos", "neg")


class _Accumulator:
    """A running single-pass summary, filled by the fused kernels of
    :mod:`fixsim._kernels._stats` and read out exactly with :meth:`drain`.

    Normal numbers and zeros go to the fast bins (``accumulate_fast``); subnormals, NaNs and
    infinities (counted there, rare) are then added to the row state (``accumulate``).
    :meth:`_take` reads both out exactly. The int64 state is folded into Python ints whenever
    ``FOLD_LIMIT`` values are pending (the kernels' no-overflow bound) and when drained. With
    ``sums=False`` the exact sums are not kept (their summaries hold ``None``).
    """

    __slots__ = ("sums", "n", "st", "mm", "ft", "hd", "fm", "_addrs", "_folded", "_slot", "_gen",
                 "_local", "_queued")

    def __init__(self, sums: bool = True):
        self.sums = bool(sums)
        self.n = 0  # values pending in the kernel state
        self.st = self.mm = self.ft = self.hd = self.fm = self._addrs = None
        self._folded: list[_Summary] = []
        self._slot = -1  # the statistics worker's slot for this state (-1: none)
        self._gen = -1
        #: the producer's own share while the worker runs (an accumulator without a slot)
        self._local: _Accumulator | None = None
        #: whether frames handed to the worker may still be unprocessed (sync before reading)
        self._queued = False

    @property
    def pending(self) -> int:
        """Values added since the last drain."""
        return self.n + (0 if self._local is None else self._local.pending)

    def _acquire(self) -> None:
        """Take a clean kernel state from the pool (or allocate one)."""
        try:
            state = _POOL.pop()
        except IndexError:
            st, mm = _ks.new_state()
            ft, hd, fm = _ks.new_fast_state()
            # the arrays' addresses, as the worker's slot table holds them (found once: a
            # ctypes lookup costs about 1.5 us per array)
            addrs = np.array([a.ctypes.data for a in (ft, hd, fm, st, mm)], dtype=np.int64)
            state = (st, mm, ft, hd, fm, addrs)
        self.st, self.mm, self.ft, self.hd, self.fm, self._addrs = state

    def _release(self) -> None:
        """Give the (clean, just drained) kernel state back to the pool."""
        if self._slot >= 0:
            _offload.release(self._slot, self._gen)
            self._slot = -1
        if self.hd is not None:
            if len(_POOL) < _POOL_SIZE:
                _POOL.append((self.st, self.mm, self.ft, self.hd, self.fm, self._addrs))
            self.st = self.mm = self.ft = self.hd = self.fm = self._addrs = None

    def add(self, x: np.ndarray) -> None:
        """Add a flat C-contiguous float64 array."""
        if self.hd is None:
            self._acquire()
        n = x.size
        if self.n + n <= _ks.FOLD_LIMIT:  # the common case: one call
            self._add(x)
            return
        limit = _ks.FOLD_LIMIT
        start = 0
        while start < n:
            room = limit - self.n
            if room <= 0:
                self._folded.append(self._take())
                continue
            stop = min(n, start + room)
            self._add(x[start:stop])
            start = stop

    def add_offloaded(self, x: np.ndarray, scale: float = 1.0) -> None:
        """Add a flat C-contiguous float64 array through the statistics worker when it runs
        (:mod:`fixsim.tool._offload`; the same kernels on the same values), else as
        :meth:`add`. An int64 *x* stands for the values ``x * scale`` (stored integers of at
        most 53 bits and ``scale = 2**-F`` with ``|F| <= 1000``, so every product is exact):
        they are converted while copied into the ring. What the worker cannot take now (it
        is behind, or its ring is full) is summarised here, in a second state of this
        accumulator's own (:attr:`_local`): the statistics are exact and order-free, so the
        split changes nothing but who computes. Read the state only after :meth:`drain`
        (which waits for the worker)."""
        off = _offload
        live = off.live
        if live is not None and self.n + x.shape[0] <= _ks.FOLD_LIMIT:
            if self._gen != off.generation or self._slot < 0:
                if self.hd is None:
                    self._acquire()
                self._gen = off.generation
                self._slot = off.register(self._addrs, self.sums)
            if self._slot >= 0:
                meta, buf = live
                n = x.shape[0]
                for start in range(0, n, _PIECE):
                    # the common case: one frame, one item, no slicing
                    piece = x if n <= _PIECE else x[start:start + _PIECE]
                    if _kr.push(meta, buf, piece, self._slot, scale):
                        self.n += piece.shape[0]
                        self._queued = True
                    else:
                        self._add_local(piece if piece.dtype == _F64 else piece * scale)
                return
        if self._queued:
            self._settle()  # anything of ours still in the ring goes first
        self.add(x if x.dtype == _F64 else x * scale)

    def _add_local(self, x: np.ndarray) -> None:
        """Summarise *x* in the producer's own state (the worker is behind, or gone)."""
        if self._local is None:
            self._local = _Accumulator(self.sums)
        self._local.add(x)

    def _settle(self) -> None:
        """Wait until the worker has processed every frame of ours handed to it."""
        if self._queued:
            _offload.sync()
            self._queued = False

    def settle(self) -> None:
        """Wait for the worker's share and give its slot back, keeping the state: the exact
        summary is folded when it is read (:meth:`drain`)."""
        self._settle()
        if self._slot >= 0:
            _offload.release(self._slot, self._gen)
            self._slot = -1

    def __del__(self) -> None:
        # dropped unread (a recording nobody looked at): the state goes back to the pool
        # clean. Never while the worker may still write into it.
        if self.hd is not None and not self._queued:
            try:
                self._clear()
                self._release()
            except Exception:  # noqa: BLE001, S110 - interpreter shutdown: nothing to keep
                pass

    def _add(self, x: np.ndarray) -> None:
        self.n += x.size
        if _ks.accumulate_fast(x, self.ft, self.hd, self.fm, self.sums):
            # subnormals, NaNs or infinities: through the row kernel
            a = np.abs(x)
            odd = x[~np.isfinite(x) | ((a < 2.2250738585072014e-308) & (a != 0.0))]
            _ks.accumulate(np.ascontiguousarray(odd), self.st, self.mm)

    def _take(self) -> _Summary:
        """The summary of the pending values; the state is reset."""
        rows = self._take_rows()
        hd = self.hd
        s = _Summary()
        count, zeros, notwhole, elo, ehi = (int(v) for v in hd[:5])
        s.count, s.nan, s.inf, s.zeros = count, rows.nan, rows.inf, zeros + rows.zeros
        s.whole = not notwhole and rows.whole
        lo, hi = float(self.fm[0]), float(self.fm[1])
        if rows.min is not None:
            lo, hi = min(lo, rows.min), max(hi, rows.max)
        if lo <= hi:
            s.min, s.max = lo + 0.0, hi + 0.0  # a zero extreme is +0.0 (see the module notes)
        else:
            s.min = s.max = None
        s.sum, s.sumsq = (rows.sum, rows.sumsq) if self.sums else (None, None)
        s.lo, s.pos, s.neg = rows.lo, rows.pos, rows.neg
        if elo <= ehi:
            if self.sums:
                sb, qb = _ks.fold_fast(self.ft, elo, ehi)
                s.sum += _shift(int.from_bytes(sb.tobytes(), "little", signed=True),
                                elo - 1075 - _SUM_UNIT_EXP)
                s.sumsq += _shift(int.from_bytes(qb.tobytes(), "little", signed=True),
                                  2 * (elo - 1075) - _SQ_UNIT_EXP)
            pos, neg = _ks.take_fast_hist(self.ft, elo, ehi)
            g0 = SUBBINS * (elo - 1022)  # fine bin of exponent field elo, sub-bin 0
            s.lo, s.pos = _add_hist(s.lo, s.pos, g0, pos)
            _, s.neg = _add_hist(rows.lo, rows.neg, g0, neg)
        self._clear()
        return s

    def _clear(self) -> None:
        """Empty the kernel state (only the parts that were written)."""
        st, hd = self.st, self.hd
        elo, ehi = int(hd[3]), int(hd[4])
        if elo <= ehi:
            _ks.clear_fast(self.ft, elo, ehi)
        _ks.reset_fast_header(hd, self.fm)
        rlo, rhi = int(st[0, 5]), int(st[0, 6])
        if rlo <= rhi:
            _ks.clear_rows(st, rlo, rhi)
        else:
            st[0, 7] = 0
        st[0, :5] = 0
        self.mm[0], self.mm[1] = np.inf, -np.inf
        self.n = 0

    def _take_rows(self) -> _Summary:
        """The summary of the values in the row state (subnormals, NaNs, infinities); the
        caller clears the state (:meth:`_clear`)."""
        st, mm = self.st, self.mm
        s = _Summary()
        count, nan, inf, zeros, notwhole, rlo, rhi = (int(v) for v in st[0, :7])
        s.count, s.nan, s.inf, s.zeros = count, nan, inf, zeros
        s.whole = not notwhole
        if count - nan - inf > 0:
            s.min, s.max = float(mm[0]) + 0.0, float(mm[1]) + 0.0
        else:
            s.min = s.max = None
        s.sum = s.sumsq = 0
        s.lo, s.pos, s.neg = 0, _EMPTY, _EMPTY
        if rlo <= rhi:
            e_lo = rlo - _ks.EXP_BIAS
            sb, qb = _ks.fold(st, rlo, rhi)
            s.sum = _shift(int.from_bytes(sb.tobytes(), "little", signed=True),
                           e_lo - 53 - _SUM_UNIT_EXP)
            s.sumsq = _shift(int.from_bytes(qb.tobytes(), "little", signed=True),
                             2 * (e_lo - 53) - _SQ_UNIT_EXP)
            rows = st[rlo:rhi + 1]
            s.lo = SUBBINS * e_lo
            s.pos = rows[:, :SUBBINS].ravel().copy()
            s.neg = rows[:, SUBBINS:2 * SUBBINS].ravel().copy()
        return s

    def drain(self) -> list[_Summary]:
        """Summaries of everything added since the last drain (exact; the state is reset)."""
        self._settle()
        out, self._folded = self._folded, []
        if self.hd is not None:
            if self.n:
                out.append(self._take())
            self._release()
        if self._local is not None:
            out += self._local.drain()
            self._local = None
        return out


# Clean kernel states for reuse: a fresh one is several MB of lazily zeroed pages, and
# faulting them in again for every recording would cost more than the values it records.
# ``list.pop`` and ``list.append`` are atomic, so threads may share the pool.
_POOL: list[tuple] = []
_POOL_SIZE = 64


def _summarize(values: np.ndarray, sums: bool = True) -> list[_Summary]:
    """Exact summaries of a flat float64 array (one fused compiled pass)."""
    acc = _Accumulator(sums)
    acc.add(np.ascontiguousarray(values, dtype=np.float64))
    return acc.drain()


_EMPTY = np.zeros(0, dtype=np.int64)


def _add_hist(lo1: int, a1: np.ndarray, lo2: int, a2: np.ndarray) -> tuple[int, np.ndarray]:
    """Add two offset histograms exactly."""
    if a1.size == 0:
        return lo2, a2.copy()
    if a2.size == 0:
        return lo1, a1.copy()
    lo = min(lo1, lo2)
    hi = max(lo1 + a1.size, lo2 + a2.size)
    out = np.zeros(hi - lo, dtype=np.int64)
    out[lo1 - lo:lo1 - lo + a1.size] += a1
    out[lo2 - lo:lo2 - lo + a2.size] += a2
    return lo, out


def _trim(lo: int, pos: np.ndarray, neg: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Drop empty bins at both ends (a canonical form, so equal histograms compare equal)."""
    used = np.flatnonzero((pos != 0) | (neg != 0))
    if used.size == 0:
        return 0, _EMPTY, _EMPTY
    a, b = int(used[0]), int(used[-1]) + 1
    return lo + a, pos[a:b].copy(), neg[a:b].copy()


# -- the accumulator -------------------------------------------------------------------------------
class SignalStats:
    """Mergeable statistics of one signal.

    Parameters
    ----------
    name : str, optional
        The signal's name (for messages and reports).
    detail : {'full', 'ranges', 'extremes'}
        ``'full'`` (default) keeps everything below; ``'ranges'`` keeps no sums, and
        ``'extremes'`` neither sums nor histograms (see :attr:`detail`): what the fixed-point
        tool records by default for the signals inside blocks (MATLAB's Fixed-Point Tool
        keeps the minimum, maximum and overflows there).

    Attributes
    ----------
    count : int
        Values seen, non-finite ones included.
    nan_count, inf_count : int
        NaNs and infinities seen (left out of every other statistic).
    zeros : int
        Values equal to zero.
    min, max : float or None
        Smallest and largest finite value (None before any).
    whole : bool
        Whether every finite value is a whole number (True while empty).
    overflows, underflows : int
        Counts reported by the casts into :attr:`numerictype` (see ``fixsim.tool.record``).
    numerictype : str or None
        The signal's current fixed type, as a name (None if it had none).

    Notes
    -----
    See the module notes for the histogram conventions and the exact sums. :meth:`merge`
    returns a new object and is exact, commutative and associative; :meth:`update` adds
    values in place.

    Examples
    --------
    >>> from fixsim.tool import SignalStats
    >>> a = SignalStats('x').update([0.5, -3.0, 0.0])
    >>> b = SignalStats('x').update([6.0])
    >>> ab = a.merge(b)
    >>> ab == SignalStats('x').update([0.5, -3.0, 0.0, 6.0])
    True
    >>> print(ab.count, ab.min, ab.max, ab.max_abs, ab.mean, ab.zeros)
    4 -3.0 6.0 6.0 0.875 1
    >>> ab.log2_histogram
    {0: 1, 2: 1, 3: 1}
    """

    __slots__ = ("name", "count", "nan_count", "inf_count", "zeros", "min", "max", "whole",
                 "_sum", "_sumsq", "_lo", "_pos", "_neg", "overflows", "underflows",
                 "numerictype")

    def __init__(self, name: str | None = None, detail: str = "full"):
        if detail not in DETAILS:
            raise ValueError(f"SignalStats: detail={detail!r} is not one of {DETAILS}: 'full' "
                             "keeps exact sums (mean, std, rms), 'ranges' does not, "
                             "'extremes' keeps no histograms either.")
        self.name = name
        self.count = 0
        self.nan_count = 0
        self.inf_count = 0
        self.zeros = 0
        self.min: float | None = None
        self.max: float | None = None
        self.whole = True
        self._sum: int | None = 0 if detail == "full" else None
        self._sumsq: int | None = self._sum
        self._lo = 0
        # None: no histograms (detail 'extremes')
        self._pos: np.ndarray | None = _EMPTY if detail != "extremes" else None
        self._neg: np.ndarray | None = self._pos
        self.overflows = 0
        self.underflows = 0
        self.numerictype: str | None = None

    # -- accumulation ---------------------------------------------------------------------------
    def update(self, values, overflows: int = 0, underflows: int = 0,
               numerictype=None) -> SignalStats:
        """Add *values* (anything ``np.asarray(..., float64)`` accepts) in place.

        Parameters
        ----------
        values : array_like
            The signal's values.
        overflows, underflows : int
            Counts from the cast that produced them (against *numerictype*).
        numerictype : numerictype or str, optional
            The signal's current fixed type.

        Returns
        -------
        SignalStats
            ``self``.
        """
        x = np.asarray(values, dtype=np.float64).ravel()
        t = None if numerictype is None else str(numerictype)
        self._check_type(t)
        for summary in _summarize(x, self._sum is not None):
            self._absorb(summary, 0, 0, t)
        if t is not None:
            self.numerictype = t
        self.overflows += int(overflows)
        self.underflows += int(underflows)
        return self

    def _absorb(self, s: _Summary, overflows: int, underflows: int,
                numerictype: str | None) -> None:
        self._check_type(numerictype)
        self.count += s.count
        self.nan_count += s.nan
        self.inf_count += s.inf
        self.zeros += s.zeros
        if s.min is not None:
            self.min = s.min if self.min is None else min(self.min, s.min)
            self.max = s.max if self.max is None else max(self.max, s.max)
        self.whole = self.whole and s.whole
        if self._sum is None or s.sum is None:  # 'ranges' detail on either side: no sums
            self._sum = self._sumsq = None
        else:
            self._sum += s.sum
            self._sumsq += s.sumsq
        if self._pos is None or s.pos is None:  # 'extremes' on either side: no histograms
            self._lo, self._pos, self._neg = 0, None, None
        elif s.pos.size:
            lo, pos = _add_hist(self._lo, self._pos, s.lo, s.pos)
            _, neg = _add_hist(self._lo, self._neg, s.lo, s.neg)
            self._lo, self._pos, self._neg = _trim(lo, pos, neg)
        self.overflows += overflows
        self.underflows += underflows
        if numerictype is not None:
            self.numerictype = numerictype

    def _check_type(self, numerictype: str | None) -> None:
        if (numerictype is not None and self.numerictype is not None
                and numerictype != self.numerictype):
            raise ValueError(
                f"SignalStats {self.name!r}: overflow counts against {numerictype} cannot be "
                f"combined with counts against {self.numerictype}; record the two types "
                "separately (a recording per type table).")

    def merge(self, other: SignalStats) -> SignalStats:
        """A new :class:`SignalStats` holding both (exact, commutative, associative)."""
        if not isinstance(other, SignalStats):
            raise TypeError(f"SignalStats.merge: expected SignalStats, got "
                            f"{type(other).__name__}.")
        out = self.copy()
        if out.name is None:
            out.name = other.name
        s = _Summary()
        s.count, s.nan, s.inf, s.zeros = other.count, other.nan_count, other.inf_count, \
            other.zeros
        s.min, s.max, s.whole = other.min, other.max, other.whole
        s.sum, s.sumsq = other._sum, other._sumsq
        s.lo, s.pos, s.neg = other._lo, other._pos, other._neg
        out._absorb(s, other.overflows, other.underflows, other.numerictype)
        return out

    def copy(self) -> SignalStats:
        """An independent copy."""
        out = SignalStats.__new__(SignalStats)
        for k in SignalStats.__slots__:
            setattr(out, k, getattr(self, k))
        return out

    def without_sums(self) -> SignalStats:
        """A ``detail='ranges'`` copy: the same statistics without the exact sums (a
        ``detail='extremes'`` one stays one)."""
        out = self.copy()
        out._sum = out._sumsq = None
        return out

    # -- derived statistics ---------------------------------------------------------------------
    @property
    def finite_count(self) -> int:
        """Finite values seen."""
        return self.count - self.nan_count - self.inf_count

    @property
    def max_abs(self) -> float | None:
        """Largest finite magnitude."""
        if self.min is None:
            return None
        return max(-self.min, self.max) + 0.0  # + 0.0: no -0.0 for [0.0, -0.0]

    @property
    def detail(self) -> str:
        """``'full'``, or ``'ranges'`` when the exact sums were not recorded (then
        :attr:`exact_sum`, :attr:`exact_sum_squares`, :attr:`sum`, :attr:`sum_squares`,
        :attr:`mean`, :attr:`var`, :attr:`std` and :attr:`rms` raise ``ValueError``), or
        ``'extremes'`` when the histograms were not recorded either (then the histograms
        raise too)."""
        if self._pos is None:
            return "extremes"
        return "full" if self._sum is not None else "ranges"

    def _no_sums(self, what: str) -> ValueError:
        if self._pos is None:
            return self._no_histograms(what)
        return ValueError(
            f"SignalStats {self.name!r}: {what} is not available: the signal was recorded with "
            "detail='ranges', which keeps counts, extremes and histograms but no sums. Record "
            "with fx.tool.record(detail='full') (the default) for sums, mean, std and rms.")

    def _no_histograms(self, what: str) -> ValueError:
        return ValueError(
            f"SignalStats {self.name!r}: {what} is not available: the signal was recorded with "
            "detail='extremes' (counts, min, max, the whole-number flag, overflows and "
            "underflows; no sums, no histograms), the default for the signals inside a block. "
            "Record with fx.tool.record(internals='values') for their histograms and sums.")

    @property
    def exact_sum(self) -> Fraction:
        """The exact sum of the finite values."""
        if self._sum is None:
            raise self._no_sums("the sum")
        return Fraction(self._sum, 1 << -_SUM_UNIT_EXP)

    @property
    def exact_sum_squares(self) -> Fraction:
        """The exact sum of squares of the finite values."""
        if self._sumsq is None:
            raise self._no_sums("the sum of squares")
        return Fraction(self._sumsq, 1 << -_SQ_UNIT_EXP)

    @property
    def sum(self) -> float:
        """The sum of the finite values, correctly rounded."""
        return _to_float(self.exact_sum)

    @property
    def sum_squares(self) -> float:
        """The sum of squares of the finite values, correctly rounded."""
        return _to_float(self.exact_sum_squares)

    @property
    def mean(self) -> float:
        """Mean of the finite values, correctly rounded (NaN when there are none)."""
        n = self.finite_count
        return _to_float(self.exact_sum / n) if n else math.nan

    @property
    def var(self) -> float:
        """Population variance (divides by the count) of the finite values, correctly
        rounded from the exact value."""
        n = self.finite_count
        if not n:
            return math.nan
        return _to_float((self.exact_sum_squares * n - self.exact_sum ** 2) / (n * n))

    @property
    def std(self) -> float:
        """Population standard deviation: the square root of the exact variance, correctly
        rounded (NaN when there are no finite values)."""
        n = self.finite_count
        if not n:
            return math.nan
        return _sqrt_to_float((self.exact_sum_squares * n - self.exact_sum ** 2) / (n * n))

    @property
    def rms(self) -> float:
        """Root mean square of the finite values, correctly rounded from the exact sum of
        squares (NaN when there are none)."""
        n = self.finite_count
        return _sqrt_to_float(self.exact_sum_squares / n) if n else math.nan

    @property
    def log2_histogram(self) -> dict[int, int]:
        """MATLAB's bit histogram: ``{k: count}`` for ``2**(k-1) <= |x| < 2**k``, nonzero
        bins only, ascending ``k``. Zeros are in :attr:`zeros`."""
        if self._pos is None:
            raise self._no_histograms("the log2 histogram")
        if self._pos.size == 0:
            return {}
        tot = self._pos + self._neg
        ks = (np.arange(tot.size) + self._lo) >> _SUB_SHIFT
        exps, inv = np.unique(ks, return_inverse=True)
        sums = np.bincount(inv, tot)
        return {int(k): int(c) for k, c in zip(exps, sums, strict=True) if c}

    @property
    def fine_histogram(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(edges, positive_counts, negative_counts)``: the fine bins from the lowest to
        the highest used one. Bin ``i`` holds the magnitudes in ``[edges[i], edges[i+1])``
        (``len(edges) == len(counts) + 1``); ``positive_counts[i]`` counts the values ``x`` and
        ``negative_counts[i]`` the values ``-x`` with ``|x|`` in the bin. Below ``2**-1070``
        the exact edges are not doubles and are given rounded to nearest; there the bin is the
        closed ``[edges[i], edges[i+1]]`` (two edges may coincide, e.g. for ``5e-324``)."""
        if self._pos is None:
            raise self._no_histograms("the fine histogram")
        return (self.fine_edges(self._lo, self._pos.size), self._pos.copy(),
                self._neg.copy())

    @property
    def fine_bins(self) -> tuple[int, np.ndarray, np.ndarray]:
        """``(g0, positive_counts, negative_counts)``: raw fine bins, the first being global
        bin ``g0 = 16*e + j`` (see the module notes)."""
        if self._pos is None:
            raise self._no_histograms("the fine histogram")
        return self._lo, self._pos.copy(), self._neg.copy()

    @staticmethod
    def fine_edges(g0: int, n: int) -> np.ndarray:
        """Lower edges of global fine bins ``g0 .. g0+n`` (``n + 1`` edges, exact)."""
        g = np.arange(g0, g0 + n + 1, dtype=np.int64)
        e, j = g >> _SUB_SHIFT, g & (SUBBINS - 1)
        with np.errstate(over="ignore"):  # the edge above the largest double is inf
            return np.ldexp(1.0 + j / SUBBINS, (e - 1).astype(np.int32))

    # -- comparison and serialisation --------------------------------------------------------------
    def _key(self):
        return (self.count, self.nan_count, self.inf_count, self.zeros, self.min, self.max,
                self.whole, self._sum, self._sumsq, self._lo,
                None if self._pos is None else self._pos.tolist(),
                None if self._neg is None else self._neg.tolist(), self.overflows,
                self.underflows, self.numerictype)

    def __eq__(self, other) -> bool:
        """Equal statistics (the name is not compared)."""
        if not isinstance(other, SignalStats):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        if self.min is None:
            rng = "no finite values"
        else:
            rng = f"min={self.min!r}, max={self.max!r}"
            if self._sum is not None:  # regression: repr raised for detail='ranges'
                rng += f", mean={self.mean:.6g}, std={self.std:.6g}"
        extra = f", type={self.numerictype}" if self.numerictype else ""
        return (f"SignalStats({self.name!r}: count={self.count}, {rng}, zeros={self.zeros}, "
                f"overflows={self.overflows}, underflows={self.underflows}{extra})")

    def to_dict(self) -> dict:
        """A lossless JSON-ready dict. Exact sums are decimal strings (units ``2**-1074`` and
        ``2**-2148``); floats are written as ``float.hex`` strings."""
        return {
            "schema": STATS_SCHEMA,
            "name": self.name,
            "count": self.count,
            "nan_count": self.nan_count,
            "inf_count": self.inf_count,
            "zeros": self.zeros,
            "min": None if self.min is None else float.hex(self.min),
            "max": None if self.max is None else float.hex(self.max),
            "whole": self.whole,
            "sum_units_2^-1074": None if self._sum is None else str(self._sum),
            "sum_squares_units_2^-2148": None if self._sumsq is None else str(self._sumsq),
            "fine_g0": self._lo,
            "fine_pos": None if self._pos is None else self._pos.tolist(),
            "fine_neg": None if self._neg is None else self._neg.tolist(),
            "overflows": self.overflows,
            "underflows": self.underflows,
            "numerictype": self.numerictype,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SignalStats:
        """Rebuild from :meth:`to_dict`'s output."""
        if data.get("schema") != STATS_SCHEMA:
            raise ValueError(f"SignalStats.from_dict: unsupported schema "
                             f"{data.get('schema')!r}; this version reads {STATS_SCHEMA!r}.")
        name = data.get("name")
        missing = [k for k in _SAVED_FIELDS if k not in data]
        if missing:
            # regression: a bare KeyError('nan_count') named neither the signal nor the field
            raise ValueError(f"SignalStats.from_dict: signal {name!r} lacks the field(s) "
                             f"{', '.join(map(repr, missing))}; a saved statistic has "
                             f"{', '.join(map(repr, _SAVED_FIELDS))}.")
        try:
            return cls._from_fields(data)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"SignalStats.from_dict: signal {name!r} has an invalid field: "
                             f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def _from_fields(cls, data: Mapping) -> SignalStats:
        s = cls(data.get("name"))
        s.count = int(data["count"])
        s.nan_count = int(data["nan_count"])
        s.inf_count = int(data["inf_count"])
        s.zeros = int(data["zeros"])
        s.min = None if data["min"] is None else float.fromhex(data["min"]) + 0.0
        s.max = None if data["max"] is None else float.fromhex(data["max"]) + 0.0
        s.whole = bool(data["whole"])
        raw_sum, raw_sq = data["sum_units_2^-1074"], data["sum_squares_units_2^-2148"]
        if (raw_sum is None) != (raw_sq is None):
            raise ValueError("SignalStats.from_dict: the sum and the sum of squares must both "
                             "be present or both be null (detail='ranges').")
        s._sum = None if raw_sum is None else int(raw_sum)
        s._sumsq = None if raw_sq is None else int(raw_sq)
        raw_pos, raw_neg = data["fine_pos"], data["fine_neg"]
        if (raw_pos is None) != (raw_neg is None):
            raise ValueError("SignalStats.from_dict: fine_pos and fine_neg must both be present "
                             "or both be null (detail='extremes').")
        if raw_pos is None:
            if s._sum is not None:
                raise ValueError("SignalStats.from_dict: a statistic without histograms "
                                 "(detail='extremes') has no sums either.")
            s._lo, s._pos, s._neg = 0, None, None
        else:
            pos = np.asarray(raw_pos, dtype=np.int64).reshape(-1)
            neg = np.asarray(raw_neg, dtype=np.int64).reshape(-1)
            if pos.size != neg.size:
                raise ValueError("SignalStats.from_dict: fine_pos and fine_neg differ in "
                                 "length.")
            s._lo, s._pos, s._neg = _trim(int(data["fine_g0"]), pos, neg)
        s.overflows = int(data["overflows"])
        s.underflows = int(data["underflows"])
        s.numerictype = data.get("numerictype")
        return s


#: The fields :meth:`SignalStats.from_dict` needs (``name`` and ``numerictype`` may be absent).
_SAVED_FIELDS = ("count", "nan_count", "inf_count", "zeros", "min", "max", "whole",
                 "sum_units_2^-1074", "sum_squares_units_2^-2148", "fine_g0", "fine_pos",
                 "fine_neg", "overflows", "underflows")


def _sqrt_to_float(q: Fraction) -> float:
    """The square root of the rational ``q >= 0``, correctly rounded to a float (one
    rounding: ``sqrt(float(q))`` rounds twice, and over- or underflows where ``q`` is beyond
    the float range but its root is not).

    ``r = isqrt(floor(q * 4**k))`` with ``k`` chosen so that ``r`` has at least 60 bits; the
    root lies in ``[r, r + 1)``, and in ``(r, r + 1)`` unless it is exactly ``r``. With that
    many bits every rounding boundary of a float (53 bits or fewer) is an integer, so
    ``r + 1/2`` rounds like the root whenever the root is inexact."""
    if q == 0:
        return 0.0
    a, b = q.numerator, q.denominator
    k = max(0, (120 - (a.bit_length() - b.bit_length())) // 2 + 1)
    N, rem = divmod(a << (2 * k), b)
    r = math.isqrt(N)
    inexact = rem != 0 or r * r != N
    return _to_float(Fraction(2 * r + int(inexact), 1 << (k + 1)))


def _log10(q: Fraction) -> float:
    """``log10`` of a positive exact rational: of its correctly rounded float where that is a
    normal number, else from its integers (``float(q)`` would overflow, or underflow to a
    subnormal or 0, where ``q`` is beyond the float range but its logarithm is not)."""
    f = _to_float(q)
    if 2.2250738585072014e-308 <= f < math.inf:
        return math.log10(f)
    return math.log10(q.numerator) - math.log10(q.denominator)


def _to_float(v: Fraction) -> float:
    """Correctly rounded float of an exact rational (inf when out of range)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf
