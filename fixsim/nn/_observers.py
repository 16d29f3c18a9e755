"""Calibration observers: the range estimators of the post-training quantization tools.

Each observer sees batches (``obs.update(x)`` or ``obs(x)``), keeps a running state, and gives
a clipping range (:meth:`range`) and affine parameters (:meth:`qparams`). With ``axis=k`` it
keeps one state per index of axis *k* (per channel) and returns arrays.

=================================  ===========================================================
:class:`MinMaxObserver`            running min and max
:class:`MovingAverageMinMaxObserver`  ``m += c (m_batch - m)`` after the first batch
:class:`PercentileObserver`        the *p*-th percentile of ``|x|`` from a histogram
:class:`HistogramObserver`         PyTorch's HistogramObserver: greedy L2 search on a histogram
:class:`EntropyObserver`           TensorRT's entropy calibration: the threshold minimising KL
=================================  ===========================================================
"""

from __future__ import annotations

import numpy as np

from ._requant import qrange

__all__ = ["MinMaxObserver", "MovingAverageMinMaxObserver", "PercentileObserver",
           "HistogramObserver", "EntropyObserver", "calculate_qparams"]

_EPS32 = float(np.finfo(np.float32).eps)


def calculate_qparams(lo, hi, dtype="int8", symmetric: bool = False):
    """Scale and zero point from a range, with PyTorch's rules.

    The range is widened to hold 0. Affine: ``scale = (hi - lo) / (qmax - qmin)``,
    ``zp = qmin - rne(lo / scale)`` clamped to ``[qmin, qmax]``; symmetric:
    ``scale = max(-lo, hi) / ((qmax - qmin) / 2)``, ``zp = 0`` (signed) or the midpoint
    (unsigned). Scales are at least float32 eps.

    Returns
    -------
    scale : numpy.ndarray of float64
    zero_point : numpy.ndarray of int64
    """
    qmin, qmax = qrange(dtype)
    lo0, hi0 = lo, hi
    try:
        lo, hi = np.broadcast_arrays(np.asarray(lo, np.float64), np.asarray(hi, np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"calculate_qparams: lo={lo0!r} and hi={hi0!r} are not valid; valid: "
                         "real numbers (or arrays of one shape, per channel).") from None
    bad = ~(np.isfinite(lo) & np.isfinite(hi) & (lo <= hi))
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        at = f" (at index {i if len(i) > 1 else i[0]})" if lo.ndim else ""
        raise ValueError(f"calculate_qparams: the range lo={float(lo[i])!r}, "
                         f"hi={float(hi[i])!r}{at} is not valid; valid: finite lo <= hi.")
    lo = np.minimum(lo, 0.0)
    hi = np.maximum(hi, 0.0)
    if symmetric:
        amax = np.maximum(-lo, hi)
        scale = np.maximum(amax / ((qmax - qmin) / 2), _EPS32)
        zp = np.full(scale.shape, 0 if qmin < 0 else (qmin + qmax + 1) // 2, dtype=np.int64)
    else:
        scale = np.maximum((hi - lo) / (qmax - qmin), _EPS32)
        zp = np.clip(qmin - np.rint(lo / scale), qmin, qmax).astype(np.int64)
    return scale, zp


def _count(v, where: str, arg: str, minimum: int = 1) -> int:
    """*v* as an int >= *minimum* (bins, bits, ...), else a ValueError naming it."""
    ok = isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) \
        or isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer()
    if not ok or v < minimum:
        raise ValueError(f"{where}: {arg}={v!r} is not valid; valid: an integer >= {minimum}.")
    return int(v)


class _Observer:
    """Base: per-tensor or per-channel (``axis``) state over batches."""

    def __init__(self, axis: int | None = None):
        if axis is not None and not isinstance(axis, int | np.integer):
            raise TypeError(f"{type(self).__name__}: axis must be an int or None, got "
                            f"{axis!r}.")
        self.axis = axis
        self.batches = 0

    def _rows(self, x) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if np.isnan(a).any():
            raise ValueError(f"{type(self).__name__}: the batch contains NaN.")
        if self.axis is None:
            return a.reshape(1, -1)
        if a.ndim == 0 or not -a.ndim <= self.axis < a.ndim:
            raise ValueError(f"{type(self).__name__}: axis={self.axis} is out of range for a "
                             f"batch of shape {a.shape}.")
        return np.moveaxis(a, self.axis, 0).reshape(a.shape[self.axis], -1)

    def __call__(self, x):
        self.update(x)
        return x

    def update(self, x) -> None:
        rows = self._rows(x)
        self._update(rows)
        self.batches += 1

    def _update(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _ranges(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def range(self):
        """The clipping range ``(lo, hi)``: floats per tensor, arrays per channel."""
        if self.batches == 0:
            raise ValueError(f"{type(self).__name__}: no batch observed yet; call update(x).")
        lo, hi = self._ranges()
        if self.axis is None:
            return float(lo[0]), float(hi[0])
        return lo, hi

    def qparams(self, dtype="int8", symmetric: bool = False):
        """``(scale, zero_point)`` from :meth:`range` (see :func:`calculate_qparams`)."""
        lo, hi = self.range()
        s, z = calculate_qparams(lo, hi, dtype, symmetric)
        if self.axis is None:
            return float(s), int(z)
        return s, z


class MinMaxObserver(_Observer):
    """Running minimum and maximum (PyTorch MinMaxObserver / PerChannelMinMaxObserver)."""

    def __init__(self, axis: int | None = None):
        super().__init__(axis)
        self.min = self.max = None

    def _update(self, rows):
        lo, hi = rows.min(axis=1), rows.max(axis=1)
        if self.min is None:
            self.min, self.max = lo, hi
        else:
            self.min, self.max = np.minimum(self.min, lo), np.maximum(self.max, hi)

    def _ranges(self):
        return self.min, self.max


class MovingAverageMinMaxObserver(MinMaxObserver):
    """The first batch sets min/max; then ``min += c (min_batch - min)`` (same for max)."""

    def __init__(self, averaging_constant: float = 0.01, axis: int | None = None):
        super().__init__(axis)
        if not 0 < averaging_constant <= 1:
            raise ValueError(f"MovingAverageMinMaxObserver: averaging_constant must be in "
                             f"(0, 1], got {averaging_constant!r}.")
        self.c = float(averaging_constant)

    def _update(self, rows):
        lo, hi = rows.min(axis=1), rows.max(axis=1)
        if self.min is None:
            self.min, self.max = lo, hi
        else:
            self.min = self.min + self.c * (lo - self.min)
            self.max = self.max + self.c * (hi - self.max)


class _AbsHistogram:
    """A histogram of ``|x|`` whose bin width is fixed by the first batch
    (``max|x| / bins``); later batches append bins of the same width as the maximum grows."""

    def __init__(self, bins: int):
        self.bins = bins
        self.width = None
        self.hist = None

    def add(self, a: np.ndarray) -> None:
        a = np.abs(a)
        m = float(a.max()) if a.size else 0.0
        if self.width is None:
            self.width = m / self.bins if m > 0 else 1.0
            self.first_max = m
            self.hist = np.zeros(self.bins, dtype=np.int64)
        idx = np.floor(a / self.width).astype(np.int64)
        # bin k holds [k w, (k+1) w); the last initial bin is closed at the first maximum
        idx[a <= self.first_max] = np.minimum(idx[a <= self.first_max], self.bins - 1)
        need = int(idx.max()) + 1 if idx.size else 0
        if need > self.hist.size:
            self.hist = np.concatenate([self.hist, np.zeros(need - self.hist.size, np.int64)])
        self.hist += np.bincount(idx, minlength=self.hist.size)

    @property
    def edges(self) -> np.ndarray:
        return np.arange(self.hist.size + 1) * self.width


class PercentileObserver(_Observer):
    """The *percentile* of ``|x|``: the upper edge of the first histogram bin at which the
    cumulative share reaches ``percentile / 100``; the range is ``(-t, t)``, or ``(0, t)`` when
    every value seen was >= 0.

    The histogram has *bins* bins over ``[0, max|x|]`` of the first batch; later batches append
    bins of the same width (ONNX Runtime's percentile calibrator works this way)."""

    def __init__(self, percentile: float = 99.99, bins: int = 2048, axis: int | None = None):
        super().__init__(axis)
        if not 0 < percentile <= 100:
            raise ValueError(f"PercentileObserver: percentile must be in (0, 100], got "
                             f"{percentile!r}.")
        self.percentile = float(percentile)
        self.nbins = _count(bins, "PercentileObserver", "bins")
        self.hists: list[_AbsHistogram] = []
        self.nonneg: np.ndarray | None = None

    def _update(self, rows):
        if not self.hists:
            self.hists = [_AbsHistogram(self.nbins) for _ in range(rows.shape[0])]
            self.nonneg = np.ones(rows.shape[0], bool)
        for h, r in zip(self.hists, rows, strict=True):
            h.add(r)
        self.nonneg &= rows.min(axis=1) >= 0

    def _ranges(self):
        t = []
        for h in self.hists:
            c = np.cumsum(h.hist)
            i = int(np.searchsorted(c, self.percentile / 100.0 * c[-1], side="left"))
            t.append(h.edges[min(i, h.hist.size - 1) + 1])
        t = np.array(t)
        return np.where(self.nonneg, 0.0, -t), t


class HistogramObserver(_Observer):
    """PyTorch's HistogramObserver: a histogram over the running range, and the greedy
    quantile-trimming search that minimises the L2 quantization error of a *bits*-bit
    quantizer (caffe2's NormMinimization).

    The first batch's histogram has *bins* bins over its ``[min, max]``; when a later batch
    widens the range, the old histogram is upsampled (each bin split into *upsample_rate*
    equal parts) and re-bucketed by the parts' midpoints into *bins* bins over the new range.
    """

    def __init__(self, bins: int = 2048, upsample_rate: int = 16, bits: int = 8,
                 axis: int | None = None):
        super().__init__(axis)
        self.nbins = _count(bins, "HistogramObserver", "bins")
        self.up = _count(upsample_rate, "HistogramObserver", "upsample_rate")
        self.bits = _count(bits, "HistogramObserver", "bits")
        if self.bits > 32:
            raise ValueError(f"HistogramObserver: bits={bits!r} is not valid; valid: an "
                             "integer from 1 to 32.")
        self.state: list[tuple[float, float, np.ndarray]] = []

    def _add_one(self, st, r):
        lo, hi = float(r.min()), float(r.max())
        if st is None:
            return lo, hi, self._histc(r, lo, hi)
        mn, mx, h = st
        nlo, nhi = min(mn, lo), max(mx, hi)
        if (nlo, nhi) != (mn, mx):
            # upsample the old histogram and re-bucket it by part midpoints
            w = (mx - mn) / self.nbins
            parts = (np.arange(self.nbins * self.up) + 0.5) * (w / self.up) + mn
            mass = np.repeat(h / self.up, self.up)
            h = self._bucket(parts, mass, nlo, nhi)
        return nlo, nhi, h + self._histc(r, nlo, nhi)

    def _bucket(self, v, wts, lo, hi):
        if hi == lo:
            out = np.zeros(self.nbins)
            out[0] = wts.sum()
            return out
        idx = np.clip(((v - lo) * (self.nbins / (hi - lo))).astype(np.int64), 0,
                      self.nbins - 1)
        return np.bincount(idx, weights=wts, minlength=self.nbins).astype(np.float64)

    def _histc(self, r, lo, hi):
        return self._bucket(r, np.ones(r.size), lo, hi)

    def _update(self, rows):
        if not self.state:
            self.state = [None] * rows.shape[0]
        self.state = [self._add_one(s, r) for s, r in zip(self.state, rows, strict=True)]

    def _norm(self, delta_begin, delta_end, density):
        return density * (delta_end ** 3 - delta_begin ** 3) / 3

    def _quant_error(self, h, bin_width, start, end):
        """L2 error of quantizing the histogram's mass into ``2^bits`` bins over source bins
        ``start..end`` (mass outside is clamped to the end bins), each source bin's mass
        uniform: the begin piece, the whole destination bins between, and the end piece."""
        dst_nbins = 2 ** self.bits
        dst_w = bin_width * (end - start + 1) / dst_nbins
        if dst_w == 0.0:
            return 0.0
        src = np.arange(self.nbins)
        begin = (src - start) * bin_width
        stop = begin + bin_width
        db = np.clip(np.floor(begin / dst_w), 0, dst_nbins - 1)
        de = np.clip(np.floor(stop / dst_w), 0, dst_nbins - 1)
        dens = h / bin_width
        half = dst_w / 2
        norm = self._norm(begin - (db * dst_w + half), half, dens)
        norm = norm + (de - db - 1) * self._norm(-half, half, dens)
        norm = norm + self._norm(-half, stop - (de * dst_w + half), dens)
        return float(norm.sum())

    def _search(self, mn, mx, h):
        bin_width = (mx - mn) / self.nbins
        total = h.sum()
        csum = np.cumsum(h)
        stepsize = 1e-5
        alpha, beta = 0.0, 1.0
        start, end = 0, self.nbins - 1
        norm_min = float("inf")
        while alpha < beta:
            na, nb = alpha + stepsize, beta - stepsize
            l_, r_ = start, end
            while l_ < end and csum[l_] < na * total:
                l_ += 1
            while r_ > start and csum[r_] > nb * total:
                r_ -= 1
            ns, ne = start, end
            if (l_ - start) > (end - r_):
                ns, alpha = l_, na
            else:
                ne, beta = r_, nb
            if ns == start and ne == end:
                continue
            norm = self._quant_error(h, bin_width, ns, ne)
            if norm > norm_min:
                break
            norm_min, start, end = norm, ns, ne
        return mn + bin_width * start, mn + bin_width * (end + 1)

    def _ranges(self):
        lo, hi = [], []
        for mn, mx, h in self.state:
            if mx == mn:
                a, b = mn, mx
            else:
                a, b = self._search(mn, mx, h)
            lo.append(a)
            hi.append(b)
        return np.array(lo), np.array(hi)


class EntropyObserver(_Observer):
    """TensorRT's entropy calibration: the threshold ``t`` on ``|x|`` minimising
    ``KL(P || Q)`` between the clipped histogram ``P`` and its *target_bins*-level quantized
    version ``Q``.

    The histogram of ``|x|`` has *bins* bins (width fixed by the first batch, extended as the
    maximum grows). For every candidate ``i`` in ``[target_bins, nbins]``: ``P`` is the first
    ``i`` bins with the mass of all later bins added to bin ``i - 1``; ``Q`` merges the first
    ``i`` bins into *target_bins* groups of ``i // target_bins`` bins (the last group takes
    the remainder) and spreads each group's mass evenly over its non-empty bins. Both are
    normalised; ``KL = sum P log(P / Q)`` over bins where ``P > 0`` (``Q`` is then > 0). The
    first minimising ``i`` gives ``t = i * width``; the range is ``(-t, t)`` (``(0, t)`` if
    no negative value was seen).
    """

    def __init__(self, bins: int = 2048, target_bins: int = 128, axis: int | None = None):
        super().__init__(axis)
        bins = _count(bins, "EntropyObserver", "bins")
        target_bins = _count(target_bins, "EntropyObserver", "target_bins")
        if target_bins < 1 or bins < target_bins:
            raise ValueError(f"EntropyObserver: need 1 <= target_bins <= bins, got bins={bins},"
                             f" target_bins={target_bins}.")
        self.nbins, self.target = int(bins), int(target_bins)
        self.hists: list[_AbsHistogram] = []
        self.nonneg: np.ndarray | None = None

    _update = PercentileObserver._update

    def _threshold(self, h: np.ndarray) -> int:
        best_i, best_kl = h.size, float("inf")
        for i in range(self.target, h.size + 1):
            p = h[:i].astype(np.float64).copy()
            p[i - 1] += h[i:].sum()
            src = h[:i].astype(np.float64)
            g = i // self.target
            grp = np.minimum(np.arange(i) // g, self.target - 1)
            nz = src != 0
            sums = np.bincount(grp, weights=src, minlength=self.target)
            cnts = np.bincount(grp, weights=nz, minlength=self.target)
            q = np.where(nz, sums[grp] / np.maximum(cnts[grp], 1), 0.0)
            ps, qs = p.sum(), q.sum()
            if ps == 0 or qs == 0:
                continue
            p /= ps
            q /= qs
            m = p > 0
            if np.any(q[m] == 0):
                kl = float("inf")
            else:
                kl = float(np.sum(p[m] * np.log(p[m] / q[m])))
            if kl < best_kl:
                best_kl, best_i = kl, i
        return best_i

    def _ranges(self):
        t = np.array([h.width * self._threshold(h.hist) for h in self.hists])
        return np.where(self.nonneg, 0.0, -t), t
