"""Simulation ranges over many frames: :func:`collect`.

``collect(fn, inputs, T)`` calls ``fn(item, T)`` for every item of *inputs* (frames of a
stream, batches of a data set) inside ``with record():`` and returns the :class:`Recording`.
With ``workers=N`` the items are cut into chunks that run in worker processes; each worker
records its chunks and sends the recording back, and the recordings are merged in input order.
Merging is exact (see :mod:`fixsim.tool._stats`), so the result equals the one-process run.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import numbers
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .._core._quantize import stochastic_stream, stochastic_stream_base
from .._core._typetable import TypeTable, _signal_hooks
from . import _offload
from ._record import Recording, _check_internals, record

__all__ = ["collect"]


def _describe(item) -> str:
    """A short description of one input item, for error notes."""
    shape = getattr(item, "shape", None)
    if shape is not None:
        return f"{type(item).__name__} of shape {tuple(shape)}"
    if isinstance(item, list | tuple):
        return f"{type(item).__name__} of length {len(item)}"
    return type(item).__name__


def note_error(exc: BaseException, text: str) -> None:
    """Add *text* to an exception raised by the user's algorithm (Python 3.11's notes; on
    3.10 the exception goes on unchanged)."""
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(text)


def run_item(fn: Callable, item, T, index: int, where: str, run: str = ""):
    """``fn(item, T)``; an exception it raises gets a note naming the item and its shape."""
    try:
        return fn(item, T)
    except Exception as exc:
        note_error(exc, f"(raised by fn on inputs[{index}], {_describe(item)}, in "
                        f"{where}{run}: check that the items have the shape and type fn "
                        "expects)")
        raise


def _run_chunk(fn: Callable, items: list, types, first: int, base: int, detail: str,
               internals: str = "extremes") -> dict:
    """Worker: record *fn* over *items*; the recording as a lossless dict.

    A forked worker inherits the listeners active where ``collect`` was called (an outer
    ``record()``); they belong to the parent, so the chunk runs without them. The worker
    processes already occupy the cores, so each records in its own thread, without the
    statistics worker thread of :mod:`fixsim.tool._offload`.
    """
    _signal_hooks.set(())
    _offload.offload.threads = False
    with record(detail=detail, internals=internals) as rec:
        for i, item in enumerate(items):
            with stochastic_stream(base, first + i):
                run_item(fn, item, types, first + i, "fx.tool.collect", " (a worker process)")
    return rec.to_dict()


class _Bar:
    """A progress bar: rich's when it is installed, else a plain one on stderr."""

    def __init__(self, enabled: bool, total: int | None, label: str):
        self._rich = None
        self._enabled = enabled
        self._total = total
        self._done = 0
        self._label = label
        self._last = 0.0
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:  # the cli extra is not installed: plain bar
            return
        self._rich = Progress(console=Console(stderr=True), transient=False)
        self._rich.start()
        self._task = self._rich.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if not self._enabled:
            return
        self._done += n
        if self._rich is not None:
            self._rich.update(self._task, advance=n)
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (self._total is None or self._done < self._total):
            return
        self._last = now
        self._render()

    def _render(self) -> None:
        if self._total:
            filled = int(30 * self._done / self._total)
            text = (f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] "
                    f"{self._done}/{self._total}")
        else:
            text = f"\r{self._label} {self._done} items"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if not self._enabled:
            return
        if self._rich is not None:
            self._rich.stop()
        else:
            self._render()
            sys.stderr.write("\n")
            sys.stderr.flush()


def _check_inputs(inputs, where: str) -> Iterable:
    """The items to run: a 1-D array is one frame; other iterables are iterated."""
    if isinstance(inputs, np.ndarray):
        if inputs.ndim == 0:
            raise ValueError(f"{where}: inputs is a 0-D array ({inputs!r}); pass an iterable of "
                             "frames or batches, e.g. [x] for one frame or "
                             "np.array_split(x, n) for n frames.")
        if inputs.ndim == 1:
            return [inputs]  # one frame (iterating would run sample by sample)
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Iterable):
        raise TypeError(f"{where}: inputs must be an iterable of frames or batches (a list, "
                        f"a generator, a 2-D array of rows), got {type(inputs).__name__}.")
    return inputs


def _check_int(value, name: str, where: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _chunks(it: Iterator, size: int) -> Iterator[list]:
    while True:
        chunk = []
        for item in it:
            chunk.append(item)
            if len(chunk) == size:
                break
        if not chunk:
            return
        yield chunk


def collect(fn: Callable[[Any, TypeTable], Any], inputs: Iterable, T: TypeTable | None, *,
            progress: bool = False, workers: int = 1, chunksize: int = 1,
            recording: Recording | None = None, mp_context: str | None = None,
            total: int | None = None, internals: str | None = None) -> Recording:
    """Record every probed signal of *fn* over all *inputs*.

    Parameters
    ----------
    fn : callable
        The algorithm, called as ``fn(item, T)`` for each item; it names its signals through
        the type table (``T.name(x)``) or through blocks that report them. With
        ``workers > 1`` it must be picklable (a module-level function, a
        ``functools.partial`` of one, or a picklable object with ``__call__``), as must the
        items and *T*.
    inputs : iterable
        Frames or batches (a list, a generator, a 2-D array whose rows are frames); a 1-D
        array is a single frame. State
        kept by *fn* across calls (a streaming filter) is only meaningful with
        ``workers=1``, which runs the items in order.
    T : TypeTable or None
        The type table passed to *fn* (``T.as_double()`` records the double-precision
        ranges, the usual first step).
    progress : bool, default False
        Show a progress bar on stderr (rich's when installed, the ``cli`` extra; otherwise a
        plain text bar).
    workers : int, default 1
        Worker processes; 1 runs everything in this process. Stochastic rounding without a
        ``seed`` draws from one stream per item (``default_rng((base, i))``, *base* drawn
        once per call from the generator ``fx.set_stochastic_seed`` seeds), so the result
        does not depend on *workers* or *chunksize*.
    chunksize : int, default 1
        Items per task sent to a worker.
    recording : Recording, optional
        Add to this recording (it is also returned) instead of a new one.
    mp_context : str, optional
        The multiprocessing start method for workers: ``'fork'`` (the default where the
        platform has it: workers inherit the loaded modules and compiled kernels),
        ``'forkserver'`` or ``'spawn'`` (fn must then be importable by name).
    total : int, optional
        The number of items, for the progress bar when ``len(inputs)`` is not defined.
    internals : {'extremes', 'values'}, optional
        What a new recording keeps of the signals inside blocks (see ``fx.tool.record``;
        default ``'extremes'``); a given *recording* keeps its own.

    Returns
    -------
    Recording
        The statistics of every probed signal over all items. With workers, each worker's
        recording is merged in input order; merging is exact, so the result equals the
        ``workers=1`` run.

    Examples
    --------
    >>> import numpy as np
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'sfix16_En14', 'y': 'sfix16_En13'})
    >>> def gain(x, T):
    ...     return T.y(T.x(x) * 1.5)
    >>> frames = np.random.default_rng(0).uniform(-1, 1, (8, 256))
    >>> rec = fx.tool.collect(gain, frames, T.as_double())
    >>> rec['y'].count, rec['y'].max_abs <= 1.5
    (2048, True)
    """
    where = "collect"
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable as fn(item, T), got "
                        f"{type(fn).__name__}.")
    if T is not None and not isinstance(T, TypeTable):
        raise TypeError(f"{where}: T must be a TypeTable or None, got {type(T).__name__}.")
    if recording is not None and not isinstance(recording, Recording):
        raise TypeError(f"{where}: recording must be a Recording, got "
                        f"{type(recording).__name__}.")
    inputs = _check_inputs(inputs, where)
    workers = _check_int(workers, "workers", where)
    chunksize = _check_int(chunksize, "chunksize", where)
    if total is None:
        try:
            total = len(inputs)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if total is not None:
        total = _check_int(total, "total", where, low=0)
    if workers > 1:
        mp_context = _start_method(mp_context)
    elif mp_context is not None:
        _start_method(mp_context)  # checked even where it is not used
    if internals is not None:
        _check_internals(internals, where)
        if recording is not None and internals != recording.internals:
            raise ValueError(f"{where}: internals={internals!r} differs from the given "
                             f"recording's internals {recording.internals!r}; leave internals "
                             "out to use the recording's.")
    rec = (Recording(internals=internals or "extremes") if recording is None else recording)
    # every item draws default stochastic rounding from a stream of its own, so the result
    # does not depend on the number of workers (regression: forked workers all started
    # from the parent's generator state and drew the same numbers)
    base = stochastic_stream_base()
    bar = _Bar(progress, total, "collect")
    try:
        if workers == 1:
            with record(rec):
                for i, item in enumerate(inputs):
                    with stochastic_stream(base, i):
                        run_item(fn, item, T, i, "fx.tool.collect")
                    bar.advance(1)
            return rec
        _parallel(fn, inputs, T, workers, chunksize, mp_context, rec, bar, base)
        return rec
    finally:
        bar.close()


def _start_method(mp_context: str | None) -> str:
    """The multiprocessing start method to use (checked: one this platform has)."""
    methods = multiprocessing.get_all_start_methods()
    if mp_context is None:
        return "fork" if "fork" in methods else "spawn"
    if not isinstance(mp_context, str) or mp_context not in methods:
        raise ValueError(f"collect: mp_context {mp_context!r} is not available here; valid: "
                         f"{', '.join(map(repr, methods))}.")
    return mp_context


def _parallel(fn, inputs, T, workers, chunksize, mp_context, rec, bar, base) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"collect: with workers={workers}, fn must be picklable (a module-level "
                        f"function or a functools.partial of one); pickling "
                        f"{getattr(fn, '__qualname__', fn)!r} failed: {exc}") from None
    ctx = multiprocessing.get_context(mp_context)
    pending: list[tuple[cf.Future, int]] = []
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        first = 0
        for chunk in _chunks(iter(inputs), chunksize):
            fut = pool.submit(_run_chunk, fn, chunk, T, first, base, rec.detail,
                              rec.internals)
            pending.append((fut, len(chunk)))
            first += len(chunk)
            while len(pending) >= 2 * workers:  # bounded memory: wait for the oldest
                fut, n = pending.pop(0)
                rec._merge_in(Recording.from_dict(fut.result()))
                bar.advance(n)
        for fut, n in pending:
            rec._merge_in(Recording.from_dict(fut.result()))
            bar.advance(n)

