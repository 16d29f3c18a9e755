"""The block model: named blocks wired into a directed acyclic graph, simulated frame by frame
(a small, readable Simulink-style model)."""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._atomic import write_atomic
from .._core import _probe
from .._core._fi import fi, make_fi
from .._core._interval import Interval, range_listening, report_range
from .._core._numerictype import numerictype
from .._core._typetable import DOUBLE, TypeTable, signal_listening
from ._block import block_name, holds_numbers, table_is_double

__all__ = ["Model"]


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or not name or name != name.strip() or "." in name \
            or ":" in name:
        raise ValueError(f"Model: {what} name must be a non-empty string without dots, colons "
                         f"or surrounding spaces, got {name!r}.")
    return name


class _Node:
    """A block in the model: the block, its input sources and how many outputs it has."""

    __slots__ = ("block", "sources")

    def __init__(self, block, sources: list[str]):
        self.block = block
        self.sources = sources


#: The format tag of :meth:`Model.save` files.
MODEL_SCHEMA = "fixsim.Model/1"


class Model:
    """A Simulink-style model: named blocks wired into a directed acyclic graph.

    Parameters
    ----------
    name : str
        The model's name (for printing).

    Notes
    -----
    Build a model with :meth:`input` (named model inputs), :meth:`add` (a block and the sources
    of its inputs) and :meth:`output` (named model outputs). A *source* is a model input name,
    a block name, or ``"<block>:<k>"`` for output ``k`` (0-based) of a block whose ``filt``
    returns a tuple. A source may feed any number of inputs (fan-out); a block with several
    inputs (:class:`~fixsim.signal.Sum`, :class:`~fixsim.signal.Product`) combines branches.

    Any object with a ``name`` and a ``filt`` method following the block protocol (state across
    calls, ``reset()``, double mode for float input, fixed mode for fi input) can be a block:
    the FIR, SOS, CIC, NCO and FFT blocks of :mod:`fixsim.signal` and the small blocks. Blocks
    with several inputs say so with an ``n_inputs`` attribute.

    **Feedback is allowed inside blocks (IIR filters, CIC integrators, NCO accumulators), not
    across them**: the wiring must be acyclic, and a cycle is reported as an error naming the
    blocks on it. A loop through several blocks would need a sample-by-sample schedule; write
    it as one block instead.

    :meth:`run` simulates frame by frame (state carries across frames and calls, so a signal
    split anywhere gives the result of one call); with ``types=`` it runs from a type table,
    fixed (``T``) or double (``T.as_double()``). Every block names its signals
    ``"<block>.<signal>"``; model inputs are named by their own names. :meth:`signals` lists
    every signal with its full-precision type, :meth:`type_table` turns that into a starting
    :class:`~fixsim.TypeTable`, and :meth:`table` (also ``print(model)``) shows the wiring.
    """

    def __init__(self, name: str = "model") -> None:
        self.name = block_name(name, "Model")
        self._inputs: list[str] = []
        self._nodes: dict[str, _Node] = {}
        self._outputs: dict[str, str] = {}
        self._order: list[str] | None = None
        self._bound: TypeTable | None = None

    # -- building -----------------------------------------------------------------------------
    def input(self, name: str) -> str:
        """Add a model input called *name*; returns the name (a source for blocks)."""
        name = _check_name(name, "input")
        self._check_free(name)
        self._inputs.append(name)
        self._order = None
        return name

    def add(self, block, inputs: str | Sequence[str] | None = None):
        """Add *block*, fed by *inputs* (one source, or a list with one source per block
        input). Sources may name blocks added later; the wiring is checked when the model
        first runs (or by :meth:`check`). Returns the block."""
        name = getattr(block, "name", None)
        runs = callable(getattr(block, "filt", None)) or callable(getattr(block, "step", None))
        if not runs or not isinstance(name, str):
            raise TypeError(f"Model.add: a block needs a str name and a filt method (or, for a "
                            f"source such as an NCO, a step method), got "
                            f"{type(block).__name__}.")
        _check_name(name, "block")
        self._check_free(name)
        if inputs is None and self._n_inputs(block) == 0:
            sources = []
        elif inputs is None:
            if len(self._inputs) != 1:
                raise ValueError(f"Model.add: give the inputs of block {name!r} (the model has "
                                 f"{len(self._inputs)} inputs).")
            sources = [self._inputs[0]]
        elif isinstance(inputs, str):
            sources = [inputs]
        elif isinstance(inputs, Iterable):
            sources = list(inputs)
        else:  # regression: Model.add(block, 5) raised "'int' object is not iterable"
            raise TypeError(f"Model.add: the inputs of block {name!r} are a source name or a "
                            f"list of them, got {type(inputs).__name__} {inputs!r}.")
        n = self._n_inputs(block)
        if len(sources) != n:
            raise ValueError(f"Model.add: block {name!r} takes {n} input(s), got {len(sources)} "
                             f"sources {sources!r}.")
        for s in sources:
            if not isinstance(s, str):
                raise TypeError(f"Model.add: sources are names (str), got {s!r} for block "
                                f"{name!r}.")
        self._nodes[name] = _Node(block, sources)
        self._order = None
        return block

    def output(self, name: str, source: str) -> str:
        """Add a model output called *name*, taken from *source*."""
        name = _check_name(name, "output")
        if name in self._outputs:
            raise ValueError(f"Model.output: there is already an output {name!r}.")
        if not isinstance(source, str):
            raise TypeError(f"Model.output: source must be a name (str), got {source!r}.")
        self._outputs[name] = source
        self._order = None
        return name

    def _check_free(self, name: str) -> None:
        if name in self._inputs or name in self._nodes:
            raise ValueError(f"Model: the name {name!r} is already used by an "
                             f"{'input' if name in self._inputs else 'other block'}.")

    @staticmethod
    def _n_inputs(block) -> int:
        """Number of inputs: ``n_inputs``, else 0 for a source (``step(n)``, no ``filt``),
        else 1."""
        n = getattr(block, "n_inputs", None)
        if n is None:
            n = 0 if not callable(getattr(block, "filt", None)) else 1
        return int(n)

    # -- structure ----------------------------------------------------------------------------
    @property
    def inputs(self) -> list[str]:
        """The model input names."""
        return list(self._inputs)

    @property
    def outputs(self) -> dict[str, str]:
        """Model output name to source."""
        return dict(self._outputs)

    @property
    def blocks(self) -> dict[str, Any]:
        """Block name to block, in the order they were added."""
        return {n: node.block for n, node in self._nodes.items()}

    def __getitem__(self, name: str):
        try:
            return self._nodes[name].block
        except KeyError:
            raise KeyError(f"Model {self.name!r} has no block {name!r}; blocks: "
                           f"{', '.join(map(repr, self._nodes)) or '(none)'}.") from None

    def sources_of(self, name: str) -> list[str]:
        """The sources feeding block *name*, in input order."""
        return list(self._nodes[name].sources)

    def _split(self, source: str) -> tuple[str, str | None]:
        base, _, port = source.partition(":")
        return base, (port if _ else None)

    def _check_source(self, source: str, user: str) -> str:
        base, port = self._split(source)
        if base in self._inputs:
            if port is not None:
                raise ValueError(f"Model: {user} reads {source!r}, but model input {base!r} "
                                 "has no ports.")
            return base
        if base not in self._nodes:
            known = [*self._inputs, *self._nodes]
            raise ValueError(f"Model: {user} reads {source!r}, which is neither a model input "
                             f"nor a block; known: {', '.join(map(repr, known)) or '(none)'}.")
        return base

    def check(self) -> list[str]:
        """Check the wiring and return the blocks in execution (topological) order.

        Raises
        ------
        ValueError
            For an unknown source, or a cycle (naming the blocks on it): feedback belongs
            inside a block.
        """
        if self._order is not None:
            return self._order
        deps: dict[str, list[str]] = {}
        for name, node in self._nodes.items():
            deps[name] = [b for b in (self._check_source(s, f"block {name!r}")
                                      for s in node.sources) if b in self._nodes]
        for out, src in self._outputs.items():
            self._check_source(src, f"output {out!r}")
        order: list[str] = []
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cyc = (path[path.index(n):] + [n])[::-1]  # in the direction signals flow
                raise ValueError(
                    f"Model {self.name!r}: the wiring has a cycle: {' -> '.join(cyc)}. Feedback "
                    "is allowed inside blocks (IIR, CIC, NCO), not across them: a model is a "
                    "directed acyclic graph. Put the loop inside one block.")
            state[n] = 1
            for d in deps[n]:
                visit(d, path + [n])
            state[n] = 2
            order.append(n)

        for n in self._nodes:
            visit(n, [])
        self._order = order
        return order

    # -- running ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Reset every block (a new simulation)."""
        for node in self._nodes.values():
            node.block.reset()

    def _bind(self, types: TypeTable) -> None:
        """Hand the table to every block (``set_types``); a changed table starts a new
        simulation. A block without ``set_types`` must have been built with the table: when
        it shows the table it was built with (``type_table``), the entries are compared."""
        if not isinstance(types, TypeTable):
            raise TypeError(f"Model.run: types must be a fixsim.TypeTable or None, got "
                            f"{type(types).__name__}.")
        if types is self._bound:
            return
        for name, node in self._nodes.items():
            blk = node.block
            setter = getattr(blk, "set_types", None)
            if callable(setter):
                setter(types)
                continue
            held = getattr(blk, "type_table", None)
            if not isinstance(held, TypeTable):
                held = getattr(blk, "_types", None)
            if isinstance(held, TypeTable) and not table_is_double(types, name):
                # the block shows the table it was built with: it must agree with this one
                # (a block built without a table may have explicit types equal to the
                # table's, so it cannot be judged from its arguments; it is trusted)
                mine = _entries(types, name)
                theirs = _entries(held, name)
                fixed = {n: t for n, t in mine.items() if isinstance(t, numerictype)}
                if fixed and {n: theirs.get(n) for n in fixed} != fixed:
                    raise ValueError(
                        f"Model.run: block {name!r} ({type(blk).__name__}) reads its types when "
                        "it is built (it has no set_types() method), and it was built with "
                        f"other types than this table gives (e.g. {next(iter(fixed))!r}); "
                        "build it with types=<this table> (a function that builds the model "
                        "from a table does this).")
            blk.reset()
        self._bound = types

    def _feed_double(self, name: str, types: TypeTable | None) -> bool:
        """Whether block *name* must get float input (its table entries are all 'double' and
        it cannot read the table itself)."""
        if types is None:
            return False
        blk = self._nodes[name].block
        return not callable(getattr(blk, "set_types", None)) and table_is_double(types, name)

    def _inputs_dict(self, inputs) -> dict[str, Any]:
        if isinstance(inputs, Mapping):
            missing = [n for n in self._inputs if n not in inputs]
            extra = [n for n in inputs if n not in self._inputs]
            if missing or extra:
                raise ValueError(f"Model.run: inputs must be given for {self._inputs!r}; "
                                 f"missing {missing!r}, unknown {extra!r}.")
            return dict(inputs)
        if len(self._inputs) != 1:
            raise ValueError(f"Model.run: the model has inputs {self._inputs!r}; pass a dict "
                             "name -> signal.")
        return {self._inputs[0]: inputs}

    def run(self, inputs=None, *, types: TypeTable | None = None, frame: int | None = None,
            length: int | None = None) -> dict[str, Any]:
        """Simulate the model on the next samples of its inputs, keeping state.

        Parameters
        ----------
        inputs : signal or dict
            One signal (a model with one input) or a dict input name -> signal. A fi runs the
            blocks in fixed point, floats in double; an :class:`~fixsim._core._interval.Interval`
            derives the range of every signal (each block reports it through
            ``report_range``; see :meth:`ranges`).
        types : TypeTable, optional
            Type table for the whole model: the inputs are cast by their entries (an input
            with an entry: ``T[name](x)``, so a float input becomes fixed under a fixed table
            and a fi input double under ``T.as_double()``), and every block reads its
            ``"<block>.<signal>"`` entries (``set_types``). Running with a different table
            than the previous call resets the model (a new simulation). ``None`` keeps the
            blocks' own types.
        frame : int, optional
            Frame length: the inputs are fed in frames of this many samples (state carries
            across frames) and the outputs concatenated. Default: one frame.
        length : int, optional
            Samples to make, for a model without inputs (only source blocks such as an NCO,
            which make as many samples per frame as the model inputs have otherwise).

        Returns
        -------
        dict
            Output name -> signal (fi in fixed mode, float64 in double mode, Interval for
            interval input).
        """
        order = self.check()
        if not self._outputs:
            raise ValueError(f"Model {self.name!r} has no outputs; add one with "
                             "model.output(name, source).")
        if types is not None:
            self._bind(types)
        sig = {} if (not self._inputs and not inputs) else self._inputs_dict(inputs)
        cast: set[str] = set()
        for n, x in sig.items():
            if types is None:
                continue
            if n in types:
                # an Interval too: its named cast reports the input's range and rounds and
                # saturates it as the run does (the blocks then see the cast's range)
                sig[n] = types[n](x)
                cast.add(n)
            elif isinstance(x, Interval):
                continue
            elif not isinstance(x, fi) and any(isinstance(t, numerictype)
                                               for _, t in types.items()):
                raise ValueError(
                    f"Model.run: input {n!r} is not a fi and the type table has no entry for "
                    f"it, so the model would run in double although the table is fixed; add "
                    f"T[{n!r}] = <its type> (e.g. 'sfix16_En15') or pass a fi.")
        if frame is None or any(isinstance(x, Interval) for x in sig.values()):
            return self._run_frame(sig, order, types, length, reported=cast)
        if isinstance(frame, bool) or not isinstance(frame, int | np.integer) or frame < 1:
            raise ValueError(f"Model.run: frame must be an int >= 1, got {frame!r}.")
        lengths = {len(x) for x in sig.values()} | ({int(length)} if length is not None else set())
        if len(lengths) != 1:
            raise ValueError(f"Model.run: framed inputs must have equal lengths, got "
                             f"{sorted(lengths)}.")
        (n,) = lengths
        parts: dict[str, list] = {k: [] for k in self._outputs}
        for start in range(0, max(n, 1), frame):
            chunk = {k: v[start:start + frame] for k, v in sig.items()}
            out = self._run_frame(chunk, order, types, min(frame, n - start))
            for k, v in out.items():
                parts[k].append(v)
        return {k: _concat(v, k) for k, v in parts.items()}

    def _run_frame(self, sig: dict[str, Any], order: list[str],
                   types: TypeTable | None, length: int | None = None,
                   reported: set[str] = frozenset()) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for n, x in sig.items():
            if isinstance(x, Interval):
                if x.size and n not in reported:  # (a named cast reported it already)
                    report_range(n, *x.hull())
            elif not isinstance(x, fi):
                x = np.asarray(x)
                if not holds_numbers(x, complex_ok=True):
                    # regression: run(None) fed a NaN sample (np.asarray(None) as float)
                    raise TypeError(f"Model.run: input {n!r} must be a fi, numbers or an "
                                    f"Interval, got {type(sig[n]).__name__} "
                                    f"{np.asarray(sig[n]).dtype} values ({sig[n]!r:.60}).")
                x = x if np.iscomplexobj(x) else x.astype(np.float64, copy=False)
            values[n] = x
        for name in order:
            node = self._nodes[name]
            if not node.sources:  # a source block: as many samples as the inputs' frame
                values[name] = self._source_step(name, node.block, values, sig, length)
                continue
            args = [self._value(values, s, name) for s in node.sources]
            if self._feed_double(name, types):
                args = [a.data if isinstance(a, fi) else a for a in args]
            if any(isinstance(a, Interval) for a in args):
                values[name] = self._interval_step(name, node.block, args)
            else:
                values[name] = node.block.filt(*args)
        return {k: self._value(values, s, f"output {k!r}") for k, s in self._outputs.items()}

    def _source_step(self, name: str, block, values, sig, length: int | None):
        sizes = {(x.size if isinstance(x, Interval) else len(x)) for x in sig.values()}
        if length is not None:
            sizes.add(int(length))
        if len(sizes) != 1:
            raise ValueError(f"Model: source block {name!r} makes as many samples as the model "
                             f"inputs' frame, but the inputs have lengths {sorted(sizes)} (a "
                             "model without inputs needs run(..., length=n)).")
        (n,) = sizes
        interval = any(isinstance(x, Interval) for x in sig.values())
        arg = Interval(np.zeros(n)) if interval else n
        step = getattr(block, "step", None)
        fn = step if callable(step) else block.filt
        return fn(arg)

    def _value(self, values: dict[str, Any], source: str, user: str):
        base, port = self._split(source)
        v = values[base]
        if port is None:
            if isinstance(v, tuple):
                raise ValueError(f"Model: {user} reads {source!r}, but block {base!r} has "
                                 f"{len(v)} outputs; name one as '{base}:<k>'.")
            return v
        if not isinstance(v, tuple):
            raise ValueError(f"Model: {user} reads {source!r}, but block {base!r} has one "
                             f"output; use {base!r}.")
        labels = getattr(self._nodes[base].block, "output_names", None)
        if labels is not None and port in labels:
            return v[list(labels).index(port)]
        try:
            return v[int(port)]
        except (ValueError, IndexError):
            raise ValueError(f"Model: {user} reads {source!r}; block {base!r} has outputs "
                             f"0..{len(v) - 1}.") from None

    def _interval_step(self, name: str, block, args: list):
        """Run a block on interval input; blocks that do not take intervals fall back to
        ``worst_case_output_range`` on the hull (or an unbounded output, with the reason)."""
        try:
            out = block.filt(*args)
        except (TypeError, ValueError, AttributeError) as exc:
            out = None
            why = f"{type(exc).__name__}: {exc}"
        else:
            if isinstance(out, Interval) or (isinstance(out, tuple) and all(
                    isinstance(o, Interval) for o in out)):
                return out
            why = f"filt returned {type(out).__name__}"
        n = args[0].size if isinstance(args[0], Interval) else len(args[0])
        wc = getattr(block, "worst_case_output_range", None)
        if callable(wc) and len(args) == 1:
            lo, hi = args[0].hull() if args[0].size else (0.0, 0.0)
            try:
                a, b = wc(lo, hi)
            except Exception as exc:  # noqa: BLE001 - reported as the reason below
                why = f"worst_case_output_range failed: {exc}"
            else:
                report_range(f"{name}.out", a, b)
                return Interval(np.full(n, a), np.full(n, b))
        reason = f"block {name!r} ({type(block).__name__}) gives no interval bound ({why})"
        labels = getattr(block, "output_names", None)
        if labels:
            for label in labels:
                report_range(f"{name}.{label}", -np.inf, np.inf, reason)
            return tuple(Interval(np.full(n, -np.inf), np.full(n, np.inf), reason=reason)
                         for _ in labels)
        report_range(f"{name}.out", -np.inf, np.inf, reason)
        return Interval(np.full(n, -np.inf), np.full(n, np.inf), reason=reason)

    # -- analysis -----------------------------------------------------------------------------
    def ranges(self, input_ranges, *, length: int = 1) -> dict[str, tuple[float, float]]:
        """Derived (worst-case) ranges of every signal for inputs within *input_ranges*.

        Parameters
        ----------
        input_ranges : (lo, hi), Interval, or dict of them per input
        length : int
            Samples per interval frame (1 is enough for blocks whose bound is the same for
            every sample).

        Returns
        -------
        dict
            Signal name -> ``(lo, hi)``, the hull of every reported range. The model's state
            is not touched (a copy runs).
        """
        ivs = {}
        for k, v in self._inputs_dict(input_ranges).items():
            if isinstance(v, Interval):
                ivs[k] = v
            else:
                lo, hi = v
                ivs[k] = Interval(np.full(length, float(lo)), np.full(length, float(hi)))
        seen: dict[str, tuple[float, float]] = {}

        def listen(ev) -> None:
            a, b = seen.get(ev.name, (ev.lo, ev.hi))
            seen[ev.name] = (min(a, ev.lo), max(b, ev.hi))

        twin = copy.deepcopy(self)
        twin.reset()
        with range_listening(listen):
            twin.run(ivs)
        return seen

    def signals(self, input_types: numerictype | str | Mapping | None = None, *,
                length: int = 256) -> dict[str, numerictype]:
        """Every named signal of the model with its type, for inputs of *input_types*: the
        inputs' types, and each block's types as it was built (explicit arguments, the table
        it was built with) with MATLAB's full-precision defaults everywhere else. A table
        bound later by ``run(types=...)`` is not used: a model built without tables lists
        the full-precision types, a table to start from (:meth:`type_table`).

        A copy of the model runs one frame of *length* zeros of the input types in fixed
        point and listens to every probe, so any block that follows the block protocol is
        covered. Returns signal name -> numerictype, in execution order.
        """
        tin = self._input_types(input_types)
        twin = copy.deepcopy(self)
        for node in twin._nodes.values():
            setter = getattr(node.block, "set_types", None)
            if callable(setter):
                setter(getattr(node.block, "_built_types", None))
            node.block.reset()
        twin._bound = None
        found: dict[str, numerictype] = dict(tin)

        def on_signal(ev) -> None:
            if ev.name and ev.numerictype is not None:
                found.setdefault(ev.name, ev.numerictype)

        def on_quant(ev) -> None:
            if ev.name and isinstance(ev.numerictype, numerictype):
                found.setdefault(ev.name, ev.numerictype)

        zeros = {n: fi.from_int(np.zeros(length, dtype=np.int64), T) for n, T in tin.items()}
        with signal_listening(on_signal), _probe.listening(on_quant):
            twin.run(zeros)
        block_names = [n for n in found if n in tin or n.split(".")[0] in self._nodes]
        order = {n: i for i, n in enumerate(self.check())}
        return dict(sorted(((n, found[n]) for n in block_names),
                           key=lambda kv: (-1 if kv[0] in tin else
                                           order.get(kv[0].split(".")[0], 1 << 30))))

    def _input_types(self, input_types) -> dict[str, numerictype]:
        if input_types is None:
            raise ValueError(f"Model: give the input types ({self._inputs!r}), e.g. "
                             "'sfix16_En15' or a dict name -> type.")
        if not isinstance(input_types, Mapping):
            input_types = self._inputs_dict(input_types)
        unknown = [n for n in input_types if n not in self._inputs]
        if unknown:  # regression: unknown names were ignored (run() refuses them)
            raise ValueError(f"Model {self.name!r}: input types given for "
                             f"{', '.join(map(repr, unknown))}, which are not inputs of the "
                             f"model; its inputs: {', '.join(map(repr, self._inputs))}.")
        out = {}
        for n in self._inputs:
            if n not in input_types:
                raise ValueError(f"Model: no type for input {n!r}.")
            t = input_types[n]
            try:
                out[n] = numerictype.parse(t) if isinstance(t, str) else t
            except ValueError as exc:
                raise ValueError(f"Model {self.name!r}: the type of input {n!r}, {t!r}: "
                                 f"{exc}") from None
            if not isinstance(out[n], numerictype):
                raise TypeError(f"Model: the type of input {n!r} must be a numerictype or a "
                                f"type name, got {t!r}.")
        return out

    def type_table(self, input_types, **kwargs) -> TypeTable:
        """A :class:`~fixsim.TypeTable` holding every signal with its full-precision type
        (:meth:`signals`), to start from. Keyword arguments go to ``TypeTable`` (e.g.
        ``rounding=``, ``overflow=``).

        Signals whose types a block works out itself (its ``fixed_signals``, such as a CIC's
        stage registers, sized from whatever type reaches its input) are ``'inherit'`` and
        locked: no proposal gives them a type the run would not use.

        Signals one type must serve (a block's ``tied_signals``, groups of its signal names,
        such as an NCO's ``sin`` and ``cos``, which one sine table gives) are *tied*: the table
        lists the groups (``T.tied``, kept by its copies, ``as_double`` and ``override``, not
        by JSON), and ``fx.tool.propose`` gives each group one type, as MATLAB's Fixed-Point
        Tool does for a shared data type group."""
        sig: dict[str, Any] = dict(self.signals(input_types))
        locked = set(kwargs.pop("locked", ()))
        tied: list[tuple[str, ...]] = []
        for name, node in self._nodes.items():
            for s in getattr(node.block, "fixed_signals", ()):
                if f"{name}.{s}" in sig:
                    sig[f"{name}.{s}"] = "inherit"
                    locked.add(f"{name}.{s}")
            for group in getattr(node.block, "tied_signals", ()):
                members = tuple(f"{name}.{s}" for s in group if f"{name}.{s}" in sig)
                if len(members) > 1:
                    tied.append(members)
        return TiedTypeTable(sig, locked=sorted(locked), tied=tied, **kwargs)

    # -- printing -----------------------------------------------------------------------------
    def table(self, types: TypeTable | None = None, input_types=None) -> str:
        """The model as a text table: each block, its kind, where its inputs come from,
        where its output goes, and its signals (with their types from *types*, or the
        full-precision types for *input_types*)."""
        order = self.check()
        typed: dict[str, Any] = {}
        if input_types is not None:
            typed.update(self.signals(input_types))
        if types is not None:
            typed.update({n: t for n, t in types.items()})
        consumers: dict[str, list[str]] = {}
        for name in order:
            for s in self._nodes[name].sources:
                consumers.setdefault(self._split(s)[0], []).append(name)
        for out, s in self._outputs.items():
            consumers.setdefault(self._split(s)[0], []).append(f"[{out}]")
        rows = [("block", "kind", "inputs", "outputs to", "signals")]
        for n in self._inputs:
            sig = f"{n}: {_fmt(typed[n])}" if n in typed else n
            rows.append((n, "input", "", ", ".join(consumers.get(n, [])) or "-", sig))
        for name in order:
            node = self._nodes[name]
            blk = node.block
            names = [s for s in typed if s.startswith(name + ".")]
            if not names:
                names = [f"{name}.{s}" for s in _declared(blk)]
            sigs = ", ".join(f"{s.split('.', 1)[1]}: {_fmt(typed[s])}" if s in typed
                             else s.split(".", 1)[1] for s in names) or "-"
            rows.append((name, type(blk).__name__, ", ".join(node.sources),
                         ", ".join(consumers.get(name, [])) or "-", sigs))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"Model {self.name!r}: {len(self._inputs)} input(s), {len(order)} block(s), "
                 f"{len(self._outputs)} output(s)"]
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True))
                         + "  " + r[4])
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
        outs = ", ".join(f"{k} <- {v}" for k, v in self._outputs.items()) or "(none)"
        lines.append(f"outputs: {outs}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table(self._bound)

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save the model (blocks, wiring, coefficients and types; the state is reset first)
        to *path*, atomically (a file of its own format, ``fixsim.Model/1``, made with
        :mod:`pickle`: load only files you trust, as with any pickle).

        ``fixsim propose MODEL_FILE --inputs x.npy`` runs the command line on a saved model.
        """
        self.reset()
        data = pickle.dumps({"schema": MODEL_SCHEMA, "model": self},
                            protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(path, data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """A model saved with :meth:`save` (only load files you trust: this unpickles)."""
        path = os.fspath(path)
        with open(path, "rb") as fh:
            try:
                data = pickle.load(fh)
            except Exception as exc:
                raise ValueError(f"Model.load: {path!r} is not a saved fixsim model "
                                 f"({type(exc).__name__}: {exc}).") from None
        if not isinstance(data, dict) or data.get("schema") != MODEL_SCHEMA \
                or not isinstance(data.get("model"), cls):
            raise ValueError(f"Model.load: {path!r} is not a saved fixsim model (expected "
                             f"schema {MODEL_SCHEMA!r}; save one with Model.save).")
        return data["model"]

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, inputs={self._inputs!r}, blocks={list(self._nodes)!r}, "
                f"outputs={list(self._outputs)!r})")


class TiedTypeTable(TypeTable):
    """A :class:`~fixsim.TypeTable` that also lists groups of signals one type must serve
    (:meth:`Model.type_table` makes it; ``fx.tool.propose`` gives each group one type).

    The groups are kept by :meth:`copy`, :meth:`as_double`, :meth:`override` and pickling;
    JSON (:meth:`to_json`) and equality ignore them (a table from JSON runs the same, and
    ``propose(..., tied=...)`` declares the groups again)."""

    __slots__ = ("_tied",)

    def __init__(self, types: Mapping | None = None, *, tied: Iterable = (), **kwargs) -> None:
        super().__init__(types, **kwargs)
        self._tied = tuple(tuple(self._known(n) for n in g) for g in tied)

    @property
    def tied(self) -> tuple[tuple[str, ...], ...]:
        """The groups of signal names that one type must serve."""
        return self._tied

    def copy(self) -> TiedTypeTable:
        return _with_ties(super().copy(), self._tied)

    def __reduce__(self):
        return (_tied_from_dict, (self.to_dict(), self._tied))


def _with_ties(base: TypeTable, tied) -> TiedTypeTable:
    """*base*'s state (taken over, not copied) in a TiedTypeTable with the groups *tied*."""
    new = TiedTypeTable.__new__(TiedTypeTable)
    for slot in TypeTable.__slots__:
        setattr(new, slot, getattr(base, slot))
    new._tied = tuple(tuple(g) for g in tied)
    return new


def _tied_from_dict(data: Mapping, tied) -> TiedTypeTable:
    return _with_ties(TypeTable.from_dict(data), tied)


def _entries(types: TypeTable, name: str) -> dict[str, Any]:
    """The entries of block *name* in *types*."""
    return {n: types.type_of(n) for n in types.names if n.startswith(name + ".")}


def _fmt(t) -> str:
    return DOUBLE if t == DOUBLE else str(t)


def _declared(block) -> list[str]:
    """Signal names a block declares without running (``signal_names``), else none."""
    return list(getattr(block, "signal_names", ()) or ())


def _concat(parts: Iterable, name: str):
    parts = list(parts)
    if all(isinstance(p, fi) for p in parts):
        T = parts[0].numerictype
        if any(p.numerictype != T for p in parts):
            raise ValueError(f"Model.run: output {name!r} changed type between frames.")
        ints = np.concatenate([p._int for p in parts])
        return make_fi(ints, T)
    if any(isinstance(p, fi) for p in parts):
        raise ValueError(f"Model.run: output {name!r} mixes fixed and double frames.")
    arrays = [np.asarray(p) for p in parts]
    if all(isinstance(p, Interval) for p in parts):
        return Interval(np.concatenate([p.lo for p in parts]),
                        np.concatenate([p.hi for p in parts]))
    if not any(np.iscomplexobj(a) for a in arrays):
        arrays = [a.astype(np.float64, copy=False) for a in arrays]
    return np.concatenate(arrays)
