"""``sosfilt`` and ``lfilter``: scipy.signal's IIR filters, also on Intervals.

Algorithms written with type-table casts often filter with ``scipy.signal.sosfilt`` or
``lfilter``. scipy converts its input to an array, so it cannot run on the :class:`Interval`
values that static range analysis (``fx.tool.derive``) passes through an algorithm. These two
functions are drop-in replacements: on arrays (and ``fi``, as their float values) they *are*
scipy's (the same call, the same float64 result), and on an Interval they return the
guaranteed output range, bounded by the l1 norm of the impulse response (the bound DESIGN
§1.2 asks feedback loops to supply, the one :class:`SOSFilter` uses).

The bound: for inputs in ``[lo, hi]`` since the filter started from rest,
``y[n] = sum_k h[k] x[n-k]`` lies in ``[sum_k min(h[k] lo, h[k] hi), sum_k max(...)]`` over
the terms so far, and the hull over all ``n`` (prefix sums and the infinite sum with a
rigorous tail bound) holds at every sample of every frame. With a state (``zi``) the input
range is the hull of every frame's range so far, kept in the returned state. A numeric
initial state adds its zero-input response, which is computed (it is linear) and carried in
the returned state to the next frame. An unstable filter gives an unbounded range with the
reason.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as _sps

from .._core._interval import Interval
from ._biquad import _MARGIN, _range_from

__all__ = ["sosfilt", "lfilter", "IIRState"]


class IIRState(Interval):
    """The filter state that :func:`sosfilt` and :func:`lfilter` return for an Interval frame.

    Pass it back as ``zi`` with the next frame, as with scipy. Its bounds are ``[-inf, inf]``
    (the state itself is not bounded here; the outputs are); it carries the hull of the input
    ranges seen so far (:attr:`input_range`) and the numeric state of the zero-input response
    of a numeric initial state, if one was given.
    """

    input_range: tuple[float, float]
    zir_state: np.ndarray | None
    kind: str

    @classmethod
    def _new(cls, shape, input_range, zir_state, kind: str) -> IIRState:
        self = cls._raw(np.full(shape, -np.inf), np.full(shape, np.inf),
                        "an IIR filter's state (pass it back as zi; its outputs are bounded)")
        self.input_range = input_range
        self.zir_state = zir_state
        self.kind = kind
        return self


def _as_sos(sos, where: str) -> np.ndarray:
    s = np.atleast_2d(np.asarray(sos, dtype=np.float64))
    if s.ndim != 2 or s.shape[1] != 6:
        raise ValueError(f"{where}: sos must have shape (n_sections, 6), got {s.shape}.")
    if not np.all(s[:, 3] == 1.0):
        raise ValueError(f"{where}: sos[:, 3] (each section's a0) must be 1, got "
                         f"{s[:, 3].tolist()}; normalise each section by its a0.")
    return s


def _interval_filter(sos: np.ndarray, x, zi, zir_fn, kind: str, where: str):
    """The Interval output (and state) of the cascade *sos* for the frame *x*."""
    if isinstance(zi, Interval) and not isinstance(zi, IIRState):
        raise TypeError(f"{where}: zi is an Interval that is not a filter state; pass the "
                        f"state this function returned for the previous frame, a numeric "
                        "initial state, or None.")
    if isinstance(zi, IIRState) and zi.kind != kind:
        raise TypeError(f"{where}: zi is a state returned by {zi.kind}; pass it back to the "
                        "function that returned it.")
    if not isinstance(x, Interval):
        x = Interval(np.asarray(x, dtype=np.float64))
    lo, hi = x.hull() if x.size else (0.0, 0.0)
    zir_state = None
    zir = None
    if isinstance(zi, IIRState):
        plo, phi = zi.input_range
        lo, hi = min(lo, plo), max(hi, phi)
        if zi.zir_state is not None:
            zir, zir_state = zir_fn(np.zeros(x.shape), zi.zir_state)
    elif zi is not None:
        zi_a = np.asarray(zi, dtype=np.float64)
        if not np.all(np.isfinite(zi_a)):
            raise ValueError(f"{where}: the initial state zi must be finite.")
        if np.any(zi_a != 0.0):
            zir, zir_state = zir_fn(np.zeros(x.shape), zi_a)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        why = x.reason or "the input range is unbounded"
        ylo, yhi = -math.inf, math.inf
    else:
        ylo, yhi = _range_from(sos, lo, hi)
        why = None if math.isfinite(ylo) and math.isfinite(yhi) else (
            f"{where}: the filter is unstable (a pole on or outside |z| = 1): its impulse "
            "response has no finite l1 norm")
    out_lo = np.full(x.shape, ylo)
    out_hi = np.full(x.shape, yhi)
    if zir is not None and why is None:
        pad = _MARGIN * float(np.abs(zir).max(initial=0.0)) + 1e-300
        out_lo = out_lo + zir - pad
        out_hi = out_hi + zir + pad
    y = Interval(out_lo, out_hi, reason=why)
    if zi is None:
        return y
    shape = np.shape(zi) if not isinstance(zi, Interval) else zi.shape
    return y, IIRState._new(shape, (lo, hi), zir_state, kind)


def sosfilt(sos, x, axis: int = -1, zi=None):
    """``scipy.signal.sosfilt``, also on an :class:`Interval` *x* (for ``fx.tool.derive``).

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Second-order sections, each ``[b0, b1, b2, 1, a1, a2]``.
    x : array_like, fi or Interval
        The input. Arrays and fi values go to ``scipy.signal.sosfilt`` unchanged (a fi as its
        float values).
    axis : int
        The axis to filter along (as scipy).
    zi : array_like, IIRState or None
        The initial state, as scipy; for an Interval frame, the :class:`IIRState` returned
        with the previous frame, a numeric initial state, or None (from rest).

    Returns
    -------
    y, or (y, zf)
        As scipy. For an Interval *x*: an Interval of *x*'s shape holding every output any
        input inside *x* (and inside every earlier frame's range, with a state) can give;
        ``zf`` is then an :class:`IIRState`.

    Examples
    --------
    >>> import numpy as np, scipy.signal as ss
    >>> import fixsim as fx
    >>> from fixsim.signal import sosfilt
    >>> sos = ss.butter(2, 0.1, output='sos')
    >>> T = fx.TypeTable({'x': 'double', 'y': 'double'})
    >>> d = fx.tool.derive(lambda x, T: T.y(sosfilt(sos, T.x(x))), (-1, 1), T, shape=256)
    >>> bool(d['y'].hi < 1.1)   # the l1 norm of a 2nd-order Butterworth is a little above 1
    True
    """
    if not isinstance(x, Interval) and not isinstance(zi, Interval):
        if zi is None:
            return _sps.sosfilt(sos, x, axis=axis)
        return _sps.sosfilt(sos, x, axis=axis, zi=zi)
    s = _as_sos(sos, "sosfilt")
    return _interval_filter(s, x, zi, lambda z, st: _sps.sosfilt(s, z, axis=axis, zi=st),
                            "sosfilt", "sosfilt")


def lfilter(b, a, x, axis: int = -1, zi=None):
    """``scipy.signal.lfilter``, also on an :class:`Interval` *x* (for ``fx.tool.derive``).

    Parameters
    ----------
    b, a : array_like
        Numerator and denominator coefficients (``a[0] != 0``), as scipy.
    x : array_like, fi or Interval
        The input; arrays and fi values go to ``scipy.signal.lfilter`` unchanged.
    axis : int
        The axis to filter along.
    zi : array_like, IIRState or None
        The initial state (scipy's ``lfilter`` layout), or for an Interval frame the
        :class:`IIRState` returned with the previous one.

    Returns
    -------
    y, or (y, zf)
        As scipy; for an Interval *x* the guaranteed output range (see :func:`sosfilt`),
        bounded by the l1 norm of the impulse response of ``b / a``.

    Notes
    -----
    The bound is the exact filter's (computed through ``scipy.signal.tf2sos(b, a)``, the same
    transfer function). A high-order direct form is badly conditioned: scipy's own float
    rounding of it can then move the simulated outputs beyond that bound. Filter such designs
    in sections (:func:`sosfilt`), as hardware would.
    """
    if not isinstance(x, Interval) and not isinstance(zi, Interval):
        if zi is None:
            return _sps.lfilter(b, a, x, axis=axis)
        return _sps.lfilter(b, a, x, axis=axis, zi=zi)
    bb = np.atleast_1d(np.asarray(b, dtype=np.float64))
    aa = np.atleast_1d(np.asarray(a, dtype=np.float64))
    if bb.ndim != 1 or aa.ndim != 1 or bb.size == 0 or aa.size == 0 or aa[0] == 0.0:
        raise ValueError(f"lfilter: b and a must be non-empty 1-D coefficient arrays with "
                         f"a[0] != 0, got b={bb.tolist()}, a={aa.tolist()}.")
    bb, aa = bb / aa[0], aa / aa[0]
    if np.all(bb == 0.0):
        s = np.array([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    else:
        s = _sps.tf2sos(bb, aa)
    return _interval_filter(s, x, zi, lambda z, st: _sps.lfilter(bb, aa, z, axis=axis, zi=st),
                            "lfilter", "lfilter")
