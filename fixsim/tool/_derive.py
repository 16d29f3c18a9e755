"""Static range analysis: :func:`derive` runs an algorithm on intervals.

``derive(fn, input_ranges, T)`` calls the algorithm once with :class:`Interval` inputs (every
input element ranging over its design range) and listens to every derived range reported
while it runs: each named cast ``T.name(v)`` of an Interval reports the range arriving at the
signal, and DSP blocks and network layers given an Interval report their internal signals
(:func:`~fixsim._core._interval.report_range`), bounding their own feedback loops. The result
is a :class:`DerivedRanges`: per signal a :class:`DerivedRange` holding guaranteed bounds for
every input inside the design ranges, or "unbounded" with the reason.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import numbers
import operator
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .._atomic import parse_json, read_json, write_atomic
from .._core._interval import Interval, RangeEvent, as_interval, range_listening
from .._core._typetable import TypeTable
from ._collect import note_error

__all__ = ["derive", "DerivedRange", "DerivedRanges", "SCHEMA"]

#: The JSON schema tag written by :meth:`DerivedRanges.to_json`.
SCHEMA = "fixsim.DerivedRanges/1"
_NO_REASON = "unbounded (the reporter gave no reason)"


def _join_reasons(*reasons: str | None) -> str | None:
    seen: list[str] = []
    for r in reasons:
        for part in (r.split("; ") if r else ()):
            if part not in seen:
                seen.append(part)
    return "; ".join(seen) if seen else None


@dataclasses.dataclass(frozen=True)
class DerivedRange:
    """The derived range of one signal.

    Attributes
    ----------
    name : str
        The signal's name.
    lo, hi : float
        Guaranteed bounds of every value the signal takes for inputs inside the design ranges
        (``-inf`` / ``inf`` where unbounded).
    reason : str or None
        Why the signal is unbounded (None when bounded).
    reports : int
        How many reports were combined (frames, several calls, several derive runs).
    """

    name: str
    lo: float
    hi: float
    reason: str | None = None
    reports: int = 1

    def __post_init__(self):
        lo, hi = float(self.lo), float(self.hi)
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise ValueError(f"DerivedRange {self.name!r}: invalid bounds lo={self.lo!r}, "
                             f"hi={self.hi!r}; need lo <= hi, not NaN.")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        bounded = math.isfinite(lo) and math.isfinite(hi)
        object.__setattr__(self, "reason",
                           None if bounded else (self.reason or _NO_REASON))

    @property
    def bounded(self) -> bool:
        """Whether both bounds are finite."""
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    @property
    def max_abs(self) -> float:
        """``max(|lo|, |hi|)``."""
        return max(abs(self.lo), abs(self.hi))

    def hull(self, other: DerivedRange) -> DerivedRange:
        """The smallest range holding both (the reasons of unbounded sides joined)."""
        return DerivedRange(self.name, min(self.lo, other.lo), max(self.hi, other.hi),
                            _join_reasons(self.reason, other.reason),
                            self.reports + other.reports)

    def contains(self, values) -> bool:
        """Whether every value lies in ``[lo, hi]``."""
        v = np.asarray(values, dtype=np.float64)
        return bool(((self.lo <= v) & (v <= self.hi)).all())

    def to_dict(self) -> dict:
        """JSON-ready: infinite bounds are written as null."""
        return {"lo": self.lo if math.isfinite(self.lo) else None,
                "hi": self.hi if math.isfinite(self.hi) else None,
                "reason": self.reason, "reports": self.reports}

    @classmethod
    def from_dict(cls, name: str, data: Mapping) -> DerivedRange:
        lo = -math.inf if data.get("lo") is None else float(data["lo"])
        hi = math.inf if data.get("hi") is None else float(data["hi"])
        return cls(name, lo, hi, data.get("reason"), int(data.get("reports", 1)))

    def __str__(self) -> str:
        if self.bounded:
            return f"{self.name}: [{self.lo!r}, {self.hi!r}]"
        return f"{self.name}: [{self.lo!r}, {self.hi!r}] unbounded: {self.reason}"


def _interval_to_json(iv: Interval) -> dict:
    lo = np.broadcast_to(iv.lo, iv.shape).ravel()
    hi = np.broadcast_to(iv.hi, iv.shape).ravel()
    return {"shape": list(iv.shape),
            "lo": [float(v) if math.isfinite(v) else None for v in lo],
            "hi": [float(v) if math.isfinite(v) else None for v in hi],
            "reason": iv.reason}


def _interval_from_json(data: Mapping) -> Interval:
    shape = tuple(data["shape"])
    lo = np.array([-math.inf if v is None else v for v in data["lo"]], dtype=np.float64)
    hi = np.array([math.inf if v is None else v for v in data["hi"]], dtype=np.float64)
    return Interval(lo.reshape(shape), hi.reshape(shape), reason=data.get("reason"))


def _output_to_json(out):
    if out is None:
        return None
    if isinstance(out, Interval):
        return {"interval": _interval_to_json(out)}
    if isinstance(out, tuple | list):
        return {"sequence": [_output_to_json(o) for o in out]}
    if isinstance(out, dict):
        return {"mapping": {str(k): _output_to_json(v) for k, v in out.items()}}
    return None


def _output_from_json(data):
    if data is None:
        return None
    if "interval" in data:
        return _interval_from_json(data["interval"])
    if "sequence" in data:
        return tuple(_output_from_json(o) for o in data["sequence"])
    if "mapping" in data:
        return {k: _output_from_json(v) for k, v in data["mapping"].items()}
    raise ValueError(f"DerivedRanges.from_json: unreadable output entry {data!r}.")


def _as_output(out):
    """The algorithm's output as Intervals (a fi or numbers as point intervals), recursively
    through tuples, lists and dicts; anything else is kept as returned."""
    if out is None or isinstance(out, Interval):
        return out
    if isinstance(out, tuple | list):
        return tuple(_as_output(o) for o in out)
    if isinstance(out, dict):
        return {k: _as_output(v) for k, v in out.items()}
    try:
        return as_interval(out, "derive output")
    except (TypeError, ValueError):
        return out


def _merge_outputs(a, b):
    if isinstance(a, Interval) and isinstance(b, Interval) and a.shape == b.shape:
        return Interval(np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi),
                        reason=_join_reasons(a.reason, b.reason))
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(_merge_outputs(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return {k: _merge_outputs(a[k], b[k]) for k in a}
    return None


class DerivedRanges(Mapping):
    """Derived ranges by signal name (a read-only mapping of :class:`DerivedRange`).

    Attributes
    ----------
    output : Interval, tuple, dict or None
        The algorithm's output as Intervals (what ``fn`` returned; a fi or numbers as point
        intervals).
    inputs : dict
        The design ranges used, by input name (``'x'`` for a single input): ``(lo, hi)``
        hulls.
    """

    def __init__(self, ranges: Mapping[str, DerivedRange] | None = None, output=None,
                 inputs: Mapping[str, tuple[float, float]] | None = None):
        self._ranges: dict[str, DerivedRange] = {}
        for name, r in (ranges or {}).items():
            if not isinstance(r, DerivedRange):
                raise TypeError(f"DerivedRanges: entry {name!r} must be a DerivedRange, got "
                                f"{type(r).__name__}.")
            self._ranges[name] = r
        self.output = output
        self.inputs = dict(inputs or {})

    def __getitem__(self, name: str) -> DerivedRange:
        try:
            return self._ranges[name]
        except KeyError:
            import difflib
            close = difflib.get_close_matches(str(name), list(self._ranges), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise KeyError(f"no derived range for signal {name!r}.{hint} Derived: "
                           f"{', '.join(map(repr, self._ranges)) or 'none'} (a signal is "
                           "derived when the algorithm casts it through the type table or "
                           "a block reports it).") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)

    @property
    def unbounded(self) -> list[str]:
        """The names of the unbounded signals."""
        return [n for n, r in self._ranges.items() if not r.bounded]

    def merge(self, other: DerivedRanges) -> DerivedRanges:
        """A new result with the hull of both, signal by signal (and of the outputs when they
        have the same structure and shapes; else no output)."""
        if not isinstance(other, DerivedRanges):
            raise TypeError(f"DerivedRanges.merge: expected DerivedRanges, got "
                            f"{type(other).__name__}.")
        ranges = dict(self._ranges)
        for name, r in other._ranges.items():
            ranges[name] = ranges[name].hull(r) if name in ranges else r
        inputs = dict(self.inputs)
        for name, (lo, hi) in other.inputs.items():
            if name in inputs:
                inputs[name] = (min(inputs[name][0], lo), max(inputs[name][1], hi))
            else:
                inputs[name] = (lo, hi)
        return DerivedRanges(ranges, _merge_outputs(self.output, other.output), inputs)

    def __eq__(self, other) -> bool:
        if not isinstance(other, DerivedRanges):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        body = "\n".join(f"  {r}" for r in self._ranges.values())
        return f"DerivedRanges({len(self)} signals)\n{body}" if body else "DerivedRanges()"

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dict (infinite bounds as null)."""
        return {"schema": SCHEMA,
                "signals": {n: r.to_dict() for n, r in self._ranges.items()},
                "inputs": {n: [lo if math.isfinite(lo) else None,
                               hi if math.isfinite(hi) else None]
                           for n, (lo, hi) in self.inputs.items()},
                "output": _output_to_json(self.output)}

    @classmethod
    def from_dict(cls, data: Mapping) -> DerivedRanges:
        """Read :meth:`to_dict`'s output."""
        schema = data.get("schema") if isinstance(data, Mapping) else None
        if schema != SCHEMA:
            raise ValueError(f"DerivedRanges.from_json: unsupported schema {schema!r}; this "
                             f"version of fixsim reads {SCHEMA!r}.")
        ranges = {n: DerivedRange.from_dict(n, d) for n, d in data.get("signals", {}).items()}
        inputs = {n: (-math.inf if lo is None else float(lo), math.inf if hi is None
                      else float(hi)) for n, (lo, hi) in data.get("inputs", {}).items()}
        return cls(ranges, _output_from_json(data.get("output")), inputs)

    def to_json(self, **kwargs) -> str:
        """JSON text (keyword arguments go to ``json.dumps``; default ``indent=2``). Floats
        are written with ``repr`` precision, so bounds round-trip exactly."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> DerivedRanges:
        """Read :meth:`to_json`'s output."""
        return cls.from_dict(parse_json(text, "DerivedRanges.from_json"))

    def save(self, path: str | os.PathLike) -> None:
        """Write as JSON, atomically (a temporary file in the same folder, then
        ``os.replace``)."""
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> DerivedRanges:
        """Read a file written by :meth:`save`."""
        return cls.from_dict(read_json(path, "DerivedRanges.load"))


# -- building the inputs ------------------------------------------------------------------------
def _shape_of(shape, like, where: str) -> tuple[int, ...] | None:
    if shape is not None and like is not None:
        raise TypeError(f"{where}: give shape or like, not both.")
    if like is not None:
        if isinstance(like, Interval):
            return like.shape
        s = getattr(like, "shape", None)
        return tuple(s) if s is not None else np.shape(like)
    if shape is None:
        return None
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    given = shape
    try:
        if isinstance(shape, str | bytes):
            raise TypeError
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{where}: shape must be an int or a tuple of ints, got "
                        f"{given!r}.") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{where}: shape {shape!r} has a negative dimension.")
    return shape


def _bound(v, what: str, where: str) -> np.ndarray:
    if isinstance(v, Interval) or isinstance(v, str | bytes):
        raise TypeError(f"{where}: the {what} bound must be a number or an array of numbers, "
                        f"got {type(v).__name__} {v!r}.")
    try:
        arr = np.asarray(v.data if hasattr(v, "numerictype") else v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: the {what} bound must be a number or an array of numbers, "
                        f"got {type(v).__name__} {v!r}.") from None
    if np.isnan(arr).any():
        raise ValueError(f"{where}: the {what} bound {v!r} holds NaN; give real numbers.")
    return arr


def _build_input(spec, shape, where: str) -> Interval:
    if isinstance(spec, Interval):
        iv = spec
        if shape is not None and iv.shape != shape:
            try:
                lo = np.broadcast_to(iv.lo, shape).copy()
                hi = np.broadcast_to(iv.hi, shape).copy()
            except ValueError:
                raise ValueError(f"{where}: the Interval of shape {iv.shape} does not broadcast "
                                 f"to the requested shape {shape}.") from None
            iv = Interval(lo, hi, reason=iv.reason)
    else:
        if hasattr(spec, "lo") and hasattr(spec, "hi"):
            lo_v, hi_v = spec.lo, spec.hi
        elif isinstance(spec, tuple | list) and len(spec) == 2:
            lo_v, hi_v = spec
        else:
            raise TypeError(f"{where}: expected a (lo, hi) pair or an Interval, got "
                            f"{type(spec).__name__} {spec!r}.")
        lo = _bound(lo_v, "lower", where)
        hi = _bound(hi_v, "upper", where)
        try:
            shp = np.broadcast_shapes(lo.shape, hi.shape, *(() if shape is None else (shape,)))
        except ValueError:
            raise ValueError(f"{where}: bounds of shapes {lo.shape} and {hi.shape} do not "
                             f"broadcast to shape {shape}.") from None
        if shape is not None and shp != shape:
            raise ValueError(f"{where}: bounds of shapes {lo.shape} and {hi.shape} do not "
                             f"broadcast to shape {shape}.")
        lo, hi = np.broadcast_to(lo, shp), np.broadcast_to(hi, shp)
        bad = lo > hi
        if bad.any():
            raise ValueError(f"{where}: lo must be <= hi; got lo={float(lo[bad].ravel()[0])!r} "
                             f"> hi={float(hi[bad].ravel()[0])!r}.")
        if (lo == math.inf).any() or (hi == -math.inf).any():
            raise ValueError(f"{where}: lo = +inf or hi = -inf is not a range of reals.")
        iv = Interval(lo.copy(), hi.copy())
    if not iv.bounded and iv.reason is None:
        iv = Interval(iv.lo, iv.hi, reason=f"the design range of {where.split(': ')[-1]} is "
                                           "unbounded")
    return iv


def _call(fn: Callable, named: dict[str, Interval], single: bool, T, args, kwargs):
    """Call *fn* with the named inputs, T and the extra arguments (see :func:`derive`)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    params = list(sig.parameters.values()) if sig is not None else []
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    if single:
        if not positional:  # no introspectable positional parameter: the plain convention
            (x,) = named.values()
            return fn(x, T, *args, **kwargs)
        named = {positional[0].name: next(iter(named.values()))}
    has_varkw = any(p.kind == P.VAR_KEYWORD for p in params)
    names = {p.name for p in params}
    for n in named:
        if sig is not None and n not in names and not has_varkw:
            raise TypeError(f"derive: input_ranges names {n!r}, which is not a parameter of "
                            f"{getattr(fn, '__qualname__', fn)!r}{sig}.")
    bound: dict[str, Any] = dict(named)
    free = [p for p in positional if p.name not in named and p.name not in kwargs]
    if "T" in names and "T" not in named and "T" not in kwargs:
        bound["T"] = T
        free = [p for p in free if p.name != "T"]
    elif free:
        bound[free.pop(0).name] = T
    elif T is None:
        pass  # fn takes no type table (blocks only, say): nothing to pass
    elif not has_varkw:
        raise TypeError(f"derive: {getattr(fn, '__qualname__', fn)!r}{sig} has no parameter "
                        "left to receive the type table T (derive passes it to the parameter "
                        "named T, else to the next positional parameter).")
    rest = list(args)
    for p in free:
        if not rest:
            break
        bound[p.name] = rest.pop(0)
    if rest:
        raise TypeError(f"derive: {len(rest)} extra positional argument(s) for "
                        f"{getattr(fn, '__qualname__', fn)!r}{sig}.")
    bound.update(kwargs)
    call_args, call_kwargs = [], {}
    for p in params:
        if p.name in bound and p.kind == P.POSITIONAL_ONLY:
            call_args.append(bound.pop(p.name))
    call_kwargs.update(bound)
    return fn(*call_args, **call_kwargs)


def _parameters(fn: Callable):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def _first_parameter(fn: Callable) -> str | None:
    P = inspect.Parameter
    for p in _parameters(fn) or ():
        if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD):
            return p.name
    return None


def _takes(fn: Callable, name) -> bool:
    """Whether *fn* has a parameter *name* (or ``**kwargs``; unknown signatures: True)."""
    params = _parameters(fn)
    if params is None:
        return True
    return any(p.name == name or p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


class _Collector:
    """A range listener combining the reports of each name as their hull."""

    def __init__(self):
        self.ranges: dict[str, DerivedRange] = {}

    def __call__(self, event: RangeEvent) -> None:
        r = DerivedRange(event.name, event.lo, event.hi, event.reason)
        old = self.ranges.get(event.name)
        self.ranges[event.name] = r if old is None else old.hull(r)


def derive(fn: Callable, input_ranges, T: TypeTable | None = None, *args, shape=None,
           like=None, **kwargs) -> DerivedRanges:
    """Guaranteed ranges of every named signal of *fn* by interval analysis.

    Parameters
    ----------
    fn : callable
        The algorithm (the same code that runs in double and in fixed point). It is called
        once with :class:`Interval` inputs; its named casts (``T.name(v)``) and the blocks it
        calls report the derived range of each signal.
    input_ranges : (lo, hi), Interval, or dict
        The design range of the input: a ``(lo, hi)`` pair of numbers (or of arrays, for
        per-element bounds), an object with ``.lo``/``.hi``, or an :class:`Interval`. A dict
        gives one per input, by parameter name of *fn*.
    T : TypeTable or None
        Passed to *fn*. ``T.as_double()`` (or a double table) gives the ideal ranges, the
        usual first step; a fixed table gives the ranges under its quantization and
        saturation (each cast's output range is its rounded, saturated or wrapped input
        range).
    *args, **kwargs
        Further arguments of *fn* (passed unchanged).
    shape : int or tuple, or dict of them, optional
        The shape of the input (per input name for a dict). Interval analysis of an
        algorithm depends on it (an FIR needs a signal as long as its taps to reach its
        worst case), so give the frame shape the algorithm will run on.
    like : array or dict of arrays, optional
        Example inputs whose shapes to use (instead of *shape*).

    Returns
    -------
    DerivedRanges
        Per signal, the hull of all its reports (frames, several calls), with ``.lo``,
        ``.hi``, ``.bounded`` and ``.reason``; ``.output`` holds the output Interval.

    Notes
    -----
    How *fn* is called: a single input goes to *fn*'s first parameter; with a dict each
    named input goes to the parameter of that name. *T* then goes to the parameter named
    ``T`` if there is one, else to the next positional parameter; *args* fill the following
    positional parameters and *kwargs* are passed by name. So ``fn(x, T)`` (``collect``'s
    convention), ``fir(x, h, T)`` with ``derive(fir, (-1, 1), T, h)`` and
    ``mix(x, y, T)`` with ``derive(mix, {'x': (-1, 1), 'y': (0, 2)}, T)`` all work. With
    ``T=None`` a function without a parameter for it (``lambda x: blk.filt(x)``) is called
    without it.

    Without *shape* or *like* a ``(lo, hi)`` input is a scalar Interval. A dict with a single
    entry whose name is not a parameter of *fn* (the input *signal*'s name, say ``{'x': (-1,
    1)}`` for ``fn(frame, T)``) is the single input.

    Examples
    --------
    >>> import numpy as np
    >>> import fixsim as fx
    >>> T = fx.TypeTable({'x': 'double', 'acc': 'double'})
    >>> def fir(x, T):
    ...     return T.acc(np.convolve(T.x(x), [0.25, -0.5, 0.25]))
    >>> d = fx.tool.derive(fir, (-1, 1), T, shape=64)
    >>> d['acc'].lo, d['acc'].hi, d['acc'].bounded
    (-1.0, 1.0, True)
    """
    where = "derive"
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}.")
    if T is not None and not isinstance(T, TypeTable):
        raise TypeError(f"{where}: T must be a TypeTable or None, got {type(T).__name__}.")
    single = not isinstance(input_ranges, Mapping)
    label = _first_parameter(fn) or "x"
    if not single and len(input_ranges) == 1 and not _takes(fn, next(iter(input_ranges))):
        # one design range named after the input *signal* (not a parameter of fn): the input
        (label, spec), = input_ranges.items()
        if isinstance(shape, Mapping):
            shape = shape.get(label)
        if isinstance(like, Mapping):
            like = like.get(label)
        input_ranges, single = spec, True
    if single:
        if isinstance(shape, Mapping) or isinstance(like, Mapping):
            raise TypeError(f"{where}: shape/like is a dict but input_ranges is a single "
                            "range; give one shape, or input_ranges as a dict too.")
        shp = _shape_of(shape, like, where)
        named = {str(label): _build_input(input_ranges, shp, f"{where}: input_ranges")}
    else:
        if not input_ranges:
            raise ValueError(f"{where}: input_ranges is an empty dict; give at least one "
                             "input's range.")
        shapes = shape if isinstance(shape, Mapping) else {}
        likes = like if isinstance(like, Mapping) else {}
        if (shape is not None and not isinstance(shape, Mapping)) or \
                (like is not None and not isinstance(like, Mapping)):
            raise TypeError(f"{where}: with a dict of input ranges, shape and like must be "
                            "dicts by input name too.")
        for extra in set(shapes) | set(likes):
            if extra not in input_ranges:
                raise ValueError(f"{where}: shape/like names {extra!r}, which is not in "
                                 f"input_ranges ({', '.join(map(repr, input_ranges))}).")
        named = {}
        for name, spec in input_ranges.items():
            if not isinstance(name, str):
                raise TypeError(f"{where}: input_ranges keys must be parameter names (str), "
                                f"got {name!r}.")
            shp = _shape_of(shapes.get(name), likes.get(name), f"{where}: input {name!r}")
            named[name] = _build_input(spec, shp, f"{where}: input_ranges[{name!r}]")
    collector = _Collector()
    try:
        with range_listening(collector):
            out = _call(fn, named, single, T, args, kwargs)
    except Exception as exc:
        shapes_txt = ", ".join(f"{n!r}: shape {iv.shape}" for n, iv in named.items())
        note_error(exc, f"(raised while fx.tool.derive ran the algorithm on Interval inputs "
                        f"({shapes_txt}); if fn expects another input shape, give shape= or "
                        "like=)")
        raise
    inputs = {n: iv.hull() for n, iv in named.items() if iv.size}
    return DerivedRanges(collector.ranges, _as_output(out), inputs)
