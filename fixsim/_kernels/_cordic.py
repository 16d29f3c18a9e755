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

from ._quantize import SATURATE, WRAP, requant_one

__all__ = ["rotate_i64", "vector_i64", "rotate_f64", "vector_f64"]

_U0 = np.uint64(0)


@nb.njit(inline="always", cache=True)
def _reg(v, tp, omode):
    """Apply the overflow mode of the (signed) register type to the exact int64 ``v``:
    wrap and saturate inline (the common cases), the others through ``requant_one``."""
    lo = tp[2]
    hi = tp[3]
    if omode == WRAP:
        r = ((v - lo) & tp[4]) + lo
        return r, np.int64(r != v)
    if omode == SATURATE:
        if v > hi:
            return hi, np.int64(1)
        if v < lo:
            return lo, np.int64(1)
        return v, np.int64(0)
    return requant_one(v, 0, tp[0], tp[1] != 0, 0, omode, _U0, lo, hi, tp[4], tp[5], tp[6])


@nb.njit(cache=True)
def rotate_i64(x, y, z, atan, niters, tp, omode, cnt, quad):
    """Rotation mode on every element, in place: ``x``, ``y`` (register type ``tp``) and
    ``z`` (angle stored integers) after ``niters`` iterations.

    ``quad = [on, pi_floor, half_pi_floor, pi, two_pi]`` (angle stored integers): when ``on``,
    ``z`` is first brought into [-pi/2, pi/2] (above ``pi_floor``: minus ``two_pi``; below
    ``-pi_floor``: plus ``two_pi``; then above ``half_pi_floor``: minus ``pi``, below
    ``-half_pi_floor``: plus ``pi``, and the rotated ``x``, ``y`` are negated at the end,
    each negation a register update)."""
    on = quad[0] != 0
    pi_fl = quad[1]
    half_fl = quad[2]
    pi_q = quad[3]
    two_pi = quad[4]
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = z[k]
        neg = False
        if on:
            if zk > pi_fl:
                zk -= two_pi
            elif zk < -pi_fl:
                zk += two_pi
            if zk > half_fl:
                zk -= pi_q
                neg = True
            elif zk < -half_fl:
                zk += pi_q
                neg = True
        for i in range(niters):
            d = np.int64(1) if zk > 0 else np.int64(-1)
            xn, o1 = _reg(xk - d * (yk >> i), tp, omode)
            yn, o2 = _reg(yk + d * (xk >> i), tp, omode)
            zk = zk - d * atan[i]
            cnt[0] += o1
            cnt[1] += o2
            xk = xn
            yk = yn
        if neg:
            xk, o1 = _reg(-xk, tp, omode)
            yk, o2 = _reg(-yk, tp, omode)
            cnt[0] += o1
            cnt[1] += o2
        x[k] = xk
        y[k] = yk
        z[k] = zk


@nb.njit(cache=True)
def vector_i64(x, y, z, atan, niters, tp, omode, cnt, pi_q):
    """Vectoring mode on every element, in place (``z`` accumulates the angle from 0).

    A vector with ``x < 0`` is first negated (register updates) and its angle starts at
    ``pi_q`` (``y >= 0``) or ``-pi_q`` (``y < 0``)."""
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        zk = np.int64(0)
        if xk < 0:
            zk = pi_q if yk >= 0 else -pi_q
            xk, o1 = _reg(-xk, tp, omode)
            yk, o2 = _reg(-yk, tp, omode)
            cnt[0] += o1
            cnt[1] += o2
        for i in range(niters):
            d = np.int64(1) if yk < 0 else np.int64(-1)
            xn, o1 = _reg(xk - d * (yk >> i), tp, omode)
            yn, o2 = _reg(yk + d * (xk >> i), tp, omode)
            zk = zk - d * atan[i]
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
