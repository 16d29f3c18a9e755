"""Fixed-point (power-of-two scaled) execution of a float network through a type table.

Every layer names its signals ``"<layer>.weight"``, ``".bias"``, ``".acc"`` and ``".out"`` and
casts them with the :class:`fixsim.TypeTable` it is given, so the casts are the tool's probes:
``fx.tool.record`` / ``propose`` work on a network unchanged. With ``T.as_double()`` (or any
table of ``'double'`` entries) the same code runs in float64 and records ranges.

Arithmetic in fixed point:

* products and accumulators are exact: ``acc = sum x w`` on the stored integers (fraction
  ``Fx + Fw``), the bias aligned exactly, then one cast into ``.acc``; then one cast (a shift
  with the table's rounding and overflow) into ``.out``. The integer product runs on float64
  BLAS when ``K * max|x| * max|w| < 2**53`` (the bound from the input *type*, the actual
  constant weights and the inner length K: every partial sum is an exactly representable
  integer whatever the summation order), on the int64 kernel below ``2**63``, on Python ints
  beyond;
* ReLU, Clip (``min(max(x, lo), hi)`` exactly, then cast), MaxPool and the shape
  operators are exact on the stored integers;
* Sigmoid, Tanh and Erf (PyTorch's exact GELU, ``x / 2 (1 + erf(x / sqrt 2))``) read a
  :class:`LookupTable` (size and input range configurable) whose
  entries are quantized to the ``.out`` type;
* average pools and ReduceMean cast the exact quotient of the window (axis) sums into the
  ``.out`` type (the stored integers ``fx.divide`` gives; the cast counts its overflows and
  underflows); ReduceSum casts the exact axis sum into ``.out``; ReduceMax and ReduceMin,
  like MaxPool, keep the input's values and type;
* Sub is exact like Add (a constant operand, either side, is cast to ``.bias``); Div by a
  constant multiplies by the constant's reciprocal, cast to ``.weight`` (how hardware divides
  by a constant), exactly; a division by a tensor that is not a constant has no fixed-point
  form (double tables run it);
* HardSigmoid ``clip(alpha x + beta, 0, 1)`` and HardSwish ``x clip(x / 6 + 1 / 2, 0, 1)``
  are exact on the stored integers, with alpha cast to ``.weight`` and beta to ``.bias``;
* Softmax and LogSoftmax are computed in double on the input's real values and cast to
  ``.out`` (a reference for the last layer, not a hardware algorithm).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np

from .._core._arith import sticky_quotient
from .._core._fi import fi, make_fi
from .._core._fimath import current_fimath
from .._core._interval import ranges_active
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import as_storage, quantize_array
from .._core._typetable import signals_active
from . import _ops
from ._network import (
    Network,
    Node,
    _resolve_auto_pad,
    conv_params,
    float_matmul,
    int_matmul,
)
from ._shapes import check_node, flatten_shape

__all__ = ["LookupTable", "run_fixed", "signal_names"]

_PASS = ("MaxPool", "ReduceMax", "ReduceMin", "Flatten", "Reshape", "Transpose", "Identity",
         "Dropout")
_OUT_ONLY = ("Relu", "Clip", "Sigmoid", "Tanh", "Erf", "Softmax", "LogSoftmax", "AveragePool",
             "GlobalAveragePool", "ReduceMean", "ReduceSum", "Concat")


def _int_matmul_nd(ai: np.ndarray, bi: np.ndarray, amax: int, bmax: int) -> np.ndarray:
    """Exact ``ai @ bi`` of integer arrays with numpy's matmul shape rules (1-D operands
    promoted and the added axis removed, stacks broadcast), one 2-D :func:`int_matmul` per
    stacked matrix (regression: a batched product of two activations, ``(N, 2, 3) @ (N, 3,
    2)``, was passed to the 2-D kernel whole and refused)."""
    A = ai[None, :] if ai.ndim == 1 else ai
    B = bi[:, None] if bi.ndim == 1 else bi
    if B.ndim == 2:
        out = int_matmul(A.reshape(-1, A.shape[-1]), B, amax, bmax).reshape(
            A.shape[:-1] + (B.shape[-1],))
    else:
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        A = np.broadcast_to(A, batch + A.shape[-2:])
        B = np.broadcast_to(B, batch + B.shape[-2:])
        mats = [int_matmul(A[i], B[i], amax, bmax) for i in np.ndindex(batch)]
        dtype = object if any(m.dtype == object for m in mats) else np.int64
        out = np.empty(batch + (A.shape[-2], B.shape[-1]), dtype=dtype)
        for i, m in zip(np.ndindex(batch), mats, strict=True):
            out[i] = m
    if ai.ndim == 1:
        out = out[..., 0, :]
    if bi.ndim == 1:
        out = out[..., 0]
    return out


@dataclasses.dataclass(frozen=True)
class LookupTable:
    """Sigmoid/tanh/erf lookup table of fixed mode.

    The table covers ``[-input_range, input_range)`` with *size* entries; entry ``k`` holds
    ``f`` at the centre of its cell, quantized to the layer's ``.out`` type; an input indexes
    its cell (``floor((x + r) size / 2r)``, clamped to the table), which for powers of two is a
    pure bit selection in hardware.

    Parameters
    ----------
    size : int
        Number of entries, a power of two (default 256).
    input_range : float
        Half-width ``r`` of the covered input interval, a power of two (default 8).
    """

    size: int = 256
    input_range: float = 8.0

    def __post_init__(self):
        s, r = self.size, self.input_range
        if not isinstance(s, int) or s < 2 or s & (s - 1):
            raise ValueError(f"LookupTable: size must be a power of two >= 2, got {s!r}.")
        if not (r > 0 and math.frexp(r)[0] == 0.5):
            raise ValueError(f"LookupTable: input_range must be a power of two, got {r!r}.")

    def index(self, x: np.ndarray) -> np.ndarray:
        """The cell of every (float64-exact) input value."""
        r = self.input_range
        k = np.floor((x + r) * (self.size / (2 * r)))
        return np.clip(k, 0, self.size - 1).astype(np.int64)

    def centres(self) -> np.ndarray:
        """The input value each entry is computed at."""
        step = 2 * self.input_range / self.size
        return -self.input_range + (np.arange(self.size) + 0.5) * step


def _fn(op: str):
    if op == "Sigmoid":
        return lambda v: 1.0 / (1.0 + np.exp(-v))
    if op == "Erf":
        from scipy.special import erf
        return erf
    return np.tanh


def _lut_table(op: str, lut: LookupTable, Tout: numerictype, layer: str = "") -> np.ndarray:
    """The stored integers of a sigmoid/tanh/erf table: the function at each cell's centre,
    quantized (nearest, saturate) to the ``.out`` type *Tout* (nondecreasing, as the
    functions are)."""
    return quantize_array(_fn(op)(lut.centres()), Tout, Rounding.NEAREST, Overflow.SATURATE,
                          "raise", None, f"{layer} lookup table", "lut")


def _cast_modes(T, name: str) -> tuple[Rounding, Overflow]:
    """The rounding and overflow of table *T*'s cast *name* of a fi without a local fimath:
    the entry's, else the table's, else the fimath in force."""
    entry = T.entry(name)
    r = entry.rounding if entry.rounding is not None else T.rounding
    o = entry.overflow if entry.overflow is not None else T.overflow
    F = current_fimath()
    return (F.rounding if r is None else r), (F.overflow if o is None else o)


def _lut_cast_table(T, name: str, Tout: numerictype):
    """A one-signal table casting *name* into *Tout* the way the lookup table's entries are
    quantized (nearest, saturate; a ``sat_sym`` cast of *T* also lifts the minimum, as it did
    on the stored entries), so that the activation's probe sees the table-defined values
    ``f(cell centre)`` arrive and counts their overflows and underflows (regression: the
    entries were saturated when the table was built and the cast counted nothing)."""
    from .._core._typetable import TypeEntry, TypeTable
    o = Overflow.SAT_SYM if _cast_modes(T, name)[1] == Overflow.SAT_SYM else Overflow.SATURATE
    return TypeTable({name: TypeEntry(Tout, Rounding.NEAREST, o)})


def _in_name(net: Network, i: int) -> str:
    return "input" if len(net.inputs) == 1 else f"input_{net.inputs[i].replace('.', '_')}"


def _const(net: Network, name: str | None):
    return None if not name else net.params.get(name)


def _node_signals(net: Network, n: Node) -> list[str]:
    op = n.op
    if op in _PASS:
        return []
    if op in ("Gemm", "Conv"):
        has_b = len(n.inputs) > 2 and bool(n.inputs[2])
        return ["weight"] + (["bias"] if has_b else []) + ["acc", "out"]
    if op == "MatMul":
        return (["weight"] if _const(net, n.inputs[1]) is not None else []) + ["acc", "out"]
    if op in ("Add", "Sub", "Mul"):
        c = [_const(net, i) for i in n.inputs]
        if any(v is not None for v in c):
            return ["weight" if op == "Mul" else "bias", "out"]
        return ["out"]
    if op == "Div":
        return (["weight"] if _const(net, n.inputs[1]) is not None else []) + ["out"]
    if op in ("HardSigmoid", "HardSwish"):
        return ["weight", "bias", "out"]
    if op in ("LeakyRelu",):
        return ["weight", "out"]
    if op == "BatchNormalization":
        return ["weight", "bias", "out"]
    if op in _OUT_ONLY:
        return ["out"]
    raise ValueError(f"node {n.name!r}: operator {op!r} has no fixed-point form.")


def signal_names(net: Network) -> list[str]:
    """Every signal name fixed mode casts, in execution order."""
    names = [_in_name(net, i) for i in range(len(net.inputs))]
    for n in net.nodes:
        names += [f"{n.name}.{s}" for s in _node_signals(net, n)]
    return names


# -- exact integer helpers -----------------------------------------------------------------------
def _ints(a: fi) -> np.ndarray:
    return a.int


def _exact_fi(ints: np.ndarray, F: int) -> fi:
    """A fi holding the exact integers *ints* at fraction *F* (just wide enough)."""
    if ints.size:
        hi = max(abs(int(ints.min())), abs(int(ints.max())))
    else:
        hi = 0
    T = numerictype(True, max(2, hi.bit_length() + 1), F)
    return make_fi(as_storage(ints, T), T)


def _type_bound(T: numerictype) -> int:
    return max(abs(T.int_min), abs(T.int_max))


def _align(ints: np.ndarray, shift: int) -> np.ndarray:
    """``ints * 2**shift`` exactly (shift >= 0), going to Python ints if int64 could overflow."""
    if shift == 0:
        return ints
    if ints.dtype != object and ints.size:
        hi = max(abs(int(ints.min())), abs(int(ints.max())))
        if hi.bit_length() + shift < 63:
            return ints << shift
    return ints.astype(object) * (1 << shift)


def _negate(ints: np.ndarray) -> np.ndarray:
    """``-ints`` exactly (Python ints where int64 would overflow)."""
    if ints.dtype != object and ints.size and int(ints.min()) == np.iinfo(np.int64).min:
        return -ints.astype(object)
    return -ints


def _mul_ints(a: fi, b: fi) -> np.ndarray:
    """The exact products of the stored integers of *a* and *b* (broadcast; Python ints when
    int64 could overflow)."""
    if _type_bound(a.numerictype).bit_length() + _type_bound(b.numerictype).bit_length() > 62:
        return _ints(a).astype(object) * _ints(b).astype(object)
    return _ints(a) * _ints(b)


def _add_aligned(a: np.ndarray, Fa: int, b: np.ndarray, Fb: int):
    F = max(Fa, Fb)
    a2, b2 = _align(a, F - Fa), _align(b, F - Fb)
    if a2.dtype == object or b2.dtype == object:
        return a2.astype(object) + b2.astype(object), F
    # both below 2**62 in magnitude after _align: the sum fits int64
    if a2.size and b2.size and max(abs(int(a2.min())), abs(int(a2.max())),
                                   abs(int(b2.min())), abs(int(b2.max()))) >= 1 << 62:
        return a2.astype(object) + b2.astype(object), F
    return a2 + b2, F


# -- the executor ----------------------------------------------------------------------------------
class _Run:
    def __init__(self, net: Network, T, lut):
        self.net = net
        self.T = T
        if lut is None:
            lut = LookupTable()
        elif isinstance(lut, dict):
            lut = LookupTable(**lut)
        elif not isinstance(lut, LookupTable):
            raise TypeError(f"Network.run: lut must be a LookupTable or a dict, got "
                            f"{type(lut).__name__}.")
        self.lut = lut
        self.luts: dict[str, dict] = {}

    def cast(self, name: str, v):
        return self.T[name](v)

    def run(self, feeds: dict) -> dict:
        net = self.net
        env: dict = {}
        for i, k in enumerate(net.inputs):
            a = np.asarray(feeds[k], dtype=np.float64)
            if np.isnan(a).any():
                raise ValueError(f"Network {net.name!r}: input {k!r} contains NaN.")
            env[k] = self.cast(_in_name(net, i), a)
        for n in net.nodes:
            ins = [env[i] if i in env else net.params.get(i) if i else None for i in n.inputs]
            check_node(net, n, [None if v is None else
                                (v.shape if isinstance(v, fi) else np.shape(v)) for v in ins])
            out = getattr(self, "op_" + n.op, None)
            if out is None:
                raise ValueError(f"node {n.name!r}: operator {n.op!r} has no fixed-point form.")
            env[n.outputs[0]] = out(n, ins)
        return env

    # -- linear layers --------------------------------------------------------------------------
    def _linear(self, n: Node, x, w, b, kind: str, conv_args=None):
        """``acc = x (*) w + b`` exactly, cast to .acc, then to .out."""
        L = n.name
        wq = self.cast(f"{L}.weight", w)
        bq = self.cast(f"{L}.bias", b) if b is not None else None
        if isinstance(x, fi) and isinstance(wq, fi):
            xi, wi = _ints(x), _ints(wq)
            xm = _type_bound(x.numerictype)
            wm = int(np.abs(wi).max()) if wi.size else 0
            mm = lambda p, r: int_matmul(p, r, wm, xm)  # noqa: E731  (w @ cols: transposed)
            if kind == "conv":
                acc = self._conv(n, xi, wi, mm, conv_args)
            else:
                lead = xi.shape[:-1]
                acc = int_matmul(xi.reshape(-1, xi.shape[-1]), wi, xm, wm).reshape(
                    lead + (wi.shape[1],))
            F = x.fraction_length + wq.fraction_length
            if bq is not None:
                if not isinstance(bq, fi):
                    raise TypeError(f"layer {L!r}: a fixed weight needs a fixed bias type "
                                    f"(got {self.T[f'{L}.bias'].type}).")
                bi = _ints(bq)
                if kind == "conv":
                    bi = bi.reshape((1, -1) + (1,) * (acc.ndim - 2))
                acc, F = _add_aligned(acc, F, bi, bq.fraction_length)
            exact = _exact_fi(acc, F)
        else:
            xv = np.asarray(x.data if isinstance(x, fi) else x, dtype=np.float64)
            wv = np.asarray(wq.data if isinstance(wq, fi) else wq, dtype=np.float64)
            # the same float path as plain double mode, so a double table is bit-identical
            if kind == "conv":
                exact = self._conv(n, xv, wv, float_matmul, conv_args)
            else:
                lead = xv.shape[:-1]
                exact = float_matmul(xv.reshape(-1, xv.shape[-1]), wv).reshape(
                    lead + (wv.shape[1],))
            if bq is not None:
                bv = np.asarray(bq.data if isinstance(bq, fi) else bq, dtype=np.float64)
                exact = exact + (bv.reshape((1, -1) + (1,) * (exact.ndim - 2))
                                 if kind == "conv" else bv)
        acc = self.cast(f"{L}.acc", exact)
        return self.cast(f"{L}.out", acc)

    def _conv(self, n, x, w, mm, args):
        kernel = list(w.shape[2:])
        strides, dil, pads, auto = conv_params(n, x.ndim, kernel)
        pads = _resolve_auto_pad(auto, x.shape[2:], kernel, strides, dil, pads)
        return _ops.conv(x, w, int(n.attrs.get("group", 1)), strides, dil, pads, 0, matmul=mm,
                         transposed=True)

    def op_Gemm(self, n, ins):  # noqa: N802
        a = n.attrs
        x, w = ins[0], np.asarray(ins[1], np.float64)
        if a.get("transA", 0):
            raise ValueError(f"node {n.name!r}: Gemm with transA=1 has no fixed-point form.")
        if not isinstance(ins[1], np.ndarray):
            raise ValueError(f"node {n.name!r}: fixed mode needs a constant Gemm weight.")
        w = (w.T if a.get("transB", 0) else w) * a.get("alpha", 1.0)
        b = None
        if len(ins) > 2 and ins[2] is not None:
            b = np.asarray(ins[2], np.float64) * a.get("beta", 1.0)
        return self._linear(n, x, w, b, "gemm")

    def op_Conv(self, n, ins):  # noqa: N802
        b = np.asarray(ins[2], np.float64) if len(ins) > 2 and ins[2] is not None else None
        return self._linear(n, ins[0], np.asarray(ins[1], np.float64), b, "conv")

    def op_MatMul(self, n, ins):  # noqa: N802
        if n.inputs[1] in self.net.params:
            return self._linear(n, ins[0], np.asarray(ins[1], np.float64), None, "gemm")
        a, b = ins
        if isinstance(a, fi) and isinstance(b, fi):
            acc = _int_matmul_nd(_ints(a), _ints(b), _type_bound(a.numerictype),
                                 _type_bound(b.numerictype))
            exact = _exact_fi(acc, a.fraction_length + b.fraction_length)
        else:
            exact = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
        return self.cast(f"{n.name}.out", self.cast(f"{n.name}.acc", exact))

    # -- elementwise ----------------------------------------------------------------------------
    def _binary(self, n, ins, sig: str):
        L = n.name
        const = [n.inputs[i] in self.net.params for i in range(2)]
        a, b = ins
        if const[0] and not const[1]:
            a, b = b, a
            const = [False, True]
        if const[1]:
            b = self.cast(f"{L}.{sig}", np.asarray(b, np.float64))
        if isinstance(a, fi) and isinstance(b, fi):
            if n.op == "Mul":
                exact = _exact_fi(_mul_ints(a, b), a.fraction_length + b.fraction_length)
            else:
                ai, bi = np.broadcast_arrays(_ints(a), _ints(b))
                s, F = _add_aligned(np.array(ai), a.fraction_length, np.array(bi),
                                    b.fraction_length)
                exact = _exact_fi(s, F)
        else:
            av = np.asarray(a.data if isinstance(a, fi) else a, np.float64)
            bv = np.asarray(b.data if isinstance(b, fi) else b, np.float64)
            exact = av * bv if n.op == "Mul" else av + bv
        return self.cast(f"{L}.out", exact)

    def op_Add(self, n, ins):  # noqa: N802
        return self._binary(n, ins, "bias")

    def op_Sub(self, n, ins):  # noqa: N802
        L = n.name
        a, b = ins
        # the constant operand (either side) is cast to .bias, as Add's
        if n.inputs[1] in self.net.params:
            b = self.cast(f"{L}.bias", np.asarray(b, np.float64))
        elif n.inputs[0] in self.net.params:
            a = self.cast(f"{L}.bias", np.asarray(a, np.float64))
        if isinstance(a, fi) and isinstance(b, fi):
            ai, bi = np.broadcast_arrays(_ints(a), _ints(b))
            s, F = _add_aligned(np.array(ai), a.fraction_length, _negate(np.array(bi)),
                                b.fraction_length)
            exact = _exact_fi(s, F)
        else:
            exact = np.asarray(a.data if isinstance(a, fi) else a, np.float64) \
                - np.asarray(b.data if isinstance(b, fi) else b, np.float64)
        return self.cast(f"{L}.out", exact)

    def op_Div(self, n, ins):  # noqa: N802
        L = n.name
        a, b = ins
        if n.inputs[1] not in self.net.params:
            if isinstance(a, fi) or isinstance(b, fi):
                raise ValueError(f"node {L!r}: Div by {n.inputs[1]!r}, which is not a "
                                 "constant, has no fixed-point form; a constant divisor "
                                 "becomes a multiplication by its reciprocal (.weight).")
            return self.cast(f"{L}.out", np.asarray(a, np.float64) / np.asarray(b, np.float64))
        c = np.asarray(b, np.float64)
        if np.any(c == 0):
            raise ValueError(f"node {L!r}: Div by the constant {n.inputs[1]!r}, which holds "
                             "0; its reciprocal has no fixed-point value.")
        w = self.cast(f"{L}.weight", 1.0 / c)
        if isinstance(a, fi) and isinstance(w, fi):
            exact = _exact_fi(_mul_ints(a, w), a.fraction_length + w.fraction_length)
        elif isinstance(w, fi):  # a double input times the quantized reciprocal
            exact = np.asarray(a, np.float64) * np.asarray(w.data, np.float64)
        else:  # a double reciprocal: the double run's own division (bit-identical)
            exact = np.asarray(a.data if isinstance(a, fi) else a, np.float64) / c
        return self.cast(f"{L}.out", exact)

    def _hard(self, n, x):
        """HardSigmoid ``clip(alpha x + beta, 0, 1)`` of *x* with alpha and beta cast to
        ``.weight`` and ``.bias``; exact when all three are fixed."""
        from ._network import hard_params
        al, be = hard_params(n)
        w = self.cast(f"{n.name}.weight", np.float64(al))
        c = self.cast(f"{n.name}.bias", np.float64(be))
        if isinstance(x, fi) and isinstance(w, fi) and isinstance(c, fi):
            p = _mul_ints(x, w)
            s, F = _add_aligned(p, x.fraction_length + w.fraction_length,
                                np.broadcast_to(_ints(c), p.shape).copy(), c.fraction_length)
            if F < 0:  # 1 on the grid
                s, F = _align(s, -F), 0
            one = 1 << F
            if s.dtype != object and F > 61:
                s = s.astype(object)
            return _exact_fi(np.where(s < 0, 0, np.where(s > one, one, s)).astype(s.dtype), F)
        xv = np.asarray(x.data if isinstance(x, fi) else x, np.float64)
        wv = np.asarray(w.data if isinstance(w, fi) else w, np.float64)
        cv = np.asarray(c.data if isinstance(c, fi) else c, np.float64)
        return np.clip(xv * wv + cv, 0.0, 1.0)

    def op_HardSigmoid(self, n, ins):  # noqa: N802
        return self.cast(f"{n.name}.out", self._hard(n, ins[0]))

    def op_HardSwish(self, n, ins):  # noqa: N802
        x = ins[0]
        h = self._hard(n, x)
        if isinstance(x, fi) and isinstance(h, fi):
            y = _exact_fi(_mul_ints(x, h), x.fraction_length + h.fraction_length)
        else:
            y = np.asarray(x.data if isinstance(x, fi) else x, np.float64) \
                * np.asarray(h.data if isinstance(h, fi) else h, np.float64)
        return self.cast(f"{n.name}.out", y)

    def op_Mul(self, n, ins):  # noqa: N802
        return self._binary(n, ins, "weight")

    def op_Relu(self, n, ins):  # noqa: N802
        x = ins[0]
        if isinstance(x, fi):
            y = make_fi(np.maximum(_ints(x), 0), x.numerictype)
        else:
            y = np.maximum(np.asarray(x, np.float64), 0.0)
        return self.cast(f"{n.name}.out", y)

    def op_Clip(self, n, ins):  # noqa: N802
        x = ins[0]
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else n.attrs.get("min", -np.inf)
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else n.attrs.get("max", np.inf)
        lo, hi = float(np.asarray(lo)), float(np.asarray(hi))
        if isinstance(x, fi):
            # exact: min(max(x, lo), hi), at a fraction length holding x and both bounds
            Fx = x.fraction_length
            fb = [Fraction(v) for v in (lo, hi) if np.isfinite(v)]
            F = max([Fx] + [f.denominator.bit_length() - 1 for f in fb])
            xi = _align(_ints(x), F - Fx)
            y_i = xi
            if np.isfinite(lo):
                li = int(Fraction(lo) * 2 ** F)
                y_i = np.where(xi < li, li, y_i)
            if np.isfinite(hi):
                hi_i = int(Fraction(hi) * 2 ** F)
                y_i = np.where(xi > hi_i, hi_i, y_i)
            y = _exact_fi(np.asarray(y_i, dtype=xi.dtype), F)
        else:
            y = np.clip(np.asarray(x, np.float64), lo, hi)
        return self.cast(f"{n.name}.out", y)

    def op_LeakyRelu(self, n, ins):  # noqa: N802
        x = ins[0]
        alpha = self.cast(f"{n.name}.weight", np.float64(n.attrs.get("alpha", 0.01)))
        if isinstance(x, fi) and isinstance(alpha, fi):
            xi = _ints(x)
            ai = int(np.asarray(alpha.int).ravel()[0])
            Fa = alpha.fraction_length
            pos = _align(xi, Fa) if Fa >= 0 else None
            if pos is None:
                raise ValueError(f"node {n.name!r}: the LeakyRelu slope type needs a "
                                 "fraction length >= 0.")
            neg = xi.astype(object) * ai if xi.dtype == object else xi * ai
            y = _exact_fi(np.where(xi >= 0, pos, neg), x.fraction_length + Fa)
        else:
            xv = np.asarray(x.data if isinstance(x, fi) else x, np.float64)
            av = float(np.asarray(alpha.data if isinstance(alpha, fi) else alpha))
            y = np.where(xv >= 0, xv, xv * av)
        return self.cast(f"{n.name}.out", y)

    def _lut(self, n, ins):
        x = ins[0]
        f = _fn(n.op)
        name = f"{n.name}.out"
        sig = self.T[name]
        Tout = sig.type
        if isinstance(x, fi) and isinstance(Tout, numerictype):
            tab = _lut_table(n.op, self.lut, Tout, n.name)
            idx = self.lut.index(x.data)
            vals = tab.astype(np.float64) * 2.0 ** -Tout.fraction_length
            grid = np.linspace(-self.lut.input_range, self.lut.input_range, 4097)
            err = np.abs(vals[self.lut.index(grid)] - f(grid)).max()
            self.luts[n.name] = {"function": n.op.lower(), "size": self.lut.size,
                                 "input_range": self.lut.input_range, "type": str(Tout),
                                 "bits": self.lut.size * Tout.word_length,
                                 "max_abs_error": float(err)}
            if name not in self.T.overrides:
                # the table-defined values f(centre) arrive at the cast, which quantizes them
                # as the table's entries were (the same stored integers) and counts
                return _lut_cast_table(self.T, name, Tout).cast(name, f(self.lut.centres())[idx])
            y = make_fi(tab[idx], Tout)
        else:
            y = f(np.asarray(x.data if isinstance(x, fi) else x, np.float64))
        return sig(y)

    op_Sigmoid = _lut  # noqa: N815
    op_Tanh = _lut  # noqa: N815
    op_Erf = _lut  # noqa: N815

    def op_Softmax(self, n, ins):  # noqa: N802
        x = ins[0]
        xv = np.asarray(x.data if isinstance(x, fi) else x, np.float64)
        fn = _ops.softmax if n.op == "Softmax" else _ops.log_softmax
        return self.cast(f"{n.name}.out", fn(xv, n.attrs.get("axis", -1)))

    op_LogSoftmax = op_Softmax  # noqa: N815

    def op_BatchNormalization(self, n, ins):  # noqa: N802
        g, b, m, v = (np.asarray(i, np.float64) for i in ins[1:5])
        s = g / np.sqrt(v + n.attrs.get("epsilon", 1e-5))
        shp = (1, -1) + (1,) * (np.ndim(ins[0]) - 2 if not isinstance(ins[0], fi)
                                else ins[0].ndim - 2)
        w = self.cast(f"{n.name}.weight", s.reshape(shp))
        c = self.cast(f"{n.name}.bias", (b - m * s).reshape(shp))
        x = ins[0]
        if isinstance(x, fi) and isinstance(w, fi) and isinstance(c, fi):
            p = _ints(x) * _ints(w)
            acc, F = _add_aligned(p, x.fraction_length + w.fraction_length,
                                  np.broadcast_to(_ints(c), p.shape).copy(), c.fraction_length)
            y = _exact_fi(acc, F)
        else:
            xv = np.asarray(x.data if isinstance(x, fi) else x, np.float64)
            y = xv * np.asarray(w.data if isinstance(w, fi) else w) \
                + np.asarray(c.data if isinstance(c, fi) else c)
        return self.cast(f"{n.name}.out", y)

    # -- pools and shapes -------------------------------------------------------------------------
    def op_MaxPool(self, n, ins):  # noqa: N802
        from ._network import _pool_params
        x = ins[0]
        xi = _ints(x) if isinstance(x, fi) else np.asarray(x, np.float64)
        kernel, strides, dil, pads = _pool_params(n, xi)
        y = _ops.max_pool(xi, kernel, strides, dil, pads)
        return make_fi(y, x.numerictype) if isinstance(x, fi) else y

    def _average(self, n, s, cnt, x):
        name = f"{n.name}.out"
        sig = self.T[name]
        if isinstance(x, fi) and isinstance(sig.type, numerictype):
            # the .out cast itself rounds the exact quotient (its modes, its overflow and
            # underflow counts; regression: fx.divide into the .out type, then the cast of an
            # already quantized quotient counted nothing)
            return sig(self._quotient(name, s, x.fraction_length, cnt, sig.type))
        xv_sum = s.astype(np.float64) * (2.0 ** -x.fraction_length) if isinstance(x, fi) \
            else s
        return sig(xv_sum / cnt)

    def _quotient(self, name: str, s: np.ndarray, Fs: int, cnt, Tout: numerictype) -> fi:
        """The exact quotients ``s 2^-Fs / cnt`` as a fi that the cast into *Tout* rounds as
        it would round the exact values (:func:`sticky_quotient`: guard bits and a sticky
        bit), the same stored integers as ``fx.divide(Tout, ...)`` under the same modes.

        While anyone reads the values arriving at the cast (recording, verification, range
        analysis, a data-type override) the guard is wide enough for their float64 values to
        be the exact quotients correctly rounded (every float64 rounding boundary of a
        nonzero quotient, ``>= 2^-Fs / cnt`` in magnitude, lies on the guard grid), so the
        recorded range is the exact average's."""
        den = np.broadcast_to(np.asarray(cnt, np.int64), s.shape)
        cbits = max(1, int(np.max(cnt)).bit_length())
        guard = 64 if _cast_modes(self.T, name)[0] == Rounding.STOCHASTIC else 2
        if signals_active() or ranges_active() or name in self.T.overrides:
            guard = max(guard, 56 + Fs + cbits - Tout.fraction_length)
        # value * 2**FR = s * 2**k / cnt
        k = Tout.fraction_length - Fs
        num = _align(np.asarray(s), max(k, 0))
        den = _align(np.array(den), max(-k, 0))
        nbits = max(abs(int(num.min())), abs(int(num.max()))).bit_length() if num.size else 0
        if nbits + guard > 61 or cbits + max(-k, 0) > 61 or num.dtype != np.int64 \
                or den.dtype != np.int64:
            num, den = num.astype(object), den.astype(object)
        return _exact_fi(sticky_quotient(num, den, guard), Tout.fraction_length + guard)

    def op_AveragePool(self, n, ins):  # noqa: N802
        x = ins[0]
        xi = _ints(x) if isinstance(x, fi) else np.asarray(x, np.float64)
        from ._network import _pool_params
        kernel, strides, _, pads, extra = _pool_params(n, xi, with_extra=True)
        s, cnt = _ops.avg_pool(xi, kernel, strides, pads,
                               bool(n.attrs.get("count_include_pad", 0)), extra)
        return self._average(n, s, cnt, x)

    def op_GlobalAveragePool(self, n, ins):  # noqa: N802
        x = ins[0]
        xi = _ints(x) if isinstance(x, fi) else np.asarray(x, np.float64)
        axes = tuple(range(2, xi.ndim))
        s = xi.sum(axis=axes, keepdims=True) if xi.dtype != object else \
            np.array(xi.sum(axis=axes, keepdims=True), dtype=object)
        cnt = np.array(int(np.prod(xi.shape[2:])))
        return self._average(n, s, cnt, x)

    @staticmethod
    def _reduction(n, ins):
        """``(x, values, axes, keepdims)`` of a reduction node: its input, the input's stored
        integers (a fi) or float64 values, and its axes (None: the identity,
        ``noop_with_empty_axes``)."""
        from ._network import reduce_axes
        x = ins[0]
        xi = _ints(x) if isinstance(x, fi) else np.asarray(x, np.float64)
        return x, xi, reduce_axes(n, ins, xi.ndim), bool(n.attrs.get("keepdims", 1))

    def op_ReduceMean(self, n, ins):  # noqa: N802
        x, xi, axes, keep = self._reduction(n, ins)
        if axes is None:  # noop_with_empty_axes: the identity, still cast to .out
            return self.cast(f"{n.name}.out", x)
        s = xi.sum(axis=axes, keepdims=keep)
        if xi.dtype == object:
            s = np.array(s, dtype=object)
        cnt = np.array(int(np.prod([xi.shape[a] for a in axes], dtype=np.int64)))
        if cnt == 0:
            raise ValueError(f"node {n.name!r} (ReduceMean): the mean over axes {axes} of an "
                             f"input of shape {xi.shape} has no elements.")
        return self._average(n, s, cnt, x)

    def op_ReduceSum(self, n, ins):  # noqa: N802
        """The exact sum over the axes (Python ints where int64 could overflow), cast to
        ``.out``; a float input sums in float64."""
        x, xi, axes, keep = self._reduction(n, ins)
        if axes is None:  # noop_with_empty_axes: the identity, still cast to .out
            return self.cast(f"{n.name}.out", x)
        if isinstance(x, fi):
            k = int(np.prod([xi.shape[a] for a in axes], dtype=np.int64))
            if xi.dtype != object and _type_bound(x.numerictype) * max(k, 1) >= 1 << 62:
                xi = xi.astype(object)
            s = np.asarray(xi.sum(axis=axes, keepdims=keep), dtype=xi.dtype)
            return self.cast(f"{n.name}.out", _exact_fi(s, x.fraction_length))
        return self.cast(f"{n.name}.out", xi.sum(axis=axes, keepdims=keep))

    def _extremum(self, n, ins):
        """ReduceMax and ReduceMin: the input's own values (no arithmetic, no cast)."""
        from ._network import check_extremum_axes
        x, xi, axes, keep = self._reduction(n, ins)
        if axes is None:
            return x
        check_extremum_axes(n, xi.shape, axes)
        fn = np.max if n.op == "ReduceMax" else np.min
        y = np.asarray(fn(xi, axis=axes, keepdims=keep), dtype=xi.dtype)
        return make_fi(y, x.numerictype) if isinstance(x, fi) else y

    op_ReduceMax = op_ReduceMin = _extremum  # noqa: N815

    def _shape(self, n, ins, fn):
        x = ins[0]
        if isinstance(x, fi):
            return make_fi(fn(_ints(x)), x.numerictype)
        return fn(np.asarray(x, np.float64))

    def op_Flatten(self, n, ins):  # noqa: N802
        ax = int(n.attrs.get("axis", 1))
        return self._shape(n, ins, lambda a: a.reshape(flatten_shape(a.shape, ax)))

    def op_Reshape(self, n, ins):  # noqa: N802
        shape = [int(s) for s in ins[1]]

        def f(a):
            sh = shape if n.attrs.get("allowzero", 0) else \
                [a.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return a.reshape(sh)
        return self._shape(n, ins, f)

    def op_Transpose(self, n, ins):  # noqa: N802
        perm = n.attrs.get("perm")
        return self._shape(n, ins, lambda a: np.transpose(
            a, None if perm is None else [int(p) for p in perm]))

    def op_Identity(self, n, ins):  # noqa: N802
        return ins[0]

    op_Dropout = op_Identity  # noqa: N815

    def op_Concat(self, n, ins):  # noqa: N802
        sig = self.T[f"{n.name}.out"]
        parts = [sig(v if isinstance(v, fi) or v is None else np.asarray(v, np.float64))
                 for v in ins]
        ax = n.attrs.get("axis", 1)
        if all(isinstance(p, fi) for p in parts):
            return make_fi(np.concatenate([_ints(p) for p in parts], axis=ax),
                           parts[0].numerictype)
        return np.concatenate([np.asarray(p.data if isinstance(p, fi) else p, np.float64)
                               for p in parts], axis=ax)


def run_fixed(net: Network, feeds: dict, T, lut=None) -> dict:
    """Execute *net* with every signal cast through the type table *T*; returns the tensors.

    The sigmoid/tanh/erf tables used are reported in ``net.lookup_tables`` (layer to size, input
    range, type, bits and maximum absolute error over the covered range)."""
    from .._core._typetable import TypeTable
    if not isinstance(T, TypeTable):
        raise TypeError(f"Network.run: types must be a fixsim.TypeTable, got "
                        f"{type(T).__name__}.")
    missing = [s for s in signal_names(net) if s not in T]
    if missing:
        raise ValueError(f"Network {net.name!r}: the type table has no entry for "
                         f"{missing[:8]}{' ...' if len(missing) > 8 else ''}; start from "
                         "net.type_table() to name every signal.")
    r = _Run(net, T, lut)
    env = r.run(feeds)
    net.lookup_tables = r.luts
    return env
