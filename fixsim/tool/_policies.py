"""Clipping policies and error estimates from a signal's recorded fine histogram.

Everything here reads a :class:`~fixsim.tool.SignalStats`: its exact counts, extremes and
moments, and its fine histogram (16 sub-bins per octave of ``|x|``, kept apart by sign; the
bin edges are exact binary numbers). Within a bin, values are modelled as uniformly spread;
quantities that only need counts on either side of a power of two (underflows at an LSB,
values beyond ``2**k``) are therefore exact, the others are estimates, exact when nothing is
clipped.

Policies (each returns the magnitude threshold ``a``; the range proposed is the recorded range
clipped to ``[-a, a]``):

* ``percentile``: ``a`` is the smallest magnitude with at least ``p`` percent of the recorded
  values (zeros included) at or below it.
* ``kl``: TensorRT's entropy calibration. The magnitudes are binned into ``B = 2048`` equal
  bins over ``[0, max|x|]``; for each candidate ``i`` (``L <= i <= B``, ``L`` the number of
  positive quantization levels, ``2**(W-1)`` signed or ``2**W`` unsigned), the reference
  ``P`` is the first ``i`` bins with the tail added to the last one, and ``Q`` is ``P``'s
  first ``i`` bins merged into ``L`` groups and spread back evenly over each group's nonzero
  bins. ``a = (i + 1/2) * B_width`` for the ``i`` minimising ``KL(P || Q)`` (the largest such
  ``i`` on ties, so that nothing is clipped when ``L >= B``).
* ``mse``: over the fraction lengths ``F0 .. F0 + 24`` of the requested word length (``F0``
  the best precision covering the whole range), the type minimising the estimated mean
  squared error ``(clipping error + N_in * LSB**2 / 12) / N``, where the clipping error is
  ``sum (|x| - a)**2`` over the clipped values (uniform within bins) and the rounding term
  is left out when the values are whole numbers and ``F >= 0``. Ties go to the wider range.
"""

from __future__ import annotations

import math

import numpy as np

from .._core._numerictype import numerictype
from ._stats import SignalStats, _log10

__all__ = ["magnitude_cdf", "count_above", "clip_sq_error", "percentile_threshold",
           "kl_threshold", "type_metrics", "KL_BINS"]

KL_BINS = 2048


def _bins(s: SignalStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    edges, pos, neg = s.fine_histogram
    return edges, pos.astype(np.float64), neg.astype(np.float64)


def magnitude_cdf(s: SignalStats) -> tuple[np.ndarray, np.ndarray]:
    """``(t, F)``: the cumulative count of finite values with ``|x| <= t`` at the fine-bin
    edges ``t`` (first point ``(0, zeros)``), linear within bins."""
    edges, pos, neg = _bins(s)
    cum = np.concatenate([[0.0], np.cumsum(pos + neg)]) + s.zeros
    return np.concatenate([[0.0], edges]), np.concatenate([[float(s.zeros)], cum])


def count_above(s: SignalStats, t: float, sign: int) -> float:
    """Estimated number of values ``x`` with ``sign * x > t`` (``t >= 0``; exact when *t* is
    a fine-bin edge, e.g. a power of two)."""
    edges, pos, neg = _bins(s)
    c = pos if sign > 0 else neg
    if c.size == 0:
        return 0.0
    lo, hi = edges[:-1], edges[1:]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # top edge may be inf
        frac = np.nan_to_num(np.clip((hi - t) / (hi - lo), 0.0, 1.0), nan=1.0)
    return float(np.sum(c * frac))


def clip_sq_error(s: SignalStats, t: float, sign: int) -> float:
    """Estimated ``sum (sign*x - t)**2`` over the values with ``sign * x > t`` (``t >= 0``)."""
    edges, pos, neg = _bins(s)
    c = pos if sign > 0 else neg
    if c.size == 0:
        return 0.0
    lo, hi = edges[:-1], np.minimum(edges[1:], np.finfo(np.float64).max)  # top edge: 2**1024
    m = (hi > t) & (c > 0)
    if not m.any():
        return 0.0
    lo, hi, c = lo[m], hi[m], c[m]
    a = np.maximum(lo, t)
    # uniform on [lo, hi): the part in [a, hi) holds c * (hi - a) / (hi - lo) values (all of
    # them in a bin of width 0, the smallest subnormal's), whose mean squared excess over t
    # is ((hi - t)**3 - (a - t)**3) / (3 * (hi - a)) = (u*u + u*v + v*v) / 3 with u = hi - t,
    # v = a - t: no cubes, so no inf - inf near the top of the float range (the estimate is
    # then inf, which it is)
    u, v = hi - t, a - t
    w = hi - lo
    with np.errstate(over="ignore"):
        share = np.where(w > 0, (hi - a) / np.where(w > 0, w, 1.0), 1.0)
        return float(np.sum(c * share * ((u * u + u * v + v * v) / 3.0)))


def percentile_threshold(s: SignalStats, p: float) -> float:
    """The smallest magnitude with at least *p* percent of the finite values at or below it."""
    t, F = magnitude_cdf(s)
    n = F[-1]
    target = n * p / 100.0
    if target <= F[0]:
        return 0.0
    k = int(np.searchsorted(F, target, side="left"))
    k = min(max(k, 1), F.size - 1)
    f0, f1 = F[k - 1], F[k]
    if f1 == f0:
        return float(t[k])
    return float(t[k - 1] + (t[k] - t[k - 1]) * (target - f0) / (f1 - f0))


def _linear_hist(s: SignalStats, nbins: int) -> tuple[np.ndarray, float]:
    t, F = magnitude_cdf(s)
    amax = s.max_abs or 0.0
    edges = np.linspace(0.0, amax, nbins + 1)
    cdf = np.interp(edges, t, F)
    cdf[-1] = F[-1]
    h = np.diff(cdf)
    h[0] += cdf[0]  # the zeros
    return np.maximum(h, 0.0), amax / nbins


def kl_threshold(s: SignalStats, levels: int, nbins: int = KL_BINS) -> float:
    """TensorRT's entropy-calibration threshold (see the module notes)."""
    amax = s.max_abs or 0.0
    if amax == 0.0 or levels >= nbins:
        return amax
    hist, width = _linear_hist(s, nbins)
    best_i, best_kl = nbins, math.inf
    for i in range(levels, nbins + 1):
        ref = hist[:i].copy()
        ref[-1] += hist[i:].sum()
        src = hist[:i]
        bounds = np.linspace(0, i, levels + 1).astype(np.int64)
        nz = src > 0
        sums = np.add.reduceat(src, bounds[:-1])
        cnt = np.add.reduceat(nz.astype(np.float64), bounds[:-1])
        per = np.divide(sums, cnt, out=np.zeros_like(sums), where=cnt > 0)
        q = np.repeat(per, np.diff(bounds)) * nz
        ps = ref.sum()
        qs = q.sum()
        if ps == 0 or qs == 0:
            continue
        P = ref / ps
        Q = q / qs
        m = P > 0
        Qm = np.where(Q[m] > 0, Q[m], 1e-12)
        kl = float(np.sum(P[m] * np.log(P[m] / Qm)))
        if kl <= best_kl + 1e-12:
            best_i, best_kl = i, min(kl, best_kl)
    return min(amax, (best_i + 0.5) * width)


def type_metrics(s: SignalStats, T: numerictype) -> dict:
    """What type *T* would do to the recorded values (estimates, see the module notes).

    Returns a dict: ``overflows`` and ``clip_fraction`` (values outside ``[T.min, T.max]``),
    ``underflows`` (nonzero values below half an LSB: they round to zero under the
    round-to-nearest modes; exact), ``noise_power`` (mean squared error estimate: rounding
    ``LSB**2/12`` per value in range, none for whole numbers when ``F >= 0``, plus the clipping
    error), ``sqnr_db`` (``10 log10(mean(x**2) / noise_power)``, inf when no error, None when
    the values are all zero or the clipping estimate is beyond the float range; computed in
    logarithms from the exact power, so tiny and huge signals get a finite value) and
    ``percent_range_used`` (MATLAB's: ``100 * max(max/T.max, min/T.min)``).
    """
    n = s.finite_count
    if n == 0:
        return {"overflows": 0, "clip_fraction": 0.0, "underflows": 0, "noise_power": 0.0,
                "sqnr_db": None, "percent_range_used": None}
    tmax, tmin = T.max, T.min
    if s.max <= tmax and s.min >= tmin:
        over = 0.0
        clip_err = 0.0
    else:
        over = count_above(s, max(tmax, 0.0), +1) if s.max > tmax else 0.0
        over += count_above(s, max(-tmin, 0.0), -1) if s.min < tmin else 0.0
        over = max(over, 1.0)  # at least one value is out of range
        clip_err = (clip_sq_error(s, max(tmax, 0.0), +1)
                    + clip_sq_error(s, max(-tmin, 0.0), -1))
    lsb = T.eps
    half = math.ldexp(1.0, -T.fraction_length - 1)
    t, F = magnitude_cdf(s)
    under = float(np.interp(half, t, F)) - s.zeros
    in_range = n - over
    exact_grid = s.whole and T.fraction_length >= 0
    rounds = in_range > 0 and not exact_grid
    noise = clip_err + (in_range * lsb * lsb / 12.0 if rounds else 0.0)
    power = s.exact_sum_squares / n if s.detail == "full" else None  # exact
    noise_power = noise / n
    if power is None:  # recorded with detail='ranges' (no sums): no SQNR estimate
        sqnr = None
    elif clip_err == 0.0 and not rounds:
        sqnr = math.inf if power > 0 else None  # all zeros: no signal, no error
    elif power == 0.0:
        sqnr = -math.inf
    elif math.isinf(clip_err):  # the clipping estimate is beyond the float range
        sqnr = None
    else:
        # in logarithms, of the exact power and of LSB = 2**-F: either may be beyond the
        # float range (LSB**2 underflows for tiny signals, overflows for huge ones)
        logs = [math.log10(in_range / 12.0) - 2 * T.fraction_length * math.log10(2.0)] \
            if rounds else []
        if clip_err > 0.0:
            logs.append(math.log10(clip_err))
        top = max(logs)
        log_noise = top + math.log10(sum(10.0 ** (v - top) for v in logs))
        sqnr = 10.0 * (_log10(power) - (log_noise - math.log10(n)))  # noise_power = noise / n
    used = []
    if tmax > 0 and s.max > 0:
        used.append(s.max / tmax)
    if tmin < 0 and s.min < 0:
        used.append(s.min / tmin)
    return {"overflows": int(round(over)), "clip_fraction": over / n,
            "underflows": int(round(max(under, 0.0))), "noise_power": noise_power,
            "sqnr_db": sqnr, "percent_range_used": 100.0 * max(used) if used else 0.0}


def mse_fraction_length(s: SignalStats, signed: bool, W: int, F0: int,
                        span: int = 24) -> tuple[int, float]:
    """The fraction length in ``F0 .. F0 + span`` minimising the estimated MSE, and that MSE."""
    best_F, best = F0, math.inf
    for F in range(F0, F0 + span + 1):
        m = type_metrics(s, numerictype(signed, W, F))
        if m["noise_power"] < best * (1 - 1e-12):
            best_F, best = F, m["noise_power"]
    return best_F, best
