"""Radix-2 FFT with a per-stage scaling schedule, in double and in fixed point."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._core._fi import fi, make_fi
from .._core._interval import Interval, cast_pairs, report_range
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable, signals_active
from .._kernels import lazy
from ._block import (
    TypeLike,
    as_type,
    block_modes,
    block_name,
    check_table,
    check_wrap_sm,
    fi_stored,
    interval_type,
    named_cast,
    pick_type,
    probe,
    report,
    table_is_double,
    typed_like_run,
    width,
)
from ._cordic import quantize_proxies, twiddle_proxies

_kt = lazy("fixsim._kernels._fft")
_kf = lazy("fixsim._kernels._filters")

__all__ = ["FFT", "fft"]

_MAX_PRODUCT_WIDTH = 62  # width(data) + width(twiddle): (a << Ft) +- (br wr - bi wi) in int64


class FFT:
    """Radix-2 decimation-in-time FFT of frames of ``n`` samples, with a per-stage scaling
    schedule (as a hardware FFT core), in double or in fixed point.

    Parameters
    ----------
    n : int
        Transform length, a power of two (>= 2).
    scaling : None, 'none', 'all' or sequence of int
        Right shift of each stage's butterfly outputs (``log2(n)`` entries, stage 0 first,
        each 0..3): ``[1, 1, 0, ...]`` divides the outputs of stages 0 and 1 by two.
        ``None``/``'none'``: no scaling (the result is ``numpy.fft.fft(x)``); ``'all'``: 1 at
        every stage (the result is ``fft(x) / n``, MATLAB's "divide butterfly outputs by two").
    twiddle_type : numerictype or str, optional
        Type of the twiddle factors ``exp(-2 pi i k / n)`` (rounded to nearest, saturated:
        e.g. ``sfix16_En15`` saturates 1 to ``1 - 2**-15``). Default: signed, the input word
        length, fraction length ``W - 2`` (1 is exact). Fraction length >= 0.
    data_type : numerictype or str, optional
        Type of every stage's butterfly outputs (the data path register) and of the result.
        Default: signed, the input fraction length, and the fewest bits that hold the worst
        case of every stage (see :meth:`stage_bounds`) so that nothing overflows.
    rounding, overflow : str
        Modes of each butterfly output cast (and of the input cast into *data_type*).
    input_order, output_order : {'natural', 'bit_reversed'}
        Order of the samples in a frame on input, and of the bins on output.
    name : str
        Signals ``"<name>.in"`` (input cast into the data type), ``"<name>.twiddle"`` and
        ``"<name>.data"`` (every butterfly output of every stage).
    types : TypeTable, optional
        Entries ``"<name>.data"`` and ``"<name>.twiddle"``; all ``'double'`` runs in double.

    Notes
    -----
    Decimation in time: the input is put in bit-reversed order, then stage ``s`` combines
    pairs ``2**s`` apart: with ``b W`` computed exactly (``tr = br wr - bi wi``,
    ``ti = br wi + bi wr``, fraction ``Fd + Ft``), the outputs are
    ``cast((a + b W) / 2**scaling[s])`` and ``cast((a - b W) / 2**scaling[s])`` into the data
    type: one rounding and one overflow decision per output component, nothing rounded
    before. The output is natural order.

    *Double mode* (float input): the same butterflies in float64 with unquantized twiddles;
    matches ``numpy.fft.fft(x) / 2**sum(scaling)`` to float precision.

    *Fixed mode* (a fi, or a ``(re, im)`` pair of fi of one type): returns ``(re, im)``, two
    fi of the data type. Needs ``width(data) + width(twiddle) <= 62`` (int64 butterflies).

    Frames are the rows of a 2-D input ``(frames, n)`` (a 1-D input is one frame). Frames are
    independent: a batch split into smaller batches gives the same rows.
    """

    def __init__(self, n: int, *, scaling=None, twiddle_type: TypeLike = None,
                 data_type: TypeLike = None, rounding: str | Rounding = "nearest",
                 overflow: str | Overflow = "saturate", input_order: str = "natural",
                 output_order: str = "natural", name: str = "fft",
                 types: TypeTable | None = None) -> None:
        blk = f"FFT {name!r}"
        self._blk = blk
        self.name = block_name(name, blk)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2 \
                or (int(n) & (int(n) - 1)):
            raise ValueError(f"{blk}: n must be a power of two >= 2, got {n!r}.")
        self.n = int(n)
        self.stages = self.n.bit_length() - 1
        self.scaling = self._parse_scaling(scaling)
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        for arg, v in (("input_order", input_order), ("output_order", output_order)):
            if v not in ("natural", "bit_reversed"):
                raise ValueError(f"{blk}: {arg}={v!r} is not valid; valid: 'natural', "
                                 "'bit_reversed'.")
        self.input_order = input_order
        self.output_order = output_order
        self._types = check_table(types, blk)
        self.twiddle_type = pick_type(as_type(twiddle_type, "twiddle_type", blk), types,
                                      f"{self.name}.twiddle", blk)
        self.data_type = pick_type(as_type(data_type, "data_type", blk), types,
                                   f"{self.name}.data", blk)
        self._double_table = table_is_double(types, self.name)
        self._rev = None
        self._plans: dict[numerictype, dict] = {}

    # -- configuration ------------------------------------------------------------------------
    def _parse_scaling(self, scaling) -> list[int]:
        L = self.stages
        if scaling is None or (isinstance(scaling, str) and scaling == "none"):
            return [0] * L
        if isinstance(scaling, str):
            if scaling == "all":
                return [1] * L
            raise ValueError(f"{self._blk}: scaling={scaling!r} is not valid; give None, "
                             f"'none', 'all' or {L} shifts (0..3), one per stage.")
        s = list(scaling)
        if len(s) != L or any(isinstance(v, bool) or not isinstance(v, int | np.integer)
                              or not 0 <= v <= 3 for v in s):
            raise ValueError(f"{self._blk}: scaling must have {L} integer shifts in 0..3 "
                             f"(one per stage of the {self.n}-point FFT), got {scaling!r}.")
        return [int(v) for v in s]

    def reset(self) -> None:
        """Frames are independent: there is no state to clear (kept for the block API)."""

    def _bitrev(self) -> np.ndarray:
        if self._rev is None:
            self._rev = _kt.bitrev_index(self.n)
        return self._rev

    def _stage_twiddles(self, wr: Sequence[float], wi: Sequence[float]) -> list[tuple[float,
                                                                                      float]]:
        """Per stage: (max |wr| + |wi|, max sqrt(wr**2 + wi**2)) over the twiddles it uses."""
        out = []
        for s in range(self.stages):
            step = self.n >> (s + 1)
            ks = range(0, self.n // 2, step)
            out.append((max(abs(wr[k]) + abs(wi[k]) for k in ks),
                        max(math.hypot(wr[k], wi[k]) for k in ks) * (1 + 1e-15)))
        return out

    def stage_bounds(self, re_bound: float, im_bound: float = 0.0, *, lsb: float = 0.0,
                     twiddles: tuple[Sequence[float], Sequence[float]] | None = None
                     ) -> list[float]:
        """Bounds of ``|re|`` and ``|im|`` of every stage's outputs, for inputs with
        ``|re| <= re_bound`` and ``|im| <= im_bound``.

        Per stage, two bounds are carried: a component bound ``C`` and a magnitude bound
        ``M``. With ``t = b W``, ``|Re t|, |Im t| <= C max(|wr| + |wi|)`` and
        ``|t| <= M max|W|``, so (``sc`` the stage's shift, ``e`` the rounding error ``lsb``
        of a cast that drops bits)::

            C' = min(C (1 + max(|wr|+|wi|)) / 2**sc + e,  M')
            M' = M (1 + max|W|) / 2**sc + sqrt(2) e

        With exact twiddles ``max(|wr|+|wi|) = sqrt 2`` from stage 2 on (the ``1 + sqrt 2``
        growth per component) and ``max|W| = 1`` (the magnitude at most doubles per stage:
        ``|X[k]| <= n max|x|`` without scaling).

        Returns
        -------
        list of float
            ``log2(n) + 1`` bounds: the input, then each stage's outputs.
        """
        if twiddles is None:
            k = np.arange(self.n // 2)
            twiddles = (list(np.cos(2 * np.pi * k / self.n)),
                        list(-np.sin(2 * np.pi * k / self.n)))
            tw = [(min(a, math.sqrt(2)), min(b, 1.0)) for a, b in
                  self._stage_twiddles(*twiddles)]
        else:
            tw = self._stage_twiddles(*twiddles)
        C = max(abs(re_bound), abs(im_bound))
        M = math.hypot(re_bound, im_bound) * (1 + 1e-15)
        C = min(C, M)
        out = [C]
        for s in range(self.stages):
            g = 2.0 ** -self.scaling[s]
            wsum, wmag = tw[s]
            M = M * (1 + wmag) * g + math.sqrt(2) * lsb
            C = min(C * (1 + wsum) * g + lsb, M)
            out.append(C * (1 + 1e-12))
        return out

    def worst_case_output_range(self, lo: float, hi: float, im_lo: float = 0.0,
                                im_hi: float = 0.0) -> tuple[float, float]:
        """Bound of each output component (real and imaginary parts) for inputs whose real
        parts lie in ``[lo, hi]`` and imaginary parts in ``[im_lo, im_hi]``, in exact
        arithmetic (the double algorithm; see :meth:`stage_bounds`). Symmetric: ``(-B, B)``.
        """
        if lo > hi or im_lo > im_hi:
            raise ValueError(f"{self._blk}: the bounds must satisfy lo <= hi (got [{lo}, "
                             f"{hi}] and [{im_lo}, {im_hi}]).")
        b = self.stage_bounds(max(abs(lo), abs(hi)), max(abs(im_lo), abs(im_hi)))[-1]
        return -b, b

    def types(self, input_type: TypeLike = None) -> dict[str, numerictype]:
        """``{'input', 'twiddle', 'data'}`` for an input of type *input_type*."""
        Tin = as_type(input_type, "input_type", self._blk)
        if Tin is None:
            raise ValueError(f"{self._blk}: give the input type.")
        p = self._plan(Tin)
        return {"input": Tin, "twiddle": p["Tw"], "data": p["D"]}

    def _plan(self, Tin: numerictype) -> dict:
        """Types, stored twiddles and kernel arguments for input type *Tin* (cached)."""
        if Tin in self._plans:
            return self._plans[Tin]
        blk = self._blk
        Tw = self.twiddle_type or numerictype(True, Tin.word_length,
                                              Tin.word_length - 2)
        if Tw.fraction_length < 0 or not Tw.signed:
            raise ValueError(f"{blk}: twiddle_type must be signed with a fraction length >= 0,"
                             f" got {Tw}.")
        if width(Tw) + 2 > _MAX_PRODUCT_WIDTH or Tin.word_length + 2 > _MAX_PRODUCT_WIDTH:
            # regression: an 80-bit input met a bare OverflowError quantizing the twiddles
            raise ValueError(
                f"{blk}: the int64 butterflies need width(data) + width(twiddle) <= "
                f"{_MAX_PRODUCT_WIDTH}; the input type {Tin} (twiddles {Tw}) is too wide. "
                "Cast the input to a narrower type, or run in double.")
        wr_p, wi_p = twiddle_proxies(self.n, Tw.fraction_length)
        wr = quantize_proxies(wr_p, Tw)
        wi = quantize_proxies(wi_p, Tw)
        ft = Tw.fraction_length
        wq = ([float(v) * 2.0 ** -ft for v in wr], [float(v) * 2.0 ** -ft for v in wi])
        D = self.data_type
        if D is None:
            F = Tin.fraction_length
            lsb = 2.0 ** -F
            tmax = max(abs(Tin.min), abs(Tin.max))
            bounds = self.stage_bounds(tmax, tmax, lsb=lsb, twiddles=wq)
            need = max(bounds) * 2.0 ** F + 1  # stored magnitude, with margin
            W = 2
            while (1 << (W - 1)) - 2 < need:
                W += 1
            D = numerictype(True, W, F)
        check_wrap_sm(D, self.overflow, "data", blk)
        if width(D) + width(Tw) > _MAX_PRODUCT_WIDTH:
            raise ValueError(
                f"{blk}: the int64 butterflies need width(data) + width(twiddle) <= "
                f"{_MAX_PRODUCT_WIDTH}, got {D} and {Tw} ({width(D) + width(Tw)}). Choose "
                "narrower types (or a scaling schedule, which keeps the data type narrow).")
        if Tin.word_length > 63:
            raise ValueError(f"{blk}: input words of more than 63 bits are not supported "
                             f"(got {Tin}).")
        plan = {
            "Tw": Tw, "D": D, "wr": wr, "wi": wi, "ft": ft, "wq": wq,
            "d": np.array([ft + s for s in self.scaling], dtype=np.int64),
            "tp": np.array(_kf.type_row(D.word_length, True), dtype=np.int64),
            "scale": np.array([2.0 ** -(D.fraction_length + ft + s) for s in self.scaling]),
        }
        self._plans[Tin] = plan
        return plan

    # -- running ------------------------------------------------------------------------------
    def __call__(self, x, x_im=None):
        """Transform the frames of *x* (see :meth:`filt`)."""
        return self.filt(x, x_im)

    def filt(self, x, x_im=None):
        """Transform every frame (row) of *x*.

        Parameters
        ----------
        x : fi, array_like, Interval or a pair of them
            Fixed point: a fi (real input) or ``(re, im)`` fi of one numerictype (or *x* and
            *x_im*). Double: a real or complex array. Shape ``(n,)`` or ``(frames, n)``.
            An :class:`~fixsim.tool.Interval` (or a pair) returns the output bounds.
        x_im : optional
            The imaginary part, when *x* is the real part.

        Returns
        -------
        (fi, fi) in fixed point, complex128 ndarray in double mode, (Interval, Interval) for
        an Interval input.
        """
        if _is_pair(x) and x_im is None:
            x, x_im = x
        if isinstance(x, Interval) or isinstance(x_im, Interval):
            return typed_like_run(self.filt, (x, x_im), self._interval(x, x_im))
        fixed = isinstance(x, fi)
        if x_im is not None and isinstance(x_im, fi) != fixed:
            raise TypeError(f"{self._blk}: the real and imaginary parts must both be fi or "
                            "both be floats.")
        if fixed and not self._double_table:
            return self._fixed(x, x_im)
        re = x.data if isinstance(x, fi) else x
        im = None if x_im is None else (x_im.data if isinstance(x_im, fi) else x_im)
        return self._double(re, im)

    def _frames(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 2) or shape[-1] != self.n:
            raise ValueError(f"{self._blk}: the input must have shape ({self.n},) or (frames, "
                             f"{self.n}), got {shape}.")
        return shape

    def _double(self, re, im) -> np.ndarray:
        xc = np.asarray(re)
        for arg, v in (("x", xc), ("x_im", im)):
            if v is not None and np.asarray(v).dtype.kind not in "biufc":
                # regression: strings met numpy's bare "ufunc 'isfinite' not supported"
                raise TypeError(f"{self._blk}: {arg} must be a fi or numbers, got "
                                f"{np.asarray(v).dtype} values.")
        if im is not None:
            xc = np.asarray(re, dtype=np.float64) + 1j * np.asarray(im, dtype=np.float64)
        shape = self._frames(xc.shape)
        if not np.all(np.isfinite(xc)):
            raise ValueError(f"{self._blk}: the input must be finite.")
        xc = np.asarray(xc, dtype=np.complex128).reshape(-1, self.n)
        rev = self._bitrev()
        order = rev if self.input_order == "natural" else slice(None)
        r = np.ascontiguousarray(xc.real[:, order])
        i = np.ascontiguousarray(xc.imag[:, order])
        k = np.arange(self.n // 2)
        wr = np.cos(2 * np.pi * k / self.n)
        wi = -np.sin(2 * np.pi * k / self.n)
        mult = np.array([0.5 ** s for s in self.scaling])
        rec = self._rec_buffer(r.shape[0])
        _kt.fft_f64(r, i, wr, wi, mult, rec)
        probe(f"{self.name}.twiddle", lambda: np.concatenate([wr, wi]), None,
              self.twiddle_type, "double")
        probe(f"{self.name}.data", lambda: rec.ravel(), None, self.data_type, "double")
        out = r + 1j * i
        if self.output_order == "bit_reversed":
            out = out[:, rev]
        return out.reshape(shape)

    def _rec_buffer(self, frames: int) -> np.ndarray:
        if signals_active():
            return np.empty((self.stages, frames, 2, self.n))
        return np.empty((0, 0, 0, 0))

    def _fixed(self, x: fi, x_im: fi | None):
        if x_im is not None and (x_im.numerictype != x.numerictype or x_im.shape != x.shape):
            raise TypeError(f"{self._blk}: the real and imaginary parts must be fi of one "
                            f"numerictype and shape (got {x.numerictype} {x.shape} and "
                            f"{x_im.numerictype} {x_im.shape}).")
        shape = self._frames(x.shape)
        Tin = x.numerictype
        p = self._plan(Tin)
        D, Tw = p["D"], p["Tw"]
        xr = np.ascontiguousarray(self._into(x, D).reshape(-1, self.n))
        xi = (np.zeros((0, 0), dtype=np.int64) if x_im is None
              else np.ascontiguousarray(self._into(x_im, D).reshape(-1, self.n)))
        rev = self._bitrev() if self.input_order == "natural" else np.zeros(0, dtype=np.int64)
        r = np.empty(xr.shape, dtype=np.int64)
        i = np.empty(xr.shape, dtype=np.int64)
        cnt = np.zeros(2, dtype=np.int64)
        rec = self._rec_buffer(r.shape[0])
        kernel = _kt.fft_i64_for(int(self.rounding), int(self.overflow))
        kernel(xr, xi, rev, r, i, p["wr"], p["wi"], p["ft"], p["d"], p["tp"],
               int(self.rounding), int(self.overflow), cnt, rec, p["scale"])
        k = np.arange(self.n // 2)
        probe(f"{self.name}.twiddle",
              lambda: np.concatenate([np.cos(2 * np.pi * k / self.n),
                                      -np.sin(2 * np.pi * k / self.n)]),
              None, Tw, "fixed")
        report(f"{self.name}.twiddle", Tw, self.n)
        probe(f"{self.name}.data", lambda: rec.ravel(), None, D, "fixed", int(cnt[0]),
              int(cnt[1]))
        report(f"{self.name}.data", D, r.size * 2 * self.stages, int(cnt[0]), int(cnt[1]))
        if self.output_order == "bit_reversed":
            rev = self._bitrev()
            r = r[:, rev]
            i = i[:, rev]
        return (make_fi(np.ascontiguousarray(r).reshape(shape), D),
                make_fi(np.ascontiguousarray(i).reshape(shape), D))

    def _into(self, a: fi, D: numerictype) -> np.ndarray:
        ints = np.asarray(fi_stored(a), dtype=np.int64)
        if a.numerictype == D:
            return ints  # read only: the kernel writes its own output arrays
        flat = named_cast(ints.ravel(), a.numerictype, D, self.rounding, self.overflow,
                          f"{self.name}.in")
        return np.asarray(flat, dtype=np.int64).reshape(ints.shape)

    def _interval(self, x, x_im):
        """Output bounds of a frame for Interval inputs (and report the data's range).

        A double run (untyped Intervals, or a double table): :meth:`stage_bounds` of the
        input bound. A fixed run (a typed Interval, a fi): the input cast into the data type
        first (the run's rounding and overflow), then every stage's cast adds up to one LSB
        of the data type and the twiddles are the quantized ones (the bound
        :meth:`_plan` sizes the default data type with); where a stage's bound leaves the
        data type, its cast overflows and the stages after it start from the whole type.
        """
        def parts(v):
            if v is None:
                return None, None, None
            if isinstance(v, Interval):
                T = interval_type(v)
                return np.broadcast_to(v.lo, v.shape), np.broadcast_to(v.hi, v.shape), T
            a = np.asarray(v.data if isinstance(v, fi) else v, dtype=np.float64)
            return a, a, (v.numerictype if isinstance(v, fi) else None)

        xr, xi = parts(x), parts(x_im)
        shape = self._frames(xr[0].shape if xr[0] is not None else xi[0].shape)
        Tin = xr[2] or xi[2]
        fixed = Tin is not None and not self._double_table
        if not fixed:
            b = self.stage_bounds(_mag(xr), _mag(xi))
            report_range(f"{self.name}.data", -max(b[1:]), max(b[1:]))
            report_range(f"{self.name}.twiddle", -1.0, 1.0)
            out = Interval(np.full(shape, -b[-1]), np.full(shape, b[-1]))
            return out, out
        p = self._plan(Tin)
        D = p["D"]
        cast = []
        for lo, hi, T in (xr, xi):
            if lo is None:
                cast.append(0.0)
                continue
            if (T or Tin) != D:
                report_range(f"{self.name}.in", float(np.min(lo)), float(np.max(hi)))
                lo, hi = cast_pairs(np.atleast_1d(np.min(lo)), np.atleast_1d(np.max(hi)), D,
                                    self.rounding, self.overflow)
            cast.append(_mag((lo, hi, None)))
        lsb = 2.0 ** -D.fraction_length
        dmax = max(abs(float(D.min)), abs(float(D.max)))
        tw = self._stage_twiddles(*p["wq"])
        C = max(cast)
        M = math.hypot(*cast) * (1 + 1e-15)
        C = min(C, M)
        peak = 0.0
        for s in range(self.stages):
            g = 2.0 ** -self.scaling[s]
            wsum, wmag = tw[s]
            M = M * (1 + wmag) * g + math.sqrt(2) * lsb
            C = min(C * (1 + wsum) * g + lsb, M)
            C *= 1 + 1e-12
            peak = max(peak, C)
            if C > dmax:
                # the cast overflows: the next stage starts anywhere in the data type
                C, M = dmax, math.sqrt(2) * dmax * (1 + 1e-15)
        report_range(f"{self.name}.data", -peak, peak)
        report_range(f"{self.name}.twiddle", -1.0, 1.0)
        b = min(C, dmax)
        out = Interval(np.full(shape, -b), np.full(shape, b))
        return out, out

    def __repr__(self) -> str:
        return (f"FFT(n={self.n}, scaling={self.scaling}, name={self.name!r}, "
                f"rounding='{self.rounding}', overflow='{self.overflow}')")


def _mag(part) -> float:
    """The largest magnitude of a ``(lo, hi, type)`` input part (0 for a missing part)."""
    lo, hi = part[0], part[1]
    if lo is None:
        return 0.0
    return float(max(np.max(np.abs(lo)), np.max(np.abs(hi)))) if np.size(lo) else 0.0


def _is_pair(x) -> bool:
    """A ``(re, im)`` tuple of fi or of Intervals (a list or an array is data, never a pair)."""
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], fi | Interval)


def fft(x, x_im=None, *, n: int | None = None, **kwargs):
    """One-shot :class:`FFT`: ``fft(x, scaling='all', twiddle_type='sfix16_En14')``.

    *n* defaults to the length of the last axis of *x*; other keywords go to :class:`FFT`.
    """
    first = x[0] if _is_pair(x) and x_im is None else x
    if n is None:
        shape = first.shape if isinstance(first, fi | Interval) else np.shape(first)
        if not shape:
            raise ValueError("fft: the input must be an array of shape (n,) or (frames, n).")
        n = shape[-1]
    return FFT(n, **kwargs)(x, x_im)

