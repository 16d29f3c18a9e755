"""A small builder: a sequential :class:`Network` from numpy weights, without ONNX."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._core._convert import short_repr
from ._network import Network, Node

__all__ = ["Sequential", "Dense", "Conv", "ReLU", "LeakyReLU", "Clip", "Sigmoid", "Tanh",
           "MaxPool", "AvgPool", "GlobalAvgPool", "Flatten", "Softmax", "BatchNorm"]


def _arr(v, what: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """*v* as a finite float64 array of one of the dimensions *ndim* (*what*: ``"<layer>:
    <argument>"``); a TypeError for non-numeric values, a ValueError for the wrong shape or
    non-finite values."""
    ok = (ndim,) if isinstance(ndim, int) else ndim
    dims = " or ".join(map(str, ok))
    try:
        raw = np.asarray(v)
        bad_kind = raw.dtype.kind not in "biufO"
        a = None if bad_kind else np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        bad_kind, raw = True, None
    if bad_kind:
        got = f"dtype {raw.dtype}" if raw is not None and raw.dtype.kind != "O" else \
            type(v).__name__
        raise TypeError(f"{what}={short_repr(v)} is not valid ({got}); valid: a finite real "
                        f"{dims}-D array.")
    if a.ndim not in ok:
        raise ValueError(f"{what} of shape {a.shape} is not valid; valid: a finite {dims}-D "
                         "array.")
    if not np.all(np.isfinite(a)):
        i = tuple(int(j) for j in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{what}[{', '.join(map(str, i))}]={float(a[i])!r} is not valid; "
                         f"valid: a finite {dims}-D array.")
    return a


def _bias(bias, label: str, n: int, what: str) -> np.ndarray | None:
    """A layer's optional bias: a finite 1-D array of *n* values, one per weight *what*."""
    if bias is None:
        return None
    b = _arr(bias, f"{label}: bias", 1)
    if b.size != n:
        raise ValueError(f"{label}: bias has {b.size} values, weight has {n} {what}.")
    return b


def _is_int(t) -> bool:
    if isinstance(t, bool | np.bool_):
        return False
    if isinstance(t, int | np.integer):
        return True
    return isinstance(t, float | np.floating) and bool(np.isfinite(t)) and float(t).is_integer()


def _ints(v, n: int, what: str, minimum: int = 0) -> list[int]:
    """*v* (one int, or *n* of them, one per spatial axis) as a list of *n* ints >= *minimum*.
    *what* is ``"<layer>: <argument>"``; anything else (fractions, bools, strings, the wrong
    count) raises a ValueError naming the value and what is valid."""
    try:
        vals = [v] * n if np.ndim(v) == 0 else list(v)
    except (TypeError, ValueError):
        vals = None
    if vals is None or len(vals) != n or not all(_is_int(t) and t >= minimum for t in vals):
        kind = "positive" if minimum == 1 else "non-negative" if minimum == 0 else \
            f">= {minimum}"
        label, _, arg = what.rpartition(": ")
        raise ValueError(f"{label}: {arg}={short_repr(v)} is not valid; valid: a {kind} integer, "
                         f"or {n} of them (one per spatial axis).")
    return [int(t) for t in vals]


def _real(v, what: str, *, allow_inf: bool = False) -> float:
    """*v* as a real number (finite unless *allow_inf*; never NaN)."""
    label, _, arg = what.rpartition(": ")
    if isinstance(v, str | bytes) or np.ndim(v) != 0 or np.asarray(v).dtype.kind not in "biuf":
        raise TypeError(f"{label}: {arg}={short_repr(v)} is not valid; valid: a real number.")
    f = float(np.asarray(v))
    if np.isnan(f) or (np.isinf(f) and not allow_inf):
        raise ValueError(f"{label}: {arg}={f!r} is not valid; valid: a "
                         f"{'real number (not NaN)' if allow_inf else 'finite real number'}.")
    return f


@dataclasses.dataclass
class _Layer:
    name: str | None = dataclasses.field(default=None, kw_only=True)
    kind = "layer"

    def __post_init__(self):
        # arguments are checked when the layer is built (and again by Sequential, which
        # names the layer when it has no name= of its own)
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"{type(self).__name__}: name={self.name!r} is not valid; valid: a "
                            "string (or None for '<kind><index>').")
        self._check(self._label(self.name))

    def _label(self, name) -> str:
        return type(self).__name__ if name is None else f"{type(self).__name__} {name!r}"

    def _check(self, label: str):
        """Validate the arguments (*label* names the layer in messages); returns whatever
        :meth:`nodes` needs."""

    def nodes(self, name: str, x: str, y: str, params: dict) -> list[Node]:
        raise NotImplementedError


@dataclasses.dataclass
class Dense(_Layer):
    """Fully connected: ``y = x @ weight + bias`` with *weight* of shape (in, out)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    kind = "dense"

    def _check(self, label):
        w = _arr(self.weight, f"{label}: weight", 2)
        return w, _bias(self.bias, label, w.shape[1], "outputs")

    def nodes(self, name, x, y, params):
        w, b = self._check(self._label(name))
        params[f"{name}/W"] = w
        ins = [x, f"{name}/W"]
        if b is not None:
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

    def _check(self, label):
        w = _arr(self.weight, f"{label}: weight", (3, 4))
        nsp = w.ndim - 2
        b = _bias(self.bias, label, w.shape[0], "output channels")
        pad = _ints(self.padding, nsp, f"{label}: padding", 0)
        strides = _ints(self.stride, nsp, f"{label}: stride", 1)
        dil = _ints(self.dilation, nsp, f"{label}: dilation", 1)
        if not _is_int(self.groups) or self.groups < 1:
            raise ValueError(f"{label}: groups={short_repr(self.groups)} is not valid; valid: a "
                             f"positive integer dividing the {w.shape[0]} output channels.")
        g = int(self.groups)
        if w.shape[0] % g:
            raise ValueError(f"{label}: groups={self.groups} does not divide the "
                             f"{w.shape[0]} output channels.")
        return w, b, {"strides": strides, "dilations": dil, "pads": pad + pad, "group": g}

    def nodes(self, name, x, y, params):
        w, b, attrs = self._check(self._label(name))
        params[f"{name}/W"] = w
        ins = [x, f"{name}/W"]
        if b is not None:
            params[f"{name}/b"] = b
            ins.append(f"{name}/b")
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

    def _check(self, label):
        return _real(self.alpha, f"{label}: alpha")

    def nodes(self, name, x, y, params):
        return [Node("LeakyRelu", name, [x], [y], {"alpha": self._check(self._label(name))})]


@dataclasses.dataclass
class Clip(_Layer):
    """``clip(x, lo, hi)`` (ReLU6 is ``Clip(0, 6)``); ``lo <= hi`` (either may be infinite)."""

    lo: float = 0.0
    hi: float = 6.0
    kind = "clip"

    def _check(self, label):
        lo = _real(self.lo, f"{label}: lo", allow_inf=True)
        hi = _real(self.hi, f"{label}: hi", allow_inf=True)
        if lo > hi:
            raise ValueError(f"{label}: lo={lo!r} > hi={hi!r} is not valid; valid: lo <= hi.")
        return lo, hi

    def nodes(self, name, x, y, params):
        lo, hi = self._check(self._label(name))
        params[f"{name}/lo"] = np.float64(lo)
        params[f"{name}/hi"] = np.float64(hi)
        return [Node("Clip", name, [x, f"{name}/lo", f"{name}/hi"], [y])]


@dataclasses.dataclass
class Softmax(_Layer):
    """Softmax along *axis* (checked against the input's dimensions when the network runs)."""

    axis: int = -1
    kind = "softmax"

    def _check(self, label):
        if not _is_int(self.axis):
            raise ValueError(f"{label}: axis={short_repr(self.axis)} is not valid; valid: an "
                             "integer axis of the input (negative counts from the end).")
        return int(self.axis)

    def nodes(self, name, x, y, params):
        return [Node("Softmax", name, [x], [y], {"axis": self._check(self._label(name))})]


@dataclasses.dataclass
class _Pool(_Layer):
    kernel: int | Sequence[int] = 2
    stride: int | Sequence[int] | None = None
    padding: int | Sequence[int] = 0
    ndim: int = 2

    def _check(self, label):
        if not _is_int(self.ndim) or self.ndim not in (1, 2, 3):
            raise ValueError(f"{label}: ndim={short_repr(self.ndim)} is not valid; valid: 1, 2 "
                             "or 3 (spatial dimensions).")
        nd = int(self.ndim)
        k = _ints(self.kernel, nd, f"{label}: kernel", 1)
        s = k if self.stride is None else _ints(self.stride, nd, f"{label}: stride", 1)
        p = _ints(self.padding, nd, f"{label}: padding", 0)
        if any(pi >= ki for pi, ki in zip(p, k, strict=True)):
            # onnxruntime refuses it too: a window over padding only has no value
            raise ValueError(f"{label}: padding={short_repr(self.padding)} is not valid for "
                             f"kernel={short_repr(self.kernel)}; valid: padding smaller than the "
                             "kernel on every axis.")
        return {"kernel_shape": k, "strides": s, "pads": p + p}

    def nodes(self, name, x, y, params):
        return [Node(self.op, name, [x], [y], self._check(self._label(name)))]


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
    """Inference batch normalization (folded into a preceding Dense/Conv by ``Sequential``).

    *gamma*, *beta*, *mean* and *var* hold one value per channel; ``var >= 0`` and
    ``var + eps > 0``."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-5
    kind = "batchnorm"

    def _check(self, label):
        arrs = {k: _arr(getattr(self, k), f"{label}: {k}", 1)
                for k in ("gamma", "beta", "mean", "var")}
        n = arrs["gamma"].size
        for k, a in arrs.items():
            if a.size != n:
                raise ValueError(f"{label}: gamma has {n} values but {k} has {a.size}; valid: "
                                 "gamma, beta, mean and var of one length (one value per "
                                 "channel).")
        eps = _real(self.eps, f"{label}: eps")
        if eps < 0:
            raise ValueError(f"{label}: eps={eps!r} is not valid; valid: eps >= 0.")
        v = arrs["var"]
        bad = np.flatnonzero((v < 0) | (v + eps <= 0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{label}: var[{i}]={float(v[i])!r} is not valid (with "
                             f"eps={eps!r}); valid: var >= 0 and var + eps > 0 (a variance).")
        return arrs, eps

    def nodes(self, name, x, y, params):
        arrs, eps = self._check(self._label(name))
        names = []
        for k, a in arrs.items():
            params[f"{name}/{k}"] = a
            names.append(f"{name}/{k}")
        return [Node("BatchNormalization", name, [x, *names], [y], {"epsilon": eps})]


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
