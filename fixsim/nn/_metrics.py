"""Accuracy and per-layer signal-to-quantization-noise ratio of a network against double."""

from __future__ import annotations

import numpy as np

from .._core._fi import fi
from ._network import Network

__all__ = ["accuracy", "sqnr", "layer_sqnr"]


def _values(a) -> np.ndarray:
    return np.asarray(a.data if isinstance(a, fi) else a, dtype=np.float64)


def accuracy(logits, labels) -> float:
    """Top-1 accuracy: the share of rows whose largest logit is at the label's index."""
    z = _values(logits)
    y = np.asarray(labels)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"accuracy: logits must be (N, classes) and labels (N,), got "
                         f"{z.shape} and {y.shape}.")
    if z.shape[0] == 0:
        raise ValueError(f"accuracy: logits of shape {z.shape} and labels of shape {y.shape} "
                         "are empty (no samples); valid: at least one sample.")
    if z.shape[1] == 0:
        raise ValueError(f"accuracy: logits of shape {z.shape} have no classes; valid: "
                         "(N, classes) with at least one class.")
    return float(np.mean(z.argmax(axis=1) == y))


def sqnr(reference, test) -> float:
    """``10 log10(sum ref^2 / sum (ref - test)^2)`` in dB (inf when they are equal)."""
    r, t = _values(reference), _values(test)
    if r.shape != t.shape:
        raise ValueError(f"sqnr: reference of shape {r.shape} and test of shape {t.shape} "
                         "differ; valid: two arrays of one shape.")
    noise = float(np.sum((r - t) ** 2))
    if noise == 0.0:
        return float("inf")
    return float(10 * np.log10(max(float(np.sum(r ** 2)), 1e-300) / noise))


def layer_sqnr(net: Network, x, types) -> dict[str, float]:
    """SQNR (dB) of every layer's output in fixed point (``types``) against double."""
    names = [n.outputs[0] for n in net.nodes]
    ref = net(x, outputs=names)
    got = net(x, types=types, outputs=names)
    if len(names) == 1:
        ref, got = {names[0]: ref}, {names[0]: got}
    return {n.name: sqnr(ref[n.outputs[0]], got[n.outputs[0]]) for n in net.nodes}
