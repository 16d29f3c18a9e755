"""CORDIC (circular rotation and vectoring mode) in double and in fixed point, as MATLAB's
``cordicsincos``, ``cordicrotate``, ``cordicatan2`` and ``cordicabs``; and the exactly
rounded constants (pi, ``atan(2**-i)``, the inverse CORDIC gain, twiddle factors) that the
CORDIC and the FFT quantize."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from .._core._fi import fi, make_fi
from .._core._interval import Interval, cast_pairs, report_range
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable
from .._kernels import lazy
from ._block import (
    TypeLike,
    as_type,
    block_modes,
    check_table,
    check_wrap_sm,
    fi_stored,
    interval_type,
    named_cast,
    pick_type,
    probe,
    report,
    table_is_double,
    typed_like_run,
)

_kc = lazy("fixsim._kernels._cordic")
_kf = lazy("fixsim._kernels._filters")

__all__ = ["cordic_sincos", "cordic_rotate", "cordic_atan2", "cordic_abs", "cordic_gain"]

_MAX_DOUBLE_ITERS = 52
_MAX_DATA_WIDTH = 62  # x + (y >> i) of two 62-bit registers stays inside int64
_MAX_ANGLE_FRACTION = 58  # |z| <= 2 pi * 2**58 < 2**61


# -- exactly rounded constants ---------------------------------------------------------------
# An irrational constant c is computed as an integer approximation a ~ c * 2**P with a proven
# error bound e (units of 2**-P). With P = F + 64 guard bits, [a - e, a + e] decides
# floor(c * 2**F) and the side of one half on which the remainder lies; the constant is then
# replaced by the *proxy* (floor + 1/4 or + 3/4) * 2**-F, which every deterministic rounding
# and overflow mode maps exactly as it maps c. (If the interval straddles a decision point,
# which an irrational c makes impossible for a large enough P, P grows and we try again.)

def _atan_inv(n: int, P: int) -> tuple[int, int]:
    """``atan(1/n) * 2**P`` (n >= 2) by its alternating series, and an error bound."""
    n2 = n * n
    p = (1 << P) // n  # floor(2**P / n**(2k+1)), exactly (floor of a floor division)
    total = 0
    k = 0
    while p:
        t = p // (2 * k + 1)
        total += -t if k & 1 else t
        p //= n2
        k += 1
    return total, 2 * k + 2


def _pi_fixed(P: int) -> tuple[int, int]:
    """``pi * 2**P`` (Machin: pi = 16 atan(1/5) - 4 atan(1/239)) and an error bound."""
    a, ea = _atan_inv(5, P)
    b, eb = _atan_inv(239, P)
    return 16 * a - 4 * b, 16 * ea + 4 * eb


def _cos_sin_fixed(x: int, ex: int, P: int) -> tuple[int, int, int]:
    """``cos(x), sin(x)`` at precision P for ``0 <= x <= 1`` (x given at precision P with
    error ``ex``), by their Taylor series, and an error bound (|d cos/dx|, |d sin/dx| <= 1)."""
    one = 1 << P
    c = 0
    s = 0
    term = one  # x**k / k!
    k = 0
    while term:
        if k % 4 == 0:
            c += term
        elif k % 4 == 1:
            s += term
        elif k % 4 == 2:
            c -= term
        else:
            s -= term
        k += 1
        term = (term * x) >> P
        term //= k
    return c, s, 4 * (ex + 2 * k + 4)


def _proxy(a: int, e: int, P: int, F: int) -> Fraction | None:
    """The proxy of the constant ``~ a * 2**-P`` (error ``e``) at fraction length F, or None
    when P is too small to decide."""
    s = P - F
    if s < 2:
        return None
    q = a >> s
    rem = a - (q << s)
    half = 1 << (s - 1)
    if rem - e <= 0 or rem + e >= (1 << s) or abs(rem - half) <= e:
        return None
    return Fraction(4 * q + (1 if rem < half else 3), 4) * Fraction(2) ** -F


def _decide(compute, F: int) -> Fraction:
    """Run ``compute(P) -> (a, e)`` with growing P until the proxy at F is decided."""
    P = max(F, 0) + 64
    while True:
        a, e = compute(P)
        r = _proxy(a, e, P, F)
        if r is not None:
            return r
        P += 64


@functools.lru_cache(maxsize=1024)
def pi_proxy(F: int, multiple: Fraction = Fraction(1)) -> Fraction:
    """Proxy of ``multiple * pi`` at fraction length F (multiple a nonzero power of two)."""
    m = Fraction(multiple)

    def compute(P: int) -> tuple[int, int]:
        a, e = _pi_fixed(P + 4)
        v = a * m.numerator
        # divide by the denominator and by 2**4 (floor: one more unit of error)
        return v // (m.denominator << 4), (e * abs(m.numerator)) // (m.denominator << 4) + 2
    return _decide(compute, F)


@functools.lru_cache(maxsize=1024)
def atan_proxy(i: int, F: int) -> Fraction:
    """Proxy of ``atan(2**-i)`` at fraction length F."""
    if i == 0:
        return pi_proxy(F, Fraction(1, 4))
    return _decide(lambda P: _atan_inv(1 << i, P), F)


@functools.lru_cache(maxsize=1024)
def inverse_gain_proxy(niters: int, F: int) -> Fraction:
    """Proxy of ``1/A_n = prod_{i<n} 1/sqrt(1 + 2**-2i)`` at fraction length F.

    ``A = 4**F / prod(1 + 4**-i)`` is rational, so ``(1/A_n) 2**F = sqrt(A)`` is decided
    exactly with integer square roots (exact values and ties included)."""
    prod = Fraction(1)
    for i in range(niters):
        prod *= 1 + Fraction(1, 4 ** i)
    A = Fraction(4) ** F / prod
    q = math.isqrt(A.numerator // A.denominator)
    if A == q * q:
        r = Fraction(0)
    else:
        mid = Fraction(2 * q + 1, 2) ** 2
        r = Fraction(1, 4) if A < mid else (Fraction(1, 2) if A == mid else Fraction(3, 4))
    return (q + r) * Fraction(2) ** -F


def twiddle_proxies(N: int, F: int) -> tuple[list[Fraction], list[Fraction]]:
    """Proxies of ``cos(2 pi k / N)`` and ``-sin(2 pi k / N)`` for ``k < N/2`` at fraction
    length F (exact 0 and +-1 where the value is rational)."""
    wr: list[Fraction] = []
    wi: list[Fraction] = []
    q4 = N // 4
    for k in range(N // 2):
        if q4 == 0 or k % q4 == 0:
            # k = 0 or k = N/4 (angles 0 and pi/2): exact
            c, s = ((1, 0) if k == 0 else (0, 1))
            wr.append(Fraction(c))
            wi.append(Fraction(-s))
            continue
        quad, r = divmod(k, q4)
        swap = 2 * r > q4  # reduce to an angle of at most pi/4
        rr = q4 - r if swap else r

        def compute(P: int, rr=rr, which=0) -> tuple[int, int]:
            pa, pe = _pi_fixed(P + 4)
            x = (pa * 2 * rr) // (N << 4)
            ex = (pe * 2 * rr) // (N << 4) + 2
            c, s, e = _cos_sin_fixed(x, ex, P)
            return (c if which == 0 else s), e

        cv = _decide(lambda P, rr=rr: compute(P, rr, 0), F)
        sv = _decide(lambda P, rr=rr: compute(P, rr, 1), F)
        if swap:
            cv, sv = sv, cv
        if quad == 1:  # angle + pi/2: (c, s) -> (-s, c)
            cv, sv = -sv, cv
        wr.append(cv)
        wi.append(-sv)
    return wr, wi


def quantize_proxies(values: list[Fraction], T: numerictype) -> np.ndarray:
    """Stored integers of the (proxy) constants rounded to nearest (ties up), saturated."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return np.asarray(fi(arr, T, rounding="nearest", overflow="saturate").int, dtype=np.int64)


def cordic_gain(niters: int) -> float:
    """The CORDIC gain ``A_n = prod_{i<n} sqrt(1 + 2**-2i)`` (about 1.6468 for large n)."""
    if isinstance(niters, bool) or not isinstance(niters, int | np.integer) or niters < 0:
        # regression: -3 gave 1 and 2.5 gave A_2
        raise ValueError(f"cordic_gain: niters must be a non-negative integer, got {niters!r}.")
    return math.prod(math.sqrt(1.0 + 4.0 ** -i) for i in range(int(niters)))


# -- argument handling -------------------------------------------------------------------------
def _niters(niters, Wdata: int | None, fn: str) -> int:
    """MATLAB's rule: default and maximum are ``Wdata - 1`` (fixed) or 52 (double)."""
    cap = _MAX_DOUBLE_ITERS if Wdata is None else Wdata - 1
    if niters is None:
        return cap
    if isinstance(niters, bool) or not isinstance(niters, int | np.integer) or niters < 1:
        raise ValueError(f"{fn}: niters must be a positive integer, got {niters!r}.")
    return min(int(niters), cap)


def _check_theta_range(values: np.ndarray, fn: str, tol: float = 0.0) -> None:
    """theta must lie in [-2 pi, 2 pi) (a fi may miss it by one LSB: fi(-2*pi) rounds)."""
    bad = ((values < -2 * math.pi - tol) | (values >= 2 * math.pi + tol)
           | ~np.isfinite(values))
    if bad.any():
        v = values[bad].ravel()[0]
        raise ValueError(f"{fn}: theta must lie in [-2*pi, 2*pi), got {v!r}.")


def _signed_holding(T: numerictype, extra: int) -> numerictype:
    """A signed type at T's fraction length with *extra* more integer bits than T needs."""
    return numerictype(True, T.word_length + extra + (0 if T.signed else 1), T.fraction_length)


def _check_data(D: numerictype, fn: str, what: str = "data_type") -> None:
    if not D.signed or D.word_length > _MAX_DATA_WIDTH:
        raise ValueError(f"{fn}: {what} must be signed with at most {_MAX_DATA_WIDTH} bits "
                         f"(the int64 CORDIC registers), got {D}.")


def _check_angle(A: numerictype, fn: str) -> None:
    if not A.signed or A.fraction_length > _MAX_ANGLE_FRACTION or A.word_length > 62:
        raise ValueError(f"{fn}: angle_type must be signed with at most "
                         f"{_MAX_ANGLE_FRACTION} fraction bits and 62 bits, got {A}.")


def _as_pair(u, fn: str, argument: str):
    """``('fixed', re fi, im fi)`` for a (re, im) pair of fi, ``('double', complex)`` else."""
    if isinstance(u, tuple | list) and len(u) == 2 and isinstance(u[0], fi):
        re, im = u
        if not isinstance(im, fi) or re.numerictype != im.numerictype or re.shape != im.shape:
            raise TypeError(f"{fn}: {argument} as a (re, im) pair needs two fi of the same "
                            f"numerictype and shape.")
        return "fixed", re, im
    if isinstance(u, fi):
        return "fixed", u, None
    if isinstance(u, tuple | list) and len(u) == 2:
        u = np.asarray(u[0], dtype=np.float64) + 1j * np.asarray(u[1], dtype=np.float64)
    return "double", np.asarray(u, dtype=np.complex128), None


def _cast_into(a: fi, D: numerictype, rounding, overflow, probe_name: str) -> np.ndarray:
    """Stored integers of *a* in *D* (int64), flattened; a named cast when types differ."""
    ints = np.ravel(fi_stored(a))
    if a.numerictype == D:
        return np.ascontiguousarray(ints, dtype=np.int64)
    src = np.asarray(ints, dtype=np.int64) if a.word_length <= 63 else ints
    return np.asarray(named_cast(src, a.numerictype, D, rounding, overflow, probe_name),
                      dtype=np.int64)


@functools.lru_cache(maxsize=256)
def _table_cached(niters: int, Fz: int) -> np.ndarray:
    vals = [atan_proxy(i, Fz) for i in range(niters)]
    t = np.array([int(math.floor(v * 2 ** Fz + Fraction(1, 2))) for v in vals], dtype=np.int64)
    t.flags.writeable = False
    return t


def _table(niters: int, Fz: int) -> np.ndarray:
    """``atan(2**-i)`` rounded to nearest at fraction length Fz (stored integers)."""
    return _table_cached(niters, Fz).copy()  # writable: the kernels take plain arrays


def _const_int(c: Fraction, F: int) -> int:
    """Nearest (ties up) stored integer of a proxy constant at fraction length F."""
    return int(math.floor(c * Fraction(2) ** F + Fraction(1, 2)))


def _quadrant(Fz: int) -> np.ndarray:
    """The kernel's quadrant correction constants at angle fraction length Fz:
    ``[1, floor(pi 2**Fz), floor(pi/2 2**Fz), pi, 2 pi]`` (the last two rounded to nearest).

    An angle above pi (below -pi) loses (gains) ``2 pi``, then one above pi/2 (below -pi/2)
    loses (gains) ``pi`` and the outputs are negated. The comparisons are exact: for an
    irrational c, ``z > c <=> z > floor(c)`` and ``z < -c <=> z < -floor(c)``. (This
    reproduces MATLAB's documented ``cordicsincos`` table.)"""
    pi_ = _const_int(pi_proxy(Fz), Fz)
    two_pi = _const_int(pi_proxy(Fz, Fraction(2)), Fz)
    pi_fl = math.floor(pi_proxy(Fz) * Fraction(2) ** Fz)
    half_fl = math.floor(pi_proxy(Fz, Fraction(1, 2)) * Fraction(2) ** Fz)
    return np.array([1, pi_fl, half_fl, pi_, two_pi], dtype=np.int64)


def _reduce_angle_f64(z: np.ndarray) -> np.ndarray:
    z[z > math.pi] -= 2 * math.pi
    z[z < -math.pi] += 2 * math.pi
    up = z > math.pi / 2
    down = z < -math.pi / 2
    z[up] -= math.pi
    z[down] += math.pi
    return up | down


def _atan_f64(niters: int) -> np.ndarray:
    return np.array([math.atan(2.0 ** -i) for i in range(niters)])


def _row(D: numerictype) -> np.ndarray:
    return np.array(_kf.type_row(D.word_length, True), dtype=np.int64)


def _gain_multiply(v: np.ndarray, D: numerictype, G: numerictype, Y: numerictype, g: int,
                   rounding, overflow, name: str) -> np.ndarray:
    """``cast(v * g)`` into Y: registers *v* (type D) times the stored gain *g* (type G)."""
    P = numerictype(True, D.word_length + G.word_length, D.fraction_length + G.fraction_length)
    if P.word_length <= 63:
        prod = v * np.int64(g)
    else:  # exact in Python ints
        prod = np.array([int(a) * g for a in v], dtype=object)
    probe(f"{name}.out", lambda: np.asarray(prod, dtype=np.float64) * 2.0 ** -P.fraction_length,
          None, Y, "fixed")
    return np.asarray(named_cast(prod, P, Y, rounding, overflow, f"{name}.out"),
                      dtype=np.int64)


def _default_gain_type(W: int) -> numerictype:
    """MATLAB: ``1/A_n`` as a fi of the input's word length, best precision (``F = W - 1``)."""
    return numerictype(True, max(W, 2), max(W, 2) - 1)


def _fixed_result(ints: np.ndarray, T: numerictype, shape) -> fi:
    return make_fi(np.ascontiguousarray(ints, dtype=np.int64).reshape(shape), T)


# -- rotation mode -----------------------------------------------------------------------------
def cordic_sincos(theta, niters: int | None = None, *, data_type: TypeLike = None,
                  angle_type: TypeLike = None, rounding: str | Rounding = "floor",
                  overflow: str | Overflow = "wrap", name: str = "cordic",
                  types: TypeTable | None = None):
    """Sine and cosine of *theta* by CORDIC rotation (MATLAB ``cordicsincos``).

    Parameters
    ----------
    theta : fi, array_like or Interval
        Angles in radians, in ``[-2 pi, 2 pi)``. A fi (signed) runs in fixed point, floats in
        double (the same iterations in float64, so the result shows CORDIC's algorithmic
        error). An :class:`~fixsim.tool.Interval` returns the bound of the outputs.
    niters : int, optional
        Iterations. Default and maximum (larger values are reduced to it, as MATLAB does):
        the data word length minus one in fixed point, 52 in double.
    data_type : numerictype or str, optional
        Type of the ``x``/``y`` registers and of the outputs (signed, at most 62 bits).
        Default (MATLAB): theta's word length with fraction length ``W - 2``.
    angle_type : numerictype or str, optional
        Type of the angle register and of the ``atan(2**-i)`` table (signed). Default:
        theta's type. theta is cast into it (named ``"<name>.in"``) when it differs.
    rounding, overflow : str
        ``rounding`` applies to the cast of theta into *angle_type*; ``overflow`` to that cast,
        to every register update and to the final negation. Constants (the table, pi, the
        initial ``x = 1/A_n``) are always rounded to nearest; the shifts are floors. The
        defaults, ``'floor'`` and ``'wrap'``, are those of MATLAB's CORDIC kernels (with them
        the documented MATLAB examples are reproduced bit for bit).
    name : str
        Signal names: ``"<name>.x"`` (cosine register) and ``"<name>.y"`` (sine register).
    types : TypeTable, optional
        Entries ``"<name>.x"`` (data type) and ``"<name>.z"`` (angle type); all ``'double'``
        runs in double.

    Returns
    -------
    (sin, cos)
        Two fi of *data_type* in fixed point, float64 arrays in double mode, Intervals for an
        Interval input.

    Notes
    -----
    The angle is first reduced to ``[-pi/2, pi/2]``: an angle above pi (below -pi) loses
    (gains) ``2 pi``, then one above pi/2 (below -pi/2) loses (gains) ``pi``, which negates
    the outputs (exact comparisons; ``2 pi`` and ``pi`` rounded to nearest at the angle
    fraction length). Then
    ``x = 1/A_n`` (rounded to nearest into *data_type*), ``y = 0``, ``z = theta`` and
    ``niters`` rotation-mode iterations ``x' = x - d (y >> i)``, ``y' = y + d (x >> i)``,
    ``z' = z - d atan(2**-i)`` with ``d = +1`` when ``z > 0``, else ``-1``. The gain ``A_n``
    is compensated by the initial value, so ``cos`` and ``sin`` come out unscaled.
    """
    fn = "cordic_sincos"
    types = check_table(types, fn)
    r, o = block_modes(rounding, overflow, fn)
    data_type = as_type(data_type, "data_type", fn)
    angle_type = as_type(angle_type, "angle_type", fn)
    if isinstance(theta, Interval):
        Tt = _typed(theta)
        if Tt is not None and not table_is_double(types, name):
            D = pick_type(data_type, types, f"{name}.x", fn) or \
                numerictype(True, Tt.word_length, Tt.word_length - 2)
            out = _sincos_interval(theta, name, niters, D)
        else:
            out = _sincos_interval(theta, name)
        return typed_like_run(
            lambda t: cordic_sincos(t, niters, data_type=data_type, angle_type=angle_type,
                                    rounding=r, overflow=o, name=name, types=types),
            (theta,), out)
    if isinstance(theta, fi) and not table_is_double(types, name):
        return _sincos_fixed(theta, niters, pick_type(data_type, types, f"{name}.x", fn),
                             pick_type(angle_type, types, f"{name}.z", fn), r, o, name)
    t = np.asarray(theta.data if isinstance(theta, fi) else theta, dtype=np.float64)
    n = _niters(niters, None, fn)
    z = np.array(t, dtype=np.float64).ravel()
    _check_theta_range(z, fn)
    neg = _reduce_angle_f64(z)
    x = np.full(z.shape, 1.0 / cordic_gain(n))
    y = np.zeros(z.shape)
    _kc.rotate_f64(x, y, z, _atan_f64(n), n)
    probe(f"{name}.x", lambda: x.copy(), None, data_type, "double")
    probe(f"{name}.y", lambda: y.copy(), None, data_type, "double")
    x[neg] = -x[neg]
    y[neg] = -y[neg]
    return y.reshape(t.shape), x.reshape(t.shape)


def _vector_bound(u) -> tuple[float, tuple[int, ...]] | None:
    """``(max |u|, shape)`` for an Interval (real part) or a pair of Intervals, else None."""
    if isinstance(u, Interval):
        parts = (u,)
    elif isinstance(u, tuple) and len(u) == 2 and any(isinstance(p, Interval) for p in u):
        parts = u
    else:
        return None
    mags = [max(float(np.max(np.abs(p.lo))), float(np.max(np.abs(p.hi))))
            if isinstance(p, Interval) else float(np.max(np.abs(np.asarray(p, dtype=float))))
            for p in parts]
    shape = next(p.shape for p in parts if isinstance(p, Interval))
    return math.hypot(*mags), shape


def _vector_interval(bound: float, shape, n: int, name: str, scaled: bool) -> Interval:
    """Registers hold ``A_n |u|`` at most (per component); the result ``|u|`` (scaled) or
    ``A_n |u|``, in exact arithmetic."""
    g = cordic_gain(n) * (1 + 1e-12)
    for sig in ("x", "y"):
        report_range(f"{name}.{sig}", -bound * g, bound * g)
    b = bound * (1 + 1e-12) if scaled else bound * g
    report_range(f"{name}.out", -b, b)
    return Interval(np.full(shape, -b), np.full(shape, b))


def _vector_interval_fixed(u, shape, n_arg, name: str, scaled: bool, D, G, Y, r, o,
                           fn: str) -> Interval:
    """:func:`_vector_interval` for a fixed-point run: the input cast into the data type D,
    the registers' floors (:func:`_register_bound`), the stored ``1/A_n`` (gain type G) and the
    output cast into Y (*rounding*)."""
    parts = u if isinstance(u, tuple | list) else (u,)
    Tu = _typed(u)
    D = D or _signed_holding(Tu, 2)
    n = _niters(n_arg, D.word_length, fn)
    mags = []
    for p in parts:
        if isinstance(p, Interval):
            lo, hi = float(np.min(p.lo)), float(np.max(p.hi))
        else:
            a = np.asarray(p.data if isinstance(p, fi) else p, dtype=np.float64)
            lo, hi = float(a.min()), float(a.max())
        mags.append(_cast_mag(lo, hi, _typed(p) or Tu, D, r, o))
    breg = _register_bound(math.hypot(*mags) * (1 + 1e-15), n, D)
    dm = _dmax(D)
    for sig in ("x", "y"):
        report_range(f"{name}.{sig}", -min(breg, dm), min(breg, dm))
    breg = min(breg, dm)
    if scaled:
        G = G or _default_gain_type(Tu.word_length)
        Y = Y or D
        g = float(quantize_proxies([inverse_gain_proxy(n, G.fraction_length)], G)[0]) * \
            2.0 ** -G.fraction_length
        pb = breg * g * (1 + 1e-15)
        report_range(f"{name}.out", -pb, pb)
        qlo, qhi = cast_pairs(np.array([-pb]), np.array([pb]), Y, r, o)
        lo, hi = float(qlo[0]), float(qhi[0])
    else:
        lo, hi = -breg, breg
        if Y is not None and Y != D:
            report_range(f"{name}.out", lo, hi)
            qlo, qhi = cast_pairs(np.array([lo]), np.array([hi]), Y, r, o)
            lo, hi = float(qlo[0]), float(qhi[0])
    return Interval(np.full(shape, lo), np.full(shape, hi))


def _atan2_bound(A: numerictype, n: int, wrap_min: bool) -> float:
    """Bound of ``|z|`` of fixed-point vectoring (angle type A, ``n`` iterations, table
    ``a_i = atan(2**-i)`` rounded to nearest).

    ``z_n = z_0 - sum d_i a_i`` with ``z_0`` 0 or ``+-pi`` (pi rounded to nearest). From 0,
    ``|z| <= sum a_i`` (< pi). From ``pi`` (``x < 0``, ``y >= 0``: the negated vector has
    ``y <= 0``): ``y < 0`` turns iteration 0 to ``d = +1``, so ``z <= pi - a_0 + sum_(i>=1)
    a_i``; ``y = 0`` gives ``z = pi + a_0`` and ``y = -x < 0`` (the shift by 0 is exact), so
    ``d_1 = +1`` and ``z <= pi + a_0 - 2 a_1 + sum_(i>=1) a_i``; symmetric from ``-pi``. The
    register floors can stall the rotation of a tiny vector, so nothing tighter is assumed
    about the later signs. When the negation can wrap (the data type's minimum under
    wrap), the signs are not known at all: ``pi + sum a_i``."""
    F = A.fraction_length
    a = [Fraction(int(v)) / Fraction(2) ** F for v in _table(n, F)] + [Fraction(0)] * 2
    S1 = sum(a[1:n], Fraction(0))
    pi_q = Fraction(_const_int(pi_proxy(F), F)) / Fraction(2) ** F
    if wrap_min:
        extra = a[0] + S1
    else:
        extra = max(S1 - a[0], a[0] - 2 * a[1] + S1, Fraction(0))
    b = max(pi_q + extra, a[0] + S1)
    f = float(b)
    return f if Fraction(f) >= b else float(np.nextafter(f, np.inf))


def _typed(v) -> numerictype | None:
    """The fi type an Interval (or a pair of Intervals) stands for, else None."""
    if isinstance(v, tuple | list):
        for p in v:
            T = _typed(p)
            if T is not None:
                return T
        return None
    if isinstance(v, Interval):
        return interval_type(v)
    return v.numerictype if isinstance(v, fi) else None


def _dmax(D: numerictype) -> float:
    """The largest magnitude a value of D holds."""
    return max(abs(float(D.min)), abs(float(D.max)))


def _register_bound(v0: float, n: int, D: numerictype) -> float:
    """Bound of ``|(x, y)|`` (so of each component) of the fixed-point CORDIC registers over
    every iteration, from ``|(x0, y0)| <= v0``: the exact rotations grow the vector by at most
    ``A_n``, and every shift ``>> i`` (``i >= 1``) floors, an error below one LSB per
    component (``sqrt 2`` LSB in norm) that the remaining rotations grow by at most ``A_n``:
    ``A_n (v0 + sqrt 2 (n - 1) LSB)``. Where that leaves D, the registers overflow and hold
    anything in D."""
    lsb = 2.0 ** -D.fraction_length
    b = cordic_gain(n) * (v0 + math.sqrt(2) * max(n - 1, 0) * lsb) * (1 + 1e-12)
    return b if b <= _dmax(D) else math.inf


def _cast_mag(lo: float, hi: float, T: numerictype | None, D: numerictype, r, o) -> float:
    """Largest magnitude of ``[lo, hi]`` cast from T into D (as the run's named cast)."""
    if T is not None and T != D:
        clo, chi = cast_pairs(np.array([lo]), np.array([hi]), D, r, o)
        lo, hi = float(clo[0]), float(chi[0])
    return max(abs(lo), abs(hi))


def _sincos_interval(theta: Interval, name: str, niters=None, D: numerictype | None = None):
    """x and y are a rotation of ``(1/A_n, 0)``: ``|x|, |y| <= 1`` in exact arithmetic (the
    double mode). In fixed point (data type *D*) the registers
    start at ``1/A_n`` rounded to nearest and every shift floors (see
    :func:`_register_bound`)."""
    b = 1.0
    if D is not None:
        n = _niters(niters, D.word_length, "cordic_sincos")
        x0 = float(quantize_proxies([inverse_gain_proxy(n, D.fraction_length)], D)[0]) * \
            2.0 ** -D.fraction_length
        b = min(_register_bound(x0, n, D), _dmax(D))
    for s in ("x", "y"):
        report_range(f"{name}.{s}", -b, b)
    one = Interval(np.full(theta.shape, -b), np.full(theta.shape, b))
    return one, one


def _sincos_fixed(theta: fi, niters, D, A, r, o, name: str):
    fn = "cordic_sincos"
    Tt = theta.numerictype
    if not Tt.signed:
        raise ValueError(f"{fn}: a fixed-point theta must be signed (MATLAB), got {Tt}.")
    D = D or numerictype(True, Tt.word_length, Tt.word_length - 2)
    A = A or Tt
    _check_data(D, fn)
    _check_angle(A, fn)
    check_wrap_sm(D, o, "data", fn)
    n = _niters(niters, D.word_length, fn)
    _check_theta_range(np.ravel(theta.data), fn, Tt.eps)
    z = _cast_into(theta, A, r, o, f"{name}.in").copy()
    Fz = A.fraction_length
    x0 = quantize_proxies([inverse_gain_proxy(n, D.fraction_length)], D)[0]
    x = np.full(z.shape, x0, dtype=np.int64)
    y = np.zeros(z.shape, dtype=np.int64)
    cnt = np.zeros(2, dtype=np.int64)
    _kc.rotate_i64(x, y, z, _table(n, Fz), n, _row(D), int(o), cnt, _quadrant(Fz))
    scale = 2.0 ** -D.fraction_length
    probe(f"{name}.x", lambda: x * scale, None, D, "fixed", int(cnt[0]))
    probe(f"{name}.y", lambda: y * scale, None, D, "fixed", int(cnt[1]))
    report(f"{name}.x", D, x.size * n, int(cnt[0]))
    report(f"{name}.y", D, y.size * n, int(cnt[1]))
    return _fixed_result(y, D, theta.shape), _fixed_result(x, D, theta.shape)


def cordic_rotate(theta, u, niters: int | None = None, *, scale_output: bool = True,
                  data_type: TypeLike = None, angle_type: TypeLike = None,
                  gain_type: TypeLike = None, output_type: TypeLike = None,
                  rounding: str | Rounding = "floor", overflow: str | Overflow = "wrap",
                  name: str = "cordic", types: TypeTable | None = None):
    """Rotate the vectors *u* by the angles *theta* (``u * exp(1j theta)``) by CORDIC
    (MATLAB ``cordicrotate``).

    Parameters
    ----------
    theta : fi or array_like
        Angles in ``[-2 pi, 2 pi)`` (a signed fi in fixed point).
    u : complex array_like, or a pair ``(re, im)`` of fi of one numerictype
        The vectors (broadcast against theta in double mode; the same shape in fixed point).
    niters : int, optional
        As in :func:`cordic_sincos` (default and maximum: data word length - 1, or 52).
    scale_output : bool
        Compensate the gain ``A_n`` by multiplying the result by ``1/A_n`` (rounded to
        nearest into *gain_type*), as MATLAB's ``ScaleOutput``; otherwise the result is
        ``A_n`` times the rotated vector.
    data_type : optional
        Register type. Default: u's fraction length with 2 more integer bits than u
        (``|rotated component| <= A_n sqrt(2) max|u| < 2.33 max|u|``).
    angle_type : optional
        Angle register and table type; default theta's type.
    gain_type, output_type : optional
        Type of the stored ``1/A_n`` (default, as MATLAB: signed, u's word length, fraction
        ``W - 1``) and of the result (default: the data type).
    rounding, overflow, name, types
        As in :func:`cordic_sincos`; ``rounding`` also decides the cast of the gain product
        into *output_type* (``"<name>.out"``). Table entries: ``"<name>.x"``, ``"<name>.z"``,
        ``"<name>.gain"``, ``"<name>.out"``.

    Returns
    -------
    complex ndarray (double mode) or a pair ``(re, im)`` of fi (fixed point). For *u* an
    Interval (or a pair), a pair of Intervals bounding each component: ``|u|`` (exact
    arithmetic, scaled) or ``A_n |u|``.
    """
    fn = "cordic_rotate"
    types = check_table(types, fn)
    r, o = block_modes(rounding, overflow, fn)
    args = [as_type(t, a, fn) for t, a in ((data_type, "data_type"), (angle_type, "angle_type"),
                                           (gain_type, "gain_type"),
                                           (output_type, "output_type"))]
    vb = _vector_bound(u)
    if vb is not None or isinstance(theta, Interval):
        if vb is None:
            raise TypeError(f"{fn}: with an Interval theta, give u as an Interval (or a pair).")
        Tu = _typed(u)
        if Tu is not None and _typed(theta) is not None and not table_is_double(types, name):
            D, _, G, Y = (pick_type(t, types, f"{name}.{s}", fn)
                          for t, s in zip(args, ("x", "z", "gain", "out"), strict=True))
            out = _vector_interval_fixed(u, vb[1], niters, name, scale_output, D, G, Y, r, o,
                                         fn)
        else:
            out = _vector_interval(vb[0], vb[1], _niters(niters, None, fn), name,
                                   scale_output)
        return typed_like_run(
            lambda t, v: cordic_rotate(t, v, niters, scale_output=scale_output,
                                       data_type=args[0], angle_type=args[1],
                                       gain_type=args[2], output_type=args[3], rounding=r,
                                       overflow=o, name=name, types=types),
            (theta, u), (out, out))
    kind, ure, uim = _as_pair(u, fn, "u")
    if isinstance(theta, fi) and kind == "fixed" and not table_is_double(types, name):
        D, A, G, Y = (pick_type(t, types, f"{name}.{s}", fn)
                      for t, s in zip(args, ("x", "z", "gain", "out"), strict=True))
        return _rotate_fixed(theta, ure, uim, niters, scale_output, D, A, G, Y, r, o, name)
    if isinstance(theta, fi) != (kind == "fixed") and not table_is_double(types, name):
        raise TypeError(f"{fn}: theta and u must both be fi (fixed point) or both be floats "
                        "(double); convert one of them.")
    if kind == "fixed":
        ure = ure.data + 1j * (0.0 if uim is None else uim.data)
    t = np.asarray(theta.data if isinstance(theta, fi) else theta, dtype=np.float64)
    tb, ub = np.broadcast_arrays(t, np.asarray(ure, dtype=np.complex128))
    n = _niters(niters, None, fn)
    z = np.array(tb, dtype=np.float64).ravel()
    _check_theta_range(z, fn)
    neg = _reduce_angle_f64(z)
    x = np.array(ub.real, dtype=np.float64).ravel()
    y = np.array(ub.imag, dtype=np.float64).ravel()
    _kc.rotate_f64(x, y, z, _atan_f64(n), n)
    probe(f"{name}.x", lambda: x.copy(), None, None, "double")
    probe(f"{name}.y", lambda: y.copy(), None, None, "double")
    v = np.where(neg, -1.0, 1.0) * (x + 1j * y)
    if scale_output:
        v = v / cordic_gain(n)
    return v.reshape(tb.shape)


def _rotate_fixed(theta: fi, ure: fi, uim: fi | None, niters, scale_output, D, A, G, Y, r, o,
                  name: str):
    fn = "cordic_rotate"
    Tt = theta.numerictype
    if not Tt.signed:
        raise ValueError(f"{fn}: a fixed-point theta must be signed (MATLAB), got {Tt}.")
    if theta.shape != ure.shape:
        raise ValueError(f"{fn}: theta (shape {theta.shape}) and u (shape {ure.shape}) must "
                         "have the same shape in fixed point.")
    Tu = ure.numerictype
    D = D or _signed_holding(Tu, 2)
    A = A or Tt
    _check_data(D, fn)
    _check_angle(A, fn)
    check_wrap_sm(D, o, "data", fn)
    n = _niters(niters, D.word_length, fn)
    _check_theta_range(np.ravel(theta.data), fn, Tt.eps)
    z = _cast_into(theta, A, r, o, f"{name}.in").copy()
    x = _cast_into(ure, D, r, o, f"{name}.in").copy()
    y = (np.zeros_like(x) if uim is None else _cast_into(uim, D, r, o, f"{name}.in").copy())
    cnt = np.zeros(2, dtype=np.int64)
    _kc.rotate_i64(x, y, z, _table(n, A.fraction_length), n, _row(D), int(o), cnt,
                   _quadrant(A.fraction_length))
    scale = 2.0 ** -D.fraction_length
    probe(f"{name}.x", lambda: x * scale, None, D, "fixed", int(cnt[0]))
    probe(f"{name}.y", lambda: y * scale, None, D, "fixed", int(cnt[1]))
    report(f"{name}.x", D, x.size * n, int(cnt[0]))
    report(f"{name}.y", D, y.size * n, int(cnt[1]))
    if scale_output:
        G = G or _default_gain_type(Tu.word_length)
        Y = Y or D
        _check_gain(D, G, Y, fn)
        g = int(quantize_proxies([inverse_gain_proxy(n, G.fraction_length)], G)[0])
        x = _gain_multiply(x, D, G, Y, g, r, o, name)
        y = _gain_multiply(y, D, G, Y, g, r, o, name)
    elif Y is not None and Y != D:
        x = np.asarray(named_cast(x, D, Y, r, o, f"{name}.out"), dtype=np.int64)
        y = np.asarray(named_cast(y, D, Y, r, o, f"{name}.out"), dtype=np.int64)
    else:
        Y = D
    return _fixed_result(x, Y, ure.shape), _fixed_result(y, Y, ure.shape)


def _check_gain(D: numerictype, G: numerictype, Y: numerictype, fn: str) -> None:
    if not G.signed or G.word_length > 62 or not 1 < Y.word_length <= 63:
        raise ValueError(f"{fn}: gain_type must be signed with at most 62 bits and "
                         f"output_type at most 63 bits wide (got {G} and {Y}).")


# -- vectoring mode ----------------------------------------------------------------------------
def _vector_fixed(yv: fi, xv: fi, niters, D, fn: str, name: str, r, o, Fz: int):
    """Quadrant correction and vectoring iterations; returns ``(x, y, z, n, cnt)``."""
    if xv.numerictype != yv.numerictype or xv.shape != yv.shape:
        raise TypeError(f"{fn}: x and y must be fi of one numerictype and shape (got "
                        f"{xv.numerictype} {xv.shape} and {yv.numerictype} {yv.shape}).")
    D = D or _signed_holding(xv.numerictype, 2)
    _check_data(D, fn)
    check_wrap_sm(D, o, "data", fn)
    n = _niters(niters, D.word_length, fn)
    x = _cast_into(xv, D, r, o, f"{name}.in").copy()
    y = _cast_into(yv, D, r, o, f"{name}.in").copy()
    z = np.zeros(x.shape, dtype=np.int64)
    cnt = np.zeros(2, dtype=np.int64)
    _kc.vector_i64(x, y, z, _table(n, Fz), n, _row(D), int(o), cnt,
                   _const_int(pi_proxy(Fz), Fz))
    return x, y, z, n, cnt, D


def _vector_f64(yv, xv, niters, fn: str):
    yb, xb = np.broadcast_arrays(np.asarray(yv, dtype=np.float64),
                                 np.asarray(xv, dtype=np.float64))
    if not (np.isfinite(yb).all() and np.isfinite(xb).all()):
        raise ValueError(f"{fn}: the inputs must be finite.")
    n = _niters(niters, None, fn)
    x = np.array(xb, dtype=np.float64).ravel()
    y = np.array(yb, dtype=np.float64).ravel()
    z = np.zeros(x.shape)
    left = x < 0
    z[left] = np.where(y[left] >= 0, math.pi, -math.pi)
    x[left] = -x[left]
    y[left] = -y[left]
    _kc.vector_f64(x, y, z, _atan_f64(n), n)
    return x, y, z, n, xb.shape


def cordic_atan2(y, x, niters: int | None = None, *, data_type: TypeLike = None,
                 angle_type: TypeLike = None, rounding: str | Rounding = "floor",
                 overflow: str | Overflow = "wrap", name: str = "cordic",
                 types: TypeTable | None = None):
    """Four-quadrant arctangent ``atan2(y, x)`` by CORDIC vectoring (MATLAB ``cordicatan2``).

    Parameters
    ----------
    y, x : fi or array_like
        Two fi of one numerictype (fixed point) or floats (double).
    niters : int, optional
        Default and maximum: the data word length minus one (fixed), 52 (double).
    data_type : optional
        Register type; default: the inputs' fraction length with 2 more integer bits (the
        vector grows by up to ``A_n sqrt(2) < 2.33``).
    angle_type : optional
        Type of the angle register, the ``atan(2**-i)`` table and the result. Default
        (MATLAB): signed, the inputs' word length, fraction length ``W - 3`` (holds pi).
    rounding, overflow, name, types
        As in :func:`cordic_sincos` (``"<name>.z"`` is the angle signal).

    Returns
    -------
    fi of *angle_type* (fixed), float64 (double).

    Notes
    -----
    Quadrant correction: when ``x < 0`` the vector is negated and the angle starts at ``pi``
    (``y >= 0``) or ``-pi`` (``y < 0``), pi rounded to nearest; then ``niters`` vectoring
    iterations drive ``y`` to 0 with ``d = +1`` when ``y < 0``. ``atan2(0, 0)`` is 0.
    """
    fn = "cordic_atan2"
    types = check_table(types, fn)
    r, o = block_modes(rounding, overflow, fn)
    data_type = as_type(data_type, "data_type", fn)
    angle_type = as_type(angle_type, "angle_type", fn)
    if isinstance(y, Interval) or isinstance(x, Interval):
        shape = (y if isinstance(y, Interval) else x).shape
        Tx = _typed(x) or _typed(y)
        b = math.pi + 1e-9
        if Tx is not None and not table_is_double(types, name):
            W = Tx.word_length
            A = pick_type(angle_type, types, f"{name}.z", fn) or numerictype(True, W, W - 3)
            D = pick_type(data_type, types, f"{name}.x", fn) or _signed_holding(Tx, 2)
            # a register holding D's minimum negates to itself under wrap
            wrap_min = o == Overflow.WRAP and any(
                isinstance(v, Interval) and float(np.min(v.lo)) <= float(D.min)
                for v in (x, y))
            b = _atan2_bound(A, _niters(niters, D.word_length, fn), wrap_min)
        report_range(f"{name}.z", -b, b)
        if Tx is not None and not table_is_double(types, name) and b > float(A.max):
            b = _dmax(A)  # the cast into the angle type overflows
        out = Interval(np.full(shape, -b), np.full(shape, b))
        return typed_like_run(
            lambda b, a: cordic_atan2(b, a, niters, data_type=data_type, angle_type=angle_type,
                                      rounding=r, overflow=o, name=name, types=types),
            (y, x), out)
    if isinstance(y, fi) and isinstance(x, fi) and not table_is_double(types, name):
        W = x.word_length
        A = pick_type(angle_type, types, f"{name}.z", fn) or numerictype(True, W, W - 3)
        _check_angle(A, fn)
        D = pick_type(data_type, types, f"{name}.x", fn)
        xs, ys, z, n, cnt, D = _vector_fixed(y, x, niters, D, fn, name, r, o, A.fraction_length)
        report(f"{name}.x", D, xs.size * n, int(cnt[0]))
        report(f"{name}.y", D, xs.size * n, int(cnt[1]))
        probe(f"{name}.z", lambda: z * 2.0 ** -A.fraction_length, None, A, "fixed")
        out = np.asarray(named_cast(z, A, A, r, o, f"{name}.z"), dtype=np.int64)
        return _fixed_result(out, A, x.shape)
    if isinstance(y, fi) != isinstance(x, fi) and not table_is_double(types, name):
        raise TypeError(f"{fn}: y and x must both be fi or both be floats.")
    yd = y.data if isinstance(y, fi) else y
    xd = x.data if isinstance(x, fi) else x
    _, _, z, _, shape = _vector_f64(yd, xd, niters, fn)
    probe(f"{name}.z", lambda: z.copy(), None, angle_type, "double")
    return z.reshape(shape)


def cordic_abs(u, niters: int | None = None, *, scale_output: bool = True,
               data_type: TypeLike = None, gain_type: TypeLike = None,
               output_type: TypeLike = None, rounding: str | Rounding = "floor",
               overflow: str | Overflow = "wrap", name: str = "cordic",
               types: TypeTable | None = None):
    """Magnitude ``|u|`` by CORDIC vectoring (MATLAB ``cordicabs``).

    Parameters
    ----------
    u : complex array_like, or a pair ``(re, im)`` of fi of one numerictype
    niters : int, optional
        Default and maximum: the data word length minus one (fixed), 52 (double).
    scale_output : bool
        Multiply the final ``x = A_n |u|`` by ``1/A_n`` (rounded to nearest into
        *gain_type*, product cast into *output_type* with *rounding*).
    data_type, gain_type, output_type : optional
        As in :func:`cordic_rotate`.
    rounding, overflow, name, types
        As in :func:`cordic_rotate`.

    Returns
    -------
    fi of *output_type* (fixed), float64 (double); for an Interval *u* (or a pair), the
    bound ``[-|u|max, |u|max]`` (``A_n`` times that without scaling).
    """
    fn = "cordic_abs"
    types = check_table(types, fn)
    r, o = block_modes(rounding, overflow, fn)
    args = [as_type(t, a, fn) for t, a in ((data_type, "data_type"), (gain_type, "gain_type"),
                                           (output_type, "output_type"))]
    vb = _vector_bound(u)
    if vb is not None:
        if _typed(u) is not None and not table_is_double(types, name):
            D, G, Y = (pick_type(t, types, f"{name}.{s}", fn)
                       for t, s in zip(args, ("x", "gain", "out"), strict=True))
            out = _vector_interval_fixed(u, vb[1], niters, name, scale_output, D, G, Y, r, o,
                                         fn)
        else:
            out = _vector_interval(vb[0], vb[1], _niters(niters, None, fn), name,
                                   scale_output)
        return typed_like_run(
            lambda v: cordic_abs(v, niters, scale_output=scale_output, data_type=args[0],
                                 gain_type=args[1], output_type=args[2], rounding=r,
                                 overflow=o, name=name, types=types),
            (u,), out)
    kind, ure, uim = _as_pair(u, fn, "u")
    if kind == "fixed" and not table_is_double(types, name):
        D, G, Y = (pick_type(t, types, f"{name}.{s}", fn)
                   for t, s in zip(args, ("x", "gain", "out"), strict=True))
        im = uim if uim is not None else make_fi(np.zeros(ure.shape, dtype=np.int64),
                                                 ure.numerictype)
        x, _, _, n, cnt, D = _vector_fixed(im, ure, niters, D, fn, name, r, o, 0)
        report(f"{name}.x", D, x.size * n, int(cnt[0]))
        report(f"{name}.y", D, x.size * n, int(cnt[1]))
        probe(f"{name}.x", lambda: x * 2.0 ** -D.fraction_length, None, D, "fixed",
              int(cnt[0]))
        if scale_output:
            G = G or _default_gain_type(ure.word_length)
            Y = Y or D
            _check_gain(D, G, Y, fn)
            g = int(quantize_proxies([inverse_gain_proxy(n, G.fraction_length)], G)[0])
            x = _gain_multiply(x, D, G, Y, g, r, o, name)
        elif Y is not None and Y != D:
            x = np.asarray(named_cast(x, D, Y, r, o, f"{name}.out"), dtype=np.int64)
        else:
            Y = D
        return _fixed_result(x, Y, ure.shape)
    if kind == "fixed":
        ure = ure.data + 1j * (0.0 if uim is None else uim.data)
    uc = np.asarray(ure, dtype=np.complex128)
    x, _, _, n, shape = _vector_f64(uc.imag, uc.real, niters, fn)
    probe(f"{name}.x", lambda: x.copy(), None, None, "double")
    if scale_output:
        x = x / cordic_gain(n)
    return x.reshape(shape)
