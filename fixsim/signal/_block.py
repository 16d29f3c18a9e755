"""What the blocks share: type arguments, named casts, input classification, and the
``Block`` base class (a name, streaming state, double or fixed mode)."""

from __future__ import annotations

import contextlib
import copy
import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from .._core import _probe
from .._core._convert import short_repr
from .._core._fi import fi
from .._core._interval import Interval, report_range
from .._core._interval_fi import typed_like_run  # noqa: F401 - the blocks' name for it
from .._core._modes import Overflow, Rounding, parse_overflow, parse_rounding
from .._core._numerictype import numerictype
from .._core._quantize import requantize, requantize_combined
from .._core._typetable import (
    DOUBLE,
    INHERIT,
    TypeTable,
    emit_signal,
    signals_active,
)
from .._kernels import _fastq as _fq

TypeLike = numerictype | str | None


# -- helpers ----------------------------------------------------------------
def as_type(value: TypeLike, argument: str, block: str) -> numerictype | None:
    """A numerictype from a numerictype, a type name or None."""
    if value is None or isinstance(value, numerictype):
        return value
    if isinstance(value, str):
        try:
            return numerictype.parse(value)
        except ValueError as exc:  # name the block and the argument (regression: bare parse)
            raise ValueError(f"{block}: {argument}={value!r}: {exc}") from None
    raise TypeError(f"{block}: {argument} must be a numerictype or a type name such as "
                    f"'sfix16_En12', got {type(value).__name__} {value!r}.")


def block_name(name, blk: str) -> str:
    """*name* checked: a non-empty string without surrounding spaces (its signals are
    ``"<name>.<signal>"``; regression: ``name=''`` was accepted by the filter blocks and
    recorded signals such as ``'.coef'``, which a TypeTable refuses)."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"{blk}: name must be a non-empty string without surrounding spaces, "
                         f"got {name!r}.")
    return name


def holds_numbers(arr: np.ndarray, complex_ok: bool = False) -> bool:
    """Whether *arr* holds numbers: a bool, integer or float (or, with *complex_ok*, complex)
    dtype, or a non-empty object array of real (complex) numbers, such as Python ints beyond
    int64 or Fractions. None and strings do not (regression: None became a NaN sample)."""
    if arr.dtype.kind in ("biufc" if complex_ok else "biuf"):
        return True
    kind = numbers.Number if complex_ok else numbers.Real
    return arr.dtype.kind == "O" and arr.size > 0 and all(isinstance(v, kind)
                                                          for v in arr.reshape(-1))


def real_array(value, argument: str, blk: str) -> np.ndarray:
    """*value* (a number or array_like of real numbers) as a float64 array; a TypeError
    naming the argument otherwise (regression: strings, None and complex numbers met numpy's
    or float()'s bare conversion errors)."""
    try:
        arr = np.asarray(value)
        if holds_numbers(arr):
            return arr.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        pass
    raise TypeError(f"{blk}: {argument} must be real numbers, got {type(value).__name__} "
                    f"{short_repr(value)}.")


def exact_bounds(lo, hi, blk: str) -> tuple[Fraction, Fraction]:
    """``(Fraction(lo), Fraction(hi))`` of a range given to ``worst_case_output_range``:
    finite real numbers with ``lo <= hi``, else a ValueError naming the block and the values
    (regression: NaN and strings met Fraction's bare errors)."""
    out = []
    for arg, v in (("lo", lo), ("hi", hi)):
        try:
            f = v if isinstance(v, Fraction) else Fraction(v)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{blk}: {arg}={v!r} is not valid; valid: a finite real "
                             "number.") from None
        out.append(f)
    if out[0] > out[1]:
        raise ValueError(f"{blk}: lo={lo} is above hi={hi}.")
    return out[0], out[1]


def check_table(types, blk: str):
    """*types* checked: a TypeTable or None (regression: a dict met an AttributeError)."""
    if types is None or isinstance(types, TypeTable):
        return types
    raise TypeError(f"{blk}: types must be a fixsim.TypeTable or None, got "
                    f"{type(types).__name__} {short_repr(types)}.")


def width(T: numerictype) -> int:
    """Bits a two's complement integer needs to hold every stored integer of *T*."""
    return T.word_length + (0 if T.signed else 1)


def block_modes(rounding, overflow, block: str) -> tuple[Rounding, Overflow]:
    """Parse the block's cast modes (stochastic rounding is not supported by the blocks)."""
    r = parse_rounding(rounding, where=block)
    o = parse_overflow(overflow, where=block)
    if r == Rounding.STOCHASTIC:
        raise ValueError(f"{block}: rounding='stochastic' is not supported by the filter "
                         "blocks; choose a deterministic rounding mode.")
    return r, o


def check_wrap_sm(T: numerictype, overflow: Overflow, what: str, block: str) -> None:
    """``wrap_sm`` is defined for signed types only."""
    if overflow == Overflow.WRAP_SM and not T.signed:
        raise ValueError(f"{block}: overflow='wrap_sm' needs signed types, and the {what} type "
                         f"{T} is unsigned.")


def named_cast(ints: np.ndarray, src: numerictype, dst: numerictype, rounding: Rounding,
               overflow: Overflow, probe: str) -> np.ndarray:
    """Requantize stored integers of *src* into *dst*, as the quantization named *probe*."""
    with _probe.probe_name(probe):
        out, n_ovf, n_unf = requantize(ints, src, dst, rounding, overflow, None, probe)
        _probe.report(dst, ints.size, n_ovf, n_unf, "cast")
    return out


def cast_counted(ints: np.ndarray, src: numerictype, dst: numerictype, rounding: Rounding,
                 overflow: Overflow, signal: str,
                 exact: bool = False) -> tuple[np.ndarray, int, int]:
    """Requantize stored integers of *src* into *dst* as the cast named *signal*.

    Returns ``(ints, overflows, underflows)``; the counts are exact whenever anyone listens
    (quantization listeners or the fixed-point tool's signal probes), and are reported to the
    quantization probe. *exact*: *dst* is a full-precision type that holds every value, so
    nothing is quantized and no overflow mode applies (``sat_sym`` does not move a
    full-precision result that equals the type's minimum); only the storage is converted.
    """
    if exact:
        rounding, overflow = Rounding.FLOOR, Overflow.WRAP
    with _counted(signal):
        out, n_ovf, n_unf = requantize(ints, src, dst, rounding, overflow, None, signal)
        _probe.report(dst, ints.size, n_ovf, n_unf, "cast")
    return out, int(n_ovf), int(n_unf)


@contextlib.contextmanager
def _counted(signal: str):
    """The cast named *signal* counts its overflows and underflows whenever anyone listens:
    a quantization listener, or (through a listener that ignores them) the tool's probes."""
    force = signals_active() and not _probe.active()
    with (_probe.listening(_ignore) if force else contextlib.nullcontext()), \
            _probe.probe_name(signal):
        yield


def cast_product_counted(a: np.ndarray, b: np.ndarray, src: numerictype, dst: numerictype,
                         rounding: Rounding, overflow: Overflow, signal: str,
                         exact: bool = False) -> tuple[np.ndarray, int, int] | None:
    """:func:`cast_counted` of the products ``a * b`` (int64 stored integers whose products the
    caller knows fit int64; *b* of *a*'s size or one element, *src* the products' type) in one
    fused pass, without building the products; None where that pass does not apply (then
    build the products and call :func:`cast_counted`)."""
    return cast_combined_counted(a, b, _fq.MUL, 0, 0, src, dst, rounding, overflow, signal,
                                 exact)


def cast_combined_counted(a: np.ndarray, b: np.ndarray, op: int, ka: int, kb: int,
                          src: numerictype, dst: numerictype, rounding: Rounding,
                          overflow: Overflow, signal: str,
                          exact: bool = False) -> tuple[np.ndarray, int, int] | None:
    """:func:`cast_product_counted` for any operation of
    :func:`fixsim._kernels._fastq.combine_kernel` (``a * b``, ``a 2**ka + b 2**kb``,
    ``a 2**ka - b 2**kb``; *src* the combined values' type)."""
    if exact:
        rounding, overflow = Rounding.FLOOR, Overflow.WRAP
    with _counted(signal):
        res = requantize_combined(a, b, op, ka, kb, src.fraction_length, dst, rounding,
                                  overflow, signal)
        if res is None:
            return None
        out, n_ovf, n_unf = res
        _probe.report(dst, a.size, n_ovf, n_unf, "cast")
    return out, int(n_ovf), int(n_unf)


def cast_changes(src: numerictype, dst: numerictype, overflow: Overflow) -> bool:
    """Whether casting stored integers of *src* into *dst* under *overflow* can change them: a
    cast into the same type is the identity, except under ``sat_sym``, which moves the most
    negative value to ``-max``."""
    return src != dst or overflow == Overflow.SAT_SYM


def _ignore(event) -> None:
    """A quantization listener that only makes the kernels count."""


def report(probe: str, T: numerictype, size: int, overflows: int = 0,
           underflows: int = 0) -> None:
    """Report the counts of a quantization done elsewhere (a kernel), named *probe*."""
    with _probe.probe_name(probe):
        _probe.report(T, size, overflows, underflows, "cast")


def quantize_values(values, T: numerictype | None, rounding: Rounding, overflow: Overflow,
                    probe: str) -> tuple[fi, tuple[int, int, int]]:
    """Quantize coefficients into *T* (default: signed 16-bit, best precision, as MATLAB).

    A fi with no *T* keeps its type. Returns the fi (no local fimath) and the counts
    ``(size, overflows, underflows)`` of the quantization, to report on every call.
    """
    events: list[_probe.QuantizationEvent] = []
    with _probe.listening(events.append), _probe.probe_name(probe):
        if isinstance(values, fi):
            q = values if T is None else values.cast(T, rounding, overflow)
        else:
            arr = np.asarray(values, dtype=np.float64)
            if T is None:
                q = fi(arr, 1, 16, rounding=rounding, overflow=overflow)
            else:
                q = fi(arr, T, rounding=rounding, overflow=overflow)
    q = q.removefimath()
    counts = (q.size, sum(e.overflows for e in events), sum(e.underflows for e in events))
    return q, counts


def fi_stored(a: fi) -> np.ndarray:
    """The stored integers of *a* (the array itself, not a copy)."""
    return a._int


def fraction_values(ints: np.ndarray, F: int) -> list[Fraction]:
    """Exact values of stored integers at fraction length *F*."""
    scale = Fraction(2) ** -F
    return [Fraction(int(v)) * scale for v in np.ravel(ints)]


def signal_kind(x, block: str) -> tuple[str, Any]:
    """``('fixed', fi)`` for a fi, ``('double', float64 1-D array)`` for anything else."""
    if isinstance(x, fi):
        if x.ndim != 1:
            if x.ndim == 0:
                return "fixed", x.reshape(1)
            raise ValueError(f"{block}: the input must be 1-D (got shape {x.shape}).")
        return "fixed", x
    arr = np.asarray(x)
    if np.iscomplexobj(arr):
        raise TypeError(f"{block}: complex input is not supported yet.")
    if not holds_numbers(arr):
        # regression: None became a NaN sample (np.asarray(None).astype(float)), and strings
        # met numpy's bare conversion error
        raise TypeError(f"{block}: the input must be a fi or real numbers (a float or integer "
                        f"array), got {type(x).__name__} {short_repr(x)}.")
    arr = np.atleast_1d(arr.astype(np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{block}: the input must be 1-D (got shape {arr.shape}).")
    return "double", arr


def holds(T: numerictype, lo: int, hi: int, F: int, sat_sym: bool) -> bool:
    """Whether *T* holds every integer in ``[lo, hi]`` at fraction length *F* exactly (and,
    under ``sat_sym``, never meets its most negative value, which that mode moves)."""
    if T.fraction_length < F:
        return False
    k = T.fraction_length - F
    tmin = T.int_min + (1 if (sat_sym and T.signed) else 0)
    return tmin <= (lo << k) and (hi << k) <= T.int_max


# -- type tables and signal probes -----------------------------------------------------------------
def table_type(types: TypeTable | None, signal: str) -> numerictype | str | None:
    """The type a block's *types* table gives signal ``"<block>.<signal>"`` (full name in
    *signal*): a numerictype, ``'double'``, or None when the table is None, lacks the name, or
    says ``'inherit'`` (full precision: the block's MATLAB default)."""
    if types is None or signal not in types:
        return None
    t = types.type_of(signal)
    return None if t == INHERIT else t


def pick_type(explicit: numerictype | None, types: TypeTable | None, signal: str,
              block: str) -> numerictype | None:
    """A block's type for one signal: the explicit argument wins, then a fixed type from the
    table, else None (the block's full-precision default). A ``'double'`` entry gives None
    here; :func:`table_is_double` decides whether the block runs in double."""
    if explicit is not None:
        return explicit
    t = table_type(types, signal)
    return t if isinstance(t, numerictype) else None


def table_is_double(types: TypeTable | None, prefix: str) -> bool:
    """Whether the table sets the block's signals (``"<prefix>.*"``) to ``'double'`` (e.g.
    ``T.as_double()``): then the block runs in double mode whatever its input."""
    if types is None:
        return False
    p = prefix + "."
    own = [n for n in types.names if n.startswith(p)]
    return bool(own) and all(types.type_of(n) in (DOUBLE, INHERIT) for n in own) and \
        any(types.type_of(n) == DOUBLE for n in own)


def probe(signal: str, values, output=None, T: numerictype | None = None,
          mode: str = "fixed", overflows: int = 0, underflows: int = 0, *,
          tied: tuple | None = None) -> None:
    """Report a block's internal signal to the fixed-point tool (only while it records).

    *values* is the float64 array arriving at the signal's quantization, or a zero-argument
    callable producing it (called only when someone listens, so the cost is paid only while
    recording). *mode* is ``'fixed'`` or ``'double'``. *tied*: the signals, this one among
    them, that the block casts with one type (see ``SignalEvent.tied``).
    """
    if not signals_active():
        return
    if callable(values):
        values = values()
    emit_signal(signal, values, output, T, mode, overflows, underflows, tied=tied)


def counting() -> bool:
    """Whether anyone listens for overflow/underflow counts or signal values (kernels may skip
    their tallies otherwise)."""
    return _probe.active() or signals_active()


def interval_hull(x: Interval, block: str) -> tuple[float, float]:
    """``(lo, hi)`` over every element of an Interval input (a 1-D frame)."""
    if x.ndim > 1:
        raise ValueError(f"{block}: an Interval input must be 1-D (got shape {x.shape}).")
    if x.size == 0:
        return 0.0, 0.0
    return x.hull()


def interval_type(x) -> numerictype | None:
    """The fi type an Interval stands for (a typed Interval: the output of a named cast or a
    block under ``fx.tool.derive`` with a fixed table, so the run is fixed point), else None
    (an untyped Interval: a double run, or anything that is not an Interval)."""
    return x._fi[0] if isinstance(x, Interval) and x._fi is not None else None


def range_of(name: str, lo: float, hi: float, reason: str | None = None) -> None:
    """Report the derived range of signal *name* (see ``fixsim._core._interval``)."""
    report_range(name, lo, hi, reason)


# -- the base class ------------------------------------------------------------------------------
class Block:
    """Base of the filter blocks: ``filt`` (also ``__call__``) runs a frame in double mode for
    float input and in fixed mode for fi input, keeping state across calls; ``reset`` clears it.

    Subclasses set ``self._blk`` (the block's name) and implement ``_reset_state``,
    ``_filt_double`` and ``_filt_fixed``.
    """

    _blk: str

    def reset(self) -> None:
        """Clear the state (and forget the input type and mode of previous calls)."""
        self._mode: str | None = None
        self._tin: numerictype | None = None
        self._t: dict[str, numerictype] = {}
        self._reset_state()

    def __call__(self, x):
        """Same as :meth:`filt`."""
        return self.filt(x)

    def filt(self, x):
        """Filter the next frame *x* (1-D; a fi for fixed point, else floats), keeping state.

        Returns
        -------
        fi or numpy.ndarray
            A fi of the output type in fixed mode, float64 in double mode.
        """
        if isinstance(x, Interval):
            return typed_like_run(self._fresh().filt, (x,), self._filt_interval(x))
        kind, xv = signal_kind(x, self._blk)
        if kind == "fixed" and getattr(self, "_table_double", False):
            # the type table sets every signal of the block to 'double'
            kind, xv = "double", np.asarray(xv.data, dtype=np.float64).reshape(-1)
        if self._mode is not None and kind != self._mode:
            raise ValueError(f"{self._blk}: this filter is running in {self._mode} mode; call "
                             f"reset() before feeding a {kind} signal.")
        self._mode = kind
        return self._filt_double(xv) if kind == "double" else self._filt_fixed(xv)

    def _fresh(self):
        """A reset deep copy (running it leaves this block as it is)."""
        twin = copy.deepcopy(self)
        twin.reset()
        return twin

    def _filt_interval(self, x: Interval) -> Interval:
        """Worst-case output ranges for an Interval input (blocks that support it override
        this; it reports each internal signal's range with ``report_range``)."""
        raise TypeError(f"{self._blk}: this block does not accept an Interval input yet.")

    def _reset_state(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _filt_double(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _filt_fixed(self, x: fi) -> fi:  # pragma: no cover - abstract
        raise NotImplementedError
