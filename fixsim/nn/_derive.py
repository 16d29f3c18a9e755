"""Static ranges of a network's signals by interval bound propagation.

:func:`derive_ranges` pushes an input box ``[lo, hi]`` through the layers and returns a sound
range for every signal fixed mode casts (``"input"``, ``"<layer>.acc"``, ``"<layer>.out"``),
reporting each one to the tool's range listeners (``fixsim._core._interval.report_range``), so
that an accumulator width can be proposed that provably cannot overflow.

Linear layers split the weights into positive and negative parts: ``acc_hi = hi W+ + lo W- +
b``, ``acc_lo = lo W+ + hi W- + b`` (exact bounds of an affine map over a box). Every float
operation a layer runs (products, sums, a division by a window count) is monotone in each
input, so over the box the float result lies between its values at the two corners; a bound
is therefore exact whenever the corner computation is exact in float64 (every corner value
and weight on a common power-of-two grid, every partial sum below ``2**53`` grid steps: true
in any summation order). Otherwise it is widened outward by ``(K + 2) 2^-52 (|lo| + |hi|)
|W| + |b| 2^-52`` plus the smallest subnormal (a bound on the error of a K-term float64 dot
product), never across zero when every term has one sign. Monotone activations map the end
points; pools and shape operators act on both bounds.

With a fixed-point :class:`fixsim.TypeTable` (``types=``, or ``fx.tool.derive(net, ..., T)``)
the analysis follows fixed mode: every named cast bounds its output the way the cast behaves
(the weights and biases are the table's quantized values; each ``.acc``/``.out`` cast rounds
and saturates or wraps its range), sigmoid/tanh/erf map their ends through the lookup table
(the table-defined values arrive at the ``.out`` cast, which quantizes them as its entries),
and average pools cast their exact quotient into the ``.out`` type.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._core._interval import Interval, report_range
from .._core._numerictype import numerictype
from . import _ops
from ._network import Network, _resolve_auto_pad, conv_params
from ._shapes import check_inputs, check_node

__all__ = ["derive_ranges"]

_U = 2.0 ** -52
_TINY = np.nextafter(0.0, 1.0)


def _widen(lo, hi, mag, k):
    err = (k + 2) * _U * mag + _TINY
    return lo - err, hi + err


def _grid_exp(*arrays) -> int | None:
    """The exponent ``e`` of the coarsest power-of-two grid ``2^e`` holding every nonzero
    value of *arrays* (None when all are zero; ``-inf``-like -10**6 for non-finite)."""
    es = []
    for a in arrays:
        v = np.abs(np.asarray(a, np.float64)).ravel()
        v = v[v != 0]
        if not v.size:
            continue
        if not np.all(np.isfinite(v)):
            return -10 ** 6
        m, e = np.frexp(v)
        M = (m * 2.0 ** 53).astype(np.int64)            # the exact 53-bit significand
        low = (M & -M).astype(np.float64)               # its lowest set bit
        es.append(int((e - 53 + np.frexp(low)[1] - 1).min()))
    return min(es) if es else None


def _prod_exp(a, w) -> int | None:
    """The grid exponent of the products of *a* and *w* (None when either is all zero)."""
    ea, ew = _grid_exp(a), _grid_exp(w)
    return None if ea is None or ew is None else ea + ew


def _min_exp(*es) -> int | None:
    """The finest of the grid exponents *es* (None entries: no terms)."""
    es = [e for e in es if e is not None]
    return min(es) if es else None


def _exact_mask(mag, e: int | None, k: int) -> np.ndarray:
    """Where a float computation whose terms lie on the grid ``2^e`` and whose partial sums
    are bounded by *mag* (computed in float, so with a relative margin) is exact."""
    mag = np.asarray(mag, np.float64)
    if e is None:
        return np.ones(mag.shape, bool)
    if e < -1074:
        return np.zeros(mag.shape, bool)
    with np.errstate(over="ignore"):
        return mag * (1.0 + (k + 4) * _U) < 2.0 ** min(e + 53, 1023)


def _sign_clamp(lo, hi, lo_w, hi_w, nonneg, nonpos):
    """Widened bounds, but never across zero where every term is >= 0 (or <= 0)."""
    lo_w = np.where(nonneg, np.maximum(lo_w, 0.0), lo_w)
    hi_w = np.where(nonpos, np.minimum(hi_w, 0.0), hi_w)
    return lo_w, hi_w


def _linear(lo, hi, wl, wh, bl, bh, k, fn, allow_exact=True):
    """Bounds of ``fn(x, w) + b`` over the box ``x in [lo, hi]``, ``w in [wl, wh]``, ``b in
    [bl, bh]`` for a bilinear *fn* (matmul or conv), containing every float64 evaluation
    (any summation order) and the exact value."""
    point = bool(np.array_equal(wl, wh))
    w = wl
    wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
    lo2 = fn(lo, wp) + fn(hi, wn)
    hi2 = fn(hi, wp) + fn(lo, wn)
    if point:
        mag = fn(np.abs(lo) + np.abs(hi), np.abs(w))
        neg = fn((lo < 0).astype(np.float64), (w > 0).astype(np.float64)) \
            + fn((hi > 0).astype(np.float64), (w < 0).astype(np.float64))
        pos = fn((hi > 0).astype(np.float64), (w > 0).astype(np.float64)) \
            + fn((lo < 0).astype(np.float64), (w < 0).astype(np.float64))
    else:
        # w = wl + d, d in [0, wh - wl] (rounded up): x d in [min(x, 0) d, max(x, 0) d]
        d = np.nextafter(wh - wl, np.inf) * (wh > wl)
        lo2 = lo2 + fn(np.minimum(lo, 0.0), d)
        hi2 = hi2 + fn(np.maximum(hi, 0.0), d)
        mag = fn(np.abs(lo) + np.abs(hi), np.abs(w) + d)
        neg = pos = np.ones_like(mag)
        allow_exact = False
    # each bound is the float evaluation at its own corner (float products and sums are
    # monotone in every term), so each is widened by the magnitude of its own corner's terms
    # and is exact when they are (regression: a conv whose low corner, -0.5 * 16, is exact but
    # whose other weights are not dyadic derived -8.000000000000036 and lost a bit)
    if point:
        mag_lo = fn(np.abs(lo), wp) + fn(np.abs(hi), -wn)
        mag_hi = fn(np.abs(hi), wp) + fn(np.abs(lo), -wn)
        corners = (((lo, wp), (hi, wn)), ((hi, wp), (lo, wn)))
    else:
        mag_lo = mag_hi = mag
        corners = None
    if bl is not None:
        lo2, hi2 = lo2 + bl, hi2 + bh
        mb = np.maximum(np.abs(bl), np.abs(bh))
        mag, mag_lo, mag_hi = mag + mb, mag_lo + mb, mag_hi + mb
        if not np.array_equal(bl, bh):
            allow_exact = False
    lo_w, hi_w = _widen(lo2, hi2, mag, k)
    if point:
        lo_w, hi_w = _widen(lo2, lo2, mag_lo, k)[0], _widen(hi2, hi2, mag_hi, k)[1]
    if allow_exact:
        eb = _grid_exp(bl) if bl is not None else None
        if corners is None:
            ex, ew = _grid_exp(lo, hi), _grid_exp(w)
            pairs = [None if ex is None or ew is None else ex + ew]
            e_lo = e_hi = _min_exp(*pairs, eb)
            m_lo = m_hi = mag
        else:
            e_lo, e_hi = (_min_exp(*(_prod_exp(a, b) for a, b in c), eb) for c in corners)
            m_lo, m_hi = mag_lo, mag_hi
        lo_w = np.where(_exact_mask(m_lo, e_lo, k), lo2, lo_w)
        hi_w = np.where(_exact_mask(m_hi, e_hi, k), hi2, hi_w)
    bnn = True if bl is None else bl >= 0
    bnp = True if bl is None else bh <= 0
    return _sign_clamp(lo2, hi2, lo_w, hi_w, (neg == 0) & bnn, (pos == 0) & bnp)


def _sum_bounds(lo, hi, fn, k):
    """Bounds of a float sum ``fn`` (a window or axis sum of *k* terms) over the box: exact
    when the corner sums are, else widened (never across zero for one-signed terms)."""
    sl, sh = fn(lo), fn(hi)
    mag = fn(np.maximum(np.abs(lo), np.abs(hi)))
    lo_w, hi_w = _widen(sl, sh, mag, k)
    exact = _exact_mask(mag, _grid_exp(lo, hi), k)
    lo_w, hi_w = np.where(exact, sl, lo_w), np.where(exact, sh, hi_w)
    return _sign_clamp(sl, sh, lo_w, hi_w, fn((lo < 0).astype(np.float64)) == 0,
                       fn((hi > 0).astype(np.float64)) == 0)


def _leaky_bounds(xl, xh, a_lo, a_hi):
    """Bounds of LeakyRelu ``x >= 0 ? x : alpha x`` over ``x in [xl, xh]``, ``alpha in
    [a_lo, a_hi]`` of either sign (a negative slope is not monotone in x): the hull of the
    pieces that the box reaches, ``[max(xl, 0), xh]`` where ``xh >= 0`` and the corner
    products of ``[xl, min(xh, 0)] x [a_lo, a_hi]`` where ``xl < 0`` (a float product is
    monotone in each factor, so its corner values bound it)."""
    nl, nh = xl, np.minimum(xh, 0.0)
    cands = (nl * a_lo, nl * a_hi, nh * a_lo, nh * a_hi)
    neg = xl < 0
    pos = xh >= 0
    yl = np.minimum(np.where(neg, np.minimum.reduce(cands), np.inf),
                    np.where(pos, np.maximum(xl, 0.0), np.inf))
    yh = np.maximum(np.where(neg, np.maximum.reduce(cands), -np.inf),
                    np.where(pos, xh, -np.inf))
    return yl, yh


def _box_matmul(al, ah, bl, bh):
    """Bounds of ``a @ b`` (numpy's matmul, stacks broadcast) for ``a in [al, ah]``, ``b in
    [bl, bh]``, containing the exact product and every float64 evaluation (any summation
    order): per term the smallest and largest corner product, summed, widened by the float
    error bound of a K-term dot product of the largest magnitudes."""
    A = (al[..., :, :, None], ah[..., :, :, None])
    B = (bl[..., None, :, :], bh[..., None, :, :])
    cands = [p * q for p in A for q in B]
    k = al.shape[-1]
    tl = np.minimum.reduce(cands).sum(axis=-2)
    th = np.maximum.reduce(cands).sum(axis=-2)
    mag = np.maximum.reduce([np.abs(c) for c in cands]).sum(axis=-2)
    return _widen(tl, th, mag, k)


def _product_bounds(al, ah, bl, bh):
    """Bounds of the float product ``a * b`` over the boxes ``a in [al, ah]``, ``b in
    [bl, bh]`` (broadcast): the extreme corner products (a float product is monotone in
    each factor), exact when the operands' grids allow it (:func:`_binary_bounds`)."""
    cands = (al * bl, al * bh, ah * bl, ah * bh)
    ea, eb = _grid_exp(al, ah), _grid_exp(bl, bh)
    return _binary_bounds(np.minimum.reduce(cands), np.maximum.reduce(cands),
                          None if ea is None or eb is None else ea + eb, 1)


def _binary_bounds(yl, yh, e, k):
    """Bounds of a float add/multiply of bounded operands given its corner values *yl*,
    *yh*: exact when every operand (for a product, the result) is on the grid ``2^e`` and
    the result stays below 2**53 grid steps."""
    mag = np.abs(yl) + np.abs(yh)
    lo_w, hi_w = _widen(yl, yh, mag, k)
    exact = _exact_mask(mag, e, k)
    lo_w, hi_w = np.where(exact, yl, lo_w), np.where(exact, yh, hi_w)
    return _sign_clamp(yl, yh, lo_w, hi_w, yl >= 0, yh <= 0)


def _log_softmax_bounds(xl, xh, axis):
    """Bounds of LogSoftmax ``y_i = -log(1 + sum_{j != i} exp(x_j - x_i))`` over the box: it
    increases with ``x_i`` and decreases with every other ``x_j``, so its extremes are at
    ``(x_i, x_j) = (lo_i, hi_j)`` and ``(hi_i, lo_j)`` (tight), widened by a bound of the float
    run's error (``(x - max) - log(sum(exp(x - max)))``: ``K + 8`` units in the last place of
    the magnitudes involved) and never above 0."""
    al, ah = np.moveaxis(xl, axis, -1), np.moveaxis(xh, axis, -1)
    K = al.shape[-1]
    eye = np.eye(K, dtype=bool)

    def nlse(A):
        A = np.where(eye, -np.inf, A)
        m = np.maximum(np.max(A, axis=-1), 0.0)
        return -(m + np.log(np.exp(-m) + np.sum(np.exp(A - m[..., None]), axis=-1)))

    lo = nlse(ah[..., None, :] - al[..., :, None])
    hi = nlse(al[..., None, :] - ah[..., :, None])
    mag = np.max(np.maximum(np.abs(al), np.abs(ah)), axis=-1, keepdims=True)
    err = (K + 8) * _U * (4 * mag + np.abs(lo) + 2) + _TINY
    lo, hi = lo - err, np.minimum(hi + err, 0.0)
    return np.moveaxis(lo, -1, axis), np.moveaxis(hi, -1, axis)


def derive_ranges(net: Network, lo, hi=None, *, shape=None, types=None,
                  lut=None) -> dict[str, tuple[float, float]]:
    """Sound ranges of every fixed-mode signal of *net* for inputs in ``[lo, hi]``.

    Parameters
    ----------
    net : Network
        A float network (single input).
    lo, hi : array_like or float
        Input bounds, elementwise, broadcast to *shape*. With *hi* omitted, *lo* is an
        ``fx.tool.Interval``.
    shape : tuple of int, optional
        The input shape including a batch axis (for example ``(1, 64)`` or ``(1, 1, 8, 8)``);
        default the bounds' own shape. It must be a shape the network accepts.
    types : TypeTable, optional
        A fixed-point table: the ranges of the fixed run (quantized weights, rounded and
        saturated casts, lookup tables); default the double run's.
    lut : LookupTable or dict, optional
        Fixed mode's sigmoid/tanh/erf lookup table (as ``net(x, types=T, lut=...)``).

    Returns
    -------
    dict
        Signal name to ``(lo, hi)`` (floats), for every signal fixed mode casts (weights and
        biases: their own range). The ranges are also reported to active range listeners.

    Raises
    ------
    ValueError
        An input shape the network does not accept (naming the input or layer, the shape
        given and the shape expected); an operator without an interval rule (a MatMul of
        two activations), with its node.
    """
    return _derive(net, lo, hi, shape, types, lut)[0]


class _Casts:
    """The named casts of the analysis: report the arriving range, return the cast's output
    range (rounded and saturated under a fixed table), and remember each signal's type."""

    def __init__(self, net, T, out):
        self.net, self.T, self.out = net, T, out

    def fixed_type(self, name):
        """The numerictype a cast to *name* produces a fi of (None: a float result)."""
        T = self.T
        if T is None or name not in T or name in T.overrides:
            return None
        t = T.type_of(name)
        return t if isinstance(t, numerictype) else None

    def __call__(self, name, lo, hi, table=None):
        lo, hi = np.broadcast_arrays(np.asarray(lo, np.float64), np.asarray(hi, np.float64))
        if lo.size:
            r = (float(np.min(lo)), float(np.max(hi)))
            prev = self.out.get(name)
            self.out[name] = r if prev is None else (min(prev[0], r[0]), max(prev[1], r[1]))
        if self.T is None:
            if lo.size:
                report_range(name, *self.out[name])
            return lo, hi
        iv = (self.T if table is None else table).cast(name, Interval(lo, hi))
        return (np.broadcast_to(iv.lo, lo.shape).astype(np.float64),
                np.broadcast_to(iv.hi, lo.shape).astype(np.float64))


def _lut_bounds(op, lut, xl, xh):
    """The values fixed mode's sigmoid/tanh/erf table is defined by (the function at the cell
    centres, which arrive at the ``.out`` cast) read at the two end points (monotone)."""
    from ._fixed import _fn
    vals = _fn(op)(lut.centres())
    return vals[lut.index(xl)], vals[lut.index(xh)]


def _down(q: Fraction) -> float:
    """The largest float <= *q*."""
    f = float(q)
    return float(np.nextafter(f, -np.inf)) if Fraction(f) > q else f


def _up(q: Fraction) -> float:
    """The smallest float >= *q*."""
    f = float(q)
    return float(np.nextafter(f, np.inf)) if Fraction(f) < q else f


def _quotient_bounds(sl, sh, cnt):
    """The exact quotients ``s / cnt`` over ``s in [sl, sh]``, rounded outward to float64:
    the values arriving at a fixed-mode average pool's ``.out`` cast (which rounds and
    saturates them as any cast does)."""
    cnt = np.broadcast_to(cnt, np.shape(sl))
    lo = np.empty(np.shape(sl), np.float64)
    hi = np.empty(np.shape(sh), np.float64)
    cache: dict = {}
    for idx, (a, b, c) in enumerate(zip(np.ravel(sl), np.ravel(sh), np.ravel(cnt),
                                        strict=True)):
        key = (float(a), float(b), int(c))
        if key not in cache:
            cache[key] = (_down(Fraction(key[0]) / key[2]), _up(Fraction(key[1]) / key[2]))
        lo.flat[idx], hi.flat[idx] = cache[key]
    return lo, hi


def _derive(net: Network, lo, hi=None, shape=None, types=None, lut=None):
    """:func:`derive_ranges`, also returning the output's bounds."""
    if net.quantized:
        raise ValueError(f"derive_ranges: network {net.name!r} is quantized; derive the float "
                         "network's ranges.")
    if len(net.inputs) != 1:
        raise ValueError(f"derive_ranges: network {net.name!r} has inputs {net.inputs}; "
                         "interval analysis runs single-input networks.")
    if types is not None:
        from .._core._typetable import TypeTable
        from ._fixed import signal_names
        if not isinstance(types, TypeTable):
            raise TypeError(f"derive_ranges: types must be a fixsim.TypeTable, got "
                            f"{type(types).__name__}.")
        missing = [s for s in signal_names(net) if s not in types]
        if missing:
            raise ValueError(f"derive_ranges: the type table has no entry for "
                             f"{missing[:8]}{' ...' if len(missing) > 8 else ''}; start from "
                             "net.type_table() to name every signal.")
    from ._fixed import LookupTable
    if lut is None:
        lut = LookupTable()
    elif isinstance(lut, dict):
        lut = LookupTable(**lut)
    elif not isinstance(lut, LookupTable):
        raise TypeError(f"derive_ranges: lut must be a LookupTable or a dict, got "
                        f"{type(lut).__name__}.")
    if hi is None:
        lo, hi = np.asarray(lo.lo, np.float64), np.asarray(lo.hi, np.float64)
    lo = np.asarray(lo, np.float64)
    hi = np.asarray(hi, np.float64)
    if shape is not None:
        try:
            lo, hi = np.broadcast_to(lo, shape), np.broadcast_to(hi, shape)
        except ValueError:
            raise ValueError(f"derive_ranges: the input bounds of shapes {lo.shape} and "
                             f"{hi.shape} do not broadcast to shape={tuple(shape)}.") from None
    else:
        lo, hi = np.broadcast_arrays(lo, hi)
    if lo.ndim < 2:
        raise ValueError(f"derive_ranges: the input bounds need a batch axis (got shape "
                         f"{lo.shape}); pass shape=, e.g. (1, 64).")
    bad = np.isnan(lo) | np.isnan(hi) | (lo > hi)
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        at = f" at index {i}" if lo.size > 1 else ""
        raise ValueError(f"derive_ranges: the input bounds lo={float(lo[i])!r}, "
                         f"hi={float(hi[i])!r}{at} are not valid; valid: lo <= hi (no NaN).")
    check_inputs(net, {net.inputs[0]: lo.shape}, "derive_ranges")
    out: dict[str, tuple[float, float]] = {}
    cast = _Casts(net, types, out)

    def const(name, c):
        c = np.asarray(c, np.float64)
        return cast(name, c, c)

    env = {net.inputs[0]: cast("input", lo, hi)}
    ftype = {net.inputs[0]: cast.fixed_type("input")}
    P = net.params
    # constants computed from constants (an Identity, Reshape, ... of an initializer): the
    # runs read them as values (not parameters: no .weight/.bias signal), so they stand in
    # env as the point interval (c, c) and here for the layers that read constant inputs
    C: dict[str, np.ndarray] = {}

    def pv(name):
        return P[name] if name in P else C[name]

    def pget(name):
        return pv(name) if name and (name in P or name in C) else None
    for n in net.nodes:
        a = n.attrs
        ins = [env.get(i) for i in n.inputs]
        check_node(net, n, [None if not i else env[i][0].shape if i in env else
                            np.shape(P[i]) if i in P else None for i in n.inputs])
        L = n.name
        xl, xh = ins[0] if ins[0] is not None else (None, None)
        tin = ftype.get(n.inputs[0]) if n.inputs else None
        tout = cast.fixed_type(f"{L}.out")
        if (n.op == "MatMul" and n.inputs[1] in P) or (n.op == "Gemm" and (
                n.inputs[1] in P or n.inputs[1] in C)):
            w = np.asarray(pv(n.inputs[1]), np.float64)
            alpha = 1.0
            if n.op == "Gemm":
                if a.get("transA", 0):  # A (K, M): the bounds of A^T
                    if types is not None:  # as the run with types= (regression: derived)
                        raise ValueError(f"derive_ranges: node {L!r}: Gemm with transA=1 "
                                         "has no fixed-point form (a run with types= "
                                         "refuses it); derive it without a type table.")
                    xl, xh = np.atleast_2d(xl).T, np.atleast_2d(xh).T
                alpha = a.get("alpha", 1.0)
                w = (w.T if a.get("transB", 0) else w) * alpha
            b = np.asarray(pv(n.inputs[2]), np.float64) * a.get("beta", 1.0) \
                if n.op == "Gemm" and len(n.inputs) > 2 and n.inputs[2] else None
            wl, wh = const(f"{L}.weight", w)
            bl, bh = const(f"{L}.bias", b) if b is not None else (None, None)
            yl, yh = _linear(np.atleast_2d(xl), np.atleast_2d(xh), wl, wh, bl, bh,
                             w.shape[0], lambda p, q: p @ q, allow_exact=alpha == 1.0)
            yl, yh = cast(f"{L}.out", *cast(f"{L}.acc", yl, yh))
        elif n.op == "Conv":
            w = np.asarray(pv(n.inputs[1]), np.float64)
            b = np.asarray(pv(n.inputs[2]), np.float64).reshape(1, -1, *([1] * (w.ndim - 2))) \
                if len(n.inputs) > 2 and n.inputs[2] else None
            kernel = list(w.shape[2:])
            strides, dil, pads, auto = conv_params(n, xl.ndim, kernel)
            pads = _resolve_auto_pad(auto, xl.shape[2:], kernel, strides, dil, pads)
            g = int(a.get("group", 1))

            def cv(p, q, g=g, strides=strides, dil=dil, pads=pads):
                return _ops.conv(p, q, g, strides, dil, pads)
            wl, wh = const(f"{L}.weight", w)
            bl, bh = const(f"{L}.bias", b) if b is not None else (None, None)
            yl, yh = _linear(xl, xh, wl, wh, bl, bh, int(np.prod(w.shape[1:])), cv)
            yl, yh = cast(f"{L}.out", *cast(f"{L}.acc", yl, yh))
        elif n.op in ("Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Erf"):
            table = None
            if n.op == "Relu":
                yl, yh = np.maximum(xl, 0.0), np.maximum(xh, 0.0)
            elif n.op == "Clip":
                lo_c = float(np.asarray(pv(n.inputs[1]))) if len(n.inputs) > 1 \
                    and n.inputs[1] else a.get("min", -np.inf)
                hi_c = float(np.asarray(pv(n.inputs[2]))) if len(n.inputs) > 2 \
                    and n.inputs[2] else a.get("max", np.inf)
                yl, yh = np.clip(xl, lo_c, hi_c), np.clip(xh, lo_c, hi_c)
            elif n.op == "LeakyRelu":
                al = float(a.get("alpha", 0.01))
                q_lo, q_hi = const(f"{L}.weight", al)
                a_lo, a_hi = float(np.min(q_lo)), float(np.max(q_hi))
                yl, yh = _leaky_bounds(xl, xh, a_lo, a_hi)
            elif tin is not None and tout is not None:
                # the table-defined values arrive; the cast quantizes them as the table's
                # entries are (nearest, saturate), as the run does
                from ._fixed import _lut_cast_table
                yl, yh = _lut_bounds(n.op, lut, xl, xh)
                table = _lut_cast_table(types, f"{L}.out", tout)
            else:
                if n.op == "Sigmoid":
                    yl, yh = 1.0 / (1.0 + np.exp(-xl)), 1.0 / (1.0 + np.exp(-xh))
                    lim = (0.0, 1.0)
                elif n.op == "Erf":
                    from scipy.special import erf
                    yl, yh = erf(xl), erf(xh)
                    lim = (-1.0, 1.0)
                else:
                    yl, yh = np.tanh(xl), np.tanh(xh)
                    lim = (-1.0, 1.0)
                # library functions: widen by an ulp or two, within the function's range
                # and never across zero (both keep the sign a float result has)
                yl2 = np.maximum(yl - 4 * _U * np.abs(yl) - _TINY, lim[0])
                yh2 = np.minimum(yh + 4 * _U * np.abs(yh) + _TINY, lim[1])
                yl = np.where(yl >= 0, np.maximum(yl2, 0.0), yl2)
                yh = np.where(yh <= 0, np.minimum(yh2, 0.0), yh2)
            yl, yh = cast(f"{L}.out", yl, yh, table=table)
        elif n.op == "MaxPool":
            from ._network import _pool_params
            kernel, strides, dil, pads = _pool_params(n, xl)
            yl = _ops.max_pool(xl, kernel, strides, dil, pads)
            yh = _ops.max_pool(xh, kernel, strides, dil, pads)
            tout = tin
        elif n.op in ("AveragePool", "GlobalAveragePool"):
            if n.op == "AveragePool":
                from ._network import _pool_params
                kernel, strides, _, pads, extra = _pool_params(n, xl, with_extra=True)
                inc = bool(a.get("count_include_pad", 0))

                def wsum(v, kernel=kernel, strides=strides, pads=pads, inc=inc):
                    return _ops.avg_pool(v, kernel, strides, pads, inc)[0]
                c = _ops.avg_pool(np.zeros((1, 1) + xl.shape[2:]), kernel, strides, pads,
                                  inc, extra)[1]
                k = int(np.prod(kernel))
            else:
                ax = tuple(range(2, xl.ndim))

                def wsum(v, ax=ax):
                    return v.sum(axis=ax, keepdims=True)
                k = int(np.prod(xl.shape[2:]))
                c = np.array(k)
            sl, sh = _sum_bounds(xl, xh, wsum, k)
            if tin is not None and tout is not None:
                yl, yh = _quotient_bounds(sl, sh, c)
            else:
                yl, yh = sl / c, sh / c      # correctly rounded division: monotone
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op in ("Flatten", "Reshape", "Transpose", "Identity", "Dropout"):
            from ._network import _FLOAT_OPS
            fn = _FLOAT_OPS[n.op]
            rest = [pget(i) for i in n.inputs[1:]]
            if ins[0] is None and pget(n.inputs[0]) is not None:
                # a constant's Identity (Reshape, ...) is a constant (regression: the
                # exporter's Identity of an initializer gave a None interval)
                c = np.asarray(fn(n, [np.asarray(pget(n.inputs[0]))] + rest, a))
                C[n.outputs[0]] = c
                yl = yh = np.asarray(c, np.float64)
            else:
                yl = fn(n, [xl] + rest, a)
                yh = fn(n, [xh] + rest, a)
            tout = tin
        elif n.op == "Concat":
            ax = a.get("axis", 1)
            parts = [i if i is not None else (pv(nm), pv(nm))
                     for i, nm in zip(ins, n.inputs, strict=True)]
            yl = np.concatenate([p[0] for p in parts], axis=ax)
            yh = np.concatenate([p[1] for p in parts], axis=ax)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op in ("Add", "Mul") and any(i in P for i in n.inputs):
            k = 1 if n.inputs[1] in P else 0
            c = np.asarray(P[n.inputs[k]], np.float64)
            cl, ch = const(f"{L}.{'bias' if n.op == 'Add' else 'weight'}", c)
            sl, sh = ins[1 - k]
            if n.op == "Add":
                yl, yh = _binary_bounds(sl + cl, sh + ch, _grid_exp(sl, sh, cl, ch), 1)
            else:
                yl, yh = _product_bounds(sl, sh, cl, ch)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op == "Add":
            (al, ah), (bl, bh) = ins[0], ins[1]
            yl, yh = _binary_bounds(al + bl, ah + bh, _grid_exp(al, ah, bl, bh), 1)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op == "Mul":
            # two activations (x * sigmoid(x), a gate): the product of the boxes is extreme
            # at a corner, and a float product is monotone in each factor, so the float
            # corner products bound every float product (regression: derive refused it)
            (al, ah), (bl, bh) = ins[0], ins[1]
            yl, yh = cast(f"{L}.out", *_product_bounds(al, ah, bl, bh))
        elif n.op == "MatMul":
            # two activations (an attention-like x @ y): per term the corner products, summed
            # (regression: derive refused it)
            (al, ah), (bl, bh) = (i if i is not None else (np.asarray(P[nm], np.float64),) * 2
                                  for i, nm in zip(ins[:2], n.inputs[:2], strict=True))
            if al.ndim < 2 or bl.ndim < 2:
                raise ValueError(f"derive_ranges: node {L!r}: MatMul of two activations "
                                 f"needs operands of 2 or more dimensions, got shapes "
                                 f"{al.shape} and {bl.shape}.")
            yl, yh = _box_matmul(al, ah, bl, bh)
            yl, yh = cast(f"{L}.out", *cast(f"{L}.acc", yl, yh))
        elif n.op == "BatchNormalization":
            g, bb, m, v = (np.asarray(pv(i), np.float64) for i in n.inputs[1:5])
            s = g / np.sqrt(v + a.get("epsilon", 1e-5))
            shp = (1, -1) + (1,) * (xl.ndim - 2)
            s, c = s.reshape(shp), (bb - m * s).reshape(shp)
            s_lo, s_hi = const(f"{L}.weight", s)
            c_lo, c_hi = const(f"{L}.bias", c)
            cands = (xl * s_lo, xl * s_hi, xh * s_lo, xh * s_hi)
            mag = np.maximum.reduce([np.abs(t) for t in cands])
            yl, yh = _widen(np.minimum.reduce(cands) + c_lo, np.maximum.reduce(cands) + c_hi,
                            2 * mag + np.maximum(np.abs(c_lo), np.abs(c_hi)), 8)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op == "Sub":
            # the constant operand (either side) is cast to .bias, as the run does
            if n.inputs[1] in P:
                (al, ah), (bl, bh) = ins[0], const(f"{L}.bias", P[n.inputs[1]])
            elif n.inputs[0] in P:
                (al, ah), (bl, bh) = const(f"{L}.bias", P[n.inputs[0]]), ins[1]
            else:
                (al, ah), (bl, bh) = ins[0], ins[1]
            yl, yh = _binary_bounds(al - bh, ah - bl, _grid_exp(al, ah, bl, bh), 1)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op == "Div":
            if n.inputs[1] not in P:
                raise ValueError(f"derive_ranges: node {L!r}: Div by {n.inputs[1]!r}, which "
                                 "is not a constant, has no interval rule (unbounded where "
                                 "the divisor's range holds 0); only a constant divisor is "
                                 "analysed.")
            c = np.asarray(P[n.inputs[1]], np.float64)
            if np.any(c == 0):
                raise ValueError(f"derive_ranges: node {L!r}: Div by the constant "
                                 f"{n.inputs[1]!r}, which holds 0: unbounded.")
            wl, wh = const(f"{L}.weight", 1.0 / c)
            if cast.fixed_type(f"{L}.weight") is not None:
                # times the quantized reciprocal (exact, or a float product: monotone)
                yl, yh = _product_bounds(xl, xh, wl, wh)
            else:
                # the run's own division: correctly rounded, so monotone in x
                q1, q2 = xl / c, xh / c
                yl, yh = np.minimum(q1, q2), np.maximum(q1, q2)
            yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op in ("HardSigmoid", "HardSwish"):
            from ._network import hard_params
            al_, be_ = hard_params(n)
            wl, wh = const(f"{L}.weight", al_)
            cl, ch = const(f"{L}.bias", be_)
            pl, ph = _product_bounds(xl, xh, wl, wh)
            hl, hh = _binary_bounds(pl + cl, ph + ch, _grid_exp(pl, ph, cl, ch), 1)
            hl, hh = np.clip(hl, 0.0, 1.0), np.clip(hh, 0.0, 1.0)
            if n.op == "HardSwish":
                # x times its gate: the corner products bound it (sound, not tight: the
                # minimum of x h(x) lies inside the box)
                hl, hh = _product_bounds(xl, xh, hl, hh)
            yl, yh = cast(f"{L}.out", hl, hh)
        elif n.op in ("ReduceMean", "ReduceSum"):
            from ._network import reduce_axes
            axes = reduce_axes(n, [None] + [pget(i) for i in n.inputs[1:]], xl.ndim)
            if axes is None:
                yl, yh = cast(f"{L}.out", xl, xh)
            else:
                keep = bool(a.get("keepdims", 1))
                k = int(np.prod([xl.shape[i] for i in axes], dtype=np.int64))
                if k == 0 and n.op == "ReduceMean":
                    raise ValueError(f"derive_ranges: node {L!r} (ReduceMean): the mean "
                                     f"over axes {axes} of shape {xl.shape} has no elements.")

                def rsum(v, axes=axes, keep=keep):
                    return v.sum(axis=axes, keepdims=keep)
                sl, sh = _sum_bounds(xl, xh, rsum, max(k, 1))
                if n.op == "ReduceSum":
                    yl, yh = sl, sh  # (exact in fixed point; the float sum's error widened)
                elif tin is not None and tout is not None:
                    yl, yh = _quotient_bounds(sl, sh, np.array(k))
                else:
                    yl, yh = sl / k, sh / k
                yl, yh = cast(f"{L}.out", yl, yh)
        elif n.op in ("ReduceMax", "ReduceMin"):
            # the largest (smallest) of values in boxes lies between the largest (smallest)
            # lower and upper bounds: monotone in every element, exact
            from ._network import check_extremum_axes, reduce_axes
            axes = reduce_axes(n, [None] + [pget(i) for i in n.inputs[1:]], xl.ndim)
            if axes is None:
                yl, yh = xl, xh
            else:
                check_extremum_axes(n, xl.shape, axes)
                fn = np.max if n.op == "ReduceMax" else np.min
                keep = bool(a.get("keepdims", 1))
                yl, yh = fn(xl, axis=axes, keepdims=keep), fn(xh, axis=axes, keepdims=keep)
            tout = tin
        elif n.op == "Softmax":
            yl, yh = cast(f"{L}.out", np.zeros_like(xl), np.ones_like(xh))
        elif n.op == "LogSoftmax":
            yl, yh = cast(f"{L}.out", *_log_softmax_bounds(xl, xh, a.get("axis", -1)))
        else:
            raise ValueError(f"derive_ranges: node {L!r}: operator {n.op!r} has no interval "
                             "rule.")
        env[n.outputs[0]] = (yl, yh)
        ftype[n.outputs[0]] = tout
    return out, env[net.outputs[0]]
