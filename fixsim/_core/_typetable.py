"""Type tables: signal names mapped to data types, and the signal probe hook.

A :class:`TypeTable` keeps the data types of an algorithm apart from its code (MATLAB's "type
table" pattern). Every named cast ``T.name(x)`` is a *probe*: while anyone listens (the
fixed-point tool does, inside ``with fx.tool.record():``), it reports a :class:`SignalEvent`
carrying the signal's name and values through a context variable. ``_core`` never imports the
tool; the tool adds its listener with :class:`signal_listening`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import fnmatch
import json
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from .._atomic import parse_json
from . import _probe
from ._convert import as_value_array
from ._fi import fi, make_fi
from ._fimath import current_fimath, fimath
from ._interval import Interval, cast_interval, ranges_active, report_range
from ._modes import Overflow, Rounding, parse_overflow, parse_rounding
from ._numerictype import numerictype
from ._quantize import quantize_array, scales_exactly

__all__ = ["TypeTable", "TypeEntry", "SignalEvent", "UnknownSignalError", "signal_listening",
           "signals_active", "emit_signal", "extremes_suffice", "emit_extremes", "merge_extremes",
           "SCHEMA", "DOUBLE", "INHERIT", "OVERRIDES"]

#: The JSON schema tag written by :meth:`TypeTable.to_json` (bumped on incompatible changes).
SCHEMA = "fixsim.TypeTable/1"
DOUBLE = "double"
INHERIT = "inherit"
#: Data-type overrides (MATLAB's): compute in double, or in double while counting what the
#: fixed type would have overflowed / underflowed.
OVERRIDES = ("double", "scaled_double")

TypeSpec = numerictype | str


# -- the signal probe hook ------------------------------------------------------------------------
@dataclasses.dataclass(eq=False, slots=True)
class SignalEvent:
    """One probed named cast, as a signal listener receives it (read it; do not change it).

    Attributes
    ----------
    name : str
        The signal's (possibly dotted) name.
    values : numpy.ndarray
        The values arriving at the probe, before the cast, as float64 (the range the signal
        *needs*; a saturating cast would hide it in the output).
    output : object
        What the cast returned (a ``fi`` or a float64 array, or the input for ``'inherit'``).
    numerictype : numerictype or None
        The fixed type the table names for this signal (also under a ``'double'`` or
        ``'scaled_double'`` override); None for ``'double'`` and ``'inherit'`` entries.
    mode : str
        ``'fixed'``, ``'double'``, ``'scaled_double'`` or ``'inherit'``: what the cast did.
    overflows, underflows : int
        Counted by the quantization into ``numerictype`` (mode ``'fixed'``), or by the
        quantization the fixed type *would* have done (mode ``'scaled_double'``); 0 otherwise.
        An underflow is a nonzero value that quantizes to zero.
    stored : tuple or None
        ``(ints, scale)``: the values as flat int64 stored integers and the power of two that
        scales them (``values == ints * scale`` exactly), given *instead of* ``values`` (which
        is then None) for a fi input when every listener is marked ``reads_stored = True``
        (the recorder, which converts while it copies); None otherwise.
    rounding, overflow : Rounding or Overflow or None
        The modes of the cast: given by a block that reports a fixed-point signal without its
        output (``output`` None, to save building it), so that a listener that needs the cast
        values (``fx.tool.verify``) can compute them from ``values``, and by a TypeTable's
        fixed-point cast that overflowed or underflowed (so that verify can tell which values
        did); None otherwise.
    source : object
        What the TypeTable's fixed-point cast was given (a fi, an array of exact numbers, ...),
        when it overflowed or underflowed: the exact values, where ``values`` is their float64
        view (which rounds wide words and leaves the float range); None otherwise.
    extremes : tuple or None
        ``(count, nan, inf, zeros, min, max, whole)`` of the values (``zeros``, ``min``,
        ``max`` and ``whole`` of the finite ones; ``min`` and ``max`` None when there are
        none), given *instead of* ``values`` (then None) by a block reporting a signal inside
        it (its products, partial sums, states) when every listener is marked
        ``takes_extremes = True`` (the recorder with ``internals='extremes'``, its default):
        the values are then, as a rule, never built.
    tied : tuple of str or None
        The signals (this one among them) that the block casts with one type: a type table
        must give them the same type (an NCO's sine and cosine share one table; a biquad casts
        its input with its section type). The recorder keeps these groups
        (``Recording.tied``) and ``fx.tool.propose`` gives each group one type.
    """

    name: str
    values: np.ndarray | None
    output: object
    numerictype: numerictype | None
    mode: str
    overflows: int = 0
    underflows: int = 0
    stored: tuple | None = None
    rounding: Rounding | None = None
    overflow: Overflow | None = None
    source: object = None
    extremes: tuple | None = None
    tied: tuple | None = None


_signal_hooks: contextvars.ContextVar[tuple[Callable[[SignalEvent], None], ...]] = \
    contextvars.ContextVar("fixsim_signal_hooks", default=())


def signals_active() -> bool:
    """Whether any signal listener is active (named casts only build events if so)."""
    return bool(_signal_hooks.get())


def emit_signal(name: str, values, output=None, numerictype: numerictype | None = None,
                mode: str = "fixed", overflows: int = 0, underflows: int = 0, *,
                rounding: Rounding | None = None, overflow: Overflow | None = None,
                tied: tuple | None = None) -> None:
    """Report a named signal computed outside a :class:`TypeTable` cast (a block's kernel).

    DSP blocks and network layers whose internal quantizations happen inside compiled kernels
    call this once per signal and frame, so the tool records them like named casts. It does
    nothing when no listener is active; callers that must build *values* (a float64 array of
    the values arriving at the signal's quantization) should check :func:`signals_active`
    first to skip that work. A fixed-point signal reported without its *output* may give the
    cast's *rounding* and *overflow*, and a signal cast with the type of others their group
    *tied* (see :class:`SignalEvent`).
    """
    hooks = _signal_hooks.get()
    if not hooks:
        return
    event = SignalEvent(name, np.asarray(values, dtype=np.float64), output, numerictype, mode,
                        int(overflows), int(underflows), None, rounding, overflow, None, None,
                        tied)
    for fn in hooks:
        fn(event)


def extremes_suffice() -> bool:
    """Whether a block may report its internal signals as extremes (:func:`emit_extremes`):
    some listener is active and every one is marked ``takes_extremes = True``."""
    hooks = _signal_hooks.get()
    return bool(hooks) and all(getattr(fn, "takes_extremes", False) for fn in hooks)


def merge_extremes(a: tuple | None, b: tuple) -> tuple:
    """Two ``(count, nan, inf, zeros, min, max, whole)`` tuples (see :class:`SignalEvent`)
    as one (*a* None: *b*)."""
    if a is None:
        return tuple(b)
    lo = b[4] if a[4] is None else a[4] if b[4] is None else min(a[4], b[4])
    hi = b[5] if a[5] is None else a[5] if b[5] is None else max(a[5], b[5])
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], lo, hi, a[6] and b[6])


def emit_extremes(name: str, extremes: tuple, numerictype: numerictype | None = None,
                  mode: str = "fixed", overflows: int = 0, underflows: int = 0, *,
                  rounding: Rounding | None = None, overflow: Overflow | None = None) -> None:
    """Report a block's internal signal by its ``(count, nan, inf, zeros, min, max, whole)``
    (see :class:`SignalEvent`); only when :func:`extremes_suffice`."""
    hooks = _signal_hooks.get()
    if not hooks:
        return
    event = SignalEvent(name, None, None, numerictype, mode, int(overflows), int(underflows),
                        None, rounding, overflow, None, extremes)
    for fn in hooks:
        fn(event)


class signal_listening:  # noqa: N801 - used like a function
    """Context manager adding *fn* as a signal listener for the duration of the block.

    Listeners are kept in a context variable, so they are thread- and task-local, and nest:
    every active listener receives every event.
    """

    def __init__(self, fn: Callable[[SignalEvent], None]):
        self._fn = fn
        self._token: contextvars.Token | None = None

    def __enter__(self) -> signal_listening:
        self._token = _signal_hooks.set(_signal_hooks.get() + (self._fn,))
        return self

    def __exit__(self, *exc) -> None:
        _signal_hooks.reset(self._token)


class signals_silenced:  # noqa: N801 - used like a function
    """Context manager: no signal listener hears the block (work done on the side, such as
    derive running a block on zero-valued stand-ins to learn its output type)."""

    def __init__(self):
        self._token: contextvars.Token | None = None

    def __enter__(self) -> signals_silenced:
        self._token = _signal_hooks.set(())
        return self

    def __exit__(self, *exc) -> None:
        _signal_hooks.reset(self._token)


class _Counter:
    """A quantization listener summing the counts of the events it sees."""

    __slots__ = ("overflows", "underflows")

    def __init__(self):
        self.overflows = 0
        self.underflows = 0

    def __call__(self, event: _probe.QuantizationEvent) -> None:
        self.overflows += event.overflows
        self.underflows += event.underflows


# -- entries ---------------------------------------------------------------------------------------
class UnknownSignalError(KeyError, AttributeError):
    """A signal name that the type table does not hold (both a KeyError and an AttributeError,
    so ``T['name']``, ``T.name`` and ``hasattr`` all behave)."""

    def __str__(self) -> str:  # KeyError would repr-quote the message
        return str(self.args[0]) if self.args else ""


def _parse_spec(value, name: str) -> TypeSpec:
    if isinstance(value, numerictype):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in (DOUBLE, "float64", "single_double"):
            return DOUBLE
        if low == INHERIT:
            return INHERIT
        try:
            return numerictype.parse(value)
        except ValueError as exc:
            raise ValueError(f"TypeTable: signal {name!r}: {exc} Or use 'double' or "
                             "'inherit'.") from None
    raise TypeError(f"TypeTable: signal {name!r}: expected a numerictype, a type name such as "
                    f"'sfix16_En14', 'double' or 'inherit', got {type(value).__name__} "
                    f"{value!r}.")


@dataclasses.dataclass(frozen=True)
class TypeEntry:
    """One signal's entry: its type and, optionally, its own rounding and overflow modes.

    ``type`` is a :class:`numerictype`, ``'double'`` or ``'inherit'``. ``rounding`` and
    ``overflow`` are None to use the table's (which in turn default to the fimath in force).
    """

    type: TypeSpec
    rounding: Rounding | None = None
    overflow: Overflow | None = None

    @classmethod
    def make(cls, value, name: str) -> TypeEntry:
        """Build an entry from a type, a type name, a :class:`TypeEntry` or a dict
        ``{'type': ..., 'rounding': ..., 'overflow': ...}``."""
        if isinstance(value, TypeEntry):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"type", "rounding", "overflow"}
            if unknown or "type" not in value:
                raise ValueError(f"TypeTable: signal {name!r}: an entry dict needs 'type' and "
                                 f"may have 'rounding' and 'overflow'; got keys "
                                 f"{sorted(value)}.")
            r, o = value.get("rounding"), value.get("overflow")
            try:
                r = None if r is None else parse_rounding(r)
                o = None if o is None else parse_overflow(o)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"TypeTable: signal {name!r}: {exc}") from None
            return cls(_parse_spec(value["type"], name), r, o)
        return cls(_parse_spec(value, name))

    @property
    def is_fixed(self) -> bool:
        """Whether the entry names a fixed-point type."""
        return isinstance(self.type, numerictype)

    def to_json_value(self):
        """The JSON form: the type name alone, or a dict when modes are set."""
        t = str(self.type)
        if self.rounding is None and self.overflow is None:
            return t
        out: dict = {"type": t}
        if self.rounding is not None:
            out["rounding"] = str(self.rounding)
        if self.overflow is not None:
            out["overflow"] = str(self.overflow)
        return out


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"TypeTable: signal names must be str, got {type(name).__name__} "
                        f"{name!r}.")
    if not name or name != name.strip() or any(not part for part in name.split(".")):
        raise ValueError(f"TypeTable: invalid signal name {name!r}: names are non-empty, "
                         "without surrounding whitespace, and dotted parts are non-empty "
                         "(e.g. 'fir1.acc').")
    return name


class _Signal:
    """A named cast bound to its table: ``T.x`` and ``T['fir1.acc']`` return one."""

    __slots__ = ("_table", "name")

    def __init__(self, table: TypeTable, name: str):
        self._table = table
        self.name = name

    def __call__(self, x):
        """Cast *x* to this signal's type and probe it (see :meth:`TypeTable.cast`)."""
        return self._table.cast(self.name, x)

    @property
    def type(self) -> TypeSpec:
        """The entry's type: a numerictype, ``'double'`` or ``'inherit'``."""
        return self._table.entry(self.name).type

    @property
    def locked(self) -> bool:
        """Whether the entry is locked against proposals."""
        return self.name in self._table.locked

    def __repr__(self) -> str:
        return f"<signal {self.name!r}: {self.type}>"


class _Scope:
    """The signals under a dotted prefix: ``T.fir1.acc`` is ``T['fir1.acc']``."""

    __slots__ = ("_table", "_prefix")

    def __init__(self, table: TypeTable, prefix: str):
        self._table = table
        self._prefix = prefix

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._table[f"{self._prefix}.{name}"]

    def __getitem__(self, name: str):
        return self._table[f"{self._prefix}.{name}"]

    @property
    def names(self) -> list[str]:
        """The full names of the signals under this prefix."""
        p = self._prefix + "."
        return [n for n in self._table.names if n.startswith(p)]

    def __repr__(self) -> str:
        return f"<signals {self._prefix}.*: {', '.join(self.names)}>"


# -- the table -------------------------------------------------------------------------------------
class TypeTable:
    """Signal names mapped to data types; every named cast is a probe.

    Parameters
    ----------
    types : mapping, optional
        Signal name (dotted names allowed: ``'fir1.acc'``) to a :class:`numerictype`, a type
        name that :meth:`numerictype.parse` reads (``'sfix16_En14'``, ``'Q3.12'``,
        ``'ap_fixed<16,4>'``), ``'double'``, ``'inherit'``, or a dict
        ``{'type': ..., 'rounding': ..., 'overflow': ...}`` giving the signal its own modes.
    rounding, overflow : str, optional
        Modes for every cast of this table. When not given (here or on the entry), a cast
        uses the fimath in force: a fi's local fimath, else the current default
        (``with fimath(...)``), which is nearest and saturate unless changed.
    locked : iterable of str, optional
        Names whose types no proposal may change (see :meth:`lock`).

    Notes
    -----
    What a named cast ``T.name(x)`` (or ``T['fir1.acc'](x)``, or ``T.cast(name, x)``) does:

    * a fixed type: a ``fi`` is requantized with ``fi.cast``; anything else (float, int,
      array, list) is quantized exactly into the type. The result is a ``fi``.
    * ``'double'``: the values as a float64 array (a ``fi`` gives its real-world values).
    * ``'inherit'``: full precision, *x* passes through unchanged (a ``fi`` stays the same
      ``fi``, a float stays a float).
    * a ``'double'`` override: as ``'double'``; a ``'scaled_double'`` override: as
      ``'double'``, and the quantization into the fixed type is done on the side only to
      count its overflows and underflows (reported to the probe and to
      ``count_quantization``; it is skipped when nobody listens).

    While a signal listener is active (``with fx.tool.record():``) each named cast reports a
    :class:`SignalEvent` with the values *arriving* at the probe (as float64) and the
    overflow/underflow counts of its own quantization; the quantizations inside the cast also
    carry the signal's name to quantization listeners (``QuantizationEvent.name``).

    Attribute access works for names that are Python identifiers and do not shadow a method
    (``T.x``); a dotted name's prefix gives a scope (``T.fir1.acc``). ``T['name']`` always
    works. An unknown name raises :class:`UnknownSignalError` (a ``KeyError`` and an
    ``AttributeError``) listing close matches.

    Examples
    --------
    >>> import numpy as np
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'sfix16_En14', 'fir1.acc': 'Q7.24', 'y': 'double'})
    >>> T.x(0.1)
    fi(0.0999755859375, 'sfix16_En14')
    >>> print(T['fir1.acc'].type, T.fir1.acc.type)
    sfix32_En24 sfix32_En24
    >>> T.y(T.x([0.5, 0.25]))
    array([0.5 , 0.25])
    """

    __slots__ = ("_entries", "_rounding", "_overflow", "_locked", "_overrides", "_signals")

    def __init__(self, types: Mapping | None = None, *, rounding=None, overflow=None,
                 locked: Iterable[str] = ()):
        self._entries: dict[str, TypeEntry] = {}
        self._rounding = None if rounding is None else parse_rounding(rounding,
                                                                      where="TypeTable")
        self._overflow = None if overflow is None else parse_overflow(overflow,
                                                                      where="TypeTable")
        self._locked: set[str] = set()
        self._overrides: dict[str, str] = {}
        self._signals: dict[str, _Signal] = {}
        if types is not None:
            if isinstance(types, TypeTable):
                types = types._entries
            if not isinstance(types, Mapping):
                raise TypeError("TypeTable: types must be a mapping of signal names to types, "
                                f"got {type(types).__name__}.")
            for name, value in types.items():
                self._entries[_check_name(name)] = TypeEntry.make(value, name)
        for name in ([locked] if isinstance(locked, str) else locked):
            self._locked.add(self._known(name))

    # -- lookup ---------------------------------------------------------------------------------
    def _unknown(self, name: str) -> UnknownSignalError:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.6)
        hint = (f" Did you mean {', '.join(repr(c) for c in close)}?" if close else "")
        listed = ", ".join(repr(n) for n in list(self._entries)[:20])
        more = " ..." if len(self._entries) > 20 else ""
        return UnknownSignalError(
            f"TypeTable has no signal {name!r}.{hint} Known signals: {listed or '(none)'}"
            f"{more}. Add it to the table (T[{name!r}] = 'sfix16_En14', or 'double').")

    def _known(self, name: str) -> str:
        if name not in self._entries:
            raise self._unknown(name)
        return name

    def entry(self, name: str) -> TypeEntry:
        """The :class:`TypeEntry` of signal *name*."""
        try:
            return self._entries[name]
        except KeyError:
            raise self._unknown(name) from None

    def type_of(self, name: str) -> TypeSpec:
        """The type of signal *name*: a numerictype, ``'double'`` or ``'inherit'``."""
        return self.entry(name).type

    def __getitem__(self, name: str):
        sig = self._signals.get(name)
        if sig is not None:
            return sig
        if name in self._entries:
            sig = self._signals[name] = _Signal(self, name)
            return sig
        if isinstance(name, str) and any(n.startswith(name + ".") for n in self._entries):
            return _Scope(self, name)
        raise self._unknown(str(name))

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __setitem__(self, name: str, value) -> None:
        _check_name(name)
        if name in self._locked:
            raise ValueError(f"TypeTable: signal {name!r} is locked; unlock it first "
                             f"(T.unlock({name!r})) to change its type.")
        self._entries[name] = TypeEntry.make(value, name)

    def __delitem__(self, name: str) -> None:
        self._known(name)
        if name in self._locked:
            raise ValueError(f"TypeTable: signal {name!r} is locked; unlock it first.")
        del self._entries[name]
        self._signals.pop(name, None)
        self._overrides.pop(name, None)

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def names(self) -> list[str]:
        """The signal names, in table order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, TypeSpec]]:
        """``(name, type)`` pairs in table order."""
        return [(n, e.type) for n, e in self._entries.items()]

    @property
    def rounding(self) -> Rounding | None:
        """The table's rounding mode (None: the fimath in force)."""
        return self._rounding

    @property
    def overflow(self) -> Overflow | None:
        """The table's overflow mode (None: the fimath in force)."""
        return self._overflow

    # -- locks ------------------------------------------------------------------------------------
    @property
    def locked(self) -> frozenset[str]:
        """The names no proposal may change."""
        return frozenset(self._locked)

    def lock(self, *names: str) -> TypeTable:
        """Lock signals against proposals (in place; returns the table). Patterns such as
        ``'fir1.*'`` are accepted."""
        self._locked.update(self._match(names, "lock"))
        return self

    def unlock(self, *names: str) -> TypeTable:
        """Unlock signals (in place; returns the table)."""
        self._locked.difference_update(self._match(names, "unlock"))
        return self

    def _match(self, patterns: Iterable[str], method: str) -> list[str]:
        out: list[str] = []
        for p in patterns:
            if not isinstance(p, str):
                raise TypeError(f"TypeTable.{method}: expected signal names, got {p!r}.")
            if p in self._entries:
                out.append(p)
                continue
            hits = [n for n in self._entries if fnmatch.fnmatchcase(n, p)]
            if not hits:
                raise self._unknown(p)
            out.extend(hits)
        return out

    # -- derived tables ----------------------------------------------------------------------------
    def copy(self) -> TypeTable:
        """An independent copy (entries, modes, locks and overrides)."""
        new = TypeTable(rounding=self._rounding, overflow=self._overflow)
        new._entries = dict(self._entries)
        new._locked = set(self._locked)
        new._overrides = dict(self._overrides)
        return new

    def as_double(self) -> TypeTable:
        """The same names with every entry ``'double'`` (values pass through as float64
        arrays, still probed). Locks are kept; overrides are dropped."""
        new = self.copy()
        new._entries = {n: TypeEntry(DOUBLE) for n in self._entries}
        new._overrides = {}
        return new

    def override(self, mode: str | None, names: Iterable[str] | str | None = None) -> TypeTable:
        """A copy with a data-type override for all signals, or for some (MATLAB's
        data-type override).

        Parameters
        ----------
        mode : {'double', 'scaled_double', None}
            ``'double'``: compute in double. ``'scaled_double'``: compute in double, and count
            the overflows and underflows the fixed type would have had. None removes the
            override.
        names : str or iterable of str, optional
            Signal names or patterns (``'fir1.*'``); all signals when omitted.

        The entries keep their fixed types (so recorded statistics and proposals still see
        the current types); ``'double'`` and ``'inherit'`` entries are not affected by
        ``'scaled_double'`` beyond computing in double.
        """
        if mode is not None:
            if not isinstance(mode, str) or mode.lower() not in OVERRIDES:
                raise ValueError(f"TypeTable.override: mode {mode!r} is not valid; valid: "
                                 "'double', 'scaled_double', None.")
            mode = mode.lower()
        targets = (list(self._entries) if names is None
                   else self._match([names] if isinstance(names, str) else names, "override"))
        new = self.copy()
        for n in targets:
            if mode is None:
                new._overrides.pop(n, None)
            else:
                new._overrides[n] = mode
        return new

    @property
    def overrides(self) -> dict[str, str]:
        """Signal name to override mode, for the overridden signals."""
        return dict(self._overrides)

    def update(self, types: Mapping, *, force: bool = False) -> TypeTable:
        """Set several entries (in place; returns the table). Locked entries raise unless
        *force*."""
        if not isinstance(types, Mapping):  # regression: a list met an AttributeError
            raise TypeError(f"TypeTable.update: types must be a mapping of signal names to "
                            f"types, got {type(types).__name__} {types!r}.")
        for name, value in types.items():
            if force and name in self._locked:
                self._entries[_check_name(name)] = TypeEntry.make(value, name)
            else:
                self[name] = value
        return self

    # -- the named cast (the probe) ----------------------------------------------------------------
    def cast(self, name: str, x):
        """Cast *x* to signal *name*'s type and probe it (see the class notes)."""
        try:
            entry = self._entries[name]
        except KeyError:
            raise self._unknown(name) from None
        mode = self._overrides.get(name)
        spec = entry.type
        fixed = spec if isinstance(spec, numerictype) else None
        if mode is None:
            mode = "fixed" if fixed is not None else spec
        elif fixed is None:  # a 'double' or 'inherit' entry under an override: double
            mode = DOUBLE
        if isinstance(x, Interval):  # static range analysis (fx.tool.derive): report, bound
            # the run casts a fi with the modes of its local fimath (``_modes(entry, x)``)
            local = x._fi[1] if x._fi is not None else None
            r, o = (self._modes(entry, None, local) if mode == "fixed" else (None, None))
            return cast_interval(name, x, fixed if mode == "fixed" else None, r, o,
                                 inherit=mode == INHERIT)
        hooks = _signal_hooks.get()
        o = u = 0
        if mode == "fixed":
            if hooks and not _probe.active():
                # only signal listeners: the counts through this thread's sink, no events
                sink = [0, 0]
                prev = _probe.swap_sink(sink)
                try:
                    out = self._quantize(entry, fixed, x, name)
                finally:
                    _probe.swap_sink(prev)
                o, u = sink
            elif hooks or _probe.active():
                counter = _Counter()
                tokens = _probe.enter(counter, name)
                try:
                    out = self._quantize(entry, fixed, x, name)
                finally:
                    _probe.leave(tokens)
                o, u = counter.overflows, counter.underflows
            else:
                out = self._quantize(entry, fixed, x, name)
        elif mode == INHERIT:
            out = x
        else:  # double, or an override
            out = _as_float(x, name)
            if mode == "scaled_double" and (hooks or _probe.active()):
                counter = _Counter()
                rounding, overflow = self._modes(entry, None)
                with _probe.listening(counter), _probe.probe_name(name):
                    quantize_array(out, fixed, rounding, overflow, "matlab", None,
                                   f"TypeTable[{name!r}]", "scaled_double")
                o, u = counter.overflows, counter.underflows
        if ranges_active():
            # a constant cast under derive (coefficients, ``T.w(W)``): its values are its
            # range (regression: derive left such signals out, so a proposal from derived
            # ranges kept them 'double')
            _report_values(name, x)
        if hooks:
            stored = None
            if type(x) is fi and mode == "fixed" and all(
                    getattr(fn, "reads_stored", False) for fn in hooks):
                stored = _stored_of(x)
            if stored is not None:
                values = None
            else:
                values = out if mode in (DOUBLE, "scaled_double") else _as_float(x, name)
            event = SignalEvent(name, values, out, fixed, mode, o, u, stored)
            if mode == "fixed" and fixed is not None and (o or u):
                # the cast's modes and its exact input, so that a listener can tell which
                # values overflowed or underflowed (fx.tool.verify's first_overflow and
                # first_underflow); only when some did, to keep the probe's common path as
                # cheap as it was
                event.rounding, event.overflow = self._modes(
                    entry, x if isinstance(x, fi) else None)
                event.source = x
            for fn in hooks:
                fn(event)
        return out

    def _modes(self, entry: TypeEntry, x_fi: fi | None, local: fimath | None = None):
        """The rounding and overflow of *entry*'s cast: its own, the table's, else those of
        the value's fimath (*x_fi*'s, or *local*, an Interval's local fimath, else the one in
        force)."""
        r = entry.rounding if entry.rounding is not None else self._rounding
        o = entry.overflow if entry.overflow is not None else self._overflow
        if r is None or o is None:
            if x_fi is not None:
                F = x_fi.fimath
            else:
                F = local if local is not None else current_fimath()
            r = F.rounding if r is None else r
            o = F.overflow if o is None else o
        return r, o

    def _quantize(self, entry: TypeEntry, T: numerictype, x, name: str) -> fi:
        if isinstance(x, fi):
            r, o = self._modes(entry, x)
            if x.numerictype == T and not (o == Overflow.SAT_SYM and T.signed):
                return x  # nothing to round or overflow (sat_sym still lifts the minimum)
            return x.cast(T, rounding=r, overflow=o)
        r, o = self._modes(entry, None)
        arr = as_value_array(x, f"TypeTable[{name!r}]")
        ints = quantize_array(arr, T, r, o, "raise", None, f"TypeTable[{name!r}]", "typetable")
        return make_fi(ints, T, None)

    # -- comparison, repr, JSON --------------------------------------------------------------------
    def _state(self):
        return (self._entries, self._rounding, self._overflow, self._locked, self._overrides)

    def __eq__(self, other) -> bool:
        if not isinstance(other, TypeTable):
            return NotImplemented
        return self._state() == other._state()

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        body = ", ".join(f"{n!r}: {json.dumps(e.to_json_value())}"
                         if not isinstance(e.to_json_value(), str)
                         else f"{n!r}: {str(e.type)!r}" for n, e in self._entries.items())
        extra = ""
        if self._rounding is not None:
            extra += f", rounding={str(self._rounding)!r}"
        if self._overflow is not None:
            extra += f", overflow={str(self._overflow)!r}"
        if self._locked:
            extra += f", locked={sorted(self._locked)!r}"
        text = f"TypeTable({{{body}}}{extra})"
        if self._overrides:
            groups: dict[str, list[str]] = {}
            for n, m in self._overrides.items():
                groups.setdefault(m, []).append(n)
            for m, ns in groups.items():
                text += (f".override({m!r})" if len(ns) == len(self._entries)
                         else f".override({m!r}, {ns!r})")
        return text

    def to_dict(self) -> dict:
        """A JSON-ready dict (see :meth:`to_json`)."""
        return {
            "schema": SCHEMA,
            "rounding": None if self._rounding is None else str(self._rounding),
            "overflow": None if self._overflow is None else str(self._overflow),
            "signals": {n: e.to_json_value() for n, e in self._entries.items()},
            "locked": sorted(self._locked),
            "overrides": dict(self._overrides),
        }

    def to_json(self, **kwargs) -> str:
        """The table as JSON text: ``{"schema": "fixsim.TypeTable/1", "signals": {...},
        "locked": [...], "overrides": {...}, "rounding": ..., "overflow": ...}``. Types are
        written as Simulink names (``'sfix16_En14'``). Keyword arguments go to ``json.dumps``
        (default ``indent=2``)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping) -> TypeTable:
        """Build a table from :meth:`to_dict`'s output."""
        schema = data.get("schema") if isinstance(data, Mapping) else None
        if schema != SCHEMA:
            raise ValueError(f"TypeTable.from_json: unsupported schema {schema!r}; this version "
                             f"of fixsim reads {SCHEMA!r}.")
        table = cls(data.get("signals", {}), rounding=data.get("rounding"),
                    overflow=data.get("overflow"), locked=data.get("locked", ()))
        overrides = data.get("overrides", {})
        if not isinstance(overrides, Mapping):  # regression: a list met an AttributeError
            raise TypeError(f"TypeTable.from_json: 'overrides' must map signal names to "
                            f"override modes, got {type(overrides).__name__} {overrides!r}.")
        for name, mode in overrides.items():
            table = table.override(mode, [name])
        return table

    @classmethod
    def from_json(cls, text: str) -> TypeTable:
        """Read a table written by :meth:`to_json`."""
        return cls.from_dict(parse_json(text, "TypeTable.from_json"))

    def __reduce__(self):
        return (TypeTable.from_dict, (self.to_dict(),))


def _stored_of(x: fi) -> tuple | None:
    """``(flat int64 stored integers, 2**-F)`` of *x* when their products are exact float64
    values (``scales_exactly``, as ``to_float``'s one-product path), else None."""
    T = x.numerictype
    if not scales_exactly(T):
        return None
    ints = x._int
    if ints.dtype != np.int64:
        return None
    return np.ascontiguousarray(ints).reshape(-1), 2.0 ** -T.fraction_length


def _report_values(name: str, x) -> None:
    """Report the values *x* arriving at cast *name* as its derived range (finite real
    values; nothing for an empty array)."""
    v = _as_float(x, name)
    if v.size == 0:
        return
    if not np.all(np.isfinite(v)):
        report_range(name, -np.inf, np.inf, f"a value that is not finite (NaN or inf) is "
                     f"cast to {name!r}")
        return
    report_range(name, float(np.min(v)), float(np.max(v)))


def _float_or_inf(v) -> float:
    """``float(v)``, or +-inf for a number beyond the float range."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _as_float(x, name: str) -> np.ndarray:
    """*x*'s real-world values as a float64 array."""
    if isinstance(x, fi):
        return np.asarray(x, dtype=np.float64)
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return x
    if isinstance(x, numbers.Number | np.ndarray | list | tuple | np.generic):
        try:
            return np.asarray(x, dtype=np.float64)
        except OverflowError:
            # exact numbers beyond the float range (Python ints, Fractions): +-inf, so that
            # listening does not change what the cast does (regression: inside record(),
            # T.x(10**400) raised OverflowError where the cast alone saturates)
            return np.asarray(np.frompyfunc(_float_or_inf, 1, 1)(np.asarray(x, dtype=object)),
                              dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"TypeTable[{name!r}]: cannot convert {type(x).__name__} to "
                            f"float64: {exc}") from None
    raise TypeError(f"TypeTable[{name!r}]: expected a fi or numbers, got {type(x).__name__}.")
