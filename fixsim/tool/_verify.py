"""Fixed against double, per signal: :func:`verify` and :class:`Verification`.

``verify(fn, inputs, T_fixed)`` runs ``fn(item, T)`` on every item twice, with the fixed
table and with the double one (``T_fixed.as_double()`` unless given), recording both runs, and
compares every probed signal: the values *after* each named cast in the fixed run against the
same signal in the double run (paired by name and by order of occurrence), and the values
``fn`` returns.

Per signal (a :class:`SignalVerification`):

* ``overflows``, ``underflows``: counted by the fixed run's casts (with ``overflow='saturate'``
  every overflow is a saturation);
* ``first_overflow``, ``first_underflow``: the index, in the signal's stream (all its values in
  order, across items), of the first value outside the type's range in a cast that counted
  overflows, and of the first nonzero value cast to zero (None if none);
* ``max_abs_error``, ``rms_error``: of ``e = fixed - double`` (float64 differences);
* ``sqnr_db = 10 log10(sum(double**2) / sum(e**2))``, from the exact sums of squares
  (:class:`SignalStats`), so it is the correctly rounded value of the exact ratio before the
  logarithm (inf when ``e`` is all zero);
* ``error``: the first ``max_samples`` values of ``e`` (bounded memory).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._core import _probe
from .._core._fi import fi
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import quantize_array, to_float
from .._core._typetable import SignalEvent, TypeTable, signal_listening
from ._collect import _Bar, _check_inputs, _check_int, run_item
from ._record import Recording, record
from ._stats import SignalStats, _log10

__all__ = ["verify", "Verification", "SignalVerification", "VERIFICATION_SCHEMA"]

#: The schema tag of :meth:`Verification.to_dict`.
VERIFICATION_SCHEMA = "fixsim.Verification/1"


@dataclasses.dataclass
class SignalVerification:
    """Fixed against double for one signal (see the module notes).

    Attributes
    ----------
    name : str
    numerictype : numerictype or None
        The signal's fixed type (None for an output or a ``'double'`` entry).
    count : int
        Values compared.
    overflows, underflows : int
    first_overflow, first_underflow : int or None
    max_abs_error, rms_error, sqnr_db : float
    error : numpy.ndarray
        The first ``max_samples`` errors ``fixed - double``.
    reference : SignalStats
        Statistics of the double values.
    error_stats : SignalStats
        Statistics of the errors (exact sums).
    """

    name: str
    numerictype: numerictype | None
    count: int = 0
    overflows: int = 0
    underflows: int = 0
    first_overflow: int | None = None
    first_underflow: int | None = None
    error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    reference: SignalStats = dataclasses.field(default_factory=SignalStats)
    error_stats: SignalStats = dataclasses.field(default_factory=SignalStats)

    @property
    def max_abs_error(self) -> float:
        """Largest ``|fixed - double|`` (0 when nothing was compared)."""
        m = self.error_stats.max_abs
        return 0.0 if m is None else m

    @property
    def rms_error(self) -> float:
        """Root mean square of ``fixed - double``."""
        return self.error_stats.rms if self.count else 0.0

    @property
    def sqnr_db(self) -> float:
        """``10 log10(sum(double**2) / sum((fixed - double)**2))``."""
        num = self.reference.exact_sum_squares
        den = self.error_stats.exact_sum_squares
        if den == 0:
            # no error: exact (regression: a signal zero in both runs, a dead ReLU, gave NaN
            # where the docs say inf when the error is all zero)
            return math.inf
        if num == 0:
            return -math.inf
        return 10.0 * _log10(num / den)

    def to_row(self) -> dict[str, Any]:
        """One flat row for tables and CSV."""
        return {"name": self.name,
                "numerictype": None if self.numerictype is None else str(self.numerictype),
                "count": self.count, "overflows": self.overflows,
                "underflows": self.underflows, "first_overflow": self.first_overflow,
                "first_underflow": self.first_underflow,
                "max_abs_error": self.max_abs_error, "rms_error": self.rms_error,
                "sqnr_db": self.sqnr_db}


class Verification(Mapping):
    """The result of :func:`verify`: a read-only mapping of signal name to
    :class:`SignalVerification`, in first-probed order.

    Attributes
    ----------
    outputs : dict of str to SignalVerification
        The values ``fn`` returned: ``'output'``, or ``'output[0]'``, ``'output[1]'``, ...
        for a tuple or list.
    fixed, double : Recording
        The statistics recorded in the two runs.
    types, reference_types : TypeTable
        The fixed and the double table used.
    """

    def __init__(self, signals: Mapping[str, SignalVerification],
                 outputs: Mapping[str, SignalVerification], fixed: Recording,
                 double: Recording, types: TypeTable, reference_types: TypeTable):
        self._signals = dict(signals)
        self.outputs = dict(outputs)
        self.fixed = fixed
        self.double = double
        self.types = types
        self.reference_types = reference_types

    def __getitem__(self, name: str) -> SignalVerification:
        try:
            return self._signals[name]
        except KeyError:
            raise KeyError(f"Verification has no signal {name!r}; compared: "
                           f"{', '.join(map(repr, self._signals)) or '(none)'}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._signals)

    def __len__(self) -> int:
        return len(self._signals)

    @property
    def overflows(self) -> int:
        """Overflows over all signals."""
        return sum(v.overflows for v in self._signals.values())

    @property
    def underflows(self) -> int:
        """Underflows over all signals."""
        return sum(v.underflows for v in self._signals.values())

    @property
    def output_sqnr_db(self) -> float | None:
        """The SQNR of the (first) output, None when ``fn`` returned nothing comparable."""
        return next(iter(self.outputs.values())).sqnr_db if self.outputs else None

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per signal, then per output (``kind`` says which)."""
        rows = [{"kind": "signal", **v.to_row()} for v in self._signals.values()]
        rows += [{"kind": "output", **v.to_row()} for v in self.outputs.values()]
        return rows

    def to_dict(self) -> dict:
        """A JSON-ready dict (schema ``fixsim.Verification/1``): the rows of
        :meth:`to_rows` (non-finite SQNRs as the strings ``'inf'``/``'nan'``), each signal's
        kept errors, and both recordings (``Recording.from_dict`` reads them back)."""
        def clean(row):
            return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.items()}
        every = [*self._signals.values(), *self.outputs.values()]
        return {"schema": VERIFICATION_SCHEMA, "rows": [clean(r) for r in self.to_rows()],
                "errors": {v.name: v.error.tolist() for v in every},
                "fixed": self.fixed.to_dict(), "double": self.double.to_dict()}

    def __repr__(self) -> str:
        lines = [f"Verification({len(self._signals)} signals, {self.overflows} overflows, "
                 f"{self.underflows} underflows)"]
        for v in [*self._signals.values(), *self.outputs.values()]:
            lines.append(f"  {v.name}: sqnr {v.sqnr_db:.2f} dB, max|err| "
                         f"{v.max_abs_error:.3g}, overflows {v.overflows}")
        return "\n".join(lines)


class _Capture:
    """Signal listener keeping each event's compared values, by name and in order."""

    def __init__(self):
        self.events: dict[str, list[SignalEvent]] = {}

    def __call__(self, event: SignalEvent) -> None:
        self.events.setdefault(event.name, []).append(event)


def _as_values(obj) -> np.ndarray | None:
    if obj is None:
        return None
    if isinstance(obj, fi):
        return np.asarray(obj.data, dtype=np.float64).ravel()
    try:
        return np.asarray(obj, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None


def _outputs(result) -> dict[str, np.ndarray]:
    if result is None:
        return {}
    if isinstance(result, tuple | list):
        out = {}
        for i, r in enumerate(result):
            v = _as_values(r)
            if v is not None:
                out[f"output[{i}]"] = v
        return out
    v = _as_values(result)
    return {} if v is None else {"output": v}


class _Acc:
    """Running comparison of one signal."""

    def __init__(self, name: str, T: numerictype | None, max_samples: int):
        self.v = SignalVerification(name, T)
        self.max_samples = max_samples
        self.parts: list[np.ndarray] = []
        self.kept = 0

    def add(self, fixed: np.ndarray, double: np.ndarray, offset_events=()) -> None:
        v = self.v
        if fixed.shape != double.shape:
            raise ValueError(f"verify: signal {v.name!r} has {fixed.size} values in the fixed "
                             f"run and {double.size} in the double run; both runs must probe "
                             "the same signals with the same shapes.")
        e = fixed - double
        v.reference.update(double)
        v.error_stats.update(e)
        if self.kept < self.max_samples:
            take = e[:self.max_samples - self.kept]
            self.parts.append(take.copy())
            self.kept += take.size
        v.count += fixed.size

    def done(self) -> SignalVerification:
        self.v.error = (np.concatenate(self.parts) if self.parts else np.zeros(0))
        return self.v


def _cast_values(ev: SignalEvent) -> np.ndarray:
    """The values after the cast of an event reported without its output: a block's
    internal fixed-point signal that gives the cast's modes is cast here (regression: verify
    compared a FIR's ``product``/``acc`` before their casts), else the arriving values."""
    vals = np.asarray(ev.values, dtype=np.float64).ravel()
    T = ev.numerictype
    if ev.mode != "fixed" or T is None or ev.rounding is None or ev.overflow is None:
        return vals
    with _probe.silenced():  # counted by the block already
        ints = quantize_array(vals, T, ev.rounding, ev.overflow, "raise", None, "verify",
                              ev.name)
    return np.asarray(to_float(ints, T), dtype=np.float64).ravel()


def _first_bad(ev: SignalEvent, out: np.ndarray) -> tuple[int | None, int | None]:
    """Positions, within the event, of its first overflow and first underflow."""
    vals = np.asarray(ev.values, dtype=np.float64).ravel()
    T = ev.numerictype
    if T is None or not (ev.overflows or ev.underflows):
        return None, None
    rounded = _rounded(ev, vals, T)
    if rounded is not None:
        ints, nonzero = rounded
        over = (ints > T.int_max) | (ints < T.int_min)
        if ev.overflow == Overflow.SAT_SYM and T.signed:
            over |= ints == T.int_min  # sat_sym moves the most negative value too
        over = np.asarray(over, dtype=bool) | np.isinf(vals)
        # an underflow: a nonzero value that *rounds* to 0 (regression: a value that
        # overflowed to 0 under sat_zero or wrap was taken)
        under = np.asarray(ints == 0, dtype=bool) & nonzero
    else:
        # without the cast's modes (or under stochastic rounding): the values beyond the
        # limits, and the nonzero values in range cast to 0
        over = (vals > T.max) | (vals < T.min)
        under = ((vals != 0) & (out == 0) & ~over if vals.size == out.size
                 else np.zeros(0, dtype=bool))
    fo = fu = None
    if ev.overflows:
        bad = np.flatnonzero(over)
        fo = int(bad[0]) if bad.size else None
    if ev.underflows:
        bad = np.flatnonzero(under)
        fu = int(bad[0]) if bad.size else None
    return fo, fu


def _rounded(ev: SignalEvent, vals: np.ndarray, T: numerictype):
    """``(ints, nonzero)``: the cast's input rounded by its rounding mode to *T*'s grid,
    saturated only beyond two more integer bits (so that a value overflows exactly where its
    rounded value leaves *T*; regression: the values beyond *T*'s limits before rounding were
    taken, so a value that rounds back into range, 127.3/16 into sfix8_En4, was reported as
    the first overflow), and where the input is nonzero. Computed from the exact input
    (``ev.source``) when the event has it (regression: the float64 view of a wide value, or
    of one beyond the float range, was taken); None without the cast's modes or under
    stochastic rounding."""
    if ev.rounding is None or ev.overflow is None or ev.rounding == Rounding.STOCHASTIC \
            or T.word_length > 65533:
        return None
    wide = numerictype(True, T.word_length + 2, T.fraction_length)  # holds T, saturating
    src = ev.source
    with _probe.silenced():
        if isinstance(src, fi) and src.size == vals.size:
            ints = src.cast(wide, rounding=ev.rounding, overflow=Overflow.SATURATE).int
            nonzero = np.asarray(src.int != 0, dtype=bool).ravel()
            return np.asarray(ints).ravel(), nonzero
        if src is not None and not isinstance(src, fi):
            arr = np.asarray(src)
            if arr.dtype == object and arr.size == vals.size:
                ints = quantize_array(arr.ravel(), wide, ev.rounding, Overflow.SATURATE,
                                      "raise", None, "verify", ev.name)
                return np.asarray(ints).ravel(), np.asarray(arr.ravel() != 0, dtype=bool)
        finite = np.isfinite(vals)
        ints = quantize_array(np.where(finite, vals, 0.0), wide, ev.rounding,
                              Overflow.SATURATE, "raise", None, "verify", ev.name)
    return np.asarray(ints), vals != 0


def verify(fn: Callable[[Any, TypeTable], Any], inputs: Iterable, T_fixed: TypeTable,
           T_double: TypeTable | None = None, *, reference=None, max_samples: int = 10_000,
           progress: bool = False) -> Verification:
    """Run *fn* in fixed and in double precision on the same inputs and compare each signal.

    Parameters
    ----------
    fn : callable
        The algorithm, called as ``fn(item, T)``; it names its signals through the type
        table or through blocks that report them.
    inputs : iterable
        Frames or batches (as for :func:`collect`; a 1-D array is one frame); each item
        runs in both modes before the next one, so a generator is consumed once. A stateful
        *fn* (streaming blocks) should keep its state per table, since both runs alternate
        item by item.
    T_fixed : TypeTable
        The fixed-point types to verify.
    T_double : TypeTable, optional
        The reference table; ``T_fixed.as_double()`` by default.
    reference : TypeTable or callable, optional
        What to compare against, by keyword: a TypeTable is the reference table (the same
        as *T_double*); a callable is a reference algorithm, run as
        ``reference(item, T_double)`` in place of ``fn`` for the double run (a golden
        floating-point model written separately; it must probe the same signal names).
    max_samples : int, default 10000
        Errors kept per signal for plots (the first ones).
    progress : bool, default False
        Show a progress bar (as :func:`collect`).

    Returns
    -------
    Verification

    Examples
    --------
    >>> import numpy as np
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'sfix16_En14', 'y': 'sfix16_En13'})
    >>> def gain(x, T):
    ...     return T.y(T.x(x) * 1.5)
    >>> v = fx.tool.verify(gain, [np.linspace(-1, 1, 101)], T)
    >>> v['y'].overflows, v['y'].sqnr_db > 80
    (0, True)
    """
    where = "verify"
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable as fn(item, T), got "
                        f"{type(fn).__name__}.")
    if not isinstance(T_fixed, TypeTable):
        raise TypeError(f"{where}: T_fixed must be a TypeTable, got {type(T_fixed).__name__}.")
    ref_fn = fn
    if isinstance(reference, TypeTable):
        if T_double is not None:
            raise TypeError(f"{where}: give the reference table once, as T_double or as "
                            "reference=, not both.")
        T_double = reference
    elif reference is not None:
        if not callable(reference):
            raise TypeError(f"{where}: reference must be a TypeTable (the reference types) or "
                            "a callable reference algorithm reference(item, T), got "
                            f"{type(reference).__name__}.")
        ref_fn = reference
    if T_double is None:
        T_double = T_fixed.as_double()
    elif not isinstance(T_double, TypeTable):
        raise TypeError(f"{where}: T_double must be a TypeTable, got "
                        f"{type(T_double).__name__}.")
    inputs = _check_inputs(inputs, where)
    max_samples = _check_int(max_samples, "max_samples", where, low=0)
    try:
        total = len(inputs)  # type: ignore[arg-type]
    except TypeError:
        total = None
    rec_fixed, rec_double = Recording(), Recording()
    accs: dict[str, _Acc] = {}
    outs: dict[str, _Acc] = {}
    positions: dict[str, int] = {}
    bar = _Bar(progress, total, "verify")
    n_items = 0
    try:
        for item in inputs:
            n_items += 1
            cf, cd = _Capture(), _Capture()
            with record(rec_fixed), signal_listening(cf):
                rf = run_item(fn, item, T_fixed, n_items - 1, where, " (the fixed-point run)")
            with record(rec_double), signal_listening(cd):
                rd = run_item(ref_fn, item, T_double, n_items - 1, where, " (the double run)")
            missing = set(cf.events) ^ set(cd.events)
            if missing:
                name = sorted(missing)[0]
                run = "fixed" if name in cf.events else "double"
                raise ValueError(f"verify: signal {name!r} was probed only in the {run} run; "
                                 "both runs must probe the same signals.")
            for name, evs in cf.events.items():
                dev = cd.events[name]
                if len(evs) != len(dev):
                    raise ValueError(f"verify: signal {name!r} was probed {len(evs)} time(s) "
                                     f"in the fixed run and {len(dev)} in the double run.")
                for ef, ed in zip(evs, dev, strict=True):
                    f = _as_values(ef.output)
                    if f is None:
                        f = _cast_values(ef)
                    d = _as_values(ed.output)
                    if d is None:
                        d = np.asarray(ed.values, dtype=np.float64).ravel()
                    acc = accs.get(name)
                    if acc is None:
                        acc = accs[name] = _Acc(name, ef.numerictype, max_samples)
                    base = positions.get(name, 0)
                    fo, fu = _first_bad(ef, f)
                    v = acc.v
                    if fo is not None and v.first_overflow is None:
                        v.first_overflow = base + fo
                    if fu is not None and v.first_underflow is None:
                        v.first_underflow = base + fu
                    v.overflows += ef.overflows
                    v.underflows += ef.underflows
                    acc.add(f, d)
                    positions[name] = base + f.size
            of, od = _outputs(rf), _outputs(rd)
            for name in of.keys() & od.keys():
                acc = outs.get(name)
                if acc is None:
                    acc = outs[name] = _Acc(name, None, max_samples)
                acc.add(of[name], od[name])
            bar.advance(1)
    finally:
        bar.close()
    if n_items == 0:
        raise ValueError(f"{where}: inputs is empty: there is nothing to compare. Pass at "
                         "least one frame or batch (e.g. [x] for one frame).")
    return Verification({n: a.done() for n, a in accs.items()},
                        {n: a.done() for n, a in sorted(outs.items())}, rec_fixed, rec_double,
                        T_fixed, T_double)
