"""Proposing types from recorded ranges (the ``minmax`` policy, MATLAB's arithmetic).

For each signal, the simulated range ``[min, max]`` is widened by the safety margin
(``[min, max] * (1 + margin/100)``, MATLAB's rule: a 50% margin turns ``[-8, 8]`` into
``[-12, 12]``), and the proposed type is the best-precision type of the requested word length
that covers it: the largest fraction length at which ``min <= lo`` and ``hi <= max`` hold
exactly (MATLAB's ``fi`` best-precision rule, computed on exact rationals, and one bit wider
where a value lies within an LSB below a power of two, which ``fi`` would round up past
``max``). Signedness follows the
widened range (signed when it holds a negative value) unless ``signed`` is given; signals
whose recorded values are all whole numbers get fraction length ``min(best, 0)``; locked
entries keep their type.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterator, Mapping
from fractions import Fraction

import numpy as np

from .._core._convert import best_fraction_length
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable
from ._record import Recording

__all__ = ["propose", "Proposal", "ProposedType"]


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
    simulated : tuple of float
        The recorded ``(min, max)``.
    range_used : tuple of Fraction
        The range the proposal covers: the simulated range times ``1 + margin/100``, exact.
    locked : bool
    rationale : str
        One line saying why.
    """

    name: str
    current: numerictype | str | None
    proposed: numerictype | str | None
    simulated: tuple[float, float]
    range_used: tuple[Fraction, Fraction]
    locked: bool
    rationale: str

    @property
    def representable(self) -> tuple[float, float] | None:
        """The proposed type's ``(min, max)``."""
        t = self.proposed
        return (t.min, t.max) if isinstance(t, numerictype) else None


class Proposal(Mapping):
    """Proposed types, by signal name (a read-only mapping of :class:`ProposedType`).

    ``proposal.types`` is a :class:`~fixsim.TypeTable` with the proposed types: the table the
    proposal was made for, with every unlocked recorded signal changed (overrides removed),
    or a new table when none was given.
    """

    def __init__(self, entries: Mapping[str, ProposedType], types: TypeTable):
        self._entries = dict(entries)
        self.types = types

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

    def __repr__(self) -> str:
        lines = [f"Proposal({len(self._entries)} signals)"]
        for p in self._entries.values():
            lines.append(f"  {p.name}: {p.current} -> {p.proposed}  ({p.rationale})")
        return "\n".join(lines)


def _margin_factor(margin) -> Fraction:
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
        raise TypeError(f"propose: margin must be a number of percent, got {margin!r}.")
    m = Fraction(str(margin)) if isinstance(margin, float) else Fraction(margin)
    if m < 0:
        raise ValueError(f"propose: margin must be >= 0 percent, got {margin!r}.")
    return 1 + m / 100


def _covers(T: numerictype, lo: Fraction, hi: Fraction) -> bool:
    return T.exact_min <= lo and hi <= T.exact_max


def _fmt(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):.6g}"


def propose(recording: Recording, types: TypeTable | None = None, *, word_length: int = 16,
            margin: float = 0, signed: bool | None = None) -> Proposal:
    """Propose a type for every recorded signal (``minmax`` policy).

    Parameters
    ----------
    recording : Recording
        Simulation statistics (``with fx.tool.record() as rec:``).
    types : TypeTable, optional
        The table in use: gives the current types and the locked signals, and is the base
        of ``proposal.types``.
    word_length : int, default 16
        Word length of every proposed type.
    margin : float, default 0
        Safety margin in percent: the covered range is ``[min, max] * (1 + margin/100)``.
    signed : bool, optional
        Force signedness; by default a signal is signed when its (widened) range holds a
        negative value.

    Returns
    -------
    Proposal

    Raises
    ------
    ValueError
        A signal with no finite recorded values, with infinite values, or negative values
        when ``signed=False``; the message names the signal.

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
    if not isinstance(recording, Recording):
        raise TypeError(f"propose: expected a Recording, got {type(recording).__name__}.")
    if types is not None and not isinstance(types, TypeTable):
        raise TypeError(f"propose: types must be a TypeTable, got {type(types).__name__}.")
    if isinstance(word_length, bool) or not isinstance(word_length, numbers.Integral) \
            or not 1 <= word_length <= 65535:
        raise ValueError(f"propose: word_length must be an integer in 1..65535, got "
                         f"{word_length!r}.")
    W = int(word_length)
    k = _margin_factor(margin)
    if len(recording) == 0:
        raise ValueError("propose: the recording is empty; run the algorithm inside "
                         "`with fx.tool.record() as rec:` with type-table casts T.name(x).")
    locked = types.locked if types is not None else frozenset()
    table = types.override(None) if types is not None else TypeTable()
    out: dict[str, ProposedType] = {}
    for name, s in recording.items():
        if types is not None and name in types:
            current = types.type_of(name)
        elif s.numerictype is not None:
            current = numerictype.parse(s.numerictype)
        else:
            current = None
        if s.inf_count:
            raise ValueError(f"propose: signal {name!r} recorded {s.inf_count} infinite "
                             "value(s), which no fixed-point type holds; fix the algorithm or "
                             "record it without them.")
        if s.min is None:
            raise ValueError(f"propose: signal {name!r} has no finite recorded values (count "
                             f"{s.count}, NaN {s.nan_count}); record representative data.")
        sim = (s.min, s.max)
        lo, hi = Fraction(s.min) * k, Fraction(s.max) * k
        if name in locked:
            out[name] = ProposedType(name, current, current, sim, (lo, hi), True,
                                     "locked: kept")
            continue
        sgn = bool(lo < 0) if signed is None else bool(signed)
        if lo < 0 and not sgn:
            raise ValueError(f"propose: signal {name!r} has negative values (min {s.min!r}) "
                             "and signed=False; an unsigned type cannot hold them. Pass "
                             "signed=None to take signedness from the range.")
        F = best_fraction_length(np.array([lo, hi], dtype=object), sgn, W, "propose")
        # fi's best precision lets values within an LSB below the next power of two round up
        # past max; a proposal must *cover* the range, so widen until it does
        while not _covers(numerictype(sgn, W, F), lo, hi):
            F -= 1
        why = (f"best precision for {W} bits covering [{_fmt(lo)}, {_fmt(hi)}]"
               + (f" (simulated [{s.min!r}, {s.max!r}] + {margin}% margin)" if k != 1 else ""))
        if s.whole and F > 0:
            F = 0
            why += "; whole numbers: fraction length 0"
        T = numerictype(sgn, W, F)
        out[name] = ProposedType(name, current, T, sim, (lo, hi), False, why)
        if name in table:
            e = table.entry(name)
            table[name] = {"type": T, "rounding": e.rounding, "overflow": e.overflow}
        else:
            table[name] = T
    return Proposal(out, table)
