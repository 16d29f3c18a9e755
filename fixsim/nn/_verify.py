"""Network verification: top-1 accuracy on a labelled set and per-layer SQNR against double.

:func:`verify` runs a float network in double, in fixed point (one or more type tables) and,
for an integer-only network from :func:`fixsim.nn.quantize`, under one or more runtimes, and
reports each mode's top-1 accuracy and every layer's SQNR against double (integer tensors are
dequantized with their own scale and zero point before the comparison).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from ._metrics import accuracy, sqnr
from ._network import Network
from ._requant import _dequantize_linear as dequantize_linear
from ._requant import check_runtime

__all__ = ["verify", "NetworkVerification"]

# where a quantized node's output scale and zero point sit among its inputs
_OUT_QPARAMS = {"QuantizeLinear": (1, 2), "QLinearConv": (6, 7), "QLinearMatMul": (6, 7),
                "QGemm": (7, 8), "QLinearAveragePool": (3, 4),
                "QLinearGlobalAveragePool": (3, 4), "QLinearAdd": (6, 7), "QLinearMul": (6, 7),
                "QLinearSigmoid": (3, 4), "QLinearLeakyRelu": (3, 4), "QLinearConcat": (0, 1)}


@dataclasses.dataclass
class NetworkVerification:
    """What :func:`verify` found.

    Attributes
    ----------
    accuracy : dict of str to float
        Top-1 accuracy per mode: ``'double'``, then each fixed-point table's name, then
        ``'int8 (<runtime>)'`` per runtime (empty without labels).
    layer_sqnr : dict of str to dict of str to float
        ``layer_sqnr[mode][layer]``: SQNR (dB) of the layer's output against double, for
        every mode but double (``inf`` where equal; integer layers after dequantization).
    samples : int
        Samples compared.
    """

    accuracy: dict[str, float]
    layer_sqnr: dict[str, dict[str, float]]
    samples: int

    def accuracy_drop(self, mode: str) -> float:
        """``accuracy['double'] - accuracy[mode]`` (in [0, 1]; negative if *mode* is better)."""
        if mode not in self.accuracy:
            raise KeyError(f"accuracy_drop: no mode {mode!r}; modes: {list(self.accuracy)}.")
        return self.accuracy["double"] - self.accuracy[mode]

    def to_markdown(self) -> str:
        """The accuracy table and the per-layer SQNR table, as Markdown."""
        lines = []
        if self.accuracy:
            lines = [f"| mode | top-1 accuracy ({self.samples} samples) | drop (points) |",
                     "|---|---|---|"]
            for m, a in self.accuracy.items():
                lines.append(f"| {m} | {a:.4f} | {100 * self.accuracy_drop(m):.2f} |")
            lines.append("")
        modes = list(self.layer_sqnr)
        if modes:
            layers = list(dict.fromkeys(k for m in modes for k in self.layer_sqnr[m]))
            lines += ["| layer | " + " | ".join(f"SQNR {m} (dB)" for m in modes) + " |",
                      "|---" * (len(modes) + 1) + "|"]
            for layer in layers:
                cells = [self.layer_sqnr[m].get(layer) for m in modes]
                lines.append(f"| {layer} | " + " | ".join(
                    "" if c is None else f"{c:.1f}" for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _qparams_of(qnet: Network, tensor: str):
    """(scale, zero point) of an integer tensor of *qnet* (following shape operators)."""
    prod = {o: n for n in qnet.nodes for o in n.outputs}
    t = tensor
    for _ in range(len(qnet.nodes) + 1):
        n = prod.get(t)
        if n is None:
            return None
        if n.op in _OUT_QPARAMS:
            i, j = _OUT_QPARAMS[n.op]
            zp = qnet.params.get(n.inputs[j]) if len(n.inputs) > j and n.inputs[j] else 0
            return qnet.params[n.inputs[i]], zp
        t = n.inputs[0]
    return None


def verify(net: Network, x, labels, *, types=None, quantized: Network | None = None,
           runtimes: Sequence[str] | str = ("onnxruntime",), batch_size: int = 512
           ) -> NetworkVerification:
    """Top-1 accuracy and per-layer SQNR of a network's fixed-point and integer modes.

    Parameters
    ----------
    net : Network
        The float network (the double reference).
    x : array_like
        Inputs (first axis: samples).
    labels : array_like of int or None
        The class of every sample (None: no accuracy, only the per-layer SQNR).
    types : TypeTable or mapping of str to TypeTable, optional
        Fixed-point tables to verify (a mapping names them, e.g. ``{'fixed 16-bit': T16}``;
        a single table is called ``'fixed'``).
    quantized : Network, optional
        An integer-only version of *net* from :func:`fixsim.nn.quantize` (its integer
        tensors are named ``'<tensor>:q'`` after *net*'s tensors, which gives the per-layer
        SQNR).
    runtimes : str or sequence of str
        Runtimes to run *quantized* under.
    batch_size : int
        Samples per run.

    Returns
    -------
    NetworkVerification
    """
    if not isinstance(net, Network) or net.quantized:
        raise TypeError("verify: net must be a float fixsim.nn.Network (the double "
                        f"reference), got {type(net).__name__}"
                        + (" holding quantized operators" if isinstance(net, Network) else "")
                        + ".")
    X = np.asarray(x)
    y = None if labels is None else np.asarray(labels)
    if len(X) == 0:
        raise ValueError("verify: x holds no samples.")
    if y is not None and (y.ndim != 1 or len(y) != len(X)):
        raise ValueError(f"verify: labels must be one class per sample ({len(X)} samples), "
                         f"got shape {y.shape}.")
    if isinstance(types, Mapping) and not hasattr(types, "as_double"):
        tables = dict(types)
    else:
        tables = {} if types is None else {"fixed": types}
    rts = [runtimes] if isinstance(runtimes, str) else list(runtimes)
    if quantized is not None:
        if not isinstance(quantized, Network) or not quantized.quantized:
            raise TypeError("verify: quantized must be an integer-only Network (from "
                            "fixsim.nn.quantize).")
        for rt in rts:
            if rt != "tflite-reference":
                check_runtime(rt, "verify")
    if batch_size < 1:
        raise ValueError(f"verify: batch_size must be >= 1, got {batch_size}.")
    tensors = [n.outputs[0] for n in net.nodes]
    layer_of = {n.outputs[0]: n.name for n in net.nodes}
    modes = ["double"] + list(tables) + ([f"int8 ({rt})" for rt in rts] if quantized else [])
    logits: dict[str, list] = {m: [] for m in modes}
    acts: dict[str, dict[str, list]] = {m: {t: [] for t in tensors} for m in modes}
    qt = {}
    if quantized is not None:
        names = {o for n in quantized.nodes for o in n.outputs}
        qt = {t: f"{t}:q" for t in tensors if f"{t}:q" in names}
    for i in range(0, len(X), batch_size):
        b = X[i:i + batch_size]
        ref = net(b, outputs=tensors)
        ref = ref if isinstance(ref, dict) else {tensors[0]: ref}
        logits["double"].append(np.asarray(ref[net.outputs[0]], np.float64))
        for t in tensors:
            acts["double"][t].append(np.asarray(ref[t], np.float64))
        for name, T in tables.items():
            got = net(b, types=T, outputs=tensors)
            got = got if isinstance(got, dict) else {tensors[0]: got}
            logits[name].append(np.asarray(getattr(got[net.outputs[0]], "data",
                                                   got[net.outputs[0]]), np.float64))
            for t in tensors:
                acts[name][t].append(np.asarray(getattr(got[t], "data", got[t]), np.float64))
        for rt in (rts if quantized is not None else []):
            m = f"int8 ({rt})"
            want = list(qt.values()) + list(quantized.outputs)
            got = quantized(b, runtime=rt, outputs=want)
            got = got if isinstance(got, dict) else {want[0]: got}
            logits[m].append(np.asarray(got[quantized.outputs[0]], np.float64))
            for t, q in qt.items():
                sz = _qparams_of(quantized, q)
                if sz is not None:
                    acts[m][t].append(np.asarray(dequantize_linear(got[q], *sz), np.float64))
    acc = {} if y is None else {m: accuracy(np.concatenate(v), y) for m, v in logits.items()}
    per_layer: dict[str, dict[str, float]] = {}
    for m in modes[1:]:
        per_layer[m] = {}
        for t in tensors:
            if acts[m][t]:
                per_layer[m][layer_of[t]] = sqnr(np.concatenate(acts["double"][t]),
                                                 np.concatenate(acts[m][t]))
    return NetworkVerification(acc, per_layer, len(X))
