"""The network graph and its double-precision and integer-only (affine) execution.

A :class:`Network` is a list of :class:`Node` s in topological order over named tensors, plus
constant parameters. It is built by :func:`fixsim.nn.load_onnx` or :func:`fixsim.nn.Sequential`
and runs in three modes:

* double: float64 numpy (``net(x)``);
* fixed point: every layer's signals cast through a :class:`fixsim.TypeTable`
  (``net(x, types=T)``, see :mod:`fixsim.nn._fixed`);
* integer-only affine, for graphs with quantized operators (QuantizeLinear, QLinearConv, ...):
  integer tensors, requantized as the named runtime does (``net(x, runtime='tflite')``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Mapping, Sequence

import numpy as np

from .._kernels import lazy
from . import _ops
from ._requant import _dequantize_linear as dequantize_linear
from ._requant import _requantize as requantize
from ._requant import check_runtime, quantize_linear

__all__ = ["Node", "Network", "SUPPORTED_OPS", "QUANTIZED_OPS", "UnsupportedOperatorError"]

#: Float operators the loader and every execution mode support.
SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Conv", "Relu", "Clip", "LeakyRelu",
                 "Sigmoid", "Tanh", "Erf", "HardSigmoid", "HardSwish", "MaxPool", "AveragePool",
                 "GlobalAveragePool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                 "BatchNormalization", "Flatten", "Reshape", "Transpose", "Concat", "Softmax",
                 "LogSoftmax", "Identity", "Dropout")
#: The reductions over axes (axes from the attribute, or from the second input: ReduceSum
#: from opset 13, the others from opset 18).
REDUCE_OPS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin")
#: Quantized operators (integer-only affine execution).
QUANTIZED_OPS = ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                 "MatMulInteger", "ConvInteger", "QGemm", "QLinearAveragePool",
                 "QLinearGlobalAveragePool", "QLinearAdd", "QLinearConcat", "QLinearMul",
                 "QLinearSigmoid", "QLinearLeakyRelu")

# |partial sum| < 2**53 makes a float64 matrix product of integers exact (every partial sum
# and product is an integer float64 represents exactly, whatever BLAS's summation order)
_FLOAT_EXACT = 1 << 53
_INT64_LIMIT = 1 << 63
# below this many multiply-adds the int64 kernel beats a BLAS call (measured on int8 CNN shapes)
_BLAS_MIN_WORK = 1 << 26

_kn = lazy("fixsim._kernels._nn")


class UnsupportedOperatorError(ValueError):
    """An ONNX operator fixsim cannot run (names the operator, the node and the supported set)."""


@dataclasses.dataclass
class Node:
    """One operator: ``outputs = op(inputs; attrs)``; ``name`` names its signals."""

    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = dataclasses.field(default_factory=dict)


def int_matmul(a: np.ndarray, b: np.ndarray, amax: int | None = None,
               bmax: int | None = None) -> np.ndarray:
    """Exact integer product ``a @ b`` of 2-D integer arrays, as int64 (or Python ints).

    The bound ``|partial sum| <= K max|a| max|b|`` (*amax*/*bmax* default to the operands'
    own maxima; callers pass type bounds) chooses the path:

    * below 2**53 and at least 2**26 multiply-adds: float64 BLAS (every partial sum is an
      integer float64 holds exactly, whatever BLAS's summation order);
    * below 2**63: the numba int64 kernel (``fixsim._kernels._nn.gemm_i64``); it also serves
      small exact products, where it beats a (threaded) BLAS call on skinny int8 shapes;
    * beyond: Python ints (object arrays).
    """
    _check_product(a, b, "int_matmul")
    K = a.shape[-1]
    am = (int(np.abs(a).max()) if a.size else 0) if amax is None else amax
    bm = (int(np.abs(b).max()) if b.size else 0) if bmax is None else bmax
    bound = K * am * bm
    if bound < _FLOAT_EXACT and a.shape[0] * K * b.shape[1] >= _BLAS_MIN_WORK:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    if bound < _INT64_LIMIT:
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.int64)
        _kn.gemm_i64(np.ascontiguousarray(a, dtype=np.int64),
                     np.ascontiguousarray(b, dtype=np.int64), out)
        return out
    return np.array(a.astype(object) @ b.astype(object))


def _check_product(a: np.ndarray, b: np.ndarray, where: str) -> None:
    """The operands of a compiled 2-D product must agree (the kernel reads ``b[p, j]`` for every
    column ``p`` of ``a``: a mismatch would read out of bounds)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"{where}: operands of shapes {a.shape} and {b.shape} do not form a "
                         "matrix product; valid: (M, K) and (K, N).")


def float_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D float arrays: BLAS for large products, the compiled loop below
    :data:`_BLAS_MIN_WORK` multiply-adds (a threaded BLAS call on small skinny shapes costs
    milliseconds on a loaded 2-core machine)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] * a.shape[1] * b.shape[1] >= _BLAS_MIN_WORK \
            or a.dtype != np.float64 or b.dtype != np.float64:
        return np.matmul(a, b)
    _check_product(a, b, "float_matmul")
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.float64)
    _kn.gemm_i64(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    return out


_KIND_NAMES = {"c": "complex", "U": "string", "S": "bytes", "V": "structured",
               "M": "datetime", "m": "timedelta"}


def _attr_list(attrs, key, n, default):
    v = attrs.get(key)
    return [default] * n if v is None else [int(t) for t in v]


#: minimum value of each window attribute of Conv and the pools (ONNX: strides, dilations,
#: kernel_shape and group positive, pads non-negative)
_WINDOW_MIN = {"strides": 1, "dilations": 1, "kernel_shape": 1, "pads": 0, "group": 1}


def check_window_attrs(node: Node, where: str | None = None) -> None:
    """The window attributes of a Conv/pool *node* (strides, dilations, kernel_shape, pads,
    group): a ValueError naming the layer, the attribute and its value unless every entry is
    an integer of at least its minimum (:data:`_WINDOW_MIN`)."""
    a = node.attrs
    for key, lo in _WINDOW_MIN.items():
        v = a.get(key)
        if v is None:
            continue
        vals = [v] if np.ndim(v) == 0 else list(np.asarray(v).ravel())
        ok = all(isinstance(t, int | np.integer) and not isinstance(t, bool | np.bool_)
                 and t >= lo for t in vals)
        if not ok:
            shown = v if np.ndim(v) == 0 else [t.item() if hasattr(t, "item") else t
                                               for t in vals]
            raise ValueError(f"{where or 'layer'} {node.name!r} ({node.op}): {key}={shown!r} is "
                             f"not valid; valid: {'positive' if lo else 'non-negative'} "
                             "integers.")


def conv_params(node: Node, x_ndim: int, kernel: Sequence[int]):
    """(strides, dilations, pads) of a Conv/pool node, resolving ``auto_pad``."""
    nsp = x_ndim - 2
    a = node.attrs
    check_window_attrs(node)
    strides = _attr_list(a, "strides", nsp, 1)
    dil = _attr_list(a, "dilations", nsp, 1)
    pads = _attr_list(a, "pads", 2 * nsp, 0)
    auto = a.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ValueError(f"node {node.name!r}: auto_pad={auto!r} is not valid.")
    return strides, dil, pads, auto


def _resolve_auto_pad(auto, spatial, kernel, strides, dil, pads):
    if auto in ("NOTSET",):
        return pads
    nsp = len(spatial)
    if auto == "VALID":
        return [0] * (2 * nsp)
    out = list(pads)
    for i in range(nsp):
        o = -(-spatial[i] // strides[i])
        total = max(0, (o - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - spatial[i])
        small, big = total // 2, total - total // 2
        out[i], out[i + nsp] = (small, big) if auto == "SAME_UPPER" else (big, small)
    return out


class Network:
    """A network: nodes in topological order over named tensors, and constant parameters.

    Parameters
    ----------
    nodes : list of Node
    params : dict of str to numpy.ndarray
        Constant tensors (weights, biases, scales, zero points, shapes).
    inputs, outputs : list of str
        Graph input and output tensor names.
    name : str
        The network's name.

    Notes
    -----
    Call the network (``net(x)`` or :meth:`run`) to execute it:

    * a float network runs in double (float64), or in fixed point with ``types=T``;
    * a network with quantized operators runs integer-only: integer tensors, every integer
      layer requantized as *runtime* does (``'onnxruntime'`` by default; see
      :data:`fixsim.nn.RUNTIMES`); float operators left between DequantizeLinear and
      QuantizeLinear run in float32, as ONNX Runtime runs them.
    """

    def __init__(self, nodes: list[Node], params: Mapping[str, np.ndarray],
                 inputs: list[str], outputs: list[str], name: str = "network",
                 input_shapes: Mapping[str, Sequence] | None = None):
        self.nodes = list(nodes)
        self.params = dict(params)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.name = name
        #: The runtime ``run`` uses when none is named (``'tflite-xnnpack'`` for a loaded
        #: TFLite model, whose interpreter it then reproduces).
        self.default_runtime = "onnxruntime"
        #: Declared shape of each graph input (a loaded model's): per dimension an int (it
        #: must match), a symbolic name or None (any size). Inputs are checked against it.
        self.input_shapes = {k: tuple(v) for k, v in (input_shapes or {}).items()}

    # -- description ------------------------------------------------------------------------------
    @property
    def quantized(self) -> bool:
        """Whether the graph holds quantized operators (integer-only execution)."""
        return any(n.op in QUANTIZED_OPS or n.op in _TFLITE_INT_OPS for n in self.nodes)

    @property
    def layers(self) -> list[str]:
        """The node (layer) names, in execution order."""
        return [n.name for n in self.nodes]

    def node(self, name: str) -> Node:
        """The node called *name*."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"Network {self.name!r}: no layer {name!r}; layers: {self.layers}.")

    def __repr__(self) -> str:
        body = "\n".join(f"  {n.name}: {n.op}({', '.join(n.inputs)}) -> {', '.join(n.outputs)}"
                         for n in self.nodes)
        return f"Network {self.name!r} ({len(self.nodes)} layers)\n{body}"

    def signals(self) -> list[str]:
        """The names of the signals fixed mode casts (``'<layer>.weight'``, ...)."""
        from ._fixed import signal_names
        return signal_names(self)

    def type_table(self, default="double"):
        """A :class:`fixsim.TypeTable` naming every signal, each of type *default*."""
        from .._core._typetable import TypeTable
        return TypeTable({s: default for s in self.signals()})

    # -- execution ------------------------------------------------------------------------------
    def __call__(self, x, types=None, **kwargs):
        """``net(x)``, ``net(x, T)`` or ``net(x, types=T)``: see :meth:`run`. The positional
        form is the ``fn(item, T)`` the fixed-point tool calls (``fx.tool.collect``,
        ``verify``, ``derive``)."""
        return self.run(x, types=types, **kwargs)

    def run(self, x, *, types=None, runtime: str | None = None, outputs=None, lut=None):
        """Run the network.

        Parameters
        ----------
        x : array_like or dict
            The input (for a single-input network), or a dict of input name to array.
        types : TypeTable, optional
            Run in fixed point (or double through the table's probes, for
            ``T.as_double()``): float networks only.
        runtime : str, optional
            Requantization semantics of integer layers (quantized networks only; default
            :attr:`default_runtime`, ``'onnxruntime'`` unless loaded from TFLite): one of
            :data:`fixsim.nn.RUNTIMES`, or ``'tflite-reference'`` (TFLite's reference
            kernels: convolutions with double rounding, fully connected layers with single
            rounding).
        outputs : str or list of str, optional
            Tensors to return (any intermediate tensor name); default the graph outputs.
        lut : LookupTable or dict, optional
            Fixed mode's sigmoid/tanh/erf lookup table (size and input range).

        Returns
        -------
        numpy.ndarray or fi or dict
            One array for one requested output, else a dict of name to array.
        """
        from .._core._interval import Interval
        if isinstance(x, Interval):
            # static range analysis (fx.tool.derive): every signal's range is reported
            from ._derive import _derive
            # (under a fixed table: the fixed run's ranges, casts rounding and saturating)
            _, (lo, hi) = _derive(self, x.lo, x.hi, types=types, lut=lut)
            out = Interval(lo, hi)
            if types is None:
                return out
            # the output stands for the fi the fixed run returns (its type and fimath), so fi
            # arithmetic after the network follows fi's rules (regression: net(x, T) * 0.3
            # was derived with 0.3 exact, the run multiplies by 0.3 quantized to 77/256)
            from .._core._interval_fi import typed_like_run
            return typed_like_run(lambda z: self.run(z, types=types, lut=lut),
                                  (np.zeros(x.shape),), out, always=True)
        feeds = self._feeds(x)
        want = [outputs] if isinstance(outputs, str) else list(outputs or self.outputs)
        if types is not None:
            if self.quantized:
                raise ValueError(f"Network {self.name!r}: types= runs a float network in fixed "
                                 "point; this network holds quantized operators, run it with "
                                 "runtime= instead.")
            from ._fixed import run_fixed
            env = run_fixed(self, feeds, types, lut)
        else:
            if runtime is None:
                runtime = self.default_runtime
            if runtime != "tflite-reference":
                check_runtime(runtime, f"Network {self.name!r}")
            env = self._run_plain(feeds, runtime, want)
        missing = [w for w in want if w not in env]
        if missing:
            # name what would be valid (regression: the message named only the bad names)
            close = [c for w in missing for c in difflib.get_close_matches(str(w), list(env), 3)]
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            names = list(env)
            shown = ", ".join(map(repr, names[:40])) + (" ..." if len(names) > 40 else "")
            raise KeyError(f"Network {self.name!r}: unknown output tensor(s) {missing}.{hint} "
                           f"outputs= takes the names of the graph's tensors: {shown}.")
        if len(want) == 1:
            return env[want[0]]
        return {w: env[w] for w in want}

    def _feeds(self, x) -> dict:
        if isinstance(x, Mapping):
            extra = set(x) - set(self.inputs)
            if extra or set(self.inputs) - set(x):
                raise ValueError(f"Network {self.name!r}: inputs are {self.inputs}, got "
                                 f"{sorted(x)}.")
            feeds = dict(x)
        else:
            if len(self.inputs) != 1:
                raise ValueError(f"Network {self.name!r} has inputs {self.inputs}: pass a dict.")
            feeds = {self.inputs[0]: x}
        from .._core._fi import fi
        for k, v in feeds.items():
            if isinstance(v, fi):
                continue
            dt = getattr(v, "dtype", None)
            dt = np.asarray(v).dtype if not isinstance(dt, np.dtype) else dt
            if dt.kind not in "biufO":
                raise TypeError(f"Network {self.name!r}: input {k!r} has dtype {dt} (a "
                                f"{_KIND_NAMES.get(dt.kind, dt.kind)} array); valid: real "
                                "numbers (a bool, integer or float array).")
        from ._shapes import check_inputs
        check_inputs(self, {k: np.shape(v) for k, v in feeds.items()},
                     f"Network {self.name!r}")
        return feeds

    def _run_plain(self, feeds: dict, runtime: str, want) -> dict:
        q = self.quantized
        env: dict = {}
        for k, v in feeds.items():
            a = np.asarray(v)
            if a.dtype.kind == "f" or a.dtype.kind in "iub" and not q:
                a = a.astype(np.float32 if q else np.float64)
            if a.dtype.kind == "f" and np.isnan(a).any():
                raise ValueError(f"Network {self.name!r}: input {k!r} contains NaN.")
            env[k] = a
        env.update(self.params)
        from ._shapes import check_node
        for node in self.nodes:
            ins = [env[i] if i else None for i in node.inputs]
            check_node(self, node, [None if i is None else np.shape(i) for i in ins])
            res = _execute(node, ins, runtime, q)
            for o, r in zip(node.outputs, res, strict=False):
                if o:
                    env[o] = r
        return env


# -- operator execution --------------------------------------------------------------------------
def _fdtype(q: bool):
    return np.float32 if q else np.float64


def _execute(node: Node, ins: list, runtime: str, q: bool) -> list:
    op = node.op
    a = node.attrs
    fn = _FLOAT_OPS.get(op) or _INT_OPS.get(op)
    if fn is None:
        raise UnsupportedOperatorError(
            f"node {node.name!r}: operator {op!r} is not supported; supported: "
            f"{', '.join(SUPPORTED_OPS + QUANTIZED_OPS)}.")
    if op in _INT_OPS:
        return fn(node, ins, runtime)
    dt = _fdtype(q)
    ins = [i.astype(dt) if isinstance(i, np.ndarray) and i.dtype.kind == "f" else i
           for i in ins]
    out = fn(node, ins, a)
    return [out] if not isinstance(out, list) else out


def _gemm(node, ins, a):
    A, B = ins[0], ins[1]
    A2, B2 = _ops.gemm_shape(A, B, a.get("transA", 0), a.get("transB", 0))
    y = float_matmul(A2, B2)
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if alpha != 1.0:
        y = y * y.dtype.type(alpha)
    if len(ins) > 2 and ins[2] is not None:
        c = ins[2]
        y = y + (c if beta == 1.0 else c * y.dtype.type(beta))
    return y


def _conv(node, ins, a):
    x, w = ins[0], ins[1]
    kernel = list(w.shape[2:])
    strides, dil, pads, auto = conv_params(node, x.ndim, kernel)
    pads = _resolve_auto_pad(auto, x.shape[2:], kernel, strides, dil, pads)
    y = _ops.conv(x, w.astype(x.dtype), int(a.get("group", 1)), strides, dil, pads,
                  matmul=float_matmul, transposed=True)
    if len(ins) > 2 and ins[2] is not None:
        y = y + ins[2].reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def ceil_extra(spatial, kernel, strides, dil, pads) -> list[int]:
    """The tail padding per spatial axis that ``ceil_mode=1`` adds to a pool's *pads*: the
    output size rounds up (one more, partial, window at the end), except that a window may
    not start in the tail padding (the rule of PyTorch and onnxruntime)."""
    nsp = len(spatial)
    extra = []
    for i in range(nsp):
        eff = (kernel[i] - 1) * dil[i] + 1
        padded = spatial[i] + pads[i] + pads[i + nsp]
        out = -(-(padded - eff) // strides[i]) + 1
        if out > 1 and (out - 1) * strides[i] >= spatial[i] + pads[i]:
            out -= 1
        extra.append(max(0, (out - 1) * strides[i] + eff - padded))
    return extra


def _pool_params(node, x, with_extra: bool = False):
    """``(kernel, strides, dilations, pads)`` of a pool on *x*, the pads resolved (auto_pad)
    and, under ``ceil_mode=1``, extended at the tail by :func:`ceil_extra` (a max pool's
    padding never wins; an average pool's counts leave it out: ``with_extra`` also returns
    it for them)."""
    kernel = [int(k) for k in node.attrs["kernel_shape"]]
    strides, dil, pads, auto = conv_params(node, x.ndim, kernel)
    pads = list(_resolve_auto_pad(auto, x.shape[2:], kernel, strides, dil, pads))
    extra = [0] * len(kernel)
    if node.attrs.get("ceil_mode", 0):
        extra = ceil_extra(x.shape[2:], kernel, strides, dil, pads)
        nsp = len(kernel)
        pads = pads[:nsp] + [p + e for p, e in zip(pads[nsp:], extra, strict=True)]
    return (kernel, strides, dil, pads, extra) if with_extra else (kernel, strides, dil, pads)


def _no_ceil(node) -> None:
    """The integer runtimes' average pools are modelled in floor mode only."""
    if node.attrs.get("ceil_mode", 0):
        raise ValueError(f"node {node.name!r} ({node.op}): ceil_mode=1 is not supported for "
                         "this integer pool; valid: 0 (the float pools take 1).")


def _maxpool(node, ins, a):
    x = ins[0]
    kernel, strides, dil, pads = _pool_params(node, x)
    return _ops.max_pool(x, kernel, strides, dil, pads)


def _avgpool(node, ins, a):
    x = ins[0]
    kernel, strides, dil, pads, extra = _pool_params(node, x, with_extra=True)
    s, cnt = _ops.avg_pool(x, kernel, strides, pads, bool(a.get("count_include_pad", 0)),
                           extra)
    return s / cnt.astype(x.dtype)


def _clip(node, ins, a):
    x = ins[0]
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", -np.inf)
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", np.inf)
    return np.clip(x, np.asarray(lo, x.dtype), np.asarray(hi, x.dtype))


def _bn(node, ins, a):
    x, g, b, m, v = ins[:5]
    eps = a.get("epsilon", 1e-5)
    shp = (1, -1) + (1,) * (x.ndim - 2)
    s = g / np.sqrt(v + x.dtype.type(eps))
    return (x - m.reshape(shp)) * s.reshape(shp) + b.reshape(shp)


def _flatten(node, ins, a):
    from ._shapes import flatten_shape
    x = ins[0]
    return x.reshape(flatten_shape(x.shape, int(a.get("axis", 1))))


def _reshape(node, ins, a):
    x, shape = ins[0], [int(s) for s in ins[1]]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _transpose(node, ins, a):
    perm = a.get("perm")
    return np.transpose(ins[0], None if perm is None else [int(p) for p in perm])


def _softmax(node, ins, a):
    x = ins[0]
    ax = a.get("axis", -1)
    return _ops.softmax(x, ax)


def _erf(x):
    from scipy.special import erf
    return erf(x).astype(x.dtype)


def _leaky(node, ins, a):
    x = ins[0]
    alpha = x.dtype.type(a.get("alpha", 0.01))
    return np.where(x >= 0, x, x * alpha)


def _sigmoid(node, ins, a):
    x = ins[0]
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


def reduce_axes(node, ins, ndim: int) -> tuple[int, ...] | None:
    """A reduction's axes (non-negative, sorted) from its ``axes`` attribute or its second
    input (ReduceSum from opset 13, ReduceMean, ReduceMax and ReduceMin from opset 18); all
    axes when none are given, or None for the identity (``noop_with_empty_axes=1`` with no
    axes). A ValueError names the node and the axis."""
    axes = node.attrs.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = np.asarray(ins[1]).ravel().tolist()
    if axes is None or len(axes) == 0:
        if node.attrs.get("noop_with_empty_axes", 0):
            return None
        return tuple(range(ndim))
    out = []
    for ax in axes:
        if not isinstance(ax, int | np.integer) or not -ndim <= int(ax) < ndim:
            raise ValueError(f"node {node.name!r} ({node.op}): axis {ax!r} is out of range "
                             f"for a {ndim}-D input; valid: {-ndim} to {ndim - 1}.")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"node {node.name!r} ({node.op}): axes {list(axes)} name an axis "
                         "twice.")
    return tuple(sorted(out))


def check_extremum_axes(node, shape, axes) -> None:
    """ReduceMax and ReduceMin have no value for an empty reduction: refuse it by name."""
    if node.op in ("ReduceMax", "ReduceMin") and any(shape[a] == 0 for a in axes):
        raise ValueError(f"node {node.name!r} ({node.op}): axes {list(axes)} of an input of "
                         f"shape {tuple(shape)} reduce no element (valid: axes of nonzero "
                         "length).")


_REDUCE_FN = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max,
              "ReduceMin": np.min}


def _reduce(node, ins, a):
    x = ins[0]
    axes = reduce_axes(node, ins, x.ndim)
    if axes is None:
        return x
    check_extremum_axes(node, x.shape, axes)
    fn = _REDUCE_FN[node.op]
    return fn(x, axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(x.dtype)


#: ONNX HardSigmoid's defaults; HardSwish is ``x * HardSigmoid(x)`` with alpha 1/6, beta 1/2
HARD_SIGMOID = (0.2, 0.5)
HARD_SWISH = (1.0 / 6.0, 0.5)


def hard_params(node) -> tuple[float, float]:
    """``(alpha, beta)`` of a HardSigmoid or HardSwish node."""
    if node.op == "HardSwish":
        return HARD_SWISH
    return (float(node.attrs.get("alpha", HARD_SIGMOID[0])),
            float(node.attrs.get("beta", HARD_SIGMOID[1])))


def _hard_sigmoid(node, ins, a):
    x = ins[0]
    al, be = hard_params(node)
    t = x.dtype.type
    return np.clip(x * t(al) + t(be), t(0), t(1))


def _div(node, ins, a):
    return ins[0] / ins[1]


_FLOAT_OPS = {
    "Gemm": _gemm,
    "MatMul": lambda n, i, a: np.matmul(i[0], i[1]),
    "Add": lambda n, i, a: i[0] + i[1],
    "Sub": lambda n, i, a: i[0] - i[1],
    "Mul": lambda n, i, a: i[0] * i[1],
    "Div": _div,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": lambda n, i, a: i[0] * _hard_sigmoid(n, i, a),
    "ReduceMean": _reduce,
    "ReduceSum": _reduce,
    "ReduceMax": _reduce,
    "ReduceMin": _reduce,
    "Conv": _conv,
    "Relu": lambda n, i, a: np.maximum(i[0], i[0].dtype.type(0)),
    "Clip": _clip,
    "LeakyRelu": _leaky,
    "Sigmoid": _sigmoid,
    "Tanh": lambda n, i, a: np.tanh(i[0]),
    "Erf": lambda n, i, a: _erf(i[0]),
    "MaxPool": _maxpool,
    "AveragePool": _avgpool,
    "GlobalAveragePool": lambda n, i, a: i[0].mean(axis=tuple(range(2, i[0].ndim)),
                                                   keepdims=True).astype(i[0].dtype),
    "BatchNormalization": _bn,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Concat": lambda n, i, a: np.concatenate(i, axis=a.get("axis", 1)),
    "Softmax": _softmax,
    "LogSoftmax": lambda n, i, a: _ops.log_softmax(i[0], a.get("axis", -1)),
    "Identity": lambda n, i, a: i[0],
    "Dropout": lambda n, i, a: i[0],
}


# -- integer operators ---------------------------------------------------------------------------
def _zp(v, like_dtype=np.uint8):
    """A zero point (absent: 0 of uint8, as ONNX defines)."""
    if v is None:
        return np.zeros((), dtype=like_dtype)
    return np.asarray(v)


def _out_dtype(zp) -> np.dtype:
    return np.asarray(zp).dtype


def _quantize(node, ins, runtime):
    x, s = ins[0], ins[1]
    zp = _zp(ins[2] if len(ins) > 2 else None)
    axis = node.attrs.get("axis", 1)
    dt = _out_dtype(zp)
    s_arr = np.asarray(s, dtype=np.float32)
    ax = axis if s_arr.size > 1 else -1
    q = quantize_linear(x, s_arr.ravel(), np.asarray(zp, dtype=np.int64).ravel(), dtype=dt.name,
                        runtime=runtime, axis=ax)
    return [q.astype(dt)]


def _dequantize(node, ins, runtime):
    x, s = ins[0], ins[1]
    zp = _zp(ins[2] if len(ins) > 2 else None, x.dtype)
    axis = node.attrs.get("axis", 1)
    s_arr = np.asarray(s, dtype=np.float32)
    if s_arr.size > 1:
        return [dequantize_linear(x, s_arr.ravel(), np.asarray(zp).ravel().astype(np.int64),
                                  axis=axis)]
    return [dequantize_linear(x, s_arr.reshape(()), np.asarray(zp, np.int64).reshape(()))]


def _centered(v, zp, axis=None):
    """``v - zp`` as int64 (zp per tensor, or per index of *axis*)."""
    v64 = np.asarray(v, dtype=np.int64)
    z = np.asarray(0 if zp is None else zp, dtype=np.int64)
    if z.size > 1 and axis is not None:
        shp = [1] * v64.ndim
        shp[axis] = z.size
        z = z.reshape(shp)
    return v64 - z


def _requant(node, acc, axis, bias, xs, ws, ys, yzp, runtime):
    if runtime == "tflite-reference":
        # TFLite's reference kernels: CONV_2D double rounding, FULLY_CONNECTED single
        runtime = "tflite-double-rounding" if node.op == "QLinearConv" else "tflite"
    yzp = _zp(yzp)
    dt = _out_dtype(yzp)
    if bias is not None and runtime.startswith("pytorch"):
        # PyTorch stores float biases: the graph's int32 bias in real units, b s_x s_w[c]
        prod = (np.float32(xs) * np.asarray(ws, np.float32).ravel()).astype(np.float32)
        bias = (np.asarray(bias, np.float32) * prod).astype(np.float32)
    return requantize(acc, zero_point=int(np.asarray(yzp).ravel()[0]), runtime=runtime,
                      dtype=dt.name, axis=axis, bias=bias, input_scale=float(np.float32(xs)),
                      weight_scale=np.asarray(ws, np.float32).ravel(),
                      output_scale=float(np.float32(ys))).astype(dt)


def _centred_bound(v: np.ndarray, zp) -> int:
    """A bound of ``|v - zp|`` from *v*'s integer dtype (no pass over the data)."""
    z = np.asarray(0 if zp is None else zp, dtype=np.int64)
    if np.asarray(v).dtype.kind in "iu":
        info = np.iinfo(np.asarray(v).dtype)
        return int(max(abs(info.min - int(z.min())), abs(info.max - int(z.max()))))
    return int(np.abs(np.asarray(v, np.int64) - z).max()) if np.size(v) else 0


def _int_conv_acc(node, x, xzp, w, wzp):
    """int64 accumulators ``sum (x - zx)(w - zw)`` of a convolution (N, M, *out)."""
    xc = _centered(x, xzp)
    wc = _centered(w, wzp, 0)
    kernel = list(w.shape[2:])
    strides, dil, pads, auto = conv_params(node, x.ndim, kernel)
    pads = _resolve_auto_pad(auto, x.shape[2:], kernel, strides, dil, pads)
    xm = _centred_bound(x, xzp)
    wm = int(np.abs(wc).max()) if wc.size else 0
    # padding holds the zero point, i.e. 0 once centred
    return _ops.conv(xc, wc, int(node.attrs.get("group", 1)), strides, dil, pads, 0,
                     matmul=lambda p, r: int_matmul(p, r, wm, xm), transposed=True)


def _qlinearconv(node, ins, runtime):
    x, xs, xzp, w, ws, wzp, ys, yzp = ins[:8]
    b = ins[8] if len(ins) > 8 else None
    acc = _int_conv_acc(node, x, xzp, w, wzp)
    return [_requant(node, acc, 1, b, xs, ws, ys, yzp, runtime)]


def _qlinearmatmul(node, ins, runtime):
    a, as_, azp, b, bs, bzp, ys, yzp = ins[:8]
    if b.ndim != 2:
        raise ValueError(f"node {node.name!r}: QLinearMatMul with a {b.ndim}-D second "
                         "operand is not supported; valid: a 2-D (K, N) weight.")
    ac = _centered(a, azp)
    bc = _centered(b, bzp, 1)
    lead = ac.shape[:-1]
    acc = int_matmul(ac.reshape(-1, ac.shape[-1]), bc).reshape(lead + (bc.shape[1],))
    return [_requant(node, acc, -1, None, as_, bs, ys, yzp, runtime)]


def _qgemm(node, ins, runtime):
    a, as_, azp, b, bs, bzp = ins[:6]
    c = ins[6] if len(ins) > 6 else None
    ys = ins[7] if len(ins) > 7 else None
    yzp = ins[8] if len(ins) > 8 else None
    at = node.attrs
    if at.get("alpha", 1.0) != 1.0 or ys is None:
        raise ValueError(f"node {node.name!r}: QGemm with alpha != 1 or a float output is not "
                         "supported; valid: alpha=1 with y_scale given.")
    if at.get("transA", 0):
        a = a.T
    tb = at.get("transB", 0)
    ac = _centered(a, azp)
    bc = _centered(b, bzp, 0 if tb else 1)
    if tb:
        bc = bc.T
    acc = int_matmul(ac, bc)
    if yzp is None:
        yzp = np.zeros((), np.uint8)
    return [_requant(node, acc, -1, c, as_, bs, ys, yzp, runtime)]


def _matmulinteger(node, ins, runtime):
    a, b = ins[0], ins[1]
    azp = ins[2] if len(ins) > 2 and ins[2] is not None else 0
    bzp = ins[3] if len(ins) > 3 and ins[3] is not None else 0
    ac = _centered(a, azp, a.ndim - 1 if np.asarray(azp).size > 1 else None)
    bc = _centered(b, bzp, b.ndim - 1)
    lead = ac.shape[:-1]
    acc = int_matmul(ac.reshape(-1, ac.shape[-1]), bc).reshape(lead + (bc.shape[-1],))
    return [acc.astype(np.int32)]


def _convinteger(node, ins, runtime):
    x, w = ins[0], ins[1]
    xzp = ins[2] if len(ins) > 2 and ins[2] is not None else 0
    wzp = ins[3] if len(ins) > 3 and ins[3] is not None else 0
    return [_int_conv_acc(node, x, xzp, w, wzp).astype(np.int32)]


def _nchw(node):
    if node.attrs.get("channels_last", 0):
        raise ValueError(f"node {node.name!r}: channels_last=1 is not supported; valid: 0 "
                         "(NCHW).")


def _qlinear_avgpool(node, ins, runtime):
    """onnxruntime's QLinearAveragePool: dequantize (float32), sum each window in float32 in
    row-major kernel order, divide by the count (float32), QuantizeLinear."""
    import itertools

    x, xs, xzp, ys, yzp = ins[:5]
    _nchw(node)
    d = _dequantize(Node("DequantizeLinear", node.name, [], []), [x, xs, xzp], runtime)[0]
    _no_ceil(node)
    kernel, strides, dil, pads = _pool_params(node, d)
    nsp = len(kernel)
    xp = _ops._pad(d, list(pads), 0)
    out = _ops.conv_out_shape(d.shape[2:], kernel, strides, dil, pads)
    acc = None
    for off in itertools.product(*[range(k) for k in kernel]):
        sl = (slice(None), slice(None)) + tuple(
            slice(off[i], off[i] + strides[i] * (out[i] - 1) + 1, strides[i])
            for i in range(nsp))
        acc = xp[sl].copy() if acc is None else (acc + xp[sl]).astype(np.float32)
    _, cnt = _ops.avg_pool(np.zeros((1, 1) + d.shape[2:], np.float32), kernel, strides, pads,
                           bool(node.attrs.get("count_include_pad", 0)))
    avg = (acc / cnt.astype(np.float32)).astype(np.float32)
    return _quantize(Node("QuantizeLinear", node.name, [], []), [avg, ys, yzp], runtime)


def _qlinear_gap(node, ins, runtime):
    """onnxruntime's QLinearGlobalAveragePool: the integer sum ``acc = sum (x - zx)`` over the
    N spatial positions, requantized with the multiplier ``f32(s_x / f32(s_y N))``."""
    x, xs, xzp, ys, yzp = ins[:5]
    _nchw(node)
    N = int(np.prod(x.shape[2:]))
    acc = _centered(x, xzp).sum(axis=tuple(range(2, x.ndim)), keepdims=True)
    sy = float(np.float32(np.float32(ys) * np.float32(N)))
    return [_requant(node, acc, 1, None, xs, np.float32(1.0), sy, yzp, runtime)]


def _tflite_softmax(node, x):
    """TFLite's integer softmax over the last axis (gemmlowp fixed point, as the reference
    kernel and the default interpreter run it), output scale 1/256."""
    a = np.asarray(x)
    info = np.iinfo(a.dtype)
    x2 = np.ascontiguousarray(a.reshape(-1, a.shape[-1]), dtype=np.int64)
    out = np.empty_like(x2)
    _kn.softmax_tflite(x2, node.attrs["q"], node.attrs["left_shift"], node.attrs["diff_min"],
                       8, int(info.min), int(info.max), out)
    return out.reshape(a.shape).astype(a.dtype)


def _tflite_avgpool(node, ins, runtime):
    """TFLite's integer AVERAGE_POOL_2D (NCHW here): the window sum of the stored integers
    over the valid (unpadded) positions, divided by their count rounded half away from zero
    (input and output share scale and zero point)."""
    x = ins[0]
    _no_ceil(node)
    kernel, strides, dil, pads = _pool_params(node, x)
    sm, cnt = _ops.avg_pool(np.asarray(x, np.int64), kernel, strides, pads, False)
    cnt = np.asarray(cnt, np.int64)
    half = cnt // 2
    avg = np.where(sm > 0, (sm + half) // cnt, -((half - sm) // cnt))
    info = np.iinfo(x.dtype)
    return [np.clip(avg, info.min, info.max).astype(x.dtype)]


def _tflite_mean(node, ins, runtime):
    """TFLite's integer MEAN over the spatial axes: ``acc = sum (x - zx)`` over N values,
    then the interpreter's default (XNNPACK) ``rne(f32(acc) f32(s_x / f32(s_y N))) + zy``, or
    the builtin kernel's ``MBQM(acc, QuantizeMultiplier(s_x / s_y / N)) + zy`` (double
    rounding for ``'tflite-reference'``/``'tflite-double-rounding'``, single for
    ``'tflite'``)."""
    from ._requant import quantize_multiplier

    a = node.attrs
    x = ins[0]
    info = np.iinfo(x.dtype)
    acc = (np.asarray(x, np.int64) - a["zx"]).sum(axis=tuple(a["axes"]),
                                                  keepdims=bool(a["keep_dims"]))
    sx, sy, n = np.float32(a["sx"]), np.float32(a["sy"]), a["count"]
    if runtime == "tflite-xnnpack":
        mult = np.float32(sx / np.float32(sy * np.float32(n)))
        v = np.rint((acc.astype(np.float32) * mult).astype(np.float32)).astype(np.int64)
        return [np.clip(v + a["zy"], info.min, info.max).astype(x.dtype)]
    if runtime not in ("tflite-reference", "tflite-double-rounding", "tflite"):
        raise ValueError(f"node {node.name!r}: TFLite's MEAN runs under runtime "
                         "'tflite-xnnpack', 'tflite-reference', 'tflite-double-rounding' or "
                         f"'tflite', got {runtime!r}.")
    q, sh = quantize_multiplier(float(np.float64(sx) / np.float64(sy) / n))
    rt = "tflite" if runtime == "tflite" else "tflite-double-rounding"
    out = requantize(acc.reshape(-1, 1), runtime=rt, q=q, shift=sh, zero_point=a["zy"],
                     dtype=np.dtype(x.dtype).name)
    return [out.reshape(acc.shape).astype(x.dtype)]


def _tflite_kernel(node, runtime: str, what: str) -> str:
    """The kernel family a TFLite runtime name selects for an elementwise operator."""
    kernels = {"tflite-xnnpack": "xnnpack", "tflite-reference": "double",
               "tflite-double-rounding": "double", "tflite": "single"}
    if runtime not in kernels:
        raise ValueError(f"node {node.name!r}: TFLite's {what} runs under runtime "
                         "'tflite-xnnpack', 'tflite-reference', 'tflite-double-rounding' or "
                         f"'tflite', got {runtime!r}.")
    return kernels[runtime]


def _tflite_add(node, ins, runtime):
    """TFLite's int8 ADD (see :func:`fixsim.nn._ops.tflite_add`): XNNPACK's fixed-point add
    under ``'tflite-xnnpack'``, the builtin kernel with double rounding under
    ``'tflite-reference'``/``'tflite-double-rounding'``, single rounding under ``'tflite'``."""
    a = node.attrs
    kernel = _tflite_kernel(node, runtime, "ADD")
    try:
        out = _ops.tflite_add(ins[0], a["sa"], a["za"], ins[1], a["sb"], a["zb"], a["sy"],
                              a["zy"], kernel)
    except ValueError as e:
        raise ValueError(f"node {node.name!r}: {e}") from None
    return [out]


def _tflite_lookup(node, ins, runtime):
    """TFLite's int8 LOGISTIC/TANH: a 256-entry table (see :func:`fixsim.nn._ops.tflite_lut`);
    XNNPACK's own LOGISTIC table under ``'tflite-xnnpack'``, TFLite's builtin table otherwise
    (and for TANH under every runtime)."""
    a = node.attrs
    kernel = _tflite_kernel(node, runtime, a["kind"].upper())
    kernel = "xnnpack" if kernel == "xnnpack" and a["kind"] == "logistic" else "reference"
    table = _lut_cached(a["kind"], a["sx"], a["zx"], a["sy"], a["zy"], kernel)
    x = np.asarray(ins[0])
    if x.dtype != np.int8:
        raise TypeError(f"node {node.name!r}: input must be int8, got {x.dtype}.")
    return [table[x.astype(np.intp) + 128]]


@functools.lru_cache(maxsize=256)
def _lut_cached(kind, sx, zx, sy, zy, kernel):
    t = _ops.tflite_lut(kind, sx, zx, sy, zy, kernel)
    t.flags.writeable = False
    return t


def _tflite_concat(node, ins, runtime):
    """TFLite's int8 CONCATENATION: the stored integers joined along ``axis`` (TFLite's int8
    kernel requires every input to share the output's scale and zero point)."""
    if len({np.asarray(i).dtype for i in ins}) != 1:
        raise TypeError(f"node {node.name!r}: inputs must share one integer type.")
    return [np.concatenate([np.asarray(i) for i in ins], axis=node.attrs["axis"])]


def _tflite_pad(node, ins, runtime):
    """TFLite's PAD/PADV2 on integers: ``pads`` (before, after) per axis, filled with
    ``value`` (the output zero point, or PADV2's constant)."""
    x = np.asarray(ins[0])
    return [np.pad(x, [tuple(p) for p in node.attrs["pads"]], mode="constant",
                   constant_values=np.asarray(node.attrs["value"], x.dtype))]


_INT_OPS = {
    "TFLiteAdd": _tflite_add,
    "TFLiteLookup": _tflite_lookup,
    "TFLiteConcat": _tflite_concat,
    "TFLitePad": _tflite_pad,
    "TFLiteAvgPool": _tflite_avgpool,
    "TFLiteMean": _tflite_mean,
    "QLinearAveragePool": _qlinear_avgpool,
    "QLinearGlobalAveragePool": _qlinear_gap,
    # com.microsoft QLinearAdd: onnxruntime's AVX2 float32 FMA kernel (fixsim/nn/_ops.py)
    "QLinearAdd": lambda n, i, r: [_ops.qlinear_add(*(list(i) + [None] * 8)[:8])],
    "QLinearConcat": lambda n, i, r: [_ops.qlinear_concat(n.attrs["axis"], *i)],
    "QLinearMul": lambda n, i, r: [_ops.qlinear_mul(*(list(i) + [None] * 8)[:8])],
    "QLinearSigmoid": lambda n, i, r: [_ops.qlinear_lookup(
        *(list(i) + [None] * 5)[:5], _ops.mlas_logistic)],
    "QLinearLeakyRelu": lambda n, i, r: [_ops.qlinear_lookup(
        *(list(i) + [None] * 5)[:5], _ops.leaky_relu_f32(n.attrs.get("alpha", 0.01)))],
    "QuantizeLinear": _quantize,
    "DequantizeLinear": _dequantize,
    "QLinearConv": _qlinearconv,
    "QLinearMatMul": _qlinearmatmul,
    "QGemm": _qgemm,
    "MatMulInteger": _matmulinteger,
    "ConvInteger": _convinteger,
    "IntRelu": lambda n, i, r: [np.maximum(i[0], np.asarray(i[1]).astype(i[0].dtype))],
    "TFLiteSoftmax": lambda n, i, r: [_tflite_softmax(n, i[0])],
    # a fused activation's integer clamp (TFLite's act_min/act_max)
    "IntClip": lambda n, i, r: [np.clip(i[0], n.attrs["min"], n.attrs["max"])
                                .astype(i[0].dtype)],
}

# TFLite integer operators (a network holding one runs integer-only)
_TFLITE_INT_OPS = tuple(k for k in _INT_OPS if k.startswith("TFLite"))
