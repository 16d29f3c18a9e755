"""One-dimensional lookup table with interpolation (Simulink's 1-D Lookup Table)."""

from __future__ import annotations

import bisect
from fractions import Fraction

import numpy as np

from .._core._arith import sticky_quotient
from .._core._fi import fi, make_fi
from .._core._interval import Interval
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import quantize_array, to_float
from .._core._typetable import TypeTable, signals_active
from .._kernels import lazy
from ._basic import (
    SimpleBlock,
    as_obj,
    cast_counted,
    exact_type,
    stored,
)
from ._block import TypeLike, as_type, interval_type, quantize_values, report, width

__all__ = ["Lookup1D", "LUT"]

_kl = lazy("fixsim._kernels._lut")

_INTERP = ("linear", "nearest", "flat")
_EXTRAP = ("clip", "linear")


class Lookup1D(SimpleBlock):
    """``y = f(x)`` from breakpoints and table values, with interpolation.

    Parameters
    ----------
    breakpoints : array_like
        Strictly increasing breakpoints ``b[0] < ... < b[N-1]`` (``N >= 1``).
    table : array_like or fi
        Table values ``t[k] = f(b[k])`` (same length). A fi keeps its type unless
        *table_type* is given.
    interp : {'linear', 'nearest', 'flat'}
        Linear interpolation between neighbouring breakpoints; the value at the nearest
        breakpoint (a tie goes to the upper one); or the value at the breakpoint at or below
        the input (MATLAB's "Flat").
    extrap : {'clip', 'linear'}
        Outside ``[b[0], b[N-1]]``: clip the input to the end breakpoints, or extend the end
        segments linearly (only with ``interp='linear'``).
    name : str
        Block name; signals ``"<name>.table"`` (the quantized table) and ``"<name>.out"``.
    table_type, output_type : numerictype or str, optional
        Table type (default: signed 16-bit, best precision for the table values) and output
        type (default: the table type).
    types : TypeTable, optional
        Type table (entries ``"<name>.table"``, ``"<name>.out"``).
    rounding, overflow : str
        Modes of the table quantization, the breakpoint quantization and the output cast.

    Notes
    -----
    *Fixed mode.* The breakpoints are quantized into the input type (MATLAB's "same as input"
    breakpoint type; they must stay strictly increasing) and the table into the table type. For
    an input ``x`` in segment ``i`` (``b[i] <= x < b[i+1]``, the end segments for inputs
    outside), ``y`` is the exact rational ``t[i] + (t[i+1] - t[i]) (x - b[i]) / (b[i+1] -
    b[i])`` rounded once into the output type. When the quantized breakpoints are evenly spaced
    by a power of two stored integers (MATLAB's "even power of 2 spacing"), the division is a
    shift: the segment index and the interpolation fraction are bit fields of ``x - b[0]``,
    and the computation needs no division at all; otherwise an exact integer division with a
    sticky bit gives the same once-rounded result. ``'nearest'`` and ``'flat'`` cast the
    chosen table value into the output type.

    *Double mode.* ``numpy.interp`` on the unquantized breakpoints and table (linear), with
    linear extension of the end segments for ``extrap='linear'``.

    Examples
    --------
    >>> from fixsim import fi
    >>> from fixsim.signal import Lookup1D
    >>> lut = Lookup1D([0, 1, 2, 3], [0, 1, 4, 9], table_type='sfix8_En3', name='sq')
    >>> lut(fi([0.5, 1.25, 3.5], 1, 8, 4)).data
    array([0.5 , 1.75, 9.  ])
    """

    kind = "Lookup1D"
    signal_names = ("table", "out")

    def __init__(self, breakpoints, table, *, interp: str = "linear", extrap: str = "clip",
                 name: str = "lut", table_type: TypeLike = None, output_type: TypeLike = None,
                 types: TypeTable | None = None, rounding: str | Rounding = "nearest",
                 overflow: str | Overflow = "saturate") -> None:
        self._setup(name, types, rounding, overflow)
        bp = np.asarray(breakpoints, dtype=np.float64).ravel()
        raw = table.data if isinstance(table, fi) else table
        tv = np.asarray(raw, dtype=np.float64).ravel()
        if bp.size < 1 or bp.size != tv.size:
            raise ValueError(f"{self._blk}: breakpoints and table must be non-empty and of equal "
                             f"length, got {bp.size} and {tv.size}.")
        if not (np.isfinite(bp).all() and np.isfinite(tv).all()):
            raise ValueError(f"{self._blk}: breakpoints and table values must be finite.")
        if bp.size > 1 and not (np.diff(bp) > 0).all():
            raise ValueError(f"{self._blk}: breakpoints must be strictly increasing.")
        if interp not in _INTERP:
            raise ValueError(f"{self._blk}: interp={interp!r} is not valid; valid: "
                             f"{', '.join(map(repr, _INTERP))}.")
        if extrap not in _EXTRAP:
            raise ValueError(f"{self._blk}: extrap={extrap!r} is not valid; valid: "
                             f"{', '.join(map(repr, _EXTRAP))}.")
        if extrap == "linear" and interp != "linear":
            raise ValueError(f"{self._blk}: extrap='linear' needs interp='linear' (got "
                             f"interp={interp!r}); use extrap='clip'.")
        self.breakpoints = bp
        self.table = tv
        self._table_in = table.ravel() if isinstance(table, fi) else tv
        self.interp = interp
        self.extrap = extrap
        self.table_type_arg = as_type(table_type, "table_type", self._blk)
        self.output_type_arg = as_type(output_type, "output_type", self._blk)
        self.reset()

    # -- types --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._qtable: tuple[fi, tuple[int, int, int]] | None = None
        self._bp_cache: dict[numerictype, tuple[np.ndarray, int | None]] = {}

    def _quantized_table(self) -> tuple[fi, tuple[int, int, int]]:
        if self._qtable is None:
            Tt = self._pick(self.table_type_arg, "table")
            self._qtable = quantize_values(self._table_in, Tt, self.rounding, self.overflow,
                                           f"{self.name}.table")
        return self._qtable

    @property
    def quantized_table(self) -> fi:
        """The table as the fixed-mode computation uses it."""
        return self._quantized_table()[0]

    def _resolve(self, tin: numerictype) -> dict[str, numerictype]:
        Tt = self._quantized_table()[0].numerictype
        return {"table": Tt, "out": self._pick(self.output_type_arg, "out") or Tt}

    def quantized_breakpoints(self, input_type: TypeLike) -> np.ndarray:
        """The breakpoints as stored integers of *input_type*."""
        T = as_type(input_type, "input_type", self._blk)
        return self._breakpoints(T)[0]

    def _breakpoints(self, T: numerictype) -> tuple[np.ndarray, int | None]:
        """Stored breakpoints in *T* (Python ints) and ``log2`` of their spacing when it is
        an even power of two (else None)."""
        hit = self._bp_cache.get(T)
        if hit is not None:
            return hit
        b = quantize_array(self.breakpoints, T, self.rounding, self.overflow, "raise", None,
                           self._blk, "breakpoints")
        b = np.array([int(v) for v in b], dtype=object)
        if b.size > 1 and not all(b[k] < b[k + 1] for k in range(b.size - 1)):
            raise ValueError(f"{self._blk}: the breakpoints are not strictly increasing once "
                             f"quantized into the input type {T} (stored {list(b)}); use an "
                             "input type with more fraction bits or range, or spread them.")
        shift = None
        if b.size > 1:
            d = {int(b[k + 1] - b[k]) for k in range(b.size - 1)}
            if len(d) == 1:
                (step,) = d
                if step & (step - 1) == 0:
                    shift = step.bit_length() - 1
        self._bp_cache[T] = (b, shift)
        return b, shift

    def is_power_of_two_spaced(self, input_type: TypeLike) -> bool:
        """Whether the quantized breakpoints are evenly spaced by a power of two stored
        integers of *input_type* (the division-free path)."""
        T = as_type(input_type, "input_type", self._blk)
        return self._breakpoints(T)[1] is not None

    # -- double mode --------------------------------------------------------------------------
    def _eval_double(self, x: np.ndarray, bp: np.ndarray, tv: np.ndarray) -> np.ndarray:
        n = bp.size
        if n == 1:
            return np.full(x.shape, tv[0])
        if self.interp == "linear":
            y = np.interp(x, bp, tv)
            if self.extrap == "linear":
                lo, hi = x < bp[0], x > bp[-1]
                s0 = (tv[1] - tv[0]) / (bp[1] - bp[0])
                s1 = (tv[-1] - tv[-2]) / (bp[-1] - bp[-2])
                y = np.where(lo, tv[0] + s0 * (x - bp[0]), y)
                y = np.where(hi, tv[-1] + s1 * (x - bp[-1]), y)
            return y
        xc = np.clip(x, bp[0], bp[-1])
        i = np.clip(np.searchsorted(bp, xc, side="right") - 1, 0, n - 1)
        if self.interp == "flat":
            return tv[i]
        i = np.minimum(i, n - 2)
        up = 2 * (xc - bp[i]) >= bp[i + 1] - bp[i]
        return tv[np.where(up, i + 1, i)]

    def _filt_double(self, x: np.ndarray) -> np.ndarray:
        y = self._eval_double(x, self.breakpoints, self.table)
        if signals_active():
            self._probe_double("table", self.table, self._known(self.table_type_arg, "table"))
            self._probe_double("out", y, self._known(self.output_type_arg, "out"))
        return y

    # -- fixed mode ---------------------------------------------------------------------------
    def _filt_fixed(self, x: fi) -> fi:
        Tx = x.numerictype
        t = self._types_for((Tx,))
        Tt, Y = t["table"], t["out"]
        q, counts = self._quantized_table()
        report(f"{self.name}.table", Tt, *counts)
        self._probe_fixed("table", lambda: q.data, stored(q), Tt, counts[1], counts[2])
        b, shift = self._breakpoints(Tx)
        tq = stored(q)
        xi = stored(x)
        n = b.size
        name = f"{self.name}.out"
        if n == 1 or self.interp != "linear":
            j = self._index(xi, b)
            vals = tq[j] if tq.dtype == np.int64 else np.array([tq[k] for k in j], dtype=object)
            out, o, u = cast_counted(vals, Tt, Y, self.rounding, self.overflow, name,
                                     self._default(self.output_type_arg, "out"))
            self._probe_fixed("out", lambda: to_float(vals, Tt), out, Y, o, u)
            return make_fi(out, Y)
        ints, src = self._linear(xi, Tx, b, shift, tq, Tt, Y)
        out, o, u = cast_counted(ints, src, Y, self.rounding, self.overflow, name)
        self._probe_fixed("out", lambda: to_float(ints, src), out, Y, o, u)
        return make_fi(out, Y)

    def _index(self, xi: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Table index for 'nearest' and 'flat' (and a one-point table)."""
        n = b.size
        if n == 1:
            return np.zeros(xi.size, dtype=np.int64)
        b64 = self._as_search(b, xi)
        xc = np.clip(xi, b64[0], b64[-1]) if xi.dtype != object else \
            np.array([min(max(v, b[0]), b[-1]) for v in xi], dtype=object)
        i = np.clip(np.searchsorted(b64, xc, side="right") - 1, 0, n - 1)
        if self.interp == "flat":
            return i
        i = np.minimum(i, n - 2)
        lo = b64[i]
        d = b64[i + 1] - lo
        up = 2 * (xc - lo) >= d
        return np.where(up, i + 1, i)

    @staticmethod
    def _as_search(b: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Breakpoints in *xi*'s dtype (int64 when the input is int64: they are input-type
        values)."""
        return b.astype(np.int64) if xi.dtype == np.int64 else b

    def _linear(self, xi, Tx, b, shift, tq, Tt, Y):
        """Exact interpolation as integers ready to be cast into *Y*: ``(ints, src type)``.

        The numerator ``t[i] d + (t[i+1] - t[i]) (x - b[i])`` needs ``width(table) +
        width(input) + 3`` bits: a compiled int64 kernel when that is at most 62, Python
        ints beyond.
        """
        clip = self.extrap == "clip"
        nbits = width(Tt) + width(Tx) + 3
        wide = nbits > 62 or xi.dtype != np.int64 or tq.dtype != np.int64
        if not wide:
            xv = np.ascontiguousarray(xi, dtype=np.int64)
            tv = np.ascontiguousarray(tq, dtype=np.int64)
            if shift is not None:
                # even power-of-two spacing: index and fraction are bit fields of x - b[0]
                num = np.empty(xv.size, dtype=np.int64)
                _kl.interp_pow2(xv, np.int64(b[0]), np.int64(shift), tv, clip, num)
                return num, exact_type(nbits, Tt.fraction_length + shift)
            num = np.empty(xv.size, dtype=np.int64)
            d = np.empty(xv.size, dtype=np.int64)
            _kl.interp_general(xv, b.astype(np.int64), tv, clip, num, d)
        else:
            num, d = self._numerators_obj(xi, b, tq, clip)
            if shift is not None:
                return num, exact_type(nbits, Tt.fraction_length + shift)
        # value * 2**FY = num / d * 2**(FY - Ft), rounded once (sticky-bit quotient)
        k = Y.fraction_length - Tt.fraction_length
        guard = 2
        dbits = width(Tx) + 1 + max(-k, 0)
        small = not wide and nbits + max(k, 0) + guard <= 61 and dbits <= 61
        if k > 0:
            num = num << k if small else as_obj(num) << k
            nbits += k
        elif k < 0:
            d = d << -k if small else as_obj(d) << -k
        if not small:
            num, d = as_obj(num), as_obj(d)
        ints = sticky_quotient(num, d, guard)
        return ints, exact_type(nbits + guard + 1, Y.fraction_length + guard)

    @staticmethod
    def _numerators_obj(xi, b, tq, clip: bool) -> tuple[np.ndarray, np.ndarray]:
        """The interpolation numerators and segment widths in Python ints (wide words)."""
        n = b.size
        bl = [int(v) for v in b]
        tl = [int(v) for v in tq]
        num = np.empty(len(xi), dtype=object)
        den = np.empty(len(xi), dtype=object)
        for k, v in enumerate(xi):
            v = int(v)
            if clip:
                v = min(max(v, bl[0]), bl[-1])
            i = min(max(bisect.bisect_right(bl, v) - 1, 0), n - 2)
            d = bl[i + 1] - bl[i]
            num[k] = tl[i] * d + (tl[i + 1] - tl[i]) * (v - bl[i])
            den[k] = d
        return num, den

    # -- ranges -------------------------------------------------------------------------------
    def _tables(self) -> list[np.ndarray]:
        return [self.table, np.asarray(self.quantized_table.data, dtype=np.float64)]

    def _filt_interval(self, x: Interval) -> Interval:
        if x.size == 0:
            self._report_interval("out", x.lo, x.hi)
            return Interval(x.lo, x.hi)
        lo, hi = float(np.min(x.lo)), float(np.max(x.hi))
        Tx = interval_type(x)
        ylo, yhi = self._range(lo, hi, Tx)
        if Tx is not None and self.interp == "linear" and self.breakpoints.size > 1:
            # the fixed run records the quotient with two sticky guard bits below the output
            # LSB (floor at half an LSB, plus a quarter when inexact): up to half an LSB off
            try:
                half = 2.0 ** -(self._types_for((Tx,))["out"].fraction_length + 1)
            except ValueError:
                half = 0.0
            ylo, yhi = ylo - half, yhi + half
        q = self.quantized_table.data
        self._report_interval("table", np.array([min(self.table.min(), q.min())]),
                              np.array([max(self.table.max(), q.max())]))
        reason = None if np.isfinite([ylo, yhi]).all() else \
            f"{self.name}: linear extrapolation of an unbounded input"
        self._report_interval("out", np.array([ylo]), np.array([yhi]), reason)
        lo, hi = self._cast_iv(np.full(x.shape, ylo), np.full(x.shape, yhi),
                               self.output_type_arg, "out")
        return Interval(lo, hi, reason=reason)

    def _range(self, lo: float, hi: float,
               input_type: numerictype | None = None) -> tuple[float, float]:
        """Sound bounds of the output (before its cast) for inputs in ``[lo, hi]``, in double
        mode and in fixed mode (the unquantized and the quantized tables; the quantized
        breakpoints may move by an LSB, so one more segment is taken on each side).

        With ``extrap='linear'`` the end segments are extended with the breakpoints the run
        uses: the fixed run's are quantized into the input type (*input_type*, when known),
        which changes the end slopes (regression: ``[-0.34, 0, 0.34]`` in ``sfix8_En4``
        becomes ``[-0.3125, 0, 0.3125]``)."""
        bp = self.breakpoints
        n = bp.size
        vals: list[float] = []
        pairs = [(bp, tv) for tv in self._tables()]
        if input_type is not None and self.extrap == "linear" and n > 1:
            try:
                bq = self._breakpoints(input_type)[0]
            except ValueError:  # the run refuses these breakpoints too
                bq = None
            if bq is not None:
                F = input_type.fraction_length
                bqf = np.array([float(Fraction(int(v)) / Fraction(2) ** F) for v in bq])
                pairs.append((bqf, np.asarray(self.quantized_table.data, dtype=np.float64)))
        for bp, tv in pairs:
            if n == 1:
                vals.append(float(tv[0]))
                continue
            i0 = max(int(np.searchsorted(bp, lo, side="right")) - 2, 0)
            i1 = min(int(np.searchsorted(bp, hi, side="right")) + 1, n - 1)
            vals.extend(float(v) for v in tv[i0:i1 + 1])
            if self.extrap == "linear":
                for end, (a, c) in (("lo", (0, 1)), ("hi", (n - 2, n - 1))):
                    s = Fraction(float(tv[c] - tv[a])) / Fraction(float(bp[c] - bp[a]))
                    ref, base = (bp[a], tv[a]) if end == "lo" else (bp[c], tv[c])
                    xe = lo if end == "lo" else hi
                    beyond = xe < bp[0] if end == "lo" else xe > bp[-1]
                    if not beyond:
                        continue
                    if not np.isfinite(xe):
                        if s != 0:
                            vals.append(-np.inf if (s > 0) == (end == "lo") else np.inf)
                        continue
                    v = Fraction(float(base)) + s * (Fraction(xe) - Fraction(float(ref)))
                    vals.extend([_down(v), _up(v)])
        return min(vals), max(vals)

    def worst_case_output_range(self, lo, hi) -> tuple[float, float]:
        """Bounds of the output (before its cast) for inputs in ``[lo, hi]`` (sound for the
        double and the fixed-point table)."""
        if lo > hi:
            raise ValueError(f"{self._blk}: lo={lo} is above hi={hi}.")
        return self._range(float(lo), float(hi))

    def __repr__(self) -> str:
        return (f"Lookup1D(name={self.name!r}, n={self.breakpoints.size}, "
                f"interp={self.interp!r}, extrap={self.extrap!r})")


LUT = Lookup1D


def _down(v: Fraction) -> float:
    """The largest float <= v."""
    f = float(v)
    return float(np.nextafter(f, -np.inf)) if Fraction(f) > v else f


def _up(v: Fraction) -> float:
    """The smallest float >= v."""
    f = float(v)
    return float(np.nextafter(f, np.inf)) if Fraction(f) < v else f
