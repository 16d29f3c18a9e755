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
  ``P`` is the first ``i`` bins with the tail added to the last one, and ``Q`` is the first
  ``i`` bins (before the tail is added) merged into ``L`` groups (group ``j``: bins
  ``floor(j i / L)`` to ``floor((j + 1) i / L) - 1``) and spread back evenly over each
  group's nonzero bins. ``a = (i + 1/2) * B_width`` for the ``i`` minimising
  ``KL(P || Q)`` (the largest such ``i`` on ties, so that nothing is clipped when
  ``L >= B``).
* ``mse``: over the fraction lengths ``F0 .. F0 + 24`` of the requested word length (``F0``
  the best precision covering the whole range), the type minimising the estimated mean
  squared error ``(clipping error + N_in * LSB**2 / 12) / N``, where the clipping error is
  ``sum (|x| - a)**2`` over the clipped values (uniform within bins) and the rounding term
  is left out when the values are whole numbers and ``F >= 0``. Ties go to the wider range.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np

from .._core._numerictype import numerictype
from ._stats import _SUB_SHIFT, SUBBINS, SignalStats, _log10

__all__ = ["magnitude_cdf", "count_above", "clip_sq_error", "percentile_threshold",
           "kl_threshold", "type_metrics", "KL_BINS", "float_below", "percent_range_used"]

KL_BINS = 2048


_SCALE_DOWN_FROM = 256


def _scale(s: SignalStats) -> int:
    """The exponent ``e`` by which the estimates scale the magnitudes (``* 2**-e``): the one
    that brings ``max|x|`` into ``[1/2, 1)``, or 0 (see below).

    The estimates below work on the magnitudes scaled by ``2**-e``, which is exact (the bin
    edges are powers of two times ``1 + j/16``), so that they are the same for a signal and
    for that signal times any power of two (regression: for values beyond about
    ``1e+-156``, squared errors over- or underflowed the float range, so ``mse`` saw ties
    everywhere and ``kl`` NaNs).

    Scaling up (``e < 0``) is always exact. Scaling down loses the smallest subnormals (their
    bin edges round to 0), so it is done only where squared errors could overflow
    (``max|x| >= 2**256``); in between ``e = 0``, which gives the same results, since
    multiplying by a power of two commutes with the float operations used here (regression:
    ``percentile`` of ``[1.0, 5e-324]`` at 1% gave 0 after scaling by 1/2 collapsed the
    smallest subnormal's bin to 0)."""
    m = s.max_abs
    if not m:
        return 0
    e = math.frexp(m)[1]
    return e if e < 0 or e > _SCALE_DOWN_FROM else 0


def _bins(s: SignalStats, e: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fine histogram with its edges scaled by ``2**-e`` (exactly; no edge is inf)."""
    g0, pos, neg = s.fine_bins
    g = np.arange(g0, g0 + pos.size + 1, dtype=np.int64)
    ge, j = g >> _SUB_SHIFT, g & (SUBBINS - 1)
    edges = np.ldexp(1.0 + j / SUBBINS, (ge - 1 - e).astype(np.int32))
    return edges, pos.astype(np.float64), neg.astype(np.float64)


def magnitude_cdf(s: SignalStats, e: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(t, F)``: the cumulative count of finite values with ``|x| <= t`` at the fine-bin
    edges ``t`` (first point ``(0, zeros)``), linear within bins; the edges scaled by
    ``2**-e``."""
    edges, pos, neg = _bins(s, e)
    cum = np.concatenate([[0.0], np.cumsum(pos + neg)]) + s.zeros
    return np.concatenate([[0.0], edges]), np.concatenate([[float(s.zeros)], cum])


def count_above(s: SignalStats, t: float, sign: int) -> float:
    """Estimated number of values ``x`` with ``sign * x > t`` (``t >= 0``; exact when *t* is
    a fine-bin edge, e.g. a power of two)."""
    e = _scale(s)
    edges, pos, neg = _bins(s, e)
    t = _ldexp(t, -e)
    c = pos if sign > 0 else neg
    if c.size == 0:
        return 0.0
    lo, hi = edges[:-1], edges[1:]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # top edge may be inf
        frac = np.nan_to_num(np.clip((hi - t) / (hi - lo), 0.0, 1.0), nan=1.0)
    return float(np.sum(c * frac))


def clip_sq_error(s: SignalStats, t: float, sign: int) -> float:
    """Estimated ``sum (sign*x - t)**2`` over the values with ``sign * x > t`` (``t >= 0``;
    ``inf`` or ``0.0`` where the float range cannot hold it)."""
    e = _scale(s)
    return _ldexp(_clip_sq_scaled(s, _ldexp(t, -e), sign, e), 2 * e) \
        if math.isfinite(t) else 0.0


def _ldexp(x: float, k: int) -> float:
    """``x * 2**k``, ``inf`` beyond the float range (math.ldexp raises there)."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.inf


def _clip_sq_scaled(s: SignalStats, t: float, sign: int, e: int) -> float:
    """:func:`clip_sq_error` of the magnitudes scaled by ``2**-e`` (*t* scaled too)."""
    edges, pos, neg = _bins(s, e)
    c = pos if sign > 0 else neg
    if c.size == 0:
        return 0.0
    lo, hi = edges[:-1], edges[1:]
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
    share = np.where(w > 0, (hi - a) / np.where(w > 0, w, 1.0), 1.0)
    return float(np.sum(c * share * ((u * u + u * v + v * v) / 3.0)))


def _unscale(a: float, e: int, amax: float) -> float:
    """A scaled threshold *a* back in the signal's units; a nonzero one that rounds to 0 (the
    smallest subnormals) clips nothing instead (*amax*)."""
    r = _ldexp(a, e)
    return amax if r == 0.0 and a > 0.0 else min(r, amax)


def percentile_threshold(s: SignalStats, p: float) -> float:
    """The smallest magnitude with at least *p* percent of the finite values at or below it."""
    e = _scale(s)
    t, F = magnitude_cdf(s, e)
    n = F[-1]
    target = n * p / 100.0
    if target <= F[0]:
        return 0.0
    k = int(np.searchsorted(F, target, side="left"))
    k = min(max(k, 1), F.size - 1)
    f0, f1 = F[k - 1], F[k]

    def at(t: np.ndarray) -> float:
        if f1 == f0:
            return float(t[k])
        return float(t[k - 1] + (t[k] - t[k - 1]) * (target - f0) / (f1 - f0))

    r = _ldexp(at(t), e)
    if r == 0.0:
        # nonzero values are needed, but their scaled bin edges rounded to 0 (subnormals under
        # a signal of 2**256 or more): the same bin, unscaled (low bins' edges are finite)
        r = at(magnitude_cdf(s, 0)[0])
    return min(r, s.max_abs)


def _linear_hist(s: SignalStats, nbins: int, e: int = 0) -> tuple[np.ndarray, float]:
    t, F = magnitude_cdf(s, e)
    amax = math.ldexp(s.max_abs or 0.0, -e)
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
    e = _scale(s)
    hist, width = _linear_hist(s, nbins, e)
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
    return _unscale((best_i + 0.5) * width, e, amax)


def float_below(q: Fraction) -> float:
    """The largest float ``<= q`` (the largest finite float for ``q`` above the float range,
    ``-inf`` below it), so that for a finite float ``v``: ``v > float_below(q)`` exactly when
    ``v > q``."""
    try:
        f = float(q)
    except OverflowError:
        return sys.float_info.max if q > 0 else -math.inf
    if math.isinf(f):
        return sys.float_info.max if f > 0 else -math.inf
    if Fraction(f) > q:
        f = math.nextafter(f, -math.inf)
    return f


def percent_range_used(T: numerictype, lo: float, hi: float) -> float:
    """MATLAB's percent of range used, ``100 * max(hi / T.max, lo / T.min)`` over the terms
    whose signs match, computed exactly (regression: with float ``T.max`` and ``T.min`` it
    was 0 for a type beyond the float range and off for words over 53 bits)."""
    used = []
    tmax, tmin = T.exact_max, T.exact_min
    if tmax > 0 and hi > 0:
        used.append(Fraction(hi) / tmax)
    if tmin < 0 and lo < 0:
        used.append(Fraction(lo) / tmin)
    return float(100 * max(used)) if used else 0.0


def type_metrics(s: SignalStats, T: numerictype, symmetric: bool = False) -> dict:
    """What type *T* would do to the recorded values (estimates, see the module notes).

    With *symmetric* (a signed cast under ``sat_sym``), the most negative value is out of
    range too: the range is ``[-T.max, T.max]``.

    Returns a dict: ``overflows`` and ``clip_fraction`` (values outside ``[T.min, T.max]``),
    ``underflows`` (nonzero values below half an LSB: they round to zero under the
    round-to-nearest modes; exact), ``noise_power`` (mean squared error estimate: rounding
    ``LSB**2/12`` per value in range, none for whole numbers when ``F >= 0``, plus the clipping
    error; a float, so inf or 0.0 beyond the float range), ``log10_noise_power`` (its
    logarithm, finite whatever the magnitude), ``sqnr_db`` (``10 log10(mean(x**2) /
    noise_power)``, inf when no error, None when the values are all zero; computed in
    logarithms from the exact power, so tiny and huge signals get a finite value) and
    ``percent_range_used`` (MATLAB's: ``100 * max(max/T.max, min/T.min)``). From
    ``detail='extremes'`` statistics (no histogram) the counts are exact where the extremes
    decide them and None otherwise, and there is no noise or SQNR estimate (None).
    """
    n = s.finite_count
    if n == 0:
        return {"overflows": 0, "clip_fraction": 0.0, "underflows": 0, "noise_power": 0.0,
                "log10_noise_power": -math.inf, "sqnr_db": None, "percent_range_used": None}
    # the float thresholds that compare exactly with the type's limits (regression: float
    # T.max rounds up above 53 bits, so a recorded 1.0 fitted sfix64_En63, and is inf beyond
    # the float range)
    emax = T.exact_max
    emin = -emax if symmetric and T.signed else T.exact_min
    tmax, tmin = float_below(emax), -float_below(-emin)
    if s.detail == "extremes":
        return _extremes_metrics(s, T, tmin, tmax)
    e = _scale(s)
    if s.max <= tmax and s.min >= tmin:
        over = 0.0
        clip_s = 0.0
    else:
        over = count_above(s, max(tmax, 0.0), +1) if s.max > tmax else 0.0
        over += count_above(s, max(-tmin, 0.0), -1) if s.min < tmin else 0.0
        over = max(over, 1.0)  # at least one value is out of range
        # in units of 2**(2e): finite whatever the signal's magnitude
        clip_s = sum(_clip_sq_scaled(s, _ldexp(max(t, 0.0), -e), sg, e)
                     for t, sg in ((tmax, +1), (-tmin, -1)) if math.isfinite(t))
    clip_err = _ldexp(clip_s, 2 * e)
    lsb = _ldexp(1.0, -T.fraction_length)
    half = _ldexp(1.0, -T.fraction_length - 1)
    t, F = magnitude_cdf(s)
    under = float(np.interp(half, t, F)) - s.zeros
    in_range = n - over
    exact_grid = s.whole and T.fraction_length >= 0
    rounds = in_range > 0 and not exact_grid
    with np.errstate(over="ignore", under="ignore"):
        noise = clip_err + (in_range * lsb * lsb / 12.0 if rounds else 0.0)
    power = s.exact_sum_squares / n if s.detail == "full" else None  # exact
    noise_power = noise / n
    # log10 of the noise power, from the scaled clipping error and LSB = 2**-F: either may
    # be beyond the float range (LSB**2 underflows for tiny signals, overflows for huge ones)
    logs = [math.log10(in_range / 12.0) - 2 * T.fraction_length * math.log10(2.0)] \
        if rounds else []
    if clip_s > 0.0:
        logs.append(math.log10(clip_s) + 2 * e * math.log10(2.0))
    if logs:
        top = max(logs)
        log_noise = top + math.log10(sum(10.0 ** (v - top) for v in logs)) - math.log10(n)
    else:
        log_noise = -math.inf
    if power is None:  # recorded with detail='ranges' (no sums): no SQNR estimate
        sqnr = None
    elif not logs:
        sqnr = math.inf if power > 0 else None  # all zeros: no signal, no error
    elif power == 0.0:
        sqnr = -math.inf
    else:
        sqnr = 10.0 * (_log10(power) - log_noise)
    return {"overflows": int(round(over)), "clip_fraction": over / n,
            "underflows": int(round(max(under, 0.0))), "noise_power": noise_power,
            "log10_noise_power": log_noise, "sqnr_db": sqnr,
            "percent_range_used": percent_range_used(T, s.min, s.max)}


def _extremes_metrics(s: SignalStats, T: numerictype, tmin: float, tmax: float) -> dict:
    """:func:`type_metrics` from counts and extremes alone (``detail='extremes'``): exact
    where they decide it, None where only a histogram could (how many values lie beyond a
    limit or below half an LSB, the noise and SQNR estimates)."""
    n = s.finite_count
    inside = s.max <= tmax and s.min >= tmin
    half = _ldexp(1.0, -T.fraction_length - 1)
    if s.zeros == n or (s.whole and T.fraction_length >= 0):
        under = 0  # nothing nonzero, or only whole numbers on a grid that holds them
    elif s.max_abs < half:
        under = n - s.zeros  # every nonzero value is below half an LSB
    else:
        under = None
    return {"overflows": 0 if inside else None, "clip_fraction": 0.0 if inside else None,
            "underflows": under, "noise_power": None, "log10_noise_power": None,
            "sqnr_db": None, "percent_range_used": percent_range_used(T, s.min, s.max)}


def mse_fraction_length(s: SignalStats, signed: bool, W: int, F0: int,
                        span: int = 24, symmetric: bool = False) -> tuple[int, float]:
    """The fraction length in ``F0 .. F0 + span`` minimising the estimated MSE, and that MSE."""
    # compared in logarithms (regression: the noise powers of signals beyond about 1e+-156
    # under- or overflowed, so every candidate tied and the widest won)
    best_F, best, best_log = F0, math.inf, math.inf
    tie = math.log10(1 - 1e-12)
    for F in range(F0, F0 + span + 1):
        m = type_metrics(s, numerictype(signed, W, F), symmetric)
        if m["log10_noise_power"] < best_log + tie:
            best_F, best, best_log = F, m["noise_power"], m["log10_noise_power"]
    return best_F, best
