"""Polyphase FIR decimator and interpolator (as MATLAB's ``dsp.FIRDecimator`` and
``dsp.FIRInterpolator``), in double and in fixed point, streaming with phase state."""

from __future__ import annotations

import numpy as np

from .._core._fi import fi, make_fi
from .._core._typetable import signals_active
from .._kernels import lazy
from ._block import (
    cast_changes,
    cast_counted,
    counting,
    exact_bounds,
    fi_stored,
    probe,
    report,
)
from ._fir import FIR, _down, _hull, _prefix_chain, _prefix_extremes, _up, emit_tap_sums

_kf = lazy("fixsim._kernels._filters")

__all__ = ["FIRDecimator", "FIRInterpolator"]


def _factor(value, what: str, blk: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{blk}: the {what} factor must be an integer >= 1, got {value!r}.")
    return int(value)


class FIRDecimator(FIR):
    """FIR filter followed by keeping every ``M``-th output: ``y[m] = sum_k h[k] x[mM - k]``
    (``scipy.signal.upfirdn(h, x, down=M)``), computed only at the kept samples.

    Parameters
    ----------
    factor : int
        Decimation factor ``M >= 1``.
    coefs : array_like or fi
        Impulse response ``h``.
    name : str
        Block name (default ``'firdecim'``); signals as :class:`FIR`.
    form : {'direct', 'symmetric', 'antisymmetric'}
        Summation structure of each kept output, as :class:`FIR` (taps ``0, 1, ...`` in order;
        the symmetric forms pre-add tap pairs).
    **kwargs
        Types, modes and ``types=`` as :class:`FIR`.

    Notes
    -----
    The first input sample gives the first output (``y[0] = h[0] x[0]``, MATLAB's phase).
    Frames of any length are accepted: the block keeps the input phase (samples seen modulo
    ``M``) and the last ``N - 1`` inputs, so a signal split into frames at any points gives the
    outputs of one call. Types, the fixed-point paths and the worst-case ranges are those of
    :class:`FIR` (the kept outputs are a subset of the FIR's).

    Examples
    --------
    >>> from fixsim import fi
    >>> from fixsim.signal import FIRDecimator
    >>> d = FIRDecimator(2, [0.5, 0.5], coef_type='sfix16_En15')
    >>> d(fi([1.0, 1.0, 0.5, 0.5, 0.25], 1, 16, 14)).data
    array([0.5 , 0.75, 0.375])
    """

    def __init__(self, factor: int, coefs, *, name: str = "firdecim", form: str = "direct",
                 **kwargs) -> None:
        blk = f"FIRDecimator {name!r}"
        self.factor = _factor(factor, "decimation", blk)
        if form == "transposed":
            raise ValueError(f"{blk}: form='transposed' is not supported by the decimator; "
                             "valid: 'direct', 'symmetric', 'antisymmetric'.")
        super().__init__(coefs, name=name, form=form, **kwargs)

    def _positions(self, n: int) -> tuple[int, int, int]:
        M = self.factor
        j0 = (-self._phase) % M
        count = 0 if j0 >= n else (n - j0 + M - 1) // M
        return self.ntaps - 1 + j0, M, count

    def _advance(self, n: int) -> None:
        self._phase = (self._phase + n) % self.factor

    def _interval_count(self, n: int) -> int:
        return self._positions(n)[2]

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, factor={self.factor})"


class FIRInterpolator(FIR):
    """Zero-stuffing by ``L`` followed by an FIR filter, as a polyphase filter:
    ``y[nL + p] = sum_j h[jL + p] x[n - j]`` for ``p = 0 .. L-1``
    (``scipy.signal.upfirdn(h, x, up=L)``, without its tail; like MATLAB's
    ``dsp.FIRInterpolator``, no gain of ``L`` is applied).

    Parameters
    ----------
    factor : int
        Interpolation factor ``L >= 1``.
    coefs : array_like or fi
        Impulse response ``h`` (the prototype filter at the high rate).
    name : str
        Block name (default ``'firinterp'``); signals as :class:`FIR`.
    **kwargs
        Types, modes and ``types=`` as :class:`FIR` (direct form only).

    Notes
    -----
    Each input sample gives ``L`` outputs. Output phase ``p`` sums the products of the
    polyphase branch ``h[p], h[p + L], h[p + 2L], ...`` in that order, each product cast to the
    product type then to the accumulator type and each partial sum cast to the accumulator type
    (the zero-stuffed samples contribute nothing). Default accumulator: the product type grown
    by ``ceil(log2(ceil(N / L)))`` bits. State: the last ``ceil(N / L) - 1`` inputs.

    Examples
    --------
    >>> from fixsim import fi
    >>> from fixsim.signal import FIRInterpolator
    >>> u = FIRInterpolator(2, [0.5, 1.0, 0.5], coef_type='sfix16_En14')
    >>> u(fi([1.0, 0.5], 1, 16, 14)).data
    array([0.5 , 1.  , 0.75, 0.5 ])
    """

    def __init__(self, factor: int, coefs, *, name: str = "firinterp", **kwargs) -> None:
        blk = f"FIRInterpolator {name!r}"
        self.factor = _factor(factor, "interpolation", blk)
        if kwargs.get("form", "direct") != "direct":
            raise ValueError(f"{blk}: form={kwargs['form']!r} is not supported by the "
                             "interpolator; valid: 'direct'.")
        super().__init__(coefs, name=name, **kwargs)

    @property
    def n_products(self) -> int:
        """Products summed per output (the longest polyphase branch, ``ceil(N / L)``)."""
        return -(-self.ntaps // self.factor)

    @property
    def _nhist(self) -> int:
        return self.n_products - 1

    def _plan(self, Tin) -> None:
        super()._plan(Tin)
        self._hist = self._hist[: self._nhist]

    def _reset_state(self) -> None:
        super()._reset_state()
        self._zi = np.zeros(self._nhist, dtype=np.float64)

    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        nb = self._nhist
        ext = np.concatenate([self._zi, xv])
        y = np.empty(xv.size * self.factor)
        _kf.interp_f64(ext, self.coefs, self.factor, nb, y)
        if nb:
            self._zi = ext[-nb:].copy()
        if signals_active():
            self._emit_interp("double", ext, self.coefs, xv, y, y, {})
        return y

    def _filt_fixed(self, x: fi) -> fi:
        Tx_in = x.numerictype
        if self._tin is None:
            self._plan(self.input_type or Tx_in)
        t = self._t
        Tx = t["input"]
        ints = fi_stored(x)
        if self.input_type is not None:
            if cast_changes(Tx_in, Tx, self.overflow):
                ints, *_ = cast_counted(ints, Tx_in, Tx, self.rounding, self.overflow,
                                        f"{self.name}.in")
        elif Tx_in != Tx:
            raise ValueError(f"{self._blk}: the input type changed from {Tx} to {Tx_in}; cast "
                             "the input, give input_type, or call reset().")
        report(f"{self.name}.coef", t["coef"], *self._coef_counts)
        n = ints.shape[0]
        L = self.factor
        nb = self._nhist
        ext = np.concatenate([self._hist, ints]) if nb else ints
        counts = {}
        if self._fast:
            acc = self._exact_interp(ext, n)
            src = self._exact_type
        else:
            acc = np.empty(n * L, dtype=np.int64)
            cnt = np.zeros((3, 2), dtype=np.int64)
            rm, om = int(self.rounding), int(self.overflow)
            spec = n * self.ntaps >= self.SPECIALISE_MIN
            if n:
                _kf.kernel("fir_interp", rm, om, counting(), spec, self._sh[:2])(
                    np.ascontiguousarray(ext, dtype=np.int64), self._h64, L, nb, self._tp,
                    self._sh, rm, om, acc, cnt)
            counts = {"product": cnt[0], "acc": cnt[1]}
            src = t["acc"]
        npr = n * self.ntaps  # one product per tap and input sample
        c = counts.get("product", (0, 0))
        report(f"{self.name}.product", t["product"], npr, int(c[0]), int(c[1]))
        c = counts.get("acc", (0, 0))
        report(f"{self.name}.acc", t["acc"], 2 * npr, int(c[0]), int(c[1]))
        if nb:
            self._hist = ext[-nb:].copy()
        out, no, nu = cast_counted(acc, src, t["out"], self.rounding, self.overflow,
                                   f"{self.name}.out")
        y = make_fi(out, t["out"])
        if signals_active():
            sc = 2.0 ** -Tx.fraction_length
            counts["out"] = (no, nu)
            self._emit_interp("fixed", np.asarray(ext, dtype=np.float64) * sc,
                              self.quantized_coefs.data, x.data,
                              np.asarray(acc, dtype=np.float64) * 2.0 ** -src.fraction_length,
                              y, counts)
        return y

    def _exact_interp(self, ext: np.ndarray, n: int) -> np.ndarray:
        """Exact polyphase sums (stored integers), phase by phase (see ``FIR._exact_conv``
        for the exactness bounds, which hold for every branch)."""
        L = self.factor
        h = self._h
        nb = self._nhist
        exact_f = ext.dtype != object and h.dtype != object and self._bound <= 1 << 53
        out = np.zeros(n * L, dtype=np.int64 if exact_f or (
            ext.dtype == np.int64 and self._bound < 1 << 63) else object)
        for p in range(min(L, self.ntaps)):
            hp = h[p::L]
            if exact_f:
                y = np.empty(n)
                _kf.dot_exact_f64(ext.astype(np.float64), hp[::-1].astype(np.float64), nb, 1, y)
                out[p::L] = y.astype(np.int64)
            elif out.dtype == np.int64:
                y = np.empty(n, dtype=np.int64)
                _kf.dot_exact_i64(ext, np.ascontiguousarray(hp[::-1], dtype=np.int64), nb, 1, y)
                out[p::L] = y
            else:
                e = [int(v) for v in ext]
                hv = [int(v) for v in hp]
                out[p::L] = np.array([sum(hv[j] * e[nb + i - j] for j in range(len(hv)))
                                      for i in range(n)] or [], dtype=object)
        return out

    def _emit_interp(self, mode, ext, hv, xin, accv, output, counts) -> None:
        """Report the signals for one frame (only while recording): per tap the products
        ``h[k] x[n - k // L]`` and the running sums of each polyphase branch, one event per
        signal (see :func:`fixsim.signal._fir.emit_tap_sums`)."""
        name, t = self.name, (self._t if mode == "fixed" else {})
        zero = (0, 0)
        L, nb = self.factor, self._nhist
        n = ext.shape[0] - nb
        # the cast's result: the quantized coefficients in fixed mode, the coefficients
        # themselves in double mode (regression: verify compared the fixed coefficients with
        # the default quantization, not with the double ones)
        probe(f"{name}.coef", self.coefs,
              self.quantized_coefs if mode == "fixed" else self.coefs,
              t.get("coef", self.coef_type), mode, *self._coef_counts[1:])
        probe(f"{name}.in", xin, xin, t.get("input", self.input_type), mode)
        key = (L, self.ntaps)
        cached = getattr(self, "_interp_terms", None)
        terms = cached[1] if cached is not None and cached[0] == key else None
        if terms is None:
            ks, offs, resets = [], [], []
            for p in range(min(L, self.ntaps)):
                for j, k in enumerate(range(p, self.ntaps, L)):
                    ks.append(k)
                    offs.append(j)
                    resets.append(int(j == 0))
            terms = (np.array(ks, dtype=np.int64), np.array(offs, dtype=np.int64),
                     np.full(len(ks), -1, dtype=np.int64), np.array(resets, dtype=np.int64))
            self._interp_terms = (key, terms)
        emit_tap_sums(name, 0, ext, hv, *terms, nb, 1, n, mode, None,
                      t.get("product", self.product_type), t.get("acc", self.acc_type), zero,
                      tuple(counts.get("product", zero)), tuple(counts.get("acc", zero)),
                      self.rounding, self.overflow)
        probe(f"{name}.out", accv, output, t.get("out", self.output_type), mode,
              *counts.get("out", zero))

    # -- analysis -----------------------------------------------------------------------------
    def worst_case_output_range(self, lo: float, hi: float, *,
                                quantized: bool = True) -> tuple[float, float]:
        """Exact bounds of the accumulator for inputs in ``[lo, hi]``: the extremes, over the
        output phases ``p``, of the prefix sums of branch ``h[p::L]`` (as
        :meth:`FIR.worst_case_output_range` for each branch)."""
        flo, fhi = exact_bounds(lo, hi, self._blk)
        hq = self._coef_fractions(quantized)
        best = [_prefix_extremes([(c, flo, fhi) for c in hq[p::self.factor]])
                for p in range(min(self.factor, self.ntaps))]
        lo_b = min(b[0] for b in best)
        hi_b = max(b[1] for b in best)
        if self.factor > self.ntaps:  # phases without taps give 0
            lo_b, hi_b = min(lo_b, 0), max(hi_b, 0)
        return _down(lo_b), _up(hi_b)

    def _interval_count(self, n: int) -> int:
        return n * self.factor

    def _form_ranges(self, ar, h, x) -> dict:
        """Ranges of the signals in arithmetic *ar* (see :meth:`FIR._run_ranges`): each output
        phase ``p`` sums the products of branch ``h[p::L]`` in order, the tap ``p + jL`` seeing
        ``x[n - j]``, 0 from reset while ``j > n`` (so each output is a prefix sum of its
        branch, and products also take 0); a phase without taps gives 0."""
        L, nt = self.factor, len(h)
        prod_ivs: list = []
        acc_ivs: list = []
        outs: list = []

        def term(c, m, can_zero: bool):
            v, p, e = ar.mul(c, m)
            prod_ivs.extend((v, p))
            if can_zero:
                prod_ivs.append(ar.zero)
            return e

        for p in range(min(L, nt)):
            _prefix_chain(ar, [term(h[k], x, j >= 1) for j, k in enumerate(range(p, nt, L))],
                          acc_ivs, outs)
        if L > nt:
            outs.append(ar.zero)
        return {"preadd": [], "product": prod_ivs, "acc": acc_ivs, "out": _hull(*outs)}

    def _tap_order_out(self, ar, h, x) -> tuple:
        # the double kernel sums each branch in tap order, as the fixed one
        return self._form_ranges(ar, h, x)["out"]

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, factor={self.factor})"
