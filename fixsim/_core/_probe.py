"""The quantization hook: every quantization reports its overflow and underflow counts here.

``_core`` knows nothing of the fixed-point tool; the tool (and ``count_quantization``) add a
listener through a context variable, so the cost without listeners is one lookup.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
from collections.abc import Callable

__all__ = ["QuantizationEvent", "active", "report", "listening", "count_quantization", "probe_name",
           "enter", "leave", "swap_sink", "silenced"]


@dataclasses.dataclass(slots=True)
class QuantizationEvent:
    """One quantization: its target type, element count and overflow/underflow counts (read
    it; do not change it)."""

    numerictype: object
    size: int
    overflows: int
    underflows: int
    operation: str
    name: str | None = None


_listeners: contextvars.ContextVar[tuple[Callable[[QuantizationEvent], None], ...]] = \
    contextvars.ContextVar("fixsim_quantization_listeners", default=())
_name: contextvars.ContextVar[str | None] = contextvars.ContextVar("fixsim_probe_name",
                                                                  default=None)


# this thread's count sink (see swap_sink): a thread-local, so that no other thread's
# quantizations add to it
_tls = threading.local()
_tls.sink = None


def active() -> bool:
    """Whether anyone listens for quantization counts (kernels may skip counting if not)."""
    return bool(_listeners.get()) or getattr(_tls, "sink", None) is not None


def swap_sink(sink: list | None) -> list | None:
    """Make *sink* (a list ``[overflows, underflows]``, or None) this thread's count sink and
    return the previous one. While a sink is set, every quantization in this thread counts
    and adds its counts to it, with no event built: a named cast that needs only its own
    counts uses this instead of a listener (about 1 us less per cast)."""
    prev = getattr(_tls, "sink", None)
    _tls.sink = sink
    return prev


def report(T, size: int, overflows: int, underflows: int, operation: str) -> None:
    """Send one quantization's counts to every active listener (no-op without listeners)."""
    sink = getattr(_tls, "sink", None)
    if sink is not None:
        sink[0] += int(overflows)
        sink[1] += int(underflows)
    listeners = _listeners.get()
    if listeners:
        event = QuantizationEvent(T, int(size), int(overflows), int(underflows), operation,
                                  _name.get())
        for fn in listeners:
            fn(event)


def enter(fn: Callable[[QuantizationEvent], None], name: str | None) -> tuple:
    """Add listener *fn* and name the quantizations that follow *name*, until :func:`leave`
    is called with the returned tokens (what ``with listening(fn), probe_name(name):`` does,
    without the two context-manager objects: a named cast does this once per call)."""
    return _listeners.set(_listeners.get() + (fn,)), _name.set(name)


def leave(tokens: tuple) -> None:
    """Undo :func:`enter`."""
    _name.reset(tokens[1])
    _listeners.reset(tokens[0])


class listening:  # noqa: N801 - used like a function
    """Context manager adding *fn* as a listener for the duration of the block."""

    def __init__(self, fn: Callable[[QuantizationEvent], None]):
        self._fn = fn
        self._token = None

    def __enter__(self):
        self._token = _listeners.set(_listeners.get() + (self._fn,))
        return self

    def __exit__(self, *exc):
        _listeners.reset(self._token)


class silenced:  # noqa: N801 - used like a function
    """Context manager: the quantizations inside the block reach no listener and no sink
    (work done on the side, such as derive running fi on zero-valued stand-ins)."""

    def __init__(self):
        self._token = None
        self._sink = None

    def __enter__(self):
        self._token = _listeners.set(())
        self._sink = swap_sink(None)
        return self

    def __exit__(self, *exc):
        swap_sink(self._sink)
        _listeners.reset(self._token)


class probe_name:  # noqa: N801 - used like a function
    """Context manager naming the quantizations inside the block (for type-table probes)."""

    def __init__(self, name: str | None):
        self._value = name
        self._token = None

    def __enter__(self):
        self._token = _name.set(self._value)
        return self

    def __exit__(self, *exc):
        _name.reset(self._token)


class count_quantization(listening):  # noqa: N801
    """Count overflows and underflows of every quantization inside a ``with`` block.

    Examples
    --------
    >>> import fixsim as fx
    >>> with fx.count_quantization() as c:
    ...     a = fx.fi([0.5, 3.0, 1e-9], 1, 8, 6)
    >>> c.overflows, c.underflows, c.elements
    (1, 1, 3)
    """

    def __init__(self):
        super().__init__(self._add)
        self.overflows = 0
        self.underflows = 0
        self.elements = 0
        self.operations = 0
        self.events: list[QuantizationEvent] = []

    def _add(self, event: QuantizationEvent) -> None:
        self.overflows += event.overflows
        self.underflows += event.underflows
        self.elements += event.size
        self.operations += 1
        self.events.append(event)

    def __repr__(self):
        return (f"count_quantization(operations={self.operations}, elements={self.elements}, "
                f"overflows={self.overflows}, underflows={self.underflows})")
