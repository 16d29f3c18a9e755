"""A small builder: a sequential :class:`Network` from numpy weights, without ONNX."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ._network import Network, Node

__all__ = ["Sequential", "Dense", "Conv", "ReLU", "LeakyReLU", "Clip", "Sigmoid", "Tanh",
           "MaxPool", "AvgPool", "GlobalAvgPool", "Flatten", "Softmax", "BatchNorm"]


def _arr(v, what: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    ok = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in ok or not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be a finite {' or '.join(map(str, ok))}-D array, got "
                         f"shape {a.shape}.")
    return a


def _ints(v, n: int, what: str) -> list[int]:
    vals = [int(v)] * n if np.ndim(v) == 0 else [int(t) for t in v]
    if len(vals) != n or any(t < 0 for t in vals):
        raise ValueError(f"{what} must be a non-negative int or {n} of them, got {v!r}.")
    return vals


@dataclasses.dataclass
class _Layer:
    name: str | None = dataclasses.field(default=None, kw_only=True)
    kind = "layer"

    def nodes(self, name: str, x: str, y: str, params: dict) -> list[Node]:
        raise NotImplementedError


@dataclasses.dataclass
class Dense(_Layer):
    """Fully connected: ``y = x @ weight + bias`` with *weight* of shape (in, out)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    kind = "dense"

    def nodes(self, name, x, y, params):
        w = _arr(self.weight, f"Dense {name!r}: weight", 2)
        params[f"{name}/W"] = w
        ins = [x, f"{name}/W"]
        if self.bias is not None:
            b = _arr(self.bias, f"Dense {name!r}: bias", 1)
            if b.size != w.shape[1]:
                raise ValueError(f"Dense {name!r}: bias has {b.size} values, weight has "
                                 f"{w.shape[1]} outputs.")
            params[f"{name}/b"] = b
            ins.append(f"{name}/b")
        return [Node("Gemm", name, ins, [y])]


@dataclasses.dataclass
class Conv(_Layer):
    """Convolution (1-D or 2-D), weight (out, in/groups, *kernel), as ONNX Conv."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: int | Sequence[int] = 1
    padding: int | Sequence[int] = 0
    dilation: int | Sequence[int] = 1
    groups: int = 1
    kind = "conv"

    def nodes(self, name, x, y, params):
        w = _arr(self.weight, f"Conv {name!r}: weight", (3, 4))
        nsp = w.ndim - 2
        params[f"{name}/W"] = w
        ins = [x, f"{name}/W"]
        if self.bias is not None:
            params[f"{name}/b"] = _arr(self.bias, f"Conv {name!r}: bias", 1)
            ins.append(f"{name}/b")
        pad = _ints(self.padding, nsp, f"Conv {name!r}: padding")
        attrs = {"strides": _ints(self.stride, nsp, f"Conv {name!r}: stride"),
                 "dilations": _ints(self.dilation, nsp, f"Conv {name!r}: dilation"),
                 "pads": pad + pad, "group": int(self.groups)}
        if w.shape[0] % attrs["group"]:
            raise ValueError(f"Conv {name!r}: groups={self.groups} does not divide the "
                             f"{w.shape[0]} output channels.")
        return [Node("Conv", name, ins, [y], attrs)]


def _simple(op: str, kind: str, doc: str):
    @dataclasses.dataclass
    class L(_Layer):
        def nodes(self, name, x, y, params):
            return [Node(op, name, [x], [y])]
    L.kind = kind
    L.__doc__ = doc
    L.__name__ = L.__qualname__ = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh",
                                   "flatten": "Flatten", "gap": "GlobalAvgPool"}[kind]
    return L


ReLU = _simple("Relu", "relu", "``max(x, 0)``.")
Sigmoid = _simple("Sigmoid", "sigmoid", "Logistic sigmoid (a lookup table in fixed mode).")
Tanh = _simple("Tanh", "tanh", "Hyperbolic tangent (a lookup table in fixed mode).")
Flatten = _simple("Flatten", "flatten", "Flatten all axes after the first.")
GlobalAvgPool = _simple("GlobalAveragePool", "gap", "Mean over the spatial axes.")


@dataclasses.dataclass
class LeakyReLU(_Layer):
    """``x`` for ``x >= 0``, ``alpha x`` otherwise."""

    alpha: float = 0.01
    kind = "leakyrelu"

    def nodes(self, name, x, y, params):
        return [Node("LeakyRelu", name, [x], [y], {"alpha": float(self.alpha)})]


@dataclasses.dataclass
class Clip(_Layer):
    """``clip(x, lo, hi)`` (ReLU6 is ``Clip(0, 6)``)."""

    lo: float = 0.0
    hi: float = 6.0
    kind = "clip"

    def nodes(self, name, x, y, params):
        params[f"{name}/lo"] = np.float64(self.lo)
        params[f"{name}/hi"] = np.float64(self.hi)
        return [Node("Clip", name, [x, f"{name}/lo", f"{name}/hi"], [y])]


@dataclasses.dataclass
class Softmax(_Layer):
    """Softmax along *axis*."""

    axis: int = -1
    kind = "softmax"

    def nodes(self, name, x, y, params):
        return [Node("Softmax", name, [x], [y], {"axis": int(self.axis)})]


@dataclasses.dataclass
class _Pool(_Layer):
    kernel: int | Sequence[int] = 2
    stride: int | Sequence[int] | None = None
    padding: int | Sequence[int] = 0
    ndim: int = 2

    def nodes(self, name, x, y, params):
        k = _ints(self.kernel, self.ndim, f"{self.kind} {name!r}: kernel")
        s = k if self.stride is None else _ints(self.stride, self.ndim,
                                                 f"{self.kind} {name!r}: stride")
        p = _ints(self.padding, self.ndim, f"{self.kind} {name!r}: padding")
        return [Node(self.op, name, [x], [y], {"kernel_shape": k, "strides": s,
                                                "pads": p + p})]


@dataclasses.dataclass
class MaxPool(_Pool):
    """Max pool (stride defaults to the kernel)."""

    kind = "maxpool"
    op = "MaxPool"


@dataclasses.dataclass
class AvgPool(_Pool):
    """Average pool (stride defaults to the kernel; padding excluded from the count)."""

    kind = "avgpool"
    op = "AveragePool"


@dataclasses.dataclass
class BatchNorm(_Layer):
    """Inference batch normalization (folded into a preceding Dense/Conv by ``Sequential``)."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-5
    kind = "batchnorm"

    def nodes(self, name, x, y, params):
        names = []
        for k in ("gamma", "beta", "mean", "var"):
            params[f"{name}/{k}"] = _arr(getattr(self, k), f"BatchNorm {name!r}: {k}", 1)
            names.append(f"{name}/{k}")
        return [Node("BatchNormalization", name, [x, *names], [y], {"epsilon": self.eps})]


def Sequential(layers: Sequence[_Layer], *, name: str = "sequential",  # noqa: N802
               input_name: str = "x") -> Network:
    """A network applying *layers* in order, from numpy weights.

    Parameters
    ----------
    layers : sequence of layers
        :class:`Dense`, :class:`Conv`, :class:`ReLU`, :class:`LeakyReLU`, :class:`Clip`,
        :class:`Sigmoid`, :class:`Tanh`, :class:`MaxPool`, :class:`AvgPool`,
        :class:`GlobalAvgPool`, :class:`Flatten`, :class:`Softmax`, :class:`BatchNorm`.
        Each layer's ``name=`` names its signals; by default ``'<kind><index>'``
        (``'dense0'``, ``'relu1'``, ...).
    name : str
        The network's name.

    Examples
    --------
    >>> import numpy as np
    >>> from fixsim import nn
    >>> net = nn.Sequential([nn.Dense(np.eye(2), [0.5, -1.0]), nn.ReLU()])
    >>> net(np.array([[1.0, 0.25]]))
    array([[1.5, 0. ]])
    >>> net.signals()
    ['input', 'dense0.weight', 'dense0.bias', 'dense0.acc', 'dense0.out', 'relu1.out']
    """
    from ._onnx import _fold_batchnorm

    params: dict = {}
    nodes: list[Node] = []
    prev = input_name
    seen = set()
    for i, layer in enumerate(layers):
        if not isinstance(layer, _Layer):
            raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a fixsim.nn "
                            "layer (Dense, Conv, ReLU, ...).")
        lname = layer.name or f"{layer.kind}{i}"
        if "." in lname or lname in seen:
            why = "a duplicate" if lname in seen else "dotted"
            raise ValueError(f"Sequential: layer name {lname!r} is {why}; names must be unique "
                             "and without '.'.")
        seen.add(lname)
        out = f"{lname}:out"
        nodes += layer.nodes(lname, prev, out, params)
        prev = out
    net = Network(nodes, params, [input_name], [prev], name)
    _fold_batchnorm(net)
    return net
