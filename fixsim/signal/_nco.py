"""Numerically controlled oscillator (NCO): phase accumulator, optional dither, phase
quantization and a sine/cosine lookup table, in fixed point and double (as MATLAB's
``dsp.NCO``)."""

from __future__ import annotations

import copy
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

from .._core._fi import fi, make_fi
from .._core._interval import Interval, ranges_active, report_range
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import storage_kind
from .._core._typetable import TypeTable, signals_active
from .._kernels import lazy
from ._block import (
    TypeLike,
    as_type,
    block_modes,
    block_name,
    cast_counted,
    check_wrap_sm,
    fi_stored,
    pick_type,
    probe,
    quantize_values,
    report,
    table_is_double,
    typed_like_run,
)

_kn = lazy("fixsim._kernels._nco")

__all__ = ["NCO"]

WAVEFORMS = ("sin", "cos", "sincos", "complex")
LUTS = ("quarter", "full")
#: Largest table address width (a full table has 2**Q entries, a quarter table 2**(Q-2)+1).
MAX_QUANTIZER_BITS = {"full": 22, "quarter": 24}

_PI50 = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def _int_arg(value, argument: str, blk: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{blk}: {argument} must be an integer, got {type(value).__name__} "
                        f"{value!r}.")
    return int(value)


def _sin_decimal(r: int, n: int) -> Fraction:
    """``sin(pi/2 * r / n)`` to about 55 significant digits (0 <= r <= n), as a Fraction."""
    with localcontext() as ctx:
        ctx.prec = 60
        x = _PI50 / 2 * Decimal(r) / Decimal(n)
        term = x
        total = x
        k = 1
        while True:
            term = -term * x * x / ((2 * k) * (2 * k + 1))
            if abs(term) < Decimal(10) ** -58:
                break
            total += term
            k += 1
        return Fraction(total)


def quarter_sine(Q: int) -> np.ndarray:
    """``sin(2 pi k / 2**Q)`` for ``k = 0 .. 2**(Q-2)`` in float64 (within an ulp or two;
    exactly 0 and 1 at the ends)."""
    n = 1 << (Q - 2)
    k = np.arange(n + 1, dtype=np.float64)
    v = np.sin(k * (np.pi / 2 / n))
    v[0], v[n] = 0.0, 1.0
    return v


class NCO:
    """Numerically controlled oscillator: a W-bit phase accumulator, optional dither, phase
    truncation to Q bits, and a sine/cosine table (full or quarter-wave).

    Parameters
    ----------
    phase_increment : int
        Added to the accumulator every sample, in units of ``2**-W`` cycles (may be negative;
        taken modulo ``2**W``). The frequency is ``phase_increment * fs / 2**W``.
    phase_offset : int
        Added to the accumulator's output (same units). Default 0.
    accumulator_word_length : int
        W, 2..64 (default 16, as MATLAB).
    quantizer_bits : int, optional
        Q, the table address width (2 <= Q <= W; the top Q bits of the phase). Default
        ``min(W, 12)``. ``Q = W`` means no phase quantization.
    dither_bits : int
        D (0..W): a dither uniform in ``[0, 2**D - 1]`` is added to the phase before its
        truncation. Default 0.
    seed : int
        Seed of the dither generator (SplitMix64 on a counter: sample ``i`` of the stream gets
        the same dither whatever the frame sizes). Default 0.
    lut : {'quarter', 'full'}
        Quarter-wave table of ``2**(Q-2) + 1`` entries (default) or a full table of ``2**Q``.
    waveform : {'sin', 'cos', 'sincos', 'complex'}
        What a call returns: one signal, ``(sin, cos)``, or the complex exponential
        ``exp(j phi)`` (in fixed point the pair ``(cos, sin)`` = (real, imaginary) of fi; a
        complex128 array in double).
    output_type : numerictype, str or 'double', optional
        Type of the table entries, hence of the outputs (default ``'sfix16_En14'``, as MATLAB).
        ``'double'`` runs the oscillator in double.
    name : str
        Signals ``"<name>.phase"`` (the dithered phase, cycles), ``"<name>.sin"`` and
        ``"<name>.cos"`` (the outputs; the values probed are the exact-table values before
        their quantization, ``sin(2 pi q / 2**Q)``).
    rounding, overflow : str
        Modes of the table quantization (default nearest, saturate: +1 saturates in
        ``sfix16_En15``).
    types : TypeTable, optional
        ``<name>.out`` (or ``<name>.sin`` / ``<name>.cos``, which must then agree) gives the
        output type (the explicit argument wins); a table whose entries for the block are all
        ``'double'`` runs it in double. ``<name>.phase`` is informational (the accumulator is
        ``accumulator_word_length`` bits). ``<name>.sin`` and ``<name>.cos`` are
        :attr:`tied_signals`: ``fx.tool.propose`` gives them one type when the table comes
        from ``Model.type_table``.

    Notes
    -----
    Sample ``n`` (from reset): ``acc[n] = n * inc mod 2**W``;
    ``p[n] = (acc[n] + offset + d[n]) mod 2**W``; address ``q[n] = floor(p[n] / 2**(W-Q))``;
    ``sin[n] = T(q[n])``, ``cos[n] = T((q[n] + 2**(Q-2)) mod 2**Q)``, where the full table is
    ``T(k) = quantize(sin(2 pi k / 2**Q))`` and the quarter table stores the first quadrant
    ``k = 0 .. 2**(Q-2)`` and mirrors it (``T(2**(Q-1) - k) = T(k)``) and negates the
    stored integers (``T(k + 2**(Q-1)) = -T(k)``, cast into the output type by the overflow
    mode where it cannot hold ``-T(k)``: an unsigned type, or a ``+1.0`` that wrapped to the
    most negative value). The two tables differ where ``quantize`` is not odd-symmetric:
    at ties under ``'nearest'`` and ``'round'``-like modes, and under the directed modes
    (``'floor'``, ``'ceil'``) at every entry of the negative half-cycle that is not a whole
    number of LSBs, since ``floor(-v) = -floor(v) - 1`` there. Table values are the exact sines
    correctly quantized: float64, re-evaluated to 55 digits wherever float64 is within
    ``1e-12`` of a rounding decision; exactly 0 and 1 at the quadrant boundaries.

    *Double mode* returns ``sin(2 pi phi[n] / 2**W)`` with the ideal phase
    ``phi[n] = (acc[n] + offset) mod 2**W`` (no dither, no truncation, no table).

    *Error bound* (:attr:`max_error`): the fixed-point output differs from the double output
    by at most ``2 pi (2**(W-Q) - 1 + 2**D - 1) / 2**W`` (phase truncation and dither, since
    ``|d sin / d phi| <= 1``) plus the largest table error ``max_k |T(k) - sin(2 pi k/2**Q)|``
    (at most one LSB of the output type for any rounding mode, half an LSB for the
    round-to-nearest modes, when 1.0 is representable or saturates to ``1 - LSB``).

    *Spurs*: phase truncation puts spurs at about ``-6.02 Q + 3.92`` dBc (SFDR about
    ``6.02 Q - 3.92`` dB, for a frequency that does not divide the table evenly); dither of
    ``D = W - Q`` bits spreads them into a noise floor (MATLAB estimates ``6 Q`` dB without
    dither, ``6 Q + 12`` dB with it); table quantization adds spurs near ``-6.02 Wout`` dBc.
    """

    #: Signals one type must serve (one sine table gives both outputs): ``Model.type_table``
    #: declares them tied, and ``fx.tool.propose`` then proposes one type covering both.
    tied_signals = (("sin", "cos"),)

    def __init__(self, phase_increment: int, *, phase_offset: int = 0,
                 accumulator_word_length: int = 16, quantizer_bits: int | None = None,
                 dither_bits: int = 0, seed: int = 0, lut: str = "quarter",
                 waveform: str = "sin", output_type: TypeLike = None, name: str = "nco",
                 rounding: str | Rounding = "nearest", overflow: str | Overflow = "saturate",
                 types: TypeTable | None = None) -> None:
        blk = f"NCO {name!r}"
        self._blk = blk
        self.name = block_name(name, blk)
        W = _int_arg(accumulator_word_length, "accumulator_word_length", blk)
        if not 2 <= W <= 64:
            raise ValueError(f"{blk}: accumulator_word_length={W} is not valid; valid: 2..64.")
        self.accumulator_word_length = W
        if lut not in LUTS:
            raise ValueError(f"{blk}: lut={lut!r} is not valid; valid: 'quarter', 'full'.")
        self.lut = lut
        Q = min(W, 12) if quantizer_bits is None else _int_arg(quantizer_bits,
                                                               "quantizer_bits", blk)
        qmax = MAX_QUANTIZER_BITS[lut]
        if not 2 <= Q <= min(W, qmax):
            raise ValueError(f"{blk}: quantizer_bits={Q} is not valid; valid: 2..{min(W, qmax)} "
                             f"(at most accumulator_word_length={W}, and {qmax} for a {lut} "
                             "table).")
        self.quantizer_bits = Q
        D = _int_arg(dither_bits, "dither_bits", blk)
        if not 0 <= D <= W:
            raise ValueError(f"{blk}: dither_bits={D} is not valid; valid: 0..{W} "
                             "(at most accumulator_word_length).")
        self.dither_bits = D
        self.seed = _int_arg(seed, "seed", blk) % (1 << 64)
        self.phase_increment = _int_arg(phase_increment, "phase_increment", blk)
        self.phase_offset = _int_arg(phase_offset, "phase_offset", blk)
        if waveform not in WAVEFORMS:
            raise ValueError(f"{blk}: waveform={waveform!r} is not valid; valid: "
                             f"{', '.join(repr(w) for w in WAVEFORMS)}.")
        self.waveform = waveform
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        if types is not None and not isinstance(types, TypeTable):
            raise TypeError(f"{blk}: types must be a fixsim.TypeTable or None, got "
                            f"{type(types).__name__}.")
        self.double = (isinstance(output_type, str) and output_type == "double") or \
            table_is_double(types, self.name)
        Tout = None if isinstance(output_type, str) and output_type == "double" else \
            as_type(output_type, "output_type", blk)
        self.output_type = self._table_output_type(Tout, types) or numerictype(True, 16, 14)
        check_wrap_sm(self.output_type, self.overflow, "output", blk)
        if storage_kind(self.output_type) != "i64" or self.output_type.word_length > 62:
            raise ValueError(f"{blk}: output_type {self.output_type} is too wide; the table "
                             "lookup takes at most 62-bit outputs.")
        self._mask = (1 << W) - 1
        self._build_table()
        self.reset()

    def _table_output_type(self, explicit: numerictype | None,
                           types: TypeTable | None) -> numerictype | None:
        """The output type: the argument, else the table's ``<name>.out``, else its
        ``<name>.sin`` / ``<name>.cos`` (the names the block probes; one table serves both, so
        they must agree)."""
        T = pick_type(explicit, types, f"{self.name}.out", self._blk)
        if T is not None:
            return T
        ts = {nm: pick_type(None, types, f"{self.name}.{nm}", self._blk)
              for nm in ("sin", "cos")}
        given = {nm: t for nm, t in ts.items() if t is not None}
        if len(set(given.values())) > 1:
            raise ValueError(f"{self._blk}: the type table gives {self.name}.sin "
                             f"{given['sin']} and {self.name}.cos {given['cos']}; one sine "
                             "table serves both outputs, so give them the same type (or "
                             f"give {self.name}.out). fx.tool.propose gives them one type when "
                             "they are tied: in a table from Model.type_table, or with "
                             f"propose(..., tied=[({self.name + '.sin'!r}, "
                             f"{self.name + '.cos'!r})]).")
        return next(iter(given.values()), None)

    # -- the table ------------------------------------------------------------------------------
    def _build_table(self) -> None:
        Q, T = self.quantizer_bits, self.output_type
        base = quarter_sine(Q)
        n = 1 << (Q - 2)
        if self.lut == "quarter":
            idx = np.arange(n + 1)
            vals = base
        else:
            idx = np.arange(1 << Q)
            quad, r = idx >> (Q - 2), idx & (n - 1)
            mag = np.where(quad % 2 == 0, base[r], base[n - r])
            vals = np.where(quad >= 2, -mag, mag)
        q, counts = quantize_values(vals, T, self.rounding, self.overflow, f"{self.name}.table")
        ints = np.array(fi_stored(q), dtype=np.int64)
        # where float64 is too close to a rounding decision, decide on 55 digits instead
        y = vals * 2.0 ** T.fraction_length
        frac = y - np.floor(y)
        near = np.minimum(np.minimum(frac, 1.0 - frac), np.abs(frac - 0.5)) * \
            2.0 ** -T.fraction_length < 1e-12
        near &= (np.abs(vals) != 0.0) & (np.abs(vals) != 1.0)
        for i in np.flatnonzero(near):
            k = int(idx[i])
            quad, r = k >> (Q - 2), k & (n - 1)
            if self.lut == "quarter":
                exact = _sin_decimal(k, n)
            else:
                exact = _sin_decimal(r if quad % 2 == 0 else n - r, n)
                exact = -exact if quad >= 2 else exact
            ints[i] = int(fi(exact, T, rounding=self.rounding, overflow=self.overflow).int)
        self.table = make_fi(ints, T)
        self._table_float = vals
        if self.lut == "quarter":
            # the negative half-cycle negates the stored integers; where the output type cannot
            # hold the negation (an unsigned type, or a +1.0 that wrapped to the most negative
            # value), the negation is cast into it by the block's overflow mode (exact: no
            # rounding), and those overflows count as the table's
            wide = numerictype(True, T.word_length + 1, T.fraction_length)
            neg, n_ovf, n_unf = cast_counted(-ints, wide, T, self.rounding, self.overflow,
                                             f"{self.name}.table")
            ints = np.concatenate([ints, neg])
            counts = (counts[0] + neg.size, counts[1] + n_ovf, counts[2] + n_unf)
        self._table = ints  # the kernel's table (quarter: first quadrant, then its negation)
        self._table_counts = counts

    @property
    def table_exact(self) -> np.ndarray:
        """The table's ideal values ``sin(2 pi k / 2**Q)`` (float64) at its entries."""
        return self._table_float.copy()

    @property
    def max_error(self) -> float:
        """Bound on ``|fixed output - double output|`` (see Notes)."""
        W, Q, D = self.accumulator_word_length, self.quantizer_bits, self.dither_bits
        phase = 2 * math.pi * ((2 ** (W - Q) - 1) + (2 ** D - 1)) / 2.0 ** W
        table_err = float(np.max(np.abs(self.table.data - self.table_exact)))
        return phase + table_err

    def frequency(self, fs: float = 1.0) -> float:
        """Output frequency ``(phase_increment mod 2**W) / 2**W * fs`` (aliases above fs/2)."""
        return (self.phase_increment & self._mask) / 2.0 ** self.accumulator_word_length * fs

    # -- state ----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to sample 0: accumulator 0, dither counter 0."""
        self._acc = 0
        self._count = 0

    @staticmethod
    def _pattern(v: int) -> int:
        """An unsigned 64-bit value as the int64 with the same bits."""
        v &= (1 << 64) - 1
        return v - (1 << 64) if v >> 63 else v

    def __call__(self, n):
        """Same as :meth:`step`."""
        return self.step(n)

    def step(self, n):
        """The next *n* samples. Given a 1-D integer array (or a fi of fraction length 0)
        instead, one sample per entry, each entry being that sample's phase increment
        (frequency or phase modulation: sample ``i`` is produced, then ``acc += inc[i]``).
        Given an :class:`Interval` of length n, the worst-case range of n samples, with the
        derived ranges reported (the state does not move).

        While ``fx.tool.derive`` runs (static range analysis listens), a count or an array of
        increments is answered the same way: the worst-case Interval of that many samples,
        typed as the run's fi, with ``"<name>.phase"`` and the outputs' ranges reported, and
        the state does not move (``lo = nco(len(x))`` inside the analysed function bounds
        every frame of the stream, not the next one, and derive leaves the oscillator's
        phase alone).

        Returns
        -------
        fi, numpy.ndarray, tuple or Interval
            Per :attr:`waveform`: a fi (fixed) or float64 array (double); ``'sincos'`` gives
            ``(sin, cos)``; ``'complex'`` gives ``(cos, sin)`` fi in fixed point and a
            complex128 array in double.
        """
        if isinstance(n, Interval):
            return self._step_interval(n.size)
        if isinstance(n, fi | np.ndarray | list | tuple):
            incs = self._increments(n)
            if ranges_active():
                return self._step_interval(incs.size)
            size = incs.size
            if size == 0:  # the kernels read inc[0]
                incs = np.zeros(1, dtype=np.int64)
            return self._double(size, incs) if self.double else self._fixed(size, incs)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"{self._blk}: the number of samples must be a non-negative "
                             f"integer, got {n!r}.")
        n = int(n)
        if ranges_active():
            return self._step_interval(n)
        return self._run(n)

    def _run(self, n: int):
        """The next *n* samples at the fixed phase increment (moves the state)."""
        inc = np.array([self._pattern(self.phase_increment & self._mask)], dtype=np.int64)
        return self._double(n, inc) if self.double else self._fixed(n, inc)

    def _step_interval(self, n: int):
        """The worst-case Intervals of *n* samples (typed as the fixed run's fi), without
        moving the state."""
        if self.double:
            return self._interval(n)
        # the typing run (on a copy) is the real generator: it would ask for intervals again
        return typed_like_run(lambda m: copy.deepcopy(self)._run(m), (n,), self._interval(n),
                              always=True)

    def _increments(self, x) -> np.ndarray:
        """Per-sample phase increments (integers, or a fi with fraction length 0) as W-bit
        patterns in int64."""
        if isinstance(x, fi):
            if x.fraction_length != 0:
                raise ValueError(f"{self._blk}: a phase-increment input must have fraction "
                                 f"length 0 (units of 2**-W cycles), got {x.numerictype}.")
            vals = np.asarray(x.int).reshape(-1)
        else:
            vals = np.asarray(x)
            if vals.size == 0 and vals.ndim == 1:
                return np.zeros(0, dtype=np.int64)
            if vals.dtype.kind not in "iuO" or vals.ndim != 1:
                raise ValueError(f"{self._blk}: a phase-increment input must be a 1-D array of "
                                 f"integers (got dtype {vals.dtype}, shape {vals.shape}); call "
                                 "nco(n) for n samples at the fixed phase_increment.")
        return np.array([self._pattern(int(v) & self._mask) for v in vals], dtype=np.int64) \
            if vals.dtype.kind in "uO" else (vals.astype(np.int64) & np.int64(
                self._pattern(self._mask)))

    def _fixed(self, n: int, inc: np.ndarray):
        W, Q, D = self.accumulator_word_length, self.quantizer_bits, self.dither_bits
        wf = self.waveform
        want_sin = wf != "cos"
        want_cos = wf != "sin"
        s_out = np.empty(n if want_sin else 0, dtype=np.int64)
        c_out = np.empty(n if want_cos else 0, dtype=np.int64)
        recording = signals_active()
        rec = np.empty(n if recording else 0, dtype=np.int64)
        kernel = _kn.nco_fixed(self.lut == "quarter", want_sin, want_cos, D > 0, recording,
                               inc.size > 1)
        acc = kernel(n, inc, self._pattern(self.phase_offset & self._mask),
                     self._pattern(self._mask),
                     W, Q, D, np.uint64(self.seed), self._count, self._pattern(self._acc),
                     self._table, s_out, c_out, rec)
        self._acc = int(acc) & self._mask
        self._count += n
        T = self.output_type
        report(f"{self.name}.table", T, *self._table_counts)
        outs = {}
        if want_sin:
            outs["sin"] = make_fi(s_out, T)
        if want_cos:
            outs["cos"] = make_fi(c_out, T)
        if recording:
            p = rec.astype(np.uint64).astype(np.float64) * 2.0 ** -W
            probe(f"{self.name}.phase", p, p, numerictype(False, W, W), "fixed")
            qi = rec.astype(np.uint64) >> np.uint64(W - Q)
            tied = self._tied(outs)
            for nm, shift in (("sin", 0.0), ("cos", 0.25)):
                if nm in outs:
                    probe(f"{self.name}.{nm}", self._ideal(qi, Q, shift), outs[nm], T,
                          "fixed", tied=tied)
        return self._shape(outs)

    def _tied(self, outs) -> tuple | None:
        """The sine and cosine signals' names when both are produced (one table serves
        both), for the recorder (``SignalEvent.tied``)."""
        return (f"{self.name}.sin", f"{self.name}.cos") if len(outs) == 2 else None

    #: table addresses up to this many bits get their ideal values from a cached table
    IDEAL_TABLE_BITS = 16

    def _ideal(self, qi: np.ndarray, Q: int, shift: float) -> np.ndarray:
        """``sin(2 pi (q / 2**Q + shift))`` at the table addresses *qi* (uint64): the exact
        values the table quantizes (what the tool records). The float64 expression is
        evaluated once per address into a cached table when ``Q <= IDEAL_TABLE_BITS`` and the
        frame is long enough to pay for it (the same operations on the same values, so the
        same bits as evaluating it per sample), per sample otherwise."""
        tabs = self.__dict__.setdefault("_ideal_tabs", {})
        tab = tabs.get((Q, shift))
        if tab is None and Q <= self.IDEAL_TABLE_BITS and (1 << Q) <= 4 * qi.size:
            k = np.arange(1 << Q, dtype=np.float64)
            tab = tabs[(Q, shift)] = np.sin(2 * np.pi * (k / 2.0 ** Q + shift))
        if tab is not None:
            return tab[qi.astype(np.intp)]
        return np.sin(2 * np.pi * (qi.astype(np.float64) / 2.0 ** Q + shift))

    def _double(self, n: int, inc: np.ndarray):
        W = self.accumulator_word_length
        ph = np.empty(n, dtype=np.int64)
        acc = _kn.nco_ideal_phase(n, inc, self._pattern(self.phase_offset & self._mask),
                                  self._pattern(self._mask), self._pattern(self._acc), ph)
        self._acc = int(acc) & self._mask
        self._count += n
        theta = 2 * np.pi * (ph.astype(np.uint64).astype(np.float64) * 2.0 ** -W)
        wf = self.waveform
        outs = {}
        if wf != "cos":
            outs["sin"] = np.sin(theta)
        if wf != "sin":
            outs["cos"] = np.cos(theta)
        if signals_active():
            cyc = theta / (2 * np.pi)
            probe(f"{self.name}.phase", cyc, cyc, numerictype(False, W, W), "double")
            tied = self._tied(outs)
            for nm, v in outs.items():
                probe(f"{self.name}.{nm}", v, v, self.output_type, "double", tied=tied)
        if wf == "complex":
            return outs["cos"] + 1j * outs["sin"]
        return self._shape(outs)

    def _shape(self, outs: dict):
        wf = self.waveform
        if wf == "sin":
            return outs["sin"]
        if wf == "cos":
            return outs["cos"]
        if wf == "sincos":
            return outs["sin"], outs["cos"]
        return outs["cos"], outs["sin"]

    # -- analysis -------------------------------------------------------------------------------
    def worst_case_output_range(self, lo=None, hi=None) -> tuple[float, float]:
        """Bounds of every output: the table's extremes (fixed), or ``[-1, 1]`` (double). The
        oscillator has no signal input; *lo* and *hi* are accepted and ignored."""
        if self.double:
            return -1.0, 1.0
        t = make_fi(self._table, self.output_type).data  # (quarter: both signs)
        return float(t.min()), float(t.max())

    def _interval(self, n: int):
        W = self.accumulator_word_length
        report_range(f"{self.name}.phase", 0.0, (2 ** W - 1) / 2.0 ** W)
        lo, hi = self.worst_case_output_range()
        outs = {}
        wf = self.waveform
        if wf != "cos":
            outs["sin"] = Interval(np.full(n, lo), np.full(n, hi))
        if wf != "sin":
            outs["cos"] = Interval(np.full(n, lo), np.full(n, hi))
        for nm in outs:
            report_range(f"{self.name}.{nm}", lo, hi)
        return self._shape(outs)

    def __repr__(self) -> str:
        return (f"NCO(phase_increment={self.phase_increment}, W={self.accumulator_word_length}, "
                f"Q={self.quantizer_bits}, D={self.dither_bits}, lut={self.lut!r}, "
                f"waveform={self.waveform!r}, output_type={self.output_type}, "
                f"name={self.name!r})")
