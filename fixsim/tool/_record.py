"""Recording: statistics of every probed signal while ``with fx.tool.record():`` is active.

The recorder adds a signal listener to the type tables' probe hook
(:func:`fixsim._core._typetable.signal_listening`); every named cast ``T.name(x)`` inside the
block then reports its name, the values arriving at it, its type and the overflow/underflow
counts of its own quantization. The counts come from the named cast itself (it listens to the
quantization probe ``_core._probe`` around its own cast, which also tags those quantization
events with the signal's name), so a recording sees exactly one count per named cast and
nothing from unnamed arithmetic.
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Iterator, Mapping

import numpy as np

from .._atomic import parse_json, read_json, write_atomic
from .._core._typetable import SignalEvent, merge_extremes, signal_listening
from ._offload import offload as _offload
from ._stats import SignalStats, _Accumulator, _Summary

__all__ = ["Recording", "record", "RECORDING_SCHEMA"]

#: The schema tag written by :meth:`Recording.save`.
RECORDING_SCHEMA = "fixsim.Recording/1"
#: What a recording keeps of the signals inside blocks (see :func:`record`).
INTERNALS = ("extremes", "values")
#: The recording-wide levels (``'extremes'`` is a signal's level, see ``internals``).
RECORD_DETAILS = ("full", "ranges")


def _check_internals(internals, where: str) -> str:
    if internals not in INTERNALS:
        raise ValueError(f"{where}: internals={internals!r} is not one of {INTERNALS}: "
                         "'extremes' records the signals inside blocks (products, partial "
                         "sums, states) by count, zeros, min, max, whole-number flag and "
                         "overflow/underflow counts; 'values' gives them the statistics of "
                         "every other signal (histograms, and sums with detail='full').")
    return internals



class _Pending:
    """One signal's running summary since the last flush (the fused kernel's state)."""

    __slots__ = ("type", "nt", "acc", "overflows", "underflows", "ext")

    def __init__(self, numerictype: str | None, sums: bool):
        self.type = numerictype
        self.nt = None  # the last numerictype object seen (an identity check skips the name)
        self.acc = _Accumulator(sums)
        self.overflows = 0
        self.underflows = 0
        #: ``(count, nan, inf, zeros, min, max, whole)`` reported since the last flush
        self.ext: tuple | None = None

    def add_extremes(self, e: tuple) -> None:
        self.ext = merge_extremes(self.ext, e)

    def take_extremes(self) -> _Summary | None:
        """The extremes since the last flush as a summary without histograms or sums."""
        x, self.ext = self.ext, None
        if x is None:
            return None
        s = _Summary()
        s.count, s.nan, s.inf, s.zeros = x[0], x[1], x[2], x[3]
        # a zero extreme is +0.0 (as SignalStats keeps it)
        s.min = None if x[4] is None else x[4] + 0.0
        s.max = None if x[5] is None else x[5] + 0.0
        s.whole = x[6]
        s.sum = s.sumsq = None
        s.lo, s.pos, s.neg = 0, None, None
        return s


_TYPE_NAMES: dict = {}
_F64 = np.dtype(np.float64)


def _type_name(T) -> str:
    """``str(T)``, memoised (a numerictype is immutable and hashable)."""
    try:
        return _TYPE_NAMES[T]
    except KeyError:
        name = _TYPE_NAMES[T] = str(T)
        return name
    except TypeError:  # unhashable: no memo
        return str(T)


class Recording:
    """The statistics of every probed signal, by name.

    Parameters
    ----------
    stats : mapping of str to SignalStats, optional
        Initial statistics (copied).
    detail : {'full', 'ranges'}
        What newly probed signals record (see :func:`record`).
    internals : {'extremes', 'values'}
        What the signals inside blocks record (see :func:`record`).

    Notes
    -----
    A recording maps each signal name to a :class:`SignalStats` (``rec['fir1.acc']``), in
    the order the signals were first probed. :meth:`merge` combines recordings exactly (frames,
    batches, worker processes), and :meth:`save`/:meth:`load` keep everything losslessly.

    Examples
    --------
    >>> import numpy as np
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'sfix8_En4', 'y': 'double'})
    >>> with fx.tool.record() as rec:
    ...     y = T.y(T.x(np.array([0.5, 9.0, -1.0])) * 2)
    >>> rec.names
    ['x', 'y']
    >>> print(rec['x'].max, rec['x'].overflows, rec['y'].max)
    9.0 1 15.875
    """

    def __init__(self, stats: Mapping[str, SignalStats] | None = None, detail: str = "full",
                 internals: str = "extremes"):
        if detail not in RECORD_DETAILS:
            raise ValueError(f"Recording: detail={detail!r} is not one of {RECORD_DETAILS}: "
                             "'full' records exact sums (mean, std, rms, SQNR estimates), "
                             "'ranges' only counts, extremes and histograms (cheaper).")
        self.detail = detail
        self.internals = _check_internals(internals, "Recording")
        #: groups of signals the blocks cast with one type (``SignalEvent.tied``), which
        #: ``fx.tool.propose`` types together
        self.tied: list[tuple[str, ...]] = []
        self._stats: dict[str, SignalStats] = {}
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.RLock()
        for name, s in (stats or {}).items():
            if not isinstance(s, SignalStats):
                raise TypeError(f"Recording: {name!r}: expected SignalStats, got "
                                f"{type(s).__name__}.")
            c = s.copy()
            c.name = name
            self._stats[name] = c

    # -- the listener -----------------------------------------------------------------------------
    def _on_signal(self, event: SignalEvent) -> None:
        """Add the event's values to the signal's running summary.

        The values go through the fused statistics kernel (:mod:`fixsim._kernels._stats`):
        on the statistics worker thread when it runs (copied into its ring, see
        :mod:`fixsim.tool._offload`), else here, without a copy. The exact summary is folded
        into the signal's :class:`SignalStats` when statistics are read (:meth:`_flush`,
        which first waits for the worker).
        Statistics are exact and independent of grouping, so this changes nothing but the
        cost. The common case (a known signal, the same type object as last time, a flat
        float64 array) takes a short path: this runs once per probe and frame.
        """
        ext = event.extremes
        if ext is not None:  # a block's internal signal, summarised by the block
            nt = event.numerictype
            with self._lock:
                pend = self._pending.get(event.name)
                if pend is None or (nt is not pend.nt and nt is not None):
                    pend = self._pending_for(event.name, nt, "extremes")
                pend.add_extremes(ext)
                pend.overflows += event.overflows
                pend.underflows += event.underflows
            return
        if event.tied is not None and event.tied not in self.tied:
            self.tied.append(tuple(event.tied))
        stored = event.stored
        if stored is not None:  # a fi's stored integers: converted while copied
            values, scale = stored
        else:
            values, scale = event.values, 1.0
            if (type(values) is not np.ndarray or values.dtype is not _F64 or values.ndim != 1
                    or values.strides[0] != 8):
                values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        nt = event.numerictype
        with self._lock:
            pend = self._pending.get(event.name)
            if pend is None or (nt is not pend.nt and nt is not None):
                pend = self._pending_for(event.name, nt)
            pend.acc.add_offloaded(values, scale)
            pend.overflows += event.overflows
            pend.underflows += event.underflows

    # it reads SignalEvent.stored when given, and keeps nothing of the event
    _on_signal.reads_stored = True

    def _on_signal_extremes(self, event: SignalEvent) -> None:
        """:meth:`_on_signal`, as the listener of a recording with ``internals='extremes'``
        (the blocks then report their internal signals as extremes)."""
        self._on_signal(event)

    _on_signal_extremes.reads_stored = True
    _on_signal_extremes.takes_extremes = True

    def _pending_for(self, name: str, nt, detail: str | None = None) -> _Pending:
        """The running summary of signal *name*, now of type *nt* (checked); a new signal
        records at *detail* (default: the recording's)."""
        t = None if nt is None else _type_name(nt)
        pend = self._pending.get(name)
        if pend is None or (t is not None and pend.type != t):
            s = self._stats.get(name)
            if s is None:
                s = self._stats[name] = SignalStats(name, detail or self.detail)
            s._check_type(t)  # raises on a second type at once, not at a later flush
            if t is not None:
                s.numerictype = t
            if pend is None:
                pend = self._pending[name] = _Pending(s.numerictype, s.detail == "full")
            else:
                pend.type = t
        pend.nt = nt
        return pend

    def _flush_locked(self) -> None:
        for name, pend in self._pending.items():
            s = self._stats[name]
            summaries = pend.acc.drain()
            for summary in summaries:
                s._absorb(summary, 0, 0, pend.type)
            ext = pend.take_extremes()
            if ext is not None:
                s._absorb(ext, 0, 0, pend.type)
            s.overflows += pend.overflows
            s.underflows += pend.underflows
            pend.overflows = pend.underflows = 0

    def _settle(self) -> None:
        """A ``record()`` block ended: wait for the worker's share and give its slots back.
        The exact summaries are folded when the recording is first read (:meth:`_flush`)."""
        with self._lock:
            for pend in self._pending.values():
                pend.acc.settle()

    def _flush(self) -> None:
        """Fold every running summary into the statistics (done before any are read)."""
        if self._pending:
            with self._lock:
                self._flush_locked()

    # -- mapping -----------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> SignalStats:
        self._flush()
        try:
            return self._stats[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), list(self._stats), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            known = ", ".join(map(repr, self._stats)) or "(none: nothing was probed)"
            raise KeyError(f"Recording has no signal {name!r}.{hint} Recorded: {known}. A "
                           "signal is recorded when a type-table cast T.name(x) runs inside "
                           "the record() block.") from None

    def __contains__(self, name) -> bool:
        return name in self._stats

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._stats))

    def __len__(self) -> int:
        return len(self._stats)

    @property
    def names(self) -> list[str]:
        """Recorded signal names, in first-probed order."""
        return list(self._stats)

    def items(self) -> list[tuple[str, SignalStats]]:
        """``(name, stats)`` pairs."""
        self._flush()
        return list(self._stats.items())

    # -- merging -----------------------------------------------------------------------------------
    def merge(self, other: Recording) -> Recording:
        """A new recording holding both (exact and associative; neither input changes).

        Signals in only one of them are copied; the order is this recording's, then the
        other's new names.
        """
        if not isinstance(other, Recording):
            raise TypeError(f"Recording.merge: expected a Recording, got "
                            f"{type(other).__name__}.")
        self._flush()
        other._flush()
        # 'ranges' on either side gives 'ranges' everywhere, as for one signal (regression:
        # the result kept this recording's level and the sums of signals copied from a
        # 'full' one, so a.merge(b) != b.merge(a))
        detail = "ranges" if "ranges" in (self.detail, other.detail) else "full"
        internals = ("extremes" if "extremes" in (self.internals, other.internals)
                     else "values")
        out = Recording(self._stats, detail, internals)
        out.tied = list(dict.fromkeys(self.tied + other.tied))
        for name, s in other._stats.items():
            mine = out._stats.get(name)
            if mine is None:
                c = s.copy()
                c.name = name
                out._stats[name] = c
            else:
                m = mine.merge(s)
                m.name = name
                out._stats[name] = m
        if detail == "ranges":
            for name, s in out._stats.items():
                if s.detail == "full":
                    out._stats[name] = s.without_sums()
        return out

    def _merge_in(self, other: Recording) -> Recording:
        """Merge *other* into this recording in place (exact); returns ``self`` (used by
        ``collect`` to add workers' recordings as they arrive)."""
        merged = self.merge(other)
        with self._lock:
            self._stats = merged._stats
            self.tied = merged.tied
        return self

    def __reduce__(self):
        """Pickle through the lossless dict (the lock and the kernel state do not pickle)."""
        self._flush()
        return (Recording.from_dict, (self.to_dict(),))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Recording):
            return NotImplemented
        self._flush()
        other._flush()
        return (self.detail == other.detail and self.internals == other.internals
                and sorted(self.tied) == sorted(other.tied)
                and list(self._stats) == list(other._stats)
                and all(self._stats[n] == other._stats[n] for n in self._stats))

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        self._flush()
        lines = [f"Recording({len(self._stats)} signals)"]
        lines += [f"  {s!r}" for s in self._stats.values()]
        return "\n".join(lines)

    # -- serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A lossless JSON-ready dict: ``{"schema": ..., "signals": {name: stats}}``."""
        self._flush()
        return {"schema": RECORDING_SCHEMA, "detail": self.detail,
                "internals": self.internals, "tied": [list(g) for g in self.tied],
                "signals": {n: s.to_dict() for n, s in self._stats.items()}}

    @classmethod
    def from_dict(cls, data: Mapping) -> Recording:
        """Rebuild from :meth:`to_dict`'s output."""
        schema = data.get("schema") if isinstance(data, Mapping) else None
        if schema != RECORDING_SCHEMA:
            raise ValueError(f"Recording: unsupported schema {schema!r}; this version of "
                             f"fixsim reads {RECORDING_SCHEMA!r}.")
        signals = data.get("signals")
        if not isinstance(signals, Mapping) or not all(isinstance(d, Mapping)
                                                       for d in signals.values()):
            raise ValueError("Recording.from_dict: 'signals' must map each signal name to its "
                             f"saved statistics, got {type(signals).__name__}.")
        rec = cls({n: SignalStats.from_dict({**d, "name": d.get("name", n)})
                   for n, d in signals.items()}, data.get("detail", "full"),
                   data.get("internals", "extremes"))
        tied = data.get("tied", [])
        if not isinstance(tied, list) or not all(
                isinstance(g, list) and all(isinstance(n, str) for n in g) for g in tied):
            raise ValueError("Recording.from_dict: 'tied' must be a list of lists of signal "
                             f"names, got {tied!r}.")
        rec.tied = [tuple(g) for g in tied]
        return rec

    def to_json(self, **kwargs) -> str:
        """The recording as JSON text (keyword arguments go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Recording:
        """Read :meth:`to_json`'s output."""
        return cls.from_dict(parse_json(text, "Recording.from_json"))

    def save(self, path: str | os.PathLike) -> None:
        """Write the recording as JSON, atomically: to a temporary file in the same folder,
        then ``os.replace`` onto *path* (a reader never sees a half-written file)."""
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Recording:
        """Read a recording written by :meth:`save`."""
        return cls.from_dict(read_json(path, "Recording.load"))


class record:  # noqa: N801 - used like a function
    """Record every probed signal inside a ``with`` block.

    Parameters
    ----------
    recording : Recording, optional
        Add to this recording instead of a new one (its :attr:`Recording.detail` applies).
    detail : {'full', 'ranges'}, optional
        What a new recording keeps per signal. ``'full'`` (the default): count, NaN/inf and
        zero counts, min, max, the whole-number flag, the fine and log2 histograms, overflow
        and underflow counts, and the exact sum and sum of squares (mean, std, rms, and the
        SQNR estimates of ``propose``). ``'ranges'``: the same without the two sums, which
        makes the statistics kernel about twice as fast; ``mean``/``std``/``rms`` then raise.
    internals : {'extremes', 'values'}, optional
        What a new recording keeps of the signals *inside* blocks (a filter's products and
        partial sums, a biquad's states: tens of values per sample). ``'extremes'`` (the
        default, what MATLAB's Fixed-Point Tool instruments there): count, zeros, min, max,
        the whole-number flag and the overflow and underflow counts, which the block
        computes in one compiled pass without building the values (``detail='extremes'``
        statistics; no histograms, so ``propose`` covers them with ``'minmax'``). ``'values'``:
        the same statistics as every other signal, at the cost of building and summarising
        every value. The blocks' inputs, outputs and coefficients, and every type-table
        cast, are recorded at ``detail`` either way; so is everything while another listener
        (``verify``) is active.

    Examples
    --------
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'double'})
    >>> with fx.tool.record() as rec:
    ...     _ = T.x([1.0, -2.0])
    >>> rec['x'].count
    2
    >>> with fx.tool.record(detail='ranges') as rec:
    ...     _ = T.x([1.0, -2.0])
    >>> print(rec['x'].min, rec['x'].max, rec['x'].detail)
    -2.0 1.0 ranges

    Recorders nest (each sees every signal) and are local to the thread or task that
    entered them (a context variable).

    On a machine with more than one CPU, the statistics are computed on a worker thread
    while the simulation goes on (the same kernels on the same values: the recording is
    identical). When the worker cannot keep up, the simulation's thread summarises the
    frames the worker cannot take, so both cores work. Leaving the block waits for the
    worker; the exact summaries are folded when the recording is first read.
    ``FIXSIM_RECORD_THREAD=0`` in the environment keeps all of it in the calling thread.
    """

    def __init__(self, recording: Recording | None = None, *, detail: str | None = None,
                 internals: str | None = None):
        if recording is not None and not isinstance(recording, Recording):
            raise TypeError(f"record: expected a Recording, got {type(recording).__name__}.")
        if detail is not None and detail not in RECORD_DETAILS:
            raise ValueError(f"record: detail={detail!r} is not one of {RECORD_DETAILS}: 'full' "
                             "records exact sums (mean, std, rms, SQNR estimates), 'ranges' "
                             "only counts, extremes and histograms (cheaper).")
        if recording is not None and detail is not None and detail != recording.detail:
            raise ValueError(f"record: detail={detail!r} differs from the given recording's "
                             f"detail {recording.detail!r}; leave detail out to use the "
                             "recording's.")
        if internals is not None:
            _check_internals(internals, "record")
        if recording is not None and internals is not None and internals != recording.internals:
            raise ValueError(f"record: internals={internals!r} differs from the given "
                             f"recording's internals {recording.internals!r}; leave internals "
                             "out to use the recording's.")
        self.recording = (Recording(detail=detail or "full", internals=internals or "extremes")
                          if recording is None else recording)
        self._listening: signal_listening | None = None
        self._offloaded = False

    def __enter__(self) -> Recording:
        if self._listening is not None:
            raise RuntimeError("record: this recorder is already active; use a new record().")
        rec = self.recording
        self._listening = signal_listening(rec._on_signal_extremes if rec.internals == "extremes"
                                           else rec._on_signal)
        self._offloaded = _offload.enter()
        try:
            self._listening.__enter__()
        except BaseException:
            if self._offloaded:
                _offload.leave()
            raise
        return self.recording

    def __exit__(self, *exc) -> None:
        listening, self._listening = self._listening, None
        try:
            listening.__exit__(*exc)
            self.recording._settle()
        finally:
            if self._offloaded:
                _offload.leave()
