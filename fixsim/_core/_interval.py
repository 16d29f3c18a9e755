"""Intervals: the value domain that static range analysis (``fx.tool.derive``) runs on.

An :class:`Interval` is an array of closed real intervals ``[lo, hi]`` (float64 bounds,
possibly infinite). It lives in ``_core`` so that DSP blocks and network layers can recognise
an interval input and return their own worst-case bound without importing the tool
(DESIGN §2). Blocks report the derived range of each internal signal with
:func:`report_range`; the tool listens with :class:`range_listening`.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["Interval", "RangeEvent", "report_range", "range_listening", "ranges_active"]


class Interval:
    """An array of closed intervals ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : array_like
        Lower and upper bounds (broadcast together; float64). ``hi`` defaults to ``lo`` (a
        point interval). ``lo <= hi`` must hold elementwise; bounds may be infinite.
    reason : str, optional
        Why the interval is unbounded, when it is (for reports).
    """

    __array_priority__ = 1000

    def __init__(self, lo, hi=None, *, reason: str | None = None):
        lo_a = np.asarray(lo, dtype=np.float64)
        hi_a = lo_a if hi is None else np.asarray(hi, dtype=np.float64)
        lo_a, hi_a = np.broadcast_arrays(lo_a, hi_a)
        if np.isnan(lo_a).any() or np.isnan(hi_a).any():
            raise ValueError("Interval: bounds must not be NaN.")
        if (lo_a > hi_a).any():
            raise ValueError("Interval: lo must be <= hi elementwise.")
        self.lo = np.array(lo_a)
        self.hi = np.array(hi_a)
        self.reason = reason

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    @property
    def ndim(self) -> int:
        return self.lo.ndim

    @property
    def size(self) -> int:
        return self.lo.size

    def __len__(self) -> int:
        return len(self.lo)

    @property
    def bounded(self) -> bool:
        """Whether every bound is finite."""
        return bool(np.isfinite(self.lo).all() and np.isfinite(self.hi).all())

    def hull(self) -> tuple[float, float]:
        """``(min lo, max hi)`` over all elements."""
        if self.lo.size == 0:
            raise ValueError("Interval.hull: empty interval array.")
        return float(self.lo.min()), float(self.hi.max())

    def __repr__(self) -> str:
        if self.lo.ndim == 0:
            return f"Interval({float(self.lo)!r}, {float(self.hi)!r})"
        lo, hi = self.hull() if self.lo.size else (np.nan, np.nan)
        return f"<Interval shape={self.shape} hull=[{lo!r}, {hi!r}]>"


@dataclasses.dataclass(frozen=True)
class RangeEvent:
    """A derived range reported for a named signal."""

    name: str
    lo: float
    hi: float
    reason: str | None = None


_range_hooks: contextvars.ContextVar[tuple[Callable[[RangeEvent], None], ...]] = \
    contextvars.ContextVar("fixsim_range_hooks", default=())


def ranges_active() -> bool:
    """Whether static range analysis is listening."""
    return bool(_range_hooks.get())


def report_range(name: str, lo: float, hi: float, reason: str | None = None) -> None:
    """Report the derived range ``[lo, hi]`` of signal *name* (infinite bounds: unbounded,
    with *reason*). Does nothing when nobody listens."""
    hooks = _range_hooks.get()
    if not hooks:
        return
    event = RangeEvent(name, float(lo), float(hi), reason)
    for fn in hooks:
        fn(event)


class range_listening:  # noqa: N801 - used like a function
    """Context manager adding *fn* as a derived-range listener for the block."""

    def __init__(self, fn: Callable[[RangeEvent], None]):
        self._fn = fn
        self._token: contextvars.Token | None = None

    def __enter__(self) -> range_listening:
        self._token = _range_hooks.set(_range_hooks.get() + (self._fn,))
        return self

    def __exit__(self, *exc) -> None:
        _range_hooks.reset(self._token)
