"""FIR filter block (direct and transposed form), in double and in fixed point."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy import signal as _sps

from .._core._fi import fi, make_fi
from .._core._modes import Overflow, Rounding
from .._core._numerictype import MAX_WORD_LENGTH, numerictype
from .._core._quantize import storage_kind
from .._core._rules import growth_bits, ideal_mul
from .._kernels import lazy
from ._block import (
    Block,
    TypeLike,
    as_type,
    block_modes,
    check_wrap_sm,
    fi_stored,
    fraction_values,
    holds,
    named_cast,
    quantize_values,
    report,
    width,
)

_kf = lazy("fixsim._kernels._filters")
_kl = lazy("fixsim._kernels._linalg")

__all__ = ["FIR"]

# float64 holds every integer of magnitude <= 2**53 exactly
_FLOAT_EXACT = 1 << 53
_INT64_LIMIT = 1 << 63


class FIR(Block):
    """FIR filter ``y[n] = sum_k h[k] x[n-k]``, in double or in fixed point, streaming.

    Parameters
    ----------
    coefs : array_like or fi
        Impulse response ``h`` (1-D). A fi keeps its type unless *coef_type* is given.
    name : str
        Block name: the block's quantizations are named ``"<name>.<signal>"`` for the signals
        ``coef``, ``in`` (only when *input_type* asks for a cast), ``product``, ``acc`` and
        ``out``.
    coef_type, input_type, product_type, acc_type, output_type : numerictype or str, optional
        Types of the internal signals. Defaults (MATLAB ``dsp.FIRFilter`` full precision):
        coefficients signed 16-bit with best-precision scaling; input: the input fi's type;
        product: ``input x coef`` full precision (``W = Wx + Wc``, ``F = Fx + Fc``);
        accumulator: the product type grown by ``ceil(log2(ntaps))`` bits (exact); output: the
        accumulator type.
    rounding, overflow : str
        Modes of every cast of the block (coefficients, input, products, accumulator, output).
        Stochastic rounding is not supported.
    form : {'direct', 'transposed'}
        Direct form: each output sums the cast products of taps ``0, 1, ..., N-1`` in that
        order, each product cast to the accumulator type and each partial sum cast to the
        accumulator type. Transposed form: register ``z[k]`` (accumulator type) holds
        ``cast(h[k] x[n] + z[k+1])``, and ``y[n] = cast(h[0] x[n] + z[1])``. With exact
        (full-precision) product and accumulator types the two forms are bit-identical; with a
        narrower accumulator they differ, as in hardware.

    Notes
    -----
    *Double mode* (any input that is not a fi): ``sum_k h[k] x[n-k]`` in float64 with the
    unquantized coefficients, summed in increasing ``k`` (a numba loop), so that a signal
    streamed in frames gives bit-identical results to one call; it matches
    ``scipy.signal.lfilter(coefs, 1, x)`` to float precision (whose own frame-by-frame
    results, with ``zi``, are not bit-identical to one call).

    *Fixed mode* (a fi input): the result is a fi of the output type. When the product type
    holds every exact product and the accumulator type every partial sum (the defaults do), the
    filter is an exact integer convolution followed by one cast into the output type: float64
    (BLAS-exact) when ``sum|h| * max|x| <= 2**53`` in stored integers, a numba int64 kernel when
    it is below ``2**63``, Python ints beyond. Otherwise a per-sample numba kernel does every
    cast; it needs ``width(x) + width(h) <= 64`` and accumulator/product types of at most 63
    bits (``ValueError`` otherwise).

    State: the last ``ntaps - 1`` input samples (and the transposed registers on the
    per-sample path), so a signal split into frames at any points gives the same result as one
    call. The first fixed call fixes the input type; call :meth:`reset` to change it.

    Examples
    --------
    >>> import numpy as np
    >>> from fixsim import fi
    >>> from fixsim.signal import FIR
    >>> f = FIR([0.25, 0.5, 0.25], coef_type='sfix16_En15', output_type='sfix16_En14')
    >>> f(fi([1.0, 0.0, 0.0, 0.5], 1, 16, 14)).data
    array([0.25 , 0.5  , 0.25 , 0.125])
    """

    def __init__(self, coefs, *, name: str = "fir", coef_type: TypeLike = None,
                 input_type: TypeLike = None, product_type: TypeLike = None,
                 acc_type: TypeLike = None, output_type: TypeLike = None,
                 rounding: str | Rounding = "nearest", overflow: str | Overflow = "saturate",
                 form: str = "direct") -> None:
        blk = f"FIR {name!r}"
        self.name = str(name)
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        if form not in ("direct", "transposed"):
            raise ValueError(f"{blk}: form={form!r} is not valid; valid: 'direct', "
                             "'transposed'.")
        self.form = form
        raw = coefs.data if isinstance(coefs, fi) else np.asarray(coefs, dtype=np.float64)
        raw = np.atleast_1d(np.array(raw, dtype=np.float64))
        if raw.ndim != 1 or raw.size == 0:
            raise ValueError(f"{blk}: coefs must be a non-empty 1-D array (got shape "
                             f"{raw.shape}).")
        if not np.all(np.isfinite(raw)):
            raise ValueError(f"{blk}: coefs must be finite.")
        self.coefs = raw
        self.ntaps = raw.size
        self.coef_type_arg = as_type(coef_type, "coef_type", blk)
        self.input_type = as_type(input_type, "input_type", blk)
        self.product_type = as_type(product_type, "product_type", blk)
        self.acc_type = as_type(acc_type, "acc_type", blk)
        self.output_type = as_type(output_type, "output_type", blk)
        cin = coefs.ravel() if isinstance(coefs, fi) else raw
        self.quantized_coefs, self._coef_counts = quantize_values(
            cin, self.coef_type_arg, self.rounding, self.overflow, f"{self.name}.coef")
        self.coef_type = self.quantized_coefs.numerictype
        self._blk = blk
        self.reset()

    # -- types --------------------------------------------------------------------------------
    def types(self, input_type: TypeLike = None) -> dict[str, numerictype]:
        """The block's types for an input of type *input_type* (or the one in use).

        Returns
        -------
        dict
            ``{'coef', 'input', 'product', 'acc', 'out'}`` to numerictype.
        """
        Tin = self.input_type or as_type(input_type, "input_type", self._blk) or self._tin
        if Tin is None:
            raise ValueError(f"{self._blk}: the input type is not known yet; pass input_type.")
        Tc = self.coef_type
        P = self.product_type or ideal_mul(Tin, Tc)
        A = self.acc_type or numerictype(
            P.signed, min(P.word_length + growth_bits(self.ntaps), MAX_WORD_LENGTH),
            P.fraction_length)
        Y = self.output_type or A
        return {"coef": Tc, "input": Tin, "product": P, "acc": A, "out": Y}

    def _plan(self, Tin: numerictype) -> None:
        """Fix the types for input type *Tin* and choose the computation path."""
        t = self.types(Tin)
        for what in ("product", "acc", "out"):
            check_wrap_sm(t[what], self.overflow, what, self._blk)
        if self.input_type is not None:
            check_wrap_sm(t["input"], self.overflow, "input", self._blk)
        self._t = t
        self._tin = Tin
        Tc, P, A = t["coef"], t["product"], t["acc"]
        Tx = t["input"]
        h = fi_stored(self.quantized_coefs)
        self._h = h
        fi_ideal = Tx.fraction_length + Tc.fraction_length
        ideal = ideal_mul(Tx, Tc) if Tx.word_length + Tc.word_length <= MAX_WORD_LENGTH \
            else None
        sat_sym = self.overflow == Overflow.SAT_SYM
        # every exact product h[k] * x lies in [pmin_k, pmax_k] (stored, fraction fi_ideal)
        xlo, xhi = Tx.int_min, Tx.int_max
        hv = [int(v) for v in h]
        pmin = [min(c * xlo, c * xhi) for c in hv]
        pmax = [max(c * xlo, c * xhi) for c in hv]
        prod_exact = ideal is not None and holds(P, min(pmin), max(pmax), fi_ideal, sat_sym)
        # every partial sum (in any order) is a subset sum: within [sum of negative parts,
        # sum of positive parts]
        slo = sum(min(0, v) for v in pmin)
        shi = sum(max(0, v) for v in pmax)
        acc_exact = holds(A, slo, shi, fi_ideal, sat_sym)
        self._fast = prod_exact and acc_exact
        # the exact-convolution bound: |partial sum| <= sum|h| * max|x|
        self._bound = sum(abs(c) for c in hv) * max(abs(xlo), abs(xhi))
        self._exact_type = numerictype(True, max(2, min(max(abs(slo), abs(shi)).bit_length()
                                                        + 1, MAX_WORD_LENGTH)), fi_ideal)
        bad = [f"{w}={width(T)}" for w, T in (("product", P), ("acc", A)) if width(T) > 63]
        if width(Tx) + width(Tc) > 64:
            bad.append(f"input+coef={width(Tx) + width(Tc)}")
        self._kernel_ok = not bad and storage_kind(Tx) == "i64" and storage_kind(Tc) == "i64"
        if not self._fast and not self._kernel_ok:
            raise ValueError(
                f"{self._blk}: with a product or accumulator type that does not hold every "
                f"exact value, the filter runs a per-sample int64 loop, which needs "
                f"width(input) + width(coef) <= 64 and product/accumulator widths <= 63 "
                f"(got {', '.join(bad) or 'storage wider than int64'}). Choose narrower types, "
                "or full-precision product and accumulator types.")
        if self._kernel_ok:
            self._tp = np.array([_kf.type_row(P.word_length, P.signed),
                                 _kf.type_row(A.word_length, A.signed)], dtype=np.int64)
            self._sh = np.array([fi_ideal - P.fraction_length,
                                 P.fraction_length - A.fraction_length], dtype=np.int64)
            self._h64 = np.ascontiguousarray(h, dtype=np.int64)
            self._z = np.zeros(self.ntaps, dtype=np.int64)
        self._hist = np.zeros(self.ntaps - 1, dtype=np.int64 if storage_kind(Tx) == "i64"
                              else object)
        if storage_kind(Tx) == "u64":
            self._hist = self._hist.astype(np.uint64)

    # -- state --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._zi = np.zeros(self.ntaps - 1, dtype=np.float64)

    # -- filtering ----------------------------------------------------------------------------
    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        ext = np.concatenate([self._zi, xv])
        y = np.empty(xv.size)
        _kf.fir_f64(ext, self.coefs, y)
        if self.ntaps > 1:
            self._zi = ext[-(self.ntaps - 1):].copy()
        return y

    def _filt_fixed(self, x: fi) -> fi:
        Tx_in = x.numerictype
        if self._tin is None:
            self._plan(self.input_type or Tx_in)
        t = self._t
        Tx = t["input"]
        ints = fi_stored(x)
        if self.input_type is not None:
            if Tx_in != Tx:
                ints = named_cast(ints, Tx_in, Tx, self.rounding, self.overflow,
                                  f"{self.name}.in")
        elif Tx_in != Tx:
            raise ValueError(f"{self._blk}: the input type changed from {Tx} to {Tx_in}; cast "
                             "the input, give input_type, or call reset().")
        report(f"{self.name}.coef", t["coef"], *self._coef_counts)
        n = ints.shape[0]
        nt = self.ntaps
        if n == 0:
            return make_fi(np.zeros(0, dtype=np.int64 if storage_kind(t["out"]) == "i64"
                                    else object), t["out"])
        ext = np.concatenate([self._hist, ints]) if nt > 1 else ints
        if self._fast:
            acc = self._exact_conv(ext)
            report(f"{self.name}.product", t["product"], n * nt)
            report(f"{self.name}.acc", t["acc"], n * (2 * nt - 1))
            src = self._exact_type
        else:
            acc = np.empty(n, dtype=np.int64)
            cnt = np.zeros((2, 2), dtype=np.int64)
            if self.form == "direct":
                _kf.fir_direct(np.ascontiguousarray(ext, dtype=np.int64), self._h64, self._tp,
                               self._sh, int(self.rounding), int(self.overflow), acc, cnt)
            else:
                _kf.fir_transposed(np.ascontiguousarray(ints, dtype=np.int64), self._h64,
                                   self._tp, self._sh, int(self.rounding), int(self.overflow),
                                   self._z, acc, cnt)
            report(f"{self.name}.product", t["product"], n * nt, int(cnt[0, 0]), int(cnt[0, 1]))
            report(f"{self.name}.acc", t["acc"], n * (2 * nt - 1), int(cnt[1, 0]),
                   int(cnt[1, 1]))
            src = t["acc"]
        if nt > 1:
            self._hist = ext[-(nt - 1):].copy()
        out = named_cast(acc, src, t["out"], self.rounding, self.overflow, f"{self.name}.out")
        return make_fi(out, t["out"])

    def _exact_conv(self, ext: np.ndarray) -> np.ndarray:
        """Exact ``sum_k h[k] ext[m - k]`` for every full window of *ext* (stored integers).

        Every partial sum is bounded by ``B = sum|h| * max|x|`` (stored integers):
        ``B <= 2**53`` makes float64 exact whatever the summation order (BLAS, FMA);
        ``B < 2**63`` keeps the numba int64 kernel exact; beyond, Python ints.
        """
        h = self._h
        nt = self.ntaps
        B = self._bound
        if ext.dtype != object and h.dtype != object and B <= _FLOAT_EXACT:
            y = np.convolve(ext.astype(np.float64), h.astype(np.float64), mode="valid")
            return y.astype(np.int64)
        if ext.dtype == np.int64 and h.dtype == np.int64 and B < _INT64_LIMIT:
            full = np.empty(ext.shape[0] + nt - 1, dtype=np.int64)
            _kl.convolve_i64(ext, np.ascontiguousarray(h), full)
            return full[nt - 1:ext.shape[0]]
        eo = np.array([int(v) for v in ext], dtype=object)
        ho = np.array([int(v) for v in h], dtype=object)
        return np.convolve(eo, ho, mode="valid")

    # -- analysis -----------------------------------------------------------------------------
    def worst_case_output_range(self, lo: float, hi: float, *,
                                quantized: bool = True) -> tuple[float, float]:
        """Exact bounds of the accumulator (output before its cast) for inputs in ``[lo, hi]``.

        The minimum and maximum of ``sum_{k<=n} h[k] x[n-k]`` over every input sequence with
        values in ``[lo, hi]`` and every ``n >= 0`` from reset (a filter starting from zeros
        only sees the first ``n + 1`` taps): the extremes over the prefixes of
        ``sum_k min(h[k] lo, h[k] hi)`` and ``sum_k max(h[k] lo, h[k] hi)``. For ``lo <= 0 <=
        hi`` this is ``sum`` over all taps (the ``sum|h| * max|x|`` bound, exactly).

        Parameters
        ----------
        lo, hi : float or Fraction
            Input bounds (real-world values).
        quantized : bool
            Use the quantized coefficients (default) or the original ones.

        Returns
        -------
        (float, float)
        """
        flo, fhi = Fraction(lo), Fraction(hi)
        if flo > fhi:
            raise ValueError(f"{self._blk}: lo={lo} is above hi={hi}.")
        if quantized:
            hq = fraction_values(fi_stored(self.quantized_coefs),
                                 self.coef_type.fraction_length)
        else:
            hq = [Fraction(float(v)) for v in self.coefs]
        smin = smax = Fraction(0)
        best_lo = best_hi = None
        for c in hq:
            smin += min(c * flo, c * fhi)
            smax += max(c * flo, c * fhi)
            best_lo = smin if best_lo is None else min(best_lo, smin)
            best_hi = smax if best_hi is None else max(best_hi, smax)
        return float(best_lo), float(best_hi)

    def freqz(self, worN: int | Sequence[float] | np.ndarray = 512, *, quantized: bool = True,
              fs: float = 2 * np.pi) -> tuple[np.ndarray, np.ndarray]:
        """Frequency response of the (quantized) coefficients, via ``scipy.signal.freqz``.

        Returns
        -------
        (w, h) : numpy.ndarray
        """
        b = self.quantized_coefs.data if quantized else self.coefs
        return _sps.freqz(b, 1.0, worN=worN, fs=fs)

    def __repr__(self) -> str:
        return (f"FIR(name={self.name!r}, ntaps={self.ntaps}, form={self.form!r}, "
                f"coef_type={self.coef_type}, rounding='{self.rounding}', "
                f"overflow='{self.overflow}')")
