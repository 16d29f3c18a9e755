"""Proposing types from ranges: :func:`propose`, :class:`Proposal`, :class:`ProposedType`.

**Ranges.** Per signal, the range to cover comes from one source:

* ``'simulation'``: the recorded ``[min, max]`` (a :class:`Recording`);
* ``'derived'``: the static bound from ``fx.tool.derive`` (any mapping of names to objects
  with ``.lo``, ``.hi``, ``.bounded`` and ``.reason``); an unbounded one is an error naming the
  signal and the reason;
* ``'union'``: the hull of both;
* ``'design'``: user ranges ``design={'name': (lo, hi)}``. A design range takes precedence
  over every other source for its signal, and is used as given (no margin, no clipping).

**Margin** (MATLAB's safety margin, percent): the range is widened to
``[lo, hi] * (1 + margin/100)``: a 50% margin turns ``[-8, 8]`` into ``[-12, 12]``.

**Clipping policies** (on recorded ranges only, see :mod:`fixsim.tool._policies`):
``'minmax'`` covers the whole range, ``'percentile'`` clips it to the magnitude below which
``percentile`` percent of the values lie, ``'kl'`` to TensorRT's entropy-calibration threshold,
and ``'mse'`` picks the fraction length minimising the estimated clipping plus rounding error
for the word length.

**Types.** Given a word length ``W``, the proposal is the best-precision type covering the
range: the largest fraction length ``F`` with ``T.min <= lo`` and ``hi <= T.max`` exactly
(MATLAB's best-precision rule on exact rationals, one bit wider where a value lies within an
LSB below a power of two). Given a fraction length, it is the smallest word length covering
the range. Given both, that type, which must cover the range. Signedness follows the range
(signed when it holds a negative value) unless ``signed`` is given; recorded signals whose
values are all whole numbers get fraction length ``min(F, 0)`` when the range is the
simulation's (a union also covers derived values nobody recorded); locked entries keep their
type.

**Tied signals.** Signals one type must serve (an NCO's ``sin`` and ``cos``, which one sine
table gives) form a group, as in MATLAB's shared data type groups: the groups the table declares
(``T.tied``, from ``Model.type_table``), those the blocks reported while recording
(``Recording.tied``: an ``SOSFilter`` casts its ``in`` with its ``section`` type) and those
given as ``tied=``. Each member's range is
found as above (its clipping and margin applied), and every member gets the type the rules give
for the union of those ranges (whole numbers only when every member's are). A locked member
(or one set outright by an override) fixes the group's type: the others take it, even where it
does not cover their ranges (the rationale says so, and the expected overflows count them); two
members fixed to different types are an error naming both.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from .._atomic import parse_json, read_json, write_atomic
from .._core._convert import best_fraction_length
from .._core._fimath import current_fimath
from .._core._modes import Overflow
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable
from . import _policies
from ._record import Recording
from ._stats import SignalStats

__all__ = ["propose", "Proposal", "ProposedType", "POLICIES", "SOURCES", "PROPOSAL_SCHEMA"]

POLICIES = ("minmax", "percentile", "mse", "kl")
SOURCES = ("simulation", "derived", "design", "union")
#: The schema tag of :meth:`Proposal.to_dict`.
PROPOSAL_SCHEMA = "fixsim.Proposal/1"
_OVERRIDE_KEYS = ("word_length", "fraction_length", "signed", "policy", "margin", "percentile",
                  "type")


@dataclasses.dataclass(frozen=True)
class _Tie:
    """How a member of a tied group is typed: by the group's union range (``lo``, ``hi``,
    ``whole``, ``sym``), or by the type ``fixed`` that member ``ref`` (locked, or set by an
    override: ``reason``) gives the group."""

    group: tuple[str, ...]
    lo: Fraction = Fraction(0)
    hi: Fraction = Fraction(0)
    whole: bool = False
    sym: bool = False
    fixed: numerictype | str | None = None
    ref: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class ProposedType:
    """The proposal for one signal.

    Attributes
    ----------
    name : str
    current : numerictype or str or None
        The type before the proposal (from the table given, else the recorded type).
    proposed : numerictype or str or None
        The proposed type (the current one for a locked signal).
    simulated : tuple of float or None
        The recorded ``(min, max)`` (None when not recorded).
    range_used : tuple of Fraction
        The range the proposal covers (after clipping and margin), exact; for a tied signal,
        the union of its group's ranges (its own when a locked member fixes the type).
    locked : bool
    rationale : str
        One line saying why.
    derived, design : tuple of float or None
        The derived and the design range, when there is one.
    source : str
        Where ``range_used`` came from: ``'simulation'``, ``'derived'``, ``'union'``,
        ``'design'``, or ``'override'`` (a type set outright by ``overrides``).
    policy : str
        The clipping policy applied (``'minmax'`` for design and derived ranges).
    clip_fraction : float or None
        Fraction of the recorded finite values outside the proposed type's range (None when
        nothing was recorded). Estimated from the fine histogram; exactly 0 when the recorded
        extremes fit.
    overflows, underflows : int or None
        Expected counts on the recorded data: values outside the range, and nonzero values
        below half an LSB (which round to zero); 0 for a ``'double'`` or ``'inherit'`` type
        (nothing is quantized), None when nothing was recorded, or when the signal was
        recorded as extremes (inside a block) and they alone do not decide the count.
    sqnr_db : float or None
        Estimated signal-to-quantization-noise ratio of the proposed type on the recorded
        data, in dB (rounding noise ``LSB**2/12`` per value plus the clipping error).
    percent_range_used : float or None
        MATLAB's "percent of range used": ``100 * max(max/T.max, min/T.min)`` for the
        recorded extremes (the covered range when nothing was recorded).
    """

    name: str
    current: numerictype | str | None
    proposed: numerictype | str | None
    simulated: tuple[float, float] | None
    range_used: tuple[Fraction, Fraction]
    locked: bool
    rationale: str
    derived: tuple[float, float] | None = None
    design: tuple[float, float] | None = None
    source: str = "simulation"
    policy: str = "minmax"
    clip_fraction: float | None = None
    overflows: int | None = None
    underflows: int | None = None
    sqnr_db: float | None = None
    percent_range_used: float | None = None

    @property
    def representable(self) -> tuple[float, float] | None:
        """The proposed type's ``(min, max)``."""
        t = self.proposed
        return (t.min, t.max) if isinstance(t, numerictype) else None

    @property
    def lsb(self) -> float | None:
        """The proposed type's LSB (``2**-F``)."""
        t = self.proposed
        return t.eps if isinstance(t, numerictype) else None

    def to_row(self) -> dict[str, Any]:
        """One flat row (plain str/float/int/bool/None values) for tables and CSV."""
        t = self.proposed
        fixed = isinstance(t, numerictype)
        rep = self.representable
        return {
            "name": self.name,
            "current": None if self.current is None else str(self.current),
            "proposed": None if t is None else str(t),
            "signed": t.signed if fixed else None,
            "word_length": t.word_length if fixed else None,
            "fraction_length": t.fraction_length if fixed else None,
            "sim_min": None if self.simulated is None else self.simulated[0],
            "sim_max": None if self.simulated is None else self.simulated[1],
            "derived_min": None if self.derived is None else self.derived[0],
            "derived_max": None if self.derived is None else self.derived[1],
            "design_min": None if self.design is None else self.design[0],
            "design_max": None if self.design is None else self.design[1],
            "range_min": float(self.range_used[0]),
            "range_max": float(self.range_used[1]),
            "representable_min": None if rep is None else rep[0],
            "representable_max": None if rep is None else rep[1],
            "lsb": self.lsb,
            "percent_range_used": self.percent_range_used,
            "clip_fraction": self.clip_fraction,
            "overflows": self.overflows,
            "underflows": self.underflows,
            "sqnr_db": self.sqnr_db,
            "locked": self.locked,
            "source": self.source,
            "policy": self.policy,
            "rationale": self.rationale,
        }


# -- JSON helpers ----------------------------------------------------------------------------------
def _type_out(t) -> str | None:
    return None if t is None else str(t)


def _type_in(v) -> numerictype | str | None:
    if v is None or v in ("double", "inherit"):
        return v
    return numerictype.parse(v)


def _float_out(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else repr(v)  # 'inf', '-inf', 'nan'


def _float_in(v):
    return None if v is None else float(v)


def _pair_out(p):
    return None if p is None else [_float_out(p[0]), _float_out(p[1])]


def _pair_in(p):
    return None if p is None else (float(p[0]), float(p[1]))


def _entry_to_dict(p: ProposedType) -> dict:
    return {
        "name": p.name, "current": _type_out(p.current), "proposed": _type_out(p.proposed),
        "simulated": _pair_out(p.simulated),
        "range_used": [str(p.range_used[0]), str(p.range_used[1])],
        "locked": p.locked, "rationale": p.rationale, "derived": _pair_out(p.derived),
        "design": _pair_out(p.design), "source": p.source, "policy": p.policy,
        "clip_fraction": _float_out(p.clip_fraction), "overflows": p.overflows,
        "underflows": p.underflows, "sqnr_db": _float_out(p.sqnr_db),
        "percent_range_used": _float_out(p.percent_range_used),
    }


def _entry_from_dict(d: Mapping) -> ProposedType:
    return ProposedType(
        d["name"], _type_in(d["current"]), _type_in(d["proposed"]), _pair_in(d["simulated"]),
        (Fraction(d["range_used"][0]), Fraction(d["range_used"][1])), bool(d["locked"]),
        d["rationale"], _pair_in(d["derived"]), _pair_in(d["design"]), d["source"],
        d["policy"], _float_in(d["clip_fraction"]), d["overflows"], d["underflows"],
        _float_in(d["sqnr_db"]), _float_in(d["percent_range_used"]))


class Proposal(Mapping):
    """Proposed types, by signal name (a read-only mapping of :class:`ProposedType`).

    Attributes
    ----------
    types : TypeTable
        The proposed types: the table the proposal was made for, with every unlocked
        proposed signal changed (overrides removed), or a new table when none was given.
    settings : dict
        The arguments of the proposal (word length, margin, policy, source...), for reports.
    """

    def __init__(self, entries: Mapping[str, ProposedType], types: TypeTable,
                 settings: Mapping | None = None):
        self._entries = dict(entries)
        self.types = types
        self.settings = dict(settings or {})

    def __getitem__(self, name: str) -> ProposedType:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"Proposal has no signal {name!r}; proposed: "
                           f"{', '.join(map(repr, self._entries)) or '(none)'}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Proposal):
            return NotImplemented
        return (self._entries == other._entries and self.types == other.types
                and self.settings == other.settings)

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        lines = [f"Proposal({len(self._entries)} signals)"]
        for p in self._entries.values():
            lines.append(f"  {p.name}: {p.current} -> {p.proposed}  ({p.rationale})")
        return "\n".join(lines)

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per signal (see :meth:`ProposedType.to_row`), in proposal order."""
        return [p.to_row() for p in self._entries.values()]

    # -- serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A lossless JSON-ready dict (schema ``fixsim.Proposal/1``)."""
        return {"schema": PROPOSAL_SCHEMA, "settings": dict(self.settings),
                "types": self.types.to_dict(),
                "signals": [_entry_to_dict(p) for p in self._entries.values()]}

    @classmethod
    def from_dict(cls, data: Mapping) -> Proposal:
        """Rebuild from :meth:`to_dict`'s output."""
        schema = data.get("schema") if isinstance(data, Mapping) else None
        if schema != PROPOSAL_SCHEMA:
            raise ValueError(f"Proposal: unsupported schema {schema!r}; this version of "
                             f"fixsim reads {PROPOSAL_SCHEMA!r}.")
        entries = [_entry_from_dict(d) for d in data["signals"]]
        return cls({p.name: p for p in entries}, TypeTable.from_dict(data["types"]),
                   data.get("settings", {}))

    def to_json(self, **kwargs) -> str:
        """The proposal as JSON text (keyword arguments go to ``json.dumps``)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Proposal:
        """Read :meth:`to_json`'s output."""
        return cls.from_dict(parse_json(text, "Proposal.from_json"))

    def save(self, path: str | os.PathLike) -> None:
        """Write the proposal as JSON atomically (a temporary file in the same folder, then
        ``os.replace``)."""
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Proposal:
        """Read a proposal written by :meth:`save`."""
        return cls.from_dict(read_json(path, "Proposal.load"))




# -- argument checks -------------------------------------------------------------------------------
def _margin_factor(margin, where: str = "propose") -> Fraction:
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
        raise TypeError(f"{where}: margin must be a number of percent, got {margin!r}.")
    if not math.isfinite(margin):
        raise ValueError(f"{where}: margin must be a finite number of percent >= 0, got "
                         f"{margin!r}.")
    m = Fraction(str(margin)) if isinstance(margin, float) else Fraction(margin)
    if m < 0:
        raise ValueError(f"{where}: margin must be >= 0 percent, got {margin!r}.")
    return 1 + m / 100


def _check_wl(value, name: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 1 <= value <= 65535:
        raise ValueError(f"{where}: {name} must be an integer in 1..65535, got {value!r}.")
    return int(value)


def _check_fl(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{where}: fraction_length must be an integer, got {value!r}.")
    return int(value)


def _check_policy(policy, where: str) -> str:
    if not isinstance(policy, str) or policy.lower() not in POLICIES:
        raise ValueError(f"{where}: policy {policy!r} is not valid; valid: "
                         f"{', '.join(map(repr, POLICIES))}.")
    return policy.lower()


def _check_percentile(p, where: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 100:
        raise ValueError(f"{where}: percentile must be a number in (0, 100], got {p!r}.")
    return float(p)


def _is_derived(obj) -> bool:
    if not isinstance(obj, Mapping) or isinstance(obj, Recording):
        return False
    return all(hasattr(v, "lo") and hasattr(v, "hi") for v in obj.values())


def _unknown(name: str, known: list[str], what: str) -> KeyError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return KeyError(f"propose: {what} names signal {name!r}, which is neither recorded, "
                    f"derived nor in the type table.{hint} Known signals: "
                    f"{', '.join(map(repr, known[:20])) or '(none)'}.")


def _design_range(name: str, value) -> tuple[Fraction, Fraction]:
    try:
        lo, hi = value
        lo_f, hi_f = Fraction(lo), Fraction(hi)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"propose: design range of signal {name!r} must be a pair of finite "
                         f"numbers (min, max), got {value!r}.") from None
    if lo_f > hi_f:
        raise ValueError(f"propose: design range of signal {name!r} has min {lo!r} > max "
                         f"{hi!r}.")
    return lo_f, hi_f


def _best_type(name: str, lo: Fraction, hi: Fraction, sgn: bool, W: int) -> numerictype:
    """The best-precision W-bit type covering [lo, hi]."""
    if sgn and W == 1 and hi > 0:
        raise ValueError(f"propose: signal {name!r}: no signed 1-bit type holds the positive "
                         f"values of the range [{_fmt(lo)}, {_fmt(hi)}]; use word_length >= 2 "
                         "or signed=False.")
    F = best_fraction_length(np.array([lo, hi], dtype=object), sgn, W, "propose")
    # fi's best precision lets values within an LSB below the next power of two round up
    # past max; a proposal must *cover* the range, so widen until it does
    while not _covers(numerictype(sgn, W, F), lo, hi):
        F -= 1
    return numerictype(sgn, W, F)


def _smallest_word(name: str, lo: Fraction, hi: Fraction, sgn: bool, F: int) -> numerictype:
    """The smallest word length at fraction length F covering [lo, hi]."""
    scale = Fraction(2) ** F
    # magnitude bits of the stored integers needed: an estimate within a bit, then exact
    m = max(-lo * scale, hi * scale, Fraction(1))
    est = max(1, math.ceil(m).bit_length() + (1 if sgn else 0) - 1)
    if est > 65536:
        raise ValueError(f"propose: signal {name!r}: covering [{_fmt(lo)}, {_fmt(hi)}] at "
                         f"fraction length {F} needs about {est} bits, above the limit 65535; "
                         "use a smaller fraction length.")
    W = est
    while W <= 65535 and not _covers(numerictype(sgn, W, F), lo, hi):
        W += 1
    if W > 65535:
        raise ValueError(f"propose: signal {name!r}: covering [{_fmt(lo)}, {_fmt(hi)}] at "
                         f"fraction length {F} needs more than 65535 bits; use a smaller "
                         "fraction length.")
    while W > 1 and _covers(numerictype(sgn, W - 1, F), lo, hi):
        W -= 1
    return numerictype(sgn, W, F)


def _covers(T: numerictype, lo: Fraction, hi: Fraction) -> bool:
    return T.exact_min <= lo and hi <= T.exact_max


def _fmt(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):.6g}"


# -- propose ---------------------------------------------------------------------------------------
def propose(ranges=None, T: TypeTable | None = None, *, word_length: int | None = None,
            fraction_length: int | None = None, margin: float = 0, policy: str = "minmax",
            percentile: float = 99.99, source: str | None = None, derived=None,
            design: Mapping | None = None, signed: bool | None = None,
            overrides: Mapping | None = None, tied=None) -> Proposal:
    """Propose a type for every signal (see the module notes for the rules).

    Parameters
    ----------
    ranges : Recording or derived ranges, optional
        Simulation statistics (``collect`` or ``with fx.tool.record() as rec:``), or the
        derived ranges of ``fx.tool.derive`` (a mapping of names to objects with ``.lo``,
        ``.hi``, ``.bounded``, ``.reason``).
    T : TypeTable, optional
        The table in use: gives the current types and the locked signals, and is the base
        of ``proposal.types``.
    word_length : int, optional
        Word length of the proposed types (best precision). 16 when neither this nor
        *fraction_length* is given.
    fraction_length : int, optional
        Fraction length of the proposed types: the smallest word length covering the range
        is proposed. With *word_length* too, that exact type (it must cover the range).
    margin : float, default 0
        Safety margin in percent: the covered range is ``[lo, hi] * (1 + margin/100)``
        (not applied to design ranges).
    policy : {'minmax', 'percentile', 'mse', 'kl'}, default 'minmax'
        Clipping policy for recorded ranges (see :mod:`fixsim.tool._policies`). A signal
        recorded as extremes (inside a block: ``record``'s default ``internals``) has no
        histogram and is covered with ``'minmax'`` (the rationale says so); an override asking
        for another policy there is an error.
    percentile : float, default 99.99
        The percentile of ``|x|`` kept by ``policy='percentile'``.
    source : {'simulation', 'derived', 'design', 'union'}, optional
        Range source. Default: ``'union'`` when both a recording and derived ranges are
        given, else whichever is given, else ``'design'``.
    derived : derived ranges, optional
        Derived ranges, when *ranges* is a Recording (for ``source='union'``).
    design : mapping, optional
        ``{name: (min, max)}``: design ranges; they take precedence for their signals.
    signed : bool, optional
        Force signedness; by default a signal is signed when its range holds a negative
        value.
    overrides : mapping, optional
        Per-signal settings, ``{name: {...}}`` with keys among ``word_length``,
        ``fraction_length``, ``signed``, ``policy``, ``margin``, ``percentile``, or
        ``{'type': 'sfix16_En12'}`` (or the type itself) to set the type outright.
    tied : iterable of tuples of str, optional
        Groups of signals one type must serve, added to those *T* declares (``T.tied``: a
        table from ``Model.type_table`` lists its blocks' ``tied_signals``, such as an NCO's
        ``sin`` and ``cos``) and those the recording holds (``Recording.tied``). Each group
        gets the best type covering the union of its members' ranges, or the type of its
        locked (or overridden) member; see the module notes.

    Returns
    -------
    Proposal

    Raises
    ------
    ValueError
        An empty recording, a signal without finite recorded values or with infinite ones, an
        unbounded derived range, negative values with ``signed=False``, a range that no type
        of the given word and fraction length holds, a clipping policy without recorded data,
        an override of a locked signal, or tied signals fixed to different types (locked or
        overridden) or given different types by their own settings; each message names the
        signals and what to do.
    KeyError
        A design range, override or tied group naming a signal that is neither recorded,
        derived nor in *T*.

    Examples
    --------
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'double'})
    >>> with fx.tool.record() as rec:
    ...     _ = T.x([-8.0, 0.5, 8.0])
    >>> p = fx.tool.propose(rec, T, word_length=16, margin=50)
    >>> print(p['x'].proposed, p['x'].range_used, p.types['x'].type)
    sfix16_En11 (Fraction(-12, 1), Fraction(12, 1)) sfix16_En11
    """
    where = "propose"
    recording: Recording | None = None
    if isinstance(ranges, Recording):
        recording = ranges
    elif ranges is not None:
        if not _is_derived(ranges):
            raise TypeError(f"{where}: ranges must be a Recording or derived ranges (a mapping "
                            "of names to objects with .lo/.hi, from fx.tool.derive), got "
                            f"{type(ranges).__name__}.")
        if derived is not None:
            raise ValueError(f"{where}: derived ranges were given twice (as ranges and "
                             "derived=); pass the Recording as ranges for source='union'.")
        derived = ranges
    if derived is not None and not _is_derived(derived):
        raise TypeError(f"{where}: derived must map names to objects with .lo/.hi (from "
                        f"fx.tool.derive), got {type(derived).__name__}.")
    if T is not None and not isinstance(T, TypeTable):
        raise TypeError(f"{where}: T must be a TypeTable, got {type(T).__name__}.")
    W0 = _check_wl(word_length, "word_length", where)
    F0 = _check_fl(fraction_length, where)
    if W0 is None and F0 is None:
        W0 = 16
    k0 = _margin_factor(margin)
    policy0 = _check_policy(policy, where)
    pct0 = _check_percentile(percentile, where)
    if signed is not None and not isinstance(signed, bool | np.bool_):
        raise TypeError(f"{where}: signed must be True, False or None, got {signed!r}.")
    design = dict(design or {})
    if overrides is not None and not isinstance(overrides, Mapping):
        # regression: a list met dict()'s bare "dictionary update sequence element" error
        raise TypeError(f"propose: overrides must be a mapping of signal names to dicts of "
                        f"options, got {type(overrides).__name__} {overrides!r}.")
    overrides = dict(overrides or {})
    if source is None:
        if recording is not None and derived is not None:
            source = "union"
        elif recording is not None:
            source = "simulation"
        elif derived is not None:
            source = "derived"
        else:
            source = "design"
    if not isinstance(source, str) or source not in SOURCES:
        raise ValueError(f"{where}: source {source!r} is not valid; valid: "
                         f"{', '.join(map(repr, SOURCES))}.")
    if source in ("simulation", "union") and recording is None and source == "simulation":
        raise ValueError(f"{where}: source='simulation' needs a Recording as ranges (from "
                         "fx.tool.collect or fx.tool.record).")
    if source == "derived" and derived is None:
        raise ValueError(f"{where}: source='derived' needs derived ranges (fx.tool.derive).")
    if source == "union" and (recording is None or derived is None):
        raise ValueError(f"{where}: source='union' needs both a Recording (ranges) and "
                         "derived ranges (derived=).")
    if source == "design" and not design:
        raise ValueError(f"{where}: no ranges: give a Recording, derived ranges, or design "
                         "ranges (design={'name': (min, max)}).")
    if recording is not None and source in ("simulation", "union") and len(recording) == 0:
        raise ValueError(f"{where}: the recording is empty; run the algorithm inside "
                         "`with fx.tool.record() as rec:` (or fx.tool.collect) with type-table "
                         "casts T.name(x).")

    # the signals, in order: recorded, derived, design
    names: list[str] = []
    if source in ("simulation", "union"):
        names += recording.names
    if source in ("derived", "union"):
        names += [n for n in derived if n not in names]
    known = names + [n for n in (T.names if T is not None else []) if n not in names]
    for what, mapping in (("design", design), ("overrides", overrides)):
        for n in mapping:
            if known and n not in known:  # (design ranges alone may name any signal)
                raise _unknown(n, known, what)
    names += [n for n in design if n not in names]
    locked = T.locked if T is not None else frozenset()
    for n in overrides:
        if n in locked:
            raise ValueError(f"{where}: signal {n!r} is locked in the type table and also has "
                             f"an override; unlock it (T.unlock({n!r})) or drop the "
                             "override.")
    for n in [n for n in overrides if n not in names]:
        names.append(n)  # a signal set outright by an override

    groups = _tie_groups(T, tied, known, recording)

    table = T.override(None) if T is not None else TypeTable()
    settings = {"word_length": W0, "fraction_length": F0, "margin": _float_out(margin),
                "policy": policy0, "percentile": pct0, "source": source, "signed": signed}

    def one(name: str, tie: _Tie | None = None) -> ProposedType:
        return _propose_one(name, recording, derived, design, overrides.get(name), T, source,
                            W0, F0, k0, margin, policy0, pct0, signed, name in locked, tie)

    out: dict[str, ProposedType] = {name: one(name) for name in names}
    unproposed: dict[str, Any] = {}  # tied members in T with no range of their own
    for group in groups:
        members = tuple(n for n in group if n in out or (T is not None and n in T))
        if len(members) < 2:
            continue
        tie = _group_tie(members, out, T, locked, recording)
        if tie is None:
            continue
        for n in members:
            if n in out and not (out[n].locked or out[n].source == "override"):
                out[n] = one(n, tie)
        given = {n: out[n].proposed for n in members if n in out and not out[n].locked
                 and out[n].source != "override"}
        if len({str(t) for t in given.values()}) > 1:
            raise ValueError(
                "propose: the tied signals " + ", ".join(map(repr, members)) + " must share "
                "one type, but their own settings (overrides of word_length, fraction_length "
                "or signed) give " + ", ".join(f"{n!r} {t}" for n, t in given.items()) +
                "; give them the same settings.")
        shared = tie.fixed if tie.fixed is not None else next(iter(given.values()), None)
        for n in members:
            if n not in out and n not in locked and shared is not None:
                unproposed[n] = shared
    for name, p in out.items():
        if not p.locked and p.proposed is not None:  # (a str only from a tied locked member)
            _set_type(table, name, p.proposed)
    for name, t in unproposed.items():
        _set_type(table, name, t)
    return Proposal(out, table, settings)


def _set_type(table: TypeTable, name: str, t) -> None:
    """Give *name* the type *t* in *table*, keeping the entry's own modes."""
    if name in table:
        e = table.entry(name)
        table[name] = {"type": t, "rounding": e.rounding, "overflow": e.overflow}
    else:
        table[name] = t


def _tie_groups(T: TypeTable | None, tied, known: list[str],
                recording: Recording | None = None) -> list[tuple[str, ...]]:
    """The tied groups: those *T* declares (``T.tied``), those the blocks reported while
    recording (``recording.tied``) and *tied*, overlapping ones merged."""
    groups = [tuple(g) for g in (getattr(T, "_tied", None) or ())] if T is not None else []
    if recording is not None:
        groups += [tuple(g) for g in getattr(recording, "tied", ())]
    if tied is not None:
        bad = TypeError(f"propose: tied must be a list of groups of signal names, e.g. "
                        f"[('lo.sin', 'lo.cos')], got {tied!r}.")
        if isinstance(tied, str | Mapping) or not isinstance(tied, Iterable):
            raise bad
        for g in tied:
            if isinstance(g, str) or not isinstance(g, Iterable):
                raise bad
            g = tuple(g)
            for n in g:
                if not isinstance(n, str):
                    raise bad
                if known and n not in known:
                    raise _unknown(n, known, "tied")
            groups.append(g)
    merged: list[list[str]] = []
    for g in groups:
        joined = [n for m in merged if set(m) & set(g) for n in m]
        merged = [m for m in merged if not set(m) & set(g)]
        merged.append(list(dict.fromkeys(joined + list(g))))
    return [tuple(m) for m in merged if len(m) > 1]


def _group_tie(members: tuple[str, ...], out: Mapping[str, ProposedType],
               T: TypeTable | None, locked, recording: Recording | None) -> _Tie | None:
    """How a tied group is typed (see :class:`_Tie`), from its members' own proposals."""
    fixed: dict[str, tuple[Any, str]] = {}
    for n in members:
        p = out.get(n)
        if p is not None and (p.locked or p.source == "override"):
            fixed[n] = (p.proposed, "locked" if p.locked else "overridden")
        elif p is None and n in locked:
            fixed[n] = (T.type_of(n), "locked")
    if fixed:
        if len({str(t) for t, _ in fixed.values()}) > 1:
            raise ValueError(
                "propose: the tied signals " + ", ".join(map(repr, members)) + " must share "
                "one type, but " + " and ".join(f"{n!r} is {why} to {t}"
                                                for n, (t, why) in fixed.items()) +
                "; lock (or override) them to the same type, or unlock (or drop the override "
                "of) all but one.")
        ref, (t, why) = next(iter(fixed.items()))
        return _Tie(members, fixed=t, ref=ref, reason=why)
    own = [out[n] for n in members if n in out]
    if not own:
        return None
    whole = all(p.source == "simulation" and recording is not None and p.name in recording
                and recording[p.name].whole for p in own)
    return _Tie(members, min(p.range_used[0] for p in own), max(p.range_used[1] for p in own),
                whole, any(_sat_sym(T, n) for n in members))


def _parse_override(name: str, ov) -> dict:
    if ov is None:
        return {}
    if isinstance(ov, numerictype | str):
        ov = {"type": ov}
    if not isinstance(ov, Mapping):
        raise TypeError(f"propose: override of signal {name!r} must be a dict or a type, got "
                        f"{type(ov).__name__}.")
    bad = set(ov) - set(_OVERRIDE_KEYS)
    if bad:
        raise ValueError(f"propose: override of signal {name!r} has unknown keys "
                         f"{sorted(bad)}; valid: {', '.join(_OVERRIDE_KEYS)}.")
    return dict(ov)


def _recorded(name: str, recording: Recording | None) -> SignalStats | None:
    if recording is None or name not in recording:
        return None
    return recording[name]


def _sat_sym(T: TypeTable | None, name: str) -> bool:
    """Whether signal *name*'s cast saturates symmetrically (``sat_sym``: its entry's mode,
    else the table's, else the fimath's in force)."""
    if T is None or name not in T:
        return False
    o = T.entry(name).overflow
    if o is None:
        o = T.overflow if T.overflow is not None else current_fimath().overflow
    return o == Overflow.SAT_SYM


def _propose_one(name, recording, derived, design, ov, T, source, W0, F0, k0, margin0,
                 policy0, pct0, signed0, is_locked, tie: _Tie | None = None) -> ProposedType:
    where = "propose"
    ov = _parse_override(name, ov)
    # a signed sat_sym cast also moves the most negative value: its range is [-max, max]
    # (regression: a recorded -1.0 got sfix8_En7, whose sat_sym cast overflows on it)
    sym = _sat_sym(T, name)
    if T is not None and name in T:
        current = T.type_of(name)
    else:
        s0 = _recorded(name, recording)
        current = (numerictype.parse(s0.numerictype)
                   if s0 is not None and s0.numerictype is not None else None)
    s = _recorded(name, recording) if source in ("simulation", "union") else None
    if s is None and recording is not None:
        s = _recorded(name, recording)  # for metrics on design/derived proposals
    sim = None
    if s is not None and s.min is not None:
        sim = (s.min, s.max)
    der = None
    d = derived.get(name) if derived is not None else None
    if d is not None:
        der = (float(np.min(d.lo)), float(np.max(d.hi)))
    des = _design_range(name, design[name]) if name in design else None
    des_f = None if des is None else (float(des[0]), float(des[1]))

    def finish(Tp, rng, src, pol, why, locked=False):
        m = (_policies.type_metrics(s, Tp, sym) if s is not None and s.min is not None
             and isinstance(Tp, numerictype) else None)
        if m is None and s is not None and s.min is not None and Tp in ("double", "inherit"):
            # a 'double' or 'inherit' (full-precision) entry quantizes nothing at its cast
            m = {"clip_fraction": 0.0, "overflows": 0, "underflows": 0, "sqnr_db": None}
        return ProposedType(
            name, current, Tp, sim, rng, locked, why, der, des_f, src, pol,
            None if m is None else m["clip_fraction"],
            None if m is None else m["overflows"],
            None if m is None else m["underflows"],
            None if m is None else m["sqnr_db"],
            _percent_used(Tp, s, rng) if isinstance(Tp, numerictype) else None)

    # -- the range
    W = _check_wl(ov.get("word_length", W0), "word_length", where)
    F = _check_fl(ov.get("fraction_length", F0), where)
    if "word_length" in ov and "fraction_length" not in ov:
        F = None
    if "fraction_length" in ov and "word_length" not in ov:
        W = None
    k = _margin_factor(ov["margin"], f"propose: overrides[{name!r}]") if "margin" in ov else k0
    margin = ov.get("margin", margin0)
    policy = _check_policy(ov.get("policy", policy0), where)
    pct = _check_percentile(ov.get("percentile", pct0), where)
    sgn_forced = ov.get("signed", signed0)

    if "type" in ov:
        Tp = ov["type"]
        if not isinstance(Tp, numerictype):
            try:
                Tp = numerictype.parse(Tp)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"propose: overrides[{name!r}]['type'] = {Tp!r} is not a "
                                f"type: {exc}") from None
        rng = (Fraction(0), Fraction(0)) if sim is None else (Fraction(sim[0]), Fraction(sim[1]))
        return finish(Tp, rng, "override", "override", f"override: {Tp}")

    if is_locked and des is None:
        # a locked type is kept whatever its ranges are: an unbounded derived range or no
        # finite recorded value is no error for it (regression: a Model's locked 'inherit'
        # CIC registers, unbounded in double mode, made propose and refine raise)
        bad = None
        if source in ("derived", "union") and d is not None and not _bounded(d):
            bad = f"derived range unbounded: {getattr(d, 'reason', None) or 'no reason given'}"
        elif s is not None and source in ("simulation", "union") and (s.inf_count
                                                                       or s.min is None):
            bad = "no finite recorded range"
        if bad is not None:
            rng = ((Fraction(sim[0]), Fraction(sim[1])) if sim is not None
                   else (Fraction(0), Fraction(0)))
            return finish(current, rng, "simulation" if sim is not None else "derived",
                          "minmax", f"locked: kept ({bad})", locked=True)
    if des is not None:
        lo, hi = des
        src, pol = "design", "minmax"
        what = f"design range [{_fmt(lo)}, {_fmt(hi)}]"
        whole = False
    else:
        if source in ("simulation", "union") and s is not None:
            if s.inf_count:
                raise ValueError(f"propose: signal {name!r} recorded {s.inf_count} infinite "
                                 "value(s), which no fixed-point type holds; fix the algorithm "
                                 "or record it without them.")
            if s.min is None:
                raise ValueError(f"propose: signal {name!r} has no finite recorded values "
                                 f"(count {s.count}, NaN {s.nan_count}); record "
                                 "representative data, or give a design range "
                                 f"(design={{{name!r}: (min, max)}}).")
        if source in ("derived", "union") and d is not None and not _bounded(d):
            raise ValueError(f"propose: signal {name!r} has an unbounded derived range "
                             f"({getattr(d, 'reason', None) or 'no reason given'}); give it "
                             f"a design range (design={{{name!r}: (min, max)}}) or use "
                             "source='simulation'.")
        if source == "simulation" or (source == "union" and d is None):
            if s is None:
                raise ValueError(f"propose: signal {name!r} was not recorded; give it a "
                                 "design range or record it.")
            lo, hi, src = Fraction(s.min), Fraction(s.max), "simulation"
        elif source == "derived" or (source == "union" and sim is None):
            if d is None:
                raise ValueError(f"propose: signal {name!r} has no derived range; give it a "
                                 "design range.")
            lo, hi, src = Fraction(der[0]), Fraction(der[1]), "derived"
        else:  # union of both
            lo = min(Fraction(s.min), Fraction(der[0]))
            hi = max(Fraction(s.max), Fraction(der[1]))
            src = "union"
        # whole numbers only from the simulation range: a union also covers derived values
        # nobody recorded, which need not be whole (a derived bound of -0.5, say)
        whole = src == "simulation" and s.whole
        pol = policy
        what = f"{src} range [{_fmt(lo)}, {_fmt(hi)}]"
        if policy != "minmax" and src == "simulation" and s.detail == "extremes":
            if "policy" in ov:
                raise ValueError(
                    f"propose: overrides[{name!r}] asks for policy {policy!r}, which needs the "
                    f"signal's histogram, but {name!r} was recorded with detail='extremes' (a "
                    "signal inside a block: min, max and counts only). Record with "
                    "fx.tool.record(internals='values'), or use policy='minmax' for it.")
            # a block's accumulator, product or state: covered, not clipped
            pol = policy = "minmax"
            what += (" (recorded as extremes, inside a block: minmax, as no histogram was "
                     "recorded)")
        if policy != "minmax":
            if src != "simulation":
                raise ValueError(f"propose: policy {policy!r} clips recorded ranges, and the "
                                 f"range of signal {name!r} comes from {src!r}; use "
                                 "source='simulation' or policy='minmax'.")
            if policy in ("mse", "kl") and W is None:
                raise ValueError(f"propose: policy {policy!r} needs a word length (signal "
                                 f"{name!r}); give word_length.")
            if policy == "percentile":
                a = Fraction(_policies.percentile_threshold(s, pct))
                what += f" clipped to |x| <= {float(a):.6g} ({pct:g}th percentile of |x|)"
                lo, hi = _clip_range(lo, hi, a)
            elif policy == "kl":
                sg = bool(lo < 0) if sgn_forced is None else bool(sgn_forced)
                levels = 1 << (W - 1 if sg else W) if W < 62 else 1 << 61
                a = Fraction(_policies.kl_threshold(s, levels))
                what += f" clipped to |x| <= {float(a):.6g} (KL calibration, {levels} levels)"
                lo, hi = _clip_range(lo, hi, a)
        if k != 1:
            lo, hi = lo * k, hi * k
            what += f" + {margin}% margin"
    if is_locked:
        return finish(current, (lo, hi), src, pol, "locked: kept", locked=True)
    cover_sym = sym
    if tie is not None:
        names = ", ".join(tie.group)
        if tie.fixed is not None:
            Tp = tie.fixed
            why = f"tied to {tie.ref} ({tie.reason}): {Tp}, one type for {names}"
            if isinstance(Tp, numerictype) and not _covers(Tp, lo, hi):
                why += f", which does not cover this signal's {what}"
            return finish(Tp, (lo, hi), src, pol, why)
        what = f"union of the ranges of {names}, which share one type; this signal: {what}"
        lo, hi, whole = tie.lo, tie.hi, tie.whole
        cover_sym = sym or tie.sym
    sgn = bool(lo < 0) if sgn_forced is None else bool(sgn_forced)
    if lo < 0 and not sgn:
        raise ValueError(f"propose: signal {name!r} has negative values (min {float(lo)!r}) "
                         "and signed=False; an unsigned type cannot hold them. Pass "
                         "signed=None to take signedness from the range.")
    # the range the type must hold: under sat_sym, [-m, m] covers [lo, hi] symmetrically
    c_lo, c_hi = (-max(-lo, hi), max(-lo, hi)) if cover_sym and sgn else (lo, hi)
    if W is not None and F is not None:
        Tp = numerictype(sgn, W, F)
        if not _covers(Tp, c_lo, c_hi):
            raise ValueError(f"propose: signal {name!r}: no {W}-bit type with fraction length "
                             f"{F} holds the {what} ({Tp} holds [{Tp.min!r}, {Tp.max!r}]); "
                             "raise word_length or lower fraction_length.")
        why = f"{Tp} as requested, covering [{_fmt(lo)}, {_fmt(hi)}] ({what})"
    elif W is not None:
        Tp = _best_type(name, c_lo, c_hi, sgn, W)
        why = f"best precision for {W} bits covering [{_fmt(lo)}, {_fmt(hi)}] ({what})"
        if pol == "mse" and tie is None:  # (a tied group covers its members' ranges)
            Fm, _ = _policies.mse_fraction_length(s, sgn, W, Tp.fraction_length,
                                                  symmetric=sym)
            if Fm != Tp.fraction_length:
                why = (f"minimum estimated clipping + rounding error for {W} bits: "
                       f"{Fm - Tp.fraction_length} bit(s) finer than covering "
                       f"[{_fmt(lo)}, {_fmt(hi)}] ({what})")
            else:
                why = (f"minimum estimated clipping + rounding error for {W} bits: covers "
                       f"[{_fmt(lo)}, {_fmt(hi)}] ({what})")
            Tp = numerictype(sgn, W, Fm)
        if whole and Tp.fraction_length > 0:
            Tp = numerictype(sgn, W, 0)
            why += "; whole numbers: fraction length 0"
        if pol == "mse" and tie is None:
            # the range covered is what the chosen type holds of the recorded range
            # (regression: range_used gave the unclipped range, which the type does not hold)
            lo, hi = _clip_to(Tp, lo, hi)
    else:
        Tp = _smallest_word(name, c_lo, c_hi, sgn, F)
        why = (f"smallest word length at fraction length {F} covering "
               f"[{_fmt(lo)}, {_fmt(hi)}] ({what})")
    return finish(Tp, (lo, hi), src, pol, why)


def _clip_range(lo: Fraction, hi: Fraction, a: Fraction) -> tuple[Fraction, Fraction]:
    """``[lo, hi]`` with every value clipped to ``[-a, a]`` (``a >= 0``): a range that
    lies beyond ``a`` becomes the point it clips to (regression: a constant 0.3 under
    ``policy='kl'``, whose threshold is 0.297, gave the inverted range (0.3, 0.297))."""
    return min(max(lo, -a), a), max(min(hi, a), -a)


def _clip_to(T: numerictype, lo: Fraction, hi: Fraction) -> tuple[Fraction, Fraction]:
    """``[lo, hi]`` clipped to the exact representable range of *T*."""
    lsb = Fraction(2) ** -T.fraction_length
    tlo = -(Fraction(2) ** (T.word_length - 1)) * lsb if T.signed else Fraction(0)
    thi = (Fraction(2) ** (T.word_length - (1 if T.signed else 0)) - 1) * lsb
    return max(lo, tlo), min(hi, thi)


def _bounded(d) -> bool:
    b = getattr(d, "bounded", None)
    if b is None:
        return bool(np.all(np.isfinite(d.lo)) and np.all(np.isfinite(d.hi)))
    return bool(b)


def _percent_used(Tp: numerictype, s: SignalStats | None, rng) -> float:
    if s is not None and s.min is not None:
        lo, hi = s.min, s.max
    else:
        lo, hi = rng
    return _policies.percent_range_used(Tp, lo, hi)
