"""CIC (cascaded integrator-comb) decimators and interpolators, in double and in fixed point,
with Hogenauer's register growth, wrap arithmetic and (decimator) Hogenauer pruning."""

from __future__ import annotations

import copy
import itertools
import math
from fractions import Fraction

import numpy as np

from .._core._fi import fi, make_fi
from .._core._interval import Interval, cast_pairs, report_range
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import as_storage, storage_kind
from .._core._typetable import TypeTable, signals_active
from .._kernels import lazy
from ._block import (
    Block,
    TypeLike,
    as_type,
    block_modes,
    block_name,
    cast_changes,
    cast_counted,
    check_wrap_sm,
    fi_stored,
    interval_type,
    pick_type,
    probe,
    report,
    table_is_double,
    typed_like_run,
    width,
)

_kc = lazy("fixsim._kernels._cic")

__all__ = ["CICDecimator", "CICInterpolator"]

#: Widest register the int64 kernels take; wider registers (or an input not held in int64) run
#: an exact Python-int path, register by register (about a microsecond per register update).
MAX_REGISTER_BITS = 64

_UNBOUNDED = ("a CIC register whose exact value grows without bound (an integrator, or a comb "
              "before the last); the register wraps modulo 2**W by design and the output is "
              "exact")
_FLOAT_DRIFT = ("a CIC register that accumulates in float64 in double mode: its round-off "
                "accumulates with the stream's length without bound (the output itself is "
                "the equivalent FIR, summed per output, and stays bounded)")
_FLOAT_UNBOUNDED = ("a CIC register whose exact value grows without bound (an integrator, or "
                    "a comb before the last), in float64 in double mode")


# -- exact integer helpers -------------------------------------------------------------------------
def _positive_int(value, argument: str, blk: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{blk}: {argument} must be a positive integer, got {value!r}.")
    return int(value)


def _ratio(D: int, a: int, b: int) -> list[int]:
    """Exact coefficients of the FIR ``(1 - z**-D)**a / (1 - z**-1)**b`` (``b <= a``): the
    binomial numerator, then ``b`` running sums (each an exact division by ``1 - z**-1``)."""
    h = [0] * (a * D + 1)
    for k in range(a + 1):
        h[k * D] = (-1) ** k * math.comb(a, k)
    for _ in range(b):
        h = list(itertools.accumulate(h))
    return h[:a * D + 1 - b] if b else h


def _bits_for(num: int, den: int = 1) -> int:
    """Smallest ``g >= 0`` with ``2**g >= num / den`` (``ceil(log2(num / den))``, exactly)."""
    g = 0
    while (den << g) < num:
        g += 1
    return g


def _fir_range(h: list[int], up: int, lo: Fraction, hi: Fraction,
               outputs: tuple[int, int] | None = None) -> tuple[Fraction, Fraction]:
    """Exact extremes of ``y[n] = sum_k h[k] u[n - k]`` from a zero state, where ``u`` is an
    input in ``[lo, hi]`` with ``up - 1`` zeros inserted after every sample, over every output
    ``n`` (or only ``n = outputs[0] + m * outputs[1]``, ``m >= 0``; then ``up`` is 1).

    Output ``n`` sees the taps ``k <= n`` with ``k = n (mod up)``; its extremes are
    ``P lo + Q hi`` and ``P hi + Q lo`` with ``P`` (``Q``) the sum of those taps that are
    positive (negative). The candidates are every such prefix an output sees, and the full
    phase sums (reached by every later output).
    """
    L = len(h)
    cands: set[tuple[int, int]] = set()
    for p in range(up):
        P = Q = 0
        for k in range(p, L, up):
            c = h[k]
            if c > 0:
                P += c
            else:
                Q += c
            if outputs is None or (k >= outputs[0] and (k - outputs[0]) % outputs[1] == 0):
                cands.add((P, Q))
        cands.add((P, Q))
    return (min(P * lo + Q * hi for P, Q in cands), max(P * hi + Q * lo for P, Q in cands))


def _float_fir_range(h: np.ndarray, up: int, lo: float, hi: float,
                     outputs: tuple[int, int] | None = None) -> tuple[float, float]:
    """:func:`_fir_range` as the double kernels compute it: float64 products and running sums
    in increasing tap order from 0.0, each term at the end of ``[lo, hi]`` that maximises
    (minimises) it. Round-to-nearest addition and multiplication are monotone in each
    operand, so these are the extremes of the kernels' float values over every input in
    ``[lo, hi]`` (the taps not yet reached from reset add an exact 0.0)."""
    best_lo, best_hi = math.inf, -math.inf
    L = len(h)
    for p in range(up):
        smin = smax = 0.0
        for k in range(p, L, up):
            c = float(h[k])
            smax += c * hi if c > 0 else c * lo
            smin += c * lo if c > 0 else c * hi
            if outputs is None or (k >= outputs[0] and (k - outputs[0]) % outputs[1] == 0):
                best_lo, best_hi = min(best_lo, smin), max(best_hi, smax)
        best_lo, best_hi = min(best_lo, smin), max(best_hi, smax)
    return best_lo, best_hi


def _down(v: Fraction) -> float:
    """The largest float not above *v*."""
    f = float(v)
    return f if Fraction(f) <= v else float(np.nextafter(f, -np.inf))


def _up(v: Fraction) -> float:
    """The smallest float not below *v*."""
    f = float(v)
    return f if Fraction(f) >= v else float(np.nextafter(f, np.inf))


#: unit roundoff of float64 (round to nearest)
_U = Fraction(1, 2 ** 53)


def _wrap(v: int, W: int) -> int:
    """Two's complement W-bit wrap of a Python int."""
    v &= (1 << W) - 1
    return v - (1 << W) if v >> (W - 1) else v


def _scaled(ints: np.ndarray, F: int) -> np.ndarray:
    """Real-world float64 values of stored integers at fraction length F."""
    if ints.dtype == object:
        return np.array([float(Fraction(int(v)) / Fraction(2) ** F) for v in ints],
                        dtype=np.float64)
    return ints * 2.0 ** -F


def _as_fraction(v) -> Fraction:
    return v if isinstance(v, Fraction) else Fraction(v)


class _CIC(Block):
    """What the decimator and the interpolator share (see their docstrings)."""

    _kind: str

    def __init__(self, R, M, N, *, name, input_type, output_type, rounding, overflow,
                 types: TypeTable | None) -> None:
        blk = f"{type(self).__name__} {name!r}"
        self._blk = blk
        self.name = block_name(name, blk)
        factor = "decimation_factor" if self._kind == "decimator" else "interpolation_factor"
        self.R = _positive_int(R, factor, blk)
        self.M = _positive_int(M, "differential_delay", blk)
        self.N = _positive_int(N, "num_sections", blk)
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        if types is not None and not isinstance(types, TypeTable):
            raise TypeError(f"{blk}: types must be a fixsim.TypeTable or None, got "
                            f"{type(types).__name__}.")
        self.types_table = types
        self.input_type = pick_type(as_type(input_type, "input_type", blk), types,
                                    f"{self.name}.in", blk)
        self.output_type_arg = pick_type(as_type(output_type, "output_type", blk), types,
                                         f"{self.name}.out", blk)
        self._double_table = table_is_double(types, self.name)
        RM = self.R * self.M
        #: exact impulse response of the whole filter at the fast rate: boxcar(R M) ** N
        self.impulse_response: list[int] = _ratio(RM, self.N, self.N)

    # -- properties -----------------------------------------------------------------------------
    @property
    def gain(self) -> int:
        """DC gain of the filter: ``(R M)**N`` (decimator), ``(R M)**N / R`` (interpolator)."""
        g = (self.R * self.M) ** self.N
        return g if self._kind == "decimator" else g // self.R

    @property
    def section_names(self) -> list[str]:
        """Signal names of the stage registers, in the order data flows through them."""
        ints = [f"integrator{j}" for j in range(1, self.N + 1)]
        combs = [f"comb{j}" for j in range(1, self.N + 1)]
        return ints + combs if self._kind == "decimator" else combs + ints

    @property
    def fixed_signals(self) -> list[str]:
        """Signals whose types follow from the block's parameters and input type (the stage
        registers: Hogenauer's widths, see :meth:`section_types`), not from a type table:
        :meth:`~fixsim.signal.Model.type_table` lists them ``'inherit'`` and locked, so no
        proposal gives them a type the run would not use."""
        return self.section_names

    def section_types(self, input_type: TypeLike = None) -> list[numerictype]:
        """The stage register types (in :attr:`section_names` order) for an input of type
        *input_type* (default: the block's input type, or the one in use)."""
        return self._section_types(self._input_type_for(input_type))

    @property
    def section_word_lengths(self) -> list[int]:
        """Word lengths of the stage registers (needs a known input type)."""
        return [T.word_length for T in self.section_types()]

    @property
    def section_fraction_lengths(self) -> list[int]:
        """Fraction lengths of the stage registers (needs a known input type)."""
        return [T.fraction_length for T in self.section_types()]

    def output_type(self, input_type: TypeLike = None) -> numerictype:
        """The output type for an input of type *input_type* (default: as
        :meth:`section_types`)."""
        Tin = self._input_type_for(input_type)
        return self._output_type(Tin, self._section_types(Tin))

    def freqz(self, worN=512, *, fs: float = 2 * np.pi,
              normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Frequency response of ``boxcar(R M) ** N`` at the fast rate (the decimator's
        input, the interpolator's output), via ``scipy.signal.freqz``:
        ``|H(f)| = |sin(pi f R M) / sin(pi f)| ** N`` (``f`` in cycles per fast sample),
        divided by ``(R M) ** N`` when *normalize* (unit gain at DC).

        Returns
        -------
        (w, h) : numpy.ndarray
        """
        from scipy import signal as sps

        h = np.array(self.impulse_response, dtype=np.float64)
        if normalize:
            h = h / float((self.R * self.M) ** self.N)
        return sps.freqz(h, 1.0, worN=worN, fs=fs)

    def types(self, input_type: TypeLike = None) -> dict[str, numerictype]:
        """Every signal's type for an input of type *input_type* (default: as
        :meth:`section_types`): ``{'input', <section names>..., 'out'}`` to numerictype."""
        Tin = self._input_type_for(input_type)
        secs = self._section_types(Tin)
        return {"input": Tin, **dict(zip(self.section_names, secs, strict=True)),
                "out": self._output_type(Tin, secs)}

    def _input_type_for(self, input_type: TypeLike) -> numerictype:
        Tin = self.input_type or as_type(input_type, "input_type", self._blk) or self._tin
        if Tin is None:
            raise ValueError(f"{self._blk}: the input type is not known yet; pass input_type "
                             "(here or to the constructor) or filter a fi first.")
        return Tin

    def _output_type(self, Tin: numerictype, sections: list[numerictype]) -> numerictype:
        return self.output_type_arg or sections[-1]

    def _section_types(self, Tin: numerictype) -> list[numerictype]:  # pragma: no cover
        raise NotImplementedError

    # -- planning -------------------------------------------------------------------------------
    def _plan(self, Tin: numerictype) -> None:
        secs = self._section_types(Tin)
        Tout = self._output_type(Tin, secs)
        check_wrap_sm(Tout, self.overflow, "output", self._blk)
        if self.input_type is not None:
            check_wrap_sm(self.input_type, self.overflow, "input", self._blk)
        widest = max(T.word_length for T in secs)
        # registers wider than the int64 kernels take (or an input not held in int64) run
        # on the exact Python-int path, register by register
        self._wide = widest > MAX_REGISTER_BITS or storage_kind(Tin) != "i64"
        self._integ_py = [0] * self.N
        self._comb_py = [[0] * self.M for _ in range(self.N)]
        self._tin = Tin
        self._secs = secs
        self._tout = Tout
        # the default output is the last register itself: nothing is quantized
        self._full_precision_out = Tout is secs[-1]
        self._ext = np.array([64 - T.word_length for T in secs], dtype=np.int64)

    def _fixed_input(self, x: fi) -> np.ndarray:
        Tx_in = x.numerictype
        if self._tin is None:
            self._plan(self.input_type or Tx_in)
        ints = fi_stored(x)
        if self.input_type is not None:
            if cast_changes(Tx_in, self._tin, self.overflow):
                ints, counts = self._counted_cast(ints, Tx_in, self._tin, "in")
                probe(f"{self.name}.in", lambda: x.data, make_fi(ints, self._tin), self._tin,
                      "fixed", *counts)
        elif Tx_in != self._tin:
            raise ValueError(f"{self._blk}: the input type changed from {self._tin} to "
                             f"{Tx_in}; cast the input, give input_type, or call reset().")
        if self._wide:
            return np.asarray(ints).reshape(-1)
        return np.ascontiguousarray(ints, dtype=np.int64)

    def _emit_fixed(self, rec: dict[str, np.ndarray], last: np.ndarray, out: np.ndarray,
                    counts: tuple[int, int]) -> None:
        """Probes of the stage registers and of the output (fixed mode)."""
        for nm, T in zip(self.section_names, self._secs, strict=True):
            vals = as_storage(rec[nm], T)
            report(f"{self.name}.{nm}", T, vals.size)
            probe(f"{self.name}.{nm}",
                  lambda v=vals, T=T: _scaled(v, T.fraction_length),
                  make_fi(vals, T), T, "fixed")
        Tl = self._secs[-1]
        probe(f"{self.name}.out", lambda: _scaled(last, Tl.fraction_length),
              make_fi(out, self._tout), self._tout, "fixed", *counts)

    def _cast_out(self, last: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        Tl, Tout = self._secs[-1], self._tout
        last = as_storage(last, Tl)
        if self._full_precision_out:
            report(f"{self.name}.out", Tout, last.size)
            return last, (0, 0)
        return self._counted_cast(last, Tl, Tout, "out")

    def _counted_cast(self, ints: np.ndarray, src: numerictype, dst: numerictype,
                      signal: str) -> tuple[np.ndarray, tuple[int, int]]:
        """The named cast ``<name>.<signal>`` and its (overflow, underflow) counts (exact
        whenever anyone listens, which is when they are used)."""
        out, n_ovf, n_unf = cast_counted(ints, src, dst, self.rounding, self.overflow,
                                         f"{self.name}.{signal}")
        return out, (n_ovf, n_unf)

    def _known_types(self) -> tuple[list[numerictype] | None, numerictype | None]:
        """Section and output types in double mode, when an input type is known."""
        Tin = self.input_type or self._tin
        if Tin is None:
            return None, self.output_type_arg
        secs = self._section_types(Tin)
        return secs, self._output_type(Tin, secs)

    # -- filtering ------------------------------------------------------------------------------
    def filt(self, x):
        """Filter the next frame *x* (1-D), keeping state.

        A fi runs in fixed point (unless the block's type table sets every signal to
        ``'double'``), anything else in double (complex input too: the real and imaginary
        rails run through two identical filters); an :class:`~fixsim._core._interval.Interval`
        returns the worst-case output interval of the frame (and reports the derived ranges
        of the internal signals) without changing the state.

        Returns
        -------
        fi, numpy.ndarray or Interval
        """
        if isinstance(x, Interval):
            return typed_like_run(self._fresh().filt, (x,), self._filt_interval(x))
        if self._double_table and isinstance(x, fi):
            x = x.data
        cplx = not isinstance(x, fi) and np.iscomplexobj(x)
        if self._mode is not None and cplx != self._complex:
            raise ValueError(f"{self._blk}: this filter is running on "
                             f"{'complex' if self._complex else 'real'} input; call reset() "
                             f"before feeding a {'complex' if cplx else 'real'} signal.")
        if cplx:
            # I and Q through two identical filters (the imaginary one is a twin with its
            # own state); the probes see both rails under the same names, as in hardware
            xc = np.atleast_1d(np.asarray(x, dtype=np.complex128))
            if self._imag is None:
                self._imag = copy.copy(self)
                self._imag._imag = None
                self._imag.reset()
            re = super().filt(xc.real)
            self._complex = True
            return re + 1j * self._imag.filt(xc.imag)
        return super().filt(x)

    def _filt_interval(self, x: Interval) -> Interval:
        if x.ndim != 1:
            raise ValueError(f"{self._blk}: the input interval must be 1-D (got shape "
                             f"{x.shape}).")
        n_out = self._count_outputs(x.size)
        if x.size == 0:
            return Interval(np.zeros(n_out))
        lo, hi = x.hull()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            reason = f"{self._blk}: unbounded input"
            if self.input_type is not None:
                report_range(f"{self.name}.in", lo, hi, reason)
            for nm in self.section_names:
                report_range(f"{self.name}.{nm}", -math.inf, math.inf, reason)
            report_range(f"{self.name}.out", -math.inf, math.inf, reason)
            return Interval(np.full(n_out, -np.inf), np.full(n_out, np.inf), reason=reason)
        # the run's mode: a fi (a typed Interval) runs in fixed point unless the block's table
        # is all 'double'; anything else in double
        Tx = interval_type(x)
        fixed = Tx is not None and not self._double_table
        if self.input_type is not None:
            # the values arriving at the input cast (the probe records them before the cast)
            report_range(f"{self.name}.in", lo, hi)
        if fixed:
            olo, ohi = self._fixed_interval(Tx, lo, hi)
        else:
            olo, ohi = self._double_interval(lo, hi)
        return Interval(np.full(n_out, olo), np.full(n_out, ohi))

    def _fixed_interval(self, Tx: numerictype, lo: float, hi: float) -> tuple[float, float]:
        """Report the ranges of a fixed-point run on a fi of type *Tx* with values in
        ``[lo, hi]``; return the output's bounds (after its cast)."""
        Tin = self.input_type or Tx
        if self.input_type is not None and cast_changes(Tx, Tin, self.overflow):
            # the run casts the input first (rounding and overflow of the block's modes)
            clo, chi = cast_pairs(np.array([lo]), np.array([hi]), Tin, self.rounding,
                                  self.overflow)
            lo, hi = float(clo[0]), float(chi[0])
        flo, fhi = Fraction(lo), Fraction(hi)
        secs = self._section_types(Tin)
        ranges = self._section_ranges(flo, fhi)
        # the last register: the exact output plus the stages' truncation errors (pruning),
        # or anywhere in the register where that leaves it (it wraps)
        olo, ohi = self._output_range(flo, fhi)
        elo, ehi = self._pruning_error(Tin)
        olo, ohi = olo + elo, ohi + ehi
        Tl = secs[-1]
        rmin = Fraction(Tl.int_min) / Fraction(2) ** Tl.fraction_length
        rmax = Fraction(Tl.int_max) / Fraction(2) ** Tl.fraction_length
        if olo < rmin or ohi > rmax:
            olo, ohi = rmin, rmax
        ranges[-1] = (olo, ohi)
        for nm, rng in zip(self.section_names, ranges, strict=True):
            if rng is None:
                report_range(f"{self.name}.{nm}", -math.inf, math.inf, _UNBOUNDED)
            else:
                report_range(f"{self.name}.{nm}", _down(rng[0]), _up(rng[1]))
        # the probe of 'out' records the last register (before the output cast)
        out_lo, out_hi = _down(olo), _up(ohi)
        report_range(f"{self.name}.out", out_lo, out_hi)
        Tout = self._output_type(Tin, secs)
        if Tout is Tl or Tout == Tl:
            return out_lo, out_hi
        qlo, qhi = cast_pairs(np.array([out_lo]), np.array([out_hi]), Tout, self.rounding,
                              self.overflow)
        return float(qlo[0]), float(qhi[0])

    def _pruning_error(self, Tin: numerictype) -> tuple[Fraction, Fraction]:
        """Bounds of the output's deviation from the exact filter caused by the stages'
        truncations (none without pruning)."""
        return Fraction(0), Fraction(0)

    def _double_interval(self, lo: float, hi: float) -> tuple[float, float]:
        """Report the ranges of a double run on inputs in ``[lo, hi]``; return the output's
        bounds. They hold the float64 values of the double kernels: the output is the exact
        worst case rounded outward, or the kernel's own float sum at the worst-case inputs
        where rounding puts it beyond (every float operation is monotone in each operand, and
        the CIC taps are nonnegative, so the kernel's extremes are its values at the extreme
        inputs, summed in the kernel's order)."""
        flo, fhi = Fraction(lo), Fraction(hi)
        for nm, rng in zip(self.section_names, self._double_section_ranges(lo, hi, flo, fhi),
                           strict=True):
            if isinstance(rng, str):
                report_range(f"{self.name}.{nm}", -math.inf, math.inf, rng)
            else:
                report_range(f"{self.name}.{nm}", rng[0], rng[1])
        elo, ehi = self._output_range(flo, fhi)
        flo_k, fhi_k = self._float_output_range(lo, hi)
        olo, ohi = min(_down(elo), flo_k), max(_up(ehi), fhi_k)
        report_range(f"{self.name}.out", olo, ohi)
        return olo, ohi

    def _double_section_ranges(self, lo, hi, flo, fhi):  # pragma: no cover - abstract
        raise NotImplementedError

    def _float_output_range(self, lo: float, hi: float) -> tuple[float, float]:
        raise NotImplementedError  # pragma: no cover - abstract

    def worst_case_output_range(self, lo, hi) -> tuple[float, float]:
        """Exact bounds of the output (before its cast) for inputs in ``[lo, hi]``, over every
        output from reset: the extremes of ``sum_k h[k] x[n - k]`` over the outputs ``n`` the
        block produces (with partial sums while the filter fills from zeros). For
        ``lo <= 0 <= hi`` this is ``gain * [lo, hi]``.

        Parameters
        ----------
        lo, hi : float or Fraction
            Input bounds (real-world values).

        Returns
        -------
        (float, float)
        """
        flo, fhi = _as_fraction(lo), _as_fraction(hi)
        if flo > fhi:
            raise ValueError(f"{self._blk}: lo={lo} is above hi={hi}.")
        rlo, rhi = self._output_range(flo, fhi)
        return float(rlo), float(rhi)

    def _count_outputs(self, n: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _section_ranges(self, lo: Fraction, hi: Fraction):  # pragma: no cover - abstract
        raise NotImplementedError

    def _output_range(self, lo: Fraction, hi: Fraction):  # pragma: no cover - abstract
        raise NotImplementedError


# =================================================================================================
class CICDecimator(_CIC):
    """CIC decimation filter: N integrators, keep one sample in R, N combs of delay M.

    Parameters
    ----------
    decimation_factor : int
        R.
    differential_delay : int
        M (the combs subtract the sample M low-rate samples back). Default 1.
    num_sections : int
        N. Default 2 (as MATLAB's ``dsp.CICDecimator``).
    name : str
        Block name: the signals are ``"<name>.integrator1"`` ... ``integratorN``, ``comb1`` ...
        ``combN`` (the stage registers), ``in`` (when *input_type* asks for a cast) and
        ``out``.
    input_type : numerictype or str, optional
        Cast the input to this type first (default: the input fi's own type, fixed by the
        first call).
    output_type : numerictype or str, optional
        Output type (default: full precision, the last comb register).
    output_word_length : int, optional
        Output word length with the full-precision most significant bit (MATLAB's
        ``OutputWordLength``): the output type is ``sfix(Wout, Fin - (Wreg - Wout))``. Not
        together with *output_type*.
    pruning : bool, optional
        Hogenauer pruning: every stage discards (floor) the least significant bits that
        Hogenauer's 1981 variance rule allows for the output LSB (see Notes). Default: True
        when *output_word_length* is given, else False. Needs an output type or word length.
    phase : int
        Which input sample of every R is kept: outputs are the filtered samples
        ``n = phase, phase + R, ...`` from reset (0 <= phase < R; default 0, as
        ``scipy.signal.upfirdn`` and MATLAB's ``downsample``).
    rounding, overflow : str
        Modes of the output cast (and of the input cast). Default ``'floor'`` and ``'wrap'``,
        MATLAB's CIC modes. The stage registers always truncate (pruning) and wrap.
    types : TypeTable, optional
        Types of ``<name>.in`` and ``<name>.out`` (the explicit arguments win); a table whose
        entries for this block are all ``'double'`` runs the block in double. Entries for the
        stage registers are not used: their types follow from the growth rule (and pruning),
        since all registers of a CIC must share their most significant bit.

    Notes
    -----
    *Register growth* (Hogenauer): with an input of ``Win`` bits (``Win + 1`` for an unsigned
    input: the registers are signed) every register has ``Wreg = Win + ceil(N log2(R M))``
    bits and the input's fraction length. The registers wrap (two's complement, modulo
    ``2**Wreg``); the integrators overflow all the time, but the filter is linear with integer
    coefficients and its output fits in ``Wreg`` bits, so the output is exact.

    *Pruning*: with ``B_out = Fin - Fout`` bits discarded at the output, stage ``j`` (1..N
    integrators, N+1..2N combs) discards ``B_j = floor(B_out - log2(F_j) - log2(2N) / 2)``
    bits, where ``F_j**2`` is the sum of the squared impulse response from stage ``j`` to the
    output, so that each of the 2N truncation noises adds at most ``1/(2N)`` of the output
    truncation's variance. ``B_j`` is clamped to ``[0, Wreg - 1]`` and made non-decreasing
    along the chain (bits discarded once are not brought back). Stage ``j`` then has
    ``Wreg - B_j`` bits and fraction length ``Fin - B_j``.

    *Double mode*: the equivalent FIR ``h = boxcar(R M)**N`` (exact integers) applied with
    ``scipy.signal.upfirdn(h, x, down=R)`` semantics, summed per output in a fixed order so a
    stream split into frames gives bit-identical results; the integrators are not run in
    float (their round-off would grow without bound).

    *Streaming*: the registers, the comb delay lines and the decimation phase carry over
    between calls; frames may have any length.

    Examples
    --------
    >>> from fixsim import fi
    >>> from fixsim.signal import CICDecimator
    >>> cic = CICDecimator(4, 1, 2)
    >>> y = cic(fi([1.0] * 12, 1, 8, 6))
    >>> str(y.numerictype)
    'sfix12_En6'
    >>> y.data
    array([ 1., 13., 16.])
    """

    _kind = "decimator"

    def __init__(self, decimation_factor: int, differential_delay: int = 1,
                 num_sections: int = 2, *, name: str = "cic", input_type: TypeLike = None,
                 output_type: TypeLike = None, output_word_length: int | None = None,
                 pruning: bool | None = None, phase: int = 0,
                 rounding: str | Rounding = "floor", overflow: str | Overflow = "wrap",
                 types: TypeTable | None = None) -> None:
        super().__init__(decimation_factor, differential_delay, num_sections, name=name,
                         input_type=input_type, output_type=output_type, rounding=rounding,
                         overflow=overflow, types=types)
        blk = self._blk
        if output_word_length is not None:
            if self.output_type_arg is not None:
                raise ValueError(f"{blk}: give output_type or output_word_length, not both.")
            output_word_length = _positive_int(output_word_length, "output_word_length", blk)
        self.output_word_length = output_word_length
        if pruning is None:
            pruning = output_word_length is not None
        if not isinstance(pruning, bool):
            raise ValueError(f"{blk}: pruning must be True or False, got {pruning!r}.")
        if pruning and output_word_length is None and self.output_type_arg is None:
            raise ValueError(f"{blk}: pruning=True needs the output LSB: give output_type or "
                             "output_word_length.")
        self.pruning = pruning
        if isinstance(phase, bool) or not isinstance(phase, int | np.integer) or \
                not 0 <= phase < self.R:
            raise ValueError(f"{blk}: phase must be an integer in [0, {self.R - 1}] "
                             f"(R={self.R}), got {phase!r}.")
        self.phase = int(phase)
        self.reset()

    # -- types ----------------------------------------------------------------------------------
    def register_word_length(self, input_type: TypeLike = None) -> int:
        """``Wreg = width(input) + ceil(N log2(R M))`` (Hogenauer's growth)."""
        Tin = self._input_type_for(input_type)
        return width(Tin) + _bits_for((self.R * self.M) ** self.N)

    def _output_type(self, Tin: numerictype, sections: list[numerictype]) -> numerictype:
        if self.output_type_arg is not None:
            return self.output_type_arg
        Wreg = width(Tin) + _bits_for((self.R * self.M) ** self.N)
        if self.output_word_length is not None:
            Wout = self.output_word_length
            return numerictype(True, Wout, Tin.fraction_length - (Wreg - Wout))
        return sections[-1]

    def pruned_bits(self, input_type: TypeLike = None) -> list[int]:
        """Bits ``B_j`` discarded by each stage (Hogenauer pruning; zeros without pruning)."""
        Tin = self._input_type_for(input_type)
        return self._pruned_bits(Tin)

    def _pruned_bits(self, Tin: numerictype) -> list[int]:
        cache = self.__dict__.setdefault("_bits_cache", {})
        if Tin not in cache:
            cache[Tin] = self._hogenauer_bits(Tin)
        return list(cache[Tin])

    def _hogenauer_bits(self, Tin: numerictype) -> list[int]:
        N = self.N
        if not self.pruning:
            return [0] * (2 * N)
        Wreg = width(Tin) + _bits_for((self.R * self.M) ** N)
        if self.output_type_arg is not None:
            b_out = Tin.fraction_length - self.output_type_arg.fraction_length
        else:
            b_out = Wreg - self.output_word_length
        RM = self.R * self.M
        bits = []
        for j in range(1, 2 * N + 1):
            if j <= N:
                # stage j to the output: (1 - z**-RM)**N / (1 - z**-1)**(N - j + 1)
                h = _ratio(RM, N, N - j + 1)
            else:
                h = [math.comb(2 * N + 1 - j, k) for k in range(2 * N + 2 - j)]
            f2 = sum(c * c for c in h)
            # B_j = floor(b_out - log2(2 N F_j^2) / 2) = b_out - t, t the least integer with
            # 4**t >= 2 N F_j^2
            t = ((2 * N * f2 - 1).bit_length() + 1) // 2
            bits.append(b_out - t)
        out, prev = [], 0
        for b in bits:
            prev = min(max(b, prev, 0), Wreg - 1)
            out.append(prev)
        return out

    def _section_types(self, Tin: numerictype) -> list[numerictype]:
        Wreg = width(Tin) + _bits_for((self.R * self.M) ** self.N)
        F = Tin.fraction_length
        return [numerictype(True, Wreg - b, F - b) for b in self._pruned_bits(Tin)]

    # -- state ----------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._complex = False
        self._imag: _CIC | None = None
        N, M = self.N, self.M
        self._integ = np.zeros(N, dtype=np.int64)
        self._comb = np.zeros((N, M), dtype=np.int64)
        self._st = np.array([self.phase, 0], dtype=np.int64)
        L = len(self.impulse_response)
        self._h = np.array(self.impulse_response, dtype=np.float64)
        self._zi = np.zeros(L - 1, dtype=np.float64)
        self._cnt = self.phase
        self._integ_f = np.zeros(N)
        self._comb_f = np.zeros((N, M))
        self._st_f = np.array([self.phase, 0], dtype=np.int64)

    def _count_outputs(self, n: int) -> int:
        c = int(self._st[0]) if self._mode == "fixed" else self._cnt
        return 0 if c >= n else (n - 1 - c) // self.R + 1

    # -- filtering ------------------------------------------------------------------------------
    def _filt_fixed(self, x: fi) -> fi:
        ints = self._fixed_input(x)
        n = ints.size
        n_out = self._count_outputs(n)
        N = self.N
        last = np.empty(n_out, dtype=np.int64)
        recording = signals_active()
        rec_i = np.empty((N, n) if recording else (0, 0), dtype=np.int64)
        rec_c = np.empty((N, n_out) if recording else (0, 0), dtype=np.int64)
        b = self._pruned_bits(self._tin)
        sh = np.array([b[0]] + [b[j] - b[j - 1] for j in range(1, 2 * N)], dtype=np.int64)
        if self._wide:
            last, rec_i, rec_c = self._decimate_py(ints, [int(v) for v in sh], recording)
        elif not recording and N <= 8:
            # the same arithmetic with the integrators in registers (see the kernel)
            _kc.cic_decimate_fast(N, any(b))(ints, self.R, sh, int(self._ext[-1]),
                                             self._integ, self._comb, self._st, last)
        else:
            _kc.cic_decimate(ints, self.R, sh, self._ext, self._integ, self._comb, self._st,
                             last, rec_i, rec_c)
        out, counts = self._cast_out(last)
        if recording:
            rec = {f"integrator{j + 1}": rec_i[j] for j in range(N)}
            rec.update({f"comb{j + 1}": rec_c[j] for j in range(N)})
            self._emit_fixed(rec, last, out, counts)
        return make_fi(out, self._tout)

    def _decimate_py(self, ints, sh: list[int], recording: bool):
        """The decimator on Python ints, every register wrapped to its width (registers
        wider than 64 bits)."""
        N, M, R = self.N, self.M, self.R
        W = [T.word_length for T in self._secs]
        integ, comb = self._integ_py, self._comb_py
        cnt, pos = int(self._st[0]), int(self._st[1])
        last: list[int] = []
        rec_i: list[list[int]] = [[] for _ in range(N)]
        rec_c: list[list[int]] = [[] for _ in range(N)]
        for xv in ints:
            v = int(xv)
            for j in range(N):
                v = _wrap(integ[j] + (v >> sh[j]), W[j])
                integ[j] = v
                if recording:
                    rec_i[j].append(v)
            if cnt == 0:
                for j in range(N):
                    u = _wrap(v >> sh[N + j], W[N + j])
                    v = _wrap(u - comb[j][pos], W[N + j])
                    comb[j][pos] = u
                    if recording:
                        rec_c[j].append(v)
                pos = (pos + 1) % M
                last.append(v)
                cnt = R - 1
            else:
                cnt -= 1
        self._st[0], self._st[1] = cnt, pos
        obj = lambda rows: [np.array(r, dtype=object) for r in rows]  # noqa: E731
        return np.array(last, dtype=object), obj(rec_i), obj(rec_c)

    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        n = xv.size
        c = self._cnt
        n_out = 0 if c >= n else (n - 1 - c) // self.R + 1
        ext = np.concatenate([self._zi, xv])
        y = np.empty(n_out)
        _kc.fir_decimate_f64(ext, self._h, self.R, c, y)
        L = self._h.size
        if L > 1:
            self._zi = ext[-(L - 1):].copy()
        self._cnt = c + n_out * self.R - n if n_out else c - n
        recording = signals_active()
        N = self.N
        rec_i = np.empty((N, n) if recording else (0, 0))
        rec_c = np.empty((N, n_out) if recording else (0, 0))
        _kc.cic_decimate_f64_stages(xv, self.R, self._integ_f, self._comb_f, self._st_f, rec_i,
                                    rec_c)
        if recording:
            secs, Tout = self._known_types()
            if self.input_type is not None:
                probe(f"{self.name}.in", xv, xv, self.input_type, "double")
            names = self.section_names
            rows = [rec_i[j] for j in range(N)] + [rec_c[j] for j in range(N)]
            for k, (nm, row) in enumerate(zip(names, rows, strict=True)):
                probe(f"{self.name}.{nm}", row, row, secs[k] if secs else None, "double")
            probe(f"{self.name}.out", y, y, Tout, "double")
        return y

    # -- analysis -------------------------------------------------------------------------------
    def _output_range(self, lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
        return _fir_range(self.impulse_response, 1, lo, hi, (self.phase, self.R))

    def _section_ranges(self, lo: Fraction, hi: Fraction):
        out = [None] * (2 * self.N)
        out[-1] = self._output_range(lo, hi)
        return out

    def _pruning_error(self, Tin: numerictype) -> tuple[Fraction, Fraction]:
        """Stage ``k`` (data-flow order) floors its input by ``sh_k`` bits, an error in
        ``[-(2**b_k - 2**b_(k-1)) 2**-F, 0]`` (``b`` the cumulative pruned bits, ``F`` the input
        fraction length) that reaches the output through the rest of the chain: the
        integrators ``k..N`` and the N combs (``(1 - z**-RM)**N / (1 - z**-1)**(N - k)`` at the
        fast rate), or the combs ``k..2N`` at the slow rate. Each error's worst case takes the
        sums of the positive and of the negative taps."""
        b = self._pruned_bits(Tin)
        N, M, RM = self.N, self.M, self.R * self.M
        lo = hi = Fraction(0)
        prev = 0
        for k in range(2 * N):
            if b[k] == prev:
                continue
            E = Fraction(2 ** b[k] - 2 ** prev) / Fraction(2) ** Tin.fraction_length
            prev = b[k]
            h = _ratio(RM, N, N - k) if k < N else _ratio(M, 2 * N - k, 0)
            lo -= E * sum(c for c in h if c > 0)
            hi -= E * sum(c for c in h if c < 0)
        return lo, hi

    def _double_section_ranges(self, lo, hi, flo, fhi):
        # every register accumulates in float: the integrators and all combs but the last
        # grow without bound anyway, and the last comb (the difference of float integrators)
        # carries their growing round-off
        N = self.N
        return [_FLOAT_UNBOUNDED] * (2 * N - 1) + [_FLOAT_DRIFT]

    def _float_output_range(self, lo: float, hi: float) -> tuple[float, float]:
        return _float_fir_range(self._h, 1, lo, hi, (self.phase, self.R))

    def __repr__(self) -> str:
        return (f"CICDecimator(R={self.R}, M={self.M}, N={self.N}, name={self.name!r}, "
                f"pruning={self.pruning}, phase={self.phase})")


# =================================================================================================
class CICInterpolator(_CIC):
    """CIC interpolation filter: N combs of delay M, R - 1 zeros after every sample, N
    integrators.

    Parameters
    ----------
    interpolation_factor : int
        R.
    differential_delay : int
        M. Default 1.
    num_sections : int
        N. Default 2.
    name : str
        Block name: signals ``"<name>.comb1"`` ... ``combN``, ``integrator1`` ...
        ``integratorN``, ``in`` (when *input_type* asks for a cast) and ``out``.
    input_type, output_type : numerictype or str, optional
        Input cast (default: the input fi's type) and output type (default: full precision,
        the last integrator register).
    rounding, overflow : str
        Modes of the output and input casts (default ``'floor'``, ``'wrap'``).
    types : TypeTable, optional
        Types of ``<name>.in`` and ``<name>.out``; all ``'double'`` runs the block in double.
        Entries for the stage registers are not used (their types follow from the growth
        rule).

    Notes
    -----
    *Register growth* (Hogenauer): stage ``j`` (combs ``j = 1..N``, then integrators
    ``j = N+1..2N``) has gain at most ``G_j = 2**j`` (combs) and
    ``G_j = 2**(2N - j) (R M)**(j - N) / R`` (integrators), and a register of
    ``Win + ceil(log2 G_j)`` bits at the input's fraction length (``Win + 1`` for unsigned
    input). No register can overflow, so wrap arithmetic is exact. The full-precision output
    has ``Win + ceil(log2((R M)**N / R))`` bits; the DC gain is ``(R M)**N / R``.

    *Double mode*: ``scipy.signal.upfirdn(boxcar(R M)**N, x, up=R)`` (the first ``R len(x)``
    samples), summed per output in a fixed order (frame splits give identical results).
    """

    _kind = "interpolator"

    def __init__(self, interpolation_factor: int, differential_delay: int = 1,
                 num_sections: int = 2, *, name: str = "cic", input_type: TypeLike = None,
                 output_type: TypeLike = None, rounding: str | Rounding = "floor",
                 overflow: str | Overflow = "wrap", types: TypeTable | None = None) -> None:
        super().__init__(interpolation_factor, differential_delay, num_sections, name=name,
                         input_type=input_type, output_type=output_type, rounding=rounding,
                         overflow=overflow, types=types)
        self.reset()

    def _section_types(self, Tin: numerictype) -> list[numerictype]:
        N, R, RM = self.N, self.R, self.R * self.M
        Win, F = width(Tin), Tin.fraction_length
        out = [numerictype(True, Win + j, F) for j in range(1, N + 1)]
        for j in range(N + 1, 2 * N + 1):
            g = _bits_for((1 << (2 * N - j)) * RM ** (j - N), R)
            out.append(numerictype(True, Win + g, F))
        return out

    def _reset_state(self) -> None:
        self._complex = False
        self._imag: _CIC | None = None
        N, M, R = self.N, self.M, self.R
        self._integ = np.zeros(N, dtype=np.int64)
        self._comb = np.zeros((N, M), dtype=np.int64)
        self._st = np.zeros(1, dtype=np.int64)
        self._h = np.array(self.impulse_response, dtype=np.float64)
        self._J = -(-self._h.size // R)
        self._zi = np.zeros(self._J - 1)
        self._integ_f = np.zeros(N)
        self._comb_f = np.zeros((N, M))
        self._st_f = np.zeros(1, dtype=np.int64)

    def _count_outputs(self, n: int) -> int:
        return n * self.R

    def _filt_fixed(self, x: fi) -> fi:
        ints = self._fixed_input(x)
        n = ints.size
        N, R = self.N, self.R
        last = np.empty(n * R, dtype=np.int64)
        recording = signals_active()
        rec_c = np.empty((N, n) if recording else (0, 0), dtype=np.int64)
        rec_i = np.empty((N, n * R) if recording else (0, 0), dtype=np.int64)
        if self._wide:
            last, rec_c, rec_i = self._interpolate_py(ints, recording)
        else:
            _kc.cic_interpolate(ints, R, self._integ, self._comb, self._st, last, rec_c,
                                rec_i)
        out, counts = self._cast_out(last)
        if recording:
            rec = {f"comb{j + 1}": rec_c[j] for j in range(N)}
            rec.update({f"integrator{j + 1}": rec_i[j] for j in range(N)})
            self._emit_fixed(rec, last, out, counts)
        return make_fi(out, self._tout)

    def _interpolate_py(self, ints, recording: bool):
        """The interpolator on Python ints, every register wrapped to its width (registers
        wider than 64 bits; none of them can overflow)."""
        N, M, R = self.N, self.M, self.R
        W = [T.word_length for T in self._secs]
        integ, comb = self._integ_py, self._comb_py
        pos = int(self._st[0])
        last: list[int] = []
        rec_c: list[list[int]] = [[] for _ in range(N)]
        rec_i: list[list[int]] = [[] for _ in range(N)]
        for xv in ints:
            v = int(xv)
            for j in range(N):
                u = v
                v = _wrap(u - comb[j][pos], W[j])
                comb[j][pos] = u
                if recording:
                    rec_c[j].append(v)
            pos = (pos + 1) % M
            for r in range(R):
                u = v if r == 0 else 0
                for j in range(N):
                    u = _wrap(integ[j] + u, W[N + j])
                    integ[j] = u
                    if recording:
                        rec_i[j].append(u)
                last.append(u)
        self._st[0] = pos
        obj = lambda rows: [np.array(r, dtype=object) for r in rows]  # noqa: E731
        return np.array(last, dtype=object), obj(rec_c), obj(rec_i)

    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        n = xv.size
        R, N, J = self.R, self.N, self._J
        ext = np.concatenate([self._zi, xv])
        y = np.empty(n * R)
        _kc.fir_interpolate_f64(ext, self._h, R, J, y)
        if J > 1:
            self._zi = ext[-(J - 1):].copy()
        recording = signals_active()
        rec_c = np.empty((N, n) if recording else (0, 0))
        rec_i = np.empty((N, n * R) if recording else (0, 0))
        _kc.cic_interpolate_f64_stages(xv, R, self._integ_f, self._comb_f, self._st_f, rec_c,
                                       rec_i)
        if recording:
            secs, Tout = self._known_types()
            if self.input_type is not None:
                probe(f"{self.name}.in", xv, xv, self.input_type, "double")
            rows = [rec_c[j] for j in range(N)] + [rec_i[j] for j in range(N)]
            for k, (nm, row) in enumerate(zip(self.section_names, rows, strict=True)):
                probe(f"{self.name}.{nm}", row, row, secs[k] if secs else None, "double")
            probe(f"{self.name}.out", y, y, Tout, "double")
        return y

    # -- analysis -------------------------------------------------------------------------------
    def _stage_response(self, k: int) -> tuple[list[int], int]:
        """Exact impulse response from the input to stage *k* (0-based, data-flow order) and
        the up-sampling factor it sees (1 for the combs, R for the integrators)."""
        N, M, RM = self.N, self.M, self.R * self.M
        if k < N:
            return _ratio(M, k + 1, 0), 1
        return _ratio(RM, N, k - N + 1), self.R

    def _section_ranges(self, lo: Fraction, hi: Fraction):
        out = []
        for k in range(2 * self.N):
            h, up = self._stage_response(k)
            out.append(_fir_range(h, up, lo, hi))
        return out

    def _output_range(self, lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
        return _fir_range(self.impulse_response, self.R, lo, hi)

    def _double_section_ranges(self, lo, hi, flo, fhi):
        """The combs subtract in float64: their values lie in the exact range widened by the
        accumulated round-off ``E_j = 2 E_(j-1) + u (B_j + 2 E_(j-1))`` (``B_j`` the exact bound
        of ``|comb j|``, ``u = 2**-53``), and in the float interval ``[fl(a - b), fl(A - B)]``
        of the previous comb's bounds (a float subtraction is monotone in each operand); the
        tighter of the two. The integrators accumulate their round-off with the stream's
        length (unbounded)."""
        N = self.N
        out: list = []
        E = Fraction(0)
        plo, phi = lo, hi
        for k in range(N):
            h, up = self._stage_response(k)
            elo, ehi = _fir_range(h, up, flo, fhi)
            B = max(abs(elo), abs(ehi))
            E = 2 * E + _U * (B + 2 * E)
            # the comb starts from zeros (u - 0.0 = u), then subtracts a past value
            qlo, qhi = min(plo, plo - phi), max(phi, phi - plo)
            rlo, rhi = max(_down(elo - E), qlo), min(_up(ehi + E), qhi)
            out.append((rlo, rhi))
            plo, phi = rlo, rhi
        return out + [_FLOAT_DRIFT] * N

    def _float_output_range(self, lo: float, hi: float) -> tuple[float, float]:
        return _float_fir_range(self._h, self.R, lo, hi)

    def __repr__(self) -> str:
        return f"CICInterpolator(R={self.R}, M={self.M}, N={self.N}, name={self.name!r})"
