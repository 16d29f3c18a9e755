"""Fused elementwise kernels on int64 stored integers (one pass, no temporaries)."""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True)
def aligned_add(a, ka, b, kb, out):
    """``out = (a << ka) + (b << kb)``; the caller guarantees the result fits int64."""
    for i in range(a.shape[0]):
        out[i] = (a[i] << ka) + (b[i] << kb)


@nb.njit(cache=True)
def aligned_sub(a, ka, b, kb, out):
    """``out = (a << ka) - (b << kb)``; the caller guarantees the result fits int64."""
    for i in range(a.shape[0]):
        out[i] = (a[i] << ka) - (b[i] << kb)


@nb.njit(cache=True)
def scale_to_float(v, scale, out):
    """``out = v * scale`` for stored integers that are exact doubles (|v| <= 2**53)."""
    for i in range(v.shape[0]):
        out[i] = v[i] * scale


@nb.njit(cache=True)
def multiply(a, b, out):
    """``out = a * b``; the caller guarantees every product fits int64."""
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i]
