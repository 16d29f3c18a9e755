"""CORDIC kernels (circular rotation and vectoring) on int64 stored integers and on float64.

Plain arrays and integer mode codes only (see ``fixsim._core._modes``). The data registers
``x`` and ``y`` are stored integers of one type, passed as a row ``tp`` of
:func:`fixsim._kernels._filters.type_row` (``W + (not signed) <= 62``, so that ``x + (y >> i)``
never leaves int64); the angle register ``z`` is an int64 at the angle fraction length and is
never cast (it is wide enough for every value it takes: ``|z| <= 2 pi`` in stored integers of
at most 60 fraction bits, checked by the callers).

One iteration ``i`` (``d = +1`` or ``-1``; ``>>`` is the arithmetic shift, i.e. floor)::

    x' = cast(x - d * (y >> i))
    y' = cast(y + d * (x >> i))
    z' = z - d * atan_i

Rotation mode takes ``d = +1`` when ``z > 0`` (else -1; drives ``z`` to 0); vectoring mode
takes ``d = +1`` when ``y < 0`` (else -1; drives ``y`` to 0). ``cast`` only applies the
overflow mode (the sums are integers at the register's own fraction length). Overflow
counts go to ``cnt[0]`` (``x``) and ``cnt[1]`` (``y``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._quantize import requant_one

__all__ = ["rotate_i64", "vector_i64", "rotate_f64", "vector_f64"]

_U0 = np.uint64(0)


@nb.njit(inline="always", cache=True)
def _reg(v, tp, omode):
    """Apply the overflow mode of the register type to the exact int64 ``v``."""
    return requant_one(v, 0, tp[0], tp[1] != 0, 0, omode, _U0, tp[2], tp[3], tp[4], tp[5],
                       tp[6])


@nb.njit(cache=True)
def rotate_i64(x, y, z, atan, niters, tp, omode, cnt):
    """Rotation mode on every element, in place: ``x``, ``y`` (register type ``tp``) and
    ``z`` (angle stored integers) after ``niters`` iterations."""
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = z[k]
        for i in range(niters):
            sx = xk >> i
            sy = yk >> i
            if zk > 0:
                xn, o1 = _reg(xk - sy, tp, omode)
                yn, o2 = _reg(yk + sx, tp, omode)
                zk = zk - atan[i]
            else:
                xn, o1 = _reg(xk + sy, tp, omode)
                yn, o2 = _reg(yk - sx, tp, omode)
                zk = zk + atan[i]
            cnt[0] += o1
            cnt[1] += o2
            xk = xn
            yk = yn
        x[k] = xk
        y[k] = yk
        z[k] = zk


@nb.njit(cache=True)
def vector_i64(x, y, z, atan, niters, tp, omode, cnt):
    """Vectoring mode on every element, in place (``z`` accumulates the angle)."""
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = z[k]
        for i in range(niters):
            sx = xk >> i
            sy = yk >> i
            if yk < 0:
                xn, o1 = _reg(xk - sy, tp, omode)
                yn, o2 = _reg(yk + sx, tp, omode)
                zk = zk - atan[i]
            else:
                xn, o1 = _reg(xk + sy, tp, omode)
                yn, o2 = _reg(yk - sx, tp, omode)
                zk = zk + atan[i]
            cnt[0] += o1
            cnt[1] += o2
            xk = xn
            yk = yn
        x[k] = xk
        y[k] = yk
        z[k] = zk


@nb.njit(cache=True)
def rotate_f64(x, y, z, atan, niters):
    """Rotation mode in float64 (the shift is an exact multiplication by ``2**-i``)."""
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = z[k]
        s = 1.0
        for i in range(niters):
            sx = xk * s
            sy = yk * s
            if zk > 0:
                xk, yk, zk = xk - sy, yk + sx, zk - atan[i]
            else:
                xk, yk, zk = xk + sy, yk - sx, zk + atan[i]
            s *= 0.5
        x[k] = xk
        y[k] = yk
        z[k] = zk


@nb.njit(cache=True)
def vector_f64(x, y, z, atan, niters):
    """Vectoring mode in float64."""
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = z[k]
        s = 1.0
        for i in range(niters):
            sx = xk * s
            sy = yk * s
            if yk < 0:
                xk, yk, zk = xk - sy, yk + sx, zk - atan[i]
            else:
                xk, yk, zk = xk + sy, yk - sx, zk + atan[i]
            s *= 0.5
        x[k] = xk
        y[k] = yk
        z[k] = zk
