"""Proposals that hold under their own quantization: propose, derive under it, repeat.

A type proposed from double ranges (recorded or derived) covers the double run. The fixed run
differs from it by every quantization upstream of a signal (weights, coefficients, the
roundings of earlier casts), so a signal whose double extreme sits near its type's limit can
overflow in the fixed run. :func:`fx.tool.derive` under a fixed table bounds the fixed run
itself; :func:`refine` proposes, derives under the proposal, proposes again from the hull of
everything seen, and stops when the types no longer change. Each round's ranges contain the
previous ones, so each signal's range only grows and its fraction length (at a given word
length) only falls: the rounds end. The result's types hold every value of the fixed run for
every input in the design ranges, by the same guarantee as ``derive``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping
from fractions import Fraction

from .._core._numerictype import numerictype
from .._core._typetable import TypeTable
from ._derive import DerivedRanges, derive
from ._propose import Proposal, propose
from ._record import Recording

__all__ = ["refine"]


def refine(fn: Callable, input_ranges, ranges, T: TypeTable | None = None, *,
           shape=None, like=None, args: tuple = (), kwargs: Mapping | None = None,
           max_rounds: int = 8, **options) -> Proposal:
    """Propose types, then derive under them and propose again until the types settle.

    Parameters
    ----------
    fn : callable
        The algorithm, as for :func:`fixsim.tool.derive` (``fn(x, T)``, a network, ...).
    input_ranges : (lo, hi), Interval or dict
        The design ranges of the inputs (see :func:`fixsim.tool.derive`).
    ranges : Recording or DerivedRanges
        The first ranges to propose from: a recording (``collect``) or the ranges derived
        under a double table. Every round proposes from the hull of these and every range
        derived so far (``source='union'`` for a recording).
    T : TypeTable, optional
        The table in use (current types, locked entries), as for :func:`propose`.
    shape, like : optional
        The input shape for the derivations (see :func:`fixsim.tool.derive`).
    args, kwargs : optional
        Further arguments of *fn* (as ``derive``'s ``*args``/``**kwargs``).
    max_rounds : int, default 8
        Derivations at most; a ``RuntimeError`` if the types still change after them.
    **options
        :func:`propose`'s options (``word_length``, ``fraction_length``, ``margin``,
        ``policy``, ``design``, ``signed``, ``overrides``, ``derived``); not ``source``.

    Returns
    -------
    Proposal
        The last proposal: deriving under ``proposal.types`` gives ranges it covers. Types
        refine does not size (locked entries, design ranges, ``{'type': ...}`` overrides)
        are kept as given; a ``UserWarning`` names those whose derived range leaves them.

    Examples
    --------
    The weight 0.98 quantizes to 1.0 in ``sfix8_En4`` (the weights' range is [-6, 0.98]), so
    the fixed run reaches y = 16, past the ``ufix8_En4`` sized for the double 15.68:

    >>> import numpy as np, fixsim as fx
    >>> W = np.array([0.98, -6.0])
    >>> def dense_relu(x, T):
    ...     return T.y(np.maximum(T.acc(T.x(x) @ T.w(W)), 0))
    >>> T = fx.TypeTable({'x': 'double', 'w': 'double', 'acc': 'double', 'y': 'double'})
    >>> d = fx.tool.derive(dense_relu, (0, 16), T, shape=2)
    >>> str(fx.tool.propose(d, T, word_length=8)['y'].proposed)
    'ufix8_En4'
    >>> p = fx.tool.refine(dense_relu, (0, 16), d, T, word_length=8, shape=2)
    >>> str(p['y'].proposed), fx.tool.derive(dense_relu, (0, 16), p.types, shape=2)['y'].hi
    ('ufix8_En3', 16.0)
    """
    where = "refine"
    valid = set(inspect.signature(propose).parameters) - {"ranges", "T", "source"}
    bad = sorted(set(options) - valid - {"source"})
    if bad:
        raise TypeError(f"{where}: unknown option(s) {', '.join(map(repr, bad))}; valid: "
                        f"shape, like, args, kwargs, max_rounds and propose's "
                        f"{', '.join(sorted(valid))}.")
    if "source" in options:
        raise TypeError(f"{where}: source={options['source']!r} is not an option here: every "
                        "round proposes from the union of the given ranges and the derived "
                        "ones; call fx.tool.propose for another source.")
    if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 1:
        raise ValueError(f"{where}: max_rounds={max_rounds!r} must be an int >= 1.")
    if not isinstance(ranges, Recording | DerivedRanges):
        raise TypeError(f"{where}: ranges must be a Recording (fx.tool.collect / record) or "
                        f"DerivedRanges (fx.tool.derive), got {type(ranges).__name__}.")
    seen = options.pop("derived", None)
    if seen is not None and not isinstance(seen, DerivedRanges):
        raise TypeError(f"{where}: derived= must be DerivedRanges (fx.tool.derive), got "
                        f"{type(seen).__name__}.")
    if isinstance(ranges, DerivedRanges):
        seen = ranges if seen is None else ranges.merge(seen)

    def proposal(derived):
        if isinstance(ranges, Recording):
            if derived is None:
                return propose(ranges, T, **options)
            return propose(ranges, T, derived=derived, source="union", **options)
        return propose(derived, T, source="derived", **options)

    p = proposal(seen)
    for _ in range(max_rounds):
        d = derive(fn, input_ranges, p.types, *args, shape=shape, like=like,
                   **dict(kwargs or {}))
        seen = d if seen is None else seen.merge(d)
        q = proposal(seen)
        if q.types.to_dict() == p.types.to_dict():
            _warn_kept(q, d)
            return q
        p = q
    raise RuntimeError(f"{where}: the proposed types still changed after {max_rounds} "
                       "derivations (a range that keeps growing with its own type: a "
                       "feedback loop through a narrowing cast?); raise max_rounds, add a "
                       "margin, or lock the signal's type.")


def _warn_kept(p: Proposal, d: DerivedRanges) -> None:
    """Warn about the signals whose type refine did not size (locked, a design range, an
    override) and whose range derived under the result leaves that type: their casts can
    overflow in the fixed run (regression: refine returned them silently)."""
    out = []
    for name, q in p.items():
        if not (q.locked or q.source in ("design", "override")) or name not in d:
            continue
        T = q.proposed
        if not isinstance(T, numerictype):
            continue
        r = d[name]
        lo, hi = T.exact_min, T.exact_max
        if not r.bounded or Fraction(r.lo) < lo or Fraction(r.hi) > hi:
            why = "locked" if q.locked else f"from {q.source}"
            out.append(f"{name} ({T}, {why}): derived [{r.lo!r}, {r.hi!r}] vs "
                       f"[{float(lo)!r}, {float(hi)!r}]")
    if out:
        warnings.warn("refine: the fixed run can overflow these signals, whose types refine "
                      "kept as given: " + "; ".join(out) + ". Unlock them, widen the design "
                      "range, or drop the override to have them sized.", stacklevel=3)
